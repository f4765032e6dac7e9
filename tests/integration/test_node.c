/*
 * test_node.c: ucr-node and the officers' commands, end to end.
 *
 * Each test makes its own folder with a key from "ucr keygen", a config
 * file and (at most) one ucr-node, and drives it through the real ucr
 * program. Stores are compared through "ucr show --json" and "ucr log
 * --json", so a refused write is proved to have stored nothing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "error.h"
#include "nodefix.h"
#include "testutil.h"
#include "ucr.pb-c.h"

/* ---------------------------------------------------------------- helpers */

/* The parsed output of "ucr ARGS" (an --json command). */
static json_t *
ucr_json(const char *args)
{
	json_error_t e;
	char *out = nf_ok("%s", args);
	json_t *j = json_loads(out, 0, &e);

	cr_assert_not_null(j, "ucr %s: not JSON (%s): %s", args, e.text, out);
	free(out);
	return j;
}

/* "ucr show --json" and "ucr log --json" together: the store's state. */
static char *
snapshot(void)
{
	char *show = nf_ok("show --json"), *log = nf_ok("log --json"), *s;

	cr_assert(asprintf(&s, "%s\n--\n%s", show, log) > 0);
	free(show);
	free(log);
	return s;
}

/* The record of key in a "show --json" array, or NULL (borrowed). */
static json_t *
find_key(json_t *arr, const char *key)
{
	size_t i;
	json_t *o;

	json_array_foreach(arr, i, o)
	{
		if (strcmp(json_string_value(json_object_get(o, "key")), key) ==
		    0)
			return o;
	}
	return NULL;
}

static const char *
body_str(json_t *rec, const char *field)
{
	return json_string_value(
	    json_object_get(json_object_get(rec, "body"), field));
}

static int
lines(const char *s)
{
	int n = 0;

	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

static int
raw(Ucr__Reply **out, const void *buf, size_t len)
{
	return nf_send(out, &buf, &len, 1, 5000);
}

/* Wait for a background process; its exit status, or -1 after timeout. */
static int
wait_pid(pid_t pid, int timeout_ms)
{
	long end = now_ms() + timeout_ms;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		if (r < 0 || now_ms() > end)
			return -1;
		usleep(20000);
	}
}

static void
setup(void)
{
	nf_setup();
	/* Relative paths: taken from the config file's folder. */
	nf_conf(nf.conf, "node.key", "store", "ipc://node.sock");
}

TestSuite(node, .init = setup, .fini = nf_teardown, .timeout = 60);

/* A few records the bad-input and adopt tests refer to. */
static void
seed_records(void)
{
	free(nf_ok(
	    "target add T1 --title 'Less CO2' --commitment 3.1,3.2 "
	    "--priority P4 --indicator N00401 --baseline 5.5@2019 "
	    "--target 3@2030 --direction decrease --owner 'Environment unit'"));
	free(nf_ok("meeting add M1 --kind workshop --date 2024-03-01 "
		   "--women 5 --men 4"));
	free(nf_ok("project add PR1 --title Solar --priority P4"));
	free(nf_ok("group add G1 --name 'Energy group' --priority P4"));
	free(nf_ok("decision add D1 --body board --date 2024-04-01 "
		   "--subject targets --ref 'KS 2024/12'"));
}

/* ---------------------------------------------------------------- -n */

Test(node, check_config_only)
{
	char *out = NULL, *err = NULL, bad[600];
	struct stat st;
	int rc;

	rc = tu_run(&out, &err, "ucr-node -n -v -f '%s'", nf.conf);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_str_eq(out, "configuration OK\n");
	cr_assert_neq(stat(nf.sock, &st), 0, "-n must not bind");
	free(out);
	free(err);

	/* A key readable by others is refused, with the fix. */
	chmod(nf.key, 0644);
	rc = tu_run(&out, &err, "ucr-node -n -f '%s'", nf.conf);
	cr_assert_neq(rc, 0);
	cr_assert(strstr(err, "chmod 600") != NULL, "%s", err);
	cr_assert_eq(lines(err), 1, "%s", err);
	cr_assert_eq(strstr(out, "configuration OK"), NULL);
	free(out);
	free(err);

	/* No key: says how to make one. */
	unlink(nf.key);
	rc = tu_run(NULL, &err, "ucr-node -n -f '%s'", nf.conf);
	cr_assert_neq(rc, 0);
	cr_assert(strstr(err, "ucr keygen") != NULL, "%s", err);
	free(err);

	/* A bad value names the file, the line and the key. */
	snprintf(bad, sizeof(bad), "%s/bad.conf", nf.dir);
	tu_write(bad, "[node]\nkey = node.key\nmunicipality = 9999\n");
	rc = tu_run(NULL, &err, "ucr-node -n -f '%s'", bad);
	cr_assert_neq(rc, 0);
	cr_assert(strstr(err, "bad.conf:3:") != NULL, "%s", err);
	cr_assert(strstr(err, "municipality") != NULL, "%s", err);
	free(err);

	/* Usage errors exit 2. */
	cr_assert_eq(tu_run(NULL, NULL, "ucr-node -x"), 2);
	cr_assert_eq(tu_run(NULL, NULL, "ucr-node -f '%s' extra", nf.conf), 2);
}

/* ---------------------------------------------------------------- writes */

Test(node, every_command)
{
	json_t *all, *rec, *adopt, *arr, *log;
	struct stat st;
	char *out, thash[80];
	size_t i;

	nf_start("");
	cr_assert_eq(stat(nf.sock, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0660, "control socket mode %o",
	    st.st_mode & 0777);

	out = nf_ok("baseline set 3.1 --text 'Emissions fall slowly' "
		    "--trend down --gap");
	cr_assert_str_eq(out, "2403/baseline/3.1 set (seq 1)\n");
	free(out);
	free(nf_ok("baseline set 3.1 --text 'Emissions fall' --trend down"));
	seed_records(); /* seq 3-7 */
	out = nf_ok("target set T1 --status withdrawn --owner 'Planning'");
	cr_assert_str_eq(out, "2403/target/T1 changed (seq 8)\n");
	free(out);
	out = nf_ok("measure N00401 2020 5.1");
	cr_assert_str_eq(out, "2403/measure/N00401/2020/T recorded (seq 9)\n");
	free(out);
	free(nf_ok("measure N00401 2021 - --status missing --gender K"));
	free(nf_ok("measure N00401 2021 4.75 --gender M --status preliminary "
		   "--area 2480"));
	free(nf_ok(
	    "project set PR1 --partners 2480,2401 --start 2024-01-01 "
	    "--end 2025-12-31 --budget 100000 --funder EU --status ongoing"));
	free(nf_ok("group set G1 --theme 3 --members 2403,2480 "
		   "--from 2024-01-01 --to 2026-12-31"));
	free(nf_ok(
	    "meeting add M2 --kind group-meeting --date 2024-05-02 "
	    "--women 3 --men 3 --unstated 1 --group G1 --title 'Kick-off'"));
	free(nf_ok("network join N1 --name 'Covenant of Mayors' "
		   "--scope international --date 2024-02-02 --new"));
	free(nf_ok("network join N2 --name 'Fossil-free Sweden' "
		   "--scope national --date 2024-02-03"));
	free(nf_ok("decision add D2 --body council --date 2024-06-01 "
		   "--subject local-plan --ref 'KF 2024/7' "
		   "--adopts target/T1,2403/project/PR1 --outcome adopted"));
	out = nf_ok("delete network/N2");
	cr_assert_str_eq(out, "2403/network/N2 deleted (seq 18)\n");
	free(out);
	out = nf_ok("network set N1 --name 'Covenant of Mayors EU'");
	cr_assert_str_eq(out, "2403/network/N1 changed (seq 19)\n");
	free(out);
	free(nf_ok("decision set D1 --outcome deferred"));

	all = ucr_json("show --json");
	rec = find_key(all, "2403/baseline/3.1");
	cr_assert_not_null(rec);
	cr_assert_str_eq(body_str(rec, "text"), "Emissions fall");
	cr_assert_str_eq(body_str(rec, "trend"), "down");
	cr_assert_eq(json_integer_value(json_object_get(rec, "seq")), 2);

	/* set kept the fields it was not given */
	rec = find_key(all, "2403/target/T1");
	cr_assert_not_null(rec);
	cr_assert_str_eq(body_str(rec, "title"), "Less CO2");
	cr_assert_str_eq(body_str(rec, "status"), "withdrawn");
	cr_assert_str_eq(body_str(rec, "owner_unit"), "Planning");
	cr_assert_str_eq(body_str(rec, "baseline_value"), "5.5");
	cr_assert_str_eq(body_str(rec, "direction"), "decrease");
	snprintf(thash, sizeof(thash), "%s",
	    json_string_value(json_object_get(rec, "hash")));

	cr_assert_not_null(find_key(all, "2403/measure/N00401/2020/T"));
	cr_assert_not_null(find_key(all, "2403/measure/N00401/2021/K"));
	rec = find_key(all, "2403/measure/N00401/2480/2021/M");
	cr_assert_not_null(rec);
	cr_assert_str_eq(body_str(rec, "area"), "2480");
	rec = find_key(all, "2403/project/PR1");
	cr_assert_str_eq(body_str(rec, "title"), "Solar");
	cr_assert_str_eq(body_str(rec, "funder"), "EU");
	cr_assert_str_eq(body_str(rec, "lead"), "2403");
	rec = find_key(all, "2403/group/G1");
	cr_assert_str_eq(body_str(rec, "name"), "Energy group");
	rec = find_key(all, "2403/meeting/M2");
	cr_assert_str_eq(body_str(rec, "group"), "G1");
	rec = find_key(all, "2403/network/N1");
	cr_assert_str_eq(body_str(rec, "name"), "Covenant of Mayors EU");
	cr_assert_str_eq(body_str(rec, "scope"), "international");
	rec = find_key(all, "2403/decision/D1");
	cr_assert_str_eq(body_str(rec, "outcome"), "deferred");
	cr_assert_str_eq(body_str(rec, "ref"), "KS 2024/12");
	rec = find_key(all, "2403/network/N2");
	cr_assert_not_null(rec, "a delete leaves a tombstone");

	/* --adopts bound the content hashes as they were */
	rec = find_key(all, "2403/decision/D2");
	cr_assert_not_null(rec);
	arr = json_object_get(json_object_get(rec, "body"), "adopts");
	cr_assert_eq(json_array_size(arr), 2);
	json_array_foreach(arr, i, adopt)
	{
		const char *k =
		    json_string_value(json_object_get(adopt, "key"));
		const char *h =
		    json_string_value(json_object_get(adopt, "hash"));
		json_t *held = find_key(all, k);

		cr_assert_not_null(held, "%s", k);
		cr_assert_str_eq(h,
		    json_string_value(json_object_get(held, "hash")), "%s", k);
	}
	cr_assert_str_eq(json_string_value(
			     json_object_get(json_array_get(arr, 0), "hash")),
	    thash);
	json_decref(all);

	/* show KIND, --key, --municipality */
	arr = ucr_json("show meeting --json");
	cr_assert_eq(json_array_size(arr), 2);
	json_decref(arr);
	arr = ucr_json("show --key target/T1 --json");
	cr_assert_eq(json_array_size(arr), 1);
	json_decref(arr);
	arr = ucr_json("show --municipality 2480 --json");
	cr_assert_eq(json_array_size(arr), 0);
	json_decref(arr);
	out = nf_ok("show target");
	cr_assert(strstr(out, "2403/target/T1") != NULL, "%s", out);
	free(out);

	/* log: every entry of the own log, in order */
	log = ucr_json("log --json");
	cr_assert_eq(json_array_size(log), 20);
	json_array_foreach(log, i, rec)
	    cr_assert_eq(json_integer_value(json_object_get(rec, "seq")),
		(json_int_t)i + 1);
	cr_assert_str_eq(json_string_value(
			     json_object_get(json_array_get(log, 17), "kind")),
	    "delete");
	json_decref(log);
	log = ucr_json("log --from 17 --json");
	cr_assert_eq(json_array_size(log), 4);
	json_decref(log);
	out = nf_ok("log");
	cr_assert_eq(lines(out), 20, "%s", out);
	free(out);

	/* status reads the same store */
	arr = ucr_json("status --json");
	cr_assert(json_is_object(arr));
	json_decref(arr);
	free(nf_ok("status"));

	/* verify re-checks every signature and the chain */
	out = nf_ok("verify");
	cr_assert(strstr(out, "ok:") != NULL, "%s", out);
	free(out);
	arr = ucr_json("verify --json");
	cr_assert(json_is_true(json_object_get(arr, "ok")));
	cr_assert_eq(json_integer_value(json_object_get(arr, "entries")), 20);
	json_decref(arr);
}

/* ---------------------------------------------------------------- bad input */

struct bad {
	const char *args;
	const char *field;
};

static const struct bad bad_inputs[] = {
    /* unknown commitment or priority id */
    {"baseline set 9.9 --text x", "commitment"},
    {"target add T2 --title x --commitment 11.1 --priority P1", "commitment"},
    {"target add T2 --title x --commitment 1.1,0.5 --priority P1",
	"commitment"},
    {"target add T2 --title x --commitment 1.1 --priority P9", "priority"},
    {"target set T1 --priority P6", "priority"},
    {"group add G2 --name x --priority P0", "priority"},
    {"project add PR2 --title x --priority p1", "priority"},
    /* a value that is not a number */
    {"measure N00401 2020 abc", "value"},
    {"measure N00401 2020 1e3", "value"},
    {"target add T2 --title x --commitment 1.1 --priority P1 "
     "--baseline abc@2019",
	"baseline"},
    {"target set T1 --target 3,5@2030", "target"},
    {"project add PR2 --title x --budget lots", "budget"},
    {"meeting add M2 --kind workshop --date 2024-01-01 --women five "
     "--men 3",
	"women"},
    /* a year outside 1900-2100 */
    {"measure N00401 1899 5", "year"},
    {"measure N00401 2101 5", "year"},
    {"measure N00401 20x0 5", "year"},
    {"target add T2 --title x --commitment 1.1 --priority P1 "
     "--target 5@2200",
	"target"},
    {"target add T2 --title x --commitment 1.1 --priority P1 "
     "--baseline 5@1800",
	"baseline"},
    {"target add T2 --title x --commitment 1.1 --priority P1 "
     "--baseline 5@2015 --target 3@2010",
	"target"},
    /* a negative count */
    {"meeting add M2 --kind workshop --date 2024-01-01 --women -1 --men 3",
	"women"},
    {"meeting add M2 --kind workshop --date 2024-01-01 --women 1 --men -3",
	"men"},
    {"meeting set M1 --unstated -2", "unstated"},
    {"project add PR2 --title x --budget -5", "budget"},
    /* a date that does not parse */
    {"meeting add M2 --kind workshop --date 2024-02-30 --women 1 --men 3",
	"date"},
    {"meeting add M2 --kind workshop --date yesterday --women 1 --men 3",
	"date"},
    {"project add PR2 --title x --start 2024-1-1", "start"},
    {"group add G2 --name x --to 2024-00-10", "to"},
    {"network join N2 --name x --scope national --date 01/02/2024", "date"},
    {"decision add D2 --body board --date 2023-02-29 --subject targets "
     "--ref x",
	"date"},
    /* an id already used by add */
    {"target add T1 --title x --commitment 1.1 --priority P1", "id"},
    {"meeting add M1 --kind workshop --date 2024-01-01 --women 1 --men 3",
	"id"},
    {"project add PR1 --title x", "id"},
    {"group add G1 --name x", "id"},
    {"decision add D1 --body board --date 2024-01-01 --subject targets "
     "--ref x",
	"id"},
    /* and the rest of what is checked before sending */
    {"target add 'T 3' --title x --commitment 1.1 --priority P1", "id"},
    {"target add T2 --title x --priority P1", "commitment"},
    {"target set T9 --title x", "id"},
    {"measure N00401 2020 5 --area 9999", "area"},
    {"measure N00401 2020 5 --gender X", "gender"},
    {"meeting add M2 --kind picnic --date 2024-01-01 --women 1 --men 3",
	"kind"},
    {"project add PR2 --title x --partners 2403,1234", "partners"},
    {"network join N2 --name x --scope galactic --date 2024-01-01", "scope"},
    {"decision add D2 --body regional-council --date 2024-01-01 "
     "--subject targets --ref x",
	"body"},
    {"decision add D2 --body board --date 2024-01-01 --subject targets "
     "--ref x --adopts target/NOPE",
	"adopts"},
    {"delete target/NOPE", "key"},
    /* the direction is never a silent default (issue 12) */
    {"target add T2 --title x --commitment 1.1 --priority P1", "direction"},
    {"target add T2 --title x --commitment 1.1 --priority P1 "
     "--baseline 5@2015 --target 5@2030",
	"direction"},
    {"target add T2 --title x --commitment 3.1 --priority P4 "
     "--baseline 9.8@2008 --target 6.0@2030 --direction increase",
	"direction"},
    {"target set T1 --target 7@2030", "direction"},
    /* indicator ids: Kolada ids, or declared first */
    {"target add T2 --title x --commitment 1.1 --priority P1 "
     "--indicator n00401 --direction increase",
	"indicator"},
    {"target add T2 --title x --commitment 1.1 --priority P1 "
     "--indicator FOO --direction increase",
	"indicator"},
    {"measure FOO 2020 5", "indicator"},
    {"measure N004011 2020 5", "indicator"},
    /* measurement years no later than the current year */
    {"measure N00401 2099 5", "year"},
    {"target add T2 --title x --commitment 1.1 --priority P1 "
     "--baseline 5@2090 --target 9@2095",
	"baseline"},
    /* percentages in range */
    {"measure LOCAL1 2020 -5", "value"},
    {"measure LOCAL1 2020 150", "value"},
    {"target add T2 --title x --commitment 1.1 --priority P1 "
     "--indicator LOCAL1 --baseline 40@2015 --target 120@2030",
	"target"},
    {"indicator add X1 --title x", "unit"},
    /* dates ordered, references resolved */
    {"group add G2 --name x --from 2024-05-01 --to 2024-01-01", "to"},
    {"meeting add M2 --kind group-meeting --date 2024-01-01 --women 1 "
     "--men 1 --group NOPE",
	"group"},
    {"network join N3 --name x --scope national --date 2009-01-01 "
     "--register nope",
	"register"},
    {"programme set --start 2010-06-30 --end 2008-01-01", "end"},
    {"programme set --start 2008-01-01", "end"},
};

Test(node, bad_input_stores_nothing)
{
	char *before, *after, *out, *err, want[64];
	size_t i;
	int rc;

	nf_start("");
	seed_records();
	free(nf_ok("indicator add LOCAL1 --title 'Share of renewable heat' "
		   "--unit %%"));
	before = snapshot();
	for (i = 0; i < sizeof(bad_inputs) / sizeof(bad_inputs[0]); i++) {
		const struct bad *b = &bad_inputs[i];

		out = err = NULL;
		rc = nf_ucr(&out, &err, "%s", b->args);
		cr_expect_neq(rc, 0, "ucr %s: exit 0", b->args);
		cr_expect_eq(lines(err), 1, "ucr %s: not one line: %s", b->args,
		    err);
		cr_expect(strncmp(err, "ucr: ", 5) == 0, "ucr %s: %s", b->args,
		    err);
		snprintf(want, sizeof(want), ": %s:", b->field);
		cr_expect(strstr(err, want) != NULL,
		    "ucr %s: error does not name field '%s': %s", b->args,
		    b->field, err);
		cr_expect_str_empty(out, "ucr %s printed: %s", b->args, out);
		free(out);
		free(err);
	}
	after = snapshot();
	cr_assert_str_eq(before, after, "a refused command stored something");
	free(before);
	free(after);
	/* The CLI caught all of these: none reached the daemon's checks. */
	after = nf_log();
	cr_expect_eq(strstr(after, "refused request"), NULL, "%s", after);
	free(after);
}

/* ---------------------------------------------------------------- set */

/* A set, a baseline set again and a network re-join change only the fields
   given; the direction follows from the values (issue 12). */
Test(node, set_changes_only_the_fields_given)
{
	json_t *all, *rec;

	nf_start("");
	free(nf_ok("baseline set 3.1 --text 'Emissions fall' --trend down "
		   "--gap"));
	free(nf_ok("baseline set 3.1 --text 'Emissions fall slowly'"));
	free(nf_ok("network join N1 --name CIVITAS --scope international "
		   "--date 2009-02-02 --new"));
	free(nf_ok("network join N1 --name CIVITAS --scope international "
		   "--date 2009-03-03"));
	free(nf_ok("target add T1 --title 'Less CO2' --commitment 3.1 "
		   "--priority P4 --indicator N00401 --baseline 9.8@2008 "
		   "--target 6.0@2030"));
	free(nf_ok("target add T2 --title 'More work' --commitment 8.1 "
		   "--priority P5 --baseline 76@2008 --target 80@2025"));
	free(nf_ok("indicator add LOCAL1 --title 'Share' --unit %%"));
	free(nf_ok("measure LOCAL1 2020 55.5"));
	free(nf_ok("measure N00401 2020 5 --status final"));
	free(nf_ok("decision add D1 --body board --date 2010-01-01 "
		   "--subject local_plan --ref 'KS 1'"));
	all = ucr_json("show --json");
	rec = find_key(all, "2403/baseline/3.1");
	cr_assert_str_eq(body_str(rec, "text"), "Emissions fall slowly");
	cr_assert_str_eq(body_str(rec, "trend"), "down");
	cr_assert(json_is_true(
	    json_object_get(json_object_get(rec, "body"), "data_gap")));
	rec = find_key(all, "2403/network/N1");
	cr_assert_str_eq(body_str(rec, "joined"), "2009-03-03");
	cr_assert(json_is_true(json_object_get(json_object_get(rec, "body"),
		      "new_in_programme")),
	    "a re-join dropped --new");
	cr_assert_str_eq(body_str(find_key(all, "2403/target/T1"), "direction"),
	    "decrease");
	cr_assert_str_eq(body_str(find_key(all, "2403/target/T2"), "direction"),
	    "increase");
	rec = find_key(all, "2403/indicator/LOCAL1");
	cr_assert_not_null(rec);
	cr_assert_str_eq(body_str(rec, "unit"), "%");
	cr_assert_not_null(find_key(all, "2403/measure/LOCAL1/2020/T"));
	cr_assert_str_eq(body_str(find_key(all, "2403/decision/D1"), "subject"),
	    "local-plan");
	json_decref(all);
	/* a regional workshop is marked; the programme's rules are the hub's */
	free(nf_ok("meeting add W1 --kind workshop --date 2009-05-20 "
		   "--women 4 --men 5 --regional"));
	all = ucr_json("show meeting --json");
	cr_assert(json_is_true(
	    json_object_get(json_object_get(json_array_get(all, 0), "body"),
		"regional")));
	json_decref(all);
	{
		char *err = NULL;

		cr_assert_neq(nf_ucr(NULL, &err,
				  "programme set --start 2008-01-01 --end "
				  "2010-06-30"),
		    0);
		cr_assert(strstr(err, "hub") != NULL, "%s", err);
		free(err);
		err = NULL;
		cr_assert_neq(nf_ucr(NULL, &err,
				  "network register civitas --name CIVITAS"),
		    0);
		cr_assert(strstr(err, "hub") != NULL, "%s", err);
		free(err);
	}
	/* --no-gap and --no-new clear the flags */
	free(nf_ok("baseline set 3.1 --no-gap"));
	free(nf_ok("network join N1 --no-new"));
	all = ucr_json("show --json");
	cr_assert(json_is_false(
	    json_object_get(json_object_get(find_key(all, "2403/baseline/3.1"),
				"body"),
		"data_gap")));
	cr_assert(json_is_false(
	    json_object_get(json_object_get(find_key(all, "2403/network/N1"),
				"body"),
		"new_in_programme")));
	json_decref(all);
}

/* Another area's value has its own key: Bjurholm's own value of the same
   year does not replace it, nor it Bjurholm's (issue 12). Every version of
   a record is listed by ucr history, oldest first. */
Test(node, measurement_keys_and_history)
{
	json_t *all, *h, *v;
	char *out;

	nf_start("");
	free(nf_ok("measure N00401 2020 5.5 --area 2480"));
	free(nf_ok("measure N00401 2020 7.1"));
	all = ucr_json("show measure --json");
	cr_assert_eq(json_array_size(all), 2);
	cr_assert_str_eq(body_str(find_key(all,
				      "2403/measure/N00401/2480/2020/T"),
			     "area"),
	    "2480");
	cr_assert_str_eq(body_str(find_key(all, "2403/measure/N00401/2020/T"),
			     "value"),
	    "7.1");
	json_decref(all);

	free(nf_ok("target add T1 --title 'Less CO2' --commitment 3.1 "
		   "--priority P4 --baseline 9.8@2008 --target 6@2030"));
	free(nf_ok("target set T1 --title 'Less CO2e'"));
	free(nf_ok("delete target/T1"));
	h = ucr_json("history target/T1 --json");
	cr_assert_eq(json_array_size(h), 3);
	v = json_array_get(h, 0);
	cr_assert_str_eq(json_string_value(
			     json_object_get(json_object_get(json_object_get(v,
								 "record"),
						 "body"),
				 "title")),
	    "Less CO2");
	cr_assert_eq(strlen(json_string_value(json_object_get(v, "author"))),
	    64);
	cr_assert_eq(json_integer_value(json_object_get(v, "seq")), 3);
	cr_assert(json_is_false(json_object_get(v, "current")));
	v = json_array_get(h, 2);
	cr_assert(json_is_true(
	    json_object_get(json_object_get(v, "record"), "deleted")));
	cr_assert(json_is_true(json_object_get(v, "current")));
	json_decref(h);
	/* the full key and the measurement's short form work alike */
	h = ucr_json("history 2403/target/T1 --json");
	cr_assert_eq(json_array_size(h), 3);
	json_decref(h);
	h = ucr_json("history measure/N00401/2480/2020/T --json");
	cr_assert_eq(json_array_size(h), 1);
	json_decref(h);
	out = nf_ok("history target/T1");
	cr_assert_eq(lines(out), 4, "%s", out);
	cr_assert(strstr(out, "created") && strstr(out, "changed") &&
		strstr(out, "deleted"),
	    "%s", out);
	free(out);
	cr_assert_neq(nf_ucr(NULL, NULL, "history target/NOPE"), 0);
}

/* Names are accepted wherever a code is; KIND/ID works in explain; the
   view's JSON spells enum values as the command line does (issue 12). */
Test(node, names_short_forms_one_spelling)
{
	json_t *j, *d;
	char *out;

	nf_start("");
	free(nf_ok("measure N00401 2020 5.5 --area 'umeå'"));
	free(nf_ok("project add PR1 --title Solar --partners 'Umeå,Vännäs' "
		   "--start 2009-01-01 --end 2009-12-31"));
	free(nf_ok("target add T1 --title 'Less CO2' --commitment 3.1 "
		   "--priority P4 --indicator N00401 --baseline 9.8@2008 "
		   "--target 6@2030"));
	free(nf_ok("decision add D1 --body board --date 2010-01-01 "
		   "--subject local_plan --ref 'KS 1' --adopts target/T1"));
	j = ucr_json("show --municipality Bjurholm --json");
	cr_assert_not_null(find_key(j, "2403/measure/N00401/2480/2020/T"));
	d = json_object_get(json_object_get(find_key(j, "2403/project/PR1"),
				"body"),
	    "partners");
	cr_assert_str_eq(json_string_value(json_array_get(d, 0)), "2480");
	cr_assert_str_eq(json_string_value(json_array_get(d, 1)), "2460");
	json_decref(j);
	j = ucr_json("plan --municipality bjurholm --json");
	cr_assert_str_eq(json_string_value(
			     json_object_get(json_object_get(j, "filter"),
				 "municipality")),
	    "2403");
	json_decref(j);
	out = nf_ok("explain target/T1");
	cr_assert(strstr(out, "2403/target/T1") != NULL, "%s", out);
	free(out);
	j = ucr_json("cycle Bjurholm --json");
	d = json_array_get(json_object_get(j, "decisions"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(d, "subject")),
	    "local-plan");
	json_decref(j);
	cr_assert_neq(nf_ucr(NULL, NULL, "show --municipality Atlantis"), 0);
}

/* ---------------------------------------------------------------- restart */

Test(node, restart_keeps_everything)
{
	char *before, *after, *out, *log;
	struct stat st;

	nf_start("");
	seed_records();
	free(nf_ok("measure N00401 2020 5.1"));
	free(nf_ok("delete project/PR1"));
	before = snapshot();
	cr_assert_eq(nf_stop(SIGTERM), 0, "SIGTERM: not a clean exit");
	cr_assert_neq(stat(nf.sock, &st), 0, "control socket left behind");
	log = nf_log();
	cr_assert(strstr(log, "stopping") != NULL, "%s", log);
	free(log);

	/* Queries read the store without the daemon. */
	after = snapshot();
	cr_assert_str_eq(before, after);
	free(after);

	nf_start("");
	after = snapshot();
	cr_assert_str_eq(before, after);
	free(after);
	out = nf_ok("network join N1 --name Net --scope national "
		    "--date 2024-01-01");
	cr_assert_str_eq(out, "2403/network/N1 joined (seq 8)\n");
	free(out);
	/* SIGINT stops as cleanly as SIGTERM. */
	cr_assert_eq(nf_stop(SIGINT), 0);
	nf_start("");
	free(nf_ok("verify"));
	free(before);
}

/* ---------------------------------------------------------------- kill -9 */

Test(node, kill9_loses_nothing_acknowledged)
{
	char acked[600], *list, *line, *save = NULL, *err = NULL, key[64];
	json_t *nets, *log, *e;
	pid_t writer;
	size_t i, n = 0;
	long t0;
	int rc;

	snprintf(acked, sizeof(acked), "%s/acked", nf.dir);
	nf_start("");
	/* One writer, one process per write; an id goes to acked only after
	 * ucr reported the daemon's acknowledgement. */
	writer = tu_spawn(NULL,
	    "i=0; while [ $i -lt 2000 ]; do i=$((i+1)); "
	    "ucr -c '%s' network join N$i --name \"Net $i\" --scope national "
	    "--date 2024-01-01 >/dev/null 2>&1 || exit 0; "
	    "echo N$i >> '%s'; done",
	    nf.conf, acked);
	cr_assert_gt(writer, 0);
	cr_assert_eq(tu_wait_cmd(20000,
			 "test -f '%s' && "
			 "test $(wc -l < '%s') -ge 40",
			 acked, acked),
	    0, "writer too slow");
	nf_stop(SIGKILL);
	kill(-writer, SIGKILL); /* a request in flight will get no answer */
	waitpid(writer, NULL, 0);

	/* A dead daemon is reported at once, not after the timeout. */
	t0 = now_ms();
	rc = nf_ucr(NULL, &err,
	    "network join X --name x --scope national "
	    "--date 2024-01-01");
	cr_assert_eq(rc, 1);
	cr_assert(strstr(err, "cannot reach ucr-node") != NULL, "%s", err);
	cr_assert_lt(now_ms() - t0, 5000, "took %ld ms", now_ms() - t0);
	free(err);

	nf_start("");
	nets = ucr_json("show network --json");
	list = tu_read(acked);
	for (line = strtok_r(list, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), n++) {
		snprintf(key, sizeof(key), "2403/network/%s", line);
		cr_assert_not_null(find_key(nets, key),
		    "acknowledged %s lost after kill -9", key);
	}
	cr_assert_geq(json_array_size(nets), n);
	free(list);
	log = ucr_json("log --json");
	cr_assert_eq(json_array_size(log), json_array_size(nets));
	json_array_foreach(log, i, e)
	    cr_assert_eq(json_integer_value(json_object_get(e, "seq")),
		(json_int_t)i + 1);
	json_decref(log);
	json_decref(nets);
	free(nf_ok("verify"));

	/* Killed right after an acknowledged write, too. */
	free(nf_ok("target add T1 --title x --commitment 1.1 --priority P1 "
		   "--direction increase"));
	nf_stop(SIGKILL);
	nf_start("");
	nets = ucr_json("show --key target/T1 --json");
	cr_assert_eq(json_array_size(nets), 1);
	json_decref(nets);
	free(nf_ok("verify"));
}

/* ---------------------------------------------------------------- writers */

#define WRITERS 4
#define WRITES 25

Test(node, concurrent_writers)
{
	pid_t w[WRITERS];
	json_t *arr, *e;
	char *out, *p, path[600];
	int i, rc, won, seen[WRITERS * WRITES + 1];
	size_t j;

	nf_start("");
	for (i = 0; i < WRITERS; i++) {
		w[i] = tu_spawn(NULL,
		    "for i in $(seq 1 %d); do "
		    "ucr -c '%s' project add W%d-$i --title \"P $i\" "
		    "--priority P%d >/dev/null || exit 1; done",
		    WRITES, nf.conf, i, i % 5 + 1);
		cr_assert_gt(w[i], 0);
	}
	for (i = 0; i < WRITERS; i++)
		cr_assert_eq(wait_pid(w[i], 40000), 0, "writer %d failed", i);
	arr = ucr_json("show project --json");
	cr_assert_eq(json_array_size(arr), WRITERS * WRITES);
	json_decref(arr);
	/* One log, no seq twice, none missing. */
	memset(seen, 0, sizeof(seen));
	arr = ucr_json("log --json");
	cr_assert_eq(json_array_size(arr), WRITERS * WRITES);
	json_array_foreach(arr, j, e)
	{
		json_int_t s = json_integer_value(json_object_get(e, "seq"));

		cr_assert(s >= 1 && s <= WRITERS * WRITES);
		cr_assert_eq(seen[s]++, 0);
	}
	json_decref(arr);
	free(nf_ok("verify"));

	/* Six officers add the same id at once: exactly one wins. */
	rc = tu_run(&out, NULL,
	    "for i in 1 2 3 4 5 6; do "
	    "( ucr -c '%s' group add RACE --name \"Group $i\" >/dev/null "
	    "2>>'%s/race.err'; echo $? ) & done; wait",
	    nf.conf, nf.dir);
	cr_assert_eq(rc, 0);
	for (i = 0, won = 0, p = out; *p; p++)
		if (*p == '0' || *p == '1') {
			won += *p == '0';
			i++;
		}
	cr_assert_eq(i, 6, "%s", out);
	cr_assert_eq(won, 1, "%d of 6 adds of one id succeeded", won);
	free(out);
	snprintf(path, sizeof(path), "%s/race.err", nf.dir);
	out = tu_read(path);
	cr_assert_eq(lines(out), 5, "%s", out);
	cr_assert(strstr(out, "already") != NULL, "%s", out);
	free(out);
	arr = ucr_json("show group --json");
	cr_assert_eq(json_array_size(arr), 1);
	json_decref(arr);
}

/* ---------------------------------------------------------------- import */

Test(node, import_all_or_nothing)
{
	char path[600], *before, *after, *out, *err = NULL;
	json_t *arr;
	int rc;

	nf_start("");
	seed_records();

	snprintf(path, sizeof(path), "%s/good.json", nf.dir);
	tu_write(path,
	    "[{\"kind\":\"target\",\"id\":\"T5\",\"title\":\"Imported\","
	    "\"commitments\":[\"1.1\"],\"priorities\":[\"P1\"]},\n"
	    "{\"kind\":\"measure\",\"indicator\":\"N00401\",\"year\":2019,"
	    "\"value\":\"4.2\"},\n"
	    "{\"kind\":\"network\",\"id\":\"N5\",\"name\":\"Net\","
	    "\"scope\":\"national\",\"joined\":\"2024-01-01\"}]\n");
	before = snapshot();
	out = nf_ok("import --dry-run '%s'", path);
	free(out);
	after = snapshot();
	cr_assert_str_eq(before, after, "--dry-run stored something");
	free(after);
	free(nf_ok("import '%s'", path));
	arr = ucr_json("show --json");
	cr_assert_not_null(find_key(arr, "2403/target/T5"));
	cr_assert_not_null(find_key(arr, "2403/measure/N00401/2019/T"));
	cr_assert_not_null(find_key(arr, "2403/network/N5"));
	json_decref(arr);
	free(before);

	/* One bad row, last in the file: nothing stored. */
	before = snapshot();
	snprintf(path, sizeof(path), "%s/bad.json", nf.dir);
	tu_write(path,
	    "[{\"kind\":\"target\",\"id\":\"T6\",\"title\":\"x\","
	    "\"commitments\":[\"1.1\"],\"priorities\":[\"P1\"]},\n"
	    "{\"kind\":\"measure\",\"indicator\":\"N00401\",\"year\":2019,"
	    "\"value\":\"abc\"}]\n");
	rc = nf_ucr(NULL, &err, "import '%s'", path);
	cr_assert_neq(rc, 0);
	cr_assert_eq(lines(err), 1, "%s", err);
	cr_assert(strstr(err, "bad.json") && strstr(err, "value"), "%s", err);
	free(err);
	snprintf(path, sizeof(path), "%s/bad.csv", nf.dir);
	tu_write(path,
	    "kind,id,title,commitments,priorities\n"
	    "target,T7,From CSV,1.1,P2\n"
	    "target,T8,Bad,99.9,P2\n");
	rc = nf_ucr(NULL, &err, "import '%s'", path);
	cr_assert_neq(rc, 0);
	cr_assert(strstr(err, "bad.csv") && strstr(err, "commitments"), "%s",
	    err);
	free(err);
	/* Two files, the second bad: neither is stored. */
	snprintf(path, sizeof(path), "'%s/good.json' '%s/bad.csv'", nf.dir,
	    nf.dir);
	rc = nf_ucr(NULL, &err, "import %s", path);
	cr_assert_neq(rc, 0);
	free(err);
	after = snapshot();
	cr_assert_str_eq(before, after, "a refused import stored something");
	free(after);
	free(before);

	snprintf(path, sizeof(path), "%s/good.csv", nf.dir);
	tu_write(path,
	    "kind,id,title,commitments,priorities\n"
	    "target,T7,From CSV,1.1,P2\n");
	free(nf_ok("import '%s'", path));
	arr = ucr_json("show --key target/T7 --json");
	cr_assert_eq(json_array_size(arr), 1);
	json_decref(arr);
}

/*
 * More records than one signed batch or one request holds: a streamed
 * import, committed in one transaction. A row the daemon refuses at the
 * end (a decision adopting an unknown record) leaves the store unchanged.
 */
static void
write_networks(const char *path, int n)
{
	FILE *f = fopen(path, "w");
	int i;

	cr_assert_not_null(f);
	fputs("kind,id,name,scope,joined\n", f);
	for (i = 0; i < n; i++)
		fprintf(f, "network,N%d,Network %d,national,2009-01-01\n", i,
		    i);
	cr_assert_eq(fclose(f), 0);
}

Test(node, import_large_streamed_all_or_nothing, .timeout = 300)
{
	enum { N = 52000 };
	char path[600], dpath[600], *before, *after, *out, *err = NULL;
	json_t *j;
	int rc;

	nf_start("");
	snprintf(path, sizeof(path), "%s/big.csv", nf.dir);
	write_networks(path, N);
	snprintf(dpath, sizeof(dpath), "%s/decision.json", nf.dir);
	tu_write(dpath,
	    "[{\"kind\":\"decision\",\"id\":\"D1\",\"body\":\"board\","
	    "\"date\":\"2010-02-15\",\"subject\":\"other\","
	    "\"ref\":\"KS 1\",\"adopts\":[\"target/T404\"]}]\n");
	before = nf_ok("log --json");
	rc = nf_ucr(NULL, &err, "import '%s' '%s'", path, dpath);
	cr_assert_neq(rc, 0, "an import adopting an unknown record passed");
	cr_assert(strstr(err, "T404") != NULL, "%s", err);
	free(err);
	after = nf_ok("log --json");
	cr_assert_str_eq(before, after, "a refused import stored something");
	free(before);
	free(after);

	out = nf_ok("import --json '%s'", path);
	j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "%s", out);
	cr_assert_eq(json_integer_value(json_object_get(j, "records")), N);
	cr_assert_eq(json_integer_value(json_object_get(j, "last_seq")) -
		json_integer_value(json_object_get(j, "first_seq")) + 1,
	    N, "%s", out);
	json_decref(j);
	free(out);
	j = ucr_json("show --key network/N51999 --json");
	cr_assert_eq(json_array_size(j), 1);
	json_decref(j);
	j = ucr_json("show --key network/N0 --json");
	cr_assert_eq(json_array_size(j), 1);
	json_decref(j);
	free(nf_ok("verify"));
}

/* ---------------------------------------------------------------- daemon */

Test(node, second_daemon_refused)
{
	char conf2[600], *err = NULL, *out;
	struct stat st;
	int rc;

	nf_start("");
	/* The same configuration... */
	rc = tu_run(NULL, &err, "timeout 10 ucr-node -d -f '%s'", nf.conf);
	cr_assert_neq(rc, 0);
	cr_assert_neq(rc, 124, "the second ucr-node kept running");
	cr_assert(strstr(err, "in use by another ucr-node") != NULL, "%s", err);
	cr_assert_eq(lines(err), 1, "%s", err);
	free(err);
	/* ...or another control socket on the same store. */
	snprintf(conf2, sizeof(conf2), "%s/other.conf", nf.dir);
	nf_conf(conf2, "node.key", "store", "ipc://other.sock");
	rc = tu_run(NULL, &err, "timeout 10 ucr-node -d -f '%s'", conf2);
	cr_assert_neq(rc, 0);
	cr_assert_neq(rc, 124);
	cr_assert(strstr(err, "in use by another ucr-node") != NULL, "%s", err);
	free(err);

	/* The first one is untouched and serves on. */
	cr_assert_eq(stat(nf.sock, &st), 0, "control socket was removed");
	out = nf_ok("group add G1 --name x");
	cr_assert_str_eq(out, "2403/group/G1 added (seq 1)\n");
	free(out);
	cr_assert_eq(nf_stop(SIGTERM), 0);
}

static void
expect_error(const void *buf, size_t len, int code, const char *what)
{
	Ucr__Reply *rep;
	int rc = raw(&rep, buf, len);

	cr_assert_eq(rc, 0, "%s: %s", what,
	    rc == -1 ? "no reply" : "undecodable reply");
	cr_assert_neq(rep->code, 0, "%s: accepted", what);
	if (code != 0)
		cr_assert_eq(rep->code, code, "%s: code %d (%s)", what,
		    rep->code, rep->message);
	cr_assert_str_not_empty(rep->message, "%s", what);
	ucr__reply__free_unpacked(rep, NULL);
}

static void
expect_request_error(const Ucr__Request *req, int code, const char *what)
{
	size_t len = ucr__request__get_packed_size(req);
	uint8_t *buf = malloc(len ? len : 1);

	ucr__request__pack(req, buf);
	expect_error(buf, len, code, what);
	free(buf);
}

Test(node, malformed_frames_get_error_replies)
{
	static const uint8_t garbage[] = {0xff, 0xfe, 0x00, 0x13, 0x37, 0x42,
	    0x99, 0x01, 0x80, 0x80, 0x80};
	static const uint8_t truncated[] = {0x0a, 0x40, 0x0a, 0x05};
	uint8_t junk[4096];
	const void *parts[2] = {garbage, garbage};
	size_t lens[2] = {sizeof(garbage), sizeof(garbage)};
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__Put put = UCR__PUT__INIT, put2 = UCR__PUT__INIT, *puts[2];
	Ucr__PutMany many = UCR__PUT_MANY__INIT;
	Ucr__Record r = UCR__RECORD__INIT, r2 = UCR__RECORD__INIT;
	Ucr__Network net = UCR__NETWORK__INIT;
	Ucr__Measurement m = UCR__MEASUREMENT__INIT;
	Ucr__Decimal d = UCR__DECIMAL__INIT;
	Ucr__Query q = UCR__QUERY__INIT;
	Ucr__Reply *rep;
	char *before, *after, *log;
	int i, rc;

	nf_start("");
	free(nf_ok("network join N0 --name Net --scope national "
		   "--date 2024-01-01"));
	before = snapshot();

	expect_error(garbage, sizeof(garbage), UCR_EPROTO, "garbage");
	expect_error(truncated, sizeof(truncated), UCR_EPROTO, "truncated");
	expect_error("", 0, 0, "empty frame");
	/* A multi-part message is answered too, never left hanging. */
	cr_assert_eq(nf_send(&rep, parts, lens, 2, 5000), 0);
	cr_assert_neq(rep->code, 0);
	ucr__reply__free_unpacked(rep, NULL);
	/* Random bytes: every one answered. */
	srand(1);
	for (i = 0; i < 50; i++) {
		size_t j, n = 1 + (size_t)rand() % sizeof(junk);

		for (j = 0; j < n; j++)
			junk[j] = (uint8_t)rand();
		cr_assert_eq(raw(&rep, junk, n), 0, "random frame %d", i);
		ucr__reply__free_unpacked(rep, NULL);
	}

	/* Decodable, but wrong: the daemon validates again. */
	net.name = "Net";
	net.joined = "2024-01-01";
	r.key = "2403/network/N9";
	r.owner = "2403";
	r.body_case = UCR__RECORD__BODY_NETWORK;
	r.network = &net;
	put.record = &r;
	req.body_case = UCR__REQUEST__BODY_PUT;
	req.put = &put;

	net.joined = "2024-13-01";
	expect_request_error(&req, UCR_ESCHEMA, "bad date");
	net.joined = "2024-01-01";
	r.owner = "2480";
	r.key = "2480/network/N9";
	expect_request_error(&req, UCR_EOWNER, "another municipality's record");
	r.owner = "2403";
	r.key = "2403/target/N9";
	expect_request_error(&req, UCR_ESCHEMA, "body does not match key");
	r.key = "2403/network/N0";
	put.mode = UCR__PUT_MODE__PUT_CREATE;
	expect_request_error(&req, UCR_EEXIST, "add of a used id");
	r.key = "2403/network/N9";
	put.mode = UCR__PUT_MODE__PUT_UPDATE;
	expect_request_error(&req, UCR_ENOTFOUND, "set of an unknown id");
	put.mode = 7;
	expect_request_error(&req, 0, "bad put mode");
	put.mode = UCR__PUT_MODE__PUT_UPSERT;
	put.record = NULL;
	expect_request_error(&req, 0, "put without a record");
	put.record = &r;
	r.body_case = UCR__RECORD__BODY__NOT_SET;
	expect_request_error(&req, UCR_ESCHEMA, "record without a body");
	r.body_case = UCR__RECORD__BODY_NETWORK;

	m.indicator = "N00401";
	m.area = "2403";
	m.year = 1800;
	m.value = &d;
	r2.key = "2403/measure/N00401/1800/T";
	r2.owner = "2403";
	r2.body_case = UCR__RECORD__BODY_MEASUREMENT;
	r2.measurement = &m;
	put2.record = &r2;
	req.put = &put2;
	expect_request_error(&req, UCR_ESCHEMA, "year 1800");
	d.scale = 40;
	m.year = 2020;
	r2.key = "2403/measure/N00401/2020/T";
	expect_request_error(&req, UCR_ESCHEMA, "decimal scale 40");
	d.scale = 0;

	/* All or nothing: a good record and a bad one store neither. */
	m.year = 1800;
	r2.key = "2403/measure/N00401/1800/T";
	puts[0] = &put;
	puts[1] = &put2;
	many.puts = puts;
	many.n_puts = 2;
	req.body_case = UCR__REQUEST__BODY_MANY;
	req.many = &many;
	expect_request_error(&req, UCR_ESCHEMA, "many with one bad record");
	many.n_puts = 0;
	expect_request_error(&req, UCR_EINVAL, "many with no records");

	req.body_case = UCR__REQUEST__BODY__NOT_SET;
	expect_request_error(&req, UCR_EPROTO, "empty request");
	q.what = "no-such-query";
	req.body_case = UCR__REQUEST__BODY_QUERY;
	req.query = &q;
	expect_request_error(&req, UCR_EINVAL, "unknown query");

	/* Nothing stored, and the daemon still serves. */
	after = snapshot();
	cr_assert_str_eq(before, after, "a refused frame stored something");
	free(after);
	free(before);
	cr_assert(nf_serving(5000));
	free(nf_ok("network join N1 --name Net --scope national "
		   "--date 2024-01-01"));
	m.year = 2020;
	r2.key = "2403/measure/N00401/2020/T";
	req.body_case = UCR__REQUEST__BODY_PUT;
	req.put = &put2;
	rc = nf_request(&rep, &req, 5000);
	cr_assert_eq(rc, 0);
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	cr_assert_eq(rep->last_seq, 3);
	ucr__reply__free_unpacked(rep, NULL);
	free(nf_ok("verify"));
	cr_assert_eq(nf_stop(SIGTERM), 0, "the daemon did not survive");
	log = nf_log();
	cr_assert(strstr(log, "refused request") != NULL, "%s", log);
	free(log);
}

/* ---------------------------------------------------------------- help */

Test(node, help_and_docs)
{
	static const char *const cmds[] = {"baseline", "target", "measure",
	    "project", "group", "meeting", "network", "decision", "delete",
	    "import", "export", "kolada", "show", "log", "status", "plan",
	    "cycle", "report", "explain", "digest", "peers", "roster", "vision",
	    "priority", "goal", "keygen", "verify", "forks", "help",
	    "indicator", "history", "programme", "commitments"};
	char *out = NULL, *err = NULL, *md, *man, *man8, want[64], path[600];
	size_t i;
	int rc;

	rc = tu_run(&out, NULL, "ucr --help");
	cr_assert_eq(rc, 0);
	snprintf(path, sizeof(path), "%s/docs/cli.md", UCR_SOURCE_DIR);
	md = tu_read(path);
	snprintf(path, sizeof(path), "%s/docs/ucr.1", UCR_SOURCE_DIR);
	man = tu_read(path);
	snprintf(path, sizeof(path), "%s/docs/ucr-node.8", UCR_SOURCE_DIR);
	man8 = tu_read(path);
	cr_assert_not_null(md, "docs/cli.md missing");
	cr_assert_not_null(man, "docs/ucr.1 missing");
	cr_assert_not_null(man8, "docs/ucr-node.8 missing");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char *o1 = NULL, *o2 = NULL;

		snprintf(want, sizeof(want), "\n  %s ", cmds[i]);
		cr_expect(strstr(out, want) != NULL, "ucr --help lacks %s",
		    cmds[i]);
		cr_assert_eq(tu_run(&o1, NULL, "ucr help %s", cmds[i]), 0);
		snprintf(want, sizeof(want), "usage: ucr %s", cmds[i]);
		cr_expect(strncmp(o1, want, strlen(want)) == 0, "%s", o1);
		if (strcmp(cmds[i], "help") != 0) {
			cr_assert_eq(tu_run(&o2, NULL, "ucr %s --help",
					 cmds[i]),
			    0);
			cr_expect_str_eq(o1, o2);
		}
		snprintf(want, sizeof(want), "ucr %s", cmds[i]);
		cr_expect(strstr(md, want) != NULL, "docs/cli.md lacks %s",
		    cmds[i]);
		snprintf(want, sizeof(want), "\\fB%s\\fR", cmds[i]);
		cr_expect(strstr(man, want) != NULL, "docs/ucr.1 lacks %s",
		    cmds[i]);
		free(o1);
		free(o2);
	}
	cr_expect(strstr(man8, "configuration OK") != NULL);
	free(md);
	free(man);
	free(man8);
	free(out);
	rc = tu_run(NULL, &err, "ucr help nosuch");
	cr_assert_eq(rc, 2);
	cr_assert(strstr(err, "nosuch") != NULL, "%s", err);
	free(err);
	cr_assert_eq(tu_run(NULL, NULL, "ucr nosuch"), 2);
	cr_assert_eq(tu_run(NULL, NULL, "ucr target frobnicate T1"), 2);
	cr_assert_eq(tu_run(NULL, NULL, "ucr target add T1 --colour x"), 2);
}
