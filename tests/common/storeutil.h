/*
 * storeutil.h: building stores and batches for the common tests. A "hub"
 * store (owner region) enrols node keys by appending roster records; a
 * "node" store (owner 2403) writes network records.
 */
#ifndef UCR_TEST_STOREUTIL_H
#define UCR_TEST_STOREUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "chain.h"
#include "error.h"
#include "keys.h"
#include "record.h"
#include "store.h"
#include "testutil.h"

#define REGION "test"

static inline struct ucr_store *
su_open(const char *dir, const char *sub, const struct ucr_key *self,
    const char *owner, const uint8_t *hub, size_t map)
{
	struct ucr_store *s;
	char path[512];

	cr_assert_lt(snprintf(path, sizeof(path), "%s/%s", dir, sub),
	    (int)sizeof(path));
	cr_assert_eq(ucr_store_open(&s, path, UCR_STORE_CREATE, map), 0);
	ucr_store_set_region(s, REGION, hub);
	cr_assert_eq(ucr_store_set_identity(s, self->pk, owner), 0);
	return s;
}

/* A network record of owner with id "N<i>". Caller frees. */
static inline Ucr__Record *
su_network(const char *owner, int i)
{
	Ucr__Record *r = calloc(1, sizeof(*r));
	Ucr__Network *n = calloc(1, sizeof(*n));
	char buf[128];

	ucr__record__init(r);
	ucr__network__init(n);
	snprintf(buf, sizeof(buf), "%s/network/N%d", owner, i);
	r->key = strdup(buf);
	r->owner = strdup(owner);
	r->body_case = UCR__RECORD__BODY_NETWORK;
	r->network = n;
	snprintf(buf, sizeof(buf), "Network number %d", i);
	n->name = strdup(buf);
	n->joined = strdup("2009-05-01");
	n->new_in_programme = 1;
	return r;
}

/* A deletion of network "N<i>" of owner 2403. Caller frees. */
static inline Ucr__Record *
su_tombstone(int i)
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

/* A decision of 2403 with id, adopting nothing yet. Caller frees. */
static inline Ucr__Record *
su_decision(const char *id)
{
	Ucr__Record *d = calloc(1, sizeof(*d));
	Ucr__Decision *dec = calloc(1, sizeof(*dec));
	char key[128];

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

static inline Ucr__Record *
su_roster(const uint8_t *pk, const char *code)
{
	Ucr__Record *r = calloc(1, sizeof(*r));
	Ucr__RosterEntry *e = calloc(1, sizeof(*e));
	char hex[65], key[128];

	ucr__record__init(r);
	ucr__roster_entry__init(e);
	ucr_hex(hex, pk, 32);
	snprintf(key, sizeof(key), "region/roster/%s", hex);
	r->key = strdup(key);
	r->owner = strdup("region");
	r->body_case = UCR__RECORD__BODY_ROSTER;
	r->roster = e;
	e->municipality = strdup(code);
	e->name = strdup("test");
	e->public_key.data = malloc(32);
	memcpy(e->public_key.data, pk, 32);
	e->public_key.len = 32;
	return r;
}

/* Append records one per batch (count batches) or all in one. */
static inline int
su_append(struct ucr_store *s, const struct ucr_key *k, Ucr__Record *r)
{
	struct ucr_put p = {.record = r, .mode = UCR_PUT_UPSERT};
	uint64_t first, last;
	size_t bad;
	char why[256];
	int rc = ucr_store_append(s, k, &p, 1, &first, &last, &bad, why,
	    sizeof(why));

	ucr__record__free_unpacked(r, NULL);
	return rc;
}

/* Count records (any). */
static inline int
su_count_cb(const struct ucr_rec *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
	return 0;
}

static inline int
su_count_cb_q(const struct ucr_quarantine *q, void *arg)
{
	(void)q;
	(*(int *)arg)++;
	return 0;
}

static inline int
su_decode_cb(const struct ucr_rec *r, void *arg)
{
	return ucr_record_decode((Ucr__Record **)arg, r->bytes, r->len);
}

static inline int
su_records(struct ucr_store *s)
{
	int n = 0;

	cr_assert_eq(ucr_store_foreach_record(s, "", su_count_cb, &n), 0);
	return n;
}

/*
 * The usual folder: a new temp folder (*dir), a hub key and store ("hub",
 * owner region) and a node key and store ("node", 2403) in it; hub or node
 * NULL: that store is not opened. With enrol, the hub's store enrols the
 * node's key.
 */
static inline void
su_setup(char **dir, struct ucr_key **hubk, struct ucr_store **hub,
    struct ucr_key **nodek, struct ucr_store **node, int enrol)
{
	cr_assert_eq(ucr_crypto_init(), 0);
	*dir = tu_tempdir();
	cr_assert_not_null(*dir);
	cr_assert_eq(ucr_key_generate(hubk), 0);
	cr_assert_eq(ucr_key_generate(nodek), 0);
	if (hub)
		*hub = su_open(*dir, "hub", *hubk, "region", (*hubk)->pk, 0);
	if (node)
		*node = su_open(*dir, "node", *nodek, "2403", (*hubk)->pk, 0);
	if (enrol)
		cr_assert_eq(su_append(*hub, *hubk,
				 su_roster((*nodek)->pk, "2403")),
		    0);
}

/* Free what su_setup made and remove the folder. */
static inline void
su_teardown(char *dir, struct ucr_key *hubk, struct ucr_store *hub,
    struct ucr_key *nodek, struct ucr_store *node)
{
	ucr_store_free(hub);
	ucr_store_free(node);
	ucr_key_free(hubk);
	ucr_key_free(nodek);
	tu_rmrf(dir);
	free(dir);
}

/*
 * A node store "orig" (nodek, 2403) with entries 1-3, copied as plain files
 * to "copy" (a snapshot of the store); both open.
 */
static inline void
su_copied(const char *dir, const struct ucr_key *nodek, const uint8_t *hub,
    struct ucr_store **orig, struct ucr_store **copy)
{
	char cmd[1024];
	int i;

	*orig = su_open(dir, "orig", nodek, "2403", hub, 0);
	for (i = 1; i <= 3; i++)
		cr_assert_eq(su_append(*orig, nodek, su_network("2403", i)), 0);
	ucr_store_free(*orig);
	snprintf(cmd, sizeof(cmd), "cp -a '%s/orig' '%s/copy'", dir, dir);
	cr_assert_eq(system(cmd), 0);
	*orig = su_open(dir, "orig", nodek, "2403", hub, 0);
	*copy = su_open(dir, "copy", nodek, "2403", hub, 0);
}

#endif
