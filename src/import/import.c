/*
 * import.c - observe a live project and write it as desired state
 * (import.h; the choices are explained in docs/internals/import.md).
 */
#include "import/import.h"

#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import/yaml_emit.h"
#include "model/check.h"
#include "model/model.h"
#include "provider/cloud_run.h"
#include "provider/iam_set.h"
#include "provider/iam_store.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/time.h"

#define LATEST "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"

/* ---- observe ------------------------------------------------------------ */

int dl_import_observe(struct dl_import_live *live, struct dl_gcp_client *gcp,
                      struct dl_err *err)
{
    struct dl_cloud_run_state *st = dl_calloc(1, sizeof(*st));
    struct dl_iam_store *store = dl_calloc(1, sizeof(*store));
    struct dl_iam_policy_obs *pol;
    char *enc = dl_gcp_urlencode(live->project);
    char *path = dl_asprintf("/v1/projects/%s", enc);
    char *name = dl_asprintf("projects/%s", live->project);
    json_t *proj = NULL, *services = json_array();
    const char *state;
    int rc;

    live->services = live->policy = NULL;
    rc =
        dl_gcp_call(gcp, DL_GCP_RESOURCEMANAGER, "GET", path, NULL, &proj, err);
    if (rc < 0) {
        dl_err_prefix(err, "cannot read project '%s'", live->project);
        goto done;
    }
    state = json_string_value(json_object_get(proj, "lifecycleState"));
    if (state && strcmp(state, "ACTIVE") != 0) {
        rc = dl_err_set(err, DL_EINVALID, "project '%s' is '%s', not ACTIVE",
                        live->project, state);
        goto done;
    }
    /* The providers' own observations: one services list per region (no
     * revisions: import writes what the templates say), one getIamPolicy,
     * all in one run of the client loop. */
    for (size_t i = 0; i < live->n_regions; i++)
        (void)dl_cloud_run_state_add(st, gcp, live->project, live->regions[i],
                                     0);
    pol = dl_iam_store_queue(store, gcp, name, DL_GCP_RESOURCEMANAGER);
    rc = dl_gcp_client_run(gcp, err);
    if (rc < 0)
        goto done;
    for (size_t i = 0; i < st->nlocs; i++) {
        struct dl_cloud_run_location *l = st->locs[i];
        const char *k;
        json_t *svc;

        if (l->services_rc < 0) {
            rc = l->services_rc;
            dl_err_copy(err, &l->services_err);
            dl_err_prefix(err,
                          "cannot list Cloud Run services of project '%s' "
                          "in '%s'",
                          l->project, l->region);
            goto done;
        }
        json_object_foreach(l->services, k, svc)
            json_array_append(services, svc);
    }
    if (pol->rc < 0 || !pol->policy) {
        rc = dl_err_set(err, pol->rc < 0 ? pol->rc : DL_ERROR,
                        "cannot read the IAM policy of '%s': %s", name,
                        pol->error ? pol->error : "no answer");
        goto done;
    }
    live->services = services;
    live->policy = json_incref(pol->policy);
    services = NULL;
    rc = 0;
done:
    json_decref(services);
    json_decref(proj);
    dl_iam_store_free(store);
    dl_cloud_run_state_free(st);
    free(name);
    free(path);
    free(enc);
    return rc;
}

void dl_import_live_dispose(struct dl_import_live *live)
{
    json_decref(live->services);
    json_decref(live->policy);
    live->services = live->policy = NULL;
}

/* ---- render: helpers ---------------------------------------------------- */

struct render {
    const struct dl_import_live *live;
    struct dl_import_result *res;
    char **names; /* metadata.names taken by IAM documents */
    size_t n_names;
};

static void warn(struct render *r, const char *fmt, ...) DL_PRINTF(2, 3);
static void warn(struct render *r, const char *fmt, ...)
{
    struct dl_import_result *res = r->res;
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    va_list ap;

    va_start(ap, fmt);
    (void)dl_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    res->warnings = dl_reallocarray(res->warnings, res->n_warnings + 1,
                                    sizeof(*res->warnings));
    res->warnings[res->n_warnings++] = dl_buf_take(&b);
}

static const char *sget(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* An integer that proto3 JSON may write as a number or a string; -1 when
 * absent or not a non-negative integer. */
static json_int_t iget(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    char *end;
    long long n;

    if (json_is_integer(v))
        return json_integer_value(v) < 0 ? -1 : json_integer_value(v);
    if (!json_is_string(v))
        return -1;
    n = strtoll(json_string_value(v), &end, 10);
    return *end || end == json_string_value(v) || n < 0 ? -1 : n;
}

static json_t *doc_new(const char *kind, const char *name)
{
    return json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", DL_API_VERSION, "kind",
                     kind, "metadata", "name", name);
}

static void add_file(struct render *r, char *path, struct dl_buf *text)
{
    struct dl_import_result *res = r->res;

    res->files =
        dl_reallocarray(res->files, res->n_files + 1, sizeof(*res->files));
    res->files[res->n_files].path = path;
    res->files[res->n_files].text = dl_buf_take(text);
    res->n_files++;
}

/* Append one document; a "---" goes before every document but the first. */
static void put_doc(struct dl_buf *b, json_t *doc, const char *comment)
{
    int rc;

    if (b->len)
        (void)dl_buf_puts(b, "---\n");
    rc = dl_yaml_emit_doc(b, doc, comment);
    /* Only a capped buffer or a value of no JSON type can fail. */
    assert(rc == 0);
    (void)rc;
}

/* ---- render: the Project ------------------------------------------------ */

static void render_project(struct render *r)
{
    const struct dl_import_live *live = r->live;
    json_t *doc = doc_new("Project", live->project);
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    char *comment = dl_asprintf(
        "Written by `driftless import` from the live project '%s'.\n"
        "mode: report shows drift and changes nothing; switch to enforce\n"
        "once these declarations are what you want driftless to keep.",
        live->project);

    json_object_set_new(
        doc, "spec",
        json_pack("{s:s,s:s}", "region", live->regions[0], "mode", "report"));
    put_doc(&b, doc, comment);
    add_file(r, dl_strdup("project.yaml"), &b);
    json_decref(doc);
    free(comment);
}

/* ---- render: services --------------------------------------------------- */

/* The region of a full service name ("projects/p/locations/R/services/s"),
 * copied into out; "" when the name has none. */
static const char *name_region(char *out, size_t size, const char *name)
{
    const char *p = name ? strstr(name, "/locations/") : NULL;

    if (!p) {
        snprintf(out, size, "%s", "");
        return out;
    }
    p += strlen("/locations/");
    snprintf(out, size, "%.*s", (int)strcspn(p, "/"), p);
    return out;
}

static size_t region_index(const struct dl_import_live *live, const char *reg)
{
    for (size_t i = 0; i < live->n_regions; i++)
        if (strcmp(live->regions[i], reg) == 0)
            return i;
    return live->n_regions;
}

/* A live service with what it is sorted by. */
struct listed {
    json_t *svc;
    const char *name; /* short name */
    size_t region_ix; /* position of its region in --region order */
    int written;      /* its file was rendered */
    char region[256];
};

/* By region (in --region order), then name. */
static int cmp_listed(const void *a, const void *b)
{
    const struct listed *x = a, *y = b;
    int c;

    if (x->region_ix != y->region_ix)
        return x->region_ix < y->region_ix ? -1 : 1;
    c = strcmp(x->region, y->region);
    return c ? c : strcmp(x->name, y->name);
}

/* env: the container's variables in its order; secrets as references. */
static json_t *render_env(struct render *r, const char *svc, const json_t *c0)
{
    const json_t *env = json_object_get(c0, "env"), *e;
    json_t *out = json_object();
    size_t i;

    json_array_foreach(env, i, e)
    {
        const char *name = sget(e, "name");
        const json_t *vs = json_object_get(e, "valueSource");
        const json_t *ref = json_object_get(vs, "secretKeyRef");

        if (!name || json_object_get(out, name))
            continue; /* Cloud Run uses the first of duplicates too */
        if (dl_check_env_name(name)) {
            warn(r,
                 "service '%s': env '%s' is not a valid variable name; left "
                 "out (it will show as drift)",
                 svc, name);
            continue;
        }
        if (json_is_object(ref) && sget(ref, "secret")) {
            const char *v = sget(ref, "version");

            json_object_set_new(
                out, name,
                json_pack("{s:s,s:s}", "secret",
                          dl_cloud_run_short_name(sget(ref, "secret")),
                          "version", v && *v ? v : "latest"));
        } else if (vs) {
            warn(r,
                 "service '%s': env '%s' has a value source other than a "
                 "secret; left out (it will show as drift)",
                 svc, name);
        } else {
            if (dl_cloud_run_env_name_sensitive(name))
                warn(r,
                     "service '%s': env '%s' holds a plain value although "
                     "its name suggests a secret; it was written as is: "
                     "consider a Secret Manager reference",
                     svc, name);
            json_object_set_new(
                out, name,
                json_string(sget(e, "value") ? sget(e, "value") : ""));
        }
    }
    return out;
}

static json_t *render_resources(struct render *r, const char *svc,
                                const json_t *c0)
{
    const json_t *limits =
        json_object_get(json_object_get(c0, "resources"), "limits");
    const char *cpu = sget(limits, "cpu"), *mem = sget(limits, "memory");
    json_t *out = json_object();
    int64_t v;

    if (cpu && dl_quantity_cpu_parse(&v, cpu, NULL) == 0)
        json_object_set_new(out, "cpu", json_string(cpu));
    else if (cpu)
        warn(r, "service '%s': cpu '%s' is not a quantity; left out", svc, cpu);
    if (mem && dl_quantity_memory_parse(&v, mem, NULL) == 0)
        json_object_set_new(out, "memory", json_string(mem));
    else if (mem)
        warn(r, "service '%s': memory '%s' is not a quantity; left out", svc,
             mem);
    return out;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Only labels a declaration may hold: not Cloud Run's own, not
 * driftless's ownership label (implied), valid keys and values. */
static json_t *render_labels(struct render *r, const char *svc, json_t *labels)
{
    const char **keys = dl_calloc(json_object_size(labels) + 1, sizeof(*keys));
    json_t *out = json_object();
    size_t n = 0;
    const char *k;
    json_t *v;

    json_object_foreach(labels, k, v) keys[n++] = k;
    qsort(keys, n, sizeof(*keys), cmp_key);
    for (size_t i = 0; i < n; i++) {
        const char *val = sget(labels, keys[i]);
        char api[320];

        snprintf(api, sizeof(api), "labels.%s", keys[i]);
        if (strcmp(keys[i], DL_CLOUD_RUN_MANAGED_KEY) == 0 ||
            dl_cloud_run_builtin_ignored(api))
            continue;
        if (!val || dl_check_label_key(keys[i]) || dl_check_label_value(val)) {
            warn(r, "service '%s': label '%s' cannot be declared; left out",
                 svc, keys[i]);
            continue;
        }
        json_object_set_new(out, keys[i], json_string(val));
    }
    free(keys);
    return out;
}

/* traffic: "latest" when everything goes to the latest revision, else
 * the targets in the provider's canonical order; NULL when none can be
 * declared. */
static json_t *render_traffic(const json_t *svc)
{
    json_t *canon = dl_cloud_run_traffic_live(json_object_get(svc, "traffic"));
    json_t *out, *t;
    size_t i;

    if (json_array_size(canon) == 1) {
        t = json_array_get(canon, 0);
        if (strcmp(sget(t, "type"), LATEST) == 0 && !sget(t, "tag") &&
            json_integer_value(json_object_get(t, "percent")) == 100) {
            json_decref(canon);
            return json_string("latest");
        }
    }
    if (json_array_size(canon) == 0) {
        /* No target that could be declared (malformed): not managed. */
        json_decref(canon);
        return NULL;
    }
    out = json_array();
    json_array_foreach(canon, i, t)
    {
        json_t *o = json_object();

        if (strcmp(sget(t, "type"), LATEST) == 0)
            json_object_set_new(o, "latest", json_true());
        else
            json_object_set_new(o, "revision",
                                json_string(sget(t, "revision")));
        json_object_set(o, "percent", json_object_get(t, "percent"));
        if (sget(t, "tag"))
            json_object_set_new(o, "tag", json_string(sget(t, "tag")));
        json_array_append_new(out, o);
    }
    json_decref(canon);
    return out;
}

static void set_nonempty(json_t *o, const char *k, json_t *v)
{
    if ((json_is_object(v) && json_object_size(v) == 0) ||
        (json_is_array(v) && json_array_size(v) == 0))
        json_decref(v);
    else
        json_object_set_new(o, k, v);
}

/* One CloudRunService file; 1 when written, 0 when left out. */
static int render_service(struct render *r, const json_t *svc,
                          const char *region)
{
    const char *name = dl_cloud_run_short_name(sget(svc, "name"));
    const json_t *tmpl = json_object_get(svc, "template");
    const json_t *containers = json_object_get(tmpl, "containers");
    const json_t *c0 = json_array_get(containers, 0);
    const json_t *ann = json_object_get(tmpl, "annotations");
    const json_t *scaling = json_object_get(tmpl, "scaling");
    const char *image = sget(c0, "image"), *why;
    const char *commit = sget(ann, DL_CLOUD_RUN_ANN_COMMIT);
    const char *dockerfile = sget(ann, DL_CLOUD_RUN_ANN_DOCKERFILE);
    const char *managed =
        sget(json_object_get(svc, "labels"), DL_CLOUD_RUN_MANAGED_KEY);
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP), c = DL_BUF_INIT(DL_BUF_NOCAP);
    json_t *doc, *spec = json_object(), *sc;
    json_int_t n;
    int64_t ns;

    if (!image || (why = dl_check_image(image)) != NULL) {
        warn(r,
             "service '%s' in '%s': image '%s' cannot be declared (%s); "
             "left out: declare it by hand with a digest",
             name, region, image ? image : "", image ? why : "no container");
        json_decref(spec);
        return 0;
    }
    if (json_array_size(containers) > 1)
        warn(r,
             "service '%s': only the first of its %zu containers is "
             "declared (sidecars are not managed)",
             name, json_array_size(containers));
    doc = doc_new("CloudRunService", name);
    if (strcmp(region, r->live->regions[0]) != 0)
        json_object_set_new(spec, "region", json_string(region));
    json_object_set_new(spec, "image", json_string(image));
    if (sget(tmpl, "serviceAccount"))
        json_object_set_new(spec, "serviceAccount",
                            json_string(sget(tmpl, "serviceAccount")));
    set_nonempty(spec, "env", render_env(r, name, c0));
    set_nonempty(spec, "resources", render_resources(r, name, c0));
    sc = json_object();
    if (iget(scaling, "minInstanceCount") >= 0 ||
        iget(scaling, "maxInstanceCount") >= 0) {
        /* proto3 JSON omits a minimum of 0 */
        n = iget(scaling, "minInstanceCount");
        json_object_set_new(sc, "minInstances", json_integer(n < 0 ? 0 : n));
        if ((n = iget(scaling, "maxInstanceCount")) >= 0)
            json_object_set_new(sc, "maxInstances", json_integer(n));
    }
    set_nonempty(spec, "scaling", sc);
    if ((n = iget(tmpl, "maxInstanceRequestConcurrency")) >= 0)
        json_object_set_new(spec, "concurrency", json_integer(n));
    if (sget(tmpl, "timeout") &&
        dl_duration_parse_proto(&ns, sget(tmpl, "timeout"), NULL) == 0) {
        char d[48];

        json_object_set_new(spec, "timeout",
                            json_string(dl_duration_format(d, sizeof(d), ns)));
    }
    set_nonempty(spec, "labels",
                 render_labels(r, name, json_object_get(svc, "labels")));
    if ((sc = render_traffic(svc)) != NULL)
        json_object_set_new(spec, "traffic", sc);

    (void)dl_buf_printf(&c, "Cloud Run service '%s' in %s, imported as live.",
                        name, region);
    if (commit && dockerfile)
        (void)dl_buf_printf(&c,
                            "\nBuilt by driftless from commit %s\n"
                            "with %s. The image is pinned as it runs; to "
                            "build from\nsource again, replace image with\n"
                            "  build: {dockerfile: %s, commit: %s}",
                            commit, dockerfile, dockerfile, commit);
    if (!managed || strcmp(managed, DL_CLOUD_RUN_MANAGED_VALUE) != 0) {
        /* Adopting must not change the service: it does not carry
         * driftless's ownership label (or another tool's value). */
        json_object_set_new(
            spec, "ignoreFields",
            json_pack("[s]", "spec.labels." DL_CLOUD_RUN_MANAGED_KEY));
        (void)dl_buf_printf(
            &c,
            "\nThe service has no %s=%s label, so it is ignored here;\n"
            "remove ignoreFields to let driftless label it as its own.",
            DL_CLOUD_RUN_MANAGED_KEY, DL_CLOUD_RUN_MANAGED_VALUE);
    }
    json_object_set_new(doc, "spec", spec);
    put_doc(&b, doc, dl_buf_cstr(&c));
    add_file(r, dl_asprintf("services/%s.yaml", name), &b);
    r->res->n_services++;
    json_decref(doc);
    dl_buf_dispose(&c);
    return 1;
}

static void render_services(struct render *r)
{
    const json_t *all = r->live->services;
    size_t n = 0, i, j;
    struct listed *v = dl_calloc(json_array_size(all) + 1, sizeof(*v));
    json_t *svc;

    json_array_foreach(all, i, svc)
    {
        const char *full = sget(svc, "name");

        if (!full || !*name_region(v[n].region, sizeof(v[n].region), full)) {
            warn(r, "a service named '%s' has no location; left out",
                 full ? full : "");
            continue;
        }
        v[n].svc = svc;
        v[n].name = dl_cloud_run_short_name(full);
        v[n].region_ix = region_index(r->live, v[n].region);
        n++;
    }
    qsort(v, n, sizeof(*v), cmp_listed);
    for (i = 0; i < n; i++) {
        const char *name = v[i].name, *region = v[i].region;

        for (j = 0; j < i && !(v[j].written && strcmp(v[j].name, name) == 0);
             j++)
            ;
        if (j < i) {
            warn(r,
                 "service '%s' in '%s': a service of that name was "
                 "imported from another region (one name per project); "
                 "left out",
                 name, region);
            continue;
        }
        if (dl_check_run_service_name(name)) {
            warn(r, "service '%s' in '%s': not a valid name; left out", name,
                 region);
            continue;
        }
        v[i].written = render_service(r, v[i].svc, region);
    }
    free(v);
}

/* ---- render: IAM -------------------------------------------------------- */

/* One (role, condition) binding key of the policy. */
struct bkey {
    const char *role;
    int has_cond;
    struct dl_iam_condition cond; /* owned copies */
};

static void free_bkey(struct bkey *k)
{
    free(k->cond.title);
    free(k->cond.description);
    free(k->cond.expression);
}

static int cmp_str0(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static int cmp_bkey(const void *a, const void *b)
{
    const struct bkey *x = a, *y = b;
    int c = strcmp(x->role, y->role);

    if (c)
        return c;
    if (x->has_cond != y->has_cond)
        return x->has_cond - y->has_cond;
    c = cmp_str0(x->cond.title, y->cond.title);
    return c ? c : cmp_str0(x->cond.expression, y->cond.expression);
}

/* Append "-" and the slug of s (lowercase letters, digits, '.', '-') to b,
 * or start b with it when b is empty. */
static void slug(struct dl_buf *b, const char *s)
{
    int dash = b->len > 0;

    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)tolower((unsigned char)*s);

        if (isalnum(ch) || ch == '.') {
            if (dash && b->len)
                (void)dl_buf_putc(b, '-');
            dash = 0;
            (void)dl_buf_putc(b, (char)ch);
        } else {
            dash = 1;
        }
    }
}

/* A metadata.name for an IAM document, unique in the output. */
static char *iam_name(struct render *r, const char *role, const char *cond,
                      const char *member)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    char *base, *name;
    int k = 1;

    slug(&b, strncmp(role, "roles/", 6) == 0 ? role + 6 : role);
    slug(&b, cond);
    slug(&b, member);
    if (b.len > 200)
        dl_buf_truncate(&b, 200);
    while (b.len && (b.ptr[b.len - 1] == '.' || b.ptr[b.len - 1] == '-'))
        dl_buf_truncate(&b, b.len - 1);
    base = dl_buf_take(&b);
    if (!*base || dl_check_resource_name(base)) {
        free(base);
        base = dl_strdup("binding");
    }
    name = dl_strdup(base);
    for (;;) {
        size_t i;

        for (i = 0; i < r->n_names && strcmp(r->names[i], name) != 0; i++)
            ;
        if (i == r->n_names)
            break;
        free(name);
        name = dl_asprintf("%s-%d", base, ++k);
    }
    free(base);
    r->names = dl_reallocarray(r->names, r->n_names + 1, sizeof(*r->names));
    r->names[r->n_names++] = name;
    return name;
}

static json_t *condition_json(const struct bkey *k)
{
    json_t *c = json_object();

    json_object_set_new(c, "title", json_string(k->cond.title));
    if (k->cond.description && *k->cond.description)
        json_object_set_new(c, "description", json_string(k->cond.description));
    json_object_set_new(c, "expression", json_string(k->cond.expression));
    return c;
}

static void render_binding(struct render *r, struct dl_buf *b,
                           const struct bkey *k)
{
    const struct dl_iam_condition *cond = k->has_cond ? &k->cond : NULL;
    int found = 0;
    json_t *members = dl_iam_members_of(r->live->policy, k->role, cond, &found);
    json_t *ok = json_array(), *m;
    size_t i, bad = 0;
    char *name;

    json_array_foreach(members, i, m)
    {
        if (dl_check_member(json_string_value(m))) {
            warn(r, "role '%s'%s%s%s: member '%s' cannot be declared; left out",
                 k->role, cond ? " (condition '" : "", cond ? cond->title : "",
                 cond ? "')" : "", json_string_value(m));
            bad++;
        } else {
            json_array_append(ok, m);
        }
    }
    if (bad == 0 && json_array_size(ok) > 0) {
        /* Every member can be declared: the role as a whole. */
        json_t *doc;

        name = iam_name(r, k->role, cond ? cond->title : NULL, NULL);
        doc = doc_new("IAMPolicyBinding", name);
        json_object_set_new(
            doc, "spec",
            json_pack("{s:s,s:O}", "role", k->role, "members", ok));
        if (cond)
            json_object_set_new(json_object_get(doc, "spec"), "condition",
                                condition_json(k));
        put_doc(b, doc, NULL);
        json_decref(doc);
        r->res->n_bindings++;
    } else {
        /* An authoritative binding would remove the members it cannot
         * name: declare the others one by one (additive). */
        json_array_foreach(ok, i, m)
        {
            json_t *doc;

            name = iam_name(r, k->role, cond ? cond->title : NULL,
                            json_string_value(m));
            doc = doc_new("IAMPolicyMember", name);
            json_object_set_new(
                doc, "spec",
                json_pack("{s:s,s:O}", "role", k->role, "member", m));
            if (cond)
                json_object_set_new(json_object_get(doc, "spec"), "condition",
                                    condition_json(k));
            put_doc(b, doc, NULL);
            json_decref(doc);
            r->res->n_members++;
        }
    }
    json_decref(ok);
    json_decref(members);
}

static void render_iam(struct render *r)
{
    const json_t *bindings = json_object_get(r->live->policy, "bindings"), *bd;
    size_t n = json_array_size(bindings), nk = 0, i;
    struct bkey *keys = dl_calloc(n + 1, sizeof(*keys));
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);

    json_array_foreach(bindings, i, bd)
    {
        const char *role = sget(bd, "role");
        const json_t *c = json_object_get(bd, "condition");
        struct bkey k = {.role = role};
        size_t j;

        if (!role)
            continue;
        if (dl_check_role(role)) {
            warn(r, "role '%s' cannot be declared; its binding was left out",
                 role);
            continue;
        }
        if (c) {
            const char *title = sget(c, "title"), *expr = sget(c, "expression");

            if (!title || !*title || !expr || !*expr) {
                warn(r,
                     "role '%s': a condition without a title or an "
                     "expression cannot be declared; its binding was left "
                     "out",
                     role);
                continue;
            }
            k.has_cond = 1;
            k.cond.title = dl_strdup(title);
            k.cond.description = dl_strdup(sget(c, "description"));
            k.cond.expression = dl_strdup(expr);
        }
        for (j = 0; j < nk && cmp_bkey(&keys[j], &k) != 0; j++)
            ;
        if (j == nk)
            keys[nk++] = k;
        else
            free_bkey(&k);
    }
    qsort(keys, nk, sizeof(*keys), cmp_bkey);
    for (i = 0; i < nk; i++)
        render_binding(r, &b, &keys[i]);
    if (b.len) {
        struct dl_buf t = DL_BUF_INIT(DL_BUF_NOCAP);

        (void)dl_buf_printf(
            &t,
            "# IAM policy of project '%s', imported as live: one\n"
            "# IAMPolicyBinding per role (authoritative for that role), or\n"
            "# IAMPolicyMember documents where a member cannot be declared.\n",
            r->live->project);
        (void)dl_buf_put(&t, b.ptr, b.len);
        add_file(r, dl_strdup("iam.yaml"), &t);
    }
    dl_buf_dispose(&b);
    for (i = 0; i < nk; i++)
        free_bkey(&keys[i]);
    free(keys);
}

/* ---- render ------------------------------------------------------------- */

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const struct dl_import_file *)a)->path,
                  ((const struct dl_import_file *)b)->path);
}

int dl_import_render(struct dl_import_result **out,
                     const struct dl_import_live *live, struct dl_err *err)
{
    struct render r = {.live = live};

    *out = NULL;
    if (!live->project || !*live->project || live->n_regions == 0 ||
        !live->regions[0])
        return dl_err_set(err, DL_EINVALID,
                          "import needs a project and at least one region");
    r.res = dl_calloc(1, sizeof(*r.res));
    render_project(&r);
    render_services(&r);
    render_iam(&r);
    qsort(r.res->files, r.res->n_files, sizeof(*r.res->files), cmp_file);
    for (size_t i = 0; i < r.n_names; i++)
        free(r.names[i]);
    free(r.names);
    *out = r.res;
    return 0;
}

void dl_import_result_free(struct dl_import_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_files; i++) {
        free(r->files[i].path);
        free(r->files[i].text);
    }
    for (size_t i = 0; i < r->n_warnings; i++)
        free(r->warnings[i]);
    free(r->files);
    free(r->warnings);
    free(r);
}
