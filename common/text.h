/*
 * text.h: untrusted text made safe to show. Record keys, titles, names and
 * error messages arrive from every municipality; before one reaches a log
 * line, a terminal or a protobuf string field it goes through here.
 *
 *   ucr_utf8_sanitize  valid UTF-8 for a string field (Reply.message,
 *                      JSON): invalid sequences become U+FFFD
 *   ucr_text_escape    one printable line for logs and terminals, in the
 *                      style of vis(3): controls and invalid bytes as
 *                      \n \t \r \\ or \ooo; valid UTF-8 letters kept
 *
 * Both write at most dstlen bytes including the NUL, never cut a character
 * in two, and return the length written (without the NUL).
 */
#ifndef UCR_TEXT_H
#define UCR_TEXT_H

#include <stddef.h>

size_t ucr_utf8_sanitize(char *dst, size_t dstlen, const char *src,
    size_t srclen);
size_t ucr_text_escape(char *dst, size_t dstlen, const char *src,
    size_t srclen);
/* Escape a NUL-terminated string in place (buf holds buflen bytes). */
void ucr_text_escape_inplace(char *buf, size_t buflen);

#endif
