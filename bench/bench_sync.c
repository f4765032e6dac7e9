/*
 * bench_sync.c: end-to-end sync with the real daemons on loopback. A hub
 * and two nodes run from the programs beside this one; node A imports N
 * records in one transaction; the benchmark times until the hub has
 * committed them all and until node B holds them through the relay, and
 * prints the daemons' peak memory. Beside it, the limits measured in the
 * same run: ZeroMQ CURVE messages over TCP loopback, and Ed25519 verify.
 * No assertions: it prints.
 *
 *   bench_sync [-n RECORDS] [-p PORT]
 */
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "error.h"
#include "keys.h"
#include "record.h"
#include "store.h"

#include "benchutil.h"

static long
peak_kib(pid_t pid)
{
	long rss, hwm, dirty;

	bu_mem_kib(pid, &rss, &hwm, &dirty);
	return hwm;
}

/* How many records a store holds now (read-only, beside the daemon). */
static long
records_in(const char *sub)
{
	struct ucr_store *s;
	struct ucr_store_stats st;
	char path[4200];
	long n = -1;

	snprintf(path, sizeof(path), "%s/%s", bu_dir, sub);
	if (ucr_store_open(&s, path, UCR_STORE_RDONLY, 0) != 0)
		return -1;
	if (ucr_store_stats(s, &st) == 0)
		n = (long)st.records;
	ucr_store_free(s);
	return n;
}

/* ZeroMQ CURVE DEALER to ROUTER over TCP loopback, 400-byte messages. */
static void
zmq_limit(int port)
{
	char spub[41], ssec[41], cpub[41], csec[41], ep[64];
	void *ctx = zmq_ctx_new(), *srv, *cli;
	int one = 1, n = 200000, i, hwm = 0;
	char msg[400];
	double t;

	zmq_curve_keypair(spub, ssec);
	zmq_curve_keypair(cpub, csec);
	srv = zmq_socket(ctx, ZMQ_ROUTER);
	cli = zmq_socket(ctx, ZMQ_DEALER);
	zmq_setsockopt(srv, ZMQ_CURVE_SERVER, &one, sizeof(one));
	zmq_setsockopt(srv, ZMQ_CURVE_SECRETKEY, ssec, 40);
	zmq_setsockopt(cli, ZMQ_CURVE_SERVERKEY, spub, 40);
	zmq_setsockopt(cli, ZMQ_CURVE_PUBLICKEY, cpub, 40);
	zmq_setsockopt(cli, ZMQ_CURVE_SECRETKEY, csec, 40);
	zmq_setsockopt(srv, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(cli, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", port);
	zmq_bind(srv, ep);
	zmq_connect(cli, ep);
	memset(msg, 'x', sizeof(msg));
	zmq_send(cli, msg, sizeof(msg), 0); /* handshake */
	{
		zmq_msg_t m;

		zmq_msg_init(&m);
		zmq_msg_recv(&m, srv, 0);
		zmq_msg_recv(&m, srv, 0);
		zmq_msg_close(&m);
	}
	t = bu_now_s();
	for (i = 0; i < n; i++)
		zmq_send(cli, msg, sizeof(msg), 0);
	for (i = 0; i < n; i++) {
		zmq_msg_t m;

		zmq_msg_init(&m);
		zmq_msg_recv(&m, srv, 0); /* routing id */
		zmq_msg_recv(&m, srv, 0);
		zmq_msg_close(&m);
	}
	printf("  zeromq curve tcp loopback, 400 B  %10.0f msgs/s\n",
	    n / (bu_now_s() - t));
	zmq_close(cli);
	zmq_close(srv);
	zmq_ctx_term(ctx);
}

static void
verify_limit(void)
{
	struct ucr_key *k;
	uint8_t sig[UCR_SIG_LEN], msg[80] = {0};
	int i, n = 20000;
	double t;

	ucr_key_generate(&k);
	ucr_sig_sign(sig, k, "bench", "batch", msg, sizeof(msg));
	t = bu_now_s();
	for (i = 0; i < n; i++)
		if (ucr_sig_verify(sig, k->pk, "bench", "batch", msg, 80) != 0)
			abort();
	printf("  ed25519 verify                    %10.0f /s\n",
	    n / (bu_now_s() - t));
	ucr_key_free(k);
}

int
main(int argc, char **argv)
{
	static const char *const codes[2] = {"2403", "2401"};
	int nrec = 10000, port = 17990, ch, i;
	char path[4200];
	struct bu_region rg;
	double t0, t_import, t_hub = -1, t_relay = -1;
	long want;
	FILE *f;

	while ((ch = getopt(argc, argv, "n:p:")) != -1) {
		if (ch == 'n')
			nrec = atoi(optarg);
		else if (ch == 'p')
			port = atoi(optarg);
		else {
			fprintf(stderr,
			    "usage: bench_sync [-n RECORDS] [-p PORT]\n");
			return 2;
		}
	}
	if (nrec < 1) {
		fprintf(stderr, "bench_sync: -n takes 1 or more\n");
		return 2;
	}
	if (bu_init(argv[0], "sync") != 0 || ucr_crypto_init() != 0)
		return 1;
	printf("UCR sync benchmark: %d records (~300 B) imported on one node, "
	       "relayed through the hub to another; %ld cores; in %s\n",
	    nrec, sysconf(_SC_NPROCESSORS_ONLN), bu_dir);
	printf("limits measured in this run:\n");
	zmq_limit(port + 1);
	verify_limit();

	/* a hub and two nodes: A (n0) imports, B (n1) gets the relay */
	if (bu_region_start(&rg, 2, codes, port, "2G") != 0) {
		fprintf(stderr,
		    "bench_sync: cannot start the region (see %s)\n", bu_dir);
		bu_region_stop(&rg);
		return 1;
	}

	/* the records: a JSON import, one transaction */
	snprintf(path, sizeof(path), "%s/records.json", bu_dir);
	if ((f = fopen(path, "w")) == NULL)
		return 1;
	fputs("[\n", f);
	for (i = 0; i < nrec; i++)
		fprintf(f,
		    "%s{\"kind\": \"network\", \"id\": \"N%d\", \"name\": "
		    "\"network %d %0240d\", \"scope\": \"national\", \"joined\": "
		    "\"2009-01-01\"}\n",
		    i ? "," : "", i, i, i);
	fputs("]\n", f);
	fclose(f);
	want = records_in("hub.data") + nrec;
	t0 = bu_now_s();
	if (bu_sh("cd %s && ucr -c n0.conf import records.json > /dev/null",
		bu_dir) != 0) {
		fprintf(stderr, "bench_sync: import failed (see %s)\n", bu_dir);
		goto stop;
	}
	t_import = bu_now_s() - t0;
	while (bu_now_s() - t0 < 300) {
		if (t_hub < 0 && records_in("hub.data") >= want)
			t_hub = bu_now_s() - t0;
		if (t_relay < 0 && records_in("n1.data") >= want)
			t_relay = bu_now_s() - t0;
		if (t_hub >= 0 && t_relay >= 0)
			break;
		usleep(10000);
	}
	printf("ucr:\n");
	printf("  import on node A (validate, sign, commit)  %8.2f s  %8.0f "
	       "records/s\n",
	    t_import, nrec / t_import);
	if (t_hub > 0)
		printf(
		    "  committed at the hub, from the start     %8.2f s  %8.0f "
		    "records/s\n",
		    t_hub, nrec / t_hub);
	if (t_relay > 0)
		printf(
		    "  relayed to node B, from the start        %8.2f s  %8.0f "
		    "records/s\n",
		    t_relay, nrec / t_relay);
	if (t_hub < 0 || t_relay < 0)
		printf("  did not converge within 300 s (see %s)\n", bu_dir);
	printf("  peak memory: hub %ld MiB, node A %ld MiB, node B %ld MiB\n",
	    peak_kib(rg.hub) / 1024, peak_kib(rg.node[0]) / 1024,
	    peak_kib(rg.node[1]) / 1024);
stop:
	bu_region_stop(&rg);
	bu_cleanup();
	return 0;
}
