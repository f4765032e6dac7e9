/*
 * error.h: UCR error codes.
 *
 * Every function in common/ returns 0 or one of these negative codes. They
 * live in their own range (below -30000, away from errno and LMDB codes) so a
 * code that reaches a log line or a wire Error frame is never ambiguous.
 */
#ifndef UCR_ERROR_H
#define UCR_ERROR_H

enum ucr_error {
	UCR_OK = 0,
	UCR_EINVAL = -30001,    /* bad argument or field value */
	UCR_ENOMEM = -30002,    /* out of memory */
	UCR_EIO = -30003,       /* file or system error (errno is set) */
	UCR_ENOTFOUND = -30004, /* unknown key, id or log */
	UCR_EEXIST = -30005,    /* key or id already held */
	UCR_EPERM = -30006,     /* file mode too open, or not allowed */
	UCR_EBADSIG = -30007,   /* signature does not verify */
	UCR_ECHAIN = -30008,    /* prev hash does not match: broken chain */
	UCR_EGAP = -30009,      /* seq skips: entries missing */
	UCR_EORDER = -30010,    /* seqs out of order within a batch */
	UCR_EFORK = -30011,     /* entry differs from one held at that seq */
	UCR_EDUP = -30012,      /* batch already held in full */
	UCR_EPROTO = -30013,    /* undecodable or malformed message */
	UCR_EFULL = -30014,     /* store map full; nothing written */
	UCR_EOWNER = -30015,    /* author may not write this record */
	UCR_EROSTER = -30016,   /* author unknown or revoked */
	UCR_ESCHEMA = -30017,   /* record fails schema validation */
	UCR_ETOOBIG = -30018,   /* message or record too large */
	UCR_ECONFIG = -30019,   /* configuration error */
	UCR_ELOCKED = -30020,   /* store in use by another daemon */
	UCR_EEPOCH = -30021,    /* unknown or unaccepted log epoch */
	UCR_EAGAIN = -30022,    /* try again later (no credit, quota) */
	UCR_ETIMEOUT = -30023,  /* no answer in time */
	UCR_ESTOPPED = -30024,  /* log stopped after a fork */
	UCR_ECORRUPT = -30025,  /* store content fails its own checks */
	UCR_EROLLBACK = -30026, /* a checkpoint or head went back in time */

	/* trust: time, roles, transient store errors, checkpoints */
	UCR_ETIME = -30027,       /* entry time out of bounds (skew, order) */
	UCR_EROLE = -30028,       /* the key's role may not do this */
	UCR_ETRANSIENT = -30029,  /* store busy or short of readers; retry */
	UCR_ECHECKPOINT = -30030, /* stored checkpoint unusable: refused */

	/* budgets: what one peer may make the hub hold or do */
	UCR_EBUDGET = -30031, /* over a per-peer or per-frame budget */
	UCR_ECREDIT = -30032, /* batch beyond the credit the hub gave */
	UCR_ENOLOG = -30033,  /* a log no roster key or held log justifies */
	UCR_ENOFORK = -30034, /* fork evidence that shows no fork */

	/* faults */
	UCR_EDISKFULL = -30035, /* no space left on the store's disk */

	/* checkpoints: what an administrator may clear */
	UCR_ECPVALID = -30052, /* the stored checkpoint is usable: kept */
};

/* Text for a UCR code, or strerror() for a positive errno value. Static. */
const char *ucr_strerror(int code);
/* The same in the user's language (gettext), for what people read on the
   command line; logs and JSON keep ucr_strerror(). */
const char *ucr_strerror_l(int code);

/* Stable short name ("EFORK") for logs and the wire; "E?" if unknown. */
const char *ucr_errname(int code);

#endif
