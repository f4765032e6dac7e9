/*
 * fork.c: checking fork evidence (see fork.h and docs/protocol.md).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chain.h"
#include "error.h"
#include "fork.h"
#include "keys.h"
#include "record.h"
#include "ucr.pb-c.h"

static void
fsetwhy(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* Verify one batch alone: against its own first entry's prev. */
static int
verify_alone(const Ucr__Batch *b, const char *region)
{
	Ucr__Entry *e;
	uint8_t prev[32];
	int rc;

	if (b->n_entries == 0 || b->author.len != UCR_PK_LEN ||
	    b->signature.len != UCR_SIG_LEN)
		return UCR_EPROTO;
	if ((rc = ucr_entry_decode(&e, b->entries[0].data,
		 b->entries[0].len)) != 0)
		return rc;
	if (e->prev.len != 32) {
		ucr__entry__free_unpacked(e, NULL);
		return UCR_EPROTO;
	}
	memcpy(prev, e->prev.data, 32);
	ucr__entry__free_unpacked(e, NULL);
	return ucr_batch_verify(b, region, prev, NULL);
}

int
ucr_fork_evidence_check(const uint8_t *held, size_t heldlen,
    const uint8_t *offered, size_t offeredlen, const char *region,
    const uint8_t *author, uint64_t *seq, char *why, size_t whylen)
{
	Ucr__Batch *a = NULL, *b = NULL;
	Ucr__Entry *e = NULL;
	uint8_t ha[32], hb[32];
	uint64_t s, lo, hi;
	int rc;

	if (why && whylen)
		why[0] = '\0';
	a = ucr__batch__unpack(NULL, heldlen, held);
	b = ucr__batch__unpack(NULL, offeredlen, offered);
	if (a == NULL || b == NULL) {
		rc = UCR_EPROTO;
		fsetwhy(why, whylen, "%s batch does not decode",
		    a == NULL ? "held" : "offered");
		goto leave;
	}
	if ((rc = verify_alone(a, region)) != 0) {
		fsetwhy(why, whylen, "held batch: %s", ucr_strerror(rc));
		goto leave;
	}
	if ((rc = verify_alone(b, region)) != 0) {
		fsetwhy(why, whylen, "offered batch: %s", ucr_strerror(rc));
		goto leave;
	}
	if (memcmp(a->author.data, b->author.data, UCR_PK_LEN) != 0 ||
	    (author != NULL && memcmp(a->author.data, author, UCR_PK_LEN)) ||
	    a->epoch != b->epoch) {
		rc = UCR_ENOFORK;
		fsetwhy(why, whylen, "the batches are not of one log%s",
		    author != NULL ? " of this author" : "");
		goto leave;
	}
	/* The same seq in both, different entries. */
	lo = a->first_seq > b->first_seq ? a->first_seq : b->first_seq;
	hi = a->last_seq < b->last_seq ? a->last_seq : b->last_seq;
	for (s = lo; s <= hi && s >= lo; s++) {
		const ProtobufCBinaryData *ea = &a->entries[s - a->first_seq];
		const ProtobufCBinaryData *eb = &b->entries[s - b->first_seq];

		ucr_hash(ha, ea->data, ea->len);
		ucr_hash(hb, eb->data, eb->len);
		if (memcmp(ha, hb, 32) != 0) {
			if (seq)
				*seq = s;
			fsetwhy(why, whylen,
			    "two signed entries at seq %llu differ",
			    (unsigned long long)s);
			rc = 0;
			goto leave;
		}
	}
	/* Offered continues another entry than held's at its seq - 1. */
	if (b->first_seq > a->first_seq && b->first_seq - 1 <= a->last_seq) {
		const ProtobufCBinaryData *ea =
		    &a->entries[b->first_seq - 1 - a->first_seq];

		if ((rc = ucr_entry_decode(&e, b->entries[0].data,
			 b->entries[0].len)) != 0)
			goto leave;
		ucr_hash(ha, ea->data, ea->len);
		if (memcmp(ha, e->prev.data, 32) != 0) {
			if (seq)
				*seq = b->first_seq - 1;
			fsetwhy(why, whylen,
			    "signed entry at seq %llu differs from the one "
			    "the offered batch continues",
			    (unsigned long long)(b->first_seq - 1));
			rc = 0;
			goto leave;
		}
	}
	rc = UCR_ENOFORK;
	fsetwhy(why, whylen, "the batches agree where they meet");
leave:
	if (e)
		ucr__entry__free_unpacked(e, NULL);
	if (a)
		ucr__batch__free_unpacked(a, NULL);
	if (b)
		ucr__batch__free_unpacked(b, NULL);
	return rc;
}
