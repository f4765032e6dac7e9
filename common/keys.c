/*
 * keys.c: Ed25519 identities and key files, domain-separated signatures,
 * CURVE keys derived from the identity.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "error.h"
#include "keys.h"
#include "record.h"

int
ucr_crypto_init(void)
{
	return sodium_init() < 0 ? UCR_EIO : 0;
}

static struct ucr_key *
key_new(void)
{
	struct ucr_key *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	if ((k->sk = sodium_malloc(UCR_SK_LEN)) == NULL) {
		free(k);
		return NULL;
	}
	return k;
}

int
ucr_key_generate(struct ucr_key **out)
{
	struct ucr_key *k;

	*out = NULL;
	if ((k = key_new()) == NULL)
		return UCR_ENOMEM;
	crypto_sign_keypair(k->pk, k->sk);
	*out = k;
	return 0;
}

void
ucr_key_free(struct ucr_key *k)
{
	if (k == NULL)
		return;
	sodium_free(k->sk); /* zeroes the memory before release */
	free(k);
}

int
ucr_key_save(const struct ucr_key *k, const char *path)
{
	char *hex;
	int fd, rc = 0;
	size_t len = 2 * UCR_SK_LEN + 1;

	if ((hex = sodium_malloc(len + 1)) == NULL)
		return UCR_ENOMEM;
	sodium_bin2hex(hex, len, k->sk, UCR_SK_LEN);
	hex[len - 1] = '\n';
	hex[len] = '\0';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = UCR_EIO;
		goto leave;
	}
	/* The umask may not widen 0600, but make sure of it. */
	if (fchmod(fd, 0600) != 0 || write(fd, hex, len) != (ssize_t)len ||
	    fsync(fd) != 0) {
		int e = errno;

		close(fd);
		unlink(path);
		errno = e;
		rc = UCR_EIO;
		goto leave;
	}
	if (close(fd) != 0)
		rc = UCR_EIO;
leave:
	sodium_free(hex);
	return rc;
}

int
ucr_key_load(struct ucr_key **out, const char *path)
{
	return ucr_key_load_why(out, path, NULL, 0);
}

int
ucr_key_load_why(struct ucr_key **out, const char *path, char *why,
    size_t whylen)
{
	struct ucr_key *k = NULL;
	struct stat st;
	char *buf = NULL;
	size_t binlen;
	ssize_t n;
	int fd, rc = 0;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return UCR_EIO;
	if (fstat(fd, &st) != 0) {
		rc = UCR_EIO;
		goto leave;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = UCR_EINVAL;
		goto leave;
	}
	if (st.st_mode & 077) {
		if (why)
			snprintf(why, whylen,
			    "key file %s is readable by group or others; run: "
			    "chmod 600 %s",
			    path, path);
		rc = UCR_EPERM;
		goto leave;
	}
	/*
	 * Whoever owns the file can change the key: it must be ours. Root
	 * may read a key owned by anyone (ucr rebuild reads the daemon
	 * user's key; root can read it regardless).
	 */
	if (st.st_uid != geteuid() && geteuid() != 0) {
		if (why)
			snprintf(why, whylen,
			    "key file %s belongs to uid %u, not to this user "
			    "(uid %u); run: chown %u %s",
			    path, (unsigned)st.st_uid, (unsigned)geteuid(),
			    (unsigned)geteuid(), path);
		rc = UCR_EPERM;
		goto leave;
	}
	if ((buf = sodium_malloc(2 * UCR_SK_LEN + 2)) == NULL ||
	    (k = key_new()) == NULL) {
		rc = UCR_ENOMEM;
		goto leave;
	}
	n = read(fd, buf, 2 * UCR_SK_LEN + 2);
	if (n < 0) {
		rc = UCR_EIO;
		goto leave;
	}
	if (n < 2 * UCR_SK_LEN ||
	    (n > 2 * UCR_SK_LEN && buf[2 * UCR_SK_LEN] != '\n') ||
	    n > 2 * UCR_SK_LEN + 1 ||
	    sodium_hex2bin(k->sk, UCR_SK_LEN, buf, 2 * UCR_SK_LEN, NULL,
		&binlen, NULL) != 0 ||
	    binlen != UCR_SK_LEN) {
		rc = UCR_EINVAL;
		goto leave;
	}
	crypto_sign_ed25519_sk_to_pk(k->pk, k->sk);
	/* The stored public half must match the seed's. */
	{
		uint8_t pk2[UCR_PK_LEN], seed[32];

		crypto_sign_ed25519_sk_to_seed(seed, k->sk);
		{
			uint8_t *sk2 = sodium_malloc(UCR_SK_LEN);

			if (sk2 == NULL) {
				rc = UCR_ENOMEM;
				sodium_memzero(seed, sizeof(seed));
				goto leave;
			}
			crypto_sign_seed_keypair(pk2, sk2, seed);
			sodium_free(sk2);
		}
		sodium_memzero(seed, sizeof(seed));
		if (memcmp(pk2, k->pk, UCR_PK_LEN) != 0) {
			rc = UCR_EINVAL;
			goto leave;
		}
	}
	*out = k;
	k = NULL;
leave:
	close(fd);
	if (buf)
		sodium_free(buf);
	ucr_key_free(k);
	return rc;
}

/*
 * Z85 (ZeroMQ RFC 32), the text form ZMQ_CURVE_*KEY take: each 4 bytes,
 * big-endian, as 5 base-85 digits. len is a multiple of 4; out has room
 * for len / 4 * 5 + 1. The same as libzmq's zmq_z85_encode, written out so
 * that the keys need no libzmq (the CLI does not link it: docs/design.md).
 */
static void
z85_encode(char *out, const uint8_t *in, size_t len)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz"
				     "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				     ".-:+=^!/*?&<>()[]{}@%$#";
	uint32_t v;
	size_t i;
	int d;

	for (i = 0; i + 4 <= len; i += 4) {
		v = (uint32_t)in[i] << 24 | (uint32_t)in[i + 1] << 16 |
		    (uint32_t)in[i + 2] << 8 | in[i + 3];
		for (d = 4; d >= 0; d--) {
			out[d] = digits[v % 85];
			v /= 85;
		}
		out += 5;
	}
	*out = '\0';
}

int
ucr_key_curve_public(char out[41], const uint8_t pk[UCR_PK_LEN])
{
	uint8_t c[32];

	if (crypto_sign_ed25519_pk_to_curve25519(c, pk) != 0)
		return UCR_EINVAL;
	z85_encode(out, c, 32);
	return 0;
}

int
ucr_key_curve_secret(char **out, const struct ucr_key *k)
{
	uint8_t *c;
	char *z;
	int rc = 0;

	*out = NULL;
	c = sodium_malloc(32);
	z = sodium_malloc(41);
	if (c == NULL || z == NULL) {
		rc = UCR_ENOMEM;
		goto leave;
	}
	if (crypto_sign_ed25519_sk_to_curve25519(c, k->sk) != 0) {
		rc = UCR_EINVAL;
		goto leave;
	}
	z85_encode(z, c, 32);
	*out = z;
	z = NULL;
leave:
	if (c)
		sodium_free(c);
	if (z)
		sodium_free(z);
	return rc;
}

/* H = BLAKE2b-512(len(tag) as one byte ‖ tag ‖ msg), the signed digest. */
static void
sig_digest(uint8_t out[64], const char *region, const char *type,
    const void *msg, size_t len)
{
	crypto_generichash_state st;
	char tag[256];
	uint8_t tl;
	int n;

	n = snprintf(tag, sizeof(tag), "ucr/1/%s/%s", region, type);
	if (n < 0 || n >= (int)sizeof(tag))
		n = sizeof(tag) - 1;
	tl = (uint8_t)n;
	crypto_generichash_init(&st, NULL, 0, 64);
	crypto_generichash_update(&st, &tl, 1);
	crypto_generichash_update(&st, (const uint8_t *)tag, tl);
	crypto_generichash_update(&st, msg, len);
	crypto_generichash_final(&st, out, 64);
}

void
ucr_sig_sign(uint8_t sig[UCR_SIG_LEN], const struct ucr_key *k,
    const char *region, const char *type, const void *msg, size_t len)
{
	uint8_t d[64];

	sig_digest(d, region, type, msg, len);
	crypto_sign_detached(sig, NULL, d, sizeof(d), k->sk);
}

int
ucr_sig_verify(const uint8_t sig[UCR_SIG_LEN], const uint8_t pk[UCR_PK_LEN],
    const char *region, const char *type, const void *msg, size_t len)
{
	uint8_t d[64];

	sig_digest(d, region, type, msg, len);
	return crypto_sign_verify_detached(sig, d, sizeof(d), pk) == 0
	    ? 0
	    : UCR_EBADSIG;
}
