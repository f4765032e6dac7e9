/*
 * test_roster.c: who a key is and what it may write (common/roster.c),
 * alone and as the store's apply asks it.
 */
#include <sodium.h>

#include "roster.h"
#include "storeutil.h"

static char *dir;
static struct ucr_key *hubk, *nodek, *otherk;
static struct ucr_store *hub, *node;

static void
setup(void)
{
	su_setup(&dir, &hubk, &hub, &nodek, &node, 0);
	cr_assert_eq(ucr_key_generate(&otherk), 0);
}

static void
teardown(void)
{
	ucr_key_free(otherk);
	su_teardown(dir, hubk, hub, nodek, node);
}

TestSuite(roster, .init = setup, .fini = teardown, .timeout = 60);

static struct ucr_roster_entry
entry(const char *code, int role, uint64_t from, uint64_t revoked)
{
	struct ucr_roster_entry e;

	memset(&e, 0, sizeof(e));
	snprintf(e.code, sizeof(e.code), "%s", code);
	e.role = role;
	e.valid_from = from;
	e.revoked_at = revoked;
	return e;
}

Test(roster, role_names)
{
	cr_assert_str_eq(ucr_role_name(UCR_ROLE_NODE), "node");
	cr_assert_str_eq(ucr_role_name(UCR_ROLE_READER), "reader");
	cr_assert_str_eq(ucr_role_name(UCR_ROLE_HUB), "hub");
	cr_assert_str_eq(ucr_role_name(7), "?");
	cr_assert_eq(ucr_role_parse("reader"), UCR_ROLE_READER);
	cr_assert_eq(ucr_role_parse("admin"), -1);
	/* the enum matches the wire's */
	cr_assert_eq(UCR_ROLE_HUB, UCR__ROLE__ROLE_HUB);
	cr_assert_eq(UCR_ROLE_READER, UCR__ROLE__ROLE_READER);
}

Test(roster, may_write_by_role_owner_and_time)
{
	struct ucr_roster_entry n = entry("2403", UCR_ROLE_NODE, 100, 0);
	struct ucr_roster_entry r = entry("2403", UCR_ROLE_READER, 0, 0);
	struct ucr_roster_entry fakehub = entry("region", UCR_ROLE_HUB, 0, 0);
	struct ucr_roster_entry regionnode =
	    entry("region", UCR_ROLE_NODE, 0, 0);
	struct ucr_roster_entry h;
	char why[128];

	cr_assert_eq(ucr_roster_may_write(&n, "2403", 100, why, sizeof(why)),
	    0);
	cr_assert_eq(ucr_roster_may_write(&n, "2403", 99, why, sizeof(why)),
	    UCR_EROSTER);
	cr_assert(strstr(why, "valid_from") != NULL, "%s", why);
	cr_assert_eq(ucr_roster_may_write(&n, "2480", 200, why, sizeof(why)),
	    UCR_EOWNER);
	cr_assert_eq(ucr_roster_may_write(&n, "region", 200, why, sizeof(why)),
	    UCR_EROLE);
	n.revoked_at = 500;
	cr_assert_eq(ucr_roster_may_write(&n, "2403", 499, NULL, 0), 0);
	cr_assert_eq(ucr_roster_may_write(&n, "2403", 500, why, sizeof(why)),
	    UCR_EROSTER);
	cr_assert(strstr(why, "revocation") != NULL, "%s", why);
	/* a reader never writes */
	cr_assert_eq(ucr_roster_may_write(&r, "2403", 1, NULL, 0), UCR_EROLE);
	/* a roster entry claiming hub or region grants nothing */
	cr_assert_eq(ucr_roster_may_write(&fakehub, "region", 1, NULL, 0),
	    UCR_EROLE);
	cr_assert_eq(ucr_roster_may_write(&regionnode, "region", 1, NULL, 0),
	    UCR_EROLE);
	/* the configured hub key writes region records, and only those */
	ucr_roster_hub(&h, hubk->pk);
	cr_assert_eq(ucr_roster_may_write(&h, "region", 1, NULL, 0), 0);
	cr_assert_eq(ucr_roster_may_write(&h, "2403", 1, NULL, 0), UCR_EOWNER);
}

Test(roster, admit_and_enrol_rules)
{
	struct ucr_roster_entry e;
	char why[128];

	e = entry("2403", UCR_ROLE_NODE, 0, 0);
	cr_assert_eq(ucr_roster_admit(&e, NULL, 0), 0);
	e = entry("2403", UCR_ROLE_READER, 0, 0);
	cr_assert_eq(ucr_roster_admit(&e, NULL, 0), 0);
	e = entry("2403", UCR_ROLE_NODE, 0, 5);
	cr_assert_eq(ucr_roster_admit(&e, NULL, 0), UCR_EROSTER);
	e = entry("region", UCR_ROLE_NODE, 0, 0);
	cr_assert_eq(ucr_roster_admit(&e, NULL, 0), UCR_EROLE);
	e = entry("2403", UCR_ROLE_HUB, 0, 0);
	cr_assert_eq(ucr_roster_admit(&e, NULL, 0), UCR_EROLE);
	e = entry("2403", 9, 0, 0);
	cr_assert_eq(ucr_roster_admit(&e, NULL, 0), UCR_EROLE);

	cr_assert_eq(ucr_roster_enrol_check("2403", UCR_ROLE_NODE, NULL, 0), 0);
	cr_assert_eq(ucr_roster_enrol_check("2480", UCR_ROLE_READER, NULL, 0),
	    0);
	cr_assert_eq(ucr_roster_enrol_check("region", UCR_ROLE_NODE, why,
			 sizeof(why)),
	    UCR_EROLE);
	cr_assert(strstr(why, "region") != NULL, "%s", why);
	cr_assert_eq(ucr_roster_enrol_check("2403", UCR_ROLE_HUB, NULL, 0),
	    UCR_EROLE);
	cr_assert_eq(ucr_roster_enrol_check("2403", -1, NULL, 0), UCR_EINVAL);
	cr_assert_eq(ucr_roster_enrol_check("9999", UCR_ROLE_NODE, NULL, 0),
	    UCR_EINVAL);
}

Test(roster, lookup_by_key_and_curve)
{
	Ucr__Record *r = su_roster(nodek->pk, "2403");
	struct ucr_roster_entry e;
	uint8_t curve[32];

	r->roster->role = UCR__ROLE__ROLE_READER;
	r->roster->valid_from = 42;
	cr_assert_eq(su_append(hub, hubk, r), 0);
	cr_assert_eq(ucr_roster_lookup(hub, nodek->pk, &e), 0);
	cr_assert_str_eq(e.code, "2403");
	cr_assert_eq(e.role, UCR_ROLE_READER);
	cr_assert_eq(e.valid_from, 42);
	cr_assert_eq(memcmp(e.pk, nodek->pk, 32), 0);
	cr_assert_eq(ucr_roster_lookup(hub, otherk->pk, &e), UCR_ENOTFOUND);
	cr_assert_eq(crypto_sign_ed25519_pk_to_curve25519(curve, nodek->pk), 0);
	cr_assert_eq(ucr_roster_lookup_curve(hub, curve, &e), 0);
	cr_assert_str_eq(e.code, "2403");
	cr_assert_eq(crypto_sign_ed25519_pk_to_curve25519(curve, otherk->pk),
	    0);
	cr_assert_eq(ucr_roster_lookup_curve(hub, curve, &e), UCR_ENOTFOUND);
}

/* Send the node's log from seq from on to the hub. */
static int
sync_node(uint64_t from, char *why, size_t whylen)
{
	Ucr__Batch *b;
	size_t applied;
	uint64_t ne;
	int rc;

	cr_assert_eq(ucr_store_identity(node, NULL, &ne, NULL, 0), 0);
	cr_assert_eq(ucr_store_batch(node, nodek, nodek->pk, ne, from, 0,
			 1 << 20, &b),
	    0);
	rc = ucr_store_apply(hub, b, &applied, why, whylen);
	ucr_batch_free(b);
	return rc;
}

Test(roster, apply_enforces_valid_from)
{
	Ucr__Record *r = su_roster(nodek->pk, "2403");
	char why[256] = "";

	/* enrolled from an hour ahead: today's entries come too early */
	r->roster->valid_from = ucr_hlc_now() + ((uint64_t)3600000 << 16);
	cr_assert_eq(su_append(hub, hubk, r), 0);
	cr_assert_eq(su_append(node, nodek, su_network("2403", 1)), 0);
	cr_assert_eq(sync_node(1, why, sizeof(why)), UCR_EROSTER);
	cr_assert(strstr(why, "valid_from") != NULL, "%s", why);
	cr_assert_eq(su_records(hub), 1);
}

Test(roster, apply_refuses_entries_after_revocation)
{
	Ucr__Record *r = su_roster(nodek->pk, "2403");
	char why[256] = "";

	cr_assert_eq(su_append(hub, hubk, r), 0);
	cr_assert_eq(su_append(node, nodek, su_network("2403", 1)), 0);
	cr_assert_eq(sync_node(1, why, sizeof(why)), 0, "%s", why);
	r = su_roster(nodek->pk, "2403");
	r->roster->revoked_at = ucr_store_time_next(hub, 0);
	cr_assert_eq(su_append(hub, hubk, r), 0);
	cr_assert_eq(su_append(node, nodek, su_network("2403", 2)), 0);
	cr_assert_eq(sync_node(2, why, sizeof(why)), UCR_EROSTER);
	cr_assert(strstr(why, "revocation") != NULL, "%s", why);
	cr_assert_eq(su_records(hub), 2); /* roster + N1 */
}

Test(roster, hub_role_entry_for_another_key_writes_no_region_record)
{
	Ucr__Record *r = su_roster(otherk->pk, "region");
	struct ucr_store *o;
	Ucr__Batch *b;
	size_t applied;
	uint64_t oe;
	char why[256] = "";

	/* the defect: "roster add region KEY" made KEY a regional writer */
	r->roster->role = UCR__ROLE__ROLE_HUB;
	cr_assert_eq(su_append(hub, hubk, r), 0);
	o = su_open(dir, "other", otherk, "region", hubk->pk, 0);
	/* its own store trusts nothing but the hub key for region records */
	r = su_roster(nodek->pk, "2403");
	{
		struct ucr_put p = {.record = r, .mode = UCR_PUT_UPSERT};
		uint64_t f, l;
		size_t bad;

		cr_assert_eq(ucr_store_append(o, otherk, &p, 1, &f, &l, &bad,
				 why, sizeof(why)),
		    UCR_EROLE, "%s", why);
	}
	ucr__record__free_unpacked(r, NULL);
	ucr_store_free(o);
	/* and the hub refuses what such a key signs for the region */
	o = su_open(dir, "other2", otherk, "region", NULL, 0);
	cr_assert_eq(su_append(o, otherk, su_roster(nodek->pk, "2403")), 0);
	cr_assert_eq(ucr_store_identity(o, NULL, &oe, NULL, 0), 0);
	cr_assert_eq(ucr_store_batch(o, otherk, otherk->pk, oe, 1, 0, 1 << 20,
			 &b),
	    0);
	cr_assert_eq(ucr_store_apply(hub, b, &applied, why, sizeof(why)),
	    UCR_EROLE, "%s", why);
	ucr_batch_free(b);
	ucr_store_free(o);
}
