/*
 * test_import.c: cli/import.c: the demo files, the formats, and every way
 * a row can be refused, all or nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "error.h"
#include "import.h"
#include "record.h"
#include "testutil.h"

#ifndef UCR_SOURCE_DIR
#define UCR_SOURCE_DIR "."
#endif
#define DEMO UCR_SOURCE_DIR "/deploy/demo/"

static char *dir;
static struct import_set set;
static char why[1024];

static void
setup(void)
{
	dir = tu_tempdir();
	cr_assert_not_null(dir);
	memset(&set, 0, sizeof(set));
	why[0] = '\0';
}

static void
teardown(void)
{
	import_free(&set);
	tu_rmrf(dir);
	free(dir);
}

TestSuite(import, .init = setup, .fini = teardown, .timeout = 60);

/* Write name (in the temp folder) with content and import it. */
static int
load_text(const char *name, const char *content, const char *owner, int kolada)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cr_assert_eq(tu_write(path, content), 0);
	import_free(&set);
	return import_load(&set, path, kolada, owner, why, sizeof(why), NULL,
	    NULL);
}

static int
load_demo(const char *name, const char *owner, int kolada)
{
	import_free(&set);
	return import_load(&set, name, kolada, owner, why, sizeof(why), NULL,
	    NULL);
}

static Ucr__Record *
find(const struct import_set *s, const char *key)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->puts[i].record->key, key) == 0)
			return s->puts[i].record;
	return NULL;
}

static size_t
count_kind(const struct import_set *s, Ucr__Record__BodyCase c)
{
	size_t i, n = 0;

	for (i = 0; i < s->n; i++)
		n += s->puts[i].record->body_case == c;
	return n;
}

static void
assert_dec(const Ucr__Decimal *d, long long units, unsigned scale)
{
	cr_assert_not_null(d);
	cr_assert_eq(d->units, units, "units %lld, want %lld",
	    (long long)d->units, units);
	cr_assert_eq(d->scale, scale, "scale %u, want %u", d->scale, scale);
}

static void
assert_why(int rc, int want, const char *part)
{
	cr_assert_eq(rc, want, "rc %d (%s), want %d; why: %s", rc,
	    ucr_strerror(rc), want, why);
	cr_assert(strstr(why, part) != NULL, "why '%s' lacks '%s'", why, part);
	/* All or nothing: a refused file leaves nothing to send. */
	cr_assert_eq(set.n, 0);
	cr_assert_null(set.puts);
}

/* A file refused whole as invalid, with part in the reason. */
static void
refused(const char *name, const char *content, const char *owner,
    const char *part)
{
	assert_why(load_text(name, content, owner, 0), UCR_EINVAL, part);
}

static int
balanced(const Ucr__Meeting *m)
{
	unsigned t = m->women + m->men;

	return t > 0 && m->women * 10 >= t * 4 && m->women * 10 <= t * 6;
}

/* ------------------------------------------------------------ demo */

Test(import, demo_region)
{
	Ucr__Record *r;
	size_t i, workshops = 0, intl = 0;
	char key[64];

	cr_assert_eq(load_demo(DEMO "region.json", UCR_REGION, 0), 0, "%s",
	    why);
	cr_assert_eq(set.n, 21);
	cr_assert_eq(set.rows, 21, "comments are not rows");
	r = find(&set, "region/vision/vision");
	cr_assert_not_null(r);
	cr_assert_eq(r->vision->year, 2050);
	cr_assert(strstr(r->vision->text, "quarter of a million") != NULL);
	for (i = 1; i <= 5; i++) {
		snprintf(key, sizeof(key), "region/priority/P%zu", i);
		cr_assert_not_null(r = find(&set, key), "%s", key);
		cr_assert_str_eq(r->priority->title,
		    ucr_priority_titles[i - 1]);
	}
	r = find(&set, "region/goal/A1");
	cr_assert_not_null(r);
	assert_dec(r->goal->threshold, 10, 0);
	for (i = 0; i < set.n; i++) {
		r = set.puts[i].record;
		if (r->body_case == UCR__RECORD__BODY_MEETING) {
			cr_assert_eq(r->meeting->kind,
			    UCR__MEETING_KIND__MEETING_WORKSHOP);
			cr_assert(balanced(r->meeting), "%s unbalanced",
			    r->key);
			workshops++;
		}
		if (r->body_case == UCR__RECORD__BODY_NETWORK) {
			cr_assert(r->network->new_in_programme);
			intl += r->network->scope ==
			    UCR__SCOPE__SCOPE_INTERNATIONAL;
		}
	}
	cr_assert_eq(workshops, 3);
	cr_assert_eq(count_kind(&set, UCR__RECORD__BODY_NETWORK), 5);
	cr_assert_eq(intl, 1, "only CIVITAS is international");
	cr_assert_not_null(r = find(&set, "region/network/civitas"));
	cr_assert_eq(r->network->scope, UCR__SCOPE__SCOPE_INTERNATIONAL);

	/* The Regional Council's decision comes last, adopting the plan. */
	r = set.puts[set.n - 1].record;
	cr_assert_str_eq(r->key, "region/decision/regional-plan");
	cr_assert_eq(r->decision->body, UCR__BODY__BODY_REGIONAL_COUNCIL);
	cr_assert_eq(r->decision->subject, UCR__SUBJECT__SUBJECT_REGIONAL_PLAN);
	cr_assert_eq(set.puts[set.n - 1].nadopt, 6);
	cr_assert_str_eq(set.puts[set.n - 1].adopt_keys[0],
	    "region/vision/vision");
	cr_assert_str_eq(set.puts[set.n - 1].adopt_keys[5],
	    "region/priority/P5");
	for (i = 0; i < set.n; i++)
		cr_assert_eq(set.puts[i].mode, UCR_PUT_UPSERT);
}

static const char *const codes[] = {"2480", "2403", "2401", "2409", "2404",
    "2460"};

Test(import, demo_municipalities)
{
	char path[256], key[64];
	size_t i, j, groups = 0, leads = 0, targets, meetings = 0;
	Ucr__Record *r;
	const struct ucr_put *last;

	for (i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), DEMO "%s.json", codes[i]);
		cr_assert_eq(load_demo(path, codes[i], 0), 0, "%s", why);
		if (strcmp(codes[i], "2480") == 0)
			cr_assert_eq(count_kind(&set,
					 UCR__RECORD__BODY_BASELINE),
			    50);
		else
			cr_assert_geq(count_kind(&set,
					  UCR__RECORD__BODY_BASELINE),
			    30);
		targets = count_kind(&set, UCR__RECORD__BODY_TARGET);
		cr_assert(targets >= 3 && targets <= 6, "%s: %zu targets",
		    codes[i], targets);
		cr_assert_geq(count_kind(&set, UCR__RECORD__BODY_MEASUREMENT),
		    4 * targets);
		groups += count_kind(&set, UCR__RECORD__BODY_GROUP);
		cr_assert_eq(count_kind(&set, UCR__RECORD__BODY_PROJECT), 1);
		for (j = 0; j < set.n; j++) {
			r = set.puts[j].record;
			cr_assert_str_eq(r->owner, codes[i]);
			if (r->body_case == UCR__RECORD__BODY_PROJECT) {
				cr_assert_str_eq(r->project->lead, codes[i]);
				cr_assert(r->project->counts_for_programme);
				leads++;
			}
			if (r->body_case == UCR__RECORD__BODY_MEETING) {
				cr_assert(balanced(r->meeting), "%s", r->key);
				cr_assert_neq(*r->meeting->group, '\0');
				meetings++;
			}
			if (r->body_case == UCR__RECORD__BODY_TARGET) {
				cr_assert_neq(*r->target->indicator, '\0');
				cr_assert_not_null(r->target->target_value);
			}
		}
		/* The board adopts the local plan: every target. */
		last = &set.puts[set.n - 1];
		cr_assert_eq(last->record->body_case,
		    UCR__RECORD__BODY_DECISION);
		cr_assert_eq(last->record->decision->body,
		    UCR__BODY__BODY_BOARD);
		cr_assert_eq(last->record->decision->subject,
		    UCR__SUBJECT__SUBJECT_LOCAL_PLAN);
		cr_assert_eq(last->nadopt, targets);
		for (j = 0; j < targets; j++) {
			snprintf(key, sizeof(key), "%s/target/T%zu", codes[i],
			    j + 1);
			cr_assert_str_eq(last->adopt_keys[j], key);
			cr_assert_not_null(find(&set, key));
		}
	}
	cr_assert_geq(groups, 10);
	cr_assert_eq(leads, 6, "each municipality leads one project");
	cr_assert_geq(meetings, 10);
}

Test(import, demo_values)
{
	Ucr__Record *r;

	cr_assert_eq(load_demo(DEMO "2403.json", "2403", 0), 0, "%s", why);
	r = find(&set, "2403/target/T1");
	cr_assert_not_null(r);
	cr_assert_str_eq(r->target->indicator, "N00401");
	cr_assert_eq(r->target->n_commitments, 2);
	cr_assert_str_eq(r->target->commitments[0], "10.1");
	cr_assert_str_eq(r->target->priorities[0], "P4");
	assert_dec(r->target->baseline_value, 98, 1);
	cr_assert_eq(r->target->baseline_year, 2008);
	assert_dec(r->target->target_value, 60, 1);
	cr_assert_eq(r->target->target_year, 2030);
	cr_assert_eq(r->target->direction, UCR__DIRECTION__DIRECTION_DECREASE);
	r = find(&set, "2403/baseline/1.3");
	cr_assert_not_null(r);
	cr_assert_str_eq(r->baseline->commitment, "1.3");
	cr_assert(strncmp(r->baseline->text, "[sample]", 8) == 0);
	cr_assert_eq(r->baseline->n_indicators, 1);
	cr_assert_str_eq(r->baseline->indicators[0]->indicator, "N05401");
	r = find(&set, "2403/measure/N00401/2023/T");
	cr_assert_not_null(r);
	cr_assert_eq(r->measurement->status,
	    UCR__MEASURE_STATUS__MEASURE_MISSING);
	cr_assert_null(r->measurement->value);
	r = find(&set, "2403/measure/N00914/2022/K");
	cr_assert_not_null(r, "gender-split values");
	cr_assert_eq(r->measurement->gender, UCR__GENDER__GENDER_K);
	cr_assert_str_eq(r->measurement->area, "2403");
	r = find(&set, "2403/measure/N00401/2022/T");
	cr_assert_eq(r->measurement->status,
	    UCR__MEASURE_STATUS__MEASURE_PRELIMINARY);
}

Test(import, demo_kolada)
{
	Ucr__Record *r;

	cr_assert_eq(load_demo(DEMO "kolada-sample.json", "2403", 1), 0, "%s",
	    why);
	cr_assert_eq(set.rows, 30);
	cr_assert_eq(set.skipped_other, 26);
	cr_assert_eq(set.n, 8);
	r = find(&set, "2403/measure/N07702/2021/T");
	cr_assert_not_null(r);
	cr_assert_eq(r->measurement->status,
	    UCR__MEASURE_STATUS__MEASURE_MISSING);
	cr_assert_null(r->measurement->value);
	r = find(&set, "2403/measure/N07702/2020/T");
	assert_dec(r->measurement->value, 218907, 1);
	r = find(&set, "2403/measure/N01951/2021/M");
	cr_assert_not_null(r, "a period given as a string");
	cr_assert_eq(r->measurement->year, 2021);
}

/* The CSV examples hold the same records as the JSON demo files. */
Test(import, demo_csv_matches_json)
{
	static const struct {
		const char *file, *owner, *json, *key;
		size_t n;
	} ex[] = {
	    {"target", "2403", "2403.json", "2403/target/T2", 4},
	    {"project", "2403", "2403.json", "2403/project/gender-change", 1},
	    {"group", "2403", "2403.json", "2403/group/gender-equality", 1},
	    {"meeting", "2403", "2403.json", "2403/meeting/M1", 3},
	    {"decision", "2403", "2403.json", "2403/decision/local-plan", 1},
	    {"baseline", "2403", "2403.json", "2403/baseline/1.3", 6},
	    {"measure", "2403", "2403.json", "2403/measure/N00401/2023/T", 21},
	    {"network", "region", "region.json", "region/network/sis-tk-522",
		5},
	    {"vision", "region", "region.json", "region/vision/vision", 1},
	    {"priority", "region", "region.json", "region/priority/P3", 5},
	    {"goal", "region", "region.json", "region/goal/R3", 6},
	    {"goal", "region", "region.json", "region/goal/A3", 6},
	    {"goal", "region", "region.json", "region/goal/R1", 6},
	};
	struct import_set js;
	uint8_t *a, *b;
	size_t la, lb, i;
	char path[256];

	for (i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		snprintf(path, sizeof(path), DEMO "%s", ex[i].json);
		cr_assert_eq(import_load(&js, path, 0, ex[i].owner, why,
				 sizeof(why), NULL, NULL),
		    0, "%s", why);
		snprintf(path, sizeof(path), DEMO "csv/%s.csv", ex[i].file);
		cr_assert_eq(load_demo(path, ex[i].owner, 0), 0, "%s", why);
		cr_assert_eq(set.n, ex[i].n, "%s: %zu records", path, set.n);
		cr_assert_not_null(find(&set, ex[i].key), "%s", ex[i].key);
		cr_assert_not_null(find(&js, ex[i].key), "%s", ex[i].key);
		cr_assert_eq(ucr_record_encode(&a, &la, find(&set, ex[i].key)),
		    0);
		cr_assert_eq(ucr_record_encode(&b, &lb, find(&js, ex[i].key)),
		    0);
		cr_assert(la == lb && memcmp(a, b, la) == 0,
		    "%s differs between CSV and JSON", ex[i].key);
		free(a);
		free(b);
		import_free(&js);
	}
	cr_assert_eq(load_demo(DEMO "csv/decision.csv", "2403", 0), 0);
	cr_assert_eq(set.puts[0].nadopt, 4);
	cr_assert_str_eq(set.puts[0].adopt_keys[3], "2403/target/T4");
}

/* ------------------------------------------------------------ refusals */

#define TARGET_OK                                                    \
	"{\"kind\": \"target\", \"id\": \"T%d\", \"title\": \"t\", " \
	"\"commitments\": [\"3.1\"], \"priorities\": [\"P4\"]}"

Test(import, all_or_nothing_json)
{
	refused("bad.json",
	    "[\n"
	    "{\"kind\": \"target\", \"id\": \"T1\", \"title\": \"one\", "
	    "\"commitments\": [\"3.1\"], \"priorities\": [\"P4\"]},\n"
	    "{\"kind\": \"comment\", \"text\": \"anything\"},\n"
	    "{\"kind\": \"measure\", \"indicator\": \"N00401\", "
	    "\"year\": 2020, \"value\": \"4.5\"},\n"
	    "{\"kind\": \"measure\", \"indicator\": \"N00401\", \"year\": "
	    "\"twenty\", \"value\": \"4.5\"}\n]\n",
	    "2403",
	    "bad.json:row 4: field 'year': "
	    "'twenty' is not a number");
	cr_assert_eq(set.rows, 0);
}

Test(import, all_or_nothing_csv)
{
	refused("bad.csv",
	    "kind,indicator,year,value\n"
	    "measure,N00401,2020,4.5\n"
	    "measure,N00401,2021,\"4,6\"\n",
	    "2403",
	    "bad.csv:row 3: field 'value': '4,6' is "
	    "not a decimal number (write 4.5, not 4,5)");
}

Test(import, unknown_field)
{
	refused("u.json",
	    "[{\"kind\": \"network\", \"id\": \"n\", "
	    "\"name\": \"x\", \"scope\": \"national\", \"joined\": "
	    "\"2009-01-01\", \"colour\": \"red\"}]",
	    "2403",
	    "u.json:row 1: field 'colour': unknown "
	    "field for kind 'network'");
	refused("u.json",
	    "[{\"kind\": \"target\", \"id\": \"T1\", "
	    "\"title\": \"t\", \"commitments\": [\"3.1\"], \"priorities\": "
	    "[\"P4\"], \"baseline\": {\"value\": \"1\", \"yaer\": 2008}}]",
	    "2403", "field 'baseline.yaer': unknown field");
	refused("u.json",
	    "[{\"kind\": \"measure\", \"id\": \"m1\", "
	    "\"indicator\": \"N00401\", \"year\": 2020, \"value\": 1}]",
	    "2403", "field 'id': a measurement has no id");
	refused("u.csv", "kind,id,colour\ngroup,g,red\n", "2403",
	    "u.csv:row 1: field 'colour': unknown "
	    "column");
	/* A column another kind has, filled in on this kind's row. */
	refused("u.csv", "kind,id,name,women\ngroup,g,G,4\n", "2403",
	    "u.csv:row 2: field 'women': unknown "
	    "field for kind 'group'");
}

Test(import, bad_commitment)
{
	refused("c.json",
	    "[{\"kind\": \"target\", \"id\": \"T1\", "
	    "\"title\": \"t\", \"commitments\": [\"3.1\", \"11.1\"], "
	    "\"priorities\": [\"P4\"]}]",
	    "2403",
	    "c.json:row 1: field 'commitments': "
	    "unknown Aalborg commitment '11.1'");
	refused("c.json",
	    "[{\"kind\": \"baseline\", \"id\": \"3.6\", "
	    "\"text\": \"x\"}]",
	    "2403",
	    "field 'id': unknown Aalborg commitment "
	    "'3.6'");
	refused("c.json",
	    "[{\"kind\": \"target\", \"id\": \"T1\", "
	    "\"title\": \"t\", \"commitments\": [\"3.1\"], "
	    "\"priorities\": [\"P6\"]}]",
	    "2403", "field 'priorities': unknown priority");
}

Test(import, negative_count)
{
	refused("m.json",
	    "[{\"kind\": \"meeting\", \"id\": \"M1\", "
	    "\"type\": \"workshop\", \"date\": \"2009-05-20\", \"women\": -3, "
	    "\"men\": 4}]",
	    "region",
	    "m.json:row 1: field 'women': must not be "
	    "negative");
	refused("m.csv",
	    "kind,id,type,date,women,men\n"
	    "meeting,M1,workshop,2009-05-20,3,-4\n",
	    "region",
	    "m.csv:row 2: field 'men': must not be "
	    "negative");
}

Test(import, bad_date)
{
	refused("d.json",
	    "[{\"kind\": \"decision\", \"id\": \"d\", "
	    "\"body\": \"board\", \"date\": \"2010-02-30\", \"subject\": "
	    "\"local-plan\", \"ref\": \"KS 1\"}]",
	    "2403", "field 'date': '2010-02-30' is not a date");
	refused("d.json",
	    "[{\"kind\": \"project\", \"id\": \"p\", "
	    "\"title\": \"p\", \"start\": \"2010-01-01\", \"end\": "
	    "\"2009-12-31\"}]",
	    "2403", "field 'end': 2009-12-31 is before start");
}

Test(import, year_out_of_range)
{
	refused("y.json",
	    "[{\"kind\": \"measure\", \"indicator\": "
	    "\"N00401\", \"year\": 1850, \"value\": \"1\"}]",
	    "2403", "field 'year': 1850 is outside 1900-2100");
	refused("y.json",
	    "[{\"kind\": \"target\", \"id\": \"T1\", "
	    "\"title\": \"t\", \"commitments\": [\"3.1\"], \"priorities\": "
	    "[\"P4\"], \"target\": {\"value\": \"1\", \"year\": 2101}, "
	    "\"direction\": \"increase\"}]",
	    "2403", "field 'target.year': 2101 is outside");
	refused("y.csv",
	    "kind,id,title,commitments,priorities,"
	    "baseline_value,baseline_year\n"
	    "target,T1,t,3.1,P4,5,99999\n",
	    "2403", "y.csv:row 2: field 'baseline_year'");
}

Test(import, kolada_null_is_missing)
{
	Ucr__Record *r;
	int rc = load_text("k.json",
	    "{\"values\": ["
	    "{\"kpi\": \"N00401\", \"municipality\": \"2403\", "
	    "\"period\": 2020, \"values\": ["
	    "{\"gender\": \"T\", \"status\": \"\", \"value\": null, "
	    "\"count\": 0}, "
	    "{\"gender\": \"K\", \"status\": \"\", \"value\": 0, "
	    "\"count\": 1}, "
	    "{\"gender\": \"M\", \"status\": \"\", \"value\": 4.35, "
	    "\"count\": 1}]}], \"count\": 1, \"next_page\": null}",
	    "2403", 1);

	cr_assert_eq(rc, 0, "%s", why);
	cr_assert_eq(set.n, 3);
	r = find(&set, "2403/measure/N00401/2020/T");
	cr_assert_not_null(r);
	cr_assert_eq(r->measurement->status,
	    UCR__MEASURE_STATUS__MEASURE_MISSING);
	cr_assert_null(r->measurement->value, "a null is no value, not 0");
	r = find(&set, "2403/measure/N00401/2020/K");
	cr_assert_eq(r->measurement->status,
	    UCR__MEASURE_STATUS__MEASURE_FINAL);
	assert_dec(r->measurement->value, 0, 0);
	r = find(&set, "2403/measure/N00401/2020/M");
	assert_dec(r->measurement->value, 435, 2);
	cr_assert_str_eq(r->measurement->area, "2403");
}

Test(import, kolada_other_municipalities_skipped)
{
	int rc = load_text("k.json",
	    "{\"count\": 4, \"values\": ["
	    "{\"kpi\": \"N00401\", \"municipality\": \"2480\", "
	    "\"period\": 2020, \"values\": [{\"gender\": \"T\", "
	    "\"value\": 3.9}]},"
	    "{\"kpi\": \"N00401\", \"municipality\": \"0024\", "
	    "\"period\": 2020, \"values\": [{\"gender\": \"T\", "
	    "\"value\": 6.1}]},"
	    "{\"kpi\": \"N00401\", \"municipality\": \"2403\", \"period\": "
	    "\"2021\", \"values\": [{\"gender\": \"T\", \"value\": 8.7}]},"
	    "{\"kpi\": \"N00401\", \"municipality\": \"1860\", "
	    "\"period\": 2020, \"values\": [{\"gender\": \"X\", "
	    "\"value\": \"bad\"}]}]}",
	    "2403", 1);

	cr_assert_eq(rc, 0, "%s", why);
	cr_assert_eq(set.rows, 4);
	cr_assert_eq(set.skipped_other, 3);
	cr_assert_eq(set.n, 1);
	cr_assert_not_null(find(&set, "2403/measure/N00401/2021/T"));
	/* A bad value of our own municipality fails the whole file. */
	rc = load_text("k.json",
	    "{\"values\": ["
	    "{\"kpi\": \"N00401\", \"municipality\": \"2403\", "
	    "\"period\": 2020, \"values\": [{\"gender\": \"T\", "
	    "\"value\": 1}, {\"gender\": \"T\", \"value\": true}]}]}",
	    "2403", 1);
	assert_why(rc, UCR_EINVAL,
	    "k.json:row 1: field 'values[2].value': "
	    "not a number");
	rc = load_text("k.json", "{\"values\": []}", "region", 1);
	assert_why(rc, UCR_EINVAL, "region hub");
}

Test(import, csv_quoted_commas)
{
	Ucr__Record *r;
	int rc = load_text("g.csv",
	    "\xef\xbb\xbfkind,id,name,priorities,members,theme\n"
	    "comment,\"any, text\",,,,\n"
	    "group,G1,\"Nature, forestry and \"\"outdoor\"\" life\",P1; P5,"
	    "2403;2404,\"line one\nline two\"\n"
	    ",,,,,\n"
	    "group,G2,Second,,,\n",
	    "2403", 0);

	cr_assert_eq(rc, 0, "%s", why);
	cr_assert_eq(set.n, 2);
	cr_assert_eq(set.rows, 2);
	r = find(&set, "2403/group/G1");
	cr_assert_not_null(r);
	cr_assert_str_eq(r->group->name,
	    "Nature, forestry and \"outdoor\" life");
	cr_assert_eq(r->group->n_priorities, 2);
	cr_assert_str_eq(r->group->priorities[1], "P5");
	cr_assert_eq(r->group->n_members, 2);
	cr_assert_str_eq(r->group->theme, "line one\nline two");
	/* The quoted newline does not shift row numbers. */
	refused("g.csv",
	    "kind,id,name\n"
	    "group,G1,\"a\nb\"\n"
	    "group,G2,\n",
	    "2403", "g.csv:row 3: field 'name': required");
}

Test(import, malformed_json)
{
	refused("m.json", "[\n{\"kind\": \"target\",\n]\n", "2403",
	    "m.json:line 3: malformed JSON");
	refused("m.json", "{\"kind\": \"target\"}", "2403", "not a JSON array");
	refused("m.json",
	    "[{\"kind\": \"group\", \"id\": \"a\", "
	    "\"id\": \"b\", \"name\": \"x\"}]",
	    "2403", "malformed JSON");
	refused("m.json", "[42]", "2403", "m.json:row 1: not an object");
}

Test(import, malformed_csv)
{
	refused("m.csv", "kind,id,name\ngroup,G1,\"open\n", "2403",
	    "m.csv:row 2: malformed CSV");
	refused("m.csv", "kind,id,name\ngroup,G1,x,extra\n", "2403",
	    "m.csv:row 2: 4 cells, but the header "
	    "has 3");
	refused("m.csv", "id,name\nG1,x\n", "2403", "'kind' column");
	refused("m.csv", "", "2403", "empty file");
}

Test(import, decimals_keep_their_text)
{
	Ucr__Record *r;
	int rc = load_text("d.json",
	    "["
	    "{\"kind\": \"measure\", \"indicator\": \"A1\", \"year\": 2020, "
	    "\"value\": 4.35},"
	    "{\"kind\": \"measure\", \"indicator\": \"A2\", \"year\": 2020, "
	    "\"value\": \"12.50\"},"
	    "{\"kind\": \"measure\", \"indicator\": \"A3\", \"year\": 2020, "
	    "\"value\": 0.1},"
	    "{\"kind\": \"measure\", \"indicator\": \"A4\", \"year\": 2020, "
	    "\"value\": -1e3},"
	    "{\"kind\": \"measure\", \"indicator\": \"A5\", \"year\": 2020, "
	    "\"value\": 0.000123},"
	    "{\"kind\": \"measure\", \"indicator\": \"A6\", \"year\": 2020, "
	    "\"value\": 123456789012345}]",
	    "2403", 0);

	cr_assert_eq(rc, 0, "%s", why);
	assert_dec(find(&set, "2403/measure/A1/2020/T")->measurement->value,
	    435, 2);
	assert_dec(find(&set, "2403/measure/A2/2020/T")->measurement->value,
	    1250, 2);
	assert_dec(find(&set, "2403/measure/A3/2020/T")->measurement->value, 1,
	    1);
	assert_dec(find(&set, "2403/measure/A4/2020/T")->measurement->value,
	    -1000, 0);
	assert_dec(find(&set, "2403/measure/A5/2020/T")->measurement->value,
	    123, 6);
	r = find(&set, "2403/measure/A6/2020/T");
	assert_dec(r->measurement->value, 123456789012345LL, 0);
	refused("d.json",
	    "[{\"kind\": \"measure\", \"indicator\": "
	    "\"A1\", \"year\": 2020, \"value\": 0.12345678901234567}]",
	    "2403", "give the number as a string");
}

Test(import, measurement_value_rules)
{
	int rc;

	refused("v.json",
	    "[{\"kind\": \"measure\", \"indicator\": "
	    "\"N00401\", \"year\": 2020, \"value\": null, \"status\": "
	    "\"final\"}]",
	    "2403",
	    "field 'value': required unless status is "
	    "missing");
	refused("v.json",
	    "[{\"kind\": \"measure\", \"indicator\": "
	    "\"N00401\", \"year\": 2020, \"value\": 2, \"status\": "
	    "\"missing\"}]",
	    "2403", "field 'status': 'missing' with a value");
	refused("v.json",
	    "[{\"kind\": \"measure\", \"indicator\": "
	    "\"N00401\", \"year\": 2020, \"value\": 2, \"area\": \"0999\"}]",
	    "2403", "field 'area': unknown municipality code");
	/* any of Sweden's 290 is a code, as for the records themselves (a
	   member beyond the six: Örnsköldsvik) */
	rc = load_text("v.json",
	    "[{\"kind\": \"measure\", \"indicator\": "
	    "\"N00401\", \"year\": 2020, \"value\": 2, \"area\": \"2284\"}]",
	    "2403", 0);
	cr_assert_eq(rc, 0, "2284 is one of the 290");
}

Test(import, owner_and_kind_rules)
{
	refused("o.json",
	    "[{\"kind\": \"comment\", \"owner\": "
	    "\"2480\"}, "
	    "{\"kind\": \"group\", \"id\": \"g\", \"name\": "
	    "\"x\"}]",
	    "2403",
	    "o.json:row 1: field 'owner': this file is "
	    "for '2480'");
	refused("o.json",
	    "[{\"kind\": \"priority\", \"id\": \"P1\", "
	    "\"title\": \"x\"}]",
	    "2403",
	    "field 'kind': priority records are "
	    "written only by the region");
	refused("o.json",
	    "[{\"kind\": \"target\", \"id\": \"T1\", "
	    "\"title\": \"x\", \"commitments\": [\"3.1\"], \"priorities\": "
	    "[\"P1\"]}]",
	    "region", "target records belong to a municipality");
	refused("o.json", "[{\"kind\": \"roster\", \"id\": \"x\"}]", "region",
	    "'roster' records are not imported");
	refused("o.json", "[{\"kind\": \"widget\", \"id\": \"x\"}]", "2403",
	    "field 'kind': unknown kind 'widget'");
	refused("o.json",
	    "[{\"kind\": \"group\", \"id\": \"a b\", "
	    "\"name\": \"x\"}]",
	    "2403", "field 'id': 'a b' is not an id");
	refused("o.json",
	    "[{\"kind\": \"decision\", \"id\": \"d\", "
	    "\"body\": \"regional-council\", \"date\": \"2010-01-01\", "
	    "\"subject\": \"local-plan\", \"ref\": \"x\"}]",
	    "2403",
	    "field 'body': a municipality records "
	    "board or council decisions");
	refused("o.json",
	    "[{\"kind\": \"network\", \"id\": \"n\", "
	    "\"name\": \"x\", \"scope\": \"global\", \"joined\": "
	    "\"2009-01-01\"}]",
	    "2403",
	    "field 'scope': unknown value 'global' "
	    "(one of: national, international)");
}

Test(import, duplicate_key)
{
	char doc[512];

	snprintf(doc, sizeof(doc),
	    "[" TARGET_OK ", " TARGET_OK ", " TARGET_OK "]", 1, 2, 1);
	refused("dup.json", doc, "2403",
	    "dup.json:row 3: key '2403/target/T1' is "
	    "also at ");
}

Test(import, decisions_go_last)
{
	char doc[1024];
	int rc;

	snprintf(doc, sizeof(doc),
	    "[{\"kind\": \"decision\", \"id\": \"d\", "
	    "\"body\": \"board\", \"date\": \"2010-01-01\", \"subject\": "
	    "\"targets\", \"ref\": \"KS 1\", \"adopts\": [\"target/T1\", "
	    "\"2480/target/T9\", \"measure/N00401/2020/T\"]}, " TARGET_OK "]",
	    1);
	rc = load_text("o.json", doc, "2403", 0);
	cr_assert_eq(rc, 0, "%s", why);
	cr_assert_eq(set.n, 2);
	cr_assert_str_eq(set.puts[0].record->key, "2403/target/T1");
	cr_assert_str_eq(set.puts[1].record->key, "2403/decision/d");
	cr_assert_eq(set.row[1], 1, "rows follow their records");
	cr_assert_eq(set.puts[1].nadopt, 3);
	cr_assert_str_eq(set.puts[1].adopt_keys[0], "2403/target/T1");
	cr_assert_str_eq(set.puts[1].adopt_keys[1], "2480/target/T9");
	cr_assert_str_eq(set.puts[1].adopt_keys[2],
	    "2403/measure/N00401/2020/T");
	refused("o.json",
	    "[{\"kind\": \"decision\", \"id\": \"d\", "
	    "\"body\": \"board\", \"date\": \"2010-01-01\", \"subject\": "
	    "\"targets\", \"ref\": \"KS 1\", \"adopts\": [\"T1\"]}]",
	    "2403", "field 'adopts': 'T1' is not a record key");
}

static size_t calls, last_rows;

static void
progress(size_t rows, void *ctx)
{
	cr_assert_eq(ctx, &calls);
	calls++;
	last_rows = rows;
}

Test(import, progress_every_thousand_rows)
{
	char path[1024];
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "%s/many.csv", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "kind,indicator,year,value\n");
	for (i = 0; i < 2500; i++)
		fprintf(f, "measure,K%d,2020,%d.5\n", i, i);
	fclose(f);
	cr_assert_eq(import_load(&set, path, 0, "2403", why, sizeof(why),
			 progress, &calls),
	    0, "%s", why);
	cr_assert_eq(set.n, 2500);
	cr_assert_eq(calls, 2);
	cr_assert_eq(last_rows, 2000);
}

Test(import, file_errors)
{
	char path[1024];
	int rc;

	snprintf(path, sizeof(path), "%s/none.json", dir);
	rc = import_load(&set, path, 0, "2403", why, sizeof(why), NULL, NULL);
	assert_why(rc, UCR_EIO, "none.json: No such file");
	refused("data.txt", "[]", "2403", "unknown file type");
	refused("ok.json", "[]", "9999", "owner '9999'");
	rc = load_text("OK.JSON", "[]", "2403", 0);
	cr_assert_eq(rc, 0, "%s", why);
	cr_assert_eq(set.n, 0);
}

/* What only the record validator checks comes back as UCR_ESCHEMA. */
Test(import, validator_refusal)
{
	char *doc;
	size_t n = 9000;
	int rc;

	doc = malloc(n + 128);
	cr_assert_not_null(doc);
	strcpy(doc, "[{\"kind\": \"baseline\", \"id\": \"3.1\", \"text\": \"");
	memset(doc + strlen(doc), 'x', n);
	strcpy(doc +
		strlen("[{\"kind\": \"baseline\", \"id\": \"3.1\", "
		       "\"text\": \"") +
		n,
	    "\"}]");
	rc = load_text("long.json", doc, "2403", 0);
	free(doc);
	assert_why(rc, UCR_ESCHEMA, "long.json:row 1: field 'text': ");
}

/* ------------------------------------------------------------ CSV header */

/* What a header says is learnt once; the columns' order does not matter. */
Test(import, csv_columns_in_any_order)
{
	struct import_set first;
	size_t i;
	int rc;

	rc = load_text("a.csv",
	    "kind,indicator,year,gender,value\n"
	    "measure,N00401,2020,T,4.5\n"
	    "measure,N00401,2021,K,5\n",
	    "2403", 0);
	cr_assert_eq(rc, 0, "%s", why);
	first = set;
	memset(&set, 0, sizeof(set));
	rc = load_text("b.csv",
	    "value,gender,year,kind,indicator\n"
	    "4.5,T,2020,measure,N00401\n"
	    "5,K,2021,measure,N00401\n",
	    "2403", 0);
	cr_assert_eq(rc, 0, "%s", why);
	cr_assert_eq(set.n, 2);
	cr_assert_eq(first.n, set.n);
	for (i = 0; i < set.n; i++) {
		const Ucr__Measurement *a = first.puts[i].record->measurement;
		const Ucr__Measurement *b = set.puts[i].record->measurement;

		cr_assert_str_eq(first.puts[i].record->key,
		    set.puts[i].record->key);
		cr_assert_str_eq(a->indicator, b->indicator);
		cr_assert_eq(a->year, b->year);
		cr_assert_eq(a->gender, b->gender);
		assert_dec(b->value, a->value->units, a->value->scale);
	}
	import_free(&first);
}

/*
 * One header over rows of several kinds: each kind's columns are worked
 * out on its first row, and a later row of the kind is still held to
 * them, refused on its own row and field.
 */
Test(import, csv_header_serves_each_kind)
{
	const char *head = "kind,id,name,indicator,year,value\n";
	const char *rows = "group,g1,G,,,\n"
			   "measure,,,N00401,2020,1\n"
			   "group,g2,H,,,\n"
			   "measure,,,N00401,2021,2\n";
	char doc[512];
	int rc;

	snprintf(doc, sizeof(doc), "%s%s", head, rows);
	rc = load_text("k.csv", doc, "2403", 0);
	cr_assert_eq(rc, 0, "%s", why);
	cr_assert_eq(count_kind(&set, UCR__RECORD__BODY_GROUP), 2);
	cr_assert_eq(count_kind(&set, UCR__RECORD__BODY_MEASUREMENT), 2);
	cr_assert_not_null(find(&set, "2403/group/g2"));

	snprintf(doc, sizeof(doc), "%s%sgroup,g3,I,N00401,,\n", head, rows);
	refused("k.csv", doc, "2403",
	    "k.csv:row 6: field 'indicator': unknown field for kind 'group'");
	snprintf(doc, sizeof(doc), "%s%smeasure,m,,N00401,2022,3\n", head,
	    rows);
	refused("k.csv", doc, "2403",
	    "k.csv:row 6: field 'id': a measurement has no id");
	/* The same file read as the region: refused on its first row. */
	snprintf(doc, sizeof(doc), "%s%s", head, rows);
	refused("k.csv", doc, "region",
	    "k.csv:row 3: field 'kind': measure records belong to a "
	    "municipality");
}

/* A long cell moves the row buffer; the next rows read as they should. */
Test(import, csv_long_cell_then_short_rows)
{
	size_t n = 20000, o;
	Ucr__Record *r;
	char *doc;
	int rc;

	doc = malloc(n + 256);
	cr_assert_not_null(doc);
	o = (size_t)sprintf(doc, "kind,id,name,theme\ncomment,");
	memset(doc + o, 'x', n);
	o += n;
	sprintf(doc + o, ",,\ngroup,G1,First,\ngroup,G2,,\n");
	rc = load_text("long.csv", doc, "2403", 0);
	assert_why(rc, UCR_EINVAL, "long.csv:row 4: field 'name': required");
	doc[strlen(doc) - strlen("group,G2,,\n")] = '\0';
	rc = load_text("long.csv", doc, "2403", 0);
	free(doc);
	cr_assert_eq(rc, 0, "%s", why);
	cr_assert_eq(set.n, 1);
	r = find(&set, "2403/group/G1");
	cr_assert_not_null(r);
	cr_assert_str_eq(r->group->name, "First");
}

/* ------------------------------------------------------------ duplicates */

/* Of several keys given twice, the first in key order is named. */
Test(import, duplicate_key_named_in_key_order)
{
	char doc[1024];

	snprintf(doc, sizeof(doc),
	    "[" TARGET_OK ", " TARGET_OK ", " TARGET_OK ", " TARGET_OK "]", 2,
	    1, 2, 1);
	refused("dup.json", doc, "2403",
	    "dup.json:row 4: key '2403/target/T1' is also at ");
	cr_assert(strstr(why, "dup.json:row 2") != NULL, "%s", why);
}

/* Many rows without a duplicate pass; one at the end is found. */
/*
 * The records' arena: a first record with a list larger than a quarter
 * of a block (a block of its own), then names of 1 to 256 bytes over
 * many blocks, each record whole and apart from the others.
 */
Test(import, arena_long_and_short_texts)
{
	size_t nind = 2500, n = 4000, i, o = 0, cap;
	char *doc, key[64];
	Ucr__Record *r;

	cap = 256 + nind * 96 + n * 400;
	doc = malloc(cap);
	cr_assert_not_null(doc);
	o += (size_t)sprintf(doc + o,
	    "[{\"kind\": \"baseline\", \"id\": \"1.1\", \"text\": \"t\", "
	    "\"indicators\": [");
	for (i = 0; i < nind; i++)
		o += (size_t)sprintf(doc + o,
		    "%s{\"indicator\": \"N%05zu\", \"value\": 1, \"year\": 2000}",
		    i ? "," : "", i);
	o += (size_t)sprintf(doc + o, "]}");
	for (i = 0; i < n; i++) {
		o += (size_t)sprintf(doc + o,
		    ",\n{\"kind\": \"group\", \"id\": \"G%zu\", \"name\": \"",
		    i);
		memset(doc + o, 'a' + (int)(i % 26), 1 + (i * 7919) % 256);
		o += 1 + (i * 7919) % 256;
		o += (size_t)sprintf(doc + o, "\"}");
	}
	sprintf(doc + o, "]\n");
	cr_assert_eq(load_text("arena.json", doc, "2403", 0), 0, "%s", why);
	free(doc);
	cr_assert_eq(set.n, n + 1);
	r = find(&set, "2403/baseline/1.1");
	cr_assert_not_null(r);
	cr_assert_eq(r->baseline->n_indicators, nind);
	for (i = 0; i < nind; i++) {
		snprintf(key, sizeof(key), "N%05zu", i);
		cr_assert_str_eq(r->baseline->indicators[i]->indicator, key);
	}
	for (i = 0; i < n; i++) {
		size_t len = 1 + (i * 7919) % 256;

		snprintf(key, sizeof(key), "2403/group/G%zu", i);
		r = find(&set, key);
		cr_assert_not_null(r, "%s", key);
		cr_assert_eq(strlen(r->group->name), len, "%s", key);
		cr_assert(r->group->name[0] == 'a' + (int)(i % 26) &&
			r->group->name[len - 1] == 'a' + (int)(i % 26),
		    "%s", key);
		cr_assert_str_eq(r->owner, "2403");
	}
}

Test(import, duplicate_key_after_many_rows)
{
	size_t n = 5000, i, o, len = 64 + n * 40;
	char *doc;
	int rc;

	doc = malloc(len);
	cr_assert_not_null(doc);
	o = (size_t)snprintf(doc, len, "kind,indicator,year,gender,value\n");
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(doc + o, len - o,
		    "measure,N%05zu,%zu,%c,%zu.5\n", i / 90, 2000 + i % 30,
		    "TKM"[i / 30 % 3], i);
	rc = load_text("many.csv", doc, "2403", 0);
	cr_assert_eq(rc, 0, "%s", why);
	cr_assert_eq(set.n, n);
	snprintf(doc + o, len - o, "measure,N00000,2001,T,1\n");
	rc = load_text("many.csv", doc, "2403", 0);
	free(doc);
	assert_why(rc, UCR_EINVAL, "many.csv:row 5002: key '2403/measure/");
	cr_assert(strstr(why, "many.csv:row 3") != NULL, "%s", why);
}

/* ------------------------------------------------------------ encodings */

/*
 * What a load gives, as one SHA-256: its code and message, and for each
 * put its row, mode, adopted keys and encoded record. The digests below
 * were made by the reader as it was before its allocation and number
 * parsing were reworked: a change to any record's bytes shows here.
 */
static void
set_digest(int rc, char hex[65])
{
	crypto_hash_sha256_state st;
	unsigned char h[32];
	const char *w, *src;
	uint8_t *enc;
	size_t len, i, j;
	uint64_t v;

	crypto_hash_sha256_init(&st);
	v = (uint64_t)(int64_t)rc;
	crypto_hash_sha256_update(&st, (const unsigned char *)&v, sizeof(v));
	/* the temp folder differs from run to run */
	w = strncmp(why, dir, strlen(dir)) == 0 ? why + strlen(dir) : why;
	/* and so does the checkout the demo files are read from */
	if ((src = strstr(w, UCR_SOURCE_DIR)) != NULL) {
		crypto_hash_sha256_update(&st, (const unsigned char *)w,
		    (size_t)(src - w));
		w = src + strlen(UCR_SOURCE_DIR);
	}
	crypto_hash_sha256_update(&st, (const unsigned char *)w, strlen(w) + 1);
	for (i = 0; rc == 0 && i < set.n; i++) {
		const struct ucr_put *p = &set.puts[i];

		v = set.row[i];
		crypto_hash_sha256_update(&st, (const unsigned char *)&v,
		    sizeof(v));
		v = (uint64_t)p->mode;
		crypto_hash_sha256_update(&st, (const unsigned char *)&v,
		    sizeof(v));
		for (j = 0; j < p->nadopt; j++)
			crypto_hash_sha256_update(&st,
			    (const unsigned char *)p->adopt_keys[j],
			    strlen(p->adopt_keys[j]) + 1);
		cr_assert_eq(ucr_record_encode(&enc, &len, p->record), 0);
		v = len;
		crypto_hash_sha256_update(&st, (const unsigned char *)&v,
		    sizeof(v));
		crypto_hash_sha256_update(&st, enc, len);
		free(enc);
	}
	crypto_hash_sha256_final(&st, h);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
}

/* Measurements of every shape, and rows refused on a number. */
static const char golden_measure_csv[] =
    "kind,owner,indicator,year,gender,value,status,area\n"
    "measure,,N00001,1990,T,123.45,,\n"
    "measure,2403,N00001,1991,K,-0.5,final,2403\n"
    "measure,,N00001,1992,M,,missing,\n"
    "measure,,N00001,1993,t,1000,preliminary,2480\n"
    "measure,,N00001,1994,,  7,,\n"
    "measure,,N00002,2100,T,0.000001,,\n"
    "measure,,N00002,1900,K,123456789012.5,Final,\n"
    "measure,,N00002,1995,M,+3,,\n"
    "measure,,N00003,1996,T,007.10,,\n"
    "measure,,N00003,1997,T,,,\n";

struct golden {
	const char *file; /* under deploy/demo, or "" for the text above */
	const char *owner;
	int kolada;
	const char *digest;
};

Test(import, encodings_as_before)
{
	static const struct golden g[] = {
#include "import_golden.h"
	};
	char path[512], hex[65], text[512];
	size_t i;
	int rc, bad = 0;

	for (i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
		if (g[i].file[0] == '\0')
			rc = load_text("m.csv", golden_measure_csv, g[i].owner,
			    0);
		else if (strncmp(g[i].file, "year:", 5) == 0) {
			snprintf(text, sizeof(text),
			    "kind,indicator,year,value\n"
			    "measure,N1,%s,1.5\n",
			    g[i].file + 5);
			rc = load_text("y.csv", text, g[i].owner, 0);
		} else if (strncmp(g[i].file, "json:", 5) == 0)
			rc = load_text("j.json", g[i].file + 5, g[i].owner, 0);
		else if (strncmp(g[i].file, "value:", 6) == 0) {
			snprintf(text, sizeof(text),
			    "kind,indicator,year,value\n"
			    "measure,N1,1990,%s\n",
			    g[i].file + 6);
			rc = load_text("v.csv", text, g[i].owner, 0);
		} else {
			snprintf(path, sizeof(path), DEMO "%s", g[i].file);
			rc = load_demo(path, g[i].owner, g[i].kolada);
		}
		set_digest(rc, hex);
		/* UCR_GOLDEN_ALL=1: print every digest (to make the table) */
		if (getenv("UCR_GOLDEN_ALL") != NULL)
			fprintf(stderr, "GOLDEN %zu %s\n", i, hex);
		if (strcmp(hex, g[i].digest) != 0) {
			fprintf(stderr, "golden %zu: %s\n", i, hex);
			bad++;
		}
	}
	cr_assert_eq(bad, 0, "%d loads differ from the old reader's", bad);
}
