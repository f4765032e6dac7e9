/*
 * keys.h: Ed25519 identities, key files, signatures with domain separation,
 * and the CURVE key pair for ZeroMQ derived from the same identity.
 *
 * The secret key lives in sodium_malloc memory owned by struct ucr_key and
 * is wiped by ucr_key_free(). Key files hold the 64-byte libsodium secret
 * key as 128 hex digits and a newline, mode 0600; a key file readable by
 * group or others is refused (UCR_EPERM).
 */
#ifndef UCR_KEYS_H
#define UCR_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define UCR_PK_LEN 32
#define UCR_SK_LEN 64
#define UCR_SIG_LEN 64

struct ucr_key {
	uint8_t pk[UCR_PK_LEN];
	uint8_t *sk; /* UCR_SK_LEN bytes of sodium_malloc memory */
};

/* Call once before anything else (sodium_init); 0 or UCR_EIO. */
int ucr_crypto_init(void);

int ucr_key_generate(struct ucr_key **out);
/* Write the key to path with mode 0600, refusing to overwrite. */
int ucr_key_save(const struct ucr_key *k, const char *path);
/*
 * UCR_EIO (errno set), UCR_EPERM (mode too open, or the file belongs to
 * another user and we are not root), UCR_EINVAL (bad file). _why also
 * gives a one-line reason with the fix for UCR_EPERM.
 */
int ucr_key_load(struct ucr_key **out, const char *path);
int ucr_key_load_why(struct ucr_key **out, const char *path, char *why,
    size_t whylen);
void ucr_key_free(struct ucr_key *k);

/*
 * Z85 CURVE keys for ZMQ_CURVE_PUBLICKEY/SECRETKEY/SERVERKEY (41 bytes
 * each with the NUL). The secret is written into sodium_malloc memory the
 * caller frees with sodium_free after setting the option.
 */
int ucr_key_curve_public(char out[41], const uint8_t pk[UCR_PK_LEN]);
int ucr_key_curve_secret(char **out, const struct ucr_key *k);

/*
 * Sign msg under a domain tag "ucr/1/<region>/<type>": the signature covers
 * the tag's length, the tag, and msg, so it cannot be replayed as another
 * message type or in another region.
 */
void ucr_sig_sign(uint8_t sig[UCR_SIG_LEN], const struct ucr_key *k,
    const char *region, const char *type, const void *msg, size_t len);
__attribute__((warn_unused_result)) int ucr_sig_verify(const uint8_t
							   sig[UCR_SIG_LEN],
    const uint8_t pk[UCR_PK_LEN], const char *region, const char *type,
    const void *msg, size_t len);

#endif
