/*
 * sync.c: the node's side of the sync protocol (docs/protocol.md).
 *
 * A DEALER socket, CURVE client pinned to the hub's key. The state machine
 * (sync_change_state() logs every transition):
 *
 *   HELLO    hello sent, waiting for the hub's State
 *   RESTORE  the hub holds more of our own log than we do (a restored
 *            backup): fetch it back before writing again
 *   REBASE   the hub holds other entries of our log than we do at some
 *            seq (a restored copy written to before it heard from the
 *            hub): fetch the hub's back, re-base ours on top of them
 *   STREAM   send what the hub lacks within the hub's credits
 *   STOPPED  the hub refused our log (fork, unaccepted epoch, key not in
 *            the roster): keep receiving, send nothing of our own
 *
 * Recovery is always the same: a Hello, answered by a State that says what
 * the hub durably holds; everything after it is sent again. A Hello goes
 * out on every new connection (a socket monitor reports each completed
 * handshake), and Hellos repeat while anything is unacknowledged and the
 * hub is silent, so a hub restart or a lost connection costs one round
 * trip once the connection is back.
 *
 * Local writes wait (the "write gate") until the hub has answered once
 * since start-up, or for at most gate_wait ms when the hub cannot be
 * reached, so a node restored from a backup learns that it is behind
 * before it can fork its own log.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <zmq.h>

#include "chain.h"
#include "checkpoint.h"
#include "error.h"
#include "log.h"
#include "node.h"
#include "record.h"
#include "wire.h"

#define HELLO_FIRST_MS 250  /* hello repeat until the hub answers */
#define HELLO_BUSY_MS 1000  /* hello repeat while unsynced (at least) */
#define HELLO_IDLE_MS 10000 /* hello repeat when in step (a heartbeat) */
#define HELLO_STOPPED_MS 5000
#define FLUSH_WINDOW_MS 5 /* batching window for new local writes */
#define GATE_WAIT_MS 3000 /* writes wait this long for a first State */
#define MAX_BATCH_BYTES (1 << 20)
#define MIN_BATCH_BYTES (16 << 10)
#define START_BATCH_BYTES (64 << 10) /* a new link starts here */
#define BATCH_TIME_MS 1000           /* a batch should take this long */
#define MAX_SILENCE_MS 60000         /* the silence timer's top */
#define MAX_FLIGHTS 16
#define ZMQ_HEARTBEAT_MS 30000 /* any traffic keeps a link; this is a floor */
#define LINK_DEAD_MS 25000 /* nothing heard this long: the link is offline */
#define SYNC_MONITOR "inproc://ucr-sync-monitor"

enum sync_state {
	SYNC_HELLO,
	SYNC_RESTORE,
	SYNC_STREAM,
	SYNC_STOPPED,
	SYNC_REBASE
};

static const char *const state_names[] = {"hello", "restore", "stream",
    "stopped", "rebase"};

struct sync {
	struct node *n;
	void *sock; /* DEALER to the hub */
	void *mon;  /* PAIR: sock's connection events */
	int denied; /* the hub's ZAP refused our key */
	enum sync_state state;
	uint8_t self[UCR_PK_LEN];
	uint64_t epoch;
	uint8_t hub[UCR_PK_LEN]; /* the hub's Ed25519 key */
	uint64_t hub_seq;        /* what the hub durably holds of ours */
	uint64_t next;           /* next seq of ours to send */
	int inflight;            /* batches sent, not acknowledged */
	uint32_t credit_batches; /* window granted by the hub */
	uint64_t credit_bytes;
	int64_t last_rx;     /* ms, last message from the hub */
	int64_t hello_at;    /* next hello */
	int64_t flush_at;    /* pending local writes, 0: none */
	int64_t pause_until; /* quota back-off */
	int64_t gate_at;     /* writes open at this time anyway */
	int gate;            /* local writes allowed */
	int restored;        /* a restored backup: no offline writes */
	int synced_once;
	char why[160];                 /* why STOPPED */
	uint64_t rx, tx, bad, applied; /* counters */
	uint64_t recovered, rebased;   /* own entries fetched back, re-based */
	uint64_t early;       /* batches sent before their commit (journaled) */
	uint64_t rebase_at;   /* REBASE: our entry differs at or below this */
	uint64_t rebase_from; /* REBASE: the seq of our latest fetch */
	uint64_t rebase_back; /* REBASE: how far below rebase_at it was */
	/* flow control: batches in flight, measured RTT and throughput */
	struct flight {
		uint64_t last; /* last seq of the batch */
		size_t bytes;
		int64_t at; /* ms, sent */
	} fl[MAX_FLIGHTS];
	int nfl;
	double srtt;        /* ms, smoothed round trip of a batch */
	double rate;        /* bytes/s, smoothed, of acknowledged batches */
	size_t batch_bytes; /* the next batch's size */
	/* an older hub (protocol.md 5.10) */
	uint32_t hub_revision; /* its State's revision (0: release 0.1.0) */
	int hub_known;         /* a State seen: hub_revision is its */
	uint64_t held_at;      /* our entries from here wait for an upgrade */
	char held[200];        /* why, for ucr peers */
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- flow */

/* Nothing in flight any more (a new State, a refusal): forget the lot. */
static void
flights_clear(struct sync *s)
{
	s->inflight = 0;
	s->nfl = 0;
}

static void
flight_push(struct sync *s, uint64_t last, size_t bytes)
{
	if (s->nfl == MAX_FLIGHTS) {
		memmove(&s->fl[0], &s->fl[1],
		    (MAX_FLIGHTS - 1) * sizeof(s->fl[0]));
		s->nfl--;
	}
	s->fl[s->nfl].last = last;
	s->fl[s->nfl].bytes = bytes;
	s->fl[s->nfl].at = now_ms();
	s->nfl++;
	s->inflight++;
}

/*
 * The hub holds our log to seq: the batches up to it are home. Each one
 * is a sample of the round trip and of the rate; the next batch is sized
 * to take about BATCH_TIME_MS on the wire: doubling while acks come back
 * within that time (a fast link), the rate's worth of bytes otherwise.
 */
static void
flight_ack(struct sync *s, uint64_t seq)
{
	int64_t now = now_ms();
	size_t want;
	int n = 0;

	while (n < s->nfl && s->fl[n].last <= seq) {
		double rtt = (double)(now - s->fl[n].at);
		double rate =
		    (double)s->fl[n].bytes * 1000.0 / (rtt > 1 ? rtt : 1);

		s->srtt = s->srtt > 0 ? 0.875 * s->srtt + 0.125 * rtt : rtt;
		s->rate = s->rate > 0 ? 0.75 * s->rate + 0.25 * rate : rate;
		if (rtt < BATCH_TIME_MS)
			want = s->batch_bytes * 2;
		else
			want = (size_t)(s->rate * BATCH_TIME_MS / 1000.0);
		if (want < MIN_BATCH_BYTES)
			want = MIN_BATCH_BYTES;
		if (want > MAX_BATCH_BYTES)
			want = MAX_BATCH_BYTES;
		s->batch_bytes = want;
		n++;
	}
	if (n > 0) {
		memmove(&s->fl[0], &s->fl[n], (s->nfl - n) * sizeof(s->fl[0]));
		s->nfl -= n;
		s->inflight = s->inflight > n ? s->inflight - n : 0;
	} else if (s->inflight > 0)
		s->inflight--; /* an ack for less: still one answer */
}

/*
 * How long the hub may be silent, with work outstanding, before we start
 * over with a hello: a few round trips on this link, at least
 * HELLO_BUSY_MS. Any frame from the hub counts as life.
 */
static int64_t
silence_ms(const struct sync *s)
{
	double t = 4 * s->srtt + BATCH_TIME_MS;

	if (t < HELLO_BUSY_MS)
		t = HELLO_BUSY_MS;
	if (t > MAX_SILENCE_MS)
		t = MAX_SILENCE_MS;
	return (int64_t)t;
}

static void
sync_change_state(struct sync *s, enum sync_state to, const char *why)
{
	if (s->state == to)
		return;
	log_info("sync: %s -> %s%s%s", state_names[s->state], state_names[to],
	    why ? ": " : "", why ? why : "");
	s->state = to;
}

static void
open_gate(struct sync *s, const char *why)
{
	if (!s->gate)
		log_info("sync: local writes open (%s)", why);
	s->gate = 1;
}

/* The hub has answered: a restored backup's mark has done its work. */
static void
hub_answered(struct sync *s)
{
	if (!s->restored)
		return;
	if (ucr_store_meta_put(s->n->d.store, "needs-hub", "0", 1) != 0)
		log_warnx("sync: cannot clear the restored-backup mark");
	else
		log_info("sync: restored backup is in step with the hub");
	s->restored = 0;
	s->why[0] = '\0';
}

static uint64_t
own_head(struct sync *s, uint8_t hash[32])
{
	struct ucr_head h;

	if (ucr_store_head(s->n->d.store, s->self, s->epoch, &h) != 0) {
		if (hash)
			memset(hash, 0, 32);
		return 0;
	}
	if (hash)
		memcpy(hash, h.hash, 32);
	return h.seq;
}

static int
send_frame(struct sync *s, Ucr__Frame *f)
{
	int rc = ucr_wire_send(s->sock, NULL, 0, f, 1);

	if (rc == 0)
		s->tx++;
	else if (rc != UCR_EAGAIN)
		log_warnx("sync: send %s: %s", ucr_wire_name(f),
		    ucr_strerror(rc));
	return rc;
}

/* ---------------------------------------------------------------- hello */

struct holds {
	Ucr__LogHead **heads;
	Ucr__LogHead *store;
	size_t n, cap;
	const uint8_t *self;
};

static int
holds_cb(const struct ucr_head *h, void *arg)
{
	struct holds *hs = arg;
	Ucr__LogHead *lh;

	if (memcmp(h->author, hs->self, 32) == 0)
		return 0;
	if (hs->n == hs->cap) {
		/* grow both arrays; the pointer array is rebuilt below */
		size_t cap = hs->cap ? hs->cap * 2 : 16;
		Ucr__LogHead *st = realloc(hs->store, cap * sizeof(*st));

		if (st == NULL)
			return UCR_ENOMEM;
		hs->store = st;
		hs->cap = cap;
	}
	lh = &hs->store[hs->n++];
	ucr__log_head__init(lh);
	lh->author.data = malloc(32);
	lh->hash.data = malloc(32);
	if (lh->author.data == NULL || lh->hash.data == NULL)
		return UCR_ENOMEM;
	memcpy(lh->author.data, h->author, 32);
	lh->author.len = 32;
	lh->epoch = h->epoch;
	lh->seq = h->seq;
	memcpy(lh->hash.data, h->hash, 32);
	lh->hash.len = 32;
	return 0;
}

static void
send_hello(struct sync *s)
{
	Ucr__Frame f = UCR__FRAME__INIT;
	Ucr__Hello h = UCR__HELLO__INIT;
	struct holds hs;
	uint8_t hash[32];
	size_t i;

	memset(&hs, 0, sizeof(hs));
	hs.self = s->self;
	ucr_store_foreach_head(s->n->d.store, holds_cb, &hs);
	hs.heads = calloc(hs.n ? hs.n : 1, sizeof(*hs.heads));
	for (i = 0; hs.heads && i < hs.n; i++)
		hs.heads[i] = &hs.store[i];
	h.version = UCR_PROTOCOL_VERSION;
	h.revision = UCR_PROTOCOL_REVISION;
	h.author.data = s->self;
	h.author.len = 32;
	h.epoch = s->epoch;
	h.head_seq = own_head(s, hash);
	h.head_hash.data = hash;
	h.head_hash.len = 32;
	h.holds = hs.heads;
	h.n_holds = hs.heads ? hs.n : 0;
	f.body_case = UCR__FRAME__BODY_HELLO;
	f.hello = &h;
	send_frame(s, &f);
	for (i = 0; i < hs.n; i++) {
		free(hs.store[i].author.data);
		free(hs.store[i].hash.data);
	}
	free(hs.store);
	free(hs.heads);
	s->hello_at = now_ms() +
	    (s->state == SYNC_STOPPED        ? HELLO_STOPPED_MS
		    : s->state == SYNC_HELLO ? HELLO_FIRST_MS
					     : HELLO_BUSY_MS);
}

/* ---------------------------------------------------------------- stream */

/* The last seq of our log to send: all of it, unless held back below. */
static uint64_t
pump_end(const struct sync *s, uint64_t head)
{
	return s->held_at != 0 && s->held_at - 1 < head ? s->held_at - 1 : head;
}

/*
 * A hub of an older revision (release 0.1.0 says none) refuses a record
 * kind it does not know, and we would send it again after every refusal:
 * our log goes to it only up to the entry before the first such kind;
 * the rest waits, stored, until the hub is upgraded, and `ucr peers`
 * says why ("held"). *bp: the batch built, cut here (NULL: nothing).
 */
static int
pump_cut_older(struct sync *s, Ucr__Batch **bp, size_t max)
{
	Ucr__Batch *b = *bp;
	uint32_t kind = 0;
	uint64_t seq, first = b->first_seq;
	size_t i;

	if (!s->hub_known)
		return 0;
	i = ucr_wire_first_unknown_kind(b, s->hub_revision, &kind);
	if (i == b->n_entries)
		return 0;
	seq = first + i;
	ucr_batch_free(b);
	*bp = NULL;
	if (s->held_at == 0 || seq < s->held_at) {
		s->held_at = seq;
		snprintf(s->held, sizeof(s->held),
		    "our entries from seq %llu wait: it is a record kind (%s) "
		    "that the hub's release (0.1.0) does not know; upgrade "
		    "the hub",
		    (unsigned long long)seq,
		    ucr_kind_name((Ucr__Record__BodyCase)kind));
		log_warnx("sync: %s", s->held);
	}
	if (seq <= first)
		return UCR_ENOTFOUND;
	return ucr_store_batch(s->n->d.store, s->n->d.key, s->self, s->epoch,
	    first, seq - 1, max, bp);
}

/* What a State says of the hub's revision; an upgraded hub takes all. */
static void
state_revision(struct sync *s, const Ucr__State *st)
{
	if (!s->hub_known || st->revision != s->hub_revision) {
		s->held_at = 0;
		s->held[0] = '\0';
	}
	s->hub_revision = st->revision;
	s->hub_known = 1;
}

/* The stream may send a batch now: open, not paused, a window free. */
static int
may_send(const struct sync *s)
{
	return s->state == SYNC_STREAM && now_ms() >= s->pause_until &&
	    s->inflight < (int)s->credit_batches && s->inflight < MAX_FLIGHTS;
}

/* The most entry bytes the next batch may carry. */
static size_t
batch_max(const struct sync *s)
{
	return s->credit_bytes < s->batch_bytes ? s->credit_bytes
						: s->batch_bytes;
}

/* Send b, the next batch of our log (bytes: its entries'), and count it in
   flight; what send_frame returns. */
static int
send_batch(struct sync *s, Ucr__Batch *b, size_t bytes, const char *how)
{
	Ucr__Frame f = UCR__FRAME__INIT;
	int rc;

	f.body_case = UCR__FRAME__BODY_BATCH;
	f.batch = b;
	if ((rc = send_frame(s, &f)) != 0)
		return rc;
	log_debug("sync: sent batch %llu-%llu%s",
	    (unsigned long long)b->first_seq, (unsigned long long)b->last_seq,
	    how);
	s->next = b->last_seq + 1;
	flight_push(s, b->last_seq, bytes);
	return 0;
}

static size_t
entry_bytes(const Ucr__Batch *b)
{
	size_t bytes = 0, i;

	for (i = 0; i < b->n_entries; i++)
		bytes += b->entries[i].len;
	return bytes;
}

static void
pump(struct sync *s)
{
	uint8_t hash[32];
	uint64_t head;

	if (!may_send(s))
		return;
	head = own_head(s, hash);
	while (may_send(s) && s->next <= pump_end(s, head)) {
		Ucr__Batch *b;
		size_t max = batch_max(s);
		int rc;

		rc = ucr_store_batch(s->n->d.store, s->n->d.key, s->self,
		    s->epoch, s->next, 0, max, &b);
		if (rc == 0 &&
		    (rc = pump_cut_older(s, &b, max)) == UCR_ENOTFOUND)
			return;
		if (rc != 0) {
			log_warnx("sync: cannot read own log at %llu: %s",
			    (unsigned long long)s->next, ucr_strerror(rc));
			return;
		}
		rc = send_batch(s, b, entry_bytes(b), "");
		ucr_batch_free(b);
		if (rc != 0)
			return;
	}
}

/* ---------------------------------------------------------------- receive */

static void
send_fetch(struct sync *s, uint64_t from)
{
	Ucr__Frame f = UCR__FRAME__INIT;
	Ucr__Fetch fe = UCR__FETCH__INIT;

	fe.author.data = s->self;
	fe.author.len = 32;
	fe.epoch = s->epoch;
	fe.from_seq = from ? from : 1;
	f.body_case = UCR__FRAME__BODY_FETCH;
	f.fetch = &fe;
	send_frame(s, &f);
}

/*
 * Our log and the hub's differ at or below seq at: fetch the hub's from
 * there; ucr_store_rebase finds the first seq that differs, or says that
 * the hub's entries do not chain onto ours yet, and we fetch from further
 * back (1, 4, 16, ... entries: a few round trips for any divergence).
 */
static void
start_rebase(struct sync *s, uint64_t at, uint64_t hub_seq)
{
	char buf[160];

	s->hub_seq = hub_seq;
	s->rebase_at = at ? at : 1;
	s->rebase_back = 0;
	s->rebase_from = s->rebase_at;
	flights_clear(s);
	s->gate = 0;
	snprintf(buf, sizeof(buf),
	    "the hub holds other entries of our log at or below seq %llu (it "
	    "holds to %llu)",
	    (unsigned long long)s->rebase_at, (unsigned long long)hub_seq);
	sync_change_state(s, SYNC_REBASE, buf);
	send_fetch(s, s->rebase_from);
}

static void
on_state(struct sync *s, const Ucr__State *st)
{
	uint8_t hash[32];
	uint64_t head = own_head(s, hash);
	char buf[160];

	if (st->author.len != 32 || memcmp(st->author.data, s->self, 32) != 0 ||
	    st->epoch != s->epoch) {
		log_warnx("sync: state for another log, ignored");
		return;
	}
	if (st->credit_batches)
		s->credit_batches = st->credit_batches;
	if (st->credit_bytes)
		s->credit_bytes = st->credit_bytes;
	state_revision(s, st);
	switch (st->verdict) {
	case UCR__VERDICT__VERDICT_OK:
		/* the hub's head must be our entry at its seq, or we hold
		 * entries it never accepted below our head */
		if (st->seq > 0 && st->seq <= head && st->hash.len == 32) {
			uint8_t at[32];

			if (ucr_store_entry_hash(s->n->d.store, s->self,
				s->epoch, st->seq, at) == 0 &&
			    memcmp(at, st->hash.data, 32) != 0) {
				start_rebase(s, st->seq, st->seq);
				break;
			}
		}
		s->hub_seq = st->seq;
		s->next = st->seq + 1;
		flights_clear(s);
		if (!s->synced_once)
			log_info(
			    "sync: hub holds our log to seq %llu, we to %llu",
			    (unsigned long long)st->seq,
			    (unsigned long long)head);
		s->synced_once = 1;
		sync_change_state(s, SYNC_STREAM, NULL);
		hub_answered(s);
		open_gate(s, "hub answered");
		pump(s);
		break;
	case UCR__VERDICT__VERDICT_RESTORE: {
		Ucr__Frame f = UCR__FRAME__INIT;
		Ucr__Fetch fe = UCR__FETCH__INIT;

		s->hub_seq = st->seq;
		snprintf(buf, sizeof(buf),
		    "hub holds our log to %llu, we to %llu",
		    (unsigned long long)st->seq, (unsigned long long)head);
		sync_change_state(s, SYNC_RESTORE, buf);
		s->gate = 0;
		fe.author.data = s->self;
		fe.author.len = 32;
		fe.epoch = s->epoch;
		fe.from_seq = head + 1;
		f.body_case = UCR__FRAME__BODY_FETCH;
		f.fetch = &fe;
		send_frame(s, &f);
		break;
	}
	case UCR__VERDICT__VERDICT_REBASE:
		start_rebase(s, head < st->seq ? head : st->seq, st->seq);
		break;
	case UCR__VERDICT__VERDICT_FORK:
		snprintf(s->why, sizeof(s->why),
		    "fork: the hub holds a different "
		    "entry at seq %llu of our log",
		    (unsigned long long)st->seq);
		log_warnx("sync: ALARM %s; our log is stopped at the hub",
		    s->why);
		sync_change_state(s, SYNC_STOPPED, "fork");
		open_gate(s, "log stopped at hub");
		break;
	case UCR__VERDICT__VERDICT_NEW_EPOCH:
		snprintf(s->why, sizeof(s->why),
		    "the hub has not accepted this "
		    "store's epoch %016llx (a new or wiped store); ask the hub's "
		    "administrator to run 'ucr roster accept-epoch'",
		    (unsigned long long)s->epoch);
		log_warnx("sync: %s", s->why);
		sync_change_state(s, SYNC_STOPPED, "new epoch");
		open_gate(s, "epoch not accepted at hub");
		break;
	default:
		log_warnx("sync: unknown verdict %d", st->verdict);
	}
}

/* Ack what we hold of a log: its head, or seq when not (uint64_t)-1. */
static void
send_ack_seq(struct sync *s, const uint8_t *author, uint64_t epoch,
    uint64_t seq)
{
	Ucr__Frame f = UCR__FRAME__INIT;
	Ucr__Ack a = UCR__ACK__INIT;
	struct ucr_head h;

	if (seq != (uint64_t)-1)
		h.seq = seq;
	else if (ucr_store_head(s->n->d.store, author, epoch, &h) != 0)
		h.seq = 0;
	a.author.data = (uint8_t *)author;
	a.author.len = 32;
	a.epoch = epoch;
	a.seq = h.seq;
	f.body_case = UCR__FRAME__BODY_ACK;
	f.ack = &a;
	send_frame(s, &f);
}

static void
send_ack(struct sync *s, const uint8_t *author, uint64_t epoch)
{
	send_ack_seq(s, author, epoch, (uint64_t)-1);
}

/*
 * REBASE: a batch of our own log as the hub holds it. The ack says what
 * we now hold in common with the hub, not our head (which may hold
 * re-based entries the hub has yet to see); for a batch we cannot use it
 * says where we want the hub's relay to go on from (the hub resends from
 * an ack's seq, so an ack below that would ask for the same batch again).
 */
static void
on_own_rebase(struct sync *s, const Ucr__Batch *b)
{
	char why[256] = "";
	size_t rec = 0, reb = 0;
	uint64_t from = 0, common;
	int rc;

	rc = ucr_store_rebase(s->n->d.store, s->n->d.key, b, &rec, &reb, &from,
	    why, sizeof(why));
	switch (rc) {
	case 0:
	case UCR_EDUP:
		common = b->last_seq;
		if (s->rebase_from <= b->last_seq)
			s->rebase_from = b->last_seq + 1;
		s->recovered += rec;
		if (reb > 0) {
			s->rebased = reb;
			log_info("sync: our log differed from the hub's at seq "
				 "%llu: took the hub's entries %llu-%llu, "
				 "re-based %zu of ours on top",
			    (unsigned long long)from,
			    (unsigned long long)b->first_seq,
			    (unsigned long long)b->last_seq, reb);
		}
		break;
	case UCR_ECHAIN:
		/* it does not chain onto ours: the difference lies lower */
		if (b->first_seq <= s->rebase_from && s->rebase_from > 1) {
			s->rebase_back =
			    s->rebase_back ? s->rebase_back * 4 : 4;
			s->rebase_from = s->rebase_at > s->rebase_back
			    ? s->rebase_at - s->rebase_back
			    : 1;
			send_ack_seq(s, s->self, s->epoch, s->rebase_from - 1);
			send_fetch(s, s->rebase_from);
			return;
		}
		common = s->rebase_from - 1; /* a stale answer */
		break;
	default:
		common = s->rebase_from > 0 ? s->rebase_from - 1 : 0;
		if (rc != UCR_EGAP) {
			s->bad++;
			log_warnx("sync: cannot re-base on the hub's batch "
				  "%llu-%llu: %s",
			    (unsigned long long)b->first_seq,
			    (unsigned long long)b->last_seq,
			    why[0] ? why : ucr_strerror(rc));
		}
	}
	send_ack_seq(s, s->self, s->epoch, common);
	if ((rc == 0 || rc == UCR_EDUP) && b->last_seq >= s->hub_seq) {
		snprintf(s->why, sizeof(s->why),
		    "recovered %llu own entries from the hub, re-based %llu",
		    (unsigned long long)s->recovered,
		    (unsigned long long)s->rebased);
		log_info("sync: restore complete: %s", s->why);
		s->why[0] = '\0';
		/* a new hello: the hub's State starts the stream */
		sync_change_state(s, SYNC_HELLO, "re-based");
		send_hello(s);
	}
}

/*
 * Group commit of relayed batches, as at the hub (hub/peer.c): the
 * batches received in one pass are applied in one durable transaction,
 * each in a nested one of its own (ucr_store_apply_group), and each is
 * acknowledged only after the commit. The group is committed before any
 * other frame is handled and at the end of the pass.
 */
#define RELAY_GROUP UCR_GROUP_MAX_BATCHES

struct rgroup {
	struct ucr_apply_item items[RELAY_GROUP];
	Ucr__Frame *frames[RELAY_GROUP];
	struct ucr_wire_msg msgs[RELAY_GROUP];
	size_t n, entries, bytes;
};
static struct rgroup rgrp;

/* The answer to one applied batch: counters, the ack, a finished restore. */
static void
batch_done(struct sync *s, const Ucr__Batch *b, int rc, size_t applied,
    const char *why)
{
	char an[17];

	ucr_hex(an, b->author.data, 8);
	if (rc == 0) {
		s->applied += applied;
		if (s->state == SYNC_RESTORE &&
		    memcmp(b->author.data, s->self, 32) == 0 &&
		    b->epoch == s->epoch)
			s->recovered += applied;
		log_debug("sync: applied %zu entries of %s", applied, an);
	} else if (rc != UCR_EDUP && rc != UCR_EGAP) {
		/* the hub paces a refused range (protocol.md 5.4); an older
		 * hub does not: the lines stay within the log budget */
		s->bad++;
		log_warnx_limited("sync refused",
		    "sync: batch %llu-%llu of %s refused: %s",
		    (unsigned long long)b->first_seq,
		    (unsigned long long)b->last_seq, an,
		    why[0] ? why : ucr_strerror(rc));
	}
	/* The ack carries what we hold now, right or wrong: the hub resends
	 * from there. */
	send_ack(s, b->author.data, b->epoch);
	if (memcmp(b->author.data, s->self, 32) == 0 && b->epoch == s->epoch &&
	    s->state == SYNC_RESTORE && own_head(s, NULL) >= s->hub_seq) {
		log_info("sync: restored our own log from the hub to seq %llu",
		    (unsigned long long)s->hub_seq);
		s->next = s->hub_seq + 1;
		flights_clear(s);
		sync_change_state(s, SYNC_STREAM, "restore complete");
		hub_answered(s);
		open_gate(s, "restore complete");
		pump(s);
	}
}

static void
group_commit(struct sync *s)
{
	size_t i;

	if (rgrp.n == 0)
		return;
	ucr_store_apply_group(s->n->d.store, rgrp.items, rgrp.n);
	for (i = 0; i < rgrp.n; i++) {
		batch_done(s, rgrp.items[i].batch, rgrp.items[i].rc,
		    rgrp.items[i].applied, rgrp.items[i].why);
		ucr__frame__free_unpacked(rgrp.frames[i], NULL);
		ucr_wire_msg_free(&rgrp.msgs[i]);
	}
	rgrp.n = rgrp.entries = rgrp.bytes = 0;
}

/*
 * A batch relayed by the hub: into the group (which then owns the frame
 * and the message: returns 1), or handled here (returns 0).
 */
static int
on_batch(struct sync *s, struct ucr_wire_msg *m, Ucr__Frame *f)
{
	const Ucr__Batch *b = f->batch;
	size_t i, bytes = 0;

	if (b->author.len != 32) {
		s->bad++;
		log_warnx("sync: batch without an author, dropped");
		return 0;
	}
	if (s->state == SYNC_REBASE &&
	    memcmp(b->author.data, s->self, 32) == 0 && b->epoch == s->epoch) {
		group_commit(s);
		on_own_rebase(s, b);
		return 0;
	}
	for (i = 0; i < b->n_entries; i++)
		bytes += b->entries[i].len;
	if (rgrp.n > 0 &&
	    (rgrp.entries + b->n_entries > UCR_GROUP_MAX_ENTRIES ||
		rgrp.bytes + bytes > UCR_GROUP_MAX_BYTES))
		group_commit(s);
	rgrp.items[rgrp.n].batch = b;
	rgrp.frames[rgrp.n] = f;
	rgrp.msgs[rgrp.n] = *m;
	rgrp.n++;
	rgrp.entries += b->n_entries;
	rgrp.bytes += bytes;
	if (rgrp.n == RELAY_GROUP)
		group_commit(s);
	return 1;
}

static void
on_ack(struct sync *s, const Ucr__Ack *a)
{
	if (a->author.len != 32 || memcmp(a->author.data, s->self, 32) != 0 ||
	    a->epoch != s->epoch)
		return;
	if (a->seq > s->hub_seq)
		s->hub_seq = a->seq;
	flight_ack(s, a->seq);
	if (a->credit_batches)
		s->credit_batches = a->credit_batches;
	if (a->credit_bytes)
		s->credit_bytes = a->credit_bytes;
	pump(s);
}

static void
on_error(struct sync *s, const Ucr__Error *e)
{
	if (e->code == UCR_EDUP)
		log_debug("sync: hub holds that batch already (to seq %llu)",
		    (unsigned long long)e->seq);
	else if (e->code == UCR_EFORK)
		log_warnx(
		    "sync: ALARM the hub found a fork in our log: %s; our "
		    "log is stopped at the hub",
		    e->message ? e->message : "");
	else
		log_warnx("sync: hub refused: %s: %s", ucr_errname(e->code),
		    e->message ? e->message : "");
	switch (e->code) {
	case UCR_EDUP:
		/* a resend of what the hub holds: as good as an ack */
		if (e->seq > s->hub_seq)
			s->hub_seq = e->seq;
		if (s->next <= e->seq)
			s->next = e->seq + 1;
		flight_ack(s, e->seq);
		pump(s);
		break;
	case UCR_EGAP:
		/* the hub holds less than we thought: go on from its seq */
		s->hub_seq = e->seq;
		s->next = e->seq + 1;
		flights_clear(s);
		pump(s);
		break;
	case UCR_EAGAIN:
		s->next = s->hub_seq + 1;
		flights_clear(s);
		s->pause_until = now_ms() + 500;
		s->flush_at = s->pause_until;
		break;
	case UCR_EFORK:
	case UCR_ESTOPPED:
	case UCR_EROSTER:
	case UCR_EEPOCH:
		snprintf(s->why, sizeof(s->why), "%s",
		    e->message ? e->message : ucr_strerror(e->code));
		sync_change_state(s, SYNC_STOPPED, ucr_errname(e->code));
		open_gate(s, "log refused by hub");
		break;
	default:
		/* anything else: start again from what the hub holds */
		flights_clear(s);
		s->hello_at = now_ms();
	}
}

static void
on_checkpoint(struct sync *s, const Ucr__Checkpoint *c)
{
	char why[256] = "";
	int rc;

	/* Fails closed: see ucr_checkpoint_accept (common/checkpoint.h). */
	rc = ucr_checkpoint_accept(s->n->d.store, s->hub, s->n->d.cfg->region,
	    c->body.data, c->body.len, c->signature.data, c->signature.len, why,
	    sizeof(why));
	switch (rc) {
	case 0:
		break;
	case UCR_EROLLBACK:
	case UCR_ECHECKPOINT:
		s->bad++;
		snprintf(s->why, sizeof(s->why), "%s: %.100s",
		    rc == UCR_EROLLBACK ? "hub checkpoint went back"
					: "checkpoint check impossible",
		    why);
		log_warnx("sync: ALARM %s; checkpoint refused", s->why);
		break;
	case UCR_EBADSIG:
	case UCR_EPROTO:
	case UCR_ETOOBIG:
		s->bad++;
		log_warnx("sync: checkpoint refused: %s", ucr_strerror(rc));
		break;
	default:
		/* a store error: the next checkpoint is checked again */
		log_warnx("sync: checkpoint not checked: %s", why);
	}
}

void
sync_dispatch(struct sync *s)
{
	struct ucr_wire_msg m;
	Ucr__Frame *f;
	int i, rc;

	/* Bounded: let the control socket in between. */
	for (i = 0; i < 64; i++) {
		rc = ucr_wire_recv(s->sock, 0, &m);
		if (rc == UCR_EAGAIN)
			break;
		if (rc != 0) {
			s->bad++;
			continue;
		}
		s->rx++;
		s->last_rx = now_ms();
		if (ucr_wire_decode(&f, m.data, m.len) != 0) {
			s->bad++;
			log_warnx(
			    "sync: undecodable frame from hub (%zu bytes)",
			    m.len);
			ucr_wire_msg_free(&m);
			continue;
		}
		if (f->body_case == UCR__FRAME__BODY_BATCH &&
		    on_batch(s, &m, f))
			continue; /* in the group, acked at its commit */
		/* anything else follows the batches before it */
		group_commit(s);
		switch (f->body_case) {
		case UCR__FRAME__BODY_STATE:
			on_state(s, f->state);
			break;
		case UCR__FRAME__BODY_BATCH:
			break; /* handled by on_batch */
		case UCR__FRAME__BODY_ACK:
			on_ack(s, f->ack);
			break;
		case UCR__FRAME__BODY_ERROR:
			on_error(s, f->error);
			break;
		case UCR__FRAME__BODY_CHECKPOINT:
			on_checkpoint(s, f->checkpoint);
			break;
		default:
			s->bad++;
			log_warnx("sync: unexpected %s from hub",
			    ucr_wire_name(f));
		}
		ucr__frame__free_unpacked(f, NULL);
		ucr_wire_msg_free(&m);
	}
	group_commit(s);
}

/* ---------------------------------------------------------------- monitor */

void
sync_monitor_dispatch(struct sync *s)
{
	zmq_msg_t ev, addr;
	uint16_t event;
	int i;

	for (i = 0; i < 16; i++) {
		zmq_msg_init(&ev);
		if (zmq_msg_recv(&ev, s->mon, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&ev);
			return;
		}
		/* an event is two parts: number and value, then the endpoint */
		zmq_msg_init(&addr);
		zmq_msg_recv(&addr, s->mon, 0);
		event = 0;
		if (zmq_msg_size(&ev) >= 6)
			memcpy(&event, zmq_msg_data(&ev), 2);
		zmq_msg_close(&ev);
		zmq_msg_close(&addr);
		if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
			/* a new connection: the hub has no State for it yet */
			log_debug("sync: connected to the hub");
			if (s->denied && s->state == SYNC_HELLO)
				s->why[0] = '\0';
			s->denied = 0;
			send_hello(s);
		} else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
			if (!s->denied)
				log_warnx(
				    "sync: the hub refused our key (not in its "
				    "roster, or revoked)");
			s->denied = 1;
			if (s->state == SYNC_HELLO)
				snprintf(s->why, sizeof(s->why),
				    "the hub refused our "
				    "key (not in its roster, or revoked)");
		}
	}
}

/* ---------------------------------------------------------------- timers */

void
sync_timer(struct sync *s)
{
	int64_t now = now_ms();

	if (!s->gate && !s->restored && s->state == SYNC_HELLO &&
	    now >= s->gate_at)
		open_gate(s, "hub not reachable; writing offline");
	if (s->flush_at && now >= s->flush_at) {
		s->flush_at = 0;
		pump(s);
	}
	if (now >= s->hello_at) {
		uint64_t head = own_head(s, NULL);
		int busy = s->state != SYNC_STREAM || s->inflight > 0 ||
		    s->next <= head;

		/* A hub silent for a few round trips with work
		 * outstanding: start over. While frames come, nothing in
		 * flight is sent again. */
		if (!busy || now - s->last_rx >= silence_ms(s) ||
		    s->state == SYNC_HELLO || s->state == SYNC_STOPPED)
			send_hello(s);
		s->hello_at = now +
		    (s->state == SYNC_STOPPED        ? HELLO_STOPPED_MS
			    : s->state == SYNC_HELLO ? HELLO_FIRST_MS
			    : busy                   ? HELLO_BUSY_MS
						     : HELLO_IDLE_MS);
	}
}

int64_t
sync_timeout(struct sync *s)
{
	int64_t now = now_ms(), t = s->hello_at - now;

	if (s->flush_at && s->flush_at - now < t)
		t = s->flush_at - now;
	if (!s->gate && !s->restored && s->gate_at - now < t)
		t = s->gate_at - now;
	if (t < 0)
		t = 0;
	if (t > 1000)
		t = 1000;
	return t;
}

void
sync_kick(void *arg)
{
	struct sync *s = arg;
	int64_t now = now_ms();

	/* Nothing in flight: send at once (the main loop's timer runs right
	 * after the reply); under load, gather writes for a window. */
	if (s->inflight == 0)
		s->flush_at = now;
	else if (s->flush_at == 0)
		s->flush_at = now + FLUSH_WINDOW_MS;
}

/*
 * An answered write is durable in the store's journal and its commit is
 * about to be made: its signed batch goes to the hub now, so that the
 * hub's checks and commit run while ours does (docs/design.md, "Answer
 * after the journal"). The bytes are the very ones the journal holds, the
 * ones a start after a crash applies, or the commit's retry if it fails:
 * the hub never holds an entry this store will not. Only when the stream
 * would send it now (next in line, credit, no hold); else the pump sends
 * it from the store after the commit, as any other.
 */
void
sync_journaled(void *arg)
{
	struct sync *s = arg;
	const uint8_t *packed;
	Ucr__Batch *b;
	uint32_t kind = 0;
	size_t len, bytes;

	if (!may_send(s) || s->held_at != 0 ||
	    ucr_store_deferred_batch(s->n->d.store, &packed, &len) != 0 ||
	    (b = ucr__batch__unpack(NULL, len, packed)) == NULL)
		return;
	bytes = entry_bytes(b);
	if (b->epoch != s->epoch || b->first_seq != s->next ||
	    b->author.len != UCR_PK_LEN ||
	    memcmp(b->author.data, s->self, UCR_PK_LEN) != 0 ||
	    bytes > batch_max(s) ||
	    (s->hub_known &&
		ucr_wire_first_unknown_kind(b, s->hub_revision, &kind) !=
		    b->n_entries))
		goto leave;
	if (send_batch(s, b, bytes, " before its commit") == 0) {
		s->early++;
#ifdef UCR_TEST_HOOKS
		/* test build only (ucr-node-test): a crash once the hub
		   has answered the batch (its ack: committed there), ours
		   not yet committed */
		if (getenv("UCR_TEST_CRASH_BEFORE_COMMIT") != NULL) {
			zmq_pollitem_t it = {s->sock, 0, ZMQ_POLLIN, 0};

			(void)zmq_poll(&it, 1, 5000);
			_exit(9);
		}
#endif
	}
leave:
	ucr__batch__free_unpacked(b, NULL);
}

int
sync_may_write(void *arg, char *why, size_t whylen)
{
	struct sync *s = arg;

	if (s->gate)
		return 1;
	snprintf(why, whylen,
	    s->state == SYNC_REBASE
		? "this node is taking its own entries back from the hub and "
		  "re-basing its newer ones (restored from a copy); try again "
		  "in a moment"
		: s->state == SYNC_RESTORE
		? "this node is fetching its own log back from the hub (restored "
		  "from a backup); try again in a moment"
		: s->restored
		? "this store is a restored backup: writes wait until the hub "
		  "answers, so the node cannot fork its own log (ucr peers)"
		: "this node is waiting for the hub's answer; try again in a moment");
	return 0;
}

/* ---------------------------------------------------------------- query */

void
sync_query(const char *what, Ucr__Reply *rep, void *arg)
{
	struct sync *s = arg;
	json_t *o;
	uint64_t head;
	int64_t silent;

	if (strcmp(what, "sync") != 0) {
		rep->code = UCR_EINVAL;
		rep->message = "unknown query";
		return;
	}
	head = own_head(s, NULL);
	silent = now_ms() - s->last_rx;
	/* "lag" is what the hub lacks as far as we know: when the link is
	 * offline that knowledge is old, and "connected" says so */
	o = json_pack("{s:s, s:I, s:I, s:I, s:b, s:I, s:b, s:I, s:I, s:I, "
		      "s:I, s:I, s:s}",
	    "state", state_names[s->state], "head", (json_int_t)head, "hub_seq",
	    (json_int_t)s->hub_seq, "lag",
	    (json_int_t)(head > s->hub_seq ? head - s->hub_seq : 0),
	    "connected", silent < LINK_DEAD_MS && s->rx > 0, "silent_s",
	    (json_int_t)(silent / 1000), "writes_open", s->gate, "received",
	    (json_int_t)s->rx, "sent", (json_int_t)s->tx, "refused",
	    (json_int_t)s->bad, "recovered", (json_int_t)s->recovered,
	    "rebased", (json_int_t)s->rebased, "why", s->why);
	if (o != NULL && s->hub_known)
		json_object_set_new(o, "hub_revision",
		    json_integer(s->hub_revision));
	if (o != NULL) {
		json_object_set_new(o, "held", json_string(s->held));
		json_object_set_new(o, "sent_before_commit",
		    json_integer((json_int_t)s->early));
	}
	rep->json = json_dumps(o, JSON_COMPACT);
	json_decref(o);
}

/* ---------------------------------------------------------------- open */

int
sync_open(struct sync **out, struct node *n, char *why, size_t whylen)
{
	struct sync *s;
	char serverkey[41], pub[41], *sec = NULL;
	int one = 1, zero = 0, ivl = 1000, ttl = ZMQ_HEARTBEAT_MS, rc;
	int reconnect = 100, reconnect_max = 5000, hwm = 1000;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return UCR_ENOMEM;
	}
	s->n = n;
	s->credit_batches = 4;
	s->credit_bytes = 4 << 20;
	s->batch_bytes = START_BATCH_BYTES;
	if (ucr_store_identity(n->d.store, s->self, &s->epoch, NULL, 0) != 0 ||
	    ucr_unhex(s->hub, 32, n->d.cfg->hub_key) != 0) {
		snprintf(why, whylen, "store has no identity or bad hub_key");
		free(s);
		return UCR_EINVAL;
	}
	if (ucr_key_curve_public(serverkey, s->hub) != 0 ||
	    ucr_key_curve_public(pub, n->d.key->pk) != 0 ||
	    ucr_key_curve_secret(&sec, n->d.key) != 0) {
		snprintf(why, whylen, "cannot derive CURVE keys");
		free(s);
		return UCR_EINVAL;
	}
	s->sock = zmq_socket(n->d.zctx, ZMQ_DEALER);
	rc = s->sock == NULL ||
	    zmq_setsockopt(s->sock, ZMQ_CURVE_SERVERKEY, serverkey, 40) != 0 ||
	    zmq_setsockopt(s->sock, ZMQ_CURVE_PUBLICKEY, pub, 40) != 0 ||
	    zmq_setsockopt(s->sock, ZMQ_CURVE_SECRETKEY, sec, 40) != 0 ||
	    zmq_setsockopt(s->sock, ZMQ_IMMEDIATE, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(s->sock, ZMQ_LINGER, &zero, sizeof(zero)) != 0 ||
	    zmq_setsockopt(s->sock, ZMQ_HEARTBEAT_IVL, &ivl, sizeof(ivl)) !=
		0 ||
	    zmq_setsockopt(s->sock, ZMQ_HEARTBEAT_TTL, &ttl, sizeof(ttl)) !=
		0 ||
	    zmq_setsockopt(s->sock, ZMQ_HEARTBEAT_TIMEOUT, &ttl, sizeof(ttl)) !=
		0 ||
	    zmq_setsockopt(s->sock, ZMQ_RECONNECT_IVL, &reconnect,
		sizeof(reconnect)) != 0 ||
	    zmq_setsockopt(s->sock, ZMQ_RECONNECT_IVL_MAX, &reconnect_max,
		sizeof(reconnect_max)) != 0 ||
	    zmq_setsockopt(s->sock, ZMQ_SNDHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_socket_monitor(s->sock, SYNC_MONITOR,
		ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
		    ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) != 0 ||
	    (s->mon = zmq_socket(n->d.zctx, ZMQ_PAIR)) == NULL ||
	    zmq_connect(s->mon, SYNC_MONITOR) != 0 ||
	    zmq_connect(s->sock, n->d.cfg->hub) != 0;
	sodium_free(sec);
	if (rc) {
		snprintf(why, whylen, "hub socket %s: %s", n->d.cfg->hub,
		    zmq_strerror(errno));
		if (s->mon)
			zmq_close(s->mon);
		if (s->sock)
			zmq_close(s->sock);
		free(s);
		return UCR_EIO;
	}
	s->gate_at = now_ms() + GATE_WAIT_MS;
	{
		char mark[4];
		size_t len;

		if (ucr_store_meta_get(n->d.store, "needs-hub", mark,
			sizeof(mark), &len) == 0 &&
		    len == 1 && mark[0] == '1') {
			s->restored = 1;
			snprintf(s->why, sizeof(s->why),
			    "a restored backup: local writes wait for the hub");
			log_info("sync: this store is a restored backup; local "
				 "writes wait until the hub answers");
		}
	}
	s->next = 1;
	s->last_rx = now_ms();
	*out = s;
	send_hello(s);
	return 0;
}

void
sync_free(struct sync *s)
{
	if (s == NULL)
		return;
	zmq_socket_monitor(s->sock, NULL, 0);
	zmq_close(s->mon);
	zmq_close(s->sock);
	free(s);
}

void *
sync_socket(struct sync *s)
{
	return s->sock;
}

void *
sync_monitor(struct sync *s)
{
	return s->mon;
}
