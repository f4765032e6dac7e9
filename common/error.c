/*
 * error.c: text for UCR error codes.
 *
 * ucr_strerror() is the English text, for logs, replies and JSON;
 * ucr_strerror_l() the same in the user's language, for what the command
 * line prints (common/i18n.h). The short names (EINVAL) are never
 * translated.
 */
#include <string.h>

#include "error.h"
#include "i18n.h"

static const struct {
	int code;
	const char *name;
	const char *text;
} errors[] = {
    {UCR_OK, "OK", N_("success")},
    {UCR_EINVAL, "EINVAL", N_("invalid argument")},
    {UCR_ENOMEM, "ENOMEM", N_("out of memory")},
    {UCR_EIO, "EIO", N_("input/output error")},
    {UCR_ENOTFOUND, "ENOTFOUND", N_("not found")},
    {UCR_EEXIST, "EEXIST", N_("already exists")},
    {UCR_EPERM, "EPERM", N_("not permitted")},
    {UCR_EBADSIG, "EBADSIG", N_("bad signature")},
    {UCR_ECHAIN, "ECHAIN", N_("broken hash chain")},
    {UCR_EGAP, "EGAP", N_("gap in log sequence")},
    {UCR_EORDER, "EORDER", N_("entries out of order")},
    {UCR_EFORK, "EFORK", N_("fork: entry differs from the one held")},
    {UCR_EDUP, "EDUP", N_("duplicate: already held")},
    {UCR_EPROTO, "EPROTO", N_("malformed message")},
    {UCR_EFULL, "EFULL",
	N_("store full: the map size is reached; nothing written (raise "
	   "map_size in the configuration and restart the daemon)")},
    {UCR_EOWNER, "EOWNER", N_("author may not write this record")},
    {UCR_EROSTER, "EROSTER", N_("key not in roster or revoked")},
    {UCR_ESCHEMA, "ESCHEMA", N_("record fails validation")},
    {UCR_ETOOBIG, "ETOOBIG", N_("too large")},
    {UCR_ECONFIG, "ECONFIG", N_("configuration error")},
    {UCR_ELOCKED, "ELOCKED", N_("store in use by another process")},
    {UCR_EEPOCH, "EEPOCH", N_("log epoch not accepted")},
    {UCR_EAGAIN, "EAGAIN", N_("try again later")},
    {UCR_ETIMEOUT, "ETIMEOUT", N_("timed out")},
    {UCR_ESTOPPED, "ESTOPPED", N_("log stopped after a fork")},
    {UCR_ECORRUPT, "ECORRUPT", N_("store is corrupt")},
    {UCR_EROLLBACK, "EROLLBACK",
	N_("went back: a log head or checkpoint is "
	   "older than one seen before")},
    {UCR_ETIME, "ETIME",
	N_("entry time out of bounds (not after the log's last entry, or "
	   "too far ahead of this clock)")},
    {UCR_EROLE, "EROLE", N_("the key's role may not do this")},
    {UCR_ETRANSIENT, "ETRANSIENT",
	N_("store temporarily unavailable; retried later")},
    {UCR_ECHECKPOINT, "ECHECKPOINT",
	N_("the stored checkpoint is unusable (too large or fails to verify); "
	   "checkpoints refused until an administrator looks")},
    {UCR_EBUDGET, "EBUDGET", N_("over budget (memory, holds or queue)")},
    {UCR_ECREDIT, "ECREDIT", N_("batch beyond the credit given")},
    {UCR_ENOLOG, "ENOLOG",
	N_("log not held: no roster key or held log "
	   "justifies it")},
    {UCR_ENOFORK, "ENOFORK",
	N_("not fork evidence: the batches do not show two different signed "
	   "entries at one seq")},
    {UCR_EDISKFULL, "EDISKFULL",
	N_("disk full: no space left on the store's file system; nothing "
	   "written (free space there; raising map_size does not help)")},
    {UCR_ECPVALID, "ECPVALID",
	N_("the stored checkpoint verifies under the configured hub key: "
	   "kept (--force clears it anyway)")},
};

const char *
ucr_strerror(int code)
{
	size_t i;

	if (code > 0)
		return strerror(code);
	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].code == code)
			return errors[i].text;
	return N_("unknown error");
}

const char *
ucr_strerror_l(int code)
{
	if (code > 0)
		return strerror(code); /* in the locale's language already */
	return _(ucr_strerror(code));
}

const char *
ucr_errname(int code)
{
	size_t i;

	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].code == code)
			return errors[i].name;
	return "E?";
}
