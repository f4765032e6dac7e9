/*
 * bench_write.c: what one write costs, and what it is compared with. One
 * ucr-node, offline (no hub: nothing but its own work), takes L single
 * writes through its control socket (a persistent ZMQ_REQ, as the CLI
 * and bench_region's latency probe send them), spaced G ms apart (an idle
 * node: the disk's tail shows after an idle gap). Beside each write, in
 * the same folder and at the same moment (the three alternate, one of
 * each per round):
 *
 *   - the store's own commit of the same record in this process
 *     (ucr_store_append_checked into a store of its own: sign, check, the
 *     durable commit; no socket, no decode), and
 *   - one durable LMDB commit of one put of 256 bytes into an
 *     environment of one database (mdb_put, mdb_txn_commit),
 *
 * so the round trip is shown beside both "one durable LMDB commit" and
 * the commit of the same shape the node makes. Each write goes twice:
 * on the persistent REQ, and as ucr sends it, on a connection of its own
 * (cli/zmtp.c: connect, handshake, request, reply, close). Each figure as min, p50,
 * p99 (ms). No assertions: it prints, and a RESULT line for bench/run.sh.
 *
 *   bench_write [-l WRITES] [-g GAP_MS]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>
#include <sodium.h>
#include <zmq.h>

#include "error.h"
#include "keys.h"
#include "record.h"
#include "store.h"

#include "benchutil.h"

#define OWNER "2403"

/* The latency probe's record: network L<i> of OWNER, as bu_put_one's. */
static void
probe(Ucr__Record *r, Ucr__Network *n, char *key, size_t keylen, char *name,
    size_t namelen, int i)
{
	snprintf(key, keylen, "%s/network/L%d", OWNER, i);
	snprintf(name, namelen, "latency probe %d", i);
	bu_network(r, n, OWNER, key, name);
}

/* A query the node answers without a write ("stats"): the transport. */
static int
query_sock(void *req)
{
	Ucr__Request rq = UCR__REQUEST__INIT;
	Ucr__Query q = UCR__QUERY__INIT;
	Ucr__Reply *rep;
	int rc;

	q.what = "stats";
	rq.body_case = UCR__REQUEST__BODY_QUERY;
	rq.query = &q;
	if ((rep = bu_ask(req, &rq)) == NULL)
		return -1;
	rc = rep->code == 0 ? 0 : -1;
	ucr__reply__free_unpacked(rep, NULL);
	return rc;
}

/* The same record through the store's append in this process. */
static int
put_store(struct ucr_store *s, const struct ucr_key *k, int i, int withid)
{
	Ucr__Record r = UCR__RECORD__INIT;
	Ucr__Network n = UCR__NETWORK__INIT;
	struct ucr_put p;
	struct ucr_put_array a;
	uint8_t id[16];
	uint64_t first, last;
	size_t bad;
	char key[64], name[64], why[256];
	int replayed, rc;

	probe(&r, &n, key, sizeof(key), name, sizeof(name), i);
	memset(&p, 0, sizeof(p));
	p.record = &r;
	a.puts = &p;
	a.n = 1;
	a.i = 0;
	randombytes_buf(id, sizeof(id));
	/* as the control socket's put: validated before, an id */
	rc = ucr_store_append_checked(s, k, id, withid ? sizeof(id) : 0,
	    ucr_put_array_next, &a, 1, &first, &last, &replayed, &bad, why,
	    sizeof(why));
	if (rc != 0)
		fprintf(stderr, "bench_write: append: %s\n", why);
	return rc;
}

/*
 * Bytes this process has written so far (/proc/self/io wchar): around a
 * commit, its data pages (4096 bytes each) and its meta page (120 bytes,
 * LMDB's meta record), whatever the disk's speed.
 */
static unsigned long long
wchar(void)
{
	char line[128];
	unsigned long long v = 0;
	FILE *f = fopen("/proc/self/io", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "wchar: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* One durable commit of one put into a plain environment. */
static int
put_lmdb(MDB_env *env, MDB_dbi dbi, int i)
{
	MDB_txn *txn;
	MDB_val k, d;
	uint64_t key = (uint64_t)i;
	char buf[256];

	memset(buf, 7, sizeof(buf));
	if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
		return -1;
	k.mv_data = &key;
	k.mv_size = sizeof(key);
	d.mv_data = buf;
	d.mv_size = sizeof(buf);
	if (mdb_put(txn, dbi, &k, &d, 0) != 0) {
		mdb_txn_abort(txn);
		return -1;
	}
	return mdb_txn_commit(txn) == 0 ? 0 : -1;
}

/*
 * After GAP ms, one commit of record I, timed, and the bytes it wrote
 * added to *BYTES: the store S's (WITHID: with a request id), or, S NULL,
 * the plain environment's. 0, or -1 if it failed.
 */
static int
timed_commit(int gap, struct ucr_store *s, const struct ucr_key *k, int withid,
    MDB_env *env, MDB_dbi dbi, int i, double *secs, unsigned long long *bytes)
{
	unsigned long long w;
	double t;
	int rc;

	usleep(gap * 1000);
	w = wchar();
	t = bu_now_s();
	rc = s != NULL ? put_store(s, k, i, withid) : put_lmdb(env, dbi, i);
	if (rc != 0)
		return -1;
	*secs = bu_now_s() - t;
	*bytes += wchar() - w;
	return 0;
}

static pid_t
node_start(void)
{
	pid_t pid;

	if (bu_sh("cd %s && ucr keygen --out n0.key > n0.pk", bu_dir) != 0)
		return -1;
	if (bu_conf("n0",
		"[node]\nmunicipality = %s\nkey = n0.key\ndata = n0.data\n"
		"control = ipc://n0.sock\nmap_size = 1G\n",
		OWNER) != 0)
		return -1;
	pid = bu_spawn("ucr-node", "n0");
	bu_wait_socket("n0");
	return pid;
}

static void
line(const char *what, double *v, int n)
{
	printf("  %-58s min %6.3f  p50 %6.3f  p99 %6.3f ms\n", what, v[0] * 1e3,
	    bu_pct(v, n, .5) * 1e3, bu_pct(v, n, .99) * 1e3);
}

int
main(int argc, char **argv)
{
	int lat = 200, gap = 20, warm = 5000, ch, i, n = 0;
	unsigned long long b_own = 0, b_noid = 0, b_plain = 0;
	double cpu = 0;
	char path[4200], sock[4096];
	double *l_rt, *l_cli, *l_own, *l_noid, *l_plain, *l_q;
	struct ucr_store *s = NULL, *s2 = NULL;
	struct ucr_key *k = NULL;
	MDB_env *env = NULL;
	MDB_txn *txn;
	MDB_dbi dbi;
	void *zctx = NULL, *req = NULL;
	pid_t node;
	int rc = 1;

	while ((ch = getopt(argc, argv, "l:g:w:")) != -1) {
		if (ch == 'l')
			lat = atoi(optarg);
		else if (ch == 'w')
			warm = atoi(optarg);
		else if (ch == 'g')
			gap = atoi(optarg);
		else {
			fprintf(stderr,
			    "usage: bench_write [-l WRITES] [-g GAP_MS] "
			    "[-w WARM]\n");
			return 2;
		}
	}
	if (lat < 1 || gap < 0 || warm < 0) {
		fprintf(stderr, "bench_write: -l >= 1, -g and -w >= 0\n");
		return 2;
	}
	if (bu_init(argv[0], "write") != 0 || ucr_crypto_init() != 0)
		return 1;
	l_rt = calloc(lat, sizeof(double));
	l_cli = calloc(lat, sizeof(double));
	l_own = calloc(lat, sizeof(double));
	l_noid = calloc(lat, sizeof(double));
	l_plain = calloc(lat, sizeof(double));
	l_q = calloc(lat, sizeof(double));
	if (l_rt == NULL || l_cli == NULL || l_own == NULL || l_noid == NULL ||
	    l_plain == NULL || l_q == NULL)
		return 1;
	if ((node = node_start()) <= 0) {
		fprintf(stderr, "bench_write: cannot start the node (see %s)\n",
		    bu_dir);
		return 1;
	}

	/* the store's own commit: a store of its own, same folder */
	snprintf(path, sizeof(path), "%s/own.data", bu_dir);
	if (ucr_key_generate(&k) != 0 ||
	    ucr_store_open(&s, path, UCR_STORE_CREATE, (size_t)1 << 30) != 0 ||
	    ucr_store_set_identity(s, k->pk, OWNER) != 0)
		goto leave;
	/* and one written without request ids: the ids' share */
	snprintf(path, sizeof(path), "%s/noid.data", bu_dir);
	if (ucr_store_open(&s2, path, UCR_STORE_CREATE, (size_t)1 << 30) != 0 ||
	    ucr_store_set_identity(s2, k->pk, OWNER) != 0)
		goto leave;
	/* a plain environment of one database, same folder */
	snprintf(path, sizeof(path), "%s/plain", bu_dir);
	if (mkdir(path, 0700) != 0 || mdb_env_create(&env) != 0 ||
	    mdb_env_set_mapsize(env, (size_t)64 << 20) != 0 ||
	    mdb_env_open(env, path, 0, 0600) != 0 ||
	    mdb_txn_begin(env, NULL, 0, &txn) != 0 ||
	    mdb_dbi_open(txn, NULL, 0, &dbi) != 0 || mdb_txn_commit(txn) != 0)
		goto leave;

	zctx = zmq_ctx_new();
	req = zmq_socket(zctx, ZMQ_REQ);
	snprintf(sock, sizeof(sock), "%s/n0.sock", bu_dir);
	snprintf(path, sizeof(path), "ipc://%s", sock);
	if (zmq_connect(req, path) != 0)
		goto leave;
	printf("UCR write benchmark: one ucr-node without a hub, %d single "
	       "writes %d ms apart, each beside the same record's commit by "
	       "the store in this process, a plain one-put LMDB commit and a "
	       "query that writes nothing, alternating, after %d writes of "
	       "each kind back to back (a store in use: its request-id ring "
	       "of 4096 full); all in %s\n",
	    lat, gap, warm, bu_dir);
	/* the node's CPU per write: it does nothing else meanwhile */
	cpu = bu_cpu_s(node);
	for (i = 0; i < warm; i++)
		if (bu_put_one(req, OWNER, "L", "latency probe", lat + i,
			NULL) != 0 ||
		    put_store(s, k, lat + i, 1) != 0 ||
		    put_store(s2, k, lat + i, 0) != 0 ||
		    put_lmdb(env, dbi, lat + i) != 0)
			goto leave;
	cpu = warm > 0 ? (bu_cpu_s(node) - cpu) / warm : 0;
	for (i = 0; i < lat; i++) {
		double t;

		usleep(gap * 1000);
		t = bu_now_s();
		if (bu_put_one(req, OWNER, "L", "latency probe", i, NULL) != 0)
			break;
		l_rt[i] = bu_now_s() - t;
		usleep(gap * 1000);
		t = bu_now_s();
		if (bu_put_one_path(sock, OWNER, "C", "latency probe", i,
			NULL) != 0)
			break;
		l_cli[i] = bu_now_s() - t;
		if (timed_commit(gap, s, k, 1, NULL, 0, i, &l_own[i], &b_own) !=
			0 ||
		    timed_commit(gap, s2, k, 0, NULL, 0, i, &l_noid[i],
			&b_noid) != 0 ||
		    timed_commit(gap, NULL, NULL, 0, env, dbi, i, &l_plain[i],
			&b_plain) != 0)
			break;
		usleep(gap * 1000);
		t = bu_now_s();
		if (query_sock(req) != 0)
			break;
		l_q[i] = bu_now_s() - t;
	}
	n = i;
	if (n == 0)
		goto leave;
	qsort(l_rt, n, sizeof(double), bu_dcmp);
	qsort(l_cli, n, sizeof(double), bu_dcmp);
	qsort(l_own, n, sizeof(double), bu_dcmp);
	qsort(l_noid, n, sizeof(double), bu_dcmp);
	qsort(l_plain, n, sizeof(double), bu_dcmp);
	qsort(l_q, n, sizeof(double), bu_dcmp);
	printf("ucr:\n");
	line("one write, control round trip (ucr-node, no hub)", l_rt, n);
	line("the same as ucr sends it (a connection of its own)", l_cli, n);
	line("the store's commit of the same record, in process", l_own, n);
	line("the same without a request id (none remembered)", l_noid, n);
	line("one durable LMDB commit of one put (plain)", l_plain, n);
	line("a round trip that writes nothing (query stats)", l_q, n);
	printf("  the node's CPU per write (user + system, its threads, "
	       "over the %d writes back to back): %.0f us\n",
	    warm, cpu * 1e6);
	printf("  pages written per commit (bytes written / 4096, mean): "
	       "store %.1f, without an id %.1f, plain %.1f\n",
	    b_own / 4096.0 / n, b_noid / 4096.0 / n, b_plain / 4096.0 / n);
	printf("  round trip / store commit %.2fx, / plain commit %.2fx; "
	       "as ucr sends it %.2fx, %.2fx (p50)\n",
	    bu_pct(l_rt, n, .5) / bu_pct(l_own, n, .5),
	    bu_pct(l_rt, n, .5) / bu_pct(l_plain, n, .5),
	    bu_pct(l_cli, n, .5) / bu_pct(l_own, n, .5),
	    bu_pct(l_cli, n, .5) / bu_pct(l_plain, n, .5));
	printf("RESULT write_rt_p50_ms=%.3f write_rt_p99_ms=%.3f "
	       "write_rt_min_ms=%.3f store_commit_p50_ms=%.3f "
	       "store_commit_p99_ms=%.3f lmdb_commit_p50_ms=%.3f "
	       "lmdb_commit_p99_ms=%.3f query_rt_p50_ms=%.3f "
	       "store_noid_p50_ms=%.3f store_pages=%.1f noid_pages=%.1f "
	       "plain_pages=%.1f node_cpu_us=%.0f write_cli_p50_ms=%.3f "
	       "write_cli_p99_ms=%.3f\n",
	    bu_pct(l_rt, n, .5) * 1e3, bu_pct(l_rt, n, .99) * 1e3,
	    l_rt[0] * 1e3, bu_pct(l_own, n, .5) * 1e3,
	    bu_pct(l_own, n, .99) * 1e3, bu_pct(l_plain, n, .5) * 1e3,
	    bu_pct(l_plain, n, .99) * 1e3, bu_pct(l_q, n, .5) * 1e3,
	    bu_pct(l_noid, n, .5) * 1e3, b_own / 4096.0 / n,
	    b_noid / 4096.0 / n, b_plain / 4096.0 / n, cpu * 1e6,
	    bu_pct(l_cli, n, .5) * 1e3, bu_pct(l_cli, n, .99) * 1e3);
	rc = 0;
leave:
	if (req)
		zmq_close(req);
	if (zctx)
		zmq_ctx_term(zctx);
	if (env)
		mdb_env_close(env);
	ucr_store_free(s);
	ucr_store_free(s2);
	ucr_key_free(k);
	kill(node, SIGTERM);
	waitpid(node, NULL, 0);
	free(l_rt);
	free(l_cli);
	free(l_own);
	free(l_noid);
	free(l_plain);
	free(l_q);
	if (rc != 0)
		fprintf(stderr, "bench_write: failed (see %s)\n", bu_dir);
	else
		bu_cleanup();
	return rc;
}
