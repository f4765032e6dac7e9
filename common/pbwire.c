/*
 * pbwire.c: the protobuf wire format by hand, for the few places that
 * want one field of a message (pbwire.h).
 */
#include "pbwire.h"

size_t
ucr_pb_varint(const uint8_t *p, size_t len, uint64_t *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < len && i < UCR_PB_VARINT_MAX; i++) {
		*v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0)
			return i + 1;
	}
	return 0;
}

size_t
ucr_pb_varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

int
ucr_pb_next(const uint8_t **p, const uint8_t *end, struct ucr_pb_field *f)
{
	size_t n, left = (size_t)(end - *p);
	uint64_t tag;

	f->p = NULL;
	f->len = 0;
	f->varint = 0;
	if (left == 0)
		return 0;
	if ((n = ucr_pb_varint(*p, left, &tag)) == 0)
		return -1;
	*p += n;
	left -= n;
	f->num = tag >> 3;
	f->type = (int)(tag & 7);
	switch (f->type) {
	case UCR_PB_VARINT:
		if ((n = ucr_pb_varint(*p, left, &f->varint)) == 0)
			return -1;
		break;
	case UCR_PB_I64:
		n = 8;
		break;
	case UCR_PB_LEN:
		if ((n = ucr_pb_varint(*p, left, &tag)) == 0 || tag > left - n)
			return -1;
		f->p = *p + n;
		f->len = (size_t)tag;
		n += (size_t)tag;
		break;
	case UCR_PB_I32:
		n = 4;
		break;
	default:
		return -1;
	}
	if (n > left)
		return -1;
	*p += n;
	return 1;
}
