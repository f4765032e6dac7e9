/*
 * test_hub_checkpoint.c: the hub reads a checkpoint's heads and view
 * digest on a thread of its own, so its loop goes on answering and
 * ingesting meanwhile. A test hook (UCR_TEST_CHECKPOINT_HOLD) holds that
 * thread inside its read transaction until the test lets it go, which
 * makes "while a checkpoint is being read" a known state, not a timing.
 * Real hub and node on loopback.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "checkpoint.h"
#include "error.h"
#include "keys.h"
#include "record.h"
#include "region.h"
#include "testutil.h"

TestSuite(hub_checkpoint, .init = region_setup, .fini = region_teardown,
    .timeout = 180);

static char holddir[600], holdenv[700];

/* The hub started with its checkpoint thread held at its first head. */
static void
hub_start_held(void)
{
	snprintf(holddir, sizeof(holddir), "%s/hold", dir);
	cr_assert_eq(mkdir(holddir, 0700), 0);
	snprintf(holdenv, sizeof(holdenv), "UCR_TEST_CHECKPOINT_HOLD=%s",
	    holddir);
	region_hub_prog = "ucr-hub-test"; /* the hook is in its build only */
	site_start_env(&hub, 1, holdenv);
}

static int
exists(const char *name)
{
	char p[700];

	snprintf(p, sizeof(p), "%s/%s", holddir, name);
	return access(p, F_OK) == 0;
}

static void
release(void)
{
	char p[700];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/release", holddir);
	cr_assert_not_null(fp = fopen(p, "w"));
	fclose(fp);
}

static void
wait_held(void)
{
	long end = now_ms() + 20000;

	while (!exists("held") && now_ms() < end)
		sleep_ms(50);
	cr_assert(exists("held"), "the checkpoint thread never held:\n%s",
	    tail(&hub));
}

static int
running(void)
{
	json_t *j = ctl_query(&hub, "hub", 2000);
	int r;

	cr_assert_not_null(j, "hub does not answer: %s", tail(&hub));
	r = json_is_true(json_object_get(j, "checkpoint_running"));
	json_decref(j);
	return r;
}

/* The hub's stored checkpoint (read-only, the hub running). */
static Ucr__CheckpointBody *
hub_checkpoint(void)
{
	struct ucr_store *st = store_ro(hub.data);
	Ucr__CheckpointBody *cp = NULL;
	int rc = ucr_checkpoint_load(st, hubpk, REGION, &cp, NULL, 0);

	ucr_store_free(st);
	cr_assert_eq(rc, 0, "no usable checkpoint in the hub's store: %d", rc);
	return cp;
}

static unsigned long long
seq_sum(const Ucr__CheckpointBody *cp)
{
	unsigned long long n = 0;
	size_t i;

	for (i = 0; i < cp->n_heads; i++)
		n += cp->heads[i]->seq;
	return n;
}

static int
sum_cb(const struct ucr_head *h, void *arg)
{
	*(unsigned long long *)arg += h->seq;
	return 0;
}

static unsigned long long
hub_seq_sum(void)
{
	struct ucr_store *st = store_ro(hub.data);
	unsigned long long n = 0;

	cr_assert_eq(ucr_store_foreach_head(st, sum_cb, &n), 0);
	ucr_store_free(st);
	return n;
}

/*
 * The hub's counters as "ucr peers --json" gives them (its own entry's
 * "counters"), checked to hold the checkpoint counters as numbers, and
 * "ucr peers" checked to print has (the checkpoints line). New reference.
 */
static json_t *
peers_counters(const char *has)
{
	json_t *arr = ucr_json(&hub, "peers --json"), *o, *c = NULL;
	char *out = NULL;
	size_t i;

	cr_assert_not_null(arr, "ucr peers --json failed: %s", tail(&hub));
	json_array_foreach(arr, i, o)
	{
		if (strcmp(json_string_value(json_object_get(o, "role")),
			"hub") == 0)
			c = json_incref(json_object_get(o, "counters"));
	}
	json_decref(arr);
	cr_assert(json_is_object(c), "no counters on the hub's own entry");
	cr_assert(json_is_integer(json_object_get(c, "checkpoints")));
	cr_assert(json_is_integer(json_object_get(c, "checkpoint_ms")));
	cr_assert_geq(json_integer_value(json_object_get(c, "checkpoint_ms")),
	    0);
	cr_assert(json_is_boolean(json_object_get(c, "checkpoint_running")));
	cr_assert_eq(ucr(&hub, &out, NULL, "peers"), 0);
	cr_assert(strstr(out, has) != NULL, "ucr peers: no '%s' in:\n%s", has,
	    out);
	free(out);
	return c;
}

static void
hex(char out[65], const uint8_t *p)
{
	ucr_hex(out, p, 32);
}

Test(hub_checkpoint, the_loop_serves_and_ingests_while_one_is_read)
{
	Ucr__CheckpointBody *cp;
	struct digest hd, nd;
	json_t *c;
	char view[65];
	unsigned long long before;
	long end;
	int i, same;

	region_init(150);
	hub_start_held();
	wait_held();
	/* a write through the hub's own control socket */
	node_new("2403", "2403", -1);
	enrol("2403", nodes[0].hex);

	/* held inside its read: the hub answers, again and again */
	for (i = 0; i < 20; i++)
		cr_assert(running(), "no checkpoint running:\n%s", tail(&hub));
	cr_assert_eq(hub_counter("checkpoints"), 0);
	/* and ucr peers says so */
	c = peers_counters("checkpoints: 0 signed since the start, the last "
			   "read in 0 ms; one is being read now");
	cr_assert_eq(json_integer_value(json_object_get(c, "checkpoints")), 0);
	cr_assert(json_is_true(json_object_get(c, "checkpoint_running")));
	json_decref(c);

	/* ... and a node connects, writes, and the hub takes it in */
	node_up(0);
	write_one(&nodes[0], "C1");
	write_one(&nodes[0], "C2");
	end = now_ms() + CONVERGE_MS;
	for (same = 0; !same && now_ms() < end;) {
		cr_assert_eq(digest_get(&hub, &hd), 0);
		cr_assert_eq(digest_get(&nodes[0], &nd), 0);
		same = strcmp(hd.view, nd.view) == 0;
		digest_free(&hd);
		digest_free(&nd);
		if (!same)
			sleep_ms(100);
	}
	cr_assert(same,
	    "the hub did not take the node's writes in while a "
	    "checkpoint was read:\n%s",
	    tail(&hub));
	cr_assert(running(), "the checkpoint ended while held");
	cr_assert_eq(hub_counter("checkpoints"), 0);

	/* let go: signed, stored, and of the state when it began */
	before = hub_seq_sum();
	release();
	end = now_ms() + 10000;
	while (hub_counter("checkpoints") < 1 && now_ms() < end)
		sleep_ms(50);
	cr_assert_eq(hub_counter("checkpoints"), 1, "%s", tail(&hub));
	cr_assert(!running());
	c = peers_counters("checkpoints: 1 signed since the start");
	cr_assert_eq(json_integer_value(json_object_get(c, "checkpoints")), 1);
	cr_assert(json_is_false(json_object_get(c, "checkpoint_running")));
	json_decref(c);
	cp = hub_checkpoint();
	cr_assert_lt(seq_sum(cp), before,
	    "the checkpoint holds writes made after it began");
	cr_assert_eq(cp->view_digest.len, 32);
	hex(view, cp->view_digest.data);
	cr_assert_eq(digest_get(&hub, &hd), 0);
	cr_assert_str_neq(view, hd.view);
	digest_free(&hd);
	ucr__checkpoint_body__free_unpacked(cp, NULL);

	/* the next one (10 s on) has them, and the node takes it */
	end = now_ms() + 25000;
	while (hub_counter("checkpoints") < 2 && now_ms() < end)
		sleep_ms(200);
	cr_assert_geq(hub_counter("checkpoints"), 2, "%s", tail(&hub));
	cp = hub_checkpoint();
	cr_assert_eq(seq_sum(cp), hub_seq_sum());
	hex(view, cp->view_digest.data);
	cr_assert_eq(digest_get(&hub, &hd), 0);
	cr_assert_str_eq(view, hd.view);
	digest_free(&hd);
	ucr__checkpoint_body__free_unpacked(cp, NULL);
	cr_assert_eq(log_count(&nodes[0], "ALARM"), 0, "%s", tail(&nodes[0]));
	cr_assert_eq(log_count(&nodes[0], "checkpoint refused"), 0, "%s",
	    tail(&nodes[0]));
	site_stop(&nodes[0], SIGTERM);
	site_stop(&hub, SIGTERM);
}

/* Stopped while a checkpoint is read: the thread is stopped and joined. */
Test(hub_checkpoint, stop_while_one_is_read)
{
	long t0;

	region_init(151);
	hub_start_held();
	wait_held();
	cr_assert(running());
	t0 = now_ms();
	site_stop(&hub, SIGTERM); /* asserts a clean exit */
	cr_assert_lt(now_ms() - t0, 5000);
	cr_assert(log_has(&hub, "stopping"), "%s", tail(&hub));
	cr_assert(!log_has(&hub, "Sanitizer"), "%s", tail(&hub));
	cr_assert(!log_has(&hub, "runtime error"), "%s", tail(&hub));
}

/*
 * An import on the hub reopens its store at the commit (ucr_store_shed):
 * a checkpoint being read is stopped and joined first, dropped, and made
 * again at the next interval, with the import in it.
 */
Test(hub_checkpoint, an_import_stops_one_being_read)
{
	Ucr__CheckpointBody *cp;
	struct digest hd;
	char path[700], view[65], *buf, *p;
	long end;
	int i;

	region_init(152);
	hub_start_held();
	wait_held();
	snprintf(path, sizeof(path), "%s/region.json", dir);
	/* more than one request holds (5000): a streamed import */
	cr_assert_not_null(buf = malloc(5001 * 200 + 16));
	p = buf;
	*p++ = '[';
	for (i = 0; i < 5001; i++)
		p += sprintf(p,
		    "%s{\"kind\":\"network\",\"id\":\"R%d\","
		    "\"name\":\"Network %d\",\"scope\":\"national\","
		    "\"joined\":\"2009-01-01\"}\n",
		    i ? "," : "", i, i);
	*p++ = ']';
	*p = '\0';
	cr_assert_eq(tu_write(path, buf), 0);
	free(buf);
	ucr_ok(&hub, "import '%s'", path);
	cr_assert(!running(), "a checkpoint still read across the reopen");
	cr_assert_eq(hub_counter("checkpoints"), 0);

	release();
	end = now_ms() + 25000;
	while (hub_counter("checkpoints") < 1 && now_ms() < end)
		sleep_ms(200);
	cr_assert_eq(hub_counter("checkpoints"), 1, "%s", tail(&hub));
	cp = hub_checkpoint();
	hex(view, cp->view_digest.data);
	cr_assert_eq(digest_get(&hub, &hd), 0);
	cr_assert_str_eq(view, hd.view, "the import is not in the checkpoint");
	cr_assert_geq(hd.records, 5001);
	digest_free(&hd);
	ucr__checkpoint_body__free_unpacked(cp, NULL);
	site_stop(&hub, SIGTERM);
}
