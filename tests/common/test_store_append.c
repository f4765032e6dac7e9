/*
 * test_store_append.c: a write of more than one signed batch, its puts
 * given one at a time (ucr_store_append_stream). A put finds the earlier
 * puts of its write in the batch being built or, for earlier batches, in
 * the write's transaction: create, update, delete and adopt answer as they
 * do inside one batch, and a refusal names the failing put and stores
 * nothing. The request ids of writes: remembered, found after a reopen,
 * the oldest dropped, and a store of the ring that came before moved to
 * the keys of today (this file opens LMDB itself only to make such a
 * store and to look at its keys).
 */
#include <lmdb.h>

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

/* One network record N<i> written with request id "id-<idn>". */
static int
put_id(int i, int idn, uint64_t *first, int *replayed)
{
	Ucr__Record *r = su_network("2403", i);
	struct ucr_put p = {.record = r, .mode = UCR_PUT_UPSERT};
	struct ucr_put_array a = {&p, 1, 0};
	char id[32], why[256];
	uint64_t f = 0, l = 0;
	size_t bad;
	int rc, rp = 0;

	snprintf(id, sizeof(id), "id-%d", idn);
	rc = ucr_store_append_stream(node, nodek, (const uint8_t *)id,
	    strlen(id), ucr_put_array_next, &a, 1, &f, &l, &rp, &bad, why,
	    sizeof(why));
	ucr__record__free_unpacked(r, NULL);
	cr_assert_eq(rc, 0, "%s", why);
	cr_assert_eq(f, l);
	*first = f;
	*replayed = rp;
	return rc;
}

static int meta_keys(const char *prefix);

#define IDS 4300 /* more than are kept (4096, and 64 more at most) */

/*
 * The last 4096 ids at least are remembered, through a reopen, each with
 * the seq it wrote; the oldest are forgotten (a write with one is made
 * again), no more than 4096 + 64 are held.
 */
Test(store_append, the_last_4096_request_ids_are_remembered, .timeout = 300)
{
	static uint64_t seq[IDS];
	uint64_t f;
	int i, rp, pass;

	for (i = 0; i < IDS; i++) {
		put_id(i, i, &seq[i], &rp);
		cr_assert_eq(rp, 0);
	}
	for (pass = 0; pass < 2; pass++) {
		/* the newest 4096, as written: replayed, nothing written */
		for (i = IDS - 4096; i < IDS; i++) {
			put_id(100000 + i, i, &f, &rp);
			cr_assert_eq(rp, 1, "id %d", i);
			cr_assert_eq(f, seq[i], "id %d: seq %llu, not %llu", i,
			    (unsigned long long)f, (unsigned long long)seq[i]);
		}
		cr_assert_eq(count(), IDS);
		/* and again from the store alone */
		ucr_store_free(node);
		node = su_open(dir, "node", nodek, "2403", hubk->pk, 0);
	}
	ucr_store_free(node);
	node = NULL;
	cr_assert_geq(meta_keys("rq/"), 4096);
	cr_assert_leq(meta_keys("rq/"), 4096 + 64);
	node = su_open(dir, "node", nodek, "2403", hubk->pk, 0);
	/* the oldest are gone: the write is made again */
	put_id(200000, 0, &f, &rp);
	cr_assert_eq(rp, 0);
	cr_assert_eq(f, seq[IDS - 1] + 1);
	cr_assert_eq(count(), IDS + 1);
	/* and that write's id is now the newest */
	put_id(200001, 0, &f, &rp);
	cr_assert_eq(rp, 1);
	cr_assert_eq(f, seq[IDS - 1] + 1);
}

/* The meta database's keys that begin with prefix. */
static int
meta_keys(const char *prefix)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *c;
	MDB_val k, v;
	char path[512];
	size_t len = strlen(prefix);
	int n = 0, op;

	snprintf(path, sizeof(path), "%s/node", dir);
	cr_assert_eq(mdb_env_create(&env), 0);
	cr_assert_eq(mdb_env_set_maxdbs(env, 8), 0);
	cr_assert_eq(mdb_env_open(env, path, MDB_RDONLY, 0600), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	cr_assert_eq(mdb_cursor_open(txn, dbi, &c), 0);
	k.mv_data = (void *)prefix;
	k.mv_size = len;
	for (op = MDB_SET_RANGE; mdb_cursor_get(c, &k, &v, op) == 0;
	     op = MDB_NEXT) {
		if (k.mv_size < len || memcmp(k.mv_data, prefix, len) != 0)
			break;
		n++;
	}
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return n;
}

/*
 * A store of the release before: "req/" + id -> first last, a ring of
 * slots "reqslot/NNNN" -> id and "reqring" -> the next slot. Its ids are
 * found after the first open for writing, its old keys are gone, and the
 * next write's id is remembered beside them.
 */
Test(store_append, request_ids_of_the_ring_before_are_moved)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *c;
	MDB_val k, v;
	uint64_t seq[3], f;
	uint8_t val[16], ring[8] = {0, 0, 0, 0, 0, 0, 0, 3};
	char path[512], key[64];
	int i, rp, j;

	for (i = 0; i < 3; i++)
		put_id(i, i, &seq[i], &rp);
	ucr_store_free(node);
	node = NULL;
	cr_assert_eq(meta_keys("rq/"), 3);
	/* rewrite the three as the ring had them, the ring come round once
	   (slots 4096 + 0..2 are 0..2) */
	snprintf(path, sizeof(path), "%s/node", dir);
	cr_assert_eq(mdb_env_create(&env), 0);
	cr_assert_eq(mdb_env_set_maxdbs(env, 8), 0);
	cr_assert_eq(mdb_env_open(env, path, 0, 0600), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	cr_assert_eq(mdb_cursor_open(txn, dbi, &c), 0);
	for (;;) {
		k.mv_data = "rq/";
		k.mv_size = 3;
		if (mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) != 0 ||
		    memcmp(k.mv_data, "rq/", 3) != 0)
			break;
		cr_assert_eq(mdb_cursor_del(c, 0), 0);
	}
	mdb_cursor_close(c);
	ring[6] = 0x10; /* 4099: slots 0..2 written last, 3..4095 before */
	for (i = 0; i < 3; i++) {
		char id[16];

		snprintf(id, sizeof(id), "id-%d", i);
		snprintf(key, sizeof(key), "reqslot/%04d", i);
		k.mv_data = key;
		k.mv_size = strlen(key);
		v.mv_data = id;
		v.mv_size = strlen(id);
		cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
		snprintf(key, sizeof(key), "req/%s", id);
		for (j = 0; j < 8; j++) {
			val[j] = (uint8_t)(seq[i] >> (56 - 8 * j));
			val[8 + j] = val[j];
		}
		k.mv_size = strlen(key);
		v.mv_data = val;
		v.mv_size = 16;
		cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	}
	k.mv_data = "reqring";
	k.mv_size = 7;
	v.mv_data = ring;
	v.mv_size = 8;
	cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	cr_assert_eq(meta_keys("req"), 7);

	node = su_open(dir, "node", nodek, "2403", hubk->pk, 0);
	ucr_store_free(node); /* one open of an environment at a time */
	node = NULL;
	cr_assert_eq(meta_keys("req"), 0, "the ring's keys are gone");
	cr_assert_eq(meta_keys("rq/"), 3);
	node = su_open(dir, "node", nodek, "2403", hubk->pk, 0);
	for (i = 0; i < 3; i++) {
		put_id(10 + i, i, &f, &rp);
		cr_assert_eq(rp, 1, "id %d", i);
		cr_assert_eq(f, seq[i]);
	}
	put_id(20, 3, &f, &rp);
	cr_assert_eq(rp, 0);
	cr_assert_eq(f, seq[2] + 1);
	put_id(21, 3, &f, &rp);
	cr_assert_eq(rp, 1);
	cr_assert_eq(count(), 4);
	ucr_store_free(node);
	node = NULL;
	cr_assert_eq(meta_keys("rq/"), 4);
}
