/*
 * officer.c: the officers' write commands (baseline, target, measure,
 * project, group, meeting, network, decision, delete).
 *
 * Each builds one record, validates it completely (the same
 * ucr_record_validate() the daemon runs again), and sends it to the
 * daemon's control socket, which signs and appends it. Nothing is sent
 * unless every field is valid.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "error.h"
#include "officer.h"
#include "record.h"

/* ---------------------------------------------------------------- values */

static const struct cli_enum trends[] = {{"unknown", 0}, {"up", 1}, {"down", 2},
    {"flat", 3}, {NULL, 0}};
static const struct cli_enum directions[] = {{"increase", 0}, {"decrease", 1},
    {NULL, 0}};
static const struct cli_enum genders[] = {{"T", 0}, {"K", 1}, {"M", 2},
    {NULL, 0}};
static const struct cli_enum mstatuses[] = {{"final", 0}, {"preliminary", 1},
    {"missing", 2}, {NULL, 0}};
static const struct cli_enum tstatuses[] = {{"active", 0}, {"withdrawn", 1},
    {NULL, 0}};
static const struct cli_enum pstatuses[] = {{"planned", 0}, {"ongoing", 1},
    {"completed", 2}, {NULL, 0}};
static const struct cli_enum mkinds[] = {{"other", 0}, {"workshop", 1},
    {"group-meeting", 2}, {"steering-group", 3}, {"regional-council", 4},
    {NULL, 0}};
static const struct cli_enum scopes[] = {{"national", 0}, {"international", 1},
    {NULL, 0}};
static const struct cli_enum bodies[] = {{"board", 0}, {"council", 1},
    {"regional-council", 2}, {"steering-group", 3}, {NULL, 0}};
static const struct cli_enum subjects[] = {{"other", 0}, {"baseline", 1},
    {"targets", 2}, {"local-plan", 3}, {"regional-plan", 4}, {NULL, 0}};
static const struct cli_enum outcomes[] = {{"adopted", 0}, {"rejected", 1},
    {"deferred", 2}, {NULL, 0}};

const struct cli_enum *const cli_enum_trend = trends;
const struct cli_enum *const cli_enum_direction = directions;
const struct cli_enum *const cli_enum_gender = genders;
const struct cli_enum *const cli_enum_mstatus = mstatuses;
const struct cli_enum *const cli_enum_tstatus = tstatuses;
const struct cli_enum *const cli_enum_pstatus = pstatuses;
const struct cli_enum *const cli_enum_mkind = mkinds;
const struct cli_enum *const cli_enum_scope = scopes;
const struct cli_enum *const cli_enum_body = bodies;
const struct cli_enum *const cli_enum_subject = subjects;
const struct cli_enum *const cli_enum_outcome = outcomes;

/* Words are compared with '_' read as '-': "local_plan" is the older
   spelling of "local-plan" and is still accepted. */
int
cli_enum_parse(const struct cli_enum *e, const char *s, int *out)
{
	char buf[64];
	size_t i;

	for (i = 0; s[i] && i + 1 < sizeof(buf); i++)
		buf[i] = s[i] == '_' ? '-' : s[i];
	buf[i] = '\0';
	for (; e->name; e++)
		if (strcmp(e->name, buf) == 0) {
			*out = e->value;
			return 0;
		}
	return -1;
}

const char *
cli_enum_name(const struct cli_enum *e, int v)
{
	for (; e->name; e++)
		if (e->value == v)
			return e->name;
	return "?";
}

static void
enum_words(char *buf, size_t len, const struct cli_enum *e)
{
	size_t n = 0;

	buf[0] = '\0';
	for (; e->name && n < len; e++)
		n += snprintf(buf + n, len - n, "%s%s", n ? "|" : "", e->name);
}

/* Errors of one command: "ucr: target add: field: reason". */
struct ctx {
	const char *cmd;
	const char *verb;
	int failed;
};

static void fail(struct ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fail(struct ctx *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (c->failed++)
		return; /* the first error is the one that counts */
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), _(fmt), ap);
	va_end(ap);
	cli_error("%s%s%s: %s", c->cmd, c->verb ? " " : "",
	    c->verb ? c->verb : "", buf);
}

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL) {
		cli_error("out of memory");
		exit(1);
	}
	return p;
}

static void
set_str(char **field, const char *v)
{
	if (*field && *field != protobuf_c_empty_string)
		free(*field);
	*field = xstrdup(v);
}

static void
set_enum(struct ctx *c, int *field, const struct cli_enum *e, const char *flag,
    const char *v)
{
	char words[256];

	if (v == NULL)
		return;
	if (cli_enum_parse(e, v, field) != 0) {
		enum_words(words, sizeof(words), e);
		fail(c, "%s: '%s' is not one of %s", flag, v, words);
	}
}

static void
set_list(struct ctx *c, char ***field, size_t *n, const char *flag,
    const char *v, int (*valid)(const char *), const char *what)
{
	char *copy, *tok, *save = NULL;
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < *n; i++)
		free((*field)[i]);
	free(*field);
	*field = NULL;
	*n = 0;
	copy = xstrdup(v);
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (valid && !valid(tok)) {
			fail(c, "%s: %s '%s'", flag, _(what), tok);
			break;
		}
		*field = realloc(*field, (*n + 1) * sizeof(char *));
		if (*field == NULL) {
			cli_error("out of memory");
			exit(1);
		}
		(*field)[(*n)++] = xstrdup(tok);
	}
	free(copy);
	if (*n == 0 && !c->failed)
		fail(c, "%s: empty list", flag);
}

static int
valid_commitment(const char *s)
{
	return ucr_commitment_find(s) != NULL;
}

/* A municipality code or name (Bjurholm); to_codes() stores the code. */
static int
valid_code(const char *s)
{
	return ucr_municipality_lookup(s) != NULL;
}

static void
to_codes(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct ucr_municipality *m =
		    ucr_municipality_lookup(v[i]);

		if (m != NULL && strcmp(v[i], m->code) != 0)
			set_str(&v[i], m->code);
	}
}

static Ucr__Decimal *
decimal(struct ctx *c, const char *flag, const char *v)
{
	Ucr__Decimal *d = malloc(sizeof(*d));

	if (d == NULL) {
		cli_error("out of memory");
		exit(1);
	}
	if (ucr_decimal_parse(d, v) != 0) {
		fail(c, "%s: '%s' is not a number", flag, v);
		free(d);
		return NULL;
	}
	return d;
}

static long
parse_long(struct ctx *c, const char *flag, const char *v, long min, long max)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno) {
		fail(c, "%s: '%s' is not a whole number", flag, v);
		return min;
	}
	if (n < min || n > max) {
		if (min == 0 && n < 0)
			fail(c, "%s: %ld is negative", flag, n);
		else
			fail(c, "%s: %ld outside %ld-%ld", flag, n, min, max);
		return min;
	}
	return n;
}

static uint32_t
parse_year(struct ctx *c, const char *flag, const char *v)
{
	char *end;
	long y;

	errno = 0;
	y = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno) {
		fail(c, "%s: '%s' is not a year", flag, v);
		return 0;
	}
	if (!ucr_year_valid(y)) {
		fail(c, "%s: %ld outside 1900-2100", flag, y);
		return 0;
	}
	return (uint32_t)y;
}

/* "VALUE@YEAR" */
static void
value_at(struct ctx *c, const char *flag, const char *v, Ucr__Decimal **val,
    uint32_t *year)
{
	char buf[128], *at;

	if (v == NULL)
		return;
	snprintf(buf, sizeof(buf), "%s", v);
	if ((at = strchr(buf, '@')) == NULL) {
		fail(c, "%s: '%s' is not VALUE@YEAR", flag, v);
		return;
	}
	*at = '\0';
	free(*val);
	*val = decimal(c, flag, buf);
	*year = parse_year(c, flag, at + 1);
}

static void
set_date(struct ctx *c, char **field, const char *flag, const char *v)
{
	if (v == NULL)
		return;
	if (*v != '\0' && !ucr_date_valid(v)) {
		fail(c, "%s: '%s' is not a date (YYYY-MM-DD, 1900-2100)", flag,
		    v);
		return;
	}
	set_str(field, v);
}

/* The current calendar year (UTC): measurements cannot be later. */
static uint32_t
this_year(void)
{
	time_t t = time(NULL);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		return 2100;
	return (uint32_t)tm.tm_year + 1900;
}

static void
year_not_future(struct ctx *c, const char *flag, uint32_t year)
{
	if (year > this_year())
		fail(c, "%s: %u is later than the current year %u", flag, year,
		    this_year());
}

/* ---------------------------------------------------------------- records */

Ucr__Record *
cli_record_new(const char *owner, Ucr__Record__BodyCase kind)
{
	Ucr__Record *r = calloc(1, sizeof(*r));
	void *body = NULL;

	if (r == NULL)
		goto oom;
	ucr__record__init(r);
	r->owner = xstrdup(owner);
	r->body_case = kind;
#define BODY(field, type, init)      \
	body = malloc(sizeof(type)); \
	if (body == NULL)            \
		goto oom;            \
	init((type *)body);          \
	r->field = body;             \
	break;
	switch (kind) {
	case UCR__RECORD__BODY_BASELINE:
		BODY(baseline, Ucr__Baseline, ucr__baseline__init)
	case UCR__RECORD__BODY_TARGET:
		BODY(target, Ucr__Target, ucr__target__init)
	case UCR__RECORD__BODY_MEASUREMENT:
		BODY(measurement, Ucr__Measurement, ucr__measurement__init)
	case UCR__RECORD__BODY_PROJECT:
		BODY(project, Ucr__Project, ucr__project__init)
	case UCR__RECORD__BODY_GROUP:
		BODY(group, Ucr__Group, ucr__group__init)
	case UCR__RECORD__BODY_MEETING:
		BODY(meeting, Ucr__Meeting, ucr__meeting__init)
	case UCR__RECORD__BODY_NETWORK:
		BODY(network, Ucr__Network, ucr__network__init)
	case UCR__RECORD__BODY_DECISION:
		BODY(decision, Ucr__Decision, ucr__decision__init)
	case UCR__RECORD__BODY_VISION:
		BODY(vision, Ucr__Vision, ucr__vision__init)
	case UCR__RECORD__BODY_PRIORITY:
		BODY(priority, Ucr__Priority, ucr__priority__init)
	case UCR__RECORD__BODY_GOAL:
		BODY(goal, Ucr__Goal, ucr__goal__init)
	case UCR__RECORD__BODY_ROSTER:
		BODY(roster, Ucr__RosterEntry, ucr__roster_entry__init)
	case UCR__RECORD__BODY_EPOCH_ACCEPT:
		BODY(epoch_accept, Ucr__EpochAccept, ucr__epoch_accept__init)
	case UCR__RECORD__BODY_INDICATOR:
		BODY(indicator, Ucr__Indicator, ucr__indicator__init)
	case UCR__RECORD__BODY_PROGRAMME:
		BODY(programme, Ucr__Programme, ucr__programme__init)
	case UCR__RECORD__BODY_NETWORK_ENTRY:
		BODY(network_entry, Ucr__NetworkEntry, ucr__network_entry__init)
	case UCR__RECORD__BODY_MEMBER:
		BODY(member, Ucr__Member, ucr__member__init)
	default:
		break;
	}
#undef BODY
	return r;
oom:
	cli_error("out of memory");
	exit(1);
}

/* Read the current version of key from the store, or NULL. */
static int
load_cb(const struct ucr_rec *rec, void *arg)
{
	Ucr__Record **out = arg;

	return ucr_record_decode(out, rec->bytes, rec->len);
}

Ucr__Record *
cli_record_load(const struct ucr_config *cfg, const char *key)
{
	struct ucr_store *s;
	Ucr__Record *r = NULL;

	if (ucr_store_open(&s, cfg->data, UCR_STORE_RDONLY, cfg->map_size) != 0)
		return NULL;
	if (ucr_store_get(s, key, load_cb, &r) != 0)
		r = NULL;
	ucr_store_free(s);
	if (r && r->tombstone) {
		ucr__record__free_unpacked(r, NULL);
		r = NULL;
	}
	return r;
}

/* KIND/ID -> OWNER/KIND/ID (also measure/KPI/YEAR/GENDER, whose id has
   slashes); a full key stays: its first part is an owner, never a kind. */
void
cli_full_key(char *buf, size_t len, const char *owner, const char *key)
{
	const char *p = strchr(key, '/');

	if (p != NULL) {
		char kind[32];
		size_t n = (size_t)(p - key);

		if (n < sizeof(kind)) {
			memcpy(kind, key, n);
			kind[n] = '\0';
			if (ucr_kind_parse(kind) !=
			    UCR__RECORD__BODY__NOT_SET) {
				snprintf(buf, len, "%s/%s", owner, key);
				return;
			}
		}
	}
	snprintf(buf, len, "%s", key);
}

/*
 * The declared unit of indicator id (own declaration first, then the
 * region's) into unit; 1 if declared, else 0 and unit "".
 */
static int
indicator_unit(const struct ucr_config *cfg, const char *id, char *unit,
    size_t len)
{
	const char *owners[2] = {cfg->owner, UCR_REGION};
	char key[256];
	int i, found = 0;

	unit[0] = '\0';
	for (i = 0; i < 2 && !found; i++) {
		Ucr__Record *r;

		snprintf(key, sizeof(key), "%s/indicator/%s", owners[i], id);
		if ((r = cli_record_load(cfg, key)) == NULL)
			continue;
		if (r->body_case == UCR__RECORD__BODY_INDICATOR) {
			snprintf(unit, len, "%s", r->indicator->unit);
			found = 1;
		}
		ucr__record__free_unpacked(r, NULL);
	}
	return found;
}

/* A Kolada id, or an id declared with "ucr indicator add". */
static void
check_indicator(struct ctx *c, const struct ucr_config *cfg, const char *flag,
    const char *id, char *unit, size_t len)
{
	if (!indicator_unit(cfg, id, unit, len) && !ucr_kolada_id(id))
		fail(c,
		    "%s: '%s' is not a Kolada id (N or U and five digits); "
		    "declare it first: ucr indicator add %s --title TEXT "
		    "--unit UNIT",
		    flag, id, id);
}

/* A value of an indicator declared in percent lies in 0..100. */
static void
check_percent(struct ctx *c, const char *flag, const char *unit,
    const Ucr__Decimal *d)
{
	char buf[48];
	double v;

	if (d == NULL || strcmp(unit, "%") != 0)
		return;
	v = ucr_decimal_double(d);
	if (v < 0 || v > 100)
		fail(c, "%s: %s %% is outside 0-100", flag,
		    ucr_decimal_format(d, buf, sizeof(buf)));
}

int
cli_put(const struct ucr_config *cfg, Ucr__Record *r, int mode, char **adopts,
    size_t nadopt, const char *cmd, const char *verb, const char *done)
{
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__Put put = UCR__PUT__INIT;
	Ucr__Reply *rep;
	char why[512];
	int rc;

	if (ucr_record_validate(r, why, sizeof(why)) != 0) {
		cli_error("%s%s%s: %s", cmd, verb ? " " : "", verb ? verb : "",
		    why);
		return 1;
	}
	put.record = r;
	put.mode = mode;
	put.adopt_keys = adopts;
	put.n_adopt_keys = nadopt;
	req.body_case = UCR__REQUEST__BODY_PUT;
	req.put = &put;
	if (cli_request(cfg, &req, &rep, 0) != 0)
		return 1;
	rc = rep->code;
	if (rc != 0)
		cli_error("%s%s%s: %s", cmd, verb ? " " : "", verb ? verb : "",
		    *rep->message ? cli_daemon_text(rep->message)
				  : ucr_strerror_l(rc));
	else
		printf(_("%s %s (seq %llu)\n"), r->key, _(done),
		    (unsigned long long)rep->last_seq);
	ucr__reply__free_unpacked(rep, NULL);
	return rc == 0 ? 0 : 1;
}

/*
 * The shape shared by every write command: parse flags, load the config,
 * build or load the record, fill it from the flags, send it.
 */
struct writer {
	const char *verbs; /* "add set" */
	const char *spec;  /* flags */
	Ucr__Record__BodyCase kind;
	int npos; /* positional args after the verb */
	void (*fill)(struct ctx *, Ucr__Record *, const struct cli_flags *,
	    const struct ucr_config *, int create);
	const char *required; /* flags required on create */
};

static int
run_writer(const struct writer *w, int argc, char **argv)
{
	struct cli_flags f;
	struct ucr_config *cfg = NULL;
	Ucr__Record *r = NULL;
	struct ctx c = {argv[0], NULL, 0};
	char key[256], *req, *tok, *save = NULL, *adopts[64];
	size_t nadopt = 0, i;
	int create, rc = 1, mode;
	const char *verb, *id;

	CLI_BEGIN(&f, w->spec, argc, argv);
	if (f.npos < 1 + w->npos || f.npos > 1 + w->npos ||
	    strstr(w->verbs, f.pos[0]) == NULL)
		return cli_misuse(argv[0]);
	verb = f.pos[0];
	c.verb = verb;
	create = strcmp(verb, "set") != 0;
	/* baseline set and network join create or replace */
	mode = strcmp(verb, "add") == 0 ? UCR_PUT_CREATE
	    : strcmp(verb, "set") == 0 && w->kind != UCR__RECORD__BODY_BASELINE
	    ? UCR_PUT_UPDATE
	    : UCR_PUT_UPSERT;
	if (w->kind == UCR__RECORD__BODY_BASELINE)
		create = 1;
	id = f.pos[1];
	if (cli_load_config(&cfg) != 0)
		return 1;
	/*
	 * baseline set and network join replace a record of the same id if
	 * there is one: start from it, so that only the fields given change
	 * (and the required ones are there already).
	 */
	if (mode == UCR_PUT_UPSERT) {
		Ucr__Record probe = UCR__RECORD__INIT;

		probe.body_case = w->kind;
		if (ucr_record_make_key(key, sizeof(key), cfg->owner, &probe,
			id) == 0 &&
		    (r = cli_record_load(cfg, key)) != NULL &&
		    r->body_case != w->kind) {
			ucr__record__free_unpacked(r, NULL);
			r = NULL;
		}
		if (r != NULL)
			create = 0;
	}
	if (create && w->required) {
		req = xstrdup(w->required);
		for (tok = strtok_r(req, " ", &save); tok;
		     tok = strtok_r(NULL, " ", &save))
			if (!cli_flag_set(&f, tok)) {
				fail(&c, "%s: required", tok);
				break;
			}
		free(req);
		if (c.failed)
			goto leave;
	}
	if (r == NULL && !create) {
		Ucr__Record probe = UCR__RECORD__INIT;

		probe.body_case = w->kind;
		if (ucr_record_make_key(key, sizeof(key), cfg->owner, &probe,
			id) != 0) {
			fail(&c, "id: '%s' must be 1-64 of A-Z a-z 0-9 . _ -",
			    id);
			goto leave;
		}
		if ((r = cli_record_load(cfg, key)) == NULL) {
			fail(&c, "id: '%s': no such record (%s)", id, key);
			goto leave;
		}
	} else if (r == NULL) {
		Ucr__Record probe = UCR__RECORD__INIT;
		Ucr__Record *old;

		/* add refuses a used id before anything else, naming the
		 * field; the daemon checks again (UCR_PUT_CREATE) for a
		 * writer racing this one. */
		probe.body_case = w->kind;
		if (ucr_record_make_key(key, sizeof(key), cfg->owner, &probe,
			id) != 0) {
			fail(&c, "id: '%s' must be 1-64 of A-Z a-z 0-9 . _ -",
			    id);
			goto leave;
		}
		if (mode == UCR_PUT_CREATE &&
		    (old = cli_record_load(cfg, key)) != NULL) {
			ucr__record__free_unpacked(old, NULL);
			fail(&c, "id: '%s' is already used (%s)", id, key);
			goto leave;
		}
		r = cli_record_new(cfg->owner, w->kind);
	}
	w->fill(&c, r, &f, cfg, create);
	if (c.failed)
		goto leave;
	if (r->body_case == UCR__RECORD__BODY_MEASUREMENT)
		id = NULL;
	if (ucr_record_make_key(key, sizeof(key), cfg->owner, r, id) != 0) {
		fail(&c, "id: '%s' must be 1-64 of A-Z a-z 0-9 . _ -",
		    id ? id : "");
		goto leave;
	}
	set_str(&r->key, key);
	if (w->kind == UCR__RECORD__BODY_DECISION && cli_flag(&f, "adopts")) {
		char *list = xstrdup(cli_flag(&f, "adopts"));

		for (tok = strtok_r(list, ",", &save); tok && nadopt < 64;
		     tok = strtok_r(NULL, ",", &save)) {
			char full[256];

			cli_full_key(full, sizeof(full), cfg->owner, tok);
			adopts[nadopt++] = xstrdup(full);
		}
		free(list);
		for (i = 0; i < nadopt; i++) {
			Ucr__Record *a = cli_record_load(cfg, adopts[i]);

			if (a == NULL) {
				fail(&c, "adopts: no such record %s",
				    adopts[i]);
				goto leave;
			}
			ucr__record__free_unpacked(a, NULL);
		}
	}
	rc = cli_put(cfg, r, mode, adopts, nadopt, argv[0], verb,
	    mode == UCR_PUT_CREATE          ? N_("added")
		: strcmp(verb, "join") == 0 ? N_("joined")
		: strcmp(verb, "set") == 0 && mode == UCR_PUT_UPSERT ? N_("set")
		: create                                             ? N_("set")
			 : N_("changed"));
leave:
	for (i = 0; i < nadopt; i++)
		free(adopts[i]);
	if (r)
		ucr__record__free_unpacked(r, NULL);
	ucr_config_free(cfg);
	return rc;
}

/* ---------------------------------------------------------------- fills */

static void
fill_baseline(struct ctx *c, Ucr__Record *r, const struct cli_flags *f,
    const struct ucr_config *cfg, int create)
{
	Ucr__Baseline *b = r->baseline;
	const char *v;

	(void)cfg;
	(void)create;
	if (ucr_commitment_find(f->pos[1]) == NULL) {
		fail(c, "commitment: unknown commitment '%s' (1.1 .. 10.5)",
		    f->pos[1]);
		return;
	}
	set_str(&b->commitment, f->pos[1]);
	if ((v = cli_flag(f, "text")) != NULL)
		set_str(&b->text, v);
	set_enum(c, (int *)&b->trend, trends, "trend", cli_flag(f, "trend"));
	if (cli_flag_set(f, "gap"))
		b->data_gap = 1;
	if (cli_flag_set(f, "no-gap"))
		b->data_gap = 0;
}

static void
fill_target(struct ctx *c, Ucr__Record *r, const struct cli_flags *f,
    const struct ucr_config *cfg, int create)
{
	Ucr__Target *t = r->target;
	const char *v, *dir;
	char unit[65] = "";

	if ((v = cli_flag(f, "title")) != NULL)
		set_str(&t->title, v);
	set_list(c, &t->commitments, &t->n_commitments, "commitment",
	    cli_flag(f, "commitment"), valid_commitment,
	    N_("unknown commitment"));
	set_list(c, &t->priorities, &t->n_priorities, "priority",
	    cli_flag(f, "priority"), ucr_priority_valid,
	    N_("unknown priority (P1..P5)"));
	if ((v = cli_flag(f, "indicator")) != NULL) {
		if (*v)
			check_indicator(c, cfg, "indicator", v, unit,
			    sizeof(unit));
		set_str(&t->indicator, v);
	} else if (*t->indicator)
		indicator_unit(cfg, t->indicator, unit, sizeof(unit));
	value_at(c, "baseline", cli_flag(f, "baseline"), &t->baseline_value,
	    &t->baseline_year);
	if (cli_flag(f, "baseline") != NULL && t->baseline_value != NULL)
		year_not_future(c, "baseline", t->baseline_year);
	value_at(c, "target", cli_flag(f, "target"), &t->target_value,
	    &t->target_year);
	check_percent(c, "baseline", unit, t->baseline_value);
	check_percent(c, "target", unit, t->target_value);
	dir = cli_flag(f, "direction");
	set_enum(c, (int *)&t->direction, directions, "direction", dir);
	if (c->failed)
		return;
	/*
	 * The direction is never a silent default: given, or read from a
	 * target below (decrease) or above (increase) the baseline; a given
	 * one that contradicts the values is refused.
	 */
	if (t->baseline_value != NULL && t->target_value != NULL) {
		double b = ucr_decimal_double(t->baseline_value),
		       tv = ucr_decimal_double(t->target_value);
		int dec = t->direction == UCR__DIRECTION__DIRECTION_DECREASE;

		if (dir == NULL && create) {
			if (tv == b)
				fail(c,
				    "direction: required (increase|decrease): "
				    "the target equals the baseline");
			t->direction = tv < b
			    ? UCR__DIRECTION__DIRECTION_DECREASE
			    : UCR__DIRECTION__DIRECTION_INCREASE;
		} else if ((dec && tv > b) || (!dec && tv < b))
			fail(c, "%s",
			    dec ? _("direction: decrease, but the target is "
				    "above the baseline")
				: _("direction: increase, but the target is "
				    "below the baseline"));
	} else if (dir == NULL && create)
		fail(c,
		    "direction: required (increase|decrease) unless "
		    "--baseline and --target show it");
	if ((v = cli_flag(f, "owner")) != NULL)
		set_str(&t->owner_unit, v);
	set_enum(c, (int *)&t->status, tstatuses, "status",
	    cli_flag(f, "status"));
}

static void
fill_measure(struct ctx *c, Ucr__Record *r, const struct cli_flags *f,
    const struct ucr_config *cfg, int create)
{
	Ucr__Measurement *m = r->measurement;
	const char *v;

	(void)create;
	char unit[65] = "";

	set_str(&m->indicator, f->pos[1]);
	check_indicator(c, cfg, "indicator", f->pos[1], unit, sizeof(unit));
	m->year = parse_year(c, "year", f->pos[2]);
	if (m->year != 0)
		year_not_future(c, "year", m->year);
	set_enum(c, (int *)&m->gender, genders, "gender",
	    cli_flag(f, "gender"));
	set_enum(c, (int *)&m->status, mstatuses, "status",
	    cli_flag(f, "status"));
	v = cli_flag(f, "area");
	if (v != NULL && !valid_code(v)) {
		fail(c, "area: unknown municipality code or name '%s'", v);
		return;
	}
	set_str(&m->area, v ? ucr_municipality_lookup(v)->code : cfg->owner);
	if (m->status == UCR__MEASURE_STATUS__MEASURE_MISSING) {
		if (strcmp(f->pos[3], "-") != 0)
			fail(c, "value: give - with --status missing");
	} else {
		m->value = decimal(c, "value", f->pos[3]);
		check_percent(c, "value", unit, m->value);
	}
}

static void
fill_project(struct ctx *c, Ucr__Record *r, const struct cli_flags *f,
    const struct ucr_config *cfg, int create)
{
	Ucr__Project *p = r->project;
	const char *v;

	if ((v = cli_flag(f, "title")) != NULL)
		set_str(&p->title, v);
	if ((v = cli_flag(f, "lead")) != NULL) {
		if (!valid_code(v))
			fail(c, "lead: unknown municipality code '%s'", v);
		else
			set_str(&p->lead, ucr_municipality_lookup(v)->code);
	} else if (create)
		set_str(&p->lead,
		    strcmp(cfg->owner, UCR_REGION) == 0 ? "2480" : cfg->owner);
	set_list(c, &p->priorities, &p->n_priorities, "priority",
	    cli_flag(f, "priority"), ucr_priority_valid,
	    N_("unknown priority (P1..P5)"));
	set_list(c, &p->partners, &p->n_partners, "partners",
	    cli_flag(f, "partners"), valid_code,
	    N_("unknown municipality code"));
	to_codes(p->partners, p->n_partners);
	set_date(c, &p->start, "start", cli_flag(f, "start"));
	set_date(c, &p->end, "end", cli_flag(f, "end"));
	if ((v = cli_flag(f, "budget")) != NULL)
		p->budget_sek = parse_long(c, "budget", v, 0, 1000000000000L);
	if ((v = cli_flag(f, "funder")) != NULL)
		set_str(&p->funder, v);
	set_enum(c, (int *)&p->status, pstatuses, "status",
	    cli_flag(f, "status"));
	if (create)
		p->counts_for_programme = !cli_flag_set(f, "no-programme");
	else if (cli_flag_set(f, "no-programme"))
		p->counts_for_programme = 0;
}

static void
fill_group(struct ctx *c, Ucr__Record *r, const struct cli_flags *f,
    const struct ucr_config *cfg, int create)
{
	Ucr__Group *g = r->group;
	const char *v;

	(void)cfg;
	(void)create;
	if ((v = cli_flag(f, "name")) != NULL)
		set_str(&g->name, v);
	set_list(c, &g->priorities, &g->n_priorities, "priority",
	    cli_flag(f, "priority"), ucr_priority_valid,
	    N_("unknown priority (P1..P5)"));
	set_list(c, &g->members, &g->n_members, "members",
	    cli_flag(f, "members"), valid_code,
	    N_("unknown municipality code"));
	to_codes(g->members, g->n_members);
	if ((v = cli_flag(f, "theme")) != NULL)
		set_str(&g->theme, v);
	set_date(c, &g->active_from, "from", cli_flag(f, "from"));
	set_date(c, &g->active_to, "to", cli_flag(f, "to"));
}

static void
fill_meeting(struct ctx *c, Ucr__Record *r, const struct cli_flags *f,
    const struct ucr_config *cfg, int create)
{
	Ucr__Meeting *m = r->meeting;
	const char *v;

	(void)create;
	set_enum(c, (int *)&m->kind, mkinds, "kind", cli_flag(f, "kind"));
	set_date(c, &m->date, "date", cli_flag(f, "date"));
	if ((v = cli_flag(f, "women")) != NULL)
		m->women = parse_long(c, "women", v, 0, 100000);
	if ((v = cli_flag(f, "men")) != NULL)
		m->men = parse_long(c, "men", v, 0, 100000);
	if ((v = cli_flag(f, "unstated")) != NULL)
		m->unstated = parse_long(c, "unstated", v, 0, 100000);
	if ((v = cli_flag(f, "group")) != NULL && *v) {
		char key[256];
		Ucr__Record *g;

		snprintf(key, sizeof(key), "%s/group/%s", cfg->owner, v);
		if ((g = cli_record_load(cfg, key)) == NULL) {
			fail(c, "group: no such group %s (ucr group add %s)",
			    key, v);
			return;
		}
		ucr__record__free_unpacked(g, NULL);
	}
	if (v != NULL)
		set_str(&m->group, v);
	if ((v = cli_flag(f, "title")) != NULL)
		set_str(&m->title, v);
	if (cli_flag_set(f, "regional"))
		m->regional = 1;
	if (cli_flag_set(f, "local"))
		m->regional = 0;
}

static void
fill_network(struct ctx *c, Ucr__Record *r, const struct cli_flags *f,
    const struct ucr_config *cfg, int create)
{
	Ucr__Network *n = r->network;
	const char *v;

	(void)create;
	if ((v = cli_flag(f, "name")) != NULL)
		set_str(&n->name, v);
	set_enum(c, (int *)&n->scope, scopes, "scope", cli_flag(f, "scope"));
	set_date(c, &n->joined, "date", cli_flag(f, "date"));
	if (cli_flag_set(f, "new"))
		n->new_in_programme = 1;
	if (cli_flag_set(f, "no-new"))
		n->new_in_programme = 0;
	if ((v = cli_flag(f, "register")) != NULL) {
		char key[256];
		Ucr__Record *e = NULL;

		snprintf(key, sizeof(key), "%s/register/%s", UCR_REGION, v);
		if (*v && (e = cli_record_load(cfg, key)) == NULL) {
			fail(c,
			    "register: no network %s in the region's register",
			    v);
			return;
		}
		if (e != NULL)
			ucr__record__free_unpacked(e, NULL);
		set_str(&n->network_id, v);
	}
}

static void
fill_decision(struct ctx *c, Ucr__Record *r, const struct cli_flags *f,
    const struct ucr_config *cfg, int create)
{
	Ucr__Decision *d = r->decision;
	const char *v;

	(void)cfg;
	(void)create;
	set_enum(c, (int *)&d->body, bodies, "body", cli_flag(f, "body"));
	set_date(c, &d->date, "date", cli_flag(f, "date"));
	set_enum(c, (int *)&d->subject, subjects, "subject",
	    cli_flag(f, "subject"));
	if ((v = cli_flag(f, "ref")) != NULL)
		set_str(&d->ref, v);
	set_enum(c, (int *)&d->outcome, outcomes, "outcome",
	    cli_flag(f, "outcome"));
}

static void
fill_indicator(struct ctx *c, Ucr__Record *r, const struct cli_flags *f,
    const struct ucr_config *cfg, int create)
{
	Ucr__Indicator *in = r->indicator;
	const char *v;

	(void)c;
	(void)cfg;
	(void)create;
	set_str(&in->id, f->pos[1]);
	if ((v = cli_flag(f, "title")) != NULL)
		set_str(&in->title, v);
	if ((v = cli_flag(f, "unit")) != NULL)
		set_str(&in->unit, v);
}

/* ---------------------------------------------------------------- commands */

static const struct writer w_baseline = {"set", "text= trend= gap no-gap",
    UCR__RECORD__BODY_BASELINE, 1, fill_baseline, "text"};
static const struct writer w_target = {"add set",
    "title= commitment= priority= indicator= baseline= target= direction= "
    "owner= status=",
    UCR__RECORD__BODY_TARGET, 1, fill_target, "title commitment priority"};
static const struct writer w_project = {"add set",
    "title= priority= lead= partners= start= end= budget= funder= status= "
    "no-programme",
    UCR__RECORD__BODY_PROJECT, 1, fill_project, "title"};
static const struct writer w_group = {"add set",
    "name= priority= theme= members= from= to=", UCR__RECORD__BODY_GROUP, 1,
    fill_group, "name"};
static const struct writer w_meeting = {"add set",
    "kind= date= women= men= unstated= group= title= regional local",
    UCR__RECORD__BODY_MEETING, 1, fill_meeting, "kind date women men"};
static const struct writer w_network = {"join set",
    "name= scope= date= new no-new register=", UCR__RECORD__BODY_NETWORK, 1,
    fill_network, "name scope date"};
static const struct writer w_decision = {"add set",
    "body= date= subject= ref= adopts= outcome=", UCR__RECORD__BODY_DECISION, 1,
    fill_decision, "body date subject ref"};

static const struct writer w_indicator = {"add set",
    "title= unit=", UCR__RECORD__BODY_INDICATOR, 1, fill_indicator,
    "title unit"};

int
cmd_indicator(int argc, char **argv)
{
	return run_writer(&w_indicator, argc, argv);
}

int
cmd_baseline(int argc, char **argv)
{
	return run_writer(&w_baseline, argc, argv);
}

int
cmd_target(int argc, char **argv)
{
	return run_writer(&w_target, argc, argv);
}

int
cmd_project(int argc, char **argv)
{
	return run_writer(&w_project, argc, argv);
}

int
cmd_group(int argc, char **argv)
{
	return run_writer(&w_group, argc, argv);
}

int
cmd_meeting(int argc, char **argv)
{
	return run_writer(&w_meeting, argc, argv);
}

int
cmd_network(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "register") == 0)
		return cli_network_register(argc, argv);
	return run_writer(&w_network, argc, argv);
}

int
cmd_decision(int argc, char **argv)
{
	return run_writer(&w_decision, argc, argv);
}

int
cmd_measure(int argc, char **argv)
{
	struct cli_flags f;
	struct ucr_config *cfg = NULL;
	Ucr__Record *r;
	struct ctx c = {"measure", NULL, 0};
	char key[256];
	int rc = 1;

	CLI_BEGIN(&f, "gender= status= area=", argc, argv);
	if (f.npos != 3)
		return cli_misuse(argv[0]);
	/* fill_measure reads pos[1..3]: shift so KPI is pos[1]. */
	memmove(&f.pos[1], &f.pos[0], 3 * sizeof(f.pos[0]));
	f.npos = 4;
	if (cli_load_config(&cfg) != 0)
		return 1;
	r = cli_record_new(cfg->owner, UCR__RECORD__BODY_MEASUREMENT);
	fill_measure(&c, r, &f, cfg, 1);
	if (!c.failed) {
		if (ucr_record_make_key(key, sizeof(key), cfg->owner, r,
			NULL) != 0)
			fail(&c, "indicator: '%s' is not a KPI id", f.pos[1]);
		else {
			set_str(&r->key, key);
			rc = cli_put(cfg, r, UCR_PUT_UPSERT, NULL, 0, "measure",
			    NULL, "recorded");
		}
	}
	ucr__record__free_unpacked(r, NULL);
	ucr_config_free(cfg);
	return rc;
}

int
cmd_delete(int argc, char **argv)
{
	struct cli_flags f;
	struct ucr_config *cfg = NULL;
	Ucr__Record *r;
	char key[256];
	int rc;

	CLI_BEGIN(&f, "", argc, argv);
	if (f.npos != 1)
		return cli_misuse(argv[0]);
	if (cli_load_config(&cfg) != 0)
		return 1;
	cli_full_key(key, sizeof(key), cfg->owner, f.pos[0]);
	if ((r = cli_record_load(cfg, key)) == NULL) {
		cli_error("delete: key: no such record %s", key);
		ucr_config_free(cfg);
		return 1;
	}
	ucr__record__free_unpacked(r, NULL);
	r = cli_record_new(cfg->owner, UCR__RECORD__BODY__NOT_SET);
	set_str(&r->key, key);
	r->tombstone = 1;
	rc =
	    cli_put(cfg, r, UCR_PUT_UPDATE, NULL, 0, "delete", NULL, "deleted");
	ucr__record__free_unpacked(r, NULL);
	ucr_config_free(cfg);
	return rc;
}
