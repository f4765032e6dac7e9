/*
 * test_ingest.c: the store's ingest path. A fixed history of local writes
 * (upserts, a key put twice in one write, updates, deletes, creates and a
 * decision adopting records) must give the same view digest as it did
 * before the fast path (entries decoded and hashed once, roster records
 * decoded once, deleted flags read from the bytes, a key set for the
 * puts), at the node and at a hub that applies the node's batches. A write
 * larger than one signed batch commits all or nothing.
 */
#include <sodium.h>

#include "storeutil.h"

/*
 * BLAKE2b-256 over (key, record hash) of every 2403/ record, in key
 * order, for the history in write_history(); computed by the store before
 * the fast path. Record bytes hold no time or key material, so the
 * figure is the same on every run.
 */
static const char golden[] =
    "6ef24f0193c8736efe149a22faad536ba9f15d45c24690c7c5094a3f3e2afc7e";

static char *dir;
static struct ucr_key *hubk, *nodek;
static struct ucr_store *hub, *node;

static void
setup(void)
{
	cr_assert_eq(ucr_crypto_init(), 0);
	dir = tu_tempdir();
	cr_assert_eq(ucr_key_generate(&hubk), 0);
	cr_assert_eq(ucr_key_generate(&nodek), 0);
	hub = su_open(dir, "hub", hubk, "region", hubk->pk, (size_t)256 << 20);
	node = su_open(dir, "node", nodek, "2403", hubk->pk, (size_t)256 << 20);
	cr_assert_eq(su_append(hub, hubk, su_roster(nodek->pk, "2403")), 0);
}

static void
teardown(void)
{
	ucr_store_free(hub);
	ucr_store_free(node);
	ucr_key_free(hubk);
	ucr_key_free(nodek);
	tu_rmrf(dir);
	free(dir);
}

TestSuite(ingest, .init = setup, .fini = teardown, .timeout = 240);

static Ucr__Record *
tomb(int i)
{
	Ucr__Record *r = calloc(1, sizeof(*r));
	char key[64];

	ucr__record__init(r);
	snprintf(key, sizeof(key), "2403/network/N%d", i);
	r->key = strdup(key);
	r->owner = strdup("2403");
	r->tombstone = 1;
	return r;
}

static Ucr__Record *
decision(const char *id)
{
	Ucr__Record *d = calloc(1, sizeof(*d));
	Ucr__Decision *dec = calloc(1, sizeof(*dec));
	char key[64];

	ucr__record__init(d);
	ucr__decision__init(dec);
	snprintf(key, sizeof(key), "2403/decision/%s", id);
	d->key = strdup(key);
	d->owner = strdup("2403");
	d->body_case = UCR__RECORD__BODY_DECISION;
	d->decision = dec;
	dec->date = strdup("2010-03-01");
	dec->ref = strdup("KS 2010/12");
	dec->subject = UCR__SUBJECT__SUBJECT_LOCAL_PLAN;
	return d;
}

/* One write of n puts; frees the records. */
static int
write_puts(struct ucr_put *p, size_t n, size_t *bad)
{
	uint64_t f, l;
	char why[256];
	size_t i, b = 0;
	int rc;

	rc = ucr_store_append(node, nodek, p, n, &f, &l, &b, why, sizeof(why));
	for (i = 0; i < n; i++)
		ucr__record__free_unpacked(p[i].record, NULL);
	if (bad)
		*bad = b;
	return rc;
}

static void
set_put(struct ucr_put *p, Ucr__Record *r, enum ucr_put_mode mode)
{
	memset(p, 0, sizeof(*p));
	p->record = r;
	p->mode = mode;
}

/*
 * The history: writes of at most 10 000 puts, so the store before the fast
 * path could take them too. big: the first two writes as one.
 */
static void
write_history(int big)
{
	static const char *adopt1[] = {"2403/network/N5",
	    "2403/network/N12000"};
	static const char *adopt2[] = {"2403/network/N7"};
	struct ucr_put *p = calloc(12000, sizeof(*p));
	size_t n = 0;
	int i, w;

	cr_assert_not_null(p);
	for (w = 0; w < (big ? 1 : 2); w++) {
		n = 0;
		for (i = big ? 0 : w * 6000; i < (big ? 12000 : (w + 1) * 6000);
		     i++)
			set_put(&p[n++], su_network("2403", i), UCR_PUT_UPSERT);
		cr_assert_eq(write_puts(p, n, NULL), 0);
	}
	n = 0;
	/* updates, a key twice (the last wins), deletes, creates */
	for (i = 0; i < 100; i++) {
		Ucr__Record *r = su_network("2403", i);

		free(r->network->name);
		r->network->name = strdup("renamed");
		set_put(&p[n++], r, UCR_PUT_UPDATE);
	}
	set_put(&p[n++], su_network("2403", 0), UCR_PUT_UPSERT);
	for (i = 100; i < 200; i++)
		set_put(&p[n++], tomb(i), UCR_PUT_UPDATE);
	for (i = 12000; i < 12100; i++)
		set_put(&p[n++], su_network("2403", i), UCR_PUT_CREATE);
	set_put(&p[n], decision("D1"), UCR_PUT_CREATE);
	p[n].adopt_keys = adopt1;
	p[n++].nadopt = 2;
	cr_assert_eq(write_puts(p, n, NULL), 0);
	/* a later write adopts a held record */
	set_put(&p[0], decision("D2"), UCR_PUT_CREATE);
	p[0].adopt_keys = adopt2;
	p[0].nadopt = 1;
	cr_assert_eq(write_puts(p, 1, NULL), 0);
	free(p);
}

struct dig {
	crypto_generichash_state st;
};

static int
dig_cb(const struct ucr_rec *r, void *arg)
{
	struct dig *d = arg;

	crypto_generichash_update(&d->st, (const uint8_t *)r->key,
	    strlen(r->key) + 1);
	crypto_generichash_update(&d->st, r->hash, 32);
	return 0;
}

static void
digest_2403(struct ucr_store *s, char hex[65])
{
	struct dig d;
	uint8_t out[32];

	crypto_generichash_init(&d.st, NULL, 0, 32);
	cr_assert_eq(ucr_store_foreach_record(s, "2403/", dig_cb, &d), 0);
	crypto_generichash_final(&d.st, out, 32);
	ucr_hex(hex, out, 32);
}

/* The hub applies the node's log in batches of per entries. */
static void
to_hub(size_t per)
{
	struct ucr_head h;
	uint64_t epoch, seq = 1;
	size_t applied;
	char why[256];

	cr_assert_eq(ucr_store_identity(node, NULL, &epoch, NULL, 0), 0);
	cr_assert_eq(ucr_store_head(node, nodek->pk, epoch, &h), 0);
	while (seq <= h.seq) {
		Ucr__Batch *b;

		cr_assert_eq(ucr_store_batch(node, nodek, nodek->pk, epoch, seq,
				 seq + per - 1, (size_t)8 << 20, &b),
		    0);
		cr_assert_eq(ucr_store_apply(hub, b, &applied, why,
				 sizeof(why)),
		    0, "%s", why);
		seq = b->last_seq + 1;
		ucr_batch_free(b);
	}
}

Test(ingest, history_gives_the_digest_of_before)
{
	char n[65], h[65];
	Ucr__Record *got = NULL;

	write_history(0);
	digest_2403(node, n);
	cr_assert_str_eq(n, golden);
	to_hub(700);
	digest_2403(hub, h);
	cr_assert_str_eq(h, golden);
	cr_assert_eq(ucr_store_verify(hub, NULL, NULL, NULL, 0), 0);
	/* the key put twice: the last put won */
	cr_assert_eq(ucr_store_get(node, "2403/network/N0", su_decode_cb, &got),
	    0);
	cr_assert_str_eq(got->network->name, "Network number 0");
	ucr__record__free_unpacked(got, NULL);
}

Test(ingest, one_write_of_two_batches_gives_the_same_digest)
{
	struct ucr_head h;
	uint64_t epoch;
	char n[65];

	write_history(1);
	digest_2403(node, n);
	cr_assert_str_eq(n, golden);
	cr_assert_eq(ucr_store_verify(node, NULL, NULL, NULL, 0), 0);
	cr_assert_eq(ucr_store_identity(node, NULL, &epoch, NULL, 0), 0);
	cr_assert_eq(ucr_store_head(node, nodek->pk, epoch, &h), 0);
	cr_assert_eq(h.seq, 12000 + 100 + 1 + 100 + 100 + 1 + 1);
	to_hub(UCR_MAX_BATCH_ENTRIES);
	digest_2403(hub, n);
	cr_assert_str_eq(n, golden);
}

Test(ingest, deleted_flag_read_from_bytes)
{
	struct ucr_put p;

	set_put(&p, su_network("2403", 1), UCR_PUT_CREATE);
	cr_assert_eq(write_puts(&p, 1, NULL), 0);
	set_put(&p, tomb(1), UCR_PUT_UPDATE);
	cr_assert_eq(write_puts(&p, 1, NULL), 0);
	/* deleted: an update is refused, a create allowed */
	set_put(&p, su_network("2403", 1), UCR_PUT_UPDATE);
	cr_assert_eq(write_puts(&p, 1, NULL), UCR_ENOTFOUND);
	set_put(&p, su_network("2403", 1), UCR_PUT_CREATE);
	cr_assert_eq(write_puts(&p, 1, NULL), 0);
	set_put(&p, su_network("2403", 1), UCR_PUT_CREATE);
	cr_assert_eq(write_puts(&p, 1, NULL), UCR_EEXIST);
}

Test(ingest, last_put_of_a_key_in_one_write_decides)
{
	struct ucr_put p[3];

	set_put(&p[0], su_network("2403", 1), UCR_PUT_CREATE);
	cr_assert_eq(write_puts(p, 1, NULL), 0);
	/* deleted earlier in the write: created again */
	set_put(&p[0], tomb(1), UCR_PUT_UPDATE);
	set_put(&p[1], su_network("2403", 1), UCR_PUT_CREATE);
	cr_assert_eq(write_puts(p, 2, NULL), 0);
	/* put earlier in the write: a create is refused, an update is not */
	set_put(&p[0], su_network("2403", 2), UCR_PUT_CREATE);
	set_put(&p[1], su_network("2403", 2), UCR_PUT_UPDATE);
	set_put(&p[2], su_network("2403", 2), UCR_PUT_CREATE);
	cr_assert_eq(write_puts(p, 3, NULL), UCR_EEXIST);
	cr_assert_eq(su_records(node), 1);
}

Test(ingest, large_write_is_all_or_nothing)
{
	enum { N = 50000 };
	struct ucr_put *p = calloc(N, sizeof(*p));
	struct ucr_head h;
	uint64_t epoch;
	size_t bad = 0;
	int i;

	cr_assert_not_null(p);
	cr_assert_eq(ucr_store_identity(node, NULL, &epoch, NULL, 0), 0);
	/* the last put is bad: a create of a key put earlier in the write */
	for (i = 0; i < N - 1; i++)
		set_put(&p[i], su_network("2403", i), UCR_PUT_CREATE);
	set_put(&p[N - 1], su_network("2403", 17), UCR_PUT_CREATE);
	cr_assert_eq(write_puts(p, N, &bad), UCR_EEXIST);
	cr_assert_eq(bad, N - 1);
	cr_assert_eq(su_records(node), 0);
	cr_assert_eq(ucr_store_head(node, nodek->pk, epoch, &h), UCR_ENOTFOUND);
	/* the same without the bad put: five signed batches, one commit */
	for (i = 0; i < N; i++)
		set_put(&p[i], su_network("2403", i), UCR_PUT_CREATE);
	cr_assert_eq(write_puts(p, N, &bad), 0);
	cr_assert_eq(su_records(node), N);
	cr_assert_eq(ucr_store_head(node, nodek->pk, epoch, &h), 0);
	cr_assert_eq(h.seq, N);
	cr_assert_eq(ucr_store_verify(node, NULL, NULL, NULL, 0), 0);
	to_hub(4096);
	cr_assert_eq(su_records(hub), N + 1); /* and the roster record */
	free(p);
}
