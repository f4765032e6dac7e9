/*
 * zmtp3.h: the pieces of ZMTP 3.0 (RFC 23) that both ends of a daemon's
 * control socket speak: ucr's client (cli/zmtp.c) and the daemons' server
 * (common/ctlsrv.c). Only what a REQ/REP exchange with the NULL mechanism
 * needs (docs/protocol.md, "The control socket"): the greeting, the
 * frame header, command frames and the READY command's Socket-Type.
 *
 * Pure functions on buffers: no I/O, no allocation, no global state.
 */
#ifndef UCR_ZMTP3_H
#define UCR_ZMTP3_H

#include <stddef.h>
#include <stdint.h>

/* The greeting: signature, version, mechanism, as-server, filler. */
#define UCR_ZMTP_GREETING 64
/* A frame's flags. */
#define UCR_ZMTP_MORE 0x01
#define UCR_ZMTP_LONG 0x02
#define UCR_ZMTP_CMD 0x04
/* The longest frame header: flags and an 8-byte size. */
#define UCR_ZMTP_HEAD_MAX 9
/* The largest command frame (READY, ERROR, PING, ...) either end takes. */
#define UCR_ZMTP_MAXCMD (64 << 10)
/* A READY frame with a Socket-Type of at most 6 characters fits. */
#define UCR_ZMTP_READY_MAX 32

/* Our greeting: version 3.0, NULL, as-server 0. Fills 64 bytes of out. */
void ucr_zmtp_greeting(uint8_t *out);
/*
 * The peer's greeting so far (have bytes of it, any number): 0 while it
 * may still be good, else what is wrong with it.
 */
#define UCR_ZMTP_G_SIGNATURE 1 /* not ZMTP's signature */
#define UCR_ZMTP_G_VERSION 2   /* a major version below 3 (g[10]) */
#define UCR_ZMTP_G_MECHANISM 3 /* not NULL (g[12..32)) */
int ucr_zmtp_greeting_check(const uint8_t *g, size_t have);

/*
 * Encode a frame's header (flags, size) into out (UCR_ZMTP_HEAD_MAX
 * bytes): the short form up to 255 bytes, else the long one. Returns its
 * length, 2 or 9.
 */
size_t ucr_zmtp_head(uint8_t *out, uint8_t flags, uint64_t size);
/*
 * Decode the header in h (have bytes so far, at least 1): 0 while more is
 * needed, 1 when complete (*flags, *size set), -1 for flags no REQ/REP
 * peer sends (unknown bits, or a command with MORE).
 */
int ucr_zmtp_head_parse(const uint8_t *h, size_t have, uint8_t *flags,
    uint64_t *size);

/* A READY command frame (header included) with this Socket-Type. */
size_t ucr_zmtp_ready(uint8_t *out, const char *type);
/*
 * Split a command frame's body (len bytes) into its name and data: 0, or
 * -1 if malformed (no name, or a name longer than the frame).
 */
int ucr_zmtp_command(const uint8_t *cmd, size_t len, const uint8_t **name,
    size_t *namelen, const uint8_t **data, size_t *datalen);
/* Whether the command's name is s. */
int ucr_zmtp_is(const uint8_t *name, size_t namelen, const char *s);
/*
 * The Socket-Type in a READY command's data (its metadata: names of 1..255
 * bytes, values with 4-byte lengths; names case-insensitive, unknown ones
 * skipped): 0 and *type, *typelen; 1 if it has none; -1 if malformed.
 */
int ucr_zmtp_ready_type(const uint8_t *data, size_t len, const uint8_t **type,
    size_t *typelen);

/*
 * A reader of a peer's stream: its greeting, then frames, fed any bytes
 * in any pieces. It checks the greeting and the frame headers, reads
 * command frames (at most UCR_ZMTP_MAXCMD bytes) itself and hands them
 * to ops->command; for a message frame it asks ops->head where the body
 * goes (or to skip it), and calls ops->message once it is read. A
 * callback stops it (-1: STOPPED, err 0) or pauses it (message: 1,
 * PAUSED, until ucr_zmtp_rd_resume); a fault of its own stops it with
 * err set. It never reads past what it is given.
 */
struct ucr_zmtp_ops {
	/* a message frame's header: *dst (size bytes) to read its body
	 * into, or NULL to skip it; 0, or -1 to stop */
	int (*head)(void *ctx, uint8_t flags, uint64_t size, uint8_t **dst);
	/* that frame is read: 0, 1 to pause, or -1 to stop */
	int (*message)(void *ctx, uint8_t flags, uint64_t size);
	/* a command frame: 0, or -1 to stop */
	int (*command)(void *ctx, const uint8_t *name, size_t namelen,
	    const uint8_t *data, size_t datalen);
};
struct ucr_zmtp_rd {
	int state;                      /* UCR_ZMTP_RD_* below */
	int err;                        /* UCR_ZMTP_E_* once STOPPED, or 0 */
	uint8_t hdr[UCR_ZMTP_GREETING]; /* the greeting or a frame header */
	size_t have;                    /* bytes of hdr or of the body */
	uint8_t flags;                  /* the frame's */
	uint64_t size;                  /* the frame's */
	uint8_t *cmd;                   /* a command frame (the reader's) */
	uint8_t *dst; /* a message frame's body (ops->head's), or NULL */
};
#define UCR_ZMTP_RD_GREET 0
#define UCR_ZMTP_RD_HEAD 1
#define UCR_ZMTP_RD_CMD 2
#define UCR_ZMTP_RD_BODY 3
#define UCR_ZMTP_RD_PAUSED 4
#define UCR_ZMTP_RD_STOPPED 5
/* Faults: UCR_ZMTP_G_* (the greeting), and */
#define UCR_ZMTP_E_FLAGS 4   /* a frame with flags not spoken (hdr[0]) */
#define UCR_ZMTP_E_CMDSIZE 5 /* a command frame of 0 or over the limit */
#define UCR_ZMTP_E_COMMAND 6 /* a command without a valid name */
#define UCR_ZMTP_E_NOMEM 7

void ucr_zmtp_rd_init(struct ucr_zmtp_rd *rd);
/* Take bytes of buf (len may be 0: a body completed in place, see dst);
 * returns how many were taken. */
size_t ucr_zmtp_rd_feed(struct ucr_zmtp_rd *rd, const uint8_t *buf, size_t len,
    const struct ucr_zmtp_ops *ops, void *ctx);
/* After a pause: read the next frame. */
void ucr_zmtp_rd_resume(struct ucr_zmtp_rd *rd);
/* Free the command frame in hand (not dst: the caller's). */
void ucr_zmtp_rd_free(struct ucr_zmtp_rd *rd);

#endif
