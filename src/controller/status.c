/*
 * status.c - the controller's status model and its JSON and HTML views.
 */
#include "controller/status.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/json_str.h"
#include "util/time.h"

#define MSG_MAX 256

struct res {
    char *address, *project, *kind, *name;
    enum dl_plan_status status;
    enum dl_plan_action action;
    enum dl_plan_mode mode;
    int orphan;
    int64_t last_change;
    char *message;
};

struct proj {
    char *id;
    int64_t counts[4]; /* by enum dl_plan_status */
    int64_t pending;   /* resources with action create/update/delete */
    int suspended;
    char *lease;
};

struct sample {
    int64_t at;
    int64_t drifted; /* status drifted or missing */
    int64_t errors;
    int64_t total;
};

struct dl_status {
    pthread_mutex_t lock;
    int64_t started_at;
    char *url, *ref, *mode, *version;
    unsigned shard_index, shard_count;

    struct res *res;
    size_t nres;
    struct proj *proj;
    size_t nproj, proj_cap;

    int have_plan;
    struct dl_plan_summary summary;
    int64_t plan_at;
    char *plan_commit;

    struct dl_status_pass *passes; /* ring */
    size_t max_passes, npasses, pass_next;
    struct sample *samples; /* ring */
    size_t max_samples, nsamples, sample_next;

    int ever_success;
    int64_t last_success_end;
};

const char *dl_pass_result_name(enum dl_pass_result r)
{
    switch (r) {
    case DL_PASS_SUCCESS:
        return "success";
    case DL_PASS_PARTIAL:
        return "partial";
    case DL_PASS_ERROR:
        return "error";
    }
    return "?";
}

struct dl_status *dl_status_new(size_t max_passes, size_t max_samples)
{
    struct dl_status *s = dl_calloc(1, sizeof(*s));

    pthread_mutex_init(&s->lock, NULL);
    s->started_at = dl_time_now_ns();
    s->max_passes = max_passes ? max_passes : DL_STATUS_DEFAULT_PASSES;
    s->max_samples = max_samples ? max_samples : DL_STATUS_DEFAULT_SAMPLES;
    s->passes = dl_calloc(s->max_passes, sizeof(*s->passes));
    s->samples = dl_calloc(s->max_samples, sizeof(*s->samples));
    s->url = dl_strdup("");
    s->ref = dl_strdup("");
    s->mode = dl_strdup("");
    s->version = dl_strdup("");
    s->plan_commit = dl_strdup("");
    s->shard_count = 1;
    return s;
}

static void res_dispose(struct res *r)
{
    free(r->address);
    free(r->project);
    free(r->kind);
    free(r->name);
    free(r->message);
}

void dl_status_free(struct dl_status *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nres; i++)
        res_dispose(&s->res[i]);
    free(s->res);
    for (size_t i = 0; i < s->nproj; i++) {
        free(s->proj[i].id);
        free(s->proj[i].lease);
    }
    free(s->proj);
    free(s->passes);
    free(s->samples);
    free(s->url);
    free(s->ref);
    free(s->mode);
    free(s->version);
    free(s->plan_commit);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static void replace(char **dst, const char *src)
{
    free(*dst);
    *dst = dl_strdup(src ? src : "");
}

void dl_status_set_info(struct dl_status *s, const char *url, const char *ref,
                        unsigned shard_index, unsigned shard_count,
                        const char *mode, const char *version)
{
    pthread_mutex_lock(&s->lock);
    replace(&s->url, url);
    replace(&s->ref, ref);
    replace(&s->mode, mode);
    replace(&s->version, version);
    s->shard_index = shard_index;
    s->shard_count = shard_count;
    pthread_mutex_unlock(&s->lock);
}

/* Lock held. Index of the project, created when missing. */
static struct proj *get_proj(struct dl_status *s, const char *id)
{
    size_t lo = 0, hi = s->nproj;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->proj[mid].id, id);

        if (c == 0)
            return &s->proj[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (s->nproj == s->proj_cap) {
        s->proj_cap = s->proj_cap ? s->proj_cap * 2 : 8;
        s->proj = dl_reallocarray(s->proj, s->proj_cap, sizeof(*s->proj));
    }
    memmove(s->proj + lo + 1, s->proj + lo, (s->nproj - lo) * sizeof(*s->proj));
    memset(&s->proj[lo], 0, sizeof(s->proj[lo]));
    s->proj[lo].id = dl_strdup(id);
    s->proj[lo].lease = dl_strdup("");
    s->nproj++;
    return &s->proj[lo];
}

/* Lock held: drop projects with no resources and no flags (a project
   removed from the desired state leaves the page). */
static void prune_projects(struct dl_status *s)
{
    size_t o = 0;

    for (size_t i = 0; i < s->nproj; i++) {
        struct proj *pj = &s->proj[i];
        int64_t n =
            pj->counts[0] + pj->counts[1] + pj->counts[2] + pj->counts[3];

        if (n == 0 && !pj->suspended && !*pj->lease) {
            free(pj->id);
            free(pj->lease);
            continue;
        }
        s->proj[o++] = *pj;
    }
    s->nproj = o;
}

static char *resource_message(const struct dl_plan_resource *r)
{
    struct dl_buf b = DL_BUF_INIT(MSG_MAX);

    if (r->error) {
        (void)dl_buf_puts(&b, r->error);
    } else if (r->nchanges > 0) {
        (void)dl_buf_printf(&b, "%zu change%s:", r->nchanges,
                            r->nchanges == 1 ? "" : "s");
        for (size_t i = 0; i < r->nchanges && i < 5; i++)
            if (dl_buf_printf(&b, "%s %s", i ? "," : "", r->changes[i].path))
                break;
        if (r->nchanges > 5)
            (void)dl_buf_puts(&b, ", ...");
    } else if (r->hygiene) {
        const struct dl_plan_hygiene *h = r->hygiene;

        (void)dl_buf_printf(&b, "%lld %s, %lld violating, %lld to delete",
                            (long long)h->total, h->unit ? h->unit : "objects",
                            (long long)h->violating,
                            (long long)h->planned_deletes);
    } else if (r->nnotes > 0) {
        (void)dl_buf_puts(&b, r->notes[0]);
    }
    /* One line: fold any newline a message may hold. */
    for (size_t i = 0; i < b.len; i++)
        if (b.ptr[i] == '\n' || b.ptr[i] == '\r')
            b.ptr[i] = ' ';
    return b.ptr ? dl_buf_take(&b) : dl_strdup("");
}

/* Lock held. The entry with address in the (sorted) old array, or NULL. */
static struct res *find_res(struct res *arr, size_t n, const char *address)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(arr[mid].address, address);

        if (c == 0)
            return &arr[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void dl_status_update_plan(struct dl_status *s, const struct dl_plan *p,
                           int64_t now)
{
    const struct dl_plan_resource **sorted = dl_plan_sorted(p);
    struct res *nr =
        p->nresources ? dl_calloc(p->nresources, sizeof(*nr)) : NULL;
    struct sample *smp;
    int64_t drifted = 0, errors = 0;

    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->nproj; i++) {
        memset(s->proj[i].counts, 0, sizeof(s->proj[i].counts));
        s->proj[i].pending = 0;
    }
    for (size_t i = 0; i < p->nresources; i++) {
        const struct dl_plan_resource *r = sorted[i];
        struct res *old = find_res(s->res, s->nres, r->address);
        struct res *n = &nr[i];
        struct proj *pj = get_proj(s, r->project);

        n->address = dl_strdup(r->address);
        n->project = dl_strdup(r->project);
        n->kind = dl_strdup(r->kind);
        n->name = dl_strdup(r->name);
        n->status = r->status;
        n->action = r->action;
        n->mode = r->mode;
        n->orphan = r->orphan;
        n->message = resource_message(r);
        n->last_change =
            (old && old->status == r->status && old->action == r->action)
                ? old->last_change
                : now;
        if ((unsigned)r->status < 4)
            pj->counts[r->status]++;
        if (r->action == DL_PLAN_ACTION_CREATE ||
            r->action == DL_PLAN_ACTION_UPDATE ||
            r->action == DL_PLAN_ACTION_DELETE)
            pj->pending++;
        if (r->status == DL_PLAN_STATUS_DRIFTED ||
            r->status == DL_PLAN_STATUS_MISSING)
            drifted++;
        else if (r->status == DL_PLAN_STATUS_ERROR)
            errors++;
    }
    for (size_t i = 0; i < s->nres; i++)
        res_dispose(&s->res[i]);
    free(s->res);
    s->res = nr;
    s->nres = p->nresources;
    prune_projects(s);

    s->have_plan = 1;
    dl_plan_summarize(p, &s->summary);
    s->plan_at = p->created_at ? p->created_at : now;
    replace(&s->plan_commit, p->source.commit);

    smp = &s->samples[s->sample_next];
    smp->at = now;
    smp->drifted = drifted;
    smp->errors = errors;
    smp->total = (int64_t)p->nresources;
    s->sample_next = (s->sample_next + 1) % s->max_samples;
    if (s->nsamples < s->max_samples)
        s->nsamples++;
    pthread_mutex_unlock(&s->lock);
    free(sorted);
}

void dl_status_mark_applied(struct dl_status *s, const char *address,
                            int64_t when, const char *message)
{
    struct res *r;

    pthread_mutex_lock(&s->lock);
    r = find_res(s->res, s->nres, address);
    if (r) {
        r->last_change = when;
        if (message) {
            replace(&r->message, message);
            for (char *c = r->message; *c; c++)
                if (*c == '\n' || *c == '\r')
                    *c = ' ';
        }
    }
    pthread_mutex_unlock(&s->lock);
}

void dl_status_set_project(struct dl_status *s, const char *project,
                           int suspended, const char *lease)
{
    struct proj *pj;

    pthread_mutex_lock(&s->lock);
    pj = get_proj(s, project);
    pj->suspended = suspended;
    replace(&pj->lease, lease);
    pthread_mutex_unlock(&s->lock);
}

void dl_status_record_pass(struct dl_status *s,
                           const struct dl_status_pass *pass)
{
    struct dl_status_pass *d;

    pthread_mutex_lock(&s->lock);
    d = &s->passes[s->pass_next];
    *d = *pass;
    d->commit[sizeof(d->commit) - 1] = '\0';
    d->message[sizeof(d->message) - 1] = '\0';
    for (char *c = d->message; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    s->pass_next = (s->pass_next + 1) % s->max_passes;
    if (s->npasses < s->max_passes)
        s->npasses++;
    if (pass->result == DL_PASS_SUCCESS) {
        s->ever_success = 1;
        s->last_success_end = pass->started_at + pass->duration_ns;
    }
    pthread_mutex_unlock(&s->lock);
}

int dl_status_ready(struct dl_status *s, int64_t now, int64_t max_age_ns,
                    char *reason, size_t reason_size)
{
    char d[32];
    int ready = 0;

    pthread_mutex_lock(&s->lock);
    if (!s->ever_success) {
        snprintf(reason, reason_size, "no pass has succeeded yet");
    } else if (max_age_ns > 0 && now - s->last_success_end > max_age_ns) {
        snprintf(reason, reason_size, "last successful pass ended %s ago",
                 dl_duration_format(d, sizeof(d), now - s->last_success_end));
    } else {
        ready = 1;
        if (reason_size)
            reason[0] = '\0';
    }
    pthread_mutex_unlock(&s->lock);
    return ready;
}

int dl_status_readyz(void *ctx, char *reason, size_t reason_size)
{
    const struct dl_status_readiness *r = ctx;

    return dl_status_ready(r->status, dl_time_now_ns(), r->max_age_ns, reason,
                           reason_size);
}

/* Lock held: the i-th most recent pass (0 = newest). */
static const struct dl_status_pass *pass_at(const struct dl_status *s, size_t i)
{
    return &s->passes[(s->pass_next + s->max_passes - 1 - i) % s->max_passes];
}

/* Lock held: the i-th oldest sample (0 = oldest kept). */
static const struct sample *sample_at(const struct dl_status *s, size_t i)
{
    size_t first =
        (s->sample_next + s->max_samples - s->nsamples) % s->max_samples;

    return &s->samples[(first + i) % s->max_samples];
}

/* ---- JSON ---- */

static int json_time(struct dl_buf *b, int64_t t)
{
    char ts[40];

    if (t == 0)
        return dl_buf_puts(b, "null");
    return dl_buf_printf(b, "\"%s\"",
                         dl_time_format_rfc3339(ts, sizeof(ts), t));
}

static int json_kv_str(struct dl_buf *b, const char *key, const char *v,
                       int comma)
{
    int rc = dl_buf_printf(b, "%s\"%s\":", comma ? "," : "", key);

    return rc ? rc : dl_json_str_append(b, v ? v : "");
}

static int json_pass(struct dl_buf *b, const struct dl_status_pass *p)
{
    int rc = 0;

    rc |= dl_buf_puts(b, "{\"started_at\":");
    rc |= json_time(b, p->started_at);
    rc |= dl_buf_printf(b, ",\"duration_seconds\":%.3f",
                        (double)p->duration_ns / 1e9);
    rc |= json_kv_str(b, "result", dl_pass_result_name(p->result), 1);
    rc |= dl_buf_printf(b, ",\"changes_applied\":%lld",
                        (long long)p->changes_applied);
    rc |= json_kv_str(b, "commit", p->commit, 1);
    rc |= json_kv_str(b, "message", p->message, 1);
    rc |= dl_buf_putc(b, '}');
    return rc;
}

int dl_status_render_json(struct dl_buf *out, struct dl_status *s, int64_t now)
{
    int rc = 0;

    pthread_mutex_lock(&s->lock);
    rc |= dl_buf_puts(out, "{\"generated_at\":");
    rc |= json_time(out, now);
    rc |= dl_buf_puts(out, ",\"started_at\":");
    rc |= json_time(out, s->started_at);
    rc |= json_kv_str(out, "version", s->version, 1);
    rc |= json_kv_str(out, "mode", s->mode, 1);
    rc |= dl_buf_printf(out, ",\"shard\":{\"index\":%u,\"count\":%u}",
                        s->shard_index, s->shard_count);
    rc |= dl_buf_puts(out, ",\"source\":{");
    rc |= json_kv_str(out, "url", s->url, 0);
    rc |= json_kv_str(out, "ref", s->ref, 1);
    rc |= json_kv_str(out, "commit", s->plan_commit, 1);
    rc |= dl_buf_puts(out, "},\"last_pass\":");
    if (s->npasses)
        rc |= json_pass(out, pass_at(s, 0));
    else
        rc |= dl_buf_puts(out, "null");
    rc |= dl_buf_puts(out, ",\"last_plan\":");
    if (s->have_plan) {
        const struct dl_plan_summary *m = &s->summary;

        rc |= dl_buf_puts(out, "{\"created_at\":");
        rc |= json_time(out, s->plan_at);
        rc |= json_kv_str(out, "commit", s->plan_commit, 1);
        rc |= dl_buf_printf(out,
                            ",\"summary\":{\"resources\":%lld,\"in_sync\":%lld,"
                            "\"create\":%lld,\"update\":%lld,\"delete\":%lld,"
                            "\"report\":%lld,\"error\":%lld}}",
                            (long long)m->resources, (long long)m->in_sync,
                            (long long)m->create, (long long)m->update,
                            (long long)m->delete, (long long)m->report,
                            (long long)m->error);
    } else {
        rc |= dl_buf_puts(out, "null");
    }
    rc |= dl_buf_puts(out, ",\"projects\":[");
    for (size_t i = 0; i < s->nproj && rc == 0; i++) {
        const struct proj *pj = &s->proj[i];

        rc |= dl_buf_puts(out, i ? "," : "");
        rc |= dl_buf_putc(out, '{');
        rc |= json_kv_str(out, "id", pj->id, 0);
        rc |= dl_buf_printf(
            out,
            ",\"resources\":%lld,\"in_sync\":%lld,\"drifted\":%lld,"
            "\"missing\":%lld,\"error\":%lld,\"pending_changes\":%lld,"
            "\"suspended\":%s",
            (long long)(pj->counts[0] + pj->counts[1] + pj->counts[2] +
                        pj->counts[3]),
            (long long)pj->counts[0], (long long)pj->counts[1],
            (long long)pj->counts[2], (long long)pj->counts[3],
            (long long)pj->pending, pj->suspended ? "true" : "false");
        rc |= json_kv_str(out, "lease", pj->lease, 1);
        rc |= dl_buf_putc(out, '}');
    }
    rc |= dl_buf_puts(out, "],\"resources\":[");
    for (size_t i = 0; i < s->nres && rc == 0; i++) {
        const struct res *r = &s->res[i];

        rc |= dl_buf_puts(out, i ? "," : "");
        rc |= dl_buf_putc(out, '{');
        rc |= json_kv_str(out, "address", r->address, 0);
        rc |= json_kv_str(out, "project", r->project, 1);
        rc |= json_kv_str(out, "kind", r->kind, 1);
        rc |= json_kv_str(out, "name", r->name, 1);
        rc |= json_kv_str(out, "status", dl_plan_status_name(r->status), 1);
        rc |= json_kv_str(out, "action", dl_plan_action_name(r->action), 1);
        rc |= json_kv_str(out, "mode", dl_plan_mode_name(r->mode), 1);
        rc |= dl_buf_printf(out, ",\"orphan\":%s,\"last_change\":",
                            r->orphan ? "true" : "false");
        rc |= json_time(out, r->last_change);
        rc |= json_kv_str(out, "message", r->message, 1);
        rc |= dl_buf_putc(out, '}');
    }
    rc |= dl_buf_puts(out, "],\"passes\":[");
    for (size_t i = 0; i < s->npasses && rc == 0; i++) {
        rc |= dl_buf_puts(out, i ? "," : "");
        rc |= json_pass(out, pass_at(s, i));
    }
    rc |= dl_buf_puts(out, "],\"drift\":[");
    for (size_t i = 0; i < s->nsamples && rc == 0; i++) {
        const struct sample *m = sample_at(s, i);

        rc |= dl_buf_puts(out, i ? ",{\"time\":" : "{\"time\":");
        rc |= json_time(out, m->at);
        rc |= dl_buf_printf(out,
                            ",\"drifted\":%lld,\"errors\":%lld,"
                            "\"resources\":%lld}",
                            (long long)m->drifted, (long long)m->errors,
                            (long long)m->total);
    }
    rc |= dl_buf_puts(out, "]}\n");
    pthread_mutex_unlock(&s->lock);
    return rc ? DL_ELIMIT : 0;
}

/* ---- HTML ---- */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t want = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 0;

    if (want == 0 || want > n || !dl_utf8_valid((const char *)s, want))
        return 0;
    return want;
}

static uint32_t utf8_cp(const unsigned char *s, size_t len)
{
    if (len == 2)
        return (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
    if (len == 3)
        return (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 |
               (s[2] & 0x3f);
    return (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
           (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
}

#define REPLACEMENT "\xef\xbf\xbd"

int dl_status_html_escape(struct dl_buf *out, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    size_t n = strlen((const char *)s);
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0;) {
        unsigned char c = s[i];

        if (c < 0x80) {
            switch (c) {
            case '&':
                rc = dl_buf_puts(out, "&amp;");
                break;
            case '<':
                rc = dl_buf_puts(out, "&lt;");
                break;
            case '>':
                rc = dl_buf_puts(out, "&gt;");
                break;
            case '"':
                rc = dl_buf_puts(out, "&quot;");
                break;
            case '\'':
                rc = dl_buf_puts(out, "&#39;");
                break;
            default:
                if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
                    rc = dl_buf_puts(out, REPLACEMENT);
                else
                    rc = dl_buf_putc(out, (char)c);
            }
            i++;
            continue;
        }
        size_t len = utf8_len(s + i, n - i);
        uint32_t cp = len ? utf8_cp(s + i, len) : 0;

        if (len == 0 || (cp >= 0x80 && cp <= 0x9f) ||
            (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) {
            rc = dl_buf_puts(out, REPLACEMENT);
            i += len ? len : 1;
        } else {
            rc = dl_buf_put(out, s + i, len);
            i += len;
        }
    }
    return rc;
}

static int h(struct dl_buf *b, const char *s)
{
    return dl_status_html_escape(b, s);
}

static int html_time(struct dl_buf *b, int64_t t)
{
    char ts[40];

    if (t == 0)
        return dl_buf_puts(b, "&#8212;");
    return dl_buf_puts(b, dl_time_format_rfc3339(ts, sizeof(ts), t));
}

static const char STYLE[] =
    "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;"
    "vertical-align:top}"
    "th{background:#f2f2f2}td.num{text-align:right}"
    ".meta{color:#555}.mono{font-family:monospace}"
    ".in_sync,.success{color:#1a7f37}"
    ".drifted,.missing,.partial{color:#9a6700;font-weight:bold}"
    ".error{color:#cf222e;font-weight:bold}"
    "svg{border:1px solid #ccc;background:#fafafa}";

#define CHART_W 600
#define CHART_H 120

static int html_chart(struct dl_buf *b, const struct dl_status *s)
{
    int64_t top = 1;
    int rc = 0;
    double slot;

    for (size_t i = 0; i < s->nsamples; i++) {
        const struct sample *m = sample_at(s, i);

        if (m->drifted + m->errors > top)
            top = m->drifted + m->errors;
    }
    rc |= dl_buf_printf(b,
                        "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                        "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                        "role=\"img\" aria-label=\"Drifted resources over the "
                        "last %zu plans\" id=\"drift-chart\">",
                        CHART_W, CHART_H + 20, CHART_W, CHART_H + 20,
                        s->nsamples);
    slot = (double)CHART_W / (double)s->max_samples;
    for (size_t i = 0; i < s->nsamples && rc == 0; i++) {
        const struct sample *m = sample_at(s, i);
        double x = (double)i * slot + 1;
        double hd = (double)m->drifted * CHART_H / (double)top;
        double he = (double)m->errors * CHART_H / (double)top;
        char ts[40];

        dl_time_format_rfc3339(ts, sizeof(ts), m->at);
        rc |= dl_buf_printf(b,
                            "<g><title>%s: %lld drifted, %lld errors, %lld "
                            "resources</title>",
                            ts, (long long)m->drifted, (long long)m->errors,
                            (long long)m->total);
        rc |= dl_buf_printf(
            b,
            "<rect class=\"bar-drift\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
            "height=\"%.1f\" fill=\"#d4a72c\"/>",
            x, CHART_H - hd, slot > 2 ? slot - 2 : 1, hd);
        rc |= dl_buf_printf(
            b,
            "<rect class=\"bar-error\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
            "height=\"%.1f\" fill=\"#cf222e\"/></g>",
            x, CHART_H - hd - he, slot > 2 ? slot - 2 : 1, he);
    }
    rc |= dl_buf_printf(b,
                        "<line x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                        "stroke=\"#888\"/>"
                        "<text x=\"4\" y=\"12\" font-size=\"11\">max %lld"
                        "</text><text x=\"4\" y=\"%d\" font-size=\"11\">"
                        "oldest</text><text x=\"%d\" y=\"%d\" font-size=\"11\" "
                        "text-anchor=\"end\">newest</text></svg>",
                        CHART_H, CHART_W, CHART_H, (long long)top, CHART_H + 15,
                        CHART_W - 4, CHART_H + 15);
    return rc;
}

int dl_status_render_html(struct dl_buf *out, struct dl_status *s, int64_t now)
{
    struct dl_buf *b = out;
    char d[32];
    int rc = 0;

    pthread_mutex_lock(&s->lock);
    rc |=
        dl_buf_printf(b,
                      "<!DOCTYPE html>\n<html lang=\"en\"><head>"
                      "<meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width\">"
                      "<meta http-equiv=\"refresh\" content=\"60\">"
                      "<title>driftless status</title><style>%s</style>"
                      "</head>\n<body>\n<h1>driftless</h1>\n<p class=\"meta\">"
                      "Source <span class=\"mono\">",
                      STYLE);
    rc |= h(b, *s->url ? s->url : "(none)");
    rc |= dl_buf_puts(b, "</span> ref <span class=\"mono\">");
    rc |= h(b, *s->ref ? s->ref : "(default)");
    rc |= dl_buf_puts(b, "</span> commit <span class=\"mono\" id=\"commit\">");
    rc |= h(b, *s->plan_commit ? s->plan_commit : "(none yet)");
    rc |= dl_buf_printf(b, "</span> &#183; shard %u of %u &#183; mode ",
                        s->shard_index, s->shard_count);
    rc |= h(b, *s->mode ? s->mode : "(unknown)");
    rc |= dl_buf_puts(b, " &#183; version ");
    rc |= h(b, s->version);
    rc |= dl_buf_puts(b, "<br>Started ");
    rc |= html_time(b, s->started_at);
    rc |= dl_buf_puts(b, ", page generated ");
    rc |= html_time(b, now);
    rc |= dl_buf_puts(b, "</p>\n");

    rc |= dl_buf_puts(b, "<h2>Drift over time</h2>\n");
    if (s->nsamples)
        rc |= html_chart(b, s);
    else
        rc |= dl_buf_puts(b, "<p>No plans yet.</p>");

    rc |= dl_buf_puts(b, "\n<h2>Last plan</h2>\n");
    if (s->have_plan) {
        const struct dl_plan_summary *m = &s->summary;

        rc |= dl_buf_puts(b, "<p>Made ");
        rc |= html_time(b, s->plan_at);
        rc |= dl_buf_puts(b, " at commit <span class=\"mono\">");
        rc |= h(b, s->plan_commit);
        rc |= dl_buf_printf(
            b,
            "</span></p><table id=\"summary\"><tr><th>resources</th>"
            "<th>in sync</th><th>create</th><th>update</th><th>delete</th>"
            "<th>report</th><th>error</th></tr><tr><td class=\"num\">%lld</td>"
            "<td class=\"num\">%lld</td><td class=\"num\">%lld</td>"
            "<td class=\"num\">%lld</td><td class=\"num\">%lld</td>"
            "<td class=\"num\">%lld</td><td class=\"num\">%lld</td></tr>"
            "</table>",
            (long long)m->resources, (long long)m->in_sync,
            (long long)m->create, (long long)m->update, (long long)m->delete,
            (long long)m->report, (long long)m->error);
    } else {
        rc |= dl_buf_puts(b, "<p>No plan yet.</p>");
    }

    rc |= dl_buf_puts(b, "\n<h2>Projects</h2>\n");
    if (s->nproj == 0)
        rc |= dl_buf_puts(b, "<p>No projects yet.</p>");
    else
        rc |=
            dl_buf_puts(b, "<table id=\"projects\"><tr><th>project</th>"
                           "<th>resources</th><th>in sync</th><th>drifted</th>"
                           "<th>missing</th><th>error</th><th>pending changes"
                           "</th><th>suspended</th><th>lease</th></tr>");
    for (size_t i = 0; i < s->nproj && rc == 0; i++) {
        const struct proj *pj = &s->proj[i];

        rc |= dl_buf_puts(b, "<tr><td class=\"mono\">");
        rc |= h(b, pj->id);
        rc |= dl_buf_printf(
            b,
            "</td><td class=\"num\">%lld</td><td class=\"num\">%lld</td>"
            "<td class=\"num\">%lld</td><td class=\"num\">%lld</td>"
            "<td class=\"num\">%lld</td><td class=\"num\">%lld</td>"
            "<td>%s</td><td>",
            (long long)(pj->counts[0] + pj->counts[1] + pj->counts[2] +
                        pj->counts[3]),
            (long long)pj->counts[0], (long long)pj->counts[1],
            (long long)pj->counts[2], (long long)pj->counts[3],
            (long long)pj->pending, pj->suspended ? "yes" : "no");
        rc |= h(b, pj->lease);
        rc |= dl_buf_puts(b, "</td></tr>");
    }
    if (s->nproj)
        rc |= dl_buf_puts(b, "</table>");

    rc |= dl_buf_puts(b, "\n<h2>Resources</h2>\n");
    if (s->nres == 0)
        rc |= dl_buf_puts(b, "<p>No resources yet.</p>");
    else
        rc |= dl_buf_puts(b, "<table id=\"resources\"><tr><th>address</th>"
                             "<th>kind</th><th>status</th><th>action</th>"
                             "<th>mode</th><th>last change</th><th>message"
                             "</th></tr>");
    for (size_t i = 0; i < s->nres && rc == 0; i++) {
        const struct res *r = &s->res[i];
        const char *st = dl_plan_status_name(r->status);

        rc |= dl_buf_puts(b, "<tr><td class=\"mono\">");
        rc |= h(b, r->address);
        rc |= dl_buf_puts(b, "</td><td>");
        rc |= h(b, r->kind);
        rc |= dl_buf_printf(b,
                            "</td><td class=\"%s\">%s%s</td><td>%s</td>"
                            "<td>%s</td><td>",
                            st, st, r->orphan ? " (orphan)" : "",
                            dl_plan_action_name(r->action),
                            dl_plan_mode_name(r->mode));
        rc |= html_time(b, r->last_change);
        rc |= dl_buf_puts(b, "</td><td>");
        rc |= h(b, r->message);
        rc |= dl_buf_puts(b, "</td></tr>");
    }
    if (s->nres)
        rc |= dl_buf_puts(b, "</table>");

    rc |= dl_buf_puts(b, "\n<h2>Recent passes</h2>\n");
    if (s->npasses == 0)
        rc |= dl_buf_puts(b, "<p>No passes yet.</p>");
    else
        rc |= dl_buf_puts(b, "<table id=\"passes\"><tr><th>started</th>"
                             "<th>duration</th><th>result</th><th>changes "
                             "applied</th><th>commit</th><th>message</th>"
                             "</tr>");
    for (size_t i = 0; i < s->npasses && rc == 0; i++) {
        const struct dl_status_pass *p = pass_at(s, i);
        const char *res = dl_pass_result_name(p->result);

        rc |= dl_buf_puts(b, "<tr><td>");
        rc |= html_time(b, p->started_at);
        rc |= dl_buf_printf(
            b,
            "</td><td class=\"num\">%s</td><td class=\"%s\">%s</td>"
            "<td class=\"num\">%lld</td><td class=\"mono\">",
            dl_duration_format(d, sizeof(d), p->duration_ns), res, res,
            (long long)p->changes_applied);
        rc |= h(b, p->commit);
        rc |= dl_buf_puts(b, "</td><td>");
        rc |= h(b, p->message);
        rc |= dl_buf_puts(b, "</td></tr>");
    }
    if (s->npasses)
        rc |= dl_buf_puts(b, "</table>");
    rc |= dl_buf_puts(b, "\n</body></html>\n");
    pthread_mutex_unlock(&s->lock);
    return rc ? DL_ELIMIT : 0;
}
