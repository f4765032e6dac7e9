/*
 * view.h: the regional view: programme goals, the joint action plan, the
 * municipality × cycle-step matrix, exceptions and provenance.
 *
 * The fold is pure: the same records, sync times and quarantine give the
 * same view on the hub and on every node. ucr_view_build() loads those
 * inputs from a store and calls ucr_view_fold(); tests call the fold on
 * records built in memory. docs/view.md gives every formula and threshold.
 *
 * A struct ucr_view and everything it points to belong to the view and
 * live until ucr_view_free(); callers read it and never change it. The
 * fold copies what it keeps, so its inputs may be freed as soon as it
 * returns.
 */
#ifndef UCR_VIEW_H
#define UCR_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "keys.h"
#include "record.h"
#include "store.h"
#include "ucr.pb-c.h"

#define UCR_NTHEMES 10

/* ------------------------------------------------------------ progress */

/*
 * Target status after the Statistics Canada progress method as used by
 * Open SDG (sdg-build ProgressMeasure). Ordered from worst to best, so a
 * larger value is a better status; NODATA sorts first.
 */
enum ucr_progress {
	UCR_PROGRESS_NODATA = 0,
	UCR_PROGRESS_DETERIORATION,
	UCR_PROGRESS_LIMITED,
	UCR_PROGRESS_ACCELERATE,
	UCR_PROGRESS_ONTRACK,
	UCR_PROGRESS_ACHIEVED,
};
#define UCR_NPROGRESS 6

enum ucr_progress_method {
	UCR_METHOD_NONE = 0, /* not assessed (no data, or achieved) */
	UCR_METHOD_COMPOUND, /* compound annual growth (the StatCan method) */
	UCR_METHOD_LINEAR,   /* linear fall-back: growth rate undefined */
};

/* Thresholds of the method (docs/view.md). */
#define UCR_PROGRESS_R_ONTRACK 0.95 /* R: observed over required growth */
#define UCR_PROGRESS_R_ACCEL 0.60
#define UCR_PROGRESS_G_ONTRACK 0.015 /* no target: annual growth */
#define UCR_PROGRESS_G_ACCEL 0.005

struct ucr_progress_in {
	int has_base;
	double base;
	unsigned base_year;
	int has_current;
	double current;
	unsigned current_year;
	int has_target; /* a target value and year */
	double target;
	unsigned target_year;
	int decrease; /* lower is better */
};

struct ucr_progress_out {
	enum ucr_progress status;
	enum ucr_progress_method method;
	double value;    /* R with a target, else the annual growth;
			    NAN when not assessed, ±INFINITY allowed */
	double observed; /* observed annual growth (or change, linear) */
	double required; /* required annual growth; NAN without target */
};

/* Assess one target. Pure; never fails. */
void ucr_view_progress(struct ucr_progress_out *out,
    const struct ucr_progress_in *in);

/* "achieved", "on_track", "acceleration_needed", "limited_progress",
   "deterioration", "no_data": stable names for JSON. */
const char *ucr_view_status_name(enum ucr_progress s);
/* "achieved", "on track", "acceleration needed", ...: for people. */
const char *ucr_view_status_label(enum ucr_progress s);
/* "compound", "linear", "none". */
const char *ucr_view_method_name(enum ucr_progress_method m);

/*
 * Population-weighted regional value of a rate: sum(w_i v_i) / sum(w_i)
 * over the n municipalities i with have[i] set, weights w. Returns the
 * number of municipalities used; 0 (none, or no positive weight) leaves
 * *out alone.
 */
int ucr_view_regional_rate(double *out, size_t n, const double *values,
    const int *have, const double *weights);

/* ------------------------------------------------------------ members */

/*
 * The region's members (docs/view.md, "Which municipalities"): a region
 * with no Member record has the six default members (ucr_municipalities);
 * once any Member record is held, the members are exactly the Member
 * records held (deleted ones are gone). UCR_MAX_MEMBERS is a budget
 * (docs/security.md): "ucr member add" refuses more, and the view leaves
 * out Member records beyond it (the highest codes), counted in over.
 *
 * The order, used everywhere (view, JSON, report, export, cycle): the
 * default members in their established order (Umeå, Bjurholm, Nordmaling,
 * Robertsfors, Vindeln, Vännäs), then the others by SCB code.
 */
#define UCR_MAX_MEMBERS 64

struct ucr_view_member {
	char code[8];
	const char
	    *name; /* Member.name, else the reference tables' (borrowed) */
	long population; /* Member.population, else the defaults'; 0 unknown */
};

struct ucr_view_members {
	size_t n;
	size_t over;      /* Member records beyond UCR_MAX_MEMBERS, left out */
	int from_records; /* 0: the six defaults (no Member record) */
	struct ucr_view_member m[UCR_MAX_MEMBERS];
};

/* Collect: init, then add every current record (records other than
   Member records and tombstones are ignored; the names borrowed live as
   long as the records), then finish (the rule and the order). */
void ucr_view_members_init(struct ucr_view_members *ms);
void ucr_view_members_add(struct ucr_view_members *ms, const Ucr__Record *r);
void ucr_view_members_finish(struct ucr_view_members *ms);
/* The members' order of two codes (<0, 0, >0). */
int ucr_view_member_cmp(const char *a, const char *b);

/* Default of ucr_view_params.quiet_after_s: 30 days without new data. */
#define UCR_VIEW_QUIET_AFTER_S (30 * 86400)

/* Kolada KPI of inhabitants, used as weights when every municipality of a
   figure has a value for it (docs/view.md). */
#define UCR_VIEW_POPULATION_KPI "N01951"

/* ------------------------------------------------------------ the view */

/* One signed record behind a figure. */
struct ucr_view_ref {
	const char *key;
	uint8_t author[UCR_PK_LEN]; /* zero when unknown */
	uint64_t seq;
	uint64_t time; /* HLC time of the version */
};

enum ucr_goal {
	UCR_GOAL_A1 = 0, /* thematic working groups engaged >= 10 */
	UCR_GOAL_A2,     /* regional workshops held = 3 */
	UCR_GOAL_A3,     /* gender balance, neither above 60 % */
	UCR_GOAL_R1,     /* regional plan adopted on six local plans */
	UCR_GOAL_R2,     /* >= 5 new national/international networks */
	UCR_GOAL_R3,     /* >= 6 projects, >= 1 per municipality */
};
#define UCR_NGOALS 6

/* A record a goal did not count, and why ("meeting 2024-03-01 is after
   the programme period (2008-01-01 - 2010-06-30)"). */
struct ucr_view_left {
	const char *key;
	const char *reason;   /* English (JSON) */
	const char *reason_l; /* the same in the user's language */
};

struct ucr_view_goal {
	const char *id;    /* "A1" .. "R3" */
	const char *title; /* from region/goal/<ID> or the default */
	double current;
	double threshold; /* default, or region/goal/<ID> threshold */
	int at_most;      /* met when current <= threshold (A3) */
	int met;
	const char *missing;        /* one line; "" when met (English, JSON) */
	const char *missing_l;      /* the same in the user's language */
	const char **missing_codes; /* municipality codes (R1, R3) */
	size_t nmissing_codes;
	struct ucr_view_ref *refs;
	size_t nrefs;
	struct ucr_view_left *left; /* records left out, with the reason */
	size_t nleft;
};

/* A3: the participants of one activity goal. */
struct ucr_view_balance {
	const char *goal; /* "A1" (group meetings) or "A2" (workshops) */
	size_t meetings;
	unsigned long women, men, unstated;
	double women_pct, men_pct; /* of stated participants; NAN if none */
	int met;                   /* both <= the A3 threshold */
};

struct ucr_view_point {
	unsigned year;
	double value;
};

struct ucr_view_target {
	const char *key;   /* "2403/target/T1" */
	const char *owner; /* municipality code */
	const char *id;    /* "T1" */
	const char *title;
	const char *indicator;   /* Kolada id, "" if none */
	const char **priorities; /* effective P1..P5 (docs/view.md) */
	size_t npriorities;
	int has_baseline;
	double baseline;
	unsigned baseline_year;
	int has_target;
	double target;
	unsigned target_year; /* 0: none */
	int decrease;         /* lower is better */
	int has_latest;
	double latest;
	unsigned latest_year;
	struct ucr_view_point *series; /* gender T, by year ascending */
	size_t nseries;
	struct ucr_progress_out progress;
	int overdue;               /* target year passed and not achieved */
	struct ucr_view_ref *refs; /* the target and the measurements used */
	size_t nrefs;
};

struct ucr_view_municipality {
	const char *code;
	const char *name;
	long population;
	unsigned baseline_covered; /* commitments with a baseline, of 50 */
	unsigned theme_covered[UCR_NTHEMES];    /* of 5 each */
	uint8_t has_baseline[UCR_NCOMMITMENTS]; /* by ucr_commitments index */
	size_t targets;                         /* active targets */
	size_t by_status[UCR_NPROGRESS];
	size_t projects; /* programme projects it leads or joins */
	size_t groups, meetings, networks, decisions;
	int plan_adopted;         /* board adopted the local plan */
	int targets_adopted;      /* board or council adopted targets */
	unsigned last_followup;   /* newest measurement year, 0 none */
	uint64_t last_sync;       /* HLC of the newest entry held, 0 never */
	int64_t sync_age_s;       /* now - last_sync; -1 never */
	uint64_t last_contact_ms; /* hub's last contact (ms), 0 unknown */
	int64_t contact_age_s;    /* now - last contact; -1 unknown/never */
	int stale; /* no contact within stale_after (docs/view.md) */
	int quiet; /* in contact, but no new data within quiet_after */
};

struct ucr_view_regional {
	const char *indicator;
	unsigned year;
	double value; /* population-weighted over the reporting ones */
	unsigned municipalities; /* how many reported that year */
	const char *weights;     /* "N01951" (measured) or "sample" */
};

struct ucr_view_priority {
	const char *id; /* "P1" .. "P5", or "-" for unmapped */
	const char *title;
	size_t by_status[UCR_NPROGRESS];
	size_t cell[UCR_MAX_MEMBERS][UCR_NPROGRESS]; /* by v->mun index */
	size_t *targets; /* indices into view->targets */
	size_t ntargets;
	struct ucr_view_regional *regional; /* per indicator of its targets */
	size_t nregional;
};

enum ucr_view_exc {
	UCR_EXC_OVERDUE = 0, /* target year passed, not achieved */
	UCR_EXC_DETERIORATING,
	UCR_EXC_STALE,      /* node not in contact within stale_after */
	UCR_EXC_QUARANTINE, /* refused or forked input held */
	UCR_EXC_CHANGED,    /* an adopted record changed after adoption */
	UCR_EXC_UNMATCHED,  /* a network join not in the region's register */
	UCR_EXC_QUIET,      /* no new data for quiet_after (a softer note) */
	UCR_EXC_MEMBERS,    /* Member records beyond UCR_MAX_MEMBERS left out */
};

struct ucr_view_exception {
	enum ucr_view_exc kind;
	const char *municipality; /* code, or NULL */
	const char *subject;      /* record key, or NULL */
	const char *text;         /* one line, English (JSON) */
	const char *text_l;       /* the same in the user's language */
};

struct ucr_view_project {
	const char *key, *owner, *lead, *title;
	const char *start, *end; /* "" when not given */
	const char **partners;
	size_t npartners;
	int status; /* Ucr__ProjectStatus */
	int counts; /* counts_for_programme */
};

struct ucr_view_group {
	const char *key, *owner, *name, *active_to;
	const char **members;
	size_t nmembers;
	int active; /* no active_to, or not before today */
};

struct ucr_view_meeting {
	const char *key, *owner, *date, *title;
	int kind;     /* Ucr__MeetingKind */
	int regional; /* marked regional, or recorded by the region */
	unsigned women, men, unstated;
};

struct ucr_view_network {
	const char *key, *owner, *name, *joined;
	const char *network_id; /* the register id it names, "" if none */
	const char *entry;      /* the register id matched, or NULL */
	int scope;              /* Ucr__Scope */
	int new_in_programme;
};

/* One network of the region's register (region/register/<ID>). */
struct ucr_view_netentry {
	const char *key, *id, *name;
	const char **aliases;
	size_t naliases;
};

/* An adopted record whose current version is not the one adopted. */
struct ucr_view_change {
	const char *key;           /* the adopted record */
	const char *decision;      /* the adopting decision's key */
	const char *decision_date; /* YYYY-MM-DD */
	int deleted;               /* deleted since, or never held */
	uint8_t adopted[UCR_HASH_LEN];
	uint8_t current[UCR_HASH_LEN]; /* zero when deleted */
	uint64_t current_time;         /* HLC of the current version */
};

struct ucr_view_decision {
	const char *key, *owner, *date, *ref;
	int body, subject, outcome; /* Ucr__Body, Ucr__Subject, Ucr__Outcome */
};

struct ucr_view_quarantine {
	uint64_t time;
	const char *reason;
	const char *municipality; /* of the author, or NULL */
	uint64_t seq;
};

struct ucr_view {
	uint64_t now;   /* HLC time the view was computed for */
	unsigned year;  /* calendar year of now (UTC) */
	char today[11]; /* "YYYY-MM-DD" of now (UTC) */
	int stale_after_s;
	const char *vision; /* region/vision/vision text, or NULL */
	const char *programme_start, *programme_end; /* NULL: no period set */
	int regional_plan_adopted; /* by the Regional Council */
	struct ucr_view_goal goals[UCR_NGOALS];
	struct ucr_view_balance balance[2]; /* A3: [0] A1, [1] A2 */
	/* The members, in the members' order (ucr_view_member_cmp). */
	struct ucr_view_municipality mun[UCR_MAX_MEMBERS];
	size_t nmun;
	int members_from_records; /* 0: the six defaults */
	size_t members_over;      /* Member records beyond UCR_MAX_MEMBERS */
	struct ucr_view_priority pri[UCR_NPRIORITIES + 1]; /* [5]: unmapped */
	struct ucr_view_target *targets;                   /* by key */
	size_t ntargets;
	struct ucr_view_project *projects;
	size_t nprojects;
	struct ucr_view_group *groups;
	size_t ngroups;
	struct ucr_view_meeting *meetings;
	size_t nmeetings;
	struct ucr_view_network *networks;
	size_t nnetworks;
	struct ucr_view_decision *decisions;
	size_t ndecisions;
	struct ucr_view_netentry *netreg; /* the network register, by key */
	size_t nnetreg;
	struct ucr_view_change *changes; /* changed after adoption */
	size_t nchanges;
	struct ucr_view_exception *exceptions;
	size_t nexceptions;
	struct ucr_view_quarantine *quarantine;
	size_t nquarantine;
	double region_baseline_pct; /* ratio of sums: covered / 300 */
	size_t records;             /* current records folded */
	struct ucr_view_mem *mem;   /* private: what ucr_view_free releases */
};

/* --------------------------------------------------------- build, fold */

/* One current record version as the fold sees it. */
struct ucr_view_input {
	const Ucr__Record *record; /* decoded; tombstones are skipped */
	const uint8_t *author;     /* UCR_PK_LEN bytes, or NULL */
	uint64_t seq;
	uint64_t time; /* HLC */
	/* BLAKE2b-256 of the stored record bytes (adoption checks), or
	   NULL: the fold hashes the record re-encoded. */
	const uint8_t *hash;
};

struct ucr_view_params {
	uint64_t now;      /* HLC time: ms << 16 | counter */
	int stale_after_s; /* <= 0: no stale-node exceptions */
	/*
	 * The codes the per-municipality arrays below (last_sync,
	 * last_contact_ms, last_followup) are indexed by; NULL: the six
	 * defaults (ucr_municipalities). A member not among them has 0
	 * (never, unknown, none); codes that are not members are ignored.
	 */
	const char *const *codes;
	size_t ncodes;
	/* HLC of the newest entry held per municipality, 0 never; NULL:
	   nothing known. */
	const uint64_t *last_sync;
	/* The hub's last contact with each municipality's node, ms since
	   the epoch, 0 never; NULL: not known here (docs/view.md). */
	const uint64_t *last_contact_ms;
	int quiet_after_s; /* no new data note; <= 0: 30 days */
	const struct ucr_view_quarantine *quarantine; /* copied */
	size_t nquarantine;
	/* The figures that depend on every measurement, when the inputs
	   hold only some of them (ucr_view_build reads these from the
	   store's view index): the newest follow-up year per municipality
	   (indexed as codes), and the number of current
	   records. NULL / has_records 0: computed from the inputs. */
	const unsigned *last_followup;
	int has_records;
	size_t records;
};

/*
 * Fold records into a new view. Records are taken in the order given for
 * ties only; the result does not depend on input order otherwise (inputs
 * are sorted by key first). Returns 0 or UCR_ENOMEM, UCR_EINVAL.
 */
int ucr_view_fold(struct ucr_view **out, const struct ucr_view_input *in,
    size_t n, const struct ucr_view_params *p);

/*
 * Load what the fold needs from the store and fold it: every current
 * record that is not a measurement, the measurements of the targets'
 * indicators and of the population KPI (prefix scans of
 * <owner>/measure/<kpi>/), every head and quarantined item, and the
 * records count and follow-up years from the store's view index. The
 * cost follows what is printed, not the size of the store
 * (docs/design.md). A store without the index (made by an older version
 * and not opened for writing since) is loaded whole, as
 * ucr_view_build_all does.
 *
 * A log's author is mapped to its municipality through the roster records
 * (region/roster/<hex>), then the store's own identity, then the owner of
 * the records it wrote. Undecodable records read are skipped and counted
 * as quarantine-like exceptions. Returns 0 or a store error, UCR_ENOMEM.
 */
int ucr_view_build(struct ucr_view **out, struct ucr_store *s, uint64_t now_hlc,
    int stale_after_s);
/* The same view from every record of the store, each decoded: O(store).
   The reference the indexed loader is tested against. */
int ucr_view_build_all(struct ucr_view **out, struct ucr_store *s,
    uint64_t now_hlc, int stale_after_s);

/*
 * The daemon's half of a query (docs/view.md): what ucr_view_build reads,
 * encoded as a ViewInputs message (proto/ucr.proto) into *out (malloc'd,
 * the caller frees). Returns 0 or a store error, UCR_ENOMEM.
 */
int ucr_view_load_packed(uint8_t **out, size_t *outlen, struct ucr_store *s,
    uint64_t now_hlc);
/*
 * The CLI's half: fold an encoded ViewInputs into a view, the same view
 * ucr_view_build gives on the daemon's store. UCR_EPROTO if the message
 * or a record in it is undecodable; 0 or UCR_ENOMEM otherwise.
 */
int ucr_view_fold_packed(struct ucr_view **out, const uint8_t *buf, size_t len,
    uint64_t now_hlc, int stale_after_s);

void ucr_view_free(struct ucr_view *v);

/* ------------------------------------------------------------ lookups */

/* Index of a member's code in v->mun, or -1 (not a member). */
int ucr_view_mun_index(const struct ucr_view *v, const char *code);
/* A goal by id ("A1", case-insensitive), or NULL. */
const struct ucr_view_goal *ucr_view_goal_find(const struct ucr_view *v,
    const char *id);
/* A target by key ("2403/target/T1") or by "2403/T1" or "2403:T1". */
const struct ucr_view_target *ucr_view_target_find(const struct ucr_view *v,
    const char *name);
/* Does municipality code take part in the project (owner, lead, partner)? */
int ucr_view_project_has(const struct ucr_view_project *p, const char *code);
/* Does municipality code take part in the group (owner or member)? */
int ucr_view_group_has(const struct ucr_view_group *g, const char *code);

/* ------------------------------------------------------------ JSON */

/*
 * JSON documents of docs/view.md; the caller owns the result (json_decref).
 * NULL on out of memory. plan filters: priority ("P4") and municipality
 * code may be NULL for all. cycle: NULL for an unknown code.
 */
json_t *ucr_view_json_status(const struct ucr_view *v);
json_t *ucr_view_json_plan(const struct ucr_view *v, const char *priority,
    const char *municipality);
json_t *ucr_view_json_cycle(const struct ucr_view *v, const char *code);
/* The same document with the steps' "missing" lines in the user's
   language: for the text renderer, never printed as JSON. */
json_t *ucr_view_json_cycle_text(const struct ucr_view *v, const char *code);
json_t *ucr_view_json_refs(const struct ucr_view_ref *refs, size_t n);
json_t *ucr_view_json_target(const struct ucr_view *v,
    const struct ucr_view_target *t);
/* [{key, reason}] of the records a goal left out. */
json_t *ucr_view_json_left(const struct ucr_view_goal *g);
/* Records changed after adoption ([{key, decision, decision_date,
   adopted_hash, current_hash, current_time}]), of key or all (NULL). */
json_t *ucr_view_json_changes(const struct ucr_view *v, const char *key);

#endif
