/*
 * wire.c: the sync protocol's frames (see wire.h): encoding, decoding and
 * naming them. Sending and receiving them on ZeroMQ sockets is
 * wire_zmq.c, linked only into the daemons: ucr does not link libzmq.
 */
#include <stdlib.h>
#include <string.h>

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
