/*
 * member.c: the region's members. "ucr member add CODE --name NAME
 * [--population N]" (hub) admits one of Sweden's 290 municipalities
 * (common/municipalities_se.c) with a Member record, key
 * region/member/<code>; "ucr roster add" then enrols keys for it.
 * "ucr member remove CODE" deletes a member's record.
 *
 * A region without Member records has the six default members (the
 * demo's); once any Member record is held, the members are exactly the
 * Member records (docs/view.md). So that admitting a seventh does not
 * drop the six, the first add or remove in a region without Member
 * records also writes Member records for the six defaults (less the one
 * removed), in the same all-or-nothing write (PutMany).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "error.h"
#include "i18n.h"
#include "officer.h"
#include "record.h"
#include "store.h"
#include "view.h"

static char *
dup_or_die(const char *s)
{
	char *p = strdup(s);

	if (p == NULL) {
		cli_error("out of memory");
		exit(1);
	}
	return p;
}

struct members_ctx {
	struct ucr_view_members ms;
	Ucr__Record *recs[UCR_MAX_MEMBERS + 1]; /* keep the names alive */
	size_t nrecs;
	size_t held; /* Member records held (may exceed the budget) */
};

static int
member_cb(const struct ucr_rec *rec, void *arg)
{
	struct members_ctx *c = arg;
	Ucr__Record *r;

	if (ucr_record_decode(&r, rec->bytes, rec->len) != 0)
		return 0;
	if (r->tombstone || r->body_case != UCR__RECORD__BODY_MEMBER ||
	    c->nrecs == UCR_MAX_MEMBERS + 1) {
		if (!r->tombstone && r->body_case == UCR__RECORD__BODY_MEMBER)
			c->held++;
		ucr__record__free_unpacked(r, NULL);
		return 0;
	}
	c->held++;
	c->recs[c->nrecs++] = r;
	ucr_view_members_add(&c->ms, r);
	return 0;
}

/* The region's members from the configured store (the rule of
   docs/view.md). 0, or -1 when the store cannot be read. */
static int
members_load(const struct ucr_config *cfg, struct members_ctx *c)
{
	struct ucr_store *s;
	int rc;

	memset(c, 0, sizeof(*c));
	ucr_view_members_init(&c->ms);
	if (ucr_store_open(&s, cfg->data, UCR_STORE_RDONLY, cfg->map_size) != 0)
		return -1;
	rc = ucr_store_foreach_record(s, "region/member/", member_cb, c);
	ucr_store_free(s);
	ucr_view_members_finish(&c->ms);
	return rc == 0 ? 0 : -1;
}

static void
members_free(struct members_ctx *c)
{
	size_t i;

	for (i = 0; i < c->nrecs; i++)
		ucr__record__free_unpacked(c->recs[i], NULL);
	c->nrecs = 0;
}

static int
members_has(const struct members_ctx *c, const char *code)
{
	size_t i;

	for (i = 0; i < c->ms.n; i++)
		if (strcmp(c->ms.m[i].code, code) == 0)
			return 1;
	return 0;
}

int
cli_member_check(const struct ucr_config *cfg, const char *code)
{
	struct members_ctx *c = malloc(sizeof(*c));
	int rc = -1;

	if (c == NULL)
		return -1;
	if (members_load(cfg, c) == 0 && members_has(c, code))
		rc = 0;
	else if (c->nrecs == 0 && ucr_municipality_find(code) != NULL)
		rc = 0; /* a store not readable yet: the six defaults */
	members_free(c);
	free(c);
	return rc;
}

static Ucr__Record *
member_record(const char *code, const char *name, long long population)
{
	Ucr__Record *r = cli_record_new(UCR_REGION, UCR__RECORD__BODY_MEMBER);
	char key[64];

	snprintf(key, sizeof(key), "region/member/%s", code);
	r->key = dup_or_die(key);
	r->member->code = dup_or_die(code);
	r->member->name = dup_or_die(name);
	r->member->population = population;
	return r;
}

static Ucr__Record *
member_tombstone(const char *code)
{
	Ucr__Record *r = cli_record_new(UCR_REGION, UCR__RECORD__BODY__NOT_SET);
	char key[64];

	snprintf(key, sizeof(key), "region/member/%s", code);
	r->key = dup_or_die(key);
	r->tombstone = 1;
	return r;
}

/*
 * Send recs as one all-or-nothing write (PutMany) and print each key with
 * what happened to it. Returns the exit status.
 */
static int
put_many(const struct ucr_config *cfg, Ucr__Record **recs, const int *modes,
    const char *const *done, size_t n, const char *verb)
{
	Ucr__Request req = UCR__REQUEST__INIT;
	Ucr__PutMany many = UCR__PUT_MANY__INIT;
	Ucr__Put put[UCR_NMUNICIPALITIES + 1], *putp[UCR_NMUNICIPALITIES + 1];
	Ucr__Reply *rep;
	char why[512];
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (ucr_record_validate(recs[i], why, sizeof(why)) != 0) {
			cli_error("member %s: %s", verb, why);
			return 1;
		}
		ucr__put__init(&put[i]);
		put[i].record = recs[i];
		put[i].mode = modes[i];
		putp[i] = &put[i];
	}
	many.n_puts = n;
	many.puts = putp;
	req.body_case = UCR__REQUEST__BODY_MANY;
	req.many = &many;
	if (cli_request(cfg, &req, &rep, 0) != 0)
		return 1;
	rc = rep->code;
	if (rc != 0)
		cli_error("member %s: %s", verb,
		    *rep->message ? cli_daemon_text(rep->message)
				  : ucr_strerror_l(rc));
	else
		for (i = 0; i < n; i++)
			printf("%s %s\n", recs[i]->key, done[i]);
	ucr__reply__free_unpacked(rep, NULL);
	return rc == 0 ? 0 : 1;
}

/*
 * The first Member record ends the six defaults' membership by rule, so
 * the write that makes it writes the defaults too (all but skip): append
 * their records at recs[n]; the new count.
 */
static size_t
add_defaults(Ucr__Record **recs, int *modes, const char **done, size_t n,
    const char *skip)
{
	size_t i;

	for (i = 0; i < UCR_NMUNICIPALITIES; i++) {
		const struct ucr_municipality *d = &ucr_municipalities[i];

		if (strcmp(d->code, skip) == 0)
			continue;
		recs[n] = member_record(d->code, d->name, 0);
		modes[n] = UCR_PUT_UPSERT;
		done[n++] = _("admitted (a default member: the first Member "
			      "record keeps the six)");
	}
	return n;
}

static int
member_add(const struct ucr_config *cfg, const struct cli_flags *f)
{
	struct members_ctx *c = NULL;
	Ucr__Record *recs[UCR_NMUNICIPALITIES + 1];
	int modes[UCR_NMUNICIPALITIES + 1];
	const char *done[UCR_NMUNICIPALITIES + 1];
	const struct ucr_municipality_se *se;
	const char *name, *pop;
	char *end;
	long long population = 0;
	size_t n = 0, i;
	int rc = 1;

	if ((se = ucr_municipality_se_find(f->pos[1])) == NULL) {
		cli_error(_("member add: %s: not one of Sweden's 290 "
			    "municipality codes (SCB, four digits, e.g. 2284)"),
		    f->pos[1]);
		return 1;
	}
	name = cli_flag(f, "name");
	if (name == NULL || *name == '\0') {
		cli_error(
		    _("member add: name: required (SCB's name of %s: %s)"),
		    se->code, se->name);
		return 1;
	}
	if ((pop = cli_flag(f, "population")) != NULL) {
		errno = 0;
		population = strtoll(pop, &end, 10);
		if (errno != 0 || end == pop || *end != '\0' ||
		    population < 0) {
			cli_error(_("member add: population: '%s' is not a "
				    "whole number of 0 or more"),
			    pop);
			return 1;
		}
	}
	if ((c = malloc(sizeof(*c))) == NULL) {
		cli_error("out of memory");
		return 1;
	}
	if (members_load(cfg, c) != 0) {
		cli_error(_("member add: cannot read the hub's store %s"),
		    cfg->data);
		goto leave;
	}
	/* The budget: a view follows at most UCR_MAX_MEMBERS members. */
	if (c->held >= UCR_MAX_MEMBERS && !members_has(c, se->code)) {
		cli_error(_("member add: the region has %zu members, the most "
			    "it may have (%d); remove one first (ucr member "
			    "remove CODE)"),
		    c->held, UCR_MAX_MEMBERS);
		goto leave;
	}
	recs[n] = member_record(se->code, name, population);
	modes[n] = UCR_PUT_UPSERT;
	done[n++] = _("admitted");
	if (!c->ms.from_records)
		n = add_defaults(recs, modes, done, n, se->code);
	rc = put_many(cfg, recs, modes, done, n, "add");
	for (i = 0; i < n; i++)
		ucr__record__free_unpacked(recs[i], NULL);
leave:
	members_free(c);
	free(c);
	return rc;
}

static int
member_remove(const struct ucr_config *cfg, const struct cli_flags *f)
{
	struct members_ctx *c = NULL;
	Ucr__Record *recs[UCR_NMUNICIPALITIES + 1];
	int modes[UCR_NMUNICIPALITIES + 1];
	const char *done[UCR_NMUNICIPALITIES + 1];
	const struct ucr_municipality *m;
	size_t n = 0, i;
	int rc = 1;

	if ((m = ucr_municipality_lookup(f->pos[1])) == NULL) {
		cli_error(_("member remove: %s: not one of Sweden's 290 "
			    "municipality codes or names"),
		    f->pos[1]);
		return 1;
	}
	if ((c = malloc(sizeof(*c))) == NULL) {
		cli_error("out of memory");
		return 1;
	}
	if (members_load(cfg, c) != 0) {
		cli_error(_("member remove: cannot read the hub's store %s"),
		    cfg->data);
		goto leave;
	}
	if (!members_has(c, m->code)) {
		cli_error(_("member remove: %s (%s) is not a member of the "
			    "region"),
		    m->code, m->name);
		goto leave;
	}
	if (c->ms.n <= 1) {
		cli_error(_("member remove: %s (%s) is the region's last "
			    "member; admit another first (ucr member add "
			    "CODE --name NAME)"),
		    m->code, m->name);
		goto leave;
	}
	if (c->ms.from_records) {
		recs[n] = member_tombstone(m->code);
		modes[n] = UCR_PUT_UPDATE;
		done[n++] = _("removed");
	} else
		/* No Member record yet: the other five become records. */
		n = add_defaults(recs, modes, done, n, m->code);
	rc = put_many(cfg, recs, modes, done, n, "remove");
	if (rc == 0 && !c->ms.from_records)
		printf(_("%s (%s) is no longer a member: the members are now "
			 "the Member records\n"),
		    m->code, m->name);
	for (i = 0; i < n; i++)
		ucr__record__free_unpacked(recs[i], NULL);
leave:
	members_free(c);
	free(c);
	return rc;
}

int
cmd_member(int argc, char **argv)
{
	struct cli_flags f;
	struct ucr_config *cfg = NULL;
	int rc = 1, add;

	CLI_BEGIN(&f, "name= population= json", argc, argv);
	if (f.npos != 2 ||
	    (strcmp(f.pos[0], "add") != 0 && strcmp(f.pos[0], "remove") != 0))
		return cli_misuse(argv[0]);
	add = strcmp(f.pos[0], "add") == 0;
	if (!add && (cli_flag(&f, "name") || cli_flag(&f, "population"))) {
		cli_error(_("member remove: takes only CODE (no --name, "
			    "--population)"));
		return EXIT_USAGE;
	}
	if (add && ucr_municipality_se_find(f.pos[1]) == NULL) {
		/* checked before the configuration: a clear line first */
		return member_add(NULL, &f);
	}
	if (cli_load_config(&cfg) != 0)
		goto leave;
	if (!cfg->is_hub) {
		cli_error(_("member: a hub command; give the hub's "
			    "configuration with -c (e.g. -c "
			    "/etc/ucr/hub.conf)"));
		goto leave;
	}
	rc = add ? member_add(cfg, &f) : member_remove(cfg, &f);
leave:
	ucr_config_free(cfg);
	return rc;
}
