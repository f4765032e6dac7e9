/*
 * import.h: data files into records, for "ucr import".
 *
 * Three readers share one set of rules: a JSON array of record objects, a
 * CSV table with a "kind" column, and a Kolada API data export
 * (measurements). docs/import.md describes the formats.
 */
#ifndef UCR_IMPORT_H
#define UCR_IMPORT_H

#include <stddef.h>

#include <jansson.h>

#include "config.h"
#include "store.h"
#include "ucr.pb-c.h"

/*
 * The records of one file, ready to put. The set owns everything it
 * points to: the records (protobuf-c trees; from import_load they are
 * cut from the set's arena and never freed one by one, a set filled by
 * hand with arena NULL holds malloc'd trees), the adopt_keys arrays and
 * their strings. import_free() releases it all.
 */
struct import_arena;
struct import_set {
	struct ucr_put *puts; /* mode UCR_PUT_UPSERT; decisions last */
	size_t n;
	size_t rows;                /* data rows read (comments not counted) */
	size_t skipped_other;       /* Kolada rows of other municipalities */
	size_t *row;                /* file row of puts[i], for messages */
	size_t cap;                 /* allocated length of puts and row */
	struct import_arena *arena; /* the records' memory, or NULL */
};

/*
 * Read path into out: JSON or CSV by the extension (.json, .csv, in any
 * case), or a Kolada export if kolada is non-zero. owner is the importing
 * node's municipality code, or "region" on the hub; every record gets key
 * "<owner>/<kind>/<id>", is built only if its fields are right and is
 * checked with ucr_record_validate().
 *
 * All or nothing: on the first bad row returns UCR_EINVAL (bad field or
 * file), UCR_ESCHEMA (record refused by the validator), UCR_EIO (cannot
 * read) or UCR_ENOMEM, with why = "FILE:row N: field 'X': reason", and out
 * empty. progress, if not NULL, is called every 1000 rows.
 */
int import_load(struct import_set *out, const char *path, int kolada,
    const char *owner, char *why, size_t whylen,
    void (*progress)(size_t rows, void *ctx), void *ctx);

/*
 * The same for a Kolada data export already in memory (a fetched one):
 * doc is borrowed, name stands for the file in messages.
 */
int import_load_kolada(struct import_set *out, json_t *doc, const char *name,
    const char *owner, char *why, size_t whylen);

/*
 * Put the records of nsets sets through the daemon of cfg as one request,
 * so as one signed batch, all or nothing. Prints the error and returns -1;
 * 0 with *reply (NULL when there was nothing to send; the caller frees it
 * with ucr__reply__free_unpacked).
 */
int import_send(const struct ucr_config *cfg, struct import_set *sets,
    size_t nsets, Ucr__Reply **reply);

/* Free what the set holds and leave it empty; NULL-safe. */
void import_free(struct import_set *s);

#endif
