/*
 * testutil.h: helpers shared by the tests: temp folders, running the real
 * programs and capturing their output, waiting for a condition.
 */
#ifndef UCR_TESTUTIL_H
#define UCR_TESTUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* A new empty folder under $TMPDIR (or /tmp); caller frees the string. */
char *tu_tempdir(void);
/* Remove a folder and everything in it (rm -rf). */
void tu_rmrf(const char *path);
/* Write a file with the given content; 0 or -1. */
int tu_write(const char *path, const char *content);
/* Read a whole file into a malloc'd NUL-terminated string, or NULL. */
char *tu_read(const char *path);

/*
 * Run a shell command (sh -c), capture stdout into *out (malloc'd, may be
 * NULL if out is NULL) and stderr into *err; returns the exit status, or
 * -1 if it could not run or died from a signal. The programs' folder
 * (UCR_BIN_DIR) is first on PATH.
 */
int tu_run(char **out, char **err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Start a program in the background (argv via sh -c exec); pid or -1. */
pid_t tu_spawn(const char *logfile, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Send sig and reap; returns the exit status or -signal. */
int tu_kill(pid_t pid, int sig);
/* Poll cmd every 50 ms until it exits 0 or timeout_ms passes; 0 or -1. */
int tu_wait_cmd(int timeout_ms, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Wait until path exists; 0 or -1. */
int tu_wait_path(const char *path, int timeout_ms);

/*
 * A node of its own: "ucr init node --municipality code" in dir, then
 * ucr-node started on it (log in dir/node.log) and its control socket
 * waited for. conf gets the configuration's path. Returns the daemon's
 * pid, or -1 with nothing left running.
 */
pid_t tu_node_start(const char *dir, const char *code, char *conf,
    size_t conflen);

/*
 * 1 if log, what a program wrote to stderr under LD_DEBUG=libs, has the
 * dynamic linker calling the constructors of a library whose path ends in
 * name ("/libcurl.so.4"): the library was loaded, at start or by dlopen.
 */
int tu_ld_inits(const char *log, const char *name);

#endif
