/*
 * plan_json.h - the plan as JSON (format_version "1"): write and read.
 *
 * docs/plan.md is the schema. The writer is canonical: resources sorted by
 * address, keys in a fixed order, two-space indentation, a final newline,
 * so write -> read -> write is byte-identical. The reader is strict (it
 * feeds `apply`): unknown keys, missing keys, wrong types, an unknown
 * format_version, inconsistent statuses/actions and a summary that does not
 * match the resources are all refused with a message naming the JSON path.
 * Both are pure: no I/O.
 */
#ifndef DL_PLAN_PLAN_JSON_H
#define DL_PLAN_PLAN_JSON_H

#include <stddef.h>

#include "plan/plan.h"
#include "util/buf.h"
#include "util/err.h"

/* The largest plan text dl_plan_from_json accepts (64 MiB). */
#define DL_PLAN_JSON_MAX ((size_t)64 * 1024 * 1024)
/* How deep a value (before, after, preconditions) may nest. */
#define DL_PLAN_JSON_MAX_DEPTH 32

/*
 * Append p as JSON to out. Sensitive values are written as "(sensitive)".
 * p is checked first (dl_plan_check) so that nothing is written that the
 * reader would refuse: DL_EINVALID with its message. DL_ELIMIT when out's
 * cap is reached (out then holds a prefix; reset it).
 */
int dl_plan_to_json(const struct dl_plan *p, struct dl_buf *out,
                    struct dl_err *err) DL_WUR;

/*
 * Read a plan from text (len bytes, need not be NUL-terminated). On success
 * *out is a new plan (free with dl_plan_free), resources in the order of the
 * text. Errors (*out left NULL):
 *   DL_ELIMIT    text longer than DL_PLAN_JSON_MAX
 *   DL_EINVALID  not JSON ("plan JSON: line L column C: ..."), an
 *                unsupported format_version ("unsupported plan
 *                format_version 'x' (want '1')"), or a schema or
 *                consistency error ("resources[2].status: unknown value
 *                'x' (want in_sync, drifted, missing, error)").
 */
int dl_plan_from_json(struct dl_plan **out, const char *text, size_t len,
                      struct dl_err *err) DL_WUR;

#endif
