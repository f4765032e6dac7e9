/*
 * main.c: ucr-node, the municipal daemon: start-up, the zmq_poll loop,
 * shutdown. Writes come only through the control socket; sync.c keeps the
 * store in step with the hub.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "config.h"
#include "error.h"
#include "log.h"
#include "node.h"

volatile sig_atomic_t node_quit;

static void
on_signal(int sig)
{
	(void)sig;
	node_quit = 1;
}

int
main(int argc, char **argv)
{
	struct node n;
	char why[512];
	struct ucr_daemon_opts o;
	struct sigaction sa;

	if (ucr_daemon_args(&o, argc, argv, "ucr-node",
		UCR_DEFAULT_NODE_CONF) != 0)
		return 2;
	log_init("ucr-node", 1, o.verbose);
	memset(&n, 0, sizeof(n));
	if (ucr_daemon_open(&n.d, o.conf, 0, o.check, why, sizeof(why)) != 0)
		fatalx("%s", why);
	if (o.check) {
		printf("configuration OK\n");
		ucr_daemon_close(&n.d);
		return 0;
	}
	if (n.d.cfg->log_level > 0)
		o.verbose = 1;
	if (!o.foreground) {
		if (daemon(0, 0) != 0)
			fatal("daemon");
	}
	log_init("ucr-node", o.foreground, o.verbose);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	n.ctl.store = n.d.store;
	n.ctl.key = n.d.key;
	n.ctl.owner = n.d.cfg->owner;
	n.ctl.defer = 1; /* answer writes once journaled */
	ucr_control_open(&n.ctl); /* a staged import left by a crash */
	if (*n.d.cfg->hub) {
		if (sync_open(&n.sync, &n, why, sizeof(why)) != 0)
			fatalx("%s", why);
		n.ctl.query = sync_query;
		n.ctl.appended = sync_kick;
		n.ctl.journaled = sync_journaled;
		n.ctl.may_write = sync_may_write;
		n.ctl.ctx = n.sync;
	}
	log_info("node %s started: store %s, control %s, hub %s",
	    n.d.cfg->owner, n.d.cfg->data, n.d.cfg->control,
	    *n.d.cfg->hub ? n.d.cfg->hub : "none (offline)");

	while (!node_quit) {
		zmq_pollitem_t items[2 + UCR_DAEMON_NCTL];
		int nitems = 0, nctl, rc;
		long timeout = 1000;

		if (n.sync) {
			items[0].socket = sync_socket(n.sync);
			items[0].fd = 0;
			items[0].events = ZMQ_POLLIN;
			items[0].revents = 0;
			items[1].socket = sync_monitor(n.sync);
			items[1].fd = 0;
			items[1].events = ZMQ_POLLIN;
			items[1].revents = 0;
			nitems = 2;
			timeout = sync_timeout(n.sync);
		}
		/* the control socket's listener and connections */
		nctl = ucr_daemon_ctl_items(&n.d, items + nitems);
		timeout = ucr_daemon_ctl_timeout(&n.d, timeout);
		rc = zmq_poll(items, nitems + nctl, timeout);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			log_warnx("zmq_poll: %s", zmq_strerror(errno));
			break;
		}
		ucr_daemon_serve(&n.d, &n.ctl, items + nitems, nctl);
		if (n.sync) {
			if (items[1].revents & ZMQ_POLLIN)
				sync_monitor_dispatch(n.sync);
			if (items[0].revents & ZMQ_POLLIN)
				sync_dispatch(n.sync);
			sync_timer(n.sync);
		}
		ucr_control_tick(&n.ctl);
		if ((rc = ucr_store_reader_tick(n.d.store)) > 0)
			log_info("store: cleared %d stale readers", rc);
	}
	log_info("node %s stopping", n.d.cfg->owner);
	sync_free(n.sync);
	ucr_control_close(&n.ctl);
	ucr_daemon_close(&n.d);
	return 0;
}
