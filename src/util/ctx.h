/* The context's layout, shared by util/ only through the accessors in common.h and here. */
#ifndef STRAIN_UTIL_CTX_H
#define STRAIN_UTIL_CTX_H

#include <strain/common.h>

#define STRAIN_ERRMSG_MAX 512

struct strain_ctx {
    strain_limits limits;
    char errmsg[STRAIN_ERRMSG_MAX];
};

#endif
