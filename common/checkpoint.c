/* checkpoint.c: checking the hub's signed checkpoints (checkpoint.h). */
#include <stdio.h>
#include <string.h>

#include "chain.h"
#include "checkpoint.h"
#include "error.h"
#include "keys.h"
#include "record.h"

int
ucr_checkpoint_verify(Ucr__CheckpointBody **out, const uint8_t *body,
    size_t len, const uint8_t *sig, size_t siglen, const uint8_t *hub,
    const char *region)
{
	Ucr__CheckpointBody *b;

	*out = NULL;
	if (siglen != UCR_SIG_LEN ||
	    ucr_sig_verify(sig, hub, region, "checkpoint", body, len) != 0)
		return UCR_EBADSIG;
	if ((b = ucr__checkpoint_body__unpack(NULL, len, body)) == NULL)
		return UCR_EPROTO;
	if (b->hub.len != 32 || memcmp(b->hub.data, hub, 32) != 0) {
		ucr__checkpoint_body__free_unpacked(b, NULL);
		return UCR_EPROTO;
	}
	*out = b;
	return 0;
}

int
ucr_checkpoint_follows(const Ucr__CheckpointBody *prev,
    const Ucr__CheckpointBody *next, char *why, size_t whylen)
{
	size_t i, j;
	char an[17];

	if (next->time <= prev->time) {
		snprintf(why, whylen,
		    "checkpoint not newer than the last one "
		    "seen (a replay or a frozen hub)");
		return UCR_EROLLBACK;
	}
	for (i = 0; i < prev->n_heads; i++) {
		const Ucr__LogHead *p = prev->heads[i];
		int found = 0;

		if (p->author.len != 32)
			continue;
		for (j = 0; j < next->n_heads && !found; j++) {
			const Ucr__LogHead *n = next->heads[j];

			if (n->author.len == 32 && n->epoch == p->epoch &&
			    memcmp(n->author.data, p->author.data, 32) == 0) {
				found = 1;
				if (n->seq < p->seq) {
					ucr_hex(an, p->author.data, 8);
					snprintf(why, whylen,
					    "log %s went back from "
					    "seq %llu to %llu",
					    an, (unsigned long long)p->seq,
					    (unsigned long long)n->seq);
					return UCR_EROLLBACK;
				}
			}
		}
		if (!found) {
			ucr_hex(an, p->author.data, 8);
			snprintf(why, whylen,
			    "log %s is missing from the new "
			    "checkpoint",
			    an);
			return UCR_EROLLBACK;
		}
	}
	return 0;
}

int
ucr_checkpoint_against_store(struct ucr_store *s, const uint8_t *hub,
    const char *region, uint64_t *age_ms, size_t *logs_behind, char *why,
    size_t whylen)
{
	uint8_t body[1 << 16], sig[UCR_SIG_LEN];
	size_t len, siglen, i;
	Ucr__CheckpointBody *b;
	uint64_t now;
	int rc;

	*logs_behind = 0;
	*age_ms = 0;
	if ((rc = ucr_store_meta_get(s, "checkpoint", body, sizeof(body),
		 &len)) != 0)
		return rc;
	if ((rc = ucr_store_meta_get(s, "checkpoint-sig", sig, sizeof(sig),
		 &siglen)) != 0)
		return rc;
	if ((rc = ucr_checkpoint_verify(&b, body, len, sig, siglen, hub,
		 region)) != 0) {
		snprintf(why, whylen,
		    "the stored checkpoint fails its signature");
		return rc;
	}
	now = ucr_hlc_next(0) >> 16;
	*age_ms = now > (b->time >> 16) ? now - (b->time >> 16) : 0;
	for (i = 0; i < b->n_heads; i++) {
		const Ucr__LogHead *lh = b->heads[i];
		struct ucr_head h;

		if (lh->author.len != 32)
			continue;
		if (ucr_store_head(s, lh->author.data, lh->epoch, &h) != 0)
			h.seq = 0;
		if (h.seq < lh->seq) {
			char an[17];

			ucr_hex(an, lh->author.data, 8);
			if (*logs_behind == 0)
				snprintf(why, whylen,
				    "log %s held to seq %llu, the "
				    "checkpoint says %llu",
				    an, (unsigned long long)h.seq,
				    (unsigned long long)lh->seq);
			(*logs_behind)++;
		}
	}
	ucr__checkpoint_body__free_unpacked(b, NULL);
	return 0;
}
