/*
 * dl.h: libcurl and libxlsxwriter, loaded when a command first needs them.
 *
 * Only "ucr kolada" speaks HTTP and only "ucr export --xlsx" writes a
 * workbook, yet every ucr process paid for both libraries at start: libcurl
 * brings some twenty-five more (TLS, Kerberos, LDAP, SSH, ...) whose
 * relocations and constructors ran before main, more than half of the time
 * "ucr status" took to start (docs/benchmarks.md). So ucr does not link
 * them: dl.c defines their
 * functions, with the libraries' own names and the prototypes of their
 * installed headers (the compiler checks one against the other), and each
 * forwards to the function dlopen and dlsym found. kolada.c and export.c
 * call curl_easy_setopt() and worksheet_write_string() as usual.
 *
 * The libraries are the Debian 12 runtime packages' sonames, libcurl.so.4
 * (libcurl4) and libxlsxwriter.so.4 (libxlsxwriter4); the environment
 * variables UCR_LIBCURL and UCR_LIBXLSXWRITER name another file (a path,
 * or a name the dynamic linker looks up), for a test or an odd install.
 * A library once loaded stays loaded until the process exits.
 * Single-threaded, as the CLI is.
 */
#ifndef UCR_DL_H
#define UCR_DL_H

/*
 * Load libcurl (dl_curl) or libxlsxwriter (dl_xlsxwriter) and every
 * function ucr calls in it, if not done yet. On failure prints one line,
 * "ucr: CMD: cannot load FILE (install the PACKAGE package): why", and
 * returns -1; 0 otherwise. A command calls it before it touches anything,
 * so that a missing library stops it cleanly; a library function called
 * without it loads the library then, or exits with status 1 after that
 * line if it cannot.
 */
int dl_curl(const char *cmd);
int dl_xlsxwriter(const char *cmd);

#endif
