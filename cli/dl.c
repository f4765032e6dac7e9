/*
 * dl.c: libcurl, libxlsxwriter and libzmq loaded on first use (dl.h says
 * why).
 *
 * Each library is a table of the functions ucr calls in it (an X-macro
 * list), each slot typed from the header's own declaration with
 * __typeof__, filled by dlsym. The functions below take the libraries'
 * names and prototypes and forward to the slots. The executable does not
 * export them (no -rdynamic), and the libraries are opened RTLD_LOCAL, so
 * neither library's calls to its own functions ever land here.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <curl/curl.h>
#include <xlsxwriter.h>

#include "cli.h"
#include "dl.h"

struct dl_lib {
	const char *file;    /* soname dlopen asks for */
	const char *env;     /* variable naming another file */
	const char *package; /* the Debian package that holds it */
	const char *path;    /* the file opened: file, or $env */
	void *handle;        /* NULL until loaded */
};

/* The functions kolada.c calls. */
#define CURL_FUNCS(X)          \
	X(curl_global_init)    \
	X(curl_global_cleanup) \
	X(curl_easy_init)      \
	X(curl_easy_setopt)    \
	X(curl_easy_perform)   \
	X(curl_easy_getinfo)   \
	X(curl_easy_cleanup)   \
	X(curl_easy_strerror)

/* The functions export.c calls. */
#define XLSX_FUNCS(X)               \
	X(workbook_new_opt)         \
	X(workbook_add_format)      \
	X(workbook_add_worksheet)   \
	X(workbook_close)           \
	X(worksheet_write_string)   \
	X(worksheet_write_number)   \
	X(worksheet_write_datetime) \
	X(worksheet_write_boolean)  \
	X(worksheet_freeze_panes)   \
	X(worksheet_set_column)     \
	X(worksheet_autofilter)     \
	X(format_set_bold)          \
	X(format_set_bottom)        \
	X(format_set_num_format)    \
	X(lxw_strerror)

#define DL_SLOT(f) __typeof__(f) *f;
static struct {
	struct dl_lib lib;
	struct {
		CURL_FUNCS(DL_SLOT)
	} fn;
} libcurl = {{"libcurl.so.4", "UCR_LIBCURL", "libcurl4", NULL, NULL}, {0}};

static struct {
	struct dl_lib lib;
	struct {
		XLSX_FUNCS(DL_SLOT)
	} fn;
} libxlsx = {{"libxlsxwriter.so.4", "UCR_LIBXLSXWRITER", "libxlsxwriter4", NULL,
		 NULL},
    {0}};
#undef DL_SLOT

static struct dl_lib libzmq = {"libzmq.so.5", "UCR_LIBZMQ", "libzmq5", NULL,
    NULL};
struct dl_zmq_fns dl_zmq_fn;

static void
dl_error(const struct dl_lib *l, const char *cmd)
{
	/* TRANSLATORS: the command ("kolada"), the library's file
	   ("libcurl.so.4"), its Debian package ("libcurl4"), and the dynamic
	   linker's reason (in the system's language). */
	cli_error("%s: cannot load %s (install the %s package): %s", cmd,
	    l->path, l->package, dlerror());
}

/* dlopen the library; prints the error. 0 or -1. */
static int
dl_open(struct dl_lib *l, const char *cmd)
{
	const char *file = secure_getenv(l->env);

	if (file == NULL || *file == '\0')
		file = l->file;
	l->path = file;
	/* RTLD_NOW: a library whose own dependencies are missing fails
	   here, with the name of what is missing, not at some later call. */
	if ((l->handle = dlopen(file, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		dl_error(l, cmd);
		return -1;
	}
	return 0;
}

/* A function of the library, or NULL after printing the error and closing
   the library (a file of the right name but the wrong version). */
static void *
dl_sym(struct dl_lib *l, const char *name, const char *cmd)
{
	void *p;

	dlerror();
	if ((p = dlsym(l->handle, name)) == NULL) {
		dl_error(l, cmd);
		dlclose(l->handle);
		l->handle = NULL;
	}
	return p;
}

/* Converting dlsym's void * to a function pointer is what POSIX
   guarantees for dlsym; ISO C leaves it to the implementation. */
#define DL_RESOLVE(tab, f)                                                   \
	if ((tab.fn.f = (__typeof__(f) *)dl_sym(&tab.lib, #f, cmd)) == NULL) \
		return -1;

int
dl_curl(const char *cmd)
{
#define X(f) DL_RESOLVE(libcurl, f)
	if (libcurl.lib.handle != NULL)
		return 0;
	if (dl_open(&libcurl.lib, cmd) != 0)
		return -1;
	CURL_FUNCS(X)
	return 0;
#undef X
}

int
dl_xlsxwriter(const char *cmd)
{
#define X(f) DL_RESOLVE(libxlsx, f)
	if (libxlsx.lib.handle != NULL)
		return 0;
	if (dl_open(&libxlsx.lib, cmd) != 0)
		return -1;
	XLSX_FUNCS(X)
	return 0;
#undef X
}

int
dl_zmq(const char *cmd)
{
#define X(f)                                                                   \
	if ((dl_zmq_fn.f = (__typeof__(f) *)dl_sym(&libzmq, #f, cmd)) == NULL) \
		return -1;
	if (libzmq.handle != NULL)
		return 0;
	if (dl_open(&libzmq, cmd) != 0)
		return -1;
	DL_ZMQ_FUNCS(X)
	return 0;
#undef X
}

/*
 * The slot of function f. A command loads the library first (dl.h); one
 * that did not gets it loaded here, and if that fails the process exits
 * after the error line, as the call has no way to fail.
 */
static void
dl_need(int (*load)(const char *), const char *f)
{
	if (load(f) != 0)
		exit(1);
}
#define CURL_FN(f) (dl_need(dl_curl, #f), libcurl.fn.f)
#define XLSX_FN(f) (dl_need(dl_xlsxwriter, #f), libxlsx.fn.f)

/* ------------------------------------------------------------ libcurl */

CURLcode
curl_global_init(long flags)
{
	return CURL_FN(curl_global_init)(flags);
}

void
curl_global_cleanup(void)
{
	CURL_FN(curl_global_cleanup)();
}

CURL *
curl_easy_init(void)
{
	return CURL_FN(curl_easy_init)();
}

/*
 * The one argument after option has the type of the option's range, as
 * libcurl's own curl_easy_setopt() reads it with va_arg (curl.h,
 * CURLOPTTYPE_*): below OBJECTPOINT a long (LONG, VALUES), then a data
 * pointer (OBJECTPOINT, STRINGPOINT, SLISTPOINT, CBPOINT), a function
 * pointer (FUNCTIONPOINT), a curl_off_t (OFF_T), a struct curl_blob *
 * (BLOB). It is passed on as that type. The parentheses around the name
 * keep curl's type-checking macro (typecheck-gcc.h) out of the definition;
 * the callers in kolada.c still go through it.
 */
CURLcode(curl_easy_setopt)(CURL *h, CURLoption option, ...)
{
	__typeof__(curl_easy_setopt) *fn = CURL_FN(curl_easy_setopt);
	CURLcode rc;
	va_list ap;

	va_start(ap, option);
	if (option < CURLOPTTYPE_OBJECTPOINT)
		rc = fn(h, option, va_arg(ap, long));
	else if (option < CURLOPTTYPE_FUNCTIONPOINT)
		rc = fn(h, option, va_arg(ap, void *));
	else if (option < CURLOPTTYPE_OFF_T)
		rc = fn(h, option, va_arg(ap, void (*)(void)));
	else if (option < CURLOPTTYPE_BLOB)
		rc = fn(h, option, va_arg(ap, curl_off_t));
	else if (option < CURLOPTTYPE_BLOB + 10000)
		rc = fn(h, option, va_arg(ap, struct curl_blob *));
	else
		rc = CURLE_UNKNOWN_OPTION;
	va_end(ap);
	return rc;
}

CURLcode
curl_easy_perform(CURL *h)
{
	return CURL_FN(curl_easy_perform)(h);
}

/* The one argument after info points to the type of info's type bits
   (curl.h, CURLINFO_TYPEMASK), as libcurl's curl_easy_getinfo() reads it. */
CURLcode(curl_easy_getinfo)(CURL *h, CURLINFO info, ...)
{
	__typeof__(curl_easy_getinfo) *fn = CURL_FN(curl_easy_getinfo);
	CURLcode rc;
	va_list ap;

	va_start(ap, info);
	switch (info & CURLINFO_TYPEMASK) {
	case CURLINFO_STRING:
		rc = fn(h, info, va_arg(ap, char **));
		break;
	case CURLINFO_LONG:
		rc = fn(h, info, va_arg(ap, long *));
		break;
	case CURLINFO_DOUBLE:
		rc = fn(h, info, va_arg(ap, double *));
		break;
	case CURLINFO_SLIST: /* also CURLINFO_PTR: a struct pointer's place */
		rc = fn(h, info, va_arg(ap, void *));
		break;
	case CURLINFO_SOCKET:
		rc = fn(h, info, va_arg(ap, curl_socket_t *));
		break;
	case CURLINFO_OFF_T:
		rc = fn(h, info, va_arg(ap, curl_off_t *));
		break;
	default:
		rc = CURLE_UNKNOWN_OPTION;
		break;
	}
	va_end(ap);
	return rc;
}

void
curl_easy_cleanup(CURL *h)
{
	CURL_FN(curl_easy_cleanup)(h);
}

const char *
curl_easy_strerror(CURLcode rc)
{
	return CURL_FN(curl_easy_strerror)(rc);
}

/* ------------------------------------------------------- libxlsxwriter */

lxw_workbook *
workbook_new_opt(const char *filename, lxw_workbook_options *options)
{
	return XLSX_FN(workbook_new_opt)(filename, options);
}

lxw_format *
workbook_add_format(lxw_workbook *wb)
{
	return XLSX_FN(workbook_add_format)(wb);
}

lxw_worksheet *
workbook_add_worksheet(lxw_workbook *wb, const char *name)
{
	return XLSX_FN(workbook_add_worksheet)(wb, name);
}

lxw_error
workbook_close(lxw_workbook *wb)
{
	return XLSX_FN(workbook_close)(wb);
}

lxw_error
worksheet_write_string(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col,
    const char *string, lxw_format *format)
{
	return XLSX_FN(worksheet_write_string)(ws, row, col, string, format);
}

lxw_error
worksheet_write_number(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col,
    double number, lxw_format *format)
{
	return XLSX_FN(worksheet_write_number)(ws, row, col, number, format);
}

lxw_error
worksheet_write_datetime(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col,
    lxw_datetime *datetime, lxw_format *format)
{
	return XLSX_FN(
	    worksheet_write_datetime)(ws, row, col, datetime, format);
}

lxw_error
worksheet_write_boolean(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col,
    int value, lxw_format *format)
{
	return XLSX_FN(worksheet_write_boolean)(ws, row, col, value, format);
}

void
worksheet_freeze_panes(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col)
{
	XLSX_FN(worksheet_freeze_panes)(ws, row, col);
}

lxw_error
worksheet_set_column(lxw_worksheet *ws, lxw_col_t first_col, lxw_col_t last_col,
    double width, lxw_format *format)
{
	return XLSX_FN(
	    worksheet_set_column)(ws, first_col, last_col, width, format);
}

lxw_error
worksheet_autofilter(lxw_worksheet *ws, lxw_row_t first_row,
    lxw_col_t first_col, lxw_row_t last_row, lxw_col_t last_col)
{
	return XLSX_FN(
	    worksheet_autofilter)(ws, first_row, first_col, last_row, last_col);
}

void
format_set_bold(lxw_format *format)
{
	XLSX_FN(format_set_bold)(format);
}

void
format_set_bottom(lxw_format *format, uint8_t style)
{
	XLSX_FN(format_set_bottom)(format, style);
}

void
format_set_num_format(lxw_format *format, const char *num_format)
{
	XLSX_FN(format_set_num_format)(format, num_format);
}

char *
lxw_strerror(lxw_error error_num)
{
	return XLSX_FN(lxw_strerror)(error_num);
}
