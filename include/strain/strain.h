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
#include "code.h"
#include "store.h"
#include "engine.h"
#include "certs.h"
#include "hunt.h"
#include "cluster.h"
#include "yara_gen.h"
#include "strings.h"
#include "report.h"

#endif
