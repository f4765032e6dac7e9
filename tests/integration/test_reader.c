/*
 * test_reader.c: an executive's reader key queries the hub over the
 * network. "ucr init reader" writes a key and reader.conf; until the hub's
 * administrator enrols the key the hub does not answer; once enrolled,
 * "ucr -c reader.conf status" (and plan) give what the hub's own status
 * gives, and every write with the reader's configuration is refused.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "region.h"
#include "testutil.h"

TestSuite(reader, .init = region_setup, .fini = region_teardown,
    .timeout = 120);

/* Drop what depends on the moment of the query ("generated", ages). */
static void
strip(json_t *j)
{
	const char *k;
	json_t *v;
	void *tmp;
	size_t i;

	if (json_is_object(j)) {
		json_object_del(j, "generated");
		json_object_del(j, "sync_age_s");
		json_object_foreach_safe(j, tmp, k, v) strip(v);
	} else if (json_is_array(j))
		json_array_foreach(j, i, v) strip(v);
}

static char *
normal(json_t *j)
{
	char *s;

	strip(j);
	s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(j);
	cr_assert_not_null(s);
	return s;
}

Test(reader, queries_over_curve_writes_refused)
{
	struct site rd;
	char *out = NULL, *err = NULL, *a, *b;
	const char *hex;
	json_t *j;
	int rc;

	region_init(90);
	hub_start();
	ucr_ok(&hub, "vision set 'The best living environment' --year 2050");
	memset(&rd, 0, sizeof(rd));
	snprintf(rd.name, sizeof(rd.name), "reader");
	snprintf(rd.conf, sizeof(rd.conf), "%s/reader/reader.conf", dir);
	rc = tu_run(&out, &err,
	    "ucr init reader --hub tcp://127.0.0.1:%d --hub-key %s "
	    "--municipality 2480 --dir '%s/reader' --json",
	    port, hub.hex, dir);
	cr_assert_eq(rc, 0, "init reader: %s", err);
	j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "%s", out);
	hex = json_string_value(json_object_get(j, "public_key"));
	cr_assert_not_null(hex);
	cr_assert_eq(strlen(hex), 64);
	free(out);
	free(err);
	/* Not enrolled: the hub's ZAP refuses the connection; no answer. */
	rc = tu_run(NULL, &err, "UCR_TIMEOUT=2 ucr -c '%s' status", rd.conf);
	cr_assert_neq(rc, 0);
	cr_assert(strstr(err, "no answer from the hub") != NULL, "%s", err);
	free(err);
	ucr_ok(&hub, "roster add 2480 %s --role reader", hex);
	json_decref(j);
	/* Enrolled: the hub's view, over the network. */
	a = normal(ucr_json(&rd, "status --json"));
	b = normal(ucr_json(&hub, "status --json"));
	cr_assert_str_eq(a, b);
	cr_assert(strstr(a, "The best living environment") != NULL, "%s", a);
	free(a);
	free(b);
	a = normal(ucr_json(&rd, "plan --json"));
	b = normal(ucr_json(&hub, "plan --json"));
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
	/* A reader never writes, and holds no store to show. */
	rc = ucr(&rd, NULL, &err,
	    "network join N9 --name Mine --scope national "
	    "--date 2009-01-01");
	cr_assert_neq(rc, 0);
	cr_assert(strstr(err, "reader") != NULL, "%s", err);
	free(err);
	rc = ucr(&rd, NULL, &err, "show");
	cr_assert_neq(rc, 0);
	cr_assert(strstr(err, "reader") != NULL, "%s", err);
	free(err);
	a = normal(ucr_json(&hub, "status --json"));
	cr_assert(strstr(a, "Mine") == NULL);
	free(a);
}
