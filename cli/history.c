/*
 * history.c: "ucr history KEY": every version of one record, from the
 * signed logs the store holds.
 *
 * The store keeps only the current version of a key; every earlier one is
 * an entry of its author's log. The command reads every log held, keeps
 * the entries whose record has the key (an entry's kind field skips the
 * others without decoding their record), and lists them by time: when,
 * which key signed it, and who that key is in the roster.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "chain.h"
#include "cli.h"
#include "clijson.h"
#include "error.h"
#include "officer.h"
#include "record.h"

struct version {
	uint64_t time, epoch, seq;
	uint8_t author[UCR_PK_LEN];
	uint8_t hash[UCR_HASH_LEN];
	Ucr__Record *record;
};

struct hist {
	const char *key;
	uint32_t kind; /* body case of the key's kind */
	const uint8_t *author;
	uint64_t epoch;
	struct version *v;
	size_t n, cap;
	int rc;
};

struct logs {
	struct ucr_head *h;
	size_t n, cap;
};

static int
collect_head(const struct ucr_head *h, void *arg)
{
	struct logs *l = arg;

	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		struct ucr_head *p = realloc(l->h, nc * sizeof(*p));

		if (p == NULL)
			return UCR_ENOMEM;
		l->h = p;
		l->cap = nc;
	}
	l->h[l->n++] = *h;
	return 0;
}

static int
hist_entry(const struct ucr_entry_info *e, void *arg)
{
	struct hist *c = arg;
	Ucr__Entry *ent;
	Ucr__Record *r = NULL;
	struct version *v;

	if ((c->rc = ucr_entry_decode(&ent, e->bytes, e->len)) != 0)
		return c->rc;
	/* a tombstone has no body: kind 0 */
	if (ent->kind != 0 && ent->kind != c->kind)
		goto leave;
	if ((c->rc = ucr_record_decode(&r, ent->record.data,
		 ent->record.len)) != 0)
		goto leave;
	if (strcmp(r->key, c->key) != 0)
		goto leave;
	if (c->n == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 8;
		struct version *p = realloc(c->v, nc * sizeof(*p));

		if (p == NULL) {
			c->rc = UCR_ENOMEM;
			goto leave;
		}
		c->v = p;
		c->cap = nc;
	}
	v = &c->v[c->n++];
	v->time = ent->time;
	v->epoch = e->epoch;
	v->seq = e->seq;
	memcpy(v->author, e->author, UCR_PK_LEN);
	ucr_hash(v->hash, ent->record.data, ent->record.len);
	v->record = r;
	r = NULL;
leave:
	if (r != NULL)
		ucr__record__free_unpacked(r, NULL);
	ucr__entry__free_unpacked(ent, NULL);
	return c->rc;
}

static int
version_cmp(const void *a, const void *b)
{
	const struct version *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return memcmp(x->author, y->author, UCR_PK_LEN);
}

/* The roster entry of an author: "2403 Bjurholm node (node)". */
static int
roster_cb(const struct ucr_rec *rec, void *arg)
{
	Ucr__Record **out = arg;

	return ucr_record_decode(out, rec->bytes, rec->len);
}

static json_t *
signer_json(struct ucr_store *s, const uint8_t *author, char *text, size_t len)
{
	char key[128], hex[2 * UCR_PK_LEN + 1];
	Ucr__Record *r = NULL;
	json_t *o = json_null();

	ucr_hex(hex, author, UCR_PK_LEN);
	snprintf(key, sizeof(key), "%s/roster/%s", UCR_REGION, hex);
	snprintf(text, len, "-");
	if (ucr_store_get(s, key, roster_cb, &r) != 0 || r == NULL)
		return o;
	if (r->body_case == UCR__RECORD__BODY_ROSTER) {
		const Ucr__RosterEntry *e = r->roster;
		static const char *const roles[] = {"node", "hub", "reader"};
		const char *role =
		    e->role >= 0 && e->role <= 2 ? roles[e->role] : "?";

		snprintf(text, len, "%s%s%s (%s%s)", e->municipality,
		    *e->name ? " " : "", e->name, role,
		    e->revoked_at ? ", revoked" : "");
		o = json_pack("{s:s, s:s, s:s, s:b}", "municipality",
		    e->municipality, "name", e->name, "role", role, "revoked",
		    e->revoked_at != 0);
	}
	ucr__record__free_unpacked(r, NULL);
	return o;
}

int
cmd_history(int argc, char **argv)
{
	struct cli_flags f;
	struct ucr_config *cfg = NULL;
	struct ucr_store *s = NULL;
	struct logs logs = {0};
	struct hist c;
	char key[300], kind[32];
	const char *p, *q;
	json_t *arr = NULL;
	size_t i;
	int rc = 1, json;

	CLI_BEGIN(&f, "json", argc, argv);
	if (f.npos != 1)
		return cli_misuse(argv[0]);
	json = cli_flag_set(&f, "json");
	memset(&c, 0, sizeof(c));
	if (cli_load_config(&cfg) != 0 || cli_open_store(&s, cfg) != 0)
		goto leave;
	cli_full_key(key, sizeof(key), cfg->owner, f.pos[0]);
	c.key = key;
	/* OWNER/KIND/... */
	if ((p = strchr(key, '/')) == NULL ||
	    (q = strchr(p + 1, '/')) == NULL ||
	    (size_t)(q - p - 1) >= sizeof(kind)) {
		cli_error("history: key: '%s' is not KIND/ID or OWNER/KIND/ID",
		    f.pos[0]);
		goto leave;
	}
	memcpy(kind, p + 1, q - p - 1);
	kind[q - p - 1] = '\0';
	if ((c.kind = ucr_kind_parse(kind)) == UCR__RECORD__BODY__NOT_SET) {
		cli_error("history: key: unknown kind '%s'", kind);
		goto leave;
	}
	if ((rc = ucr_store_foreach_head(s, collect_head, &logs)) != 0) {
		cli_error("history: %s", ucr_strerror_l(rc));
		rc = 1;
		goto leave;
	}
	rc = 1;
	for (i = 0; i < logs.n; i++)
		if (ucr_store_foreach_entry(s, logs.h[i].author,
			logs.h[i].epoch, 1, hist_entry, &c) != 0) {
			cli_error("history: %s", ucr_strerror_l(c.rc));
			goto leave;
		}
	if (c.n == 0) {
		cli_error("history: key: no version of %s is held", key);
		goto leave;
	}
	qsort(c.v, c.n, sizeof(*c.v), version_cmp);
	arr = json_array();
	if (!json)
		/* TRANSLATORS: column heads of ucr history, 20, 16, 6 and 30
		   characters wide */
		printf("%-20s  %-16s  %6s  %-30s  %s\n", _("TIME (UTC)"),
		    _("AUTHOR"), _("SEQ"), _("SIGNER"), _("CHANGE"));
	for (i = 0; i < c.n; i++) {
		const struct version *v = &c.v[i];
		char when[32], hex[2 * UCR_PK_LEN + 1],
		    hh[2 * UCR_HASH_LEN + 1], signer[300];
		time_t t = (time_t)((v->time >> 16) / 1000);
		struct tm tm;
		json_t *sj;

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		ucr_hex(hex, v->author, UCR_PK_LEN);
		ucr_hex(hh, v->hash, UCR_HASH_LEN);
		sj = signer_json(s, v->author, signer, sizeof(signer));
		if (json) {
			json_t *o = json_object();

			json_object_set_new(o, "time", json_string(when));
			json_object_set_new(o, "hlc",
			    json_integer((json_int_t)v->time));
			json_object_set_new(o, "author", json_string(hex));
			json_object_set_new(o, "epoch",
			    json_integer((json_int_t)v->epoch));
			json_object_set_new(o, "seq",
			    json_integer((json_int_t)v->seq));
			json_object_set_new(o, "signer", sj);
			json_object_set_new(o, "hash", json_string(hh));
			json_object_set_new(o, "current",
			    json_boolean(i + 1 == c.n));
			json_object_set_new(o, "record",
			    cli_record_json(v->record));
			json_array_append_new(arr, o);
		} else {
			json_decref(sj);
			printf("%-20s  %.16s  %6" PRIu64 "  ", when, hex,
			    v->seq);
			cli_cell(stdout, signer, 30, 0);
			printf("  %s\n",
			    v->record->tombstone ? _("deleted")
				: i == 0         ? _("created")
						 : _("changed"));
		}
	}
	if (json)
		cli_json_print(arr);
	rc = 0;
leave:
	for (i = 0; i < c.n; i++)
		ucr__record__free_unpacked(c.v[i].record, NULL);
	free(c.v);
	free(logs.h);
	json_decref(arr);
	ucr_store_free(s);
	ucr_config_free(cfg);
	return rc;
}

/*
 * The version of key whose stored bytes hash to hash (what an adopting
 * decision binds), from the logs s holds; NULL if none is held (the entry
 * not received, or a store that keeps no log of it). The caller frees it.
 */
Ucr__Record *
cli_record_version(struct ucr_store *s, const char *key, const uint8_t *hash)
{
	struct logs logs = {0};
	struct hist c;
	Ucr__Record *found = NULL;
	char kind[32];
	const char *p, *q;
	size_t i;

	memset(&c, 0, sizeof(c));
	c.key = key;
	if ((p = strchr(key, '/')) == NULL ||
	    (q = strchr(p + 1, '/')) == NULL ||
	    (size_t)(q - p - 1) >= sizeof(kind))
		return NULL;
	memcpy(kind, p + 1, q - p - 1);
	kind[q - p - 1] = '\0';
	if ((c.kind = ucr_kind_parse(kind)) == UCR__RECORD__BODY__NOT_SET ||
	    ucr_store_foreach_head(s, collect_head, &logs) != 0)
		goto leave;
	for (i = 0; i < logs.n && found == NULL; i++) {
		size_t j;

		if (ucr_store_foreach_entry(s, logs.h[i].author,
			logs.h[i].epoch, 1, hist_entry, &c) != 0)
			break;
		for (j = 0; j < c.n && found == NULL; j++)
			if (memcmp(c.v[j].hash, hash, UCR_HASH_LEN) == 0) {
				found = c.v[j].record;
				c.v[j].record = NULL;
			}
	}
leave:
	for (i = 0; i < c.n; i++)
		if (c.v[i].record != NULL)
			ucr__record__free_unpacked(c.v[i].record, NULL);
	free(c.v);
	free(logs.h);
	return found;
}
