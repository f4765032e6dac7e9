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
