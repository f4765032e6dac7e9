/*
 * records.c: the current records, page by page, for show and export:
 * from the hub over the network with a reader's configuration (a
 * RecordQuery frame), from the daemon's control socket when it runs (the
 * Query "records"), else from the store opened read-only, as status
 * chooses. Every path reads the same pages (common/records.h), so a
 * member of the daemon's group, or an executive with a reader key, needs
 * no access to the store files, and neither side holds more than one page
 * however many records the store holds (docs/protocol.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "error.h"
#include "i18n.h"
#include "record.h"
#include "records.h"

static void
page_drop(struct cli_pager *p)
{
	if (p->cur != NULL)
		ucr__record__free_unpacked(p->cur, NULL);
	p->cur = NULL;
	if (p->rep != NULL)
		ucr__reply__free_unpacked(p->rep, NULL);
	p->rep = NULL;
	if (p->ans != NULL)
		ucr__frame__free_unpacked(p->ans, NULL);
	p->ans = NULL;
	if (p->page != NULL) {
		ucr_page_free(p->page);
		free(p->page);
	}
	p->page = NULL;
	p->recs = NULL;
	p->n = p->i = 0;
}

static int
open_store(struct cli_pager *p)
{
	p->via = CLI_VIA_STORE;
	return cli_open_store(&p->store, p->cfg);
}

/* A page from the daemon: 0, 1 when it does not know the query (an older
   daemon: the caller reads the store), -1 after printing the error. */
static int
page_daemon(struct cli_pager *p, const char **next)
{
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__Query q = UCR__QUERY__INIT;

	q.what = "records";
	q.kind = p->kind;
	q.prefix = p->prefix;
	q.after = p->after;
	req.body_case = UCR__REQUEST__BODY_QUERY;
	req.query = &q;
	if (cli_request(p->cfg, &req, &p->rep, 0) != 0)
		return -1;
	if (p->rep->code == UCR_EINVAL && p->first &&
	    strncmp(p->rep->message, "unknown query", 13) == 0)
		return 1;
	if (p->rep->code != 0) {
		cli_error("%s", cli_daemon_text(p->rep->message));
		return -1;
	}
	p->recs = p->rep->records;
	p->n = p->rep->n_records;
	*next = p->rep->next;
	return 0;
}

static int
page_hub(struct cli_pager *p, const char **next)
{
	Ucr__Frame f = UCR__FRAME__INIT;
	Ucr__RecordQuery q = UCR__RECORD_QUERY__INIT;
	const Ucr__RecordAnswer *a;

	q.kind = p->kind;
	q.prefix = p->prefix;
	q.after = p->after;
	f.body_case = UCR__FRAME__BODY_RECORD_QUERY;
	f.record_query = &q;
	if (cli_hub_ask(&p->hub, &f, UCR__FRAME__BODY_RECORD_ANSWER, &p->ans) !=
	    0)
		return -1;
	a = p->ans->record_answer;
	if (a->code != 0) {
		cli_error(_("the hub: %s"), a->message);
		return -1;
	}
	p->recs = a->records;
	p->n = a->n_records;
	*next = a->next;
	return 0;
}

static int
page_store(struct cli_pager *p, const char **next)
{
	struct ucr_page *pg;
	char why[512];
	int rc;

	if ((pg = calloc(1, sizeof(*pg))) == NULL) {
		cli_error("out of memory");
		return -1;
	}
	rc = ucr_records_page(pg, p->store, p->kind, p->prefix, p->after, 0,
	    why, sizeof(why));
	if (rc != 0) {
		free(pg);
		cli_error(_("cannot read %s: %s"), p->cfg->data, why);
		return -1;
	}
	p->page = pg;
	p->recs = pg->recs;
	p->n = pg->n;
	*next = pg->next;
	return 0;
}

/* The next page into p: 0 (p->n may be 0 at the end), -1 printed. */
static int
page_next(struct cli_pager *p)
{
	const char *next = "";
	int rc;

	page_drop(p);
	if (p->done)
		return 0;
	if (p->via == CLI_VIA_DAEMON && (rc = page_daemon(p, &next)) != 0) {
		if (rc < 0)
			return -1;
		page_drop(p);
		if (open_store(p) != 0)
			return -1;
	}
	if ((p->via == CLI_VIA_HUB && page_hub(p, &next) != 0) ||
	    (p->via == CLI_VIA_STORE && page_store(p, &next) != 0))
		return -1;
	p->first = 0;
	if (*next == '\0') {
		p->done = 1;
		return 0;
	}
	/* A page that does not move on would never end. */
	if (strlen(next) >= sizeof(p->after) || strcmp(next, p->after) <= 0) {
		cli_error(_("the records' pages do not advance (after '%s' "
			    "came '%s'): stopped"),
		    p->after, next);
		return -1;
	}
	snprintf(p->after, sizeof(p->after), "%s", next);
	return 0;
}

int
cli_pager_open(struct cli_pager *p, const struct ucr_config *cfg,
    const char *kind, const char *prefix)
{
	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->first = 1;
	snprintf(p->kind, sizeof(p->kind), "%s", kind ? kind : "");
	snprintf(p->prefix, sizeof(p->prefix), "%s", prefix ? prefix : "");
	if (cfg->is_reader) {
		p->via = CLI_VIA_HUB;
		return cli_hub_open(&p->hub, cfg);
	}
	if (cli_daemon_up(cfg)) {
		p->via = CLI_VIA_DAEMON;
		return 0;
	}
	return open_store(p);
}

void
cli_pager_again(struct cli_pager *p, const char *kind, const char *prefix)
{
	page_drop(p);
	p->done = 0;
	p->first = p->via == CLI_VIA_DAEMON;
	p->after[0] = '\0';
	snprintf(p->kind, sizeof(p->kind), "%s", kind ? kind : "");
	snprintf(p->prefix, sizeof(p->prefix), "%s", prefix ? prefix : "");
}

int
cli_pager_next(struct cli_pager *p, const struct ucr_rec **r,
    const Ucr__Record **dec)
{
	const Ucr__ViewRecord *v;
	static const uint8_t nobody[UCR_PK_LEN];

	*r = NULL;
	*dec = NULL;
	if (p->cur != NULL)
		ucr__record__free_unpacked(p->cur, NULL);
	p->cur = NULL;
	while (p->i >= p->n) {
		if (p->done)
			return 0;
		if (page_next(p) != 0)
			return -1;
	}
	v = p->recs[p->i++];
	if (ucr_record_decode(&p->cur, v->record.data, v->record.len) != 0)
		p->cur = NULL;
	memset(&p->rec, 0, sizeof(p->rec));
	p->rec.key = p->cur ? p->cur->key : "";
	p->rec.author = v->author.len == UCR_PK_LEN ? v->author.data : nobody;
	p->rec.seq = v->seq;
	p->rec.time = v->time;
	p->rec.bytes = v->record.data;
	p->rec.len = v->record.len;
	/* the bytes as stored: their hash is the stored one */
	ucr_hash(p->hash, v->record.data, v->record.len);
	p->rec.hash = p->hash;
	*r = &p->rec;
	*dec = p->cur;
	return 1;
}

void
cli_pager_close(struct cli_pager *p)
{
	page_drop(p);
	if (p->via == CLI_VIA_HUB)
		cli_hub_close(&p->hub);
	ucr_store_free(p->store);
	memset(p, 0, sizeof(*p));
}

/* The counts as JSON (ucr_records_changed_json) into counts: 0, or 1 when
   absent or not of that form. */
static int
changed_parse(const char *text, uint64_t *counts)
{
	json_t *o, *v;
	size_t i;
	int rc = 0;

	if (text == NULL || *text == '\0' ||
	    (o = json_loads(text, 0, NULL)) == NULL)
		return 1;
	for (i = 0; i < UCR_CHANGE_NKINDS; i++) {
		v = json_object_get(o, ucr_change_kinds[i]);
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			rc = 1;
			break;
		}
		counts[i] = (uint64_t)json_integer_value(v);
	}
	json_decref(o);
	return rc;
}

int
cli_pager_changed(struct cli_pager *p, uint64_t since, uint64_t *counts)
{
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__Query q = UCR__QUERY__INIT;
	Ucr__Frame f = UCR__FRAME__INIT;
	Ucr__RecordQuery rq = UCR__RECORD_QUERY__INIT;
	const Ucr__RecordAnswer *a;
	int rc;

	page_drop(p);
	if (p->via == CLI_VIA_STORE) {
		if ((rc = ucr_records_changed(p->store, since, counts)) != 0) {
			cli_error(_("cannot read %s: %s"), p->cfg->data,
			    ucr_strerror(rc));
			return -1;
		}
		return 0;
	}
	if (p->via == CLI_VIA_HUB) {
		/* an older hub ignores changed_since: one record back */
		rq.changed_since = since;
		rq.limit = 1;
		f.body_case = UCR__FRAME__BODY_RECORD_QUERY;
		f.record_query = &rq;
		if (cli_hub_ask(&p->hub, &f, UCR__FRAME__BODY_RECORD_ANSWER,
			&p->ans) != 0)
			return -1;
		a = p->ans->record_answer;
		if (a->code != 0) {
			cli_error(_("the hub: %s"), a->message);
			return -1;
		}
		rc = changed_parse(a->changed, counts);
		page_drop(p);
		return rc;
	}
	q.what = "records";
	q.changed_since = since;
	q.limit = 1; /* as above, for an older daemon */
	req.body_case = UCR__REQUEST__BODY_QUERY;
	req.query = &q;
	if (cli_request(p->cfg, &req, &p->rep, 0) != 0)
		return -1;
	if (p->rep->code == UCR_EINVAL &&
	    strncmp(p->rep->message, "unknown query", 13) == 0) {
		page_drop(p);
		return 1;
	}
	if (p->rep->code != 0) {
		cli_error("%s", cli_daemon_text(p->rep->message));
		return -1;
	}
	rc = changed_parse(p->rep->json, counts);
	page_drop(p);
	return rc;
}
