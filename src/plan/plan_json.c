#include "plan/plan_json.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/json_str.h"
#include "util/time.h"

/* ---- writing ---------------------------------------------------------- */

static json_t *chk(json_t *v)
{
    if (!v)
        dl_fatal("out of memory building plan JSON");
    return v;
}

/*
 * A JSON string of s. Invalid UTF-8 (which jansson refuses) is written with
 * each bad byte replaced by U+FFFD, so a stray byte from an API cannot stop
 * the plan from being written.
 */
static json_t *str(const char *s)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    size_t n = strlen(s);
    json_t *v;

    if (dl_utf8_valid(s, n))
        return chk(json_string(s));
    for (size_t i = 0; i < n;) {
        size_t k = 1;

        while (k <= 4 && i + k <= n && !dl_utf8_valid(s + i, k))
            k++;
        if (k <= 4 && i + k <= n) {
            (void)dl_buf_put(&b, s + i, k);
            i += k;
        } else {
            (void)dl_buf_puts(&b, "\xEF\xBF\xBD");
            i++;
        }
    }
    v = chk(json_string(dl_buf_cstr(&b)));
    dl_buf_dispose(&b);
    return v;
}

static void set(json_t *obj, const char *key, json_t *v)
{
    if (json_object_set_new(obj, key, chk(v)) < 0)
        dl_fatal("cannot set plan JSON key '%s'", key);
}

static void push(json_t *arr, json_t *v)
{
    if (json_array_append_new(arr, chk(v)) < 0)
        dl_fatal("cannot append to plan JSON array");
}

static json_t *hygiene_json(const struct dl_plan_hygiene *h)
{
    json_t *o = chk(json_object()), *v = chk(json_object());
    json_t *s = chk(json_array());

    set(o, "unit", str(h->unit));
    set(o, "total", json_integer(h->total));
    set(v, "total", json_integer(h->violating));
    if (h->id_format)
        set(v, "id_format", json_integer(h->id_format));
    if (h->stale)
        set(v, "stale", json_integer(h->stale));
    if (h->over_limit)
        set(v, "over_limit", json_integer(h->over_limit));
    if (h->empty)
        set(v, "empty", json_integer(h->empty));
    set(o, "violating", v);
    set(o, "planned_deletes", json_integer(h->planned_deletes));
    set(o, "cap", json_integer(h->cap));
    set(o, "cap_is_default", json_boolean(h->cap_is_default));
    set(o, "still_over_limit_after", json_integer(h->still_over_limit_after));
    for (size_t i = 0; i < h->nsamples; i++)
        push(s, str(h->samples[i]));
    set(o, "samples", s);
    return o;
}

static json_t *masked_or(json_t *v, int sensitive)
{
    return sensitive ? json_string(DL_PLAN_SENSITIVE) : json_incref(v);
}

static json_t *resource_json(const struct dl_plan_resource *r)
{
    json_t *o = chk(json_object()), *changes = chk(json_array());

    set(o, "address", str(r->address));
    set(o, "kind", str(r->kind));
    set(o, "name", str(r->name));
    set(o, "project", str(r->project));
    if (r->defined_file[0]) {
        char *at = dl_asprintf("%s:%d", r->defined_file, r->defined_line);

        set(o, "defined_at", str(at));
        free(at);
    } else {
        set(o, "defined_at", str(""));
    }
    set(o, "defined_in_commit", str(r->defined_in_commit));
    set(o, "mode", str(dl_plan_mode_name(r->mode)));
    set(o, "status", str(dl_plan_status_name(r->status)));
    set(o, "action", str(dl_plan_action_name(r->action)));
    if (r->orphan)
        set(o, "orphan", json_true());
    for (size_t i = 0; i < r->nchanges; i++) {
        const struct dl_plan_change *c = &r->changes[i];
        json_t *co = chk(json_object());

        set(co, "path", str(c->path));
        if (c->before)
            set(co, "before", masked_or(c->before, c->sensitive));
        if (c->after)
            set(co, "after", masked_or(c->after, c->sensitive));
        if (c->sensitive)
            set(co, "sensitive", json_true());
        push(changes, co);
    }
    set(o, "changes", changes);
    set(o, "preconditions", json_incref(r->preconditions));
    if (r->hygiene)
        set(o, "hygiene", hygiene_json(r->hygiene));
    if (r->nnotes) {
        json_t *n = chk(json_array());

        for (size_t i = 0; i < r->nnotes; i++)
            push(n, str(r->notes[i]));
        set(o, "notes", n);
    }
    if (r->error)
        set(o, "error", str(r->error));
    return o;
}

#define JSON_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER)
/* Where the root's (empty) resources array is in its text. */
#define RESOURCES_AT "\n  \"resources\": []"

/* Append text to out, every newline followed by pad. */
static int put_indented(struct dl_buf *out, const char *text, const char *pad)
{
    const char *nl;

    while ((nl = strchr(text, '\n')) != NULL) {
        if (dl_buf_put(out, text, (size_t)(nl + 1 - text)) < 0 ||
            dl_buf_puts(out, pad) < 0)
            return -1;
        text = nl + 1;
    }
    return dl_buf_puts(out, text);
}

/*
 * The plan is written a resource at a time (one resource's JSON tree and
 * text at a time, not the whole plan's: at org scale those were most of
 * the plan's peak memory). The bytes are what json_dumps of the whole
 * tree gives: the root is dumped with an empty resources array, and each
 * resource, dumped on its own, goes in its place indented two levels
 * (JSON text has no raw newline inside a string).
 */
int dl_plan_to_json(const struct dl_plan *p, struct dl_buf *out,
                    struct dl_err *err)
{
    const struct dl_plan_resource **sorted = NULL;
    json_t *root = NULL, *src, *sum;
    struct dl_plan_summary s;
    char created[40];
    char *text = NULL, *one = NULL, *at;
    int rc, put = 0;

    rc = dl_plan_check(p, err);
    if (rc < 0)
        goto done;
    root = chk(json_object());
    set(root, "format_version", str(DL_PLAN_FORMAT_VERSION));
    src = chk(json_object());
    set(src, "url", str(p->source.url));
    set(src, "ref", str(p->source.ref));
    set(src, "commit", str(p->source.commit));
    set(src, "path", str(p->source.path));
    set(src, "dirty", json_boolean(p->source.dirty));
    set(root, "source", src);
    dl_time_format_rfc3339(created, sizeof(created), p->created_at);
    set(root, "created_at", str(created));
    set(root, "resources", json_array());
    dl_plan_summarize(p, &s);
    sum = chk(json_object());
    set(sum, "resources", json_integer(s.resources));
    set(sum, "in_sync", json_integer(s.in_sync));
    set(sum, "create", json_integer(s.create));
    set(sum, "update", json_integer(s.update));
    set(sum, "delete", json_integer(s.delete));
    set(sum, "report", json_integer(s.report));
    set(sum, "error", json_integer(s.error));
    set(root, "summary", sum);
    text = json_dumps(root, JSON_FLAGS);
    if (!text)
        goto not_utf8;
    at = strstr(text, RESOURCES_AT);
    if (!at)
        dl_fatal("plan JSON has no resources array");
    at += strlen(RESOURCES_AT) - 2; /* at "[]" */
    put = dl_buf_put(out, text, (size_t)(at - text)) < 0;
    sorted = dl_plan_sorted(p);
    for (size_t i = 0; !put && i < p->nresources; i++) {
        json_t *o = resource_json(sorted[i]);

        one = json_dumps(o, JSON_FLAGS);
        json_decref(o);
        if (!one)
            goto not_utf8;
        put = dl_buf_puts(out, i == 0 ? "[\n    " : ",\n    ") < 0 ||
              put_indented(out, one, "    ") < 0;
        free(one);
        one = NULL;
    }
    if (!put && p->nresources)
        put = dl_buf_puts(out, "\n  ]") < 0 || dl_buf_puts(out, at + 2) < 0;
    else if (!put)
        put = dl_buf_puts(out, at) < 0;
    if (put || dl_buf_putc(out, '\n') < 0) {
        rc = dl_err_set(err, DL_ELIMIT,
                        "plan JSON is larger than the output limit of %zu "
                        "bytes",
                        out->max);
        goto done;
    }
    goto done;
not_utf8:
    /* Only invalid UTF-8 in a string gets here (jansson refuses it). */
    rc = dl_err_set(err, DL_EINVALID,
                    "plan holds a string that is not valid UTF-8");
done:
    free(text);
    json_decref(root);
    free(sorted);
    return rc;
}

/* ---- reading ---------------------------------------------------------- */

#define PATH_MAX_LEN 160

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

/* Format a JSON path into out (PATH_MAX_LEN bytes; longer ones are cut). */
static void pathf(char *out, const char *fmt, ...) DL_PRINTF(2, 3);
static void pathf(char *out, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(out, PATH_MAX_LEN, fmt, ap);
    va_end(ap);
}

/* "path.key", or "key" at the top. */
static void join(char *out, const char *path, const char *key)
{
    pathf(out, "%s%s%s", path, path[0] ? "." : "", key);
}

static int want_type(const json_t *v, json_type t, const char *tname,
                     const char *path, struct dl_err *err)
{
    int ok =
        json_typeof(v) == t || (t == JSON_TRUE && json_typeof(v) == JSON_FALSE);

    if (ok)
        return 0;
    return dl_err_set(err, DL_EINVALID, "%s: expected %s, got %s", path, tname,
                      type_name(v));
}

/* Refuse keys of obj not listed in allowed (NULL-terminated). */
static int only_keys(json_t *obj, const char *path, const char *const *allowed,
                     struct dl_err *err)
{
    const char *key;
    json_t *v;

    json_object_foreach(obj, key, v)
    {
        size_t i;

        for (i = 0; allowed[i]; i++) {
            if (strcmp(allowed[i], key) == 0)
                break;
        }
        if (!allowed[i])
            return dl_err_set(err, DL_EINVALID, "%s%sunknown key '%s'", path,
                              path[0] ? ": " : "", key);
    }
    return 0;
}

/* Member key of obj with type t; *out NULL when absent and optional. */
static int member(json_t **out, json_t *obj, const char *path, const char *key,
                  json_type t, const char *tname, int required,
                  struct dl_err *err)
{
    json_t *v = json_object_get(obj, key);
    char sub[PATH_MAX_LEN];

    *out = NULL;
    if (!v) {
        if (!required)
            return 0;
        return dl_err_set(err, DL_EINVALID, "%s%smissing key '%s'", path,
                          path[0] ? ": " : "", key);
    }
    join(sub, path, key);
    if (want_type(v, t, tname, sub, err) < 0)
        return DL_EINVALID;
    *out = v;
    return 0;
}

static int get_str(const char **out, json_t *obj, const char *path,
                   const char *key, struct dl_err *err)
{
    json_t *v;

    if (member(&v, obj, path, key, JSON_STRING, "string", 1, err) < 0)
        return DL_EINVALID;
    *out = json_string_value(v);
    return 0;
}

static int get_int(int64_t *out, json_t *obj, const char *path, const char *key,
                   int required, struct dl_err *err)
{
    json_t *v;
    char sub[PATH_MAX_LEN];

    *out = 0;
    if (member(&v, obj, path, key, JSON_INTEGER, "integer", required, err) < 0)
        return DL_EINVALID;
    if (!v)
        return 0;
    if (json_integer_value(v) < 0) {
        join(sub, path, key);
        return dl_err_set(err, DL_EINVALID,
                          "%s: %" JSON_INTEGER_FORMAT " is negative", sub,
                          json_integer_value(v));
    }
    *out = (int64_t)json_integer_value(v);
    return 0;
}

static int get_bool(int *out, json_t *obj, const char *path, const char *key,
                    int required, struct dl_err *err)
{
    json_t *v;

    *out = 0;
    if (member(&v, obj, path, key, JSON_TRUE, "boolean", required, err) < 0)
        return DL_EINVALID;
    *out = v && json_is_true(v);
    return 0;
}

/* Refuse values nested deeper than DL_PLAN_JSON_MAX_DEPTH. */
static int depth_ok(json_t *v, int depth)
{
    const char *key;
    json_t *c;
    size_t i;

    if (depth > DL_PLAN_JSON_MAX_DEPTH)
        return 0;
    if (json_is_object(v)) {
        json_object_foreach(v, key, c)
        {
            if (!depth_ok(c, depth + 1))
                return 0;
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, c)
        {
            if (!depth_ok(c, depth + 1))
                return 0;
        }
    }
    return 1;
}

static int value_ok(json_t *v, const char *path, struct dl_err *err)
{
    if (depth_ok(v, 1))
        return 0;
    return dl_err_set(err, DL_EINVALID, "%s: nested deeper than %d levels",
                      path, DL_PLAN_JSON_MAX_DEPTH);
}

static int read_enum(int *out, json_t *obj, const char *path, const char *key,
                     int (*parse)(int *, const char *), const char *want,
                     struct dl_err *err)
{
    const char *s;
    char sub[PATH_MAX_LEN];

    if (get_str(&s, obj, path, key, err) < 0)
        return DL_EINVALID;
    if (parse(out, s) == 0)
        return 0;
    join(sub, path, key);
    return dl_err_set(err, DL_EINVALID, "%s: unknown value '%s' (want %s)", sub,
                      s, want);
}

static int parse_mode(int *out, const char *s)
{
    enum dl_plan_mode m;
    int rc = dl_plan_mode_parse(&m, s);

    *out = (int)m;
    return rc;
}

static int parse_status(int *out, const char *s)
{
    enum dl_plan_status v;
    int rc = dl_plan_status_parse(&v, s);

    *out = (int)v;
    return rc;
}

static int parse_action(int *out, const char *s)
{
    enum dl_plan_action v;
    int rc = dl_plan_action_parse(&v, s);

    *out = (int)v;
    return rc;
}

/* "file:line" (line >= 1), or "" for none. */
static int read_defined_at(struct dl_plan_resource *r, const char *s,
                           const char *path, struct dl_err *err)
{
    const char *colon = strrchr(s, ':');
    long line = 0;
    char *file;

    if (!s[0]) {
        dl_plan_resource_set_defined_at(r, "", 0, r->defined_in_commit);
        return 0;
    }
    if (colon && colon > s && colon[1]) {
        const char *p = colon + 1;

        for (; *p >= '0' && *p <= '9' && line <= INT_MAX; p++)
            line = line * 10 + (*p - '0');
        if (*p || line < 1 || line > INT_MAX)
            line = 0;
    }
    if (line < 1)
        return dl_err_set(err, DL_EINVALID,
                          "%s.defined_at: '%s' is not file:line", path, s);
    file = dl_strndup(s, (size_t)(colon - s));
    dl_plan_resource_set_defined_at(r, file, (int)line, r->defined_in_commit);
    free(file);
    return 0;
}

static int read_change(struct dl_plan_resource *r, json_t *c, const char *path,
                       struct dl_err *err)
{
    static const char *const keys[] = {"path", "before", "after", "sensitive",
                                       NULL};
    json_t *before, *after;
    const char *p;
    char sub[PATH_MAX_LEN];
    int sensitive;

    if (want_type(c, JSON_OBJECT, "object", path, err) < 0 ||
        only_keys(c, path, keys, err) < 0 ||
        get_str(&p, c, path, "path", err) < 0 ||
        get_bool(&sensitive, c, path, "sensitive", 0, err) < 0)
        return DL_EINVALID;
    before = json_object_get(c, "before");
    after = json_object_get(c, "after");
    join(sub, path, "before");
    if (before && value_ok(before, sub, err) < 0)
        return DL_EINVALID;
    join(sub, path, "after");
    if (after && value_ok(after, sub, err) < 0)
        return DL_EINVALID;
    dl_plan_resource_add_change(r, p, json_incref(before), json_incref(after),
                                sensitive);
    return 0;
}

static int read_hygiene(struct dl_plan_resource *r, json_t *h, const char *path,
                        struct dl_err *err)
{
    static const char *const keys[] = {"unit",
                                       "total",
                                       "violating",
                                       "planned_deletes",
                                       "cap",
                                       "cap_is_default",
                                       "still_over_limit_after",
                                       "samples",
                                       NULL};
    static const char *const vkeys[] = {"total",      "id_format", "stale",
                                        "over_limit", "empty",     NULL};
    struct dl_plan_hygiene *hy = dl_plan_resource_hygiene(r);
    json_t *v, *samples, *s;
    char vpath[PATH_MAX_LEN], sub[PATH_MAX_LEN];
    const char *unit;
    size_t i;

    if (only_keys(h, path, keys, err) < 0 ||
        get_str(&unit, h, path, "unit", err) < 0 ||
        get_int(&hy->total, h, path, "total", 1, err) < 0 ||
        member(&v, h, path, "violating", JSON_OBJECT, "object", 1, err) < 0)
        return DL_EINVALID;
    dl_plan_hygiene_set_unit(hy, unit);
    join(vpath, path, "violating");
    if (only_keys(v, vpath, vkeys, err) < 0 ||
        get_int(&hy->violating, v, vpath, "total", 1, err) < 0 ||
        get_int(&hy->id_format, v, vpath, "id_format", 0, err) < 0 ||
        get_int(&hy->stale, v, vpath, "stale", 0, err) < 0 ||
        get_int(&hy->over_limit, v, vpath, "over_limit", 0, err) < 0 ||
        get_int(&hy->empty, v, vpath, "empty", 0, err) < 0 ||
        get_int(&hy->planned_deletes, h, path, "planned_deletes", 1, err) < 0 ||
        get_int(&hy->cap, h, path, "cap", 1, err) < 0 ||
        get_bool(&hy->cap_is_default, h, path, "cap_is_default", 1, err) < 0 ||
        get_int(&hy->still_over_limit_after, h, path, "still_over_limit_after",
                1, err) < 0 ||
        member(&samples, h, path, "samples", JSON_ARRAY, "array", 1, err) < 0)
        return DL_EINVALID;
    join(sub, path, "samples");
    if (json_array_size(samples) > DL_PLAN_MAX_SAMPLES)
        return dl_err_set(err, DL_EINVALID, "%s: %zu samples, more than %d",
                          sub, json_array_size(samples), DL_PLAN_MAX_SAMPLES);
    json_array_foreach(samples, i, s)
    {
        char el[PATH_MAX_LEN];

        pathf(el, "%s[%zu]", sub, i);
        if (want_type(s, JSON_STRING, "string", el, err) < 0)
            return DL_EINVALID;
        dl_plan_hygiene_add_sample(hy, json_string_value(s));
    }
    return 0;
}

static int read_resource(struct dl_plan *p, json_t *o, const char *path,
                         struct dl_err *err)
{
    static const char *const keys[] = {
        "address", "kind",       "name",
        "project", "defined_at", "defined_in_commit",
        "mode",    "status",     "action",
        "orphan",  "changes",    "preconditions",
        "hygiene", "notes",      "error",
        NULL};
    const char *address, *kind, *name, *project, *defined_at, *commit;
    json_t *changes, *pre, *hyg, *notes, *error, *v;
    struct dl_plan_resource *r;
    char sub[PATH_MAX_LEN];
    int mode, status, action;
    size_t i;

    if (want_type(o, JSON_OBJECT, "object", path, err) < 0 ||
        only_keys(o, path, keys, err) < 0 ||
        get_str(&address, o, path, "address", err) < 0 ||
        get_str(&kind, o, path, "kind", err) < 0 ||
        get_str(&name, o, path, "name", err) < 0 ||
        get_str(&project, o, path, "project", err) < 0 ||
        get_str(&defined_at, o, path, "defined_at", err) < 0 ||
        get_str(&commit, o, path, "defined_in_commit", err) < 0 ||
        read_enum(&mode, o, path, "mode", parse_mode, "enforce, report", err) <
            0 ||
        read_enum(&status, o, path, "status", parse_status,
                  "in_sync, drifted, missing, error", err) < 0 ||
        read_enum(&action, o, path, "action", parse_action,
                  "none, create, update, delete, report", err) < 0 ||
        member(&changes, o, path, "changes", JSON_ARRAY, "array", 1, err) < 0 ||
        member(&pre, o, path, "preconditions", JSON_OBJECT, "object", 1, err) <
            0 ||
        member(&hyg, o, path, "hygiene", JSON_OBJECT, "object", 0, err) < 0 ||
        member(&notes, o, path, "notes", JSON_ARRAY, "array", 0, err) < 0 ||
        member(&error, o, path, "error", JSON_STRING, "string", 0, err) < 0)
        return DL_EINVALID;
    r = dl_plan_add_resource(p, project, kind, name);
    if (strcmp(r->address, address) != 0) {
        return dl_err_set(err, DL_EINVALID,
                          "%s.address: '%s' does not match project/kind/name "
                          "'%s'",
                          path, address, r->address);
    }
    if (get_bool(&r->orphan, o, path, "orphan", 0, err) < 0)
        return DL_EINVALID;
    dl_plan_resource_set_defined_at(r, "", 0, commit);
    if (read_defined_at(r, defined_at, path, err) < 0)
        return DL_EINVALID;
    r->mode = (enum dl_plan_mode)mode;
    r->status = (enum dl_plan_status)status;
    r->action = (enum dl_plan_action)action;
    json_array_foreach(changes, i, v)
    {
        pathf(sub, "%s.changes[%zu]", path, i);
        if (read_change(r, v, sub, err) < 0)
            return DL_EINVALID;
    }
    join(sub, path, "preconditions");
    if (value_ok(pre, sub, err) < 0)
        return DL_EINVALID;
    json_decref(r->preconditions);
    r->preconditions = json_incref(pre);
    if (hyg) {
        join(sub, path, "hygiene");
        if (read_hygiene(r, hyg, sub, err) < 0)
            return DL_EINVALID;
    }
    json_array_foreach(notes, i, v)
    {
        pathf(sub, "%s.notes[%zu]", path, i);
        if (want_type(v, JSON_STRING, "string", sub, err) < 0)
            return DL_EINVALID;
        dl_plan_resource_add_note(r, "%s", json_string_value(v));
    }
    if (error)
        r->error = dl_strdup(json_string_value(error));
    return 0;
}

static int read_summary(const struct dl_plan *p, json_t *o, struct dl_err *err)
{
    static const char *const keys[] = {"resources", "in_sync", "create",
                                       "update",    "delete",  "report",
                                       "error",     NULL};
    struct dl_plan_summary s;
    const int64_t *want[] = {&s.resources, &s.in_sync, &s.create, &s.update,
                             &s.delete,    &s.report,  &s.error};

    if (only_keys(o, "summary", keys, err) < 0)
        return DL_EINVALID;
    dl_plan_summarize(p, &s);
    for (size_t i = 0; keys[i]; i++) {
        int64_t got;

        if (get_int(&got, o, "summary", keys[i], 1, err) < 0)
            return DL_EINVALID;
        if (got != *want[i])
            return dl_err_set(err, DL_EINVALID,
                              "summary.%s: %lld does not match the resources "
                              "(%lld)",
                              keys[i], (long long)got, (long long)*want[i]);
    }
    return 0;
}

int dl_plan_from_json(struct dl_plan **out, const char *text, size_t len,
                      struct dl_err *err)
{
    static const char *const keys[] = {
        "format_version", "source", "created_at", "resources", "summary", NULL};
    static const char *const skeys[] = {"url",  "ref",   "commit",
                                        "path", "dirty", NULL};
    struct dl_plan *p = NULL;
    json_t *root = NULL, *v, *src, *res, *sum;
    const char *s, *url, *ref, *commit, *path;
    json_error_t je;
    int rc = DL_EINVALID, dirty;
    size_t i;

    *out = NULL;
    if (len > DL_PLAN_JSON_MAX) {
        rc = dl_err_set(err, DL_ELIMIT,
                        "plan JSON is %zu bytes, over the limit of %zu", len,
                        DL_PLAN_JSON_MAX);
        goto done;
    }
    /* jansson caps nesting itself (JSON_PARSER_MAX_DEPTH, 2048). */
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        dl_err_set(err, DL_EINVALID, "plan JSON: line %d column %d: %s",
                   je.line, je.column, je.text);
        goto done;
    }
    if (!json_is_object(root)) {
        dl_err_set(err, DL_EINVALID, "plan JSON: expected an object, got %s",
                   type_name(root));
        goto done;
    }
    if (get_str(&s, root, "", "format_version", err) < 0)
        goto done;
    if (strcmp(s, DL_PLAN_FORMAT_VERSION) != 0) {
        dl_err_set(err, DL_EINVALID,
                   "unsupported plan format_version '%s' (want '%s')", s,
                   DL_PLAN_FORMAT_VERSION);
        goto done;
    }
    if (only_keys(root, "", keys, err) < 0 ||
        member(&src, root, "", "source", JSON_OBJECT, "object", 1, err) < 0 ||
        only_keys(src, "source", skeys, err) < 0 ||
        get_str(&url, src, "source", "url", err) < 0 ||
        get_str(&ref, src, "source", "ref", err) < 0 ||
        get_str(&commit, src, "source", "commit", err) < 0 ||
        get_str(&path, src, "source", "path", err) < 0 ||
        get_bool(&dirty, src, "source", "dirty", 1, err) < 0 ||
        get_str(&s, root, "", "created_at", err) < 0)
        goto done;
    p = dl_plan_new();
    dl_plan_set_source(p, url, ref, commit, path, dirty);
    if (dl_time_parse_rfc3339(&p->created_at, s, err) < 0) {
        dl_err_prefix(err, "created_at");
        goto done;
    }
    if (member(&res, root, "", "resources", JSON_ARRAY, "array", 1, err) < 0 ||
        member(&sum, root, "", "summary", JSON_OBJECT, "object", 1, err) < 0)
        goto done;
    json_array_foreach(res, i, v)
    {
        char sub[PATH_MAX_LEN];

        pathf(sub, "resources[%zu]", i);
        if (read_resource(p, v, sub, err) < 0)
            goto done;
    }
    if (dl_plan_check(p, err) < 0 || read_summary(p, sum, err) < 0)
        goto done;
    *out = p;
    p = NULL;
    rc = 0;
done:
    /* Quoted values come from the input: keep the message one line. */
    for (char *c = err ? err->msg : NULL; rc < 0 && c && *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    }
    dl_plan_free(p);
    json_decref(root);
    return rc;
}
