/*
 * fuzz_journal.c: a daemon's start on a store whose write journal
 * (write.journal, docs/design.md "Answer after the journal") holds fuzz
 * input: ucr_store_journal_open reads the record, checks it and applies it
 * when it extends the store's own log. The journal is a file the daemon
 * writes itself, but a restored copy or a damaged disk can put anything
 * there, and the daemon must start or refuse with a reason, never crash.
 *
 * The first byte picks how far in the input gets:
 *   0  the rest is the journal file as it is
 *   1  the rest (a request id's length byte, the id, a batch's bytes) in a
 *      well-formed record: this store's epoch, the seqs that follow its
 *      head, the hash right; the batch is the input's
 *   2  the rest is records (each a 2-byte big-endian length and its
 *      bytes), chained from the store's own head and signed with the
 *      store's key: a record the store would have journaled, but of
 *      records from the input
 *
 * Checked beyond the sanitizers: the own log never goes back, and a
 * refused record leaves it as it was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "error.h"
#include "fuzzutil.h"
#include "keys.h"
#include "record.h"

#define JNL_HEAD (8 + 4 + 8 + 8 + 8 + 2)
#define MAXENT 32
#define RUNS_PER_STORE 500 /* then a fresh store: it grows no further */

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

/* A record as the store builds it (store.c, journal_pack). */
static uint8_t *
record(uint64_t epoch, uint64_t first, uint64_t last, const uint8_t *id,
    size_t idlen, const uint8_t *batch, size_t blen, size_t *len)
{
	size_t need = JNL_HEAD + idlen + blen + 32;
	uint8_t *p = malloc(need);

	if (p == NULL)
		abort();
	memcpy(p, "UCRJNL\0\1", 8);
	put32(p + 8, (uint32_t)(idlen + blen));
	put64(p + 12, epoch);
	put64(p + 20, first);
	put64(p + 28, last);
	p[36] = (uint8_t)(idlen >> 8);
	p[37] = (uint8_t)idlen;
	memcpy(p + JNL_HEAD, id, idlen);
	memcpy(p + JNL_HEAD + idlen, batch, blen);
	ucr_hash(p + need - 32, p, need - 32);
	*len = need;
	return p;
}

/* Mode 2: the input's records as the next entries of the own log, signed,
   packed as a batch; NULL when there are none. */
static uint8_t *
own_batch(const struct ucr_head *h, uint64_t epoch, const uint8_t *data,
    size_t len, size_t *blen, uint64_t *last)
{
	ProtobufCBinaryData ents[MAXENT];
	size_t n, i;
	Ucr__Batch *b;
	uint8_t *out = NULL;

	n = fz_entries(ents, MAXENT, epoch, h->seq + 1, h->hash, h->time, data,
	    len);
	if (n == 0)
		return NULL;
	b = fz_batch(fz_node2, epoch, h->seq + 1, ents, n);
	*blen = ucr__batch__get_packed_size(b);
	if ((out = malloc(*blen ? *blen : 1)) == NULL)
		abort();
	ucr__batch__pack(b, out);
	*last = b->last_seq;
	fz_batch_free(b);
	for (i = 0; i < n; i++)
		free(ents[i].data);
	return out;
}

/* The own head (seq 0 when the log is empty). */
static struct ucr_head
own_head(uint64_t *epoch)
{
	struct ucr_head h;
	uint8_t pk[UCR_PK_LEN];
	int rc;

	if (ucr_store_identity(fz_store, pk, epoch, NULL, 0) != 0)
		abort();
	rc = ucr_store_head(fz_store, pk, *epoch, &h);
	if (rc == UCR_ENOTFOUND) {
		memset(&h, 0, sizeof(h));
		rc = 0;
	}
	if (rc != 0)
		abort();
	return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int runs;
	struct ucr_head before, after;
	uint64_t epoch, last;
	uint8_t *file = NULL, *batch = NULL;
	size_t flen = 0, blen = 0, idlen;
	char dir[512], path[600], why[512] = "";
	FILE *f;
	int rc;

	fz_init();
	if (size < 1)
		return 0;
	if (fz_store == NULL || runs++ % RUNS_PER_STORE == 0)
		fz_fresh_node();
	snprintf(dir, sizeof(dir), "%s", fz_node_dir());
	before = own_head(&epoch);
	switch (data[0] % 3) {
	case 0:
		file = malloc(size);
		if (file == NULL)
			abort();
		memcpy(file, data + 1, size - 1);
		flen = size - 1;
		break;
	case 1:
		if (size < 2)
			return 0;
		idlen = data[1] % 33;
		if (idlen > size - 2)
			idlen = size - 2;
		file = record(epoch, before.seq + 1,
		    before.seq + 1 + data[1] / 64, data + 2, idlen,
		    data + 2 + idlen, size - 2 - idlen, &flen);
		break;
	default:
		if ((batch = own_batch(&before, epoch, data + 1, size - 1,
			 &blen, &last)) == NULL)
			return 0;
		file = record(epoch, before.seq + 1, last,
		    (const uint8_t *)"fuzz-request-id", 15, batch, blen, &flen);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, UCR_STORE_JOURNAL);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	if (flen && fwrite(file, 1, flen, f) != flen)
		abort();
	fclose(f);
	free(file);
	free(batch);
	/* the daemon's start: the store opened again, then its journal */
	ucr_store_free(fz_store);
	if (ucr_store_open(&fz_store, dir, 0, 64 << 20) != 0)
		abort();
	ucr_store_set_region(fz_store, FZ_REGION, fz_hub->pk);
	rc = ucr_store_journal_open(fz_store, why, sizeof(why));
	after = own_head(&epoch);
	if (rc == 0)
		snprintf(why, sizeof(why), "own log at seq %llu, was %llu",
		    (unsigned long long)after.seq,
		    (unsigned long long)before.seq);
	if (getenv("FZ_VERBOSE") != NULL)
		fprintf(stderr, "journal: %s: %s\n",
		    rc ? ucr_strerror(rc) : "opened", why);
	if (after.seq < before.seq)
		abort(); /* the own log went back */
	if (rc != 0 && after.seq != before.seq)
		abort(); /* refused, yet the log moved */
	/* the next start sees an applied record as held, never twice */
	if (after.seq != before.seq) {
		ucr_store_free(fz_store);
		if (ucr_store_open(&fz_store, dir, 0, 64 << 20) != 0)
			abort();
		ucr_store_set_region(fz_store, FZ_REGION, fz_hub->pk);
		if (ucr_store_journal_open(fz_store, why, sizeof(why)) != 0 ||
		    own_head(&epoch).seq != after.seq)
			abort();
	}
	return 0;
}
