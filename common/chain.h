/*
 * chain.h: log entries, the hash chain and signed batches (pure, no I/O).
 *
 * An entry's hash is BLAKE2b-256 of its encoded bytes. A batch signature
 * covers {author, epoch, last seq, hash of the last entry} under the domain
 * type "batch"; the chain makes that one signature cover every entry of the
 * batch and all history before it. The first seq is deliberately not
 * signed (docs/design.md): any range that ends at a signed seq verifies
 * with that seq's signature, so a relay may cut and join batches freely.
 */
#ifndef UCR_CHAIN_H
#define UCR_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "ucr.pb-c.h"

#define UCR_MAX_BATCH_ENTRIES 10000

/* Encode an entry into a malloc'd buffer; caller frees. */
int ucr_entry_encode(uint8_t **out, size_t *len, uint64_t epoch, uint64_t seq,
    const uint8_t prev[32], uint64_t time, uint32_t kind, const uint8_t *record,
    size_t recordlen);
/* The same encoding into out (NULL: none), which has room for it; its
   length either way. */
size_t ucr_entry_encode_to(uint8_t *out, uint64_t epoch, uint64_t seq,
    const uint8_t prev[32], uint64_t time, uint32_t kind, const uint8_t *record,
    size_t recordlen);
/* Decode; free with ucr__entry__free_unpacked(e, NULL). UCR_EPROTO. */
int ucr_entry_decode(Ucr__Entry **out, const uint8_t *buf, size_t len);

/* The 80-byte message a batch signature covers. */
#define UCR_SIGMSG_LEN 80
void ucr_batch_sigmsg(uint8_t out[UCR_SIGMSG_LEN], const uint8_t author[32],
    uint64_t epoch, uint64_t last, const uint8_t lasthash[32]);

/*
 * Verify a batch against the hash of the entry before its first (zeros
 * for first seq 1): shape, every entry decodes with the batch's epoch and
 * consecutive seqs, each prev matches, and the signature. Returns 0,
 * UCR_EPROTO, UCR_EORDER, UCR_EGAP, UCR_ECHAIN or UCR_EBADSIG. lasthash,
 * if not NULL, gets the hash of the last entry.
 */
__attribute__((warn_unused_result)) int ucr_batch_verify(const Ucr__Batch *b,
    const char *region, const uint8_t prev[32], uint8_t lasthash[32]);

/* Check only the signature of a batch whose last hash is known. */
__attribute__((warn_unused_result)) int ucr_batch_verify_sig(const Ucr__Batch
								 *b,
    const char *region, const uint8_t lasthash[32]);

/*
 * Sign a batch: sets author and signature. Entries, epoch and seqs must be
 * set, and b->signature.data must point at UCR_SIG_LEN writable bytes.
 */
void ucr_batch_sign(Ucr__Batch *b, const struct ucr_key *k, const char *region,
    const uint8_t lasthash[32]);

/*
 * Hybrid logical clock: ms since the epoch << 16 | counter. Both functions
 * saturate at UCR_HLC_MAX; they never wrap.
 */
#define UCR_HLC_MAX UINT64_MAX
#define UCR_DEFAULT_MAX_SKEW 300 /* seconds a time may be ahead of ours */
uint64_t ucr_hlc_next(uint64_t last);
/* Merge a remote time into the clock (receive event). */
uint64_t ucr_hlc_merge(uint64_t last, uint64_t remote);
/* The wall clock as an HLC time (counter 0). */
uint64_t ucr_hlc_now(void);
/* The latest time accepted from elsewhere: skew_s seconds ahead of ours. */
uint64_t ucr_hlc_bound(unsigned skew_s);

#endif
