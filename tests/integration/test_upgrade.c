/*
 * test_upgrade.c: regions upgrade one site at a time, so this release
 * must take over a store the previous one made. tests/data/release-0.1.0
 * holds a node's folder as release 0.1.0 left it (its README says how it
 * was made): a copy of it is read, verified, migrated by a daemon of this
 * release and written to, and nothing it held changes.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define FIXTURE UCR_SOURCE_DIR "/tests/data/release-0.1.0/node"
/* What release 0.1.0 printed for that store (README.md). */
#define OLD_DIGEST \
	"c5c6a95a9cba40ab40bddde4f114bc204d3209f4520fe5536efc089f499e90e2"
#define OLD_HEAD \
	"25c762a912e058b752f03f7911a022da82b153b53b6b82b8389c1828e8fe2f61"

static char *dir;
static char conf[600];
static pid_t node = -1;

static void
setup(void)
{
	dir = tu_tempdir();
	cr_assert_not_null(dir);
	cr_assert_eq(tu_run(NULL, NULL,
			 "cp -R '%s' '%s/node' && chmod 0700 '%s/node' && "
			 "chmod 0600 '%s/node/node.key'",
			 FIXTURE, dir, dir, dir),
	    0);
	snprintf(conf, sizeof(conf), "%s/node/node.conf", dir);
}

static void
teardown(void)
{
	if (node > 0)
		tu_kill(node, SIGTERM);
	node = -1;
	tu_rmrf(dir);
	free(dir);
}

static json_t *
ucr_json(const char *args)
{
	char *out = NULL, *err = NULL;
	json_error_t e;
	json_t *j;
	int rc = tu_run(&out, &err, "ucr -c '%s' %s", conf, args);

	cr_assert_eq(rc, 0, "ucr %s: exit %d: %s", args, rc, err);
	j = json_loads(out, 0, &e);
	cr_assert_not_null(j, "ucr %s: not JSON (%s): %s", args, e.text, out);
	free(out);
	free(err);
	return j;
}

static json_t *
first_log(json_t *digest)
{
	json_t *logs = json_object_get(digest, "logs");

	cr_assert_eq(json_array_size(logs), 1);
	return json_array_get(logs, 0);
}

Test(upgrade, store_of_release_0_1_0, .init = setup, .fini = teardown,
    .timeout = 120)
{
	char log[700], sock[700], *err = NULL;
	json_t *d, *st;

	/* Read as it is, before any daemon of this release opened it. */
	cr_assert_eq(tu_run(NULL, &err, "ucr -c '%s' verify", conf), 0, "%s",
	    err);
	free(err);
	err = NULL;
	d = ucr_json("digest --json");
	cr_assert_str_eq(json_string_value(json_object_get(d, "view_digest")),
	    OLD_DIGEST);
	cr_assert_eq(json_integer_value(json_object_get(d, "records")), 82);
	cr_assert_str_eq(json_string_value(
			     json_object_get(first_log(d), "hash")),
	    OLD_HEAD);
	json_decref(d);

	/* A daemon of this release takes it over: start-up check, index. */
	snprintf(log, sizeof(log), "%s/node/node.log", dir);
	snprintf(sock, sizeof(sock), "%s/node/control.sock", dir);
	node = tu_spawn(log, "exec ucr-node -d -f '%s'", conf);
	cr_assert_gt(node, 0);
	cr_assert_eq(tu_wait_path(sock, 10000), 0, "ucr-node did not start");

	st = ucr_json("status --json");
	cr_assert_eq(json_array_size(json_object_get(st, "goals")), 6);
	json_decref(st);

	/* It writes on top of the old log: seq 83 chains onto 82. */
	cr_assert_eq(tu_run(NULL, &err,
			 "ucr -c '%s' baseline set 1.1 --text 'Upgraded' "
			 "--trend up",
			 conf),
	    0, "%s", err);
	free(err);
	err = NULL;
	d = ucr_json("digest --json");
	cr_assert_eq(json_integer_value(json_object_get(first_log(d), "seq")),
	    83);
	cr_assert_str_neq(json_string_value(json_object_get(d, "view_digest")),
	    OLD_DIGEST);
	json_decref(d);

	/* Everything old and new still verifies, after a restart too. */
	cr_assert_eq(tu_kill(node, SIGTERM), 0);
	node = -1;
	cr_assert_eq(tu_run(NULL, &err, "ucr -c '%s' verify", conf), 0, "%s",
	    err);
	free(err);
	node = tu_spawn(log, "exec ucr-node -d -f '%s'", conf);
	cr_assert_gt(node, 0);
	cr_assert_eq(tu_wait_cmd(10000, "ucr -c '%s' status --json", conf), 0);
}
