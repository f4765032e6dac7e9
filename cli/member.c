/*
 * member.c: the region's members. "ucr member add CODE --name NAME
 * [--population N]" (hub) admits one of Sweden's 290 municipalities
 * (common/municipalities_se.c) with a Member record, key
 * region/member/<code>; "ucr roster add" then enrols keys for it. A region
 * without Member records has the six default members (the demo's).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "officer.h"
#include "record.h"

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
cli_member_check(const struct ucr_config *cfg, const char *code)
{
	char key[64];
	Ucr__Record *r;

	if (ucr_municipality_find(code) != NULL)
		return 0; /* one of the six default members */
	snprintf(key, sizeof(key), "region/member/%s", code);
	if ((r = cli_record_load(cfg, key)) != NULL) {
		ucr__record__free_unpacked(r, NULL);
		return 0;
	}
	return -1;
}

int
cmd_member(int argc, char **argv)
{
	struct cli_flags f;
	struct ucr_config *cfg = NULL;
	Ucr__Record *r = NULL;
	const struct ucr_municipality_se *se;
	const char *name, *pop;
	char key[64], *end;
	long long population = 0;
	int rc = 1;

	CLI_BEGIN(&f, "name= population= json", argc, argv);
	if (f.npos != 2 || strcmp(f.pos[0], "add") != 0)
		return cli_misuse(argv[0]);
	if ((se = ucr_municipality_se_find(f.pos[1])) == NULL) {
		cli_error(
		    "member add: %s: not one of Sweden's 290 municipality "
		    "codes (SCB, four digits, e.g. 2284)",
		    f.pos[1]);
		return 1;
	}
	name = cli_flag(&f, "name");
	if (name == NULL || *name == '\0') {
		cli_error("member add: name: required (SCB's name of %s: %s)",
		    se->code, se->name);
		return 1;
	}
	if ((pop = cli_flag(&f, "population")) != NULL) {
		errno = 0;
		population = strtoll(pop, &end, 10);
		if (errno != 0 || end == pop || *end != '\0' ||
		    population < 0) {
			cli_error("member add: population: '%s' is not a "
				  "whole number of 0 or more",
			    pop);
			return 1;
		}
	}
	if (cli_load_config(&cfg) != 0)
		goto leave;
	if (!cfg->is_hub) {
		cli_error("member: a hub command; give the hub's configuration "
			  "with -c (e.g. -c /etc/ucr/hub.conf)");
		goto leave;
	}
	r = cli_record_new(UCR_REGION, UCR__RECORD__BODY_MEMBER);
	snprintf(key, sizeof(key), "region/member/%s", se->code);
	r->key = dup_or_die(key);
	r->member->code = dup_or_die(se->code);
	r->member->name = dup_or_die(name);
	r->member->population = population;
	rc = cli_put(cfg, r, UCR_PUT_UPSERT, NULL, 0, "member", "add",
	    "admitted");
leave:
	if (r != NULL)
		ucr__record__free_unpacked(r, NULL);
	ucr_config_free(cfg);
	return rc;
}
