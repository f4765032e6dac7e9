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

/* What one frame's unpack may still allocate (see UCR_WIRE_UNPACK_*). */
struct unpack_budget {
	size_t bytes;
	size_t allocs;
	int over;
};

static void *
budget_alloc(void *arg, size_t size)
{
	struct unpack_budget *b = arg;

	if (b->allocs == 0 || size > b->bytes) {
		b->over = 1;
		return NULL;
	}
	b->allocs--;
	b->bytes -= size;
	return malloc(size ? size : 1);
}

static void
budget_free(void *arg, void *p)
{
	/* the budget is spent on the way in; freeing does not refund it */
	(void)arg;
	free(p);
}

int
ucr_wire_decode(Ucr__Frame **out, const uint8_t *buf, size_t len)
{
	struct unpack_budget b = {UCR_WIRE_UNPACK_BYTES(len),
	    UCR_WIRE_UNPACK_ALLOCS, 0};
	/* malloc underneath: the result is freed with the default allocator */
	ProtobufCAllocator a = {budget_alloc, budget_free, &b};
	Ucr__Frame *f;

	*out = NULL;
	if (len > UCR_WIRE_MAXMSG)
		return UCR_ETOOBIG;
	if ((f = ucr__frame__unpack(&a, len, buf)) == NULL)
		return b.over ? UCR_EBUDGET : UCR_EPROTO;
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
	case UCR__FRAME__BODY_VIEW_QUERY:
		return "view query";
	case UCR__FRAME__BODY_VIEW_ANSWER:
		return "view answer";
	case UCR__FRAME__BODY_RECORD_QUERY:
		return "record query";
	case UCR__FRAME__BODY_RECORD_ANSWER:
		return "record answer";
	default:
		return "none";
	}
}

size_t
ucr_wire_first_unknown_kind(const Ucr__Batch *b, uint32_t revision,
    uint32_t *kind)
{
	size_t i;

	if (revision >= UCR_PROTOCOL_REVISION)
		return b->n_entries;
	for (i = 0; i < b->n_entries; i++) {
		Ucr__Entry *e = ucr__entry__unpack(NULL, b->entries[i].len,
		    b->entries[i].data);
		uint32_t k;

		if (e == NULL)
			continue;
		k = e->kind;
		ucr__entry__free_unpacked(e, NULL);
		if (k > UCR_REV0_KIND_MAX) {
			if (kind)
				*kind = k;
			return i;
		}
	}
	return b->n_entries;
}
