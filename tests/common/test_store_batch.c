/*
 * test_store_batch.c: the batches the store builds for sending
 * (ucr_store_batch, ucr_store_batch_frame). A relay batch is found by one
 * walk over a log's entries and signatures; these tests hold it to the
 * rule it replaces, written out here from what the test itself sent: the
 * entries from `from` while under maxbytes, on to a signed seq, cut back
 * to the last signed one, with that seq's stored signature. Random logs
 * of several signed sub-batches, random ranges (most starting inside a
 * sub-batch), and the frame's bytes against protobuf-c's packing of the
 * same batch.
 */
#include "storeutil.h"
#include "wire.h"

#define MAXSEQ 400

static char *dir;
static struct ucr_key *hubk, *nodek;
static struct ucr_store *hub, *node;

/* What the hub was sent of the node's log: the model of its store. */
static struct model {
	uint8_t *ent[MAXSEQ + 1]; /* entry bytes by seq */
	size_t len[MAXSEQ + 1];
	int signed_at[MAXSEQ + 1]; /* a batch ended here */
	uint8_t sig[MAXSEQ + 1][UCR_SIG_LEN];
	uint64_t head;
} m;

static void
setup(void)
{
	su_setup(&dir, &hubk, &hub, &nodek, &node, 1);
	memset(&m, 0, sizeof(m));
}

static void
teardown(void)
{
	uint64_t i;

	for (i = 0; i <= MAXSEQ; i++)
		free(m.ent[i]);
	su_teardown(dir, hubk, hub, nodek, node);
}

TestSuite(store_batch, .init = setup, .fini = teardown, .timeout = 120);

static uint64_t
epoch_of(struct ucr_store *s)
{
	uint64_t e;

	cr_assert_eq(ucr_store_identity(s, NULL, &e, NULL, 0), 0);
	return e;
}

/* A network record with a name of a random length: entries differ. */
static Ucr__Record *
rec(int i)
{
	Ucr__Record *r = su_network("2403", i);
	size_t n = 1 + (size_t)(rand() % 120), j;
	char *name = malloc(n + 1);

	cr_assert_not_null(name);
	for (j = 0; j < n; j++)
		name[j] = 'a' + rand() % 26;
	name[n] = '\0';
	free(r->network->name);
	r->network->name = name;
	return r;
}

/* One record appended at the node, one entry of its log. */
static void
put(int i)
{
	Ucr__Record *r = rec(i);
	struct ucr_put p = {.record = r, .mode = UCR_PUT_UPSERT};
	uint64_t first, last;
	size_t bad;
	char why[256] = "";

	cr_assert_eq(ucr_store_append(node, nodek, &p, 1, &first, &last, &bad,
			 why, sizeof(why)),
	    0, "%s", why);
	ucr__record__free_unpacked(r, NULL);
}

/*
 * count entries at the node, sent to the hub in signed batches of 1 to
 * maxrun entries each, recorded in the model.
 */
static void
node_log(int count, int maxrun)
{
	uint64_t e = epoch_of(node), seq;
	Ucr__Batch *b;
	size_t applied, i;
	char why[256];
	int k;

	for (k = 0; k < count; k++)
		put(k);
	for (seq = m.head + 1; seq <= m.head + (uint64_t)count;) {
		uint64_t to = seq + (uint64_t)(rand() % maxrun);

		cr_assert_eq(ucr_store_batch(node, nodek, nodek->pk, e, seq, to,
				 1 << 20, &b),
		    0);
		cr_assert_eq(b->first_seq, seq);
		cr_assert_leq(b->last_seq, to);
		cr_assert_eq(ucr_store_apply(hub, b, &applied, why,
				 sizeof(why)),
		    0, "%s", why);
		for (i = 0; i < b->n_entries; i++) {
			m.ent[seq + i] = malloc(b->entries[i].len);
			cr_assert_not_null(m.ent[seq + i]);
			memcpy(m.ent[seq + i], b->entries[i].data,
			    b->entries[i].len);
			m.len[seq + i] = b->entries[i].len;
		}
		m.signed_at[b->last_seq] = 1;
		memcpy(m.sig[b->last_seq], b->signature.data, UCR_SIG_LEN);
		seq = b->last_seq + 1;
		ucr_batch_free(b);
	}
	m.head += (uint64_t)count;
}

/*
 * The rule, from the model: the relay batch of from..to (0: the head) in
 * maxbytes, as the per-entry build made it. 0, or UCR_ENOTFOUND.
 */
static int
expect(uint64_t from, uint64_t to, size_t maxbytes, Ucr__Batch *b,
    ProtobufCBinaryData *ents)
{
	uint64_t end = (to == 0 || to > m.head) ? m.head : to, seq;
	uint64_t signed_end = 0, first_sig = 0;
	size_t n = 0, bytes = 0;

	if (from > end)
		return UCR_ENOTFOUND;
	for (seq = from; seq <= m.head && !first_sig; seq++)
		if (m.signed_at[seq])
			first_sig = seq;
	if (first_sig == 0 || first_sig > end)
		return UCR_ENOTFOUND;
	for (seq = from; seq <= end && n < UCR_MAX_BATCH_ENTRIES; seq++) {
		if (n > 0 && bytes >= maxbytes && signed_end != 0)
			break;
		ents[n].data = m.ent[seq];
		ents[n].len = m.len[seq];
		n++;
		bytes += m.len[seq];
		if (m.signed_at[seq])
			signed_end = seq;
	}
	if (signed_end == 0)
		return UCR_ENOTFOUND;
	ucr__batch__init(b);
	b->author.data = nodek->pk;
	b->author.len = UCR_PK_LEN;
	b->epoch = epoch_of(node);
	b->first_seq = from;
	b->last_seq = signed_end;
	b->entries = ents;
	b->n_entries = (size_t)(signed_end - from + 1);
	b->signature.data = m.sig[signed_end];
	b->signature.len = UCR_SIG_LEN;
	return 0;
}

/* Encoded as a Frame by protobuf-c: the bytes a relay must send. */
static uint8_t *
packed(const Ucr__Batch *b, size_t *len)
{
	Ucr__Frame f = UCR__FRAME__INIT;
	uint8_t *buf;

	f.body_case = UCR__FRAME__BODY_BATCH;
	f.batch = (Ucr__Batch *)b;
	cr_assert_eq(ucr_wire_encode(&buf, len, &f), 0);
	return buf;
}

static void *
alloc_cb(size_t len, void *ctx)
{
	return *(uint8_t **)ctx = malloc(len);
}

/* One range: the old rule, ucr_store_batch and the frame agree. */
static void
check_range(struct ucr_store *s, const struct ucr_key *key,
    const uint8_t *author, uint64_t from, uint64_t to, size_t maxbytes,
    int model)
{
	static ProtobufCBinaryData ents[MAXSEQ + 1];
	Ucr__Batch want, *got = NULL;
	struct ucr_batch_info info;
	uint64_t e = model ? epoch_of(node) : epoch_of(s);
	uint8_t *w = NULL, *g = NULL, *fr = NULL;
	size_t wl = 0, gl = 0;
	int rc, frc;

	rc = ucr_store_batch(s, key, author, e, from, to, maxbytes, &got);
	frc = ucr_store_batch_frame(s, key, author, e, from, to, maxbytes,
	    alloc_cb, &fr, &info);
	cr_assert_eq(frc, rc, "from %llu to %llu max %zu: frame %d, batch %d",
	    (unsigned long long)from, (unsigned long long)to, maxbytes, frc,
	    rc);
	if (model) {
		int erc = expect(from, to, maxbytes, &want, ents);

		cr_assert_eq(rc, erc,
		    "from %llu to %llu max %zu: built %d, the rule %d",
		    (unsigned long long)from, (unsigned long long)to, maxbytes,
		    rc, erc);
		if (rc != 0)
			return;
		w = packed(&want, &wl);
	}
	if (rc != 0)
		return;
	g = packed(got, &gl);
	if (model)
		cr_assert(wl == gl && memcmp(w, g, wl) == 0,
		    "from %llu to %llu max %zu: %llu-%llu built, %llu-%llu by "
		    "the rule",
		    (unsigned long long)from, (unsigned long long)to, maxbytes,
		    (unsigned long long)got->first_seq,
		    (unsigned long long)got->last_seq,
		    (unsigned long long)want.first_seq,
		    (unsigned long long)want.last_seq);
	cr_assert_eq(info.len, gl);
	cr_assert(memcmp(fr, g, gl) == 0, "the frame differs from the batch");
	cr_assert_eq(info.first, got->first_seq);
	cr_assert_eq(info.last, got->last_seq);
	cr_assert_eq(info.n, got->n_entries);
	free(w);
	free(g);
	free(fr);
	ucr_batch_free(got);
}

Test(store_batch, relay_walk_matches_the_rule)
{
	int trial, k;

	for (trial = 0; trial < 6; trial++) {
		srand(1000 + trial);
		node_log(20 + rand() % 40, 1 + rand() % 9);
		for (k = 0; k < 150; k++) {
			uint64_t from = 1 + (uint64_t)rand() % (m.head + 2);
			uint64_t to = rand() % 3 == 0
			    ? 0
			    : from + (uint64_t)(rand() % 30) - 3;
			size_t maxbytes = 1 + (size_t)(rand() % 6000);

			check_range(hub, NULL, nodek->pk, from, to, maxbytes,
			    1);
		}
		/* whole sub-batches: every range from a batch's start */
		for (k = 1; k <= (int)m.head; k++)
			if (k == 1 || m.signed_at[k - 1])
				check_range(hub, NULL, nodek->pk, (uint64_t)k,
				    0, 1 << 20, 1);
	}
}

/*
 * A range that starts inside a signed sub-batch relays the rest of it. A
 * replica that holds a prefix of the log ending anywhere (here: batches
 * from the author itself, cut anywhere, in turn with relays from the hub)
 * is relayed from there; it ends with the log and the hub's head hash.
 */
Test(store_batch, relay_from_mid_batch_applies)
{
	struct ucr_key *rk;
	struct ucr_store *rep;
	struct ucr_head hh, rh;
	Ucr__Batch *b;
	uint64_t he, e, seq = 1;
	size_t applied;
	char why[256];
	int mid = 0;

	srand(77);
	node_log(150, 7);
	cr_assert_eq(ucr_key_generate(&rk), 0);
	rep = su_open(dir, "replica", rk, "2401", hubk->pk, 0);
	cr_assert_eq(ucr_store_identity(hub, NULL, &he, NULL, 0), 0);
	cr_assert_eq(ucr_store_batch(hub, hubk, hubk->pk, he, 1, 0, 1 << 20,
			 &b),
	    0);
	cr_assert_eq(ucr_store_apply(rep, b, &applied, why, sizeof(why)), 0,
	    "%s", why);
	ucr_batch_free(b);
	e = epoch_of(node);
	while (seq <= m.head) {
		if (rand() % 2) {
			/* from the author: ends where it likes */
			cr_assert_eq(ucr_store_batch(node, nodek, nodek->pk, e,
					 seq, seq + (uint64_t)(rand() % 4),
					 1 << 20, &b),
			    0);
		} else {
			mid += !m.signed_at[seq - 1];
			cr_assert_eq(ucr_store_batch(hub, NULL, nodek->pk, e,
					 seq, 0, 1 + (size_t)(rand() % 500),
					 &b),
			    0, "from %llu", (unsigned long long)seq);
			cr_assert(m.signed_at[b->last_seq]);
		}
		cr_assert_eq(b->first_seq, seq);
		cr_assert_eq(ucr_store_apply(rep, b, &applied, why,
				 sizeof(why)),
		    0, "%s", why);
		seq = b->last_seq + 1;
		ucr_batch_free(b);
	}
	cr_assert_gt(mid, 3, "only %d relays started mid-batch", mid);
	cr_assert_eq(ucr_store_head(hub, nodek->pk, e, &hh), 0);
	cr_assert_eq(ucr_store_head(rep, nodek->pk, e, &rh), 0);
	cr_assert_eq(rh.seq, hh.seq);
	cr_assert_eq(memcmp(rh.hash, hh.hash, 32), 0);
	ucr_store_free(rep);
	ucr_key_free(rk);
}

/*
 * Our own log is signed afresh: the frame holds the same bytes as the
 * batch (Ed25519 signs deterministically), whatever the range.
 */
Test(store_batch, own_log_frame_matches_batch)
{
	uint64_t e;
	int k;

	srand(5);
	for (k = 0; k < 60; k++)
		put(k);
	e = epoch_of(node);
	(void)e;
	for (k = 0; k < 100; k++) {
		uint64_t from = 1 + (uint64_t)rand() % 62;
		uint64_t to = rand() % 2 ? 0 : from + (uint64_t)(rand() % 20);

		check_range(node, nodek, nodek->pk, from, to,
		    1 + (size_t)(rand() % 5000), 0);
	}
}

/* full: cut by maxbytes, the same whatever comes later; else not. */
Test(store_batch, full_only_when_cut)
{
	struct ucr_batch_info info;
	uint8_t *fr = NULL;
	uint64_t e;

	srand(9);
	node_log(30, 1); /* every entry signed */
	e = epoch_of(node);
	cr_assert_eq(ucr_store_batch_frame(hub, NULL, nodek->pk, e, 1, 0, 1,
			 alloc_cb, &fr, &info),
	    0);
	cr_assert_eq(info.last, 1);
	cr_assert(info.full);
	free(fr);
	cr_assert_eq(ucr_store_batch_frame(hub, NULL, nodek->pk, e, 1, 0,
			 1 << 20, alloc_cb, &fr, &info),
	    0);
	cr_assert_eq(info.last, 30);
	cr_assert_not(info.full);
	free(fr);
}
