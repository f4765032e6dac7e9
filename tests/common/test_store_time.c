/*
 * test_store_time.c: the time rules of ucr_store_apply (docs/protocol.md)
 * and the clock poisoning attack they close: one entry with time 2^64-1
 * from an enrolled node used to raise every site's clock to the top, after
 * which the clock wrapped to 0 and every later edit, a revocation
 * included, lost last-writer-wins.
 */
#include "storeutil.h"

static char *dir;
static struct ucr_key *hubk, *nodek;
static struct ucr_store *hub, *node;

static void
setup(void)
{
	su_setup(&dir, &hubk, &hub, &nodek, &node, 1);
}

static void
teardown(void)
{
	su_teardown(dir, hubk, hub, nodek, node);
}

TestSuite(store_time, .init = setup, .fini = teardown, .timeout = 60);

/*
 * A batch of one entry at seq with the time given, signed by k: what a
 * hostile but enrolled node can send, built with the project's own code.
 */
static Ucr__Batch *
forge(const struct ucr_key *k, uint64_t epoch, uint64_t seq,
    const uint8_t prev[32], uint64_t time, int n)
{
	Ucr__Batch *b = calloc(1, sizeof(*b));
	Ucr__Record *r = su_network("2403", n);
	uint8_t *rb, lasthash[32];
	size_t rlen;

	cr_assert_not_null(b);
	ucr__batch__init(b);
	cr_assert_eq(ucr_record_encode(&rb, &rlen, r), 0);
	b->entries = calloc(1, sizeof(*b->entries));
	cr_assert_eq(ucr_entry_encode(&b->entries[0].data, &b->entries[0].len,
			 epoch, seq, prev, time, UCR__RECORD__BODY_NETWORK, rb,
			 rlen),
	    0);
	free(rb);
	ucr__record__free_unpacked(r, NULL);
	b->n_entries = 1;
	b->epoch = epoch;
	b->first_seq = seq;
	b->last_seq = seq;
	b->signature.data = malloc(UCR_SIG_LEN);
	ucr_hash(lasthash, b->entries[0].data, b->entries[0].len);
	ucr_batch_sign(b, k, REGION, lasthash);
	/* its own copy of the key: forged_free frees it */
	b->author.data = malloc(UCR_PK_LEN);
	memcpy(b->author.data, k->pk, UCR_PK_LEN);
	return b;
}

/* A batch of forge's, built part by part (ucr_batch_free frees only a
   batch of ucr_store_batch's, made in one allocation). */
static void
forged_free(Ucr__Batch *b)
{
	if (b == NULL)
		return;
	free(b->entries[0].data);
	free(b->entries);
	free(b->signature.data);
	free(b->author.data);
	free(b);
}

static const uint8_t zero[32];

static int
apply(struct ucr_store *s, Ucr__Batch *b, char *why, size_t whylen)
{
	size_t applied;
	int rc = ucr_store_apply(s, b, &applied, why, whylen);

	forged_free(b);
	return rc;
}

Test(store_time, hlc_saturates_instead_of_wrapping)
{
	cr_assert_eq(ucr_hlc_next(UCR_HLC_MAX), UCR_HLC_MAX);
	cr_assert_eq(ucr_hlc_merge(0, UCR_HLC_MAX), UCR_HLC_MAX);
	cr_assert_eq(ucr_hlc_merge(UCR_HLC_MAX - 1, UCR_HLC_MAX), UCR_HLC_MAX);
	cr_assert_gt(ucr_hlc_next(0), 0);
	cr_assert_gt(ucr_hlc_bound(300), ucr_hlc_now());
}

Test(store_time, poisoned_time_refused_and_revoke_still_works)
{
	uint8_t before[32], after[32];
	struct ucr_head h;
	char why[256] = "";
	uint64_t ne, he, revoked_at;
	Ucr__Record *r;

	cr_assert_eq(ucr_store_identity(node, NULL, &ne, NULL, 0), 0);
	cr_assert_eq(ucr_store_view_digest(hub, before), 0);
	cr_assert_eq(apply(hub, forge(nodek, ne, 1, zero, UINT64_MAX, 1), why,
			 sizeof(why)),
	    UCR_ETIME, "%s", why);
	cr_assert(strstr(why, "ahead of this clock") != NULL, "%s", why);
	/* nothing stored: no log, the view unchanged */
	cr_assert_eq(ucr_store_head(hub, nodek->pk, ne, &h), UCR_ENOTFOUND);
	cr_assert_eq(ucr_store_view_digest(hub, after), 0);
	cr_assert_eq(memcmp(before, after, 32), 0);

	/* the hub's clock was not pulled along: a revocation stamps now */
	revoked_at = ucr_store_time_next(hub, 0);
	cr_assert_lt(revoked_at, ucr_hlc_bound(1));
	r = su_roster(nodek->pk, "2403");
	r->roster->revoked_at = revoked_at;
	cr_assert_eq(su_append(hub, hubk, r), 0);
	{
		char key[128], hex[65];
		Ucr__Record *got = NULL;

		ucr_hex(hex, nodek->pk, 32);
		snprintf(key, sizeof(key), "region/roster/%s", hex);
		cr_assert_eq(ucr_store_get(hub, key, su_decode_cb, &got), 0);
		cr_assert_eq(got->roster->revoked_at, revoked_at,
		    "the revocation must win last-writer-wins");
		ucr__record__free_unpacked(got, NULL);
	}
	/* the hub's own later writes still show */
	cr_assert_eq(ucr_store_identity(hub, NULL, &he, NULL, 0), 0);
	cr_assert_eq(ucr_store_head(hub, hubk->pk, he, &h), 0);
	cr_assert_eq(h.seq, 2);
	cr_assert_lt(h.time, ucr_hlc_bound(1));
}

Test(store_time, node_set_still_shows_after_refused_poison)
{
	Ucr__Batch *b;
	size_t applied;
	char why[256] = "";
	uint64_t ne;
	int n = 0;

	cr_assert_eq(ucr_store_identity(node, NULL, &ne, NULL, 0), 0);
	cr_assert_eq(apply(hub, forge(nodek, ne, 1, zero, UINT64_MAX - 5, 1),
			 why, sizeof(why)),
	    UCR_ETIME);
	/* an honest write of the same node goes in and is current */
	cr_assert_eq(su_append(node, nodek, su_network("2403", 7)), 0);
	cr_assert_eq(ucr_store_batch(node, nodek, nodek->pk, ne, 1, 0, 1 << 20,
			 &b),
	    0);
	cr_assert_eq(ucr_store_apply(hub, b, &applied, why, sizeof(why)), 0,
	    "%s", why);
	ucr_batch_free(b);
	cr_assert_eq(ucr_store_foreach_record(hub, "2403/network/N7",
			 su_count_cb, &n),
	    0);
	cr_assert_eq(n, 1);
}

Test(store_time, time_must_increase_within_a_log)
{
	uint8_t prev[32];
	uint64_t ne, t = ucr_hlc_now();
	char why[256] = "";
	Ucr__Batch *b;

	cr_assert_eq(ucr_store_identity(node, NULL, &ne, NULL, 0), 0);
	/* a time of 0 for a first entry is never after "nothing" */
	cr_assert_eq(apply(hub, forge(nodek, ne, 1, zero, 0, 3), why,
			 sizeof(why)),
	    UCR_ETIME, "%s", why);
	b = forge(nodek, ne, 1, zero, t, 1);
	ucr_hash(prev, b->entries[0].data, b->entries[0].len);
	cr_assert_eq(apply(hub, b, why, sizeof(why)), 0, "%s", why);
	/* the same time again, and an earlier one: refused */
	cr_assert_eq(apply(hub, forge(nodek, ne, 2, prev, t, 2), why,
			 sizeof(why)),
	    UCR_ETIME);
	cr_assert(strstr(why, "not after") != NULL, "%s", why);
	cr_assert_eq(apply(hub, forge(nodek, ne, 2, prev, t - 1000, 2), why,
			 sizeof(why)),
	    UCR_ETIME);
	/* later: taken */
	cr_assert_eq(apply(hub, forge(nodek, ne, 2, prev, t + 1, 2), why,
			 sizeof(why)),
	    0, "%s", why);
}

Test(store_time, skew_is_bounded_by_configuration)
{
	uint64_t ne, ahead = (uint64_t)200 * 1000 << 16;
	uint8_t prev[32];
	char why[256] = "";
	Ucr__Batch *b;

	cr_assert_eq(ucr_store_identity(node, NULL, &ne, NULL, 0), 0);
	/* 200 s ahead: within the default 300 s */
	b = forge(nodek, ne, 1, zero, ucr_hlc_now() + ahead, 1);
	ucr_hash(prev, b->entries[0].data, b->entries[0].len);
	cr_assert_eq(apply(hub, b, why, sizeof(why)), 0, "%s", why);
	/* with max_clock_skew 100, 200 s ahead is refused */
	ucr_store_set_max_skew(hub, 100);
	cr_assert_eq(apply(hub,
			 forge(nodek, ne, 2, prev, ucr_hlc_now() + ahead, 2),
			 why, sizeof(why)),
	    UCR_ETIME);
}

Test(store_time, stamped_times_are_monotonic_across_reopen)
{
	char path[512];
	uint64_t t1, t2, he;
	struct ucr_head h;

	cr_assert_eq(ucr_store_identity(hub, NULL, &he, NULL, 0), 0);
	cr_assert_eq(ucr_store_head(hub, hubk->pk, he, &h), 0);
	t1 = ucr_store_time_next(hub, h.time + ((uint64_t)60000 << 16));
	cr_assert_gt(t1, h.time);
	cr_assert_gt(ucr_store_time_next(hub, 0), t1);
	/* a floor above the clock is honoured */
	t2 = ucr_store_time_next(hub, t1 + 1000);
	cr_assert_gt(t2, t1 + 1000);
	/* reopened: never below the newest head */
	ucr_store_free(hub);
	snprintf(path, sizeof(path), "%s/hub", dir);
	cr_assert_eq(ucr_store_open(&hub, path, 0, 0), 0);
	cr_assert_gt(ucr_store_time_next(hub, 0), h.time);
}
