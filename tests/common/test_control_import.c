/*
 * test_control_import.c: the streamed import on the control socket
 * (ImportChunk): chunks staged under one id and committed in one
 * transaction; a bad record, an abort, an unknown id or a second import
 * leave the store as it was.
 */
#include "control.h"
#include "storeutil.h"

static char *dir;
static struct ucr_key *key;
static struct ucr_store *store;
static struct ucr_control ctl;

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
