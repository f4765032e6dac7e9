/*
 * admin.c: the hub administrator's commands (roster, peers, vision,
 * priority, goal) and digest, which any site runs to prove it agrees.
 */
#include <errno.h>
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
#include "roster.h"

static int
need_hub(const struct ucr_config *cfg, const char *cmd)
{
	if (!cfg->is_hub) {
		cli_error(
		    "%s: a hub command; give the hub's configuration with "
		    "-c (e.g. -c /etc/ucr/hub.conf)",
		    cmd);
		return -1;
	}
	return 0;
}

/* Ask the daemon a query; the JSON answer is parsed into *out. */
static int
query(const struct ucr_config *cfg, const char *what, json_t **out,
    const char *cmd)
{
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__Query q = UCR__QUERY__INIT;
	Ucr__Reply *rep;
	json_error_t err;
	int rc = 0;

	q.what = (char *)what;
	req.body_case = UCR__REQUEST__BODY_QUERY;
	req.query = &q;
	if (cli_request(cfg, &req, &rep, 0) != 0)
		return -1;
	if (rep->code != 0) {
		cli_error("%s: %s", cmd,
		    *rep->message ? cli_daemon_text(rep->message)
				  : ucr_strerror_l(rep->code));
		rc = -1;
	} else if ((*out = json_loads(rep->json, 0, &err)) == NULL) {
		cli_error("%s: undecodable answer from the daemon", cmd);
		rc = -1;
	}
	ucr__reply__free_unpacked(rep, NULL);
	return rc;
}

/* ---------------------------------------------------------------- roster */

/*
 * From when the key's entries count: now, less the clock skew a node may
 * have (its first write must not be refused because its clock is a little
 * behind the hub's), or the start of --since DAY (UTC) for a node that
 * wrote before it was enrolled.
 */
static int
valid_from(const struct ucr_config *cfg, const char *since, uint64_t *out)
{
	struct tm tm;
	time_t t;
	uint64_t skew = (uint64_t)cfg->max_clock_skew * 1000 << 16;
	char *end;

	if (since == NULL) {
		uint64_t now = ucr_hlc_now();

		*out = now > skew ? now - skew : 0;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(since, "%Y-%m-%d", &tm);
	if (end == NULL || *end != '\0' || !ucr_date_valid(since) ||
	    (t = timegm(&tm)) < 0) {
		cli_error("roster add: --since: '%s' is not a date "
			  "(YYYY-MM-DD)",
		    since);
		return -1;
	}
	*out = (uint64_t)t * 1000 << 16;
	return 0;
}

static int
roster_add(const struct ucr_config *cfg, const struct cli_flags *f)
{
	Ucr__Record *r;
	uint8_t pk[32];
	char key[128], why[128];
	const char *code = f->pos[1], *hex = f->pos[2], *role, *name;
	uint64_t from;
	int rc, rv;

	role = cli_flag(f, "role");
	rv = role ? ucr_role_parse(role) : UCR_ROLE_NODE;
	if (ucr_roster_enrol_check(code, rv, why, sizeof(why)) != 0) {
		cli_error("roster add: %s %s: %s", code, role ? role : "node",
		    why);
		return 1;
	}
	if (cli_member_check(cfg, code) != 0) {
		cli_error("roster add: %s: not a member of the region; run "
			  "'ucr member add %s --name NAME' first",
		    code, code);
		return 1;
	}
	if (ucr_unhex(pk, 32, hex) != 0) {
		cli_error("roster add: HEXKEY: not 64 hex digits (ucr keygen "
			  "prints one)");
		return 1;
	}
	if (valid_from(cfg, cli_flag(f, "since"), &from) != 0)
		return 1;
	name = cli_flag(f, "name");
	if (name == NULL) {
		const struct ucr_municipality *m =
		    ucr_municipality_lookup(code);

		name = m ? m->name : code;
	}
	r = cli_record_new(UCR_REGION, UCR__RECORD__BODY_ROSTER);
	snprintf(key, sizeof(key), "region/roster/%s", hex);
	for (char *p = key; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p += 32;
	r->key = strdup(key);
	r->roster->municipality = strdup(code);
	r->roster->name = strdup(name);
	r->roster->role = rv;
	r->roster->valid_from = from;
	r->roster->public_key.data = malloc(32);
	memcpy(r->roster->public_key.data, pk, 32);
	r->roster->public_key.len = 32;
	rc = cli_put(cfg, r, UCR_PUT_CREATE, NULL, 0, "roster", "add",
	    "enrolled");
	ucr__record__free_unpacked(r, NULL);
	return rc;
}

/* The newest entry time held of any of a key's logs. */
struct newest {
	const uint8_t *key;
	uint64_t time;
};

static int
newest_cb(const struct ucr_head *h, void *arg)
{
	struct newest *n = arg;

	if (memcmp(h->author, n->key, 32) == 0 && h->time > n->time)
		n->time = h->time;
	return 0;
}

static int
roster_revoke(const struct ucr_config *cfg, const struct cli_flags *f)
{
	Ucr__Record *r;
	uint8_t pk[32];
	char key[128], hex[65];
	int rc;

	if (ucr_unhex(pk, 32, f->pos[1]) != 0) {
		cli_error("roster revoke: HEXKEY: not 64 hex digits");
		return 1;
	}
	ucr_hex(hex, pk, 32);
	snprintf(key, sizeof(key), "region/roster/%s", hex);
	if ((r = cli_record_load(cfg, key)) == NULL) {
		cli_error("roster revoke: %s: not in the roster", hex);
		return 1;
	}
	if (r->roster->revoked_at) {
		cli_error("roster revoke: %s: already revoked", hex);
		ucr__record__free_unpacked(r, NULL);
		return 1;
	}
	/*
	 * Revoked from now on, and never below an entry already taken: what
	 * the hub holds of the key stays valid on every node that gets it
	 * later, whatever the key's clock said.
	 */
	{
		struct newest n = {pk, 0};
		struct ucr_store *s;

		if (cli_open_store(&s, cfg) != 0) {
			ucr__record__free_unpacked(r, NULL);
			return 1;
		}
		ucr_store_foreach_head(s, newest_cb, &n);
		r->roster->revoked_at = ucr_store_time_next(s, n.time);
		ucr_store_free(s);
	}
	rc = cli_put(cfg, r, UCR_PUT_UPDATE, NULL, 0, "roster", "revoke",
	    "revoked");
	ucr__record__free_unpacked(r, NULL);
	return rc;
}

static int
roster_accept(const struct ucr_config *cfg, const struct cli_flags *f)
{
	Ucr__Record *r;
	uint8_t pk[32];
	char key[128], hex[65], *end;
	unsigned long long epoch;
	int rc;

	if (ucr_unhex(pk, 32, f->pos[1]) != 0) {
		cli_error("roster accept-epoch: HEXKEY: not 64 hex digits");
		return 1;
	}
	errno = 0;
	epoch = strtoull(f->pos[2], &end, 16);
	if (*f->pos[2] == '\0' || *end != '\0' || errno || epoch == 0) {
		cli_error("roster accept-epoch: EPOCH: '%s' is not a hex epoch "
			  "(as ucr-hub logs it)",
		    f->pos[2]);
		return 1;
	}
	ucr_hex(hex, pk, 32);
	r = cli_record_new(UCR_REGION, UCR__RECORD__BODY_EPOCH_ACCEPT);
	snprintf(key, sizeof(key), "region/epoch/%.16s-%016llx", hex, epoch);
	r->key = strdup(key);
	r->epoch_accept->author.data = malloc(32);
	memcpy(r->epoch_accept->author.data, pk, 32);
	r->epoch_accept->author.len = 32;
	r->epoch_accept->epoch = epoch;
	rc = cli_put(cfg, r, UCR_PUT_UPSERT, NULL, 0, "roster", "accept-epoch",
	    "accepted");
	ucr__record__free_unpacked(r, NULL);
	return rc;
}

struct list_ctx {
	json_t *arr;
	int json;
};

static int
roster_list_cb(const struct ucr_rec *rec, void *arg)
{
	struct list_ctx *c = arg;
	Ucr__Record *r;
	char hex[65];

	if (ucr_record_decode(&r, rec->bytes, rec->len) != 0)
		return 0;
	if (!r->tombstone && r->body_case == UCR__RECORD__BODY_ROSTER &&
	    r->roster->public_key.len == 32) {
		const char *role = ucr_role_name(r->roster->role);

		ucr_hex(hex, r->roster->public_key.data, 32);
		if (c->json)
			json_array_append_new(c->arr,
			    json_pack("{s:s, s:s, s:s, s:s, s:b, s:I, s:I}",
				"code", r->roster->municipality, "name",
				r->roster->name, "role", role, "key", hex,
				"revoked", r->roster->revoked_at != 0,
				"valid_from",
				(json_int_t)(r->roster->valid_from >> 16),
				"revoked_at",
				(json_int_t)(r->roster->revoked_at >> 16)));
		else {
			printf("%-7s ", r->roster->municipality);
			cli_cell(stdout, r->roster->name, 14, 0);
			printf(" %-7s %s%s\n", role, hex,
			    r->roster->revoked_at ? _("  revoked") : "");
		}
	}
	ucr__record__free_unpacked(r, NULL);
	return 0;
}

static int
roster_list(const struct ucr_config *cfg, const struct cli_flags *f)
{
	struct ucr_store *s;
	struct list_ctx c = {json_array(), cli_flag_set(f, "json")};

	if (cli_open_store(&s, cfg) != 0) {
		json_decref(c.arr);
		return 1;
	}
	ucr_store_foreach_record(s, "region/roster/", roster_list_cb, &c);
	if (c.json)
		cli_json_print(c.arr);
	json_decref(c.arr);
	ucr_store_free(s);
	return 0;
}

int
cmd_roster(int argc, char **argv)
{
	struct cli_flags f;
	struct ucr_config *cfg = NULL;
	const char *verb;
	int rc = 1, want;

	CLI_BEGIN(&f, "name= role= since= json", argc, argv);
	verb = f.npos ? f.pos[0] : "";
	want = strcmp(verb, "add") == 0         ? 3
	    : strcmp(verb, "revoke") == 0       ? 2
	    : strcmp(verb, "accept-epoch") == 0 ? 3
	    : strcmp(verb, "list") == 0         ? 1
						: -1;
	if (want < 0 || f.npos != want)
		return cli_misuse(argv[0]);
	if (cli_load_config(&cfg) != 0)
		return 1;
	if (strcmp(verb, "list") == 0)
		rc = roster_list(cfg, &f);
	else if (need_hub(cfg, "roster") != 0)
		rc = 1;
	else if (strcmp(verb, "add") == 0)
		rc = roster_add(cfg, &f);
	else if (strcmp(verb, "revoke") == 0)
		rc = roster_revoke(cfg, &f);
	else
		rc = roster_accept(cfg, &f);
	ucr_config_free(cfg);
	return rc;
}

/* ---------------------------------------------------------------- peers */

/* "refused by code: EPROTO 3, EAGAIN 120" (the hub's counters), if any. */
static void
print_refusals(json_t *r)
{
	const char *name;
	json_t *v;
	int n = 0;

	json_object_foreach(r, name, v)
	{
		/* TRANSLATORS: under ucr peers on the hub, before the
		   counts of refused messages by error code */
		printf("%s%s %" JSON_INTEGER_FORMAT,
		    n++ ? ", " : _("refused by code: "), name,
		    json_integer_value(v));
	}
	if (n)
		printf("\n");
}

/*
 * The logs the hub paces for a peer that refused them (docs/protocol.md
 * 5.4), one line each under the peer's row.
 */
static void
print_paced(json_t *arr)
{
	json_t *o;
	size_t i;

	json_array_foreach(arr, i, o)
	{
		/* TRANSLATORS: under a row of ucr peers: the node refused a
		   log (its author's key, abbreviated) from a seq on; the hub
		   sends it again after a growing pause */
		printf(_("        log %s from seq %lld: refused %lld times, "
			 "next try in %lld s\n"),
		    json_string_value(json_object_get(o, "log")),
		    (long long)json_integer_value(json_object_get(o, "seq")),
		    (long long)json_integer_value(
			json_object_get(o, "refused")),
		    (long long)json_integer_value(
			json_object_get(o, "next_try_s")));
	}
}

/* The hub's own roster entry (role "hub") in the peers array, or NULL. */
static json_t *
hub_entry(json_t *arr)
{
	json_t *o;
	size_t i;

	json_array_foreach(arr, i, o)
	{
		if (json_is_string(json_object_get(o, "role")) &&
		    strcmp(json_string_value(json_object_get(o, "role")),
			"hub") == 0)
			return o;
	}
	return NULL;
}

/* The control socket's counters (the "stats" query's "control"). */
static void
print_control(json_t *c)
{
#define CTL_N(k) ((long long)json_integer_value(json_object_get(c, k)))
	if (c == NULL)
		return;
	/* TRANSLATORS: under ucr peers: the daemon's control socket (what
	   ucr speaks to) since it started: connections taken, requests
	   answered, then connections it closed, by reason */
	printf(_("control socket: %lld connections, %lld requests; closed: "
		 "%lld bad greeting, %lld wrong socket type, %lld protocol "
		 "error, %lld too big, %lld too many open, %lld idle for a "
		 "new one, %lld idle too long, %lld slow handshake, %lld "
		 "reply not read\n"),
	    CTL_N("accepted"), CTL_N("requests"), CTL_N("greeting"),
	    CTL_N("socket_type"), CTL_N("protocol"), CTL_N("too_big"),
	    CTL_N("full"), CTL_N("evicted"), CTL_N("idle"),
	    CTL_N("slow_handshake"), CTL_N("stalled_reply"));
#undef CTL_N
}

/* The hub's counters (its "hub" query), under the peers table. */
static void
print_hub(json_t *hub)
{
	const char *fmt;

	/* TRANSLATORS: under ucr peers on the hub: its message and
	   handshake counters since it started */
	printf(_("hub: %lld messages received, %lld refused; handshakes %lld "
		 "admitted, %lld denied\n"),
	    (long long)json_integer_value(json_object_get(hub, "received")),
	    (long long)json_integer_value(json_object_get(hub, "refused")),
	    (long long)json_integer_value(json_object_get(hub, "admitted")),
	    (long long)json_integer_value(json_object_get(hub, "denied")));
	print_refusals(json_object_get(hub, "refusals"));
	/* TRANSLATORS: under ucr peers on the hub: the checkpoints it
	   signed since it started, the time it took to read the last
	   one's heads and view, and (the first) one being read now */
	fmt = json_is_true(json_object_get(hub, "checkpoint_running"))
	    ? _("checkpoints: %lld signed since the start, the last read in "
		"%lld ms; one is being read now\n")
	    : _("checkpoints: %lld signed since the start, the last read in "
		"%lld ms\n");
	printf(fmt,
	    (long long)json_integer_value(json_object_get(hub, "checkpoints")),
	    (long long)json_integer_value(
		json_object_get(hub, "checkpoint_ms")));
	/* TRANSLATORS: under ucr peers on the hub: how often, since it
	   started, it stopped taking batches in to answer ucr at once, and
	   sent the other nodes their share while batches kept coming in */
	printf(_("under load: %lld passes cut short for a control request, "
		 "%lld relays sent at their bound\n"),
	    (long long)json_integer_value(json_object_get(hub, "passes_cut")),
	    (long long)json_integer_value(
		json_object_get(hub, "relay_bounded")));
}

int
cmd_peers(int argc, char **argv)
{
	struct cli_flags f;
	struct ucr_config *cfg = NULL;
	json_t *arr = NULL, *o, *hub = NULL, *self, *stats = NULL, *ctl = NULL;
	size_t i;
	int rc = 1;

	CLI_BEGIN(&f, "json", argc, argv);
	if (f.npos != 0)
		return cli_misuse(argv[0]);
	if (cli_load_config(&cfg) != 0)
		return 1;
	if (cfg->is_hub) {
		if (query(cfg, "peers", &arr, "peers") != 0)
			goto leave;
		/* the hub's counters go with its own entry ("counters") */
		if (query(cfg, "hub", &hub, "peers") == 0 &&
		    (self = hub_entry(arr)) != NULL)
			json_object_set(self, "counters", hub);
	} else if (*cfg->hub == '\0') {
		cli_error("peers: this node has no hub configured ('hub' and "
			  "'hub_key' in %s); it works offline",
		    cfg->path);
		goto leave;
	} else {
		/* a node: its one peer is the hub */
		if (query(cfg, "sync", &arr, "peers") != 0)
			goto leave;
	}
	/* the control socket's own counters go with the daemon's entry */
	if (query(cfg, "stats", &stats, "peers") == 0 &&
	    (ctl = json_object_get(stats, "control")) != NULL) {
		if (!cfg->is_hub)
			json_object_set(arr, "control", ctl);
		else if ((self = hub_entry(arr)) != NULL)
			json_object_set(self, "control", ctl);
	}
	if (cli_flag_set(&f, "json"))
		cli_json_print(arr);
	else if (!cfg->is_hub) {
		json_t *rec = json_object_get(arr, "recovered");
		json_t *reb = json_object_get(arr, "rebased");

		if (json_is_false(json_object_get(arr, "connected")))
			printf(
			    "hub %s: OFFLINE, nothing heard for %" JSON_INTEGER_FORMAT
			    " s (%s), our head %" JSON_INTEGER_FORMAT
			    ", hub held %" JSON_INTEGER_FORMAT
			    " when last heard",
			    cfg->hub,
			    json_integer_value(
				json_object_get(arr, "silent_s")),
			    json_string_value(json_object_get(arr, "state")),
			    json_integer_value(json_object_get(arr, "head")),
			    json_integer_value(
				json_object_get(arr, "hub_seq")));
		else
			printf("hub %s: %s, our head %" JSON_INTEGER_FORMAT
			       ", hub holds %" JSON_INTEGER_FORMAT
			       ", lag %" JSON_INTEGER_FORMAT,
			    cfg->hub,
			    json_string_value(json_object_get(arr, "state")),
			    json_integer_value(json_object_get(arr, "head")),
			    json_integer_value(json_object_get(arr, "hub_seq")),
			    json_integer_value(json_object_get(arr, "lag")));
		printf("%s%s\n",
		    *json_string_value(json_object_get(arr, "why")) ? ": " : "",
		    json_string_value(json_object_get(arr, "why")));
		if (json_integer_value(rec) > 0 || json_integer_value(reb) > 0)
			printf("restore: recovered %" JSON_INTEGER_FORMAT
			       " own entries, re-based %" JSON_INTEGER_FORMAT
			       "\n",
			    json_integer_value(rec), json_integer_value(reb));
	} else {
		/* TRANSLATORS: column heads of ucr peers, 7, 12, 6, 9, 9, 8,
		   8 and 6 characters wide */
		printf("%-7s %-12s %-6s %-9s %9s %8s %8s %6s  %s\n", _("CODE"),
		    _("NAME"), _("ROLE"), _("STATE"), _("LAST SEEN"),
		    _("HUB SEQ"), _("NODE SEQ"), _("LAG"), _("NOTE"));
		json_array_foreach(arr, i, o)
		{
			json_t *ls = json_object_get(o, "last_seen_s");
			const char *role =
			    json_string_value(json_object_get(o, "role"));
			char seen[32];

			if (strcmp(role, "hub") == 0)
				continue; /* the hub itself */
			snprintf(seen, sizeof(seen), "%s", _("never"));
			if (json_is_integer(ls))
				/* TRANSLATORS: seconds since a node was last
				   seen, at most 9 characters */
				snprintf(seen, sizeof(seen), _("%llds ago"),
				    (long long)json_integer_value(ls));
			printf("%-7s ",
			    json_string_value(json_object_get(o, "code")));
			cli_cell(stdout,
			    json_string_value(json_object_get(o, "name")), 12,
			    0);
			printf(" %-6s %-9s %9s %8" JSON_INTEGER_FORMAT
			       " %8" JSON_INTEGER_FORMAT
			       " %6" JSON_INTEGER_FORMAT "  %s\n",
			    role,
			    json_is_true(json_object_get(o, "revoked"))
				? _("revoked")
				: json_is_true(json_object_get(o, "forked"))
				? _("FORKED")
				: json_is_true(json_object_get(o, "connected"))
				? _("connected")
				: _("offline"),
			    seen,
			    json_integer_value(json_object_get(o, "hub_seq")),
			    json_integer_value(json_object_get(o, "reported")),
			    json_integer_value(json_object_get(o, "lag")),
			    json_string_value(
				json_object_get(o, "last_error")));
			print_paced(json_object_get(o, "paced"));
		}
		if (hub != NULL)
			print_hub(hub);
	}
	if (!cli_flag_set(&f, "json"))
		print_control(ctl);
	rc = 0;
leave:
	json_decref(stats);
	json_decref(hub);
	json_decref(arr);
	ucr_config_free(cfg);
	return rc;
}

/* ---------------------------------------------------------------- digest */

struct digest_ctx {
	json_t *arr;
	int json;
	uint64_t entries;
};

static int
digest_head(const struct ucr_head *h, void *arg)
{
	struct digest_ctx *c = arg;
	char a[65], hh[65], e[17];

	ucr_hex(a, h->author, 32);
	ucr_hex(hh, h->hash, 32);
	snprintf(e, sizeof(e), "%016" PRIx64, h->epoch);
	c->entries += h->seq;
	if (c->json)
		json_array_append_new(c->arr,
		    json_pack("{s:s, s:s, s:I, s:s, s:b}", "author", a, "epoch",
			e, "seq", (json_int_t)h->seq, "hash", hh, "stopped",
			h->stopped));
	else
		printf("%.16s  %s  %8" PRIu64 "  %.16s%s\n", a, e, h->seq, hh,
		    h->stopped ? "  STOPPED (fork)" : "");
	return 0;
}

int
cmd_digest(int argc, char **argv)
{
	struct cli_flags f;
	struct ucr_config *cfg = NULL;
	struct ucr_store *s = NULL;
	struct ucr_store_stats st;
	struct digest_ctx c;
	uint8_t d[32];
	char hex[65];
	int rc = 1;

	CLI_BEGIN(&f, "json", argc, argv);
	if (f.npos != 0)
		return cli_misuse(argv[0]);
	memset(&c, 0, sizeof(c));
	c.json = cli_flag_set(&f, "json");
	c.arr = json_array();
	if (cli_load_config(&cfg) != 0 || cli_open_store(&s, cfg) != 0)
		goto leave;
	if (!c.json)
		printf("%-16s  %-16s  %8s  %s\n", _("AUTHOR"), _("EPOCH"),
		    _("SEQ"), _("HEAD"));
	if (ucr_store_foreach_head(s, digest_head, &c) != 0 ||
	    ucr_store_view_digest(s, d) != 0 || ucr_store_stats(s, &st) != 0) {
		cli_error("digest: cannot read the store");
		goto leave;
	}
	ucr_hex(hex, d, 32);
	if (c.json) {
		json_t *o = json_pack("{s:o, s:s, s:I, s:I}", "logs", c.arr,
		    "view_digest", hex, "records", (json_int_t)st.records,
		    "entries", (json_int_t)c.entries);

		c.arr = NULL;
		cli_json_print(o);
		json_decref(o);
	} else
		printf(_("view digest %s (%" PRIu64 " records, %" PRIu64
			 " entries)\n"),
		    hex, st.records, c.entries);
	rc = 0;
leave:
	json_decref(c.arr);
	ucr_store_free(s);
	ucr_config_free(cfg);
	return rc;
}

/* ---------------------------------------------------------------- regional */

/*
 * Send one regional record from the hub's administrator (vision, priority,
 * goal): the hub's configuration, then one upsert. Frees r.
 */
static int
regional_set(Ucr__Record *r, const char *cmd)
{
	struct ucr_config *cfg = NULL;
	int rc = 1;

	if (cli_load_config(&cfg) == 0 && need_hub(cfg, cmd) == 0)
		rc =
		    cli_put(cfg, r, UCR_PUT_UPSERT, NULL, 0, cmd, "set", "set");
	ucr__record__free_unpacked(r, NULL);
	ucr_config_free(cfg);
	return rc;
}

int
cmd_vision(int argc, char **argv)
{
	struct cli_flags f;
	Ucr__Record *r;
	const char *y;
	char *end;
	long year = 2050;

	CLI_BEGIN(&f, "year=", argc, argv);
	if (f.npos != 2 || strcmp(f.pos[0], "set") != 0)
		return cli_misuse(argv[0]);
	if ((y = cli_flag(&f, "year")) != NULL) {
		year = strtol(y, &end, 10);
		if (*y == '\0' || *end != '\0' || !ucr_year_valid(year)) {
			cli_error("vision set: year: '%s' outside 1900-2100",
			    y);
			return 1;
		}
	}
	r = cli_record_new(UCR_REGION, UCR__RECORD__BODY_VISION);
	r->key = strdup("region/vision/vision");
	r->vision->text = strdup(f.pos[1]);
	r->vision->year = (uint32_t)year;
	return regional_set(r, "vision");
}

int
cmd_priority(int argc, char **argv)
{
	struct cli_flags f;
	Ucr__Record *r;
	char key[64];

	CLI_BEGIN(&f, "title=", argc, argv);
	if (f.npos != 2 || strcmp(f.pos[0], "set") != 0 ||
	    !cli_flag_set(&f, "title"))
		return cli_misuse(argv[0]);
	if (!ucr_priority_valid(f.pos[1])) {
		cli_error(
		    "priority set: priority: unknown priority '%s' (P1..P5)",
		    f.pos[1]);
		return 1;
	}
	r = cli_record_new(UCR_REGION, UCR__RECORD__BODY_PRIORITY);
	snprintf(key, sizeof(key), "region/priority/%s", f.pos[1]);
	r->key = strdup(key);
	r->priority->id = strdup(f.pos[1]);
	r->priority->title = strdup(cli_flag(&f, "title"));
	return regional_set(r, "priority");
}

int
cmd_goal(int argc, char **argv)
{
	struct cli_flags f;
	Ucr__Record *r;
	const char *title;
	char key[64];

	CLI_BEGIN(&f, "threshold= title=", argc, argv);
	if (f.npos != 2 || strcmp(f.pos[0], "set") != 0 ||
	    !cli_flag_set(&f, "threshold"))
		return cli_misuse(argv[0]);
	r = cli_record_new(UCR_REGION, UCR__RECORD__BODY_GOAL);
	snprintf(key, sizeof(key), "region/goal/%s", f.pos[1]);
	r->key = strdup(key);
	r->goal->id = strdup(f.pos[1]);
	title = cli_flag(&f, "title");
	r->goal->title = strdup(title ? title : "");
	/* initialised, so that freeing r after a bad value is safe */
	if ((r->goal->threshold = malloc(sizeof(*r->goal->threshold))) != NULL)
		ucr__decimal__init(r->goal->threshold);
	if (r->goal->threshold == NULL ||
	    ucr_decimal_parse(r->goal->threshold, cli_flag(&f, "threshold")) !=
		0) {
		cli_error("goal set: threshold: '%s' is not a number",
		    cli_flag(&f, "threshold"));
		ucr__record__free_unpacked(r, NULL);
		return 1;
	}
	return regional_set(r, "goal");
}
