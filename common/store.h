/*
 * store.h: the LMDB store. The only file that includes <lmdb.h>.
 *
 * One environment per program, with named databases:
 *   entries     author(32) epoch(8) seq(8)  -> encoded Entry bytes
 *   heads       author(32) epoch(8)         -> seq, hash, time, flags
 *   sigs        author(32) epoch(8) seq(8)  -> signature over entries ..seq
 *   records     record key                 -> current version (see ucr_rec)
 *   meta        name                       -> value
 *   quarantine  time(8) counter(4)         -> refused input with the reason
 * Integers in keys are big-endian so LMDB's order is numeric order.
 *
 * Every write is one LMDB write transaction: a batch's entries, its
 * signature, the head and the records it touches commit together or not at
 * all. A full map (MDB_MAP_FULL) aborts the transaction and returns
 * UCR_EFULL: the store is as it was.
 *
 * The store object is not thread-safe; one per thread. Pointers handed to a
 * callback are valid only during that call.
 */
#ifndef UCR_STORE_H
#define UCR_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "ucr.pb-c.h"

#define UCR_STORE_RDONLY 0x1    /* open read-only (queries, verify) */
#define UCR_STORE_CREATE 0x2    /* create the folder if missing */
#define UCR_STORE_EXCLUSIVE 0x4 /* take the daemon lock (ELOCKED if held) */

#define UCR_STORE_DEFAULT_MAP ((size_t)1 << 30) /* 1 GiB */

struct ucr_store;

/* A log is one author's chain in one epoch. */
struct ucr_head {
	uint8_t author[UCR_PK_LEN];
	uint64_t epoch;
	uint64_t seq;     /* 0: empty */
	uint8_t hash[32]; /* hash of entry seq; zero when empty */
	uint64_t time;    /* HLC time of entry seq */
	int stopped;      /* a fork was seen: no more appends */
};

/* The current version of one record key. */
struct ucr_rec {
	const char *key;
	const uint8_t *author; /* UCR_PK_LEN bytes */
	uint64_t epoch;
	uint64_t seq;
	uint64_t time;
	const uint8_t *hash;  /* BLAKE2b-256 of bytes */
	const uint8_t *bytes; /* encoded Record */
	size_t len;
};

/* An entry as held. */
struct ucr_entry_info {
	const uint8_t *author;
	uint64_t epoch;
	uint64_t seq;
	const uint8_t *bytes; /* encoded Entry */
	size_t len;
};

int ucr_store_open(struct ucr_store **out, const char *dir, unsigned flags,
    size_t mapsize);

/*
 * Clear the reader slots of processes that died inside a read transaction
 * (mdb_reader_check); *dead, if not NULL, gets how many. Done at open and
 * by each daemon's timer once a minute: without it a few killed CLI reads
 * fill the reader table and every read fails with UCR_ETRANSIENT. A read
 * that meets a full table also clears and retries once by itself.
 */
int ucr_store_reader_check(struct ucr_store *s, int *dead);
/*
 * ucr_store_reader_check at most once a minute: call it from a daemon's
 * loop on every wake-up. Returns how many stale readers it cleared.
 */
int ucr_store_reader_tick(struct ucr_store *s);
void ucr_store_free(struct ucr_store *s);

/*
 * Hand back the memory of a large write. LMDB keeps every page a write
 * transaction dirtied on a free list of its environment for later
 * transactions, never returning it: after a million-record import that is
 * hundreds of MiB of heap for the life of the process. This closes the
 * environment (its list with it) and opens it again; nothing may be open
 * on the store meanwhile (no cursor, no transaction). What the reopen
 * needs (the folder and its files reachable, free file descriptors) is
 * checked before the close: if it is missing the environment stays open
 * as it was, one line is logged and 0 is returned (the store serves on,
 * only the memory is not given back). A failure of the reopen itself,
 * once that check passed, leaves the store unusable (every call fails):
 * the caller stops.
 */
int ucr_store_shed(struct ucr_store *s);

/*
 * The region name is part of every signature's domain tag. Set it before
 * appending or applying. hub may be NULL where the hub's key is unknown.
 */
void ucr_store_set_region(struct ucr_store *s, const char *region,
    const uint8_t *hub);

/*
 * How far ahead of this clock an entry's time may be, in seconds
 * (max_clock_skew; default UCR_DEFAULT_MAX_SKEW). See ucr_store_apply.
 */
void ucr_store_set_max_skew(struct ucr_store *s, unsigned seconds);

/*
 * A time for something this site stamps (a revocation, a checkpoint): from
 * its own clock, after every time the store holds or has made, and after
 * floor. Monotonic for the life of the store object; a reopened store
 * starts from its newest head.
 */
uint64_t ucr_store_time_next(struct ucr_store *s, uint64_t floor);

/*
 * The store's own log: author and epoch. The first call on a new store
 * makes a random epoch and records author and owner (municipality code or
 * "region"); later calls check the author matches (UCR_EINVAL if not).
 */
int ucr_store_set_identity(struct ucr_store *s, const uint8_t *author,
    const char *owner);
int ucr_store_identity(struct ucr_store *s, uint8_t *author, uint64_t *epoch,
    char *owner, size_t ownerlen);

/* The head of one log; UCR_ENOTFOUND if none is held. */
int ucr_store_head(struct ucr_store *s, const uint8_t *author, uint64_t epoch,
    struct ucr_head *out);
/* Every head, in key order. A non-zero return from cb stops and is returned. */
int ucr_store_foreach_head(struct ucr_store *s,
    int (*cb)(const struct ucr_head *, void *), void *ctx);

/*
 * Apply a signed batch from any author: verify signature and chain from
 * the held head, the author's authority (roster) at each entry's time,
 * ownership and schema of every record; then commit entries, signature,
 * head and records in one transaction. Returns:
 *   0            committed (*applied = number of new entries)
 *   UCR_EDUP     every entry already held, identical
 *   UCR_EGAP     first seq beyond head + 1
 *   UCR_EFORK    an entry differs from the one held at its seq; the
 *                evidence is quarantined and the log stopped
 *   UCR_ESTOPPED the log is stopped after a fork
 *   UCR_ETIME    an entry's time is not after the one before it in its
 *                log, or is more than max_skew seconds ahead of ours
 *   UCR_EBADSIG, UCR_ECHAIN, UCR_EORDER, UCR_EPROTO, UCR_EOWNER,
 *   UCR_EROSTER, UCR_ESCHEMA, UCR_EEPOCH, UCR_EFULL: nothing written.
 * Overlap with held entries is allowed (a resend): held ones must match.
 * why, if not NULL, gets a one-line reason.
 */
int ucr_store_apply(struct ucr_store *s, const Ucr__Batch *b, size_t *applied,
    char *why, size_t whylen);

/*
 * Group commit: apply several received batches in ONE write transaction
 * (one durable commit, one fsync) with the verdict of each as
 * ucr_store_apply would give it. Each batch is applied in a nested
 * transaction of its own: one that is refused (a forged signature, a gap,
 * a bad record) writes nothing and spoils none of the others; a fork
 * keeps its evidence as alone. Batches are applied in order, so a later
 * batch of the same log continues an earlier one of the group.
 *
 * Returns 0 when the group committed: then, and only then, is every item
 * with rc 0 durable (and may be acknowledged). On a failed commit every
 * item that would have been written gets the commit's error in rc (so a
 * caller never acknowledges it) and that error is returned. A batch that
 * fails for want of room in a shared transaction (UCR_EFULL) is retried
 * alone after the group.
 */
struct ucr_apply_item {
	const Ucr__Batch *batch;
	int rc;         /* out: as ucr_store_apply */
	size_t applied; /* out: new entries */
	char why[256];  /* out: a one-line reason when rc != 0 */
	int ahead; /* in (ucr_store_apply_group_hook only): ucr_store_ahead's
		      ticket, or 0; given back, 0 after the call */
};

/* A group is drawn from what is already received, up to these budgets. */
#define UCR_GROUP_MAX_BATCHES 32
#define UCR_GROUP_MAX_ENTRIES 16384
#define UCR_GROUP_MAX_BYTES ((size_t)4 << 20) /* the hub's memory budget */

int ucr_store_apply_group(struct ucr_store *s, struct ucr_apply_item *items,
    size_t n);
/*
 * UCR_PRECHECK_ON: ucr_store_apply_group checks what of a group's batches
 * needs no store (each entry decoded and hashed, the chain within the
 * batch, the signature, each record decoded, validated and hashed) on a
 * second thread, ahead of the applying thread, which then checks the rest
 * (the chain onto the log's head, roster, times, forks) and writes; a
 * batch the thread has not checked yet is applied by the usual path, so
 * the applying thread never waits for it. The thread is the store's,
 * started at the first batch handed to it and joined by ucr_store_free;
 * its memory is a slot's arena per batch held (each keeps one 64 KiB
 * chunk when given back). Off until set: a hub sets it unless configured
 * with ingest_threads = 1. UCR_PRECHECK_WAIT:
 * the same, but every batch after the first is checked ahead, waited for
 * (tests).
 */
/*
 * Hands a received batch to the checks ahead (UCR_PRECHECK_ON) before its
 * group is applied: the store's thread checks it while the caller goes on
 * (applies other batches, receives more, waits for a commit). Returns a
 * ticket for ucr_apply_item.ahead, or 0 (checks ahead off, or all of its
 * 2 * UCR_GROUP_MAX_BATCHES slots held: the batch takes the usual path).
 * The batch must stay as it is until its ticket is given back: by
 * ucr_store_apply_group* (which does so for every item, and sets ahead
 * to 0), or by ucr_store_ahead_drop for a batch that is not applied.
 */
int ucr_store_ahead(struct ucr_store *s, const Ucr__Batch *b);
void ucr_store_ahead_drop(struct ucr_store *s, int ticket);
/*
 * ucr_store_apply_group, and before_commit(arg) called after the batches
 * are applied and before the group's durable commit (also when nothing is
 * to be committed): work the caller does while nothing of the group is
 * answered yet. It must not touch the store (the write transaction is
 * open on this thread); it may hand batches to ucr_store_ahead... which
 * the store's thread then checks while the commit waits for the disk.
 */
int ucr_store_apply_group_hook(struct ucr_store *s,
    struct ucr_apply_item *items, size_t n, void (*before_commit)(void *),
    void *arg);
#define UCR_PRECHECK_OFF 0
#define UCR_PRECHECK_ON 1
#define UCR_PRECHECK_WAIT 2
void ucr_store_set_precheck(struct ucr_store *s, int mode);

/* How a local write treats a key that is, or is not, held. */
enum ucr_put_mode {
	UCR_PUT_UPSERT = 0,
	UCR_PUT_CREATE = 1,
	UCR_PUT_UPDATE = 2
};

/*
 * One put (zero it before filling it in): a record, or (record NULL,
 * bytes not NULL; ucr_store_append_checked only) the record already
 * encoded by ucr_record_encode after it passed ucr_record_validate, with
 * its key, tombstone flag and body case beside it, so that the append
 * neither decodes nor encodes it again (a streamed import; not with
 * adopt_keys).
 */
struct ucr_put {
	Ucr__Record *record; /* key and owner set; NULL with bytes */
	enum ucr_put_mode mode;
	const char *const
	    *adopt_keys; /* decision: bind these records' hashes */
	size_t nadopt;
	const uint8_t *bytes; /* or NULL */
	size_t len;
	const char *key;
	int tombstone;
	uint32_t kind; /* Ucr__Record__BodyCase */
	/*
	 * With bytes, optionally: the record's fields the store reads of it
	 * as it applies it, so that it is not decoded again there: its owner
	 * (the roster's check) and a measurement's area (NULL if none), year
	 * and status (the view index). owner NULL: the bytes are decoded.
	 */
	const char *owner;
	const char *area;
	uint32_t year;
	int status;
};

/*
 * Append records to the store's own log as one signed batch, all or none:
 * assigns seq, prev and HLC time, signs with key, and commits through the
 * same checks as ucr_store_apply. Any n >= 1: more than
 * UCR_MAX_BATCH_ENTRIES puts become several signed batches committed in
 * the one transaction. Within the puts, a key's last earlier put decides
 * whether it is held. UCR_EEXIST for a CREATE of a held key,
 * UCR_ENOTFOUND for an UPDATE of an unknown one or an unknown adopt key;
 * *bad is the index of the failing put.
 */
int ucr_store_append(struct ucr_store *s, const struct ucr_key *key,
    struct ucr_put *puts, size_t n, uint64_t *first, uint64_t *last,
    size_t *bad, char *why, size_t whylen);

/*
 * ucr_store_append with a request id (1..64 bytes; idlen 0: none). The id
 * is stored in the write's own transaction; a later call with an id
 * already stored writes nothing, sets *replayed and gives the original
 * first and last seq. The store remembers the last 4096 ids.
 */
int ucr_store_append_once(struct ucr_store *s, const struct ucr_key *key,
    const uint8_t *id, size_t idlen, struct ucr_put *puts, size_t n,
    uint64_t *first, uint64_t *last, int *replayed, size_t *bad, char *why,
    size_t whylen);

/*
 * The write journal (docs/design.md, "Answer after the journal"): a daemon
 * that answers writes opens it once at its start, in the store's folder
 * (UCR_STORE_JOURNAL, mode 0600). Opening it also recovers the write it
 * holds if the store lacks it: a write answered once journaled whose
 * commit a crash cut off is applied, the same signed batch and its request
 * id, when it extends this store's own log exactly; anything else in the
 * file (an older write, another epoch, a torn record) is left alone.
 * 0, or an error (why filled): the daemon then answers after the commit.
 * A read-only ucr_store_open by another process, while a daemon holds the
 * store, waits (at most 1 s) for the commit of a write the journal names
 * beyond the head: what a daemon has answered, its store's readers see.
 */
#define UCR_STORE_JOURNAL "write.journal"
int ucr_store_journal_open(struct ucr_store *s, char *why, size_t whylen);
/*
 * Arm the journal for the next append only. If that append builds one
 * signed batch of at most UCR_STORE_JOURNAL_MAX bytes, it is written to
 * the journal and synced (one write and one fdatasync of one small file)
 * where the commit would be, and the append returns with its transaction
 * still open: the write is durable and may be answered; the caller then
 * calls ucr_store_commit_deferred. Otherwise the append commits as usual.
 */
#define UCR_STORE_JOURNAL_MAX (1u << 20)
void ucr_store_defer_next(struct ucr_store *s);
/*
 * 1 while an append's commit waits (ucr_store_commit_deferred), or an
 * answered write is in the journal only (its commit failed); else 0.
 */
int ucr_store_deferred(const struct ucr_store *s);
/*
 * Commit the append left open by ucr_store_defer_next; 0 if none waits.
 * Every other write of the store, ucr_store_shed and ucr_store_free commit
 * it first. If the commit fails, the write is in the journal only: the
 * store applies it from there at once, then at each own append and at
 * the next calls, at most once a second (UCR_EAGAIN: not tried, too
 * soon); own writes are refused until it is in, with the reason.
 */
int ucr_store_commit_deferred(struct ucr_store *s);
/*
 * The signed batch of the append whose commit waits (durable in the
 * journal): *bytes (packed, inside the store: valid until the commit or
 * the next write) and *len; UCR_ENOTFOUND when no commit waits.
 */
int ucr_store_deferred_batch(const struct ucr_store *s, const uint8_t **bytes,
    size_t *len);

/*
 * The puts of one write, one at a time: fill *put and return 1, return 0
 * after the last, or a negative UCR_E* code (why filled) to abandon the
 * write. The put (its record and adopted keys) must stay valid until the
 * next call; what the iterator holds after the write is its own to free.
 */
typedef int (
    *ucr_put_next_fn)(void *ctx, struct ucr_put *put, char *why, size_t whylen);

/* An iterator over an array of puts: a->i counts those given. */
struct ucr_put_array {
	struct ucr_put *puts;
	size_t n, i;
};
int ucr_put_array_next(void *ctx, struct ucr_put *put, char *why,
    size_t whylen);

/*
 * The folder of the store's files, for files that go with the store (a
 * staged import); UCR_ETOOBIG if it does not fit in len.
 */
int ucr_store_dir(struct ucr_store *s, char *buf, size_t len);

/*
 * ucr_store_append_once with the puts from an iterator, so that a write of
 * any size never holds more than one put and one signed batch in memory:
 * each batch is applied inside the write's transaction as it is built,
 * and a put finds the earlier puts of its write there (create, update,
 * adopt), or in the batch being built. hint: the number of puts when known
 * (it sizes the batch), else 0. *bad is the index of the failing put,
 * counted from 0 in the iterator's order; an iterator's error fails the
 * write with *bad at the put it could not give.
 */
int ucr_store_append_stream(struct ucr_store *s, const struct ucr_key *key,
    const uint8_t *id, size_t idlen, ucr_put_next_fn next, void *ctx,
    size_t hint, uint64_t *first, uint64_t *last, int *replayed, size_t *bad,
    char *why, size_t whylen);

/*
 * ucr_store_append_stream for a caller that has run ucr_record_validate
 * on the record of every put it gives (the daemon's control socket: a
 * Put, many, an import's commit), so that the append does not run it
 * again, and whose puts may be of bytes. Every other append validates
 * each record in its transaction and refuses a put of bytes (UCR_EINVAL).
 */
int ucr_store_append_checked(struct ucr_store *s, const struct ucr_key *key,
    const uint8_t *id, size_t idlen, ucr_put_next_fn next, void *ctx,
    size_t hint, uint64_t *first, uint64_t *last, int *replayed, size_t *bad,
    char *why, size_t whylen);

/*
 * Build a signed batch of the held entries from..to of one log, for
 * sending. If key is the log's author a fresh signature is made; otherwise
 * to is lowered to the highest seq that has a stored signature (relay)
 * and may come back below from: UCR_ENOTFOUND. At most maxbytes of
 * entries (at least one entry). Free with ucr_batch_free() (not
 * ucr__batch__free_unpacked: the batch is built, not unpacked).
 */
int ucr_store_batch(struct ucr_store *s, const struct ucr_key *key,
    const uint8_t *author, uint64_t epoch, uint64_t from, uint64_t to,
    size_t maxbytes, Ucr__Batch **out);
void ucr_batch_free(Ucr__Batch *b);

/*
 * The batch ucr_store_batch() builds, encoded as a Frame with that batch
 * as its body, byte for byte what ucr__frame__pack() makes of it, built
 * straight from the store's pages in one read transaction: one walk of
 * the log's entries and signatures, no copy of an entry but the
 * encoding's own. The encoding goes into alloc(len, ctx), which the
 * caller owns (NULL from alloc: UCR_ENOMEM). info says what it holds;
 * info->full is set when maxbytes or the entry cap cut it, so that the
 * same call gives the same bytes whatever is appended to the log later
 * (else it ended at the head or at to, and more may follow).
 */
struct ucr_batch_info {
	uint64_t first, last; /* its seqs */
	size_t n;             /* entries */
	size_t bytes;         /* the entries' bytes */
	size_t len;           /* the encoded frame's bytes */
	int full;
};
typedef void *(*ucr_frame_alloc_fn)(size_t len, void *ctx);
int ucr_store_batch_frame(struct ucr_store *s, const struct ucr_key *key,
    const uint8_t *author, uint64_t epoch, uint64_t from, uint64_t to,
    size_t maxbytes, ucr_frame_alloc_fn alloc, void *ctx,
    struct ucr_batch_info *info);

/* The current version of one key; UCR_ENOTFOUND. */
int ucr_store_get(struct ucr_store *s, const char *key,
    int (*cb)(const struct ucr_rec *, void *), void *ctx);
/* Every current record whose key starts with prefix ("" for all). */
int ucr_store_foreach_record(struct ucr_store *s, const char *prefix,
    int (*cb)(const struct ucr_rec *, void *), void *ctx);
/*
 * Every current record with from <= key < to, in key order, in one read
 * transaction (from NULL or "": the first key; to NULL or "": the last).
 * cb returns 0 for the next key, UCR_STORE_SEEK after writing a key
 * greater than the current one into seek (seeklen bytes, NUL-terminated)
 * to go on from the first key at or after it, UCR_STORE_STOP to end
 * early (the call returns 0), or a negative code to end with it. The
 * view's loader skips ranges of keys with it (docs/design.md).
 */
/* An encoded record's tombstone flag read without decoding it: 1, 0, or -1
   if the bytes are malformed. */
int ucr_store_tombstone(const uint8_t *bytes, size_t len);
#define UCR_STORE_SEEK 1
#define UCR_STORE_STOP 2
int ucr_store_foreach_record_range(struct ucr_store *s, const char *from,
    const char *to,
    int (*cb)(const struct ucr_rec *, char *seek, size_t seeklen, void *),
    void *ctx);
/*
 * The view index, kept in the same transaction as the records: *live the
 * number of current records that are neither tombstones nor bodiless, and
 * years[i] the newest year not after maxyear of a current, not missing,
 * measurement of areas[i] (0: none). UCR_ENOTFOUND if the store has no index
 * yet (made before it, and not opened for writing since).
 */
int ucr_store_view_index(struct ucr_store *s, uint64_t *live,
    const char *const *areas, size_t nareas, unsigned maxyear, unsigned *years);
/* Entries of one log from seq from on. */
int ucr_store_foreach_entry(struct ucr_store *s, const uint8_t *author,
    uint64_t epoch, uint64_t from,
    int (*cb)(const struct ucr_entry_info *, void *), void *ctx);

/* Quarantine: refused or forked input, kept as evidence. */
struct ucr_quarantine {
	uint64_t time;
	const char *reason;
	const uint8_t *author; /* may be NULL */
	uint64_t epoch, seq;
	const uint8_t *held; /* entry held at seq, may be NULL */
	size_t heldlen;
	const uint8_t *offered; /* what was offered */
	size_t offeredlen;
	/*
	 * Fork evidence (may be NULL): two packed signed batches of the
	 * author's log, each verifiable alone (docs/protocol.md): the held
	 * entries from the first differing seq up to a signed seq with the
	 * stored signature, and the batch offered as received. seq is then
	 * the first differing seq. ucr_fork_evidence_check() checks them.
	 */
	const uint8_t *held_batch;
	size_t held_batchlen;
	const uint8_t *offered_batch;
	size_t offered_batchlen;
};
int ucr_store_quarantine_put(struct ucr_store *s,
    const struct ucr_quarantine *q);
int ucr_store_foreach_quarantine(struct ucr_store *s,
    int (*cb)(const struct ucr_quarantine *, void *), void *ctx);

/* Small named values (meta database). get: UCR_ENOTFOUND, UCR_ETOOBIG. */
int ucr_store_meta_get(struct ucr_store *s, const char *name, void *buf,
    size_t len, size_t *outlen);
int ucr_store_meta_put(struct ucr_store *s, const char *name, const void *buf,
    size_t len);

/*
 * A named value of any size up to maxlen, copied into a malloc'd buffer
 * the caller frees. UCR_ENOTFOUND, UCR_ETOOBIG (over maxlen), UCR_ENOMEM.
 */
int ucr_store_meta_get_alloc(struct ucr_store *s, const char *name,
    size_t maxlen, uint8_t **out, size_t *outlen);
/* Delete two named values in one transaction (absent ones are no error). */
int ucr_store_meta_del2(struct ucr_store *s, const char *name1,
    const char *name2);
/* Two named values in one transaction: both are written or neither. */
int ucr_store_meta_put2(struct ucr_store *s, const char *name1,
    const void *buf1, size_t len1, const char *name2, const void *buf2,
    size_t len2);

struct ucr_store_stats {
	uint64_t entries, records, logs, quarantined, sigs;
	size_t map_size, map_used;
};
int ucr_store_stats(struct ucr_store *s, struct ucr_store_stats *out);

/*
 * Re-verify every log: each signature and the hash chain of every entry.
 * Calls cb for each log checked (NULL ok). Returns 0 or the first error,
 * with why naming the log and seq.
 */
int ucr_store_verify(struct ucr_store *s,
    int (*cb)(const struct ucr_head *, uint64_t batches, void *), void *ctx,
    char *why, size_t whylen);

/*
 * Restore without loss: b is a batch of this store's own log as the hub
 * holds it (signed by key, so by us), fetched back after the hub said that
 * its entries differ from ours or go further. In one transaction:
 *   - b must chain onto the entry we hold before its first seq (else
 *     UCR_ECHAIN: fetch from further back; UCR_EGAP if it starts beyond
 *     our head + 1);
 *   - where b extends what we hold, our log grows (*recovered);
 *   - where b differs first at seq d (*from = d), our entries d..head,
 *     which the hub never accepted, are taken out, b's are applied, and
 *     the records of ours are appended again on top, re-signed with new
 *     seqs and times (*rebased); the records they wrote come back in the
 *     same transaction, so nothing acknowledged locally is lost;
 *   - UCR_EDUP: b equals what we hold; any difference lies beyond it.
 */
int ucr_store_rebase(struct ucr_store *s, const struct ucr_key *key,
    const Ucr__Batch *b, size_t *recovered, size_t *rebased, uint64_t *from,
    char *why, size_t whylen);

/*
 * The start-up check: for every log, its head against its newest entries
 * and the signature of its newest batch (O(logs), not O(entries)); with
 * full, ucr_store_verify (every entry and signature). 0, or UCR_ECORRUPT
 * (or an I/O code) with why naming the log and seq. *logs (may be NULL)
 * gets the number of logs checked.
 */
int ucr_store_check(struct ucr_store *s, int full, uint64_t *logs, char *why,
    size_t whylen);

/*
 * May a log (author, epoch) start here? UCR_EEPOCH when this is a hub
 * store holding another epoch of the author and this one is not accepted
 * (an EpochAccept record); 0 otherwise.
 */
int ucr_store_log_admissible(struct ucr_store *s, const uint8_t *author,
    uint64_t epoch);
/* Hash of the entry held at seq; UCR_ENOTFOUND. */
int ucr_store_entry_hash(struct ucr_store *s, const uint8_t *author,
    uint64_t epoch, uint64_t seq, uint8_t out[32]);
/*
 * Stop a log after a fork seen outside a batch (a hello whose head hash
 * differs): quarantine what was offered with the held entry, mark the head.
 */
int ucr_store_stop_log(struct ucr_store *s, const uint8_t *author,
    uint64_t epoch, uint64_t seq, const uint8_t *offered, size_t len,
    const char *reason);

/* Digest of the view: BLAKE2b-256 over every (key, hash) in key order. */
int ucr_store_view_digest(struct ucr_store *s, uint8_t out[32]);
/*
 * A hub's checkpoint, from one read transaction: cb with every head in
 * key order, then the view digest (ucr_store_view_digest's) into digest.
 * cb is called with NULL once the transaction has begun (what it reads is
 * fixed from then on) and again now and then while the records are
 * walked (every 65 536 records). A non-zero return from cb stops and is
 * returned. Safe on another thread while the store's owner reads and
 * writes; never concurrently with ucr_store_shed or ucr_store_free.
 */
int ucr_store_snapshot(struct ucr_store *s,
    int (*cb)(const struct ucr_head *, void *), void *ctx, uint8_t digest[32]);

#endif
