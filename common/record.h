/*
 * record.h: the record schema's rules and reference tables.
 *
 * Records are the generated Ucr__Record (proto/ucr.proto). This module knows
 * the reference data (the 50 Aalborg commitments, the municipalities, the
 * five priorities, the programme goals), builds record keys, parses and
 * prints decimals, and validates a record completely. It is pure: no I/O.
 *
 * Record keys are "<owner>/<kind>/<id>", e.g. "2403/target/T1",
 * "2480/baseline/3.1", "2403/measure/N00401/2020/T", "region/priority/P1".
 * A measurement of another area than the owner's own names it:
 * "2403/measure/N00401/2480/2020/T".
 */
#ifndef UCR_RECORD_H
#define UCR_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "ucr.pb-c.h"

#define UCR_REGION "region"  /* owner of the hub's regional records */
#define UCR_MAX_RECORD 65536 /* largest encoded record accepted */
#define UCR_HASH_LEN 32

struct ucr_commitment {
	const char *id; /* "3.1" */
	int theme;      /* 1..10 */
	const char *theme_name;
	const char *title;
	const char *priority; /* suggested P1..P5, or NULL */
};

struct ucr_municipality {
	const char *code; /* SCB code, "2403" */
	const char *name; /* UTF-8 */
	long population;  /* sample weight for regional roll-ups */
};

#define UCR_NCOMMITMENTS 50
#define UCR_NMUNICIPALITIES 6
#define UCR_NPRIORITIES 5

extern const struct ucr_commitment ucr_commitments[UCR_NCOMMITMENTS];
extern const struct ucr_municipality ucr_municipalities[UCR_NMUNICIPALITIES];
/*
 * Sweden's 290 municipalities (common/municipalities_se.c, from SCB),
 * sorted by code. A code in this table may be admitted as a member of the
 * region ("ucr member add", a Member record); records of a member are then
 * valid under its code. The six above are the members of a region that
 * has no Member record (the demo's).
 */
struct ucr_municipality_se {
	const char *code;   /* "2284" */
	const char *name;   /* "Örnsköldsvik" */
	const char *county; /* county code, "22" */
};
#define UCR_NMUNICIPALITIES_SE 290
extern const struct ucr_municipality_se
    ucr_municipalities_se[UCR_NMUNICIPALITIES_SE];
/* The same, index for index, as struct ucr_municipality (population 0). */
extern const struct ucr_municipality
    ucr_municipalities_se_mun[UCR_NMUNICIPALITIES_SE];
/* By code, or NULL. */
const struct ucr_municipality_se *ucr_municipality_se_find(const char *code);
/* By code or name (case ignored, Swedish letters included), or NULL. */
const struct ucr_municipality_se *ucr_municipality_se_lookup(const char *s);
/* 1 if code is one of Sweden's 290 municipality codes: the owner codes a
   record may carry (membership itself is checked at enrolment). */
int ucr_municipality_known(const char *code);

/* Default priority titles P1..P5 (the seed's five priorities). */
extern const char *const ucr_priority_titles[UCR_NPRIORITIES];

const struct ucr_commitment *ucr_commitment_find(const char *id);
const struct ucr_municipality *ucr_municipality_find(const char *code);
/* By code ("2403") or name ("Bjurholm", "umeå", "Örnsköldsvik": case
   ignored, Swedish letters included), or NULL: one of the six defaults
   (with its sample population), else any of Sweden's 290 (population 0).
   Whether it is a member of the region is the caller's question. */
const struct ucr_municipality *ucr_municipality_lookup(const char *s);
int ucr_priority_valid(const char *id); /* 1 for "P1".."P5" */

/* Kind names as used in keys and on the command line, by body case. */
const char *ucr_kind_name(Ucr__Record__BodyCase c);
/* Body case for a kind name ("target"), or UCR__RECORD__BODY__NOT_SET. */
Ucr__Record__BodyCase ucr_kind_parse(const char *name);

/*
 * Decimals. ucr_decimal_parse accepts "-12", "3.25", "1e3" is refused;
 * at most 9 decimals and 18 significant digits. ucr_decimal_format writes
 * into buf (at least 32 bytes) and returns buf. ucr_decimal_double is for
 * arithmetic in the view only, never for hashing.
 */
int ucr_decimal_parse(Ucr__Decimal *out, const char *s);
char *ucr_decimal_format(const Ucr__Decimal *d, char *buf, size_t len);
double ucr_decimal_double(const Ucr__Decimal *d);

/* A Kolada KPI id: N or U and five digits ("N00401"). Other indicator ids
   must be declared first (an Indicator record). */
int ucr_kolada_id(const char *s);

/* Dates: "YYYY-MM-DD", a real calendar date, year 1900..2100. */
int ucr_date_valid(const char *s);
int ucr_year_valid(long y);

/*
 * Build the record's key from its owner, body and id into buf. The id is
 * what the user named (target id, commitment id, ...); for a measurement it
 * is ignored and the key is built from indicator, area (when it is not the
 * owner), year and gender.
 * Returns 0 or UCR_EINVAL (bad id characters, too long).
 */
int ucr_record_make_key(char *buf, size_t len, const char *owner,
    const Ucr__Record *r, const char *id);

/*
 * Validate a record completely: key shape and owner, body set (unless a
 * tombstone), every field in range. On failure returns UCR_ESCHEMA and, if
 * why is not NULL, writes "field: reason" into it (at most whylen bytes).
 */
int ucr_record_validate(const Ucr__Record *r, char *why, size_t whylen);

/* BLAKE2b-256 of bytes. */
void ucr_hash(uint8_t out[UCR_HASH_LEN], const void *buf, size_t len);

/*
 * Decode a record from bytes. The caller frees with
 * ucr__record__free_unpacked(r, NULL). Returns 0, UCR_EPROTO or UCR_ETOOBIG.
 */
int ucr_record_decode(Ucr__Record **out, const uint8_t *buf, size_t len);
/* The same, allocating through a (NULL: malloc); the caller frees with
   ucr__record__free_unpacked(r, a), or drops a's memory at once. */
int ucr_record_decode_with(Ucr__Record **out, const uint8_t *buf, size_t len,
    ProtobufCAllocator *a);

/*
 * A log entry (Ucr__Entry) read without protobuf-c when its encoding is
 * the plain one ucr_entry_encode writes: fields 1-6 each at most once, one
 * byte tags, their own wire types, varints of at most 9 bytes (kind 5),
 * nothing else. Fills e (initialised here) with prev and record pointing
 * into buf, so buf must outlive e, and returns 0; returns 1 for any other
 * encoding, which protobuf-c then decodes. Whatever it reads, protobuf-c
 * reads the same (tests/common/test_record_keys.c).
 */
int ucr_entry_parse(Ucr__Entry *e, const uint8_t *buf, size_t len);

/* Encode into a malloc'd buffer; caller frees. */
int ucr_record_encode(uint8_t **out, size_t *outlen, const Ucr__Record *r);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void ucr_hex(char *out, const uint8_t *in, size_t n);
/* Parse exactly 2n hex digits; 0 or UCR_EINVAL. */
int ucr_unhex(uint8_t *out, size_t n, const char *in);

#endif
