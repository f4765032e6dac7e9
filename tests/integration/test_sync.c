/*
 * test_sync.c: the sync protocol between ucr-hub and ucr-node, with real
 * processes on loopback (docs/protocol.md).
 *
 * Each test makes a region in its own folder and on its own TCP port: a
 * hub key and configuration, node keys enrolled with "ucr roster add",
 * and daemons started with -d. Convergence is judged by "ucr digest
 * --json" on every site: the same heads, the same record and entry counts
 * and the same view digest everywhere. The bad-input tests use a test
 * client that speaks the protocol itself (a CURVE DEALER keyed from an
 * enrolled Ed25519 key) and builds its own entries and batches with
 * common/chain.h, so every refusal can be provoked exactly.
 *
 * Daemons are started with PR_SET_PDEATHSIG, so even a test killed by its
 * timeout takes them along; .fini kills them on every other way out.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

/* ================================================================ tests */

/* ---------------------------------------------------------------- region */

TestSuite(sync, .init = region_setup, .fini = region_teardown, .timeout = 60);

Test(sync, six_nodes_converge, .timeout = 60)
{
	int all[7], i;
	json_int_t dups = 0;
	struct digest d;

	region_init(0);
	hub_start();
	for (i = 0; i < 6; i++) {
		node_new(codes[i], codes[i], -1);
		enrol(codes[i], nodes[i].hex);
		all[i] = i;
	}
	all[6] = -1;
	for (i = 0; i < 6; i++)
		node_start(i);
	for (i = 0; i < 6; i++)
		wait_writes(&nodes[i], 8000);
	ucr_ok(&hub, "vision set 'The best living environment' --year 2050");
	/* every node writes, through commands and an import, all at once */
	for (i = 0; i < 6; i++) {
		write_one(&nodes[i], "first");
		write_many(&nodes[i], codes[i], 100);
	}
	for (i = 0; i < 6; i++)
		write_one(&nodes[i], "last");
	/* hub roster 1 + 6, the vision, and 102 per node */
	converge(1 + 6 + 1 + 6 * 102, all);
	cr_assert_eq(digest_get(&hub, &d), 0);
	cr_assert_eq(json_array_size(d.logs), 7,
	    "a log per node and the hub's");
	for (i = 0; i < 6; i++) {
		int stopped = 1;
		json_t *p = hub_peer(nodes[i].hex);

		cr_assert_eq(digest_seq(&d, nodes[i].hex, &stopped), 102);
		cr_assert_not(stopped);
		cr_assert(json_is_true(json_object_get(p, "connected")), "%s",
		    json_dumps(p, 0));
		/* nothing refused but, on a loaded machine, a batch sent
		 * again after a hub silent for a second (the node's Hello,
		 * the hub's State, then what follows it again): EDUP, which
		 * the node takes as an ack (docs/protocol.md 5.3) */
		cr_assert_eq(json_integer_value(json_object_get(p, "refused")),
		    json_integer_value(
			json_object_get(json_object_get(p, "refusals"),
			    "EDUP")),
		    "%s", json_dumps(p, 0));
		dups += json_integer_value(
		    json_object_get(json_object_get(p, "refusals"), "EDUP"));
		json_decref(p);
		cr_assert(link_is(&nodes[i], "stream"));
		verify_store(&nodes[i]);
	}
	digest_free(&d);
	verify_store(&hub);
	cr_assert_eq(hub_quarantined(), 0);
	cr_assert_eq(hub_counter("refused"), dups, "%s", tail(&hub));
}

/* ---------------------------------------------------------------- offline */

Test(sync, offline_node_catches_up, .timeout = 60)
{
	int which[] = {0, 1, -1};
	json_t *j;
	long t0;

	region_init(1);
	hub_start();
	node_new("2403", "2403", -1);
	node_new("2480", "2480", -1);
	enrol("2403", nodes[0].hex);
	enrol("2480", nodes[1].hex);
	site_stop(&hub, SIGTERM);

	/* A node that never reached the hub opens writes after a while. */
	t0 = now_ms();
	node_start(0);
	wait_link(&nodes[0], "hello", 1000);
	cr_assert_neq(ucr(&nodes[0], NULL, NULL,
			  "network join N0 --name X "
			  "--scope national --date 2009-01-01"),
	    0, "writes wait for the hub");
	wait_writes(&nodes[0], 8000);
	cr_assert_geq(now_ms() - t0, 2000,
	    "writes opened before the gate time");
	write_many(&nodes[0], "off", 300);
	write_one(&nodes[0], "single");
	j = link_state(&nodes[0]);
	cr_assert_eq(json_integer_value(json_object_get(j, "head")), 301);
	cr_assert_eq(json_integer_value(json_object_get(j, "lag")), 301);
	json_decref(j);

	/* The hub comes back; another node also writes meanwhile. */
	hub_start();
	node_start(1);
	write_one(&nodes[1], "other");
	converge(3 + 301 + 1, which);
	j = link_state(&nodes[0]);
	cr_assert_eq(json_integer_value(json_object_get(j, "lag")), 0);
	cr_assert_eq(json_integer_value(json_object_get(j, "hub_seq")), 301);
	json_decref(j);
	verify_store(&hub);
	verify_store(&nodes[0]);
}

/* ---------------------------------------------------------------- restart */

/* Freeze or thaw a daemon (SIGSTOP, SIGCONT): it holds what was sent. */
static void
freeze(struct site *s, int on)
{
	cr_assert_gt(s->pid, 0);
	cr_assert_eq(kill(s->pid, on ? SIGSTOP : SIGCONT), 0);
}

/* What the hub's store holds of a node's log, and the node's own head. */
static void
heads(const struct site *n, long long *hub_seq, long long *own)
{
	json_t *j = link_state(n);
	struct digest d;

	*own = json_integer_value(json_object_get(j, "head"));
	json_decref(j);
	cr_assert_eq(digest_get(&hub, &d), 0);
	*hub_seq = digest_seq(&d, n->hex, NULL);
	digest_free(&d);
}

/*
 * The hub stopped (SIGTERM) and started again while a node's batches are
 * in flight: the hub is frozen while the node writes and sends, then
 * either stopped before it reads them (they are lost with the process) or
 * thawed a moment before it stops (some are committed, acks may be lost).
 */
Test(sync, hub_restarted_mid_stream, .timeout = 60)
{
	int which[] = {0, 1, -1}, round, partial = 0;
	long long total = 3, hs, own;
	char prefix[16];

	region_init(2);
	hub_start();
	node_new("2403", "2403", -1);
	node_new("2401", "2401", -1);
	enrol("2403", nodes[0].hex);
	enrol("2401", nodes[1].hex);
	node_start(0);
	node_start(1);
	wait_link(&nodes[0], "stream", 5000);
	wait_link(&nodes[1], "stream", 5000);
	for (round = 0; round < 4; round++) {
		struct site *n = &nodes[round % 2];

		freeze(&hub, 1);
		snprintf(prefix, sizeof(prefix), "r%d", round);
		write_many(n, prefix, 4000);
		total += 4000;
		sleep_ms(100); /* the node streams into the frozen hub */
		if (round % 2 == 0) {
			/* stopped before it reads a byte */
			cr_assert_eq(kill(hub.pid, SIGTERM), 0);
			freeze(&hub, 0);
		} else {
			freeze(&hub, 0);
			sleep_ms(10);
		}
		site_stop(&hub, SIGTERM);
		heads(n, &hs, &own);
		if (hs < own)
			partial++;
		hub_start();
		converge(total, which);
	}
	cr_assert_geq(partial, 2,
	    "the hub never stopped with batches in "
	    "flight");
	cr_assert_geq(log_count(&hub, "stopping"), 4);
	verify_store(&hub);
	verify_store(&nodes[0]);
	verify_store(&nodes[1]);
	cr_assert_eq(hub_quarantined(), 0);
}

/*
 * kill -9 of the hub and of the nodes, repeated, while a long backlog
 * streams in and is relayed out. Every acknowledged write must survive
 * everywhere exactly once: each log's head is the number of records its
 * node wrote, and the stores re-verify.
 */
Test(sync, kill9_during_backlog, .timeout = 120)
{
	int which[] = {0, 1, 2, -1}, round, i, written[3] = {0, 0, 0};
	int hub_partial = 0, victim_unacked = 0, victim_behind = 0;
	struct digest d;
	char prefix[16];

	region_init(3);
	hub_start();
	for (i = 0; i < 3; i++) {
		node_new(codes[i], codes[i], -1);
		enrol(codes[i], nodes[i].hex);
		node_start(i);
	}
	for (i = 0; i < 3; i++)
		wait_link(&nodes[i], "stream", 5000);
	for (round = 0; round < 6; round++) {
		int victim = round % 3, behind = 0;
		long long hs, own;
		struct digest dh, dv;

		for (i = 0; i < 3; i++)
			wait_writes(&nodes[i], 8000);
		/* every node writes a backlog into a frozen hub */
		freeze(&hub, 1);
		for (i = 0; i < 3; i++) {
			snprintf(prefix, sizeof(prefix), "k%d", round);
			write_many(&nodes[i], prefix, round == 0 ? 6000 : 1500);
			written[i] += round == 0 ? 6000 : 1500;
		}
		sleep_ms(100);
		freeze(&hub, 0);
		/* the hub ingests and relays; crash a node, then the hub */
		sleep_ms(5 + 15 * round);
		site_stop(&nodes[victim], SIGKILL);
		sleep_ms(5 * round);
		site_stop(&hub, SIGKILL);
		/* what was in flight when they died (stores read as they are)
		 */
		cr_assert_eq(digest_get(&hub, &dh), 0);
		cr_assert_eq(digest_get(&nodes[victim], &dv), 0);
		for (i = 0; i < 3; i++) {
			hs = digest_seq(&dh, nodes[i].hex, NULL);
			own = digest_seq(&dv, nodes[i].hex, NULL);
			if (i == victim && hs < own)
				victim_unacked++;
			if (i != victim && own < hs)
				behind = 1;
			if (i != victim && hs < written[i])
				hub_partial++;
		}
		victim_behind += behind;
		digest_free(&dh);
		digest_free(&dv);
		node_start(victim);
		hub_start();
		if (round % 2 == 1) {
			/* and once more with no pause at all */
			site_stop(&hub, SIGKILL);
			hub_start();
		}
	}
	cr_log_info(
	    "kill -9 rounds: hub short of a live node's log %d times, "
	    "victim's own batches unstored %d, victim short of a relay %d",
	    hub_partial, victim_unacked, victim_behind);
	/* the crashes did hit data in flight */
	cr_assert_geq(hub_partial + victim_unacked, 1);
	converge(4 + written[0] + written[1] + written[2], which);
	cr_assert_eq(digest_get(&hub, &d), 0);
	for (i = 0; i < 3; i++) {
		int stopped = 1;

		cr_assert_eq(digest_seq(&d, nodes[i].hex, &stopped), written[i],
		    "%s: log head %lld, wrote %d", nodes[i].name,
		    digest_seq(&d, nodes[i].hex, NULL), written[i]);
		cr_assert_not(stopped);
	}
	cr_assert_eq(d.entries, 4 + written[0] + written[1] + written[2],
	    "entries %lld", d.entries);
	digest_free(&d);
	cr_assert_eq(hub_quarantined(), 0);
	for (i = 0; i < 3; i++)
		site_stop(&nodes[i], SIGTERM);
	site_stop(&hub, SIGTERM);
	verify_store(&hub);
	for (i = 0; i < 3; i++)
		verify_store(&nodes[i]);
}

/* ---------------------------------------------------------------- bad input */

/*
 * Every kind of bad input, from an enrolled key on one connection: each is
 * answered with an Error frame of the right code, logged and counted; the
 * connection stays usable; the hub stores nothing it refused and keeps
 * running.
 */
Test(sync, bad_input_refused, .timeout = 60)
{
	struct ucr_key *k, *other;
	struct client c;
	struct batch bt;
	long long refused0, refused;
	uint8_t *buf, *rb;
	size_t len, rlen, i;
	int cases = 0;
	json_t *p;
	char hex[65];

	region_init(6);
	hub_start();
	k = enrolled_key("2403", "client");
	other = enrolled_key("2480", "other");
	ucr_hex(hex, k->pk, 32);
	client_open(&c, k);
	cr_assert_eq(expect_usable(&c, "connecting"), 0);
	/* a valid start: entries 1-3 committed */
	client_network(&c, "2403", "A1");
	client_network(&c, "2403", "A2");
	client_network(&c, "2403", "A3");
	client_push(&c, 1, 2);
	client_push(&c, 3, 3);
	refused0 = hub_counter("refused");

	/* garbage bytes */
	{
		static const uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0xff,
		    0x0f, 0x13, 0x37, 0xde, 0xad};

		client_send_raw(&c, junk, sizeof(junk));
		expect_error(&c, UCR_EPROTO, "garbage bytes");
		cases++;
		expect_usable(&c, "garbage bytes");
	}
	/* a truncated frame: a valid batch frame cut short */
	{
		Ucr__Frame f = UCR__FRAME__INIT;

		client_network(&c, "2403", "A4");
		client_batch(&c, &bt, 4, 4, NULL);
		f.body_case = UCR__FRAME__BODY_BATCH;
		f.batch = &bt.b;
		cr_assert_eq(ucr_wire_encode(&buf, &len, &f), 0);
		client_send_raw(&c, buf, len / 2);
		free(buf);
		expect_error(&c, UCR_EPROTO, "truncated frame");
		cases++;
		expect_usable(&c, "truncated frame");
	}
	/* an unknown frame type (field 15, not in the oneof) */
	{
		static const uint8_t unknown[] = {0x78, 0x01};

		client_send_raw(&c, unknown, sizeof(unknown));
		expect_error(&c, UCR_EPROTO, "unknown frame type");
		cases++;
	}
	/* a frame only the hub sends */
	{
		Ucr__Frame f = UCR__FRAME__INIT;
		Ucr__State st = UCR__STATE__INIT;

		f.body_case = UCR__FRAME__BODY_STATE;
		f.state = &st;
		client_send(&c, &f);
		expect_error(&c, UCR_EPROTO, "a State from a node");
		cases++;
	}
	/* a frame in two message parts */
	{
		static const uint8_t part[] = {0x78, 0x01};

		cr_assert_geq(zmq_send(c.sock, part, sizeof(part), ZMQ_SNDMORE),
		    0);
		cr_assert_geq(zmq_send(c.sock, part, sizeof(part), 0), 0);
		expect_error(&c, UCR_EPROTO, "two-part message");
		cases++;
		expect_usable(&c, "two-part message");
	}
	/* an oversized message: over the protocol's limit */
	{
		len = UCR_WIRE_MAXMSG + 1;
		buf = calloc(1, len);
		cr_assert_not_null(buf);
		client_send_raw(&c, buf, len);
		free(buf);
		expect_error(&c, UCR_ETOOBIG, "oversized message");
		cases++;
		expect_usable(&c, "oversized message");
	}
	/* a batch signed by another key */
	client_batch(&c, &bt, 4, 4, other);
	client_send_batch(&c, &bt);
	expect_error(&c, UCR_EBADSIG, "batch signed by another key");
	cases++;
	/* another author's log on this connection */
	{
		struct client o;

		memset(&o, 0, sizeof(o));
		o.key = other;
		o.epoch = 77;
		network_bytes(&rb, &rlen, "2480", "O1");
		client_entry(&o, rb, rlen, UCR__RECORD__BODY_NETWORK);
		client_batch(&o, &bt, 1, 1, NULL);
		client_send_batch(&c, &bt);
		expect_error(&c, UCR_EOWNER, "another author's batch");
		cases++;
		for (i = 1; i <= o.n; i++)
			free(o.ent[i]);
	}
	/* a replay of an old batch: nothing new, nothing stored twice */
	client_batch(&c, &bt, 1, 2, NULL);
	client_send_batch(&c, &bt);
	cr_assert_eq(expect_error(&c, UCR_EDUP, "replay of an old batch"), 3,
	    "a duplicate's error names the hub's head");
	cases++;
	/* a batch that skips seqs: 6 when the hub holds 3 */
	client_network(&c, "2403", "A5");
	client_network(&c, "2403", "A6");
	client_batch(&c, &bt, 6, 6, NULL);
	client_send_batch(&c, &bt);
	cr_assert_eq(expect_error(&c, UCR_EGAP, "batch skipping seqs"), 3,
	    "a gap's error names the hub's head");
	cases++;
	/* a batch missing an entry inside: 4 and 6, claiming 4-6 */
	client_batch(&c, &bt, 4, 6, NULL);
	bt.ents[1] = bt.ents[2];
	bt.b.n_entries = 2;
	ucr_batch_sign(&bt.b, k, REGION, c.hash[6]);
	client_send_batch(&c, &bt);
	expect_error(&c, UCR_EGAP, "batch with a hole");
	cases++;
	client_drop(&c);
	client_drop(&c);
	client_drop(&c);
	/* a record owned by another municipality */
	client_network(&c, "2480", "STOLEN");
	client_batch(&c, &bt, 4, 4, NULL);
	client_send_batch(&c, &bt);
	expect_error(&c, UCR_EOWNER, "another municipality's record");
	cases++;
	client_drop(&c);
	/* a roster record from a node: a regional record, and a made-up one */
	roster_bytes(&rb, &rlen, "region", k->pk, "2480");
	client_entry(&c, rb, rlen, UCR__RECORD__BODY_ROSTER);
	client_batch(&c, &bt, 4, 4, NULL);
	client_send_batch(&c, &bt);
	expect_error(&c, UCR_EROLE, "a roster record from a node");
	cases++;
	client_drop(&c);
	roster_bytes(&rb, &rlen, "2403", other->pk, "2403");
	client_entry(&c, rb, rlen, UCR__RECORD__BODY_ROSTER);
	client_batch(&c, &bt, 4, 4, NULL);
	client_send_batch(&c, &bt);
	expect_error(&c, UCR_ESCHEMA, "a roster record under a node's owner");
	cases++;
	client_drop(&c);
	/* an entry whose kind does not match its record */
	network_bytes(&rb, &rlen, "2403", "K1");
	client_entry(&c, rb, rlen, UCR__RECORD__BODY_TARGET);
	client_batch(&c, &bt, 4, 4, NULL);
	client_send_batch(&c, &bt);
	expect_error(&c, UCR_EPROTO, "entry kind mismatch");
	cases++;
	client_drop(&c);
	/* a hello for another key */
	{
		Ucr__Frame f = UCR__FRAME__INIT;
		Ucr__Hello h = UCR__HELLO__INIT;

		h.version = UCR_PROTOCOL_VERSION;
		h.author.data = other->pk;
		h.author.len = 32;
		h.epoch = 5;
		h.head_hash.data = c.hash[0];
		h.head_hash.len = 32;
		f.body_case = UCR__FRAME__BODY_HELLO;
		f.hello = &h;
		client_send(&c, &f);
		expect_error(&c, UCR_EPROTO, "hello for another key");
		cases++;
	}
	/* a protocol version the hub does not speak */
	{
		Ucr__Frame f = UCR__FRAME__INIT;
		Ucr__Hello h = UCR__HELLO__INIT;

		h.version = 99;
		h.author.data = k->pk;
		h.author.len = 32;
		h.epoch = c.epoch;
		h.head_hash.data = c.hash[0];
		h.head_hash.len = 32;
		f.body_case = UCR__FRAME__BODY_HELLO;
		f.hello = &h;
		client_send(&c, &f);
		expect_error(&c, UCR_EPROTO, "unknown protocol version");
		cases++;
	}

	/* counted, once each; logged; nothing stored; still serving */
	refused = hub_counter("refused");
	cr_assert_eq(refused - refused0, cases, "refused %lld, want %d\n%s",
	    refused - refused0, cases, tail(&hub));
	p = hub_peer(hex);
	cr_assert_eq(json_integer_value(json_object_get(p, "refused")), cases,
	    "%s", json_dumps(p, 0));
	json_decref(p);
	cr_assert_geq(log_count(&hub, "peer 2403: "), cases, "%s", tail(&hub));
	cr_assert_eq(hub_head(&c), 3);
	cr_assert(hub_holds("2403/network/A3"));
	cr_assert_not(hub_holds("2403/network/A4"));
	cr_assert_not(hub_holds("2480/network/STOLEN"));
	cr_assert_not(hub_holds("2480/network/O1"));
	cr_assert_not(hub_holds("2403/network/K1"));
	{
		char key[128];

		snprintf(key, sizeof(key), "2403/roster/%s", hex);
		cr_assert_not(hub_holds(key));
	}
	cr_assert_eq(hub_quarantined(), 0, "refused input is not a fork");
	cr_assert(alive(&hub), "the hub died:\n%s", tail(&hub));
	/* the connection is still good for real work */
	cr_assert_eq(expect_usable(&c, "all bad input"), 3);
	client_network(&c, "2403", "A4b");
	client_push(&c, 4, 4);
	cr_assert(hub_holds("2403/network/A4b"));

	/*
	 * Over the transport's hard limit libzmq drops the connection before
	 * the hub sees a byte; the client reconnects and goes on.
	 */
	len = 2 * (size_t)UCR_WIRE_MAXMSG + 1024;
	buf = calloc(1, len);
	cr_assert_not_null(buf);
	client_send_raw(&c, buf, len);
	free(buf);
	sleep_ms(300);
	cr_assert_eq(expect_usable(&c, "a message over the hard limit"), 4);
	cr_assert(alive(&hub), "the hub died:\n%s", tail(&hub));
	verify_store(&hub);
	client_close(&c);
	ucr_key_free(k);
	ucr_key_free(other);
}

/* ---------------------------------------------------------------- keys */

/*
 * A protocol client with a key nobody enrolled gets no answer at all: the
 * hub's ZAP handler refuses it (logged, counted) and nothing reaches the
 * sync server.
 */
static void
unknown_key_gets_nothing(void)
{
	struct ucr_key *k;
	struct client c;
	Ucr__Frame *f;

	cr_assert_eq(ucr_key_generate(&k), 0);
	client_open(&c, k);
	client_hello(&c);
	f = client_answer(&c, 1500);
	cr_assert_null(f, "an unknown key got a %s frame",
	    f ? ucr_wire_name(f) : "");
	cr_assert(log_has(&hub, "zap: refused unknown key"), "%s", tail(&hub));
	cr_assert_geq(hub_counter("denied"), 1);
	cr_assert_eq(hub_counter("received"), 0,
	    "nothing reaches the sync server from an unknown key");
	client_close(&c);
	ucr_key_free(k);
}

Test(sync, unknown_key_refused, .timeout = 60)
{
	struct digest d;
	int which[] = {1, -1};

	region_init(5);
	hub_start();
	unknown_key_gets_nothing();

	/* a real node not enrolled: stays in hello; the hub holds nothing */
	node_new("2403", "2403", -1);
	node_new("2480", "2480", -1);
	enrol("2480", nodes[1].hex);
	node_start(0);
	node_start(1);
	wait_link(&nodes[1], "stream", 5000);
	sleep_ms(1000);
	cr_assert(link_is(&nodes[0], "hello"));
	{
		json_t *j = link_state(&nodes[0]);

		cr_assert(strstr(json_string_value(json_object_get(j, "why")),
			      "refused our key") != NULL,
		    "%s", json_dumps(j, 0));
		json_decref(j);
	}
	write_one(&nodes[1], "known");
	converge(3, which);
	cr_assert_eq(digest_get(&hub, &d), 0);
	cr_assert_eq(digest_seq(&d, nodes[0].hex, NULL), -1);
	digest_free(&d);
	cr_assert_eq(hub_counter("received") > 0, 1);
	cr_assert(alive(&hub));
}

Test(sync, revoked_while_connected, .timeout = 60)
{
	struct ucr_key *k;
	struct client c;
	struct batch bt;
	json_t *j;
	char key[128];
	int which[] = {1, -1};
	long long before;
	struct digest d;

	region_init(4);
	hub_start();
	/* a real node 2403, a bystander 2480, and a protocol client 2401 */
	node_new("2403", "2403", -1);
	node_new("2480", "2480", -1);
	enrol("2403", nodes[0].hex);
	enrol("2480", nodes[1].hex);
	k = enrolled_key("2401", "client");
	node_start(0);
	node_start(1);
	write_one(&nodes[0], "before");
	client_open(&c, k);
	cr_assert_eq(expect_usable(&c, "connecting"), 0);
	client_network(&c, "2401", "C1");
	client_push(&c, 1, 1);
	{
		int all[] = {0, 1, -1};

		converge(4 + 1 + 1, all);
	}

	/* revoke both while they are connected */
	ucr_ok(&hub, "roster revoke %s", nodes[0].hex);
	{
		char hex[65];

		ucr_hex(hex, k->pk, 32);
		ucr_ok(&hub, "roster revoke %s", hex);
	}
	/* enrolment and revocation times are set, in order, near now */
	{
		json_t *list = ucr_json(&hub, "roster list --json"), *e;
		size_t i;
		int seen = 0;

		cr_assert_not_null(list);
		json_array_foreach(list, i, e)
		{
			const char *key =
			    json_string_value(json_object_get(e, "key"));
			json_int_t from = json_integer_value(
			    json_object_get(e, "valid_from"));
			json_int_t at = json_integer_value(
			    json_object_get(e, "revoked_at"));

			if (key == NULL || strcmp(key, nodes[0].hex) != 0)
				continue;
			seen = 1;
			cr_assert_gt(from, 0, "valid_from not set");
			cr_assert_gt(at, from);
			cr_assert_lt(at - (json_int_t)time(NULL) * 1000, 300000,
			    "revoked_at too far ahead");
		}
		cr_assert(seen);
		json_decref(list);
	}
	/* the client's next batch, on the same connection, is refused */
	client_network(&c, "2401", "C2");
	client_batch(&c, &bt, 2, 2, NULL);
	client_send_batch(&c, &bt);
	expect_error(&c, UCR_EROSTER, "batch from a revoked key");
	/* and so is anything else it sends: no more relay for it */
	client_hello(&c);
	{
		Ucr__Frame *f = client_answer(&c, 5000);

		cr_assert_not_null(f);
		cr_assert_eq(f->body_case, UCR__FRAME__BODY_ERROR, "%s",
		    ucr_wire_name(f));
		cr_assert_eq(f->error->code, UCR_EROSTER);
		ucr__frame__free_unpacked(f, NULL);
	}
	cr_assert_eq(hub_head(&c), 1);
	cr_assert_not(hub_holds("2401/network/C2"));
	client_close(&c);

	/* the real node learns it is refused and stops sending */
	wait_link(&nodes[0], "stopped", 15000);
	j = link_state(&nodes[0]);
	cr_assert(strlen(json_string_value(json_object_get(j, "why"))) > 0);
	json_decref(j);
	/* its own later writes are refused locally, or never stored */
	cr_assert_eq(digest_get(&hub, &d), 0);
	before = digest_seq(&d, nodes[0].hex, NULL);
	digest_free(&d);
	cr_assert_eq(before, 1);
	(void)ucr(&nodes[0], NULL, NULL,
	    "network join AFTER --name X --scope "
	    "national --date 2009-01-01");
	/* the bystander goes on, and the revoked node no longer gets relays */
	write_one(&nodes[1], "bystander");
	snprintf(key, sizeof(key), "2480/network/bystander");
	converge(4 + 1 + 1 + 1, which);
	sleep_ms(1500);
	cr_assert_eq(digest_get(&hub, &d), 0);
	cr_assert_eq(digest_seq(&d, nodes[0].hex, NULL), 1);
	digest_free(&d);
	cr_assert_not(hub_holds("2403/network/AFTER"));
	cr_assert_neq(ucr(&nodes[0], NULL, NULL, "show --key %s", key), 0,
	    "a revoked node still receives the region's records");
	j = hub_peer(nodes[0].hex);
	cr_assert(json_is_true(json_object_get(j, "revoked")));
	cr_assert_not(json_is_true(json_object_get(j, "connected")));
	json_decref(j);
	/* a new connection with the revoked key is refused at the door */
	site_stop(&nodes[0], SIGTERM);
	node_start(0);
	sleep_ms(1000);
	cr_assert(log_has(&hub, "zap: refused revoked key"), "%s", tail(&hub));
	cr_assert(log_has(&nodes[0], "the hub refused our key"), "%s",
	    tail(&nodes[0]));
	cr_assert(alive(&hub));
	ucr_key_free(k);
}

/* ---------------------------------------------------------------- restore */

Test(sync, restored_node_recovers_own_log, .timeout = 60)
{
	char *err = NULL;
	int which[] = {0, 1, -1}, i, stopped = 1;
	struct digest d;
	json_t *j;

	region_init(7);
	hub_start();
	node_new("2409", "2409", -1);
	node_new("2404", "2404", -1);
	enrol("2409", nodes[0].hex);
	enrol("2404", nodes[1].hex);
	node_start(0);
	node_start(1);
	for (i = 0; i < 5; i++) {
		char id[16];

		snprintf(id, sizeof(id), "old%d", i);
		write_one(&nodes[0], id);
	}
	converge(3 + 5, which);
	/* a backup of the store, taken at seq 5 */
	site_stop(&nodes[0], SIGTERM);
	cr_assert_eq(tu_run(NULL, &err, "cp -a '%s' '%s.bak'", nodes[0].data,
			 nodes[0].data),
	    0, "%s", err);
	free(err);
	node_start(0);
	write_many(&nodes[0], "new", 200);
	write_one(&nodes[0], "newest");
	converge(3 + 5 + 201, which);
	/* the disk is lost; the backup comes back */
	site_stop(&nodes[0], SIGKILL);
	cr_assert_eq(tu_run(NULL, &err, "rm -rf '%s' && mv '%s.bak' '%s'",
			 nodes[0].data, nodes[0].data, nodes[0].data),
	    0, "%s", err);
	free(err);
	node_start(0);
	/* it fetches its own log back before it writes again */
	{
		long end = now_ms() + 15000;

		for (;;) {
			j = link_state(&nodes[0]);
			if (json_integer_value(json_object_get(j, "head")) ==
				206 &&
			    json_is_true(json_object_get(j, "writes_open")))
				break;
			cr_assert_lt(now_ms(), end, "no restore: %s\n%s",
			    json_dumps(j, 0), tail(&nodes[0]));
			json_decref(j);
			sleep_ms(100);
		}
		json_decref(j);
	}
	cr_assert(log_has(&nodes[0], "restore"), "%s", tail(&nodes[0]));
	write_one(&nodes[0], "after-restore");
	converge(3 + 5 + 201 + 1, which);
	cr_assert_eq(digest_get(&hub, &d), 0);
	cr_assert_eq(digest_seq(&d, nodes[0].hex, &stopped), 207);
	cr_assert_not(stopped, "a restore is not a fork");
	digest_free(&d);
	cr_assert_eq(hub_quarantined(), 0);
	j = link_state(&nodes[0]);
	cr_assert_str_eq(json_string_value(json_object_get(j, "state")),
	    "stream");
	json_decref(j);
	verify_store(&nodes[0]);
	verify_store(&hub);
}

/* ---------------------------------------------------------------- rebase */

/*
 * A store restored from a plain copy and written to before it heard from
 * the hub: a copy of a node's store, started where it cannot reach the
 * hub, writes other entries at seqs the hub already holds from the
 * original. When it reaches the hub it takes the hub's entries back and
 * re-bases its own on top (re-signed, new seqs): every write of both is
 * in the region, no fork, no stopped log. extra: the copy writes one more
 * entry than the original, so its head lies beyond the hub's and only the
 * node can see the difference (the hub answers "ok"); without, the hub
 * sees it in the hello ("rebase").
 */
static void
rebase_test(int offset, int extra)
{
	char *err = NULL, *out = NULL;
	int which[] = {1, 2, -1}, stopped = 1, i;
	struct digest d;
	json_t *j;

	region_init(offset);
	hub_start();
	node_new("2460", "2460", -1);
	node_new("2460", "2460b", 0); /* the copy: same key */
	node_new("2480", "2480", -1);
	enrol("2460", nodes[0].hex);
	enrol("2480", nodes[2].hex);
	node_start(0);
	node_start(2);
	write_one(&nodes[0], "common");
	converge(3 + 1, (int[]){0, 2, -1});
	site_stop(&nodes[0], SIGTERM);
	cr_assert_eq(tu_run(NULL, &err, "cp -a '%s' '%s'", nodes[0].data,
			 nodes[1].data),
	    0, "%s", err);
	free(err);
	node_start(0);
	write_one(&nodes[0], "orig2");
	write_one(&nodes[0], "orig3");
	converge(3 + 3, (int[]){0, 2, -1});

	/* the copy, cut off from the hub (port 1), writes at seqs 2.. */
	node_conf(&nodes[1], "2460", 1);
	node_up(1);
	write_one(&nodes[1], "copy2");
	write_one(&nodes[1], "copy3");
	for (i = 0; i < extra; i++)
		write_one(&nodes[1], "copy4");
	site_stop(&nodes[1], SIGTERM);
	node_conf(&nodes[1], "2460", 0);
	/* the original is gone for good; the copy reaches the hub */
	site_stop(&nodes[0], SIGTERM);
	node_start(1);
	converge(3 + 5 + extra, which);
	wait_link(&nodes[1], "stream", 10000);
	/* every write of both is everywhere, once */
	cr_assert(hub_holds("2460/network/orig2"));
	cr_assert(hub_holds("2460/network/orig3"));
	cr_assert(hub_holds("2460/network/copy2"));
	cr_assert(hub_holds("2460/network/copy3"));
	cr_assert(extra == 0 || hub_holds("2460/network/copy4"));
	cr_assert_eq(digest_get(&hub, &d), 0);
	cr_assert_eq(digest_seq(&d, nodes[0].hex, &stopped), 5 + extra);
	cr_assert_not(stopped, "a re-based copy is not a fork");
	digest_free(&d);
	cr_assert_eq(hub_quarantined(), 0);
	cr_assert_not(log_has(&hub, "ALARM"), "%s", tail(&hub));
	cr_assert_not(log_has(&nodes[1], "ALARM"), "%s", tail(&nodes[1]));
	/* said in the node's log and in ucr peers */
	cr_assert(log_has(&nodes[1], "re-based"), "%s", tail(&nodes[1]));
	j = link_state(&nodes[1]);
	cr_assert_eq(json_integer_value(json_object_get(j, "recovered")), 2,
	    "%s", json_dumps(j, 0));
	cr_assert_eq(json_integer_value(json_object_get(j, "rebased")),
	    2 + extra, "%s", json_dumps(j, 0));
	cr_assert(json_is_true(json_object_get(j, "writes_open")));
	json_decref(j);
	cr_assert_eq(ucr(&nodes[1], &out, &err, "peers"), 0, "%s", err);
	cr_assert(strstr(out, "recovered 2 own entries, re-based") != NULL,
	    "%s", out);
	free(out);
	free(err);
	/* and it writes on */
	write_one(&nodes[1], "after");
	converge(3 + 6 + extra, which);
	verify_store(&nodes[1]);
	verify_store(&hub);
}

Test(sync, restored_copy_rebases_seen_in_hello, .timeout = 60)
{
	rebase_test(8, 0);
}

Test(sync, restored_copy_rebases_seen_by_node, .timeout = 60)
{
	rebase_test(9, 1);
}

/*
 * A fork is two different entries at one seq, both signed and accepted
 * somewhere: here a batch that rewrites entries the hub acknowledged.
 * The hub stops the log, keeps the evidence and names the seq.
 */
Test(sync, fork_of_acknowledged_entries, .timeout = 60)
{
	struct ucr_key *k;
	struct client c;
	struct batch bt;
	uint64_t seq;

	region_init(13);
	hub_start();
	k = enrolled_key("2403", "client");
	client_open(&c, k);
	cr_assert_eq(expect_usable(&c, "connecting"), 0);
	client_network(&c, "2403", "F1");
	client_network(&c, "2403", "F2");
	client_network(&c, "2403", "F3");
	client_push(&c, 1, 3);
	/* 2 and 3 again, other records, after the hub acknowledged them */
	client_drop(&c);
	client_drop(&c);
	client_network(&c, "2403", "G2");
	client_network(&c, "2403", "G3");
	client_batch(&c, &bt, 2, 3, NULL);
	client_send_batch(&c, &bt);
	seq = expect_error(&c, UCR_EFORK, "a rewrite of acknowledged entries");
	(void)seq;
	cr_assert_geq(hub_quarantined(), 1, "the evidence is kept");
	cr_assert(log_has(&hub, "fork at seq 2"), "%s", tail(&hub));
	cr_assert(hub_holds("2403/network/F2"));
	cr_assert_not(hub_holds("2403/network/G2"));
	{
		/* the report names seq 2; its two signed batches verify */
		char *out = NULL, *err = NULL;
		json_t *j, *f;

		cr_assert_eq(tu_run(&out, &err,
				 "ucr forks --data '%s' --region %s --json",
				 hub.data, REGION),
		    0, "%s", err);
		j = json_loads(out, 0, NULL);
		cr_assert(j != NULL, "%s", out);
		f = json_array_get(json_object_get(j, "forks"), 0);
		cr_assert(f != NULL, "%s", out);
		cr_assert_eq(json_integer_value(json_object_get(f, "seq")), 2);
		cr_assert(json_is_true(json_object_get(f, "verified")), "%s",
		    out);
		cr_assert(json_is_string(json_object_get(f, "held_batch")));
		cr_assert(json_is_string(json_object_get(f, "offered_batch")));
		json_decref(j);
		free(out);
		free(err);
	}
	client_close(&c);
	ucr_key_free(k);
}

/*
 * A cut link: the hub stops answering (SIGSTOP: no FIN, no RST, as a
 * pulled cable). The node must not go on saying "lag 0": after missed
 * heartbeats its peers shows the link offline; when the hub is back it
 * is online again.
 */
Test(sync, cut_link_shows_offline, .timeout = 90)
{
	char *out = NULL, *err = NULL;
	long end;
	json_t *j;
	int offline = 0;

	region_init(14);
	hub_start();
	node_new("2401", "2401", -1);
	enrol("2401", nodes[0].hex);
	node_up(0);
	write_one(&nodes[0], "before-cut");
	wait_link(&nodes[0], "stream", 10000);
	j = link_state(&nodes[0]);
	cr_assert(json_is_true(json_object_get(j, "connected")), "%s",
	    json_dumps(j, 0));
	json_decref(j);
	cr_assert_eq(kill(hub.pid, SIGSTOP), 0);
	end = now_ms() + 45000;
	while (!offline && now_ms() < end) {
		j = link_state(&nodes[0]);
		offline = json_is_false(json_object_get(j, "connected"));
		json_decref(j);
		if (!offline)
			sleep_ms(500);
	}
	cr_assert(offline, "the node never saw the link go:\n%s",
	    tail(&nodes[0]));
	cr_assert_eq(ucr(&nodes[0], &out, &err, "peers"), 0, "%s", err);
	cr_assert(strstr(out, "OFFLINE") != NULL, "%s", out);
	cr_assert(strstr(out, "lag 0") == NULL, "%s", out);
	free(out);
	free(err);
	cr_assert_eq(kill(hub.pid, SIGCONT), 0);
	end = now_ms() + 20000;
	for (;;) {
		j = link_state(&nodes[0]);
		if (json_is_true(json_object_get(j, "connected")))
			break;
		cr_assert_lt(now_ms(), end, "never back online: %s",
		    json_dumps(j, 0));
		json_decref(j);
		sleep_ms(200);
	}
	json_decref(j);
}

/* ---------------------------------------------------------------- self-test */

Test(sync, selftest_refuses_without_zap, .timeout = 30)
{
	long end;
	int st = 0, rc;
	pid_t pid;

	region_init(10);
	/* the switch is in the test build only (ucr-hub-test) */
	pid = spawn(hub.log, "UCR_TEST_DISABLE_ZAP=1",
	    "exec ucr-hub-test -d -f '%s'", hub.conf);
	hub.pid = pid;
	end = now_ms() + 15000;
	while ((rc = waitpid(pid, &st, WNOHANG)) == 0 && now_ms() < end)
		sleep_ms(50);
	cr_assert_eq(rc, pid, "a hub without its ZAP handler kept running:\n%s",
	    tail(&hub));
	hub.pid = -1;
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0, "status %d", st);
	cr_assert(log_has(&hub, "self-test failed"), "%s", tail(&hub));
	cr_assert_not(log_has(&hub, "started"), "%s", tail(&hub));
	/* the same configuration with the handler passes its self-test */
	hub_start();
	cr_assert(log_has(&hub, "self-test passed"), "%s", tail(&hub));
}

/*
 * The hub that ships has no way to start without its ZAP handler: the
 * test build's switch is not read, so the hub starts with its handler,
 * passes its self-test (a random key refused by the handler), and keeps
 * an unenrolled key out.
 */
Test(sync, shipped_hub_ignores_the_test_switch, .timeout = 30)
{
	region_init(10);
	site_start_env(&hub, 1, "UCR_TEST_DISABLE_ZAP=1");
	cr_assert(log_has(&hub, "self-test passed"), "%s", tail(&hub));
	unknown_key_gets_nothing();
}

/*
 * A backup made with "ucr backup" is marked: a node started on it while the
 * hub is down does not open writes after the usual wait (it might be
 * behind its own log at the hub, and writing would fork it). When the hub
 * comes back, the node fetches its newer entries and only then writes.
 */
Test(sync, restored_backup_waits_for_the_hub, .timeout = 60)
{
	char *out = NULL, *err = NULL, bak[sizeof(nodes[0].data) + 8];
	int which[] = {0, -1}, stopped = 1, rc;
	struct digest d;
	json_t *j;

	region_init(11);
	hub_start();
	node_new("2460", "2460", -1);
	enrol("2460", nodes[0].hex);
	node_start(0);
	write_one(&nodes[0], "before");
	converge(2 + 1, which);
	snprintf(bak, sizeof(bak), "%s.bak", nodes[0].data);
	rc = ucr(&nodes[0], &out, &err, "backup --out '%s'", bak);
	cr_assert_eq(rc, 0, "%s %s", out, err);
	free(out);
	free(err);
	write_one(&nodes[0], "after-backup");
	converge(2 + 2, which);
	/* the node's disk is lost while the hub is down too */
	site_stop(&nodes[0], SIGKILL);
	site_stop(&hub, SIGTERM);
	cr_assert_eq(tu_run(NULL, &err, "rm -rf '%s' && mv '%s' '%s'",
			 nodes[0].data, bak, nodes[0].data),
	    0, "%s", err);
	free(err);
	node_start(0);
	sleep_ms(4500); /* past the 3 s an unmarked store would wait */
	rc = ucr(&nodes[0], &out, &err,
	    "network join lost --name Lost --scope national --date 2009-01-01");
	cr_assert_neq(rc, 0, "a restored backup wrote without the hub: %s",
	    out);
	cr_assert(strstr(err, "restored backup") != NULL, "%s", err);
	free(out);
	free(err);
	j = link_state(&nodes[0]);
	cr_assert_not(json_is_true(json_object_get(j, "writes_open")));
	json_decref(j);
	/* the hub comes back: the node restores, then writes */
	hub_start();
	write_one(&nodes[0], "after-restore");
	converge(2 + 3, which);
	cr_assert_eq(digest_get(&hub, &d), 0);
	cr_assert_eq(digest_seq(&d, nodes[0].hex, &stopped), 3);
	cr_assert_not(stopped, "a restore is not a fork");
	digest_free(&d);
	cr_assert_eq(hub_quarantined(), 0);
	verify_store(&nodes[0]);
}

/*
 * A wiped store is a new epoch of the node's log: the hub refuses it and
 * keeps the old log until the administrator accepts the new epoch; then
 * the new log syncs and both stay.
 */
Test(sync, wiped_store_new_epoch_needs_acceptance, .timeout = 90)
{
	char *out = NULL, *err = NULL, epoch[32] = "";
	int which[] = {0, -1}, stopped = 1, rc;
	struct digest d;
	json_t *j, *o;
	size_t i;

	region_init(12);
	hub_start();
	node_new("2401", "2401", -1);
	enrol("2401", nodes[0].hex);
	node_start(0);
	write_one(&nodes[0], "old1");
	write_one(&nodes[0], "old2");
	converge(2 + 2, which);
	/* the store is wiped: a new epoch */
	site_stop(&nodes[0], SIGTERM);
	cr_assert_eq(tu_run(NULL, &err, "rm -rf '%s'", nodes[0].data), 0, "%s",
	    err);
	free(err);
	node_start(0);
	{
		long end = now_ms() + 15000;

		for (;;) {
			j = link_state(&nodes[0]);
			if (strcmp(json_string_value(
				       json_object_get(j, "state")),
				"stopped") == 0)
				break;
			cr_assert_lt(now_ms(), end, "not refused: %s",
			    json_dumps(j, 0));
			json_decref(j);
			sleep_ms(100);
		}
		cr_assert(strstr(json_string_value(json_object_get(j, "why")),
			      "accept-epoch") != NULL);
		json_decref(j);
	}
	/* it may still write locally; the hub keeps only the old log */
	write_one(&nodes[0], "new1");
	sleep_ms(500);
	cr_assert_eq(digest_get(&hub, &d), 0);
	cr_assert_eq(digest_seq(&d, nodes[0].hex, &stopped), 2);
	digest_free(&d);
	cr_assert(log_has(&hub, "new epoch"), "%s", tail(&hub));
	/*
	 * The administrator accepts the node's new epoch: the one of the
	 * node's own logs that the hub does not hold (the node holds its old
	 * log too, relayed back from the hub).
	 */
	cr_assert_eq(digest_get(&hub, &d), 0);
	j = ucr_json(&nodes[0], "digest --json");
	json_array_foreach(json_object_get(j, "logs"), i, o)
	{
		const char *e = json_string_value(json_object_get(o, "epoch"));
		json_t *ho;
		size_t k;
		int held = 0;

		if (strcmp(json_string_value(json_object_get(o, "author")),
			nodes[0].hex) != 0)
			continue;
		json_array_foreach(d.logs, k, ho)
		{
			held |= strcmp(json_string_value(
					   json_object_get(ho, "epoch")),
				    e) == 0;
		}
		if (!held)
			snprintf(epoch, sizeof(epoch), "%s", e);
	}
	json_decref(j);
	digest_free(&d);
	cr_assert_neq(epoch[0], '\0');
	rc = ucr(&hub, &out, &err, "roster accept-epoch %s %s", nodes[0].hex,
	    epoch);
	cr_assert_eq(rc, 0, "%s %s", out, err);
	free(out);
	free(err);
	/* both logs at the hub: the old (2) and the new (1); records 2+1+3 */
	converge(2 + 1 + 3, which);
	cr_assert_eq(digest_get(&hub, &d), 0);
	{
		int olds = 0, news = 0;

		json_array_foreach(d.logs, i, o)
		{
			if (strcmp(json_string_value(
				       json_object_get(o, "author")),
				nodes[0].hex) != 0)
				continue;
			if (strcmp(json_string_value(
				       json_object_get(o, "epoch")),
				epoch) == 0)
				news = json_integer_value(
				    json_object_get(o, "seq"));
			else
				olds = json_integer_value(
				    json_object_get(o, "seq"));
		}
		cr_assert_eq(olds, 2, "the old log is kept");
		cr_assert_eq(news, 1, "the new log is taken");
	}
	digest_free(&d);
	cr_assert_eq(hub_quarantined(), 0);
}
