/*
 * test_control.c: how ucr reaches a daemon's control socket (cli/zmtp.h).
 *
 * - ucr does not link libzmq, and a control command against a real node
 *   loads none of it (the dynamic linker's own account);
 * - a server that takes a write and closes the connection without a
 *   reply: the write is asked again with the same id, and after the last
 *   try ucr exits with status 3 (the outcome unknown); a read in the same
 *   case fails at once with one line;
 * - a server that takes a write, closes, goes away and comes back half a
 *   second later: the retry waits for it and gets the answer, with the
 *   same request id.
 */
#include <criterion/criterion.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "nodefix.h"
#include "ucr.pb-c.h"
#include "testutil.h"

static void
setup(void)
{
	nf_setup();
	nf_conf(nf.conf, "node.key", "store", "ipc://node.sock");
}

TestSuite(control, .init = setup, .fini = nf_teardown, .timeout = 60);

Test(control, ucr_loads_no_libzmq)
{
	char *out = NULL, *err = NULL;
	int rc;

	cr_assert_eq(tu_run(&out, NULL, "readelf -d '%s/ucr'", UCR_BIN_DIR), 0);
	cr_assert(strstr(out, "(NEEDED)") != NULL, "%s", out);
	cr_assert(strstr(out, "libzmq") == NULL, "%s", out);
	cr_assert(strstr(out, "libstdc++") == NULL, "%s", out);
	free(out);
	/* the daemons do link it */
	cr_assert_eq(tu_run(&out, NULL, "readelf -d '%s/ucr-node'",
			 UCR_BIN_DIR),
	    0);
	cr_assert(strstr(out, "libzmq") != NULL, "%s", out);
	free(out);

	nf_start("");
	free(nf_ok(
	    "project add PR1 --title 'A region for everyone' --priority P4"));
	rc = tu_run(&out, &err, "LD_DEBUG=libs ucr -c '%s' status --json",
	    nf.conf);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert(strstr(out, "\"records\": 1") != NULL, "%s", out);
	cr_assert(tu_ld_inits(err, "/libsodium.so.23"), "%s", err);
	cr_assert(strstr(err, "libzmq.so") == NULL, "%s", err);
	free(out);
	free(err);
	/* nor with no way to find it */
	rc = tu_run(&out, &err,
	    "UCR_LIBZMQ=/nonexistent ucr -c '%s' show --json", nf.conf);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert(strstr(out, "A region for everyone") != NULL, "%s", out);
	free(out);
	free(err);
}

/* ------------------------------------- a server that never answers */

static int lfd = -1;
static int requests; /* connections that sent more than the hello */

/* A REP's greeting (ZMTP 3.0, NULL) and READY, as libzmq writes them. */
static void
rep_hello(uint8_t rep[64 + 27])
{
	memset(rep, 0, 64 + 27);
	rep[0] = 0xFF;
	rep[9] = 0x7F;
	rep[10] = 3;
	memcpy(rep + 12, "NULL", 4);
	memcpy(rep + 64, "\x04\x19\x05READY\x0bSocket-Type\0\0\0\x03REP", 27);
}

/* Every connection: the greeting and READY of a REP, the request read,
   then closed without a reply. */
static void *
taker(void *arg)
{
	uint8_t rep[64 + 27], buf[4096];
	struct pollfd p;
	size_t got;
	ssize_t n;
	int c;

	(void)arg;
	rep_hello(rep);
	while ((c = accept(lfd, NULL, NULL)) >= 0) {
		/* MSG_NOSIGNAL: ucr's probe closes at once */
		if (send(c, rep, sizeof(rep), MSG_NOSIGNAL) < 0) {
			close(c);
			continue;
		}
		/* read until 300 ms pass without a byte */
		p.fd = c;
		p.events = POLLIN;
		got = 0;
		while (
		    poll(&p, 1, 300) > 0 && (n = read(c, buf, sizeof(buf))) > 0)
			got += (size_t)n;
		if (got > 64 + 27)
			requests++;
		close(c);
	}
	return NULL;
}

Test(control, write_lost_connection_is_unknown)
{
	struct sockaddr_un sa;
	pthread_t t;
	char *out = NULL, *err = NULL;
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	cr_assert_lt(strlen(nf.sock), sizeof(sa.sun_path));
	memcpy(sa.sun_path, nf.sock, strlen(nf.sock) + 1);
	cr_assert_geq(lfd = socket(AF_UNIX, SOCK_STREAM, 0), 0);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(lfd, 8), 0);
	cr_assert_eq(pthread_create(&t, NULL, taker, NULL), 0);

	rc = tu_run(&out, &err,
	    "LANG=C LC_ALL=C ucr -c '%s' project add PR2 --title Lost --priority P4",
	    nf.conf);
	cr_assert_eq(rc, 3, "%d: %s", rc, err);
	cr_assert(strstr(err, "closed the connection before its reply") != NULL,
	    "%s", err);
	cr_assert(strstr(err, "asking ucr-node again") != NULL, "%s", err);
	cr_assert(strstr(err, "may or may not have been made") != NULL, "%s",
	    err);
	cr_assert_eq(requests, 3, "%d", requests);
	free(out);
	free(err);

	/* a read: one line, exit status 1, asked once */
	requests = 0;
	rc = tu_run(&out, &err, "LANG=C LC_ALL=C ucr -c '%s' show --json",
	    nf.conf);
	cr_assert_eq(rc, 1, "%d: %s", rc, err);
	cr_assert(strstr(err, "closed the connection before its reply") != NULL,
	    "%s", err);
	cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "%s", err);
	cr_assert_eq(requests, 1, "%d", requests);
	free(out);
	free(err);
	shutdown(lfd, SHUT_RDWR);
	close(lfd);
	pthread_join(t, NULL);
}

/* ------------------------------- a server that stops and starts again */

struct restart {
	Ucr__Request *req[2]; /* the requests as read, decoded */
};

static int
listen_at(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 8) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One connection: the hello, the REP's greeting and READY, the request
   read and decoded (ucr's framing: 01 00, then 00 LEN or 02 LEN*8). */
static Ucr__Request *
take_request(int c)
{
	uint8_t rep[64 + 27], buf[1 << 16];
	struct pollfd p = {c, POLLIN, 0};
	size_t got = 0, off, blen;
	ssize_t n;
	int i;

	rep_hello(rep);
	if (send(c, rep, sizeof(rep), MSG_NOSIGNAL) < 0)
		return NULL;
	while (poll(&p, 1, 300) > 0 &&
	    (n = read(c, buf + got, sizeof(buf) - got)) > 0)
		got += (size_t)n;
	off = 91 + 2; /* the hello, the delimiter */
	if (got < off + 2 || buf[91] != 0x01 || buf[92] != 0)
		return NULL;
	if (buf[off] == 0x00) {
		blen = buf[off + 1];
		off += 2;
	} else {
		for (blen = 0, i = 1; i <= 8; i++)
			blen = blen << 8 | buf[off + i];
		off += 9;
	}
	if (off + blen != got)
		return NULL;
	return ucr__request__unpack(NULL, blen, buf + off);
}

static void *
restarter(void *arg)
{
	struct restart *r = arg;
	Ucr__Reply rep = UCR__REPLY__INIT;
	uint8_t out[64];
	size_t len;
	int c;

	/* the first: taken, and the server gone */
	if ((c = accept(lfd, NULL, NULL)) < 0)
		return NULL;
	r->req[0] = take_request(c);
	close(c);
	close(lfd);
	unlink(nf.sock);
	usleep(500000);
	/* back: the retry answered */
	if ((lfd = listen_at(nf.sock)) < 0 || (c = accept(lfd, NULL, NULL)) < 0)
		return NULL;
	r->req[1] = take_request(c);
	rep.first_seq = rep.last_seq = 7;
	len = ucr__reply__pack(&rep, out + 4);
	out[0] = 0x01;
	out[1] = 0;
	out[2] = 0x00;
	out[3] = (uint8_t)len;
	send(c, out, 4 + len, MSG_NOSIGNAL);
	close(c);
	close(lfd);
	return NULL;
}

Test(control, write_retried_once_the_daemon_is_back)
{
	struct restart r = {{NULL, NULL}};
	pthread_t t;
	char *out = NULL, *err = NULL;
	int rc;

	cr_assert_geq(lfd = listen_at(nf.sock), 0);
	cr_assert_eq(pthread_create(&t, NULL, restarter, &r), 0);
	rc = tu_run(&out, &err,
	    "LANG=C LC_ALL=C UCR_TIMEOUT=5 ucr -c '%s' project add PR3 "
	    "--title Back --priority P4",
	    nf.conf);
	pthread_join(t, NULL);
	cr_assert_eq(rc, 0, "%d: %s", rc, err);
	cr_assert(strstr(out, "(seq 7)") != NULL, "%s", out);
	cr_assert(strstr(err, "asking ucr-node again") != NULL, "%s", err);
	cr_assert_not_null(r.req[0]);
	cr_assert_not_null(r.req[1]);
	cr_assert_eq(r.req[0]->request_id.len, 16);
	cr_assert_eq(r.req[1]->request_id.len, 16);
	cr_assert_eq(memcmp(r.req[0]->request_id.data,
			 r.req[1]->request_id.data, 16),
	    0, "the retry carries the same request id");
	ucr__request__free_unpacked(r.req[0], NULL);
	ucr__request__free_unpacked(r.req[1], NULL);
	free(out);
	free(err);
}
