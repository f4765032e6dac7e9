/*
 * view_load.c: load a store's current records, heads and quarantine and
 * hand them to the pure fold (view.c). The only part of the view that
 * touches the store.
 *
 * Measurements are keyed <owner>/measure/<kpi>/..., so the records
 * database in key order is an index by owner and indicator. The loader
 * reads in two passes: every record but the measurements (each
 * <owner>/measure/ range is skipped with one cursor seek), then, by prefix
 * scans, the measurements of the indicators the targets follow and of the
 * population KPI, for every owner that holds measurements. The two
 * figures that need every measurement come from the store's view index.
 * Whatever the fold comes to use of the measurements must be loaded here:
 * kpis_needed() is the list.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "roster.h"
#include "view.h"

struct loaded {
	struct ucr_view_input in;
	uint8_t author[UCR_PK_LEN];
	uint8_t *bytes; /* the encoded record, when keep_bytes */
	size_t len;
	uint8_t hash[UCR_HASH_LEN]; /* of the stored bytes (adoption) */
	int has_hash;
};

struct who {
	uint8_t pk[UCR_PK_LEN];
	char code[16];
};

struct qitem {
	struct ucr_view_quarantine q;
	uint8_t author[UCR_PK_LEN];
	int has_author;
	char *reason;
};

#define NCODES (UCR_NMUNICIPALITIES + UCR_MAX_MEMBERS)

struct load {
	struct loaded *recs;
	size_t nrecs, caprecs;
	struct ucr_head *heads;
	size_t nheads, capheads;
	struct qitem *qs;
	size_t nqs, capqs;
	struct who *who;
	size_t nwho, capwho;
	char **owners; /* owners holding measurements, in key order */
	size_t nowners, capowners;
	char **pfx; /* pass 2: <owner>/measure/<kpi>/, sorted */
	size_t npfx, cappfx, ipfx;
	int keep_bytes; /* for a ViewInputs message */
	/* What the fold gets besides the records (view_load). */
	struct ucr_view_params p;
	/*
	 * The codes of the per-municipality figures: the six defaults first
	 * (indexes 0..5, what a ViewInputs reader of the previous release
	 * reads), then the other members (docs/view.md).
	 */
	char code[NCODES][8];
	const char *codes[NCODES];
	size_t ncodes;
	uint64_t last[NCODES];
	uint64_t contact[NCODES]; /* hub's last contact, ms */
	unsigned followup[NCODES];
	struct ucr_view_input *in;
	struct ucr_view_quarantine *qv;
};

/* Plain realloc growth for the loader's temporary arrays. */
static int
grow(void **arr, size_t *cap, size_t n, size_t sz)
{
	void *p;
	size_t nc;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 64;
	if ((p = realloc(*arr, nc * sz)) == NULL)
		return UCR_ENOMEM;
	*arr = p;
	*cap = nc;
	return 0;
}

static int
load_quarantine_item(struct load *l, uint64_t time, const char *reason,
    const uint8_t *author, uint64_t seq)
{
	struct qitem *q;

	if (grow((void **)&l->qs, &l->capqs, l->nqs, sizeof(*l->qs)) != 0)
		return UCR_ENOMEM;
	q = &l->qs[l->nqs];
	memset(q, 0, sizeof(*q));
	if ((q->reason = strdup(reason ? reason : "")) == NULL)
		return UCR_ENOMEM;
	q->q.time = time;
	q->q.seq = seq;
	if (author != NULL) {
		memcpy(q->author, author, UCR_PK_LEN);
		q->has_author = 1;
	}
	l->nqs++;
	return 0;
}

static int
load_record(const struct ucr_rec *r, void *ctx)
{
	struct load *l = ctx;
	Ucr__Record *rec;
	struct loaded *x;

	if (ucr_record_decode(&rec, r->bytes, r->len) != 0) {
		char why[300];

		snprintf(why, sizeof(why), "record %s: undecodable, skipped",
		    r->key);
		return load_quarantine_item(l, r->time, why, r->author, r->seq);
	}
	if (rec->tombstone) {
		ucr__record__free_unpacked(rec, NULL);
		return 0;
	}
	if (grow((void **)&l->recs, &l->caprecs, l->nrecs, sizeof(*l->recs)) !=
	    0) {
		ucr__record__free_unpacked(rec, NULL);
		return UCR_ENOMEM;
	}
	x = &l->recs[l->nrecs++];
	memset(x, 0, sizeof(*x));
	if (l->keep_bytes) {
		if ((x->bytes = malloc(r->len ? r->len : 1)) == NULL) {
			l->nrecs--;
			ucr__record__free_unpacked(rec, NULL);
			return UCR_ENOMEM;
		}
		memcpy(x->bytes, r->bytes, r->len);
		x->len = r->len;
	}
	x->in.record = rec;
	x->in.seq = r->seq;
	x->in.time = r->time;
	if (r->author != NULL)
		memcpy(x->author, r->author, UCR_PK_LEN);
	if (r->hash != NULL) {
		memcpy(x->hash, r->hash, sizeof(x->hash));
		x->has_hash = 1;
	}
	return 0;
}

/* Pass 1: every record but the measurements, whose ranges are skipped. */
static int
load_nonmeasure(const struct ucr_rec *r, char *seek, size_t seeklen, void *ctx)
{
	struct load *l = ctx;
	const char *sl = strchr(r->key, '/');
	int olen;

	if (sl == NULL || strncmp(sl + 1, "measure/", 8) != 0)
		return load_record(r, ctx);
	olen = (int)(sl - r->key);
	if (grow((void **)&l->owners, &l->capowners, l->nowners,
		sizeof(*l->owners)) != 0 ||
	    (l->owners[l->nowners] = strndup(r->key, (size_t)olen)) == NULL)
		return UCR_ENOMEM;
	l->nowners++;
	/* '0' follows '/': the first key after <owner>/measure/... */
	snprintf(seek, seeklen, "%.*s/measure0", olen, r->key);
	return UCR_STORE_SEEK;
}

/* Pass 2: the records under the prefixes l->pfx, seeking from one to the
   next. */
static int
load_prefixed(const struct ucr_rec *r, char *seek, size_t seeklen, void *ctx)
{
	struct load *l = ctx;

	while (l->ipfx < l->npfx) {
		const char *p = l->pfx[l->ipfx];
		int c = strncmp(r->key, p, strlen(p));

		if (c == 0)
			return load_record(r, ctx);
		if (c < 0) {
			snprintf(seek, seeklen, "%s", p);
			return UCR_STORE_SEEK;
		}
		l->ipfx++;
	}
	return UCR_STORE_STOP;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The indicators whose measurements the fold reads: those of the targets
 * (series, baseline, latest, the regional figures of the priorities) and
 * the population KPI (weights). Builds l->pfx: every owner × indicator.
 */
static int
kpis_needed(struct load *l)
{
	const char **k = NULL;
	size_t nk = 0, capk = 0, i, j;
	int rc = UCR_ENOMEM;

	if (grow((void **)&k, &capk, nk, sizeof(*k)) != 0)
		return UCR_ENOMEM;
	k[nk++] = UCR_VIEW_POPULATION_KPI;
	for (i = 0; i < l->nrecs; i++) {
		const Ucr__Record *r = l->recs[i].in.record;

		if (r->body_case != UCR__RECORD__BODY_TARGET ||
		    r->target->indicator == NULL ||
		    *r->target->indicator == '\0')
			continue;
		if (grow((void **)&k, &capk, nk, sizeof(*k)) != 0)
			goto leave;
		k[nk++] = r->target->indicator;
	}
	for (i = 0; i < l->nowners; i++)
		for (j = 0; j < nk; j++) {
			char *p;

			if (grow((void **)&l->pfx, &l->cappfx, l->npfx,
				sizeof(*l->pfx)) != 0 ||
			    asprintf(&p, "%s/measure/%s/", l->owners[i], k[j]) <
				0)
				goto leave;
			l->pfx[l->npfx++] = p;
		}
	if (l->npfx > 1)
		qsort(l->pfx, l->npfx, sizeof(*l->pfx), str_cmp);
	/* Duplicates (two targets on one indicator) go. */
	for (i = 0, j = 0; i < l->npfx; i++) {
		if (j > 0 && strcmp(l->pfx[j - 1], l->pfx[i]) == 0) {
			free(l->pfx[i]);
			continue;
		}
		l->pfx[j++] = l->pfx[i];
	}
	l->npfx = j;
	rc = 0;
leave:
	free(k);
	return rc;
}

static int
load_head(const struct ucr_head *h, void *ctx)
{
	struct load *l = ctx;

	if (grow((void **)&l->heads, &l->capheads, l->nheads,
		sizeof(*l->heads)) != 0)
		return UCR_ENOMEM;
	l->heads[l->nheads++] = *h;
	return 0;
}

static int
load_quarantine(const struct ucr_quarantine *q, void *ctx)
{
	return load_quarantine_item(ctx, q->time, q->reason, q->author, q->seq);
}

static const char *
who_find(const struct load *l, const uint8_t *pk)
{
	size_t i;

	for (i = 0; i < l->nwho; i++)
		if (memcmp(l->who[i].pk, pk, UCR_PK_LEN) == 0)
			return l->who[i].code;
	return NULL;
}

static int
who_add(struct load *l, const uint8_t *pk, const char *code)
{
	if (who_find(l, pk) != NULL)
		return 0;
	if (grow((void **)&l->who, &l->capwho, l->nwho, sizeof(*l->who)) != 0)
		return UCR_ENOMEM;
	memcpy(l->who[l->nwho].pk, pk, UCR_PK_LEN);
	snprintf(l->who[l->nwho].code, sizeof(l->who[0].code), "%s", code);
	l->nwho++;
	return 0;
}

/*
 * Author -> municipality: roster first (the region's word), then the
 * store's own identity, then the owner of records the author wrote (the
 * store admitted them only from their owner).
 */
static int
load_authors(struct load *l, struct ucr_store *s)
{
	uint8_t me[UCR_PK_LEN];
	uint64_t epoch;
	char owner[32];
	size_t i;
	int rc;

	for (i = 0; i < l->nrecs; i++) {
		struct ucr_roster_entry e;

		if (ucr_roster_from_record(&e, l->recs[i].in.record) == 0 &&
		    (rc = who_add(l, e.pk, e.code)) != 0)
			return rc;
	}
	if (ucr_store_identity(s, me, &epoch, owner, sizeof(owner)) == 0 &&
	    *owner && (rc = who_add(l, me, owner)) != 0)
		return rc;
	for (i = 0; i < l->nrecs; i++)
		if ((rc = who_add(l, l->recs[i].author,
			 l->recs[i].in.record->owner)) != 0)
			return rc;
	return 0;
}

/* The codes of the figures: the six defaults, then the other members of
   the records loaded. */
static int
load_codes(struct load *l)
{
	struct ucr_view_members *ms;
	size_t i;

	if ((ms = malloc(sizeof(*ms))) == NULL)
		return UCR_ENOMEM;
	ucr_view_members_init(ms);
	for (i = 0; i < l->nrecs; i++)
		ucr_view_members_add(ms, l->recs[i].in.record);
	ucr_view_members_finish(ms);
	l->ncodes = 0;
	for (i = 0; i < UCR_NMUNICIPALITIES; i++)
		snprintf(l->code[l->ncodes++], sizeof(l->code[0]), "%s",
		    ucr_municipalities[i].code);
	for (i = 0; i < ms->n; i++)
		if (ucr_municipality_find(ms->m[i].code) == NULL)
			snprintf(l->code[l->ncodes++], sizeof(l->code[0]), "%s",
			    ms->m[i].code);
	for (i = 0; i < l->ncodes; i++)
		l->codes[i] = l->code[i];
	free(ms);
	return 0;
}

static int
code_index(const struct load *l, const char *code)
{
	size_t i;

	for (i = 0; code != NULL && i < l->ncodes; i++)
		if (strcmp(l->codes[i], code) == 0)
			return (int)i;
	return -1;
}

/* Indexed: the records the fold needs and the store's view index. */
static int
load_indexed(struct load *l, struct ucr_store *s, uint64_t now_hlc,
    struct ucr_view_params *p, unsigned *followup)
{
	time_t secs = (time_t)((now_hlc >> 16) / 1000);
	struct tm tm;
	uint64_t live;
	int rc;

	/* The fold leaves out measurements of years after the view's. */
	if (gmtime_r(&secs, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	/* Is there an index? (Its figures are read once the members are
	   known.) */
	if ((rc = ucr_store_view_index(s, &live, NULL, 0,
		 (unsigned)tm.tm_year + 1900, followup)) != 0)
		return rc;
	if ((rc = ucr_store_foreach_record_range(s, NULL, NULL, load_nonmeasure,
		 l)) != 0 ||
	    (rc = kpis_needed(l)) != 0)
		return rc;
	if (l->npfx > 0 &&
	    (rc = ucr_store_foreach_record_range(s, l->pfx[0], NULL,
		 load_prefixed, l)) != 0)
		return rc;
	if ((rc = load_codes(l)) != 0 ||
	    (rc = ucr_store_view_index(s, &live, l->codes, l->ncodes,
		 (unsigned)tm.tm_year + 1900, followup)) != 0)
		return rc;
	p->last_followup = followup;
	p->has_records = 1;
	p->records = (size_t)live;
	return 0;
}

/*
 * Read the fold's inputs into l: l->in (l->nrecs), l->p (with last sync,
 * quarantine and, when indexed, the index figures). Indexed unless the
 * store has no view index or indexed is 0: then every record.
 */
static int
view_load(struct load *l, struct ucr_store *s, uint64_t now_hlc, int indexed)
{
	size_t i;
	int rc = UCR_ENOTFOUND, m;

	if (indexed &&
	    (rc = load_indexed(l, s, now_hlc, &l->p, l->followup)) != 0 &&
	    rc != UCR_ENOTFOUND)
		return rc;
	if (rc == UCR_ENOTFOUND &&
	    ((rc = ucr_store_foreach_record(s, "", load_record, l)) != 0 ||
		(rc = load_codes(l)) != 0))
		return rc;
	if ((rc = ucr_store_foreach_head(s, load_head, l)) != 0 ||
	    (rc = ucr_store_foreach_quarantine(s, load_quarantine, l)) != 0 ||
	    (rc = load_authors(l, s)) != 0)
		return rc;
	for (i = 0; i < l->nheads; i++) {
		const char *code = who_find(l, l->heads[i].author);

		if (l->heads[i].seq == 0 || (m = code_index(l, code)) < 0)
			continue;
		if (l->heads[i].time > l->last[m])
			l->last[m] = l->heads[i].time;
	}
	if ((l->nrecs && (l->in = calloc(l->nrecs, sizeof(*l->in))) == NULL) ||
	    (l->nqs && (l->qv = calloc(l->nqs, sizeof(*l->qv))) == NULL))
		return UCR_ENOMEM;
	for (i = 0; i < l->nrecs; i++) {
		l->in[i] = l->recs[i].in;
		l->in[i].author = l->recs[i].author;
		l->in[i].hash = l->recs[i].has_hash ? l->recs[i].hash : NULL;
	}
	/* The hub's last contact with each municipality's node: meta
	   "contact/<code>", 8 bytes big-endian ms, written by the hub. */
	for (m = 0; m < (int)l->ncodes; m++) {
		char name[32];
		uint8_t b[8];
		size_t len = 0;
		int k;

		snprintf(name, sizeof(name), "contact/%s", l->codes[m]);
		if (ucr_store_meta_get(s, name, b, sizeof(b), &len) != 0 ||
		    len != sizeof(b))
			continue;
		for (k = 0; k < 8; k++)
			l->contact[m] = l->contact[m] << 8 | b[k];
		l->p.last_contact_ms = l->contact;
	}
	for (i = 0; i < l->nqs; i++) {
		l->qv[i] = l->qs[i].q;
		l->qv[i].reason = l->qs[i].reason;
		l->qv[i].municipality =
		    l->qs[i].has_author ? who_find(l, l->qs[i].author) : NULL;
	}
	l->p.now = now_hlc;
	l->p.codes = l->codes;
	l->p.ncodes = l->ncodes;
	l->p.last_sync = l->last;
	l->p.quarantine = l->qv;
	l->p.nquarantine = l->nqs;
	return 0;
}

static void
load_free(struct load *l)
{
	size_t i;

	for (i = 0; i < l->nrecs; i++) {
		ucr__record__free_unpacked((Ucr__Record *)l->recs[i].in.record,
		    NULL);
		free(l->recs[i].bytes);
	}
	for (i = 0; i < l->nqs; i++)
		free(l->qs[i].reason);
	free(l->recs);
	free(l->heads);
	free(l->qs);
	free(l->who);
	for (i = 0; i < l->nowners; i++)
		free(l->owners[i]);
	free(l->owners);
	for (i = 0; i < l->npfx; i++)
		free(l->pfx[i]);
	free(l->pfx);
	free(l->in);
	free(l->qv);
}

static int
view_build(struct ucr_view **out, struct ucr_store *s, uint64_t now_hlc,
    int stale_after_s, int indexed)
{
	struct load l = {0};
	int rc;

	*out = NULL;
	if ((rc = view_load(&l, s, now_hlc, indexed)) == 0) {
		l.p.stale_after_s = stale_after_s;
		rc = ucr_view_fold(out, l.in, l.nrecs, &l.p);
	}
	load_free(&l);
	return rc;
}

int
ucr_view_build(struct ucr_view **out, struct ucr_store *s, uint64_t now_hlc,
    int stale_after_s)
{
	return view_build(out, s, now_hlc, stale_after_s, 1);
}

int
ucr_view_build_all(struct ucr_view **out, struct ucr_store *s, uint64_t now_hlc,
    int stale_after_s)
{
	return view_build(out, s, now_hlc, stale_after_s, 0);
}

/* ------------------------------------------------------------ the wire */

int
ucr_view_load_packed(uint8_t **out, size_t *outlen, struct ucr_store *s,
    uint64_t now_hlc)
{
	Ucr__ViewInputs vi = UCR__VIEW_INPUTS__INIT;
	Ucr__ViewRecord *vr = NULL, **vrp = NULL;
	Ucr__ViewQuarantine *vq = NULL, **vqp = NULL;
	Ucr__ViewCode vc[NCODES], *vcp[NCODES];
	uint32_t fu[UCR_NMUNICIPALITIES];
	struct load l = {0};
	size_t i, n;
	int rc, m;

	*out = NULL;
	*outlen = 0;
	l.keep_bytes = 1;
	if ((rc = view_load(&l, s, now_hlc, 1)) != 0)
		goto leave;
	rc = UCR_ENOMEM;
	if ((l.nrecs &&
		((vr = calloc(l.nrecs, sizeof(*vr))) == NULL ||
		    (vrp = calloc(l.nrecs, sizeof(*vrp))) == NULL)) ||
	    (l.nqs &&
		((vq = calloc(l.nqs, sizeof(*vq))) == NULL ||
		    (vqp = calloc(l.nqs, sizeof(*vqp))) == NULL)))
		goto leave;
	for (i = 0; i < l.nrecs; i++) {
		ucr__view_record__init(&vr[i]);
		vr[i].record.data = l.recs[i].bytes;
		vr[i].record.len = l.recs[i].len;
		vr[i].author.data = l.recs[i].author;
		vr[i].author.len = UCR_PK_LEN;
		vr[i].seq = l.recs[i].in.seq;
		vr[i].time = l.recs[i].in.time;
		vrp[i] = &vr[i];
	}
	for (i = 0; i < l.nqs; i++) {
		ucr__view_quarantine__init(&vq[i]);
		vq[i].time = l.qv[i].time;
		vq[i].reason = (char *)l.qv[i].reason;
		vq[i].municipality =
		    (char *)(l.qv[i].municipality ? l.qv[i].municipality : "");
		vq[i].seq = l.qv[i].seq;
		vqp[i] = &vq[i];
	}
	vi.n_records = l.nrecs;
	vi.records = vrp;
	/* The six defaults are l.codes[0..5] (load_codes). */
	vi.n_last_sync = UCR_NMUNICIPALITIES;
	vi.last_sync = l.last;
	for (i = 0; i < l.ncodes; i++) {
		ucr__view_code__init(&vc[i]);
		vc[i].code = (char *)l.codes[i];
		vc[i].last_sync = l.last[i];
		vc[i].last_followup =
		    l.p.last_followup != NULL ? l.followup[i] : 0;
		vc[i].last_contact_ms =
		    l.p.last_contact_ms != NULL ? l.contact[i] : 0;
		vcp[i] = &vc[i];
	}
	vi.n_codes = l.ncodes;
	vi.codes = vcp;
	vi.n_quarantine = l.nqs;
	vi.quarantine = vqp;
	if (l.p.last_followup != NULL) {
		for (m = 0; m < UCR_NMUNICIPALITIES; m++)
			fu[m] = l.followup[m];
		vi.n_last_followup = UCR_NMUNICIPALITIES;
		vi.last_followup = fu;
	}
	vi.has_records = l.p.has_records;
	vi.record_count = l.p.records;
	if (l.p.last_contact_ms != NULL) {
		vi.n_last_contact_ms = UCR_NMUNICIPALITIES;
		vi.last_contact_ms = l.contact;
	}
	n = ucr__view_inputs__get_packed_size(&vi);
	if ((*out = malloc(n ? n : 1)) == NULL)
		goto leave;
	*outlen = ucr__view_inputs__pack(&vi, *out);
	rc = 0;
leave:
	free(vr);
	free(vrp);
	free(vq);
	free(vqp);
	load_free(&l);
	return rc;
}

int
ucr_view_fold_packed(struct ucr_view **out, const uint8_t *buf, size_t len,
    uint64_t now_hlc, int stale_after_s)
{
	Ucr__ViewInputs *vi;
	struct ucr_view_input *in = NULL;
	struct ucr_view_quarantine *qv = NULL;
	struct ucr_view_params p = {0};
	struct codes {
		const char *code[NCODES];
		uint64_t last[NCODES], contact[NCODES];
		unsigned fu[NCODES];
	} *cs = NULL;
	uint8_t(*hashes)[UCR_HASH_LEN] = NULL;
	size_t i, n = 0, nc;
	int rc = UCR_ENOMEM;

	*out = NULL;
	if ((vi = ucr__view_inputs__unpack(NULL, len, buf)) == NULL)
		return UCR_EPROTO;
	if (vi->n_last_sync != UCR_NMUNICIPALITIES ||
	    (vi->n_last_followup != 0 &&
		vi->n_last_followup != UCR_NMUNICIPALITIES) ||
	    (vi->n_last_contact_ms != 0 &&
		vi->n_last_contact_ms != UCR_NMUNICIPALITIES) ||
	    vi->n_codes > NCODES) {
		rc = UCR_EPROTO;
		goto leave;
	}
	if ((cs = calloc(1, sizeof(*cs))) == NULL)
		goto leave;
	/* Per code (this release's daemon), else the six by index. */
	nc = vi->n_codes > 0 ? vi->n_codes : UCR_NMUNICIPALITIES;
	for (i = 0; i < nc; i++) {
		if (vi->n_codes > 0) {
			cs->code[i] = vi->codes[i]->code;
			cs->last[i] = vi->codes[i]->last_sync;
			cs->fu[i] = vi->codes[i]->last_followup;
			cs->contact[i] = vi->codes[i]->last_contact_ms;
			continue;
		}
		cs->code[i] = ucr_municipalities[i].code;
		cs->last[i] = vi->last_sync[i];
		cs->fu[i] = vi->n_last_followup ? vi->last_followup[i] : 0;
		cs->contact[i] =
		    vi->n_last_contact_ms ? vi->last_contact_ms[i] : 0;
	}
	if ((vi->n_records &&
		((in = calloc(vi->n_records, sizeof(*in))) == NULL ||
		    (hashes = calloc(vi->n_records, sizeof(*hashes))) ==
			NULL)) ||
	    (vi->n_quarantine &&
		(qv = calloc(vi->n_quarantine, sizeof(*qv))) == NULL))
		goto leave;
	for (i = 0; i < vi->n_records; i++) {
		const Ucr__ViewRecord *r = vi->records[i];
		Ucr__Record *rec;

		if (ucr_record_decode(&rec, r->record.data, r->record.len) !=
		    0) {
			rc = UCR_EPROTO;
			goto leave;
		}
		in[n].record = rec;
		in[n].author =
		    r->author.len == UCR_PK_LEN ? r->author.data : NULL;
		in[n].seq = r->seq;
		in[n].time = r->time;
		/* the bytes as stored: their hash is the stored one */
		ucr_hash(hashes[n], r->record.data, r->record.len);
		in[n].hash = hashes[n];
		n++;
	}
	for (i = 0; i < vi->n_quarantine; i++) {
		qv[i].time = vi->quarantine[i]->time;
		qv[i].reason = vi->quarantine[i]->reason;
		qv[i].municipality = *vi->quarantine[i]->municipality
		    ? vi->quarantine[i]->municipality
		    : NULL;
		qv[i].seq = vi->quarantine[i]->seq;
	}
	p.codes = cs->code;
	p.ncodes = nc;
	if (vi->n_last_followup == UCR_NMUNICIPALITIES)
		p.last_followup = cs->fu;
	p.has_records = vi->has_records;
	p.records = (size_t)vi->record_count;
	p.now = now_hlc;
	p.stale_after_s = stale_after_s;
	p.last_sync = cs->last;
	if (vi->n_last_contact_ms == UCR_NMUNICIPALITIES)
		p.last_contact_ms = cs->contact;
	p.quarantine = qv;
	p.nquarantine = vi->n_quarantine;
	rc = ucr_view_fold(out, in, n, &p);
leave:
	for (i = 0; i < n; i++)
		ucr__record__free_unpacked((Ucr__Record *)in[i].record, NULL);
	free(in);
	free(hashes);
	free(qv);
	free(cs);
	ucr__view_inputs__free_unpacked(vi, NULL);
	return rc;
}
