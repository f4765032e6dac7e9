/*
 * node.h: ucr-node, the municipal daemon. One internal header, split by
 * file (ntpd style).
 */
#ifndef UCR_NODE_H
#define UCR_NODE_H

#include <signal.h>
#include <stdint.h>

#include "control.h"
#include "daemon.h"

struct sync;

/* All daemon state. */
struct node {
	struct ucr_daemon d;    /* config, key, store, control socket */
	struct ucr_control ctl; /* control request handling */
	struct sync *sync;      /* hub connection, NULL when offline */
};

extern volatile sig_atomic_t node_quit;

/* sync.c */
int sync_open(struct sync **out, struct node *n, char *why, size_t whylen);
void sync_free(struct sync *s);
void *sync_socket(struct sync *s);
void *sync_monitor(struct sync *s); /* the socket's connection events */
void sync_monitor_dispatch(struct sync *s);
int64_t sync_timeout(struct sync *s); /* ms until the next deadline */
void sync_dispatch(struct sync *s);   /* the socket is readable */
void sync_timer(struct sync *s);      /* deadlines due */
void sync_kick(void *s);              /* local writes were appended */
void sync_journaled(void *s); /* an answered write waits for its commit */
int sync_may_write(void *s, char *why, size_t whylen);
void sync_query(const char *what, Ucr__Reply *rep, void *ctx);

#endif
