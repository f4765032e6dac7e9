/* test_keys.c: key files, modes, signatures, CURVE derivation. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

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

/*
 * A key file owned by another user is refused, even where the process may
 * read it. Only a privileged process can read another user's 0600 file, so
 * the child keeps one capability (read any file) as the user nobody.
 */
Test(keys, refuses_file_of_another_owner)
{
	struct ucr_key *k, *k2 = NULL;
	char path[512], why[256] = "";
	pid_t pid;
	int status;

	if (geteuid() != 0)
		cr_skip_test("needs root to make a file of another owner");
	snprintf(path, sizeof(path), "%s/k", dir);
	cr_assert_eq(ucr_key_generate(&k), 0);
	cr_assert_eq(ucr_key_save(k, path), 0);
	cr_assert_eq(chmod(dir, 0755), 0);
	/* root reads a key of any owner (ucr rebuild reads the daemon's) */
	cr_assert_eq(chown(path, 4242, 4242), 0);
	cr_assert_eq(ucr_key_load(&k2, path), 0);
	ucr_key_free(k2);
	k2 = NULL;
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		struct __user_cap_header_struct h =
		    {_LINUX_CAPABILITY_VERSION_3, 0};
		struct __user_cap_data_struct d[2];
		int rc;

		memset(d, 0, sizeof(d));
		d[0].effective = d[0].permitted = 1u << CAP_DAC_READ_SEARCH;
		if (prctl(PR_SET_KEEPCAPS, 1) != 0 ||
		    setresgid(65534, 65534, 65534) != 0 ||
		    setresuid(65534, 65534, 65534) != 0 ||
		    syscall(SYS_capset, &h, d) != 0)
			_exit(10);
		rc = ucr_key_load_why(&k2, path, why, sizeof(why));
		if (rc != UCR_EPERM ||
		    strstr(why, "belongs to uid 4242") == NULL)
			_exit(11);
		/* its own file, the same bytes: taken */
		if (chown(path, 65534, 65534) == 0)
			_exit(12); /* nobody may not chown: a broken setup */
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	if (WEXITSTATUS(status) == 10)
		cr_skip_test("cannot drop to nobody with a capability here");
	cr_assert_eq(WEXITSTATUS(status), 0, "child exit %d",
	    WEXITSTATUS(status));
	/* owned by nobody, read as nobody: accepted */
	cr_assert_eq(chown(path, 65534, 65534), 0);
	pid = fork();
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) != 0 ||
		    setresuid(65534, 65534, 65534) != 0)
			_exit(10);
		_exit(ucr_key_load(&k2, path) == 0 ? 0 : 13);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_eq(WEXITSTATUS(status), 0);
	ucr_key_free(k);
}
