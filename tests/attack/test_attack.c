/*
 * test_attack.c: the attack catalogue (docs/security.md). Each case starts
 * a real region on loopback -- ucr-hub, one honest ucr-node (2480) that
 * has synced a record, and an enrolled attacker key (2403) -- and attacks
 * it with the protocol client of tests/region.h, a raw ZeroMQ socket, a
 * misconfigured real node or the ucr command. Every case then asserts:
 *
 *   - the attack is refused with the expected code (an Error frame), or
 *     the connection is refused (the ZAP cases: no frame ever comes back);
 *   - the digest of every store ("ucr digest") is unchanged;
 *   - the daemons are alive;
 *   - the honest node still syncs: a record it writes reaches the hub and
 *     the two agree again.
 *
 * The table in docs/security.md lists every case with its expected refusal
 * and test name; keep the two in step.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <zmq.h>

#include "chain.h"
#include "error.h"
#include "keys.h"
#include "record.h"
#include "region.h"
#include "store.h"
#include "testutil.h"
#include "wire.h"

/* Fallback ports 17400 + 200 + case number (region_init picks free ones). */
#define BASE 200
/* The hub's memory budget (docs/security.md): its peak resident size. */
#define HUB_PEAK_MAX_KB (64 * 1024)
/*
 * Memory is judged only without AddressSanitizer: its shadow memory and
 * quarantine of freed blocks make a daemon's size say nothing about what
 * the daemon holds.
 */
#if defined(__SANITIZE_ADDRESS__)
#define MEMORY_CHECKED 0
#else
#define MEMORY_CHECKED 1
#endif

static struct ucr_key *atk; /* the attacker: enrolled as node 2403 */
static char atkhex[65];
static struct client c;
static struct digest before_hub, before_node;
static int snapped;

static void
attack_setup(void)
{
	region_setup();
	atk = NULL;
	memset(&c, 0, sizeof(c));
	snapped = 0;
}

static void
attack_teardown(void)
{
	client_close(&c);
	if (atk)
		ucr_key_free(atk);
	atk = NULL;
	if (snapped) {
		digest_free(&before_hub);
		digest_free(&before_node);
	}
	region_teardown();
}

TestSuite(attack, .init = attack_setup, .fini = attack_teardown, .timeout = 90);

/* ---------------------------------------------------------------- arena */

/*
 * The region under attack: the hub, the honest node 2480 with one record
 * synced, and the attacker's enrolled key. open: connect the attacker's
 * protocol client and see it answered.
 */
static void
arena(int n, int open)
{
	int which[] = {0, -1};

	region_init(BASE + n);
	hub_start();
	node_new("2480", "2480", -1);
	enrol("2480", nodes[0].hex);
	node_up(0);
	write_one(&nodes[0], "H0");
	atk = enrolled_key("2403", "attacker");
	ucr_hex(atkhex, atk->pk, 32);
	converge(-1, which);
	if (open) {
		client_open(&c, atk);
		cr_assert_eq(expect_usable(&c, "connecting"), 0);
	}
}

/* The attacker's valid start: n entries committed at the hub. */
static void
attacker_log(int n)
{
	int which[] = {0, -1}, i;
	char id[32];

	for (i = 1; i <= n; i++) {
		snprintf(id, sizeof(id), "A%d", i);
		client_network(&c, "2403", id);
	}
	client_push(&c, 1, (uint64_t)n);
	converge(-1, which);
}

/* What every store holds now: the attack must not change it. */
static void
snapshot(void)
{
	cr_assert_eq(digest_get(&hub, &before_hub), 0);
	cr_assert_eq(digest_get(&nodes[0], &before_node), 0);
	snapped = 1;
}

static void
same_digest(const struct site *s, const struct digest *was, int logs)
{
	struct digest d;

	cr_assert_eq(digest_get(s, &d), 0, "%s: no digest\n%s", s->name,
	    tail(s));
	cr_assert_eq(d.records, was->records, "%s: %lld records, was %lld",
	    s->name, d.records, was->records);
	cr_assert_eq(d.entries, was->entries, "%s: %lld entries, was %lld",
	    s->name, d.entries, was->entries);
	cr_assert_str_eq(d.view, was->view, "%s: view digest changed", s->name);
	if (logs)
		cr_assert(json_equal(d.logs, was->logs),
		    "%s: heads changed:\n%s\nwas\n%s", s->name,
		    json_dumps(d.logs, JSON_COMPACT),
		    json_dumps(was->logs, JSON_COMPACT));
	digest_free(&d);
}

/*
 * The hub and the honest node hold the same records (not comparing heads:
 * a log the hub stopped shows as stopped only in the hub's digest).
 */
static void
converge_records(long long records)
{
	long end = now_ms() + CONVERGE_MS;
	struct digest h, n;
	int same = 0;

	while (!same) {
		cr_assert_lt(now_ms(), end, "no convergence:\n%s", tail(&hub));
		cr_assert_eq(digest_get(&hub, &h), 0);
		cr_assert_eq(digest_get(&nodes[0], &n), 0);
		same = h.records == records && n.records == records &&
		    h.entries == n.entries && strcmp(h.view, n.view) == 0;
		digest_free(&h);
		digest_free(&n);
		if (!same)
			sleep_ms(100);
	}
}

/*
 * After the attack: stores unchanged (logs: the heads too; a fork stops
 * the attacker's log, which shows in its head), daemons alive, and the
 * honest node's next record reaches the hub.
 */
static void
aftermath_logs(int logs)
{
	int which[] = {0, -1};

	sleep_ms(200);
	cr_assert(alive(&hub), "the hub died:\n%s", tail(&hub));
	cr_assert(alive(&nodes[0]), "the node died:\n%s", tail(&nodes[0]));
	same_digest(&hub, &before_hub, logs);
	same_digest(&nodes[0], &before_node, logs);
	write_one(&nodes[0], "AFTER");
	if (logs)
		converge(before_hub.records + 1, which);
	else
		converge_records(before_hub.records + 1);
	cr_assert(hub_holds("2480/network/AFTER"));
	cr_assert(alive(&hub), "the hub died:\n%s", tail(&hub));
	verify_store(&hub);
}

static void
aftermath(void)
{
	aftermath_logs(1);
}

/* Send one batch of the client's entries and expect code. */
static void
batch_refused(uint64_t first, uint64_t last, int code, const char *what)
{
	struct batch bt;

	client_batch(&c, &bt, first, last, NULL);
	client_send_batch(&c, &bt);
	expect_error(&c, code, what);
}

/* Nothing comes back to the client within ms (the ZAP cases). */
static void
expect_silence(struct client *cl, int ms, const char *what)
{
	Ucr__Frame *f = client_answer(cl, ms);

	cr_assert_null(f, "%s: got a %s frame", what,
	    f ? ucr_wire_name(f) : "");
}

static uint64_t
wall_hlc(int64_t offset_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 +
		   offset_ms)
	    << 16;
}

/* An encoded Frame of any kind (caller frees). */
static uint8_t *
frame_bytes(const Ucr__Frame *f, size_t *len)
{
	uint8_t *buf;

	cr_assert_eq(ucr_wire_encode(&buf, len, f), 0);
	return buf;
}

/* A hello of the attacker's own log with extra holds. */
static void
hello_with(Ucr__LogHead **holds, size_t n, Ucr__Frame *f, Ucr__Hello *h)
{
	ucr__frame__init(f);
	ucr__hello__init(h);
	h->version = UCR_PROTOCOL_VERSION;
	h->author.data = atk->pk;
	h->author.len = 32;
	h->epoch = c.epoch;
	h->head_seq = c.n;
	h->head_hash.data = c.hash[c.n];
	h->head_hash.len = 32;
	h->holds = holds;
	h->n_holds = n;
	f->body_case = UCR__FRAME__BODY_HELLO;
	f->hello = h;
}

/* The hub still answers its control socket within ms. */
static void
hub_responsive(int ms, const char *after)
{
	long t0 = now_ms();
	json_t *j = ctl_query(&hub, "stats", ms);

	cr_assert_not_null(j, "after %s the hub did not answer within %d ms",
	    after, ms);
	json_decref(j);
	cr_assert_leq(now_ms() - t0, ms);
}

static void
hub_rss_bounded(const char *after)
{
	long kb = peak_kb(hub.pid);

	cr_assert_gt(kb, 0);
	if (MEMORY_CHECKED)
		cr_assert_leq(kb, HUB_PEAK_MAX_KB,
		    "after %s the hub peaked at %ld KiB", after, kb);
}

/* ================================================================ the door */

/*
 * A raw DEALER with the NULL or PLAIN mechanism, or CURVE with a given
 * server key: does any frame come back to a hello, and did the handshake
 * ever succeed (socket monitor)?
 */
enum mech { MECH_NULL, MECH_PLAIN };

static void
raw_door(enum mech mech, int *answered, int *handshake_ok, int *failed)
{
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
	void *mon = zmq_socket(ctx, ZMQ_PAIR);
	Ucr__Frame f;
	Ucr__Hello h;
	uint8_t *buf;
	size_t len;
	char ep[64];
	int zero = 0;
	long end;

	*answered = *handshake_ok = *failed = 0;
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(mon, ZMQ_LINGER, &zero, sizeof(zero));
	if (mech == MECH_PLAIN) {
		zmq_setsockopt(s, ZMQ_PLAIN_USERNAME, "2403", 4);
		zmq_setsockopt(s, ZMQ_PLAIN_PASSWORD, "secret", 6);
	}
	cr_assert_eq(zmq_socket_monitor(s, "inproc://attack-mon",
			 ZMQ_EVENT_ALL),
	    0);
	cr_assert_eq(zmq_connect(mon, "inproc://attack-mon"), 0);
	snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", port);
	cr_assert_eq(zmq_connect(s, ep), 0);
	hello_with(NULL, 0, &f, &h);
	buf = frame_bytes(&f, &len);
	zmq_send(s, buf, len, ZMQ_DONTWAIT);
	free(buf);
	end = now_ms() + 1500;
	while (now_ms() < end) {
		zmq_pollitem_t both[2] = {{s, 0, ZMQ_POLLIN, 0},
		    {mon, 0, ZMQ_POLLIN, 0}};

		if (zmq_poll(both, 2, 100) <= 0)
			continue;
		if (both[0].revents & ZMQ_POLLIN) {
			zmq_msg_t m;

			zmq_msg_init(&m);
			if (zmq_msg_recv(&m, s, 0) >= 0)
				*answered = 1;
			zmq_msg_close(&m);
		}
		if (both[1].revents & ZMQ_POLLIN) {
			zmq_msg_t ev, addr;
			uint16_t event;

			zmq_msg_init(&ev);
			zmq_msg_init(&addr);
			zmq_msg_recv(&ev, mon, 0);
			zmq_msg_recv(&addr, mon, 0);
			memcpy(&event, zmq_msg_data(&ev), 2);
			cr_log_info("%s client: event 0x%x",
			    mech == MECH_NULL ? "NULL" : "PLAIN", event);
			if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
				*handshake_ok = 1;
			if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
			    event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
			    event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
			    event == ZMQ_EVENT_DISCONNECTED)
				*failed = 1;
			zmq_msg_close(&ev);
			zmq_msg_close(&addr);
		}
	}
	zmq_socket_monitor(s, NULL, 0);
	zmq_close(mon);
	zmq_close(s);
	zmq_ctx_term(ctx);
}

static void
door_case(int n, enum mech mech)
{
	long long denied0;
	int answered, ok, failed;

	arena(n, 0);
	snapshot();
	denied0 = hub_counter("denied");
	raw_door(mech, &answered, &ok, &failed);
	cr_assert_not(answered, "a %s client got a frame back",
	    mech == MECH_NULL ? "NULL" : "PLAIN");
	cr_assert_not(ok, "a %s client completed the handshake",
	    mech == MECH_NULL ? "NULL" : "PLAIN");
	cr_assert(failed, "the client saw no handshake failure");
	/* the mechanism mismatch ends it before the ZAP handler is asked */
	cr_assert_eq(hub_counter("denied"), denied0);
	cr_assert_not(log_has(&hub, "peer ?"), "%s", tail(&hub));
	aftermath();
}

Test(attack, null_mechanism)
{
	door_case(1, MECH_NULL);
}

Test(attack, plain_mechanism)
{
	door_case(2, MECH_PLAIN);
}

Test(attack, unknown_key)
{
	struct ucr_key *k;
	struct client u;
	long long denied0;

	arena(3, 0);
	snapshot();
	denied0 = hub_counter("denied");
	cr_assert_eq(ucr_key_generate(&k), 0);
	client_open(&u, k);
	client_hello(&u);
	expect_silence(&u, 1500, "an unknown key");
	client_close(&u);
	ucr_key_free(k);
	cr_assert_gt(hub_counter("denied"), denied0);
	cr_assert(log_has(&hub, "zap: refused unknown key"), "%s", tail(&hub));
	aftermath();
}

Test(attack, revoked_key)
{
	struct client r;
	long long denied0;

	arena(4, 0);
	ucr_ok(&hub, "roster revoke %s", atkhex);
	{
		int which[] = {0, -1};

		converge(-1, which);
	}
	snapshot();
	denied0 = hub_counter("denied");
	client_open(&r, atk);
	client_hello(&r);
	expect_silence(&r, 1500, "a revoked key");
	client_close(&r);
	cr_assert_gt(hub_counter("denied"), denied0);
	cr_assert(log_has(&hub, "zap: refused revoked key"), "%s", tail(&hub));
	aftermath();
}

Test(attack, revoked_while_connected)
{
	int which[] = {0, -1};

	arena(5, 1);
	attacker_log(1);
	ucr_ok(&hub, "roster revoke %s", atkhex);
	converge(-1, which);
	snapshot();
	client_network(&c, "2403", "LATE");
	batch_refused(2, 2, UCR_EROSTER, "a batch after revocation");
	client_hello(&c);
	expect_error(&c, UCR_EROSTER, "a hello after revocation");
	aftermath();
}

Test(attack, reader_key_writes)
{
	char path[700], hex[65];
	struct ucr_key *rk;
	struct client r;
	struct batch bt;
	int which[] = {0, -1};

	arena(6, 0);
	snprintf(path, sizeof(path), "%s/reader.key", dir);
	keygen(path, hex);
	cr_assert_eq(ucr_key_load(&rk, path), 0);
	ucr_ok(&hub, "roster add 2401 %s --role reader", hex);
	converge(-1, which);
	snapshot();
	client_open(&r, rk);
	cr_assert_eq(expect_usable(&r, "a reader's hello"), 0);
	client_network(&r, "2401", "R1");
	client_batch(&r, &bt, 1, 1, NULL);
	client_send_batch(&r, &bt);
	expect_error(&r, UCR_EROSTER, "a reader's batch");
	client_close(&r);
	ucr_key_free(rk);
	aftermath();
}

/* A real node configured with the wrong hub key never gets in. */
Test(attack, wrong_hub_key_on_node)
{
	struct ucr_key *fake;
	char fakehex[65], buf[4096];
	long long denied0;
	int i;
	struct site *s;

	arena(7, 0);
	i = node_new("2401", "2401", -1);
	s = &nodes[i];
	enrol("2401", s->hex);
	cr_assert_eq(ucr_key_generate(&fake), 0);
	ucr_hex(fakehex, fake->pk, 32);
	ucr_key_free(fake);
	snprintf(buf, sizeof(buf),
	    "[node]\nmunicipality = 2401\nkey = %s\ndata = %s\n"
	    "control = %s\nhub = tcp://127.0.0.1:%d\nhub_key = %s\n",
	    s->key, s->data, s->ctl, port, fakehex);
	cr_assert_eq(tu_write(s->conf, buf), 0);
	{
		int which[] = {0, -1};

		converge(-1, which);
	}
	snapshot();
	denied0 = hub_counter("denied");
	node_start(i);
	sleep_ms(2500);
	cr_assert(alive(s), "the misconfigured node died:\n%s", tail(s));
	cr_assert(link_is(s, "hello"), "the node got past hello");
	/* the CURVE handshake fails before the hub's ZAP handler is asked */
	cr_assert_eq(hub_counter("denied"), denied0);
	{
		json_t *p = hub_peer(s->hex);

		cr_assert_not(json_is_true(json_object_get(p, "connected")),
		    "%s", json_dumps(p, 0));
		json_decref(p);
	}
	aftermath();
}

/* ================================================================ hello */

Test(attack, hello_for_another_key)
{
	Ucr__Frame f;
	Ucr__Hello h;

	arena(8, 1);
	snapshot();
	hello_with(NULL, 0, &f, &h);
	h.author.data = hubpk; /* the hub's key, not the connection's */
	client_send(&c, &f);
	expect_error(&c, UCR_EPROTO, "a hello for another key");
	aftermath();
}

Test(attack, hello_epoch_zero)
{
	Ucr__Frame f;
	Ucr__Hello h;

	arena(9, 1);
	snapshot();
	hello_with(NULL, 0, &f, &h);
	h.epoch = 0;
	client_send(&c, &f);
	expect_error(&c, UCR_EPROTO, "a hello with epoch 0");
	aftermath();
}

Test(attack, hello_unknown_version)
{
	Ucr__Frame f;
	Ucr__Hello h;

	arena(10, 1);
	snapshot();
	hello_with(NULL, 0, &f, &h);
	h.version = 99;
	client_send(&c, &f);
	expect_error(&c, UCR_EPROTO, "protocol version 99");
	aftermath();
}

/* ================================================================ batches */

Test(attack, author_connection_mismatch)
{
	struct client o;
	struct batch bt;
	uint8_t *rb;
	size_t rlen, i;

	int which[] = {0, -1};

	arena(11, 1);
	/* a second enrolled key, whose validly signed batch the attacker
	 * sends on its own connection */
	memset(&o, 0, sizeof(o));
	o.key = enrolled_key("2401", "second");
	o.epoch = 77;
	converge(-1, which);
	snapshot();
	network_bytes(&rb, &rlen, "2401", "O1");
	client_entry(&o, rb, rlen, UCR__RECORD__BODY_NETWORK);
	client_batch(&o, &bt, 1, 1, NULL);
	client_send_batch(&c, &bt);
	expect_error(&c, UCR_EOWNER, "another author's batch");
	for (i = 1; i <= o.n; i++)
		free(o.ent[i]);
	ucr_key_free(o.key);
	aftermath();
}

Test(attack, bad_signature_other_key)
{
	struct ucr_key *k;
	struct batch bt;

	arena(12, 1);
	attacker_log(2);
	snapshot();
	cr_assert_eq(ucr_key_generate(&k), 0);
	client_network(&c, "2403", "X3");
	client_batch(&c, &bt, 3, 3, k);
	client_send_batch(&c, &bt);
	expect_error(&c, UCR_EBADSIG, "a batch signed by another key");
	ucr_key_free(k);
	aftermath();
}

Test(attack, bad_signature_flipped_bit)
{
	struct batch bt;

	arena(13, 1);
	attacker_log(2);
	snapshot();
	client_network(&c, "2403", "X3");
	client_batch(&c, &bt, 3, 3, NULL);
	bt.sig[17] ^= 0x20;
	client_send_batch(&c, &bt);
	expect_error(&c, UCR_EBADSIG, "a signature with one bit flipped");
	aftermath();
}

/*
 * The same entry encoded again (a duplicated field: the same Entry to a
 * decoder, other bytes): the signature covers the hash of the bytes, so
 * the signature made over the original does not verify.
 */
Test(attack, reencoded_entry)
{
	struct batch bt;
	uint8_t *re;
	size_t n;

	arena(14, 1);
	attacker_log(2);
	snapshot();
	client_network(&c, "2403", "X3");
	client_batch(&c, &bt, 3, 3, NULL); /* signed over the original */
	n = c.entlen[3];
	re = malloc(n + 2);
	cr_assert_not_null(re);
	memcpy(re, c.ent[3], n);
	re[n] = 0x28; /* field 5 (kind), varint, again */
	re[n + 1] = UCR__RECORD__BODY_NETWORK;
	bt.ents[0].data = re;
	bt.ents[0].len = n + 2;
	client_send_batch(&c, &bt);
	expect_error(&c, UCR_EBADSIG, "a re-encoded entry");
	free(re);
	aftermath();
}

Test(attack, replay)
{
	struct batch bt;

	arena(15, 1);
	attacker_log(3);
	snapshot();
	client_batch(&c, &bt, 1, 2, NULL);
	client_send_batch(&c, &bt);
	cr_assert_eq(expect_error(&c, UCR_EDUP, "a replayed batch"), 3,
	    "the error names the hub's head");
	aftermath();
}

Test(attack, other_region_signature)
{
	struct batch bt;

	arena(16, 1);
	attacker_log(2);
	snapshot();
	client_network(&c, "2403", "X3");
	client_batch(&c, &bt, 3, 3, NULL);
	ucr_batch_sign(&bt.b, atk, "skelleftea", c.hash[3]);
	client_send_batch(&c, &bt);
	expect_error(&c, UCR_EBADSIG, "a batch signed for another region");
	aftermath();
}

Test(attack, other_domain_signature)
{
	struct batch bt;
	uint8_t msg[UCR_SIGMSG_LEN];

	arena(17, 1);
	attacker_log(2);
	snapshot();
	client_network(&c, "2403", "X3");
	client_batch(&c, &bt, 3, 3, NULL);
	ucr_batch_sigmsg(msg, atk->pk, c.epoch, 3, c.hash[3]);
	ucr_sig_sign(bt.sig, atk, REGION, "checkpoint", msg, sizeof(msg));
	client_send_batch(&c, &bt);
	expect_error(&c, UCR_EBADSIG, "a signature of the checkpoint domain");
	aftermath();
}

/* Inside one batch, entry 4's prev is not the hash of entry 3. */
Test(attack, broken_chain)
{
	uint8_t *rb, prev[32];
	size_t rlen;

	arena(18, 1);
	attacker_log(2);
	snapshot();
	client_network(&c, "2403", "X3");
	network_bytes(&rb, &rlen, "2403", "X4");
	randombytes_buf(prev, sizeof(prev));
	c.n = 4;
	c.time = ucr_hlc_next(c.time);
	cr_assert_eq(ucr_entry_encode(&c.ent[4], &c.entlen[4], c.epoch, 4, prev,
			 c.time, UCR__RECORD__BODY_NETWORK, rb, rlen),
	    0);
	ucr_hash(c.hash[4], c.ent[4], c.entlen[4]);
	free(rb);
	batch_refused(3, 4, UCR_ECHAIN,
	    "an entry whose prev is not its "
	    "predecessor's hash");
	aftermath();
}

Test(attack, gap)
{
	struct batch bt;

	arena(19, 1);
	attacker_log(2);
	snapshot();
	client_network(&c, "2403", "X3");
	client_network(&c, "2403", "X4");
	client_batch(&c, &bt, 4, 4, NULL);
	client_send_batch(&c, &bt);
	cr_assert_eq(expect_error(&c, UCR_EGAP, "a batch skipping a seq"), 2,
	    "the error names the hub's head");
	aftermath();
}

Test(attack, hole_in_batch)
{
	struct batch bt;

	arena(20, 1);
	attacker_log(2);
	snapshot();
	client_network(&c, "2403", "X3");
	client_network(&c, "2403", "X4");
	client_network(&c, "2403", "X5");
	client_batch(&c, &bt, 3, 5, NULL);
	bt.ents[1] = bt.ents[2];
	bt.b.n_entries = 2;
	ucr_batch_sign(&bt.b, atk, REGION, c.hash[5]);
	client_send_batch(&c, &bt);
	expect_error(&c, UCR_EGAP, "a batch with a hole");
	aftermath();
}

Test(attack, seqs_out_of_order)
{
	struct batch bt;
	ProtobufCBinaryData t;

	arena(21, 1);
	attacker_log(2);
	snapshot();
	client_network(&c, "2403", "X3");
	client_network(&c, "2403", "X4");
	client_batch(&c, &bt, 3, 4, NULL);
	t = bt.ents[0];
	bt.ents[0] = bt.ents[1];
	bt.ents[1] = t;
	client_send_batch(&c, &bt);
	expect_error(&c, UCR_EORDER, "entries out of order");
	aftermath();
}

Test(attack, epoch_mismatch_in_batch)
{
	uint8_t *rb;
	size_t rlen;

	arena(22, 1);
	attacker_log(2);
	snapshot();
	network_bytes(&rb, &rlen, "2403", "X3");
	c.n = 3;
	c.time = ucr_hlc_next(c.time);
	cr_assert_eq(ucr_entry_encode(&c.ent[3], &c.entlen[3], c.epoch + 2, 3,
			 c.hash[2], c.time, UCR__RECORD__BODY_NETWORK, rb,
			 rlen),
	    0);
	ucr_hash(c.hash[3], c.ent[3], c.entlen[3]);
	free(rb);
	batch_refused(3, 3, UCR_EPROTO, "an entry of another epoch");
	aftermath();
}

/*
 * A signed entry that differs from the one held at its seq: a fork. The
 * log is stopped and the evidence kept (so the attacker's head changes:
 * it is marked stopped), nothing of it is merged, everything else goes on.
 */
Test(attack, fork)
{
	struct digest d;
	int stopped = 0;

	arena(23, 1);
	attacker_log(3);
	snapshot();
	client_drop(&c);
	client_network(&c, "2403", "FORKED");
	batch_refused(3, 3, UCR_EFORK, "a signed conflicting entry");
	cr_assert_eq(digest_get(&hub, &d), 0);
	cr_assert_eq(digest_seq(&d, atkhex, &stopped), 3);
	cr_assert(stopped, "the forked log is stopped");
	digest_free(&d);
	cr_assert_geq(hub_quarantined(), 1);
	cr_assert_not(hub_holds("2403/network/FORKED"));
	aftermath_logs(0);
}

Test(attack, new_epoch_not_accepted)
{
	uint64_t old;

	arena(24, 1);
	attacker_log(1);
	snapshot();
	/* the same key starts a new log (a wiped store) */
	old = c.epoch;
	free(c.ent[1]);
	c.n = 0;
	c.epoch = old + 2;
	client_network(&c, "2403", "E1");
	batch_refused(1, 1, UCR_EEPOCH, "a batch of an unaccepted epoch");
	aftermath();
}

/* ================================================================ records */

Test(attack, other_municipality_record)
{
	arena(25, 1);
	attacker_log(1);
	snapshot();
	client_network(&c, "2480", "STOLEN");
	batch_refused(2, 2, UCR_EOWNER, "a record of 2480 from 2403");
	aftermath();
}

static void
vision_bytes(uint8_t **out, size_t *len)
{
	Ucr__Record r = UCR__RECORD__INIT;
	Ucr__Vision v = UCR__VISION__INIT;

	r.key = "region/vision/vision";
	r.owner = "region";
	r.body_case = UCR__RECORD__BODY_VISION;
	r.vision = &v;
	v.text = "Ours now";
	v.year = 2050;
	cr_assert_eq(ucr_record_encode(out, len, &r), 0);
}

Test(attack, region_record_by_node)
{
	uint8_t *rb;
	size_t rlen;

	arena(26, 1);
	attacker_log(1);
	snapshot();
	vision_bytes(&rb, &rlen);
	client_entry(&c, rb, rlen, UCR__RECORD__BODY_VISION);
	batch_refused(2, 2, UCR_EROLE, "region/vision from a node key");
	aftermath();
}

Test(attack, roster_record_by_node)
{
	struct ucr_key *k;
	uint8_t *rb;
	size_t rlen;

	arena(27, 1);
	attacker_log(1);
	snapshot();
	cr_assert_eq(ucr_key_generate(&k), 0);
	roster_bytes(&rb, &rlen, "region", k->pk, "2480");
	client_entry(&c, rb, rlen, UCR__RECORD__BODY_ROSTER);
	batch_refused(2, 2, UCR_EROLE, "region/roster from a node key");
	ucr_key_free(k);
	aftermath();
}

Test(attack, entry_kind_mismatch)
{
	uint8_t *rb;
	size_t rlen;

	arena(28, 1);
	attacker_log(1);
	snapshot();
	network_bytes(&rb, &rlen, "2403", "K1");
	client_entry(&c, rb, rlen, UCR__RECORD__BODY_TARGET);
	batch_refused(2, 2, UCR_EPROTO,
	    "an entry kind that is not its record's");
	aftermath();
}

/* The client's next entry: 2403/network/BAD, whose date is not one. */
static void
bad_network_entry(void)
{
	Ucr__Record r = UCR__RECORD__INIT;
	Ucr__Network n = UCR__NETWORK__INIT;
	uint8_t *rb;
	size_t rlen;

	r.key = "2403/network/BAD";
	r.owner = "2403";
	r.body_case = UCR__RECORD__BODY_NETWORK;
	r.network = &n;
	n.name = "No date";
	n.joined = "not a date";
	cr_assert_eq(ucr_record_encode(&rb, &rlen, &r), 0);
	client_entry(&c, rb, rlen, UCR__RECORD__BODY_NETWORK);
}

Test(attack, schema_violation)
{
	arena(29, 1);
	attacker_log(1);
	snapshot();
	bad_network_entry();
	batch_refused(2, 2, UCR_ESCHEMA, "a record failing its schema");
	aftermath();
}

/*
 * Refused batches sent at once, so that the hub applies them as one group
 * and checks all but the first ahead on its second thread (store.h,
 * ucr_store_set_precheck): each is refused with the code it gets alone, in
 * the order sent, and nothing of any is stored. The last one's entries and
 * signature are good up to a record that fails its schema.
 */
Test(attack, refused_batches_in_one_group)
{
	struct batch bt[6];
	struct ucr_key *other;
	ProtobufCBinaryData t;
	size_t i;
	static const int want[6] = {UCR_EGAP, UCR_EBADSIG, UCR_EORDER, UCR_EGAP,
	    UCR_EBADSIG, UCR_ESCHEMA};

	arena(64, 1);
	attacker_log(2);
	snapshot();
	for (i = 3; i <= 6; i++) {
		char id[16];

		snprintf(id, sizeof(id), "X%zu", i);
		client_network(&c, "2403", id);
	}
	bad_network_entry(); /* seq 7 */
	cr_assert_eq(ucr_key_generate(&other), 0);
	client_batch(&c, &bt[0], 4, 4, NULL); /* a gap */
	client_batch(&c, &bt[1], 3, 5, NULL);
	bt[1].sig[9] ^= 0x04; /* one bit of the signature */
	client_batch(&c, &bt[2], 3, 4, NULL);
	t = bt[2].ents[0]; /* entries swapped */
	bt[2].ents[0] = bt[2].ents[1];
	bt[2].ents[1] = t;
	client_batch(&c, &bt[3], 3, 5, NULL);
	bt[3].ents[1] = bt[3].ents[2]; /* a hole: 4 missing */
	bt[3].b.n_entries = 2;
	ucr_batch_sign(&bt[3].b, atk, REGION, c.hash[5]);
	client_batch(&c, &bt[4], 3, 6, other); /* another key's signature */
	client_batch(&c, &bt[5], 3, 7, NULL);  /* 7 fails its schema */
	for (i = 0; i < 6; i++)
		client_send_batch(&c, &bt[i]);
	for (i = 0; i < 6; i++) {
		char what[64];

		snprintf(what, sizeof(what), "batch %zu of the burst", i);
		expect_error(&c, want[i], what);
	}
	ucr_key_free(other);
	aftermath();
}

/* ================================================================ roster */

/* The hub's administrator cannot enrol a key as the region. */
Test(attack, roster_add_region_code)
{
	struct ucr_key *k;
	char hex[65], *err = NULL;
	int rc;

	arena(30, 0);
	snapshot();
	cr_assert_eq(ucr_key_generate(&k), 0);
	ucr_hex(hex, k->pk, 32);
	ucr_key_free(k);
	rc = ucr(&hub, NULL, &err, "roster add region %s", hex);
	cr_assert_neq(rc, 0, "roster add region was accepted");
	cr_assert(err && strstr(err, "region") != NULL, "%s", err);
	free(err);
	aftermath();
}

Test(attack, roster_add_unknown_role)
{
	struct ucr_key *k;
	char hex[65];
	int rc;

	arena(31, 0);
	snapshot();
	cr_assert_eq(ucr_key_generate(&k), 0);
	ucr_hex(hex, k->pk, 32);
	ucr_key_free(k);
	rc = ucr(&hub, NULL, NULL, "roster add 2403 %s --role hub", hex);
	cr_assert_neq(rc, 0, "roster add --role hub was accepted");
	rc = ucr(&hub, NULL, NULL, "roster add 2403 %s --role admin", hex);
	cr_assert_neq(rc, 0, "roster add --role admin was accepted");
	aftermath();
}

/* ================================================================ time */

/*
 * The time rules (docs/protocol.md): an entry's time is strictly greater
 * than its predecessor's and at most max_clock_skew ahead of the
 * receiver's clock. The refusal's code is UCR_ETIME.
 */
static void
time_case(int n, uint64_t t, const char *what)
{
	uint8_t *rb;
	size_t rlen;

	arena(n, 1);
	attacker_log(1);
	snapshot();
	network_bytes(&rb, &rlen, "2403", "T2");
	client_entry_at(&c, rb, rlen, UCR__RECORD__BODY_NETWORK, t);
	batch_refused(2, 2, UCR_ETIME, what);
	/* and the hub's clock did not move: a revocation still takes */
	aftermath();
}

Test(attack, clock_max_time)
{
	time_case(32, UINT64_MAX, "time 2^64-1");
}

Test(attack, clock_far_future)
{
	time_case(33, wall_hlc(24 * 3600 * 1000LL), "time a day ahead");
}

Test(attack, clock_not_increasing)
{
	time_case(34, wall_hlc(-3600 * 1000LL), "time before the previous");
}

Test(attack, clock_equal_to_previous)
{
	uint8_t *rb;
	size_t rlen;

	arena(35, 1);
	attacker_log(1);
	snapshot();
	network_bytes(&rb, &rlen, "2403", "T2");
	client_entry_at(&c, rb, rlen, UCR__RECORD__BODY_NETWORK, c.time);
	batch_refused(2, 2, UCR_ETIME, "time equal to the previous");
	aftermath();
}

/*
 * An entry timed before the key was enrolled (valid_from is the enrolment
 * time less max_clock_skew): the key had no authority then.
 */
Test(attack, entry_before_enrolment)
{
	uint8_t *rb;
	size_t rlen;

	arena(53, 1);
	snapshot();
	network_bytes(&rb, &rlen, "2403", "OLD");
	client_entry_at(&c, rb, rlen, UCR__RECORD__BODY_NETWORK,
	    wall_hlc(-3600 * 1000LL));
	batch_refused(1, 1, UCR_EROSTER, "an entry from before enrolment");
	aftermath();
}

/*
 * After a poisoned time was offered, the region's clock still works: a
 * revocation made afterwards takes effect (ZAP refuses the key).
 */
Test(attack, clock_poison_then_revoke)
{
	uint8_t *rb;
	size_t rlen;
	struct client r;

	arena(36, 1);
	attacker_log(1);
	network_bytes(&rb, &rlen, "2403", "T2");
	client_entry_at(&c, rb, rlen, UCR__RECORD__BODY_NETWORK, UINT64_MAX);
	batch_refused(2, 2, UCR_ETIME, "time 2^64-1");
	client_close(&c);
	ucr_ok(&hub, "roster revoke %s", atkhex);
	{
		int which[] = {0, -1};

		converge(-1, which);
	}
	snapshot();
	client_open(&r, atk);
	client_hello(&r);
	expect_silence(&r, 1500, "a key revoked after a poisoned clock");
	client_close(&r);
	aftermath();
}

/* ================================================================ frames */

Test(attack, garbage_frame)
{
	static const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x13,
	    0x37, 0xde, 0xad};

	arena(37, 1);
	snapshot();
	client_send_raw(&c, junk, sizeof(junk));
	expect_error(&c, UCR_EPROTO, "garbage bytes");
	expect_usable(&c, "garbage bytes");
	aftermath();
}

Test(attack, truncated_frame)
{
	struct batch bt;
	Ucr__Frame f = UCR__FRAME__INIT;
	uint8_t *buf;
	size_t len;

	arena(38, 1);
	snapshot();
	client_network(&c, "2403", "A1");
	client_batch(&c, &bt, 1, 1, NULL);
	f.body_case = UCR__FRAME__BODY_BATCH;
	f.batch = &bt.b;
	buf = frame_bytes(&f, &len);
	client_send_raw(&c, buf, len / 2);
	free(buf);
	expect_error(&c, UCR_EPROTO, "a truncated frame");
	aftermath();
}

Test(attack, unknown_frame_type)
{
	static const uint8_t unknown[] = {0x78, 0x01};

	arena(39, 1);
	snapshot();
	client_send_raw(&c, unknown, sizeof(unknown));
	expect_error(&c, UCR_EPROTO, "an unknown frame type");
	aftermath();
}

Test(attack, state_from_node)
{
	Ucr__Frame f = UCR__FRAME__INIT;
	Ucr__State st = UCR__STATE__INIT;

	arena(40, 1);
	snapshot();
	f.body_case = UCR__FRAME__BODY_STATE;
	f.state = &st;
	client_send(&c, &f);
	expect_error(&c, UCR_EPROTO, "a State from a node");
	aftermath();
}

Test(attack, two_part_message)
{
	static const uint8_t part[] = {0x78, 0x01};

	arena(41, 1);
	snapshot();
	cr_assert_geq(zmq_send(c.sock, part, sizeof(part), ZMQ_SNDMORE), 0);
	cr_assert_geq(zmq_send(c.sock, part, sizeof(part), 0), 0);
	expect_error(&c, UCR_EPROTO, "a two-part message");
	aftermath();
}

Test(attack, oversize_frame)
{
	uint8_t *buf;
	size_t len = UCR_WIRE_MAXMSG + 1;

	arena(42, 1);
	snapshot();
	buf = calloc(1, len);
	cr_assert_not_null(buf);
	client_send_raw(&c, buf, len);
	free(buf);
	expect_error(&c, UCR_ETOOBIG, "a frame over the limit");
	aftermath();
}

Test(attack, over_hard_limit)
{
	uint8_t *buf;
	size_t len = UCR_WIRE_DROPMSG + 1024;

	arena(43, 1);
	snapshot();
	buf = calloc(1, len);
	cr_assert_not_null(buf);
	client_send_raw(&c, buf, len);
	free(buf);
	/* libzmq drops the connection; the client reconnects */
	sleep_ms(300);
	cr_assert_eq(expect_usable(&c, "a message over the hard limit"), 0);
	aftermath();
}

/* 1 MiB of nested groups (wire type 3): protobuf-c refuses them. */
Test(attack, deep_nesting_groups)
{
	size_t len = 1 << 20;
	uint8_t *buf = malloc(len);

	arena(44, 1);
	snapshot();
	cr_assert_not_null(buf);
	memset(buf, 0x0b, len); /* field 1, start group, over and over */
	client_send_raw(&c, buf, len);
	free(buf);
	expect_error(&c, UCR_EPROTO, "nested groups");
	aftermath();
}

/*
 * 100 000 nested length-delimited fields inside a hello's hold: unknown
 * fields are skipped, not parsed, so this is a hello with junk in it. It
 * is answered and costs nothing; a cut at the innermost level is refused.
 */
Test(attack, deep_nesting_fields)
{
	size_t depth = 100000, cap = depth * 8 + 64, n = 0, i;
	uint8_t *buf = malloc(cap), *w = malloc(cap);
	size_t inner = 0;

	arena(45, 1);
	snapshot();
	cr_assert(buf && w);
	/* build from the inside out: field 15 (LEN) wrapping the last */
	for (i = 0; i < depth; i++) {
		uint8_t hdr[16];
		size_t h = 0, v = inner;

		hdr[h++] = 0x7a; /* field 15, LEN */
		do {
			hdr[h] = v & 0x7f;
			v >>= 7;
			if (v)
				hdr[h] |= 0x80;
			h++;
		} while (v);
		memmove(w + h, w, inner);
		memcpy(w, hdr, h);
		inner += h;
		if (inner > cap - 16)
			break;
	}
	/* Frame.hello (1) { author, epoch, head_hash, then the junk } */
	{
		Ucr__Frame f;
		Ucr__Hello h;
		uint8_t *hb;
		size_t hl;

		hello_with(NULL, 0, &f, &h);
		hl = ucr__hello__get_packed_size(&h);
		hb = malloc(hl + inner);
		cr_assert_not_null(hb);
		ucr__hello__pack(&h, hb);
		memcpy(hb + hl, w, inner);
		hl += inner;
		buf[n++] = 0x0a;
		for (i = hl; i >= 0x80; i >>= 7)
			buf[n++] = (uint8_t)(i | 0x80);
		buf[n++] = (uint8_t)i;
		cr_assert_lt(n + hl, cap);
		memcpy(buf + n, hb, hl);
		n += hl;
		free(hb);
	}
	client_send_raw(&c, buf, n);
	{
		Ucr__Frame *f = client_answer(&c, 5000);

		cr_assert_not_null(f, "no answer to a deeply nested hello");
		cr_assert(f->body_case == UCR__FRAME__BODY_STATE ||
			(f->body_case == UCR__FRAME__BODY_ERROR &&
			    f->error->code == UCR_EPROTO),
		    "a %s frame", ucr_wire_name(f));
		ucr__frame__free_unpacked(f, NULL);
	}
	/* the same, cut short inside: refused */
	client_send_raw(&c, buf, n - 7);
	expect_error(&c, UCR_EPROTO, "a nested hello cut short");
	free(buf);
	free(w);
	aftermath();
}

/* ================================================================ budgets */

/*
 * 20 000 holds of authors nobody enrolled, in one hello, five times: the
 * hub refuses what the roster cannot justify, answers at once every time,
 * and its memory stays in budget.
 */
Test(attack, holds_20000)
{
	size_t n = 20000, i;
	Ucr__LogHead *lh = calloc(n, sizeof(*lh)), **p = calloc(n, sizeof(*p));
	uint8_t(*auth)[32] = malloc(n * 32);
	Ucr__Frame f, *a;
	Ucr__Hello h;
	int round;

	arena(46, 1);
	snapshot();
	cr_assert(lh && p && auth);
	randombytes_buf(auth, n * 32);
	for (i = 0; i < n; i++) {
		ucr__log_head__init(&lh[i]);
		lh[i].author.data = auth[i];
		lh[i].author.len = 32;
		lh[i].epoch = i + 1;
		lh[i].seq = 1;
		p[i] = &lh[i];
	}
	hello_with(p, n, &f, &h);
	for (round = 0; round < 5; round++) {
		long t0 = now_ms();

		client_send(&c, &f);
		a = client_answer(&c, 5000);
		cr_assert_not_null(a, "no answer to a hello with %zu holds", n);
		cr_assert(a->body_case == UCR__FRAME__BODY_ERROR &&
			a->error->code == UCR_EBUDGET,
		    "a hello with %zu holds got a %s (%s)", n, ucr_wire_name(a),
		    a->body_case == UCR__FRAME__BODY_ERROR
			? ucr_errname(a->error->code)
			: "");
		ucr__frame__free_unpacked(a, NULL);
		cr_assert_lt(now_ms() - t0, 1000,
		    "a hello with %zu holds took %ld ms", n, now_ms() - t0);
	}
	hub_responsive(1000, "20 000 holds");
	hub_rss_bounded("20 000 holds");
	free(lh);
	free(p);
	free(auth);
	aftermath();
}

/*
 * A hello of 8 MiB less a little, all tiny holds (~4 M of them): the
 * unpacking allocator's budget refuses it; the hub's memory stays small.
 */
Test(attack, hello_8mib)
{
	size_t len = UCR_WIRE_MAXMSG - 64, n = 0, body;
	uint8_t *buf = malloc(len);

	arena(47, 1);
	snapshot();
	cr_assert_not_null(buf);
	body = len - 6;
	buf[n++] = 0x0a; /* Frame.hello */
	buf[n++] = (uint8_t)(body | 0x80);
	buf[n++] = (uint8_t)((body >> 7) | 0x80);
	buf[n++] = (uint8_t)((body >> 14) | 0x80);
	buf[n++] = (uint8_t)((body >> 21) & 0x7f);
	while (n + 2 <= len - 1) {
		buf[n++] = 0x32; /* Hello.holds, an empty LogHead */
		buf[n++] = 0x00;
	}
	/* the body length of what was written (4 varint bytes) */
	body = n - 5;
	buf[1] = (uint8_t)(body | 0x80);
	buf[2] = (uint8_t)((body >> 7) | 0x80);
	buf[3] = (uint8_t)((body >> 14) | 0x80);
	buf[4] = (uint8_t)((body >> 21) & 0x7f);
	client_send_raw(&c, buf, n);
	free(buf);
	{
		Ucr__Frame *a = client_answer(&c, 10000);

		cr_assert_not_null(a, "no answer to an 8 MiB hello");
		cr_assert_eq(a->body_case, UCR__FRAME__BODY_ERROR,
		    "an 8 MiB hello of 4 M holds got a %s", ucr_wire_name(a));
		cr_assert_eq(a->error->code, UCR_EBUDGET, "%s",
		    ucr_errname(a->error->code));
		ucr__frame__free_unpacked(a, NULL);
	}
	hub_responsive(1000, "an 8 MiB hello");
	hub_rss_bounded("an 8 MiB hello");
	aftermath();
}

/*
 * 20 000 acks and fetches of logs nobody holds, as fast as the socket
 * takes them: fetches refused (ENOLOG), the flood metered (EAGAIN once
 * each time the quota runs out, the rest dropped), no state grows, the
 * connection still usable.
 */
Test(attack, ack_fetch_unknown_authors)
{
	size_t i;
	uint8_t author[32];
	long kb0;

	arena(48, 1);
	snapshot();
	kb0 = rss_kb(hub.pid);
	for (i = 0; i < 20000; i++) {
		Ucr__Frame f = UCR__FRAME__INIT;
		Ucr__Ack a = UCR__ACK__INIT;
		Ucr__Fetch fe = UCR__FETCH__INIT;

		randombytes_buf(author, sizeof(author));
		if (i % 2) {
			a.author.data = author;
			a.author.len = 32;
			a.epoch = i;
			a.seq = 5;
			f.body_case = UCR__FRAME__BODY_ACK;
			f.ack = &a;
		} else {
			fe.author.data = author;
			fe.author.len = 32;
			fe.epoch = i;
			fe.from_seq = 1;
			f.body_case = UCR__FRAME__BODY_FETCH;
			f.fetch = &fe;
		}
		client_send(&c, &f);
	}
	/* fetches of logs the hub does not hold are refused; past the
	 * message quota the peer is told once, then dropped */
	{
		int enolog = 0, again = 0, other = 0;
		Ucr__Frame *a;

		while ((a = client_answer(&c, 1500)) != NULL) {
			if (a->body_case == UCR__FRAME__BODY_ERROR &&
			    a->error->code == UCR_ENOLOG)
				enolog++;
			else if (a->body_case == UCR__FRAME__BODY_ERROR &&
			    a->error->code == UCR_EAGAIN)
				again++;
			else
				other++;
			ucr__frame__free_unpacked(a, NULL);
		}
		cr_assert_gt(enolog, 0, "no fetch of an unknown log refused");
		cr_assert_geq(again, 1, "never told of the message quota");
		cr_assert_lt(enolog + again + other, 10000,
		    "%d answers to 20 000 messages: the flood was not metered",
		    enolog + again + other);
	}
	cr_assert_eq(expect_usable(&c, "20 000 acks and fetches"), 0);
	hub_responsive(1000, "20 000 acks and fetches");
	cr_assert(!MEMORY_CHECKED || rss_kb(hub.pid) - kb0 < 16 * 1024,
	    "the hub grew %ld KiB", rss_kb(hub.pid) - kb0);
	aftermath();
}

Test(attack, fetch_malformed)
{
	Ucr__Frame f = UCR__FRAME__INIT;
	Ucr__Fetch fe = UCR__FETCH__INIT;

	arena(49, 1);
	snapshot();
	fe.author.data = atk->pk;
	fe.author.len = 32;
	fe.epoch = c.epoch;
	fe.from_seq = 0;
	f.body_case = UCR__FRAME__BODY_FETCH;
	f.fetch = &fe;
	client_send(&c, &f);
	expect_error(&c, UCR_EPROTO, "a fetch from seq 0");
	fe.author.len = 7;
	fe.from_seq = 1;
	client_send(&c, &f);
	expect_error(&c, UCR_EPROTO, "a fetch of a 7-byte author");
	aftermath();
}

/*
 * 100 000 tiny frames as fast as the socket takes them: each is refused,
 * but the log is rate-limited (the first ones in full, then a count) and
 * the honest node is not starved.
 */
Test(attack, tiny_frame_flood)
{
	static const uint8_t junk[] = {0x78, 0x01};
	struct stat st0, st1;
	int i;

	arena(50, 1);
	snapshot();
	cr_assert_eq(stat(hub.log, &st0), 0);
	for (i = 0; i < 100000; i++)
		cr_assert_geq(zmq_send(c.sock, junk, sizeof(junk), 0), 0);
	sleep_ms(1500);
	hub_responsive(1000, "100 000 tiny frames");
	cr_assert_eq(stat(hub.log, &st1), 0);
	cr_assert_lt(st1.st_size - st0.st_size, 256 * 1024,
	    "100 000 refused frames wrote %lld bytes of log",
	    (long long)(st1.st_size - st0.st_size));
	aftermath();
}

/*
 * A reader that never reads, with a region worth relaying, saying hello
 * again and again (each hello restarts the relay): the hub paces it by
 * back-pressure instead of queueing, and its memory stays in budget.
 */
Test(attack, slow_reader)
{
	Ucr__Frame f;
	Ucr__Hello h;
	int hwm = 1, buf = 4096, i, which[] = {0, -1};

	arena(51, 0);
	write_many(&nodes[0], "S", 3000);
	converge(-1, which);
	snapshot();
	client_open(&c, atk);
	zmq_setsockopt(c.sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(c.sock, ZMQ_RCVBUF, &buf, sizeof(buf));
	hello_with(NULL, 0, &f, &h);
	for (i = 0; i < 400; i++) {
		client_send(&c, &f);
		sleep_ms(25);
	}
	hub_responsive(1000, "a slow reader");
	hub_rss_bounded("a slow reader");
	client_close(&c);
	aftermath();
}

/*
 * Batches over the per-node rate (8 MiB/s, burst 32 MiB) are refused with
 * EAGAIN before any work is done on them.
 */
Test(attack, quota_exceeded)
{
	size_t len = 7 << 20;
	uint8_t *blob = calloc(1, len);
	int i, again = 0;

	arena(52, 1);
	snapshot();
	cr_assert_not_null(blob);
	for (i = 0; i < 8 && !again; i++) {
		Ucr__Frame f = UCR__FRAME__INIT;
		Ucr__Batch b = UCR__BATCH__INIT;
		ProtobufCBinaryData e = {len, blob};
		uint8_t sig[UCR_SIG_LEN] = {0};
		Ucr__Frame *a;

		b.author.data = atk->pk;
		b.author.len = 32;
		b.epoch = c.epoch;
		b.first_seq = 1;
		b.last_seq = 1;
		b.entries = &e;
		b.n_entries = 1;
		b.signature.data = sig;
		b.signature.len = sizeof(sig);
		f.body_case = UCR__FRAME__BODY_BATCH;
		f.batch = &b;
		client_send(&c, &f);
		a = client_answer(&c, 5000);
		cr_assert_not_null(a);
		cr_assert_eq(a->body_case, UCR__FRAME__BODY_ERROR, "%s",
		    ucr_wire_name(a));
		if (a->error->code == UCR_EAGAIN)
			again = 1;
		ucr__frame__free_unpacked(a, NULL);
	}
	free(blob);
	cr_assert(again, "8 batches of 7 MiB at once were never throttled");
	aftermath();
}

/* A RecordQuery from r; the hub's RecordAnswer (or Error) within 5 s. */
static Ucr__Frame *
record_query(struct client *r, const char *kind, const char *prefix,
    const char *after, uint32_t limit)
{
	Ucr__Frame f = UCR__FRAME__INIT, *a;
	Ucr__RecordQuery q = UCR__RECORD_QUERY__INIT;
	long end = now_ms() + 5000;

	q.kind = (char *)kind;
	q.prefix = (char *)prefix;
	q.after = (char *)after;
	q.limit = limit;
	f.body_case = UCR__FRAME__BODY_RECORD_QUERY;
	f.record_query = &q;
	client_send(r, &f);
	while (now_ms() < end) {
		zmq_pollitem_t it = {r->sock, 0, ZMQ_POLLIN, 0};
		struct ucr_wire_msg m;

		if (zmq_poll(&it, 1, 500) <= 0 ||
		    ucr_wire_recv(r->sock, 0, &m) != 0)
			continue;
		cr_assert_eq(ucr_wire_decode(&a, m.data, m.len), 0);
		ucr_wire_msg_free(&m);
		if (a->body_case == UCR__FRAME__BODY_RECORD_ANSWER ||
		    a->body_case == UCR__FRAME__BODY_ERROR)
			return a;
		ucr__frame__free_unpacked(a, NULL);
	}
	cr_assert_fail("no answer to a record query:\n%s", tail(&hub));
	return NULL;
}

static void
record_query_refused(struct client *r, const char *kind, const char *prefix,
    const char *after, uint32_t limit, const char *why)
{
	Ucr__Frame *a = record_query(r, kind, prefix, after, limit);

	cr_assert_eq(a->body_case, UCR__FRAME__BODY_RECORD_ANSWER, "%s",
	    ucr_wire_name(a));
	cr_assert_eq(a->record_answer->code, UCR_EINVAL, "%s: code %d", why,
	    a->record_answer->code);
	cr_assert(strstr(a->record_answer->message, why) != NULL, "%s: %s", why,
	    a->record_answer->message);
	cr_assert_eq(a->record_answer->n_records, 0);
	ucr__frame__free_unpacked(a, NULL);
}

/*
 * Abusive record queries from a reader's key (docs/protocol.md, "Record
 * queries"): a limit over a page, an after key that is no key, a key over
 * 255 bytes, control bytes, an unknown kind. Each gets a refusal that
 * says which, the hub lives, and an honest query pages through every
 * record one at a time and then all at once with the same keys.
 */
Test(attack, record_query_abuse)
{
	char path[700], hex[65], longkey[400], last[300] = "";
	struct ucr_key *rk;
	struct client r;
	Ucr__Frame *a;
	size_t n1 = 0, nall, i;
	int pages = 0, which[] = {0, -1};

	arena(60, 0);
	snprintf(path, sizeof(path), "%s/reader.key", dir);
	keygen(path, hex);
	cr_assert_eq(ucr_key_load(&rk, path), 0);
	ucr_ok(&hub, "roster add 2401 %s --role reader", hex);
	converge(-1, which);
	snapshot();
	client_open(&r, rk);
	memset(longkey, 'x', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	longkey[4] = '/';
	longkey[12] = '/';
	record_query_refused(&r, "", "", "", 1000000000u, "limit");
	record_query_refused(&r, "", "", "", 4001, "limit");
	record_query_refused(&r, "", "", "not-a-key", 0, "after");
	record_query_refused(&r, "", "", longkey, 0, "after");
	record_query_refused(&r, "", longkey, "", 0, "prefix");
	record_query_refused(&r, "", "2480/\x01", "", 0, "prefix");
	record_query_refused(&r, "bogus", "", "", 0, "unknown kind");
	record_query_refused(&r, "../../etc", "", "", 0, "unknown kind");
	cr_assert(alive(&hub), "the hub died:\n%s", tail(&hub));
	/* Honest paging: one record a page, then all in one. */
	do {
		a = record_query(&r, "", "", last, 1);
		cr_assert_eq(a->body_case, UCR__FRAME__BODY_RECORD_ANSWER);
		cr_assert_eq(a->record_answer->code, 0, "%s",
		    a->record_answer->message);
		cr_assert_leq(a->record_answer->n_records, 1);
		n1 += a->record_answer->n_records;
		snprintf(last, sizeof(last), "%s", a->record_answer->next);
		pages++;
		ucr__frame__free_unpacked(a, NULL);
		cr_assert_lt(pages, 1000, "the pages never end");
	} while (*last != '\0');
	a = record_query(&r, "", "", "", 0);
	cr_assert_eq(a->record_answer->code, 0);
	nall = a->record_answer->n_records;
	cr_assert_str_eq(a->record_answer->next, "");
	cr_assert_eq(n1, nall, "paged %zu records, all at once %zu", n1, nall);
	cr_assert_eq((long long)nall, before_hub.records);
	ucr__frame__free_unpacked(a, NULL);
	/* Only networks: every one is a network record. */
	a = record_query(&r, "network", "", "", 0);
	cr_assert_eq(a->record_answer->code, 0);
	cr_assert_geq(a->record_answer->n_records, 1);
	for (i = 0; i < a->record_answer->n_records; i++) {
		Ucr__Record *rec;

		cr_assert_eq(ucr_record_decode(&rec,
				 a->record_answer->records[i]->record.data,
				 a->record_answer->records[i]->record.len),
		    0);
		cr_assert_eq(rec->body_case, UCR__RECORD__BODY_NETWORK);
		ucr__record__free_unpacked(rec, NULL);
	}
	ucr__frame__free_unpacked(a, NULL);
	client_close(&r);
	ucr_key_free(rk);
	aftermath();
}

/*
 * A reader that asks for pages of records and never reads the answers:
 * the hub queues at most its send queue of them (32 pages of at most
 * 256 KiB), stays under its memory budget and answers others.
 */
Test(attack, record_query_never_read)
{
	Ucr__Frame f = UCR__FRAME__INIT;
	Ucr__RecordQuery q = UCR__RECORD_QUERY__INIT;
	char path[700], hex[65];
	struct ucr_key *rk;
	struct client r;
	int hwm = 1, buf = 4096, i, which[] = {0, -1};

	arena(61, 0);
	write_many(&nodes[0], "Q", 3000);
	converge(-1, which);
	snprintf(path, sizeof(path), "%s/reader.key", dir);
	keygen(path, hex);
	cr_assert_eq(ucr_key_load(&rk, path), 0);
	ucr_ok(&hub, "roster add 2401 %s --role reader", hex);
	converge(-1, which);
	snapshot();
	client_open(&r, rk);
	zmq_setsockopt(r.sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(r.sock, ZMQ_RCVBUF, &buf, sizeof(buf));
	q.kind = "network";
	f.body_case = UCR__FRAME__BODY_RECORD_QUERY;
	f.record_query = &q;
	for (i = 0; i < 400; i++) {
		client_send(&r, &f);
		sleep_ms(25);
	}
	hub_responsive(1000, "a reader that never reads its pages");
	hub_rss_bounded("a reader that never reads its pages");
	client_close(&r);
	ucr_key_free(rk);
	aftermath();
}
