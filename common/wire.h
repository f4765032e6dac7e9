/*
 * wire.h: the sync protocol's frames on ZeroMQ (docs/protocol.md). The
 * only user of zmq_msg_* framing. One ZeroMQ message part carries one
 * encoded Frame; on the hub's ROUTER a routing-id part comes first.
 */
#ifndef UCR_WIRE_H
#define UCR_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "ucr.pb-c.h"

#define UCR_PROTOCOL_VERSION 1
/*
 * A frame over UCR_WIRE_MAXMSG bytes is refused with an Error (ETOOBIG);
 * one over UCR_WIRE_DROPMSG (the hub's ZMQ_MAXMSGSIZE) never reaches the
 * hub: libzmq drops the connection, and the peer reconnects.
 */
#define UCR_WIRE_MAXMSG (8 << 20)
#define UCR_WIRE_DROPMSG (2 * UCR_WIRE_MAXMSG)
#define UCR_ROUTING_ID_MAX 256

/* Encode f into a malloc'd buffer; caller frees. */
int ucr_wire_encode(uint8_t **out, size_t *len, const Ucr__Frame *f);
/* Decode; free with ucr__frame__free_unpacked(f, NULL). UCR_EPROTO for
 * garbage, a truncated frame or an unset body. */
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
 * One received message: routing id (ROUTER only), the frame bytes, and the
 * connection's ZAP User-Id and "Key" and "Role" properties, copied out. recv
 * returns 0, UCR_EAGAIN (nothing to read) or UCR_EPROTO (wrong number of parts;
 * the message is consumed and dropped).
 */
struct ucr_wire_msg {
	uint8_t rid[UCR_ROUTING_ID_MAX];
	size_t ridlen;
	uint8_t *data; /* malloc'd frame bytes */
	size_t len;
	char user[64]; /* ZAP User-Id, "" if none */
	char key[72];  /* ZAP metadata "Key" (hex), "" if none */
	char role[16]; /* ZAP metadata "Role", "" if none */
};
int ucr_wire_recv(void *sock, int router, struct ucr_wire_msg *m);
void ucr_wire_msg_free(struct ucr_wire_msg *m);

/* A short name for a frame body ("hello", "batch", ...) for logs. */
const char *ucr_wire_name(const Ucr__Frame *f);

#endif
