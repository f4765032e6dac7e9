/*
 * kolada.c: "ucr kolada fetch": the node's own municipality's values of
 * some Kolada indicators, fetched from the Kolada API (v2) with libcurl
 * (loaded when the command starts, dl.h) and imported through the same
 * path as "ucr import --kolada".
 *
 * Every page (next_page) is fetched before anything is imported; the
 * pages' rows then go to the importer as one Kolada document, and to the
 * daemon as one signed batch. A failed page, a malformed answer or a
 * refused row imports nothing. Transient failures (no connection, a
 * timeout, a cut transfer, HTTP 5xx or 429) are tried again after 1, 2,
 * 4 ... seconds. Budgets: one answer at most KOLADA_MAXBODY bytes, at most
 * KOLADA_MAXPAGES pages, and next_page only on the origin first asked.
 * libcurl honours the usual proxy variables (docs/cli.md). The KPIs'
 * titles (GET /kpi/{ids}) become Indicator records where none is declared.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli.h"
#include "clijson.h"
#include "dl.h"
#include "error.h"
#include "import.h"
#include "record.h"

#define KOLADA_BASE_URL "https://api.kolada.se/v2"
#define KOLADA_MAXBODY (64 << 20) /* one answer: 64 MiB */
#define KOLADA_MAXPAGES 1000
#define KOLADA_MAXKPIS 25  /* ids in one request path */
#define KOLADA_MAXDELAY 30 /* seconds between tries, at most */

/* One answer's body, growing up to KOLADA_MAXBODY. */
struct body {
	char *p;
	size_t len, cap;
	int over; /* the answer was larger than the budget */
};

struct fetch {
	CURL *curl;
	char err[CURL_ERROR_SIZE];
	struct body body;
	long timeout_s;
	int retries;  /* tries after the first */
	int progress; /* stderr is a terminal */
	size_t pages, rows;
};

static size_t
body_write(char *ptr, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = size * n;
	char *p;

	if (len > KOLADA_MAXBODY - b->len) {
		b->over = 1;
		return 0; /* libcurl stops with CURLE_WRITE_ERROR */
	}
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;

		while (cap < b->len + len + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL)
			return 0;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, ptr, len);
	b->len += len;
	b->p[b->len] = '\0';
	return len;
}

/* Worth another try: the network or the server, not the request. */
static int
transient(CURLcode rc, long status)
{
	switch (rc) {
	case CURLE_OK:
		return status >= 500 || status == 429;
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_SSL_CONNECT_ERROR:
		return 1;
	default:
		return 0;
	}
}

static void
progress_clear(struct fetch *f)
{
	if (f->progress)
		fputs("\r\033[K", stderr);
}

/*
 * GET url and parse the answer as JSON into *out (caller json_decrefs).
 * Prints the error and returns -1 when every try failed, the server
 * refused the request, or the answer is not JSON.
 */
static int
fetch_json(struct fetch *f, const char *url, json_t **out)
{
	json_error_t jerr;
	CURLcode rc;
	long status = 0;
	int try;
	unsigned delay;

	*out = NULL;
	for (try = 0;; try++) {
		f->body.len = 0;
		f->body.over = 0;
		f->err[0] = '\0';
		curl_easy_setopt(f->curl, CURLOPT_URL, url);
		rc = curl_easy_perform(f->curl);
		status = 0;
		curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &status);
		if (rc == CURLE_OK && status == 200)
			break;
		if (!transient(rc, status) || try >= f->retries) {
			progress_clear(f);
			if (f->body.over)
				cli_error("kolada: %s: the answer is larger "
					  "than %d MiB",
				    url, KOLADA_MAXBODY >> 20);
			else if (rc == CURLE_OPERATION_TIMEDOUT)
				cli_error("kolada: %s: no answer within %ld s "
					  "(%d tr%s)",
				    url, f->timeout_s, try + 1,
				    try ? "ies" : "y");
			else if (rc != CURLE_OK)
				cli_error("kolada: %s: %s (%d tr%s)", url,
				    f->err[0] ? f->err : curl_easy_strerror(rc),
				    try + 1, try ? "ies" : "y");
			else
				cli_error("kolada: %s: HTTP %ld (%d tr%s)", url,
				    status, try + 1, try ? "ies" : "y");
			return -1;
		}
		delay = 1u << (try < 5 ? try : 5);
		if (delay > KOLADA_MAXDELAY)
			delay = KOLADA_MAXDELAY;
		if (f->progress) {
			fputs("\r\033[K", stderr);
			fprintf(stderr, _("kolada: %s, again in %u s"),
			    rc != CURLE_OK ? curl_easy_strerror(rc)
					   : _("server error"),
			    delay);
			fflush(stderr);
		}
		sleep(delay);
	}
	*out = json_loadb(f->body.p ? f->body.p : "", f->body.len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (*out == NULL) {
		progress_clear(f);
		cli_error("kolada: %s: malformed JSON (line %d: %s); nothing "
			  "imported",
		    url, jerr.line, jerr.text);
		return -1;
	}
	return 0;
}

/* "scheme://host[:port]" of url: its length, or 0 if it has none. */
static size_t
origin_len(const char *url)
{
	const char *p = strstr(url, "://");

	if (p == NULL)
		return 0;
	p += 3;
	p += strcspn(p, "/?#");
	return (size_t)(p - url);
}

/* KPI ids: "N00401,U00405": letters and digits, comma-separated. */
static int
kpis_ok(const char *s)
{
	size_t n = 1, len = 0;

	if (*s == '\0')
		return 0;
	for (; *s; s++) {
		if (*s == ',') {
			if (len == 0)
				return 0;
			n++;
			len = 0;
		} else if (isalnum((unsigned char)*s) && len < 32)
			len++;
		else
			return 0;
	}
	return len > 0 && n <= KOLADA_MAXKPIS;
}

/* "2015-2022" or "2022" into "2015,2016,...,2022" (buf). */
static int
years_list(const char *s, char *buf, size_t len)
{
	int from, to, n = 0, y;
	size_t off = 0;

	if (sscanf(s, "%4d-%4d%n", &from, &to, &n) == 2 && s[n] == '\0')
		;
	else if (sscanf(s, "%4d%n", &from, &n) == 1 && s[n] == '\0')
		to = from;
	else
		return -1;
	if (from < 1900 || to > 2100 || from > to)
		return -1;
	buf[0] = '\0';
	for (y = from; y <= to; y++) {
		if (off + 6 >= len)
			return -1;
		off += (size_t)snprintf(buf + off, len - off, "%s%d",
		    y > from ? "," : "", y);
	}
	return 0;
}

static void
fetch_free(struct fetch *f)
{
	if (f->curl != NULL)
		curl_easy_cleanup(f->curl);
	free(f->body.p);
	memset(f, 0, sizeof(*f));
}

static int
fetch_init(struct fetch *f, long timeout_s, int retries)
{
	memset(f, 0, sizeof(*f));
	f->timeout_s = timeout_s;
	f->retries = retries;
	f->progress = isatty(STDERR_FILENO);
	if ((f->curl = curl_easy_init()) == NULL) {
		cli_error("kolada: cannot start libcurl");
		return -1;
	}
	curl_easy_setopt(f->curl, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(f->curl, CURLOPT_WRITEDATA, &f->body);
	curl_easy_setopt(f->curl, CURLOPT_ERRORBUFFER, f->err);
	curl_easy_setopt(f->curl, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(f->curl, CURLOPT_CONNECTTIMEOUT, timeout_s);
	curl_easy_setopt(f->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(f->curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(f->curl, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(f->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(f->curl, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(f->curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(f->curl, CURLOPT_USERAGENT, "ucr/" UCR_VERSION);
	return 0;
}

/*
 * Fetch every page from url on into rows (a JSON array that gets each
 * page's "values"). Prints the error; 0 or -1.
 */
static int
fetch_pages(struct fetch *f, const char *first, json_t *rows)
{
	const char *next;
	char *url;
	size_t olen = origin_len(first);
	json_t *doc = NULL, *vals;
	int rc = -1;

	if ((url = strdup(first)) == NULL) {
		cli_error("kolada: out of memory");
		return -1;
	}
	for (;;) {
		if (f->pages >= KOLADA_MAXPAGES) {
			cli_error("kolada: more than %d pages; fetch fewer "
				  "indicators or years",
			    KOLADA_MAXPAGES);
			goto leave;
		}
		if (f->progress) {
			fputs("\r\033[K", stderr);
			fprintf(stderr, _("kolada: page %zu, %zu rows"),
			    f->pages + 1, f->rows);
			fflush(stderr);
		}
		if (fetch_json(f, url, &doc) != 0)
			goto leave;
		f->pages++;
		vals =
		    json_is_object(doc) ? json_object_get(doc, "values") : NULL;
		if (!json_is_array(vals)) {
			progress_clear(f);
			cli_error("kolada: %s: not a Kolada answer (no "
				  "\"values\" array); nothing imported",
			    url);
			goto leave;
		}
		f->rows += json_array_size(vals);
		if (json_array_extend(rows, vals) != 0) {
			cli_error("kolada: out of memory");
			goto leave;
		}
		next = json_string_value(json_object_get(doc, "next_page"));
		if (next == NULL || *next == '\0')
			break;
		/* Kolada names the next page by its full address; follow
		   it only where the first page came from. */
		if (origin_len(next) != olen ||
		    strncmp(next, first, olen) != 0) {
			progress_clear(f);
			cli_error("kolada: next_page '%.200s' is not on %.*s; "
				  "nothing imported",
			    next, (int)olen, first);
			goto leave;
		}
		free(url);
		if ((url = strdup(next)) == NULL) {
			cli_error("kolada: out of memory");
			goto leave;
		}
		json_decref(doc);
		doc = NULL;
	}
	progress_clear(f);
	rc = 0;
leave:
	json_decref(doc);
	free(url);
	return rc;
}

/* ------------------------------------------------------------ titles */

/* Does the store hold key (a current record)? */
static int
held_cb(const struct ucr_rec *r, void *arg)
{
	(void)r;
	*(int *)arg = 1;
	return 0;
}

static int
held(struct ucr_store *s, const char *key)
{
	int found = 0;

	return ucr_store_get(s, key, held_cb, &found) == 0 && found;
}

/* s cut to at most max bytes, not inside a UTF-8 sequence. */
static char *
utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	return strndup(s, n);
}

/* Is id one of the comma-separated ids in list? */
static int
listed(const char *list, const char *id)
{
	size_t n = strlen(id);
	const char *p;

	for (p = list; (p = strstr(p, id)) != NULL; p++)
		if ((p == list || p[-1] == ',') &&
		    (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

/*
 * KPI titles (GET /kpi/{ids}) as Indicator records, for the ids that
 * neither this node nor the region has declared yet: a declaration made
 * with "ucr indicator" (its title and unit) is never replaced. Kolada
 * gives no unit; the record's is left empty. Records go into out, an
 * import set of its own (import_free frees it). 0 or -1 (printed).
 */
static int
fetch_titles(struct fetch *f, const char *base, size_t blen, const char *kpis,
    const struct ucr_config *cfg, struct import_set *out)
{
	struct ucr_store *s = NULL;
	char *url = NULL, key[256], rkey[256], why[256];
	json_t *kv = NULL, *el;
	size_t i, n, pages, rows;
	int rc = -1, orc;

	memset(out, 0, sizeof(*out));
	if (asprintf(&url, "%.*s/kpi/%s", (int)blen, base, kpis) < 0) {
		url = NULL;
		cli_error("kolada: out of memory");
		goto leave;
	}
	if ((kv = json_array()) == NULL) {
		cli_error("kolada: out of memory");
		goto leave;
	}
	/* Whether a title is declared already is read in the store: one
	   that cannot be read (not this user's) gets no titles, rather than
	   titles that might replace a declaration. */
	if ((orc = ucr_store_open(&s, cfg->data, UCR_STORE_RDONLY,
		 cfg->map_size)) != 0) {
		fprintf(stderr,
		    _("ucr: kolada: KPI titles left out: cannot read the store "
		      "%s (%s) to see which indicators are declared\n"),
		    cfg->data, ucr_strerror_l(orc));
		s = NULL;
		rc = 0;
		goto leave;
	}
	pages = f->pages;
	rows = f->rows;
	rc = fetch_pages(f, url, kv);
	f->pages = pages; /* the counts are the values' */
	f->rows = rows;
	if (rc != 0)
		goto leave;
	rc = -1;
	n = json_array_size(kv);
	out->puts = calloc(n ? n : 1, sizeof(*out->puts));
	out->row = calloc(n ? n : 1, sizeof(*out->row));
	if (out->puts == NULL || out->row == NULL) {
		cli_error("kolada: out of memory");
		goto leave;
	}
	out->cap = n;
	json_array_foreach(kv, i, el)
	{
		const char *id = json_string_value(json_object_get(el, "id"));
		const char *title =
		    json_string_value(json_object_get(el, "title"));
		Ucr__Record *r;
		Ucr__Indicator *ind;

		if (id == NULL || title == NULL || *title == '\0' ||
		    !listed(kpis, id))
			continue;
		snprintf(key, sizeof(key), "%s/indicator/%s", cfg->owner, id);
		snprintf(rkey, sizeof(rkey), UCR_REGION "/indicator/%s", id);
		if (held(s, key) || held(s, rkey))
			continue;
		r = calloc(1, sizeof(*r));
		ind = calloc(1, sizeof(*ind));
		if (r == NULL || ind == NULL) {
			free(r);
			free(ind);
			cli_error("kolada: out of memory");
			goto leave;
		}
		ucr__record__init(r);
		ucr__indicator__init(ind);
		r->body_case = UCR__RECORD__BODY_INDICATOR;
		r->indicator = ind;
		out->puts[out->n].record = r;
		out->puts[out->n].mode = UCR_PUT_UPSERT;
		out->row[out->n++] = i + 1;
		r->key = strdup(key);
		r->owner = strdup(cfg->owner);
		ind->id = strdup(id);
		ind->title = utf8_cut(title, 256);
		ind->unit = strdup("");
		if (r->key == NULL || r->owner == NULL || ind->id == NULL ||
		    ind->title == NULL || ind->unit == NULL) {
			cli_error("kolada: out of memory");
			goto leave;
		}
		if (ucr_record_validate(r, why, sizeof(why)) != 0) {
			cli_error("kolada: %s: KPI '%s': %s; nothing imported",
			    url, id, why);
			goto leave;
		}
	}
	rc = 0;
leave:
	if (rc != 0)
		import_free(out);
	ucr_store_free(s);
	json_decref(kv);
	free(url);
	return rc;
}

static void
print_fetch(const struct import_set *set, const struct import_set *titles,
    const struct fetch *f, const char *kpis, const char *years, int dry,
    int json, const Ucr__Reply *reply)
{
	json_t *o;

	if (!json) {
		printf(dry ? ngettext("would import %zu record from Kolada",
				 "would import %zu records from Kolada", set->n)
			   : ngettext("imported %zu record from Kolada",
				 "imported %zu records from Kolada", set->n),
		    set->n);
		printf(ngettext(" (%s, %s: %zu row, ", " (%s, %s: %zu rows, ",
			   f->rows),
		    kpis, years, f->rows);
		printf(ngettext("%zu page)", "%zu pages)", f->pages), f->pages);
		if (titles->n > 0)
			printf(ngettext(" and %zu indicator title",
				   " and %zu indicator titles", titles->n),
			    titles->n);
		putchar('\n');
		return;
	}
	o = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:b}", "kpi", kpis,
	    "years", years, "pages", (json_int_t)f->pages, "rows",
	    (json_int_t)f->rows, "records", (json_int_t)set->n, "indicators",
	    (json_int_t)titles->n, "skipped_other",
	    (json_int_t)set->skipped_other, "dry_run", dry);
	if (o != NULL && reply != NULL) {
		json_object_set_new(o, "first_seq",
		    json_integer((json_int_t)reply->first_seq));
		json_object_set_new(o, "last_seq",
		    json_integer((json_int_t)reply->last_seq));
	}
	if (o != NULL)
		cli_json_print(o);
	json_decref(o);
}

static int
kolada_fetch(struct cli_flags *fl)
{
	struct ucr_config *cfg = NULL;
	struct import_set sets[2]; /* the values, the titles */
	struct fetch f;
	Ucr__Reply *reply = NULL;
	const char *kpis = cli_flag(fl, "kpi"), *years = cli_flag(fl, "years");
	const char *base = cli_flag(fl, "base-url"), *v;
	char ylist[1024], why[1024], *url = NULL, *end;
	json_t *rows = NULL, *doc = NULL;
	long timeout_s = 30, retries = 3;
	size_t blen;
	int dry = cli_flag_set(fl, "dry-run"), status = 1;

	memset(sets, 0, sizeof(sets));
	memset(&f, 0, sizeof(f));
	if (kpis == NULL || years == NULL || fl->npos != 1)
		return cli_misuse("kolada");
	if (!kpis_ok(kpis)) {
		cli_error("kolada: --kpi '%s': KPI ids are letters and digits, "
			  "at most %d, comma-separated (N00401,U00405)",
		    kpis, KOLADA_MAXKPIS);
		return EXIT_USAGE;
	}
	if (years_list(years, ylist, sizeof(ylist)) != 0) {
		cli_error("kolada: --years '%s': give FROM-TO (2015-2022) or "
			  "one year, within 1900-2100",
		    years);
		return EXIT_USAGE;
	}
	if ((v = cli_flag(fl, "timeout")) != NULL) {
		timeout_s = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || timeout_s < 1 ||
		    timeout_s > 3600) {
			cli_error("kolada: --timeout '%s': seconds, 1-3600", v);
			return EXIT_USAGE;
		}
	}
	if ((v = cli_flag(fl, "retries")) != NULL) {
		retries = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || retries < 0 || retries > 10) {
			cli_error("kolada: --retries '%s': 0-10", v);
			return EXIT_USAGE;
		}
	}
	if (base == NULL)
		base = KOLADA_BASE_URL;
	blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if ((strncasecmp(base, "http://", 7) != 0 &&
		strncasecmp(base, "https://", 8) != 0) ||
	    origin_len(base) <= 8) {
		cli_error("kolada: --base-url '%s': an http:// or https:// "
			  "address",
		    base);
		return EXIT_USAGE;
	}
	if (cli_load_config(&cfg) != 0)
		return 1;
	if (!ucr_municipality_known(cfg->owner)) {
		cli_error("kolada: Kolada values are a municipality's "
			  "measurements: fetch them on its node, not on the "
			  "region hub");
		goto leave;
	}
	if (asprintf(&url, "%.*s/data/kpi/%s/municipality/%s/year/%s",
		(int)blen, base, kpis, cfg->owner, ylist) < 0) {
		url = NULL;
		cli_error("kolada: out of memory");
		goto leave;
	}
	if (fetch_init(&f, timeout_s, (int)retries) != 0)
		goto leave;
	if ((rows = json_array()) == NULL) {
		cli_error("kolada: out of memory");
		goto leave;
	}
	if (fetch_pages(&f, url, rows) != 0)
		goto leave;
	/* All pages as one Kolada document, read by the importer. */
	if ((doc = json_pack("{s:O}", "values", rows)) == NULL) {
		cli_error("kolada: out of memory");
		goto leave;
	}
	if (import_load_kolada(&sets[0], doc, url, cfg->owner, why,
		sizeof(why)) != 0) {
		cli_error("kolada: %s; nothing imported", why);
		goto leave;
	}
	if (fetch_titles(&f, base, blen, kpis, cfg, &sets[1]) != 0)
		goto leave;
	/* values and titles: one request, one signed batch */
	if (!dry && import_send(cfg, sets, 2, &reply) != 0)
		goto leave;
	print_fetch(&sets[0], &sets[1], &f, kpis, years, dry,
	    cli_flag_set(fl, "json"), reply);
	status = 0;
leave:
	if (reply != NULL)
		ucr__reply__free_unpacked(reply, NULL);
	import_free(&sets[0]);
	import_free(&sets[1]);
	json_decref(doc);
	json_decref(rows);
	fetch_free(&f);
	free(url);
	ucr_config_free(cfg);
	return status;
}

int
cmd_kolada(int argc, char **argv)
{
	struct cli_flags fl;
	int rc;

	CLI_BEGIN(&fl, "kpi= years= base-url= timeout= retries= dry-run json",
	    argc, argv);
	if (fl.npos < 1 || strcmp(fl.pos[0], "fetch") != 0)
		return cli_misuse(argv[0]);
	/* libcurl is loaded now, not at every ucr's start (dl.h) */
	if (dl_curl("kolada") != 0)
		return 1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		cli_error("kolada: cannot start libcurl");
		return 1;
	}
	rc = kolada_fetch(&fl);
	curl_global_cleanup();
	return rc;
}
