/*
 * init.c: "ucr init", which sets a site up (a key and a configuration in
 * the standard places), and "ucr backup", a thin wrapper around mdb_copy
 * that copies the configured store while its daemon runs and checks the
 * copy.
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
#include <grp.h>
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
	int hub;			/* "init hub" rather than "init node" */
	const char *role;		/* "node" or "hub" */
	const struct ucr_municipality *m; /* node: its municipality */
	const char *region;
	const char *hub_endpoint;	/* node: may be NULL (offline) */
	const char *hub_key;		/* node: 64 hex, NULL with hub_endpoint */
	const char *listen;		/* hub */
	int standard;			/* no --dir: /etc/ucr and friends */
	char dir[PATH_MAX];		/* where conf and key go */
	char conf[PATH_MAX + 16];
	char key[PATH_MAX + 16];
	char data[PATH_MAX + 16];	/* as written in the file */
	char control[PATH_MAX + 32];	/* as written in the file */
	uid_t uid;			/* user ucr, when chowning */
	gid_t gid;
	int chown;
};

static int
region_valid(const char *v)
{
	size_t i;

	for (i = 0; v[i]; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') ||
		    v[i] == '-'))
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
	in->region = cli_flag(f, "region") ? cli_flag(f, "region") :
	    UCR_DEFAULT_REGION;
	if (!region_valid(in->region)) {
		cli_error("init: region: use 1-64 of a-z 0-9 -");
		return 1;
	}
	if (in->hub) {
		if (cli_flag_set(f, "municipality") || cli_flag_set(f, "hub") ||
		    cli_flag_set(f, "hub-key")) {
			cli_error("init hub: --municipality, --hub and --hub-key "
			    "are for 'ucr init node'");
			return EXIT_USAGE;
		}
		in->listen = cli_flag(f, "listen") ? cli_flag(f, "listen") :
		    "tcp://*:" INIT_PORT;
		if (strncmp(in->listen, "tcp://", 6) != 0 &&
		    strncmp(in->listen, "ipc://", 6) != 0) {
			cli_error("init hub: listen: must be a tcp:// or ipc:// "
			    "endpoint (tcp://*:" INIT_PORT ")");
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
		if ((in->m = ucr_municipality_find(v)) == NULL) {
			cli_error("init node: municipality: unknown code '%s' "
			    "(2480 2403 2401 2409 2404 2460)", v);
			return 1;
		}
		in->hub_endpoint = cli_flag(f, "hub");
		in->hub_key = cli_flag(f, "hub-key");
		if ((in->hub_endpoint == NULL) != (in->hub_key == NULL)) {
			cli_error("init node: --hub and --hub-key go together "
			    "(leave both out for an offline node)");
			return EXIT_USAGE;
		}
		if (in->hub_endpoint && strncmp(in->hub_endpoint, "tcp://", 6) != 0 &&
		    strncmp(in->hub_endpoint, "ipc://", 6) != 0) {
			cli_error("init node: hub: must be a tcp:// or ipc:// "
			    "endpoint (tcp://HOST:" INIT_PORT ")");
			return 1;
		}
		if (in->hub_key && (strlen(in->hub_key) != 2 * UCR_PK_LEN ||
		    ucr_unhex(pk, sizeof(pk), in->hub_key) != 0)) {
			cli_error("init node: hub-key: not 64 hex digits (ucr init "
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
		snprintf(in->data, sizeof(in->data), "/var/lib/ucr/%s", in->role);
		snprintf(in->control, sizeof(in->control),
		    "ipc:///run/ucr/%s/control.sock", in->role);
	} else {
		/* relative: the config file's folder (ucr.conf(5)) */
		snprintf(in->data, sizeof(in->data), "data");
		snprintf(in->control, sizeof(in->control), "ipc://control.sock");
	}

	/* Refuse to overwrite, before anything is written. */
	if (lstat(in->conf, &st) == 0 || lstat(in->key, &st) == 0) {
		cli_error("init: %s exists; refusing to overwrite (move it away "
		    "or use --dir)", lstat(in->conf, &st) == 0 ? in->conf :
		    in->key);
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
			cli_error("init: user '" INIT_USER "' does not exist, and "
			    "the daemon runs as it (the Debian package creates "
			    "it; or: adduser --system --group --home /var/lib/ucr "
			    INIT_USER "); or use --dir to write elsewhere");
			return 1;
		}
	}
	return 0;
}

static int
write_conf(const struct init *in, char *why, size_t whylen)
{
	/* --dir: relative names, so the folder can be moved as a whole */
	const char *keyname = in->standard ? in->key : strrchr(in->key, '/') + 1;
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
	fprintf(f, "# %s: written by ucr init %s; see ucr.conf(5).\n"
	    "# Relative paths are taken from this file's folder.\n\n",
	    in->conf, in->role);
	if (in->hub) {
		fprintf(f, "[hub]\nkey = %s\ndata = %s\ncontrol = %s\n"
		    "listen = %s\nregion = %s\n", keyname, in->data, in->control,
		    in->listen, in->region);
	} else {
		fprintf(f, "[node]\nmunicipality = %s\nkey = %s\ndata = %s\n"
		    "control = %s\n", in->m->code, keyname, in->data,
		    in->control);
		if (in->hub_endpoint)
			fprintf(f, "hub = %s\nhub_key = %s\n", in->hub_endpoint,
			    in->hub_key);
		else
			fprintf(f, "# offline: no hub. To sync, add:\n"
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
		snprintf(why, whylen, "chown %s: %s", in->conf, strerror(errno));
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
		printf("hub of region %s\n"
		    "  configuration %s\n  key %s\n"
		    "public key: %s\n\n"
		    "Give the public key to each municipality's IT department; "
		    "each runs:\n"
		    "  ucr init node --municipality CODE --hub tcp://THIS-HOST%s "
		    "--hub-key %s\n"
		    "and sends you the key it prints; enrol it with:\n"
		    "  ucr -c %s roster add CODE KEY\n",
		    in->region, in->conf, in->key, hex,
		    port && strncmp(in->listen, "tcp://", 6) == 0 ? port :
		    ":" INIT_PORT, hex, in->conf);
	} else {
		printf("node %s (%s) of region %s\n"
		    "  configuration %s\n  key %s\n"
		    "public key: %s\n\n"
		    "Send the public key to the hub's administrator, who enrols it "
		    "with:\n"
		    "  ucr -c /etc/ucr/hub.conf roster add %s %s\n",
		    in->m->code, in->m->name, in->region, in->conf, in->key, hex,
		    in->m->code, hex);
		if (in->hub_endpoint == NULL)
			printf("(no --hub given: the node runs offline until hub "
			    "and hub_key are added to %s)\n", in->conf);
	}
	if (in->standard)
		printf("Start it: systemctl enable --now ucr-%s\n", in->role);
	else
		printf("Start it: ucr-%s -f %s\n", in->role, in->conf);
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

	if (cli_flags_parse(&f, "municipality= hub= hub-key= listen= region= "
	    "dir= json", argc, argv) != 0)
		return EXIT_USAGE;
	if (f.help) {
		cli_usage(stdout, argv[0]);
		return 0;
	}
	memset(&in, 0, sizeof(in));
	if (f.npos != 1 || (strcmp(f.pos[0], "node") != 0 &&
	    strcmp(f.pos[0], "hub") != 0)) {
		cli_usage(stderr, argv[0]);
		return EXIT_USAGE;
	}
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
		cli_error("init: %s: %s", in.key, rc == UCR_EIO ? strerror(errno) :
		    ucr_strerror(rc));
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
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
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
		fprintf(stderr, "ucr: backup: cannot run %s: %s%s\n", argv[0],
		    strerror(errno), errno == ENOENT ?
		    " (install lmdb-utils)" : "");
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

	if (cli_flags_parse(&f, "out= compact json", argc, argv) != 0)
		return EXIT_USAGE;
	if (f.help) {
		cli_usage(stdout, argv[0]);
		return 0;
	}
	if ((out = cli_flag(&f, "out")) == NULL || *out == '\0' || f.npos != 0) {
		cli_usage(stderr, argv[0]);
		return EXIT_USAGE;
	}
	if (cli_load_config(&cfg) != 0)
		return 1;
	snprintf(datafile, sizeof(datafile), "%s/data.mdb", cfg->data);
	if (access(datafile, R_OK) != 0) {
		cli_error("backup: no store at %s: %s", cfg->data, strerror(errno));
		goto leave;
	}
	e = dir_empty(out);
	if (e == 0) {
		cli_error("backup: %s is not an empty folder; refusing to "
		    "overwrite", out);
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
		    ucr_strerror(e));
		goto fail;
	}
	ucr_store_set_region(s, cfg->region, NULL);
	if ((e = ucr_store_verify(s, NULL, NULL, why, sizeof(why))) != 0 ||
	    (e = ucr_store_view_digest(s, digest)) != 0 ||
	    (e = ucr_store_stats(s, &st)) != 0) {
		cli_error("backup: the copy in %s fails verification: %s", out,
		    why[0] ? why : ucr_strerror(e));
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
		printf("backed up %s to %s: %" PRIu64 " logs, %" PRIu64
		    " entries, %" PRIu64 " records, verified\nview digest %s\n",
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
