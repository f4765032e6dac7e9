/* ucr.c: the ucr program; everything else is in the ucrcli library. */
#include "i18n.h"

int cli_main(int argc, char **argv);

int
main(int argc, char **argv)
{
	ucr_i18n_init();
	return cli_main(argc, argv);
}
