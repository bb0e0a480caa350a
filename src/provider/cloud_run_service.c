/*
 * cloud_run_service.c - the CloudRunService provider.
 *
 * observe: per (project, region) of the selected services (and, without
 * --only, each Project's default region, where orphans may be), ONE
 * paginated services list and ONE paginated revisions list
 * (services/-/revisions), never a GET per service. Everything listed stays
 * in pass->state as a struct dl_cloud_run_state (cloud_run.h).
 * diff: per declared service, the declared fields (cloud_run_diff.c), the
 * provenance of the serving revision(s) (commit and Dockerfile
 * annotations, requireCommits through git ancestry), a failed latest
 * revision, and the preconditions apply needs; then the orphans.
 * docs/internals/provider-cloud-run.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider/cloud_run.h"
#include "provider/cloud_run_apply.h"
#include "provider/provider.h"
#include "util/alloc.h"
#include "util/log.h"

#define KIND DL_KIND_CLOUD_RUN_SERVICE
#define PAGE_SIZE "1000"

struct dl_cloud_run_location *
dl_cloud_run_state_find(const struct dl_cloud_run_state *st,
                        const char *project, const char *region)
{
    for (size_t i = 0; st && i < st->nlocs; i++)
        if (strcmp(st->locs[i]->project, project) == 0 &&
            strcmp(st->locs[i]->region, region) == 0)
            return st->locs[i];
    return NULL;
}

/* ---- observe ------------------------------------------------------------ */

/* A listed item without a name cannot be matched to a declared resource;
 * skipping it would make that resource look missing (and planned for
 * creation), so it fails the whole list: rc and err are set, 1 stops it. */
static int nameless(int *rc, struct dl_err *err, const char *what)
{
    *rc = dl_err_set(err, DL_EINVALID,
                     "malformed answer: a listed %s has no string \"name\"",
                     what);
    return 1;
}

/* Set in dst (sharing the values) the members of src named in keys. */
static void keep(json_t *dst, json_t *src, const char *const *keys)
{
    for (; *keys; keys++) {
        json_t *v = json_object_get(src, *keys);

        if (v)
            json_object_set(dst, *keys, v);
    }
}

/* A new object with src's members named in keys (sharing the values), or
 * src itself (a new reference) when src is not an object. */
static json_t *kept(json_t *src, const char *const *keys)
{
    json_t *out;

    if (!json_is_object(src))
        return json_incref(src);
    out = json_object();
    keep(out, src, keys);
    return out;
}

/* Set dst[key] to v (a new reference) unless v is NULL. */
static void set_kept(json_t *dst, const char *key, json_t *v)
{
    if (v)
        json_object_set_new(dst, key, v);
}

/* What the plan reads of a listed service (dl_cloud_run_state.compact);
 * a member that is not what Cloud Run sends is kept as it is. A new
 * reference. */
static json_t *compact_service(json_t *svc)
{
    static const char *const top[] = {"name",
                                      "labels",
                                      "traffic",
                                      "trafficStatuses",
                                      "terminalCondition",
                                      "reconciling",
                                      "generation",
                                      "etag",
                                      "latestCreatedRevision",
                                      "latestReadyRevision",
                                      NULL};
    static const char *const tmpl_keys[] = {"serviceAccount", "scaling",
                                            "maxInstanceRequestConcurrency",
                                            "timeout", NULL};
    static const char *const ann_keys[] = {DL_CLOUD_RUN_ANN_COMMIT,
                                           DL_CLOUD_RUN_ANN_DOCKERFILE, NULL};
    static const char *const c0_keys[] = {"image", "env", NULL};
    static const char *const res_keys[] = {"limits", NULL};
    json_t *out = json_object(), *t = json_object_get(svc, "template");
    json_t *cs = json_object_get(t, "containers"), *c0 = json_array_get(cs, 0);
    json_t *nt, *ncs, *nc;

    keep(out, svc, top);
    if (!json_is_object(t) || (cs && !json_is_array(cs)) ||
        (c0 && !json_is_object(c0))) {
        if (t)
            json_object_set(out, "template", t);
        return out;
    }
    nt = json_object();
    keep(nt, t, tmpl_keys);
    if (json_object_get(t, "annotations"))
        set_kept(nt, "annotations",
                 kept(json_object_get(t, "annotations"), ann_keys));
    if (cs) {
        ncs = json_array();
        if (c0) {
            nc = json_object();
            keep(nc, c0, c0_keys);
            if (json_object_get(c0, "resources"))
                set_kept(nc, "resources",
                         kept(json_object_get(c0, "resources"), res_keys));
            json_array_append_new(ncs, nc);
        }
        json_object_set_new(nt, "containers", ncs);
    }
    json_object_set_new(out, "template", nt);
    return out;
}

/* What the plan reads of a listed revision: its driftless annotations and
 * its failed conditions (json_null(), allocating nothing, when it has
 * neither). A new reference. */
static json_t *compact_revision(json_t *rev)
{
    static const char *const ann_keys[] = {DL_CLOUD_RUN_ANN_COMMIT,
                                           DL_CLOUD_RUN_ANN_DOCKERFILE, NULL};
    json_t *ann = json_object_get(rev, "annotations");
    json_t *conds = json_object_get(rev, "conditions"), *c, *failed = NULL;
    json_t *out = NULL;
    size_t i;

    json_array_foreach(conds, i, c)
    {
        const char *state = json_string_value(json_object_get(c, "state"));

        if (state && strcmp(state, "CONDITION_FAILED") == 0) {
            if (!failed)
                failed = json_array();
            json_array_append(failed, c);
        }
    }
    if (json_is_object(ann)) {
        ann = kept(ann, ann_keys);
        if (json_object_size(ann) == 0) {
            json_decref(ann);
            ann = NULL;
        }
    } else {
        ann = NULL;
    }
    if (!ann && !failed)
        return json_null();
    out = json_object();
    set_kept(out, "annotations", ann);
    set_kept(out, "conditions", failed);
    return out;
}

static int on_service(void *ud, json_t *item)
{
    struct dl_cloud_run_location *l = ud;
    const char *name = json_string_value(json_object_get(item, "name"));

    if (!name)
        return nameless(&l->services_rc, &l->services_err, "service");
    if (l->compact)
        json_object_set_new(l->services, dl_cloud_run_short_name(name),
                            compact_service(item));
    else
        json_object_set(l->services, dl_cloud_run_short_name(name), item);
    return 0;
}

static int on_revision(void *ud, json_t *item)
{
    struct dl_cloud_run_location *l = ud;
    const char *name = json_string_value(json_object_get(item, "name"));

    if (!name)
        return nameless(&l->revisions_rc, &l->revisions_err, "revision");
    if (l->compact) {
        json_object_set_new(l->revisions, name, compact_revision(item));
    } else {
        json_object_set(l->revisions, name, item);
    }
    return 0;
}

static void services_done(struct dl_gcp_client *c, int rc, json_t *result,
                          const struct dl_err *err, void *ud)
{
    struct dl_cloud_run_location *l = ud;

    (void)c;
    (void)result;
    if (rc < 0) {
        l->services_rc = rc;
        dl_err_copy(&l->services_err, err);
    }
}

static void revisions_done(struct dl_gcp_client *c, int rc, json_t *result,
                           const struct dl_err *err, void *ud)
{
    struct dl_cloud_run_location *l = ud;

    (void)c;
    (void)result;
    if (rc < 0) {
        l->revisions_rc = rc;
        dl_err_copy(&l->revisions_err, err);
    }
}

struct dl_cloud_run_location *
dl_cloud_run_state_add(struct dl_cloud_run_state *st, struct dl_gcp_client *gcp,
                       const char *project, const char *region, int revisions)
{
    struct dl_cloud_run_location *l;
    char *p, *r, *svc, *rev;

    if (!project || !region)
        return NULL;
    l = dl_cloud_run_state_find(st, project, region);
    if (l)
        return l;
    l = dl_calloc(1, sizeof(*l));
    l->project = dl_strdup(project);
    l->region = dl_strdup(region);
    l->services = json_object();
    l->revisions = json_object();
    l->compact = st->compact;
    st->locs = dl_reallocarray(st->locs, st->nlocs + 1, sizeof(*st->locs));
    st->locs[st->nlocs++] = l;

    p = dl_gcp_urlencode(l->project);
    r = dl_gcp_urlencode(l->region);
    svc = dl_asprintf("/v2/projects/%s/locations/%s/services"
                      "?pageSize=" PAGE_SIZE,
                      p, r);
    /* A request that cannot even be queued fails its location only. */
    l->services_rc =
        dl_gcp_list_submit(gcp, DL_GCP_RUN, svc, "services", on_service,
                           services_done, l, &l->services_err);
    if (revisions) {
        rev = dl_asprintf("/v2/projects/%s/locations/%s/services/-/"
                          "revisions?pageSize=" PAGE_SIZE,
                          p, r);
        l->revisions_rc =
            dl_gcp_list_submit(gcp, DL_GCP_RUN, rev, "revisions", on_revision,
                               revisions_done, l, &l->revisions_err);
        free(rev);
    }
    free(svc);
    free(p);
    free(r);
    return l;
}

void dl_cloud_run_state_free(struct dl_cloud_run_state *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->nlocs; i++) {
        free(st->locs[i]->project);
        free(st->locs[i]->region);
        json_decref(st->locs[i]->services);
        json_decref(st->locs[i]->revisions);
        free(st->locs[i]);
    }
    free(st->locs);
    free(st);
}

static int observe(struct dl_pass *pass, struct dl_err *err)
{
    struct dl_cloud_run_state *st = dl_calloc(1, sizeof(*st));
    const struct dl_model *m = pass->model;

    (void)err;
    st->compact = 1;
    pass->state[KIND] = st;
    for (size_t i = 0; i < m->n_resources; i++) {
        const struct dl_resource *r = m->resources[i];

        if (r->kind == KIND && dl_pass_selected(pass, r))
            (void)dl_cloud_run_state_add(st, pass->gcp,
                                         dl_resource_project_id(r),
                                         r->spec.run.region, 1);
    }
    /* Orphans may be where nothing is declared any more: also list each
     * Project's default region (not with --only, which names resources). */
    for (size_t i = 0; pass->opts.n_only == 0 && i < m->n_projects; i++) {
        const struct dl_resource *p = m->projects[i];

        if (pass->opts.project && strcmp(pass->opts.project, p->name) != 0)
            continue;
        (void)dl_cloud_run_state_add(st, pass->gcp, p->name,
                                     p->spec.project.region, 1);
    }
    return 0;
}

static void dispose(struct dl_pass *pass)
{
    dl_cloud_run_state_free(pass->state[KIND]);
    pass->state[KIND] = NULL;
}

/* ---- provenance --------------------------------------------------------- */

static const char *sget(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* First 7 characters of a commit for messages. */
static const char *short7(char out[8], const char *id)
{
    snprintf(out, 8, "%s", id ? id : "");
    return out;
}

struct serving {
    char *name; /* full revision name */
    json_int_t percent;
};

/*
 * The revisions that serve traffic: trafficStatuses (else traffic) targets
 * with percent > 0, LATEST resolved to latestReadyRevision. Returns the
 * count; *out is a new array (free each name, then the array).
 */
static size_t serving_revisions(const json_t *svc, struct serving **out)
{
    const json_t *ts = json_object_get(svc, "trafficStatuses");
    const char *sname = sget(svc, "name");
    const char *ready = sget(svc, "latestReadyRevision");
    struct serving *v = NULL;
    size_t n = 0, i;
    const json_t *t;

    if (json_array_size(ts) == 0)
        ts = json_object_get(svc, "traffic");
    if (json_array_size(ts) == 0 && ready) {
        v = dl_calloc(1, sizeof(*v));
        v[0].name = dl_strdup(ready);
        v[0].percent = 100;
        *out = v;
        return 1;
    }
    json_array_foreach(ts, i, t)
    {
        const char *type = sget(t, "type"), *rev = sget(t, "revision");
        json_int_t pct = json_integer_value(json_object_get(t, "percent"));
        char *full;
        size_t j;

        if (pct <= 0)
            continue;
        if (rev && *rev && !(type && strstr(type, "LATEST")))
            full = strchr(rev, '/') ? dl_strdup(rev)
                                    : dl_asprintf("%s/revisions/%s",
                                                  sname ? sname : "", rev);
        else if (ready)
            full = dl_strdup(ready);
        else
            continue;
        for (j = 0; j < n && strcmp(v[j].name, full) != 0; j++)
            ;
        if (j < n) {
            v[j].percent += pct;
            free(full);
            continue;
        }
        v = dl_reallocarray(v, n + 1, sizeof(*v));
        v[n].name = full;
        v[n].percent = pct;
        n++;
    }
    *out = v;
    return n;
}

static void free_serving(struct serving *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

/* Is the desired-state field path ignored by the resource? */
static int spec_ignored(const struct dl_cloud_run_spec *s, const char *path)
{
    for (size_t i = 0; i < s->n_ignore_fields; i++)
        if (dl_cloud_run_path_matches(s->ignore_fields[i], path))
            return 1;
    return 0;
}

/* "b285215 (heartbeat-fix)", or just the short id when the revision was
 * written as an id. */
static void describe_required(char *out, size_t size, const char *id,
                              const char *written)
{
    char s[8];

    if (!id || !*id)
        snprintf(out, size, "%s", written);
    else if (strncmp(id, written, strlen(written)) == 0)
        snprintf(out, size, "%s", short7(s, id));
    else
        snprintf(out, size, "%s (%s)", short7(s, id), written);
}

struct prov {
    struct dl_pass *pass;
    const struct dl_resource *r;
    struct dl_plan_resource *pr;
    const char *desired_commit; /* NULL: unknown */
    int template_commit_ok;     /* the template already has desired_commit */
    int drift;
    int no_git_noted;
};

/* 7 to 40 hexadecimal digits? */
static int is_commit_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n < 7 || n > 40)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdefABCDEF", s[i]))
            return 0;
    return 1;
}

/* Check one serving revision's provenance. */
static void check_revision(struct prov *p, const char *rev_name,
                           const json_t *rev)
{
    const struct dl_cloud_run_spec *s = &p->r->spec.run;
    const json_t *ann = json_object_get(rev, "annotations");
    const char *commit = sget(ann, DL_CLOUD_RUN_ANN_COMMIT);
    const char *dockerfile = sget(ann, DL_CLOUD_RUN_ANN_DOCKERFILE);
    const char *id = dl_cloud_run_short_name(rev_name);
    int want_commit =
        s->n_require_commits > 0 && !spec_ignored(s, "spec.requireCommits");
    int want_build_commit = s->has_build && p->desired_commit &&
                            !spec_ignored(s, "spec.build.commit");
    int want_dockerfile = s->has_build && s->build.dockerfile &&
                          !spec_ignored(s, "spec.build.dockerfile");
    char c7[8], c7b[8], req[128];

    if (!rev) {
        if (want_commit || want_build_commit || want_dockerfile) {
            dl_plan_resource_add_note(p->pr,
                                      "serving revision %s was not listed: "
                                      "its provenance is unknown",
                                      id);
            p->drift = 1;
        }
        return;
    }
    if ((want_commit || want_build_commit) && (!commit || !*commit)) {
        dl_plan_resource_add_note(
            p->pr,
            "serving revision %s has no " DL_CLOUD_RUN_ANN_COMMIT
            " annotation: its provenance is unknown",
            id);
        p->drift = 1;
        want_commit = want_build_commit = 0;
    }
    /* The annotation is data from outside: only a commit id may reach git
     * (a name such as "main" or "HEAD" would resolve to anything). */
    if ((want_commit || want_build_commit) && !is_commit_id(commit)) {
        dl_plan_resource_add_note(p->pr,
                                  "serving revision %s has a "
                                  "driftless.dev/commit annotation that is "
                                  "not a commit id: its provenance is unknown",
                                  id);
        p->drift = 1;
        want_commit = want_build_commit = 0;
    }
    if (want_build_commit &&
        !dl_cloud_run_commit_matches(commit, p->desired_commit)) {
        if (p->template_commit_ok) {
            dl_plan_resource_add_note(p->pr,
                                      "serving revision %s was built from "
                                      "%s, not %s",
                                      id, short7(c7, commit),
                                      short7(c7b, p->desired_commit));
            p->drift = 1;
        }
    }
    for (size_t i = 0; want_commit && i < s->n_require_commits; i++) {
        const char *rid = s->require_commit_ids[i][0] ? s->require_commit_ids[i]
                                                      : s->require_commits[i];
        struct dl_err e;
        int yes = 0;

        describe_required(req, sizeof(req), s->require_commit_ids[i],
                          s->require_commits[i]);
        if (!p->pass->source) {
            if (!p->no_git_noted)
                dl_plan_resource_add_note(
                    p->pr,
                    "cannot check requireCommits of serving revision %s "
                    "(built from %s): the source is not a git repository, "
                    "so ancestry is unknown",
                    id, short7(c7, commit));
            p->no_git_noted = 1;
            p->drift = 1;
            break;
        }
        if (dl_source_contains(p->pass->source, rid, commit, &yes, &e) < 0) {
            dl_plan_resource_add_note(p->pr,
                                      "serving revision %s was built from "
                                      "%s, which cannot be checked for %s: %s",
                                      id, short7(c7, commit), req, e.msg);
            p->drift = 1;
            continue;
        }
        if (!yes) {
            dl_plan_resource_add_note(p->pr,
                                      "serving revision %s was built from "
                                      "%s, which lacks %s",
                                      id, short7(c7, commit), req);
            p->drift = 1;
        }
    }
    if (want_dockerfile) {
        if (!dockerfile || !*dockerfile) {
            dl_plan_resource_add_note(
                p->pr,
                "serving revision %s has no " DL_CLOUD_RUN_ANN_DOCKERFILE
                " annotation: its Dockerfile is unknown",
                id);
            p->drift = 1;
        } else if (strcmp(dockerfile, s->build.dockerfile) != 0) {
            dl_plan_resource_add_note(p->pr,
                                      "serving revision %s was built from "
                                      "%s, not %s",
                                      id, dockerfile, s->build.dockerfile);
            p->drift = 1;
        }
    }
}

/* The failure message of a revision (or service): its failed Ready
 * condition, else any failed condition. NULL when none failed. */
static const char *revision_failure(const json_t *rev)
{
    const json_t *conds = json_object_get(rev, "conditions"), *c;
    const char *any = NULL;
    size_t i;

    json_array_foreach(conds, i, c)
    {
        const char *state = sget(c, "state"), *type = sget(c, "type");

        if (!state || strcmp(state, "CONDITION_FAILED") != 0)
            continue;
        if (type && strcmp(type, "Ready") == 0)
            return sget(c, "message") ? sget(c, "message") : "failed";
        if (!any)
            any = sget(c, "message") ? sget(c, "message") : "failed";
    }
    return any;
}

/* A latest revision that failed while an older one still serves. */
static void check_failed_latest(struct prov *p, const json_t *svc,
                                const struct dl_cloud_run_location *l)
{
    const char *created = sget(svc, "latestCreatedRevision");
    const char *ready = sget(svc, "latestReadyRevision");
    const json_t *tc = json_object_get(svc, "terminalCondition");
    const char *msg;

    if (!created || (ready && strcmp(created, ready) == 0))
        return;
    msg = revision_failure(json_object_get(l->revisions, created));
    if (!msg && sget(tc, "state") &&
        strcmp(sget(tc, "state"), "CONDITION_FAILED") == 0)
        msg = sget(tc, "message") ? sget(tc, "message") : "failed";
    if (!msg) /* e.g. ConfigurationsReady failed on the service */
        msg = revision_failure(svc);
    if (!msg)
        return; /* still rolling out */
    if (ready)
        dl_plan_resource_add_note(p->pr,
                                  "latest revision %s failed (%s); %s still "
                                  "serves",
                                  dl_cloud_run_short_name(created), msg,
                                  dl_cloud_run_short_name(ready));
    else
        dl_plan_resource_add_note(p->pr,
                                  "latest revision %s failed (%s); no "
                                  "revision is ready",
                                  dl_cloud_run_short_name(created), msg);
    p->drift = 1;
}

/* ---- diff --------------------------------------------------------------- */

/*
 * The commit the service should be built from: build.commit (resolved),
 * else the planned commit. NULL when unknown, with a note saying why.
 */
static const char *desired_commit(struct dl_pass *pass,
                                  const struct dl_resource *r,
                                  struct dl_plan_resource *pr, char buf[41])
{
    const struct dl_build *b = &r->spec.run.build;
    struct dl_err e;

    if (!r->spec.run.has_build)
        return NULL;
    if (b->commit && b->commit_id[0])
        return b->commit_id;
    if (b->commit) {
        if (pass->source &&
            dl_source_resolve(pass->source, b->commit, buf, &e) == 0)
            return buf;
        dl_plan_resource_add_note(pr, "cannot resolve build.commit '%s': %s",
                                  b->commit,
                                  pass->source ? e.msg
                                               : "the source is not a git "
                                                 "repository");
        return NULL;
    }
    if (pass->source && pass->source->id.commit[0])
        return pass->source->id.commit;
    dl_plan_resource_add_note(pr, "the commit to build is unknown: the source "
                                  "is not a git repository and build.commit "
                                  "is not set");
    return NULL;
}

/*
 * The commit to build must itself contain every requireCommits entry, or
 * apply would deploy a revision that lacks them: say so in a note.
 */
static void check_desired_contains(struct dl_pass *pass,
                                   const struct dl_resource *r,
                                   struct dl_plan_resource *pr,
                                   const char *commit)
{
    const struct dl_cloud_run_spec *s = &r->spec.run;
    char c7[8], req[128];

    if (!pass->source || !commit || spec_ignored(s, "spec.requireCommits"))
        return;
    for (size_t i = 0; i < s->n_require_commits; i++) {
        const char *rid = s->require_commit_ids[i][0] ? s->require_commit_ids[i]
                                                      : s->require_commits[i];
        struct dl_err e;
        int yes = 0;

        if (dl_source_contains(pass->source, rid, commit, &yes, &e) < 0 || yes)
            continue;
        describe_required(req, sizeof(req), s->require_commit_ids[i],
                          s->require_commits[i]);
        dl_plan_resource_add_note(pr,
                                  "the commit to build, %s, itself lacks %s",
                                  short7(c7, commit), req);
    }
}

static json_int_t generation_of(const json_t *svc)
{
    const json_t *g = json_object_get(svc, "generation");

    if (json_is_integer(g))
        return json_integer_value(g);
    return g ? strtoll(json_string_value(g) ? json_string_value(g) : "0", NULL,
                       10)
             : 0;
}

/* etag, generation, serving and latest revisions: what apply re-checks. */
static void set_preconditions(struct dl_plan_resource *pr, const json_t *svc,
                              const struct serving *sv, size_t nsv)
{
    json_t *pc = pr->preconditions, *names = json_array();
    size_t best = 0;

    if (sget(svc, "etag"))
        json_object_set_new(pc, "etag", json_string(sget(svc, "etag")));
    json_object_set_new(pc, "generation", json_integer(generation_of(svc)));
    for (size_t i = 0; i < nsv; i++) {
        json_array_append_new(names,
                              json_string(dl_cloud_run_short_name(sv[i].name)));
        if (sv[i].percent > sv[best].percent)
            best = i;
    }
    json_object_set_new(
        pc, "serving_revision",
        json_string(nsv ? dl_cloud_run_short_name(sv[best].name) : ""));
    json_object_set_new(pc, "serving_revisions", names);
    if (sget(svc, "latestReadyRevision"))
        json_object_set_new(pc, "latest_ready_revision",
                            json_string(dl_cloud_run_short_name(
                                sget(svc, "latestReadyRevision"))));
    if (sget(svc, "latestCreatedRevision"))
        json_object_set_new(pc, "latest_created_revision",
                            json_string(dl_cloud_run_short_name(
                                sget(svc, "latestCreatedRevision"))));
}

static void diff_existing(struct dl_pass *pass, const struct dl_resource *r,
                          struct dl_plan_resource *pr, const json_t *svc,
                          const struct dl_cloud_run_location *l)
{
    const struct dl_cloud_run_spec *s = &r->spec.run;
    struct dl_cloud_run_differ d = {.pr = pr, .spec = s};
    struct prov p = {.pass = pass, .r = r, .pr = pr};
    const json_t *ann =
        json_object_get(json_object_get(svc, "template"), "annotations");
    struct serving *sv = NULL;
    size_t nsv;
    char buf[41];

    p.desired_commit = desired_commit(pass, r, pr, buf);
    if (s->has_build && !p.desired_commit &&
        !spec_ignored(s, "spec.build.commit"))
        p.drift = 1;
    p.template_commit_ok = dl_cloud_run_commit_matches(
        sget(ann, DL_CLOUD_RUN_ANN_COMMIT), p.desired_commit);
    dl_cloud_run_diff_service(&d, svc, s, p.desired_commit);
    if (!p.template_commit_ok)
        check_desired_contains(pass, r, pr, p.desired_commit);

    nsv = serving_revisions(svc, &sv);
    if (nsv == 0 && (s->has_build || s->n_require_commits > 0)) {
        dl_plan_resource_add_note(pr, "no revision serves traffic: the "
                                      "provenance is unknown");
        p.drift = 1;
    }
    for (size_t i = 0; i < nsv; i++)
        check_revision(&p, sv[i].name,
                       json_object_get(l->revisions, sv[i].name));
    check_failed_latest(&p, svc, l);
    if (json_is_true(json_object_get(svc, "reconciling")))
        dl_plan_resource_add_note(pr,
                                  "a rollout is in progress (generation %lld)",
                                  (long long)generation_of(svc));
    set_preconditions(pr, svc, sv, nsv);
    free_serving(sv, nsv);
    dl_pass_set_drift(pr,
                      d.added || p.drift ? DL_PLAN_STATUS_DRIFTED
                                         : DL_PLAN_STATUS_IN_SYNC,
                      DL_PLAN_ACTION_UPDATE);
}

static void diff_missing(struct dl_pass *pass, const struct dl_resource *r,
                         struct dl_plan_resource *pr)
{
    struct dl_cloud_run_differ d = {.pr = pr, .spec = &r->spec.run};
    char buf[41];
    const char *commit = desired_commit(pass, r, pr, buf);

    dl_cloud_run_diff_service(&d, NULL, &r->spec.run, commit);
    check_desired_contains(pass, r, pr, commit);
    dl_pass_set_drift(pr, DL_PLAN_STATUS_MISSING, DL_PLAN_ACTION_CREATE);
}

static const char *location_error(const struct dl_cloud_run_location *l)
{
    if (l->services_rc < 0)
        return l->services_err.msg;
    if (l->revisions_rc < 0)
        return l->revisions_err.msg;
    return NULL;
}

/* Is a service of this project declared (in any region)? */
static int declared(const struct dl_model *m, const char *project,
                    const char *name)
{
    return dl_model_find(m, KIND, project, name) != NULL;
}

/* Does an --only filter name the orphan project/CloudRunService/name? */
static int orphan_selected(const struct dl_pass *pass, const char *project,
                           const char *name)
{
    const char *kind = dl_kind_name(KIND);

    if (pass->opts.n_only == 0)
        return 1;
    for (size_t i = 0; i < pass->opts.n_only; i++) {
        const char *f = pass->opts.only[i];
        size_t pl = strlen(project), kl = strlen(kind);

        if (strncmp(f, project, pl) == 0 && f[pl] == '/' &&
            strchr(f + pl + 1, '/'))
            f += pl + 1;
        if (strncmp(f, kind, kl) == 0 && f[kl] == '/' &&
            strcmp(f + kl + 1, name) == 0)
            return 1;
    }
    return 0;
}

static const struct dl_resource *project_of(const struct dl_model *m,
                                            const char *id)
{
    for (size_t i = 0; i < m->n_projects; i++)
        if (strcmp(m->projects[i]->name, id) == 0)
            return m->projects[i];
    return NULL;
}

static void diff_orphans(struct dl_pass *pass,
                         const struct dl_cloud_run_location *l)
{
    const struct dl_resource *proj = project_of(pass->model, l->project);
    const char *name;
    json_t *svc;

    if (location_error(l)) {
        dl_log(DL_LOG_WARNING, "orphaned services in %s/%s not checked: %s",
               l->project, l->region, location_error(l));
        return;
    }
    json_object_foreach(l->services, name, svc)
    {
        const char *owner =
            sget(json_object_get(svc, "labels"), DL_CLOUD_RUN_MANAGED_KEY);
        struct dl_plan_resource *pr;
        struct serving *sv = NULL;
        size_t nsv;
        int prune = proj && proj->spec.project.prune;

        if (!owner || strcmp(owner, DL_CLOUD_RUN_MANAGED_VALUE) != 0 ||
            declared(pass->model, l->project, name) ||
            !orphan_selected(pass, l->project, name))
            continue;
        pr = dl_plan_add_resource(pass->plan, l->project, dl_kind_name(KIND),
                                  name);
        pr->mode = proj && proj->spec.project.mode == DL_MODE_ENFORCE
                       ? DL_PLAN_MODE_ENFORCE
                       : DL_PLAN_MODE_REPORT;
        pr->orphan = 1;
        dl_pass_set_drift(pr, DL_PLAN_STATUS_DRIFTED,
                          prune ? DL_PLAN_ACTION_DELETE
                                : DL_PLAN_ACTION_REPORT);
        if (!prune)
            dl_plan_resource_add_note(pr,
                                      "labelled managed-by=driftless in %s "
                                      "but no longer declared; set prune: "
                                      "true on the Project to delete it",
                                      l->region);
        else if (pr->action != DL_PLAN_ACTION_DELETE)
            dl_plan_resource_add_note(pr,
                                      "labelled managed-by=driftless in %s "
                                      "but no longer declared; the Project "
                                      "prunes, but is in report mode",
                                      l->region);
        else
            dl_plan_resource_add_note(pr,
                                      "labelled managed-by=driftless in %s "
                                      "but no longer declared; the Project "
                                      "prunes: it will be deleted",
                                      l->region);
        nsv = serving_revisions(svc, &sv);
        set_preconditions(pr, svc, sv, nsv);
        json_object_set_new(pr->preconditions, "region",
                            json_string(l->region));
        free_serving(sv, nsv);
    }
}

static int diff(struct dl_pass *pass, struct dl_err *err)
{
    const struct dl_cloud_run_state *st = pass->state[KIND];
    const struct dl_model *m = pass->model;

    (void)err;
    for (size_t i = 0; i < m->n_resources; i++) {
        const struct dl_resource *r = m->resources[i];
        const struct dl_cloud_run_location *l;
        struct dl_plan_resource *pr;
        const json_t *svc;

        if (r->kind != KIND || !dl_pass_selected(pass, r))
            continue;
        pr = dl_pass_add(pass, r);
        l = dl_cloud_run_state_find(st, dl_resource_project_id(r),
                                    r->spec.run.region);
        if (!l) {
            dl_plan_resource_set_error(pr, "%s/%s was not observed",
                                       dl_resource_project_id(r),
                                       r->spec.run.region);
            continue;
        }
        if (location_error(l)) {
            dl_plan_resource_set_error(pr, "%s", location_error(l));
            continue;
        }
        svc = json_object_get(l->services, r->name);
        if (svc)
            diff_existing(pass, r, pr, svc, l);
        else
            diff_missing(pass, r, pr);
        json_object_set_new(pr->preconditions, "region",
                            json_string(r->spec.run.region));
    }
    for (size_t i = 0; st && i < st->nlocs; i++)
        diff_orphans(pass, st->locs[i]);
    return 0;
}

const struct dl_provider dl_provider_cloud_run_service = {
    .kind = KIND,
    .observe = observe,
    .diff = diff,
    .dispose = dispose,
    .apply = dl_cloud_run_apply,
};
