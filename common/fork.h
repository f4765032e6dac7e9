/*
 * fork.h: checking fork evidence (pure, no I/O).
 *
 * A fork is two different entries of one log (author, epoch) at the same
 * seq, both signed by the author. The evidence is two packed signed
 * batches (docs/protocol.md, "Fork evidence"); anyone holding the author's
 * public key and the region name can check it.
 */
#ifndef UCR_FORK_H
#define UCR_FORK_H

#include <stddef.h>
#include <stdint.h>

/*
 * Check fork evidence: held and offered are packed Ucr__Batch messages.
 * Each must verify alone (its chain from its own first entry's prev, and
 * its signature under region); both must have the same author (equal to
 * author, if not NULL) and epoch; and they must show two different
 * entries at one seq: an entry of each at the same seq with different
 * hashes, or (a batch that continues another history) held's entry at
 * seq offered.first_seq - 1 whose hash is not the prev of offered's first
 * entry. 0 and *seq (may be NULL) the lowest such seq; UCR_EPROTO
 * (undecodable), UCR_EBADSIG, UCR_ECHAIN and the other ucr_batch_verify
 * codes, or UCR_ENOFORK (valid batches that show no fork). why, if not
 * NULL, gets a one-line reason.
 */
int ucr_fork_evidence_check(const uint8_t *held, size_t heldlen,
    const uint8_t *offered, size_t offeredlen, const char *region,
    const uint8_t *author, uint64_t *seq, char *why, size_t whylen);

#endif
