/*
 * commitments.c: "ucr commitments", the ten Aalborg themes and the fifty
 * commitments (common/record.c) with the ids the other commands take. The
 * names are printed in the user's language (po/README.md says where the
 * Swedish comes from); --json keeps the English, as all JSON does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clijson.h"
#include "record.h"

#define NTHEMES 10

int
cmd_commitments(int argc, char **argv)
{
	struct cli_flags f;
	const char *t;
	char *end;
	long theme = 0;
	size_t i;
	int rc, last = 0;

	if ((rc = cli_begin(&f, "theme= json", argc, argv)) >= 0)
		return rc;
	if (f.npos != 0)
		return cli_misuse(argv[0]);
	if ((t = cli_flag(&f, "theme")) != NULL) {
		theme = strtol(t, &end, 10);
		if (*t == '\0' || *end != '\0' || theme < 1 ||
		    theme > NTHEMES) {
			cli_error("commitments: --theme: '%s' is not a theme "
				  "(1..10)",
			    t);
			return EXIT_USAGE;
		}
	}
	if (cli_flag_set(&f, "json")) {
		json_t *a = json_array();

		for (i = 0; i < UCR_NCOMMITMENTS; i++) {
			const struct ucr_commitment *c = &ucr_commitments[i];

			if (theme != 0 && c->theme != theme)
				continue;
			json_array_append_new(a,
			    json_pack("{s:s, s:i, s:s, s:s, s:s?}", "id", c->id,
				"theme", c->theme, "theme_name", c->theme_name,
				"title", c->title, "suggested_priority",
				c->priority));
		}
		rc = cli_json_print(a);
		json_decref(a);
		return rc;
	}
	for (i = 0; i < UCR_NCOMMITMENTS; i++) {
		const struct ucr_commitment *c = &ucr_commitments[i];

		if (theme != 0 && c->theme != theme)
			continue;
		if (c->theme != last) {
			printf("%s%2d %s\n", last ? "\n" : "", c->theme,
			    _(c->theme_name));
			last = c->theme;
		}
		printf("   %-5s %s\n", c->id, _(c->title));
	}
	return 0;
}
