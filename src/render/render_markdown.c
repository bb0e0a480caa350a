/*
 * render_markdown.c - the plan as a pull-request comment (GitHub markdown).
 *
 * A title, the source, the closing "Plan: ..." line (or "No changes."), a
 * summary table, then one <details> section per resource that is not in
 * sync (grouped and sorted as in the text rendering) with a ```diff block
 * of its changes, hygiene numbers, samples and notes. Plan text is escaped
 * (HTML entities, markdown punctuation, control characters); values inside
 * the diff block sit after a "+ " / "- " prefix, so no value can close the
 * fence. The output stays within opts->markdown_max bytes: when the
 * sections do not fit, it stops at a section boundary and says how many
 * resources were left out.
 */
#include <stdlib.h>
#include <string.h>

#include "render/render.h"
#include "render/render_int.h"
#include "util/alloc.h"
#include "util/time.h"

/* Escape plan text for markdown outside code fences. */
static void md(struct dl_buf *b, const char *s)
{
    for (const char *p = s; *p; p++) {
        size_t unsafe = dl_render_unsafe_len(p);

        if (unsafe) {
            char seq[4] = {0};

            memcpy(seq, p, unsafe);
            dl_render_put_safe(b, seq);
            p += unsafe - 1;
            continue;
        }
        switch (*p) {
        case '&':
            (void)dl_buf_puts(b, "&amp;");
            break;
        case '<':
            (void)dl_buf_puts(b, "&lt;");
            break;
        case '>':
            (void)dl_buf_puts(b, "&gt;");
            break;
        case '\\':
        case '`':
        case '*':
        case '_':
        case '[':
        case ']':
        case '|':
        case '~':
        case '#':
        case '!':
            (void)dl_buf_putc(b, '\\');
            (void)dl_buf_putc(b, *p);
            break;
        default:
            (void)dl_buf_putc(b, *p);
        }
    }
}

/* <code>s</code>, s escaped. */
static void code(struct dl_buf *b, const char *s)
{
    (void)dl_buf_puts(b, "<code>");
    md(b, s);
    (void)dl_buf_puts(b, "</code>");
}

static void put_header(struct dl_buf *b, const struct dl_plan *p,
                       const struct dl_plan_summary *s, int changes)
{
    const struct dl_plan_source *src = &p->source;
    char sc[8], created[40];
    const struct {
        const char *label;
        int64_t n;
    } rows[] = {
        {"create", s->create}, {"update", s->update}, {"delete", s->delete},
        {"report", s->report}, {"error", s->error},   {"in sync", s->in_sync},
    };

    (void)dl_buf_puts(b, "### driftless plan\n\nSource: ");
    code(b, src->url[0] ? src->url : "(no url)");
    if (src->ref[0]) {
        (void)dl_buf_puts(b, " @ ");
        code(b, src->ref);
    }
    if (src->commit[0] || src->dirty) {
        (void)dl_buf_puts(b, " (");
        if (src->commit[0])
            code(b, dl_render_short_commit(sc, src->commit));
        (void)dl_buf_puts(b, src->commit[0] && src->dirty ? ", " : "");
        (void)dl_buf_puts(b, src->dirty ? "dirty" : "");
        (void)dl_buf_putc(b, ')');
    }
    if (src->path[0]) {
        (void)dl_buf_puts(b, ", path ");
        code(b, src->path);
    }
    (void)dl_buf_printf(
        b, ", created %s\n\n",
        dl_time_format_rfc3339(created, sizeof(created), p->created_at));
    if (changes) {
        (void)dl_buf_puts(b, "**");
        dl_render_put_plan_line(b, s);
        (void)dl_buf_puts(b, "**\n\n");
    } else {
        (void)dl_buf_puts(b, "**No changes.**\n\n");
    }
    (void)dl_buf_puts(b, "| Action | Count |\n| --- | ---: |\n");
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        (void)dl_buf_printf(b, "| %s | %lld |\n", rows[i].label,
                            (long long)rows[i].n);
}

static void put_summary_line(struct dl_buf *b, const struct dl_plan_resource *r)
{
    (void)dl_buf_puts(b, "<details><summary>");
    if (r->status == DL_PLAN_STATUS_ERROR) {
        (void)dl_buf_puts(b, "x error ");
    } else if (r->action == DL_PLAN_ACTION_CREATE) {
        (void)dl_buf_puts(b, "+ create ");
    } else if (r->action == DL_PLAN_ACTION_UPDATE) {
        (void)dl_buf_puts(b, "~ update ");
    } else if (r->action == DL_PLAN_ACTION_DELETE && r->hygiene) {
        (void)dl_buf_printf(b, "- delete %lld ",
                            (long long)r->hygiene->planned_deletes);
        md(b, r->hygiene->unit);
        (void)dl_buf_puts(b, " in ");
    } else if (r->action == DL_PLAN_ACTION_DELETE) {
        (void)dl_buf_puts(b, r->orphan ? "- delete orphan " : "- delete ");
    } else if (r->orphan) {
        (void)dl_buf_puts(b, "! report orphan ");
    } else if (r->status == DL_PLAN_STATUS_MISSING) {
        (void)dl_buf_puts(b, "! report missing ");
    } else {
        (void)dl_buf_puts(b, "! report drift ");
    }
    code(b, r->address);
    (void)dl_buf_puts(b, "</summary>\n\n");
}

static void diff_line(struct dl_buf *b, char sign, const char *path,
                      const json_t *v, int sensitive)
{
    (void)dl_buf_putc(b, sign);
    (void)dl_buf_putc(b, ' ');
    dl_render_put_safe(b, path);
    (void)dl_buf_puts(b, ": ");
    dl_render_put_change_value(b, v, sensitive);
    (void)dl_buf_putc(b, '\n');
}

/* "- " + line + "\n" when line is not empty. */
static void item(struct dl_buf *b, const struct dl_buf *line)
{
    if (!line->len)
        return;
    (void)dl_buf_puts(b, "- ");
    (void)dl_buf_put(b, line->ptr, line->len);
    (void)dl_buf_putc(b, '\n');
}

static void put_section(struct dl_buf *b, const struct dl_plan_resource *r)
{
    struct dl_buf l = DL_BUF_INIT(DL_BUF_NOCAP);
    char sc[8];
    int items = 0;

    put_summary_line(b, r);
    if (r->defined_file[0]) {
        (void)dl_buf_puts(b, "Defined at ");
        code(b, r->defined_file);
        (void)dl_buf_printf(b, " line %d", r->defined_line);
        if (r->defined_in_commit[0]) {
            (void)dl_buf_puts(b, ", last changed in ");
            code(b, dl_render_short_commit(sc, r->defined_in_commit));
        }
        (void)dl_buf_puts(b, ".\n\n");
    } else if (r->orphan) {
        (void)dl_buf_puts(b, "No longer declared.\n\n");
    }
    if (r->error) {
        (void)dl_buf_puts(b, "**Error:** ");
        md(b, r->error);
        (void)dl_buf_puts(b, "\n\n");
    }
    if (r->nchanges) {
        (void)dl_buf_puts(b, "```diff\n");
        for (size_t i = 0; i < r->nchanges; i++) {
            const struct dl_plan_change *c = &r->changes[i];

            if (c->before)
                diff_line(b, '-', c->path, c->before, c->sensitive);
            if (c->after)
                diff_line(b, '+', c->path, c->after, c->sensitive);
        }
        (void)dl_buf_puts(b, "```\n\n");
    }
    if (r->hygiene) {
        dl_render_hygiene_counts(&l, r->hygiene, md);
        item(b, &l);
        dl_buf_reset(&l);
        dl_render_hygiene_deletes(&l, r, md);
        item(b, &l);
        dl_buf_reset(&l);
        dl_render_hygiene_over(&l, r->hygiene, md);
        item(b, &l);
        dl_buf_reset(&l);
        for (size_t i = 0; i < r->hygiene->nsamples; i++) {
            (void)dl_buf_puts(&l, i ? ", " : "samples: ");
            code(&l, r->hygiene->samples[i]);
        }
        item(b, &l);
        items = 1;
    }
    for (size_t i = 0; i < r->nnotes; i++) {
        dl_buf_reset(&l);
        (void)dl_buf_puts(&l, "note: ");
        md(&l, r->notes[i]);
        item(b, &l);
        items = 1;
    }
    if (items)
        (void)dl_buf_putc(b, '\n');
    (void)dl_buf_puts(b, "</details>\n\n");
    dl_buf_dispose(&l);
}

static void put_cut_note(struct dl_buf *b, size_t left, size_t max)
{
    (void)dl_buf_printf(b,
                        "**%zu resource%s left out** to keep this comment "
                        "under %zu characters: see the JSON plan "
                        "(`--format json`) for the whole plan.\n",
                        left, dl_render_plural((long long)left), max);
}

static size_t cut_note_len(size_t left, size_t max)
{
    struct dl_buf t = DL_BUF_INIT(DL_BUF_NOCAP);
    size_t n;

    put_cut_note(&t, left, max);
    n = t.len;
    dl_buf_dispose(&t);
    return n;
}

static int render_markdown(const struct dl_plan *p,
                           const struct dl_render_opts *opts,
                           struct dl_buf *out, struct dl_err *err)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_buf sec = DL_BUF_INIT(DL_BUF_NOCAP);
    const struct dl_plan_resource **v = dl_plan_sorted(p);
    const struct dl_plan_resource **shown = NULL;
    size_t max = opts && opts->markdown_max ? opts->markdown_max
                                            : DL_RENDER_MARKDOWN_MAX;
    size_t nshown = 0;
    struct dl_plan_summary s;
    int rc = 0;

    dl_plan_summarize(p, &s);
    put_header(&b, p, &s, dl_plan_has_changes(p));
    /* The sections to show, in display order. */
    if (p->nresources)
        shown = dl_reallocarray(NULL, p->nresources, sizeof(*shown));
    for (int g = DL_RENDER_CHANGE; g <= DL_RENDER_ERROR; g++) {
        for (size_t i = 0; i < p->nresources; i++) {
            if ((int)dl_render_group_of(v[i]) == g)
                shown[nshown++] = v[i];
        }
    }
    if (nshown)
        (void)dl_buf_putc(&b, '\n');
    if (b.len + (nshown ? cut_note_len(nshown, max) : 0) > max) {
        rc = dl_err_set(err, DL_ELIMIT,
                        "markdown limit of %zu bytes is too small for the "
                        "plan header",
                        max);
        goto done;
    }
    for (size_t i = 0; i < nshown; i++) {
        size_t left_after = nshown - i - 1;
        int g = (int)dl_render_group_of(shown[i]);

        dl_buf_reset(&sec);
        if (i == 0 || (int)dl_render_group_of(shown[i - 1]) != g)
            (void)dl_buf_printf(&sec, "#### %s\n\n", dl_render_group_titles[g]);
        put_section(&sec, shown[i]);
        /* Keep room for the note about what would still be left out. */
        if (b.len + sec.len + (left_after ? cut_note_len(left_after, max) : 0) >
            max) {
            put_cut_note(&b, nshown - i, max);
            break;
        }
        (void)dl_buf_put(&b, sec.ptr, sec.len);
    }
    rc = dl_render_emit(out, &b, err);
done:
    dl_buf_dispose(&sec);
    dl_buf_dispose(&b);
    free(shown);
    free(v);
    return rc;
}

const struct dl_renderer dl_renderer_markdown = {
    .name = "markdown",
    .render = render_markdown,
};
