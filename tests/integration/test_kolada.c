/*
 * test_kolada.c: "ucr kolada fetch" end to end, against a stand-in for
 * the Kolada API: a small HTTP server on loopback, forked by each test,
 * that answers the requests it gets in order from a script (Kolada v2's
 * data format: values per KPI, municipality and period, split by gender,
 * nulls, next_page) and logs each request line. The fetch imports into
 * a real ucr-node (offline); what it stored is read with "ucr show".
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "testutil.h"

static char *dir;
static char conf[600], reqlog[600];
static pid_t node = -1, server = -1;
static int port;

/* One scripted answer. */
enum { ANSWER, HANG };
struct answer {
	int mode;
	int status;
	char *body;
};

static void
setup(void)
{
	dir = tu_tempdir();
	cr_assert_not_null(dir);
	snprintf(reqlog, sizeof(reqlog), "%s/requests.log", dir);
	node = tu_node_start(dir, "2403", conf, sizeof(conf));
	cr_assert_gt(node, 0, "ucr-node did not start");
}

static void
teardown(void)
{
	if (server > 0) {
		kill(server, SIGKILL);
		waitpid(server, NULL, 0);
	}
	server = -1;
	if (node > 0)
		tu_kill(node, SIGTERM);
	node = -1;
	tu_rmrf(dir);
	free(dir);
}

TestSuite(kolada, .init = setup, .fini = teardown, .timeout = 120);

/* ------------------------------------------------------------ server */

static void
serve_one(int c, const struct answer *a, FILE *log)
{
	char req[8192], head[256];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(req) - 1 &&
	    (n = read(c, req + len, sizeof(req) - 1 - len)) > 0) {
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	req[len] = '\0';
	req[strcspn(req, "\r\n")] = '\0';
	fprintf(log, "%s\n", req);
	fflush(log);
	if (a == NULL) {
		a = &(struct answer){ANSWER, 404, "{\"error\": \"no script\"}"};
	}
	if (a->mode == HANG) {
		sleep(60);
		return;
	}
	snprintf(head, sizeof(head),
	    "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	    a->status, strlen(a->body));
	if (write(c, head, strlen(head)) < 0 ||
	    write(c, a->body, strlen(a->body)) < 0)
		return;
}

/* Fork the server; it answers the n scripted answers in order. */
static void
start_server(int fd, const struct answer *script, size_t n)
{
	server = fork();
	cr_assert_geq(server, 0);
	if (server == 0) {
		FILE *log = fopen(reqlog, "a");
		size_t i;

		for (i = 0;; i++) {
			int c = accept(fd, NULL, NULL);

			if (c < 0)
				_exit(1);
			serve_one(c, i < n ? &script[i] : NULL, log);
			close(c);
		}
	}
	close(fd);
}

/* A listening socket on 127.0.0.1 and its port (into port). */
static int
listen_local(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	cr_assert_geq(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 16), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);
	return fd;
}

/* Run "ucr kolada fetch ARGS" against the stand-in; no proxy. */
static int
fetch(char **out, char **err, const char *args)
{
	return tu_run(out, err,
	    "env -u http_proxy -u https_proxy -u all_proxy -u HTTPS_PROXY "
	    "-u ALL_PROXY ucr -c '%s' kolada fetch --base-url "
	    "http://127.0.0.1:%d/v2 %s",
	    conf, port, args);
}

/* "ucr show measure --json", parsed. */
static json_t *
measures(void)
{
	char *out = NULL;
	json_error_t e;
	json_t *j;

	cr_assert_eq(tu_run(&out, NULL, "ucr -c '%s' show measure --json",
			 conf),
	    0);
	j = json_loads(out, 0, &e);
	cr_assert(json_is_array(j), "%s", out);
	free(out);
	return j;
}

/* The body of the measurement with key, or NULL (borrowed). */
static json_t *
measure(json_t *all, const char *key)
{
	size_t i;
	json_t *el;

	json_array_foreach(all, i, el)
	{
		if (strcmp(json_string_value(json_object_get(el, "key")),
			key) == 0)
			return json_object_get(el, "body");
	}
	return NULL;
}

#define PATH "/v2/data/kpi/N00401,N01951/municipality/2403/year/2021,2022"

/* Page 1: N00401 for 2021 split by gender, 2022 total a null. */
static char *
page1(int with_next)
{
	char next[256] = "", *s;

	if (with_next)
		snprintf(next, sizeof(next),
		    ", \"next_page\": \"http://127.0.0.1:%d" PATH
		    "?page=2&per_page=2\"",
		    port);
	cr_assert(asprintf(&s,
		      "{\"count\": 3, \"values\": ["
		      "{\"kpi\": \"N00401\", \"municipality\": \"2403\", "
		      "\"period\": 2021, \"values\": ["
		      "{\"count\": 1, \"gender\": \"T\", \"status\": \"\", "
		      "\"value\": 9.1},"
		      "{\"count\": 1, \"gender\": \"K\", \"status\": \"\", "
		      "\"value\": 7.25},"
		      "{\"count\": 1, \"gender\": \"M\", \"status\": \"\", "
		      "\"value\": 10.9}]},"
		      "{\"kpi\": \"N00401\", \"municipality\": \"2403\", "
		      "\"period\": 2022, \"values\": ["
		      "{\"count\": 0, \"gender\": \"T\", \"status\": \"\", "
		      "\"value\": null}]}]%s}",
		      next) > 0);
	return s;
}

/* Page 2: N01951 for 2021, the last page. */
static char *
page2(void)
{
	return strdup("{\"count\": 1, \"values\": ["
		      "{\"kpi\": \"N01951\", \"municipality\": \"2403\", "
		      "\"period\": \"2021\", \"values\": ["
		      "{\"count\": 1, \"gender\": \"T\", \"status\": \"\", "
		      "\"value\": 2381},"
		      "{\"count\": 1, \"gender\": \"K\", \"status\": \"\", "
		      "\"value\": 1166},"
		      "{\"count\": 1, \"gender\": \"M\", \"status\": \"\", "
		      "\"value\": 1215}]}], \"next_page\": null}");
}

/* GET /kpi/N00401,N01951: the KPIs' titles (Kolada's metadata). */
#define TITLES                                                                 \
	"{\"count\": 2, \"values\": ["                                         \
	"{\"id\": \"N00401\", \"title\": \"Utsläpp av växthusgaser totalt, " \
	"ton CO2-ekv/inv\", \"is_divided_by_gender\": 0, "                     \
	"\"municipality_type\": \"K\", \"operating_area\": \"Miljö\"},"       \
	"{\"id\": \"N01951\", \"title\": \"Invånare totalt, antal\", "        \
	"\"is_divided_by_gender\": 1, \"municipality_type\": \"K\"}]}"

static char *
requests(void)
{
	char *s = tu_read(reqlog);

	return s ? s : strdup("");
}

/* ------------------------------------------------------------ tests */

Test(kolada, pages_genders_and_nulls)
{
	struct answer script[3] = {{ANSWER, 200, NULL}, {ANSWER, 200, NULL},
	    {ANSWER, 200, TITLES}};
	char *out = NULL, *err = NULL, *log, *mtext;
	json_t *all, *m;
	int fd = listen_local(), rc;

	/* an indicator declared by hand keeps its title and unit */
	cr_assert_eq(tu_run(NULL, &err,
			 "ucr -c '%s' indicator add N01951 --title "
			 "Folkmängd --unit inv",
			 conf),
	    0, "%s", err);
	free(err);
	err = NULL;
	script[0].body = page1(1);
	script[1].body = page2();
	start_server(fd, script, 3);
	rc = fetch(&out, &err, "--kpi N00401,N01951 --years 2021-2022");
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert(strstr(out, "imported 7 records from Kolada") != NULL, "%s",
	    out);
	cr_assert(strstr(out, "2 pages) and 1 indicator title\n") != NULL, "%s",
	    out);
	log = requests();
	cr_assert(strstr(log, "GET " PATH " HTTP/1.1\n") != NULL, "%s", log);
	cr_assert(strstr(log, "GET " PATH "?page=2&per_page=2 HTTP") != NULL,
	    "%s", log);
	cr_assert(strstr(log, "GET /v2/kpi/N00401,N01951 HTTP/1.1\n") != NULL,
	    "%s", log);
	free(log);

	/* the KPI's title from Kolada; the declared one as it was */
	cr_assert_eq(tu_run(&log, NULL, "ucr -c '%s' show indicator --json",
			 conf),
	    0);
	cr_assert(strstr(log,
		      "\"title\": \"Utsläpp av växthusgaser totalt, "
		      "ton CO2-ekv/inv\"") != NULL,
	    "%s", log);
	cr_assert(strstr(log, "\"title\": \"Folkmängd\"") != NULL, "%s", log);
	cr_assert(strstr(log, "\"unit\": \"inv\"") != NULL, "%s", log);
	cr_assert(strstr(log, "Invånare totalt") == NULL, "%s", log);
	free(log);

	all = measures();
	cr_assert_eq(json_array_size(all), 7);
	m = measure(all, "2403/measure/N00401/2021/K");
	cr_assert_not_null(m);
	cr_assert_str_eq(json_string_value(json_object_get(m, "value")),
	    "7.25");
	cr_assert_not_null(measure(all, "2403/measure/N00401/2021/M"));
	cr_assert_not_null(measure(all, "2403/measure/N01951/2021/T"));
	/* a Kolada null is missing, never 0 */
	m = measure(all, "2403/measure/N00401/2022/T");
	cr_assert_not_null(m);
	mtext = json_dumps(m, 0);
	cr_assert_not_null(mtext);
	cr_assert_null(json_object_get(m, "value"), "%s", mtext);
	cr_assert(strstr(mtext, "MISSING") != NULL ||
		strstr(mtext, "missing") != NULL,
	    "%s", mtext);
	free(mtext);
	json_decref(all);
	free(script[0].body);
	free(script[1].body);
	free(out);
	free(err);
}

Test(kolada, server_error_then_success)
{
	struct answer script[3] = {{ANSWER, 500, "{\"error\": \"busy\"}"},
	    {ANSWER, 200, NULL}, {ANSWER, 200, TITLES}};
	char *out = NULL, *err = NULL, *log, *p;
	json_t *all;
	int fd = listen_local(), rc, n = 0;

	script[1].body = page1(0);
	start_server(fd, script, 3);
	rc = fetch(&out, &err, "--kpi N00401,N01951 --years 2021-2022 --json");
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert(strstr(out, "\"records\": 4") != NULL, "%s", out);
	cr_assert(strstr(out, "\"indicators\": 2") != NULL, "%s", out);
	cr_assert(strstr(out, "\"pages\": 1") != NULL, "%s", out);
	log = requests();
	for (p = log; (p = strstr(p, "GET " PATH " ")) != NULL; p++)
		n++;
	cr_assert_eq(n, 2, "the same page twice: %s", log);
	free(log);
	all = measures();
	cr_assert_eq(json_array_size(all), 4);
	json_decref(all);
	free(script[1].body);
	free(out);
	free(err);
}

Test(kolada, truncated_json_imports_nothing)
{
	struct answer script[2] = {{ANSWER, 200, NULL}, {ANSWER, 200, NULL}};
	char *out = NULL, *err = NULL, *full;
	json_t *all;
	int fd = listen_local(), rc;

	script[0].body = page1(1);
	full = page2();
	full[strlen(full) / 2] = '\0'; /* cut in the middle */
	script[1].body = full;
	start_server(fd, script, 2);
	rc = fetch(&out, &err, "--kpi N00401,N01951 --years 2021-2022");
	cr_assert_eq(rc, 1, "%s%s", out, err);
	cr_assert(strstr(err, "malformed JSON") != NULL, "%s", err);
	cr_assert(strstr(err, "nothing imported") != NULL, "%s", err);
	cr_assert(strchr(err, '\n') == strrchr(err, '\n'), "one line: %s", err);
	/* page 1 was good, yet nothing of it is stored */
	all = measures();
	cr_assert_eq(json_array_size(all), 0);
	json_decref(all);
	free(script[0].body);
	free(full);
	free(out);
	free(err);
}

Test(kolada, timeout_is_a_clear_error)
{
	struct answer script[2] = {{HANG, 0, NULL}, {HANG, 0, NULL}};
	char *out = NULL, *err = NULL;
	struct timespec a, b;
	json_t *all;
	int fd = listen_local(), rc;

	start_server(fd, script, 2);
	clock_gettime(CLOCK_MONOTONIC, &a);
	rc = fetch(&out, &err,
	    "--kpi N00401 --years 2021 --timeout 1 --retries 1");
	clock_gettime(CLOCK_MONOTONIC, &b);
	cr_assert_eq(rc, 1, "%s%s", out, err);
	cr_assert(strstr(err, "no answer within 1 s (2 tries)") != NULL, "%s",
	    err);
	cr_assert_lt(b.tv_sec - a.tv_sec, 15);
	all = measures();
	cr_assert_eq(json_array_size(all), 0);
	json_decref(all);
	free(out);
	free(err);
}

Test(kolada, refusals)
{
	struct answer script[3] = {{ANSWER, 404, "{\"error\": \"unknown\"}"},
	    {ANSWER, 200, NULL}, {ANSWER, 200, NULL}};
	char *err = NULL, *log;
	int fd = listen_local(), rc;

	/* next_page elsewhere is not followed */
	cr_assert(asprintf(&script[1].body,
		      "{\"values\": [], \"next_page\": "
		      "\"http://127.0.0.2:%d/v2/data?page=2\"}",
		      port) > 0);
	/* a row of the wrong shape is refused by the importer */
	script[2].body = strdup("{\"values\": [{\"kpi\": \"N00401\", "
				"\"municipality\": \"2403\", \"period\": "
				"2021, \"values\": [{\"gender\": \"X\", "
				"\"value\": 1}]}]}");
	start_server(fd, script, 3);

	/* usage errors ask nothing of the server */
	cr_assert_eq(fetch(NULL, NULL, "--kpi N00401 --years 2022-2020"), 2);
	cr_assert_eq(fetch(NULL, NULL, "--kpi 'N00401/x' --years 2022"), 2);
	cr_assert_eq(fetch(NULL, NULL, "--years 2022"), 2);
	cr_assert_eq(tu_run(NULL, NULL,
			 "ucr -c '%s' kolada --kpi N00401 "
			 "--years 2022",
			 conf),
	    2);

	/* 404: not tried again */
	rc = fetch(NULL, &err, "--kpi N00401 --years 2021");
	cr_assert_eq(rc, 1);
	cr_assert(strstr(err, "HTTP 404 (1 try)") != NULL, "%s", err);
	free(err);
	rc = fetch(NULL, &err, "--kpi N00401 --years 2021");
	cr_assert_eq(rc, 1);
	cr_assert(strstr(err, "is not on http://127.0.0.1:") != NULL, "%s",
	    err);
	free(err);
	rc = fetch(NULL, &err, "--kpi N00401 --years 2021");
	cr_assert_eq(rc, 1);
	cr_assert(strstr(err, "field 'values[1].gender'") != NULL, "%s", err);
	free(err);
	log = requests();
	cr_assert(strstr(log, "127.0.0.2") == NULL);
	free(log);
	free(script[1].body);
	free(script[2].body);
}

/* libcurl takes the proxy from http_proxy: the stand-in plays the proxy
   for a host that does not exist, and sees the absolute address. */
Test(kolada, through_a_proxy)
{
	struct answer script[2] = {{ANSWER, 200, NULL}, {ANSWER, 200, TITLES}};
	char *out = NULL, *err = NULL, *log;
	json_t *all;
	int fd = listen_local(), rc;

	script[0].body = page1(0);
	start_server(fd, script, 2);
	rc = tu_run(&out, &err,
	    "env -u https_proxy -u all_proxy -u HTTPS_PROXY -u ALL_PROXY "
	    "-u no_proxy -u NO_PROXY http_proxy=http://127.0.0.1:%d "
	    "ucr -c '%s' kolada fetch --base-url http://kolada.invalid/v2 "
	    "--kpi N00401,N01951 --years 2021-2022 --retries 0",
	    port, conf);
	cr_assert_eq(rc, 0, "%s%s", out, err);
	cr_assert(strstr(out, "imported 4 records") != NULL, "%s", out);
	log = requests();
	cr_assert(strstr(log,
		      "GET http://kolada.invalid/v2/data/kpi/"
		      "N00401,N01951/municipality/2403/year/"
		      "2021,2022 HTTP/1.1\n") != NULL,
	    "%s", log);
	cr_assert(strstr(log,
		      "GET http://kolada.invalid/v2/kpi/"
		      "N00401,N01951 HTTP/1.1\n") != NULL,
	    "%s", log);
	free(log);
	all = measures();
	cr_assert_eq(json_array_size(all), 4);
	json_decref(all);
	free(script[0].body);
	free(out);
	free(err);
}

/* On a terminal (script(1) gives it one) stderr shows the pages. */
Test(kolada, progress_on_a_terminal)
{
	struct answer script[3] = {{ANSWER, 200, NULL}, {ANSWER, 200, NULL},
	    {ANSWER, 200, TITLES}};
	char *out = NULL, *err = NULL;
	int fd = listen_local(), rc;

	script[0].body = page1(1);
	script[1].body = page2();
	start_server(fd, script, 3);
	rc = tu_run(&out, &err,
	    "script -qec \"env -u http_proxy -u https_proxy -u all_proxy "
	    "ucr -c '%s' kolada fetch --base-url http://127.0.0.1:%d/v2 "
	    "--kpi N00401,N01951 --years 2021-2022\" /dev/null",
	    conf, port);
	cr_assert_eq(rc, 0, "%s%s", out, err);
	cr_assert(strstr(out, "kolada: page 1, 0 rows") != NULL, "%s", out);
	cr_assert(strstr(out, "kolada: page 2, 2 rows") != NULL, "%s", out);
	cr_assert(strstr(out, "imported 7 records") != NULL, "%s", out);
	free(script[0].body);
	free(script[1].body);
	free(out);
	free(err);
}

/* ------------------------------------------------ libcurl, on first use */

/* ucr does not link libcurl (cli/dl.h): nothing of it in the executable's
   NEEDED list, nothing of it loaded by a command that does not fetch, and
   libcurl loaded by kolada fetch. */
Test(kolada, libcurl_loaded_only_by_kolada)
{
	struct answer script[2] = {{ANSWER, 200, NULL}, {ANSWER, 200, TITLES}};
	char *out = NULL, *err = NULL;
	int fd = listen_local(), rc;

	cr_assert_eq(tu_run(&out, NULL, "readelf -d '%s/ucr'", UCR_BIN_DIR), 0);
	cr_assert(strstr(out, "(NEEDED)") != NULL, "%s", out);
	cr_assert(strstr(out, "libcurl") == NULL, "%s", out);
	cr_assert(strstr(out, "libgnutls") == NULL, "%s", out);
	cr_assert(strstr(out, "libssl") == NULL, "%s", out);
	free(out);
	out = NULL;

	/* the dynamic linker's own account of what it loaded */
	cr_assert_eq(tu_run(NULL, &err, "LD_DEBUG=libs ucr -c '%s' status",
			 conf),
	    0, "%s", err);
	cr_assert(tu_ld_inits(err, "/libsodium.so.23"), "%s", err);
	cr_assert(strstr(err, "libcurl.so") == NULL, "%s", err);
	free(err);
	err = NULL;

	script[0].body = page1(0);
	start_server(fd, script, 2);
	rc = tu_run(&out, &err,
	    "env -u http_proxy -u https_proxy -u all_proxy LD_DEBUG=libs "
	    "ucr -c '%s' kolada fetch --base-url http://127.0.0.1:%d/v2 "
	    "--kpi N00401,N01951 --years 2021-2022",
	    conf, port);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert(strstr(out, "imported 4 records") != NULL, "%s", out);
	cr_assert(tu_ld_inits(err, "/libcurl.so.4"), "%s", err);
	free(script[0].body);
	free(out);
	free(err);
}

/* Without libcurl (UCR_LIBCURL names a file that is not there): one line
   that names the library and its package, in the user's language, exit
   status 1, no request made and nothing stored. */
Test(kolada, without_libcurl)
{
	static const char want[] = "ucr: kolada: cannot load "
				   "libcurl-none.so.4 (install the libcurl4 "
				   "package): libcurl-none.so.4: ";
	struct answer script[1] = {{ANSWER, 200, NULL}};
	char *out = NULL, *err = NULL, *log;
	json_t *all;
	int fd = listen_local(), rc;

	script[0].body = page1(0);
	start_server(fd, script, 1);
	rc = tu_run(&out, &err,
	    "env -u http_proxy -u LC_ALL -u LC_MESSAGES -u LANGUAGE LANG=C "
	    "UCR_LIBCURL=libcurl-none.so.4 ucr -c '%s' kolada fetch "
	    "--base-url http://127.0.0.1:%d/v2 --kpi N00401 --years 2021",
	    conf, port);
	cr_assert_eq(rc, 1, "%s%s", out, err);
	cr_assert_str_empty(out);
	cr_assert(strncmp(err, want, strlen(want)) == 0, "%s", err);
	cr_assert(strchr(err, '\n') == err + strlen(err) - 1, "one line: %s",
	    err);
	free(out);
	free(err);
	out = err = NULL;

	/* Swedish (tests/integration/test_i18n.c) */
	rc = tu_run(&out, &err,
	    "env -u http_proxy -u LC_ALL -u LC_MESSAGES -u LANGUAGE "
	    "LANG=sv_SE.UTF-8 UCR_LIBCURL=libcurl-none.so.4 ucr -c '%s' "
	    "kolada fetch --base-url http://127.0.0.1:%d/v2 --kpi N00401 "
	    "--years 2021",
	    conf, port);
	cr_assert_eq(rc, 1, "%s%s", out, err);
	cr_assert(strstr(err,
		      "ucr: kolada: kan inte läsa in "
		      "libcurl-none.so.4 (installera paketet "
		      "libcurl4): ") != NULL,
	    "%s", err);
	free(out);
	free(err);

	/* the server heard nothing, the node stored nothing */
	log = requests();
	cr_assert_str_empty(log);
	free(log);
	all = measures();
	cr_assert_eq(json_array_size(all), 0);
	json_decref(all);
	free(script[0].body);
}
