/*
 * test_relay_pace.c: a node that refuses relayed batches is not fed them
 * again in a loop (docs/protocol.md 5.4, "A refused range"). The node's
 * store is on a small tmpfs that is filled up, so every relayed batch of
 * another node's log fails with a full disk and the node acks short; the
 * hub sends the refused range again only after a back-off that doubles
 * (1 s, 2 s, 4 s, ...), one batch at a time, and says so in `ucr peers`.
 * Once room is made the node catches up at the next try.
 *
 * Needs root to mount the tmpfs (skipped otherwise, as the disk-full tests
 * of tests/common/test_control_import.c).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "region.h"
#include "testutil.h"

static char mnt[700]; /* the small tmpfs, or "" */

static void
pace_teardown(void)
{
	int i;

	for (i = 0; i < nnodes; i++)
		if (nodes[i].pid > 0)
			site_stop(&nodes[i], SIGKILL);
	if (hub.pid > 0)
		site_stop(&hub, SIGKILL);
	if (*mnt)
		umount2(mnt, MNT_DETACH);
	mnt[0] = '\0';
	region_teardown();
}

TestSuite(relay_pace, .init = region_setup, .fini = pace_teardown,
    .timeout = 150);

/* The node's count of relayed batches it refused. */
static long long
node_refused(const struct site *s)
{
	json_t *j = link_state(s);
	long long n = json_integer_value(json_object_get(j, "refused"));

	json_decref(j);
	return n;
}

/* The hub's "paced" list for a node (new reference). */
static json_t *
hub_paced(const struct site *s)
{
	json_t *p = hub_peer(s->hex), *a = json_object_get(p, "paced");

	cr_assert(json_is_array(a), "%s", json_dumps(p, 0));
	json_incref(a);
	json_decref(p);
	return a;
}

Test(relay_pace, refused_range_is_paced_then_caught_up)
{
	int which[] = {0, 1, -1};
	long long r0, r1, r2, total = 3 + 400;
	char *out = NULL, *err = NULL, path[800];
	json_t *a;
	long end, t0;

	if (geteuid() != 0) {
		cr_skip_test("needs root to mount a small tmpfs");
		return;
	}
	region_init(0);
	snprintf(mnt, sizeof(mnt), "%s/small", dir);
	cr_assert_eq(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=2m") != 0) {
		mnt[0] = '\0';
		cr_skip_test("cannot mount a tmpfs here (%s)", strerror(errno));
		return;
	}
	hub_start();
	node_new("2403", "2403", -1);
	node_new("2480", "2480", -1);
	enrol("2403", nodes[0].hex);
	enrol("2480", nodes[1].hex);
	/* 2480's store on the small tmpfs */
	cr_assert_lt(snprintf(nodes[1].data, sizeof(nodes[1].data), "%s/store",
			 mnt),
	    (int)sizeof(nodes[1].data));
	node_conf(&nodes[1], "2480", 0);
	node_start(0);
	node_start(1);
	converge(3, which);

	/* the tmpfs full: 2480 can store nothing more */
	cr_assert_lt(snprintf(path, sizeof(path), "%s/filler", mnt),
	    (int)sizeof(path));
	tu_run(NULL, NULL, "dd if=/dev/zero of='%s' bs=4k 2>/dev/null", path);
	write_many(&nodes[0], "p", 400);
	end = now_ms() + 15000;
	while ((r0 = node_refused(&nodes[1])) == 0) {
		cr_assert_lt(now_ms(), end, "2480 never refused a batch\n%s",
		    tail(&nodes[1]));
		sleep_ms(100);
	}
	/* 10 s of refusals: a few tries (after 1, 2, 4, 8 s), not a loop */
	t0 = now_ms();
	sleep_ms(10000);
	r1 = node_refused(&nodes[1]);
	fprintf(stderr,
	    "relay_pace: node refusals %lld in %ld ms after the first\n",
	    r1 - r0, now_ms() - t0);
	a = hub_paced(&nodes[1]);
	cr_assert_eq(json_array_size(a), 1, "%s", json_dumps(a, 0));
	/* the paced log is 2403's */
	cr_assert_eq(strncmp(json_string_value(
				 json_object_get(json_array_get(a, 0), "log")),
			 nodes[0].hex, 16),
	    0, "%s", json_dumps(a, 0));
	cr_assert_leq(r1 - r0, 8, "refused %lld times in 10 s\n%s", r1 - r0,
	    tail(&nodes[1]));
	cr_assert_leq(json_integer_value(
			  json_object_get(json_array_get(a, 0), "refused")),
	    8, "%s", json_dumps(a, 0));
	cr_assert_geq(json_integer_value(
			  json_object_get(json_array_get(a, 0), "refused")),
	    2, "%s", json_dumps(a, 0));
	fprintf(stderr, "relay_pace: hub tries %lld\n",
	    json_integer_value(
		json_object_get(json_array_get(a, 0), "refused")));
	json_decref(a);
	/* ucr peers on the hub says it */
	cr_assert_eq(ucr(&hub, &out, &err, "peers"), 0, "%s", err);
	cr_assert(strstr(out, "times, next try in") != NULL, "%s", out);
	free(out);
	free(err);
	cr_assert(log_has(&hub, "next try in"), "%s", tail(&hub));

	/* room again: the next try goes through and 2480 catches up */
	cr_assert_eq(unlink(path), 0);
	converge(total, which);
	r2 = node_refused(&nodes[1]);
	cr_assert_leq(r2 - r1, 2, "%lld more refusals", r2 - r1);
	a = hub_paced(&nodes[1]);
	cr_assert_eq(json_array_size(a), 0, "paced after progress: %s",
	    json_dumps(a, 0));
	json_decref(a);
	verify_store(&nodes[1]);
}
