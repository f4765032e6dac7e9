/*
 * fuzz_node_relay.c: what a node does with a frame relayed by the hub:
 * decode it; a batch of any author is applied to the node's real store
 * (which holds the hub's log, so the roster); a checkpoint is verified
 * under the hub's key and checked to follow the last one taken.
 *
 * The first byte picks how far in the input gets:
 *   0  the frame as it is
 *   1  a batch re-signed by the hub's key, a checkpoint body re-signed
 *   2  a batch re-signed by node 2403's key
 *   3  the rest is records, chained and signed as the hub's log
 *   4  the rest is records, chained and signed as node 2403's log
 */
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "checkpoint.h"
#include "error.h"
#include "fuzzutil.h"
#include "keys.h"
#include "wire.h"

static int dirty = 1;
/* The last checkpoint the node took: one at the start of time. */
static Ucr__CheckpointBody *prev;

static void
setup_prev(void)
{
	Ucr__CheckpointBody body = UCR__CHECKPOINT_BODY__INIT;
	uint8_t buf[256], sig[UCR_SIG_LEN];
	size_t len;

	if (prev)
		return;
	body.hub.data = fz_hub->pk;
	body.hub.len = 32;
	body.time = (uint64_t)1700000000000ULL << 16;
	len = ucr__checkpoint_body__pack(&body, buf);
	ucr_sig_sign(sig, fz_hub, FZ_REGION, "checkpoint", buf, len);
	if (ucr_checkpoint_verify(&prev, buf, len, sig, sizeof(sig), fz_hub->pk,
		FZ_REGION) != 0)
		abort();
}

static void
checkpoint(const Ucr__Checkpoint *c, int resign)
{
	Ucr__CheckpointBody *next;
	uint8_t sig[UCR_SIG_LEN];
	const uint8_t *s = c->signature.data;
	size_t slen = c->signature.len;
	char why[256];

	if (resign) {
		ucr_sig_sign(sig, fz_hub, FZ_REGION, "checkpoint", c->body.data,
		    c->body.len);
		s = sig;
		slen = sizeof(sig);
	}
	if (ucr_checkpoint_verify(&next, c->body.data, c->body.len, s, slen,
		fz_hub->pk, FZ_REGION) != 0)
		return;
	(void)ucr_checkpoint_follows(prev, next, why, sizeof(why));
	ucr__checkpoint_body__free_unpacked(next, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Ucr__Frame *f;
	int mode, rc;

	fz_init();
	setup_prev();
	if (size < 1)
		return 0;
	mode = data[0] % 5;
	data++;
	size--;
	if (dirty) {
		fz_fresh_node();
		dirty = 0;
	}
	if (mode >= 3) {
		rc = fz_apply_records(mode == 3 ? fz_hub : fz_node, data, size);
		if (rc == 0 || rc == UCR_EFORK)
			dirty = 1;
		return 0;
	}
	if (ucr_wire_decode(&f, data, size) != 0)
		return 0;
	if (f->body_case == UCR__FRAME__BODY_BATCH) {
		Ucr__Batch *b = f->batch;
		size_t applied;
		char why[256] = "";

		if (mode)
			b = fz_batch(mode == 1 ? fz_hub : fz_node,
			    f->batch->epoch, f->batch->first_seq,
			    f->batch->entries, f->batch->n_entries);
		rc = ucr_store_apply(fz_store, b, &applied, why, sizeof(why));
		fz_report("batch", rc, why);
		if (rc == 0 || rc == UCR_EFORK)
			dirty = 1;
		if (mode)
			fz_batch_free(b);
	} else if (f->body_case == UCR__FRAME__BODY_CHECKPOINT)
		checkpoint(f->checkpoint, mode == 1);
	ucr__frame__free_unpacked(f, NULL);
	return 0;
}
