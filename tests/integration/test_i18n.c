/*
 * test_i18n.c: Swedish and English output (gettext), and a complete
 * Swedish catalogue. The programs run from the build tree, where the
 * catalogue is compiled to share/locale beside bin/; the locale
 * sv_SE.UTF-8 is made by deploy/install-deps.sh.
 */
#include <criterion/criterion.h>
#include <libintl.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "i18n.h"
#include "record.h"
#include "testutil.h"
#include "view.h"

#define SV "env -u LC_ALL -u LC_MESSAGES -u LANGUAGE LANG=sv_SE.UTF-8 "
#define EN "env -u LC_ALL -u LC_MESSAGES -u LANGUAGE LANG=C "

static char *dir;
static char conf[600];
static pid_t node = -1;

/* A setup that fails does not reach the teardown: stop the daemon. */
static void
setup_failed(const char *what)
{
	if (node > 0)
		tu_kill(node, SIGTERM);
	node = -1;
	cr_assert_fail("%s", what);
}

static void
setup(void)
{
	dir = tu_tempdir();
	cr_assert_not_null(dir);
	node = tu_node_start(dir, "2403", conf, sizeof(conf));
	cr_assert_gt(node, 0, "ucr-node did not start");
	if (tu_wait_cmd(10000, "ucr -c '%s' import '%s'", conf,
		UCR_SOURCE_DIR "/deploy/demo/2403.json") != 0)
		setup_failed("the demo data did not import");
}

static void
teardown(void)
{
	if (node > 0)
		tu_kill(node, SIGTERM);
	node = -1;
	tu_rmrf(dir);
	free(dir);
}

static char *
run(const char *env, const char *args)
{
	char *out = NULL, *err = NULL;
	int rc = tu_run(&out, &err, "%sucr -c '%s' %s", env, conf, args);

	cr_assert_eq(rc, 0, "%sucr %s: %s", env, args, err);
	free(err);
	return out;
}

static void
has(const char *out, const char *phrase)
{
	cr_assert(strstr(out, phrase) != NULL, "'%s' not in:\n%s", phrase, out);
}

static void
lacks(const char *out, const char *phrase)
{
	cr_assert(strstr(out, phrase) == NULL, "'%s' in:\n%s", phrase, out);
}

Test(i18n, locale_exists)
{
	cr_assert_not_null(setlocale(LC_ALL, "sv_SE.UTF-8"),
	    "no sv_SE.UTF-8 locale: run deploy/install-deps.sh");
	setlocale(LC_ALL, "C");
}

Test(i18n, status_in_swedish_and_english, .init = setup, .fini = teardown,
    .timeout = 60)
{
	char *out;

	out = run(SV, "status");
	has(out, "Umeåregionen: styrgruppens lägesbild, ");
	has(out, "\nPROGRAMMÅL\n");
	has(out, "\nKOMMUNER\n");
	has(out, "\nAVVIKELSER\n");
	has(out, "uppfyllt");
	has(out, "  A1  Tematiska arbetsgrupper som engagerats ");
	has(out, "  Bjurholm  ");
	has(out, "nej");
	has(out, "regionen: nulägesanalys ");
	lacks(out, "PROGRAMME GOALS");
	free(out);

	out = run(EN, "status");
	has(out, "Umeå region: steering-group view, ");
	has(out, "\nPROGRAMME GOALS\n");
	has(out, "\nMUNICIPALITIES\n");
	has(out, "\nEXCEPTIONS\n");
	lacks(out, "PROGRAMMÅL");
	free(out);

	/* status words */
	out = run(SV, "plan");
	has(out, "Gemensam handlingsplan, ");
	has(out, "\nP1 God hälsa på lika villkor\n");
	has(out, "  kommun       mål    kpi     nuläge");
	has(out, "uppnått");
	has(out, "i fas");
	lacks(out, "on track");
	free(out);
	out = run(SV, "cycle 2403");
	has(out, "Bjurholm (2403): Aalborgcykeln, ");
	has(out, "\nSTEG\n");
	has(out, "\nNULÄGESANALYS PER TEMA\n");
	has(out, "\nPROJEKT\n");
	free(out);
	out = run(EN, "plan");
	has(out, "achieved");
	has(out, "on track");
	free(out);

	/* JSON keys and enum values stay English, numbers stay 9.8 */
	out = run(SV, "plan --json");
	has(out, "\"status\": \"on_track\"");
	has(out, "\"achieved\"");
	lacks(out, "uppnått");
	free(out);
	out = run(SV, "show measure --json");
	has(out, "\"9.8\"");
	free(out);
}

Test(i18n, help_in_swedish_and_english)
{
	char *out = NULL;

	cr_assert_eq(tu_run(&out, NULL, SV "ucr --help"), 0);
	has(out, "användning: ucr [-c FIL] KOMMANDO [ARGUMENT]");
	has(out, "kommandon:\n");
	has(out, "  status     styrgruppens lägesbild\n");
	has(out, "  export     exportera lägesbilden");
	free(out);
	cr_assert_eq(tu_run(&out, NULL, EN "ucr --help"), 0);
	has(out, "usage: ucr [-c FILE] COMMAND [ARGS]");
	has(out, "  status     the steering-group view\n");
	free(out);
}

/* Runs a command that must fail and returns its standard error. */
static char *
fails(const char *env, const char *args)
{
	char *err = NULL;
	int rc = tu_run(NULL, &err, "%sucr -c '%s' %s", env, conf, args);

	cr_assert_neq(rc, 0, "%sucr %s succeeded", env, args);
	return err;
}

/* Errors in the user's language; the daemon's own texts stay English. */
Test(i18n, errors_in_swedish_and_english, .init = setup, .fini = teardown,
    .timeout = 60)
{
	char *err;

	/* a bad flag, from the command line's parser */
	err = fails(SV, "target add T9 --bogus");
	has(err, "ucr: target: okänd flagga '--bogus' (se ucr help target)");
	free(err);
	err = fails(EN, "target add T9 --bogus");
	has(err, "ucr: target: unknown option '--bogus' (see ucr help target)");
	free(err);

	/* an unknown commitment, from the command line's checks */
	err = fails(SV,
	    "target add T9 --title x --commitment 11.1 "
	    "--priority P1 --direction increase");
	has(err, "okänt åtagande '11.1'");
	lacks(err, "unknown commitment");
	free(err);
	err = fails(EN,
	    "target add T9 --title x --commitment 11.1 "
	    "--priority P1 --direction increase");
	has(err, "unknown commitment '11.1'");
	free(err);

	/* a record's validation (common/record.c), as the command line
	   checks it before sending */
	err = fails(SV, "measure N00401 2020 5 --gender X");
	has(err, "ucr: measure: gender: 'X' är inte en av T|K|M");
	free(err);
	err = fails(SV,
	    "project add PX --title x --start 2021-05-01 "
	    "--end 2020-01-01");
	has(err, "end: före start");
	free(err);
	err = fails(EN,
	    "project add PX --title x --start 2021-05-01 "
	    "--end 2020-01-01");
	has(err, "end: before start");
	free(err);

	/* an error code's text (common/error.c, ucr_strerror_l) */
	err = fails(SV, "verify --data /nonexistent");
	has(err,
	    "ucr: verify: kan inte öppna lagret /nonexistent: hittades "
	    "inte\n");
	free(err);
	err = fails(EN, "verify --data /nonexistent");
	has(err, "ucr: verify: cannot open store /nonexistent: not found\n");
	free(err);
	err = fails(SV, "show nosuchkind");
	has(err, "show: okänd typ 'nosuchkind' (se ucr help show)");
	free(err);
	err = fails(SV, "cycle 9999");
	has(err, "cycle: okänd kommun '9999'");
	free(err);
}

/* explain and digest: the lines in Swedish, ids and keys as they are. */
Test(i18n, explain_in_swedish_and_english, .init = setup, .fini = teardown,
    .timeout = 60)
{
	char *out;

	out = run(SV, "explain 2403/target/T1");
	has(out, "  utgångsvärde 9.8 (2008), ");
	has(out, "  lägre är bättre; metod ");
	has(out, "från 2 signerade poster:\n");
	has(out, "  författare           seq  nyckel\n");
	has(out, "2403/measure/N00401/2022/T\n");
	lacks(out, "is better");
	free(out);
	out = run(EN, "explain 2403/target/T1");
	has(out, "  baseline 9.8 (2008), ");
	has(out, "from 2 signed records:\n");
	free(out);
	out = run(SV, "digest");
	has(out, "kontrollsumma för lägesbilden ");
	free(out);
}

/* The ten Aalborg themes by their Swedish names; JSON keeps English. */
Test(i18n, themes_in_swedish_and_english, .init = setup, .fini = teardown,
    .timeout = 60)
{
	char *out;

	out = run(SV, "cycle 2403");
	has(out, "   1 Styrning ");
	has(out, "   6 Bättre rörlighet, mindre trafik ");
	has(out, "  10 Från lokalt till globalt ");
	lacks(out, "Governance");
	/* the cycle's record lines */
	has(out, "\n  grupp     ");
	has(out, "\n  möte      2009-04-06 ");
	has(out, "\n  beslut    2010-02-15 ");
	free(out);
	out = run(EN, "cycle 2403");
	has(out, "   1 Governance ");
	has(out, "  10 Local to global ");
	free(out);
	out = run(SV, "cycle 2403 --json");
	has(out, "\"name\": \"Governance\"");
	lacks(out, "Styrning");
	free(out);
	/* show: a baseline under its commitment's title */
	out = run(SV, "show baseline");
	has(out, "  Utveckla en vision för en hållbar kommun: ");
	free(out);
	out = run(EN, "show baseline");
	has(out, "  Further develop a common long-term vision");
	free(out);
	out = run(SV, "show baseline --json");
	lacks(out, "Utveckla en vision");
	free(out);
}

/* The fifty commitments by their Swedish titles; JSON keeps English. */
Test(i18n, commitments_in_swedish_and_english)
{
	char *out = NULL;

	cr_assert_eq(tu_run(&out, NULL, SV "ucr commitments"), 0);
	has(out, " 1 Styrning\n");
	has(out, "   1.1   Utveckla en vision för en hållbar kommun\n");
	has(out, "   3.5   Förbättra luftkvaliteten\n");
	has(out, " 6 Bättre rörlighet, mindre trafik\n");
	has(out,
	    "   6.2   Öka andelen resor med kollektivtrafik, till fots "
	    "och med cykel\n");
	has(out, "10 Från lokalt till globalt\n");
	lacks(out, "Governance");
	free(out);
	cr_assert_eq(tu_run(&out, NULL, EN "ucr commitments --theme 3"), 0);
	has(out, " 3 Natural common goods\n");
	has(out, "   3.5   Improve air quality\n");
	lacks(out, "1.1");
	free(out);
	cr_assert_eq(tu_run(&out, NULL, SV "ucr commitments --json"), 0);
	has(out, "\"theme_name\": \"Governance\"");
	has(out, "\"title\": \"Improve air quality\"");
	lacks(out, "Styrning");
	free(out);
	/* every theme and commitment has its Swedish */
	cr_assert_not_null(setlocale(LC_ALL, "sv_SE.UTF-8"));
	bindtextdomain(UCR_TEXTDOMAIN, UCR_BIN_DIR "/../share/locale");
	bind_textdomain_codeset(UCR_TEXTDOMAIN, "UTF-8");
	textdomain(UCR_TEXTDOMAIN);
	for (size_t i = 0; i < UCR_NCOMMITMENTS; i++) {
		cr_assert_str_neq(_(ucr_commitments[i].title),
		    ucr_commitments[i].title, "%s is not translated",
		    ucr_commitments[i].id);
		cr_assert_str_neq(_(ucr_commitments[i].theme_name),
		    ucr_commitments[i].theme_name, "theme %d is not translated",
		    ucr_commitments[i].theme);
	}
	setlocale(LC_ALL, "C");
}

/* Usage texts: the prose in Swedish, the syntax lines as they are. */
Test(i18n, usage_in_swedish_and_english)
{
	static const char *const cmds[] = {"baseline", "target", "indicator",
	    "measure", "project", "group", "meeting", "network", "programme",
	    "member", "decision", "delete", "import", "export", "kolada",
	    "show", "log", "history", "status", "plan", "cycle", "report",
	    "explain", "digest", "peers", "roster", "vision", "priority",
	    "goal", "keygen", "verify", "forks", "init", "backup", "rebuild",
	    "commitments", "help"};
	char *sv = NULL, *en = NULL;
	size_t i;

	cr_assert_eq(tu_run(&sv, NULL, SV "ucr target --help"), 0);
	has(sv,
	    "användning: ucr target add ID --title T --commitment "
	    "C[,C...] --priority P[,P...]\n");
	has(sv, "[--target VALUE@YEAR] [--direction increase|decrease]\n");
	has(sv, "ucr target set ID [någon av flaggorna ovan]\n");
	has(sv, "add skapar målet ID och vägrar ett ID som redan används");
	lacks(sv, "refuses an ID already used");
	free(sv);
	cr_assert_eq(tu_run(&en, NULL, EN "ucr target --help"), 0);
	has(en, "usage: ucr target add ID --title T");
	has(en, "add creates target ID and refuses an ID already used");
	free(en);
	cr_assert_eq(tu_run(&sv, NULL, SV "ucr help kolada"), 0);
	has(sv, "Proxyvariablerna https_proxy, http_proxy och no_proxy följs.");
	free(sv);

	/* every option of the English text is in the Swedish one */
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const char *p;

		cr_assert_eq(tu_run(&en, NULL, EN "ucr help %s", cmds[i]), 0);
		cr_assert_eq(tu_run(&sv, NULL, SV "ucr help %s", cmds[i]), 0);
		cr_assert(strncmp(sv, "användning: ucr ", 16) == 0, "%s", sv);
		for (p = strstr(en, "--"); p != NULL; p = strstr(p + 2, "--")) {
			char opt[64];
			size_t n = 2;

			while (n < sizeof(opt) - 1 &&
			    (p[n] == '-' || (p[n] >= 'a' && p[n] <= 'z')))
				n++;
			if (n == 2)
				continue;
			memcpy(opt, p, n);
			opt[n] = '\0';
			cr_expect(strstr(sv, opt) != NULL,
			    "ucr help %s: %s missing in Swedish", cmds[i], opt);
		}
		free(en);
		free(sv);
	}
}

/* Every status word of the view has a Swedish translation. */
Test(i18n, status_words_translated)
{
	int s;

	cr_assert_not_null(setlocale(LC_ALL, "sv_SE.UTF-8"));
	bindtextdomain(UCR_TEXTDOMAIN, UCR_BIN_DIR "/../share/locale");
	bind_textdomain_codeset(UCR_TEXTDOMAIN, "UTF-8");
	textdomain(UCR_TEXTDOMAIN);
	for (s = 0; s < UCR_NPROGRESS; s++) {
		const char *en = ucr_view_status_label(s);

		cr_assert_str_neq(_(en), en, "'%s' is not translated", en);
	}
	cr_assert_str_eq(_(ucr_view_status_label(UCR_PROGRESS_ACHIEVED)),
	    "uppnått");
	/* error codes: English for logs and JSON, Swedish for people; the
	   short names never change */
	cr_assert_str_eq(ucr_strerror(UCR_ENOTFOUND), "not found");
	cr_assert_str_eq(ucr_strerror_l(UCR_ENOTFOUND), "hittades inte");
	cr_assert_str_eq(ucr_errname(UCR_ENOTFOUND), "ENOTFOUND");
	/* a daemon's English reply, as ucr shows it: whole, or after a key */
	cr_assert_str_eq(cli_daemon_text("another import is in progress; try "
					 "again in a moment"),
	    "en annan import pågår; försök igen om en stund");
	cr_assert_str_eq(cli_daemon_text("2403/target/T1: already exists"),
	    "2403/target/T1: finns redan");
	cr_assert_str_eq(cli_daemon_text("record 2: 2403/project/P1: end: "
					 "before start"),
	    "record 2: 2403/project/P1: end: före start");
	cr_assert_str_eq(cli_daemon_text("2403/x: this daemon writes only "
					 "records of 2480"),
	    "2403/x: this daemon writes only records of 2480");
	cr_assert_str_eq(cli_daemon_text("ends in: "), "ends in: ");
	for (int code = UCR_EINVAL; code >= UCR_EDISKFULL; code--)
		if (strcmp(ucr_errname(code), "E?") != 0)
			cr_assert_str_neq(ucr_strerror_l(code),
			    ucr_strerror(code), "%s is not translated",
			    ucr_errname(code));
	/* the programme's default goal and priority titles */
	{
		struct ucr_view_params p;
		struct ucr_view *v;
		int i;

		memset(&p, 0, sizeof(p));
		cr_assert_eq(ucr_view_fold(&v, NULL, 0, &p), 0);
		for (i = 0; i < UCR_NGOALS; i++)
			cr_assert_str_neq(_(v->goals[i].title),
			    v->goals[i].title, "goal '%s' is not translated",
			    v->goals[i].title);
		ucr_view_free(v);
		for (i = 0; i < UCR_NPRIORITIES; i++)
			cr_assert_str_neq(_(ucr_priority_titles[i]),
			    ucr_priority_titles[i],
			    "priority '%s' is not translated",
			    ucr_priority_titles[i]);
	}
	setlocale(LC_ALL, "C");
}

/*
 * po/sv.po: every message of the sources, none empty or fuzzy. The
 * keywords are those of the pot target (CMakeLists.txt): the functions
 * that translate their format themselves (po/README.md).
 */
Test(i18n, catalogue_complete)
{
	char *out = NULL, *err = NULL, pot[700];
	char *tmp = tu_tempdir();
	int rc;

	cr_assert_not_null(tmp);
	rc = tu_run(NULL, &err,
	    "msgfmt --check --statistics -o /dev/null '%s/po/sv.po'",
	    UCR_SOURCE_DIR);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert(strstr(err, " translated message") != NULL, "%s", err);
	lacks(err, "untranslated");
	lacks(err, "fuzzy");
	free(err);
	snprintf(pot, sizeof(pot), "%s/now.pot", tmp);
	rc = tu_run(NULL, &err,
	    "cd '%s' && xgettext --language=C --from-code=UTF-8 "
	    "--keyword=_ --keyword=N_ --keyword=cli_error "
	    "--flag=cli_error:1:c-format --keyword=fail:2 --keyword=fail:4 "
	    "--keyword=say:2 --keyword=cli_put:8 -o '%s' cli/*.c "
	    "common/*.c",
	    UCR_SOURCE_DIR, pot);
	cr_assert_eq(rc, 0, "%s", err);
	free(err);
	rc = tu_run(&out, &err, "msgcmp '%s/po/sv.po' '%s'", UCR_SOURCE_DIR,
	    pot);
	cr_assert_eq(rc, 0,
	    "po/sv.po lacks messages of the sources (cmake --build build "
	    "--target pot; msgmerge --update po/sv.po po/ucr.pot):\n%s",
	    err);
	free(out);
	free(err);
	tu_rmrf(tmp);
	free(tmp);
}
