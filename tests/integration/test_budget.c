/*
 * test_budget.c: the hub's budgets against one hostile peer, with real
 * daemons on loopback and a protocol client (docs/protocol.md, "Budgets").
 * Each test proves a budget holds (a huge Hello refused fast, a peer that
 * never reads does not grow the hub, a flood writes a bounded log, credits
 * enforced, a revoked peer gets no more relay) and that honest nodes keep
 * syncing meanwhile.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>
#include <zmq.h>

#include "error.h"
#include "keys.h"
#include "log.h"
#include "pbwire.h"
#include "record.h"
#include "region.h"
#include "store.h"
#include "testutil.h"
#include "wire.h"

/*
 * Memory bounds are asserted only without AddressSanitizer: its shadow
 * memory and quarantine of freed blocks make a daemon's RSS say nothing
 * about what the daemon holds.
 */
#if defined(__SANITIZE_ADDRESS__)
#define MEMORY_CHECKED 0
#else
#define MEMORY_CHECKED 1
#endif

/* The hub's peak memory (VmHWM) stays under 64 MiB. */
static void
hub_peak_bounded(void)
{
	long hwm = peak_kb(hub.pid);

	cr_assert_gt(hwm, 0);
	if (MEMORY_CHECKED)
		cr_assert_lt(hwm, 64 * 1024, "the hub peaked at %ld kB", hwm);
}

TestSuite(budget, .init = region_setup, .fini = region_teardown, .timeout = 90);

/* ================================================================ budget */

/* One record written on node w reaches node r (through the hub). */
static void
honest_sync(int w, int r, const char *id, int timeout_ms)
{
	char key[128];
	long end = now_ms() + timeout_ms;

	wait_writes(&nodes[w], 8000);
	ucr_ok(&nodes[w],
	    "network join %s --name 'Network %s' --scope national "
	    "--date 2009-01-01",
	    id, id);
	snprintf(key, sizeof(key), "%s/network/%s", nodes[w].name, id);
	while (!site_holds(&nodes[r], key)) {
		cr_assert_lt(now_ms(), end,
		    "%s did not reach %s in %d ms\n--- hub\n%s\n--- %s\n%s",
		    key, nodes[r].name, timeout_ms, tail(&hub), nodes[r].name,
		    tail(&nodes[r]));
		sleep_ms(50);
	}
}

/* Two honest nodes, 2480 and 2401, enrolled and up. */
static void
two_nodes(void)
{
	node_new("2480", "2480", -1);
	node_new("2401", "2401", -1);
	enrol("2480", nodes[0].hex);
	enrol("2401", nodes[1].hex);
	node_up(0);
	node_up(1);
}

/*
 * A Hello frame, hand-encoded (packing millions of holds with protobuf-c
 * would cost the test what it costs the hub): nholds LogHeads, each empty
 * (2 bytes) or full (a random author and hash). Caller frees.
 */
static uint8_t *
hello_bytes(const struct client *c, size_t nholds, int full, size_t *len)
{
	size_t each = full ? 2 + 72 : 2, cap = nholds * each + 128, n = 0, i;
	uint8_t *body = malloc(cap), *out = malloc(cap + 16), lh[72];

	cr_assert(body && out);
	body[n++] = 0x08; /* version */
	body[n++] = UCR_PROTOCOL_VERSION;
	body[n++] = 0x12; /* author */
	body[n++] = 32;
	memcpy(body + n, c->key->pk, 32);
	n += 32;
	body[n++] = 0x18; /* epoch */
	n += ucr_pb_varint_put(body + n, c->epoch);
	body[n++] = 0x2a; /* head_hash */
	body[n++] = 32;
	memset(body + n, 0, 32);
	n += 32;
	for (i = 0; i < nholds; i++) {
		body[n++] = 0x32; /* holds */
		if (!full) {
			body[n++] = 0;
			continue;
		}
		lh[0] = 0x0a; /* author */
		lh[1] = 32;
		randombytes_buf(lh + 2, 32);
		lh[34] = 0x10; /* epoch 1 */
		lh[35] = 1;
		lh[36] = 0x18; /* seq 1 */
		lh[37] = 1;
		lh[38] = 0x22; /* hash */
		lh[39] = 32;
		randombytes_buf(lh + 40, 32);
		body[n++] = sizeof(lh);
		memcpy(body + n, lh, sizeof(lh));
		n += sizeof(lh);
	}
	out[0] = 0x0a; /* Frame.hello */
	*len = 1 + ucr_pb_varint_put(out + 1, n);
	memcpy(out + *len, body, n);
	*len += n;
	free(body);
	return out;
}

/* Send a hand-made Hello; the hub refuses it with EBUDGET within ms. */
static void
huge_hello(struct client *c, size_t nholds, int full, long ms)
{
	size_t len;
	uint8_t *buf = hello_bytes(c, nholds, full, &len);
	long t0;
	char what[96];

	cr_assert_leq(len, UCR_WIRE_MAXMSG);
	snprintf(what, sizeof(what), "hello of %zu %s holds (%zu bytes)",
	    nholds, full ? "full" : "empty", len);
	t0 = now_ms();
	client_send_raw(c, buf, len);
	free(buf);
	expect_error(c, UCR_EBUDGET, what);
	cr_assert_lt(now_ms() - t0, ms, "%s: refused after %ld ms", what,
	    now_ms() - t0);
}

/*
 * Holds budget and the bounded decoder: a Hello naming 20 000 logs, of
 * either shape, and an 8 MiB one of four million empty holds, are each
 * refused in well under a second; the hub's peak memory stays under
 * 64 MiB; the connection stays usable and honest nodes keep syncing.
 */
Test(budget, huge_hello_refused)
{
	struct ucr_key *k;
	struct client c;

	region_init(60);
	hub_start();
	two_nodes();
	k = enrolled_key("2403", "client");
	client_open(&c, k);
	cr_assert_eq(expect_usable(&c, "connecting"), 0);

	huge_hello(&c, 20000, 1, 1000);
	huge_hello(&c, 20000, 0, 1000);
	huge_hello(&c, (UCR_WIRE_MAXMSG - 256) / 2, 0, 2000);
	cr_assert_eq(expect_usable(&c, "huge hellos"), 0);
	honest_sync(0, 1, "H1", 10000);
	honest_sync(1, 0, "H2", 10000);
	hub_peak_bounded();
	cr_assert(alive(&hub), "the hub died:\n%s", tail(&hub));
	client_close(&c);
	ucr_key_free(k);
	/* a clean stop (under ASan: nothing leaked) */
	site_stop(&hub, SIGTERM);
}

/*
 * Back-pressure: a peer that never reads, and says Hello ten times a
 * second, is not fed more than its first batches; the hub's memory does
 * not grow with it, and honest nodes keep syncing meanwhile.
 */
Test(budget, slow_reader_bounded, .timeout = 120)
{
	struct ucr_key *k;
	struct client c;
	long rss0, rss1, end;
	int i;

	region_init(61);
	hub_start();
	two_nodes();
	/* about 1.3 MB of log to relay */
	wait_writes(&nodes[0], 8000);
	{
		char path[700], *buf, *p;
		int n = 4000;

		snprintf(path, sizeof(path), "%s/bulk.json", dir);
		buf = malloc((size_t)n * 400 + 16);
		cr_assert_not_null(buf);
		p = buf;
		*p++ = '[';
		for (i = 0; i < n; i++)
			p += sprintf(p,
			    "%s{\"kind\":\"network\",\"id\":\"B%d\","
			    "\"name\":\"Network %d %0200d\",\"scope\":"
			    "\"national\",\"joined\":\"2009-01-01\"}\n",
			    i ? "," : "", i, i, i);
		*p++ = ']';
		*p = '\0';
		cr_assert_eq(tu_write(path, buf), 0);
		free(buf);
		ucr_ok(&nodes[0], "import '%s'", path);
	}
	end = now_ms() + 30000;
	while (!site_holds(&nodes[1], "2480/network/B3999")) {
		cr_assert_lt(now_ms(), end, "bulk never reached 2401\n%s",
		    tail(&hub));
		sleep_ms(100);
	}
	rss0 = rss_kb(hub.pid);

	k = enrolled_key("2403", "client");
	client_open_hwm(&c, k, 1);
	for (i = 0; i < 100; i++) {
		client_hello(&c);
		sleep_ms(100);
	}
	honest_sync(0, 1, "S1", 10000);
	rss1 = rss_kb(hub.pid);
	cr_assert(!MEMORY_CHECKED || rss1 - rss0 < 16 * 1024,
	    "the hub grew from %ld to %ld kB for a peer that never reads", rss0,
	    rss1);
	cr_assert(alive(&hub), "the hub died:\n%s", tail(&hub));
	client_close(&c);
	ucr_key_free(k);
}

/*
 * Metering and the log budget: 20 000 tiny bad frames are all counted by
 * code, most dropped unanswered once over the quota, and write no more
 * than a few lines of log; a new connection of the same key and honest
 * nodes are served meanwhile.
 */
Test(budget, flood_log_bounded, .timeout = 120)
{
	static const uint8_t junk[] = {0x0a, 0xff, 0xff};
	struct ucr_key *k;
	struct client c, c2;
	long long refused0;
	long end;
	int lines0, lines, i;
	json_t *p, *r;
	char hex[65];

	region_init(62);
	hub_start();
	two_nodes();
	k = enrolled_key("2403", "client");
	ucr_hex(hex, k->pk, 32);
	client_open(&c, k);
	cr_assert_eq(expect_usable(&c, "connecting"), 0);
	refused0 = hub_counter("refused");
	lines0 = log_count(&hub, "peer 2403");
	for (i = 0; i < 20000; i++)
		client_send_raw(&c, junk, sizeof(junk));
	end = now_ms() + 30000;
	while (hub_counter("refused") < refused0 + 20000) {
		cr_assert_lt(now_ms(), end, "only %lld of 20000 counted",
		    hub_counter("refused") - refused0);
		sleep_ms(100);
	}
	lines = log_count(&hub, "peer 2403") - lines0;
	cr_assert_leq(lines, 2 * LOG_LIMIT_BURST + 2,
	    "%d log lines for a flood of 20000 frames\n%s", lines, tail(&hub));
	p = hub_peer(hex);
	r = json_object_get(p, "refusals");
	cr_assert_geq(json_integer_value(json_object_get(r, "EPROTO")), 1000,
	    "%s", json_dumps(p, 0));
	cr_assert_geq(json_integer_value(json_object_get(r, "EAGAIN")), 10000,
	    "%s", json_dumps(p, 0));
	json_decref(p);
	/* the hub serves: the same key anew, and the honest nodes */
	sleep_ms(200);
	client_open(&c2, k);
	cr_assert_eq(expect_usable(&c2, "the flood"), 0);
	honest_sync(0, 1, "F1", 10000);
	cr_assert(alive(&hub), "the hub died:\n%s", tail(&hub));
	client_close(&c2);
	client_close(&c);
	ucr_key_free(k);
	site_stop(&hub, SIGTERM);
}

/*
 * Credits are enforced on receipt: a batch before any State (no credit
 * given) and a batch over the credit's bytes are refused with ECREDIT and
 * counted; nothing of them is stored; a batch within the credit is acked.
 */
Test(budget, credit_enforced)
{
	struct ucr_key *k;
	struct client c;
	struct batch bt;
	Ucr__Frame f = UCR__FRAME__INIT;
	Ucr__Batch b = UCR__BATCH__INIT;
	ProtobufCBinaryData ents[5];
	uint8_t sig[UCR_SIG_LEN] = {0}, *big;
	json_t *p;
	char hex[65];
	int i;

	region_init(63);
	hub_start();
	k = enrolled_key("2403", "client");
	ucr_hex(hex, k->pk, 32);
	client_open(&c, k);
	/* no Hello on this connection yet: no credit */
	client_network(&c, "2403", "C1");
	client_batch(&c, &bt, 1, 1, NULL);
	sleep_ms(300); /* connected */
	client_send_batch(&c, &bt);
	expect_error(&c, UCR_ECREDIT, "a batch before a hello");
	cr_assert_eq(expect_usable(&c, "a batch before a hello"), 0);
	/* five entries of 1 MiB: over the 4 MiB credit */
	big = calloc(1, 1 << 20);
	cr_assert_not_null(big);
	for (i = 0; i < 5; i++) {
		ents[i].data = big;
		ents[i].len = 1 << 20;
	}
	b.author.data = k->pk;
	b.author.len = 32;
	b.epoch = c.epoch;
	b.first_seq = 1;
	b.last_seq = 5;
	b.entries = ents;
	b.n_entries = 5;
	b.signature.data = sig;
	b.signature.len = sizeof(sig);
	f.body_case = UCR__FRAME__BODY_BATCH;
	f.batch = &b;
	client_send(&c, &f);
	free(big);
	expect_error(&c, UCR_ECREDIT, "a batch over the credit");
	cr_assert_eq(hub_head(&c), 0);
	/* within the credit */
	client_push(&c, 1, 1);
	cr_assert_eq(hub_head(&c), 1);
	p = hub_peer(hex);
	cr_assert_eq(json_integer_value(
			 json_object_get(json_object_get(p, "refusals"),
			     "ECREDIT")),
	    2, "%s", json_dumps(p, 0));
	json_decref(p);
	client_close(&c);
	ucr_key_free(k);
}

/* Read frames for ms, acking relayed batches; how many batches came. */
static int
relay_count(struct client *c, long ms)
{
	long end = now_ms() + ms;
	Ucr__Frame *f;
	int n = 0;

	while ((f = client_recv(c, end)) != NULL) {
		if (f->body_case == UCR__FRAME__BODY_BATCH) {
			n++;
			client_ack_batch(c, f->batch);
		}
		ucr__frame__free_unpacked(f, NULL);
	}
	return n;
}

/*
 * A revocation applies at once: a connected peer that says nothing after
 * its key is revoked gets no more relay (nor the revocation itself),
 * while an honest node goes on syncing.
 */
Test(budget, revoked_gets_no_relay)
{
	struct ucr_key *k;
	struct client c;
	char hex[65];

	region_init(64);
	hub_start();
	two_nodes();
	k = enrolled_key("2403", "client");
	ucr_hex(hex, k->pk, 32);
	client_open(&c, k);
	cr_assert_eq(expect_usable(&c, "connecting"), 0);
	/* it is relayed to while enrolled */
	cr_assert_gt(relay_count(&c, 1500), 0, "no relay before revocation");
	ucr_ok(&nodes[0],
	    "network join R1 --name 'Network R1' --scope national "
	    "--date 2009-01-01");
	cr_assert_gt(relay_count(&c, 3000), 0, "R1 not relayed\n%s",
	    tail(&hub));
	ucr_ok(&hub, "roster revoke %s", hex);
	honest_sync(0, 1, "R2", 10000);
	honest_sync(1, 0, "R3", 10000);
	cr_assert_eq(relay_count(&c, 3000), 0,
	    "relay to a revoked key that sent nothing since\n%s", tail(&hub));
	cr_assert(log_has(&hub, "key revoked; relay stopped"), "%s",
	    tail(&hub));
	client_close(&c);
	ucr_key_free(k);
}

/*
 * Receive queues: a peer sending frames of 8 MiB (one huge entry: over the
 * credit) as fast as it can makes the hub hold at most its receive queue
 * and one frame being decoded; the rest waits in TCP or is dropped over
 * the byte quota. The hub's peak memory stays under 64 MiB, and honest
 * nodes keep syncing.
 */
Test(budget, big_frames_bounded, .timeout = 120)
{
	struct ucr_key *k;
	struct client c;
	Ucr__Frame f = UCR__FRAME__INIT;
	Ucr__Batch b = UCR__BATCH__INIT;
	ProtobufCBinaryData ent;
	uint8_t sig[UCR_SIG_LEN] = {0}, *buf;
	size_t len;
	int i;

	region_init(65);
	hub_start();
	two_nodes();
	k = enrolled_key("2403", "client");
	client_open(&c, k);
	cr_assert_eq(expect_usable(&c, "connecting"), 0);
	ent.len = UCR_WIRE_MAXMSG - 1024;
	ent.data = calloc(1, ent.len);
	cr_assert_not_null(ent.data);
	b.author.data = k->pk;
	b.author.len = 32;
	b.epoch = c.epoch;
	b.first_seq = 1;
	b.last_seq = 1;
	b.entries = &ent;
	b.n_entries = 1;
	b.signature.data = sig;
	b.signature.len = sizeof(sig);
	f.body_case = UCR__FRAME__BODY_BATCH;
	f.batch = &b;
	cr_assert_eq(ucr_wire_encode(&buf, &len, &f), 0);
	free(ent.data);
	cr_assert_leq(len, UCR_WIRE_MAXMSG);
	for (i = 0; i < 40; i++)
		client_send_raw(&c, buf, len);
	free(buf);
	honest_sync(0, 1, "G1", 20000);
	hub_peak_bounded();
	cr_assert_eq(hub_head(&c), 0);
	cr_assert(alive(&hub), "the hub died:\n%s", tail(&hub));
	client_close(&c);
	ucr_key_free(k);
}
