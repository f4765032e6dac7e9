/*
 * record.c: reference tables, keys, decimals and validation of records.
 *
 * The commitment table is data/aalborg_commitments.tsv of the project's
 * shared material, turned into C once; suggested priorities are a proposal,
 * not from any source. Theme names and titles are English here and in JSON;
 * people read them through gettext (po/sv.po has the Swedish, po/README.md
 * says where each Swedish title comes from).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "error.h"
#include "i18n.h"
#include "pbwire.h"
#include "record.h"

const struct ucr_commitment ucr_commitments[UCR_NCOMMITMENTS] = {
    {"1.1", 1, N_("Governance"),
	N_("Further develop a common long-term vision for a sustainable city/town"),
	"P2"},
    {"1.2", 1, N_("Governance"),
	N_("Build participation and sustainable-development capacity in the community and administration"),
	"P2"},
    {"1.3", 1, N_("Governance"),
	N_("Invite all sectors of local society to participate effectively in decision-making"),
	"P2"},
    {"1.4", 1, N_("Governance"),
	N_("Make decisions open, accountable and transparent"), "P2"},
    {"1.5", 1, N_("Governance"),
	N_("Cooperate effectively with neighbouring municipalities, other cities and other spheres of government"),
	"P2"},
    {"2.1", 2, N_("Local management towards sustainability"),
	N_("Strengthen Local Agenda 21 / local sustainability processes and mainstream them in local government"),
	NULL},
    {"2.2", 2, N_("Local management towards sustainability"),
	N_("Deliver integrated management towards sustainability based on the precautionary principle"),
	NULL},
    {"2.3", 2, N_("Local management towards sustainability"),
	N_("Set targets and time frames within the Aalborg Commitments and establish a commitments monitoring review"),
	NULL},
    {"2.4", 2, N_("Local management towards sustainability"),
	N_("Make sustainability central to decision-making; base resource allocation on broad sustainability criteria"),
	NULL},
    {"2.5", 2, N_("Local management towards sustainability"),
	N_("Cooperate with the European Sustainable Cities & Towns Campaign and its networks to monitor and evaluate progress"),
	NULL},
    {"3.1", 3, N_("Natural common goods"),
	N_("Reduce primary energy consumption and increase the share of renewable and clean energy"),
	"P4"},
    {"3.2", 3, N_("Natural common goods"),
	N_("Improve water quality, save water and use it more efficiently"),
	NULL},
    {"3.3", 3, N_("Natural common goods"),
	N_("Promote and increase biodiversity; extend and care for natural areas and green spaces"),
	NULL},
    {"3.4", 3, N_("Natural common goods"),
	N_("Improve soil quality, preserve ecologically productive land, promote sustainable agriculture and forestry"),
	"P5"},
    {"3.5", 3, N_("Natural common goods"), N_("Improve air quality"), "P1"},
    {"4.1", 4, N_("Responsible consumption and lifestyle choices"),
	N_("Avoid and reduce waste; increase re-use and recycling"), NULL},
    {"4.2", 4, N_("Responsible consumption and lifestyle choices"),
	N_("Manage and treat waste according to best-practice standards"),
	NULL},
    {"4.3", 4, N_("Responsible consumption and lifestyle choices"),
	N_("Avoid unnecessary energy consumption; improve end-use energy efficiency"),
	"P4"},
    {"4.4", 4, N_("Responsible consumption and lifestyle choices"),
	N_("Undertake sustainable procurement"), "P5"},
    {"4.5", 4, N_("Responsible consumption and lifestyle choices"),
	N_("Promote sustainable production and consumption (eco-labelled, organic, ethical, fair-trade)"),
	"P5"},
    {"5.1", 5, N_("Planning and design"),
	N_("Re-use and regenerate abandoned or disadvantaged areas"), NULL},
    {"5.2", 5, N_("Planning and design"),
	N_("Avoid urban sprawl: appropriate densities, brownfield before greenfield"),
	"P3"},
    {"5.3", 5, N_("Planning and design"),
	N_("Ensure mixed use with a good balance of jobs, housing and services"),
	"P3"},
    {"5.4", 5, N_("Planning and design"),
	N_("Conserve, renovate and re-use urban cultural heritage"), NULL},
    {"5.5", 5, N_("Planning and design"),
	N_("Apply requirements for sustainable design and construction; promote high-quality architecture"),
	"P4"},
    {"6.1", 6, N_("Better mobility, less traffic"),
	N_("Reduce the necessity for private motorised transport; promote attractive alternatives accessible to all"),
	"P3"},
    {"6.2", 6, N_("Better mobility, less traffic"),
	N_("Increase the share of journeys by public transport, on foot and by bicycle"),
	"P3"},
    {"6.3", 6, N_("Better mobility, less traffic"),
	N_("Promote transition to low-emission vehicles"), "P3"},
    {"6.4", 6, N_("Better mobility, less traffic"),
	N_("Develop an integrated and sustainable urban mobility plan"), "P3"},
    {"6.5", 6, N_("Better mobility, less traffic"),
	N_("Reduce the impact of transport on the environment and public health"),
	"P3"},
    {"7.1", 7, N_("Local action for health"),
	N_("Raise awareness and act on the wider determinants of health"),
	"P1"},
    {"7.2", 7, N_("Local action for health"),
	N_("Promote city health development planning and strategic partnerships for health"),
	"P1"},
    {"7.3", 7, N_("Local action for health"),
	N_("Reduce health inequalities and address poverty, with regular reporting on the gaps"),
	"P1"},
    {"7.4", 7, N_("Local action for health"),
	N_("Promote health impact assessment across sectors"), "P1"},
    {"7.5", 7, N_("Local action for health"),
	N_("Mobilise urban planners to integrate health considerations in planning"),
	"P1"},
    {"8.1", 8, N_("Vibrant and sustainable local economy"),
	N_("Stimulate and support local employment and business start-ups"),
	"P5"},
    {"8.2", 8, N_("Vibrant and sustainable local economy"),
	N_("Cooperate with local businesses to promote and implement good corporate practice"),
	"P5"},
    {"8.3", 8, N_("Vibrant and sustainable local economy"),
	N_("Develop and implement sustainability principles for the location of businesses"),
	"P5"},
    {"8.4", 8, N_("Vibrant and sustainable local economy"),
	N_("Encourage markets for local and regional high-quality products"),
	"P5"},
    {"8.5", 8, N_("Vibrant and sustainable local economy"),
	N_("Promote sustainable local tourism"), "P5"},
    {"9.1", 9, N_("Social equity and justice"),
	N_("Develop and implement programmes to prevent and alleviate poverty"),
	"P1"},
    {"9.2", 9, N_("Social equity and justice"),
	N_("Ensure equitable access to public services, education, employment, training, information and culture"),
	"P3"},
    {"9.3", 9, N_("Social equity and justice"),
	N_("Foster social inclusion and gender equality"), "P1"},
    {"9.4", 9, N_("Social equity and justice"),
	N_("Improve community safety and security"), "P1"},
    {"9.5", 9, N_("Social equity and justice"),
	N_("Ensure good-quality housing and living conditions; foster social integration"),
	"P1"},
    {"10.1", 10, N_("Local to global"),
	N_("Develop a strategic, integrated approach to climate mitigation; work towards sustainable GHG levels"),
	"P4"},
    {"10.2", 10, N_("Local to global"),
	N_("Mainstream climate protection in energy, transport, procurement, waste, agriculture and forestry policy"),
	"P4"},
    {"10.3", 10, N_("Local to global"),
	N_("Raise awareness of causes and consequences of climate change; integrate preventive (adaptation) actions"),
	"P4"},
    {"10.4", 10, N_("Local to global"),
	N_("Reduce impact on the global environment; promote environmental justice"),
	NULL},
    {"10.5", 10, N_("Local to global"),
	N_("Strengthen international cooperation of cities; develop local responses to global problems in partnership"),
	"P2"},
};

/*
 * Populations are approximate figures for the project period, used only as
 * weights for regional roll-ups of rates; they are sample data.
 */
const struct ucr_municipality ucr_municipalities[UCR_NMUNICIPALITIES] = {
    {"2480", "Umeå", 115000},
    {"2403", "Bjurholm", 2500},
    {"2401", "Nordmaling", 7200},
    {"2409", "Robertsfors", 6800},
    {"2404", "Vindeln", 5500},
    {"2460", "Vännäs", 8500},
};

const char *const ucr_priority_titles[UCR_NPRIORITIES] = {
    "Good health on equal terms",
    "Co-creation and democracy",
    "Accessible and gender-equal transport",
    "Efficient and renewable energy use",
    "Viable and sustainable local economy",
};

static const struct {
	Ucr__Record__BodyCase c;
	const char *name;
	int region; /* 1 region only, -1 municipality only, 0 either */
} kinds[] = {
    {UCR__RECORD__BODY_BASELINE, "baseline", -1},
    {UCR__RECORD__BODY_TARGET, "target", -1},
    {UCR__RECORD__BODY_MEASUREMENT, "measure", -1},
    {UCR__RECORD__BODY_PROJECT, "project", 0},
    {UCR__RECORD__BODY_GROUP, "group", 0},
    {UCR__RECORD__BODY_MEETING, "meeting", 0},
    {UCR__RECORD__BODY_NETWORK, "network", 0},
    {UCR__RECORD__BODY_DECISION, "decision", 0},
    {UCR__RECORD__BODY_VISION, "vision", 1},
    {UCR__RECORD__BODY_PRIORITY, "priority", 1},
    {UCR__RECORD__BODY_GOAL, "goal", 1},
    {UCR__RECORD__BODY_ROSTER, "roster", 1},
    {UCR__RECORD__BODY_EPOCH_ACCEPT, "epoch", 1},
    {UCR__RECORD__BODY_INDICATOR, "indicator", 0},
    {UCR__RECORD__BODY_PROGRAMME, "programme", 1},
    {UCR__RECORD__BODY_NETWORK_ENTRY, "register", 1},
    {UCR__RECORD__BODY_MEMBER, "member", 1},
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static const char *const goal_ids[] = {"A1", "A2", "A3", "R1", "R2", "R3"};

const struct ucr_commitment *
ucr_commitment_find(const char *id)
{
	size_t i;

	if (id == NULL)
		return NULL;
	for (i = 0; i < UCR_NCOMMITMENTS; i++)
		if (strcmp(ucr_commitments[i].id, id) == 0)
			return &ucr_commitments[i];
	return NULL;
}

const struct ucr_municipality *
ucr_municipality_find(const char *code)
{
	size_t i;

	if (code == NULL)
		return NULL;
	for (i = 0; i < UCR_NMUNICIPALITIES; i++)
		if (strcmp(ucr_municipalities[i].code, code) == 0)
			return &ucr_municipalities[i];
	return NULL;
}

/* Lower case of ASCII and of the UTF-8 letters Å Ä Ö É (two bytes each,
   C3 85/84/96/89 -> C3 A5/A4/B6/A9). */
static int
name_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;

		if (x == 0xc3 && y == 0xc3 && a[1] && b[1]) {
			unsigned char p = (unsigned char)a[1],
				      q = (unsigned char)b[1];

			if (p >= 0x80 && p <= 0x9e)
				p += 0x20;
			if (q >= 0x80 && q <= 0x9e)
				q += 0x20;
			if (p != q)
				return 0;
			a++;
			b++;
			continue;
		}
		if (tolower(x) != tolower(y))
			return 0;
	}
	return *a == *b;
}

const struct ucr_municipality *
ucr_municipality_lookup(const char *s)
{
	const struct ucr_municipality *m = ucr_municipality_find(s);
	size_t i;
	const struct ucr_municipality_se *se;

	for (i = 0; m == NULL && s != NULL && i < UCR_NMUNICIPALITIES; i++)
		if (name_eq(ucr_municipalities[i].name, s))
			m = &ucr_municipalities[i];
	if (m == NULL && (se = ucr_municipality_se_lookup(s)) != NULL)
		m = &ucr_municipalities_se_mun[se - ucr_municipalities_se];
	return m;
}

const struct ucr_municipality_se *
ucr_municipality_se_lookup(const char *s)
{
	const struct ucr_municipality_se *m = ucr_municipality_se_find(s);
	size_t i;

	for (i = 0; m == NULL && s != NULL && i < UCR_NMUNICIPALITIES_SE; i++)
		if (name_eq(ucr_municipalities_se[i].name, s))
			m = &ucr_municipalities_se[i];
	return m;
}

int
ucr_municipality_known(const char *code)
{
	return ucr_municipality_se_find(code) != NULL;
}

int
ucr_priority_valid(const char *id)
{
	return id != NULL && id[0] == 'P' && id[1] >= '1' && id[1] <= '5' &&
	    id[2] == '\0';
}

const char *
ucr_kind_name(Ucr__Record__BodyCase c)
{
	size_t i;

	for (i = 0; i < NKINDS; i++)
		if (kinds[i].c == c)
			return kinds[i].name;
	return "none";
}

Ucr__Record__BodyCase
ucr_kind_parse(const char *name)
{
	size_t i;

	if (name == NULL)
		return UCR__RECORD__BODY__NOT_SET;
	for (i = 0; i < NKINDS; i++)
		if (strcmp(kinds[i].name, name) == 0)
			return kinds[i].c;
	return UCR__RECORD__BODY__NOT_SET;
}

static int
kind_region(Ucr__Record__BodyCase c)
{
	size_t i;

	for (i = 0; i < NKINDS; i++)
		if (kinds[i].c == c)
			return kinds[i].region;
	return 0;
}

int
ucr_decimal_parse(Ucr__Decimal *out, const char *s)
{
	const char *p = s;
	int neg = 0, digits = 0, scale = 0, dot = 0;
	int64_t units = 0;

	if (s == NULL)
		return UCR_EINVAL;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (*p == '\0')
		return UCR_EINVAL;
	for (; *p; p++) {
		if (*p == '.' && !dot) {
			dot = 1;
			continue;
		}
		if (!isdigit((unsigned char)*p))
			return UCR_EINVAL;
		if (units > (INT64_MAX - 9) / 10 || digits >= 18)
			return UCR_EINVAL;
		units = units * 10 + (*p - '0');
		if (units != 0 || dot)
			digits++;
		if (dot && ++scale > 9)
			return UCR_EINVAL;
	}
	if (p[-1] == '.' || (dot && p - s == 1))
		return UCR_EINVAL;
	ucr__decimal__init(out);
	out->units = neg ? -units : units;
	out->scale = scale;
	return 0;
}

char *
ucr_decimal_format(const Ucr__Decimal *d, char *buf, size_t len)
{
	uint64_t u, div = 1;
	uint32_t i;
	int neg;

	if (d == NULL) {
		snprintf(buf, len, "-");
		return buf;
	}
	neg = d->units < 0;
	u = neg ? (uint64_t)0 - (uint64_t)d->units : (uint64_t)d->units;
	for (i = 0; i < d->scale && i < 18; i++)
		div *= 10;
	if (d->scale == 0)
		snprintf(buf, len, "%s%llu", neg ? "-" : "",
		    (unsigned long long)u);
	else
		snprintf(buf, len, "%s%llu.%0*llu", neg ? "-" : "",
		    (unsigned long long)(u / div), (int)d->scale,
		    (unsigned long long)(u % div));
	return buf;
}

double
ucr_decimal_double(const Ucr__Decimal *d)
{
	double v;
	uint32_t i;

	if (d == NULL)
		return 0;
	v = (double)d->units;
	for (i = 0; i < d->scale; i++)
		v /= 10;
	return v;
}

int
ucr_kolada_id(const char *s)
{
	int i;

	if (s == NULL || (s[0] != 'N' && s[0] != 'U'))
		return 0;
	for (i = 1; i <= 5; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return s[6] == '\0';
}

int
ucr_year_valid(long y)
{
	return y >= 1900 && y <= 2100;
}

int
ucr_date_valid(const char *s)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30,
	    31};
	int y, m, d, i;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return 0;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	if (!ucr_year_valid(y) || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return 0;
	if (m == 2 && d == 29 &&
	    !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return 0;
	return 1;
}

static int
id_valid(const char *id)
{
	size_t n = 0;

	if (id == NULL || *id == '\0')
		return 0;
	for (; *id; id++, n++)
		if (!isalnum((unsigned char)*id) && *id != '.' && *id != '_' &&
		    *id != '-')
			return 0;
	return n <= 64;
}

static const char *
gender_name(Ucr__Gender g)
{
	switch (g) {
	case UCR__GENDER__GENDER_K:
		return "K";
	case UCR__GENDER__GENDER_M:
		return "M";
	default:
		return "T";
	}
}

/*
 * Keys are built by appending to a buffer, not by snprintf: every record
 * the hub takes builds its key to compare it. The result is what
 * snprintf(buf, len, ...) writes: as much as fits, NUL-terminated, and
 * the whole length, so a key that does not fit is seen.
 */
struct keybuf {
	char *buf;
	size_t len; /* size of buf */
	size_t n;   /* length of the whole string, even past len */
};

static void
kb_mem(struct keybuf *kb, const char *s, size_t n)
{
	if (kb->n + 1 < kb->len) {
		size_t room = kb->len - 1 - kb->n;

		memcpy(kb->buf + kb->n, s, n < room ? n : room);
	}
	kb->n += n;
}

static void
kb_str(struct keybuf *kb, const char *s)
{
	kb_mem(kb, s, strlen(s));
}

static void
kb_u32(struct keybuf *kb, uint32_t v)
{
	char tmp[10];
	size_t i = sizeof(tmp);

	do
		tmp[--i] = '0' + v % 10;
	while ((v /= 10) != 0);
	kb_mem(kb, tmp + i, sizeof(tmp) - i);
}

/* Terminate; 0 if the whole string fitted. */
static int
kb_end(struct keybuf *kb)
{
	if (kb->len > 0)
		kb->buf[kb->n < kb->len ? kb->n : kb->len - 1] = '\0';
	return kb->n < kb->len ? 0 : UCR_EINVAL;
}

/* owner/measure/KPI[/AREA]/YEAR/GENDER (area NULL: none). */
static int
measure_key(char *buf, size_t len, const char *owner, const char *indicator,
    const char *area, uint32_t year, Ucr__Gender g)
{
	struct keybuf kb = {buf, len, 0};

	kb_str(&kb, owner);
	kb_mem(&kb, "/measure/", 9);
	kb_str(&kb, indicator);
	if (area != NULL) {
		kb_mem(&kb, "/", 1);
		kb_str(&kb, area);
	}
	kb_mem(&kb, "/", 1);
	kb_u32(&kb, year);
	kb_mem(&kb, "/", 1);
	kb_str(&kb, gender_name(g));
	return kb_end(&kb);
}

int
ucr_record_make_key(char *buf, size_t len, const char *owner,
    const Ucr__Record *r, const char *id)
{
	struct keybuf kb = {buf, len, 0};

	if (r->body_case == UCR__RECORD__BODY_MEASUREMENT) {
		const Ucr__Measurement *m = r->measurement;

		if (!id_valid(m->indicator))
			return UCR_EINVAL;
		/* Another area than the owner's own is part of the key, so
		   that it never replaces the owner's value of that year. */
		if (m->area != NULL && *m->area &&
		    strcmp(m->area, owner) != 0) {
			if (!id_valid(m->area))
				return UCR_EINVAL;
			return measure_key(buf, len, owner, m->indicator,
			    m->area, m->year, m->gender);
		}
		return measure_key(buf, len, owner, m->indicator, NULL, m->year,
		    m->gender);
	}
	if (!id_valid(id))
		return UCR_EINVAL;
	kb_str(&kb, owner);
	kb_mem(&kb, "/", 1);
	kb_str(&kb, ucr_kind_name(r->body_case));
	kb_mem(&kb, "/", 1);
	kb_str(&kb, id);
	return kb_end(&kb);
}

/*
 * Validation: each check writes "field: reason" and fails. The reason is in
 * the language of the process's locale: the daemons never set one, so their
 * replies and logs are English; the command line checks every record before
 * it sends it, so a person reads the reason in the language of LANG.
 */
static int
bad(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, _(fmt), ap);
		va_end(ap);
	}
	return UCR_ESCHEMA;
}

#define MAXTEXT 8192
#define CHECK(cond, ...)                                      \
	do {                                                  \
		if (!(cond))                                  \
			return bad(why, whylen, __VA_ARGS__); \
	} while (0)

static int
text_ok(const char *s, size_t max)
{
	return s != NULL && strlen(s) <= max;
}

static int
date_ok(const char *s)
{
	return s == NULL || *s == '\0' || ucr_date_valid(s);
}

static int
decimal_ok(const Ucr__Decimal *d)
{
	return d == NULL || d->scale <= 9;
}

static int
priorities_ok(char **p, size_t n, char *why, size_t whylen)
{
	size_t i;

	for (i = 0; i < n; i++)
		CHECK(ucr_priority_valid(p[i]),
		    N_("priority: unknown priority '%s' (P1..P5)"), p[i]);
	return 0;
}

static int
codes_ok(char **p, size_t n, const char *field, char *why, size_t whylen)
{
	size_t i;

	for (i = 0; i < n; i++)
		CHECK(ucr_municipality_known(p[i]),
		    N_("%s: unknown municipality code '%s'"), field, p[i]);
	return 0;
}

static int
validate_body(const Ucr__Record *r, const char *id, char *why, size_t whylen)
{
	size_t i;
	int rc;

	switch (r->body_case) {
	case UCR__RECORD__BODY_BASELINE: {
		const Ucr__Baseline *b = r->baseline;

		CHECK(ucr_commitment_find(b->commitment) != NULL,
		    N_("commitment: unknown commitment '%s' (1.1..10.5)"),
		    b->commitment);
		CHECK(strcmp(id, b->commitment) == 0,
		    N_("key: must end in the commitment id"));
		CHECK(text_ok(b->text, MAXTEXT) && *b->text,
		    N_("text: empty or too long"));
		CHECK(b->trend >= 0 && b->trend <= 3,
		    N_("trend: out of range"));
		for (i = 0; i < b->n_indicators; i++) {
			CHECK(id_valid(b->indicators[i]->indicator),
			    N_("indicator: bad id"));
			CHECK(decimal_ok(b->indicators[i]->value),
			    N_("indicator: bad value"));
			CHECK(ucr_year_valid(b->indicators[i]->year),
			    N_("year: %u outside 1900-2100"),
			    b->indicators[i]->year);
		}
		break;
	}
	case UCR__RECORD__BODY_TARGET: {
		const Ucr__Target *t = r->target;

		CHECK(text_ok(t->title, 512) && *t->title,
		    N_("title: empty or too long"));
		CHECK(t->n_commitments > 0,
		    N_("commitment: at least one needed"));
		for (i = 0; i < t->n_commitments; i++)
			CHECK(ucr_commitment_find(t->commitments[i]) != NULL,
			    N_("commitment: unknown commitment '%s' (1.1..10.5)"),
			    t->commitments[i]);
		CHECK(t->n_priorities > 0, N_("priority: at least one needed"));
		if ((rc = priorities_ok(t->priorities, t->n_priorities, why,
			 whylen)) != 0)
			return rc;
		CHECK(*t->indicator == '\0' || id_valid(t->indicator),
		    N_("indicator: bad id '%s'"), t->indicator);
		CHECK(decimal_ok(t->baseline_value), N_("baseline: bad value"));
		CHECK(decimal_ok(t->target_value), N_("target: bad value"));
		CHECK(t->baseline_value == NULL ||
			ucr_year_valid(t->baseline_year),
		    N_("baseline: year %u outside 1900-2100"),
		    t->baseline_year);
		CHECK(t->target_value == NULL || ucr_year_valid(t->target_year),
		    N_("target: year %u outside 1900-2100"), t->target_year);
		CHECK(t->baseline_value == NULL || t->target_value == NULL ||
			t->target_year > t->baseline_year,
		    N_("target: year must come after the baseline year"));
		CHECK(t->direction >= 0 && t->direction <= 1,
		    N_("direction: out of range"));
		CHECK(text_ok(t->owner_unit, 256), N_("owner: too long"));
		break;
	}
	case UCR__RECORD__BODY_MEASUREMENT: {
		const Ucr__Measurement *m = r->measurement;

		CHECK(id_valid(m->indicator), N_("indicator: bad id '%s'"),
		    m->indicator);
		CHECK(ucr_municipality_known(m->area),
		    N_("area: unknown municipality code '%s'"), m->area);
		CHECK(ucr_year_valid(m->year), N_("year: %u outside 1900-2100"),
		    m->year);
		CHECK(m->gender >= 0 && m->gender <= 2,
		    N_("gender: out of range"));
		CHECK(m->status >= 0 && m->status <= 2,
		    N_("status: out of range"));
		CHECK((m->status == UCR__MEASURE_STATUS__MEASURE_MISSING) ==
			(m->value == NULL),
		    N_("value: required unless missing, and absent if missing"));
		CHECK(decimal_ok(m->value), N_("value: bad decimal"));
		break;
	}
	case UCR__RECORD__BODY_PROJECT: {
		const Ucr__Project *p = r->project;

		CHECK(text_ok(p->title, 512) && *p->title,
		    N_("title: empty or too long"));
		CHECK(ucr_municipality_known(p->lead),
		    N_("lead: unknown municipality code '%s'"), p->lead);
		if ((rc = codes_ok(p->partners, p->n_partners, "partners", why,
			 whylen)) != 0)
			return rc;
		if ((rc = priorities_ok(p->priorities, p->n_priorities, why,
			 whylen)) != 0)
			return rc;
		CHECK(date_ok(p->start), N_("start: not a date (YYYY-MM-DD)"));
		CHECK(date_ok(p->end), N_("end: not a date (YYYY-MM-DD)"));
		CHECK(*p->start == '\0' || *p->end == '\0' ||
			strcmp(p->start, p->end) <= 0,
		    N_("end: before start"));
		CHECK(p->budget_sek >= 0, N_("budget: negative"));
		CHECK(text_ok(p->funder, 256), N_("funder: too long"));
		CHECK(p->status >= 0 && p->status <= 2,
		    N_("status: out of range"));
		break;
	}
	case UCR__RECORD__BODY_GROUP: {
		const Ucr__Group *g = r->group;

		CHECK(text_ok(g->name, 256) && *g->name,
		    N_("name: empty or too long"));
		if ((rc = priorities_ok(g->priorities, g->n_priorities, why,
			 whylen)) != 0)
			return rc;
		if ((rc = codes_ok(g->members, g->n_members, "members", why,
			 whylen)) != 0)
			return rc;
		CHECK(date_ok(g->active_from),
		    N_("from: not a date (YYYY-MM-DD)"));
		CHECK(date_ok(g->active_to), N_("to: not a date (YYYY-MM-DD)"));
		CHECK(*g->active_from == '\0' || *g->active_to == '\0' ||
			strcmp(g->active_from, g->active_to) <= 0,
		    N_("to: before from"));
		CHECK(text_ok(g->theme, 256), N_("theme: too long"));
		break;
	}
	case UCR__RECORD__BODY_MEETING: {
		const Ucr__Meeting *m = r->meeting;

		CHECK(m->kind >= 0 && m->kind <= 4, N_("kind: out of range"));
		CHECK(ucr_date_valid(m->date),
		    N_("date: not a date (YYYY-MM-DD)"));
		CHECK(m->women <= 100000 && m->men <= 100000 &&
			m->unstated <= 100000,
		    N_("women: count out of range"));
		CHECK(*m->group == '\0' || id_valid(m->group),
		    N_("group: bad id"));
		CHECK(text_ok(m->title, 512), N_("title: too long"));
		break;
	}
	case UCR__RECORD__BODY_NETWORK: {
		const Ucr__Network *n = r->network;

		CHECK(text_ok(n->name, 256) && *n->name,
		    N_("name: empty or too long"));
		CHECK(n->scope >= 0 && n->scope <= 1,
		    N_("scope: out of range"));
		CHECK(ucr_date_valid(n->joined),
		    N_("date: not a date (YYYY-MM-DD)"));
		CHECK(*n->network_id == '\0' || id_valid(n->network_id),
		    N_("register: bad id '%s'"), n->network_id);
		break;
	}
	case UCR__RECORD__BODY_DECISION: {
		const Ucr__Decision *d = r->decision;

		CHECK(d->body >= 0 && d->body <= 3, N_("body: out of range"));
		CHECK(ucr_date_valid(d->date),
		    N_("date: not a date (YYYY-MM-DD)"));
		CHECK(d->subject >= 0 && d->subject <= 4,
		    N_("subject: out of range"));
		CHECK(text_ok(d->ref, 512) && *d->ref,
		    N_("ref: empty or too long"));
		CHECK(d->outcome >= 0 && d->outcome <= 2,
		    N_("outcome: out of range"));
		for (i = 0; i < d->n_adopts; i++)
			CHECK(d->adopts[i]->hash.len == UCR_HASH_LEN &&
				text_ok(d->adopts[i]->key, 256),
			    N_("adopts: bad key or hash"));
		if (strcmp(r->owner, UCR_REGION) != 0)
			CHECK(d->body == UCR__BODY__BODY_BOARD ||
				d->body == UCR__BODY__BODY_COUNCIL,
			    N_("body: a municipality records board or council decisions"));
		break;
	}
	case UCR__RECORD__BODY_VISION:
		CHECK(text_ok(r->vision->text, 1024) && *r->vision->text,
		    N_("text: empty or too long"));
		CHECK(ucr_year_valid(r->vision->year),
		    N_("year: outside 1900-2100"));
		CHECK(strcmp(id, "vision") == 0,
		    N_("key: must be region/vision/vision"));
		break;
	case UCR__RECORD__BODY_PRIORITY:
		CHECK(ucr_priority_valid(r->priority->id),
		    N_("priority: unknown priority '%s' (P1..P5)"),
		    r->priority->id);
		CHECK(strcmp(id, r->priority->id) == 0,
		    N_("key: must end in the priority id"));
		CHECK(text_ok(r->priority->title, 256) && *r->priority->title,
		    N_("title: empty or too long"));
		break;
	case UCR__RECORD__BODY_GOAL: {
		int known = 0;

		for (i = 0; i < sizeof(goal_ids) / sizeof(goal_ids[0]); i++)
			known |= strcmp(goal_ids[i], r->goal->id) == 0;
		CHECK(known, N_("goal: unknown goal '%s' (A1 A2 A3 R1 R2 R3)"),
		    r->goal->id);
		CHECK(strcmp(id, r->goal->id) == 0,
		    N_("key: must end in the goal id"));
		CHECK(r->goal->threshold != NULL &&
			decimal_ok(r->goal->threshold) &&
			r->goal->threshold->units >= 0,
		    N_("threshold: missing or negative"));
		/* A3 is a share in percent; R1 is met (1) or not (0). */
		CHECK(strcmp(r->goal->id, "A3") != 0 ||
			ucr_decimal_double(r->goal->threshold) <= 100,
		    N_("threshold: A3 is a percentage (0-100)"));
		CHECK(strcmp(r->goal->id, "R1") != 0 ||
			ucr_decimal_double(r->goal->threshold) <= 1,
		    N_("threshold: R1 is 1 (adopted) or 0"));
		break;
	}
	case UCR__RECORD__BODY_ROSTER: {
		const Ucr__RosterEntry *e = r->roster;
		char hex[2 * UCR_HASH_LEN + 1];

		CHECK(e->public_key.len == 32,
		    N_("key: public key must be 32 bytes"));
		ucr_hex(hex, e->public_key.data, 32);
		CHECK(strcmp(id, hex) == 0,
		    N_("key: must end in the public key (hex)"));
		CHECK(strcmp(e->municipality, UCR_REGION) == 0 ||
			ucr_municipality_known(e->municipality),
		    N_("municipality: unknown code '%s'"), e->municipality);
		CHECK(e->role >= 0 && e->role <= 2, N_("role: out of range"));
		CHECK(text_ok(e->name, 256), N_("name: too long"));
		break;
	}
	case UCR__RECORD__BODY_EPOCH_ACCEPT:
		CHECK(r->epoch_accept->author.len == 32,
		    N_("author: must be 32 bytes"));
		break;
	case UCR__RECORD__BODY_PROGRAMME:
		CHECK(strcmp(id, "programme") == 0,
		    N_("key: must be region/programme/programme"));
		CHECK(ucr_date_valid(r->programme->start),
		    N_("start: not a date (YYYY-MM-DD)"));
		CHECK(ucr_date_valid(r->programme->end),
		    N_("end: not a date (YYYY-MM-DD)"));
		CHECK(strcmp(r->programme->start, r->programme->end) <= 0,
		    N_("end: before start"));
		break;
	case UCR__RECORD__BODY_MEMBER: {
		const Ucr__Member *m = r->member;

		CHECK(ucr_municipality_known(m->code),
		    N_("code: '%s' is not one of Sweden's 290 municipality codes"),
		    m->code);
		CHECK(strcmp(id, m->code) == 0,
		    N_("key: must end in the code"));
		CHECK(text_ok(m->name, 256) && *m->name,
		    N_("name: empty or too long"));
		CHECK(m->population >= 0, N_("population: negative"));
		break;
	}
	case UCR__RECORD__BODY_NETWORK_ENTRY: {
		const Ucr__NetworkEntry *e = r->network_entry;

		CHECK(id_valid(e->id) && strcmp(id, e->id) == 0,
		    N_("key: must end in the network id"));
		CHECK(text_ok(e->name, 256) && *e->name,
		    N_("name: empty or too long"));
		CHECK(e->n_aliases <= 32, N_("alias: at most 32"));
		for (i = 0; i < e->n_aliases; i++)
			CHECK(text_ok(e->aliases[i], 256) && *e->aliases[i],
			    N_("alias: empty or too long"));
		CHECK(e->scope >= 0 && e->scope <= 1,
		    N_("scope: out of range"));
		break;
	}
	case UCR__RECORD__BODY_INDICATOR:
		CHECK(id_valid(r->indicator->id) &&
			strcmp(id, r->indicator->id) == 0,
		    N_("key: must end in the indicator id"));
		CHECK(text_ok(r->indicator->title, 256) && *r->indicator->title,
		    N_("title: empty or too long"));
		CHECK(text_ok(r->indicator->unit, 64), N_("unit: too long"));
		break;
	default:
		return bad(why, whylen, N_("kind: no record body"));
	}
	return 0;
}

int
ucr_record_validate(const Ucr__Record *r, char *why, size_t whylen)
{
	char owner[16], kind[16];
	const char *p, *q, *id;
	Ucr__Record__BodyCase c;
	int region;

	CHECK(r != NULL && r->key != NULL && r->owner != NULL,
	    N_("key: missing"));
	CHECK(strlen(r->key) < 256, N_("key: too long"));
	/* key = owner/kind/id */
	p = strchr(r->key, '/');
	CHECK(p != NULL && (size_t)(p - r->key) < sizeof(owner),
	    N_("key: '%s' is not owner/kind/id"), r->key);
	memcpy(owner, r->key, p - r->key);
	owner[p - r->key] = '\0';
	q = strchr(p + 1, '/');
	CHECK(q != NULL && (size_t)(q - p - 1) < sizeof(kind),
	    N_("key: '%s' is not owner/kind/id"), r->key);
	memcpy(kind, p + 1, q - p - 1);
	kind[q - p - 1] = '\0';
	id = q + 1;
	CHECK(strcmp(owner, r->owner) == 0,
	    N_("owner: '%s' does not match key '%s'"), r->owner, r->key);
	CHECK(strcmp(owner, UCR_REGION) == 0 || ucr_municipality_known(owner),
	    N_("owner: unknown municipality code '%s'"), owner);
	c = ucr_kind_parse(kind);
	CHECK(c != UCR__RECORD__BODY__NOT_SET, N_("kind: unknown kind '%s'"),
	    kind);
	if (r->tombstone) {
		CHECK(r->body_case == UCR__RECORD__BODY__NOT_SET,
		    N_("tombstone: must have no body"));
		return 0;
	}
	CHECK(r->body_case == c, N_("kind: body does not match key kind '%s'"),
	    kind);
	region = kind_region(c);
	if (region == 1)
		CHECK(strcmp(owner, UCR_REGION) == 0,
		    N_("owner: only the region writes %s records"), kind);
	if (region == -1)
		CHECK(strcmp(owner, UCR_REGION) != 0,
		    N_("owner: %s records belong to a municipality"), kind);
	if (c == UCR__RECORD__BODY_MEASUREMENT) {
		char want[256], old[256];
		const Ucr__Measurement *m = r->measurement;
		int ok;

		ok = ucr_record_make_key(want, sizeof(want), owner, r, NULL) ==
		    0;
		/* Records of the previous release keyed another area's value
		   as owner/measure/KPI/YEAR/GENDER too: still read. */
		if (ok && strcmp(want, r->key) != 0) {
			measure_key(old, sizeof(old), owner,
			    m->indicator ? m->indicator : "", NULL, m->year,
			    m->gender);
			ok = strcmp(old, r->key) == 0;
		}
		if (!ok)
			return bad(why, whylen,
			    N_("key: a measurement's key is "
			       "owner/measure/KPI[/AREA]/YEAR/GENDER"));
	} else
		CHECK(id_valid(id),
		    N_("id: '%s' must be 1-64 of A-Z a-z 0-9 . _ -"), id);
	return validate_body(r, id, why, whylen);
}

void
ucr_hash(uint8_t out[UCR_HASH_LEN], const void *buf, size_t len)
{
	crypto_generichash(out, UCR_HASH_LEN, buf, len, NULL, 0);
}

int
ucr_record_decode(Ucr__Record **out, const uint8_t *buf, size_t len)
{
	return ucr_record_decode_with(out, buf, len, NULL);
}

int
ucr_record_decode_with(Ucr__Record **out, const uint8_t *buf, size_t len,
    ProtobufCAllocator *a)
{
	*out = NULL;
	if (len > UCR_MAX_RECORD)
		return UCR_ETOOBIG;
	*out = ucr__record__unpack(a, len, buf);
	return *out == NULL ? UCR_EPROTO : 0;
}

int
ucr_entry_parse(Ucr__Entry *e, const uint8_t *buf, size_t len)
{
	const uint8_t *p = buf, *end = buf + len;
	unsigned seen = 0, field;
	uint64_t v;
	size_t n, max;

	ucr__entry__init(e);
	while (p < end) {
		/* one-byte tags of fields 1-6, each with its wire type */
		switch (*p) {
		case 0x08: /* 1 epoch */
		case 0x10: /* 2 seq */
		case 0x20: /* 4 time */
		case 0x28: /* 5 kind */
		case 0x1a: /* 3 prev */
		case 0x32: /* 6 record */
			break;
		default:
			return 1;
		}
		field = *p >> 3;
		if (seen & (1u << field))
			return 1; /* again: protobuf-c's rules for that */
		seen |= 1u << field;
		p++;
		max = field == 5 ? 5 : 9; /* the kind a uint32, the rest < 2^63 */
		if ((n = ucr_pb_varint(p, (size_t)(end - p) < max ?
			    (size_t)(end - p) : max, &v)) == 0)
			return 1;
		p += n;
		switch (field) {
		case 1:
			e->epoch = v;
			break;
		case 2:
			e->seq = v;
			break;
		case 4:
			e->time = v;
			break;
		case 5:
			if (v > UINT32_MAX)
				return 1;
			e->kind = (uint32_t)v;
			break;
		default: /* 3, 6: v bytes follow (a 5-byte length at most) */
			if (n > 5 || v > INT_MAX || v > (uint64_t)(end - p))
				return 1;
			if (field == 3) {
				e->prev.data = v ? (uint8_t *)p : NULL;
				e->prev.len = v;
			} else {
				e->record.data = v ? (uint8_t *)p : NULL;
				e->record.len = v;
			}
			p += v;
		}
	}
	return 0;
}

int
ucr_record_encode(uint8_t **out, size_t *outlen, const Ucr__Record *r)
{
	size_t n = ucr__record__get_packed_size(r);

	if (n > UCR_MAX_RECORD)
		return UCR_ETOOBIG;
	if ((*out = malloc(n ? n : 1)) == NULL)
		return UCR_ENOMEM;
	*outlen = ucr__record__pack(r, *out);
	return 0;
}

void
ucr_hex(char *out, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int
ucr_unhex(uint8_t *out, size_t n, const char *in)
{
	size_t i;

	if (in == NULL || strlen(in) != 2 * n)
		return UCR_EINVAL;
	for (i = 0; i < 2 * n; i++) {
		int c = tolower((unsigned char)in[i]), v;

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else
			return UCR_EINVAL;
		if (i % 2 == 0)
			out[i / 2] = v << 4;
		else
			out[i / 2] |= v;
	}
	return 0;
}
