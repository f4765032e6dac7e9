/*
 * test_dl.c: cli/dl.c, libcurl and libxlsxwriter loaded on first use.
 * The forwarding of curl_easy_setopt() and curl_easy_getinfo() is checked
 * option type by option type on a file:// transfer (no network); the
 * errors with UCR_LIBCURL and UCR_LIBXLSXWRITER naming a missing file or
 * the wrong library. Each test runs in its own process, so each starts
 * with nothing loaded.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <xlsxwriter.h>

#include "dl.h"
#include "testutil.h"

struct sink {
	char buf[64];
	size_t len;
};

static size_t
sink_write(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;

	if (s->len + size * n >= sizeof(s->buf))
		return 0;
	memcpy(s->buf + s->len, p, size * n);
	s->len += size * n;
	s->buf[s->len] = '\0';
	return size * n;
}

static int
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The first line the code under test wrote to stderr. */
static char *
stderr_line(void)
{
	static char line[512];
	FILE *f;

	fflush(stderr);
	f = cr_get_redirected_stderr();
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(line, sizeof(line), f));
	return line;
}

Test(dl, setopt_and_getinfo_by_type, .timeout = 30)
{
	char *dir = tu_tempdir(), path[600], url[700], *eff = NULL;
	struct sink s = {{0}, 0};
	curl_off_t size = -1;
	double total = -1;
	long code = -1;
	CURL *h;

	cr_assert_not_null(dir);
	snprintf(path, sizeof(path), "%s/body", dir);
	cr_assert_eq(tu_write(path, "hello, ucr\n"), 0);
	snprintf(url, sizeof(url), "file://%s", path);
	cr_assert_eq(dl_curl("test"), 0);
	cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	cr_assert_not_null(h = curl_easy_init());
	/* OBJECTPOINT, FUNCTIONPOINT, CBPOINT */
	cr_assert_eq(curl_easy_setopt(h, CURLOPT_URL, url), CURLE_OK);
	cr_assert_eq(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write),
	    CURLE_OK);
	cr_assert_eq(curl_easy_setopt(h, CURLOPT_WRITEDATA, &s), CURLE_OK);
	cr_assert_eq(curl_easy_perform(h), CURLE_OK);
	cr_assert_str_eq(s.buf, "hello, ucr\n");
	/* CURLINFO_OFF_T, _STRING, _LONG, _DOUBLE */
	cr_assert_eq(curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &size),
	    CURLE_OK);
	cr_assert_eq(size, 11);
	cr_assert_eq(curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff),
	    CURLE_OK);
	cr_assert_str_eq(eff, url);
	cr_assert_eq(curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code),
	    CURLE_OK);
	cr_assert_eq(code, 0); /* file:// has none */
	cr_assert_eq(curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &total),
	    CURLE_OK);
	cr_assert_geq(total, 0.0);

	/* LONG: from the 8th byte on; no body at all */
	s.len = 0;
	cr_assert_eq(curl_easy_setopt(h, CURLOPT_RESUME_FROM, 7L), CURLE_OK);
	cr_assert_eq(curl_easy_perform(h), CURLE_OK);
	cr_assert_str_eq(s.buf, "ucr\n");
	cr_assert_eq(curl_easy_setopt(h, CURLOPT_RESUME_FROM, 0L), CURLE_OK);
	s.len = 0;
	s.buf[0] = '\0';
	cr_assert_eq(curl_easy_setopt(h, CURLOPT_NOBODY, 1L), CURLE_OK);
	cr_assert_eq(curl_easy_perform(h), CURLE_OK);
	cr_assert_str_empty(s.buf);
	cr_assert_eq(curl_easy_setopt(h, CURLOPT_NOBODY, 0L), CURLE_OK);
	/* OFF_T: an offset past 32 bits is past the end; cut to 32 bits it
	   would be 7 and read "ucr" */
	cr_assert_eq(curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE,
			 ((curl_off_t)1 << 32) + 7),
	    CURLE_OK);
	cr_assert_eq(curl_easy_perform(h), CURLE_BAD_DOWNLOAD_RESUME);
	s.len = 0;
	cr_assert_eq(curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE,
			 (curl_off_t)7),
	    CURLE_OK);
	cr_assert_eq(curl_easy_perform(h), CURLE_OK);
	cr_assert_str_eq(s.buf, "ucr\n");
	/* past the last type range: refused, nothing read */
	cr_assert_eq((curl_easy_setopt)(h,
			 (CURLoption)(CURLOPTTYPE_BLOB + 10000), 0L),
	    CURLE_UNKNOWN_OPTION);
	cr_assert_eq((curl_easy_getinfo)(h, (CURLINFO)0x700001, &code),
	    CURLE_UNKNOWN_OPTION);
	curl_easy_cleanup(h);
	curl_global_cleanup();
	tu_rmrf(dir);
	free(dir);
}

/* A function called before its command loaded the library loads it. */
Test(dl, first_call_loads)
{
	cr_assert_str_eq(curl_easy_strerror(CURLE_OK), "No error");
	cr_assert_str_eq(lxw_strerror(LXW_NO_ERROR), "No error.");
}

Test(dl, missing_library, .init = cr_redirect_stderr)
{
	const char *line;

	setenv("UCR_LIBCURL", "libcurl-none.so.4", 1);
	cr_assert_eq(dl_curl("kolada"), -1);
	line = stderr_line();
	cr_assert(starts(line,
		      "ucr: kolada: cannot load libcurl-none.so.4 (install "
		      "the libcurl4 package): libcurl-none.so.4: cannot open "
		      "shared object file"),
	    "%s", line);
	/* tried again when asked again */
	unsetenv("UCR_LIBCURL");
	cr_assert_eq(dl_curl("kolada"), 0);
	cr_assert_str_eq(curl_easy_strerror(CURLE_OK), "No error");
}

/* A library of the name given that lacks the functions: refused by name. */
Test(dl, wrong_library, .init = cr_redirect_stderr)
{
	const char *line;

	setenv("UCR_LIBXLSXWRITER", "libcurl.so.4", 1);
	cr_assert_eq(dl_xlsxwriter("export"), -1);
	line = stderr_line();
	cr_assert(starts(line,
		      "ucr: export: cannot load libcurl.so.4 (install the "
		      "libxlsxwriter4 package): "),
	    "%s", line);
	cr_assert(strstr(line, "undefined symbol: workbook_new_opt") != NULL,
	    "%s", line);
	unsetenv("UCR_LIBXLSXWRITER");
	cr_assert_eq(dl_xlsxwriter("export"), 0);
}

/* A function called without its library, which cannot be loaded: the
   line, and exit status 1, as the call cannot fail otherwise. */
Test(dl, first_call_without_library_exits, .exit_code = 1,
    .init = cr_redirect_stderr)
{
	setenv("UCR_LIBXLSXWRITER", "libxlsxwriter-none.so.4", 1);
	lxw_strerror(LXW_NO_ERROR);
	cr_assert_fail("lxw_strerror returned");
}
