/*
 * test_query.c: queries through the daemon. With ucr-node running, status,
 * plan, cycle, explain and report ask it over the control socket and fold
 * its answer; they give what the store read directly gives, and a member
 * of the daemon's group who cannot read the store files (run as another
 * user, the store folder 0700) still gets them. show and export page
 * through the records with the Query "records": 20 000 imported
 * measurements come out complete, page by page, the same as the store
 * read directly.
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
#include <zmq.h>

#include "testutil.h"
#include "ucr.pb-c.h"

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
	char path[600], cmd[700], *out = NULL, *err = NULL;
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
	/* show and export page through the daemon too. */
	rc = as_member(&out, &err, "show --json");
	cr_assert_eq(rc, 0, "show as a group member: %s", err);
	j = json_loads(out, 0, NULL);
	cr_assert_eq(json_array_size(j), 8, "%s", out);
	json_decref(j);
	free(out);
	free(err);
	rc = as_member(&out, &err, "show --key target/T1 --json");
	cr_assert_eq(rc, 0, "show --key as a group member: %s", err);
	cr_assert(strstr(out, "Less CO2") != NULL, "%s", out);
	free(out);
	free(err);
	snprintf(path, sizeof(path), "%s/out", dir);
	cr_assert_eq(mkdir(path, 0777), 0);
	cr_assert_eq(chmod(path, 0777), 0);
	snprintf(cmd, sizeof(cmd), "export --csv '%s/out/csv' --json", dir);
	rc = as_member(&out, &err, cmd);
	cr_assert_eq(rc, 0, "export as a group member: %s", err);
	cr_assert(strstr(out, "\"measurements\": 4") != NULL ||
		strstr(out, "\"measurements\":4") != NULL,
	    "%s", out);
	free(out);
	free(err);
	snprintf(path, sizeof(path), "%s/out/csv/meetings.csv", dir);
	out = tu_read(path);
	cr_assert_not_null(out);
	cr_assert(strstr(out, "2403/meeting/M1") != NULL, "%s", out);
	free(out);
	/* The report's extras come through the daemon too: the indicator's
	   title, the preliminary mark of the latest value and the count of
	   what changed (8 seeded records, the indicator, the measurement). */
	free(ucr_ok("indicator add N00401 --title 'Greenhouse gas emissions' "
		    "--unit 't/inh'"));
	free(ucr_ok("measure N00401 2024 4.2 --status preliminary"));
	snprintf(cmd, sizeof(cmd),
	    "report --html '%s/out/r.html' --since 2000-01-01 --json", dir);
	rc = as_member(&out, &err, cmd);
	cr_assert_eq(rc, 0, "report as a group member: %s", err);
	cr_assert(strstr(out, "\"store_read\": true") != NULL, "%s", out);
	cr_assert(strstr(out, "\"changed\": 10") != NULL, "%s", out);
	free(out);
	free(err);
	snprintf(path, sizeof(path), "%s/out/r.html", dir);
	out = tu_read(path);
	cr_assert_not_null(out);
	cr_assert(strstr(out, "Greenhouse gas emissions (t/inh)") != NULL,
	    "no indicator title in the report");
	cr_assert(strstr(out, "4.2 (2024)<sup class=p") != NULL ||
		strstr(out, "4,2 (2024)<sup class=p") != NULL,
	    "the preliminary value is not marked");
	cr_assert(strstr(out, "10 records changed since 2000-01-01") != NULL ||
		strstr(out, "10 poster har ändrats sedan 2000-01-01") != NULL,
	    "no count of what changed");
	free(out);
	/* Without the daemon the same user is refused: it was the daemon. */
	tu_kill(node, SIGTERM);
	node = -1;
	rc = as_member(&out, &err, "status --json");
	cr_assert_neq(rc, 0, "status read the store as nobody: %s", out);
	free(out);
	free(err);
	rc = as_member(&out, &err, "show --json");
	cr_assert_neq(rc, 0, "show read the store as nobody: %s", out);
	free(out);
	free(err);
}

/* n measurements N1KKKK/YEAR in one import: 400 indicators x years. */
#define MANY 20000
static void
import_many(void)
{
	char path[600], args[700], *buf, *p;
	int i;

	buf = malloc((size_t)MANY * 40 + 64);
	cr_assert_not_null(buf);
	p = buf + sprintf(buf, "kind,indicator,year,gender,value,status\n");
	for (i = 0; i < MANY; i++)
		p += sprintf(p, "measure,N1%04d,%d,,%d.%d,\n", i / 50,
		    1975 + i % 50, i, i % 10);
	snprintf(path, sizeof(path), "%s/many.csv", dir);
	cr_assert_eq(tu_write(path, buf), 0);
	free(buf);
	snprintf(args, sizeof(args), "import '%s'", path);
	free(ucr_ok(args));
}

/*
 * One "records" page from the control socket: its record count, its next
 * key into next (size 256); the reply's code in *code.
 */
static size_t
ctl_page(const char *kind, const char *after, uint32_t limit, char *next,
    int *code)
{
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__Query q = UCR__QUERY__INIT;
	Ucr__Reply *rep;
	void *ctx = zmq_ctx_new(), *sock = zmq_socket(ctx, ZMQ_REQ);
	char ep[600];
	uint8_t buf[1024];
	zmq_msg_t msg;
	size_t len, n;
	int t = 30000;

	q.what = "records";
	q.kind = (char *)kind;
	q.after = (char *)after;
	q.limit = limit;
	req.body_case = UCR__REQUEST__BODY_QUERY;
	req.query = &q;
	len = ucr__request__pack(&req, buf);
	snprintf(ep, sizeof(ep), "ipc://%s", sockpath);
	zmq_setsockopt(sock, ZMQ_RCVTIMEO, &t, sizeof(t));
	cr_assert_eq(zmq_connect(sock, ep), 0);
	cr_assert_eq(zmq_send(sock, buf, len, 0), (int)len);
	zmq_msg_init(&msg);
	cr_assert_geq(zmq_msg_recv(&msg, sock, 0), 0, "no answer");
	/* a page is bounded in bytes, well under the control maximum */
	cr_assert_leq(zmq_msg_size(&msg), (256 << 10) + 4096);
	rep = ucr__reply__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
	cr_assert_not_null(rep);
	zmq_msg_close(&msg);
	zmq_close(sock);
	zmq_ctx_term(ctx);
	*code = rep->code;
	snprintf(next, 256, "%s", rep->next);
	n = rep->n_records;
	ucr__reply__free_unpacked(rep, NULL);
	return n;
}

static size_t
lines(const char *path)
{
	char *t = tu_read(path), *p;
	size_t n = 0;

	cr_assert_not_null(t, "%s", path);
	for (p = t; *p; p++)
		n += *p == '\n';
	free(t);
	return n;
}

Test(query, show_and_export_page_through_the_daemon)
{
	char after[256] = "", next[256], args[700], path[700], *a, *b, *t;
	size_t total = 0, n;
	int pages = 0, code;
	json_t *j;

	start_node();
	seed();
	import_many();
	/* The daemon's pages: bounded, advancing, complete. */
	do {
		n = ctl_page("measure", after, 0, next, &code);
		cr_assert_eq(code, 0);
		cr_assert_leq(n, 4000);
		total += n;
		pages++;
		cr_assert(*next == '\0' || strcmp(next, after) > 0);
		snprintf(after, sizeof(after), "%s", next);
	} while (*after != '\0');
	cr_assert_eq(total, MANY + 4, "%zu measurements", total);
	cr_assert_geq(pages, 5, "%d pages", pages);
	/* A refused page: a clear reason, and the daemon answers on. */
	ctl_page("measure", "", 1000000, next, &code);
	cr_assert_eq(code, -30001);
	/* show, through the daemon: every measurement. */
	a = ucr_ok("show measure --json");
	j = json_loads(a, 0, NULL);
	cr_assert_not_null(j);
	cr_assert_eq(json_array_size(j), MANY + 4);
	json_decref(j);
	t = ucr_ok("show --key measure/N10007/1981/T --json");
	cr_assert(strstr(t, "\"356.6\"") != NULL, "%s", t);
	free(t);
	/* export, through the daemon: every row, the values as imported. */
	snprintf(args, sizeof(args), "export --csv '%s/csv'", dir);
	free(ucr_ok(args));
	snprintf(path, sizeof(path), "%s/csv/measurements.csv", dir);
	cr_assert_eq(lines(path), MANY + 4 + 1);
	t = tu_read(path);
	cr_assert(strstr(t,
		      "\r\n2403/measure/N10007/1981/T,2403,N10007,1981,"
		      "T,356.6,final\r\n") != NULL);
	cr_assert(strstr(t,
		      "\r\n2403/measure/N10399/2024/T,2403,N10399,2024,"
		      "T,19999.9,final\r\n") != NULL);
	free(t);
	/* The same as the store read directly (the daemon stopped). */
	tu_kill(node, SIGTERM);
	node = -1;
	b = ucr_ok("show measure --json");
	t = normal(a);
	free(a);
	a = t;
	t = normal(b);
	free(b);
	b = t;
	cr_assert_str_eq(a, b, "show: the daemon and the store differ");
	free(a);
	free(b);
	snprintf(args, sizeof(args), "export --csv '%s/csv2'", dir);
	free(ucr_ok(args));
	a = tu_read(path);
	snprintf(path, sizeof(path), "%s/csv2/measurements.csv", dir);
	b = tu_read(path);
	cr_assert_str_eq(a, b, "export: the daemon and the store differ");
	free(a);
	free(b);
}
