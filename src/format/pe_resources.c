/* placeholder: filled in a following commit */
#include "format/pe_internal.h"

int strain_pe__parse_resources(pe_image *pe)
{
    (void)pe;
    return STRAIN_OK;
}
