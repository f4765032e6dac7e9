/*
 * test_zmtp.c: cli/zmtp.c, ucr's own ZMTP 3.0 REQ client for the daemons'
 * control socket.
 *
 * - against a hostile server (a raw AF_UNIX socket in a thread here, its
 *   bytes scripted): a wrong signature, version or mechanism, a
 *   Socket-Type other than REP, an ERROR command, an oversized, truncated
 *   or malformed frame, a command before the reply, silence. Each ends in
 *   a one-line reason and the right code, in time, without a crash;
 * - against libzmq's own ZMQ_REP, as the daemons bind it: requests and
 *   replies of every frame encoding (empty, short, 255/256 bytes, long,
 *   1 MiB) arrive intact both ways;
 * - the parser fed a stream one byte at a time, and random streams.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "error.h"
#include "testutil.h"
#include "zmtp.h"

/* ---------------------------------------------------- a hostile server */

struct script {
	const uint8_t *pre; /* written once the client's hello is read */
	size_t prelen;
	const uint8_t *post; /* written once the request is read */
	size_t postlen;
	size_t reqlen;  /* bytes of the client's request (frames included) */
	int hang;       /* after writing: keep the connection open */
	int fd;         /* listening socket */
	int greet_only; /* write pre before reading anything */
	uint8_t hello[CLI_ZMTP_HELLO];
	size_t hellolen;
};

static char sockpath[256];

static int
readn(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, buf + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void *
serve(void *arg)
{
	struct script *s = arg;
	uint8_t buf[4096];
	size_t left;
	int c;

	if ((c = accept(s->fd, NULL, NULL)) < 0)
		return NULL;
	if (!s->greet_only) {
		s->hellolen = 64 + 27; /* the greeting and READY */
		if (readn(c, s->hello, s->hellolen) != 0)
			goto leave;
	}
	if (s->prelen && write(c, s->pre, s->prelen) != (ssize_t)s->prelen)
		goto leave;
	if (s->post) {
		for (left = s->reqlen; left > 0;) {
			size_t n = left < sizeof(buf) ? left : sizeof(buf);

			if (readn(c, buf, n) != 0)
				goto leave;
			left -= n;
		}
		if (write(c, s->post, s->postlen) != (ssize_t)s->postlen)
			goto leave;
	}
	if (s->hang)
		while (read(c, buf, sizeof(buf)) > 0)
			; /* until the client closes */
leave:
	close(c);
	return NULL;
}

static pthread_t server;

static void
start(struct script *s)
{
	struct sockaddr_un sa;
	char *dir = tu_tempdir();

	cr_assert_not_null(dir);
	snprintf(sockpath, sizeof(sockpath), "%s/control.sock", dir);
	free(dir);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	cr_assert_lt(strlen(sockpath), sizeof(sa.sun_path));
	memcpy(sa.sun_path, sockpath, strlen(sockpath) + 1);
	cr_assert_geq(s->fd = socket(AF_UNIX, SOCK_STREAM, 0), 0);
	cr_assert_eq(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(s->fd, 4), 0);
	cr_assert_eq(pthread_create(&server, NULL, serve, s), 0);
}

static void
stop(struct script *s)
{
	pthread_join(server, NULL);
	close(s->fd);
	unlink(sockpath);
}

/* A greeting: version major.minor, mechanism mech. */
static size_t
greeting(uint8_t *out, int major, const char *mech)
{
	memset(out, 0, 64);
	out[0] = 0xFF;
	out[8] = 1; /* libzmq's padding: its routing id's length + 1 */
	out[9] = 0x7F;
	out[10] = (uint8_t)major;
	out[11] = 1;
	memcpy(out + 12, mech, strlen(mech));
	return 64;
}

/* A property at out: name's length, name, value's 4-byte length, value. */
static size_t
property(uint8_t *out, const char *name, const char *value)
{
	size_t n = 0, nl = strlen(name), vl = strlen(value);

	out[n++] = (uint8_t)nl;
	memcpy(out + n, name, nl);
	n += nl;
	out[n++] = 0;
	out[n++] = 0;
	out[n++] = 0;
	out[n++] = (uint8_t)vl;
	memcpy(out + n, value, vl);
	return n + vl;
}

/* A READY command with Socket-Type type (NULL: none) at out. */
static size_t
ready(uint8_t *out, const char *type)
{
	size_t n = 0, tl = type ? strlen(type) : 0;

	out[n++] = 0x04;
	out[n++] = (uint8_t)(6 + (type ? 1 + 11 + 4 + tl : 0) + 1 + 8 + 4 + 1);
	out[n++] = 5;
	memcpy(out + n, "READY", 5);
	n += 5;
	if (type)
		n += property(out + n, "Socket-Type", type);
	/* and a property the client does not know: skipped */
	return n + property(out + n, "Identity", "x");
}

/* A good server's greeting and READY. */
static size_t
good(uint8_t *out)
{
	size_t n = greeting(out, 3, "NULL");

	return n + ready(out + n, "REP");
}

/* The request "ping" as the client frames it: 2 + 2 + 4 bytes. */
#define REQ "ping"
#define REQLEN (2 + 2 + 4)

struct result {
	int rc, sent;
	uint8_t *reply;
	size_t replylen;
	char why[320];
	long ms;
};

static void
ask(struct result *r, int timeout_ms)
{
	struct timespec a, b;

	memset(r, 0, sizeof(*r));
	clock_gettime(CLOCK_MONOTONIC, &a);
	r->rc = cli_zmtp_request(sockpath, REQ, 4, &r->reply, &r->replylen,
	    timeout_ms, &r->sent, r->why, sizeof(r->why));
	clock_gettime(CLOCK_MONOTONIC, &b);
	r->ms =
	    (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	/* one line, whatever the server sent */
	cr_assert(strchr(r->why, '\n') == NULL, "%s", r->why);
}

/* Run a script to its end: the result, the server stopped. */
static void
run(struct script *s, struct result *r, int timeout_ms)
{
	start(s);
	ask(r, timeout_ms);
	stop(s);
}

static void
expect_fail(struct result *r, int rc, const char *words)
{
	cr_assert_eq(r->rc, rc, "rc %d, why: %s", r->rc, r->why);
	cr_assert_null(r->reply);
	cr_assert(strstr(r->why, words) != NULL, "why: %s", r->why);
	cr_assert_lt(r->ms, 2000, "took %ld ms", r->ms);
}

/*
 * A server that writes PRE (LEN bytes) once it has read the client's
 * hello, then keeps the connection open: the client fails with RC, its
 * reason naming WORDS. Whether the request went out.
 */
static int
pre_fails(const uint8_t *pre, size_t len, int rc, const char *words)
{
	struct script s = {pre, len, NULL, 0, 0, 1, 0, 0, {0}, 0};
	struct result r;

	run(&s, &r, 5000);
	expect_fail(&r, rc, words);
	return r.sent;
}

/*
 * A good server that answers the request with POST (LEN bytes), then
 * keeps the connection open (HANG) or closes it: the client fails with
 * RC, its reason naming WORDS. Whether the request went out.
 */
static int
reply_fails(const uint8_t *post, size_t len, int hang, int rc,
    const char *words)
{
	uint8_t pre[256];
	struct script s = {pre, 0, post, len, REQLEN, hang, 0, 0, {0}, 0};
	struct result r;

	s.prelen = good(pre);
	run(&s, &r, 5000);
	expect_fail(&r, rc, words);
	return r.sent;
}

Test(zmtp, hello_is_greeting_and_ready)
{
	uint8_t h[CLI_ZMTP_HELLO];
	size_t n = cli_zmtp_hello(h);
	static const uint8_t want[] = {0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 3, 0,
	    'N', 'U', 'L', 'L'};

	cr_assert_eq(n, 91);
	cr_assert_eq(memcmp(h, want, sizeof(want)), 0);
	cr_assert_eq(h[64], 0x04);
	cr_assert_eq(h[65], 25);
	cr_assert_eq(memcmp(h + 66, "\x05READY\x0bSocket-Type\0\0\0\x03REQ",
			 25),
	    0);
}

Test(zmtp, wrong_signature, .timeout = 10)
{
	static const uint8_t http[] = "HTTP/1.1 400 Bad Request\r\n\r\n";

	cr_assert_eq(pre_fails(http, sizeof(http) - 1, UCR_EPROTO,
			 "not ZeroMQ's"),
	    0);
}

Test(zmtp, wrong_signature_end, .timeout = 10)
{
	uint8_t g[64];
	size_t n = greeting(g, 3, "NULL");

	g[9] = 0x7E;
	pre_fails(g, n, UCR_EPROTO, "not ZeroMQ's");
}

Test(zmtp, wrong_version, .timeout = 10)
{
	uint8_t g[64];

	/* ZMTP 2.0's greeting is 12 bytes: the client must not wait for 64 */
	greeting(g, 1, "");
	pre_fails(g, 12, UCR_EPROTO, "ZMTP 1.x");
}

Test(zmtp, later_version_spoken_as_3_0, .timeout = 10)
{
	uint8_t pre[256], post[16] = {0x01, 0, 0x00, 2, 'o', 'k'};
	struct script s = {pre, 0, post, 6, REQLEN, 1, 0, 0, {0}, 0};
	struct result r;
	size_t n = greeting(pre, 4, "NULL");

	s.prelen = n + ready(pre + n, "REP");
	run(&s, &r, 5000);
	cr_assert_eq(r.rc, 0, "%s", r.why);
	cr_assert_eq(r.replylen, 2);
	cr_assert_eq(memcmp(r.reply, "ok", 2), 0);
	free(r.reply);
}

Test(zmtp, wrong_mechanism, .timeout = 10)
{
	uint8_t g[64];
	size_t n = greeting(g, 3, "CURVE");

	pre_fails(g, n, UCR_EPROTO, "\"CURVE\"");
}

Test(zmtp, mechanism_unprintable, .timeout = 10)
{
	uint8_t g[64];
	size_t n = greeting(g, 3, "NULL");

	memcpy(g + 12, "\x1b[2J\nX", 6);
	pre_fails(g, n, UCR_EPROTO, "\"?[2J?X\"");
}

Test(zmtp, socket_type_not_rep, .timeout = 10)
{
	uint8_t pre[256];
	size_t n = greeting(pre, 3, "NULL");

	n += ready(pre + n, "ROUTER");
	cr_assert_eq(pre_fails(pre, n, UCR_EPROTO, "ROUTER socket"), 0);
}

Test(zmtp, ready_without_socket_type, .timeout = 10)
{
	uint8_t pre[256];
	size_t n = greeting(pre, 3, "NULL");

	n += ready(pre + n, NULL);
	pre_fails(pre, n, UCR_EPROTO, "no Socket-Type");
}

Test(zmtp, ready_property_overruns, .timeout = 10)
{
	uint8_t pre[256];
	size_t n = greeting(pre, 3, "NULL");
	size_t len = n + ready(pre + n, "REP");

	pre[n + 2 + 6 + 1 + 11 + 3] = 200; /* Socket-Type's value length */
	pre_fails(pre, len, UCR_EPROTO, "malformed command");
}

Test(zmtp, error_command, .timeout = 10)
{
	uint8_t pre[256];
	static const uint8_t err[] = "\x04\x0f\x05"
				     "ERROR\x08"
				     "denied\x1b\n";
	size_t n = greeting(pre, 3, "NULL");

	memcpy(pre + n, err, sizeof(err) - 1);
	pre_fails(pre, n + sizeof(err) - 1, UCR_EPROTO,
	    "refused the connection: denied??");
}

Test(zmtp, message_before_ready, .timeout = 10)
{
	uint8_t pre[256];
	size_t n = greeting(pre, 3, "NULL");

	pre[n] = 0x01;
	pre[n + 1] = 0;
	pre_fails(pre, n + 2, UCR_EPROTO, "before its READY");
}

Test(zmtp, reserved_flags, .timeout = 10)
{
	uint8_t pre[256];
	size_t n = greeting(pre, 3, "NULL");

	pre[n] = 0x84;
	pre_fails(pre, n + 1, UCR_EPROTO, "flags 0x84");
}

Test(zmtp, oversized_command, .timeout = 10)
{
	uint8_t pre[256];
	size_t n = greeting(pre, 3, "NULL");

	/* a long command frame of 2^62 bytes */
	memcpy(pre + n, "\x06\x40\0\0\0\0\0\0\0", 9);
	pre_fails(pre, n + 9, UCR_EPROTO,
	    "command frame of 4611686018427387904");
}

Test(zmtp, oversized_reply, .timeout = 10)
{
	/* the delimiter, then a long frame of 2^40 bytes, nothing of it */
	static const uint8_t post[] = {0x01, 0, 0x02, 0, 0, 1, 0, 0, 0, 0, 0};

	cr_assert_eq(reply_fails(post, sizeof(post), 1, UCR_ETOOBIG,
			 "1099511627776 bytes"),
	    1);
}

Test(zmtp, reply_one_over_the_limit, .timeout = 10)
{
	struct cli_zmtp_in in;
	uint8_t pre[256], f[11] = {0x01, 0, 0x02};
	uint64_t big = CLI_ZMTP_MAXREPLY + 1;
	size_t n = good(pre);
	int i;

	for (i = 0; i < 8; i++)
		f[3 + i] = (uint8_t)(big >> (56 - 8 * i));
	cli_zmtp_in_init(&in, CLI_ZMTP_MAXREPLY);
	cr_assert_eq(cli_zmtp_feed(&in, pre, n), n);
	cr_assert(in.ready);
	cli_zmtp_feed(&in, f, sizeof(f));
	cr_assert_eq(in.state, CLI_ZMTP_FAILED);
	cr_assert_eq(in.code, UCR_ETOOBIG);
	cr_assert_null(in.body);
	cli_zmtp_in_free(&in);
}

Test(zmtp, truncated_reply, .timeout = 10)
{
	/* the delimiter, a frame of 100 bytes, 10 of them, then EOF */
	static const uint8_t post[] = {0x01, 0, 0x00, 100, '0', '1', '2', '3',
	    '4', '5', '6', '7', '8', '9'};

	cr_assert_eq(reply_fails(post, sizeof(post), 0, UCR_EIO,
			 "closed the connection"),
	    1);
}

Test(zmtp, closed_after_greeting, .timeout = 10)
{
	uint8_t pre[256];
	struct script s = {pre, 0, NULL, 0, 0, 0, 0, 0, {0}, 0};
	struct result r;

	s.prelen = greeting(pre, 3, "NULL");
	run(&s, &r, 5000);
	expect_fail(&r, UCR_EIO, "closed the connection");
	cr_assert_eq(r.sent, 0);
}

Test(zmtp, reply_without_delimiter, .timeout = 10)
{
	static const uint8_t post[] = {0x00, 2, 'o', 'k'};

	reply_fails(post, sizeof(post), 1, UCR_EPROTO, "delimiter");
}

Test(zmtp, reply_of_two_frames, .timeout = 10)
{
	static const uint8_t post[] = {0x01, 0, 0x01, 2, 'o', 'k', 0x00, 0};

	reply_fails(post, sizeof(post), 1, UCR_EPROTO, "more than one frame");
}

/* PING (ZMTP 3.1) and an unknown command, before and inside the reply:
   skipped; the reply arrives. */
Test(zmtp, commands_before_the_reply, .timeout = 10)
{
	uint8_t pre[256];
	static const uint8_t post[] = {0x04, 7, 4, 'P', 'I', 'N', 'G', 0, 10,
	    0x04, 4, 3, 'F', 'O', 'O', 0x01, 0, 0x04, 7, 4, 'P', 'I', 'N', 'G',
	    0, 10, 0x00, 2, 'o', 'k'};
	struct script s = {pre, 0, post, sizeof(post), REQLEN, 1, 0, 0, {0}, 0};
	struct result r;
	size_t n = good(pre);

	/* and one before READY */
	memmove(pre + 64 + 9, pre + 64, n - 64);
	memcpy(pre + 64, post, 9);
	s.prelen = n + 9;
	run(&s, &r, 5000);
	cr_assert_eq(r.rc, 0, "%s", r.why);
	cr_assert_eq(r.sent, 1);
	cr_assert_eq(r.replylen, 2);
	cr_assert_eq(memcmp(r.reply, "ok", 2), 0);
	free(r.reply);
}

Test(zmtp, silence_times_out, .timeout = 10)
{
	struct script s = {NULL, 0, NULL, 0, 0, 1, 0, 0, {0}, 0};
	struct result r;

	run(&s, &r, 300);
	cr_assert_eq(r.rc, UCR_ETIMEOUT, "%s", r.why);
	cr_assert_geq(r.ms, 290);
	cr_assert_lt(r.ms, 2000);
	cr_assert_eq(r.sent, 0);
}

/* The request goes out, the reply never comes. */
Test(zmtp, no_reply_times_out, .timeout = 10)
{
	uint8_t pre[256];
	struct script s = {pre, 0, (const uint8_t *)"", 0, REQLEN, 1, 0, 0, {0},
	    0};
	struct result r;

	s.prelen = good(pre);
	run(&s, &r, 300);
	cr_assert_eq(r.rc, UCR_ETIMEOUT, "%s", r.why);
	cr_assert_eq(r.sent, 1);
	cr_assert_lt(r.ms, 2000);
}

Test(zmtp, nobody_listening, .timeout = 10)
{
	struct result r;
	char *dir = tu_tempdir();

	snprintf(sockpath, sizeof(sockpath), "%s/none.sock", dir);
	free(dir);
	ask(&r, 1000);
	cr_assert_eq(r.rc, UCR_ENOTFOUND);
	cr_assert(strstr(r.why, strerror(ENOENT)) != NULL, "%s", r.why);
}

/* The client's hello as the server read it: the greeting and READY. */
Test(zmtp, server_reads_the_hello, .timeout = 10)
{
	uint8_t pre[256];
	static const uint8_t post[] = {0x01, 0, 0x00, 0};
	struct script s = {pre, 0, post, sizeof(post), REQLEN, 1, 0, 0, {0}, 0};
	uint8_t want[CLI_ZMTP_HELLO];
	struct result r;

	s.prelen = good(pre);
	run(&s, &r, 5000);
	cr_assert_eq(r.rc, 0, "%s", r.why);
	cr_assert_eq(r.replylen, 0); /* an empty reply body */
	free(r.reply);
	cr_assert_eq(memcmp(s.hello, want, cli_zmtp_hello(want)), 0);
}

/* ----------------------------------------------------- the parser alone */

/* A good stream: greeting, READY, a PING, the reply "hello" (long form). */
static size_t
stream(uint8_t *out)
{
	size_t n = good(out);
	static const uint8_t rest[] = {0x04, 7, 4, 'P', 'I', 'N', 'G', 0, 0,
	    0x01, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'};

	memcpy(out + n, rest, sizeof(rest));
	return n + sizeof(rest);
}

Test(zmtp, parser_byte_by_byte)
{
	struct cli_zmtp_in in;
	uint8_t s[256];
	size_t n = stream(s), i;

	cli_zmtp_in_init(&in, 1024);
	for (i = 0; i < n; i++) {
		cr_assert_neq(in.state, CLI_ZMTP_DONE, "done at %zu", i);
		cr_assert_eq(cli_zmtp_feed(&in, s + i, 1), 1, "%zu: %s", i,
		    in.why);
	}
	cr_assert_eq(in.state, CLI_ZMTP_DONE, "%s", in.why);
	cr_assert_eq(in.bodylen, 5);
	cr_assert_eq(memcmp(in.body, "hello", 5), 0);
	/* nothing is taken after the reply */
	cr_assert_eq(cli_zmtp_feed(&in, s, 4), 0);
	cli_zmtp_in_free(&in);
}

/* Every prefix of a good stream and random streams: no crash, no read
   past the input (ASan), no reply claimed that is not there. */
Test(zmtp, parser_random_streams)
{
	struct cli_zmtp_in in;
	uint8_t s[512];
	size_t n = stream(s), i, k;
	unsigned seed = 11;

	for (i = 0; i < n; i++) {
		cli_zmtp_in_init(&in, 1024);
		cli_zmtp_feed(&in, s, i);
		cr_assert_neq(in.state, CLI_ZMTP_DONE);
		cr_assert_neq(in.state, CLI_ZMTP_FAILED, "%zu: %s", i, in.why);
		cli_zmtp_in_free(&in);
	}
	for (i = 0; i < 20000; i++) {
		size_t len = (size_t)rand_r(&seed) % sizeof(s);

		/* a good start, then garbage, so the frames get parsed */
		n = good(s);
		for (k = n; k < len; k++)
			s[k] = (uint8_t)rand_r(&seed);
		cli_zmtp_in_init(&in, 4096);
		cli_zmtp_feed(&in, s, len > n ? len : n);
		if (in.state == CLI_ZMTP_DONE)
			cr_assert_leq(in.bodylen, 4096);
		cli_zmtp_in_free(&in);
	}
}

/* ------------------------------------------------ libzmq's own REP */

struct rep {
	void *ctx, *sock;
	size_t reqlen, replen; /* expected request, reply to send */
	int n;                 /* exchanges to serve */
	int ok;
};

static uint8_t
pattern(size_t i, size_t len)
{
	return (uint8_t)(i * 31 + len);
}

static void *
rep_serve(void *arg)
{
	struct rep *r = arg;
	uint8_t *buf;
	zmq_msg_t m;
	size_t i;
	int k;

	for (k = 0; k < r->n; k++) {
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, r->sock, 0) < 0)
			return NULL;
		if (zmq_msg_size(&m) != r->reqlen)
			return NULL;
		for (i = 0; i < r->reqlen; i++)
			if (((uint8_t *)zmq_msg_data(&m))[i] !=
			    pattern(i, r->reqlen))
				return NULL;
		zmq_msg_close(&m);
		if ((buf = malloc(r->replen + 1)) == NULL)
			return NULL;
		for (i = 0; i < r->replen; i++)
			buf[i] = pattern(i, r->replen);
		zmq_send(r->sock, buf, r->replen, 0);
		free(buf);
	}
	r->ok = 1;
	return NULL;
}

static void
against_libzmq(size_t reqlen, size_t replen)
{
	char *dir = tu_tempdir(), ep[300];
	struct rep r = {NULL, NULL, reqlen, replen, 2, 0};
	int64_t max = UCR_CONTROL_MAXMSG;
	int linger = 0, k, sent;
	uint8_t *req = malloc(reqlen + 1), *rep;
	size_t i, len;
	char why[320];
	pthread_t t;

	cr_assert_not_null(req);
	for (i = 0; i < reqlen; i++)
		req[i] = pattern(i, reqlen);
	snprintf(sockpath, sizeof(sockpath), "%s/control.sock", dir);
	snprintf(ep, sizeof(ep), "ipc://%s", sockpath);
	free(dir);
	/* as common/daemon.c binds it */
	r.ctx = zmq_ctx_new();
	r.sock = zmq_socket(r.ctx, ZMQ_REP);
	zmq_setsockopt(r.sock, ZMQ_MAXMSGSIZE, &max, sizeof(max));
	zmq_setsockopt(r.sock, ZMQ_LINGER, &linger, sizeof(linger));
	cr_assert_eq(zmq_bind(r.sock, ep), 0, "%s", zmq_strerror(errno));
	cr_assert_eq(pthread_create(&t, NULL, rep_serve, &r), 0);
	/* two requests, each on its own connection, as ucr makes them */
	for (k = 0; k < 2; k++) {
		cr_assert_eq(cli_zmtp_request(sockpath, req, reqlen, &rep, &len,
				 10000, &sent, why, sizeof(why)),
		    0, "%zu/%zu: %s", reqlen, replen, why);
		cr_assert_eq(sent, 1);
		cr_assert_eq(len, replen);
		for (i = 0; i < replen; i++)
			cr_assert_eq(rep[i], pattern(i, replen), "byte %zu", i);
		free(rep);
	}
	pthread_join(t, NULL);
	cr_assert(r.ok, "the REP saw another request (%zu bytes)", reqlen);
	zmq_close(r.sock);
	zmq_ctx_term(r.ctx);
	free(req);
}

Test(zmtp, libzmq_rep_small, .timeout = 30)
{
	against_libzmq(0, 0);
	against_libzmq(1, 255);
	against_libzmq(255, 256);
	against_libzmq(256, 1);
}

Test(zmtp, libzmq_rep_one_mib, .timeout = 30)
{
	against_libzmq(1 << 20, 1 << 20);
	against_libzmq(100, (1 << 20) + 7);
}

/* A request over the daemons' limit: libzmq drops the connection, the
   client says so at once rather than waiting out its timeout. */
Test(zmtp, libzmq_rep_request_over_its_limit, .timeout = 30)
{
	char *dir = tu_tempdir(), ep[300], why[320];
	void *ctx = zmq_ctx_new(), *sock = zmq_socket(ctx, ZMQ_REP);
	int64_t max = 1000;
	uint8_t req[2000] = {0}, *rep;
	size_t len;
	int sent, rc;

	snprintf(sockpath, sizeof(sockpath), "%s/control.sock", dir);
	snprintf(ep, sizeof(ep), "ipc://%s", sockpath);
	free(dir);
	zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max, sizeof(max));
	cr_assert_eq(zmq_bind(sock, ep), 0);
	rc = cli_zmtp_request(sockpath, req, sizeof(req), &rep, &len, 5000,
	    &sent, why, sizeof(why));
	cr_assert_eq(rc, UCR_EIO, "%d: %s", rc, why);
	zmq_close(sock);
	zmq_ctx_term(ctx);
}
