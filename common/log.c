/* log.c: ntpd-style logging to stderr or syslog. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static int log_foreground = 1;
static int log_verbose;
static const char *log_ident = "ucr";

void
log_init(const char *ident, int foreground, int verbose)
{
	log_ident = ident;
	log_foreground = foreground;
	log_verbose = verbose;
	if (!foreground)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static void
vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_foreground) {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s: %s%s%s\n", when,
		    ts.tv_nsec / 1000000, log_ident, buf, suffix ? ": " : "",
		    suffix ? suffix : "");
		fflush(stderr);
	} else
		syslog(pri, "%s%s%s", buf, suffix ? ": " : "",
		    suffix ? suffix : "");
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	const char *e = strerror(errno);

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, e);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

/* ------------------------------------------------------------ limited */

/* One key's current window. */
struct limit {
	char key[48];
	int64_t start;       /* window start (s, monotonic); 0: free slot */
	unsigned shown;      /* lines written in this window */
	unsigned suppressed; /* lines counted, not written */
};

static struct limit limits[LOG_LIMIT_KEYS];

static int64_t
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static void
limit_close(struct limit *l)
{
	if (l->suppressed)
		log_warnx("%s: %u more like this in the last %d s, not logged",
		    l->key, l->suppressed, LOG_LIMIT_WINDOW_S);
	l->shown = l->suppressed = 0;
}

void
log_warnx_limited(const char *key, const char *fmt, ...)
{
	struct limit *l = NULL, *spare = NULL;
	int64_t now = mono_s();
	va_list ap;
	size_t i;

	/*
	 * O(LOG_LIMIT_KEYS), scanned only for a refusal. Slot 0 takes every
	 * key that finds no room (no free or expired slot), so the lines
	 * written in a minute never exceed LOG_LIMIT_KEYS * LOG_LIMIT_BURST,
	 * however many keys there are.
	 */
	for (i = 1; i < LOG_LIMIT_KEYS && l == NULL; i++) {
		if (limits[i].start == 0 ||
		    now - limits[i].start >= LOG_LIMIT_WINDOW_S) {
			if (spare == NULL)
				spare = &limits[i];
		} else if (strncmp(limits[i].key, key,
			       sizeof(limits[i].key) - 1) == 0)
			l = &limits[i];
	}
	if (l == NULL && spare != NULL) {
		l = spare;
		if (l->start)
			limit_close(l);
		snprintf(l->key, sizeof(l->key), "%s", key);
		l->start = now;
	}
	if (l == NULL) {
		l = &limits[0];
		if (l->start == 0)
			snprintf(l->key, sizeof(l->key), "(other lines)");
		if (l->start == 0 || now - l->start >= LOG_LIMIT_WINDOW_S) {
			limit_close(l);
			l->start = now;
		}
	}
	if (l->shown >= LOG_LIMIT_BURST) {
		l->suppressed++;
		return;
	}
	l->shown++;
	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, NULL);
	va_end(ap);
}

void
log_limited_flush(void)
{
	int64_t now = mono_s();
	size_t i;

	for (i = 0; i < LOG_LIMIT_KEYS; i++)
		if (limits[i].start &&
		    now - limits[i].start >= LOG_LIMIT_WINDOW_S) {
			limit_close(&limits[i]);
			limits[i].start = 0;
		}
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	const char *e = strerror(errno);

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, e);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
