/*
 * test_fork.c: fork evidence. A node's store is copied; the original and
 * the copy each write a different entry at the same seq, both signed. The
 * hub takes the original's, is offered the copy's: its quarantine item
 * names the first differing seq and carries both signed batches, which
 * ucr_fork_evidence_check verifies with nothing but the author's key and
 * the region; a changed byte anywhere makes it fail.
 */
#include <jansson.h>

#include "fork.h"
#include "storeutil.h"

static char *dir;
static struct ucr_key *hubk, *nodek;
static struct ucr_store *hub, *orig, *copy;
static uint64_t epoch;

static void
setup(void)
{
	su_setup(&dir, &hubk, &hub, &nodek, NULL, 1);
	su_copied(dir, nodek, hubk->pk, &orig, &copy);
	cr_assert_eq(ucr_store_identity(orig, NULL, &epoch, NULL, 0), 0);
	/* seq 4 and 5 in the original, a different 4 and 5 in the copy */
	cr_assert_eq(su_append(orig, nodek, su_network("2403", 4)), 0);
	cr_assert_eq(su_append(orig, nodek, su_network("2403", 5)), 0);
	cr_assert_eq(su_append(copy, nodek, su_network("2403", 40)), 0);
	cr_assert_eq(su_append(copy, nodek, su_network("2403", 50)), 0);
}

static void
teardown(void)
{
	ucr_store_free(orig);
	ucr_store_free(copy);
	su_teardown(dir, hubk, hub, nodek, NULL);
}

TestSuite(fork, .init = setup, .fini = teardown, .timeout = 60);

/* The one quarantine item, its evidence copied out. */
struct item {
	int n;
	uint64_t seq;
	char reason[256];
	uint8_t *held, *offered;
	size_t heldlen, offeredlen;
};

static int
item_cb(const struct ucr_quarantine *q, void *arg)
{
	struct item *it = arg;

	it->n++;
	it->seq = q->seq;
	snprintf(it->reason, sizeof(it->reason), "%s", q->reason);
	cr_assert_neq(q->held_batchlen, 0);
	cr_assert_neq(q->offered_batchlen, 0);
	it->held = malloc(q->held_batchlen);
	it->offered = malloc(q->offered_batchlen);
	cr_assert(it->held != NULL && it->offered != NULL);
	memcpy(it->held, q->held_batch, q->held_batchlen);
	memcpy(it->offered, q->offered_batch, q->offered_batchlen);
	it->heldlen = q->held_batchlen;
	it->offeredlen = q->offered_batchlen;
	return 0;
}

static Ucr__Batch *
batch(struct ucr_store *s, uint64_t from, uint64_t to)
{
	Ucr__Batch *b;

	cr_assert_eq(ucr_store_batch(s, nodek, nodek->pk, epoch, from, to,
			 1 << 20, &b),
	    0);
	return b;
}

static int
check(const struct item *it, uint64_t *seq)
{
	return ucr_fork_evidence_check(it->held, it->heldlen, it->offered,
	    it->offeredlen, REGION, nodek->pk, seq, NULL, 0);
}

/* Every single changed byte (a bit flip) makes the evidence fail. */
static void
tampered_fails(uint8_t *buf, size_t len, const struct item *it)
{
	size_t i;
	uint64_t seq;

	for (i = 0; i < len; i++) {
		buf[i] ^= 0x01;
		cr_assert_neq(check(it, &seq), 0, "byte %zu changed: accepted",
		    i);
		buf[i] ^= 0x01;
	}
	cr_assert_eq(check(it, &seq), 0);
}

Test(fork, overlapping_batch_names_first_differing_seq)
{
	Ucr__Batch *a = batch(orig, 1, 5), *b = batch(copy, 2, 5);
	struct item it = {0};
	size_t applied;
	uint64_t seq = 0;
	char why[256], cwhy[256];

	/* the hub holds 1..5 of the original, signed once at 5 */
	cr_assert_eq(ucr_store_apply(hub, a, &applied, why, sizeof(why)), 0);
	cr_assert_eq(ucr_store_apply(hub, b, &applied, why, sizeof(why)),
	    UCR_EFORK);
	cr_assert(strstr(why, "fork at seq 4") != NULL, "%s", why);
	cr_assert_eq(ucr_store_foreach_quarantine(hub, item_cb, &it), 0);
	cr_assert_eq(it.n, 1);
	cr_assert_eq(it.seq, 4);
	cr_assert_eq(ucr_fork_evidence_check(it.held, it.heldlen, it.offered,
			 it.offeredlen, REGION, nodek->pk, &seq, cwhy,
			 sizeof(cwhy)),
	    0, "%s", cwhy);
	cr_assert_eq(seq, 4);
	/* the held side runs from 4 up to the signed 5 */
	{
		Ucr__Batch *h = ucr__batch__unpack(NULL, it.heldlen, it.held);

		cr_assert(h != NULL);
		cr_assert_eq(h->first_seq, 4);
		cr_assert_eq(h->last_seq, 5);
		ucr__batch__free_unpacked(h, NULL);
	}
	/* another key, another region: not this author's fork */
	cr_assert_eq(ucr_fork_evidence_check(it.held, it.heldlen, it.offered,
			 it.offeredlen, REGION, hubk->pk, &seq, NULL, 0),
	    UCR_ENOFORK);
	cr_assert_eq(ucr_fork_evidence_check(it.held, it.heldlen, it.offered,
			 it.offeredlen, "other", nodek->pk, &seq, NULL, 0),
	    UCR_EBADSIG);
	tampered_fails(it.held, it.heldlen, &it);
	tampered_fails(it.offered, it.offeredlen, &it);
	free(it.held);
	free(it.offered);
	ucr_batch_free(a);
	ucr_batch_free(b);
}

Test(fork, batch_on_another_history_names_the_seq_it_continues)
{
	Ucr__Batch *a = batch(orig, 1, 4), *b = batch(copy, 5, 5);
	struct item it = {0};
	size_t applied;
	uint64_t seq = 0;
	char why[256];

	/* held 1..4; offered only 5, which continues the copy's 4 */
	cr_assert_eq(ucr_store_apply(hub, a, &applied, why, sizeof(why)), 0);
	cr_assert_eq(ucr_store_apply(hub, b, &applied, why, sizeof(why)),
	    UCR_EFORK);
	cr_assert(strstr(why, "fork at seq 4") != NULL, "%s", why);
	cr_assert_eq(ucr_store_foreach_quarantine(hub, item_cb, &it), 0);
	cr_assert_eq(it.n, 1);
	cr_assert_eq(it.seq, 4);
	cr_assert_eq(check(&it, &seq), 0);
	cr_assert_eq(seq, 4);
	tampered_fails(it.held, it.heldlen, &it);
	tampered_fails(it.offered, it.offeredlen, &it);
	free(it.held);
	free(it.offered);
	ucr_batch_free(a);
	ucr_batch_free(b);
}

Test(fork, agreeing_batches_are_no_fork)
{
	Ucr__Batch *a = batch(orig, 1, 5), *b = batch(orig, 3, 5);
	size_t al = ucr__batch__get_packed_size(a);
	size_t bl = ucr__batch__get_packed_size(b);
	uint8_t *ab = malloc(al), *bb = malloc(bl);
	uint64_t seq;

	cr_assert(ab != NULL && bb != NULL);
	ucr__batch__pack(a, ab);
	ucr__batch__pack(b, bb);
	cr_assert_eq(ucr_fork_evidence_check(ab, al, bb, bl, REGION, NULL, &seq,
			 NULL, 0),
	    UCR_ENOFORK);
	cr_assert_eq(ucr_fork_evidence_check(ab, 3, bb, bl, REGION, NULL, &seq,
			 NULL, 0),
	    UCR_EPROTO);
	free(ab);
	free(bb);
	ucr_batch_free(a);
	ucr_batch_free(b);
}

/* ucr forks --json exports what ucr_fork_evidence_check verifies. */
Test(fork, cli_exports_the_evidence)
{
	Ucr__Batch *a = batch(orig, 1, 5), *b = batch(copy, 2, 5);
	struct item it = {0};
	size_t applied;
	char why[256], *out = NULL, *err = NULL, *hex;
	json_t *j, *f;
	json_error_t je;

	cr_assert_eq(ucr_store_apply(hub, a, &applied, why, sizeof(why)), 0);
	cr_assert_eq(ucr_store_apply(hub, b, &applied, why, sizeof(why)),
	    UCR_EFORK);
	cr_assert_eq(ucr_store_foreach_quarantine(hub, item_cb, &it), 0);
	cr_assert_eq(tu_run(&out, &err,
			 "ucr forks --data '%s/hub' --region "
			 "%s --json",
			 dir, REGION),
	    0, "%s", err);
	j = json_loads(out, 0, &je);
	cr_assert(j != NULL, "%s", out);
	f = json_array_get(json_object_get(j, "forks"), 0);
	cr_assert(f != NULL, "%s", out);
	cr_assert_eq(json_integer_value(json_object_get(f, "seq")), 4);
	cr_assert(json_is_true(json_object_get(f, "verified")), "%s", out);
	hex = malloc(2 * it.heldlen + 1);
	cr_assert(hex != NULL);
	ucr_hex(hex, it.held, it.heldlen);
	cr_assert_str_eq(json_string_value(json_object_get(f, "held_batch")),
	    hex);
	free(hex);
	cr_assert_neq(json_string_value(json_object_get(f, "offered_batch")),
	    NULL);
	json_decref(j);
	free(out);
	free(err);
	/* the plain form says it verified and names the seq */
	cr_assert_eq(tu_run(&out, &err, "ucr forks --data '%s/hub' --region %s",
			 dir, REGION),
	    0, "%s", err);
	cr_assert(strstr(out, "seq 4") != NULL, "%s", out);
	cr_assert(strstr(out, "evidence verified") != NULL, "%s", out);
	free(out);
	free(err);
	/* checked under another region the signatures fail: exit 1 */
	cr_assert_eq(tu_run(&out, &err,
			 "ucr forks --data '%s/hub' --region "
			 "other",
			 dir),
	    1, "%s", out);
	cr_assert(strstr(out, "BAD evidence") != NULL, "%s", out);
	free(out);
	free(err);
	free(it.held);
	free(it.offered);
	ucr_batch_free(a);
	ucr_batch_free(b);
}
