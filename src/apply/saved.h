/*
 * saved.h - guards of `driftless apply --plan FILE`: is a saved plan still
 * the truth? Pure: no I/O.
 */
#ifndef DL_APPLY_SAVED_H
#define DL_APPLY_SAVED_H

#include <stdint.h>

#include "plan/plan.h"
#include "util/buf.h"
#include "util/err.h"

/* Default --plan-max-age: 24 h. */
#define DL_APPLY_DEFAULT_PLAN_MAX_AGE_NS (INT64_C(24) * 3600 * 1000000000)

/*
 * Can saved be applied at all? Refused (DL_EINVALID, message saying why)
 * when it was made from a dirty work tree (it cannot be reproduced), has
 * no commit (not made from git), has resources in error, or is older than
 * max_age_ns at now_ns (or dated in the future by more than a minute).
 */
int dl_apply_check_saved(const struct dl_plan *saved, int64_t now_ns,
                         int64_t max_age_ns, struct dl_err *err) DL_WUR;

/*
 * Compare each resource that saved changes (enforce, create/update/delete)
 * with the fresh plan made at the same commit: the "etag" and "generation"
 * keys of its preconditions must be equal (both absent counts as equal),
 * and the resource must still be there, observed without error, and
 * still need a change. Hygiene resources are re-evaluated at apply time and
 * only need to still be there. Returns 0 when nothing moved; else
 * DL_ECONFLICT with err's message counting the moved resources and one line
 * per resource in why ("  p/CloudRunService/api: etag \"a\" -> \"b\"").
 */
int dl_apply_compare_plans(const struct dl_plan *saved,
                           const struct dl_plan *fresh, struct dl_buf *why,
                           struct dl_err *err) DL_WUR;

#endif
