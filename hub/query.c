/*
 * query.c: the view over the network. A key enrolled at the hub (a
 * reader's: an executive's computer; or a node's) sends a ViewQuery on its
 * CURVE connection; the hub runs the view's loader on its store and
 * answers with a ViewAnswer holding the fold's inputs, which ucr folds and
 * prints (docs/view.md). A RecordQuery gets one page of current records
 * (show, export; common/records.h): the hub holds that one page for the
 * request and no more, however large the store. Queries never write: a reader's
 * key is refused every write by the roster rules (roster.c), whatever it sends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "error.h"
#include "hub.h"
#include "log.h"
#include "records.h"
#include "view.h"

void
query_view(struct hub *h, const struct ucr_wire_msg *m, const Ucr__ViewQuery *q)
{
	Ucr__Frame f = UCR__FRAME__INIT;
	Ucr__ViewAnswer a = UCR__VIEW_ANSWER__INIT;
	uint8_t *buf = NULL;
	size_t len = 0;
	char msg[256];
	int rc;

	rc = ucr_view_load_packed(&buf, &len, h->d.store,
	    q->now ? q->now : ucr_hlc_next(0));
	if (rc == 0 && len > UCR_WIRE_MAXMSG - 1024) {
		rc = UCR_ETOOBIG;
		free(buf);
		buf = NULL;
		len = 0;
	}
	if (rc != 0) {
		snprintf(msg, sizeof(msg), "cannot read the view: %s",
		    ucr_strerror(rc));
		a.code = rc;
		a.message = msg;
		log_info("peer %s: view query: %s", m->user, msg);
	}
	a.view.data = buf;
	a.view.len = len;
	f.body_case = UCR__FRAME__BODY_VIEW_ANSWER;
	f.view_answer = &a;
	if ((rc = ucr_wire_send(h->router, m->rid, m->ridlen, &f, 1)) != 0)
		log_info("peer %s: view answer not sent: %s", m->user,
		    ucr_strerror(rc));
	else
		log_debug("peer %s: view answered (%zu bytes)", m->user, len);
	free(buf);
}

void
query_records(struct hub *h, const struct ucr_wire_msg *m,
    const Ucr__RecordQuery *q)
{
	Ucr__Frame f = UCR__FRAME__INIT;
	Ucr__RecordAnswer a = UCR__RECORD_ANSWER__INIT;
	struct ucr_page pg;
	uint64_t counts[UCR_CHANGE_NKINDS];
	char why[512], changed[256];
	int rc;

	memset(&pg, 0, sizeof(pg));
	if (q->changed_since != 0) {
		/* the counts only: one pass, no page (records.h) */
		if ((rc = ucr_records_changed(h->d.store, q->changed_since,
			 counts)) != 0) {
			snprintf(why, sizeof(why),
			    "cannot count the changes: %s", ucr_strerror(rc));
			a.code = rc;
			a.message = why;
			log_info("peer %s: record query: %s", m->user, why);
		} else {
			ucr_records_changed_json(counts, changed,
			    sizeof(changed));
			a.changed = changed;
		}
		goto send;
	}
	rc = ucr_records_page(&pg, h->d.store, q->kind, q->prefix, q->after,
	    q->limit, why, sizeof(why));
	if (rc != 0) {
		a.code = rc;
		a.message = why;
		log_info("peer %s: record query refused: %s", m->user, why);
	} else {
		a.n_records = pg.n;
		a.records = pg.recs;
		a.next = pg.next;
	}
send:
	f.body_case = UCR__FRAME__BODY_RECORD_ANSWER;
	f.record_answer = &a;
	if ((rc = ucr_wire_send(h->router, m->rid, m->ridlen, &f, 1)) != 0)
		log_info("peer %s: record answer not sent: %s", m->user,
		    ucr_strerror(rc));
	else
		log_debug("peer %s: %zu records answered", m->user, pg.n);
	ucr_page_free(&pg);
}
