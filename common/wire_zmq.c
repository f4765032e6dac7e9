/*
 * wire_zmq.c: the sync protocol's frames on ZeroMQ sockets (wire.h):
 * sending and receiving them. Part of the daemons' library (ucrdaemon),
 * not of ucr's, which does not link libzmq (docs/design.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "error.h"
#include "wire.h"

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

struct ucr_wire_shared {
	zmq_msg_t msg;
};

uint8_t *
ucr_wire_shared_new(struct ucr_wire_shared **out, size_t len)
{
	struct ucr_wire_shared *m;

	*out = NULL;
	if ((m = malloc(sizeof(*m))) == NULL)
		return NULL;
	if (zmq_msg_init_size(&m->msg, len) != 0) {
		free(m);
		return NULL;
	}
	*out = m;
	return zmq_msg_data(&m->msg);
}

int
ucr_wire_send_shared(void *sock, const uint8_t *rid, size_t ridlen,
    struct ucr_wire_shared *m, int dontwait)
{
	int flags = dontwait ? ZMQ_DONTWAIT : 0;
	zmq_msg_t c;

	zmq_msg_init(&c);
	if (zmq_msg_copy(&c, &m->msg) != 0) {
		zmq_msg_close(&c);
		return UCR_ENOMEM;
	}
	if ((rid && zmq_send(sock, rid, ridlen, flags | ZMQ_SNDMORE) < 0) ||
	    zmq_msg_send(&c, sock, flags) < 0) {
		int rc = send_err();

		zmq_msg_close(&c);
		return rc;
	}
	return 0;
}

void
ucr_wire_shared_free(struct ucr_wire_shared *m)
{
	if (m == NULL)
		return;
	zmq_msg_close(&m->msg);
	free(m);
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
	/* keep the part and point into it: no copy of up to 8 MiB */
	if ((m->zmsg = malloc(sizeof(zmq_msg_t))) == NULL) {
		zmq_msg_close(&part);
		return UCR_ENOMEM;
	}
	zmq_msg_init(m->zmsg);
	zmq_msg_move(m->zmsg, &part);
	zmq_msg_close(&part);
	m->len = zmq_msg_size(m->zmsg);
	m->data = zmq_msg_data(m->zmsg);
	return 0;
}

void
ucr_wire_msg_free(struct ucr_wire_msg *m)
{
	if (m->zmsg) {
		zmq_msg_close(m->zmsg);
		free(m->zmsg);
	}
	m->zmsg = NULL;
	m->data = NULL;
	m->len = 0;
}
