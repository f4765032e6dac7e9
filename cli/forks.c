/*
 * forks.c: ucr forks, the forks a store holds evidence of, each checked
 * (common/fork.h) and, with --json, exported: both signed batches in hex,
 * for a third party to verify with the author's public key alone.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "clijson.h"
#include "error.h"
#include "fork.h"
#include "record.h"

struct forks_out {
	const char *region;
	json_t *arr;
	int json;
	size_t count, bad;
};

static json_t *
hexstr(const uint8_t *p, size_t n)
{
	char *h = malloc(2 * n + 1);
	json_t *j;

	if (h == NULL)
		return json_null();
	ucr_hex(h, p, n);
	j = json_string(h);
	free(h);
	return j;
}

static int
forks_cb(const struct ucr_quarantine *q, void *arg)
{
	struct forks_out *o = arg;
	char author[2 * UCR_PK_LEN + 1] = "", why[256] = "";
	uint64_t seq = 0;
	int rc = UCR_ENOTFOUND, has;

	if (strncmp(q->reason, "fork", 4) != 0 || q->author == NULL)
		return 0;
	o->count++;
	ucr_hex(author, q->author, UCR_PK_LEN);
	has = q->held_batchlen > 0 && q->offered_batchlen > 0;
	if (has)
		rc = ucr_fork_evidence_check(q->held_batch, q->held_batchlen,
		    q->offered_batch, q->offered_batchlen, o->region, q->author,
		    &seq, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "no signed batches kept");
	if (has && rc != 0)
		o->bad++;
	if (o->json) {
		json_t *j = json_object();

		json_object_set_new(j, "time",
		    json_integer((json_int_t)q->time));
		json_object_set_new(j, "reason", json_string(q->reason));
		json_object_set_new(j, "author", json_string(author));
		json_object_set_new(j, "epoch",
		    json_integer((json_int_t)q->epoch));
		json_object_set_new(j, "seq", json_integer((json_int_t)q->seq));
		json_object_set_new(j, "evidence", json_boolean(has));
		json_object_set_new(j, "verified", json_boolean(rc == 0));
		json_object_set_new(j, "check", json_string(why));
		if (has) {
			json_object_set_new(j, "held_batch",
			    hexstr(q->held_batch, q->held_batchlen));
			json_object_set_new(j, "offered_batch",
			    hexstr(q->offered_batch, q->offered_batchlen));
		}
		json_array_append_new(o->arr, j);
	} else
		printf(_("%.16s… epoch %016" PRIx64 " seq %" PRIu64
			 ": %s: %s%s\n"),
		    author, q->epoch, q->seq, q->reason,
		    !has          ? ""
			: rc == 0 ? _("evidence verified: ")
				  : _("BAD evidence: "),
		    why);
	return 0;
}

int
cmd_forks(int argc, char **argv)
{
	struct cli_flags f;
	struct ucr_config *cfg = NULL;
	struct ucr_store *s = NULL;
	struct forks_out o;
	const char *data, *region;
	int rc;

	CLI_BEGIN(&f, "data= region= json", argc, argv);
	if (f.npos != 0)
		return cli_misuse(argv[0]);
	if (cli_open_store_flags(&f, "forks", &cfg, &s, &data, &region) != 0)
		return 1;
	memset(&o, 0, sizeof(o));
	o.region = region;
	o.json = cli_flag_set(&f, "json");
	o.arr = json_array();
	rc = ucr_store_foreach_quarantine(s, forks_cb, &o);
	if (rc != 0)
		cli_error("forks: reading the quarantine: %s",
		    ucr_strerror_l(rc));
	else if (o.json) {
		json_t *j = json_object();

		json_object_set_new(j, "region", json_string(region));
		json_object_set_new(j, "forks", o.arr);
		o.arr = NULL;
		cli_json_print(j);
		json_decref(j);
	} else if (o.count == 0)
		printf("%s", _("no forks\n"));
	json_decref(o.arr);
	if (rc == 0 && o.bad > 0)
		cli_error("forks: %zu fork reports whose evidence does not "
			  "verify",
		    o.bad);
	ucr_store_free(s);
	ucr_config_free(cfg);
	return rc == 0 && o.bad == 0 ? 0 : 1;
}
