/*
 * chain.c: log entries, the hash chain, signed batches, the hybrid
 * logical clock.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chain.h"
#include "error.h"
#include "record.h"

static const uint8_t zero_hash[32];

size_t
ucr_entry_encode_to(uint8_t *out, uint64_t epoch, uint64_t seq,
    const uint8_t prev[32], uint64_t time, uint32_t kind, const uint8_t *record,
    size_t recordlen)
{
	Ucr__Entry e = UCR__ENTRY__INIT;

	e.epoch = epoch;
	e.seq = seq;
	e.prev.data = (uint8_t *)prev;
	e.prev.len = 32;
	e.time = time;
	e.kind = kind;
	e.record.data = (uint8_t *)record;
	e.record.len = recordlen;
	return out == NULL ? ucr__entry__get_packed_size(&e)
			   : ucr__entry__pack(&e, out);
}

int
ucr_entry_encode(uint8_t **out, size_t *len, uint64_t epoch, uint64_t seq,
    const uint8_t prev[32], uint64_t time, uint32_t kind, const uint8_t *record,
    size_t recordlen)
{
	size_t n = ucr_entry_encode_to(NULL, epoch, seq, prev, time, kind,
	    record, recordlen);

	if ((*out = malloc(n)) == NULL)
		return UCR_ENOMEM;
	*len = ucr_entry_encode_to(*out, epoch, seq, prev, time, kind, record,
	    recordlen);
	return 0;
}

int
ucr_entry_decode(Ucr__Entry **out, const uint8_t *buf, size_t len)
{
	Ucr__Entry *e;

	*out = NULL;
	if (len > UCR_MAX_RECORD + 256)
		return UCR_ETOOBIG;
	if ((e = ucr__entry__unpack(NULL, len, buf)) == NULL)
		return UCR_EPROTO;
	if (e->prev.len != 32 || e->seq == 0) {
		ucr__entry__free_unpacked(e, NULL);
		return UCR_EPROTO;
	}
	*out = e;
	return 0;
}

static void
put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = v & 0xff;
}

void
ucr_batch_sigmsg(uint8_t out[UCR_SIGMSG_LEN], const uint8_t author[32],
    uint64_t epoch, uint64_t last, const uint8_t lasthash[32])
{
	memcpy(out, author, 32);
	put64(out + 32, epoch);
	put64(out + 40, last);
	memcpy(out + 48, lasthash, 32);
}

int
ucr_batch_verify_sig(const Ucr__Batch *b, const char *region,
    const uint8_t lasthash[32])
{
	uint8_t msg[UCR_SIGMSG_LEN];

	if (b->author.len != UCR_PK_LEN || b->signature.len != UCR_SIG_LEN)
		return UCR_EPROTO;
	ucr_batch_sigmsg(msg, b->author.data, b->epoch, b->last_seq, lasthash);
	return ucr_sig_verify(b->signature.data, b->author.data, region,
	    "batch", msg, sizeof(msg));
}

/* Does seq stand somewhere after position i? Then the batch is reordered,
 * not missing an entry. */
static int
seq_later(const Ucr__Batch *b, size_t i, uint64_t seq)
{
	size_t j;

	for (j = i + 1; j < b->n_entries; j++) {
		Ucr__Entry *e;
		int found;

		if (ucr_entry_decode(&e, b->entries[j].data,
			b->entries[j].len) != 0)
			return 0;
		found = e->seq == seq;
		ucr__entry__free_unpacked(e, NULL);
		if (found)
			return 1;
	}
	return 0;
}

int
ucr_batch_verify(const Ucr__Batch *b, const char *region,
    const uint8_t prev[32], uint8_t lasthash[32])
{
	uint8_t h[32];
	size_t i;
	int rc;

	if (b->author.len != UCR_PK_LEN || b->signature.len != UCR_SIG_LEN ||
	    b->n_entries == 0 || b->n_entries > UCR_MAX_BATCH_ENTRIES ||
	    b->first_seq == 0 || b->last_seq < b->first_seq)
		return UCR_EPROTO;
	if (b->last_seq - b->first_seq + 1 != b->n_entries)
		return UCR_EGAP;
	memcpy(h, prev ? prev : zero_hash, 32);
	for (i = 0; i < b->n_entries; i++) {
		Ucr__Entry *e;

		if ((rc = ucr_entry_decode(&e, b->entries[i].data,
			 b->entries[i].len)) != 0)
			return rc;
		if (e->epoch != b->epoch) {
			ucr__entry__free_unpacked(e, NULL);
			return UCR_EPROTO;
		}
		if (e->seq != b->first_seq + i) {
			ucr__entry__free_unpacked(e, NULL);
			return seq_later(b, i, b->first_seq + i) ? UCR_EORDER
								 : UCR_EGAP;
		}
		rc = memcmp(e->prev.data, h, 32) == 0 ? 0 : UCR_ECHAIN;
		ucr__entry__free_unpacked(e, NULL);
		if (rc != 0)
			return rc;
		ucr_hash(h, b->entries[i].data, b->entries[i].len);
	}
	if ((rc = ucr_batch_verify_sig(b, region, h)) != 0)
		return rc;
	if (lasthash)
		memcpy(lasthash, h, 32);
	return 0;
}

void
ucr_batch_sign(Ucr__Batch *b, const struct ucr_key *k, const char *region,
    const uint8_t lasthash[32])
{
	uint8_t msg[UCR_SIGMSG_LEN];

	b->author.data = (uint8_t *)k->pk;
	b->author.len = UCR_PK_LEN;
	ucr_batch_sigmsg(msg, k->pk, b->epoch, b->last_seq, lasthash);
	ucr_sig_sign(b->signature.data, k, region, "batch", msg, sizeof(msg));
	b->signature.len = UCR_SIG_LEN;
}

static uint64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t
ucr_hlc_now(void)
{
	return wall_ms() << 16;
}

uint64_t
ucr_hlc_bound(unsigned skew_s)
{
	/* the last counter value of the last millisecond allowed */
	return (wall_ms() + (uint64_t)skew_s * 1000) << 16 | 0xffff;
}

/*
 * Saturates at UCR_HLC_MAX instead of wrapping to 0: a wrapped clock would
 * make every later edit lose last-writer-wins. The store never lets a
 * time beyond ucr_hlc_bound() in, so saturation is a last defence.
 */
uint64_t
ucr_hlc_next(uint64_t last)
{
	uint64_t now = ucr_hlc_now();

	if (now > last)
		return now;
	return last == UCR_HLC_MAX ? UCR_HLC_MAX : last + 1;
}

uint64_t
ucr_hlc_merge(uint64_t last, uint64_t remote)
{
	uint64_t t = ucr_hlc_next(last);

	if (remote < t)
		return t;
	return remote == UCR_HLC_MAX ? UCR_HLC_MAX : remote + 1;
}
