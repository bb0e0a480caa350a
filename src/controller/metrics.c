/*
 * metrics.c - Prometheus registry and text format 0.0.4 exposition.
 */
#include "controller/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/time.h"

struct series {
    char **values; /* nlabels strings, owned */
    double value;  /* counter or gauge */
    double sum;    /* histogram */
    uint64_t count;
    uint64_t *buckets; /* histogram: per-bucket (not cumulative) counts */
};

struct dl_metric_family {
    struct dl_metrics *reg;
    enum dl_metric_type type;
    char *name;
    char *help;
    char *labels[DL_METRICS_MAX_LABELS];
    size_t nlabels;
    double bounds[DL_METRICS_MAX_BUCKETS];
    size_t nbounds;
    struct series **series; /* sorted by label values */
    size_t nseries, series_cap;
};

struct dl_metrics {
    pthread_mutex_t lock;
    struct dl_metric_family **fams;
    size_t nfams, fams_cap;
};

struct dl_metrics *dl_metrics_new(void)
{
    struct dl_metrics *m = dl_calloc(1, sizeof(*m));

    pthread_mutex_init(&m->lock, NULL);
    return m;
}

static void series_free(struct series *s, size_t nlabels)
{
    if (!s)
        return;
    for (size_t i = 0; i < nlabels; i++)
        free(s->values[i]);
    free(s->values);
    free(s->buckets);
    free(s);
}

static void family_clear_locked(struct dl_metric_family *f)
{
    for (size_t i = 0; i < f->nseries; i++)
        series_free(f->series[i], f->nlabels);
    f->nseries = 0;
}

void dl_metrics_free(struct dl_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nfams; i++) {
        struct dl_metric_family *f = m->fams[i];

        family_clear_locked(f);
        free(f->series);
        free(f->name);
        free(f->help);
        for (size_t j = 0; j < f->nlabels; j++)
            free(f->labels[j]);
        free(f);
    }
    free(m->fams);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static int valid_name(const char *s, int colon_ok)
{
    if (!s || !*s)
        return 0;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (colon_ok && c == ':') || (i > 0 && c >= '0' && c <= '9');

        if (!ok)
            return 0;
    }
    return 1;
}

int dl_metrics_register(struct dl_metric_family **out, struct dl_metrics *m,
                        enum dl_metric_type type, const char *name,
                        const char *help, const char *const *label_names,
                        size_t nlabels, const double *buckets, size_t nbuckets,
                        struct dl_err *err)
{
    struct dl_metric_family *f = NULL;
    int rc = 0;

    *out = NULL;
    if (!valid_name(name, 1))
        return dl_err_set(err, DL_EINVALID, "invalid metric name \"%s\"",
                          name ? name : "");
    if (nlabels > DL_METRICS_MAX_LABELS)
        return dl_err_set(err, DL_EINVALID,
                          "metric \"%s\" has %zu labels, the limit is %d", name,
                          nlabels, DL_METRICS_MAX_LABELS);
    for (size_t i = 0; i < nlabels; i++) {
        const char *l = label_names[i];

        if (!valid_name(l, 0) || strncmp(l, "__", 2) == 0 ||
            (type == DL_METRIC_HISTOGRAM && strcmp(l, "le") == 0))
            return dl_err_set(err, DL_EINVALID,
                              "metric \"%s\": invalid label name \"%s\"", name,
                              l ? l : "");
        for (size_t j = 0; j < i; j++)
            if (strcmp(label_names[j], l) == 0)
                return dl_err_set(err, DL_EINVALID,
                                  "metric \"%s\": duplicate label \"%s\"", name,
                                  l);
    }
    if (type == DL_METRIC_HISTOGRAM) {
        if (nbuckets < 1 || nbuckets > DL_METRICS_MAX_BUCKETS)
            return dl_err_set(err, DL_EINVALID,
                              "histogram \"%s\" needs 1 to %d buckets, not %zu",
                              name, DL_METRICS_MAX_BUCKETS, nbuckets);
        for (size_t i = 0; i < nbuckets; i++) {
            if (!isfinite(buckets[i]) ||
                (i > 0 && buckets[i] <= buckets[i - 1]))
                return dl_err_set(err, DL_EINVALID,
                                  "histogram \"%s\": buckets must be finite "
                                  "and strictly increasing",
                                  name);
        }
    } else if (nbuckets != 0) {
        return dl_err_set(err, DL_EINVALID,
                          "metric \"%s\": only histograms have buckets", name);
    }

    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->nfams; i++) {
        if (strcmp(m->fams[i]->name, name) == 0) {
            rc = dl_err_set(err, DL_EINVALID,
                            "metric \"%s\" is already registered", name);
            goto done;
        }
    }
    f = dl_calloc(1, sizeof(*f));
    f->reg = m;
    f->type = type;
    f->name = dl_strdup(name);
    f->help = dl_strdup(help ? help : "");
    for (size_t i = 0; i < nlabels; i++)
        f->labels[i] = dl_strdup(label_names[i]);
    f->nlabels = nlabels;
    for (size_t i = 0; i < nbuckets; i++)
        f->bounds[i] = buckets[i];
    f->nbounds = type == DL_METRIC_HISTOGRAM ? nbuckets : 0;
    if (m->nfams == m->fams_cap) {
        m->fams_cap = m->fams_cap ? m->fams_cap * 2 : 8;
        m->fams = dl_reallocarray(m->fams, m->fams_cap, sizeof(*m->fams));
    }
    m->fams[m->nfams++] = f;
    *out = f;
done:
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static const char *val(const char *const *values, size_t i)
{
    return values && values[i] ? values[i] : "";
}

static int cmp_values(char *const *a, const char *const *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int c = strcmp(a[i], val(b, i));

        if (c)
            return c;
    }
    return 0;
}

/* Index of the series, or of where it would go (*found 0). Lock held. */
static size_t find_series(struct dl_metric_family *f, const char *const *values,
                          int *found)
{
    size_t lo = 0, hi = f->nseries;

    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_values(f->series[mid]->values, values, f->nlabels);

        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The series for values, created if needed; NULL past the cap. Lock held. */
static struct series *get_series(struct dl_metric_family *f,
                                 const char *const *values)
{
    int found;
    size_t at = find_series(f, values, &found);
    struct series *s;

    if (found)
        return f->series[at];
    if (f->nseries >= DL_METRICS_MAX_SERIES)
        return NULL;
    s = dl_calloc(1, sizeof(*s));
    s->values = dl_calloc(f->nlabels ? f->nlabels : 1, sizeof(char *));
    for (size_t i = 0; i < f->nlabels; i++)
        s->values[i] = dl_strdup(val(values, i));
    if (f->type == DL_METRIC_HISTOGRAM)
        s->buckets = dl_calloc(f->nbounds, sizeof(uint64_t));
    if (f->nseries == f->series_cap) {
        f->series_cap = f->series_cap ? f->series_cap * 2 : 8;
        f->series =
            dl_reallocarray(f->series, f->series_cap, sizeof(*f->series));
    }
    memmove(f->series + at + 1, f->series + at,
            (f->nseries - at) * sizeof(*f->series));
    f->series[at] = s;
    f->nseries++;
    return s;
}

enum op { OP_COUNTER_ADD, OP_GAUGE_SET, OP_GAUGE_ADD, OP_OBSERVE };

static int update(struct dl_metric_family *f, const char *const *values,
                  enum op op, double v)
{
    static const enum dl_metric_type want[] = {
        [OP_COUNTER_ADD] = DL_METRIC_COUNTER,
        [OP_GAUGE_SET] = DL_METRIC_GAUGE,
        [OP_GAUGE_ADD] = DL_METRIC_GAUGE,
        [OP_OBSERVE] = DL_METRIC_HISTOGRAM,
    };
    struct series *s;
    int rc = 0;

    if (!f || f->type != want[op])
        return DL_EINVALID;
    if ((op == OP_COUNTER_ADD && !(v >= 0)) || (op == OP_OBSERVE && isnan(v)))
        return DL_EINVALID;
    pthread_mutex_lock(&f->reg->lock);
    s = get_series(f, values);
    if (!s) {
        rc = DL_ELIMIT;
        goto done;
    }
    switch (op) {
    case OP_COUNTER_ADD:
    case OP_GAUGE_ADD:
        s->value += v;
        break;
    case OP_GAUGE_SET:
        s->value = v;
        break;
    case OP_OBSERVE:
        for (size_t i = 0; i < f->nbounds; i++) {
            if (v <= f->bounds[i]) {
                s->buckets[i]++;
                break;
            }
        }
        s->sum += v;
        s->count++;
        break;
    }
done:
    pthread_mutex_unlock(&f->reg->lock);
    return rc;
}

int dl_metrics_counter_add(struct dl_metric_family *f,
                           const char *const *values, double delta)
{
    return update(f, values, OP_COUNTER_ADD, delta);
}

int dl_metrics_gauge_set(struct dl_metric_family *f, const char *const *values,
                         double v)
{
    return update(f, values, OP_GAUGE_SET, v);
}

int dl_metrics_gauge_add(struct dl_metric_family *f, const char *const *values,
                         double delta)
{
    return update(f, values, OP_GAUGE_ADD, delta);
}

int dl_metrics_histogram_observe(struct dl_metric_family *f,
                                 const char *const *values, double v)
{
    return update(f, values, OP_OBSERVE, v);
}

void dl_metrics_family_clear(struct dl_metric_family *f)
{
    pthread_mutex_lock(&f->reg->lock);
    family_clear_locked(f);
    pthread_mutex_unlock(&f->reg->lock);
}

int dl_metrics_get(double *out, struct dl_metric_family *f,
                   const char *const *values)
{
    int found;
    size_t at;

    pthread_mutex_lock(&f->reg->lock);
    at = find_series(f, values, &found);
    if (found) {
        struct series *s = f->series[at];

        *out = f->type == DL_METRIC_HISTOGRAM ? (double)s->count : s->value;
    }
    pthread_mutex_unlock(&f->reg->lock);
    return found ? 0 : DL_ENOTFOUND;
}

size_t dl_metrics_family_size(struct dl_metric_family *f)
{
    size_t n;

    pthread_mutex_lock(&f->reg->lock);
    n = f->nseries;
    pthread_mutex_unlock(&f->reg->lock);
    return n;
}

char *dl_metrics_format_value(char *out, size_t size, double v)
{
    if (isnan(v)) {
        snprintf(out, size, "NaN");
    } else if (isinf(v)) {
        snprintf(out, size, v > 0 ? "+Inf" : "-Inf");
    } else {
        snprintf(out, size, "%.15g", v);
        if (strtod(out, NULL) != v)
            snprintf(out, size, "%.17g", v);
    }
    return out;
}

/* HELP text escapes backslash and newline; label values also the quote. */
static int put_escaped(struct dl_buf *b, const char *s, int quote)
{
    int rc = 0;

    for (; *s && rc == 0; s++) {
        if (*s == '\\')
            rc = dl_buf_puts(b, "\\\\");
        else if (*s == '\n')
            rc = dl_buf_puts(b, "\\n");
        else if (quote && *s == '"')
            rc = dl_buf_puts(b, "\\\"");
        else
            rc = dl_buf_putc(b, *s);
    }
    return rc;
}

/* {a="x",b="y"[,le="..."]} or nothing when there are no labels at all. */
static int put_labels(struct dl_buf *b, const struct dl_metric_family *f,
                      const struct series *s, const char *le)
{
    int rc = 0;

    if (f->nlabels == 0 && !le)
        return 0;
    rc |= dl_buf_putc(b, '{');
    for (size_t i = 0; i < f->nlabels; i++) {
        rc |= dl_buf_printf(b, "%s%s=\"", i ? "," : "", f->labels[i]);
        rc |= put_escaped(b, s->values[i], 1);
        rc |= dl_buf_putc(b, '"');
    }
    if (le)
        rc |= dl_buf_printf(b, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    rc |= dl_buf_putc(b, '}');
    return rc ? DL_ELIMIT : 0;
}

static int render_family(struct dl_buf *b, const struct dl_metric_family *f)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    char num[32], le[32];
    int rc = 0;

    rc |= dl_buf_printf(b, "# HELP %s ", f->name);
    rc |= put_escaped(b, f->help, 0);
    rc |= dl_buf_printf(b, "\n# TYPE %s %s\n", f->name, types[f->type]);
    for (size_t i = 0; i < f->nseries && rc == 0; i++) {
        const struct series *s = f->series[i];

        if (f->type != DL_METRIC_HISTOGRAM) {
            rc |= dl_buf_puts(b, f->name);
            rc |= put_labels(b, f, s, NULL);
            rc |= dl_buf_printf(
                b, " %s\n",
                dl_metrics_format_value(num, sizeof(num), s->value));
            continue;
        }
        uint64_t cum = 0;

        for (size_t j = 0; j <= f->nbounds; j++) {
            if (j < f->nbounds) {
                cum += s->buckets[j];
                dl_metrics_format_value(le, sizeof(le), f->bounds[j]);
            } else {
                cum = s->count;
                snprintf(le, sizeof(le), "+Inf");
            }
            rc |= dl_buf_printf(b, "%s_bucket", f->name);
            rc |= put_labels(b, f, s, le);
            rc |= dl_buf_printf(b, " %llu\n", (unsigned long long)cum);
        }
        rc |= dl_buf_printf(b, "%s_sum", f->name);
        rc |= put_labels(b, f, s, NULL);
        rc |= dl_buf_printf(b, " %s\n",
                            dl_metrics_format_value(num, sizeof(num), s->sum));
        rc |= dl_buf_printf(b, "%s_count", f->name);
        rc |= put_labels(b, f, s, NULL);
        rc |= dl_buf_printf(b, " %llu\n", (unsigned long long)s->count);
    }
    return rc ? DL_ELIMIT : 0;
}

int dl_metrics_render(struct dl_buf *out, struct dl_metrics *m)
{
    int rc = 0;

    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->nfams && rc == 0; i++)
        rc = render_family(out, m->fams[i]);
    pthread_mutex_unlock(&m->lock);
    return rc;
}

/* ---- the controller's families ---- */

static struct dl_metric_family *
must_register(struct dl_metrics *m, enum dl_metric_type type, const char *name,
              const char *help, const char *const *labels, size_t nlabels)
{
    static const double pass_buckets[] = {DL_METRICS_PASS_BUCKETS};
    struct dl_metric_family *f = NULL;
    struct dl_err err;
    int h = type == DL_METRIC_HISTOGRAM;

    if (dl_metrics_register(
            &f, m, type, name, help, labels, nlabels, h ? pass_buckets : NULL,
            h ? sizeof(pass_buckets) / sizeof(double) : 0, &err) != 0)
        dl_fatal("metrics: %s", err.msg); /* a bug in the table below */
    return f;
}

void dl_metrics_controller_init(struct dl_controller_metrics *cm)
{
    static const char *const res[] = {"project", "kind", "status"};
    static const char *const result[] = {"result"};
    static const char *const api[] = {"api", "code"};
    static const char *const chg[] = {"kind", "action"};
    static const char *const commit[] = {"commit"};
    static const char *const docs[] = {"project", "collection"};
    static const char *const hyg[] = {"project", "kind", "name"};
    struct dl_metrics *m = dl_metrics_new();

    memset(cm, 0, sizeof(*cm));
    cm->registry = m;
    cm->resources = must_register(
        m, DL_METRIC_GAUGE, "driftless_resources",
        "Declared resources by project, kind and status in the last plan", res,
        3);
    cm->pass_duration =
        must_register(m, DL_METRIC_HISTOGRAM, "driftless_pass_duration_seconds",
                      "Duration of plan-and-apply passes", NULL, 0);
    cm->passes = must_register(m, DL_METRIC_COUNTER, "driftless_passes_total",
                               "Passes by result", result, 1);
    cm->api_requests = must_register(
        m, DL_METRIC_COUNTER, "driftless_api_requests_total",
        "Google API requests by API and HTTP status code", api, 2);
    cm->changes_applied =
        must_register(m, DL_METRIC_COUNTER, "driftless_changes_applied_total",
                      "Changes applied by resource kind and action", chg, 2);
    cm->last_success = must_register(
        m, DL_METRIC_GAUGE, "driftless_last_success_timestamp_seconds",
        "Unix time of the end of the last successful pass", NULL, 0);
    cm->source_commit = must_register(
        m, DL_METRIC_GAUGE, "driftless_source_commit_info",
        "The desired-state commit of the last pass (value is always 1)", commit,
        1);
    cm->firestore_documents = must_register(
        m, DL_METRIC_GAUGE, "driftless_firestore_documents",
        "Documents observed in Firestore collections under a policy", docs, 2);
    cm->hygiene_violating = must_register(
        m, DL_METRIC_GAUGE, "driftless_hygiene_violating",
        "Objects violating each hygiene policy (documents, tables, buckets) "
        "in the last plan",
        hyg, 3);
}

void dl_metrics_controller_dispose(struct dl_controller_metrics *cm)
{
    dl_metrics_free(cm->registry);
    memset(cm, 0, sizeof(*cm));
}

void dl_metrics_controller_set_plan(struct dl_controller_metrics *cm,
                                    const struct dl_plan *p)
{
    static const enum dl_plan_status all[] = {
        DL_PLAN_STATUS_IN_SYNC, DL_PLAN_STATUS_DRIFTED, DL_PLAN_STATUS_MISSING,
        DL_PLAN_STATUS_ERROR};
    struct dl_metric_family *f = cm->resources;

    /* Rebuild under the registry lock so a scrape never sees it half done:
       take the lock once and use the locked helpers. */
    pthread_mutex_lock(&f->reg->lock);
    family_clear_locked(f);
    for (size_t i = 0; i < p->nresources; i++) {
        const struct dl_plan_resource *r = p->resources[i];
        const char *v[3] = {r->project, r->kind, NULL};
        struct series *s;

        for (size_t j = 0; j < sizeof(all) / sizeof(all[0]); j++) {
            v[2] = dl_plan_status_name(all[j]);
            (void)get_series(f, v); /* zero for every status */
        }
        v[2] = dl_plan_status_name(r->status);
        s = get_series(f, v);
        if (s)
            s->value += 1;
    }
    pthread_mutex_unlock(&f->reg->lock);

    f = cm->hygiene_violating;
    pthread_mutex_lock(&f->reg->lock);
    family_clear_locked(f);
    for (size_t i = 0; i < p->nresources; i++) {
        const struct dl_plan_resource *r = p->resources[i];
        const char *v[3] = {r->project, r->kind, r->name};
        struct series *s;

        if (!r->hygiene || r->error)
            continue;
        s = get_series(f, v);
        if (s)
            s->value = (double)r->hygiene->violating;
    }
    pthread_mutex_unlock(&f->reg->lock);
}

void dl_metrics_controller_record_pass(struct dl_controller_metrics *cm,
                                       const char *result, int64_t duration_ns,
                                       int64_t end_ns)
{
    const char *v[1] = {result};

    (void)dl_metrics_counter_add(cm->passes, v, 1);
    (void)dl_metrics_histogram_observe(cm->pass_duration, NULL,
                                       (double)duration_ns / 1e9);
    if (result && strcmp(result, "success") == 0)
        (void)dl_metrics_gauge_set(cm->last_success, NULL,
                                   (double)(end_ns / DL_NS_PER_MS) / 1e3);
}

void dl_metrics_controller_set_commit(struct dl_controller_metrics *cm,
                                      const char *commit)
{
    struct dl_metric_family *f = cm->source_commit;
    const char *v[1] = {commit};
    struct series *s;

    pthread_mutex_lock(&f->reg->lock);
    family_clear_locked(f);
    s = get_series(f, v);
    if (s)
        s->value = 1;
    pthread_mutex_unlock(&f->reg->lock);
}

void dl_metrics_controller_count_request(struct dl_controller_metrics *cm,
                                         const char *api, int code)
{
    char c[16];
    const char *v[2] = {api, c};

    if (code > 0)
        snprintf(c, sizeof(c), "%d", code);
    else
        snprintf(c, sizeof(c), "error");
    (void)dl_metrics_counter_add(cm->api_requests, v, 1);
}

void dl_metrics_controller_count_changes(struct dl_controller_metrics *cm,
                                         const char *kind, const char *action,
                                         int64_t n)
{
    const char *v[2] = {kind, action};

    if (n > 0)
        (void)dl_metrics_counter_add(cm->changes_applied, v, (double)n);
}

void dl_metrics_controller_set_documents(struct dl_controller_metrics *cm,
                                         const char *project,
                                         const char *collection, int64_t n)
{
    const char *v[2] = {project, collection};

    (void)dl_metrics_gauge_set(cm->firestore_documents, v, (double)n);
}
