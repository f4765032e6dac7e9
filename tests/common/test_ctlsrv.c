/*
 * test_ctlsrv.c: the control socket server's parser (common/ctlsrv.c) and
 * the ZMTP pieces it shares with ucr's client (common/zmtp3.c).
 *
 * - valid client streams (ucr's own hello, libzmq's 3.1 greeting with more
 *   READY properties, DEALER, PING between requests, requests of every
 *   frame encoding) fed in random splits give the same requests;
 * - each refusal: a bad signature, version or mechanism; a Socket-Type
 *   other than REQ or DEALER, or none; a message before READY; a request
 *   without its delimiter; a body or command frame over its limit (refused
 *   from the header: nothing allocated); unknown flags. Each stops with
 *   its fault;
 * - a request of several frames is read through and marked, not kept.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ctlsrv.h"
#include "zmtp.h"
#include "zmtp3.h"

#define MAX (1 << 20)

struct stream {
	uint8_t *b;
	size_t len, cap;
};

static void
put(struct stream *s, const void *p, size_t n)
{
	if (s->len + n + 1 > s->cap) {
		s->cap = (s->len + n) * 2;
		s->b = realloc(s->b, s->cap);
		cr_assert_not_null(s->b);
	}
	if (n > 0)
		memcpy(s->b + s->len, p, n);
	s->len += n;
}

/* A request: the empty delimiter, then the body as one frame. */
static void
put_req(struct stream *s, const uint8_t *body, size_t n)
{
	uint8_t h[2 + UCR_ZMTP_HEAD_MAX] = {UCR_ZMTP_MORE, 0};
	size_t hl = 2 + ucr_zmtp_head(h + 2, 0, n);

	put(s, h, hl);
	put(s, body, n);
}

/* A greeting of version major.minor with mechanism mech. */
static void
put_greeting(struct stream *s, int major, int minor, const char *mech)
{
	uint8_t g[UCR_ZMTP_GREETING];

	ucr_zmtp_greeting(g);
	g[10] = (uint8_t)major;
	g[11] = (uint8_t)minor;
	memset(g + 12, 0, 20);
	memcpy(g + 12, mech, strlen(mech));
	put(s, g, sizeof(g));
}

/* A command frame: name, then data. */
static void
put_cmd(struct stream *s, const char *name, const void *data, size_t n)
{
	uint8_t h[UCR_ZMTP_HEAD_MAX], nl = (uint8_t)strlen(name);

	put(s, h, ucr_zmtp_head(h, UCR_ZMTP_CMD, 1 + nl + n));
	put(s, &nl, 1);
	put(s, name, nl);
	put(s, data, n);
}

/* A READY property. */
static void
put_prop(struct stream *s, const char *name, const char *value)
{
	uint8_t nl = (uint8_t)strlen(name), vl[4] = {0};

	vl[3] = (uint8_t)strlen(value);
	put(s, &nl, 1);
	put(s, name, nl);
	put(s, vl, 4);
	put(s, value, strlen(value));
}

/* Feed s in pieces of random sizes (seed; 0: all at once); each request
 * body is checked against want[i] (lens[i]); returns the state at the end. */
static int
feed_all(const struct stream *s, unsigned seed, const uint8_t *const *want,
    const size_t *lens, int nwant, struct ucr_ctlsrv_in *in)
{
	size_t off = 0, n, used;
	int got = 0;

	srand(seed);
	ucr_ctlsrv_in_init(in, MAX);
	while (off < s->len) {
		n = seed ? 1 + (size_t)rand() % (rand() % 4 ? 7 : 3000)
			 : s->len;
		if (n > s->len - off)
			n = s->len - off;
		/* what is not taken is offered again, as the server does */
		while (n > 0) {
			used = ucr_ctlsrv_feed(in, s->b + off, n);
			off += used;
			n -= used;
			if (in->state == UCR_CTLSRV_S_FAILED)
				return in->state;
			if (in->state == UCR_CTLSRV_S_REQ) {
				cr_assert_lt(got, nwant);
				if (!in->multi) {
					cr_assert_eq(in->bodylen, lens[got],
					    "request %d: %zu bytes", got,
					    in->bodylen);
					cr_assert(lens[got] == 0 ||
					    memcmp(in->body, want[got],
						lens[got]) == 0);
				} else
					cr_assert_eq(lens[got], (size_t)-1);
				got++;
				ucr_ctlsrv_in_next(in);
			} else
				cr_assert_eq(n, 0);
		}
	}
	cr_assert_eq(got, nwant, "%d of %d requests", got, nwant);
	return in->state;
}

static uint8_t big[70000];

Test(ctlsrv, random_splits_of_valid_streams)
{
	static const uint8_t short1[] = "stats";
	uint8_t hello[CLI_ZMTP_HELLO], b255[255], b256[256];
	const uint8_t *want[6];
	size_t lens[6];
	struct stream s = {0};
	struct ucr_ctlsrv_in in;
	unsigned seed;
	int v;

	memset(b255, 0xA5, sizeof(b255));
	memset(b256, 0x5A, sizeof(b256));
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	for (v = 0; v < 3; v++) {
		s.len = 0;
		if (v == 0) /* ucr's own client: its hello, as it sends it */
			put(&s, hello, cli_zmtp_hello(hello));
		else {
			/* libzmq 4.3's REQ: a 3.1 greeting, READY with an
			 * Identity; or a DEALER */
			put_greeting(&s, 3, 1, "NULL");
			struct stream r = {0};

			put_prop(&r, "Socket-Type", v == 1 ? "REQ" : "DEALER");
			put_prop(&r, "Identity", "");
			put_prop(&r, "X-Unknown", "skipped");
			put_cmd(&s, "READY", r.b, r.len);
			free(r.b);
		}
		put_req(&s, short1, 5);
		want[0] = short1;
		lens[0] = 5;
		put_cmd(&s, "PING", "\0\0\0", 3); /* 3.1: skipped */
		put_req(&s, b255, sizeof(b255));
		want[1] = b255;
		lens[1] = sizeof(b255);
		put_req(&s, b256, sizeof(b256));
		want[2] = b256;
		lens[2] = sizeof(b256);
		put_req(&s, NULL, 0);
		want[3] = NULL;
		lens[3] = 0;
		put_req(&s, big, sizeof(big));
		want[4] = big;
		lens[4] = sizeof(big);
		/* several body frames: read through, marked */
		put(&s, "\x01\x00\x01\x02xy\x00\x01z", 9);
		want[5] = NULL;
		lens[5] = (size_t)-1;
		for (seed = 0; seed < 300; seed++) {
			cr_assert_eq(feed_all(&s, seed, want, lens, 6, &in),
			    UCR_CTLSRV_S_READ, "seed %u: %s", seed, in.why);
			ucr_ctlsrv_in_free(&in);
		}
	}
	free(s.b);
}

/* The stream after the greeting, with READY of Socket-Type type. */
static void
put_ready(struct stream *s, const char *type)
{
	struct stream r = {0};

	put_prop(&r, "Socket-Type", type);
	put_cmd(s, "READY", r.b, r.len);
	free(r.b);
}

static int
fault_of(const struct stream *s)
{
	struct ucr_ctlsrv_in in;
	int f;

	ucr_ctlsrv_in_init(&in, MAX);
	ucr_ctlsrv_feed(&in, s->b, s->len);
	cr_assert_eq(in.state, UCR_CTLSRV_S_FAILED, "state %d", in.state);
	cr_assert_null(in.body);
	cr_assert_str_not_empty(in.why);
	f = in.fault;
	ucr_ctlsrv_in_free(&in);
	return f;
}

Test(ctlsrv, refusals)
{
	struct stream s = {0};
	uint8_t h[UCR_ZMTP_HEAD_MAX];

	/* not ZMTP at all: an HTTP request */
	put(&s, "GET / HTTP/1.0\r\n\r\n", 18);
	cr_assert_eq(fault_of(&s), UCR_CTLSRV_F_GREETING);
	/* ZMTP 2 */
	s.len = 0;
	put_greeting(&s, 2, 0, "NULL");
	cr_assert_eq(fault_of(&s), UCR_CTLSRV_F_GREETING);
	/* CURVE, PLAIN */
	s.len = 0;
	put_greeting(&s, 3, 0, "CURVE");
	cr_assert_eq(fault_of(&s), UCR_CTLSRV_F_GREETING);
	s.len = 0;
	put(&s, "\xff\0\0\0\0\0\0\0\0\x7f\x03\x00PL", 14); /* stops early */
	cr_assert_eq(fault_of(&s), UCR_CTLSRV_F_GREETING);
	/* a PUB, a REP; no Socket-Type */
	s.len = 0;
	put_greeting(&s, 3, 0, "NULL");
	put_ready(&s, "PUB");
	cr_assert_eq(fault_of(&s), UCR_CTLSRV_F_SOCKTYPE);
	s.len = 0;
	put_greeting(&s, 3, 1, "NULL");
	put_ready(&s, "REP");
	cr_assert_eq(fault_of(&s), UCR_CTLSRV_F_SOCKTYPE);
	s.len = 0;
	put_greeting(&s, 3, 0, "NULL");
	put_cmd(&s, "READY", NULL, 0);
	cr_assert_eq(fault_of(&s), UCR_CTLSRV_F_SOCKTYPE);
	/* a malformed property; a command other than READY first */
	s.len = 0;
	put_greeting(&s, 3, 0, "NULL");
	put_cmd(&s, "READY", "\x0bSocket-Type\0\0\0\x09REQ", 19);
	cr_assert_eq(fault_of(&s), UCR_CTLSRV_F_PROTOCOL);
	s.len = 0;
	put_greeting(&s, 3, 0, "NULL");
	put_cmd(&s, "PING", "\0\0", 2);
	cr_assert_eq(fault_of(&s), UCR_CTLSRV_F_PROTOCOL);
	/* a message before READY; a request without its delimiter */
	s.len = 0;
	put_greeting(&s, 3, 0, "NULL");
	put_req(&s, (const uint8_t *)"x", 1);
	cr_assert_eq(fault_of(&s), UCR_CTLSRV_F_PROTOCOL);
	s.len = 0;
	put_greeting(&s, 3, 0, "NULL");
	put_ready(&s, "REQ");
	put(&s, "\x00\x05stats", 7);
	cr_assert_eq(fault_of(&s), UCR_CTLSRV_F_PROTOCOL);
	/* unknown flags; a command with MORE */
	s.len = 0;
	put_greeting(&s, 3, 0, "NULL");
	put_ready(&s, "REQ");
	put(&s, "\x08\x00", 2);
	cr_assert_eq(fault_of(&s), UCR_CTLSRV_F_PROTOCOL);
	s.len = 0;
	put_greeting(&s, 3, 0, "NULL");
	put_ready(&s, "REQ");
	put(&s, "\x05\x01", 2);
	cr_assert_eq(fault_of(&s), UCR_CTLSRV_F_PROTOCOL);
	/* a body one byte over the limit: refused from its header alone */
	s.len = 0;
	put_greeting(&s, 3, 0, "NULL");
	put_ready(&s, "REQ");
	put(&s, "\x01\x00", 2);
	put(&s, h, ucr_zmtp_head(h, 0, (uint64_t)MAX + 1));
	cr_assert_eq(fault_of(&s), UCR_CTLSRV_F_TOOBIG);
	/* 2^63 and more: no overflow anywhere */
	s.len = 0;
	put_greeting(&s, 3, 0, "NULL");
	put_ready(&s, "REQ");
	put(&s, "\x01\x00\x02\xff\xff\xff\xff\xff\xff\xff\xff", 11);
	cr_assert_eq(fault_of(&s), UCR_CTLSRV_F_TOOBIG);
	/* a command frame over 64 KiB, before and after READY */
	s.len = 0;
	put_greeting(&s, 3, 0, "NULL");
	put(&s, h, ucr_zmtp_head(h, UCR_ZMTP_CMD, UCR_ZMTP_MAXCMD + 1));
	cr_assert_eq(fault_of(&s), UCR_CTLSRV_F_TOOBIG);
	s.len = 0;
	put_greeting(&s, 3, 0, "NULL");
	put_ready(&s, "REQ");
	put(&s, h, ucr_zmtp_head(h, UCR_ZMTP_CMD, (uint64_t)1 << 40));
	cr_assert_eq(fault_of(&s), UCR_CTLSRV_F_TOOBIG);
	/* an empty command */
	s.len = 0;
	put_greeting(&s, 3, 0, "NULL");
	put(&s, "\x04\x00", 2);
	cr_assert_eq(fault_of(&s), UCR_CTLSRV_F_PROTOCOL);
	free(s.b);
}

Test(ctlsrv, nothing_taken_after_a_request_or_a_fault)
{
	struct stream s = {0};
	struct ucr_ctlsrv_in in;
	size_t used;

	put_greeting(&s, 3, 0, "NULL");
	put_ready(&s, "REQ");
	put_req(&s, (const uint8_t *)"one", 3);
	put_req(&s, (const uint8_t *)"two", 3);
	ucr_ctlsrv_in_init(&in, MAX);
	used = ucr_ctlsrv_feed(&in, s.b, s.len);
	cr_assert_eq(in.state, UCR_CTLSRV_S_REQ);
	cr_assert_eq(used, s.len - 7); /* 01 00, 00 03 "two" are left */
	cr_assert_eq(ucr_ctlsrv_feed(&in, s.b + used, 7), 0);
	ucr_ctlsrv_in_next(&in);
	cr_assert_eq(ucr_ctlsrv_feed(&in, s.b + used, 7), 7);
	cr_assert_eq(in.state, UCR_CTLSRV_S_REQ);
	cr_assert_eq(memcmp(in.body, "two", 3), 0);
	ucr_ctlsrv_in_free(&in);
	free(s.b);
}

Test(zmtp3, greeting_and_ready_round_trip)
{
	uint8_t g[UCR_ZMTP_GREETING], r[UCR_ZMTP_READY_MAX];
	const uint8_t *name, *data, *type;
	size_t namelen, datalen, typelen, n, i;
	uint8_t flags;
	uint64_t size;

	ucr_zmtp_greeting(g);
	for (i = 0; i <= sizeof(g); i++)
		cr_assert_eq(ucr_zmtp_greeting_check(g, i), 0);
	n = ucr_zmtp_ready(r, "DEALER");
	cr_assert_leq(n, sizeof(r));
	cr_assert_eq(ucr_zmtp_head_parse(r, 1, &flags, &size), 0);
	cr_assert_eq(ucr_zmtp_head_parse(r, 2, &flags, &size), 1);
	cr_assert_eq(flags, UCR_ZMTP_CMD);
	cr_assert_eq(size, n - 2);
	cr_assert_eq(ucr_zmtp_command(r + 2, size, &name, &namelen, &data,
			 &datalen),
	    0);
	cr_assert(ucr_zmtp_is(name, namelen, "READY"));
	cr_assert_eq(ucr_zmtp_ready_type(data, datalen, &type, &typelen), 0);
	cr_assert(ucr_zmtp_is(type, typelen, "DEALER"));
	/* the long form from 256 bytes on */
	cr_assert_eq(ucr_zmtp_head(r, 0, 255), 2);
	cr_assert_eq(ucr_zmtp_head(r, UCR_ZMTP_MORE, 256), 9);
	cr_assert_eq(ucr_zmtp_head_parse(r, 8, &flags, &size), 0);
	cr_assert_eq(ucr_zmtp_head_parse(r, 9, &flags, &size), 1);
	cr_assert_eq(flags, UCR_ZMTP_MORE | UCR_ZMTP_LONG);
	cr_assert_eq(size, 256);
}

/* ------------------------------------------------- the server in process */

#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int
echo(void *ctx, const uint8_t *req, size_t len, uint8_t **out, size_t *outlen)
{
	(void)ctx;
	if ((*out = malloc(len + 1)) == NULL)
		return -1;
	if (req != NULL && len > 0)
		memcpy(*out, req, len);
	*outlen = len;
	return 0;
}

static long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Run the server's poll loop for ms milliseconds. */
static void
pump(struct ucr_ctlsrv *s, int ms)
{
	struct pollfd p[UCR_CTLSRV_NPOLL];
	long end = mono_ms() + ms;
	int n;

	while (mono_ms() < end) {
		n = ucr_ctlsrv_pollfds(s, p);
		cr_assert_geq(poll(p, (nfds_t)n, 5), 0);
		ucr_ctlsrv_dispatch(s, p, n);
	}
}

static int
dial(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Our greeting and READY (REQ), as ucr sends them. */
static void
hello(int fd)
{
	uint8_t b[UCR_ZMTP_GREETING + UCR_ZMTP_READY_MAX];
	size_t n;

	ucr_zmtp_greeting(b);
	n = UCR_ZMTP_GREETING + ucr_zmtp_ready(b + UCR_ZMTP_GREETING, "REQ");
	cr_assert_eq(write(fd, b, n), (ssize_t)n);
}

/* 1 if the server closed fd (all it sent read, then end of file). */
static int
closed(int fd)
{
	uint8_t b[4096];
	ssize_t n;

	while ((n = recv(fd, b, sizeof(b), MSG_DONTWAIT)) > 0)
		;
	return n == 0;
}

static struct ucr_ctlsrv *
server(char *path, size_t len)
{
	struct ucr_ctlsrv *s;
	char why[256];

	snprintf(path, len, "/tmp/ucr-ctlsrv-%d.sock", (int)getpid());
	cr_assert_eq(ucr_ctlsrv_open(&s, path, MAX, echo, NULL, why,
			 sizeof(why)),
	    0, "%s", why);
	return s;
}

Test(ctlsrv_server, idle_connection_is_closed)
{
	struct ucr_ctlsrv *s;
	char path[108];
	int fd, quiet;

	s = server(path, sizeof(path));
	ucr_ctlsrv_set_idle_ms(s, 300);
	fd = dial(path);
	hello(fd);
	quiet = dial(path); /* no handshake: the handshake's limit */
	pump(s, 100);
	cr_assert_eq(ucr_ctlsrv_nconn(s), 2);
	cr_assert(!closed(fd));
	pump(s, 400);
	cr_assert(closed(fd), "an idle connection stays open");
	cr_assert_eq(ucr_ctlsrv_counts(s)->idle, 1);
	cr_assert_eq(ucr_ctlsrv_nconn(s), 1, "the one in its handshake");
	cr_assert(!closed(quiet));
	close(fd);
	close(quiet);
	ucr_ctlsrv_close(s);
}

Test(ctlsrv_server, a_new_connection_takes_the_place_of_the_longest_idle)
{
	struct ucr_ctlsrv *s;
	char path[108];
	int fds[UCR_CTLSRV_MAXCONN], fd, i;

	s = server(path, sizeof(path));
	for (i = 0; i < UCR_CTLSRV_MAXCONN; i++) {
		fds[i] = dial(path);
		hello(fds[i]);
		pump(s, 5); /* each idle from its own moment */
	}
	pump(s, 50);
	cr_assert_eq(ucr_ctlsrv_nconn(s), UCR_CTLSRV_MAXCONN);
	fd = dial(path);
	hello(fd);
	pump(s, 50);
	cr_assert_eq(ucr_ctlsrv_nconn(s), UCR_CTLSRV_MAXCONN);
	cr_assert_eq(ucr_ctlsrv_counts(s)->evicted, 1);
	cr_assert_eq(ucr_ctlsrv_counts(s)->full, 0);
	cr_assert(closed(fds[0]), "the longest idle is still open");
	for (i = 1; i < UCR_CTLSRV_MAXCONN; i++)
		cr_assert(!closed(fds[i]), "connection %d closed", i);
	cr_assert(!closed(fd), "the new one was closed");
	for (i = 0; i < UCR_CTLSRV_MAXCONN; i++)
		close(fds[i]);
	close(fd);
	ucr_ctlsrv_close(s);
}

Test(ctlsrv_server, full_of_handshakes_refuses_a_new_one)
{
	struct ucr_ctlsrv *s;
	char path[108];
	int fds[UCR_CTLSRV_MAXCONN], fd, i;

	s = server(path, sizeof(path));
	for (i = 0; i < UCR_CTLSRV_MAXCONN; i++)
		fds[i] = dial(path); /* silent: none idle, none taken */
	pump(s, 50);
	fd = dial(path);
	pump(s, 50);
	cr_assert(closed(fd), "a 33rd beside 32 handshakes is open");
	cr_assert_eq(ucr_ctlsrv_counts(s)->full, 1);
	cr_assert_eq(ucr_ctlsrv_counts(s)->evicted, 0);
	for (i = 0; i < UCR_CTLSRV_MAXCONN; i++) {
		cr_assert(!closed(fds[i]));
		close(fds[i]);
	}
	close(fd);
	ucr_ctlsrv_close(s);
}

Test(ctlsrv_server, a_request_that_comes_as_the_idle_limit_runs_out_is_answered)
{
	struct pollfd p[UCR_CTLSRV_NPOLL];
	struct ucr_ctlsrv *s;
	struct stream req = {0};
	uint8_t buf[4096];
	char path[108];
	ssize_t got = 0, r;
	long t0;
	int fd, n;

	s = server(path, sizeof(path));
	ucr_ctlsrv_set_idle_ms(s, 200);
	fd = dial(path);
	hello(fd);
	pump(s, 50);
	(void)closed(fd); /* the server's greeting and READY, read */
	usleep(250000); /* the limit has run out, unseen */
	/* the loop polled (nothing came), then the request comes */
	n = ucr_ctlsrv_pollfds(s, p);
	cr_assert_eq(poll(p, (nfds_t)n, 0), 0);
	put_req(&req, (const uint8_t *)"ping", 4);
	cr_assert_eq(write(fd, req.b, req.len), (ssize_t)req.len);
	usleep(20000);
	ucr_ctlsrv_dispatch(s, p, n); /* its deadline passed, bytes wait */
	cr_assert_eq(ucr_ctlsrv_nconn(s), 1, "closed with a request unread");
	/* the next passes read and answer it: delimiter, frame, "ping" */
	t0 = mono_ms();
	while (got < 8 && mono_ms() - t0 < 2000) {
		pump(s, 10);
		if ((r = recv(fd, buf + got, sizeof(buf) - (size_t)got,
			 MSG_DONTWAIT)) > 0)
			got += r;
	}
	cr_assert_eq(got, 8, "no reply");
	cr_assert(memcmp(buf + 4, "ping", 4) == 0);
	cr_assert_eq(ucr_ctlsrv_counts(s)->requests, 1);
	cr_assert_eq(ucr_ctlsrv_counts(s)->idle, 0);
	free(req.b);
	close(fd);
	ucr_ctlsrv_close(s);
}
