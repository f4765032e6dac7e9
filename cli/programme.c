/*
 * programme.c: the hub's records of the programme's rules: its period
 * ("ucr programme set") and the region's network register ("ucr network
 * register"). Both are regional records every node receives; the view
 * counts the goals by them (docs/view.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "officer.h"
#include "record.h"

static int
hub_only(const struct ucr_config *cfg, const char *cmd)
{
	if (!cfg->is_hub) {
		cli_error("%s: a hub command; give the hub's configuration "
			  "with -c (e.g. -c /etc/ucr/hub.conf)",
		    cmd);
		return -1;
	}
	return 0;
}

static char *
dup_or_die(const char *s)
{
	char *p = strdup(s);

	if (p == NULL) {
		cli_error("out of memory");
		exit(1);
	}
	return p;
}

int
cmd_programme(int argc, char **argv)
{
	struct cli_flags f;
	struct ucr_config *cfg = NULL;
	Ucr__Record *r = NULL;
	const char *start, *end;
	int rc = 1;

	CLI_BEGIN(&f, "start= end= json", argc, argv);
	if (f.npos != 1 || strcmp(f.pos[0], "set") != 0)
		return cli_misuse(argv[0]);
	start = cli_flag(&f, "start");
	end = cli_flag(&f, "end");
	if (start == NULL || end == NULL) {
		cli_error("programme set: %s: required",
		    start == NULL ? "start" : "end");
		return 1;
	}
	if (!ucr_date_valid(start) || !ucr_date_valid(end)) {
		cli_error("programme set: %s: '%s' is not a date (YYYY-MM-DD)",
		    ucr_date_valid(start) ? "end" : "start",
		    ucr_date_valid(start) ? end : start);
		return 1;
	}
	if (strcmp(start, end) > 0) {
		cli_error("programme set: end: %s is before the start %s", end,
		    start);
		return 1;
	}
	if (cli_load_config(&cfg) != 0 || hub_only(cfg, "programme") != 0)
		goto leave;
	r = cli_record_new(UCR_REGION, UCR__RECORD__BODY_PROGRAMME);
	r->key = dup_or_die("region/programme/programme");
	r->programme->start = dup_or_die(start);
	r->programme->end = dup_or_die(end);
	rc =
	    cli_put(cfg, r, UCR_PUT_UPSERT, NULL, 0, "programme", "set", "set");
leave:
	if (r != NULL)
		ucr__record__free_unpacked(r, NULL);
	ucr_config_free(cfg);
	return rc;
}

/*
 * ucr network register ID --name NAME [--alias TEXT]... [--scope S]:
 * every --alias given is kept (the flag may be repeated). Registering an
 * ID again replaces the entry.
 */
int
cli_network_register(int argc, char **argv)
{
	struct cli_flags f;
	struct ucr_config *cfg = NULL;
	Ucr__Record *r = NULL;
	char key[256];
	int rc = 1, i, scope = 0;
	const char *v;

	CLI_BEGIN(&f, "name= alias= scope=", argc, argv);
	if (f.npos != 2 || strcmp(f.pos[0], "register") != 0)
		return cli_misuse(argv[0]);
	if ((v = cli_flag(&f, "name")) == NULL) {
		cli_error("network register: name: required");
		return 1;
	}
	if ((v = cli_flag(&f, "scope")) != NULL &&
	    cli_enum_parse(cli_enum_scope, v, &scope) != 0) {
		cli_error("network register: scope: '%s' is not one of "
			  "national|international",
		    v);
		return 1;
	}
	if (cli_load_config(&cfg) != 0 || hub_only(cfg, "network") != 0)
		goto leave;
	r = cli_record_new(UCR_REGION, UCR__RECORD__BODY_NETWORK_ENTRY);
	snprintf(key, sizeof(key), "region/register/%s", f.pos[1]);
	r->key = dup_or_die(key);
	r->network_entry->id = dup_or_die(f.pos[1]);
	r->network_entry->name = dup_or_die(cli_flag(&f, "name"));
	r->network_entry->scope = scope;
	for (i = 0; i < f.n; i++) {
		char **p;

		if (strncmp(f.name[i], "alias", 5) != 0 ||
		    (f.name[i][5] != '\0' && f.name[i][5] != '='))
			continue;
		p = realloc(r->network_entry->aliases,
		    (r->network_entry->n_aliases + 1) * sizeof(*p));
		if (p == NULL) {
			cli_error("out of memory");
			goto leave;
		}
		r->network_entry->aliases = p;
		p[r->network_entry->n_aliases++] = dup_or_die(f.value[i]);
	}
	rc = cli_put(cfg, r, UCR_PUT_UPSERT, NULL, 0, "network", "register",
	    "registered");
leave:
	if (r != NULL)
		ucr__record__free_unpacked(r, NULL);
	ucr_config_free(cfg);
	return rc;
}
