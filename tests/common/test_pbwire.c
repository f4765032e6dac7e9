/*
 * test_pbwire.c: the protobuf wire format by hand (common/pbwire.c)
 * against protobuf-c's own encoding: varints of every length, each wire
 * type, and every truncation or bad length refused.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "pbwire.h"
#include "ucr.pb-c.h"

Test(pbwire, varints_round_trip_and_refuse_what_is_malformed)
{
	static const uint64_t vs[] = {0, 1, 127, 128, 300, 16383, 16384,
	    (1ULL << 32) - 1, 1ULL << 35, (1ULL << 63) - 1, UINT64_MAX};
	uint8_t b[UCR_PB_VARINT_MAX + 1], over[11];
	uint64_t v;
	size_t i, n;

	for (i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
		n = ucr_pb_varint_put(b, vs[i]);
		cr_assert(n >= 1 && n <= UCR_PB_VARINT_MAX);
		cr_assert_eq(ucr_pb_varint(b, n, &v), n);
		cr_assert_eq(v, vs[i]);
		/* cut short: refused */
		cr_assert_eq(ucr_pb_varint(b, n - 1, &v), 0);
	}
	cr_assert_eq(ucr_pb_varint_put(b, UINT64_MAX), UCR_PB_VARINT_MAX);
	memset(over, 0x80, sizeof(over)); /* 11 continuation bytes */
	cr_assert_eq(ucr_pb_varint(over, sizeof(over), &v), 0);
}

Test(pbwire, fields_as_protobuf_c_encodes_them)
{
	Ucr__Record r = UCR__RECORD__INIT;
	Ucr__Network net = UCR__NETWORK__INIT;
	const uint8_t *p, *end;
	struct ucr_pb_field f;
	uint8_t *buf;
	size_t len, k;
	int rc, seen_key = 0, seen_tomb = 0, seen_body = 0;

	r.key = "2480/network/N1";
	r.owner = "2480";
	r.tombstone = 1;
	r.body_case = UCR__RECORD__BODY_NETWORK;
	r.network = &net;
	net.name = "Klimatkommunerna";
	len = ucr__record__get_packed_size(&r);
	buf = malloc(len);
	cr_assert_not_null(buf);
	cr_assert_eq(ucr__record__pack(&r, buf), len);
	p = buf;
	end = buf + len;
	while ((rc = ucr_pb_next(&p, end, &f)) > 0) {
		if (f.num == 1) {
			cr_assert_eq(f.type, UCR_PB_LEN);
			cr_assert_eq(f.len, strlen(r.key));
			cr_assert(memcmp(f.p, r.key, f.len) == 0);
			seen_key++;
		} else if (f.num == 3) {
			cr_assert_eq(f.type, UCR_PB_VARINT);
			cr_assert_eq(f.varint, 1);
			seen_tomb++;
		} else if (f.num == UCR__RECORD__BODY_NETWORK) {
			cr_assert_eq(f.type, UCR_PB_LEN);
			cr_assert_eq(f.len, ucr__network__get_packed_size(&net));
			seen_body++;
		}
	}
	cr_assert_eq(rc, 0);
	cr_assert_eq(p, end);
	cr_assert_eq(seen_key, 1);
	cr_assert_eq(seen_tomb, 1);
	cr_assert_eq(seen_body, 1);
	/* every cut inside a field is refused, never read past */
	for (k = 1; k < len; k++) {
		p = buf;
		end = buf + k;
		while ((rc = ucr_pb_next(&p, end, &f)) > 0)
			cr_assert(p <= end);
		if (rc == 0)
			cr_assert_eq(p, end); /* cut between two fields */
	}
	free(buf);
}

Test(pbwire, other_wire_types_and_bad_ones)
{
	/* field 1 fixed64, field 2 fixed32, then a group (type 3) */
	static const uint8_t fx[] = {0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x15, 1, 2,
	    3, 4, 0x1b};
	/* field 4 of length 5 with 2 bytes left */
	static const uint8_t longer[] = {0x22, 0x05, 'a', 'b'};
	const uint8_t *p = fx, *end = fx + sizeof(fx);
	struct ucr_pb_field f;

	cr_assert_eq(ucr_pb_next(&p, end, &f), 1);
	cr_assert_eq(f.num, 1);
	cr_assert_eq(f.type, UCR_PB_I64);
	cr_assert_null(f.p);
	cr_assert_eq(ucr_pb_next(&p, end, &f), 1);
	cr_assert_eq(f.num, 2);
	cr_assert_eq(f.type, UCR_PB_I32);
	cr_assert_eq(ucr_pb_next(&p, end, &f), -1, "a group is refused");
	p = longer;
	cr_assert_eq(ucr_pb_next(&p, longer + sizeof(longer), &f), -1);
	cr_assert_eq(p, longer + 1, "nothing read past the tag");
}
