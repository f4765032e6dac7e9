/*
 * zmtp.c: a ZMTP 3.0 REQ peer for the daemons' control socket (zmtp.h).
 *
 * What is spoken (RFC 23/ZMTP; docs/protocol.md, "The control socket"):
 *   ours:   greeting  FF 00*8 7F 03 00 "NULL" 00*16 00 00*31
 *           READY     04 19 05 "READY" 0B "Socket-Type" 00000003 "REQ"
 *           request   01 00 (empty delimiter, MORE), then the body as one
 *                     frame: 00 LEN (short) or 02 LEN*8 (long, > 255)
 *   theirs: a greeting of version 3.0 or later with the NULL mechanism;
 *           commands, READY first, whose Socket-Type is REP; an ERROR
 *           command ends it with its reason; other commands (PING of
 *           ZMTP 3.1, ...) are skipped; then the reply: an empty frame
 *           with MORE and one body frame without.
 * Our greeting and READY go out together; the request waits for the
 * server's READY, as libzmq takes no message before its handshake is done.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "i18n.h"
#include "zmtp.h"
#include "zmtp3.h"

#define F_MORE UCR_ZMTP_MORE

/* At most n bytes of s as printable ASCII ('?' for any other byte). */
static void
printable(char *out, size_t outlen, const uint8_t *s, size_t n)
{
	size_t i;

	if (outlen == 0)
		return;
	if (n > outlen - 1)
		n = outlen - 1;
	for (i = 0; i < n; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	out[n] = '\0';
}

static int fail(struct cli_zmtp_in *in, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Stop with a reason; returns -1. */
static int
fail(struct cli_zmtp_in *in, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(in->why, sizeof(in->why), fmt, ap);
	va_end(ap);
	in->code = code;
	in->state = CLI_ZMTP_FAILED;
	return -1;
}

void
cli_zmtp_in_init(struct cli_zmtp_in *in, uint64_t max)
{
	memset(in, 0, sizeof(*in));
	ucr_zmtp_rd_init(&in->rd);
	in->state = CLI_ZMTP_READ;
	in->max = max;
}

void
cli_zmtp_in_free(struct cli_zmtp_in *in)
{
	ucr_zmtp_rd_free(&in->rd);
	free(in->body);
	in->body = NULL;
}

/* A command: READY first (of a REP), ERROR ends it, others skipped. */
static int
in_command(void *ctx, const uint8_t *name, size_t namelen, const uint8_t *data,
    size_t datalen)
{
	struct cli_zmtp_in *in = ctx;
	const uint8_t *type = NULL;
	size_t typelen = 0;
	char what[64];

	if (ucr_zmtp_is(name, namelen, "ERROR")) {
		if (datalen > 0 && data[0] <= datalen - 1)
			printable(what, sizeof(what), data + 1, data[0]);
		else
			snprintf(what, sizeof(what), "?");
		return fail(in, UCR_EPROTO,
		    _("the server refused the connection: %s"), what);
	}
	if (!ucr_zmtp_is(name, namelen, "READY"))
		return 0; /* PING, or a command of a later version: skipped */
	if (in->ready)
		return fail(in, UCR_EPROTO, _("the server sent READY twice"));
	switch (ucr_zmtp_ready_type(data, datalen, &type, &typelen)) {
	case 0:
		break;
	case 1:
		return fail(in, UCR_EPROTO,
		    _("the server's READY has no Socket-Type"));
	default:
		return fail(in, UCR_EPROTO,
		    _("the server sent a malformed command"));
	}
	if (typelen != 3 || memcmp(type, "REP", 3) != 0) {
		printable(what, sizeof(what), type, typelen);
		return fail(in, UCR_EPROTO,
		    _("the server is a ZeroMQ %s socket, not the control "
		      "socket's REP"),
		    what);
	}
	in->ready = 1;
	return 0;
}

/* A message frame's header: the delimiter, or the reply's body. */
static int
in_head(void *ctx, uint8_t flags, uint64_t size, uint8_t **dst)
{
	struct cli_zmtp_in *in = ctx;

	if (!in->ready)
		return fail(in, UCR_EPROTO,
		    _("the server sent a message before its READY"));
	if (!in->delim) {
		if (size != 0 || !(flags & F_MORE))
			return fail(in, UCR_EPROTO,
			    _("the server's reply lacks the empty delimiter "
			      "frame"));
		return 0;
	}
	if (flags & F_MORE)
		return fail(in, UCR_EPROTO,
		    _("the server's reply has more than one frame"));
	if (size > in->max)
		return fail(in, UCR_ETOOBIG,
		    _("the server's reply of %llu bytes is over the limit of "
		      "%llu"),
		    (unsigned long long)size, (unsigned long long)in->max);
	if ((in->body = malloc(size ? size : 1)) == NULL)
		return fail(in, UCR_ENOMEM, _("out of memory"));
	*dst = in->body;
	return 0;
}

/* A message frame is read: the delimiter, or the reply. */
static int
in_message(void *ctx, uint8_t flags, uint64_t size)
{
	struct cli_zmtp_in *in = ctx;

	(void)flags;
	if (!in->delim) {
		in->delim = 1;
		return 0;
	}
	in->bodylen = size;
	in->state = CLI_ZMTP_DONE;
	return 1;
}

static const struct ucr_zmtp_ops in_ops = {in_head, in_message, in_command};

size_t
cli_zmtp_feed(struct cli_zmtp_in *in, const uint8_t *buf, size_t len)
{
	char mech[24];
	size_t used;

	if (in->state != CLI_ZMTP_READ)
		return 0;
	used = ucr_zmtp_rd_feed(&in->rd, buf, len, &in_ops, in);
	if (in->rd.state != UCR_ZMTP_RD_STOPPED || in->state == CLI_ZMTP_FAILED)
		return used;
	switch (in->rd.err) {
	case UCR_ZMTP_G_SIGNATURE:
		fail(in, UCR_EPROTO,
		    _("the server's greeting is not ZeroMQ's (ZMTP signature)"));
		break;
	case UCR_ZMTP_G_VERSION:
		fail(in, UCR_EPROTO,
		    _("the server speaks ZMTP %u.x; ucr speaks 3.0 or later"),
		    in->rd.hdr[10]);
		break;
	case UCR_ZMTP_G_MECHANISM:
		printable(mech, sizeof(mech), in->rd.hdr + 12,
		    strnlen((const char *)in->rd.hdr + 12,
			in->rd.have - 12 < 20 ? in->rd.have - 12 : 20));
		/* TRANSLATORS: a ZeroMQ security mechanism, such as CURVE */
		fail(in, UCR_EPROTO,
		    _("the server asks for the security mechanism \"%s\"; a "
		      "control socket has none (NULL)"),
		    mech);
		break;
	case UCR_ZMTP_E_FLAGS:
		fail(in, UCR_EPROTO,
		    _("the server sent a frame with the flags 0x%02x"),
		    in->rd.hdr[0]);
		break;
	case UCR_ZMTP_E_CMDSIZE:
		fail(in, UCR_EPROTO,
		    _("the server sent a command frame of %llu bytes"),
		    (unsigned long long)in->rd.size);
		break;
	case UCR_ZMTP_E_COMMAND:
		fail(in, UCR_EPROTO, _("the server sent a malformed command"));
		break;
	default:
		fail(in, UCR_ENOMEM, _("out of memory"));
		break;
	}
	return used;
}

size_t
cli_zmtp_hello(uint8_t *out)
{
	ucr_zmtp_greeting(out);
	return CLI_ZMTP_GREETING +
	    ucr_zmtp_ready(out + CLI_ZMTP_GREETING, "REQ");
}

/* Milliseconds left until the deadline (at least 0). */
static int
left_ms(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

/* Send what is left of iov[0..niov): advances them; -1 on an error. */
static int
put(int fd, struct iovec *iov, int *niov)
{
	struct msghdr mh;
	ssize_t n;
	size_t k;

	while (*niov > 0 && iov[0].iov_len == 0) {
		memmove(iov, iov + 1, sizeof(*iov) * (size_t)--(*niov));
	}
	if (*niov == 0)
		return 0;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = (size_t)*niov;
	/* MSG_NOSIGNAL: a server gone mid-request is an error, not SIGPIPE */
	n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	for (k = (size_t)n; k > 0 && *niov > 0;) {
		size_t t = k < iov[0].iov_len ? k : iov[0].iov_len;

		iov[0].iov_base = (uint8_t *)iov[0].iov_base + t;
		iov[0].iov_len -= t;
		k -= t;
		if (iov[0].iov_len == 0)
			memmove(iov, iov + 1, sizeof(*iov) * (size_t)--(*niov));
	}
	return 0;
}

int
cli_zmtp_request(const char *path, const void *req, size_t len, uint8_t **reply,
    size_t *replylen, int timeout_ms, int *sent, char *why, size_t whylen)
{
	struct sockaddr_un sa;
	struct cli_zmtp_in in;
	struct timespec deadline;
	struct pollfd pfd;
	struct iovec iov[3];
	uint8_t hello[CLI_ZMTP_HELLO], head[2 + UCR_ZMTP_HEAD_MAX], buf[16384];
	uint8_t *dst;
	size_t hlen, room;
	ssize_t n;
	int fd = -1, rc, niov, asked = 0, i;

	*reply = NULL;
	*replylen = 0;
	*sent = 0;
	cli_zmtp_in_init(&in, CLI_ZMTP_MAXREPLY);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(why, whylen, "%s", strerror(ENAMETOOLONG));
		return UCR_ENOTFOUND;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		 0)) < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return UCR_ENOTFOUND;
	}
	/* A full backlog refuses a non-blocking connect with EAGAIN: the
	   daemon is busy, so try again until the deadline. */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if ((errno != EAGAIN && errno != EINTR) ||
		    left_ms(&deadline) == 0) {
			snprintf(why, whylen, "%s", strerror(errno));
			close(fd);
			return errno == EAGAIN ? UCR_ETIMEOUT : UCR_ENOTFOUND;
		}
		poll(NULL, 0, 1);
	}
	hlen = cli_zmtp_hello(hello);
	iov[0].iov_base = hello;
	iov[0].iov_len = hlen;
	niov = 1;
	for (;;) {
		if (niov > 0 && put(fd, iov, &niov) != 0) {
			rc = UCR_EIO;
			snprintf(why, whylen,
			    _("cannot send to the server: %s"),
			    strerror(errno));
			goto leave;
		}
		if (asked && niov == 0)
			*sent = 1;
		if (in.state == CLI_ZMTP_DONE)
			break;
		pfd.fd = fd;
		pfd.events = POLLIN | (niov > 0 ? POLLOUT : 0);
		if ((i = left_ms(&deadline)) == 0 ||
		    (i = poll(&pfd, 1, i)) == 0) {
			rc = UCR_ETIMEOUT;
			snprintf(why, whylen, _("no reply in time"));
			goto leave;
		}
		if (i < 0) {
			if (errno == EINTR)
				continue;
			rc = UCR_EIO;
			snprintf(why, whylen, "poll: %s", strerror(errno));
			goto leave;
		}
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		/* a reply body is read into its place, the rest via buf */
		if (in.rd.state == UCR_ZMTP_RD_BODY && in.rd.dst != NULL) {
			dst = in.rd.dst + in.rd.have;
			room = in.rd.size - in.rd.have;
		} else {
			dst = buf;
			room = sizeof(buf);
		}
		if ((n = recv(fd, dst, room, MSG_DONTWAIT)) < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			rc = UCR_EIO;
			snprintf(why, whylen,
			    _("cannot read from the server: %s"),
			    strerror(errno));
			goto leave;
		}
		if (n == 0) {
			rc = UCR_EIO;
			snprintf(why, whylen,
			    _("the server closed the connection before its "
			      "reply"));
			goto leave;
		}
		if (dst != buf) {
			in.rd.have += (size_t)n;
			cli_zmtp_feed(&in, NULL,
			    0); /* done once it is all in */
		} else
			cli_zmtp_feed(&in, buf, (size_t)n);
		if (in.state == CLI_ZMTP_FAILED) {
			rc = in.code;
			snprintf(why, whylen, "%s", in.why);
			goto leave;
		}
		if (in.ready && !asked) {
			/* the empty delimiter frame, then the body's header */
			head[0] = F_MORE;
			head[1] = 0;
			hlen = 2 + ucr_zmtp_head(head + 2, 0, len);
			/* after the hello, if any of it is still unsent */
			iov[niov].iov_base = head;
			iov[niov].iov_len = hlen;
			niov++;
			iov[niov].iov_base = (void *)(uintptr_t)req;
			iov[niov].iov_len = len;
			niov++;
			asked = 1;
		}
	}
	*reply = in.body;
	*replylen = in.bodylen;
	in.body = NULL;
	rc = 0;
leave:
	cli_zmtp_in_free(&in);
	close(fd);
	return rc;
}
