/* test_keys.c: key files, modes, signatures, CURVE derivation. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "error.h"
#include "keys.h"
#include "testutil.h"

static char *dir;

static void
setup(void)
{
	cr_assert_eq(ucr_crypto_init(), 0);
	dir = tu_tempdir();
	cr_assert_not_null(dir);
}

static void
teardown(void)
{
	tu_rmrf(dir);
	free(dir);
}

TestSuite(keys, .init = setup, .fini = teardown, .timeout = 30);

Test(keys, save_load_roundtrip)
{
	struct ucr_key *k, *k2;
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/node.key", dir);
	cr_assert_eq(ucr_key_generate(&k), 0);
	cr_assert_eq(ucr_key_save(k, path), 0);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(ucr_key_load(&k2, path), 0);
	cr_assert_eq(memcmp(k->pk, k2->pk, UCR_PK_LEN), 0);
	cr_assert_eq(memcmp(k->sk, k2->sk, UCR_SK_LEN), 0);
	ucr_key_free(k);
	ucr_key_free(k2);
}

Test(keys, refuses_overwrite)
{
	struct ucr_key *k;
	char path[512];

	snprintf(path, sizeof(path), "%s/k", dir);
	cr_assert_eq(ucr_key_generate(&k), 0);
	cr_assert_eq(ucr_key_save(k, path), 0);
	cr_assert_eq(ucr_key_save(k, path), UCR_EIO);
	ucr_key_free(k);
}

Test(keys, refuses_mode_0644)
{
	struct ucr_key *k, *k2 = NULL;
	char path[512];

	snprintf(path, sizeof(path), "%s/k", dir);
	cr_assert_eq(ucr_key_generate(&k), 0);
	cr_assert_eq(ucr_key_save(k, path), 0);
	cr_assert_eq(chmod(path, 0644), 0);
	cr_assert_eq(ucr_key_load(&k2, path), UCR_EPERM);
	cr_assert_null(k2);
	cr_assert_eq(chmod(path, 0640), 0);
	cr_assert_eq(ucr_key_load(&k2, path), UCR_EPERM);
	ucr_key_free(k);
}

Test(keys, refuses_garbage_and_missing)
{
	struct ucr_key *k = NULL;
	char path[512];

	snprintf(path, sizeof(path), "%s/bad", dir);
	cr_assert_eq(tu_write(path, "not a key\n"), 0);
	chmod(path, 0600);
	cr_assert_eq(ucr_key_load(&k, path), UCR_EINVAL);
	snprintf(path, sizeof(path), "%s/none", dir);
	cr_assert_eq(ucr_key_load(&k, path), UCR_EIO);
	cr_assert_null(k);
}

Test(keys, refuses_mismatched_public_half)
{
	struct ucr_key *k = NULL;
	char path[512], hex[130];
	struct ucr_key *a, *b;
	size_t i;

	cr_assert_eq(ucr_key_generate(&a), 0);
	cr_assert_eq(ucr_key_generate(&b), 0);
	/* seed of a, public half of b */
	for (i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", a->sk[i]);
	for (i = 0; i < 32; i++)
		sprintf(hex + 64 + 2 * i, "%02x", b->pk[i]);
	hex[128] = '\n';
	hex[129] = '\0';
	snprintf(path, sizeof(path), "%s/mixed", dir);
	cr_assert_eq(tu_write(path, hex), 0);
	chmod(path, 0600);
	cr_assert_eq(ucr_key_load(&k, path), UCR_EINVAL);
	ucr_key_free(a);
	ucr_key_free(b);
}

Test(keys, signature_domain_separation)
{
	struct ucr_key *k, *other;
	uint8_t sig[UCR_SIG_LEN];
	const char msg[] = "hello";

	cr_assert_eq(ucr_key_generate(&k), 0);
	cr_assert_eq(ucr_key_generate(&other), 0);
	ucr_sig_sign(sig, k, "region-a", "batch", msg, sizeof(msg));
	cr_assert_eq(ucr_sig_verify(sig, k->pk, "region-a", "batch", msg,
			 sizeof(msg)),
	    0);
	cr_assert_eq(ucr_sig_verify(sig, k->pk, "region-b", "batch", msg,
			 sizeof(msg)),
	    UCR_EBADSIG);
	cr_assert_eq(ucr_sig_verify(sig, k->pk, "region-a", "checkpoint", msg,
			 sizeof(msg)),
	    UCR_EBADSIG);
	cr_assert_eq(ucr_sig_verify(sig, other->pk, "region-a", "batch", msg,
			 sizeof(msg)),
	    UCR_EBADSIG);
	sig[5] ^= 1;
	cr_assert_eq(ucr_sig_verify(sig, k->pk, "region-a", "batch", msg,
			 sizeof(msg)),
	    UCR_EBADSIG);
	ucr_key_free(k);
	ucr_key_free(other);
}

Test(keys, curve_keys_derived)
{
	struct ucr_key *k;
	char pub[41], *sec;

	cr_assert_eq(ucr_key_generate(&k), 0);
	cr_assert_eq(ucr_key_curve_public(pub, k->pk), 0);
	cr_assert_eq(strlen(pub), 40);
	cr_assert_eq(ucr_key_curve_secret(&sec, k), 0);
	cr_assert_eq(strlen(sec), 40);
	cr_assert_str_neq(pub, sec);
	sodium_free(sec);
	ucr_key_free(k);
}
