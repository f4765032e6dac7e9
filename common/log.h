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
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
