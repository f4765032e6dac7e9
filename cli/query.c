/*
 * query.c: keygen, verify, show and log: commands that read a store or a
 * key file and never write through a daemon. show reads through the
 * daemon, or the hub for a reader, page by page (records.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "chain.h"
#include "checkpoint.h"
#include "cli.h"
#include "clijson.h"
#include "error.h"
#include "i18n.h"
#include "officer.h"
#include "record.h"
#include "text.h"

int
cmd_keygen(int argc, char **argv)
{
	struct cli_flags f;
	struct ucr_key *k;
	char hex[2 * UCR_PK_LEN + 1];
	const char *out;
	int rc;

	CLI_BEGIN(&f, "out=", argc, argv);
	if ((out = cli_flag(&f, "out")) == NULL || f.npos != 0)
		return cli_misuse(argv[0]);
	if ((rc = ucr_key_generate(&k)) != 0) {
		cli_error("keygen: %s", ucr_strerror_l(rc));
		return 1;
	}
	rc = ucr_key_save(k, out);
	if (rc != 0) {
		cli_error("keygen: %s: %s", out,
		    rc == UCR_EIO ? strerror(errno) : ucr_strerror_l(rc));
		ucr_key_free(k);
		return 1;
	}
	ucr_hex(hex, k->pk, UCR_PK_LEN);
	printf("%s\n", hex);
	ucr_key_free(k);
	return 0;
}

/* ---------------------------------------------------------------- verify */

struct verify_out {
	json_t *cp; /* the checkpoint's findings, or NULL */
	json_t *logs;
	uint64_t entries, batches, logcount;
	int json;
};

static int
verify_cb(const struct ucr_head *h, uint64_t batches, void *arg)
{
	struct verify_out *v = arg;
	char hex[2 * UCR_PK_LEN + 1];

	ucr_hex(hex, h->author, UCR_PK_LEN);
	v->entries += h->seq;
	v->batches += batches;
	v->logcount++;
	if (v->json) {
		json_t *o = json_object();

		json_object_set_new(o, "author", json_string(hex));
		json_object_set_new(o, "epoch",
		    json_integer((json_int_t)h->epoch));
		json_object_set_new(o, "entries",
		    json_integer((json_int_t)h->seq));
		json_object_set_new(o, "batches",
		    json_integer((json_int_t)batches));
		json_object_set_new(o, "stopped", json_boolean(h->stopped));
		json_array_append_new(v->logs, o);
	} else
		printf(_("  %.16s… epoch %016" PRIx64 ": %" PRIu64
			 " entries, %" PRIu64 " batches%s\n"),
		    hex, h->epoch, h->seq, batches,
		    h->stopped ? _(" (stopped after a fork)") : "");
	return 0;
}

/*
 * The hub's last checkpoint against the store: its signature, its age, and
 * whether any log is held below it. On the hub's own store that means the
 * store went back (restored from an old copy): a failure. On a node it is
 * the replica catching up: a note.
 */
static int
verify_checkpoint(struct ucr_store *s, const struct ucr_config *cfg,
    const char *region, FILE *out, char *why, size_t whylen, json_t **js)
{
	uint8_t hub[32], self[32];
	char owner[16] = "";
	uint64_t age;
	size_t behind;
	int rc, is_hub;

	*js = NULL;
	if (ucr_store_identity(s, self, NULL, owner, sizeof(owner)) != 0)
		return 0;
	is_hub = strcmp(owner, UCR_REGION) == 0;
	if (is_hub)
		memcpy(hub, self, 32);
	else if (cfg == NULL || cfg->hub_key == NULL || *cfg->hub_key == '\0' ||
	    ucr_unhex(hub, 32, cfg->hub_key) != 0)
		return 0; /* no hub key to check it with */
	rc = ucr_checkpoint_against_store(s, hub, region, &age, &behind, why,
	    whylen);
	if (rc == UCR_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	*js = json_pack("{s:I, s:I}", "age_s", (json_int_t)(age / 1000),
	    "logs_behind", (json_int_t)behind);
	if (out)
		fprintf(out,
		    "  checkpoint: signed by the hub %llu s ago, %zu logs "
		    "held below it\n",
		    (unsigned long long)(age / 1000), behind);
	if (behind > 0 && is_hub)
		return UCR_EROLLBACK; /* why says which log */
	return 0;
}

int
cmd_verify(int argc, char **argv)
{
	struct cli_flags f;
	struct ucr_config *cfg = NULL;
	struct ucr_store *s = NULL;
	struct verify_out v;
	const char *data, *region;
	char why[512] = "";
	int rc;

	CLI_BEGIN(&f, "data= region= json", argc, argv);
	if (f.npos != 0)
		return cli_misuse(argv[0]);
	if (cli_open_store_flags(&f, "verify", &cfg, &s, &data, &region) != 0)
		return 1;
	ucr_store_set_region(s, region, NULL);
	memset(&v, 0, sizeof(v));
	v.json = cli_flag_set(&f, "json");
	v.logs = json_array();
	if (!v.json)
		printf(_("verifying %s (region %s)\n"), data, region);
	rc = ucr_store_verify(s, verify_cb, &v, why, sizeof(why));
	if (rc == 0)
		rc = verify_checkpoint(s, cfg, region, v.json ? NULL : stdout,
		    why, sizeof(why), &v.cp);
	if (v.json) {
		json_t *o = json_object();

		json_object_set_new(o, "ok", json_boolean(rc == 0));
		json_object_set_new(o, "logs", v.logs);
		json_object_set_new(o, "entries",
		    json_integer((json_int_t)v.entries));
		json_object_set_new(o, "batches",
		    json_integer((json_int_t)v.batches));
		if (v.cp)
			json_object_set_new(o, "checkpoint", v.cp);
		if (rc != 0)
			json_object_set_new(o, "error",
			    json_string(why[0] ? why : ucr_strerror(rc)));
		cli_json_print(o);
		json_decref(o);
	} else {
		json_decref(v.logs);
		json_decref(v.cp);
		if (rc == 0)
			printf(_("ok: %" PRIu64 " authors' logs, %" PRIu64
				 " entries, %" PRIu64 " signed batches\n"),
			    v.logcount, v.entries, v.batches);
	}
	if (rc != 0)
		cli_error("verify: %s", why[0] ? why : ucr_strerror_l(rc));
	ucr_store_free(s);
	ucr_config_free(cfg);
	return rc == 0 ? 0 : 1;
}

/* ---------------------------------------------------------------- show */

struct show_ctx {
	const char *kind;
	const char *owner;
	json_t *arr;
	int json;
	size_t count;
	int rc;
};

static void
summary(char *buf, size_t len, const Ucr__Record *r)
{
	char d[48];

	if (r->tombstone) {
		snprintf(buf, len, "%s", _("(deleted)"));
		return;
	}
	switch (r->body_case) {
	case UCR__RECORD__BODY_BASELINE: {
		/* the commitment's title, in the user's language */
		const struct ucr_commitment *cm =
		    ucr_commitment_find(r->baseline->commitment);

		snprintf(buf, len, "%s: %s",
		    cm ? _(cm->title) : r->baseline->commitment,
		    r->baseline->text);
		break;
	}
	case UCR__RECORD__BODY_TARGET:
		snprintf(buf, len, "%s", r->target->title);
		break;
	case UCR__RECORD__BODY_MEASUREMENT:
		snprintf(buf, len, "%s",
		    r->measurement->value
			? ucr_decimal_format(r->measurement->value, d,
			      sizeof(d))
			: _("missing"));
		break;
	case UCR__RECORD__BODY_PROJECT:
		snprintf(buf, len, _("%s (lead %s)"), r->project->title,
		    r->project->lead);
		break;
	case UCR__RECORD__BODY_GROUP:
		snprintf(buf, len, "%s", r->group->name);
		break;
	case UCR__RECORD__BODY_MEETING:
		snprintf(buf, len, _("%s %s: %u women, %u men, %u not stated"),
		    r->meeting->date, r->meeting->title, r->meeting->women,
		    r->meeting->men, r->meeting->unstated);
		break;
	case UCR__RECORD__BODY_NETWORK:
		snprintf(buf, len, "%s", r->network->name);
		break;
	case UCR__RECORD__BODY_DECISION:
		snprintf(buf, len, _("%s %s (%zu adopted)"), r->decision->date,
		    r->decision->ref, r->decision->n_adopts);
		break;
	case UCR__RECORD__BODY_VISION:
		snprintf(buf, len, "%s (%u)", r->vision->text, r->vision->year);
		break;
	case UCR__RECORD__BODY_PRIORITY:
		snprintf(buf, len, "%s", r->priority->title);
		break;
	case UCR__RECORD__BODY_GOAL:
		snprintf(buf, len, _("threshold %s"),
		    ucr_decimal_format(r->goal->threshold, d, sizeof(d)));
		break;
	case UCR__RECORD__BODY_ROSTER:
		snprintf(buf, len, "%s %s%s", r->roster->municipality,
		    r->roster->name,
		    r->roster->revoked_at ? _(" (revoked)") : "");
		break;
	default:
		snprintf(buf, len, "-");
	}
	/* Titles and names come from every municipality: escape them. */
	ucr_text_escape_inplace(buf, len);
}

static int
show_cb(const struct ucr_rec *rec, void *arg)
{
	struct show_ctx *c = arg;
	Ucr__Record *r;
	char kindpart[64], line[160];
	int rc;

	if ((rc = ucr_record_decode(&r, rec->bytes, rec->len)) != 0) {
		c->rc = rc;
		return 0;
	}
	snprintf(kindpart, sizeof(kindpart), "/%s/", c->kind ? c->kind : "");
	if ((c->kind && strstr(r->key, kindpart) == NULL) ||
	    (c->owner && strcmp(r->owner, c->owner) != 0))
		goto leave;
	c->count++;
	if (c->json) {
		json_t *o = cli_record_json(r);
		char hex[2 * UCR_PK_LEN + 1];

		ucr_hex(hex, rec->author, UCR_PK_LEN);
		json_object_set_new(o, "author", json_string(hex));
		json_object_set_new(o, "seq",
		    json_integer((json_int_t)rec->seq));
		json_object_set_new(o, "time",
		    json_integer((json_int_t)(rec->time >> 16)));
		ucr_hex(hex, rec->hash, 32);
		json_object_set_new(o, "hash", json_string(hex));
		json_array_append_new(c->arr, o);
	} else {
		summary(line, sizeof(line), r);
		if (strlen(line) > 60)
			memcpy(line + 57, "...", 4);
		printf("%-34s %6" PRIu64 "  %s\n", r->key, rec->seq, line);
	}
leave:
	ucr__record__free_unpacked(r, NULL);
	return 0;
}

int
cmd_show(int argc, char **argv)
{
	struct cli_flags f;
	struct ucr_config *cfg = NULL;
	struct cli_pager pg;
	struct show_ctx c;
	const struct ucr_rec *rec;
	const Ucr__Record *dec;
	const char *key;
	char full[256], prefix[64];
	int rc = 1, n, found = 0;

	CLI_BEGIN(&f, "municipality= key= json", argc, argv);
	if (f.npos > 1)
		return cli_misuse(argv[0]);
	memset(&c, 0, sizeof(c));
	memset(&pg, 0, sizeof(pg));
	c.kind = f.npos ? f.pos[0] : NULL;
	if (c.kind && ucr_kind_parse(c.kind) == UCR__RECORD__BODY__NOT_SET) {
		cli_error("show: unknown kind '%s' (see ucr help show)",
		    c.kind);
		return EXIT_USAGE;
	}
	c.owner = cli_flag(&f, "municipality");
	if (c.owner && strcmp(c.owner, UCR_REGION) != 0) {
		/* a code or a name */
		const struct ucr_municipality *m =
		    ucr_municipality_lookup(c.owner);

		if (m == NULL) {
			cli_error("show: municipality: unknown code or name "
				  "'%s'",
			    c.owner);
			return EXIT_USAGE;
		}
		c.owner = m->code;
	}
	c.json = cli_flag_set(&f, "json");
	c.arr = json_array();
	if (cli_load_config(&cfg) != 0)
		goto leave;
	/* Through the daemon, or the hub for a reader (records.c): the
	   store is opened only when no daemon runs. */
	key = cli_flag(&f, "key");
	prefix[0] = '\0';
	if (c.owner)
		snprintf(prefix, sizeof(prefix), "%s/", c.owner);
	if (key) {
		cli_full_key(full, sizeof(full), cfg->owner ? cfg->owner : "",
		    key);
		if (full[0] == '/') {
			cli_error(_("show: --key %s: this configuration names "
				    "no municipality; give the full key "
				    "(OWNER/KIND/ID)"),
			    key);
			rc = EXIT_USAGE;
			goto leave;
		}
	}
	if (cli_pager_open(&pg, cfg, key ? NULL : c.kind,
		key ? full : prefix) != 0)
		goto leave;
	while ((n = cli_pager_next(&pg, &rec, &dec)) > 0) {
		/* --key: the prefix's first key is the key itself, if held */
		if (key && strcmp(rec->key, full) != 0)
			break;
		found = 1;
		show_cb(rec, &c);
		if (key || c.rc != 0)
			break;
	}
	if (n < 0)
		goto leave;
	if (key && !found) {
		cli_error("show: %s: no such record", full);
		goto leave;
	}
	if (c.rc != 0) {
		cli_error("show: %s", ucr_strerror_l(c.rc));
		goto leave;
	}
	if (c.json)
		cli_json_print(c.arr);
	else if (c.count == 0)
		fprintf(stderr, "%s", _("no records\n"));
	rc = 0;
leave:
	cli_pager_close(&pg);
	json_decref(c.arr);
	ucr_config_free(cfg);
	return rc;
}

/* ---------------------------------------------------------------- log */

struct log_ctx {
	json_t *arr;
	int json;
	int rc;
};

static int
log_cb(const struct ucr_entry_info *e, void *arg)
{
	struct log_ctx *c = arg;
	Ucr__Entry *ent;
	Ucr__Record *r;
	char when[32];
	time_t t;
	struct tm tm;

	if ((c->rc = ucr_entry_decode(&ent, e->bytes, e->len)) != 0)
		return c->rc;
	if ((c->rc = ucr_record_decode(&r, ent->record.data,
		 ent->record.len)) != 0) {
		ucr__entry__free_unpacked(ent, NULL);
		return c->rc;
	}
	t = (time_t)((ent->time >> 16) / 1000);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (c->json) {
		json_t *o = json_object();

		json_object_set_new(o, "seq", json_integer((json_int_t)e->seq));
		json_object_set_new(o, "time", json_string(when));
		json_object_set_new(o, "key", json_string(r->key));
		json_object_set_new(o, "kind",
		    json_string(
			r->tombstone ? "delete" : ucr_kind_name(r->body_case)));
		json_array_append_new(c->arr, o);
	} else
		printf("%6" PRIu64 "  %s  %-8s %s\n", e->seq, when,
		    r->tombstone ? "delete" : ucr_kind_name(r->body_case),
		    r->key);
	ucr__record__free_unpacked(r, NULL);
	ucr__entry__free_unpacked(ent, NULL);
	return 0;
}

int
cmd_log(int argc, char **argv)
{
	struct cli_flags f;
	struct ucr_config *cfg = NULL;
	struct ucr_store *s = NULL;
	struct log_ctx c;
	uint8_t author[UCR_PK_LEN];
	uint64_t epoch, from = 1;
	const char *v;
	int rc = 1;

	CLI_BEGIN(&f, "from= json", argc, argv);
	if (f.npos != 0)
		return cli_misuse(argv[0]);
	if ((v = cli_flag(&f, "from")) != NULL) {
		char *end;

		from = strtoull(v, &end, 10);
		if (*v == '\0' || *end != '\0' || from == 0) {
			cli_error("log: from: '%s' is not a seq (1, 2, ...)",
			    v);
			return EXIT_USAGE;
		}
	}
	memset(&c, 0, sizeof(c));
	c.json = cli_flag_set(&f, "json");
	c.arr = json_array();
	if (cli_load_config(&cfg) != 0 || cli_open_store(&s, cfg) != 0)
		goto leave;
	if (ucr_store_identity(s, author, &epoch, NULL, 0) != 0) {
		cli_error("log: the store has no log of its own yet");
		goto leave;
	}
	rc = ucr_store_foreach_entry(s, author, epoch, from, log_cb, &c);
	if (rc != 0) {
		cli_error("log: %s", ucr_strerror_l(rc));
		rc = 1;
		goto leave;
	}
	if (c.json)
		cli_json_print(c.arr);
	rc = 0;
leave:
	json_decref(c.arr);
	ucr_store_free(s);
	ucr_config_free(cfg);
	return rc;
}
