/*
 * benchutil.h: what the daemon benchmarks (bench_sync, bench_region)
 * share: a work folder, the programs beside the benchmark, a region of a
 * hub and nodes as real processes on loopback, and /proc memory figures.
 */
#ifndef UCR_BENCHUTIL_H
#define UCR_BENCHUTIL_H

#include <stdint.h>
#include <sys/types.h>

#include "ucr.pb-c.h"

#define BU_MAXNODES 8

struct bu_region {
	int nodes;
	int port;
	char hubhex[80];
	uint8_t hubpk[32];
	pid_t hub;
	pid_t node[BU_MAXNODES];
};

extern char bu_bindir[4096]; /* the programs, beside argv[0] */
extern char bu_dir[256];     /* the work folder */
extern int bu_hub_threads;   /* the hub's ingest_threads, 0: its default */

double bu_now_s(void);

/* qsort's comparison of two doubles, ascending. */
int bu_dcmp(const void *a, const void *b);

/* The P quantile (0..1) of V[0..N-1] sorted ascending; 0 if N is 0. */
double bu_pct(const double *v, int n, double p);

/* Find the programs beside argv0; make the work folder ("ucr-bench-NAME-"). */
int bu_init(const char *argv0, const char *name);

/* Run a shell command (PATH has the programs first); its exit status. */
int bu_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Write the work folder's NAME.conf from FMT; 0, or -1. */
int bu_conf(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * A daemon of the work folder: PROG (beside the benchmark) -d -f NAME.conf,
 * its stderr to NAME.log; its pid, or -1 if it could not be forked.
 */
pid_t bu_spawn(const char *prog, const char *name);

/* Wait (5 s at the most) for the work folder's control socket NAME.sock. */
void bu_wait_socket(const char *name);

/* A hub and the nodes of codes[0..nodes-1] running, enrolled, connected. */
int bu_region_start(struct bu_region *r, int nodes, const char *const *codes,
    int port, const char *map_size);
void bu_region_stop(struct bu_region *r);

/*
 * One request on a REQ socket and its reply (caller frees it with
 * ucr__reply__free_unpacked), or NULL if it could not be sent or read.
 * bu_ask_path: the same on a connection of its own to the control
 * socket at the file path, made as ucr makes one per command
 * (cli/zmtp.c: connect, handshake, request, reply, close).
 */
Ucr__Reply *bu_ask(void *req, const Ucr__Request *rq);
Ucr__Reply *bu_ask_path(const char *path, const Ucr__Request *rq);

/*
 * Make R the network record KEY of OWNER named NAME (joined 2009-01-01),
 * its body N; the strings stay the caller's.
 */
void bu_network(Ucr__Record *r, Ucr__Network *n, const char *owner, char *key,
    char *name);

/*
 * Write the network record CODE/network/PREFIX<i>, named "LABEL <i>", as
 * one Put on a node's control socket (a REQ, or its path as for
 * bu_ask_path): 0 and *seq the seq written
 * (seq may be NULL), the refusal's code (its message on stderr), or -1
 * with no answer.
 */
int bu_put_one(void *req, const char *code, const char *prefix,
    const char *label, int i, uint64_t *seq);
int bu_put_one_path(const char *path, const char *code, const char *prefix,
    const char *label, int i, uint64_t *seq);

/* VmRSS, VmHWM and Private_Dirty of a process, KiB (-1 if unknown). */
void bu_mem_kib(pid_t pid, long *rss, long *hwm, long *dirty);

/* CPU time (user + system) a process has used so far, s (-1 if unknown). */
double bu_cpu_s(pid_t pid);

/* The public key in the work folder's NAME.pk. */
int bu_read_pk(const char *name, uint8_t pk[32]);

/* Remove the work folder (unless UCR_BENCH_KEEP is set). */
void bu_cleanup(void);

/* Writes n Kolada-like measurement rows (indicator, year, gender T/K/M,
   a decimal value) as an import CSV at path. 0 or -1. */
int bu_rows_csv(const char *path, long n);

#endif
