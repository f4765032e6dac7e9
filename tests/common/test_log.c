/* test_log.c: the log's rate limit for lines a peer can provoke. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

TestSuite(log, .timeout = 10);

static int
count(const char *all, const char *what)
{
	const char *p;
	int n = 0;

	for (p = all; (p = strstr(p, what)) != NULL; p++)
		n++;
	return n;
}

/*
 * 1000 lines under one key write LOG_LIMIT_BURST; another key has its own
 * budget; more keys than the table holds still write a bounded log.
 */
Test(log, limited_per_key, .init = cr_redirect_stderr)
{
	static char buf[1 << 20];
	char key[32];
	size_t len;
	int i;

	log_init("test", 1, 0);
	for (i = 0; i < 1000; i++)
		log_warnx_limited("peer 2403 EPROTO", "peer 2403: bad %d", i);
	for (i = 0; i < 3; i++)
		log_warnx_limited("peer 2480 EPROTO", "peer 2480: bad %d", i);
	for (i = 0; i < 20 * 2 * LOG_LIMIT_KEYS; i++) {
		snprintf(key, sizeof(key), "k%d", i % (2 * LOG_LIMIT_KEYS));
		log_warnx_limited(key, "many: %d", i);
	}
	log_limited_flush();
	fflush(stderr);
	len = fread(buf, 1, sizeof(buf) - 1, cr_get_redirected_stderr());
	buf[len] = '\0';
	cr_assert_eq(count(buf, "peer 2403: bad"), LOG_LIMIT_BURST, "%s", buf);
	cr_assert_str_not_empty(strstr(buf, "peer 2403: bad 9\n"));
	cr_assert_null(strstr(buf, "peer 2403: bad 10\n"));
	cr_assert_eq(count(buf, "peer 2480: bad"), 3);
	/* twice as many keys as the table: still a bounded log */
	cr_assert_leq(count(buf, "many: "), LOG_LIMIT_KEYS * LOG_LIMIT_BURST,
	    "%d lines", count(buf, "many: "));
	cr_assert_geq(count(buf, "many: "), LOG_LIMIT_KEYS);
}
