/*
 * test_member.c: a hub admits a municipality outside the six defaults
 * ("ucr member add"), enrols a node key for it, and the node's records
 * reach the hub; a code not among Sweden's 290 is refused, and so is an
 * enrolment before the admission. The view, the report, the export and
 * the goals follow the members; "member remove" drops one; more than
 * UCR_MAX_MEMBERS are refused (issue 12, membership is data).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "record.h"
#include "region.h"
#include "testutil.h"
#include "view.h"

TestSuite(member, .init = region_setup, .fini = region_teardown, .timeout = 90);

static json_t *
find_key(json_t *arr, const char *key)
{
	size_t i;
	json_t *o;

	json_array_foreach(arr, i, o)
	{
		const char *s = json_string_value(json_object_get(o, "key"));

		if (s != NULL && strcmp(s, key) == 0)
			return o;
	}
	return NULL;
}

Test(member, admit_enrol_and_write)
{
	int which[] = {0, -1};
	char *err = NULL, *out = NULL;
	json_t *j;

	region_init(120);
	hub_start();
	node_new("2284", "ovik", -1);

	/* not one of the 290 codes: refused, nothing stored */
	cr_assert_neq(ucr(&hub, NULL, &err, "member add 9999 --name Nowhere"),
	    0);
	cr_assert(strstr(err, "290") != NULL, "%s", err);
	free(err);
	err = NULL;
	cr_assert_neq(ucr(&hub, NULL, &err,
			  "member add 2284 --name X --population -5"),
	    0);
	cr_assert(strstr(err, "population") != NULL, "%s", err);
	free(err);
	err = NULL;

	/* a real code that is not a member: roster add says what to do */
	cr_assert_neq(ucr(&hub, NULL, &err, "roster add 2284 %s", nodes[0].hex),
	    0);
	cr_assert(strstr(err, "ucr member add 2284") != NULL, "%s", err);
	cr_assert(strchr(err, '\n') == strrchr(err, '\n'), "one line: %s", err);
	free(err);

	/* admitted: the first Member record brings the six along, in the
	   same write, and says so; now the hub enrols the node's key */
	cr_assert_eq(ucr(&hub, &out, NULL,
			 "member add 2284 --name Örnsköldsvik "
			 "--population 56000"),
	    0);
	cr_assert(strstr(out, "region/member/2284 admitted") != NULL, "%s",
	    out);
	cr_assert(strstr(out, "region/member/2460") != NULL, "%s", out);
	cr_assert(strstr(out, "keeps the six") != NULL, "%s", out);
	free(out);
	j = ucr_json(&hub, "show member --json");
	cr_assert_eq(json_array_size(j), 7, "%s", json_dumps(j, 0));
	cr_assert_not_null(find_key(j, "region/member/2284"), "%s",
	    json_dumps(j, 0));
	cr_assert_not_null(find_key(j, "region/member/2480"));
	json_decref(j);

	enrol("2284", nodes[0].hex);
	node_start(0);
	wait_writes(&nodes[0], 8000);
	cr_assert_neq(ucr(&nodes[0], NULL, NULL, "member add 2285 --name X"), 0,
	    "member add is a hub command");
	ucr_ok(&nodes[0],
	    "target add T1 --title 'Less CO2' --commitment 3.1 "
	    "--priority P4 --direction decrease");
	/* hub: its own roster entry, seven members, 2284's key; node: T1 */
	converge(9 + 1, which);
	j = ucr_json(&hub, "show --json");
	cr_assert_not_null(find_key(j, "2284/target/T1"), "%s",
	    json_dumps(j, 0));
	cr_assert_not_null(find_key(j, "region/member/2284"));
	json_decref(j);
	/* the node holds the hub's member records too */
	j = ucr_json(&nodes[0], "show member --json");
	cr_assert_eq(json_array_size(j), 7, "%s", json_dumps(j, 0));
	json_decref(j);
}

static json_t *
find_str(json_t *arr, const char *field, const char *value)
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

static json_t *
goal(json_t *st, const char *id)
{
	return find_str(json_object_get(st, "goals"), "id", id);
}

/* Seven municipalities everywhere the view shows them; R3 counts seven. */
static void
check_seven(const struct site *s)
{
	json_t *st, *mus, *mu, *g;
	char *out = NULL;

	st = ucr_json(s, "status --json");
	mus = json_object_get(st, "municipalities");
	cr_assert_eq(json_array_size(mus), 7, "%s: %s", s->name,
	    json_dumps(mus, 0));
	/* the members' order: the six, then the others by code */
	cr_assert_str_eq(json_string_value(
			     json_object_get(json_array_get(mus, 0), "code")),
	    "2480");
	mu = json_array_get(mus, 6);
	cr_assert_str_eq(json_string_value(json_object_get(mu, "code")),
	    "2284");
	cr_assert_str_eq(json_string_value(json_object_get(mu, "name")),
	    "Örnsköldsvik");
	cr_assert_eq(json_integer_value(json_object_get(mu, "population")),
	    56000);
	cr_assert_eq(json_integer_value(json_object_get(mu, "targets")), 1,
	    "its node's target counts");
	cr_assert(json_is_integer(json_object_get(mu, "last_sync_hlc")),
	    "%s: its node synced: %s", s->name, json_dumps(mu, 0));
	g = goal(st, "R3");
	cr_assert_eq(json_real_value(json_object_get(g, "threshold")), 7.0,
	    "%s", json_dumps(g, 0));
	json_decref(st);

	cr_assert_eq(ucr(s, &out, NULL, "status"), 0);
	cr_assert(strstr(out, "Örnsköldsvik") != NULL, "%s", out);
	free(out);
	cr_assert_eq(ucr(s, &out, NULL, "plan --municipality Örnsköldsvik"), 0);
	cr_assert(strstr(out, "T1") != NULL, "%s", out);
	free(out);
	st = ucr_json(s, "plan --json");
	mus = json_object_get(json_array_get(json_object_get(st, "priorities"),
				  3),
	    "municipalities");
	cr_assert_eq(json_object_size(mus), 7, "%s", json_dumps(mus, 0));
	cr_assert_not_null(json_object_get(mus, "2284"));
	json_decref(st);
	st = ucr_json(s, "cycle Örnsköldsvik --json");
	cr_assert_str_eq(json_string_value(json_object_get(st, "code")),
	    "2284");
	cr_assert_eq(json_array_size(json_object_get(st, "targets")), 1);
	json_decref(st);
}

Test(member, the_view_follows_the_members)
{
	int which[] = {0, -1};
	char *out = NULL, *err = NULL, path[700], *html;
	json_t *st, *g;
	int i;

	region_init(124);
	hub_start();
	node_new("2284", "ovik", -1);
	ucr_ok(&hub, "member add 2284 --name Örnsköldsvik --population 56000");
	enrol("2284", nodes[0].hex);
	node_start(0);
	wait_writes(&nodes[0], 8000);
	ucr_ok(&nodes[0],
	    "target add T1 --title 'Less CO2' --commitment 3.1 "
	    "--priority P4 --direction decrease");
	/* six lead projects, one per default member, from the hub */
	for (i = 0; i < 6; i++)
		ucr_ok(&hub,
		    "project add P%d --title 'Project %d' --lead %s "
		    "--start 2009-01-01 --end 2010-01-01",
		    i, i, codes[i]);
	converge(9 + 6 + 1, which);
	check_seven(&hub);
	check_seven(&nodes[0]); /* through the node's daemon */

	/* R3: six lead projects for seven members is not met */
	st = ucr_json(&hub, "status --json");
	g = goal(st, "R3");
	cr_assert(json_is_false(json_object_get(g, "met")), "%s",
	    json_dumps(g, 0));
	cr_assert_str_eq(json_string_value(
			     json_array_get(json_object_get(g,
						"missing_municipalities"),
				 0)),
	    "2284");
	json_decref(st);
	ucr_ok(&nodes[0],
	    "project add P7 --title 'Project 7' --lead 2284 "
	    "--start 2009-01-01 --end 2010-01-01");
	converge(9 + 6 + 2, which);
	st = ucr_json(&hub, "status --json");
	g = goal(st, "R3");
	cr_assert(json_is_true(json_object_get(g, "met")), "%s",
	    json_dumps(g, 0));
	cr_assert_eq(json_real_value(json_object_get(g, "current")), 7.0);
	json_decref(st);

	/* the member's node imports as the six's do (owner guard included) */
	snprintf(path, sizeof(path), "%s/ovik.json", dir);
	html = NULL;
	{
		FILE *fp = fopen(path, "w");

		cr_assert_not_null(fp);
		fputs("[{\"kind\": \"comment\", \"owner\": \"2284\", "
		      "\"text\": \"Örnsköldsvik\"},\n"
		      "{\"kind\": \"network\", \"id\": \"N1\", \"name\": "
		      "\"CIVITAS\", \"scope\": \"international\", "
		      "\"joined\": \"2009-06-01\"}]\n",
		    fp);
		fclose(fp);
	}
	ucr_ok(&nodes[0], "import '%s'", path);
	converge(9 + 6 + 3, which);
	st = ucr_json(&hub, "show network --municipality Örnsköldsvik --json");
	cr_assert_eq(json_array_size(st), 1, "%s", json_dumps(st, 0));
	json_decref(st);

	/* the report and the export show the seventh */
	snprintf(path, sizeof(path), "%s/report.html", dir);
	ucr_ok(&hub, "report --html '%s'", path);
	html = tu_read(path);
	cr_assert_not_null(html);
	cr_assert(strstr(html, "2284 Örnsköldsvik") != NULL,
	    "a row in the cycle matrix");
	free(html);
	snprintf(path, sizeof(path), "%s/csv", dir);
	ucr_ok(&hub, "export --csv '%s'", path);
	snprintf(path, sizeof(path), "%s/csv/plan.csv", dir);
	html = tu_read(path);
	cr_assert_not_null(html);
	cr_assert(strstr(html, "Örnsköldsvik") != NULL, "%s", html);
	free(html);

	/* remove: the member leaves the view, R3 counts six again */
	cr_assert_eq(ucr(&hub, &out, NULL, "member remove Örnsköldsvik"), 0);
	cr_assert(strstr(out, "region/member/2284 removed") != NULL, "%s", out);
	free(out);
	st = ucr_json(&hub, "status --json");
	cr_assert_eq(json_array_size(json_object_get(st, "municipalities")), 6);
	g = goal(st, "R3");
	cr_assert_eq(json_real_value(json_object_get(g, "threshold")), 6.0);
	cr_assert(json_is_true(json_object_get(g, "met")));
	json_decref(st);
	cr_assert_neq(ucr(&hub, NULL, &err, "cycle 2284"), 0);
	cr_assert(strstr(err, "not a member") != NULL, "%s", err);
	free(err);
	err = NULL;
	cr_assert_neq(ucr(&hub, NULL, &err, "plan --municipality 2284"), 0);
	cr_assert(strstr(err, "not a member") != NULL, "%s", err);
	free(err);
	err = NULL;
	cr_assert_neq(ucr(&hub, NULL, &err, "member remove 2284"), 0);
	cr_assert(strstr(err, "not a member") != NULL, "%s", err);
	free(err);
}

/* A region of other municipalities: remove the defaults down to one, and
   never the last. */
Test(member, remove_down_to_the_last)
{
	static const char *const rest[] = {"2401", "2409", "2404", "2460"};
	char *out = NULL, *err = NULL;
	json_t *j;
	size_t i;

	region_init(128);
	hub_start();
	/* no Member record yet: the other five become records */
	cr_assert_eq(ucr(&hub, &out, NULL, "member remove 2403"), 0);
	cr_assert(strstr(out, "no longer a member") != NULL, "%s", out);
	free(out);
	j = ucr_json(&hub, "show member --json");
	cr_assert_eq(json_array_size(j), 5, "%s", json_dumps(j, 0));
	cr_assert_null(find_key(j, "region/member/2403"));
	json_decref(j);
	j = ucr_json(&hub, "status --json");
	cr_assert_eq(json_array_size(json_object_get(j, "municipalities")), 5);
	json_decref(j);
	/* Bjurholm is no longer a member: its keys are not enrolled */
	cr_assert_neq(ucr(&hub, NULL, &err, "roster add 2403 %064d", 1), 0);
	cr_assert(strstr(err, "not a member") != NULL, "%s", err);
	free(err);
	err = NULL;
	for (i = 0; i < 4; i++)
		ucr_ok(&hub, "member remove %s", rest[i]);
	j = ucr_json(&hub, "status --json");
	cr_assert_eq(json_array_size(json_object_get(j, "municipalities")), 1);
	json_decref(j);
	cr_assert_neq(ucr(&hub, NULL, &err, "member remove 2480"), 0);
	cr_assert(strstr(err, "last") != NULL, "%s", err);
	free(err);
	ucr_ok(&hub, "member add 2482 --name Skellefteå");
	ucr_ok(&hub, "member remove 2480");
	j = ucr_json(&hub, "status --json");
	cr_assert_str_eq(json_string_value(json_object_get(
			     json_array_get(json_object_get(j,
						"municipalities"),
				 0),
			     "code")),
	    "2482");
	json_decref(j);
}

/* UCR_MAX_MEMBERS members at most: a flood is refused with one line. */
Test(member, flood_refused_at_the_budget)
{
	char *err = NULL;
	size_t i, n = 0;

	region_init(132);
	hub_start();
	for (i = 0; n < UCR_MAX_MEMBERS; i++) {
		if (ucr_municipality_find(ucr_municipalities_se[i].code))
			continue; /* the six come with the first add */
		ucr_ok(&hub, "member add %s --name X",
		    ucr_municipalities_se[i].code);
		n = n == 0 ? 7 : n + 1;
	}
	cr_assert_neq(ucr(&hub, NULL, &err, "member add %s --name X",
			  ucr_municipalities_se[i].code),
	    0);
	cr_assert(strstr(err, "64") != NULL, "%s", err);
	cr_assert(strchr(err, '\n') == strrchr(err, '\n'), "one line: %s", err);
	free(err);
}
