/*
 * test_checkpoint.c: a node whose stored checkpoint is unusable refuses
 * every checkpoint the hub sends (ECHECKPOINT, an ALARM each time: the
 * check fails closed). "ucr checkpoint clear" is the way out: refused
 * while the daemon runs, it clears only an unusable checkpoint (a usable
 * one unless --force), and the node then takes the hub's next checkpoint
 * again. Real hub and node on loopback.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "checkpoint.h"
#include "error.h"
#include "region.h"
#include "testutil.h"

TestSuite(checkpoint, .init = region_setup, .fini = region_teardown,
    .timeout = 180);

/* The node's stored checkpoint: 0 usable, or why not (as the library
 * says: UCR_ENOTFOUND, UCR_ECHECKPOINT). */
static int
stored(const struct site *s)
{
	struct ucr_store *st = store_ro(s->data);
	Ucr__CheckpointBody *cp = NULL;
	int rc = ucr_checkpoint_load(st, hubpk, REGION, &cp, NULL, 0);

	if (cp)
		ucr__checkpoint_body__free_unpacked(cp, NULL);
	ucr_store_free(st);
	return rc;
}

static int
wait_stored(const struct site *s, int want, long ms)
{
	long end = now_ms() + ms;

	while (now_ms() < end) {
		if (stored(s) == want)
			return 1;
		sleep_ms(200);
	}
	return 0;
}

/* Damage the stored signature: one bit, with the daemon stopped. */
static void
damage(const struct site *s)
{
	struct ucr_store *st;
	uint8_t sig[UCR_SIG_LEN];
	size_t len;

	cr_assert_eq(ucr_store_open(&st, s->data, UCR_STORE_EXCLUSIVE, 0), 0);
	cr_assert_eq(ucr_store_meta_get(st, "checkpoint-sig", sig, sizeof(sig),
			 &len),
	    0);
	sig[0] ^= 1;
	cr_assert_eq(ucr_store_meta_put(st, "checkpoint-sig", sig, len), 0);
	ucr_store_free(st);
}

Test(checkpoint, clear_an_unusable_checkpoint)
{
	struct site *n;
	char *out = NULL, *err = NULL;
	json_t *j;
	int rc, alarms;

	region_init(97);
	hub_start();
	node_new("2403", "2403", -1);
	enrol("2403", nodes[0].hex);
	node_up(0);
	n = &nodes[0];
	write_one(n, "C1");
	cr_assert(wait_stored(n, 0, 30000), "no checkpoint taken:\n%s",
	    tail(n));

	/* A damaged checkpoint: every later one is refused with an alarm. */
	site_stop(n, SIGTERM);
	damage(n);
	cr_assert_eq(stored(n), UCR_ECHECKPOINT);
	node_start(0);
	write_one(n, "C2"); /* the hub's next checkpoint differs */
	for (alarms = 0, rc = 0; rc < 150 && alarms == 0; rc++) {
		alarms = log_count(n, "checkpoint check impossible");
		sleep_ms(200);
	}
	cr_assert_gt(alarms, 0, "no alarm:\n%s", tail(n));
	cr_assert_eq(stored(n), UCR_ECHECKPOINT);

	/* Not while the daemon runs. */
	rc = ucr(n, &out, &err, "checkpoint clear");
	cr_assert_eq(rc, 1, "exit %d: %s", rc, err);
	cr_assert_not_null(strstr(err, "stop it first"), "%s", err);
	free(out);
	free(err);
	out = err = NULL;

	/* Stopped: cleared, saying what was wrong; a second time, nothing. */
	site_stop(n, SIGTERM);
	j = ucr_json(n, "checkpoint clear --json");
	cr_assert_not_null(j);
	cr_assert(json_is_true(json_object_get(j, "cleared")));
	cr_assert_not_null(
	    strstr(json_string_value(json_object_get(j, "why")), "signature"));
	json_decref(j);
	cr_assert_eq(stored(n), UCR_ENOTFOUND);
	j = ucr_json(n, "checkpoint clear --json");
	cr_assert_not_null(j);
	cr_assert(json_is_false(json_object_get(j, "cleared")));
	json_decref(j);

	/* The node takes the hub's checkpoints again, with no new alarm. */
	node_start(0);
	write_one(n, "C3");
	cr_assert(wait_stored(n, 0, 30000), "no checkpoint taken:\n%s",
	    tail(n));
	alarms = log_count(n, "checkpoint check impossible");
	write_one(n, "C4");
	sleep_ms(11000); /* one more checkpoint interval */
	cr_assert_eq(log_count(n, "checkpoint check impossible"), alarms, "%s",
	    tail(n));
	cr_assert_eq(stored(n), 0);

	/* A usable checkpoint is kept, unless --force. */
	site_stop(n, SIGTERM);
	rc = ucr(n, &out, &err, "checkpoint clear");
	cr_assert_eq(rc, 1, "exit %d: %s", rc, err);
	cr_assert_not_null(strstr(err, "--force"), "%s", err);
	cr_assert_eq(stored(n), 0);
	free(out);
	free(err);
	out = err = NULL;
	rc = ucr(n, &out, &err, "checkpoint clear --force");
	cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
	cr_assert_not_null(strstr(out, "cleared"), "%s", out);
	cr_assert_eq(stored(n), UCR_ENOTFOUND);
	free(out);
	free(err);
	verify_store(n);
}
