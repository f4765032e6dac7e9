/*
 * peer.c: the hub's sync server (docs/protocol.md): hello/state, batches
 * and acks, the relay of every log to every node, fetches for restored
 * nodes, flow control, and signed checkpoints.
 *
 * A peer is one node key (ZAP metadata "Key"), with the routing id of its
 * latest connection. For each log it tracks what the node acknowledged
 * holding and what has been sent since; the relay sends the next batch of
 * a log while fewer than RELAY_WINDOW batches are unacknowledged. Nothing
 * is trusted from the wire: every message is checked against the
 * connection's ZAP tag, and a bad one gets an Error frame, a log line and
 * a count, and the connection stays usable.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>
#include <zmq.h>

#include "chain.h"
#include "error.h"
#include "hub.h"
#include "log.h"
#include "record.h"

#define RELAY_WINDOW 8          /* relay batches in flight per peer */
#define RELAY_BYTES (512 << 10) /* bytes of entries per relay batch */
#define CREDIT_BATCHES 8        /* a node's window of unacked batches */
#define CREDIT_BYTES (4 << 20)
#define QUOTA_RATE (8 << 20) /* bytes per second per node */
#define QUOTA_BURST (32 << 20)
#define RESEND_MS 5000     /* no ack this long: send again */
#define CONNECTED_MS 15000 /* seen within this: connected */
#define CHECKPOINT_MS 10000
#define RELAY_RETRY_MS 1000 /* the timer's relay retry */

struct hold {
	uint8_t author[32];
	uint64_t epoch;
	uint64_t acked; /* the node says it holds this much */
	uint64_t sent;  /* sent up to here */
};

struct peer {
	uint8_t key[32];
	char code[16];
	char role[16];
	uint8_t rid[UCR_ROUTING_ID_MAX];
	size_t ridlen;
	int64_t last_seen;
	int64_t last_sent;
	uint64_t epoch;    /* the node's current epoch, from hello */
	uint64_t reported; /* its own head, from hello */
	int hello;         /* a hello seen on this connection */
	struct hold *holds;
	size_t nholds;
	int inflight;
	int fetch_own; /* a restore asked for its own log */
	double tokens;
	int64_t tokens_at;
	uint64_t rx, refused;
	char last_error[256];
};

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
		p->tokens_at = hub_now_ms();
	}
	if (p->ridlen != m->ridlen || memcmp(p->rid, m->rid, m->ridlen) != 0) {
		/* a new connection: nothing in flight survives it */
		memcpy(p->rid, m->rid, m->ridlen);
		p->ridlen = m->ridlen;
		p->hello = 0;
		p->inflight = 0;
	}
	snprintf(p->code, sizeof(p->code), "%.15s", m->user);
	p->last_seen = hub_now_ms();
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
}

static struct hold *
hold_get(struct peer *p, const uint8_t *author, uint64_t epoch)
{
	struct hold *hd;
	size_t i;

	for (i = 0; i < p->nholds; i++)
		if (p->holds[i].epoch == epoch &&
		    memcmp(p->holds[i].author, author, 32) == 0)
			return &p->holds[i];
	hd = realloc(p->holds, (p->nholds + 1) * sizeof(*hd));
	if (hd == NULL)
		return NULL;
	p->holds = hd;
	hd = &p->holds[p->nholds++];
	memset(hd, 0, sizeof(*hd));
	memcpy(hd->author, author, 32);
	hd->epoch = epoch;
	return hd;
}

static int
send_to(struct hub *h, struct peer *p, const Ucr__Frame *f)
{
	int rc = ucr_wire_send(h->router, p->rid, p->ridlen, f, 1);

	if (rc == 0)
		p->last_sent = hub_now_ms();
	else if (rc == UCR_ENOTFOUND)
		p->hello = 0; /* gone: wait for its next hello */
	return rc;
}

static void send_error(struct hub *h, const struct ucr_wire_msg *m,
    struct peer *p, int code, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void
send_error(struct hub *h, const struct ucr_wire_msg *m, struct peer *p,
    int code, uint64_t seq, const char *fmt, ...)
{
	Ucr__Frame f = UCR__FRAME__INIT;
	Ucr__Error e = UCR__ERROR__INIT;
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	h->refused_msgs++;
	if (p) {
		p->refused++;
		snprintf(p->last_error, sizeof(p->last_error), "%s", msg);
	}
	log_warnx("peer %s: %s", m->user[0] ? m->user : "?", msg);
	e.code = code;
	e.message = msg;
	e.seq = seq;
	f.body_case = UCR__FRAME__BODY_ERROR;
	f.error = &e;
	ucr_wire_send(h->router, m->rid, m->ridlen, &f, 1);
}

/* ---------------------------------------------------------------- relay */

struct relay_ctx {
	struct hub *h;
	struct peer *p;
	int sent;
};

static int
relay_log(const struct ucr_head *head, void *arg)
{
	struct relay_ctx *rc = arg;
	struct hub *h = rc->h;
	struct peer *p = rc->p;
	struct hold *hd;
	/* the node's current log is its own to send; its older epochs
	 * (a wiped store's) come back to it like any other log */
	int own =
	    memcmp(head->author, p->key, 32) == 0 && head->epoch == p->epoch;

	if (p->inflight >= RELAY_WINDOW)
		return 1;
	if (own && !p->fetch_own)
		return 0; /* the node is the source of its own log */
	if ((hd = hold_get(p, head->author, head->epoch)) == NULL)
		return 0;
	while (hd->sent < head->seq && p->inflight < RELAY_WINDOW) {
		Ucr__Frame f = UCR__FRAME__INIT;
		Ucr__Batch *b;
		int hubs = memcmp(head->author, h->d.key->pk, 32) == 0;
		int rc2;

		rc2 = ucr_store_batch(h->d.store, hubs ? h->d.key : NULL,
		    head->author, head->epoch, hd->sent + 1, 0, RELAY_BYTES,
		    &b);
		if (rc2 != 0)
			return 0;
		f.body_case = UCR__FRAME__BODY_BATCH;
		f.batch = b;
		rc2 = send_to(h, p, &f);
		if (rc2 == 0) {
			hd->sent = b->last_seq;
			p->inflight++;
			rc->sent++;
		}
		ucr_batch_free(b);
		if (rc2 != 0)
			return 1;
	}
	return 0;
}

static void
relay_pump(struct hub *h, struct peer *p)
{
	struct relay_ctx rc = {h, p, 0};
	struct ucr_head head;
	uint64_t epoch;

	if (!p->hello)
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
relay_all(struct hub *h)
{
	size_t i;

	for (i = 0; i < h->npeers; i++)
		relay_pump(h, &h->peers[i]);
}

void
peer_changed(void *arg)
{
	struct hub *h = arg;

	h->changed = 1;
	relay_all(h);
}

/* ---------------------------------------------------------------- frames */

/* What the roster says of a key right now. */
struct rostercheck {
	const uint8_t *key;
	int found, revoked, role;
	char code[16];
};

static int
rostercheck_cb(const struct ucr_rec *rec, void *arg)
{
	struct rostercheck *c = arg;
	Ucr__Record *r;

	if (ucr_record_decode(&r, rec->bytes, rec->len) != 0)
		return 0;
	if (!r->tombstone && r->body_case == UCR__RECORD__BODY_ROSTER &&
	    r->roster->public_key.len == 32 &&
	    memcmp(r->roster->public_key.data, c->key, 32) == 0) {
		c->found = 1;
		c->revoked = r->roster->revoked_at != 0;
		c->role = r->roster->role;
		snprintf(c->code, sizeof(c->code), "%s",
		    r->roster->municipality);
	}
	ucr__record__free_unpacked(r, NULL);
	return 0;
}

/*
 * Is this key enrolled for code and not revoked, right now? ZAP checked it
 * when the connection was made; a revocation since then must take effect
 * on the open connection too. One LMDB get per message. writer: also not
 * a reader's key.
 */
static int
roster_ok(struct hub *h, const uint8_t *key, const char *code, int writer)
{
	struct rostercheck c;
	char k[128], hex[65];

	memset(&c, 0, sizeof(c));
	c.key = key;
	ucr_hex(hex, key, 32);
	snprintf(k, sizeof(k), "region/roster/%s", hex);
	ucr_store_get(h->d.store, k, rostercheck_cb, &c);
	return c.found && !c.revoked && strcmp(c.code, code) == 0 &&
	    (!writer || c.role != UCR__ROLE__ROLE_READER);
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
	int rc;

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
	p->epoch = hello->epoch;
	p->reported = hello->head_seq;
	p->hello = 1;
	p->inflight = 0;
	p->fetch_own = 0;
	st.author = hello->author;
	st.epoch = hello->epoch;
	st.credit_batches = CREDIT_BATCHES;
	st.credit_bytes = CREDIT_BYTES;
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

		/* the node's head must be our entry at that seq */
		if (ucr_store_entry_hash(h->d.store, p->key, hello->epoch,
			hello->head_seq, at) != 0 ||
		    memcmp(at, hello->head_hash.data, 32) != 0) {
			ucr_store_stop_log(h->d.store, p->key, hello->epoch,
			    hello->head_seq, hello->head_hash.data, 32,
			    "fork: the node's head differs from the entry held");
			log_warnx("peer %s: ALARM fork at seq %llu of its log; "
				  "log stopped",
			    p->code, (unsigned long long)hello->head_seq);
			st.verdict = UCR__VERDICT__VERDICT_FORK;
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
	f.body_case = UCR__FRAME__BODY_STATE;
	f.state = &st;
	send_to(h, p, &f);
	/* what the node holds of every other log */
	for (i = 0; i < hello->n_holds; i++) {
		Ucr__LogHead *lh = hello->holds[i];
		struct hold *hd;

		if (lh->author.len != 32)
			continue;
		if ((hd = hold_get(p, lh->author.data, lh->epoch)) != NULL)
			hd->acked = hd->sent = lh->seq;
	}
	/* logs the node did not mention: it holds none of them */
	for (i = 0; i < p->nholds; i++) {
		size_t j;
		int mentioned = 0;

		for (j = 0; j < hello->n_holds; j++)
			mentioned |= hello->holds[j]->author.len == 32 &&
			    memcmp(hello->holds[j]->author.data,
				p->holds[i].author, 32) == 0 &&
			    hello->holds[j]->epoch == p->holds[i].epoch;
		if (!mentioned)
			p->holds[i].acked = p->holds[i].sent = 0;
	}
	relay_pump(h, p);
}

/* Token bucket per node: one busy or hostile node cannot starve others. */
static int
quota_take(struct peer *p, size_t bytes)
{
	int64_t now = hub_now_ms();

	p->tokens += (double)(now - p->tokens_at) * QUOTA_RATE / 1000.0;
	if (p->tokens > QUOTA_BURST)
		p->tokens = QUOTA_BURST;
	p->tokens_at = now;
	if (p->tokens < (double)bytes)
		return 0;
	p->tokens -= (double)bytes;
	return 1;
}

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
	a.credit_bytes = CREDIT_BYTES;
	f.body_case = UCR__FRAME__BODY_ACK;
	f.ack = &a;
	send_to(h, p, &f);
}

static void
on_batch(struct hub *h, const struct ucr_wire_msg *m, struct peer *p,
    const Ucr__Batch *b)
{
	struct ucr_head head;
	char why[256] = "";
	size_t applied = 0;
	int rc;

	if (b->author.len != 32 || memcmp(b->author.data, p->key, 32) != 0) {
		send_error(h, m, p, UCR_EOWNER, 0,
		    "batch of another author's "
		    "log: a node sends only its own");
		return;
	}
	if (strcmp(p->role, "node") != 0 || !roster_ok(h, p->key, m->user, 1)) {
		send_error(h, m, p, UCR_EROSTER, 0,
		    "key revoked or not a "
		    "node's: batch %llu-%llu refused",
		    (unsigned long long)b->first_seq,
		    (unsigned long long)b->last_seq);
		return;
	}
	if (!quota_take(p, m->len)) {
		send_error(h, m, p, UCR_EAGAIN, 0,
		    "rate quota exceeded; slow "
		    "down");
		return;
	}
	rc = ucr_store_apply(h->d.store, b, &applied, why, sizeof(why));
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
		relay_all(h);
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

static void
on_ack(struct hub *h, struct peer *p, const Ucr__Ack *a)
{
	struct hold *hd;

	if (a->author.len != 32)
		return;
	if ((hd = hold_get(p, a->author.data, a->epoch)) == NULL)
		return;
	hd->acked = a->seq;
	if (hd->sent < a->seq)
		hd->sent = a->seq;
	if (a->seq < hd->sent && p->inflight <= 1)
		hd->sent = a->seq; /* it refused or lost some: resend */
	if (p->inflight > 0)
		p->inflight--;
	if (memcmp(a->author.data, p->key, 32) == 0 && a->epoch == p->epoch) {
		struct ucr_head head;

		p->reported = a->seq;
		if (ucr_store_head(h->d.store, p->key, p->epoch, &head) == 0 &&
		    a->seq >= head.seq)
			p->fetch_own = 0; /* restore complete */
	}
	relay_pump(h, p);
}

static void
on_fetch(struct hub *h, const struct ucr_wire_msg *m, struct peer *p,
    const Ucr__Fetch *fe)
{
	struct hold *hd;

	if (fe->author.len != 32 || fe->from_seq == 0) {
		send_error(h, m, p, UCR_EPROTO, 0, "malformed fetch");
		return;
	}
	if ((hd = hold_get(p, fe->author.data, fe->epoch)) == NULL)
		return;
	hd->acked = hd->sent = fe->from_seq - 1;
	if (memcmp(fe->author.data, p->key, 32) == 0)
		p->fetch_own = 1;
	relay_pump(h, p);
}

void
peer_dispatch(struct hub *h)
{
	struct ucr_wire_msg m;
	Ucr__Frame *f;
	struct peer *p;
	uint8_t key[32];
	int i, rc;

	for (i = 0; i < 64; i++) {
		rc = ucr_wire_recv(h->router, 1, &m);
		if (rc == UCR_EAGAIN)
			return;
		h->rx++;
		if (rc != 0) {
			p = ucr_unhex(key, 32, m.key) == 0 ? peer_find(h, key)
							   : NULL;
			if (m.ridlen)
				send_error(h, &m, p, UCR_EPROTO, 0,
				    "malformed "
				    "message (%s): a frame is one message part",
				    ucr_strerror(rc));
			else {
				h->refused_msgs++;
				log_warnx(
				    "peer %s: malformed message (%s), dropped",
				    m.user[0] ? m.user : "?", ucr_strerror(rc));
			}
			ucr_wire_msg_free(&m);
			continue;
		}
		if (ucr_unhex(key, 32, m.key) != 0) {
			/* only ZAP-admitted connections reach here */
			send_error(h, &m, NULL, UCR_EROSTER, 0,
			    "connection "
			    "without a key");
			ucr_wire_msg_free(&m);
			continue;
		}
		if ((p = peer_get(h, &m, key)) == NULL) {
			ucr_wire_msg_free(&m);
			continue;
		}
		snprintf(p->role, sizeof(p->role), "%s", m.role);
		p->rx++;
		if ((rc = ucr_wire_decode(&f, m.data, m.len)) != 0) {
			if (rc == UCR_ETOOBIG)
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
			continue;
		}
		if (!roster_ok(h, p->key, m.user, 0)) {
			/* revoked while connected: nothing more in or out */
			p->hello = 0;
			send_error(h, &m, p, UCR_EROSTER, 0,
			    "key revoked: %s "
			    "refused",
			    ucr_wire_name(f));
			ucr__frame__free_unpacked(f, NULL);
			ucr_wire_msg_free(&m);
			continue;
		}
		switch (f->body_case) {
		case UCR__FRAME__BODY_HELLO:
			on_hello(h, &m, p, f->hello);
			break;
		case UCR__FRAME__BODY_BATCH:
			on_batch(h, &m, p, f->batch);
			break;
		case UCR__FRAME__BODY_ACK:
			on_ack(h, p, f->ack);
			break;
		case UCR__FRAME__BODY_FETCH:
			on_fetch(h, &m, p, f->fetch);
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

static void
checkpoint(struct hub *h)
{
	Ucr__CheckpointBody body = UCR__CHECKPOINT_BODY__INIT;
	Ucr__Checkpoint cp = UCR__CHECKPOINT__INIT;
	Ucr__Frame f = UCR__FRAME__INIT;
	struct cp_ctx c;
	uint8_t digest[32], sig[UCR_SIG_LEN], *buf = NULL;
	size_t i, len;

	memset(&c, 0, sizeof(c));
	if (ucr_store_foreach_head(h->d.store, cp_head, &c) != 0 ||
	    ucr_store_view_digest(h->d.store, digest) != 0)
		goto leave;
	c.ptrs = calloc(c.n ? c.n : 1, sizeof(*c.ptrs));
	if (c.ptrs == NULL)
		goto leave;
	for (i = 0; i < c.n; i++) {
		c.heads[i].author.data = c.authors[i];
		c.heads[i].author.len = 32;
		c.heads[i].hash.data = c.hashes[i];
		c.heads[i].hash.len = 32;
		c.ptrs[i] = &c.heads[i];
	}
	body.hub.data = h->d.key->pk;
	body.hub.len = 32;
	body.time = ucr_hlc_next(0);
	body.heads = c.ptrs;
	body.n_heads = c.n;
	body.view_digest.data = digest;
	body.view_digest.len = 32;
	len = ucr__checkpoint_body__get_packed_size(&body);
	if ((buf = malloc(len)) == NULL)
		goto leave;
	len = ucr__checkpoint_body__pack(&body, buf);
	ucr_sig_sign(sig, h->d.key, h->d.cfg->region, "checkpoint", buf, len);
	ucr_store_meta_put(h->d.store, "checkpoint", buf, len);
	ucr_store_meta_put(h->d.store, "checkpoint-sig", sig, sizeof(sig));
	cp.body.data = buf;
	cp.body.len = len;
	cp.signature.data = sig;
	cp.signature.len = sizeof(sig);
	f.body_case = UCR__FRAME__BODY_CHECKPOINT;
	f.checkpoint = &cp;
	for (i = 0; i < h->npeers; i++)
		if (h->peers[i].hello)
			send_to(h, &h->peers[i], &f);
	h->changed = 0;
leave:
	free(buf);
	free(c.ptrs);
	free(c.heads);
	free(c.hashes);
	free(c.authors);
}

/* ---------------------------------------------------------------- timers */

void
peer_timer(struct hub *h)
{
	int64_t now = hub_now_ms();
	size_t i;

	for (i = 0; i < h->npeers; i++) {
		struct peer *p = &h->peers[i];
		size_t j;

		/* unacknowledged for long: assume lost, send again */
		if (p->hello && p->inflight > 0 &&
		    now - p->last_sent > RESEND_MS) {
			p->inflight = 0;
			for (j = 0; j < p->nholds; j++)
				p->holds[j].sent = p->holds[j].acked;
			relay_pump(h, p);
		}
		if (p->hello && now - p->last_seen > CONNECTED_MS)
			p->hello = 0; /* silent: wait for its next hello */
	}
	/*
	 * New data and acks pump the relay as they come; the timer only
	 * retries what a full queue or a lost batch left behind, once a
	 * second, not on every wake-up of the loop.
	 */
	if (now >= h->relay_at) {
		relay_all(h);
		h->relay_at = now + RELAY_RETRY_MS;
	}
	if (now >= h->checkpoint_at) {
		if (h->changed)
			checkpoint(h);
		h->checkpoint_at = now + CHECKPOINT_MS;
	}
}

int64_t
peer_timeout(struct hub *h)
{
	int64_t t = h->checkpoint_at - hub_now_ms();

	if (t < 0)
		t = 0;
	return t > 1000 ? 1000 : t;
}

/* ----------------------------------------------------------- peers query */

struct peers_ctx {
	struct hub *h;
	json_t *arr;
};

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
	json_object_set_new(o, "last_error",
	    json_string(p ? p->last_error : ""));
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
		o = json_pack("{s:I, s:I, s:I, s:I}", "received",
		    (json_int_t)h->rx, "refused", (json_int_t)h->refused_msgs,
		    "admitted", (json_int_t)h->zap_ok, "denied",
		    (json_int_t)h->zap_denied);
		rep->json = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		return;
	}
	rep->code = UCR_EINVAL;
	rep->message = "unknown query";
}
