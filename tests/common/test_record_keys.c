/*
 * test_record_keys.c: the key builder and the municipality lookup agree
 * with their plain forms (snprintf, a linear strcmp over the table) on
 * every code, on near misses and on random records.
 */
#include <ctype.h>
#include <stdint.h>

#include "storeutil.h"

TestSuite(record_keys, .timeout = 60);

/* ------------------------------------------------ the plain forms */

static const struct ucr_municipality_se *
linear_find(const char *code)
{
	size_t i;

	if (code == NULL)
		return NULL;
	for (i = 0; i < UCR_NMUNICIPALITIES_SE; i++)
		if (strcmp(ucr_municipalities_se[i].code, code) == 0)
			return &ucr_municipalities_se[i];
	return NULL;
}

static int
plain_id_valid(const char *id)
{
	size_t n = 0;

	if (id == NULL || *id == '\0')
		return 0;
	for (; *id; id++, n++)
		if (!isalnum((unsigned char)*id) && *id != '.' && *id != '_' &&
		    *id != '-')
			return 0;
	return n <= 64;
}

static const char *
plain_gender(Ucr__Gender g)
{
	return g == UCR__GENDER__GENDER_K ? "K"
	    : g == UCR__GENDER__GENDER_M  ? "M"
					  : "T";
}

/* ucr_record_make_key as it was written with snprintf. */
static int
plain_make_key(char *buf, size_t len, const char *owner, const Ucr__Record *r,
    const char *id)
{
	const char *kind = ucr_kind_name(r->body_case);
	int n;

	if (r->body_case == UCR__RECORD__BODY_MEASUREMENT) {
		const Ucr__Measurement *m = r->measurement;

		if (!plain_id_valid(m->indicator))
			return UCR_EINVAL;
		if (m->area != NULL && *m->area &&
		    strcmp(m->area, owner) != 0) {
			if (!plain_id_valid(m->area))
				return UCR_EINVAL;
			n = snprintf(buf, len, "%s/%s/%s/%s/%u/%s", owner, kind,
			    m->indicator, m->area, m->year,
			    plain_gender(m->gender));
		} else
			n = snprintf(buf, len, "%s/%s/%s/%u/%s", owner, kind,
			    m->indicator, m->year, plain_gender(m->gender));
	} else {
		if (!plain_id_valid(id))
			return UCR_EINVAL;
		n = snprintf(buf, len, "%s/%s/%s", owner, kind, id);
	}
	return n < 0 || (size_t)n >= len ? UCR_EINVAL : 0;
}

/* A deterministic generator, so that a failure can be replayed. */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

/* A random id: mostly valid, sometimes empty, too long or with a bad
   character. */
static void
rnd_id(char *out, size_t max)
{
	static const char ok[] = "ABCNUabz0123456789._-";
	size_t n = rnd() % 8 == 0 ? 60 + rnd() % 10 : rnd() % 12, i;

	if (n >= max)
		n = max - 1;
	for (i = 0; i < n; i++)
		out[i] = ok[rnd() % (sizeof(ok) - 1)];
	if (n > 0 && rnd() % 10 == 0)
		out[rnd() % n] = " /%\x7f\xc3"[rnd() % 5];
	out[n] = '\0';
}

static uint32_t
rnd_year(void)
{
	static const uint32_t edge[] = {0, 1, 9, 10, 99, 100, 1899, 1900, 2009,
	    2100, 2101, 99999, 4294967295u};

	return rnd() % 3 == 0 ? edge[rnd() % (sizeof(edge) / sizeof(edge[0]))]
			      : rnd();
}

/* ------------------------------------------------ municipality lookup */

Test(record_keys, municipality_lookup_agrees_with_linear_search)
{
	static const char *const odd[] = {"", "2", "24", "240", "24030",
	    "2403 ", " 2403", "240\xff", "\xff\xff\xff\xff", "0000", "9999",
	    "0113", "0115\n", "region", "2584", "2585", "0114", "0113"};
	char code[8];
	size_t i, j, found = 0, tried = 0;
	int c;

	cr_assert_null(ucr_municipality_se_find(NULL));
	cr_assert_not(ucr_municipality_known(NULL));
	for (i = 0; i < UCR_NMUNICIPALITIES_SE; i++) {
		const char *k = ucr_municipalities_se[i].code;

		cr_assert_eq(strlen(k), 4, "code %s is four characters", k);
		cr_assert_eq(ucr_municipality_se_find(k),
		    &ucr_municipalities_se[i]);
		cr_assert(ucr_municipality_known(k));
		/* every change of one character, including to a NUL */
		for (j = 0; j < 4; j++)
			for (c = 0; c < 256; c++) {
				const struct ucr_municipality_se *want;

				memcpy(code, k, 5);
				code[j] = (char)c;
				want = linear_find(code);
				cr_assert_eq(ucr_municipality_se_find(code),
				    want, "code %02x%02x%02x%02x",
				    (unsigned char)code[0],
				    (unsigned char)code[1],
				    (unsigned char)code[2],
				    (unsigned char)code[3]);
				cr_assert_eq(ucr_municipality_known(code),
				    want != NULL);
				found += want != NULL;
				tried++;
			}
		/* one character more, or one less */
		memcpy(code, k, 5);
		code[4] = '0' + i % 10;
		code[5] = '\0';
		cr_assert_null(ucr_municipality_se_find(code), "%s", code);
		code[3] = '\0';
		cr_assert_null(ucr_municipality_se_find(code), "%s", code);
	}
	/* each code is found at its own place (c == the code) and, by the
	   other changes, at the places of its neighbours */
	cr_assert_geq(found, 4 * UCR_NMUNICIPALITIES_SE);
	cr_assert_eq(tried, (size_t)UCR_NMUNICIPALITIES_SE * 4 * 256);
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		cr_assert_eq(ucr_municipality_se_find(odd[i]),
		    linear_find(odd[i]), "'%s'", odd[i]);
	/* every four-digit string */
	for (i = 0, found = 0; i < 10000; i++) {
		snprintf(code, sizeof(code), "%04zu", i);
		cr_assert_eq(ucr_municipality_se_find(code), linear_find(code),
		    "%s", code);
		found += ucr_municipality_known(code);
	}
	cr_assert_eq(found, UCR_NMUNICIPALITIES_SE);
}

/* ------------------------------------------------ keys */

static void
assert_same_key(const char *owner, const Ucr__Record *r, const char *id,
    size_t len)
{
	char got[320], want[320];
	int grc, wrc;

	memset(got, 'x', sizeof(got));
	memset(want, 'x', sizeof(want));
	grc = ucr_record_make_key(got, len, owner, r, id);
	wrc = plain_make_key(want, len, owner, r, id);
	cr_assert_eq(grc, wrc, "rc for len %zu, owner %s id %s", len, owner,
	    id ? id : "(measure)");
	/* the same bytes, as far as snprintf wrote and one past */
	cr_assert_eq(memcmp(got, want, len < sizeof(got) ? len + 1 : len), 0,
	    "'%.*s' vs '%.*s' (len %zu)", (int)(len < 300 ? len : 300), got,
	    (int)(len < 300 ? len : 300), want, len);
}

Test(record_keys, make_key_agrees_with_snprintf_form)
{
	static const char *const owners[] = {"2403", "2480", "region", "0114",
	    "", "a-very-long-own"};
	Ucr__Record r = UCR__RECORD__INIT;
	Ucr__Measurement m = UCR__MEASUREMENT__INIT;
	char ind[80], area[80], id[80], key[256];
	int i;

	/* edge cases by hand */
	r.body_case = UCR__RECORD__BODY_MEASUREMENT;
	r.measurement = &m;
	m.indicator = "N00401";
	m.area = "2480";
	m.year = 2009;
	m.gender = UCR__GENDER__GENDER_K;
	cr_assert_eq(ucr_record_make_key(key, sizeof(key), "2403", &r, NULL),
	    0);
	cr_assert_str_eq(key, "2403/measure/N00401/2480/2009/K");
	m.area = NULL;
	m.year = 0;
	m.gender = 7; /* out of range: T, as ever */
	cr_assert_eq(ucr_record_make_key(key, sizeof(key), "2403", &r, NULL),
	    0);
	cr_assert_str_eq(key, "2403/measure/N00401/0/T");
	m.year = 4294967295u;
	m.gender = UCR__GENDER__GENDER_M;
	m.area = "2403";
	cr_assert_eq(ucr_record_make_key(key, sizeof(key), "2403", &r, NULL),
	    0);
	cr_assert_str_eq(key, "2403/measure/N00401/4294967295/M");
	/* exactly fitting, and one byte short */
	cr_assert_eq(ucr_record_make_key(key, 33, "2403", &r, NULL), 0);
	cr_assert_eq(ucr_record_make_key(key, 32, "2403", &r, NULL),
	    UCR_EINVAL);
	cr_assert_str_eq(key, "2403/measure/N00401/4294967295/");
	cr_assert_eq(ucr_record_make_key(key, 0, "2403", &r, NULL), UCR_EINVAL);
	for (i = 0; i <= 40; i++)
		assert_same_key("2403", &r, NULL, (size_t)i);

	/* random measurements and ids, every buffer size around the key */
	for (i = 0; i < 20000; i++) {
		const char *owner = owners[rnd() % 6];
		size_t len = rnd() % 4 == 0 ? rnd() % 40 : 256 + rnd() % 64;

		memset(&r, 0, sizeof(r));
		ucr__record__init(&r);
		if (rnd() % 2) {
			ucr__measurement__init(&m);
			r.body_case = UCR__RECORD__BODY_MEASUREMENT;
			r.measurement = &m;
			rnd_id(ind, sizeof(ind));
			m.indicator = ind;
			switch (rnd() % 4) {
			case 0:
				m.area = NULL;
				break;
			case 1:
				m.area = (char *)owner;
				break;
			default:
				rnd_id(area, sizeof(area));
				m.area = area;
			}
			m.year = rnd_year();
			m.gender = rnd() % 4;
			assert_same_key(owner, &r, NULL, len);
			assert_same_key(owner, &r, NULL, 256);
		} else {
			r.body_case = rnd() % 2 ? UCR__RECORD__BODY_TARGET
						: UCR__RECORD__BODY_ROSTER;
			rnd_id(id, sizeof(id));
			assert_same_key(owner, &r, id, len);
			assert_same_key(owner, &r, id, 256);
		}
	}
}

/*
 * A measurement is valid under its key (with or without its own area),
 * and under the previous release's form for another area, and under no
 * other key: compared with the keys the snprintf form builds.
 */
Test(record_keys, measurement_key_accepted_as_before)
{
	static const char *const owners[] = {"2403", "2480", "0114"};
	static const char *const areas[] = {"2403", "2480", "0114", "2584", ""};
	Ucr__Record r = UCR__RECORD__INIT;
	Ucr__Measurement m = UCR__MEASUREMENT__INIT;
	Ucr__Decimal v = UCR__DECIMAL__INIT;
	char want[256], old[256], key[256], ind[80], why[256];
	int i, accepted = 0, refused = 0;

	r.body_case = UCR__RECORD__BODY_MEASUREMENT;
	r.measurement = &m;
	m.value = &v;
	v.units = 125;
	v.scale = 1;
	for (i = 0; i < 20000; i++) {
		const char *owner = owners[rnd() % 3];
		int rc, ok;
		size_t n;

		r.owner = (char *)owner;
		snprintf(ind, sizeof(ind), "%c%05u", rnd() % 2 ? 'N' : 'U',
		    rnd() % 100000);
		m.indicator = ind;
		m.area = (char *)areas[rnd() % 5];
		m.year = rnd() % 8 == 0 ? rnd_year() : 1900 + rnd() % 201;
		m.gender = rnd() % 3;
		cr_assert_eq(plain_make_key(want, sizeof(want), owner, &r,
				 NULL),
		    0);
		snprintf(old, sizeof(old), "%s/measure/%s/%u/%s", owner, ind,
		    m.year, plain_gender(m.gender));
		switch (rnd() % 4) {
		case 0:
			snprintf(key, sizeof(key), "%s", want);
			break;
		case 1:
			snprintf(key, sizeof(key), "%s", old);
			break;
		default:
			/* one character changed, cut or added */
			snprintf(key, sizeof(key), "%s",
			    rnd() % 2 ? want : old);
			n = strlen(key);
			switch (rnd() % 3) {
			case 0:
				key[rnd() % n] = "0123456789/TKMN"[rnd() % 15];
				break;
			case 1:
				key[n - 1 - rnd() % 3] = '\0';
				break;
			default:
				key[n] = "0T/"[rnd() % 3];
				key[n + 1] = '\0';
			}
		}
		r.key = key;
		ok = (strcmp(key, want) == 0 || strcmp(key, old) == 0) &&
		    *m.area != '\0' && m.year >= 1900 && m.year <= 2100;
		rc = ucr_record_validate(&r, why, sizeof(why));
		cr_assert_eq(rc, ok ? 0 : UCR_ESCHEMA,
		    "key %s (want %s, old %s): %s", key, want, old,
		    rc ? why : "valid");
		accepted += ok;
		refused += !ok;
		if (!ok)
			cr_assert(why[0] != '\0', "a reason for %s", key);
	}
	/* both outcomes were seen many times */
	cr_assert_gt(accepted, 5000);
	cr_assert_gt(refused, 5000);
}

/* ------------------------------------------------ entries read in place */

static uint64_t
rnd64(void)
{
	static const uint64_t edge[] = {0, 1, 127, 128, 16383, 16384,
	    4294967295u, 4294967296u, 0x7fffffffffffffffULL,
	    0x8000000000000000ULL, 0xffffffffffffffffULL};

	return rnd() % 4 == 0 ? edge[rnd() % (sizeof(edge) / sizeof(edge[0]))]
			      : (uint64_t)rnd() << (rnd() % 40) ^ rnd();
}

/* ucr_entry_parse read what protobuf-c reads, or declined (1). */
static int
parse_as_protobuf(const uint8_t *buf, size_t len)
{
	Ucr__Entry e, *pb;
	int rc = ucr_entry_parse(&e, buf, len);

	pb = ucr__entry__unpack(NULL, len, buf);
	if (rc == 0) {
		cr_assert_not_null(pb, "parsed what protobuf-c refuses");
		cr_assert_eq(e.epoch, pb->epoch);
		cr_assert_eq(e.seq, pb->seq);
		cr_assert_eq(e.time, pb->time);
		cr_assert_eq(e.kind, pb->kind);
		cr_assert_eq(e.prev.len, pb->prev.len);
		cr_assert_eq(e.record.len, pb->record.len);
		cr_assert(e.prev.len == 0 ||
		    memcmp(e.prev.data, pb->prev.data, e.prev.len) == 0);
		cr_assert(e.record.len == 0 ||
		    memcmp(e.record.data, pb->record.data, e.record.len) == 0);
		/* in place */
		cr_assert(e.record.len == 0 ||
		    (e.record.data >= buf && e.record.data < buf + len));
	} else
		cr_assert_eq(rc, 1);
	if (pb != NULL)
		ucr__entry__free_unpacked(pb, NULL);
	return rc;
}

Test(record_keys, entry_parse_reads_what_protobuf_reads)
{
	/* declined by hand: field 1 twice, an unknown field 7, a two-byte
	   tag, kind in six bytes, a ten-byte varint, a wrong wire type */
	static const uint8_t twice[] = {0x08, 0x01, 0x08, 0x02};
	static const uint8_t unknown[] = {0x08, 0x01, 0x38, 0x01};
	static const uint8_t longtag[] = {0x88, 0x00, 0x01};
	static const uint8_t kind6[] = {0x28, 0x81, 0x80, 0x80, 0x80, 0x80,
	    0x00};
	static const uint8_t ten[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0x01};
	static const uint8_t wire[] = {0x0a, 0x01, 0x00};
	static const uint8_t plain[] = {0x08, 0x07, 0x10, 0x02, 0x1a, 0x00,
	    0x20, 0x81, 0x01, 0x28, 0x0c, 0x32, 0x02, 0xab, 0xcd};
	Ucr__Entry e;
	uint8_t prev[40], rec[300], buf[512], mut[1040];
	int i, parsed = 0, declined = 0, mparsed = 0, mdeclined = 0;

	cr_assert_eq(ucr_entry_parse(&e, twice, sizeof(twice)), 1);
	cr_assert_eq(ucr_entry_parse(&e, unknown, sizeof(unknown)), 1);
	cr_assert_eq(ucr_entry_parse(&e, longtag, sizeof(longtag)), 1);
	cr_assert_eq(ucr_entry_parse(&e, kind6, sizeof(kind6)), 1);
	cr_assert_eq(ucr_entry_parse(&e, ten, sizeof(ten)), 1);
	cr_assert_eq(ucr_entry_parse(&e, wire, sizeof(wire)), 1);
	cr_assert_eq(ucr_entry_parse(&e, plain, sizeof(plain)), 0);
	cr_assert_eq(e.epoch, 7);
	cr_assert_eq(e.seq, 2);
	cr_assert_eq(e.time, 129);
	cr_assert_eq(e.kind, 12);
	cr_assert_eq(e.prev.len, 0);
	cr_assert_eq(e.record.len, 2);
	cr_assert_eq(e.record.data, plain + 13);
	cr_assert_eq(ucr_entry_parse(&e, plain, 0), 0, "empty: all zero");
	cr_assert_eq(e.seq, 0);
	for (i = 0; i < 12; i++)
		parse_as_protobuf(plain, (size_t)i); /* cut anywhere */

	for (i = 0; i < 30000; i++) {
		Ucr__Entry in = UCR__ENTRY__INIT;
		size_t len, mlen, j, cut;

		in.epoch = rnd64();
		in.seq = rnd64();
		in.time = rnd64();
		in.kind = rnd() % 2 ? rnd() % 30 : rnd();
		in.prev.len = rnd() % 4 ? 32 : rnd() % 40;
		for (j = 0; j < in.prev.len; j++)
			prev[j] = rnd();
		in.prev.data = prev;
		in.record.len = rnd() % 300;
		for (j = 0; j < in.record.len; j++)
			rec[j] = rnd();
		in.record.data = rec;
		len = ucr__entry__pack(&in, buf);
		cr_assert_leq(len, sizeof(buf));
		/* what ucr_entry_encode writes is read in place unless a
		   number needs ten bytes */
		if (parse_as_protobuf(buf, len) == 0) {
			parsed++;
			cr_assert_eq(ucr_entry_parse(&e, buf, len), 0);
			cr_assert_eq(e.seq, in.seq);
			cr_assert_eq(e.record.len, in.record.len);
		} else {
			declined++;
			cr_assert(in.epoch >> 63 || in.seq >> 63 ||
				in.time >> 63,
			    "declined a plain entry");
		}
		/* and any change of it: a byte, a cut, a field again, an
		   unknown field */
		memcpy(mut, buf, len);
		mlen = len;
		switch (rnd() % 5) {
		case 0:
			if (len > 0)
				mut[rnd() % len] = rnd();
			break;
		case 1:
			if (len > 0)
				mut[rnd() % len] ^= 1u << (rnd() % 8);
			break;
		case 2:
			mlen = len > 0 ? rnd() % len : 0;
			break;
		case 3:
			cut = len > 0 ? rnd() % len : 0;
			memcpy(mut + len, buf, cut);
			mlen = len + cut;
			break;
		default:
			mut[len] = (uint8_t)(rnd() % 256);
			mut[len + 1] = (uint8_t)(rnd() % 256);
			mlen = len + 2;
		}
		if (parse_as_protobuf(mut, mlen) == 0)
			mparsed++;
		else
			mdeclined++;
	}
	/* both ways were taken, many times */
	cr_assert_gt(parsed, 20000);
	cr_assert_gt(declined, 100);
	cr_assert_gt(mparsed, 3000);
	cr_assert_gt(mdeclined, 3000);
}
