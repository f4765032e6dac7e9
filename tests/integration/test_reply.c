/*
 * test_reply.c: when a node answers a write on its control socket
 * (docs/design.md, "Daemons"). The answer comes once the write is
 * durable in the node's store folder (journaled, or committed) and before
 * anything goes to the hub:
 *
 * - a node killed (SIGKILL) the moment its answer arrives has the write
 *   when it starts again (from its store, or from its write journal if
 *   the kill came between the answer and the commit), at the seq
 *   answered, and sends it to the hub then;
 * - a hub that reads nothing (stopped with SIGSTOP) does not hold up the
 *   answer.
 *
 * SIGKILL loses what a process had not yet handed to the kernel, not what
 * the kernel had not yet written to the disk: these tests catch an answer
 * sent before the write is journaled or committed, not a missing fsync
 * (the journal's and LMDB's durable writes are the store's,
 * tests/common/test_store_journal.c, tests/common/test_store.c).
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <zmq.h>

#include "region.h"
#include "testutil.h"
#include "ucr.pb-c.h"

TestSuite(reply, .init = region_setup, .fini = region_teardown, .timeout = 120);

/* Freeze or thaw a daemon: SIGSTOP, SIGCONT. */
static void
freeze(struct site *s, int on)
{
	cr_assert_gt(s->pid, 0);
	cr_assert_eq(kill(s->pid, on ? SIGSTOP : SIGCONT), 0);
}

/*
 * Write the network record OWNER/network/ID through a node's control
 * socket, as ucr does. With kill9, the node gets SIGKILL the moment the
 * answer is read, before anything else runs in this process. The seq of
 * the write; the answer's time in *ms. Fails the test when no answer comes
 * within 5 s or the write is refused.
 */
static uint64_t
put(struct site *n, const char *owner, const char *id, int kill9, long *ms)
{
	Ucr__Reply *rep;
	void *ctx = zmq_ctx_new(), *sock = zmq_socket(ctx, ZMQ_REQ);
	zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
	uint8_t buf[1024];
	zmq_msg_t m;
	uint64_t seq;
	int zero = 0, got;
	long t0;
	size_t len = network_put(buf, sizeof(buf), owner, id);

	zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero));
	cr_assert_eq(zmq_connect(sock, n->ctl), 0);
	t0 = now_ms();
	cr_assert_geq(zmq_send(sock, buf, len, 0), 0);
	got = zmq_poll(&it, 1, 5000);
	if (got == 1) {
		zmq_msg_init(&m);
		got = zmq_msg_recv(&m, sock, 0) >= 0;
		if (got && kill9)
			kill(n->pid, SIGKILL); /* nothing in between */
	}
	*ms = now_ms() - t0;
	cr_assert_eq(got, 1, "%s: no answer within 5 s\n%s", id, tail(n));
	rep = ucr__reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
	zmq_msg_close(&m);
	cr_assert_not_null(rep);
	cr_assert_eq(rep->code, 0, "%s: refused: %s", id, rep->message);
	seq = rep->last_seq;
	ucr__reply__free_unpacked(rep, NULL);
	zmq_close(sock);
	zmq_ctx_term(ctx);
	if (kill9)
		site_stop(n, SIGKILL); /* reap it */
	return seq;
}

#define KILLS 8

/* A hub and node 0 (2403), enrolled and taking writes. */
static void
one_node(int seed)
{
	region_init(seed);
	hub_start();
	node_new("2403", "2403", -1);
	enrol("2403", nodes[0].hex);
	node_up(0);
}

/*
 * Each write answered, then the node killed at once: the store holds it
 * when the node is down, at the seq answered, and the hub gets every one
 * once the node is back.
 */
Test(reply, kill9_right_after_the_answer_loses_nothing)
{
	int which[] = {0, -1};
	char id[16], key[64];
	uint64_t seq;
	long ms;
	int i;
	json_t *j;

	one_node(140);
	for (i = 0; i < KILLS; i++) {
		snprintf(id, sizeof(id), "K%d", i);
		snprintf(key, sizeof(key), "2403/network/%s", id);
		seq = put(&nodes[0], "2403", id, 1, &ms);
		cr_assert_eq(seq, (uint64_t)i + 1);
		node_up(0);
		cr_assert(site_holds(&nodes[0], key),
		    "%s answered (seq %llu) and lost by kill -9", key,
		    (unsigned long long)seq);
		j = link_state(&nodes[0]);
		cr_assert_eq(json_integer_value(json_object_get(j, "head")),
		    (json_int_t)seq, "the node's head after the restart");
		json_decref(j);
	}
	/* the hub's roster (its own entry and the node's) and the writes */
	converge(2 + KILLS, which);
	verify_store(&nodes[0]);
	verify_store(&hub);
}

/*
 * The hub stopped (SIGSTOP: its connections stay open, it reads and
 * answers nothing): the node still answers each write at once. The writes
 * reach the hub when it runs again, one of them after a kill -9 of the
 * node that had sent it to the stopped hub.
 */
Test(reply, answer_does_not_wait_for_the_hub)
{
	int which[] = {0, -1};
	long ms;
	char *err = NULL;
	int i;

	one_node(141);
	write_one(&nodes[0], "before");
	converge(3, which);

	freeze(&hub, 1);
	for (i = 0; i < 5; i++) {
		char id[16];

		snprintf(id, sizeof(id), "F%d", i);
		put(&nodes[0], "2403", id, 0, &ms);
		/* the node's own commit, not a round trip to the hub */
		cr_assert_lt(ms, 2000, "%s answered after %ld ms", id, ms);
	}
	/* the CLI as an officer runs it, the hub still stopped */
	cr_assert_eq(ucr(&nodes[0], NULL, &err,
			 "network join CLI --name 'Network CLI' "
			 "--scope national --date 2009-01-01"),
	    0, "%s", err ? err : "");
	free(err);
	put(&nodes[0], "2403", "last", 1, &ms);
	freeze(&hub, 0);
	node_up(0);
	cr_assert(site_holds(&nodes[0], "2403/network/last"));
	converge(3 + 5 + 2, which);
	verify_store(&nodes[0]);
}

/*
 * The batch of an answered write leaves for the hub before the node's own
 * commit (docs/design.md, "Answer after the journal"): it is durable in
 * the write journal, and its bytes are the ones a start after a crash
 * applies. A node built with a crash where its commit would be
 * (ucr-node-test, UCR_TEST_CRASH_BEFORE_COMMIT: it exits once the hub has
 * acknowledged the batch) leaves the hub holding the write and its own
 * store without it; started again, it applies the write from its journal,
 * the same entry the hub holds (no fork), and goes on writing.
 */
Test(reply, batch_leaves_before_its_commit)
{
	int which[] = {0, -1}, st;
	long ms;
	uint64_t seq;
	json_t *j;

	one_node(142);
	write_one(&nodes[0], "before");
	converge(3, which);
	j = link_state(&nodes[0]);
	cr_assert_geq(json_integer_value(
			  json_object_get(j, "sent_before_commit")),
	    1, "an idle node's write did not leave before its commit: %s",
	    json_dumps(j, 0));
	json_decref(j);

	site_stop(&nodes[0], SIGTERM);
	region_node_prog = "ucr-node-test"; /* the hook is in its build only */
	site_start_env(&nodes[0], 0, "UCR_TEST_CRASH_BEFORE_COMMIT=1");
	wait_link(&nodes[0], "stream", 10000);
	seq = put(&nodes[0], "2403", "early", 0, &ms);
	cr_assert_eq(waitpid(nodes[0].pid, &st, 0), nodes[0].pid);
	nodes[0].pid = -1;
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 9,
	    "the node did not stop where its commit would be (status %d):\n%s",
	    st, tail(&nodes[0]));
	cr_assert(site_holds(&hub, "2403/network/early"),
	    "the hub lacks the batch sent before the commit\n%s", tail(&hub));
	cr_assert_not(site_holds(&nodes[0], "2403/network/early"),
	    "the node's commit was made: the test proves nothing");

	region_node_prog = "ucr-node";
	node_up(0);
	cr_assert(site_holds(&nodes[0], "2403/network/early"),
	    "answered, sent, and lost at the node\n%s", tail(&nodes[0]));
	j = link_state(&nodes[0]);
	cr_assert_eq(json_integer_value(json_object_get(j, "head")),
	    (json_int_t)seq, "%s", json_dumps(j, 0));
	json_decref(j);
	write_one(&nodes[0], "after");
	converge(5, which);
	j = hub_peer(nodes[0].hex);
	cr_assert(json_is_false(json_object_get(j, "forked")), "%s",
	    json_dumps(j, 0));
	cr_assert_eq(json_integer_value(json_object_get(j, "refused")), 0, "%s",
	    json_dumps(j, 0));
	json_decref(j);
	verify_store(&nodes[0]);
	verify_store(&hub);
}
