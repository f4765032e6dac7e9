/*
 * fuzz_control.c: the daemons' control request decoder and handler
 * (common/control.c) on a node's real store: puts, all-or-nothing
 * batches of puts and queries, as the ucr command sends them.
 */
#include <stdlib.h>

#include "control.h"
#include "fuzzutil.h"

static int dirty = 1;

static void
appended(void *ctx)
{
	(void)ctx;
	dirty = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ucr_control c = {0};
	uint8_t *out = NULL;
	size_t outlen = 0;

	fz_init();
	if (dirty) {
		fz_fresh_node();
		dirty = 0;
	}
	c.store = fz_store;
	c.key = fz_node2;
	c.owner = "2480";
	c.appended = appended;
	(void)ucr_control_handle(&c, data, size, &out, &outlen);
	free(out);
	/* A daemon keeps an unfinished import for its next request; the
	   control object of one input ends here, as a daemon's does. */
	ucr_control_close(&c);
	return 0;
}
