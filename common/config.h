/*
 * config.h: the INI configuration of ucr-node ([node]) and ucr-hub ([hub]).
 *
 * The whole file is read and validated before anything starts. Errors name
 * the file, line and key: "node.conf:4: key 'municipality': unknown code".
 */
#ifndef UCR_CONFIG_H
#define UCR_CONFIG_H

#include <stddef.h>

#define UCR_DEFAULT_NODE_CONF UCR_SYSCONFDIR "/ucr/node.conf"
#define UCR_DEFAULT_HUB_CONF UCR_SYSCONFDIR "/ucr/hub.conf"
#define UCR_DEFAULT_REGION "umearegionen"

struct ucr_config {
	char *path;
	int is_hub;      /* [hub] section rather than [node] */
	int is_reader;   /* [reader]: queries the hub; no store, no daemon */
	char *owner;     /* municipality code, or "region" on the hub */
	char *key;       /* key file */
	char *data;      /* store folder */
	char *control;   /* ipc:// endpoint of the control socket */
	char *region;    /* region name, part of every signature tag */
	char *hub;       /* node: hub endpoint, may be empty */
	char *hub_key;   /* node: hub public key, 64 hex, may be empty */
	char *listen;    /* hub: endpoint to bind */
	size_t map_size; /* LMDB map size in bytes */
	int stale_after; /* seconds before a node counts as not synced */
	int log_level;   /* 0 info, 1 debug */

	int max_clock_skew; /* seconds an entry may be ahead of our clock */
	int ingest_threads; /* hub: 2 (default), batches checked ahead */
};

/*
 * Load and validate path. On error returns UCR_ECONFIG (or UCR_EIO) with a
 * one-line message in why. Relative paths inside the file are taken
 * relative to the file's folder. The caller owns *out.
 */
int ucr_config_load(struct ucr_config **out, const char *path, char *why,
    size_t whylen);
void ucr_config_free(struct ucr_config *c);

#endif
