/*
 * log.h: daemon logging in the ntpd vocabulary. To stderr in the
 * foreground (-d), else to syslog. One line per event, lower case, naming
 * the object: "peer 2403: bad signature on batch 812-860, dropped".
 */
#ifndef UCR_LOG_H
#define UCR_LOG_H

#include <stdarg.h>

void log_init(const char *ident, int foreground, int verbose);
void log_warn(const char *fmt, ...)
    __attribute__((format(printf, 1, 2))); /* with errno */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Like log_warnx, for lines a peer can provoke at will: per key (e.g.
 * "peer 2403 EPROTO"), the first LOG_LIMIT_BURST lines of each minute are
 * written in full; the rest are only counted, and one line per key and
 * minute says how many were left out. LOG_LIMIT_KEYS - 1 keys are tracked
 * at once; lines of further keys share one more budget, so a minute's
 * log holds at most LOG_LIMIT_KEYS * (LOG_LIMIT_BURST + 1) such lines.
 */
#define LOG_LIMIT_BURST 10
#define LOG_LIMIT_WINDOW_S 60
#define LOG_LIMIT_KEYS 256
void log_warnx_limited(const char *key, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Write the summaries of windows that have ended; call once a second or
 * so from a daemon's timer. */
void log_limited_flush(void);
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
