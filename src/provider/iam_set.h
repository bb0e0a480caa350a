/*
 * iam_set.h - IAM policy comparison with set semantics (pure, no I/O).
 *
 * A binding is identified by its role and its condition; two conditions
 * are the same when their titles and expressions are equal (the
 * description is ignored, as in docs/internals/provider-iam.md). Members
 * are a set: order does not matter and duplicates count once. Live
 * policies are the JSON Google returns ({"version", "etag", "bindings":
 * [{"role", "members", "condition"}]}); a policy may hold several bindings
 * with the same key (GCP merges them, a hand-written one may not): their
 * members are united.
 */
#ifndef DL_PROVIDER_IAM_SET_H
#define DL_PROVIDER_IAM_SET_H

#include <jansson.h>
#include <stddef.h>

#include "model/model.h"
#include "util/err.h"

/*
 * Does the live condition (a binding's "condition" object, or NULL when
 * it has none) match want (NULL: no condition)? Both absent, or both
 * present with equal title and expression. A live condition without a
 * title or expression compares as "".
 */
int dl_iam_condition_matches(const json_t *live,
                             const struct dl_iam_condition *want);

/*
 * The members of every binding of policy with role and condition cond
 * (NULL: unconditional), sorted byte-wise and de-duplicated, as a new JSON
 * array of strings (json_decref it; never NULL). *found is set to 1 when
 * at least one such binding exists, else 0. Non-string members and
 * malformed bindings are skipped.
 */
json_t *dl_iam_members_of(const json_t *policy, const char *role,
                          const struct dl_iam_condition *cond, int *found);

/* members[0..n) as a new sorted, de-duplicated JSON array (never NULL). */
json_t *dl_iam_members_from(char *const *members, size_t n);

/* arr (JSON array of strings; NULL is empty) plus member, as a new
 * sorted, de-duplicated array (never NULL). */
json_t *dl_iam_members_with(const json_t *arr, const char *member);

/* Is member in arr (a JSON array of strings; NULL is empty)? 1 or 0. */
int dl_iam_members_has(const json_t *arr, const char *member);

/*
 * The change path of a binding's members: "bindings[ROLE].members", or
 * "bindings[ROLE, condition \"TITLE\"].members" for a conditional one.
 * Returns a malloc'd string (free()).
 */
char *dl_iam_change_path(const char *role, const struct dl_iam_condition *cond);

/* What an authoritative binding would change (every array sorted). */
struct dl_iam_binding_diff {
    json_t *missing;   /* desired members not in the live binding */
    json_t *extra;     /* live members not desired and not protected:
                          the removals (deleted: principals included) */
    json_t *protected; /* live members not desired but protected: kept */
    json_t *after;     /* the binding's members after the change:
                          desired + protected extras */
};

/*
 * Compare live members (a JSON array; NULL when there is no binding) with
 * the desired members want[0..n) and the Project's protected members
 * prot[0..np). Fills out (caller-owned; release with
 * dl_iam_binding_diff_dispose). Cannot fail.
 */
void dl_iam_binding_diff_init(struct dl_iam_binding_diff *out,
                              const json_t *live, char *const *want, size_t n,
                              char *const *prot, size_t np);
void dl_iam_binding_diff_dispose(struct dl_iam_binding_diff *d);

/*
 * Edits of a Policy JSON object in place, for apply's read-modify-write on
 * a freshly read policy (every other binding and member is kept as read).
 */

/*
 * Add member to the (role, cond) binding of policy, creating the binding
 * (role, members, and the condition's title, description when set, and
 * expression) when none has the key. 1 when policy changed, 0 when the
 * member was already there.
 */
int dl_iam_policy_add_member(json_t *policy, const char *role,
                             const struct dl_iam_condition *cond,
                             const char *member);

/*
 * Remove member from every (role, cond) binding of policy; bindings left
 * without members are dropped. 1 when policy changed, else 0.
 */
int dl_iam_policy_remove_member(json_t *policy, const char *role,
                                const struct dl_iam_condition *cond,
                                const char *member);

/*
 * The version a setIamPolicy of policy must send: 3 when some binding has
 * a condition, else 1 (a v1 write of a conditional policy loses the
 * conditions).
 */
int dl_iam_policy_version_needed(const json_t *policy);

/*
 * Is policy (a getIamPolicy answer) shaped as Google sends it: an object
 * whose "bindings", when present, is an array of objects with a string
 * "role", "members" an array of strings (when present) and "condition" an
 * object (when present), and whose "etag" is a string and "version" an
 * integer when present? The edits above would otherwise drop what they
 * cannot read, and a setIamPolicy of the result could remove members.
 * 0, or DL_EINVALID with "malformed policy: bindings[2].members is not an
 * array of strings" (or the like) in err.
 */
int dl_iam_policy_check(const json_t *policy, struct dl_err *err) DL_WUR;

#endif
