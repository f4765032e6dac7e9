/* text.c: untrusted text made safe to show (text.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

/*
 * The length of the valid UTF-8 sequence at p (1-4), or 0 if the bytes
 * there are not one: overlong forms, surrogates and code points above
 * U+10FFFF are invalid (RFC 3629). *cp gets the code point.
 */
static size_t
utf8_len(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		c = p[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	*cp = c;
	return len;
}

size_t
ucr_utf8_sanitize(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	static const char repl[] = "\xef\xbf\xbd"; /* U+FFFD */
	const uint8_t *p = (const uint8_t *)src;
	size_t i = 0, o = 0, n;
	uint32_t cp;

	if (dstlen == 0)
		return 0;
	while (i < srclen) {
		n = utf8_len(p + i, srclen - i, &cp);
		if (n == 0 || cp == 0) {
			if (o + 3 >= dstlen)
				break;
			memcpy(dst + o, repl, 3);
			o += 3;
			i += n ? n : 1;
			continue;
		}
		if (o + n >= dstlen)
			break;
		memcpy(dst + o, p + i, n);
		o += n;
		i += n;
	}
	dst[o] = '\0';
	return o;
}

size_t
ucr_text_escape(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	const uint8_t *p = (const uint8_t *)src;
	size_t i = 0, o = 0, n;
	char esc[8];
	uint32_t cp;

	if (dstlen == 0)
		return 0;
	while (i < srclen) {
		n = utf8_len(p + i, srclen - i, &cp);
		/* printable: ASCII 0x20-0x7e but '\', and UTF-8 past C1 */
		if (n == 1 && cp >= 0x20 && cp < 0x7f && cp != '\\') {
			esc[0] = (char)cp;
			esc[1] = '\0';
		} else if (n > 1 && cp >= 0xa0 && cp != 0x2028 &&
		    cp != 0x2029 && !(cp >= 0x202a && cp <= 0x202e) &&
		    !(cp >= 0x2066 && cp <= 0x2069)) {
			/* letters kept; line separators, bidi overrides not */
			if (o + n >= dstlen)
				break;
			memcpy(dst + o, p + i, n);
			o += n;
			i += n;
			continue;
		} else if (n == 1 && cp == '\\')
			snprintf(esc, sizeof(esc), "\\\\");
		else if (n == 1 && cp == '\n')
			snprintf(esc, sizeof(esc), "\\n");
		else if (n == 1 && cp == '\t')
			snprintf(esc, sizeof(esc), "\\t");
		else if (n == 1 && cp == '\r')
			snprintf(esc, sizeof(esc), "\\r");
		else {
			/* one byte at a time, as vis(3) does */
			snprintf(esc, sizeof(esc), "\\%03o", p[i]);
			n = 1;
		}
		if (o + strlen(esc) >= dstlen)
			break;
		memcpy(dst + o, esc, strlen(esc));
		o += strlen(esc);
		i += n ? n : 1;
	}
	dst[o] = '\0';
	return o;
}

void
ucr_text_escape_inplace(char *buf, size_t buflen)
{
	char *tmp;
	size_t len = strlen(buf);

	if (buflen == 0 || (tmp = malloc(buflen)) == NULL)
		return;
	ucr_text_escape(tmp, buflen, buf, len);
	memcpy(buf, tmp, strlen(tmp) + 1);
	free(tmp);
}
