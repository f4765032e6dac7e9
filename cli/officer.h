/*
 * officer.h: building and sending records from the command line; shared by
 * the write commands and the hub's administration commands.
 */
#ifndef UCR_OFFICER_H
#define UCR_OFFICER_H

#include <stddef.h>

#include "config.h"
#include "ucr.pb-c.h"

/* Command-line words for enum values. Tables end with a NULL name. */
struct cli_enum {
	const char *name;
	int value;
};
extern const struct cli_enum *const cli_enum_trend,
    *const cli_enum_direction,
	*const cli_enum_gender,
	    *const cli_enum_mstatus,
		*const cli_enum_tstatus,
		    *const cli_enum_pstatus,
			*const cli_enum_mkind,
			    *const cli_enum_scope,
				*const cli_enum_body,
				    *const cli_enum_subject,
					*const cli_enum_outcome;
int cli_enum_parse(const struct cli_enum *e, const char *s, int *out);
const char *cli_enum_name(const struct cli_enum *e, int v);

/* A new record of owner with an empty body of kind; exits on no memory.
 * Free with ucr__record__free_unpacked(r, NULL). */
Ucr__Record *cli_record_new(const char *owner, Ucr__Record__BodyCase kind);
/* The current version of key from the configured store, or NULL. */
Ucr__Record *cli_record_load(const struct ucr_config *cfg, const char *key);
/* KIND/ID -> OWNER/KIND/ID; a full key is copied as it is. */
void cli_full_key(char *buf, size_t len, const char *owner, const char *key);
/*
 * Validate r and send it as one Put (mode UCR_PUT_*); prints
 * "KEY done (seq N)" or the error. Returns the exit status.
 */
int cli_put(const struct ucr_config *cfg, Ucr__Record *r, int mode,
    char **adopts, size_t nadopt, const char *cmd, const char *verb,
    const char *done);

#endif
