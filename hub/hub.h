/*
 * hub.h: ucr-hub, the regional daemon. One internal header, split by file
 * (ntpd style): main.c (start-up, loop, self-test), zap.c (who may
 * connect), peer.c (the sync server: peers, relay, checkpoints), query.c
 * (the view for readers).
 */
#ifndef UCR_HUB_H
#define UCR_HUB_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "control.h"
#include "daemon.h"
#include "wire.h"

#define HUB_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define HUB_ZAP_DOMAIN "ucr"

struct peer;

/*
 * ZMTP heartbeat time-to-live and timeout (main.c): a connection is
 * dropped only after this long without any traffic. On a slow link one
 * relay batch, which cannot be cut below the author's signed ranges, may
 * take several seconds on the wire; any frame is a sign of life.
 */
#define HUB_HEARTBEAT_MS 30000

/* The sync socket's queues per connection, in messages (main.c). */
#define HUB_SNDHWM 32
#define HUB_RCVHWM 4

/* Refusals are counted by code: UCR_EINVAL (-30001) down to -30050. */
#define HUB_CODES 50

/*
 * Messages received ahead while a group's commit waits for the disk
 * (peer.c, drain_ahead), handled by peer_dispatch after the commit in the
 * order received: a ring of at most HUB_STASH_MAX.
 */
#define HUB_STASH_MAX 64

struct hub_inmsg {
	struct ucr_wire_msg m;
	Ucr__Frame *f; /* decoded ahead (metered), or NULL */
	int rc;        /* ucr_wire_recv's */
	int drc;       /* ucr_wire_decode's (metered) */
	int metered;   /* the quota taken and the frame decoded */
	int ticket;    /* ucr_store_ahead's, for a batch */
};

struct hub_drain {
	struct hub_inmsg stash[HUB_STASH_MAX];
	size_t head, n; /* the ring: its oldest, how many */
	int on;         /* receive ahead during a commit (this pass) */
	int64_t until;  /* ... until then (ms) */
};

/* All daemon state. */
struct hub {
	struct ucr_daemon d;    /* config, key, store, control socket */
	struct ucr_control ctl; /* control request handling */
	void *router;           /* the sync socket, CURVE server */
	void *zap;              /* ZAP handler, REP on inproc */
	struct peer *peers;     /* every node seen since start */
	size_t npeers;
	uint8_t (*refused)[32]; /* CURVE keys refused, logged once */
	size_t nrefused;
	int64_t checkpoint_at; /* next checkpoint */
	int64_t relay_at;      /* next relay retry from the timer */
	int relay_due;         /* some peer's relay waits (peer.c) */
	int64_t relay_since;   /* ... since then (ms) */
	int ingested;          /* batches came in since the last relay_run */
	int busy_test;         /* test hook (ucr-hub-test only): ingested at
				  every pass */
	int changed;           /* store changed since the checkpoint */
	int selftest;          /* during the start-up self-test */
	uint64_t rx, refused_msgs, zap_ok, zap_denied; /* counters */
	uint64_t refusals[HUB_CODES]; /* refused messages by code */
	size_t nlogs;                 /* logs the store holds, recounted */
	struct cp_job *cp;            /* the checkpoint being read, or NULL */
	int cp_fd[2];                 /* its thread says "done" on this pipe */
	uint64_t checkpoints;         /* signed, stored and sent */
	int64_t checkpoint_ms;        /* the last one's snapshot took (ms) */
	struct hub_drain drain;       /* received ahead of a commit (peer.c) */
	/* relays sent at their bound while batches came in (relay_run) */
	uint64_t relay_bounded;
	/* passes over the sync socket ended early for a control request */
	uint64_t passes_cut;
};

extern volatile sig_atomic_t hub_quit;

int64_t hub_now_ms(void);

/* zap.c */
int zap_open(struct hub *h, char *why, size_t whylen);
void zap_dispatch(struct hub *h);

/* peer.c */
void peer_dispatch(struct hub *h); /* the router is readable */
void peer_timer(struct hub *h);    /* relay, checkpoints, staleness */
int64_t peer_timeout(struct hub *h);
void peer_changed(void *h); /* the hub appended records */
void peer_query(const char *what, Ucr__Reply *rep, void *h);
void peer_free_all(struct hub *h);
/*
 * The checkpoint's thread: the pipe end the loop polls, what the loop does
 * when it is readable, and stop-and-join (before the store is reopened or
 * freed; arg is the hub, for ucr_control's quiesce).
 */
int peer_checkpoint_fd(struct hub *h);
void peer_checkpoint_done(struct hub *h);
void peer_checkpoint_wait(void *arg);

/* query.c */
void query_view(struct hub *h, const struct ucr_wire_msg *m,
    const Ucr__ViewQuery *q);
void query_records(struct hub *h, const struct ucr_wire_msg *m,
    const Ucr__RecordQuery *q);

#endif
