/*
 * records.h: a page of current records, for "ucr show" and "ucr export"
 * through a daemon (the control Query "records") or over the network (a
 * reader's RecordQuery frame to the hub). One function reads a page from
 * a store; both daemons and the CLI's offline path use it, so every path
 * pages alike (docs/protocol.md, "Record queries").
 *
 * A page holds the records after a key, in key order, that match a kind
 * and a key prefix: at most limit records and at most UCR_PAGE_MAXBYTES
 * bytes as encoded on the wire. Its next key is the last one held when a
 * further record matches, else "". A daemon builds one page per request
 * and frees it once the reply is sent: its memory for a record query is
 * bounded by one page whatever the store holds.
 */
#ifndef UCR_RECORDS_H
#define UCR_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "ucr.pb-c.h"

/* A page's records as encoded. Small enough that the answers a peer that
   never reads can leave in the hub's send queue (HUB_SNDHWM, 32) stay
   within the hub's memory budget: 8 MiB a connection, as the relay's. */
#define UCR_PAGE_MAXBYTES (256 << 10)
/* The largest limit accepted. A reader decodes a page within the wire's
   unpack budget (wire.h: 16 384 allocations; a record costs three). */
#define UCR_PAGE_MAXRECORDS 4000
#define UCR_PAGE_MAXKEY 255 /* a record key's longest (record.c) */

struct ucr_page {
	Ucr__ViewRecord **recs; /* n of them, pointing into mem */
	size_t n;
	size_t bytes; /* the records' encoded size */
	char next[UCR_PAGE_MAXKEY + 1];
	/* what the page owns */
	Ucr__ViewRecord *vr;
	uint8_t *mem;
	size_t used, cap, capn;
};

/*
 * Read one page from s: the current records with a key after `after`
 * ("" or NULL: from the first) that start with prefix ("" or NULL: any)
 * and are of kind (a key's kind part, "measure"; "" or NULL: any); at
 * most limit (0: UCR_PAGE_MAXRECORDS). A kind, key or limit out of bounds
 * is refused with UCR_EINVAL and why says which. 0 and *p (free with
 * ucr_page_free), or a UCR_E* code.
 */
int ucr_records_page(struct ucr_page *p, struct ucr_store *s, const char *kind,
    const char *prefix, const char *after, uint32_t limit, char *why,
    size_t whylen);
void ucr_page_free(struct ucr_page *p);

/*
 * What changed since an HLC time, as the report counts it: the current
 * records whose time is at or after since, by the key's kind part
 * (ucr_change_kinds: target ... indicator), "other" for the other kinds
 * and "deleted" for tombstones. When since is the start of a UTC day (as
 * `ucr report --since DAY` asks) and the store has its view index, the
 * counts come from the index's per-day counters (ucr_store_changes): the
 * cost follows the days since, not the records. Otherwise one pass over
 * the records in one read transaction; the tombstone flag is read from the
 * bytes without decoding and nothing is allocated per record. Records
 * whose bytes are malformed are not counted. 0 and
 * counts[UCR_CHANGE_NKINDS], or a UCR_E* code.
 */
#define UCR_CHANGE_NKINDS 11
extern const char *const ucr_change_kinds[UCR_CHANGE_NKINDS];
int ucr_records_changed(struct ucr_store *s, uint64_t since,
    uint64_t counts[UCR_CHANGE_NKINDS]);
/* The same by one pass over every record, whatever since is (the
   reference the view index is tested against). */
int ucr_records_changed_scan(struct ucr_store *s, uint64_t since,
    uint64_t counts[UCR_CHANGE_NKINDS]);
/* Which of ucr_change_kinds a record with this key counts as. */
int ucr_change_kind(const char *key, int tombstone);
/*
 * From the store's view index: the current records whose version's time
 * falls on UTC day from_day (days since 1970-01-01) or later, counted as
 * ucr_records_changed counts them; O(days), not O(records).
 * UCR_ENOTFOUND if the store has no index of this version yet.
 */
int ucr_store_changes(struct ucr_store *s, uint32_t from_day,
    uint64_t counts[UCR_CHANGE_NKINDS]);
/* The counts as JSON ({"target":N,...,"deleted":N}) into buf: 0, or
   UCR_ETOOBIG if len is short (256 bytes always suffice). */
int ucr_records_changed_json(const uint64_t counts[UCR_CHANGE_NKINDS],
    char *buf, size_t len);

#endif
