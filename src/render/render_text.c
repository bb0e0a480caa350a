/*
 * render_text.c - the plan for a terminal, like Terraform's.
 *
 * A header naming the source, then one block per resource that is not in
 * sync, grouped (changes, reported only, errors) and sorted by address,
 * each with a symbol (+ create, ~ update, - delete, ! report, x error),
 * its position, field changes "path: before → after", hygiene counts and
 * notes; then the in-sync count and the closing "Plan: ..." line. ANSI
 * colour only when opts->color is set.
 */
#include <stdlib.h>
#include <string.h>

#include "render/render.h"
#include "render/render_int.h"
#include "util/time.h"

#define RESET "\033[0m"
#define BOLD "\033[1m"
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define RED "\033[31m"
#define CYAN "\033[36m"
#define BOLD_RED "\033[1;31m"

struct ctx {
    struct dl_buf *b;
    int color;
};

/* Append s in colour col (when colour is on). */
static void paint(struct ctx *c, const char *col, const char *s)
{
    if (c->color)
        (void)dl_buf_puts(c->b, col);
    dl_render_put_safe(c->b, s);
    if (c->color)
        (void)dl_buf_puts(c->b, RESET);
}

static void put_header(struct ctx *c, const struct dl_plan *p)
{
    const struct dl_plan_source *s = &p->source;
    char sc[8], created[40];

    (void)dl_buf_puts(c->b, "Source: ");
    dl_render_put_safe(c->b, s->url[0] ? s->url : "(no url)");
    if (s->ref[0]) {
        (void)dl_buf_puts(c->b, " @ ");
        dl_render_put_safe(c->b, s->ref);
    }
    if (s->commit[0] || s->dirty) {
        (void)dl_buf_puts(c->b, " (");
        dl_render_put_safe(c->b, dl_render_short_commit(sc, s->commit));
        (void)dl_buf_puts(c->b, s->commit[0] && s->dirty ? ", " : "");
        (void)dl_buf_puts(c->b, s->dirty ? "dirty" : "");
        (void)dl_buf_putc(c->b, ')');
    }
    if (s->path[0]) {
        (void)dl_buf_puts(c->b, ", path ");
        dl_render_put_safe(c->b, s->path);
    }
    (void)dl_buf_printf(
        c->b, "\nCreated: %s\n\n",
        dl_time_format_rfc3339(created, sizeof(created), p->created_at));
}

static void put_title(struct ctx *c, const struct dl_plan_resource *r)
{
    const char *sym, *col;

    switch (dl_render_group_of(r)) {
    case DL_RENDER_ERROR:
        sym = "x", col = BOLD_RED;
        break;
    case DL_RENDER_REPORT:
        sym = "!", col = CYAN;
        break;
    default:
        if (r->action == DL_PLAN_ACTION_CREATE)
            sym = "+", col = GREEN;
        else if (r->action == DL_PLAN_ACTION_DELETE)
            sym = "-", col = RED;
        else
            sym = "~", col = YELLOW;
        break;
    }
    (void)dl_buf_puts(c->b, "  ");
    paint(c, col, sym);
    (void)dl_buf_putc(c->b, ' ');
    paint(c, BOLD, r->address);
    if (r->status == DL_PLAN_STATUS_ERROR) {
        (void)dl_buf_puts(c->b, " could not be planned");
    } else if (r->action == DL_PLAN_ACTION_CREATE) {
        (void)dl_buf_puts(c->b, " will be created");
    } else if (r->action == DL_PLAN_ACTION_UPDATE) {
        (void)dl_buf_puts(c->b, " will be updated in place");
    } else if (r->action == DL_PLAN_ACTION_DELETE && r->hygiene) {
        (void)dl_buf_printf(c->b, ": %lld ",
                            (long long)r->hygiene->planned_deletes);
        dl_render_put_safe(c->b, r->hygiene->unit);
        (void)dl_buf_puts(c->b, " will be deleted");
    } else if (r->action == DL_PLAN_ACTION_DELETE) {
        (void)dl_buf_puts(c->b, r->orphan ? " will be deleted (orphan: no "
                                            "longer declared)"
                                          : " will be deleted");
    } else if (r->orphan) {
        (void)dl_buf_puts(c->b, " is no longer declared (orphan, report only)");
    } else if (r->status == DL_PLAN_STATUS_MISSING) {
        (void)dl_buf_puts(c->b, " is missing (report only)");
    } else {
        (void)dl_buf_puts(c->b, " has drifted (report only)");
    }
    (void)dl_buf_putc(c->b, '\n');
}

static void put_change(struct ctx *c, const struct dl_plan_change *ch)
{
    (void)dl_buf_puts(c->b, "      ");
    if (!ch->before && ch->after)
        paint(c, GREEN, "+");
    else if (ch->before && !ch->after)
        paint(c, RED, "-");
    else
        paint(c, YELLOW, "~");
    (void)dl_buf_putc(c->b, ' ');
    dl_render_put_safe(c->b, ch->path);
    (void)dl_buf_puts(c->b, ": ");
    if (ch->before && ch->after) {
        dl_render_put_change_value(c->b, ch->before, ch->sensitive);
        (void)dl_buf_puts(c->b, " \xe2\x86\x92 "); /* U+2192 → */
        dl_render_put_change_value(c->b, ch->after, ch->sensitive);
    } else {
        dl_render_put_change_value(c->b, ch->after ? ch->after : ch->before,
                                   ch->sensitive);
    }
    (void)dl_buf_putc(c->b, '\n');
}

/* A detail line: six spaces, then text built by the caller, then \n. */
static void detail(struct ctx *c, const struct dl_buf *line)
{
    if (!line->len)
        return;
    (void)dl_buf_puts(c->b, "      ");
    (void)dl_buf_put(c->b, line->ptr, line->len);
    (void)dl_buf_putc(c->b, '\n');
}

static void put_block(struct ctx *c, const struct dl_plan_resource *r)
{
    struct dl_buf l = DL_BUF_INIT(DL_BUF_NOCAP);
    char sc[8];

    put_title(c, r);
    if (r->defined_file[0]) {
        (void)dl_buf_puts(&l, "defined at ");
        dl_render_put_safe(&l, r->defined_file);
        (void)dl_buf_printf(&l, ":%d", r->defined_line);
        if (r->defined_in_commit[0]) {
            (void)dl_buf_puts(&l, " (last changed in ");
            dl_render_put_safe(
                &l, dl_render_short_commit(sc, r->defined_in_commit));
            (void)dl_buf_putc(&l, ')');
        }
        detail(c, &l);
    }
    for (size_t i = 0; i < r->nchanges; i++)
        put_change(c, &r->changes[i]);
    if (r->hygiene) {
        dl_buf_reset(&l);
        dl_render_hygiene_counts(&l, r->hygiene, dl_render_put_safe);
        detail(c, &l);
        dl_buf_reset(&l);
        dl_render_hygiene_deletes(&l, r, dl_render_put_safe);
        detail(c, &l);
        dl_buf_reset(&l);
        dl_render_hygiene_over(&l, r->hygiene, dl_render_put_safe);
        detail(c, &l);
        dl_buf_reset(&l);
        for (size_t i = 0; i < r->hygiene->nsamples; i++) {
            (void)dl_buf_puts(&l, i ? ", " : "samples: ");
            dl_render_put_safe(&l, r->hygiene->samples[i]);
        }
        detail(c, &l);
    }
    for (size_t i = 0; i < r->nnotes; i++) {
        dl_buf_reset(&l);
        (void)dl_buf_puts(&l, "note: ");
        dl_render_put_safe(&l, r->notes[i]);
        detail(c, &l);
    }
    if (r->error) {
        (void)dl_buf_puts(c->b, "      ");
        paint(c, BOLD_RED, "error:");
        (void)dl_buf_putc(c->b, ' ');
        dl_render_put_safe(c->b, r->error);
        (void)dl_buf_putc(c->b, '\n');
    }
    (void)dl_buf_putc(c->b, '\n');
    dl_buf_dispose(&l);
}

static int render_text(const struct dl_plan *p,
                       const struct dl_render_opts *opts, struct dl_buf *out,
                       struct dl_err *err)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    const struct dl_plan_resource **v = dl_plan_sorted(p);
    struct ctx c = {.b = &b, .color = opts && opts->color};
    struct dl_plan_summary s;
    int changes = dl_plan_has_changes(p), rc;

    dl_plan_summarize(p, &s);
    put_header(&c, p);
    if (!changes)
        (void)dl_buf_puts(&b, "No changes.\n\n");
    for (int g = DL_RENDER_CHANGE; g <= DL_RENDER_ERROR; g++) {
        int titled = 0;

        for (size_t i = 0; i < p->nresources; i++) {
            if ((int)dl_render_group_of(v[i]) != g)
                continue;
            if (!titled)
                (void)dl_buf_printf(&b, "%s:\n\n", dl_render_group_titles[g]);
            titled = 1;
            put_block(&c, v[i]);
        }
    }
    (void)dl_buf_printf(&b, "%lld resource%s in sync.\n", (long long)s.in_sync,
                        dl_render_plural(s.in_sync));
    if (s.error)
        (void)dl_buf_printf(&b, "%lld resource%s could not be planned.\n",
                            (long long)s.error, dl_render_plural(s.error));
    if (changes || s.report || s.error) {
        (void)dl_buf_putc(&b, '\n');
        if (c.color)
            (void)dl_buf_puts(&b, BOLD);
        dl_render_put_plan_line(&b, &s);
        if (c.color)
            (void)dl_buf_puts(&b, RESET);
        (void)dl_buf_putc(&b, '\n');
    }
    rc = dl_render_emit(out, &b, err);
    dl_buf_dispose(&b);
    free(v);
    return rc;
}

const struct dl_renderer dl_renderer_text = {
    .name = "text",
    .render = render_text,
};
