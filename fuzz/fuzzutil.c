/* fuzzutil.c: see fuzzutil.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "chain.h"
#include "error.h"
#include "fuzzutil.h"
#include "record.h"

struct ucr_key *fz_hub, *fz_node, *fz_node2, *fz_reader;
struct ucr_store *fz_store;
static char tmp[256];

/* A key from a fixed seed byte, through a key file like every key. */
static struct ucr_key *
fixed_key(uint8_t seedbyte)
{
	uint8_t seed[crypto_sign_SEEDBYTES], pk[32], sk[64];
	char path[300], hex[129];
	struct ucr_key *k;

	memset(seed, seedbyte, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	ucr_hex(hex, sk, 64);
	snprintf(path, sizeof(path), "%s/key-%u", tmp, seedbyte);
	{
		FILE *f;

		unlink(path);
		if ((f = fopen(path, "w")) == NULL)
			abort();
		fprintf(f, "%s\n", hex);
		fclose(f);
		chmod(path, 0600);
	}
	if (ucr_key_load(&k, path) != 0)
		abort();
	return k;
}

void
fz_init(void)
{
	const char *t = getenv("TMPDIR");

	if (fz_hub)
		return;
	if (ucr_crypto_init() != 0)
		abort();
	snprintf(tmp, sizeof(tmp), "%s/ucr-fuzz-XXXXXX", t ? t : "/tmp");
	if (mkdtemp(tmp) == NULL)
		abort();
	fz_hub = fixed_key(1);
	fz_node = fixed_key(2);
	fz_node2 = fixed_key(3);
	fz_reader = fixed_key(4);
}

static void
roster_put(struct ucr_put *p, Ucr__Record *r, Ucr__RosterEntry *e, char *key,
    const struct ucr_key *k, const char *code, int role)
{
	char hex[65];

	ucr__record__init(r);
	ucr__roster_entry__init(e);
	ucr_hex(hex, k->pk, 32);
	snprintf(key, 128, "region/roster/%s", hex);
	r->key = key;
	r->owner = "region";
	r->body_case = UCR__RECORD__BODY_ROSTER;
	r->roster = e;
	e->municipality = (char *)code;
	e->name = (char *)code;
	e->role = role;
	e->public_key.data = (uint8_t *)k->pk;
	e->public_key.len = 32;
	memset(p, 0, sizeof(*p));
	p->record = r;
	p->mode = UCR_PUT_UPSERT;
}

static void
fresh(const uint8_t *hubpk)
{
	char dir[300];

	if (fz_store) {
		ucr_store_free(fz_store);
		fz_store = NULL;
	}
	snprintf(dir, sizeof(dir), "%s/store", tmp);
	{
		char f[400];

		snprintf(f, sizeof(f), "%s/data.mdb", dir);
		unlink(f);
		snprintf(f, sizeof(f), "%s/lock.mdb", dir);
		unlink(f);
	}
	if (ucr_store_open(&fz_store, dir, UCR_STORE_CREATE, 64 << 20) != 0)
		abort();
	ucr_store_set_region(fz_store, FZ_REGION, hubpk);
}

void
fz_fresh_hub(void)
{
	struct ucr_put p[3];
	Ucr__Record r[3];
	Ucr__RosterEntry e[3];
	char keys[3][128];
	uint64_t first, last;
	size_t bad;
	char why[256];

	fresh(fz_hub->pk);
	if (ucr_store_set_identity(fz_store, fz_hub->pk, "region") != 0)
		abort();
	roster_put(&p[0], &r[0], &e[0], keys[0], fz_node, "2403", 0);
	roster_put(&p[1], &r[1], &e[1], keys[1], fz_node2, "2480", 0);
	roster_put(&p[2], &r[2], &e[2], keys[2], fz_reader, "2401", 2);
	if (ucr_store_append(fz_store, fz_hub, p, 3, &first, &last, &bad, why,
		sizeof(why)) != 0) {
		fprintf(stderr, "fuzz: roster: %s\n", why);
		abort();
	}
}

const char *
fz_node_dir(void)
{
	static char dir[300];

	snprintf(dir, sizeof(dir), "%s/node", tmp);
	return dir;
}

void
fz_fresh_node(void)
{
	struct ucr_store *hubstore;
	Ucr__Batch *b;
	uint64_t epoch;
	size_t applied;
	char why[256];

	fz_fresh_hub();
	hubstore = fz_store;
	fz_store = NULL;
	if (ucr_store_identity(hubstore, NULL, &epoch, NULL, 0) != 0 ||
	    ucr_store_batch(hubstore, fz_hub, fz_hub->pk, epoch, 1, 0, 1 << 20,
		&b) != 0)
		abort();
	{
		char dir[300];
		struct ucr_store *ns;

		snprintf(dir, sizeof(dir), "%s/node", tmp);
		{
			char f[400];

			snprintf(f, sizeof(f), "%s/data.mdb", dir);
			unlink(f);
			snprintf(f, sizeof(f), "%s/lock.mdb", dir);
			unlink(f);
		}
		if (ucr_store_open(&ns, dir, UCR_STORE_CREATE, 64 << 20) != 0)
			abort();
		ucr_store_set_region(ns, FZ_REGION, fz_hub->pk);
		if (ucr_store_set_identity(ns, fz_node2->pk, "2480") != 0 ||
		    ucr_store_apply(ns, b, &applied, why, sizeof(why)) != 0) {
			fprintf(stderr, "fuzz: node store: %s\n", why);
			abort();
		}
		ucr_batch_free(b);
		ucr_store_free(hubstore);
		fz_store = ns;
	}
}

Ucr__Batch *
fz_batch(const struct ucr_key *k, uint64_t epoch, uint64_t first,
    ProtobufCBinaryData *entries, size_t n)
{
	Ucr__Batch *b = calloc(1, sizeof(*b));
	uint8_t last[32] = {0};

	if (b == NULL)
		abort();
	ucr__batch__init(b);
	b->entries = entries;
	b->n_entries = n;
	b->epoch = epoch;
	b->first_seq = first;
	b->last_seq = first + (n ? n - 1 : 0);
	if (n)
		ucr_hash(last, entries[n - 1].data, entries[n - 1].len);
	b->signature.data = malloc(UCR_SIG_LEN);
	if (b->signature.data == NULL)
		abort();
	ucr_batch_sign(b, k, FZ_REGION, last);
	return b;
}

void
fz_batch_free(Ucr__Batch *b)
{
	if (b == NULL)
		return;
	free(b->signature.data);
	free(b);
}

size_t
fz_entries(ProtobufCBinaryData *ents, size_t max, uint64_t epoch, uint64_t seq,
    const uint8_t prevhash[32], uint64_t time, const uint8_t *data, size_t len)
{
	uint8_t prev[32];
	size_t n = 0;

	memcpy(prev, prevhash, 32);
	while (len >= 2 && n < max) {
		size_t rl = (size_t)data[0] << 8 | data[1];
		Ucr__Record *r;
		uint32_t kind = 0;

		data += 2;
		len -= 2;
		if (rl > len)
			rl = len;
		if (ucr_record_decode(&r, data, rl) == 0) {
			kind = r->body_case;
			ucr__record__free_unpacked(r, NULL);
		}
		time = ucr_hlc_next(time);
		if (ucr_entry_encode(&ents[n].data, &ents[n].len, epoch,
			seq + n, prev, time, kind, data, rl) != 0)
			break;
		ucr_hash(prev, ents[n].data, ents[n].len);
		n++;
		data += rl;
		len -= rl;
	}
	return n;
}

int
fz_apply_records(const struct ucr_key *k, const uint8_t *data, size_t len)
{
	static const uint8_t zero[32];
	ProtobufCBinaryData ents[64];
	size_t n, i, applied;
	Ucr__Batch *b;
	char why[256] = "";
	int rc;

	n = fz_entries(ents, 64, 7, 1, zero, (uint64_t)1700000000000ULL << 16,
	    data, len);
	if (n == 0)
		return 0;
	b = fz_batch(k, 7, 1, ents, n);
	rc = ucr_store_apply(fz_store, b, &applied, why, sizeof(why));
	fz_report("records", rc, why);
	fz_batch_free(b);
	for (i = 0; i < n; i++)
		free(ents[i].data);
	return rc;
}

void
fz_report(const char *what, int rc, const char *why)
{
	static int verbose = -1;

	if (verbose < 0)
		verbose = getenv("FZ_VERBOSE") != NULL;
	if (verbose)
		fprintf(stderr, "%s: %s%s%s\n", what,
		    rc ? ucr_strerror(rc) : "applied", why[0] ? ": " : "",
		    rc ? why : "");
}

const char *
fz_file(const char *name, const uint8_t *data, size_t len)
{
	static char path[400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	if (len && fwrite(data, 1, len, f) != len)
		abort();
	fclose(f);
	return path;
}
