/*
 * sync.c: the node's side of the sync protocol (placeholder until the
 * sync issue lands: a node with a hub configured refuses to start).
 */
#include <stdio.h>

#include "error.h"
#include "node.h"

int
sync_open(struct sync **out, struct node *n, char *why, size_t whylen)
{
	(void)n;
	*out = NULL;
	snprintf(why, whylen, "sync to a hub is not built yet; leave 'hub' and "
	    "'hub_key' empty");
	return UCR_EINVAL;
}

void sync_free(struct sync *s) { (void)s; }
void *sync_socket(struct sync *s) { (void)s; return NULL; }
int64_t sync_timeout(struct sync *s) { (void)s; return 1000; }
void sync_dispatch(struct sync *s) { (void)s; }
void sync_timer(struct sync *s) { (void)s; }
void sync_kick(void *s) { (void)s; }
void sync_query(const char *what, Ucr__Reply *rep, void *ctx) { (void)what; (void)rep; (void)ctx; }
