/*
 * export.c: "ucr export": the view and the records behind it as an Excel
 * workbook (libxlsxwriter, loaded only for one, dl.h) or as CSV files, one
 * per sheet.
 *
 * Every sheet is described once, as rows of typed cells (text, number,
 * date, yes/no), and written by one of two writers: the workbook gets
 * real number and date cells and a frozen header row; CSV gets UTF-8 with
 * a byte-order mark, so that Excel opens it as UTF-8, RFC 4180 quoting,
 * and ISO dates (docs/cli.md). Nothing is left half-written: each file is
 * written beside its name and renamed into place when complete.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "chain.h"
#include "cli.h"
#include "clijson.h"
#include "dl.h"
#include "error.h"
#include "record.h"
#include "view.h"

/* ------------------------------------------------------------ the data */

/*
 * What an export reads: the computed view (goals, plan, targets) and the
 * current records (the facts behind it: measurements, projects, networks,
 * meetings). The view comes as status gets it, the records page by page
 * as each sheet is written (records.c): from the hub with a reader's
 * configuration, else the daemon, else (no daemon running) the store
 * opened read-only; at most one page is held at a time.
 */
struct export_data {
	struct ucr_view *view;
	struct ucr_config *cfg; /* where the records come from */
};

static void
export_data_free(struct export_data *d)
{
	ucr_view_free(d->view);
	ucr_config_free(d->cfg);
	memset(d, 0, sizeof(*d));
}

/* Load the configuration and the view as of now. Prints the error; 0 or
   1. */
static int
export_load(struct export_data *d)
{
	memset(d, 0, sizeof(*d));
	if (cli_load_config(&d->cfg) != 0)
		return 1;
	if (cli_load_view(&d->view) != 0) {
		export_data_free(d);
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ writers */

enum { W_XLSX, W_CSV };

struct writer {
	int kind;
	int failed;      /* an error was printed; stop writing */
	const char *dir; /* CSV: the folder */
	char sep, dec;   /* CSV: field separator, decimal mark */
	/* the workbook */
	lxw_workbook *wb;
	lxw_worksheet *ws;
	lxw_format *head, *date, *num;
	/* the current sheet */
	const char *sheet;
	FILE *f;
	char path[4096], tmp[4096 + 8];
	unsigned row, col, ncols;
	double width[16];
	/* rows written per sheet, for the summary */
	const char *names[8];
	unsigned rows[8];
	int nsheets;
};

static void
writer_fail(struct writer *w, const char *what, const char *why)
{
	if (!w->failed)
		cli_error("export: %s: %s", what, why);
	w->failed = 1;
}

/* CSV: one field, quoted when it must be (RFC 4180). */
static void
csv_field(struct writer *w, const char *s)
{
	const char *p;

	if (w->col++ > 0)
		fputc(w->sep, w->f);
	if (strpbrk(s, "\"\r\n") == NULL && strchr(s, w->sep) == NULL) {
		fputs(s, w->f);
		return;
	}
	fputc('"', w->f);
	for (p = s; *p; p++) {
		if (*p == '"')
			fputc('"', w->f);
		fputc(*p, w->f);
	}
	fputc('"', w->f);
}

static void
widen(struct writer *w, unsigned col, size_t chars)
{
	double c = (double)chars + 2;

	if (col < sizeof(w->width) / sizeof(w->width[0]) && c > w->width[col])
		w->width[col] = c > 60 ? 60 : c;
}

static void
sheet_begin(struct writer *w, const char *name, const char *const *headers)
{
	unsigned i;

	w->sheet = name;
	w->row = 0;
	w->col = 0;
	for (w->ncols = 0; headers[w->ncols] != NULL; w->ncols++)
		;
	memset(w->width, 0, sizeof(w->width));
	if (w->failed)
		return;
	if (w->kind == W_XLSX) {
		w->ws = workbook_add_worksheet(w->wb, name);
		if (w->ws == NULL) {
			writer_fail(w, name, "cannot add the sheet");
			return;
		}
		for (i = 0; i < w->ncols; i++) {
			worksheet_write_string(w->ws, 0, (lxw_col_t)i,
			    headers[i], w->head);
			widen(w, i, cli_utf8_width(headers[i]));
		}
		worksheet_freeze_panes(w->ws, 1, 0);
	} else {
		snprintf(w->path, sizeof(w->path), "%s/%s.csv", w->dir, name);
		snprintf(w->tmp, sizeof(w->tmp), "%s.tmp", w->path);
		w->f = fopen(w->tmp, "w");
		if (w->f == NULL) {
			writer_fail(w, w->tmp, strerror(errno));
			return;
		}
		fputs("\xEF\xBB\xBF", w->f); /* UTF-8 byte-order mark */
		for (i = 0; i < w->ncols; i++)
			csv_field(w, headers[i]);
		fputs("\r\n", w->f);
	}
	w->row = 1;
	w->col = 0;
}

/*
 * A text cell; NULL or "" is an empty cell. In CSV a text that starts
 * like a formula (= + - @, a tab or CR) gets a leading apostrophe, so a
 * spreadsheet shows it rather than running it: titles come from every
 * municipality's records (OWASP's "CSV injection"). The workbook's text
 * cells are text whatever they hold.
 */
static void
put_text(struct writer *w, const char *s)
{
	char *q = NULL;

	if (w->failed)
		return;
	if (s == NULL)
		s = "";
	if (w->kind == W_CSV) {
		if (*s != '\0' && strchr("=+-@\t\r", *s) != NULL) {
			if (asprintf(&q, "'%s", s) < 0) {
				writer_fail(w, w->sheet, "out of memory");
				return;
			}
			s = q;
		}
		csv_field(w, s);
		free(q);
		return;
	}
	if (*s)
		worksheet_write_string(w->ws, w->row, (lxw_col_t)w->col, s,
		    NULL);
	widen(w, w->col, cli_utf8_width(s));
	w->col++;
}

/* A number; NAN is an empty cell. */
static void
put_num(struct writer *w, double x)
{
	char buf[64], *p;

	if (w->failed)
		return;
	if (!isfinite(x)) {
		put_text(w, "");
		return;
	}
	if (w->kind == W_XLSX) {
		worksheet_write_number(w->ws, w->row, (lxw_col_t)w->col, x,
		    NULL);
		w->col++;
		return;
	}
	/* 15 significant digits, as Excel keeps: 9.8 stays 9.8 */
	snprintf(buf, sizeof(buf), "%.15g", x);
	if (w->dec != '.' && (p = strchr(buf, '.')) != NULL)
		*p = w->dec;
	csv_field(w, buf);
}

static void
put_dec(struct writer *w, const Ucr__Decimal *d)
{
	put_num(w, d ? ucr_decimal_double(d) : NAN);
}

/* A count or year; 0 with blank_zero is an empty cell (no year). */
static void
put_int(struct writer *w, long long n, int blank_zero)
{
	if (blank_zero && n == 0)
		put_text(w, "");
	else
		put_num(w, (double)n);
}

/* A date "YYYY-MM-DD": a date cell; anything else stays text. */
static void
put_date(struct writer *w, const char *s)
{
	lxw_datetime dt;
	int y, m, d, n = 0;

	if (w->failed)
		return;
	if (w->kind == W_CSV || s == NULL ||
	    sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || s[n] != '\0' ||
	    m < 1 || m > 12 || d < 1 || d > 31) {
		put_text(w, s);
		return;
	}
	memset(&dt, 0, sizeof(dt));
	dt.year = y;
	dt.month = m;
	dt.day = d;
	worksheet_write_datetime(w->ws, w->row, (lxw_col_t)w->col, &dt,
	    w->date);
	widen(w, w->col, 10);
	w->col++;
}

static void
put_bool(struct writer *w, int b)
{
	if (w->failed)
		return;
	if (w->kind == W_XLSX) {
		worksheet_write_boolean(w->ws, w->row, (lxw_col_t)w->col, b,
		    NULL);
		w->col++;
	} else
		csv_field(w, b ? "true" : "false");
}

/* Repeated strings joined by commas, as one text cell. */
static void
put_list(struct writer *w, char *const *v, size_t n)
{
	char buf[1024];
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < n && len < sizeof(buf); i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
		    i ? "," : "", v[i]);
	put_text(w, buf);
}

static void
row_end(struct writer *w)
{
	if (w->failed)
		return;
	if (w->kind == W_CSV)
		fputs("\r\n", w->f);
	w->row++;
	w->col = 0;
	/* libxlsxwriter drops a cell past the last row without a word: a
	   sheet cut short must be an error, not a silent loss. */
	if (w->kind == W_XLSX && w->row >= LXW_ROW_MAX)
		writer_fail(w, w->sheet,
		    _("more rows than a workbook sheet holds (1 048 576); "
		      "use --csv"));
}

/* Close the sheet; CSV: the file goes into place. */
static void
sheet_end(struct writer *w)
{
	unsigned i;

	if (!w->failed && w->nsheets < 8) {
		w->names[w->nsheets] = w->sheet;
		w->rows[w->nsheets++] = w->row - 1;
	}
	if (w->kind == W_XLSX) {
		if (w->failed || w->ws == NULL)
			return;
		for (i = 0; i < w->ncols && i < 16; i++)
			worksheet_set_column(w->ws, (lxw_col_t)i, (lxw_col_t)i,
			    w->width[i] < 8 ? 8 : w->width[i], NULL);
		if (w->row > 1)
			worksheet_autofilter(w->ws, 0, 0, w->row - 1,
			    (lxw_col_t)(w->ncols - 1));
		return;
	}
	if (w->f == NULL)
		return;
	if (ferror(w->f) | fclose(w->f)) {
		w->f = NULL;
		writer_fail(w, w->tmp, strerror(errno ? errno : EIO));
	}
	w->f = NULL;
	if (!w->failed && rename(w->tmp, w->path) != 0)
		writer_fail(w, w->path, strerror(errno));
	if (w->failed)
		unlink(w->tmp);
}

/* ------------------------------------------------------------ records */

/* The current records of one kind, in key order, tombstones and
   undecodable ones left out; an error (printed) fails the writer. */
struct rec_iter {
	struct cli_pager pg;
	struct writer *w;
	int open;
};

static const Ucr__Record *
rec_next(struct rec_iter *it)
{
	const struct ucr_rec *rec;
	const Ucr__Record *r;
	int n = 0;

	while (it->open && (n = cli_pager_next(&it->pg, &rec, &r)) > 0)
		if (r != NULL && !r->tombstone)
			return r;
	if (it->open && n < 0)
		it->w->failed = 1;
	if (it->open)
		cli_pager_close(&it->pg);
	it->open = 0;
	return NULL;
}

static const Ucr__Record *
rec_first(struct rec_iter *it, struct writer *w, const struct export_data *d,
    const char *kind)
{
	memset(it, 0, sizeof(*it));
	it->w = w;
	if (w->failed)
		return NULL;
	if (cli_pager_open(&it->pg, d->cfg, kind, NULL) != 0) {
		cli_pager_close(&it->pg);
		w->failed = 1;
		return NULL;
	}
	it->open = 1;
	return rec_next(it);
}

/* ------------------------------------------------------------ sheets */

static const char *const gender_names[] = {"T", "K", "M"};
static const char *const mstatus_names[] = {"final", "preliminary", "missing"};
static const char *const pstatus_names[] = {"planned", "ongoing", "completed"};
static const char *const mkind_names[] = {"other", "workshop", "group-meeting",
    "steering-group", "regional-council"};
static const char *const scope_names[] = {"national", "international"};

#define ENUM_NAME(tab, v)                                                  \
	((unsigned)(v) < sizeof(tab) / sizeof(tab[0]) ? tab[(unsigned)(v)] \
						      : "unknown")

static const char *
mun_name(const char *code)
{
	const struct ucr_municipality *m = ucr_municipality_lookup(code);

	return m ? m->name : "";
}

static void
sheet_goals(struct writer *w, const struct export_data *d)
{
	static const char *const h[] = {"goal", "title", "current", "threshold",
	    "rule", "met", "missing", NULL};
	int i;

	sheet_begin(w, "goals", h);
	for (i = 0; i < UCR_NGOALS; i++) {
		const struct ucr_view_goal *g = &d->view->goals[i];

		put_text(w, g->id);
		put_text(w, g->title);
		put_num(w, g->current);
		put_num(w, g->threshold);
		put_text(w, g->at_most ? "at most" : "at least");
		put_bool(w, g->met);
		put_text(w, g->missing);
		row_end(w);
	}
	sheet_end(w);
}

static void
sheet_plan(struct writer *w, const struct export_data *d)
{
	static const char *const h[] = {"priority", "priority title",
	    "municipality", "name", "target", "title", "indicator", "status",
	    NULL};
	const struct ucr_view *v = d->view;
	size_t i;
	int k;

	sheet_begin(w, "plan", h);
	for (k = 0; k <= UCR_NPRIORITIES; k++) {
		const struct ucr_view_priority *p = &v->pri[k];

		for (i = 0; i < p->ntargets; i++) {
			const struct ucr_view_target *t =
			    &v->targets[p->targets[i]];

			put_text(w, p->id);
			put_text(w, p->title);
			put_text(w, t->owner);
			put_text(w, mun_name(t->owner));
			put_text(w, t->id);
			put_text(w, t->title);
			put_text(w, t->indicator);
			put_text(w, ucr_view_status_name(t->progress.status));
			row_end(w);
		}
	}
	sheet_end(w);
}

static void
sheet_targets(struct writer *w, const struct export_data *d)
{
	static const char *const h[] = {"key", "municipality", "target",
	    "title", "indicator", "priorities", "direction", "baseline",
	    "baseline year", "target value", "target year", "latest",
	    "latest year", "status", "overdue", NULL};
	const struct ucr_view *v = d->view;
	size_t i;

	sheet_begin(w, "targets", h);
	for (i = 0; i < v->ntargets; i++) {
		const struct ucr_view_target *t = &v->targets[i];

		put_text(w, t->key);
		put_text(w, t->owner);
		put_text(w, t->id);
		put_text(w, t->title);
		put_text(w, t->indicator);
		put_list(w, (char *const *)t->priorities, t->npriorities);
		put_text(w, t->decrease ? "decrease" : "increase");
		put_num(w, t->has_baseline ? t->baseline : NAN);
		put_int(w, t->baseline_year, 1);
		put_num(w, t->has_target ? t->target : NAN);
		put_int(w, t->target_year, 1);
		put_num(w, t->has_latest ? t->latest : NAN);
		put_int(w, t->has_latest ? t->latest_year : 0, 1);
		put_text(w, ucr_view_status_name(t->progress.status));
		put_bool(w, t->overdue);
		row_end(w);
	}
	sheet_end(w);
}

static void
sheet_measurements(struct writer *w, const struct export_data *d)
{
	static const char *const h[] = {"key", "municipality", "indicator",
	    "year", "gender", "value", "status", NULL};
	struct rec_iter it;
	const Ucr__Record *r;

	sheet_begin(w, "measurements", h);
	for (r = rec_first(&it, w, d, "measure"); r != NULL;
	     r = rec_next(&it)) {
		const Ucr__Measurement *m = r->measurement;

		if (r->body_case != UCR__RECORD__BODY_MEASUREMENT)
			continue;
		put_text(w, r->key);
		put_text(w, *m->area ? m->area : r->owner);
		put_text(w, m->indicator);
		put_int(w, m->year, 1);
		put_text(w, ENUM_NAME(gender_names, m->gender));
		put_dec(w, m->value);
		put_text(w, ENUM_NAME(mstatus_names, m->status));
		row_end(w);
	}
	sheet_end(w);
}

static void
sheet_projects(struct writer *w, const struct export_data *d)
{
	static const char *const h[] = {"key", "lead", "title", "partners",
	    "priorities", "start", "end", "budget SEK", "funder", "status",
	    "programme", NULL};
	struct rec_iter it;
	const Ucr__Record *r;

	sheet_begin(w, "projects", h);
	for (r = rec_first(&it, w, d, "project"); r != NULL;
	     r = rec_next(&it)) {
		const Ucr__Project *p = r->project;

		if (r->body_case != UCR__RECORD__BODY_PROJECT)
			continue;
		put_text(w, r->key);
		put_text(w, *p->lead ? p->lead : r->owner);
		put_text(w, p->title);
		put_list(w, p->partners, p->n_partners);
		put_list(w, p->priorities, p->n_priorities);
		put_date(w, p->start);
		put_date(w, p->end);
		put_int(w, p->budget_sek, 1);
		put_text(w, p->funder);
		put_text(w, ENUM_NAME(pstatus_names, p->status));
		put_bool(w, p->counts_for_programme);
		row_end(w);
	}
	sheet_end(w);
}

static void
sheet_networks(struct writer *w, const struct export_data *d)
{
	static const char *const h[] = {"key", "municipality", "name", "scope",
	    "joined", "new in programme", NULL};
	struct rec_iter it;
	const Ucr__Record *r;

	sheet_begin(w, "networks", h);
	for (r = rec_first(&it, w, d, "network"); r != NULL;
	     r = rec_next(&it)) {
		const Ucr__Network *n = r->network;

		if (r->body_case != UCR__RECORD__BODY_NETWORK)
			continue;
		put_text(w, r->key);
		put_text(w, r->owner);
		put_text(w, n->name);
		put_text(w, ENUM_NAME(scope_names, n->scope));
		put_date(w, n->joined);
		put_bool(w, n->new_in_programme);
		row_end(w);
	}
	sheet_end(w);
}

static void
sheet_meetings(struct writer *w, const struct export_data *d)
{
	static const char *const h[] = {"key", "municipality", "kind", "date",
	    "title", "group", "women", "men", "unstated", NULL};
	struct rec_iter it;
	const Ucr__Record *r;

	sheet_begin(w, "meetings", h);
	for (r = rec_first(&it, w, d, "meeting"); r != NULL;
	     r = rec_next(&it)) {
		const Ucr__Meeting *m = r->meeting;

		if (r->body_case != UCR__RECORD__BODY_MEETING)
			continue;
		put_text(w, r->key);
		put_text(w, r->owner);
		put_text(w, ENUM_NAME(mkind_names, m->kind));
		put_date(w, m->date);
		put_text(w, m->title);
		put_text(w, m->group);
		put_int(w, m->women, 0);
		put_int(w, m->men, 0);
		put_int(w, m->unstated, 0);
		row_end(w);
	}
	sheet_end(w);
}

static void
write_sheets(struct writer *w, const struct export_data *d)
{
	sheet_goals(w, d);
	sheet_plan(w, d);
	sheet_targets(w, d);
	sheet_measurements(w, d);
	sheet_projects(w, d);
	sheet_networks(w, d);
	sheet_meetings(w, d);
}

/* ------------------------------------------------------------ formats */

/* "wrote FILE: goals 6, plan 12, ..." or the same as JSON. */
static int
summary(const struct writer *w, const char *format, const char *path, int json)
{
	json_t *j, *sheets;
	int i;

	if (!json) {
		printf(_("wrote %s:"), path);
		for (i = 0; i < w->nsheets; i++)
			printf("%s %s %u", i ? "," : "", w->names[i],
			    w->rows[i]);
		putchar('\n');
		return 0;
	}
	sheets = json_object();
	for (i = 0; sheets != NULL && i < w->nsheets; i++)
		json_object_set_new(sheets, w->names[i],
		    json_integer(w->rows[i]));
	j = json_pack("{s:s, s:s, s:o}", "format", format, "path", path, "rows",
	    sheets);
	if (j == NULL) {
		cli_error("out of memory");
		return 1;
	}
	i = cli_json_print(j);
	json_decref(j);
	return i;
}

static int
export_xlsx(const char *path, const struct export_data *d, int json)
{
	struct writer w;
	lxw_workbook_options opt = {0};
	lxw_error err;
	char tmp[4096];
	FILE *f;

	memset(&w, 0, sizeof(w));
	w.kind = W_XLSX;
	/* libxlsxwriter writes the file only at close: give it a name of
	   its own and rename it into place when it is complete. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* libxlsxwriter finds out at the very end, and prints its own
	   lines: ask first whether the file can be made at all. */
	if ((f = fopen(tmp, "w")) == NULL) {
		cli_error("export: %s: %s", tmp, strerror(errno));
		return 1;
	}
	fclose(f);
	opt.use_zip64 = LXW_FALSE;
	/* Rows go out as they are written (each sheet through a temporary
	   file): the workbook's memory stays one row's, whatever the store
	   holds. Strings are then inline in their cells, not shared. */
	opt.constant_memory = LXW_TRUE;
	w.wb = workbook_new_opt(tmp, &opt);
	if (w.wb == NULL) {
		cli_error("export: %s: out of memory", path);
		return 1;
	}
	w.head = workbook_add_format(w.wb);
	format_set_bold(w.head);
	format_set_bottom(w.head, LXW_BORDER_THIN);
	w.date = workbook_add_format(w.wb);
	format_set_num_format(w.date, "yyyy-mm-dd");
	write_sheets(&w, d);
	err = workbook_close(w.wb);
	if (err != LXW_NO_ERROR) {
		if (!w.failed)
			cli_error("export: %s: %s", path, lxw_strerror(err));
		unlink(tmp);
		return 1;
	}
	if (w.failed) {
		unlink(tmp);
		return 1;
	}
	if (rename(tmp, path) != 0) {
		cli_error("export: %s: %s", path, strerror(errno));
		unlink(tmp);
		return 1;
	}
	return summary(&w, "xlsx", path, json);
}

static int
export_csv(const char *dir, int semicolon, const struct export_data *d,
    int json)
{
	struct writer w;

	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		cli_error("export: %s: %s", dir, strerror(errno));
		return 1;
	}
	memset(&w, 0, sizeof(w));
	w.kind = W_CSV;
	w.dir = dir;
	w.sep = semicolon ? ';' : ',';
	w.dec = semicolon ? ',' : '.';
	write_sheets(&w, d);
	if (w.failed)
		return 1;
	return summary(&w, "csv", dir, json);
}

int
cmd_export(int argc, char **argv)
{
	struct cli_flags fl;
	struct export_data d;
	const char *xlsx, *csv;
	int rc, json;

	CLI_BEGIN(&fl, "xlsx= csv= semicolon json", argc, argv);
	xlsx = cli_flag(&fl, "xlsx");
	csv = cli_flag(&fl, "csv");
	if (fl.npos != 0 || (xlsx == NULL) == (csv == NULL) ||
	    (xlsx != NULL && *xlsx == '\0') || (csv != NULL && *csv == '\0'))
		return cli_misuse(argv[0]);
	/* libxlsxwriter is loaded now, not at every ucr's start (dl.h):
	   before anything is read or made, so that without it nothing is */
	if (xlsx != NULL && dl_xlsxwriter("export") != 0)
		return 1;
	if (export_load(&d) != 0)
		return 1;
	json = cli_flag_set(&fl, "json");
	rc = xlsx ? export_xlsx(xlsx, &d, json)
		  : export_csv(csv, cli_flag_set(&fl, "semicolon"), &d, json);
	export_data_free(&d);
	return rc;
}
