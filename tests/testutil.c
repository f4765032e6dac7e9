/* testutil.c: see testutil.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#ifndef UCR_BIN_DIR
#define UCR_BIN_DIR "."
#endif

static void
set_path(void)
{
	static int done;
	char buf[8192];
	const char *p = getenv("PATH");

	if (done)
		return;
	snprintf(buf, sizeof(buf), "%s:%s", UCR_BIN_DIR,
	    p ? p : "/usr/bin:/bin");
	setenv("PATH", buf, 1);
	done = 1;
}

char *
tu_tempdir(void)
{
	const char *t = getenv("TMPDIR");
	char *p;

	if (asprintf(&p, "%s/ucr-test-XXXXXX", t ? t : "/tmp") < 0)
		return NULL;
	if (mkdtemp(p) == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

void
tu_rmrf(const char *path)
{
	char *cmd;

	if (path == NULL || asprintf(&cmd, "rm -rf '%s'", path) < 0)
		return;
	if (system(cmd) != 0)
		fprintf(stderr, "rm -rf %s failed\n", path);
	free(cmd);
}

int
tu_write(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(content, f);
	return fclose(f) == 0 ? 0 : -1;
}

char *
tu_read(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	buf[len] = '\0';
	fclose(f);
	return buf;
}

int
tu_run(char **out, char **err, const char *fmt, ...)
{
	char *cmd, *full, outp[] = "/tmp/ucr-tu-out-XXXXXX",
			  errp[] = "/tmp/ucr-tu-err-XXXXXX";
	va_list ap;
	int fo, fe, st;

	set_path();
	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		cmd = NULL;
	va_end(ap);
	if (cmd == NULL)
		return -1;
	fo = mkstemp(outp);
	fe = mkstemp(errp);
	close(fo);
	close(fe);
	if (asprintf(&full, "( %s ) </dev/null >%s 2>%s", cmd, outp, errp) <
	    0) {
		free(cmd);
		return -1;
	}
	st = system(full);
	free(full);
	free(cmd);
	if (out)
		*out = tu_read(outp);
	if (err)
		*err = tu_read(errp);
	unlink(outp);
	unlink(errp);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

pid_t
tu_spawn(const char *logfile, const char *fmt, ...)
{
	char *cmd;
	va_list ap;
	pid_t pid;

	set_path();
	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		cmd = NULL;
	va_end(ap);
	if (cmd == NULL)
		return -1;
	pid = fork();
	if (pid == 0) {
		int fd = open(logfile ? logfile : "/dev/null",
		    O_WRONLY | O_CREAT | O_APPEND, 0644);
		int nul = open("/dev/null", O_RDONLY);

		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		setpgid(0, 0);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	free(cmd);
	return pid;
}

int
tu_kill(pid_t pid, int sig)
{
	int st;

	if (pid <= 0)
		return -1;
	kill(pid, sig);
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return -WTERMSIG(st);
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

int
tu_wait_cmd(int timeout_ms, const char *fmt, ...)
{
	char *cmd;
	va_list ap;
	long end = now_ms() + timeout_ms;
	int rc;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		cmd = NULL;
	va_end(ap);
	if (cmd == NULL)
		return -1;
	do {
		rc = tu_run(NULL, NULL, "%s", cmd);
		if (rc == 0)
			break;
		usleep(50000);
	} while (now_ms() < end);
	free(cmd);
	return rc == 0 ? 0 : -1;
}

int
tu_wait_path(const char *path, int timeout_ms)
{
	long end = now_ms() + timeout_ms;
	struct stat st;

	while (stat(path, &st) != 0) {
		if (now_ms() >= end)
			return -1;
		usleep(20000);
	}
	return 0;
}

pid_t
tu_node_start(const char *dir, const char *code, char *conf, size_t conflen)
{
	char log[600], sock[600];
	pid_t pid;

	if (tu_run(NULL, NULL, "ucr init node --municipality %s --dir '%s'",
		code, dir) != 0)
		return -1;
	snprintf(conf, conflen, "%s/node.conf", dir);
	snprintf(log, sizeof(log), "%s/node.log", dir);
	snprintf(sock, sizeof(sock), "%s/control.sock", dir);
	if ((pid = tu_spawn(log, "exec ucr-node -d -f '%s'", conf)) <= 0)
		return -1;
	if (tu_wait_path(sock, 10000) != 0) {
		tu_kill(pid, SIGTERM);
		return -1;
	}
	return pid;
}

int
tu_ld_inits(const char *log, const char *name)
{
	size_t n = strlen(name);
	const char *p, *e;

	for (p = log; (p = strstr(p, "calling init: ")) != NULL; p = e) {
		e = p + strcspn(p, "\n");
		if ((size_t)(e - p) >= n && strncmp(e - n, name, n) == 0)
			return 1;
	}
	return 0;
}
