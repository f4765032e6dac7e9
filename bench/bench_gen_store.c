/*
 * bench_gen_store.c: make a node store shaped like a municipality's
 * imported Kolada history, to time queries at a given size.
 *
 *   bench_gen_store [-n MEASUREMENTS] [-t TARGETS] [-m MUNICIPALITY] DIR
 *
 * Writes DIR/key, DIR/store and DIR/node.conf (ucr -c DIR/node.conf
 * status then reads it). The store holds MEASUREMENTS measurement records
 * of the municipality (default 2480): indicators N00001, N00002, ... with
 * 30 years (1995-2024) × T/K/M each, the population KPI N01951 of all six
 * municipalities for those years, TARGETS targets (default 40) on the
 * first indicators, and a few groups, meetings, projects and networks.
 * Records go in through ucr_store_append, 10 000 to a signed batch, so the
 * store is what a node that imported them would hold. Prints the seconds
 * it took and the store's size.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "chain.h"
#include "error.h"
#include "keys.h"
#include "record.h"
#include "store.h"

#define BATCH 10000
#define YEAR0 1995
#define NYEARS 30

static const char *const gname[] = {"T", "K", "M"};

struct gen {
	struct ucr_store *s;
	struct ucr_key *key;
	const char *owner;
	struct ucr_put puts[BATCH];
	Ucr__Record *recs[BATCH];
	size_t n;
	unsigned long total;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *what, int rc, const char *why)
{
	fprintf(stderr, "bench_gen_store: %s: %s%s%s\n", what, ucr_strerror(rc),
	    why && *why ? ": " : "", why ? why : "");
	exit(1);
}

static void
flush(struct gen *g)
{
	uint64_t first, last;
	size_t bad = 0, i;
	char why[256] = "";
	int rc;

	if (g->n == 0)
		return;
	for (i = 0; i < g->n; i++) {
		g->puts[i].record = g->recs[i];
		g->puts[i].mode = UCR_PUT_UPSERT;
	}
	rc = ucr_store_append(g->s, g->key, g->puts, g->n, &first, &last, &bad,
	    why, sizeof(why));
	if (rc != 0)
		die(g->recs[bad]->key, rc, why);
	for (i = 0; i < g->n; i++)
		ucr__record__free_unpacked(g->recs[i], NULL);
	g->total += g->n;
	g->n = 0;
}

static Ucr__Record *newrec(struct gen *g, const char *owner, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static Ucr__Record *
newrec(struct gen *g, const char *owner, const char *fmt, ...)
{
	Ucr__Record *r;
	char key[256];
	va_list ap;

	if (g->n == BATCH)
		flush(g);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		die("calloc", UCR_ENOMEM, NULL);
	ucr__record__init(r);
	va_start(ap, fmt);
	vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	r->key = strdup(key);
	r->owner = strdup(owner);
	g->recs[g->n++] = r;
	return r;
}

static Ucr__Decimal *
dec(double v)
{
	Ucr__Decimal *d = calloc(1, sizeof(*d));
	char buf[64];

	snprintf(buf, sizeof(buf), "%.1f", v);
	if (d == NULL || ucr_decimal_parse(d, buf) != 0)
		die("decimal", UCR_EINVAL, buf);
	return d;
}

static void
measure(struct gen *g, const char *kpi, const char *area, unsigned year,
    int gender, double v)
{
	Ucr__Record *r;
	Ucr__Measurement *m = calloc(1, sizeof(*m));

	if (strcmp(area, g->owner) == 0)
		r = newrec(g, g->owner, "%s/measure/%s/%u/%s", g->owner, kpi,
		    year, gname[gender]);
	else
		r = newrec(g, g->owner, "%s/measure/%s/%s/%u/%s", g->owner, kpi,
		    area, year, gname[gender]);
	ucr__measurement__init(m);
	m->indicator = strdup(kpi);
	m->area = strdup(area);
	m->year = year;
	m->gender = gender;
	m->status = UCR__MEASURE_STATUS__MEASURE_FINAL;
	m->value = dec(v);
	r->body_case = UCR__RECORD__BODY_MEASUREMENT;
	r->measurement = m;
}

static char **
strv(const char *a)
{
	char **v = calloc(2, sizeof(*v));

	v[0] = strdup(a);
	return v;
}

static void
others(struct gen *g, unsigned ntargets)
{
	static const char *const pri[] = {"P1", "P2", "P3", "P4", "P5"};
	unsigned i;

	for (i = 0; i < ntargets; i++) {
		Ucr__Record *r =
		    newrec(g, g->owner, "%s/target/T%u", g->owner, i + 1);
		Ucr__Target *t = calloc(1, sizeof(*t));
		char kpi[16];

		snprintf(kpi, sizeof(kpi), "N%05u", i + 1);
		ucr__target__init(t);
		t->title = strdup("A target on an indicator");
		t->indicator = strdup(kpi);
		t->commitments = strv("3.1");
		t->n_commitments = 1;
		t->priorities = strv(pri[i % 5]);
		t->n_priorities = 1;
		t->baseline_value = dec(100);
		t->baseline_year = 2010;
		t->target_value = dec(150);
		t->target_year = 2030;
		t->direction = UCR__DIRECTION__DIRECTION_INCREASE;
		r->body_case = UCR__RECORD__BODY_TARGET;
		r->target = t;
	}
	for (i = 0; i < 5; i++) {
		Ucr__Record *r =
		    newrec(g, g->owner, "%s/network/N%u", g->owner, i + 1);
		Ucr__Network *n = calloc(1, sizeof(*n));

		ucr__network__init(n);
		n->name = strdup("A network");
		n->joined = strdup("2009-05-01");
		n->new_in_programme = 1;
		r->body_case = UCR__RECORD__BODY_NETWORK;
		r->network = n;
	}
	for (i = 0; i < 3; i++) {
		Ucr__Record *r =
		    newrec(g, g->owner, "%s/group/G%u", g->owner, i + 1);
		Ucr__Group *gr = calloc(1, sizeof(*gr));

		ucr__group__init(gr);
		gr->name = strdup("A working group");
		gr->members = strv(g->owner);
		gr->n_members = 1;
		r->body_case = UCR__RECORD__BODY_GROUP;
		r->group = gr;
	}
}

int
main(int argc, char **argv)
{
	struct gen g = {0};
	unsigned long n = 1000, i;
	unsigned ntargets = 40, y;
	const char *dir;
	char path[4096], conf[8192];
	double t0;
	FILE *f;
	int c, m, rc;

	g.owner = "2480";
	while ((c = getopt(argc, argv, "n:t:m:")) != -1) {
		switch (c) {
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		case 't':
			ntargets = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'm':
			g.owner = optarg;
			break;
		default:
			fprintf(stderr,
			    "usage: bench_gen_store [-n MEASUREMENTS] "
			    "[-t TARGETS] [-m MUNICIPALITY] DIR\n");
			return 2;
		}
	}
	if (optind + 1 != argc || ucr_municipality_find(g.owner) == NULL) {
		fprintf(stderr,
		    "usage: bench_gen_store [-n MEASUREMENTS] "
		    "[-t TARGETS] [-m MUNICIPALITY] DIR\n");
		return 2;
	}
	dir = argv[optind];
	if (ucr_crypto_init() != 0)
		die("libsodium", UCR_EIO, NULL);
	mkdir(dir, 0750);
	snprintf(path, sizeof(path), "%s/key", dir);
	if ((rc = ucr_key_generate(&g.key)) != 0 ||
	    (rc = ucr_key_save(g.key, path)) != 0)
		die(path, rc, NULL);
	snprintf(path, sizeof(path), "%s/store", dir);
	if ((rc = ucr_store_open(&g.s, path, UCR_STORE_CREATE,
		 (size_t)16 << 30)) != 0)
		die(path, rc, NULL);
	ucr_store_set_region(g.s, "umearegionen", NULL);
	if ((rc = ucr_store_set_identity(g.s, g.key->pk, g.owner)) != 0)
		die("identity", rc, NULL);
	t0 = now_s();
	others(&g, ntargets);
	/* The population of the six, as a Kolada import brings it. */
	for (m = 0; m < UCR_NMUNICIPALITIES; m++)
		for (y = 0; y < NYEARS; y++)
			measure(&g, "N01951", ucr_municipalities[m].code,
			    YEAR0 + y, 0,
			    ucr_municipalities[m].population *
				(0.9 + y / 300.0));
	for (i = 0; i < n; i++) {
		unsigned long kpi = i / (NYEARS * 3) + 1;
		char id[32];

		if (kpi >= 1951)
			kpi++; /* N01951 is the population, above */
		snprintf(id, sizeof(id), "N%05lu", kpi);
		measure(&g, id, g.owner, YEAR0 + (i / 3) % NYEARS, (int)(i % 3),
		    100 + (double)(i % 997) / 10);
	}
	flush(&g);
	printf("%lu records in %.1f s\n", g.total, now_s() - t0);
	ucr_store_free(g.s);
	ucr_key_free(g.key);
	snprintf(path, sizeof(path), "%s/node.conf", dir);
	snprintf(conf, sizeof(conf),
	    "[node]\nmunicipality = %s\nkey = %s/key\ndata = %s/store\n"
	    "control = ipc://%s/control\nregion = umearegionen\n",
	    g.owner, dir, dir, dir);
	if ((f = fopen(path, "w")) == NULL || fputs(conf, f) == EOF ||
	    fclose(f) != 0)
		die(path, UCR_EIO, NULL);
	return 0;
}
