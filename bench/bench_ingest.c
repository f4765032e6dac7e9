/*
 * bench_ingest.c: how fast a hub store takes signed batches, printed beside
 * the hardware limits measured in the same run (Ed25519 sign and verify,
 * BLAKE2b of a small entry, LMDB durable commits), so the figure can be
 * judged on any machine. No assertions: it prints.
 *
 *   bench_ingest [-n RECORDS] [-b BATCH] [-g GROUP] [-d DIR] [-k] [-p]
 *
 * -k: Kolada-like measurements (the rows bench/run.sh gives PostgreSQL)
 * instead of ~300-byte network records.
 * -g: the hub's group commit (ucr_store_apply_group, what hub/peer.c does
 * with the batches already received): up to GROUP batches, within the
 * hub's budgets (UCR_GROUP_MAX_*), applied in one durable commit. 1: one
 * commit per batch. Default: the hub's budget in batches.
 * -p: the group's batches prechecked on a second thread, as the hub does
 * (ucr_store_set_precheck).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <sodium.h>

#include "chain.h"
#include "error.h"
#include "keys.h"
#include "record.h"
#include "store.h"

#include "benchutil.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static Ucr__Record *
make_record(const char *owner, int i)
{
	static Ucr__Record r;
	static Ucr__Network n;
	static char key[64], name[300];

	ucr__record__init(&r);
	ucr__network__init(&n);
	snprintf(key, sizeof(key), "%s/network/N%d", owner, i);
	/* about 300 bytes, like a baseline text */
	snprintf(name, sizeof(name), "network %d %0240d", i, i);
	bu_network(&r, &n, owner, key, name);
	return &r;
}

/* A Kolada-like measurement: the rows bench/run.sh gives PostgreSQL. */
static Ucr__Record *
make_measure(const char *owner, int i)
{
	static Ucr__Record r;
	static Ucr__Measurement m;
	static Ucr__Decimal d;
	static char key[96], ind[16];
	static const char *const g = "TKM";

	ucr__record__init(&r);
	ucr__measurement__init(&m);
	ucr__decimal__init(&d);
	snprintf(ind, sizeof(ind), "N%05d", 1 + i / 105);
	m.indicator = ind;
	m.area = (char *)owner;
	m.year = 1990 + (i / 3) % 35;
	m.gender = (Ucr__Gender)(i % 3);
	d.units = (int64_t)((i * 7919) % 1000) * 100 + i % 100;
	d.scale = 2;
	m.value = &d;
	snprintf(key, sizeof(key), "%s/measure/%s/%u/%c", owner, ind, m.year,
	    g[i % 3]);
	r.key = key;
	r.owner = (char *)owner;
	r.body_case = UCR__RECORD__BODY_MEASUREMENT;
	r.measurement = &m;
	return &r;
}

/* Hardware limits, measured now. */
static void
limits(const char *dir)
{
	struct ucr_key *k;
	uint8_t sig[UCR_SIG_LEN], msg[256], h[32];
	double t;
	int i, n = 20000;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val key, val;
	char path[512];

	ucr_key_generate(&k);
	memset(msg, 7, sizeof(msg));
	t = now_s();
	for (i = 0; i < n; i++)
		ucr_sig_sign(sig, k, "bench", "batch", msg, 80);
	printf("  ed25519 sign        %10.0f /s\n", n / (now_s() - t));
	t = now_s();
	for (i = 0; i < n; i++)
		if (ucr_sig_verify(sig, k->pk, "bench", "batch", msg, 80) != 0)
			abort();
	printf("  ed25519 verify      %10.0f /s\n", n / (now_s() - t));
	n = 1000000;
	t = now_s();
	for (i = 0; i < n; i++)
		ucr_hash(h, msg, sizeof(msg));
	printf("  blake2b-256 of 256B %10.0f /s\n", n / (now_s() - t));
	ucr_key_free(k);

	snprintf(path, sizeof(path), "%s/raw", dir);
	if (mkdir(path, 0700) != 0)
		return;
	mdb_env_create(&env);
	mdb_env_set_mapsize(env, (size_t)1 << 30);
	if (mdb_env_open(env, path, 0, 0600) != 0)
		return;
	mdb_txn_begin(env, NULL, 0, &txn);
	mdb_dbi_open(txn, NULL, 0, &dbi);
	mdb_txn_commit(txn);
	n = 2000;
	t = now_s();
	for (i = 0; i < n; i++) {
		uint64_t kk = i;

		mdb_txn_begin(env, NULL, 0, &txn);
		key.mv_data = &kk;
		key.mv_size = sizeof(kk);
		val.mv_data = msg;
		val.mv_size = 256;
		mdb_put(txn, dbi, &key, &val, 0);
		mdb_txn_commit(txn);
	}
	printf("  lmdb durable put    %10.0f /s (one 256 B put per commit)\n",
	    n / (now_s() - t));
	t = now_s();
	for (i = 0; i < 100; i++) {
		int j;

		mdb_txn_begin(env, NULL, 0, &txn);
		for (j = 0; j < 1000; j++) {
			uint64_t kk = 100000 + i * 1000 + j;

			key.mv_data = &kk;
			key.mv_size = sizeof(kk);
			val.mv_data = msg;
			val.mv_size = 256;
			mdb_put(txn, dbi, &key, &val, 0);
		}
		mdb_txn_commit(txn);
	}
	t = now_s() - t;
	printf("  lmdb durable put    %10.0f /s (1000 puts per commit)\n",
	    100000 / t);
	printf("RESULT lmdb_batched_rps=%.0f\n", 100000 / t);
	/* as many puts per commit as the hub's group commit at most */
	t = now_s();
	for (i = 0; i < 8; i++) {
		int j;

		mdb_txn_begin(env, NULL, 0, &txn);
		for (j = 0; j < UCR_GROUP_MAX_ENTRIES; j++) {
			uint64_t kk = 1000000 + (uint64_t)i * 100000 + j;

			key.mv_data = &kk;
			key.mv_size = sizeof(kk);
			val.mv_data = msg;
			val.mv_size = 256;
			mdb_put(txn, dbi, &key, &val, 0);
		}
		mdb_txn_commit(txn);
	}
	t = now_s() - t;
	printf("  lmdb durable put    %10.0f /s (%d puts per commit)\n",
	    8.0 * UCR_GROUP_MAX_ENTRIES / t, UCR_GROUP_MAX_ENTRIES);
	printf("RESULT lmdb_group_rps=%.0f\n", 8.0 * UCR_GROUP_MAX_ENTRIES / t);
	mdb_env_close(env);
}

int
main(int argc, char **argv)
{
	int nrec = 20000, batch = 100, group = UCR_GROUP_MAX_BATCHES, ch, i, rc,
	    kolada = 0, precheck = 0;
	char tmpl[] = "/tmp/ucr-bench-XXXXXX", *dir = NULL, path[512], why[256];
	int made = 0;
	struct ucr_key *hubk, *nodek;
	struct ucr_store *hub, *node;
	struct ucr_put *puts;
	struct rusage ru;
	uint64_t epoch, f, l, seq;
	size_t bad, total = 0, nb = 0, ng = 0;
	double t, t_append, t_apply, c, c_append, c_apply;

	while ((ch = getopt(argc, argv, "n:b:g:d:kp")) != -1) {
		switch (ch) {
		case 'n':
			nrec = atoi(optarg);
			break;
		case 'b':
			batch = atoi(optarg);
			break;
		case 'g':
			group = atoi(optarg);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'k':
			kolada = 1;
			break;
		case 'p':
			precheck = 1;
			break;
		default:
			fprintf(stderr,
			    "usage: bench_ingest [-n RECORDS] [-b BATCH] "
			    "[-g GROUP] [-d DIR] [-k] [-p]\n");
			return 2;
		}
	}
	if (nrec < 1 || batch < 1 || batch > UCR_MAX_BATCH_ENTRIES ||
	    group < 1 || group > UCR_GROUP_MAX_BATCHES) {
		fprintf(stderr, "bench_ingest: bad -n, -b or -g\n");
		return 2;
	}
	if (dir == NULL) {
		if ((dir = mkdtemp(tmpl)) == NULL) {
			perror("mkdtemp");
			return 1;
		}
		made = 1;
	}
	if (ucr_crypto_init() != 0)
		return 1;
	ucr_key_generate(&hubk);
	ucr_key_generate(&nodek);
	printf("UCR ingest benchmark: %d %s in batches of %d, "
	       "store in %s, %ld cores\n",
	    nrec, kolada ? "measurements" : "records of ~300 B", batch, dir,
	    sysconf(_SC_NPROCESSORS_ONLN));
	printf("hardware limits measured in this run:\n");
	limits(dir);

	snprintf(path, sizeof(path), "%s/node", dir);
	if (ucr_store_open(&node, path, UCR_STORE_CREATE, (size_t)4 << 30) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/hub", dir);
	if (ucr_store_open(&hub, path, UCR_STORE_CREATE, (size_t)4 << 30) != 0)
		return 1;
	ucr_store_set_region(node, "bench", hubk->pk);
	ucr_store_set_region(hub, "bench", hubk->pk);
	ucr_store_set_identity(node, nodek->pk, "2403");
	ucr_store_set_identity(hub, hubk->pk, UCR_REGION);
	{
		/* enrol the node at the hub */
		Ucr__Record r = UCR__RECORD__INIT;
		Ucr__RosterEntry e = UCR__ROSTER_ENTRY__INIT;
		struct ucr_put p = {.record = &r, .mode = UCR_PUT_UPSERT};
		char key[128], hex[65];

		ucr_hex(hex, nodek->pk, 32);
		snprintf(key, sizeof(key), "region/roster/%s", hex);
		r.key = key;
		r.owner = UCR_REGION;
		r.body_case = UCR__RECORD__BODY_ROSTER;
		r.roster = &e;
		e.municipality = "2403";
		e.name = "bench";
		e.public_key.data = nodek->pk;
		e.public_key.len = 32;
		if (ucr_store_append(hub, hubk, &p, 1, &f, &l, &bad, why,
			sizeof(why)) != 0) {
			fprintf(stderr, "enrol: %s\n", why);
			return 1;
		}
	}

	/* a node's local writes: build, sign, commit, batch records at a time
	 */
	puts = calloc(batch, sizeof(*puts));
	t = now_s();
	c = cpu_s();
	for (i = 0; i < nrec;) {
		int n = 0, j;
		Ucr__Record *recs[UCR_MAX_BATCH_ENTRIES];

		for (j = 0; j < batch && i < nrec; j++, i++) {
			Ucr__Record *tmp = kolada ? make_measure("2403", i)
						  : make_record("2403", i);
			uint8_t *buf;
			size_t len;

			ucr_record_encode(&buf, &len, tmp);
			recs[n] = ucr__record__unpack(NULL, len, buf);
			free(buf);
			puts[n].record = recs[n];
			puts[n].mode = UCR_PUT_UPSERT;
			n++;
		}
		if (ucr_store_append(node, nodek, puts, n, &f, &l, &bad, why,
			sizeof(why)) != 0) {
			fprintf(stderr, "append: %s\n", why);
			return 1;
		}
		for (j = 0; j < n; j++)
			ucr__record__free_unpacked(recs[j], NULL);
	}
	t_append = now_s() - t;
	c_append = cpu_s() - c;

	/* the hub's ingest: verify signature, chain, roster, schema; commit */
	ucr_store_identity(node, NULL, &epoch, NULL, 0);
	ucr_store_set_precheck(hub, precheck);
	t = now_s();
	c_apply = 0;
	for (seq = 1; seq <= (uint64_t)nrec;) {
		struct ucr_apply_item items[UCR_GROUP_MAX_BATCHES];
		size_t n = 0, ents = 0, bytes = 0, j, k;

		/* what the hub would hold received: within its budgets */
		while (n < (size_t)group && seq <= (uint64_t)nrec &&
		    ents + batch <= UCR_GROUP_MAX_ENTRIES) {
			Ucr__Batch *b;

			if (ucr_store_batch(node, nodek, nodek->pk, epoch, seq,
				seq + batch - 1, (size_t)8 << 20, &b) != 0)
				return 1;
			for (k = 0; k < b->n_entries; k++)
				bytes += b->entries[k].len;
			ents += b->n_entries;
			items[n++].batch = b;
			seq = b->last_seq + 1;
			if (bytes >= UCR_GROUP_MAX_BYTES)
				break;
		}
		c = cpu_s();
		rc = ucr_store_apply_group(hub, items, n);
		c_apply += cpu_s() - c;
		for (j = 0; j < n; j++) {
			if (rc == 0 && items[j].rc != 0) {
				fprintf(stderr, "apply: %s\n", items[j].why);
				return 1;
			}
			total += items[j].applied;
			ucr_batch_free((Ucr__Batch *)items[j].batch);
		}
		if (rc != 0) {
			fprintf(stderr, "apply: %s\n", ucr_strerror(rc));
			return 1;
		}
		nb += n;
		ng++;
	}
	t_apply = now_s() - t;
	getrusage(RUSAGE_SELF, &ru);
	printf("ucr:\n");
	printf("  node append (sign+commit)  %10.0f records/s\n",
	    nrec / t_append);
	printf("  hub ingest (verify+commit) %10.0f records/s (%zu batches, "
	       "%.0f batches/s, %zu commits)\n",
	    total / t_apply, nb, nb / t_apply, ng);
	printf("  CPU per record: append %.1f us, ingest %.1f us "
	       "(ingest: ucr_store_apply only)\n",
	    c_append * 1e6 / nrec, c_apply * 1e6 / nrec);
	printf("  peak RSS %ld MiB\n", ru.ru_maxrss / 1024);
	printf("RESULT append_rps=%.0f ingest_rps=%.0f append_cpu_us=%.2f "
	       "ingest_cpu_us=%.2f\n",
	    nrec / t_append, total / t_apply, c_append * 1e6 / nrec,
	    c_apply * 1e6 / nrec);
	ucr_store_free(hub);
	ucr_store_free(node);
	ucr_key_free(hubk);
	ucr_key_free(nodek);
	free(puts);
	if (made) {
		snprintf(path, sizeof(path), "rm -rf '%s'", dir);
		if (system(path) != 0)
			fprintf(stderr, "bench_ingest: could not remove %s\n",
			    dir);
	}
	return 0;
}
