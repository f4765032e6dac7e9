/* main.c: ucr-hub (placeholder main until the sync issue lands). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "log.h"

int
main(int argc, char **argv)
{
	struct ucr_daemon d;
	const char *conf = UCR_DEFAULT_HUB_CONF;
	char why[512];
	int ch, check = 0;

	while ((ch = getopt(argc, argv, "df:nv")) != -1)
		if (ch == 'f')
			conf = optarg;
		else if (ch == 'n')
			check = 1;
	log_init("ucr-hub", 1, 0);
	if (ucr_daemon_open(&d, conf, 1, check, why, sizeof(why)) != 0)
		fatalx("%s", why);
	if (check)
		printf("configuration OK\n");
	ucr_daemon_close(&d);
	return 0;
}
