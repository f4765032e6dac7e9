/*
 * fuzz_ctlsrv.c: the client's side of a control socket connection as the
 * daemons' server reads it (common/ctlsrv.c): greeting, READY, commands,
 * requests, with the real limit on a request (UCR_CONTROL_MAXMSG). The
 * first byte of the input is how the rest arrives: in pieces of that many
 * bytes (0: all at once), as reads from the socket would split it; what a
 * complete request leaves unconsumed is offered again after it, as the
 * server does once its reply is written.
 */
#include <stdlib.h>

#include "control.h"
#include "ctlsrv.h"
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ucr_ctlsrv_in in;
	size_t piece, off = 0, n, used;

	if (size == 0)
		return 0;
	piece = data[0] ? data[0] : size;
	data++;
	size--;
	ucr_ctlsrv_in_init(&in, UCR_CONTROL_MAXMSG);
	while (off < size && in.state != UCR_CTLSRV_S_FAILED) {
		n = size - off < piece ? size - off : piece;
		while (n > 0 && in.state != UCR_CTLSRV_S_FAILED) {
			used = ucr_ctlsrv_feed(&in, data + off, n);
			if (used > n)
				abort();
			off += used;
			n -= used;
			if (in.state == UCR_CTLSRV_S_REQ) {
				if (!in.ready || in.bodylen > in.max ||
				    (in.body == NULL && !in.multi))
					abort();
				ucr_ctlsrv_in_next(&in);
			} else if (n > 0 && in.state != UCR_CTLSRV_S_FAILED)
				abort(); /* stopped for no reason */
		}
	}
	if (in.state == UCR_CTLSRV_S_FAILED &&
	    (in.fault < UCR_CTLSRV_F_GREETING || in.fault > UCR_CTLSRV_F_NOMEM))
		abort();
	ucr_ctlsrv_in_free(&in);
	return 0;
}
