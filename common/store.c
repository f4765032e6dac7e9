/*
 * store.c: the LMDB store (see store.h for the databases and contracts).
 *
 * Every write goes through apply_txn(), inside one write transaction: a
 * local append builds and signs a batch and applies it through the same
 * checks as a batch from the network, so there is one path by which
 * anything enters the store.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <sodium.h>

#include "chain.h"
#include "error.h"
#include "log.h"
#include "record.h"
#include "records.h"
#include "roster.h"
#include "pbwire.h"
#include "store.h"
#include "text.h"

#define HEAD_LEN 56   /* seq 8, hash 32, time 8, flags 8 */
#define REC_HDR 88    /* time 8, epoch 8, seq 8, author 32, hash 32 */
#define LOGKEY_LEN 40 /* author 32, epoch 8 */
#define ENTKEY_LEN 48 /* author 32, epoch 8, seq 8 */
#define HEAD_STOPPED 1
#define REQID_MAX 64 /* bytes of a request id */

struct ucr_store {
	MDB_env *env;
	MDB_dbi entries, heads, sigs, records, meta, quarantine;
	int rdonly;
	int lockfd;
	char region[72];
	uint8_t hub[UCR_PK_LEN];
	int has_hub;
	uint8_t self[UCR_PK_LEN];
	uint64_t epoch;
	char owner[16];
	int has_identity;
	/* BLAKE2b of the secret key whose signature over one of this store's
	 * own batches verified: its later batches are not verified again */
	uint8_t signer[32];
	int has_signer;
	const uint8_t *reqid; /* ucr_store_append_once: the write's id */
	size_t reqidlen;
	struct reqmap *rq; /* the ids remembered, by hash (request ids) */
	int rqadd;         /* the write in progress remembers an id: */
	uint64_t rqn;      /* its n, and the rqdropn oldest from rqdrop */
	uint64_t rqdrop, rqdropn; /* that it dropped */
	uint64_t hlc;             /* highest time seen or made */
	uint32_t qcounter;        /* quarantine key tie-breaker */
	unsigned max_skew; /* seconds an entry may be ahead of our clock */
	time_t rcheck_at;  /* next stale-reader check (monotonic seconds) */
	struct rcache {
		uint8_t hash[32];
		int used, rc;
		struct ucr_roster_entry e;
	} rcache[16]; /* parsed roster records by content hash */
	unsigned rnext;
	/* the view counters' changes of the batch being applied, written
	 * once per batch (vx_flush) instead of once per record */
	struct vxacc {
		uint8_t key[64];
		size_t klen;
		int64_t delta;
	} vxacc[128];
	size_t nvxacc;
	uint8_t vxidx[256];        /* vxacc by key hash: index + 1, 0 empty */
	struct arena *arena;       /* what apply_txn decodes, freed at once */
	struct ahead *ahead;       /* the checks ahead (ucr_store_ahead) */
	int precheck;              /* ucr_store_set_precheck */
	const struct precheck *pc; /* the batch being applied's, or NULL */
	ProtobufCBinaryData *walk; /* batch_walk's entries, kept to reuse */
	size_t walkcap;
	/* the write journal (ucr_store_journal_open) */
	int jfd;           /* its file, or -1 */
	int jarm;          /* the append running may answer once journaled */
	uint8_t *jbuf;     /* its record: header, request id, batch, hash */
	size_t jlen, jcap; /* the record's bytes (0: none built), jbuf's */
	int jmany;         /* the append built a batch it cannot journal */
	MDB_txn *jtxn;     /* the deferred commit's transaction, or NULL */
	/* its request id (the s->rq* state reqid_committed reads once it
	   commits is kept as append_run left it) */
	uint8_t jreqid[REQID_MAX];
	size_t jreqidlen;
	int jlost;        /* an answered write is in the journal only */
	time_t jretry_at; /* its next try (monotonic seconds) */
};

static const uint8_t zero_hash[32];

static void arena_free(struct arena *a);
static void ahead_free(struct ucr_store *s);
static void journal_close(struct ucr_store *s);
static int journal_recover(struct ucr_store *s);
static void journal_pack(struct ucr_store *s, const Ucr__Batch *b);
static int journal_write(struct ucr_store *s);
static void journal_wait(struct ucr_store *s, const char *dir);

/* Begin a write transaction, once an append's deferred commit is made. */
static int
wr_begin(struct ucr_store *s, MDB_txn **txn)
{
	if (s->jtxn != NULL)
		(void)ucr_store_commit_deferred(s);
	return mdb_txn_begin(s->env, NULL, 0, txn);
}

static void
put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = v & 0xff;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static int sig_from(MDB_txn *txn, struct ucr_store *s, const uint8_t *author,
    uint64_t epoch, uint64_t seq, uint64_t *sigseq, uint8_t *sig);

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void
logkey(uint8_t out[ENTKEY_LEN], const uint8_t *author, uint64_t epoch,
    uint64_t seq)
{
	memcpy(out, author, 32);
	put64(out + 32, epoch);
	put64(out + 40, seq);
}

/* Translate an LMDB code at the module boundary. */
static int
mdb_err(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case MDB_NOTFOUND:
		return UCR_ENOTFOUND;
	case MDB_KEYEXIST:
		return UCR_EEXIST;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
		return UCR_EFULL;
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
		return UCR_ECORRUPT;
	case MDB_READERS_FULL:
	case MDB_BAD_RSLOT:
	case MDB_MAP_RESIZED:
	case EAGAIN:
	case EBUSY:
		/* passing conditions: worth another try, never a verdict */
		return UCR_ETRANSIENT;
	case ENOMEM:
		return UCR_ENOMEM;
	case EACCES:
	case EPERM:
		return UCR_EPERM;
	case ENOSPC:
	case EDQUOT:
		return UCR_EDISKFULL;
	default:
		if (rc > 0)
			errno = rc;
		return UCR_EIO;
	}
}

static void setwhy(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int vx_build(MDB_txn *txn, struct ucr_store *s);
static int reqid_migrate(MDB_txn *txn, struct ucr_store *s);
static void reqid_committed(struct ucr_store *s);

/*
 * Begin a read transaction. A full reader table is most often stale slots
 * of processes that died inside a read (a killed CLI): clear those and try
 * once more before giving up with UCR_ETRANSIENT. Returns an LMDB code.
 */
static int
rd_begin(struct ucr_store *s, MDB_txn **txn)
{
	int rc, dead = 0;

	rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
	if (rc == MDB_READERS_FULL && mdb_reader_check(s->env, &dead) == 0 &&
	    dead > 0)
		rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
	return rc;
}

int
ucr_store_reader_check(struct ucr_store *s, int *dead)
{
	int n = 0, rc;

	rc = mdb_reader_check(s->env, &n);
	if (dead)
		*dead = n;
	return mdb_err(rc);
}

int
ucr_store_reader_tick(struct ucr_store *s)
{
	struct timespec ts;
	int dead = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ts.tv_sec < s->rcheck_at)
		return 0;
	s->rcheck_at = ts.tv_sec + 60;
	if (ucr_store_reader_check(s, &dead) != 0)
		return 0;
	return dead;
}

/* A read transaction and a cursor on dbi; the caller closes both. */
static int
read_cursor(struct ucr_store *s, MDB_dbi dbi, MDB_txn **txn, MDB_cursor **c)
{
	int rc;

	if ((rc = rd_begin(s, txn)) != 0)
		return mdb_err(rc);
	if ((rc = mdb_cursor_open(*txn, dbi, c)) != 0) {
		mdb_txn_abort(*txn);
		return mdb_err(rc);
	}
	return 0;
}

static void
setwhy(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------- open */

static int
load_identity(struct ucr_store *s, MDB_txn *txn)
{
	MDB_val k, v;
	int rc;

	k.mv_data = "identity";
	k.mv_size = 8;
	rc = mdb_get(txn, s->meta, &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return mdb_err(rc);
	if (v.mv_size < 40 || v.mv_size > 40 + sizeof(s->owner) - 1)
		return UCR_ECORRUPT;
	memcpy(s->self, v.mv_data, 32);
	s->epoch = get64((uint8_t *)v.mv_data + 32);
	memcpy(s->owner, (uint8_t *)v.mv_data + 40, v.mv_size - 40);
	s->owner[v.mv_size - 40] = '\0';
	s->has_identity = 1;
	return 0;
}

/*
 * The clock starts at the newest time the store holds, so a time made
 * after a restart is never below one stored before, whatever the wall
 * clock says. A head beyond the skew bound (held from before times were
 * bounded) is not followed: it would freeze the clock at its value.
 */
static int
load_hlc(struct ucr_store *s, MDB_txn *txn)
{
	MDB_cursor *c;
	MDB_val k, v;
	uint64_t bound = ucr_hlc_bound(s->max_skew), t;
	int rc, op = MDB_FIRST;

	if ((rc = mdb_cursor_open(txn, s->heads, &c)) != 0)
		return mdb_err(rc);
	while ((rc = mdb_cursor_get(c, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		if (v.mv_size != HEAD_LEN)
			continue;
		t = get64((uint8_t *)v.mv_data + 40);
		if (t > s->hlc && t <= bound)
			s->hlc = t;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : mdb_err(rc);
}

/*
 * Open the environment of dir and its databases, load the identity and
 * the clock, build the view index if missing: s->env is set, or NULL on
 * an error.
 */
static int
env_open(struct ucr_store *s, const char *dir, size_t mapsize)
{
	MDB_txn *txn = NULL;
	unsigned dbflags;
	int rc;

	if ((rc = mdb_env_create(&s->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(s->env, 8)) != 0 ||
	    (rc = mdb_env_set_mapsize(s->env,
		 mapsize ? mapsize : UCR_STORE_DEFAULT_MAP)) != 0 ||
	    (rc = mdb_env_set_maxreaders(s->env, 126)) != 0) {
		rc = mdb_err(rc);
		goto fail;
	}
	/* MDB_NOTLS: the CLI and tests may use one store from any thread. */
	if ((rc = mdb_env_open(s->env, dir,
		 MDB_NOTLS | (s->rdonly ? MDB_RDONLY : 0), 0600)) != 0) {
		rc = rc == ENOENT ? UCR_ENOTFOUND : mdb_err(rc);
		goto fail;
	}
	/* stale readers of dead processes would fill the table: clear them */
	(void)mdb_reader_check(s->env, NULL);
	if ((rc = mdb_txn_begin(s->env, NULL, s->rdonly ? MDB_RDONLY : 0,
		 &txn)) != 0) {
		rc = mdb_err(rc);
		goto fail;
	}
	dbflags = s->rdonly ? 0 : MDB_CREATE;
	if ((rc = mdb_dbi_open(txn, "entries", dbflags, &s->entries)) != 0 ||
	    (rc = mdb_dbi_open(txn, "heads", dbflags, &s->heads)) != 0 ||
	    (rc = mdb_dbi_open(txn, "sigs", dbflags, &s->sigs)) != 0 ||
	    (rc = mdb_dbi_open(txn, "records", dbflags, &s->records)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", dbflags, &s->meta)) != 0 ||
	    (rc = mdb_dbi_open(txn, "quarantine", dbflags, &s->quarantine)) !=
		0) {
		/* A read-only open of a folder never written by a daemon. */
		rc = rc == MDB_NOTFOUND ? UCR_ENOTFOUND : mdb_err(rc);
		goto fail;
	}
	if ((rc = load_identity(s, txn)) != 0)
		goto fail;
	if ((rc = load_hlc(s, txn)) != 0)
		goto fail;
	if (!s->rdonly && (rc = vx_build(txn, s)) != 0)
		goto fail;
	if (!s->rdonly && (rc = reqid_migrate(txn, s)) != 0)
		goto fail;
	if ((rc = mdb_txn_commit(txn)) != 0) {
		txn = NULL;
		rc = mdb_err(rc);
		goto fail;
	}
	return 0;
fail:
	if (txn)
		mdb_txn_abort(txn);
	if (s->env)
		mdb_env_close(s->env);
	s->env = NULL;
	return rc;
}

int
ucr_store_open(struct ucr_store **out, const char *dir, unsigned flags,
    size_t mapsize)
{
	struct ucr_store *s;
	char path[4096];
	int rc;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return UCR_ENOMEM;
	s->lockfd = -1;
	s->jfd = -1;
	s->rdonly = (flags & UCR_STORE_RDONLY) != 0;
	s->max_skew = UCR_DEFAULT_MAX_SKEW;
	snprintf(s->region, sizeof(s->region), "%s", "umearegionen");
	if ((flags & UCR_STORE_CREATE) && !s->rdonly && mkdir(dir, 0750) != 0 &&
	    errno != EEXIST) {
		rc = UCR_EIO;
		goto fail;
	}
	if (flags & UCR_STORE_EXCLUSIVE) {
		snprintf(path, sizeof(path), "%s/daemon.lock", dir);
		s->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (s->lockfd < 0) {
			rc = UCR_EIO;
			goto fail;
		}
		if (flock(s->lockfd, LOCK_EX | LOCK_NB) != 0) {
			rc = errno == EWOULDBLOCK ? UCR_ELOCKED : UCR_EIO;
			goto fail;
		}
	}
	if ((rc = env_open(s, dir, mapsize)) != 0)
		goto fail;
	if (s->rdonly)
		journal_wait(s, dir);
	*out = s;
	return 0;
fail:
	ucr_store_free(s);
	return rc;
}

/*
 * Whether the environment of dir can be opened again once it is closed,
 * asked without opening it: LMDB forbids a second open of an environment
 * in a process that has it open (closing any descriptor of its lock file
 * drops every lock the process holds on it), so the new environment
 * cannot be opened beside the old one to swap them. What an open needs is
 * checked instead: the folder and its two files reachable for reading
 * and writing, and SHED_FDS descriptors free below the process's limit,
 * which are taken from /dev/null and held in fds until the reopen.
 */
#define SHED_FDS 3 /* the lock file, the data file, its O_DSYNC twin */
static int
shed_can_reopen(const char *dir, int *fds)
{
	char path[4200];
	int i;

	for (i = 0; i < SHED_FDS; i++)
		fds[i] = -1;
	if (access(dir, R_OK | W_OK | X_OK) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (access(path, R_OK | W_OK) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	if (access(path, R_OK | W_OK) != 0)
		return -1;
	for (i = 0; i < SHED_FDS; i++)
		if ((fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
			return -1;
	return 0;
}

static void
shed_release(int *fds)
{
	int i;

	for (i = 0; i < SHED_FDS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int
ucr_store_shed(struct ucr_store *s)
{
	MDB_envinfo info;
	const char *p;
	char dir[4096];
	int fds[SHED_FDS], rc, err;

	if (s->rdonly || s->env == NULL)
		return 0;
	(void)ucr_store_commit_deferred(s);
	if ((rc = mdb_env_get_path(s->env, &p)) != 0 ||
	    (rc = mdb_env_info(s->env, &info)) != 0)
		return mdb_err(rc);
	snprintf(dir, sizeof(dir), "%s", p);
	if (shed_can_reopen(dir, fds) != 0) {
		/* the old environment serves on; only its memory stays */
		err = errno;
		shed_release(fds);
		log_warnx_limited("store shed",
		    "store: %s cannot be opened again (%s); kept open, its "
		    "memory not handed back",
		    dir, strerror(err));
		return 0;
	}
	/* the same environment must never be open twice in one process */
	mdb_env_close(s->env);
	s->env = NULL;
	shed_release(fds);
	if ((rc = env_open(s, dir, info.me_mapsize)) != 0 &&
	    (rc = env_open(s, dir, info.me_mapsize)) != 0)
		return rc;
	return 0;
}

void
ucr_store_free(struct ucr_store *s)
{
	if (s == NULL)
		return;
	journal_close(s); /* a deferred commit is made first */
	ahead_free(s);
	if (s->env)
		mdb_env_close(s->env);
	if (s->lockfd >= 0)
		close(s->lockfd); /* releases the flock */
	arena_free(s->arena);
	free(s->walk);
	free(s->rq);
	free(s);
}

void
ucr_store_set_region(struct ucr_store *s, const char *region,
    const uint8_t *hub)
{
	snprintf(s->region, sizeof(s->region), "%s", region);
	s->has_hub = hub != NULL;
	if (hub)
		memcpy(s->hub, hub, UCR_PK_LEN);
}

void
ucr_store_set_precheck(struct ucr_store *s, int mode)
{
	s->precheck = mode;
}

void
ucr_store_set_max_skew(struct ucr_store *s, unsigned seconds)
{
	s->max_skew = seconds;
}

uint64_t
ucr_store_time_next(struct ucr_store *s, uint64_t floor)
{
	uint64_t t = ucr_hlc_next(s->hlc > floor ? s->hlc : floor);

	s->hlc = t;
	return t;
}

int
ucr_store_set_identity(struct ucr_store *s, const uint8_t *author,
    const char *owner)
{
	MDB_txn *txn;
	MDB_val k, v;
	uint8_t buf[40 + 16];
	size_t olen = strlen(owner);
	int rc;

	if (s->has_identity) {
		if (memcmp(s->self, author, UCR_PK_LEN) != 0 ||
		    strcmp(s->owner, owner) != 0)
			return UCR_EINVAL;
		return 0;
	}
	if (s->rdonly)
		return UCR_EPERM;
	if (olen >= sizeof(s->owner))
		return UCR_EINVAL;
	memcpy(s->self, author, UCR_PK_LEN);
	/* The epoch: random, so a wiped store is never taken for the old. */
	do
		randombytes_buf(&s->epoch, sizeof(s->epoch));
	while (s->epoch == 0);
	s->epoch >>= 1; /* stays positive in JSON and signed printers */
	if (s->epoch == 0)
		s->epoch = 1;
	memcpy(buf, author, 32);
	put64(buf + 32, s->epoch);
	memcpy(buf + 40, owner, olen);
	if ((rc = wr_begin(s, &txn)) != 0)
		return mdb_err(rc);
	k.mv_data = "identity";
	k.mv_size = 8;
	v.mv_data = buf;
	v.mv_size = 40 + olen;
	if ((rc = mdb_put(txn, s->meta, &k, &v, MDB_NOOVERWRITE)) != 0) {
		mdb_txn_abort(txn);
		return mdb_err(rc);
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return mdb_err(rc);
	snprintf(s->owner, sizeof(s->owner), "%s", owner);
	s->has_identity = 1;
	return 0;
}

int
ucr_store_identity(struct ucr_store *s, uint8_t *author, uint64_t *epoch,
    char *owner, size_t ownerlen)
{
	if (!s->has_identity)
		return UCR_ENOTFOUND;
	if (author)
		memcpy(author, s->self, UCR_PK_LEN);
	if (epoch)
		*epoch = s->epoch;
	if (owner)
		snprintf(owner, ownerlen, "%s", s->owner);
	return 0;
}

/* ---------------------------------------------------------------- heads */

static int
head_get(MDB_txn *txn, struct ucr_store *s, const uint8_t *author,
    uint64_t epoch, struct ucr_head *h)
{
	uint8_t key[ENTKEY_LEN];
	MDB_val k, v;
	int rc;

	memset(h, 0, sizeof(*h));
	memcpy(h->author, author, UCR_PK_LEN);
	h->epoch = epoch;
	logkey(key, author, epoch, 0);
	k.mv_data = key;
	k.mv_size = LOGKEY_LEN;
	if ((rc = mdb_get(txn, s->heads, &k, &v)) != 0)
		return mdb_err(rc);
	if (v.mv_size != HEAD_LEN)
		return UCR_ECORRUPT;
	h->seq = get64(v.mv_data);
	memcpy(h->hash, (uint8_t *)v.mv_data + 8, 32);
	h->time = get64((uint8_t *)v.mv_data + 40);
	h->stopped = (get64((uint8_t *)v.mv_data + 48) & HEAD_STOPPED) != 0;
	return 0;
}

static int
head_put(MDB_txn *txn, struct ucr_store *s, const struct ucr_head *h)
{
	uint8_t key[ENTKEY_LEN], val[HEAD_LEN];
	MDB_val k, v;

	logkey(key, h->author, h->epoch, 0);
	put64(val, h->seq);
	memcpy(val + 8, h->hash, 32);
	put64(val + 40, h->time);
	put64(val + 48, h->stopped ? HEAD_STOPPED : 0);
	k.mv_data = key;
	k.mv_size = LOGKEY_LEN;
	v.mv_data = val;
	v.mv_size = HEAD_LEN;
	return mdb_err(mdb_put(txn, s->heads, &k, &v, 0));
}

int
ucr_store_head(struct ucr_store *s, const uint8_t *author, uint64_t epoch,
    struct ucr_head *out)
{
	MDB_txn *txn;
	int rc;

	if ((rc = rd_begin(s, &txn)) != 0)
		return mdb_err(rc);
	rc = head_get(txn, s, author, epoch, out);
	mdb_txn_abort(txn);
	return rc;
}

/* Every head as txn sees it, in key order. */
static int
heads_each(MDB_txn *txn, struct ucr_store *s,
    int (*cb)(const struct ucr_head *, void *), void *ctx)
{
	MDB_cursor *c;
	MDB_val k, v;
	struct ucr_head h;
	int rc, op = MDB_FIRST;

	if ((rc = mdb_cursor_open(txn, s->heads, &c)) != 0)
		return mdb_err(rc);
	while ((rc = mdb_cursor_get(c, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		if (k.mv_size != LOGKEY_LEN || v.mv_size != HEAD_LEN) {
			rc = UCR_ECORRUPT;
			goto leave;
		}
		memset(&h, 0, sizeof(h));
		memcpy(h.author, k.mv_data, 32);
		h.epoch = get64((uint8_t *)k.mv_data + 32);
		h.seq = get64(v.mv_data);
		memcpy(h.hash, (uint8_t *)v.mv_data + 8, 32);
		h.time = get64((uint8_t *)v.mv_data + 40);
		h.stopped =
		    (get64((uint8_t *)v.mv_data + 48) & HEAD_STOPPED) != 0;
		if ((rc = cb(&h, ctx)) != 0)
			goto leave;
	}
	rc = rc == MDB_NOTFOUND ? 0 : mdb_err(rc);
leave:
	mdb_cursor_close(c);
	return rc;
}

int
ucr_store_foreach_head(struct ucr_store *s,
    int (*cb)(const struct ucr_head *, void *), void *ctx)
{
	MDB_txn *txn;
	int rc;

	if ((rc = rd_begin(s, &txn)) != 0)
		return mdb_err(rc);
	rc = heads_each(txn, s, cb, ctx);
	mdb_txn_abort(txn);
	return rc;
}

/* Does this author hold a log in an epoch other than this one? */
static int
other_epoch(MDB_txn *txn, struct ucr_store *s, const uint8_t *author,
    uint64_t epoch)
{
	MDB_cursor *c;
	MDB_val k, v;
	uint8_t key[LOGKEY_LEN];
	int rc, found = 0;

	memcpy(key, author, 32);
	memset(key + 32, 0, 8);
	k.mv_data = key;
	k.mv_size = LOGKEY_LEN;
	if (mdb_cursor_open(txn, s->heads, &c) != 0)
		return 0;
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size == LOGKEY_LEN &&
	    memcmp(k.mv_data, author, 32) == 0) {
		if (get64((uint8_t *)k.mv_data + 32) != epoch) {
			found = 1;
			break;
		}
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	return found;
}

/* ---------------------------------------------------------------- records */

struct recval {
	uint64_t time, epoch, seq;
	const uint8_t *author, *hash, *bytes;
	size_t len;
};

/* The view index (end of file) follows every change of a record. */
static int vx_flush(MDB_txn *txn, struct ucr_store *s);
static int vx_update(MDB_txn *txn, struct ucr_store *s,
    const struct recval *old, const Ucr__Record *nr, uint64_t time);

static int
rec_parse(const MDB_val *v, struct recval *r)
{
	const uint8_t *p = v->mv_data;

	if (v->mv_size < REC_HDR)
		return UCR_ECORRUPT;
	r->time = get64(p);
	r->epoch = get64(p + 8);
	r->seq = get64(p + 16);
	r->author = p + 24;
	r->hash = p + 56;
	r->bytes = p + REC_HDR;
	r->len = v->mv_size - REC_HDR;
	return 0;
}

static int
rec_get(MDB_txn *txn, struct ucr_store *s, const char *key, struct recval *r)
{
	MDB_val k, v;
	int rc;

	k.mv_data = (void *)key;
	k.mv_size = strlen(key);
	if ((rc = mdb_get(txn, s->records, &k, &v)) != 0)
		return mdb_err(rc);
	return rec_parse(&v, r);
}

/* ---------------------------------------------------------------- ingest
 *
 * Helpers that keep the ingest path cheap: a record's deleted flag read
 * from its bytes, decoded roster and epoch records kept by content hash,
 * a key set for the puts of a local write, and a batch whose entries are
 * decoded and hashed once for both the check and the apply.
 */

/*
 * The tombstone flag (Record field 3) of an encoded record, read by
 * walking its top-level fields: 1, 0, or -1 if the bytes are malformed.
 * As in a decode, the last occurrence of the field wins.
 */
static int
rec_tombstone(const uint8_t *p, size_t len)
{
	const uint8_t *end = p + len;
	struct ucr_pb_field f;
	int rc, tomb = 0;

	while ((rc = ucr_pb_next(&p, end, &f)) > 0)
		if (f.num == 3 && f.type == UCR_PB_VARINT)
			tomb = f.varint != 0;
	return rc < 0 ? -1 : tomb;
}

int
ucr_store_tombstone(const uint8_t *bytes, size_t len)
{
	return rec_tombstone(bytes, len);
}

/* A key is held if its current version is not a tombstone. */
static int
rec_held(MDB_txn *txn, struct ucr_store *s, const char *key, struct recval *out)
{
	struct recval r;

	if (rec_get(txn, s, key, &r) != 0)
		return 0;
	if (rec_tombstone(r.bytes, r.len) != 0)
		return 0;
	if (out)
		*out = r;
	return 1;
}

/*
 * A roster record parsed (ucr_roster_parse), kept by its content hash so
 * it is decoded once, not once per entry. A changed record has a new
 * hash, so nothing goes stale.
 */
static int
roster_parse_cached(struct ucr_store *s, const struct recval *r,
    struct ucr_roster_entry *e)
{
	const size_t n = sizeof(s->rcache) / sizeof(s->rcache[0]);
	struct rcache *c;
	size_t i;

	for (i = 0; i < n; i++)
		if (s->rcache[i].used &&
		    memcmp(s->rcache[i].hash, r->hash, 32) == 0) {
			*e = s->rcache[i].e;
			return s->rcache[i].rc;
		}
	c = &s->rcache[s->rnext++ % n];
	c->rc = ucr_roster_parse(&c->e, r->bytes, r->len);
	memcpy(c->hash, r->hash, 32);
	c->used = 1;
	*e = c->e;
	return c->rc;
}

/* An open-addressing set of keys, each with the index of its last put. */
struct keyset {
	const char **key;
	size_t *idx;
	size_t mask;
};

static uint64_t
key_hash(const char *k)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */

	for (; *k; k++)
		h = (h ^ (uint8_t)*k) * 1099511628211ULL;
	return h;
}

static int
keyset_init(struct keyset *ks, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap <<= 1;
	ks->mask = cap - 1;
	ks->key = calloc(cap, sizeof(*ks->key));
	ks->idx = calloc(cap, sizeof(*ks->idx));
	if (ks->key == NULL || ks->idx == NULL) {
		free(ks->key);
		free(ks->idx);
		ks->key = NULL;
		ks->idx = NULL;
		return UCR_ENOMEM;
	}
	return 0;
}

static void
keyset_free(struct keyset *ks)
{
	free(ks->key);
	free(ks->idx);
}

/* The slot of k: holding k, or empty. */
static size_t
keyset_slot(const struct keyset *ks, const char *k)
{
	size_t i = key_hash(k) & ks->mask;

	while (ks->key[i] != NULL && strcmp(ks->key[i], k) != 0)
		i = (i + 1) & ks->mask;
	return i;
}

/* The index of k's last put, or -1. */
static long long
keyset_get(const struct keyset *ks, const char *k)
{
	size_t i = keyset_slot(ks, k);

	return ks->key[i] == NULL ? -1 : (long long)ks->idx[i];
}

/* Insert or update; the set never fills (capacity >= 2n). */
static void
keyset_put(struct keyset *ks, const char *k, size_t idx)
{
	size_t i = keyset_slot(ks, k);

	ks->key[i] = k;
	ks->idx[i] = idx;
}

/*
 * An arena for what apply_txn decodes (protobuf-c's allocator): a batch's
 * entries and each record are unpacked into chunks that are reused from
 * batch to batch, and dropped at once instead of freed field by field.
 * One record's memory is taken back after the record (arena_mark,
 * arena_release). Chunks past the first are freed when a batch starts,
 * so a large batch does not keep its memory.
 */
#define ARENA_CHUNK ((size_t)64 << 10)

struct chunk {
	struct chunk *next;
	size_t size, used;
	_Alignas(16) unsigned char data[];
};

struct arena {
	ProtobufCAllocator pa; /* allocator_data is the arena */
	struct chunk *first, *cur;
};

struct arena_mark {
	struct chunk *c;
	size_t used;
};

static void *
arena_alloc(void *data, size_t n)
{
	struct arena *a = data;
	struct chunk *c = a->cur, *nc;
	size_t need = (n + 15) & ~(size_t)15;

	if (need < n)
		return NULL;
	if (c != NULL && c->size - c->used >= need) {
		c->used += need;
		return c->data + c->used - need;
	}
	/* the next chunk, kept from before, or a new one after this one */
	if (c != NULL && c->next != NULL && c->next->size >= need)
		nc = c->next;
	else {
		size_t size = need > ARENA_CHUNK ? need : ARENA_CHUNK;

		if (size > SIZE_MAX - sizeof(*nc) ||
		    (nc = malloc(sizeof(*nc) + size)) == NULL)
			return NULL;
		nc->size = size;
		nc->next = c != NULL ? c->next : NULL;
		if (c != NULL)
			c->next = nc;
		else
			a->first = nc;
	}
	nc->used = need;
	a->cur = nc;
	return nc->data;
}

static void
arena_nofree(void *data, void *p)
{
	(void)data;
	(void)p;
}

/* The store's arena, created on first use; NULL if out of memory. */
static struct arena *
arena_of(struct ucr_store *s)
{
	if (s->arena == NULL &&
	    (s->arena = calloc(1, sizeof(*s->arena))) != NULL) {
		s->arena->pa.alloc = arena_alloc;
		s->arena->pa.free = arena_nofree;
		s->arena->pa.allocator_data = s->arena;
	}
	return s->arena;
}

/* Empty: everything allocated is gone; the first chunk is kept. */
static void
arena_reset(struct arena *a)
{
	struct chunk *c, *next;

	if (a == NULL || a->first == NULL)
		return;
	for (c = a->first->next; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->first->next = NULL;
	a->first->used = 0;
	a->cur = a->first;
}

static struct arena_mark
arena_mark(const struct arena *a)
{
	struct arena_mark m = {a->cur, a->cur != NULL ? a->cur->used : 0};

	return m;
}

/* Take back what was allocated since m (the chunks stay for reuse). */
static void
arena_release(struct arena *a, struct arena_mark m)
{
	if (m.c == NULL) {
		if (a->first != NULL)
			a->first->used = 0;
		a->cur = a->first;
		return;
	}
	a->cur = m.c;
	m.c->used = m.used;
}

static void
arena_free(struct arena *a)
{
	struct chunk *c, *next;

	if (a == NULL)
		return;
	for (c = a->first; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

/* A batch's entries, decoded once for both the check and the apply, into
   the store's arena (d->ents too). */
struct decoded {
	Ucr__Entry **ents;
	size_t n;
};

/* Forget d's entries; their memory is the arena's, taken back when the
   next batch starts. */
static void
decoded_free(struct decoded *d)
{
	d->ents = NULL;
	d->n = 0;
}

/*
 * ucr_entry_decode into the arena: the same size limit and the same
 * checks. The plain encoding is read in place (ucr_entry_parse: the
 * entry points into buf, which outlives it), any other by protobuf-c.
 * Whatever fails here is checked again by ucr_batch_verify, which decides.
 */
static int
entry_decode(struct arena *a, Ucr__Entry **out, const uint8_t *buf, size_t len)
{
	Ucr__Entry *e;

	*out = NULL;
	if (len > UCR_MAX_RECORD + 256)
		return UCR_ETOOBIG;
	if ((e = arena_alloc(a, sizeof(*e))) == NULL)
		return UCR_ENOMEM;
	if (ucr_entry_parse(e, buf, len) != 0 &&
	    (e = ucr__entry__unpack(&a->pa, len, buf)) == NULL)
		return UCR_EPROTO;
	if (e->prev.len != 32 || e->seq == 0)
		return UCR_EPROTO;
	*out = e;
	return 0;
}

/*
 * ucr_batch_verify, keeping the decoded entries in d: each entry is
 * decoded and hashed once. A batch that fails the quick walk is checked
 * again by ucr_batch_verify, so the error code is the same as ever.
 */
static int
batch_decode(struct arena *a, const Ucr__Batch *b, const char *region,
    const uint8_t prev[32], uint8_t last[32], struct decoded *d)
{
	uint8_t h[32];
	size_t i;
	int rc;

	d->n = 0;
	d->ents = NULL;
	if (b->n_entries == 0 || b->n_entries > UCR_MAX_BATCH_ENTRIES ||
	    b->last_seq < b->first_seq ||
	    b->last_seq - b->first_seq + 1 != b->n_entries)
		goto full;
	if ((d->ents = arena_alloc(a, b->n_entries * sizeof(*d->ents))) == NULL)
		return UCR_ENOMEM;
	memcpy(h, prev, 32);
	for (i = 0; i < b->n_entries; i++) {
		Ucr__Entry *e;

		if (entry_decode(a, &e, b->entries[i].data,
			b->entries[i].len) != 0)
			goto full;
		d->ents[d->n++] = e;
		if (e->epoch != b->epoch || e->seq != b->first_seq + i ||
		    memcmp(e->prev.data, h, 32) != 0)
			goto full;
		ucr_hash(h, b->entries[i].data, b->entries[i].len);
	}
	if ((rc = ucr_batch_verify_sig(b, region, h)) != 0) {
		decoded_free(d);
		return rc;
	}
	memcpy(last, h, 32);
	return 0;
full:
	decoded_free(d);
	rc = ucr_batch_verify(b, region, prev, last);
	return rc != 0 ? rc : UCR_EPROTO;
}

/*
 * What of a network batch's checks needs no store, made ahead of its
 * apply (ucr_store_apply_group, on a second thread): batch_decode's
 * checks but the first entry's prev, which only the log's head can
 * answer, and each record decoded, validated and hashed. Memory: the
 * group's precheck arena. A batch that fails anything here is checked by
 * the usual path in apply_txn, which decides and says why (ok 0, or nrec
 * below n: the records from nrec on are decoded there); what passed is
 * used only if the first entry chains onto the head.
 */
struct precheck {
	Ucr__Entry **ents;    /* n entries, each chained onto the one before */
	uint8_t (*rhash)[32]; /* each entry's record's hash */
	Ucr__Record **rec;    /* the first nrec records, decoded and valid */
	size_t n, nrec;
	uint8_t last[32]; /* the last entry's hash, the signed one */
	int ok;           /* entries, chain within, signature: all good */
};

static void
precheck_batch(struct arena *a, const Ucr__Batch *b, const char *region,
    struct precheck *pc)
{
	uint8_t h[32];
	char reason[256];
	size_t i, n = b->n_entries;

	memset(pc, 0, sizeof(*pc));
	if (n == 0 || n > UCR_MAX_BATCH_ENTRIES || b->first_seq == 0 ||
	    b->last_seq < b->first_seq || b->last_seq - b->first_seq + 1 != n ||
	    b->author.len != UCR_PK_LEN || b->signature.len != UCR_SIG_LEN)
		return;
	if ((pc->ents = arena_alloc(a, n * sizeof(*pc->ents))) == NULL ||
	    (pc->rhash = arena_alloc(a, n * sizeof(*pc->rhash))) == NULL ||
	    (pc->rec = arena_alloc(a, n * sizeof(*pc->rec))) == NULL)
		return;
	for (i = 0; i < n; i++) {
		Ucr__Entry *e;

		if (entry_decode(a, &e, b->entries[i].data,
			b->entries[i].len) != 0 ||
		    e->epoch != b->epoch || e->seq != b->first_seq + i ||
		    (i > 0 && memcmp(e->prev.data, h, 32) != 0))
			return;
		pc->ents[i] = e;
		ucr_hash(h, b->entries[i].data, b->entries[i].len);
	}
	if (ucr_batch_verify_sig(b, region, h) != 0)
		return;
	memcpy(pc->last, h, 32);
	pc->n = n;
	pc->ok = 1;
	for (i = 0; i < n; i++) {
		const Ucr__Entry *e = pc->ents[i];

		ucr_hash(pc->rhash[i], e->record.data, e->record.len);
		if (ucr_record_decode_with(&pc->rec[i], e->record.data,
			e->record.len, &a->pa) != 0 ||
		    ucr_record_validate(pc->rec[i], reason, sizeof(reason)) !=
			0)
			break;
		pc->nrec = i + 1;
	}
}

/* A record's value: header, then its bytes (hashed as they are put,
   unless their hash is known: rhash). */
static void
rec_fill(uint8_t *p, const uint8_t *author, uint64_t epoch, uint64_t seq,
    uint64_t time, const uint8_t *bytes, size_t len, const uint8_t *rhash)
{
	put64(p, time);
	put64(p + 8, epoch);
	put64(p + 16, seq);
	memcpy(p + 24, author, 32);
	if (rhash != NULL)
		memcpy(p + 56, rhash, 32);
	else
		ucr_hash(p + 56, bytes, len);
	memcpy(p + REC_HDR, bytes, len);
}

/*
 * Fold one record version into the view: highest (time, author) wins.
 * A key not held yet costs one descent of the tree: its place is reserved
 * and filled at once; a held key's put returns the held version instead.
 * rhash: the hash of bytes when known, else NULL.
 */
static int
rec_fold(MDB_txn *txn, struct ucr_store *s, const char *key,
    const uint8_t *author, uint64_t epoch, uint64_t seq, uint64_t time,
    const uint8_t *bytes, size_t len, const uint8_t *rhash,
    const Ucr__Record *nr)
{
	struct recval cur;
	MDB_val k, v;
	int rc;

	k.mv_data = (void *)key;
	k.mv_size = strlen(key);
	v.mv_data = NULL;
	v.mv_size = REC_HDR + len;
	rc = mdb_put(txn, s->records, &k, &v, MDB_NOOVERWRITE | MDB_RESERVE);
	if (rc == 0) {
		/* filled before any other update of the transaction */
		rec_fill(v.mv_data, author, epoch, seq, time, bytes, len,
		    rhash);
		return vx_update(txn, s, NULL, nr, time);
	}
	if (rc != MDB_KEYEXIST)
		return mdb_err(rc);
	if ((rc = rec_parse(&v, &cur)) != 0)
		return rc;
	if (cur.time > time ||
	    (cur.time == time && memcmp(cur.author, author, 32) >= 0))
		return 0; /* the held version is newer: keep it */
	if ((rc = vx_update(txn, s, &cur, nr, time)) != 0)
		return rc;
	v.mv_data = NULL;
	v.mv_size = REC_HDR + len;
	if ((rc = mdb_put(txn, s->records, &k, &v, MDB_RESERVE)) != 0)
		return mdb_err(rc);
	rec_fill(v.mv_data, author, epoch, seq, time, bytes, len, rhash);
	return 0;
}

/*
 * Who is this author, as far as this store knows? The configured hub key,
 * the roster record, or our own key before the hub's roster reaches us.
 * The decision itself is the roster module's (ucr_roster_may_write).
 */
static int
author_entry(MDB_txn *txn, struct ucr_store *s, const uint8_t *author,
    struct ucr_roster_entry *e)
{
	char key[128], hex[65];
	struct recval r;
	int rc;

	if (s->has_hub && memcmp(author, s->hub, 32) == 0) {
		ucr_roster_hub(e, author);
		return 0;
	}
	ucr_hex(hex, author, 32);
	snprintf(key, sizeof(key), "region/roster/%s", hex);
	rc = rec_get(txn, s, key, &r);
	if (rc == 0)
		rc = roster_parse_cached(s, &r, e);
	if (rc == UCR_ENOTFOUND && s->has_identity &&
	    memcmp(author, s->self, 32) == 0) {
		/* Our own key before the hub's roster reaches us. */
		if (strcmp(s->owner, UCR_REGION) == 0 && !s->has_hub)
			ucr_roster_hub(e, author);
		else {
			memset(e, 0, sizeof(*e));
			memcpy(e->pk, author, 32);
			snprintf(e->code, sizeof(e->code), "%s", s->owner);
			e->role = UCR_ROLE_NODE;
		}
		return 0;
	}
	if (rc == UCR_ENOTFOUND)
		return UCR_EROSTER;
	return rc == UCR_EPROTO ? UCR_ECORRUPT : rc;
}

/* Has the hub's administrator accepted this epoch of this author? */
static int
epoch_accepted(MDB_txn *txn, struct ucr_store *s, const uint8_t *author,
    uint64_t epoch)
{
	char key[128], hex[65];
	struct recval r;
	Ucr__Record *rec;
	int ok;

	ucr_hex(hex, author, 32);
	snprintf(key, sizeof(key), "region/epoch/%.16s-%016llx", hex,
	    (unsigned long long)epoch);
	if (rec_get(txn, s, key, &r) != 0)
		return 0;
	if (ucr_record_decode(&rec, r.bytes, r.len) != 0)
		return 0;
	ok = !rec->tombstone &&
	    rec->body_case == UCR__RECORD__BODY_EPOCH_ACCEPT &&
	    rec->epoch_accept->author.len == 32 &&
	    memcmp(rec->epoch_accept->author.data, author, 32) == 0 &&
	    rec->epoch_accept->epoch == epoch;
	ucr__record__free_unpacked(rec, NULL);
	return ok;
}

/*
 * The hub holds on to an author's first epoch: a second one (a wiped
 * store) waits until the administrator accepts it. Nodes take what the
 * hub relays.
 */
static int
epoch_ok(MDB_txn *txn, struct ucr_store *s, const uint8_t *author,
    uint64_t epoch)
{
	return !(s->has_identity && strcmp(s->owner, UCR_REGION) == 0 &&
	    memcmp(author, s->self, 32) != 0 &&
	    other_epoch(txn, s, author, epoch) &&
	    !epoch_accepted(txn, s, author, epoch));
}

int
ucr_store_log_admissible(struct ucr_store *s, const uint8_t *author,
    uint64_t epoch)
{
	MDB_txn *txn;
	int rc;

	if ((rc = rd_begin(s, &txn)) != 0)
		return mdb_err(rc);
	rc = epoch_ok(txn, s, author, epoch) ? 0 : UCR_EEPOCH;
	mdb_txn_abort(txn);
	return rc;
}

/* ---------------------------------------------------------------- apply */

static int disk_full(struct ucr_store *s, int rc);
static int reqid_put_txn(MDB_txn *txn, struct ucr_store *s, uint64_t first,
    uint64_t last);

static int
entry_hash_at(MDB_txn *txn, struct ucr_store *s, const uint8_t *author,
    uint64_t epoch, uint64_t seq, uint8_t out[32], MDB_val *bytes)
{
	uint8_t key[ENTKEY_LEN];
	MDB_val k, v;
	int rc;

	logkey(key, author, epoch, seq);
	k.mv_data = key;
	k.mv_size = ENTKEY_LEN;
	if ((rc = mdb_get(txn, s->entries, &k, &v)) != 0)
		return rc == MDB_NOTFOUND ? UCR_ECORRUPT : mdb_err(rc);
	ucr_hash(out, v.mv_data, v.mv_size);
	if (bytes)
		*bytes = v;
	return 0;
}

static int
quarantine_txn(MDB_txn *txn, struct ucr_store *s,
    const struct ucr_quarantine *q)
{
	uint8_t key[12], *p;
	size_t rlen = strlen(q->reason), n;
	MDB_val k, v;
	int rc, evidence;

	if (rlen > 1000)
		rlen = 1000;
	put64(key, q->time ? q->time : ucr_hlc_next(s->hlc));
	s->qcounter++;
	key[8] = s->qcounter >> 24;
	key[9] = s->qcounter >> 16;
	key[10] = s->qcounter >> 8;
	key[11] = s->qcounter;
	n = 2 + rlen + 1 + 32 + 16 + 4 + q->heldlen + 4 + q->offeredlen;
	evidence = q->held_batchlen > 0 && q->offered_batchlen > 0;
	if (evidence)
		n += 1 + 4 + q->held_batchlen + 4 + q->offered_batchlen;
	k.mv_data = key;
	k.mv_size = sizeof(key);
	v.mv_size = n;
	if ((rc = mdb_put(txn, s->quarantine, &k, &v, MDB_RESERVE)) != 0)
		return mdb_err(rc);
	p = v.mv_data;
	p[0] = rlen >> 8;
	p[1] = rlen;
	memcpy(p + 2, q->reason, rlen);
	p += 2 + rlen;
	*p++ = q->author != NULL;
	if (q->author)
		memcpy(p, q->author, 32);
	else
		memset(p, 0, 32);
	p += 32;
	put64(p, q->epoch);
	put64(p + 8, q->seq);
	p += 16;
	p[0] = q->heldlen >> 24;
	p[1] = q->heldlen >> 16;
	p[2] = q->heldlen >> 8;
	p[3] = q->heldlen;
	if (q->heldlen)
		memcpy(p + 4, q->held, q->heldlen);
	p += 4 + q->heldlen;
	p[0] = q->offeredlen >> 24;
	p[1] = q->offeredlen >> 16;
	p[2] = q->offeredlen >> 8;
	p[3] = q->offeredlen;
	if (q->offeredlen)
		memcpy(p + 4, q->offered, q->offeredlen);
	p += 4 + q->offeredlen;
	if (evidence) {
		/* optional tail: marker 'E', held batch, offered batch */
		*p++ = 'E';
		put32(p, q->held_batchlen);
		memcpy(p + 4, q->held_batch, q->held_batchlen);
		p += 4 + q->held_batchlen;
		put32(p, q->offered_batchlen);
		memcpy(p + 4, q->offered_batch, q->offered_batchlen);
	}
	return 0;
}

/*
 * Fork evidence: the held entries from seq up to the lowest signed seq at
 * or after it, with that stored signature, and the offered batch, both
 * packed (docs/protocol.md). *held and *offered are malloc'd.
 */
static int
fork_evidence(MDB_txn *txn, struct ucr_store *s, const Ucr__Batch *b,
    uint64_t seq, uint8_t **held, size_t *heldlen, uint8_t **offered,
    size_t *offeredlen)
{
	Ucr__Batch hb = UCR__BATCH__INIT;
	ProtobufCBinaryData *ents = NULL;
	uint8_t sig[UCR_SIG_LEN], key[ENTKEY_LEN];
	uint64_t sigseq, i;
	MDB_val k, v;
	int rc;

	*held = *offered = NULL;
	*heldlen = *offeredlen = 0;
	if ((rc = sig_from(txn, s, b->author.data, b->epoch, seq, &sigseq,
		 sig)) != 0)
		return rc;
	if (sigseq - seq >= UCR_MAX_BATCH_ENTRIES)
		return UCR_ENOTFOUND;
	if ((ents = calloc(sigseq - seq + 1, sizeof(*ents))) == NULL)
		return UCR_ENOMEM;
	for (i = seq; i <= sigseq; i++) {
		logkey(key, b->author.data, b->epoch, i);
		k.mv_data = key;
		k.mv_size = ENTKEY_LEN;
		if ((rc = mdb_get(txn, s->entries, &k, &v)) != 0) {
			rc = rc == MDB_NOTFOUND ? UCR_ECORRUPT : mdb_err(rc);
			goto leave;
		}
		ents[i - seq].data = v.mv_data;
		ents[i - seq].len = v.mv_size;
	}
	hb.author = b->author;
	hb.epoch = b->epoch;
	hb.first_seq = seq;
	hb.last_seq = sigseq;
	hb.n_entries = sigseq - seq + 1;
	hb.entries = ents;
	hb.signature.data = sig;
	hb.signature.len = UCR_SIG_LEN;
	*heldlen = ucr__batch__get_packed_size(&hb);
	*offeredlen = ucr__batch__get_packed_size(b);
	*held = malloc(*heldlen);
	*offered = malloc(*offeredlen);
	if (*held == NULL || *offered == NULL) {
		rc = UCR_ENOMEM;
		goto leave;
	}
	ucr__batch__pack(&hb, *held);
	ucr__batch__pack(b, *offered);
	rc = 0;
leave:
	free(ents);
	if (rc != 0) {
		free(*held);
		free(*offered);
		*held = *offered = NULL;
		*heldlen = *offeredlen = 0;
	}
	return rc;
}

/* Does the batch verify against its own first entry's prev? */
static int
is_signed_fork(const Ucr__Batch *b, const char *region)
{
	Ucr__Entry *e;
	uint8_t prev[32];

	if (ucr_entry_decode(&e, b->entries[0].data, b->entries[0].len) != 0)
		return 0;
	memcpy(prev, e->prev.data, 32);
	ucr__entry__free_unpacked(e, NULL);
	return ucr_batch_verify(b, region, prev, NULL) == 0;
}

/*
 * The time rules (docs/protocol.md): an entry's time is strictly after the
 * one before it in its log (last; 0 before the first entry) and at most
 * max_skew seconds ahead of this clock. A time from the future would pull
 * every site's clock along with it (last-writer-wins would then be won by
 * whoever lied most), so it is refused, not clamped. bound: the clock's
 * ucr_hlc_bound, read once per batch.
 */
static int
time_ok(struct ucr_store *s, uint64_t time, uint64_t last, uint64_t bound,
    const char *an, uint64_t seq, char *why, size_t whylen)
{
	if (time <= last) {
		setwhy(why, whylen,
		    "log %s: seq %llu: time %llu not after the entry before "
		    "(%llu)",
		    an, (unsigned long long)seq, (unsigned long long)time,
		    (unsigned long long)last);
		return UCR_ETIME;
	}
	if (time > bound) {
		setwhy(why, whylen,
		    "log %s: seq %llu: time %llu is more than %u s ahead of "
		    "this clock",
		    an, (unsigned long long)seq, (unsigned long long)time,
		    s->max_skew);
		return UCR_ETIME;
	}
	return 0;
}

/*
 * The batch being built by one append: its entries, and for each put its
 * key, record hash and tombstone flag, so that a later put of the same
 * batch finds it. Puts of earlier batches of the write are applied in the
 * write's transaction already and are found there (rec_held), so memory is
 * bounded by one batch, not by the write.
 *
 * It is also what apply_txn needs to apply the batch without decoding it
 * again (the own batch): where each entry's record lies in its bytes, its
 * time and kind, whether the caller has validated the record, and the
 * hashes the chain was built from (prev0 before the first entry, last
 * after the last).
 */
struct pent {
	uint64_t time;
	uint32_t roff, rlen; /* the record's bytes inside the entry */
	uint32_t kind;       /* the record's body case */
	uint8_t checked;     /* the caller ran ucr_record_validate */
	/* a checked put's fields apply_txn reads (struct ucr_put's), or
	   owner NULL: the record is decoded */
	const char *owner, *area;
	uint32_t year;
	int status;
};

/*
 * The bytes of a batch being built, its entries and keys: cut from blocks
 * that are kept from batch to batch of one append, instead of a malloc and
 * a free for each.
 */
#define PMEM_BLOCK ((size_t)256 << 10)

struct pmem {
	struct pmem *next;
	size_t used, cap;
	_Alignas(16) uint8_t data[];
};

struct pending {
	struct pmem *mem, *cur; /* the blocks, the one being filled */
	ProtobufCBinaryData *ents;
	uint8_t (*hash)[32];
	char **key;
	uint8_t *tomb;
	struct pent *pe;
	uint8_t prev0[32], last[32];
	struct keyset ks; /* the keys of entries [0, nks), built lazily */
	size_t nks;
	size_t n, cap;
	int sig_known; /* signed with the store's verified signer */
};

/*
 * The store's own batch (apply_txn's own): built onto the log's head, so
 * it starts right after it, from its hash, and its signature verifies
 * over the last hash pending_add chained. Anything else is a store that
 * changed under its own append: corrupt.
 */
static int
own_check(const Ucr__Batch *b, const char *region, const struct ucr_head *h,
    const uint8_t prev[32], const struct pending *own, uint8_t last[32])
{
	int rc;

	if (b->first_seq != h->seq + 1 || b->n_entries != own->n ||
	    b->last_seq - b->first_seq + 1 != own->n ||
	    b->entries != own->ents || memcmp(prev, own->prev0, 32) != 0)
		return UCR_ECORRUPT;
	if (!own->sig_known &&
	    (rc = ucr_batch_verify_sig(b, region, own->last)) != 0)
		return rc;
	memcpy(last, own->last, 32);
	return 0;
}

/*
 * Check and apply one batch inside txn. On UCR_EFORK the evidence and the
 * stopped head are written to txn, and the caller commits them.
 *
 * own: the store's own batch as append_batch built and signed it onto the
 * log's head (NULL for any other batch). Its entries are not decoded,
 * hashed or validated again: the chain is checked against the head, the
 * signature verified, and each record decoded once, for the roster's
 * check, the kind's and the view's. A record the caller did not validate
 * (pent.checked) is validated here as any other.
 */
/*
 * Entry i of the store's own batch as the record's fields that apply_txn
 * reads: its key, owner, tombstone flag and body case, and a
 * measurement's area, year and status (vx_of), in sk and m. Only for a put
 * whose caller validated the record and gave those fields (pent.owner).
 */
static Ucr__Record *
own_fields(const struct pending *own, size_t i, Ucr__Record *sk,
    Ucr__Measurement *m)
{
	const struct pent *pe = &own->pe[i];

	ucr__record__init(sk);
	sk->key = own->key[i];
	sk->owner = (char *)pe->owner;
	sk->tombstone = own->tomb[i];
	sk->body_case = (Ucr__Record__BodyCase)pe->kind;
	if (pe->kind == UCR__RECORD__BODY_MEASUREMENT) {
		ucr__measurement__init(m);
		m->area = (char *)pe->area;
		m->year = pe->year;
		m->status = (Ucr__MeasureStatus)pe->status;
		sk->measurement = m;
	}
	return sk;
}

static int
apply_txn(MDB_txn *txn, struct ucr_store *s, const Ucr__Batch *b,
    struct decoded *d, const struct pending *own, size_t *applied, char *why,
    size_t whylen)
{
	struct ucr_head h;
	uint8_t prev[32], last[32], key[ENTKEY_LEN], sigval[8 + UCR_SIG_LEN];
	struct ucr_roster_entry who;
	struct arena *a;
	char an[17];
	uint64_t seq, bound;
	size_t i, skip;
	MDB_val k, v;
	int rc, have_who;
	const struct precheck *pc = own == NULL ? s->pc : NULL;

	*applied = 0;
	s->nvxacc = 0; /* nothing gathered from an apply that failed */
	if ((a = arena_of(s)) == NULL)
		return UCR_ENOMEM;
	arena_reset(a); /* the entries of the batch before are forgotten */
	if (b->author.len != UCR_PK_LEN || b->signature.len != UCR_SIG_LEN ||
	    b->n_entries == 0 || b->first_seq == 0 ||
	    b->last_seq < b->first_seq || b->epoch == 0) {
		setwhy(why, whylen, "malformed batch");
		return UCR_EPROTO;
	}
	ucr_hex(an, b->author.data, 8);
	rc = head_get(txn, s, b->author.data, b->epoch, &h);
	if (rc == UCR_ENOTFOUND) {
		if (!epoch_ok(txn, s, b->author.data, b->epoch)) {
			setwhy(why, whylen,
			    "log %s: new epoch %llu not accepted", an,
			    (unsigned long long)b->epoch);
			return UCR_EEPOCH;
		}
	} else if (rc != 0)
		return rc;
	if (h.stopped) {
		setwhy(why, whylen, "log %s: stopped after a fork", an);
		return UCR_ESTOPPED;
	}
	if (b->first_seq > h.seq + 1) {
		setwhy(why, whylen,
		    "log %s: batch starts at %llu, held to %llu", an,
		    (unsigned long long)b->first_seq,
		    (unsigned long long)h.seq);
		return UCR_EGAP;
	}
	/* The hash before the batch: from the head or from a held entry. */
	if (b->first_seq == 1)
		memcpy(prev, zero_hash, 32);
	else if (b->first_seq == h.seq + 1)
		memcpy(prev, h.hash, 32);
	else if ((rc = entry_hash_at(txn, s, b->author.data, b->epoch,
		      b->first_seq - 1, prev, NULL)) != 0)
		return rc;
	if (own != NULL)
		rc = own_check(b, s->region, &h, prev, own, last);
	else if (pc != NULL && pc->ok && pc->n == b->n_entries &&
	    memcmp(pc->ents[0]->prev.data, prev, 32) == 0) {
		/* batch_decode's checks, made ahead but for this one */
		d->ents = pc->ents;
		d->n = pc->n;
		memcpy(last, pc->last, 32);
		rc = 0;
	} else {
		pc = NULL;
		rc = batch_decode(a, b, s->region, prev, last, d);
	}
	if (rc == UCR_ECHAIN && own == NULL && b->first_seq == h.seq + 1 &&
	    h.seq > 0 && is_signed_fork(b, s->region)) {
		/* Signed by the author, chained onto another history. */
		struct ucr_quarantine q;
		MDB_val hb;
		uint8_t hh[32];

		uint8_t *eh, *eo;
		size_t ehl, eol;

		/*
		 * The offered first entry's prev is the hash of the author's
		 * other entry at h.seq: the two differ at h.seq, and the
		 * batch alone cannot show an earlier difference.
		 */
		memset(&q, 0, sizeof(q));
		q.reason = "fork: batch continues a different history";
		q.author = b->author.data;
		q.epoch = b->epoch;
		q.seq = h.seq;
		if (entry_hash_at(txn, s, b->author.data, b->epoch, h.seq, hh,
			&hb) == 0) {
			q.held = hb.mv_data;
			q.heldlen = hb.mv_size;
		}
		q.offered = b->entries[0].data;
		q.offeredlen = b->entries[0].len;
		if (fork_evidence(txn, s, b, h.seq, &eh, &ehl, &eo, &eol) ==
		    0) {
			q.held_batch = eh;
			q.held_batchlen = ehl;
			q.offered_batch = eo;
			q.offered_batchlen = eol;
		}
		rc = quarantine_txn(txn, s, &q);
		free((void *)q.held_batch);
		free((void *)q.offered_batch);
		if (rc != 0)
			return rc;
		h.stopped = 1;
		if ((rc = head_put(txn, s, &h)) != 0)
			return rc;
		setwhy(why, whylen,
		    "log %s: fork at seq %llu (batch %llu-%llu continues "
		    "another entry %llu)",
		    an, (unsigned long long)h.seq,
		    (unsigned long long)b->first_seq,
		    (unsigned long long)b->last_seq, (unsigned long long)h.seq);
		return UCR_EFORK;
	}
	if (rc != 0) {
		setwhy(why, whylen, "log %s: batch %llu-%llu: %s", an,
		    (unsigned long long)b->first_seq,
		    (unsigned long long)b->last_seq, ucr_strerror(rc));
		return rc;
	}
	/* Entries we hold already must be the same bytes, or it is a fork. */
	for (seq = b->first_seq; seq <= b->last_seq && seq <= h.seq; seq++) {
		uint8_t held[32], offered[32];
		MDB_val hb;
		const ProtobufCBinaryData *e = &b->entries[seq - b->first_seq];

		if ((rc = entry_hash_at(txn, s, b->author.data, b->epoch, seq,
			 held, &hb)) != 0)
			return rc;
		ucr_hash(offered, e->data, e->len);
		if (memcmp(held, offered, 32) != 0) {
			struct ucr_quarantine q;
			uint8_t *eh, *eo;
			size_t ehl, eol;

			memset(&q, 0, sizeof(q));
			q.reason = "fork: entry differs from the one held";
			q.author = b->author.data;
			q.epoch = b->epoch;
			q.seq = seq;
			q.held = hb.mv_data;
			q.heldlen = hb.mv_size;
			q.offered = e->data;
			q.offeredlen = e->len;
			if (fork_evidence(txn, s, b, seq, &eh, &ehl, &eo,
				&eol) == 0) {
				q.held_batch = eh;
				q.held_batchlen = ehl;
				q.offered_batch = eo;
				q.offered_batchlen = eol;
			}
			rc = quarantine_txn(txn, s, &q);
			free((void *)q.held_batch);
			free((void *)q.offered_batch);
			if (rc != 0)
				return rc;
			h.stopped = 1;
			if ((rc = head_put(txn, s, &h)) != 0)
				return rc;
			setwhy(why, whylen, "log %s: fork at seq %llu", an,
			    (unsigned long long)seq);
			return UCR_EFORK;
		}
	}
	if (b->last_seq <= h.seq)
		return UCR_EDUP;
	skip = h.seq >= b->first_seq ? h.seq - b->first_seq + 1 : 0;
	bound = ucr_hlc_bound(s->max_skew);
	for (i = skip, have_who = 0; i < b->n_entries; i++) {
		const ProtobufCBinaryData *e = &b->entries[i];
		struct arena_mark mark = arena_mark(a);
		const uint8_t *rbytes, *rhash;
		uint64_t etime;
		uint32_t ekind;
		size_t rlen;
		int checked;
		Ucr__Record *rec, sk;
		Ucr__Measurement skm;
		char reason[256];

		seq = b->first_seq + i;
		if (own != NULL) {
			etime = own->pe[i].time;
			ekind = own->pe[i].kind;
			rbytes = e->data + own->pe[i].roff;
			rlen = own->pe[i].rlen;
			rhash = own->hash[i];
			checked = own->pe[i].checked;
		} else {
			etime = d->ents[i]->time;
			ekind = d->ents[i]->kind;
			rbytes = d->ents[i]->record.data;
			rlen = d->ents[i]->record.len;
			rhash = pc != NULL ? pc->rhash[i] : NULL;
			checked = pc != NULL && i < pc->nrec;
		}
		if ((rc = time_ok(s, etime, h.time, bound, an, seq, why,
			 whylen)) != 0)
			return rc;
		if (checked && own == NULL) {
			rec = pc->rec[i]; /* decoded and validated ahead */
			rc = 0;
		} else if (own != NULL && own->pe[i].owner != NULL) {
			/* checked by the caller, which gave what is read of
			   it here: not decoded again */
			rec = own_fields(own, i, &sk, &skm);
			rc = 0;
		} else
			rc = ucr_record_decode_with(&rec, rbytes, rlen, &a->pa);
		if (rc != 0) {
			setwhy(why, whylen,
			    "log %s: seq %llu: undecodable record", an,
			    (unsigned long long)seq);
			return rc;
		}
		if (!checked &&
		    (rc = ucr_record_validate(rec, reason, sizeof(reason))) !=
			0)
			setwhy(why, whylen, "log %s: seq %llu: %s: %s", an,
			    (unsigned long long)seq, rec->key, reason);
		else if (!have_who &&
		    (rc = author_entry(txn, s, b->author.data, &who)) != 0)
			setwhy(why, whylen,
			    "log %s: seq %llu: key not in roster", an,
			    (unsigned long long)seq);
		else if ((rc = ucr_roster_may_write(&who, rec->owner, etime,
			      reason, sizeof(reason))) != 0)
			setwhy(why, whylen,
			    "log %s: seq %llu: may not write %s: %s", an,
			    (unsigned long long)seq, rec->key, reason);
		else if (ekind != (uint32_t)rec->body_case) {
			rc = UCR_EPROTO;
			setwhy(why, whylen,
			    "log %s: seq %llu: entry kind does not "
			    "match its record",
			    an, (unsigned long long)seq);
		} else
			rc = rec_fold(txn, s, rec->key, b->author.data,
			    b->epoch, seq, etime, rbytes, rlen, rhash, rec);
		if (rc == 0) {
			if (etime > s->hlc)
				s->hlc = etime;
			h.time = etime;
			/* the author's roster entry is read once a batch, and
			 * again after an entry that writes a roster record */
			have_who = strncmp(rec->key, "region/roster/", 14) != 0;
		}
		arena_release(a, mark); /* rec, and the old record's decode */
		if (rc != 0)
			return rc;
		logkey(key, b->author.data, b->epoch, seq);
		k.mv_data = key;
		k.mv_size = ENTKEY_LEN;
		v.mv_data = e->data;
		v.mv_size = e->len;
		if ((rc = mdb_put(txn, s->entries, &k, &v, MDB_NOOVERWRITE)) !=
		    0)
			return mdb_err(rc);
	}
	if ((rc = vx_flush(txn, s)) != 0)
		return rc;
	logkey(key, b->author.data, b->epoch, b->last_seq);
	put64(sigval, b->first_seq);
	memcpy(sigval + 8, b->signature.data, UCR_SIG_LEN);
	k.mv_data = key;
	k.mv_size = ENTKEY_LEN;
	v.mv_data = sigval;
	v.mv_size = sizeof(sigval);
	if ((rc = mdb_put(txn, s->sigs, &k, &v, 0)) != 0)
		return mdb_err(rc);
	h.seq = b->last_seq;
	memcpy(h.hash, last, 32);
	if ((rc = head_put(txn, s, &h)) != 0)
		return rc;
	*applied = b->n_entries - skip;
	return 0;
}

int
ucr_store_apply(struct ucr_store *s, const Ucr__Batch *b, size_t *applied,
    char *why, size_t whylen)
{
	MDB_txn *txn;
	struct decoded d = {NULL, 0};
	size_t n = 0;
	int rc, crc;

	if (applied)
		*applied = 0;
	if (s->rdonly)
		return UCR_EPERM;
	if ((rc = wr_begin(s, &txn)) != 0)
		return mdb_err(rc);
	rc = apply_txn(txn, s, b, &d, NULL, &n, why, whylen);
	decoded_free(&d);
	/* the reason may quote a record key from the network */
	if (rc != 0 && why != NULL)
		ucr_text_escape_inplace(why, whylen);
	if (rc == 0 || rc == UCR_EFORK) {
		/* A fork commits its evidence and the stopped head. */
		if ((crc = mdb_txn_commit(txn)) != 0) {
			crc = disk_full(s, mdb_err(crc));
			setwhy(why, whylen, "commit: %s", ucr_strerror(crc));
			return crc;
		}
	} else
		mdb_txn_abort(txn);
	if (rc == 0 && applied)
		*applied = n;
	return rc;
}

/*
 * Checks ahead (ucr_store_set_precheck): one thread of the store's, started
 * at the first batch given to it and joined when the store is freed, takes
 * the batches handed to it (ucr_store_ahead) in order and makes each one's
 * precheck into the batch's slot, while the caller goes on: applies the
 * batches before, receives more, or waits for a group's commit to be
 * durable. The caller uses a batch's precheck if it is done, else applies
 * the batch by the usual path (never waiting: on a busy machine the thread
 * may not run at all). The thread touches no LMDB handle, only the batches
 * (read-only and kept by the caller until released), the slots and their
 * arenas.
 */
#define AHEAD_SLOTS (2 * UCR_GROUP_MAX_BATCHES)

enum { AH_EMPTY, AH_QUEUED, AH_BUSY, AH_DONE, AH_MINE };

struct ahead {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t t;
	int started, stop;
	uint64_t tail, wpos; /* slots given, and visited by the thread */
	char region[72];
	struct aslot {
		const Ucr__Batch *b;
		struct precheck pc;
		struct arena a;
		unsigned char state; /* AH_* */
	} slot[AHEAD_SLOTS];
};

static void *
ahead_worker(void *arg)
{
	struct ahead *ah = arg;
	struct aslot *j;

	pthread_mutex_lock(&ah->mu);
	for (;;) {
		while (!ah->stop && ah->wpos == ah->tail)
			pthread_cond_wait(&ah->cv, &ah->mu);
		if (ah->stop)
			break;
		j = &ah->slot[ah->wpos++ % AHEAD_SLOTS];
		if (j->state != AH_QUEUED)
			continue; /* taken by the caller, or dropped */
		j->state = AH_BUSY;
		pthread_mutex_unlock(&ah->mu);
		precheck_batch(&j->a, j->b, ah->region, &j->pc);
		pthread_mutex_lock(&ah->mu);
		j->state = AH_DONE;
		pthread_cond_broadcast(&ah->cv);
	}
	pthread_mutex_unlock(&ah->mu);
	return NULL;
}

static int
ahead_init(struct ucr_store *s)
{
	struct ahead *ah;
	sigset_t all, old;
	size_t i;
	int rc;

	if (s->ahead != NULL)
		return 0;
	if ((ah = calloc(1, sizeof(*ah))) == NULL)
		return -1;
	for (i = 0; i < AHEAD_SLOTS; i++) {
		ah->slot[i].a.pa.alloc = arena_alloc;
		ah->slot[i].a.pa.free = arena_nofree;
		ah->slot[i].a.pa.allocator_data = &ah->slot[i].a;
	}
	snprintf(ah->region, sizeof(ah->region), "%s", s->region);
	if (pthread_mutex_init(&ah->mu, NULL) != 0)
		goto fail;
	if (pthread_cond_init(&ah->cv, NULL) != 0) {
		pthread_mutex_destroy(&ah->mu);
		goto fail;
	}
	/* signals stay with the daemon's loop */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&ah->t, NULL, ahead_worker, ah);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&ah->cv);
		pthread_mutex_destroy(&ah->mu);
		goto fail;
	}
	ah->started = 1;
	s->ahead = ah;
	return 0;
fail:
	free(ah);
	return -1;
}

static void
ahead_free(struct ucr_store *s)
{
	struct ahead *ah = s->ahead;
	size_t i;

	if (ah == NULL)
		return;
	pthread_mutex_lock(&ah->mu);
	ah->stop = 1;
	pthread_cond_broadcast(&ah->cv);
	pthread_mutex_unlock(&ah->mu);
	pthread_join(ah->t, NULL);
	pthread_cond_destroy(&ah->cv);
	pthread_mutex_destroy(&ah->mu);
	for (i = 0; i < AHEAD_SLOTS; i++) {
		struct chunk *c, *next;

		for (c = ah->slot[i].a.first; c != NULL; c = next) {
			next = c->next;
			free(c);
		}
	}
	free(ah);
	s->ahead = NULL;
}

int
ucr_store_ahead(struct ucr_store *s, const Ucr__Batch *b)
{
	struct ahead *ah;
	struct aslot *j;
	int slot;

	if (!s->precheck || s->rdonly || b == NULL || ahead_init(s) != 0)
		return 0;
	ah = s->ahead;
	pthread_mutex_lock(&ah->mu);
	slot = (int)(ah->tail % AHEAD_SLOTS);
	j = &ah->slot[slot];
	if (j->state != AH_EMPTY) {
		/* every slot held: this one takes the usual path */
		pthread_mutex_unlock(&ah->mu);
		return 0;
	}
	j->b = b;
	j->state = AH_QUEUED;
	ah->tail++;
	pthread_cond_broadcast(&ah->cv);
	pthread_mutex_unlock(&ah->mu);
	return slot + 1;
}

void
ucr_store_ahead_drop(struct ucr_store *s, int ticket)
{
	struct ahead *ah = s->ahead;
	struct aslot *j;

	if (ah == NULL || ticket <= 0 || ticket > AHEAD_SLOTS)
		return;
	j = &ah->slot[ticket - 1];
	pthread_mutex_lock(&ah->mu);
	while (j->state == AH_BUSY) /* the batch is being read */
		pthread_cond_wait(&ah->cv, &ah->mu);
	j->state = AH_EMPTY;
	j->b = NULL;
	pthread_mutex_unlock(&ah->mu);
	arena_reset(&j->a); /* keeps one chunk for the next batch */
}

/* The ticket's precheck if the thread has made it, else NULL: ours. */
static const struct precheck *
ahead_take(struct ucr_store *s, int ticket)
{
	struct ahead *ah = s->ahead;
	const struct precheck *pc = NULL;
	struct aslot *j;

	if (ah == NULL || ticket <= 0 || ticket > AHEAD_SLOTS)
		return NULL;
	j = &ah->slot[ticket - 1];
	pthread_mutex_lock(&ah->mu);
	/* UCR_PRECHECK_WAIT (tests): every one checked ahead */
	while (s->precheck == UCR_PRECHECK_WAIT &&
	    (j->state == AH_QUEUED || j->state == AH_BUSY))
		pthread_cond_wait(&ah->cv, &ah->mu);
	if (j->state == AH_QUEUED)
		j->state = AH_MINE;
	else if (j->state == AH_DONE)
		pc = &j->pc;
	pthread_mutex_unlock(&ah->mu);
	return pc;
}

int
ucr_store_apply_group(struct ucr_store *s, struct ucr_apply_item *items,
    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		items[i].ahead = 0; /* callers of this one set only .batch */
	return ucr_store_apply_group_hook(s, items, n, NULL, NULL);
}

int
ucr_store_apply_group_hook(struct ucr_store *s, struct ucr_apply_item *items,
    size_t n, void (*before_commit)(void *), void *arg)
{
	MDB_txn *txn, *sub;
	struct decoded d = {NULL, 0};
	int ours[UCR_GROUP_MAX_BATCHES];
	size_t i;
	int rc, crc, any = 0;

	for (i = 0; i < n; i++) {
		items[i].rc = UCR_EAGAIN; /* not yet applied */
		items[i].applied = 0;
		items[i].why[0] = '\0';
	}
	if (n == 0)
		return 0;
	if (s->rdonly)
		return UCR_EPERM;
	if (n == 1 && before_commit == NULL && items[0].ahead == 0) {
		items[0].rc = ucr_store_apply(s, items[0].batch,
		    &items[0].applied, items[0].why, sizeof(items[0].why));
		return 0;
	}
	memset(ours, 0, sizeof(ours));
	if ((rc = wr_begin(s, &txn)) != 0) {
		rc = mdb_err(rc);
		goto leave;
	}
	/* the batches not handed ahead yet, from the second on */
	for (i = 0; i < n; i++)
		ours[i] =
		    i > 0 && i < UCR_GROUP_MAX_BATCHES && items[i].ahead == 0
		    ? ucr_store_ahead(s, items[i].batch)
		    : 0;
	for (i = 0; i < n; i++) {
		struct ucr_apply_item *it = &items[i];
		int ticket = it->ahead
		    ? it->ahead
		    : (i < UCR_GROUP_MAX_BATCHES ? ours[i] : 0);
		const struct precheck *pc = ahead_take(s, ticket);

		if ((rc = mdb_txn_begin(s->env, txn, 0, &sub)) != 0) {
			it->rc = UCR_EFULL; /* retried alone below */
			continue;
		}
		s->pc = pc;
		rc = apply_txn(sub, s, it->batch, &d, NULL, &it->applied,
		    it->why, sizeof(it->why));
		s->pc = NULL;
		decoded_free(&d);
		if (rc != 0)
			ucr_text_escape_inplace(it->why, sizeof(it->why));
		if (rc == 0 || rc == UCR_EFORK) {
			/* into the group's transaction; durable with it */
			if ((crc = mdb_txn_commit(sub)) != 0) {
				rc = mdb_err(crc);
				it->applied = 0;
			} else
				any = 1;
		} else {
			mdb_txn_abort(sub);
			it->applied = 0;
		}
		it->rc = rc;
	}
	/* the caller's work while the commit waits for the disk: it may not
	   touch the store */
	if (before_commit != NULL)
		before_commit(arg);
	if (!any)
		mdb_txn_abort(txn);
	else if ((crc = mdb_txn_commit(txn)) != 0) {
		crc = disk_full(s, mdb_err(crc));
		for (i = 0; i < n; i++)
			if (items[i].rc == 0 || items[i].rc == UCR_EFORK) {
				items[i].rc = crc;
				items[i].applied = 0;
				setwhy(items[i].why, sizeof(items[i].why),
				    "commit: %s", ucr_strerror(crc));
			}
		rc = crc;
		goto leave;
	}
	/* Out of room in the shared transaction: alone, it may fit. */
	for (i = 0; i < n; i++)
		if (items[i].rc == UCR_EFULL)
			items[i].rc = ucr_store_apply(s, items[i].batch,
			    &items[i].applied, items[i].why,
			    sizeof(items[i].why));
	rc = 0;
leave:
	/* the checks made ahead are used (the thread is done with them by
	   now, after the commit): their slots go back */
	for (i = 0; i < n; i++) {
		if (items[i].ahead) {
			ucr_store_ahead_drop(s, items[i].ahead);
			items[i].ahead = 0;
		} else if (i < UCR_GROUP_MAX_BATCHES && ours[i])
			ucr_store_ahead_drop(s, ours[i]);
	}
	return rc;
}

/* ---------------------------------------------------------------- append */

/* Sign the built entries of pb from seq first as one batch; apply it
   inside txn as the store's own. */
static int
append_batch(MDB_txn *txn, struct ucr_store *s, const struct ucr_key *key,
    uint64_t first, struct pending *pb, char *why, size_t whylen)
{
	Ucr__Batch b = UCR__BATCH__INIT;
	struct decoded d = {NULL, 0};
	uint8_t sig[UCR_SIG_LEN], signer[32];
	size_t applied;
	int rc;

	b.epoch = s->epoch;
	b.first_seq = first;
	b.last_seq = first + pb->n - 1;
	b.n_entries = pb->n;
	b.entries = pb->ents;
	b.signature.data = sig;
	ucr_batch_sign(&b, key, s->region, pb->last);
	/*
	 * Ed25519 signing is deterministic, and the key's public half is the
	 * store's identity (append_run checked it): once a signature made
	 * with this secret key has verified, every later one it makes does
	 * too, so it is verified once, not on every write (half of a single
	 * write's CPU). A key with another secret is verified again.
	 */
	ucr_hash(signer, key->sk, UCR_SK_LEN);
	pb->sig_known = s->has_signer && memcmp(signer, s->signer, 32) == 0;
	rc = apply_txn(txn, s, &b, &d, pb, &applied, why, whylen);
	pb->sig_known = 0;
	if (rc == 0 && s->jarm)
		journal_pack(s, &b);
	if (rc == 0 && !s->has_signer) {
		memcpy(s->signer, signer, 32);
		s->has_signer = 1;
	}
	sodium_memzero(signer, sizeof(signer));
	decoded_free(&d);
	if (rc == UCR_EFORK)
		rc = UCR_ECORRUPT; /* cannot fork our own log from its head */
	return rc;
}

/* n bytes of the batch's blocks, or NULL. */
static void *
pmem_alloc(struct pending *pb, size_t n)
{
	struct pmem *b = pb->cur;

	while (b != NULL && b->cap - b->used < n) {
		if ((b = b->next) != NULL)
			b->used = 0; /* a block of an earlier batch */
	}
	if (b == NULL) {
		size_t cap = n > PMEM_BLOCK ? n : PMEM_BLOCK;

		if ((b = malloc(sizeof(*b) + cap)) == NULL)
			return NULL;
		b->used = 0;
		b->cap = cap;
		if (pb->cur == NULL) {
			b->next = NULL;
			pb->mem = b;
		} else {
			b->next = pb->cur->next;
			pb->cur->next = b;
		}
	}
	pb->cur = b;
	b->used += n;
	return b->data + b->used - n;
}

static int
pending_init(struct pending *pb, size_t hint)
{
	memset(pb, 0, sizeof(*pb));
	pb->cap = hint == 0 || hint > UCR_MAX_BATCH_ENTRIES
	    ? UCR_MAX_BATCH_ENTRIES
	    : hint;
	pb->ents = calloc(pb->cap, sizeof(*pb->ents));
	pb->hash = calloc(pb->cap, 32);
	pb->key = calloc(pb->cap, sizeof(*pb->key));
	pb->tomb = calloc(pb->cap, 1);
	pb->pe = calloc(pb->cap, sizeof(*pb->pe));
	if (pb->ents == NULL || pb->hash == NULL || pb->key == NULL ||
	    pb->tomb == NULL || pb->pe == NULL ||
	    keyset_init(&pb->ks, pb->cap) != 0)
		return UCR_ENOMEM;
	return 0;
}

/* Empty the batch for the next one (its entries are applied). */
static void
pending_clear(struct pending *pb)
{
	size_t i;

	for (i = 0; i < pb->n; i++) {
		pb->ents[i].data = NULL;
		pb->key[i] = NULL;
	}
	pb->n = 0;
	if ((pb->cur = pb->mem) != NULL)
		pb->cur->used = 0; /* the blocks are filled again */
	if (pb->nks > 0 && pb->ks.key != NULL)
		memset(pb->ks.key, 0, (pb->ks.mask + 1) * sizeof(*pb->ks.key));
	pb->nks = 0;
}

static void
pending_free(struct pending *pb)
{
	struct pmem *b, *next;

	pending_clear(pb);
	for (b = pb->mem; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(pb->ents);
	free(pb->hash);
	free(pb->key);
	free(pb->tomb);
	free(pb->pe);
	keyset_free(&pb->ks);
}

/*
 * Whether key is held for put number i of a write: its last earlier put
 * in the batch being built decides, else the transaction (which holds the
 * write's earlier batches), else the store. hash, if not NULL, gets the
 * held record's hash.
 */
static int
put_held(MDB_txn *txn, struct ucr_store *s, struct pending *pb, const char *key,
    const uint8_t **hash)
{
	struct recval cur;
	long long e;

	/*
	 * The key set is brought up to date only when asked: a write of
	 * upserts that adopt nothing (an import of measurements) never asks,
	 * and hashes no key.
	 */
	for (; pb->nks < pb->n; pb->nks++)
		keyset_put(&pb->ks, pb->key[pb->nks], pb->nks);
	e = keyset_get(&pb->ks, key);

	if (e >= 0) {
		if (hash)
			*hash = pb->tomb[e] ? NULL : pb->hash[e];
		return !pb->tomb[e];
	}
	if (!rec_held(txn, s, key, &cur)) {
		if (hash)
			*hash = NULL;
		return 0;
	}
	if (hash)
		*hash = cur.hash;
	return 1;
}

/*
 * Encode put p as an entry of the batch being built: its mode checked,
 * its adopted keys bound to their records' hashes. checked: the caller
 * validated the record (ucr_store_append_checked), else apply_txn does.
 * A put of bytes (encoded and validated by a checked caller) goes in as
 * it is; a put of a record is encoded here. The record's hash and the
 * entry's are made once, here, for the chain, a later put's adoption and
 * apply_txn.
 */
static int
pending_add(MDB_txn *txn, struct ucr_store *s, struct pending *pb,
    const struct ucr_put *p, int checked, uint64_t seq, uint64_t time,
    uint8_t prev[32], char *why, size_t whylen)
{
	Ucr__Record *r = p->record;
	Ucr__Adopted *adopted = NULL, **adoptp = NULL, **adopts0 = NULL;
	size_t j, nadopt0 = 0, rlen, elen, klen;
	uint8_t *rb = NULL, *eb = NULL;
	const uint8_t *bytes;
	const char *rkey;
	uint32_t kind;
	char *k;
	int held, rc, isbytes = r == NULL && p->bytes != NULL;

	if (isbytes) {
		rkey = p->key;
		if (!checked) {
			setwhy(why, whylen,
			    "a put of bytes from a caller that did not "
			    "validate it");
			return UCR_EINVAL;
		}
		if (rkey == NULL || p->nadopt > 0) {
			setwhy(why, whylen,
			    "a put of bytes: no key, or adopts");
			return UCR_EINVAL;
		}
	} else if (r == NULL || r->key == NULL) {
		setwhy(why, whylen, "a put without a record");
		return UCR_EINVAL;
	} else
		rkey = r->key;
	/* an upsert that adopts nothing does not care whether it is held */
	held = p->mode == UCR_PUT_UPSERT && p->nadopt == 0
	    ? 0
	    : put_held(txn, s, pb, rkey, NULL);
	if (p->mode == UCR_PUT_CREATE && held) {
		setwhy(why, whylen, "%s: already exists", rkey);
		return UCR_EEXIST;
	}
	if (p->mode == UCR_PUT_UPDATE && !held) {
		setwhy(why, whylen, "%s: no such record", rkey);
		return UCR_ENOTFOUND;
	}
	if (p->nadopt > 0) {
		if (r->body_case != UCR__RECORD__BODY_DECISION) {
			setwhy(why, whylen, "%s: only a decision adopts",
			    r->key);
			return UCR_EINVAL;
		}
		adopted = calloc(p->nadopt, sizeof(*adopted));
		adoptp = calloc(p->nadopt, sizeof(*adoptp));
		if (adopted == NULL || adoptp == NULL) {
			rc = UCR_ENOMEM;
			goto leave;
		}
		for (j = 0; j < p->nadopt; j++) {
			const char *ak = p->adopt_keys[j];
			const uint8_t *hash;

			/* an earlier record of this write, else held */
			if (!put_held(txn, s, pb, ak, &hash)) {
				rc = UCR_ENOTFOUND;
				setwhy(why, whylen,
				    "%s: adopts unknown record %s", r->key, ak);
				goto leave;
			}
			ucr__adopted__init(&adopted[j]);
			adopted[j].key = (char *)ak;
			adopted[j].hash.data = (uint8_t *)hash;
			adopted[j].hash.len = 32;
			adoptp[j] = &adopted[j];
		}
		nadopt0 = r->decision->n_adopts;
		adopts0 = r->decision->adopts;
		r->decision->n_adopts = p->nadopt;
		r->decision->adopts = adoptp;
	}
	if (isbytes) {
		bytes = p->bytes;
		rlen = p->len;
		kind = p->kind;
		rc = rlen > UCR_MAX_RECORD ? UCR_ETOOBIG : 0;
	} else {
		rc = ucr_record_encode(&rb, &rlen, r);
		bytes = rb;
		kind = (uint32_t)r->body_case;
	}
	if (p->nadopt > 0) {
		r->decision->n_adopts = nadopt0;
		r->decision->adopts = adopts0;
	}
	if (rc != 0)
		goto leave;
	/* the entry and the key, in the batch's blocks */
	elen = ucr_entry_encode_to(NULL, s->epoch, seq, prev, time, kind, bytes,
	    rlen);
	klen = strlen(rkey) + 1;
	if ((eb = pmem_alloc(pb, elen + klen)) == NULL) {
		rc = UCR_ENOMEM;
		goto leave;
	}
	elen = ucr_entry_encode_to(eb, s->epoch, seq, prev, time, kind, bytes,
	    rlen);
	/* the record is the entry's last field: apply_txn reads it there */
	if (elen < rlen || memcmp(eb + elen - rlen, bytes, rlen) != 0) {
		setwhy(why, whylen, "%s: record misplaced in its entry", rkey);
		rc = UCR_ECORRUPT;
		goto leave;
	}
	k = memcpy(eb + elen, rkey, klen);
	pb->pe[pb->n].owner = NULL;
	if (isbytes && p->owner != NULL) {
		size_t olen = strlen(p->owner) + 1;
		size_t alen = p->area != NULL ? strlen(p->area) + 1 : 0;
		char *o;

		if ((o = pmem_alloc(pb, olen + alen)) == NULL) {
			rc = UCR_ENOMEM;
			goto leave;
		}
		pb->pe[pb->n].owner = memcpy(o, p->owner, olen);
		pb->pe[pb->n].area =
		    alen ? memcpy(o + olen, p->area, alen) : NULL;
		pb->pe[pb->n].year = p->year;
		pb->pe[pb->n].status = p->status;
	}
	j = pb->n++;
	if (j == 0)
		memcpy(pb->prev0, prev, 32);
	pb->key[j] = k;
	pb->tomb[j] = isbytes ? p->tombstone != 0 : r->tombstone != 0;
	pb->pe[j].time = time;
	pb->pe[j].roff = (uint32_t)(elen - rlen);
	pb->pe[j].rlen = (uint32_t)rlen;
	pb->pe[j].kind = kind;
	pb->pe[j].checked = (uint8_t)checked;
	ucr_hash(pb->hash[j], bytes, rlen);
	pb->ents[j].data = eb;
	pb->ents[j].len = elen;
	ucr_hash(prev, eb, elen);
	memcpy(pb->last, prev, 32);
leave:
	free(rb);
	free(adopted);
	free(adoptp);
	return rc;
}

int
ucr_put_array_next(void *ctx, struct ucr_put *put, char *why, size_t whylen)
{
	struct ucr_put_array *a = ctx;

	(void)why;
	(void)whylen;
	if (a->i >= a->n)
		return 0;
	*put = a->puts[a->i++];
	return 1;
}

/*
 * The one append: puts from next, one at a time, as signed batches of at
 * most UCR_MAX_BATCH_ENTRIES entries, each applied inside the one write
 * transaction as soon as it is built. hint: the number of puts if known
 * (0: unknown), to size the batch. checked: as pending_add's.
 */
static int
append_run(struct ucr_store *s, const struct ucr_key *key, ucr_put_next_fn next,
    void *ctx, size_t hint, int checked, uint64_t *first, uint64_t *last,
    size_t *bad, char *why, size_t whylen)
{
	MDB_txn *txn = NULL;
	struct pending pb;
	struct ucr_put p;
	uint8_t prev[32];
	struct ucr_head h;
	uint64_t time;
	size_t n = 0;
	int rc, done;

	if (bad)
		*bad = 0;
	if (s->rdonly)
		return UCR_EPERM;
	if (!s->has_identity || memcmp(key->pk, s->self, UCR_PK_LEN) != 0) {
		setwhy(why, whylen, "the key is not this store's identity");
		return UCR_EINVAL;
	}
	s->jlen = 0;
	s->jmany = 0;
	if (s->jtxn != NULL)
		(void)ucr_store_commit_deferred(s);
	if (s->jlost && (rc = journal_recover(s)) != 0) {
		/* its seqs are taken: nothing may be written before it */
		s->jarm = 0;
		setwhy(why, whylen,
		    "a write already answered is not yet in the store (%s); "
		    "retried until it is",
		    ucr_strerror(rc));
		return rc;
	}
	if ((rc = pending_init(&pb, hint)) != 0)
		goto leave;
	if ((rc = wr_begin(s, &txn)) != 0) {
		rc = mdb_err(rc);
		goto leave;
	}
	rc = head_get(txn, s, s->self, s->epoch, &h);
	if (rc == UCR_ENOTFOUND)
		rc = 0;
	if (rc != 0)
		goto leave;
	if (h.stopped) {
		rc = UCR_ESTOPPED;
		setwhy(why, whylen, "this log is stopped after a fork");
		goto leave;
	}
	memcpy(prev, h.hash, 32);
	time = h.time > s->hlc ? h.time : s->hlc;
	for (;;) {
		if (bad)
			*bad = n;
		memset(&p, 0, sizeof(p));
		if ((rc = next(ctx, &p, why, whylen)) < 0)
			goto leave;
		done = rc == 0;
		if (!done) {
			time = ucr_hlc_next(time);
			rc = pending_add(txn, s, &pb, &p, checked,
			    h.seq + 1 + n, time, prev, why, whylen);
			if (rc != 0)
				goto leave;
			n++;
			if (pb.n < pb.cap)
				continue;
		}
		/* A long write is several signed batches in this one txn. */
		if (pb.n > 0 &&
		    (rc = append_batch(txn, s, key, h.seq + 1 + n - pb.n, &pb,
			 why, whylen)) != 0) {
			/* Which put failed is unknown here: report none. */
			if (bad)
				*bad = 0;
			goto leave;
		}
		pending_clear(&pb);
		if (done)
			break;
	}
	if (bad)
		*bad = 0;
	if (n == 0) {
		rc = UCR_EINVAL;
		setwhy(why, whylen, "no records to write");
		goto leave;
	}
	if (s->reqidlen > 0 &&
	    (rc = reqid_put_txn(txn, s, h.seq + 1, h.seq + n)) != 0)
		goto leave;
	if (s->jarm && s->jlen > 0 && !s->jmany) {
		/* durable once journaled: the commit follows the answer */
		if ((rc = journal_write(s)) != 0) {
			setwhy(why, whylen, "journal: %s", ucr_strerror(rc));
			goto leave;
		}
		if (s->reqidlen > 0) /* a write may come without an id */
			memcpy(s->jreqid, s->reqid, s->reqidlen);
		s->jreqidlen = s->reqidlen;
		s->jtxn = txn;
		txn = NULL;
	} else {
		rc = mdb_txn_commit(txn);
		txn = NULL;
		if (rc != 0) {
			rc = mdb_err(rc);
			setwhy(why, whylen, "commit: %s", ucr_strerror(rc));
			goto leave;
		}
		if (s->reqidlen > 0)
			reqid_committed(s);
	}
	if (time > s->hlc)
		s->hlc = time;
	if (first)
		*first = h.seq + 1;
	if (last)
		*last = h.seq + n;
leave:
	if (txn)
		mdb_txn_abort(txn);
	if (rc != 0 || s->jtxn == NULL) {
		/* a write that failed remembers nothing; a deferred one
		   learns its id at its commit */
		s->rqadd = 0;
		s->rqdropn = 0;
	}
	s->jarm = 0;
	pending_free(&pb);
	if (rc != 0 && why != NULL)
		ucr_text_escape_inplace(why, whylen);
	return rc;
}

int
ucr_store_append(struct ucr_store *s, const struct ucr_key *key,
    struct ucr_put *puts, size_t n, uint64_t *first, uint64_t *last,
    size_t *bad, char *why, size_t whylen)
{
	struct ucr_put_array a = {puts, n, 0};

	if (n == 0) {
		if (bad)
			*bad = 0;
		setwhy(why, whylen, "no records to write");
		return UCR_EINVAL;
	}
	return append_run(s, key, ucr_put_array_next, &a, n, 0, first, last,
	    bad, why, whylen);
}

int
ucr_store_dir(struct ucr_store *s, char *buf, size_t len)
{
	const char *p;
	int rc;

	if ((rc = mdb_env_get_path(s->env, &p)) != 0)
		return mdb_err(rc);
	if ((size_t)snprintf(buf, len, "%s", p) >= len)
		return UCR_ETOOBIG;
	return 0;
}

int
ucr_store_entry_hash(struct ucr_store *s, const uint8_t *author, uint64_t epoch,
    uint64_t seq, uint8_t out[32])
{
	MDB_txn *txn;
	int rc;

	if ((rc = rd_begin(s, &txn)) != 0)
		return mdb_err(rc);
	rc = entry_hash_at(txn, s, author, epoch, seq, out, NULL);
	mdb_txn_abort(txn);
	return rc == UCR_ECORRUPT ? UCR_ENOTFOUND : rc;
}

int
ucr_store_stop_log(struct ucr_store *s, const uint8_t *author, uint64_t epoch,
    uint64_t seq, const uint8_t *offered, size_t len, const char *reason)
{
	struct ucr_quarantine q;
	struct ucr_head h;
	uint8_t hash[32];
	MDB_val held;
	MDB_txn *txn;
	int rc;

	if (s->rdonly)
		return UCR_EPERM;
	if ((rc = wr_begin(s, &txn)) != 0)
		return mdb_err(rc);
	if ((rc = head_get(txn, s, author, epoch, &h)) != 0)
		goto fail;
	memset(&q, 0, sizeof(q));
	q.reason = reason;
	q.author = author;
	q.epoch = epoch;
	q.seq = seq;
	if (entry_hash_at(txn, s, author, epoch, seq, hash, &held) == 0) {
		q.held = held.mv_data;
		q.heldlen = held.mv_size;
	}
	q.offered = offered;
	q.offeredlen = len;
	if ((rc = quarantine_txn(txn, s, &q)) != 0)
		goto fail;
	h.stopped = 1;
	if ((rc = head_put(txn, s, &h)) != 0)
		goto fail;
	return mdb_err(mdb_txn_commit(txn));
fail:
	mdb_txn_abort(txn);
	return rc;
}

/* ---------------------------------------------------------------- batches */

/* A built batch is one allocation (batch_copy): the struct, the entry
 * slots, author, signature and the entries' bytes. */
void
ucr_batch_free(Ucr__Batch *b)
{
	free(b);
}

/* The lowest signed seq >= seq of a log, and its first and signature. */
static int
sig_from(MDB_txn *txn, struct ucr_store *s, const uint8_t *author,
    uint64_t epoch, uint64_t seq, uint64_t *sigseq, uint8_t *sig)
{
	uint8_t key[ENTKEY_LEN];
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	*sigseq = 0;
	logkey(key, author, epoch, seq);
	k.mv_data = key;
	k.mv_size = ENTKEY_LEN;
	if ((rc = mdb_cursor_open(txn, s->sigs, &c)) != 0)
		return mdb_err(rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	if (rc == 0 &&
	    (k.mv_size != ENTKEY_LEN ||
		memcmp(k.mv_data, key, LOGKEY_LEN) != 0))
		rc = MDB_NOTFOUND;
	if (rc == 0) {
		*sigseq = get64((uint8_t *)k.mv_data + 40);
		if (sig)
			memcpy(sig, (uint8_t *)v.mv_data + 8, UCR_SIG_LEN);
	}
	mdb_cursor_close(c);
	return mdb_err(rc);
}

/*
 * One batch of a log, found in one pass: one cursor over the log's
 * entries and, for a relay, one over its signatures beside it, instead of
 * a lookup of the entry and a search of the signatures for every seq.
 * The slots in w->ents point into the map, valid until the transaction
 * ends; nothing is copied. The rule is ucr_store_batch()'s (store.h):
 * entries from `from` while under maxbytes (at least one), at most
 * UCR_MAX_BATCH_ENTRIES, not beyond end; a relay's (own == 0) goes on to
 * a signed seq and is cut back to the last one, whose stored signature
 * w->sig points at. w->full: cut by maxbytes or the entry cap, so the
 * same call gives the same batch whatever is appended later; else it
 * ended at end.
 */
struct walk {
	ProtobufCBinaryData *ents;
	size_t n, bytes;
	uint64_t last;
	const uint8_t *sig;
	int full;
};

/* A key of the sigs or entries database within the log of lk (40 bytes). */
static int
in_log(const MDB_val *k, const uint8_t *lk)
{
	return k->mv_size == ENTKEY_LEN &&
	    memcmp(k->mv_data, lk, LOGKEY_LEN) == 0;
}

static int
batch_walk(MDB_txn *txn, struct ucr_store *s, int own, const uint8_t *author,
    uint64_t epoch, uint64_t from, uint64_t end, size_t maxbytes,
    struct walk *w)
{
	uint8_t ek[ENTKEY_LEN], sk[ENTKEY_LEN];
	MDB_cursor *ec = NULL, *sc = NULL;
	MDB_val k, v, skv, sv;
	uint64_t seq, nextsig = UINT64_MAX, signed_end = 0;
	size_t cap, signed_n = 0, signed_bytes = 0;
	const uint8_t *sig = NULL;
	int rc;

	memset(w, 0, sizeof(*w));
	cap = end - from + 1 < UCR_MAX_BATCH_ENTRIES ? end - from + 1
						     : UCR_MAX_BATCH_ENTRIES;
	if (s->walkcap < cap) {
		ProtobufCBinaryData *p = realloc(s->walk, cap * sizeof(*p));

		if (p == NULL)
			return UCR_ENOMEM;
		s->walk = p;
		s->walkcap = cap;
	}
	w->ents = s->walk;
	logkey(ek, author, epoch, from);
	memcpy(sk, ek, ENTKEY_LEN);
	if ((rc = mdb_cursor_open(txn, s->entries, &ec)) != 0 ||
	    (!own && (rc = mdb_cursor_open(txn, s->sigs, &sc)) != 0)) {
		rc = mdb_err(rc);
		goto leave;
	}
	/* a relay: the first signed seq at or after from must fit */
	if (!own) {
		skv.mv_data = sk;
		skv.mv_size = ENTKEY_LEN;
		rc = mdb_cursor_get(sc, &skv, &sv, MDB_SET_RANGE);
		if (rc == 0 && !in_log(&skv, ek))
			rc = MDB_NOTFOUND;
		if (rc == 0 &&
		    (nextsig = get64((uint8_t *)skv.mv_data + 40)) > end)
			rc = MDB_NOTFOUND;
		if (rc != 0) {
			rc = mdb_err(rc);
			goto leave;
		}
	}
	k.mv_data = ek;
	k.mv_size = ENTKEY_LEN;
	for (seq = from; seq <= end; seq++) {
		if (w->n == cap ||
		    (w->n > 0 && w->bytes >= maxbytes &&
			(own || signed_end != 0))) {
			w->full = 1;
			break;
		}
		rc = mdb_cursor_get(ec, &k, &v,
		    seq == from ? MDB_SET_KEY : MDB_NEXT);
		if (rc == MDB_NOTFOUND ||
		    (rc == 0 &&
			(!in_log(&k, ek) ||
			    get64((uint8_t *)k.mv_data + 40) != seq))) {
			rc = UCR_ECORRUPT; /* the head says it is held */
			goto leave;
		}
		if (rc != 0) {
			rc = mdb_err(rc);
			goto leave;
		}
		w->ents[w->n].data = v.mv_data;
		w->ents[w->n].len = v.mv_size;
		w->n++;
		w->bytes += v.mv_size;
		if (seq != nextsig)
			continue;
		signed_end = seq;
		signed_n = w->n;
		signed_bytes = w->bytes;
		sig = (const uint8_t *)sv.mv_data + 8;
		rc = mdb_cursor_get(sc, &skv, &sv, MDB_NEXT);
		if (rc == 0 && !in_log(&skv, ek))
			rc = MDB_NOTFOUND;
		if (rc == MDB_NOTFOUND)
			nextsig = UINT64_MAX;
		else if (rc != 0) {
			rc = mdb_err(rc);
			goto leave;
		} else
			nextsig = get64((uint8_t *)skv.mv_data + 40);
	}
	rc = 0;
	if (own)
		w->last = from + w->n - 1;
	else if (signed_n == 0)
		rc = UCR_ENOTFOUND; /* no signature within the cap */
	else {
		/* cut back to the last seq that has a signature */
		w->n = signed_n;
		w->bytes = signed_bytes;
		w->last = signed_end;
		w->sig = sig;
	}
leave:
	if (sc)
		mdb_cursor_close(sc);
	if (ec)
		mdb_cursor_close(ec);
	return rc;
}

/* The log's head and the walk of from..to within it, in txn. */
static int
batch_find(MDB_txn *txn, struct ucr_store *s, int own, const uint8_t *author,
    uint64_t epoch, uint64_t from, uint64_t to, size_t maxbytes, struct walk *w)
{
	struct ucr_head h;
	uint64_t end;
	int rc;

	if ((rc = head_get(txn, s, author, epoch, &h)) != 0)
		return rc;
	end = (to == 0 || to > h.seq) ? h.seq : to;
	if (from > end)
		return UCR_ENOTFOUND;
	return batch_walk(txn, s, own, author, epoch, from, end, maxbytes, w);
}

/* The batch's signature: the stored one of a relay, a fresh one of our
 * own log. */
static void
batch_sig(uint8_t *out, const struct walk *w, struct ucr_store *s,
    const struct ucr_key *key, const uint8_t *author, uint64_t epoch)
{
	uint8_t lasthash[32], msg[UCR_SIGMSG_LEN];

	if (w->sig != NULL) {
		memcpy(out, w->sig, UCR_SIG_LEN);
		return;
	}
	ucr_hash(lasthash, w->ents[w->n - 1].data, w->ents[w->n - 1].len);
	ucr_batch_sigmsg(msg, author, epoch, w->last, lasthash);
	ucr_sig_sign(out, key, s->region, "batch", msg, sizeof(msg));
}

int
ucr_store_batch(struct ucr_store *s, const struct ucr_key *key,
    const uint8_t *author, uint64_t epoch, uint64_t from, uint64_t to,
    size_t maxbytes, Ucr__Batch **out)
{
	MDB_txn *txn;
	Ucr__Batch *b;
	struct walk w;
	uint8_t *p;
	size_t i, head;
	int own = key != NULL && memcmp(key->pk, author, 32) == 0, rc;

	*out = NULL;
	if (from == 0)
		from = 1;
	if ((rc = rd_begin(s, &txn)) != 0)
		return mdb_err(rc);
	if ((rc = batch_find(txn, s, own, author, epoch, from, to, maxbytes,
		 &w)) != 0)
		goto leave;
	/* one allocation, freed by ucr_batch_free(): the struct, the slots,
	 * author, signature, then the entries' bytes */
	head =
	    sizeof(*b) + w.n * sizeof(*b->entries) + UCR_PK_LEN + UCR_SIG_LEN;
	head = (head + 15) & ~(size_t)15;
	if ((b = malloc(head + w.bytes)) == NULL) {
		rc = UCR_ENOMEM;
		goto leave;
	}
	ucr__batch__init(b);
	b->entries = (ProtobufCBinaryData *)(b + 1);
	b->author.data = (uint8_t *)(b->entries + w.n);
	b->signature.data = b->author.data + UCR_PK_LEN;
	memcpy(b->author.data, author, UCR_PK_LEN);
	b->author.len = UCR_PK_LEN;
	b->signature.len = UCR_SIG_LEN;
	b->epoch = epoch;
	b->first_seq = from;
	b->last_seq = w.last;
	p = (uint8_t *)b + head;
	for (i = 0; i < w.n; i++) {
		memcpy(p, w.ents[i].data, w.ents[i].len);
		b->entries[i].data = p;
		b->entries[i].len = w.ents[i].len;
		p += w.ents[i].len;
	}
	b->n_entries = w.n;
	batch_sig(b->signature.data, &w, s, key, author, epoch);
	*out = b;
leave:
	mdb_txn_abort(txn);
	return rc;
}

int
ucr_store_batch_frame(struct ucr_store *s, const struct ucr_key *key,
    const uint8_t *author, uint64_t epoch, uint64_t from, uint64_t to,
    size_t maxbytes, ucr_frame_alloc_fn alloc, void *ctx,
    struct ucr_batch_info *info)
{
	Ucr__Frame f = UCR__FRAME__INIT;
	Ucr__Batch b = UCR__BATCH__INIT;
	MDB_txn *txn;
	struct walk w;
	uint8_t sig[UCR_SIG_LEN], *buf;
	size_t len;
	int own = key != NULL && memcmp(key->pk, author, 32) == 0, rc;

	memset(info, 0, sizeof(*info));
	if (from == 0)
		from = 1;
	if ((rc = rd_begin(s, &txn)) != 0)
		return mdb_err(rc);
	if ((rc = batch_find(txn, s, own, author, epoch, from, to, maxbytes,
		 &w)) != 0)
		goto leave;
	batch_sig(sig, &w, s, key, author, epoch);
	b.author.data = (uint8_t *)author;
	b.author.len = UCR_PK_LEN;
	b.epoch = epoch;
	b.first_seq = from;
	b.last_seq = w.last;
	b.entries = w.ents; /* the map's pages, while txn lives */
	b.n_entries = w.n;
	b.signature.data = sig;
	b.signature.len = UCR_SIG_LEN;
	f.body_case = UCR__FRAME__BODY_BATCH;
	f.batch = &b;
	len = ucr__frame__get_packed_size(&f);
	if ((buf = alloc(len, ctx)) == NULL) {
		rc = UCR_ENOMEM;
		goto leave;
	}
	ucr__frame__pack(&f, buf);
	info->first = from;
	info->last = w.last;
	info->n = w.n;
	info->bytes = w.bytes;
	info->len = len;
	info->full = w.full;
leave:
	mdb_txn_abort(txn);
	return rc;
}

/* ---------------------------------------------------------------- reads */

static void
rec_out(struct ucr_rec *out, const char *key, const struct recval *r)
{
	out->key = key;
	out->author = r->author;
	out->epoch = r->epoch;
	out->seq = r->seq;
	out->time = r->time;
	out->hash = r->hash;
	out->bytes = r->bytes;
	out->len = r->len;
}

int
ucr_store_get(struct ucr_store *s, const char *key,
    int (*cb)(const struct ucr_rec *, void *), void *ctx)
{
	MDB_txn *txn;
	struct recval r;
	struct ucr_rec out;
	int rc;

	if ((rc = rd_begin(s, &txn)) != 0)
		return mdb_err(rc);
	if ((rc = rec_get(txn, s, key, &r)) == 0) {
		rec_out(&out, key, &r);
		rc = cb(&out, ctx);
	}
	mdb_txn_abort(txn);
	return rc;
}

/*
 * The record under the cursor at k, v, in out; its key copied into keybuf
 * (valid while keybuf is). UCR_ECORRUPT if the key is too long or the
 * value does not parse.
 */
static int
rec_cur(const MDB_val *k, MDB_val *v, char keybuf[512], struct ucr_rec *out)
{
	struct recval r;

	if (k->mv_size >= 512 || rec_parse(v, &r) != 0)
		return UCR_ECORRUPT;
	memcpy(keybuf, k->mv_data, k->mv_size);
	keybuf[k->mv_size] = '\0';
	rec_out(out, keybuf, &r);
	return 0;
}

/*
 * Each current record whose key starts with prefix ("" or NULL: all), in
 * key order, as txn sees them: cb(rec, ctx), the walk ending at cb's first
 * non-zero return, which it returns. The one record walk of
 * ucr_store_foreach_record, ucr_store_view_digest and ucr_store_snapshot,
 * so that the snapshot's digest is the view digest by construction.
 */
static int
rec_walk(MDB_txn *txn, struct ucr_store *s, const char *prefix,
    int (*cb)(const struct ucr_rec *, void *), void *ctx)
{
	MDB_cursor *c;
	MDB_val k, v;
	struct ucr_rec out;
	char keybuf[512];
	size_t plen = prefix ? strlen(prefix) : 0;
	int rc, op;

	if ((rc = mdb_cursor_open(txn, s->records, &c)) != 0)
		return mdb_err(rc);
	k.mv_data = (void *)prefix;
	k.mv_size = plen;
	op = plen ? MDB_SET_RANGE : MDB_FIRST;
	while ((rc = mdb_cursor_get(c, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
			break;
		if ((rc = rec_cur(&k, &v, keybuf, &out)) != 0 ||
		    (rc = cb(&out, ctx)) != 0)
			goto leave;
	}
	rc = (rc == MDB_NOTFOUND || rc == 0) ? 0 : mdb_err(rc);
leave:
	mdb_cursor_close(c);
	return rc;
}

int
ucr_store_foreach_record(struct ucr_store *s, const char *prefix,
    int (*cb)(const struct ucr_rec *, void *), void *ctx)
{
	MDB_txn *txn;
	int rc;

	if ((rc = rd_begin(s, &txn)) != 0)
		return mdb_err(rc);
	rc = rec_walk(txn, s, prefix, cb, ctx);
	mdb_txn_abort(txn);
	return rc;
}

int
ucr_store_foreach_entry(struct ucr_store *s, const uint8_t *author,
    uint64_t epoch, uint64_t from,
    int (*cb)(const struct ucr_entry_info *, void *), void *ctx)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	uint8_t key[ENTKEY_LEN];
	struct ucr_entry_info e;
	int rc, op = MDB_SET_RANGE;

	if ((rc = read_cursor(s, s->entries, &txn, &c)) != 0)
		return rc;
	logkey(key, author, epoch, from);
	k.mv_data = key;
	k.mv_size = ENTKEY_LEN;
	while ((rc = mdb_cursor_get(c, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		if (k.mv_size != ENTKEY_LEN ||
		    memcmp(k.mv_data, key, LOGKEY_LEN) != 0)
			break;
		e.author = author;
		e.epoch = epoch;
		e.seq = get64((uint8_t *)k.mv_data + 40);
		e.bytes = v.mv_data;
		e.len = v.mv_size;
		if ((rc = cb(&e, ctx)) != 0)
			goto leave;
	}
	rc = (rc == MDB_NOTFOUND || rc == 0) ? 0 : mdb_err(rc);
leave:
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	return rc;
}

/* ------------------------------------------------------------ quarantine */

int
ucr_store_quarantine_put(struct ucr_store *s, const struct ucr_quarantine *q)
{
	MDB_txn *txn;
	int rc;

	if (s->rdonly)
		return UCR_EPERM;
	if ((rc = wr_begin(s, &txn)) != 0)
		return mdb_err(rc);
	if ((rc = quarantine_txn(txn, s, q)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_err(mdb_txn_commit(txn));
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

int
ucr_store_foreach_quarantine(struct ucr_store *s,
    int (*cb)(const struct ucr_quarantine *, void *), void *ctx)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	struct ucr_quarantine q;
	char reason[1001];
	int rc, op = MDB_FIRST;

	if ((rc = read_cursor(s, s->quarantine, &txn, &c)) != 0)
		return rc;
	while ((rc = mdb_cursor_get(c, &k, &v, op)) == 0) {
		const uint8_t *p = v.mv_data, *end = p + v.mv_size;
		size_t rlen;

		op = MDB_NEXT;
		memset(&q, 0, sizeof(q));
		if (k.mv_size != 12 || v.mv_size < 2)
			goto corrupt;
		q.time = get64(k.mv_data);
		rlen = (size_t)p[0] << 8 | p[1];
		if (rlen > 1000 || p + 2 + rlen + 1 + 32 + 16 + 4 > end)
			goto corrupt;
		memcpy(reason, p + 2, rlen);
		reason[rlen] = '\0';
		q.reason = reason;
		p += 2 + rlen;
		q.author = *p ? p + 1 : NULL;
		p += 33;
		q.epoch = get64(p);
		q.seq = get64(p + 8);
		p += 16;
		q.heldlen = get32(p);
		if (p + 4 + q.heldlen + 4 > end)
			goto corrupt;
		q.held = p + 4;
		p += 4 + q.heldlen;
		q.offeredlen = get32(p);
		if (p + 4 + q.offeredlen > end)
			goto corrupt;
		q.offered = p + 4;
		p += 4 + q.offeredlen;
		/* the optional evidence tail (older items end here) */
		if (p < end && *p == 'E' && p + 1 + 4 <= end) {
			p++;
			q.held_batchlen = get32(p);
			if (p + 4 + q.held_batchlen + 4 > end)
				goto corrupt;
			q.held_batch = p + 4;
			p += 4 + q.held_batchlen;
			q.offered_batchlen = get32(p);
			if (p + 4 + q.offered_batchlen > end)
				goto corrupt;
			q.offered_batch = p + 4;
		}
		if ((rc = cb(&q, ctx)) != 0)
			goto leave;
	}
	rc = rc == MDB_NOTFOUND ? 0 : mdb_err(rc);
	goto leave;
corrupt:
	rc = UCR_ECORRUPT;
leave:
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	return rc;
}

/* ---------------------------------------------------------------- meta */

int
ucr_store_meta_get(struct ucr_store *s, const char *name, void *buf, size_t len,
    size_t *outlen)
{
	MDB_txn *txn;
	MDB_val k, v;
	int rc;

	if ((rc = rd_begin(s, &txn)) != 0)
		return mdb_err(rc);
	k.mv_data = (void *)name;
	k.mv_size = strlen(name);
	if ((rc = mdb_get(txn, s->meta, &k, &v)) != 0)
		rc = mdb_err(rc);
	else if (v.mv_size > len)
		rc = UCR_ETOOBIG;
	else {
		memcpy(buf, v.mv_data, v.mv_size);
		if (outlen)
			*outlen = v.mv_size;
	}
	mdb_txn_abort(txn);
	return rc;
}

/*
 * Write n named values in one transaction, all or none: names[i] set to
 * bufs[i] (lens[i] bytes) or, with bufs NULL, deleted (an absent one is
 * no error). "identity" is the store's own and is never written here.
 */
static int
meta_write(struct ucr_store *s, int n, const char *const *names,
    const void *const *bufs, const size_t *lens)
{
	MDB_txn *txn;
	MDB_val k, v;
	int rc, i;

	if (s->rdonly)
		return UCR_EPERM;
	for (i = 0; i < n; i++)
		if (strcmp(names[i], "identity") == 0)
			return UCR_EPERM;
	if ((rc = wr_begin(s, &txn)) != 0)
		return mdb_err(rc);
	for (i = 0; i < n && rc == 0; i++) {
		k.mv_data = (void *)names[i];
		k.mv_size = strlen(names[i]);
		if (bufs == NULL) {
			rc = mdb_del(txn, s->meta, &k, NULL);
			if (rc == MDB_NOTFOUND)
				rc = 0;
		} else {
			v.mv_data = (void *)bufs[i];
			v.mv_size = lens[i];
			rc = mdb_put(txn, s->meta, &k, &v, 0);
		}
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return mdb_err(rc);
	}
	return mdb_err(mdb_txn_commit(txn));
}

int
ucr_store_meta_put(struct ucr_store *s, const char *name, const void *buf,
    size_t len)
{
	return meta_write(s, 1, &name, &buf, &len);
}

int
ucr_store_meta_get_alloc(struct ucr_store *s, const char *name, size_t maxlen,
    uint8_t **out, size_t *outlen)
{
	MDB_txn *txn;
	MDB_val k, v;
	int rc;

	*out = NULL;
	*outlen = 0;
	if ((rc = rd_begin(s, &txn)) != 0)
		return mdb_err(rc);
	k.mv_data = (void *)name;
	k.mv_size = strlen(name);
	if ((rc = mdb_get(txn, s->meta, &k, &v)) != 0)
		rc = mdb_err(rc);
	else if (v.mv_size > maxlen)
		rc = UCR_ETOOBIG;
	else if ((*out = malloc(v.mv_size ? v.mv_size : 1)) == NULL)
		rc = UCR_ENOMEM;
	else {
		memcpy(*out, v.mv_data, v.mv_size);
		*outlen = v.mv_size;
	}
	mdb_txn_abort(txn);
	return rc;
}

int
ucr_store_meta_put2(struct ucr_store *s, const char *name1, const void *buf1,
    size_t len1, const char *name2, const void *buf2, size_t len2)
{
	const char *names[2] = {name1, name2};
	const void *bufs[2] = {buf1, buf2};
	size_t lens[2] = {len1, len2};

	return meta_write(s, 2, names, bufs, lens);
}

int
ucr_store_meta_del2(struct ucr_store *s, const char *name1, const char *name2)
{
	const char *names[2] = {name1, name2};

	return meta_write(s, 2, names, NULL, NULL);
}

/* ---------------------------------------------------------------- stats */

int
ucr_store_stats(struct ucr_store *s, struct ucr_store_stats *out)
{
	MDB_txn *txn;
	MDB_stat st;
	MDB_envinfo info;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = rd_begin(s, &txn)) != 0)
		return mdb_err(rc);
	if (mdb_stat(txn, s->entries, &st) == 0)
		out->entries = st.ms_entries;
	if (mdb_stat(txn, s->records, &st) == 0)
		out->records = st.ms_entries;
	if (mdb_stat(txn, s->heads, &st) == 0)
		out->logs = st.ms_entries;
	if (mdb_stat(txn, s->quarantine, &st) == 0)
		out->quarantined = st.ms_entries;
	if (mdb_stat(txn, s->sigs, &st) == 0)
		out->sigs = st.ms_entries;
	mdb_txn_abort(txn);
	if (mdb_env_info(s->env, &info) == 0 &&
	    mdb_env_stat(s->env, &st) == 0) {
		out->map_size = info.me_mapsize;
		out->map_used = (info.me_last_pgno + 1) * (size_t)st.ms_psize;
	}
	return 0;
}

/* ---------------------------------------------------------------- verify */

struct verify_ctx {
	struct ucr_store *s;
	MDB_txn *txn;
	char *why;
	size_t whylen;
	int (*cb)(const struct ucr_head *, uint64_t, void *);
	void *ctx;
	int rc;
};

static int
verify_log(const struct ucr_head *h, void *arg)
{
	struct verify_ctx *vc = arg;
	struct ucr_store *s = vc->s;
	uint8_t key[ENTKEY_LEN], prev[32], hash[32], msg[UCR_SIGMSG_LEN];
	uint64_t seq, batches = 0, lastsigned = 0;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	char an[17];
	int rc = 0;

	ucr_hex(an, h->author, 8);
	memcpy(prev, zero_hash, 32);
	for (seq = 1; seq <= h->seq; seq++) {
		Ucr__Entry *e;

		logkey(key, h->author, h->epoch, seq);
		k.mv_data = key;
		k.mv_size = ENTKEY_LEN;
		if (mdb_get(vc->txn, s->entries, &k, &v) != 0) {
			setwhy(vc->why, vc->whylen,
			    "log %s epoch %llu: entry "
			    "%llu missing",
			    an, (unsigned long long)h->epoch,
			    (unsigned long long)seq);
			rc = UCR_EGAP;
			goto leave;
		}
		if ((rc = ucr_entry_decode(&e, v.mv_data, v.mv_size)) != 0) {
			setwhy(vc->why, vc->whylen,
			    "log %s: entry %llu "
			    "undecodable",
			    an, (unsigned long long)seq);
			goto leave;
		}
		rc = (e->seq != seq || e->epoch != h->epoch) ? UCR_EORDER
		    : memcmp(e->prev.data, prev, 32) != 0    ? UCR_ECHAIN
							     : 0;
		ucr__entry__free_unpacked(e, NULL);
		if (rc != 0) {
			setwhy(vc->why, vc->whylen, "log %s: entry %llu: %s",
			    an, (unsigned long long)seq, ucr_strerror(rc));
			goto leave;
		}
		ucr_hash(hash, v.mv_data, v.mv_size);
		memcpy(prev, hash, 32);
		k.mv_data = key;
		k.mv_size = ENTKEY_LEN;
		if (mdb_get(vc->txn, s->sigs, &k, &v) == 0) {
			if (v.mv_size != 8 + UCR_SIG_LEN) {
				rc = UCR_ECORRUPT;
				goto leave;
			}
			ucr_batch_sigmsg(msg, h->author, h->epoch, seq, hash);
			if ((rc = ucr_sig_verify((uint8_t *)v.mv_data + 8,
				 h->author, s->region, "batch", msg,
				 sizeof(msg))) != 0) {
				setwhy(vc->why, vc->whylen,
				    "log %s: batch ending "
				    "at %llu: bad signature",
				    an, (unsigned long long)seq);
				goto leave;
			}
			batches++;
			lastsigned = seq;
		}
	}
	if (h->seq > 0 &&
	    (lastsigned != h->seq || memcmp(prev, h->hash, 32) != 0)) {
		setwhy(vc->why, vc->whylen,
		    "log %s: head %llu not signed or "
		    "does not match its entries",
		    an, (unsigned long long)h->seq);
		rc = UCR_ECHAIN;
		goto leave;
	}
	if (vc->cb)
		rc = vc->cb(h, batches, vc->ctx);
leave:
	if (c)
		mdb_cursor_close(c);
	vc->rc = rc;
	return rc;
}

int
ucr_store_verify(struct ucr_store *s,
    int (*cb)(const struct ucr_head *, uint64_t batches, void *), void *ctx,
    char *why, size_t whylen)
{
	struct verify_ctx vc;
	int rc;

	memset(&vc, 0, sizeof(vc));
	vc.s = s;
	vc.why = why;
	vc.whylen = whylen;
	vc.cb = cb;
	vc.ctx = ctx;
	if ((rc = rd_begin(s, &vc.txn)) != 0)
		return mdb_err(rc);
	/* heads and entries from one snapshot: a writer may run meanwhile */
	rc = heads_each(vc.txn, s, verify_log, &vc);
	mdb_txn_abort(vc.txn);
	return rc;
}

/* ---------------------------------------------------------------- digest */

#define SNAPSHOT_POLL 65536 /* records between two poll(NULL) calls */

/*
 * The view digest's state; with poll, poll(NULL, ctx) every SNAPSHOT_POLL
 * records, whose non-zero return stops the walk.
 */
struct digest_walk {
	crypto_generichash_state st;
	int (*poll)(const struct ucr_head *, void *);
	void *ctx;
	unsigned long n;
};

static int
digest_rec(const struct ucr_rec *r, void *arg)
{
	struct digest_walk *d = arg;
	uint8_t len[2];
	size_t n = strlen(r->key);

	len[0] = n >> 8;
	len[1] = n;
	crypto_generichash_update(&d->st, len, 2);
	crypto_generichash_update(&d->st, (const uint8_t *)r->key, n);
	crypto_generichash_update(&d->st, r->hash, 32);
	if (d->poll != NULL && ++d->n % SNAPSHOT_POLL == 0)
		return d->poll(NULL, d->ctx);
	return 0;
}

/* The view digest of txn's records (see struct digest_walk for poll). */
static int
view_digest_txn(MDB_txn *txn, struct ucr_store *s, uint8_t out[32],
    int (*poll)(const struct ucr_head *, void *), void *ctx)
{
	struct digest_walk d = {.poll = poll, .ctx = ctx};
	static const char tag[] = "ucr/1/view-digest";
	int rc;

	crypto_generichash_init(&d.st, NULL, 0, 32);
	crypto_generichash_update(&d.st, (const uint8_t *)tag, sizeof(tag) - 1);
	if ((rc = rec_walk(txn, s, "", digest_rec, &d)) != 0)
		return rc;
	crypto_generichash_final(&d.st, out, 32);
	return 0;
}

int
ucr_store_view_digest(struct ucr_store *s, uint8_t out[32])
{
	MDB_txn *txn;
	int rc;

	if ((rc = rd_begin(s, &txn)) != 0)
		return mdb_err(rc);
	rc = view_digest_txn(txn, s, out, NULL, NULL);
	mdb_txn_abort(txn);
	return rc;
}

/*
 * The checkpoint's snapshot: heads and the view digest from one read
 * transaction, the digest ucr_store_view_digest's by construction (the
 * same view_digest_txn; tests/common/test_store_snapshot.c holds the two
 * equal). Only s->env and the database handles are read, which nothing
 * but opening and ucr_store_shed changes, so another thread may run it
 * while the store's owner writes (MDB_NOTLS).
 */
int
ucr_store_snapshot(struct ucr_store *s,
    int (*cb)(const struct ucr_head *, void *), void *ctx, uint8_t digest[32])
{
	MDB_txn *txn;
	int rc;

	if ((rc = rd_begin(s, &txn)) != 0)
		return mdb_err(rc);
	if ((rc = cb(NULL, ctx)) == 0 && /* the snapshot is fixed */
	    (rc = heads_each(txn, s, cb, ctx)) == 0)
		rc = view_digest_txn(txn, s, digest, cb, ctx);
	mdb_txn_abort(txn);
	return rc;
}

/* ------------------------------------------------------------ request ids */

/*
 * The ids of recent local writes, in the meta database and in the write's
 * own transaction, so a restart cannot forget a write it made: "rq/" +
 * n (be64, counting the writes that had an id) -> first(8) last(8) id.
 * The keys grow at the right edge of the tree, and the oldest are dropped
 * REQID_PRUNE at a time from its left edge once more than REQID_KEEP are
 * held: a write dirties one leaf for its id (the ring this replaced, a
 * key per id and a slot per write at random places, dirtied four, a
 * seventh of a single write's commit). Finding an id is then a question
 * for memory: struct reqmap, by a hash of the id, gives the n to read
 * back and compare; it is built from the keys when first asked, and
 * again whenever the newest n in the store is not the one it knows (a
 * store written by another process meanwhile). Stores of earlier
 * releases ("req/" + id, "reqslot/NNNN", "reqring") are moved to these
 * keys at the first open for writing (reqid_migrate).
 */
#define REQID_KEEP 4096
#define REQID_PRUNE 64
#define REQID_CAP (REQID_KEEP + REQID_PRUNE) /* most ever held */
#define REQID_BUCKETS 8192
#define RQ_PREFIX "rq/"
#define RQ_KEYLEN (3 + 8)

struct reqmap {
	int built;
	uint64_t lo, hi;              /* the numbers held: lo .. hi - 1 */
	uint32_t head[REQID_BUCKETS]; /* node index + 1, 0: none */
	struct reqnode {
		uint64_t hash, n;
		uint32_t next; /* node index + 1, 0: none */
		int used;
	} node[REQID_CAP]; /* n's node is node[n % REQID_CAP] */
};

static uint64_t
reqid_hash(const uint8_t *id, size_t len)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ id[i]) * 1099511628211ULL;
	return h;
}

static void
rq_key(uint8_t out[RQ_KEYLEN], uint64_t n)
{
	memcpy(out, RQ_PREFIX, 3);
	put64(out + 3, n);
}

static void reqmap_drop(struct reqmap *m, uint64_t n);

static void
reqmap_add(struct reqmap *m, uint64_t n, const uint8_t *id, size_t len)
{
	uint32_t i = (uint32_t)(n % REQID_CAP);
	struct reqnode *e = &m->node[i];
	uint64_t h = reqid_hash(id, len);

	if (e->used) /* held by an n REQID_CAP older (a store with gaps) */
		reqmap_drop(m, e->n);
	e->hash = h;
	e->n = n;
	e->used = 1;
	e->next = m->head[h % REQID_BUCKETS];
	m->head[h % REQID_BUCKETS] = i + 1;
}

static void
reqmap_drop(struct reqmap *m, uint64_t n)
{
	uint32_t i = (uint32_t)(n % REQID_CAP), *p;
	struct reqnode *e = &m->node[i];

	if (!e->used || e->n != n)
		return;
	for (p = &m->head[e->hash % REQID_BUCKETS]; *p != 0;
	     p = &m->node[*p - 1].next)
		if (*p == i + 1) {
			*p = e->next;
			break;
		}
	e->used = 0;
}

/* The first and the next-after-last n held in txn (0, 0: none). */
static int
rq_bounds(MDB_txn *txn, struct ucr_store *s, uint64_t *lo, uint64_t *hi)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	*lo = *hi = 0;
	if ((rc = mdb_cursor_open(txn, s->meta, &c)) != 0)
		return mdb_err(rc);
	/* "rq0" is the first key after every "rq/" one */
	k.mv_data = (void *)"rq0";
	k.mv_size = 3;
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	rc = mdb_cursor_get(c, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
	if (rc == 0 && k.mv_size == RQ_KEYLEN &&
	    memcmp(k.mv_data, RQ_PREFIX, 3) == 0) {
		*hi = get64((uint8_t *)k.mv_data + 3) + 1;
		k.mv_data = (void *)RQ_PREFIX;
		k.mv_size = 3;
		if ((rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE)) == 0)
			*lo = get64((uint8_t *)k.mv_data + 3);
	}
	mdb_cursor_close(c);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : mdb_err(rc);
}

/* Make s->rq describe the ids held in txn. */
static int
reqmap_sync(MDB_txn *txn, struct ucr_store *s)
{
	struct reqmap *m = s->rq;
	MDB_cursor *c;
	MDB_val k, v;
	uint64_t lo, hi;
	int rc, op;

	if ((rc = rq_bounds(txn, s, &lo, &hi)) != 0)
		return rc;
	if (m != NULL && m->built && m->hi == hi && m->lo == lo)
		return 0;
	if (m == NULL && (m = s->rq = malloc(sizeof(*m))) == NULL)
		return UCR_ENOMEM;
	memset(m, 0, sizeof(*m));
	if ((rc = mdb_cursor_open(txn, s->meta, &c)) != 0)
		return mdb_err(rc);
	k.mv_data = (void *)RQ_PREFIX;
	k.mv_size = 3;
	for (op = MDB_SET_RANGE; (rc = mdb_cursor_get(c, &k, &v, op)) == 0;
	     op = MDB_NEXT) {
		if (k.mv_size != RQ_KEYLEN ||
		    memcmp(k.mv_data, RQ_PREFIX, 3) != 0)
			break;
		if (v.mv_size > 16 && v.mv_size <= 16 + REQID_MAX)
			reqmap_add(m, get64((uint8_t *)k.mv_data + 3),
			    (uint8_t *)v.mv_data + 16, v.mv_size - 16);
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return mdb_err(rc);
	m->lo = lo;
	m->hi = hi;
	m->built = 1;
	return 0;
}

/* The write that had id, if it is remembered: 1 and its seqs, else 0. */
static int
reqid_find(MDB_txn *txn, struct ucr_store *s, const uint8_t *id, size_t len,
    uint64_t *first, uint64_t *last)
{
	uint64_t h = reqid_hash(id, len);
	uint8_t key[RQ_KEYLEN];
	const struct reqnode *e;
	uint32_t i;
	MDB_val k, v;
	int rc;

	if ((rc = reqmap_sync(txn, s)) != 0)
		return rc;
	for (i = s->rq->head[h % REQID_BUCKETS]; i != 0; i = e->next) {
		e = &s->rq->node[i - 1];
		if (e->hash != h)
			continue;
		rq_key(key, e->n);
		k.mv_data = key;
		k.mv_size = RQ_KEYLEN;
		if ((rc = mdb_get(txn, s->meta, &k, &v)) != 0) {
			if (rc == MDB_NOTFOUND)
				continue;
			return mdb_err(rc);
		}
		if (v.mv_size == 16 + len &&
		    memcmp((uint8_t *)v.mv_data + 16, id, len) == 0) {
			*first = get64(v.mv_data);
			*last = get64((uint8_t *)v.mv_data + 8);
			return 1;
		}
	}
	return 0;
}

/*
 * Remember the write's id (s->reqid) in txn: the next n, and the oldest
 * REQID_PRUNE dropped once more than REQID_KEEP are held. What memory
 * must learn after the commit is left in s->rqadd and s->rqdrop.
 */
static int
reqid_put_txn(MDB_txn *txn, struct ucr_store *s, uint64_t first, uint64_t last)
{
	uint8_t key[RQ_KEYLEN], val[16 + REQID_MAX];
	MDB_cursor *c;
	MDB_val k, v;
	uint64_t lo, hi, n;
	int rc;

	s->rqadd = 0;
	s->rqdrop = 0;
	if ((rc = rq_bounds(txn, s, &lo, &hi)) != 0)
		return rc;
	put64(val, first);
	put64(val + 8, last);
	memcpy(val + 16, s->reqid, s->reqidlen);
	rq_key(key, hi);
	k.mv_data = key;
	k.mv_size = RQ_KEYLEN;
	v.mv_data = val;
	v.mv_size = 16 + s->reqidlen;
	if ((rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0)
		return mdb_err(rc);
	s->rqadd = 1;
	s->rqn = hi;
	if (hi + 1 - lo < REQID_CAP)
		return 0;
	/* the REQID_PRUNE oldest, side by side at the left edge */
	if ((rc = mdb_cursor_open(txn, s->meta, &c)) != 0)
		return mdb_err(rc);
	for (n = 0; n < REQID_PRUNE; n++) {
		k.mv_data = (void *)RQ_PREFIX;
		k.mv_size = 3;
		if ((rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE)) != 0 ||
		    k.mv_size != RQ_KEYLEN ||
		    memcmp(k.mv_data, RQ_PREFIX, 3) != 0 ||
		    get64((uint8_t *)k.mv_data + 3) >= hi)
			break;
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return mdb_err(rc);
	s->rqdrop = lo;
	s->rqdropn = n;
	return 0;
}

/* After the commit of reqid_put_txn's write: memory learns it. */
static void
reqid_committed(struct ucr_store *s)
{
	struct reqmap *m = s->rq;
	uint64_t i;

	if (!s->rqadd || m == NULL || !m->built || m->hi != s->rqn) {
		/* not built, or behind: the next question builds it */
		if (m != NULL && s->rqadd)
			m->built = 0;
		s->rqadd = 0;
		return;
	}
	for (i = 0; i < s->rqdropn; i++)
		reqmap_drop(m, s->rqdrop + i);
	if (s->rqdropn > 0)
		m->lo = s->rqdrop + s->rqdropn;
	reqmap_add(m, s->rqn, s->reqid, s->reqidlen);
	m->hi = s->rqn + 1;
	s->rqadd = 0;
	s->rqdropn = 0;
}

/*
 * A store of an earlier release: its ring ("reqring" -> the next slot,
 * "reqslot/NNNN" -> id, "req/" + id -> first last) becomes "rq/" keys in
 * the ring's order, oldest first, and its keys are deleted. In the
 * transaction that opens the store for writing.
 */
static int
reqid_migrate(MDB_txn *txn, struct ucr_store *s)
{
	uint8_t key[4 + REQID_MAX], rk[RQ_KEYLEN], val[16 + REQID_MAX];
	char slot[24];
	MDB_cursor *c;
	MDB_val k, v;
	uint64_t next, j, n = 0;
	int rc;

	k.mv_data = (void *)"reqring";
	k.mv_size = 7;
	if ((rc = mdb_get(txn, s->meta, &k, &v)) == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return mdb_err(rc);
	next = v.mv_size == 8 ? get64(v.mv_data) : 0;
	/* the old ring held 4096 slots */
	for (j = next > 4096 ? next - 4096 : 0; j < next; j++) {
		MDB_val ik, iv;

		snprintf(slot, sizeof(slot), "reqslot/%04u",
		    (unsigned)(j % 4096));
		k.mv_data = slot;
		k.mv_size = strlen(slot);
		if (mdb_get(txn, s->meta, &k, &v) != 0 || v.mv_size == 0 ||
		    v.mv_size > REQID_MAX)
			continue;
		memcpy(key, "req/", 4);
		memcpy(key + 4, v.mv_data, v.mv_size);
		memcpy(val + 16, v.mv_data, v.mv_size);
		ik.mv_data = key;
		ik.mv_size = 4 + v.mv_size;
		if (mdb_get(txn, s->meta, &ik, &iv) != 0 || iv.mv_size != 16)
			continue;
		memcpy(val, iv.mv_data, 16);
		rq_key(rk, n++);
		ik.mv_data = rk;
		ik.mv_size = RQ_KEYLEN;
		iv.mv_data = val;
		iv.mv_size = 16 + v.mv_size;
		if ((rc = mdb_put(txn, s->meta, &ik, &iv, 0)) != 0)
			return mdb_err(rc);
	}
	/* every "req/", "reqring" and "reqslot/" key: all begin "req" */
	if ((rc = mdb_cursor_open(txn, s->meta, &c)) != 0)
		return mdb_err(rc);
	for (;;) {
		k.mv_data = (void *)"req";
		k.mv_size = 3;
		if ((rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE)) != 0 ||
		    k.mv_size < 3 || memcmp(k.mv_data, "req", 3) != 0)
			break;
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
	}
	mdb_cursor_close(c);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : mdb_err(rc);
}

/* ucr_store_append_stream, checked as append_run's. */
static int
append_stream(struct ucr_store *s, const struct ucr_key *key, const uint8_t *id,
    size_t idlen, ucr_put_next_fn next, void *ctx, size_t hint, int checked,
    uint64_t *first, uint64_t *last, int *replayed, size_t *bad, char *why,
    size_t whylen)
{
	uint64_t f = 0, l = 0;
	MDB_txn *txn;
	int rc, arm = s->jarm;

	s->jarm = 0; /* armed for this write only, whatever becomes of it */
	*replayed = 0;
	if (bad)
		*bad = 0;
	if (idlen > REQID_MAX) {
		setwhy(why, whylen, "request id longer than %d bytes",
		    REQID_MAX);
		return UCR_EINVAL;
	}
	if (s->jtxn != NULL)
		(void)ucr_store_commit_deferred(s); /* the id may be its */
	if (idlen > 0) {
		if ((rc = rd_begin(s, &txn)) != 0)
			return mdb_err(rc);
		rc = reqid_find(txn, s, id, idlen, &f, &l);
		mdb_txn_abort(txn);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			if (first)
				*first = f;
			if (last)
				*last = l;
			*replayed = 1;
			return 0;
		}
	}
	/* one thread per store: the id rides along to the commit */
	s->reqid = idlen > 0 ? id : NULL;
	s->reqidlen = idlen;
	s->jarm = arm;
	rc = append_run(s, key, next, ctx, hint, checked, first, last, bad, why,
	    whylen);
	s->reqid = NULL;
	s->reqidlen = 0;
	if (rc == UCR_EIO && disk_full(s, rc) == UCR_EDISKFULL) {
		rc = UCR_EDISKFULL;
		setwhy(why, whylen, "%s", ucr_strerror(rc));
	}
	return rc;
}

int
ucr_store_append_stream(struct ucr_store *s, const struct ucr_key *key,
    const uint8_t *id, size_t idlen, ucr_put_next_fn next, void *ctx,
    size_t hint, uint64_t *first, uint64_t *last, int *replayed, size_t *bad,
    char *why, size_t whylen)
{
	return append_stream(s, key, id, idlen, next, ctx, hint, 0, first, last,
	    replayed, bad, why, whylen);
}

int
ucr_store_append_checked(struct ucr_store *s, const struct ucr_key *key,
    const uint8_t *id, size_t idlen, ucr_put_next_fn next, void *ctx,
    size_t hint, uint64_t *first, uint64_t *last, int *replayed, size_t *bad,
    char *why, size_t whylen)
{
	return append_stream(s, key, id, idlen, next, ctx, hint, 1, first, last,
	    replayed, bad, why, whylen);
}

int
ucr_store_append_once(struct ucr_store *s, const struct ucr_key *key,
    const uint8_t *id, size_t idlen, struct ucr_put *puts, size_t n,
    uint64_t *first, uint64_t *last, int *replayed, size_t *bad, char *why,
    size_t whylen)
{
	struct ucr_put_array a = {puts, n, 0};

	return ucr_store_append_stream(s, key, id, idlen, ucr_put_array_next,
	    &a, n, first, last, replayed, bad, why, whylen);
}

/*
 * LMDB reports a short write as EIO, and a full disk often shows only as
 * that: an I/O error on a commit when the store's file system has (almost)
 * no space left is a full disk.
 */
static int
disk_full(struct ucr_store *s, int rc)
{
	struct statvfs sv;
	const char *path;

	if (rc != UCR_EIO || mdb_env_get_path(s->env, &path) != 0 ||
	    statvfs(path, &sv) != 0)
		return rc;
	if ((uint64_t)sv.f_bavail * sv.f_frsize < (1u << 20))
		return UCR_EDISKFULL;
	return rc;
}

/* ---------------------------------------------------------- write journal
 *
 * A write answered on the control socket must be durable when it is
 * answered. LMDB's durable commit syncs twice (the data, then the meta
 * page) and writes a dozen pages; the journal makes the write durable with
 * one write and one fdatasync of one small file that is overwritten in
 * place, so the answer goes out after that and the commit runs after the
 * answer (docs/design.md, "Answer after the journal").
 *
 * The journal holds one record, the last journaled write's: a header (the
 * magic with its version, the body's length, the epoch, first and last
 * seq, the request id's length), the body (the request id, then the signed
 * batch as the store applied it, packed) and BLAKE2b-256 of all before it.
 * Writes are one at a time and each commits before the next begins
 * (wr_begin), so one record is all a crash can leave uncommitted. On open
 * a record that extends this store's own log by exactly its batch is
 * applied as a batch from the network is, with its request id: the same
 * bytes the answer promised, never signed again, so a batch that reached
 * the hub is the one the store gets. A torn record (not answered) fails
 * its hash; an older one is held already; either is left alone.
 */
#define JNL_MAGIC "UCRJNL\0\1" /* 8 bytes; the last one is the version */
#define JNL_HEAD (8 + 4 + 8 + 8 + 8 + 2)
#define JNL_PREALLOC 65536 /* written once, so a record overwrites data */

/* Build the journal's record of the batch b just applied, or mark the
   append as one that cannot be journaled (a second batch, too big). */
static void
journal_pack(struct ucr_store *s, const Ucr__Batch *b)
{
	size_t blen, need;
	uint8_t *p;

	if (s->jlen > 0 || s->jmany) {
		s->jmany = 1;
		return;
	}
	blen = ucr__batch__get_packed_size(b);
	need = JNL_HEAD + s->reqidlen + blen + 32;
	if (need > UCR_STORE_JOURNAL_MAX) {
		s->jmany = 1;
		return;
	}
	if (need > s->jcap) {
		if ((p = realloc(s->jbuf, need)) == NULL) {
			s->jmany = 1;
			return;
		}
		s->jbuf = p;
		s->jcap = need;
	}
	p = s->jbuf;
	memcpy(p, JNL_MAGIC, 8);
	put32(p + 8, (uint32_t)(s->reqidlen + blen));
	put64(p + 12, b->epoch);
	put64(p + 20, b->first_seq);
	put64(p + 28, b->last_seq);
	p[36] = (uint8_t)(s->reqidlen >> 8);
	p[37] = (uint8_t)s->reqidlen;
	if (s->reqidlen > 0)
		memcpy(p + JNL_HEAD, s->reqid, s->reqidlen);
	ucr__batch__pack(b, p + JNL_HEAD + s->reqidlen);
	ucr_hash(p + need - 32, p, need - 32);
	s->jlen = need;
}

/* The record built, written over the journal's and on the disk. */
static int
journal_write(struct ucr_store *s)
{
	ssize_t n;

	n = pwrite(s->jfd, s->jbuf, s->jlen, 0);
	if (n < 0 || (size_t)n != s->jlen)
		return n < 0 && errno == ENOSPC ? UCR_EDISKFULL : UCR_EIO;
	if (fdatasync(s->jfd) != 0)
		return errno == ENOSPC ? UCR_EDISKFULL : UCR_EIO;
	return 0;
}

/*
 * The journal's record, checked: 1 with its parts, or 0 when the file
 * holds none (empty, torn, another version). *buf is the caller's to free.
 */
static int
journal_read(int fd, uint8_t **buf, uint64_t *epoch, uint64_t *first,
    uint64_t *last, const uint8_t **id, size_t *idlen, const uint8_t **batch,
    size_t *blen)
{
	uint8_t head[JNL_HEAD], sum[32], *p;
	size_t body;
	ssize_t n;

	*buf = NULL;
	if (pread(fd, head, JNL_HEAD, 0) != JNL_HEAD ||
	    memcmp(head, JNL_MAGIC, 8) != 0)
		return 0;
	body = get32(head + 8);
	*idlen = ((size_t)head[36] << 8) | head[37];
	if (body > UCR_STORE_JOURNAL_MAX || *idlen > REQID_MAX ||
	    *idlen > body || (p = malloc(JNL_HEAD + body + 32)) == NULL)
		return 0;
	n = pread(fd, p, JNL_HEAD + body + 32, 0);
	if (n < 0 || (size_t)n != JNL_HEAD + body + 32) {
		free(p);
		return 0;
	}
	ucr_hash(sum, p, JNL_HEAD + body);
	if (sodium_memcmp(sum, p + JNL_HEAD + body, 32) != 0) {
		free(p);
		return 0;
	}
	*buf = p;
	*epoch = get64(p + 12);
	*first = get64(p + 20);
	*last = get64(p + 28);
	*id = p + JNL_HEAD;
	*batch = p + JNL_HEAD + *idlen;
	*blen = body - *idlen;
	return 1;
}

/*
 * Apply the journal's record if the store lacks it and it extends the own
 * log exactly (see above): 0 when it is held now or does not apply here,
 * else the error (s->jlost stays set: own writes wait for it).
 */
static int
journal_recover(struct ucr_store *s)
{
	const uint8_t *id, *bytes;
	uint64_t epoch, first, last;
	size_t idlen, blen, n = 0;
	struct decoded d = {NULL, 0};
	Ucr__Batch *b = NULL;
	MDB_txn *txn = NULL;
	struct ucr_head h;
	uint8_t *buf = NULL;
	/* the id of a write in progress (append_run's): kept */
	const uint8_t *oid = s->reqid;
	size_t oidlen = s->reqidlen;
	char why[512];
	int rc;

	if (s->jfd < 0 || s->rdonly || !s->has_identity ||
	    !journal_read(s->jfd, &buf, &epoch, &first, &last, &id, &idlen,
		&bytes, &blen)) {
		s->jlost = 0;
		return 0;
	}
	rc = 0;
	why[0] = '\0';
	if (epoch != s->epoch || first == 0 || last < first)
		goto leave; /* an earlier epoch's: it ended before this one */
	if ((rc = ucr_store_head(s, s->self, s->epoch, &h)) == UCR_ENOTFOUND) {
		memset(&h, 0, sizeof(h));
		rc = 0;
	}
	if (rc != 0 || h.seq >= first)
		goto leave; /* held */
	if (h.seq + 1 != first) {
		log_warnx(
		    "store: %s holds seq %llu-%llu, which does not follow "
		    "this store's seq %llu (a store restored from an older "
		    "copy?): not applied",
		    UCR_STORE_JOURNAL, (unsigned long long)first,
		    (unsigned long long)last, (unsigned long long)h.seq);
		goto leave;
	}
	if ((b = ucr__batch__unpack(NULL, blen, bytes)) == NULL ||
	    b->epoch != epoch || b->first_seq != first || b->last_seq != last ||
	    b->author.len != UCR_PK_LEN ||
	    memcmp(b->author.data, s->self, UCR_PK_LEN) != 0) {
		rc = UCR_ECORRUPT;
		setwhy(why, sizeof(why), "its batch is not the one it names");
		goto fail;
	}
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0) {
		rc = mdb_err(rc);
		goto fail;
	}
	if ((rc = apply_txn(txn, s, b, &d, NULL, &n, why, sizeof(why))) != 0)
		goto fail;
	s->reqid = idlen > 0 ? id : NULL;
	s->reqidlen = idlen;
	if (idlen > 0 && (rc = reqid_put_txn(txn, s, first, last)) != 0)
		goto fail;
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		rc = disk_full(s, mdb_err(rc));
		goto fail;
	}
	if (idlen > 0)
		reqid_committed(s);
	log_info("store: seq %llu-%llu, answered before the daemon stopped "
		 "and not yet committed, applied from %s",
	    (unsigned long long)first, (unsigned long long)last,
	    UCR_STORE_JOURNAL);
	goto leave;
fail:
	if (txn)
		mdb_txn_abort(txn);
	txn = NULL;
	s->rqadd = 0;
	s->rqdropn = 0;
	ucr_text_escape_inplace(why, sizeof(why));
	log_warnx("store: seq %llu-%llu in %s, answered, cannot be applied: "
		  "%s%s%s",
	    (unsigned long long)first, (unsigned long long)last,
	    UCR_STORE_JOURNAL, ucr_strerror(rc), why[0] ? ": " : "", why);
leave:
	/* a record that applies here and is not in: own writes wait */
	s->jlost = rc != 0;
	s->reqid = oid;
	s->reqidlen = oidlen;
	decoded_free(&d);
	if (b)
		ucr__batch__free_unpacked(b, NULL);
	free(buf);
	return rc;
}

/*
 * A read-only open by another process (the CLI reading the store itself)
 * sees every write the daemon has answered: while a daemon holds the
 * store (daemon.lock) and its journal names a write of this store's own
 * log beyond the head, the commit that follows the answer is waited for,
 * at most JNL_WAIT_MS (a daemon whose commit failed: the reader goes on
 * without it).
 */
#define JNL_WAIT_MS 1000

static void
journal_wait(struct ucr_store *s, const char *dir)
{
	const uint8_t *id, *bytes;
	uint64_t epoch, first, last;
	size_t idlen, blen;
	struct ucr_head h;
	uint8_t *buf = NULL;
	char path[4096];
	int fd, lfd = -1, i, rc;

	if (!s->has_identity ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		UCR_STORE_JOURNAL) >= sizeof(path) ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	if (!journal_read(fd, &buf, &epoch, &first, &last, &id, &idlen, &bytes,
		&blen) ||
	    epoch != s->epoch)
		goto leave;
	snprintf(path, sizeof(path), "%s/daemon.lock", dir);
	if ((lfd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    flock(lfd, LOCK_SH | LOCK_NB) == 0)
		goto leave; /* no daemon: nothing follows an answer */
	for (i = 0; i < 2 * JNL_WAIT_MS; i++) {
		if ((rc = ucr_store_head(s, s->self, s->epoch, &h)) ==
		    UCR_ENOTFOUND)
			h.seq = 0;
		else if (rc != 0)
			break;
		if (h.seq >= first)
			break;
		usleep(500);
	}
leave:
	if (lfd >= 0)
		close(lfd); /* and its shared lock, if taken */
	close(fd);
	free(buf);
}

int
ucr_store_journal_open(struct ucr_store *s, char *why, size_t whylen)
{
	static const uint8_t zero[4096];
	char path[4096];
	const char *dir;
	struct stat st;
	off_t at;
	int fd, rc, dfd;

	if (s->rdonly) {
		setwhy(why, whylen, "the store is read-only");
		return UCR_EPERM;
	}
	if (s->jfd >= 0)
		return 0;
	if ((rc = mdb_env_get_path(s->env, &dir)) != 0)
		return mdb_err(rc);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		UCR_STORE_JOURNAL) >= sizeof(path)) {
		setwhy(why, whylen, "store path too long");
		return UCR_EINVAL;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
	    fstat(fd, &st) != 0) {
		setwhy(why, whylen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return UCR_EIO;
	}
	(void)fchmod(fd, 0600);
	s->jfd = fd;
	if ((rc = journal_recover(s)) != 0) {
		setwhy(why, whylen,
		    "%s: an answered write cannot be applied yet: %s", path,
		    ucr_strerror(rc));
		return rc;
	}
	if (st.st_size >= JNL_PREALLOC)
		return 0;
	/* zeros written once: a record then overwrites allocated blocks,
	   and its fdatasync has no file metadata to write */
	for (at = st.st_size; at < JNL_PREALLOC;) {
		size_t len = JNL_PREALLOC - at < (off_t)sizeof(zero)
		    ? (size_t)(JNL_PREALLOC - at)
		    : sizeof(zero);
		ssize_t n = pwrite(fd, zero, len, at);

		if (n <= 0)
			break;
		at += n;
	}
	if (at < JNL_PREALLOC || fsync(fd) != 0) {
		setwhy(why, whylen, "%s: %s", path, strerror(errno));
		journal_close(s);
		return errno == ENOSPC ? UCR_EDISKFULL : UCR_EIO;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(dfd); /* the new file's name */
		close(dfd);
	}
	return 0;
}

void
ucr_store_defer_next(struct ucr_store *s)
{
	s->jarm = s->jfd >= 0 && !s->rdonly;
}

int
ucr_store_deferred(const struct ucr_store *s)
{
	return s->jtxn != NULL || s->jlost;
}

int
ucr_store_commit_deferred(struct ucr_store *s)
{
	MDB_txn *txn = s->jtxn;
	const uint8_t *oid = s->reqid; /* a write in progress keeps its id */
	size_t oidlen = s->reqidlen;
	int rc;

	if (txn == NULL) {
		struct timespec ts;

		if (!s->jlost)
			return 0;
		/* tried again at most once a second (the daemon's ticks) */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (ts.tv_sec < s->jretry_at)
			return UCR_EAGAIN;
		s->jretry_at = ts.tv_sec + 1;
		return journal_recover(s);
	}
	s->jtxn = NULL;
	if ((rc = mdb_txn_commit(txn)) != 0) {
		rc = disk_full(s, mdb_err(rc));
		log_warnx("store: the commit of an answered write failed (%s); "
			  "it is in %s and is applied from there",
		    ucr_strerror(rc), UCR_STORE_JOURNAL);
		s->rqadd = 0; /* the commit remembered nothing */
		s->rqdropn = 0;
		s->jlost = 1;
		return journal_recover(s) == 0 ? 0 : rc;
	}
	s->reqid = s->jreqid;
	s->reqidlen = s->jreqidlen;
	if (s->jreqidlen > 0)
		reqid_committed(s);
	s->rqadd = 0;
	s->rqdropn = 0;
	s->reqid = oid;
	s->reqidlen = oidlen;
	return 0;
}

int
ucr_store_deferred_batch(const struct ucr_store *s, const uint8_t **bytes,
    size_t *len)
{
	size_t idlen;

	if (s->jtxn == NULL || s->jlen < JNL_HEAD + 32)
		return UCR_ENOTFOUND;
	idlen = ((size_t)s->jbuf[36] << 8) | s->jbuf[37];
	*bytes = s->jbuf + JNL_HEAD + idlen;
	*len = s->jlen - JNL_HEAD - idlen - 32;
	return 0;
}

/* Commit what waits, close the file. */
static void
journal_close(struct ucr_store *s)
{
	if (s->jtxn != NULL && s->env != NULL)
		(void)ucr_store_commit_deferred(s);
	if (s->jfd >= 0)
		close(s->jfd);
	s->jfd = -1;
	free(s->jbuf);
	s->jbuf = NULL;
	s->jcap = s->jlen = 0;
}

/* ------------------------------------------------------------ start check */

/*
 * The newest batch of one log: its signature (at the head's seq), and
 * the chain of its entries from the one before its first up to the head's
 * hash. O(entries of that batch).
 */
struct check_ctx {
	struct ucr_store *s;
	MDB_txn *txn;
	char *why;
	size_t whylen;
	uint64_t logs;
};

static int
check_log(const struct ucr_head *h, void *arg)
{
	struct check_ctx *cc = arg;
	struct ucr_store *s = cc->s;
	uint8_t key[ENTKEY_LEN], prev[32], msg[UCR_SIGMSG_LEN];
	uint8_t sig[UCR_SIG_LEN];
	uint64_t first, seq;
	MDB_val k, v;
	char an[17];
	int rc;

	cc->logs++;
	ucr_hex(an, h->author, 8);
	if (h->seq == 0)
		return 0;
	logkey(key, h->author, h->epoch, h->seq);
	k.mv_data = key;
	k.mv_size = ENTKEY_LEN;
	if ((rc = mdb_get(cc->txn, s->sigs, &k, &v)) != 0 ||
	    v.mv_size != 8 + UCR_SIG_LEN) {
		setwhy(cc->why, cc->whylen,
		    "log %s: no signature for its head %llu", an,
		    (unsigned long long)h->seq);
		return rc != 0 && rc != MDB_NOTFOUND ? mdb_err(rc)
						     : UCR_ECORRUPT;
	}
	first = get64(v.mv_data);
	memcpy(sig, (uint8_t *)v.mv_data + 8, UCR_SIG_LEN);
	if (first == 0 || first > h->seq) {
		setwhy(cc->why, cc->whylen, "log %s: bad signature record", an);
		return UCR_ECORRUPT;
	}
	memcpy(prev, zero_hash, 32);
	if (first > 1 &&
	    (rc = entry_hash_at(cc->txn, s, h->author, h->epoch, first - 1,
		 prev, NULL)) != 0) {
		setwhy(cc->why, cc->whylen, "log %s: entry %llu missing", an,
		    (unsigned long long)(first - 1));
		return rc;
	}
	for (seq = first; seq <= h->seq; seq++) {
		Ucr__Entry *e;

		logkey(key, h->author, h->epoch, seq);
		k.mv_data = key;
		k.mv_size = ENTKEY_LEN;
		if ((rc = mdb_get(cc->txn, s->entries, &k, &v)) != 0) {
			setwhy(cc->why, cc->whylen,
			    "log %s: entry %llu missing", an,
			    (unsigned long long)seq);
			return rc == MDB_NOTFOUND ? UCR_ECORRUPT : mdb_err(rc);
		}
		if (ucr_entry_decode(&e, v.mv_data, v.mv_size) != 0) {
			setwhy(cc->why, cc->whylen,
			    "log %s: entry %llu undecodable", an,
			    (unsigned long long)seq);
			return UCR_ECORRUPT;
		}
		rc = e->seq != seq || e->epoch != h->epoch ||
		    e->prev.len != 32 || memcmp(e->prev.data, prev, 32) != 0;
		ucr__entry__free_unpacked(e, NULL);
		if (rc) {
			setwhy(cc->why, cc->whylen,
			    "log %s: entry %llu does not chain", an,
			    (unsigned long long)seq);
			return UCR_ECORRUPT;
		}
		ucr_hash(prev, v.mv_data, v.mv_size);
	}
	if (memcmp(prev, h->hash, 32) != 0) {
		setwhy(cc->why, cc->whylen,
		    "log %s: head %llu does not match its entry", an,
		    (unsigned long long)h->seq);
		return UCR_ECORRUPT;
	}
	ucr_batch_sigmsg(msg, h->author, h->epoch, h->seq, prev);
	if (ucr_sig_verify(sig, h->author, s->region, "batch", msg,
		sizeof(msg)) != 0) {
		setwhy(cc->why, cc->whylen,
		    "log %s: newest batch %llu-%llu: bad signature", an,
		    (unsigned long long)first, (unsigned long long)h->seq);
		return UCR_ECORRUPT;
	}
	/* nothing may lie beyond the head */
	logkey(key, h->author, h->epoch, h->seq + 1);
	k.mv_data = key;
	k.mv_size = ENTKEY_LEN;
	if (mdb_get(cc->txn, s->entries, &k, &v) == 0) {
		setwhy(cc->why, cc->whylen, "log %s: entries beyond head %llu",
		    an, (unsigned long long)h->seq);
		return UCR_ECORRUPT;
	}
	return 0;
}

int
ucr_store_check(struct ucr_store *s, int full, uint64_t *logs, char *why,
    size_t whylen)
{
	struct check_ctx cc;
	int rc;

	if (full)
		return ucr_store_verify(s, NULL, NULL, why, whylen);
	memset(&cc, 0, sizeof(cc));
	cc.s = s;
	cc.why = why;
	cc.whylen = whylen;
	if ((rc = rd_begin(s, &cc.txn)) != 0)
		return mdb_err(rc);
	rc = ucr_store_foreach_head(s, check_log, &cc);
	mdb_txn_abort(cc.txn);
	if (rc == UCR_ECORRUPT && why && *why == '\0')
		setwhy(why, whylen, "a database of the store is damaged");
	if (logs)
		*logs = cc.logs;
	return rc;
}

/* ------------------------------------------------------------ view index */

/*
 * The two figures of the view that depend on every record, kept in the
 * meta database and changed in the same write transaction as the record
 * they count (docs/design.md, "The view at scale"):
 *   view/index                    u32: version; absent = not built
 *   view/live                     u64: current records, not tombstones,
 *                                 with a body (the fold's "records")
 *   view/fu/<area> NUL <year be32> u64: current measurements of area in
 *                                 year whose status is not missing
 *   view/ch/<day be32><kind u8>   u64: current records (tombstones too)
 *                                 whose version's time falls on that UTC
 *                                 day, by ucr_change_kind (version 2)
 * The newest year of an area is then one cursor seek, and what changed
 * since a day one range over the days after it. A store opened for
 * writing builds the index once if it lacks it or has another version
 * (older stores).
 */
#define VX_VERSION 2
#define VX_FU "view/fu/"
#define VX_CH "view/ch/"
#define VX_DAY_MS 86400000ULL

struct vx {
	int live;      /* counts in view/live */
	int fu;        /* counts in view/fu/<area>/<year> */
	char area[32]; /* measurement area when fu */
	unsigned year;
	int ch;          /* counts in view/ch/<day><chkind> */
	uint32_t day;    /* UTC day of the version's HLC time */
	unsigned chkind; /* ucr_change_kind */
};

/* The UTC day (days since 1970-01-01) of an HLC time. */
static uint32_t
vx_day(uint64_t time)
{
	return (uint32_t)((time >> 16) / VX_DAY_MS);
}

/* The counters of record r (NULL: none) whose version has HLC time. */
static void
vx_of(const Ucr__Record *r, uint64_t time, struct vx *x)
{
	size_t n;

	memset(x, 0, sizeof(*x));
	if (r != NULL && r->key != NULL) {
		x->ch = 1;
		x->day = vx_day(time);
		x->chkind = (unsigned)ucr_change_kind(r->key, r->tombstone);
	}
	if (r == NULL || r->tombstone ||
	    r->body_case == UCR__RECORD__BODY__NOT_SET)
		return;
	x->live = 1;
	if (r->body_case == UCR__RECORD__BODY_MEASUREMENT &&
	    r->measurement->area != NULL &&
	    (n = strlen(r->measurement->area)) < sizeof(x->area) &&
	    r->measurement->status != UCR__MEASURE_STATUS__MEASURE_MISSING) {
		x->fu = 1;
		memcpy(x->area, r->measurement->area, n + 1);
		x->year = r->measurement->year;
	}
}

/* Add delta to the u64 counter under key k; a counter at 0 is deleted. */
static int
vx_count(MDB_txn *txn, struct ucr_store *s, MDB_val *k, int64_t delta)
{
	MDB_val v;
	uint8_t buf[8];
	uint64_t n = 0;
	int rc;

	rc = mdb_get(txn, s->meta, k, &v);
	if (rc == 0 && v.mv_size == 8)
		n = get64(v.mv_data);
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return mdb_err(rc);
	if (delta < 0 && n < (uint64_t)-delta)
		n = 0; /* never below zero, whatever the history */
	else
		n += delta;
	if (n == 0) {
		rc = mdb_del(txn, s->meta, k, NULL);
		return rc == MDB_NOTFOUND ? 0 : mdb_err(rc);
	}
	put64(buf, n);
	v.mv_data = buf;
	v.mv_size = 8;
	return mdb_err(mdb_put(txn, s->meta, k, &v, 0));
}

/* Room for the counter keys of one struct vx (vx_keys). */
#define VX_KEYBUF (sizeof(VX_FU) + 32 + 4 + sizeof(VX_CH) + 4 + 1)

/* The counter keys of x: view/live, view/fu/<area>/<year> if fu, and
   view/ch/<day><kind> if ch; key has VX_KEYBUF bytes. */
static size_t
vx_keys(const struct vx *x, MDB_val k[3], uint8_t *key)
{
	size_t n = 0, len;

	if (x->live) {
		k[n].mv_data = (void *)"view/live";
		k[n++].mv_size = 9;
	}
	if (x->fu) {
		len = strlen(x->area);
		memcpy(key, VX_FU, sizeof(VX_FU) - 1);
		memcpy(key + sizeof(VX_FU) - 1, x->area, len + 1);
		len += sizeof(VX_FU);
		key[len] = x->year >> 24;
		key[len + 1] = x->year >> 16;
		key[len + 2] = x->year >> 8;
		key[len + 3] = x->year;
		k[n].mv_data = key;
		k[n++].mv_size = len + 4;
		key += len + 4;
	}
	if (x->ch) {
		memcpy(key, VX_CH, sizeof(VX_CH) - 1);
		put32(key + sizeof(VX_CH) - 1, x->day);
		key[sizeof(VX_CH) + 3] = (uint8_t)x->chkind;
		k[n].mv_data = key;
		k[n++].mv_size = sizeof(VX_CH) + 4;
	}
	return n;
}

static int
vx_apply(MDB_txn *txn, struct ucr_store *s, const struct vx *x, int delta)
{
	uint8_t key[VX_KEYBUF];
	MDB_val k[3];
	size_t i, n = vx_keys(x, k, key);
	int rc;

	for (i = 0; i < n; i++)
		if ((rc = vx_count(txn, s, &k[i], delta)) != 0)
			return rc;
	return 0;
}

/* Write the counters' changes gathered in s->vxacc. */
static int
vx_flush(MDB_txn *txn, struct ucr_store *s)
{
	MDB_val k;
	size_t i;
	int rc = 0;

	for (i = 0; i < s->nvxacc && rc == 0; i++) {
		if (s->vxacc[i].delta == 0)
			continue;
		k.mv_data = s->vxacc[i].key;
		k.mv_size = s->vxacc[i].klen;
		rc = vx_count(txn, s, &k, s->vxacc[i].delta);
	}
	s->nvxacc = 0;
	return rc;
}

/* The slot of vxidx for key k: holding its index in vxacc, or empty. */
static size_t
vx_slot(const struct ucr_store *s, const void *k, size_t len)
{
	const uint8_t *p = k;
	uint32_t h = 2166136261u; /* FNV-1a */
	size_t i, j;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	for (i = h & 255; (j = s->vxidx[i]) != 0; i = (i + 1) & 255)
		if (s->vxacc[j - 1].klen == len &&
		    memcmp(s->vxacc[j - 1].key, k, len) == 0)
			break;
	return i;
}

/* Gather a change of x's counters by delta, written by vx_flush. */
static int
vx_add(MDB_txn *txn, struct ucr_store *s, const struct vx *x, int delta)
{
	uint8_t key[VX_KEYBUF];
	MDB_val k[3];
	size_t i, j, slot, n = vx_keys(x, k, key);
	int rc;

	for (i = 0; i < n; i++) {
		/* nothing gathered (after a flush, or a new batch): the
		   index is emptied with it */
		if (s->nvxacc == 0)
			memset(s->vxidx, 0, sizeof(s->vxidx));
		slot = vx_slot(s, k[i].mv_data, k[i].mv_size);
		if (s->vxidx[slot] == 0) {
			if (s->nvxacc ==
			    sizeof(s->vxacc) / sizeof(s->vxacc[0])) {
				if ((rc = vx_flush(txn, s)) != 0)
					return rc;
				memset(s->vxidx, 0, sizeof(s->vxidx));
				slot = vx_slot(s, k[i].mv_data, k[i].mv_size);
			}
			j = s->nvxacc++;
			memcpy(s->vxacc[j].key, k[i].mv_data, k[i].mv_size);
			s->vxacc[j].klen = k[i].mv_size;
			s->vxacc[j].delta = 0;
			s->vxidx[slot] = j + 1;
		}
		s->vxacc[s->vxidx[slot] - 1].delta += delta;
	}
	return 0;
}

/* A record key's current version changes from old (NULL: none) to nr,
   whose HLC time is time. */
static int
vx_update(MDB_txn *txn, struct ucr_store *s, const struct recval *old,
    const Ucr__Record *nr, uint64_t time)
{
	struct vx a, b;
	Ucr__Record *orec = NULL;
	int rc;

	/* in the arena when there is one: apply_txn takes it back after
	   the record */
	if (old != NULL &&
	    ucr_record_decode_with(&orec, old->bytes, old->len,
		s->arena != NULL ? &s->arena->pa : NULL) != 0)
		orec = NULL;
	vx_of(orec, old != NULL ? old->time : 0, &a);
	vx_of(nr, time, &b);
	if (orec != NULL && s->arena == NULL)
		ucr__record__free_unpacked(orec, NULL);
	if (a.live == b.live && a.fu == b.fu && a.year == b.year &&
	    strcmp(a.area, b.area) == 0 && a.ch == b.ch && a.day == b.day &&
	    a.chkind == b.chkind)
		return 0;
	if ((rc = vx_add(txn, s, &a, -1)) != 0)
		return rc;
	return vx_add(txn, s, &b, 1);
}

/* Build the index of a store that has none (made before it existed). */
static int
vx_build(MDB_txn *txn, struct ucr_store *s)
{
	MDB_cursor *c;
	MDB_val k, v;
	struct recval r;
	uint8_t ver[4] = {0, 0, 0, VX_VERSION};
	int rc, op;

	k.mv_data = (void *)"view/index";
	k.mv_size = 10;
	if ((rc = mdb_get(txn, s->meta, &k, &v)) == 0 && v.mv_size == 4 &&
	    get32(v.mv_data) == VX_VERSION)
		return 0;
	if (rc != 0 && rc != MDB_NOTFOUND)
		return mdb_err(rc);
	/* None, or another version: drop every view/ name, count afresh. */
	if ((rc = mdb_cursor_open(txn, s->meta, &c)) != 0)
		return mdb_err(rc);
	k.mv_data = (void *)"view/";
	k.mv_size = 5;
	for (op = MDB_SET_RANGE; (rc = mdb_cursor_get(c, &k, &v, op)) == 0;
	     op = MDB_SET_RANGE) {
		if (k.mv_size < 5 || memcmp(k.mv_data, "view/", 5) != 0)
			break;
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
		k.mv_data = (void *)"view/";
		k.mv_size = 5;
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return mdb_err(rc);
	if ((rc = mdb_cursor_open(txn, s->records, &c)) != 0)
		return mdb_err(rc);
	for (op = MDB_FIRST; (rc = mdb_cursor_get(c, &k, &v, op)) == 0;
	     op = MDB_NEXT) {
		Ucr__Record *rec;
		struct vx x;

		if (rec_parse(&v, &r) != 0 ||
		    ucr_record_decode(&rec, r.bytes, r.len) != 0)
			continue;
		vx_of(rec, r.time, &x);
		ucr__record__free_unpacked(rec, NULL);
		if ((rc = vx_apply(txn, s, &x, 1)) != 0) {
			mdb_cursor_close(c);
			return rc;
		}
	}
	mdb_cursor_close(c);
	if (rc != MDB_NOTFOUND)
		return mdb_err(rc);
	k.mv_data = (void *)"view/index";
	k.mv_size = 10;
	v.mv_data = ver;
	v.mv_size = sizeof(ver);
	return mdb_err(mdb_put(txn, s->meta, &k, &v, 0));
}

/* A read transaction and a cursor over meta, if the store has the view
   index of this version: 0, UCR_ENOTFOUND if not, or another UCR_E*. */
static int
vx_read(struct ucr_store *s, MDB_txn **txn, MDB_cursor **c)
{
	MDB_val k, v;
	int rc;

	if ((rc = rd_begin(s, txn)) != 0)
		return mdb_err(rc);
	k.mv_data = (void *)"view/index";
	k.mv_size = 10;
	if ((rc = mdb_get(*txn, s->meta, &k, &v)) != 0)
		rc = mdb_err(rc);
	else if (v.mv_size != 4 || get32(v.mv_data) != VX_VERSION)
		rc = UCR_ENOTFOUND;
	else if ((rc = mdb_cursor_open(*txn, s->meta, c)) != 0)
		rc = mdb_err(rc);
	if (rc != 0)
		mdb_txn_abort(*txn);
	return rc;
}

int
ucr_store_view_index(struct ucr_store *s, uint64_t *live,
    const char *const *areas, size_t nareas, unsigned maxyear, unsigned *years)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	uint8_t key[sizeof(VX_FU) + 32 + 4];
	size_t i, n;
	int rc;

	*live = 0;
	for (i = 0; i < nareas; i++)
		years[i] = 0;
	if ((rc = vx_read(s, &txn, &c)) != 0)
		return rc;
	k.mv_data = (void *)"view/live";
	k.mv_size = 9;
	if ((rc = mdb_get(txn, s->meta, &k, &v)) == 0 && v.mv_size == 8)
		*live = get64(v.mv_data);
	for (i = 0; i < nareas; i++) {
		/* The last key before "view/fu/<area>\0<maxyear + 1>" is the
		   newest year not after maxyear. */
		if ((n = strlen(areas[i])) >= 32)
			continue;
		memcpy(key, VX_FU, sizeof(VX_FU) - 1);
		memcpy(key + sizeof(VX_FU) - 1, areas[i], n);
		n += sizeof(VX_FU) - 1;
		key[n++] = 0;
		key[n] = (maxyear + 1) >> 24;
		key[n + 1] = (maxyear + 1) >> 16;
		key[n + 2] = (maxyear + 1) >> 8;
		key[n + 3] = (maxyear + 1);
		k.mv_data = key;
		k.mv_size = n + 4;
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		if (rc == MDB_NOTFOUND)
			rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
		else if (rc == 0)
			rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
		if (rc == 0 && k.mv_size == n + 4 &&
		    memcmp(k.mv_data, key, n) == 0)
			years[i] = get32((uint8_t *)k.mv_data + n);
	}
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	return 0;
}

int
ucr_store_changes(struct ucr_store *s, uint32_t from_day,
    uint64_t counts[UCR_CHANGE_NKINDS])
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	uint8_t key[sizeof(VX_CH) - 1 + 4];
	int rc, op;

	memset(counts, 0, UCR_CHANGE_NKINDS * sizeof(*counts));
	if ((rc = vx_read(s, &txn, &c)) != 0)
		return rc;
	/* the first key of from_day: the day without a kind byte */
	memcpy(key, VX_CH, sizeof(VX_CH) - 1);
	put32(key + sizeof(VX_CH) - 1, from_day);
	k.mv_data = key;
	k.mv_size = sizeof(VX_CH) - 1 + 4;
	for (op = MDB_SET_RANGE; (rc = mdb_cursor_get(c, &k, &v, op)) == 0;
	     op = MDB_NEXT) {
		const uint8_t *p = k.mv_data;

		if (k.mv_size != sizeof(VX_CH) + 4 ||
		    memcmp(p, VX_CH, sizeof(VX_CH) - 1) != 0)
			break;
		if (p[sizeof(VX_CH) + 3] < UCR_CHANGE_NKINDS && v.mv_size == 8)
			counts[p[sizeof(VX_CH) + 3]] += get64(v.mv_data);
	}
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : mdb_err(rc);
}

/* Byte order of an LMDB key against a string, as LMDB sorts them. */
static int
vx_keycmp(const MDB_val *k, const char *to, size_t tlen)
{
	size_t n = k->mv_size < tlen ? k->mv_size : tlen;
	int c = memcmp(k->mv_data, to, n);

	return c ? c : (k->mv_size > tlen) - (k->mv_size < tlen);
}

int
ucr_store_foreach_record_range(struct ucr_store *s, const char *from,
    const char *to,
    int (*cb)(const struct ucr_rec *, char *seek, size_t seeklen, void *),
    void *ctx)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	struct ucr_rec out;
	char keybuf[512], seek[512];
	size_t tlen = to ? strlen(to) : 0;
	int rc, op;

	if ((rc = read_cursor(s, s->records, &txn, &c)) != 0)
		return rc;
	snprintf(seek, sizeof(seek), "%s", from ? from : "");
	k.mv_data = seek;
	k.mv_size = strlen(seek);
	op = k.mv_size ? MDB_SET_RANGE : MDB_FIRST;
	while ((rc = mdb_cursor_get(c, &k, &v, op)) == 0) {
		op = MDB_NEXT;
		if (tlen > 0 && vx_keycmp(&k, to, tlen) >= 0)
			break;
		if ((rc = rec_cur(&k, &v, keybuf, &out)) != 0)
			goto leave;
		seek[0] = '\0';
		rc = cb(&out, seek, sizeof(seek), ctx);
		if (rc == UCR_STORE_STOP) {
			rc = 0;
			goto leave;
		}
		if (rc < 0)
			goto leave;
		if (rc == UCR_STORE_SEEK && strcmp(seek, keybuf) > 0) {
			k.mv_data = seek;
			k.mv_size = strlen(seek);
			op = MDB_SET_RANGE;
		}
	}
	rc = (rc == MDB_NOTFOUND || rc == 0) ? 0 : mdb_err(rc);
leave:
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	return rc;
}

/* ---------------------------------------------------------------- rebase */

/* One local entry the hub never accepted: its record, to be re-signed. */
struct stashed {
	uint8_t *rec;
	size_t len;
	uint32_t kind;
};

/* apply_txn, its decoded entries freed at once */
static int
rebase_apply(MDB_txn *txn, struct ucr_store *s, const Ucr__Batch *b,
    size_t *applied, char *why, size_t whylen)
{
	struct decoded d = {NULL, 0};
	int rc;

	rc = apply_txn(txn, s, b, &d, NULL, applied, why, whylen);
	decoded_free(&d);
	return rc;
}

/* Read entries from..to of our own log into st (malloc'd records). */
static int
rebase_stash(MDB_txn *txn, struct ucr_store *s, uint64_t from, uint64_t to,
    struct stashed *st)
{
	uint8_t key[ENTKEY_LEN];
	uint64_t seq;
	MDB_val k, v;
	int rc;

	for (seq = from; seq <= to; seq++) {
		struct stashed *x = &st[seq - from];
		Ucr__Entry *e;

		logkey(key, s->self, s->epoch, seq);
		k.mv_data = key;
		k.mv_size = ENTKEY_LEN;
		if ((rc = mdb_get(txn, s->entries, &k, &v)) != 0)
			return rc == MDB_NOTFOUND ? UCR_ECORRUPT : mdb_err(rc);
		if (ucr_entry_decode(&e, v.mv_data, v.mv_size) != 0)
			return UCR_ECORRUPT;
		x->kind = e->kind;
		x->len = e->record.len;
		x->rec = malloc(x->len ? x->len : 1);
		if (x->rec != NULL)
			memcpy(x->rec, e->record.data, x->len);
		ucr__entry__free_unpacked(e, NULL);
		if (x->rec == NULL)
			return UCR_ENOMEM;
	}
	return 0;
}

/*
 * Cut our own log back to seq keep: its entries and signatures above,
 * and the head to the entry at keep. The records they wrote stay folded
 * until the re-based entries replace them, in the same transaction.
 */
static int
rebase_truncate(MDB_txn *txn, struct ucr_store *s, uint64_t keep, uint64_t top)
{
	uint8_t key[ENTKEY_LEN];
	struct ucr_head h;
	MDB_cursor *c;
	MDB_val k, v;
	uint64_t seq;
	int rc;

	for (seq = keep + 1; seq <= top; seq++) {
		logkey(key, s->self, s->epoch, seq);
		k.mv_data = key;
		k.mv_size = ENTKEY_LEN;
		if ((rc = mdb_del(txn, s->entries, &k, NULL)) != 0)
			return mdb_err(rc);
	}
	if ((rc = mdb_cursor_open(txn, s->sigs, &c)) != 0)
		return mdb_err(rc);
	logkey(key, s->self, s->epoch, keep + 1);
	k.mv_data = key;
	k.mv_size = ENTKEY_LEN;
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size == ENTKEY_LEN &&
	    memcmp(k.mv_data, key, LOGKEY_LEN) == 0) {
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
		/* after a delete, NEXT is the entry that followed it */
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return mdb_err(rc);
	memset(&h, 0, sizeof(h));
	memcpy(h.author, s->self, 32);
	h.epoch = s->epoch;
	h.seq = keep;
	if (keep > 0) {
		MDB_val eb;
		Ucr__Entry *e;

		if ((rc = entry_hash_at(txn, s, s->self, s->epoch, keep, h.hash,
			 &eb)) != 0)
			return rc;
		if (ucr_entry_decode(&e, eb.mv_data, eb.mv_size) != 0)
			return UCR_ECORRUPT;
		h.time = e->time;
		ucr__entry__free_unpacked(e, NULL);
	}
	return head_put(txn, s, &h);
}

/* Append the stashed records to our own log as new signed entries. */
static int
rebase_append(MDB_txn *txn, struct ucr_store *s, const struct ucr_key *key,
    const struct stashed *st, size_t n, char *why, size_t whylen)
{
	Ucr__Batch b = UCR__BATCH__INIT;
	ProtobufCBinaryData *ents = NULL;
	uint8_t prev[32], sig[UCR_SIG_LEN];
	struct ucr_head h;
	uint64_t time;
	size_t done = 0, i, cnt, applied;
	int rc = 0;

	if ((ents = calloc(UCR_MAX_BATCH_ENTRIES, sizeof(*ents))) == NULL)
		return UCR_ENOMEM;
	while (rc == 0 && done < n) {
		cnt = n - done < UCR_MAX_BATCH_ENTRIES ? n - done
						       : UCR_MAX_BATCH_ENTRIES;
		if ((rc = head_get(txn, s, s->self, s->epoch, &h)) != 0)
			break;
		memcpy(prev, h.hash, 32);
		time = h.time > s->hlc ? h.time : s->hlc;
		for (i = 0; i < cnt && rc == 0; i++) {
			time = ucr_hlc_next(time);
			rc = ucr_entry_encode((uint8_t **)&ents[i].data,
			    &ents[i].len, s->epoch, h.seq + 1 + i, prev, time,
			    st[done + i].kind, st[done + i].rec,
			    st[done + i].len);
			if (rc == 0)
				ucr_hash(prev, ents[i].data, ents[i].len);
		}
		if (rc == 0) {
			b.epoch = s->epoch;
			b.first_seq = h.seq + 1;
			b.last_seq = h.seq + cnt;
			b.n_entries = cnt;
			b.entries = ents;
			b.signature.data = sig;
			ucr_batch_sign(&b, key, s->region, prev);
			rc = rebase_apply(txn, s, &b, &applied, why, whylen);
			if (rc == 0 && time > s->hlc)
				s->hlc = time;
		}
		for (i = 0; i < cnt; i++) {
			free(ents[i].data);
			ents[i].data = NULL;
		}
		done += cnt;
	}
	free(ents);
	return rc;
}

int
ucr_store_rebase(struct ucr_store *s, const struct ucr_key *key,
    const Ucr__Batch *b, size_t *recovered, size_t *rebased, uint64_t *from,
    char *why, size_t whylen)
{
	MDB_txn *txn = NULL;
	struct stashed *st = NULL;
	struct ucr_head h;
	uint8_t prev[32], last[32], held[32], offered[32];
	uint64_t d, top;
	size_t applied = 0, m = 0, i;
	int rc;

	*recovered = *rebased = 0;
	*from = 0;
	if (s->rdonly)
		return UCR_EPERM;
	if (!s->has_identity || memcmp(key->pk, s->self, 32) != 0 ||
	    b->author.len != 32 || memcmp(b->author.data, s->self, 32) != 0 ||
	    b->epoch != s->epoch) {
		setwhy(why, whylen, "not a batch of this store's own log");
		return UCR_EINVAL;
	}
	if (b->n_entries == 0 || b->first_seq == 0 ||
	    b->last_seq < b->first_seq ||
	    b->last_seq - b->first_seq + 1 != b->n_entries) {
		setwhy(why, whylen, "malformed batch");
		return UCR_EPROTO;
	}
	if ((rc = wr_begin(s, &txn)) != 0)
		return mdb_err(rc);
	rc = head_get(txn, s, s->self, s->epoch, &h);
	if (rc == UCR_ENOTFOUND)
		rc = 0;
	if (rc != 0)
		goto leave;
	if (b->first_seq > h.seq + 1) {
		rc = UCR_EGAP;
		setwhy(why, whylen, "batch starts at %llu, we hold to %llu",
		    (unsigned long long)b->first_seq,
		    (unsigned long long)h.seq);
		goto leave;
	}
	memcpy(prev, zero_hash, 32);
	if (b->first_seq > 1 &&
	    (rc = entry_hash_at(txn, s, s->self, s->epoch, b->first_seq - 1,
		 prev, NULL)) != 0)
		goto leave;
	/* signed by us, and chained onto what we hold before it */
	if ((rc = ucr_batch_verify(b, s->region, prev, last)) != 0) {
		setwhy(why, whylen, "batch %llu-%llu: %s",
		    (unsigned long long)b->first_seq,
		    (unsigned long long)b->last_seq, ucr_strerror(rc));
		goto leave;
	}
	top = b->last_seq < h.seq ? b->last_seq : h.seq;
	for (d = b->first_seq; d <= top; d++) {
		const ProtobufCBinaryData *e = &b->entries[d - b->first_seq];

		if ((rc = entry_hash_at(txn, s, s->self, s->epoch, d, held,
			 NULL)) != 0)
			goto leave;
		ucr_hash(offered, e->data, e->len);
		if (memcmp(held, offered, 32) != 0)
			break;
	}
	if (d > h.seq) {
		/* we hold a prefix of it: our log simply grows */
		rc = rebase_apply(txn, s, b, &applied, why, whylen);
		goto commit;
	}
	if (d > b->last_seq) {
		rc = UCR_EDUP; /* the same as ours; any difference is later */
		goto leave;
	}
	/* d: the first seq where the hub's entry differs from ours */
	m = (size_t)(h.seq - d + 1);
	if ((st = calloc(m, sizeof(*st))) == NULL) {
		rc = UCR_ENOMEM;
		goto leave;
	}
	if ((rc = rebase_stash(txn, s, d, h.seq, st)) != 0 ||
	    (rc = rebase_truncate(txn, s, d - 1, h.seq)) != 0 ||
	    (rc = rebase_apply(txn, s, b, &applied, why, whylen)) != 0 ||
	    (rc = rebase_append(txn, s, key, st, m, why, whylen)) != 0)
		goto leave;
	*from = d;
commit:
	if (rc != 0)
		goto leave;
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		rc = disk_full(s, mdb_err(rc));
		setwhy(why, whylen, "commit: %s", ucr_strerror(rc));
		goto leave;
	}
	*recovered = applied;
	*rebased = m;
leave:
	if (txn)
		mdb_txn_abort(txn);
	for (i = 0; st && i < m; i++)
		free(st[i].rec);
	free(st);
	return rc;
}
