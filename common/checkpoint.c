/* checkpoint.c: checking the hub's signed checkpoints (checkpoint.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "checkpoint.h"
#include "error.h"
#include "keys.h"
#include "record.h"

int
ucr_checkpoint_verify(Ucr__CheckpointBody **out, const uint8_t *body,
    size_t len, const uint8_t *sig, size_t siglen, const uint8_t *hub,
    const char *region)
{
	Ucr__CheckpointBody *b;

	*out = NULL;
	if (siglen != UCR_SIG_LEN ||
	    ucr_sig_verify(sig, hub, region, "checkpoint", body, len) != 0)
		return UCR_EBADSIG;
	if ((b = ucr__checkpoint_body__unpack(NULL, len, body)) == NULL)
		return UCR_EPROTO;
	if (b->hub.len != 32 || memcmp(b->hub.data, hub, 32) != 0) {
		ucr__checkpoint_body__free_unpacked(b, NULL);
		return UCR_EPROTO;
	}
	*out = b;
	return 0;
}

int
ucr_checkpoint_follows(const Ucr__CheckpointBody *prev,
    const Ucr__CheckpointBody *next, char *why, size_t whylen)
{
	size_t i, j;
	char an[17];

	if (next->time <= prev->time) {
		snprintf(why, whylen,
		    "checkpoint not newer than the last one "
		    "seen (a replay or a frozen hub)");
		return UCR_EROLLBACK;
	}
	for (i = 0; i < prev->n_heads; i++) {
		const Ucr__LogHead *p = prev->heads[i];
		int found = 0;

		if (p->author.len != 32)
			continue;
		for (j = 0; j < next->n_heads && !found; j++) {
			const Ucr__LogHead *n = next->heads[j];

			if (n->author.len == 32 && n->epoch == p->epoch &&
			    memcmp(n->author.data, p->author.data, 32) == 0) {
				found = 1;
				if (n->seq < p->seq) {
					ucr_hex(an, p->author.data, 8);
					snprintf(why, whylen,
					    "log %s went back from "
					    "seq %llu to %llu",
					    an, (unsigned long long)p->seq,
					    (unsigned long long)n->seq);
					return UCR_EROLLBACK;
				}
			}
		}
		if (!found) {
			ucr_hex(an, p->author.data, 8);
			snprintf(why, whylen,
			    "log %s is missing from the new "
			    "checkpoint",
			    an);
			return UCR_EROLLBACK;
		}
	}
	return 0;
}

static void
cpwhy(char *why, size_t whylen, const char *fmt, const char *arg)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, fmt, arg);
}

int
ucr_checkpoint_load(struct ucr_store *s, const uint8_t *hub, const char *region,
    Ucr__CheckpointBody **out, char *why, size_t whylen)
{
	uint8_t *body = NULL, *sig = NULL;
	size_t len, siglen;
	int rc;

	*out = NULL;
	rc = ucr_store_meta_get_alloc(s, "checkpoint", UCR_CHECKPOINT_MAXLEN,
	    &body, &len);
	if (rc == UCR_ENOTFOUND)
		return rc;
	if (rc == UCR_ETOOBIG) {
		cpwhy(why, whylen, "%s",
		    "the stored checkpoint is larger than any the hub sends");
		rc = UCR_ECHECKPOINT;
		goto leave;
	}
	if (rc != 0) {
		cpwhy(why, whylen, "cannot read the stored checkpoint: %s",
		    ucr_strerror(rc));
		goto leave;
	}
	rc = ucr_store_meta_get_alloc(s, "checkpoint-sig", UCR_SIG_LEN, &sig,
	    &siglen);
	if (rc == UCR_ENOTFOUND || rc == UCR_ETOOBIG) {
		cpwhy(why, whylen, "%s",
		    "the stored checkpoint has no signature");
		rc = UCR_ECHECKPOINT;
		goto leave;
	}
	if (rc != 0) {
		cpwhy(why, whylen, "cannot read the stored checkpoint: %s",
		    ucr_strerror(rc));
		goto leave;
	}
	if (ucr_checkpoint_verify(out, body, len, sig, siglen, hub, region) !=
	    0) {
		cpwhy(why, whylen, "%s",
		    "the stored checkpoint fails its signature under the "
		    "configured hub key");
		rc = UCR_ECHECKPOINT;
	}
leave:
	free(body);
	free(sig);
	return rc;
}

int
ucr_checkpoint_accept(struct ucr_store *s, const uint8_t *hub,
    const char *region, const uint8_t *body, size_t len, const uint8_t *sig,
    size_t siglen, char *why, size_t whylen)
{
	Ucr__CheckpointBody *next = NULL, *prev = NULL;
	int rc;

	if (len > UCR_CHECKPOINT_MAXLEN) {
		cpwhy(why, whylen, "%s", "checkpoint too large");
		return UCR_ETOOBIG;
	}
	if ((rc = ucr_checkpoint_verify(&next, body, len, sig, siglen, hub,
		 region)) != 0) {
		cpwhy(why, whylen, "checkpoint: %s", ucr_strerror(rc));
		return rc;
	}
	rc = ucr_checkpoint_load(s, hub, region, &prev, why, whylen);
	if (rc == UCR_ENOTFOUND)
		rc = 0; /* the first one */
	else if (rc == 0)
		rc = ucr_checkpoint_follows(prev, next, why, whylen);
	if (rc == 0 &&
	    (rc = ucr_checkpoint_store(s, body, len, sig, siglen)) != 0)
		cpwhy(why, whylen, "cannot store the checkpoint: %s",
		    ucr_strerror(rc));
	if (prev)
		ucr__checkpoint_body__free_unpacked(prev, NULL);
	ucr__checkpoint_body__free_unpacked(next, NULL);
	return rc;
}

uint64_t
ucr_checkpoint_time(struct ucr_store *s)
{
	Ucr__CheckpointBody *b;
	uint8_t *body;
	size_t len;
	uint64_t last = 0;

	/* the hub's own store: its last checkpoint, read without a check */
	if (ucr_store_meta_get_alloc(s, "checkpoint", UCR_CHECKPOINT_MAXLEN,
		&body, &len) == 0) {
		if ((b = ucr__checkpoint_body__unpack(NULL, len, body)) !=
		    NULL) {
			last = b->time;
			ucr__checkpoint_body__free_unpacked(b, NULL);
		}
		free(body);
	}
	return ucr_store_time_next(s, last);
}

int
ucr_checkpoint_store(struct ucr_store *s, const uint8_t *body, size_t len,
    const uint8_t *sig, size_t siglen)
{
	return ucr_store_meta_put2(s, "checkpoint", body, len, "checkpoint-sig",
	    sig, siglen);
}

int
ucr_checkpoint_against_store(struct ucr_store *s, const uint8_t *hub,
    const char *region, uint64_t *age_ms, size_t *logs_behind, char *why,
    size_t whylen)
{
	Ucr__CheckpointBody *b;
	uint64_t now;
	size_t i;
	int rc;

	*logs_behind = 0;
	*age_ms = 0;
	if ((rc = ucr_checkpoint_load(s, hub, region, &b, why, whylen)) != 0)
		return rc;
	now = ucr_hlc_next(0) >> 16;
	*age_ms = now > (b->time >> 16) ? now - (b->time >> 16) : 0;
	for (i = 0; i < b->n_heads; i++) {
		const Ucr__LogHead *lh = b->heads[i];
		struct ucr_head h;

		if (lh->author.len != 32)
			continue;
		if ((rc = ucr_store_head(s, lh->author.data, lh->epoch, &h)) ==
		    UCR_ENOTFOUND)
			h.seq = 0;
		else if (rc != 0) {
			/* a read error is not a rollback: say which it is */
			snprintf(why, whylen, "cannot read a log head: %s",
			    ucr_strerror(rc));
			ucr__checkpoint_body__free_unpacked(b, NULL);
			return rc;
		}
		if (h.seq < lh->seq) {
			char an[17];

			ucr_hex(an, lh->author.data, 8);
			if (*logs_behind == 0)
				snprintf(why, whylen,
				    "log %s held to seq %llu, the "
				    "checkpoint says %llu",
				    an, (unsigned long long)h.seq,
				    (unsigned long long)lh->seq);
			(*logs_behind)++;
		}
	}
	ucr__checkpoint_body__free_unpacked(b, NULL);
	return 0;
}

int
ucr_checkpoint_clear(struct ucr_store *s, const uint8_t *hub,
    const char *region, int force, char *why, size_t whylen)
{
	Ucr__CheckpointBody *cp = NULL;
	int rc;

	rc = ucr_checkpoint_load(s, hub, region, &cp, why, whylen);
	if (cp != NULL)
		ucr__checkpoint_body__free_unpacked(cp, NULL);
	if (rc == 0 && !force)
		return UCR_ECPVALID;
	if (rc == 0)
		cpwhy(why, whylen, "%s", "it verified (cleared with --force)");
	else if (rc != UCR_ECHECKPOINT)
		return rc; /* none stored, or the store cannot be read */
	return ucr_store_meta_del2(s, "checkpoint", "checkpoint-sig");
}
