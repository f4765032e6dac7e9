/*
 * bench_region.c: the whole region on one machine. A hub and M nodes
 * (default 6) run as real processes on loopback; every node imports N
 * Kolada-like measurements at the same time (one streamed import each);
 * the benchmark times until the hub holds all of them and until every
 * node holds every other node's records through the relay. Then, with
 * the region idle, it writes L single records on the first node through
 * its control socket and times each until the hub and another node hold
 * it (latency p50/p99), the round trip of the write itself, and (every
 * 10th write) until a `ucr status` at the hub has answered. Last, each
 * daemon's resident and private dirty memory from /proc. No assertions:
 * it prints, and a RESULT line for bench/run.sh.
 *
 *   bench_region [-m NODES] [-n RECORDS] [-l WRITES] [-p PORT]
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#include "error.h"
#include "keys.h"
#include "record.h"
#include "store.h"

#define MAXN 8

static const char *const codes[MAXN] = {"2480", "2403", "2401", "2409",
    "2404", "2460", "2418", "2421"};
static char bindir[4096], dir[256];

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
sh(const char *fmt, ...)
{
	char cmd[8192], full[8192 + 4200];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "PATH=%s:$PATH; %s", bindir, cmd);
	st = system(full);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static pid_t
spawn(const char *prog, const char *conf, const char *log)
{
	pid_t pid = fork();

	if (pid == 0) {
		char path[4200];

		if (freopen(log, "w", stderr) == NULL)
			_exit(127);
		snprintf(path, sizeof(path), "%s/%s", bindir, prog);
		execl(path, prog, "-d", "-f", conf, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* VmRSS and Private_Dirty of a process, KiB. */
static void
mem_kib(pid_t pid, long *rss, long *dirty)
{
	char path[64], line[256];
	FILE *f;

	*rss = *dirty = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "VmRSS:", 6) == 0)
				*rss = atol(line + 6);
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

struct sum {
	const uint8_t *skip; /* the hub's own log */
	uint64_t total;
};

static int
sum_cb(const struct ucr_head *h, void *arg)
{
	struct sum *s = arg;

	if (memcmp(h->author, s->skip, 32) != 0)
		s->total += h->seq;
	return 0;
}

/* Entries held of the nodes' logs (every log but the hub's). */
static uint64_t
held(struct ucr_store *s, const uint8_t *hubpk)
{
	struct sum sm = {hubpk, 0};

	ucr_store_foreach_head(s, sum_cb, &sm);
	return sm.total;
}

static int
read_pk(const char *name, uint8_t pk[32])
{
	char path[4200], hex[80];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/%s.pk", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	rc = fscanf(f, "%79s", hex);
	fclose(f);
	if (rc != 1)
		return -1;
	return sodium_hex2bin(pk, 32, hex, strlen(hex), NULL, NULL, NULL);
}

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(double *v, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);

	return v[i < n ? i : n - 1];
}

/* One network record through the control socket; the seq written. */
static int
put_one(void *req, int i, uint64_t *seq)
{
	Ucr__Request rq = UCR__REQUEST__INIT;
	Ucr__Put put = UCR__PUT__INIT;
	Ucr__Record r = UCR__RECORD__INIT;
	Ucr__Network n = UCR__NETWORK__INIT;
	Ucr__Reply *rep;
	uint8_t id[16], buf[4096];
	char key[64], name[64];
	size_t len;
	zmq_msg_t m;
	int rc = -1;

	snprintf(key, sizeof(key), "%s/network/L%d", codes[0], i);
	snprintf(name, sizeof(name), "latency probe %d", i);
	r.key = key;
	r.owner = (char *)codes[0];
	r.body_case = UCR__RECORD__BODY_NETWORK;
	r.network = &n;
	n.name = name;
	n.joined = "2009-01-01";
	put.record = &r;
	rq.body_case = UCR__REQUEST__BODY_PUT;
	rq.put = &put;
	randombytes_buf(id, sizeof(id));
	rq.request_id.data = id;
	rq.request_id.len = sizeof(id);
	len = ucr__request__pack(&rq, buf);
	if (zmq_send(req, buf, len, 0) < 0)
		return -1;
	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, req, 0) < 0) {
		zmq_msg_close(&m);
		return -1;
	}
	rep = ucr__reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
	zmq_msg_close(&m);
	if (rep != NULL && rep->code == 0) {
		*seq = rep->last_seq;
		rc = 0;
	} else if (rep != NULL)
		fprintf(stderr, "bench_region: put: %s\n", rep->message);
	if (rep)
		ucr__reply__free_unpacked(rep, NULL);
	return rc;
}

int
main(int argc, char **argv)
{
	int m = 6, nrec = 10000, lat = 200, port = 17890, ch, i, j;
	char tmpl[] = "/tmp/ucr-bench-region-XXXXXX", path[4200], hubhex[80];
	pid_t hub, node[MAXN], imp[MAXN];
	uint8_t hubpk[32], pk0[32];
	struct ucr_store *shub = NULL, *s1 = NULL, *s0 = NULL;
	double t0, t_import = -1, t_hub = -1, t_relay = -1;
	double *l_hub, *l_other, *l_rt, *l_st, l_cli[5];
	int nst = 0;
	uint64_t want, epoch0;
	long rss, dirty, hub_rss, hub_dirty, node_rss = 0, node_dirty = 0;
	void *zctx, *req;
	FILE *f;

	while ((ch = getopt(argc, argv, "m:n:l:p:")) != -1) {
		if (ch == 'm')
			m = atoi(optarg);
		else if (ch == 'n')
			nrec = atoi(optarg);
		else if (ch == 'l')
			lat = atoi(optarg);
		else if (ch == 'p')
			port = atoi(optarg);
		else {
			fprintf(stderr, "usage: bench_region [-m NODES] "
					"[-n RECORDS] [-l WRITES] [-p PORT]\n");
			return 2;
		}
	}
	if (m < 2 || m > MAXN || nrec < 1 || lat < 1) {
		fprintf(stderr, "bench_region: -m 2..%d, -n and -l >= 1\n",
		    MAXN);
		return 2;
	}
	snprintf(bindir, sizeof(bindir), "%s", argv[0]);
	if (strrchr(bindir, '/'))
		*strrchr(bindir, '/') = '\0';
	else
		snprintf(bindir, sizeof(bindir), ".");
	if (realpath(bindir, path) != NULL && strlen(path) < sizeof(bindir))
		memcpy(bindir, path, strlen(path) + 1);
	if (mkdtemp(tmpl) == NULL)
		return 1;
	snprintf(dir, sizeof(dir), "%s", tmpl);
	if (ucr_crypto_init() != 0)
		return 1;
	printf("UCR region benchmark: a hub and %d nodes on loopback, %d "
	       "measurements imported on each at once, %d single writes; "
	       "%ld cores; in %s\n",
	    m, nrec, lat, sysconf(_SC_NPROCESSORS_ONLN), dir);

	if (sh("cd %s && ucr keygen --out hub.key > hub.pk", dir) != 0)
		return 1;
	for (i = 0; i < m; i++)
		if (sh("cd %s && ucr keygen --out n%d.key > n%d.pk", dir, i,
			i) != 0)
			return 1;
	snprintf(path, sizeof(path), "%s/hub.pk", dir);
	if ((f = fopen(path, "r")) == NULL || fscanf(f, "%79s", hubhex) != 1)
		return 1;
	fclose(f);
	if (read_pk("hub", hubpk) != 0 || read_pk("n0", pk0) != 0)
		return 1;
	sh("cd %s && printf '[hub]\\nkey = hub.key\\ndata = hub.data\\ncontrol = "
	   "ipc://hub.sock\\nlisten = tcp://127.0.0.1:%d\\nmap_size = 8G\\n' > "
	   "hub.conf",
	    dir, port);
	for (i = 0; i < m; i++)
		sh("cd %s && printf '[node]\\nmunicipality = %s\\nkey = "
		   "n%d.key\\ndata = n%d.data\\ncontrol = ipc://n%d.sock\\nhub "
		   "= tcp://127.0.0.1:%d\\nhub_key = %s\\nmap_size = 8G\\n' > "
		   "n%d.conf",
		    dir, codes[i], i, i, i, port, hubhex, i);
	snprintf(path, sizeof(path), "%s/hub.conf", dir);
	hub = spawn("ucr-hub", path, strcat(strcpy(tmpl, dir), "/hub.log"));
	for (i = 0; i < 100 && sh("test -S %s/hub.sock", dir) != 0; i++)
		usleep(50000);
	for (i = 0; i < m; i++)
		sh("cd %s && ucr -c hub.conf roster add %s $(cat n%d.pk) "
		   ">/dev/null",
		    dir, codes[i], i);
	for (i = 0; i < m; i++) {
		char log[4200];

		snprintf(path, sizeof(path), "%s/n%d.conf", dir, i);
		snprintf(log, sizeof(log), "%s/n%d.log", dir, i);
		node[i] = spawn("ucr-node", path, log);
	}
	for (i = 0; i < m; i++)
		for (j = 0; j < 100 && sh("test -S %s/n%d.sock", dir, i) != 0;
		    j++)
			usleep(50000);
	sleep(2); /* every node says hello and takes the roster */

	/* Kolada-like rows: indicator, year, gender, a value */
	snprintf(path, sizeof(path), "%s/rows.csv", dir);
	if ((f = fopen(path, "w")) == NULL)
		return 1;
	fputs("kind,owner,indicator,year,gender,value,status,area\n", f);
	for (i = 0; i < nrec; i++)
		fprintf(f, "measure,,N%05d,%d,%c,%d.%02d,,\n", 1 + i / 105,
		    1990 + (i / 3) % 35, "TKM"[i % 3], (i * 7919) % 1000,
		    i % 100);
	fclose(f);

	snprintf(path, sizeof(path), "%s/hub.data", dir);
	if (ucr_store_open(&shub, path, UCR_STORE_RDONLY, 0) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/n1.data", dir);
	if (ucr_store_open(&s1, path, UCR_STORE_RDONLY, 0) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/n0.data", dir);
	if (ucr_store_open(&s0, path, UCR_STORE_RDONLY, 0) != 0 ||
	    ucr_store_identity(s0, NULL, &epoch0, NULL, 0) != 0)
		return 1;
	ucr_store_free(s0);
	want = held(shub, hubpk) + (uint64_t)m * nrec;

	t0 = now_s();
	for (i = 0; i < m; i++)
		if ((imp[i] = fork()) == 0) {
			char cmd[8192];

			snprintf(cmd, sizeof(cmd),
			    "PATH=%s:$PATH; cd %s && ucr -c n%d.conf import "
			    "rows.csv > /dev/null",
			    bindir, dir, i);
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
			_exit(127);
		}
	for (i = 0; i < m; i++) {
		int st;

		waitpid(imp[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "bench_region: import on node %d "
					"failed (see %s)\n",
			    i, dir);
			goto stop;
		}
	}
	t_import = now_s() - t0;
	while (now_s() - t0 < 600) {
		int done = 1;

		if (t_hub < 0 && held(shub, hubpk) >= want)
			t_hub = now_s() - t0;
		if (t_relay < 0) {
			for (i = 0; i < m && done; i++) {
				struct ucr_store *s;

				snprintf(path, sizeof(path), "%s/n%d.data",
				    dir, i);
				if (ucr_store_open(&s, path, UCR_STORE_RDONLY,
					0) != 0)
					done = 0;
				else {
					done = held(s, hubpk) >= want;
					ucr_store_free(s);
				}
			}
			if (done)
				t_relay = now_s() - t0;
		}
		if (t_hub >= 0 && t_relay >= 0)
			break;
		usleep(20000);
	}

	/* latency, idle region: one write at a time */
	l_hub = calloc(lat, sizeof(double));
	l_other = calloc(lat, sizeof(double));
	l_rt = calloc(lat, sizeof(double));
	l_st = calloc(lat, sizeof(double));
	zctx = zmq_ctx_new();
	req = zmq_socket(zctx, ZMQ_REQ);
	snprintf(path, sizeof(path), "ipc://%s/n0.sock", dir);
	zmq_connect(req, path);
	for (i = 0; i < lat; i++) {
		struct ucr_head h;
		uint64_t seq;
		double t, th = -1, to = -1;

		usleep(20000);
		t = now_s();
		if (put_one(req, i, &seq) != 0)
			break;
		l_rt[i] = now_s() - t;
		while (now_s() - t < 5 && (th < 0 || to < 0)) {
			if (th < 0 && ucr_store_head(shub, pk0, epoch0, &h) == 0 &&
			    h.seq >= seq)
				th = now_s() - t;
			if (to < 0 && ucr_store_head(s1, pk0, epoch0, &h) == 0 &&
			    h.seq >= seq)
				to = now_s() - t;
			if (th < 0 || to < 0)
				usleep(100);
		}
		l_hub[i] = th < 0 ? 5 : th;
		l_other[i] = to < 0 ? 5 : to;
		/* every 10th write: until the hub's status answers with it */
		if (i % 10 == 0 && th >= 0 &&
		    sh("cd %s && ucr -c hub.conf status --json > /dev/null",
			dir) == 0)
			l_st[nst++] = now_s() - t;
	}
	zmq_close(req);
	zmq_ctx_term(zctx);
	lat = i;
	qsort(l_hub, lat, sizeof(double), dcmp);
	qsort(l_other, lat, sizeof(double), dcmp);
	qsort(l_rt, lat, sizeof(double), dcmp);
	qsort(l_st, nst, sizeof(double), dcmp);

	/* the floor of the status figure: starting the CLI at all */
	for (i = 0; i < 5; i++) {
		double t = now_s();

		sh("cd %s && ucr --version > /dev/null", dir);
		l_cli[i] = now_s() - t;
	}
	qsort(l_cli, 5, sizeof(double), dcmp);
	mem_kib(hub, &hub_rss, &hub_dirty);
	for (i = 0; i < m; i++) {
		mem_kib(node[i], &rss, &dirty);
		if (rss > node_rss)
			node_rss = rss;
		if (dirty > node_dirty)
			node_dirty = dirty;
	}
	printf("ucr:\n");
	printf("  imports on %d nodes at once (validate, sign, commit) %8.2f s "
	       "%8.0f records/s\n",
	    m, t_import, m * nrec / t_import);
	if (t_hub > 0)
		printf("  all committed at the hub, from the start      %8.2f s "
		       "%8.0f records/s\n",
		    t_hub, m * nrec / t_hub);
	if (t_relay > 0)
		printf("  every node holds every record, from the start %8.2f s "
		       "%8.0f records/s\n",
		    t_relay, m * nrec / t_relay);
	if (t_hub < 0 || t_relay < 0)
		printf("  did not converge within 600 s (see %s)\n", dir);
	if (lat > 0) {
		printf("  one write, control round trip  p50 %6.2f ms  p99 %6.2f "
		       "ms\n",
		    pct(l_rt, lat, .5) * 1e3, pct(l_rt, lat, .99) * 1e3);
		printf("  write -> held at the hub       p50 %6.2f ms  p99 %6.2f "
		       "ms\n",
		    pct(l_hub, lat, .5) * 1e3, pct(l_hub, lat, .99) * 1e3);
		printf("  write -> held at another node  p50 %6.2f ms  p99 %6.2f "
		       "ms\n",
		    pct(l_other, lat, .5) * 1e3, pct(l_other, lat, .99) * 1e3);
	}
	if (nst > 0)
		printf("  write -> hub's ucr status answered (CLI process "
		       "included) p50 %6.2f ms  max %6.2f ms (%d writes)\n",
		    pct(l_st, nst, .5) * 1e3, l_st[nst - 1] * 1e3, nst);
	printf("  starting the CLI at all (ucr --version) median %6.2f ms\n",
	    l_cli[2] * 1e3);
	printf("  memory: hub rss %ld MiB, private dirty %ld MiB; largest node "
	       "rss %ld MiB, private dirty %ld MiB\n",
	    hub_rss / 1024, hub_dirty / 1024, node_rss / 1024,
	    node_dirty / 1024);
	printf("RESULT region_rps=%.0f region_relay_rps=%.0f "
	       "rt_p50_ms=%.2f rt_p99_ms=%.2f hub_p50_ms=%.2f hub_p99_ms=%.2f "
	       "other_p50_ms=%.2f other_p99_ms=%.2f hub_rss_kib=%ld "
	       "hub_dirty_kib=%ld node_rss_kib=%ld node_dirty_kib=%ld "
	       "status_p50_ms=%.2f status_max_ms=%.2f cli_ms=%.2f\n",
	    t_hub > 0 ? m * nrec / t_hub : 0,
	    t_relay > 0 ? m * nrec / t_relay : 0,
	    lat ? pct(l_rt, lat, .5) * 1e3 : 0,
	    lat ? pct(l_rt, lat, .99) * 1e3 : 0,
	    lat ? pct(l_hub, lat, .5) * 1e3 : 0,
	    lat ? pct(l_hub, lat, .99) * 1e3 : 0,
	    lat ? pct(l_other, lat, .5) * 1e3 : 0,
	    lat ? pct(l_other, lat, .99) * 1e3 : 0, hub_rss, hub_dirty,
	    node_rss, node_dirty, nst ? pct(l_st, nst, .5) * 1e3 : 0,
	    nst ? l_st[nst - 1] * 1e3 : 0, l_cli[2] * 1e3);
	free(l_hub);
	free(l_other);
	free(l_rt);
	free(l_st);
stop:
	ucr_store_free(shub);
	ucr_store_free(s1);
	for (i = 0; i < m; i++)
		kill(node[i], SIGTERM);
	kill(hub, SIGTERM);
	for (i = 0; i < m; i++)
		waitpid(node[i], NULL, 0);
	waitpid(hub, NULL, 0);
	if (getenv("UCR_BENCH_KEEP") == NULL)
		sh("rm -rf '%s'", dir);
	return 0;
}
