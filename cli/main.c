/*
 * main.c: the ucr command table, global options, help and flag parsing.
 *
 * Usage texts are data: one entry per command, printed by "ucr help CMD",
 * "ucr CMD --help" and gathered into docs/cli.md and ucr(1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "i18n.h"
#include "keys.h"

struct command {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
	const char *usage;
};

/*
 * TRANSLATORS: a usage text keeps its syntax lines (ucr ..., the option
 * names, the values in capitals and the choices a|b) as they are; only the
 * prose after the blank line is translated.
 */
static const struct command commands[] = {
    {"baseline", cmd_baseline, N_("write the baseline review of a commitment"),
	N_("ucr baseline set COMMITMENT --text TEXT [--trend up|down|flat|unknown]\n"
	   "                 [--gap | --no-gap]\n"
	   "\n"
	   "Record the baseline review of one Aalborg commitment (1.1 .. 10.5) for\n"
	   "this node's municipality: an assessment text, the trend and whether data\n"
	   "are missing. Setting it again changes only the fields given (--text is\n"
	   "then optional); history stays in the log.\n")},
    {"target", cmd_target, N_("add or change a local target"),
	N_("ucr target add ID --title T --commitment C[,C...] --priority P[,P...]\n"
	   "               [--indicator KPI] [--baseline VALUE@YEAR]\n"
	   "               [--target VALUE@YEAR] [--direction increase|decrease]\n"
	   "               [--owner UNIT] [--status active|withdrawn]\n"
	   "ucr target set ID [any of the flags above]\n"
	   "\n"
	   "add creates target ID and refuses an ID already used; set changes the\n"
	   "named fields of an existing target and keeps the others. Commitments are\n"
	   "Aalborg ids (3.1), priorities P1 .. P5, KPI a Kolada indicator id\n"
	   "(N or U and five digits) or one declared with ucr indicator add.\n"
	   "Values are decimals (12.5); years 1900 .. 2100, the baseline year no\n"
	   "later than this year. --direction is required unless --baseline and\n"
	   "--target give it (a target below the baseline: decrease); a direction\n"
	   "that contradicts them is refused.\n")},
    {"indicator", cmd_indicator, N_("declare an indicator: title and unit"),
	/* xgettext:no-c-format */
	N_("ucr indicator add ID --title TEXT --unit UNIT\n"
	   "ucr indicator set ID [--title TEXT] [--unit UNIT]\n"
	   "\n"
	   "Declare an indicator that is not a Kolada KPI id (N or U and five\n"
	   "digits), before targets and measurements use it, or give a Kolada id a\n"
	   "title and unit for the report. On the hub it is the region's; values of\n"
	   "an indicator whose unit is % must lie in 0 .. 100.\n")},
    {"measure", cmd_measure, N_("record an indicator value"),
	N_("ucr measure KPI YEAR VALUE [--gender T|K|M]\n"
	   "            [--status final|preliminary|missing] [--area CODE]\n"
	   "\n"
	   "Record the value of indicator KPI (a Kolada id or a declared one) for\n"
	   "YEAR, no later than this year (for this node's\n"
	   "municipality unless --area names another). VALUE is a decimal, or - with\n"
	   "--status missing (no value published; never counted as 0). Gender T is\n"
	   "the total, K women, M men. Recording the same KPI, year and gender again\n"
	   "replaces the value.\n")},
    {"project", cmd_project, N_("add or change a development project"),
	N_("ucr project add ID --title T [--priority P[,P...]] [--lead CODE]\n"
	   "                [--partners CODE[,CODE...]] [--start DATE] [--end DATE]\n"
	   "                [--budget SEK] [--funder NAME]\n"
	   "                [--status planned|ongoing|completed] [--no-programme]\n"
	   "ucr project set ID [any of the flags above]\n"
	   "\n"
	   "A development project led by this municipality (or --lead on the hub).\n"
	   "Dates are YYYY-MM-DD. Projects count towards the programme goal R3\n"
	   "unless --no-programme is given.\n")},
    {"group", cmd_group, N_("add or change a thematic working group"),
	N_("ucr group add ID --name NAME [--priority P[,P...]] [--theme THEME]\n"
	   "              [--members CODE[,CODE...]] [--from DATE] [--to DATE]\n"
	   "ucr group set ID [any of the flags above]\n"
	   "\n"
	   "A thematic working group (goal A1 counts the groups engaged).\n"
	   "Members are municipality codes; dates are YYYY-MM-DD.\n")},
    {"meeting", cmd_meeting,
	N_("record a workshop or meeting with participants"),
	N_("ucr meeting add ID --kind workshop|group-meeting|steering-group|\n"
	   "                          regional-council|other\n"
	   "                --date DATE --women N --men N [--unstated N]\n"
	   "                [--group ID] [--title TEXT] [--regional | --local]\n"
	   "ucr meeting set ID [any of the flags above]\n"
	   "\n"
	   "Participant counts by gender, from the attendance list; the system\n"
	   "keeps counts, never names. --group names one of this node's groups.\n"
	   "--regional marks a region-wide workshop (goal A2 counts those, and\n"
	   "the hub's own); --local clears the mark.\n")},
    {"network", cmd_network, N_("record a network membership"),
	N_("ucr network join ID --name NAME --scope national|international\n"
	   "                 --date DATE [--new | --no-new] [--register REGID]\n"
	   "ucr network set ID [any of the flags above]\n"
	   "ucr network register REGID --name NAME [--alias TEXT]...\n"
	   "                 [--scope national|international]       (hub)\n"
	   "\n"
	   "join records a membership, or changes the given fields of the one with\n"
	   "the same ID (a re-join keeps --new); set changes the named fields of an\n"
	   "existing one. --new marks a network\n"
	   "joined within the programme (goal R2). register (on the hub) adds a\n"
	   "network to the region's register, which goal R2 counts; a join names\n"
	   "it with --register or matches its name or an alias.\n")},
    {"programme", cmd_programme, N_("set the programme period (hub)"),
	N_("ucr programme set --start DATE --end DATE\n"
	   "\n"
	   "The programme period, a regional record: the goals count only the\n"
	   "meetings, network joins and decisions dated inside it and the\n"
	   "projects that overlap it; ucr explain lists what was left out.\n")},
    {"member", cmd_member, N_("admit a municipality to the region (hub)"),
	N_("ucr member add CODE --name NAME [--population N]\n"
	   "ucr member remove CODE\n"
	   "\n"
	   "Admits one of Sweden's 290 municipalities (CODE is its SCB code, e.g.\n"
	   "2284) as a member of the region: a regional record every node receives.\n"
	   "ucr roster add then enrols keys for it; a code that is not a member\n"
	   "is refused there. --population is the weight of its figures in\n"
	   "regional roll-ups (0: unknown). A region without Member records has\n"
	   "the six default members; the first add (or remove) also writes Member\n"
	   "records for the six, in the same write, so none is dropped. remove\n"
	   "deletes a member's record (never the last member's); the view, the\n"
	   "report and the goals follow the members.\n")},
    {"decision", cmd_decision, N_("record a political decision"),
	N_("ucr decision add ID --body board|council|regional-council|steering-group\n"
	   "                 --date DATE\n"
	   "                 --subject baseline|targets|local-plan|regional-plan|other\n"
	   "                 --ref TEXT [--adopts KEY[,KEY...]]\n"
	   "                 [--outcome adopted|rejected|deferred]\n"
	   "ucr decision set ID [any of the flags above]\n"
	   "\n"
	   "Adopting binds the content hashes of the named records as they are now,\n"
	   "so a later change to an adopted target shows. KEY is a full record key\n"
	   "(2403/target/T1) or KIND/ID of this node's own records (target/T1).\n"
	   "A municipality records board and council decisions; the hub records the\n"
	   "regional council's and the steering group's.\n")},
    {"delete", cmd_delete, N_("delete a record (a tombstone; history stays)"),
	N_("ucr delete KEY\n"
	   "\n"
	   "KEY is a full record key or KIND/ID of this node's own records.\n")},
    {"import", cmd_import,
	N_("import records from JSON, CSV or a Kolada export"),
	N_("ucr import [--kolada] [--dry-run] [--json] FILE...\n"
	   "\n"
	   "Import .json (an array of records) or .csv files (docs/import.md), or\n"
	   "with --kolada a Kolada API data export. All or nothing: one bad row\n"
	   "stores nothing and the error names the file, row and field. Rows of\n"
	   "other municipalities are skipped and counted. --dry-run checks only.\n")},
    {"export", cmd_export, N_("write the view and its records for Excel"),
	N_("ucr export --xlsx FILE [--json]\n"
	   "ucr export --csv DIR [--semicolon] [--json]\n"
	   "\n"
	   "--xlsx writes one workbook with the sheets goals, plan, targets,\n"
	   "measurements, projects, networks and meetings: numbers and dates as\n"
	   "numbers and dates, the header row frozen. --csv writes DIR/<sheet>.csv\n"
	   "for each, UTF-8 with a byte-order mark; --semicolon separates fields\n"
	   "with ; and writes decimal commas, as Swedish Excel expects.\n")},
    {"kolada", cmd_kolada, N_("fetch this municipality's values from Kolada"),
	N_("ucr kolada fetch --kpi ID[,ID...] --years FROM-TO [--base-url URL]\n"
	   "                 [--timeout S] [--retries N] [--dry-run] [--json]\n"
	   "\n"
	   "Fetch the values of Kolada indicators (KPI ids) for the years FROM to\n"
	   "TO and this node's municipality from the Kolada API (default\n"
	   "https://api.kolada.se/v2), every page, and import them as\n"
	   "ucr import --kolada does: all or nothing, one signed batch, with the\n"
	   "KPIs' titles as indicator records where none is declared. Network\n"
	   "and server errors are tried again --retries times (default 3) after\n"
	   "1, 2, 4 ... s; --timeout bounds each request (default 30 s). The\n"
	   "proxy variables https_proxy, http_proxy and no_proxy are honoured.\n")},
    {"show", cmd_show, N_("list the records held (own and replicated)"),
	N_("ucr show [KIND] [--municipality CODE] [--key KEY] [--json]\n"
	   "\n"
	   "KIND is one of baseline target measure project group meeting network\n"
	   "decision vision priority goal roster epoch.\n")},
    {"log", cmd_log, N_("list this node's own log"),
	N_("ucr log [--from SEQ] [--json]\n"
	   "\n"
	   "Every entry of this daemon's own signed log: seq, time, key, kind.\n")},
    {"history", cmd_history, N_("every version of one record, from the logs"),
	N_("ucr history KEY [--json]\n"
	   "\n"
	   "KEY is a full record key (2403/target/T1) or KIND/ID of this node's\n"
	   "own records (target/T1, measure/N00401/2020/T). Lists every version\n"
	   "held in the signed logs, oldest first: time, author key, seq, and\n"
	   "who the key is in the roster (the signer). --json adds each version's\n"
	   "hash and record.\n")},
    {"status", cmd_status, N_("the steering-group view"),
	N_("ucr status [--json]\n"
	   "\n"
	   "The programme goals, the municipality table and the exceptions.\n")},
    {"plan", cmd_plan, N_("the joint action plan"),
	N_("ucr plan [--priority P] [--municipality CODE] [--json]\n")},
    {"cycle", cmd_cycle, N_("one municipality's Aalborg cycle"),
	N_("ucr cycle MUNICIPALITY [--json]\n")},
    {"report", cmd_report, N_("write the Regional Council's HTML report"),
	N_("ucr report --html FILE [--since YYYY-MM-DD] [--json]\n"
	   "\n"
	   "Write the Regional Council's report: a one-page summary (goals,\n"
	   "priorities, records changed since --since, default 90 days ago, and\n"
	   "what needs a decision), a section per priority, then the\n"
	   "municipalities. A4, in the language of LANG.\n")},
    {"explain", cmd_explain, N_("list the signed records behind a figure"),
	N_("ucr explain GOAL-OR-TARGET [--json]\n")},
    {"digest", cmd_digest, N_("print every log's head and the view digest"),
	N_("ucr digest [--json]\n"
	   "\n"
	   "Every log held (author, epoch, seq, head hash) and a digest of the\n"
	   "view, on a node or the hub: two sites that print the same digest hold\n"
	   "the same records.\n")},
    {"peers", cmd_peers, N_("the hub's peers, or a node's link to the hub"),
	N_("ucr peers [--json]\n"
	   "\n"
	   "On the hub: every roster entry, connected or not, last seen, the seq\n"
	   "the hub holds of its log, what the node reports, lag and the last\n"
	   "refusal, then the hub's counters (messages received and refused,\n"
	   "handshakes admitted and denied, checkpoints signed and how long\n"
	   "the last took to read; with --json, under \"counters\" in the hub's\n"
	   "own entry). On a node: the state of its link to the hub. Then, on\n"
	   "both, the control socket's counters: connections, requests and the\n"
	   "connections it closed, by reason (with --json, under \"control\").\n")},
    {"roster", cmd_roster, N_("enrol, revoke and list keys (hub)"),
	N_("ucr roster add CODE HEXKEY [--name NAME] [--role node|reader]\n"
	   "                [--since YYYY-MM-DD]\n"
	   "ucr roster revoke HEXKEY\n"
	   "ucr roster accept-epoch HEXKEY EPOCH\n"
	   "ucr roster list [--json]\n"
	   "\n"
	   "The roster is the region's trust list, kept as signed regional\n"
	   "records that every node receives. add enrols the key a node printed\n"
	   "(ucr keygen, ucr init); revoke refuses everything the key signs from\n"
	   "now on; accept-epoch lets a node whose store was wiped start a new\n"
	   "log (the old one is kept). Run on the hub, with -c hub.conf.\n"
	   "add takes a municipality's code and role node or reader (a reader\n"
	   "never writes); its entries count from now less max_clock_skew, or\n"
	   "from --since DAY for a node that wrote before it was enrolled.\n")},
    {"vision", cmd_vision, N_("set the regional vision (hub)"),
	N_("ucr vision set TEXT [--year YEAR]\n")},
    {"priority", cmd_priority, N_("set a regional priority's title (hub)"),
	N_("ucr priority set P1..P5 --title TEXT\n")},
    {"goal", cmd_goal, N_("change a programme goal's threshold (hub)"),
	N_("ucr goal set A1|A2|A3|R1|R2|R3 --threshold N [--title TEXT]\n")},
    {"keygen", cmd_keygen, N_("make a new key file"),
	N_("ucr keygen --out FILE\n"
	   "\n"
	   "Write a new Ed25519 key to FILE (mode 0600; an existing file is never\n"
	   "overwritten) and print its public key as 64 hex digits.\n")},
    {"verify", cmd_verify,
	N_("re-verify every signature and hash chain of a store"),
	N_("ucr verify [--data DIR] [--region NAME] [--json]\n"
	   "\n"
	   "Without --data, the store of the configuration (-c). Exits 1 naming\n"
	   "the first failure.\n")},
    {"forks", cmd_forks,
	N_("list the forks a store holds evidence of, each checked"),
	N_("ucr forks [--data DIR] [--region NAME] [--json]\n"
	   "\n"
	   "Each fork report: author, epoch, the first seq where the entries\n"
	   "differ, and whether its evidence (two signed batches) verifies.\n"
	   "--json adds both batches in hex. Exits 1 if any evidence fails.\n")},
    {"checkpoint", cmd_checkpoint,
	N_("clear a stored checkpoint that cannot be used"),
	N_("ucr checkpoint clear [--force] [--json]\n"
	   "\n"
	   "A store whose stored checkpoint is damaged, or signed by another hub\n"
	   "key than the configured one, refuses every checkpoint the hub sends\n"
	   "(ECHECKPOINT, an alarm each time). Stop the daemon, then clear it:\n"
	   "the next checkpoint from the hub is taken without a rollback check.\n"
	   "A checkpoint that verifies is kept unless --force.\n")},
    {"init", cmd_init, N_("set up a node or a hub: key and configuration"),
	N_("ucr init node --municipality CODE [--hub tcp://HOST:7300 --hub-key HEX]\n"
	   "              [--region NAME] [--dir DIR] [--json]\n"
	   "ucr init hub [--listen tcp://*:7300] [--region NAME] [--dir DIR]\n"
	   "             [--json]\n"
	   "ucr init reader --hub tcp://HOST:7300 --hub-key HEX\n"
	   "                [--municipality CODE] [--dir DIR] [--json]\n"
	   "\n"
	   "Write a new key and a configuration, and print the public key: a\n"
	   "node's goes to the hub's administrator (ucr roster add), the hub's to\n"
	   "every node (--hub-key). Without --dir they go to /etc/ucr/node.conf\n"
	   "and /etc/ucr/node.key (hub.conf, hub.key), with the store in\n"
	   "/var/lib/ucr/node and the control socket in /run/ucr/node, as the\n"
	   "systemd units expect; run as root, the key is then owned by user ucr,\n"
	   "mode 0600. With --dir, both go to DIR with paths relative to it.\n"
	   "An existing file is never overwritten. Without --hub a node runs\n"
	   "offline.\n"
	   "\n"
	   "init reader writes reader.key and reader.conf into DIR (default\n"
	   "~/.config/ucr) for an executive's own computer: once the hub's\n"
	   "administrator has run ucr roster add CODE KEY --role reader, ucr -c\n"
	   "reader.conf status (plan, cycle, explain, report) asks the hub over\n"
	   "CURVE. A reader never writes.\n")},
    {"backup", cmd_backup,
	N_("copy the store while the daemon runs, and check it"),
	N_("ucr backup --out DIR [--compact] [--json]\n"
	   "\n"
	   "Copy the configured store (-c) into DIR (new or empty) with mdb_copy,\n"
	   "in one read transaction, so the daemon may go on running; then\n"
	   "re-verify every signature and hash chain of the copy. --compact\n"
	   "leaves free pages out. Restore: docs/operations.md.\n")},
    {"rebuild", cmd_rebuild,
	N_("make a lost hub's store again from a node's replica"),
	N_("ucr rebuild --from DIR [--from DIR...]\n"
	   "\n"
	   "Run with the hub's configuration (-c /etc/ucr/hub.conf), ucr-hub\n"
	   "stopped and its data folder gone or moved away. Copies every log of\n"
	   "the replicas in DIR (nodes' stores, or ucr backups of them; each log\n"
	   "as far as any replica holds it) into a new hub store, each batch\n"
	   "checked as the hub checks a node's. Needs the hub's own key. Then\n"
	   "start the hub: the nodes send what the replicas lacked of their own\n"
	   "logs, and the hub's own records go on in a new log epoch.\n"
	   "See docs/operations.md.\n")},
    {"commitments", cmd_commitments,
	N_("list the Aalborg themes and commitments"),
	N_("ucr commitments [--theme N] [--json]\n"
	   "\n"
	   "The fifty Aalborg commitments (1.1 .. 10.5) under their ten themes,\n"
	   "by the ids that ucr baseline, ucr target --commitment and ucr import\n"
	   "take; --theme N lists one theme. The names follow LANG; --json gives\n"
	   "the ids with the English names and each commitment's suggested\n"
	   "priority.\n")},
    {"help", cmd_help, N_("show help for a command"),
	N_("ucr help [COMMAND]\n")},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *
find(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void
usage_all(FILE *f)
{
	size_t i;

	fprintf(f, "%s", _("usage: ucr [-c FILE] COMMAND [ARGS]\n"));
	fprintf(f, "\n%s",
	    _("The command-line tool of UCR, the Umeå region's joint "
	      "management\n"
	      "system for sustainable development. Officers' writes go to the "
	      "local\n"
	      "daemon (ucr-node, or ucr-hub for regional records) over its "
	      "control\n"
	      "socket; queries read the local store.\n"));
	fprintf(f, "\n%s", _("options:\n"));
	fprintf(f,
	    _("  -c FILE     configuration (default %s,\n"
	      "              else %s; or $UCR_CONF)\n"),
	    UCR_DEFAULT_NODE_CONF, UCR_DEFAULT_HUB_CONF);
	fprintf(f, "%s", _("  --version   print the version\n"));
	fprintf(f, "%s", _("  --help      this text\n"));
	fprintf(f, "\n%s", _("commands:\n"));
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name,
		    _(commands[i].summary));
	fprintf(f, "\n%s",
	    _("'ucr help COMMAND' or 'ucr COMMAND --help' describes one "
	      "command.\n"
	      "Every query takes --json. Exit status: 0 success, 1 failure, 2 "
	      "usage.\n"));
	fprintf(f, "%s",
	    _("The language follows LANG (LANG=sv_SE.UTF-8: Swedish).\n"));
}

void
cli_usage(FILE *f, const char *command)
{
	const struct command *c = find(command);

	if (c == NULL)
		usage_all(f);
	else
		fprintf(f, "%s%s", _("usage: "), _(c->usage));
}

int
cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		usage_all(stdout);
		return 0;
	}
	if (find(argv[1]) == NULL) {
		cli_error("help: unknown command '%s'", argv[1]);
		return EXIT_USAGE;
	}
	cli_usage(stdout, argv[1]);
	return 0;
}

int
cli_main(int argc, char **argv)
{
	const struct command *c;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-c") == 0 ||
		    strcmp(argv[i], "--config") == 0) {
			if (++i >= argc) {
				cli_error("option %s needs a FILE",
				    argv[i - 1]);
				return EXIT_USAGE;
			}
			cli_conf_path = argv[i];
		} else if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			usage_all(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("ucr %s\n", UCR_VERSION);
			return 0;
		} else {
			cli_error("unknown option '%s' (see ucr --help)",
			    argv[i]);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage_all(stderr);
		return EXIT_USAGE;
	}
	if ((c = find(argv[i])) == NULL) {
		cli_error("unknown command '%s' (see ucr --help)", argv[i]);
		return EXIT_USAGE;
	}
	if (ucr_crypto_init() != 0) {
		cli_error("libsodium failed to initialise");
		return 1;
	}
	return c->fn(argc - i, argv + i);
}

/* ---------------------------------------------------------------- flags */

int
cli_flags_parse(struct cli_flags *f, const char *spec, int argc, char **argv)
{
	int i;

	memset(f, 0, sizeof(*f));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *eq, *p;
		char name[64];
		size_t n;
		int takes = -1;

		if (strcmp(a, "--") == 0) {
			for (i++; i < argc; i++) {
				if (f->npos >= CLI_MAXPOS)
					goto toomany;
				f->pos[f->npos++] = argv[i];
			}
			break;
		}
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			if (f->npos >= CLI_MAXPOS)
				goto toomany;
			f->pos[f->npos++] = a;
			continue;
		}
		a += 2;
		eq = strchr(a, '=');
		n = eq ? (size_t)(eq - a) : strlen(a);
		if (n >= sizeof(name))
			n = sizeof(name) - 1;
		memcpy(name, a, n);
		name[n] = '\0';
		if (strcmp(name, "help") == 0) {
			f->help = 1;
			continue;
		}
		/* Find name in spec: "name" or "name=". */
		for (p = spec; p && *p;) {
			size_t len = strcspn(p, " ");

			if ((len == n || (len == n + 1 && p[n] == '=')) &&
			    strncmp(p, name, n) == 0) {
				takes = len == n + 1;
				break;
			}
			p += len;
			while (*p == ' ')
				p++;
		}
		if (takes < 0) {
			cli_error("%s: unknown option '--%s' (see ucr help %s)",
			    argv[0], name, argv[0]);
			return -1;
		}
		if (f->n >= CLI_MAXFLAGS) {
			cli_error("%s: too many options", argv[0]);
			return -1;
		}
		f->name[f->n] = a; /* compared up to n via cli_flag() */
		if (takes) {
			if (eq)
				f->value[f->n] = eq + 1;
			else if (i + 1 < argc)
				f->value[f->n] = argv[++i];
			else {
				cli_error("%s: option '--%s' needs a value",
				    argv[0], name);
				return -1;
			}
		} else if (eq) {
			cli_error("%s: option '--%s' takes no value", argv[0],
			    name);
			return -1;
		} else
			f->value[f->n] = "";
		f->n++;
	}
	return 0;
toomany:
	cli_error("%s: too many arguments", argv[0]);
	return -1;
}

int
cli_begin(struct cli_flags *f, const char *spec, int argc, char **argv)
{
	if (cli_flags_parse(f, spec, argc, argv) != 0)
		return EXIT_USAGE;
	if (f->help) {
		cli_usage(stdout, argv[0]);
		return 0;
	}
	return -1;
}

int
cli_misuse(const char *command)
{
	cli_usage(stderr, command);
	return EXIT_USAGE;
}

/* The last value given for a flag, or NULL. */
const char *
cli_flag(const struct cli_flags *f, const char *name)
{
	size_t n = strlen(name);
	int i;

	for (i = f->n - 1; i >= 0; i--)
		if (strncmp(f->name[i], name, n) == 0 &&
		    (f->name[i][n] == '\0' || f->name[i][n] == '='))
			return f->value[i];
	return NULL;
}

int
cli_flag_set(const struct cli_flags *f, const char *name)
{
	return cli_flag(f, name) != NULL;
}
