/*
 * test_store_shed.c: ucr_store_shed (the reopen after a large import)
 * when the store cannot be opened again: with no file descriptor free
 * below the process's limit the environment stays open as it was, the
 * store answers reads, writes and the control socket's stats query, and
 * nothing stored is lost; with the limit back the shed reopens. The same
 * through the control socket's streamed import, whose commit sheds: the
 * handler answers (it used to stop the process) and serves on.
 */
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <jansson.h>

#include "control.h"
#include "storeutil.h"

static char *dir;
static struct ucr_key *key;
static struct ucr_store *store;
static int first_store_fd; /* the store's descriptors are this or above */

/* The lowest descriptor number not in use. */
static int
lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY);

	cr_assert_geq(fd, 0);
	close(fd);
	return fd;
}

static void
setup(void)
{
	cr_assert_eq(ucr_crypto_init(), 0);
	dir = tu_tempdir();
	cr_assert_eq(ucr_key_generate(&key), 0);
	first_store_fd = lowest_free_fd();
	store = su_open(dir, "node", key, "2403", NULL, (size_t)64 << 20);
}

static void
teardown(void)
{
	ucr_store_free(store);
	ucr_key_free(key);
	tu_rmrf(dir);
	free(dir);
}

TestSuite(store_shed, .init = setup, .fini = teardown, .timeout = 60);

/* One request to ctl; its reply (caller frees). */
static Ucr__Reply *
handle(struct ucr_control *ctl, const Ucr__Request *req)
{
	Ucr__Reply *rep;
	uint8_t *buf, *out;
	size_t len, outlen;

	len = ucr__request__get_packed_size(req);
	buf = malloc(len ? len : 1);
	cr_assert_not_null(buf);
	ucr__request__pack(req, buf);
	cr_assert_eq(ucr_control_handle(ctl, buf, len, &out, &outlen), 0);
	rep = ucr__reply__unpack(NULL, outlen, out);
	cr_assert_not_null(rep);
	free(out);
	free(buf);
	return rep;
}

/* A chunk of a streamed import: network records from..to-1. */
static Ucr__Reply *
chunk(struct ucr_control *ctl, uint64_t id, int from, int to, int commit)
{
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__ImportChunk ch = UCR__IMPORT_CHUNK__INIT;
	Ucr__Put *puts = calloc(to - from, sizeof(*puts));
	Ucr__Put **pp = calloc(to - from, sizeof(*pp));
	Ucr__Reply *rep;
	int i;

	cr_assert(puts != NULL && pp != NULL);
	for (i = from; i < to; i++) {
		ucr__put__init(&puts[i - from]);
		puts[i - from].record = su_network("2403", i);
		pp[i - from] = &puts[i - from];
	}
	ch.id = id;
	ch.puts = pp;
	ch.n_puts = to - from;
	ch.commit = commit;
	req.body_case = UCR__REQUEST__BODY_IMPORT;
	req.import = &ch;
	rep = handle(ctl, &req);
	for (i = from; i < to; i++)
		ucr__record__free_unpacked(puts[i - from].record, NULL);
	free(puts);
	free(pp);
	return rep;
}

/* The records count of the control socket's stats query. */
static long long
stats_records(void)
{
	struct ucr_control ctl;
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__Query q = UCR__QUERY__INIT;
	Ucr__Reply *rep;
	json_t *o;
	long long n;

	memset(&ctl, 0, sizeof(ctl));
	ctl.store = store;
	ctl.key = key;
	ctl.owner = "2403";
	req.body_case = UCR__REQUEST__BODY_QUERY;
	q.what = "stats";
	req.query = &q;
	rep = handle(&ctl, &req);
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	o = json_loads(rep->json, 0, NULL);
	cr_assert_not_null(o, "%s", rep->json);
	n = json_integer_value(json_object_get(o, "records"));
	json_decref(o);
	ucr__reply__free_unpacked(rep, NULL);
	ucr_control_close(&ctl);
	return n;
}

Test(store_shed, kept_open_when_no_descriptor_is_free)
{
	struct rlimit old, low;
	uint64_t t;
	int i;

	for (i = 0; i < 200; i++)
		cr_assert_eq(su_append(store, key, su_network("2403", i)), 0);
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	/*
	 * Below every descriptor of the store: no open() can succeed, and
	 * an environment closed could not be opened again (its own
	 * descriptors, once freed, are above the limit).
	 */
	low = old;
	low.rlim_cur = (rlim_t)first_store_fd;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	t = ucr_store_time_next(store, 0);
	cr_assert_eq(ucr_store_shed(store), 0, "kept, not failed");
	/* the old environment serves: reads, writes, the clock */
	cr_assert_eq(su_records(store), 200);
	cr_assert_gt(ucr_store_time_next(store, 0), t);
	cr_assert_eq(su_append(store, key, su_network("2403", 200)), 0);
	cr_assert_eq(su_records(store), 201);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	cr_assert_eq(stats_records(), 201);
	cr_assert_eq(ucr_store_verify(store, NULL, NULL, NULL, 0), 0);
	/* with descriptors back the shed reopens, nothing lost */
	cr_assert_eq(ucr_store_shed(store), 0);
	cr_assert_eq(su_records(store), 201);
	cr_assert_eq(su_append(store, key, su_network("2403", 201)), 0);
	cr_assert_eq(stats_records(), 202);
	cr_assert_eq(ucr_store_verify(store, NULL, NULL, NULL, 0), 0);
}

Test(store_shed, import_commit_serves_on_when_not_shed)
{
	struct ucr_control ctl;
	struct rlimit old, low;
	Ucr__Reply *rep;
	uint64_t id;

	memset(&ctl, 0, sizeof(ctl));
	ctl.store = store;
	ctl.key = key;
	ctl.owner = "2403";
	/* staged with the limit as it is (the staging file is opened) */
	rep = chunk(&ctl, 0, 0, 3000, 0);
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	id = rep->import_id;
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)first_store_fd;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	/* the commit writes, then cannot shed: it answers, nothing lost */
	rep = chunk(&ctl, id, 3000, 3001, 1);
	cr_assert_eq(rep->code, 0, "%s", rep->message);
	cr_assert_eq(rep->last_seq, 3001);
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert_eq(su_records(store), 3001);
	cr_assert_eq(su_append(store, key, su_network("2403", 5000)), 0);
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	ucr_control_close(&ctl);
	cr_assert_eq(stats_records(), 3002);
	cr_assert_eq(ucr_store_verify(store, NULL, NULL, NULL, 0), 0);
}
