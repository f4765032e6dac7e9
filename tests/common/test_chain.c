/* test_chain.c: entries, the hash chain and batch signatures (pure). */
#include "storeutil.h"

static struct ucr_key *key, *other;
static Ucr__Batch batch;
static ProtobufCBinaryData ents[4];
static uint8_t sig[UCR_SIG_LEN];
static uint8_t lasthash[32];

/* Build a valid 4-entry batch from seq 1. */
static void
setup(void)
{
	uint8_t prev[32] = {0};
	uint8_t rec[] = {0x0a, 0x01, 'x'};
	int i;

	cr_assert_eq(ucr_crypto_init(), 0);
	cr_assert_eq(ucr_key_generate(&key), 0);
	cr_assert_eq(ucr_key_generate(&other), 0);
	for (i = 0; i < 4; i++) {
		cr_assert_eq(ucr_entry_encode(&ents[i].data, &ents[i].len, 7,
		    i + 1, prev, 1000 + i, 16, rec, sizeof(rec)), 0);
		ucr_hash(prev, ents[i].data, ents[i].len);
	}
	memcpy(lasthash, prev, 32);
	ucr__batch__init(&batch);
	batch.epoch = 7;
	batch.first_seq = 1;
	batch.last_seq = 4;
	batch.n_entries = 4;
	batch.entries = ents;
	batch.signature.data = sig;
	ucr_batch_sign(&batch, key, REGION, lasthash);
}

static void
teardown(void)
{
	int i;

	for (i = 0; i < 4; i++)
		free(ents[i].data);
	ucr_key_free(key);
	ucr_key_free(other);
}

TestSuite(chain, .init = setup, .fini = teardown, .timeout = 30);

Test(chain, valid_batch_verifies)
{
	uint8_t h[32];

	cr_assert_eq(ucr_batch_verify(&batch, REGION, NULL, h), 0);
	cr_assert_eq(memcmp(h, lasthash, 32), 0);
}

Test(chain, flipped_bit_in_entry)
{
	ents[1].data[ents[1].len - 1] ^= 0x01;
	cr_assert_neq(ucr_batch_verify(&batch, REGION, NULL, NULL), 0);
}

Test(chain, flipped_bit_in_last_entry_breaks_signature)
{
	ents[3].data[ents[3].len - 1] ^= 0x01;
	cr_assert_eq(ucr_batch_verify(&batch, REGION, NULL, NULL), UCR_EBADSIG);
}

Test(chain, signature_by_another_key)
{
	ucr_batch_sign(&batch, other, REGION, lasthash);
	batch.author.data = key->pk; /* claims to be key */
	cr_assert_eq(ucr_batch_verify(&batch, REGION, NULL, NULL), UCR_EBADSIG);
}

Test(chain, other_region_refused)
{
	cr_assert_eq(ucr_batch_verify(&batch, "elsewhere", NULL, NULL),
	    UCR_EBADSIG);
}

Test(chain, missing_entry_is_a_gap)
{
	ProtobufCBinaryData three[3] = {ents[0], ents[1], ents[3]};

	batch.entries = three;
	batch.n_entries = 3;
	batch.last_seq = 3;
	cr_assert_eq(ucr_batch_verify(&batch, REGION, NULL, NULL), UCR_EGAP);
	batch.last_seq = 4; /* claims 1..4 with three entries */
	cr_assert_eq(ucr_batch_verify(&batch, REGION, NULL, NULL), UCR_EGAP);
	batch.entries = ents;
}

Test(chain, reordered_entries)
{
	ProtobufCBinaryData t = ents[1];

	ents[1] = ents[2];
	ents[2] = t;
	cr_assert_eq(ucr_batch_verify(&batch, REGION, NULL, NULL), UCR_EORDER);
	ents[2] = ents[1];
	ents[1] = t;
	/* seq 2 then seq 1 */
	t = ents[0];
	ents[0] = ents[1];
	ents[1] = t;
	cr_assert_eq(ucr_batch_verify(&batch, REGION, NULL, NULL), UCR_EORDER);
	t = ents[0];
	ents[0] = ents[1];
	ents[1] = t;
}

Test(chain, wrong_prev_is_broken_chain)
{
	uint8_t bogus[32];

	memset(bogus, 0xab, 32);
	cr_assert_eq(ucr_batch_verify(&batch, REGION, bogus, NULL), UCR_ECHAIN);
}

Test(chain, garbage_and_truncated_entries)
{
	uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff};
	ProtobufCBinaryData save = ents[0];

	ents[0].data = junk;
	ents[0].len = sizeof(junk);
	cr_assert_eq(ucr_batch_verify(&batch, REGION, NULL, NULL), UCR_EPROTO);
	ents[0] = save;
	ents[0].len -= 5; /* truncated */
	cr_assert_neq(ucr_batch_verify(&batch, REGION, NULL, NULL), 0);
	ents[0] = save;
}

Test(chain, reencoded_payload_fails_original_passes)
{
	/*
	 * Protobuf is not canonical: the same entry with a field encoded in a
	 * different (still valid) way decodes to equal values but hashes
	 * differently, so it must fail, while the original bytes pass.
	 */
	Ucr__Entry *e;
	uint8_t *alt;
	size_t n = ents[3].len;

	cr_assert_eq(ucr_entry_decode(&e, ents[3].data, ents[3].len), 0);
	ucr__entry__free_unpacked(e, NULL);
	/* Append a duplicate of field 1 (epoch = 7): last one wins on decode. */
	alt = malloc(n + 2);
	memcpy(alt, ents[3].data, n);
	alt[n] = 0x08;
	alt[n + 1] = 0x07;
	cr_assert_eq(ucr_entry_decode(&e, alt, n + 2), 0);
	cr_assert_eq(e->epoch, 7);
	cr_assert_eq(e->seq, 4);
	ucr__entry__free_unpacked(e, NULL);
	free(ents[3].data);
	ents[3].data = alt;
	ents[3].len = n + 2;
	cr_assert_eq(ucr_batch_verify(&batch, REGION, NULL, NULL), UCR_EBADSIG);
}

Test(chain, hlc_monotonic)
{
	uint64_t a = ucr_hlc_next(0), b = ucr_hlc_next(a), far = a + (1000ull << 16);

	cr_assert_gt(b, a);
	cr_assert_gt(ucr_hlc_next(far), far);
	cr_assert_gt(ucr_hlc_merge(a, far), far);
}
