/*
 * fuzzutil.h: what the libFuzzer harnesses in fuzz/ share: fixed keys (the
 * same every run, so seed corpora stay meaningful), a fresh hub or node
 * store in a temp folder holding a real roster, and batches built and
 * signed from fuzz input.
 */
#ifndef UCR_FUZZUTIL_H
#define UCR_FUZZUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "store.h"
#include "ucr.pb-c.h"

#define FZ_REGION "umearegionen"

/* The keys: the hub, node 2403, node 2480 and a reader (2401). */
extern struct ucr_key *fz_hub, *fz_node, *fz_node2, *fz_reader;

/* Once per process: crypto, keys, a temp folder. */
void fz_init(void);

/*
 * A fresh store (the previous one is closed and removed): the hub's, with
 * the roster written by the hub key; or a node's (2480) that has applied
 * the hub's log. The store is the global fz_store.
 */
extern struct ucr_store *fz_store;
void fz_fresh_hub(void);
void fz_fresh_node(void);
/* The folder of fz_fresh_node's store. */
const char *fz_node_dir(void);

/*
 * A batch of the given encoded entries, signed by k over the hash of the
 * last one (author set to k's key). Free with fz_batch_free.
 */
Ucr__Batch *fz_batch(const struct ucr_key *k, uint64_t epoch, uint64_t first,
    ProtobufCBinaryData *entries, size_t n);
void fz_batch_free(Ucr__Batch *b);

/*
 * Records from fuzz input (each a 2-byte big-endian length and that many
 * bytes) as entries of one log: at most max, from seq on, chained from
 * prevhash, each at a time after time; ents[i].data malloc'd. How many.
 */
size_t fz_entries(ProtobufCBinaryData *ents, size_t max, uint64_t epoch,
    uint64_t seq, const uint8_t prevhash[32], uint64_t time,
    const uint8_t *data, size_t len);
/*
 * Records from fuzz input (as fz_entries reads them), chained into entries
 * of one log of author k from seq 1 with increasing times, signed and
 * applied to fz_store.
 */
int fz_apply_records(const struct ucr_key *k, const uint8_t *data, size_t len);

/* With FZ_VERBOSE set in the environment: what an apply returned. */
void fz_report(const char *what, int rc, const char *why);

/* Write data to a file in the temp folder named name; its path (static). */
const char *fz_file(const char *name, const uint8_t *data, size_t len);

#endif
