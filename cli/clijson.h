/*
 * clijson.h: records and messages as JSON (jansson), for every --json.
 * The caller owns the returned json_t (json_decref).
 */
#ifndef UCR_CLIJSON_H
#define UCR_CLIJSON_H

#include <jansson.h>

#include "ucr.pb-c.h"

/* {"key", "owner", "kind", "body": {...}} or "deleted": true. */
json_t *cli_record_json(const Ucr__Record *r);
/* Any message, field by field, by its descriptor. */
json_t *cli_message_json(const ProtobufCMessage *m);
/* Print indented, in insertion order, with a newline; 0 or 1. */
int cli_json_print(json_t *j);

#endif
