#include "provider/iam_set.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

static const char *str_or_empty(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s ? s : "";
}

int dl_iam_condition_matches(const json_t *live,
                             const struct dl_iam_condition *want)
{
    /* A JSON null or {} condition is no condition. */
    if (live && (!json_is_object(live) || json_object_size(live) == 0))
        live = NULL;
    if (!live || !want)
        return !live && !want;
    return strcmp(str_or_empty(live, "title"),
                  want->title ? want->title : "") == 0 &&
           strcmp(str_or_empty(live, "expression"),
                  want->expression ? want->expression : "") == 0;
}

static int cmp_json_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A new array of the strings in v[0..n), sorted and de-duplicated. */
static json_t *sorted_unique(const char **v, size_t n)
{
    json_t *out = json_array();

    if (n)
        qsort(v, n, sizeof(*v), cmp_json_str);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
            json_array_append_new(out, json_string(v[i]));
    return out;
}

json_t *dl_iam_members_of(const json_t *policy, const char *role,
                          const struct dl_iam_condition *cond, int *found)
{
    const json_t *bindings = json_object_get(policy, "bindings");
    const char **v = NULL;
    size_t n = 0, cap = 0, i, j;
    json_t *b, *m;
    json_t *out;

    *found = 0;
    json_array_foreach(bindings, i, b)
    {
        const char *r = json_string_value(json_object_get(b, "role"));

        if (!r || strcmp(r, role) != 0 ||
            !dl_iam_condition_matches(json_object_get(b, "condition"), cond))
            continue;
        *found = 1;
        json_array_foreach(json_object_get(b, "members"), j, m)
        {
            if (!json_is_string(m))
                continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 16;
                v = dl_reallocarray(v, cap, sizeof(*v));
            }
            v[n++] = json_string_value(m);
        }
    }
    out = sorted_unique(v, n);
    free(v);
    return out;
}

json_t *dl_iam_members_from(char *const *members, size_t n)
{
    const char **v = n ? dl_reallocarray(NULL, n, sizeof(*v)) : NULL;
    json_t *out;

    for (size_t i = 0; i < n; i++)
        v[i] = members[i];
    out = sorted_unique(v, n);
    free(v);
    return out;
}

json_t *dl_iam_members_with(const json_t *arr, const char *member)
{
    size_t n = json_array_size(arr), k = 0, i;
    const char **v = dl_reallocarray(NULL, n + 1, sizeof(*v));
    json_t *m, *out;

    json_array_foreach(arr, i, m) if (json_is_string(m)) v[k++] =
        json_string_value(m);
    v[k++] = member;
    out = sorted_unique(v, k);
    free(v);
    return out;
}

int dl_iam_members_has(const json_t *arr, const char *member)
{
    size_t i;
    json_t *m;

    json_array_foreach(arr, i, m)
    {
        const char *s = json_string_value(m);

        if (s && strcmp(s, member) == 0)
            return 1;
    }
    return 0;
}

char *dl_iam_change_path(const char *role, const struct dl_iam_condition *cond)
{
    if (!cond)
        return dl_asprintf("bindings[%s].members", role);
    return dl_asprintf("bindings[%s, condition \"%s\"].members", role,
                       cond->title ? cond->title : "");
}

static int in_list(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return 1;
    return 0;
}

void dl_iam_binding_diff_init(struct dl_iam_binding_diff *out,
                              const json_t *live, char *const *want, size_t n,
                              char *const *prot, size_t np)
{
    json_t *desired = dl_iam_members_from(want, n);
    const char **after = NULL;
    size_t nafter = 0, i;
    json_t *m;

    out->missing = json_array();
    out->extra = json_array();
    out->protected = json_array();
    after =
        dl_reallocarray(NULL, n + json_array_size(live) + 1, sizeof(*after));
    json_array_foreach(desired, i, m)
    {
        after[nafter++] = json_string_value(m);
        if (!dl_iam_members_has(live, json_string_value(m)))
            json_array_append(out->missing, m);
    }
    json_array_foreach(live, i, m)
    {
        const char *s = json_string_value(m);

        if (!s || dl_iam_members_has(desired, s))
            continue;
        if (in_list(prot, np, s)) {
            json_array_append(out->protected, m);
            after[nafter++] = s;
        } else {
            json_array_append(out->extra, m);
        }
    }
    /* Sorting happens on the copies' pointers, which stay valid while
     * desired and live do. */
    out->after = sorted_unique(after, nafter);
    free(after);
    /* missing/extra/protected follow their sources' sorted order; live
     * from dl_iam_members_of is sorted, sort anyway for foreign input. */
    {
        json_t *arrs[3] = {out->missing, out->extra, out->protected};

        for (size_t k = 0; k < 3; k++) {
            size_t na = json_array_size(arrs[k]);
            const char **v = dl_reallocarray(NULL, na + 1, sizeof(*v));

            for (size_t x = 0; x < na; x++)
                v[x] = json_string_value(json_array_get(arrs[k], x));
            json_t *sorted = sorted_unique(v, na);

            free(v);
            json_array_clear(arrs[k]);
            json_array_extend(arrs[k], sorted);
            json_decref(sorted);
        }
    }
    json_decref(desired);
}

void dl_iam_binding_diff_dispose(struct dl_iam_binding_diff *d)
{
    json_decref(d->missing);
    json_decref(d->extra);
    json_decref(d->protected);
    json_decref(d->after);
    memset(d, 0, sizeof(*d));
}

/* Is b's condition present (a non-empty object)? */
static int has_condition(const json_t *b)
{
    const json_t *c = json_object_get(b, "condition");

    return json_is_object(c) && json_object_size(c) > 0;
}

/* Is binding b keyed (role, cond)? */
static int binding_is(const json_t *b, const char *role,
                      const struct dl_iam_condition *cond)
{
    const char *r = json_string_value(json_object_get(b, "role"));

    return r && strcmp(r, role) == 0 &&
           dl_iam_condition_matches(json_object_get(b, "condition"), cond);
}

int dl_iam_policy_add_member(json_t *policy, const char *role,
                             const struct dl_iam_condition *cond,
                             const char *member)
{
    json_t *bindings = json_object_get(policy, "bindings");
    json_t *first = NULL, *b, *members, *c;
    size_t i;

    if (!json_is_array(bindings)) {
        bindings = json_array();
        json_object_set_new(policy, "bindings", bindings);
    }
    json_array_foreach(bindings, i, b)
    {
        if (!json_is_object(b) || !binding_is(b, role, cond))
            continue;
        if (dl_iam_members_has(json_object_get(b, "members"), member))
            return 0;
        if (!first)
            first = b;
    }
    if (!first) {
        first = json_pack("{s:s,s:[]}", "role", role, "members");
        if (cond) {
            c = json_pack("{s:s}", "title", cond->title ? cond->title : "");
            if (cond->description)
                json_object_set_new(c, "description",
                                    json_string(cond->description));
            json_object_set_new(
                c, "expression",
                json_string(cond->expression ? cond->expression : ""));
            json_object_set_new(first, "condition", c);
        }
        json_array_append_new(bindings, first);
    }
    members = json_object_get(first, "members");
    if (!json_is_array(members)) {
        members = json_array();
        json_object_set_new(first, "members", members);
    }
    json_array_append_new(members, json_string(member));
    return 1;
}

int dl_iam_policy_remove_member(json_t *policy, const char *role,
                                const struct dl_iam_condition *cond,
                                const char *member)
{
    json_t *bindings = json_object_get(policy, "bindings");
    int changed = 0;
    size_t i = 0;

    while (i < json_array_size(bindings)) {
        json_t *b = json_array_get(bindings, i);
        json_t *members = json_object_get(b, "members");
        size_t j = 0;

        if (!json_is_object(b) || !binding_is(b, role, cond)) {
            i++;
            continue;
        }
        while (j < json_array_size(members)) {
            const char *s = json_string_value(json_array_get(members, j));

            if (s && strcmp(s, member) == 0) {
                json_array_remove(members, j);
                changed = 1;
            } else {
                j++;
            }
        }
        if (changed && json_array_size(members) == 0)
            json_array_remove(bindings, i);
        else
            i++;
    }
    return changed;
}

int dl_iam_policy_version_needed(const json_t *policy)
{
    size_t i;
    json_t *b;

    json_array_foreach(json_object_get(policy, "bindings"), i,
                       b) if (has_condition(b)) return 3;
    return 1;
}

static int all_strings(const json_t *arr)
{
    for (size_t i = 0; i < json_array_size(arr); i++)
        if (!json_is_string(json_array_get(arr, i)))
            return 0;
    return json_is_array(arr);
}

int dl_iam_policy_check(const json_t *policy, struct dl_err *err)
{
    const json_t *bindings = json_object_get(policy, "bindings");
    const json_t *v;

    if (!json_is_object(policy))
        return dl_err_set(err, DL_EINVALID,
                          "malformed policy: not a JSON object");
    if ((v = json_object_get(policy, "etag")) && !json_is_string(v))
        return dl_err_set(err, DL_EINVALID,
                          "malformed policy: etag is not a string");
    if ((v = json_object_get(policy, "version")) && !json_is_integer(v))
        return dl_err_set(err, DL_EINVALID,
                          "malformed policy: version is not an integer");
    if (bindings && !json_is_array(bindings))
        return dl_err_set(err, DL_EINVALID,
                          "malformed policy: bindings is not an array");
    for (size_t i = 0; i < json_array_size(bindings); i++) {
        const json_t *b = json_array_get(bindings, i);
        const json_t *m = json_object_get(b, "members");
        const json_t *c = json_object_get(b, "condition");

        if (!json_is_object(b))
            return dl_err_set(err, DL_EINVALID,
                              "malformed policy: bindings[%zu] is not an "
                              "object",
                              i);
        if (!json_is_string(json_object_get(b, "role")))
            return dl_err_set(err, DL_EINVALID,
                              "malformed policy: bindings[%zu].role is not a "
                              "string",
                              i);
        if (m && !all_strings(m))
            return dl_err_set(err, DL_EINVALID,
                              "malformed policy: bindings[%zu].members is not "
                              "an array of strings",
                              i);
        if (c && !json_is_object(c))
            return dl_err_set(err, DL_EINVALID,
                              "malformed policy: bindings[%zu].condition is "
                              "not an object",
                              i);
    }
    return 0;
}
