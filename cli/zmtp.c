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

#define F_MORE 0x01
#define F_LONG 0x02
#define F_CMD 0x04

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

static size_t fail(struct cli_zmtp_in *in, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Stop with a reason; returns 0 (nothing more consumed). */
static size_t
fail(struct cli_zmtp_in *in, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(in->why, sizeof(in->why), fmt, ap);
	va_end(ap);
	in->code = code;
	in->state = CLI_ZMTP_FAILED;
	return 0;
}

void
cli_zmtp_in_init(struct cli_zmtp_in *in, uint64_t max)
{
	memset(in, 0, sizeof(*in));
	in->state = CLI_ZMTP_GREET;
	in->max = max;
}

void
cli_zmtp_in_free(struct cli_zmtp_in *in)
{
	free(in->cmd);
	free(in->body);
	in->cmd = NULL;
	in->body = NULL;
}

/* The greeting so far (in->have bytes): 0, or fails. */
static int
check_greeting(struct cli_zmtp_in *in)
{
	static const uint8_t null[20] = "NULL";
	char mech[24];

	if (in->have >= 1 && in->hdr[0] != 0xFF)
		goto notzmq;
	if (in->have >= 10 && in->hdr[9] != 0x7F)
		goto notzmq;
	if (in->have >= 11 && in->hdr[10] < 3) {
		fail(in, UCR_EPROTO,
		    _("the server speaks ZMTP %u.x; ucr speaks 3.0 or later"),
		    in->hdr[10]);
		return -1;
	}
	if (in->have >= 32 && memcmp(in->hdr + 12, null, 20) != 0) {
		printable(mech, sizeof(mech), in->hdr + 12,
		    strnlen((const char *)in->hdr + 12, 20));
		/* TRANSLATORS: a ZeroMQ security mechanism, such as CURVE */
		fail(in, UCR_EPROTO,
		    _("the server asks for the security mechanism \"%s\"; a "
		      "control socket has none (NULL)"),
		    mech);
		return -1;
	}
	return 0;
notzmq:
	fail(in, UCR_EPROTO,
	    _("the server's greeting is not ZeroMQ's (ZMTP signature)"));
	return -1;
}

/* The command frame in in->cmd (in->size bytes, at least 1): 0 or fails. */
static int
command(struct cli_zmtp_in *in)
{
	const uint8_t *p = in->cmd, *end = in->cmd + in->size;
	const uint8_t *type = NULL;
	uint32_t vlen, typelen = 0;
	size_t nlen;
	char what[64];

	nlen = *p++;
	if (nlen == 0 || nlen > (size_t)(end - p))
		goto malformed;
	if (nlen == 5 && memcmp(p, "ERROR", 5) == 0) {
		p += 5;
		if (p < end && *p <= (size_t)(end - p - 1))
			printable(what, sizeof(what), p + 1, *p);
		else
			snprintf(what, sizeof(what), "?");
		fail(in, UCR_EPROTO, _("the server refused the connection: %s"),
		    what);
		return -1;
	}
	if (nlen != 5 || memcmp(p, "READY", 5) != 0)
		return 0; /* PING, or a command of a later version: skipped */
	if (in->ready) {
		fail(in, UCR_EPROTO, _("the server sent READY twice"));
		return -1;
	}
	/* metadata: name (1-byte length, 1..255) and value (4-byte length) */
	for (p += 5; p < end;) {
		nlen = *p++;
		if (nlen == 0 || nlen > (size_t)(end - p) ||
		    (size_t)(end - p) - nlen < 4)
			goto malformed;
		vlen = (uint32_t)p[nlen] << 24 | (uint32_t)p[nlen + 1] << 16 |
		    (uint32_t)p[nlen + 2] << 8 | p[nlen + 3];
		if (vlen > (size_t)(end - p) - nlen - 4)
			goto malformed;
		if (nlen == 11 &&
		    strncasecmp((const char *)p, "Socket-Type", 11) == 0) {
			type = p + nlen + 4;
			typelen = vlen;
		}
		p += nlen + 4 + vlen;
	}
	if (type == NULL) {
		fail(in, UCR_EPROTO,
		    _("the server's READY has no Socket-Type"));
		return -1;
	}
	if (typelen != 3 || memcmp(type, "REP", 3) != 0) {
		printable(what, sizeof(what), type, typelen);
		fail(in, UCR_EPROTO,
		    _("the server is a ZeroMQ %s socket, not the control "
		      "socket's REP"),
		    what);
		return -1;
	}
	in->ready = 1;
	return 0;
malformed:
	fail(in, UCR_EPROTO, _("the server sent a malformed command"));
	return -1;
}

/* A frame's header is complete: where its body goes. 0 or fails. */
static int
frame(struct cli_zmtp_in *in)
{
	if (in->flags & F_CMD) {
		if (in->size == 0 || in->size > CLI_ZMTP_MAXCMD) {
			fail(in, UCR_EPROTO,
			    _("the server sent a command frame of %llu bytes"),
			    (unsigned long long)in->size);
			return -1;
		}
		if ((in->cmd = malloc(in->size)) == NULL) {
			fail(in, UCR_ENOMEM, _("out of memory"));
			return -1;
		}
		in->state = CLI_ZMTP_CMD;
		return 0;
	}
	if (!in->ready) {
		fail(in, UCR_EPROTO,
		    _("the server sent a message before its READY"));
		return -1;
	}
	if (!in->delim) {
		if (in->size != 0 || !(in->flags & F_MORE)) {
			fail(in, UCR_EPROTO,
			    _("the server's reply lacks the empty delimiter "
			      "frame"));
			return -1;
		}
		in->delim = 1;
		in->state = CLI_ZMTP_HEAD;
		return 0;
	}
	if (in->flags & F_MORE) {
		fail(in, UCR_EPROTO,
		    _("the server's reply has more than one frame"));
		return -1;
	}
	if (in->size > in->max) {
		fail(in, UCR_ETOOBIG,
		    _("the server's reply of %llu bytes is over the limit of "
		      "%llu"),
		    (unsigned long long)in->size, (unsigned long long)in->max);
		return -1;
	}
	if ((in->body = malloc(in->size ? in->size : 1)) == NULL) {
		fail(in, UCR_ENOMEM, _("out of memory"));
		return -1;
	}
	in->state = in->size ? CLI_ZMTP_BODY : CLI_ZMTP_DONE;
	return 0;
}

size_t
cli_zmtp_feed(struct cli_zmtp_in *in, const uint8_t *buf, size_t len)
{
	size_t used = 0, n, need;
	int i;

	while (used < len) {
		switch (in->state) {
		case CLI_ZMTP_GREET:
			n = CLI_ZMTP_GREETING - in->have;
			if (n > len - used)
				n = len - used;
			memcpy(in->hdr + in->have, buf + used, n);
			in->have += n;
			used += n;
			if (check_greeting(in) != 0)
				return used;
			if (in->have == CLI_ZMTP_GREETING) {
				in->have = 0;
				in->state = CLI_ZMTP_HEAD;
			}
			break;
		case CLI_ZMTP_HEAD:
			in->hdr[in->have++] = buf[used++];
			in->flags = in->hdr[0];
			if (in->have == 1) {
				if ((in->flags & ~(F_MORE | F_LONG | F_CMD)) ||
				    ((in->flags & F_CMD) &&
					(in->flags & F_MORE))) {
					fail(in, UCR_EPROTO,
					    _("the server sent a frame with "
					      "the flags 0x%02x"),
					    in->flags);
					return used;
				}
				break;
			}
			need = in->flags & F_LONG ? 9 : 2;
			if (in->have < need)
				break;
			for (in->size = 0, i = 1; i < (int)need; i++)
				in->size = in->size << 8 | in->hdr[i];
			in->have = 0;
			if (frame(in) != 0)
				return used;
			break;
		case CLI_ZMTP_CMD:
		case CLI_ZMTP_BODY:
			n = in->size - in->have;
			if (n > len - used)
				n = len - used;
			memcpy((in->state == CLI_ZMTP_CMD ? in->cmd
							  : in->body) +
				in->have,
			    buf + used, n);
			in->have += n;
			used += n;
			if (in->have < in->size)
				break;
			in->have = 0;
			if (in->state == CLI_ZMTP_BODY) {
				in->bodylen = in->size;
				in->state = CLI_ZMTP_DONE;
				break;
			}
			in->state = CLI_ZMTP_HEAD;
			i = command(in);
			free(in->cmd);
			in->cmd = NULL;
			if (i != 0)
				return used;
			break;
		default: /* DONE, FAILED: nothing more is taken */
			return used;
		}
	}
	return used;
}

size_t
cli_zmtp_hello(uint8_t *out)
{
	static const uint8_t ready[] = {F_CMD, 25, 5, 'R', 'E', 'A', 'D', 'Y',
	    11, 'S', 'o', 'c', 'k', 'e', 't', '-', 'T', 'y', 'p', 'e', 0, 0, 0,
	    3, 'R', 'E', 'Q'};

	memset(out, 0, CLI_ZMTP_GREETING);
	out[0] = 0xFF;
	out[9] = 0x7F;
	out[10] = 3; /* version 3.0 */
	out[11] = 0;
	memcpy(out + 12, "NULL", 4);
	/* as-server 0 and the filler: zeros */
	memcpy(out + CLI_ZMTP_GREETING, ready, sizeof(ready));
	return CLI_ZMTP_GREETING + sizeof(ready);
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
	uint8_t hello[CLI_ZMTP_HELLO], head[2 + 9], buf[16384], *dst;
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
		if (in.state == CLI_ZMTP_BODY) {
			dst = in.body + in.have;
			room = in.size - in.have;
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
			in.have += (size_t)n;
			if (in.have == in.size) {
				in.bodylen = in.size;
				in.state = CLI_ZMTP_DONE;
			}
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
			if (len <= 255) {
				head[2] = 0;
				head[3] = (uint8_t)len;
				hlen = 4;
			} else {
				head[2] = F_LONG;
				for (i = 0; i < 8; i++)
					head[3 + i] = (uint8_t)((uint64_t)len >>
					    (56 - 8 * i));
				hlen = 11;
			}
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
