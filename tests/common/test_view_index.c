/*
 * test_view_index.c: the indexed loader (view_load.c) and the store's view
 * index (store.c) against the full fold of every record. On random
 * histories — inserts, sets, deletes, measurements that move between
 * areas or become missing, three nodes' logs arriving at the hub in
 * random chunks and interleavings — ucr_view_build() must give the same
 * JSON documents as ucr_view_build_all() on every store, after every
 * round, and the index's count of what changed since a day must equal a
 * pass over every record; an index dropped or damaged is rebuilt on the
 * next open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "records.h"
#include "storeutil.h"
#include "view.h"

#define NNODES 3

static const char *const codes[NNODES] = {"2403", "2480", "2409"};
static const char *const kpis[] = {"N00401", "N01951", "U07414", "N07403"};
#define NKPIS (sizeof(kpis) / sizeof(kpis[0]))
/* Members the hub admits and removes (random_member). */
static const char *const member_codes[] = {"2480", "2403", "2409", "2284",
    "2482", "2460"};
#define NMEMBER_CODES (sizeof(member_codes) / sizeof(member_codes[0]))

static char *dir;
static struct ucr_key *hubk, *nodek[NNODES];
static struct ucr_store *hub, *node[NNODES];
static uint64_t sent[NNODES]; /* highest seq of each node at the hub */
static unsigned seed;

static unsigned
rnd(unsigned n)
{
	return (unsigned)(rand_r(&seed) % n);
}

static void
setup(void)
{
	int i;

	cr_assert_eq(ucr_crypto_init(), 0);
	dir = tu_tempdir();
	cr_assert_eq(ucr_key_generate(&hubk), 0);
	hub = su_open(dir, "hub", hubk, "region", hubk->pk, 0);
	for (i = 0; i < NNODES; i++) {
		char sub[16];

		snprintf(sub, sizeof(sub), "node%d", i);
		cr_assert_eq(ucr_key_generate(&nodek[i]), 0);
		node[i] = su_open(dir, sub, nodek[i], codes[i], hubk->pk, 0);
		cr_assert_eq(su_append(hub, hubk,
				 su_roster(nodek[i]->pk, codes[i])),
		    0);
		sent[i] = 0;
	}
}

static void
teardown(void)
{
	int i;

	ucr_store_free(hub);
	ucr_key_free(hubk);
	for (i = 0; i < NNODES; i++) {
		ucr_store_free(node[i]);
		ucr_key_free(nodek[i]);
	}
	tu_rmrf(dir);
	free(dir);
}

TestSuite(view_index, .init = setup, .fini = teardown, .timeout = 240);

static Ucr__Decimal *
dec(const char *s)
{
	Ucr__Decimal *d = calloc(1, sizeof(*d));

	cr_assert_eq(ucr_decimal_parse(d, s), 0);
	return d;
}

static Ucr__Record *
newrec(const char *owner, const char *kind, const char *id)
{
	Ucr__Record *r = calloc(1, sizeof(*r));
	char key[256];

	ucr__record__init(r);
	snprintf(key, sizeof(key), "%s/%s/%s", owner, kind, id);
	r->key = strdup(key);
	r->owner = strdup(owner);
	return r;
}

static void
put(int i, Ucr__Record *r)
{
	struct ucr_put p = {.record = r, .mode = UCR_PUT_UPSERT};
	uint64_t first, last;
	size_t bad;
	char why[256] = "";
	int rc = ucr_store_append(node[i], nodek[i], &p, 1, &first, &last, &bad,
	    why, sizeof(why));

	cr_assert_eq(rc, 0, "%s: %s: %s", r->key, ucr_strerror(rc), why);
	ucr__record__free_unpacked(r, NULL);
}

/* One random write by node i: most are measurements. */
static void
random_write(int i)
{
	const char *owner = codes[i];
	Ucr__Record *r;
	char id[64], val[32];
	unsigned op = rnd(20);

	if (op < 12) { /* a measurement: kpi/year/gender, any area */
		Ucr__Measurement *m = calloc(1, sizeof(*m));
		static const char *const g[] = {"T", "K", "M"};
		const char *kpi = kpis[rnd(NKPIS)];
		unsigned year = 2010 + rnd(15),
			 gender = rnd(4) ? 0 : 1 + rnd(2);

		const char *area = rnd(4) ? owner
		    : rnd(5) ? ucr_municipalities[rnd(UCR_NMUNICIPALITIES)].code
			     : member_codes[rnd(NMEMBER_CODES)];

		/* Another area's value: keyed with its area, or as the
		   previous release keyed it, without. */
		if (strcmp(area, owner) != 0 && rnd(2))
			snprintf(id, sizeof(id), "%s/%s/%u/%s", kpi, area, year,
			    g[gender]);
		else
			snprintf(id, sizeof(id), "%s/%u/%s", kpi, year,
			    g[gender]);
		r = newrec(owner, "measure", id);
		ucr__measurement__init(m);
		m->indicator = strdup(kpi);
		m->area = strdup(area);
		m->year = year;
		m->gender = gender;
		if (rnd(6) == 0) {
			m->status = UCR__MEASURE_STATUS__MEASURE_MISSING;
		} else {
			m->status = rnd(3)
			    ? UCR__MEASURE_STATUS__MEASURE_FINAL
			    : UCR__MEASURE_STATUS__MEASURE_PRELIMINARY;
			snprintf(val, sizeof(val), "%u.%u", 100 + rnd(900),
			    rnd(10));
			m->value = dec(val);
		}
		r->body_case = UCR__RECORD__BODY_MEASUREMENT;
		r->measurement = m;
	} else if (op < 15) { /* a target on one of the indicators */
		Ucr__Target *t = calloc(1, sizeof(*t));

		snprintf(id, sizeof(id), "T%u", rnd(4));
		r = newrec(owner, "target", id);
		ucr__target__init(t);
		t->title = strdup("a target");
		t->indicator = strdup(rnd(5) ? kpis[rnd(NKPIS)] : "");
		t->n_commitments = 1;
		t->commitments = calloc(1, sizeof(char *));
		t->commitments[0] = strdup("3.1");
		t->n_priorities = 1;
		t->priorities = calloc(1, sizeof(char *));
		t->priorities[0] = strdup(rnd(2) ? "P4" : "P1");
		if (rnd(2)) {
			t->baseline_value = dec("300");
			t->baseline_year = 2010;
		}
		t->target_value = dec(rnd(2) ? "900" : "100");
		t->target_year = 2030;
		t->direction = rnd(2);
		r->body_case = UCR__RECORD__BODY_TARGET;
		r->target = t;
	} else if (op < 17) { /* another kind of record */
		Ucr__Network *n = calloc(1, sizeof(*n));

		snprintf(id, sizeof(id), "N%u", rnd(3));
		r = newrec(owner, "network", id);
		ucr__network__init(n);
		n->name = strdup("a network");
		n->joined = strdup("2009-05-01");
		n->new_in_programme = rnd(2);
		r->body_case = UCR__RECORD__BODY_NETWORK;
		r->network = n;
	} else { /* delete a measurement or a target, held or not */
		if (rnd(3)) {
			static const char *const g[] = {"T", "K", "M"};

			if (rnd(4))
				snprintf(id, sizeof(id), "%s/%u/%s",
				    kpis[rnd(NKPIS)], 2010 + rnd(15),
				    g[rnd(4) ? 0 : 1 + rnd(2)]);
			else
				snprintf(id, sizeof(id), "%s/%s/%u/%s",
				    kpis[rnd(NKPIS)],
				    ucr_municipalities[rnd(UCR_NMUNICIPALITIES)]
					.code,
				    2010 + rnd(15), g[rnd(4) ? 0 : 1 + rnd(2)]);
			r = newrec(owner, "measure", id);
		} else {
			snprintf(id, sizeof(id), "T%u", rnd(4));
			r = newrec(owner, "target", id);
		}
		r->tombstone = 1;
	}
	put(i, r);
}

/*
 * Membership as data: the hub admits or removes a member now and then
 * (the six, Örnsköldsvik, Skellefteå), so the views' municipalities, the
 * per-member figures and the goals that count members vary.
 */

static void
random_member(void)
{
	const char *code = member_codes[rnd(NMEMBER_CODES)];
	Ucr__Record *r;

	r = newrec("region", "member", code);
	if (rnd(3) == 0)
		r->tombstone = 1;
	else {
		Ucr__Member *m = calloc(1, sizeof(*m));

		ucr__member__init(m);
		m->code = strdup(code);
		m->name = strdup(ucr_municipality_se_find(code)->name);
		m->population = rnd(2) ? 1000 + rnd(50000) : 0;
		r->body_case = UCR__RECORD__BODY_MEMBER;
		r->member = m;
	}
	{
		int tomb = r->tombstone, rc = su_append(hub, hubk, r);

		cr_assert(rc == 0 || (tomb && rc == UCR_ENOTFOUND), "%s: %s",
		    code, ucr_strerror(rc));
	}
}

/* Send node i's next entries (a random chunk) to the hub. */
static void
send_chunk(int i)
{
	struct ucr_head h;
	uint64_t epoch, to;
	Ucr__Batch *b;
	size_t applied;
	char why[256];
	int rc;

	cr_assert_eq(ucr_store_identity(node[i], NULL, &epoch, NULL, 0), 0);
	cr_assert_eq(ucr_store_head(node[i], nodek[i]->pk, epoch, &h), 0);
	if (sent[i] >= h.seq)
		return;
	to = sent[i] + 1 + rnd((unsigned)(h.seq - sent[i]));
	cr_assert_eq(ucr_store_batch(node[i], nodek[i], nodek[i]->pk, epoch,
			 sent[i] + 1, to, 1 << 20, &b),
	    0);
	rc = ucr_store_apply(hub, b, &applied, why, sizeof(why));
	cr_assert_eq(rc, 0, "apply: %s %s", ucr_strerror(rc), why);
	sent[i] = b->last_seq;
	ucr_batch_free(b);
}

static char *
dump(json_t *j)
{
	char *s;

	cr_assert_not_null(j);
	s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(j);
	cr_assert_not_null(s);
	return s;
}

/* Every document of both views, and the records behind them, equal. */
static void same_views_at(struct ucr_store *s, const char *what, int round,
    uint64_t now);

#define DAY_MS 86400000ULL

/* What changed since the start of UTC day `day`, by the index (it must
   answer) and by a pass over every record: the same counts. Returns the
   total. */
static uint64_t
same_changes(struct ucr_store *s, const char *what, uint64_t day)
{
	uint64_t a[UCR_CHANGE_NKINDS], b[UCR_CHANGE_NKINDS], n = 0;
	uint64_t since = (day * DAY_MS) << 16;
	size_t i;

	cr_assert_eq(ucr_store_changes(s, (uint32_t)day, a), 0, "%s", what);
	cr_assert_eq(ucr_records_changed_scan(s, since, b), 0);
	for (i = 0; i < UCR_CHANGE_NKINDS; i++) {
		cr_assert_eq(a[i], b[i],
		    "%s: changed since day %llu, %s: index %llu, records %llu",
		    what, (unsigned long long)day, ucr_change_kinds[i],
		    (unsigned long long)a[i], (unsigned long long)b[i]);
		n += a[i];
	}
	/* and ucr_records_changed answers the same */
	cr_assert_eq(ucr_records_changed(s, since, a), 0);
	cr_assert_eq(memcmp(a, b, sizeof(a)), 0);
	return n;
}

/* Today's UTC day by this clock. */
static uint64_t
today(void)
{
	return (ucr_hlc_next(0) >> 16) / DAY_MS;
}

/* Now, and as of mid-2018: later measurements are not data yet. */
static void
same_views(struct ucr_store *s, const char *what, int round)
{
	same_views_at(s, what, round, ucr_hlc_next(0));
	same_views_at(s, what, round, (uint64_t)1530000000000ULL << 16);
}

static void
same_views_at(struct ucr_store *s, const char *what, int round, uint64_t now)
{
	struct ucr_view *a = NULL, *b = NULL, *c = NULL;
	uint8_t *buf;
	size_t len;
	char *x, *y;
	size_t i;
	int m;

	cr_assert_eq(ucr_view_build(&a, s, now, 3600), 0);
	cr_assert_eq(ucr_view_build_all(&b, s, now, 3600), 0);
	cr_assert_eq(a->records, b->records, "%s round %d: records %zu != %zu",
	    what, round, a->records, b->records);
	x = dump(ucr_view_json_status(a));
	y = dump(ucr_view_json_status(b));
	cr_assert_str_eq(x, y, "%s round %d: status differs", what, round);
	free(x);
	free(y);
	x = dump(ucr_view_json_plan(a, NULL, NULL));
	y = dump(ucr_view_json_plan(b, NULL, NULL));
	cr_assert_str_eq(x, y, "%s round %d: plan differs", what, round);
	free(x);
	free(y);
	cr_assert_eq(a->nmun, b->nmun, "%s round %d: members", what, round);
	for (m = 0; m < (int)a->nmun; m++) {
		x = dump(ucr_view_json_cycle(a, a->mun[m].code));
		y = dump(ucr_view_json_cycle(b, a->mun[m].code));
		cr_assert_str_eq(x, y, "%s round %d: cycle %s differs", what,
		    round, a->mun[m].code);
		free(x);
		free(y);
	}
	cr_assert_eq(a->ntargets, b->ntargets);
	for (i = 0; i < a->ntargets; i++) {
		x = dump(ucr_view_json_target(a, &a->targets[i]));
		y = dump(ucr_view_json_target(b, &b->targets[i]));
		cr_assert_str_eq(x, y, "%s round %d: target %s differs", what,
		    round, a->targets[i].key);
		free(x);
		free(y);
	}
	/* What a daemon sends and the CLI folds: the same again. */
	ucr_view_free(a);
	cr_assert_eq(ucr_view_load_packed(&buf, &len, s, now), 0);
	cr_assert_eq(ucr_view_fold_packed(&a, buf, len, now, 3600), 0);
	x = dump(ucr_view_json_status(a));
	y = dump(ucr_view_json_status(b));
	cr_assert_str_eq(x, y, "%s round %d: packed status differs", what,
	    round);
	free(x);
	free(y);
	/*
	 * A daemon of the previous release sends no per-code figures (field
	 * 8): the six come by index. With the six default members the view
	 * is the same; with other members, every figure but their last sync,
	 * contact and follow-up year.
	 */
	{
		Ucr__ViewInputs *vi = ucr__view_inputs__unpack(NULL, len, buf);
		struct ucr_view *o = NULL;
		uint8_t *old;
		size_t n_codes, k;

		cr_assert_not_null(vi);
		cr_assert_geq(vi->n_codes, UCR_NMUNICIPALITIES);
		for (k = 0; k < UCR_NMUNICIPALITIES; k++)
			cr_assert_str_eq(vi->codes[k]->code,
			    ucr_municipalities[k].code,
			    "the six first, as fields 2, 4, 7 hold them");
		n_codes = vi->n_codes;
		vi->n_codes = 0;
		cr_assert_not_null(
		    old = malloc(ucr__view_inputs__get_packed_size(vi)));
		k = ucr__view_inputs__pack(vi, old);
		vi->n_codes = n_codes;
		ucr__view_inputs__free_unpacked(vi, NULL);
		cr_assert_eq(ucr_view_fold_packed(&o, old, k, now, 3600), 0);
		free(old);
		cr_assert_eq(o->nmun, a->nmun);
		if (!a->members_from_records) {
			x = dump(ucr_view_json_status(o));
			y = dump(ucr_view_json_status(a));
			cr_assert_str_eq(x, y,
			    "%s round %d: status from an older daemon", what,
			    round);
			free(x);
			free(y);
		}
		for (k = 0; k < o->nmun; k++)
			if (ucr_municipality_find(o->mun[k].code) != NULL)
				cr_assert_eq(o->mun[k].last_sync,
				    a->mun[k].last_sync);
		ucr_view_free(o);
	}
	free(buf);
	x = dump(ucr_view_json_plan(a, NULL, NULL));
	y = dump(ucr_view_json_plan(b, NULL, NULL));
	cr_assert_str_eq(x, y, "%s round %d: packed plan differs", what, round);
	free(x);
	free(y);
	cr_assert_eq(ucr_view_fold_packed(&c, (const uint8_t *)"\xff\xff", 2,
			 now, 3600),
	    UCR_EPROTO);
	cr_assert_null(c);
	ucr_view_free(a);
	ucr_view_free(b);
}

Test(view_index, random_histories_equal_the_full_fold)
{
	int trial, round, k, i;

	for (trial = 0; trial < 4; trial++) {
		if (trial > 0) {
			teardown();
			setup();
		}
		seed = 0x5eed + trial;
		for (round = 0; round < 8; round++) {
			for (k = 0; k < 40; k++)
				random_write(rnd(NNODES));
			if (rnd(2))
				random_member();
			for (k = 0; k < 6; k++)
				send_chunk(rnd(NNODES));
			same_views(hub, "hub", round);
			for (i = 0; i < NNODES; i++)
				same_views(node[i], codes[i], round);
			same_changes(hub, "hub", 0);
			same_changes(hub, "hub", today());
			cr_assert_eq(same_changes(hub, "hub", today() + 1), 0);
			same_changes(node[0], codes[0], today());
		}
		for (i = 0; i < NNODES; i++)
			while (sent[i] < UINT64_MAX) {
				struct ucr_head h;
				uint64_t epoch;

				cr_assert_eq(ucr_store_identity(node[i], NULL,
						 &epoch, NULL, 0),
				    0);
				cr_assert_eq(ucr_store_head(node[i],
						 nodek[i]->pk, epoch, &h),
				    0);
				if (sent[i] >= h.seq)
					break;
				send_chunk(i);
			}
		same_views(hub, "hub, all sent", trial);
	}
}

/* The figures that come from the index, not from the records read. */
Test(view_index, counts_follow_sets_and_deletes)
{
	struct ucr_view *v;
	const char *areas[] = {"2403", "2480"};
	unsigned years[2];
	uint64_t live;
	Ucr__Record *r;
	Ucr__Measurement *m;

	seed = 1;
	r = newrec("2403", "measure", "N00401/2019/T");
	m = calloc(1, sizeof(*m));
	ucr__measurement__init(m);
	m->indicator = strdup("N00401");
	m->area = strdup("2403");
	m->year = 2019;
	m->value = dec("5");
	r->body_case = UCR__RECORD__BODY_MEASUREMENT;
	r->measurement = m;
	put(0, r);
	cr_assert_eq(ucr_store_view_index(node[0], &live, areas, 2, 2100,
			 years),
	    0);
	cr_assert_eq(live, 1);
	cr_assert_eq(years[0], 2019);
	cr_assert_eq(years[1], 0);
	/* The same key, now missing: no follow-up year, still a record. */
	r = newrec("2403", "measure", "N00401/2019/T");
	m = calloc(1, sizeof(*m));
	ucr__measurement__init(m);
	m->indicator = strdup("N00401");
	m->area = strdup("2403");
	m->year = 2019;
	m->status = UCR__MEASURE_STATUS__MEASURE_MISSING;
	r->body_case = UCR__RECORD__BODY_MEASUREMENT;
	r->measurement = m;
	put(0, r);
	cr_assert_eq(ucr_store_view_index(node[0], &live, areas, 2, 2100,
			 years),
	    0);
	cr_assert_eq(live, 1);
	cr_assert_eq(years[0], 0);
	/* Deleted: nothing left. */
	r = newrec("2403", "measure", "N00401/2019/T");
	r->tombstone = 1;
	put(0, r);
	cr_assert_eq(ucr_store_view_index(node[0], &live, areas, 2, 2100,
			 years),
	    0);
	cr_assert_eq(live, 0);
	cr_assert_eq(ucr_view_build(&v, node[0], ucr_hlc_next(0), 0), 0);
	cr_assert_eq(v->records, 0);
	cr_assert_eq(v->mun[1].last_followup, 0);
	ucr_view_free(v);
}

/* A damaged or older index is counted afresh when the store is opened
   for writing; read-only, a store without one is loaded whole. */
Test(view_index, rebuilt_on_open)
{
	uint8_t zero[4] = {0}, junk[8] = {0, 0, 0, 0, 0, 0, 0, 99};
	const char *areas[] = {"2403"};
	unsigned years[1];
	uint64_t live, before;
	char path[512];
	int k;

	seed = 7;
	for (k = 0; k < 60; k++)
		random_write(0);
	cr_assert_eq(ucr_store_view_index(node[0], &before, areas, 1, 2100,
			 years),
	    0);
	cr_assert_eq(ucr_store_meta_put(node[0], "view/live", junk, 8), 0);
	cr_assert_eq(ucr_store_meta_put(node[0], "view/index", zero, 4), 0);
	cr_assert_eq(ucr_store_view_index(node[0], &live, areas, 1, 2100,
			 years),
	    UCR_ENOTFOUND);
	/* Without the index the loader reads every record. */
	same_views(node[0], "no index", 0);
	ucr_store_free(node[0]);
	snprintf(path, sizeof(path), "%s/node0", dir);
	cr_assert_eq(ucr_store_open(&node[0], path, 0, 0), 0);
	ucr_store_set_region(node[0], REGION, hubk->pk);
	cr_assert_eq(ucr_store_view_index(node[0], &live, areas, 1, 2100,
			 years),
	    0);
	cr_assert_eq(live, before);
	same_views(node[0], "rebuilt", 0);
	cr_assert_gt(same_changes(node[0], "rebuilt", today()), 0);
}

/*
 * Records written on different days, set again and deleted on later days,
 * move between the index's day counters: what changed since each day is
 * the same by the index as by reading every record, and follows the days
 * (fewer records changed since a later day). The node's clock is pushed a
 * day ahead at a time (its skew bound widened to allow it).
 */
Test(view_index, changes_counted_by_day)
{
	uint64_t first = today(), d, n, prev;
	int day, k;

	seed = 11;
	ucr_store_set_max_skew(node[0], 40 * 86400);
	for (day = 0; day < 6; day++) {
		uint64_t t = ((first + (uint64_t)day) * DAY_MS) << 16;

		ucr_store_time_next(node[0], t);
		for (k = 0; k < 25; k++)
			random_write(0);
		prev = UINT64_MAX;
		for (d = first - 1; d <= first + 7; d++) {
			n = same_changes(node[0], "by day", d);
			cr_assert_leq(n, prev, "day %llu",
			    (unsigned long long)d);
			prev = n;
		}
		/* the day just written has changes, the next none */
		cr_assert_gt(same_changes(node[0], "today", first + day), 0);
		cr_assert_eq(same_changes(node[0], "tomorrow", first + day + 1),
		    0);
	}
	/* earlier days' records were set again later: fewer changed since
	   the last day than since the first */
	cr_assert_lt(same_changes(node[0], "last day", first + 5),
	    same_changes(node[0], "first day", first));
}
