/*
 * main.c: ucr-hub, the regional daemon: start-up (ZAP handler first, then
 * the CURVE socket, then a self-test that a random key is refused), the
 * zmq_poll loop over control, ZAP and sync sockets, and shutdown.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

#include "config.h"
#include "error.h"
#include "hub.h"
#include "log.h"
#include "record.h"

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93 /* draft option in libzmq 4.3 */
#endif
#ifndef ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
#define ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL 0x0800
#define ZMQ_EVENT_HANDSHAKE_SUCCEEDED 0x1000
#define ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL 0x2000
#define ZMQ_EVENT_HANDSHAKE_FAILED_AUTH 0x4000
#endif

volatile sig_atomic_t hub_quit;

static void
on_signal(int sig)
{
	(void)sig;
	hub_quit = 1;
}

int64_t
hub_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The endpoint a local client uses to reach what listen binds. */
static void
local_endpoint(char *buf, size_t len, const char *listen)
{
	const char *port;

	if (strncmp(listen, "tcp://", 6) == 0 &&
	    (port = strrchr(listen, ':')) != NULL && port > listen + 5) {
		const char *host = listen + 6;

		if (*host == '*' || strncmp(host, "0.0.0.0:", 8) == 0)
			snprintf(buf, len, "tcp://127.0.0.1%s", port);
		else
			snprintf(buf, len, "%s", listen);
	} else
		snprintf(buf, len, "%s", listen);
}

/*
 * A message on the router during the self-test: the test connection's own
 * (a stranger got through), or an enrolled node's that reconnected early,
 * which is dropped (nodes repeat their hello).
 */
static int
stranger_got_through(struct hub *h, const uint8_t *rid, size_t ridlen)
{
	zmq_msg_t part;
	int first = 1, theirs = 0, more = 1;
	size_t sz = sizeof(more);

	while (more) {
		zmq_msg_init(&part);
		if (zmq_msg_recv(&part, h->router, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&part);
			break;
		}
		if (first)
			theirs = zmq_msg_size(&part) == ridlen &&
			    memcmp(zmq_msg_data(&part), rid, ridlen) == 0;
		first = 0;
		zmq_msg_close(&part);
		if (zmq_getsockopt(h->router, ZMQ_RCVMORE, &more, &sz) != 0)
			more = 0;
	}
	return theirs;
}

/*
 * Connect once with a random key and refuse to run unless that connection
 * is rejected: proof that the ZAP handler answers and admits no stranger.
 * The ZAP handler is served here, since the main loop is not running yet.
 */
static int
self_test(struct hub *h, char *why, size_t whylen)
{
	char endpoint[512], server[41], pub[41], sec[41];
	void *test = NULL, *mon = NULL;
	int64_t deadline = hub_now_ms() + 5000;
	int zero = 0, verdict = 0;
	uint8_t rid[16];

	h->selftest = 1;
	local_endpoint(endpoint, sizeof(endpoint), h->d.cfg->listen);
	if (ucr_key_curve_public(server, h->d.key->pk) != 0 ||
	    zmq_curve_keypair(pub, sec) != 0) {
		snprintf(why, whylen, "self-test: no CURVE support in libzmq");
		return UCR_EIO;
	}
	test = zmq_socket(h->d.zctx, ZMQ_DEALER);
	zmq_setsockopt(test, ZMQ_LINGER, &zero, sizeof(zero));
	randombytes_buf(rid + 1, sizeof(rid) - 1);
	rid[0] = 1; /* a routing id may not start with 0 */
	zmq_setsockopt(test, ZMQ_ROUTING_ID, rid, sizeof(rid));
	zmq_setsockopt(test, ZMQ_CURVE_SERVERKEY, server, 40);
	zmq_setsockopt(test, ZMQ_CURVE_PUBLICKEY, pub, 40);
	zmq_setsockopt(test, ZMQ_CURVE_SECRETKEY, sec, 40);
	sodium_memzero(sec, sizeof(sec));
	if (zmq_socket_monitor(test, "inproc://ucr-self-test",
		ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
		    ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
		    ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
		    ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0 ||
	    (mon = zmq_socket(h->d.zctx, ZMQ_PAIR)) == NULL ||
	    zmq_connect(mon, "inproc://ucr-self-test") != 0 ||
	    zmq_connect(test, endpoint) != 0) {
		snprintf(why, whylen, "self-test: %s", zmq_strerror(errno));
		goto leave;
	}
	while (verdict == 0 && hub_now_ms() < deadline) {
		zmq_pollitem_t items[3] = {
		    {h->zap, 0, ZMQ_POLLIN, 0},
		    {mon, 0, ZMQ_POLLIN, 0},
		    {h->router, 0, ZMQ_POLLIN, 0},
		};

		if (zmq_poll(items, h->zap ? 3 : 2, 100) < 0 && errno != EINTR)
			break;
		if (h->zap && (items[0].revents & ZMQ_POLLIN))
			zap_dispatch(h);
		if ((items[2].revents & ZMQ_POLLIN) &&
		    stranger_got_through(h, rid, sizeof(rid))) {
			verdict = 1;
			break;
		}
		if (items[1].revents & ZMQ_POLLIN) {
			zmq_msg_t ev, addr;
			uint16_t event;
			uint32_t value;

			zmq_msg_init(&ev);
			zmq_msg_init(&addr);
			if (zmq_msg_recv(&ev, mon, 0) >= 6) {
				memcpy(&event, zmq_msg_data(&ev), 2);
				memcpy(&value, (uint8_t *)zmq_msg_data(&ev) + 2,
				    4);
				/*
				 * Only our ZAP handler's own refusal (status
				 * 400, counted by zap_dispatch) proves it; a
				 * handshake that fails for another reason
				 * proves nothing.
				 */
				if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
					verdict = 1;
				else if (event ==
					ZMQ_EVENT_HANDSHAKE_FAILED_AUTH &&
				    value == 400 && h->zap_denied > 0)
					verdict = -1;
				else
					verdict = 2;
			}
			zmq_msg_recv(&addr, mon, 0);
			zmq_msg_close(&ev);
			zmq_msg_close(&addr);
		}
		if (verdict == 0)
			zmq_send(test, "", 0, ZMQ_DONTWAIT);
	}
	if (verdict == 1)
		snprintf(why, whylen,
		    "self-test failed: a connection with an "
		    "unknown key was accepted (is the ZAP handler running?); "
		    "refusing to run");
	else if (verdict == 2)
		snprintf(why, whylen,
		    "self-test failed: the test connection failed, but not "
		    "by a refusal of the ZAP handler; refusing to run");
	else if (verdict == 0)
		snprintf(why, whylen,
		    "self-test failed: no answer from %.200s "
		    "within 5 s; refusing to run",
		    endpoint);
leave:
	zmq_socket_monitor(test, NULL, 0);
	if (mon)
		zmq_close(mon);
	zmq_close(test);
	h->selftest = 0;
	h->zap_denied = 0;
	if (verdict == -1)
		log_info("self-test passed: a connection with a random key was "
			 "refused");
	return verdict == -1 ? 0 : UCR_EPERM;
}

static int
open_router(struct hub *h, int enforce, char *why, size_t whylen)
{
	char *sec = NULL;
	int one = 1, zero = 0, ivl = 1000, ttl = 3000, rc;
	int hb = HUB_HEARTBEAT_MS;
	/*
	 * Queue budgets per connection, in messages (libzmq counts no bytes):
	 * the relay is paced by acks and never has more than RELAY_WINDOW
	 * batches in flight, so HUB_SNDHWM only bounds what a peer that does
	 * not read can make the hub hold; HUB_RCVHWM frames of at most
	 * UCR_WIRE_DROPMSG bytes wait to be read (docs/protocol.md, Budgets).
	 */
	int sndhwm = HUB_SNDHWM, rcvhwm = HUB_RCVHWM;
	int64_t maxmsg = UCR_WIRE_DROPMSG;

	if (ucr_key_curve_secret(&sec, h->d.key) != 0) {
		snprintf(why, whylen, "cannot derive the CURVE key");
		return UCR_EINVAL;
	}
	h->router = zmq_socket(h->d.zctx, ZMQ_ROUTER);
	rc = h->router == NULL ||
	    zmq_setsockopt(h->router, ZMQ_CURVE_SERVER, &one, sizeof(one)) !=
		0 ||
	    zmq_setsockopt(h->router, ZMQ_CURVE_SECRETKEY, sec, 40) != 0 ||
	    zmq_setsockopt(h->router, ZMQ_ZAP_DOMAIN, HUB_ZAP_DOMAIN,
		strlen(HUB_ZAP_DOMAIN)) != 0 ||
	    zmq_setsockopt(h->router, ZMQ_ROUTER_MANDATORY, &one,
		sizeof(one)) != 0 ||
	    zmq_setsockopt(h->router, ZMQ_MAXMSGSIZE, &maxmsg,
		sizeof(maxmsg)) != 0 ||
	    zmq_setsockopt(h->router, ZMQ_LINGER, &zero, sizeof(zero)) != 0 ||
	    zmq_setsockopt(h->router, ZMQ_HEARTBEAT_IVL, &ivl, sizeof(ivl)) !=
		0 ||
	    zmq_setsockopt(h->router, ZMQ_HEARTBEAT_TTL, &hb, sizeof(hb)) !=
		0 ||
	    zmq_setsockopt(h->router, ZMQ_HEARTBEAT_TIMEOUT, &hb, sizeof(hb)) !=
		0 ||
	    zmq_setsockopt(h->router, ZMQ_HANDSHAKE_IVL, &ttl, sizeof(ttl)) !=
		0 ||
	    zmq_setsockopt(h->router, ZMQ_SNDHWM, &sndhwm, sizeof(sndhwm)) !=
		0 ||
	    zmq_setsockopt(h->router, ZMQ_RCVHWM, &rcvhwm, sizeof(rcvhwm)) != 0;
	sodium_free(sec);
	if (rc) {
		snprintf(why, whylen, "sync socket: %s", zmq_strerror(errno));
		return UCR_EIO;
	}
	if (enforce &&
	    zmq_setsockopt(h->router, ZMQ_ZAP_ENFORCE_DOMAIN, &one,
		sizeof(one)) != 0) {
		snprintf(why, whylen,
		    "libzmq refuses ZMQ_ZAP_ENFORCE_DOMAIN (%s); "
		    "refusing to run without it",
		    zmq_strerror(errno));
		return UCR_EIO;
	}
	if (zmq_bind(h->router, h->d.cfg->listen) != 0) {
		snprintf(why, whylen, "cannot listen on %s: %s",
		    h->d.cfg->listen, zmq_strerror(errno));
		return UCR_EIO;
	}
	return 0;
}

/* The hub's own roster entry, written once on a new store. */
static int
enrol_self(struct hub *h, char *why, size_t whylen)
{
	Ucr__Record r = UCR__RECORD__INIT;
	Ucr__RosterEntry e = UCR__ROSTER_ENTRY__INIT;
	struct ucr_put p = {0};
	char key[128], hex[65];
	uint64_t f, l;
	size_t bad;
	int rc;

	ucr_hex(hex, h->d.key->pk, 32);
	snprintf(key, sizeof(key), "region/roster/%s", hex);
	r.key = key;
	r.owner = UCR_REGION;
	r.body_case = UCR__RECORD__BODY_ROSTER;
	r.roster = &e;
	e.municipality = UCR_REGION;
	e.name = h->d.cfg->region;
	e.role = UCR__ROLE__ROLE_HUB;
	e.public_key.data = h->d.key->pk;
	e.public_key.len = 32;
	p.record = &r;
	p.mode = UCR_PUT_CREATE;
	p.adopt_keys = NULL;
	p.nadopt = 0;
	rc = ucr_store_append(h->d.store, h->d.key, &p, 1, &f, &l, &bad, why,
	    whylen);
	return rc == UCR_EEXIST ? 0 : rc;
}

int
main(int argc, char **argv)
{
	struct hub h;
	char why[512];
	struct ucr_daemon_opts o;
	int nozap;
	struct sigaction sa;

	if (ucr_daemon_args(&o, argc, argv, "ucr-hub", UCR_DEFAULT_HUB_CONF) !=
	    0)
		return 2;
	log_init("ucr-hub", 1, o.verbose);
	memset(&h, 0, sizeof(h));
	if (ucr_daemon_open(&h.d, o.conf, 1, o.check, why, sizeof(why)) != 0)
		fatalx("%s", why);
	if (o.check) {
		printf("configuration OK\n");
		ucr_daemon_close(&h.d);
		return 0;
	}
	if (h.d.cfg->log_level > 0)
		o.verbose = 1;
	/* ingest_threads = 2: a group's batches checked ahead (store.h) */
	if (h.d.cfg->ingest_threads == 2)
		ucr_store_set_precheck(h.d.store, UCR_PRECHECK_ON);
	if (enrol_self(&h, why, sizeof(why)) != 0)
		fatalx("cannot write the hub's roster entry: %s", why);
	nozap = 0;
#ifdef UCR_TEST_HOOKS
	/*
	 * Test-only switch, in the test build (ucr-hub-test) only: run
	 * without the ZAP handler (and without the enforced domain) so the
	 * tests can prove the self-test catches it. The hub that ships has
	 * no way to start without its handler.
	 */
	nozap = getenv("UCR_TEST_DISABLE_ZAP") != NULL;
	/*
	 * Test-only switch, in the test build (ucr-hub-test) only: relay as
	 * if batches came in at every pass, so the tests can hold the relay's
	 * bounded wait to its bound (the loop then never sleeps while a relay
	 * is due).
	 */
	h.busy_test = getenv("UCR_TEST_INGEST_BUSY") != NULL;
#endif
	if (!nozap && zap_open(&h, why, sizeof(why)) != 0)
		fatalx("%s", why);
	if (open_router(&h, !nozap, why, sizeof(why)) != 0)
		fatalx("%s", why);
	if (self_test(&h, why, sizeof(why)) != 0)
		fatalx("%s", why);
	if (!o.foreground && daemon(0, 0) != 0)
		fatal("daemon");
	log_init("ucr-hub", o.foreground, o.verbose);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	h.ctl.store = h.d.store;
	h.ctl.key = h.d.key;
	h.ctl.owner = UCR_REGION;
	h.ctl.defer = 1; /* answer writes once journaled */
	ucr_control_open(&h.ctl); /* a staged import left by a crash */
	h.ctl.query = peer_query;
	h.ctl.appended = peer_changed;
	h.ctl.ctx = &h;
	h.ctl.quiesce = peer_checkpoint_wait;
	if (pipe(h.cp_fd) != 0 || fcntl(h.cp_fd[0], F_SETFL, O_NONBLOCK) != 0)
		fatal("pipe");
	h.checkpoint_at = hub_now_ms() + 1000;
	h.changed = 1;
	log_info("hub %s started: listening on %s, store %s, control %s",
	    h.d.cfg->region, h.d.cfg->listen, h.d.cfg->data, h.d.cfg->control);

	while (!hub_quit) {
		zmq_pollitem_t items[3 + UCR_DAEMON_NCTL] = {
		    {h.router, 0, ZMQ_POLLIN, 0},
		    {NULL, peer_checkpoint_fd(&h), ZMQ_POLLIN, 0},
		    {h.zap, 0, ZMQ_POLLIN, 0},
		};
		int nitems = h.zap ? 3 : 2;
		/* the control socket's listener and connections */
		int nctl = ucr_daemon_ctl_items(&h.d, items + nitems);
		int rc = zmq_poll(items, nitems + nctl,
		    ucr_daemon_ctl_timeout(&h.d, peer_timeout(&h)));

		if (rc < 0) {
			if (errno == EINTR)
				continue;
			log_warnx("zmq_poll: %s", zmq_strerror(errno));
			break;
		}
		if (h.zap && (items[2].revents & ZMQ_POLLIN))
			zap_dispatch(&h);
		ucr_daemon_serve(&h.d, &h.ctl, items + nitems, nctl);
		if (items[0].revents & ZMQ_POLLIN)
			peer_dispatch(&h);
		if (items[1].revents & ZMQ_POLLIN)
			peer_checkpoint_done(&h);
		peer_timer(&h);
		ucr_control_tick(&h.ctl);
		if ((rc = ucr_store_reader_tick(h.d.store)) > 0)
			log_info("store: cleared %d stale readers", rc);
	}
	log_info("hub %s stopping", h.d.cfg->region);
	peer_checkpoint_wait(&h); /* before the store closes */
	close(h.cp_fd[0]);
	close(h.cp_fd[1]);
	peer_free_all(&h);
	zmq_close(h.router);
	if (h.zap)
		zmq_close(h.zap);
	free(h.refused);
	ucr_control_close(&h.ctl);
	ucr_daemon_close(&h.d);
	return 0;
}
