/* error.c: text for UCR error codes. */
#include <string.h>

#include "error.h"

static const struct {
	int code;
	const char *name;
	const char *text;
} errors[] = {
    {UCR_OK, "OK", "success"},
    {UCR_EINVAL, "EINVAL", "invalid argument"},
    {UCR_ENOMEM, "ENOMEM", "out of memory"},
    {UCR_EIO, "EIO", "input/output error"},
    {UCR_ENOTFOUND, "ENOTFOUND", "not found"},
    {UCR_EEXIST, "EEXIST", "already exists"},
    {UCR_EPERM, "EPERM", "not permitted"},
    {UCR_EBADSIG, "EBADSIG", "bad signature"},
    {UCR_ECHAIN, "ECHAIN", "broken hash chain"},
    {UCR_EGAP, "EGAP", "gap in log sequence"},
    {UCR_EORDER, "EORDER", "entries out of order"},
    {UCR_EFORK, "EFORK", "fork: entry differs from the one held"},
    {UCR_EDUP, "EDUP", "duplicate: already held"},
    {UCR_EPROTO, "EPROTO", "malformed message"},
    {UCR_EFULL, "EFULL",
	"store full: the map size is reached; nothing written (raise "
	"map_size in the configuration and restart the daemon)"},
    {UCR_EOWNER, "EOWNER", "author may not write this record"},
    {UCR_EROSTER, "EROSTER", "key not in roster or revoked"},
    {UCR_ESCHEMA, "ESCHEMA", "record fails validation"},
    {UCR_ETOOBIG, "ETOOBIG", "too large"},
    {UCR_ECONFIG, "ECONFIG", "configuration error"},
    {UCR_ELOCKED, "ELOCKED", "store in use by another process"},
    {UCR_EEPOCH, "EEPOCH", "log epoch not accepted"},
    {UCR_EAGAIN, "EAGAIN", "try again later"},
    {UCR_ETIMEOUT, "ETIMEOUT", "timed out"},
    {UCR_ESTOPPED, "ESTOPPED", "log stopped after a fork"},
    {UCR_ECORRUPT, "ECORRUPT", "store is corrupt"},
    {UCR_EROLLBACK, "EROLLBACK",
	"went back: a log head or checkpoint is "
	"older than one seen before"},
    {UCR_ETIME, "ETIME",
	"entry time out of bounds (not after the log's last entry, or "
	"too far ahead of this clock)"},
    {UCR_EROLE, "EROLE", "the key's role may not do this"},
    {UCR_ETRANSIENT, "ETRANSIENT",
	"store temporarily unavailable; retried later"},
    {UCR_ECHECKPOINT, "ECHECKPOINT",
	"the stored checkpoint is unusable (too large or fails to verify); "
	"checkpoints refused until an administrator looks"},
    {UCR_EBUDGET, "EBUDGET", "over budget (memory, holds or queue)"},
    {UCR_ECREDIT, "ECREDIT", "batch beyond the credit given"},
    {UCR_ENOLOG, "ENOLOG",
	"log not held: no roster key or held log "
	"justifies it"},
    {UCR_ENOFORK, "ENOFORK",
	"not fork evidence: the batches do not show two different signed "
	"entries at one seq"},
    {UCR_EDISKFULL, "EDISKFULL",
	"disk full: no space left on the store's file system; nothing "
	"written (free space there; raising map_size does not help)"},
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
	return "unknown error";
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
