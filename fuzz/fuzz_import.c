/*
 * fuzz_import.c: the import parsers (cli/import.c) on a file of fuzz
 * input: JSON, CSV or a Kolada export, by FZ_IMPORT (0, 1, 2) at build
 * time. A file is refused with a message or read whole; never a crash.
 */
#include <stdio.h>

#include "fuzzutil.h"
#include "import.h"

#if FZ_IMPORT == 0
#define FZ_NAME "input.json"
#define FZ_KOLADA 0
#elif FZ_IMPORT == 1
#define FZ_NAME "input.csv"
#define FZ_KOLADA 0
#else
#define FZ_NAME "input.json"
#define FZ_KOLADA 1
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct import_set set = {0};
	char why[512];

	fz_init();
	(void)import_load(&set, fz_file(FZ_NAME, data, size), FZ_KOLADA, "2403",
	    why, sizeof(why), NULL, NULL);
	import_free(&set);
	return 0;
}
