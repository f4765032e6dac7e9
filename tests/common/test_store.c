/* test_store.c: the LMDB store: append, apply, forks, gaps, full map. */
#include <sys/stat.h>

#include "storeutil.h"

static char *dir;
static struct ucr_key *hubk, *nodek, *otherk;
static struct ucr_store *hub, *node;

static void
setup(void)
{
	/* the node enrolled at the hub */
	su_setup(&dir, &hubk, &hub, &nodek, &node, 1);
	cr_assert_eq(ucr_key_generate(&otherk), 0);
}

static void
teardown(void)
{
	ucr_key_free(otherk);
	su_teardown(dir, hubk, hub, nodek, node);
}

TestSuite(store, .init = setup, .fini = teardown, .timeout = 60);

static uint64_t
node_epoch(void)
{
	uint64_t e;

	cr_assert_eq(ucr_store_identity(node, NULL, &e, NULL, 0), 0);
	return e;
}

Test(store, append_assigns_seq_and_chain)
{
	struct ucr_head h;
	int i;

	for (i = 1; i <= 3; i++)
		cr_assert_eq(su_append(node, nodek, su_network("2403", i)), 0);
	cr_assert_eq(ucr_store_head(node, nodek->pk, node_epoch(), &h), 0);
	cr_assert_eq(h.seq, 3);
	cr_assert_eq(su_records(node), 3);
	cr_assert_eq(ucr_store_verify(node, NULL, NULL, NULL, 0), 0);
}

Test(store, batch_replicates_to_hub)
{
	Ucr__Batch *b;
	size_t applied;
	char why[256];
	uint8_t d1[32], d2[32];
	int i;

	for (i = 1; i <= 5; i++)
		cr_assert_eq(su_append(node, nodek, su_network("2403", i)), 0);
	cr_assert_eq(ucr_store_batch(node, nodek, nodek->pk, node_epoch(), 1, 0,
			 1 << 20, &b),
	    0);
	cr_assert_eq(b->n_entries, 5);
	cr_assert_eq(ucr_store_apply(hub, b, &applied, why, sizeof(why)), 0,
	    "%s", why);
	cr_assert_eq(applied, 5);
	/* the same batch again is a duplicate, nothing changes */
	cr_assert_eq(ucr_store_apply(hub, b, &applied, why, sizeof(why)),
	    UCR_EDUP);
	ucr_batch_free(b);
	cr_assert_eq(su_records(hub), 6); /* roster + 5 */
	/* relay back to the node the hub's log: the node converges */
	{
		uint8_t hubepoch_author[32];
		uint64_t he;

		cr_assert_eq(ucr_store_identity(hub, hubepoch_author, &he, NULL,
				 0),
		    0);
		cr_assert_eq(ucr_store_batch(hub, NULL, hubk->pk, he, 1, 0,
				 1 << 20, &b),
		    0);
		cr_assert_eq(ucr_store_apply(node, b, &applied, why,
				 sizeof(why)),
		    0, "%s", why);
		ucr_batch_free(b);
	}
	cr_assert_eq(ucr_store_view_digest(hub, d1), 0);
	cr_assert_eq(ucr_store_view_digest(node, d2), 0);
	cr_assert_eq(memcmp(d1, d2, 32), 0);
	cr_assert_eq(ucr_store_verify(hub, NULL, NULL, why, sizeof(why)), 0,
	    "%s", why);
}

Test(store, relay_respects_signed_boundaries)
{
	Ucr__Batch *b;
	size_t applied;
	char why[256];
	int i;

	/* three batches at the hub: 1-2, 3-3, 4-6 (from node signatures) */
	for (i = 1; i <= 6; i++)
		cr_assert_eq(su_append(node, nodek, su_network("2403", i)), 0);
	cr_assert_eq(ucr_store_batch(node, nodek, nodek->pk, node_epoch(), 1, 2,
			 1 << 20, &b),
	    0);
	cr_assert_eq(ucr_store_apply(hub, b, &applied, why, sizeof(why)), 0);
	ucr_batch_free(b);
	cr_assert_eq(ucr_store_batch(node, nodek, nodek->pk, node_epoch(), 3, 6,
			 1 << 20, &b),
	    0);
	cr_assert_eq(ucr_store_apply(hub, b, &applied, why, sizeof(why)), 0);
	ucr_batch_free(b);
	/* the hub (not the author) relays: from 2 it can send 2..6 */
	cr_assert_eq(ucr_store_batch(hub, hubk, nodek->pk, node_epoch(), 2, 0,
			 1 << 20, &b),
	    0);
	cr_assert_eq(b->first_seq, 2);
	cr_assert_eq(b->last_seq, 6);
	ucr_batch_free(b);
	/* with a small byte budget it cuts at the first signed seq, 2 */
	cr_assert_eq(ucr_store_batch(hub, hubk, nodek->pk, node_epoch(), 1, 0,
			 1, &b),
	    0);
	cr_assert_eq(b->last_seq, 2);
	ucr_batch_free(b);
}

Test(store, gap_refused)
{
	Ucr__Batch *b;
	size_t applied;
	char why[256];
	int i;

	for (i = 1; i <= 4; i++)
		cr_assert_eq(su_append(node, nodek, su_network("2403", i)), 0);
	cr_assert_eq(ucr_store_batch(node, nodek, nodek->pk, node_epoch(), 3, 0,
			 1 << 20, &b),
	    0);
	cr_assert_eq(ucr_store_apply(hub, b, &applied, why, sizeof(why)),
	    UCR_EGAP);
	ucr_batch_free(b);
	cr_assert_eq(su_records(hub), 1);
}

Test(store, unknown_author_refused)
{
	struct ucr_store *stranger = su_open(dir, "x", otherk, "2401", NULL, 0);
	Ucr__Batch *b;
	size_t applied;
	char why[256];

	cr_assert_eq(su_append(stranger, otherk, su_network("2401", 1)), 0);
	cr_assert_eq(ucr_store_batch(stranger, otherk, otherk->pk, 0, 1, 0,
			 1 << 20, &b),
	    UCR_ENOTFOUND); /* wrong epoch: nothing */
	{
		uint64_t e;

		cr_assert_eq(ucr_store_identity(stranger, NULL, &e, NULL, 0),
		    0);
		cr_assert_eq(ucr_store_batch(stranger, otherk, otherk->pk, e, 1,
				 0, 1 << 20, &b),
		    0);
	}
	cr_assert_eq(ucr_store_apply(hub, b, &applied, why, sizeof(why)),
	    UCR_EROSTER);
	ucr_batch_free(b);
	ucr_store_free(stranger);
	cr_assert_eq(su_records(hub), 1);
}

Test(store, node_may_not_write_other_municipality)
{
	Ucr__Record *r = su_network("2401", 1);
	struct ucr_put p = {.record = r, .mode = UCR_PUT_UPSERT};
	uint64_t f, l;
	size_t bad;
	char why[256];

	cr_assert_eq(ucr_store_append(node, nodek, &p, 1, &f, &l, &bad, why,
			 sizeof(why)),
	    UCR_EOWNER);
	ucr__record__free_unpacked(r, NULL);
	cr_assert_eq(su_records(node), 0);
}

Test(store, node_may_not_write_roster)
{
	Ucr__Record *r = su_roster(otherk->pk, "2403");
	struct ucr_put p = {.record = r, .mode = UCR_PUT_UPSERT};
	uint64_t f, l;
	size_t bad;
	char why[256];

	/* region records are the hub key's alone: a role refusal */
	cr_assert_eq(ucr_store_append(node, nodek, &p, 1, &f, &l, &bad, why,
			 sizeof(why)),
	    UCR_EROLE);
	ucr__record__free_unpacked(r, NULL);
}

Test(store, fork_detected_quarantined_and_log_stopped)
{
	struct ucr_store *clone;
	Ucr__Batch *b1, *b2;
	size_t applied;
	char why[256];
	struct ucr_head h;
	uint64_t e = node_epoch();
	int q = 0;

	/* two stores with one key and one epoch: copy the node's store */
	cr_assert_eq(su_append(node, nodek, su_network("2403", 1)), 0);
	ucr_store_free(node);
	{
		char cmd[1024];

		snprintf(cmd, sizeof(cmd), "cp -r %s/node %s/clone", dir, dir);
		cr_assert_eq(system(cmd), 0);
	}
	node = su_open(dir, "node", nodek, "2403", hubk->pk, 0);
	clone = su_open(dir, "clone", nodek, "2403", hubk->pk, 0);
	cr_assert_eq(su_append(node, nodek, su_network("2403", 2)), 0);
	cr_assert_eq(su_append(clone, nodek, su_network("2403", 99)), 0);
	cr_assert_eq(ucr_store_batch(node, nodek, nodek->pk, e, 1, 0, 1 << 20,
			 &b1),
	    0);
	cr_assert_eq(ucr_store_batch(clone, nodek, nodek->pk, e, 1, 0, 1 << 20,
			 &b2),
	    0);
	cr_assert_eq(ucr_store_apply(hub, b1, &applied, why, sizeof(why)), 0);
	cr_assert_eq(ucr_store_apply(hub, b2, &applied, why, sizeof(why)),
	    UCR_EFORK);
	cr_assert_eq(ucr_store_head(hub, nodek->pk, e, &h), 0);
	cr_assert(h.stopped);
	cr_assert_eq(h.seq, 2); /* nothing already stored changed */
	cr_assert_eq(ucr_store_foreach_quarantine(hub, su_count_cb_q, &q), 0);
	cr_assert_eq(q, 1);
	/* the stopped log refuses even its true continuation */
	cr_assert_eq(ucr_store_apply(hub, b1, &applied, why, sizeof(why)),
	    UCR_ESTOPPED);
	ucr_batch_free(b1);
	ucr_batch_free(b2);
	ucr_store_free(clone);
}

Test(store, create_refuses_existing_update_refuses_unknown)
{
	Ucr__Record *r = su_network("2403", 1);
	struct ucr_put p = {.record = r, .mode = UCR_PUT_CREATE};
	uint64_t f, l;
	size_t bad;
	char why[256];

	cr_assert_eq(ucr_store_append(node, nodek, &p, 1, &f, &l, &bad, why,
			 sizeof(why)),
	    0);
	cr_assert_eq(ucr_store_append(node, nodek, &p, 1, &f, &l, &bad, why,
			 sizeof(why)),
	    UCR_EEXIST);
	ucr__record__free_unpacked(r, NULL);
	r = su_network("2403", 2);
	p.record = r;
	p.mode = UCR_PUT_UPDATE;
	cr_assert_eq(ucr_store_append(node, nodek, &p, 1, &f, &l, &bad, why,
			 sizeof(why)),
	    UCR_ENOTFOUND);
	ucr__record__free_unpacked(r, NULL);
	cr_assert_eq(su_records(node), 1);
}

Test(store, all_or_nothing_append)
{
	Ucr__Record *a = su_network("2403", 1), *b = su_network("2401", 2);
	struct ucr_put p[2] = {{.record = a, .mode = UCR_PUT_UPSERT},
	    {.record = b, .mode = UCR_PUT_UPSERT}};
	uint64_t f, l;
	size_t bad;
	char why[256];

	cr_assert_neq(ucr_store_append(node, nodek, p, 2, &f, &l, &bad, why,
			  sizeof(why)),
	    0);
	cr_assert_eq(su_records(node), 0);
	ucr__record__free_unpacked(a, NULL);
	ucr__record__free_unpacked(b, NULL);
}

Test(store, tombstone_and_newest_wins)
{
	Ucr__Record *r = calloc(1, sizeof(*r));
	Ucr__Record *got = NULL;
	struct ucr_put p = {0};
	uint64_t f, l;
	size_t bad;
	char why[256];

	cr_assert_eq(su_append(node, nodek, su_network("2403", 1)), 0);
	ucr__record__init(r);
	r->key = strdup("2403/network/N1");
	r->owner = strdup("2403");
	r->tombstone = 1;
	p.record = r;
	p.mode = UCR_PUT_UPDATE;
	p.adopt_keys = NULL;
	p.nadopt = 0;
	cr_assert_eq(ucr_store_append(node, nodek, &p, 1, &f, &l, &bad, why,
			 sizeof(why)),
	    0, "%s", why);
	ucr__record__free_unpacked(r, NULL);
	cr_assert_eq(ucr_store_get(node, "2403/network/N1", su_decode_cb, &got),
	    0);
	cr_assert(got->tombstone);
	ucr__record__free_unpacked(got, NULL);
	/* history stays: two entries */
	cr_assert_eq(ucr_store_verify(node, NULL, NULL, why, sizeof(why)), 0);
}

Test(store, decision_binds_adopted_hashes)
{
	Ucr__Record *d = su_decision("D1"), *got = NULL;
	const char *keys[] = {"2403/network/N1"};
	struct ucr_put p = {0};
	uint64_t f, l;
	size_t bad;
	char why[256];

	cr_assert_eq(su_append(node, nodek, su_network("2403", 1)), 0);
	p.record = d;
	p.mode = UCR_PUT_CREATE;
	p.adopt_keys = keys;
	p.nadopt = 1;
	cr_assert_eq(ucr_store_append(node, nodek, &p, 1, &f, &l, &bad, why,
			 sizeof(why)),
	    0, "%s", why);
	cr_assert_eq(ucr_store_get(node, "2403/decision/D1", su_decode_cb,
			 &got),
	    0);
	cr_assert_eq(got->decision->n_adopts, 1);
	cr_assert_str_eq(got->decision->adopts[0]->key, "2403/network/N1");
	cr_assert_eq(got->decision->adopts[0]->hash.len, 32);
	ucr__record__free_unpacked(got, NULL);
	/* adopting an unknown key stores nothing */
	keys[0] = "2403/network/N9";
	free(d->key);
	d->key = strdup("2403/decision/D2");
	cr_assert_eq(ucr_store_append(node, nodek, &p, 1, &f, &l, &bad, why,
			 sizeof(why)),
	    UCR_ENOTFOUND);
	ucr__record__free_unpacked(d, NULL);
	cr_assert_eq(su_records(node), 2);
}

Test(store, full_map_leaves_store_as_it_was)
{
	struct ucr_store *small =
	    su_open(dir, "small", nodek, "2403", NULL, 1 << 20);
	char why[256];
	uint8_t before[32], after[32];
	int i, rc = 0, stored = 0;

	for (i = 1; i < 100000; i++) {
		Ucr__Record *r = su_network("2403", i);
		char big[4000];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		free(r->network->name);
		r->network->name = strndup(big, 250);
		ucr_store_view_digest(small, before);
		rc = su_append(small, nodek, r);
		if (rc != 0)
			break;
		stored++;
	}
	cr_assert_eq(rc, UCR_EFULL);
	cr_assert_gt(stored, 10);
	cr_assert_eq(ucr_store_view_digest(small, after), 0);
	cr_assert_eq(memcmp(before, after, 32), 0);
	cr_assert_eq(su_records(small), stored);
	cr_assert_eq(ucr_store_verify(small, NULL, NULL, why, sizeof(why)), 0,
	    "%s", why);
	ucr_store_free(small);
}

Test(store, second_exclusive_open_refused)
{
	struct ucr_store *a, *b = NULL;
	char path[512];

	snprintf(path, sizeof(path), "%s/excl", dir);
	cr_assert_eq(ucr_store_open(&a, path,
			 UCR_STORE_CREATE | UCR_STORE_EXCLUSIVE, 0),
	    0);
	cr_assert_eq(ucr_store_open(&b, path,
			 UCR_STORE_CREATE | UCR_STORE_EXCLUSIVE, 0),
	    UCR_ELOCKED);
	cr_assert_null(b);
	ucr_store_free(a);
	cr_assert_eq(ucr_store_open(&b, path, UCR_STORE_EXCLUSIVE, 0), 0);
	ucr_store_free(b);
}

Test(store, readonly_open_of_missing_store)
{
	struct ucr_store *s = NULL;
	char path[512];

	snprintf(path, sizeof(path), "%s/nothing", dir);
	cr_assert_neq(ucr_store_open(&s, path, UCR_STORE_RDONLY, 0), 0);
	cr_assert_null(s);
}

Test(store, identity_is_fixed)
{
	cr_assert_eq(ucr_store_set_identity(node, otherk->pk, "2403"),
	    UCR_EINVAL);
	cr_assert_eq(ucr_store_set_identity(node, nodek->pk, "2401"),
	    UCR_EINVAL);
	cr_assert_eq(ucr_store_set_identity(node, nodek->pk, "2403"), 0);
}

Test(store, verify_detects_tampering)
{
	char why[256], cmd[1024];
	int i;

	for (i = 1; i <= 3; i++)
		cr_assert_eq(su_append(node, nodek, su_network("2403", i)), 0);
	ucr_store_free(node);
	/* flip a byte inside a stored entry: "Network number 2" */
	snprintf(cmd, sizeof(cmd),
	    "sed -i 's/Network number 2/Network numbex 2/' "
	    "%s/node/data.mdb",
	    dir);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(ucr_store_open(&node, strcat(strcpy(cmd, dir), "/node"),
			 UCR_STORE_RDONLY, 0),
	    0);
	ucr_store_set_region(node, REGION, hubk->pk);
	cr_assert_neq(ucr_store_verify(node, NULL, NULL, why, sizeof(why)), 0);
	cr_assert(strstr(why, "log") != NULL, "%s", why);
}

Test(store, decision_adopts_record_of_same_batch)
{
	Ucr__Record *n = su_network("2403", 7), *got = NULL;
	Ucr__Record *d = su_decision("D1");
	const char *keys[] = {"2403/network/N7"};
	struct ucr_put p[2];
	uint64_t f, l;
	size_t bad;
	char why[256];
	uint8_t h[32];
	uint8_t *buf;
	size_t len;

	p[0] = (struct ucr_put){.record = n, .mode = UCR_PUT_CREATE};
	p[1] = (struct ucr_put){.record = d,
	    .mode = UCR_PUT_CREATE,
	    .adopt_keys = keys,
	    .nadopt = 1};
	cr_assert_eq(ucr_store_append(node, nodek, p, 2, &f, &l, &bad, why,
			 sizeof(why)),
	    0, "%s", why);
	cr_assert_eq(ucr_record_encode(&buf, &len, n), 0);
	ucr_hash(h, buf, len);
	free(buf);
	cr_assert_eq(ucr_store_get(node, "2403/decision/D1", su_decode_cb,
			 &got),
	    0);
	cr_assert_eq(got->decision->n_adopts, 1);
	cr_assert_eq(memcmp(got->decision->adopts[0]->hash.data, h, 32), 0);
	ucr__record__free_unpacked(got, NULL);
	ucr__record__free_unpacked(n, NULL);
	ucr__record__free_unpacked(d, NULL);
}

/* Named values: one or two at a time, both or neither; never "identity". */
Test(store, meta_values_written_and_deleted_together)
{
	char buf[16];
	size_t len;

	cr_assert_eq(ucr_store_meta_put(node, "a", "one", 3), 0);
	cr_assert_eq(ucr_store_meta_put2(node, "a", "two", 3, "b", "bee", 3),
	    0);
	cr_assert_eq(ucr_store_meta_get(node, "a", buf, sizeof(buf), &len), 0);
	cr_assert_eq(len, 3);
	cr_assert_eq(memcmp(buf, "two", 3), 0);
	cr_assert_eq(ucr_store_meta_get(node, "b", buf, sizeof(buf), &len), 0);
	cr_assert_eq(memcmp(buf, "bee", 3), 0);
	cr_assert_eq(ucr_store_meta_put(node, "identity", "x", 1), UCR_EPERM);
	cr_assert_eq(ucr_store_meta_put2(node, "a", "new", 3, "identity", "x",
			 1),
	    UCR_EPERM);
	cr_assert_eq(ucr_store_meta_get(node, "a", buf, sizeof(buf), &len), 0);
	cr_assert_eq(memcmp(buf, "two", 3), 0, "half of a refused pair");
	cr_assert_eq(ucr_store_meta_del2(node, "identity", "a"), UCR_EPERM);
	cr_assert_eq(ucr_store_meta_del2(node, "a", "absent"), 0);
	cr_assert_eq(ucr_store_meta_get(node, "a", buf, sizeof(buf), &len),
	    UCR_ENOTFOUND);
	cr_assert_eq(ucr_store_meta_get(node, "b", buf, sizeof(buf), &len), 0);
	cr_assert_eq(ucr_store_identity(node, NULL, NULL, NULL, 0), 0);
}
