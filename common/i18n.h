/*
 * i18n.h: messages in the user's language, with GNU gettext.
 *
 * Text meant for people is marked _("...") where it is printed, or N_()
 * where it sits in a table and is translated when printed. The catalogues
 * are po/<lang>.po, compiled to <localedir>/<lang>/LC_MESSAGES/ucr.mo; the
 * language follows LC_ALL, LC_MESSAGES or LANG (LANGUAGE too, as gettext
 * has it). JSON keys, enum names and log lines are never translated.
 */
#ifndef UCR_I18N_H
#define UCR_I18N_H

#include <libintl.h>

#define UCR_TEXTDOMAIN "ucr"

#define _(s) gettext(s)
#define N_(s) (s)

/*
 * Set the locale from the environment and bind the "ucr" catalogue. The
 * catalogue folder is $UCR_LOCALEDIR if set, else share/locale beside the
 * program's bin folder if it exists (an install under any prefix, or the
 * build tree), else the folder compiled in. Only LC_CTYPE and LC_MESSAGES
 * follow the environment: numbers stay in the C form (LC_NUMERIC "C":
 * "9.8", never "9,8"), as JSON, CSV and the stores want, and so do the
 * other categories, which ucr does not use.
 */
void ucr_i18n_init(void);

#endif
