// SPDX-License-Identifier: GPL-2.0
/*
 * The engine's trace events (trace.h) are instantiated here, once.
 */
#include "internal.h"

#define CREATE_TRACE_POINTS
#include "trace.h"
