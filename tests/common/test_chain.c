/* test_chain.c: entries, the hash chain and batch signatures (pure). */
#include <sodium.h>

#include "storeutil.h"
#include "wire.h"

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
				 i + 1, prev, 1000 + i, 16, rec, sizeof(rec)),
		    0);
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
	/* Append a duplicate of field 1 (epoch = 7): last one wins on decode.
	 */
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
	uint64_t a = ucr_hlc_next(0), b = ucr_hlc_next(a),
		 far = a + (1000ull << 16);

	cr_assert_gt(b, a);
	cr_assert_gt(ucr_hlc_next(far), far);
	cr_assert_gt(ucr_hlc_merge(a, far), far);
}

/* The worked example of docs/protocol.md §10, byte for byte. */
static void
expect_hex(const uint8_t *got, size_t len, const char *want)
{
	char hex[1024];

	cr_assert_lt(2 * len, sizeof(hex));
	ucr_hex(hex, got, len);
	cr_assert_str_eq(hex, want);
}

Test(chain, protocol_md_worked_example)
{
	Ucr__Record r = UCR__RECORD__INIT;
	Ucr__Network n = UCR__NETWORK__INIT;
	Ucr__Batch b = UCR__BATCH__INIT;
	Ucr__Frame f = UCR__FRAME__INIT;
	ProtobufCBinaryData e;
	struct ucr_key k;
	uint8_t seed[32], pk[32], prev[32] = {0}, h[32], msg[UCR_SIGMSG_LEN];
	uint8_t s[UCR_SIG_LEN], *rec, *ent, *frame;
	size_t rlen, elen, flen;
	char z85[41];
	int i;

	for (i = 0; i < 32; i++)
		seed[i] = i + 1;
	k.sk = sodium_malloc(UCR_SK_LEN);
	cr_assert_not_null(k.sk);
	crypto_sign_seed_keypair(k.pk, k.sk, seed);
	memcpy(pk, k.pk, 32);
	expect_hex(pk, 32,
	    "79b5562e8fe654f94078b112e8a98ba7"
	    "901f853ae695bed7e0e3910bad049664");
	cr_assert_eq(ucr_key_curve_public(z85, pk), 0);
	cr_assert_str_eq(z85, "n&N75wybJq9kDJXO{2@haL-![L$oWYCFQ9SBbhta");

	r.key = "2403/network/civitas";
	r.owner = "2403";
	r.body_case = UCR__RECORD__BODY_NETWORK;
	r.network = &n;
	n.name = "CIVITAS";
	n.scope = UCR__SCOPE__SCOPE_INTERNATIONAL;
	n.joined = "2009-06-01";
	n.new_in_programme = 1;
	cr_assert_eq(ucr_record_encode(&rec, &rlen, &r), 0);
	ucr_hash(h, rec, rlen);
	expect_hex(h, 32,
	    "2117102b54442b72aeca30afd890e95a"
	    "8d76dee766cfb2e00060ea46ccc9c516");
	cr_assert_eq(ucr_entry_encode(&ent, &elen, 0x0123456789abcdefULL, 1,
			 prev, 1700000000000ULL << 16,
			 UCR__RECORD__BODY_NETWORK, rec, rlen),
	    0);
	ucr_hash(h, ent, elen);
	expect_hex(h, 32,
	    "4b9bc74fa714088638ec7651f45f6a88"
	    "221ad1626aad588fcc761867381b5994");
	ucr_batch_sigmsg(msg, pk, 0x0123456789abcdefULL, 1, h);
	expect_hex(msg, sizeof(msg),
	    "79b5562e8fe654f94078b112e8a98ba7"
	    "901f853ae695bed7e0e3910bad049664"
	    "0123456789abcdef0000000000000001"
	    "4b9bc74fa714088638ec7651f45f6a88"
	    "221ad1626aad588fcc761867381b5994");
	e.data = ent;
	e.len = elen;
	b.epoch = 0x0123456789abcdefULL;
	b.first_seq = b.last_seq = 1;
	b.entries = &e;
	b.n_entries = 1;
	b.signature.data = s;
	ucr_batch_sign(&b, &k, "umearegionen", h);
	expect_hex(s, sizeof(s),
	    "bfcda5f5f58fd429dac347b0c6b79a14"
	    "8dff9c0414e7ca2d1c2a078e5efff139"
	    "7a036193bc3db4f717832385df5cede2"
	    "6f0e8389d3ec41a93391bddba6d73e0e");
	cr_assert_eq(ucr_batch_verify(&b, "umearegionen", prev, NULL), 0);
	f.body_case = UCR__FRAME__BODY_BATCH;
	f.batch = &b;
	cr_assert_eq(ucr__frame__get_packed_size(&f), 235);
	frame = malloc(235);
	flen = ucr__frame__pack(&f, frame);
	cr_assert_eq(flen, 235);
	expect_hex(frame, flen,
	    "1ae8010a2079b5562e8fe654f94078b1"
	    "12e8a98ba7901f853ae695bed7e0e3910bad04966410ef9bafcdf8acd1910118"
	    "0120012a7408ef9bafcdf8acd1910110011a2000000000000000000000000000"
	    "0000000000000000000000000000000000000020808080c0d6fcf3c501281032"
	    "380a14323430332f6e6574776f726b2f636976697461731204323430338201"
	    "190a074349564954415310011a0a323030392d30362d303120013240bfcda5f5"
	    "f58fd429dac347b0c6b79a148dff9c0414e7ca2d1c2a078e5efff1397a036193"
	    "bc3db4f717832385df5cede26f0e8389d3ec41a93391bddba6d73e0e");
	free(frame);
	free(ent);
	free(rec);
	sodium_free(k.sk);
}
