/* control.c: the control socket's request handling (see control.h). */
#include <stdarg.h>
#include <stdio.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "chain.h"
#include "control.h"
#include "error.h"
#include "log.h"
#include "record.h"
#include "records.h"
#include "text.h"
#include "view.h"

/* Make msg valid UTF-8 in place (it holds msglen bytes). */
static void
sanitize(char *msg, size_t msglen)
{
	char tmp[2048];
	size_t len = strnlen(msg, msglen);

	if (len >= sizeof(tmp))
		len = sizeof(tmp) - 1;
	memcpy(tmp, msg, len);
	tmp[len] = '\0';
	ucr_utf8_sanitize(msg, msglen, tmp, len);
}

static void reply_error(Ucr__Reply *rep, char *msg, size_t msglen, int code,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
reply_error(Ucr__Reply *rep, char *msg, size_t msglen, int code,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	/* The text may quote record keys and titles from any site: a proto3
	   string must be valid UTF-8, so invalid bytes become U+FFFD. */
	sanitize(msg, msglen);
	rep->code = code;
	rep->message = msg;
}

/*
 * Write n puts in one append. checked: each was checked by check_put when
 * it was staged (a streamed import), so the schema is not checked twice
 * here; the store checks every record once more as it applies the batch.
 */
static void
do_puts(struct ucr_control *c, const ProtobufCBinaryData *id, Ucr__Put **in,
    size_t n, size_t max, int checked, Ucr__Reply *rep, char *msg,
    size_t msglen)
{
	struct ucr_put *puts = NULL;
	char why[512];
	size_t i, bad = 0;
	uint64_t first = 0, last = 0;
	int rc, replayed = 0;

	if (c->may_write && !c->may_write(c->ctx, why, sizeof(why))) {
		reply_error(rep, msg, msglen, UCR_EAGAIN, "%s", why);
		return;
	}
	if (n == 0 || n > max) {
		reply_error(rep, msg, msglen, UCR_EINVAL,
		    "between 1 and %zu records at a time", max);
		return;
	}
	if ((puts = calloc(n, sizeof(*puts))) == NULL) {
		reply_error(rep, msg, msglen, UCR_ENOMEM, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		Ucr__Record *r = in[i] ? in[i]->record : NULL;
		const char *k = r && r->key ? r->key : "?";

		if (r == NULL) {
			reply_error(rep, msg, msglen, UCR_EPROTO,
			    "record %zu: missing", i + 1);
			goto leave;
		}
		if (!checked && ucr_record_validate(r, why, sizeof(why)) != 0) {
			reply_error(rep, msg, msglen, UCR_ESCHEMA, "%s: %s", k,
			    why);
			goto leave;
		}
		if (strcmp(r->owner, c->owner) != 0) {
			reply_error(rep, msg, msglen, UCR_EOWNER,
			    "%s: this daemon writes only records of %s", k,
			    c->owner);
			goto leave;
		}
		if (in[i]->mode < 0 || in[i]->mode > 2 ||
		    in[i]->n_adopt_keys > 256) {
			reply_error(rep, msg, msglen, UCR_EPROTO,
			    "%s: bad mode or too many adopted keys", k);
			goto leave;
		}
		puts[i].record = r;
		puts[i].mode = (enum ucr_put_mode)in[i]->mode;
		puts[i].adopt_keys = (const char *const *)in[i]->adopt_keys;
		puts[i].nadopt = in[i]->n_adopt_keys;
	}
	why[0] = '\0';
	rc = ucr_store_append_once(c->store, c->key, id->data, id->len, puts, n,
	    &first, &last, &replayed, &bad, why, sizeof(why));
	if (rc != 0) {
		reply_error(rep, msg, msglen, rc, "%s",
		    why[0] ? why : ucr_strerror(rc));
		goto leave;
	}
	rep->first_seq = first;
	rep->last_seq = last;
	if (replayed) {
		/* a retry of a write already made: its original result */
		c->replayed++;
		log_info("control: request retried, already written as seq "
			 "%llu-%llu",
		    (unsigned long long)first, (unsigned long long)last);
		goto leave;
	}
	log_debug("control: appended %zu records, seq %llu-%llu", n,
	    (unsigned long long)first, (unsigned long long)last);
	if (c->appended)
		c->appended(c->ctx);
leave:
	free(puts);
}

/* ---------------------------------------------------------------- import
 *
 * A streamed import (docs/import.md): each chunk is checked on arrival
 * and its puts are kept packed; the commit unpacks them all and writes
 * them with one ucr_store_append, one transaction. One import at a time;
 * one left idle for IMPORT_IDLE_S gives way to a new one.
 */
#define IMPORT_IDLE_S 60

struct ucr_import_stage {
	uint64_t id;
	uint8_t *buf; /* each put: 4-byte length, packed Put */
	size_t len, cap, n;
	time_t last;
};

static time_t
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void
stage_free(struct ucr_control *c)
{
	if (c->import == NULL)
		return;
	free(c->import->buf);
	free(c->import);
	c->import = NULL;
}

void
ucr_control_close(struct ucr_control *c)
{
	stage_free(c);
}

/* Check one put as do_puts does, so a bad row is refused at its chunk. */
static int
check_put(struct ucr_control *c, const Ucr__Put *p, size_t at, Ucr__Reply *rep,
    char *msg, size_t msglen)
{
	Ucr__Record *r = p ? p->record : NULL;
	const char *k = r && r->key ? r->key : "?";
	char why[512];

	if (r == NULL) {
		reply_error(rep, msg, msglen, UCR_EPROTO, "record %zu: missing",
		    at + 1);
		return -1;
	}
	if (ucr_record_validate(r, why, sizeof(why)) != 0) {
		reply_error(rep, msg, msglen, UCR_ESCHEMA, "record %zu: %s: %s",
		    at + 1, k, why);
		return -1;
	}
	if (strcmp(r->owner, c->owner) != 0) {
		reply_error(rep, msg, msglen, UCR_EOWNER,
		    "record %zu: %s: this daemon writes only records of %s",
		    at + 1, k, c->owner);
		return -1;
	}
	if (p->mode < 0 || p->mode > 2 || p->n_adopt_keys > 256) {
		reply_error(rep, msg, msglen, UCR_EPROTO,
		    "record %zu: %s: bad mode or too many adopted keys", at + 1,
		    k);
		return -1;
	}
	return 0;
}

static int
stage_put(struct ucr_import_stage *st, const Ucr__Put *p)
{
	size_t n = ucr__put__get_packed_size(p);
	uint8_t *b;

	if (n > UINT32_MAX)
		return UCR_ETOOBIG;
	if (st->len + 4 + n > st->cap) {
		size_t cap = st->cap ? st->cap : 1 << 20;

		while (cap < st->len + 4 + n)
			cap *= 2;
		if ((b = realloc(st->buf, cap)) == NULL)
			return UCR_ENOMEM;
		st->buf = b;
		st->cap = cap;
	}
	b = st->buf + st->len;
	b[0] = n >> 24;
	b[1] = n >> 16;
	b[2] = n >> 8;
	b[3] = n;
	ucr__put__pack(p, b + 4);
	st->len += 4 + n;
	st->n++;
	return 0;
}

/* Unpack every staged put and write them in one append. */
static void
stage_commit(struct ucr_control *c, const ProtobufCBinaryData *id,
    Ucr__Reply *rep, char *msg, size_t msglen)
{
	struct ucr_import_stage *st = c->import;
	Ucr__Put **puts;
	size_t i = 0, off = 0, n;

	if ((puts = calloc(st->n ? st->n : 1, sizeof(*puts))) == NULL) {
		reply_error(rep, msg, msglen, UCR_ENOMEM, "out of memory");
		return;
	}
	while (i < st->n && off + 4 <= st->len) {
		const uint8_t *b = st->buf + off;

		n = (size_t)b[0] << 24 | (size_t)b[1] << 16 |
		    (size_t)b[2] << 8 | b[3];
		if ((puts[i] = ucr__put__unpack(NULL, n, b + 4)) == NULL)
			break;
		off += 4 + n;
		i++;
	}
	if (i != st->n)
		reply_error(rep, msg, msglen, UCR_ENOMEM,
		    "cannot read back the staged import");
	else
		do_puts(c, id, puts, st->n, SIZE_MAX, 1, rep, msg, msglen);
	n = i;
	for (i = 0; i < n; i++)
		ucr__put__free_unpacked(puts[i], NULL);
	free(puts);
}

/* After a large import, hand the freed heap back to the system. */
static void
stage_trim(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

static void
do_import(struct ucr_control *c, const ProtobufCBinaryData *id,
    const Ucr__ImportChunk *ch, Ucr__Reply *rep, char *msg, size_t msglen)
{
	struct ucr_import_stage *st = c->import;
	size_t i;
	char why[512];
	int rc;

	if (ch->id == 0) { /* a new import */
		if (st != NULL && mono_s() - st->last < IMPORT_IDLE_S) {
			reply_error(rep, msg, msglen, UCR_EAGAIN,
			    "another import is in progress; try again in a "
			    "moment");
			return;
		}
		if (c->may_write && !c->may_write(c->ctx, why, sizeof(why))) {
			reply_error(rep, msg, msglen, UCR_EAGAIN, "%s", why);
			return;
		}
		stage_free(c);
		if ((st = calloc(1, sizeof(*st))) == NULL) {
			reply_error(rep, msg, msglen, UCR_ENOMEM,
			    "out of memory");
			return;
		}
		randombytes_buf(&st->id, sizeof(st->id));
		st->id |= 1;
		c->import = st;
	} else if (st == NULL || st->id != ch->id) {
		reply_error(rep, msg, msglen, UCR_ENOTFOUND,
		    "no import %llu in progress (timed out, or the daemon "
		    "restarted)",
		    (unsigned long long)ch->id);
		return;
	}
	st->last = mono_s();
	rep->import_id = st->id;
	if (ch->abort) {
		stage_free(c);
		return;
	}
	for (i = 0; i < ch->n_puts; i++) {
		if (check_put(c, ch->puts[i], st->n, rep, msg, msglen) != 0) {
			stage_free(c); /* all or nothing: the import is over */
			return;
		}
		if ((rc = stage_put(st, ch->puts[i])) != 0) {
			reply_error(rep, msg, msglen, rc,
			    "cannot stage record %zu: %s", st->n + 1,
			    ucr_strerror(rc));
			stage_free(c);
			return;
		}
	}
	rep->staged = st->n;
	if (ch->commit) {
		stage_commit(c, id, rep, msg, msglen);
		stage_free(c);
		/*
		 * The commit's dirty pages stay on LMDB's free list: reopen
		 * the store to give them back. A store that cannot be
		 * opened again is no store to go on with: the daemon stops
		 * (its supervisor starts it again; the import is durable).
		 */
		if (ucr_store_shed(c->store) != 0) {
			log_warnx("control: cannot reopen the store after "
				  "an import; stopping");
			exit(1);
		}
		stage_trim();
	}
}

static void
do_query(struct ucr_control *c, const char *what, Ucr__Reply *rep, char *msg,
    size_t msglen)
{
	struct ucr_store_stats st;
	json_t *o;
	char *s;

	if (strcmp(what, "stats") == 0) {
		if (ucr_store_stats(c->store, &st) != 0) {
			reply_error(rep, msg, msglen, UCR_EIO,
			    "cannot read store");
			return;
		}
		o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "entries",
		    (json_int_t)st.entries, "records", (json_int_t)st.records,
		    "logs", (json_int_t)st.logs, "quarantined",
		    (json_int_t)st.quarantined, "map_size",
		    (json_int_t)st.map_size, "map_used",
		    (json_int_t)st.map_used, "requests",
		    (json_int_t)c->requests);
		s = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		rep->json = s; /* freed by ucr_control_handle */
		return;
	}
	if (c->query) {
		c->query(what, rep, c->ctx);
		return;
	}
	reply_error(rep, msg, msglen, UCR_EINVAL, "unknown query '%s'", what);
}

/*
 * "view": the fold's inputs read by the daemon, which owns the store, so
 * that members of its group query without opening the store files
 * (docs/view.md). The loader reads O(what is printed).
 */
static void
do_view(struct ucr_control *c, const Ucr__Query *q, Ucr__Reply *rep, char *msg,
    size_t msglen)
{
	uint8_t *buf;
	size_t len;
	int rc;

	rc = ucr_view_load_packed(&buf, &len, c->store,
	    q->now ? q->now : ucr_hlc_next(0));
	if (rc != 0) {
		reply_error(rep, msg, msglen, rc, "cannot read the view: %s",
		    ucr_strerror(rc));
		return;
	}
	rep->view.data = buf; /* freed by ucr_control_handle */
	rep->view.len = len;
}

/*
 * "records": one page of current records (records.h), for show and
 * export without access to the store files. The page is the only memory
 * the request holds; it is freed once the reply is packed.
 */
static void
do_records(struct ucr_control *c, const Ucr__Query *q, struct ucr_page *pg,
    Ucr__Reply *rep, char *msg, size_t msglen)
{
	uint64_t counts[UCR_CHANGE_NKINDS];
	char why[512];
	int rc;

	if (q->changed_since != 0) {
		/* the counts only: one pass, no page (records.h) */
		if ((rc = ucr_records_changed(c->store, q->changed_since,
			 counts)) != 0) {
			reply_error(rep, msg, msglen, rc,
			    "records: cannot count the changes: %s",
			    ucr_strerror(rc));
			return;
		}
		if ((rep->json = malloc(256)) == NULL) {
			reply_error(rep, msg, msglen, UCR_ENOMEM,
			    "records: out of memory");
			return;
		}
		/* freed by ucr_control_handle as every Reply.json */
		ucr_records_changed_json(counts, rep->json, 256);
		return;
	}
	rc = ucr_records_page(pg, c->store, q->kind, q->prefix, q->after,
	    q->limit, why, sizeof(why));
	if (rc != 0) {
		reply_error(rep, msg, msglen, rc, "records: %s", why);
		return;
	}
	rep->n_records = pg->n;
	rep->records = pg->recs;
	rep->next = pg->next;
}

int
ucr_control_handle(struct ucr_control *c, const void *buf, size_t len,
    uint8_t **out, size_t *outlen)
{
	Ucr__Request *req;
	Ucr__Reply rep = UCR__REPLY__INIT;
	char msg[1024];
	char *json = NULL;
	uint8_t *view = NULL;
	struct ucr_page page;
	size_t n;

	memset(&page, 0, sizeof(page));
	c->requests++;
	req = len > UCR_CONTROL_MAXMSG ? NULL
				       : ucr__request__unpack(NULL, len, buf);
	if (req == NULL)
		reply_error(&rep, msg, sizeof(msg), UCR_EPROTO,
		    "undecodable request (%zu bytes)", len);
	else {
		switch (req->body_case) {
		case UCR__REQUEST__BODY_PUT:
			do_puts(c, &req->request_id, &req->put, 1, 1, 0, &rep,
			    msg, sizeof(msg));
			break;
		case UCR__REQUEST__BODY_MANY:
			do_puts(c, &req->request_id, req->many->puts,
			    req->many->n_puts, UCR_MAX_BATCH_ENTRIES, 0, &rep,
			    msg, sizeof(msg));
			break;
		case UCR__REQUEST__BODY_IMPORT:
			do_import(c, &req->request_id, req->import, &rep, msg,
			    sizeof(msg));
			break;
		case UCR__REQUEST__BODY_QUERY:
			if (req->query->what &&
			    strcmp(req->query->what, "view") == 0) {
				do_view(c, req->query, &rep, msg, sizeof(msg));
				view = rep.view.data;
				break;
			}
			if (req->query->what &&
			    strcmp(req->query->what, "records") == 0) {
				do_records(c, req->query, &page, &rep, msg,
				    sizeof(msg));
				/* the counts of what changed, when asked */
				json = rep.json != protobuf_c_empty_string
				    ? rep.json
				    : NULL;
				break;
			}
			do_query(c, req->query->what ? req->query->what : "",
			    &rep, msg, sizeof(msg));
			json = rep.json != protobuf_c_empty_string ? rep.json
								   : NULL;
			break;
		default:
			reply_error(&rep, msg, sizeof(msg), UCR_EPROTO,
			    "empty request");
		}
	}
	if (rep.code != 0) {
		char line[1024];

		c->refused++;
		ucr_text_escape(line, sizeof(line), rep.message,
		    strlen(rep.message));
		log_info("control: refused request: %s", line);
	}
	n = ucr__reply__get_packed_size(&rep);
	*out = malloc(n ? n : 1);
	if (*out != NULL)
		*outlen = ucr__reply__pack(&rep, *out);
	if (req)
		ucr__request__free_unpacked(req, NULL);
	free(json);
	free(view);
	ucr_page_free(&page);
	return *out ? 0 : UCR_ENOMEM;
}
