/*
 * test_query.c: queries through the daemon. With ucr-node running, status,
 * plan, cycle, explain and report ask it over the control socket and fold
 * its answer; they give what the store read directly gives, and a member
 * of the daemon's group who cannot read the store files (run as another
 * user, the store folder 0700) still gets them.
 */
#include <criterion/criterion.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "testutil.h"

static char *dir;
static char conf[512], sockpath[512], logpath[512];
static pid_t node = -1;

static void
setup(void)
{
	char keypath[512], buf[1024], *err = NULL;
	int rc;

	dir = tu_tempdir();
	cr_assert_not_null(dir);
	snprintf(conf, sizeof(conf), "%s/node.conf", dir);
	snprintf(keypath, sizeof(keypath), "%s/node.key", dir);
	snprintf(sockpath, sizeof(sockpath), "%s/node.sock", dir);
	snprintf(logpath, sizeof(logpath), "%s/node.log", dir);
	rc = tu_run(NULL, &err, "ucr keygen --out '%s'", keypath);
	cr_assert_eq(rc, 0, "keygen: %s", err);
	free(err);
	snprintf(buf, sizeof(buf),
	    "[node]\nmunicipality = 2403\nkey = node.key\ndata = store\n"
	    "control = ipc://node.sock\nhub =\nhub_key =\n");
	cr_assert_eq(tu_write(conf, buf), 0);
}

static void
teardown(void)
{
	if (node > 0)
		tu_kill(node, SIGKILL);
	node = -1;
	tu_rmrf(dir);
	free(dir);
}

TestSuite(query, .init = setup, .fini = teardown, .timeout = 120);

static void
start_node(void)
{
	struct stat st;
	int i;

	node = tu_spawn(logpath, "exec ucr-node -d -f '%s'", conf);
	cr_assert_gt(node, 0);
	for (i = 0; i < 200 && stat(sockpath, &st) != 0; i++)
		usleep(50000);
	cr_assert_eq(stat(sockpath, &st), 0, "ucr-node did not come up: %s",
	    tu_read(logpath));
	/* The socket file exists before the daemon answers: ask. */
	for (i = 0; i < 100; i++) {
		if (tu_run(NULL, NULL, "ucr -c '%s' peers --json", conf) == 0)
			break;
		usleep(50000);
	}
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
normal(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	char *s;

	cr_assert_not_null(j, "not JSON (%s): %s", e.text, text);
	strip(j);
	s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(j);
	return s;
}

static const char *const queries[] = {
    "status --json",
    "plan --json",
    "plan --priority P4 --json",
    "cycle 2403 --json",
    "explain 2403/T1 --json",
    "explain A3 --json",
};
#define NQUERIES (sizeof(queries) / sizeof(queries[0]))

static void
seed(void)
{
	free(ucr_ok("target add T1 --title 'Less CO2' --commitment 3.1 "
		    "--priority P4 --indicator N00401 --baseline 5.5@2015 "
		    "--target 3@2030 --direction decrease"));
	free(ucr_ok("measure N00401 2019 5.1"));
	free(ucr_ok("measure N00401 2022 4.6"));
	free(ucr_ok("measure N00401 2023 4.4 --gender K"));
	free(ucr_ok("measure N01951 2023 2500"));
	free(ucr_ok("meeting add M1 --kind workshop --date 2024-03-01 "
		    "--women 5 --men 4"));
	free(ucr_ok("group add G1 --name 'Energy group' --priority P4"));
	free(ucr_ok("decision add D1 --body board --date 2024-04-01 "
		    "--subject targets --ref 'KS 2024/12'"));
}

Test(query, daemon_answers_equal_the_store)
{
	char *viad[NQUERIES], *out, *a, *b, html[600], *h1, *h2;
	size_t i;

	start_node();
	seed();
	for (i = 0; i < NQUERIES; i++)
		viad[i] = ucr_ok(queries[i]);
	snprintf(html, sizeof(html), "report --html '%s/r1.html'", dir);
	free(ucr_ok(html));
	/* The daemon answered "view": its log shows no refusal, and the
	   text status works too. */
	out = ucr_ok("status");
	cr_assert(strstr(out, "PROGRAMME GOALS") != NULL ||
		strstr(out, "PROGRAMMETS MÅL") != NULL || strlen(out) > 200,
	    "%s", out);
	free(out);
	tu_kill(node, SIGTERM);
	node = -1;
	for (i = 0; i < NQUERIES; i++) {
		out = ucr_ok(queries[i]);
		a = normal(viad[i]);
		b = normal(out);
		cr_assert_str_eq(a, b, "%s: daemon and store differ",
		    queries[i]);
		free(a);
		free(b);
		free(out);
		free(viad[i]);
	}
	snprintf(html, sizeof(html), "report --html '%s/r2.html'", dir);
	free(ucr_ok(html));
	snprintf(html, sizeof(html), "%s/r1.html", dir);
	h1 = tu_read(html);
	snprintf(html, sizeof(html), "%s/r2.html", dir);
	h2 = tu_read(html);
	cr_assert_not_null(h1);
	cr_assert_not_null(h2);
	/* Same report but for the moment it was made. */
	cr_assert_eq(strlen(h1) / 100, strlen(h2) / 100);
	free(h1);
	free(h2);
}

/* Run as nobody in the socket's group: no access to the store files. */
static int
as_member(char **out, char **err, const char *args)
{
	static unsigned gid;
	struct stat st;

	if (stat(sockpath, &st) == 0)
		gid = (unsigned)st.st_gid; /* kept when the daemon is gone */
	return tu_run(out, err,
	    "setpriv --reuid=65534 --regid=65534 --groups=%u "
	    "ucr -c '%s' %s",
	    gid, conf, args);
}

Test(query, group_member_without_store_access)
{
	char path[600], *out = NULL, *err = NULL;
	json_t *j;
	int rc;

	if (geteuid() != 0)
		cr_skip_test("needs root to run a command as another user");
	if (access("/usr/bin/setpriv", X_OK) != 0)
		cr_skip_test("setpriv (util-linux) not installed");
	start_node();
	seed();
	/* The folder and the config are readable, the store is not. */
	cr_assert_eq(chmod(dir, 0755), 0);
	cr_assert_eq(chmod(conf, 0644), 0);
	snprintf(path, sizeof(path), "%s/store", dir);
	cr_assert_eq(chmod(path, 0700), 0);
	rc = as_member(&out, &err, "status --json");
	cr_assert_eq(rc, 0, "status as a group member: exit %d: %s", rc, err);
	j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "%s", out);
	cr_assert_eq(json_integer_value(
			 json_object_get(json_object_get(j, "region"),
			     "records")),
	    8, "%s", out);
	json_decref(j);
	free(out);
	free(err);
	rc = as_member(&out, &err, "plan");
	cr_assert_eq(rc, 0, "plan as a group member: %s", err);
	cr_assert(strstr(out, "T1") != NULL, "%s", out);
	free(out);
	free(err);
	/* Without the daemon the same user is refused: it was the daemon. */
	tu_kill(node, SIGTERM);
	node = -1;
	rc = as_member(&out, &err, "status --json");
	cr_assert_neq(rc, 0, "status read the store as nobody: %s", out);
	free(out);
	free(err);
}
