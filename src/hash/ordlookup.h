/* Names of ordinal-only exports of the DLLs pefile's ordlookup knows (see ordlookup.c). */
#ifndef STRAIN_HASH_ORDLOOKUP_H
#define STRAIN_HASH_ORDLOOKUP_H

#include <stdint.h>

/* Non-zero when library (any case, with extension) is one the tables cover. */
int strain_ordlookup__known_library(const char *library);
/* The export name for ordinal of library, or NULL when not in the table. */
const char *strain_ordlookup__name(const char *library, uint32_t ordinal);

#endif
