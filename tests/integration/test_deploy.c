/*
 * test_deploy.c: installing and running UCR as an operator would.
 *
 * - the systemd units pass "systemd-analyze verify" and keep their
 *   hardening;
 * - "ucr init" writes a key and a configuration each daemon accepts (-n),
 *   and never overwrites;
 * - deploy/quickstart.sh builds UCR and a whole region in a temp folder,
 *   loads the demo data, and its "ucr status --json" shows six municipalities,
 * five priorities and every goal met; run again it changes nothing; a node
 *   restored from "ucr backup" gets its newer entries back from the hub;
 * - the .deb from "cpack -G DEB" installs (dpkg -i), makes the ucr user,
 *   and its daemons start as that user from "ucr init"'s files. This one
 *   needs root and a machine without a ucr installation; it is skipped
 *   otherwise.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "testutil.h"

static char *dir;

static void
setup(void)
{
	dir = tu_tempdir();
	cr_assert_not_null(dir);
}

static void
teardown(void)
{
	tu_rmrf(dir);
	free(dir);
	dir = NULL;
}

/* A port of our own, away from the demo's 7300 and from other tests. */
static int
test_port(int n)
{
	return 21000 + (int)(getpid() % 4000) * 4 + n;
}

static json_t *
parse(const char *s, const char *what)
{
	json_error_t e;
	json_t *j = json_loads(s ? s : "", 0, &e);

	cr_assert_not_null(j, "%s: not JSON (%s): %s", what, e.text, s);
	return j;
}

/* Run a command that must succeed; its stdout (caller frees). */
static char *run_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
run_ok(const char *fmt, ...)
{
	char *cmd, *out = NULL, *err = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	cr_assert_geq(vasprintf(&cmd, fmt, ap), 0);
	va_end(ap);
	rc = tu_run(&out, &err, "%s", cmd);
	cr_assert_eq(rc, 0, "%s: exit %d\nstdout: %s\nstderr: %s", cmd, rc, out,
	    err);
	free(cmd);
	free(err);
	return out;
}

/* ---------------------------------------------------------------- units */

static const char *const hardening[] = {
    "Type=simple",
    "User=ucr",
    "Group=ucr",
    "Restart=on-failure",
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "CapabilityBoundingSet=\n",
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
    "SystemCallFilter=@system-service",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectControlGroups=yes",
    "MemoryDenyWriteExecute=yes",
    "LockPersonality=yes",
    "Environment=LANG=sv_SE.UTF-8\n",
};

Test(deploy, units_verify, .init = setup, .fini = teardown, .timeout = 120)
{
	const char *units[] = {"node", "hub"};
	char *out = NULL, *err = NULL;
	int rc, i, have_man;
	size_t j;

	cr_assert_eq(tu_run(NULL, NULL, "command -v systemd-analyze"), 0,
	    "systemd-analyze missing: deploy/install-deps.sh installs systemd");
	/* The man pages the units name, where man looks for them. */
	free(
	    run_ok("mkdir -p '%s/man/man1' '%s/man/man5' '%s/man/man8' && "
		   "cp '%s/docs/ucr.1' '%s/man/man1/' && "
		   "cp '%s/docs/ucr.conf.5' '%s/man/man5/' && "
		   "cp '%s/docs/ucr-node.8' '%s/docs/ucr-hub.8' '%s/man/man8/'",
		dir, dir, dir, UCR_SOURCE_DIR, dir, UCR_SOURCE_DIR, dir,
		UCR_SOURCE_DIR, UCR_SOURCE_DIR, dir));
	have_man = tu_run(NULL, NULL, "command -v man") == 0;
	for (i = 0; i < 2; i++) {
		char src[512], *text;

		snprintf(src, sizeof(src), "%s/deploy/systemd/ucr-%s.service",
		    UCR_SOURCE_DIR, units[i]);
		text = tu_read(src);
		cr_assert_not_null(text, "%s missing", src);
		for (j = 0; j < sizeof(hardening) / sizeof(hardening[0]); j++)
			cr_expect_not_null(strstr(text, hardening[j]),
			    "%s: no '%s'", src, hardening[j]);
		cr_expect_not_null(strstr(text, "-d -f /etc/ucr/"),
		    "%s: ExecStart must run the daemon in the foreground", src);
		cr_expect(strstr(text, "StateDirectory=ucr/") &&
			strstr(text, "RuntimeDirectory=ucr/"),
		    "%s: no "
		    "State/RuntimeDirectory",
		    src);
		free(text);
		/* As installed, but pointing at the programs just built. */
		free(run_ok(
		    "sed 's#/usr/sbin/#%s/#g' '%s' > '%s/ucr-%s.service'",
		    UCR_BIN_DIR, src, dir, units[i]));
	}
	rc = tu_run(&out, &err,
	    "cd '%s' && %s systemd-analyze verify %s "
	    "ucr-node.service ucr-hub.service",
	    dir, have_man ? "MANPATH=man" : "", have_man ? "" : "--man=no");
	cr_assert_eq(rc, 0, "systemd-analyze verify: exit %d: %s%s", rc, out,
	    err);
	cr_assert(err == NULL || *err == '\0',
	    "systemd-analyze verify "
	    "warns: %s",
	    err);
	free(out);
	free(err);

	/* The hardening adds up to systemd's "OK" band or better. */
	for (i = 0; i < 2; i++) {
		char *p;
		double level;

		out = err = NULL;
		rc = tu_run(&out, &err,
		    "cd '%s' && systemd-analyze security "
		    "--offline=yes --no-pager ucr-%s.service",
		    dir, units[i]);
		cr_assert(rc == 0 || (out && strstr(out, "exposure level")),
		    "systemd-analyze security: exit %d: %s", rc, err);
		p = strstr(out, "Overall exposure level");
		cr_assert_not_null(p, "no exposure level: %s", out);
		p = strchr(p, ':');
		cr_assert_not_null(p);
		level = strtod(p + 1, NULL);
		cr_expect_leq(level, 2.0, "ucr-%s.service exposure %.1f",
		    units[i], level);
		free(out);
		free(err);
	}
}

/* ---------------------------------------------------------------- init */

Test(deploy, init_then_check, .init = setup, .fini = teardown, .timeout = 60)
{
	char *out, *err = NULL, *key1, *key2, path[512];
	const char *hubkey, *nodekey;
	json_t *hub, *node;
	struct stat st;
	int rc, port = test_port(0);

	out = run_ok("ucr init hub --dir '%s/hub' --listen tcp://127.0.0.1:%d "
		     "--json",
	    dir, port);
	hub = parse(out, "init hub --json");
	free(out);
	hubkey = json_string_value(json_object_get(hub, "public_key"));
	cr_assert(hubkey && strlen(hubkey) == 64, "public_key: %s", hubkey);
	cr_assert_str_eq(json_string_value(json_object_get(hub, "role")),
	    "hub");

	snprintf(path, sizeof(path), "%s/hub/hub.key", dir);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "hub.key mode %o", st.st_mode);
	out = run_ok("ucr-hub -n -f '%s/hub/hub.conf'", dir);
	cr_assert_str_eq(out, "configuration OK\n");
	free(out);

	out = run_ok("ucr init node --municipality 2403 --dir '%s/2403' "
		     "--hub tcp://127.0.0.1:%d --hub-key %s",
	    dir, port, hubkey);
	cr_assert_not_null(strstr(out, "public key: "), "%s", out);
	cr_assert_not_null(strstr(out, "roster add 2403 "), "%s", out);
	free(out);
	out = run_ok("ucr-node -n -f '%s/2403/node.conf'", dir);
	cr_assert_str_eq(out, "configuration OK\n");
	free(out);
	/* The file names the hub, and paths stay relative to its folder. */
	snprintf(path, sizeof(path), "%s/2403/node.conf", dir);
	out = tu_read(path);
	cr_assert_not_null(strstr(out, "municipality = 2403\n"), "%s", out);
	cr_assert_not_null(strstr(out, "key = node.key\n"), "%s", out);
	cr_assert_not_null(strstr(out, hubkey), "%s", out);
	free(out);

	/* Never overwrite: the key stays what it was. */
	snprintf(path, sizeof(path), "%s/2403/node.key", dir);
	key1 = tu_read(path);
	rc = tu_run(NULL, &err,
	    "ucr init node --municipality 2403 --dir "
	    "'%s/2403' --hub tcp://127.0.0.1:%d --hub-key %s",
	    dir, port, hubkey);
	cr_assert_eq(rc, 1, "second init: exit %d", rc);
	cr_assert_not_null(strstr(err, "refusing to overwrite"), "%s", err);
	free(err);
	key2 = tu_read(path);
	cr_assert_str_eq(key1, key2);
	free(key1);
	free(key2);

	/* An offline node: no hub, still a valid configuration. */
	out = run_ok("ucr init node --municipality 2460 --dir '%s/offline' "
		     "--json",
	    dir);
	node = parse(out, "init node --json");
	free(out);
	nodekey = json_string_value(json_object_get(node, "public_key"));
	cr_assert(nodekey && strlen(nodekey) == 64);
	cr_assert_str_neq(nodekey, hubkey);
	free(run_ok("ucr-node -n -f '%s/offline/node.conf'", dir));
	json_decref(node);
	json_decref(hub);

	/* Usage and value errors write nothing. */
	rc = tu_run(NULL, NULL,
	    "ucr init node --municipality 9999 --dir "
	    "'%s/bad1'",
	    dir);
	cr_assert_eq(rc, 1);
	rc = tu_run(NULL, NULL,
	    "ucr init node --municipality 2401 --hub "
	    "tcp://127.0.0.1:%d --dir '%s/bad2'",
	    port, dir);
	cr_assert_eq(rc, 2, "--hub without --hub-key: exit %d", rc);
	rc = tu_run(NULL, NULL,
	    "ucr init node --municipality 2401 --hub "
	    "tcp://127.0.0.1:%d --hub-key abc --dir '%s/bad3'",
	    port, dir);
	cr_assert_eq(rc, 1);
	rc = tu_run(NULL, NULL, "ucr init mayor --dir '%s/bad4'", dir);
	cr_assert_eq(rc, 2);
	snprintf(path, sizeof(path), "%s/bad1", dir);
	cr_assert_neq(stat(path, &st), 0, "a refused init made %s", path);
	snprintf(path, sizeof(path), "%s/bad3", dir);
	cr_assert_neq(stat(path, &st), 0, "a refused init made %s", path);
}

/* ---------------------------------------------------------------- quickstart
 */

static char region[600];

static void
quickstart_teardown(void)
{
	if (dir != NULL && region[0] != '\0')
		tu_run(NULL, NULL,
		    "'%s/deploy/quickstart.sh' --stop --dir '%s'",
		    UCR_SOURCE_DIR, region);
	teardown();
}

/* "ucr -c CONF digest --json": the view digest and the entry count. */
static void
digest(const char *conf, char *out, size_t len, long *entries)
{
	char *s = run_ok("ucr -c '%s' digest --json", conf);
	json_t *j = parse(s, "digest --json");

	snprintf(out, len, "%s",
	    json_string_value(json_object_get(j, "view_digest")));
	if (entries)
		*entries =
		    (long)json_integer_value(json_object_get(j, "entries"));
	json_decref(j);
	free(s);
}

static void
check_status(const char *conf)
{
	const char *codes[] = {"2480", "2403", "2401", "2409", "2404", "2460"};
	char *s = run_ok("ucr -c '%s' status --json", conf);
	json_t *j = parse(s, "status --json"), *a, *o;
	size_t i, k;

	a = json_object_get(j, "municipalities");
	cr_assert_eq(json_array_size(a), 6, "%s: %zu municipalities", conf,
	    json_array_size(a));
	for (k = 0; k < 6; k++) {
		int found = 0;

		json_array_foreach(a, i, o) found |=
		    strcmp(json_string_value(json_object_get(o, "code")),
			codes[k]) == 0;
		cr_assert(found, "%s: no municipality %s", conf, codes[k]);
	}
	a = json_object_get(j, "priorities");
	cr_assert_eq(json_array_size(a), 5, "%s: %zu priorities", conf,
	    json_array_size(a));
	json_array_foreach(a, i, o)
	{
		char want[24];

		snprintf(want, sizeof(want), "P%zu", i + 1);
		cr_assert_str_eq(json_string_value(json_object_get(o, "id")),
		    want);
	}
	a = json_object_get(j, "goals");
	cr_assert_eq(json_array_size(a), 6, "%s: %zu goals", conf,
	    json_array_size(a));
	json_array_foreach(a, i, o)
	    cr_assert(json_is_true(json_object_get(o, "met")),
		"%s: goal %s not met: %s", conf,
		json_string_value(json_object_get(o, "id")),
		json_string_value(json_object_get(o, "missing")));
	cr_assert(json_is_string(json_object_get(j, "vision")),
	    "%s: no vision: the region's records did not load", conf);
	json_decref(j);
	free(s);
}

/* Wait until two sites print the same view digest. */
static void
wait_same(const char *conf1, const char *conf2)
{
	char d1[80], d2[80];
	int i;

	for (i = 0; i < 300; i++) {
		digest(conf1, d1, sizeof(d1), NULL);
		digest(conf2, d2, sizeof(d2), NULL);
		if (strcmp(d1, d2) == 0)
			return;
		usleep(100000);
	}
	cr_assert_fail("%s and %s still differ after 30 s", conf1, conf2);
}

/* Not our child (the quickstart started it): gone, or a zombie. */
static int
alive(pid_t pid)
{
	char path[64], *cmdline;
	int yes;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	cmdline = tu_read(path);
	yes = cmdline != NULL && *cmdline != '\0';
	free(cmdline);
	return yes;
}

Test(deploy, quickstart, .init = setup, .fini = quickstart_teardown,
    .timeout = 300)
{
	char *out, *err = NULL, hubconf[700], nodeconf[700], pidfile[700],
		   d1[80], d2[80], bk[700], cmd[2048];
	long e1, e2;
	pid_t pid;
	int rc, i, port = test_port(1);

	snprintf(region, sizeof(region), "%s/region", dir);
	snprintf(hubconf, sizeof(hubconf), "%s/hub/hub.conf", region);
	snprintf(nodeconf, sizeof(nodeconf), "%s/2403/node.conf", region);
	/*
	 * As an operator runs it: packages (a no-op where they are there),
	 * its own build (in the temp folder), the region.
	 */
	snprintf(cmd, sizeof(cmd),
	    "'%s/deploy/quickstart.sh' --dir '%s' "
	    "--port %d --build '%s/build' --timeout 60",
	    UCR_SOURCE_DIR, region, port, dir);

	rc = tu_run(&out, &err, "%s", cmd);
	cr_assert_eq(rc, 0, "quickstart: exit %d\n%s\n%s", rc, out, err);
	cr_assert_not_null(strstr(out, "== build in"), "no build: %s", out);
	cr_assert_not_null(strstr(out, "PROGRAMME GOALS"), "no status: %s",
	    out);
	/* it runs in Swedish (the locale is made by install-deps.sh) */
	cr_assert_not_null(strstr(out, "PROGRAMMÅL"), "not in Swedish: %s",
	    out);
	cr_assert_not_null(strstr(out, "--stop"), "no stop hint: %s", out);
	free(out);
	free(err);

	/* The merged view at the hub and on a node's replica. */
	check_status(hubconf);
	check_status(nodeconf);

	/* Run again: everything is there; nothing is loaded twice. */
	digest(hubconf, d1, sizeof(d1), &e1);
	out = run_ok("%s", cmd);
	cr_assert_not_null(strstr(out, "runs already"), "%s", out);
	cr_assert_null(strstr(out, "imported"), "loaded twice: %s", out);
	cr_assert_null(strstr(out, "importerade"), "loaded twice: %s", out);
	free(out);
	digest(hubconf, d2, sizeof(d2), &e2);
	cr_assert_str_eq(d1, d2);
	cr_assert_eq(e1, e2, "entries %ld, then %ld", e1, e2);

	/*
	 * Back up Bjurholm's live store, write on, restore the old copy: the
	 * node fetches its newer entries back from the hub.
	 */
	snprintf(bk, sizeof(bk), "%s/backup-2403", dir);
	out = run_ok("ucr -c '%s' backup --out '%s'", nodeconf, bk);
	cr_assert_not_null(strstr(out, "verified"), "%s", out);
	free(out);
	free(run_ok("ucr -c '%s' measure N00401 2011 4.25", nodeconf));
	wait_same(hubconf, nodeconf);
	snprintf(pidfile, sizeof(pidfile), "%s/2403/node.pid", region);
	out = tu_read(pidfile);
	cr_assert_not_null(out);
	pid = (pid_t)atol(out);
	free(out);
	cr_assert_gt(pid, 1);
	cr_assert_eq(kill(pid, SIGTERM), 0);
	for (i = 0; i < 200 && alive(pid); i++)
		usleep(50000);
	cr_assert(!alive(pid), "ucr-node 2403 did not stop");
	free(run_ok("cp '%s/data.mdb' '%s/2403/data/data.mdb' && "
		    "rm -f '%s/2403/data/lock.mdb'",
	    bk, region, region));
	rc = tu_run(&out, NULL,
	    "ucr -c '%s' show measure --key "
	    "2403/measure/N00401/2011/T --json",
	    nodeconf);
	cr_assert(rc != 0 || strstr(out, "4.25") == NULL,
	    "the restored copy is not old: %s", out);
	free(out);
	/* The quickstart starts what is missing and waits for the sync. */
	out = run_ok("%s", cmd);
	cr_assert_not_null(strstr(out, "started ucr-node 2403"), "%s", out);
	free(out);
	out =
	    run_ok("ucr -c '%s' show measure --key 2403/measure/N00401/2011/T "
		   "--json",
		nodeconf);
	cr_assert_not_null(strstr(out, "4.25"), "not fetched back: %s", out);
	free(out);

	/*
	 * The hub loses its disk. Its store is made again from Bjurholm's old
	 * backup and Umeå's live replica; the hub's own newest record comes
	 * back from the replica, the rest from the nodes, and the hub writes
	 * on in a new epoch of its log.
	 */
	free(run_ok("ucr -c '%s' vision set 'Before the loss' --year 2050",
	    hubconf));
	snprintf(nodeconf, sizeof(nodeconf), "%s/2480/node.conf", region);
	wait_same(hubconf, nodeconf);
	snprintf(pidfile, sizeof(pidfile), "%s/hub/hub.pid", region);
	out = tu_read(pidfile);
	cr_assert_not_null(out);
	pid = (pid_t)atol(out);
	free(out);
	cr_assert_gt(pid, 1);
	cr_assert_eq(kill(pid, SIGTERM), 0);
	for (i = 0; i < 200 && alive(pid); i++)
		usleep(50000);
	cr_assert(!alive(pid), "ucr-hub did not stop");
	free(run_ok("rm -rf '%s/hub/data'", region));
	rc = tu_run(NULL, &err,
	    "ucr -c '%s' rebuild --from '%s' --from "
	    "'%s/2480/data'",
	    hubconf, bk, region);
	cr_assert_eq(rc, 0, "rebuild: exit %d: %s", rc, err);
	free(err);
	rc = tu_run(&out, &err, "%s", cmd);
	cr_assert_eq(rc, 0, "quickstart after the rebuild: exit %d\n%s\n%s", rc,
	    out, err);
	cr_assert_not_null(strstr(out, "started ucr-hub"), "%s", out);
	free(out);
	free(err);
	out = run_ok("ucr -c '%s' show vision --json", hubconf);
	cr_assert_not_null(strstr(out, "Before the loss"), "%s", out);
	free(out);
	check_status(hubconf);
	free(run_ok("ucr -c '%s' vision set 'After the rebuild' --year 2050",
	    hubconf));
	snprintf(nodeconf, sizeof(nodeconf), "%s/2460/node.conf", region);
	wait_same(hubconf, nodeconf);
	out = run_ok("ucr -c '%s' show vision --json", nodeconf);
	cr_assert_not_null(strstr(out, "After the rebuild"), "%s", out);
	free(out);

	/* --stop stops all seven. */
	out = run_ok("'%s/deploy/quickstart.sh' --stop --dir '%s'",
	    UCR_SOURCE_DIR, region);
	cr_assert_not_null(strstr(out, "stopped ucr-hub"), "%s", out);
	free(out);
	rc = tu_run(NULL, NULL, "ucr -c '%s' peers", hubconf);
	cr_assert_neq(rc, 0, "the hub still answers after --stop");

	/* --reset refuses a folder that is not a quickstart region. */
	rc = tu_run(NULL, &err,
	    "mkdir -p '%s/other' && touch '%s/other/keep' "
	    "&& '%s/deploy/quickstart.sh' --reset --dir '%s/other' --bin '%s'",
	    dir, dir, UCR_SOURCE_DIR, dir, UCR_BIN_DIR);
	cr_assert_eq(rc, 1, "--reset on a foreign folder: exit %d", rc);
	cr_assert_not_null(strstr(err, "not a quickstart region"), "%s", err);
	free(err);
}

/* ---------------------------------------------------------------- package */

static pid_t deb_hub = -1, deb_node = -1;
static int deb_installed;

static void
deb_teardown(void)
{
	if (deb_node > 0)
		tu_kill(deb_node, SIGTERM);
	if (deb_hub > 0)
		tu_kill(deb_hub, SIGTERM);
	deb_node = deb_hub = -1;
	if (deb_installed) {
		tu_run(NULL, NULL, "dpkg --purge ucr");
		/* what ucr init and the daemons made: ours, made here */
		tu_run(NULL, NULL,
		    "rm -rf /etc/ucr/node.conf /etc/ucr/node.key "
		    "/etc/ucr/hub.conf /etc/ucr/hub.key /var/lib/ucr/node "
		    "/var/lib/ucr/hub /run/ucr; rmdir /etc/ucr /var/lib/ucr");
		deb_installed = 0;
	}
	teardown();
}

Test(deploy, deb_installs_and_starts, .init = setup, .fini = deb_teardown,
    .timeout = 300)
{
	char *out, *err = NULL, *hubkey, *nodekey, *s;
	char d1[80], d2[80], deb[700];
	struct stat st;
	int rc, i, port = test_port(2);

	if (geteuid() != 0)
		cr_skip_test("needs root (dpkg -i); CI runs as root");
	if (tu_run(NULL, NULL,
		"dpkg-query -W -f='${Status}' ucr 2>/dev/null "
		"| grep -q installed") == 0 ||
	    stat("/etc/ucr/node.conf", &st) == 0 ||
	    stat("/etc/ucr/hub.conf", &st) == 0)
		cr_skip_test(
		    "UCR is installed on this machine; not touching it");

	/* The package of this very build. */
	out = run_ok("cd '%s/..' && cpack -G DEB -B '%s/pkg' >&2 && "
		     "ls '%s'/pkg/ucr_*.deb",
	    UCR_BIN_DIR, dir, dir);
	cr_assert_gt(strlen(out), 5, "no .deb");
	snprintf(deb, sizeof(deb), "%.*s", (int)strcspn(out, "\n"), out);
	free(out);
	out = run_ok("dpkg-deb -I '%s'", deb);
	cr_assert_not_null(strstr(out, "Package: ucr"), "%s", out);
	cr_assert_not_null(strstr(out, "libzmq5"), "shlibdeps: %s", out);
	free(out);
	out = run_ok("dpkg-deb -c '%s'", deb);
	cr_assert_not_null(strstr(out, "./usr/sbin/ucr-node"), "%s", out);
	cr_assert_not_null(strstr(out, "./usr/sbin/ucr-hub"), "%s", out);
	cr_assert_not_null(strstr(out, "./usr/bin/ucr"), "%s", out);
	cr_assert_not_null(strstr(out, "/systemd/system/ucr-node.service"),
	    "%s", out);
	cr_assert_not_null(strstr(out, "./usr/share/man/man5/ucr.conf.5"), "%s",
	    out);
	cr_assert_not_null(strstr(out, "./etc/ucr/node.conf.example"), "%s",
	    out);
	free(out);

	deb_installed = 1;
	rc = tu_run(&out, &err, "dpkg -i '%s'", deb);
	if (rc != 0 && err && strstr(err, "dependency problems")) {
		/* a minimal system may lack adduser: let apt bring it */
		free(out);
		free(err);
		rc = tu_run(&out, &err,
		    "DEBIAN_FRONTEND=noninteractive "
		    "apt-get install -y -f --no-install-recommends");
	}
	cr_assert_eq(rc, 0, "dpkg -i: exit %d\n%s\n%s", rc, out, err);
	free(out);
	free(err);
	free(run_ok("getent passwd ucr"));
	cr_assert_eq(stat("/usr/sbin/ucr-node", &st), 0);
	/* postinst enabled the units (they start once configured) */
	if (tu_run(NULL, NULL, "test -x /usr/bin/deb-systemd-helper") == 0)
		cr_assert_eq(tu_run(NULL, NULL,
				 "test -L /etc/systemd/system/"
				 "multi-user.target.wants/ucr-node.service"),
		    0, "ucr-node.service not enabled");
	/* The installed units, with their real paths and man pages. */
	rc = tu_run(&out, &err,
	    "systemd-analyze verify %s "
	    "/lib/systemd/system/ucr-node.service "
	    "/lib/systemd/system/ucr-hub.service",
	    tu_run(NULL, NULL, "command -v man") == 0 ? "" : "--man=no");
	cr_assert_eq(rc, 0, "systemd-analyze verify: %s%s", out, err);
	free(out);
	free(err);

	/* ucr init in the standard places: the daemon's user owns the key. */
	out = run_ok("/usr/bin/ucr init hub --listen tcp://127.0.0.1:%d --json",
	    port);
	s = strstr(out, "\"public_key\": \"");
	cr_assert_not_null(s, "%s", out);
	hubkey = strndup(s + 15, 64);
	free(out);
	out = run_ok("/usr/bin/ucr init node --municipality 2403 --hub "
		     "tcp://127.0.0.1:%d --hub-key %s --json",
	    port, hubkey);
	s = strstr(out, "\"public_key\": \"");
	cr_assert_not_null(s, "%s", out);
	nodekey = strndup(s + 15, 64);
	free(out);
	free(run_ok(
	    "test \"$(stat -c '%%U %%a' /etc/ucr/node.key)\" = 'ucr 600' "
	    "&& test \"$(stat -c '%%G %%a' /etc/ucr/node.conf)\" = 'ucr 640'"));
	out = run_ok("setpriv --reuid ucr --regid ucr --init-groups "
		     "/usr/sbin/ucr-node -n");
	cr_assert_str_eq(out, "configuration OK\n");
	free(out);
	out = run_ok("setpriv --reuid ucr --regid ucr --init-groups "
		     "/usr/sbin/ucr-hub -n");
	cr_assert_str_eq(out, "configuration OK\n");
	free(out);

	/*
	 * Start both as systemd would (user ucr, runtime folders), enrol the
	 * node, and see a record reach the hub. No systemd in CI containers,
	 * so the units' ExecStart is run by hand.
	 */
	free(run_ok(
	    "install -d -o ucr -g ucr -m 0750 /run/ucr/hub /run/ucr/node"));
	deb_hub = tu_spawn("/dev/null",
	    "exec setpriv --reuid ucr --regid ucr "
	    "--init-groups /usr/sbin/ucr-hub -d -f /etc/ucr/hub.conf");
	cr_assert_eq(tu_wait_cmd(20000,
			 "/usr/bin/ucr -c /etc/ucr/hub.conf "
			 "peers"),
	    0, "the installed ucr-hub did not start");
	free(run_ok("/usr/bin/ucr -c /etc/ucr/hub.conf roster add 2403 %s",
	    nodekey));
	deb_node = tu_spawn("/dev/null",
	    "exec setpriv --reuid ucr --regid ucr "
	    "--init-groups /usr/sbin/ucr-node -d");
	cr_assert_eq(tu_wait_cmd(20000,
			 "/usr/bin/ucr peers --json | grep -q "
			 "'\"writes_open\": true'"),
	    0,
	    "the installed ucr-node did not "
	    "reach the hub");
	free(run_ok("/usr/bin/ucr measure N00401 2011 4.2"));
	for (i = 0; i < 200; i++) {
		digest("/etc/ucr/hub.conf", d1, sizeof(d1), NULL);
		digest("/etc/ucr/node.conf", d2, sizeof(d2), NULL);
		if (strcmp(d1, d2) == 0)
			break;
		usleep(100000);
	}
	cr_assert_str_eq(d1, d2, "node and hub differ");
	free(hubkey);
	free(nodekey);
}
