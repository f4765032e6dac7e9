/*
 * bench_checkpoint.c: how long the hub's loop stops answering at a
 * checkpoint. A hub and one node run as real processes on loopback; the
 * node imports N Kolada-like measurements (one streamed import) and the
 * benchmark waits until the hub holds them. Then, for D seconds, one
 * single write a second on the node (so that every 10 s the hub has a
 * change to sign a checkpoint over) while the hub's control socket is
 * asked its counters ("hub") one request after another; each answer's
 * round trip is timed. The slowest answers are the loop's stalls. Prints
 * the percentiles, the largest, how many answers took over 20 and over
 * 50 ms, and the hub's checkpoints in the window (where the hub counts
 * them). No assertions.
 *
 *   bench_checkpoint [-n RECORDS] [-d SECONDS] [-p PORT]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <zmq.h>

#include "error.h"
#include "keys.h"
#include "record.h"
#include "store.h"

#include "benchutil.h"

static const char *const codes[] = {"2480"};

static int
sum_cb(const struct ucr_head *h, void *arg)
{
	*(uint64_t *)arg += h->seq;
	return 0;
}

/* The hub's counters; NULL if it does not answer. */
static json_t *
counters(void *req)
{
	Ucr__Request rq = UCR__REQUEST__INIT;
	Ucr__Query q = UCR__QUERY__INIT;
	Ucr__Reply *rep;
	json_t *j = NULL;

	q.what = "hub";
	rq.body_case = UCR__REQUEST__BODY_QUERY;
	rq.query = &q;
	if ((rep = bu_ask(req, &rq)) == NULL)
		return NULL;
	if (rep->code == 0 && rep->json)
		j = json_loads(rep->json, 0, NULL);
	ucr__reply__free_unpacked(rep, NULL);
	return j;
}

static long long
counter(json_t *j, const char *name)
{
	json_t *v = j ? json_object_get(j, name) : NULL;

	return v ? (long long)json_integer_value(v) : -1;
}

int
main(int argc, char **argv)
{
	struct bu_region rg;
	struct ucr_store *shub = NULL;
	void *zctx = NULL, *hubreq = NULL, *nodereq = NULL;
	double *lat = NULL, t0, next_put, t;
	long nrec = 600000;
	int dur = 35, port = 17790, ch, n = 0, cap, over20 = 0, over50 = 0,
	    puts = 0;
	uint64_t want, have;
	long long cp0, cp1, cpms;
	json_t *j;
	char path[8192];

	while ((ch = getopt(argc, argv, "n:d:p:")) != -1) {
		switch (ch) {
		case 'n':
			nrec = atol(optarg);
			break;
		case 'd':
			dur = atoi(optarg);
			break;
		case 'p':
			port = atoi(optarg);
			break;
		default:
			fprintf(stderr,
			    "usage: bench_checkpoint [-n RECORDS] "
			    "[-d SECONDS] [-p PORT]\n");
			return 2;
		}
	}
	if (ucr_crypto_init() != 0 || bu_init(argv[0], "checkpoint") != 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	printf("UCR checkpoint benchmark: a hub and one node, %ld measurements "
	       "at the hub, %d s of the hub's counters asked back to back, "
	       "one write a second; in %s\n",
	    nrec, dur, bu_dir);
	if (bu_region_start(&rg, 1, codes, port, "8G") != 0) {
		fprintf(stderr, "bench_checkpoint: cannot start the region\n");
		bu_region_stop(&rg);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/rows.csv", bu_dir);
	if (bu_rows_csv(path, nrec) != 0)
		goto stop;
	snprintf(path, sizeof(path), "%s/hub.data", bu_dir);
	if (ucr_store_open(&shub, path, UCR_STORE_RDONLY, 0) != 0)
		goto stop;
	want = 0;
	ucr_store_foreach_head(shub, sum_cb, &want);
	want += nrec;
	if (bu_sh("cd %s && ucr -c n0.conf import rows.csv > /dev/null",
		bu_dir) != 0) {
		fprintf(stderr, "bench_checkpoint: the import failed\n");
		goto stop;
	}
	t0 = bu_now_s();
	do {
		usleep(50000);
		have = 0;
		ucr_store_foreach_head(shub, sum_cb, &have);
	} while (have < want && bu_now_s() - t0 < 600);
	printf("  the hub holds %llu entries (%.1f s after the import)\n",
	    (unsigned long long)have, bu_now_s() - t0);

	zctx = zmq_ctx_new();
	hubreq = zmq_socket(zctx, ZMQ_REQ);
	nodereq = zmq_socket(zctx, ZMQ_REQ);
	snprintf(path, sizeof(path), "ipc://%s/hub.sock", bu_dir);
	zmq_connect(hubreq, path);
	snprintf(path, sizeof(path), "ipc://%s/n0.sock", bu_dir);
	zmq_connect(nodereq, path);
	j = counters(hubreq);
	cp0 = counter(j, "checkpoints");
	json_decref(j);

	cap = dur * 20000;
	if ((lat = calloc(cap, sizeof(double))) == NULL)
		goto stop;
	t0 = next_put = bu_now_s();
	while ((t = bu_now_s()) - t0 < dur && n < cap) {
		if (t >= next_put) {
			if (bu_put_one(nodereq, codes[0], "C",
				"checkpoint probe", puts++, NULL) != 0)
				fprintf(stderr,
				    "bench_checkpoint: a write "
				    "failed\n");
			next_put += 1.0;
			continue;
		}
		t = bu_now_s();
		if ((j = counters(hubreq)) == NULL)
			break;
		lat[n] = (bu_now_s() - t) * 1000;
		json_decref(j);
		if (lat[n] > 20)
			over20++;
		if (lat[n] > 50)
			over50++;
		n++;
	}
	j = counters(hubreq);
	cp1 = counter(j, "checkpoints");
	cpms = counter(j, "checkpoint_ms");
	json_decref(j);
	qsort(lat, n, sizeof(double), bu_dcmp);
	printf("  the hub's counters, %d answers in %d s: p50 %.2f ms  p99 "
	       "%.2f ms  p99.9 %.2f ms  max %.2f ms; over 20 ms %d, over 50 "
	       "ms %d\n",
	    n, dur, bu_pct(lat, n, 0.5), bu_pct(lat, n, 0.99),
	    bu_pct(lat, n, 0.999), n ? lat[n - 1] : 0, over20, over50);
	if (cp0 >= 0)
		printf("  checkpoints in the window %lld, the last one read in "
		       "%lld ms (on its own thread)\n",
		    cp1 - cp0, cpms);
	printf("RESULT cp_n=%d cp_p50_ms=%.2f cp_p99_ms=%.2f cp_p999_ms=%.2f "
	       "cp_max_ms=%.2f cp_over20=%d cp_over50=%d checkpoints=%lld "
	       "checkpoint_ms=%lld\n",
	    n, bu_pct(lat, n, 0.5), bu_pct(lat, n, 0.99), bu_pct(lat, n, 0.999),
	    n ? lat[n - 1] : 0, over20, over50, cp0 >= 0 ? cp1 - cp0 : -1,
	    cpms);
stop:
	free(lat);
	if (hubreq)
		zmq_close(hubreq);
	if (nodereq)
		zmq_close(nodereq);
	if (zctx)
		zmq_ctx_term(zctx);
	ucr_store_free(shub);
	bu_region_stop(&rg);
	bu_cleanup();
	return 0;
}
