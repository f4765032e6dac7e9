/*
 * test_store_snapshot.c: ucr_store_snapshot, the hub checkpoint's heads
 * and view digest from one read transaction. On a quiet store it gives
 * what ucr_store_foreach_head and ucr_store_view_digest give; on another
 * thread while the store is written its heads and digest belong to one
 * and the same state of the store, never to two.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "storeutil.h"

#define MAXSEQ 512

static char *dir;
static struct ucr_key *hubk, *nodek;
static struct ucr_store *hub, *node;

/* The node's own log: seq -> the view digest with that head. */
static uint8_t at[MAXSEQ][32];

static void
setup(void)
{
	su_setup(&dir, &hubk, &hub, &nodek, &node, 0);
}

static void
teardown(void)
{
	su_teardown(dir, hubk, hub, nodek, node);
}

TestSuite(store_snapshot, .init = setup, .fini = teardown, .timeout = 120);

struct heads {
	struct ucr_head h[16];
	size_t n;
	int hold;              /* wait at the first head */
	int holding, released; /* under mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop_at; /* return UCR_EAGAIN at this head (1-based) */
	int began;   /* called with NULL before any head */
};

static int
heads_cb(const struct ucr_head *h, void *arg)
{
	struct heads *c = arg;

	if (h == NULL) {
		c->began |= c->n == 0;
		return 0;
	}
	if (c->hold) {
		pthread_mutex_lock(&c->mu);
		c->holding = 1;
		pthread_cond_broadcast(&c->cv);
		while (!c->released)
			pthread_cond_wait(&c->cv, &c->mu);
		pthread_mutex_unlock(&c->mu);
		c->hold = 0;
	}
	if (c->n == 16)
		return UCR_ETOOBIG;
	c->h[c->n++] = *h;
	if (c->stop_at > 0 && (int)c->n == c->stop_at)
		return UCR_EAGAIN;
	return 0;
}

static int
plain_cb(const struct ucr_head *h, void *arg)
{
	struct heads *c = arg;

	if (c->n < 16)
		c->h[c->n++] = *h;
	return 0;
}

/* Write record i; note the digest at the log's new seq. */
static uint64_t
write_rec(int i)
{
	struct ucr_head h;
	uint64_t epoch;
	uint8_t self[32];

	cr_assert_eq(su_append(node, nodek, su_network("2403", i)), 0);
	cr_assert_eq(ucr_store_identity(node, self, &epoch, NULL, 0), 0);
	cr_assert_eq(ucr_store_head(node, self, epoch, &h), 0);
	cr_assert_lt(h.seq, MAXSEQ);
	cr_assert_eq(ucr_store_view_digest(node, at[h.seq]), 0);
	return h.seq;
}

Test(store_snapshot, quiet_store_equals_the_two_walks)
{
	struct heads a, b;
	uint8_t d1[32], d2[32];
	size_t i;
	int k;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	/* an empty store too: no heads, the digest of nothing */
	cr_assert_eq(ucr_store_snapshot(node, heads_cb, &a, d1), 0);
	cr_assert_eq(ucr_store_view_digest(node, d2), 0);
	cr_assert_eq(memcmp(d1, d2, 32), 0);
	cr_assert_eq(a.n, 0);

	for (k = 0; k < 40; k++)
		write_rec(k);
	cr_assert_eq(su_append(hub, hubk, su_roster(nodek->pk, "2403")), 0);
	cr_assert_eq(ucr_store_snapshot(node, heads_cb, &a, d1), 0);
	cr_assert_eq(ucr_store_view_digest(node, d2), 0);
	cr_assert_eq(memcmp(d1, d2, 32), 0);
	cr_assert_eq(ucr_store_foreach_head(node, plain_cb, &b), 0);
	cr_assert_eq(a.n, b.n);
	cr_assert_gt(a.n, 0);
	cr_assert(a.began, "no call with NULL when the snapshot began");
	for (i = 0; i < a.n; i++)
		cr_assert_eq(memcmp(&a.h[i], &b.h[i], sizeof(a.h[i])), 0);

	/* the hub's store: its roster log */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	cr_assert_eq(ucr_store_snapshot(hub, heads_cb, &a, d1), 0);
	cr_assert_eq(ucr_store_view_digest(hub, d2), 0);
	cr_assert_eq(memcmp(d1, d2, 32), 0);
	cr_assert_eq(ucr_store_foreach_head(hub, plain_cb, &b), 0);
	cr_assert_eq(a.n, b.n);
}

Test(store_snapshot, a_callback_stops_it)
{
	struct heads a;
	uint8_t d[32];

	write_rec(0);
	memset(&a, 0, sizeof(a));
	a.stop_at = 1;
	cr_assert_eq(ucr_store_snapshot(node, heads_cb, &a, d), UCR_EAGAIN);
	cr_assert_eq(a.n, 1);
}

struct job {
	struct heads c;
	uint8_t digest[32];
	int rc;
};

static void *
snap_thread(void *arg)
{
	struct job *j = arg;

	j->rc = ucr_store_snapshot(node, heads_cb, &j->c, j->digest);
	return NULL;
}

/* Held inside its read: writes meanwhile are in neither heads nor digest. */
Test(store_snapshot, writes_during_a_snapshot_are_not_in_it)
{
	struct job j;
	pthread_t t;
	uint8_t now[32];
	uint64_t seq0 = 0;
	int k;

	for (k = 0; k < 10; k++)
		seq0 = write_rec(k);
	memset(&j, 0, sizeof(j));
	pthread_mutex_init(&j.c.mu, NULL);
	pthread_cond_init(&j.c.cv, NULL);
	j.c.hold = 1;
	cr_assert_eq(pthread_create(&t, NULL, snap_thread, &j), 0);
	pthread_mutex_lock(&j.c.mu);
	while (!j.c.holding)
		pthread_cond_wait(&j.c.cv, &j.c.mu);
	pthread_mutex_unlock(&j.c.mu);
	/* the snapshot's transaction is open: write, delete, write more */
	for (k = 10; k < 30; k++)
		write_rec(k);
	cr_assert_eq(su_append(node, nodek, su_tombstone(3)), 0);
	pthread_mutex_lock(&j.c.mu);
	j.c.released = 1;
	pthread_cond_broadcast(&j.c.cv);
	pthread_mutex_unlock(&j.c.mu);
	pthread_join(t, NULL);
	cr_assert_eq(j.rc, 0);
	cr_assert_eq(j.c.n, 1);
	cr_assert_eq(j.c.h[0].seq, seq0);
	cr_assert_eq(memcmp(j.digest, at[seq0], 32), 0,
	    "the digest is not the one of the heads' state");
	cr_assert_eq(ucr_store_view_digest(node, now), 0);
	cr_assert_neq(memcmp(j.digest, now, 32), 0);
	pthread_mutex_destroy(&j.c.mu);
	pthread_cond_destroy(&j.c.cv);
}

/* Snapshots in a loop while the store is written: each one consistent. */
static atomic_int writing;

struct many {
	uint64_t seq[4096];
	uint8_t digest[4096][32];
	size_t n, total, differ;
	int rc;
};

static void *
many_thread(void *arg)
{
	struct many *m = arg;

	/* kept: the first snapshot seen at each seq */
	while (atomic_load(&writing) && m->n < 4096) {
		struct heads c;
		uint64_t seq;

		memset(&c, 0, sizeof(c));
		if ((m->rc = ucr_store_snapshot(node, heads_cb, &c,
			 m->digest[m->n])) != 0)
			break;
		m->total++;
		seq = c.n ? c.h[0].seq : 0;
		if (m->n == 0 || m->seq[m->n - 1] != seq)
			m->seq[m->n++] = seq;
		else if (memcmp(m->digest[m->n], m->digest[m->n - 1], 32))
			m->differ++; /* one seq, two digests */
	}
	return NULL;
}

Test(store_snapshot, concurrent_writes_heads_and_digest_agree)
{
	static struct many m;
	uint8_t empty[32];
	pthread_t t;
	size_t i, mid = 0;
	uint64_t last = 0;
	int k;

	cr_assert_eq(ucr_store_view_digest(node, empty), 0);
	memcpy(at[0], empty, 32);
	writing = 1;
	cr_assert_eq(pthread_create(&t, NULL, many_thread, &m), 0);
	for (k = 0; k < 300; k++)
		last = write_rec(k);
	writing = 0;
	pthread_join(t, NULL);
	cr_assert_eq(m.rc, 0);
	cr_assert_gt(m.n, 0);
	cr_assert_eq(m.differ, 0);
	for (i = 0; i < m.n; i++) {
		cr_assert_leq(m.seq[i], last);
		cr_assert_eq(memcmp(m.digest[i], at[m.seq[i]], 32), 0,
		    "snapshot %zu: the digest is not the one at seq %llu", i,
		    (unsigned long long)m.seq[i]);
		if (m.seq[i] > 0 && m.seq[i] < last)
			mid++;
	}
	cr_assert_gt(mid, 10, "%zu of %zu snapshots between two writes", mid,
	    m.total);
	cr_log_info("%zu snapshots, at %zu seqs, %zu between two writes",
	    m.total, m.n, mid);
}
