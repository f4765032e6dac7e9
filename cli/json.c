/*
 * json.c: records as JSON, by walking the protobuf-c descriptors, so every
 * field of every record kind is shown without a hand-written printer per
 * kind. Enum values use the command line's words; decimals are strings
 * ("12.50") so no precision is lost; bytes are hex.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "clijson.h"
#include "officer.h"
#include "record.h"

static const struct {
	const ProtobufCEnumDescriptor *d;
	const struct cli_enum *const *words;
} enum_words[] = {
    {&ucr__trend__descriptor, &cli_enum_trend},
    {&ucr__direction__descriptor, &cli_enum_direction},
    {&ucr__gender__descriptor, &cli_enum_gender},
    {&ucr__measure_status__descriptor, &cli_enum_mstatus},
    {&ucr__target_status__descriptor, &cli_enum_tstatus},
    {&ucr__project_status__descriptor, &cli_enum_pstatus},
    {&ucr__meeting_kind__descriptor, &cli_enum_mkind},
    {&ucr__scope__descriptor, &cli_enum_scope},
    {&ucr__body__descriptor, &cli_enum_body},
    {&ucr__subject__descriptor, &cli_enum_subject},
    {&ucr__outcome__descriptor, &cli_enum_outcome},
};

static json_t *
enum_json(const ProtobufCEnumDescriptor *d, int v)
{
	const ProtobufCEnumValue *ev;
	size_t i;

	for (i = 0; i < sizeof(enum_words) / sizeof(enum_words[0]); i++)
		if (enum_words[i].d == d)
			return json_string(
			    cli_enum_name(*enum_words[i].words, v));
	ev = protobuf_c_enum_descriptor_get_value(d, v);
	if (ev == NULL)
		return json_integer(v);
	{
		/* ROLE_NODE -> "node" */
		const char *p = strchr(ev->name, '_');
		char buf[64];
		size_t j;

		snprintf(buf, sizeof(buf), "%s", p ? p + 1 : ev->name);
		for (j = 0; buf[j]; j++)
			buf[j] = buf[j] == '_'
			    ? '-'
			    : (char)(buf[j] >= 'A' && buf[j] <= 'Z'
				      ? buf[j] + 32
				      : buf[j]);
		return json_string(buf);
	}
}

static json_t *
value_json(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
		return json_string(*(char *const *)p ? *(char *const *)p : "");
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return json_integer((json_int_t) * (const uint64_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return json_integer(*(const int64_t *)p);
	case PROTOBUF_C_TYPE_ENUM:
		return enum_json(f->descriptor, *(const int *)p);
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;
		char *hex = malloc(2 * b->len + 1);
		json_t *j;

		if (hex == NULL)
			return json_null();
		ucr_hex(hex, b->data, b->len);
		j = json_string(hex);
		free(hex);
		return j;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(const ProtobufCMessage *const *)p;

		if (m == NULL)
			return json_null();
		if (m->descriptor == &ucr__decimal__descriptor) {
			char buf[48];

			return json_string(
			    ucr_decimal_format((const Ucr__Decimal *)m, buf,
				sizeof(buf)));
		}
		return cli_message_json(m);
	}
	default:
		return json_null();
	}
}

static size_t
type_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	default:
		return 4;
	}
}

json_t *
cli_message_json(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	json_t *o = json_object();
	unsigned i;

	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;

		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t c =
			    *(const uint32_t *)(base + f->quantifier_offset);

			if (c != f->id)
				continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(
				   const size_t *)(base + f->quantifier_offset),
			       j;
			const char *arr = *(char *const *)(base + f->offset);
			json_t *a = json_array();

			for (j = 0; j < n; j++)
				json_array_append_new(a,
				    value_json(f, arr + j * type_size(f)));
			json_object_set_new(o, f->name, a);
			continue;
		}
		if (f->type == PROTOBUF_C_TYPE_MESSAGE &&
		    *(void *const *)(base + f->offset) == NULL)
			continue;
		json_object_set_new(o, f->name,
		    value_json(f, base + f->offset));
	}
	return o;
}

json_t *
cli_record_json(const Ucr__Record *r)
{
	json_t *o = json_object();
	const char *kind = strchr(r->key, '/');
	char k[32] = "";

	if (kind) {
		const char *end = strchr(kind + 1, '/');

		if (end && (size_t)(end - kind - 1) < sizeof(k)) {
			memcpy(k, kind + 1, end - kind - 1);
			k[end - kind - 1] = '\0';
		}
	}
	json_object_set_new(o, "key", json_string(r->key));
	json_object_set_new(o, "owner", json_string(r->owner));
	json_object_set_new(o, "kind", json_string(k));
	if (r->tombstone)
		json_object_set_new(o, "deleted", json_true());
	else if (r->body_case != UCR__RECORD__BODY__NOT_SET) {
		/* the oneof member set, whatever its kind */
		const ProtobufCFieldDescriptor *fd =
		    protobuf_c_message_descriptor_get_field(
			&ucr__record__descriptor, (unsigned)r->body_case);
		const ProtobufCMessage *body = fd == NULL
		    ? NULL
		    : *(const ProtobufCMessage *const *)((const char *)r +
			  fd->offset);

		if (body)
			json_object_set_new(o, "body", cli_message_json(body));
	}
	return o;
}

int
cli_json_print(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s == NULL)
		return 1;
	puts(s);
	free(s);
	return 0;
}
