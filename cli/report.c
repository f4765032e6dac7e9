/*
 * report.c: the executives' commands: status, plan, cycle, explain and the
 * Regional Council's HTML report. All read the local store read-only and
 * compute the view with common/view.c; this file only presents it.
 *
 * Text output fits 100 columns (names are UTF-8: widths count code
 * points), with colour only when stdout is a terminal (cli_color). The
 * HTML report is one self-contained file: inline CSS and SVG drawn here,
 * no scripts, no fetches, printable on A4.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "chain.h"
#include "cli.h"
#include "clijson.h"
#include "officer.h"
#include "error.h"
#include "i18n.h"
#include "record.h"
#include "records.h"
#include "text.h"
#include "view.h"

#define WIDTH 100

/* ------------------------------------------------------------ helpers */

/* Terminal colours, empty strings when not on a terminal. */
struct colors {
	const char *green, *yellow, *orange, *red, *dim, *bold, *off;
};

static void
colors_init(struct colors *c, FILE *f)
{
	static const struct colors on = {"\033[32m", "\033[33m", "\033[35m",
	    "\033[31m", "\033[2m", "\033[1m", "\033[0m"};
	static const struct colors off = {"", "", "", "", "", "", ""};

	*c = cli_color(f) ? on : off;
}

static const char *
status_color(const struct colors *c, enum ucr_progress s)
{
	switch (s) {
	case UCR_PROGRESS_ACHIEVED:
	case UCR_PROGRESS_ONTRACK:
		return c->green;
	case UCR_PROGRESS_ACCELERATE:
		return c->yellow;
	case UCR_PROGRESS_LIMITED:
		return c->orange;
	case UCR_PROGRESS_DETERIORATION:
		return c->red;
	default:
		return c->dim;
	}
}

/* The last cell of a line: cut like put_cell, never padded. */
static void
put_last(FILE *f, const char *s, size_t width)
{
	char safe[1024];

	ucr_text_escape(safe, sizeof(safe), s, strlen(s));
	if (cli_utf8_width(safe) <= width)
		fputs(safe, f);
	else
		cli_cell(f, safe, width, 0);
}

/* A value for people: up to 2 decimals, trailing zeros dropped. */
static char *
fmt_num(char *buf, size_t len, double x)
{
	char *p;

	if (!isfinite(x)) {
		snprintf(buf, len, "%s",
		    isnan(x)    ? "-"
			: x > 0 ? "inf"
				: "-inf");
		return buf;
	}
	if (fabs(x) >= 1e6)
		snprintf(buf, len, "%.0f", x);
	else
		snprintf(buf, len, "%.2f", x);
	if (strchr(buf, '.') != NULL) {
		for (p = buf + strlen(buf) - 1; *p == '0'; p--)
			*p = '\0';
		if (*p == '.')
			*p = '\0';
	}
	if (strcmp(buf, "-0") == 0)
		snprintf(buf, len, "0");
	return buf;
}

/* "6.1 (2015)" or "-" */
static char *
fmt_vy(char *buf, size_t len, int has, double v, unsigned year)
{
	char n[32];

	if (!has)
		snprintf(buf, len, "-");
	else if (year)
		snprintf(buf, len, "%s (%u)", fmt_num(n, sizeof(n), v), year);
	else
		snprintf(buf, len, "%s", fmt_num(n, sizeof(n), v));
	return buf;
}

static void
fmt_age(char *buf, size_t len, int64_t s)
{
	if (s < 0)
		snprintf(buf, len, "%s", _("never"));
	else if (s < 120)
		snprintf(buf, len, _("%llds ago"), (long long)s);
	else if (s < 2 * 3600)
		snprintf(buf, len, _("%lldm ago"), (long long)s / 60);
	else if (s < 2 * 86400)
		snprintf(buf, len, _("%lldh ago"), (long long)s / 3600);
	else
		snprintf(buf, len, _("%lldd ago"), (long long)s / 86400);
}

static const char *
mun_name(const char *code)
{
	const struct ucr_municipality *m = ucr_municipality_lookup(code);

	return m ? m->name : code;
}

/*
 * The status words for people, in the user's language. The English words
 * are ucr_view_status_label()'s; they are listed here for xgettext, and
 * tests/integration/test_i18n.c checks that each of them is translated.
 */
static const char *const status_words[] = {
    /* TRANSLATORS: target status (Statistics Canada progress method) */
    N_("no data"), N_("deterioration"), N_("limited progress"),
    N_("acceleration needed"), N_("on track"), N_("achieved")};

static const char *
status_label(enum ucr_progress s)
{
	(void)status_words;
	return _(ucr_view_status_label(s));
}

/*
 * The programme's own titles, the defaults of common/view.c and
 * common/record.c, in the user's language; a title the region has set
 * otherwise is shown as it is.
 */
static const char *const title_words[] = {
    /* TRANSLATORS: the programme goals (the project description's words) */
    N_("Thematic working groups engaged"), N_("Regional workshops held"),
    N_("Gender balance: neither women nor men above this share (%)"),
    N_("Regional action plan adopted on the members' local plans"),
    N_("New national or international networks"),
    N_("Development projects, at least one per municipality"),
    /* TRANSLATORS: the five regional priorities, as the region names them */
    N_("Good health on equal terms"), N_("Co-creation and democracy"),
    N_("Accessible and gender-equal transport"),
    N_("Efficient and renewable energy use"),
    N_("Viable and sustainable local economy"),
    /* TRANSLATORS: the plan's heading for targets under no priority */
    N_("Not mapped to a priority")};

static const char *
title_tr(const char *s)
{
	(void)title_words;
	return s != NULL && *s != '\0' ? _(s) : s; /* _("") is the header */
}

static int
print_json(json_t *doc)
{
	char *s;

	if (doc == NULL) {
		cli_error("out of memory");
		return 1;
	}
	s = json_dumps(doc,
	    JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	json_decref(doc);
	if (s == NULL) {
		cli_error("out of memory");
		return 1;
	}
	puts(s);
	free(s);
	return 0;
}

/*
 * Ask the daemon for the fold's inputs and fold them here: the daemon owns
 * the store, so members of its group need no access to the store files.
 * 0 with *out; 1 when this daemon does not answer "view" (an older one:
 * the caller reads the store); -1 after printing the error.
 */
static int
view_from_daemon(struct ucr_view **out, const struct ucr_config *cfg,
    uint64_t now)
{
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__Query q = UCR__QUERY__INIT;
	Ucr__Reply *rep = NULL;
	int rc;

	q.what = "view";
	q.now = now;
	req.body_case = UCR__REQUEST__BODY_QUERY;
	req.query = &q;
	if (cli_request(cfg, &req, &rep, 0) != 0)
		return -1;
	if (rep->code == UCR_EINVAL && rep->view.len == 0) {
		ucr__reply__free_unpacked(rep, NULL);
		return 1;
	}
	if (rep->code != 0) {
		cli_error("%s", cli_daemon_text(rep->message));
		ucr__reply__free_unpacked(rep, NULL);
		return -1;
	}
	rc = ucr_view_fold_packed(out, rep->view.data, rep->view.len, now,
	    cfg->stale_after);
	ucr__reply__free_unpacked(rep, NULL);
	if (rc != 0) {
		cli_error(
		    "cannot compute the view from the daemon's answer: %s",
		    ucr_strerror_l(rc));
		return -1;
	}
	return 0;
}

/*
 * Load the configuration and build the view as of now: from the daemon
 * when it runs (the control socket), else from the store opened read-only.
 * Prints the error; 0 or 1.
 */
static int
load_view(struct ucr_view **out)
{
	struct ucr_config *cfg = NULL;
	struct ucr_store *s = NULL;
	uint64_t now = ucr_hlc_next(0);
	int rc;

	*out = NULL;
	if (cli_load_config(&cfg) != 0)
		return 1;
	if (cfg->is_reader) { /* over the network (reader.c) */
		rc = cli_reader_view(out, cfg, now);
		ucr_config_free(cfg);
		return rc != 0;
	}
	if (cli_daemon_up(cfg) && (rc = view_from_daemon(out, cfg, now)) <= 0) {
		ucr_config_free(cfg);
		return rc != 0;
	}
	if (cli_open_store(&s, cfg) != 0) {
		ucr_config_free(cfg);
		return 1;
	}
	rc = ucr_view_build(out, s, now, cfg->stale_after);
	if (rc != 0)
		cli_error("cannot compute the view of %s: %s", cfg->data,
		    ucr_strerror_l(rc));
	ucr_store_free(s);
	ucr_config_free(cfg);
	return rc != 0;
}

/* The same for export (cli.h). */
int
cli_load_view(struct ucr_view **out)
{
	return load_view(out);
}

/* ------------------------------------------------------------ text */

static void
rule(FILE *f, const struct colors *c, const char *title)
{
	fprintf(f, "\n%s%s%s\n", c->bold, title, c->off);
}

static void
text_goals(FILE *f, const struct ucr_view *v, const struct colors *c)
{
	char cur[32], thr[40], n[32];
	int i;

	rule(f, c, _("PROGRAMME GOALS"));
	fputs("  ", f);
	/* TRANSLATORS: column heads of ucr status; keep them short */
	cli_cell(f, _("id"), 4, 0);
	cli_cell(f, _("goal"), 58, 0);
	fputc(' ', f);
	cli_cell(f, _("current"), 9, 1);
	fputc(' ', f);
	cli_cell(f, _("threshold"), 10, 1);
	fprintf(f, "  %s\n", _("met"));
	for (i = 0; i < UCR_NGOALS; i++) {
		const struct ucr_view_goal *g = &v->goals[i];

		if (i == UCR_GOAL_A3)
			snprintf(cur, sizeof(cur), "%s %%",
			    fmt_num(n, sizeof(n), round(g->current * 10) / 10));
		else if (i == UCR_GOAL_R1)
			snprintf(cur, sizeof(cur), "%s",
			    g->current >= 1 ? _("adopted") : _("not yet"));
		else
			fmt_num(cur, sizeof(cur), g->current);
		snprintf(thr, sizeof(thr), "%s %s%s", g->at_most ? "<=" : ">=",
		    fmt_num(n, sizeof(n), g->threshold),
		    i == UCR_GOAL_A3 ? " %" : "");
		fprintf(f, "  %-4s", g->id);
		cli_cell(f, title_tr(g->title), 58, 0);
		fputc(' ', f);
		cli_cell(f, cur, 9, 1);
		fprintf(f, " %10s  %s%s%s\n", thr, g->met ? c->green : c->red,
		    g->met ? _("yes") : _("no"), c->off);
		if (!g->met && *g->missing_l) {
			fprintf(f, "        %s", c->dim);
			put_last(f, g->missing_l, WIDTH - 8);
			fprintf(f, "%s\n", c->off);
		}
	}
}

static void
text_municipalities(FILE *f, const struct ucr_view *v, const struct colors *c)
{
	static const int order[] = {UCR_PROGRESS_ACHIEVED, UCR_PROGRESS_ONTRACK,
	    UCR_PROGRESS_ACCELERATE, UCR_PROGRESS_LIMITED,
	    UCR_PROGRESS_DETERIORATION, UCR_PROGRESS_NODATA};
	char buf[64];
	int m, k;

	/* TRANSLATORS: the municipality table's heads: ach(ieved), on
	   (track), acc(eleration needed), lim(ited), det(erioration), n/d
	   (no data) are at most 4 columns wide */
	static const char *const heads[] = {N_("baseline"), N_("targets"),
	    N_("ach"), N_("on"), N_("acc"), N_("lim"), N_("det"), N_("n/d"),
	    N_("projects"), N_("plan")};
	static const size_t widths[] = {8, 7, 4, 4, 4, 4, 4, 4, 8, 5};

	rule(f, c, _("MUNICIPALITIES"));
	fputs("  ", f);
	cli_cell(f, _("code"), 5, 0);
	fputc(' ', f);
	cli_cell(f, _("name"), 12, 0);
	for (k = 0; k < 10; k++) {
		fputc(' ', f);
		cli_cell(f, _(heads[k]), widths[k], 1);
	}
	fprintf(f, "  %s\n", _("last sync"));
	for (m = 0; m < (int)v->nmun; m++) {
		const struct ucr_view_municipality *mu = &v->mun[m];

		fprintf(f, "  %-5s ", mu->code);
		cli_cell(f, mu->name, 12, 0);
		snprintf(buf, sizeof(buf), "%u/%d", mu->baseline_covered,
		    UCR_NCOMMITMENTS);
		fprintf(f, " %8s %7zu", buf, mu->targets);
		for (k = 0; k < 6; k++) {
			size_t cnt = mu->by_status[order[k]];

			fprintf(f, " %s%4zu%s",
			    cnt ? status_color(c, order[k]) : "", cnt,
			    cnt ? c->off : "");
		}
		fprintf(f, " %8zu %s", mu->projects,
		    mu->plan_adopted ? c->green : c->red);
		cli_cell(f, mu->plan_adopted ? _("yes") : _("no"), 5, 1);
		fprintf(f, "%s  ", c->off);
		fmt_age(buf, sizeof(buf), mu->sync_age_s);
		fprintf(f, "%s%s%s%s\n", mu->stale ? c->red : "", buf,
		    mu->stale ? _(" (stale)") : "", mu->stale ? c->off : "");
	}
	fprintf(f, "  %s", c->dim);
	fprintf(f,
	    _("region: baseline %.0f %% of %d commitments × %d "
	      "municipalities"),
	    v->region_baseline_pct, UCR_NCOMMITMENTS, (int)v->nmun);
	fprintf(f, "%s\n", c->off);
}

static const char *
exc_label(enum ucr_view_exc k)
{
	switch (k) {
	case UCR_EXC_OVERDUE:
		return _("overdue");
	case UCR_EXC_DETERIORATING:
		return _("deteriorating");
	case UCR_EXC_STALE:
		return _("not in contact");
	case UCR_EXC_CHANGED:
		return _("changed");
	case UCR_EXC_UNMATCHED:
		return _("network");
	case UCR_EXC_QUIET:
		return _("no new data");
	case UCR_EXC_MEMBERS:
		return _("members left out");
	default:
		return _("quarantined");
	}
}

static void
text_exceptions(FILE *f, const struct ucr_view *v, const struct colors *c)
{
	size_t i;

	rule(f, c, _("EXCEPTIONS"));
	if (v->nexceptions == 0)
		fprintf(f, "  %s\n", _("none"));
	for (i = 0; i < v->nexceptions; i++) {
		const struct ucr_view_exception *e = &v->exceptions[i];

		fprintf(f, "  %s",
		    e->kind == UCR_EXC_QUARANTINE ||
			    e->kind == UCR_EXC_DETERIORATING
			? c->red
			: c->yellow);
		cli_cell(f, exc_label(e->kind), 14, 0);
		fprintf(f, "%s ", c->off);
		put_last(f, e->text_l, WIDTH - 17);
		fputc('\n', f);
	}
}

int
cmd_status(int argc, char **argv)
{
	struct cli_flags fl;
	struct ucr_view *v;
	struct colors c;
	int rc;

	CLI_BEGIN(&fl, "json", argc, argv);
	if (fl.npos != 0)
		return cli_misuse(argv[0]);
	if (load_view(&v) != 0)
		return 1;
	if (cli_flag_set(&fl, "json")) {
		rc = print_json(ucr_view_json_status(v));
		ucr_view_free(v);
		return rc;
	}
	colors_init(&c, stdout);
	printf("%s", c.bold);
	printf(_("Umeå region: steering-group view, %s"), v->today);
	printf("%s", c.off);
	printf(_(" (%zu records)"), v->records);
	putchar('\n');
	text_goals(stdout, v, &c);
	text_municipalities(stdout, v, &c);
	text_exceptions(stdout, v, &c);
	ucr_view_free(v);
	return 0;
}

/* One target in 100 columns: 72 for the figures, 28 for the status. */
static void
text_target_row(FILE *f, const struct ucr_view_target *t,
    const struct colors *c, int with_mun)
{
	char a[40], b[40], d[40], st[64];

	fputs("  ", f);
	if (with_mun) {
		cli_cell(f, mun_name(t->owner), 12, 0);
		fputc(' ', f);
	}
	cli_cell(f, t->id, with_mun ? 6 : 7, 0);
	fputc(' ', f);
	cli_cell(f, *t->indicator ? t->indicator : "-", 7, 0);
	fputc(' ', f);
	cli_cell(f,
	    fmt_vy(a, sizeof(a), t->has_baseline, t->baseline,
		t->baseline_year),
	    13, 0);
	fputc(' ', f);
	cli_cell(f,
	    fmt_vy(b, sizeof(b), t->has_latest, t->latest, t->latest_year), 13,
	    0);
	fputc(' ', f);
	cli_cell(f,
	    fmt_vy(d, sizeof(d), t->has_target, t->target, t->target_year), 13,
	    0);
	snprintf(st, sizeof(st), "%s%s", status_label(t->progress.status),
	    t->overdue ? _(", overdue") : "");
	fprintf(f, " %s", status_color(c, t->progress.status));
	put_last(f, st, WIDTH - 72);
	fprintf(f, "%s\n", c->off);
	fprintf(f, "  %s%s", c->dim, with_mun ? "             " : "");
	put_last(f, t->title, WIDTH - (with_mun ? 15 : 2));
	fprintf(f, "%s\n", c->off);
}

static void
text_target_head(FILE *f, int with_mun)
{
	fputs("  ", f);
	if (with_mun) {
		cli_cell(f, _("municipality"), 12, 0);
		fputc(' ', f);
		cli_cell(f, _("target"), 6, 0);
	} else
		cli_cell(f, _("target"), 7, 0);
	/* TRANSLATORS: column heads of ucr plan and ucr cycle */
	fputc(' ', f);
	cli_cell(f, _("kpi"), 7, 0);
	fputc(' ', f);
	cli_cell(f, _("baseline"), 13, 0);
	fputc(' ', f);
	cli_cell(f, _("latest"), 13, 0);
	fputc(' ', f);
	cli_cell(f, _("target value"), 13, 0);
	fprintf(f, " %s\n", _("status"));
}

int
cmd_plan(int argc, char **argv)
{
	struct cli_flags fl;
	struct ucr_view *v;
	struct colors c;
	const char *pri, *mun;
	size_t i, shown;
	int rc, k, s;

	CLI_BEGIN(&fl, "priority= municipality= json", argc, argv);
	if (fl.npos != 0)
		return cli_misuse(argv[0]);
	pri = cli_flag(&fl, "priority");
	mun = cli_flag(&fl, "municipality");
	if (pri != NULL && !ucr_priority_valid(pri) && strcmp(pri, "-") != 0) {
		cli_error("plan: unknown priority '%s' (P1..P5)", pri);
		return EXIT_USAGE;
	}
	if (mun != NULL) {
		const struct ucr_municipality *m = ucr_municipality_lookup(mun);

		if (m == NULL) {
			cli_error(
			    "plan: unknown municipality '%s' (a code such "
			    "as 2403, or a name)",
			    mun);
			return EXIT_USAGE;
		}
		mun = m->code;
	}
	if (load_view(&v) != 0)
		return 1;
	if (mun != NULL && ucr_view_mun_index(v, mun) < 0) {
		cli_error("plan: %s (%s) is not a member of the region", mun,
		    mun_name(mun));
		ucr_view_free(v);
		return 1;
	}
	if (cli_flag_set(&fl, "json")) {
		rc = print_json(ucr_view_json_plan(v, pri, mun));
		ucr_view_free(v);
		return rc;
	}
	colors_init(&c, stdout);
	printf("%s", c.bold);
	printf(_("Joint action plan, %s"), v->today);
	printf("%s%s%s%s%s\n", mun ? ", " : "", mun ? mun_name(mun) : "",
	    pri ? ", " : "", pri ? pri : "", c.off);
	for (k = 0; k <= UCR_NPRIORITIES; k++) {
		const struct ucr_view_priority *pr = &v->pri[k];
		char head[256], n[32];
		size_t o;

		if (pri != NULL && strcmp(pri, pr->id) != 0)
			continue;
		if (k == UCR_NPRIORITIES && pr->ntargets == 0)
			continue;
		snprintf(head, sizeof(head), "%s %s", pr->id,
		    title_tr(pr->title));
		rule(stdout, &c, head);
		o = 0;
		head[0] = '\0';
		for (s = UCR_NPROGRESS - 1; s >= 0; s--)
			if (pr->by_status[s])
				o += snprintf(head + o, sizeof(head) - o,
				    "%s%zu %s", o ? ", " : "", pr->by_status[s],
				    status_label(s));
		fputs("  ", stdout);
		printf(ngettext("%zu target", "%zu targets", pr->ntargets),
		    pr->ntargets);
		printf("%s%s\n", o ? ": " : "", head);
		for (i = 0; i < pr->nregional; i++) {
			printf("  %s", c.dim);
			printf(strcmp(pr->regional[i].weights, "sample") == 0
				? _("region %s %u: %s (weighted by sample "
				    "population, %u of %d municipalities)")
				: _("region %s %u: %s (weighted by measured "
				    "population, %u of %d municipalities)"),
			    pr->regional[i].indicator, pr->regional[i].year,
			    fmt_num(n, sizeof(n), pr->regional[i].value),
			    pr->regional[i].municipalities, (int)v->nmun);
			printf("%s\n", c.off);
		}
		text_target_head(stdout, 1);
		for (i = 0, shown = 0; i < pr->ntargets; i++) {
			const struct ucr_view_target *t =
			    &v->targets[pr->targets[i]];

			if (mun != NULL && strcmp(mun, t->owner) != 0)
				continue;
			text_target_row(stdout, t, &c, 1);
			shown++;
		}
		if (shown == 0)
			printf("  %s%s%s\n", c.dim, _("(no targets)"), c.off);
	}
	ucr_view_free(v);
	return 0;
}

/* The cycle is printed from its JSON document, which holds the "what is
   missing" lines of each step. */
static void
text_cycle(FILE *f, const struct ucr_view *v, json_t *doc,
    const struct colors *c)
{
	json_t *x, *y, *z;
	size_t i, j;
	char line[512];

	fputs(c->bold, f);
	fprintf(f, _("%s (%s): Aalborg cycle, %s"),
	    json_string_value(json_object_get(doc, "name")),
	    json_string_value(json_object_get(doc, "code")), v->today);
	fprintf(f, "%s\n", c->off);
	rule(f, c, _("STEPS"));
	json_array_foreach(json_object_get(doc, "steps"), i, x)
	{
		int done = json_is_true(json_object_get(x, "done"));

		fprintf(f, "  %d %-16s %s%s%s\n",
		    (int)json_integer_value(json_object_get(x, "step")),
		    json_string_value(json_object_get(x, "name")),
		    done ? c->green : c->yellow, done ? _("done") : _("to do"),
		    c->off);
		json_array_foreach(json_object_get(x, "missing"), j, y)
		{
			fprintf(f, "      %s", c->dim);
			put_last(f, json_string_value(y), WIDTH - 6);
			fprintf(f, "%s\n", c->off);
		}
	}
	rule(f, c, _("BASELINE BY THEME"));
	json_array_foreach(json_object_get(json_object_get(doc, "baseline"),
			       "themes"),
	    i, x)
	{
		size_t o = 0;

		line[0] = '\0';
		json_array_foreach(json_object_get(x, "missing"), j, y) o +=
		    snprintf(line + o, o < sizeof(line) ? sizeof(line) - o : 0,
			"%s%s", o ? " " : "", json_string_value(y));
		fprintf(f, "  %2d ",
		    (int)json_integer_value(json_object_get(x, "theme")));
		cli_cell(f, _(json_string_value(json_object_get(x, "name"))),
		    46, 0);
		fprintf(f, " %d/5  %s%s%s%s\n",
		    (int)json_integer_value(json_object_get(x, "covered")),
		    c->dim, *line ? _("missing ") : "", line, c->off);
	}
	rule(f, c, _("TARGETS"));
	z = json_object_get(doc, "targets");
	if (json_array_size(z) == 0)
		fprintf(f, "  %s\n", _("none"));
	else
		text_target_head(f, 0);
	json_array_foreach(z, i, x)
	{
		const struct ucr_view_target *t = ucr_view_target_find(v,
		    json_string_value(json_object_get(x, "key")));

		if (t != NULL)
			text_target_row(f, t, c, 0);
	}
	rule(f, c, _("PROJECTS"));
	z = json_object_get(doc, "projects");
	if (json_array_size(z) == 0)
		fprintf(f, "  %s\n", _("none"));
	json_array_foreach(z, i, x)
	{
		snprintf(line, sizeof(line), _("%s (%s, lead %s%s)"),
		    json_string_value(json_object_get(x, "title")),
		    json_string_value(json_object_get(x, "status")),
		    mun_name(json_string_value(json_object_get(x, "lead"))),
		    json_is_true(json_object_get(x, "counts_for_programme"))
			? ""
			: _(", not counted for R3"));
		fputs("  ", f);
		put_last(f, line, WIDTH - 2);
		fputc('\n', f);
	}
	rule(f, c, _("GROUPS, MEETINGS, NETWORKS, DECISIONS"));
	json_array_foreach(json_object_get(doc, "groups"), i, x)
	{
		/* TRANSLATORS: the cycle's record lines start with a kind
		   word padded to 10 characters */
		snprintf(line, sizeof(line), _("group     %s%s"),
		    json_string_value(json_object_get(x, "name")),
		    json_is_true(json_object_get(x, "active")) ? ""
							       : _(" (ended)"));
		fputs("  ", f);
		put_last(f, line, WIDTH - 2);
		fputc('\n', f);
	}
	json_array_foreach(json_object_get(doc, "meetings"), i, x)
	{
		snprintf(line, sizeof(line),
		    _("meeting   %s %s %s: %d women, %d men,"
		      " %d not stated"),
		    json_string_value(json_object_get(x, "date")),
		    json_string_value(json_object_get(x, "kind")),
		    json_string_value(json_object_get(x, "title")),
		    (int)json_integer_value(json_object_get(x, "women")),
		    (int)json_integer_value(json_object_get(x, "men")),
		    (int)json_integer_value(json_object_get(x, "unstated")));
		fputs("  ", f);
		put_last(f, line, WIDTH - 2);
		fputc('\n', f);
	}
	json_array_foreach(json_object_get(doc, "networks"), i, x)
	{
		snprintf(line, sizeof(line),
		    _("network   %s (%s, joined %s%s)"),
		    json_string_value(json_object_get(x, "name")),
		    json_string_value(json_object_get(x, "scope")),
		    json_string_value(json_object_get(x, "joined")),
		    json_is_true(json_object_get(x, "new_in_programme"))
			? _(", new")
			: "");
		fputs("  ", f);
		put_last(f, line, WIDTH - 2);
		fputc('\n', f);
	}
	json_array_foreach(json_object_get(doc, "decisions"), i, x)
	{
		snprintf(line, sizeof(line), _("decision  %s %s %s: %s (%s)"),
		    json_string_value(json_object_get(x, "date")),
		    json_string_value(json_object_get(x, "body")),
		    json_string_value(json_object_get(x, "subject")),
		    json_string_value(json_object_get(x, "outcome")),
		    json_string_value(json_object_get(x, "ref")));
		fputs("  ", f);
		put_last(f, line, WIDTH - 2);
		fputc('\n', f);
	}
}

int
cmd_cycle(int argc, char **argv)
{
	const struct ucr_municipality *mu = NULL;
	struct cli_flags fl;
	struct ucr_view *v;
	struct colors c;
	json_t *doc;
	int rc;

	CLI_BEGIN(&fl, "json", argc, argv);
	if (fl.npos != 1)
		return cli_misuse(argv[0]);
	/* A code or a name ("2403", "Bjurholm"). */
	if ((mu = ucr_municipality_lookup(fl.pos[0])) == NULL) {
		cli_error(
		    "cycle: unknown municipality '%s' (a code such as 2403)",
		    fl.pos[0]);
		return EXIT_USAGE;
	}
	if (load_view(&v) != 0)
		return 1;
	if (ucr_view_mun_index(v, mu->code) < 0) {
		cli_error("cycle: %s (%s) is not a member of the region (ucr "
			  "member add %s on the hub)",
		    mu->code, mu->name, mu->code);
		ucr_view_free(v);
		return 1;
	}
	doc = cli_flag_set(&fl, "json") ? ucr_view_json_cycle(v, mu->code)
					: ucr_view_json_cycle_text(v, mu->code);
	if (doc == NULL) {
		cli_error("out of memory");
		ucr_view_free(v);
		return 1;
	}
	if (cli_flag_set(&fl, "json")) {
		rc = print_json(doc);
	} else {
		colors_init(&c, stdout);
		text_cycle(stdout, v, doc, &c);
		json_decref(doc);
		rc = 0;
	}
	ucr_view_free(v);
	return rc;
}

/* ------------------------------------------------------------ explain */

static void
text_refs(FILE *f, const struct ucr_view_ref *refs, size_t n)
{
	char hex[2 * UCR_PK_LEN + 1];
	size_t i;

	if (n == 0)
		fprintf(f, "  %s\n", _("(no records)"));
	else
		/* TRANSLATORS: column heads of explain's list of records,
		   16 and 8 characters wide */
		fprintf(f, "  %-16s %8s  %s\n", _("author"), _("seq"),
		    _("key"));
	for (i = 0; i < n; i++) {
		ucr_hex(hex, refs[i].author, UCR_PK_LEN);
		fprintf(f, "  %.16s %8llu  %s\n", hex,
		    (unsigned long long)refs[i].seq, refs[i].key);
	}
}

/* ------------------------------------------------------------ adoption */

/*
 * The adopted and the current version of a record changed after its
 * adoption (docs/view.md), read from the logs the configured store holds
 * (cli/history.c): NULL each when not held or the store is not readable
 * here (a reader's configuration). The caller frees both.
 */
static void
change_versions(const struct ucr_view_change *x, Ucr__Record **adopted,
    Ucr__Record **current)
{
	struct ucr_config *cfg = NULL;
	struct ucr_store *s = NULL;

	*adopted = *current = NULL;
	if (cli_load_config(&cfg) != 0)
		return;
	if (ucr_store_open(&s, cfg->data, UCR_STORE_RDONLY, cfg->map_size) ==
	    0) {
		*adopted = cli_record_version(s, x->key, x->adopted);
		if (!x->deleted)
			*current = cli_record_version(s, x->key, x->current);
		ucr_store_free(s);
	}
	ucr_config_free(cfg);
}

/* The body fields whose values differ between two versions (JSON of
   cli_record_json), in the adopted version's field order. */
static json_t *
changed_fields(json_t *a, json_t *b)
{
	json_t *out = json_array(), *ba = json_object_get(a, "body"),
	       *bb = json_object_get(b, "body"), *val;
	const char *k;

	json_object_foreach(ba, k, val)
	{
		if (!json_equal(val, json_object_get(bb, k)))
			json_array_append_new(out, json_string(k));
	}
	json_object_foreach(bb, k, val)
	{
		if (json_object_get(ba, k) == NULL)
			json_array_append_new(out, json_string(k));
	}
	return out;
}

static const char *
dec_year(char *buf, size_t len, const Ucr__Decimal *d, unsigned year)
{
	char n[48];

	if (d == NULL)
		return "-";
	ucr_decimal_format(d, n, sizeof(n));
	if (year)
		snprintf(buf, len, "%s@%u", n, year);
	else
		snprintf(buf, len, "%s", n);
	return buf;
}

/* One version on one line: a target's title, indicator, direction,
   baseline and target; another record's body as JSON. Escaped. */
static void
version_line(FILE *f, const Ucr__Record *r)
{
	char safe[1024], b1[64], b2[64], *j;

	if (r->body_case == UCR__RECORD__BODY_TARGET) {
		const Ucr__Target *t = r->target;

		ucr_text_escape(safe, sizeof(safe), t->title, strlen(t->title));
		fprintf(f,
		    _("title \"%s\", indicator %s, direction %s, baseline "
		      "%s, target %s"),
		    safe, *t->indicator ? t->indicator : "-",
		    cli_enum_name(cli_enum_direction, t->direction),
		    dec_year(b1, sizeof(b1), t->baseline_value,
			t->baseline_year),
		    dec_year(b2, sizeof(b2), t->target_value, t->target_year));
		return;
	}
	{
		json_t *o = cli_record_json(r);

		j = json_dumps(json_object_get(o, "body"),
		    JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(o);
	}
	if (j != NULL) {
		ucr_text_escape(safe, sizeof(safe), j, strlen(j));
		fputs(safe, f);
		free(j);
	}
}

/* explain's text about a target's changes after adoption. */
static void
text_changes(FILE *f, const struct ucr_view *v, const char *key)
{
	size_t i, k;

	for (i = 0; i < v->nchanges; i++) {
		const struct ucr_view_change *x = &v->changes[i];
		char ha[2 * UCR_HASH_LEN + 1], hc[2 * UCR_HASH_LEN + 1];
		Ucr__Record *a, *c;

		if (strcmp(x->key, key) != 0)
			continue;
		ucr_hex(ha, x->adopted, UCR_HASH_LEN);
		ucr_hex(hc, x->current, UCR_HASH_LEN);
		change_versions(x, &a, &c);
		fprintf(f, "%s\n", _("changed after adoption:"));
		fprintf(f, _("  adopted by %s (%s): version %.16s\n"),
		    x->decision, x->decision_date, ha);
		if (a != NULL) {
			fputs("    ", f);
			version_line(f, a);
			fputc('\n', f);
		} else
			fprintf(f, "    %s\n",
			    _("(that version is not held here)"));
		if (x->deleted)
			fprintf(f, "%s\n", _("  current: deleted"));
		else {
			fprintf(f, _("  current: version %.16s\n"), hc);
			if (c != NULL) {
				fputs("    ", f);
				version_line(f, c);
				fputc('\n', f);
			}
		}
		if (a != NULL && c != NULL) {
			json_t *ja = cli_record_json(a),
			       *jc = cli_record_json(c);
			json_t *ch = changed_fields(ja, jc);

			fprintf(f, "  %s", _("changed:"));
			for (k = 0; k < json_array_size(ch); k++)
				fprintf(f, "%s%s", k ? ", " : " ",
				    json_string_value(json_array_get(ch, k)));
			fputc('\n', f);
			json_decref(ch);
			json_decref(ja);
			json_decref(jc);
		}
		fprintf(f, _("  both versions: ucr history %s\n"), x->key);
		if (a != NULL)
			ucr__record__free_unpacked(a, NULL);
		if (c != NULL)
			ucr__record__free_unpacked(c, NULL);
	}
}

/* ucr_view_json_changes() with the two versions' records and the fields
   that differ: adopted_version, current_version (cli_record_json or
   null), changed_fields. */
static json_t *
json_changes(const struct ucr_view *v, const char *key)
{
	json_t *arr = ucr_view_json_changes(v, key), *o;
	size_t i, k = 0;

	for (i = 0; i < v->nchanges && arr != NULL; i++) {
		const struct ucr_view_change *x = &v->changes[i];
		Ucr__Record *a, *c;
		json_t *ja, *jc;

		if (key != NULL && strcmp(x->key, key) != 0)
			continue;
		if ((o = json_array_get(arr, k++)) == NULL)
			break;
		change_versions(x, &a, &c);
		ja = a != NULL ? cli_record_json(a) : json_null();
		jc = c != NULL ? cli_record_json(c) : json_null();
		json_object_set_new(o, "changed_fields",
		    a != NULL && c != NULL ? changed_fields(ja, jc)
					   : json_null());
		json_object_set_new(o, "adopted_version", ja);
		json_object_set_new(o, "current_version", jc);
		if (a != NULL)
			ucr__record__free_unpacked(a, NULL);
		if (c != NULL)
			ucr__record__free_unpacked(c, NULL);
	}
	return arr;
}

int
cmd_explain(int argc, char **argv)
{
	const struct ucr_view_goal *g;
	const struct ucr_view_target *t;
	struct cli_flags fl;
	struct ucr_view *v;
	char n1[32], n2[32], b[40], safe[1024];
	int rc;

	CLI_BEGIN(&fl, "json", argc, argv);
	if (fl.npos != 1)
		return cli_misuse(argv[0]);
	if (load_view(&v) != 0)
		return 1;
	g = ucr_view_goal_find(v, fl.pos[0]);
	t = g ? NULL : ucr_view_target_find(v, fl.pos[0]);
	if (g == NULL && t == NULL) {
		/* KIND/ID of this node's own records: target/T1 */
		struct ucr_config *cfg = NULL;
		char key[300];

		if (cli_load_config(&cfg) == 0) {
			cli_full_key(key, sizeof(key), cfg->owner, fl.pos[0]);
			t = ucr_view_target_find(v, key);
		}
		ucr_config_free(cfg);
	}
	if (g == NULL && t == NULL) {
		cli_error(
		    "explain: no goal or target '%s' (A1..R3, or a target "
		    "such as 2403/target/T1)",
		    fl.pos[0]);
		ucr_view_free(v);
		return 1;
	}
	if (cli_flag_set(&fl, "json")) {
		json_t *doc;

		if (g != NULL)
			doc = json_pack("{s:s, s:s, s:f, s:f, s:b, s:o, s:o}",
			    "goal", g->id, "title", g->title, "current",
			    g->current, "threshold", g->threshold, "met",
			    g->met, "records",
			    ucr_view_json_refs(g->refs, g->nrefs), "left_out",
			    ucr_view_json_left(g));
		else
			doc = json_pack("{s:s, s:o, s:o, s:o}", "target",
			    t->key, "figure", ucr_view_json_target(v, t),
			    "records", ucr_view_json_refs(t->refs, t->nrefs),
			    "changed_after_adoption", json_changes(v, t->key));
		rc = print_json(doc);
		ucr_view_free(v);
		return rc;
	}
	if (g != NULL) {
		ucr_text_escape(safe, sizeof(safe), _(g->title),
		    strlen(_(g->title)));
		printf(_("%s %s: %s (threshold %s%s), %s\n"), g->id, safe,
		    fmt_num(n1, sizeof(n1), g->current),
		    g->at_most ? "<= " : "",
		    fmt_num(n2, sizeof(n2), g->threshold),
		    g->met ? _("met") : _("not met"));
		if (!g->met && *g->missing_l)
			printf(_("missing: %s\n"), g->missing_l);
		printf(ngettext("from %zu signed record:\n",
			   "from %zu signed records:\n", g->nrefs),
		    g->nrefs);
		text_refs(stdout, g->refs, g->nrefs);
		if (v->programme_start != NULL)
			printf(_("programme period %s - %s\n"),
			    v->programme_start, v->programme_end);
		if (g->nleft > 0)
			printf(_("left out (%zu):\n"), g->nleft);
		for (size_t i = 0; i < g->nleft; i++) {
			/* a reason may quote a record's name: escaped */
			ucr_text_escape(safe, sizeof(safe), g->left[i].reason_l,
			    strlen(g->left[i].reason_l));
			printf("  %s: %s\n", g->left[i].key, safe);
		}
	} else {
		ucr_text_escape(safe, sizeof(safe), t->title, strlen(t->title));
		printf("%s %s: %s\n", t->key, safe,
		    status_label(t->progress.status));
		printf(_("  baseline %s, "),
		    fmt_vy(b, sizeof(b), t->has_baseline, t->baseline,
			t->baseline_year));
		printf(_("latest %s, "),
		    fmt_vy(b, sizeof(b), t->has_latest, t->latest,
			t->latest_year));
		printf(_("target %s\n  %s is better; method %s, progress %s\n"),
		    fmt_vy(b, sizeof(b), t->has_target, t->target,
			t->target_year),
		    t->decrease ? _("lower") : _("higher"),
		    ucr_view_method_name(t->progress.method),
		    fmt_num(n1, sizeof(n1), t->progress.value));
		printf(ngettext("from %zu signed record:\n",
			   "from %zu signed records:\n", t->nrefs),
		    t->nrefs);
		text_refs(stdout, t->refs, t->nrefs);
		text_changes(stdout, v, t->key);
	}
	ucr_view_free(v);
	return 0;
}

/* ------------------------------------------------------------ HTML */

static void
h_esc(FILE *f, const char *s)
{
	for (; s != NULL && *s; s++)
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*s, f);
		}
}

static void h_printf(FILE *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Formatted text, escaped. */
static void
h_printf(FILE *f, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	h_esc(f, buf);
}

static const char *
status_class(enum ucr_progress s)
{
	static const char *const cls[UCR_NPROGRESS] = {"nd", "det", "lim",
	    "acc", "on", "ach"};

	return (unsigned)s < UCR_NPROGRESS ? cls[s] : "nd";
}

/* Colours of the statuses, shared by CSS and SVG. */
static const char *
status_fill(enum ucr_progress s)
{
	/* one colour each: grey, red, orange, yellow, green, blue */
	static const char *const fill[UCR_NPROGRESS] = {"#bdbdbd", "#c62828",
	    "#ef6c00", "#f9a825", "#2e7d32", "#1565c0"};

	return (unsigned)s < UCR_NPROGRESS ? fill[s] : fill[0];
}

/*
 * Print: A4 with margins and page numbers in the page's foot; headings stay
 * with what follows them, tables and figures are not split; the summary is
 * the first page and nothing else forces a break (no half-empty pages).
 * Colours: every text colour on its background is at least 4.5:1.
 */
static const char css[] =
    "@page{size:A4;margin:15mm 14mm 17mm;"
    "@bottom-right{content:counter(page) ' / ' counter(pages);"
    "font:8pt 'DejaVu Sans',Arial,sans-serif;color:#444}}"
    "body{font:10pt/1.35 'DejaVu Sans',Arial,sans-serif;color:#222;"
    "background:#fff;max-width:182mm;margin:0 auto}"
    "h1{font-size:16pt;margin:0 0 2mm}"
    "h2{font-size:12.5pt;margin:6mm 0 2mm;border-bottom:1px solid #999}"
    "h3{font-size:11pt;margin:4mm 0 1mm}"
    "h1,h2,h3,caption{break-after:avoid;page-break-after:avoid}"
    "p.sub{color:#444;margin:0 0 3mm}"
    "table{border-collapse:collapse;width:100%;margin:1mm 0 3mm}"
    "table,figure,.chart,svg,li{break-inside:avoid;page-break-inside:avoid}"
    "caption{text-align:left;font-weight:bold;padding:0 0 1mm}"
    "th,td{border:1px solid #bbb;padding:.8mm 1.5mm;text-align:left;"
    "vertical-align:top}thead th{background:#eee}"
    "tbody th{font-weight:normal}td.n{text-align:right}"
    ".ach{background:#bbdefb}.on{background:#c8e6c9}.yes{background:#c8e6c9}"
    ".acc{background:#fff59d}"
    ".lim{background:#ffe0b2}.det,.no{background:#ffcdd2}.nd{background:#eee}"
    ".summary{break-after:page;page-break-after:always}"
    ".summary{font-size:9pt}.summary h2{margin-top:3mm}.summary table{margin-bottom:2mm}"
    ".warn{border-left:3px solid #b71c1c;padding:1mm 2mm;background:#fff3f3}"
    ".charts{margin:1mm 0}"
    ".chart{display:inline-block;vertical-align:top;width:58mm;"
    "margin:0 1mm 2mm 0;border:1px solid #ccc;padding:1mm}"
    ".chart p{margin:0;font-size:8pt}"
    ".legend span{display:inline-block;padding:0 2mm;margin-right:1mm}"
    "sup.p{color:#8a4b00;font-weight:bold}small{color:#444}"
    "ul.dec{margin:1mm 0;padding-left:5mm}";

/*
 * What the report reads beside the view, through the records' pages (the
 * hub, the daemon or the store, as show does): indicator titles and units,
 * which of the values it shows are preliminary, the priorities of projects
 * and the number of records changed since a date. When they cannot be
 * read the report falls back to ids.
 */
struct rep_ind {
	char *id, *title, *unit;
};

struct rep_proj {
	char *key;
	unsigned pri; /* bit k: priority P(k+1) */
};

/* The kinds the changes count, and "deleted" last. */
static const char *const change_kind[] = {"target", "measure", "baseline",
    "project", "network", "group", "meeting", "decision", "indicator"};
#define NCHANGE (sizeof(change_kind) / sizeof(change_kind[0]))
_Static_assert(NCHANGE + 2 == UCR_CHANGE_NKINDS, "change kinds");

static const char *const change_words[NCHANGE + 2] = {
    /* TRANSLATORS: kinds of records counted in the report's "what changed" */
    N_("targets"), N_("measurements"), N_("baselines"), N_("projects"),
    N_("networks"), N_("working groups"), N_("meetings"), N_("decisions"),
    N_("indicators"), N_("other records"), N_("deletions")};

struct rep_extra {
	int have; /* the extras were read */
	struct rep_ind *ind;
	size_t nind;
	char **prelim; /* "area/indicator/year" of preliminary totals */
	size_t nprelim;
	struct rep_proj *proj;
	size_t nproj;
	uint64_t since; /* HLC; records at or after it count as changed */
	char since_day[11];
	size_t changed[NCHANGE + 2]; /* by change_kind, other, deleted */
	size_t nchanged;
	int rc;
};

static void
extra_free(struct rep_extra *x)
{
	size_t i;

	for (i = 0; i < x->nind; i++) {
		free(x->ind[i].id);
		free(x->ind[i].title);
		free(x->ind[i].unit);
	}
	for (i = 0; i < x->nprelim; i++)
		free(x->prelim[i]);
	for (i = 0; i < x->nproj; i++)
		free(x->proj[i].key);
	free(x->ind);
	free(x->prelim);
	free(x->proj);
}

static int is_prelim(const struct rep_extra *, const char *, const char *,
    unsigned);

/* An indicator's or a project's record into x: 0 or UCR_ENOMEM. */
static int
extra_keep(struct rep_extra *x, const Ucr__Record *r)
{
	size_t i;
	void *p;

	if (r->tombstone)
		return 0;
	if (r->body_case == UCR__RECORD__BODY_INDICATOR && r->indicator->id) {
		if ((p = realloc(x->ind, (x->nind + 1) * sizeof(*x->ind))) ==
		    NULL)
			return UCR_ENOMEM;
		x->ind = p;
		x->ind[x->nind].id = strdup(r->indicator->id);
		x->ind[x->nind].title =
		    strdup(r->indicator->title ? r->indicator->title : "");
		x->ind[x->nind].unit =
		    strdup(r->indicator->unit ? r->indicator->unit : "");
		x->nind++; /* extra_free releases what was copied */
		if (x->ind[x->nind - 1].id == NULL ||
		    x->ind[x->nind - 1].title == NULL ||
		    x->ind[x->nind - 1].unit == NULL)
			return UCR_ENOMEM;
	} else if (r->body_case == UCR__RECORD__BODY_PROJECT) {
		unsigned m = 0;

		for (i = 0; i < r->project->n_priorities; i++) {
			const char *id = r->project->priorities[i];

			if (id[0] == 'P' && id[1] >= '1' &&
			    id[1] <= '0' + UCR_NPRIORITIES && id[2] == '\0')
				m |= 1u << (id[1] - '1');
		}
		if ((p = realloc(x->proj, (x->nproj + 1) * sizeof(*x->proj))) ==
		    NULL)
			return UCR_ENOMEM;
		x->proj = p;
		x->proj[x->nproj].pri = m;
		if ((x->proj[x->nproj++].key = strdup(r->key)) == NULL)
			return UCR_ENOMEM;
	}
	return 0;
}

/* A record counted in "what changed" if it is at or after x->since. */
static void
extra_count(struct rep_extra *x, const struct ucr_rec *rec,
    const Ucr__Record *r)
{
	const char *kind;
	size_t i;

	if (r == NULL || rec->time < x->since)
		return; /* the view reports what it cannot read */
	kind = ucr_kind_name(r->body_case);
	x->nchanged++;
	for (i = 0; i < NCHANGE; i++)
		if (!r->tombstone && kind != NULL &&
		    strcmp(kind, change_kind[i]) == 0)
			break;
	x->changed[r->tombstone ? NCHANGE + 1 : i]++;
}

/* Is r the total of indicator kpi for area in year, preliminary? */
static int
prelim_rec(const Ucr__Record *r, const char *area, const char *kpi,
    unsigned year)
{
	const Ucr__Measurement *m;

	if (r == NULL || r->tombstone ||
	    r->body_case != UCR__RECORD__BODY_MEASUREMENT)
		return 0;
	m = r->measurement;
	return m->status == UCR__MEASURE_STATUS__MEASURE_PRELIMINARY &&
	    m->gender == UCR__GENDER__GENDER_T && m->year == year &&
	    m->area != NULL && strcmp(m->area, area) == 0 &&
	    m->indicator != NULL && strcmp(m->indicator, kpi) == 0;
}

/*
 * One query of p: kind and prefix. Every record goes to extra_keep, or,
 * with count, only to extra_count; with area, a preliminary total of
 * (area, kpi, year) sets *hit. 0, or -1 (printed) or UCR_ENOMEM.
 */
static int
extra_query(struct rep_extra *x, struct cli_pager *p, const char *kind,
    const char *prefix, int count, const char *area, const char *kpi,
    unsigned year, int *hit)
{
	const struct ucr_rec *rec;
	const Ucr__Record *r;
	int rc;

	cli_pager_again(p, kind, prefix);
	while ((rc = cli_pager_next(p, &rec, &r)) > 0) {
		if (count)
			extra_count(x, rec, r);
		else if (area != NULL)
			*hit |= prelim_rec(r, area, kpi, year);
		else if (r != NULL && (rc = extra_keep(x, r)) != 0)
			return rc;
	}
	return rc;
}

/* Mark the latest value of each target the view shows if preliminary:
   the area's own record, or the region's record of that area. */
static int
extra_prelim(struct rep_extra *x, struct cli_pager *p, const struct ucr_view *v)
{
	char key[300], *s;
	size_t i;
	void *q;
	int rc, hit;

	for (i = 0; i < v->ntargets; i++) {
		const struct ucr_view_target *t = &v->targets[i];

		if (!t->has_latest || t->indicator == NULL ||
		    *t->indicator == '\0' ||
		    is_prelim(x, t->owner, t->indicator, t->latest_year))
			continue;
		hit = 0;
		snprintf(key, sizeof(key), "%s/measure/%s/%u/T", t->owner,
		    t->indicator, t->latest_year);
		if ((rc = extra_query(x, p, "measure", key, 0, t->owner,
			 t->indicator, t->latest_year, &hit)) != 0)
			return rc;
		snprintf(key, sizeof(key), "%s/measure/%s/%s/%u/T", UCR_REGION,
		    t->indicator, t->owner, t->latest_year);
		if (!hit && strcmp(t->owner, UCR_REGION) != 0 &&
		    (rc = extra_query(x, p, "measure", key, 0, t->owner,
			 t->indicator, t->latest_year, &hit)) != 0)
			return rc;
		if (!hit)
			continue;
		if (asprintf(&s, "%s/%s/%u", t->owner, t->indicator,
			t->latest_year) < 0)
			return UCR_ENOMEM;
		if ((q = realloc(x->prelim,
			 (x->nprelim + 1) * sizeof(*x->prelim))) == NULL) {
			free(s);
			return UCR_ENOMEM;
		}
		x->prelim = q;
		x->prelim[x->nprelim++] = s;
	}
	return 0;
}

/*
 * The changes since x->since: counted by the hub or the daemon (or in the
 * store) in one pass; an older hub or daemon that does not count them
 * sends every record, counted here a page at a time. 0, -1 (printed) or
 * UCR_ENOMEM.
 */
static int
extra_changed(struct rep_extra *x, struct cli_pager *p)
{
	uint64_t c[UCR_CHANGE_NKINDS];
	size_t i;
	int rc;

	if ((rc = cli_pager_changed(p, x->since, c)) < 0)
		return rc;
	if (rc > 0)
		return extra_query(x, p, "", "", 1, NULL, NULL, 0, NULL);
	/* ucr_change_kinds is change_kind, "other", "deleted" */
	for (i = 0; i < NCHANGE + 2; i++) {
		x->changed[i] = (size_t)c[i];
		x->nchanged += (size_t)c[i];
	}
	return 0;
}

/*
 * Read the extras through the records' pages (cli/records.c: the hub for
 * a reader, the daemon when it runs, else the store read-only): the
 * indicators and the projects by kind, the preliminary marks by the keys
 * of the values the report shows, and the changes counted over every
 * record, a page at a time. Leaves x->have 0 when they cannot be read.
 */
static void
extra_load(struct rep_extra *x, const struct ucr_view *v)
{
	struct ucr_config *cfg = NULL;
	struct cli_pager p;
	int rc;

	if (cli_load_config(&cfg) != 0)
		return;
	if (cli_pager_open(&p, cfg, "indicator", "") != 0) {
		cli_pager_close(&p);
		ucr_config_free(cfg);
		return;
	}
	if ((rc = extra_query(x, &p, "indicator", "", 0, NULL, NULL, 0,
		 NULL)) == 0 &&
	    (rc = extra_query(x, &p, "project", "", 0, NULL, NULL, 0, NULL)) ==
		0 &&
	    (rc = extra_prelim(x, &p, v)) == 0 &&
	    (rc = extra_changed(x, &p)) == 0)
		x->have = 1;
	if (rc == UCR_ENOMEM)
		cli_error("out of memory");
	cli_pager_close(&p);
	ucr_config_free(cfg);
}

static const struct rep_ind *
ind_find(const struct rep_extra *x, const char *id)
{
	size_t i;

	for (i = 0; id != NULL && i < x->nind; i++)
		if (x->ind[i].id != NULL && strcmp(x->ind[i].id, id) == 0)
			return &x->ind[i];
	return NULL;
}

/* "Title (unit)" of an indicator, or its id when none is declared. */
static void
h_indicator(FILE *f, const struct rep_extra *x, const char *id)
{
	const struct rep_ind *d = ind_find(x, id);

	if (id == NULL || *id == '\0') {
		fputs("&ndash;", f);
		return;
	}
	if (d == NULL || *d->title == '\0') {
		h_esc(f, id);
		return;
	}
	h_esc(f, d->title);
	if (*d->unit)
		h_printf(f, " (%s)", d->unit);
	fputs(" <small>", f);
	h_esc(f, id);
	fputs("</small>", f);
}

static int
is_prelim(const struct rep_extra *x, const char *area, const char *kpi,
    unsigned year)
{
	char k[160];
	size_t i;

	snprintf(k, sizeof(k), "%s/%s/%u", area, kpi, year);
	for (i = 0; i < x->nprelim; i++)
		if (strcmp(x->prelim[i], k) == 0)
			return 1;
	return 0;
}

static unsigned
proj_pri(const struct rep_extra *x, const char *key)
{
	size_t i;

	for (i = 0; i < x->nproj; i++)
		if (x->proj[i].key != NULL && strcmp(x->proj[i].key, key) == 0)
			return x->proj[i].pri;
	return 0;
}

static void
html_goals(FILE *f, const struct ucr_view *v)
{
	char a[32], b[32];
	int i;

	fprintf(f,
	    "<table><caption>%s</caption><thead><tr><th scope=col>%s</th>"
	    "<th scope=col>%s</th><th scope=col>%s</th><th scope=col>%s</th>"
	    "<th scope=col>%s</th></tr></thead><tbody>\n",
	    _("The six programme goals"), _("Goal"), _("Now"), _("Threshold"),
	    _("Met"), _("Missing"));
	for (i = 0; i < UCR_NGOALS; i++) {
		const struct ucr_view_goal *g = &v->goals[i];

		fprintf(f, "<tr><th scope=row>%s ", g->id);
		h_esc(f, title_tr(g->title));
		if (i == UCR_GOAL_R1)
			fprintf(f, "</th><td class=n>%s",
			    g->current >= 1 ? _("adopted") : _("not yet"));
		else
			fprintf(f, "</th><td class=n>%s%s",
			    fmt_num(a, sizeof(a), round(g->current * 10) / 10),
			    i == UCR_GOAL_A3 ? " %" : "");
		fprintf(f,
		    "</td><td class=n>%s %s%s</td><td class=%s>%s</td><td>",
		    g->at_most ? "&le;" : "&ge;",
		    fmt_num(b, sizeof(b), g->threshold),
		    i == UCR_GOAL_A3 ? " %" : "", g->met ? "yes" : "no",
		    g->met ? _("yes") : _("no"));
		h_esc(f, g->missing_l);
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
}

static void
html_matrix(FILE *f, const struct ucr_view *v)
{
	char age[32];
	int m;

	fprintf(f,
	    "<table><caption>%s</caption><thead><tr><th scope=col>%s</th>"
	    "<th scope=col>%s</th><th scope=col>%s</th><th scope=col>%s</th>"
	    "<th scope=col>%s</th><th scope=col>%s</th><th scope=col>%s</th>"
	    "</tr></thead><tbody>\n",
	    _("The municipalities in the Aalborg cycle"), _("Municipality"),
	    _("1 Baseline"), _("2 Targets"), _("3 Plan adopted"),
	    _("4 Projects"), _("5 Follow-up"), _("Last sync"));
	for (m = 0; m < (int)v->nmun; m++) {
		const struct ucr_view_municipality *mu = &v->mun[m];

		fputs("<tr><th scope=row>", f);
		h_printf(f, "%s %s", mu->code, mu->name);
		fmt_age(age, sizeof(age), mu->sync_age_s);
		fprintf(f,
		    "</th><td class=\"n %s\">%u/%d</td>"
		    "<td class=\"n %s\">%zu</td><td class=%s>%s</td>"
		    "<td class=\"n %s\">%zu</td><td class=\"n %s\">",
		    mu->baseline_covered == UCR_NCOMMITMENTS ? "yes"
			: mu->baseline_covered               ? "acc"
							     : "no",
		    mu->baseline_covered, UCR_NCOMMITMENTS,
		    mu->targets ? "yes" : "no", mu->targets,
		    mu->plan_adopted ? "yes" : "no",
		    mu->plan_adopted ? _("yes") : _("no"),
		    mu->projects ? "yes" : "no", mu->projects,
		    mu->last_followup ? "yes" : "no");
		if (mu->last_followup)
			fprintf(f, "%u", mu->last_followup);
		else
			fputs(_("none"), f);
		fprintf(f, "</td><td%s>", mu->stale ? " class=no" : "");
		h_esc(f, age);
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody></table>\n<p><small>", f);
	h_printf(f,
	    _("Regional baseline coverage %.0f %% (commitments with a "
	      "baseline, summed over the %d municipalities, of %d)."),
	    v->region_baseline_pct, (int)v->nmun,
	    (int)v->nmun * UCR_NCOMMITMENTS);
	fputs("</small></p>\n", f);
}

/* Mean status of the assessed targets of a cell, 1 (deterioration) .. 5
   (achieved); 0 when none is assessed. */
/*
 * A heat-map cell's status: the worst assessed status among its targets,
 * never a mean (a mean of "achieved" and "deterioration" would read
 * "acceleration needed", which none of them is). No data only when none
 * was assessed.
 */
static int
cell_worst(const size_t c[UCR_NPROGRESS])
{
	int s;

	for (s = UCR_PROGRESS_DETERIORATION; s < UCR_NPROGRESS; s++)
		if (c[s] > 0)
			return s;
	return UCR_PROGRESS_NODATA;
}

/* The distribution of a cell's statuses as a bar, worst on the left. */
/* A fresh id for an SVG's <title> and <desc>. */
static int svg_ids;

/* The opening of a heat-map cell's bar, with what it shows in words. */
static void
bar_open(FILE *f, const size_t c[UCR_NPROGRESS])
{
	int s, id = ++svg_ids, first = 1;

	fprintf(f,
	    "<br><svg width=\"40\" height=\"5\" viewBox=\"0 0 40 5\" "
	    "role=img aria-labelledby=\"st%d sd%d\"><title id=st%d>%s</title>"
	    "<desc id=sd%d>",
	    id, id, id, _("Targets by status"), id);
	for (s = UCR_NPROGRESS - 1; s >= 0; s--) {
		if (c[s] == 0)
			continue;
		h_printf(f, "%s%zu %s", first ? "" : ", ", c[s],
		    status_label(s));
		first = 0;
	}
	fputs("</desc>", f);
}

static void
cell_bar(FILE *f, const size_t c[UCR_NPROGRESS], size_t all)
{
	double x = 0, w;
	int s;

	bar_open(f, c);
	for (s = UCR_PROGRESS_DETERIORATION; s < UCR_NPROGRESS + 1; s++) {
		int k = s == UCR_NPROGRESS ? UCR_PROGRESS_NODATA : s;

		if (c[k] == 0)
			continue;
		w = 40.0 * (double)c[k] / (double)all;
		fprintf(f,
		    "<rect x=\"%.1f\" y=\"0\" width=\"%.1f\" height=\"5\" "
		    "fill=\"%s\"/>",
		    x, w, status_fill(k));
		x += w;
	}
	fputs("</svg>", f);
}

static void
html_heatmap(FILE *f, const struct ucr_view *v)
{
	int k, m, s;

	fprintf(f, "<h2>%s</h2>\n<p class=legend><small>",
	    _("Priorities × municipalities"));
	h_esc(f,
	    _("Cell colour: the worst status among the assessed targets; "
	      "figures: targets on track or achieved / all targets; bar: "
	      "the share of each status."));
	fputs("</small> ", f);
	for (s = UCR_NPROGRESS - 1; s >= 0; s--)
		fprintf(f, "<span class=%s>%s</span>", status_class(s),
		    status_label(s));
	fprintf(f,
	    "</p>\n<table><caption>%s</caption><tr><th scope=col>%s</th>",
	    _("Targets by priority and municipality"), _("Priority"));
	for (m = 0; m < (int)v->nmun; m++) {
		fputs("<th scope=col>", f);
		h_esc(f, v->mun[m].name);
		fputs("</th>", f);
	}
	fputs("</tr>\n", f);
	for (k = 0; k <= UCR_NPRIORITIES; k++) {
		const struct ucr_view_priority *pr = &v->pri[k];

		if (k == UCR_NPRIORITIES && pr->ntargets == 0)
			continue;
		fputs("<tr><th scope=row>", f);
		h_printf(f, "%s %s", pr->id, title_tr(pr->title));
		fputs("</th>", f);
		for (m = 0; m < (int)v->nmun; m++) {
			const size_t *c = pr->cell[m];
			size_t all = 0,
			       good = c[UCR_PROGRESS_ONTRACK] +
			    c[UCR_PROGRESS_ACHIEVED];
			int cls = cell_worst(c);

			for (s = 0; s < UCR_NPROGRESS; s++)
				all += c[s];
			if (all == 0)
				fputs("<td class=n></td>", f);
			else {
				fprintf(f, "<td class=\"n %s\">%zu/%zu",
				    status_class(cls), good, all);
				cell_bar(f, c, all);
				fputs("</td>", f);
			}
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void
html_gender(FILE *f, const struct ucr_view *v)
{
	const double w = 500, h = 22;
	char a[32], b[32];
	int i, id;

	fprintf(f, "<h3>%s</h3>\n", _("Gender balance per activity goal"));
	for (i = 0; i < 2; i++) {
		const struct ucr_view_balance *bl = &v->balance[i];
		double lim = v->goals[UCR_GOAL_A3].threshold;
		const char *what = i == 0 ? _("working-group meetings")
					  : _("regional workshops");

		fputs("<p>", f);
		h_printf(f,
		    _("%s %s: %zu meetings, %lu women, %lu men, %lu not "
		      "stated (reported apart)"),
		    bl->goal, what, bl->meetings, bl->women, bl->men,
		    bl->unstated);
		fprintf(f, " &mdash; <span class=%s>%s</span></p>\n",
		    bl->met ? "yes" : "no",
		    bl->met                    ? _("balanced")
			: isnan(bl->women_pct) ? _("no participants stated")
					       : _("not balanced"));
		if (isnan(bl->women_pct))
			continue;
		fmt_num(a, sizeof(a), bl->women_pct);
		fmt_num(b, sizeof(b), bl->men_pct);
		id = ++svg_ids;
		fprintf(f,
		    "<svg width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f "
		    "%.0f\" role=img aria-labelledby=\"st%d sd%d\">"
		    "<title id=st%d>",
		    w + 2, h + 14, w + 2, h + 14, id, id, id);
		h_printf(f, _("Gender balance of the %s"), what);
		fprintf(f, "</title><desc id=sd%d>", id);
		h_printf(f,
		    _("Women %s %%, men %s %% of the stated participants; "
		      "the dashed lines mark %.0f %% and %.0f %%."),
		    a, b, 100 - lim, lim);
		fputs("</desc>", f);
		fprintf(f,
		    "<rect x=1 y=1 width=\"%.1f\" height=\"%.0f\" "
		    "fill=\"#6a3fb5\"/>",
		    w * bl->women_pct / 100, h);
		fprintf(f,
		    "<rect x=\"%.1f\" y=1 width=\"%.1f\" height=\"%.0f\" "
		    "fill=\"#00695c\"/>",
		    1 + w * bl->women_pct / 100, w * bl->men_pct / 100, h);
		/* the 40 % and 60 % lines of the band */
		fprintf(f,
		    "<line x1=\"%.1f\" x2=\"%.1f\" y1=0 y2=\"%.0f\" "
		    "stroke=\"#000\" stroke-dasharray=\"3 2\"/>",
		    1 + w * (100 - lim) / 100, 1 + w * (100 - lim) / 100,
		    h + 2);
		fprintf(f,
		    "<line x1=\"%.1f\" x2=\"%.1f\" y1=0 y2=\"%.0f\" "
		    "stroke=\"#000\" stroke-dasharray=\"3 2\"/>",
		    1 + w * lim / 100, 1 + w * lim / 100, h + 2);
		fprintf(f, "<text x=6 y=16 font-size=11 fill=\"#fff\">");
		h_printf(f, _("women %s %%"), a);
		fprintf(f,
		    "</text><text x=\"%.0f\" y=16 font-size=11 fill=\"#fff\" "
		    "text-anchor=end>",
		    w - 4);
		h_printf(f, _("men %s %%"), b);
		fprintf(f,
		    "</text><text x=\"%.1f\" y=\"%.0f\" font-size=9 "
		    "text-anchor=middle>%.0f %%</text><text x=\"%.1f\" y=\"%.0f\" "
		    "font-size=9 text-anchor=middle>%.0f %%</text></svg>\n",
		    1 + w * (100 - lim) / 100, h + 12, 100 - lim,
		    1 + w * lim / 100, h + 12, lim);
	}
}

/* Value on the planned trajectory from baseline to target in year y:
   compound where growth rates are defined, else linear. */
static double
trajectory(const struct ucr_view_target *t, double y)
{
	double frac = (y - t->baseline_year) /
	    (double)(t->target_year - t->baseline_year);

	if (t->progress.method != UCR_METHOD_LINEAR &&
	    ((t->baseline > 0 && t->target > 0) ||
		(t->baseline < 0 && t->target < 0)))
		return t->baseline * pow(t->target / t->baseline, frac);
	return t->baseline + (t->target - t->baseline) * frac;
}

static void
html_chart(FILE *f, const struct ucr_view_target *t, const struct rep_extra *x)
{
	const double W = 210, H = 110, L = 34, R = 6, T = 8, B = 18;
	double y0 = INFINITY, y1 = -INFINITY, yy;
	unsigned ymin = 0, ymax = 0;
	int traj = t->has_baseline && t->has_target &&
	    t->target_year > t->baseline_year;
	char a[32], b[32], c[40];
	size_t i;
	int id;

#define YEARS(yr)                             \
	do {                                  \
		if (ymin == 0 || (yr) < ymin) \
			ymin = (yr);          \
		if ((yr) > ymax)              \
			ymax = (yr);          \
	} while (0)
#define VALS(x)                   \
	do {                      \
		if ((x) < y0)     \
			y0 = (x); \
		if ((x) > y1)     \
			y1 = (x); \
	} while (0)
	for (i = 0; i < t->nseries; i++) {
		YEARS(t->series[i].year);
		VALS(t->series[i].value);
	}
	if (t->has_baseline && t->baseline_year) {
		YEARS(t->baseline_year);
		VALS(t->baseline);
	}
	if (t->has_target && t->target_year) {
		YEARS(t->target_year);
		VALS(t->target);
	}
#undef YEARS
#undef VALS
	fputs("<figure class=chart><p><b>", f);
	h_printf(f, "%s %s", mun_name(t->owner), t->id);
	fputs("</b> ", f);
	h_esc(f, t->title);
	fprintf(f, "</p><p><span class=%s>%s</span>",
	    status_class(t->progress.status), status_label(t->progress.status));
	if (*t->indicator) {
		fputs(" · ", f);
		h_indicator(f, x, t->indicator);
	}
	if (t->decrease)
		fprintf(f, " · %s", _("lower is better"));
	fputs("</p>", f);
	if (ymin == 0 || !isfinite(y0)) {
		fprintf(f, "<p><small>%s</small></p></figure>\n",
		    _("no measurements"));
		return;
	}
	if (ymax == ymin)
		ymax = ymin + 1;
	if (y1 - y0 < 1e-9) {
		y0 -= 1;
		y1 += 1;
	}
	yy = (y1 - y0) * 0.08;
	y0 -= yy;
	y1 += yy;
#define PX(yr) (L + (W - L - R) * ((double)(yr)-ymin) / (double)(ymax - ymin))
#define PY(v) (T + (H - T - B) * (1 - ((v)-y0) / (y1 - y0)))
	id = ++svg_ids;
	fprintf(f,
	    "<svg width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\""
	    " role=img aria-labelledby=\"st%d sd%d\"><title id=st%d>",
	    W, H, W, H, id, id, id);
	h_printf(f, _("%s %s: measurements against the trajectory"),
	    mun_name(t->owner), t->id);
	fprintf(f, "</title><desc id=sd%d>", id);
	h_printf(f, _("%zu measurements from %u to %u"), t->nseries, ymin,
	    ymax);
	if (t->has_latest)
		h_printf(f, _("; latest %s"),
		    fmt_vy(c, sizeof(c), 1, t->latest, t->latest_year));
	if (t->has_baseline)
		h_printf(f, _("; baseline %s"),
		    fmt_vy(c, sizeof(c), 1, t->baseline, t->baseline_year));
	if (t->has_target)
		h_printf(f, _("; target %s"),
		    fmt_vy(c, sizeof(c), 1, t->target, t->target_year));
	h_printf(f, "; %s.", status_label(t->progress.status));
	fputs("</desc>", f);
	fprintf(f,
	    "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" "
	    "stroke=\"#767676\"/><line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" "
	    "y2=\"%.0f\" stroke=\"#767676\"/>",
	    L, T, L, H - B, L, H - B, W - R, H - B);
	fprintf(f,
	    "<text x=\"%.0f\" y=\"%.0f\" font-size=8 text-anchor=end>%s"
	    "</text><text x=\"%.0f\" y=\"%.0f\" font-size=8 text-anchor=end>%s"
	    "</text>",
	    L - 2, PY(y1 - yy) + 3, fmt_num(a, sizeof(a), y1 - yy), L - 2,
	    PY(y0 + yy) + 3, fmt_num(b, sizeof(b), y0 + yy));
	fprintf(f,
	    "<text x=\"%.0f\" y=\"%.0f\" font-size=8>%u</text>"
	    "<text x=\"%.0f\" y=\"%.0f\" font-size=8 text-anchor=end>%u</text>",
	    L, H - 6, ymin, W - R, H - 6, ymax);
	if (traj) {
		unsigned y;

		fputs("<polyline fill=none stroke=\"#767676\" "
		      "stroke-dasharray=\"4 3\" points=\"",
		    f);
		for (y = t->baseline_year; y <= t->target_year; y++)
			fprintf(f, "%.1f,%.1f ", PX(y), PY(trajectory(t, y)));
		fputs("\"/>", f);
		fprintf(f,
		    "<circle cx=\"%.1f\" cy=\"%.1f\" r=3 fill=none "
		    "stroke=\"#333\"/>",
		    PX(t->target_year), PY(t->target));
	}
	if (t->nseries > 1) {
		fprintf(f,
		    "<polyline fill=none stroke=\"%s\" stroke-width=2 "
		    "points=\"",
		    status_fill(t->progress.status));
		for (i = 0; i < t->nseries; i++)
			fprintf(f, "%.1f,%.1f ", PX(t->series[i].year),
			    PY(t->series[i].value));
		fputs("\"/>", f);
	}
	for (i = 0; i < t->nseries; i++)
		fprintf(f,
		    "<circle cx=\"%.1f\" cy=\"%.1f\" r=2.2 fill=\"%s\"/>",
		    PX(t->series[i].year), PY(t->series[i].value),
		    status_fill(t->progress.status));
#undef PX
#undef PY
	fputs("</svg></figure>\n", f);
}

/* The targets table of one priority (or of the unmapped ones). */
static void
html_targets(FILE *f, const struct ucr_view *v,
    const struct ucr_view_priority *pr, const struct rep_extra *x)
{
	char a[40], b[40], c[40];
	size_t i;

	fputs("<table><caption>", f);
	h_printf(f, _("Targets of %s"), pr->id);
	fprintf(f,
	    "</caption><thead><tr><th scope=col>%s</th><th scope=col>%s</th>"
	    "<th scope=col>%s</th><th scope=col>%s</th><th scope=col>%s</th>"
	    "<th scope=col>%s</th><th scope=col>%s</th></tr></thead><tbody>\n",
	    _("Municipality"), _("Target"), _("Indicator"), _("Baseline"),
	    _("Latest"), _("Target value"), _("Status"));
	for (i = 0; i < pr->ntargets; i++) {
		const struct ucr_view_target *t = &v->targets[pr->targets[i]];

		fputs("<tr><td>", f);
		h_esc(f, mun_name(t->owner));
		fputs("</td><th scope=row>", f);
		h_printf(f, "%s %s", t->id, t->title);
		fputs("</th><td>", f);
		h_indicator(f, x, t->indicator);
		fputs("</td><td>", f);
		h_esc(f,
		    fmt_vy(a, sizeof(a), t->has_baseline, t->baseline,
			t->baseline_year));
		fputs("</td><td>", f);
		h_esc(f,
		    fmt_vy(b, sizeof(b), t->has_latest, t->latest,
			t->latest_year));
		if (t->has_latest &&
		    is_prelim(x, t->owner, t->indicator, t->latest_year))
			fprintf(f, "<sup class=p title=\"%s\">*</sup>",
			    _("preliminary"));
		fputs("</td><td>", f);
		h_esc(f,
		    fmt_vy(c, sizeof(c), t->has_target, t->target,
			t->target_year));
		fprintf(f, "</td><td class=%s>%s%s</td></tr>\n",
		    status_class(t->progress.status),
		    status_label(t->progress.status),
		    t->overdue ? _(" (overdue)") : "");
	}
	fprintf(f, "</tbody></table>\n<p><small>* %s</small></p>\n",
	    _("preliminary value (may still be revised)"));
	fputs("<div class=charts>\n", f);
	for (i = 0; i < pr->ntargets; i++)
		html_chart(f, &v->targets[pr->targets[i]], x);
	fputs("</div>\n", f);
}

static void
html_projects(FILE *f, const struct ucr_view *v, const struct rep_extra *x,
    int k, const char *caption)
{
	static const char *const st[] = {N_("planned"), N_("ongoing"),
	    N_("completed")};
	size_t i, j, n = 0;

	for (i = 0; i < v->nprojects; i++) {
		const struct ucr_view_project *p = &v->projects[i];
		unsigned m = x->have ? proj_pri(x, p->key) : 0;

		if (k >= 0 ? !(m & (1u << k)) : m != 0)
			continue;
		if (n++ == 0)
			fprintf(f,
			    "<table><caption>%s</caption><thead><tr>"
			    "<th scope=col>%s</th><th scope=col>%s</th>"
			    "<th scope=col>%s</th><th scope=col>%s</th>"
			    "</tr></thead><tbody>\n",
			    caption, _("Project"), _("Lead"), _("Partners"),
			    _("Status"));
		fputs("<tr><th scope=row>", f);
		h_esc(f, p->title);
		fputs("</th><td>", f);
		h_esc(f, mun_name(p->lead));
		fputs("</td><td>", f);
		for (j = 0; j < p->npartners; j++) {
			if (j)
				fputs(", ", f);
			h_esc(f, mun_name(p->partners[j]));
		}
		fprintf(f, "</td><td>%s</td></tr>\n",
		    p->status >= 0 && p->status < 3 ? _(st[p->status]) : "");
	}
	if (n)
		fputs("</tbody></table>\n", f);
	else if (k >= 0)
		fprintf(f, "<p><small>%s</small></p>\n",
		    _("No projects serve this priority."));
}

static void
html_networks(FILE *f, const struct ucr_view *v)
{
	size_t i;

	fprintf(f, "<h2>%s</h2>\n", _("Networks"));
	if (v->nnetworks == 0) {
		fprintf(f, "<p>%s</p>\n", _("No networks recorded."));
		return;
	}
	fprintf(f,
	    "<table><caption>%s</caption><thead><tr><th scope=col>%s</th>"
	    "<th scope=col>%s</th><th scope=col>%s</th><th scope=col>%s</th>"
	    "<th scope=col>%s</th></tr></thead><tbody>\n",
	    _("Networks the municipalities belong to (not tied to one "
	      "priority)"),
	    _("Network"), _("Municipality"), _("Scope"), _("Joined"),
	    _("New in the programme"));
	for (i = 0; i < v->nnetworks; i++) {
		const struct ucr_view_network *n = &v->networks[i];

		fputs("<tr><th scope=row>", f);
		h_esc(f, n->name);
		fputs("</th><td>", f);
		h_esc(f, mun_name(n->owner));
		fprintf(f, "</td><td>%s</td><td>",
		    n->scope == UCR__SCOPE__SCOPE_INTERNATIONAL
			? _("international")
			: _("national"));
		h_esc(f, n->joined);
		fprintf(f, "</td><td>%s</td></tr>\n",
		    n->new_in_programme ? _("yes") : _("no"));
	}
	fputs("</tbody></table>\n", f);
}

/* The counts of one priority's targets, by status group. */
static void
pri_counts(const struct ucr_view_priority *pr, size_t *good, size_t *acc,
    size_t *bad, size_t *nd)
{
	*good = pr->by_status[UCR_PROGRESS_ONTRACK] +
	    pr->by_status[UCR_PROGRESS_ACHIEVED];
	*acc = pr->by_status[UCR_PROGRESS_ACCELERATE] +
	    pr->by_status[UCR_PROGRESS_LIMITED];
	*bad = pr->by_status[UCR_PROGRESS_DETERIORATION];
	*nd = pr->by_status[UCR_PROGRESS_NODATA];
}

/* The first page: what the Council needs before the detail. */
static void
html_summary(FILE *f, const struct ucr_view *v, const struct rep_extra *x)
{
	size_t i, n, good, acc, bad, nd, shown;
	int k;

	fprintf(f,
	    "<section class=summary aria-labelledby=sum><h2 id=sum>%s"
	    "</h2>\n",
	    _("Summary"));
	html_goals(f, v);
	fprintf(f,
	    "<table><caption>%s</caption><thead><tr><th scope=col>%s</th>"
	    "<th scope=col>%s</th><th scope=col>%s</th><th scope=col>%s</th>"
	    "<th scope=col>%s</th><th scope=col>%s</th></tr></thead><tbody>\n",
	    _("The five priorities"), _("Priority"), _("Targets"),
	    _("On track or achieved"), _("Need acceleration"),
	    _("Deteriorating"), _("No data"));
	for (k = 0; k < UCR_NPRIORITIES; k++) {
		const struct ucr_view_priority *pr = &v->pri[k];

		pri_counts(pr, &good, &acc, &bad, &nd);
		fprintf(f, "<tr><th scope=row><a href=\"#pri%d\">", k + 1);
		h_printf(f, "%s %s", pr->id, title_tr(pr->title));
		if (pr->ntargets == 0)
			fprintf(f,
			    "</a></th><td colspan=5 class=no>%s</td>"
			    "</tr>\n",
			    _("no targets: this priority is empty"));
		else
			fprintf(f,
			    "</a></th><td class=n>%zu</td><td class=n>%zu</td>"
			    "<td class=n>%zu</td><td class=n>%zu</td>"
			    "<td class=n>%zu</td></tr>\n",
			    pr->ntargets, good, acc, bad, nd);
	}
	fputs("</tbody></table>\n", f);

	fprintf(f, "<h3>%s</h3>\n<p>", _("What changed"));
	if (!x->have)
		h_printf(f,
		    _("Not known here: the report could not read the "
		      "store's records (changes since %s)."),
		    x->since_day);
	else if (x->nchanged == 0)
		h_printf(f, _("No record changed since %s."), x->since_day);
	else {
		int first = 1;

		h_printf(f, _("%zu records changed since %s:"), x->nchanged,
		    x->since_day);
		for (i = 0; i < NCHANGE + 2; i++) {
			if (x->changed[i] == 0)
				continue;
			h_printf(f, "%s %zu %s", first ? "" : ",",
			    x->changed[i], _(change_words[i]));
			first = 0;
		}
		fputs(".", f);
	}
	fputs("</p>\n", f);

	fprintf(f, "<h3>%s</h3>\n", _("Needs a decision"));
	for (i = 0, n = 0; i < UCR_NGOALS; i++)
		n += !v->goals[i].met;
	for (i = 0; i < v->nexceptions; i++)
		n += v->exceptions[i].kind == UCR_EXC_OVERDUE ||
		    v->exceptions[i].kind == UCR_EXC_DETERIORATING;
	if (n == 0) {
		fprintf(f, "<p>%s</p>\n",
		    _("Nothing: every goal is met and "
		      "no target is overdue or "
		      "deteriorating."));
	} else {
		int first = 1;

		fputs("<ul class=dec>\n", f);
		for (i = 0; i < UCR_NGOALS; i++) {
			if (v->goals[i].met)
				continue;
			if (first)
				fprintf(f, "<li><b>%s</b> ",
				    _("goals not met (the table above):"));
			fprintf(f, "%s%s", first ? "" : ", ", v->goals[i].id);
			first = 0;
		}
		if (!first)
			fputs("</li>\n", f);
		for (i = 0, shown = 0; i < v->nexceptions; i++) {
			const struct ucr_view_exception *e = &v->exceptions[i];

			if (e->kind != UCR_EXC_OVERDUE &&
			    e->kind != UCR_EXC_DETERIORATING)
				continue;
			if (shown++ == 8)
				break;
			fprintf(f, "<li><b>%s</b> ", exc_label(e->kind));
			h_esc(f, e->text_l);
			fputs("</li>\n", f);
		}
		fputs("</ul>\n", f);
		if (shown > 8)
			fprintf(f, "<p><small>%s</small></p>\n",
			    _("More in the sections of the priorities."));
	}
	for (i = 0, n = 0; i < v->nexceptions; i++)
		n += v->exceptions[i].kind == UCR_EXC_STALE ||
		    v->exceptions[i].kind == UCR_EXC_QUARANTINE;
	if (n) {
		fprintf(f, "<p><small>");
		h_printf(f,
		    _("%zu notices on the system itself (nodes not synced, "
		      "refused input): see the municipalities."),
		    n);
		fputs("</small></p>\n", f);
	}
	fputs("</section>\n", f);
}

static void
html_priority(FILE *f, const struct ucr_view *v, int k,
    const struct rep_extra *x)
{
	const struct ucr_view_priority *pr = &v->pri[k];
	char a[40];
	size_t i, good, acc, bad, nd;

	fprintf(f, "<section aria-labelledby=pri%d><h2 id=pri%d>", k + 1,
	    k + 1);
	h_printf(f, "%s %s", k < UCR_NPRIORITIES ? pr->id : "",
	    k < UCR_NPRIORITIES ? title_tr(pr->title)
				: _("Targets without a priority"));
	fputs("</h2>\n", f);
	if (pr->ntargets == 0) {
		fprintf(f, "<p class=warn><b>%s</b> %s</p>\n",
		    _("Empty priority."),
		    _("No municipality has a target mapped to it."));
	} else {
		pri_counts(pr, &good, &acc, &bad, &nd);
		fputs("<p>", f);
		h_printf(f,
		    _("%zu targets: %zu on track or achieved, %zu need "
		      "acceleration, %zu deteriorating, %zu without data."),
		    pr->ntargets, good, acc, bad, nd);
		fputs("</p>\n", f);
	}
	for (i = 0; i < pr->nregional; i++) {
		fputs("<p><small>", f);
		fputs(_("Region"), f);
		fputc(' ', f);
		h_indicator(f, x, pr->regional[i].indicator);
		h_printf(f,
		    _(" %u: %s (weighted by %s population, %u of %d "
		      "municipalities reporting)"),
		    pr->regional[i].year,
		    fmt_num(a, sizeof(a), pr->regional[i].value),
		    strcmp(pr->regional[i].weights, "sample") == 0
			? _("sample")
			: _("measured (N01951)"),
		    pr->regional[i].municipalities, (int)v->nmun);
		fputs("</small></p>\n", f);
	}
	if (pr->ntargets > 0)
		html_targets(f, v, pr, x);
	if (k < UCR_NPRIORITIES) {
		char cap[200];

		snprintf(cap, sizeof(cap), _("Projects serving %s"), pr->id);
		if (x->have)
			html_projects(f, v, x, k, cap);
	}
	fputs("</section>\n", f);
}

/*
 * Write the whole report to f. Everything is inline: the file must open
 * offline and print on A4.
 */
static int
html_report(FILE *f, const struct ucr_view *v, const struct rep_extra *x)
{
	int k;

	svg_ids = 0;
	/* TRANSLATORS: the language code of this translation, for the HTML
	   report's lang attribute */
	fprintf(f,
	    "<!DOCTYPE html>\n<html lang=%s><head><meta charset=\"utf-8\">"
	    "<title>",
	    _("en"));
	h_esc(f, _("Sustainable Umeå region: report to the Regional Council"));
	fputs("</title><style>", f);
	fputs(css, f);
	fputs("</style></head><body>\n<header><h1>", f);
	h_esc(f, _("Sustainable Umeå region: report to the Regional Council"));
	fputs("</h1>\n<p class=sub>", f);
	h_printf(f,
	    _("%s · %zu records · computed by ucr from the signed records "
	      "held on this node"),
	    v->today, v->records);
	fputs("</p>\n", f);
	if (v->vision != NULL) {
		fputs("<p><i>", f);
		h_esc(f, v->vision);
		fputs("</i></p>\n", f);
	}
	fputs("</header>\n<main>\n", f);
	html_summary(f, v, x);
	for (k = 0; k < UCR_NPRIORITIES; k++)
		html_priority(f, v, k, x);
	if (v->pri[UCR_NPRIORITIES].ntargets > 0)
		html_priority(f, v, UCR_NPRIORITIES, x);
	if (x->have) {
		fputs("<section>", f);
		html_projects(f, v, x, -1, _("Projects without a priority"));
		fputs("</section>\n", f);
	} else if (v->nprojects > 0) {
		fprintf(f, "<section><h2>%s</h2>\n", _("Projects"));
		html_projects(f, v, x, -1, _("Projects"));
		fputs("</section>\n", f);
	}
	fputs("<section>", f);
	html_networks(f, v);
	fputs("</section>\n", f);
	fprintf(f, "<section aria-labelledby=mun><h2 id=mun>%s</h2>\n",
	    _("The municipalities"));
	html_matrix(f, v);
	html_heatmap(f, v);
	html_gender(f, v);
	fputs("</section>\n</main>\n</body></html>\n", f);
	return ferror(f) ? -1 : 0;
}

/* "YYYY-MM-DD" to milliseconds since the epoch (UTC); -1 if malformed. */
static int64_t
parse_day(const char *s)
{
	struct tm tm;
	char *end;

	memset(&tm, 0, sizeof(tm));
	if (strlen(s) != 10 || (end = strptime(s, "%Y-%m-%d", &tm)) == NULL ||
	    *end != '\0')
		return -1;
	return (int64_t)timegm(&tm) * 1000;
}

int
cmd_report(int argc, char **argv)
{
	struct cli_flags fl;
	struct rep_extra x;
	struct ucr_view *v;
	const char *path, *since;
	char *tmp = NULL;
	int64_t ms;
	time_t t;
	struct tm tm;
	FILE *f;
	int rc;

	CLI_BEGIN(&fl, "html= since= json", argc, argv);
	if (fl.npos != 0)
		return cli_misuse(argv[0]);
	if ((path = cli_flag(&fl, "html")) == NULL || *path == '\0')
		return cli_misuse(argv[0]);
	memset(&x, 0, sizeof(x));
	if ((since = cli_flag(&fl, "since")) != NULL) {
		if ((ms = parse_day(since)) < 0) {
			cli_error(_("report: --since: not a date (YYYY-MM-DD): "
				    "'%s'"),
			    since);
			return EXIT_USAGE;
		}
	} else {
		/* the start of the UTC day 90 days ago: the day the report
		   names, and the index counts changes by day */
		ms = ((int64_t)time(NULL) - 90 * 86400) * 1000;
		ms -= ms % 86400000;
	}
	t = (time_t)(ms / 1000);
	gmtime_r(&t, &tm);
	strftime(x.since_day, sizeof(x.since_day), "%Y-%m-%d", &tm);
	x.since = (uint64_t)ms << 16;
	if (load_view(&v) != 0)
		return 1;
	extra_load(&x, v);
	/* Write beside the file and rename: never a half-written report. */
	if (asprintf(&tmp, "%s.tmp", path) < 0) {
		cli_error("out of memory");
		rc = 1;
		goto leave;
	}
	if ((f = fopen(tmp, "w")) == NULL) {
		cli_error(_("report: cannot write %s: %s"), tmp,
		    strerror(errno));
		rc = 1;
		goto leave;
	}
	rc = html_report(f, v, &x);
	if (fclose(f) != 0 || rc != 0) {
		cli_error(_("report: cannot write %s: %s"), tmp,
		    strerror(errno));
		unlink(tmp);
		rc = 1;
		goto leave;
	}
	if (rename(tmp, path) != 0) {
		cli_error(_("report: cannot rename to %s: %s"), path,
		    strerror(errno));
		unlink(tmp);
		rc = 1;
		goto leave;
	}
	if (cli_flag_set(&fl, "json")) {
		json_t *o = json_object();

		json_object_set_new(o, "html", json_string(path));
		json_object_set_new(o, "since", json_string(x.since_day));
		json_object_set_new(o, "changed",
		    json_integer((json_int_t)x.nchanged));
		json_object_set_new(o, "store_read", json_boolean(x.have));
		rc = print_json(o);
		goto leave;
	}
	rc = 0;
leave:
	free(tmp);
	extra_free(&x);
	ucr_view_free(v);
	return rc;
}
