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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <zmq.h>

#include "error.h"
#include "testutil.h"
#include "ucr.pb-c.h"

static char *dir;
static char conf[512], endpoint[600], logpath[512], keypath[512], data[600];
static char mnt[400];
static pid_t node = -1;

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static char *
daemon_log(void)
{
	char *s = tu_read(logpath);

	return s ? s : strdup("(no log)");
}

static int ucr(char **out, char **err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
ucr(char **out, char **err, const char *fmt, ...)
{
	char *args;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	if (vasprintf(&args, fmt, ap) < 0)
		args = NULL;
	va_end(ap);
	cr_assert_not_null(args);
	rc = tu_run(out, err, "ucr -c '%s' %s", conf, args);
	free(args);
	return rc;
}

/* One request on a fresh REQ socket: 0 and *out, or -1 on no answer. */
static int
request(Ucr__Reply **out, const Ucr__Request *req, int timeout_ms)
{
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_REQ);
	size_t len = ucr__request__get_packed_size(req);
	uint8_t *buf = malloc(len ? len : 1);
	zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
	int linger = 0, rc = -1;

	*out = NULL;
	ucr__request__pack(req, buf);
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
	cr_assert_eq(zmq_connect(s, endpoint), 0);
	cr_assert_geq(zmq_send(s, buf, len, 0), 0);
	if (zmq_poll(&it, 1, timeout_ms) == 1) {
		zmq_msg_t m;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, s, 0) >= 0) {
			*out = ucr__reply__unpack(NULL, zmq_msg_size(&m),
			    zmq_msg_data(&m));
			rc = *out ? 0 : -1;
		}
		zmq_msg_close(&m);
	}
	free(buf);
	zmq_close(s);
	zmq_ctx_term(ctx);
	return rc;
}

static int
serving(int timeout_ms)
{
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__Query q = UCR__QUERY__INIT;
	Ucr__Reply *rep;
	int ok;

	q.what = "stats";
	req.body_case = UCR__REQUEST__BODY_QUERY;
	req.query = &q;
	if (request(&rep, &req, timeout_ms) != 0)
		return 0;
	ok = rep->code == 0;
	ucr__reply__free_unpacked(rep, NULL);
	return ok;
}

static void
start_node(const char *opts)
{
	long end = now_ms() + 10000;

	node = tu_spawn(logpath, "exec ucr-node -d %s -f '%s'", opts, conf);
	cr_assert_gt(node, 0);
	while (!serving(200)) {
		if (waitpid(node, NULL, WNOHANG) == node || now_ms() > end) {
			node = -1;
			cr_assert_fail("ucr-node did not come up: %s",
			    daemon_log());
		}
	}
}

static void
write_conf(const char *datadir, const char *extra)
{
	char buf[4096];

	snprintf(buf, sizeof(buf),
	    "[node]\n"
	    "municipality = 2403\n"
	    "key = %s\n"
	    "data = %s\n"
	    "control = %s\n"
	    "hub =\n"
	    "hub_key =\n"
	    "%s",
	    keypath, datadir, endpoint, extra);
	cr_assert_eq(tu_write(conf, buf), 0);
}

static void
setup(void)
{
	char *err = NULL;
	int rc;

	dir = tu_tempdir();
	cr_assert_not_null(dir);
	snprintf(conf, sizeof(conf), "%s/node.conf", dir);
	snprintf(keypath, sizeof(keypath), "%s/node.key", dir);
	snprintf(endpoint, sizeof(endpoint), "ipc://%s/node.sock", dir);
	snprintf(logpath, sizeof(logpath), "%s/node.log", dir);
	snprintf(data, sizeof(data), "%s/store", dir);
	mnt[0] = '\0';
	rc = tu_run(NULL, &err, "ucr keygen --out '%s'", keypath);
	cr_assert_eq(rc, 0, "keygen: %s", err);
	free(err);
	write_conf(data, "");
}

static void
teardown(void)
{
	if (node > 0)
		tu_kill(node, SIGKILL);
	node = -1;
	if (*mnt)
		umount2(mnt, MNT_DETACH);
	tu_rmrf(dir);
	free(dir);
}

TestSuite(faults, .init = setup, .fini = teardown, .timeout = 60);

/* Count the entries of our own log ("ucr log --json"). */
static int
entries(void)
{
	char *out = NULL;
	json_t *j;
	int n;

	cr_assert_eq(ucr(&out, NULL, "log --json"), 0);
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

	start_node("");
	cr_assert_eq(ucr(NULL, &err,
			 "baseline set 3.1 --text 'Zyxwvut district heating'"),
	    0, "%s", err);
	free(err);
	err = NULL;
	cr_assert_eq(tu_kill(node, SIGTERM), 0);
	node = -1;
	/* a clean store passes both checks */
	start_node("--verify");
	tu_kill(node, SIGTERM);
	node = -1;
	log = daemon_log();
	cr_assert(strstr(log, "full check passed") != NULL, "%s", log);
	free(log);
	/* one flipped byte in the newest entry */
	snprintf(path, sizeof(path), "%s/data.mdb", data);
	cr_assert_geq(flip_all(path, "Zyxwvut district"), 1);
	rc = tu_run(&out, &err, "ucr-node -d -f '%s'", conf);
	cr_assert_neq(rc, 0, "a damaged store was served: %s", err);
	cr_assert(strstr(err, "fails its start-up check") != NULL, "%s", err);
	cr_assert(strstr(err, "ucr rebuild") != NULL, "%s", err);
	cr_assert(strstr(err, "operations.md") != NULL, "%s", err);
	free(out);
	free(err);
	/* and the full check says the same */
	rc = tu_run(&out, &err, "ucr-node -d --verify -f '%s'", conf);
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
	cr_assert_eq(request(&rep, &req, 5000), 0, "no answer: %s",
	    daemon_log());
	return rep;
}

Test(faults, retried_write_made_once)
{
	Ucr__Reply *rep;
	uint64_t seq;

	start_node("");
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
	cr_assert_eq(tu_kill(node, SIGKILL), -SIGKILL);
	node = -1;
	start_node("");
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

	start_node("");
	/* a daemon that takes requests but never answers */
	cr_assert_eq(kill(node, SIGSTOP), 0);
	rc = tu_run(&out, &err,
	    "UCR_TIMEOUT=1 ucr -c '%s' baseline set 4.1 --text 'stuck'", conf);
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
	cr_assert_eq(kill(node, SIGCONT), 0);
	cr_assert(serving(5000));
	usleep(300000);
	cr_assert_leq(entries(), 1);
	/* reads are not retried: one timeout, exit 1 */
	cr_assert_eq(kill(node, SIGSTOP), 0);
	rc = tu_run(&out, &err, "UCR_TIMEOUT=1 ucr -c '%s' peers", conf);
	kill(node, SIGCONT);
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
	snprintf(mnt, sizeof(mnt), "%s/small", dir);
	cr_assert_eq(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") != 0) {
		mnt[0] = '\0';
		cr_skip_test("disk full: cannot mount a tmpfs here (%s)",
		    strerror(errno));
		return;
	}
	snprintf(data, sizeof(data), "%s/store", mnt);
	write_conf(data, "");
	start_node("");
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
		rc = ucr(NULL, &err, "baseline set %d.%d --text '%d %s'",
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
	rc = ucr(&out, &err,
	    "baseline set 1.1 --text 'after the disk was full'");
	cr_assert_eq(rc, 0, "%s\n%s", err, daemon_log());
	free(out);
	free(err);
	cr_assert_eq(tu_kill(node, SIGTERM), 0);
	node = -1;
}
