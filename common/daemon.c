/* daemon.c: start-up and shutdown shared by both daemons (daemon.h). */
#include <errno.h>
#include <poll.h>
#include <getopt.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "control.h"
#include "ctlsrv.h"
#include "daemon.h"
#include "error.h"
#include "log.h"
#include "record.h"

/* --verify (ucr_daemon_args): the full check at start-up, not the quick */
static int daemon_full_check;

/*
 * The start-up check (docs/operations.md): a store that fails it is not
 * served, and the message says how to recover.
 */
static int
daemon_check_store(struct ucr_daemon *d, int hub, char *why, size_t whylen)
{
	char what[384] = "";
	uint64_t logs = 0;
	int rc;

	rc = ucr_store_check(d->store, daemon_full_check, &logs, what,
	    sizeof(what));
	if (rc == 0) {
		log_info("store %s: %s check passed (%llu logs)", d->cfg->data,
		    daemon_full_check ? "full" : "start-up",
		    (unsigned long long)logs);
		return 0;
	}
	snprintf(why, whylen,
	    "store %s fails its %s check: %s; refusing to start. Stop, move "
	    "the folder away and %s (docs/operations.md, \"A corrupt store\")",
	    d->cfg->data, daemon_full_check ? "full" : "start-up",
	    *what ? what : ucr_strerror(rc),
	    hub ? "rebuild it from the nodes: ucr -c HUB.conf rebuild --from "
		  "NODE-STORE"
		: "put back a copy (ucr backup, or any older copy): the node "
		  "fetches the rest from the hub; or, with none, ucr rebuild "
		  "on a hub configuration from another node's store");
	return UCR_ECORRUPT;
}

/*
 * One request on the control socket: every request gets a reply, an error
 * reply if nothing better can be built.
 */
static void
daemon_after(void *ctx)
{
	struct ucr_daemon *d = ctx;

	if (d->ctl != NULL)
		ucr_control_after(d->ctl);
}

static int
daemon_answer(void *ctx, const uint8_t *req, size_t len, uint8_t **out,
    size_t *outlen)
{
	struct ucr_daemon *d = ctx;
	Ucr__Reply rep = UCR__REPLY__INIT;

	if (req == NULL) {
		rep.code = UCR_EPROTO;
		rep.message = "a request is one frame (after the empty "
			      "delimiter); this one had more";
	} else if (d->ctl != NULL &&
	    ucr_control_handle(d->ctl, req, len, out, outlen) == 0)
		return 0;
	else {
		/* No memory for the reply (or none to give yet): a minimal
		 * one. */
		free(*out);
		rep.code = d->ctl != NULL ? UCR_ENOMEM : UCR_EAGAIN;
	}
	if ((*out = malloc(ucr__reply__get_packed_size(&rep))) == NULL)
		return -1;
	*outlen = ucr__reply__pack(&rep, *out);
	return 0;
}

int
ucr_daemon_open(struct ucr_daemon *d, const char *conf, int hub, int check_only,
    char *why, size_t whylen)
{
	uint8_t hubpk[UCR_PK_LEN];
	int rc;

	memset(d, 0, sizeof(*d));
	if ((rc = ucr_config_load(&d->cfg, conf, why, whylen)) != 0)
		return rc;
	if (d->cfg->is_hub != hub) {
		snprintf(why, whylen,
		    "%s: has a [%s] section; ucr-%s needs [%s]", conf,
		    hub ? "node" : "hub", hub ? "hub" : "node",
		    hub ? "hub" : "node");
		return UCR_ECONFIG;
	}
	if ((rc = ucr_crypto_init()) != 0) {
		snprintf(why, whylen, "libsodium failed to initialise");
		return rc;
	}
	rc = ucr_key_load_why(&d->key, d->cfg->key, why, whylen);
	if (rc == UCR_EPERM)
		return rc; /* why says: mode or owner, and the fix */
	if (rc == UCR_EIO) {
		snprintf(why, whylen,
		    "key file %s: %s (make one with: ucr "
		    "keygen --out %s)",
		    d->cfg->key, strerror(errno), d->cfg->key);
		return rc;
	}
	if (rc != 0) {
		snprintf(why, whylen, "key file %s: not a UCR key (%s)",
		    d->cfg->key, ucr_strerror(rc));
		return rc;
	}
	if (check_only)
		return 0;
	rc = ucr_store_open(&d->store, d->cfg->data,
	    UCR_STORE_CREATE | UCR_STORE_EXCLUSIVE, d->cfg->map_size);
	if (rc == UCR_ELOCKED) {
		snprintf(why, whylen, "store %s is in use by another ucr-%s",
		    d->cfg->data, hub ? "hub" : "node");
		return rc;
	}
	if (rc != 0) {
		snprintf(why, whylen, "store %s: %s", d->cfg->data,
		    rc == UCR_EIO ? strerror(errno) : ucr_strerror(rc));
		return rc;
	}
	if (hub)
		ucr_store_set_region(d->store, d->cfg->region, d->key->pk);
	else if (*d->cfg->hub_key &&
	    ucr_unhex(hubpk, sizeof(hubpk), d->cfg->hub_key) == 0)
		ucr_store_set_region(d->store, d->cfg->region, hubpk);
	else
		ucr_store_set_region(d->store, d->cfg->region, NULL);
	ucr_store_set_max_skew(d->store, (unsigned)d->cfg->max_clock_skew);
	if ((rc = ucr_store_set_identity(d->store, d->key->pk,
		 d->cfg->owner)) != 0) {
		snprintf(why, whylen,
		    "store %s belongs to another key or "
		    "municipality; use the key it was made with, or a new "
		    "data folder",
		    d->cfg->data);
		return rc;
	}
	if ((rc = daemon_check_store(d, hub, why, whylen)) != 0)
		return rc;
	if ((d->zctx = zmq_ctx_new()) == NULL) {
		snprintf(why, whylen, "zeromq: %s", zmq_strerror(errno));
		return UCR_EIO;
	}
	/* The control socket, served in the daemon's own loop (ctlsrv.h). */
	if ((rc = ucr_ctlsrv_open(&d->control,
		 d->cfg->control + strlen("ipc://"), UCR_CONTROL_MAXMSG,
		 daemon_answer, d, why, whylen)) != 0)
		return rc;
	ucr_ctlsrv_set_after(d->control, daemon_after);
	return 0;
}

void
ucr_daemon_close(struct ucr_daemon *d)
{
	ucr_ctlsrv_close(d->control); /* and removes the socket file */
	if (d->zctx)
		zmq_ctx_term(d->zctx);
	ucr_store_free(d->store);
	ucr_key_free(d->key);
	ucr_config_free(d->cfg);
	memset(d, 0, sizeof(*d));
}

static void
daemon_usage(const char *name, const char *defconf)
{
	fprintf(stderr,
	    "usage: %s [-dnv] [-f FILE] [--verify]\n"
	    "  -f FILE  configuration (default %s)\n"
	    "  -d       stay in the foreground and log to stderr\n"
	    "  -n       check the configuration and key, print "
	    "'configuration OK', exit\n"
	    "  -v       more logging\n"
	    "  --verify check every entry and signature of the store before "
	    "serving\n"
	    "           (without it, only each log's newest batch)\n",
	    name, defconf);
}

int
ucr_daemon_args(struct ucr_daemon_opts *o, int argc, char **argv,
    const char *name, const char *defconf)
{
	static const struct option longopts[] = {{"verify", no_argument, NULL,
						     'V'},
	    {NULL, 0, NULL, 0}};
	int ch;

	memset(o, 0, sizeof(*o));
	o->conf = defconf;
	while ((ch = getopt_long(argc, argv, "df:nvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'V':
			o->verify = daemon_full_check = 1;
			break;
		case 'd':
			o->foreground = 1;
			break;
		case 'f':
			o->conf = optarg;
			break;
		case 'n':
			o->check = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		default:
			daemon_usage(name, defconf);
			return -1;
		}
	}
	if (optind != argc) {
		daemon_usage(name, defconf);
		return -1;
	}
	return 0;
}

int
ucr_daemon_ctl_items(struct ucr_daemon *d, zmq_pollitem_t *items)
{
	struct pollfd p[UCR_CTLSRV_NPOLL];
	int i, n;

	n = ucr_ctlsrv_pollfds(d->control, p);
	for (i = 0; i < n; i++) {
		items[i].socket = NULL;
		items[i].fd = p[i].fd;
		items[i].events =
		    (short)((p[i].events & POLLIN ? ZMQ_POLLIN : 0) |
			(p[i].events & POLLOUT ? ZMQ_POLLOUT : 0));
		items[i].revents = 0;
	}
	return n;
}

long
ucr_daemon_ctl_timeout(struct ucr_daemon *d, long timeout)
{
	long t = ucr_ctlsrv_timeout(d->control);

	return t >= 0 && (timeout < 0 || t < timeout) ? t : timeout;
}

void
ucr_daemon_serve(struct ucr_daemon *d, struct ucr_control *c,
    const zmq_pollitem_t *items, int n)
{
	struct pollfd p[UCR_CTLSRV_NPOLL];
	int i;

	if (n > UCR_CTLSRV_NPOLL)
		n = UCR_CTLSRV_NPOLL;
	for (i = 0; i < n; i++) {
		p[i].fd = items[i].fd;
		p[i].events = 0;
		p[i].revents =
		    (short)((items[i].revents & ZMQ_POLLIN ? POLLIN : 0) |
			(items[i].revents & ZMQ_POLLOUT ? POLLOUT : 0) |
			(items[i].revents & ZMQ_POLLERR ? POLLERR : 0));
	}
	d->ctl = c;
	c->transport = ucr_ctlsrv_counts(d->control);
	ucr_ctlsrv_dispatch(d->control, p, n);
}
