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

/* The hub checks a group's batches ahead on a second thread: all of them
   but the first, so that every test goes through the checks made ahead. */
static void
setup_precheck(void)
{
	setup();
	ucr_store_set_precheck(hub, UCR_PRECHECK_WAIT);
}

TestSuite(ingest_precheck, .init = setup_precheck, .fini = teardown,
    .timeout = 240);

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
		set_put(&p[n++], su_tombstone(i), UCR_PUT_UPDATE);
	for (i = 12000; i < 12100; i++)
		set_put(&p[n++], su_network("2403", i), UCR_PUT_CREATE);
	set_put(&p[n], su_decision("D1"), UCR_PUT_CREATE);
	p[n].adopt_keys = adopt1;
	p[n++].nadopt = 2;
	cr_assert_eq(write_puts(p, n, NULL), 0);
	/* a later write adopts a held record */
	set_put(&p[0], su_decision("D2"), UCR_PUT_CREATE);
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
	set_put(&p, su_tombstone(1), UCR_PUT_UPDATE);
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
	set_put(&p[0], su_tombstone(1), UCR_PUT_UPDATE);
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

/* The hub applies the node's log in groups of up to g batches of per. */
static void
to_hub_grouped(size_t per, size_t g)
{
	struct ucr_apply_item it[UCR_GROUP_MAX_BATCHES];
	struct ucr_head h;
	uint64_t epoch, seq = 1;
	size_t n, i;

	cr_assert_eq(ucr_store_identity(node, NULL, &epoch, NULL, 0), 0);
	cr_assert_eq(ucr_store_head(node, nodek->pk, epoch, &h), 0);
	while (seq <= h.seq) {
		for (n = 0; n < g && seq <= h.seq; n++) {
			Ucr__Batch *b;

			cr_assert_eq(ucr_store_batch(node, nodek, nodek->pk,
					 epoch, seq, seq + per - 1,
					 (size_t)8 << 20, &b),
			    0);
			it[n].batch = b;
			seq = b->last_seq + 1;
		}
		cr_assert_eq(ucr_store_apply_group(hub, it, n), 0);
		for (i = 0; i < n; i++) {
			cr_assert_eq(it[i].rc, 0, "%s", it[i].why);
			ucr_batch_free((Ucr__Batch *)it[i].batch);
		}
	}
}

static void
group_digest(void)
{
	char h[65];

	write_history(0);
	to_hub_grouped(700, 8);
	digest_2403(hub, h);
	cr_assert_str_eq(h, golden);
	cr_assert_eq(ucr_store_verify(hub, NULL, NULL, NULL, 0), 0);
}

Test(ingest, group_commit_gives_the_digest_of_before)
{
	group_digest();
}

Test(ingest_precheck, group_commit_gives_the_digest_of_before)
{
	group_digest();
}

/* A node of its own (another municipality), enrolled at the hub. */
static struct ucr_store *
other_node(const char *sub, const char *code, struct ucr_key **k, int n)
{
	struct ucr_store *s;
	int i;

	cr_assert_eq(ucr_key_generate(k), 0);
	s = su_open(dir, sub, *k, code, hubk->pk, (size_t)64 << 20);
	cr_assert_eq(su_append(hub, hubk, su_roster((*k)->pk, code)), 0);
	for (i = 0; i < n; i++)
		cr_assert_eq(su_append(s, *k, su_network(code, i)), 0);
	return s;
}

static Ucr__Batch *
batch_of(struct ucr_store *s, const struct ucr_key *k, uint64_t from,
    uint64_t to)
{
	Ucr__Batch *b;
	uint64_t epoch;

	cr_assert_eq(ucr_store_identity(s, NULL, &epoch, NULL, 0), 0);
	cr_assert_eq(ucr_store_batch(s, k, k->pk, epoch, from, to,
			 (size_t)8 << 20, &b),
	    0);
	return b;
}

static uint64_t
hub_head(const struct ucr_key *k, struct ucr_store *s)
{
	struct ucr_head h;
	uint64_t epoch;

	cr_assert_eq(ucr_store_identity(s, NULL, &epoch, NULL, 0), 0);
	if (ucr_store_head(hub, k->pk, epoch, &h) != 0)
		return 0;
	return h.seq;
}

/*
 * One group: two batches of one node, a forged batch of a second, a batch
 * of a third that starts beyond what the hub holds, and a good batch of the
 * third. The forged one and the gap are refused alone, writing nothing;
 * the good ones commit in the one transaction, in order (the second batch
 * of the first node continues its first).
 */
static void
group_forged(void)
{
	struct ucr_key *k2, *k3;
	struct ucr_store *n2, *n3;
	struct ucr_apply_item it[5];
	size_t i;
	int q = 0;

	for (i = 0; i < 20; i++)
		cr_assert_eq(su_append(node, nodek, su_network("2403", (int)i)),
		    0);
	n2 = other_node("n2", "2480", &k2, 5);
	n3 = other_node("n3", "2401", &k3, 6);
	it[0].batch = batch_of(node, nodek, 1, 10);
	it[1].batch = batch_of(n2, k2, 1, 5);
	((Ucr__Batch *)it[1].batch)->signature.data[3] ^= 0x10; /* forged */
	it[2].batch = batch_of(n3, k3, 4, 6);                   /* a gap */
	it[3].batch = batch_of(node, nodek, 11, 20);
	it[4].batch = batch_of(n3, k3, 1, 3);
	cr_assert_eq(ucr_store_apply_group(hub, it, 5), 0);
	cr_assert_eq(it[0].rc, 0, "%s", it[0].why);
	cr_assert_eq(it[0].applied, 10);
	cr_assert_neq(it[1].rc, 0);
	cr_assert_eq(it[2].rc, UCR_EGAP, "%s", it[2].why);
	cr_assert_eq(it[3].rc, 0, "%s", it[3].why);
	cr_assert_eq(it[4].rc, 0, "%s", it[4].why);
	cr_assert_eq(it[4].applied, 3);
	cr_assert_eq(hub_head(nodek, node), 20);
	cr_assert_eq(hub_head(k2, n2), 0);
	cr_assert_eq(hub_head(k3, n3), 3);
	/* nothing of the forged log, nor any quarantine for it */
	cr_assert_eq(ucr_store_foreach_quarantine(hub, su_count_cb_q, &q), 0);
	cr_assert_eq(q, 0);
	/* 3 roster records, 20 of the first node, 3 of the third */
	cr_assert_eq(su_records(hub), 3 + 20 + 3);
	/* the view's counters follow the committed batches only */
	{
		uint64_t live = 0;
		unsigned years[1];
		const char *areas[] = {"2403"};

		cr_assert_eq(ucr_store_view_index(hub, &live, areas, 1, 2100,
				 years),
		    0);
		cr_assert_eq(live, 3 + 20 + 3);
	}
	cr_assert_eq(ucr_store_verify(hub, NULL, NULL, NULL, 0), 0);
	/* the genuine batch goes in afterwards; the refused gap too */
	((Ucr__Batch *)it[1].batch)->signature.data[3] ^= 0x10;
	cr_assert_eq(ucr_store_apply_group(hub, &it[1], 2), 0);
	cr_assert_eq(it[1].rc, 0, "%s", it[1].why);
	cr_assert_eq(it[2].rc, 0, "%s", it[2].why);
	cr_assert_eq(hub_head(k2, n2), 5);
	cr_assert_eq(hub_head(k3, n3), 6);
	for (i = 0; i < 5; i++)
		ucr_batch_free((Ucr__Batch *)it[i].batch);
	ucr_store_free(n2);
	ucr_store_free(n3);
	ucr_key_free(k2);
	ucr_key_free(k3);
}

Test(ingest, group_commit_refuses_a_forged_batch_alone)
{
	group_forged();
}

Test(ingest_precheck, group_commit_refuses_a_forged_batch_alone)
{
	group_forged();
}

/* A fork in a group keeps its evidence; the others of the group commit. */
static void
group_fork(void)
{
	struct ucr_key *k2;
	struct ucr_store *n2, *copy;
	struct ucr_apply_item it[3];
	struct ucr_head h;
	uint64_t epoch;
	char cmd[1024];
	size_t i;
	int q = 0;

	n2 = other_node("n2", "2480", &k2, 3);
	for (i = 1; i <= 3; i++)
		cr_assert_eq(su_append(node, nodek, su_network("2403", (int)i)),
		    0);
	/* the node's store copied: seq 4 and 5 differ in the two */
	ucr_store_free(node);
	snprintf(cmd, sizeof(cmd), "cp -a '%s/node' '%s/copy'", dir, dir);
	cr_assert_eq(system(cmd), 0);
	node = su_open(dir, "node", nodek, "2403", hubk->pk, (size_t)256 << 20);
	copy = su_open(dir, "copy", nodek, "2403", hubk->pk, (size_t)256 << 20);
	cr_assert_eq(su_append(node, nodek, su_network("2403", 4)), 0);
	cr_assert_eq(su_append(node, nodek, su_network("2403", 5)), 0);
	cr_assert_eq(su_append(copy, nodek, su_network("2403", 40)), 0);
	cr_assert_eq(su_append(copy, nodek, su_network("2403", 50)), 0);
	it[0].batch = batch_of(node, nodek, 1, 5);
	it[1].batch = batch_of(copy, nodek, 2, 5);
	it[2].batch = batch_of(n2, k2, 1, 3);
	cr_assert_eq(ucr_store_apply_group(hub, it, 3), 0);
	cr_assert_eq(it[0].rc, 0, "%s", it[0].why);
	cr_assert_eq(it[1].rc, UCR_EFORK, "%s", it[1].why);
	cr_assert_eq(it[2].rc, 0, "%s", it[2].why);
	cr_assert_eq(ucr_store_foreach_quarantine(hub, su_count_cb_q, &q), 0);
	cr_assert_eq(q, 1);
	cr_assert_eq(ucr_store_identity(node, NULL, &epoch, NULL, 0), 0);
	cr_assert_eq(ucr_store_head(hub, nodek->pk, epoch, &h), 0);
	cr_assert_eq(h.seq, 5);
	cr_assert(h.stopped);
	cr_assert_eq(hub_head(k2, n2), 3);
	for (i = 0; i < 3; i++)
		ucr_batch_free((Ucr__Batch *)it[i].batch);
	ucr_store_free(copy);
	ucr_store_free(n2);
	ucr_key_free(k2);
}

Test(ingest, group_commit_keeps_a_forks_evidence)
{
	group_fork();
}

Test(ingest_precheck, group_commit_keeps_a_forks_evidence)
{
	group_fork();
}

/*
 * A batch of the node's key chained onto seq-1 (prev), of the records
 * given (n of them, kinds as given), validly signed: what an enrolled but
 * hostile node can send. Freed with signed_free.
 */
static Ucr__Batch *
signed_batch(uint64_t epoch, uint64_t seq, const uint8_t prev[32],
    Ucr__Record **recs, const uint32_t *kinds, size_t n)
{
	Ucr__Batch *b = calloc(1, sizeof(*b));
	uint8_t h[32], *rb;
	size_t i, rlen;
	uint64_t t = ucr_hlc_now() + ((uint64_t)5 << 16); /* after the node's */

	cr_assert_not_null(b);
	ucr__batch__init(b);
	b->entries = calloc(n, sizeof(*b->entries));
	memcpy(h, prev, 32);
	for (i = 0; i < n; i++) {
		cr_assert_eq(ucr_record_encode(&rb, &rlen, recs[i]), 0);
		cr_assert_eq(ucr_entry_encode(&b->entries[i].data,
				 &b->entries[i].len, epoch, seq + i, h, t + i,
				 kinds[i], rb, rlen),
		    0);
		free(rb);
		ucr__record__free_unpacked(recs[i], NULL);
		ucr_hash(h, b->entries[i].data, b->entries[i].len);
	}
	b->n_entries = n;
	b->epoch = epoch;
	b->first_seq = seq;
	b->last_seq = seq + n - 1;
	b->signature.data = malloc(UCR_SIG_LEN);
	ucr_batch_sign(b, nodek, REGION, h);
	b->author.data = malloc(UCR_PK_LEN);
	memcpy(b->author.data, nodek->pk, UCR_PK_LEN);
	return b;
}

static void
signed_free(Ucr__Batch *b)
{
	size_t i;

	for (i = 0; i < b->n_entries; i++)
		free(b->entries[i].data);
	free(b->entries);
	free(b->signature.data);
	free(b->author.data);
	free(b);
}

/*
 * The checks made ahead decide nothing: a group of batches that fail at
 * every step (a forged signature, a broken chain within, a gap, entries
 * held already, a record failing its schema or its entry's kind after
 * valid ones) gives each batch the code, the reason and the count it
 * gets applied alone, and the two hubs end with the same records.
 */
Test(ingest_precheck, group_gives_each_batch_what_it_gets_alone)
{
	enum { NB = 10 };
	struct ucr_apply_item it[NB];
	struct ucr_store *alone;
	Ucr__Batch *b20, *sb1, *sb2;
	Ucr__Record *recs[3];
	uint32_t kinds[3];
	uint8_t h20[32];
	uint64_t epoch;
	char ha[65], hb[65];
	size_t i;

	alone =
	    su_open(dir, "alone", hubk, "region", hubk->pk, (size_t)64 << 20);
	cr_assert_eq(su_append(alone, hubk, su_roster(nodek->pk, "2403")), 0);
	for (i = 1; i <= 20; i++)
		cr_assert_eq(su_append(node, nodek, su_network("2403", (int)i)),
		    0);
	cr_assert_eq(ucr_store_identity(node, NULL, &epoch, NULL, 0), 0);
	b20 = batch_of(node, nodek, 20, 20);
	ucr_hash(h20, b20->entries[0].data, b20->entries[0].len);
	ucr_batch_free(b20);
	/* 21 valid, 22 failing its schema */
	recs[0] = su_network("2403", 21);
	recs[1] = su_network("2403", 22);
	free(recs[1]->network->joined);
	recs[1]->network->joined = strdup("not a date");
	kinds[0] = kinds[1] = UCR__RECORD__BODY_NETWORK;
	sb1 = signed_batch(epoch, 21, h20, recs, kinds, 2);
	/* 21, 22 valid, 23 of a kind that is not its record's */
	recs[0] = su_network("2403", 21);
	recs[1] = su_network("2403", 22);
	recs[2] = su_network("2403", 23);
	kinds[0] = kinds[1] = UCR__RECORD__BODY_NETWORK;
	kinds[2] = UCR__RECORD__BODY_TARGET;
	sb2 = signed_batch(epoch, 21, h20, recs, kinds, 3);

	it[0].batch = batch_of(node, nodek, 1, 5);
	it[1].batch = batch_of(node, nodek, 6, 10);
	((Ucr__Batch *)it[1].batch)->signature.data[5] ^= 0x01; /* forged */
	it[2].batch = batch_of(node, nodek, 6, 10);
	it[3].batch = batch_of(node, nodek, 11, 15);
	/* entry 13 changed: 14 no longer chains onto it */
	((Ucr__Batch *)it[3].batch)
	    ->entries[2]
	    .data[it[3].batch->entries[2].len - 1] ^= 0x01;
	it[4].batch = batch_of(node, nodek, 8, 12);  /* 8-10 held */
	it[5].batch = batch_of(node, nodek, 16, 20); /* a gap: 13-15 */
	it[6].batch = batch_of(node, nodek, 13, 20);
	it[7].batch = sb1;
	it[8].batch = sb2;
	it[9].batch = batch_of(node, nodek, 18, 20); /* held in full */
	cr_assert_eq(ucr_store_apply_group(hub, it, NB), 0);
	for (i = 0; i < NB; i++) {
		size_t applied = 0;
		char why[256] = "";
		int rc = ucr_store_apply(alone, it[i].batch, &applied, why,
		    sizeof(why));

		cr_assert_eq(it[i].rc, rc, "batch %zu: %d (%s), alone %d (%s)",
		    i, it[i].rc, it[i].why, rc, why);
		cr_assert_str_eq(it[i].why, why, "batch %zu", i);
		cr_assert_eq(it[i].applied, applied, "batch %zu", i);
	}
	cr_assert_eq(it[0].rc, 0);
	cr_assert_neq(it[1].rc, 0);
	cr_assert_eq(it[2].rc, 0);
	cr_assert_neq(it[3].rc, 0);
	cr_assert_eq(it[4].rc, 0);
	cr_assert_eq(it[4].applied, 2);
	cr_assert_eq(it[5].rc, UCR_EGAP);
	cr_assert_eq(it[6].rc, 0);
	cr_assert_eq(it[7].rc, UCR_ESCHEMA, "%s", it[7].why);
	cr_assert_eq(it[8].rc, UCR_EPROTO, "%s", it[8].why);
	cr_assert_eq(it[9].rc, UCR_EDUP);
	cr_assert_eq(hub_head(nodek, node), 20);
	digest_2403(hub, ha);
	digest_2403(alone, hb);
	cr_assert_str_eq(ha, hb);
	digest_2403(node, hb);
	cr_assert_str_eq(ha, hb);
	cr_assert_eq(ucr_store_verify(hub, NULL, NULL, NULL, 0), 0);
	signed_free(sb1);
	signed_free(sb2);
	for (i = 0; i < NB; i++)
		if (i != 7 && i != 8)
			ucr_batch_free((Ucr__Batch *)it[i].batch);
	ucr_store_free(alone);
}

/* The hub's work while a group's commit waits for the disk (peer.c's
   drain_ahead): the next group's batches handed to the checks ahead. */
struct handed {
	struct ucr_apply_item *next;
	size_t n;
	int calls;
};

static void
hand_next(void *arg)
{
	struct handed *h = arg;
	size_t i;

	h->calls++;
	for (i = 0; i < h->n; i++)
		h->next[i].ahead = ucr_store_ahead(hub, h->next[i].batch);
}

/*
 * Batches handed to the checks ahead before their group, some while the
 * group before it waits for its commit, give each batch what it gets
 * applied alone (a forged signature, a gap, entries held already among
 * them), every ticket is given back, a batch handed ahead and not applied
 * is dropped, and a full set of slots sends the rest by the usual path.
 */
Test(ingest_precheck, batches_handed_ahead_during_a_commit)
{
	enum { N1 = 3, N2 = 4, NS = 2 * UCR_GROUP_MAX_BATCHES };
	struct ucr_apply_item g1[N1], g2[N2];
	struct ucr_store *alone;
	struct handed hd = {g2, N2, 0};
	Ucr__Batch *extra, *few[NS + 1];
	int tickets[NS + 1];
	char ha[65], hb[65];
	size_t i;

	alone =
	    su_open(dir, "alone", hubk, "region", hubk->pk, (size_t)64 << 20);
	cr_assert_eq(su_append(alone, hubk, su_roster(nodek->pk, "2403")), 0);
	for (i = 1; i <= 30; i++)
		cr_assert_eq(su_append(node, nodek, su_network("2403", (int)i)),
		    0);
	g1[0].batch = batch_of(node, nodek, 1, 5);
	g1[1].batch = batch_of(node, nodek, 6, 10);
	g1[2].batch = batch_of(node, nodek, 11, 15);
	g2[0].batch = batch_of(node, nodek, 16, 20);
	((Ucr__Batch *)g2[0].batch)->signature.data[7] ^= 0x01; /* forged */
	g2[1].batch = batch_of(node, nodek, 16, 20);
	g2[2].batch = batch_of(node, nodek, 26, 30); /* a gap: 21-25 */
	g2[3].batch = batch_of(node, nodek, 14, 22); /* 14-20 held */
	for (i = 0; i < N1; i++)
		g1[i].ahead = ucr_store_ahead(hub, g1[i].batch);
	for (i = 0; i < N1; i++)
		cr_assert_gt(g1[i].ahead, 0);
	/* handed ahead, never applied: dropped */
	extra = batch_of(node, nodek, 21, 25);
	ucr_store_ahead_drop(hub, ucr_store_ahead(hub, extra));
	cr_assert_eq(ucr_store_apply_group_hook(hub, g1, N1, hand_next, &hd),
	    0);
	cr_assert_eq(hd.calls, 1);
	for (i = 0; i < N2; i++)
		cr_assert_gt(g2[i].ahead, 0, "batch %zu not handed", i);
	cr_assert_eq(ucr_store_apply_group_hook(hub, g2, N2, NULL, NULL), 0);
	for (i = 0; i < N1 + N2; i++) {
		struct ucr_apply_item *it = i < N1 ? &g1[i] : &g2[i - N1];
		size_t applied = 0;
		char why[256] = "";
		int rc = ucr_store_apply(alone, it->batch, &applied, why,
		    sizeof(why));

		cr_assert_eq(it->ahead, 0, "batch %zu: ticket kept", i);
		cr_assert_eq(it->rc, rc, "batch %zu: %d (%s), alone %d (%s)", i,
		    it->rc, it->why, rc, why);
		cr_assert_str_eq(it->why, why, "batch %zu", i);
		cr_assert_eq(it->applied, applied, "batch %zu", i);
	}
	cr_assert_neq(g2[0].rc, 0);
	cr_assert_eq(g2[1].rc, 0);
	cr_assert_eq(g2[2].rc, UCR_EGAP);
	cr_assert_eq(g2[3].rc, 0, "%s", g2[3].why);
	cr_assert_eq(g2[3].applied, 2);
	cr_assert_eq(hub_head(nodek, node), 22);
	digest_2403(hub, ha);
	digest_2403(alone, hb);
	cr_assert_str_eq(ha, hb);
	cr_assert_eq(ucr_store_verify(hub, NULL, NULL, NULL, 0), 0);

	/* every slot held: the next batch takes the usual path */
	for (i = 0; i <= NS; i++) {
		few[i] = batch_of(node, nodek, 23, 25);
		tickets[i] = ucr_store_ahead(hub, few[i]);
		if (i < NS)
			cr_assert_gt(tickets[i], 0, "slot %zu", i);
	}
	cr_assert_eq(tickets[NS], 0);
	for (i = 0; i <= NS; i++) {
		ucr_store_ahead_drop(hub, tickets[i]);
		ucr_batch_free(few[i]);
	}
	/* and once they are given back, a batch gets a slot again */
	for (i = 0; i < N1; i++)
		ucr_batch_free((Ucr__Batch *)g1[i].batch);
	g1[0].batch = batch_of(node, nodek, 23, 25);
	g1[0].ahead = ucr_store_ahead(hub, g1[0].batch);
	cr_assert_gt(g1[0].ahead, 0);
	cr_assert_eq(ucr_store_apply_group_hook(hub, g1, 1, NULL, NULL), 0);
	cr_assert_eq(g1[0].rc, 0, "%s", g1[0].why);
	cr_assert_eq(g1[0].ahead, 0);
	ucr_batch_free((Ucr__Batch *)g1[0].batch);

	ucr_batch_free(extra);
	for (i = 0; i < N2; i++)
		ucr_batch_free((Ucr__Batch *)g2[i].batch);
	ucr_store_free(alone);
}

/* With the checks ahead off, nothing is handed: the usual path. */
Test(ingest, nothing_handed_ahead_when_off)
{
	Ucr__Batch *b;

	cr_assert_eq(su_append(node, nodek, su_network("2403", 1)), 0);
	b = batch_of(node, nodek, 1, 1);
	cr_assert_eq(ucr_store_ahead(hub, b), 0);
	ucr_store_ahead_drop(hub, 0);
	ucr_batch_free(b);
}
