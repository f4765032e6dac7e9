/*
 * fuzz_zmtp_reply.c: the server's side of a control socket connection as
 * ucr parses it (cli/zmtp.c): greeting, commands, READY, the reply's
 * frames; then the reply decoded as ucr decodes it (cli/common.c). The
 * first byte of the input is how the rest arrives: in pieces of that many
 * bytes (0: all at once), as reads from the socket would split it.
 */
#include <stdlib.h>

#include "fuzzutil.h"
#include "ucr.pb-c.h"
#include "zmtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cli_zmtp_in in;
	Ucr__Reply *rep;
	size_t piece, off = 0, n;

	if (size == 0)
		return 0;
	piece = data[0] ? data[0] : size;
	data++;
	size--;
	cli_zmtp_in_init(&in, CLI_ZMTP_MAXREPLY);
	while (off < size && in.state != CLI_ZMTP_DONE &&
	    in.state != CLI_ZMTP_FAILED) {
		n = size - off < piece ? size - off : piece;
		if (cli_zmtp_feed(&in, data + off, n) > n)
			abort();
		off += n;
	}
	if (in.state == CLI_ZMTP_DONE) {
		if (in.bodylen > CLI_ZMTP_MAXREPLY || in.body == NULL)
			abort();
		if ((rep = ucr__reply__unpack(NULL, in.bodylen, in.body)) !=
		    NULL)
			ucr__reply__free_unpacked(rep, NULL);
	}
	cli_zmtp_in_free(&in);
	return 0;
}
