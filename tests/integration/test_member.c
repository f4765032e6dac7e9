/*
 * test_member.c: a hub admits a municipality outside the six defaults
 * ("ucr member add"), enrols a node key for it, and the node's records
 * reach the hub; a code not among Sweden's 290 is refused, and so is an
 * enrolment before the admission (issue 12, membership is data).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "region.h"

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
	char *err = NULL;
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

	/* admitted: now the hub enrols the node's key */
	ucr_ok(&hub, "member add 2284 --name Örnsköldsvik --population 56000");
	j = ucr_json(&hub, "show member --json");
	cr_assert_eq(json_array_size(j), 1, "%s", json_dumps(j, 0));
	cr_assert_not_null(find_key(j, "region/member/2284"), "%s",
	    json_dumps(j, 0));
	json_decref(j);

	enrol("2284", nodes[0].hex);
	node_start(0);
	wait_writes(&nodes[0], 8000);
	cr_assert_neq(ucr(&nodes[0], NULL, NULL, "member add 2285 --name X"), 0,
	    "member add is a hub command");
	ucr_ok(&nodes[0],
	    "target add T1 --title 'Less CO2' --commitment 3.1 "
	    "--priority P4 --direction decrease");
	/* hub: its own roster entry, the member, 2284's key; node: T1 */
	converge(3 + 1, which);
	j = ucr_json(&hub, "show --json");
	cr_assert_not_null(find_key(j, "2284/target/T1"), "%s",
	    json_dumps(j, 0));
	cr_assert_not_null(find_key(j, "region/member/2284"));
	json_decref(j);
	/* the node holds the hub's member record too */
	j = ucr_json(&nodes[0], "show member --json");
	cr_assert_eq(json_array_size(j), 1, "%s", json_dumps(j, 0));
	json_decref(j);
}
