/* control.c: the control socket's request handling (see control.h). */
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "chain.h"
#include "control.h"
#include "ctlsrv.h"
#include "error.h"
#include "log.h"
#include "pbwire.h"
#include "record.h"
#include "records.h"
#include "text.h"
#include "view.h"

static void req_drop(void);

/* Make msg valid UTF-8 in place (it holds msglen bytes). */
static void
sanitize(char *msg, size_t msglen)
{
	char tmp[2048];
	size_t len = strnlen(msg, msglen);

	if (len >= sizeof(tmp))
		len = sizeof(tmp) - 1;
	memcpy(tmp, msg, len);
	tmp[len] = '\0';
	ucr_utf8_sanitize(msg, msglen, tmp, len);
}

static void reply_error(Ucr__Reply *rep, char *msg, size_t msglen, int code,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
reply_error(Ucr__Reply *rep, char *msg, size_t msglen, int code,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	/* The text may quote record keys and titles from any site: a proto3
	   string must be valid UTF-8, so invalid bytes become U+FFFD. */
	sanitize(msg, msglen);
	rep->code = code;
	rep->message = msg;
}

/*
 * Append the puts that next gives, one transaction, and fill the reply:
 * the seqs written, or the refusal. hint: their number when known. Every
 * caller has run ucr_record_validate on each record next gives (a put of
 * bytes: as it was staged), so the store does not run it again.
 */
static void
write_puts(struct ucr_control *c, const ProtobufCBinaryData *id,
    ucr_put_next_fn next, void *ctx, size_t hint, Ucr__Reply *rep, char *msg,
    size_t msglen)
{
	char why[512];
	size_t bad = 0;
	uint64_t first = 0, last = 0;
	int rc, replayed = 0;

	why[0] = '\0';
	rc = ucr_store_append_checked(c->store, c->key, id->data, id->len, next,
	    ctx, hint, &first, &last, &replayed, &bad, why, sizeof(why));
	if (rc != 0) {
		reply_error(rep, msg, msglen, rc, "%s",
		    why[0] ? why : ucr_strerror(rc));
		return;
	}
	rep->first_seq = first;
	rep->last_seq = last;
	if (!replayed && ucr_store_deferred(c->store)) {
		/* durable in the journal: committed after the answer */
		c->kick = 1;
		return;
	}
	if (replayed) {
		/* a retry of a write already made: its original result */
		c->replayed++;
		log_info("control: request retried, already written as seq "
			 "%llu-%llu",
		    (unsigned long long)first, (unsigned long long)last);
		return;
	}
	log_debug("control: appended %llu records, seq %llu-%llu",
	    (unsigned long long)(last - first + 1), (unsigned long long)first,
	    (unsigned long long)last);
	if (c->appended)
		c->appended(c->ctx);
}

/* 0 if the daemon takes writes now, else the refusal in rep. */
static int
writable(struct ucr_control *c, Ucr__Reply *rep, char *msg, size_t msglen)
{
	char why[512];

	if (c->may_write && !c->may_write(c->ctx, why, sizeof(why))) {
		reply_error(rep, msg, msglen, UCR_EAGAIN, "%s", why);
		return -1;
	}
	return 0;
}

/*
 * Check one put as every write does (validated, ours to write, a known
 * mode): 0, or -1 with the refusal in rep. at: its index in the request,
 * named in the refusal when numbered (an import, a write of several).
 */
static int
check_put(struct ucr_control *c, const Ucr__Put *p, size_t at, int numbered,
    Ucr__Reply *rep, char *msg, size_t msglen)
{
	Ucr__Record *r = p ? p->record : NULL;
	const char *k = r && r->key ? r->key : "?";
	char why[512], pre[32] = "";

	if (numbered)
		snprintf(pre, sizeof(pre), "record %zu: ", at + 1);
	if (r == NULL) {
		reply_error(rep, msg, msglen, UCR_EPROTO, "record %zu: missing",
		    at + 1);
		return -1;
	}
	if (ucr_record_validate(r, why, sizeof(why)) != 0) {
		reply_error(rep, msg, msglen, UCR_ESCHEMA, "%s%s: %s", pre, k,
		    why);
		return -1;
	}
	if (strcmp(r->owner, c->owner) != 0) {
		reply_error(rep, msg, msglen, UCR_EOWNER,
		    "%s%s: this daemon writes only records of %s", pre, k,
		    c->owner);
		return -1;
	}
	if (p->mode < 0 || p->mode > 2 || p->n_adopt_keys > 256) {
		reply_error(rep, msg, msglen, UCR_EPROTO,
		    "%s%s: bad mode or too many adopted keys", pre, k);
		return -1;
	}
	return 0;
}

/* Write n puts of one request in one append, each checked first. */
static void
do_puts(struct ucr_control *c, const ProtobufCBinaryData *id, Ucr__Put **in,
    size_t n, size_t max, Ucr__Reply *rep, char *msg, size_t msglen)
{
	struct ucr_put *puts = NULL;
	struct ucr_put_array a;
	size_t i;

	if (writable(c, rep, msg, msglen) != 0)
		return;
	if (n == 0 || n > max) {
		reply_error(rep, msg, msglen, UCR_EINVAL,
		    "between 1 and %zu records at a time", max);
		return;
	}
	if ((puts = calloc(n, sizeof(*puts))) == NULL) {
		reply_error(rep, msg, msglen, UCR_ENOMEM, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		if (check_put(c, in[i], i, n > 1, rep, msg, msglen) != 0)
			goto leave;
		puts[i].record = in[i]->record;
		puts[i].mode = (enum ucr_put_mode)in[i]->mode;
		puts[i].adopt_keys = (const char *const *)in[i]->adopt_keys;
		puts[i].nadopt = in[i]->n_adopt_keys;
	}
	a.puts = puts;
	a.n = n;
	a.i = 0;
	if (c->defer)
		ucr_store_defer_next(c->store);
	write_puts(c, id, ucr_put_array_next, &a, n, rep, msg, msglen);
leave:
	free(puts);
}

/* ---------------------------------------------------------------- import
 *
 * A streamed import (docs/import.md): each chunk is checked on arrival
 * and its puts are written, packed, to a staging file in the store's
 * folder (STAGE_FILE, mode 0600), so that an import of any size holds one
 * buffer in memory, not the import. The commit reads the file back one
 * put at a time into one ucr_store_append_stream, one transaction. One
 * import at a time; one left idle for import_idle_s (IMPORT_IDLE_S), or
 * open for longer than import_max_s (IMPORT_MAX_S) however often its
 * chunks come, is dropped by ucr_control_tick or at its next chunk, or
 * gives way to a new one: a client that trickles chunks does not hold the
 * one import, and its file, for ever. The file goes with its import: at
 * the commit, an abort, a refusal, either timeout, and at the daemon's
 * start (ucr_control_open: one left by a crash).
 */
#define IMPORT_IDLE_S 60
#define IMPORT_MAX_S 3600
#define STAGE_FILE "import.stage"
#define STAGE_BUF (1 << 20)                /* the write and read buffer */
#define STAGE_RESERVE ((uint64_t)64 << 20) /* left free on the disk */

struct ucr_import_stage {
	uint64_t id;
	int fd;          /* the staging file */
	char path[4096]; /* its name */
	uint8_t *buf;    /* puts not written yet, or read back */
	size_t len, cap; /* bytes in buf, its size */
	size_t n;        /* puts staged */
	uint64_t bytes;  /* in the file and buf */
	time_t started;  /* when its first chunk came */
	time_t last;     /* when its last chunk came */
};

static time_t
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static int
stage_path(struct ucr_control *c, char *buf, size_t len)
{
	char dir[4000];
	int rc;

	if ((rc = ucr_store_dir(c->store, dir, sizeof(dir))) != 0)
		return rc;
	if ((size_t)snprintf(buf, len, "%s/%s", dir, STAGE_FILE) >= len)
		return UCR_ETOOBIG;
	return 0;
}

/* Drop the staged import: its file and its buffer. */
static void
stage_free(struct ucr_control *c)
{
	struct ucr_import_stage *st = c->import;

	if (st == NULL)
		return;
	if (st->fd >= 0) {
		close(st->fd);
		if (unlink(st->path) != 0 && errno != ENOENT)
			log_warnx("control: cannot remove %s: %s", st->path,
			    strerror(errno));
	}
	free(st->buf);
	free(st);
	c->import = NULL;
}

void
ucr_control_open(struct ucr_control *c)
{
	char path[4096], why[512];

	if (stage_path(c, path, sizeof(path)) != 0)
		return;
	if (unlink(path) == 0)
		log_info("control: removed %s, an import left unfinished by "
			 "the last run",
		    path);
	if (c->defer && ucr_store_journal_open(c->store, why, sizeof(why)) != 0)
		log_warnx("control: %s; writes are answered after their "
			  "commit",
		    why);
}

void
ucr_control_after(struct ucr_control *c)
{
	int rc;

	if (ucr_store_deferred(c->store)) {
		/* its batch may leave before its commit: it is durable */
		if (c->journaled)
			c->journaled(c->ctx);
		/* a failed commit is retried (once a second) and logged by
		   the store */
		if ((rc = ucr_store_commit_deferred(c->store)) != 0)
			return;
		c->kick = 1; /* an answered write, or one recovered */
	}
	if (c->kick && c->appended)
		c->appended(c->ctx);
	c->kick = 0;
}

/* Has the staged import run out of time: 0, or why (for the log). */
static const char *
stage_expired(const struct ucr_control *c, time_t now)
{
	time_t idle = c->import_idle_s ? c->import_idle_s : IMPORT_IDLE_S;
	time_t max = c->import_max_s ? c->import_max_s : IMPORT_MAX_S;

	if (now - c->import->last >= idle)
		return "idle";
	if (now - c->import->started >= max)
		return "open too long";
	return NULL;
}

/* Drop the staged import if it ran out of time; 1 if it did. */
static int
stage_expire(struct ucr_control *c)
{
	time_t now = mono_s();
	const char *why;

	if (c->import == NULL || (why = stage_expired(c, now)) == NULL)
		return 0;
	log_info("control: import %llu %s (%llds open, %llds since its last "
		 "chunk) with %zu records staged: dropped",
	    (unsigned long long)c->import->id, why,
	    (long long)(now - c->import->started),
	    (long long)(now - c->import->last), c->import->n);
	stage_free(c);
	return 1;
}

void
ucr_control_tick(struct ucr_control *c)
{
	ucr_control_after(c); /* and retries a commit that failed */
	(void)stage_expire(c);
}

void
ucr_control_close(struct ucr_control *c)
{
	stage_free(c);
	req_drop();
}

/* A failed write or read of the staging file as a UCR_E* code. */
static int
stage_errno(int e)
{
	return e == ENOSPC || e == EDQUOT || e == EFBIG ? UCR_EDISKFULL
							: UCR_EIO;
}

/* A new, empty staging file (0600, never one left behind). */
static int
stage_open(struct ucr_control *c, struct ucr_import_stage *st)
{
	int rc;

	st->fd = -1;
	if ((rc = stage_path(c, st->path, sizeof(st->path))) != 0)
		return rc;
	if ((st->buf = malloc(STAGE_BUF)) == NULL)
		return UCR_ENOMEM;
	st->cap = STAGE_BUF;
	(void)unlink(st->path);
	st->fd = open(st->path,
	    O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	return st->fd < 0 ? stage_errno(errno) : 0;
}

/*
 * Write the buffer to the file. Staging leaves the store's file system its
 * last sixteenth, at most STAGE_RESERVE: an import never takes the room
 * the store's other writes (sync, a local write) need.
 */
static int
stage_flush(struct ucr_import_stage *st)
{
	struct statvfs sv;
	uint64_t avail, reserve;
	size_t off = 0;
	ssize_t w;

	if (st->len > 0 && fstatvfs(st->fd, &sv) == 0) {
		avail = (uint64_t)sv.f_bavail * sv.f_frsize;
		reserve = (uint64_t)sv.f_blocks * sv.f_frsize / 16;
		if (reserve > STAGE_RESERVE)
			reserve = STAGE_RESERVE;
		if (avail < st->len + reserve)
			return UCR_EDISKFULL;
	}
	while (off < st->len) {
		if ((w = write(st->fd, st->buf + off, st->len - off)) < 0) {
			if (errno == EINTR)
				continue;
			return stage_errno(errno);
		}
		off += (size_t)w;
	}
	st->len = 0;
	return 0;
}

/* Room for want bytes in the buffer (a put larger than it grows it). */
static int
stage_room(struct ucr_import_stage *st, size_t want)
{
	uint8_t *b;

	if (want <= st->cap)
		return 0;
	if ((b = realloc(st->buf, want)) == NULL)
		return UCR_ENOMEM;
	st->buf = b;
	st->cap = want;
	return 0;
}

/*
 * The bytes of each put's record as they came in the request, so that a
 * staged record is copied rather than encoded again. They are exactly the
 * bytes that the record checked was decoded from only when the request
 * has one import (Request field 4), the chunk's puts (ImportChunk field 2)
 * are its puts in order, and each put has one record (Put field 1):
 * protobuf merges a message field given twice, so anything else is
 * packed from the decoded record as before. A record's bytes may thus be
 * in any field order its client wrote (as a record from another site
 * is): they decode to the record that was checked.
 */
struct wire_slice {
	const uint8_t *p;
	size_t len;
};

/* The one length-delimited field num of [p, p + len), or -1. */
static int
wire_one(const uint8_t *p, size_t len, uint64_t num, struct wire_slice *out)
{
	const uint8_t *end = p + len;
	struct ucr_pb_field f;
	int rc, seen = 0;

	while ((rc = ucr_pb_next(&p, end, &f)) > 0)
		if (f.num == num) {
			if (f.type != UCR_PB_LEN || seen++)
				return -1;
			out->p = f.p;
			out->len = f.len;
		}
	return rc == 0 && seen == 1 ? 0 : -1;
}

/* Each put's record in the request buf (nputs of them), or NULL. */
static struct wire_slice *
wire_records(const uint8_t *buf, size_t len, size_t nputs,
    void *(*alloc)(void *, size_t))
{
	struct wire_slice chunk = {NULL, 0}, *out;
	struct ucr_pb_field f;
	const uint8_t *p, *end;
	size_t i = 0;
	int rc;

	if (nputs == 0 || wire_one(buf, len, 4, &chunk) != 0 ||
	    (out = alloc(NULL, nputs * sizeof(*out))) == NULL)
		return NULL;
	p = chunk.p;
	end = chunk.p + chunk.len;
	while ((rc = ucr_pb_next(&p, end, &f)) > 0) {
		if (f.num != 2)
			continue;
		if (f.type != UCR_PB_LEN || i == nputs ||
		    wire_one(f.p, f.len, 1, &out[i]) != 0)
			return NULL;
		i++;
	}
	return rc == 0 && i == nputs ? out : NULL;
}

/*
 * A staged put: 4 bytes of length n, then n bytes. A put that adopts
 * nothing is STAGE_REC: its mode, tombstone flag, body case and key
 * (NUL-terminated), the fields the store reads of it as it applies it
 * (its owner, a measurement's area, year and status: struct ucr_put's),
 * then the record encoded: the commit hands these bytes to the store as
 * they are (struct ucr_put's bytes), without decoding or encoding the
 * record again. A put that adopts is STAGE_PUT:
 * the Put packed, unpacked again at the commit (the store binds the
 * adopted records' hashes into the record).
 */
#define STAGE_PUT 0
#define STAGE_REC 1
/* tag, mode, tombstone, kind 4, key length 2, owner length (NOFACTS:
   none), area length + 1 (0: none), status, year 4 */
#define STAGE_HDR 16
#define STAGE_NOFACTS 0xff

static void
stage_len(uint8_t *b, size_t n)
{
	b[0] = n >> 24;
	b[1] = n >> 16;
	b[2] = n >> 8;
	b[3] = n;
}

static int
stage_put(struct ucr_import_stage *st, const Ucr__Put *p,
    const struct wire_slice *wire)
{
	const Ucr__Record *r = p->record;
	const Ucr__Measurement *m =
	    r->body_case == UCR__RECORD__BODY_MEASUREMENT ? r->measurement
							  : NULL;
	size_t klen = strlen(r->key), rlen = 0, n, olen = 0, alen = 0;
	int facts, rc;
	uint8_t *b, *at;

	olen = strlen(r->owner);
	if (m != NULL && m->area != NULL)
		alen = strlen(m->area) + 1;
	facts = olen < STAGE_NOFACTS && alen < 0xff;
	if (p->n_adopt_keys > 0)
		n = 1 + ucr__put__get_packed_size(p);
	else {
		rlen =
		    wire != NULL ? wire->len : ucr__record__get_packed_size(r);
		n = STAGE_HDR + klen + 1 + rlen + (facts ? olen + 1 + alen : 0);
	}
	if (n > UINT32_MAX - 4 || klen > UINT16_MAX)
		return UCR_ETOOBIG;
	if (st->len + 4 + n > st->cap && (rc = stage_flush(st)) != 0)
		return rc;
	if ((rc = stage_room(st, 4 + n)) != 0)
		return rc;
	b = st->buf + st->len;
	stage_len(b, n);
	if (p->n_adopt_keys > 0) {
		b[4] = STAGE_PUT;
		ucr__put__pack(p, b + 5);
	} else {
		b[4] = STAGE_REC;
		b[5] = (uint8_t)p->mode;
		b[6] = r->tombstone != 0;
		stage_len(b + 7, (uint32_t)r->body_case);
		b[11] = klen >> 8;
		b[12] = klen;
		b[13] = facts ? (uint8_t)olen : STAGE_NOFACTS;
		b[14] = facts ? (uint8_t)alen : 0;
		b[15] = m != NULL ? (uint8_t)m->status : 0;
		stage_len(b + 16, m != NULL ? m->year : 0);
		at = b + 4 + STAGE_HDR;
		memcpy(at, r->key, klen + 1);
		at += klen + 1;
		if (facts) {
			memcpy(at, r->owner, olen + 1);
			at += olen + 1;
			if (alen > 0)
				memcpy(at, m->area, alen);
			at += alen;
		}
		if (wire != NULL)
			memcpy(at, wire->p, rlen);
		else
			ucr__record__pack(r, at);
	}
	st->len += 4 + n;
	st->bytes += 4 + n;
	st->n++;
	return 0;
}

/* Reading the staging file back, one put at a time. */
struct stage_reader {
	struct ucr_import_stage *st;
	size_t off; /* the next unread byte in st->buf */
	size_t i;   /* puts given */
	Ucr__Put *cur;
	int mem; /* all of it is in st->buf: the file is not read */
};

/* want contiguous bytes at st->buf + r->off, reading more as needed. */
static int
stage_fill(struct stage_reader *r, size_t want)
{
	struct ucr_import_stage *st = r->st;
	ssize_t got;
	int rc;

	if (st->len - r->off >= want)
		return 0;
	if (r->mem)
		return UCR_ECORRUPT; /* shorter than staged */
	memmove(st->buf, st->buf + r->off, st->len - r->off);
	st->len -= r->off;
	r->off = 0;
	if ((rc = stage_room(st, want)) != 0)
		return rc;
	while (st->len < want) {
		got = read(st->fd, st->buf + st->len, st->cap - st->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return stage_errno(errno);
		if (got == 0)
			return UCR_ECORRUPT; /* shorter than staged */
		st->len += (size_t)got;
	}
	return 0;
}

static int
stage_next(void *ctx, struct ucr_put *put, char *why, size_t whylen)
{
	struct stage_reader *r = ctx;
	const uint8_t *b;
	size_t n, klen;
	int rc;

	ucr__put__free_unpacked(r->cur, NULL);
	r->cur = NULL;
	if (r->i == r->st->n)
		return 0;
	if ((rc = stage_fill(r, 4)) != 0)
		goto fail;
	b = r->st->buf + r->off;
	n = (size_t)b[0] << 24 | (size_t)b[1] << 16 | (size_t)b[2] << 8 | b[3];
	if ((rc = stage_fill(r, 4 + n)) != 0)
		goto fail;
	b = r->st->buf + r->off + 4;
	r->off += 4 + n;
	/* checked as it was staged; the file is the daemon's own */
	rc = UCR_ECORRUPT;
	if (n >= STAGE_HDR && b[0] == STAGE_REC) {
		size_t olen = b[9], alen = b[10], at;

		klen = (size_t)b[7] << 8 | b[8];
		at = STAGE_HDR + klen + 1;
		if (olen != STAGE_NOFACTS)
			at += olen + 1 + alen;
		if (b[1] > 2 || n < at || b[STAGE_HDR + klen] != '\0')
			goto fail;
		put->mode = (enum ucr_put_mode)b[1];
		put->tombstone = b[2];
		put->kind = (uint32_t)b[3] << 24 | (uint32_t)b[4] << 16 |
		    (uint32_t)b[5] << 8 | b[6];
		put->key = (const char *)b + STAGE_HDR;
		if (olen != STAGE_NOFACTS) {
			const uint8_t *o = b + STAGE_HDR + klen + 1;

			if (o[olen] != '\0' ||
			    (alen > 0 && o[olen + alen] != '\0'))
				goto fail;
			put->owner = (const char *)o;
			put->area =
			    alen > 0 ? (const char *)o + olen + 1 : NULL;
			put->status = b[11];
			put->year = (uint32_t)b[12] << 24 |
			    (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 |
			    b[15];
		}
		put->bytes = b + at;
		put->len = n - at;
		r->i++;
		return 1;
	}
	if (n < 1 || b[0] != STAGE_PUT)
		goto fail;
	r->cur = ucr__put__unpack(NULL, n - 1, b + 1);
	if (r->cur == NULL || r->cur->record == NULL || r->cur->mode < 0 ||
	    r->cur->mode > 2)
		goto fail;
	put->record = r->cur->record;
	put->mode = (enum ucr_put_mode)r->cur->mode;
	put->adopt_keys = (const char *const *)r->cur->adopt_keys;
	put->nadopt = r->cur->n_adopt_keys;
	r->i++;
	return 1;
fail:
	snprintf(why, whylen, "cannot read back staged record %zu: %s",
	    r->i + 1, ucr_strerror(rc));
	return rc;
}

/* Write the staged puts in one append, read back one at a time. */
static void
stage_commit(struct ucr_control *c, const ProtobufCBinaryData *id,
    Ucr__Reply *rep, char *msg, size_t msglen)
{
	struct ucr_import_stage *st = c->import;
	struct stage_reader r = {st, 0, 0, NULL, 0};
	int rc = 0;

	if (writable(c, rep, msg, msglen) != 0)
		return;
	if (st->n == 0) {
		reply_error(rep, msg, msglen, UCR_EINVAL,
		    "between 1 and %zu records at a time", (size_t)SIZE_MAX);
		return;
	}
	/*
	 * An import that fits in the buffer was never written to the file:
	 * it is read from the buffer, not written out and read back.
	 */
	if (st->bytes == st->len)
		r.mem = 1;
	else if ((rc = stage_flush(st)) == 0 && lseek(st->fd, 0, SEEK_SET) != 0)
		rc = UCR_EIO;
	if (rc != 0) {
		reply_error(rep, msg, msglen, rc, "cannot stage the import: %s",
		    ucr_strerror(rc));
		return;
	}
	write_puts(c, id, stage_next, &r, st->n, rep, msg, msglen);
	ucr__put__free_unpacked(r.cur, NULL);
}

/* After a large import, hand the freed heap back to the system. */
static void
stage_trim(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

static void *req_alloc(void *data, size_t n);

static void
do_import(struct ucr_control *c, const ProtobufCBinaryData *id,
    const Ucr__ImportChunk *ch, const void *buf, size_t len, Ucr__Reply *rep,
    char *msg, size_t msglen)
{
	struct ucr_import_stage *st;
	struct wire_slice *wire;
	size_t i;
	int rc;

	(void)stage_expire(c); /* one out of time is gone, its chunk refused */
	st = c->import;
	if (ch->id == 0) { /* a new import */
		if (st != NULL) {
			reply_error(rep, msg, msglen, UCR_EAGAIN,
			    "another import is in progress; try again in a "
			    "moment");
			return;
		}
		if (writable(c, rep, msg, msglen) != 0)
			return;
		stage_free(c);
		if ((st = calloc(1, sizeof(*st))) == NULL) {
			reply_error(rep, msg, msglen, UCR_ENOMEM,
			    "out of memory");
			return;
		}
		c->import = st;
		if ((rc = stage_open(c, st)) != 0) {
			reply_error(rep, msg, msglen, rc,
			    "cannot stage the import in %s: %s", st->path,
			    ucr_strerror(rc));
			stage_free(c);
			return;
		}
		randombytes_buf(&st->id, sizeof(st->id));
		st->id |= 1;
		st->started = mono_s();
	} else if (st == NULL || st->id != ch->id) {
		reply_error(rep, msg, msglen, UCR_ENOTFOUND,
		    "no import %llu in progress (timed out, or the daemon "
		    "restarted)",
		    (unsigned long long)ch->id);
		return;
	}
	st->last = mono_s();
	rep->import_id = st->id;
	if (ch->abort) {
		stage_free(c);
		return;
	}
	/* in the request's arena, dropped with it */
	wire = wire_records(buf, len, ch->n_puts, req_alloc);
	for (i = 0; i < ch->n_puts; i++) {
		if (check_put(c, ch->puts[i], st->n, 1, rep, msg, msglen) !=
		    0) {
			stage_free(c); /* all or nothing: the import is over */
			return;
		}
		if ((rc = stage_put(st, ch->puts[i],
			 wire != NULL ? &wire[i] : NULL)) != 0) {
			reply_error(rep, msg, msglen, rc,
			    "cannot stage record %zu: %s", st->n + 1,
			    ucr_strerror(rc));
			stage_free(c);
			return;
		}
	}
	rep->staged = st->n;
	if (ch->commit) {
		stage_commit(c, id, rep, msg, msglen);
		stage_free(c);
		/*
		 * The commit's dirty pages stay on LMDB's free list: reopen
		 * the store to give them back. A store that cannot be
		 * opened again is no store to go on with: the daemon stops
		 * (its supervisor starts it again; the import is durable).
		 */
		if (c->quiesce)
			c->quiesce(c->ctx);
		if (ucr_store_shed(c->store) != 0) {
			log_warnx("control: cannot reopen the store after "
				  "an import; stopping");
			exit(1);
		}
		stage_trim();
	}
}

static void
do_query(struct ucr_control *c, const char *what, Ucr__Reply *rep, char *msg,
    size_t msglen)
{
	struct ucr_store_stats st;
	json_t *o;
	char *s;

	if (strcmp(what, "stats") == 0) {
		if (ucr_store_stats(c->store, &st) != 0) {
			reply_error(rep, msg, msglen, UCR_EIO,
			    "cannot read store");
			return;
		}
		o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "entries",
		    (json_int_t)st.entries, "records", (json_int_t)st.records,
		    "logs", (json_int_t)st.logs, "quarantined",
		    (json_int_t)st.quarantined, "map_size",
		    (json_int_t)st.map_size, "map_used",
		    (json_int_t)st.map_used, "requests",
		    (json_int_t)c->requests);
		if (c->transport != NULL) {
			const struct ucr_ctlsrv_counts *t = c->transport;

			/* the control socket's connections and refusals */
			json_object_set_new(o, "control",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
				      "s:I, s:I, s:I, s:I}",
				"accepted", (json_int_t)t->accepted, "requests",
				(json_int_t)t->requests, "full",
				(json_int_t)t->full, "evicted",
				(json_int_t)t->evicted, "idle",
				(json_int_t)t->idle, "greeting",
				(json_int_t)t->greeting, "socket_type",
				(json_int_t)t->socktype, "protocol",
				(json_int_t)t->protocol, "too_big",
				(json_int_t)t->toobig, "slow_handshake",
				(json_int_t)t->slow, "stalled_reply",
				(json_int_t)t->stalled));
		}
		s = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		rep->json = s; /* freed by ucr_control_handle */
		return;
	}
	if (c->query) {
		c->query(what, rep, c->ctx);
		return;
	}
	reply_error(rep, msg, msglen, UCR_EINVAL, "unknown query '%s'", what);
}

/*
 * "view": the fold's inputs read by the daemon, which owns the store, so
 * that members of its group query without opening the store files
 * (docs/view.md). The loader reads O(what is printed).
 */
static void
do_view(struct ucr_control *c, const Ucr__Query *q, Ucr__Reply *rep, char *msg,
    size_t msglen)
{
	uint8_t *buf;
	size_t len;
	int rc;

	rc = ucr_view_load_packed(&buf, &len, c->store,
	    q->now ? q->now : ucr_hlc_next(0));
	if (rc != 0) {
		reply_error(rep, msg, msglen, rc, "cannot read the view: %s",
		    ucr_strerror(rc));
		return;
	}
	rep->view.data = buf; /* freed by ucr_control_handle */
	rep->view.len = len;
}

/*
 * "records": one page of current records (records.h), for show and
 * export without access to the store files. The page is the only memory
 * the request holds; it is freed once the reply is packed.
 */
static void
do_records(struct ucr_control *c, const Ucr__Query *q, struct ucr_page *pg,
    Ucr__Reply *rep, char *msg, size_t msglen)
{
	uint64_t counts[UCR_CHANGE_NKINDS];
	char why[512];
	int rc;

	if (q->changed_since != 0) {
		/* the counts only: one pass, no page (records.h) */
		if ((rc = ucr_records_changed(c->store, q->changed_since,
			 counts)) != 0) {
			reply_error(rep, msg, msglen, rc,
			    "records: cannot count the changes: %s",
			    ucr_strerror(rc));
			return;
		}
		if ((rep->json = malloc(256)) == NULL) {
			reply_error(rep, msg, msglen, UCR_ENOMEM,
			    "records: out of memory");
			return;
		}
		/* freed by ucr_control_handle as every Reply.json */
		ucr_records_changed_json(counts, rep->json, 256);
		return;
	}
	rc = ucr_records_page(pg, c->store, q->kind, q->prefix, q->after,
	    q->limit, why, sizeof(why));
	if (rc != 0) {
		reply_error(rep, msg, msglen, rc, "records: %s", why);
		return;
	}
	rep->n_records = pg->n;
	rep->records = pg->recs;
	rep->next = pg->next;
}

/*
 * A request is decoded into chunks of one arena (protobuf-c's allocator)
 * and dropped at once after the reply: a chunk of an import is some ten
 * thousand small allocations, each a malloc and a free otherwise. Chunks
 * grow from REQ_CHUNK to REQ_CHUNK_MAX; the first is kept for the next
 * request, the others freed, so a large request keeps no memory. One
 * request at a time (the control socket is served by one thread).
 */
#define REQ_CHUNK ((size_t)64 << 10)
#define REQ_CHUNK_MAX ((size_t)4 << 20)

struct reqchunk {
	struct reqchunk *next;
	size_t size, used;
	_Alignas(16) unsigned char data[];
};

static struct reqchunk *req_first, *req_cur;

static void *
req_alloc(void *data, size_t n)
{
	size_t need = (n + 15) & ~(size_t)15, size;
	struct reqchunk *c = req_cur;

	(void)data;
	if (need < n)
		return NULL;
	if (c != NULL && c->size - c->used >= need) {
		c->used += need;
		return c->data + c->used - need;
	}
	size = c == NULL
	    ? REQ_CHUNK
	    : (c->size * 2 > REQ_CHUNK_MAX ? REQ_CHUNK_MAX : c->size * 2);
	if (size < need)
		size = need;
	if (size > SIZE_MAX - sizeof(*c) ||
	    (c = malloc(sizeof(*c) + size)) == NULL)
		return NULL;
	c->size = size;
	c->used = need;
	c->next = NULL;
	if (req_cur != NULL)
		req_cur->next = c;
	else
		req_first = c;
	req_cur = c;
	return c->data;
}

static void
req_nofree(void *data, void *p)
{
	(void)data;
	(void)p;
}

/* Drop what the request decoded; keep the first chunk. */
static void
req_reset(void)
{
	struct reqchunk *c, *next;

	if (req_first == NULL)
		return;
	for (c = req_first->next; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	req_first->next = NULL;
	req_first->used = 0;
	req_cur = req_first;
}

/* Free the arena's chunks, the first too (the daemon's end). */
static void
req_drop(void)
{
	req_reset();
	free(req_first);
	req_first = req_cur = NULL;
}

int
ucr_control_handle(struct ucr_control *c, const void *buf, size_t len,
    uint8_t **out, size_t *outlen)
{
	ProtobufCAllocator ra = {req_alloc, req_nofree, NULL};
	Ucr__Request *req;
	Ucr__Reply rep = UCR__REPLY__INIT;
	char msg[1024];
	char *json = NULL;
	uint8_t *view = NULL;
	struct ucr_page page;
	size_t n;

	memset(&page, 0, sizeof(page));
	ucr_control_after(c); /* nothing is read before it is committed */
	c->requests++;
	req_reset();
	req = len > UCR_CONTROL_MAXMSG ? NULL
				       : ucr__request__unpack(&ra, len, buf);
	if (req == NULL)
		reply_error(&rep, msg, sizeof(msg), UCR_EPROTO,
		    "undecodable request (%zu bytes)", len);
	else {
		switch (req->body_case) {
		case UCR__REQUEST__BODY_PUT:
			do_puts(c, &req->request_id, &req->put, 1, 1, &rep, msg,
			    sizeof(msg));
			break;
		case UCR__REQUEST__BODY_MANY:
			do_puts(c, &req->request_id, req->many->puts,
			    req->many->n_puts, UCR_MAX_BATCH_ENTRIES, &rep, msg,
			    sizeof(msg));
			break;
		case UCR__REQUEST__BODY_IMPORT:
			do_import(c, &req->request_id, req->import, buf, len,
			    &rep, msg, sizeof(msg));
			break;
		case UCR__REQUEST__BODY_QUERY:
			if (req->query->what &&
			    strcmp(req->query->what, "view") == 0) {
				do_view(c, req->query, &rep, msg, sizeof(msg));
				view = rep.view.data;
				break;
			}
			if (req->query->what &&
			    strcmp(req->query->what, "records") == 0) {
				do_records(c, req->query, &page, &rep, msg,
				    sizeof(msg));
				/* the counts of what changed, when asked */
				json = rep.json != protobuf_c_empty_string
				    ? rep.json
				    : NULL;
				break;
			}
			do_query(c, req->query->what ? req->query->what : "",
			    &rep, msg, sizeof(msg));
			json = rep.json != protobuf_c_empty_string ? rep.json
								   : NULL;
			break;
		default:
			reply_error(&rep, msg, sizeof(msg), UCR_EPROTO,
			    "empty request");
		}
	}
	if (rep.code != 0) {
		char line[1024];

		c->refused++;
		ucr_text_escape(line, sizeof(line), rep.message,
		    strlen(rep.message));
		log_info("control: refused request: %s", line);
	}
	n = ucr__reply__get_packed_size(&rep);
	*out = malloc(n ? n : 1);
	if (*out != NULL)
		*outlen = ucr__reply__pack(&rep, *out);
	req_reset(); /* req, all of it */
	free(json);
	free(view);
	ucr_page_free(&page);
	return *out ? 0 : UCR_ENOMEM;
}
