/*
 * zap.c: the ZAP handler (RFC 27) that decides who may connect to the
 * hub's CURVE socket: only node and reader keys of a municipality in the
 * roster that are not revoked (ucr_roster_admit).
 *
 * libzmq lets any CURVE client in when no ZAP handler answers, so this
 * handler is bound before the sync socket, the domain is enforced, and
 * main.c's self-test proves a random key is refused before the hub runs.
 * The reply tags the connection: User-Id is the municipality code (or
 * "region"), and the metadata carries "Key" (the Ed25519 key in hex) and
 * "Role", which peer.c checks on every message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zmq.h>

#include "error.h"
#include "hub.h"
#include "log.h"
#include "record.h"
#include "roster.h"
#include "text.h"

int
zap_open(struct hub *h, char *why, size_t whylen)
{
	int zero = 0;

	if ((h->zap = zmq_socket(h->d.zctx, ZMQ_REP)) == NULL ||
	    zmq_setsockopt(h->zap, ZMQ_LINGER, &zero, sizeof(zero)) != 0 ||
	    zmq_bind(h->zap, HUB_ZAP_ENDPOINT) != 0) {
		snprintf(why, whylen, "ZAP handler: %s", zmq_strerror(errno));
		return UCR_EIO;
	}
	return 0;
}

/* Log a refusal once per key, not once per attempt. */
static void
refuse_log(struct hub *h, const uint8_t *curve, const char *what)
{
	char z[41];
	size_t i;
	void *p;

	if (h->selftest)
		return;
	for (i = 0; i < h->nrefused; i++)
		if (memcmp(h->refused[i], curve, 32) == 0)
			return;
	if (h->nrefused < 4096 &&
	    (p = realloc(h->refused, (h->nrefused + 1) * 32)) != NULL) {
		h->refused = p;
		memcpy(h->refused[h->nrefused++], curve, 32);
	}
	zmq_z85_encode(z, curve, 32);
	/* Past 4096 remembered keys, strangers share one rate-limited line. */
	log_warnx_limited("zap-refused",
	    "zap: refused %s key %s (further attempts not logged)", what, z);
}

static void
put_prop(uint8_t *buf, size_t *n, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);

	buf[(*n)++] = (uint8_t)nl;
	memcpy(buf + *n, name, nl);
	*n += nl;
	buf[(*n)++] = vl >> 24;
	buf[(*n)++] = vl >> 16;
	buf[(*n)++] = vl >> 8;
	buf[(*n)++] = vl;
	memcpy(buf + *n, value, vl);
	*n += vl;
}

void
zap_dispatch(struct hub *h)
{
	zmq_msg_t part[8];
	int nparts = 0, more = 1, i, rc;
	size_t sz = sizeof(more);
	struct ucr_roster_entry e;
	const uint8_t *curve;
	const char *status = "400", *text = "denied";
	char user[16] = "", hex[65], role[8], why[64];
	uint8_t meta[256];
	size_t metalen = 0;

	while (more && nparts < 8) {
		zmq_msg_init(&part[nparts]);
		if (zmq_msg_recv(&part[nparts], h->zap, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&part[nparts]);
			if (nparts == 0)
				return;
			break;
		}
		nparts++;
		zmq_getsockopt(h->zap, ZMQ_RCVMORE, &more, &sz);
	}
	while (more) { /* too many parts: drain */
		zmq_msg_t x;

		zmq_msg_init(&x);
		zmq_msg_recv(&x, h->zap, 0);
		zmq_msg_close(&x);
		zmq_getsockopt(h->zap, ZMQ_RCVMORE, &more, &sz);
	}
	/* version, request id, domain, address, identity, mechanism, key */
	if (nparts == 7 && zmq_msg_size(&part[5]) == 5 &&
	    memcmp(zmq_msg_data(&part[5]), "CURVE", 5) == 0 &&
	    zmq_msg_size(&part[6]) == 32 &&
	    zmq_msg_size(&part[2]) == strlen(HUB_ZAP_DOMAIN) &&
	    memcmp(zmq_msg_data(&part[2]), HUB_ZAP_DOMAIN,
		strlen(HUB_ZAP_DOMAIN)) == 0) {
		curve = zmq_msg_data(&part[6]);
		rc = ucr_roster_lookup_curve(h->d.store, curve, &e);
		if (rc == UCR_ENOTFOUND)
			refuse_log(h, curve, "unknown");
		else if (rc != 0) {
			/* a store error is not a refusal of the key: say so */
			log_warnx("zap: roster lookup failed: %s; denied, the "
				  "node will retry",
			    ucr_strerror(rc));
			status = "300";
			text = "temporary failure";
		} else if ((rc = ucr_roster_admit(&e, why, sizeof(why))) != 0)
			refuse_log(h, curve,
			    rc == UCR_EROSTER ? "revoked" : "wrong-role");
		else {
			status = "200";
			text = "OK";
			snprintf(user, sizeof(user), "%s", e.code);
			ucr_hex(hex, e.pk, 32);
			snprintf(role, sizeof(role), "%s",
			    ucr_role_name(e.role));
			put_prop(meta, &metalen, "Key", hex);
			put_prop(meta, &metalen, "Role", role);
			ucr_text_escape_inplace(e.name, sizeof(e.name));
			log_debug("zap: admitted %s (%s)", e.code, e.name);
		}
	} else
		log_warnx("zap: malformed request (%d parts), denied", nparts);
	if (status[0] == '2')
		h->zap_ok++;
	else
		h->zap_denied++;
	/* reply: version, request id, status, text, user id, metadata */
	zmq_send(h->zap, "1.0", 3, ZMQ_SNDMORE);
	if (nparts > 1)
		zmq_send(h->zap, zmq_msg_data(&part[1]), zmq_msg_size(&part[1]),
		    ZMQ_SNDMORE);
	else
		zmq_send(h->zap, "", 0, ZMQ_SNDMORE);
	zmq_send(h->zap, status, 3, ZMQ_SNDMORE);
	zmq_send(h->zap, text, strlen(text), ZMQ_SNDMORE);
	zmq_send(h->zap, user, strlen(user), ZMQ_SNDMORE);
	zmq_send(h->zap, meta, metalen, 0);
	for (i = 0; i < nparts; i++)
		zmq_msg_close(&part[i]);
}
