/*
 * i18n.c: the locale and the message catalogue (i18n.h).
 */
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "i18n.h"

#ifndef UCR_LOCALEDIR
#define UCR_LOCALEDIR "/usr/share/locale"
#endif

/* <prefix>/share/locale for the program at <prefix>/bin/NAME, if it is a
   folder; else NULL. */
static const char *
beside_program(char *buf, size_t len)
{
	struct stat st;
	ssize_t n;
	char *p;
	int i;

	n = readlink("/proc/self/exe", buf, len - 1);
	if (n <= 0 || (size_t)n >= len - 1)
		return NULL;
	buf[n] = '\0';
	for (i = 0; i < 2; i++) { /* drop NAME, then bin */
		if ((p = strrchr(buf, '/')) == NULL)
			return NULL;
		*p = '\0';
	}
	n = (ssize_t)strlen(buf);
	if ((size_t)snprintf(buf + n, len - (size_t)n, "/share/locale") >=
	    len - (size_t)n)
		return NULL;
	if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
		return NULL;
	return buf;
}

void
ucr_i18n_init(void)
{
	char buf[PATH_MAX];
	const char *dir = getenv("UCR_LOCALEDIR");

	/* Only the categories ucr reads: the messages, and the character
	   classes (tolower, the catalogue's charset). Numbers stay "C" (never
	   set), and dates are written as digits (strftime "%Y-%m-%d"), which
	   no locale changes. Each category is a file to load unless the
	   locale is in the locale archive (C.UTF-8 is not): LC_ALL cost
	   twelve, 0.1 ms of every command's start. A use of another
	   category (strcoll, a month's name) must add it here. */
	setlocale(LC_CTYPE, "");
	setlocale(LC_MESSAGES, "");
	if (dir == NULL || *dir == '\0')
		dir = beside_program(buf, sizeof(buf));
	if (dir == NULL)
		dir = UCR_LOCALEDIR;
	bindtextdomain(UCR_TEXTDOMAIN, dir);
	bind_textdomain_codeset(UCR_TEXTDOMAIN, "UTF-8");
	textdomain(UCR_TEXTDOMAIN);
}
