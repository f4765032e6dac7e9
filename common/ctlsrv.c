/*
 * ctlsrv.c: the daemons' control socket without libzmq (ctlsrv.h).
 *
 * What is spoken (docs/protocol.md, "The control socket"):
 *   ours:   at accept, greeting (3.0, NULL) and READY (Socket-Type REP);
 *           a reply: 01 00 (the empty delimiter, MORE), then the body as
 *           one frame
 *   theirs: a greeting of version 3 or later with the NULL mechanism;
 *           READY with Socket-Type REQ or DEALER (other properties are
 *           skipped); then requests, each an empty delimiter frame with
 *           MORE and one body frame without; commands after READY
 *           (PING of ZMTP 3.1, ...) are skipped.
 * Anything else closes the connection, counted and logged.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctlsrv.h"
#include "error.h"
#include "log.h"

/* ------------------------------------------------------------ the parser */

static int fault(struct ucr_ctlsrv_in *in, int f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Stop with a fault and its reason; returns -1. */
static int
fault(struct ucr_ctlsrv_in *in, int f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(in->why, sizeof(in->why), fmt, ap);
	va_end(ap);
	in->fault = f;
	in->state = UCR_CTLSRV_S_FAILED;
	return -1;
}

void
ucr_ctlsrv_in_init(struct ucr_ctlsrv_in *in, uint64_t max)
{
	memset(in, 0, sizeof(*in));
	ucr_zmtp_rd_init(&in->rd);
	in->state = UCR_CTLSRV_S_READ;
	in->max = max;
}

void
ucr_ctlsrv_in_free(struct ucr_ctlsrv_in *in)
{
	ucr_zmtp_rd_free(&in->rd);
	free(in->body);
	in->body = NULL;
}

void
ucr_ctlsrv_in_next(struct ucr_ctlsrv_in *in)
{
	free(in->body);
	in->body = NULL;
	in->bodylen = 0;
	in->delim = 0;
	in->multi = 0;
	in->state = UCR_CTLSRV_S_READ;
	ucr_zmtp_rd_resume(&in->rd);
}

/* A command: READY first, anything after it skipped. */
static int
in_command(void *ctx, const uint8_t *name, size_t namelen, const uint8_t *data,
    size_t datalen)
{
	struct ucr_ctlsrv_in *in = ctx;
	const uint8_t *type;
	size_t typelen;
	int rc;

	if (in->ready)
		return 0; /* PING, or a command of a later version: skipped */
	if (!ucr_zmtp_is(name, namelen, "READY"))
		return fault(in, UCR_CTLSRV_F_PROTOCOL,
		    "a command before READY");
	rc = ucr_zmtp_ready_type(data, datalen, &type, &typelen);
	if (rc < 0)
		return fault(in, UCR_CTLSRV_F_PROTOCOL, "a malformed READY");
	if (rc > 0)
		return fault(in, UCR_CTLSRV_F_SOCKTYPE,
		    "READY without Socket-Type");
	if (!ucr_zmtp_is(type, typelen, "REQ") &&
	    !ucr_zmtp_is(type, typelen, "DEALER"))
		/* the peer's bytes: only printable in the log (ctl_refuse) */
		return fault(in, UCR_CTLSRV_F_SOCKTYPE,
		    "Socket-Type %.*s, not REQ or DEALER",
		    (int)(typelen < 16 ? typelen : 16), (const char *)type);
	in->ready = 1;
	return 0;
}

/* A message frame's header: the delimiter, or the request's body. */
static int
in_head(void *ctx, uint8_t flags, uint64_t size, uint8_t **dst)
{
	struct ucr_ctlsrv_in *in = ctx;

	if (!in->ready)
		return fault(in, UCR_CTLSRV_F_PROTOCOL,
		    "a message before READY");
	if (!in->delim) {
		if (size != 0 || !(flags & UCR_ZMTP_MORE))
			return fault(in, UCR_CTLSRV_F_PROTOCOL,
			    "a request without the empty delimiter frame");
		return 0;
	}
	if (size > in->max)
		return fault(in, UCR_CTLSRV_F_TOOBIG,
		    "a request of %llu bytes, over the limit of %llu",
		    (unsigned long long)size, (unsigned long long)in->max);
	if ((flags & UCR_ZMTP_MORE) || in->multi) {
		/* more than one body frame: read through, answered with an
		 * error once its last frame is in */
		in->multi = 1;
		return 0;
	}
	if ((in->body = malloc(size ? size : 1)) == NULL)
		return fault(in, UCR_CTLSRV_F_NOMEM, "out of memory");
	*dst = in->body;
	return 0;
}

/* A message frame is read: the delimiter, a frame skipped, or the body. */
static int
in_message(void *ctx, uint8_t flags, uint64_t size)
{
	struct ucr_ctlsrv_in *in = ctx;

	if (!in->delim) {
		in->delim = 1;
		return 0;
	}
	if (flags & UCR_ZMTP_MORE)
		return 0; /* a multi-frame request goes on */
	in->bodylen = in->multi ? 0 : size;
	in->state = UCR_CTLSRV_S_REQ;
	return 1;
}

static const struct ucr_zmtp_ops in_ops = {in_head, in_message, in_command};

size_t
ucr_ctlsrv_feed(struct ucr_ctlsrv_in *in, const uint8_t *buf, size_t len)
{
	size_t used;

	if (in->state != UCR_CTLSRV_S_READ)
		return 0;
	used = ucr_zmtp_rd_feed(&in->rd, buf, len, &in_ops, in);
	if (in->rd.state != UCR_ZMTP_RD_STOPPED ||
	    in->state == UCR_CTLSRV_S_FAILED)
		return used;
	switch (in->rd.err) {
	case UCR_ZMTP_G_SIGNATURE:
		fault(in, UCR_CTLSRV_F_GREETING, "not a ZMTP greeting");
		break;
	case UCR_ZMTP_G_VERSION:
		fault(in, UCR_CTLSRV_F_GREETING, "ZMTP version %u",
		    in->rd.hdr[10]);
		break;
	case UCR_ZMTP_G_MECHANISM:
		fault(in, UCR_CTLSRV_F_GREETING, "a mechanism other than NULL");
		break;
	case UCR_ZMTP_E_FLAGS:
		fault(in, UCR_CTLSRV_F_PROTOCOL,
		    "a frame with the flags 0x%02x", in->rd.hdr[0]);
		break;
	case UCR_ZMTP_E_CMDSIZE:
		if (in->rd.size == 0)
			fault(in, UCR_CTLSRV_F_PROTOCOL, "an empty command");
		else
			fault(in, UCR_CTLSRV_F_TOOBIG,
			    "a command frame of %llu bytes",
			    (unsigned long long)in->rd.size);
		break;
	case UCR_ZMTP_E_COMMAND:
		fault(in, UCR_CTLSRV_F_PROTOCOL, "a malformed command");
		break;
	default:
		fault(in, UCR_CTLSRV_F_NOMEM, "out of memory");
		break;
	}
	return used;
}

/* ------------------------------------------------------------ the server */

struct ctlconn {
	int fd;
	struct ucr_ctlsrv_in in;
	uint8_t ibuf[16384]; /* read, not yet parsed: ipos..ilen */
	size_t ipos, ilen;
	/* to write: head[headoff..headlen), then out[outoff..outlen); head
	 * holds our greeting and READY, and a reply's two frame headers */
	uint8_t head[UCR_ZMTP_GREETING + UCR_ZMTP_READY_MAX + 2 +
	    UCR_ZMTP_HEAD_MAX];
	size_t headoff, headlen;
	uint8_t *out;
	size_t outoff, outlen;
	int replying;  /* a reply is being written: nothing is read */
	long deadline; /* ms: the handshake's, the reply's, or (idle) the
			* next request's */
	long idle_at;  /* ms: since when idle (no request, no reply) */
};

struct ucr_ctlsrv {
	int lfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uint64_t max;
	ucr_ctlsrv_fn fn;
	void (*after)(void *ctx);
	void *ctx;
	long idle_ms; /* UCR_CTLSRV_IDLE_MS unless set */
	struct ctlconn *conn[UCR_CTLSRV_MAXCONN];
	int nconn;
	struct ucr_ctlsrv_counts counts;
};

static long
ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A refusal: counted and logged, rate-limited per kind. */
static void
ctl_refuse(struct ucr_ctlsrv *s, const char *kind, uint64_t *counter,
    const char *why)
{
	char key[48], clean[128];
	size_t i;

	(*counter)++;
	/* the peer's bytes may be in why: printable ASCII only */
	for (i = 0; why[i] != '\0' && i < sizeof(clean) - 1; i++)
		clean[i] = why[i] >= 0x20 && why[i] < 0x7f ? why[i] : '?';
	clean[i] = '\0';
	snprintf(key, sizeof(key), "control %s", kind);
	log_warnx_limited(key, "control socket %s: connection closed: %s",
	    s->path, clean);
}

static void
conn_close(struct ucr_ctlsrv *s, int i)
{
	struct ctlconn *c = s->conn[i];

	close(c->fd);
	ucr_ctlsrv_in_free(&c->in);
	free(c->out);
	free(c);
	s->conn[i] = s->conn[--s->nconn];
	s->conn[s->nconn] = NULL;
}

/* Write what is pending: 0, or -1 (the peer is gone). */
static int
conn_write(struct ctlconn *c)
{
	struct iovec iov[2];
	struct msghdr mh;
	ssize_t n;
	size_t k, niov = 0;

	if (c->headoff < c->headlen) {
		iov[niov].iov_base = c->head + c->headoff;
		iov[niov++].iov_len = c->headlen - c->headoff;
	}
	if (c->outoff < c->outlen) {
		iov[niov].iov_base = c->out + c->outoff;
		iov[niov++].iov_len = c->outlen - c->outoff;
	}
	if (niov == 0)
		return 0;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = niov;
	n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	k = (size_t)n;
	if (c->headoff < c->headlen) {
		size_t t = c->headlen - c->headoff;

		t = t < k ? t : k;
		c->headoff += t;
		k -= t;
	}
	c->outoff += k;
	return 0;
}

static int
conn_pending(const struct ctlconn *c)
{
	return c->headoff < c->headlen || c->outoff < c->outlen;
}

/* Between requests: the next must come whole within the idle limit. */
static void
conn_idle(const struct ucr_ctlsrv *s, struct ctlconn *c)
{
	c->idle_at = ctl_now_ms();
	c->deadline = c->idle_at + s->idle_ms;
}

/* 1 if the peer sent bytes not read yet. */
static int
conn_unread(const struct ctlconn *c)
{
	int n = 0;

	return ioctl(c->fd, FIONREAD, &n) == 0 && n > 0;
}

/* Handshake done, nothing of a request read, no reply pending. */
static int
conn_is_idle(const struct ctlconn *c)
{
	return c->in.ready && !c->replying && !conn_pending(c) &&
	    c->ipos == c->ilen && !c->in.delim &&
	    c->in.rd.state == UCR_ZMTP_RD_HEAD && c->in.rd.have == 0;
}

/*
 * Parse what is read and answer what is complete, while nothing is being
 * written back: 0, or -1 to close (counted).
 */
static int
conn_work(struct ucr_ctlsrv *s, struct ctlconn *c)
{
	static const struct {
		const char *kind;
		size_t off;
	} kinds[] = {
	    [UCR_CTLSRV_F_GREETING] = {"greeting",
		offsetof(struct ucr_ctlsrv_counts, greeting)},
	    [UCR_CTLSRV_F_SOCKTYPE] = {"socket-type",
		offsetof(struct ucr_ctlsrv_counts, socktype)},
	    [UCR_CTLSRV_F_PROTOCOL] = {"protocol",
		offsetof(struct ucr_ctlsrv_counts, protocol)},
	    [UCR_CTLSRV_F_TOOBIG] = {"too-big",
		offsetof(struct ucr_ctlsrv_counts, toobig)},
	    [UCR_CTLSRV_F_NOMEM] = {"protocol",
		offsetof(struct ucr_ctlsrv_counts, protocol)},
	};
	uint8_t *out;
	size_t outlen, rest;
	int wasready, rc;

	while (!c->replying) {
		wasready = c->in.ready;
		c->ipos += ucr_ctlsrv_feed(&c->in, c->ibuf + c->ipos,
		    c->ilen - c->ipos);
		if (!wasready && c->in.ready)
			conn_idle(s, c); /* the handshake is done */
		if (c->in.state == UCR_CTLSRV_S_FAILED) {
			ctl_refuse(s, kinds[c->in.fault].kind,
			    (uint64_t *)((uint8_t *)&s->counts +
				kinds[c->in.fault].off),
			    c->in.why);
			return -1;
		}
		if (c->in.state != UCR_CTLSRV_S_REQ)
			return 0; /* all of ibuf taken: read more */
		out = NULL;
		outlen = 0;
		if (s->fn(s->ctx, c->in.multi ? NULL : c->in.body,
			c->in.bodylen, &out, &outlen) != 0) {
			free(out);
			return -1;
		}
		s->counts.requests++;
		free(c->in.body);
		c->in.body = NULL;
		/* after what is left of our greeting and READY, if any */
		rest = c->headlen - c->headoff;
		memmove(c->head, c->head + c->headoff, rest);
		c->head[rest] = UCR_ZMTP_MORE; /* the empty delimiter */
		c->head[rest + 1] = 0;
		c->headlen =
		    rest + 2 + ucr_zmtp_head(c->head + rest + 2, 0, outlen);
		c->headoff = 0;
		free(c->out);
		c->out = out;
		c->outlen = outlen;
		c->outoff = 0;
		rc = conn_write(c);
		if (s->after)
			s->after(s->ctx); /* the answer is out (or going) */
		if (rc != 0)
			return -1;
		if (conn_pending(c)) {
			c->replying = 1;
			c->deadline = ctl_now_ms() + UCR_CTLSRV_STALL_MS;
			return 0;
		}
		ucr_ctlsrv_in_next(&c->in);
		conn_idle(s, c);
	}
	return 0;
}

/* The connection's poll events came: 0, or -1 to close. */
static int
conn_event(struct ucr_ctlsrv *s, struct ctlconn *c, short revents)
{
	size_t before;
	ssize_t n;

	if (revents & (POLLOUT | POLLERR | POLLHUP)) {
		if (conn_pending(c)) {
			before = c->headoff + c->outoff;
			if (conn_write(c) != 0)
				return -1;
			if (c->replying && c->headoff + c->outoff != before)
				c->deadline =
				    ctl_now_ms() + UCR_CTLSRV_STALL_MS;
		}
		if (c->replying && !conn_pending(c)) {
			c->replying = 0;
			ucr_ctlsrv_in_next(&c->in);
			conn_idle(s, c);
			/* a request already read is answered now */
			if (conn_work(s, c) != 0)
				return -1;
		}
	}
	if (c->replying || !(revents & (POLLIN | POLLERR | POLLHUP)))
		return 0;
	if (c->ipos == c->ilen)
		c->ipos = c->ilen = 0;
	if (c->ipos == c->ilen && c->in.rd.state == UCR_ZMTP_RD_BODY &&
	    c->in.rd.dst != NULL) {
		/* a request body is read into its place, not via ibuf */
		n = recv(c->fd, c->in.rd.dst + c->in.rd.have,
		    c->in.rd.size - c->in.rd.have, MSG_DONTWAIT);
		if (n > 0) {
			c->in.rd.have += (size_t)n;
			ucr_ctlsrv_feed(&c->in, NULL, 0); /* done once all in */
		}
	} else {
		n = recv(c->fd, c->ibuf + c->ilen, sizeof(c->ibuf) - c->ilen,
		    MSG_DONTWAIT);
		if (n > 0)
			c->ilen += (size_t)n;
	}
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1; /* the peer closed */
	return conn_work(s, c);
}

int
ucr_ctlsrv_open(struct ucr_ctlsrv **sp, const char *path, uint64_t max,
    ucr_ctlsrv_fn fn, void *ctx, char *why, size_t whylen)
{
	struct ucr_ctlsrv *s;
	struct sockaddr_un sa;

	*sp = NULL;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(why, whylen, "control socket %s: %s", path,
		    strerror(ENAMETOOLONG));
		return UCR_EIO;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return UCR_ENOMEM;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->max = max;
	s->fn = fn;
	s->ctx = ctx;
	s->idle_ms = UCR_CTLSRV_IDLE_MS;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* A stale file from a crash is ours to remove: the store lock
	 * proves no other daemon runs here. */
	unlink(path);
	if ((s->lfd = socket(AF_UNIX,
		 SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    chmod(path, 0660) != 0 || listen(s->lfd, 64) != 0) {
		snprintf(why, whylen, "control socket %s: %s", path,
		    strerror(errno));
		if (s->lfd >= 0)
			close(s->lfd);
		free(s);
		return UCR_EIO;
	}
	*sp = s;
	return 0;
}

int
ucr_ctlsrv_pollfds(const struct ucr_ctlsrv *s, struct pollfd *p)
{
	int i, n = 0;

	p[n].fd = s->lfd;
	p[n].events = POLLIN;
	p[n++].revents = 0;
	for (i = 0; i < s->nconn; i++) {
		const struct ctlconn *c = s->conn[i];

		p[n].fd = c->fd;
		p[n].events = (short)((c->replying ? 0 : POLLIN) |
		    (conn_pending(c) ? POLLOUT : 0));
		p[n++].revents = 0;
	}
	return n;
}

static void
ctl_accept(struct ucr_ctlsrv *s)
{
	struct ctlconn *c;
	char why[64];
	int fd, k, i, old;

	/* a few at a time: the rest wait in the backlog */
	for (k = 0; k < 8; k++) {
		fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (s->nconn >= UCR_CTLSRV_MAXCONN) {
			/* the place of the one idle longest, if any */
			for (i = 0, old = -1; i < s->nconn; i++)
				if (conn_is_idle(s->conn[i]) &&
				    (old < 0 || s->conn[i]->idle_at <
						    s->conn[old]->idle_at))
					old = i;
			if (old < 0) {
				close(fd);
				snprintf(why, sizeof(why),
				    "%d connections open already", s->nconn);
				ctl_refuse(s, "full", &s->counts.full, why);
				continue;
			}
			conn_close(s, old);
			s->counts.evicted++;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		ucr_ctlsrv_in_init(&c->in, s->max);
		ucr_zmtp_greeting(c->head);
		c->headlen = UCR_ZMTP_GREETING +
		    ucr_zmtp_ready(c->head + UCR_ZMTP_GREETING, "REP");
		c->deadline = ctl_now_ms() + UCR_CTLSRV_HANDSHAKE_MS;
		s->conn[s->nconn++] = c;
		s->counts.accepted++;
		if (conn_write(c) != 0)
			conn_close(s, s->nconn - 1);
	}
}

void
ucr_ctlsrv_dispatch(struct ucr_ctlsrv *s, const struct pollfd *p, int n)
{
	char why[64];
	long now;
	int i, j;

	for (j = 1; j < n; j++) {
		if (p[j].revents == 0)
			continue;
		for (i = 0; i < s->nconn && s->conn[i]->fd != p[j].fd; i++)
			;
		if (i < s->nconn && conn_event(s, s->conn[i], p[j].revents))
			conn_close(s, i);
	}
	now = ctl_now_ms();
	for (i = 0; i < s->nconn;) {
		struct ctlconn *c = s->conn[i];

		if (c->deadline == 0 || now < c->deadline ||
		    (conn_is_idle(c) && conn_unread(c))) {
			/* an idle one with bytes waiting: a request that
			 * came as the limit ran out is read first (the next
			 * poll returns at once), then the limit applies */
			i++;
			continue;
		}
		if (c->replying) {
			snprintf(why, sizeof(why),
			    "its reply not taken in %d ms",
			    UCR_CTLSRV_STALL_MS);
			ctl_refuse(s, "stalled", &s->counts.stalled, why);
		} else if (c->in.ready) {
			s->counts.idle++; /* no request in time */
		} else {
			snprintf(why, sizeof(why), "no handshake in %d ms",
			    UCR_CTLSRV_HANDSHAKE_MS);
			ctl_refuse(s, "slow", &s->counts.slow, why);
		}
		conn_close(s, i);
	}
	/* last: a new connection may take the number of one closed above */
	if (n > 0 && p[0].fd == s->lfd && (p[0].revents & POLLIN))
		ctl_accept(s);
}

void
ucr_ctlsrv_set_idle_ms(struct ucr_ctlsrv *s, long ms)
{
	s->idle_ms = ms;
}

long
ucr_ctlsrv_timeout(const struct ucr_ctlsrv *s)
{
	long now = ctl_now_ms(), t = -1;
	int i;

	for (i = 0; i < s->nconn; i++) {
		long d = s->conn[i]->deadline;

		if (d == 0)
			continue;
		d = d > now ? d - now : 0;
		if (t < 0 || d < t)
			t = d;
	}
	return t;
}

const struct ucr_ctlsrv_counts *
ucr_ctlsrv_counts(const struct ucr_ctlsrv *s)
{
	return &s->counts;
}

int
ucr_ctlsrv_nconn(const struct ucr_ctlsrv *s)
{
	return s->nconn;
}

void
ucr_ctlsrv_close(struct ucr_ctlsrv *s)
{
	if (s == NULL)
		return;
	while (s->nconn > 0)
		conn_close(s, s->nconn - 1);
	close(s->lfd);
	unlink(s->path);
	free(s);
}
void
ucr_ctlsrv_set_after(struct ucr_ctlsrv *s, void (*after)(void *ctx))
{
	s->after = after;
}

