/*
 * control.h: the daemons' control socket protocol (REQ/REP, one protobuf
 * Request in, one Reply out), shared by ucr-node and ucr-hub.
 *
 * The control socket is the only write path: the daemon validates every
 * record again (the socket is an interface too), signs and appends. A
 * malformed request gets an error reply, never a crash.
 */
#ifndef UCR_CONTROL_H
#define UCR_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "store.h"

struct ucr_ctlsrv_counts;

#define UCR_CONTROL_MAXMSG (64 << 20) /* largest request: a big import */

/*
 * Answer a query the generic handler does not know ("peers", "roster").
 * Fill rep->json (malloc'd; freed by the caller) or set rep->code.
 */
typedef void (
    *ucr_control_query_fn)(const char *what, Ucr__Reply *rep, void *ctx);

struct ucr_control {
	struct ucr_store *store;
	const struct ucr_key *key;
	const char *owner;          /* the only owner this daemon writes */
	ucr_control_query_fn query; /* may be NULL */
	void *ctx;
	void (*appended)(void *ctx); /* after a commit (sync kicks), or NULL */
	/* an answered write is durable in the journal and its commit is
	 * about to be made (ucr_store_deferred_batch has its batch: the
	 * node's sync sends it now), or NULL */
	void (*journaled)(void *ctx);
	/* 0 to refuse writes for now (why filled), or NULL: always allowed */
	int (*may_write)(void *ctx, char *why, size_t whylen);
	/* before the store is reopened (ucr_store_shed): no other thread
	 * of the daemon may read it then; or NULL */
	void (*quiesce)(void *ctx);
	uint64_t requests, refused; /* counters */
	/* the control socket's own counters (ctlsrv.h), or NULL */
	const struct ucr_ctlsrv_counts *transport;
	uint64_t replayed;          /* retried writes answered from memory */
	struct ucr_import_stage *import; /* a streamed import, or NULL */
	unsigned import_idle_s; /* an idle import is dropped; 0: 60 s */
	unsigned import_max_s;  /* one open longer is dropped; 0: 1 h */
	/* answer a write once it is in the store's journal, its commit made
	 * by ucr_control_after (set before ucr_control_open; the daemons) */
	int defer;
	int kick; /* appended is due once the deferred commit is made */
};

/*
 * Handle one request of len bytes; *out (malloc'd, caller frees) gets the
 * encoded reply. Never fails for bad input: that is an error reply.
 * Returns 0, or UCR_ENOMEM when no reply could be built.
 */
int ucr_control_handle(struct ucr_control *c, const void *buf, size_t len,
    uint8_t **out, size_t *outlen);
/*
 * At the daemon's start, once store is set: remove a staged import that a
 * crash left in the store's folder; with defer, open the store's write
 * journal (and so apply a write answered but not committed before a
 * crash; ucr_store_journal_open).
 */
void ucr_control_open(struct ucr_control *c);
/*
 * Once an answer has gone out: the commit of the write it answered, if
 * deferred (defer), then appended. Every request and tick makes it first.
 */
void ucr_control_after(struct ucr_control *c);
/* Now and then (the daemon's loop): drop an import left idle too long. */
void ucr_control_tick(struct ucr_control *c);
/* Free what the control state holds (a staged import and its file). */
void ucr_control_close(struct ucr_control *c);

#endif
