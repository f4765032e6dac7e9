/*
 * checkpoint.c: ucr checkpoint clear, the way out for a store whose
 * stored checkpoint is unusable (damaged, or signed by a hub key the
 * configuration no longer names). Such a store refuses every checkpoint
 * the hub sends (ECHECKPOINT, an ALARM every 10 s): the check fails
 * closed (common/checkpoint.h). Clearing it lets the next checkpoint in
 * without a rollback check; a usable one is kept unless --force. The
 * daemon must be stopped: the store is opened with its lock.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "checkpoint.h"
#include "cli.h"
#include "clijson.h"
#include "error.h"
#include "i18n.h"
#include "keys.h"
#include "record.h"

/* The hub key a store's checkpoints are checked with: a node's configured
 * hub_key, or the hub's own key. */
static int
checkpoint_hub_key(struct ucr_store *s, const struct ucr_config *cfg,
    uint8_t hub[32])
{
	uint8_t self[32];
	char owner[16] = "";

	if (ucr_store_identity(s, self, NULL, owner, sizeof(owner)) == 0 &&
	    strcmp(owner, UCR_REGION) == 0) {
		memcpy(hub, self, 32);
		return 0;
	}
	if (cfg->hub_key == NULL || ucr_unhex(hub, 32, cfg->hub_key) != 0) {
		cli_error(
		    _("checkpoint: %s names no hub_key (64 hex digits) to "
		      "check the stored checkpoint with"),
		    cfg->path);
		return -1;
	}
	return 0;
}

int
cmd_checkpoint(int argc, char **argv)
{
	struct cli_flags f;
	struct ucr_config *cfg = NULL;
	struct ucr_store *s = NULL;
	uint8_t hub[32];
	char why[256] = "";
	int rc, ret = 1;

	CLI_BEGIN(&f, "force json", argc, argv);
	if (f.npos != 1 || strcmp(f.pos[0], "clear") != 0)
		return cli_misuse(argv[0]);
	if (cli_load_config(&cfg) != 0)
		return 1;
	rc = ucr_store_open(&s, cfg->data, UCR_STORE_EXCLUSIVE, cfg->map_size);
	if (rc != 0) {
		if (rc == UCR_ELOCKED)
			cli_error(
			    _("checkpoint clear: %s is in use by a running "
			      "daemon; stop it first"),
			    cfg->data);
		else
			cli_error(
			    _("checkpoint clear: cannot open store %s: %s"),
			    cfg->data,
			    rc == UCR_EIO ? strerror(errno)
					  : ucr_strerror_l(rc));
		goto leave;
	}
	if (checkpoint_hub_key(s, cfg, hub) != 0)
		goto leave;
	rc = ucr_checkpoint_clear(s, hub, cfg->region,
	    cli_flag_set(&f, "force"), why, sizeof(why));
	if (rc != 0 && rc != UCR_ENOTFOUND) {
		cli_error(_("checkpoint clear: %s"), ucr_strerror_l(rc));
		goto leave;
	}
	if (cli_flag_set(&f, "json")) {
		json_t *j = json_pack("{s:b, s:s}", "cleared", rc == 0, "why",
		    rc == 0 ? why : "");

		cli_json_print(j);
		json_decref(j);
	} else if (rc == UCR_ENOTFOUND)
		printf("%s", _("no checkpoint stored: nothing to clear\n"));
	else
		printf(_("checkpoint cleared (%s); the next one from the hub "
			 "is taken without a rollback check\n"),
		    why);
	ret = 0;
leave:
	ucr_store_free(s);
	ucr_config_free(cfg);
	return ret;
}
