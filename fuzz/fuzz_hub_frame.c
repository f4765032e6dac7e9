/*
 * fuzz_hub_frame.c: what the hub does with a frame from a node: decode it
 * (common/wire.c) and, for a batch, apply it to a real LMDB store holding
 * a roster (common/store.c), twice in one group (the second time checked
 * ahead on a second thread, as ingest_threads = 2 does); hellos, acks,
 * fetches and record queries read the store as the hub does.
 *
 * The first byte picks how far in the input gets:
 *   0  the frame as it is (signatures must verify: they will not)
 *   1  a batch re-signed by an enrolled node's key (author set to it), so
 *      chain, time, roster, ownership and schema checks are reached
 *   2  the rest is records (2-byte length each), chained into a valid,
 *      signed log of the node and applied
 */
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "error.h"
#include "fuzzutil.h"
#include "records.h"
#include "wire.h"

static int dirty = 1;

/*
 * The batch twice in one group, as the hub with ingest_threads = 2 applies
 * what it received: the first by the usual path, the second checked ahead
 * on the group's second thread (ucr_store_set_precheck). A batch the first
 * time refused wrote nothing, so the second must be refused alike.
 */
static void
apply(const Ucr__Batch *b)
{
	struct ucr_apply_item it[2];
	int rc;

	it[0].batch = it[1].batch = b;
	ucr_store_set_precheck(fz_store, UCR_PRECHECK_WAIT);
	if (ucr_store_apply_group(fz_store, it, 2) != 0)
		return;
	rc = it[0].rc;
	fz_report("batch", rc, it[0].why);
	if (rc == 0 || rc == UCR_EFORK)
		dirty = 1;
	else if (it[1].rc != rc || strcmp(it[1].why, it[0].why) != 0)
		abort(); /* the checks ahead decided otherwise */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Ucr__Frame *f;
	int mode;
	size_t i;

	fz_init();
	if (size < 1)
		return 0;
	mode = data[0] % 3;
	data++;
	size--;
	if (dirty) {
		fz_fresh_hub();
		dirty = 0;
	}
	if (mode == 2) {
		int rc = fz_apply_records(fz_node, data, size);

		if (rc == 0 || rc == UCR_EFORK)
			dirty = 1;
		return 0;
	}
	if (ucr_wire_decode(&f, data, size) != 0)
		return 0;
	(void)ucr_wire_name(f);
	switch (f->body_case) {
	case UCR__FRAME__BODY_BATCH:
		if (mode == 1) {
			Ucr__Batch *b = fz_batch(fz_node, f->batch->epoch,
			    f->batch->first_seq, f->batch->entries,
			    f->batch->n_entries);

			b->last_seq = f->batch->last_seq;
			apply(b);
			fz_batch_free(b);
		} else
			apply(f->batch);
		break;
	case UCR__FRAME__BODY_HELLO: {
		const Ucr__Hello *h = f->hello;
		struct ucr_head head;

		if (h->author.len == 32) {
			(void)ucr_store_head(fz_store, h->author.data, h->epoch,
			    &head);
			(void)ucr_store_log_admissible(fz_store, h->author.data,
			    h->epoch);
		}
		for (i = 0; i < h->n_holds; i++)
			if (h->holds[i]->author.len == 32)
				(void)ucr_store_head(fz_store,
				    h->holds[i]->author.data,
				    h->holds[i]->epoch, &head);
		break;
	}
	case UCR__FRAME__BODY_FETCH: {
		const Ucr__Fetch *fe = f->fetch;
		Ucr__Batch *b;

		if (fe->author.len == 32 && fe->from_seq > 0 &&
		    ucr_store_batch(fz_store, NULL, fe->author.data, fe->epoch,
			fe->from_seq, fe->to_seq, 512 << 10, &b) == 0)
			ucr_batch_free(b);
		break;
	}
	case UCR__FRAME__BODY_RECORD_QUERY: {
		/* as hub/query.c: one page, encoded as the answer */
		const Ucr__RecordQuery *q = f->record_query;
		Ucr__Frame a = UCR__FRAME__INIT;
		Ucr__RecordAnswer ra = UCR__RECORD_ANSWER__INIT;
		struct ucr_page pg;
		char why[512];
		uint8_t *buf;
		size_t len;

		if (ucr_records_page(&pg, fz_store, q->kind, q->prefix,
			q->after, q->limit, why, sizeof(why)) == 0) {
			ra.n_records = pg.n;
			ra.records = pg.recs;
			ra.next = pg.next;
		}
		a.body_case = UCR__FRAME__BODY_RECORD_ANSWER;
		a.record_answer = &ra;
		if (ucr_wire_encode(&buf, &len, &a) == 0)
			free(buf);
		ucr_page_free(&pg);
		break;
	}
	case UCR__FRAME__BODY_ACK: {
		struct ucr_head head;

		if (f->ack->author.len == 32)
			(void)ucr_store_head(fz_store, f->ack->author.data,
			    f->ack->epoch, &head);
		break;
	}
	default:
		break;
	}
	ucr__frame__free_unpacked(f, NULL);
	return 0;
}
