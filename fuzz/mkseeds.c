/*
 * mkseeds.c: writes the binary seed corpora of fuzz/corpus/ (frames,
 * records and control requests, built and signed with the harnesses'
 * fixed keys). Run from the repository: build-fuzz/fuzz/fuzz_mkseeds
 * fuzz/corpus. The text corpora (import, config) are plain files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "fuzzutil.h"
#include "record.h"
#include "wire.h"

static const char *root;

static void
put(const char *dir, const char *name, uint8_t mode, const uint8_t *buf,
    size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", root, dir, name);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(1);
	}
	if (mode != 0xff)
		fputc(mode, f);
	fwrite(buf, 1, len, f);
	fclose(f);
}

static void
put_frame(const char *dir, const char *name, uint8_t mode, Ucr__Frame *f)
{
	uint8_t *buf;
	size_t len;

	if (ucr_wire_encode(&buf, &len, f) != 0)
		abort();
	put(dir, name, mode, buf, len);
	free(buf);
}

static void
network(uint8_t **out, size_t *len, const char *owner, const char *id)
{
	Ucr__Record r = UCR__RECORD__INIT;
	Ucr__Network n = UCR__NETWORK__INIT;
	char key[64];

	snprintf(key, sizeof(key), "%s/network/%s", owner, id);
	r.key = key;
	r.owner = (char *)owner;
	r.body_case = UCR__RECORD__BODY_NETWORK;
	r.network = &n;
	n.name = "Climate Alliance";
	n.joined = "2009-05-01";
	if (ucr_record_encode(out, len, &r) != 0)
		abort();
}

static void
vision(uint8_t **out, size_t *len)
{
	Ucr__Record r = UCR__RECORD__INIT;
	Ucr__Vision v = UCR__VISION__INIT;

	r.key = "region/vision/vision";
	r.owner = "region";
	r.body_case = UCR__RECORD__BODY_VISION;
	r.vision = &v;
	v.text = "The world's best living environment";
	v.year = 2050;
	if (ucr_record_encode(out, len, &r) != 0)
		abort();
}

/* A frame with a batch of records as log (k, epoch 7) from seq 1. */
static void
batch_frame(const char *dir, const char *name, uint8_t mode,
    const struct ucr_key *k, uint8_t **recs, size_t *lens, size_t n,
    uint32_t kind)
{
	ProtobufCBinaryData ents[8];
	uint8_t prev[32] = {0};
	uint64_t t = (uint64_t)1750000000000ULL << 16;
	Ucr__Frame f = UCR__FRAME__INIT;
	Ucr__Batch *b;
	size_t i;

	for (i = 0; i < n; i++) {
		t = ucr_hlc_next(t);
		if (ucr_entry_encode(&ents[i].data, &ents[i].len, 7, i + 1,
			prev, t, kind, recs[i], lens[i]) != 0)
			abort();
		ucr_hash(prev, ents[i].data, ents[i].len);
	}
	b = fz_batch(k, 7, 1, ents, n);
	f.body_case = UCR__FRAME__BODY_BATCH;
	f.batch = b;
	put_frame(dir, name, mode, &f);
	fz_batch_free(b);
	for (i = 0; i < n; i++)
		free(ents[i].data);
}

/* Records as the harnesses' record mode reads them. */
static void
records(const char *dir, const char *name, uint8_t mode, uint8_t **recs,
    size_t *lens, size_t n)
{
	uint8_t buf[4096];
	size_t len = 0, i;

	for (i = 0; i < n; i++) {
		buf[len++] = (uint8_t)(lens[i] >> 8);
		buf[len++] = (uint8_t)lens[i];
		memcpy(buf + len, recs[i], lens[i]);
		len += lens[i];
	}
	put(dir, name, mode, buf, len);
}

static void
control_seeds(void)
{
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__Query q = UCR__QUERY__INIT;
	Ucr__Put p = UCR__PUT__INIT, p2 = UCR__PUT__INIT, *pp[2];
	Ucr__PutMany many = UCR__PUT_MANY__INIT;
	Ucr__Record *r, *r2;
	uint8_t *rb, buf[4096];
	size_t rl, len;

	network(&rb, &rl, "2480", "N1");
	if (ucr_record_decode(&r, rb, rl) != 0)
		abort();
	free(rb);
	network(&rb, &rl, "2480", "N2");
	if (ucr_record_decode(&r2, rb, rl) != 0)
		abort();
	free(rb);
	p.record = r;
	p.mode = UCR__PUT_MODE__PUT_CREATE;
	req.body_case = UCR__REQUEST__BODY_PUT;
	req.put = &p;
	len = ucr__request__pack(&req, buf);
	put("control", "put", 0xff, buf, len);
	p2.record = r2;
	pp[0] = &p;
	pp[1] = &p2;
	many.puts = pp;
	many.n_puts = 2;
	req.body_case = UCR__REQUEST__BODY_MANY;
	req.many = &many;
	len = ucr__request__pack(&req, buf);
	put("control", "many", 0xff, buf, len);
	req.body_case = UCR__REQUEST__BODY_QUERY;
	req.query = &q;
	q.what = "status";
	len = ucr__request__pack(&req, buf);
	put("control", "status", 0xff, buf, len);
	q.what = "digest";
	len = ucr__request__pack(&req, buf);
	put("control", "digest", 0xff, buf, len);
	q.what = "records";
	q.kind = "network";
	q.prefix = "2480/";
	q.after = "2480/network/N0";
	q.limit = 2;
	len = ucr__request__pack(&req, buf);
	put("control", "records", 0xff, buf, len);
	/* the report's count of what changed since a time */
	q.kind = q.prefix = q.after = "";
	q.limit = 1;
	q.changed_since = 1;
	len = ucr__request__pack(&req, buf);
	put("control", "records-changed", 0xff, buf, len);
	ucr__record__free_unpacked(r, NULL);
	ucr__record__free_unpacked(r2, NULL);
}

int
main(int argc, char **argv)
{
	uint8_t *recs[2], zero[32] = {0};
	size_t lens[2];
	Ucr__Frame f = UCR__FRAME__INIT;

	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_mkseeds CORPUSDIR\n");
		return 2;
	}
	root = argv[1];
	fz_init();

	/* hub_frame */
	network(&recs[0], &lens[0], "2403", "N1");
	network(&recs[1], &lens[1], "2403", "N2");
	batch_frame("hub_frame", "batch-signed", 0, fz_node, recs, lens, 2,
	    UCR__RECORD__BODY_NETWORK);
	batch_frame("hub_frame", "batch-resign", 1, fz_node, recs, lens, 2,
	    UCR__RECORD__BODY_NETWORK);
	records("hub_frame", "records", 2, recs, lens, 2);
	batch_frame("node_relay", "batch-node", 0, fz_node, recs, lens, 2,
	    UCR__RECORD__BODY_NETWORK);
	records("node_relay", "records-node", 4, recs, lens, 2);
	free(recs[0]);
	free(recs[1]);

	/* journal: the node store's own records (2480), a record around a
	   batch of nothing, a torn record */
	network(&recs[0], &lens[0], "2480", "N1");
	network(&recs[1], &lens[1], "2480", "N2");
	records("journal", "own-records", 2, recs, lens, 2);
	free(recs[0]);
	free(recs[1]);
	put("journal", "id-empty-batch", 1,
	    (const uint8_t *)"\x10request-id-16by", 17);
	{
		uint8_t torn[48] = "UCRJNL\0\1";

		put("journal", "torn", 0, torn, sizeof(torn));
	}
	{
		Ucr__Hello h = UCR__HELLO__INIT;
		Ucr__LogHead lh = UCR__LOG_HEAD__INIT, *lhp = &lh;

		h.version = UCR_PROTOCOL_VERSION;
		h.author.data = fz_node->pk;
		h.author.len = 32;
		h.epoch = 7;
		h.head_hash.data = zero;
		h.head_hash.len = 32;
		lh.author.data = fz_hub->pk;
		lh.author.len = 32;
		lh.epoch = 1;
		lh.seq = 1;
		h.holds = &lhp;
		h.n_holds = 1;
		f.body_case = UCR__FRAME__BODY_HELLO;
		f.hello = &h;
		put_frame("hub_frame", "hello", 0, &f);
	}
	{
		Ucr__Fetch fe = UCR__FETCH__INIT;
		Ucr__Ack a = UCR__ACK__INIT;

		fe.author.data = fz_hub->pk;
		fe.author.len = 32;
		fe.from_seq = 1;
		f.body_case = UCR__FRAME__BODY_FETCH;
		f.fetch = &fe;
		put_frame("hub_frame", "fetch", 0, &f);
		a.author.data = fz_node->pk;
		a.author.len = 32;
		a.epoch = 7;
		a.seq = 1;
		f.body_case = UCR__FRAME__BODY_ACK;
		f.ack = &a;
		put_frame("hub_frame", "ack", 0, &f);
	}
	{
		Ucr__RecordQuery rq = UCR__RECORD_QUERY__INIT;

		rq.kind = "roster";
		rq.prefix = "region/";
		rq.after = "region/roster/0";
		rq.limit = 3;
		f.body_case = UCR__FRAME__BODY_RECORD_QUERY;
		f.record_query = &rq;
		put_frame("hub_frame", "record-query", 0, &f);
		/* the report's count of what changed since a time */
		rq.kind = rq.prefix = rq.after = "";
		rq.limit = 1;
		rq.changed_since = 1;
		put_frame("hub_frame", "record-query-changed", 0, &f);
	}

	/* node_relay: a regional record, a checkpoint */
	vision(&recs[0], &lens[0]);
	batch_frame("node_relay", "batch-hub", 1, fz_hub, recs, lens, 1,
	    UCR__RECORD__BODY_VISION);
	records("node_relay", "records-hub", 3, recs, lens, 1);
	free(recs[0]);
	{
		Ucr__CheckpointBody body = UCR__CHECKPOINT_BODY__INIT;
		Ucr__Checkpoint cp = UCR__CHECKPOINT__INIT;
		Ucr__LogHead lh = UCR__LOG_HEAD__INIT, *lhp = &lh;
		uint8_t buf[512], sig[UCR_SIG_LEN];
		size_t len;

		body.hub.data = fz_hub->pk;
		body.hub.len = 32;
		body.time = (uint64_t)1750000000000ULL << 16;
		lh.author.data = fz_node->pk;
		lh.author.len = 32;
		lh.epoch = 7;
		lh.seq = 2;
		lh.hash.data = zero;
		lh.hash.len = 32;
		body.heads = &lhp;
		body.n_heads = 1;
		body.view_digest.data = zero;
		body.view_digest.len = 32;
		len = ucr__checkpoint_body__pack(&body, buf);
		ucr_sig_sign(sig, fz_hub, FZ_REGION, "checkpoint", buf, len);
		cp.body.data = buf;
		cp.body.len = len;
		cp.signature.data = sig;
		cp.signature.len = sizeof(sig);
		f.body_case = UCR__FRAME__BODY_CHECKPOINT;
		f.checkpoint = &cp;
		put_frame("node_relay", "checkpoint", 0, &f);
		put_frame("node_relay", "checkpoint-resign", 1, &f);
	}
	control_seeds();
	return 0;
}
