/*
 * config.c: INI configuration (inih), validated completely before use.
 *
 * inih stops at the first handler error and returns its line number, which
 * is how errors name the line.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "config.h"
#include "error.h"
#include "keys.h"
#include "record.h"

struct parse {
	struct ucr_config *c;
	char dir[PATH_MAX];
	char why[256];
	int section; /* 0 none, 1 node or reader, 2 hub */
};

static int
set_str(char **dst, const char *v)
{
	free(*dst);
	return (*dst = strdup(v)) != NULL;
}

static int
set_path(struct parse *p, char **dst, const char *v)
{
	char buf[PATH_MAX * 2];

	if (v[0] == '/' || v[0] == '\0')
		return set_str(dst, v);
	snprintf(buf, sizeof(buf), "%s/%s", p->dir, v);
	return set_str(dst, buf);
}

static int
parse_size(size_t *out, const char *v)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v)
		return -1;
	switch (*end) {
	case 'G':
	case 'g':
		n <<= 30;
		end++;
		break;
	case 'M':
	case 'm':
		n <<= 20;
		end++;
		break;
	case 'K':
	case 'k':
		n <<= 10;
		end++;
		break;
	}
	if (*end != '\0' || n < (1u << 20))
		return -1;
	*out = n;
	return 0;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	struct ucr_config *c = p->c;
	int hub;

	if (name == NULL) { /* a new section, inih >= 50 reports it */
		if (strcmp(section, "reader") == 0)
			c->is_reader = 1;
		if (strcmp(section, "node") == 0 ||
		    strcmp(section, "reader") == 0)
			p->section = 1;
		else if (strcmp(section, "hub") == 0)
			p->section = 2;
		else {
			snprintf(p->why, sizeof(p->why),
			    "unknown section [%s] (expected [node] or [hub])",
			    section);
			return 0;
		}
		if (c->owner != NULL || c->is_hub != -1) {
			if (c->is_hub != -1 && c->is_hub != (p->section == 2)) {
				snprintf(p->why, sizeof(p->why),
				    "both [node] and [hub] sections");
				return 0;
			}
		}
		c->is_hub = p->section == 2;
		return 1;
	}
	if (strcmp(section, "reader") == 0)
		c->is_reader = 1;
	if (strcmp(section, "node") == 0 || strcmp(section, "reader") == 0)
		p->section = 1;
	else if (strcmp(section, "hub") == 0)
		p->section = 2;
	else {
		snprintf(p->why, sizeof(p->why),
		    "key '%s' outside a [node] or [hub] section", name);
		return 0;
	}
	hub = p->section == 2;
	if (c->is_hub != -1 && c->is_hub != hub) {
		snprintf(p->why, sizeof(p->why),
		    "both [node] and [hub] sections in one file");
		return 0;
	}
	c->is_hub = hub;
	if (strcmp(name, "key") == 0)
		return set_path(p, &c->key, value);
	if (strcmp(name, "data") == 0)
		return set_path(p, &c->data, value);
	if (strcmp(name, "control") == 0) {
		if (strncmp(value, "ipc://", 6) != 0 || value[6] == '\0') {
			snprintf(p->why, sizeof(p->why),
			    "key 'control': must be an ipc:// endpoint");
			return 0;
		}
		if (value[6] != '/') {
			char buf[PATH_MAX * 2];

			snprintf(buf, sizeof(buf), "ipc://%s/%s", p->dir,
			    value + 6);
			return set_str(&c->control, buf);
		}
		return set_str(&c->control, value);
	}
	if (strcmp(name, "region") == 0) {
		size_t i;

		for (i = 0; value[i]; i++)
			if (!((value[i] >= 'a' && value[i] <= 'z') ||
				(value[i] >= '0' && value[i] <= '9') ||
				value[i] == '-'))
				break;
		if (value[i] != '\0' || i == 0 || i > 64) {
			snprintf(p->why, sizeof(p->why),
			    "key 'region': use 1-64 of a-z 0-9 -");
			return 0;
		}
		return set_str(&c->region, value);
	}
	if (strcmp(name, "map_size") == 0) {
		if (parse_size(&c->map_size, value) != 0) {
			snprintf(p->why, sizeof(p->why),
			    "key 'map_size': '%s' is not a size of at least 1M "
			    "(e.g. 512M, 4G)",
			    value);
			return 0;
		}
		return 1;
	}
	if (strcmp(name, "stale_after") == 0) {
		char *end;
		long v = strtol(value, &end, 10);

		if (*value == '\0' || *end != '\0' || v < 1 ||
		    v > 86400 * 365) {
			snprintf(p->why, sizeof(p->why),
			    "key 'stale_after': '%s' is not a number of seconds",
			    value);
			return 0;
		}
		c->stale_after = (int)v;
		return 1;
	}
	if (strcmp(name, "max_clock_skew") == 0) {
		char *end;
		long v = strtol(value, &end, 10);

		if (*value == '\0' || *end != '\0' || v < 1 || v > 86400) {
			snprintf(p->why, sizeof(p->why),
			    "key 'max_clock_skew': '%s' is not a number of "
			    "seconds (1-86400)",
			    value);
			return 0;
		}
		c->max_clock_skew = (int)v;
		return 1;
	}
	if (strcmp(name, "log_level") == 0) {
		if (strcmp(value, "info") == 0)
			c->log_level = 0;
		else if (strcmp(value, "debug") == 0)
			c->log_level = 1;
		else {
			snprintf(p->why, sizeof(p->why),
			    "key 'log_level': use info or debug");
			return 0;
		}
		return 1;
	}
	if (!hub && strcmp(name, "municipality") == 0) {
		if (!ucr_municipality_known(value)) {
			snprintf(p->why, sizeof(p->why),
			    "key 'municipality': unknown code '%s' (one of "
			    "Sweden's 290 SCB codes, e.g. 2480)",
			    value);
			return 0;
		}
		return set_str(&c->owner, value);
	}
	if (!hub && strcmp(name, "hub") == 0) {
		if (*value && strncmp(value, "tcp://", 6) != 0 &&
		    strncmp(value, "ipc://", 6) != 0) {
			snprintf(p->why, sizeof(p->why),
			    "key 'hub': must be a tcp:// or ipc:// endpoint");
			return 0;
		}
		return set_str(&c->hub, value);
	}
	if (!hub && strcmp(name, "hub_key") == 0) {
		uint8_t pk[UCR_PK_LEN];

		if (*value && ucr_unhex(pk, sizeof(pk), value) != 0) {
			snprintf(p->why, sizeof(p->why),
			    "key 'hub_key': not 64 hex digits");
			return 0;
		}
		return set_str(&c->hub_key, value);
	}
	if (hub && strcmp(name, "ingest_threads") == 0) {
		if (strcmp(value, "1") != 0 && strcmp(value, "2") != 0) {
			snprintf(p->why, sizeof(p->why),
			    "key 'ingest_threads': use 1 or 2");
			return 0;
		}
		c->ingest_threads = value[0] - '0';
		return 1;
	}
	if (hub && strcmp(name, "listen") == 0) {
		if (strncmp(value, "tcp://", 6) != 0 &&
		    strncmp(value, "ipc://", 6) != 0) {
			snprintf(p->why, sizeof(p->why),
			    "key 'listen': must be a tcp:// or ipc:// endpoint");
			return 0;
		}
		return set_str(&c->listen, value);
	}
	snprintf(p->why, sizeof(p->why), "unknown key '%s' in [%s]", name,
	    section);
	return 0;
}

int
ucr_config_load(struct ucr_config **out, const char *path, char *why,
    size_t whylen)
{
	struct parse p;
	struct ucr_config *c;
	char tmp[PATH_MAX];
	FILE *f;
	int line, rc = UCR_ECONFIG;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return UCR_ENOMEM;
	c->is_hub = -1;
	c->map_size = (size_t)1 << 30;
	c->stale_after = 3600;
	c->max_clock_skew = 300;
	c->ingest_threads = 2;
	p.c = c;
	/* Absolute, so a daemon that detaches (chdir /) keeps its paths. */
	snprintf(tmp, sizeof(tmp), "%s", path);
	if (realpath(dirname(tmp), p.dir) == NULL) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		rc = UCR_EIO;
		goto fail;
	}
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		rc = UCR_EIO;
		goto fail;
	}
	line = ini_parse_file(f, handler, &p);
	fclose(f);
	if (line != 0) {
		if (line < 0)
			snprintf(why, whylen, "%s: cannot read", path);
		else if (p.why[0])
			snprintf(why, whylen, "%s:%d: %s", path, line, p.why);
		else
			snprintf(why, whylen, "%s:%d: syntax error", path,
			    line);
		goto fail;
	}
	if (c->is_hub == -1) {
		snprintf(why, whylen, "%s: no [node] or [hub] section", path);
		goto fail;
	}
#define REQUIRE(field, name)                                                \
	if (c->field == NULL || *c->field == '\0') {                        \
		snprintf(why, whylen, "%s: key '%s' missing in [%s]", path, \
		    name,                                                   \
		    c->is_hub          ? "hub"                              \
			: c->is_reader ? "reader"                           \
				       : "node");                           \
		goto fail;                                                  \
	}
	REQUIRE(key, "key");
	if (c->is_reader) {
		/* A reader queries the hub over the network: no store, no
		   control socket of its own (docs/ucr.conf.5). */
		REQUIRE(hub, "hub");
		REQUIRE(hub_key, "hub_key");
		if ((c->owner == NULL && !set_str(&c->owner, "")) ||
		    (c->data == NULL && !set_str(&c->data, "")) ||
		    (c->control == NULL && !set_str(&c->control, "")))
			goto fail;
	} else if (c->is_hub) {
		REQUIRE(data, "data");
		REQUIRE(control, "control");
		REQUIRE(listen, "listen");
		if (!set_str(&c->owner, UCR_REGION))
			goto fail;
	} else {
		REQUIRE(data, "data");
		REQUIRE(control, "control");
		REQUIRE(owner, "municipality");
		if (c->hub == NULL && !set_str(&c->hub, ""))
			goto fail;
		if (c->hub_key == NULL && !set_str(&c->hub_key, ""))
			goto fail;
		if ((*c->hub == '\0') != (*c->hub_key == '\0')) {
			snprintf(why, whylen,
			    "%s: keys 'hub' and 'hub_key' go together", path);
			goto fail;
		}
	}
#undef REQUIRE
	if (c->region == NULL && !set_str(&c->region, UCR_DEFAULT_REGION))
		goto fail;
	if ((c->path = strdup(path)) == NULL)
		goto fail;
	*out = c;
	return 0;
fail:
	ucr_config_free(c);
	return rc;
}

void
ucr_config_free(struct ucr_config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->owner);
	free(c->key);
	free(c->data);
	free(c->control);
	free(c->region);
	free(c->hub);
	free(c->hub_key);
	free(c->listen);
	free(c);
}
