/*
 * test_programme.c: the programme's rules set on a real hub reach a real
 * node and shape its figures: the period, the network register, regional
 * workshops; and staleness on the hub comes from its contact with nodes,
 * not from their newest record. The view's own lines (what is missing, what
 * was left out and why, the exceptions, the cycle's steps) are printed in
 * the user's language while JSON keeps English; explain shows the adopted
 * and the current version of a target changed after adoption (docs/view.md,
 * issue 12).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "region.h"
#include "testutil.h"

TestSuite(programme, .init = region_setup, .fini = region_teardown,
    .timeout = 90);

static json_t *
find_id(json_t *arr, const char *field, const char *value)
{
	size_t i;
	json_t *o;

	json_array_foreach(arr, i, o)
	{
		const char *s = json_string_value(json_object_get(o, field));

		if (s != NULL && strcmp(s, value) == 0)
			return o;
	}
	return NULL;
}

static int
left_out_has(json_t *goal, const char *key)
{
	return find_id(json_object_get(goal, "left_out"), "key", key) != NULL;
}

Test(programme, rules_from_the_hub_shape_the_figures)
{
	int which[] = {0, -1};
	json_t *st, *g, *mu, *x, *h;
	char *out = NULL;

	region_init(40);
	hub_start();
	node_new("2403", "2403", -1);
	enrol("2403", nodes[0].hex);
	node_start(0);
	wait_writes(&nodes[0], 8000);
	ucr_ok(&hub, "programme set --start 2008-01-01 --end 2010-06-30");
	ucr_ok(&hub,
	    "network register civitas --scope international --name "
	    "'Europeiska CIVITAS-nätverket för hållbara stadstransporter' "
	    "--alias CIVITAS --alias 'CIVITAS network'");
	ucr_ok(&nodes[0],
	    "network join N1 --name civitas --scope "
	    "international --date 2009-06-01 --new");
	ucr_ok(&nodes[0],
	    "network join N2 --name 'Some club' --scope "
	    "national --date 2009-06-01 --new");
	ucr_ok(&nodes[0],
	    "network join N3 --name CIVITAS --scope "
	    "international --date 2024-06-01 --new");
	ucr_ok(&nodes[0],
	    "meeting add W1 --kind workshop --date 2009-05-20 "
	    "--women 6 --men 4");
	ucr_ok(&nodes[0],
	    "meeting add W2 --kind workshop --date 2009-09-20 "
	    "--women 5 --men 5 --regional");
	/* hub: its roster entry, 2403's, the period, the register entry;
	   the node: five */
	converge(4 + 5, which);

	st = ucr_json(&nodes[0], "status --json");
	cr_assert_str_eq(json_string_value(
			     json_object_get(json_object_get(st, "programme"),
				 "start")),
	    "2008-01-01");
	g = find_id(json_object_get(st, "goals"), "id", "R2");
	cr_assert_eq(json_real_value(json_object_get(g, "current")), 1.0,
	    "CIVITAS once; the club is unregistered, the 2024 join late");
	cr_assert(left_out_has(g, "2403/network/N2"));
	cr_assert(left_out_has(g, "2403/network/N3"));
	x = find_id(json_object_get(st, "exceptions"), "kind",
	    "unregistered_network");
	cr_assert_not_null(x);
	cr_assert_str_eq(json_string_value(json_object_get(x, "subject")),
	    "2403/network/N2");
	g = find_id(json_object_get(st, "goals"), "id", "A2");
	cr_assert_eq(json_real_value(json_object_get(g, "current")), 1.0,
	    "the local workshop is not a regional one");
	cr_assert(left_out_has(g, "2403/meeting/W1"));
	x = find_id(json_object_get(st, "gender_balance"), "goal", "A2");
	cr_assert_eq(json_integer_value(json_object_get(x, "women")), 11,
	    "A3 weighs both workshops");
	json_decref(st);

	/* the hub heard from Bjurholm's node: not stale; Umeå has no node */
	st = ucr_json(&hub, "status --json");
	mu = find_id(json_object_get(st, "municipalities"), "code", "2403");
	cr_assert(json_is_integer(json_object_get(mu, "contact_age_s")), "%s",
	    json_dumps(mu, 0));
	cr_assert(json_is_false(json_object_get(mu, "stale")));
	mu = find_id(json_object_get(st, "municipalities"), "code", "2480");
	cr_assert(json_is_true(json_object_get(mu, "stale")));
	json_decref(st);

	/* explain says what was left out and why */
	cr_assert_eq(ucr(&nodes[0], &out, NULL, "explain R2"), 0);
	cr_assert(strstr(out, "left out") != NULL, "%s", out);
	cr_assert(strstr(out, "not in the region's network register") != NULL,
	    "%s", out);
	cr_assert(strstr(out, "after the programme period") != NULL, "%s", out);
	free(out);

	/* the hub's records have a history too */
	h = ucr_json(&nodes[0], "history region/programme/programme --json");
	cr_assert_eq(json_array_size(h), 1);
	cr_assert_str_eq(json_string_value(
			     json_object_get(json_object_get(json_array_get(h,
								 0),
						 "signer"),
				 "role")),
	    "hub");
	json_decref(h);

	/* The view's own lines in the user's language; JSON stays English */
	cr_assert_eq(tu_run(&out, NULL,
			 "env -u LC_ALL -u LC_MESSAGES -u LANGUAGE "
			 "LANG=sv_SE.UTF-8 ucr -c '%s' explain R2",
			 nodes[0].conf),
	    0);
	cr_assert(strstr(out, "finns inte i regionens nätverksregister") !=
		NULL,
	    "%s", out);
	cr_assert(strstr(out, "ligger efter programperioden") != NULL, "%s",
	    out);
	free(out);
	cr_assert_eq(tu_run(&out, NULL,
			 "env -u LC_ALL -u LC_MESSAGES -u LANGUAGE "
			 "LANG=sv_SE.UTF-8 ucr -c '%s' status",
			 hub.conf),
	    0);
	cr_assert(strstr(out, "nya nätverk till behövs") != NULL, "%s", out);
	cr_assert(strstr(out, "Umeå: kommunens nod har aldrig haft kontakt") !=
		NULL,
	    "%s", out);
	cr_assert(strstr(out, "more new networks needed") == NULL, "%s", out);
	free(out);
	cr_assert_eq(tu_run(&out, NULL,
			 "env -u LC_ALL -u LC_MESSAGES -u LANGUAGE "
			 "LANG=sv_SE.UTF-8 ucr -c '%s' cycle 2403",
			 nodes[0].conf),
	    0);
	cr_assert(strstr(out, "åtaganden utan nulägesbeskrivning") != NULL,
	    "%s", out);
	free(out);
	cr_assert_eq(tu_run(&out, NULL,
			 "env -u LC_ALL -u LC_MESSAGES -u LANGUAGE "
			 "LANG=sv_SE.UTF-8 ucr -c '%s' status --json",
			 nodes[0].conf),
	    0);
	cr_assert(strstr(out, "more new networks needed") != NULL, "%s", out);
	cr_assert(strstr(out, "is after the programme period") != NULL, "%s",
	    out);
	cr_assert(strstr(out, "behövs") == NULL, "%s", out);
	free(out);
	cr_assert_eq(tu_run(&out, NULL,
			 "env -u LC_ALL -u LC_MESSAGES -u LANGUAGE "
			 "LANG=sv_SE.UTF-8 ucr -c '%s' cycle 2403 --json",
			 nodes[0].conf),
	    0);
	cr_assert(strstr(out, "commitments without a baseline") != NULL, "%s",
	    out);
	free(out);
}

/* A target changed after the board adopted it: explain shows both
   versions, the fields of each and which differ (issue 12). */
Test(programme, explain_shows_the_adopted_and_the_current_version)
{
	int which[] = {0, -1};
	const struct site *sites[2];
	json_t *ex, *ch, *c;
	char *out = NULL;
	int k;

	region_init(44);
	hub_start();
	node_new("2403", "2403", -1);
	enrol("2403", nodes[0].hex);
	node_start(0);
	wait_writes(&nodes[0], 8000);
	ucr_ok(&nodes[0],
	    "target add T1 --title 'Less CO2' --commitment 3.1 --priority P4 "
	    "--indicator N00401 --baseline 9.8@2015 --target 6.0@2020 "
	    "--direction decrease");
	ucr_ok(&nodes[0],
	    "decision add D1 --body board --date 2010-02-15 --subject targets "
	    "--ref 'KS 2010/1' --adopts target/T1 --outcome adopted");
	ucr_ok(&nodes[0],
	    "target set T1 --target 5.0@2020 --title 'Much less "
	    "CO2'");
	/* hub: its roster entry, 2403's; the node: T1 twice, D1 */
	converge(2 + 2, which);
	sites[0] = &nodes[0];
	sites[1] = &hub;
	for (k = 0; k < 2; k++) {
		cr_assert_eq(ucr(sites[k], &out, NULL,
				 "explain 2403/target/T1"),
		    0);
		cr_assert(strstr(out, "adopted by 2403/decision/D1") != NULL,
		    "%s", out);
		cr_assert(strstr(out, "title \"Less CO2\"") != NULL, "%s", out);
		cr_assert(strstr(out, "target 6.0@2020") != NULL, "%s", out);
		cr_assert(strstr(out, "title \"Much less CO2\"") != NULL, "%s",
		    out);
		cr_assert(strstr(out, "target 5.0@2020") != NULL, "%s", out);
		cr_assert(strstr(out, "direction decrease") != NULL, "%s", out);
		cr_assert(strstr(out, "changed: title, target_value") != NULL,
		    "%s", out);
		cr_assert(strstr(out, "target 6.0@2020") <
			strstr(out, "target 5.0@2020"),
		    "adopted first: %s", out);
		free(out);

		ex = ucr_json(sites[k], "explain 2403/target/T1 --json");
		ch = json_array_get(json_object_get(ex,
					"changed_after_adoption"),
		    0);
		cr_assert_not_null(ch, "%s", json_dumps(ex, 0));
		c = json_object_get(json_object_get(ch, "adopted_version"),
		    "body");
		cr_assert_str_eq(json_string_value(
				     json_object_get(c, "target_value")),
		    "6.0");
		cr_assert_str_eq(json_string_value(json_object_get(c, "title")),
		    "Less CO2");
		c = json_object_get(json_object_get(ch, "current_version"),
		    "body");
		cr_assert_str_eq(json_string_value(
				     json_object_get(c, "target_value")),
		    "5.0");
		cr_assert_eq(json_array_size(
				 json_object_get(ch, "changed_fields")),
		    2, "%s", json_dumps(ch, 0));
		json_decref(ex);
	}
}
