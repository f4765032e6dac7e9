/* wire.c: the sync protocol's frames on ZeroMQ (see wire.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "error.h"
#include "wire.h"

int
ucr_wire_encode(uint8_t **out, size_t *len, const Ucr__Frame *f)
{
	size_t n = ucr__frame__get_packed_size(f);

	if ((*out = malloc(n ? n : 1)) == NULL)
		return UCR_ENOMEM;
	*len = ucr__frame__pack(f, *out);
	return 0;
}

int
ucr_wire_decode(Ucr__Frame **out, const uint8_t *buf, size_t len)
{
	Ucr__Frame *f;

	*out = NULL;
	if (len > UCR_WIRE_MAXMSG)
		return UCR_ETOOBIG;
	if ((f = ucr__frame__unpack(NULL, len, buf)) == NULL)
		return UCR_EPROTO;
	if (f->body_case == UCR__FRAME__BODY__NOT_SET) {
		ucr__frame__free_unpacked(f, NULL);
		return UCR_EPROTO;
	}
	*out = f;
	return 0;
}

static int
send_err(void)
{
	if (errno == EAGAIN)
		return UCR_EAGAIN;
	if (errno == EHOSTUNREACH)
		return UCR_ENOTFOUND;
	return UCR_EIO;
}

int
ucr_wire_send_raw(void *sock, const uint8_t *rid, size_t ridlen,
    const void *buf, size_t len, int dontwait)
{
	int flags = dontwait ? ZMQ_DONTWAIT : 0;

	if (rid && zmq_send(sock, rid, ridlen, flags | ZMQ_SNDMORE) < 0)
		return send_err();
	if (zmq_send(sock, buf, len, flags) < 0)
		return send_err();
	return 0;
}

int
ucr_wire_send(void *sock, const uint8_t *rid, size_t ridlen,
    const Ucr__Frame *f, int dontwait)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if ((rc = ucr_wire_encode(&buf, &len, f)) != 0)
		return rc;
	rc = ucr_wire_send_raw(sock, rid, ridlen, buf, len, dontwait);
	free(buf);
	return rc;
}

static void
drain(void *sock)
{
	int more;
	size_t sz = sizeof(more);
	zmq_msg_t m;

	do {
		if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) != 0 || !more)
			return;
		zmq_msg_init(&m);
		zmq_msg_recv(&m, sock, ZMQ_DONTWAIT);
		zmq_msg_close(&m);
	} while (more);
}

int
ucr_wire_recv(void *sock, int router, struct ucr_wire_msg *m)
{
	zmq_msg_t part;
	const char *p;
	int more;
	size_t sz = sizeof(more);

	memset(m, 0, sizeof(*m));
	if (router) {
		zmq_msg_init(&part);
		if (zmq_msg_recv(&part, sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&part);
			return UCR_EAGAIN;
		}
		m->ridlen = zmq_msg_size(&part);
		if (m->ridlen > UCR_ROUTING_ID_MAX)
			m->ridlen = UCR_ROUTING_ID_MAX;
		memcpy(m->rid, zmq_msg_data(&part), m->ridlen);
		zmq_msg_close(&part);
		if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) != 0 || !more)
			return UCR_EPROTO;
	}
	zmq_msg_init(&part);
	if (zmq_msg_recv(&part, sock, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&part);
		return router ? UCR_EPROTO : UCR_EAGAIN;
	}
	if ((p = zmq_msg_gets(&part, "User-Id")) != NULL)
		snprintf(m->user, sizeof(m->user), "%s", p);
	if ((p = zmq_msg_gets(&part, "Key")) != NULL)
		snprintf(m->key, sizeof(m->key), "%s", p);
	if ((p = zmq_msg_gets(&part, "Role")) != NULL)
		snprintf(m->role, sizeof(m->role), "%s", p);
	if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
		/* a frame is one part: more parts is a malformed message */
		zmq_msg_close(&part);
		drain(sock);
		return UCR_EPROTO;
	}
	m->len = zmq_msg_size(&part);
	m->data = malloc(m->len ? m->len : 1);
	if (m->data == NULL) {
		zmq_msg_close(&part);
		return UCR_ENOMEM;
	}
	memcpy(m->data, zmq_msg_data(&part), m->len);
	zmq_msg_close(&part);
	return 0;
}

void
ucr_wire_msg_free(struct ucr_wire_msg *m)
{
	free(m->data);
	m->data = NULL;
}

const char *
ucr_wire_name(const Ucr__Frame *f)
{
	switch (f->body_case) {
	case UCR__FRAME__BODY_HELLO:
		return "hello";
	case UCR__FRAME__BODY_STATE:
		return "state";
	case UCR__FRAME__BODY_BATCH:
		return "batch";
	case UCR__FRAME__BODY_ACK:
		return "ack";
	case UCR__FRAME__BODY_FETCH:
		return "fetch";
	case UCR__FRAME__BODY_CHECKPOINT:
		return "checkpoint";
	case UCR__FRAME__BODY_ERROR:
		return "error";
	default:
		return "none";
	}
}
