/*
 * region.h: a region of real daemons for the integration and attack tests
 * (tests/integration, tests/attack): a hub key and configuration in a temp
 * folder on its own TCP port, node keys enrolled with "ucr roster add",
 * ucr-hub and ucr-node started with -d and killed with the test; digests
 * to judge convergence; and a protocol client that speaks the sync
 * protocol itself (a CURVE DEALER keyed from an Ed25519 key) and builds
 * its own entries and batches with common/chain.h, so every refusal can be
 * provoked exactly.
 *
 * One region per test process (Criterion runs each test in its own): the
 * state is global. Helpers fail the test with cr_assert on any error.
 */
#ifndef UCR_TEST_REGION_H
#define UCR_TEST_REGION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "keys.h"
#include "store.h"
#include "ucr.pb-c.h"

#define REGION "umearegionen" /* the configuration's default region */
#define MAXNODES 8
#define CONVERGE_MS 30000

/* One daemon of the region. */
struct site {
	char name[32]; /* "hub", "2403", "2403b" */
	char conf[600];
	char log[600];
	char data[600];
	char ctl[700]; /* ipc:// endpoint */
	char key[600]; /* its key file */
	char hex[65];  /* its public key */
	pid_t pid;
};

struct digest {
	long long records, entries;
	char view[65];
	json_t *logs;
};

/*
 * A test client that speaks the protocol: a DEALER, CURVE client keyed
 * from an Ed25519 key, pinned to the hub. It keeps its own log (entry
 * bytes and hashes, seq 1..n) so it can send valid and invalid batches.
 */
struct client {
	void *zctx, *sock;
	struct ucr_key *key;
	uint64_t epoch;
	uint64_t time;
	uint8_t *ent[64];
	size_t entlen[64];
	uint8_t hash[64][32]; /* hash[seq]; hash[0] is zeros */
	size_t n;
};

/*
 * A batch of the client's entries first..last, signed by signer (NULL: the
 * client's key) with author set to the client's key. Borrowed pointers:
 * valid while c is.
 */
struct batch {
	Ucr__Batch b;
	ProtobufCBinaryData ents[64];
	uint8_t sig[UCR_SIG_LEN];
	uint8_t author[32];
};

/* The six municipalities, Umeå first. */
extern const char *const codes[6];
extern char *dir; /* the region's temp folder */
extern int port;  /* the hub's TCP port */
extern struct site hub;
extern struct site nodes[MAXNODES];
extern int nnodes;
extern uint8_t hubpk[32];

long now_ms(void);
void sleep_ms(long ms);
/* The last lines of a daemon's log, for failure messages (static). */
const char *tail(const struct site *s);
int log_has(const struct site *s, const char *what);
/* Count the lines of a daemon's log that hold what. */
int log_count(const struct site *s, const char *what);
/*
 * Start a daemon in the background, its output appended to logfile. Like
 * tu_spawn, but the child dies with the test process (PR_SET_PDEATHSIG
 * survives exec), so a test killed by its timeout leaves nothing behind.
 */
pid_t spawn(const char *logfile, const char *env, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Run "ucr -c CONF ARGS"; exit status, output as tu_run. */
int ucr(const struct site *s, char **out, char **err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A ucr command that must succeed. */
void ucr_ok(const struct site *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The parsed output of "ucr -c CONF ARGS" (a --json command), or NULL. */
json_t *ucr_json(const struct site *s, const char *args);
/*
 * Ask a daemon's control socket a query directly (the CLI does not expose
 * every one, e.g. the hub's counters): the JSON answer, or NULL.
 */
json_t *ctl_query(const struct site *s, const char *what, int timeout_ms);
/* An integer field of the hub's counters ("received", "refused", ...). */
long long hub_counter(const char *name);
void site_paths(struct site *s, const char *name, const char *data);
/* Make a key file; its public key in hex. */
void keygen(const char *path, char hex[65]);
/*
 * The hub's key and configuration, on a TCP port free at the time, or on
 * $UCR_TEST_PORT + offset if that is set.
 */
void region_init(int offset);
/* A node's configuration; hubport 0: the region's port. */
void node_conf(struct site *s, const char *code, int hubport);
/*
 * A node of municipality code with a new key (or the key file of node
 * `same`, >= 0: a clone). Not enrolled; not started. Its index.
 */
int node_new(const char *code, const char *name, int same);
void enrol(const char *code, const char *hex);
/*
 * Start a daemon and wait until its control socket answers. A hub is
 * region_hub_prog: "ucr-hub", or "ucr-hub-test" (the hub with its test
 * hooks, e.g. UCR_TEST_INGEST_BUSY) for a test that sets it.
 */
extern const char *region_hub_prog;
/* the same for the nodes: "ucr-node", or "ucr-node-test" */
extern const char *region_node_prog;
void site_start_env(struct site *s, int is_hub, const char *env);
void hub_start(void);
void node_start(int i);
/* Stop a daemon with sig (SIGTERM: clean; SIGKILL: a crash). */
void site_stop(struct site *s, int sig);
/* Still running (not crashed)? */
int alive(struct site *s);
/* A test suite's .init and .fini: no daemons; kill them, remove dir. */
void region_setup(void);
void region_teardown(void);
/*
 * Import n network records N<prefix><i> on a node with one "ucr import"
 * (one local batch); padded names make the log long in bytes too.
 */
void write_many(const struct site *s, const char *prefix, int n);
/* The file write_many imports, written; its path in path. */
void many_file(const struct site *s, const char *prefix, int n, char *path,
    size_t len);
/* One record through one officer's command. */
void write_one(const struct site *s, const char *id);
int digest_get(const struct site *s, struct digest *d);
void digest_free(struct digest *d);
/* The head of one author's log in a digest (seq, or -1 if none). */
long long digest_seq(const struct digest *d, const char *hex, int *stopped);
/* Every listed site and the hub hold the same: heads, counts, digest. */
int same_everywhere(struct site **s, int n, long long records, char *why,
    size_t whylen);
/* Wait until the hub and the given nodes (-1 ended list) agree. */
void converge(long long records, const int *which);
/* "ucr verify" on a store (read-only; the daemon may run). */
void verify_store(const struct site *s);
/* A node's link state ("ucr peers --json" on the node). */
json_t *link_state(const struct site *s);
int link_is(const struct site *s, const char *state);
void wait_link(const struct site *s, const char *state, int timeout_ms);
/* Wait until a node takes local writes (the hub answered, or offline). */
void wait_writes(const struct site *s, int timeout_ms);
/* Start a node and wait until it takes writes. */
void node_up(int i);
/* The hub's "peers --json" entry of a key (new reference). */
json_t *hub_peer(const char *hex);
/* Open a store read-only in this process (LMDB allows a live writer). */
struct ucr_store *store_ro(const char *data);
/* Does a site's store hold a current record under key (while it runs)? */
int site_holds(const struct site *s, const char *key);
int hub_holds(const char *key);
int hub_quarantined(void);
void client_open(struct client *c, struct ucr_key *key);
/*
 * The same with rcvhwm > 0: a client that reads slowly or never (its
 * receive queue and buffer small).
 */
void client_open_hwm(struct client *c, struct ucr_key *key, int rcvhwm);
void client_close(struct client *c);
void client_send_raw(struct client *c, const void *buf, size_t len);
void client_send(struct client *c, const Ucr__Frame *f);
/* The next frame from the hub before end (a now_ms() time), or NULL. */
Ucr__Frame *client_recv(struct client *c, long end);
/* Acknowledge a relayed batch as held in full, so the relay does not resend. */
void client_ack_batch(struct client *c, const Ucr__Batch *b);
/*
 * The next answer to what the client sent: a State, an Error, or an Ack of
 * its own log. Relayed batches and checkpoints are skipped (and relayed
 * batches acknowledged as held in full, so the relay does not resend). NULL
 * after timeout_ms of nothing.
 */
Ucr__Frame *client_answer(struct client *c, int timeout_ms);
/* Expect an Error frame with code; its seq. */
uint64_t expect_error(struct client *c, int code, const char *what);
void client_hello(struct client *c);
/* Hello, and a State back: the connection is usable. The State's seq. */
uint64_t expect_usable(struct client *c, const char *after);
/* A network record owner/network/id (encoded; caller frees). */
void network_bytes(uint8_t **out, size_t *len, const char *owner,
    const char *id);
/*
 * A Put of the same record with a random request id, as ucr sends it to a
 * node's control socket, packed into buf; its length.
 */
size_t network_put(uint8_t *buf, size_t cap, const char *owner, const char *id);
/* A roster record enrolling pk as code, owned by owner. */
void roster_bytes(uint8_t **out, size_t *len, const char *owner,
    const uint8_t *pk, const char *code);
/* Append an entry to the client's own log; takes rec. */
void client_entry(struct client *c, uint8_t *rec, size_t reclen, uint32_t kind);
/* The same with the entry's time given (c->time becomes it). */
void client_entry_at(struct client *c, uint8_t *rec, size_t reclen,
    uint32_t kind, uint64_t time);
void client_network(struct client *c, const char *owner, const char *id);
/* Forget the last entry (to write another in its place). */
void client_drop(struct client *c);
void client_batch(struct client *c, struct batch *out, uint64_t first,
    uint64_t last, const struct ucr_key *signer);
void client_send_batch(struct client *c, struct batch *bt);
/* Send entries first..last, validly signed; expect an Ack of last. */
void client_push(struct client *c, uint64_t first, uint64_t last);
/* The hub's head of the client's log (0 if none). */
uint64_t hub_head(const struct client *c);
/* Make a key file and enrol it; the key (caller frees). */
struct ucr_key *enrolled_key(const char *code, const char *name);
/* Resident memory of a process in KiB (/proc), now and at its peak; -1. */
long rss_kb(pid_t pid);
long peak_kb(pid_t pid);

#endif
