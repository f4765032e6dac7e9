/*
 * init.c: "ucr init", which sets a site up (a key and a configuration in
 * the standard places); "ucr backup", a thin wrapper around mdb_copy that
 * copies the configured store while its daemon runs and checks the copy;
 * and "ucr rebuild", which makes a lost hub's store again from any node's
 * replica.
 *
 * Standard places, shared with deploy/systemd and deploy/etc/ucr:
 *   /etc/ucr/{node,hub}.conf       root:ucr 0640
 *   /etc/ucr/{node,hub}.key        ucr:ucr 0600
 *   /var/lib/ucr/{node,hub}        the store (systemd StateDirectory)
 *   /run/ucr/{node,hub}/control.sock  (systemd RuntimeDirectory)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "clijson.h"
#include "error.h"
#include "keys.h"
#include "record.h"

#define INIT_USER "ucr"
#define INIT_ETC UCR_SYSCONFDIR "/ucr"
#define INIT_PORT "7300"

/* What "ucr init" writes, worked out before anything is written. */
struct init {
	int hub;          /* "init hub" rather than "init node" */
	const char *role; /* "node" or "hub" */
	const struct ucr_municipality *m; /* node: its municipality */
	struct ucr_municipality other;    /* m, when not one of the six */
	const char *region;
	const char *hub_endpoint; /* node: may be NULL (offline) */
	const char *hub_key;      /* node: 64 hex, NULL with hub_endpoint */
	const char *listen;       /* hub */
	int standard;             /* no --dir: /etc/ucr and friends */
	char dir[PATH_MAX];       /* where conf and key go */
	char conf[PATH_MAX + 16];
	char key[PATH_MAX + 16];
	char data[PATH_MAX + 16];    /* as written in the file */
	char control[PATH_MAX + 32]; /* as written in the file */
	uid_t uid;                   /* user ucr, when chowning */
	gid_t gid;
	int chown;
};

static int
region_valid(const char *v)
{
	size_t i;

	for (i = 0; v[i]; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') ||
			(v[i] >= '0' && v[i] <= '9') || v[i] == '-'))
			return 0;
	return i > 0 && i <= 64;
}

/* mkdir -p for the folder conf and key go into. */
static int
make_dir(const char *path, mode_t mode)
{
	char buf[PATH_MAX], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Check the flags and work out the paths; prints the error. 0, 1 or 2. */
static int
init_plan(struct init *in, const struct cli_flags *f)
{
	const char *dir = cli_flag(f, "dir"), *v;
	struct stat st;

	in->role = in->hub ? "hub" : "node";
	in->region =
	    cli_flag(f, "region") ? cli_flag(f, "region") : UCR_DEFAULT_REGION;
	if (!region_valid(in->region)) {
		cli_error("init: region: use 1-64 of a-z 0-9 -");
		return 1;
	}
	if (in->hub) {
		if (cli_flag_set(f, "municipality") || cli_flag_set(f, "hub") ||
		    cli_flag_set(f, "hub-key")) {
			cli_error(
			    "init hub: --municipality, --hub and --hub-key "
			    "are for 'ucr init node'");
			return EXIT_USAGE;
		}
		in->listen = cli_flag(f, "listen") ? cli_flag(f, "listen")
						   : "tcp://*:" INIT_PORT;
		if (strncmp(in->listen, "tcp://", 6) != 0 &&
		    strncmp(in->listen, "ipc://", 6) != 0) {
			cli_error(
			    "init hub: listen: must be a tcp:// or ipc:// "
			    "endpoint (tcp://*:%s)",
			    INIT_PORT);
			return 1;
		}
	} else {
		uint8_t pk[UCR_PK_LEN];

		if (cli_flag_set(f, "listen")) {
			cli_error("init node: --listen is for 'ucr init hub'");
			return EXIT_USAGE;
		}
		if ((v = cli_flag(f, "municipality")) == NULL) {
			cli_error("init node: --municipality CODE is required "
				  "(2480 2403 2401 2409 2404 2460)");
			return EXIT_USAGE;
		}
		if ((in->m = ucr_municipality_lookup(v)) == NULL) {
			/* a member beyond the six: any of Sweden's 290 */
			const struct ucr_municipality_se *se =
			    ucr_municipality_se_lookup(v);

			if (se == NULL) {
				cli_error("init node: municipality: unknown "
					  "code '%s' (one of Sweden's 290 "
					  "SCB codes, e.g. 2480, or a name)",
				    v);
				return 1;
			}
			in->other.code = se->code;
			in->other.name = se->name;
			in->other.population = 0;
			in->m = &in->other;
		}
		in->hub_endpoint = cli_flag(f, "hub");
		in->hub_key = cli_flag(f, "hub-key");
		if ((in->hub_endpoint == NULL) != (in->hub_key == NULL)) {
			cli_error("init node: --hub and --hub-key go together "
				  "(leave both out for an offline node)");
			return EXIT_USAGE;
		}
		if (in->hub_endpoint &&
		    strncmp(in->hub_endpoint, "tcp://", 6) != 0 &&
		    strncmp(in->hub_endpoint, "ipc://", 6) != 0) {
			cli_error("init node: hub: must be a tcp:// or ipc:// "
				  "endpoint (tcp://HOST:%s)",
			    INIT_PORT);
			return 1;
		}
		if (in->hub_key &&
		    (strlen(in->hub_key) != 2 * UCR_PK_LEN ||
			ucr_unhex(pk, sizeof(pk), in->hub_key) != 0)) {
			cli_error(
			    "init node: hub-key: not 64 hex digits (ucr init "
			    "hub printed it on the hub)");
			return 1;
		}
	}

	in->standard = dir == NULL;
	if (dir && *dir == '\0') {
		cli_error("init: --dir needs a folder");
		return EXIT_USAGE;
	}
	if (dir && dir[0] != '/') {
		/* absolute, so the paths printed work from anywhere */
		char cwd[PATH_MAX];

		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			cli_error("init: getcwd: %s", strerror(errno));
			return 1;
		}
		if (snprintf(in->dir, sizeof(in->dir), "%s/%s", cwd, dir) >=
		    (int)sizeof(in->dir)) {
			cli_error("init: --dir: path too long");
			return 1;
		}
	} else
		snprintf(in->dir, sizeof(in->dir), "%s", dir ? dir : INIT_ETC);
	snprintf(in->conf, sizeof(in->conf), "%s/%s.conf", in->dir, in->role);
	snprintf(in->key, sizeof(in->key), "%s/%s.key", in->dir, in->role);
	if (in->standard) {
		snprintf(in->data, sizeof(in->data), "/var/lib/ucr/%s",
		    in->role);
		snprintf(in->control, sizeof(in->control),
		    "ipc:///run/ucr/%s/control.sock", in->role);
	} else {
		/* relative: the config file's folder (ucr.conf(5)) */
		snprintf(in->data, sizeof(in->data), "data");
		snprintf(in->control, sizeof(in->control),
		    "ipc://control.sock");
	}

	/* Refuse to overwrite, before anything is written. */
	if (lstat(in->conf, &st) == 0 || lstat(in->key, &st) == 0) {
		cli_error(
		    "init: %s exists; refusing to overwrite (move it away "
		    "or use --dir)",
		    lstat(in->conf, &st) == 0 ? in->conf : in->key);
		return 1;
	}

	/* Run as root: the daemon runs as ucr and must read its key. */
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam(INIT_USER);

		if (pw != NULL) {
			in->uid = pw->pw_uid;
			in->gid = pw->pw_gid;
			in->chown = in->standard;
		} else if (in->standard) {
			cli_error(
			    "init: user '%s' does not exist, and the "
			    "daemon runs as it (the Debian package creates "
			    "it; or: adduser --system --group --home "
			    "/var/lib/ucr %s); or use --dir to write "
			    "elsewhere",
			    INIT_USER, INIT_USER);
			return 1;
		}
	}
	return 0;
}

static int
write_conf(const struct init *in, char *why, size_t whylen)
{
	/* --dir: relative names, so the folder can be moved as a whole */
	const char *keyname =
	    in->standard ? in->key : strrchr(in->key, '/') + 1;
	FILE *f;
	int fd;

	fd = open(in->conf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    in->chown ? 0640 : 0644);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		snprintf(why, whylen, "%s: %s", in->conf, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(f,
	    "# %s: written by ucr init %s; see ucr.conf(5).\n"
	    "# Relative paths are taken from this file's folder.\n\n",
	    in->conf, in->role);
	if (in->hub) {
		fprintf(f,
		    "[hub]\nkey = %s\ndata = %s\ncontrol = %s\n"
		    "listen = %s\nregion = %s\n",
		    keyname, in->data, in->control, in->listen, in->region);
	} else {
		fprintf(f,
		    "[node]\nmunicipality = %s\nkey = %s\ndata = %s\n"
		    "control = %s\n",
		    in->m->code, keyname, in->data, in->control);
		if (in->hub_endpoint)
			fprintf(f, "hub = %s\nhub_key = %s\n", in->hub_endpoint,
			    in->hub_key);
		else
			fprintf(f,
			    "# offline: no hub. To sync, add:\n"
			    "# hub = tcp://HOST:" INIT_PORT "\n"
			    "# hub_key = (the hub's public key)\n");
		fprintf(f, "region = %s\n", in->region);
	}
	fprintf(f, "log_level = info\n");
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		snprintf(why, whylen, "%s: %s", in->conf, strerror(errno));
		fclose(f);
		return -1;
	}
	if (fclose(f) != 0) {
		snprintf(why, whylen, "%s: %s", in->conf, strerror(errno));
		return -1;
	}
	return 0;
}

/* Hand conf (root:ucr 0640) and key (ucr:ucr 0600) to the daemon's user. */
static int
give_away(const struct init *in, char *why, size_t whylen)
{
	if (!in->chown)
		return 0;
	if (chown(in->key, in->uid, in->gid) != 0) {
		snprintf(why, whylen, "chown %s: %s", in->key, strerror(errno));
		return -1;
	}
	if (chown(in->conf, 0, in->gid) != 0) {
		snprintf(why, whylen, "chown %s: %s", in->conf,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static void
print_next(const struct init *in, const char *hex)
{
	const char *port;

	if (in->hub) {
		port = strrchr(in->listen, ':');
		printf(_("hub of region %s\n"
			 "  configuration %s\n  key %s\n"
			 "public key: %s\n\n"
			 "Give the public key to each municipality's IT "
			 "department; each runs:\n"
			 "  ucr init node --municipality CODE --hub "
			 "tcp://THIS-HOST%s --hub-key %s\n"
			 "and sends you the key it prints; enrol it with:\n"
			 "  ucr -c %s roster add CODE KEY\n"),
		    in->region, in->conf, in->key, hex,
		    port && strncmp(in->listen, "tcp://", 6) == 0
			? port
			: ":" INIT_PORT,
		    hex, in->conf);
	} else {
		printf(_("node %s (%s) of region %s\n"
			 "  configuration %s\n  key %s\n"
			 "public key: %s\n\n"
			 "Send the public key to the hub's administrator, who "
			 "enrols it with:\n"
			 "  ucr -c /etc/ucr/hub.conf roster add %s %s\n"),
		    in->m->code, in->m->name, in->region, in->conf, in->key,
		    hex, in->m->code, hex);
		if (in->hub_endpoint == NULL)
			printf(
			    _("(no --hub given: the node runs offline until hub "
			      "and hub_key are added to %s)\n"),
			    in->conf);
	}
	if (in->standard)
		printf(_("Start it: systemctl enable --now ucr-%s\n"),
		    in->role);
	else
		printf(_("Start it: ucr-%s -f %s\n"), in->role, in->conf);
}

int
cmd_init(int argc, char **argv)
{
	struct cli_flags f;
	struct init in;
	struct ucr_key *k = NULL;
	struct ucr_config *check = NULL;
	char hex[2 * UCR_PK_LEN + 1], why[PATH_MAX + 256] = "";
	int rc, wrote_key = 0, wrote_conf = 0;

	if (argc > 1 && strcmp(argv[1], "reader") == 0)
		return cmd_init_reader(argc - 1, argv + 1); /* reader.c */
	if (cli_flags_parse(&f,
		"municipality= hub= hub-key= listen= region= "
		"dir= json",
		argc, argv) != 0)
		return EXIT_USAGE;
	if (f.help) {
		cli_usage(stdout, argv[0]);
		return 0;
	}
	memset(&in, 0, sizeof(in));
	if (f.npos != 1 ||
	    (strcmp(f.pos[0], "node") != 0 && strcmp(f.pos[0], "hub") != 0))
		return cli_misuse(argv[0]);
	in.hub = strcmp(f.pos[0], "hub") == 0;
	if ((rc = init_plan(&in, &f)) != 0)
		return rc;

	if (make_dir(in.dir, in.standard ? 0755 : 0700) != 0) {
		cli_error("init: cannot make %s: %s", in.dir, strerror(errno));
		return 1;
	}
	if (ucr_key_generate(&k) != 0) {
		cli_error("init: cannot make a key");
		return 1;
	}
	if ((rc = ucr_key_save(k, in.key)) != 0) {
		cli_error("init: %s: %s", in.key,
		    rc == UCR_EIO ? strerror(errno) : ucr_strerror_l(rc));
		rc = 1;
		goto leave;
	}
	wrote_key = 1;
	rc = 1;
	if (write_conf(&in, why, sizeof(why)) != 0) {
		cli_error("init: %s", why);
		goto leave;
	}
	wrote_conf = 1;
	if (give_away(&in, why, sizeof(why)) != 0) {
		cli_error("init: %s", why);
		goto leave;
	}
	/* What we wrote must be what the daemon accepts. */
	if (ucr_config_load(&check, in.conf, why, sizeof(why)) != 0) {
		cli_error("init: the configuration written does not load: %s",
		    why);
		goto leave;
	}
	ucr_hex(hex, k->pk, UCR_PK_LEN);
	if (cli_flag_set(&f, "json")) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "role",
		    in.role, "municipality", in.hub ? UCR_REGION : in.m->code,
		    "region", in.region, "config", in.conf, "key", in.key,
		    "public_key", hex);

		cli_json_print(o);
		json_decref(o);
	} else
		print_next(&in, hex);
	/* A store belongs to the key it was made with (ucr-node(8)). */
	snprintf(why, sizeof(why), "%s/data.mdb", check->data);
	if (access(why, F_OK) == 0)
		cli_error(
		    "init: note: %s holds a store made with an earlier key; "
		    "move it away before the daemon starts",
		    check->data);
	rc = 0;
leave:
	if (rc != 0) {
		/* all or nothing: leave no half-made site behind */
		if (wrote_conf)
			unlink(in.conf);
		if (wrote_key)
			unlink(in.key);
	}
	ucr_config_free(check);
	ucr_key_free(k);
	return rc;
}

/* ---------------------------------------------------------------- backup */

/* 1 if path is a folder with nothing in it, 0 if not, -1 if absent. */
static int
dir_empty(const char *path)
{
	struct dirent *de;
	DIR *d;
	int empty = 1;

	if ((d = opendir(path)) == NULL)
		return errno == ENOENT ? -1 : 0;
	while (empty && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

/* Run argv (no shell) and wait; its exit status, or -1. */
static int
run(char *const argv[])
{
	pid_t pid;
	int st;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, _("ucr: backup: cannot run %s: %s%s\n"),
		    argv[0], strerror(errno),
		    errno == ENOENT ? _(" (install lmdb-utils)") : "");
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int
cmd_backup(int argc, char **argv)
{
	struct cli_flags f;
	struct ucr_config *cfg = NULL;
	struct ucr_store *s = NULL;
	struct ucr_store_stats st;
	const char *out;
	char datafile[PATH_MAX + 16], why[512] = "", hex[65];
	uint8_t digest[32];
	char *args[5];
	int n = 0, rc = 1, made = 0, e;

	CLI_BEGIN(&f, "out= compact json", argc, argv);
	if ((out = cli_flag(&f, "out")) == NULL || *out == '\0' || f.npos != 0)
		return cli_misuse(argv[0]);
	if (cli_load_config(&cfg) != 0)
		return 1;
	snprintf(datafile, sizeof(datafile), "%s/data.mdb", cfg->data);
	if (access(datafile, R_OK) != 0) {
		cli_error("backup: no store at %s: %s", cfg->data,
		    strerror(errno));
		goto leave;
	}
	e = dir_empty(out);
	if (e == 0) {
		cli_error("backup: %s is not an empty folder; refusing to "
			  "overwrite",
		    out);
		goto leave;
	}
	if (e < 0) {
		if (mkdir(out, 0700) != 0) {
			cli_error("backup: cannot make %s: %s", out,
			    strerror(errno));
			goto leave;
		}
		made = 1;
	}
	/*
	 * mdb_copy reads in one read transaction: a consistent copy of a
	 * store in use, while the daemon goes on writing.
	 */
	args[n++] = "mdb_copy";
	if (cli_flag_set(&f, "compact"))
		args[n++] = "-c";
	args[n++] = cfg->data;
	args[n++] = (char *)out;
	args[n] = NULL;
	if ((e = run(args)) != 0) {
		cli_error("backup: mdb_copy %s %s failed (exit %d)", cfg->data,
		    out, e);
		goto fail;
	}
	/* A backup is worth what its check says: re-verify every log. */
	if ((e = ucr_store_open(&s, out, UCR_STORE_RDONLY, cfg->map_size)) !=
	    0) {
		cli_error("backup: the copy in %s does not open: %s", out,
		    ucr_strerror_l(e));
		goto fail;
	}
	ucr_store_set_region(s, cfg->region, NULL);
	if ((e = ucr_store_verify(s, NULL, NULL, why, sizeof(why))) != 0 ||
	    (e = ucr_store_view_digest(s, digest)) != 0 ||
	    (e = ucr_store_stats(s, &st)) != 0) {
		cli_error("backup: the copy in %s fails verification: %s", out,
		    why[0] ? why : ucr_strerror_l(e));
		goto fail;
	}
	ucr_store_free(s);
	s = NULL;
	/*
	 * Mark the copy: a node started on it must hear from the hub before
	 * it writes (it may be behind its own log there), however long the
	 * hub takes to answer. The mark is not part of the view.
	 */
	if ((e = ucr_store_open(&s, out, 0, cfg->map_size)) != 0 ||
	    (e = ucr_store_meta_put(s, "needs-hub", "1", 1)) != 0) {
		cli_error("backup: cannot mark the copy in %s: %s", out,
		    ucr_strerror_l(e));
		goto fail;
	}
	ucr_store_free(s);
	s = NULL;
	/* the check's reader lock file is no part of the backup */
	snprintf(datafile, sizeof(datafile), "%s/lock.mdb", out);
	unlink(datafile);
	ucr_hex(hex, digest, 32);
	if (cli_flag_set(&f, "json")) {
		json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s}", "store",
		    cfg->data, "backup", out, "logs", (json_int_t)st.logs,
		    "entries", (json_int_t)st.entries, "records",
		    (json_int_t)st.records, "view_digest", hex);

		cli_json_print(o);
		json_decref(o);
	} else
		printf(_("backed up %s to %s: %" PRIu64 " logs, %" PRIu64
			 " entries, %" PRIu64
			 " records, verified\nview digest %s\n"),
		    cfg->data, out, st.logs, st.entries, st.records, hex);
	rc = 0;
	goto leave;
fail:
	/* leave no copy that looks good */
	snprintf(datafile, sizeof(datafile), "%s/data.mdb", out);
	unlink(datafile);
	snprintf(datafile, sizeof(datafile), "%s/lock.mdb", out);
	unlink(datafile);
	if (made)
		rmdir(out);
leave:
	ucr_store_free(s);
	ucr_config_free(cfg);
	return rc;
}

/* ---------------------------------------------------------------- rebuild */

/* The logs of a replica, to copy in an order the roster allows. */
struct rebuild_log {
	struct ucr_head head; /* as the replica holds it */
	uint64_t copied;      /* seq held at the new hub store */
	int done;
	char why[256]; /* the last refusal */
};

struct rebuild_heads {
	struct rebuild_log *v;
	size_t n, cap;
};

static int
rebuild_head_cb(const struct ucr_head *h, void *arg)
{
	struct rebuild_heads *hs = arg;

	if (hs->n == hs->cap) {
		size_t cap = hs->cap ? hs->cap * 2 : 16;
		struct rebuild_log *v = realloc(hs->v, cap * sizeof(*v));

		if (v == NULL)
			return UCR_ENOMEM;
		hs->v = v;
		hs->cap = cap;
	}
	memset(&hs->v[hs->n], 0, sizeof(hs->v[hs->n]));
	hs->v[hs->n++].head = *h;
	return 0;
}

/*
 * Copy what one log of src holds beyond what dst holds, batch by batch with
 * the original signatures. 0 when dst holds all of it that src can relay
 * (a tail without a stored signature stays behind: the author sends it),
 * or the refusal (UCR_EROSTER while the roster entry has not come yet).
 */
static int
rebuild_copy(struct ucr_store *dst, struct ucr_store *src,
    struct rebuild_log *l, uint64_t *entries)
{
	Ucr__Batch *b;
	size_t applied;
	int rc;

	while (l->copied < l->head.seq) {
		rc = ucr_store_batch(src, NULL, l->head.author, l->head.epoch,
		    l->copied + 1, l->head.seq, 4 << 20, &b);
		if (rc == UCR_ENOTFOUND)
			break; /* no signature covers the rest */
		if (rc != 0)
			return rc;
		applied = 0;
		rc = ucr_store_apply(dst, b, &applied, l->why, sizeof(l->why));
		if (rc == 0 || rc == UCR_EDUP) {
			l->copied = b->last_seq;
			*entries += applied;
			l->why[0] = '\0';
		}
		ucr_batch_free(b);
		if (rc != 0 && rc != UCR_EDUP)
			return rc;
	}
	return 0;
}

/*
 * Copy every log of one replica into dst, in passes until nothing moves: a
 * log whose author's roster entry is in a log not copied yet is refused
 * (UCR_EROSTER) and tried again. O(logs^2) batches tried at worst; a
 * region has a handful of logs. Logs left behind are reported on stderr;
 * returns how many were refused (not merely unsigned at the tail), or -1.
 */
static int
rebuild_from(struct ucr_store *dst, const char *from,
    const struct ucr_config *cfg, const struct ucr_key *key, uint64_t *entries)
{
	struct ucr_store *src = NULL;
	struct rebuild_heads hs = {NULL, 0, 0};
	struct ucr_head held;
	char hex[65];
	size_t i;
	int e, progress, refused = 0;

	if ((e = ucr_store_open(&src, from, UCR_STORE_RDONLY, cfg->map_size)) !=
	    0) {
		cli_error("rebuild: no store at %s: %s", from,
		    e == UCR_EIO ? strerror(errno) : ucr_strerror_l(e));
		return -1;
	}
	ucr_store_set_region(src, cfg->region, key->pk);
	if ((e = ucr_store_foreach_head(src, rebuild_head_cb, &hs)) != 0) {
		cli_error("rebuild: cannot read %s: %s", from,
		    ucr_strerror_l(e));
		refused = -1;
		goto leave;
	}
	for (i = 0; i < hs.n; i++)
		if (ucr_store_head(dst, hs.v[i].head.author, hs.v[i].head.epoch,
			&held) == 0)
			hs.v[i].copied = held.seq;
	do {
		progress = 0;
		for (i = 0; i < hs.n; i++) {
			struct rebuild_log *l = &hs.v[i];
			uint64_t before = l->copied;

			if (l->done)
				continue;
			e = rebuild_copy(dst, src, l, entries);
			if (e != UCR_EROSTER) {
				l->done = 1;
				progress = 1;
			}
			if (e != 0 && e != UCR_EROSTER)
				snprintf(l->why + strlen(l->why),
				    sizeof(l->why) - strlen(l->why), "%s%s",
				    *l->why ? ": " : "", ucr_strerror_l(e));
			if (l->copied != before)
				progress = 1;
		}
	} while (progress);
	for (i = 0; i < hs.n; i++) {
		struct rebuild_log *l = &hs.v[i];

		if (l->copied >= l->head.seq)
			continue;
		ucr_hex(hex, l->head.author, 32);
		fprintf(stderr,
		    _("ucr: rebuild: %s: log %.16s epoch %016" PRIx64
		      ": %" PRIu64 " of %" PRIu64 " entries%s%s\n"),
		    from, hex, l->head.epoch, l->copied, l->head.seq,
		    *l->why ? ": "
			    : _(" (the rest has no stored signature; its "
				"author sends it)"),
		    l->why);
		refused += *l->why != '\0';
	}
leave:
	free(hs.v);
	ucr_store_free(src);
	return refused;
}

int
cmd_rebuild(int argc, char **argv)
{
	struct cli_flags f;
	struct ucr_config *cfg = NULL;
	struct ucr_key *key = NULL;
	struct ucr_store *dst = NULL;
	struct ucr_store_stats st;
	char path[PATH_MAX + 16];
	uint64_t entries = 0;
	int rc = 1, e, i, nfrom = 0, refused = 0;

	CLI_BEGIN(&f, "from=", argc, argv);
	for (i = 0; i < f.n; i++)
		nfrom += strncmp(f.name[i], "from", 4) == 0 && *f.value[i];
	if (nfrom == 0 || f.npos != 0)
		return cli_misuse(argv[0]);
	if (cli_load_config(&cfg) != 0)
		return 1;
	if (!cfg->is_hub) {
		cli_error(
		    "rebuild: rebuilds a hub; give the hub's configuration "
		    "with -c (e.g. -c /etc/ucr/hub.conf)");
		goto leave;
	}
	/* The hub's own key: the nodes pin it, and its log is in the replica.
	 */
	if ((e = ucr_key_load(&key, cfg->key)) != 0) {
		cli_error("rebuild: key file %s: %s", cfg->key,
		    e == UCR_EIO ? strerror(errno) : ucr_strerror_l(e));
		goto leave;
	}
	snprintf(path, sizeof(path), "%s/data.mdb", cfg->data);
	if (access(path, F_OK) == 0) {
		cli_error("rebuild: %s holds a store already; stop ucr-hub and "
			  "move %s away first",
		    cfg->data, cfg->data);
		goto leave;
	}
	if ((e = ucr_store_open(&dst, cfg->data,
		 UCR_STORE_CREATE | UCR_STORE_EXCLUSIVE, cfg->map_size)) != 0) {
		cli_error("rebuild: %s: %s", cfg->data,
		    e == UCR_ELOCKED
			? "in use by a running ucr-hub; stop it first"
			: e == UCR_EIO ? strerror(errno)
				       : ucr_strerror_l(e));
		goto leave;
	}
	ucr_store_set_region(dst, cfg->region, key->pk);
	ucr_store_set_max_skew(dst, (unsigned)cfg->max_clock_skew);
	/* Each replica in turn: the union, each log as far as any holds it. */
	for (i = 0; i < f.n; i++) {
		if (strncmp(f.name[i], "from", 4) != 0 || *f.value[i] == '\0')
			continue;
		if ((e = rebuild_from(dst, f.value[i], cfg, key, &entries)) < 0)
			goto leave;
		refused += e;
	}
	if ((e = ucr_store_stats(dst, &st)) != 0) {
		cli_error("rebuild: cannot read the new store: %s",
		    ucr_strerror_l(e));
		goto leave;
	}
	ucr_store_free(dst);
	dst = NULL;
	/* Run as root: the store belongs to the daemon's user, the key's. */
	if (geteuid() == 0) {
		static const char *const files[] = {"", "/data.mdb",
		    "/lock.mdb", "/daemon.lock"};
		struct stat ks;
		size_t j;

		/*
		 * By file descriptor, opened without following a link: a
		 * path swapped for a symbolic link between the check and the
		 * chown cannot hand another file to the daemon's user.
		 */
		if (stat(cfg->key, &ks) == 0 && ks.st_uid != 0)
			for (j = 0; j < sizeof(files) / sizeof(files[0]); j++) {
				int fd;

				snprintf(path, sizeof(path), "%s%s", cfg->data,
				    files[j]);
				fd = open(path,
				    O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
					(j == 0 ? O_DIRECTORY : 0));
				if (fd < 0) {
					if (errno != ENOENT)
						cli_error(
						    "rebuild: open %s: %s",
						    path, strerror(errno));
					continue;
				}
				if (fchown(fd, ks.st_uid, ks.st_gid) != 0)
					cli_error("rebuild: chown %s: %s", path,
					    strerror(errno));
				close(fd);
			}
	}
	printf(
	    "rebuilt the hub's store %s from %d replica%s: %" PRIu64
	    " logs, %" PRIu64 " entries\n"
	    "Start the hub: every node then sends what the replicas lacked of "
	    "its own log.\nThe hub's own records go on in a new log epoch; the "
	    "old one stays valid.\n",
	    cfg->data, nfrom, nfrom > 1 ? "s" : "", st.logs, entries);
	rc = refused ? 1 : 0;
leave:
	ucr_store_free(dst);
	ucr_key_free(key);
	ucr_config_free(cfg);
	return rc;
}
