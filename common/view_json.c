/*
 * view_json.c: render a folded view as the JSON documents of docs/view.md.
 * Reads the view only; never touches the store.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "i18n.h"
#include "view.h"

/* JSON has no NaN or infinity: those become null. */
static json_t *
jreal(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

/* "2025-01-02T03:04:05Z" of an HLC time, or null for 0. */
static json_t *
jtime(uint64_t hlc)
{
	time_t secs = (time_t)((hlc >> 16) / 1000);
	struct tm tm;
	char buf[32];

	if (hlc == 0 || gmtime_r(&secs, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static json_t *
jstatus_counts(const size_t c[UCR_NPROGRESS])
{
	json_t *o = json_object();
	int s;

	for (s = UCR_NPROGRESS - 1; o != NULL && s >= 0; s--)
		json_object_set_new(o, ucr_view_status_name(s),
		    json_integer((json_int_t)c[s]));
	return o;
}

static json_t *
jstrings(const char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

json_t *
ucr_view_json_refs(const struct ucr_view_ref *refs, size_t n)
{
	json_t *a = json_array();
	char hex[2 * UCR_PK_LEN + 1];
	size_t i;

	for (i = 0; a != NULL && i < n; i++) {
		ucr_hex(hex, refs[i].author, UCR_PK_LEN);
		json_array_append_new(a,
		    json_pack("{s:s, s:s, s:I, s:o}", "key", refs[i].key,
			"author", hex, "seq", (json_int_t)refs[i].seq, "time",
			jtime(refs[i].time)));
	}
	return a;
}

static json_t *
jvalue_year(int has, double value, unsigned year)
{
	if (!has)
		return json_null();
	return json_pack("{s:o, s:o}", "value", jreal(value), "year",
	    year ? json_integer(year) : json_null());
}

json_t *
ucr_view_json_target(const struct ucr_view *v, const struct ucr_view_target *t)
{
	json_t *o, *series;
	size_t i;

	(void)v;
	series = json_array();
	for (i = 0; series != NULL && i < t->nseries; i++)
		json_array_append_new(series,
		    json_pack("{s:i, s:o}", "year", (int)t->series[i].year,
			"value", jreal(t->series[i].value)));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o,"
		      " s:s, s:s, s:o, s:o, s:o, s:b, s:o}",
	    "key", t->key, "municipality", t->owner, "id", t->id, "title",
	    t->title, "indicator", t->indicator, "priorities",
	    jstrings(t->priorities, t->npriorities), "direction",
	    t->decrease ? "decrease" : "increase", "baseline",
	    jvalue_year(t->has_baseline, t->baseline, t->baseline_year),
	    "latest", jvalue_year(t->has_latest, t->latest, t->latest_year),
	    "target", jvalue_year(t->has_target, t->target, t->target_year),
	    "status", ucr_view_status_name(t->progress.status), "method",
	    ucr_view_method_name(t->progress.method), "progress",
	    jreal(t->progress.value), "observed_rate",
	    jreal(t->progress.observed), "required_rate",
	    jreal(t->progress.required), "overdue", t->overdue, "series",
	    series);
	return o;
}

static json_t *
jgoal(const struct ucr_view_goal *g)
{
	return json_pack("{s:s, s:s, s:f, s:f, s:s, s:b, s:s, s:o, s:i, s:o}",
	    "id", g->id, "title", g->title, "current", g->current, "threshold",
	    g->threshold, "comparison", g->at_most ? "<=" : ">=", "met", g->met,
	    "missing", g->missing, "missing_municipalities",
	    jstrings(g->missing_codes, g->nmissing_codes), "records",
	    (int)g->nrefs, "left_out", ucr_view_json_left(g));
}

json_t *
ucr_view_json_left(const struct ucr_view_goal *g)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < g->nleft; i++)
		json_array_append_new(a,
		    json_pack("{s:s, s:s}", "key", g->left[i].key, "reason",
			g->left[i].reason));
	return a;
}

json_t *
ucr_view_json_changes(const struct ucr_view *v, const char *key)
{
	char a[2 * UCR_HASH_LEN + 1], c[2 * UCR_HASH_LEN + 1];
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr != NULL && i < v->nchanges; i++) {
		const struct ucr_view_change *x = &v->changes[i];

		if (key != NULL && strcmp(x->key, key) != 0)
			continue;
		ucr_hex(a, x->adopted, UCR_HASH_LEN);
		ucr_hex(c, x->current, UCR_HASH_LEN);
		json_array_append_new(arr,
		    json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "key", x->key,
			"decision", x->decision, "decision_date",
			x->decision_date, "adopted_hash", a, "current_hash",
			x->deleted ? json_null() : json_string(c),
			"current_time",
			x->deleted ? json_null() : jtime(x->current_time)));
	}
	return arr;
}

static json_t *
jmunicipality(const struct ucr_view_municipality *mu)
{
	json_t *o =
	    json_pack("{s:s, s:s, s:I, s:i, s:i, s:o, s:i, s:o, s:i, s:b,"
		      " s:b, s:o, s:o, s:o, s:o, s:b}",
		"code", mu->code, "name", mu->name, "population",
		(json_int_t)mu->population, "baseline_coverage",
		(int)mu->baseline_covered, "baseline_total", UCR_NCOMMITMENTS,
		"baseline_pct",
		json_real(100.0 * mu->baseline_covered / UCR_NCOMMITMENTS),
		"targets", (int)mu->targets, "targets_by_status",
		jstatus_counts(mu->by_status), "projects", (int)mu->projects,
		"plan_adopted", mu->plan_adopted, "targets_adopted",
		mu->targets_adopted, "last_followup",
		mu->last_followup ? json_integer(mu->last_followup)
				  : json_null(),
		"last_sync", jtime(mu->last_sync), "last_sync_hlc",
		mu->last_sync ? json_integer((json_int_t)mu->last_sync)
			      : json_null(),
		"sync_age_s",
		mu->sync_age_s >= 0 ? json_integer(mu->sync_age_s)
				    : json_null(),
		"stale", mu->stale);

	if (o != NULL) {
		json_object_set_new(o, "contact_age_s",
		    mu->contact_age_s >= 0 ? json_integer(mu->contact_age_s)
					   : json_null());
		json_object_set_new(o, "quiet", json_boolean(mu->quiet));
	}
	return o;
}

static const char *
exc_name(enum ucr_view_exc k)
{
	switch (k) {
	case UCR_EXC_OVERDUE:
		return "overdue";
	case UCR_EXC_DETERIORATING:
		return "deteriorating";
	case UCR_EXC_STALE:
		return "stale";
	case UCR_EXC_CHANGED:
		return "changed_after_adoption";
	case UCR_EXC_UNMATCHED:
		return "unregistered_network";
	case UCR_EXC_QUIET:
		return "no_new_data";
	case UCR_EXC_MEMBERS:
		return "members_over_budget";
	default:
		return "quarantine";
	}
}

static json_t *
jpriority_head(const struct ucr_view *v, const struct ucr_view_priority *pr)
{
	json_t *cells = json_object();
	int m;

	for (m = 0; cells != NULL && m < (int)v->nmun; m++)
		json_object_set_new(cells, v->mun[m].code,
		    jstatus_counts(pr->cell[m]));
	return json_pack("{s:s, s:s, s:i, s:o, s:o}", "id", pr->id, "title",
	    pr->title, "targets", (int)pr->ntargets, "status",
	    jstatus_counts(pr->by_status), "municipalities", cells);
}

json_t *
ucr_view_json_status(const struct ucr_view *v)
{
	json_t *o, *goals, *bal, *muns, *pris, *excs;
	size_t i;
	int k;

	goals = json_array();
	for (k = 0; goals != NULL && k < UCR_NGOALS; k++)
		json_array_append_new(goals, jgoal(&v->goals[k]));
	bal = json_array();
	for (k = 0; bal != NULL && k < 2; k++) {
		const struct ucr_view_balance *b = &v->balance[k];

		json_array_append_new(bal,
		    json_pack("{s:s, s:i, s:I, s:I, s:I,"
			      " s:o, s:o, s:b}",
			"goal", b->goal, "meetings", (int)b->meetings, "women",
			(json_int_t)b->women, "men", (json_int_t)b->men,
			"unstated", (json_int_t)b->unstated, "women_pct",
			jreal(b->women_pct), "men_pct", jreal(b->men_pct),
			"met", b->met));
	}
	muns = json_array();
	for (k = 0; muns != NULL && k < (int)v->nmun; k++)
		json_array_append_new(muns, jmunicipality(&v->mun[k]));
	pris = json_array();
	for (k = 0; pris != NULL && k <= UCR_NPRIORITIES; k++)
		if (k < UCR_NPRIORITIES || v->pri[k].ntargets > 0)
			json_array_append_new(pris,
			    jpriority_head(v, &v->pri[k]));
	excs = json_array();
	for (i = 0; excs != NULL && i < v->nexceptions; i++) {
		const struct ucr_view_exception *e = &v->exceptions[i];

		json_array_append_new(excs,
		    json_pack("{s:s, s:o, s:o, s:s}", "kind", exc_name(e->kind),
			"municipality",
			e->municipality ? json_string(e->municipality)
					: json_null(),
			"subject",
			e->subject ? json_string(e->subject) : json_null(),
			"text", e->text));
	}
	o = json_pack("{s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:{s:f, s:i}}",
	    "generated", jtime(v->now), "date", v->today, "vision",
	    v->vision ? json_string(v->vision) : json_null(), "goals", goals,
	    "gender_balance", bal, "municipalities", muns, "priorities", pris,
	    "exceptions", excs, "region", "baseline_pct",
	    v->region_baseline_pct, "records", (int)v->records);
	if (o != NULL)
		json_object_set_new(o, "programme",
		    v->programme_start
			? json_pack("{s:s, s:s}", "start", v->programme_start,
			      "end", v->programme_end)
			: json_null());
	return o;
}

json_t *
ucr_view_json_plan(const struct ucr_view *v, const char *priority,
    const char *municipality)
{
	json_t *pris = json_array(), *p, *ts, *rg;
	size_t i;
	int k;

	for (k = 0; pris != NULL && k <= UCR_NPRIORITIES; k++) {
		const struct ucr_view_priority *pr = &v->pri[k];

		if (priority != NULL && strcasecmp(priority, pr->id) != 0)
			continue;
		if (k == UCR_NPRIORITIES && pr->ntargets == 0)
			continue;
		ts = json_array();
		for (i = 0; ts != NULL && i < pr->ntargets; i++) {
			const struct ucr_view_target *t =
			    &v->targets[pr->targets[i]];

			if (municipality != NULL &&
			    strcmp(municipality, t->owner) != 0)
				continue;
			json_array_append_new(ts, ucr_view_json_target(v, t));
		}
		rg = json_array();
		for (i = 0; rg != NULL && i < pr->nregional; i++)
			json_array_append_new(rg,
			    json_pack("{s:s, s:i, s:o, s:i,"
				      " s:s}",
				"indicator", pr->regional[i].indicator, "year",
				(int)pr->regional[i].year, "value",
				jreal(pr->regional[i].value), "municipalities",
				(int)pr->regional[i].municipalities, "weights",
				pr->regional[i].weights));
		p = jpriority_head(v, pr);
		if (p != NULL) {
			json_object_set_new(p, "targets", ts);
			json_object_set_new(p, "regional", rg);
		} else {
			json_decref(ts);
			json_decref(rg);
		}
		json_array_append_new(pris, p);
	}
	return json_pack("{s:o, s:s, s:o, s:o}", "generated", jtime(v->now),
	    "date", v->today, "filter",
	    json_pack("{s:o, s:o}", "priority",
		priority ? json_string(priority) : json_null(), "municipality",
		municipality ? json_string(municipality) : json_null()),
	    "priorities", pris);
}

/* A fixed line: English, or (loc) in the user's language. */
#define L(loc, s) ((loc) ? _(s) : (s))

/* What the cycle step still lacks, one line each, for one municipality;
   loc: in the user's language (for people, never JSON output). */
static json_t *
jcycle_steps(const struct ucr_view *v, int m, int loc)
{
	const struct ucr_view_municipality *mu = &v->mun[m];
	json_t *steps = json_array(), *miss;
	size_t i, nodata = 0, noind = 0, notarget = 0;
	char buf[256];

	/* 1 baseline review (the ids are in "baseline"."themes") */
	miss = json_array();
	if (mu->baseline_covered < UCR_NCOMMITMENTS) {
		snprintf(buf, sizeof(buf),
		    L(loc, N_("%u of %d commitments without a baseline")),
		    UCR_NCOMMITMENTS - mu->baseline_covered, UCR_NCOMMITMENTS);
		json_array_append_new(miss, json_string(buf));
	}
	json_array_append_new(steps,
	    json_pack("{s:i, s:s, s:b, s:o}", "step", 1, "name", "baseline",
		"done", mu->baseline_covered == UCR_NCOMMITMENTS, "missing",
		miss));
	/* 2 local targets */
	miss = json_array();
	for (i = 0; i < v->ntargets; i++) {
		const struct ucr_view_target *t = &v->targets[i];

		if (strcmp(t->owner, mu->code) != 0)
			continue;
		noind += *t->indicator == '\0';
		notarget += !t->has_target;
	}
	if (mu->targets == 0)
		json_array_append_new(miss,
		    json_string(L(loc, N_("no local targets"))));
	if (noind) {
		snprintf(buf, sizeof(buf),
		    loc ? ngettext("%zu target without an indicator",
			      "%zu targets without an indicator", noind)
			: noind == 1 ? "%zu target without an indicator"
				     : "%zu targets without an indicator",
		    noind);
		json_array_append_new(miss, json_string(buf));
	}
	if (notarget) {
		snprintf(buf, sizeof(buf),
		    loc ? ngettext("%zu target without a target value",
			      "%zu targets without a target value", notarget)
			: notarget == 1 ? "%zu target without a target value"
					: "%zu targets without a target value",
		    notarget);
		json_array_append_new(miss, json_string(buf));
	}
	json_array_append_new(steps,
	    json_pack("{s:i, s:s, s:b, s:o}", "step", 2, "name", "targets",
		"done", json_array_size(miss) == 0, "missing", miss));
	/* 3 political adoption */
	miss = json_array();
	if (!mu->plan_adopted)
		json_array_append_new(miss,
		    json_string(L(loc,
			N_("local plan not adopted by the municipal board"))));
	if (!v->regional_plan_adopted)
		json_array_append_new(miss,
		    json_string(L(loc,
			N_("regional plan not yet adopted by "
			   "the Regional Council"))));
	json_array_append_new(steps,
	    json_pack("{s:i, s:s, s:b, s:o}", "step", 3, "name", "adoption",
		"done", mu->plan_adopted, "missing", miss));
	/* 4 implementation */
	miss = json_array();
	if (mu->projects == 0)
		json_array_append_new(miss,
		    json_string(L(loc,
			N_("no development project counted "
			   "for the programme"))));
	if (mu->groups == 0)
		json_array_append_new(miss,
		    json_string(L(loc, N_("in no thematic working group"))));
	if (mu->networks == 0)
		json_array_append_new(miss,
		    json_string(L(loc, N_("no network membership recorded"))));
	json_array_append_new(steps,
	    json_pack("{s:i, s:s, s:b, s:o}", "step", 4, "name",
		"implementation", "done", mu->projects > 0, "missing", miss));
	/* 5 follow-up */
	miss = json_array();
	nodata = mu->by_status[UCR_PROGRESS_NODATA];
	if (mu->last_followup == 0)
		json_array_append_new(miss,
		    json_string(L(loc, N_("no measurements"))));
	if (nodata) {
		snprintf(buf, sizeof(buf),
		    loc ? ngettext("%zu target cannot be assessed (no data)",
			      "%zu targets cannot be assessed (no data)",
			      nodata)
			: nodata == 1
			? "%zu target cannot be assessed (no data)"
			: "%zu targets cannot be assessed (no "
			  "data)",
		    nodata);
		json_array_append_new(miss, json_string(buf));
	}
	json_array_append_new(steps,
	    json_pack("{s:i, s:s, s:b, s:o}", "step", 5, "name", "follow-up",
		"done", mu->targets > 0 && nodata == 0, "missing", miss));
	return steps;
}

static json_t *
json_cycle(const struct ucr_view *v, const char *code, int loc)
{
	const struct ucr_view_municipality *mu;
	json_t *themes, *ts, *ps, *gs, *ms, *ns, *ds, *miss;
	size_t i, j;
	int m = ucr_view_mun_index(v, code), th;

	if (m < 0)
		return NULL;
	mu = &v->mun[m];
	themes = json_array();
	for (th = 0; th < UCR_NTHEMES; th++) {
		const char *name = "";

		miss = json_array();
		for (j = 0; j < UCR_NCOMMITMENTS; j++) {
			if (ucr_commitments[j].theme != th + 1)
				continue;
			name = ucr_commitments[j].theme_name;
			if (!mu->has_baseline[j])
				json_array_append_new(miss,
				    json_string(ucr_commitments[j].id));
		}
		json_array_append_new(themes,
		    json_pack("{s:i, s:s, s:i, s:i,"
			      " s:o}",
			"theme", th + 1, "name", name, "covered",
			(int)mu->theme_covered[th], "of", 5, "missing", miss));
	}
	ts = json_array();
	for (i = 0; i < v->ntargets; i++)
		if (strcmp(v->targets[i].owner, code) == 0)
			json_array_append_new(ts,
			    ucr_view_json_target(v, &v->targets[i]));
	ps = json_array();
	for (i = 0; i < v->nprojects; i++) {
		const struct ucr_view_project *p = &v->projects[i];
		static const char *const st[] = {"planned", "ongoing",
		    "completed"};

		if (!ucr_view_project_has(p, code))
			continue;
		json_array_append_new(ps,
		    json_pack("{s:s, s:s, s:s, s:o, s:s, s:b}", "key", p->key,
			"title", p->title, "lead", p->lead, "partners",
			jstrings(p->partners, p->npartners), "status",
			(unsigned)p->status < 3 ? st[p->status] : "planned",
			"counts_for_programme", p->counts));
	}
	gs = json_array();
	for (i = 0; i < v->ngroups; i++)
		if (ucr_view_group_has(&v->groups[i], code))
			json_array_append_new(gs,
			    json_pack("{s:s, s:s, s:b}", "key",
				v->groups[i].key, "name", v->groups[i].name,
				"active", v->groups[i].active));
	ms = json_array();
	for (i = 0; i < v->nmeetings; i++) {
		/* the command line's words (docs/view.md) */
		static const char *const kinds[] = {"other", "workshop",
		    "group-meeting", "steering-group", "regional-council"};
		const struct ucr_view_meeting *me = &v->meetings[i];

		if (strcmp(me->owner, code) != 0)
			continue;
		json_array_append_new(ms,
		    json_pack("{s:s, s:s, s:s, s:s, s:i,"
			      " s:i, s:i}",
			"key", me->key, "kind",
			(unsigned)me->kind < 5 ? kinds[me->kind] : "other",
			"date", me->date, "title", me->title, "women",
			(int)me->women, "men", (int)me->men, "unstated",
			(int)me->unstated));
		json_object_set_new(json_array_get(ms, json_array_size(ms) - 1),
		    "regional", json_boolean(me->regional));
	}
	ns = json_array();
	for (i = 0; i < v->nnetworks; i++) {
		const struct ucr_view_network *n = &v->networks[i];

		if (strcmp(n->owner, code) != 0)
			continue;
		json_array_append_new(ns,
		    json_pack("{s:s, s:s, s:s, s:s, s:b}", "key", n->key,
			"name", n->name, "scope",
			n->scope == UCR__SCOPE__SCOPE_INTERNATIONAL
			    ? "international"
			    : "national",
			"joined", n->joined, "new_in_programme",
			n->new_in_programme));
		json_object_set_new(json_array_get(ns, json_array_size(ns) - 1),
		    "register", n->entry ? json_string(n->entry) : json_null());
	}
	ds = json_array();
	for (i = 0; i < v->ndecisions; i++) {
		static const char *const bodies[] = {"board", "council",
		    "regional-council", "steering-group"};
		static const char *const subjects[] = {"other", "baseline",
		    "targets", "local-plan", "regional-plan"};
		static const char *const outcomes[] = {"adopted", "rejected",
		    "deferred"};
		const struct ucr_view_decision *d = &v->decisions[i];

		if (strcmp(d->owner, code) != 0)
			continue;
		json_array_append_new(ds,
		    json_pack("{s:s, s:s, s:s, s:s, s:s,"
			      " s:s}",
			"key", d->key, "body",
			(unsigned)d->body < 4 ? bodies[d->body] : "board",
			"subject",
			(unsigned)d->subject < 5 ? subjects[d->subject]
						 : "other",
			"outcome",
			(unsigned)d->outcome < 3 ? outcomes[d->outcome]
						 : "adopted",
			"date", d->date, "ref", d->ref));
	}
	return json_pack("{s:o, s:s, s:s, s:s, s:{s:i, s:i, s:o}, s:o, s:o,"
			 " s:o, s:o, s:o, s:o, s:o, s:o}",
	    "generated", jtime(v->now), "date", v->today, "code", mu->code,
	    "name", mu->name, "baseline", "covered", (int)mu->baseline_covered,
	    "total", UCR_NCOMMITMENTS, "themes", themes, "steps",
	    jcycle_steps(v, m, loc), "targets", ts, "projects", ps, "groups",
	    gs, "meetings", ms, "networks", ns, "decisions", ds, "municipality",
	    jmunicipality(mu));
}

json_t *
ucr_view_json_cycle(const struct ucr_view *v, const char *code)
{
	return json_cycle(v, code, 0);
}

json_t *
ucr_view_json_cycle_text(const struct ucr_view *v, const char *code)
{
	return json_cycle(v, code, 1);
}
