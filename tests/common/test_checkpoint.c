/* test_checkpoint.c: freeze and rollback checks of the hub's checkpoints. */
#include "checkpoint.h"
#include "storeutil.h"

static struct ucr_key *hub, *other;
static uint8_t author[32];

static void
setup(void)
{
	cr_assert_eq(ucr_crypto_init(), 0);
	cr_assert_eq(ucr_key_generate(&hub), 0);
	cr_assert_eq(ucr_key_generate(&other), 0);
	memset(author, 5, sizeof(author));
}

static void
teardown(void)
{
	ucr_key_free(hub);
	ucr_key_free(other);
}

TestSuite(checkpoint, .init = setup, .fini = teardown, .timeout = 30);

/* A signed checkpoint with one log at seq, at time t. */
static uint8_t *
make(size_t *len, uint8_t sig[UCR_SIG_LEN], uint64_t t, uint64_t seq,
    const struct ucr_key *signer)
{
	Ucr__CheckpointBody b = UCR__CHECKPOINT_BODY__INIT;
	Ucr__LogHead lh = UCR__LOG_HEAD__INIT, *lhp = &lh;
	uint8_t hash[32] = {1}, *buf;

	lh.author.data = author;
	lh.author.len = 32;
	lh.epoch = 9;
	lh.seq = seq;
	lh.hash.data = hash;
	lh.hash.len = 32;
	b.hub.data = hub->pk;
	b.hub.len = 32;
	b.time = t;
	b.heads = &lhp;
	b.n_heads = 1;
	*len = ucr__checkpoint_body__get_packed_size(&b);
	buf = malloc(*len);
	ucr__checkpoint_body__pack(&b, buf);
	ucr_sig_sign(sig, signer, REGION, "checkpoint", buf, *len);
	return buf;
}

Test(checkpoint, verify_and_follow)
{
	uint8_t s1[UCR_SIG_LEN], s2[UCR_SIG_LEN], *b1, *b2;
	size_t l1, l2;
	Ucr__CheckpointBody *c1, *c2;
	char why[256];

	b1 = make(&l1, s1, 1000, 5, hub);
	b2 = make(&l2, s2, 2000, 7, hub);
	cr_assert_eq(ucr_checkpoint_verify(&c1, b1, l1, s1, sizeof(s1), hub->pk,
			 REGION),
	    0);
	cr_assert_eq(ucr_checkpoint_verify(&c2, b2, l2, s2, sizeof(s2), hub->pk,
			 REGION),
	    0);
	cr_assert_eq(ucr_checkpoint_follows(c1, c2, why, sizeof(why)), 0);
	/* the other way round: time and seq went back */
	cr_assert_eq(ucr_checkpoint_follows(c2, c1, why, sizeof(why)),
	    UCR_EROLLBACK);
	/* a replay of the same one is a freeze */
	cr_assert_eq(ucr_checkpoint_follows(c2, c2, why, sizeof(why)),
	    UCR_EROLLBACK);
	ucr__checkpoint_body__free_unpacked(c1, NULL);
	ucr__checkpoint_body__free_unpacked(c2, NULL);
	free(b1);
	free(b2);
}

Test(checkpoint, head_going_back_at_later_time)
{
	uint8_t s1[UCR_SIG_LEN], s2[UCR_SIG_LEN], *b1, *b2;
	size_t l1, l2;
	Ucr__CheckpointBody *c1, *c2;
	char why[256];

	b1 = make(&l1, s1, 1000, 7, hub);
	b2 = make(&l2, s2, 2000, 6, hub);
	cr_assert_eq(ucr_checkpoint_verify(&c1, b1, l1, s1, sizeof(s1), hub->pk,
			 REGION),
	    0);
	cr_assert_eq(ucr_checkpoint_verify(&c2, b2, l2, s2, sizeof(s2), hub->pk,
			 REGION),
	    0);
	cr_assert_eq(ucr_checkpoint_follows(c1, c2, why, sizeof(why)),
	    UCR_EROLLBACK);
	cr_assert(strstr(why, "went back from seq 7 to 6") != NULL, "%s", why);
	ucr__checkpoint_body__free_unpacked(c1, NULL);
	ucr__checkpoint_body__free_unpacked(c2, NULL);
	free(b1);
	free(b2);
}

Test(checkpoint, wrong_signer_or_region_refused)
{
	uint8_t s1[UCR_SIG_LEN], *b1;
	size_t l1;
	Ucr__CheckpointBody *c = NULL;

	b1 = make(&l1, s1, 1000, 5, other);
	cr_assert_eq(ucr_checkpoint_verify(&c, b1, l1, s1, sizeof(s1), hub->pk,
			 REGION),
	    UCR_EBADSIG);
	free(b1);
	b1 = make(&l1, s1, 1000, 5, hub);
	cr_assert_eq(ucr_checkpoint_verify(&c, b1, l1, s1, sizeof(s1), hub->pk,
			 "elsewhere"),
	    UCR_EBADSIG);
	cr_assert_null(c);
	free(b1);
}

Test(checkpoint, store_below_its_checkpoint_is_reported)
{
	char *dir = tu_tempdir(), why[256] = "";
	struct ucr_store *s = su_open(dir, "hub", hub, "region", hub->pk, 0);
	uint8_t sig[UCR_SIG_LEN], *b;
	size_t len, behind;
	uint64_t age;

	cr_assert_eq(ucr_checkpoint_against_store(s, hub->pk, REGION, &age,
			 &behind, why, sizeof(why)),
	    UCR_ENOTFOUND);
	b = make(&len, sig, ucr_hlc_next(0), 3, hub);
	cr_assert_eq(ucr_store_meta_put(s, "checkpoint", b, len), 0);
	cr_assert_eq(ucr_store_meta_put(s, "checkpoint-sig", sig, sizeof(sig)),
	    0);
	cr_assert_eq(ucr_checkpoint_against_store(s, hub->pk, REGION, &age,
			 &behind, why, sizeof(why)),
	    0);
	cr_assert_eq(behind, 1); /* the store holds nothing of that log */
	cr_assert(strstr(why, "checkpoint says 3") != NULL, "%s", why);
	cr_assert_lt(age, 60000);
	free(b);
	ucr_store_free(s);
	tu_rmrf(dir);
	free(dir);
}

/* A checkpoint with n logs (to make it large), at time t. */
static uint8_t *
make_many(size_t *len, uint8_t sig[UCR_SIG_LEN], uint64_t t, size_t n)
{
	Ucr__CheckpointBody b = UCR__CHECKPOINT_BODY__INIT;
	Ucr__LogHead *lh = calloc(n, sizeof(*lh)), **p = calloc(n, sizeof(*p));
	uint8_t hash[32] = {1}, *buf, (*authors)[32] = calloc(n, 32);
	size_t i;

	for (i = 0; i < n; i++) {
		ucr__log_head__init(&lh[i]);
		memcpy(authors[i], &i, sizeof(i));
		lh[i].author.data = authors[i];
		lh[i].author.len = 32;
		lh[i].epoch = 9;
		lh[i].seq = 1;
		lh[i].hash.data = hash;
		lh[i].hash.len = 32;
		p[i] = &lh[i];
	}
	b.hub.data = hub->pk;
	b.hub.len = 32;
	b.time = t;
	b.heads = p;
	b.n_heads = n;
	*len = ucr__checkpoint_body__get_packed_size(&b);
	buf = malloc(*len);
	ucr__checkpoint_body__pack(&b, buf);
	ucr_sig_sign(sig, hub, REGION, "checkpoint", buf, *len);
	free(lh);
	free(p);
	free(authors);
	return buf;
}

struct cpstore {
	char *dir;
	struct ucr_store *s;
};

static void
cp_open(struct cpstore *c)
{
	c->dir = tu_tempdir();
	c->s = su_open(c->dir, "node", other, "2403", hub->pk, 0);
}

static void
cp_close(struct cpstore *c)
{
	ucr_store_free(c->s);
	tu_rmrf(c->dir);
	free(c->dir);
}

Test(checkpoint, accept_follows_and_stores_in_one_go)
{
	struct cpstore c;
	uint8_t s1[UCR_SIG_LEN], s2[UCR_SIG_LEN], got[UCR_SIG_LEN], *b1, *b2;
	size_t l1, l2, n;
	char why[256] = "";

	cp_open(&c);
	b1 = make(&l1, s1, 1000, 5, hub);
	b2 = make(&l2, s2, 2000, 7, hub);
	cr_assert_eq(ucr_checkpoint_accept(c.s, hub->pk, REGION, b1, l1, s1,
			 sizeof(s1), why, sizeof(why)),
	    0, "%s", why);
	cr_assert_eq(ucr_checkpoint_accept(c.s, hub->pk, REGION, b2, l2, s2,
			 sizeof(s2), why, sizeof(why)),
	    0, "%s", why);
	cr_assert_eq(ucr_store_meta_get(c.s, "checkpoint-sig", got, sizeof(got),
			 &n),
	    0);
	cr_assert_eq(memcmp(got, s2, sizeof(s2)), 0);
	/* the older one again: a rollback, and nothing changes */
	cr_assert_eq(ucr_checkpoint_accept(c.s, hub->pk, REGION, b1, l1, s1,
			 sizeof(s1), why, sizeof(why)),
	    UCR_EROLLBACK);
	cr_assert_eq(ucr_store_meta_get(c.s, "checkpoint-sig", got, sizeof(got),
			 &n),
	    0);
	cr_assert_eq(memcmp(got, s2, sizeof(s2)), 0);
	/* a bad signature on the new one */
	s1[0] ^= 1;
	cr_assert_eq(ucr_checkpoint_accept(c.s, hub->pk, REGION, b1, l1, s1,
			 sizeof(s1), why, sizeof(why)),
	    UCR_EBADSIG);
	free(b1);
	free(b2);
	cp_close(&c);
}

Test(checkpoint, stored_one_failing_to_verify_refuses_not_skips)
{
	struct cpstore c;
	uint8_t s1[UCR_SIG_LEN], s2[UCR_SIG_LEN], *b1, *b2;
	size_t l1, l2;
	char why[256] = "";

	cp_open(&c);
	b1 = make(&l1, s1, 5000, 9, hub);
	s1[3] ^= 0x40; /* the stored signature is damaged */
	cr_assert_eq(ucr_checkpoint_store(c.s, b1, l1, s1, sizeof(s1)), 0);
	/* a rolled-back checkpoint must not slip through the broken check */
	b2 = make(&l2, s2, 6000, 2, hub);
	cr_assert_eq(ucr_checkpoint_accept(c.s, hub->pk, REGION, b2, l2, s2,
			 sizeof(s2), why, sizeof(why)),
	    UCR_ECHECKPOINT);
	cr_assert(strstr(why, "fails its signature") != NULL, "%s", why);
	/* a signature missing altogether: the same */
	cr_assert_eq(ucr_store_meta_put(c.s, "checkpoint-sig", "", 0), 0);
	cr_assert_eq(ucr_checkpoint_accept(c.s, hub->pk, REGION, b2, l2, s2,
			 sizeof(s2), why, sizeof(why)),
	    UCR_ECHECKPOINT);
	free(b1);
	free(b2);
	cp_close(&c);
}

Test(checkpoint, large_stored_one_is_still_checked)
{
	struct cpstore c;
	uint8_t s1[UCR_SIG_LEN], s2[UCR_SIG_LEN], *b1, *b2;
	size_t l1, l2;
	char why[256] = "";

	cp_open(&c);
	/* 2000 logs: far over the 64 KiB the check used to give up at */
	b1 = make_many(&l1, s1, 5000, 2000);
	cr_assert_gt(l1, (size_t)1 << 16);
	cr_assert_eq(ucr_checkpoint_accept(c.s, hub->pk, REGION, b1, l1, s1,
			 sizeof(s1), why, sizeof(why)),
	    0, "%s", why);
	/* a later one that drops every log but one: refused */
	b2 = make(&l2, s2, 6000, 1, hub);
	cr_assert_eq(ucr_checkpoint_accept(c.s, hub->pk, REGION, b2, l2, s2,
			 sizeof(s2), why, sizeof(why)),
	    UCR_EROLLBACK, "%s", why);
	free(b1);
	free(b2);
	cp_close(&c);
}

Test(checkpoint, hub_time_is_monotonic_against_the_last_one)
{
	struct cpstore c;
	uint8_t s1[UCR_SIG_LEN], *b1;
	uint64_t future = ucr_hlc_now() + ((uint64_t)3600000 << 16);
	size_t l1;

	cp_open(&c);
	cr_assert_gt(ucr_checkpoint_time(c.s), 0);
	/* the last checkpoint is an hour ahead (the clock stepped back) */
	b1 = make(&l1, s1, future, 1, hub);
	cr_assert_eq(ucr_checkpoint_store(c.s, b1, l1, s1, sizeof(s1)), 0);
	cr_assert_gt(ucr_checkpoint_time(c.s), future);
	free(b1);
	cp_close(&c);
}
