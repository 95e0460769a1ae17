/* Placeholder until the pe parser lands: recognises nothing, so input is treated as raw. */
#include "format/binary_impl.h"

int strain_pe__parse(strain_binary *bin)
{
    (void)bin;
    return STRAIN_EFORMAT;
}
