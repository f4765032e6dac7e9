/*
 * test_store_journal.c: the write journal (ucr_store_journal_open,
 * ucr_store_defer_next, ucr_store_commit_deferred). A write armed for it
 * is durable in the journal when the append returns and committed after;
 * a process that dies between the two leaves a store that applies the
 * journaled batch, the same bytes and its request id, when it is opened
 * again. A torn record, garbage, a record the store holds and one that
 * does not follow the store's head are left alone; a journal that cannot
 * be written refuses the write and stores nothing.
 *
 * The crash is a child process that appends and _exits with the write
 * transaction open: what LMDB had not committed is gone, as after kill -9.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "storeutil.h"

static char *dir;
static struct ucr_key *hubk, *nodek;
static int noid; /* jwrite sends no request id */

static void
setup(void)
{
	su_setup(&dir, &hubk, NULL, &nodek, NULL, 0);
}

static void
teardown(void)
{
	su_teardown(dir, hubk, NULL, nodek, NULL);
}

TestSuite(store_journal, .init = setup, .fini = teardown, .timeout = 60);

/* The store "j" of the node key, its journal open. */
static struct ucr_store *
jopen(void)
{
	struct ucr_store *s = su_open(dir, "j", nodek, "2403", hubk->pk, 0);
	char why[256];

	cr_assert_eq(ucr_store_journal_open(s, why, sizeof(why)), 0, "%s", why);
	return s;
}

/* Write network N<i> with request id "req-<i>", armed when defer. */
static int
jwrite(struct ucr_store *s, int i, int defer, uint64_t *first, int *replayed)
{
	Ucr__Record *r = su_network("2403", i);
	struct ucr_put p = {.record = r, .mode = UCR_PUT_UPSERT};
	char id[32], why[256];
	uint64_t f = 0, l = 0;
	size_t bad;
	int rc, rep = 0;

	snprintf(id, sizeof(id), "req-%d", i);
	if (defer)
		ucr_store_defer_next(s);
	rc = ucr_store_append_once(s, nodek, noid ? NULL : (const uint8_t *)id,
	    noid ? 0 : strlen(id), &p, 1, &f, &l, &rep, &bad, why, sizeof(why));
	ucr__record__free_unpacked(r, NULL);
	if (first)
		*first = f;
	if (replayed)
		*replayed = rep;
	return rc;
}

/* The own log's head seq (0: none). */
static uint64_t
head_seq(struct ucr_store *s)
{
	uint8_t pk[32];
	uint64_t epoch;
	char owner[16];
	struct ucr_head h;

	cr_assert_eq(ucr_store_identity(s, pk, &epoch, owner, sizeof(owner)),
	    0);
	if (ucr_store_head(s, pk, epoch, &h) == UCR_ENOTFOUND)
		return 0;
	return h.seq;
}

/* In a child: open "j", write network N<i> armed, die before the commit. */
static void
crash_after_journal(int i)
{
	pid_t pid = fork();
	int st;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct ucr_store *s = jopen();
		uint64_t first = 0;

		if (jwrite(s, i, 1, &first, NULL) != 0 ||
		    !ucr_store_deferred(s))
			_exit(2);
		_exit(0); /* the transaction open: never committed */
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "the child could not journal its write");
}

static void
journal_path(char *buf, size_t len)
{
	snprintf(buf, len, "%s/j/%s", dir, UCR_STORE_JOURNAL);
}

Test(store_journal, deferred_commit)
{
	struct ucr_store *s = jopen();
	uint64_t first;
	int replayed;
	struct stat st;
	char path[512];

	journal_path(path, sizeof(path));
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(jwrite(s, 1, 1, &first, NULL), 0);
	cr_assert_eq(first, 1);
	cr_assert_eq(ucr_store_deferred(s), 1);
	cr_assert_eq(head_seq(s), 0, "not committed yet");
	cr_assert_eq(ucr_store_commit_deferred(s), 0);
	cr_assert_eq(ucr_store_deferred(s), 0);
	cr_assert_eq(head_seq(s), 1);
	/* the request id is remembered once committed */
	cr_assert_eq(jwrite(s, 1, 1, &first, &replayed), 0);
	cr_assert_eq(replayed, 1);
	cr_assert_eq(first, 1);
	cr_assert_eq(ucr_store_deferred(s), 0);
	/* an unarmed write commits at once */
	cr_assert_eq(jwrite(s, 2, 0, &first, NULL), 0);
	cr_assert_eq(ucr_store_deferred(s), 0);
	cr_assert_eq(head_seq(s), 2);
	ucr_store_free(s);
}

/* ms since t0 */
static long
since_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * A reader in another process, opening the store while a daemon holds it
 * (daemon.lock) between an answer and its commit, sees the write: its
 * open waits for the commit.
 */
Test(store_journal, reader_waits_for_the_answered_commit)
{
	struct ucr_store *s;
	char path[512], go;
	int gate[2], st;
	uint64_t first;
	pid_t pid;

	cr_assert_eq(pipe(gate), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct ucr_store *r;
		struct timespec t0;
		long ms;

		close(gate[1]);
		if (read(gate[0], &go, 1) != 1)
			_exit(2);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		snprintf(path, sizeof(path), "%s/j", dir);
		if (ucr_store_open(&r, path, UCR_STORE_RDONLY, 0) != 0)
			_exit(3);
		ms = since_ms(&t0);
		first = head_seq(r);
		ucr_store_free(r);
		/* the commit comes 200 ms after the answer */
		_exit(first == 1 && ms >= 100 ? 0 : 4);
	}
	close(gate[0]);
	snprintf(path, sizeof(path), "%s/j", dir);
	cr_assert_eq(ucr_store_open(&s, path,
			 UCR_STORE_CREATE | UCR_STORE_EXCLUSIVE, 0),
	    0);
	ucr_store_set_region(s, REGION, hubk->pk);
	cr_assert_eq(ucr_store_set_identity(s, nodek->pk, "2403"), 0);
	{
		char why[256];

		cr_assert_eq(ucr_store_journal_open(s, why, sizeof(why)), 0);
	}
	cr_assert_eq(jwrite(s, 1, 1, &first, NULL), 0);
	cr_assert_eq(ucr_store_deferred(s), 1);
	cr_assert_eq(write(gate[1], "g", 1), 1); /* "answered" */
	usleep(200000);
	cr_assert_eq(ucr_store_commit_deferred(s), 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	    "the reader did not wait for the commit (exit %d)",
	    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	close(gate[1]);
	ucr_store_free(s);
}

/* The same request again before the commit: the one write, not two. */
Test(store_journal, retry_before_the_commit_is_the_same_write)
{
	struct ucr_store *s = jopen();
	uint64_t first;
	int replayed;

	cr_assert_eq(jwrite(s, 1, 1, &first, NULL), 0);
	cr_assert_eq(ucr_store_deferred(s), 1);
	cr_assert_eq(jwrite(s, 1, 1, &first, &replayed), 0);
	cr_assert_eq(replayed, 1, "written twice");
	cr_assert_eq(first, 1);
	cr_assert_eq(head_seq(s), 1);
	cr_assert_eq(su_records(s), 1);
	ucr_store_free(s);
}

Test(store_journal, next_write_commits_the_deferred_first)
{
	struct ucr_store *s = jopen();
	uint64_t first;

	cr_assert_eq(jwrite(s, 1, 1, &first, NULL), 0);
	cr_assert_eq(ucr_store_deferred(s), 1);
	/* no commit called: the next write makes it first */
	cr_assert_eq(jwrite(s, 2, 1, &first, NULL), 0);
	cr_assert_eq(first, 2);
	/* and freeing the store commits the last */
	ucr_store_free(s);
	s = su_open(dir, "j", nodek, "2403", hubk->pk, 0);
	cr_assert_eq(head_seq(s), 2);
	cr_assert_eq(su_records(s), 2);
	ucr_store_free(s);
}

Test(store_journal, crash_before_commit_is_recovered)
{
	struct ucr_store *s;
	uint64_t first;
	int replayed;

	s = jopen();
	cr_assert_eq(jwrite(s, 1, 1, &first, NULL), 0);
	ucr_store_free(s);
	crash_after_journal(2);
	/* read-only, no daemon holding it: no wait, and not applied */
	{
		struct timespec t0;
		char path[512];

		snprintf(path, sizeof(path), "%s/j", dir);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		cr_assert_eq(ucr_store_open(&s, path, UCR_STORE_RDONLY, 0), 0);
		cr_assert_lt(since_ms(&t0), 500);
		cr_assert_eq(head_seq(s), 1);
		ucr_store_free(s);
	}
	/* opened without the journal: the crash lost the commit */
	s = su_open(dir, "j", nodek, "2403", hubk->pk, 0);
	cr_assert_eq(head_seq(s), 1);
	ucr_store_free(s);
	/* with it: seq 2 is back, and its request id */
	s = jopen();
	cr_assert_eq(head_seq(s), 2);
	cr_assert_eq(su_records(s), 2);
	cr_assert_eq(jwrite(s, 2, 1, &first, &replayed), 0);
	cr_assert_eq(replayed, 1, "the retried request is the same write");
	cr_assert_eq(first, 2);
	/* opened again: held, not applied twice; writes go on */
	ucr_store_free(s);
	s = jopen();
	cr_assert_eq(head_seq(s), 2);
	cr_assert_eq(jwrite(s, 3, 1, &first, &replayed), 0);
	cr_assert_eq(replayed, 0);
	cr_assert_eq(first, 3);
	ucr_store_free(s);
}

/* Overwrite n bytes of the journal at off with byte (or random, -1). */
static void
journal_poke(off_t off, size_t n, int byte)
{
	char path[512];
	uint8_t buf[4096];
	int fd;

	cr_assert_leq(n, sizeof(buf));
	if (byte < 0)
		randombytes_buf(buf, n);
	else
		memset(buf, byte, n);
	journal_path(path, sizeof(path));
	cr_assert_geq(fd = open(path, O_WRONLY), 0);
	cr_assert_eq(pwrite(fd, buf, n, off), (ssize_t)n);
	close(fd);
}

Test(store_journal, torn_record_is_left_alone)
{
	struct ucr_store *s;
	uint64_t first;

	crash_after_journal(1);
	journal_poke(100, 1, 0x5a); /* inside the batch: the hash fails */
	s = jopen();
	cr_assert_eq(head_seq(s), 0);
	cr_assert_eq(su_records(s), 0);
	/* the store takes writes, seq 1 again (it was never answered) */
	cr_assert_eq(jwrite(s, 7, 1, &first, NULL), 0);
	cr_assert_eq(first, 1);
	cr_assert_eq(ucr_store_commit_deferred(s), 0);
	ucr_store_free(s);
}

Test(store_journal, garbage_is_left_alone)
{
	static const struct {
		off_t off;
		size_t n;
		int byte;
	} pokes[] = {
	    {0, 4096, -1}, /* random bytes */
	    {0, 4096, 0},  /* zeros */
	    {8, 4, 0xff},  /* a body length far too large */
	    {36, 2, 0xff}, /* a request id longer than allowed */
	    {0, 1, 'X'},   /* another magic */
	    {7, 1, 2},     /* another version */
	};
	struct ucr_store *s;
	size_t i;

	for (i = 0; i < sizeof(pokes) / sizeof(pokes[0]); i++) {
		crash_after_journal(1);
		journal_poke(pokes[i].off, pokes[i].n, pokes[i].byte);
		s = jopen();
		cr_assert_eq(head_seq(s), 0, "poke %zu", i);
		ucr_store_free(s);
	}
	/* the file cut short */
	{
		char path[512];

		crash_after_journal(1);
		journal_path(path, sizeof(path));
		cr_assert_eq(truncate(path, 50), 0);
		s = jopen();
		cr_assert_eq(head_seq(s), 0);
		ucr_store_free(s);
	}
}

Test(store_journal, record_that_does_not_follow_is_left_alone)
{
	struct ucr_store *s;
	char cmd[1024];
	uint64_t first;

	s = jopen();
	cr_assert_eq(jwrite(s, 1, 0, &first, NULL), 0);
	ucr_store_free(s);
	/* a copy at seq 1, then seqs 2 and 3 (3 journaled, not committed) */
	snprintf(cmd, sizeof(cmd), "cp -a '%s/j' '%s/old'", dir, dir);
	cr_assert_eq(system(cmd), 0);
	s = jopen();
	cr_assert_eq(jwrite(s, 2, 0, &first, NULL), 0);
	ucr_store_free(s);
	crash_after_journal(3);
	/* the old copy restored under the journal of seq 3 */
	snprintf(cmd, sizeof(cmd),
	    "cp '%s/old/data.mdb' '%s/j/data.mdb' && rm -f '%s/j/lock.mdb'",
	    dir, dir, dir);
	cr_assert_eq(system(cmd), 0);
	s = jopen();
	cr_assert_eq(head_seq(s), 1, "seq 3 does not follow seq 1");
	cr_assert_eq(jwrite(s, 9, 1, &first, NULL), 0);
	cr_assert_eq(first, 2);
	cr_assert_eq(ucr_store_commit_deferred(s), 0);
	ucr_store_free(s);
}

Test(store_journal, unwritable_journal_refuses_the_write)
{
	struct ucr_store *s = jopen();
	struct rlimit lim = {64, RLIM_INFINITY},
		      all = {RLIM_INFINITY, RLIM_INFINITY};
	uint64_t first;
	int rc;

	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(jwrite(s, 1, 1, &first, NULL), 0);
	cr_assert_eq(ucr_store_commit_deferred(s), 0);
	/* no write may reach past 64 bytes: the journal's is cut short */
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = jwrite(s, 2, 1, &first, NULL);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &all), 0);
	cr_assert_neq(rc, 0, "a write not journaled must not be answered");
	cr_assert_eq(ucr_store_deferred(s), 0);
	cr_assert_eq(head_seq(s), 1, "nothing of it stored");
	/* the same request again, the journal writable: written once */
	cr_assert_eq(jwrite(s, 2, 1, &first, NULL), 0);
	cr_assert_eq(first, 2);
	cr_assert_eq(ucr_store_commit_deferred(s), 0);
	cr_assert_eq(su_records(s), 2);
	ucr_store_free(s);
}

Test(store_journal, large_write_commits_before_the_answer)
{
	struct ucr_store *s = jopen();
	struct ucr_put *p;
	uint64_t first, last;
	size_t bad, i, n = UCR_MAX_BATCH_ENTRIES + 5; /* two batches */
	char why[256];
	int replayed;

	cr_assert_not_null(p = calloc(n, sizeof(*p)));
	for (i = 0; i < n; i++) {
		p[i].record = su_network("2403", (int)i);
		p[i].mode = UCR_PUT_UPSERT;
	}
	ucr_store_defer_next(s);
	cr_assert_eq(ucr_store_append_once(s, nodek, (const uint8_t *)"big", 3,
			 p, n, &first, &last, &replayed, &bad, why,
			 sizeof(why)),
	    0, "%s", why);
	cr_assert_eq(ucr_store_deferred(s), 0, "two batches: not journaled");
	cr_assert_eq(head_seq(s), n);
	for (i = 0; i < n; i++)
		ucr__record__free_unpacked(p[i].record, NULL);
	free(p);
	ucr_store_free(s);
}

/* A write without a request id (a client may send none): journaled,
   committed, and recovered after a crash all the same. */
Test(store_journal, write_without_request_id)
{
	struct ucr_store *s;
	uint64_t first;

	noid = 1;
	s = jopen();
	cr_assert_eq(jwrite(s, 1, 1, &first, NULL), 0);
	cr_assert_eq(ucr_store_deferred(s), 1);
	cr_assert_eq(ucr_store_commit_deferred(s), 0);
	cr_assert_eq(head_seq(s), 1);
	ucr_store_free(s);
	crash_after_journal(2);
	s = jopen();
	cr_assert_eq(head_seq(s), 2);
	cr_assert_eq(su_records(s), 2);
	ucr_store_free(s);
}
