/*
 * zmtp.h: one request to a daemon's control socket, spoken by ucr itself.
 *
 * The daemons' control socket is spoken to as a ZeroMQ REP socket on
 * ipc://PATH (common/ctlsrv.c). ucr talks to it as a ZMQ_REQ peer would, over a
 * plain AF_UNIX stream socket, with the subset of ZMTP 3.0 (RFC 23) that
 * one request and its reply need: the NULL mechanism, the READY command
 * with Socket-Type REQ, the request as an empty delimiter frame and one
 * body frame, the reply likewise. Loading libzmq, its C++ runtime and the
 * libraries it brings, and starting its threads, took most of the time of
 * a short command such as "ucr status" (docs/benchmarks.md); ucr does not
 * link libzmq (docs/design.md, docs/protocol.md "The control socket").
 *
 * Single-threaded, no global state.
 */
#ifndef UCR_CLI_ZMTP_H
#define UCR_CLI_ZMTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "control.h"
#include "zmtp3.h"

/*
 * The largest reply body accepted: the daemons' own limit on a request
 * (UCR_CONTROL_MAXMSG, 64 MiB). A reply announcing more is refused before
 * anything of it is read or allocated.
 */
#define CLI_ZMTP_MAXREPLY ((uint64_t)UCR_CONTROL_MAXMSG)
/* The largest command frame (READY, ERROR, PING, ...) accepted. */
#define CLI_ZMTP_MAXCMD UCR_ZMTP_MAXCMD
/* The greeting: signature, version, mechanism, as-server, filler. */
#define CLI_ZMTP_GREETING UCR_ZMTP_GREETING

/*
 * The server's side of the stream, parsed as it arrives: its greeting, its
 * commands (READY first), then the reply. Fed any bytes in any pieces it
 * never reads past what it is given, allocates at most the announced
 * reply size (at most max) and the command frame in hand, and stops at
 * the first fault with a one-line reason in why.
 */
struct cli_zmtp_in {
	int state;             /* CLI_ZMTP_* below */
	uint64_t max;          /* largest reply body accepted */
	struct ucr_zmtp_rd rd; /* the greeting and the frames (zmtp3.h) */
	uint8_t *body;         /* the reply body (caller frees) */
	size_t bodylen;
	int ready;     /* the server's READY seen */
	int delim;     /* the reply's empty delimiter frame seen */
	int code;      /* UCR_EPROTO, UCR_ETOOBIG, UCR_ENOMEM */
	char why[256]; /* why it stopped (CLI_ZMTP_FAILED) */
};
#define CLI_ZMTP_READ 0   /* reading */
#define CLI_ZMTP_DONE 4   /* the reply is in body, bodylen */
#define CLI_ZMTP_FAILED 5 /* a fault: why says which */

void cli_zmtp_in_init(struct cli_zmtp_in *in, uint64_t max);
/*
 * Take len bytes of the server's stream. Returns the bytes consumed (all
 * of them, except after DONE or a fault), the state is in->state. The
 * caller sends its request once in->ready is set. While the reply's body
 * is read (in->rd.state UCR_ZMTP_RD_BODY, in->rd.dst set) the caller may
 * read into in->rd.dst + in->rd.have itself, add to in->rd.have and feed
 * 0 bytes to have it completed.
 */
size_t cli_zmtp_feed(struct cli_zmtp_in *in, const uint8_t *buf, size_t len);
/* Free what in holds (the reply body too, unless taken: set it NULL). */
void cli_zmtp_in_free(struct cli_zmtp_in *in);

/*
 * Our greeting and READY command (Socket-Type REQ), to send at once: fills
 * out (at least CLI_ZMTP_HELLO bytes), returns the length.
 */
#define CLI_ZMTP_HELLO (CLI_ZMTP_GREETING + 32)
size_t cli_zmtp_hello(uint8_t *out);

/*
 * Send req (len bytes) to the REP socket at the file path and wait for its
 * reply, all within timeout_ms. 0 and *reply (malloc'd, *replylen bytes;
 * the caller frees); or UCR_ETIMEOUT (no answer in time), UCR_EIO (the
 * connection failed or was closed), UCR_EPROTO (the server broke the
 * protocol), UCR_ETOOBIG (a reply over CLI_ZMTP_MAXREPLY) or UCR_ENOMEM,
 * with a one-line translated reason in why. *sent: 1 once the whole
 * request was written (from then on a write's outcome is unknown if no
 * reply comes), else 0.
 */
int cli_zmtp_request(const char *path, const void *req, size_t len,
    uint8_t **reply, size_t *replylen, int timeout_ms, int *sent, char *why,
    size_t whylen);

#endif
