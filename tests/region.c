/* region.c: see region.h. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <zmq.h>

#include "chain.h"
#include "error.h"
#include "keys.h"
#include "record.h"
#include "region.h"
#include "store.h"
#include "testutil.h"
#include "wire.h"

/* The six municipalities, Umeå first. */
const char *const codes[6] = {"2480", "2403", "2401", "2409", "2404", "2460"};

char *dir;
int port;
struct site hub;
struct site nodes[MAXNODES];
int nnodes;
uint8_t hubpk[32];

/* ---------------------------------------------------------------- helpers */

long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The last lines of a daemon's log, for failure messages (static). */
const char *
tail(const struct site *s)
{
	static char buf[4][3000];
	static int which;
	char *all = tu_read(s->log);
	char *b = buf[which++ % 4];
	size_t len;

	if (all == NULL)
		return "(no log)";
	len = strlen(all);
	snprintf(b, sizeof(buf[0]), "%s", len > 2900 ? all + len - 2900 : all);
	free(all);
	return b;
}

int
log_has(const struct site *s, const char *what)
{
	char *all = tu_read(s->log);
	int found = all && strstr(all, what) != NULL;

	free(all);
	return found;
}

/* Count the lines of a daemon's log that hold what. */
int
log_count(const struct site *s, const char *what)
{
	char *all = tu_read(s->log), *p;
	int n = 0;

	for (p = all; p && (p = strstr(p, what)) != NULL; p++)
		n++;
	free(all);
	return n;
}

/*
 * Start a daemon in the background, its output appended to logfile. Like
 * tu_spawn, but the child dies with the test process (PR_SET_PDEATHSIG
 * survives exec), so a test killed by its timeout leaves nothing behind.
 */
pid_t
spawn(const char *logfile, const char *env, const char *fmt, ...)
{
	char *cmd, path[8192];
	const char *p = getenv("PATH");
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		cmd = NULL;
	va_end(ap);
	cr_assert_not_null(cmd);
	snprintf(path, sizeof(path), "%s:%s", UCR_BIN_DIR, p ? p : "/bin");
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int nul = open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		setpgid(0, 0);
		setenv("PATH", path, 1);
		if (env)
			putenv((char *)env);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	free(cmd);
	return pid;
}

/* Run "ucr -c CONF ARGS"; exit status, output as tu_run. */
int ucr(const struct site *s, char **out, char **err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

int
ucr(const struct site *s, char **out, char **err, const char *fmt, ...)
{
	char *args;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	if (vasprintf(&args, fmt, ap) < 0)
		args = NULL;
	va_end(ap);
	cr_assert_not_null(args);
	rc = tu_run(out, err, "ucr -c '%s' %s", s->conf, args);
	free(args);
	return rc;
}

/* A ucr command that must succeed. */
void ucr_ok(const struct site *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void
ucr_ok(const struct site *s, const char *fmt, ...)
{
	char *args, *err = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	if (vasprintf(&args, fmt, ap) < 0)
		args = NULL;
	va_end(ap);
	cr_assert_not_null(args);
	rc = tu_run(NULL, &err, "ucr -c '%s' %s", s->conf, args);
	cr_assert_eq(rc, 0, "%s: ucr %s: exit %d: %s\n%s", s->name, args, rc,
	    err, tail(s));
	free(args);
	free(err);
}

/* The parsed output of "ucr -c CONF ARGS" (a --json command), or NULL. */
json_t *
ucr_json(const struct site *s, const char *args)
{
	char *out = NULL;
	json_t *j = NULL;

	if (ucr(s, &out, NULL, "%s", args) == 0)
		j = json_loads(out, 0, NULL);
	free(out);
	return j;
}

/*
 * Ask a daemon's control socket a query directly (the CLI does not expose
 * every one, e.g. the hub's counters): the JSON answer, or NULL.
 */
json_t *
ctl_query(const struct site *s, const char *what, int timeout_ms)
{
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__Query q = UCR__QUERY__INIT;
	Ucr__Reply *rep = NULL;
	void *ctx = zmq_ctx_new(), *sock = zmq_socket(ctx, ZMQ_REQ);
	zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
	uint8_t buf[128];
	json_t *j = NULL;
	int zero = 0;
	size_t len;

	q.what = (char *)what;
	req.body_case = UCR__REQUEST__BODY_QUERY;
	req.query = &q;
	len = ucr__request__pack(&req, buf);
	zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero));
	if (zmq_connect(sock, s->ctl) == 0 &&
	    zmq_send(sock, buf, len, 0) >= 0 &&
	    zmq_poll(&it, 1, timeout_ms) == 1) {
		zmq_msg_t m;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, sock, 0) >= 0)
			rep = ucr__reply__unpack(NULL, zmq_msg_size(&m),
			    zmq_msg_data(&m));
		zmq_msg_close(&m);
	}
	if (rep && rep->code == 0 && rep->json)
		j = json_loads(rep->json, 0, NULL);
	if (rep && rep->code == 0 && j == NULL && strcmp(what, "stats") == 0)
		j = json_object(); /* answered: that is all we asked */
	if (rep)
		ucr__reply__free_unpacked(rep, NULL);
	zmq_close(sock);
	zmq_ctx_term(ctx);
	return j;
}

/* An integer field of the hub's counters ("received", "refused", ...). */
long long
hub_counter(const char *name)
{
	json_t *j = ctl_query(&hub, "hub", 2000);
	long long v;

	cr_assert_not_null(j, "hub does not answer: %s", tail(&hub));
	v = json_integer_value(json_object_get(j, name));
	json_decref(j);
	return v;
}

/* ---------------------------------------------------------------- region */

void
site_paths(struct site *s, const char *name, const char *data)
{
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->conf, sizeof(s->conf), "%s/%s.conf", dir, name);
	snprintf(s->log, sizeof(s->log), "%s/%s.log", dir, name);
	snprintf(s->data, sizeof(s->data), "%s/%s", dir, data);
	snprintf(s->ctl, sizeof(s->ctl), "ipc://%s/%s.sock", dir, name);
	s->pid = -1;
}

/* Make a key file; its public key in hex. */
void
keygen(const char *path, char hex[65])
{
	char *out = NULL, *err = NULL;
	int rc = tu_run(&out, &err, "ucr keygen --out '%s'", path);

	cr_assert_eq(rc, 0, "keygen: %s", err);
	cr_assert_geq(strlen(out), 64, "keygen printed '%s'", out);
	memcpy(hex, out, 64);
	hex[64] = '\0';
	free(out);
	free(err);
}

/*
 * A TCP port on loopback that is free now (the kernel's pick), so that
 * test runs side by side on one machine do not collide; fallback if none.
 */
static int
free_port(int fallback)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p = fallback;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		p = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return p;
}

/* The hub's key and configuration on a fresh port. */
void
region_init(int offset)
{
	char buf[4096];

	cr_assert_eq(ucr_crypto_init(), 0);
	dir = tu_tempdir();
	cr_assert_not_null(dir);
	/*
	 * UCR_TEST_PORT: a fixed base (port = base + offset); otherwise a
	 * port the kernel says is free, so test runs go side by side.
	 */
	if (getenv("UCR_TEST_PORT"))
		port = atoi(getenv("UCR_TEST_PORT")) + offset;
	else
		port = free_port(17400 + offset);
	site_paths(&hub, "hub", "hub.data");
	snprintf(hub.key, sizeof(hub.key), "%s/hub.key", dir);
	keygen(hub.key, hub.hex);
	cr_assert_eq(ucr_unhex(hubpk, 32, hub.hex), 0);
	snprintf(buf, sizeof(buf),
	    "# written by the tests (tests/region.c)\n"
	    "[hub]\n"
	    "key = %s\n"
	    "data = %s\n"
	    "control = %s\n"
	    "listen = tcp://127.0.0.1:%d\n"
	    /* batches checked ahead: the tests go through both threads */
	    "ingest_threads = 2\n",
	    hub.key, hub.data, hub.ctl, port);
	cr_assert_eq(tu_write(hub.conf, buf), 0);
}

/* A node's configuration; hubport 0: the region's port. */
void
node_conf(struct site *s, const char *code, int hubport)
{
	char buf[4096];

	snprintf(buf, sizeof(buf),
	    "# written by the tests (tests/region.c)\n"
	    "[node]\n"
	    "municipality = %s\n"
	    "key = %s\n"
	    "data = %s\n"
	    "control = %s\n"
	    "hub = tcp://127.0.0.1:%d\n"
	    "hub_key = %s\n",
	    code, s->key, s->data, s->ctl, hubport ? hubport : port, hub.hex);
	cr_assert_eq(tu_write(s->conf, buf), 0);
}

/*
 * A node of municipality code with a new key (or the key file of node
 * `same`, >= 0: a clone). Not enrolled; not started. Its index.
 */
int
node_new(const char *code, const char *name, int same)
{
	struct site *s;

	cr_assert_lt(nnodes, MAXNODES);
	s = &nodes[nnodes];
	site_paths(s, name, name);
	if (same >= 0) {
		memcpy(s->key, nodes[same].key, sizeof(s->key));
		memcpy(s->hex, nodes[same].hex, sizeof(s->hex));
	} else {
		snprintf(s->key, sizeof(s->key), "%s/%s.key", dir, name);
		keygen(s->key, s->hex);
	}
	node_conf(s, code, 0);
	return nnodes++;
}

void
enrol(const char *code, const char *hex)
{
	ucr_ok(&hub, "roster add %s %s", code, hex);
}

const char *region_hub_prog = "ucr-hub";
const char *region_node_prog = "ucr-node";

/* Start a daemon and wait until its control socket answers. */
void
site_start_env(struct site *s, int is_hub, const char *env)
{
	long end = now_ms() + 10000;
	json_t *j;

	cr_assert_leq(s->pid, 0, "%s already running", s->name);
	s->pid = spawn(s->log, env, "exec %s -d %s -f '%s'",
	    is_hub ? region_hub_prog : region_node_prog,
	    getenv("UCR_TEST_VERBOSE") ? "-v" : "", s->conf);
	cr_assert_gt(s->pid, 0);
	/* A kill -9 leaves the socket file: ask, do not look for it. */
	while ((j = ctl_query(s, "stats", 200)) == NULL) {
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid ||
		    now_ms() > end) {
			s->pid = -1;
			cr_assert_fail("%s did not come up:\n%s", s->name,
			    tail(s));
		}
	}
	json_decref(j);
}

void
hub_start(void)
{
	site_start_env(&hub, 1, NULL);
}

void
node_start(int i)
{
	site_start_env(&nodes[i], 0, NULL);
}

/* Stop a daemon with sig (SIGTERM: clean; SIGKILL: a crash). */
void
site_stop(struct site *s, int sig)
{
	int st;

	if (s->pid <= 0)
		return;
	st = tu_kill(s->pid, sig);
	if (sig == SIGTERM)
		cr_assert_eq(st, 0, "%s did not stop cleanly (%d):\n%s",
		    s->name, st, tail(s));
	s->pid = -1;
}

/* Still running (not crashed)? */
int
alive(struct site *s)
{
	return s->pid > 0 && waitpid(s->pid, NULL, WNOHANG) == 0;
}

void
region_setup(void)
{
	nnodes = 0;
	memset(&hub, 0, sizeof(hub));
	memset(nodes, 0, sizeof(nodes));
	hub.pid = -1;
}

void
region_teardown(void)
{
	int i;

	for (i = 0; i < nnodes; i++)
		if (nodes[i].pid > 0)
			tu_kill(nodes[i].pid, SIGKILL);
	if (hub.pid > 0)
		tu_kill(hub.pid, SIGKILL);
	if (dir && getenv("UCR_TEST_KEEP") == NULL)
		tu_rmrf(dir);
	else if (dir)
		fprintf(stderr, "kept %s\n", dir);
	free(dir);
	dir = NULL;
}

/* ---------------------------------------------------------------- writes */

/*
 * Import n network records N<prefix><i> on a node with one "ucr import"
 * (one local batch); padded names make the log long in bytes too.
 */
void
many_file(const struct site *s, const char *prefix, int n, char *path,
    size_t len)
{
	char *buf, *p;
	size_t cap = (size_t)n * 400 + 16;
	int i;

	cr_assert_lt(snprintf(path, len, "%s/%s-%s.json", dir, s->name, prefix),
	    (int)len);
	buf = malloc(cap);
	cr_assert_not_null(buf);
	p = buf;
	*p++ = '[';
	for (i = 0; i < n; i++)
		p += sprintf(p,
		    "%s{\"kind\":\"network\",\"id\":\"N%s%d\","
		    "\"name\":\"Network %s %d %0200d\",\"scope\":\"national\","
		    "\"joined\":\"2009-01-01\"}\n",
		    i ? "," : "", prefix, i, prefix, i, i);
	*p++ = ']';
	*p = '\0';
	cr_assert_eq(tu_write(path, buf), 0);
	free(buf);
}

void
write_many(const struct site *s, const char *prefix, int n)
{
	char path[700];

	wait_writes(s, 8000);
	many_file(s, prefix, n, path, sizeof(path));
	ucr_ok(s, "import '%s'", path);
}

/* One record through one officer's command. */
void
write_one(const struct site *s, const char *id)
{
	wait_writes(s, 8000);
	ucr_ok(s,
	    "network join %s --name 'Network %s' --scope national "
	    "--date 2009-01-01",
	    id, id);
}

/* ---------------------------------------------------------------- digests */

int
digest_get(const struct site *s, struct digest *d)
{
	json_t *j = ucr_json(s, "digest --json");

	memset(d, 0, sizeof(*d));
	if (j == NULL)
		return -1;
	d->records = json_integer_value(json_object_get(j, "records"));
	d->entries = json_integer_value(json_object_get(j, "entries"));
	snprintf(d->view, sizeof(d->view), "%s",
	    json_string_value(json_object_get(j, "view_digest")));
	d->logs = json_incref(json_object_get(j, "logs"));
	json_decref(j);
	return 0;
}

void
digest_free(struct digest *d)
{
	json_decref(d->logs);
	d->logs = NULL;
}

/* The head of one author's log in a digest (seq, or -1 if none). */
long long
digest_seq(const struct digest *d, const char *hex, int *stopped)
{
	size_t i;
	json_t *o;

	json_array_foreach(d->logs, i, o)
	{
		if (strcmp(json_string_value(json_object_get(o, "author")),
			hex) == 0) {
			if (stopped)
				*stopped =
				    json_is_true(json_object_get(o, "stopped"));
			return json_integer_value(json_object_get(o, "seq"));
		}
	}
	return -1;
}

/* Every listed site and the hub hold the same: heads, counts, digest. */
int
same_everywhere(struct site **s, int n, long long records, char *why,
    size_t whylen)
{
	struct digest d0, d;
	int i, ok = 1;

	if (digest_get(&hub, &d0) != 0) {
		snprintf(why, whylen, "hub: no digest");
		return 0;
	}
	if (records >= 0 && d0.records != records) {
		snprintf(why, whylen, "hub holds %lld records, want %lld",
		    d0.records, records);
		ok = 0;
	}
	for (i = 0; ok && i < n; i++) {
		if (digest_get(s[i], &d) != 0) {
			snprintf(why, whylen, "%s: no digest", s[i]->name);
			ok = 0;
			break;
		}
		if (d.records != d0.records || d.entries != d0.entries ||
		    strcmp(d.view, d0.view) != 0 ||
		    !json_equal(d.logs, d0.logs)) {
			snprintf(why, whylen,
			    "%s holds %lld records, %lld entries, "
			    "view %.16s; hub %lld, %lld, %.16s",
			    s[i]->name, d.records, d.entries, d.view,
			    d0.records, d0.entries, d0.view);
			ok = 0;
		}
		digest_free(&d);
	}
	digest_free(&d0);
	return ok;
}

/* Wait until the hub and the given nodes (-1 ended list) agree. */
void
converge(long long records, const int *which)
{
	struct site *s[MAXNODES];
	char why[512] = "";
	long end = now_ms() + CONVERGE_MS;
	int n = 0, i;

	for (i = 0; which[i] >= 0; i++)
		s[n++] = &nodes[which[i]];
	while (!same_everywhere(s, n, records, why, sizeof(why))) {
		if (now_ms() > end) {
			char logs[8000] = "";

			for (i = 0; i < n; i++)
				snprintf(logs + strlen(logs),
				    sizeof(logs) - strlen(logs),
				    "--- %s\n%.1200s\n", s[i]->name,
				    tail(s[i]));
			cr_assert_fail(
			    "no convergence in %d s: %s\n--- hub\n%s\n%s",
			    CONVERGE_MS / 1000, why, tail(&hub), logs);
		}
		sleep_ms(100);
	}
}

/* "ucr verify" on a store (read-only; the daemon may run). */
void
verify_store(const struct site *s)
{
	char *out = NULL, *err = NULL;
	int rc = tu_run(&out, &err, "ucr verify --data '%s'", s->data);

	cr_assert_eq(rc, 0, "verify %s: %s %s", s->name, out, err);
	free(out);
	free(err);
}

/* A node's link state ("ucr peers --json" on the node). */
json_t *
link_state(const struct site *s)
{
	json_t *j = ucr_json(s, "peers --json");

	cr_assert_not_null(j, "%s: no link state\n%s", s->name, tail(s));
	return j;
}

int
link_is(const struct site *s, const char *state)
{
	json_t *j = link_state(s);
	int is =
	    strcmp(json_string_value(json_object_get(j, "state")), state) == 0;

	json_decref(j);
	return is;
}

void
wait_link(const struct site *s, const char *state, int timeout_ms)
{
	long end = now_ms() + timeout_ms;
	json_t *j;

	while (!link_is(s, state)) {
		if (now_ms() > end) {
			j = link_state(s);
			cr_assert_fail("%s: link never reached '%s': %s\n%s",
			    s->name, state, json_dumps(j, JSON_COMPACT),
			    tail(s));
		}
		sleep_ms(100);
	}
}

/* Wait until a node takes local writes (the hub answered, or offline). */
void
wait_writes(const struct site *s, int timeout_ms)
{
	long end = now_ms() + timeout_ms;
	json_t *j;

	for (;;) {
		j = link_state(s);
		if (json_is_true(json_object_get(j, "writes_open")))
			break;
		cr_assert_lt(now_ms(), end, "%s: writes never opened: %s\n%s",
		    s->name, json_dumps(j, JSON_COMPACT), tail(s));
		json_decref(j);
		sleep_ms(50);
	}
	json_decref(j);
}

/* Start a node and wait until it takes writes. */
void
node_up(int i)
{
	node_start(i);
	wait_writes(&nodes[i], 8000);
}

/* The hub's "peers --json" entry of a key (new reference). */
json_t *
hub_peer(const char *hex)
{
	json_t *arr = ucr_json(&hub, "peers --json"), *o, *found = NULL;
	size_t i;

	cr_assert_not_null(arr);
	json_array_foreach(arr, i, o)
	{
		if (strcmp(json_string_value(json_object_get(o, "key")), hex) ==
		    0)
			found = json_incref(o);
	}
	json_decref(arr);
	cr_assert_not_null(found, "hub: no peer %s", hex);
	return found;
}

/* Open a store read-only in this process (LMDB allows a live writer). */
struct ucr_store *
store_ro(const char *data)
{
	struct ucr_store *st;

	cr_assert_eq(ucr_store_open(&st, data, UCR_STORE_RDONLY, 0), 0,
	    "cannot open %s", data);
	ucr_store_set_region(st, REGION, hubpk);
	return st;
}

static int
count_q(const struct ucr_quarantine *q, void *arg)
{
	(void)q;
	(*(int *)arg)++;
	return 0;
}

static int
found_cb(const struct ucr_rec *r, void *arg)
{
	(void)r;
	*(int *)arg = 1;
	return 0;
}

/* Does the hub's store hold a current record under key? */
int
site_holds(const struct site *s, const char *key)
{
	struct ucr_store *st = store_ro(s->data);
	int found = 0;

	ucr_store_get(st, key, found_cb, &found);
	ucr_store_free(st);
	return found;
}

int
hub_holds(const char *key)
{
	return site_holds(&hub, key);
}

int
hub_quarantined(void)
{
	struct ucr_store *st = store_ro(hub.data);
	int n = 0;

	cr_assert_eq(ucr_store_foreach_quarantine(st, count_q, &n), 0);
	ucr_store_free(st);
	return n;
}

/* ================================================================ client */

void
client_open(struct client *c, struct ucr_key *key)
{
	client_open_hwm(c, key, 0);
}

void
client_open_hwm(struct client *c, struct ucr_key *key, int rcvhwm)
{
	char server[41], pub[41], *sec = NULL, ep[64];
	int zero = 0, small = 4096;

	memset(c, 0, sizeof(*c));
	c->key = key;
	randombytes_buf(&c->epoch, sizeof(c->epoch));
	c->epoch |= 1;
	c->zctx = zmq_ctx_new();
	c->sock = zmq_socket(c->zctx, ZMQ_DEALER);
	cr_assert_eq(ucr_key_curve_public(server, hubpk), 0);
	cr_assert_eq(ucr_key_curve_public(pub, key->pk), 0);
	cr_assert_eq(ucr_key_curve_secret(&sec, key), 0);
	zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof(zero));
	cr_assert_eq(zmq_setsockopt(c->sock, ZMQ_CURVE_SERVERKEY, server, 40),
	    0);
	cr_assert_eq(zmq_setsockopt(c->sock, ZMQ_CURVE_PUBLICKEY, pub, 40), 0);
	cr_assert_eq(zmq_setsockopt(c->sock, ZMQ_CURVE_SECRETKEY, sec, 40), 0);
	sodium_free(sec);
	if (rcvhwm > 0) {
		zmq_setsockopt(c->sock, ZMQ_RCVHWM, &rcvhwm, sizeof(rcvhwm));
		zmq_setsockopt(c->sock, ZMQ_RCVBUF, &small, sizeof(small));
	}
	snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", port);
	cr_assert_eq(zmq_connect(c->sock, ep), 0);
}

void
client_close(struct client *c)
{
	size_t i;

	for (i = 1; i <= c->n; i++) {
		free(c->ent[i]);
		c->ent[i] = NULL;
	}
	c->n = 0;
	if (c->sock)
		zmq_close(c->sock);
	if (c->zctx)
		zmq_ctx_term(c->zctx);
	c->sock = c->zctx = NULL;
}

void
client_send_raw(struct client *c, const void *buf, size_t len)
{
	cr_assert_eq(ucr_wire_send_raw(c->sock, NULL, 0, buf, len, 0), 0);
}

void
client_send(struct client *c, const Ucr__Frame *f)
{
	cr_assert_eq(ucr_wire_send(c->sock, NULL, 0, f, 0), 0);
}

/*
 * The next answer to what the client sent: a State, an Error, or an Ack of
 * its own log. Relayed batches and checkpoints are skipped (and relayed
 * batches acknowledged as held in full, so the relay does not resend). NULL
 * after timeout_ms of nothing.
 */
Ucr__Frame *
client_recv(struct client *c, long end)
{
	for (;;) {
		zmq_pollitem_t it = {c->sock, 0, ZMQ_POLLIN, 0};
		struct ucr_wire_msg m;
		Ucr__Frame *f;
		long left = end - now_ms();

		if (left <= 0 || zmq_poll(&it, 1, left) <= 0)
			return NULL;
		if (ucr_wire_recv(c->sock, 0, &m) != 0)
			continue;
		cr_assert_eq(ucr_wire_decode(&f, m.data, m.len), 0,
		    "undecodable frame from the hub");
		ucr_wire_msg_free(&m);
		return f;
	}
}

void
client_ack_batch(struct client *c, const Ucr__Batch *b)
{
	Ucr__Frame a = UCR__FRAME__INIT;
	Ucr__Ack ack = UCR__ACK__INIT;

	ack.author = b->author;
	ack.epoch = b->epoch;
	ack.seq = b->last_seq;
	a.body_case = UCR__FRAME__BODY_ACK;
	a.ack = &ack;
	client_send(c, &a);
}

Ucr__Frame *
client_answer(struct client *c, int timeout_ms)
{
	long end = now_ms() + timeout_ms;
	Ucr__Frame *f;

	while ((f = client_recv(c, end)) != NULL) {
		switch (f->body_case) {
		case UCR__FRAME__BODY_STATE:
		case UCR__FRAME__BODY_ERROR:
			return f;
		case UCR__FRAME__BODY_ACK:
			if (f->ack->author.len == 32 &&
			    memcmp(f->ack->author.data, c->key->pk, 32) == 0)
				return f;
			break;
		case UCR__FRAME__BODY_BATCH:
			client_ack_batch(c, f->batch);
			break;
		default:
			break;
		}
		ucr__frame__free_unpacked(f, NULL);
	}
	return NULL;
}

/* Expect an Error frame with code; its seq. */
uint64_t
expect_error(struct client *c, int code, const char *what)
{
	Ucr__Frame *f = client_answer(c, 5000);
	uint64_t seq;

	cr_assert_not_null(f, "%s: no answer from the hub\n%s", what,
	    tail(&hub));
	cr_assert_eq(f->body_case, UCR__FRAME__BODY_ERROR,
	    "%s: got a %s frame, "
	    "want an error",
	    what, ucr_wire_name(f));
	cr_assert_eq(f->error->code, code, "%s: error %s (%s), want %s", what,
	    ucr_errname(f->error->code), f->error->message, ucr_errname(code));
	seq = f->error->seq;
	ucr__frame__free_unpacked(f, NULL);
	return seq;
}

void
client_hello(struct client *c)
{
	Ucr__Frame f = UCR__FRAME__INIT;
	Ucr__Hello h = UCR__HELLO__INIT;

	h.version = UCR_PROTOCOL_VERSION;
	h.author.data = c->key->pk;
	h.author.len = 32;
	h.epoch = c->epoch;
	h.head_seq = c->n;
	h.head_hash.data = c->hash[c->n];
	h.head_hash.len = 32;
	f.body_case = UCR__FRAME__BODY_HELLO;
	f.hello = &h;
	client_send(c, &f);
}

/* Hello, and a State back: the connection is usable. The State's seq. */
uint64_t
expect_usable(struct client *c, const char *after)
{
	Ucr__Frame *f;
	uint64_t seq;

	client_hello(c);
	f = client_answer(c, 5000);
	cr_assert_not_null(f, "after %s: no State for a hello\n%s", after,
	    tail(&hub));
	cr_assert_eq(f->body_case, UCR__FRAME__BODY_STATE,
	    "after %s: %s frame "
	    "(%s)",
	    after, ucr_wire_name(f),
	    f->body_case == UCR__FRAME__BODY_ERROR ? f->error->message : "");
	seq = f->state->seq;
	ucr__frame__free_unpacked(f, NULL);
	return seq;
}

/* The network record owner/network/id, in r and n; key and name its text. */
static void
network_record(Ucr__Record *r, Ucr__Network *n, char key[128], char name[128],
    const char *owner, const char *id)
{
	snprintf(key, 128, "%s/network/%s", owner, id);
	snprintf(name, 128, "Network %s", id);
	r->key = key;
	r->owner = (char *)owner;
	r->body_case = UCR__RECORD__BODY_NETWORK;
	r->network = n;
	n->name = name;
	n->joined = "2009-05-01";
}

/* A network record owner/network/id (encoded; caller frees). */
void
network_bytes(uint8_t **out, size_t *len, const char *owner, const char *id)
{
	Ucr__Record r = UCR__RECORD__INIT;
	Ucr__Network n = UCR__NETWORK__INIT;
	char key[128], name[128];

	network_record(&r, &n, key, name, owner, id);
	cr_assert_eq(ucr_record_encode(out, len, &r), 0);
}

size_t
network_put(uint8_t *buf, size_t cap, const char *owner, const char *id)
{
	Ucr__Request rq = UCR__REQUEST__INIT;
	Ucr__Put p = UCR__PUT__INIT;
	Ucr__Record r = UCR__RECORD__INIT;
	Ucr__Network n = UCR__NETWORK__INIT;
	char key[128], name[128];
	uint8_t rid[16];

	network_record(&r, &n, key, name, owner, id);
	p.record = &r;
	rq.body_case = UCR__REQUEST__BODY_PUT;
	rq.put = &p;
	randombytes_buf(rid, sizeof(rid));
	rq.request_id.data = rid;
	rq.request_id.len = sizeof(rid);
	cr_assert_leq(ucr__request__get_packed_size(&rq), cap);
	return ucr__request__pack(&rq, buf);
}

/* A roster record enrolling pk as code, owned by owner. */
void
roster_bytes(uint8_t **out, size_t *len, const char *owner, const uint8_t *pk,
    const char *code)
{
	Ucr__Record r = UCR__RECORD__INIT;
	Ucr__RosterEntry e = UCR__ROSTER_ENTRY__INIT;
	char key[128], hex[65];

	ucr_hex(hex, pk, 32);
	snprintf(key, sizeof(key), "%s/roster/%s", owner, hex);
	r.key = key;
	r.owner = (char *)owner;
	r.body_case = UCR__RECORD__BODY_ROSTER;
	r.roster = &e;
	e.municipality = (char *)code;
	e.name = "intruder";
	e.public_key.data = (uint8_t *)pk;
	e.public_key.len = 32;
	cr_assert_eq(ucr_record_encode(out, len, &r), 0);
}

/* Append an entry to the client's own log; takes rec. */
void
client_entry(struct client *c, uint8_t *rec, size_t reclen, uint32_t kind)
{
	client_entry_at(c, rec, reclen, kind, ucr_hlc_next(c->time));
}

void
client_entry_at(struct client *c, uint8_t *rec, size_t reclen, uint32_t kind,
    uint64_t time)
{
	size_t n = c->n + 1;

	cr_assert_lt(n, 64);
	c->time = time;
	cr_assert_eq(ucr_entry_encode(&c->ent[n], &c->entlen[n], c->epoch, n,
			 c->hash[n - 1], c->time, kind, rec, reclen),
	    0);
	ucr_hash(c->hash[n], c->ent[n], c->entlen[n]);
	c->n = n;
	free(rec);
}

void
client_network(struct client *c, const char *owner, const char *id)
{
	uint8_t *b;
	size_t len;

	network_bytes(&b, &len, owner, id);
	client_entry(c, b, len, UCR__RECORD__BODY_NETWORK);
}

/* Forget the last entry (to write another in its place). */
void
client_drop(struct client *c)
{
	free(c->ent[c->n]);
	c->ent[c->n] = NULL;
	c->n--;
}

void
client_batch(struct client *c, struct batch *out, uint64_t first, uint64_t last,
    const struct ucr_key *signer)
{
	uint64_t s;

	ucr__batch__init(&out->b);
	for (s = first; s <= last; s++) {
		out->ents[s - first].data = c->ent[s];
		out->ents[s - first].len = c->entlen[s];
	}
	out->b.entries = out->ents;
	out->b.n_entries = last - first + 1;
	out->b.epoch = c->epoch;
	out->b.first_seq = first;
	out->b.last_seq = last;
	out->b.signature.data = out->sig;
	ucr_batch_sign(&out->b, signer ? signer : c->key, REGION,
	    c->hash[last]);
	memcpy(out->author, c->key->pk, 32);
	out->b.author.data = out->author;
	out->b.author.len = 32;
}

void
client_send_batch(struct client *c, struct batch *bt)
{
	Ucr__Frame f = UCR__FRAME__INIT;

	f.body_case = UCR__FRAME__BODY_BATCH;
	f.batch = &bt->b;
	client_send(c, &f);
}

/* Send entries first..last, validly signed; expect an Ack of last. */
void
client_push(struct client *c, uint64_t first, uint64_t last)
{
	struct batch bt;
	Ucr__Frame *f;

	client_batch(c, &bt, first, last, NULL);
	client_send_batch(c, &bt);
	f = client_answer(c, 5000);
	cr_assert_not_null(f, "no ack for %llu-%llu\n%s",
	    (unsigned long long)first, (unsigned long long)last, tail(&hub));
	cr_assert_eq(f->body_case, UCR__FRAME__BODY_ACK,
	    "batch %llu-%llu: %s "
	    "(%s)",
	    (unsigned long long)first, (unsigned long long)last,
	    ucr_wire_name(f),
	    f->body_case == UCR__FRAME__BODY_ERROR ? f->error->message : "");
	cr_assert_eq(f->ack->seq, last);
	ucr__frame__free_unpacked(f, NULL);
}

/* The hub's head of the client's log (0 if none). */
uint64_t
hub_head(const struct client *c)
{
	struct ucr_store *st = store_ro(hub.data);
	struct ucr_head h;

	if (ucr_store_head(st, c->key->pk, c->epoch, &h) != 0)
		h.seq = 0;
	ucr_store_free(st);
	return h.seq;
}

/* Make a key file and enrol it; the key (caller frees). */
struct ucr_key *
enrolled_key(const char *code, const char *name)
{
	struct ucr_key *k;
	char path[700], hex[65];

	snprintf(path, sizeof(path), "%s/%s.key", dir, name);
	keygen(path, hex);
	cr_assert_eq(ucr_key_load(&k, path), 0);
	enrol(code, hex);
	return k;
}

static long
status_kb(pid_t pid, const char *field)
{
	char path[64], *all, *p;
	long kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((all = tu_read(path)) == NULL)
		return -1;
	if ((p = strstr(all, field)) != NULL)
		kb = strtol(p + strlen(field), NULL, 10);
	free(all);
	return kb;
}

long
rss_kb(pid_t pid)
{
	return status_kb(pid, "VmRSS:");
}

long
peak_kb(pid_t pid)
{
	return status_kb(pid, "VmHWM:");
}
