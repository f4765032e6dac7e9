/*
 * bench_region.c: the whole region on one machine. A hub and M nodes
 * (default 6) run as real processes on loopback; every node imports N
 * Kolada-like measurements at the same time (one streamed import each);
 * the benchmark times until the hub holds all of them and until every
 * node holds every other node's records through the relay. Then, with
 * the region idle, it writes L single records on the first node through
 * its control socket and times each until the hub and another node hold
 * it (latency p50/p99) and the round trip of the write itself; beside
 * them the disk's own p50/p99 of one durable commit. Then S more single
 * writes (-s, default 100), each timed until the hub's `ucr status --json`
 * answers with it: ucr is started as a user would, exec'd directly (no
 * shell), as soon as the hub holds the write, and its whole process is
 * timed; its JSON must count one record more than the answer before,
 * else ucr is run again (counted as a retry, the time still running).
 * The five slowest of them are printed in their parts: until the hub held
 * the write (of it the write's round trip, the node's commit) and the
 * status after that; with UCR_BENCH_TRACE=FILE every one is appended to
 * FILE with its CLOCK_MONOTONIC start, to be read beside the daemons' logs.
 * Beside it the CLI's own start (`ucr --version`, exec'd the same way).
 * With -c MS, while the nodes import and until the hub holds every
 * record, a process of its own asks the hub's control socket for its
 * counters every MS ms (a time missed while an answer is awaited is
 * skipped) and times each answer: how long the hub's loop keeps a
 * control request waiting under ingest.
 * Last, each daemon's resident and private dirty memory from /proc. No
 * assertions: it prints, and a RESULT line for bench/run.sh.
 *
 *   bench_region [-m NODES] [-n RECORDS] [-l WRITES] [-s STATUS] [-p PORT]
 *                [-t INGEST_THREADS]   (the hub's ingest_threads; its default)
 *                [-c MS]               (control answers during the import)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <lmdb.h>
#include <sodium.h>
#include <zmq.h>

#include "error.h"
#include "keys.h"
#include "record.h"
#include "store.h"

#include "benchutil.h"

#define MAXN BU_MAXNODES
#define CLI_RUNS 20 /* ucr --version, to time the CLI's start */
#define SLOWEST 5   /* the slowest writes -> status, printed in parts */

/* One write -> the hub's status, in its parts (seconds). */
struct stsample {
	double at;    /* its start, from the first write of the loop */
	double mono;  /* its start, CLOCK_MONOTONIC (to match daemon logs) */
	double rt;    /* the write's control round trip (the node's commit) */
	double th;    /* until the hub held it (node -> hub, hub's commit) */
	double tp;    /* the status after that (its process, any rerun) */
	double total; /* th + tp */
};

static int
st_cmp(const void *a, const void *b)
{
	double x = ((const struct stsample *)a)->total,
	       y = ((const struct stsample *)b)->total;

	return x < y ? 1 : x > y ? -1 : 0; /* the slowest first */
}

static const char probe[] = "latency probe"; /* the single writes' names */

static const char *const codes[MAXN] = {"2480", "2403", "2401", "2409", "2404",
    "2460", "2418", "2421"};

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

extern char **environ;

/*
 * Run ucr with args (NULL-terminated) as a user's shell would: exec'd
 * directly, in the work folder, its standard output read to the end into
 * *out (NULL: thrown away), stderr left as it is. Its exit status, or -1.
 */
static int
run_ucr(const char *const *args, char **out)
{
	posix_spawn_file_actions_t fa;
	char path[4200], *argv[16], *buf = NULL;
	size_t len = 0, cap = 0;
	int p[2], i, st;
	pid_t pid;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/ucr", bu_bindir);
	argv[0] = "ucr";
	for (i = 0; args[i] != NULL && i < 14; i++)
		argv[i + 1] = (char *)args[i];
	argv[i + 1] = NULL;
	if (out)
		*out = NULL;
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addchdir_np(&fa, bu_dir);
	if (posix_spawn(&pid, path, &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(p[0]);
		close(p[1]);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	for (;;) {
		if (len + 4096 > cap) {
			char *nb = realloc(buf, cap = cap ? 2 * cap : 65536);

			if (nb == NULL)
				break;
			buf = nb;
		}
		if ((n = read(p[0], buf + len, cap - len - 1)) > 0)
			len += (size_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else
			break;
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (buf)
		buf[len] = '\0';
	if (out)
		*out = buf;
	else
		free(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The hub's `ucr status --json`: the records it counts, or -1. */
static long
status_records(const char *json)
{
	json_error_t e;
	json_t *j = json ? json_loads(json, 0, &e) : NULL;
	long n = -1;

	if (j != NULL &&
	    json_is_integer(
		json_object_get(json_object_get(j, "region"), "records")))
		n = (long)json_integer_value(
		    json_object_get(json_object_get(j, "region"), "records"));
	json_decref(j);
	return n;
}

/*
 * The disk's part of a write's latency: n durable LMDB commits of one
 * small put each, in the work folder, spaced as the single writes are
 * (commits back to back are much faster: the disk's tail shows after an
 * idle gap), sorted (seconds).
 */
static void
commit_times(double *v, int n)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, d;
	char path[400], buf[256];
	int i;

	memset(buf, 7, sizeof(buf));
	for (i = 0; i < n; i++)
		v[i] = 0;
	snprintf(path, sizeof(path), "%s/commit", bu_dir);
	if (mkdir(path, 0700) != 0 || mdb_env_create(&env) != 0)
		return;
	if (mdb_env_set_mapsize(env, (size_t)64 << 20) != 0 ||
	    mdb_env_open(env, path, 0, 0600) != 0 ||
	    mdb_txn_begin(env, NULL, 0, &txn) != 0 ||
	    mdb_dbi_open(txn, NULL, 0, &dbi) != 0 || mdb_txn_commit(txn) != 0) {
		mdb_env_close(env);
		return;
	}
	for (i = 0; i < n; i++) {
		uint64_t key = (uint64_t)i;
		double t;

		usleep(20000);
		t = bu_now_s();
		if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
			break;
		k.mv_data = &key;
		k.mv_size = sizeof(key);
		d.mv_data = buf;
		d.mv_size = sizeof(buf);
		mdb_put(txn, dbi, &k, &d, 0);
		mdb_txn_commit(txn);
		v[i] = bu_now_s() - t;
	}
	mdb_env_close(env);
	qsort(v, n, sizeof(double), bu_dcmp);
}

static volatile sig_atomic_t probe_stop;

static void
probe_on_term(int sig)
{
	(void)sig;
	probe_stop = 1;
}

/*
 * The control probe (-c MS), in a child: the hub's counters asked every
 * ms, until SIGTERM; each answer's time (ms) written to path, one a
 * line, and -1 for each time skipped while an answer was awaited.
 */
static void
ctl_probe(const char *path, int ms)
{
	Ucr__Request rq = UCR__REQUEST__INIT;
	Ucr__Query q = UCR__QUERY__INIT;
	Ucr__Reply *rep;
	char ep[400];
	void *zctx, *req;
	FILE *f;
	double t, next;
	int zero = 0;

	signal(SIGTERM, probe_on_term);
	if ((f = fopen(path, "w")) == NULL)
		_exit(1);
	zctx = zmq_ctx_new();
	req = zmq_socket(zctx, ZMQ_REQ);
	zmq_setsockopt(req, ZMQ_LINGER, &zero, sizeof(zero));
	snprintf(ep, sizeof(ep), "ipc://%s/hub.sock", bu_dir);
	zmq_connect(req, ep);
	q.what = "hub";
	rq.body_case = UCR__REQUEST__BODY_QUERY;
	rq.query = &q;
	next = bu_now_s() - ms / 1e3;
	while (!probe_stop) {
		/* on a schedule, not after the answer before: a slot missed
		   while an answer was awaited is skipped */
		for (next += ms / 1e3; next < bu_now_s(); next += ms / 1e3)
			fprintf(f, "-1\n");
		usleep((useconds_t)((next - bu_now_s()) * 1e6));
		t = bu_now_s();
		if ((rep = bu_ask(req, &rq)) == NULL)
			break;
		ucr__reply__free_unpacked(rep, NULL);
		fprintf(f, "%.3f\n", (bu_now_s() - t) * 1e3);
	}
	fclose(f);
	zmq_close(req);
	zmq_ctx_term(zctx);
	_exit(0);
}

/* The probe's answers, read back and sorted (ms); how many in *n, and
   in *skipped the times skipped while an answer was awaited. */
static double *
ctl_probe_read(const char *path, int *n, int *skipped)
{
	double *v = NULL, x;
	int cap = 0;
	FILE *f;

	*n = *skipped = 0;
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	while (fscanf(f, "%lf", &x) == 1) {
		if (x < 0) {
			(*skipped)++;
			continue;
		}
		if (*n == cap) {
			double *nv = realloc(v,
			    (cap = cap ? 2 * cap : 1024) * sizeof(double));

			if (nv == NULL)
				break;
			v = nv;
		}
		v[(*n)++] = x;
	}
	fclose(f);
	if (*n > 0)
		qsort(v, *n, sizeof(double), bu_dcmp);
	return v;
}

/* CPU seconds so far of the hub (c[0]) and of all nodes together (c[1]) */
static void
cpu_sample(const struct bu_region *rg, double c[3])
{
	int i;

	c[0] = bu_cpu_s(rg->hub);
	c[1] = 0;
	for (i = 0; i < rg->nodes; i++)
		c[1] += bu_cpu_s(rg->node[i]);
}

int
main(int argc, char **argv)
{
	int m = 6, nrec = 10000, lat = 200, nstat = 100, port = 17890, ch, i;
	char path[4200];
	struct bu_region rg;
	pid_t hub, imp[MAXN];
	uint8_t hubpk[32], pk0[32];
	struct ucr_store *shub = NULL, *s1 = NULL, *s0 = NULL;
	double cli_cpu = 0;
	double t0, t_import = -1, t_hub = -1, t_relay = -1, relay_at;
	double *l_hub, *l_other, *l_rt, *l_st, *l_sth, *l_stp, l_cli[CLI_RUNS],
	    l_clish[CLI_RUNS], l_idle[CLI_RUNS], l_commit[200];
	int nst = 0, retries = 0, stale = 0;
	struct stsample *smp;
	double st0 = 0;
	FILE *trace = NULL;
	long recs = -1;
	/* CPU seconds used: [0] the hub, [1] the nodes, [2] the imports'
	 * CLIs; at the start, when the imports end, when the hub holds all */
	double cpu0[3] = {0, 0, 0}, cpu_imp[3] = {0, 0, 0},
	       cpu_hub[3] = {-1, -1, -1}, cpu_relay[3] = {-1, -1, -1};
	uint64_t want, epoch0;
	long rss, hwm, dirty, hub_rss, hub_dirty, node_rss = 0, node_dirty = 0;
	void *zctx, *req;
	int ctlprobe = 0, nprobe = 0, nskipped = 0;
	pid_t probe_pid = -1;
	double *l_probe = NULL;
	char probe_path[4200];

	while ((ch = getopt(argc, argv, "c:m:n:l:s:p:t:")) != -1) {
		if (ch == 'm')
			m = atoi(optarg);
		else if (ch == 'n')
			nrec = atoi(optarg);
		else if (ch == 'l')
			lat = atoi(optarg);
		else if (ch == 's')
			nstat = atoi(optarg);
		else if (ch == 'p')
			port = atoi(optarg);
		else if (ch == 't')
			bu_hub_threads = atoi(optarg);
		else if (ch == 'c')
			ctlprobe = atoi(optarg);
		else {
			fprintf(stderr,
			    "usage: bench_region [-m NODES] "
			    "[-n RECORDS] [-l WRITES] [-s STATUS] [-p PORT] "
			    "[-t INGEST_THREADS] [-c MS]\n");
			return 2;
		}
	}
	if (m < 2 || m > MAXN || nrec < 1 || lat < 1 || nstat < 0 ||
	    bu_hub_threads < 0 || bu_hub_threads > 2) {
		fprintf(stderr,
		    "bench_region: -m 2..%d, -n and -l >= 1, -s >= 0, "
		    "-t 1 or 2\n",
		    MAXN);
		return 2;
	}
	if (bu_init(argv[0], "region") != 0 || ucr_crypto_init() != 0)
		return 1;
	printf("UCR region benchmark: a hub and %d nodes on loopback, %d "
	       "measurements imported on each at once, %d single writes, %d "
	       "more timed to the hub's ucr status; %ld cores; in %s\n",
	    m, nrec, lat, nstat, sysconf(_SC_NPROCESSORS_ONLN), bu_dir);
	if (bu_region_start(&rg, m, codes, port, "8G") != 0 ||
	    bu_read_pk("n0", pk0) != 0) {
		fprintf(stderr,
		    "bench_region: cannot start the region (see "
		    "%s)\n",
		    bu_dir);
		bu_region_stop(&rg);
		return 1;
	}
	memcpy(hubpk, rg.hubpk, 32);
	hub = rg.hub;

	/* Kolada-like rows: indicator, year, gender, a value */
	snprintf(path, sizeof(path), "%s/rows.csv", bu_dir);
	if (bu_rows_csv(path, nrec) != 0)
		return 1;

	snprintf(path, sizeof(path), "%s/hub.data", bu_dir);
	if (ucr_store_open(&shub, path, UCR_STORE_RDONLY, 0) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/n1.data", bu_dir);
	if (ucr_store_open(&s1, path, UCR_STORE_RDONLY, 0) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/n0.data", bu_dir);
	if (ucr_store_open(&s0, path, UCR_STORE_RDONLY, 0) != 0 ||
	    ucr_store_identity(s0, NULL, &epoch0, NULL, 0) != 0)
		return 1;
	ucr_store_free(s0);
	want = held(shub, hubpk) + (uint64_t)m * nrec;

	snprintf(probe_path, sizeof(probe_path), "%s/ctlprobe", bu_dir);
	if (ctlprobe && (probe_pid = fork()) == 0)
		ctl_probe(probe_path, ctlprobe);
	cpu_sample(&rg, cpu0);
	t0 = bu_now_s();
	for (i = 0; i < m; i++)
		if ((imp[i] = fork()) == 0) {
			char cmd[8192];

			snprintf(cmd, sizeof(cmd),
			    "PATH=%s:$PATH; cd %s && ucr -c n%d.conf import "
			    "rows.csv > /dev/null",
			    bu_bindir, bu_dir, i);
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
			_exit(127);
		}
	for (i = 0; i < m; i++) {
		struct rusage ru;
		int st;

		wait4(imp[i], &st, 0, &ru);
		cli_cpu += ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr,
			    "bench_region: import on node %d "
			    "failed (see %s)\n",
			    i, bu_dir);
			goto stop;
		}
	}
	t_import = bu_now_s() - t0;
	cpu_sample(&rg, cpu_imp);
	cpu_imp[2] = cpu_hub[2] = cli_cpu;
	/*
	 * The hub's store is read every 2 ms (a read transaction over its
	 * heads), so the time is not rounded up by the poll: PostgreSQL's
	 * beside it is taken when its clients exit. The nodes' stores are
	 * opened every 20 ms.
	 */
	relay_at = 0;
	while (bu_now_s() - t0 < 600) {
		int done = 1;

		if (t_hub < 0 && held(shub, hubpk) >= want) {
			t_hub = bu_now_s() - t0;
			cpu_sample(&rg, cpu_hub);
			if (probe_pid > 0) {
				kill(probe_pid, SIGTERM);
				waitpid(probe_pid, NULL, 0);
				probe_pid = -1;
			}
		}
		if (t_relay < 0 && bu_now_s() >= relay_at) {
			relay_at = bu_now_s() + 0.02;
			for (i = 0; i < m && done; i++) {
				struct ucr_store *s;

				snprintf(path, sizeof(path), "%s/n%d.data",
				    bu_dir, i);
				if (ucr_store_open(&s, path, UCR_STORE_RDONLY,
					0) != 0)
					done = 0;
				else {
					done = held(s, hubpk) >= want;
					ucr_store_free(s);
				}
			}
			if (done) {
				t_relay = bu_now_s() - t0;
				cpu_sample(&rg, cpu_relay);
			}
		}
		if (t_hub >= 0 && t_relay >= 0)
			break;
		usleep(t_hub < 0 ? 2000 : 5000);
	}

	/* the disk's share of a write: durable commits, idle region */
	commit_times(l_commit, 200);

	/* latency, idle region: one write at a time */
	l_hub = calloc(lat, sizeof(double));
	l_other = calloc(lat, sizeof(double));
	l_rt = calloc(lat, sizeof(double));
	l_st = calloc(nstat ? nstat : 1, sizeof(double));
	l_sth = calloc(nstat ? nstat : 1, sizeof(double));
	l_stp = calloc(nstat ? nstat : 1, sizeof(double));
	smp = calloc(nstat ? nstat : 1, sizeof(*smp));
	zctx = zmq_ctx_new();
	req = zmq_socket(zctx, ZMQ_REQ);
	snprintf(path, sizeof(path), "ipc://%s/n0.sock", bu_dir);
	zmq_connect(req, path);
	for (i = 0; i < lat; i++) {
		struct ucr_head h;
		uint64_t seq;
		double t, th = -1, to = -1;

		usleep(20000);
		t = bu_now_s();
		if (bu_put_one(req, codes[0], "L", probe, i, &seq) != 0)
			break;
		l_rt[i] = bu_now_s() - t;
		while (bu_now_s() - t < 5 && (th < 0 || to < 0)) {
			if (th < 0 &&
			    ucr_store_head(shub, pk0, epoch0, &h) == 0 &&
			    h.seq >= seq)
				th = bu_now_s() - t;
			if (to < 0 &&
			    ucr_store_head(s1, pk0, epoch0, &h) == 0 &&
			    h.seq >= seq)
				to = bu_now_s() - t;
			if (th < 0 || to < 0)
				usleep(100);
		}
		l_hub[i] = th < 0 ? 5 : th;
		l_other[i] = to < 0 ? 5 : to;
	}
	lat = i;

	/*
	 * Write -> the hub's `ucr status --json` answers with it. The status
	 * starts as soon as the hub holds the write (the other nodes do not
	 * matter here), exec'd as a user's shell would; the time runs until
	 * its process has exited. Its record count must be one more than the
	 * answer before (each write adds a record), else it runs again.
	 */
	{
		static const char *const st_args[] = {"-c", "hub.conf",
		    "status", "--json", NULL};
		char *js;

		if (run_ucr(st_args, &js) == 0)
			recs = status_records(js);
		free(js);
	}
	for (i = 0; i < nstat && recs >= 0; i++) {
		static const char *const st_args[] = {"-c", "hub.conf",
		    "status", "--json", NULL};
		struct ucr_head h;
		uint64_t seq;
		double t, th = -1;
		long got = -1;
		char *js = NULL;

		usleep(20000);
		t = bu_now_s();
		if (i == 0)
			st0 = t;
		if (bu_put_one(req, codes[0], "L", probe, lat + i, &seq) != 0)
			break;
		smp[nst].rt = bu_now_s() - t;
		while (bu_now_s() - t < 5 && th < 0) {
			if (ucr_store_head(shub, pk0, epoch0, &h) == 0 &&
			    h.seq >= seq)
				th = bu_now_s() - t;
			else
				usleep(100);
		}
		if (th < 0)
			break;
		for (;;) {
			if (run_ucr(st_args, &js) == 0)
				got = status_records(js);
			free(js);
			if (got > recs || bu_now_s() - t > 5)
				break;
			retries++;
		}
		if (got <= recs) {
			stale++;
			break;
		}
		/* the whole figure, and its two parts: until the hub held
		 * the write, and the status (its process, any rerun) */
		l_st[nst] = bu_now_s() - t;
		l_sth[nst] = th;
		l_stp[nst] = l_st[nst] - th;
		smp[nst].at = t - st0;
		smp[nst].mono = t;
		smp[nst].th = th;
		smp[nst].tp = l_stp[nst];
		smp[nst].total = l_st[nst];
		nst++;
		recs = got;
	}
	zmq_close(req);
	zmq_ctx_term(zctx);
	qsort(l_hub, lat, sizeof(double), bu_dcmp);
	qsort(l_other, lat, sizeof(double), bu_dcmp);
	qsort(l_rt, lat, sizeof(double), bu_dcmp);
	/* every sample, in order, for a look beside the daemons' logs */
	if (getenv("UCR_BENCH_TRACE") != NULL &&
	    (trace = fopen(getenv("UCR_BENCH_TRACE"), "a")) != NULL) {
		fprintf(trace,
		    "# %s: mono_s at_s total_ms write_rt_ms "
		    "until_hub_held_ms status_ms\n",
		    bu_dir);
		for (i = 0; i < nst; i++)
			fprintf(trace, "%.6f %.3f %.2f %.2f %.2f %.2f\n",
			    smp[i].mono, smp[i].at, smp[i].total * 1e3,
			    smp[i].rt * 1e3, smp[i].th * 1e3, smp[i].tp * 1e3);
		fclose(trace);
	}
	qsort(smp, nst, sizeof(*smp), st_cmp);
	qsort(l_st, nst, sizeof(double), bu_dcmp);
	qsort(l_sth, nst, sizeof(double), bu_dcmp);
	qsort(l_stp, nst, sizeof(double), bu_dcmp);

	/* the floor of the status figure: starting the CLI at all, exec'd
	 * directly as the status was; through /bin/sh -c for comparison */
	for (i = 0; i < CLI_RUNS; i++) {
		static const char *const v_args[] = {"--version", NULL};
		static const char *const st_args[] = {"-c", "hub.conf",
		    "status", "--json", NULL};
		double t;

		usleep(20000);
		t = bu_now_s();
		run_ucr(v_args, NULL);
		l_cli[i] = bu_now_s() - t;
		usleep(20000);
		t = bu_now_s();
		bu_sh("cd %s && ucr --version > /dev/null", bu_dir);
		l_clish[i] = bu_now_s() - t;
		/* and the status alone, nothing written meanwhile */
		usleep(20000);
		t = bu_now_s();
		run_ucr(st_args, NULL);
		l_idle[i] = bu_now_s() - t;
	}
	qsort(l_cli, CLI_RUNS, sizeof(double), bu_dcmp);
	qsort(l_clish, CLI_RUNS, sizeof(double), bu_dcmp);
	qsort(l_idle, CLI_RUNS, sizeof(double), bu_dcmp);
	bu_mem_kib(hub, &hub_rss, &hwm, &hub_dirty);
	for (i = 0; i < m; i++) {
		bu_mem_kib(rg.node[i], &rss, &hwm, &dirty);
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
		printf(
		    "  all committed at the hub, from the start      %8.2f s "
		    "%8.0f records/s\n",
		    t_hub, m * nrec / t_hub);
	if (t_relay > 0)
		printf(
		    "  every node holds every record, from the start %8.2f s "
		    "%8.0f records/s\n",
		    t_relay, m * nrec / t_relay);
	if (t_hub > 0)
		printf("  CPU used until the hub held all, s: hub %.2f (%.2f "
		       "of it until the imports ended), nodes %.2f (%.2f), "
		       "the imports' CLIs %.2f; %.2f s of %.2f cores' %.2f "
		       "s\n",
		    cpu_hub[0] - cpu0[0], cpu_imp[0] - cpu0[0],
		    cpu_hub[1] - cpu0[1], cpu_imp[1] - cpu0[1], cpu_hub[2],
		    cpu_hub[0] - cpu0[0] + cpu_hub[1] - cpu0[1] + cpu_hub[2],
		    (double)sysconf(_SC_NPROCESSORS_ONLN),
		    t_hub * sysconf(_SC_NPROCESSORS_ONLN));
	if (t_relay > 0)
		printf("  CPU used until every node held all, s: hub %.2f, "
		       "nodes %.2f\n",
		    cpu_relay[0] - cpu0[0], cpu_relay[1] - cpu0[1]);
	if (t_hub < 0 || t_relay < 0)
		printf("  did not converge within 600 s (see %s)\n", bu_dir);
	if (ctlprobe &&
	    (l_probe = ctl_probe_read(probe_path, &nprobe, &nskipped)) !=
		NULL &&
	    nprobe > 0) {
		int over = 0;

		for (i = 0; i < nprobe; i++)
			over += l_probe[i] > 20;
		printf("  the hub's control answer while the nodes import "
		       "(counters, every %d ms) p50 %6.2f ms  p99 %6.2f ms  "
		       "max %6.2f ms (%d asked, %d over 20 ms; %d more times "
		       "passed while an answer was awaited)\n",
		    ctlprobe, bu_pct(l_probe, nprobe, .5),
		    bu_pct(l_probe, nprobe, .99), l_probe[nprobe - 1], nprobe,
		    over, nskipped);
	}
	if (lat > 0) {
		printf(
		    "  one write, control round trip  p50 %6.2f ms  p99 %6.2f "
		    "ms\n",
		    bu_pct(l_rt, lat, .5) * 1e3, bu_pct(l_rt, lat, .99) * 1e3);
		printf(
		    "  write -> held at the hub       p50 %6.2f ms  p99 %6.2f "
		    "ms\n",
		    bu_pct(l_hub, lat, .5) * 1e3,
		    bu_pct(l_hub, lat, .99) * 1e3);
		printf(
		    "  write -> held at another node  p50 %6.2f ms  p99 %6.2f "
		    "ms\n",
		    bu_pct(l_other, lat, .5) * 1e3,
		    bu_pct(l_other, lat, .99) * 1e3);
	}
	if (nst > 0)
		printf(
		    "  write -> hub's ucr status --json answers with it (its "
		    "whole process) p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms "
		    "(%d writes, %d statuses run again)\n",
		    bu_pct(l_st, nst, .5) * 1e3, bu_pct(l_st, nst, .99) * 1e3,
		    l_st[nst - 1] * 1e3, nst, retries);
	if (nst > 0)
		printf("    of it: until the hub held the write p50 %6.2f ms  "
		       "p99 %6.2f ms; the status after that p50 %6.2f ms  p99 "
		       "%6.2f ms\n",
		    bu_pct(l_sth, nst, .5) * 1e3, bu_pct(l_sth, nst, .99) * 1e3,
		    bu_pct(l_stp, nst, .5) * 1e3,
		    bu_pct(l_stp, nst, .99) * 1e3);
	if (nst > 0) {
		printf("    the slowest, ms (at s: whole = until the hub held "
		       "it [of it the write's round trip] + the status):");
		for (i = 0; i < nst && i < SLOWEST; i++)
			printf(" %.1f: %.2f = %.2f [%.2f] + %.2f;", smp[i].at,
			    smp[i].total * 1e3, smp[i].th * 1e3,
			    smp[i].rt * 1e3, smp[i].tp * 1e3);
		printf("\n");
	}
	if (stale || (nstat > 0 && nst < nstat))
		printf("  the status loop stopped after %d of %d writes (%s)\n",
		    nst, nstat,
		    stale ? "a status never counted the write"
			  : "no write, or no status, reached the hub");
	printf("  starting the CLI at all (ucr --version, exec'd) median "
	       "%6.2f ms  p90 %6.2f ms; through /bin/sh -c median %6.2f ms\n",
	    bu_pct(l_cli, CLI_RUNS, .5) * 1e3,
	    bu_pct(l_cli, CLI_RUNS, .9) * 1e3,
	    bu_pct(l_clish, CLI_RUNS, .5) * 1e3);
	printf("  the hub's ucr status --json alone, region idle (exec'd) "
	       "median %6.2f ms  p90 %6.2f ms\n",
	    bu_pct(l_idle, CLI_RUNS, .5) * 1e3,
	    bu_pct(l_idle, CLI_RUNS, .9) * 1e3);
	printf("  one durable LMDB commit (the disk)  p50 %6.2f ms  p99 %6.2f "
	       "ms\n",
	    bu_pct(l_commit, 200, .5) * 1e3, bu_pct(l_commit, 200, .99) * 1e3);
	printf("  memory: hub rss %ld MiB, private dirty %ld MiB; largest node "
	       "rss %ld MiB, private dirty %ld MiB\n",
	    hub_rss / 1024, hub_dirty / 1024, node_rss / 1024,
	    node_dirty / 1024);
	printf("RESULT region_rps=%.0f region_relay_rps=%.0f "
	       "rt_p50_ms=%.2f rt_p99_ms=%.2f hub_p50_ms=%.2f hub_p99_ms=%.2f "
	       "other_p50_ms=%.2f other_p99_ms=%.2f hub_rss_kib=%ld "
	       "hub_dirty_kib=%ld node_rss_kib=%ld node_dirty_kib=%ld "
	       "status_p50_ms=%.2f status_p99_ms=%.2f status_max_ms=%.2f "
	       "status_n=%d status_retries=%d cli_ms=%.2f cli_sh_ms=%.2f "
	       "status_idle_ms=%.2f commit_p50_ms=%.2f commit_p99_ms=%.2f\n",
	    t_hub > 0 ? m * nrec / t_hub : 0,
	    t_relay > 0 ? m * nrec / t_relay : 0,
	    lat ? bu_pct(l_rt, lat, .5) * 1e3 : 0,
	    lat ? bu_pct(l_rt, lat, .99) * 1e3 : 0,
	    lat ? bu_pct(l_hub, lat, .5) * 1e3 : 0,
	    lat ? bu_pct(l_hub, lat, .99) * 1e3 : 0,
	    lat ? bu_pct(l_other, lat, .5) * 1e3 : 0,
	    lat ? bu_pct(l_other, lat, .99) * 1e3 : 0, hub_rss, hub_dirty,
	    node_rss, node_dirty, nst ? bu_pct(l_st, nst, .5) * 1e3 : 0,
	    nst ? bu_pct(l_st, nst, .99) * 1e3 : 0,
	    nst ? l_st[nst - 1] * 1e3 : 0, nst, retries,
	    bu_pct(l_cli, CLI_RUNS, .5) * 1e3,
	    bu_pct(l_clish, CLI_RUNS, .5) * 1e3,
	    bu_pct(l_idle, CLI_RUNS, .5) * 1e3, bu_pct(l_commit, 200, .5) * 1e3,
	    bu_pct(l_commit, 200, .99) * 1e3);
	free(l_hub);
	free(l_other);
	free(l_rt);
	free(l_st);
	free(l_sth);
	free(l_stp);
	free(smp);
stop:
	if (probe_pid > 0) {
		kill(probe_pid, SIGTERM);
		waitpid(probe_pid, NULL, 0);
	}
	free(l_probe);
	ucr_store_free(shub);
	ucr_store_free(s1);
	bu_region_stop(&rg);
	bu_cleanup();
	return 0;
}
