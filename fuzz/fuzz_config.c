/*
 * fuzz_config.c: the configuration parser (common/config.c, inih) on a
 * file of fuzz input. A bad file is refused with a line-numbered message.
 */
#include "config.h"
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ucr_config *c = NULL;
	char why[512];

	fz_init();
	if (ucr_config_load(&c, fz_file("fuzz.conf", data, size), why,
		sizeof(why)) == 0)
		ucr_config_free(c);
	return 0;
}
