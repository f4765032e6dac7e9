/*
 * view.c: fold the current records into the regional view (see view.h and
 * docs/view.md for every figure, formula and threshold).
 *
 * Memory: everything a view points to comes from its own arena (a list of
 * blocks freed together by ucr_view_free). Allocation failure is sticky:
 * the fold records it, goes on with empty values, and returns UCR_ENOMEM at
 * the end, so the many small copies need no error path each.
 *
 * Costs: the usable measurements are sorted once by (indicator, area,
 * year, key) and a series is found by binary search, so the fold is
 * O(n log n) in its inputs. The loader (view_load.c) hands it only the
 * measurements it reads: those of the targets' indicators and of the
 * population KPI, with the two figures that need every measurement
 * (records, last follow-up) from the store's index in the params.
 *
 * The fold is pure: it includes no store and does no I/O. The loader that
 * feeds it is view_load.c, the JSON renderer view_json.c.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "error.h"
#include "i18n.h"
#include "view.h"

struct ucr_view_mem {
	struct ucr_view_mem *next;
	max_align_t data[];
};

/* ------------------------------------------------------------ progress */

void
ucr_view_progress(struct ucr_progress_out *out,
    const struct ucr_progress_in *in)
{
	double d = in->decrease ? -1.0 : 1.0, x, hi, med, n, sign;
	int with_target, compound;

	out->status = UCR_PROGRESS_NODATA;
	out->method = UCR_METHOD_NONE;
	out->value = NAN;
	out->observed = NAN;
	out->required = NAN;
	if (!in->has_current)
		return;
	/* Achieved whatever the trend (Open SDG is_target_achieved). */
	if (in->has_target &&
	    ((d > 0 && in->current >= in->target) ||
		(d < 0 && in->current <= in->target))) {
		out->status = UCR_PROGRESS_ACHIEVED;
		return;
	}
	/* Two points at least: a base and a later current value. */
	if (!in->has_base || in->current_year <= in->base_year)
		return;
	n = (double)(in->current_year - in->base_year);
	/* A required rate needs a target year after the base year. */
	with_target = in->has_target && in->target_year > in->base_year;
	/*
	 * Growth rates are defined when every value has one strict sign
	 * (Open SDG flips the direction for all-negative series through
	 * sign); otherwise fall back to linear rates (docs/view.md).
	 */
	compound = (in->base > 0 && in->current > 0 &&
		       (!with_target || in->target > 0)) ||
	    (in->base < 0 && in->current < 0 &&
		(!with_target || in->target < 0));
	if (compound) {
		sign = in->base < 0 ? -1.0 : 1.0;
		out->method = UCR_METHOD_COMPOUND;
		out->observed = pow(in->current / in->base, 1.0 / n) - 1.0;
		x = sign * d * out->observed;
		if (with_target)
			out->required =
			    pow(in->target / in->base,
				1.0 /
				    (double)(in->target_year - in->base_year)) -
			    1.0;
	} else {
		out->method = UCR_METHOD_LINEAR;
		out->observed = (in->current - in->base) / n;
		x = d * out->observed;
		if (with_target)
			out->required = (in->target - in->base) /
			    (double)(in->target_year - in->base_year);
		else if (in->base != 0)
			x /= fabs(in->base); /* linear annual growth */
		else
			x = x > 0 ? INFINITY : x < 0 ? -INFINITY : 0;
	}
	if (with_target) {
		/* R = observed / |required|; a zero required rate means the
		   base already met the target, so any move decides. */
		if (out->required != 0)
			x /= fabs(out->required);
		else
			x = x > 0 ? INFINITY : x < 0 ? -INFINITY : 0;
		hi = UCR_PROGRESS_R_ONTRACK;
		med = UCR_PROGRESS_R_ACCEL;
	} else {
		hi = UCR_PROGRESS_G_ONTRACK;
		med = UCR_PROGRESS_G_ACCEL;
	}
	out->value = x;
	if (x >= hi)
		out->status = UCR_PROGRESS_ONTRACK;
	else if (x >= med)
		out->status = UCR_PROGRESS_ACCELERATE;
	else if (x >= 0)
		out->status = UCR_PROGRESS_LIMITED;
	else
		out->status = UCR_PROGRESS_DETERIORATION;
}

const char *
ucr_view_status_name(enum ucr_progress s)
{
	static const char *const names[UCR_NPROGRESS] = {"no_data",
	    "deterioration", "limited_progress", "acceleration_needed",
	    "on_track", "achieved"};

	return (unsigned)s < UCR_NPROGRESS ? names[s] : "no_data";
}

const char *
ucr_view_status_label(enum ucr_progress s)
{
	static const char *const labels[UCR_NPROGRESS] = {"no data",
	    "deterioration", "limited progress", "acceleration needed",
	    "on track", "achieved"};

	return (unsigned)s < UCR_NPROGRESS ? labels[s] : "no data";
}

const char *
ucr_view_method_name(enum ucr_progress_method m)
{
	switch (m) {
	case UCR_METHOD_COMPOUND:
		return "compound";
	case UCR_METHOD_LINEAR:
		return "linear";
	default:
		return "none";
	}
}

int
ucr_view_regional_rate(double *out, size_t n, const double *values,
    const int *have, const double *weights)
{
	double num = 0, den = 0;
	size_t i;
	int used = 0;

	for (i = 0; i < n; i++) {
		if (!have[i])
			continue;
		num += weights[i] * values[i];
		den += weights[i];
		used++;
	}
	if (used == 0 || !(den > 0))
		return 0;
	*out = num / den;
	return used;
}

int
ucr_view_mun_index(const struct ucr_view *v, const char *code)
{
	size_t i;

	if (v == NULL || code == NULL)
		return -1;
	for (i = 0; i < v->nmun; i++)
		if (strcmp(v->mun[i].code, code) == 0)
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------ members */

/* Rank of a default member (0..5), or UCR_NMUNICIPALITIES. */
static int
default_rank(const char *code)
{
	int i;

	for (i = 0; i < UCR_NMUNICIPALITIES; i++)
		if (strcmp(ucr_municipalities[i].code, code) == 0)
			return i;
	return UCR_NMUNICIPALITIES;
}

int
ucr_view_member_cmp(const char *a, const char *b)
{
	int x = default_rank(a), y = default_rank(b);

	if (x != y)
		return x < y ? -1 : 1;
	return strcmp(a, b);
}

static int
member_cmp(const void *a, const void *b)
{
	return ucr_view_member_cmp(((const struct ucr_view_member *)a)->code,
	    ((const struct ucr_view_member *)b)->code);
}

void
ucr_view_members_init(struct ucr_view_members *ms)
{
	memset(ms, 0, sizeof(*ms));
}

void
ucr_view_members_add(struct ucr_view_members *ms, const Ucr__Record *r)
{
	const Ucr__Member *me;
	const struct ucr_municipality *d;
	const struct ucr_municipality_se *se;
	struct ucr_view_member *x;
	size_t i;

	if (r == NULL || r->tombstone ||
	    r->body_case != UCR__RECORD__BODY_MEMBER || r->owner == NULL ||
	    strcmp(r->owner, UCR_REGION) != 0 || (me = r->member) == NULL ||
	    me->code == NULL ||
	    (se = ucr_municipality_se_find(me->code)) == NULL)
		return;
	for (i = 0; i < ms->n; i++)
		if (strcmp(ms->m[i].code, se->code) == 0)
			return;
	ms->from_records = 1;
	if (ms->n == UCR_MAX_MEMBERS) {
		/* Keep the lowest codes: the same set wherever the records
		   arrive in a different order. */
		size_t hi = 0;

		for (i = 1; i < ms->n; i++)
			if (strcmp(ms->m[i].code, ms->m[hi].code) > 0)
				hi = i;
		ms->over++;
		if (strcmp(se->code, ms->m[hi].code) > 0)
			return;
		x = &ms->m[hi];
	} else
		x = &ms->m[ms->n++];
	memset(x, 0, sizeof(*x));
	snprintf(x->code, sizeof(x->code), "%s", se->code);
	d = ucr_municipality_find(se->code);
	x->name = me->name != NULL && *me->name ? me->name : se->name;
	x->population = me->population > 0 ? (long)me->population
	    : d != NULL                    ? d->population
					   : 0;
}

void
ucr_view_members_finish(struct ucr_view_members *ms)
{
	size_t i;

	if (!ms->from_records) {
		ms->n = UCR_NMUNICIPALITIES;
		for (i = 0; i < UCR_NMUNICIPALITIES; i++) {
			snprintf(ms->m[i].code, sizeof(ms->m[i].code), "%s",
			    ucr_municipalities[i].code);
			ms->m[i].name = ucr_municipalities[i].name;
			ms->m[i].population = ucr_municipalities[i].population;
		}
	}
	if (ms->n > 1)
		qsort(ms->m, ms->n, sizeof(ms->m[0]), member_cmp);
}

/* ------------------------------------------------------------ memory */

/* Fold state: the view being built and temporary indexes. */
struct fold {
	struct ucr_view *v;
	int oom;
	const struct ucr_view_input **in; /* sorted by key, one per key */
	size_t n;
	const struct ucr_view_input **meas; /* measurement records */
	size_t nmeas;
	/* Usable measurements (meas_usable) by (indicator, area, year, key):
	   the index series_of searches. */
	const struct ucr_view_input **use;
	size_t nuse;
	int loc; /* 1 while the user's-language twin of a text is made */
};

/*
 * Texts for people come in two: English (the JSON's, stable) and the
 * user's language (gettext; printed by ucr). TR() formats both from one
 * N_()-marked format, evaluating the arguments twice with f->loc 0 and 1,
 * so that word arguments (TW) and earlier pairs (TP) follow.
 */
struct tr {
	const char *en, *l;
};

#define TW(f, s) ((f)->loc ? _(s) : (s))
#define TP(f, p) ((f)->loc ? (p).l : (p).en)
#define TR(f, out, fmt, ...)                                   \
	do {                                                   \
		(f)->loc = 0;                                  \
		(out).en = vm_printf((f), (fmt), __VA_ARGS__); \
		(f)->loc = 1;                                  \
		(out).l = vm_printf((f), _(fmt), __VA_ARGS__); \
		(f)->loc = 0;                                  \
	} while (0)

static void *
vm_alloc(struct fold *f, size_t len)
{
	struct ucr_view_mem *m;

	m = calloc(1, sizeof(*m) + (len ? len : 1));
	if (m == NULL) {
		f->oom = 1;
		return NULL;
	}
	m->next = f->v->mem;
	f->v->mem = m;
	return m->data;
}

static const char *
vm_str(struct fold *f, const char *s)
{
	size_t len;
	char *p;

	if (s == NULL)
		return "";
	len = strlen(s);
	if ((p = vm_alloc(f, len + 1)) == NULL)
		return "";
	memcpy(p, s, len + 1);
	return p;
}

static const char *vm_printf(struct fold *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static const char *
vm_printf(struct fold *f, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return vm_str(f, buf);
}

/*
 * Append room for one element to an arena array of elements of size sz
 * with capacity *cap; the old block stays in the arena (at most doubles
 * the memory). Returns the new zeroed element or NULL (oom set).
 */
static void *
vm_push(struct fold *f, void **arr, size_t *n, size_t *cap, size_t sz)
{
	void *p;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;

		if ((p = vm_alloc(f, nc * sz)) == NULL)
			return NULL;
		if (*n)
			memcpy(p, *arr, *n * sz);
		*arr = p;
		*cap = nc;
	}
	p = (char *)*arr + *n * sz;
	memset(p, 0, sz);
	(*n)++;
	return p;
}

#define PUSH(f, arr, n, cap) \
	vm_push((f), (void **)&(arr), &(n), &(cap), sizeof(*(arr)))

static void
ref_set(struct fold *f, struct ucr_view_ref *r, const struct ucr_view_input *in)
{
	r->key = vm_str(f, in->record->key);
	if (in->author != NULL)
		memcpy(r->author, in->author, UCR_PK_LEN);
	r->seq = in->seq;
	r->time = in->time;
}

struct refs {
	struct ucr_view_ref *v;
	size_t n, cap;
};

static void
refs_add(struct fold *f, struct refs *r, const struct ucr_view_input *in)
{
	struct ucr_view_ref *x = PUSH(f, r->v, r->n, r->cap);

	if (x != NULL)
		ref_set(f, x, in);
}

struct strs {
	const char **v;
	size_t n, cap;
};

static void
strs_add(struct fold *f, struct strs *s, const char *str)
{
	const char **x = PUSH(f, s->v, s->n, s->cap);

	if (x != NULL)
		*x = vm_str(f, str);
}

static int
strs_has(const struct strs *s, const char *str)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i], str) == 0)
			return 1;
	return 0;
}

/* Name for counting distinct things: trimmed, spaces collapsed, ASCII
   lower case ("Energy  group " and "energy group" are one group). */
static void
norm(char *out, size_t len, const char *s)
{
	size_t o = 0;
	int space = 0;

	for (; *s && isspace((unsigned char)*s); s++)
		;
	for (; *s && o + 1 < len; s++) {
		if (isspace((unsigned char)*s)) {
			space = 1;
			continue;
		}
		if (space && o + 2 < len)
			out[o++] = ' ';
		space = 0;
		out[o++] = (char)tolower((unsigned char)*s);
	}
	out[o] = '\0';
}

/* ------------------------------------------------------------ lookups */

const struct ucr_view_goal *
ucr_view_goal_find(const struct ucr_view *v, const char *id)
{
	int i;

	for (i = 0; i < UCR_NGOALS && id != NULL; i++)
		if (strcasecmp(v->goals[i].id, id) == 0)
			return &v->goals[i];
	return NULL;
}

const struct ucr_view_target *
ucr_view_target_find(const struct ucr_view *v, const char *name)
{
	char key[300];
	const char *sep;
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < v->ntargets; i++)
		if (strcmp(v->targets[i].key, name) == 0)
			return &v->targets[i];
	/* "2403/T1" or "2403:T1" */
	sep = strpbrk(name, "/:");
	if (sep == NULL || strchr(sep + 1, '/') != NULL)
		return NULL;
	snprintf(key, sizeof(key), "%.*s/target/%s", (int)(sep - name), name,
	    sep + 1);
	for (i = 0; i < v->ntargets; i++)
		if (strcmp(v->targets[i].key, key) == 0)
			return &v->targets[i];
	return NULL;
}

int
ucr_view_project_has(const struct ucr_view_project *p, const char *code)
{
	size_t i;

	if (strcmp(p->owner, code) == 0 || strcmp(p->lead, code) == 0)
		return 1;
	for (i = 0; i < p->npartners; i++)
		if (strcmp(p->partners[i], code) == 0)
			return 1;
	return 0;
}

int
ucr_view_group_has(const struct ucr_view_group *g, const char *code)
{
	size_t i;

	if (strcmp(g->owner, code) == 0)
		return 1;
	for (i = 0; i < g->nmembers; i++)
		if (strcmp(g->members[i], code) == 0)
			return 1;
	return 0;
}

/* ------------------------------------------------------------ the fold */

static const struct {
	const char *id;
	const char *title;
	double threshold;
	int at_most;
} goal_defaults[UCR_NGOALS] = {
    {"A1", "Thematic working groups engaged", 10, 0},
    {"A2", "Regional workshops held", 3, 0},
    {"A3", "Gender balance: neither women nor men above this share (%)", 60, 1},
    {"R1", "Regional action plan adopted on the members' local plans", 1, 0},
    {"R2", "New national or international networks", 5, 0},
    {"R3", "Development projects, at least one per municipality", 6, 0},
};

/* Order of "current value" among versions of one key: (time, author). */
static int
input_cmp(const void *a, const void *b)
{
	const struct ucr_view_input *x =
	    *(const struct ucr_view_input *const *)a;
	const struct ucr_view_input *y =
	    *(const struct ucr_view_input *const *)b;
	int c = strcmp(x->record->key, y->record->key);

	if (c != 0)
		return c;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	if (x->author == NULL || y->author == NULL)
		return (x->author != NULL) - (y->author != NULL);
	return memcmp(x->author, y->author, UCR_PK_LEN);
}

static void
set_now(struct ucr_view *v, uint64_t now)
{
	time_t secs = (time_t)((now >> 16) / 1000);
	struct tm tm;

	v->now = now;
	if (gmtime_r(&secs, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	v->year = (unsigned)tm.tm_year + 1900;
	if (strftime(v->today, sizeof(v->today), "%Y-%m-%d", &tm) == 0)
		snprintf(v->today, sizeof(v->today), "?");
}

/* Region settings: goal thresholds and titles, priority titles, vision. */
static void
fold_region(struct fold *f, struct refs goal_refs[UCR_NGOALS])
{
	struct ucr_view *v = f->v;
	size_t i, regcap = 0;
	int g;

	for (g = 0; g < UCR_NGOALS; g++) {
		v->goals[g].id = goal_defaults[g].id;
		v->goals[g].title = goal_defaults[g].title;
		v->goals[g].threshold = goal_defaults[g].threshold;
		v->goals[g].at_most = goal_defaults[g].at_most;
	}
	/* "minst sex ... (ett för varje kommun)": one per member. */
	v->goals[UCR_GOAL_R3].threshold = (double)v->nmun;
	for (g = 0; g < UCR_NPRIORITIES; g++) {
		v->pri[g].id = vm_printf(f, "P%d", g + 1);
		v->pri[g].title = ucr_priority_titles[g];
	}
	v->pri[UCR_NPRIORITIES].id = "-";
	v->pri[UCR_NPRIORITIES].title = N_("Not mapped to a priority");
	for (i = 0; i < f->n; i++) {
		const Ucr__Record *r = f->in[i]->record;

		if (strcmp(r->owner, UCR_REGION) != 0)
			continue;
		switch (r->body_case) {
		case UCR__RECORD__BODY_GOAL:
			for (g = 0; g < UCR_NGOALS; g++) {
				if (r->goal->id == NULL ||
				    strcmp(r->goal->id, goal_defaults[g].id) !=
					0)
					continue;
				if (r->goal->threshold != NULL)
					v->goals[g].threshold =
					    ucr_decimal_double(
						r->goal->threshold);
				if (r->goal->title != NULL && *r->goal->title)
					v->goals[g].title =
					    vm_str(f, r->goal->title);
				refs_add(f, &goal_refs[g], f->in[i]);
			}
			break;
		case UCR__RECORD__BODY_PRIORITY:
			if (ucr_priority_valid(r->priority->id) &&
			    r->priority->title != NULL && *r->priority->title)
				v->pri[r->priority->id[1] - '1'].title =
				    vm_str(f, r->priority->title);
			break;
		case UCR__RECORD__BODY_VISION:
			v->vision = vm_str(f, r->vision->text);
			break;
		case UCR__RECORD__BODY_PROGRAMME:
			v->programme_start = vm_str(f, r->programme->start);
			v->programme_end = vm_str(f, r->programme->end);
			break;
		case UCR__RECORD__BODY_NETWORK_ENTRY: {
			const Ucr__NetworkEntry *e = r->network_entry;
			struct ucr_view_netentry *x =
			    PUSH(f, v->netreg, v->nnetreg, regcap);
			struct strs al = {0};
			size_t j;

			if (x == NULL)
				break;
			x->key = vm_str(f, r->key);
			x->id = vm_str(f, e->id);
			x->name = vm_str(f, e->name);
			for (j = 0; j < e->n_aliases; j++)
				strs_add(f, &al, e->aliases[j]);
			x->aliases = al.v;
			x->naliases = al.n;
			break;
		}
		default:
			break;
		}
	}
}

/* Implementation and adoption records, copied into the view. */
static void
fold_items(struct fold *f)
{
	struct ucr_view *v = f->v;
	size_t i, j, cp = 0, cg = 0, cm = 0, cn = 0, cd = 0;

	for (i = 0; i < f->n; i++) {
		const Ucr__Record *r = f->in[i]->record;

		switch (r->body_case) {
		case UCR__RECORD__BODY_PROJECT: {
			struct ucr_view_project *p =
			    PUSH(f, v->projects, v->nprojects, cp);
			struct strs s = {0};

			if (p == NULL)
				break;
			p->key = vm_str(f, r->key);
			p->owner = vm_str(f, r->owner);
			p->lead = vm_str(f, r->project->lead);
			p->title = vm_str(f, r->project->title);
			p->start = vm_str(f, r->project->start);
			p->end = vm_str(f, r->project->end);
			for (j = 0; j < r->project->n_partners; j++)
				strs_add(f, &s, r->project->partners[j]);
			p->partners = s.v;
			p->npartners = s.n;
			p->status = r->project->status;
			p->counts = r->project->counts_for_programme;
			break;
		}
		case UCR__RECORD__BODY_GROUP: {
			struct ucr_view_group *g =
			    PUSH(f, v->groups, v->ngroups, cg);
			struct strs s = {0};

			if (g == NULL)
				break;
			g->key = vm_str(f, r->key);
			g->owner = vm_str(f, r->owner);
			g->name = vm_str(f, r->group->name);
			g->active_to = vm_str(f, r->group->active_to);
			for (j = 0; j < r->group->n_members; j++)
				strs_add(f, &s, r->group->members[j]);
			g->members = s.v;
			g->nmembers = s.n;
			g->active = *g->active_to == '\0' ||
			    strcmp(g->active_to, v->today) >= 0;
			break;
		}
		case UCR__RECORD__BODY_MEETING: {
			struct ucr_view_meeting *m =
			    PUSH(f, v->meetings, v->nmeetings, cm);

			if (m == NULL)
				break;
			m->key = vm_str(f, r->key);
			m->owner = vm_str(f, r->owner);
			m->date = vm_str(f, r->meeting->date);
			m->title = vm_str(f, r->meeting->title);
			m->kind = r->meeting->kind;
			m->regional = r->meeting->regional ||
			    strcmp(r->owner, UCR_REGION) == 0;
			m->women = r->meeting->women;
			m->men = r->meeting->men;
			m->unstated = r->meeting->unstated;
			break;
		}
		case UCR__RECORD__BODY_NETWORK: {
			struct ucr_view_network *n =
			    PUSH(f, v->networks, v->nnetworks, cn);

			if (n == NULL)
				break;
			n->key = vm_str(f, r->key);
			n->owner = vm_str(f, r->owner);
			n->name = vm_str(f, r->network->name);
			n->joined = vm_str(f, r->network->joined);
			n->network_id = vm_str(f, r->network->network_id);
			n->scope = r->network->scope;
			n->new_in_programme = r->network->new_in_programme;
			break;
		}
		case UCR__RECORD__BODY_DECISION: {
			struct ucr_view_decision *d =
			    PUSH(f, v->decisions, v->ndecisions, cd);

			if (d == NULL)
				break;
			d->key = vm_str(f, r->key);
			d->owner = vm_str(f, r->owner);
			d->date = vm_str(f, r->decision->date);
			d->ref = vm_str(f, r->decision->ref);
			d->body = r->decision->body;
			d->subject = r->decision->subject;
			d->outcome = r->decision->outcome;
			break;
		}
		default:
			break;
		}
	}
}

/* Is measurement m a usable total value of indicator kpi for area? */
static int
meas_usable(const Ucr__Measurement *m, const char *kpi, const char *area)
{
	return m->gender == UCR__GENDER__GENDER_T &&
	    m->status != UCR__MEASURE_STATUS__MEASURE_MISSING &&
	    m->value != NULL && m->indicator != NULL && m->area != NULL &&
	    strcmp(m->indicator, kpi) == 0 &&
	    (area == NULL || strcmp(m->area, area) == 0);
}

/* Order of the series index: indicator, area, year, then key (the order
   in which a full scan of the measurements meets them). */
static int
use_cmp(const void *a, const void *b)
{
	const Ucr__Record *x =
	    (*(const struct ucr_view_input *const *)a)->record;
	const Ucr__Record *y =
	    (*(const struct ucr_view_input *const *)b)->record;
	int c;

	if ((c = strcmp(x->measurement->indicator, y->measurement->indicator)))
		return c;
	if ((c = strcmp(x->measurement->area, y->measurement->area)))
		return c;
	if (x->measurement->year != y->measurement->year)
		return x->measurement->year < y->measurement->year ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* First index entry of (kpi, area) in f->use, by binary search. */
static size_t
use_find(const struct fold *f, const char *kpi, const char *area)
{
	size_t lo = 0, hi = f->nuse, mid;

	while (lo < hi) {
		const Ucr__Measurement *m;
		int c;

		mid = lo + (hi - lo) / 2;
		m = f->use[mid]->record->measurement;
		if ((c = strcmp(m->indicator, kpi)) == 0)
			c = strcmp(m->area, area);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The series of one indicator for one area, one value per year. Where two
 * owners report the same year, the area's own record wins, then the newer
 * version. in_out gets the input behind each point.
 */
static size_t
series_of(struct fold *f, const char *kpi, const char *area,
    struct ucr_view_point **pts, const struct ucr_view_input ***src)
{
	struct ucr_view_point *p = NULL;
	const struct ucr_view_input **s = NULL;
	size_t i, j, n = 0, cap = 0, scap = 0, sn = 0, lo = 0, hi = f->nmeas;
	const struct ucr_view_input **scan = f->meas;

	*pts = NULL;
	*src = NULL;
	if (kpi == NULL || *kpi == '\0')
		return 0;
	if (area != NULL) {
		/* The index holds (kpi, area) as one run. */
		scan = f->use;
		lo = use_find(f, kpi, area);
		for (hi = lo; hi < f->nuse &&
		     meas_usable(f->use[hi]->record->measurement, kpi, area);
		     hi++)
			;
	}
	for (i = lo; i < hi; i++) {
		const struct ucr_view_input *in = scan[i];
		const Ucr__Measurement *m = in->record->measurement;
		int own = strcmp(in->record->owner, m->area) == 0;

		if (!meas_usable(m, kpi, area))
			continue;
		for (j = 0; j < n; j++)
			if (p[j].year == m->year)
				break;
		if (j < n) {
			int jown = strcmp(s[j]->record->owner,
				       s[j]->record->measurement->area) == 0;

			if (jown > own ||
			    (jown == own && s[j]->time > in->time))
				continue;
		} else {
			if (PUSH(f, p, n, cap) == NULL ||
			    PUSH(f, s, sn, scap) == NULL)
				return 0;
		}
		p[j].year = m->year;
		p[j].value = ucr_decimal_double(m->value);
		s[j] = in;
	}
	/* Insertion sort by year, keeping src in step (n is small). */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && p[j - 1].year > p[j].year; j--) {
			struct ucr_view_point tp = p[j];
			const struct ucr_view_input *ts = s[j];

			p[j] = p[j - 1];
			p[j - 1] = tp;
			s[j] = s[j - 1];
			s[j - 1] = ts;
		}
	*pts = p;
	*src = s;
	return n;
}

/* Effective priorities: the target's own, else its commitments' suggested
   ones (docs/view.md). */
static void
target_priorities(struct fold *f, struct ucr_view_target *t,
    const Ucr__Target *rt)
{
	struct strs s = {0};
	size_t i;

	for (i = 0; i < rt->n_priorities; i++)
		if (ucr_priority_valid(rt->priorities[i]) &&
		    !strs_has(&s, rt->priorities[i]))
			strs_add(f, &s, rt->priorities[i]);
	for (i = 0; s.n == 0 && i < rt->n_commitments; i++) {
		const struct ucr_commitment *c =
		    ucr_commitment_find(rt->commitments[i]);

		if (c != NULL && c->priority != NULL &&
		    !strs_has(&s, c->priority))
			strs_add(f, &s, c->priority);
	}
	t->priorities = s.v;
	t->npriorities = s.n;
}

static void
fold_targets(struct fold *f)
{
	struct ucr_view *v = f->v;
	size_t i, cap = 0;

	for (i = 0; i < f->n; i++) {
		const struct ucr_view_input *in = f->in[i];
		const Ucr__Record *r = in->record;
		const Ucr__Target *rt;
		struct ucr_view_target *t;
		const struct ucr_view_input **src;
		struct ucr_progress_in pin = {0};
		struct refs refs = {0};
		const char *sep;
		size_t base_i = (size_t)-1;

		if (r->body_case != UCR__RECORD__BODY_TARGET)
			continue;
		rt = r->target;
		if (rt->status == UCR__TARGET_STATUS__TARGET_WITHDRAWN ||
		    ucr_view_mun_index(v, r->owner) < 0)
			continue;
		if ((t = PUSH(f, v->targets, v->ntargets, cap)) == NULL)
			return;
		t->key = vm_str(f, r->key);
		t->owner = vm_str(f, r->owner);
		sep = strrchr(r->key, '/');
		t->id = vm_str(f, sep ? sep + 1 : r->key);
		t->title = vm_str(f, rt->title);
		t->indicator = vm_str(f, rt->indicator);
		target_priorities(f, t, rt);
		t->decrease =
		    rt->direction == UCR__DIRECTION__DIRECTION_DECREASE;
		if (rt->target_value != NULL) {
			t->has_target = 1;
			t->target = ucr_decimal_double(rt->target_value);
			t->target_year = rt->target_year;
		}
		t->nseries =
		    series_of(f, t->indicator, t->owner, &t->series, &src);
		if (rt->baseline_value != NULL) {
			t->has_baseline = 1;
			t->baseline = ucr_decimal_double(rt->baseline_value);
			t->baseline_year = rt->baseline_year;
		} else if (t->nseries >= 2) {
			/* No stated baseline: the earliest measurement. */
			t->has_baseline = 1;
			t->baseline = t->series[0].value;
			t->baseline_year = t->series[0].year;
			base_i = 0;
		}
		if (t->nseries > 0) {
			t->has_latest = 1;
			t->latest = t->series[t->nseries - 1].value;
			t->latest_year = t->series[t->nseries - 1].year;
		}
		pin.has_base = t->has_baseline;
		pin.base = t->baseline;
		pin.base_year = t->baseline_year;
		pin.has_current = t->has_latest;
		pin.current = t->latest;
		pin.current_year = t->latest_year;
		pin.has_target = t->has_target && t->target_year > 0;
		pin.target = t->target;
		pin.target_year = t->target_year;
		pin.decrease = t->decrease;
		ucr_view_progress(&t->progress, &pin);
		t->overdue = t->has_target && t->target_year > 0 &&
		    t->target_year < v->year &&
		    t->progress.status != UCR_PROGRESS_ACHIEVED;
		refs_add(f, &refs, in);
		if (base_i != (size_t)-1)
			refs_add(f, &refs, src[base_i]);
		if (t->nseries > 0)
			refs_add(f, &refs, src[t->nseries - 1]);
		t->refs = refs.v;
		t->nrefs = refs.n;
	}
}

/* The members (docs/view.md): from the Member records, else the six. */
static void
fold_members(struct fold *f)
{
	struct ucr_view *v = f->v;
	struct ucr_view_members *ms;
	size_t i;

	if ((ms = malloc(sizeof(*ms))) == NULL) {
		f->oom = 1;
		return;
	}
	ucr_view_members_init(ms);
	for (i = 0; i < f->n; i++)
		ucr_view_members_add(ms, f->in[i]->record);
	ucr_view_members_finish(ms);
	v->nmun = ms->n;
	v->members_from_records = ms->from_records;
	v->members_over = ms->over;
	for (i = 0; i < ms->n; i++) {
		v->mun[i].code = vm_str(f, ms->m[i].code);
		v->mun[i].name = vm_str(f, ms->m[i].name);
		v->mun[i].population = ms->m[i].population;
	}
	free(ms);
}

/* The index of a code in the params' per-municipality arrays, or -1. */
static int
param_index(const struct ucr_view_params *p, const char *code)
{
	size_t i;

	if (p->codes == NULL) {
		for (i = 0; i < UCR_NMUNICIPALITIES; i++)
			if (strcmp(ucr_municipalities[i].code, code) == 0)
				return (int)i;
		return -1;
	}
	for (i = 0; i < p->ncodes; i++)
		if (p->codes[i] != NULL && strcmp(p->codes[i], code) == 0)
			return (int)i;
	return -1;
}

/* Per municipality: baseline coverage, targets, adoption, follow-up. */
static void
fold_municipalities(struct fold *f, const struct ucr_view_params *p)
{
	struct ucr_view *v = f->v;
	unsigned covered_total = 0;
	uint64_t now_ms = p->now >> 16;
	int64_t quiet_after =
	    p->quiet_after_s > 0 ? p->quiet_after_s : UCR_VIEW_QUIET_AFTER_S;
	size_t i, k;
	int m, pi;

	for (m = 0; m < (int)v->nmun; m++) {
		struct ucr_view_municipality *mu = &v->mun[m];

		pi = param_index(p, mu->code);
		mu->sync_age_s = -1;
		mu->contact_age_s = -1;
		if (p->last_sync != NULL && pi >= 0 && p->last_sync[pi] != 0) {
			uint64_t ms = p->last_sync[pi] >> 16;

			mu->last_sync = p->last_sync[pi];
			mu->sync_age_s =
			    now_ms > ms ? (int64_t)((now_ms - ms) / 1000) : 0;
		}
		if (p->last_contact_ms != NULL && pi >= 0 &&
		    p->last_contact_ms[pi] != 0) {
			uint64_t ms = p->last_contact_ms[pi];

			mu->last_contact_ms = ms;
			mu->contact_age_s =
			    now_ms > ms ? (int64_t)((now_ms - ms) / 1000) : 0;
		}
		/*
		 * Stale: the hub has not heard from the node within
		 * stale_after. Without contact times (a node's own view)
		 * only a municipality never heard of is stale. New data is
		 * a separate, softer matter: quiet.
		 */
		if (p->stale_after_s > 0) {
			if (p->last_contact_ms != NULL)
				mu->stale = mu->contact_age_s < 0 ||
				    mu->contact_age_s > p->stale_after_s;
			else if (p->last_sync != NULL)
				mu->stale = mu->sync_age_s < 0;
		}
		mu->quiet = !mu->stale && mu->sync_age_s > quiet_after;
	}
	/* Baselines: one per commitment key, so count distinct ids. */
	for (i = 0; i < f->n; i++) {
		const Ucr__Record *r = f->in[i]->record;
		const struct ucr_commitment *c;

		if (r->body_case != UCR__RECORD__BODY_BASELINE ||
		    (m = ucr_view_mun_index(v, r->owner)) < 0 ||
		    (c = ucr_commitment_find(r->baseline->commitment)) == NULL)
			continue;
		/* Keys are <owner>/baseline/<commitment>: one record each. */
		if (v->mun[m].has_baseline[c - ucr_commitments])
			continue;
		v->mun[m].has_baseline[c - ucr_commitments] = 1;
		v->mun[m].baseline_covered++;
		if (c->theme >= 1 && c->theme <= UCR_NTHEMES)
			v->mun[m].theme_covered[c->theme - 1]++;
		covered_total++;
	}
	v->region_baseline_pct = v->nmun == 0
	    ? 0
	    : 100.0 * covered_total / (UCR_NCOMMITMENTS * (double)v->nmun);
	for (i = 0; i < v->ntargets; i++) {
		const struct ucr_view_target *t = &v->targets[i];

		m = ucr_view_mun_index(v, t->owner);
		v->mun[m].targets++;
		v->mun[m].by_status[t->progress.status]++;
	}
	for (i = 0; i < f->nmeas; i++) {
		const Ucr__Measurement *me = f->meas[i]->record->measurement;

		if (p->last_followup != NULL)
			break; /* from the store's index */
		if ((m = ucr_view_mun_index(v, me->area)) >= 0 &&
		    me->status != UCR__MEASURE_STATUS__MEASURE_MISSING &&
		    me->year > v->mun[m].last_followup)
			v->mun[m].last_followup = me->year;
	}
	for (m = 0; m < (int)v->nmun; m++) {
		struct ucr_view_municipality *mu = &v->mun[m];

		if (p->last_followup != NULL)
			mu->last_followup = (pi = param_index(p, mu->code)) >= 0
			    ? p->last_followup[pi]
			    : 0;
		for (k = 0; k < v->nprojects; k++)
			if (v->projects[k].counts &&
			    ucr_view_project_has(&v->projects[k], mu->code))
				mu->projects++;
		for (k = 0; k < v->ngroups; k++)
			if (ucr_view_group_has(&v->groups[k], mu->code))
				mu->groups++;
		for (k = 0; k < v->nmeetings; k++)
			if (strcmp(v->meetings[k].owner, mu->code) == 0)
				mu->meetings++;
		for (k = 0; k < v->nnetworks; k++)
			if (strcmp(v->networks[k].owner, mu->code) == 0)
				mu->networks++;
		for (k = 0; k < v->ndecisions; k++) {
			const struct ucr_view_decision *d = &v->decisions[k];

			if (strcmp(d->owner, mu->code) != 0)
				continue;
			mu->decisions++;
			if (d->outcome != UCR__OUTCOME__OUTCOME_ADOPTED)
				continue;
			if (d->body == UCR__BODY__BODY_BOARD &&
			    d->subject == UCR__SUBJECT__SUBJECT_LOCAL_PLAN)
				mu->plan_adopted = 1;
			if (d->subject == UCR__SUBJECT__SUBJECT_TARGETS)
				mu->targets_adopted = 1;
		}
	}
}

/*
 * Population of each municipality in year y from the Kolada KPI N01951
 * (inhabitants), the latest value not after y, else the earliest one.
 * Returns 1 if every municipality in have[] has one, else 0 and the
 * caller uses the sample populations of record.h for all of them: one
 * source of weights per figure.
 */
static int
measured_weights(struct fold *f, unsigned y, const int have[], double w[])
{
	struct ucr_view_point *pts;
	const struct ucr_view_input **src;
	size_t n, i;
	int m;

	for (m = 0; m < (int)f->v->nmun; m++) {
		if (!have[m])
			continue;
		n = series_of(f, UCR_VIEW_POPULATION_KPI, f->v->mun[m].code,
		    &pts, &src);
		if (n == 0)
			return 0;
		w[m] = pts[0].value;
		for (i = 0; i < n && pts[i].year <= y; i++)
			w[m] = pts[i].value;
		if (!(w[m] > 0))
			return 0;
	}
	return 1;
}

/*
 * The regional value of an indicator: the latest year reported by the
 * most municipalities, population-weighted over those reporting it.
 * Returns the number of municipalities used (0: no data).
 */
static unsigned
regional_of(struct fold *f, const char *kpi, struct ucr_view_regional *rg)
{
	struct ucr_view_point *pts[UCR_MAX_MEMBERS];
	const struct ucr_view_input **src;
	size_t np[UCR_MAX_MEMBERS], i, j;
	double vals[UCR_MAX_MEMBERS] = {0}, w[UCR_MAX_MEMBERS] = {0};
	int have[UCR_MAX_MEMBERS] = {0}, m, m2, measured, nm = (int)f->v->nmun;
	unsigned best_year = 0, best_n = 0, y, cnt;

	for (m = 0; m < nm; m++)
		np[m] = series_of(f, kpi, f->v->mun[m].code, &pts[m], &src);
	for (m = 0; m < nm; m++)
		for (i = 0; i < np[m]; i++) {
			y = pts[m][i].year;
			for (m2 = 0, cnt = 0; m2 < nm; m2++)
				for (j = 0; j < np[m2]; j++)
					cnt += pts[m2][j].year == y;
			if (cnt > best_n || (cnt == best_n && y > best_year)) {
				best_n = cnt;
				best_year = y;
			}
		}
	if (best_n == 0)
		return 0;
	for (m = 0; m < nm; m++)
		for (i = 0; i < np[m]; i++)
			if (pts[m][i].year == best_year) {
				vals[m] = pts[m][i].value;
				have[m] = 1;
			}
	measured = measured_weights(f, best_year, have, w);
	if (!measured)
		for (m = 0; m < nm; m++)
			w[m] = (double)f->v->mun[m].population;
	rg->indicator = vm_str(f, kpi);
	rg->year = best_year;
	rg->weights = measured ? UCR_VIEW_POPULATION_KPI : "sample";
	rg->municipalities = (unsigned)ucr_view_regional_rate(&rg->value,
	    (size_t)nm, vals, have, w);
	return rg->municipalities;
}

/* Priorities: targets mapped, status counts, the heat-map cells and the
   population-weighted regional value of each indicator. */
static void
fold_priorities(struct fold *f)
{
	struct ucr_view *v = f->v;
	size_t i, j, k;
	int pi, m;

	for (pi = 0; pi <= UCR_NPRIORITIES; pi++) {
		struct ucr_view_priority *pr = &v->pri[pi];
		size_t cap = 0, rcap = 0;
		struct strs kpis = {0};

		for (i = 0; i < v->ntargets; i++) {
			const struct ucr_view_target *t = &v->targets[i];
			int in = 0;
			size_t *x;

			if (pi == UCR_NPRIORITIES)
				in = t->npriorities == 0;
			for (j = 0; j < t->npriorities && !in; j++)
				in = strcmp(t->priorities[j], pr->id) == 0;
			if (!in ||
			    (x = PUSH(f, pr->targets, pr->ntargets, cap)) ==
				NULL)
				continue;
			*x = i;
			pr->by_status[t->progress.status]++;
			m = ucr_view_mun_index(v, t->owner);
			pr->cell[m][t->progress.status]++;
			if (*t->indicator && !strs_has(&kpis, t->indicator))
				strs_add(f, &kpis, t->indicator);
		}
		for (k = 0; k < kpis.n; k++) {
			struct ucr_view_regional rg = {0};
			struct ucr_view_regional *x;

			if (regional_of(f, kpis.v[k], &rg) == 0)
				continue;
			if ((x = PUSH(f, pr->regional, pr->nregional, rcap)) !=
			    NULL)
				*x = rg;
		}
	}
}

/* The input of a record key; f->in is sorted by key, one per key. */
static const struct ucr_view_input *
find_input(struct fold *f, const char *key)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(f->in[mid]->record->key, key);

		if (c == 0)
			return f->in[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void
missing_codes(struct fold *f, struct ucr_view_goal *g, const int has[])
{
	struct strs s = {0};
	int m;

	for (m = 0; m < (int)f->v->nmun; m++)
		if (!has[m])
			strs_add(f, &s, f->v->mun[m].code);
	g->missing_codes = s.v;
	g->nmissing_codes = s.n;
}

/* "Bjurholm, Vindeln" for the municipalities without has[i]. */
static void
names_without(const struct ucr_view *v, char *buf, size_t len, const int has[])
{
	size_t o = 0, m;

	buf[0] = '\0';
	for (m = 0; m < v->nmun; m++) {
		if (has[m])
			continue;
		o += snprintf(buf + o, o < len ? len - o : 0, "%s%s",
		    o ? ", " : "", v->mun[m].name);
		if (o >= len)
			break;
	}
}

static double
more_needed(const struct ucr_view_goal *g)
{
	return ceil(g->threshold - g->current);
}

/* Activity goal A3: participant counts summed over meetings of a kind. */
static void
fold_balance(struct fold *f, struct ucr_view_balance *b, const char *goal,
    const int *use, int kind, double limit)
{
	struct ucr_view *v = f->v;
	unsigned long stated;
	size_t i;

	b->goal = goal;
	for (i = 0; i < v->nmeetings; i++) {
		const struct ucr_view_meeting *m = &v->meetings[i];

		if (m->kind != kind || !use[i])
			continue;
		b->meetings++;
		b->women += m->women;
		b->men += m->men;
		b->unstated += m->unstated;
	}
	stated = b->women + b->men;
	if (stated == 0) {
		b->women_pct = NAN;
		b->men_pct = NAN;
		b->met = 0;
		return;
	}
	b->women_pct = 100.0 * (double)b->women / (double)stated;
	b->men_pct = 100.0 * (double)b->men / (double)stated;
	b->met = b->women_pct <= limit && b->men_pct <= limit;
}

/* ------------------------------------------------------------ the period */

/* Is date (YYYY-MM-DD) inside the programme period? Always, without one. */
static int
in_period(const struct ucr_view *v, const char *date)
{
	if (v->programme_start == NULL)
		return 1;
	return date != NULL && *date && strcmp(date, v->programme_start) >= 0 &&
	    strcmp(date, v->programme_end) <= 0;
}

/*
 * Why a thing dated from..to (either may be "") falls outside the period,
 * or NULL if it overlaps it. undated: the reason for no dates at all, or
 * NULL to let an undated thing count.
 */
static struct tr
outside(struct fold *f, const char *what, const char *from, const char *to,
    const char *undated)
{
	const struct ucr_view *v = f->v;
	struct tr r = {NULL, NULL};

	if (v->programme_start == NULL)
		return r;
	if ((from == NULL || *from == '\0') && (to == NULL || *to == '\0')) {
		if (undated != NULL) {
			r.en = undated;
			r.l = vm_str(f, _(undated));
		}
		return r;
	}
	if (to != NULL && *to && strcmp(to, v->programme_start) < 0)
		TR(f, r, N_("%s %s is before the programme period (%s - %s)"),
		    TW(f, what), to, v->programme_start, v->programme_end);
	else if (from != NULL && *from && strcmp(from, v->programme_end) > 0)
		TR(f, r, N_("%s %s is after the programme period (%s - %s)"),
		    TW(f, what), from, v->programme_start, v->programme_end);
	return r;
}

struct lefts {
	struct ucr_view_left *v;
	size_t n, cap;
};

static void
left_add(struct fold *f, struct lefts *l, const char *key, struct tr why)
{
	struct ucr_view_left *x = PUSH(f, l->v, l->n, l->cap);

	if (x != NULL) {
		x->key = vm_str(f, key);
		x->reason = why.en;
		x->reason_l = why.l;
	}
}

/* A date-only record: why it is outside the period, or {NULL}. */
static struct tr
dated_outside(struct fold *f, const char *what, const char *date)
{
	struct tr none = {NULL, NULL};

	if (in_period(f->v, date))
		return none;
	return outside(f, what, date, date, N_("no date"));
}

/* Distinct names: 1 if nm is new (and remembered). */
struct seen {
	char v[64][128];
	size_t n;
	int count;
};

static int
seen_add(struct seen *s, const char *name)
{
	char nm[128];
	size_t j;

	norm(nm, sizeof(nm), name);
	for (j = 0; j < s->n && strcmp(s->v[j], nm) != 0; j++)
		;
	if (j < s->n)
		return 0;
	s->count++;
	if (s->n < 64)
		memcpy(s->v[s->n++], nm, sizeof(nm));
	return 1;
}

/* The register entry a network join refers to by id, or matches by name
   or alias (docs/view.md), or NULL. */
static const struct ucr_view_netentry *
register_match(const struct ucr_view *v, const struct ucr_view_network *n)
{
	char a[128], b[128];
	size_t i, j;

	for (i = 0; *n->network_id && i < v->nnetreg; i++)
		if (strcmp(v->netreg[i].id, n->network_id) == 0)
			return &v->netreg[i];
	norm(a, sizeof(a), n->name);
	for (i = 0; i < v->nnetreg; i++) {
		norm(b, sizeof(b), v->netreg[i].name);
		if (strcmp(a, b) == 0)
			return &v->netreg[i];
		for (j = 0; j < v->netreg[i].naliases; j++) {
			norm(b, sizeof(b), v->netreg[i].aliases[j]);
			if (strcmp(a, b) == 0)
				return &v->netreg[i];
		}
	}
	return NULL;
}

static void
fold_goals(struct fold *f, struct refs goal_refs[UCR_NGOALS])
{
	struct ucr_view *v = f->v;
	struct ucr_view_goal *g;
	struct lefts left[UCR_NGOALS];
	struct seen *seen = NULL;
	char names[256], buf[640];
	size_t i, j;
	int *use = NULL, *reg = NULL, has[UCR_MAX_MEMBERS], regional = 0, m, n;
	const struct ucr_view_input *in;
	struct tr why, miss;

	memset(left, 0, sizeof(left));
	if ((seen = calloc(1, sizeof(*seen))) == NULL) {
		f->oom = 1;
		return;
	}

	/* A1: distinct working groups by name, active during the period
	   (a group without dates counts). */
	g = &v->goals[UCR_GOAL_A1];
	for (i = 0; i < v->ngroups; i++) {
		const Ucr__Record *r;

		if ((in = find_input(f, v->groups[i].key)) == NULL)
			continue;
		r = in->record;
		if ((why = outside(f, N_("group active"), r->group->active_from,
			 r->group->active_to, NULL))
			.en != NULL) {
			left_add(f, &left[UCR_GOAL_A1], v->groups[i].key, why);
			continue;
		}
		seen_add(seen, v->groups[i].name);
		refs_add(f, &goal_refs[UCR_GOAL_A1], in);
	}
	g->current = seen->count;
	g->met = g->current >= g->threshold;
	if (!g->met)
		TR(f, miss, N_("%.0f more working groups needed"),
		    more_needed(g));
	else
		miss.en = miss.l = NULL;
	g->missing = miss.en;
	g->missing_l = miss.l;

	/*
	 * A2: regional workshops inside the period, one per (date, title): a
	 * workshop recorded by more than one owner counts once, with the copy
	 * that has the most participants (first by key on a tie), and is
	 * regional if any copy is. A3 weighs every workshop of the period,
	 * regional or local, once each.
	 */
	if (v->nmeetings > 0 &&
	    ((use = calloc(v->nmeetings, sizeof(*use))) == NULL ||
		(reg = calloc(v->nmeetings, sizeof(*reg))) == NULL)) {
		f->oom = 1;
		goto leave;
	}
	g = &v->goals[UCR_GOAL_A2];
	for (i = 0; i < v->nmeetings; i++) {
		const struct ucr_view_meeting *a = &v->meetings[i];
		char ta[128], tb[128];
		size_t dup = (size_t)-1;

		if ((why = dated_outside(f, N_("meeting"), a->date)).en !=
		    NULL) {
			if (a->kind == UCR__MEETING_KIND__MEETING_WORKSHOP)
				left_add(f, &left[UCR_GOAL_A2], a->key, why);
			if (a->kind == UCR__MEETING_KIND__MEETING_WORKSHOP ||
			    a->kind == UCR__MEETING_KIND__MEETING_GROUP)
				left_add(f, &left[UCR_GOAL_A3], a->key, why);
			continue;
		}
		if (a->kind != UCR__MEETING_KIND__MEETING_WORKSHOP) {
			use[i] = 1;
			continue;
		}
		norm(ta, sizeof(ta), a->title);
		for (j = 0; j < i && dup == (size_t)-1; j++) {
			const struct ucr_view_meeting *b = &v->meetings[j];

			if (!use[j] || b->kind != a->kind ||
			    strcmp(a->date, b->date) != 0)
				continue;
			norm(tb, sizeof(tb), b->title);
			if (strcmp(ta, tb) == 0)
				dup = j;
		}
		if (dup == (size_t)-1) {
			use[i] = 1;
			reg[i] = a->regional;
		} else if (a->women + a->men + a->unstated >
		    v->meetings[dup].women + v->meetings[dup].men +
			v->meetings[dup].unstated) {
			use[dup] = 0;
			use[i] = 1;
			reg[i] = reg[dup] || a->regional;
		} else
			reg[dup] |= a->regional;
	}
	for (i = 0, n = 0; i < v->nmeetings; i++) {
		const struct ucr_view_meeting *a = &v->meetings[i];

		if (a->kind != UCR__MEETING_KIND__MEETING_WORKSHOP ||
		    !in_period(v, a->date))
			continue;
		if (!a->regional && !(use[i] && reg[i])) {
			why.en = N_("a municipality's own workshop, not marked "
				    "regional (--regional)");
			why.l = vm_str(f, _(why.en));
			left_add(f, &left[UCR_GOAL_A2], a->key, why);
			continue;
		}
		n += use[i] && reg[i];
		if ((in = find_input(f, a->key)) != NULL)
			refs_add(f, &goal_refs[UCR_GOAL_A2], in);
	}
	g->current = n;
	g->met = g->current >= g->threshold;
	if (!g->met) {
		TR(f, miss, N_("%.0f more regional workshops needed"),
		    more_needed(g));
		g->missing = miss.en;
		g->missing_l = miss.l;
	}

	/* A3: gender balance per activity goal. */
	g = &v->goals[UCR_GOAL_A3];
	fold_balance(f, &v->balance[0], "A1", use,
	    UCR__MEETING_KIND__MEETING_GROUP, g->threshold);
	fold_balance(f, &v->balance[1], "A2", use,
	    UCR__MEETING_KIND__MEETING_WORKSHOP, g->threshold);
	for (i = 0; i < v->nmeetings; i++)
		if (use[i] &&
		    (v->meetings[i].kind == UCR__MEETING_KIND__MEETING_GROUP ||
			v->meetings[i].kind ==
			    UCR__MEETING_KIND__MEETING_WORKSHOP) &&
		    (in = find_input(f, v->meetings[i].key)) != NULL)
			refs_add(f, &goal_refs[UCR_GOAL_A3], in);
	g->current = 0;
	g->met = 1;
	for (f->loc = 0; f->loc < 2; f->loc++) {
		buf[0] = '\0';
		for (i = 0; i < 2; i++) {
			const struct ucr_view_balance *b = &v->balance[i];
			size_t o = strlen(buf);

			if (isnan(b->women_pct)) {
				g->met = 0;
				snprintf(buf + o, sizeof(buf) - o,
				    TW(f, N_("%s%s: no participants stated")),
				    o ? "; " : "", b->goal);
				continue;
			}
			g->current =
			    fmax(g->current, fmax(b->women_pct, b->men_pct));
			if (!b->met) {
				g->met = 0;
				snprintf(buf + o, sizeof(buf) - o,
				    b->women_pct > b->men_pct
					? TW(f,
					      N_("%s%s: women %.1f %% of %lu "
						 "stated"))
					: TW(f,
					      N_("%s%s: men %.1f %% of %lu "
						 "stated")),
				    o ? "; " : "", b->goal,
				    fmax(b->women_pct, b->men_pct),
				    b->women + b->men);
			}
		}
		if (!g->met && f->loc)
			g->missing_l = vm_str(f, buf);
		else if (!g->met)
			g->missing = vm_str(f, buf);
	}
	f->loc = 0;

	/* R1: six local plans adopted by the boards, and the regional plan
	   by the Regional Council, by decisions dated in the period. */
	g = &v->goals[UCR_GOAL_R1];
	memset(has, 0, sizeof(has));
	for (i = 0; i < v->ndecisions; i++) {
		const struct ucr_view_decision *d = &v->decisions[i];
		int local = d->body == UCR__BODY__BODY_BOARD &&
		    d->subject == UCR__SUBJECT__SUBJECT_LOCAL_PLAN &&
		    ucr_view_mun_index(v, d->owner) >= 0;
		int rg = d->body == UCR__BODY__BODY_REGIONAL_COUNCIL &&
		    d->subject == UCR__SUBJECT__SUBJECT_REGIONAL_PLAN;

		if (d->outcome != UCR__OUTCOME__OUTCOME_ADOPTED ||
		    (!local && !rg))
			continue;
		if ((why = dated_outside(f, N_("decision"), d->date)).en !=
		    NULL) {
			left_add(f, &left[UCR_GOAL_R1], d->key, why);
			continue;
		}
		regional |= rg;
		if (local)
			has[ucr_view_mun_index(v, d->owner)] = 1;
		if ((in = find_input(f, d->key)) != NULL)
			refs_add(f, &goal_refs[UCR_GOAL_R1], in);
	}
	v->regional_plan_adopted = regional;
	for (m = 0, n = 0; m < (int)v->nmun; m++)
		n += has[m];
	g->current = (n == (int)v->nmun && regional) ? 1 : 0;
	g->met = g->current >= g->threshold;
	missing_codes(f, g, has);
	if (!g->met) {
		names_without(v, names, sizeof(names), has);
		for (f->loc = 0; f->loc < 2; f->loc++) {
			snprintf(buf, sizeof(buf), "%s%s%s%s",
			    n == 0 ? TW(f,
					 N_("no municipal board has adopted "
					    "its local plan"))
				: n < (int)v->nmun
				? TW(f,
				      N_("local plan not adopted by the "
					 "board: "))
				: "",
			    n > 0 && n < (int)v->nmun ? names : "",
			    n < (int)v->nmun && !regional ? "; " : "",
			    regional ? ""
				     : TW(f,
					   N_("regional plan not adopted "
					      "by the Regional Council")));
			if (f->loc)
				g->missing_l = vm_str(f, buf);
			else
				g->missing = vm_str(f, buf);
		}
		f->loc = 0;
	}

	/*
	 * R2: new networks joined in the period. With a register, distinct
	 * register entries (a join names one by id, or matches its name or
	 * an alias); joins that match none are left out and listed as
	 * exceptions. Without a register, distinct names.
	 */
	g = &v->goals[UCR_GOAL_R2];
	memset(seen, 0, sizeof(*seen));
	for (i = 0; i < v->nnetworks; i++) {
		struct ucr_view_network *nw = &v->networks[i];
		const struct ucr_view_netentry *e;

		if (v->nnetreg > 0 && (e = register_match(v, nw)) != NULL)
			nw->entry = e->id;
		if (!nw->new_in_programme)
			continue;
		if ((why = dated_outside(f, N_("joined"), nw->joined)).en !=
		    NULL) {
			left_add(f, &left[UCR_GOAL_R2], nw->key, why);
			continue;
		}
		if (v->nnetreg > 0 && nw->entry == NULL) {
			TR(f, why,
			    N_("'%s' is not in the region's network register"),
			    nw->name);
			left_add(f, &left[UCR_GOAL_R2], nw->key, why);
			continue;
		}
		seen_add(seen, v->nnetreg > 0 ? nw->entry : nw->name);
		if ((in = find_input(f, nw->key)) != NULL)
			refs_add(f, &goal_refs[UCR_GOAL_R2], in);
	}
	g->current = seen->count;
	g->met = g->current >= g->threshold;
	if (!g->met) {
		TR(f, miss, N_("%.0f more new networks needed"),
		    more_needed(g));
		g->missing = miss.en;
		g->missing_l = miss.l;
	}

	/* R3: distinct programme projects by title that overlap the period;
	   each municipality needs one it leads (partners are not counted). */
	g = &v->goals[UCR_GOAL_R3];
	memset(has, 0, sizeof(has));
	memset(seen, 0, sizeof(*seen));
	for (i = 0; i < v->nprojects; i++) {
		const struct ucr_view_project *p = &v->projects[i];

		if (!p->counts)
			continue;
		if ((why = outside(f, N_("project"), p->start, p->end,
			 N_("no start or end date")))
			.en != NULL) {
			left_add(f, &left[UCR_GOAL_R3], p->key, why);
			continue;
		}
		seen_add(seen, p->title);
		if ((m = ucr_view_mun_index(v, p->lead)) >= 0)
			has[m] = 1;
		if ((in = find_input(f, p->key)) != NULL)
			refs_add(f, &goal_refs[UCR_GOAL_R3], in);
	}
	g->current = seen->count;
	missing_codes(f, g, has);
	g->met = g->current >= g->threshold && g->nmissing_codes == 0;
	if (!g->met) {
		names_without(v, names, sizeof(names), has);
		for (f->loc = 0; f->loc < 2; f->loc++) {
			int o = 0;

			buf[0] = '\0';
			if (g->current < g->threshold)
				o = snprintf(buf, sizeof(buf),
				    TW(f, N_("%.0f more projects needed")),
				    more_needed(g));
			if (o < 0)
				o = 0;
			if (g->nmissing_codes && (size_t)o < sizeof(buf))
				snprintf(buf + o, sizeof(buf) - (size_t)o,
				    TW(f, N_("%sleads no project: %s")),
				    o ? "; " : "", names);
			if (f->loc)
				g->missing_l = vm_str(f, buf);
			else
				g->missing = vm_str(f, buf);
		}
		f->loc = 0;
	}
leave:
	for (i = 0; i < UCR_NGOALS; i++) {
		v->goals[i].refs = goal_refs[i].v;
		v->goals[i].nrefs = goal_refs[i].n;
		v->goals[i].left = left[i].v;
		v->goals[i].nleft = left[i].n;
		if (v->goals[i].missing == NULL)
			v->goals[i].missing = "";
		if (v->goals[i].missing_l == NULL)
			v->goals[i].missing_l = v->goals[i].missing;
	}
	free(use);
	free(reg);
	free(seen);
}

/* ------------------------------------------------------------ adoption */

struct adoption {
	const char *key, *decision, *date;
	const uint8_t *hash;
};

static int
adoption_cmp(const void *a, const void *b)
{
	const struct adoption *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c == 0)
		c = strcmp(x->date, y->date);
	return c != 0 ? c : strcmp(x->decision, y->decision);
}

/* The hash of an input's record: given by the loader, else re-encoded. */
static int
input_hash(const struct ucr_view_input *in, uint8_t out[UCR_HASH_LEN])
{
	uint8_t *buf;
	size_t len;

	if (in->hash != NULL) {
		memcpy(out, in->hash, UCR_HASH_LEN);
		return 0;
	}
	if (ucr_record_encode(&buf, &len, in->record) != 0)
		return -1;
	ucr_hash(out, buf, len);
	free(buf);
	return 0;
}

/*
 * Records changed after adoption: for every record an adopting decision
 * bound by hash, the latest such decision (by date) is compared with the
 * current version; a different hash, or no current version, is a change.
 */
static void
fold_changes(struct fold *f)
{
	struct ucr_view *v = f->v;
	struct adoption *ad = NULL;
	size_t i, j, n = 0, cap = 0, ccap = 0;

	for (i = 0; i < f->n; i++) {
		const Ucr__Record *r = f->in[i]->record;

		if (r->body_case != UCR__RECORD__BODY_DECISION ||
		    r->decision->outcome != UCR__OUTCOME__OUTCOME_ADOPTED)
			continue;
		for (j = 0; j < r->decision->n_adopts; j++) {
			const Ucr__Adopted *a = r->decision->adopts[j];

			if (a->key == NULL || a->hash.len != UCR_HASH_LEN)
				continue;
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 16;
				struct adoption *p =
				    realloc(ad, nc * sizeof(*p));

				if (p == NULL) {
					f->oom = 1;
					free(ad);
					return;
				}
				ad = p;
				cap = nc;
			}
			ad[n].key = a->key;
			ad[n].decision = r->key;
			ad[n].date = r->decision->date ? r->decision->date : "";
			ad[n].hash = a->hash.data;
			n++;
		}
	}
	if (n > 1)
		qsort(ad, n, sizeof(*ad), adoption_cmp);
	for (i = 0; i < n; i++) {
		const struct ucr_view_input *in;
		struct ucr_view_change *c;
		uint8_t cur[UCR_HASH_LEN];

		if (i + 1 < n && strcmp(ad[i].key, ad[i + 1].key) == 0)
			continue; /* a later adoption binds this record */
		in = find_input(f, ad[i].key);
		if (in != NULL &&
		    (input_hash(in, cur) != 0 ||
			memcmp(cur, ad[i].hash, UCR_HASH_LEN) == 0))
			continue;
		if ((c = PUSH(f, v->changes, v->nchanges, ccap)) == NULL)
			break;
		c->key = vm_str(f, ad[i].key);
		c->decision = vm_str(f, ad[i].decision);
		c->decision_date = vm_str(f, ad[i].date);
		memcpy(c->adopted, ad[i].hash, UCR_HASH_LEN);
		c->deleted = in == NULL;
		if (in != NULL) {
			memcpy(c->current, cur, UCR_HASH_LEN);
			c->current_time = in->time;
		}
	}
	free(ad);
}

static const char *
mun_label(const struct ucr_view *v, const char *code)
{
	int m = ucr_view_mun_index(v, code);
	const struct ucr_municipality_se *se;

	if (m >= 0)
		return v->mun[m].name;
	return (se = ucr_municipality_se_find(code)) != NULL ? se->name : code;
}

static void
exc_add(struct fold *f, size_t *cap, enum ucr_view_exc kind, const char *mun,
    const char *subject, struct tr text)
{
	struct ucr_view *v = f->v;
	struct ucr_view_exception *e =
	    PUSH(f, v->exceptions, v->nexceptions, *cap);

	if (e == NULL)
		return;
	e->kind = kind;
	e->municipality = mun ? vm_str(f, mun) : NULL;
	e->subject = subject ? vm_str(f, subject) : NULL;
	e->text = text.en;
	e->text_l = text.l;
}

/* Exceptions, in a fixed order: stale nodes, overdue targets,
   deteriorating targets, quarantined input, records changed after
   adoption, networks outside the register, then the softer notes of
   municipalities without new data; first of all, members left out of
   the view for the budget (a figure over fewer members than the region
   has must say so). */
static void
fold_exceptions(struct fold *f, const struct ucr_view_params *p)
{
	struct ucr_view *v = f->v;
	size_t i, k, cap = 0;
	struct tr t;
	int m;

	if (v->members_over > 0) {
		TR(f, t,
		    N_("%zu member records beyond the budget of %d members "
		       "left out of every figure"),
		    v->members_over, UCR_MAX_MEMBERS);
		exc_add(f, &cap, UCR_EXC_MEMBERS, NULL, NULL, t);
	}
	for (m = 0; m < (int)v->nmun; m++) {
		const struct ucr_view_municipality *mu = &v->mun[m];

		if (!mu->stale)
			continue;
		if (p->last_contact_ms != NULL && mu->contact_age_s >= 0)
			TR(f, t,
			    N_("%s: no contact with its node for %lld h "
			       "(limit %d h)"),
			    mu->name, (long long)mu->contact_age_s / 3600,
			    v->stale_after_s / 3600);
		else if (p->last_contact_ms != NULL)
			TR(f, t, N_("%s: its node never in contact"), mu->name);
		else
			TR(f, t, N_("%s: never synced"), mu->name);
		exc_add(f, &cap, UCR_EXC_STALE, mu->code, NULL, t);
	}
	for (i = 0; i < v->ntargets; i++) {
		const struct ucr_view_target *t2 = &v->targets[i];

		if (!t2->overdue)
			continue;
		TR(f, t, N_("%s %s: target year %u passed, %s"),
		    mun_label(v, t2->owner), t2->id, t2->target_year,
		    TW(f, ucr_view_status_label(t2->progress.status)));
		exc_add(f, &cap, UCR_EXC_OVERDUE, t2->owner, t2->key, t);
	}
	for (i = 0; i < v->ntargets; i++) {
		const struct ucr_view_target *t2 = &v->targets[i];

		if (t2->progress.status != UCR_PROGRESS_DETERIORATION)
			continue;
		TR(f, t, N_("%s %s: deteriorating (%s %u to %u)"),
		    mun_label(v, t2->owner), t2->id,
		    *t2->indicator ? t2->indicator : TW(f, N_("indicator")),
		    t2->baseline_year, t2->latest_year);
		exc_add(f, &cap, UCR_EXC_DETERIORATING, t2->owner, t2->key, t);
	}
	for (i = 0; i < v->nquarantine; i++) {
		const struct ucr_view_quarantine *q = &v->quarantine[i];

		/* the reason is the store's, as logged: not translated */
		t.en = t.l = vm_printf(f, "%s%s%s",
		    q->municipality ? mun_label(v, q->municipality) : "",
		    q->municipality ? ": " : "", q->reason);
		exc_add(f, &cap, UCR_EXC_QUARANTINE, q->municipality, NULL, t);
	}
	for (i = 0; i < v->nchanges; i++) {
		const struct ucr_view_change *c = &v->changes[i];
		char owner[16];
		const char *sl = strchr(c->key, '/');

		snprintf(owner, sizeof(owner), "%.*s",
		    sl ? (int)(sl - c->key) : 0, c->key);
		if (c->deleted)
			TR(f, t, N_("%s deleted after its adoption by %s (%s)"),
			    c->key, c->decision, c->decision_date);
		else
			TR(f, t, N_("%s changed after its adoption by %s (%s)"),
			    c->key, c->decision, c->decision_date);
		exc_add(f, &cap, UCR_EXC_CHANGED,
		    ucr_view_mun_index(v, owner) >= 0 ? owner : NULL, c->key,
		    t);
	}
	for (k = 0; k < UCR_NGOALS; k++) {
		const struct ucr_view_goal *g = &v->goals[k];

		if (k != UCR_GOAL_R2)
			continue;
		for (i = 0; i < g->nleft; i++) {
			char owner[16];
			const char *sl = strchr(g->left[i].key, '/');
			struct tr why = {g->left[i].reason,
			    g->left[i].reason_l};

			if (strstr(g->left[i].reason, "network register") ==
			    NULL)
				continue;
			snprintf(owner, sizeof(owner), "%.*s",
			    sl ? (int)(sl - g->left[i].key) : 0,
			    g->left[i].key);
			TR(f, t, "%s: %s", g->left[i].key, TP(f, why));
			exc_add(f, &cap, UCR_EXC_UNMATCHED,
			    ucr_view_mun_index(v, owner) >= 0 ? owner : NULL,
			    g->left[i].key, t);
		}
	}
	for (m = 0; m < (int)v->nmun; m++) {
		const struct ucr_view_municipality *mu = &v->mun[m];

		if (!mu->quiet)
			continue;
		TR(f, t, N_("%s: no new data for %lld days"), mu->name,
		    (long long)mu->sync_age_s / 86400);
		exc_add(f, &cap, UCR_EXC_QUIET, mu->code, NULL, t);
	}
}

int
ucr_view_fold(struct ucr_view **out, const struct ucr_view_input *in, size_t n,
    const struct ucr_view_params *p)
{
	struct refs goal_refs[UCR_NGOALS];
	struct fold f = {0};
	size_t i, k, cap = 0;
	int rc = 0;

	*out = NULL;
	if ((n > 0 && in == NULL) || p == NULL)
		return UCR_EINVAL;
	for (i = 0; i < n; i++)
		if (in[i].record == NULL || in[i].record->key == NULL ||
		    in[i].record->owner == NULL)
			return UCR_EINVAL;
	memset(goal_refs, 0, sizeof(goal_refs));
	if ((f.v = calloc(1, sizeof(*f.v))) == NULL)
		return UCR_ENOMEM;
	set_now(f.v, p->now);
	f.v->stale_after_s = p->stale_after_s;

	/* Sort by key; of several versions of one key keep the current one,
	   the highest (time, author). Tombstones and bodiless records go. */
	if (n > 0 && (f.in = calloc(n, sizeof(*f.in))) == NULL) {
		rc = UCR_ENOMEM;
		goto fail;
	}
	for (i = 0; i < n; i++)
		f.in[i] = &in[i];
	if (n > 0)
		qsort(f.in, n, sizeof(*f.in), input_cmp);
	for (i = 0, k = 0; i < n; i++) {
		if (i + 1 < n &&
		    strcmp(f.in[i]->record->key, f.in[i + 1]->record->key) == 0)
			continue;
		if (f.in[i]->record->tombstone ||
		    f.in[i]->record->body_case == UCR__RECORD__BODY__NOT_SET)
			continue;
		f.in[k++] = f.in[i];
	}
	f.n = k;
	f.v->records = p->has_records ? p->records : k;
	if (k > 0 &&
	    ((f.meas = calloc(k, sizeof(*f.meas))) == NULL ||
		(f.use = calloc(k, sizeof(*f.use))) == NULL)) {
		rc = UCR_ENOMEM;
		goto fail;
	}
	/* A measurement of a year after the view's year is not data yet
	   (a typing error such as 2099 must not become the latest value). */
	for (i = 0; i < f.n; i++) {
		const Ucr__Record *r = f.in[i]->record;

		if (r->body_case != UCR__RECORD__BODY_MEASUREMENT ||
		    r->measurement->year > f.v->year)
			continue;
		f.meas[f.nmeas++] = f.in[i];
		if (meas_usable(r->measurement,
			r->measurement->indicator ? r->measurement->indicator
						  : "",
			NULL))
			f.use[f.nuse++] = f.in[i];
	}
	if (f.nuse > 1)
		qsort(f.use, f.nuse, sizeof(*f.use), use_cmp);
	for (i = 0; i < p->nquarantine; i++) {
		struct ucr_view_quarantine *q =
		    PUSH(&f, f.v->quarantine, f.v->nquarantine, cap);

		if (q == NULL)
			break;
		*q = p->quarantine[i];
		q->reason = vm_str(&f, p->quarantine[i].reason);
		q->municipality = p->quarantine[i].municipality
		    ? vm_str(&f, p->quarantine[i].municipality)
		    : NULL;
	}

	fold_members(&f);
	fold_region(&f, goal_refs);
	fold_items(&f);
	fold_targets(&f);
	fold_municipalities(&f, p);
	fold_priorities(&f);
	fold_goals(&f, goal_refs);
	fold_changes(&f);
	fold_exceptions(&f, p);
	if (f.oom) {
		rc = UCR_ENOMEM;
		goto fail;
	}
	free(f.in);
	free(f.meas);
	free(f.use);
	*out = f.v;
	return 0;
fail:
	free(f.in);
	free(f.meas);
	free(f.use);
	ucr_view_free(f.v);
	return rc;
}

void
ucr_view_free(struct ucr_view *v)
{
	struct ucr_view_mem *m, *next;

	if (v == NULL)
		return;
	for (m = v->mem; m != NULL; m = next) {
		next = m->next;
		free(m);
	}
	free(v);
}
