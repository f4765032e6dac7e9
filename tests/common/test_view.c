/*
 * test_view.c: the regional view. The progress method band by band, the
 * programme goals met and unmet with what is missing, the plan and its
 * population-weighted regional figures, exceptions and provenance — on
 * records built in memory — then the loader on a real store, the JSON
 * documents and the self-contained HTML report.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "chain.h"
#include "cli.h"
#include "error.h"
#include "keys.h"
#include "record.h"
#include "store.h"
#include "testutil.h"
#include "view.h"

/* ------------------------------------------------------------ helpers */

/* Every allocation of a test, freed by the fixture. */
static void **mem;
static size_t nmem, capmem;

static void *
ta(size_t n)
{
	void *p = calloc(1, n);

	cr_assert_not_null(p);
	if (nmem == capmem) {
		capmem = capmem ? capmem * 2 : 256;
		mem = realloc(mem, capmem * sizeof(*mem));
		cr_assert_not_null(mem);
	}
	mem[nmem++] = p;
	return p;
}

static char *
ts(const char *s)
{
	char *p = ta(strlen(s) + 1);

	memcpy(p, s, strlen(s) + 1);
	return p;
}

static void
mem_free(void)
{
	size_t i;

	for (i = 0; i < nmem; i++)
		free(mem[i]);
	free(mem);
	mem = NULL;
	nmem = capmem = 0;
}

/* The records of one test, as fold inputs. */
#define MAXIN 512
static struct ucr_view_input in[MAXIN];
static size_t nin;
static uint8_t author_of[UCR_NMUNICIPALITIES + 1][UCR_PK_LEN];

static void
setup(void)
{
	int i;

	nin = 0;
	memset(in, 0, sizeof(in));
	for (i = 0; i <= UCR_NMUNICIPALITIES; i++)
		memset(author_of[i], 0x10 + i, UCR_PK_LEN);
}

static void
teardown(void)
{
	mem_free();
}

/* ms since the epoch -> HLC */
#define HLC(ms) ((uint64_t)(ms) << 16)
/* 2025-06-01T00:00:00Z */
#define NOW_MS 1748736000000ULL

static Ucr__Decimal *
dec(const char *s)
{
	Ucr__Decimal *d = ta(sizeof(*d));

	cr_assert_eq(ucr_decimal_parse(d, s), 0, "decimal %s", s);
	return d;
}

/* A new record owner/kind/id added to the inputs; body set by caller. */
static Ucr__Record *
rec(const char *owner, const char *kind, const char *id)
{
	Ucr__Record *r = ta(sizeof(*r));
	char key[256];
	const struct ucr_municipality *mu = ucr_municipality_find(owner);
	int m = mu != NULL ? (int)(mu - ucr_municipalities) : -1;

	cr_assert_lt(nin, MAXIN);
	ucr__record__init(r);
	snprintf(key, sizeof(key), "%s/%s/%s", owner, kind, id);
	r->key = ts(key);
	r->owner = ts(owner);
	in[nin].record = r;
	in[nin].author = author_of[m < 0 ? UCR_NMUNICIPALITIES : m];
	in[nin].seq = nin + 1;
	in[nin].time = HLC(NOW_MS - 86400000ULL) + nin;
	nin++;
	return r;
}

/* Split "a,b,c" into a new string array. */
static char **
list(const char *csv, size_t *n)
{
	char **v = ta(16 * sizeof(*v)), *s = ts(csv), *save = NULL, *tok;

	*n = 0;
	for (tok = strtok_r(s, ",", &save); tok && *n < 16;
	     tok = strtok_r(NULL, ",", &save))
		v[(*n)++] = tok;
	return v;
}

static void
add_group(const char *owner, const char *id, const char *name,
    const char *members)
{
	Ucr__Record *r = rec(owner, "group", id);
	Ucr__Group *g = ta(sizeof(*g));

	ucr__group__init(g);
	g->name = ts(name);
	g->members = list(members, &g->n_members);
	r->body_case = UCR__RECORD__BODY_GROUP;
	r->group = g;
}

static void
add_meeting(const char *owner, const char *id, int kind, const char *date,
    const char *title, unsigned women, unsigned men, unsigned unstated)
{
	Ucr__Record *r = rec(owner, "meeting", id);
	Ucr__Meeting *m = ta(sizeof(*m));

	ucr__meeting__init(m);
	m->kind = kind;
	m->date = ts(date);
	m->title = ts(title);
	m->women = women;
	m->men = men;
	m->unstated = unstated;
	r->body_case = UCR__RECORD__BODY_MEETING;
	r->meeting = m;
}

static void
add_project(const char *owner, const char *id, const char *title,
    const char *lead, const char *partners, int counts)
{
	Ucr__Record *r = rec(owner, "project", id);
	Ucr__Project *p = ta(sizeof(*p));

	ucr__project__init(p);
	p->title = ts(title);
	p->lead = ts(lead);
	p->partners = list(partners, &p->n_partners);
	p->counts_for_programme = counts;
	r->body_case = UCR__RECORD__BODY_PROJECT;
	r->project = p;
}

static void
add_network(const char *owner, const char *id, const char *name, int isnew)
{
	Ucr__Record *r = rec(owner, "network", id);
	Ucr__Network *n = ta(sizeof(*n));

	ucr__network__init(n);
	n->name = ts(name);
	n->joined = ts("2009-01-01");
	n->new_in_programme = isnew;
	r->body_case = UCR__RECORD__BODY_NETWORK;
	r->network = n;
}

static void
add_decision(const char *owner, const char *id, int body, int subject,
    int outcome)
{
	Ucr__Record *r = rec(owner, "decision", id);
	Ucr__Decision *d = ta(sizeof(*d));

	ucr__decision__init(d);
	d->body = body;
	d->subject = subject;
	d->outcome = outcome;
	d->date = ts("2010-03-01");
	d->ref = ts("KS 2010/12");
	r->body_case = UCR__RECORD__BODY_DECISION;
	r->decision = d;
}

static void
add_goal(const char *id, const char *threshold)
{
	Ucr__Record *r = rec(UCR_REGION, "goal", id);
	Ucr__Goal *g = ta(sizeof(*g));

	ucr__goal__init(g);
	g->id = ts(id);
	g->threshold = dec(threshold);
	r->body_case = UCR__RECORD__BODY_GOAL;
	r->goal = g;
}

/* base/target "VALUE@YEAR" or NULL. */
static Ucr__Target *
add_target(const char *owner, const char *id, const char *kpi,
    const char *priorities, const char *base, const char *target, int decrease)
{
	Ucr__Record *r = rec(owner, "target", id);
	Ucr__Target *t = ta(sizeof(*t));
	char buf[64], *at;

	ucr__target__init(t);
	t->title = ts("a target");
	t->commitments = list("3.1", &t->n_commitments);
	t->priorities = list(priorities, &t->n_priorities);
	if (*priorities == '\0')
		t->n_priorities = 0;
	t->indicator = ts(kpi);
	if (base != NULL) {
		snprintf(buf, sizeof(buf), "%s", base);
		at = strchr(buf, '@');
		*at = '\0';
		t->baseline_value = dec(buf);
		t->baseline_year = atoi(at + 1);
	}
	if (target != NULL) {
		snprintf(buf, sizeof(buf), "%s", target);
		at = strchr(buf, '@');
		*at = '\0';
		t->target_value = dec(buf);
		t->target_year = atoi(at + 1);
	}
	t->direction = decrease ? UCR__DIRECTION__DIRECTION_DECREASE
				: UCR__DIRECTION__DIRECTION_INCREASE;
	r->body_case = UCR__RECORD__BODY_TARGET;
	r->target = t;
	return t;
}

static void
add_measure_g(const char *owner, const char *kpi, const char *area,
    unsigned year, const char *value, int gender, int status)
{
	static const char *const g[] = {"T", "K", "M"};
	Ucr__Record *r;
	Ucr__Measurement *m = ta(sizeof(*m));
	char id[64];

	snprintf(id, sizeof(id), "%s/%u/%s", kpi, year, g[gender]);
	r = rec(owner, "measure", id);
	ucr__measurement__init(m);
	m->indicator = ts(kpi);
	m->area = ts(area);
	m->year = year;
	m->gender = gender;
	m->status = status;
	m->value = value ? dec(value) : NULL;
	r->body_case = UCR__RECORD__BODY_MEASUREMENT;
	r->measurement = m;
}

static void
add_measure(const char *owner, const char *kpi, unsigned year,
    const char *value)
{
	add_measure_g(owner, kpi, owner, year, value, UCR__GENDER__GENDER_T,
	    UCR__MEASURE_STATUS__MEASURE_FINAL);
}

static void
add_baseline(const char *owner, const char *commitment)
{
	Ucr__Record *r = rec(owner, "baseline", commitment);
	Ucr__Baseline *b = ta(sizeof(*b));

	ucr__baseline__init(b);
	b->commitment = ts(commitment);
	b->text = ts("status");
	r->body_case = UCR__RECORD__BODY_BASELINE;
	r->baseline = b;
}

static struct ucr_view *
fold_p(const struct ucr_view_params *p)
{
	struct ucr_view *v = NULL;

	cr_assert_eq(ucr_view_fold(&v, in, nin, p), 0);
	cr_assert_not_null(v);
	return v;
}

static struct ucr_view *
fold(void)
{
	struct ucr_view_params p = {0};

	p.now = HLC(NOW_MS);
	p.stale_after_s = 3600;
	return fold_p(&p);
}

static const char *const codes[UCR_NMUNICIPALITIES] = {"2480", "2403", "2401",
    "2409", "2404", "2460"};

/* ------------------------------------------------------------ progress */

static enum ucr_progress
assess(double base, unsigned by, double cur, unsigned cy, int has_target,
    double target, unsigned ty, int decrease, enum ucr_progress_method *m)
{
	struct ucr_progress_in pin = {1, base, by, 1, cur, cy, has_target,
	    target, ty, decrease};
	struct ucr_progress_out out;

	ucr_view_progress(&out, &pin);
	if (m != NULL)
		*m = out.method;
	return out.status;
}

Test(progress, target_bands_compound)
{
	enum ucr_progress_method m;

	/* base 100 (2015), target 200 (2025): required 7.18 %/year */
	cr_assert_eq(assess(100, 2015, 141.5, 2020, 1, 200, 2025, 0, &m),
	    UCR_PROGRESS_ONTRACK);
	cr_assert_eq(m, UCR_METHOD_COMPOUND);
	cr_assert_eq(assess(100, 2015, 125, 2020, 1, 200, 2025, 0, NULL),
	    UCR_PROGRESS_ACCELERATE);
	cr_assert_eq(assess(100, 2015, 110, 2020, 1, 200, 2025, 0, NULL),
	    UCR_PROGRESS_LIMITED);
	cr_assert_eq(assess(100, 2015, 100, 2020, 1, 200, 2025, 0, NULL),
	    UCR_PROGRESS_LIMITED, "no change is limited, not deterioration");
	cr_assert_eq(assess(100, 2015, 90, 2020, 1, 200, 2025, 0, NULL),
	    UCR_PROGRESS_DETERIORATION);
}

Test(progress, ratio_value_is_observed_over_required)
{
	struct ucr_progress_in pin = {1, 100, 2015, 1, 125, 2020, 1, 200, 2025,
	    0};
	struct ucr_progress_out out;

	ucr_view_progress(&out, &pin);
	cr_assert_float_eq(out.observed, pow(1.25, 0.2) - 1, 1e-12);
	cr_assert_float_eq(out.required, pow(2.0, 0.1) - 1, 1e-12);
	cr_assert_float_eq(out.value, out.observed / out.required, 1e-12);
}

Test(progress, band_edges_are_inclusive)
{
	/* Linear (zero base): observed 9.5/yr of required 10/yr = 0.95. */
	cr_assert_eq(assess(0, 2010, 47.5, 2015, 1, 100, 2020, 0, NULL),
	    UCR_PROGRESS_ONTRACK);
	cr_assert_eq(assess(0, 2010, 47.4, 2015, 1, 100, 2020, 0, NULL),
	    UCR_PROGRESS_ACCELERATE);
	cr_assert_eq(assess(0, 2010, 30, 2015, 1, 100, 2020, 0, NULL),
	    UCR_PROGRESS_ACCELERATE, "R = 0.60 is acceleration needed");
	cr_assert_eq(assess(0, 2010, 29.9, 2015, 1, 100, 2020, 0, NULL),
	    UCR_PROGRESS_LIMITED);
}

Test(progress, achieved_whatever_the_trend)
{
	cr_assert_eq(assess(100, 2015, 200, 2020, 1, 200, 2025, 0, NULL),
	    UCR_PROGRESS_ACHIEVED);
	cr_assert_eq(assess(10, 2015, 4, 2016, 1, 5, 2025, 1, NULL),
	    UCR_PROGRESS_ACHIEVED);
	/* Even with a single point (current year = base year). */
	cr_assert_eq(assess(100, 2020, 250, 2020, 1, 200, 2025, 0, NULL),
	    UCR_PROGRESS_ACHIEVED);
}

Test(progress, decrease_direction)
{
	/* 10 -> 5 over 10 years needs -6.7 %/yr; 7.07 after 5 is on track. */
	cr_assert_eq(assess(10, 2015, 7.08, 2020, 1, 5, 2025, 1, NULL),
	    UCR_PROGRESS_ONTRACK);
	cr_assert_eq(assess(10, 2015, 9, 2020, 1, 5, 2025, 1, NULL),
	    UCR_PROGRESS_LIMITED);
	cr_assert_eq(assess(10, 2015, 11, 2020, 1, 5, 2025, 1, NULL),
	    UCR_PROGRESS_DETERIORATION, "rising is worse when lower is better");
	cr_assert_eq(assess(100, 2015, 92, 2020, 0, 0, 0, 1, NULL),
	    UCR_PROGRESS_ONTRACK);
}

Test(progress, zero_and_negative_baselines_fall_back_to_linear)
{
	enum ucr_progress_method m;

	cr_assert_eq(assess(0, 2015, 5, 2020, 1, 10, 2025, 0, &m),
	    UCR_PROGRESS_ONTRACK);
	cr_assert_eq(m, UCR_METHOD_LINEAR);
	cr_assert_eq(assess(0, 2015, 2, 2020, 1, 10, 2025, 0, NULL),
	    UCR_PROGRESS_LIMITED);
	/* -2 -> 4: crossing zero, linear: +1/yr needed, +1/yr seen. */
	cr_assert_eq(assess(-2, 2015, 1, 2018, 1, 4, 2021, 0, &m),
	    UCR_PROGRESS_ONTRACK);
	cr_assert_eq(m, UCR_METHOD_LINEAR);
	cr_assert_eq(assess(-2, 2015, -3, 2018, 1, 4, 2021, 0, NULL),
	    UCR_PROGRESS_DETERIORATION);
	/* All negative: compound with the sign flip of Open SDG. */
	cr_assert_eq(assess(-10, 2015, -8, 2017, 1, -5, 2025, 0, &m),
	    UCR_PROGRESS_ONTRACK);
	cr_assert_eq(m, UCR_METHOD_COMPOUND);
	cr_assert_eq(assess(-10, 2015, -12, 2017, 1, -5, 2025, 0, NULL),
	    UCR_PROGRESS_DETERIORATION);
}

Test(progress, no_target_fixed_growth_thresholds)
{
	/* CAGR >= 1.5 % on track, >= 0.5 % acceleration, >= 0 limited. */
	cr_assert_eq(assess(100, 2015, 108, 2020, 0, 0, 0, 0, NULL),
	    UCR_PROGRESS_ONTRACK);
	cr_assert_eq(assess(100, 2015, 104, 2020, 0, 0, 0, 0, NULL),
	    UCR_PROGRESS_ACCELERATE);
	cr_assert_eq(assess(100, 2015, 101, 2020, 0, 0, 0, 0, NULL),
	    UCR_PROGRESS_LIMITED);
	cr_assert_eq(assess(100, 2015, 99, 2020, 0, 0, 0, 0, NULL),
	    UCR_PROGRESS_DETERIORATION);
	/* Zero base without a target: the direction of the change decides. */
	cr_assert_eq(assess(0, 2015, 3, 2020, 0, 0, 0, 0, NULL),
	    UCR_PROGRESS_ONTRACK);
	cr_assert_eq(assess(0, 2015, 0, 2020, 0, 0, 0, 0, NULL),
	    UCR_PROGRESS_LIMITED);
	cr_assert_eq(assess(0, 2015, 3, 2020, 0, 0, 0, 1, NULL),
	    UCR_PROGRESS_DETERIORATION);
}

Test(progress, no_data)
{
	struct ucr_progress_in pin = {1, 100, 2015, 0, 0, 0, 1, 200, 2025, 0};
	struct ucr_progress_out out;

	ucr_view_progress(&out, &pin);
	cr_assert_eq(out.status, UCR_PROGRESS_NODATA);
	cr_assert(isnan(out.value));
	/* One point only: no second year to measure growth over. */
	cr_assert_eq(assess(100, 2015, 120, 2015, 1, 200, 2025, 0, NULL),
	    UCR_PROGRESS_NODATA);
	/* No baseline at all. */
	pin.has_base = 0;
	pin.has_current = 1;
	pin.current = 120;
	pin.current_year = 2020;
	ucr_view_progress(&out, &pin);
	cr_assert_eq(out.status, UCR_PROGRESS_NODATA);
	cr_assert_str_eq(ucr_view_status_name(UCR_PROGRESS_NODATA), "no_data");
	cr_assert_str_eq(ucr_view_status_name(UCR_PROGRESS_ACCELERATE),
	    "acceleration_needed");
}

Test(progress, regional_rate_is_population_weighted)
{
	double vals[UCR_NMUNICIPALITIES] = {4, 10, 0, 0, 0, 0}, out = -1;
	int have[UCR_NMUNICIPALITIES] = {1, 1, 0, 0, 0, 0};
	double w[UCR_NMUNICIPALITIES], w0 = ucr_municipalities[0].population,
				       w1 = ucr_municipalities[1].population;
	int i;

	for (i = 0; i < UCR_NMUNICIPALITIES; i++)
		w[i] = (double)ucr_municipalities[i].population;
	cr_assert_eq(ucr_view_regional_rate(&out, UCR_NMUNICIPALITIES, vals,
			 have, w),
	    2);
	cr_assert_float_eq(out, (w0 * 4 + w1 * 10) / (w0 + w1), 1e-9);
	cr_assert(fabs(out - 7.0) > 1, "not the unweighted mean");
	memset(have, 0, sizeof(have));
	out = -1;
	cr_assert_eq(ucr_view_regional_rate(&out, UCR_NMUNICIPALITIES, vals,
			 have, w),
	    0);
	cr_assert_eq(out, -1);
}

/* ------------------------------------------------------------ goals */

TestSuite(goals, .init = setup, .fini = teardown);

Test(goals, a1_groups_distinct_by_name)
{
	struct ucr_view *v;
	char id[16], name[32];
	int i;

	for (i = 0; i < 9; i++) {
		snprintf(id, sizeof(id), "G%d", i);
		snprintf(name, sizeof(name), "Group %d", i);
		add_group("2480", id, name, "2480,2403");
	}
	add_group("2403", "dup", "  group   3 ", "2403"); /* same as Group 3 */
	v = fold();
	cr_assert_eq(v->goals[UCR_GOAL_A1].current, 9);
	cr_assert_not(v->goals[UCR_GOAL_A1].met);
	cr_assert_str_eq(v->goals[UCR_GOAL_A1].missing,
	    "1 more working groups needed");
	cr_assert_eq(v->goals[UCR_GOAL_A1].nrefs, 10);
	ucr_view_free(v);

	add_group("2409", "G9", "Group 9", "2409");
	v = fold();
	cr_assert_eq(v->goals[UCR_GOAL_A1].current, 10);
	cr_assert(v->goals[UCR_GOAL_A1].met);
	cr_assert_str_eq(v->goals[UCR_GOAL_A1].missing, "");
	ucr_view_free(v);
}

Test(goals, threshold_from_goal_record)
{
	struct ucr_view *v;
	int i;

	for (i = 0; i < 4; i++) {
		char id[8], name[16];

		snprintf(id, sizeof(id), "G%d", i);
		snprintf(name, sizeof(name), "G %d", i);
		add_group("2480", id, name, "2480");
	}
	v = fold();
	cr_assert_eq(v->goals[UCR_GOAL_A1].threshold, 10);
	cr_assert_not(v->goals[UCR_GOAL_A1].met);
	ucr_view_free(v);
	add_goal("A1", "4");
	v = fold();
	cr_assert_eq(v->goals[UCR_GOAL_A1].threshold, 4);
	cr_assert(v->goals[UCR_GOAL_A1].met);
	ucr_view_free(v);
}

Test(goals, a2_workshops_counted_once)
{
	struct ucr_view *v;

	add_meeting("region", "W1", UCR__MEETING_KIND__MEETING_WORKSHOP,
	    "2008-05-01", "Baseline workshop", 10, 10, 0);
	add_meeting("2403", "W1", UCR__MEETING_KIND__MEETING_WORKSHOP,
	    "2008-05-01", "baseline  Workshop", 2, 1, 0); /* the same one */
	add_meeting("region", "W2", UCR__MEETING_KIND__MEETING_WORKSHOP,
	    "2009-05-01", "Targets workshop", 10, 10, 0);
	add_meeting("2403", "M1", UCR__MEETING_KIND__MEETING_GROUP,
	    "2009-06-01", "Energy group", 3, 3, 0);
	v = fold();
	cr_assert_eq(v->goals[UCR_GOAL_A2].current, 2);
	cr_assert_not(v->goals[UCR_GOAL_A2].met);
	cr_assert_str_eq(v->goals[UCR_GOAL_A2].missing,
	    "1 more regional workshops needed");
	/* The duplicate's smaller counts are not added to A3. */
	cr_assert_eq(v->balance[1].women, 20);
	cr_assert_eq(v->balance[1].meetings, 2);
	ucr_view_free(v);

	add_meeting("region", "W3", UCR__MEETING_KIND__MEETING_WORKSHOP,
	    "2010-05-01", "Follow-up workshop", 10, 10, 0);
	v = fold();
	cr_assert_eq(v->goals[UCR_GOAL_A2].current, 3);
	cr_assert(v->goals[UCR_GOAL_A2].met);
	ucr_view_free(v);
}

Test(goals, a3_boundary_at_sixty_percent)
{
	struct ucr_view *v;

	add_meeting("2480", "M1", UCR__MEETING_KIND__MEETING_GROUP,
	    "2009-01-01", "g", 30, 20, 0);
	add_meeting("2403", "M2", UCR__MEETING_KIND__MEETING_GROUP,
	    "2009-02-01", "g", 30, 20, 40); /* not stated: reported apart */
	add_meeting("region", "W1", UCR__MEETING_KIND__MEETING_WORKSHOP,
	    "2009-03-01", "w", 40, 60, 0);
	v = fold();
	cr_assert_float_eq(v->balance[0].women_pct, 60.0, 1e-9);
	cr_assert_eq(v->balance[0].unstated, 40);
	cr_assert(v->balance[0].met, "exactly 60 %% is within the band");
	cr_assert(v->balance[1].met);
	cr_assert(v->goals[UCR_GOAL_A3].met);
	cr_assert_float_eq(v->goals[UCR_GOAL_A3].current, 60.0, 1e-9);
	ucr_view_free(v);

	/* One more woman: 61/101 = 60.4 % */
	add_meeting("2480", "M3", UCR__MEETING_KIND__MEETING_GROUP,
	    "2009-03-01", "g", 1, 0, 0);
	v = fold();
	cr_assert_not(v->balance[0].met);
	cr_assert_not(v->goals[UCR_GOAL_A3].met);
	cr_assert(v->goals[UCR_GOAL_A3].current > 60.0);
	cr_assert_not_null(strstr(v->goals[UCR_GOAL_A3].missing, "A1: women"));
	ucr_view_free(v);
}

Test(goals, a3_needs_participants_for_each_activity_goal)
{
	struct ucr_view *v;

	add_meeting("2480", "M1", UCR__MEETING_KIND__MEETING_GROUP,
	    "2009-01-01", "g", 5, 5, 0);
	v = fold();
	cr_assert_not(v->goals[UCR_GOAL_A3].met);
	cr_assert_str_eq(v->goals[UCR_GOAL_A3].missing,
	    "A2: no participants stated");
	cr_assert(isnan(v->balance[1].women_pct));
	ucr_view_free(v);
}

static void
boards(int skip)
{
	int m;

	for (m = 0; m < UCR_NMUNICIPALITIES; m++)
		if (m != skip)
			add_decision(codes[m], "D1", UCR__BODY__BODY_BOARD,
			    UCR__SUBJECT__SUBJECT_LOCAL_PLAN,
			    UCR__OUTCOME__OUTCOME_ADOPTED);
}

Test(goals, r1_met_with_six_boards_and_the_council)
{
	struct ucr_view *v;

	boards(-1);
	add_decision("region", "RC1", UCR__BODY__BODY_REGIONAL_COUNCIL,
	    UCR__SUBJECT__SUBJECT_REGIONAL_PLAN, UCR__OUTCOME__OUTCOME_ADOPTED);
	v = fold();
	cr_assert(v->goals[UCR_GOAL_R1].met);
	cr_assert_eq(v->goals[UCR_GOAL_R1].current, 1);
	cr_assert_eq(v->goals[UCR_GOAL_R1].nmissing_codes, 0);
	cr_assert_eq(v->goals[UCR_GOAL_R1].nrefs, 7);
	ucr_view_free(v);
}

Test(goals, r1_missing_one_board)
{
	struct ucr_view *v;

	boards(4); /* Vindeln 2404 has not adopted */
	add_decision("2404", "D1", UCR__BODY__BODY_BOARD,
	    UCR__SUBJECT__SUBJECT_LOCAL_PLAN, UCR__OUTCOME__OUTCOME_DEFERRED);
	add_decision("2404", "D2", UCR__BODY__BODY_COUNCIL,
	    UCR__SUBJECT__SUBJECT_LOCAL_PLAN, UCR__OUTCOME__OUTCOME_ADOPTED);
	add_decision("region", "RC1", UCR__BODY__BODY_REGIONAL_COUNCIL,
	    UCR__SUBJECT__SUBJECT_REGIONAL_PLAN, UCR__OUTCOME__OUTCOME_ADOPTED);
	v = fold();
	cr_assert_not(v->goals[UCR_GOAL_R1].met);
	cr_assert_eq(v->goals[UCR_GOAL_R1].nmissing_codes, 1);
	cr_assert_str_eq(v->goals[UCR_GOAL_R1].missing_codes[0], "2404");
	cr_assert_str_eq(v->goals[UCR_GOAL_R1].missing,
	    "local plan not adopted by the board: Vindeln");
	cr_assert_not(v->mun[4].plan_adopted);
	cr_assert(v->mun[1].plan_adopted);
	ucr_view_free(v);
}

Test(goals, r1_missing_the_regional_council)
{
	struct ucr_view *v;

	boards(-1);
	add_decision("region", "RC1", UCR__BODY__BODY_REGIONAL_COUNCIL,
	    UCR__SUBJECT__SUBJECT_REGIONAL_PLAN,
	    UCR__OUTCOME__OUTCOME_REJECTED);
	v = fold();
	cr_assert_not(v->goals[UCR_GOAL_R1].met);
	cr_assert_eq(v->goals[UCR_GOAL_R1].nmissing_codes, 0);
	cr_assert_str_eq(v->goals[UCR_GOAL_R1].missing,
	    "regional plan not adopted by the Regional Council");
	ucr_view_free(v);
}

Test(goals, r2_new_networks_distinct)
{
	struct ucr_view *v;

	add_network("2480", "N1", "CIVITAS", 1);
	add_network("2403", "N1", "civitas", 1); /* same network */
	add_network("2480", "N2", "SIS TK 522", 1);
	add_network("2480", "N3", "Cold climate building", 1);
	add_network("2480", "N4", "Public health group", 1);
	add_network("2480", "N5", "Old network", 0);
	v = fold();
	cr_assert_eq(v->goals[UCR_GOAL_R2].current, 4);
	cr_assert_not(v->goals[UCR_GOAL_R2].met);
	cr_assert_str_eq(v->goals[UCR_GOAL_R2].missing,
	    "1 more new networks needed");
	ucr_view_free(v);
	add_network("2409", "N6", "EU urban group", 1);
	v = fold();
	cr_assert(v->goals[UCR_GOAL_R2].met);
	ucr_view_free(v);
}

Test(goals, r3_projects_and_one_per_municipality)
{
	struct ucr_view *v;

	add_project("2480", "P1", "Cold climate building", "2403", "2480", 1);
	add_project("2480", "P2", "Green citizens", "2401", "", 1);
	add_project("2480", "P3", "Travel", "2409", "", 1);
	add_project("2404", "P4", "Gender", "2404", "", 1);
	add_project("2480", "P5", "Tech visits", "2480", "", 1);
	add_project("2460", "P6", "Not counted", "2460", "", 0);
	v = fold();
	cr_assert_eq(v->goals[UCR_GOAL_R3].current, 5);
	cr_assert_not(v->goals[UCR_GOAL_R3].met);
	cr_assert_eq(v->goals[UCR_GOAL_R3].nmissing_codes, 1);
	cr_assert_str_eq(v->goals[UCR_GOAL_R3].missing_codes[0], "2460");
	cr_assert_str_eq(v->goals[UCR_GOAL_R3].missing,
	    "1 more projects needed; leads no project: Vännäs");
	cr_assert_eq(v->mun[0].projects, 4);
	cr_assert_eq(v->mun[5].projects, 0);
	ucr_view_free(v);

	add_project("2480", "P7", "Alidhem", "2460", "2480", 1);
	v = fold();
	cr_assert_eq(v->goals[UCR_GOAL_R3].current, 6);
	cr_assert(v->goals[UCR_GOAL_R3].met);
	ucr_view_free(v);
}

Test(goals, r3_enough_projects_but_one_municipality_without)
{
	struct ucr_view *v;
	int i;

	for (i = 0; i < 6; i++) {
		char id[8], title[16];

		snprintf(id, sizeof(id), "P%d", i);
		snprintf(title, sizeof(title), "Project %d", i);
		add_project("2480", id, title, "2480", "2403,2401,2409,2404",
		    1);
	}
	v = fold();
	cr_assert_eq(v->goals[UCR_GOAL_R3].current, 6);
	cr_assert_not(v->goals[UCR_GOAL_R3].met);
	/* partners are shown, not counted: the seed asks for one project
	   for each municipality (issue 12) */
	cr_assert_str_eq(v->goals[UCR_GOAL_R3].missing,
	    "leads no project: Bjurholm, Nordmaling, Robertsfors, Vindeln, "
	    "Vännäs");
	cr_assert_eq(v->mun[1].projects, 6, "a partner still takes part");
	ucr_view_free(v);
}

Test(goals, provenance_names_author_and_seq)
{
	struct ucr_view *v;

	add_group("2403", "G1", "Energy", "2403");
	v = fold();
	cr_assert_eq(v->goals[UCR_GOAL_A1].nrefs, 1);
	cr_assert_str_eq(v->goals[UCR_GOAL_A1].refs[0].key, "2403/group/G1");
	cr_assert_eq(v->goals[UCR_GOAL_A1].refs[0].seq, 1);
	cr_assert_eq(memcmp(v->goals[UCR_GOAL_A1].refs[0].author, author_of[1],
			 UCR_PK_LEN),
	    0);
	cr_assert_eq(ucr_view_goal_find(v, "a1"), &v->goals[UCR_GOAL_A1]);
	cr_assert_null(ucr_view_goal_find(v, "A9"));
	ucr_view_free(v);
}

/* ------------------------------------------------------------ plan */

TestSuite(plan, .init = setup, .fini = teardown);

Test(plan, latest_measurement_and_status)
{
	const struct ucr_view_target *t;
	struct ucr_view *v;

	add_target("2403", "T1", "N00401", "P4", "6@2015", "3@2030", 1);
	add_measure("2403", "N00401", 2016, "5.9");
	add_measure("2403", "N00401", 2020, "5.0");
	/* ignored: a missing value, a women-only value, another area */
	add_measure_g("2403", "N00401", "2403", 2022, NULL,
	    UCR__GENDER__GENDER_T, UCR__MEASURE_STATUS__MEASURE_MISSING);
	add_measure_g("2403", "N00401", "2403", 2023, "1",
	    UCR__GENDER__GENDER_K, UCR__MEASURE_STATUS__MEASURE_FINAL);
	add_measure("2480", "N00401", 2024, "1");
	v = fold();
	cr_assert_eq(v->ntargets, 1);
	t = ucr_view_target_find(v, "2403/T1");
	cr_assert_not_null(t);
	cr_assert_eq(t, ucr_view_target_find(v, "2403/target/T1"));
	cr_assert(t->has_latest);
	cr_assert_eq(t->latest_year, 2020);
	cr_assert_float_eq(t->latest, 5.0, 1e-9);
	cr_assert_eq(t->nseries, 2);
	cr_assert(t->decrease);
	/* observed (5/6)^(1/5)-1 = -3.58 %, required (0.5)^(1/15)-1 = -4.51 %
	 */
	cr_assert_eq(t->progress.status, UCR_PROGRESS_ACCELERATE);
	cr_assert_eq(t->nrefs, 2, "the target and its latest measurement");
	cr_assert_str_eq(t->refs[1].key, "2403/measure/N00401/2020/T");
	cr_assert_eq(v->pri[3].ntargets, 1);
	cr_assert_eq(v->pri[3].by_status[UCR_PROGRESS_ACCELERATE], 1);
	cr_assert_eq(v->pri[3].cell[1][UCR_PROGRESS_ACCELERATE], 1);
	cr_assert_eq(v->pri[0].ntargets, 0);
	cr_assert_eq(v->mun[1].targets, 1);
	/* follow-up counts any published value of its own area: the 2023
	   value for women, not the missing 2022 one nor Umeå's 2024 */
	cr_assert_eq(v->mun[1].last_followup, 2023);
	cr_assert_eq(v->mun[0].last_followup, 2024);
	ucr_view_free(v);
}

Test(plan, newest_version_of_a_key_wins)
{
	struct ucr_view *v;

	add_target("2403", "T1", "N00401", "P4", "6@2015", "3@2030", 1);
	add_measure("2403", "N00401", 2020, "9");
	add_measure("2403", "N00401", 2020, "5.5"); /* later version */
	v = fold();
	cr_assert_float_eq(v->targets[0].latest, 5.5, 1e-9);
	ucr_view_free(v);
}

/* A year after the view's year (2099 typed for 2009) is not data: it
   neither becomes the latest value nor flips the status (issue 12). */
Test(plan, future_measurement_years_ignored)
{
	struct ucr_view *v;

	add_target("2403", "T1", "N00401", "P4", "6@2015", "3@2030", 1);
	add_measure("2403", "N00401", 2020, "5.0");
	add_measure("2403", "N00401", 2099, "9");
	v = fold();
	cr_assert_eq(v->targets[0].latest_year, 2020);
	cr_assert_eq(v->targets[0].nseries, 1);
	cr_assert_neq(v->targets[0].progress.status,
	    UCR_PROGRESS_DETERIORATION);
	cr_assert_eq(v->mun[1].last_followup, 2020);
	ucr_view_free(v);
}

Test(plan, priority_from_commitment_when_none_given)
{
	struct ucr_view *v;

	/* commitment 3.1 suggests P4 */
	add_target("2480", "T1", "", "", "1@2015", "2@2025", 0);
	v = fold();
	cr_assert_eq(v->targets[0].npriorities, 1);
	cr_assert_str_eq(v->targets[0].priorities[0], "P4");
	cr_assert_eq(v->pri[3].ntargets, 1);
	cr_assert_eq(v->targets[0].progress.status, UCR_PROGRESS_NODATA);
	ucr_view_free(v);
}

Test(plan, withdrawn_targets_left_out)
{
	struct ucr_view *v;
	Ucr__Target *t;

	t = add_target("2480", "T1", "N00401", "P4", "1@2015", "2@2025", 0);
	t->status = UCR__TARGET_STATUS__TARGET_WITHDRAWN;
	add_target("2480", "T2", "N00401", "P4", "1@2015", "2@2025", 0);
	v = fold();
	cr_assert_eq(v->ntargets, 1);
	cr_assert_str_eq(v->targets[0].id, "T2");
	ucr_view_free(v);
}

Test(plan, regional_indicator_population_weighted)
{
	struct ucr_view *v;
	double w0 = ucr_municipalities[0].population,
	       w1 = ucr_municipalities[1].population;

	add_target("2480", "T1", "N00401", "P4", "6@2015", "3@2030", 1);
	add_measure("2480", "N00401", 2020, "4");
	add_measure("2403", "N00401", 2020, "10");
	add_measure("2403", "N00401", 2021, "9"); /* only one reports 2021 */
	v = fold();
	cr_assert_eq(v->pri[3].nregional, 1);
	cr_assert_str_eq(v->pri[3].regional[0].indicator, "N00401");
	cr_assert_eq(v->pri[3].regional[0].year, 2020,
	    "the latest year most municipalities report");
	cr_assert_eq(v->pri[3].regional[0].municipalities, 2);
	cr_assert_str_eq(v->pri[3].regional[0].weights, "sample");
	cr_assert_float_eq(v->pri[3].regional[0].value,
	    (w0 * 4 + w1 * 10) / (w0 + w1), 1e-9);
	ucr_view_free(v);
}

Test(plan, regional_weights_from_measured_population)
{
	struct ucr_view *v;

	add_target("2480", "T1", "N00401", "P4", "6@2015", "3@2030", 1);
	add_measure("2480", "N00401", 2020, "4");
	add_measure("2403", "N00401", 2020, "10");
	/* inhabitants: the latest value not after 2020 is used */
	add_measure("2480", UCR_VIEW_POPULATION_KPI, 2019, "3000");
	add_measure("2480", UCR_VIEW_POPULATION_KPI, 2021, "9999");
	add_measure("2403", UCR_VIEW_POPULATION_KPI, 2020, "1000");
	v = fold();
	cr_assert_eq(v->pri[3].nregional, 1);
	cr_assert_str_eq(v->pri[3].regional[0].weights, "N01951");
	cr_assert_float_eq(v->pri[3].regional[0].value,
	    (3000.0 * 4 + 1000.0 * 10) / 4000.0, 1e-9);
	ucr_view_free(v);
}

Test(plan, regional_weights_fall_back_to_sample_when_one_lacks)
{
	struct ucr_view *v;

	add_target("2480", "T1", "N00401", "P4", "6@2015", "3@2030", 1);
	add_measure("2480", "N00401", 2020, "4");
	add_measure("2403", "N00401", 2020, "10");
	add_measure("2480", UCR_VIEW_POPULATION_KPI, 2020, "3000");
	v = fold();
	cr_assert_str_eq(v->pri[3].regional[0].weights, "sample");
	ucr_view_free(v);
}

Test(plan, baseline_coverage_by_theme)
{
	struct ucr_view *v;

	add_baseline("2401", "1.1");
	add_baseline("2401", "1.2");
	add_baseline("2401", "10.5");
	v = fold();
	cr_assert_eq(v->mun[2].baseline_covered, 3);
	cr_assert_eq(v->mun[2].theme_covered[0], 2);
	cr_assert_eq(v->mun[2].theme_covered[9], 1);
	cr_assert_eq(v->mun[0].baseline_covered, 0);
	cr_assert_float_eq(v->region_baseline_pct, 100.0 * 3 / 300, 1e-9);
	ucr_view_free(v);
}

Test(plan, same_view_whatever_the_input_order)
{
	struct ucr_view *a, *b;
	json_t *da, *db;
	char *ja, *jb;
	size_t i;

	add_target("2480", "T1", "N00401", "P4", "6@2015", "3@2030", 1);
	add_measure("2480", "N00401", 2020, "4");
	add_measure("2403", "N00401", 2020, "10");
	add_group("2403", "G1", "Energy", "2403");
	add_meeting("region", "W1", UCR__MEETING_KIND__MEETING_WORKSHOP,
	    "2008-05-01", "Workshop", 10, 10, 0);
	add_meeting("2403", "W1", UCR__MEETING_KIND__MEETING_WORKSHOP,
	    "2008-05-01", "workshop", 30, 1, 0);
	add_project("2480", "P1", "Travel", "2480", "2403", 1);
	a = fold();
	for (i = 0; i < nin / 2; i++) {
		struct ucr_view_input x = in[i];

		in[i] = in[nin - 1 - i];
		in[nin - 1 - i] = x;
	}
	b = fold();
	da = ucr_view_json_status(a);
	db = ucr_view_json_status(b);
	ja = json_dumps(da, JSON_SORT_KEYS);
	jb = json_dumps(db, JSON_SORT_KEYS);
	json_decref(da);
	json_decref(db);
	cr_assert_not_null(ja);
	cr_assert_str_eq(ja, jb);
	cr_assert_eq(a->balance[1].women, 30,
	    "the fuller copy of the workshop");
	free(ja);
	free(jb);
	ucr_view_free(a);
	ucr_view_free(b);
}

/* ------------------------------------------------------------ exceptions */

TestSuite(exceptions, .init = setup, .fini = teardown);

static size_t
count_exc(const struct ucr_view *v, enum ucr_view_exc k, const char *mun)
{
	size_t i, n = 0;

	for (i = 0; i < v->nexceptions; i++)
		if (v->exceptions[i].kind == k &&
		    (mun == NULL ||
			(v->exceptions[i].municipality != NULL &&
			    strcmp(v->exceptions[i].municipality, mun) == 0)))
			n++;
	return n;
}

Test(exceptions, overdue_deteriorating_stale_quarantine)
{
	struct ucr_view_params p = {0};
	struct ucr_view_quarantine q = {HLC(NOW_MS - 1000), "bad signature",
	    "2409", 17};
	uint64_t last[UCR_NMUNICIPALITIES] = {0};
	uint64_t contact[UCR_NMUNICIPALITIES] = {0};
	struct ucr_view *v;

	add_target("2480", "T1", "K1", "P1", "10@2010", "20@2020", 0);
	add_measure("2480", "K1", 2019, "8"); /* overdue and deteriorating */
	add_target("2480", "T2", "K2", "P1", "10@2010", "20@2020", 0);
	add_measure("2480", "K2", 2019, "21"); /* achieved: not overdue */
	last[0] = HLC(NOW_MS - 600 * 1000);    /* 10 min ago */
	last[1] = HLC(NOW_MS - 7200 * 1000);   /* 2 h ago */
	contact[0] = NOW_MS - 600 * 1000;
	contact[1] = NOW_MS - 7200 * 1000;
	p.now = HLC(NOW_MS);
	p.stale_after_s = 3600;
	p.last_sync = last;
	p.last_contact_ms = contact;
	p.quarantine = &q;
	p.nquarantine = 1;
	v = fold_p(&p);
	cr_assert_eq(v->year, 2025);
	cr_assert_str_eq(v->today, "2025-06-01");
	cr_assert(v->targets[0].overdue);
	cr_assert_not(v->targets[1].overdue);
	cr_assert_eq(count_exc(v, UCR_EXC_OVERDUE, NULL), 1);
	cr_assert_eq(count_exc(v, UCR_EXC_DETERIORATING, "2480"), 1);
	cr_assert_eq(count_exc(v, UCR_EXC_STALE, "2480"), 0);
	cr_assert_eq(count_exc(v, UCR_EXC_STALE, "2403"), 1);
	cr_assert_eq(count_exc(v, UCR_EXC_STALE, NULL), 5,
	    "four never in contact");
	cr_assert_eq(count_exc(v, UCR_EXC_QUARANTINE, "2409"), 1);
	cr_assert_eq(v->mun[0].sync_age_s, 600);
	cr_assert_eq(v->mun[2].sync_age_s, -1);
	cr_assert(v->mun[1].stale);
	cr_assert_not(v->mun[0].stale);
	ucr_view_free(v);
}

/* Staleness comes from the hub's last contact with a node, not from its
   newest record: a connected node that enters nothing is not "not
   synced", only, after a month, without new data (issue 12). */
Test(exceptions, stale_from_contact_quiet_from_data)
{
	struct ucr_view_params p = {0};
	uint64_t last[UCR_NMUNICIPALITIES], contact[UCR_NMUNICIPALITIES];
	struct ucr_view *v;
	size_t i;
	int m;

	for (m = 0; m < UCR_NMUNICIPALITIES; m++) {
		last[m] = HLC(NOW_MS - 3600 * 1000);
		contact[m] = NOW_MS - 60 * 1000;
	}
	last[1] = HLC(NOW_MS - 40ULL * 86400 * 1000); /* 40 days */
	contact[2] = NOW_MS - 3 * 3600 * 1000;        /* 3 h */
	p.now = HLC(NOW_MS);
	p.stale_after_s = 3600;
	p.last_sync = last;
	p.last_contact_ms = contact;
	v = fold_p(&p);
	cr_assert_not(v->mun[1].stale, "connected, no new data: not stale");
	cr_assert(v->mun[1].quiet);
	cr_assert(v->mun[2].stale);
	cr_assert_eq(v->mun[2].contact_age_s, 3 * 3600);
	cr_assert_eq(count_exc(v, UCR_EXC_STALE, NULL), 1);
	cr_assert_eq(count_exc(v, UCR_EXC_QUIET, "2403"), 1);
	for (i = 0; i < v->nexceptions; i++)
		if (v->exceptions[i].kind == UCR_EXC_QUIET)
			cr_assert_str_eq(v->exceptions[i].text,
			    "Bjurholm: no new data for 40 days");
	ucr_view_free(v);
	/* no contact times known (a node): old data is no staleness */
	p.last_contact_ms = NULL;
	v = fold_p(&p);
	cr_assert_eq(count_exc(v, UCR_EXC_STALE, NULL), 0);
	cr_assert_eq(count_exc(v, UCR_EXC_QUIET, NULL), 1);
	ucr_view_free(v);
}

/* ------------------------------------------------------------ programme */

TestSuite(programme, .init = setup, .fini = teardown);

static void
add_programme(const char *start, const char *end)
{
	Ucr__Record *r = rec(UCR_REGION, "programme", "programme");
	Ucr__Programme *p = ta(sizeof(*p));

	ucr__programme__init(p);
	p->start = ts(start);
	p->end = ts(end);
	r->body_case = UCR__RECORD__BODY_PROGRAMME;
	r->programme = p;
}

static Ucr__Record *
last_in(void)
{
	return (Ucr__Record *)in[nin - 1].record;
}

static int
left_has(const struct ucr_view_goal *g, const char *key, const char *why)
{
	size_t i;

	for (i = 0; i < g->nleft; i++)
		if (strcmp(g->left[i].key, key) == 0 &&
		    strstr(g->left[i].reason, why) != NULL)
			return 1;
	return 0;
}

/* Goals count only what falls in the programme period: meetings by date,
   networks by join date, projects overlapping it, decisions by date. */
Test(programme, goals_count_only_the_period)
{
	const struct ucr_view_goal *g;
	struct ucr_view *v;

	add_programme("2008-01-01", "2010-06-30");
	add_meeting(UCR_REGION, "W1", UCR__MEETING_KIND__MEETING_WORKSHOP,
	    "2009-05-20", "Workshop", 10, 10, 0);
	add_meeting(UCR_REGION, "W9", UCR__MEETING_KIND__MEETING_WORKSHOP,
	    "2024-03-01", "Late workshop", 30, 1, 0);
	add_network("2403", "N1", "Early", 1);
	add_network("2403", "N2", "Late", 1);
	last_in()->network->joined = ts("2024-02-02");
	add_project("2403", "P1", "Dated", "2403", "", 1);
	last_in()->project->start = ts("2009-01-01");
	last_in()->project->end = ts("2011-12-31");
	add_project("2401", "P2", "Undated", "2401", "", 1);
	add_project("2409", "P3", "Too early", "2409", "", 1);
	last_in()->project->end = ts("2007-12-31");
	add_decision("2403", "D1", UCR__BODY__BODY_BOARD,
	    UCR__SUBJECT__SUBJECT_LOCAL_PLAN, UCR__OUTCOME__OUTCOME_ADOPTED);
	add_decision("2401", "D2", UCR__BODY__BODY_BOARD,
	    UCR__SUBJECT__SUBJECT_LOCAL_PLAN, UCR__OUTCOME__OUTCOME_ADOPTED);
	last_in()->decision->date = ts("2012-01-01");
	v = fold();
	cr_assert_str_eq(v->programme_start, "2008-01-01");
	g = &v->goals[UCR_GOAL_A2];
	cr_assert_eq(g->current, 1, "a 2024 workshop does not count");
	cr_assert(left_has(g, "region/meeting/W9", "after the programme"));
	cr_assert_eq(v->balance[1].women, 10, "nor weighs in A3");
	g = &v->goals[UCR_GOAL_R2];
	cr_assert_eq(g->current, 1, "a 2024 network does not count");
	cr_assert(left_has(g, "2403/network/N2", "2024-02-02"));
	g = &v->goals[UCR_GOAL_R3];
	cr_assert_eq(g->current, 1);
	cr_assert(left_has(g, "2401/project/P2", "no start or end date"));
	cr_assert(left_has(g, "2409/project/P3", "before the programme"));
	g = &v->goals[UCR_GOAL_R1];
	cr_assert(left_has(g, "2401/decision/D2", "after the programme"));
	cr_assert_eq(g->nmissing_codes, 5, "only Bjurholm adopted in time");
	ucr_view_free(v);
}

/* A2 counts regional workshops only; a municipality's own workshop
   still weighs in A3's balance. */
Test(programme, a2_counts_regional_workshops_only)
{
	struct ucr_view *v;

	add_meeting("2403", "W1", UCR__MEETING_KIND__MEETING_WORKSHOP,
	    "2009-05-20", "Local workshop", 8, 2, 0);
	add_meeting("2480", "W2", UCR__MEETING_KIND__MEETING_WORKSHOP,
	    "2009-06-20", "Regional workshop 2", 5, 5, 0);
	last_in()->meeting->regional = 1;
	add_meeting(UCR_REGION, "W3", UCR__MEETING_KIND__MEETING_WORKSHOP,
	    "2010-03-17", "Regional workshop 3", 5, 5, 0);
	v = fold();
	cr_assert_eq(v->goals[UCR_GOAL_A2].current, 2);
	cr_assert(left_has(&v->goals[UCR_GOAL_A2], "2403/meeting/W1",
	    "not marked regional"));
	cr_assert_eq(v->balance[1].meetings, 3);
	cr_assert_eq(v->balance[1].women, 18);
	ucr_view_free(v);
}

static void
add_register(const char *id, const char *name, const char *aliases)
{
	Ucr__Record *r = rec(UCR_REGION, "register", id);
	Ucr__NetworkEntry *e = ta(sizeof(*e));

	ucr__network_entry__init(e);
	e->id = ts(id);
	e->name = ts(name);
	if (aliases != NULL)
		e->aliases = list(aliases, &e->n_aliases);
	r->body_case = UCR__RECORD__BODY_NETWORK_ENTRY;
	r->network_entry = e;
}

/* Networks have an identity: R2 counts register entries, whatever name a
   municipality used; unmatched names are exceptions (issue 12). */
Test(programme, r2_counts_register_entries)
{
	struct ucr_view *v;

	add_register("civitas",
	    "Europeiska CIVITAS-nätverket för hållbara "
	    "stadstransporter",
	    "CIVITAS,CIVITAS network");
	add_register("covenant", "Covenant of Mayors", NULL);
	add_network("2480", "N1", "CIVITAS", 1);
	add_network("2403", "N1",
	    "Europeiska CIVITAS-nätverket för hållbara stadstransporter", 1);
	add_network("2401", "N1", "Borgmästaravtalet", 1);
	last_in()->network->network_id = ts("covenant");
	add_network("2409", "N1", "Some club", 1);
	v = fold();
	cr_assert_eq(v->goals[UCR_GOAL_R2].current, 2, "CIVITAS counts once");
	cr_assert_eq(count_exc(v, UCR_EXC_UNMATCHED, "2409"), 1);
	cr_assert(
	    left_has(&v->goals[UCR_GOAL_R2], "2409/network/N1", "register"));
	ucr_view_free(v);
}

/* A target changed after the decision that adopted it is an exception
   naming the record and the decision (issue 12). */
Test(programme, change_after_adoption)
{
	Ucr__Record *d;
	Ucr__Target *t;
	Ucr__Adopted *a = ta(sizeof(*a)), **list1 = ta(sizeof(*list1));
	uint8_t *buf, *h = ta(UCR_HASH_LEN);
	size_t len, i;
	struct ucr_view *v;

	t = add_target("2403", "T1", "N00401", "P4", "9.8@2008", "6@2030", 1);
	cr_assert_eq(ucr_record_encode(&buf, &len, last_in()), 0);
	ucr_hash(h, buf, len);
	free(buf);
	add_decision("2403", "D1", UCR__BODY__BODY_BOARD,
	    UCR__SUBJECT__SUBJECT_TARGETS, UCR__OUTCOME__OUTCOME_ADOPTED);
	d = last_in();
	ucr__adopted__init(a);
	a->key = ts("2403/target/T1");
	a->hash.data = h;
	a->hash.len = UCR_HASH_LEN;
	list1[0] = a;
	d->decision->adopts = list1;
	d->decision->n_adopts = 1;
	v = fold();
	cr_assert_eq(v->nchanges, 0, "as adopted");
	ucr_view_free(v);
	t->target_value = dec("7");
	v = fold();
	cr_assert_eq(v->nchanges, 1);
	cr_assert_str_eq(v->changes[0].decision, "2403/decision/D1");
	cr_assert_eq(count_exc(v, UCR_EXC_CHANGED, "2403"), 1);
	for (i = 0; i < v->nexceptions; i++)
		if (v->exceptions[i].kind == UCR_EXC_CHANGED)
			cr_assert_str_eq(v->exceptions[i].text,
			    "2403/target/T1 changed after its adoption by "
			    "2403/decision/D1 (2010-03-01)");
	ucr_view_free(v);
}

/* ------------------------------------------------------------ JSON */

TestSuite(json, .init = setup, .fini = teardown);

Test(json, status_has_the_documented_keys)
{
	static const char *const gids[] = {"A1", "A2", "A3", "R1", "R2", "R3"};
	static const char *const mkeys[] = {"code", "name", "baseline_coverage",
	    "targets", "projects", "plan_adopted", "last_sync"};
	struct ucr_view *v;
	json_t *doc, *x;
	size_t i, j;

	add_target("2480", "T1", "K1", "P2", "10@2010", "20@2030", 0);
	add_measure("2480", "K1", 2019, "15");
	v = fold();
	doc = ucr_view_json_status(v);
	cr_assert_not_null(doc);
	cr_assert_eq(json_array_size(json_object_get(doc, "goals")), 6);
	json_array_foreach(json_object_get(doc, "goals"), i, x)
	{
		cr_assert_str_eq(json_string_value(json_object_get(x, "id")),
		    gids[i]);
		cr_assert(json_is_number(json_object_get(x, "current")));
		cr_assert(json_is_number(json_object_get(x, "threshold")));
		cr_assert(json_is_boolean(json_object_get(x, "met")));
	}
	cr_assert_eq(json_array_size(json_object_get(doc, "municipalities")),
	    6);
	json_array_foreach(json_object_get(doc, "municipalities"), i,
	    x) for (j = 0; j < sizeof(mkeys) / sizeof(mkeys[0]); j++)
	    cr_assert_not_null(json_object_get(x, mkeys[j]), "%s", mkeys[j]);
	x = json_array_get(json_object_get(doc, "priorities"), 1);
	cr_assert_str_eq(json_string_value(json_object_get(x, "id")), "P2");
	cr_assert_not_null(json_object_get(x, "title"));
	cr_assert_eq(json_integer_value(
			 json_object_get(json_object_get(x, "status"),
			     "on_track")),
	    1);
	cr_assert(json_is_array(json_object_get(doc, "exceptions")));
	json_decref(doc);

	doc = ucr_view_json_plan(v, "P2", NULL);
	cr_assert_eq(json_array_size(json_object_get(doc, "priorities")), 1);
	x = json_array_get(json_object_get(json_array_get(json_object_get(doc,
							      "priorities"),
					       0),
			       "targets"),
	    0);
	cr_assert_str_eq(json_string_value(json_object_get(x, "status")),
	    "on_track");
	cr_assert_eq(json_integer_value(
			 json_object_get(json_object_get(x, "latest"), "year")),
	    2019);
	json_decref(doc);
	doc = ucr_view_json_plan(v, NULL, "2403");
	cr_assert_eq(json_array_size(
			 json_object_get(json_array_get(json_object_get(doc,
							    "priorities"),
					     1),
			     "targets")),
	    0);
	json_decref(doc);

	doc = ucr_view_json_cycle(v, "2480");
	cr_assert_not_null(doc);
	cr_assert_eq(json_array_size(json_object_get(doc, "steps")), 5);
	cr_assert_eq(json_array_size(
			 json_object_get(json_object_get(doc, "baseline"),
			     "themes")),
	    10);
	cr_assert_eq(json_array_size(json_object_get(doc, "targets")), 1);
	json_decref(doc);
	cr_assert_null(ucr_view_json_cycle(v, "9999"));
	ucr_view_free(v);
}

/* ------------------------------------------------------------ real store */

struct env {
	char *dir;
	struct ucr_key *key;
	struct ucr_store *s;
};

static void
put(struct env *e, Ucr__Record *r, uint64_t *seq)
{
	struct ucr_put p = {0};
	uint64_t first = 0, last = 0;
	size_t bad = 0;
	char why[256] = "";
	int rc;

	p.record = r;
	p.mode = UCR_PUT_UPSERT;
	rc = ucr_store_append(e->s, e->key, &p, 1, &first, &last, &bad, why,
	    sizeof(why));
	cr_assert_eq(rc, 0, "append %s: %s %s", r->key, ucr_strerror(rc), why);
	if (seq != NULL)
		*seq = last;
}

static void
store_env(struct env *e)
{
	char path[512];
	uint8_t hubpk[UCR_PK_LEN] = {0};

	cr_assert_eq(ucr_crypto_init(), 0);
	e->dir = tu_tempdir();
	cr_assert_not_null(e->dir);
	snprintf(path, sizeof(path), "%s/store", e->dir);
	cr_assert_eq(ucr_key_generate(&e->key), 0);
	cr_assert_eq(ucr_store_open(&e->s, path, UCR_STORE_CREATE, 0), 0);
	ucr_store_set_region(e->s, "test", hubpk);
	cr_assert_eq(ucr_store_set_identity(e->s, e->key->pk, "2403"), 0);
}

/* The last records added by the builders, in memory. */
static Ucr__Record *
last_rec(void)
{
	return (Ucr__Record *)in[nin - 1].record;
}

static void
fill_store(struct env *e, uint64_t *group_seq)
{
	Ucr__Record *tomb;

	add_group("2403", "G1", "Energy", "2403,2480");
	put(e, last_rec(), group_seq);
	add_group("2403", "G2", "Gone", "2403");
	put(e, last_rec(), NULL);
	tomb = rec("2403", "group", "G2");
	tomb->tombstone = 1;
	put(e, tomb, NULL);
	add_meeting("2403", "M1", UCR__MEETING_KIND__MEETING_GROUP,
	    "2009-01-01", "Energy meeting", 4, 6, 1);
	put(e, last_rec(), NULL);
	add_target("2403", "T1", "N00401", "P4", "6@2015", "3@2030", 1);
	put(e, last_rec(), NULL);
	add_measure("2403", "N00401", 2020, "5.0");
	put(e, last_rec(), NULL);
	add_decision("2403", "D1", UCR__BODY__BODY_BOARD,
	    UCR__SUBJECT__SUBJECT_LOCAL_PLAN, UCR__OUTCOME__OUTCOME_ADOPTED);
	put(e, last_rec(), NULL);
}

Test(store, view_from_a_real_store, .init = setup, .fini = teardown,
    .timeout = 60)
{
	struct env e = {0};
	struct ucr_view *v = NULL;
	const struct ucr_view_target *t;
	uint64_t gseq = 0, now = ucr_hlc_next(0);

	store_env(&e);
	fill_store(&e, &gseq);
	cr_assert_eq(ucr_view_build(&v, e.s, now, 3600), 0);
	cr_assert_eq(v->records, 5, "tombstoned group left out");
	cr_assert_eq(v->ngroups, 1);
	cr_assert_eq(v->goals[UCR_GOAL_A1].current, 1);
	cr_assert_eq(v->goals[UCR_GOAL_A1].refs[0].seq, gseq);
	cr_assert_eq(memcmp(v->goals[UCR_GOAL_A1].refs[0].author, e.key->pk,
			 UCR_PK_LEN),
	    0);
	cr_assert_float_eq(v->balance[0].women_pct, 40.0, 1e-9);
	t = ucr_view_target_find(v, "2403/target/T1");
	cr_assert_not_null(t);
	cr_assert_eq(t->latest_year, 2020);
	cr_assert_eq(t->progress.status, UCR_PROGRESS_ACCELERATE);
	cr_assert(v->mun[1].plan_adopted);
	/* Bjurholm's log is here and fresh; the others never synced. */
	cr_assert_neq(v->mun[1].last_sync, 0);
	cr_assert_geq(v->mun[1].sync_age_s, 0);
	cr_assert_lt(v->mun[1].sync_age_s, 60);
	cr_assert_not(v->mun[1].stale);
	cr_assert(v->mun[0].stale);
	cr_assert_eq(v->mun[0].sync_age_s, -1);
	ucr_view_free(v);
	ucr_store_free(e.s);
	ucr_key_free(e.key);
	tu_rmrf(e.dir);
	free(e.dir);
}

/* Run a cmd_* with stdout into a file; returns its exit status. */
static int
run_cmd(int (*cmd)(int, char **), const char *outpath, int argc, char **argv)
{
	int fd, saved, rc;

	fflush(stdout);
	saved = dup(1);
	fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	dup2(fd, 1);
	close(fd);
	rc = cmd(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	return rc;
}

static char *
cli_env(struct env *e)
{
	char conf[600], text[1024];

	snprintf(conf, sizeof(conf), "%s/node.conf", e->dir);
	snprintf(text, sizeof(text),
	    "[node]\nmunicipality = 2403\nkey = key\n"
	    "data = store\ncontrol = ipc://control\nregion = test\n"
	    "stale_after = 3600\n");
	cr_assert_eq(tu_write(conf, text), 0);
	return ts(conf);
}

/* The heat-map shows the worst status of a cell, never a mean: Bjurholm's
   P4 holds one target needing acceleration and one achieved, which a mean
   would show as "on track" (issue 12); achieved and on track have
   different colours. */
Test(report, heatmap_by_worst_status, .init = setup, .fini = teardown,
    .timeout = 60)
{
	struct env e = {0};
	char out[600], *html, *cell, *argv[] = {"report", "--html", out, NULL};

	store_env(&e);
	fill_store(&e, NULL);
	add_target("2403", "T2", "N00914", "P4", "70@2010", "75@2020", 0);
	put(&e, last_rec(), NULL);
	add_measure("2403", "N00914", 2019, "80");
	put(&e, last_rec(), NULL);
	ucr_store_free(e.s);
	e.s = NULL;
	cli_conf_path = cli_env(&e);
	snprintf(out, sizeof(out), "%s/report.html", e.dir);
	cr_assert_eq(cmd_report(3, argv), 0);
	html = tu_read(out);
	cr_assert_not_null(html);
	cell = strstr(html, "<td class=\"n acc\">1/2");
	cr_assert_not_null(cell, "the cell is 'acceleration needed'");
	cr_assert_null(strstr(html, "<td class=\"n on\">"));
	cr_assert_not_null(strstr(cell, "<svg"), "a distribution bar");
	cr_assert_not_null(strstr(html, ".ach{background:#bbdefb}"));
	cr_assert_not_null(strstr(html, ".on{background:#c8e6c9}"));
	free(html);
	ucr_key_free(e.key);
	tu_rmrf(e.dir);
	free(e.dir);
}

Test(report, html_is_self_contained_with_svg, .init = setup, .fini = teardown,
    .timeout = 60)
{
	struct env e = {0};
	char out[600], *html, *argv[] = {"report", "--html", out, NULL};

	store_env(&e);
	fill_store(&e, NULL);
	add_measure("2403", "N00401", 2017, "5.6");
	put(&e, last_rec(), NULL);
	ucr_store_free(e.s); /* one LMDB environment per process */
	e.s = NULL;
	cli_conf_path = cli_env(&e);
	snprintf(out, sizeof(out), "%s/report.html", e.dir);
	cr_assert_eq(cmd_report(3, argv), 0);
	html = tu_read(out);
	cr_assert_not_null(html);
	cr_assert_not_null(strstr(html, "<!DOCTYPE html>"));
	cr_assert_not_null(strstr(html, "<svg"));
	cr_assert_not_null(strstr(html, "<polyline"), "a target chart");
	cr_assert_not_null(strstr(html, "@page{size:A4"));
	cr_assert_null(strstr(html, "src=\"http"));
	cr_assert_null(strstr(html, "href=\"http"));
	cr_assert_null(strstr(html, "http"), "no network address at all");
	cr_assert_null(strstr(html, "<script"));
	cr_assert_not_null(strstr(html, "Bjurholm"));
	free(html);
	ucr_key_free(e.key);
	tu_rmrf(e.dir);
	free(e.dir);
}

Test(report, status_json_and_text, .init = setup, .fini = teardown,
    .timeout = 60)
{
	struct env e = {0};
	char out[600], *txt, *argvj[] = {"status", "--json", NULL},
			     *argvt[] = {"status", NULL},
			     *argve[] = {"explain", "A1", NULL};
	json_t *doc;
	json_error_t err;
	char *line, *save = NULL;

	store_env(&e);
	fill_store(&e, NULL);
	ucr_store_free(e.s);
	e.s = NULL;
	cli_conf_path = cli_env(&e);
	snprintf(out, sizeof(out), "%s/status.json", e.dir);
	cr_assert_eq(run_cmd(cmd_status, out, 2, argvj), 0);
	doc = json_load_file(out, 0, &err);
	cr_assert_not_null(doc, "status --json: %s", err.text);
	cr_assert_eq(json_array_size(json_object_get(doc, "goals")), 6);
	cr_assert_eq(json_array_size(json_object_get(doc, "municipalities")),
	    6);
	cr_assert_eq(json_array_size(json_object_get(doc, "priorities")), 5);
	cr_assert(json_is_array(json_object_get(doc, "exceptions")));
	json_decref(doc);

	cr_assert_eq(run_cmd(cmd_status, out, 1, argvt), 0);
	txt = tu_read(out);
	cr_assert_not_null(strstr(txt, "PROGRAMME GOALS"));
	cr_assert_not_null(strstr(txt, "MUNICIPALITIES"));
	cr_assert_not_null(strstr(txt, "EXCEPTIONS"));
	cr_assert_null(strchr(txt, '\033'), "no colour off a terminal");
	cr_assert_lt(strstr(txt, "PROGRAMME GOALS"),
	    strstr(txt, "MUNICIPALITIES"));
	for (line = strtok_r(txt, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t w = 0;
		const char *p;

		for (p = line; *p; p++)
			w += ((unsigned char)*p & 0xC0) != 0x80;
		cr_assert_leq(w, 100, "line too wide: %s", line);
	}
	free(txt);

	cr_assert_eq(run_cmd(cmd_explain, out, 2, argve), 0);
	txt = tu_read(out);
	cr_assert_not_null(strstr(txt, "2403/group/G1"));
	free(txt);
	ucr_key_free(e.key);
	tu_rmrf(e.dir);
	free(e.dir);
}

/* ------------------------------------------------------------ members */

TestSuite(members, .init = setup, .fini = teardown);

static Ucr__Record *
add_member(const char *code, const char *name, long population)
{
	Ucr__Record *r = rec("region", "member", code);
	Ucr__Member *m = ta(sizeof(*m));

	ucr__member__init(m);
	m->code = ts(code);
	m->name = ts(name);
	m->population = population;
	r->body_case = UCR__RECORD__BODY_MEMBER;
	r->member = m;
	return r;
}

static void
add_six_members(void)
{
	int i;

	for (i = 0; i < UCR_NMUNICIPALITIES; i++)
		add_member(ucr_municipalities[i].code,
		    ucr_municipalities[i].name, 0);
}

Test(members, no_member_record_means_the_six)
{
	struct ucr_view *v = fold();
	int i;

	cr_assert_eq(v->nmun, UCR_NMUNICIPALITIES);
	cr_assert_not(v->members_from_records);
	for (i = 0; i < UCR_NMUNICIPALITIES; i++)
		cr_assert_str_eq(v->mun[i].code, codes[i]);
	cr_assert_eq(v->goals[UCR_GOAL_R3].threshold, 6);
	ucr_view_free(v);
}

/* "minst sex tematiska utvecklingsprojekt (ett för varje kommun)": with
   Örnsköldsvik admitted, seven members and one lead project each. */
Test(members, a_seventh_member_counts_in_rows_and_goals)
{
	struct ucr_view *v;
	json_t *j;
	char id[8], title[32];
	int i;

	add_member("2284", "Örnsköldsvik", 56000);
	add_six_members();
	for (i = 0; i < UCR_NMUNICIPALITIES; i++) {
		snprintf(id, sizeof(id), "P%d", i);
		snprintf(title, sizeof(title), "Project %d", i);
		add_project("2480", id, title, codes[i], "", 1);
	}
	add_target("2284", "T1", "N00401", "P4", "6@2015", "3@2030", 1);
	v = fold();
	cr_assert_eq(v->nmun, 7);
	cr_assert(v->members_from_records);
	/* the six in their order, then the others by code */
	for (i = 0; i < UCR_NMUNICIPALITIES; i++)
		cr_assert_str_eq(v->mun[i].code, codes[i]);
	cr_assert_str_eq(v->mun[6].code, "2284");
	cr_assert_str_eq(v->mun[6].name, "Örnsköldsvik");
	cr_assert_eq(v->mun[6].population, 56000);
	cr_assert_eq(v->mun[0].population, ucr_municipalities[0].population,
	    "population 0 in the record: the defaults' table");
	cr_assert_eq(v->mun[6].targets, 1);
	cr_assert_eq(v->pri[3].cell[6][UCR_PROGRESS_NODATA], 1);
	cr_assert_eq(v->goals[UCR_GOAL_R3].threshold, 7);
	cr_assert_eq(v->goals[UCR_GOAL_R3].current, 6);
	cr_assert_not(v->goals[UCR_GOAL_R3].met);
	cr_assert_eq(v->goals[UCR_GOAL_R3].nmissing_codes, 1);
	cr_assert_str_eq(v->goals[UCR_GOAL_R3].missing_codes[0], "2284");
	cr_assert(strstr(v->goals[UCR_GOAL_R3].missing, "Örnsköldsvik") != NULL,
	    "%s", v->goals[UCR_GOAL_R3].missing);
	j = ucr_view_json_status(v);
	cr_assert_eq(json_array_size(json_object_get(j, "municipalities")), 7);
	json_decref(j);
	j = ucr_view_json_cycle(v, "2284");
	cr_assert_not_null(j);
	json_decref(j);
	ucr_view_free(v);

	add_project("2284", "P7", "Project 7", "2284", "", 1);
	v = fold();
	cr_assert_eq(v->goals[UCR_GOAL_R3].current, 7);
	cr_assert(v->goals[UCR_GOAL_R3].met);
	ucr_view_free(v);
}

/* A region of other municipalities: the members are the records only. */
Test(members, records_replace_the_defaults)
{
	struct ucr_view *v;
	Ucr__Record *r;

	add_member("2482", "Skellefteå", 0);
	add_member("2284", "Örnsköldsvik", 0);
	r = add_member("2480", "Umeå", 0);
	v = fold();
	cr_assert_eq(v->nmun, 3);
	cr_assert_str_eq(v->mun[0].code, "2480");
	cr_assert_str_eq(v->mun[1].code, "2284");
	cr_assert_str_eq(v->mun[2].code, "2482");
	cr_assert_eq(ucr_view_mun_index(v, "2403"), -1);
	cr_assert_null(ucr_view_json_cycle(v, "2403"));
	ucr_view_free(v);
	/* a later version deletes Umeå's record */
	r = rec("region", "member", "2480");
	r->tombstone = 1;
	in[nin - 1].time += 1000;
	v = fold();
	cr_assert_eq(v->nmun, 2);
	cr_assert_eq(ucr_view_mun_index(v, "2480"), -1);
	ucr_view_free(v);
}

/* More Member records than the budget: the lowest codes, the rest
   counted. */
Test(members, beyond_the_budget_left_out)
{
	struct ucr_view *v;
	int i;

	for (i = 0; i < UCR_MAX_MEMBERS + 3; i++)
		add_member(ucr_municipalities_se[i].code,
		    ucr_municipalities_se[i].name, 0);
	v = fold();
	cr_assert_eq(v->nmun, UCR_MAX_MEMBERS);
	cr_assert_eq(v->members_over, 3);
	cr_assert_eq(ucr_view_mun_index(v,
			 ucr_municipalities_se[UCR_MAX_MEMBERS].code),
	    -1);
	cr_assert_geq(ucr_view_mun_index(v, ucr_municipalities_se[0].code), 0);
	/* and the view says so, first among the exceptions */
	cr_assert_geq(v->nexceptions, 1);
	cr_assert_eq(v->exceptions[0].kind, UCR_EXC_MEMBERS);
	cr_assert(strstr(v->exceptions[0].text, "3 member records") != NULL,
	    "%s", v->exceptions[0].text);
	ucr_view_free(v);
}

/* Within the budget there is no such exception. */
Test(members, within_the_budget_no_exception)
{
	struct ucr_view *v;
	size_t i;

	add_member("2284", "Örnsköldsvik", 0);
	add_six_members();
	v = fold();
	cr_assert_eq(v->members_over, 0);
	for (i = 0; i < v->nexceptions; i++)
		cr_assert_neq(v->exceptions[i].kind, UCR_EXC_MEMBERS);
	ucr_view_free(v);
}

/* Names wherever a code is taken: any of the 290, the six with their
   sample populations. */
Test(members, lookup_takes_any_of_the_290)
{
	int i;

	for (i = 0; i < UCR_NMUNICIPALITIES_SE; i++)
		cr_assert_str_eq(ucr_municipalities_se_mun[i].code,
		    ucr_municipalities_se[i].code);
	cr_assert_str_eq(ucr_municipality_lookup("Örnsköldsvik")->code, "2284");
	cr_assert_str_eq(ucr_municipality_lookup("örnsköldsvik")->code, "2284");
	cr_assert_str_eq(ucr_municipality_lookup("2284")->name, "Örnsköldsvik");
	cr_assert_eq(ucr_municipality_lookup("Umeå")->population, 115000);
	cr_assert_null(ucr_municipality_lookup("9999"));
}
