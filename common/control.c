/* control.c: the control socket's request handling (see control.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chain.h"
#include "control.h"
#include "error.h"
#include "log.h"
#include "record.h"

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
	rep->code = code;
	rep->message = msg;
}

static void
do_puts(struct ucr_control *c, const ProtobufCBinaryData *id, Ucr__Put **in,
    size_t n, Ucr__Reply *rep, char *msg, size_t msglen)
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
	if (n == 0 || n > UCR_MAX_BATCH_ENTRIES) {
		reply_error(rep, msg, msglen, UCR_EINVAL,
		    "between 1 and %d records at a time",
		    UCR_MAX_BATCH_ENTRIES);
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
		if (ucr_record_validate(r, why, sizeof(why)) != 0) {
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

int
ucr_control_handle(struct ucr_control *c, const void *buf, size_t len,
    uint8_t **out, size_t *outlen)
{
	Ucr__Request *req;
	Ucr__Reply rep = UCR__REPLY__INIT;
	char msg[1024];
	char *json = NULL;
	size_t n;

	c->requests++;
	req = len > UCR_CONTROL_MAXMSG ? NULL
				       : ucr__request__unpack(NULL, len, buf);
	if (req == NULL)
		reply_error(&rep, msg, sizeof(msg), UCR_EPROTO,
		    "undecodable request (%zu bytes)", len);
	else {
		switch (req->body_case) {
		case UCR__REQUEST__BODY_PUT:
			do_puts(c, &req->request_id, &req->put, 1, &rep, msg,
			    sizeof(msg));
			break;
		case UCR__REQUEST__BODY_MANY:
			do_puts(c, &req->request_id, req->many->puts,
			    req->many->n_puts, &rep, msg, sizeof(msg));
			break;
		case UCR__REQUEST__BODY_QUERY:
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
		c->refused++;
		log_info("control: refused request: %s", rep.message);
	}
	n = ucr__reply__get_packed_size(&rep);
	*out = malloc(n ? n : 1);
	if (*out != NULL)
		*outlen = ucr__reply__pack(&rep, *out);
	if (req)
		ucr__request__free_unpacked(req, NULL);
	free(json);
	return *out ? 0 : UCR_ENOMEM;
}
