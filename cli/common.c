/*
 * common.c: what the ucr subcommands share: errors, configuration, the
 * read-only store, and requests to the daemon's control socket.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"
#include "error.h"
#include "i18n.h"
#include "record.h"
#include "text.h"
#include "zmtp.h"

const char *cli_conf_path;

/* fmt is translated here: xgettext takes cli_error as a keyword. */
void
cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("ucr: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, _(fmt), ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Fixed texts of the daemons' replies (common/control.c, common/store.c),
   so the catalogue has them; the error codes' texts are there already. */
static const char *const daemon_texts[] = {
    N_("another import is in progress; try again in a moment"),
    N_("cannot read back the staged import"),
    N_("cannot read store"),
    N_("empty request"),
    N_("no such record"),
    N_("no records to write"),
    N_("this log is stopped after a fork"),
};

const char *
cli_daemon_text(const char *msg)
{
	static char buf[1024];
	const char *p, *t;

	(void)daemon_texts;
	if (msg == NULL || *msg == '\0')
		return msg;
	if ((t = _(msg)) != msg)
		return t;
	for (p = strstr(msg, ": "); p != NULL; p = strstr(p + 2, ": ")) {
		if (p[2] == '\0')
			break;
		if ((t = _(p + 2)) != p + 2) {
			snprintf(buf, sizeof(buf), "%.*s: %s", (int)(p - msg),
			    msg, t);
			return buf;
		}
	}
	return msg;
}

int
cli_load_config(struct ucr_config **out)
{
	char why[512];
	const char *path = cli_conf_path;

	if (path == NULL)
		path = getenv("UCR_CONF");
	if (path == NULL) {
		/* A node's config, else a hub's: whichever this machine has. */
		path = UCR_DEFAULT_NODE_CONF;
		if (access(path, F_OK) != 0 &&
		    access(UCR_DEFAULT_HUB_CONF, F_OK) == 0)
			path = UCR_DEFAULT_HUB_CONF;
	}
	if (ucr_config_load(out, path, why, sizeof(why)) != 0) {
		cli_error("%s", why);
		return -1;
	}
	return 0;
}

int
cli_open_store(struct ucr_store **out, const struct ucr_config *cfg)
{
	uint8_t hub[32];
	int rc;

	if (cfg->is_reader) {
		cli_error("%s is a reader's configuration: it holds no store; "
			  "status, plan, cycle, explain, report, show and "
			  "export ask the hub",
		    cfg->path);
		return -1;
	}
	rc = ucr_store_open(out, cfg->data, UCR_STORE_RDONLY, cfg->map_size);
	if (rc != 0) {
		if (rc == UCR_ENOTFOUND || rc == UCR_EIO)
			cli_error(
			    "no store at %s (has the daemon been started?)",
			    cfg->data);
		else
			cli_error("cannot open store %s: %s", cfg->data,
			    ucr_strerror_l(rc));
		return -1;
	}
	if (cfg->hub_key && *cfg->hub_key &&
	    ucr_unhex(hub, sizeof(hub), cfg->hub_key) == 0)
		ucr_store_set_region(*out, cfg->region, hub);
	else
		ucr_store_set_region(*out, cfg->region, NULL);
	return 0;
}

/*
 * Whether a process listens on the ipc socket file at path: 0 and errno
 * set when the connection is refused (a daemon killed hard leaves its file
 * behind, and ZeroMQ would wait out the whole timeout) or not permitted;
 * 1 when it answers or cannot be probed (ZeroMQ reports those).
 */
static int
listening(const char *path)
{
	struct sockaddr_un sa;
	int fd, rc, e;

	if (strlen(path) >= sizeof(sa.sun_path) ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	e = errno;
	close(fd);
	if (rc != 0 && (e == ECONNREFUSED || e == EACCES)) {
		errno = e;
		return 0;
	}
	return 1;
}

/* Milliseconds on the monotonic clock. */
static long long
mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

#define RECONNECT_MS 100 /* a retry waits for a daemon starting again */

/*
 * One exchange on a new connection (zmtp.c: ucr speaks ZMTP itself, it
 * does not link libzmq): 1 and *out on an answer; 0 when none came within
 * timeout_ms (a retry needs a new connection); 2 after printing why the
 * connection failed once the whole request had gone out (a write's
 * outcome is then unknown, as with no answer); -1 after printing an error.
 * A retry (again) whose daemon cannot be reached tries to connect every
 * RECONNECT_MS until timeout_ms, as libzmq reconnects: a daemon that
 * stopped mid-write and is started again (systemd) answers the retry.
 */
static int
request_once(const struct ucr_config *cfg, const uint8_t *buf, size_t len,
    Ucr__Reply **out, int timeout_ms, int again)
{
	uint8_t *rep = NULL;
	size_t replen = 0;
	char why[320];
	int rc, sent;
	long long end = mono_ms() + timeout_ms, left = timeout_ms;
	const char *daemon = cfg->is_hub ? "ucr-hub" : "ucr-node";

	for (;;) {
		rc = cli_zmtp_request(cfg->control + 6, buf, len, &rep, &replen,
		    (int)left, &sent, why, sizeof(why));
		if (rc != UCR_ENOTFOUND || !again ||
		    (left = end - mono_ms()) <= RECONNECT_MS)
			break;
		poll(NULL, 0, RECONNECT_MS);
		left -= RECONNECT_MS;
	}
	if (rc == UCR_ETIMEOUT || (rc == UCR_ENOTFOUND && again))
		return 0;
	if (rc == UCR_ENOTFOUND) {
		cli_error("cannot reach %s at %s: %s (is it running?)", daemon,
		    cfg->control, why);
		return -1;
	}
	if (rc != 0) {
		/* TRANSLATORS: the daemon, its control socket, the reason */
		cli_error("%s at %s: %s", daemon, cfg->control, why);
		return sent ? 2 : -1;
	}
	*out = ucr__reply__unpack(NULL, replen, rep);
	free(rep);
	if (*out == NULL) {
		cli_error("undecodable reply from %s", daemon);
		return -1;
	}
	return 1;
}

int
cli_daemon_up(const struct ucr_config *cfg)
{
	struct stat st;
	int up;

	if (cfg->is_reader)
		return 0;
	if (strncmp(cfg->control, "ipc://", 6) != 0)
		return 1; /* tcp: only a request can tell */
	up = stat(cfg->control + 6, &st) == 0 && listening(cfg->control + 6);
	return up;
}

#define REQUEST_TRIES 3 /* a write: the first send and two retries */

int
cli_request(const struct ucr_config *cfg, const Ucr__Request *req,
    Ucr__Reply **out, int timeout_ms)
{
	return cli_request_bound(cfg, req, 0, out, timeout_ms);
}

int
cli_request_bound(const struct ucr_config *cfg, const Ucr__Request *req,
    size_t bound, Ucr__Reply **out, int timeout_ms)
{
	Ucr__Request r = *req;
	uint8_t *buf = NULL, id[16];
	size_t len;
	int rc;
	int write = req->body_case == UCR__REQUEST__BODY_PUT ||
	    req->body_case == UCR__REQUEST__BODY_MANY;
	/* an import's commit writes too, but its stage is gone once it is
	 * done: not sent again, an unanswered one is an unknown outcome */
	int commit = req->body_case == UCR__REQUEST__BODY_IMPORT &&
	    req->import != NULL && req->import->commit;

	*out = NULL;
	/* Every write carries an id, the same on each retry of it. */
	if ((write || commit) && r.request_id.len == 0) {
		randombytes_buf(id, sizeof(id));
		r.request_id.data = id;
		r.request_id.len = sizeof(id);
	}
	/* bytes request_id = 10: a one-byte tag, a one-byte length */
	len = bound != 0 ? bound + 2 + sizeof(id)
			 : ucr__request__get_packed_size(&r);
	if ((buf = malloc(len ? len : 1)) == NULL) {
		cli_error("out of memory");
		return -1;
	}
	len = ucr__request__pack(&r, buf);
	rc = cli_request_packed(cfg, buf, len,
	    write        ? CLI_REQ_WRITE
		: commit ? CLI_REQ_COMMIT
			 : CLI_REQ_READ,
	    r.request_id.data, r.request_id.len, out, timeout_ms);
	free(buf);
	return rc;
}

int
cli_request_packed(const struct ucr_config *cfg, const uint8_t *buf, size_t len,
    int what, const uint8_t *reqid, size_t reqidlen, Ucr__Reply **out,
    int timeout_ms)
{
	char idhex[33];
	int rc = -1, try, tries, got = 0, unknown = 0;
	const char *env;
	const char *daemon = cfg->is_hub ? "ucr-hub" : "ucr-node";
	int write = what == CLI_REQ_WRITE, commit = what == CLI_REQ_COMMIT;

	*out = NULL;
	if (cfg->is_reader) {
		cli_error("%s is a reader's configuration: a reader never "
			  "writes, and has no daemon to ask",
		    cfg->path);
		return -1;
	}
	if ((env = getenv("UCR_TIMEOUT")) != NULL && atoi(env) > 0)
		timeout_ms = atoi(env) * 1000;
	if (timeout_ms <= 0)
		timeout_ms = 30000;
	tries = write ? REQUEST_TRIES : 1;
	for (try = 0; try < tries && (got == 0 || got == 2); try++) {
		if (try > 0 && got == 0)
			fprintf(stderr,
			    _("ucr: no answer from %s within %d s; asking "
			      "again (the same write, made at most once)\n"),
			    daemon, timeout_ms / 1000);
		else if (try > 0)
			fprintf(stderr,
			    _("ucr: asking %s again (the same write, made at "
			      "most once)\n"),
			    daemon);
		got = request_once(cfg, buf, len, out, timeout_ms, try > 0);
		if (got == 2 && !write && !commit)
			got = -1; /* a read: the error printed says it all */
		if (got == 0 || got == 2)
			unknown = 1; /* a write that went out unanswered */
	}
	if (got < 0 && unknown)
		got = 0; /* the retry failed: the first may have been made */
	if (got < 0)
		goto leave;
	if (got == 2)
		got = 0;
	if (got == 0 && (write || commit)) {
		ucr_hex(idhex, reqid, reqidlen < 16 ? reqidlen : 16);
		cli_error(
		    "no answer from %s at %s within %d s (tries: %d): the "
		    "write may or may not have been made (request %s). "
		    "Check with 'ucr log' or 'ucr show KEY' before "
		    "writing it again",
		    daemon, cfg->control, timeout_ms / 1000, tries, idhex);
		exit(EXIT_UNKNOWN);
	}
	if (got == 0) {
		cli_error("no answer from %s at %s within %d s", daemon,
		    cfg->control, timeout_ms / 1000);
		goto leave;
	}
	rc = 0;
leave:
	return rc;
}

int
cli_color(FILE *f)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(fileno(f)) && (nc == NULL || *nc == '\0');
}

/* Display width of UTF-8 text: its code points. */
size_t
cli_utf8_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/*
 * Print s in exactly width columns: padded with spaces, or cut at a code
 * point boundary with "…" in the last column. right: align right.
 */
void
cli_cell(FILE *f, const char *s, size_t width, int right)
{
	char safe[1024];
	size_t w, cols = 0;
	const char *p;

	/* Cells show titles and keys from every municipality: no control
	   byte or escape sequence reaches the terminal as it is. */
	ucr_text_escape(safe, sizeof(safe), s, strlen(s));
	s = safe;
	w = cli_utf8_width(s);

	if (w <= width) {
		if (right)
			fprintf(f, "%*s", (int)(width - w), "");
		fputs(s, f);
		if (!right)
			fprintf(f, "%*s", (int)(width - w), "");
		return;
	}
	if (width == 0)
		return;
	for (p = s; *p; p++) {
		if (((unsigned char)*p & 0xC0) != 0x80 && ++cols > width - 1)
			break;
		fputc(*p, f);
	}
	fputs("…", f);
}

int
cli_open_store_flags(const struct cli_flags *f, const char *cmd,
    struct ucr_config **cfg, struct ucr_store **out, const char **data,
    const char **region)
{
	int rc;

	*cfg = NULL;
	*data = cli_flag(f, "data");
	*region = cli_flag(f, "region");
	if (*data == NULL) {
		if (cli_load_config(cfg) != 0)
			return -1;
		*data = (*cfg)->data;
		if (*region == NULL)
			*region = (*cfg)->region;
	}
	if (*region == NULL)
		*region = UCR_DEFAULT_REGION;
	if ((rc = ucr_store_open(out, *data, UCR_STORE_RDONLY, 0)) != 0) {
		cli_error("%s: cannot open store %s: %s", cmd, *data,
		    rc == UCR_EIO ? strerror(errno) : ucr_strerror_l(rc));
		ucr_config_free(*cfg);
		*cfg = NULL;
		return -1;
	}
	return 0;
}
