/*
 * peer.c: the hub's sync server (docs/protocol.md): hello/state, batches
 * and acks, the relay of every log to every node, fetches for restored
 * nodes, flow control, and signed checkpoints.
 *
 * A peer is one node key (ZAP metadata "Key"), with the routing id of its
 * latest connection. For each log it tracks what the node acknowledged
 * holding and what has been sent since (a "hold"), and the relay batches
 * in flight. Nothing is trusted from the wire: every message is checked
 * against the connection's ZAP tag, and a bad one gets an Error frame, a
 * rate-limited log line and a count by code, and the connection stays
 * usable.
 *
 * Everything a peer can make the hub hold or do has a budget, named below
 * and spent where it is named (docs/protocol.md, "Budgets"): holds only
 * for logs the hub holds, and no more than the store can justify; every
 * message metered; relay paced by acks (back-pressure), never queued
 * beyond what is in flight; batches within the credit given.
 *
 * The relay adapts to the link: each ack of a relay batch is a sample of
 * the round trip and of the delivery rate. A relay batch should take
 * about RELAY_BATCH_MS on the wire: it starts at RELAY_BYTES_START,
 * doubles while acks come back faster than that, and never exceeds what
 * the measured rate carries in that time. A batch in flight is sent again
 * only after a timeout derived from the measured RTT and rate (RFC 6298
 * style, with back-off), and only once until the peer acks again.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
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
#include "hub.h"
#include "log.h"
#include "record.h"
#include "roster.h"

/* Relay (hub to node). */
#define RELAY_WINDOW 8               /* relay batches in flight per peer */
#define RELAY_BYTES_START (16 << 10) /* first relay batch of a connection */
#define RELAY_BYTES_MIN (16 << 10)   /* relay batch size: floor */
#define RELAY_BYTES_MAX (512 << 10)  /* relay batch size: ceiling */
#define RELAY_BATCH_MS 1000          /* a relay batch's time on the wire */
#define RELAY_INFLIGHT_MS 2000       /* in flight: this long at the rate */
#define RELAY_INFLIGHT_MAX (4 << 20) /* bytes in flight per peer: ceiling */
/* Relay frames kept to share: built once for every peer of the range. */
#define RELAY_SHARE_N 32            /* frames kept at most */
#define RELAY_SHARE_BYTES (8 << 20) /* their encoded bytes at most */
/* Ingest first: relay waits while batches come in, at most this long. */
#define RELAY_DEFER_MS 50
#define RESEND_MS 5000      /* resend timeout before any RTT is measured */
#define RESEND_MIN_MS 2000  /* resend timeout: floor */
#define RESEND_MAX_MS 60000 /* resend timeout with back-off: ceiling */
#define RESEND_RATE_FLOOR (8 << 10) /* bytes/s assumed before measured */
/* Credits (node to hub), given in State and Ack and enforced on receipt. */
#define CREDIT_BATCHES 8            /* a node's window of unacked batches */
#define CREDIT_BYTES (4 << 20)      /* bytes of entries per batch at most */
#define CREDIT_BYTES_MIN (16 << 10) /* on a slow link, down to this */
/* Metering: every message a peer sends, of every kind and role. */
#define QUOTA_RATE (8 << 20)   /* frame bytes per second per peer */
#define QUOTA_BURST (32 << 20) /* frame bytes in one burst */
#define QUOTA_MSGS 200         /* messages per second per peer */
#define QUOTA_MSGS_BURST 1000  /* messages in one burst */
/* Holds: one per log the hub holds, at most this many per peer. */
#define HOLDS_MIN 256      /* or twice the logs the hub holds, if more */
#define CONNECTED_MS 15000 /* any traffic within this: connected */
#define CHECKPOINT_MS 10000
#define RELAY_RETRY_MS 1000 /* the timer's relay retry */
/* A range a peer refused: sent again after this, doubling, up to the max. */
#define PACE_MS 1000
#define PACE_MAX_MS 60000

/* What one peer holds of one log; kept sorted by (author, epoch). */
struct hold {
	uint8_t author[32];
	uint64_t epoch;
	uint64_t acked;      /* the node says it holds this much */
	uint64_t sent;       /* sent up to here (acked + in flight) */
	unsigned gen;        /* the Hello that last mentioned it */
	int inflight;        /* relay batches of this log in flight */
	uint64_t stop;       /* an older peer: relayed only below this seq */
	uint64_t refused_at; /* an older peer: short acks at this seq */
	int refusals;        /* ... how many in a row */
	/* any peer: the range after pace_at refused (relay_refused) */
	uint64_t pace_at;    /* the peer refused what follows this seq */
	uint32_t pace_count; /* refusals there since the last progress */
	int64_t pace_until;  /* not sent again before this (ms) */
};

/* A relay batch sent and not yet acknowledged. */
struct flight {
	uint8_t author[32];
	uint64_t epoch;
	uint64_t first; /* its first seq */
	uint64_t last;  /* its last seq */
	size_t bytes;   /* its entries' bytes */
	int64_t sent_at;
	int busy; /* others were in flight when it left: a rate sample */
};

struct peer {
	uint8_t key[32];
	char code[16];
	char role[16];
	uint8_t rid[UCR_ROUTING_ID_MAX];
	size_t ridlen;
	int64_t last_seen;
	int64_t contact_saved; /* last_seen when "contact/<code>" was stored */
	int64_t last_sent;
	uint64_t epoch;     /* the node's current epoch, from hello */
	uint64_t reported;  /* its own head, from hello */
	int hello;          /* a hello seen on this connection (and
			     * not revoked since) */
	unsigned hello_gen; /* Hellos seen, to mark the holds named */
	struct hold *holds; /* sorted: bsearch */
	size_t nholds;
	struct flight flights[RELAY_WINDOW]; /* oldest first */
	int nflights;
	size_t inflight_bytes;
	int fetch_own; /* a restore asked for its own log */
	/* the link, measured from acks of relay batches */
	size_t batch;  /* next relay batch size */
	double rate;   /* delivery rate, bytes/s (0: unknown) */
	double srtt;   /* smoothed RTT, ms (0: unknown) */
	double rttvar; /* RTT variation, ms */
	int backoff;   /* resend timeouts since the last ack */
	int stalled;   /* resent once, no ack since: wait for one */
	int64_t last_ack_at;
	uint64_t credit_given; /* the largest credit_bytes given (this conn.) */
	/* metering */
	double tokens;     /* bytes */
	double msg_tokens; /* messages */
	int64_t tokens_at;
	int throttled; /* over the quota; told once, then dropped quietly */
	uint64_t rx, refused;
	uint64_t refusals[HUB_CODES]; /* by code, see code_slot() */
	char last_error[256];
	uint32_t revision; /* the protocol revision of its Hello */
	char held[256];    /* what an older peer is not sent, and why */
	int due;           /* relay to pump at the next relay_run() */
};

/* ------------------------------------------------------- shared frames */

/*
 * A relay batch is built and encoded once and sent to every peer that
 * wants the same range: in a region all nodes want every new batch of
 * every log, and on like links they ask for it from the same seq in the
 * same size. A frame is kept for (log, from, size); it stays good while
 * the log's head is where it was, or for good when the size or the entry
 * cap cut it (the log's entries and signatures never change). At most
 * RELAY_SHARE_N frames and RELAY_SHARE_BYTES are kept, the least
 * recently used dropped first; a larger frame is sent and let go. A
 * dropped frame's copies still queued to peers keep its bytes until they
 * are sent: that memory is bounded by the relay windows, not by this.
 */
struct share {
	uint8_t author[32];
	uint64_t epoch;
	uint64_t from;
	size_t maxbytes;
	uint64_t head; /* the log's head when built */
	struct ucr_batch_info info;
	struct ucr_wire_shared *msg; /* NULL: a free slot */
	uint64_t used;               /* for least recently used */
};
static struct share shares[RELAY_SHARE_N];
static size_t share_bytes;
static uint64_t share_tick;

static void
share_drop(struct share *sh)
{
	if (sh->msg == NULL)
		return;
	share_bytes -= sh->info.len;
	ucr_wire_shared_free(sh->msg);
	sh->msg = NULL;
}

static void
share_clear(void)
{
	size_t i;

	for (i = 0; i < RELAY_SHARE_N; i++)
		share_drop(&shares[i]);
}

static void *
share_alloc(size_t len, void *ctx)
{
	return ucr_wire_shared_new(ctx, len);
}

/*
 * The frame of the relay batch of head's log from `from` in maxbytes:
 * kept, or built now into *tmp (sent, then let go by the caller) or into
 * a kept slot. NULL: nothing to send (rc in *rcp).
 */
static struct share *
share_get(struct hub *h, const struct ucr_head *head, uint64_t from,
    size_t maxbytes, struct share *tmp, int *rcp)
{
	struct share *sh, *slot = NULL, *lru;
	int hubs = memcmp(head->author, h->d.key->pk, 32) == 0;
	size_t i;

	memset(tmp, 0, sizeof(*tmp));
	for (i = 0; i < RELAY_SHARE_N; i++) {
		sh = &shares[i];
		if (sh->msg == NULL) {
			if (slot == NULL)
				slot = sh;
			continue;
		}
		if (sh->from == from && sh->maxbytes == maxbytes &&
		    sh->epoch == head->epoch &&
		    memcmp(sh->author, head->author, 32) == 0) {
			if (sh->info.full || sh->head == head->seq) {
				sh->used = ++share_tick;
				return sh;
			}
			share_drop(sh); /* the log grew: build it again */
			slot = sh;
			continue;
		}
	}
	if ((*rcp = ucr_store_batch_frame(h->d.store, hubs ? h->d.key : NULL,
		 head->author, head->epoch, from, 0, maxbytes, share_alloc,
		 &tmp->msg, &tmp->info)) != 0) {
		ucr_wire_shared_free(tmp->msg);
		return NULL;
	}
	memcpy(tmp->author, head->author, 32);
	tmp->epoch = head->epoch;
	tmp->from = from;
	tmp->maxbytes = maxbytes;
	tmp->head = head->seq;
	if (tmp->info.len > RELAY_SHARE_BYTES)
		return tmp;
	/* room: the least recently used go first */
	while (
	    share_bytes + tmp->info.len > RELAY_SHARE_BYTES || slot == NULL) {
		lru = NULL;
		for (i = 0; i < RELAY_SHARE_N; i++)
			if (shares[i].msg != NULL && &shares[i] != slot &&
			    (lru == NULL || shares[i].used < lru->used))
				lru = &shares[i];
		if (lru == NULL)
			break;
		share_drop(lru);
		if (slot == NULL)
			slot = lru;
	}
	*slot = *tmp;
	tmp->msg = NULL;
	slot->used = ++share_tick;
	share_bytes += slot->info.len;
	return slot;
}

/* ---------------------------------------------------------------- peers */

static struct peer *
peer_find(struct hub *h, const uint8_t *key)
{
	size_t i;

	for (i = 0; i < h->npeers; i++)
		if (memcmp(h->peers[i].key, key, 32) == 0)
			return &h->peers[i];
	return NULL;
}

/* Forget the relay state of the connection: nothing in flight survives. */
static void
peer_reset(struct peer *p)
{
	size_t i;

	p->hello = 0;
	p->nflights = 0;
	p->inflight_bytes = 0;
	for (i = 0; i < p->nholds; i++) {
		p->holds[i].sent = p->holds[i].acked;
		p->holds[i].inflight = 0;
	}
	p->batch = RELAY_BYTES_START;
	p->rate = p->srtt = p->rttvar = 0;
	p->backoff = p->stalled = 0;
	p->last_ack_at = 0;
	p->credit_given = 0;
}

/*
 * The view's staleness is the time since the hub last heard from a
 * municipality's node (docs/view.md): meta "contact/<code>", wall-clock ms
 * as 8 bytes big-endian, stored at most once a minute per peer.
 */
static void
contact_save(struct hub *h, struct peer *p)
{
	struct timespec ts;
	uint64_t ms;
	uint8_t b[8];
	char name[32];
	int k;

	if ((p->contact_saved != 0 &&
		p->last_seen - p->contact_saved < 60000) ||
	    !ucr_municipality_known(p->code))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	for (k = 0; k < 8; k++)
		b[k] = (uint8_t)(ms >> (56 - 8 * k));
	snprintf(name, sizeof(name), "contact/%s", p->code);
	if (ucr_store_meta_put(h->d.store, name, b, sizeof(b)) == 0)
		p->contact_saved = p->last_seen;
}

static struct peer *
peer_get(struct hub *h, const struct ucr_wire_msg *m, const uint8_t *key)
{
	struct peer *p = peer_find(h, key), *np;

	if (p == NULL) {
		np = realloc(h->peers, (h->npeers + 1) * sizeof(*np));
		if (np == NULL)
			return NULL;
		h->peers = np;
		p = &h->peers[h->npeers++];
		memset(p, 0, sizeof(*p));
		memcpy(p->key, key, 32);
		p->tokens = QUOTA_BURST;
		p->msg_tokens = QUOTA_MSGS_BURST;
		p->tokens_at = hub_now_ms();
	}
	if (p->ridlen != m->ridlen || memcmp(p->rid, m->rid, m->ridlen) != 0) {
		/* a new connection: nothing in flight survives it */
		memcpy(p->rid, m->rid, m->ridlen);
		p->ridlen = m->ridlen;
		peer_reset(p);
	}
	snprintf(p->code, sizeof(p->code), "%.15s", m->user);
	p->last_seen = hub_now_ms();
	contact_save(h, p);
	return p;
}

void
peer_free_all(struct hub *h)
{
	size_t i;

	for (i = 0; i < h->npeers; i++)
		free(h->peers[i].holds);
	free(h->peers);
	h->peers = NULL;
	h->npeers = 0;
	share_clear();
}

/* ---------------------------------------------------------------- holds */

static int
log_cmp(const uint8_t *a, uint64_t ea, const uint8_t *b, uint64_t eb)
{
	int c = memcmp(a, b, 32);

	if (c)
		return c;
	return ea < eb ? -1 : ea > eb;
}

/* The peer's hold of a log, or NULL; *pos: where it is or would go.
 * O(log n). */
static struct hold *
hold_find(struct peer *p, const uint8_t *author, uint64_t epoch, size_t *pos)
{
	size_t lo = 0, hi = p->nholds;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = log_cmp(author, epoch, p->holds[mid].author,
		    p->holds[mid].epoch);

		if (c == 0) {
			if (pos)
				*pos = mid;
			return &p->holds[mid];
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (pos)
		*pos = lo;
	return NULL;
}

/*
 * Holds budget: a peer holds at most one hold per log the hub holds, so
 * never more than twice the logs counted (a margin for logs committed
 * since the count), and HOLDS_MIN at least.
 */
static size_t
holds_max(const struct hub *h)
{
	size_t n = 2 * h->nlogs + 16;

	return n > HOLDS_MIN ? n : HOLDS_MIN;
}

/* Does the hub hold this log? A hold for any other is not justified. */
static int
log_held(struct hub *h, const uint8_t *author, uint64_t epoch)
{
	struct ucr_head head;

	return ucr_store_head(h->d.store, author, epoch, &head) == 0;
}

/*
 * The peer's hold of a log, made if need be. held: the caller knows the
 * hub holds the log; otherwise it is looked up, and an unheld log gets no
 * hold (NULL, *why UCR_ENOLOG), nor one over the budget (UCR_EBUDGET).
 * The pointer is valid until the next hold_add.
 */
static struct hold *
hold_add(struct hub *h, struct peer *p, const uint8_t *author, uint64_t epoch,
    int held, int *why)
{
	struct hold *hd;
	size_t pos;

	if ((hd = hold_find(p, author, epoch, &pos)) != NULL)
		return hd;
	if (!held && !log_held(h, author, epoch)) {
		*why = UCR_ENOLOG;
		return NULL;
	}
	if (p->nholds >= holds_max(h)) {
		*why = UCR_EBUDGET;
		return NULL;
	}
	hd = realloc(p->holds, (p->nholds + 1) * sizeof(*hd));
	if (hd == NULL) {
		*why = UCR_ENOMEM;
		return NULL;
	}
	p->holds = hd;
	memmove(&p->holds[pos + 1], &p->holds[pos],
	    (p->nholds - pos) * sizeof(*hd));
	p->nholds++;
	hd = &p->holds[pos];
	memset(hd, 0, sizeof(*hd));
	memcpy(hd->author, author, 32);
	hd->epoch = epoch;
	return hd;
}

/* What a send to p tells of it. */
static int
sent(struct peer *p, int rc)
{
	if (rc == 0)
		p->last_sent = hub_now_ms();
	else if (rc == UCR_ENOTFOUND)
		p->hello = 0; /* gone: wait for its next hello */
	return rc;
}

static int
send_to(struct hub *h, struct peer *p, const Ucr__Frame *f)
{
	return sent(p, ucr_wire_send(h->router, p->rid, p->ridlen, f, 1));
}

/* A counter slot for a UCR code (the last slot for any other). */
static size_t
code_slot(int code)
{
	long i = (long)UCR_EINVAL - code;

	return i >= 0 && i < HUB_CODES ? (size_t)i : HUB_CODES - 1;
}

/* Count one refused message, by code, on the hub and the peer. */
static void
refuse_count(struct hub *h, struct peer *p, int code)
{
	h->refused_msgs++;
	h->refusals[code_slot(code)]++;
	if (p) {
		p->refused++;
		p->refusals[code_slot(code)]++;
	}
}

/*
 * Refuse without an answer (a message that gets none, or one of a flood
 * already told to slow down): counted, and logged within the log budget.
 */
static void refuse_quiet(struct hub *h, const char *who, struct peer *p,
    int code, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
refuse_quiet(struct hub *h, const char *who, struct peer *p, int code,
    const char *fmt, ...)
{
	char msg[256], key[48];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	refuse_count(h, p, code);
	snprintf(key, sizeof(key), "peer %.16s %s", who[0] ? who : "?",
	    ucr_errname(code));
	log_warnx_limited(key, "peer %s: %s", who[0] ? who : "?", msg);
}

static void send_error(struct hub *h, const struct ucr_wire_msg *m,
    struct peer *p, int code, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void group_commit(struct hub *h);
static void drain_ahead(void *arg);

/*
 * Refuse a message: an Error frame back, a count by code, and a log line
 * within the log budget (log_warnx_limited: the first lines of each
 * minute per peer and code in full, then a count).
 */
static void
send_error(struct hub *h, const struct ucr_wire_msg *m, struct peer *p,
    int code, uint64_t seq, const char *fmt, ...)
{
	Ucr__Frame f = UCR__FRAME__INIT;
	Ucr__Error e = UCR__ERROR__INIT;
	char msg[256], key[48];
	const char *who = m->user[0] ? m->user : "?";
	va_list ap;

	/* batches received before this refusal are answered before it */
	group_commit(h);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	refuse_count(h, p, code);
	if (p)
		snprintf(p->last_error, sizeof(p->last_error), "%s", msg);
	snprintf(key, sizeof(key), "peer %.16s %s", who, ucr_errname(code));
	log_warnx_limited(key, "peer %s: %s", who, msg);
	e.code = code;
	e.message = msg;
	e.seq = seq;
	f.body_case = UCR__FRAME__BODY_ERROR;
	f.error = &e;
	ucr_wire_send(h->router, m->rid, m->ridlen, &f, 1);
}

/* ---------------------------------------------------------------- relay */

/*
 * Bytes a peer may have in flight: what the measured rate carries in
 * RELAY_INFLIGHT_MS, at least two batches, at most RELAY_INFLIGHT_MAX. A
 * peer that does not read never acks, so never gets more than its first
 * two small batches (and one resend): back-pressure, not buffering.
 */
static size_t
inflight_max(const struct peer *p)
{
	double v = p->rate * RELAY_INFLIGHT_MS / 1000.0;
	size_t m = 2 * p->batch;

	if (v > (double)m)
		m = v > RELAY_INFLIGHT_MAX ? RELAY_INFLIGHT_MAX : (size_t)v;
	return m > RELAY_INFLIGHT_MAX ? RELAY_INFLIGHT_MAX : m;
}

static int
relay_room(const struct peer *p)
{
	return p->nflights < RELAY_WINDOW &&
	    p->inflight_bytes < inflight_max(p);
}

/* The resend timeout: RTT and its variation, plus the time the bytes in
 * flight take at the measured rate, doubled per timeout in a row. */
static int64_t
resend_ms(const struct peer *p)
{
	double t = RESEND_MS, rate = p->rate > 0 ? p->rate : RESEND_RATE_FLOOR;

	/*
	 * Nothing is lost on a live connection but by a peer's fault, and a
	 * resend on a slow link doubles its load: be generous. Twice the
	 * RTT and four times its variation, and twice the time the bytes in
	 * flight take at the measured rate (or as if on a 64 kbit/s link).
	 */
	if (p->srtt > 0)
		t = 2 * p->srtt + (4 * p->rttvar > 200 ? 4 * p->rttvar : 200);
	t += 2.0 * (double)p->inflight_bytes * 1000.0 / rate;
	t *= (double)(1 << (p->backoff < 6 ? p->backoff : 6));
	if (t < RESEND_MIN_MS)
		t = RESEND_MIN_MS;
	return t > RESEND_MAX_MS ? RESEND_MAX_MS : (int64_t)t;
}

/* An acked flight is a sample of the link: RTT, rate, next batch size. */
static void
link_sample(struct peer *p, const struct flight *fl, int64_t now)
{
	double rtt = (double)(now - fl->sent_at), dt, rate, cap;
	int64_t from =
	    fl->sent_at > p->last_ack_at ? fl->sent_at : p->last_ack_at;

	if (rtt < 1)
		rtt = 1;
	dt = now - from < 1 ? 1 : (double)(now - from);
	rate = (double)fl->bytes * 1000.0 / dt;
	/*
	 * A lone batch measures latency more than rate: it may only raise
	 * the rate, and it sets the first (a lower bound: its bytes over the
	 * round trip). Without that first sample a link whose batches go
	 * out one at a time (a batch cut at the author's signed seqs is
	 * larger than the 2 * RELAY_BYTES_MIN in flight allowed before a
	 * rate is known) never measures one: the batch size stays at the
	 * floor and the relay at one batch per round trip.
	 */
	if (fl->busy || rate > p->rate)
		p->rate = p->rate > 0 ? 0.75 * p->rate + 0.25 * rate : rate;
	if (p->srtt == 0) {
		p->srtt = rtt;
		p->rttvar = rtt / 2;
	} else {
		p->rttvar = 0.75 * p->rttvar +
		    0.25 * (p->srtt > rtt ? p->srtt - rtt : rtt - p->srtt);
		p->srtt = 0.875 * p->srtt + 0.125 * rtt;
	}
	p->last_ack_at = now;
	/* grow while acks come fast; never beyond what the rate carries */
	if (rtt < RELAY_BATCH_MS && p->batch < RELAY_BYTES_MAX)
		p->batch *= 2;
	cap = p->rate * RELAY_BATCH_MS / 1000.0;
	if ((double)p->batch > cap)
		p->batch =
		    cap < RELAY_BYTES_MIN ? RELAY_BYTES_MIN : (size_t)cap;
	if (p->batch > RELAY_BYTES_MAX)
		p->batch = RELAY_BYTES_MAX;
}

/*
 * The credit to give: CREDIT_BYTES, or on a link measured slower what
 * it carries in RELAY_BATCH_MS (at least CREDIT_BYTES_MIN), so that a
 * node signs batches that also relay in about a second. Batches are held
 * to the largest credit given on the connection.
 */
static uint64_t
credit_bytes(struct peer *p)
{
	double c = p->rate * RELAY_BATCH_MS / 1000.0;
	uint64_t v = CREDIT_BYTES;

	if (p->rate > 0 && c < CREDIT_BYTES)
		v = c < CREDIT_BYTES_MIN ? CREDIT_BYTES_MIN : (uint64_t)c;
	if (v > p->credit_given)
		p->credit_given = v;
	return v;
}

static void
flight_drop(struct peer *p, int i)
{
	p->inflight_bytes -= p->flights[i].bytes;
	memmove(&p->flights[i], &p->flights[i + 1],
	    (p->nflights - i - 1) * sizeof(p->flights[0]));
	p->nflights--;
}

/*
 * The node acked a log at seq (what it holds now): the flights of that log
 * up to seq are delivered. An ack below every flight's end answers the
 * oldest one short (the node refused or lacked some): once none of that
 * log is in flight, the relay goes on from what the node holds.
 */
static void
flight_acked(struct peer *p, struct hold *hd, uint64_t seq)
{
	int64_t now = hub_now_ms();
	int i, done = 0, oldest = -1;

	for (i = 0; i < p->nflights;) {
		struct flight *fl = &p->flights[i];

		if (fl->epoch != hd->epoch ||
		    memcmp(fl->author, hd->author, 32) != 0) {
			i++;
			continue;
		}
		if (fl->last <= seq) {
			link_sample(p, fl, now);
			flight_drop(p, i);
			hd->inflight--;
			done++;
		} else {
			if (oldest < 0)
				oldest = i;
			i++;
		}
	}
	if (!done && oldest >= 0) {
		flight_drop(p, oldest);
		hd->inflight--;
		done++;
	}
	if (done) {
		p->stalled = 0;
		p->backoff = 0;
	}
	hd->acked = seq;
	if (hd->sent < seq)
		hd->sent = seq;
	if (hd->inflight == 0 && hd->sent > seq)
		hd->sent = seq;
}

/* ------------------------------------------------ older peers (5.10) */

/*
 * Hold a log back from an older peer from seq on, and say so once: on the
 * hub's log, in `ucr peers` ("held"), and to the peer as an Error it logs.
 */
static void
older_hold(struct hub *h, struct peer *p, struct hold *hd, uint64_t seq,
    const char *why)
{
	Ucr__Frame f = UCR__FRAME__INIT;
	Ucr__Error e = UCR__ERROR__INIT;
	char an[17];

	if (hd->stop != 0 && hd->stop <= seq)
		return;
	hd->stop = seq;
	ucr_hex(an, hd->author, 8);
	snprintf(p->held, sizeof(p->held),
	    "log %s relayed to seq %llu only: seq %llu %s; upgrade the node "
	    "to receive the rest",
	    an, (unsigned long long)(seq - 1), (unsigned long long)seq, why);
	log_warnx("peer %s: speaks protocol revision %u: %s", p->code,
	    p->revision, p->held);
	e.code = UCR_ESCHEMA;
	e.message = p->held;
	f.body_case = UCR__FRAME__BODY_ERROR;
	f.error = &e;
	send_to(h, p, &f);
}

/* The last seq of a log to relay to the peer. */
static uint64_t
relay_end(const struct hold *hd, const struct ucr_head *head)
{
	return hd->stop != 0 && hd->stop - 1 < head->seq ? hd->stop - 1
							 : head->seq;
}

/*
 * A peer of an older revision (release 0.1.0 says none) refuses a record
 * kind it does not know, and after each refusal it would be sent the same
 * batch again. So each log is relayed to it only up to the entry before
 * the first such kind, ending at a seq with a signature (or freshly
 * signed, for the hub's own log); the rest waits until the peer is
 * upgraded. Said once per log and connection: on the hub's log, in `ucr
 * peers` ("held"), and to the peer as an Error it logs.
 * *bp: the batch built, cut here (NULL: nothing of this log to send).
 */
static int
relay_cut_older(struct hub *h, struct peer *p, struct hold *hd,
    const struct ucr_key *key, Ucr__Batch **bp)
{
	Ucr__Batch *b = *bp;
	uint32_t kind = 0;
	uint64_t seq, first = b->first_seq;
	uint8_t author[32];
	char what[96];
	size_t i;
	int rc;

	i = ucr_wire_first_unknown_kind(b, p->revision, &kind);
	if (i == b->n_entries)
		return 0;
	seq = first + i;
	memcpy(author, b->author.data, 32);
	ucr_batch_free(b);
	*bp = NULL;
	snprintf(what, sizeof(what),
	    "is a record kind (%s) that release 0.1.0 does not know",
	    ucr_kind_name((Ucr__Record__BodyCase)kind));
	older_hold(h, p, hd, seq, what);
	if (seq <= first)
		return UCR_ENOTFOUND;
	rc = ucr_store_batch(h->d.store, key, author, hd->epoch, first, seq - 1,
	    p->batch, bp);
	return rc;
}

/* Refusals in a row, at one seq, after which an older peer is not sent
 * that log again on this connection. */
#define OLDER_REFUSALS 3

/*
 * The relay's batches of hd's log in flight to p, against an ack at seq:
 * *delivered is set if one of them ends at or before seq; the first of
 * them that ends after seq is returned (NULL: none).
 */
static const struct flight *
log_flight(const struct peer *p, const struct hold *hd, uint64_t seq,
    int *delivered)
{
	const struct flight *first = NULL;
	int i;

	*delivered = 0;
	for (i = 0; i < p->nflights; i++) {
		const struct flight *fl = &p->flights[i];

		if (fl->epoch != hd->epoch ||
		    memcmp(fl->author, hd->author, 32) != 0)
			continue;
		if (fl->last <= seq)
			*delivered = 1;
		else if (first == NULL)
			first = fl;
	}
	return first;
}

/*
 * An older peer may refuse a log for what it cannot know, not only a
 * record kind: the key of a roster entry held back from it (a key enrolled
 * after the first record of a new kind in the hub's log). It acks short,
 * and would be sent the same batch again at once, for ever. A peer of an
 * older revision that acks the same log short at the same seq
 * OLDER_REFUSALS times in a row is held back there like a new kind; a
 * new connection tries again. (One short ack is normal: a duplicate.)
 */
static void
older_refused(struct hub *h, struct peer *p, struct hold *hd, uint64_t seq)
{
	int below;

	if (p->revision >= UCR_PROTOCOL_REVISION)
		return;
	if (log_flight(p, hd, seq, &below) == NULL || below) {
		hd->refusals = 0; /* progress, or nothing in flight */
		return;
	}
	if (hd->refused_at != seq) {
		hd->refused_at = seq;
		hd->refusals = 0;
	}
	if (++hd->refusals >= OLDER_REFUSALS)
		older_hold(h, p, hd, seq + 1,
		    "was refused by this node again and again (release 0.1.0 "
		    "lacks what it needs to check it, a roster entry held back "
		    "from it for example)");
}

/* The wait after the n-th refusal in a row: PACE_MS doubled, capped. */
static int64_t
pace_ms(uint32_t n)
{
	int64_t t = PACE_MS;

	while (--n > 0 && t < PACE_MAX_MS)
		t *= 2;
	return t > PACE_MAX_MS ? PACE_MAX_MS : t;
}

/*
 * Any peer may refuse a relayed batch for a cause of its own (a full disk,
 * a record its store refuses): it acks short, at what it holds, and the
 * relay would go on from there at once, sending the same range again and
 * again. A short ack that answers the batch starting right after it (a
 * refusal, not the gap behind one, nor the correction of an ack lost) has
 * the log paced: its next batch waits pace_ms() after the refusal (1 s,
 * doubling, at most PACE_MAX_MS), one batch of it at a time, and each
 * refusal is logged with its count. An ack beyond pace_at ends the pacing.
 * The node's own log, relayed back in a restore or a re-base, has acks of
 * its own meaning and is not paced. The state is a few fields of the
 * hold: within the holds budget.
 */
static void
relay_refused(struct peer *p, struct hold *hd, uint64_t seq)
{
	const struct flight *oldest;
	char an[17], key[48];
	int64_t wait;
	int delivered;

	if (hd->pace_count && seq > hd->pace_at) {
		hd->pace_count = 0; /* progress */
		hd->pace_until = 0;
	}
	if (memcmp(hd->author, p->key, 32) == 0 && hd->epoch == p->epoch)
		return;
	oldest = log_flight(p, hd, seq, &delivered);
	if (delivered || oldest == NULL || oldest->first != seq + 1)
		return;
	if (hd->pace_count == 0 || hd->pace_at != seq) {
		hd->pace_at = seq;
		hd->pace_count = 0;
	}
	if (hd->pace_count < UINT32_MAX)
		hd->pace_count++;
	wait = pace_ms(hd->pace_count);
	hd->pace_until = hub_now_ms() + wait;
	ucr_hex(an, hd->author, 8);
	snprintf(key, sizeof(key), "peer %.16s paced", p->code);
	log_warnx_limited(key,
	    "peer %s: refused log %s from seq %llu (%lu times); next try in "
	    "%lld s",
	    p->code, an, (unsigned long long)seq + 1,
	    (unsigned long)hd->pace_count, (long long)(wait / 1000));
}

/*
 * A peer of an older revision knows no REBASE verdict (release 0.1.0
 * logs "unknown verdict" and asks again, four times a second) and, when
 * its head is beyond ours, would stream entries that do not chain onto
 * ours, which stops its log as a fork. Both mean a store restored from a
 * copy and written to offline: the older peer is told once per Hello
 * with ESTOPPED (it stops sending its log and shows why in `ucr peers`),
 * nothing of its log is stored or stopped here, and the relay of the
 * other logs goes on. Upgraded, it re-bases (5.5.1) and loses nothing.
 */
static void
refuse_older_rebase(struct hub *h, const struct ucr_wire_msg *m, struct peer *p,
    uint64_t at, uint64_t ours)
{
	snprintf(p->held, sizeof(p->held),
	    "upgrade this node: its log differs from the hub's at or below "
	    "seq %llu (a copy written to offline), release 0.1.0 cannot "
	    "re-base it; nothing is lost",
	    (unsigned long long)at);
	send_error(h, m, p, UCR_ESTOPPED, ours, "%s", p->held);
}

/*
 * A batch from an older peer that does not chain onto the hub's head but
 * verifies on its own: the author's other history.
 */
static int
older_batch_diverges(struct hub *h, const struct peer *p, const Ucr__Batch *b,
    uint64_t *ours)
{
	struct ucr_head head;
	Ucr__Entry *e;
	int differs;

	if (p->revision >= UCR_PROTOCOL_REVISION || b->n_entries == 0 ||
	    b->epoch != p->epoch ||
	    ucr_store_head(h->d.store, p->key, b->epoch, &head) != 0 ||
	    head.seq == 0 || head.stopped || b->first_seq != head.seq + 1)
		return 0;
	if ((e = ucr__entry__unpack(NULL, b->entries[0].len,
		 b->entries[0].data)) == NULL)
		return 0;
	/* signed by the author on another history (else: the usual checks) */
	differs = e->prev.len == 32 &&
	    memcmp(e->prev.data, head.hash, 32) != 0 &&
	    ucr_batch_verify(b, h->d.cfg->region, e->prev.data, NULL) == 0;
	ucr__entry__free_unpacked(e, NULL);
	*ours = head.seq;
	return differs;
}

struct relay_ctx {
	struct hub *h;
	struct peer *p;
	int sent;
	int max; /* batches to send at most (0: as the window allows) */
};

/*
 * Send p the relay batch of head's log from `from`, shared with the other
 * peers that want it (share_get). 0 if there was one to send: the send's
 * code in *sendrc, what it held in the rest; else the store's code.
 */
static int
relay_shared(struct hub *h, struct peer *p, const struct ucr_head *head,
    uint64_t from, uint64_t *first, uint64_t *last, size_t *bytes, int *sendrc)
{
	struct share tmp, *sh;
	int rc;

	if ((sh = share_get(h, head, from, p->batch, &tmp, &rc)) == NULL)
		return rc;
	*sendrc = sent(p,
	    ucr_wire_send_shared(h->router, p->rid, p->ridlen, sh->msg, 1));
	*first = sh->info.first;
	*last = sh->info.last;
	*bytes = sh->info.bytes;
	ucr_wire_shared_free(tmp.msg); /* a frame too large to keep */
	return 0;
}

/*
 * Build p's own relay batch of hd's log and send it: an older peer's,
 * held back from what it cannot know (relay_cut_older).
 */
static int
relay_built(struct hub *h, struct peer *p, struct hold *hd,
    const struct ucr_head *head, uint64_t *first, uint64_t *last, size_t *bytes,
    int *sendrc)
{
	Ucr__Frame f = UCR__FRAME__INIT;
	Ucr__Batch *b;
	int hubs = memcmp(head->author, h->d.key->pk, 32) == 0, rc;
	size_t i;

	rc = ucr_store_batch(h->d.store, hubs ? h->d.key : NULL, head->author,
	    head->epoch, hd->sent + 1, 0, p->batch, &b);
	if (rc == 0)
		rc = relay_cut_older(h, p, hd, hubs ? h->d.key : NULL, &b);
	if (rc != 0)
		return rc;
	f.body_case = UCR__FRAME__BODY_BATCH;
	f.batch = b;
	*sendrc = send_to(h, p, &f);
	*first = b->first_seq;
	*last = b->last_seq;
	for (*bytes = 0, i = 0; i < b->n_entries; i++)
		*bytes += b->entries[i].len;
	ucr_batch_free(b);
	return 0;
}

static int
relay_log(const struct ucr_head *head, void *arg)
{
	struct relay_ctx *rc = arg;
	struct hub *h = rc->h;
	struct peer *p = rc->p;
	struct hold *hd;
	int why;
	/* the node's current log is its own to send; its older epochs
	 * (a wiped store's) come back to it like any other log */
	int own =
	    memcmp(head->author, p->key, 32) == 0 && head->epoch == p->epoch;

	if (!relay_room(p))
		return 1;
	if (own && !p->fetch_own)
		return 0; /* the node is the source of its own log */
	if ((hd = hold_add(h, p, head->author, head->epoch, 1, &why)) == NULL)
		return 0;
	/* a refused range waits its turn, then goes alone (relay_refused) */
	if (hd->pace_count && hd->sent <= hd->pace_at &&
	    hub_now_ms() < hd->pace_until)
		return 0;
	while (hd->sent < relay_end(hd, head) && relay_room(p) &&
	    !(hd->pace_count && hd->inflight > 0)) {
		if (rc->max > 0 && rc->sent >= rc->max)
			return 1;
		struct flight *fl;
		uint64_t first, last;
		size_t bytes;
		int rc2, src;

		if (p->revision >= UCR_PROTOCOL_REVISION && hd->stop == 0)
			rc2 = relay_shared(h, p, head, hd->sent + 1, &first,
			    &last, &bytes, &src);
		else
			rc2 = relay_built(h, p, hd, head, &first, &last, &bytes,
			    &src);
		if (rc2 != 0)
			return 0; /* nothing (signed) to send of this log */
		if (src != 0)
			return 1; /* the peer's queue is full, or it is gone */
		fl = &p->flights[p->nflights++];
		memcpy(fl->author, head->author, 32);
		fl->epoch = head->epoch;
		fl->first = first;
		fl->last = last;
		fl->bytes = bytes;
		fl->sent_at = hub_now_ms();
		fl->busy = p->nflights > 1;
		p->inflight_bytes += bytes;
		hd->sent = last;
		hd->inflight++;
		rc->sent++;
	}
	return 0;
}

static void
relay_pump_max(struct hub *h, struct peer *p, int max)
{
	struct relay_ctx rc = {h, p, 0, max};
	struct ucr_head head;
	uint64_t epoch;

	if (!p->hello || !relay_room(p))
		return;
	/*
	 * The hub's own log first: it carries the roster that every other
	 * log is checked against, so a node never meets an author's entries
	 * before the roster entry that admits them.
	 */
	if (ucr_store_identity(h->d.store, NULL, &epoch, NULL, 0) == 0 &&
	    ucr_store_head(h->d.store, h->d.key->pk, epoch, &head) == 0 &&
	    relay_log(&head, &rc) != 0)
		return;
	ucr_store_foreach_head(h->d.store, relay_log, &rc);
}

static void
relay_pump(struct hub *h, struct peer *p)
{
	relay_pump_max(h, p, 0);
}

static void
relay_all(struct hub *h)
{
	size_t i;

	for (i = 0; i < h->npeers; i++)
		relay_pump(h, &h->peers[i]);
}

/*
 * Ingest first. The hub has one thread, which both applies the batches
 * the nodes send and relays what it holds to every other node. While
 * batches come in, the relay waits: what would pump it (a committed
 * group, an ack, a hello, a fetch, the hub's own write) only marks the
 * peer (or all peers) due, and the due peers are pumped by relay_run()
 * after a pass over the socket that brought no batch, which on an idle
 * region is the very next turn of the loop (peer_timeout() is 0 while
 * relay is due): no latency is added there. Under a steady stream of
 * batches relay is not starved, and takes a bounded share: once it has
 * waited RELAY_DEFER_MS it sends one batch to every due peer after the
 * pass, batches waiting or not, then waits again; the first pass without
 * batches fills the windows. The timer's retry once a second and a
 * resend run at once. The deferred relay also sends fewer, larger
 * batches: what came in meanwhile goes in one batch of the peer's size,
 * not in one per group.
 */
static void
relay_later(struct hub *h, struct peer *p)
{
	size_t i;

	if (!h->relay_due) {
		h->relay_due = 1;
		h->relay_since = hub_now_ms();
	}
	if (p != NULL)
		p->due = 1;
	else
		for (i = 0; i < h->npeers; i++)
			h->peers[i].due = 1;
}

static void
relay_run(struct hub *h, int64_t now)
{
	size_t i;
	int ingested = h->ingested || h->busy_test;

	h->ingested = 0;
	if (!h->relay_due ||
	    (ingested && now - h->relay_since < RELAY_DEFER_MS))
		return;
	/* batches still coming in: one batch each, and wait again */
	if (ingested) {
		h->relay_bounded++;
		h->relay_since = now;
	} else
		h->relay_due = 0;
	for (i = 0; i < h->npeers; i++)
		if (h->peers[i].due) {
			h->peers[i].due = ingested;
			relay_pump_max(h, &h->peers[i], ingested ? 1 : 0);
		}
}

static int roster_ok(struct hub *h, const uint8_t *key, const char *code,
    int writer);

/*
 * A revocation takes effect at once: a peer whose key is no longer
 * enrolled gets no more relay, whether or not it sends anything. One LMDB
 * get per connected peer, on every roster change and once a second.
 */
static void
peer_revalidate(struct hub *h)
{
	size_t i;

	for (i = 0; i < h->npeers; i++) {
		struct peer *p = &h->peers[i];

		if (p->hello && !roster_ok(h, p->key, p->code, 0)) {
			log_info("peer %s: key revoked; relay stopped",
			    p->code);
			peer_reset(p);
		}
	}
}

void
peer_changed(void *arg)
{
	struct hub *h = arg;

	h->changed = 1;
	peer_revalidate(h);
	relay_later(h, NULL);
}

/* ---------------------------------------------------------------- frames */

/*
 * Is this key enrolled for code, admitted and not revoked, right now? ZAP
 * checked it when the connection was made; a revocation since then must
 * take effect on the open connection too. One LMDB get per message.
 * writer: also a node's key (a reader never writes).
 */
static int
roster_ok(struct hub *h, const uint8_t *key, const char *code, int writer)
{
	struct ucr_roster_entry e;

	return ucr_roster_lookup(h->d.store, key, &e) == 0 &&
	    ucr_roster_admit(&e, NULL, 0) == 0 && strcmp(e.code, code) == 0 &&
	    (!writer || e.role == UCR_ROLE_NODE);
}

/*
 * The revision a Hello speaks. A new connection starts over what was held
 * back from an older peer: it may have been upgraded.
 */
static void
hello_revision(struct peer *p, const Ucr__Hello *hello, int first)
{
	size_t i;

	if (first || hello->revision != p->revision) {
		for (i = 0; i < p->nholds; i++) {
			p->holds[i].stop = 0;
			p->holds[i].refusals = 0;
		}
		p->held[0] = '\0';
	}
	p->revision = hello->revision;
}

static void
on_hello(struct hub *h, const struct ucr_wire_msg *m, struct peer *p,
    const Ucr__Hello *hello)
{
	Ucr__Frame f = UCR__FRAME__INIT;
	Ucr__State st = UCR__STATE__INIT;
	struct ucr_head head;
	uint8_t zero[32] = {0};
	size_t i;
	int rc, first, why;

	if (hello->version != UCR_PROTOCOL_VERSION) {
		send_error(h, m, p, UCR_EPROTO, 0,
		    "protocol version %u, hub "
		    "speaks %d",
		    hello->version, UCR_PROTOCOL_VERSION);
		return;
	}
	if (hello->author.len != 32 ||
	    memcmp(hello->author.data, p->key, 32) != 0 ||
	    hello->head_hash.len != 32 || hello->epoch == 0) {
		send_error(h, m, p, UCR_EPROTO, 0,
		    "hello for another key or "
		    "malformed");
		return;
	}
	/* holds budget: no more logs than the hub could relay */
	if (hello->n_holds > holds_max(h)) {
		send_error(h, m, p, UCR_EBUDGET, 0,
		    "hello naming %zu logs, over the budget of %zu",
		    hello->n_holds, holds_max(h));
		return;
	}
	/* a Hello on a live connection keeps what is in flight */
	first = !p->hello;
	hello_revision(p, hello, first);
	/* a new connection (a restarted node) tries a paced range at once;
	 * a refusal again goes on with the back-off where it was */
	for (i = 0; first && i < p->nholds; i++)
		p->holds[i].pace_until = 0;
	p->epoch = hello->epoch;
	p->reported = hello->head_seq;
	p->hello = 1;
	st.author = hello->author;
	st.epoch = hello->epoch;
	st.credit_batches = CREDIT_BATCHES;
	st.credit_bytes = credit_bytes(p);
	st.revision = UCR_PROTOCOL_REVISION;
	rc = ucr_store_head(h->d.store, p->key, hello->epoch, &head);
	if (rc == UCR_ENOTFOUND) {
		memset(&head, 0, sizeof(head));
		rc = ucr_store_log_admissible(h->d.store, p->key, hello->epoch);
		if (rc == UCR_EEPOCH) {
			st.verdict = UCR__VERDICT__VERDICT_NEW_EPOCH;
			log_warnx(
			    "peer %s: new epoch %016llx of its log not "
			    "accepted (a wiped store?); the old log is kept; "
			    "accept with: ucr roster accept-epoch",
			    p->code, (unsigned long long)hello->epoch);
		} else if (rc != 0) {
			send_error(h, m, p, rc, 0, "cannot read the store");
			return;
		}
	} else if (rc != 0) {
		send_error(h, m, p, rc, 0, "cannot read the store");
		return;
	}
	st.seq = head.seq;
	st.hash.data = head.seq ? head.hash : zero;
	st.hash.len = 32;
	if (st.verdict == UCR__VERDICT__VERDICT_NEW_EPOCH)
		;
	else if (head.stopped)
		st.verdict = UCR__VERDICT__VERDICT_FORK;
	else if (hello->head_seq <= head.seq && hello->head_seq > 0) {
		uint8_t at[32];

		/* a read error is no verdict on the node's log: retry */
		rc = ucr_store_entry_hash(h->d.store, p->key, hello->epoch,
		    hello->head_seq, at);
		if (rc != 0 && rc != UCR_ENOTFOUND) {
			send_error(h, m, p, rc, 0, "cannot read the store: %s",
			    ucr_strerror(rc));
			return;
		}

		/*
		 * The node's head differs from our entry at that seq: a
		 * store restored from a copy and written to before it heard
		 * from us. Its entries there were never accepted here, so
		 * this is no fork: it fetches ours and re-bases its own.
		 */
		if (rc == UCR_ENOTFOUND ||
		    memcmp(at, hello->head_hash.data, 32) != 0) {
			log_info("peer %s: its entry at seq %llu differs from "
				 "ours (a restored copy written offline); it "
				 "re-bases on our %llu",
			    p->code, (unsigned long long)hello->head_seq,
			    (unsigned long long)head.seq);
			st.verdict = UCR__VERDICT__VERDICT_REBASE;
		} else if (hello->head_seq < head.seq) {
			st.verdict = UCR__VERDICT__VERDICT_RESTORE;
			log_info(
			    "peer %s: restored from an old copy (has %llu of "
			    "%llu); sending its entries back",
			    p->code, (unsigned long long)hello->head_seq,
			    (unsigned long long)head.seq);
		}
	} else if (hello->head_seq == 0 && head.seq > 0)
		st.verdict = UCR__VERDICT__VERDICT_RESTORE;
	/* a restore or re-base fetches its own log: keep relaying it */
	if (st.verdict != UCR__VERDICT__VERDICT_RESTORE &&
	    st.verdict != UCR__VERDICT__VERDICT_REBASE)
		p->fetch_own = 0;
	f.body_case = UCR__FRAME__BODY_STATE;
	f.state = &st;
	if (st.verdict == UCR__VERDICT__VERDICT_REBASE &&
	    p->revision < UCR_PROTOCOL_REVISION)
		refuse_older_rebase(h, m, p, hello->head_seq, head.seq);
	else
		send_to(h, p, &f);
	/*
	 * What the node holds of every other log: O(n log m). Logs the hub
	 * does not hold get no hold (an honest node may hold some the hub
	 * lost). On a live connection a Hello only moves positions forward:
	 * what is in flight stays in flight.
	 */
	p->hello_gen++;
	for (i = 0; i < hello->n_holds; i++) {
		Ucr__LogHead *lh = hello->holds[i];
		struct hold *hd;

		if (lh->author.len != 32 ||
		    (hd = hold_add(h, p, lh->author.data, lh->epoch, 0,
			 &why)) == NULL)
			continue;
		hd->gen = p->hello_gen;
		if (first || lh->seq > hd->acked)
			hd->acked = lh->seq;
		if (first || hd->sent < hd->acked)
			hd->sent = hd->acked;
	}
	/* first Hello: logs the node did not mention, it holds none of */
	for (i = 0; first && i < p->nholds; i++)
		if (p->holds[i].gen != p->hello_gen)
			p->holds[i].acked = p->holds[i].sent = 0;
	relay_later(h, p);
}

/*
 * Token buckets per peer, in messages and in bytes, taken by every message
 * before it is decoded, whatever its kind or the peer's role: one busy or
 * hostile peer cannot starve the others.
 */
static int
quota_take(struct peer *p, size_t bytes)
{
	int64_t now = hub_now_ms();
	double dt = (double)(now - p->tokens_at);

	p->tokens += dt * QUOTA_RATE / 1000.0;
	if (p->tokens > QUOTA_BURST)
		p->tokens = QUOTA_BURST;
	p->msg_tokens += dt * QUOTA_MSGS / 1000.0;
	if (p->msg_tokens > QUOTA_MSGS_BURST)
		p->msg_tokens = QUOTA_MSGS_BURST;
	p->tokens_at = now;
	if (p->tokens < (double)bytes || p->msg_tokens < 1)
		return 0;
	p->tokens -= (double)bytes;
	p->msg_tokens -= 1;
	return 1;
}

/*
 * Group commit. The batches received in one pass over the socket are
 * applied in ONE write transaction, so one durable commit (and its
 * fsyncs) carries them all instead of one each: the hub's ingest is
 * bounded by the commit, not by the CPU, and six nodes sending at once
 * share it as PostgreSQL's clients share a WAL flush. Each batch is
 * checked and applied in a nested transaction of its own
 * (ucr_store_apply_group): a refused one writes nothing and spoils none
 * of the others.
 *
 * Durability before the answer: nothing leaves the hub while received
 * batches wait for their commit. The group is committed before any other
 * frame is handled, before any Error is sent (send_error), when a budget
 * (UCR_GROUP_MAX_BATCHES, _ENTRIES, _BYTES) is reached and at the end of
 * the pass; only then is each batch answered, an Ack for one committed
 * (the head it reports is read after the commit), its Error for one
 * refused. A failed commit answers every batch of the group with the
 * error, and none is acknowledged.
 */
struct group {
	struct ucr_apply_item items[UCR_GROUP_MAX_BATCHES];
	struct ucr_wire_msg msgs[UCR_GROUP_MAX_BATCHES];
	Ucr__Frame *frames[UCR_GROUP_MAX_BATCHES];
	uint8_t keys[UCR_GROUP_MAX_BATCHES][32]; /* the peers array moves */
	size_t n, entries, bytes;
	int committing;
};
static struct group grp;

static void
send_ack(struct hub *h, struct peer *p, const uint8_t *author, uint64_t epoch)
{
	Ucr__Frame f = UCR__FRAME__INIT;
	Ucr__Ack a = UCR__ACK__INIT;
	struct ucr_head head;

	if (ucr_store_head(h->d.store, author, epoch, &head) != 0)
		head.seq = 0;
	a.author.data = (uint8_t *)author;
	a.author.len = 32;
	a.epoch = epoch;
	a.seq = head.seq;
	a.credit_batches = CREDIT_BATCHES;
	a.credit_bytes = credit_bytes(p);
	f.body_case = UCR__FRAME__BODY_ACK;
	f.ack = &a;
	send_to(h, p, &f);
}

/*
 * The checks of a batch before the store: its author, the sender's role
 * and roster entry, a hello and the credit on this connection. 0: it
 * goes to the store; else it is refused here (an Error sent).
 */
static int
batch_admit(struct hub *h, const struct ucr_wire_msg *m, struct peer *p,
    const Ucr__Batch *b, size_t *bytesp)
{
	size_t i, bytes = 0;
	uint64_t ours;

	if (b->author.len != 32 || memcmp(b->author.data, p->key, 32) != 0) {
		send_error(h, m, p, UCR_EOWNER, 0,
		    "batch of another author's "
		    "log: a node sends only its own");
		return -1;
	}
	if (strcmp(p->role, "node") != 0 || !roster_ok(h, p->key, m->user, 1)) {
		send_error(h, m, p, UCR_EROSTER, 0,
		    "key revoked or not a "
		    "node's: batch %llu-%llu refused",
		    (unsigned long long)b->first_seq,
		    (unsigned long long)b->last_seq);
		return -1;
	}
	/* credits: given by a State on this connection, bytes per batch */
	if (!p->hello) {
		send_error(h, m, p, UCR_ECREDIT, 0,
		    "batch %llu-%llu before a hello: no credit given",
		    (unsigned long long)b->first_seq,
		    (unsigned long long)b->last_seq);
		return -1;
	}
	if (older_batch_diverges(h, p, b, &ours)) {
		refuse_older_rebase(h, m, p, b->first_seq - 1, ours);
		return -1;
	}
	for (i = 0; i < b->n_entries; i++)
		bytes += b->entries[i].len;
	if (bytes > p->credit_given) {
		send_error(h, m, p, UCR_ECREDIT, 0,
		    "batch %llu-%llu of %zu bytes, over the credit of %llu",
		    (unsigned long long)b->first_seq,
		    (unsigned long long)b->last_seq, bytes,
		    (unsigned long long)p->credit_given);
		return -1;
	}
	*bytesp = bytes;
	return 0;
}

/* The answer to one batch of a committed (or failed) group. */
static void
batch_verdict(struct hub *h, const struct ucr_wire_msg *m, struct peer *p,
    const Ucr__Batch *b, int rc, const char *why)
{
	struct ucr_head head;

	switch (rc) {
	case 0:
		log_debug("peer %s: batch %llu-%llu committed", p->code,
		    (unsigned long long)b->first_seq,
		    (unsigned long long)b->last_seq);
		h->changed = 1;
		if (b->last_seq > p->reported)
			p->reported =
			    b->last_seq; /* its head, as far as we know */
		send_ack(h, p, b->author.data, b->epoch);
		break;
	case UCR_EDUP:
	case UCR_EGAP:
		/* The error's seq is what the hub holds: go on from there. */
		if (ucr_store_head(h->d.store, b->author.data, b->epoch,
			&head) != 0)
			head.seq = 0;
		if (rc == UCR_EDUP)
			send_error(h, m, p, UCR_EDUP, head.seq,
			    "batch %llu-%llu "
			    "held already in full (a replay or a resend); nothing "
			    "stored",
			    (unsigned long long)b->first_seq,
			    (unsigned long long)b->last_seq);
		else
			send_error(h, m, p, UCR_EGAP, head.seq, "%s", why);
		break;
	case UCR_EFORK:
		log_warnx(
		    "peer %s: ALARM %s; log stopped, evidence quarantined",
		    p->code, why);
		h->changed = 1;
		/* fallthrough */
	default:
		send_error(h, m, p, rc, 0, "%s",
		    why[0] ? why : ucr_strerror(rc));
	}
}

/* Commit the group received so far, then answer each of its batches. */
static void
group_commit(struct hub *h)
{
	size_t i;
	int ok = 0;

	if (grp.n == 0 || grp.committing)
		return;
	grp.committing = 1;
	ucr_store_apply_group_hook(h->d.store, grp.items, grp.n, drain_ahead,
	    h);
	for (i = 0; i < grp.n; i++) {
		struct peer *p = peer_find(h, grp.keys[i]);

		if (p != NULL)
			batch_verdict(h, &grp.msgs[i], p, grp.items[i].batch,
			    grp.items[i].rc, grp.items[i].why);
		if (grp.items[i].rc == 0)
			ok = 1;
		ucr__frame__free_unpacked(grp.frames[i], NULL);
		ucr_wire_msg_free(&grp.msgs[i]);
	}
	grp.n = grp.entries = grp.bytes = 0;
	grp.committing = 0;
	if (ok)
		relay_later(h, NULL);
}

/*
 * May this ack be handled before the group waiting for its commit? An ack
 * (of a relayed batch, by a node that holds it now) sends nothing and
 * reads of the store only the head of the log it names, and whether the
 * hub holds that log: if no batch of the group is of that log, neither
 * differs before the group's commit and after it. So the group goes on
 * growing: while the nodes send their logs, the hub relays a batch to
 * each node every RELAY_DEFER_MS, and each node's ack would otherwise cut
 * the group short and cost a durable commit more. A node of an older
 * revision may be answered on an ack (older_hold): its acks commit first.
 */
static int
ack_waits(const struct peer *p, const Ucr__Ack *a)
{
	size_t i;

	if (grp.n == 0 || a->author.len != 32 ||
	    p->revision < UCR_PROTOCOL_REVISION)
		return 0;
	for (i = 0; i < grp.n; i++) {
		const Ucr__Batch *b = grp.items[i].batch;

		if (memcmp(b->author.data, a->author.data, 32) == 0)
			return 0; /* of that author, whatever the epoch */
	}
	return 1;
}

/*
 * A batch received: admitted ones join the group (which takes the
 * message and the frame); returns 1 if it did, 0 if the caller still
 * owns them.
 */
static int
on_batch(struct hub *h, struct ucr_wire_msg *m, struct peer *p, Ucr__Frame *f,
    int ticket)
{
	const Ucr__Batch *b = f->batch;
	size_t bytes;

	if (batch_admit(h, m, p, b, &bytes) != 0)
		return 0;
	if (grp.n > 0 &&
	    (grp.entries + b->n_entries > UCR_GROUP_MAX_ENTRIES ||
		grp.bytes + bytes > UCR_GROUP_MAX_BYTES))
		group_commit(h);
	grp.items[grp.n].batch = b;
	/* checked ahead while the batches before it are applied */
	grp.items[grp.n].ahead =
	    ticket ? ticket : ucr_store_ahead(h->d.store, b);
	grp.msgs[grp.n] = *m;
	grp.frames[grp.n] = f;
	memcpy(grp.keys[grp.n], p->key, 32);
	grp.n++;
	grp.entries += b->n_entries;
	grp.bytes += bytes;
	h->ingested = 1;
	if (grp.n == UCR_GROUP_MAX_BATCHES)
		group_commit(h);
	return 1;
}

static void
on_ack(struct hub *h, const struct ucr_wire_msg *m, struct peer *p,
    const Ucr__Ack *a)
{
	struct hold *hd;
	int why;

	if (a->author.len != 32) {
		send_error(h, m, p, UCR_EPROTO, 0, "malformed ack");
		return;
	}
	if ((hd = hold_add(h, p, a->author.data, a->epoch, 0, &why)) == NULL) {
		/* an ack gets no answer; counted and logged */
		refuse_quiet(h, m->user, p, why, "ack of a log %s: %s",
		    why == UCR_ENOLOG ? "the hub does not hold"
				      : "over the holds budget",
		    ucr_strerror(why));
		return;
	}
	older_refused(h, p, hd, a->seq);
	relay_refused(p, hd, a->seq);
	flight_acked(p, hd, a->seq);
	if (memcmp(a->author.data, p->key, 32) == 0 && a->epoch == p->epoch) {
		struct ucr_head head;

		p->reported = a->seq;
		if (ucr_store_head(h->d.store, p->key, p->epoch, &head) == 0 &&
		    a->seq >= head.seq)
			p->fetch_own = 0; /* restore complete */
	}
	relay_later(h, p);
}

static void
on_fetch(struct hub *h, const struct ucr_wire_msg *m, struct peer *p,
    const Ucr__Fetch *fe)
{
	struct hold *hd;
	int why;

	if (fe->author.len != 32 || fe->from_seq == 0) {
		send_error(h, m, p, UCR_EPROTO, 0, "malformed fetch");
		return;
	}
	if ((hd = hold_add(h, p, fe->author.data, fe->epoch, 0, &why)) ==
	    NULL) {
		send_error(h, m, p, why, 0, "fetch of a log %s",
		    why == UCR_ENOLOG ? "the hub does not hold"
				      : "over the holds budget");
		return;
	}
	/* from there on; what is in flight of it stays in flight */
	hd->acked = fe->from_seq - 1;
	if (hd->inflight == 0 || hd->sent < hd->acked)
		hd->sent = hd->acked;
	if (memcmp(fe->author.data, p->key, 32) == 0)
		p->fetch_own = 1;
	relay_later(h, p);
}

/*
 * Received while a group's commit waits for the disk. When the hub checks
 * batches ahead (ingest_threads = 2), the group's batches are applied,
 * and before the commit's syncs begin, the messages already queued are
 * received (drain_ahead): each is metered by its peer's quota, decoded,
 * and a batch handed to the store's thread, which checks it (decode,
 * hashes, chain, signature, records) during the syncs instead of after
 * them. Nothing else is done with them then: no answer leaves, no store
 * is read; after the commit and its answers, peer_dispatch handles them
 * first, in the order received, as if received then. At most the
 * budgets of one group, and only while peer_dispatch runs, for at most
 * RELAY_DEFER_MS and DRAIN_PASS messages: then it handles what it took
 * and returns, so the loop turns (the relay's bound while ingesting, the
 * control socket) as often as before. What it took waits in the hub's
 * ring (struct hub_drain, hub.h).
 *
 * The control socket is served by the same loop, between passes: while
 * the nodes import, one pass (a group's commit, what came during it,
 * the next group's commit, up to 64 frames received directly) held a
 * control request back for up to 0.3-0.5 s (docs/benchmarks.md). So a pass ends
 * early once a control request waits (control_waiting: a connection to accept,
 * or bytes on one): nothing more is received, neither ahead during a commit nor
 * after it; what was received is handled and committed (the group cut short: a
 * durable commit more, only when a request waits), and the loop serves
 * the request before the next pass. The batches not received wait in the
 * socket's queue, as at the end of any pass.
 */
#define DRAIN_PASS 128

/* A control request waits: a connection to accept, or bytes on one. */
static int
control_waiting(struct hub *h)
{
	struct pollfd p[UCR_CTLSRV_NPOLL];
	int i, n = ucr_ctlsrv_pollfds(h->d.control, p);

	if (n <= 0 || poll(p, (nfds_t)n, 0) <= 0)
		return 0;
	for (i = 0; i < n; i++)
		if (p[i].revents & POLLIN)
			return 1;
	return 0;
}

static void
drain_ahead(void *arg)
{
	struct hub *h = arg;
	struct hub_drain *dr = &h->drain;
	size_t batches = 0, entries = 0, bytes = 0;
	uint8_t key[32];
	struct peer *p;

	if (dr->on && (hub_now_ms() >= dr->until || control_waiting(h)))
		dr->on = 0;
	while (dr->on && dr->n < HUB_STASH_MAX &&
	    batches < UCR_GROUP_MAX_BATCHES &&
	    entries < UCR_GROUP_MAX_ENTRIES && bytes < UCR_GROUP_MAX_BYTES) {
		struct hub_inmsg *in =
		    &dr->stash[(dr->head + dr->n) % HUB_STASH_MAX];

		memset(in, 0, sizeof(*in));
		in->rc = ucr_wire_recv(h->router, 1, &in->m);
		if (in->rc == UCR_EAGAIN)
			break;
		dr->n++;
		h->rx++;
		bytes += in->m.len;
		/* the usual path decides anything out of the ordinary */
		if (in->rc != 0 || ucr_unhex(key, 32, in->m.key) != 0 ||
		    (p = peer_find(h, key)) == NULL ||
		    p->ridlen != in->m.ridlen ||
		    memcmp(p->rid, in->m.rid, in->m.ridlen) != 0 ||
		    p->throttled || !quota_take(p, in->m.len))
			continue;
		in->metered = 1;
		if ((in->drc = ucr_wire_decode(&in->f, in->m.data,
			 in->m.len)) != 0) {
			in->f = NULL;
			continue;
		}
		if (in->f->body_case == UCR__FRAME__BODY_BATCH) {
			batches++;
			entries += in->f->batch->n_entries;
			in->ticket = ucr_store_ahead(h->d.store, in->f->batch);
		}
	}
}

/* One message received, now or ahead (drain_ahead). */
static void
on_message(struct hub *h, struct hub_inmsg *in)
{
	struct ucr_wire_msg m = in->m;
	Ucr__Frame *f = NULL;
	struct peer *p;
	uint8_t key[32];
	int rc = in->rc;

	if (rc != 0) {
		p = ucr_unhex(key, 32, m.key) == 0 ? peer_find(h, key) : NULL;
		if (p && !quota_take(p, m.len))
			refuse_quiet(h, m.user, p, UCR_EAGAIN,
			    "over its quota: message dropped");
		else if (m.ridlen)
			send_error(h, &m, p, UCR_EPROTO, 0,
			    "malformed "
			    "message (%s): a frame is one message part",
			    ucr_strerror(rc));
		else
			refuse_quiet(h, m.user, p, UCR_EPROTO,
			    "malformed message (%s), dropped",
			    ucr_strerror(rc));
		ucr_wire_msg_free(&m);
		return;
	}
	if (ucr_unhex(key, 32, m.key) != 0) {
		/* only ZAP-admitted connections reach here */
		send_error(h, &m, NULL, UCR_EROSTER, 0,
		    "connection "
		    "without a key");
		ucr_wire_msg_free(&m);
		return;
	}
	/* a new connection of a peer whose batches wait: answer
	 * them on the connection they came on */
	if (grp.n > 0 && (p = peer_find(h, key)) != NULL &&
	    (p->ridlen != m.ridlen || memcmp(p->rid, m.rid, m.ridlen) != 0))
		group_commit(h);
	if ((p = peer_get(h, &m, key)) == NULL) {
		ucr_wire_msg_free(&m);
		return;
	}
	snprintf(p->role, sizeof(p->role), "%s", m.role);
	p->rx++;
	/* metered before anything is decoded or looked up (maybe ahead,
	   while a commit waited: drain_ahead) */
	if (!in->metered && !quota_take(p, m.len)) {
		if (!p->throttled)
			send_error(h, &m, p, UCR_EAGAIN, 0,
			    "rate quota exceeded; slow down (over %d "
			    "messages or %d MiB a second: dropped until "
			    "then)",
			    QUOTA_MSGS, QUOTA_RATE >> 20);
		else
			refuse_quiet(h, m.user, p, UCR_EAGAIN,
			    "over its quota: message dropped");
		p->throttled = 1;
		ucr_wire_msg_free(&m);
		return;
	}
	p->throttled = 0;
	if (in->metered) {
		f = in->f;
		rc = in->drc;
	} else
		rc = ucr_wire_decode(&f, m.data, m.len);
	if (rc != 0) {
		if (rc == UCR_EBUDGET)
			send_error(h, &m, p, rc, 0,
			    "frame of %zu bytes needs more than %zu "
			    "bytes or %d allocations to decode",
			    m.len, UCR_WIRE_UNPACK_BYTES(m.len),
			    UCR_WIRE_UNPACK_ALLOCS);
		else if (rc == UCR_ETOOBIG)
			send_error(h, &m, p, rc, 0,
			    "message of %zu bytes, "
			    "over the limit of %d",
			    m.len, UCR_WIRE_MAXMSG);
		else
			send_error(h, &m, p, rc, 0,
			    "undecodable frame (%zu "
			    "bytes)",
			    m.len);
		ucr_wire_msg_free(&m);
		return;
	}
	if (!roster_ok(h, p->key, m.user, 0)) {
		/* revoked while connected: nothing more in or out */
		p->hello = 0;
		send_error(h, &m, p, UCR_EROSTER, 0,
		    "key revoked: %s "
		    "refused",
		    ucr_wire_name(f));
		ucr_store_ahead_drop(h->d.store, in->ticket);
		ucr__frame__free_unpacked(f, NULL);
		ucr_wire_msg_free(&m);
		return;
	}
	if (f->body_case == UCR__FRAME__BODY_BATCH &&
	    on_batch(h, &m, p, f, in->ticket))
		return; /* in the group, answered at its commit */
	ucr_store_ahead_drop(h->d.store, in->ticket);
	/* anything else sees, and follows, the batches before it; but for
	   an ack of a log none of them is of (ack_waits) */
	if (f->body_case != UCR__FRAME__BODY_ACK || !ack_waits(p, f->ack))
		group_commit(h);
	switch (f->body_case) {
	case UCR__FRAME__BODY_HELLO:
		on_hello(h, &m, p, f->hello);
		break;
	case UCR__FRAME__BODY_BATCH:
		break; /* refused by on_batch */
	case UCR__FRAME__BODY_ACK:
		on_ack(h, &m, p, f->ack);
		break;
	case UCR__FRAME__BODY_FETCH:
		on_fetch(h, &m, p, f->fetch);
		break;
	case UCR__FRAME__BODY_VIEW_QUERY: /* query.c */
		query_view(h, &m, f->view_query);
		break;
	case UCR__FRAME__BODY_RECORD_QUERY: /* query.c */
		query_records(h, &m, f->record_query);
		break;
	default:
		send_error(h, &m, p, UCR_EPROTO, 0,
		    "unexpected %s frame "
		    "from a node",
		    ucr_wire_name(f));
	}
	ucr__frame__free_unpacked(f, NULL);
	ucr_wire_msg_free(&m);
}

void
peer_dispatch(struct hub *h)
{
	struct hub_drain *dr = &h->drain;
	struct hub_inmsg in;
	int i, ctl = 0;

	dr->on = h->d.cfg->ingest_threads == 2;
	dr->until = hub_now_ms() + RELAY_DEFER_MS;
	for (i = 0;; i++) {
		if (i >= DRAIN_PASS)
			dr->on = 0;
		/* a control request waits: this pass takes nothing more */
		if (!ctl && i > 0 && control_waiting(h)) {
			ctl = 1;
			dr->on = 0;
			h->passes_cut++;
		}
		if (dr->n == 0) {
			in.rc = UCR_EAGAIN;
			if (i < 64 && !ctl) {
				memset(&in, 0, sizeof(in));
				in.rc = ucr_wire_recv(h->router, 1, &in.m);
			}
			if (in.rc != UCR_EAGAIN) {
				h->rx++;
				on_message(h, &in);
				continue;
			}
			/* the pass is over: its group is committed, and what
			   came meanwhile received ahead is handled next */
			group_commit(h);
			if (dr->n == 0)
				break;
		}
		in = dr->stash[dr->head];
		dr->head = (dr->head + 1) % HUB_STASH_MAX;
		dr->n--;
		on_message(h, &in);
	}
	dr->on = 0;
}

/* ------------------------------------------------------------ checkpoint */

struct cp_ctx {
	Ucr__LogHead *heads;
	Ucr__LogHead **ptrs;
	uint8_t (*hashes)[32];
	uint8_t (*authors)[32];
	size_t n, cap;
};

static int
cp_head(const struct ucr_head *hd, void *arg)
{
	struct cp_ctx *c = arg;

	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		void *a = realloc(c->heads, cap * sizeof(*c->heads));
		void *b = a ? realloc(c->hashes, cap * 32) : NULL;
		void *d = b ? realloc(c->authors, cap * 32) : NULL;

		if (a)
			c->heads = a;
		if (b)
			c->hashes = b;
		if (d == NULL)
			return UCR_ENOMEM;
		c->authors = d;
		c->cap = cap;
	}
	memcpy(c->hashes[c->n], hd->hash, 32);
	memcpy(c->authors[c->n], hd->author, 32);
	ucr__log_head__init(&c->heads[c->n]);
	c->heads[c->n].epoch = hd->epoch;
	c->heads[c->n].seq = hd->seq;
	c->n++;
	return 0;
}

/*
 * The checkpoint's O(store) part, the heads and the view digest, is read
 * on a thread of its own from one read transaction (ucr_store_snapshot),
 * so the loop goes on answering, ingesting and relaying meanwhile; at 6
 * million records it takes about a second. One at a time. The loop takes
 * the checkpoint's time, starts the thread and waits (some 0.1 ms) until
 * its read transaction has begun: no write of the loop comes between, so
 * the checkpoint is the store as it was at its time — every write the hub
 * held then, none after — and the time follows the last checkpoint's as
 * before (ucr_checkpoint_time). The worker's byte on a pipe wakes the
 * loop, which then signs, stores (a write transaction, on the loop as
 * every write) and sends. Whatever reopens or frees the store first stops
 * and joins the worker (peer_checkpoint_wait): the store's environment
 * may not close under a read.
 */
struct cp_job {
	pthread_t thread;
	struct ucr_store *store; /* read only through ucr_store_snapshot */
	atomic_int stop;         /* the loop asks the worker to give up */
	int wfd;                 /* the worker's end of the pipe */
	const char *hold;        /* test hook: UCR_TEST_CHECKPOINT_HOLD */
	int held;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int begun;     /* under mu: the read transaction has begun, or failed */
	uint64_t time; /* the checkpoint's time, taken at the start */
	int64_t started; /* hub_now_ms() at the start */
	struct cp_ctx c;
	uint8_t digest[32];
	int rc;
};

/*
 * Test hook, in the test build (ucr-hub-test) only: with
 * UCR_TEST_CHECKPOINT_HOLD set to a folder, the worker,
 * inside its read transaction at the first head, creates "held" there and
 * waits until "release" exists (or it is stopped), so a test knows the
 * loop works while a checkpoint is being computed.
 */
static void
cp_hold(struct cp_job *j)
{
	char path[1024];
	FILE *fp;

	j->held = 1;
	snprintf(path, sizeof(path), "%s/held", j->hold);
	if ((fp = fopen(path, "w")) != NULL)
		fclose(fp);
	snprintf(path, sizeof(path), "%s/release", j->hold);
	while (!atomic_load(&j->stop) && access(path, F_OK) != 0) {
		struct timespec ts = {0, 10 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
}

static void
cp_begun(struct cp_job *j)
{
	pthread_mutex_lock(&j->mu);
	j->begun = 1;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
}

static int
cp_worker_head(const struct ucr_head *hd, void *arg)
{
	struct cp_job *j = arg;

	if (!j->begun)
		cp_begun(j);
	if (j->hold && !j->held)
		cp_hold(j);
	if (atomic_load(&j->stop))
		return UCR_EAGAIN;
	return hd ? cp_head(hd, &j->c) : 0;
}

static void *
cp_worker(void *arg)
{
	struct cp_job *j = arg;
	ssize_t n;

	j->rc = ucr_store_snapshot(j->store, cp_worker_head, j, j->digest);
	if (!j->begun)
		cp_begun(j); /* it failed before it began */
	do
		n = write(j->wfd, "c", 1);
	while (n < 0 && errno == EINTR);
	return NULL;
}

static void
cp_job_free(struct cp_job *j)
{
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->cv);
	free(j->c.heads);
	free(j->c.hashes);
	free(j->c.authors);
	free(j);
}

/* Join the worker, which has written its byte or is about to. */
static struct cp_job *
cp_join(struct hub *h)
{
	struct cp_job *j = h->cp;
	char b;

	pthread_join(j->thread, NULL);
	while (read(h->cp_fd[0], &b, 1) < 0 && errno == EINTR)
		;
	h->cp = NULL;
	return j;
}

static void
checkpoint_start(struct hub *h)
{
	struct cp_job *j;
	sigset_t all, old;
	int rc;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return;
	j->store = h->d.store;
	atomic_init(&j->stop, 0);
	j->wfd = h->cp_fd[1];
#ifdef UCR_TEST_HOOKS
	j->hold = getenv("UCR_TEST_CHECKPOINT_HOLD");
#endif
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	j->time = ucr_checkpoint_time(h->d.store); /* monotonic */
	j->started = hub_now_ms();
	/* signals are the loop's: its zmq_poll must see them (EINTR) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&j->thread, NULL, cp_worker, j);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		log_warnx("checkpoint: cannot start its thread: %s",
		    strerror(rc));
		cp_job_free(j);
		return;
	}
	pthread_mutex_lock(&j->mu);
	while (!j->begun)
		pthread_cond_wait(&j->cv, &j->mu);
	pthread_mutex_unlock(&j->mu);
	h->cp = j;
	h->changed = 0; /* a write from now on makes the next one */
}

static void
checkpoint_send(struct hub *h, struct cp_job *j)
{
	Ucr__CheckpointBody body = UCR__CHECKPOINT_BODY__INIT;
	Ucr__Checkpoint cp = UCR__CHECKPOINT__INIT;
	Ucr__Frame f = UCR__FRAME__INIT;
	struct cp_ctx *c = &j->c;
	uint8_t sig[UCR_SIG_LEN], *buf = NULL;
	size_t i, len;
	int rc;

	c->ptrs = calloc(c->n ? c->n : 1, sizeof(*c->ptrs));
	if (c->ptrs == NULL)
		goto fail;
	for (i = 0; i < c->n; i++) {
		c->heads[i].author.data = c->authors[i];
		c->heads[i].author.len = 32;
		c->heads[i].hash.data = c->hashes[i];
		c->heads[i].hash.len = 32;
		c->ptrs[i] = &c->heads[i];
	}
	body.hub.data = h->d.key->pk;
	body.hub.len = 32;
	body.time = j->time;
	body.heads = c->ptrs;
	body.n_heads = c->n;
	body.view_digest.data = j->digest;
	body.view_digest.len = 32;
	len = ucr__checkpoint_body__get_packed_size(&body);
	if ((buf = malloc(len)) == NULL)
		goto fail;
	len = ucr__checkpoint_body__pack(&body, buf);
	ucr_sig_sign(sig, h->d.key, h->d.cfg->region, "checkpoint", buf, len);
	if ((rc = ucr_checkpoint_store(h->d.store, buf, len, sig,
		 sizeof(sig))) != 0) {
		log_warnx("checkpoint not stored, not sent: %s",
		    ucr_strerror(rc));
		goto fail;
	}
	cp.body.data = buf;
	cp.body.len = len;
	cp.signature.data = sig;
	cp.signature.len = sizeof(sig);
	f.body_case = UCR__FRAME__BODY_CHECKPOINT;
	f.checkpoint = &cp;
	for (i = 0; i < h->npeers; i++)
		if (h->peers[i].hello)
			send_to(h, &h->peers[i], &f);
	h->checkpoints++;
	goto leave;
fail:
	h->changed = 1; /* the next interval tries again */
leave:
	free(buf);
	free(c->ptrs);
	c->ptrs = NULL;
}

int
peer_checkpoint_fd(struct hub *h)
{
	return h->cp_fd[0];
}

void
peer_checkpoint_done(struct hub *h)
{
	struct cp_job *j;

	if (h->cp == NULL)
		return;
	j = cp_join(h);
	h->checkpoint_ms = hub_now_ms() - j->started;
	if (j->rc == 0) {
		log_debug("checkpoint: %zu logs read in %lld ms", j->c.n,
		    (long long)h->checkpoint_ms);
		checkpoint_send(h, j);
	} else {
		log_warnx("checkpoint not made: %s", ucr_strerror(j->rc));
		h->changed = 1;
	}
	cp_job_free(j);
}

void
peer_checkpoint_wait(void *arg)
{
	struct hub *h = arg;

	if (h->cp == NULL)
		return;
	atomic_store(&h->cp->stop, 1);
	cp_job_free(cp_join(h));
	h->changed = 1; /* its snapshot is dropped: make it again */
}

/* ---------------------------------------------------------------- timers */

static int
count_log(const struct ucr_head *head, void *arg)
{
	struct hub *h = arg;

	(void)head;
	h->nlogs++;
	return 0;
}

void
peer_timer(struct hub *h)
{
	int64_t now = hub_now_ms();
	size_t i;

	for (i = 0; i < h->npeers; i++) {
		struct peer *p = &h->peers[i];
		size_t j;

		/*
		 * Unacknowledged for longer than the link explains: assume
		 * lost and send once more, then wait for an ack (a peer that
		 * does not read is not fed twice).
		 */
		if (p->hello && p->nflights > 0 && !p->stalled &&
		    now - p->flights[0].sent_at > resend_ms(p)) {
			log_debug("peer %s: no ack for %lld ms, %d relay "
				  "batches sent again",
			    p->code, (long long)(now - p->flights[0].sent_at),
			    p->nflights);
			p->nflights = 0;
			p->inflight_bytes = 0;
			for (j = 0; j < p->nholds; j++) {
				p->holds[j].sent = p->holds[j].acked;
				p->holds[j].inflight = 0;
			}
			p->backoff++;
			p->stalled = 1;
			relay_pump(h, p);
		}
		/* liveness is any traffic, not only Hellos */
		if (p->hello && now - p->last_seen > CONNECTED_MS)
			peer_reset(p); /* silent: wait for its next hello */
	}
	/*
	 * New data and acks pump the relay as they come; the timer only
	 * retries what a full queue left behind, once a second, not on
	 * every wake-up of the loop. It also recounts the logs (the holds
	 * budget) and applies revocations to connected peers.
	 */
	relay_run(h, now);
	if (now >= h->relay_at) {
		h->nlogs = 0;
		ucr_store_foreach_head(h->d.store, count_log, h);
		peer_revalidate(h);
		relay_all(h);
		log_limited_flush();
		h->relay_at = now + RELAY_RETRY_MS;
	}
	if (now >= h->checkpoint_at) {
		if (h->changed && h->cp == NULL)
			checkpoint_start(h);
		h->checkpoint_at = now + CHECKPOINT_MS;
	}
}

int64_t
peer_timeout(struct hub *h)
{
	int64_t t = h->checkpoint_at - hub_now_ms();

	if (h->relay_due)
		return 0; /* relay_run() on the next turn */
	if (t < 0)
		t = 0;
	return t > 1000 ? 1000 : t;
}

/* ----------------------------------------------------------- peers query */

struct peers_ctx {
	struct hub *h;
	json_t *arr;
};

/* Refusals by code name, e.g. {"EPROTO": 3, "EAGAIN": 120}: codes seen. */
static json_t *
refusals_json(const uint64_t *counts)
{
	json_t *o = json_object();
	int i;

	for (i = 0; i < HUB_CODES; i++)
		if (counts[i])
			json_object_set_new(o, ucr_errname(UCR_EINVAL - i),
			    json_integer((json_int_t)counts[i]));
	return o;
}

/*
 * The logs paced for a peer (relay_refused): [{"log": author (16 hex),
 * "epoch", "seq": the first refused, "refused": times in a row,
 * "next_try_s"}]; at most one per hold.
 */
static json_t *
paced_json(const struct peer *p, int64_t now)
{
	json_t *a = json_array();
	char an[17];
	size_t i;

	for (i = 0; p && i < p->nholds; i++) {
		const struct hold *hd = &p->holds[i];
		int64_t left = hd->pace_until - now;

		if (hd->pace_count == 0)
			continue;
		ucr_hex(an, hd->author, 8);
		json_array_append_new(a,
		    json_pack("{s:s, s:I, s:I, s:I, s:I}", "log", an, "epoch",
			(json_int_t)hd->epoch, "seq",
			(json_int_t)(hd->pace_at + 1), "refused",
			(json_int_t)hd->pace_count, "next_try_s",
			(json_int_t)(left > 0 ? (left + 999) / 1000 : 0)));
	}
	return a;
}

static int
peers_cb(const struct ucr_rec *rec, void *arg)
{
	struct peers_ctx *c = arg;
	Ucr__Record *r;
	struct peer *p;
	struct ucr_head head;
	char hex[65];
	json_t *o;
	int64_t now = hub_now_ms();

	if (ucr_record_decode(&r, rec->bytes, rec->len) != 0)
		return 0;
	if (r->tombstone || r->body_case != UCR__RECORD__BODY_ROSTER ||
	    r->roster->public_key.len != 32) {
		ucr__record__free_unpacked(r, NULL);
		return 0;
	}
	p = peer_find(c->h, r->roster->public_key.data);
	ucr_hex(hex, r->roster->public_key.data, 32);
	o = json_object();
	json_object_set_new(o, "code", json_string(r->roster->municipality));
	json_object_set_new(o, "name", json_string(r->roster->name));
	json_object_set_new(o, "key", json_string(hex));
	json_object_set_new(o, "role",
	    json_string(r->roster->role == 1 ? "hub"
		    : r->roster->role == 2   ? "reader"
					     : "node"));
	json_object_set_new(o, "revoked", json_boolean(r->roster->revoked_at));
	json_object_set_new(o, "connected",
	    json_boolean(p && p->hello && now - p->last_seen < CONNECTED_MS));
	if (p && p->last_seen)
		json_object_set_new(o, "last_seen_s",
		    json_integer((now - p->last_seen) / 1000));
	else
		json_object_set_new(o, "last_seen_s", json_null());
	if (p && p->epoch &&
	    ucr_store_head(c->h->d.store, p->key, p->epoch, &head) == 0) {
		json_object_set_new(o, "hub_seq",
		    json_integer((json_int_t)head.seq));
		json_object_set_new(o, "forked", json_boolean(head.stopped));
	} else {
		json_object_set_new(o, "hub_seq", json_integer(0));
		json_object_set_new(o, "forked", json_false());
		head.seq = 0;
	}
	json_object_set_new(o, "reported",
	    p ? json_integer((json_int_t)p->reported) : json_null());
	json_object_set_new(o, "lag",
	    json_integer(p && p->reported > head.seq
		    ? (json_int_t)(p->reported - head.seq)
		    : 0));
	json_object_set_new(o, "refused",
	    json_integer(p ? (json_int_t)p->refused : 0));
	json_object_set_new(o, "refusals",
	    p ? refusals_json(p->refusals) : json_object());
	json_object_set_new(o, "last_error",
	    json_string(p ? p->last_error : ""));
	json_object_set_new(o, "revision",
	    p && p->hello ? json_integer(p->revision) : json_null());
	json_object_set_new(o, "held", json_string(p ? p->held : ""));
	json_object_set_new(o, "paced", paced_json(p, now));
	/* the link as the relay measured it (protocol.md 5.4) */
	json_object_set_new(o, "relay_batch",
	    json_integer(p ? (json_int_t)p->batch : 0));
	json_object_set_new(o, "relay_rate",
	    json_integer(p ? (json_int_t)p->rate : 0));
	json_array_append_new(c->arr, o);
	ucr__record__free_unpacked(r, NULL);
	return 0;
}

void
peer_query(const char *what, Ucr__Reply *rep, void *arg)
{
	struct hub *h = arg;
	struct peers_ctx c = {h, NULL};
	json_t *o;

	if (strcmp(what, "peers") == 0) {
		c.arr = json_array();
		ucr_store_foreach_record(h->d.store, "region/roster/", peers_cb,
		    &c);
		rep->json = json_dumps(c.arr, JSON_COMPACT);
		json_decref(c.arr);
		return;
	}
	if (strcmp(what, "hub") == 0) {
		o = json_pack(
		    "{s:I, s:I, s:I, s:I, s:o, s:I, s:b, s:I, s:I, s:I}",
		    "received", (json_int_t)h->rx, "refused",
		    (json_int_t)h->refused_msgs, "admitted",
		    (json_int_t)h->zap_ok, "denied", (json_int_t)h->zap_denied,
		    "refusals", refusals_json(h->refusals), "checkpoints",
		    (json_int_t)h->checkpoints, "checkpoint_running",
		    h->cp != NULL, "checkpoint_ms",
		    (json_int_t)h->checkpoint_ms, "relay_bounded",
		    (json_int_t)h->relay_bounded, "passes_cut",
		    (json_int_t)h->passes_cut);
		rep->json = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		return;
	}
	rep->code = UCR_EINVAL;
	rep->message = "unknown query";
}
