/*
 * dl.h: libcurl, libxlsxwriter and libzmq, loaded when a command first
 * needs them.
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
 * libzmq likewise (with its C++ runtime, Kerberos, OpenPGM and NORM it
 * was most of what was left of ucr's start): only a reader's queries to
 * the hub need it (reader.c, CURVE); the daemons' control socket ucr
 * speaks to itself (zmtp.c). Its functions are not defined under their
 * own names, as the tests link libzmq too: reader.c calls them through
 * the table, ZMQ(zmq_send)(...), each slot typed from <zmq.h>.
 *
 * The libraries are the Debian 12 runtime packages' sonames, libcurl.so.4
 * (libcurl4), libxlsxwriter.so.4 (libxlsxwriter4) and libzmq.so.5
 * (libzmq5); the environment variables UCR_LIBCURL, UCR_LIBXLSXWRITER and
 * UCR_LIBZMQ name another file (a path, or a name the dynamic linker looks
 * up), for a test or an odd install.
 * A library once loaded stays loaded until the process exits.
 * Single-threaded, as the CLI is.
 */
#ifndef UCR_DL_H
#define UCR_DL_H

#include <zmq.h>

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
int dl_zmq(const char *cmd);

/* The functions reader.c calls in libzmq; call dl_zmq first. */
#define DL_ZMQ_FUNCS(X)   \
	X(zmq_ctx_new)    \
	X(zmq_ctx_term)   \
	X(zmq_socket)     \
	X(zmq_close)      \
	X(zmq_setsockopt) \
	X(zmq_connect)    \
	X(zmq_send)       \
	X(zmq_poll)       \
	X(zmq_msg_init)   \
	X(zmq_msg_recv)   \
	X(zmq_msg_data)   \
	X(zmq_msg_size)   \
	X(zmq_msg_close)  \
	X(zmq_strerror)
#define DL_ZMQ_SLOT(f) __typeof__(f) *f;
struct dl_zmq_fns {
	DL_ZMQ_FUNCS(DL_ZMQ_SLOT)
};
#undef DL_ZMQ_SLOT
extern struct dl_zmq_fns dl_zmq_fn;
#define ZMQ(f) (dl_zmq_fn.f)

#endif
