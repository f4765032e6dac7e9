/* roster.c: who a key is and what it may write (roster.h). */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "record.h"
#include "roster.h"

static void
setwhy(char *why, size_t whylen, const char *what)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", what);
}

const char *
ucr_role_name(int role)
{
	switch (role) {
	case UCR_ROLE_NODE:
		return "node";
	case UCR_ROLE_HUB:
		return "hub";
	case UCR_ROLE_READER:
		return "reader";
	default:
		return "?";
	}
}

int
ucr_role_parse(const char *name)
{
	if (strcmp(name, "node") == 0)
		return UCR_ROLE_NODE;
	if (strcmp(name, "hub") == 0)
		return UCR_ROLE_HUB;
	if (strcmp(name, "reader") == 0)
		return UCR_ROLE_READER;
	return -1;
}

int
ucr_roster_from_record(struct ucr_roster_entry *out, const Ucr__Record *r)
{
	const Ucr__RosterEntry *e;

	memset(out, 0, sizeof(*out));
	if (r->tombstone || r->body_case != UCR__RECORD__BODY_ROSTER ||
	    r->owner == NULL || strcmp(r->owner, UCR_REGION) != 0)
		return UCR_ENOTFOUND;
	e = r->roster;
	if (e->public_key.len != UCR_PK_LEN || e->municipality == NULL)
		return UCR_EPROTO;
	memcpy(out->pk, e->public_key.data, UCR_PK_LEN);
	snprintf(out->code, sizeof(out->code), "%s", e->municipality);
	snprintf(out->name, sizeof(out->name), "%s", e->name ? e->name : "");
	out->role = e->role;
	out->valid_from = e->valid_from;
	out->revoked_at = e->revoked_at;
	return 0;
}

int
ucr_roster_parse(struct ucr_roster_entry *out, const uint8_t *bytes, size_t len)
{
	Ucr__Record *r;
	int rc;

	memset(out, 0, sizeof(*out));
	if (ucr_record_decode(&r, bytes, len) != 0)
		return UCR_EPROTO;
	rc = ucr_roster_from_record(out, r);
	ucr__record__free_unpacked(r, NULL);
	return rc;
}

void
ucr_roster_hub(struct ucr_roster_entry *out, const uint8_t *pk)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->pk, pk, UCR_PK_LEN);
	snprintf(out->code, sizeof(out->code), "%s", UCR_REGION);
	snprintf(out->name, sizeof(out->name), "%s", "hub");
	out->role = UCR_ROLE_HUB;
	out->is_hub = 1;
}

struct lookup {
	struct ucr_roster_entry *out;
	const uint8_t *pk;    /* the Ed25519 key wanted, or */
	const uint8_t *curve; /* its X25519 form */
	int rc;
};

static int
lookup_cb(const struct ucr_rec *rec, void *arg)
{
	struct lookup *l = arg;
	struct ucr_roster_entry e;
	uint8_t c[32];

	if (ucr_roster_parse(&e, rec->bytes, rec->len) != 0)
		return 0;
	if (l->pk != NULL && memcmp(e.pk, l->pk, UCR_PK_LEN) != 0)
		return 0;
	if (l->curve != NULL &&
	    (crypto_sign_ed25519_pk_to_curve25519(c, e.pk) != 0 ||
		memcmp(c, l->curve, 32) != 0))
		return 0;
	*l->out = e;
	l->rc = 0;
	return 1; /* found: stop */
}

int
ucr_roster_lookup(struct ucr_store *s, const uint8_t *pk,
    struct ucr_roster_entry *out)
{
	struct lookup l = {out, pk, NULL, UCR_ENOTFOUND};
	char key[128], hex[2 * UCR_PK_LEN + 1];
	int rc;

	memset(out, 0, sizeof(*out));
	ucr_hex(hex, pk, UCR_PK_LEN);
	snprintf(key, sizeof(key), "region/roster/%s", hex);
	rc = ucr_store_get(s, key, lookup_cb, &l);
	if (rc < 0 && rc != UCR_ENOTFOUND)
		return rc;
	return l.rc;
}

int
ucr_roster_lookup_curve(struct ucr_store *s, const uint8_t *curve,
    struct ucr_roster_entry *out)
{
	struct lookup l = {out, NULL, curve, UCR_ENOTFOUND};
	int rc;

	memset(out, 0, sizeof(*out));
	rc = ucr_store_foreach_record(s, "region/roster/", lookup_cb, &l);
	if (rc < 0)
		return rc;
	return l.rc;
}

int
ucr_roster_valid_at(const struct ucr_roster_entry *e, uint64_t time)
{
	if (e->is_hub)
		return 0;
	if (time < e->valid_from)
		return UCR_EROSTER;
	if (e->revoked_at != 0 && time >= e->revoked_at)
		return UCR_EROSTER;
	return 0;
}

int
ucr_roster_admit(const struct ucr_roster_entry *e, char *why, size_t whylen)
{
	if (e->role == UCR_ROLE_HUB || strcmp(e->code, UCR_REGION) == 0) {
		setwhy(why, whylen, "a hub's or the region's key");
		return UCR_EROLE;
	}
	if (e->role != UCR_ROLE_NODE && e->role != UCR_ROLE_READER) {
		setwhy(why, whylen, "unknown role");
		return UCR_EROLE;
	}
	if (!ucr_municipality_known(e->code)) {
		setwhy(why, whylen, "unknown municipality code");
		return UCR_EROLE;
	}
	if (e->revoked_at != 0) {
		setwhy(why, whylen, "revoked");
		return UCR_EROSTER;
	}
	return 0;
}

int
ucr_roster_may_write(const struct ucr_roster_entry *e, const char *owner,
    uint64_t time, char *why, size_t whylen)
{
	int region = strcmp(owner, UCR_REGION) == 0;

	if (ucr_roster_valid_at(e, time) != 0) {
		setwhy(why, whylen,
		    time < e->valid_from
			? "entry timed before the key's valid_from"
			: "entry timed at or after the key's revocation");
		return UCR_EROSTER;
	}
	if (e->is_hub) {
		if (!region) {
			setwhy(why, whylen,
			    "the hub writes region records only");
			return UCR_EOWNER;
		}
		return 0;
	}
	if (e->role == UCR_ROLE_READER) {
		setwhy(why, whylen, "a reader's key never writes");
		return UCR_EROLE;
	}
	if (e->role != UCR_ROLE_NODE || region ||
	    strcmp(e->code, UCR_REGION) == 0) {
		setwhy(why, whylen,
		    "only the hub's own key writes region records");
		return UCR_EROLE;
	}
	if (strcmp(e->code, owner) != 0) {
		setwhy(why, whylen, "the key speaks for another municipality");
		return UCR_EOWNER;
	}
	return 0;
}

int
ucr_roster_enrol_check(const char *code, int role, char *why, size_t whylen)
{
	if (strcmp(code, UCR_REGION) == 0) {
		setwhy(why, whylen,
		    "the code 'region' is the hub's own; enrol a "
		    "municipality's key");
		return UCR_EROLE;
	}
	if (role == UCR_ROLE_HUB) {
		setwhy(why, whylen,
		    "role hub: only the hub's own key, enrolled by the hub "
		    "itself");
		return UCR_EROLE;
	}
	if (role != UCR_ROLE_NODE && role != UCR_ROLE_READER) {
		setwhy(why, whylen, "unknown role (node or reader)");
		return UCR_EINVAL;
	}
	if (!ucr_municipality_known(code)) {
		setwhy(why, whylen, "unknown municipality code");
		return UCR_EINVAL;
	}
	return 0;
}
