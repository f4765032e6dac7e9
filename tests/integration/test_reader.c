/*
 * test_reader.c: an executive's reader key queries the hub over the
 * network. "ucr init reader" writes a key and reader.conf; until the hub's
 * administrator enrols the key the hub does not answer; once enrolled,
 * "ucr -c reader.conf status" (and plan) give what the hub's own status
 * gives, show and export page through the hub's records over the
 * network, and every write with the reader's configuration is refused.
 * A reader's export of many records comes out complete across pages.
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
	static const char nozmq[] = "ucr: reader: cannot load "
				    "libzmq-none.so.5 (install the libzmq5 "
				    "package): libzmq-none.so.5: ";
	struct site rd;
	char *out = NULL, *err = NULL, *a, *b, path[700];
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
	/* libzmq (CURVE) is loaded when a reader asks the hub, not at
	   every start (cli/dl.h); without it, one line naming its package */
	rc = tu_run(NULL, &err, "LD_DEBUG=libs ucr -c '%s' status --json",
	    rd.conf);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert(tu_ld_inits(err, "/libzmq.so.5"), "%s", err);
	free(err);
	rc = tu_run(NULL, &err,
	    "LANG=C LC_ALL=C UCR_LIBZMQ=libzmq-none.so.5 ucr -c '%s' status",
	    rd.conf);
	cr_assert_eq(rc, 1, "%s", err);
	cr_assert(strncmp(err, nozmq, strlen(nozmq)) == 0, "%s", err);
	cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "%s", err);
	free(err);
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
	/* show pages through the hub's records over the network: the same
	   as the hub's own show (its control socket). */
	a = normal(ucr_json(&rd, "show --json"));
	b = normal(ucr_json(&hub, "show --json"));
	cr_assert_str_eq(a, b);
	cr_assert(strstr(a, "The best living environment") != NULL, "%s", a);
	free(a);
	free(b);
	a = normal(ucr_json(&rd,
	    "show vision --key region/vision/vision "
	    "--json"));
	cr_assert(strstr(a, "The best living environment") != NULL, "%s", a);
	free(a);
	rc = ucr(&rd, NULL, &err, "show --key 2480/target/NONE");
	cr_assert_neq(rc, 0);
	cr_assert(strstr(err, "2480/target/NONE") != NULL, "%s", err);
	free(err);
	/* export: the workbook's sources over the network. */
	rc = ucr(&rd, &out, &err, "export --csv '%s/rcsv' --json", dir);
	cr_assert_eq(rc, 0, "export as a reader: %s", err);
	cr_assert(strstr(out, "\"goals\"") != NULL, "%s", out);
	free(out);
	free(err);
	snprintf(path, sizeof(path), "%s/rcsv/goals.csv", dir);
	out = tu_read(path);
	cr_assert_not_null(out);
	free(out);
	/* A reader never writes. */
	rc = ucr(&rd, NULL, &err,
	    "network join N9 --name Mine --scope national "
	    "--date 2009-01-01");
	cr_assert_neq(rc, 0);
	cr_assert(strstr(err, "reader") != NULL, "%s", err);
	free(err);
	a = normal(ucr_json(&hub, "status --json"));
	cr_assert(strstr(a, "Mine") == NULL);
	free(a);
}

/*
 * An export of many records over the network: 20 000 measurements that a
 * node imported and synced come out of a reader's export complete, across
 * many pages, with their values; the reader's show counts the same.
 */
#define MANY 20000
Test(reader, export_of_many_records_across_pages)
{
	struct site rd;
	char path[700], *buf, *p, *out = NULL, *err = NULL;
	const char *hex;
	json_t *j;
	size_t n = 0;
	int i, rc, which[] = {0, -1};

	region_init(91);
	hub_start();
	node_new("2480", "2480", -1);
	enrol("2480", nodes[0].hex);
	node_up(0);
	buf = malloc((size_t)MANY * 40 + 64);
	cr_assert_not_null(buf);
	p = buf + sprintf(buf, "kind,indicator,year,gender,value,status\n");
	for (i = 0; i < MANY; i++)
		p += sprintf(p, "measure,N1%04d,%d,,%d.%d,\n", i / 50,
		    1975 + i % 50, i, i % 10);
	snprintf(path, sizeof(path), "%s/many.csv", dir);
	cr_assert_eq(tu_write(path, buf), 0);
	free(buf);
	ucr_ok(&nodes[0], "import '%s'", path);
	converge(-1, which);
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
	ucr_ok(&hub, "roster add 2480 %s --role reader", hex);
	json_decref(j);
	free(out);
	free(err);
	j = ucr_json(&rd, "show measure --municipality 2480 --json");
	cr_assert_not_null(j);
	cr_assert_eq(json_array_size(j), MANY);
	json_decref(j);
	rc = ucr(&rd, &out, &err, "export --csv '%s/csv' --json", dir);
	cr_assert_eq(rc, 0, "export as a reader: %s", err);
	free(out);
	free(err);
	snprintf(path, sizeof(path), "%s/csv/measurements.csv", dir);
	out = tu_read(path);
	cr_assert_not_null(out);
	for (p = out; *p; p++)
		n += *p == '\n';
	cr_assert_eq(n, MANY + 1, "%zu lines", n);
	cr_assert(strstr(out,
		      "\r\n2480/measure/N10000/1975/T,2480,N10000,"
		      "1975,T,0,final\r\n") != NULL);
	cr_assert(strstr(out,
		      "\r\n2480/measure/N10007/1981/T,2480,N10007,"
		      "1981,T,356.6,final\r\n") != NULL);
	cr_assert(strstr(out,
		      "\r\n2480/measure/N10399/2024/T,2480,N10399,"
		      "2024,T,19999.9,final\r\n") != NULL);
	free(out);
	/* Still a reader: a write is refused. */
	rc = ucr(&rd, NULL, &err, "measure N00401 2020 1.0");
	cr_assert_neq(rc, 0);
	cr_assert(strstr(err, "reader") != NULL, "%s", err);
	free(err);
}

/*
 * The report with a reader's configuration reads its extras from the hub
 * over the network: the indicator's title and unit, the preliminary mark
 * of the value it shows and the count of what changed, the same count as
 * the hub's own report.
 */
Test(reader, report_extras_over_the_network)
{
	struct site rd;
	char path[700], args[800], *out = NULL, *err = NULL, *h;
	const char *hex;
	json_t *j;
	json_int_t mine, hubs;
	int rc, which[] = {0, -1};

	region_init(92);
	hub_start();
	node_new("2480", "2480", -1);
	enrol("2480", nodes[0].hex);
	node_up(0);
	ucr_ok(&nodes[0],
	    "target add T1 --title 'Less CO2' --commitment 3.1 "
	    "--priority P4 --indicator N00401 --baseline 5.5@2015 "
	    "--target 3@2030 --direction decrease");
	ucr_ok(&nodes[0],
	    "indicator add N00401 --title 'Greenhouse gas emissions' "
	    "--unit 't/inh'");
	ucr_ok(&nodes[0], "measure N00401 2022 4.6");
	ucr_ok(&nodes[0], "measure N00401 2024 4.2 --status preliminary");
	converge(-1, which);
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
	ucr_ok(&hub, "roster add 2480 %s --role reader", hex);
	json_decref(j);
	free(out);
	free(err);
	snprintf(args, sizeof(args),
	    "report --html '%s/reader/r.html' --since 2000-01-01 --json", dir);
	j = ucr_json(&rd, args);
	cr_assert_not_null(j);
	cr_assert(json_is_true(json_object_get(j, "store_read")));
	mine = json_integer_value(json_object_get(j, "changed"));
	json_decref(j);
	snprintf(args, sizeof(args),
	    "report --html '%s/hub.html' --since 2000-01-01 --json", dir);
	j = ucr_json(&hub, args);
	cr_assert_not_null(j);
	hubs = json_integer_value(json_object_get(j, "changed"));
	json_decref(j);
	cr_assert(mine >= 4, "%lld changed", (long long)mine);
	cr_assert_eq(mine, hubs, "reader %lld, hub %lld", (long long)mine,
	    (long long)hubs);
	snprintf(path, sizeof(path), "%s/reader/r.html", dir);
	h = tu_read(path);
	cr_assert_not_null(h);
	cr_assert(strstr(h, "Greenhouse gas emissions (t/inh)") != NULL,
	    "no indicator title in the reader's report");
	cr_assert(strstr(h, "(2024)<sup class=p") != NULL,
	    "the preliminary value is not marked");
	cr_assert(strstr(h, " records changed since 2000-01-01") != NULL ||
		strstr(h, " poster har ändrats sedan 2000-01-01") != NULL,
	    "no count of what changed");
	free(h);
}
