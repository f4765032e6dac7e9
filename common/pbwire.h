/*
 * pbwire.h: the protobuf wire format (varints and fields), read and
 * written by hand only where decoding or encoding the whole message would
 * cost more than the one field wanted: a record's tombstone flag
 * (common/store.c), the bytes of each record of an import request
 * (common/control.c), a put's length prefix (cli/import.c). Everything
 * else goes through protobuf-c.
 */
#ifndef UCR_PBWIRE_H
#define UCR_PBWIRE_H

#include <stddef.h>
#include <stdint.h>

/* Wire types. */
#define UCR_PB_VARINT 0
#define UCR_PB_I64 1
#define UCR_PB_LEN 2
#define UCR_PB_I32 5

/* The longest varint: 10 bytes. */
#define UCR_PB_VARINT_MAX 10

/* One field as read. */
struct ucr_pb_field {
	uint64_t num;     /* the field number */
	int type;         /* UCR_PB_* */
	uint64_t varint;  /* UCR_PB_VARINT: the value */
	const uint8_t *p; /* UCR_PB_LEN: the bytes (else NULL) */
	size_t len;
};

/* A varint at p (len bytes there): its length, or 0 if malformed. */
size_t ucr_pb_varint(const uint8_t *p, size_t len, uint64_t *v);
/* Write v as a varint at p (room for UCR_PB_VARINT_MAX); its length. */
size_t ucr_pb_varint_put(uint8_t *p, uint64_t v);
/*
 * The next field of [*p, end), *p moved past it: 1 and *f; 0 at the end;
 * -1 if malformed (a bad tag or varint, a length past end, a group).
 */
int ucr_pb_next(const uint8_t **p, const uint8_t *end, struct ucr_pb_field *f);

#endif
