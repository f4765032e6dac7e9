/* test_text.c: untrusted text made safe for logs, terminals and strings. */
#include <criterion/criterion.h>
#include <string.h>

#include "text.h"

TestSuite(text, .timeout = 10);

static const char *
esc(const char *s, size_t len)
{
	static char out[256];

	ucr_text_escape(out, sizeof(out), s, len);
	return out;
}

static const char *
san(const char *s, size_t len)
{
	static char out[256];

	ucr_utf8_sanitize(out, sizeof(out), s, len);
	return out;
}

Test(text, escape_controls_vis_style)
{
	cr_assert_str_eq(esc("plain key/2403", 14), "plain key/2403");
	cr_assert_str_eq(esc("a\nb\tc\rd\\e", 9), "a\\nb\\tc\\rd\\\\e");
	/* an escape sequence that would recolour a terminal */
	cr_assert_str_eq(esc("\x1b[31mred", 8), "\\033[31mred");
	cr_assert_str_eq(esc("nul\0x", 5), "nul\\000x");
	cr_assert_str_eq(esc("\x7f", 1), "\\177");
}

Test(text, escape_keeps_letters_refuses_tricks)
{
	/* Swedish letters stay readable */
	cr_assert_str_eq(esc("Ume\xc3\xa5 V\xc3\xa4nn\xc3\xa4s", 14),
	    "Ume\xc3\xa5 V\xc3\xa4nn\xc3\xa4s");
	/* invalid UTF-8, an overlong '/', a C1 control, a bidi override */
	cr_assert_str_eq(esc("\xff", 1), "\\377");
	cr_assert_str_eq(esc("\xc0\xaf", 2), "\\300\\257");
	cr_assert_str_eq(esc("\xc2\x9b", 2), "\\302\\233");
	cr_assert_str_eq(esc("\xe2\x80\xae", 3), "\\342\\200\\256");
}

Test(text, escape_never_overflows_or_splits)
{
	char out[8];

	cr_assert_eq(ucr_text_escape(out, sizeof(out), "abcdefghij", 10), 7);
	cr_assert_str_eq(out, "abcdefg");
	/* an escape that does not fit is left out whole */
	cr_assert_eq(ucr_text_escape(out, sizeof(out), "abcdef\n", 7), 6);
	cr_assert_str_eq(out, "abcdef");
	cr_assert_eq(ucr_text_escape(out, 1, "abc", 3), 0);
	cr_assert_str_eq(out, "");
}

Test(text, sanitize_gives_valid_utf8)
{
	char out[6];

	cr_assert_str_eq(san("ok \xc3\xa5", 5), "ok \xc3\xa5");
	cr_assert_str_eq(san("a\xff"
			     "b",
			     3),
	    "a\xef\xbf\xbd"
	    "b");
	/* a surrogate and a truncated sequence */
	cr_assert_str_eq(san("\xed\xa0\x80", 3),
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	cr_assert_str_eq(san("x\xe2\x82", 3), "x\xef\xbf\xbd\xef\xbf\xbd");
	/* an embedded NUL would cut a C string: replaced */
	cr_assert_str_eq(san("a\0b", 3),
	    "a\xef\xbf\xbd"
	    "b");
	/* never a character cut in two at the end */
	cr_assert_eq(ucr_utf8_sanitize(out, sizeof(out), "abcd\xc3\xa5", 6), 4);
	cr_assert_str_eq(out, "abcd");
}

Test(text, escape_in_place)
{
	char buf[32] = "key\x1b]0;x\x07";

	ucr_text_escape_inplace(buf, sizeof(buf));
	cr_assert_str_eq(buf, "key\\033]0;x\\007");
}
