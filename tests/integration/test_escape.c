/*
 * test_escape.c: titles and names come from every municipality, and a
 * record may carry any text. None of it reaches a terminal as control
 * bytes: `ucr show`, `ucr plan` and the table cells print it escaped
 * (vis(3) style), while --json keeps the text as it was written.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "testutil.h"

static char *dir;
static char conf[600];
static pid_t node = -1;

/* A title that would clear the screen and retitle the terminal. */
#define EVIL "Less\\033[2J\\033]0;pwned\\007CO2"

static void
setup(void)
{
	dir = tu_tempdir();
	cr_assert_not_null(dir);
	node = tu_node_start(dir, "2403", conf, sizeof(conf));
	cr_assert_gt(node, 0, "ucr-node did not start");
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

static char *
ucr_ok(const char *args)
{
	char *out = NULL, *err = NULL;
	int rc = tu_run(&out, &err, "ucr -c '%s' %s", conf, args);

	cr_assert_eq(rc, 0, "ucr %s: exit %d: %s", args, rc, err);
	free(err);
	return out;
}

Test(escape, terminal_output_has_no_control_bytes, .init = setup,
    .fini = teardown)
{
	char *out;
	json_t *j, *t;
	json_error_t e;
	const char *title;

	free(ucr_ok("target add T1 --title \"$(printf '" EVIL "')\" "
		    "--commitment 3.1 --priority P4 --indicator N00401 "
		    "--baseline 5.5@2019 --target 3@2030 --direction decrease"));

	out = ucr_ok("show target");
	cr_assert_null(strchr(out, '\033'), "raw ESC in show: %s", out);
	cr_assert_null(strchr(out, '\007'), "raw BEL in show: %s", out);
	cr_assert_not_null(strstr(out, "\\033[2J"), "%s", out);
	free(out);

	out = ucr_ok("plan");
	cr_assert_null(strchr(out, '\033'), "raw ESC in plan: %s", out);
	free(out);

	/* JSON is for programs: the text as written, JSON-escaped. */
	out = ucr_ok("show target --json");
	j = json_loads(out, 0, &e);
	cr_assert_not_null(j, "%s: %s", e.text, out);
	t = json_is_array(j) ? json_array_get(j, 0) : j;
	title = json_string_value(json_object_get(
	    json_object_get(t, "body"), "title"));
	if (title == NULL)
		title = json_string_value(json_object_get(t, "title"));
	cr_assert_not_null(title, "%s", out);
	cr_assert_not_null(strstr(title, "\033[2J"), "%s", out);
	json_decref(j);
	free(out);
}

Test(escape, cell_escapes_and_cuts)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	cli_cell(f, "a\033b\nc", 20, 0);
	fclose(f);
	cr_assert_null(strchr(buf, '\033'), "%s", buf);
	cr_assert_null(strchr(buf, '\n'), "%s", buf);
	cr_assert_not_null(strstr(buf, "a\\033b\\nc"), "%s", buf);
	free(buf);
}
