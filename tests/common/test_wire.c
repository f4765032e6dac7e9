/* test_wire.c: frames on real ZeroMQ sockets (inproc ROUTER/DEALER). */
#include <time.h>
#include <zmq.h>

#include "storeutil.h"
#include "wire.h"

static void *ctx, *router, *dealer;

static void
setup(void)
{
	int zero = 0;

	ctx = zmq_ctx_new();
	router = zmq_socket(ctx, ZMQ_ROUTER);
	dealer = zmq_socket(ctx, ZMQ_DEALER);
	zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof(zero));
	cr_assert_eq(zmq_bind(router, "inproc://wire-test"), 0);
	cr_assert_eq(zmq_connect(dealer, "inproc://wire-test"), 0);
}

static void
teardown(void)
{
	zmq_close(router);
	zmq_close(dealer);
	zmq_ctx_term(ctx);
}

TestSuite(wire, .init = setup, .fini = teardown, .timeout = 30);

static int
wait_in(void *sock)
{
	zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};

	return zmq_poll(&it, 1, 2000);
}

Test(wire, hello_roundtrip_with_routing_id)
{
	Ucr__Frame f = UCR__FRAME__INIT, *got;
	Ucr__Hello h = UCR__HELLO__INIT;
	struct ucr_wire_msg m;
	uint8_t author[32];

	memset(author, 9, sizeof(author));
	h.version = UCR_PROTOCOL_VERSION;
	h.author.data = author;
	h.author.len = 32;
	h.epoch = 42;
	h.head_seq = 7;
	f.body_case = UCR__FRAME__BODY_HELLO;
	f.hello = &h;
	cr_assert_eq(ucr_wire_send(dealer, NULL, 0, &f, 0), 0);
	cr_assert_eq(wait_in(router), 1);
	cr_assert_eq(ucr_wire_recv(router, 1, &m), 0);
	cr_assert_gt(m.ridlen, 0);
	cr_assert_eq(ucr_wire_decode(&got, m.data, m.len), 0);
	cr_assert_eq(got->body_case, UCR__FRAME__BODY_HELLO);
	cr_assert_eq(got->hello->epoch, 42);
	cr_assert_eq(got->hello->head_seq, 7);
	cr_assert_str_eq(ucr_wire_name(got), "hello");
	ucr__frame__free_unpacked(got, NULL);
	/* and back through the routing id */
	f.body_case = UCR__FRAME__BODY_HELLO;
	cr_assert_eq(ucr_wire_send(router, m.rid, m.ridlen, &f, 1), 0);
	ucr_wire_msg_free(&m);
	cr_assert_eq(wait_in(dealer), 1);
	cr_assert_eq(ucr_wire_recv(dealer, 0, &m), 0);
	cr_assert_eq(ucr_wire_decode(&got, m.data, m.len), 0);
	ucr__frame__free_unpacked(got, NULL);
	ucr_wire_msg_free(&m);
}

Test(wire, garbage_truncated_and_empty_refused)
{
	Ucr__Frame *f = NULL;
	uint8_t junk[] = {0xff, 0xfe, 0xfd, 0x01, 0x02};
	uint8_t *buf;
	size_t len;
	Ucr__Frame ok = UCR__FRAME__INIT;
	Ucr__Ack a = UCR__ACK__INIT;

	cr_assert_eq(ucr_wire_decode(&f, junk, sizeof(junk)), UCR_EPROTO);
	cr_assert_eq(ucr_wire_decode(&f, (const uint8_t *)"", 0), UCR_EPROTO);
	cr_assert_null(f);
	ok.body_case = UCR__FRAME__BODY_ACK;
	ok.ack = &a;
	a.seq = 123456789;
	cr_assert_eq(ucr_wire_encode(&buf, &len, &ok), 0);
	cr_assert_eq(ucr_wire_decode(&f, buf, len - 1), UCR_EPROTO);
	cr_assert_eq(ucr_wire_decode(&f, buf, len), 0);
	cr_assert_eq(f->ack->seq, 123456789);
	ucr__frame__free_unpacked(f, NULL);
	free(buf);
}

Test(wire, unknown_frame_type_refused)
{
	/* field 99, varint: a frame type this version does not know */
	uint8_t unknown[] = {0xf8, 0x06, 0x01};
	Ucr__Frame *f = NULL;

	cr_assert_eq(ucr_wire_decode(&f, unknown, sizeof(unknown)), UCR_EPROTO);
}

Test(wire, oversized_refused)
{
	static uint8_t big[UCR_WIRE_MAXMSG + 1];
	Ucr__Frame *f = NULL;

	cr_assert_eq(ucr_wire_decode(&f, big, sizeof(big)), UCR_ETOOBIG);
}

Test(wire, extra_parts_refused_and_drained)
{
	struct ucr_wire_msg m;

	cr_assert_eq(zmq_send(dealer, "a", 1, ZMQ_SNDMORE), 1);
	cr_assert_eq(zmq_send(dealer, "b", 1, 0), 1);
	cr_assert_eq(wait_in(router), 1);
	cr_assert_eq(ucr_wire_recv(router, 1, &m), UCR_EPROTO);
	ucr_wire_msg_free(&m);
	/* the socket is usable for the next message */
	cr_assert_eq(zmq_send(dealer, "c", 1, 0), 1);
	cr_assert_eq(wait_in(router), 1);
	cr_assert_eq(ucr_wire_recv(router, 1, &m), 0);
	cr_assert_eq(m.len, 1);
	ucr_wire_msg_free(&m);
	cr_assert_eq(ucr_wire_recv(router, 1, &m), UCR_EAGAIN);
}

/*
 * The unpack budget: millions of empty repeated holds (2 bytes each, ~100
 * bytes each once unpacked) are refused with EBUDGET, quickly; an honest
 * batch of 10 000 entries, the protocol's most, decodes.
 */
Test(wire, unpack_budget)
{
	size_t n = (UCR_WIRE_MAXMSG - 64) / 2, len = 0, i;
	uint8_t *buf = malloc(UCR_WIRE_MAXMSG);
	Ucr__Frame *f = NULL, fr = UCR__FRAME__INIT;
	Ucr__Batch b = UCR__BATCH__INIT;
	ProtobufCBinaryData *ents;
	uint8_t ent[120] = {0}, sig[64] = {0}, *enc;
	struct timespec t0, t1;

	cr_assert_not_null(buf);
	/* Frame.hello { holds: {} x n }: lengths as 4-byte varints */
	buf[len++] = 0x0a;
	buf[len++] = (uint8_t)(((2 * n) & 0x7f) | 0x80);
	buf[len++] = (uint8_t)((((2 * n) >> 7) & 0x7f) | 0x80);
	buf[len++] = (uint8_t)((((2 * n) >> 14) & 0x7f) | 0x80);
	buf[len++] = (uint8_t)(((2 * n) >> 21) & 0x7f);
	for (i = 0; i < n; i++) {
		buf[len++] = 0x32;
		buf[len++] = 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(ucr_wire_decode(&f, buf, len), UCR_EBUDGET);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_lt((t1.tv_sec - t0.tv_sec) * 1000 +
		(t1.tv_nsec - t0.tv_nsec) / 1000000,
	    1000, "refusing took over a second");
	free(buf);

	ents = calloc(10000, sizeof(*ents));
	cr_assert_not_null(ents);
	for (i = 0; i < 10000; i++) {
		ents[i].data = ent;
		ents[i].len = sizeof(ent);
	}
	b.author.data = sig;
	b.author.len = 32;
	b.epoch = 1;
	b.first_seq = 1;
	b.last_seq = 10000;
	b.entries = ents;
	b.n_entries = 10000;
	b.signature.data = sig;
	b.signature.len = 64;
	fr.body_case = UCR__FRAME__BODY_BATCH;
	fr.batch = &b;
	cr_assert_eq(ucr_wire_encode(&enc, &len, &fr), 0);
	cr_assert_eq(ucr_wire_decode(&f, enc, len), 0);
	cr_assert_eq(f->batch->n_entries, 10000);
	ucr__frame__free_unpacked(f, NULL);
	free(enc);
	free(ents);
}
