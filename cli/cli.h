/*
 * cli.h: what the ucr subcommands share.
 *
 * Each subcommand is "int cmd_<name>(int argc, char **argv)" with argv[0]
 * the command's name, registered in the table in main.c with its one-line
 * summary and usage text. It returns the process exit status:
 *   0 success, 1 failure (error printed), 2 usage error, 3 a write's
 *   outcome is unknown (the daemon did not answer; cli_request exits).
 * Errors are one line on stderr: "ucr: what went wrong: why".
 */
#ifndef UCR_CLI_H
#define UCR_CLI_H

#include <stdio.h>

#include "config.h"
#include "i18n.h"
#include "store.h"
#include "ucr.pb-c.h"

#define EXIT_USAGE 2
#define EXIT_UNKNOWN 3 /* no answer to a write: it may have been made */

/* Set by the global options before the command runs. */
extern const char *cli_conf_path; /* -c FILE; NULL: the default */

void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Load the configuration (-c or the default); prints the error. 0 or -1. */
int cli_load_config(struct ucr_config **out);
/*
 * Open a store read-only for a command taking --data DIR and --region
 * NAME (verify, forks): from the flags, else from the configuration.
 * *cfg is the configuration loaded (NULL with --data; the caller frees),
 * *data and *region point into the flags or *cfg. 0, or -1 after a
 * one-line error.
 */
struct cli_flags;
int cli_open_store_flags(const struct cli_flags *f, const char *cmd,
    struct ucr_config **cfg, struct ucr_store **out, const char **data,
    const char **region);

/* Open the configured store read-only for queries; prints the error. */
int cli_open_store(struct ucr_store **out, const struct ucr_config *cfg);

/*
 * Send a request to the daemon's control socket and wait for its reply
 * (timeout_ms, 0 for the default 30 s; UCR_TIMEOUT seconds overrides).
 * A write (Put, PutMany) gets a request id and is sent again, with the
 * same id, when no answer comes in time; after the last try the process
 * exits with EXIT_UNKNOWN and says how to check. Prints the error and returns
 * -1 if the daemon cannot be reached or the reply is undecodable; otherwise 0
 * and *out (free with ucr__reply__free_unpacked(*out, NULL)); the caller
 * checks (*out)->code.
 */
int cli_request(const struct ucr_config *cfg, const Ucr__Request *req,
    Ucr__Reply **out, int timeout_ms);

/*
 * cli_request for a large request whose packed size the caller has worked
 * out already: bound is at least the packed size of *req (without the
 * request id cli_request adds), so the request is not sized again.
 */
int cli_request_bound(const struct ucr_config *cfg, const Ucr__Request *req,
    size_t bound, Ucr__Reply **out, int timeout_ms);

/*
 * cli_request for a request the caller packed itself (buf, len): what is
 * CLI_REQ_READ, CLI_REQ_WRITE (a put or puts: sent again, with the same
 * id, when no answer comes) or CLI_REQ_COMMIT (an import's last chunk:
 * sent once); reqid (reqidlen bytes) is the id packed in it, for the
 * message when the outcome is unknown.
 */
#define CLI_REQ_READ 0
#define CLI_REQ_WRITE 1
#define CLI_REQ_COMMIT 2
int cli_request_packed(const struct ucr_config *cfg, const uint8_t *buf,
    size_t len, int what, const uint8_t *reqid, size_t reqidlen,
    Ucr__Reply **out, int timeout_ms);

/*
 * A reader's configuration ([reader], reader.c): the view's inputs from
 * the hub over CURVE, folded; prints the error. 0 or -1.
 */
struct ucr_view;
int cli_reader_view(struct ucr_view **out, const struct ucr_config *cfg,
    uint64_t now);
int cmd_init_reader(int argc, char **argv);
/* A reader's connection to the hub (reader.c): open, ask, close. open and
   ask print their errors and return 0 or -1; ask waits for an answer of
   the case want (an Error frame is printed as the hub's refusal). */
struct cli_hub {
	const struct ucr_config *cfg;
	struct ucr_key *key;
	void *ctx, *sock;
	char *sec;
	int timeout; /* ms */
};
int cli_hub_open(struct cli_hub *c, const struct ucr_config *cfg);
int cli_hub_ask(struct cli_hub *c, const Ucr__Frame *q,
    Ucr__Frame__BodyCase want, Ucr__Frame **a);
void cli_hub_close(struct cli_hub *c);

/*
 * The current records in key order, page by page (records.c), from where
 * the configuration says: a reader's hub over the network, the daemon's
 * control socket when it runs, else (the daemon stopped) the store opened
 * read-only. Only records of kind ("measure"; NULL: any) whose key starts
 * with prefix (NULL: any). At most one page is held at a time.
 */
struct cli_pager {
	const struct ucr_config *cfg;
	int via; /* CLI_VIA_* */
	char kind[32], prefix[256], after[256];
	int done, first;
	struct ucr_store *store;
	struct cli_hub hub;
	/* the page in hand and the record last returned */
	Ucr__Reply *rep;
	Ucr__Frame *ans;
	void *page; /* struct ucr_page, when read from the store */
	Ucr__ViewRecord **recs;
	size_t n, i;
	Ucr__Record *cur;
	struct ucr_rec rec;
	uint8_t hash[32];
};
#define CLI_VIA_STORE 0
#define CLI_VIA_DAEMON 1
#define CLI_VIA_HUB 2
/* Prints the error; 0 or -1. */
int cli_pager_open(struct cli_pager *p, const struct ucr_config *cfg,
    const char *kind, const char *prefix);
/*
 * The next record: 1 with *r (and *dec, the record decoded, or NULL if it
 * does not decode), valid until the next call; 0 at the end; -1 after
 * printing the error.
 */
int cli_pager_next(struct cli_pager *p, const struct ucr_rec **r,
    const Ucr__Record **dec);
/* Another query on the same connection (or store): from its first page. */
void cli_pager_again(struct cli_pager *p, const char *kind, const char *prefix);
void cli_pager_close(struct cli_pager *p);
/*
 * The counts of records changed since an HLC time (records.h,
 * ucr_records_changed) from the hub, the daemon or the store: 0 and
 * counts[UCR_CHANGE_NKINDS]; 1 when an older hub or daemon does not
 * answer them (count the pages instead); -1 after printing the error.
 */
int cli_pager_changed(struct cli_pager *p, uint64_t since, uint64_t *counts);
/* The view as status builds it (report.c): reader, daemon or store. */
int cli_load_view(struct ucr_view **out);

/* 1 if the daemon's control socket has a listener (always 1 for tcp). */
int cli_daemon_up(const struct ucr_config *cfg);

/* Display width of UTF-8 text (code points), and a table cell of exactly
 * width columns: padded, or cut with "…"; right-aligned if right. */
size_t cli_utf8_width(const char *s);
void cli_cell(FILE *f, const char *s, size_t width, int right);

/* 1 if stdout (fd) is a terminal and NO_COLOR is unset. */
int cli_color(FILE *f);

/* Print the usage text of a command (from the table) to f. */
void cli_usage(FILE *f, const char *command);

/*
 * Flags: a small parser shared by the subcommands. spec lists the long
 * flags a command takes, space-separated; a trailing '=' means it takes a
 * value ("title= priority= gap json"). "--help" is always accepted. Values
 * may follow as "--name VALUE" or "--name=VALUE"; anything else is a
 * positional argument. Pointers into argv live as long as argv.
 */
#define CLI_MAXFLAGS 32
#define CLI_MAXPOS 16
struct cli_flags {
	const char *name[CLI_MAXFLAGS];
	const char *value[CLI_MAXFLAGS]; /* "" for a boolean flag given */
	int n;
	const char *pos[CLI_MAXPOS];
	int npos;
	int help;
};
/* 0, or prints a usage error and returns -1. */
int cli_flags_parse(struct cli_flags *f, const char *spec, int argc,
    char **argv);
const char *cli_flag(const struct cli_flags *f, const char *name);
/*
 * The start every command shares: parse the flags; on --help print the
 * usage and return 0 from the command, on a bad flag return EXIT_USAGE.
 */
int cli_begin(struct cli_flags *f, const char *spec, int argc, char **argv);
#define CLI_BEGIN(f, spec, argc, argv)                            \
	do {                                                      \
		int st_ = cli_begin((f), (spec), (argc), (argv)); \
		if (st_ >= 0)                                     \
			return st_;                               \
	} while (0)
/* Print the command's usage to stderr; returns EXIT_USAGE. */
int cli_misuse(const char *command);
int cli_flag_set(const struct cli_flags *f, const char *name);

/*
 * A daemon's reply text in the user's language where the catalogue has it:
 * the whole text, or what follows a record key ("KEY: reason"); else as the
 * daemon wrote it (the daemons speak English: po/README.md). Static.
 */
const char *cli_daemon_text(const char *msg);

/* Subcommands. */
int cmd_keygen(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_forks(int argc, char **argv);
int cmd_checkpoint(int argc, char **argv);
int cmd_baseline(int argc, char **argv);
int cmd_target(int argc, char **argv);
int cmd_measure(int argc, char **argv);
int cmd_project(int argc, char **argv);
int cmd_group(int argc, char **argv);
int cmd_meeting(int argc, char **argv);
int cmd_network(int argc, char **argv);
int cmd_decision(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_import(int argc, char **argv); /* cli/import.c */
int cmd_export(int argc, char **argv); /* cli/export.c */
int cmd_kolada(int argc, char **argv); /* cli/kolada.c */
int cmd_show(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_status(int argc, char **argv);  /* cli/report.c */
int cmd_plan(int argc, char **argv);    /* cli/report.c */
int cmd_cycle(int argc, char **argv);   /* cli/report.c */
int cmd_report(int argc, char **argv);  /* cli/report.c */
int cmd_explain(int argc, char **argv); /* cli/report.c */
int cmd_help(int argc, char **argv);
int cmd_roster(int argc, char **argv); /* cli/admin.c */
int cmd_peers(int argc, char **argv);
int cmd_digest(int argc, char **argv);
int cmd_vision(int argc, char **argv);
int cmd_priority(int argc, char **argv);
int cmd_goal(int argc, char **argv);
int cmd_indicator(int argc, char **argv);        /* cli/officer.c */
int cmd_history(int argc, char **argv);          /* cli/history.c */
int cmd_programme(int argc, char **argv);        /* cli/programme.c */
int cli_network_register(int argc, char **argv); /* cli/programme.c */
int cmd_init(int argc, char **argv);             /* cli/init.c */
int cmd_backup(int argc, char **argv);           /* cli/init.c */
int cmd_rebuild(int argc, char **argv);          /* cli/init.c */
int cmd_member(int argc, char **argv);           /* cli/member.c */
int cmd_commitments(int argc, char **argv);      /* cli/commitments.c */
/* 0 if code is a member of the region (docs/view.md: its Member record,
   or one of the six defaults while there is no Member record), else -1. */
int cli_member_check(const struct ucr_config *cfg, const char *code);
/* The version of key that hashes to hash (UCR_HASH_LEN bytes), from the
   logs held in s, or NULL; cli/history.c. The caller frees it. */
Ucr__Record *cli_record_version(struct ucr_store *s, const char *key,
    const uint8_t *hash);

/* The ucr program: global options, then the command. */
int cli_main(int argc, char **argv);

#endif
