/*
 * test_store_rebase.c: ucr_store_rebase, the store side of a restore
 * without loss. A node's store is copied (a plain copy, a snapshot); the
 * original goes on writing entries the hub accepts, the copy writes other
 * entries at the same seqs. Fed the original's batch, the copy takes the
 * accepted entries and re-bases its own on top: nothing of either is lost.
 */
#include <sys/stat.h>

#include "storeutil.h"

static char *dir;
static struct ucr_key *hubk, *nodek;
static struct ucr_store *orig, *copy;
static uint8_t self[32];
static uint64_t epoch;

static void
setup(void)
{
	su_setup(&dir, &hubk, NULL, &nodek, NULL, 0);
	su_copied(dir, nodek, hubk->pk, &orig, &copy);
	cr_assert_eq(ucr_store_identity(orig, self, &epoch, NULL, 0), 0);
}

static void
teardown(void)
{
	ucr_store_free(orig);
	ucr_store_free(copy);
	su_teardown(dir, hubk, NULL, nodek, NULL);
}

TestSuite(store_rebase, .init = setup, .fini = teardown, .timeout = 60);

static uint64_t
head(struct ucr_store *s)
{
	struct ucr_head h;

	cr_assert_eq(ucr_store_head(s, self, epoch, &h), 0);
	return h.seq;
}

static int
holds(struct ucr_store *s, int i)
{
	char key[64];
	int n = 0;

	snprintf(key, sizeof(key), "2403/network/N%d", i);
	ucr_store_get(s, key, su_count_cb, &n);
	return n;
}

Test(store_rebase, accepted_entries_first_then_ours)
{
	Ucr__Batch *b;
	size_t rec, reb;
	uint64_t from;
	uint8_t ho[32], hc[32];
	char why[256];
	int i;

	/* the original: 4, 5 (the hub holds these) */
	cr_assert_eq(su_append(orig, nodek, su_network("2403", 4)), 0);
	cr_assert_eq(su_append(orig, nodek, su_network("2403", 5)), 0);
	/* the copy: 104, 105, 106 at the same seqs and on */
	for (i = 104; i <= 106; i++)
		cr_assert_eq(su_append(copy, nodek, su_network("2403", i)), 0);
	cr_assert_eq(head(copy), 6);

	/* the hub's 5 alone does not chain onto the copy's 4 */
	cr_assert_eq(ucr_store_batch(orig, nodek, self, epoch, 5, 0, 1 << 20,
			 &b),
	    0);
	cr_assert_eq(ucr_store_rebase(copy, nodek, b, &rec, &reb, &from, why,
			 sizeof(why)),
	    UCR_ECHAIN);
	ucr_batch_free(b);
	cr_assert_eq(head(copy), 6, "a refused batch changes nothing");

	/* from 4 on it does */
	cr_assert_eq(ucr_store_batch(orig, nodek, self, epoch, 4, 0, 1 << 20,
			 &b),
	    0);
	cr_assert_eq(ucr_store_rebase(copy, nodek, b, &rec, &reb, &from, why,
			 sizeof(why)),
	    0, "%s", why);
	cr_assert_eq(rec, 2);
	cr_assert_eq(reb, 3);
	cr_assert_eq(from, 4);
	cr_assert_eq(head(copy), 8);
	/* the hub's entries are now ours, byte for byte */
	for (i = 1; i <= 5; i++) {
		cr_assert_eq(ucr_store_entry_hash(orig, self, epoch, i, ho), 0);
		cr_assert_eq(ucr_store_entry_hash(copy, self, epoch, i, hc), 0);
		cr_assert_eq(memcmp(ho, hc, 32), 0, "entry %d differs", i);
	}
	/* and every record of both sides is there */
	for (i = 1; i <= 5; i++)
		cr_assert(holds(copy, i), "N%d lost", i);
	for (i = 104; i <= 106; i++)
		cr_assert(holds(copy, i), "N%d lost", i);
	cr_assert_eq(su_records(copy), 8);
	cr_assert_eq(ucr_store_check(copy, 1, NULL, why, sizeof(why)), 0, "%s",
	    why);
	cr_assert_eq(ucr_store_check(copy, 0, NULL, why, sizeof(why)), 0, "%s",
	    why);
	/* the same batch again: nothing to do */
	cr_assert_eq(ucr_store_rebase(copy, nodek, b, &rec, &reb, &from, why,
			 sizeof(why)),
	    UCR_EDUP);
	ucr_batch_free(b);

	/* the original takes the re-based entries as a node's next batch */
	cr_assert_eq(ucr_store_batch(copy, nodek, self, epoch, 6, 0, 1 << 20,
			 &b),
	    0);
	{
		size_t applied;

		cr_assert_eq(ucr_store_apply(orig, b, &applied, why,
				 sizeof(why)),
		    0, "%s", why);
		cr_assert_eq(applied, 3);
	}
	ucr_batch_free(b);
	{
		uint8_t d1[32], d2[32];

		cr_assert_eq(ucr_store_view_digest(orig, d1), 0);
		cr_assert_eq(ucr_store_view_digest(copy, d2), 0);
		cr_assert_eq(memcmp(d1, d2, 32), 0, "views differ");
	}
}

Test(store_rebase, behind_only_grows)
{
	Ucr__Batch *b;
	size_t rec, reb;
	uint64_t from;
	char why[256];

	cr_assert_eq(su_append(orig, nodek, su_network("2403", 4)), 0);
	cr_assert_eq(ucr_store_batch(orig, nodek, self, epoch, 2, 0, 1 << 20,
			 &b),
	    0);
	cr_assert_eq(ucr_store_rebase(copy, nodek, b, &rec, &reb, &from, why,
			 sizeof(why)),
	    0, "%s", why);
	cr_assert_eq(rec, 1);
	cr_assert_eq(reb, 0);
	cr_assert_eq(head(copy), 4);
	ucr_batch_free(b);
}

Test(store_rebase, another_log_refused)
{
	struct ucr_key *other;
	struct ucr_store *o;
	uint8_t opk[32];
	uint64_t oepoch, from;
	Ucr__Batch *b;
	size_t rec, reb;
	char why[256];

	cr_assert_eq(ucr_key_generate(&other), 0);
	o = su_open(dir, "other", other, "2403", hubk->pk, 0);
	cr_assert_eq(su_append(o, other, su_network("2403", 9)), 0);
	cr_assert_eq(ucr_store_identity(o, opk, &oepoch, NULL, 0), 0);
	cr_assert_eq(ucr_store_batch(o, other, opk, oepoch, 1, 0, 1 << 20, &b),
	    0);
	cr_assert_eq(ucr_store_rebase(copy, nodek, b, &rec, &reb, &from, why,
			 sizeof(why)),
	    UCR_EINVAL);
	ucr_batch_free(b);
	ucr_store_free(o);
	ucr_key_free(other);
	cr_assert_eq(head(copy), 3);
}
