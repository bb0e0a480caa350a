#include "apply/saved.h"

#include <stdlib.h>
#include <string.h>

#include "util/time.h"

/* Clock skew tolerated for a plan dated in the future. */
#define FUTURE_SLACK_NS (60 * DL_NS_PER_SEC)

int dl_apply_check_saved(const struct dl_plan *saved, int64_t now_ns,
                         int64_t max_age_ns, struct dl_err *err)
{
    char age[32], max[32];

    if (saved->source.dirty)
        return dl_err_set(err, DL_EINVALID,
                          "the plan was made from a work tree with "
                          "uncommitted changes: it cannot be reproduced at "
                          "commit '%s'; plan again from a clean tree",
                          saved->source.commit);
    if (!saved->source.commit[0])
        return dl_err_set(err, DL_EINVALID,
                          "the plan was not made from a git commit: it "
                          "cannot be applied at its own commit");
    if (dl_plan_has_errors(saved))
        return dl_err_set(err, DL_EINVALID,
                          "the plan has resources in error: plan again");
    if (saved->created_at > now_ns + FUTURE_SLACK_NS)
        return dl_err_set(err, DL_EINVALID,
                          "the plan is dated in the future: check the "
                          "clock");
    if (now_ns - saved->created_at > max_age_ns) {
        dl_duration_format(age, sizeof(age), now_ns - saved->created_at);
        dl_duration_format(max, sizeof(max), max_age_ns);
        return dl_err_set(err, DL_EINVALID,
                          "the plan is %s old, older than --plan-max-age %s: "
                          "plan again",
                          age, max);
    }
    return 0;
}

static int changes(const struct dl_plan_resource *r)
{
    return r->mode == DL_PLAN_MODE_ENFORCE &&
           (r->action == DL_PLAN_ACTION_CREATE ||
            r->action == DL_PLAN_ACTION_UPDATE ||
            r->action == DL_PLAN_ACTION_DELETE);
}

/* Compare one precondition key; on a difference describe it. */
static int compare_key(const struct dl_plan_resource *s,
                       const struct dl_plan_resource *f, const char *key,
                       struct dl_buf *why)
{
    json_t *a = json_object_get(s->preconditions, key);
    json_t *b = json_object_get(f->preconditions, key);
    char *as, *bs;

    if ((!a && !b) || (a && b && json_equal(a, b)))
        return 0;
    as = a ? json_dumps(a, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    bs = b ? json_dumps(b, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    (void)dl_buf_printf(why, "  %s: %s %s -> %s\n", s->address, key,
                        as ? as : "(absent)", bs ? bs : "(absent)");
    free(as);
    free(bs);
    return 1;
}

int dl_apply_compare_plans(const struct dl_plan *saved,
                           const struct dl_plan *fresh, struct dl_buf *why,
                           struct dl_err *err)
{
    size_t moved = 0;

    for (size_t i = 0; i < saved->nresources; i++) {
        const struct dl_plan_resource *s = saved->resources[i];
        const struct dl_plan_resource *f;
        int m = 0;

        if (!changes(s))
            continue;
        f = dl_plan_find(fresh, s->address);
        if (!f) {
            (void)dl_buf_printf(why, "  %s: no longer found\n", s->address);
            moved++;
            continue;
        }
        if (f->status == DL_PLAN_STATUS_ERROR) {
            (void)dl_buf_printf(why, "  %s: could not be observed again: %s\n",
                                s->address, f->error ? f->error : "error");
            moved++;
            continue;
        }
        m += compare_key(s, f, "etag", why);
        m += compare_key(s, f, "generation", why);
        if (!m && !s->hygiene && !changes(f)) {
            (void)dl_buf_printf(why, "  %s: now %s, action %s (was %s)\n",
                                s->address, dl_plan_status_name(f->status),
                                dl_plan_action_name(f->action),
                                dl_plan_action_name(s->action));
            m = 1;
        }
        if (m)
            moved++;
    }
    if (moved)
        return dl_err_set(err, DL_ECONFLICT,
                          "the live state moved since the plan was made: %zu "
                          "resource%s changed; nothing was applied, plan "
                          "again",
                          moved, moved == 1 ? "" : "s");
    return 0;
}
