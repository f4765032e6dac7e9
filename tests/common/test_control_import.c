/*
 * test_control_import.c: the streamed import on the control socket
 * (ImportChunk): chunks staged under one id and committed in one
 * transaction; a bad record, an abort, an unknown id or a second import
 * leave the store as it was. The staged records are in a file of the
 * store's folder, 0600, removed with the import whatever ends it.
 */
#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "control.h"
#include "storeutil.h"

static char *dir;
static struct ucr_key *key;
static struct ucr_store *store;
static struct ucr_control ctl;
static char mnt[600]; /* a small tmpfs mounted by a test, or "" */

static void
setup(void)
{
	cr_assert_eq(ucr_crypto_init(), 0);
	dir = tu_tempdir();
	cr_assert_eq(ucr_key_generate(&key), 0);
	store = su_open(dir, "node", key, "2403", NULL, (size_t)256 << 20);
	memset(&ctl, 0, sizeof(ctl));
	ctl.store = store;
	ctl.key = key;
	ctl.owner = "2403";
}

static void
teardown(void)
{
	ucr_control_close(&ctl);
	ucr_store_free(store);
	if (*mnt)
		umount2(mnt, MNT_DETACH);
	ucr_key_free(key);
	tu_rmrf(dir);
	free(dir);
}

TestSuite(control_import, .init = setup, .fini = teardown, .timeout = 120);

/*
 * Send one chunk of network records from..to-1 (a bad one at index bad,
 * or -1); the reply (caller frees).
 */
static Ucr__Reply *
chunk(uint64_t id, int from, int to, int bad, int commit, int abort_)
{
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__ImportChunk ch = UCR__IMPORT_CHUNK__INIT;
	Ucr__Put *puts = calloc(to - from + 1, sizeof(*puts));
	Ucr__Put **pp = calloc(to - from + 1, sizeof(*pp));
	Ucr__Reply *rep;
	uint8_t *buf, *out;
	size_t len, outlen;
	int i;

	cr_assert(puts != NULL && pp != NULL);
	for (i = from; i < to; i++) {
		Ucr__Record *r = su_network("2403", i);

		if (i == bad) {
			free(r->network->joined);
			r->network->joined = strdup("2009-02-30");
		}
		ucr__put__init(&puts[i - from]);
		puts[i - from].record = r;
		pp[i - from] = &puts[i - from];
	}
	ch.id = id;
	ch.puts = pp;
	ch.n_puts = to - from;
	ch.commit = commit;
	ch.abort = abort_;
	req.body_case = UCR__REQUEST__BODY_IMPORT;
	req.import = &ch;
	len = ucr__request__get_packed_size(&req);
	buf = malloc(len ? len : 1);
	ucr__request__pack(&req, buf);
	cr_assert_eq(ucr_control_handle(&ctl, buf, len, &out, &outlen), 0);
	rep = ucr__reply__unpack(NULL, outlen, out);
	cr_assert_not_null(rep);
	free(out);
	free(buf);
	for (i = from; i < to; i++)
		ucr__record__free_unpacked(puts[i - from].record, NULL);
	free(puts);
	free(pp);
	return rep;
}

/* The staging file of the store in dir/sub: 1 and its mode, or 0. */
static int
staged_file(const char *sub, mode_t *mode)
{
	char path[700];
	struct stat sb;

	cr_assert_lt(snprintf(path, sizeof(path), "%s/%s/import.stage", dir,
			 sub),
	    (int)sizeof(path));
	if (stat(path, &sb) != 0) {
		cr_assert_eq(errno, ENOENT);
		return 0;
	}
	if (mode)
		*mode = sb.st_mode & 07777;
	return 1;
}

Test(control_import, chunks_commit_in_one_transaction)
{
	Ucr__Reply *rep;
	uint64_t id;
	int i;

	rep = chunk(0, 0, 5000, -1, 0, 0);
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	id = rep->import_id;
	cr_assert_neq(id, 0);
	cr_assert_eq(rep->staged, 5000);
	ucr__reply__free_unpacked(rep, NULL);
	for (i = 1; i < 3; i++) {
		rep = chunk(id, i * 5000, (i + 1) * 5000, -1, 0, 0);
		cr_assert_eq(rep->code, 0, "%s", rep->message);
		ucr__reply__free_unpacked(rep, NULL);
		cr_assert_eq(su_records(store), 0, "staged, not written");
	}
	rep = chunk(id, 15000, 15001, -1, 1, 0);
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	cr_assert_eq(rep->first_seq, 1);
	cr_assert_eq(rep->last_seq, 15001);
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert_eq(su_records(store), 15001);
	cr_assert_eq(ucr_store_verify(store, NULL, NULL, NULL, 0), 0);
	/* the store was opened again after the commit (ucr_store_shed): it
	 * keeps its identity and its clock, and takes the next write */
	{
		uint64_t epoch, t = ucr_store_time_next(store, 0);
		char owner[16];

		cr_assert_eq(ucr_store_shed(store), 0);
		cr_assert_gt(ucr_store_time_next(store, 0), t);
		cr_assert_eq(ucr_store_identity(store, NULL, &epoch, owner,
				 sizeof(owner)),
		    0);
		cr_assert_str_eq(owner, "2403");
		cr_assert_eq(su_append(store, key, su_network("2403", 20000)),
		    0);
		cr_assert_eq(su_records(store), 15002);
	}
	/* the import is over: its id is unknown now */
	rep = chunk(id, 0, 1, -1, 1, 0);
	cr_assert_eq(rep->code, UCR_ENOTFOUND);
	ucr__reply__free_unpacked(rep, NULL);
}

Test(control_import, bad_record_ends_the_import)
{
	Ucr__Reply *rep;
	uint64_t id;

	rep = chunk(0, 0, 100, -1, 0, 0);
	id = rep->import_id;
	ucr__reply__free_unpacked(rep, NULL);
	rep = chunk(id, 100, 200, 150, 0, 0);
	cr_assert_eq(rep->code, UCR_ESCHEMA);
	cr_assert(strstr(rep->message, "record 151") != NULL, "%s",
	    rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	rep = chunk(id, 200, 201, -1, 1, 0);
	cr_assert_eq(rep->code, UCR_ENOTFOUND, "the import went on");
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert_eq(su_records(store), 0);
}

Test(control_import, refusal_at_commit_stores_nothing)
{
	Ucr__Reply *rep;
	uint64_t id;

	/* held already: a create at the commit is refused */
	rep = chunk(0, 7, 8, -1, 1, 0);
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	rep = chunk(0, 0, 12000, -1, 0, 0);
	id = rep->import_id;
	ucr__reply__free_unpacked(rep, NULL);
	{
		Ucr__Request req = UCR__REQUEST__INIT;
		Ucr__ImportChunk ch = UCR__IMPORT_CHUNK__INIT;
		Ucr__Put put = UCR__PUT__INIT, *pp = &put;
		Ucr__Record *r = su_network("2403", 7);
		uint8_t *buf, *out;
		size_t len, outlen;

		put.record = r;
		put.mode = UCR__PUT_MODE__PUT_CREATE;
		ch.id = id;
		ch.puts = &pp;
		ch.n_puts = 1;
		ch.commit = 1;
		req.body_case = UCR__REQUEST__BODY_IMPORT;
		req.import = &ch;
		len = ucr__request__get_packed_size(&req);
		buf = malloc(len);
		ucr__request__pack(&req, buf);
		cr_assert_eq(ucr_control_handle(&ctl, buf, len, &out, &outlen),
		    0);
		rep = ucr__reply__unpack(NULL, outlen, out);
		free(out);
		free(buf);
		ucr__record__free_unpacked(r, NULL);
	}
	cr_assert_eq(rep->code, UCR_EEXIST, "%s", rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert_eq(su_records(store), 1);
	cr_assert(!staged_file("node", NULL));
}

Test(control_import, one_import_at_a_time_and_abort)
{
	Ucr__Reply *rep;
	uint64_t id;

	rep = chunk(0, 0, 10, -1, 0, 0);
	id = rep->import_id;
	ucr__reply__free_unpacked(rep, NULL);
	rep = chunk(0, 0, 10, -1, 0, 0);
	cr_assert_eq(rep->code, UCR_EAGAIN, "a second import started");
	ucr__reply__free_unpacked(rep, NULL);
	rep = chunk(id, 10, 10, -1, 0, 1);
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert_null(ctl.import);
	rep = chunk(0, 0, 10, -1, 1, 0);
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert_eq(su_records(store), 10);
}

Test(control_import, staging_file_is_private_and_goes_with_the_import)
{
	Ucr__Reply *rep;
	uint64_t id;
	mode_t mode = 0;

	/* committed */
	rep = chunk(0, 0, 100, -1, 0, 0);
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	id = rep->import_id;
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert(staged_file("node", &mode));
	cr_assert_eq(mode, 0600, "mode %o", (unsigned)mode);
	rep = chunk(id, 100, 101, -1, 1, 0);
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert(!staged_file("node", NULL));
	cr_assert_eq(su_records(store), 101);
	/* aborted */
	rep = chunk(0, 200, 300, -1, 0, 0);
	id = rep->import_id;
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert(staged_file("node", NULL));
	rep = chunk(id, 0, 0, -1, 0, 1);
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert(!staged_file("node", NULL));
	/* refused at a chunk */
	rep = chunk(0, 200, 300, -1, 0, 0);
	id = rep->import_id;
	ucr__reply__free_unpacked(rep, NULL);
	rep = chunk(id, 300, 400, 350, 0, 0);
	cr_assert_eq(rep->code, UCR_ESCHEMA);
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert(!staged_file("node", NULL));
	cr_assert_eq(su_records(store), 101);
}

Test(control_import, idle_import_dropped_with_its_file)
{
	Ucr__Reply *rep;
	uint64_t id, id2;

	ctl.import_idle_s = 2;
	rep = chunk(0, 0, 6000, -1, 0, 0);
	id = rep->import_id;
	ucr__reply__free_unpacked(rep, NULL);
	ucr_control_tick(&ctl);
	cr_assert_not_null(ctl.import, "not idle yet");
	sleep(3);
	ucr_control_tick(&ctl);
	cr_assert_null(ctl.import);
	cr_assert(!staged_file("node", NULL));
	rep = chunk(id, 0, 1, -1, 1, 0);
	cr_assert_eq(rep->code, UCR_ENOTFOUND, "%s", rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	/* an idle import gives way to a new one, its file replaced */
	rep = chunk(0, 0, 6000, -1, 0, 0);
	id = rep->import_id;
	ucr__reply__free_unpacked(rep, NULL);
	sleep(3);
	rep = chunk(0, 0, 10, -1, 0, 0);
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	id2 = rep->import_id;
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert_neq(id2, id);
	rep = chunk(id2, 10, 11, -1, 1, 0);
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	cr_assert_eq(rep->last_seq, 11, "only the new import's records");
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert(!staged_file("node", NULL));
	cr_assert_eq(su_records(store), 11);
}

/* A client that keeps sending chunks does not hold the import for ever. */
Test(control_import, import_open_too_long_dropped_with_its_file)
{
	Ucr__Reply *rep;
	uint64_t id;
	int i;

	ctl.import_max_s = 3;
	rep = chunk(0, 0, 100, -1, 0, 0);
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	id = rep->import_id;
	ucr__reply__free_unpacked(rep, NULL);
	/* a chunk a second: never idle, but open for longer than 3 s */
	for (i = 1; i <= 2; i++) {
		sleep(1);
		rep = chunk(id, 100 * i, 100 * i + 100, -1, 0, 0);
		cr_assert_eq(rep->code, 0, "chunk %d: %s", i, rep->message);
		ucr__reply__free_unpacked(rep, NULL);
		ucr_control_tick(&ctl);
		cr_assert_not_null(ctl.import, "dropped after %d s", i);
	}
	cr_assert(staged_file("node", NULL));
	sleep(2);
	/* its next chunk, even a commit, finds it gone, and so does a tick */
	rep = chunk(id, 300, 400, -1, 1, 0);
	cr_assert_eq(rep->code, UCR_ENOTFOUND, "%s", rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert_null(ctl.import);
	cr_assert(!staged_file("node", NULL));
	cr_assert_eq(su_records(store), 0, "nothing of it stored");
	/* the tick alone drops one open too long */
	rep = chunk(0, 0, 100, -1, 0, 0);
	id = rep->import_id;
	ucr__reply__free_unpacked(rep, NULL);
	ucr_control_tick(&ctl);
	cr_assert_not_null(ctl.import);
	sleep(4);
	ctl.import_idle_s = 60;
	ucr_control_tick(&ctl);
	cr_assert_null(ctl.import);
	cr_assert(!staged_file("node", NULL));
	/* and a new import is taken at once */
	rep = chunk(0, 0, 10, -1, 1, 0);
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert_eq(su_records(store), 10);
}

Test(control_import, stale_staging_file_removed_at_start)
{
	char path[700];
	FILE *f;

	snprintf(path, sizeof(path), "%s/node/import.stage", dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs("left by a crash", f);
	fclose(f);
	ucr_control_open(&ctl);
	cr_assert(!staged_file("node", NULL));
}

/*
 * A store holding one record on a small tmpfs mounted at dir/small
 * (removed by the teardown); NULL with the test skipped where no tmpfs
 * can be mounted.
 */
static struct ucr_store *
small_store(const char *opts, size_t map)
{
	struct ucr_store *small;

	if (geteuid() != 0) {
		cr_skip_test("disk full: needs root to mount a small tmpfs");
		return NULL;
	}
	snprintf(mnt, sizeof(mnt), "%s/small", dir);
	cr_assert_eq(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, opts) != 0) {
		mnt[0] = '\0';
		cr_skip_test("disk full: cannot mount a tmpfs here (%s)",
		    strerror(errno));
		return NULL;
	}
	small = su_open(mnt, "store", key, "2403", NULL, map);
	cr_assert_eq(su_append(small, key, su_network("2403", 1)), 0);
	return small;
}

Test(control_import, disk_full_while_staging_refuses_the_import)
{
	struct ucr_store *small;
	struct ucr_control c2;
	Ucr__Reply *rep;
	char sub[700];
	uint64_t id = 0;
	int i, code = 0;

	if ((small = small_store("size=2m", (size_t)1 << 20)) == NULL)
		return;
	cr_assert_eq(tu_run(NULL, NULL,
			 "dd if=/dev/zero of='%s/filler' bs=1k count=1400 "
			 "2>/dev/null",
			 mnt),
	    0);
	/* the chunks go to the small store's control state */
	c2 = ctl;
	ctl.store = small;
	for (i = 0; i < 40 && code == 0; i++) {
		rep = chunk(id, i * 5000, (i + 1) * 5000, -1, 0, 0);
		code = rep->code;
		if (code == 0)
			id = rep->import_id;
		else
			cr_assert(strstr(rep->message, "cannot stage") != NULL,
			    "%s", rep->message);
		ucr__reply__free_unpacked(rep, NULL);
	}
	ctl = c2;
	cr_assert_eq(code, UCR_EDISKFULL, "code %d after %d chunks", code, i);
	snprintf(sub, sizeof(sub), "small/store");
	cr_assert(!staged_file(sub, NULL), "the file went with the import");
	cr_assert_eq(su_records(small), 1, "nothing stored changed");
	ucr_store_free(small);
}

Test(control_import, staging_leaves_the_store_its_room)
{
	struct ucr_store *small;
	struct ucr_control c2;
	Ucr__Reply *rep;
	struct statvfs sv;
	uint64_t id = 0, fill;
	int i, code = 0, written = 1;

	if ((small = small_store("size=8m", (size_t)4 << 20)) == NULL)
		return;
	/* room for three flushes of the 1 MiB buffer and 200 KiB */
	cr_assert_eq(statvfs(mnt, &sv), 0);
	fill = (uint64_t)sv.f_bavail * sv.f_frsize - ((3 << 20) + (200 << 10));
	cr_assert_eq(tu_run(NULL, NULL,
			 "dd if=/dev/zero of='%s/filler' bs=4k count=%llu "
			 "2>/dev/null",
			 mnt, (unsigned long long)fill / 4096),
	    0);
	c2 = ctl;
	ctl.store = small;
	/* a write to the store between chunks always finds room */
	for (i = 0; i < 60 && code == 0; i++) {
		rep = chunk(id, i * 5000, (i + 1) * 5000, -1, 0, 0);
		code = rep->code;
		if (code == 0)
			id = rep->import_id;
		ucr__reply__free_unpacked(rep, NULL);
		/* the staging file left the store the last sixteenth (512
		   KiB) at its last write; the writes since took a little:
		   a third flush, which would leave 200 KiB, is refused */
		cr_assert_eq(statvfs(mnt, &sv), 0);
		cr_assert_geq((uint64_t)sv.f_bavail * sv.f_frsize,
		    (uint64_t)(512 - 128) << 10, "%d chunks staged", i + 1);
		cr_assert_eq(su_append(small, key,
				 su_network("2403", 1000000 + i)),
		    0, "a write with %d chunks staged", i + 1);
		written++;
	}
	ctl = c2;
	cr_assert_eq(code, UCR_EDISKFULL, "code %d after %d chunks", code, i);
	cr_assert(!staged_file("small/store", NULL));
	cr_assert_eq(su_records(small), written);
	ucr_store_free(small);
}

/* Send one chunk of the puts pp[0..n-1]; the reply (caller frees). */
static Ucr__Reply *
send_puts(uint64_t id, Ucr__Put **pp, size_t n, int commit)
{
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__ImportChunk ch = UCR__IMPORT_CHUNK__INIT;
	Ucr__Reply *rep;
	uint8_t *buf, *out;
	size_t len, outlen;

	ch.id = id;
	ch.puts = pp;
	ch.n_puts = n;
	ch.commit = commit;
	req.body_case = UCR__REQUEST__BODY_IMPORT;
	req.import = &ch;
	len = ucr__request__get_packed_size(&req);
	buf = malloc(len ? len : 1);
	ucr__request__pack(&req, buf);
	cr_assert_eq(ucr_control_handle(&ctl, buf, len, &out, &outlen), 0);
	rep = ucr__reply__unpack(NULL, outlen, out);
	cr_assert_not_null(rep);
	free(out);
	free(buf);
	return rep;
}

struct cmp {
	struct ucr_store *other;
	size_t n;
};

static int
same_cb(const struct ucr_rec *r, void *arg)
{
	uint8_t h[32];

	memcpy(arg, r->hash, 32);
	ucr_hash(h, r->bytes, r->len);
	cr_assert_eq(memcmp(h, r->hash, 32), 0, "%s: stored hash", r->key);
	return 0;
}

static int
cmp_cb(const struct ucr_rec *r, void *arg)
{
	struct cmp *c = arg;
	uint8_t h[32], oh[32];
	Ucr__Record *o = NULL;

	ucr_hash(h, r->bytes, r->len);
	cr_assert_eq(memcmp(h, r->hash, 32), 0, "%s: stored hash", r->key);
	cr_assert_eq(ucr_store_get(c->other, r->key, same_cb, oh), 0, "%s",
	    r->key);
	cr_assert_eq(memcmp(oh, r->hash, 32), 0, "%s: other bytes", r->key);
	cr_assert_eq(ucr_store_get(c->other, r->key, su_decode_cb, &o), 0);
	cr_assert_str_eq(o->key, r->key);
	ucr__record__free_unpacked(o, NULL);
	c->n++;
	return 0;
}

/*
 * An import hands the store each record encoded once at its chunk, not
 * the record: what it stores (records, their hashes, a decision's adopted
 * hashes, tombstones, several signed batches) is what a plain append of
 * the same records stores, and the log verifies.
 */
Test(control_import, staged_records_stored_as_a_plain_append_stores_them)
{
	const size_t n = UCR_MAX_BATCH_ENTRIES + 500;
	const char *adopt[1] = {"2403/network/N7"};
	struct ucr_store *plain;
	struct ucr_key *pk;
	struct ucr_put *puts;
	Ucr__Put *wp, **pp;
	Ucr__Reply *rep;
	Ucr__Record *d = NULL;
	uint64_t f, l;
	size_t i, bad;
	char why[256];
	struct cmp c;

	cr_assert_eq(ucr_key_generate(&pk), 0);
	plain = su_open(dir, "plain", pk, "2403", NULL, (size_t)256 << 20);
	puts = calloc(n + 2, sizeof(*puts));
	wp = calloc(n + 2, sizeof(*wp));
	pp = calloc(n + 2, sizeof(*pp));
	cr_assert(puts != NULL && wp != NULL && pp != NULL);
	for (i = 0; i < n + 2; i++) {
		ucr__put__init(&wp[i]);
		pp[i] = &wp[i];
		if (i < n)
			wp[i].record = su_network("2403", (int)i);
		else if (i == n)
			wp[i].record = su_tombstone(5);
		else {
			wp[i].record = su_decision("D1");
			wp[i].mode = UCR__PUT_MODE__PUT_CREATE;
			wp[i].adopt_keys = (char **)adopt;
			wp[i].n_adopt_keys = 1;
		}
		puts[i].record = wp[i].record;
		puts[i].mode = (enum ucr_put_mode)wp[i].mode;
		puts[i].adopt_keys = (const char *const *)wp[i].adopt_keys;
		puts[i].nadopt = wp[i].n_adopt_keys;
	}
	/* two chunks, the second with the tombstone and the decision */
	rep = send_puts(0, pp, n / 2, 0);
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	f = rep->import_id;
	ucr__reply__free_unpacked(rep, NULL);
	rep = send_puts(f, pp + n / 2, n + 2 - n / 2, 1);
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	cr_assert_eq(rep->last_seq, n + 2);
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert_eq(ucr_store_append(plain, pk, puts, n + 2, &f, &l, &bad, why,
			 sizeof(why)),
	    0, "%s", why);
	cr_assert_eq(su_records(store), su_records(plain));
	c.other = plain;
	c.n = 0;
	cr_assert_eq(ucr_store_foreach_record(store, "", cmp_cb, &c), 0);
	cr_assert_eq(c.n, n + 1);
	cr_assert_eq(ucr_store_verify(store, NULL, NULL, NULL, 0), 0);
	cr_assert_eq(ucr_store_verify(plain, NULL, NULL, NULL, 0), 0);
	/* the decision bound N7's hash; N5 is deleted */
	cr_assert_eq(ucr_store_get(store, "2403/decision/D1", su_decode_cb, &d),
	    0);
	cr_assert_eq(d->decision->n_adopts, 1);
	{
		uint8_t h7[32];

		cr_assert_eq(ucr_store_get(store, "2403/network/N7", same_cb,
				 h7),
		    0);
		cr_assert_eq(memcmp(d->decision->adopts[0]->hash.data, h7, 32),
		    0);
	}
	ucr__record__free_unpacked(d, NULL);
	cr_assert_eq(ucr_store_get(store, "2403/network/N5", su_decode_cb, &d),
	    0);
	cr_assert(d->tombstone);
	ucr__record__free_unpacked(d, NULL);
	for (i = 0; i < n + 2; i++)
		ucr__record__free_unpacked(wp[i].record, NULL);
	free(puts);
	free(wp);
	free(pp);
	ucr_store_free(plain);
	ucr_key_free(pk);
}

/*
 * The checks an import's record passes once, at its chunk (schema,
 * owner, mode) and at the commit (create of a key the import wrote
 * already) still refuse it, and nothing is stored.
 */
Test(control_import, own_records_refused_at_the_chunk_and_the_commit)
{
	Ucr__Put put = UCR__PUT__INIT, *pp = &put;
	Ucr__Reply *rep;
	uint64_t id;

	rep = chunk(0, 0, 10, -1, 0, 0);
	id = rep->import_id;
	ucr__reply__free_unpacked(rep, NULL);
	/* another municipality's record */
	put.record = su_network("1280", 3);
	rep = send_puts(id, &pp, 1, 0);
	cr_assert_eq(rep->code, UCR_EOWNER, "%s", rep->message);
	cr_assert(strstr(rep->message, "record 11") != NULL, "%s",
	    rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	ucr__record__free_unpacked(put.record, NULL);
	cr_assert_null(ctl.import);
	/* a bad mode */
	rep = chunk(0, 0, 10, -1, 0, 0);
	id = rep->import_id;
	ucr__reply__free_unpacked(rep, NULL);
	put.record = su_network("2403", 30);
	put.mode = 7;
	rep = send_puts(id, &pp, 1, 0);
	cr_assert_eq(rep->code, UCR_EPROTO, "%s", rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert_null(ctl.import);
	/* a create of a key staged earlier in the same import */
	rep = chunk(0, 0, 10, -1, 0, 0);
	id = rep->import_id;
	ucr__reply__free_unpacked(rep, NULL);
	free(put.record->key);
	put.record->key = strdup("2403/network/N4");
	put.mode = UCR__PUT_MODE__PUT_CREATE;
	rep = send_puts(id, &pp, 1, 1);
	cr_assert_eq(rep->code, UCR_EEXIST, "%s", rep->message);
	cr_assert(strstr(rep->message, "2403/network/N4") != NULL, "%s",
	    rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	ucr__record__free_unpacked(put.record, NULL);
	cr_assert_eq(su_records(store), 0);
	cr_assert(!staged_file("node", NULL));
}

/* Append field tag (length-delimited) with len bytes of p at *o. */
static void
wire_add(uint8_t **o, unsigned field, const uint8_t *p, size_t len)
{
	size_t v = len;

	*(*o)++ = (uint8_t)(field << 3 | 2);
	while (v >= 0x80) {
		*(*o)++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*(*o)++ = (uint8_t)v;
	memcpy(*o, p, len);
	*o += len;
}

/* A one-put import that commits, the put's record field(s) in put. */
static Ucr__Reply *
raw_import(const uint8_t *put, size_t putlen)
{
	uint8_t ch[4096], req[4096], *o, *out;
	Ucr__Reply *rep;
	size_t outlen;

	o = ch;
	wire_add(&o, 2, put, putlen); /* ImportChunk.puts */
	*o++ = 3 << 3;                /* ImportChunk.commit = true */
	*o++ = 1;
	cr_assert_lt((size_t)(o - ch), sizeof(ch) / 2);
	{
		uint8_t *r = req;

		wire_add(&r, 4, ch, (size_t)(o - ch)); /* Request.import */
		cr_assert_eq(ucr_control_handle(&ctl, req, (size_t)(r - req),
				 &out, &outlen),
		    0);
	}
	rep = ucr__reply__unpack(NULL, outlen, out);
	cr_assert_not_null(rep);
	free(out);
	return rep;
}

static int
got_rec(const struct ucr_rec *r, void *ctx)
{
	Ucr__Record **out = ctx;
	uint8_t *copy = malloc(r->len + 4);

	memcpy(copy + 4, r->bytes, r->len);
	memcpy(copy, &(uint32_t){(uint32_t)r->len}, 4);
	*out = (Ucr__Record *)copy;
	return 0;
}

/* The bytes stored for key: malloc'd, 4 bytes of length first. */
static uint8_t *
stored(const char *key, size_t *len)
{
	uint8_t *b = NULL;
	uint32_t n;

	cr_assert_eq(ucr_store_get(store, key, got_rec, &b), 0);
	cr_assert_not_null(b);
	memcpy(&n, b, 4);
	*len = n;
	return b;
}

/* A varint at p: its length, its value in *v. */
static size_t
varint_at(const uint8_t *p, uint64_t *v)
{
	size_t i = 0;

	*v = 0;
	do
		*v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
	while (p[i++] & 0x80);
	return i;
}

/* The length of the field (tag, and value) at p: a varint or bytes. */
static size_t
field_len(const uint8_t *p, size_t left)
{
	uint64_t tag, v;
	size_t n = varint_at(p, &tag);

	cr_assert((tag & 7) == 0 || (tag & 7) == 2, "wire type %d",
	    (int)(tag & 7));
	n += varint_at(p + n, &v);
	if ((tag & 7) == 2)
		n += v;
	cr_assert_leq(n, left);
	return n;
}

/*
 * A staged record is stored as the bytes it came in, not encoded again:
 * a record whose fields come in another order than the encoder's is
 * stored as sent, and decodes to the record checked. A put that gives its
 * record twice (merged by the decoder) is stored as the merged record,
 * encoded.
 */
Test(control_import, staged_record_kept_as_sent_or_encoded_when_merged)
{
	Ucr__Record *r = su_network("2403", 1), *back;
	uint8_t canon[2048], rev[2048], put[4096], *o, *b;
	size_t clen, off, n, blen, cut = 0;
	Ucr__Reply *rep;

	clen = ucr__record__pack(r, canon);
	cr_assert_lt(clen, sizeof(canon));
	/* its top-level fields in reverse order */
	for (off = 0, o = rev + clen; off < clen; off += n) {
		n = field_len(canon + off, clen - off);
		if (cut == 0 && off > 0)
			cut = off; /* after the key: split there below */
		o -= n;
		memcpy(o, canon + off, n);
	}
	cr_assert_eq(o, rev);
	cr_assert_neq(memcmp(rev, canon, clen), 0);
	o = put;
	wire_add(&o, 1, rev, clen); /* Put.record */
	rep = raw_import(put, (size_t)(o - put));
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	b = stored(r->key, &blen);
	cr_assert_eq(blen, clen);
	cr_assert_eq(memcmp(b + 4, rev, clen), 0, "stored as sent");
	back = ucr__record__unpack(NULL, blen, b + 4);
	cr_assert_not_null(back);
	cr_assert_str_eq(back->key, r->key);
	cr_assert_str_eq(back->network->name, r->network->name);
	ucr__record__free_unpacked(back, NULL);
	free(b);

	/* the record in two parts: the decoder merges them */
	free(r->network->name);
	r->network->name = strdup("Merged");
	clen = ucr__record__pack(r, canon);
	o = put;
	wire_add(&o, 1, canon, cut);
	wire_add(&o, 1, canon + cut, clen - cut);
	rep = raw_import(put, (size_t)(o - put));
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	b = stored(r->key, &blen);
	cr_assert_eq(blen, clen);
	cr_assert_eq(memcmp(b + 4, canon, clen), 0, "encoded again");
	free(b);
	ucr__record__free_unpacked(r, NULL);
}

/* Measurement i of 2403: areas, years and statuses that the view index
   counts differently. Caller frees. */
static Ucr__Record *
measure(int i)
{
	static const char *const areas[] = {"2403", "2480", "2401"};
	Ucr__Record *r = calloc(1, sizeof(*r));
	Ucr__Measurement *m = calloc(1, sizeof(*m));
	char key[128];

	ucr__record__init(r);
	ucr__measurement__init(m);
	r->owner = strdup("2403");
	r->body_case = UCR__RECORD__BODY_MEASUREMENT;
	r->measurement = m;
	m->indicator = malloc(16);
	snprintf(m->indicator, 16, "N%05d", 1 + i / 35);
	m->area = strdup(areas[i % 3]);
	m->year = 1990 + (unsigned)(i % 35);
	m->gender = UCR__GENDER__GENDER_T;
	if (i % 7 == 3)
		m->status = UCR__MEASURE_STATUS__MEASURE_MISSING;
	else {
		m->value = calloc(1, sizeof(*m->value));
		ucr__decimal__init(m->value);
		cr_assert_eq(ucr_decimal_parse(m->value, "12.5"), 0);
	}
	cr_assert_eq(ucr_record_make_key(key, sizeof(key), "2403", r, NULL), 0);
	r->key = strdup(key);
	return r;
}

/*
 * A staged record is not decoded again at the commit: the fields read as
 * it is applied (its owner, a measurement's area, year and status) are
 * staged beside it. The view index it leaves is the one a plain append of
 * the same records leaves.
 */
Test(control_import, staged_measurements_index_as_a_plain_append)
{
	const size_t n = 3000;
	static const char *const areas[] = {"2403", "2480", "2401", "2409"};
	unsigned ys[4], yp[4];
	uint64_t ls, lp, f, l;
	struct ucr_store *plain;
	struct ucr_key *pk;
	struct ucr_put *puts;
	Ucr__Put *wp, **pp;
	Ucr__Reply *rep;
	size_t i, bad;
	char why[256];
	struct cmp c;

	cr_assert_eq(ucr_key_generate(&pk), 0);
	plain = su_open(dir, "plain", pk, "2403", NULL, (size_t)256 << 20);
	puts = calloc(n + 1, sizeof(*puts));
	wp = calloc(n + 1, sizeof(*wp));
	pp = calloc(n + 1, sizeof(*pp));
	cr_assert(puts != NULL && wp != NULL && pp != NULL);
	for (i = 0; i < n + 1; i++) {
		ucr__put__init(&wp[i]);
		pp[i] = &wp[i];
		wp[i].record = i < n ? measure((int)i) : su_network("2403", 1);
		puts[i].record = wp[i].record;
	}
	rep = send_puts(0, pp, n / 2, 0);
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	f = rep->import_id;
	ucr__reply__free_unpacked(rep, NULL);
	rep = send_puts(f, pp + n / 2, n + 1 - n / 2, 1);
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert_eq(ucr_store_append(plain, pk, puts, n + 1, &f, &l, &bad, why,
			 sizeof(why)),
	    0, "%s", why);
	c.other = plain;
	c.n = 0;
	cr_assert_eq(ucr_store_foreach_record(store, "", cmp_cb, &c), 0);
	cr_assert_eq(c.n, n + 1);
	cr_assert_eq(ucr_store_view_index(store, &ls, areas, 4, 2100, ys), 0);
	cr_assert_eq(ucr_store_view_index(plain, &lp, areas, 4, 2100, yp), 0);
	cr_assert_eq(ls, n + 1);
	cr_assert_eq(ls, lp);
	for (i = 0; i < 4; i++)
		cr_assert_eq(ys[i], yp[i], "%s: %u, plainly %u", areas[i],
		    ys[i], yp[i]);
	cr_assert_eq(ys[3], 0);
	cr_assert_gt(ys[0], 0);
	for (i = 0; i < n + 1; i++)
		ucr__record__free_unpacked(wp[i].record, NULL);
	free(puts);
	free(wp);
	free(pp);
	ucr_store_free(plain);
	ucr_key_free(pk);
}
