/*
 * iam_apply.h - apply for IAMPolicyMember and IAMPolicyBinding: one
 * read-modify-write per IAM policy (a project's, or a Cloud Run
 * service's), shared by both kinds (docs/apply.md, "IAM").
 *
 * The two apply hooks run in the iam phase before any request is sent.
 * dl_iam_apply_hook groups the resources it is given by their plan's
 * preconditions.resource into one pending read-modify-write per policy,
 * kept in dl_apply_state(ap, DL_KIND_IAM_POLICY_MEMBER) so the second hook
 * joins the first hook's; the first resource of a policy queues its
 * getIamPolicy. The callbacks then: check the etag against the saved plan
 * (first read only), recompute the edits from the desired model on the
 * fresh policy, setIamPolicy with the fresh etag (409 ABORTED: re-read and
 * redo, exponential backoff, 60 s budget), re-read to confirm, and record
 * every resource.
 *
 * The edit functions below are pure (no I/O) and unit-tested.
 */
#ifndef DL_PROVIDER_IAM_APPLY_H
#define DL_PROVIDER_IAM_APPLY_H

#include <jansson.h>
#include <stddef.h>

#include "model/model.h"
#include "plan/plan.h"
#include "util/err.h"

struct dl_apply;

/* The time budget of one policy's read-modify-write, retries included. */
#define DL_IAM_APPLY_BUDGET_NS (60LL * 1000000000LL)

/* One resource's edit of a policy. */
struct dl_iam_edit {
    /* The declared IAMPolicyMember or IAMPolicyBinding (borrowed). */
    const struct dl_resource *want;
    /* Bindings: the members the plan removes (a JSON array of strings,
       borrowed; NULL: none). Only these may be removed. */
    const json_t *removable;
    /* Filled by dl_iam_apply_edits: members added and removed. */
    size_t added, removed;
};

/*
 * The members a binding's plan entry removes: its change's before minus
 * after (a new sorted JSON array; empty when the plan has no change).
 * Never NULL; json_decref it.
 */
json_t *dl_iam_plan_removals(const struct dl_plan_resource *r);

/*
 * Apply edits e[0..n) to policy (a fresh Policy JSON) in place: for each
 * IAMPolicyMember add its member to its (role, condition) binding; for
 * each IAMPolicyBinding add its missing members and remove the live extras
 * that are also in its removable set - never a Project protectedMembers
 * entry, never a member the plan does not remove. Every other binding and
 * member is kept as read. Fills each edit's added/removed. Returns 1 when
 * the policy changed, else 0.
 */
int dl_iam_apply_edits(json_t *policy, struct dl_iam_edit *e, size_t n);

/*
 * Does policy hold every member the edit wants (IAMPolicyMember: its
 * member; IAMPolicyBinding: its declared members)? 1 yes; 0 no, with
 * *missing set to the first absent member (borrowed from the model).
 */
int dl_iam_edit_satisfied(const json_t *policy, const struct dl_iam_edit *e,
                          const char **missing);

/*
 * The body of setIamPolicy for policy: {"policy": {"bindings", "etag",
 * "version": dl_iam_policy_version_needed}, "updateMask": "bindings,etag"}
 * (a new reference; the etag is left out when policy has none).
 */
json_t *dl_iam_set_body(const json_t *policy);

/*
 * The apply hook of IAMPolicyMember and IAMPolicyBinding (provider.h):
 * joins rs[0..n) to the pending read-modify-writes of their policies,
 * queuing a getIamPolicy for each new policy. A resource whose policy or
 * declared spec cannot be found is recorded FAILED. Returns 0 (failures
 * are recorded per resource).
 */
int dl_iam_apply_hook(struct dl_apply *ap, struct dl_plan_resource *const *rs,
                      size_t n, struct dl_err *err);

#endif
