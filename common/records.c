/* records.c: a page of current records (see records.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "record.h"
#include "records.h"

/*
 * An upper bound of one record's share of the encoded page besides its
 * bytes: the author (32), the field tags, lengths and varints.
 */
#define REC_OVERHEAD (32 + 40)

struct scan {
	struct ucr_page *p;
	size_t *off; /* each record's bytes at mem + off[i] */
	const char *kind, *prefix, *after;
	size_t kindlen, plen;
	uint32_t limit;
	char last[UCR_PAGE_MAXKEY + 1];
	int rc;
};

static int
grow(struct scan *sc, size_t need)
{
	struct ucr_page *p = sc->p;
	void *n;
	size_t cap;

	if (p->n == p->capn) {
		cap = p->capn ? 2 * p->capn : 64;
		if ((n = realloc(p->vr, cap * sizeof(*p->vr))) == NULL)
			return UCR_ENOMEM;
		p->vr = n;
		if ((n = realloc(sc->off, cap * sizeof(*sc->off))) == NULL)
			return UCR_ENOMEM;
		sc->off = n;
		p->capn = cap;
	}
	if (p->used + need > p->cap) {
		cap = p->cap ? 2 * p->cap : 16384;
		while (cap < p->used + need)
			cap *= 2;
		if ((n = realloc(p->mem, cap)) == NULL)
			return UCR_ENOMEM;
		p->mem = n;
		p->cap = cap;
	}
	return 0;
}

/* The kind part of key ("2403/measure/N00401/..." -> "measure"); its
   owner part's length in *olen. NULL when the key has no kind part. */
static const char *
kind_part(const char *key, size_t *len, size_t *olen)
{
	const char *a = strchr(key, '/'), *b;

	if (a == NULL || (b = strchr(a + 1, '/')) == NULL)
		return NULL;
	*olen = (size_t)(a - key);
	*len = (size_t)(b - a - 1);
	return a + 1;
}

static int
scan_cb(const struct ucr_rec *r, char *seek, size_t seeklen, void *arg)
{
	struct scan *sc = arg;
	struct ucr_page *p = sc->p;
	Ucr__ViewRecord *v;
	size_t est = r->len + REC_OVERHEAD;

	if (*sc->after && strcmp(r->key, sc->after) <= 0)
		return 0;
	if (sc->plen && strncmp(r->key, sc->prefix, sc->plen) != 0)
		return UCR_STORE_STOP; /* past the prefix's range */
	if (sc->kindlen) {
		size_t len, olen;
		const char *k = kind_part(r->key, &len, &olen);
		int c;

		if (k == NULL)
			return 0;
		c = strncmp(k, sc->kind, len < sc->kindlen ? len : sc->kindlen);
		if (c == 0)
			c = len < sc->kindlen ? -1 : len > sc->kindlen;
		/* Skip to this owner's records of the kind, or (past them)
		   to the next owner: '0' follows '/'. */
		if (c < 0) {
			snprintf(seek, seeklen, "%.*s/%s/", (int)olen, r->key,
			    sc->kind);
			return UCR_STORE_SEEK;
		}
		if (c > 0) {
			snprintf(seek, seeklen, "%.*s0", (int)olen, r->key);
			return UCR_STORE_SEEK;
		}
	}
	if (p->n >= sc->limit ||
	    (p->n > 0 && p->bytes + est > UCR_PAGE_MAXBYTES)) {
		/* a further record matches: the page ends at the last one */
		snprintf(p->next, sizeof(p->next), "%s", sc->last);
		return UCR_STORE_STOP;
	}
	if ((sc->rc = grow(sc, r->len + UCR_PK_LEN)) != 0)
		return sc->rc;
	v = &p->vr[p->n];
	ucr__view_record__init(v);
	sc->off[p->n] = p->used;
	memcpy(p->mem + p->used, r->bytes, r->len);
	memcpy(p->mem + p->used + r->len, r->author, UCR_PK_LEN);
	p->used += r->len + UCR_PK_LEN;
	v->record.len = r->len;
	v->author.len = UCR_PK_LEN;
	v->seq = r->seq;
	v->time = r->time;
	p->n++;
	p->bytes += est;
	snprintf(sc->last, sizeof(sc->last), "%s", r->key);
	return 0;
}

/* A key or prefix as a query may give it: bounded, no control bytes. */
static int
key_ok(const char *s)
{
	const unsigned char *u;

	if (strlen(s) > UCR_PAGE_MAXKEY)
		return 0;
	for (u = (const unsigned char *)s; *u; u++)
		if (*u < 0x20 || *u == 0x7f)
			return 0;
	return 1;
}

int
ucr_records_page(struct ucr_page *p, struct ucr_store *s, const char *kind,
    const char *prefix, const char *after, uint32_t limit, char *why,
    size_t whylen)
{
	struct scan sc;
	size_t i, len, olen;
	const char *from;
	int rc;

	memset(p, 0, sizeof(*p));
	memset(&sc, 0, sizeof(sc));
	sc.kind = kind ? kind : "";
	sc.prefix = prefix ? prefix : "";
	sc.after = after ? after : "";
	sc.limit = limit ? limit : UCR_PAGE_MAXRECORDS;
	if (*sc.kind && ucr_kind_parse(sc.kind) == UCR__RECORD__BODY__NOT_SET) {
		snprintf(why, whylen, "kind: unknown kind '%.32s'", sc.kind);
		return UCR_EINVAL;
	}
	if (limit > UCR_PAGE_MAXRECORDS) {
		snprintf(why, whylen,
		    "limit: %u records, over the %d a page "
		    "holds",
		    limit, UCR_PAGE_MAXRECORDS);
		return UCR_EINVAL;
	}
	if (!key_ok(sc.prefix)) {
		snprintf(why, whylen,
		    "prefix: not a record key (at most %d "
		    "bytes, no control characters)",
		    UCR_PAGE_MAXKEY);
		return UCR_EINVAL;
	}
	if (!key_ok(sc.after) ||
	    (*sc.after && kind_part(sc.after, &len, &olen) == NULL)) {
		snprintf(why, whylen,
		    "after: not a record key "
		    "(OWNER/KIND/ID, at most %d bytes)",
		    UCR_PAGE_MAXKEY);
		return UCR_EINVAL;
	}
	sc.p = p;
	sc.kindlen = strlen(sc.kind);
	sc.plen = strlen(sc.prefix);
	from = strcmp(sc.after, sc.prefix) > 0 ? sc.after : sc.prefix;
	rc = ucr_store_foreach_record_range(s, *from ? from : NULL, NULL,
	    scan_cb, &sc);
	if (rc == 0 && sc.rc != 0)
		rc = sc.rc;
	if (rc == 0 && p->n > 0 &&
	    (p->recs = malloc(p->n * sizeof(*p->recs))) == NULL)
		rc = UCR_ENOMEM;
	if (rc != 0) {
		snprintf(why, whylen, "cannot read the records: %s",
		    ucr_strerror(rc));
		free(sc.off);
		ucr_page_free(p);
		return rc;
	}
	for (i = 0; i < p->n; i++) {
		p->vr[i].record.data = p->mem + sc.off[i];
		p->vr[i].author.data = p->mem + sc.off[i] + p->vr[i].record.len;
		p->recs[i] = &p->vr[i];
	}
	free(sc.off);
	return 0;
}

void
ucr_page_free(struct ucr_page *p)
{
	free(p->recs);
	free(p->vr);
	free(p->mem);
	memset(p, 0, sizeof(*p));
}

const char *const ucr_change_kinds[UCR_CHANGE_NKINDS] = {"target", "measure",
    "baseline", "project", "network", "group", "meeting", "decision",
    "indicator", "other", "deleted"};

struct changed {
	uint64_t since;
	uint64_t *counts;
};

int
ucr_change_kind(const char *key, int tombstone)
{
	const char *k;
	size_t i, len, olen;

	if (tombstone)
		return UCR_CHANGE_NKINDS - 1;
	if ((k = kind_part(key, &len, &olen)) == NULL)
		return UCR_CHANGE_NKINDS - 2;
	for (i = 0; i < UCR_CHANGE_NKINDS - 2; i++)
		if (strlen(ucr_change_kinds[i]) == len &&
		    strncmp(k, ucr_change_kinds[i], len) == 0)
			return (int)i;
	return UCR_CHANGE_NKINDS - 2;
}

static int
changed_cb(const struct ucr_rec *r, char *seek, size_t seeklen, void *arg)
{
	struct changed *ch = arg;
	int t;

	(void)seek;
	(void)seeklen;
	if (r->time < ch->since)
		return 0;
	if ((t = ucr_store_tombstone(r->bytes, r->len)) < 0)
		return 0; /* malformed: a decode would fail too */
	ch->counts[ucr_change_kind(r->key, t)]++;
	return 0;
}

int
ucr_records_changed_scan(struct ucr_store *s, uint64_t since,
    uint64_t counts[UCR_CHANGE_NKINDS])
{
	struct changed ch;

	memset(counts, 0, UCR_CHANGE_NKINDS * sizeof(*counts));
	ch.since = since;
	ch.counts = counts;
	return ucr_store_foreach_record_range(s, NULL, NULL, changed_cb, &ch);
}

/* HLC times carry milliseconds in their upper 48 bits. */
#define DAY_MS 86400000ULL

int
ucr_records_changed(struct ucr_store *s, uint64_t since,
    uint64_t counts[UCR_CHANGE_NKINDS])
{
	uint64_t ms = since >> 16;

	/* the start of a day: the index counts by day */
	if ((since & 0xffff) == 0 && ms % DAY_MS == 0 &&
	    ms / DAY_MS <= UINT32_MAX &&
	    ucr_store_changes(s, (uint32_t)(ms / DAY_MS), counts) == 0)
		return 0;
	return ucr_records_changed_scan(s, since, counts);
}

int
ucr_records_changed_json(const uint64_t counts[UCR_CHANGE_NKINDS], char *buf,
    size_t len)
{
	size_t i, off = 0;
	int n;

	for (i = 0; i < UCR_CHANGE_NKINDS; i++) {
		n = snprintf(buf + off, len - off, "%s\"%s\":%llu",
		    i ? "," : "{", ucr_change_kinds[i],
		    (unsigned long long)counts[i]);
		if (n < 0 || (size_t)n >= len - off)
			return UCR_ETOOBIG;
		off += (size_t)n;
	}
	if (off + 2 > len)
		return UCR_ETOOBIG;
	memcpy(buf + off, "}", 2);
	return 0;
}
