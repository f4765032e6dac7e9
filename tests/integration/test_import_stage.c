/*
 * test_import_stage.c: a streamed import against a real ucr-node, as an
 * attack. A client that stages a huge import and never commits must not
 * make the node hold it in memory: the staged records go to a file in the
 * store's folder (import.stage, 0600), and the node's private memory stays
 * within a budget however much is staged. The file goes when the import
 * ends without a commit: the client gives up (the daemon's idle timeout),
 * a new import replaces it, or the daemon dies and starts again.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "nodefix.h"
#include "record.h"
#include "testutil.h"
#include "ucr.pb-c.h"

#define CHUNK 5000
/* what the node may hold, heap and LMDB's pages, while it stages */
#define BUDGET_KIB (48 * 1024)
/* what the client stages: far more than the budget */
#define STAGED_MIB 160

/*
 * Memory bounds are asserted only without AddressSanitizer: its shadow
 * memory and quarantine of freed blocks make a daemon's RSS say nothing
 * about what the daemon holds (as in test_budget.c).
 */
#if defined(__SANITIZE_ADDRESS__)
#define MEMORY_CHECKED 0
#else
#define MEMORY_CHECKED 1
#endif

/* One chunk of CHUNK network records of about 300 bytes each, packed. */
struct chunk {
	Ucr__Put puts[CHUNK], *pp[CHUNK];
	Ucr__Record recs[CHUNK];
	Ucr__Network nets[CHUNK];
	char keys[CHUNK][48], name[257];
};

static struct chunk *held; /* the test's chunk, freed by teardown */

static void
setup(void)
{
	nf_setup();
	nf_conf(nf.conf, nf.key, nf.data, nf.ctl);
}

static void
teardown(void)
{
	nf_stop(SIGKILL);
	nf_teardown();
	free(held);
	held = NULL;
}

TestSuite(import_stage, .init = setup, .fini = teardown, .timeout = 300);

static struct chunk *
chunk_new(void)
{
	struct chunk *c = held = calloc(1, sizeof(*c));
	int i;

	cr_assert_not_null(c);
	memset(c->name, 'n', 256);
	for (i = 0; i < CHUNK; i++) {
		ucr__put__init(&c->puts[i]);
		ucr__record__init(&c->recs[i]);
		ucr__network__init(&c->nets[i]);
		snprintf(c->keys[i], sizeof(c->keys[i]), "2403/network/N%d", i);
		c->recs[i].key = c->keys[i];
		c->recs[i].owner = "2403";
		c->recs[i].body_case = UCR__RECORD__BODY_NETWORK;
		c->recs[i].network = &c->nets[i];
		c->nets[i].name = c->name;
		c->nets[i].joined = "2009-05-01";
		c->puts[i].record = &c->recs[i];
		c->pp[i] = &c->puts[i];
	}
	return c;
}

/* Send one ImportChunk; the reply (caller frees). */
static Ucr__Reply *
send_chunk(struct chunk *c, uint64_t id, size_t n, int commit, int abort_)
{
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__ImportChunk ch = UCR__IMPORT_CHUNK__INIT;
	Ucr__Reply *rep = NULL;

	ch.id = id;
	ch.puts = c->pp;
	ch.n_puts = n;
	ch.commit = commit;
	ch.abort = abort_;
	req.body_case = UCR__REQUEST__BODY_IMPORT;
	req.import = &ch;
	cr_assert_eq(nf_request(&rep, &req, 60000), 0, "no reply");
	return rep;
}

/* A line of /proc/PID/FILE, in KiB. */
static long
proc_kib(const char *file, const char *field)
{
	char path[64], line[256];
	size_t n = strlen(field);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)nf.pid, file);
	cr_assert_not_null(f = fopen(path, "r"), "%s", path);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0)
			v = atol(line + n);
	fclose(f);
	cr_assert_geq(v, 0, "%s: no %s", path, field);
	return v;
}

static int
staged(off_t *size, mode_t *mode)
{
	char path[700];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/import.stage", nf.data);
	if (stat(path, &sb) != 0)
		return 0;
	if (size)
		*size = sb.st_size;
	if (mode)
		*mode = sb.st_mode & 07777;
	return 1;
}

/* Stage STAGED_MIB and more, never committing; the import's id. */
static uint64_t
stage_huge(struct chunk *c, long *peak_kib)
{
	Ucr__Reply *rep;
	uint64_t id = 0;
	off_t size = 0;
	mode_t mode = 0;
	long pd;

	*peak_kib = 0;
	do {
		rep = send_chunk(c, id, CHUNK, 0, 0);
		cr_assert_eq(rep->code, 0, "%s", rep->message);
		id = rep->import_id;
		ucr__reply__free_unpacked(rep, NULL);
		pd = proc_kib("smaps_rollup", "Private_Dirty:");
		if (pd > *peak_kib)
			*peak_kib = pd;
		cr_assert(staged(&size, &mode), "no staging file");
	} while (size < (off_t)STAGED_MIB << 20);
	cr_assert_eq(mode, 0600, "mode %o", (unsigned)mode);
	return id;
}

Test(import_stage, huge_uncommitted_import_stays_on_disk)
{
	struct chunk *c = chunk_new();
	Ucr__Reply *rep;
	uint64_t id;
	long peak, hwm;

	nf_start("");
	id = stage_huge(c, &peak);
	hwm = proc_kib("status", "VmHWM:");
	cr_log_info("%d MiB staged: private dirty at most %ld KiB, VmHWM %ld "
		    "KiB",
	    STAGED_MIB, peak, hwm);
	cr_assert(!MEMORY_CHECKED || peak < BUDGET_KIB,
	    "%d MiB staged, the node's private dirty memory reached %ld KiB",
	    STAGED_MIB, peak);
	cr_assert(!MEMORY_CHECKED || hwm < BUDGET_KIB + 16 * 1024,
	    "VmHWM %ld KiB", hwm);
	/* another import is refused while this one is active */
	rep = send_chunk(c, 0, 1, 0, 0);
	cr_assert_eq(rep->code, UCR_EAGAIN, "%s", rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	/* the daemon dies with it staged: the next start removes the file */
	cr_assert_eq(nf_stop(SIGKILL), -SIGKILL);
	cr_assert(staged(NULL, NULL), "the crash left the file");
	nf_start("");
	cr_assert(!staged(NULL, NULL), "a stale staging file was kept");
	rep = send_chunk(c, id, 1, 1, 0);
	cr_assert_eq(rep->code, UCR_ENOTFOUND, "%s", rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	/* nothing of it was stored; the daemon takes a real import */
	rep = send_chunk(c, 0, CHUNK, 1, 0);
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	cr_assert_eq(rep->first_seq, 1);
	cr_assert_eq(rep->last_seq, CHUNK);
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert(!staged(NULL, NULL), "the commit left the file");
	cr_assert_eq(nf_stop(SIGTERM), 0);
}

Test(import_stage, abandoned_import_dropped_with_its_file, .timeout = 300)
{
	struct chunk *c = chunk_new();
	Ucr__Reply *rep;
	uint64_t id, id2;
	long peak;
	int i;

	nf_start("");
	id = stage_huge(c, &peak);
	cr_assert(!MEMORY_CHECKED || peak < BUDGET_KIB, "private dirty %ld KiB",
	    peak);
	/* the client goes away: after 60 s idle the daemon drops it */
	for (i = 0; i < 90 && staged(NULL, NULL); i++)
		sleep(1);
	cr_assert(!staged(NULL, NULL), "the idle import's file was kept");
	cr_assert_geq(i, 55, "dropped after %d s, before its time", i);
	rep = send_chunk(c, id, 1, 1, 0);
	cr_assert_eq(rep->code, UCR_ENOTFOUND, "%s", rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	/* a new import stages, and its abort removes its file at once */
	rep = send_chunk(c, 0, CHUNK, 0, 0);
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	id2 = rep->import_id;
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert(staged(NULL, NULL));
	rep = send_chunk(c, id2, 0, 0, 1);
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert(!staged(NULL, NULL), "the abort left the file");
	cr_assert_eq(nf_stop(SIGTERM), 0);
}
