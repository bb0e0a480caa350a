#include "model/diag.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/json_str.h"

void dl_diags_init(struct dl_diags *d)
{
    memset(d, 0, sizeof(*d));
}

void dl_diags_dispose(struct dl_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].file);
        free(d->v[i].message);
    }
    free(d->v);
    for (size_t i = 0; i < d->n_src; i++) {
        free(d->src[i].file);
        free(d->src[i].text);
    }
    free(d->src);
    memset(d, 0, sizeof(*d));
}

void dl_diags_vadd(struct dl_diags *d, const char *file, int line, int col,
                   const char *fmt, va_list ap)
{
    char msg[DL_DIAG_MSG_MAX];
    struct dl_diag *g;
    int n;

    if (d->n >= DL_DIAGS_MAX) {
        d->dropped++;
        return;
    }
    /* A message quoting a huge value is cut short, visibly. */
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (n < 0)
        snprintf(msg, sizeof(msg), "(unprintable message)");
    else if ((size_t)n >= sizeof(msg))
        memcpy(msg + sizeof(msg) - 4, "...", 4);
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 16;
        d->v = dl_reallocarray(d->v, d->cap, sizeof(*d->v));
    }
    g = &d->v[d->n++];
    g->file = dl_strdup(file ? file : "");
    g->line = line;
    g->col = col;
    g->message = dl_strdup(msg);
}

void dl_diags_add(struct dl_diags *d, const char *file, int line, int col,
                  const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    dl_diags_vadd(d, file, line, col, fmt, ap);
    va_end(ap);
}

void dl_diags_add_source(struct dl_diags *d, const char *file, const char *text,
                         size_t len)
{
    struct dl_diag_source *s = NULL;

    for (size_t i = 0; i < d->n_src; i++)
        if (strcmp(d->src[i].file, file) == 0)
            s = &d->src[i];
    if (!s) {
        if (d->n_src == d->cap_src) {
            d->cap_src = d->cap_src ? d->cap_src * 2 : 8;
            d->src = dl_reallocarray(d->src, d->cap_src, sizeof(*d->src));
        }
        s = &d->src[d->n_src++];
        s->file = dl_strdup(file);
    } else {
        free(s->text);
    }
    s->text = dl_malloc(len + 1);
    memcpy(s->text, text, len);
    s->text[len] = '\0';
    s->len = len;
}

size_t dl_diags_count(const struct dl_diags *d)
{
    return d->n + d->dropped;
}

size_t dl_diags_file_count(const struct dl_diags *d)
{
    size_t files = 0;

    for (size_t i = 0; i < d->n; i++) {
        size_t j;

        for (j = 0; j < i; j++)
            if (strcmp(d->v[j].file, d->v[i].file) == 0)
                break;
        if (j == i)
            files++;
    }
    return files;
}

static int cmp_diag(const struct dl_diag *a, const struct dl_diag *b)
{
    int c = strcmp(a->file, b->file);

    if (c)
        return c;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    if (a->col != b->col)
        return a->col < b->col ? -1 : 1;
    return strcmp(a->message, b->message);
}

void dl_diags_sort(struct dl_diags *d)
{
    /* Insertion sort: stable, and diagnostics arrive nearly sorted. */
    for (size_t i = 1; i < d->n; i++) {
        struct dl_diag t = d->v[i];
        size_t j = i;

        while (j > 0 && cmp_diag(&d->v[j - 1], &t) > 0) {
            d->v[j] = d->v[j - 1];
            j--;
        }
        d->v[j] = t;
    }
}

static const struct dl_diag_source *find_source(const struct dl_diags *d,
                                                const char *file)
{
    for (size_t i = 0; i < d->n_src; i++)
        if (strcmp(d->src[i].file, file) == 0)
            return &d->src[i];
    return NULL;
}

/* Append source line `line` of s and a caret under column col. */
static int put_excerpt(struct dl_buf *out, const struct dl_diag_source *s,
                       int line, int col)
{
    const char *p = s->text, *end = s->text + s->len, *eol;
    int rc;

    for (int l = 1; l < line; l++) {
        p = memchr(p, '\n', (size_t)(end - p));
        if (!p)
            return 0;
        p++;
    }
    eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol)
        eol = end;
    if (eol > p && eol[-1] == '\r')
        eol--;
    if ((rc = dl_buf_printf(out, "%5d | ", line)) < 0 ||
        (rc = dl_buf_put(out, p, (size_t)(eol - p))) < 0 ||
        (rc = dl_buf_puts(out, "\n      | ")) < 0)
        return rc;
    /* libyaml counts columns in characters: one space per code point (a
     * tab stays a tab so the caret lines up on any terminal). */
    for (int c = 1; c < col && p < eol; p++) {
        unsigned char ch = (unsigned char)*p;

        if ((ch & 0xC0) == 0x80)
            continue;
        if ((rc = dl_buf_putc(out, ch == '\t' ? '\t' : ' ')) < 0)
            return rc;
        c++;
    }
    return dl_buf_puts(out, "^\n");
}

int dl_diags_format_text(const struct dl_diags *d, struct dl_buf *out)
{
    int rc = 0;

    for (size_t i = 0; i < d->n && rc == 0; i++) {
        const struct dl_diag *g = &d->v[i];
        const struct dl_diag_source *s;

        if (g->line > 0)
            rc = dl_buf_printf(out, "%s:%d:%d: %s\n", g->file, g->line, g->col,
                               g->message);
        else
            rc = dl_buf_printf(out, "%s: %s\n", g->file, g->message);
        if (rc == 0 && g->line > 0 && (s = find_source(d, g->file)) != NULL)
            rc = put_excerpt(out, s, g->line, g->col);
    }
    if (rc == 0 && d->dropped)
        rc = dl_buf_printf(out, "... and %zu more\n", d->dropped);
    return rc;
}

int dl_diags_format_json(const struct dl_diags *d, struct dl_buf *out)
{
    int rc = dl_buf_putc(out, '[');

    for (size_t i = 0; i < d->n && rc == 0; i++) {
        const struct dl_diag *g = &d->v[i];

        if ((rc = dl_buf_puts(out, i ? ",\n  {\"file\": "
                                     : "\n  {\"file\": ")) < 0 ||
            (rc = dl_json_str_append(out, g->file)) < 0 ||
            (rc = dl_buf_printf(out,
                                ", \"line\": %d, \"column\": %d, "
                                "\"message\": ",
                                g->line, g->col)) < 0 ||
            (rc = dl_json_str_append(out, g->message)) < 0 ||
            (rc = dl_buf_putc(out, '}')) < 0)
            break;
    }
    if (rc == 0)
        rc = dl_buf_puts(out, d->n ? "\n]\n" : "]\n");
    return rc;
}

void dl_diags_print_text(const struct dl_diags *d, FILE *f)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);

    if (dl_diags_format_text(d, &b) == 0)
        fputs(dl_buf_cstr(&b), f);
    dl_buf_dispose(&b);
}
