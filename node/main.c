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

static void
usage(void)
{
	fprintf(stderr,
	    "usage: ucr-node [-dnv] [-f FILE]\n"
	    "  -f FILE  configuration (default " UCR_DEFAULT_NODE_CONF ")\n"
	    "  -d       stay in the foreground and log to stderr\n"
	    "  -n       check the configuration and key, print "
	    "'configuration OK', exit\n"
	    "  -v       more logging\n");
	exit(2);
}

static void
control_dispatch(struct node *n)
{
	zmq_msg_t in;
	uint8_t *out = NULL;
	size_t outlen = 0;

	zmq_msg_init(&in);
	if (zmq_msg_recv(&in, n->d.control, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&in);
		return;
	}
	if (ucr_control_handle(&n->ctl, zmq_msg_data(&in), zmq_msg_size(&in),
	    &out, &outlen) != 0) {
		/* REP must answer: an empty reply decodes as code 0, so send
		 * a minimal error reply by hand. */
		static const uint8_t oom[] = {0x08, 0x03}; /* code = -2 zigzag */

		zmq_send(n->d.control, oom, sizeof(oom), 0);
	} else
		zmq_send(n->d.control, out, outlen, 0);
	free(out);
	zmq_msg_close(&in);
}

int
main(int argc, char **argv)
{
	struct node n;
	const char *conf = UCR_DEFAULT_NODE_CONF;
	char why[512];
	int ch, foreground = 0, check = 0, verbose = 0;
	struct sigaction sa;

	while ((ch = getopt(argc, argv, "df:nvh")) != -1) {
		switch (ch) {
		case 'd':
			foreground = 1;
			break;
		case 'f':
			conf = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("ucr-node", 1, verbose);
	memset(&n, 0, sizeof(n));
	if (ucr_daemon_open(&n.d, conf, 0, check, why, sizeof(why)) != 0)
		fatalx("%s", why);
	if (check) {
		printf("configuration OK\n");
		ucr_daemon_close(&n.d);
		return 0;
	}
	if (n.d.cfg->log_level > 0)
		verbose = 1;
	if (!foreground) {
		if (daemon(0, 0) != 0)
			fatal("daemon");
	}
	log_init("ucr-node", foreground, verbose);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	n.ctl.store = n.d.store;
	n.ctl.key = n.d.key;
	n.ctl.owner = n.d.cfg->owner;
	if (*n.d.cfg->hub) {
		if (sync_open(&n.sync, &n, why, sizeof(why)) != 0)
			fatalx("%s", why);
		n.ctl.query = sync_query;
		n.ctl.appended = sync_kick;
		n.ctl.may_write = sync_may_write;
		n.ctl.ctx = n.sync;
	}
	log_info("node %s started: store %s, control %s, hub %s",
	    n.d.cfg->owner, n.d.cfg->data, n.d.cfg->control,
	    *n.d.cfg->hub ? n.d.cfg->hub : "none (offline)");

	while (!node_quit) {
		zmq_pollitem_t items[3];
		int nitems = 1, rc;
		long timeout = 1000;

		items[0].socket = n.d.control;
		items[0].fd = 0;
		items[0].events = ZMQ_POLLIN;
		items[0].revents = 0;
		if (n.sync) {
			items[1].socket = sync_socket(n.sync);
			items[1].fd = 0;
			items[1].events = ZMQ_POLLIN;
			items[1].revents = 0;
			items[2].socket = sync_monitor(n.sync);
			items[2].fd = 0;
			items[2].events = ZMQ_POLLIN;
			items[2].revents = 0;
			nitems = 3;
			timeout = sync_timeout(n.sync);
		}
		rc = zmq_poll(items, nitems, timeout);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			log_warnx("zmq_poll: %s", zmq_strerror(errno));
			break;
		}
		if (items[0].revents & ZMQ_POLLIN)
			control_dispatch(&n);
		if (n.sync) {
			if (items[2].revents & ZMQ_POLLIN)
				sync_monitor_dispatch(n.sync);
			if (items[1].revents & ZMQ_POLLIN)
				sync_dispatch(n.sync);
			sync_timer(n.sync);
		}
	}
	log_info("node %s stopping", n.d.cfg->owner);
	sync_free(n.sync);
	ucr_daemon_close(&n.d);
	return 0;
}
