/*
 * checkpoint.h: the hub's signed checkpoints (every log's head, the time
 * and the view digest), checked by nodes and by ucr verify against freeze
 * and rollback: a checkpoint must verify under the hub's key, be newer than
 * the last one seen, and no log's head in it may go back.
 */
#ifndef UCR_CHECKPOINT_H
#define UCR_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "ucr.pb-c.h"

/*
 * Verify a checkpoint's signature under hub (32 bytes) and region, and
 * decode its body into *out (free with
 * ucr__checkpoint_body__free_unpacked). UCR_EBADSIG, UCR_EPROTO.
 */
int ucr_checkpoint_verify(Ucr__CheckpointBody **out, const uint8_t *body,
    size_t len, const uint8_t *sig, size_t siglen, const uint8_t *hub,
    const char *region);

/*
 * Does next follow prev: a later time, the same hub, and every log of
 * prev at the same or a higher seq in next? 0 or UCR_EROLLBACK with why.
 */
int ucr_checkpoint_follows(const Ucr__CheckpointBody *prev,
    const Ucr__CheckpointBody *next, char *why, size_t whylen);

/* The largest checkpoint body kept or taken: one wire frame's worth. */
#define UCR_CHECKPOINT_MAXLEN ((size_t)8 << 20)

/*
 * The stored checkpoint (meta "checkpoint" and "checkpoint-sig"), verified
 * under hub. UCR_ENOTFOUND if there is none; UCR_ECHECKPOINT if it is
 * there but unusable (over UCR_CHECKPOINT_MAXLEN, signature missing, or
 * it fails to verify); other store errors as they come. why gets a line.
 */
int ucr_checkpoint_load(struct ucr_store *s, const uint8_t *hub,
    const char *region, Ucr__CheckpointBody **out, char *why, size_t whylen);

/*
 * A node takes a checkpoint from the hub: it must verify (UCR_EBADSIG,
 * UCR_EPROTO) and follow the stored one (UCR_EROLLBACK). The check fails
 * closed: a stored checkpoint that cannot be read or verified refuses the
 * new one with UCR_ECHECKPOINT instead of skipping the rollback check. A
 * checkpoint taken is stored with its signature in one transaction.
 */
int ucr_checkpoint_accept(struct ucr_store *s, const uint8_t *hub,
    const char *region, const uint8_t *body, size_t len, const uint8_t *sig,
    size_t siglen, char *why, size_t whylen);

/*
 * Clear the stored checkpoint (meta "checkpoint" and "checkpoint-sig"),
 * so that the next one from the hub is taken without a rollback check:
 * the way out of UCR_ECHECKPOINT (a damaged checkpoint, or one signed by
 * a hub key the configuration no longer names). Only an unusable one,
 * unless force: a usable one is kept, UCR_ECPVALID. UCR_ENOTFOUND if none
 * is stored. why gets what was wrong with it.
 */
int ucr_checkpoint_clear(struct ucr_store *s, const uint8_t *hub,
    const char *region, int force, char *why, size_t whylen);

/*
 * The time for the hub's next checkpoint: from its own clock, after every
 * time its store holds and after its previous checkpoint, so checkpoints
 * follow each other even if the wall clock steps back.
 */
uint64_t ucr_checkpoint_time(struct ucr_store *s);

/* Store a checkpoint and its signature in one transaction. */
int ucr_checkpoint_store(struct ucr_store *s, const uint8_t *body, size_t len,
    const uint8_t *sig, size_t siglen);

/*
 * Check a store's heads against its stored checkpoint (meta "checkpoint"):
 * a log held below the seq the checkpoint records went back (a store
 * restored from an old copy). *age_ms gets the checkpoint's age, *logs_behind
 * how many logs are below it. UCR_ENOTFOUND if there is no checkpoint.
 */
int ucr_checkpoint_against_store(struct ucr_store *s, const uint8_t *hub,
    const char *region, uint64_t *age_ms, size_t *logs_behind, char *why,
    size_t whylen);

#endif
