/*
 * daemon.h: start-up and shutdown shared by ucr-node and ucr-hub: the
 * configuration, the key, the store and the control socket, each checked
 * with an error that says what to do. No exit() here: the daemons' mains
 * decide (fatalx) with the message.
 */
#ifndef UCR_DAEMON_H
#define UCR_DAEMON_H

#include <stddef.h>

#include <zmq.h>

#include "config.h"
#include "ctlsrv.h"
#include "keys.h"
#include "store.h"

struct ucr_daemon {
	struct ucr_config *cfg;
	struct ucr_key *key;
	struct ucr_store *store;
	void *zctx; /* ZeroMQ context (the hub's and the sync sockets) */
	struct ucr_ctlsrv *control; /* on cfg->control (ctlsrv.h) */
	struct ucr_control *ctl;    /* what answers it (ucr_daemon_serve) */
};

/*
 * Load and check conf as a node's (hub = 0) or a hub's configuration, and
 * its key. Unless check_only, also open the store (exclusively: a second
 * daemon on the same store gets UCR_ELOCKED), make or check its identity,
 * and listen on the control socket (file mode 0660). why gets a one-line
 * reason.
 */
int ucr_daemon_open(struct ucr_daemon *d, const char *conf, int hub,
    int check_only, char *why, size_t whylen);
/*
 * The options both daemons take: -f FILE -d -n -v --verify. Every
 * ucr_daemon_open checks the store before serving (heads and each log's
 * newest batch; with --verify every entry) and refuses a store that fails.
 */
struct ucr_daemon_opts {
	const char *conf; /* -f, else the default */
	int foreground;   /* -d */
	int check;        /* -n */
	int verbose;      /* -v */
	int verify;       /* --verify: the full store check at start-up */
};
/* Parse argv; 0, or -1 after printing the usage to stderr. */
int ucr_daemon_args(struct ucr_daemon_opts *o, int argc, char **argv,
    const char *name, const char *defconf);

struct ucr_control;
/*
 * The control socket in the daemon's zmq_poll loop: its listener and its
 * connections as raw descriptors. ucr_daemon_ctl_items fills items (room
 * for UCR_DAEMON_NCTL) and returns how many; after the poll,
 * ucr_daemon_serve takes them back with their revents and accepts, reads,
 * answers each complete request with c (ucr_control_handle: every request
 * gets a reply, an error reply if nothing better can be built), writes
 * and closes what is done or out of time. ucr_daemon_ctl_timeout: the
 * poll's timeout (ms, -1 none) shortened to the control socket's next
 * deadline.
 */
#define UCR_DAEMON_NCTL UCR_CTLSRV_NPOLL
int ucr_daemon_ctl_items(struct ucr_daemon *d, zmq_pollitem_t *items);
void ucr_daemon_serve(struct ucr_daemon *d, struct ucr_control *c,
    const zmq_pollitem_t *items, int n);
long ucr_daemon_ctl_timeout(struct ucr_daemon *d, long timeout);

/* Close in reverse order of set-up; NULL-safe on every member. */
void ucr_daemon_close(struct ucr_daemon *d);

#endif
