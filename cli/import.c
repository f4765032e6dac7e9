/*
 * import.c: "ucr import": data files into records, put in one request.
 *
 * A JSON object and a CSV row are both a "row": named fields read through
 * the get_* functions below, so each kind's rules are written once, in its
 * build_* function, whatever the file format. The Kolada reader maps an
 * API data export to measurements. Nothing is sent unless every row of
 * every file is good; the daemon then commits all records in one signed
 * batch, or none. docs/import.md describes the formats.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include <csv.h>
#include <jansson.h>
#include <sodium.h>

#include "chain.h"
#include "cli.h"
#include "control.h"
#include "error.h"
#include "import.h"
#include "pbwire.h"
#include "record.h"

#define PROGRESS_EVERY 1000
#define IMPORT_TIMEOUT_MS 120000
#define KEYLEN 256
#define REQ 1 /* the field must be given */
#define OPT 0

/* ------------------------------------------------------------ words */

struct word {
	const char *w;
	int v;
};

static const struct word trend_words[] = {{"up", UCR__TREND__TREND_UP},
    {"down", UCR__TREND__TREND_DOWN}, {"flat", UCR__TREND__TREND_FLAT},
    {"unknown", UCR__TREND__TREND_UNKNOWN}, {NULL, 0}};
static const struct word direction_words[] =
    {{"increase", UCR__DIRECTION__DIRECTION_INCREASE},
	{"decrease", UCR__DIRECTION__DIRECTION_DECREASE}, {NULL, 0}};
static const struct word gender_words[] = {{"T", UCR__GENDER__GENDER_T},
    {"K", UCR__GENDER__GENDER_K}, {"M", UCR__GENDER__GENDER_M}, {NULL, 0}};
static const struct word measure_words[] =
    {{"final", UCR__MEASURE_STATUS__MEASURE_FINAL},
	{"preliminary", UCR__MEASURE_STATUS__MEASURE_PRELIMINARY},
	{"missing", UCR__MEASURE_STATUS__MEASURE_MISSING}, {NULL, 0}};
static const struct word target_words[] =
    {{"active", UCR__TARGET_STATUS__TARGET_ACTIVE},
	{"withdrawn", UCR__TARGET_STATUS__TARGET_WITHDRAWN}, {NULL, 0}};
static const struct word project_words[] =
    {{"planned", UCR__PROJECT_STATUS__PROJECT_PLANNED},
	{"ongoing", UCR__PROJECT_STATUS__PROJECT_ONGOING},
	{"completed", UCR__PROJECT_STATUS__PROJECT_COMPLETED}, {NULL, 0}};
static const struct word meeting_words[] =
    {{"workshop", UCR__MEETING_KIND__MEETING_WORKSHOP},
	{"group-meeting", UCR__MEETING_KIND__MEETING_GROUP},
	{"steering-group", UCR__MEETING_KIND__MEETING_STEERING_GROUP},
	{"regional-council", UCR__MEETING_KIND__MEETING_REGIONAL_COUNCIL},
	{"other", UCR__MEETING_KIND__MEETING_OTHER}, {NULL, 0}};
static const struct word scope_words[] = {{"national",
					      UCR__SCOPE__SCOPE_NATIONAL},
    {"international", UCR__SCOPE__SCOPE_INTERNATIONAL}, {NULL, 0}};
static const struct word body_words[] = {{"board", UCR__BODY__BODY_BOARD},
    {"council", UCR__BODY__BODY_COUNCIL},
    {"regional-council", UCR__BODY__BODY_REGIONAL_COUNCIL},
    {"steering-group", UCR__BODY__BODY_STEERING_GROUP}, {NULL, 0}};
static const struct word subject_words[] = {{"baseline",
						UCR__SUBJECT__SUBJECT_BASELINE},
    {"targets", UCR__SUBJECT__SUBJECT_TARGETS},
    {"local-plan", UCR__SUBJECT__SUBJECT_LOCAL_PLAN},
    {"regional-plan", UCR__SUBJECT__SUBJECT_REGIONAL_PLAN},
    {"other", UCR__SUBJECT__SUBJECT_OTHER}, {NULL, 0}};
static const struct word outcome_words[] = {{"adopted",
						UCR__OUTCOME__OUTCOME_ADOPTED},
    {"rejected", UCR__OUTCOME__OUTCOME_REJECTED},
    {"deferred", UCR__OUTCOME__OUTCOME_DEFERRED}, {NULL, 0}};
static const struct word bool_words[] = {{"true", 1}, {"false", 0}, {"yes", 1},
    {"no", 0}, {"1", 1}, {"0", 0}, {NULL, 0}};

static const char *const goal_ids[] = {"A1", "A2", "A3", "R1", "R2", "R3",
    NULL};

/* ------------------------------------------------------------ kinds */

/*
 * Fields of each kind by their JSON path: "a.b" is member b of object a,
 * "a[].b" member b of each object in array a. In CSV the column is the
 * path with "." turned into "_" ("baseline_value"), and an array of
 * objects gives one element whose members are columns ("indicator").
 * Every row may also carry "kind", "id" (not a measurement) and "owner".
 */
static const char *const baseline_fields[] = {"text", "trend", "gap",
    "indicators[].indicator", "indicators[].value", "indicators[].year", NULL};
static const char *const target_fields[] = {"title", "commitments",
    "priorities", "indicator", "baseline.value", "baseline.year",
    "target.value", "target.year", "direction", "owner_unit", "status", NULL};
static const char *const measure_fields[] = {"indicator", "year", "gender",
    "value", "status", "area", NULL};
static const char *const project_fields[] = {"title", "lead", "partners",
    "priorities", "start", "end", "budget_sek", "funder", "status",
    "counts_for_programme", NULL};
static const char *const group_fields[] = {"name", "priorities", "theme",
    "members", "active_from", "active_to", NULL};
static const char *const meeting_fields[] = {"type", "date", "women", "men",
    "unstated", "group", "title", "regional", NULL};
static const char *const network_fields[] = {"name", "scope", "joined",
    "new_in_programme", "network_id", NULL};
static const char *const decision_fields[] = {"body", "date", "subject", "ref",
    "adopts", "outcome", NULL};
static const char *const vision_fields[] = {"text", "year", NULL};
static const char *const priority_fields[] = {"title", NULL};
static const char *const goal_fields[] = {"title", "threshold", NULL};

struct row;

#define OWN_MUNI 1
#define OWN_REGION 2
#define OWN_ANY (OWN_MUNI | OWN_REGION)

struct kind {
	const char *name;
	Ucr__Record__BodyCase body;
	int owners; /* OWN_* */
	const char *const *fields;
	int (*build)(struct row *, Ucr__Record *);
};

static int build_baseline(struct row *, Ucr__Record *);
static int build_target(struct row *, Ucr__Record *);
static int build_measure(struct row *, Ucr__Record *);
static int build_project(struct row *, Ucr__Record *);
static int build_group(struct row *, Ucr__Record *);
static int build_meeting(struct row *, Ucr__Record *);
static int build_network(struct row *, Ucr__Record *);
static int build_decision(struct row *, Ucr__Record *);
static int build_vision(struct row *, Ucr__Record *);
static int build_priority(struct row *, Ucr__Record *);
static int build_goal(struct row *, Ucr__Record *);

static const struct kind kinds[] = {
    {"baseline", UCR__RECORD__BODY_BASELINE, OWN_MUNI, baseline_fields,
	build_baseline},
    {"target", UCR__RECORD__BODY_TARGET, OWN_MUNI, target_fields, build_target},
    {"measure", UCR__RECORD__BODY_MEASUREMENT, OWN_MUNI, measure_fields,
	build_measure},
    {"project", UCR__RECORD__BODY_PROJECT, OWN_ANY, project_fields,
	build_project},
    {"group", UCR__RECORD__BODY_GROUP, OWN_ANY, group_fields, build_group},
    {"meeting", UCR__RECORD__BODY_MEETING, OWN_ANY, meeting_fields,
	build_meeting},
    {"network", UCR__RECORD__BODY_NETWORK, OWN_ANY, network_fields,
	build_network},
    {"decision", UCR__RECORD__BODY_DECISION, OWN_ANY, decision_fields,
	build_decision},
    {"vision", UCR__RECORD__BODY_VISION, OWN_REGION, vision_fields,
	build_vision},
    {"priority", UCR__RECORD__BODY_PRIORITY, OWN_REGION, priority_fields,
	build_priority},
    {"goal", UCR__RECORD__BODY_GOAL, OWN_REGION, goal_fields, build_goal},
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* ------------------------------------------------------------ rows */

/* One file being read. */
struct loader {
	struct import_set *out;
	const char *file; /* as the user named it, for messages */
	const char *owner;
	int region; /* owner is the hub */
	char *why;
	size_t whylen;
	void (*progress)(size_t, void *);
	void *ctx;
	json_t *doc;      /* read from memory, not from file (borrowed) */
	char *owner_copy; /* owner in the set's arena, every record's */
	uint32_t *khash;  /* the hash of each put's key, made with it */
	size_t khcap;     /* allocated length of khash */
	int decision;     /* a decision has been put ... */
	int reorder;      /* ... and another record after it */
};

static uint32_t key_hash(const char *);

/* A field path's CSV column, learnt once per header. */
struct pathcol {
	const char *path; /* the caller's pointer: the key ... */
	char text[64];    /* ... and its text then, as the pointer may be
			     a buffer that holds another path later */
	long col;         /* its column, or -1: not in the header */
};

#define NPATHCOL 32 /* more paths than any kind has; the rest uncached */

/*
 * A CSV file's header and what is learnt of it once rather than on every
 * row: the column of each field path asked for, and for each kind which
 * columns may hold a value in its rows.
 */
struct header {
	char **name; /* column names (owned) */
	size_t n;
	struct pathcol cols[NPATHCOL];
	size_t ncols;
	unsigned char *fits; /* NKINDS x n: may column c hold a value in
				a row of kind k (fits[k * n + c]) */
	unsigned char fits_known[NKINDS]; /* that kind's row of fits is set */
};

/* One row: a JSON object, or a CSV row under its header. */
struct row {
	struct loader *ld;
	size_t n; /* row number in the file */
	const struct kind *kind;
	char *id;
	json_t *obj;             /* JSON: the object; NULL for CSV */
	const char *prefix;      /* JSON: "values[2]." for messages, or NULL */
	struct header *head;     /* CSV: the header */
	const char *const *cell; /* CSV: head->n cells, "" where empty */
	char **adopt;            /* decision: full keys adopted */
	size_t nadopt;
};

/*
 * The memory of a set's records: they are made one after the other and
 * freed all at once, so they are cut from large blocks rather than
 * malloc'd field by field (import.h).
 */
struct import_arena {
	struct arena_block *head;
};

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	max_align_t data[];
};

/* A block is mapped with its pages (one call rather than a fault per
   page as it fills). */
#ifndef MAP_POPULATE
#define MAP_POPULATE 0
#endif
#define ARENA_FIRST (64 << 10)
#define ARENA_BLOCK (2 << 20)

/*
 * n bytes of the set's arena at a multiple of align (a power of two, at
 * most that of max_align_t); NULL if out of memory.
 */
static void *
ar_bytes(struct import_set *s, size_t n, size_t align)
{
	struct import_arena *a = s->arena;
	struct arena_block *b;
	size_t at = 0, cap;

	if (a == NULL) {
		if ((a = calloc(1, sizeof(*a))) == NULL)
			return NULL;
		s->arena = a;
	}
	if ((b = a->head) != NULL)
		at = (b->used + align - 1) & ~(align - 1);
	if (b == NULL || at > b->cap || b->cap - at < n) {
		/* 64 KiB, then each block twice the last, up to 2 MiB */
		cap = a->head == NULL             ? ARENA_FIRST
		    : a->head->cap >= ARENA_BLOCK ? ARENA_BLOCK
						  : 2 * a->head->cap;
		if (n > cap / 4)
			cap = n;
		b = mmap(NULL, sizeof(*b) + cap, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (b == MAP_FAILED)
			return NULL;
		b->used = 0;
		b->cap = cap;
		at = 0;
		if (cap == n && a->head != NULL) {
			/* a large one: behind the block being filled */
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
	}
	b->used = at + n;
	return (char *)b->data + at;
}

/* n bytes of the set's arena, aligned for any type. */
static void *
ar_alloc(struct import_set *s, size_t n)
{
	return ar_bytes(s, n, sizeof(max_align_t));
}

static void *
ar_zalloc(struct import_set *s, size_t n)
{
	void *p;

	if ((p = ar_alloc(s, n)) != NULL)
		memset(p, 0, n);
	return p;
}

static char *
ar_strndup(struct import_set *s, const char *t, size_t len)
{
	char *p;

	if ((p = ar_bytes(s, len + 1, 1)) != NULL) {
		memcpy(p, t, len);
		p[len] = '\0';
	}
	return p;
}

static char *
ar_strdup(struct import_set *s, const char *t)
{
	return ar_strndup(s, t, strlen(t));
}

static void
ar_free(struct import_arena *a)
{
	struct arena_block *b, *next;

	if (a == NULL)
		return;
	for (b = a->head; b != NULL; b = next) {
		next = b->next;
		munmap(b, sizeof(*b) + b->cap);
	}
	free(a);
}

/* The records' owner: one text in the set's arena for all of them. */
static char *
owner_text(struct row *r)
{
	struct loader *ld = r->ld;

	if (ld->owner_copy == NULL)
		ld->owner_copy = ar_strdup(ld->out, ld->owner);
	return ld->owner_copy;
}

/* The CSV column of a JSON path: see the field tables. */
static const char *
csv_name(const char *path, char *buf, size_t len)
{
	const char *p = strstr(path, "[].");
	size_t i;

	if (p != NULL)
		path = p + 3;
	for (i = 0; path[i] != '\0' && i + 1 < len; i++)
		buf[i] = path[i] == '.' ? '_' : path[i];
	buf[i] = '\0';
	return buf;
}

static void say(struct loader *ld, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
say(struct loader *ld, const char *fmt, ...)
{
	va_list ap;

	if (ld->why == NULL || ld->whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(ld->why, ld->whylen, _(fmt), ap);
	va_end(ap);
}

static int fail(struct row *r, int code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Record why row r fails, naming path as the file names it; returns code. */
static int
fail(struct row *r, int code, const char *path, const char *fmt, ...)
{
	char reason[512], name[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), _(fmt), ap);
	va_end(ap);
	if (path == NULL)
		say(r->ld, "%s:row %zu: %s", r->ld->file, r->n, reason);
	else if (r->obj == NULL)
		say(r->ld, "%s:row %zu: field '%s': %s", r->ld->file, r->n,
		    csv_name(path, name, sizeof(name)), reason);
	else
		say(r->ld, "%s:row %zu: field '%s%s': %s", r->ld->file, r->n,
		    r->prefix ? r->prefix : "", path, reason);
	return code;
}

static int
nomem(struct row *r)
{
	return fail(r, UCR_ENOMEM, NULL, "out of memory");
}

/* [A-Za-z0-9._-]{1,64}: record ids, indicator ids, group ids. */
static int
id_ok(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (!isalnum((unsigned char)s[n]) && s[n] != '.' &&
		    s[n] != '_' && s[n] != '-')
			return 0;
	return n >= 1 && n <= 64;
}

/*
 * The column of field path in header h, or -1. Each path is looked for
 * among the column names once: the answer is kept under the path's
 * pointer and text, so the same literal asked again costs a pointer and a
 * short string compare, and a buffer reused for another path is looked up
 * afresh.
 */
static long
header_column(struct header *h, const char *path)
{
	struct pathcol *pc = NULL;
	char name[64];
	size_t i;
	long col = -1;

	for (i = 0; i < h->ncols; i++)
		if (h->cols[i].path == path) {
			pc = &h->cols[i];
			if (strcmp(pc->text, path) == 0)
				return pc->col;
			break;
		}
	csv_name(path, name, sizeof(name));
	for (i = 0; i < h->n; i++)
		if (strcmp(h->name[i], name) == 0) {
			col = (long)i;
			break;
		}
	if (strlen(path) >= sizeof(pc->text))
		return col;
	if (pc == NULL && h->ncols < NPATHCOL)
		pc = &h->cols[h->ncols++];
	if (pc != NULL) {
		pc->path = path;
		strcpy(pc->text, path);
		pc->col = col;
	}
	return col;
}

/*
 * Find field path of row r. Returns 1 with *j (JSON) or *s (CSV) set, 0
 * if absent (a JSON null and an empty cell are absent), or an error.
 */
static int
field_get(struct row *r, const char *path, json_t **j, const char **s)
{
	char name[64];
	const char *dot;
	json_t *v;
	long col;

	*j = NULL;
	*s = NULL;
	if (r->obj != NULL) {
		if ((dot = strchr(path, '.')) != NULL) {
			snprintf(name, sizeof(name), "%.*s", (int)(dot - path),
			    path);
			v = json_object_get(r->obj, name);
			if (v == NULL || json_is_null(v))
				return 0;
			if (!json_is_object(v))
				return fail(r, UCR_EINVAL, name,
				    "not an object");
			v = json_object_get(v, dot + 1);
		} else
			v = json_object_get(r->obj, path);
		if (v == NULL || json_is_null(v))
			return 0;
		*j = v;
		return 1;
	}
	if ((col = header_column(r->head, path)) < 0 || r->cell[col][0] == '\0')
		return 0;
	*s = r->cell[col];
	return 1;
}

static int
absent(struct row *r, const char *path, int need)
{
	return need ? fail(r, UCR_EINVAL, path, "required") : 0;
}

/*
 * Text: 1 and *out borrowed from the row (valid while it is read), 0 if
 * absent (an empty string is absent).
 */
static int
peek_text(struct row *r, const char *path, int need, const char **out)
{
	const char *s;
	json_t *j;
	int rc;

	if ((rc = field_get(r, path, &j, &s)) <= 0)
		return rc < 0 ? rc : absent(r, path, need);
	if (j != NULL) {
		if (!json_is_string(j))
			return fail(r, UCR_EINVAL, path, "not a string");
		s = json_string_value(j);
		if (*s == '\0')
			return absent(r, path, need);
	}
	*out = s;
	return 1;
}

/*
 * Text: 1 and *out in the set's arena, 0 if absent (an empty string is
 * absent).
 */
static int
get_text(struct row *r, const char *path, int need, char **out)
{
	const char *s = NULL;
	int rc;

	if ((rc = peek_text(r, path, need, &s)) <= 0)
		return rc;
	if ((*out = ar_strdup(r->ld->out, s)) == NULL)
		return nomem(r);
	return 1;
}

/*
 * The shortest text that reads back as d, without an exponent; -1 if it
 * needs more than 15 significant digits (beyond what a double keeps of
 * the file's text) or is out of any sensible range.
 */
static int
real_text(double d, char *buf, size_t len)
{
	char e[48], dig[24];
	const char *c;
	int p, nd = 0, exp, pos, i;
	size_t o = 0;

	if (!isfinite(d))
		return -1;
	for (p = 1; p <= 15; p++) {
		snprintf(e, sizeof(e), "%.*e", p - 1, d);
		if (strtod(e, NULL) == d)
			break;
	}
	if (p > 15)
		return -1;
	/* Digits and exponent, whatever the locale's decimal point. */
	for (c = e; *c != '\0' && *c != 'e' && *c != 'E'; c++)
		if (isdigit((unsigned char)*c) && nd < (int)sizeof(dig) - 1)
			dig[nd++] = *c;
	if (*c == '\0' || nd == 0)
		return -1;
	exp = atoi(c + 1);
	while (nd > 1 && dig[nd - 1] == '0')
		nd--;
	pos = exp + 1; /* digits before the point */
	if (pos > 20 || pos < -20 || len < 48)
		return -1;
	if (d < 0)
		buf[o++] = '-';
	if (pos <= 0) {
		buf[o++] = '0';
		buf[o++] = '.';
		for (i = 0; i < -pos; i++)
			buf[o++] = '0';
		for (i = 0; i < nd; i++)
			buf[o++] = dig[i];
	} else {
		for (i = 0; i < pos; i++)
			buf[o++] = i < nd ? dig[i] : '0';
		if (nd > pos) {
			buf[o++] = '.';
			for (i = pos; i < nd; i++)
				buf[o++] = dig[i];
		}
	}
	buf[o] = '\0';
	return 0;
}

/*
 * The text of a number field: a JSON number, a JSON string or a CSV
 * cell. JSON reals are read by jansson into a double, so the text is the
 * shortest one that reads back as the same double; with up to 15
 * significant digits that is the file's own number.
 */
static int
number_text(struct row *r, const char *path, json_t *j, const char *s,
    char *buf, size_t len)
{
	if (j == NULL || json_is_string(j)) {
		size_t n;

		/* as snprintf "%s" would, without its cost on every row */
		if (j != NULL)
			s = json_string_value(j);
		if ((n = strlen(s)) >= len)
			n = len - 1;
		memcpy(buf, s, n);
		buf[n] = '\0';
		return 0;
	}
	if (json_is_integer(j)) {
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(j));
		return 0;
	}
	if (json_is_real(j)) {
		if (real_text(json_real_value(j), buf, len) != 0)
			return fail(r, UCR_EINVAL, path,
			    "more than 15 "
			    "significant digits: give the number as a string");
		return 0;
	}
	return fail(r, UCR_EINVAL, path, "not a number");
}

/* A decimal: 1 and *out in the set's arena, or 0 if absent. */
static int
get_dec(struct row *r, const char *path, int need, Ucr__Decimal **out)
{
	char text[64];
	const char *s;
	Ucr__Decimal *d;
	json_t *j;
	int rc;

	if ((rc = field_get(r, path, &j, &s)) <= 0)
		return rc < 0 ? rc : absent(r, path, need);
	if ((rc = number_text(r, path, j, s, text, sizeof(text))) != 0)
		return rc;
	if ((d = ar_alloc(r->ld->out, sizeof(*d))) == NULL)
		return nomem(r);
	if (ucr_decimal_parse(d, text) != 0)
		return fail(r, UCR_EINVAL, path,
		    "'%s' is not a decimal "
		    "number%s",
		    text, strchr(text, ',') ? " (write 4.5, not 4,5)" : "");
	*out = d;
	return 1;
}

/*
 * 1 and *v if s is 1 to 18 ASCII digits and nothing else (a year, a
 * count): what strtoll reads of it, without its cost on every row; 0 for
 * anything else, left to strtoll.
 */
static int
plain_digits(const char *s, long long *v)
{
	long long x = 0;
	size_t i;

	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
		if (i == 18)
			return 0;
		x = x * 10 + (s[i] - '0');
	}
	if (i == 0 || s[i] != '\0')
		return 0;
	*v = x;
	return 1;
}

/* A whole number in lo..hi: 1 and *out, or 0 if absent. */
static int
get_int(struct row *r, const char *path, int need, long long lo, long long hi,
    long long *out)
{
	const char *s;
	char *end;
	json_t *j;
	long long v;
	int rc;

	if ((rc = field_get(r, path, &j, &s)) <= 0)
		return rc < 0 ? rc : absent(r, path, need);
	if (j != NULL && json_is_integer(j))
		v = json_integer_value(j);
	else if (j != NULL && json_is_real(j))
		return fail(r, UCR_EINVAL, path, "not a whole number");
	else if (j != NULL && !json_is_string(j))
		return fail(r, UCR_EINVAL, path, "not a number");
	else {
		if (j != NULL)
			s = json_string_value(j);
		if (!plain_digits(s, &v)) {
			errno = 0;
			v = strtoll(s, &end, 10);
			if (end == s || *end != '\0' || errno != 0)
				return fail(r, UCR_EINVAL, path,
				    "'%s' is not a number", s);
		}
	}
	if (v < 0 && lo == 0)
		return fail(r, UCR_EINVAL, path, "must not be negative (%lld)",
		    v);
	if (v < lo || v > hi)
		return fail(r, UCR_EINVAL, path, "%lld is outside %lld-%lld", v,
		    lo, hi);
	*out = v;
	return 1;
}

static int
get_year(struct row *r, const char *path, int need, uint32_t *out)
{
	long long v;
	int rc;

	if ((rc = get_int(r, path, need, 1900, 2100, &v)) == 1)
		*out = (uint32_t)v;
	return rc;
}

static int
get_count(struct row *r, const char *path, uint32_t *out)
{
	long long v;
	int rc;

	if ((rc = get_int(r, path, OPT, 0, 100000, &v)) == 1)
		*out = (uint32_t)v;
	return rc;
}

/* A date YYYY-MM-DD into *out (in the set's arena). */
static int
get_date(struct row *r, const char *path, int need, char **out)
{
	char *s = NULL;
	int rc;

	if ((rc = get_text(r, path, need, &s)) <= 0)
		return rc;
	if (!ucr_date_valid(s))
		return fail(r, UCR_EINVAL, path,
		    "'%s' is not a date "
		    "(YYYY-MM-DD, 1900-2100)",
		    s);
	*out = s;
	return 1;
}

static int
lookup(const struct word *w, const char *s, int *out)
{
	const struct word *e;

	/* The words of a table differ in more than case: a word written
	   as in the table is the one strcasecmp would find. */
	for (e = w; e->w != NULL; e++)
		if (e->w[0] == s[0] && strcmp(e->w, s) == 0) {
			*out = e->v;
			return 0;
		}
	for (; w->w != NULL; w++)
		if (strcasecmp(w->w, s) == 0) {
			*out = w->v;
			return 0;
		}
	return -1;
}

/* One of the words of tab: 1 and *out, or 0 if absent. */
static int
get_word(struct row *r, const char *path, int need, const struct word *tab,
    int *out)
{
	char *s = NULL, word[32], list[256];
	const char *t = NULL;
	size_t o = 0;
	int rc;

	if ((rc = peek_text(r, path, need, &t)) <= 0)
		return rc;
	/* A word fits the buffer; a longer text is refused below. */
	if ((o = strlen(t)) < sizeof(word))
		s = memcpy(word, t, o + 1);
	else if ((s = strdup(t)) == NULL)
		return nomem(r);
	/* the older spelling "local_plan" reads as "local-plan" */
	for (o = 0; s[o]; o++)
		if (s[o] == '_')
			s[o] = '-';
	o = 0;
	if (lookup(tab, s, out) == 0) {
		rc = 1;
		goto leave;
	}
	list[0] = '\0';
	for (; tab->w != NULL && o < sizeof(list); tab++)
		o += snprintf(list + o, sizeof(list) - o, "%s%s", o ? ", " : "",
		    tab->w);
	rc = fail(r, UCR_EINVAL, path, "unknown value '%s' (one of: %s)", s,
	    list);
leave:
	if (s != word)
		free(s);
	return rc;
}

/* true/false; in CSV (or a JSON string) also yes/no, 1/0. */
static int
get_bool(struct row *r, const char *path, protobuf_c_boolean *out)
{
	const char *s;
	json_t *j;
	int rc, v;

	if ((rc = field_get(r, path, &j, &s)) <= 0)
		return rc;
	if (j != NULL && json_is_boolean(j)) {
		*out = json_is_true(j);
		return 1;
	}
	if (j != NULL && !json_is_string(j))
		return fail(r, UCR_EINVAL, path, "not true or false");
	if (j != NULL)
		s = json_string_value(j);
	if (lookup(bool_words, s, &v) != 0)
		return fail(r, UCR_EINVAL, path, "'%s' is not true or false",
		    s);
	*out = v;
	return 1;
}

static void
free_list(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
list_push(char ***v, size_t *n, const char *s, size_t len)
{
	char **nv, *c;

	if ((c = strndup(s, len)) == NULL)
		return -1;
	if ((nv = realloc(*v, (*n + 1) * sizeof(**v))) == NULL) {
		free(c);
		return -1;
	}
	nv[(*n)++] = c;
	*v = nv;
	return 0;
}

/*
 * A list of strings: a JSON array of strings, or a CSV cell of items
 * separated by ';'. Each item is checked with ok (if not NULL); what
 * names the kind of item for the message. Sets *out, *n (malloc'd) and
 * returns the count, 0 if absent.
 */
static int
get_list(struct row *r, const char *path, int need, int (*ok)(const char *),
    const char *what, char ***out, size_t *n)
{
	const char *s, *p, *e;
	char **v = NULL;
	size_t nv = 0, i;
	json_t *j, *el;
	int rc;

	if ((rc = field_get(r, path, &j, &s)) < 0)
		return rc;
	if (rc > 0 && j != NULL) {
		if (!json_is_array(j))
			return fail(r, UCR_EINVAL, path, "not an array");
		json_array_foreach(j, i, el)
		{
			if (!json_is_string(el) ||
			    *json_string_value(el) == '\0') {
				rc = fail(r, UCR_EINVAL, path,
				    "item %zu is "
				    "not a non-empty string",
				    i + 1);
				goto leave;
			}
			s = json_string_value(el);
			if (list_push(&v, &nv, s, strlen(s)) != 0)
				goto oom;
		}
	} else if (rc > 0) {
		for (p = s; *p != '\0'; p = *e ? e + 1 : e) {
			if ((e = strchr(p, ';')) == NULL)
				e = p + strlen(p);
			while (p < e && isspace((unsigned char)*p))
				p++;
			i = e - p;
			while (i > 0 && isspace((unsigned char)p[i - 1]))
				i--;
			if (i > 0 && list_push(&v, &nv, p, i) != 0)
				goto oom;
		}
	}
	if (nv == 0) {
		rc = absent(r, path, need);
		goto leave;
	}
	for (i = 0; ok != NULL && i < nv; i++)
		if (!ok(v[i])) {
			rc =
			    fail(r, UCR_EINVAL, path, "%s '%s'", _(what), v[i]);
			goto leave;
		}
	*out = v;
	*n = nv;
	return (int)nv;
oom:
	rc = nomem(r);
leave:
	free_list(v, nv);
	return rc;
}

static int
commitment_ok(const char *s)
{
	return ucr_commitment_find(s) != NULL;
}

static int
municipality_ok(const char *s)
{
	return ucr_municipality_known(s);
}

/*
 * A list that is a record's field: get_list's, moved into the set's
 * arena.
 */
static int
get_field_list(struct row *r, const char *path, int need,
    int (*ok)(const char *), const char *what, char ***out, size_t *n)
{
	char **v = NULL, **a;
	size_t nv = 0, i;
	int rc;

	if ((rc = get_list(r, path, need, ok, what, &v, &nv)) <= 0)
		return rc;
	if ((a = ar_alloc(r->ld->out, nv * sizeof(*a))) == NULL)
		goto oom;
	for (i = 0; i < nv; i++)
		if ((a[i] = ar_strdup(r->ld->out, v[i])) == NULL)
			goto oom;
	free_list(v, nv);
	*out = a;
	*n = nv;
	return rc;
oom:
	free_list(v, nv);
	return nomem(r);
}

/* A municipality code: 1 and *out, 0 if absent. */
static int
get_code(struct row *r, const char *path, int need, char **out)
{
	char *s = NULL;
	int rc;

	if ((rc = get_text(r, path, need, &s)) <= 0)
		return rc;
	if (!municipality_ok(s))
		return fail(r, UCR_EINVAL, path,
		    "unknown municipality code '%s'", s);
	*out = s;
	return 1;
}

/* An indicator (Kolada KPI id) or group id: 1 and *out, 0 if absent. */
static int
get_ident(struct row *r, const char *path, int need, char **out)
{
	char *s = NULL;
	int rc;

	if ((rc = get_text(r, path, need, &s)) <= 0)
		return rc;
	if (!id_ok(s))
		return fail(r, UCR_EINVAL, path,
		    "'%s' is not an id (1-64 of "
		    "A-Z a-z 0-9 . _ -)",
		    s);
	*out = s;
	return 1;
}

/* ------------------------------------------------------------ builders */

/*
 * A record and all its parts are cut from the set's arena (ar_alloc):
 * what a failed row leaves there is freed with the set.
 */
#define NEW_BODY(rec, member, type, init, bcase)                      \
	do {                                                          \
		type *b_;                                             \
		if ((b_ = ar_alloc(r->ld->out, sizeof(*b_))) == NULL) \
			return nomem(r);                              \
		init(b_);                                             \
		(rec)->body_case = (bcase);                           \
		(rec)->member = b_;                                   \
	} while (0)

#define TRY(expr)                      \
	do {                           \
		if ((rc = (expr)) < 0) \
			return rc;     \
	} while (0)

static int
indicator_value(struct row *r, Ucr__IndicatorValue **out)
{
	Ucr__IndicatorValue *iv;
	int rc;

	if ((iv = ar_alloc(r->ld->out, sizeof(*iv))) == NULL)
		return nomem(r);
	ucr__indicator_value__init(iv);
	*out = iv;
	TRY(get_ident(r, "indicator", REQ, &iv->indicator));
	TRY(get_dec(r, "value", OPT, &iv->value));
	TRY(get_year(r, "year", OPT, &iv->year));
	if (iv->value != NULL && iv->year == 0)
		return fail(r, UCR_EINVAL, "year", "required with a value");
	return 0;
}

static int
build_baseline(struct row *r, Ucr__Record *rec)
{
	Ucr__Baseline *b;
	struct row sub;
	char prefix[40];
	json_t *a, *el;
	size_t i;
	int rc, v;

	NEW_BODY(rec, baseline, Ucr__Baseline, ucr__baseline__init,
	    UCR__RECORD__BODY_BASELINE);
	b = rec->baseline;
	if (!commitment_ok(r->id))
		return fail(r, UCR_EINVAL, "id",
		    "unknown Aalborg commitment "
		    "'%s' (1.1 .. 10.5)",
		    r->id);
	if ((b->commitment = ar_strdup(r->ld->out, r->id)) == NULL)
		return nomem(r);
	TRY(get_text(r, "text", REQ, &b->text));
	TRY(get_word(r, "trend", OPT, trend_words, &v));
	b->trend = rc ? v : UCR__TREND__TREND_UNKNOWN;
	TRY(get_bool(r, "gap", &b->data_gap));

	if (r->obj == NULL) {
		/* CSV: at most one key indicator, in the row's own columns. */
		const char *s;
		json_t *j;
		int any = 0;

		TRY(field_get(r, "indicator", &j, &s));
		any |= rc;
		TRY(field_get(r, "value", &j, &s));
		any |= rc;
		TRY(field_get(r, "year", &j, &s));
		any |= rc;
		if (!any)
			return 0;
		if ((b->indicators = ar_alloc(r->ld->out,
			 sizeof(*b->indicators))) == NULL)
			return nomem(r);
		b->n_indicators = 1;
		b->indicators[0] = NULL;
		return indicator_value(r, &b->indicators[0]);
	}
	a = json_object_get(r->obj, "indicators");
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a))
		return fail(r, UCR_EINVAL, "indicators", "not an array");
	if (json_array_size(a) == 0)
		return 0;
	b->indicators =
	    ar_zalloc(r->ld->out, json_array_size(a) * sizeof(*b->indicators));
	if (b->indicators == NULL)
		return nomem(r);
	json_array_foreach(a, i, el)
	{
		snprintf(prefix, sizeof(prefix), "indicators[%zu].", i + 1);
		if (!json_is_object(el))
			return fail(r, UCR_EINVAL, NULL,
			    "field "
			    "'indicators[%zu]': not an object",
			    i + 1);
		sub = *r;
		sub.obj = el;
		sub.prefix = prefix;
		b->n_indicators++;
		if ((rc = indicator_value(&sub, &b->indicators[i])) != 0)
			return rc;
	}
	return 0;
}

/* An optional {value, year} pair such as a target's baseline. */
static int
value_year(struct row *r, const char *vpath, const char *ypath,
    Ucr__Decimal **value, uint32_t *year)
{
	int rc;

	TRY(get_dec(r, vpath, OPT, value));
	TRY(get_year(r, ypath, *value != NULL, year));
	if (*value == NULL && *year != 0)
		return fail(r, UCR_EINVAL, vpath, "required with %s", ypath);
	return 0;
}

static int
build_target(struct row *r, Ucr__Record *rec)
{
	Ucr__Target *t;
	int rc, v;

	NEW_BODY(rec, target, Ucr__Target, ucr__target__init,
	    UCR__RECORD__BODY_TARGET);
	t = rec->target;
	TRY(get_text(r, "title", REQ, &t->title));
	TRY(get_field_list(r, "commitments", REQ, commitment_ok,
	    N_("unknown Aalborg commitment"), &t->commitments,
	    &t->n_commitments));
	TRY(get_field_list(r, "priorities", REQ, ucr_priority_valid,
	    N_("unknown priority (P1..P5)"), &t->priorities, &t->n_priorities));
	TRY(get_ident(r, "indicator", OPT, &t->indicator));
	TRY(value_year(r, "baseline.value", "baseline.year", &t->baseline_value,
	    &t->baseline_year));
	TRY(value_year(r, "target.value", "target.year", &t->target_value,
	    &t->target_year));
	if (t->baseline_year != 0 && t->target_year != 0 &&
	    t->target_year <= t->baseline_year)
		return fail(r, UCR_EINVAL, "target.year",
		    "%u is not after "
		    "the baseline year %u",
		    t->target_year, t->baseline_year);
	TRY(get_word(r, "direction", t->target_value != NULL, direction_words,
	    &v));
	if (rc)
		t->direction = v;
	TRY(get_text(r, "owner_unit", OPT, &t->owner_unit));
	TRY(get_word(r, "status", OPT, target_words, &v));
	if (rc)
		t->status = v;
	return 0;
}

static int
build_measure(struct row *r, Ucr__Record *rec)
{
	Ucr__Measurement *m;
	int rc, v, status = -1;

	NEW_BODY(rec, measurement, Ucr__Measurement, ucr__measurement__init,
	    UCR__RECORD__BODY_MEASUREMENT);
	m = rec->measurement;
	TRY(get_ident(r, "indicator", REQ, &m->indicator));
	TRY(get_year(r, "year", REQ, &m->year));
	TRY(get_word(r, "gender", OPT, gender_words, &v));
	if (rc)
		m->gender = v;
	TRY(get_dec(r, "value", OPT, &m->value));
	TRY(get_word(r, "status", OPT, measure_words, &status));
	if (m->value == NULL) {
		/* No value published: missing, never 0. */
		if (status >= 0 &&
		    status != UCR__MEASURE_STATUS__MEASURE_MISSING)
			return fail(r, UCR_EINVAL, "value",
			    "required unless "
			    "status is missing");
		m->status = UCR__MEASURE_STATUS__MEASURE_MISSING;
	} else if (status == UCR__MEASURE_STATUS__MEASURE_MISSING)
		return fail(r, UCR_EINVAL, "status", "'missing' with a value");
	else if (status >= 0)
		m->status = status;
	TRY(get_code(r, "area", OPT, &m->area));
	if (rc == 0 && (m->area = owner_text(r)) == NULL)
		return nomem(r);
	return 0;
}

static int
build_project(struct row *r, Ucr__Record *rec)
{
	Ucr__Project *p;
	long long budget;
	int rc, v;

	NEW_BODY(rec, project, Ucr__Project, ucr__project__init,
	    UCR__RECORD__BODY_PROJECT);
	p = rec->project;
	TRY(get_text(r, "title", REQ, &p->title));
	TRY(get_code(r, "lead", r->ld->region, &p->lead));
	if (rc == 0 && (p->lead = ar_strdup(r->ld->out, r->ld->owner)) == NULL)
		return nomem(r);
	TRY(get_field_list(r, "partners", OPT, municipality_ok,
	    N_("unknown municipality code"), &p->partners, &p->n_partners));
	TRY(get_field_list(r, "priorities", OPT, ucr_priority_valid,
	    N_("unknown priority (P1..P5)"), &p->priorities, &p->n_priorities));
	TRY(get_date(r, "start", OPT, &p->start));
	TRY(get_date(r, "end", OPT, &p->end));
	if (*p->start != '\0' && *p->end != '\0' &&
	    strcmp(p->end, p->start) < 0)
		return fail(r, UCR_EINVAL, "end", "%s is before start %s",
		    p->end, p->start);
	TRY(get_int(r, "budget_sek", OPT, 0, INT64_MAX, &budget));
	if (rc)
		p->budget_sek = budget;
	TRY(get_text(r, "funder", OPT, &p->funder));
	TRY(get_word(r, "status", OPT, project_words, &v));
	if (rc)
		p->status = v;
	/* As "ucr project add": a project counts unless told otherwise. */
	p->counts_for_programme = 1;
	TRY(get_bool(r, "counts_for_programme", &p->counts_for_programme));
	return 0;
}

static int
build_group(struct row *r, Ucr__Record *rec)
{
	Ucr__Group *g;
	int rc;

	NEW_BODY(rec, group, Ucr__Group, ucr__group__init,
	    UCR__RECORD__BODY_GROUP);
	g = rec->group;
	TRY(get_text(r, "name", REQ, &g->name));
	TRY(get_field_list(r, "priorities", OPT, ucr_priority_valid,
	    N_("unknown priority (P1..P5)"), &g->priorities, &g->n_priorities));
	TRY(get_text(r, "theme", OPT, &g->theme));
	TRY(get_field_list(r, "members", OPT, municipality_ok,
	    N_("unknown municipality code"), &g->members, &g->n_members));
	TRY(get_date(r, "active_from", OPT, &g->active_from));
	TRY(get_date(r, "active_to", OPT, &g->active_to));
	if (*g->active_from != '\0' && *g->active_to != '\0' &&
	    strcmp(g->active_to, g->active_from) < 0)
		return fail(r, UCR_EINVAL, "active_to",
		    "%s is before "
		    "active_from %s",
		    g->active_to, g->active_from);
	return 0;
}

static int
build_meeting(struct row *r, Ucr__Record *rec)
{
	Ucr__Meeting *m;
	int rc, v;

	NEW_BODY(rec, meeting, Ucr__Meeting, ucr__meeting__init,
	    UCR__RECORD__BODY_MEETING);
	m = rec->meeting;
	TRY(get_word(r, "type", REQ, meeting_words, &v));
	m->kind = v;
	TRY(get_date(r, "date", REQ, &m->date));
	TRY(get_count(r, "women", &m->women));
	TRY(get_count(r, "men", &m->men));
	TRY(get_count(r, "unstated", &m->unstated));
	TRY(get_ident(r, "group", OPT, &m->group));
	TRY(get_text(r, "title", OPT, &m->title));
	TRY(get_bool(r, "regional", &m->regional));
	return 0;
}

static int
build_network(struct row *r, Ucr__Record *rec)
{
	Ucr__Network *n;
	int rc, v;

	NEW_BODY(rec, network, Ucr__Network, ucr__network__init,
	    UCR__RECORD__BODY_NETWORK);
	n = rec->network;
	TRY(get_text(r, "name", REQ, &n->name));
	TRY(get_word(r, "scope", REQ, scope_words, &v));
	n->scope = v;
	TRY(get_date(r, "joined", REQ, &n->joined));
	TRY(get_bool(r, "new_in_programme", &n->new_in_programme));
	TRY(get_ident(r, "network_id", OPT, &n->network_id));
	return 0;
}

/*
 * An adopted record's full key: "kind/id" (and "measure/KPI/YEAR/G") is
 * one of the importing owner's records, "owner/kind/id" anyone's.
 */
static int
adopt_key(struct row *r, const char *s, char **out)
{
	char first[16], kind[16];
	const char *p, *q, *rest;
	int own;

	if ((p = strchr(s, '/')) == NULL || p == s ||
	    (size_t)(p - s) >= sizeof(first))
		goto bad;
	snprintf(first, sizeof(first), "%.*s", (int)(p - s), s);
	own = ucr_kind_parse(first) != UCR__RECORD__BODY__NOT_SET;
	if (own)
		rest = p + 1;
	else {
		if (strcmp(first, UCR_REGION) != 0 && !municipality_ok(first))
			goto bad;
		if ((q = strchr(p + 1, '/')) == NULL ||
		    (size_t)(q - p - 1) >= sizeof(kind))
			goto bad;
		snprintf(kind, sizeof(kind), "%.*s", (int)(q - p - 1), p + 1);
		if (ucr_kind_parse(kind) == UCR__RECORD__BODY__NOT_SET)
			goto bad;
		rest = q + 1;
	}
	if (*rest == '\0' || strlen(s) >= KEYLEN - 16)
		goto bad;
	if (own ? asprintf(out, "%s/%s", r->ld->owner, s) < 0
		: (*out = strdup(s)) == NULL)
		return nomem(r);
	return 0;
bad:
	return fail(r, UCR_EINVAL, "adopts",
	    "'%s' is not a record key "
	    "(kind/id, or owner/kind/id)",
	    s);
}

static int
build_decision(struct row *r, Ucr__Record *rec)
{
	Ucr__Decision *d;
	char **keys = NULL;
	size_t n = 0, i;
	int rc, v;

	NEW_BODY(rec, decision, Ucr__Decision, ucr__decision__init,
	    UCR__RECORD__BODY_DECISION);
	d = rec->decision;
	TRY(get_word(r, "body", REQ, body_words, &v));
	d->body = v;
	if (!r->ld->region && d->body != UCR__BODY__BODY_BOARD &&
	    d->body != UCR__BODY__BODY_COUNCIL)
		return fail(r, UCR_EINVAL, "body",
		    "a municipality records "
		    "board or council decisions");
	TRY(get_date(r, "date", REQ, &d->date));
	TRY(get_word(r, "subject", REQ, subject_words, &v));
	d->subject = v;
	TRY(get_text(r, "ref", REQ, &d->ref));
	TRY(get_word(r, "outcome", OPT, outcome_words, &v));
	if (rc)
		d->outcome = v;
	TRY(get_list(r, "adopts", OPT, NULL, NULL, &keys, &n));
	if (n == 0)
		return 0;
	/* Full keys replace the list as they are made; *adopt owns them. */
	r->adopt = keys;
	r->nadopt = n;
	for (i = 0; i < n; i++) {
		char *full;

		if ((rc = adopt_key(r, keys[i], &full)) != 0)
			return rc;
		free(keys[i]);
		keys[i] = full;
	}
	return 0;
}

static int
build_vision(struct row *r, Ucr__Record *rec)
{
	int rc;

	NEW_BODY(rec, vision, Ucr__Vision, ucr__vision__init,
	    UCR__RECORD__BODY_VISION);
	if (strcmp(r->id, "vision") != 0)
		return fail(r, UCR_EINVAL, "id", "the vision's id is 'vision'");
	TRY(get_text(r, "text", REQ, &rec->vision->text));
	TRY(get_year(r, "year", REQ, &rec->vision->year));
	return 0;
}

static int
build_priority(struct row *r, Ucr__Record *rec)
{
	int rc;

	NEW_BODY(rec, priority, Ucr__Priority, ucr__priority__init,
	    UCR__RECORD__BODY_PRIORITY);
	if (!ucr_priority_valid(r->id))
		return fail(r, UCR_EINVAL, "id",
		    "unknown priority '%s' "
		    "(P1..P5)",
		    r->id);
	if ((rec->priority->id = ar_strdup(r->ld->out, r->id)) == NULL)
		return nomem(r);
	TRY(get_text(r, "title", REQ, &rec->priority->title));
	return 0;
}

static int
build_goal(struct row *r, Ucr__Record *rec)
{
	size_t i;
	int rc;

	NEW_BODY(rec, goal, Ucr__Goal, ucr__goal__init, UCR__RECORD__BODY_GOAL);
	for (i = 0; goal_ids[i] != NULL; i++)
		if (strcmp(goal_ids[i], r->id) == 0)
			break;
	if (goal_ids[i] == NULL)
		return fail(r, UCR_EINVAL, "id",
		    "unknown goal '%s' (A1 A2 A3 "
		    "R1 R2 R3)",
		    r->id);
	if ((rec->goal->id = ar_strdup(r->ld->out, r->id)) == NULL)
		return nomem(r);
	TRY(get_text(r, "title", OPT, &rec->goal->title));
	TRY(get_dec(r, "threshold", REQ, &rec->goal->threshold));
	if (rec->goal->threshold->units < 0)
		return fail(r, UCR_EINVAL, "threshold", "must not be negative");
	return 0;
}

/* ------------------------------------------------------------ rows */

static const struct kind *
kind_find(const char *name)
{
	size_t i;

	for (i = 0; i < NKINDS; i++)
		if (strcmp(kinds[i].name, name) == 0)
			return &kinds[i];
	return NULL;
}

/* Is key (under prefix, "" or "baseline." or "indicators[].") a field? */
static int
allowed(const char *const *fields, const char *prefix, const char *key)
{
	size_t pl = strlen(prefix), kl = strlen(key);
	const char *f;

	for (; *fields != NULL; fields++) {
		f = *fields;
		if (strncmp(f, prefix, pl) != 0)
			continue;
		f += pl;
		if (strncmp(f, key, kl) == 0 &&
		    (f[kl] == '\0' || f[kl] == '.' || f[kl] == '['))
			return 1;
	}
	return 0;
}

static int
has_prefix(const char *const *fields, const char *prefix)
{
	for (; *fields != NULL; fields++)
		if (strncmp(*fields, prefix, strlen(prefix)) == 0)
			return 1;
	return 0;
}

static int
common_field(const struct kind *k, const char *name)
{
	return strcmp(name, "kind") == 0 || strcmp(name, "owner") == 0 ||
	    (strcmp(name, "id") == 0 &&
		k->body != UCR__RECORD__BODY_MEASUREMENT);
}

static int
unknown(struct row *r, const char *name)
{
	if (strcmp(name, "id") == 0)
		return fail(r, UCR_EINVAL, NULL,
		    "field 'id': a measurement "
		    "has no id; its key is made of indicator, year and "
		    "gender");
	return fail(r, UCR_EINVAL, NULL,
	    "field '%s': unknown field for kind "
	    "'%s'",
	    name, r->kind->name);
}

/*
 * Which columns of header h may hold a value in a row of kind k: worked
 * out on the first row of that kind, then read.
 */
static const unsigned char *
header_fits(struct header *h, const struct kind *k)
{
	size_t ki = (size_t)(k - kinds), i;
	unsigned char *fits = h->fits + ki * h->n;
	const char *const *p;
	char name[160];

	if (h->fits_known[ki])
		return fits;
	for (i = 0; i < h->n; i++) {
		fits[i] = common_field(k, h->name[i]);
		for (p = k->fields; *p != NULL && !fits[i]; p++)
			fits[i] = strcmp(csv_name(*p, name, sizeof(name)),
				      h->name[i]) == 0;
	}
	h->fits_known[ki] = 1;
	return fits;
}

/* Refuse any field, at any depth, that the row's kind does not have. */
static int
check_fields(struct row *r)
{
	const char *const *f = r->kind->fields;
	const unsigned char *fits;
	const char *key, *k2;
	char pre[80], name[160];
	json_t *v, *v2, *el;
	size_t i;

	if (r->obj == NULL) {
		fits = header_fits(r->head, r->kind);
		for (i = 0; i < r->head->n; i++)
			if (r->cell[i][0] != '\0' && !fits[i])
				return unknown(r, r->head->name[i]);
		return 0;
	}
	json_object_foreach(r->obj, key, v)
	{
		if (common_field(r->kind, key))
			continue;
		if (!allowed(f, "", key))
			return unknown(r, key);
		snprintf(pre, sizeof(pre), "%s.", key);
		if (json_is_object(v) && has_prefix(f, pre))
			json_object_foreach(v, k2, v2) if (!allowed(f, pre, k2))
			{
				snprintf(name, sizeof(name), "%s%s", pre, k2);
				return unknown(r, name);
			}
		snprintf(pre, sizeof(pre), "%s[].", key);
		if (json_is_array(v) && has_prefix(f, pre))
			json_array_foreach(v, i, el)
			{
				if (!json_is_object(el))
					continue;
				json_object_foreach(el, k2,
				    v2) if (!allowed(f, pre, k2))
				{
					snprintf(name, sizeof(name),
					    "%s[%zu].%s", key, i + 1, k2);
					return unknown(r, name);
				}
			}
	}
	return 0;
}

/* Turn the validator's "field: reason" into the import's wording. */
static int
refused(struct row *r, const char *vwhy)
{
	const char *c = strstr(vwhy, ": ");

	if (c != NULL && memchr(vwhy, ' ', c - vwhy) == NULL)
		return fail(r, UCR_ESCHEMA, NULL, "field '%.*s': %s",
		    (int)(c - vwhy), vwhy, c + 2);
	return fail(r, UCR_ESCHEMA, NULL, "%s", vwhy);
}

static void
counted(struct loader *ld)
{
	if (++ld->out->rows % PROGRESS_EVERY == 0 && ld->progress != NULL)
		ld->progress(ld->out->rows, ld->ctx);
}

/* Take rec (and the row's adopt list) into the set. */
static int
add_put(struct row *r, Ucr__Record *rec)
{
	struct import_set *s = r->ld->out;
	struct ucr_put *p;

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct ucr_put *np;
		size_t *nr;

		if ((np = realloc(s->puts, cap * sizeof(*np))) == NULL)
			return nomem(r);
		s->puts = np;
		if ((nr = realloc(s->row, cap * sizeof(*nr))) == NULL)
			return nomem(r);
		s->row = nr;
		s->cap = cap;
	}
	if (s->n == r->ld->khcap) {
		size_t cap = s->cap;
		uint32_t *nh;

		if ((nh = realloc(r->ld->khash, cap * sizeof(*nh))) == NULL)
			return nomem(r);
		r->ld->khash = nh;
		r->ld->khcap = cap;
	}
	/* the key is at hand: its hash for the duplicate check */
	r->ld->khash[s->n] = key_hash(rec->key);
	if (rec->body_case == UCR__RECORD__BODY_DECISION)
		r->ld->decision = 1;
	else if (r->ld->decision)
		r->ld->reorder = 1;
	p = &s->puts[s->n];
	memset(p, 0, sizeof(*p));
	p->record = rec;
	p->mode = UCR_PUT_UPSERT;
	p->adopt_keys = (const char *const *)r->adopt;
	p->nadopt = r->nadopt;
	s->row[s->n++] = r->n;
	r->adopt = NULL;
	r->nadopt = 0;
	return 0;
}

/* Key, owner, validation, and into the set. */
static int
finish_record(struct row *r, Ucr__Record *rec, const char *id)
{
	char key[KEYLEN], vwhy[256];
	int rc;

	if (ucr_record_make_key(key, sizeof(key), r->ld->owner, rec, id) != 0) {
		rc = fail(r, UCR_EINVAL, id ? "id" : "indicator",
		    "cannot make a record key of it");
		goto leave;
	}
	if ((rec->key = ar_strdup(r->ld->out, key)) == NULL ||
	    (rec->owner = owner_text(r)) == NULL) {
		rc = nomem(r);
		goto leave;
	}
	if (ucr_record_validate(rec, vwhy, sizeof(vwhy)) != 0) {
		rc = refused(r, vwhy);
		goto leave;
	}
	rc = add_put(r, rec);
leave:
	return rc;
}

/* One JSON object or CSV row: a comment, or a record into the set. */
static int
do_row(struct row *r)
{
	Ucr__Record *rec = NULL;
	const char *kind = NULL, *owner = NULL;
	int rc;

	if ((rc = peek_text(r, "owner", OPT, &owner)) < 0)
		goto leave;
	if (rc && strcmp(owner, r->ld->owner) != 0) {
		rc = fail(r, UCR_EINVAL, "owner",
		    "this file is for '%s', but "
		    "this node writes as '%s'",
		    owner, r->ld->owner);
		goto leave;
	}
	if ((rc = peek_text(r, "kind", REQ, &kind)) < 0)
		goto leave;
	rc = 0;
	if (strcmp(kind, "comment") == 0)
		goto leave;
	counted(r->ld);
	if ((r->kind = kind_find(kind)) == NULL) {
		rc = fail(r, UCR_EINVAL, "kind",
		    ucr_kind_parse(kind) != UCR__RECORD__BODY__NOT_SET
			? "'%s' records are not imported (use ucr roster)"
			: "unknown kind '%s' (see docs/import.md)",
		    kind);
		goto leave;
	}
	if (!(r->kind->owners & (r->ld->region ? OWN_REGION : OWN_MUNI))) {
		rc = fail(r, UCR_EINVAL, "kind",
		    r->ld->region
			? "%s records belong to a municipality, not the region"
			: "%s records are written only by the region",
		    kind);
		goto leave;
	}
	if ((rc = check_fields(r)) != 0)
		goto leave;
	if (r->kind->body != UCR__RECORD__BODY_MEASUREMENT) {
		if ((rc = get_text(r, "id", REQ, &r->id)) < 0)
			goto leave;
		if (!id_ok(r->id)) {
			rc = fail(r, UCR_EINVAL, "id",
			    "'%s' is not an id "
			    "(1-64 of A-Z a-z 0-9 . _ -)",
			    r->id);
			goto leave;
		}
	}
	if ((rec = ar_alloc(r->ld->out, sizeof(*rec))) == NULL) {
		rc = nomem(r);
		goto leave;
	}
	ucr__record__init(rec);
	if ((rc = r->kind->build(r, rec)) != 0)
		goto leave;
	rc = finish_record(r, rec, r->id);
leave:
	free_list(r->adopt, r->nadopt);
	r->adopt = NULL;
	r->nadopt = 0;
	r->id = NULL; /* in the set's arena */
	return rc;
}

/* ------------------------------------------------------------ JSON */

static int
read_json(struct loader *ld, json_t **out)
{
	json_error_t err;
	FILE *f;

	if (ld->doc != NULL) {
		*out = json_incref(ld->doc);
		return 0;
	}
	if ((f = fopen(ld->file, "r")) == NULL) {
		say(ld, "%s: %s", ld->file, strerror(errno));
		return UCR_EIO;
	}
	*out = json_loadf(f, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
	fclose(f);
	if (*out == NULL) {
		say(ld, "%s:line %d: malformed JSON: %s", ld->file, err.line,
		    err.text);
		return UCR_EINVAL;
	}
	return 0;
}

/* Each element of a JSON array is one row, numbered from 1. */
static int
each_row(struct loader *ld, json_t *arr, int (*fn)(struct row *))
{
	struct row r;
	json_t *el;
	size_t i;
	int rc = 0;

	json_array_foreach(arr, i, el)
	{
		memset(&r, 0, sizeof(r));
		r.ld = ld;
		r.n = i + 1;
		r.obj = el;
		if (!json_is_object(el))
			return fail(&r, UCR_EINVAL, NULL, "not an object");
		if ((rc = fn(&r)) != 0)
			return rc;
	}
	return 0;
}

static int
load_json(struct loader *ld)
{
	json_t *root;
	int rc;

	if ((rc = read_json(ld, &root)) != 0)
		return rc;
	if (!json_is_array(root)) {
		say(ld, "%s: not a JSON array of records (see docs/import.md)",
		    ld->file);
		rc = UCR_EINVAL;
	} else
		rc = each_row(ld, root, do_row);
	json_decref(root);
	return rc;
}

/* ------------------------------------------------------------ CSV */

/*
 * A CSV file being read. libcsv hands a record over cell by cell; the
 * cells are kept end to end in one buffer, so that once the buffer is as
 * long as the longest record a row costs no allocation.
 */
struct csvread {
	struct loader *ld;
	char *text; /* the record being read: its cells, each NUL-ended */
	size_t ntext, captext;
	size_t *start;      /* where each cell starts in text */
	const char **cell;  /* the cells, set when the record ends */
	size_t ncell;       /* cells in the record */
	size_t capcell;     /* allocated length of start and cell */
	struct header head; /* the header, once read */
	size_t rec;         /* records seen; the header is row 1 */
	int rc;
};

static const char *
known_column(const char *name)
{
	char buf[64];
	size_t i;
	const char *const *f;

	if (strcmp(name, "kind") == 0 || strcmp(name, "id") == 0 ||
	    strcmp(name, "owner") == 0)
		return name;
	for (i = 0; i < NKINDS; i++)
		for (f = kinds[i].fields; *f != NULL; f++)
			if (strcmp(csv_name(*f, buf, sizeof(buf)), name) == 0)
				return name;
	return NULL;
}

static int
csv_header(struct csvread *c)
{
	struct header *h = &c->head;
	struct row r;
	size_t i, j;
	int kind = 0;

	memset(&r, 0, sizeof(r));
	r.ld = c->ld;
	r.n = 1;
	for (i = 0; i < c->ncell; i++) {
		if (known_column(c->cell[i]) == NULL)
			return fail(&r, UCR_EINVAL, NULL,
			    "field '%s': unknown "
			    "column",
			    c->cell[i]);
		for (j = 0; j < i; j++)
			if (strcmp(c->cell[i], c->cell[j]) == 0)
				return fail(&r, UCR_EINVAL, NULL,
				    "field '%s': "
				    "column given twice",
				    c->cell[i]);
		kind |= strcmp(c->cell[i], "kind") == 0;
	}
	if (!kind)
		return fail(&r, UCR_EINVAL, NULL,
		    "the header must have a "
		    "'kind' column (see docs/import.md)");
	if ((h->name = calloc(c->ncell, sizeof(*h->name))) == NULL ||
	    (h->fits = calloc(NKINDS, c->ncell)) == NULL)
		return nomem(&r);
	for (h->n = 0; h->n < c->ncell; h->n++)
		if ((h->name[h->n] = strdup(c->cell[h->n])) == NULL)
			return nomem(&r);
	return 0;
}

static void
header_free(struct header *h)
{
	free_list(h->name, h->n);
	free(h->fits);
	memset(h, 0, sizeof(*h));
}

/* Room for n cells in c->start and c->cell. */
static int
csv_cells_room(struct csvread *c, size_t n)
{
	size_t cap = c->capcell ? c->capcell : 16;
	size_t *start;
	const char **cell;

	if (n <= c->capcell)
		return 0;
	while (cap < n)
		cap *= 2;
	if ((start = realloc(c->start, cap * sizeof(*start))) == NULL)
		return -1;
	c->start = start;
	if ((cell = realloc(c->cell, cap * sizeof(*cell))) == NULL)
		return -1;
	c->cell = cell;
	c->capcell = cap;
	return 0;
}

static int
csv_row(struct csvread *c)
{
	struct row r;
	size_t i;

	memset(&r, 0, sizeof(r));
	r.ld = c->ld;
	r.n = c->rec;
	if (c->ncell > c->head.n)
		return fail(&r, UCR_EINVAL, NULL,
		    "%zu cells, but the header "
		    "has %zu columns",
		    c->ncell, c->head.n);
	for (i = 0; i < c->ncell && c->cell[i][0] == '\0'; i++)
		;
	if (i == c->ncell)
		return 0; /* a row of empty cells: a spreadsheet's tail */
	if (csv_cells_room(c, c->head.n) != 0)
		return nomem(&r);
	while (c->ncell < c->head.n)
		c->cell[c->ncell++] = "";
	r.head = &c->head;
	r.cell = c->cell;
	return do_row(&r);
}

static void
csv_cb_field(void *s, size_t len, void *data)
{
	struct csvread *c = data;
	size_t cap;
	char *t;

	if (c->rc != 0)
		return;
	if (c->ntext + len + 1 > c->captext) {
		for (cap = c->captext ? c->captext : 1024;
		     cap < c->ntext + len + 1; cap *= 2)
			;
		if ((t = realloc(c->text, cap)) == NULL)
			goto oom;
		c->text = t;
		c->captext = cap;
	}
	if (csv_cells_room(c, c->ncell + 1) != 0)
		goto oom;
	c->start[c->ncell++] = c->ntext;
	if (len > 0)
		memcpy(c->text + c->ntext, s, len);
	c->text[c->ntext + len] = '\0';
	c->ntext += len + 1;
	return;
oom:
	c->rc = UCR_ENOMEM;
	say(c->ld, "%s: out of memory", c->ld->file);
}

static void
csv_cb_record(int term, void *data)
{
	struct csvread *c = data;
	size_t i;

	(void)term;
	c->rec++;
	/* The text buffer has stopped moving: point at the cells. */
	for (i = 0; i < c->ncell; i++)
		c->cell[i] = c->text + c->start[i];
	if (c->rc == 0)
		c->rc = c->rec == 1 ? csv_header(c) : csv_row(c);
	c->ncell = 0;
	c->ntext = 0;
}

static int
load_csv(struct loader *ld)
{
	struct csv_parser p;
	struct csvread c;
	char buf[65536];
	size_t n, off;
	FILE *f;
	int first = 1, rc, ok = 1;

	memset(&c, 0, sizeof(c));
	c.ld = ld;
	if ((f = fopen(ld->file, "r")) == NULL) {
		say(ld, "%s: %s", ld->file, strerror(errno));
		return UCR_EIO;
	}
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
		fclose(f);
		say(ld, "%s: out of memory", ld->file);
		return UCR_ENOMEM;
	}
	while (c.rc == 0 && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
		off = 0;
		/* A spreadsheet's UTF-8 byte order mark is not data. */
		if (first && n >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
			off = 3;
		first = 0;
		if (csv_parse(&p, buf + off, n - off, csv_cb_field,
			csv_cb_record, &c) != n - off) {
			ok = 0;
			break;
		}
	}
	if (ferror(f)) {
		say(ld, "%s: %s", ld->file, strerror(errno));
		c.rc = UCR_EIO;
	} else if (c.rc == 0 && ok &&
	    csv_fini(&p, csv_cb_field, csv_cb_record, &c) != 0)
		ok = 0;
	if (c.rc == 0 && !ok) {
		say(ld, "%s:row %zu: malformed CSV: %s", ld->file, c.rec + 1,
		    csv_strerror(csv_error(&p)));
		c.rc = UCR_EINVAL;
	}
	if (c.rc == 0 && c.rec == 0) {
		say(ld, "%s: empty file: the first row must be the header",
		    ld->file);
		c.rc = UCR_EINVAL;
	}
	rc = c.rc;
	csv_free(&p);
	fclose(f);
	free(c.text);
	free(c.start);
	free(c.cell);
	header_free(&c.head);
	return rc;
}

/* ------------------------------------------------------------ Kolada */

/* One gender's value of a Kolada row: a measurement. */
static int
kolada_value(struct row *r, char *kpi, char *area, uint32_t year)
{
	Ucr__Measurement *m;
	Ucr__Record *rec;
	const char *s;
	json_t *j;
	int rc, v;

	if ((rec = ar_alloc(r->ld->out, sizeof(*rec))) == NULL ||
	    (m = ar_alloc(r->ld->out, sizeof(*m))) == NULL)
		return nomem(r);
	ucr__record__init(rec);
	ucr__measurement__init(m);
	rec->body_case = UCR__RECORD__BODY_MEASUREMENT;
	rec->measurement = m;
	/* the row's texts, in the set's arena: its values share them */
	m->indicator = kpi;
	m->area = area;
	m->year = year;
	if ((rc = get_word(r, "gender", REQ, gender_words, &v)) < 0)
		goto leave;
	m->gender = v;
	/* A null is "no value published": missing, never 0. */
	if ((rc = field_get(r, "value", &j, &s)) < 0)
		goto leave;
	if (rc == 0)
		m->status = UCR__MEASURE_STATUS__MEASURE_MISSING;
	else if ((rc = get_dec(r, "value", REQ, &m->value)) < 0)
		goto leave;
	return finish_record(r, rec, NULL);
leave:
	return rc;
}

static int
kolada_row(struct row *r)
{
	char *kpi = NULL, *area = NULL, prefix[40];
	struct row sub;
	uint32_t year = 0;
	json_t *vals, *el;
	size_t i;
	int rc;

	if (json_object_get(r->obj, "ou") != NULL) {
		rc = fail(r, UCR_EINVAL, "ou",
		    "organisational-unit data is "
		    "not imported; export municipality data");
		goto leave;
	}
	counted(r->ld);
	if ((rc = get_text(r, "municipality", REQ, &area)) < 0)
		goto leave;
	if (strcmp(area, r->ld->owner) != 0) {
		r->ld->out->skipped_other++;
		rc = 0;
		goto leave;
	}
	if ((rc = get_ident(r, "kpi", REQ, &kpi)) < 0 ||
	    (rc = get_year(r, "period", REQ, &year)) < 0)
		goto leave;
	rc = 0;
	vals = json_object_get(r->obj, "values");
	if (vals == NULL || !json_is_array(vals)) {
		rc = fail(r, UCR_EINVAL, "values", "not an array");
		goto leave;
	}
	json_array_foreach(vals, i, el)
	{
		snprintf(prefix, sizeof(prefix), "values[%zu].", i + 1);
		sub = *r;
		sub.obj = el;
		sub.prefix = prefix;
		if (!json_is_object(el)) {
			rc = fail(r, UCR_EINVAL, NULL,
			    "field 'values[%zu]': "
			    "not an object",
			    i + 1);
			break;
		}
		if ((rc = kolada_value(&sub, kpi, area, year)) != 0)
			break;
	}
leave:
	return rc;
}

/*
 * A Kolada data export: {"values": [{"kpi", "municipality", "period",
 * "values": [{"gender", "value", "status", "count"}]}], "count",
 * "next_page"}. Fields this reader does not use are ignored: the export
 * is Kolada's format, not ours, and may grow.
 */
static int
load_kolada(struct loader *ld)
{
	json_t *root, *vals;
	int rc;

	if (ld->region) {
		say(ld,
		    "%s: Kolada values are a municipality's measurements; "
		    "import them on its node, not on the region hub",
		    ld->file);
		return UCR_EINVAL;
	}
	if ((rc = read_json(ld, &root)) != 0)
		return rc;
	if (!json_is_object(root) ||
	    !json_is_array(vals = json_object_get(root, "values"))) {
		say(ld, "%s: not a Kolada data export (no \"values\" array)",
		    ld->file);
		rc = UCR_EINVAL;
	} else
		rc = each_row(ld, vals, kolada_row);
	json_decref(root);
	return rc;
}

/* ------------------------------------------------------------ the set */

struct keyref {
	const char *key;
	const char *file;
	size_t row;
	size_t order;
};

static int
keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* A slot of the set below: 0 free, else 1 + the index of its key. */
struct keyslot {
	uint32_t hash;
	uint32_t at;
};

/* FNV-1a */
static uint32_t
key_hash(const char *s)
{
	uint32_t h = 2166136261U;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619U;
	return h;
}

/*
 * Is a key given twice among n, key(i, ctx) the i-th (and hash[i] its
 * key_hash, or hash NULL to make them)? 1, 0, or -1 if
 * out of memory. One pass over a hash set at most half full: O(n), where
 * the sort below costs O(n log n) string compares, so an import without
 * duplicates (all of them, nearly) pays only this.
 */
static int
any_twice(size_t n, const char *(*key)(size_t, const void *),
    const uint32_t *hash, const void *ctx)
{
	struct keyslot *set;
	size_t cap = 16, i, at;
	uint32_t h;
	const char *k;
	int rc = 0;

	if (n >= UINT32_MAX / 2)
		return 1; /* let the sort tell */
	while (cap < 2 * n)
		cap *= 2;
	if ((set = calloc(cap, sizeof(*set))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		k = key(i, ctx);
		h = hash != NULL ? hash[i] : key_hash(k);
		for (at = h & (cap - 1); set[at].at != 0;
		     at = (at + 1) & (cap - 1))
			if (set[at].hash == h &&
			    strcmp(key(set[at].at - 1, ctx), k) == 0) {
				rc = 1;
				goto leave;
			}
		set[at].at = (uint32_t)i + 1;
		set[at].hash = h;
	}
leave:
	free(set);
	return rc;
}

static const char *
ref_key(size_t i, const void *ctx)
{
	return ((const struct keyref *)ctx)[i].key;
}

static const char *
put_key(size_t i, const void *ctx)
{
	return ((const struct ucr_put *)ctx)[i].record->key;
}

/*
 * A key given twice in refs: say where, naming the later one. Of several
 * such keys the message names the first in sorted order, as it always
 * has, so the sort is kept for when there is one to name.
 */
static int
dup_scan(struct keyref *refs, size_t n, char *why, size_t whylen)
{
	size_t i;

	if (any_twice(n, ref_key, NULL, refs) == 0)
		return 0;
	qsort(refs, n, sizeof(*refs), keyref_cmp);
	for (i = 1; i < n; i++)
		if (strcmp(refs[i - 1].key, refs[i].key) == 0) {
			if (why != NULL && whylen > 0)
				snprintf(why, whylen,
				    "%s:row %zu: key '%s' is "
				    "also at %s:row %zu",
				    refs[i].file, refs[i].row, refs[i].key,
				    refs[i - 1].file, refs[i - 1].row);
			return UCR_EINVAL;
		}
	return 0;
}

/*
 * Decisions go last, in file order, so the records they adopt are put
 * before them in the same batch; then no key may come twice.
 */
static int
finish_set(struct loader *ld)
{
	struct import_set *s = ld->out;
	struct ucr_put *puts;
	struct keyref *refs;
	size_t *row, i, k = 0, pass;
	const uint32_t *hash = ld->khash;
	int rc;

	if (s->n == 0)
		return 0;
	/* In order already unless a record followed a decision (add_put). */
	if (ld->reorder) {
		puts = malloc(s->n * sizeof(*puts));
		row = malloc(s->n * sizeof(*row));
		if (puts == NULL || row == NULL) {
			free(puts);
			free(row);
			goto oom;
		}
		for (pass = 0; pass < 2; pass++)
			for (i = 0; i < s->n; i++)
				if ((s->puts[i].record->body_case ==
					UCR__RECORD__BODY_DECISION) ==
				    (pass == 1)) {
					puts[k] = s->puts[i];
					row[k++] = s->row[i];
				}
		free(s->puts);
		free(s->row);
		s->puts = puts;
		s->row = row;
		s->cap = s->n;
		hash = NULL; /* in the old order: made again */
	}
	if (any_twice(s->n, put_key, hash, s->puts) == 0)
		return 0;
	if ((refs = malloc(s->n * sizeof(*refs))) == NULL)
		goto oom;
	for (i = 0; i < s->n; i++) {
		refs[i].key = s->puts[i].record->key;
		refs[i].file = ld->file;
		refs[i].row = s->row[i];
		refs[i].order = s->row[i];
	}
	rc = dup_scan(refs, s->n, ld->why, ld->whylen);
	free(refs);
	return rc;
oom:
	say(ld, "%s: out of memory", ld->file);
	return UCR_ENOMEM;
}

static int
load_any(struct import_set *out, const char *path, json_t *doc, int kolada,
    const char *owner, char *why, size_t whylen,
    void (*progress)(size_t rows, void *ctx), void *ctx)
{
	struct loader ld;
	const char *ext;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&ld, 0, sizeof(ld));
	ld.doc = doc;
	ld.out = out;
	ld.file = path;
	ld.owner = owner;
	ld.region = owner != NULL && strcmp(owner, UCR_REGION) == 0;
	ld.why = why;
	ld.whylen = whylen;
	ld.progress = progress;
	ld.ctx = ctx;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (owner == NULL || (!ld.region && !ucr_municipality_known(owner))) {
		say(&ld,
		    "%s: owner '%s' is neither a municipality code nor "
		    "'%s'",
		    path, owner ? owner : "", UCR_REGION);
		return UCR_EINVAL;
	}
	ext = strrchr(path, '.');
	if (kolada)
		rc = load_kolada(&ld);
	else if (ext != NULL && strcasecmp(ext, ".json") == 0)
		rc = load_json(&ld);
	else if (ext != NULL && strcasecmp(ext, ".csv") == 0)
		rc = load_csv(&ld);
	else {
		say(&ld,
		    "%s: unknown file type: name it .json or .csv, or use "
		    "--kolada for a Kolada export",
		    path);
		rc = UCR_EINVAL;
	}
	if (rc == 0)
		rc = finish_set(&ld);
	free(ld.khash);
	if (rc != 0)
		import_free(out);
	return rc;
}

int
import_load(struct import_set *out, const char *path, int kolada,
    const char *owner, char *why, size_t whylen,
    void (*progress)(size_t rows, void *ctx), void *ctx)
{
	return load_any(out, path, NULL, kolada, owner, why, whylen, progress,
	    ctx);
}

int
import_load_kolada(struct import_set *out, json_t *doc, const char *name,
    const char *owner, char *why, size_t whylen)
{
	return load_any(out, name, doc, 1, owner, why, whylen, NULL, NULL);
}

void
import_free(struct import_set *s)
{
	size_t i, j;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		struct ucr_put *p = &s->puts[i];

		if (s->arena == NULL)
			ucr__record__free_unpacked(p->record, NULL);
		for (j = 0; j < p->nadopt; j++)
			free((void *)p->adopt_keys[j]);
		free((void *)p->adopt_keys);
	}
	ar_free(s->arena);
	free(s->puts);
	free(s->row);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------ command */

struct progress {
	const char *file;
	int shown;
};

static void
show_progress(size_t rows, void *ctx)
{
	struct progress *p = ctx;

	fputc('\r', stderr);
	fprintf(stderr, _("%s: %zu rows"), p->file, rows);
	p->shown = 1;
}

/*
 * The import's requests are packed here rather than by protobuf-c's
 * ucr__request__pack, which sizes every nested message again at each
 * level: each put is sized once and packed once, straight into one
 * buffer that is reused from chunk to chunk. The wire format is
 * Request's (proto/ucr.proto): many = 2 holding PutMany's puts = 1, or
 * import = 4 holding ImportChunk's id = 1, puts = 2 and commit = 3; and
 * request_id = 10.
 */
#define IMPORT_CHUNK 5000
#define IMPORT_CHUNK_BYTES (16 << 20)
#define WIRE_HEAD 32 /* room before the puts for the tags and lengths */
#define WIRE_TAIL 32 /* and after them: commit, the request id */
#define TAG_LEN(field) ((uint8_t)((field) << 3 | 2))

struct wire {
	uint8_t *buf;
	size_t len, cap; /* bytes of puts after WIRE_HEAD; buf's size */
	size_t n;        /* puts in it */
};

/* Bytes of v as a protobuf varint. */
static size_t
varint_len(size_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* The wire form of put p (borrowing its record and keys). */
static void
wire_put_of(Ucr__Put *w, const struct ucr_put *p)
{
	ucr__put__init(w);
	w->record = p->record;
	w->mode = (Ucr__PutMode)p->mode;
	w->n_adopt_keys = p->nadopt;
	w->adopt_keys = (char **)p->adopt_keys;
}

/* Append w, size bytes packed, as field tag; -1 if out of memory. */
static int
wire_add(struct wire *b, uint8_t tag, const Ucr__Put *w, size_t size)
{
	size_t need = WIRE_HEAD + b->len + 1 + 10 + size + WIRE_TAIL;
	uint8_t *p;

	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : (size_t)1 << 20;

		while (cap < need)
			cap *= 2;
		if ((p = realloc(b->buf, cap)) == NULL)
			return -1;
		b->buf = p;
		b->cap = cap;
	}
	p = b->buf + WIRE_HEAD + b->len;
	*p++ = tag;
	p += ucr_pb_varint_put(p, size);
	p += ucr__put__pack(w, p);
	b->len = (size_t)(p - b->buf) - WIRE_HEAD;
	b->n++;
	return 0;
}

/*
 * Send the puts in b as field body (TAG_LEN(2): many, or TAG_LEN(4):
 * import) with id (import id, 0: none) and commit before them and after
 * them, and the request id when it writes; then empty b. *out: the reply.
 */
static int
wire_send(const struct ucr_config *cfg, struct wire *b, uint8_t body,
    uint64_t id, int commit, Ucr__Reply **out)
{
	uint8_t reqid[16] = {0}, head[WIRE_HEAD], *p, *q;
	size_t inner = b->len, hl = 0, tl = 0;
	int what = body == TAG_LEN(2) ? CLI_REQ_WRITE
	    : commit                  ? CLI_REQ_COMMIT
				      : CLI_REQ_READ;
	int rc;

	if (b->buf == NULL) /* no puts: never asked for */
		return -1;
	q = b->buf + WIRE_HEAD + b->len;
	if (body == TAG_LEN(4)) {
		if (id != 0)
			inner += 1 + varint_len(id);
		if (commit) {
			*q++ = 3 << 3; /* commit = 3, a varint */
			*q++ = 1;
			inner += 2;
		}
	}
	head[hl++] = body;
	hl += ucr_pb_varint_put(head + hl, inner);
	if (body == TAG_LEN(4) && id != 0) {
		head[hl++] = 1 << 3; /* id = 1, a varint */
		hl += ucr_pb_varint_put(head + hl, id);
	}
	if (what != CLI_REQ_READ) {
		/* a write's id, the same on each retry of it */
		randombytes_buf(reqid, sizeof(reqid));
		*q++ = TAG_LEN(10);
		*q++ = sizeof(reqid);
		memcpy(q, reqid, sizeof(reqid));
		q += sizeof(reqid);
	}
	p = b->buf + WIRE_HEAD - hl;
	memcpy(p, head, hl);
	tl = (size_t)(q - p);
	rc = cli_request_packed(cfg, p, tl, what, reqid, sizeof(reqid), out,
	    IMPORT_TIMEOUT_MS);
	b->len = 0;
	b->n = 0;
	return rc;
}

/*
 * A streamed import (docs/import.md): chunks of at most IMPORT_CHUNK puts
 * and IMPORT_CHUNK_BYTES under one import id, the last one committing.
 * The daemon checks each chunk as it comes and writes all of them in one
 * transaction at the commit. *out gets the last reply (or the refusal).
 */
static int
send_streamed(const struct ucr_config *cfg, struct import_set *sets,
    size_t nsets, size_t total, struct wire *b, Ucr__Reply **out)
{
	Ucr__Reply *rep = NULL;
	Ucr__Put w;
	size_t i, j, k = 0, bytes = 0, size;
	uint64_t id = 0;
	int tty = isatty(STDERR_FILENO);

	*out = NULL;
	for (i = 0; i < nsets; i++)
		for (j = 0; j < sets[i].n; j++, k++) {
			wire_put_of(&w, &sets[i].puts[j]);
			size = ucr__put__get_packed_size(&w);
			/* each put: its size, a tag and a length of at most 8
			 */
			if (b->n > 0 &&
			    (b->n == IMPORT_CHUNK ||
				bytes + size + 8 > IMPORT_CHUNK_BYTES)) {
				if (tty) {
					fputc('\r', stderr);
					fprintf(stderr,
					    _("sending: %zu of %zu records"), k,
					    total);
				}
				if (wire_send(cfg, b, TAG_LEN(4), id, 0,
					&rep) != 0)
					goto fail;
				if (rep->code != 0)
					goto done;
				id = rep->import_id;
				ucr__reply__free_unpacked(rep, NULL);
				rep = NULL;
				bytes = 0;
			}
			if (wire_add(b, TAG_LEN(2), &w, size) != 0) {
				cli_error("import: out of memory");
				goto fail;
			}
			bytes += size + 8;
		}
	if (tty) {
		fputs("\r\033[K", stderr);
		fprintf(stderr, _("writing %zu records in one transaction..."),
		    total);
	}
	if (wire_send(cfg, b, TAG_LEN(4), id, 1, &rep) != 0)
		goto fail;
done:
	if (tty)
		fputs("\r\033[K", stderr);
	*out = rep;
	return 0;
fail:
	if (tty)
		fputs("\r\033[K", stderr);
	return -1;
}

/* The same key in two files of one import. */
static int
dup_across(struct import_set *sets, char **files, size_t nfiles, char *why,
    size_t whylen)
{
	struct keyref *refs;
	size_t total = 0, i, j, k = 0;
	int rc;

	for (i = 0; i < nfiles; i++)
		total += sets[i].n;
	if (nfiles < 2 || total == 0)
		return 0;
	if ((refs = malloc(total * sizeof(*refs))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return UCR_ENOMEM;
	}
	for (i = 0; i < nfiles; i++)
		for (j = 0; j < sets[i].n; j++, k++) {
			refs[k].key = sets[i].puts[j].record->key;
			refs[k].file = files[i];
			refs[k].row = sets[i].row[j];
			refs[k].order = k;
		}
	rc = dup_scan(refs, total, why, whylen);
	free(refs);
	return rc;
}

static void
print_result(struct import_set *sets, char **files, size_t nfiles, int kolada,
    int dry, int json, const Ucr__Reply *reply)
{
	json_t *o, *a, *f;
	size_t i, total = 0;

	if (!json) {
		for (i = 0; i < nfiles; i++) {
			printf(dry ? ngettext("would import %zu record from %s",
					 "would import %zu records from %s",
					 sets[i].n)
				   : ngettext("imported %zu record from %s",
					 "imported %zu records from %s",
					 sets[i].n),
			    sets[i].n, files[i]);
			if (kolada)
				printf(ngettext(" (%zu row of other "
						"municipalities skipped)",
					   " (%zu rows of other "
					   "municipalities skipped)",
					   sets[i].skipped_other),
				    sets[i].skipped_other);
			printf("\n");
		}
		return;
	}
	o = json_object();
	a = json_array();
	for (i = 0; i < nfiles; i++) {
		f = json_object();
		json_object_set_new(f, "file", json_string(files[i]));
		json_object_set_new(f, "records", json_integer(sets[i].n));
		json_object_set_new(f, "rows", json_integer(sets[i].rows));
		json_object_set_new(f, "skipped_other",
		    json_integer(sets[i].skipped_other));
		json_array_append_new(a, f);
		total += sets[i].n;
	}
	json_object_set_new(o, "files", a);
	json_object_set_new(o, "records", json_integer(total));
	json_object_set_new(o, "dry_run", json_boolean(dry));
	if (reply != NULL) {
		json_object_set_new(o, "first_seq",
		    json_integer(reply->first_seq));
		json_object_set_new(o, "last_seq",
		    json_integer(reply->last_seq));
	}
	json_dumpf(o, stdout, JSON_COMPACT);
	printf("\n");
	json_decref(o);
}

int
import_send(const struct ucr_config *cfg, struct import_set *sets, size_t nsets,
    Ucr__Reply **reply)
{
	struct wire b = {NULL, 0, 0, 0};
	Ucr__Put w;
	size_t total = 0, i, j, size, bytes = 0;
	int status = 1, one = 0;

	*reply = NULL;
	for (i = 0; i < nsets; i++)
		total += sets[i].n;
	if (total == 0)
		return 0;
	/* One request (PutMany) when it fits, else a streamed import. */
	if (total <= IMPORT_CHUNK) {
		one = 1;
		for (i = 0; i < nsets && one; i++)
			for (j = 0; j < sets[i].n; j++) {
				wire_put_of(&w, &sets[i].puts[j]);
				size = ucr__put__get_packed_size(&w);
				bytes += 1 + varint_len(size) + size;
				if (wire_add(&b, TAG_LEN(1), &w, size) != 0) {
					cli_error("import: out of memory");
					goto leave;
				}
			}
		/* Request.many = 2: a one-byte tag, the length, the PutMany */
		if (1 + varint_len(bytes) + bytes > IMPORT_CHUNK_BYTES) {
			one = 0;
			b.len = 0;
			b.n = 0;
		}
	}
	if (one) {
		if (wire_send(cfg, &b, TAG_LEN(2), 0, 0, reply) != 0)
			goto leave;
	} else if (send_streamed(cfg, sets, nsets, total, &b, reply) != 0)
		goto leave;
	if ((*reply)->code != 0) {
		cli_error("import: %s: %s", ucr_strerror_l((*reply)->code),
		    cli_daemon_text((*reply)->message));
		goto leave;
	}
	status = 0;
leave:
	if (status != 0 && *reply != NULL) {
		ucr__reply__free_unpacked(*reply, NULL);
		*reply = NULL;
	}
	free(b.buf);
	return status ? -1 : 0;
}

int
cmd_import(int argc, char **argv)
{
	struct ucr_config *cfg = NULL;
	struct import_set *sets = NULL;
	struct progress prog;
	Ucr__Reply *reply = NULL;
	char why[1024], **files;
	size_t nfiles, i;
	int kolada = 0, dry = 0, json = 0, status = 1, a;

	for (a = 1; a < argc && argv[a][0] == '-' && argv[a][1] != '\0'; a++) {
		if (strcmp(argv[a], "--") == 0) {
			a++;
			break;
		}
		if (strcmp(argv[a], "--kolada") == 0)
			kolada = 1;
		else if (strcmp(argv[a], "--dry-run") == 0)
			dry = 1;
		else if (strcmp(argv[a], "--json") == 0)
			json = 1;
		else if (strcmp(argv[a], "--help") == 0 ||
		    strcmp(argv[a], "-h") == 0) {
			cli_usage(stdout, "import");
			return 0;
		} else {
			cli_error("import: unknown option '%s'", argv[a]);
			cli_usage(stderr, "import");
			return EXIT_USAGE;
		}
	}
	if (a == argc) {
		cli_error("import: no file given");
		cli_usage(stderr, "import");
		return EXIT_USAGE;
	}
	files = argv + a;
	nfiles = argc - a;
	if (cli_load_config(&cfg) != 0)
		return 1;
	if ((sets = calloc(nfiles, sizeof(*sets))) == NULL) {
		cli_error("import: out of memory");
		goto leave;
	}
	for (i = 0; i < nfiles; i++) {
		prog.file = files[i];
		prog.shown = 0;
		if (import_load(&sets[i], files[i], kolada, cfg->owner, why,
			sizeof(why),
			isatty(STDERR_FILENO) ? show_progress : NULL,
			&prog) != 0) {
			if (prog.shown)
				fputs("\r\033[K", stderr);
			cli_error("import: %s", why);
			goto leave;
		}
		if (prog.shown)
			fputs("\r\033[K", stderr);
	}
	if (dup_across(sets, files, nfiles, why, sizeof(why)) != 0) {
		cli_error("import: %s", why);
		goto leave;
	}
	if (!dry && import_send(cfg, sets, nfiles, &reply) != 0)
		goto leave;
	print_result(sets, files, nfiles, kolada, dry, json, reply);
	status = 0;
leave:
	if (reply != NULL)
		ucr__reply__free_unpacked(reply, NULL);
	for (i = 0; sets != NULL && i < nfiles; i++)
		import_free(&sets[i]);
	free(sets);
	ucr_config_free(cfg);
	return status;
}
