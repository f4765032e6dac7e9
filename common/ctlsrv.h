/*
 * ctlsrv.h: the daemons' control socket, served without libzmq.
 *
 * A non-blocking AF_UNIX stream listener on the socket file, spoken to as
 * a ZeroMQ REP socket would be by its REQ (or DEALER) peers: the subset of
 * ZMTP 3.0 (RFC 23) in docs/protocol.md, "The control socket" (the NULL
 * mechanism; READY; a request is an empty delimiter frame with MORE and
 * one body frame; the reply likewise). ucr's own client (cli/zmtp.c) and
 * libzmq's ZMQ_REQ both speak it. The daemon's own poll loop drives it:
 * no thread, so a request is read, handled and answered without a hand-off.
 *
 * Every peer may be hostile (docs/security.md §3.5): a request
 * body over the limit is refused from its frame header, before anything
 * is allocated; command frames are at most UCR_ZMTP_MAXCMD bytes; at most
 * UCR_CTLSRV_MAXCONN connections at once; a handshake not done within
 * UCR_CTLSRV_HANDSHAKE_MS is closed; the next request on a connection is
 * not read until the reply to the last is written, and a peer that takes
 * none of its reply for UCR_CTLSRV_STALL_MS is closed; one that sends no
 * whole request within UCR_CTLSRV_IDLE_MS of its handshake or of its last
 * reply is closed (counted, not logged: a persistent libzmq REQ
 * reconnects by itself). When all UCR_CTLSRV_MAXCONN places are taken, a
 * new connection takes the place of the one idle longest (handshake done,
 * nothing of a request read, no reply pending); only if none is idle is
 * it closed at once. One request is handled at a time. Each refusal is
 * counted and logged (rate-limited).
 */
#ifndef UCR_CTLSRV_H
#define UCR_CTLSRV_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "zmtp3.h"

#define UCR_CTLSRV_MAXCONN 32
#define UCR_CTLSRV_HANDSHAKE_MS 3000
#define UCR_CTLSRV_STALL_MS 5000
#define UCR_CTLSRV_IDLE_MS 30000
/* Poll entries ucr_ctlsrv_pollfds may fill: the listener and each one. */
#define UCR_CTLSRV_NPOLL (1 + UCR_CTLSRV_MAXCONN)

/* What a connection's peer sent, parsed as it arrives. */
struct ucr_ctlsrv_in {
	int state;             /* UCR_CTLSRV_S_* below */
	uint64_t max;          /* largest request body accepted */
	struct ucr_zmtp_rd rd; /* the greeting and the frames */
	uint8_t *body;         /* the request body, bodylen bytes */
	size_t bodylen;
	int ready; /* the peer's READY seen */
	int delim; /* this request's empty delimiter frame seen */
	int multi; /* this request has more than one body frame */
	int fault; /* UCR_CTLSRV_F_* once FAILED */
	char why[128];
};
#define UCR_CTLSRV_S_READ 0   /* reading */
#define UCR_CTLSRV_S_REQ 1    /* a request is in body, bodylen */
#define UCR_CTLSRV_S_FAILED 2 /* a fault: fault and why say which */

/* The refusals, each with its counter (struct ucr_ctlsrv_counts). */
#define UCR_CTLSRV_F_GREETING 1 /* not ZMTP 3, or not NULL */
#define UCR_CTLSRV_F_SOCKTYPE 2 /* READY's Socket-Type not REQ/DEALER */
#define UCR_CTLSRV_F_PROTOCOL 3 /* a malformed frame or command */
#define UCR_CTLSRV_F_TOOBIG 4   /* a request or command over its limit */
#define UCR_CTLSRV_F_NOMEM 5    /* no memory for a frame */

void ucr_ctlsrv_in_init(struct ucr_ctlsrv_in *in, uint64_t max);
/*
 * Take len bytes of the peer's stream; returns the bytes consumed. It
 * stops at a complete request (state REQ; what follows it is left
 * unconsumed) and at a fault (FAILED). Allocates at most the announced
 * request body (at most max) and the command frame in hand. A request of
 * more than one body frame (each at most max) is read to its end without
 * keeping any of it: REQ with multi set and no body, to be answered with
 * an error. While a body is read (rd.state UCR_ZMTP_RD_BODY, rd.dst set)
 * the caller may read into rd.dst + rd.have itself, add to rd.have and
 * feed 0 bytes to have it completed.
 */
size_t ucr_ctlsrv_feed(struct ucr_ctlsrv_in *in, const uint8_t *buf,
    size_t len);
/* After a request (REQ): free its body and read the next one. */
void ucr_ctlsrv_in_next(struct ucr_ctlsrv_in *in);
void ucr_ctlsrv_in_free(struct ucr_ctlsrv_in *in);

/* The counters, since the daemon started. */
struct ucr_ctlsrv_counts {
	uint64_t accepted; /* connections taken */
	uint64_t requests; /* requests answered */
	uint64_t full;     /* connections closed at once: too many */
	uint64_t evicted;  /* idle ones closed for a new one: too many */
	uint64_t idle;     /* no whole request within UCR_CTLSRV_IDLE_MS */
	uint64_t greeting; /* F_GREETING */
	uint64_t socktype; /* F_SOCKTYPE */
	uint64_t protocol; /* F_PROTOCOL, F_NOMEM */
	uint64_t toobig;   /* F_TOOBIG */
	uint64_t slow;     /* the handshake not done in time */
	uint64_t stalled;  /* a reply not taken in time */
};

/*
 * Answer one request (len bytes): 0 and *out (malloc'd, *outlen bytes,
 * freed by the server once written), or nonzero: the connection is closed.
 * req NULL: a request of several frames, to be refused with an error reply.
 */
typedef int (*ucr_ctlsrv_fn)(void *ctx, const uint8_t *req, size_t len,
    uint8_t **out, size_t *outlen);

struct ucr_ctlsrv;

/*
 * Listen on the socket file path (a stale file removed first; mode 0660)
 * for requests of at most max bytes, each answered by fn. 0, or UCR_EIO
 * with a reason in why.
 */
int ucr_ctlsrv_open(struct ucr_ctlsrv **sp, const char *path, uint64_t max,
    ucr_ctlsrv_fn fn, void *ctx, char *why, size_t whylen);
/*
 * after(ctx) is called once each answer is handed to the kernel (or, if
 * the client reads slowly, has begun to be), before anything else is
 * read or answered: work that may follow the answer (a deferred commit).
 */
void ucr_ctlsrv_set_after(struct ucr_ctlsrv *s, void (*after)(void *ctx));
/*
 * The descriptors to poll (at most UCR_CTLSRV_NPOLL): fd and events
 * (POLLIN, POLLOUT) of p[0..return), revents cleared.
 */
int ucr_ctlsrv_pollfds(const struct ucr_ctlsrv *s, struct pollfd *p);
/*
 * After the poll: p[0..n) as filled, revents set. Accepts, reads,
 * answers, writes; closes what is done, broken or out of time.
 */
void ucr_ctlsrv_dispatch(struct ucr_ctlsrv *s, const struct pollfd *p, int n);
/* The idle limit (default UCR_CTLSRV_IDLE_MS), ms. */
void ucr_ctlsrv_set_idle_ms(struct ucr_ctlsrv *s, long ms);
/* Milliseconds until the next deadline of a connection; -1 if none. */
long ucr_ctlsrv_timeout(const struct ucr_ctlsrv *s);
const struct ucr_ctlsrv_counts *ucr_ctlsrv_counts(const struct ucr_ctlsrv *s);
/* Connections open now. */
int ucr_ctlsrv_nconn(const struct ucr_ctlsrv *s);
/* Close every connection and the listener, remove the socket file. */
void ucr_ctlsrv_close(struct ucr_ctlsrv *s);

#endif
