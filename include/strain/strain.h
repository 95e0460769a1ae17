/*
 * strain.h: the whole public API of libstrain. Include this one header.
 */
#ifndef STRAIN_STRAIN_H
#define STRAIN_STRAIN_H

#include "common.h"
#include "sample.h"
#include "input.h"
#include "binary.h"
#include "hash.h"
#include "sig.h"
#include "store.h"

#endif
