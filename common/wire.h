/*
 * wire.h: the sync protocol's frames on ZeroMQ (docs/protocol.md). The
 * only user of zmq_msg_* framing. One ZeroMQ message part carries one
 * encoded Frame; on the hub's ROUTER a routing-id part comes first.
 * Encoding, decoding and naming frames are wire.c (linked into ucr too);
 * sending and receiving them, wire_zmq.c (the daemons' ucrdaemon library
 * only: ucr does not link libzmq).
 */
#ifndef UCR_WIRE_H
#define UCR_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "ucr.pb-c.h"

#define UCR_PROTOCOL_VERSION 1
/*
 * Revisions of version 1 (docs/protocol.md, 5.10), in Hello.revision and
 * State.revision. Revision 0 is release 0.1.0 (its Hello and State carry
 * none): it knows the record kinds up to epoch_accept (22) and the
 * verdicts up to NEW_EPOCH. Revision 1 adds the kinds indicator (23) to
 * member (26), the REBASE verdict, ViewQuery and the time rules.
 */
#define UCR_PROTOCOL_REVISION 1
#define UCR_REV0_KIND_MAX 22
/*
 * A frame over UCR_WIRE_MAXMSG bytes is refused with an Error (ETOOBIG);
 * one over UCR_WIRE_DROPMSG (the hub's ZMQ_MAXMSGSIZE) never reaches the
 * hub: libzmq drops the connection, and the peer reconnects.
 */
#define UCR_WIRE_MAXMSG (8 << 20)
#define UCR_WIRE_DROPMSG (UCR_WIRE_MAXMSG + (64 << 10))
/*
 * Decoding a frame of len bytes may allocate at most
 * UCR_WIRE_UNPACK_BYTES(len) bytes in at most UCR_WIRE_UNPACK_ALLOCS
 * allocations, or it is refused with UCR_EBUDGET: protobuf-c allocates
 * per repeated element, so a frame of a few MiB of empty repeated fields
 * would otherwise cost hundreds of MiB. An honest frame needs under 2x its
 * size (entry bytes, a 16-byte slot and protobuf-c's 32-byte scan record
 * each) and one allocation per entry or hold: a batch holds at most
 * 10 000 entries.
 */
#define UCR_WIRE_UNPACK_BYTES(len) (3 * (size_t)(len) + (256 << 10))
#define UCR_WIRE_UNPACK_ALLOCS 16384
#define UCR_ROUTING_ID_MAX 256

/* Encode f into a malloc'd buffer; caller frees. */
int ucr_wire_encode(uint8_t **out, size_t *len, const Ucr__Frame *f);
/* Decode; free with ucr__frame__free_unpacked(f, NULL). UCR_EPROTO for
 * garbage, a truncated frame or an unset body, UCR_ETOOBIG over
 * UCR_WIRE_MAXMSG, UCR_EBUDGET over the unpack budget above. */
int ucr_wire_decode(Ucr__Frame **out, const uint8_t *buf, size_t len);

/*
 * Send a frame, optionally after a routing id (ROUTER). Non-blocking when
 * dontwait: UCR_EAGAIN if the peer's queue is full, UCR_ENOTFOUND if the
 * peer is gone (ZMQ_ROUTER_MANDATORY), UCR_EIO otherwise.
 */
int ucr_wire_send(void *sock, const uint8_t *rid, size_t ridlen,
    const Ucr__Frame *f, int dontwait);
/* Send already-encoded frame bytes (a relay forwards what it received). */
int ucr_wire_send_raw(void *sock, const uint8_t *rid, size_t ridlen,
    const void *buf, size_t len, int dontwait);

/*
 * One encoded frame sent to several peers (a relay batch that every node
 * wants): the bytes are written once into the buffer _new returns, and
 * each send queues a copy that shares them (ZeroMQ counts the
 * references); they are freed when the last copy has left and the holder
 * has called _free. _new: NULL if out of memory. _send: as
 * ucr_wire_send_raw. _free: NULL-safe.
 */
struct ucr_wire_shared;
uint8_t *ucr_wire_shared_new(struct ucr_wire_shared **out, size_t len);
int ucr_wire_send_shared(void *sock, const uint8_t *rid, size_t ridlen,
    struct ucr_wire_shared *m, int dontwait);
void ucr_wire_shared_free(struct ucr_wire_shared *m);

/*
 * One received message: routing id (ROUTER only), the frame bytes, and the
 * connection's ZAP User-Id and "Key" and "Role" properties, copied out. recv
 * returns 0, UCR_EAGAIN (nothing to read) or UCR_EPROTO (wrong number of parts;
 * the message is consumed and dropped).
 */
struct ucr_wire_msg {
	uint8_t rid[UCR_ROUTING_ID_MAX];
	size_t ridlen;
	uint8_t *data; /* the frame bytes, inside zmsg: not copied */
	size_t len;
	void *zmsg;    /* the zmq_msg_t holding them, closed by msg_free */
	char user[64]; /* ZAP User-Id, "" if none */
	char key[72];  /* ZAP metadata "Key" (hex), "" if none */
	char role[16]; /* ZAP metadata "Role", "" if none */
};
int ucr_wire_recv(void *sock, int router, struct ucr_wire_msg *m);
void ucr_wire_msg_free(struct ucr_wire_msg *m);

/*
 * The first of a batch's entries whose record kind a peer of that
 * revision does not know: its index, or b->n_entries when it knows all
 * (an entry that does not decode counts as known: the receiver's own
 * checks refuse it). *kind: that entry's kind.
 */
size_t ucr_wire_first_unknown_kind(const Ucr__Batch *b, uint32_t revision,
    uint32_t *kind);

/* A short name for a frame body ("hello", "batch", ...) for logs. */
const char *ucr_wire_name(const Ucr__Frame *f);

#endif
