/*
 * test_faults.c: a node under faults, end to end with the real programs
 * (docs/operations.md, "Faults"): a damaged store refused at start-up, a
 * full disk reported as such, and writes made at most once when the CLI
 * retries or gives up.
 *
 * Each test makes its own folder with a key, a configuration and one
 * ucr-node without a hub.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "error.h"
#include "nodefix.h"
#include "testutil.h"
#include "ucr.pb-c.h"

static char mnt[400]; /* a small tmpfs mounted by the test, or "" */

static void
setup(void)
{
	nf_setup();
	mnt[0] = '\0';
	nf_conf(nf.conf, nf.key, nf.data, nf.ctl);
}

static void
teardown(void)
{
	nf_stop(SIGKILL);
	if (*mnt)
		umount2(mnt, MNT_DETACH);
	nf_teardown();
}

TestSuite(faults, .init = setup, .fini = teardown, .timeout = 60);

/* Count the entries of our own log ("ucr log --json"). */
static int
entries(void)
{
	char *out = NULL;
	json_t *j;
	int n;

	cr_assert_eq(nf_ucr(&out, NULL, "log --json"), 0);
	j = json_loads(out, 0, NULL);
	cr_assert_not_null(j, "%s", out);
	n = (int)json_array_size(j);
	json_decref(j);
	free(out);
	return n;
}

/* ---------------------------------------------------------------- check */

/* Flip one byte in every copy of needle in path; how many were found. */
static int
flip_all(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r+b");
	size_t n = strlen(needle), len, i;
	char *buf;
	int found = 0;

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	len = (size_t)ftell(f);
	rewind(f);
	buf = malloc(len);
	cr_assert_eq(fread(buf, 1, len, f), len);
	for (i = 0; i + n <= len; i++)
		if (memcmp(buf + i, needle, n) == 0) {
			buf[i + n / 2] ^= 0x20;
			found++;
		}
	rewind(f);
	cr_assert_eq(fwrite(buf, 1, len, f), len);
	fclose(f);
	free(buf);
	return found;
}

Test(faults, damaged_store_refused_at_start)
{
	char path[700], *out = NULL, *err = NULL, *log;
	int rc;

	nf_start("");
	cr_assert_eq(nf_ucr(NULL, &err,
			 "baseline set 3.1 --text 'Zyxwvut district heating'"),
	    0, "%s", err);
	free(err);
	err = NULL;
	cr_assert_eq(nf_stop(SIGTERM), 0);
	/* a clean store passes both checks */
	nf_start("--verify");
	nf_stop(SIGTERM);
	log = nf_log();
	cr_assert(strstr(log, "full check passed") != NULL, "%s", log);
	free(log);
	/* one flipped byte in the newest entry */
	snprintf(path, sizeof(path), "%s/data.mdb", nf.data);
	cr_assert_geq(flip_all(path, "Zyxwvut district"), 1);
	rc = tu_run(&out, &err, "ucr-node -d -f '%s'", nf.conf);
	cr_assert_neq(rc, 0, "a damaged store was served: %s", err);
	cr_assert(strstr(err, "fails its start-up check") != NULL, "%s", err);
	cr_assert(strstr(err, "ucr rebuild") != NULL, "%s", err);
	cr_assert(strstr(err, "operations.md") != NULL, "%s", err);
	free(out);
	free(err);
	/* and the full check says the same */
	rc = tu_run(&out, &err, "ucr-node -d --verify -f '%s'", nf.conf);
	cr_assert_neq(rc, 0);
	cr_assert(strstr(err, "fails its full check") != NULL, "%s", err);
	free(out);
	free(err);
}

/* ---------------------------------------------------------------- ids */

static Ucr__Reply *
put_with_id(const char *id, const char *key, const char *text)
{
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__Put put = UCR__PUT__INIT;
	Ucr__Record r = UCR__RECORD__INIT;
	Ucr__Baseline b = UCR__BASELINE__INIT;
	Ucr__Reply *rep;

	r.key = (char *)key;
	r.owner = "2403";
	r.body_case = UCR__RECORD__BODY_BASELINE;
	r.baseline = &b;
	b.commitment = (char *)strrchr(key, '/') + 1;
	b.text = (char *)text;
	put.record = &r;
	put.mode = UCR__PUT_MODE__PUT_CREATE;
	req.body_case = UCR__REQUEST__BODY_PUT;
	req.put = &put;
	req.request_id.data = (uint8_t *)id;
	req.request_id.len = strlen(id);
	cr_assert_eq(nf_request(&rep, &req, 5000), 0, "no answer: %s",
	    nf_log());
	return rep;
}

Test(faults, retried_write_made_once)
{
	Ucr__Reply *rep;
	uint64_t seq;

	nf_start("");
	rep = put_with_id("req-0001", "2403/baseline/3.1", "first");
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	seq = rep->last_seq;
	ucr__reply__free_unpacked(rep, NULL);
	/* the same id again: the original answer, nothing written (a
	 * CREATE of a held key would fail were it tried again) */
	rep = put_with_id("req-0001", "2403/baseline/3.1", "first");
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	cr_assert_eq(rep->last_seq, seq);
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert_eq(entries(), 1);
	/* a restart does not forget */
	cr_assert_eq(nf_stop(SIGKILL), -SIGKILL);
	nf_start("");
	rep = put_with_id("req-0001", "2403/baseline/3.1", "first");
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	cr_assert_eq(rep->last_seq, seq);
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert_eq(entries(), 1);
	/* another id is another write */
	rep = put_with_id("req-0002", "2403/baseline/3.1", "second");
	cr_assert_eq(rep->code, UCR_EEXIST, "%s", rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	rep = put_with_id("req-0003", "2403/baseline/3.2", "third");
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	cr_assert_eq(rep->last_seq, seq + 1);
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert_eq(entries(), 2);
}

Test(faults, unanswered_write_exits_3)
{
	char *out = NULL, *err = NULL;
	int rc;

	nf_start("");
	/* a daemon that takes requests but never answers */
	cr_assert_eq(kill(nf.pid, SIGSTOP), 0);
	rc = tu_run(&out, &err,
	    "UCR_TIMEOUT=1 ucr -c '%s' baseline set 4.1 --text 'stuck'",
	    nf.conf);
	cr_assert_eq(rc, 3, "exit %d: %s", rc, err);
	cr_assert(strstr(err, "may or may not have been made") != NULL, "%s",
	    err);
	cr_assert(strstr(err, "ucr log") != NULL, "%s", err);
	cr_assert(strstr(err, "asking again") != NULL, "%s", err);
	free(out);
	free(err);
	/* the daemon wakes up: the write is made at most once, whatever
	 * of the three sends it still finds queued (ZeroMQ may drop those
	 * of a closed socket: then none) */
	cr_assert_eq(kill(nf.pid, SIGCONT), 0);
	cr_assert(nf_serving(5000));
	usleep(300000);
	cr_assert_leq(entries(), 1);
	/* reads are not retried: one timeout, exit 1 */
	cr_assert_eq(kill(nf.pid, SIGSTOP), 0);
	rc = tu_run(&out, &err, "UCR_TIMEOUT=1 ucr -c '%s' peers", nf.conf);
	kill(nf.pid, SIGCONT);
	cr_assert_neq(rc, 3, "%s", err);
	free(out);
	free(err);
}

/* ---------------------------------------------------------------- disk */

Test(faults, disk_full_is_not_map_full)
{
	char fill[600], *out = NULL, *err = NULL, text[2100];
	int i, rc = 0;

	if (geteuid() != 0) {
		cr_skip_test("disk full: needs root to mount a small tmpfs");
		return;
	}
	snprintf(mnt, sizeof(mnt), "%s/small", nf.dir);
	cr_assert_eq(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") != 0) {
		mnt[0] = '\0';
		cr_skip_test("disk full: cannot mount a tmpfs here (%s)",
		    strerror(errno));
		return;
	}
	snprintf(nf.data, sizeof(nf.data), "%s/store", mnt);
	nf_conf(nf.conf, nf.key, nf.data, nf.ctl);
	nf_start("");
	/* take most of the space, then write until the disk is full */
	snprintf(fill, sizeof(fill), "%s/filler", mnt);
	cr_assert_eq(tu_run(NULL, NULL,
			 "dd if=/dev/zero of='%s' bs=1k count=700 2>/dev/null",
			 fill),
	    0);
	memset(text, 'x', 2000);
	text[2000] = '\0';
	for (i = 0; i < 400; i++) {
		free(err);
		err = NULL;
		rc = nf_ucr(NULL, &err, "baseline set %d.%d --text '%d %s'",
		    i % 10 + 1, i / 10 % 5 + 1, i, text);
		if (rc != 0)
			break;
	}
	cr_assert_neq(rc, 0, "the disk never filled up");
	cr_assert(strstr(err, "disk full") != NULL, "%s", err);
	cr_assert(strstr(err, "map_size") != NULL &&
		strstr(err, "free") != NULL,
	    "%s", err);
	free(err);
	err = NULL;
	/* space again: the next write goes through, the daemon never died */
	cr_assert_eq(unlink(fill), 0);
	rc = nf_ucr(&out, &err,
	    "baseline set 1.1 --text 'after the disk was full'");
	cr_assert_eq(rc, 0, "%s\n%s", err, nf_log());
	free(out);
	free(err);
	cr_assert_eq(nf_stop(SIGTERM), 0);
}
