/* nodefix.c: see nodefix.h. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <zmq.h>

#include "nodefix.h"
#include "testutil.h"

struct nodefix nf = {.pid = -1};

void
nf_setup(void)
{
	char *err = NULL;
	int rc;

	nf.dir = tu_tempdir();
	cr_assert_not_null(nf.dir);
	snprintf(nf.conf, sizeof(nf.conf), "%s/node.conf", nf.dir);
	snprintf(nf.key, sizeof(nf.key), "%s/node.key", nf.dir);
	snprintf(nf.sock, sizeof(nf.sock), "%s/node.sock", nf.dir);
	snprintf(nf.ctl, sizeof(nf.ctl), "ipc://%s", nf.sock);
	snprintf(nf.log, sizeof(nf.log), "%s/node.log", nf.dir);
	snprintf(nf.data, sizeof(nf.data), "%s/store", nf.dir);
	nf.pid = -1;
	rc = tu_run(NULL, &err, "ucr keygen --out '%s'", nf.key);
	cr_assert_eq(rc, 0, "keygen: %s", err);
	free(err);
}

void
nf_teardown(void)
{
	nf_stop(SIGKILL);
	tu_rmrf(nf.dir);
	free(nf.dir);
	nf.dir = NULL;
}

void
nf_conf(const char *path, const char *key, const char *data,
    const char *control)
{
	char buf[2048];

	snprintf(buf, sizeof(buf),
	    "# written by the tests (tests/nodefix.c)\n"
	    "[node]\n"
	    "municipality = 2403\n"
	    "key = %s\n"
	    "data = %s\n"
	    "control = %s\n"
	    "hub =\n"
	    "hub_key =\n",
	    key, data, control);
	cr_assert_eq(tu_write(path, buf), 0);
}

char *
nf_log(void)
{
	char *s = tu_read(nf.log);

	return s ? s : strdup("(no log)");
}

/* "ucr -c nf.conf ARGS"; with must, the test fails unless it exits 0. */
static int
vucr(char **out, char **err, int must, const char *fmt, va_list ap)
{
	char *args, *e = NULL;
	int rc;

	if (vasprintf(&args, fmt, ap) < 0)
		args = NULL;
	cr_assert_not_null(args);
	rc = tu_run(out, err ? err : &e, "ucr -c '%s' %s", nf.conf, args);
	if (must)
		cr_assert_eq(rc, 0, "ucr %s: exit %d: %s", args, rc,
		    err ? *err : e);
	free(args);
	free(e);
	return rc;
}

int
nf_ucr(char **out, char **err, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vucr(out, err, 0, fmt, ap);
	va_end(ap);
	return rc;
}

char *
nf_ok(const char *fmt, ...)
{
	char *out = NULL;
	va_list ap;

	va_start(ap, fmt);
	vucr(&out, NULL, 1, fmt, ap);
	va_end(ap);
	return out;
}

int
nf_send(Ucr__Reply **out, const void *const *parts, const size_t *lens,
    int nparts, int timeout_ms)
{
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_REQ);
	zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
	zmq_msg_t m;
	int linger = 0, i, rc = -1;

	*out = NULL;
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	cr_assert_eq(zmq_connect(s, nf.ctl), 0);
	for (i = 0; i < nparts; i++)
		cr_assert_geq(zmq_send(s, parts[i], lens[i],
				  i + 1 < nparts ? ZMQ_SNDMORE : 0),
		    0);
	if (zmq_poll(&it, 1, timeout_ms) == 1) {
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, s, 0) >= 0) {
			*out = ucr__reply__unpack(NULL, zmq_msg_size(&m),
			    zmq_msg_data(&m));
			rc = *out ? 0 : -2;
		}
		zmq_msg_close(&m);
	}
	zmq_close(s);
	zmq_ctx_term(ctx);
	return rc;
}

int
nf_request(Ucr__Reply **out, const Ucr__Request *req, int timeout_ms)
{
	size_t len = ucr__request__get_packed_size(req);
	uint8_t *buf = malloc(len ? len : 1);
	const void *p = buf;
	int rc;

	cr_assert_not_null(buf);
	ucr__request__pack(req, buf);
	rc = nf_send(out, &p, &len, 1, timeout_ms);
	free(buf);
	return rc;
}

int
nf_serving(int timeout_ms)
{
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__Query q = UCR__QUERY__INIT;
	Ucr__Reply *rep;
	int ok;

	q.what = "stats";
	req.body_case = UCR__REQUEST__BODY_QUERY;
	req.query = &q;
	if (nf_request(&rep, &req, timeout_ms) != 0)
		return 0;
	ok = rep->code == 0;
	ucr__reply__free_unpacked(rep, NULL);
	return ok;
}

void
nf_start(const char *opts)
{
	long end = now_ms() + 10000;

	nf.pid = tu_spawn(nf.log, "exec ucr-node -d %s -f '%s'", opts, nf.conf);
	cr_assert_gt(nf.pid, 0);
	while (!nf_serving(200)) {
		if (waitpid(nf.pid, NULL, WNOHANG) == nf.pid ||
		    now_ms() > end) {
			nf.pid = -1;
			cr_assert_fail("ucr-node did not come up: %s",
			    nf_log());
		}
	}
}

int
nf_stop(int sig)
{
	int st = tu_kill(nf.pid, sig);

	nf.pid = -1;
	return st;
}
