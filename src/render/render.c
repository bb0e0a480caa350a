#include "render/render.h"

#include <stdlib.h>
#include <string.h>

#include "render/render_int.h"

const struct dl_renderer *const dl_renderers[] = {
    &dl_renderer_text,
    &dl_renderer_markdown,
    &dl_renderer_json,
    NULL,
};

const struct dl_renderer *dl_renderer_find(const char *name)
{
    for (size_t i = 0; name && dl_renderers[i]; i++) {
        if (strcmp(dl_renderers[i]->name, name) == 0)
            return dl_renderers[i];
    }
    return NULL;
}

int dl_render(const char *name, const struct dl_plan *p,
              const struct dl_render_opts *opts, struct dl_buf *out,
              struct dl_err *err)
{
    const struct dl_renderer *r = dl_renderer_find(name);

    if (!r)
        return dl_err_set(err, DL_EINVALID,
                          "unknown format '%s' (want text, markdown, json)",
                          name ? name : "");
    return r->render(p, opts, out, err);
}

const char *dl_render_short_commit(char out[8], const char *commit)
{
    size_t n = strlen(commit);

    if (n > 7)
        n = 7;
    memcpy(out, commit, n);
    out[n] = '\0';
    return out;
}

size_t dl_render_unsafe_len(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if ((p[0] && p[0] < 0x20) || p[0] == 0x7f)
        return 1;
    /* C1 controls (U+0080..U+009F): some terminals obey them. */
    if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
        return 2;
    /* Bidirectional overrides and isolates would let a name display as
       something else ("Trojan Source"). */
    if (p[0] == 0xe2 && ((p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae) ||
                         (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)))
        return 3;
    return 0;
}

void dl_render_put_safe(struct dl_buf *b, const char *s)
{
    for (const char *p = s; *p; p++) {
        const unsigned char *u = (const unsigned char *)p;

        switch (dl_render_unsafe_len(p)) {
        case 0:
            (void)dl_buf_putc(b, *p);
            break;
        case 1:
            if (*p == '\n')
                (void)dl_buf_puts(b, "\\n");
            else if (*p == '\t')
                (void)dl_buf_puts(b, "\\t");
            else
                (void)dl_buf_printf(b, "\\x%02x", u[0]);
            break;
        case 2:
            (void)dl_buf_printf(b, "\\u%04x", u[1]);
            p++;
            break;
        default:
            (void)dl_buf_printf(b, "\\u%04x",
                                0x2000 + ((u[1] & 0x3f) << 6) + (u[2] & 0x3f));
            p += 2;
            break;
        }
    }
}

void dl_render_put_value(struct dl_buf *b, const json_t *v)
{
    char *s;

    if (!v) {
        (void)dl_buf_puts(b, "(absent)");
        return;
    }
    s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    /* jansson escapes control characters; DEL and C1 may remain. */
    dl_render_put_safe(b, s ? s : "(unprintable)");
    free(s);
}

void dl_render_put_change_value(struct dl_buf *b, const json_t *v,
                                int sensitive)
{
    if (v && sensitive)
        (void)dl_buf_puts(b, DL_PLAN_SENSITIVE);
    else
        dl_render_put_value(b, v);
}

const char *dl_render_plural(long long n)
{
    return n == 1 ? "" : "s";
}

void dl_render_put_plan_line(struct dl_buf *b, const struct dl_plan_summary *s)
{
    (void)dl_buf_printf(b,
                        "Plan: %lld to create, %lld to change, %lld to "
                        "delete, %lld to report.",
                        (long long)s->create, (long long)s->update,
                        (long long)s->delete, (long long)s->report);
}

int dl_render_emit(struct dl_buf *out, const struct dl_buf *text,
                   struct dl_err *err)
{
    if (dl_buf_put(out, text->ptr ? text->ptr : "", text->len) < 0)
        return dl_err_set(err, DL_ELIMIT,
                          "rendered plan is %zu bytes, over the output limit "
                          "of %zu",
                          text->len, out->max);
    return 0;
}

enum dl_render_group dl_render_group_of(const struct dl_plan_resource *r)
{
    if (r->status == DL_PLAN_STATUS_ERROR)
        return DL_RENDER_ERROR;
    switch (r->action) {
    case DL_PLAN_ACTION_CREATE:
    case DL_PLAN_ACTION_UPDATE:
    case DL_PLAN_ACTION_DELETE:
        return DL_RENDER_CHANGE;
    case DL_PLAN_ACTION_REPORT:
        return DL_RENDER_REPORT;
    case DL_PLAN_ACTION_NONE:
        break;
    }
    return DL_RENDER_NONE;
}

const char *const dl_render_group_titles[3] = {
    [DL_RENDER_CHANGE] = "driftless will make these changes",
    [DL_RENDER_REPORT] = "Reported only (nothing will change)",
    [DL_RENDER_ERROR] = "Errors (these resources could not be planned)",
};

void dl_render_hygiene_counts(struct dl_buf *b, const struct dl_plan_hygiene *h,
                              dl_render_put_fn put)
{
    const struct {
        const char *name;
        int64_t v;
    } reasons[] = {
        {"id_format", h->id_format},
        {"stale", h->stale},
        {"over_limit", h->over_limit},
        {"empty", h->empty},
    };
    int first = 1;

    (void)dl_buf_printf(b, "%lld ", (long long)h->total);
    put(b, h->unit);
    if (!h->violating) {
        (void)dl_buf_puts(b, ", none violating");
        return;
    }
    (void)dl_buf_printf(b, ", %lld violating (", (long long)h->violating);
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
        if (!reasons[i].v)
            continue;
        (void)dl_buf_puts(b, first ? "" : ", ");
        put(b, reasons[i].name);
        (void)dl_buf_printf(b, " %lld", (long long)reasons[i].v);
        first = 0;
    }
    (void)dl_buf_putc(b, ')');
}

void dl_render_hygiene_deletes(struct dl_buf *b,
                               const struct dl_plan_resource *r,
                               dl_render_put_fn put)
{
    const struct dl_plan_hygiene *h = r->hygiene;

    if (r->action != DL_PLAN_ACTION_DELETE)
        return;
    (void)dl_buf_printf(b, "deletes %lld this run (cap %lld per run%s",
                        (long long)h->planned_deletes, (long long)h->cap,
                        h->cap_is_default ? ", the default" : "");
    if (h->violating > h->planned_deletes) {
        (void)dl_buf_printf(b, "; %lld left for later runs",
                            (long long)(h->violating - h->planned_deletes));
        if (h->cap_is_default && h->planned_deletes == h->cap)
            (void)dl_buf_puts(b, "; maxDeletesPerRun raises the cap");
    }
    (void)dl_buf_putc(b, ')');
    (void)put;
}

void dl_render_hygiene_over(struct dl_buf *b, const struct dl_plan_hygiene *h,
                            dl_render_put_fn put)
{
    if (!h->still_over_limit_after)
        return;
    (void)dl_buf_printf(b, "still %lld ", (long long)h->still_over_limit_after);
    put(b, h->unit);
    (void)dl_buf_puts(b, " over the limit after this run");
}
