/*
 * test_ctlsrv.c: a real ucr-node's control socket (common/ctlsrv.c), served
 * in the daemon's own loop without libzmq, against real sockets.
 *
 * - the clients: libzmq's ZMQ_REQ (one socket, many requests, the frame
 *   encodings, a multi-part request), ucr's own (cli/zmtp.c), a client
 *   that sends one byte at a time, a PING between requests;
 * - each refusal ends as documented (docs/security.md, the control
 *   socket's budgets): a bad greeting, a mechanism other than NULL, a
 *   Socket-Type other than REQ/DEALER, a request or command frame over its
 *   limit: closed at once; the 33rd connection: closed at once; a
 *   handshake not done in time: closed after UCR_CTLSRV_HANDSHAKE_MS; a
 *   client that never reads its replies: closed after
 *   UCR_CTLSRV_STALL_MS. Each is counted ("stats": "control"), and the
 *   daemon then still answers ucr;
 * - the socket file has mode 0660 and is gone after a clean stop.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <zmq.h>

#include "ctlsrv.h"
#include "error.h"
#include "nodefix.h"
#include "testutil.h"
#include "ucr.pb-c.h"
#include "zmtp.h"

static void
setup(void)
{
	nf_setup();
	nf_conf(nf.conf, "node.key", "store", "ipc://node.sock");
}

TestSuite(ctlsrv, .init = setup, .fini = nf_teardown, .timeout = 90);

/* A plain connection to the node's control socket. */
static int
raw_connect(void)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	cr_assert_lt(strlen(nf.sock), sizeof(sa.sun_path));
	memcpy(sa.sun_path, nf.sock, strlen(nf.sock) + 1);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "%s",
	    strerror(errno));
	return fd;
}

static void
send_all(int fd, const void *p, size_t n)
{
	cr_assert_eq(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Read the server's greeting and READY (REP). */
static void
read_hello(int fd)
{
	uint8_t want[UCR_ZMTP_GREETING + UCR_ZMTP_READY_MAX], got[sizeof(want)];
	size_t n, have = 0;
	ssize_t r;

	ucr_zmtp_greeting(want);
	n = UCR_ZMTP_GREETING + ucr_zmtp_ready(want + UCR_ZMTP_GREETING, "REP");
	while (have < n) {
		r = read(fd, got + have, n - have);
		cr_assert_gt(r, 0);
		have += (size_t)r;
	}
	cr_assert_eq(memcmp(got, want, n), 0);
}

/*
 * Wait until the server closes fd (what it sends is read and dropped):
 * the milliseconds it took, or -1 if it is still open after ms.
 */
static long
wait_closed(int fd, int ms)
{
	long t0 = now_ms(), left;
	struct pollfd p = {fd, POLLIN, 0};
	uint8_t buf[65536];
	ssize_t r;

	for (;;) {
		left = t0 + ms - now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) == 0)
			return -1;
		r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return now_ms() - t0;
	}
}

/* The node's "stats" query, parsed. */
static json_t *
stats(void)
{
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__Query q = UCR__QUERY__INIT;
	Ucr__Reply *rep;
	json_t *o;

	q.what = "stats";
	req.body_case = UCR__REQUEST__BODY_QUERY;
	req.query = &q;
	cr_assert_eq(nf_request(&rep, &req, 5000), 0);
	cr_assert_eq(rep->code, 0);
	o = json_loads(rep->json, 0, NULL);
	cr_assert_not_null(o);
	ucr__reply__free_unpacked(rep, NULL);
	return o;
}

/* One of the control socket's counters. */
static long long
counter(const char *name)
{
	json_t *o = stats();
	json_t *c = json_object_get(json_object_get(o, "control"), name);
	long long v;

	cr_assert(json_is_integer(c), "no control.%s", name);
	v = json_integer_value(c);
	json_decref(o);
	return v;
}

/* The daemon still answers ucr (its own client) and libzmq. */
static void
still_answers(void)
{
	char *out = nf_ok("status --json");

	cr_assert(strstr(out, "\"records\"") != NULL, "%s", out);
	free(out);
	cr_assert(nf_serving(5000));
}

/* A packed "stats" request. */
static size_t
stats_request(uint8_t *buf, size_t len)
{
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__Query q = UCR__QUERY__INIT;

	q.what = "stats";
	req.body_case = UCR__REQUEST__BODY_QUERY;
	req.query = &q;
	cr_assert_leq(ucr__request__get_packed_size(&req), len);
	return ucr__request__pack(&req, buf);
}

/* The client's side of a stream: hello, then the request framed. */
static size_t
framed(uint8_t *out, const uint8_t *body, size_t n)
{
	size_t k;

	out[0] = UCR_ZMTP_MORE;
	out[1] = 0;
	k = 2 + ucr_zmtp_head(out + 2, 0, n);
	memcpy(out + k, body, n);
	return k + n;
}

/* Read one reply on fd (after the server's hello): its body's code. */
static int
read_reply_code(int fd)
{
	struct cli_zmtp_in in;
	uint8_t b;
	Ucr__Reply *rep;
	int code;

	/* the client parser, given our hello first; then one byte at a time */
	cli_zmtp_in_init(&in, CLI_ZMTP_MAXREPLY);
	{
		uint8_t g[UCR_ZMTP_GREETING + UCR_ZMTP_READY_MAX];
		size_t n = UCR_ZMTP_GREETING +
		    ucr_zmtp_ready(g + UCR_ZMTP_GREETING, "REP");

		ucr_zmtp_greeting(g);
		cli_zmtp_feed(&in, g, n);
	}
	while (in.state != CLI_ZMTP_DONE) {
		cr_assert_eq(read(fd, &b, 1), 1);
		cli_zmtp_feed(&in, &b, 1);
		cr_assert_neq(in.state, CLI_ZMTP_FAILED, "%s", in.why);
	}
	rep = ucr__reply__unpack(NULL, in.bodylen, in.body);
	cr_assert_not_null(rep);
	code = rep->code;
	ucr__reply__free_unpacked(rep, NULL);
	cli_zmtp_in_free(&in);
	return code;
}

Test(ctlsrv, libzmq_req_many_requests_on_one_socket)
{
	void *ctx, *s;
	uint8_t req[64], *junk;
	size_t n = stats_request(req, sizeof(req)),
	       sizes[] = {0, 1, 255, 256, 300000};
	int linger = 0, i;
	long long before;
	zmq_msg_t m;
	Ucr__Reply *rep;

	nf_start("");
	before = counter("requests"); /* then one more: that query */
	ctx = zmq_ctx_new();
	s = zmq_socket(ctx, ZMQ_REQ);
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	i = 5000;
	zmq_setsockopt(s, ZMQ_RCVTIMEO, &i, sizeof(i));
	cr_assert_eq(zmq_connect(s, nf.ctl), 0);
	junk = calloc(1, 300000);
	for (i = 0; i < 25; i++) {
		int j = i % 6;

		if (j < 5) /* junk of every frame encoding: an error reply */
			cr_assert_geq(zmq_send(s, junk, sizes[j], 0), 0);
		else
			cr_assert_geq(zmq_send(s, req, n, 0), 0);
		zmq_msg_init(&m);
		cr_assert_geq(zmq_msg_recv(&m, s, 0), 0, "request %d: %s", i,
		    zmq_strerror(errno));
		rep = ucr__reply__unpack(NULL, zmq_msg_size(&m),
		    zmq_msg_data(&m));
		cr_assert_not_null(rep);
		if (j == 5)
			cr_assert_eq(rep->code, 0, "%s", rep->message);
		else if (j > 0)
			cr_assert_neq(rep->code, 0);
		ucr__reply__free_unpacked(rep, NULL);
		zmq_msg_close(&m);
	}
	/* a multi-part request: read through, answered with an error */
	cr_assert_geq(zmq_send(s, req, n, ZMQ_SNDMORE), 0);
	cr_assert_geq(zmq_send(s, req, n, 0), 0);
	zmq_msg_init(&m);
	cr_assert_geq(zmq_msg_recv(&m, s, 0), 0);
	rep = ucr__reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
	cr_assert_not_null(rep);
	cr_assert_eq(rep->code, UCR_EPROTO);
	ucr__reply__free_unpacked(rep, NULL);
	zmq_msg_close(&m);
	/* and the same socket goes on */
	cr_assert_geq(zmq_send(s, req, n, 0), 0);
	zmq_msg_init(&m);
	cr_assert_geq(zmq_msg_recv(&m, s, 0), 0);
	zmq_msg_close(&m);
	free(junk);
	zmq_close(s);
	zmq_ctx_term(ctx);
	cr_assert_eq(counter("requests"), before + 1 + 27);
}

Test(ctlsrv, ucr_client_dribble_and_ping)
{
	uint8_t req[64], buf[512], *reply;
	size_t n = stats_request(req, sizeof(req)), replylen, k, i;
	char why[256];
	int sent, fd;

	nf_start("");
	/* cli/zmtp.c, a connection per request as ucr makes them */
	for (i = 0; i < 20; i++) {
		cr_assert_eq(cli_zmtp_request(nf.sock, req, n, &reply,
				 &replylen, 5000, &sent, why, sizeof(why)),
		    0, "%s", why);
		free(reply);
	}
	/* one byte at a time */
	fd = raw_connect();
	k = cli_zmtp_hello(buf);
	k += framed(buf + k, req, n);
	for (i = 0; i < k; i++) {
		send_all(fd, buf + i, 1);
		usleep(500);
	}
	read_hello(fd);
	cr_assert_eq(read_reply_code(fd), 0);
	/* a PING (ZMTP 3.1) between requests is skipped; two requests sent
	   together are answered in turn */
	k = 0;
	buf[k++] = UCR_ZMTP_CMD;
	buf[k++] = 7;
	memcpy(buf + k, "\x04PING\0\0", 7);
	k += 7;
	k += framed(buf + k, req, n);
	k += framed(buf + k, req, n);
	send_all(fd, buf, k);
	cr_assert_eq(read_reply_code(fd), 0);
	cr_assert_eq(read_reply_code(fd), 0);
	close(fd);
	still_answers();
}

Test(ctlsrv, refusals_close_at_once_and_are_counted)
{
	static const struct {
		const char *what, *counter;
		int ready; /* after ucr's hello (READY REQ) */
		uint8_t b[40];
		size_t n;
	} bad[] = {
	    {"HTTP", "greeting", 0, "GET / HTTP/1.0\r\n\r\n", 18},
	    {"ZMTP 2", "greeting", 0, "\xff\0\0\0\0\0\0\0\x01\x7f\x01", 11},
	    {"CURVE", "greeting", 0,
		"\xff\0\0\0\0\0\0\0\x01\x7f\x03\x00"
		"CURVE",
		17},
	    {"PUB", "socket_type", 0, "", 0},
	    {"a request over 64 MiB", "too_big", 1,
		"\x01\x00\x02\x00\x00\x00\x00\x04\x00\x00\x01", 11},
	    {"a command over 64 KiB", "too_big", 1,
		"\x06\x00\x00\x00\x00\x00\x01\x00\x01", 9},
	    {"no delimiter", "protocol", 1, "\x00\x01x", 3},
	};
	uint8_t hello[CLI_ZMTP_HELLO], g[UCR_ZMTP_GREETING + 32];
	size_t i, k;
	long ms;
	int fd;

	nf_start("");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long long before = counter(bad[i].counter);

		fd = raw_connect();
		if (strcmp(bad[i].what, "PUB") == 0) {
			ucr_zmtp_greeting(g);
			k = UCR_ZMTP_GREETING +
			    ucr_zmtp_ready(g + UCR_ZMTP_GREETING, "PUB");
			send_all(fd, g, k);
		} else {
			if (bad[i].ready)
				send_all(fd, hello, cli_zmtp_hello(hello));
			send_all(fd, bad[i].b, bad[i].n);
		}
		ms = wait_closed(fd, 2000);
		cr_assert_geq(ms, 0, "%s: still open", bad[i].what);
		close(fd);
		cr_assert_eq(counter(bad[i].counter), before + 1, "%s",
		    bad[i].what);
		still_answers();
	}
}

Test(ctlsrv, too_many_connections)
{
	uint8_t hello[CLI_ZMTP_HELLO];
	size_t hl = cli_zmtp_hello(hello);
	int fds[UCR_CTLSRV_MAXCONN], fd, i;

	nf_start("");
	usleep(200000); /* nf_start's own connection is closed by now */
	/* 32 in their handshake: none idle, so a 33rd is closed at once */
	for (i = 0; i < UCR_CTLSRV_MAXCONN; i++)
		fds[i] = raw_connect();
	usleep(100000);
	fd = raw_connect();
	cr_assert_geq(wait_closed(fd, 2000), 0, "the 33rd is still open");
	close(fd);
	/* the 32 finish their handshakes and stay, idle */
	for (i = 0; i < UCR_CTLSRV_MAXCONN; i++) {
		send_all(fds[i], hello, hl);
		read_hello(fds[i]);
	}
	cr_assert_eq(wait_closed(fds[0], 500), -1);
	/* now a new one takes the place of the one idle longest: ucr is
	   served although 32 idle connections were open */
	fd = raw_connect();
	send_all(fd, hello, hl);
	read_hello(fd);
	cr_assert_eq(wait_closed(fd, 300), -1, "the new one was closed");
	close(fd);
	cr_assert_geq(wait_closed(fds[0], 2000), 0, "the longest idle stays");
	for (i = 0; i < UCR_CTLSRV_MAXCONN; i++)
		close(fds[i]);
	usleep(200000);
	cr_assert_eq(counter("full"), 1);
	cr_assert_eq(counter("evicted"), 1);
	still_answers();
}

Test(ctlsrv, slow_handshake_is_closed)
{
	int fd1, fd2;
	long ms1, ms2;

	nf_start("");
	fd1 = raw_connect(); /* says nothing */
	fd2 = raw_connect(); /* half a greeting */
	send_all(fd2, "\xff\0\0\0\0\0\0\0\x01\x7f\x03", 11);
	ms1 = wait_closed(fd1, UCR_CTLSRV_HANDSHAKE_MS + 3000);
	ms2 = wait_closed(fd2, 3000);
	cr_assert_geq(ms1, UCR_CTLSRV_HANDSHAKE_MS - 500, "%ld ms", ms1);
	cr_assert_geq(ms2, 0);
	close(fd1);
	close(fd2);
	cr_assert_eq(counter("slow_handshake"), 2);
	still_answers();
}

Test(ctlsrv, client_that_never_reads_is_closed)
{
	uint8_t req[64], one[128], buf[65536];
	size_t n = stats_request(req, sizeof(req)), k, off = 0, len = 0;
	struct pollfd p;
	long t0, stuck = 0;
	ssize_t w;
	int fd;

	nf_start("");
	fd = raw_connect();
	len = cli_zmtp_hello(buf);
	send_all(fd, buf, len);
	read_hello(fd);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	k = framed(one, req, n);
	/* requests, never a read: the replies fill the socket, then the
	   server stops reading, then our sends stop */
	for (len = 0; len + k <= sizeof(buf); len += k)
		memcpy(buf + len, one, k);
	t0 = now_ms();
	while (now_ms() - t0 < 20000) {
		w = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (w > 0) {
			off = (off + (size_t)w) % k; /* whole requests only */
			stuck = 0;
			continue;
		}
		cr_assert(errno == EAGAIN, "%s", strerror(errno));
		if (stuck == 0)
			stuck = now_ms();
		else if (now_ms() - stuck > 500)
			break;
		usleep(10000);
	}
	cr_assert_neq(stuck, 0, "the server read without end");
	/* closed after UCR_CTLSRV_STALL_MS without progress: a hang-up */
	p.fd = fd;
	p.events = 0;
	cr_assert_eq(poll(&p, 1, UCR_CTLSRV_STALL_MS + 5000), 1);
	cr_assert(p.revents & (POLLHUP | POLLERR));
	cr_assert_geq(now_ms() - stuck, UCR_CTLSRV_STALL_MS - 1000);
	close(fd);
	cr_assert_eq(counter("stalled_reply"), 1);
	still_answers();
}

Test(ctlsrv, socket_file_mode_and_clean_stop)
{
	struct stat st;

	/* a stale file where the socket goes is replaced */
	cr_assert_eq(tu_write(nf.sock, "stale"), 0);
	nf_start("");
	cr_assert_eq(stat(nf.sock, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0660, "%o", st.st_mode & 0777);
	cr_assert_eq(nf_stop(SIGTERM), 0);
	cr_assert_neq(stat(nf.sock, &st), 0, "the socket file is left");
}
