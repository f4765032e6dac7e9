/*
 * benchutil.c: the daemon benchmarks' shared set-up (benchutil.h).
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#include "benchutil.h"
#include "zmtp.h"

char bu_bindir[4096], bu_dir[256];
int bu_hub_threads;

double
bu_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
bu_dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double
bu_pct(const double *v, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);

	if (n <= 0)
		return 0;
	return v[i < n ? i : n - 1];
}

int
bu_init(const char *argv0, const char *name)
{
	char path[PATH_MAX];

	snprintf(bu_bindir, sizeof(bu_bindir), "%s", argv0);
	if (strrchr(bu_bindir, '/'))
		*strrchr(bu_bindir, '/') = '\0';
	else
		snprintf(bu_bindir, sizeof(bu_bindir), ".");
	if (realpath(bu_bindir, path) != NULL &&
	    strlen(path) < sizeof(bu_bindir))
		memcpy(bu_bindir, path, strlen(path) + 1);
	snprintf(bu_dir, sizeof(bu_dir), "/tmp/ucr-bench-%s-XXXXXX", name);
	if (mkdtemp(bu_dir) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	return 0;
}

int
bu_sh(const char *fmt, ...)
{
	char cmd[8192], full[8192 + 4200];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "PATH=%s:$PATH; %s", bu_bindir, cmd);
	st = system(full);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int
bu_conf(const char *name, const char *fmt, ...)
{
	char path[400];
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.conf", bu_dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
	return 0;
}

pid_t
bu_spawn(const char *prog, const char *name)
{
	pid_t pid = fork();

	if (pid == 0) {
		char path[4400], conf[300], log[300];

		snprintf(conf, sizeof(conf), "%s/%s.conf", bu_dir, name);
		snprintf(log, sizeof(log), "%s/%s.log", bu_dir, name);
		if (freopen(log, "w", stderr) == NULL)
			_exit(127);
		snprintf(path, sizeof(path), "%s/%s", bu_bindir, prog);
		execl(path, prog, "-d", "-f", conf, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* One request: on the REQ socket req, or else a connection to path. */
static Ucr__Reply *
ask(void *req, const char *path, const Ucr__Request *rq)
{
	uint8_t buf[4096], *out;
	size_t len = ucr__request__pack(rq, buf), outlen;
	Ucr__Reply *rep;
	zmq_msg_t m;
	char why[256];
	int sent;

	if (req == NULL) {
		if (cli_zmtp_request(path, buf, len, &out, &outlen, 10000,
			&sent, why, sizeof(why)) != 0) {
			fprintf(stderr, "bench: %s\n", why);
			return NULL;
		}
		rep = ucr__reply__unpack(NULL, outlen, out);
		free(out);
		return rep;
	}
	if (zmq_send(req, buf, len, 0) < 0)
		return NULL;
	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, req, 0) < 0) {
		zmq_msg_close(&m);
		return NULL;
	}
	rep = ucr__reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
	zmq_msg_close(&m);
	return rep;
}

Ucr__Reply *
bu_ask(void *req, const Ucr__Request *rq)
{
	return ask(req, NULL, rq);
}

Ucr__Reply *
bu_ask_path(const char *path, const Ucr__Request *rq)
{
	return ask(NULL, path, rq);
}

void
bu_network(Ucr__Record *r, Ucr__Network *n, const char *owner, char *key,
    char *name)
{
	r->key = key;
	r->owner = (char *)owner;
	r->body_case = UCR__RECORD__BODY_NETWORK;
	r->network = n;
	n->name = name;
	n->joined = "2009-01-01";
}

static int
put_one(void *req, const char *path, const char *code, const char *prefix, const char *label,
    int i, uint64_t *seq)
{
	Ucr__Request rq = UCR__REQUEST__INIT;
	Ucr__Put put = UCR__PUT__INIT;
	Ucr__Record r = UCR__RECORD__INIT;
	Ucr__Network n = UCR__NETWORK__INIT;
	Ucr__Reply *rep;
	uint8_t id[16];
	char key[64], name[64];
	int rc;

	snprintf(key, sizeof(key), "%s/network/%s%d", code, prefix, i);
	snprintf(name, sizeof(name), "%s %d", label, i);
	bu_network(&r, &n, code, key, name);
	put.record = &r;
	rq.body_case = UCR__REQUEST__BODY_PUT;
	rq.put = &put;
	randombytes_buf(id, sizeof(id));
	rq.request_id.data = id;
	rq.request_id.len = sizeof(id);
	if ((rep = ask(req, path, &rq)) == NULL)
		return -1;
	if ((rc = rep->code) == 0 && seq != NULL)
		*seq = rep->last_seq;
	else if (rc != 0)
		fprintf(stderr, "put %s: %s\n", key, rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	return rc;
}

int
bu_put_one(void *req, const char *code, const char *prefix, const char *label,
    int i, uint64_t *seq)
{
	return put_one(req, NULL, code, prefix, label, i, seq);
}

int
bu_put_one_path(const char *path, const char *code, const char *prefix,
    const char *label, int i, uint64_t *seq)
{
	return put_one(NULL, path, code, prefix, label, i, seq);
}

int
bu_read_pk(const char *name, uint8_t pk[32])
{
	char path[400], hex[80];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/%s.pk", bu_dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	rc = fscanf(f, "%79s", hex);
	fclose(f);
	if (rc != 1)
		return -1;
	return sodium_hex2bin(pk, 32, hex, strlen(hex), NULL, NULL, NULL);
}

void
bu_wait_socket(const char *name)
{
	int i;

	for (i = 0; i < 100 && bu_sh("test -S %s/%s.sock", bu_dir, name) != 0;
	     i++)
		usleep(50000);
}

int
bu_region_start(struct bu_region *r, int nodes, const char *const *codes,
    int port, const char *map_size)
{
	char name[16];
	int i;

	memset(r, 0, sizeof(*r));
	if (nodes < 1 || nodes > BU_MAXNODES)
		return -1;
	r->nodes = nodes;
	r->port = port;
	if (bu_sh("cd %s && ucr keygen --out hub.key > hub.pk", bu_dir) != 0)
		return -1;
	for (i = 0; i < nodes; i++)
		if (bu_sh("cd %s && ucr keygen --out n%d.key > n%d.pk", bu_dir,
			i, i) != 0)
			return -1;
	if (bu_read_pk("hub", r->hubpk) != 0)
		return -1;
	sodium_bin2hex(r->hubhex, sizeof(r->hubhex), r->hubpk, 32);
	if (bu_conf("hub",
		"[hub]\nkey = hub.key\ndata = hub.data\ncontrol = "
		"ipc://hub.sock\nlisten = tcp://127.0.0.1:%d\nmap_size = %s\n"
		"%s%.0d%s",
		port, map_size, bu_hub_threads ? "ingest_threads = " : "",
		bu_hub_threads, bu_hub_threads ? "\n" : "") != 0)
		return -1;
	for (i = 0; i < nodes; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		if (bu_conf(name,
			"[node]\nmunicipality = %s\nkey = n%d.key\ndata = "
			"n%d.data\ncontrol = ipc://n%d.sock\nhub = "
			"tcp://127.0.0.1:%d\nhub_key = %s\nmap_size = %s\n",
			codes[i], i, i, i, port, r->hubhex, map_size) != 0)
			return -1;
	}
	/* the configurations name files relative to themselves */
	r->hub = bu_spawn("ucr-hub", "hub");
	bu_wait_socket("hub");
	for (i = 0; i < nodes; i++)
		if (bu_sh("cd %s && ucr -c hub.conf roster add %s $(cat "
			  "n%d.pk) >/dev/null",
			bu_dir, codes[i], i) != 0)
			return -1;
	for (i = 0; i < nodes; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		r->node[i] = bu_spawn("ucr-node", name);
	}
	for (i = 0; i < nodes; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		bu_wait_socket(name);
	}
	sleep(2); /* every node says hello and takes the roster */
	return 0;
}

void
bu_region_stop(struct bu_region *r)
{
	int i;

	for (i = 0; i < r->nodes; i++)
		if (r->node[i] > 0)
			kill(r->node[i], SIGTERM);
	if (r->hub > 0)
		kill(r->hub, SIGTERM);
	for (i = 0; i < r->nodes; i++)
		if (r->node[i] > 0)
			waitpid(r->node[i], NULL, 0);
	if (r->hub > 0)
		waitpid(r->hub, NULL, 0);
	memset(r->node, 0, sizeof(r->node));
	r->hub = 0;
}

void
bu_mem_kib(pid_t pid, long *rss, long *hwm, long *dirty)
{
	char path[64], line[256];
	FILE *f;

	*rss = *hwm = *dirty = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), f)) {
			if (strncmp(line, "VmRSS:", 6) == 0)
				*rss = atol(line + 6);
			if (strncmp(line, "VmHWM:", 6) == 0)
				*hwm = atol(line + 6);
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "Private_Dirty:", 14) == 0)
				*dirty = atol(line + 14);
		fclose(f);
	}
}

double
bu_cpu_s(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* after the command's name in parentheses: state is field 3 */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
		&ut, &st) != 2)
		return -1;
	return (double)(ut + st) / sysconf(_SC_CLK_TCK);
}

void
bu_cleanup(void)
{
	if (getenv("UCR_BENCH_KEEP") == NULL && bu_dir[0] != '\0')
		bu_sh("rm -rf '%s'", bu_dir);
}

int
bu_rows_csv(const char *path, long n)
{
	FILE *f;
	long i;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs("kind,owner,indicator,year,gender,value,status,area\n", f);
	for (i = 0; i < n; i++)
		fprintf(f, "measure,,N%05ld,%ld,%c,%ld.%02ld,,\n", 1 + i / 105,
		    1990 + (i / 3) % 35, "TKM"[i % 3], (i * 7919) % 1000,
		    i % 100);
	return fclose(f) == 0 ? 0 : -1;
}
