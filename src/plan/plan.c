#include "plan/plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"

static const char *const mode_names[] = {
    [DL_PLAN_MODE_REPORT] = "report",
    [DL_PLAN_MODE_ENFORCE] = "enforce",
};

static const char *const status_names[] = {
    [DL_PLAN_STATUS_IN_SYNC] = "in_sync",
    [DL_PLAN_STATUS_DRIFTED] = "drifted",
    [DL_PLAN_STATUS_MISSING] = "missing",
    [DL_PLAN_STATUS_ERROR] = "error",
};

static const char *const action_names[] = {
    [DL_PLAN_ACTION_NONE] = "none",     [DL_PLAN_ACTION_CREATE] = "create",
    [DL_PLAN_ACTION_UPDATE] = "update", [DL_PLAN_ACTION_DELETE] = "delete",
    [DL_PLAN_ACTION_REPORT] = "report",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *name_of(const char *const *names, size_t n, int v)
{
    return v >= 0 && (size_t)v < n ? names[v] : "?";
}

static int parse_name(int *out, const char *const *names, size_t n,
                      const char *s)
{
    for (size_t i = 0; s && i < n; i++) {
        if (strcmp(names[i], s) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    return DL_EINVALID;
}

const char *dl_plan_mode_name(enum dl_plan_mode m)
{
    return name_of(mode_names, NELEM(mode_names), (int)m);
}

const char *dl_plan_status_name(enum dl_plan_status s)
{
    return name_of(status_names, NELEM(status_names), (int)s);
}

const char *dl_plan_action_name(enum dl_plan_action a)
{
    return name_of(action_names, NELEM(action_names), (int)a);
}

int dl_plan_mode_parse(enum dl_plan_mode *out, const char *s)
{
    int v;

    if (parse_name(&v, mode_names, NELEM(mode_names), s) < 0)
        return DL_EINVALID;
    *out = (enum dl_plan_mode)v;
    return 0;
}

int dl_plan_status_parse(enum dl_plan_status *out, const char *s)
{
    int v;

    if (parse_name(&v, status_names, NELEM(status_names), s) < 0)
        return DL_EINVALID;
    *out = (enum dl_plan_status)v;
    return 0;
}

int dl_plan_action_parse(enum dl_plan_action *out, const char *s)
{
    int v;

    if (parse_name(&v, action_names, NELEM(action_names), s) < 0)
        return DL_EINVALID;
    *out = (enum dl_plan_action)v;
    return 0;
}

static char *dup0(const char *s)
{
    return dl_strdup(s ? s : "");
}

struct dl_plan *dl_plan_new(void)
{
    struct dl_plan *p = dl_calloc(1, sizeof(*p));

    dl_plan_set_source(p, NULL, NULL, NULL, NULL, 0);
    return p;
}

static void hygiene_free(struct dl_plan_hygiene *h)
{
    if (!h)
        return;
    free(h->unit);
    for (size_t i = 0; i < h->nsamples; i++)
        free(h->samples[i]);
    free(h);
}

static void resource_free(struct dl_plan_resource *r)
{
    if (!r)
        return;
    free(r->address);
    free(r->project);
    free(r->kind);
    free(r->name);
    free(r->defined_file);
    free(r->defined_in_commit);
    for (size_t i = 0; i < r->nchanges; i++) {
        free(r->changes[i].path);
        json_decref(r->changes[i].before);
        json_decref(r->changes[i].after);
    }
    free(r->changes);
    json_decref(r->preconditions);
    free(r->error);
    hygiene_free(r->hygiene);
    for (size_t i = 0; i < r->nnotes; i++)
        free(r->notes[i]);
    free(r->notes);
    free(r);
}

void dl_plan_free(struct dl_plan *p)
{
    if (!p)
        return;
    free(p->source.url);
    free(p->source.ref);
    free(p->source.commit);
    free(p->source.path);
    for (size_t i = 0; i < p->nresources; i++)
        resource_free(p->resources[i]);
    free(p->resources);
    free(p);
}

void dl_plan_set_source(struct dl_plan *p, const char *url, const char *ref,
                        const char *commit, const char *path, int dirty)
{
    char *u = dup0(url), *r = dup0(ref), *c = dup0(commit), *pa = dup0(path);

    free(p->source.url);
    free(p->source.ref);
    free(p->source.commit);
    free(p->source.path);
    p->source.url = u;
    p->source.ref = r;
    p->source.commit = c;
    p->source.path = pa;
    p->source.dirty = dirty ? 1 : 0;
}

struct dl_plan_resource *dl_plan_add_resource(struct dl_plan *p,
                                              const char *project,
                                              const char *kind,
                                              const char *name)
{
    struct dl_plan_resource *r = dl_calloc(1, sizeof(*r));

    r->project = dup0(project);
    r->kind = dup0(kind);
    r->name = dup0(name);
    r->address = dl_asprintf("%s/%s/%s", r->project, r->kind, r->name);
    r->defined_file = dl_strdup("");
    r->defined_in_commit = dl_strdup("");
    r->mode = DL_PLAN_MODE_REPORT;
    r->status = DL_PLAN_STATUS_IN_SYNC;
    r->action = DL_PLAN_ACTION_NONE;
    r->preconditions = json_object();
    if (!r->preconditions)
        dl_fatal("out of memory");
    if (p->nresources == p->resources_cap) {
        p->resources_cap = p->resources_cap ? p->resources_cap * 2 : 16;
        p->resources = dl_reallocarray(p->resources, p->resources_cap,
                                       sizeof(*p->resources));
    }
    p->resources[p->nresources++] = r;
    return r;
}

void dl_plan_resource_set_defined_at(struct dl_plan_resource *r,
                                     const char *file, int line,
                                     const char *commit)
{
    char *f = dup0(file), *c = dup0(commit);

    free(r->defined_file);
    free(r->defined_in_commit);
    r->defined_file = f;
    r->defined_line = line;
    r->defined_in_commit = c;
}

static json_t *masked(json_t *v)
{
    json_t *m;

    if (!v)
        return NULL;
    json_decref(v);
    m = json_string(DL_PLAN_SENSITIVE);
    if (!m)
        dl_fatal("out of memory");
    return m;
}

void dl_plan_resource_add_change(struct dl_plan_resource *r, const char *path,
                                 json_t *before, json_t *after, int sensitive)
{
    struct dl_plan_change *c;

    if (r->nchanges == r->changes_cap) {
        r->changes_cap = r->changes_cap ? r->changes_cap * 2 : 8;
        r->changes =
            dl_reallocarray(r->changes, r->changes_cap, sizeof(*r->changes));
    }
    c = &r->changes[r->nchanges++];
    c->path = dup0(path);
    c->sensitive = sensitive ? 1 : 0;
    c->before = sensitive ? masked(before) : before;
    c->after = sensitive ? masked(after) : after;
}

void dl_plan_resource_add_note(struct dl_plan_resource *r, const char *fmt, ...)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    va_list ap;

    va_start(ap, fmt);
    (void)dl_buf_vprintf(&b, fmt, ap); /* no cap: cannot fail */
    va_end(ap);
    if (r->nnotes == r->notes_cap) {
        r->notes_cap = r->notes_cap ? r->notes_cap * 2 : 4;
        r->notes = dl_reallocarray(r->notes, r->notes_cap, sizeof(*r->notes));
    }
    r->notes[r->nnotes++] = dl_buf_take(&b);
}

void dl_plan_resource_set_error(struct dl_plan_resource *r, const char *fmt,
                                ...)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    va_list ap;

    va_start(ap, fmt);
    (void)dl_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    free(r->error);
    r->error = dl_buf_take(&b);
    r->status = DL_PLAN_STATUS_ERROR;
    r->action = DL_PLAN_ACTION_NONE;
}

struct dl_plan_hygiene *dl_plan_resource_hygiene(struct dl_plan_resource *r)
{
    if (!r->hygiene) {
        r->hygiene = dl_calloc(1, sizeof(*r->hygiene));
        r->hygiene->unit = dl_strdup("objects");
        r->hygiene->cap = DL_PLAN_DEFAULT_MAX_DELETES;
        r->hygiene->cap_is_default = 1;
    }
    return r->hygiene;
}

void dl_plan_hygiene_set_unit(struct dl_plan_hygiene *h, const char *unit)
{
    char *u = dup0(unit);

    free(h->unit);
    h->unit = u;
}

int dl_plan_hygiene_add_sample(struct dl_plan_hygiene *h, const char *id)
{
    if (h->nsamples >= DL_PLAN_MAX_SAMPLES)
        return 0;
    h->samples[h->nsamples++] = dup0(id);
    return 1;
}

void dl_plan_summarize(const struct dl_plan *p, struct dl_plan_summary *out)
{
    memset(out, 0, sizeof(*out));
    out->resources = (int64_t)p->nresources;
    for (size_t i = 0; i < p->nresources; i++) {
        const struct dl_plan_resource *r = p->resources[i];

        if (r->status == DL_PLAN_STATUS_IN_SYNC)
            out->in_sync++;
        if (r->status == DL_PLAN_STATUS_ERROR)
            out->error++;
        switch (r->action) {
        case DL_PLAN_ACTION_CREATE:
            out->create++;
            break;
        case DL_PLAN_ACTION_UPDATE:
            out->update++;
            break;
        case DL_PLAN_ACTION_DELETE:
            out->delete += r->hygiene ? r->hygiene->planned_deletes : 1;
            break;
        case DL_PLAN_ACTION_REPORT:
            out->report++;
            break;
        case DL_PLAN_ACTION_NONE:
            break;
        }
    }
}

int dl_plan_has_changes(const struct dl_plan *p)
{
    for (size_t i = 0; i < p->nresources; i++) {
        enum dl_plan_action a = p->resources[i]->action;

        if (a == DL_PLAN_ACTION_CREATE || a == DL_PLAN_ACTION_UPDATE ||
            a == DL_PLAN_ACTION_DELETE)
            return 1;
    }
    return 0;
}

int dl_plan_has_errors(const struct dl_plan *p)
{
    for (size_t i = 0; i < p->nresources; i++) {
        if (p->resources[i]->status == DL_PLAN_STATUS_ERROR)
            return 1;
    }
    return 0;
}

static int cmp_resource(const void *a, const void *b)
{
    const struct dl_plan_resource *const *ra = a, *const *rb = b;

    return strcmp((*ra)->address, (*rb)->address);
}

void dl_plan_sort(struct dl_plan *p)
{
    if (p->nresources > 1)
        qsort(p->resources, p->nresources, sizeof(*p->resources), cmp_resource);
}

const struct dl_plan_resource **dl_plan_sorted(const struct dl_plan *p)
{
    const struct dl_plan_resource **v;

    if (!p->nresources)
        return NULL;
    v = dl_reallocarray(NULL, p->nresources, sizeof(*v));
    for (size_t i = 0; i < p->nresources; i++)
        v[i] = p->resources[i];
    qsort(v, p->nresources, sizeof(*v), cmp_resource);
    return v;
}

/* Is action a allowed for status s? */
static int action_fits(enum dl_plan_status s, enum dl_plan_action a)
{
    switch (s) {
    case DL_PLAN_STATUS_IN_SYNC:
    case DL_PLAN_STATUS_ERROR:
        return a == DL_PLAN_ACTION_NONE;
    case DL_PLAN_STATUS_MISSING:
        return a == DL_PLAN_ACTION_CREATE || a == DL_PLAN_ACTION_REPORT;
    case DL_PLAN_STATUS_DRIFTED:
        return a == DL_PLAN_ACTION_UPDATE || a == DL_PLAN_ACTION_DELETE ||
               a == DL_PLAN_ACTION_REPORT;
    }
    return 0;
}

static int check_hygiene(const struct dl_plan_resource *r, char *msg,
                         size_t size)
{
    const struct dl_plan_hygiene *h = r->hygiene;
    const struct {
        const char *name;
        int64_t v;
    } reasons[] = {
        {"id_format", h->id_format},
        {"stale", h->stale},
        {"over_limit", h->over_limit},
        {"empty", h->empty},
    };

    if (h->total < 0 || h->violating < 0 || h->planned_deletes < 0 ||
        h->still_over_limit_after < 0) {
        snprintf(msg, size, "hygiene counts must not be negative");
        return -1;
    }
    if (!h->unit || !h->unit[0]) {
        snprintf(msg, size, "hygiene unit is empty");
        return -1;
    }
    if (h->violating > h->total) {
        snprintf(msg, size, "hygiene violating %lld is more than total %lld",
                 (long long)h->violating, (long long)h->total);
        return -1;
    }
    for (size_t i = 0; i < NELEM(reasons); i++) {
        if (reasons[i].v < 0 || reasons[i].v > h->violating) {
            snprintf(msg, size,
                     "hygiene violating.%s %lld is not within 0..%lld",
                     reasons[i].name, (long long)reasons[i].v,
                     (long long)h->violating);
            return -1;
        }
    }
    if (h->cap < 1) {
        snprintf(msg, size, "hygiene cap %lld is less than 1",
                 (long long)h->cap);
        return -1;
    }
    if (h->planned_deletes > h->violating || h->planned_deletes > h->cap) {
        snprintf(msg, size,
                 "hygiene planned_deletes %lld is more than violating %lld "
                 "or cap %lld",
                 (long long)h->planned_deletes, (long long)h->violating,
                 (long long)h->cap);
        return -1;
    }
    if ((h->planned_deletes > 0) != (r->action == DL_PLAN_ACTION_DELETE)) {
        snprintf(msg, size,
                 "hygiene planned_deletes %lld does not fit action '%s'",
                 (long long)h->planned_deletes, dl_plan_action_name(r->action));
        return -1;
    }
    return 0;
}

static int check_resource(const struct dl_plan_resource *r, char *msg,
                          size_t size)
{
    size_t plen = strlen(r->project), klen = strlen(r->kind);

    if (!plen || !klen || !r->name[0] || strchr(r->project, '/') ||
        strchr(r->kind, '/')) {
        snprintf(msg, size,
                 "project, kind and name must be non-empty, project and "
                 "kind without '/'");
        return -1;
    }
    if (strncmp(r->address, r->project, plen) != 0 || r->address[plen] != '/' ||
        strncmp(r->address + plen + 1, r->kind, klen) != 0 ||
        r->address[plen + 1 + klen] != '/' ||
        strcmp(r->address + plen + klen + 2, r->name) != 0) {
        snprintf(msg, size, "address does not match '%s/%s/%s'", r->project,
                 r->kind, r->name);
        return -1;
    }
    if (!action_fits(r->status, r->action)) {
        snprintf(msg, size, "status '%s' does not allow action '%s'",
                 dl_plan_status_name(r->status),
                 dl_plan_action_name(r->action));
        return -1;
    }
    if (r->mode == DL_PLAN_MODE_REPORT && r->action != DL_PLAN_ACTION_NONE &&
        r->action != DL_PLAN_ACTION_REPORT) {
        snprintf(msg, size, "mode 'report' does not allow action '%s'",
                 dl_plan_action_name(r->action));
        return -1;
    }
    if ((r->status == DL_PLAN_STATUS_ERROR) != (r->error && r->error[0])) {
        snprintf(msg, size, "%s",
                 r->status == DL_PLAN_STATUS_ERROR
                     ? "status 'error' needs an error message"
                     : "an error message needs status 'error'");
        return -1;
    }
    if (r->orphan && r->status != DL_PLAN_STATUS_DRIFTED) {
        snprintf(msg, size, "an orphan must have status 'drifted'");
        return -1;
    }
    if (r->status == DL_PLAN_STATUS_IN_SYNC && r->nchanges) {
        snprintf(msg, size, "status 'in_sync' must have no changes");
        return -1;
    }
    if (r->defined_line < 0 || (r->defined_file[0] && r->defined_line < 1)) {
        snprintf(msg, size, "defined_at line %d is not positive",
                 r->defined_line);
        return -1;
    }
    if (!r->preconditions || !json_is_object(r->preconditions)) {
        snprintf(msg, size, "preconditions must be an object");
        return -1;
    }
    if (r->hygiene)
        return check_hygiene(r, msg, size);
    return 0;
}

int dl_plan_check(const struct dl_plan *p, struct dl_err *err)
{
    const struct dl_plan_resource **v = NULL;
    char msg[DL_ERR_MSG_MAX - 64];
    int rc = 0;

    for (size_t i = 0; i < p->nresources; i++) {
        const struct dl_plan_resource *r = p->resources[i];

        if (check_resource(r, msg, sizeof(msg)) < 0) {
            rc = dl_err_set(err, DL_EINVALID, "resources[%zu] (%s): %s", i,
                            r->address, msg);
            goto done;
        }
    }
    v = dl_plan_sorted(p);
    for (size_t i = 1; i < p->nresources; i++) {
        if (strcmp(v[i - 1]->address, v[i]->address) == 0) {
            rc = dl_err_set(err, DL_EINVALID, "duplicate resource address '%s'",
                            v[i]->address);
            goto done;
        }
    }
done:
    /* Addresses may hold anything: keep the message one line. */
    for (char *c = err ? err->msg : NULL; rc < 0 && c && *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    }
    free(v);
    return rc;
}

const struct dl_plan_resource *dl_plan_find(const struct dl_plan *p,
                                            const char *address)
{
    for (size_t i = 0; i < p->nresources; i++) {
        if (strcmp(p->resources[i]->address, address) == 0)
            return p->resources[i];
    }
    return NULL;
}
