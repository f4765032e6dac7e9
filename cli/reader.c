/*
 * reader.c: the reader's side of the view over the network. "ucr init
 * reader" makes a key and a reader.conf; with that configuration the view
 * queries (status, plan, cycle, explain, report) ask the hub over CURVE
 * (a ViewQuery frame) and fold its answer here, as they fold a local
 * daemon's; show and export page through the records with RecordQuery
 * frames (records.c). A reader holds no store and never writes (docs/view.md,
 * docs/operations.md).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "chain.h"
#include "cli.h"
#include "clijson.h"
#include "dl.h"
#include "error.h"
#include "keys.h"
#include "record.h"
#include "view.h"
#include "wire.h"

#define READER_TIMEOUT_MS 30000

/*
 * A connection to the hub with a reader's key: CURVE, the hub's key
 * pinned. Prints the error; 0 or -1 (cli_hub_close frees either way).
 */
int
cli_hub_open(struct cli_hub *c, const struct ucr_config *cfg)
{
	uint8_t hubpk[UCR_PK_LEN];
	char server[41], pub[41];
	const char *env;
	int linger = 0, e;

	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->timeout = READER_TIMEOUT_MS;
	if ((env = getenv("UCR_TIMEOUT")) != NULL && atoi(env) > 0)
		c->timeout = atoi(env) * 1000;
	if ((e = ucr_key_load(&c->key, cfg->key)) != 0) {
		cli_error("cannot read the key %s: %s", cfg->key,
		    ucr_strerror_l(e));
		return -1;
	}
	if (ucr_unhex(hubpk, sizeof(hubpk), cfg->hub_key) != 0 ||
	    ucr_key_curve_public(server, hubpk) != 0 ||
	    ucr_key_curve_public(pub, c->key->pk) != 0 ||
	    ucr_key_curve_secret(&c->sec, c->key) != 0) {
		cli_error("%s: hub_key is not a hub's public key (64 hex)",
		    cfg->path);
		return -1;
	}
	/* libzmq, for CURVE: loaded now (dl.h), not at every ucr start */
	if (dl_zmq("reader") != 0)
		return -1;
	if ((c->ctx = ZMQ(zmq_ctx_new)()) == NULL ||
	    (c->sock = ZMQ(zmq_socket)(c->ctx, ZMQ_DEALER)) == NULL ||
	    ZMQ(zmq_setsockopt)(c->sock, ZMQ_LINGER, &linger, sizeof(linger)) !=
		0 ||
	    ZMQ(zmq_setsockopt)(c->sock, ZMQ_CURVE_SERVERKEY, server, 40) !=
		0 ||
	    ZMQ(zmq_setsockopt)(c->sock, ZMQ_CURVE_PUBLICKEY, pub, 40) != 0 ||
	    ZMQ(zmq_setsockopt)(c->sock, ZMQ_CURVE_SECRETKEY, c->sec, 40) !=
		0 ||
	    ZMQ(zmq_connect)(c->sock, cfg->hub) != 0) {
		cli_error("cannot connect to the hub at %s: %s", cfg->hub,
		    ZMQ(zmq_strerror)(errno));
		return -1;
	}
	return 0;
}

void
cli_hub_close(struct cli_hub *c)
{
	if (c->sock)
		ZMQ(zmq_close)(c->sock);
	if (c->ctx)
		ZMQ(zmq_ctx_term)(c->ctx);
	if (c->sec != NULL)
		sodium_free(c->sec); /* wiped by libsodium */
	ucr_key_free(c->key);
	memset(c, 0, sizeof(*c));
}

/*
 * Send q and wait for the hub's answer of the case want. Prints the error
 * (no answer, an Error frame, another frame); 0 and *a (free with
 * ucr__frame__free_unpacked), or -1.
 */
int
cli_hub_ask(struct cli_hub *c, const Ucr__Frame *q, Ucr__Frame__BodyCase want,
    Ucr__Frame **a)
{
	const struct ucr_config *cfg = c->cfg;
	zmq_pollitem_t item;
	zmq_msg_t msg;
	uint8_t *buf;
	size_t len;
	int n, e;

	*a = NULL;
	if ((e = ucr_wire_encode(&buf, &len, q)) != 0) {
		cli_error("cannot send to the hub at %s: %s", cfg->hub,
		    ucr_strerror_l(e));
		return -1;
	}
	n = ZMQ(zmq_send)(c->sock, buf, len, 0);
	free(buf);
	if (n < 0) {
		cli_error("cannot send to the hub at %s: %s", cfg->hub,
		    ZMQ(zmq_strerror)(errno));
		return -1;
	}
	item.socket = c->sock;
	item.events = ZMQ_POLLIN;
	do
		n = ZMQ(zmq_poll)(&item, 1, c->timeout);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		cli_error("no answer from the hub at %s within %d s (is this "
			  "key enrolled? the hub's administrator runs: ucr "
			  "roster add CODE %s --role reader)",
		    cfg->hub, c->timeout / 1000, "KEY");
		return -1;
	}
	ZMQ(zmq_msg_init)(&msg);
	if (ZMQ(zmq_msg_recv)(&msg, c->sock, 0) < 0 ||
	    ucr_wire_decode(a, ZMQ(zmq_msg_data)(&msg),
		ZMQ(zmq_msg_size)(&msg)) != 0) {
		ZMQ(zmq_msg_close)(&msg);
		cli_error("undecodable answer from the hub at %s", cfg->hub);
		return -1;
	}
	ZMQ(zmq_msg_close)(&msg);
	if ((*a)->body_case == UCR__FRAME__BODY_ERROR &&
	    (*a)->error->code == UCR_EPROTO) {
		/* a well-formed query the hub cannot decode: a hub of an
		 * older release (protocol revision 0) knows no such frame */
		cli_error("the hub refused the query (%s): a hub of an older "
			  "release (0.1.0) does not know it; upgrade the hub",
		    (*a)->error->message);
		goto fail;
	}
	if ((*a)->body_case == UCR__FRAME__BODY_ERROR) {
		cli_error("the hub refused: %s",
		    cli_daemon_text((*a)->error->message));
		goto fail;
	}
	if ((*a)->body_case != want) {
		cli_error("unexpected %s frame from the hub",
		    ucr_wire_name(*a));
		goto fail;
	}
	return 0;
fail:
	ucr__frame__free_unpacked(*a, NULL);
	*a = NULL;
	return -1;
}

int
cli_reader_view(struct ucr_view **out, const struct ucr_config *cfg,
    uint64_t now)
{
	Ucr__Frame f = UCR__FRAME__INIT, *a = NULL;
	Ucr__ViewQuery q = UCR__VIEW_QUERY__INIT;
	struct cli_hub c;
	int rc = -1, e;

	*out = NULL;
	if (cli_hub_open(&c, cfg) != 0)
		goto leave;
	q.now = now;
	f.body_case = UCR__FRAME__BODY_VIEW_QUERY;
	f.view_query = &q;
	if (cli_hub_ask(&c, &f, UCR__FRAME__BODY_VIEW_ANSWER, &a) != 0)
		goto leave;
	if (a->view_answer->code != 0) {
		cli_error("the hub: %s",
		    cli_daemon_text(a->view_answer->message));
		goto leave;
	}
	if ((e = ucr_view_fold_packed(out, a->view_answer->view.data,
		 a->view_answer->view.len, now, cfg->stale_after)) != 0) {
		cli_error("cannot compute the view from the hub's answer: %s",
		    ucr_strerror_l(e));
		goto leave;
	}
	rc = 0;
leave:
	if (a != NULL)
		ucr__frame__free_unpacked(a, NULL);
	cli_hub_close(&c);
	return rc;
}

/* ~/.config/ucr, or $XDG_CONFIG_HOME/ucr. */
static void
default_dir(char *out, size_t len)
{
	const char *x = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (x != NULL && *x == '/')
		snprintf(out, len, "%s/ucr", x);
	else
		snprintf(out, len, "%s/.config/ucr", home ? home : ".");
}

int
cmd_init_reader(int argc, char **argv)
{
	struct cli_flags f;
	struct ucr_key *k = NULL;
	struct ucr_config *check = NULL;
	uint8_t hubpk[UCR_PK_LEN];
	char dir[PATH_MAX], key[PATH_MAX + 16], conf[PATH_MAX + 16];
	char hex[2 * UCR_PK_LEN + 1], why[PATH_MAX + 256], text[2048];
	const char *hub, *hubkey, *code;
	FILE *fp;
	int rc = 1, e;

	CLI_BEGIN(&f, "hub= hub-key= municipality= dir= json", argc, argv);
	hub = cli_flag(&f, "hub");
	hubkey = cli_flag(&f, "hub-key");
	code = cli_flag(&f, "municipality");
	if (f.npos != 0 || hub == NULL || hubkey == NULL)
		return cli_misuse("init");
	if (strncmp(hub, "tcp://", 6) != 0) {
		cli_error("init reader: --hub: a tcp:// endpoint, such as "
			  "tcp://hub.example:7300");
		return EXIT_USAGE;
	}
	if (ucr_unhex(hubpk, sizeof(hubpk), hubkey) != 0) {
		cli_error("init reader: --hub-key: the hub's public key, 64 "
			  "hex digits (ucr init hub prints it)");
		return EXIT_USAGE;
	}
	if (code != NULL && !ucr_municipality_known(code)) {
		cli_error("init reader: --municipality: unknown code '%s'",
		    code);
		return EXIT_USAGE;
	}
	if (cli_flag(&f, "dir") != NULL)
		snprintf(dir, sizeof(dir), "%s", cli_flag(&f, "dir"));
	else
		default_dir(dir, sizeof(dir));
	snprintf(key, sizeof(key), "%s/reader.key", dir);
	snprintf(conf, sizeof(conf), "%s/reader.conf", dir);
	if (access(conf, F_OK) == 0 || access(key, F_OK) == 0) {
		cli_error("init reader: %s already holds a reader's key or "
			  "configuration; choose another --dir",
		    dir);
		return 1;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		cli_error("init reader: cannot make %s: %s", dir,
		    strerror(errno));
		return 1;
	}
	if (ucr_key_generate(&k) != 0) {
		cli_error("init reader: cannot make a key");
		return 1;
	}
	if ((e = ucr_key_save(k, key)) != 0) {
		cli_error("init reader: %s: %s", key,
		    e == UCR_EIO ? strerror(errno) : ucr_strerror_l(e));
		goto leave;
	}
	snprintf(text, sizeof(text),
	    "# A reader's configuration, written by ucr init reader: the\n"
	    "# view queries ask the hub over CURVE; nothing is written.\n"
	    "[reader]\n"
	    "municipality = %s\n"
	    "key = reader.key\n"
	    "hub = %s\n"
	    "hub_key = %s\n",
	    code ? code : "", hub, hubkey);
	if ((fp = fopen(conf, "w")) == NULL || fputs(text, fp) == EOF ||
	    fclose(fp) != 0) {
		cli_error("init reader: %s: %s", conf, strerror(errno));
		goto leave;
	}
	if (ucr_config_load(&check, conf, why, sizeof(why)) != 0) {
		cli_error("init reader: the configuration written does not "
			  "load: %s",
		    why);
		goto leave;
	}
	ucr_hex(hex, k->pk, UCR_PK_LEN);
	if (cli_flag_set(&f, "json")) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "role",
		    "reader", "config", conf, "key", key, "hub", hub,
		    "public_key", hex);

		cli_json_print(o);
		json_decref(o);
	} else {
		printf(_("Reader key %s\n"), key);
		printf(_("Configuration %s\n"), conf);
		printf(_("Public key %s\n\n"), hex);
		printf(_("The hub's administrator enrols it:\n"
			 "  ucr roster add %s %s --role reader\n"
			 "Then: ucr -c %s status\n"),
		    code ? code : "CODE", hex, conf);
	}
	rc = 0;
leave:
	ucr_config_free(check);
	ucr_key_free(k);
	return rc;
}
