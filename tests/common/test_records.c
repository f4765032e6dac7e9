/*
 * test_records.c: a page of current records (common/records.c), on real
 * LMDB stores. Two nodes (2403, 2480) write networks; the hub holds their
 * logs and its own roster. Paging through every record gives each exactly
 * once, in key order, in pages bounded in records and in encoded bytes; a
 * kind and a prefix keep only theirs (across owners, by seeking); bad
 * queries are refused with EINVAL and a reason naming the field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "records.h"
#include "storeutil.h"

static char *dir;
static struct ucr_key *hubk, *k2403, *k2480;
static struct ucr_store *hub, *n2403, *n2480;

static void
setup(void)
{
	cr_assert_eq(ucr_crypto_init(), 0);
	dir = tu_tempdir();
	cr_assert_eq(ucr_key_generate(&hubk), 0);
	cr_assert_eq(ucr_key_generate(&k2403), 0);
	cr_assert_eq(ucr_key_generate(&k2480), 0);
	hub = su_open(dir, "hub", hubk, "region", hubk->pk, 64 << 20);
	n2403 = su_open(dir, "n2403", k2403, "2403", hubk->pk, 64 << 20);
	n2480 = su_open(dir, "n2480", k2480, "2480", hubk->pk, 64 << 20);
	cr_assert_eq(su_append(hub, hubk, su_roster(k2403->pk, "2403")), 0);
	cr_assert_eq(su_append(hub, hubk, su_roster(k2480->pk, "2480")), 0);
}

static void
teardown(void)
{
	ucr_store_free(hub);
	ucr_store_free(n2403);
	ucr_store_free(n2480);
	ucr_key_free(hubk);
	ucr_key_free(k2403);
	ucr_key_free(k2480);
	tu_rmrf(dir);
	free(dir);
}

TestSuite(records, .init = setup, .fini = teardown, .timeout = 120);

/* n networks N<from>.. of owner in one append; long names when big. */
static void
networks(struct ucr_store *s, const struct ucr_key *k, const char *owner,
    int from, int n, int big)
{
	struct ucr_put *p = calloc((size_t)n, sizeof(*p));
	uint64_t first, last;
	size_t bad;
	char why[256];
	int i;

	cr_assert_not_null(p);
	for (i = 0; i < n; i++) {
		p[i].record = su_network(owner, from + i);
		p[i].mode = UCR_PUT_UPSERT;
		if (big) {
			char name[256];

			snprintf(name, sizeof(name), "Network %d %0230d",
			    from + i, from + i);
			free(p[i].record->network->name);
			p[i].record->network->name = strdup(name);
		}
	}
	cr_assert_eq(ucr_store_append(s, k, p, (size_t)n, &first, &last, &bad,
			 why, sizeof(why)),
	    0, "append: %s", why);
	for (i = 0; i < n; i++)
		ucr__record__free_unpacked(p[i].record, NULL);
	free(p);
}

/* Every batch of a node's log into the hub. */
static void
to_hub(struct ucr_store *s, const struct ucr_key *k)
{
	struct ucr_head h;
	uint64_t epoch, seq = 0;
	Ucr__Batch *b;
	size_t applied;
	char why[256];

	cr_assert_eq(ucr_store_identity(s, h.author, &epoch, NULL, 0), 0);
	cr_assert_eq(ucr_store_head(s, k->pk, epoch, &h), 0);
	while (seq < h.seq) {
		cr_assert_eq(ucr_store_batch(s, k, k->pk, epoch, seq + 1, h.seq,
				 1 << 20, &b),
		    0);
		cr_assert_eq(ucr_store_apply(hub, b, &applied, why,
				 sizeof(why)),
		    0, "apply: %s", why);
		seq = b->last_seq;
		ucr_batch_free(b);
	}
}

/*
 * Page through s with the query; every page checked (bounded, in key
 * order after the last one). The number of records; the keys seen appended
 * to keys (one per line) when keys is not NULL.
 */
static size_t
page_all(struct ucr_store *s, const char *kind, const char *prefix,
    uint32_t limit, int *pages, char **keys)
{
	struct ucr_page pg;
	char after[UCR_PAGE_MAXKEY + 1] = "", last[UCR_PAGE_MAXKEY + 1] = "";
	char why[512];
	size_t total = 0, i, enc;
	size_t klen = 0;

	*pages = 0;
	if (keys)
		*keys = calloc(1, 1);
	do {
		cr_assert_eq(ucr_records_page(&pg, s, kind, prefix, after,
				 limit, why, sizeof(why)),
		    0, "%s", why);
		(*pages)++;
		cr_assert_leq(pg.n, limit ? limit : UCR_PAGE_MAXRECORDS);
		enc = 0;
		for (i = 0; i < pg.n; i++) {
			Ucr__Record *r;

			enc +=
			    ucr__view_record__get_packed_size(pg.recs[i]) + 4;
			cr_assert_eq(pg.recs[i]->author.len, UCR_PK_LEN);
			cr_assert_eq(ucr_record_decode(&r,
					 pg.recs[i]->record.data,
					 pg.recs[i]->record.len),
			    0);
			cr_assert_gt(strcmp(r->key, last), 0,
			    "%s after %s: not in key order", r->key, last);
			snprintf(last, sizeof(last), "%s", r->key);
			if (keys) {
				size_t n = strlen(r->key);

				*keys = realloc(*keys, klen + n + 2);
				memcpy(*keys + klen, r->key, n);
				klen += n;
				(*keys)[klen++] = '\n';
				(*keys)[klen] = '\0';
			}
			ucr__record__free_unpacked(r, NULL);
		}
		/* the page as encoded, with its field tags and lengths */
		cr_assert_leq(enc, UCR_PAGE_MAXBYTES, "a page of %zu bytes",
		    enc);
		total += pg.n;
		if (*pg.next)
			cr_assert_str_eq(pg.next, last);
		snprintf(after, sizeof(after), "%s", pg.next);
		ucr_page_free(&pg);
		cr_assert_lt(*pages, 100000, "the pages never end");
	} while (*after != '\0');
	return total;
}

Test(records, every_record_once_in_bounded_pages)
{
	int pages;
	size_t n;

	struct ucr_page pg;
	char why[512];

	/* ~330 bytes a record: the byte bound ends a page first */
	networks(n2403, k2403, "2403", 0, 3000, 1);
	cr_assert_eq(ucr_records_page(&pg, n2403, NULL, NULL, NULL, 0, why,
			 sizeof(why)),
	    0);
	cr_assert_lt(pg.n, UCR_PAGE_MAXRECORDS, "%zu records", pg.n);
	cr_assert_gt(pg.n, 500, "%zu records", pg.n);
	cr_assert_neq(*pg.next, '\0');
	ucr_page_free(&pg);
	n = page_all(n2403, NULL, NULL, 0, &pages, NULL);
	cr_assert_eq(n, 3000);
	cr_assert_geq(pages, 3, "%d pages", pages);
	/* one a page: as many pages as records, and one empty at the end
	   never comes (next is "" with the last record) */
	networks(n2480, k2480, "2480", 0, 30, 0);
	n = page_all(n2480, NULL, NULL, 1, &pages, NULL);
	cr_assert_eq(n, 30);
	cr_assert_eq(pages, 30);
	n = page_all(n2480, NULL, NULL, 7, &pages, NULL);
	cr_assert_eq(n, 30);
	cr_assert_eq(pages, 5);
}

Test(records, kind_and_prefix_across_owners)
{
	char *keys = NULL;
	int pages;
	size_t n;

	networks(n2403, k2403, "2403", 0, 40, 0);
	networks(n2480, k2480, "2480", 0, 25, 0);
	to_hub(n2403, k2403);
	to_hub(n2480, k2480);
	/* roster (region) and networks (two owners) */
	cr_assert_eq(page_all(hub, NULL, NULL, 0, &pages, NULL), 40 + 25 + 2);
	n = page_all(hub, "network", NULL, 3, &pages, &keys);
	cr_assert_eq(n, 65);
	cr_assert(strstr(keys, "region/") == NULL, "%s", keys);
	free(keys);
	cr_assert_eq(page_all(hub, "roster", NULL, 0, &pages, &keys), 2);
	cr_assert(strstr(keys, "region/roster/") == keys, "%s", keys);
	free(keys);
	cr_assert_eq(page_all(hub, "measure", NULL, 0, &pages, NULL), 0);
	cr_assert_eq(pages, 1);
	n = page_all(hub, NULL, "2480/", 4, &pages, &keys);
	cr_assert_eq(n, 25);
	cr_assert(strstr(keys, "2403/") == NULL, "%s", keys);
	free(keys);
	cr_assert_eq(page_all(hub, "network", "2480/", 0, &pages, NULL), 25);
	cr_assert_eq(page_all(hub, "roster", "2480/", 0, &pages, NULL), 0);
	/* a full key as prefix: the key itself comes first */
	n = page_all(hub, NULL, "2480/network/N1", 0, &pages, &keys);
	cr_assert_eq(n, 11, "%s", keys); /* N1, N10 .. N19 */
	cr_assert(strncmp(keys, "2480/network/N1\n", 16) == 0, "%s", keys);
	free(keys);
}

Test(records, after_a_key)
{
	struct ucr_page pg;
	char why[512];

	networks(n2403, k2403, "2403", 0, 10, 0);
	/* after a key held: the next one; after one not held: the next
	   held; after the last: nothing, and no next */
	cr_assert_eq(ucr_records_page(&pg, n2403, NULL, NULL, "2403/network/N3",
			 1, why, sizeof(why)),
	    0);
	cr_assert_eq(pg.n, 1);
	cr_assert_str_eq(pg.next, "2403/network/N4");
	ucr_page_free(&pg);
	cr_assert_eq(ucr_records_page(&pg, n2403, NULL, NULL,
			 "2403/network/N35", 0, why, sizeof(why)),
	    0);
	cr_assert_eq(pg.n, 6); /* N4 .. N9 */
	cr_assert_str_eq(pg.next, "");
	ucr_page_free(&pg);
	cr_assert_eq(ucr_records_page(&pg, n2403, NULL, NULL, "2403/network/N9",
			 0, why, sizeof(why)),
	    0);
	cr_assert_eq(pg.n, 0);
	cr_assert_str_eq(pg.next, "");
	ucr_page_free(&pg);
	/* before every key: all of them */
	cr_assert_eq(ucr_records_page(&pg, n2403, "network", NULL, "0/a/b", 0,
			 why, sizeof(why)),
	    0);
	cr_assert_eq(pg.n, 10);
	ucr_page_free(&pg);
}

static void
refused(const char *kind, const char *prefix, const char *after, uint32_t limit,
    const char *field)
{
	struct ucr_page pg;
	char why[512] = "";

	cr_assert_eq(ucr_records_page(&pg, n2403, kind, prefix, after, limit,
			 why, sizeof(why)),
	    UCR_EINVAL, "%s: not refused", field);
	cr_assert(strncmp(why, field, strlen(field)) == 0, "%s: %s", field,
	    why);
	cr_assert_eq(pg.n, 0);
	ucr_page_free(&pg);
}

Test(records, bad_queries_refused)
{
	char longkey[300];

	memset(longkey, 'a', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	longkey[4] = '/';
	longkey[10] = '/';
	networks(n2403, k2403, "2403", 0, 3, 0);
	refused(NULL, NULL, NULL, UCR_PAGE_MAXRECORDS + 1, "limit");
	refused(NULL, NULL, NULL, 0xffffffffu, "limit");
	refused("networks", NULL, NULL, 0, "kind");
	refused("", "", "2403", 0, "after");
	refused("", "", "2403/network", 0, "after");
	refused("", "", longkey, 0, "after");
	refused("", longkey, "", 0, "prefix");
	refused("", "2403/\n", "", 0, "prefix");
	refused("", "", "2403/network/\x7f", 0, "after");
}

static int
time_cb(const struct ucr_rec *r, void *arg)
{
	uint64_t *t = arg;

	if (strcmp(r->key, "2403/network/N10") == 0)
		*t = r->time;
	return 0;
}

static size_t
kind_index(const char *kind)
{
	size_t i;

	for (i = 0; i < UCR_CHANGE_NKINDS; i++)
		if (strcmp(ucr_change_kinds[i], kind) == 0)
			return i;
	cr_assert_fail("no kind %s", kind);
	return 0;
}

/*
 * The changes since a time: written before it, three networks and a
 * decision; after it, two networks, two decisions, a roster entry (another
 * kind, at the hub) and a tombstone of an earlier network; counted at the
 * hub, whose two earlier roster entries are before the time. Counted
 * exactly by kind from the key and the undecoded tombstone flag; the JSON
 * says the same.
 */
Test(records, changed_since_counts_by_kind)
{
	uint64_t c[UCR_CHANGE_NKINDS], since = 0, total = 0;
	struct ucr_key *k;
	Ucr__Record *t;
	char json[256], want[256];
	size_t i;

	networks(n2403, k2403, "2403", 0, 3, 0);
	cr_assert_eq(su_append(n2403, k2403, su_decision("D0")), 0);
	networks(n2403, k2403, "2403", 10, 2, 0); /* N10 is the first after */
	cr_assert_eq(ucr_store_foreach_record(n2403, "", time_cb, &since), 0);
	cr_assert_neq(since, 0);
	cr_assert_eq(su_append(n2403, k2403, su_decision("D1")), 0);
	cr_assert_eq(su_append(n2403, k2403, su_decision("D2")), 0);
	cr_assert_eq(ucr_key_generate(&k), 0);
	cr_assert_eq(su_append(hub, hubk, su_roster(k->pk, "2403")), 0);
	ucr_key_free(k);
	t = su_network("2403", 1);
	ucr__network__free_unpacked(t->network, NULL);
	t->network = NULL;
	t->body_case = UCR__RECORD__BODY__NOT_SET;
	t->tombstone = 1;
	cr_assert_eq(su_append(n2403, k2403, t), 0);
	to_hub(n2403, k2403); /* the hub: 2403's records and its roster */

	cr_assert_eq(ucr_records_changed(hub, since, c), 0);
	cr_assert_eq(c[kind_index("network")], 2);
	cr_assert_eq(c[kind_index("decision")], 2);
	cr_assert_eq(c[kind_index("other")], 1, "the roster entry");
	cr_assert_eq(c[kind_index("deleted")], 1, "the tombstone of N1");
	for (i = 0; i < UCR_CHANGE_NKINDS; i++)
		total += c[i];
	cr_assert_eq(total, 6);

	cr_assert_eq(ucr_records_changed_json(c, json, sizeof(json)), 0);
	snprintf(want, sizeof(want),
	    "{\"target\":0,\"measure\":0,\"baseline\":0,\"project\":0,"
	    "\"network\":2,\"group\":0,\"meeting\":0,\"decision\":2,"
	    "\"indicator\":0,\"other\":1,\"deleted\":1}");
	cr_assert_str_eq(json, want);
	cr_assert_eq(ucr_records_changed_json(c, json, 20), UCR_ETOOBIG);

	/* From the start: every current record; after the last: none. */
	cr_assert_eq(ucr_records_changed(hub, 1, c), 0);
	cr_assert_eq(c[kind_index("network")], 4, "N0 N2 N10 N11");
	cr_assert_eq(c[kind_index("decision")], 3);
	cr_assert_eq(c[kind_index("other")], 3, "three roster entries");
	cr_assert_eq(c[kind_index("deleted")], 1);
	cr_assert_eq(ucr_records_changed(hub, UINT64_MAX, c), 0);
	for (i = 0; i < UCR_CHANGE_NKINDS; i++)
		cr_assert_eq(c[i], 0);
}
