/*
 * test_export.c: "ucr export" end to end. A real ucr-node (offline) gets
 * the demo municipality Bjurholm (deploy/demo/2403.json and the Kolada
 * sample) through "ucr import"; the workbook is then read back with
 * unzip, the CSV files byte by byte, and their rows counted against
 * "ucr show KIND --json".
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "testutil.h"

#define DEMO UCR_SOURCE_DIR "/deploy/demo/"

static char *dir;
static char conf[600];
static pid_t node = -1;

static char *
ucr_ok(const char *args)
{
	char *out = NULL, *err = NULL;
	int rc = tu_run(&out, &err, "ucr -c '%s' %s", conf, args);

	cr_assert_eq(rc, 0, "ucr %s: exit %d: %s", args, rc, err);
	free(err);
	return out;
}

/* A setup that fails does not reach the teardown: stop the daemon. */
static void
setup_failed(const char *what)
{
	if (node > 0)
		tu_kill(node, SIGTERM);
	node = -1;
	cr_assert_fail("%s", what);
}

static void
setup(void)
{
	dir = tu_tempdir();
	cr_assert_not_null(dir);
	node = tu_node_start(dir, "2403", conf, sizeof(conf));
	cr_assert_gt(node, 0, "ucr-node did not start");
	if (tu_wait_cmd(10000, "ucr -c '%s' import '%s'", conf,
		DEMO "2403.json") != 0 ||
	    tu_run(NULL, NULL, "ucr -c '%s' import --kolada '%s'", conf,
		DEMO "kolada-sample.json") != 0)
		setup_failed("the demo data did not import");
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

TestSuite(export, .init = setup, .fini = teardown, .timeout = 120);

/* How many records of kind the store holds ("ucr show KIND --json"). */
static size_t
count(const char *kind)
{
	char args[64];
	json_error_t e;
	char *out;
	json_t *j;
	size_t n;

	snprintf(args, sizeof(args), "show %s --json", kind);
	out = ucr_ok(args);
	j = json_loads(out, 0, &e);
	cr_assert(json_is_array(j), "show %s: %s", kind, out);
	n = json_array_size(j);
	json_decref(j);
	free(out);
	return n;
}

/* A file inside the workbook, by unzip -p. */
static char *
xlsx_part(const char *xlsx, const char *part)
{
	char *out = NULL;

	cr_assert_eq(tu_run(&out, NULL, "unzip -p '%s' '%s'", xlsx, part), 0,
	    "no %s in %s", part, xlsx);
	return out;
}

/* The <c> element of cell ref ("F2") in a sheet's XML, up to </c>. */
static char *
cell(const char *xml, const char *ref)
{
	char pat[32];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "<c r=\"%s\"", ref);
	p = strstr(xml, pat);
	cr_assert_not_null(p, "no cell %s", ref);
	e = strstr(p, "</c>");
	cr_assert_not_null(e);
	return strndup(p, (size_t)(e - p + 4));
}

/* Lines of a CSV file that end in CRLF, the header included. */
static size_t
csv_lines(const char *s)
{
	size_t n = 0;

	for (; (s = strstr(s, "\r\n")) != NULL; s += 2)
		n++;
	return n;
}

Test(export, xlsx_typed_cells_and_frozen_header)
{
	char path[700], args[800], want[64], *out, *x, *c;

	snprintf(path, sizeof(path), "%s/region.xlsx", dir);
	snprintf(args, sizeof(args), "export --xlsx '%s'", path);
	out = ucr_ok(args);
	snprintf(want, sizeof(want), "measurements %zu,", count("measure"));
	cr_assert(strstr(out, want) != NULL, "%s", out);
	free(out);

	/* The sheets, in order. */
	x = xlsx_part(path, "xl/workbook.xml");
	cr_assert(strstr(x, "<sheet name=\"goals\" sheetId=\"1\"") != NULL);
	cr_assert(strstr(x, "<sheet name=\"meetings\" sheetId=\"7\"") != NULL);
	cr_assert(strstr(x, "name=\"measurements\"") != NULL);
	free(x);

	/* A date format is defined (the date cells' style). */
	x = xlsx_part(path, "xl/styles.xml");
	cr_assert(strstr(x, "formatCode=\"yyyy-mm-dd\"") != NULL, "%s", x);
	free(x);

	/* measurements (sheet 4): header frozen; year D and value F are
	   numbers (no t= attribute: a number cell), the KPI C is text. */
	x = xlsx_part(path, "xl/worksheets/sheet4.xml");
	cr_assert(strstr(x,
		      "<pane ySplit=\"1\" topLeftCell=\"A2\" "
		      "activePane=\"bottomLeft\" state=\"frozen\"/>") != NULL);
	c = cell(x, "D2");
	cr_assert(strstr(c, "t=") == NULL && strstr(c, "<v>2008</v>"), "%s", c);
	free(c);
	c = cell(x, "F2");
	cr_assert(strstr(c, "t=") == NULL && strstr(c, "<v>9.8"), "%s", c);
	cr_assert_float_eq(strtod(strstr(c, "<v>") + 3, NULL), 9.8, 1e-9);
	free(c);
	c = cell(x, "C2");
	cr_assert(strstr(c, "t=\"inlineStr\"") != NULL, "%s", c);
	free(c);
	/* one row per measurement, after the header */
	{
		char ref[32];

		snprintf(ref, sizeof(ref), "<row r=\"%zu\"",
		    count("measure") + 1);
		cr_assert(strstr(x, ref) != NULL);
		snprintf(ref, sizeof(ref), "<row r=\"%zu\"",
		    count("measure") + 2);
		cr_assert(strstr(x, ref) == NULL);
	}
	free(x);

	/* projects (sheet 5): start F2 is a date cell: a number with the
	   date style, 2009-01-01 = Excel day 39814; a boolean programme. */
	x = xlsx_part(path, "xl/worksheets/sheet5.xml");
	c = cell(x, "F2");
	cr_assert(strstr(c, "t=") == NULL && strstr(c, " s=\"") != NULL &&
		strstr(c, "<v>39814</v>"),
	    "%s", c);
	free(c);
	c = cell(x, "K2");
	cr_assert(strstr(c, "t=\"b\"") != NULL && strstr(c, "<v>1</v>"), "%s",
	    c);
	free(c);
	cr_assert(strstr(x, "state=\"frozen\"") != NULL);
	free(x);

	/* meetings (sheet 7): counts are numbers */
	x = xlsx_part(path, "xl/worksheets/sheet7.xml");
	c = cell(x, "G2");
	cr_assert(strstr(c, "t=") == NULL && strstr(c, "<v>7</v>"), "%s", c);
	free(c);
	free(x);

	/* text cells hold the UTF-8 text as it is, inline (the workbook is
	   written in constant memory: no shared-strings table) */
	x = xlsx_part(path, "xl/worksheets/sheet5.xml");
	cr_assert(strstr(x, "Jämställdhet") != NULL, "%s", x);
	free(x);
}

Test(export, csv_bom_header_and_rows)
{
	static const struct {
		const char *file, *kind, *header;
	} sheets[] = {
	    {"measurements", "measure",
		"key,municipality,indicator,year,gender,value,status"},
	    {"projects", "project", "key,lead,title,partners,"},
	    {"networks", "network", "key,municipality,name,scope,"},
	    {"meetings", "meeting", "key,municipality,kind,date,"},
	    {"targets", "target", "key,municipality,target,title,"},
	};
	char path[800], args[800], *s, *out;
	size_t i;

	/* a name that a spreadsheet would take for a formula */
	free(ucr_ok("network join N9 --name '=1+2' --scope national "
		    "--date 2009-05-01"));
	snprintf(args, sizeof(args), "export --csv '%s/csv' --json", dir);
	out = ucr_ok(args);
	cr_assert(strstr(out, "\"format\": \"csv\"") != NULL, "%s", out);
	free(out);
	for (i = 0; i < sizeof(sheets) / sizeof(sheets[0]); i++) {
		snprintf(path, sizeof(path), "%s/csv/%s.csv", dir,
		    sheets[i].file);
		s = tu_read(path);
		cr_assert_not_null(s, "no %s", path);
		cr_assert(strncmp(s, "\xEF\xBB\xBF", 3) == 0, "%s: no BOM",
		    path);
		cr_assert(strncmp(s + 3, sheets[i].header,
			      strlen(sheets[i].header)) == 0,
		    "%s: header %.80s", path, s + 3);
		cr_assert_eq(csv_lines(s), count(sheets[i].kind) + 1,
		    "%s: %zu lines", path, csv_lines(s));
		free(s);
	}
	/* goals: six, and a number as a number */
	snprintf(path, sizeof(path), "%s/csv/goals.csv", dir);
	s = tu_read(path);
	cr_assert_eq(csv_lines(s), 7);
	cr_assert(strstr(s, "\r\nA3,") != NULL);
	free(s);
	/* a comma inside a title is quoted */
	snprintf(path, sizeof(path), "%s/csv/meetings.csv", dir);
	s = tu_read(path);
	cr_assert(strstr(s,
		      ",\"Gender equality and inclusion working group, "
		      "meeting 1\",") != NULL,
	    "%s", s);
	free(s);
	/* the formula is text */
	snprintf(path, sizeof(path), "%s/csv/networks.csv", dir);
	s = tu_read(path);
	cr_assert(strstr(s, ",'=1+2,national,2009-05-01,false\r\n") != NULL,
	    "%s", s);
	free(s);
	/* no temporary files left */
	snprintf(path, sizeof(path), "%s/csv/goals.csv.tmp", dir);
	cr_assert_neq(access(path, F_OK), 0);
}

Test(export, csv_semicolon_decimal_comma)
{
	char path[800], args[800], *s;

	snprintf(args, sizeof(args), "export --csv '%s/sv' --semicolon", dir);
	free(ucr_ok(args));
	snprintf(path, sizeof(path), "%s/sv/measurements.csv", dir);
	s = tu_read(path);
	cr_assert_not_null(s);
	cr_assert(strstr(s,
		      "\r\n2403/measure/N00401/2008/T;2403;N00401;2008;"
		      "T;9,8;final\r\n") != NULL,
	    "%s", s);
	free(s);
}

Test(export, usage_and_write_errors)
{
	char *err = NULL, args[800];
	int rc;

	/* neither or both formats: a usage error */
	rc = tu_run(NULL, &err, "ucr -c '%s' export", conf);
	cr_assert_eq(rc, 2, "%s", err);
	free(err);
	rc = tu_run(NULL, &err, "ucr -c '%s' export --xlsx a --csv b", conf);
	cr_assert_eq(rc, 2, "%s", err);
	free(err);
	/* a folder that cannot be made: one line, nothing left behind */
	snprintf(args, sizeof(args), "%s/no/such/dir/out.xlsx", dir);
	rc = tu_run(NULL, &err, "ucr -c '%s' export --xlsx '%s'", conf, args);
	cr_assert_eq(rc, 1);
	cr_assert(strncmp(err, "ucr: export: ", 13) == 0, "%s", err);
	free(err);
	snprintf(args, sizeof(args), "%s/no/such/dir", dir);
	rc = tu_run(NULL, &err, "ucr -c '%s' export --csv '%s'", conf, args);
	cr_assert_eq(rc, 1);
	cr_assert(strncmp(err, "ucr: export: ", 13) == 0, "%s", err);
	free(err);
}

/* ------------------------------------------ libxlsxwriter, on first use */

/* ucr does not link libxlsxwriter (cli/dl.h): not in the executable's
   NEEDED list, not loaded for CSV, loaded for a workbook. */
Test(export, libxlsxwriter_loaded_only_for_a_workbook)
{
	char *out = NULL, *err = NULL, path[700];
	int rc;

	cr_assert_eq(tu_run(&out, NULL, "readelf -d '%s/ucr'", UCR_BIN_DIR), 0);
	cr_assert(strstr(out, "(NEEDED)") != NULL, "%s", out);
	cr_assert(strstr(out, "libxlsxwriter") == NULL, "%s", out);
	cr_assert(strstr(out, "libminizip") == NULL, "%s", out);
	free(out);
	out = NULL;

	snprintf(path, sizeof(path), "%s/csv", dir);
	rc = tu_run(NULL, &err, "LD_DEBUG=libs ucr -c '%s' export --csv '%s'",
	    conf, path);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert(tu_ld_inits(err, "/libjansson.so.4"), "%s", err);
	cr_assert(strstr(err, "libxlsxwriter.so") == NULL, "%s", err);
	free(err);
	err = NULL;

	snprintf(path, sizeof(path), "%s/region.xlsx", dir);
	rc = tu_run(NULL, &err, "LD_DEBUG=libs ucr -c '%s' export --xlsx '%s'",
	    conf, path);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert(tu_ld_inits(err, "/libxlsxwriter.so.4"), "%s", err);
	free(err);
	free(xlsx_part(path, "xl/workbook.xml"));
}

/* Without libxlsxwriter (UCR_LIBXLSXWRITER names a file that is not
   there): one line naming it and its package, exit status 1, no file made;
   CSV, which does not need it, still works. */
Test(export, without_libxlsxwriter)
{
	static const char want[] = "ucr: export: cannot load "
				   "libxlsxwriter-none.so.4 (install the "
				   "libxlsxwriter4 package): "
				   "libxlsxwriter-none.so.4: ";
	char *out = NULL, *err = NULL, path[700], tmp[800];
	struct stat st;
	int rc;

	snprintf(path, sizeof(path), "%s/region.xlsx", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	rc = tu_run(&out, &err,
	    "env -u LC_ALL -u LC_MESSAGES -u LANGUAGE LANG=C "
	    "UCR_LIBXLSXWRITER=libxlsxwriter-none.so.4 ucr -c '%s' export "
	    "--xlsx '%s' --json",
	    conf, path);
	cr_assert_eq(rc, 1, "%s%s", out, err);
	cr_assert_str_empty(out);
	cr_assert(strncmp(err, want, strlen(want)) == 0, "%s", err);
	cr_assert(strchr(err, '\n') == err + strlen(err) - 1, "one line: %s",
	    err);
	cr_assert_neq(stat(path, &st), 0);
	cr_assert_neq(stat(tmp, &st), 0);
	free(out);
	free(err);
	err = NULL;

	snprintf(path, sizeof(path), "%s/csv", dir);
	rc = tu_run(NULL, &err,
	    "UCR_LIBXLSXWRITER=libxlsxwriter-none.so.4 ucr -c '%s' export "
	    "--csv '%s'",
	    conf, path);
	cr_assert_eq(rc, 0, "%s", err);
	free(err);
}
