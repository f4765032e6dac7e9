/*
 * roster.h: who a key is, and what it may write. The one place that
 * answers "may this key, in this role, write this record now?" (the
 * store's apply), "may this key connect?" (the hub's ZAP handler and every
 * message on an open connection) and "whose key is this?" (the view).
 *
 * The roster is the set of region/roster/<hex key> records, written only
 * by the hub's key. Roles (docs/design.md):
 *   node    writes the records of its municipality, and only while its
 *           entry is in force: valid_from <= time < revoked_at
 *   reader  connects and reads; never writes
 *   hub     the region's own key, the one configured as the hub key: the
 *           only writer of region records. A roster entry that says
 *           "hub" or code "region" for any other key grants nothing.
 */
#ifndef UCR_ROSTER_H
#define UCR_ROSTER_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "store.h"
#include "ucr.pb-c.h"

/* The values of the wire's Role enum. */
enum ucr_role { UCR_ROLE_NODE = 0, UCR_ROLE_HUB = 1, UCR_ROLE_READER = 2 };

/* One key's entry, copied out of its record (no borrowed pointers). */
struct ucr_roster_entry {
	uint8_t pk[UCR_PK_LEN];
	char code[16];       /* municipality code, or "region" */
	char name[64];       /* display name, truncated */
	int role;            /* enum ucr_role */
	uint64_t valid_from; /* HLC time the entry takes effect */
	uint64_t revoked_at; /* HLC time it stops; 0: in force */
	int is_hub;          /* the configured hub key (not from a record) */
};

/* "node", "reader", "hub"; "?" for anything else. Static. */
const char *ucr_role_name(int role);
/* The role of a name, or -1 if it is none of the three. */
int ucr_role_parse(const char *name);

/*
 * An entry from a decoded record / from encoded record bytes. 0;
 * UCR_ENOTFOUND for a tombstone or a record that is not a roster entry;
 * UCR_EPROTO for undecodable bytes or a public key that is not 32 bytes.
 */
int ucr_roster_from_record(struct ucr_roster_entry *out, const Ucr__Record *r);
int ucr_roster_parse(struct ucr_roster_entry *out, const uint8_t *bytes,
    size_t len);

/*
 * The hub key's own entry: role hub, code "region", in force from the
 * beginning and never revoked (a hub key is replaced, not revoked).
 */
void ucr_roster_hub(struct ucr_roster_entry *out, const uint8_t *pk);

/*
 * Who is this key? Looks up region/roster/<hex> in s (one read). 0,
 * UCR_ENOTFOUND, or a store error (UCR_ETRANSIENT and others): a caller
 * must not take a store error for "unknown".
 */
int ucr_roster_lookup(struct ucr_store *s, const uint8_t *pk,
    struct ucr_roster_entry *out);
/*
 * The same by the key's CURVE (X25519) form, as ZAP sees it. O(roster):
 * every entry's key is converted; fine for a region's few dozen keys and
 * done once per connection, not per message.
 */
int ucr_roster_lookup_curve(struct ucr_store *s, const uint8_t *curve,
    struct ucr_roster_entry *out);

/* Is the entry in force at time? 0 or UCR_EROSTER. */
int ucr_roster_valid_at(const struct ucr_roster_entry *e, uint64_t time);

/*
 * May this key hold a connection to the hub now? 0 for a node's or a
 * reader's key of a municipality that is not revoked; UCR_EROSTER if
 * revoked; UCR_EROLE for a hub role or the code "region" (only the hub is
 * the region, and it does not connect to itself). why (may be NULL) gets
 * a reason.
 */
int ucr_roster_admit(const struct ucr_roster_entry *e, char *why,
    size_t whylen);

/*
 * May this key write a record of owner (the record key's first part) in
 * an entry timed time? 0; UCR_EROSTER if the entry is not in force at
 * time; UCR_EROLE for a reader, or for a region record by any key but the
 * hub's; UCR_EOWNER for another municipality's record.
 */
int ucr_roster_may_write(const struct ucr_roster_entry *e, const char *owner,
    uint64_t time, char *why, size_t whylen);

/*
 * May the administrator enrol a key with this code and role (roster add)?
 * 0; UCR_EROLE for the code "region" or the role hub (the hub's own key is
 * enrolled by the hub itself); UCR_EINVAL for an unknown code or role.
 */
int ucr_roster_enrol_check(const char *code, int role, char *why,
    size_t whylen);

#endif
