/* test_record.c: reference tables, keys, decimals, validation. */
#include "storeutil.h"

TestSuite(record, .timeout = 30);

Test(record, fifty_commitments)
{
	int themes[11] = {0}, i;

	for (i = 0; i < UCR_NCOMMITMENTS; i++)
		themes[ucr_commitments[i].theme]++;
	for (i = 1; i <= 10; i++)
		cr_assert_eq(themes[i], 5);
	cr_assert_not_null(ucr_commitment_find("10.5"));
	cr_assert_null(ucr_commitment_find("10.6"));
	cr_assert_null(ucr_commitment_find("3"));
	cr_assert_str_eq(ucr_municipality_find("2460")->name, "Vännäs");
	cr_assert_null(ucr_municipality_find("2284"));
}

Test(record, decimals_parse_and_format)
{
	Ucr__Decimal d;
	char buf[48];

	cr_assert_eq(ucr_decimal_parse(&d, "12.50"), 0);
	cr_assert_eq(d.units, 1250);
	cr_assert_eq(d.scale, 2);
	cr_assert_str_eq(ucr_decimal_format(&d, buf, sizeof(buf)), "12.50");
	cr_assert_eq(ucr_decimal_parse(&d, "-0.05"), 0);
	cr_assert_str_eq(ucr_decimal_format(&d, buf, sizeof(buf)), "-0.05");
	cr_assert_float_eq(ucr_decimal_double(&d), -0.05, 1e-12);
	cr_assert_eq(ucr_decimal_parse(&d, "7"), 0);
	cr_assert_str_eq(ucr_decimal_format(&d, buf, sizeof(buf)), "7");
	cr_assert_neq(ucr_decimal_parse(&d, "abc"), 0);
	cr_assert_neq(ucr_decimal_parse(&d, "1e3"), 0);
	cr_assert_neq(ucr_decimal_parse(&d, "1."), 0);
	cr_assert_neq(ucr_decimal_parse(&d, ""), 0);
	cr_assert_neq(ucr_decimal_parse(&d, "-"), 0);
	cr_assert_neq(ucr_decimal_parse(&d, "1.2.3"), 0);
	cr_assert_neq(ucr_decimal_parse(&d, "0.1234567891"), 0);
	cr_assert_neq(ucr_decimal_parse(&d, "12345678901234567890"), 0);
}

Test(record, dates)
{
	cr_assert(ucr_date_valid("2008-01-01"));
	cr_assert(ucr_date_valid("2008-02-29"));
	cr_assert_not(ucr_date_valid("2009-02-29"));
	cr_assert_not(ucr_date_valid("2009-13-01"));
	cr_assert_not(ucr_date_valid("1899-12-31"));
	cr_assert_not(ucr_date_valid("2009-1-01"));
	cr_assert_not(ucr_date_valid("yesterday"));
}

Test(record, valid_network_and_key_rules)
{
	Ucr__Record *r = su_network("2403", 1);
	char why[256];

	cr_assert_eq(ucr_record_validate(r, why, sizeof(why)), 0, "%s", why);
	free(r->owner);
	r->owner = strdup("2401");
	cr_assert_eq(ucr_record_validate(r, why, sizeof(why)), UCR_ESCHEMA);
	cr_assert(strstr(why, "owner") != NULL);
	ucr__record__free_unpacked(r, NULL);
}

Test(record, region_only_kinds)
{
	uint8_t pk[32] = {1};
	Ucr__Record *r = su_roster(pk, "2403");
	char why[256];

	cr_assert_eq(ucr_record_validate(r, why, sizeof(why)), 0, "%s", why);
	free(r->key);
	r->key = strdup("2403/roster/0101");
	free(r->owner);
	r->owner = strdup("2403");
	cr_assert_eq(ucr_record_validate(r, why, sizeof(why)), UCR_ESCHEMA);
	ucr__record__free_unpacked(r, NULL);
}

Test(record, sweden_290_by_code_and_name)
{
	const struct ucr_municipality_se *m;
	size_t i;

	for (i = 1; i < UCR_NMUNICIPALITIES_SE; i++)
		cr_assert_lt(strcmp(ucr_municipalities_se[i - 1].code,
				 ucr_municipalities_se[i].code),
		    0, "sorted, no duplicates at %zu", i);
	for (i = 0; i < UCR_NMUNICIPALITIES_SE; i++)
		cr_assert_eq(ucr_municipality_se_find(
				 ucr_municipalities_se[i].code),
		    &ucr_municipalities_se[i]);
	for (i = 0; i < UCR_NMUNICIPALITIES; i++)
		cr_assert(ucr_municipality_known(ucr_municipalities[i].code),
		    "default %s among the 290", ucr_municipalities[i].code);
	m = ucr_municipality_se_find("2284");
	cr_assert_not_null(m);
	cr_assert_str_eq(m->name, "Örnsköldsvik");
	cr_assert_str_eq(m->county, "22");
	cr_assert_eq(ucr_municipality_se_lookup("ÖRNSKÖLDSVIK"), m);
	cr_assert_str_eq(ucr_municipality_se_lookup("0180")->name, "Stockholm");
	cr_assert_null(ucr_municipality_se_find("9999"));
	cr_assert_null(ucr_municipality_se_find("228"));
	cr_assert_null(ucr_municipality_se_find(NULL));
	cr_assert_null(ucr_municipality_se_lookup("Atlantis"));
	cr_assert_null(ucr_municipality_find("2284"), "not a default");
}

Test(record, member_record_rules)
{
	Ucr__Record r = UCR__RECORD__INIT;
	Ucr__Member m = UCR__MEMBER__INIT;
	char why[256];

	r.key = "region/member/2284";
	r.owner = "region";
	r.body_case = UCR__RECORD__BODY_MEMBER;
	r.member = &m;
	m.code = "2284";
	m.name = "Örnsköldsvik";
	m.population = 56000;
	cr_assert_eq(ucr_record_validate(&r, why, sizeof(why)), 0, "%s", why);
	m.population = -1;
	cr_assert_eq(ucr_record_validate(&r, why, sizeof(why)), UCR_ESCHEMA);
	cr_assert(strstr(why, "population") != NULL, "%s", why);
	m.population = 0;
	m.code = "9999";
	r.key = "region/member/9999";
	cr_assert_eq(ucr_record_validate(&r, why, sizeof(why)), UCR_ESCHEMA);
	cr_assert(strstr(why, "290") != NULL, "%s", why);
	m.code = "2284";
	r.key = "region/member/2285";
	cr_assert_eq(ucr_record_validate(&r, why, sizeof(why)), UCR_ESCHEMA);
	r.key = "2284/member/2284";
	r.owner = "2284";
	cr_assert_eq(ucr_record_validate(&r, why, sizeof(why)), UCR_ESCHEMA,
	    "only the region writes members");
	/* a member's records are valid under its code */
	r = (Ucr__Record)UCR__RECORD__INIT;
	{
		Ucr__Record *n = su_network("2284", 1);

		cr_assert_eq(ucr_record_validate(n, why, sizeof(why)), 0, "%s",
		    why);
		ucr__record__free_unpacked(n, NULL);
	}
}

Test(record, target_field_errors_name_the_field)
{
	Ucr__Record r = UCR__RECORD__INIT;
	Ucr__Target t = UCR__TARGET__INIT;
	char *commitments[] = {"3.1", "3.9"};
	char *priorities[] = {"P4"};
	char why[256];

	r.key = "2403/target/T1";
	r.owner = "2403";
	r.body_case = UCR__RECORD__BODY_TARGET;
	r.target = &t;
	t.title = "Renewable district heating";
	t.commitments = commitments;
	t.n_commitments = 1;
	t.priorities = priorities;
	t.n_priorities = 1;
	cr_assert_eq(ucr_record_validate(&r, why, sizeof(why)), 0, "%s", why);
	t.n_commitments = 2;
	cr_assert_eq(ucr_record_validate(&r, why, sizeof(why)), UCR_ESCHEMA);
	cr_assert(strstr(why, "commitment") && strstr(why, "3.9"), "%s", why);
	t.n_commitments = 1;
	priorities[0] = "P6";
	cr_assert_eq(ucr_record_validate(&r, why, sizeof(why)), UCR_ESCHEMA);
	cr_assert(strstr(why, "priority"), "%s", why);
	priorities[0] = "P4";
	r.key = "2403/target/T 1";
	cr_assert_eq(ucr_record_validate(&r, why, sizeof(why)), UCR_ESCHEMA);
	r.key = "2403/project/T1"; /* body does not match kind */
	cr_assert_eq(ucr_record_validate(&r, why, sizeof(why)), UCR_ESCHEMA);
}

Test(record, measurement_missing_has_no_value)
{
	Ucr__Record r = UCR__RECORD__INIT;
	Ucr__Measurement m = UCR__MEASUREMENT__INIT;
	Ucr__Decimal zero = UCR__DECIMAL__INIT;
	char why[256], key[128];

	r.owner = "2403";
	r.body_case = UCR__RECORD__BODY_MEASUREMENT;
	r.measurement = &m;
	m.indicator = "N00401";
	m.area = "2403";
	m.year = 2009;
	m.status = UCR__MEASURE_STATUS__MEASURE_MISSING;
	cr_assert_eq(ucr_record_make_key(key, sizeof(key), "2403", &r, NULL),
	    0);
	cr_assert_str_eq(key, "2403/measure/N00401/2009/T");
	r.key = key;
	cr_assert_eq(ucr_record_validate(&r, why, sizeof(why)), 0, "%s", why);
	m.value = &zero;
	cr_assert_eq(ucr_record_validate(&r, why, sizeof(why)), UCR_ESCHEMA);
	m.status = UCR__MEASURE_STATUS__MEASURE_FINAL;
	cr_assert_eq(ucr_record_validate(&r, why, sizeof(why)), 0, "%s", why);
	m.year = 1850;
	cr_assert_eq(ucr_record_validate(&r, why, sizeof(why)), UCR_ESCHEMA);
}

Test(record, garbage_decode_refused)
{
	Ucr__Record *r = NULL;
	uint8_t junk[] = {0xff, 0xff, 0xff, 0x01};
	static uint8_t huge[UCR_MAX_RECORD + 1];

	cr_assert_eq(ucr_record_decode(&r, junk, sizeof(junk)), UCR_EPROTO);
	cr_assert_eq(ucr_record_decode(&r, huge, sizeof(huge)), UCR_ETOOBIG);
	cr_assert_null(r);
}

Test(record, hex_roundtrip)
{
	uint8_t in[4] = {0x00, 0xab, 0x10, 0xff}, out[4];
	char hex[9];

	ucr_hex(hex, in, 4);
	cr_assert_str_eq(hex, "00ab10ff");
	cr_assert_eq(ucr_unhex(out, 4, hex), 0);
	cr_assert_eq(memcmp(in, out, 4), 0);
	cr_assert_neq(ucr_unhex(out, 4, "00ab10f"), 0);
	cr_assert_neq(ucr_unhex(out, 4, "00ab10fg"), 0);
}

/* Issue 12: the checks behind figures the steering group can trust. */
Test(record, kolada_ids)
{
	cr_assert(ucr_kolada_id("N00401"));
	cr_assert(ucr_kolada_id("U07414"));
	cr_assert_not(ucr_kolada_id("n00401"));
	cr_assert_not(ucr_kolada_id("FOO"));
	cr_assert_not(ucr_kolada_id("N0040"));
	cr_assert_not(ucr_kolada_id("N004011"));
	cr_assert_not(ucr_kolada_id(NULL));
}

Test(record, goal_thresholds_in_range)
{
	Ucr__Record r = UCR__RECORD__INIT;
	Ucr__Goal g = UCR__GOAL__INIT;
	Ucr__Decimal d = UCR__DECIMAL__INIT;
	char why[256];

	r.key = "region/goal/A3";
	r.owner = "region";
	r.body_case = UCR__RECORD__BODY_GOAL;
	r.goal = &g;
	g.id = "A3";
	g.threshold = &d;
	d.units = 60;
	cr_assert_eq(ucr_record_validate(&r, why, sizeof(why)), 0, "%s", why);
	d.units = 150;
	cr_assert_eq(ucr_record_validate(&r, why, sizeof(why)), UCR_ESCHEMA);
	cr_assert(strstr(why, "threshold") != NULL, "%s", why);
	r.key = "region/goal/R1";
	g.id = "R1";
	d.units = 7;
	cr_assert_eq(ucr_record_validate(&r, why, sizeof(why)), UCR_ESCHEMA);
	d.units = 1;
	cr_assert_eq(ucr_record_validate(&r, why, sizeof(why)), 0, "%s", why);
}

Test(record, group_dates_ordered)
{
	Ucr__Record r = UCR__RECORD__INIT;
	Ucr__Group g = UCR__GROUP__INIT;
	char why[256];

	r.key = "2403/group/G1";
	r.owner = "2403";
	r.body_case = UCR__RECORD__BODY_GROUP;
	r.group = &g;
	g.name = "Energy";
	g.active_from = "2009-01-01";
	g.active_to = "2010-06-30";
	cr_assert_eq(ucr_record_validate(&r, why, sizeof(why)), 0, "%s", why);
	g.active_to = "2008-06-30";
	cr_assert_eq(ucr_record_validate(&r, why, sizeof(why)), UCR_ESCHEMA);
	cr_assert(strstr(why, "to:") != NULL, "%s", why);
}

Test(record, indicator_declaration)
{
	Ucr__Record r = UCR__RECORD__INIT;
	Ucr__Indicator in = UCR__INDICATOR__INIT;
	char why[256];

	r.key = "region/indicator/LOCAL1";
	r.owner = "region";
	r.body_case = UCR__RECORD__BODY_INDICATOR;
	r.indicator = &in;
	in.id = "LOCAL1";
	in.title = "Share of renewable heat";
	in.unit = "%";
	cr_assert_eq(ucr_record_validate(&r, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(ucr_kind_parse("indicator"), UCR__RECORD__BODY_INDICATOR);
	in.id = "OTHER";
	cr_assert_eq(ucr_record_validate(&r, why, sizeof(why)), UCR_ESCHEMA);
	in.id = "LOCAL1";
	in.title = "";
	cr_assert_eq(ucr_record_validate(&r, why, sizeof(why)), UCR_ESCHEMA);
}

/* A municipality by code or by name, case and Swedish letters alike. */
Test(record, municipality_by_code_or_name)
{
	cr_assert_str_eq(ucr_municipality_lookup("2480")->code, "2480");
	cr_assert_str_eq(ucr_municipality_lookup("Umeå")->code, "2480");
	cr_assert_str_eq(ucr_municipality_lookup("UMEÅ")->code, "2480");
	cr_assert_str_eq(ucr_municipality_lookup("vännäs")->code, "2460");
	cr_assert_str_eq(ucr_municipality_lookup("bjurholm")->code, "2403");
	cr_assert_null(ucr_municipality_lookup("Umea"));
	cr_assert_null(ucr_municipality_lookup("Umeåx"));
	cr_assert_null(ucr_municipality_lookup(NULL));
}
