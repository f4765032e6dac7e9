/*
 * test_store_append.c: a write of more than one signed batch, its puts
 * given one at a time (ucr_store_append_stream). A put finds the earlier
 * puts of its write in the batch being built or, for earlier batches, in
 * the write's transaction: create, update, delete and adopt answer as they
 * do inside one batch, and a refusal names the failing put and stores
 * nothing.
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

TestSuite(store_append, .init = setup, .fini = teardown, .timeout = 120);

#define MANY (2 * UCR_MAX_BATCH_ENTRIES + 10) /* three signed batches */

/* One put of a scripted write: put i is network N<i>, unless changed. */
struct step {
	size_t at;
	int id; /* the network's id */
	enum ucr_put_mode mode;
	int tombstone;
	int adopt; /* a decision adopting network N<adopt> (id: its key) */
};

struct script {
	const struct step *steps;
	size_t nsteps, n, i;
	Ucr__Record *cur; /* the put given last, freed at the next */
	const char *adopt[1];
	char akey[64];
	size_t fail_at; /* the iterator fails here (SIZE_MAX: never) */
};

static int
script_next(void *ctx, struct ucr_put *put, char *why, size_t whylen)
{
	struct script *sc = ctx;
	const struct step *st = NULL;
	size_t k;

	ucr__record__free_unpacked(sc->cur, NULL);
	sc->cur = NULL;
	if (sc->i >= sc->n)
		return 0;
	if (sc->i == sc->fail_at) {
		snprintf(why, whylen, "cannot read put %zu", sc->i);
		return UCR_EIO;
	}
	for (k = 0; k < sc->nsteps; k++)
		if (sc->steps[k].at == sc->i)
			st = &sc->steps[k];
	put->mode = UCR_PUT_CREATE;
	if (st == NULL)
		sc->cur = su_network("2403", (int)sc->i);
	else if (st->adopt >= 0) {
		snprintf(sc->akey, sizeof(sc->akey), "D%d", st->id);
		sc->cur = su_decision(sc->akey);
		snprintf(sc->akey, sizeof(sc->akey), "2403/network/N%d",
		    st->adopt);
		sc->adopt[0] = sc->akey;
		put->adopt_keys = sc->adopt;
		put->nadopt = 1;
		put->mode = st->mode;
	} else {
		sc->cur = st->tombstone ? su_tombstone(st->id)
					: su_network("2403", st->id);
		if (!st->tombstone) {
			/* another content than the first put's */
			free(sc->cur->network->joined);
			sc->cur->network->joined = strdup("2010-01-01");
		}
		put->mode = st->mode;
	}
	put->record = sc->cur;
	sc->i++;
	return 1;
}

static int
run(const struct step *steps, size_t nsteps, size_t n, size_t fail_at,
    size_t *bad, char *why, size_t whylen)
{
	struct script sc;
	uint64_t f = 0, l = 0;
	int rc, replayed;

	memset(&sc, 0, sizeof(sc));
	sc.steps = steps;
	sc.nsteps = nsteps;
	sc.n = n;
	sc.fail_at = fail_at;
	why[0] = '\0';
	rc = ucr_store_append_stream(node, nodek, NULL, 0, script_next, &sc, 0,
	    &f, &l, &replayed, bad, why, whylen);
	ucr__record__free_unpacked(sc.cur, NULL);
	if (rc == 0)
		cr_assert_eq(l - f + 1, n);
	return rc;
}

static Ucr__Record *
get(const char *key)
{
	Ucr__Record *got = NULL;

	if (ucr_store_get(node, key, su_decode_cb, &got) != 0)
		return NULL;
	return got;
}

static size_t
count(void)
{
	return (size_t)su_records(node);
}

Test(store_append, update_and_create_across_a_batch_boundary)
{
	/* put 10 005 updates put 3 (in the first, applied batch) */
	const struct step ok[] = {
	    {10005, 3, UCR_PUT_UPDATE, 0, -1},
	};
	/* put 10 005 creates N7 again, created by put 7: refused */
	const struct step dup[] = {
	    {10005, 7, UCR_PUT_CREATE, 0, -1},
	};
	Ucr__Record *got;
	size_t bad = 99;
	char why[256];

	cr_assert_eq(run(dup, 1, MANY, SIZE_MAX, &bad, why, sizeof(why)),
	    UCR_EEXIST);
	cr_assert_eq(bad, 10005, "bad %zu", bad);
	cr_assert(strstr(why, "2403/network/N7") != NULL, "%s", why);
	cr_assert_eq(count(), 0, "a refused write stores nothing");
	cr_assert_eq(run(ok, 1, MANY, SIZE_MAX, &bad, why, sizeof(why)), 0,
	    "%s", why);
	cr_assert_eq(count(), MANY - 1);
	cr_assert_not_null(got = get("2403/network/N3"));
	cr_assert_str_eq(got->network->joined, "2010-01-01");
	ucr__record__free_unpacked(got, NULL);
	cr_assert_eq(ucr_store_verify(node, NULL, NULL, why, sizeof(why)), 0,
	    "%s", why);
}

Test(store_append, delete_then_create_across_batches)
{
	const struct step steps[] = {
	    /* N3 deleted in the first batch, created again in the second */
	    {10, 3, UCR_PUT_UPSERT, 1, -1},
	    {10006, 3, UCR_PUT_CREATE, 0, -1},
	    /* N4 deleted in the second batch, its key free in the third */
	    {10007, 4, UCR_PUT_UPDATE, 1, -1},
	    {20003, 4, UCR_PUT_CREATE, 0, -1},
	    /* N5 deleted in the first batch, and stays deleted */
	    {11, 5, UCR_PUT_UPDATE, 1, -1},
	};
	const struct step gone[] = {
	    {11, 5, UCR_PUT_UPDATE, 1, -1},
	    {20004, 5, UCR_PUT_UPDATE, 0, -1},
	};
	Ucr__Record *got;
	size_t bad;
	char why[256];

	cr_assert_eq(run(gone, 2, MANY, SIZE_MAX, &bad, why, sizeof(why)),
	    UCR_ENOTFOUND);
	cr_assert_eq(bad, 20004, "bad %zu", bad);
	cr_assert_eq(count(), 0);
	cr_assert_eq(run(steps, 5, MANY, SIZE_MAX, &bad, why, sizeof(why)), 0,
	    "%s", why);
	cr_assert_not_null(got = get("2403/network/N3"));
	cr_assert(!got->tombstone);
	ucr__record__free_unpacked(got, NULL);
	cr_assert_not_null(got = get("2403/network/N4"));
	cr_assert(!got->tombstone);
	ucr__record__free_unpacked(got, NULL);
	cr_assert_not_null(got = get("2403/network/N5"));
	cr_assert(got->tombstone);
	ucr__record__free_unpacked(got, NULL);
}

Test(store_append, adopt_binds_a_put_of_an_earlier_batch)
{
	const struct step steps[] = {
	    /* put 3's record, updated at put 12 (same batch) */
	    {12, 3, UCR_PUT_UPDATE, 0, -1},
	    {10005, 1, UCR_PUT_CREATE, 0, 3},
	};
	/* N8 deleted in the first batch: nothing to adopt */
	const struct step deleted[] = {
	    {9, 8, UCR_PUT_UPDATE, 1, -1},
	    {10001, 2, UCR_PUT_CREATE, 0, 8},
	};
	Ucr__Record *got, *n3 = su_network("2403", 3);
	uint8_t h[32], *buf;
	size_t len, bad;
	char why[256];

	cr_assert_eq(run(deleted, 2, MANY, SIZE_MAX, &bad, why, sizeof(why)),
	    UCR_ENOTFOUND);
	cr_assert_eq(bad, 10001, "bad %zu", bad);
	cr_assert(strstr(why, "adopts unknown record 2403/network/N8") != NULL,
	    "%s", why);
	cr_assert_eq(count(), 0);
	cr_assert_eq(run(steps, 2, MANY, SIZE_MAX, &bad, why, sizeof(why)), 0,
	    "%s", why);
	free(n3->network->joined);
	n3->network->joined = strdup("2010-01-01");
	cr_assert_eq(ucr_record_encode(&buf, &len, n3), 0);
	ucr_hash(h, buf, len);
	free(buf);
	ucr__record__free_unpacked(n3, NULL);
	cr_assert_not_null(got = get("2403/decision/D1"));
	cr_assert_eq(got->decision->n_adopts, 1);
	cr_assert_str_eq(got->decision->adopts[0]->key, "2403/network/N3");
	cr_assert_eq(memcmp(got->decision->adopts[0]->hash.data, h, 32), 0,
	    "bound to put 12's record, the last of its key");
	ucr__record__free_unpacked(got, NULL);
}

Test(store_append, an_iterator_error_stores_nothing)
{
	size_t bad;
	char why[256];

	cr_assert_eq(run(NULL, 0, MANY, 15000, &bad, why, sizeof(why)),
	    UCR_EIO);
	cr_assert_eq(bad, 15000);
	cr_assert(strstr(why, "cannot read put 15000") != NULL, "%s", why);
	cr_assert_eq(count(), 0);
	cr_assert_eq(run(NULL, 0, 0, SIZE_MAX, &bad, why, sizeof(why)),
	    UCR_EINVAL, "no puts: nothing to write");
}

Test(store_append, a_request_id_is_replayed_after_a_streamed_write)
{
	struct script sc;
	uint64_t f, l, f2, l2;
	size_t bad;
	char why[256];
	int replayed;
	const uint8_t id[] = "import-1";

	memset(&sc, 0, sizeof(sc));
	sc.n = UCR_MAX_BATCH_ENTRIES + 1;
	sc.fail_at = SIZE_MAX;
	cr_assert_eq(ucr_store_append_stream(node, nodek, id, sizeof(id),
			 script_next, &sc, 0, &f, &l, &replayed, &bad, why,
			 sizeof(why)),
	    0, "%s", why);
	cr_assert_eq(replayed, 0);
	cr_assert_eq(l - f + 1, UCR_MAX_BATCH_ENTRIES + 1);
	memset(&sc, 0, sizeof(sc));
	sc.n = 5;
	sc.fail_at = SIZE_MAX;
	cr_assert_eq(ucr_store_append_stream(node, nodek, id, sizeof(id),
			 script_next, &sc, 0, &f2, &l2, &replayed, &bad, why,
			 sizeof(why)),
	    0);
	cr_assert_eq(replayed, 1);
	cr_assert_eq(sc.i, 0, "a replayed write reads no put");
	cr_assert_eq(f2, f);
	cr_assert_eq(l2, l);
}

/* One put through ucr_store_append_checked. */
static int
append_checked(struct ucr_put *p, char *why, size_t whylen)
{
	struct ucr_put_array a = {p, 1, 0};
	uint64_t f, l;
	size_t b;
	int replayed;

	return ucr_store_append_checked(node, nodek, NULL, 0,
	    ucr_put_array_next, &a, 1, &f, &l, &replayed, &b, why, whylen);
}

/*
 * A put of bytes (a record encoded and validated by the caller) is
 * stored as those bytes, and still passes the append's checks: mode,
 * size, and its body case against the record. Only a caller that says it
 * validated its records (ucr_store_append_checked) may give bytes; every
 * other append refuses them, and validates each record itself.
 */
Test(store_append, a_put_of_bytes_is_checked_as_a_record_is)
{
	Ucr__Record *r = su_network("2403", 1), *bad = su_network("2403", 2);
	struct ucr_put p = {.mode = UCR_PUT_UPSERT};
	struct ucr_put_array a;
	uint8_t *buf;
	size_t len, b;
	uint64_t f, l;
	char why[256];
	int replayed;

	cr_assert_eq(ucr_record_encode(&buf, &len, r), 0);
	p.bytes = buf;
	p.len = len;
	p.key = r->key;
	p.kind = UCR__RECORD__BODY_NETWORK;
	/* not from an append that validates each record itself */
	cr_assert_eq(ucr_store_append(node, nodek, &p, 1, &f, &l, &b, why,
			 sizeof(why)),
	    UCR_EINVAL, "%s", why);
	cr_assert_eq(count(), 0);
	cr_assert_eq(append_checked(&p, why, sizeof(why)), 0, "%s", why);
	{
		Ucr__Record *got = get("2403/network/N1");
		uint8_t *gb;
		size_t gl;

		cr_assert_not_null(got);
		cr_assert_eq(ucr_record_encode(&gb, &gl, got), 0);
		cr_assert_eq(gl, len);
		cr_assert_eq(memcmp(gb, buf, len), 0);
		free(gb);
		ucr__record__free_unpacked(got, NULL);
	}
	p.mode = UCR_PUT_CREATE;
	cr_assert_eq(append_checked(&p, why, sizeof(why)), UCR_EEXIST, "%s",
	    why);
	p.mode = UCR_PUT_UPSERT;
	p.kind = UCR__RECORD__BODY_DECISION;
	cr_assert_eq(append_checked(&p, why, sizeof(why)), UCR_EPROTO, "%s",
	    why);
	cr_assert(strstr(why, "kind") != NULL, "%s", why);
	p.kind = UCR__RECORD__BODY_NETWORK;
	p.len = UCR_MAX_RECORD + 1;
	cr_assert_eq(append_checked(&p, why, sizeof(why)), UCR_ETOOBIG);
	p.len = len;
	p.key = NULL;
	cr_assert_eq(append_checked(&p, why, sizeof(why)), UCR_EINVAL);
	/* a record not validated by the caller is, by the store */
	free(bad->network->joined);
	bad->network->joined = strdup("2009-02-30");
	memset(&p, 0, sizeof(p));
	p.record = bad;
	cr_assert_eq(ucr_store_append(node, nodek, &p, 1, &f, &l, &b, why,
			 sizeof(why)),
	    UCR_ESCHEMA, "%s", why);
	a.puts = &p; /* nor by a streamed append */
	a.n = 1;
	a.i = 0;
	cr_assert_eq(ucr_store_append_stream(node, nodek, NULL, 0,
			 ucr_put_array_next, &a, 1, &f, &l, &replayed, &b, why,
			 sizeof(why)),
	    UCR_ESCHEMA, "%s", why);
	cr_assert_eq(count(), 1);
	cr_assert_eq(ucr_store_verify(node, NULL, NULL, NULL, 0), 0);
	free(buf);
	ucr__record__free_unpacked(r, NULL);
	ucr__record__free_unpacked(bad, NULL);
}

/*
 * The store's own batches: a signature made with the store's key is
 * verified once, and a key whose public half is the store's identity but
 * whose secret is another's is refused on every write, before any good
 * one and after (its signatures do not verify), storing nothing.
 */
Test(store_append, a_key_with_another_secret_is_refused_before_and_after)
{
	struct ucr_key *other, forged;
	int i;

	cr_assert_eq(ucr_key_generate(&other), 0);
	memcpy(forged.pk, nodek->pk, UCR_PK_LEN);
	forged.sk = other->sk;
	cr_assert_eq(su_append(node, &forged, su_network("2403", 1)),
	    UCR_EBADSIG, "before any good write");
	cr_assert_eq(count(), 0);
	for (i = 2; i <= 4; i++)
		cr_assert_eq(su_append(node, nodek, su_network("2403", i)), 0);
	cr_assert_eq(su_append(node, &forged, su_network("2403", 5)),
	    UCR_EBADSIG, "after good writes");
	cr_assert_eq(count(), 3);
	cr_assert_null(get("2403/network/N5"));
	cr_assert_eq(su_append(node, nodek, su_network("2403", 6)), 0,
	    "the store's own key still writes");
	cr_assert_eq(count(), 4);
	ucr_key_free(other);
}
