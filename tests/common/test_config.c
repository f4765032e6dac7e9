/* test_config.c: INI configuration, validated with file:line errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "testutil.h"

static char *dir;
static char path[512];

static void
setup(void)
{
	dir = tu_tempdir();
	snprintf(path, sizeof(path), "%s/node.conf", dir);
}

static void
teardown(void)
{
	tu_rmrf(dir);
	free(dir);
}

TestSuite(config, .init = setup, .fini = teardown, .timeout = 30);

/* A hub's and a node's least configuration, to add a key to. */
#define HUB                                                \
	"[hub]\nkey = /k\ndata = /d\ncontrol = ipc:///c\n" \
	"listen = tcp://*:7300\n"
#define NODE                                                 \
	"[node]\nmunicipality = 2403\nkey = /k\ndata = /d\n" \
	"control = ipc:///c\n"

/* The configuration TEXT, loaded (the caller frees it). */
static struct ucr_config *
loads(const char *text)
{
	struct ucr_config *c;
	char why[256];

	tu_write(path, text);
	cr_assert_eq(ucr_config_load(&c, path, why, sizeof(why)), 0, "%s", why);
	return c;
}

/* The configuration TEXT refused, its reason naming WORDS (NULL: any). */
static void
refused(const char *text, const char *words)
{
	struct ucr_config *c;
	char why[256];

	tu_write(path, text);
	cr_assert_eq(ucr_config_load(&c, path, why, sizeof(why)), UCR_ECONFIG);
	if (words != NULL)
		cr_assert(strstr(why, words) != NULL, "%s", why);
}

Test(config, valid_node)
{
	struct ucr_config *c;
	char why[256];

	tu_write(path,
	    "# a node\n[node]\nmunicipality = 2403\nkey = node.key\n"
	    "data = /var/lib/ucr\ncontrol = ipc:///run/ucr/node.sock\n"
	    "map_size = 512M\n");
	cr_assert_eq(ucr_config_load(&c, path, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(c->is_hub, 0);
	cr_assert_str_eq(c->owner, "2403");
	cr_assert(strstr(c->key, dir) == c->key); /* relative to the file */
	cr_assert_str_eq(c->data, "/var/lib/ucr");
	cr_assert_eq(c->map_size, (size_t)512 << 20);
	cr_assert_str_eq(c->region, "umearegionen");
	cr_assert_str_eq(c->hub, "");
	ucr_config_free(c);
}

Test(config, valid_hub)
{
	struct ucr_config *c;
	char why[256];

	tu_write(path,
	    "[hub]\nkey = /k\ndata = /d\ncontrol = ipc:///c\n"
	    "listen = tcp://*:7300\nregion = umearegionen\n");
	cr_assert_eq(ucr_config_load(&c, path, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(c->is_hub, 1);
	cr_assert_str_eq(c->owner, "region");
	ucr_config_free(c);
}

Test(config, unknown_key_names_file_and_line)
{
	struct ucr_config *c = NULL;
	char why[256], want[600];

	tu_write(path, "[node]\nmunicipality = 2403\ncolour = blue\n");
	cr_assert_eq(ucr_config_load(&c, path, why, sizeof(why)), UCR_ECONFIG);
	cr_assert_null(c);
	snprintf(want, sizeof(want), "%s:3:", path);
	cr_assert(strstr(why, want) != NULL, "%s", why);
	cr_assert(strstr(why, "colour") != NULL, "%s", why);
}

Test(config, bad_values)
{
	struct ucr_config *c = NULL;
	char why[256];

	tu_write(path, "[node]\nmunicipality = 9999\n");
	cr_assert_eq(ucr_config_load(&c, path, why, sizeof(why)), UCR_ECONFIG);
	cr_assert(strstr(why, ":2:") && strstr(why, "municipality"), "%s", why);
	tu_write(path, "[node]\ncontrol = tcp://x:1\n");
	cr_assert_eq(ucr_config_load(&c, path, why, sizeof(why)), UCR_ECONFIG);
	cr_assert(strstr(why, "control"), "%s", why);
	tu_write(path, "[node]\nmap_size = lots\n");
	cr_assert_eq(ucr_config_load(&c, path, why, sizeof(why)), UCR_ECONFIG);
	tu_write(path, "[node]\nhub_key = 1234\n");
	cr_assert_eq(ucr_config_load(&c, path, why, sizeof(why)), UCR_ECONFIG);
	cr_assert(strstr(why, "hub_key"), "%s", why);
}

Test(config, missing_required_key)
{
	struct ucr_config *c = NULL;
	char why[256];

	tu_write(path, "[node]\nmunicipality = 2403\nkey = k\ndata = d\n");
	cr_assert_eq(ucr_config_load(&c, path, why, sizeof(why)), UCR_ECONFIG);
	cr_assert(strstr(why, "control") && strstr(why, "missing"), "%s", why);
}

Test(config, hub_without_hub_key)
{
	struct ucr_config *c = NULL;
	char why[256];

	tu_write(path,
	    "[node]\nmunicipality = 2403\nkey = k\ndata = d\n"
	    "control = ipc://n.sock\nhub = tcp://127.0.0.1:7300\n");
	cr_assert_eq(ucr_config_load(&c, path, why, sizeof(why)), UCR_ECONFIG);
	cr_assert(strstr(why, "hub_key"), "%s", why);
}

Test(config, both_sections_and_no_file)
{
	struct ucr_config *c = NULL;
	char why[256];

	tu_write(path, "[node]\nkey = k\n[hub]\nkey = k\n");
	cr_assert_eq(ucr_config_load(&c, path, why, sizeof(why)), UCR_ECONFIG);
	cr_assert_eq(ucr_config_load(&c, "/nonexistent/x.conf", why,
			 sizeof(why)),
	    UCR_EIO);
	cr_assert(strstr(why, "/nonexistent/x.conf"), "%s", why);
}

Test(config, max_clock_skew)
{
	struct ucr_config *c;

	c = loads(HUB);
	cr_assert_eq(c->max_clock_skew, 300);
	ucr_config_free(c);
	c = loads(NODE "max_clock_skew = 60\n");
	cr_assert_eq(c->max_clock_skew, 60);
	ucr_config_free(c);
	refused(NODE "max_clock_skew = 0\n", "max_clock_skew");
}

Test(config, reader_needs_hub_not_store)
{
	struct ucr_config *c;
	char why[256];

	tu_write(path,
	    "[reader]\nmunicipality = 2480\nkey = reader.key\n"
	    "hub = tcp://hub.example:7300\nhub_key = "
	    "5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c5f0c\n");
	cr_assert_eq(ucr_config_load(&c, path, why, sizeof(why)), 0, "%s", why);
	cr_assert(c->is_reader);
	cr_assert_eq(c->is_hub, 0);
	cr_assert_str_eq(c->data, "");
	cr_assert_str_eq(c->control, "");
	cr_assert_str_eq(c->hub, "tcp://hub.example:7300");
	ucr_config_free(c);
	tu_write(path, "[reader]\nkey = reader.key\nhub = tcp://h:7300\n");
	cr_assert_eq(ucr_config_load(&c, path, why, sizeof(why)), UCR_ECONFIG);
	cr_assert(strstr(why, "hub_key") != NULL, "%s", why);
	cr_assert(strstr(why, "[reader]") != NULL, "%s", why);
}

Test(config, ingest_threads)
{
	struct ucr_config *c;

	c = loads(HUB);
	cr_assert_eq(c->ingest_threads, 2);
	ucr_config_free(c);
	c = loads(HUB "ingest_threads = 1\n");
	cr_assert_eq(c->ingest_threads, 1);
	ucr_config_free(c);
	c = loads(HUB "ingest_threads = 2\n");
	cr_assert_eq(c->ingest_threads, 2);
	ucr_config_free(c);
	refused(HUB "ingest_threads = 3\n", "ingest_threads");
	/* a node has no such key */
	refused(NODE "ingest_threads = 2\n", NULL);
}
