/* test_control.c: the control socket's request handling on a real store. */
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
	store = su_open(dir, "node", key, "2403", NULL, 0);
	memset(&ctl, 0, sizeof(ctl));
	ctl.store = store;
	ctl.key = key;
	ctl.owner = "2403";
}

static void
teardown(void)
{
	ucr_store_free(store);
	ucr_key_free(key);
	tu_rmrf(dir);
	free(dir);
}

TestSuite(control, .init = setup, .fini = teardown, .timeout = 30);

static Ucr__Reply *
roundtrip(const void *buf, size_t len)
{
	uint8_t *out;
	size_t outlen;
	Ucr__Reply *rep;

	cr_assert_eq(ucr_control_handle(&ctl, buf, len, &out, &outlen), 0);
	rep = ucr__reply__unpack(NULL, outlen, out);
	free(out);
	cr_assert_not_null(rep);
	return rep;
}

/* req packed and handled: the reply. */
static Ucr__Reply *
send_req(const Ucr__Request *req)
{
	size_t len = ucr__request__get_packed_size(req);
	uint8_t *buf = malloc(len);
	Ucr__Reply *rep;

	cr_assert_not_null(buf);
	ucr__request__pack(req, buf);
	rep = roundtrip(buf, len);
	free(buf);
	return rep;
}

static Ucr__Reply *
send_put(Ucr__Record *r, int mode)
{
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__Put put = UCR__PUT__INIT;

	put.record = r;
	put.mode = mode;
	req.body_case = UCR__REQUEST__BODY_PUT;
	req.put = &put;
	return send_req(&req);
}

Test(control, put_appends_and_answers_seq)
{
	Ucr__Record *r = su_network("2403", 1);
	Ucr__Reply *rep = send_put(r, UCR__PUT_MODE__PUT_CREATE);

	cr_assert_eq(rep->code, 0, "%s", rep->message);
	cr_assert_eq(rep->last_seq, 1);
	ucr__reply__free_unpacked(rep, NULL);
	rep = send_put(r, UCR__PUT_MODE__PUT_CREATE);
	cr_assert_eq(rep->code, UCR_EEXIST);
	ucr__reply__free_unpacked(rep, NULL);
	ucr__record__free_unpacked(r, NULL);
	cr_assert_eq(su_records(store), 1);
	cr_assert_eq(ctl.refused, 1);
}

Test(control, garbage_gets_error_reply)
{
	uint8_t junk[] = {0xff, 0xff, 0xff, 0xff};
	Ucr__Reply *rep = roundtrip(junk, sizeof(junk));

	cr_assert_eq(rep->code, UCR_EPROTO);
	cr_assert(strstr(rep->message, "undecodable") != NULL);
	ucr__reply__free_unpacked(rep, NULL);
	rep = roundtrip("", 0); /* an empty request */
	cr_assert_eq(rep->code, UCR_EPROTO);
	ucr__reply__free_unpacked(rep, NULL);
	cr_assert_eq(su_records(store), 0);
}

Test(control, other_owner_and_invalid_refused)
{
	Ucr__Record *r = su_network("2401", 1);
	Ucr__Reply *rep = send_put(r, UCR__PUT_MODE__PUT_UPSERT);

	cr_assert_eq(rep->code, UCR_EOWNER);
	ucr__reply__free_unpacked(rep, NULL);
	ucr__record__free_unpacked(r, NULL);
	r = su_network("2403", 1);
	free(r->network->joined);
	r->network->joined = strdup("2009-02-30");
	rep = send_put(r, UCR__PUT_MODE__PUT_UPSERT);
	cr_assert_eq(rep->code, UCR_ESCHEMA);
	cr_assert(strstr(rep->message, "date") != NULL, "%s", rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	ucr__record__free_unpacked(r, NULL);
	cr_assert_eq(su_records(store), 0);
}

/* A write of several puts names the one refused, and stores none. */
Test(control, many_names_the_refused_put)
{
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__PutMany many = UCR__PUT_MANY__INIT;
	Ucr__Put p[3] = {UCR__PUT__INIT, UCR__PUT__INIT, UCR__PUT__INIT};
	Ucr__Put *pp[3] = {&p[0], &p[1], &p[2]};
	Ucr__Reply *rep;
	size_t i;

	for (i = 0; i < 3; i++) {
		p[i].record = su_network(i == 1 ? "2401" : "2403", (int)i);
		p[i].mode = UCR__PUT_MODE__PUT_UPSERT;
	}
	many.n_puts = 3;
	many.puts = pp;
	req.body_case = UCR__REQUEST__BODY_MANY;
	req.many = &many;
	rep = send_req(&req);
	cr_assert_eq(rep->code, UCR_EOWNER);
	cr_assert(strstr(rep->message,
		      "record 2: 2401/network/N1: this daemon writes only") !=
		NULL,
	    "%s", rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	/* one put alone is not numbered */
	rep = send_put(p[1].record, UCR__PUT_MODE__PUT_UPSERT);
	cr_assert_eq(rep->code, UCR_EOWNER);
	cr_assert(strncmp(rep->message, "2401/network/N1: ", 17) == 0, "%s",
	    rep->message);
	ucr__reply__free_unpacked(rep, NULL);
	for (i = 0; i < 3; i++)
		ucr__record__free_unpacked(p[i].record, NULL);
	cr_assert_eq(su_records(store), 0);
}

static int
refuse(void *c, char *why, size_t len)
{
	(void)c;
	snprintf(why, len, "restoring");
	return 0;
}

Test(control, write_gate_refuses_with_eagain)
{
	Ucr__Record *r = su_network("2403", 1);
	Ucr__Reply *rep;

	ctl.may_write = refuse;
	rep = send_put(r, UCR__PUT_MODE__PUT_UPSERT);
	cr_assert_eq(rep->code, UCR_EAGAIN);
	cr_assert_str_eq(rep->message, "restoring");
	ucr__reply__free_unpacked(rep, NULL);
	ucr__record__free_unpacked(r, NULL);
	cr_assert_eq(su_records(store), 0);
}

Test(control, stats_query)
{
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__Query q = UCR__QUERY__INIT;
	uint8_t buf[64];
	size_t len;
	Ucr__Reply *rep;

	q.what = "stats";
	req.body_case = UCR__REQUEST__BODY_QUERY;
	req.query = &q;
	len = ucr__request__pack(&req, buf);
	rep = roundtrip(buf, len);
	cr_assert_eq(rep->code, 0);
	cr_assert(strstr(rep->json, "\"records\"") != NULL);
	ucr__reply__free_unpacked(rep, NULL);
	q.what = "nonsense";
	len = ucr__request__pack(&req, buf);
	rep = roundtrip(buf, len);
	cr_assert_eq(rep->code, UCR_EINVAL);
	ucr__reply__free_unpacked(rep, NULL);
}

/*
 * Requests are decoded into one arena, dropped after each reply: a field
 * larger than its largest chunk, many puts in one request, a garbled
 * request and small ones in turn are each answered as alone.
 */
Test(control, requests_of_any_size_in_turn)
{
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__PutMany many = UCR__PUT_MANY__INIT;
	Ucr__Put *puts, **pp;
	Ucr__Record *big = su_network("2403", 1), *small;
	Ucr__Reply *rep;
	uint8_t junk[] = {0x0a, 0xff, 0xff, 0xff, 0x7f};
	uint8_t *buf;
	size_t len, i, n = 3000;
	int round;

	/* a title of 5 MiB: decoded, then refused by the schema */
	free(big->network->name);
	cr_assert_not_null(big->network->name = malloc((size_t)5 << 20));
	memset(big->network->name, 'a', ((size_t)5 << 20) - 1);
	big->network->name[((size_t)5 << 20) - 1] = '\0';
	puts = calloc(n, sizeof(*puts));
	pp = calloc(n, sizeof(*pp));
	cr_assert(puts != NULL && pp != NULL);
	for (i = 0; i < n; i++) {
		ucr__put__init(&puts[i]);
		puts[i].record = su_network("2403", (int)(i + 10));
		pp[i] = &puts[i];
	}
	many.puts = pp;
	many.n_puts = n;
	req.body_case = UCR__REQUEST__BODY_MANY;
	req.many = &many;
	len = ucr__request__get_packed_size(&req);
	cr_assert_not_null(buf = malloc(len));
	ucr__request__pack(&req, buf);
	for (round = 0; round < 2; round++) {
		rep = send_put(big, UCR__PUT_MODE__PUT_UPSERT);
		cr_assert_eq(rep->code, UCR_ESCHEMA, "%s", rep->message);
		ucr__reply__free_unpacked(rep, NULL);
		rep = roundtrip(junk, sizeof(junk));
		cr_assert_eq(rep->code, UCR_EPROTO);
		ucr__reply__free_unpacked(rep, NULL);
		rep = roundtrip(buf, len);
		cr_assert_eq(rep->code, 0, "%s", rep->message);
		cr_assert_eq(rep->last_seq, (uint64_t)(round + 1) * n + round);
		ucr__reply__free_unpacked(rep, NULL);
		small = su_network("2403", 2 + round);
		rep = send_put(small, UCR__PUT_MODE__PUT_CREATE);
		cr_assert_eq(rep->code, 0, "%s", rep->message);
		ucr__reply__free_unpacked(rep, NULL);
		ucr__record__free_unpacked(small, NULL);
	}
	cr_assert_eq(su_records(store), (int)n + 2);
	free(buf);
	for (i = 0; i < n; i++)
		ucr__record__free_unpacked(puts[i].record, NULL);
	free(puts);
	free(pp);
	ucr__record__free_unpacked(big, NULL);
	ucr_control_close(&ctl);
}
