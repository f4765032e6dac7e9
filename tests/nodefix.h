/*
 * nodefix.h: one ucr-node without a hub, for the integration tests that
 * drive a single node (test_node.c, test_faults.c). A temp folder with a
 * key from "ucr keygen"; the test writes the configuration (nf_conf) and
 * starts the daemon (nf_start), which is then asked directly on its
 * control socket (nf_send, nf_request) or through the real ucr program
 * (nf_ucr, nf_ok).
 *
 * One node per test process (Criterion runs each test in its own): the
 * state is global. Helpers fail the test with cr_assert on any error.
 */
#ifndef UCR_TEST_NODEFIX_H
#define UCR_TEST_NODEFIX_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#include "ucr.pb-c.h"

/* The node's files: all in dir, made by nf_setup. */
struct nodefix {
	char *dir;
	char conf[512]; /* DIR/node.conf */
	char key[512];  /* DIR/node.key, made by nf_setup */
	char sock[512]; /* DIR/node.sock */
	char ctl[600];  /* ipc://DIR/node.sock */
	char log[512];  /* DIR/node.log: the daemon's output */
	char data[600]; /* DIR/store */
	pid_t pid;      /* the running ucr-node, or -1 */
};

extern struct nodefix nf;

/* Milliseconds on the monotonic clock (tests/region.c). */
long now_ms(void);

/* A suite's .init: the folder, the paths and the key; no configuration. */
void nf_setup(void);
/* A suite's .fini: kill the daemon, remove the folder. */
void nf_teardown(void);
/*
 * Write a node configuration to path: municipality 2403, no hub; key, data
 * and control as given (relative ones are taken from path's folder).
 */
void nf_conf(const char *path, const char *key, const char *data,
    const char *control);
/* The daemon's whole output (caller frees); "(no log)" if none. */
char *nf_log(void);
/* Run "ucr -c nf.conf ARGS"; exit status, output as tu_run. */
int nf_ucr(char **out, char **err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A ucr command that must succeed; its stdout (caller frees). */
char *nf_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Send parts as one multi-part message on a fresh REQ socket to nf.ctl and
 * decode the reply: 0 (and *out), -1 no reply within timeout_ms, -2 a
 * reply that is not a Reply.
 */
int nf_send(Ucr__Reply **out, const void *const *parts, const size_t *lens,
    int nparts, int timeout_ms);
/* One Request, packed, by nf_send. */
int nf_request(Ucr__Reply **out, const Ucr__Request *req, int timeout_ms);
/* A "stats" query answered within timeout_ms: the daemon serves. */
int nf_serving(int timeout_ms);
/*
 * Start "ucr-node -d OPTS -f nf.conf" and wait until it answers (not until
 * the socket file exists: a kill -9 leaves the old one behind).
 */
void nf_start(const char *opts);
/* Stop the daemon with sig; its exit status (or -signal), -1 if none. */
int nf_stop(int sig);

#endif
