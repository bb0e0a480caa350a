/*
 * man.c - driftless(1) from the help texts.
 *
 * The manual page is not written by hand: `driftless help --man` converts
 * the main help (dl_cli_help) and every command's usage text in dl_cmds
 * into roff with the man macros, so a command or flag added to the help is
 * in the page once docs/driftless.1 is regenerated (a test fails until it
 * is). The help texts share one layout, which is all this file relies on:
 * paragraphs separated by blank lines; a "Usage: " paragraph; lists of
 * items, each "  TAG" with its description from column 22 (or on the next
 * lines when the tag is longer), continuation lines indented further.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "driftless/version.h"

/* The column where an item's description starts in every help text. */
#define DESC_COL 22

/* The page's date (.TH): when its content last changed in a way worth a
 * reader's notice. Fixed, so that the generated page is reproducible. */
#define MAN_DATE "2026-11-29"

/* Where the output is: after a heading, a paragraph needs no .PP. */
struct page {
    FILE *out;
    int fresh;
};

static void para(struct page *pg)
{
    if (!pg->fresh)
        fputs(".PP\n", pg->out);
    pg->fresh = 0;
}

static void heading(struct page *pg, const char *macro, const char *title)
{
    fprintf(pg->out, ".%s %s\n", macro, title);
    pg->fresh = 1;
}

static const char files_text[] =
    "Files:\n"
    "  desired-state/      the desired-state directory read by default in "
    "the\n"
    "                      source (--path)\n"
    "  $XDG_CACHE_HOME/driftless, ~/.cache/driftless\n"
    "                      bare clones of git URLs (--cache-dir)\n"
    "  plan.json           a saved plan: written by plan --out, applied by\n"
    "                      apply --plan (any name)\n";

/* Write n bytes of s as roff text: backslashes and hyphens escaped, and a
 * control character at the start of a line neutralised. */
static void esc(FILE *out, const char *s, size_t n, int line_start)
{
    if (line_start && n > 0 && (s[0] == '.' || s[0] == '\''))
        fputs("\\&", out);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\')
            fputs("\\e", out);
        else if (s[i] == '-')
            fputs("\\-", out);
        else
            fputc(s[i], out);
    }
}

/* The length of the line at s (without its newline). */
static size_t line_len(const char *s)
{
    const char *nl = strchr(s, '\n');

    return nl ? (size_t)(nl - s) : strlen(s);
}

static size_t indent_of(const char *s, size_t n)
{
    size_t i = 0;

    while (i < n && s[i] == ' ')
        i++;
    return i;
}

/* An item's tag: option names (and anything after a comma) in bold,
 * argument names in italics. */
static void put_tag(FILE *out, const char *s, size_t n)
{
    size_t i = 0;
    int first = 1, bold_next = 1;

    fputs(".TP\n", out);
    while (i < n) {
        size_t j = i;

        while (j < n && s[j] != ' ')
            j++;
        if (!first)
            fputc(' ', out);
        fputs(bold_next || s[i] == '-' ? "\\fB" : "\\fI", out);
        esc(out, s + i, j - i, 0);
        fputs("\\fR", out);
        bold_next = s[j - 1] == ',';
        first = 0;
        while (j < n && s[j] == ' ')
            j++;
        i = j;
    }
    fputc('\n', out);
}

/* A text line, without its indentation. */
static void put_line(FILE *out, const char *s, size_t n)
{
    size_t ind = indent_of(s, n);

    esc(out, s + ind, n - ind, 1);
    fputc('\n', out);
}

/* A "Usage: " paragraph: the lines as they are, without "Usage: " (and
 * the same amount of indentation from the following lines). */
static const char *put_usage(struct page *pg, const char *p)
{
    static const char prefix[] = "Usage: ";
    const size_t plen = sizeof(prefix) - 1;
    FILE *out = pg->out;

    para(pg);
    fputs(".nf\n", out);
    while (*p && *p != '\n') {
        size_t n = line_len(p), ind = indent_of(p, n);
        size_t skip = strncmp(p, prefix, plen) == 0 ? plen
                      : ind >= plen                 ? plen
                                                    : ind;

        esc(out, p + skip, n - skip, 1);
        fputc('\n', out);
        p += n + (p[n] == '\n');
    }
    fputs(".fi\n", out);
    return p;
}

/*
 * Convert one help text. With skip_title, a first line ending in ':' is
 * left out (the page's section heading says it).
 */
static void convert(struct page *pg, const char *text, int skip_title)
{
    FILE *out = pg->out;
    const char *p = text;
    int in_para = 0; /* a .PP is open (after an item list, one is needed) */

    if (skip_title) {
        size_t n = line_len(p);

        if (n > 0 && p[n - 1] == ':')
            p += n + (p[n] == '\n');
    }
    while (*p) {
        size_t n = line_len(p), ind = indent_of(p, n);

        if (n == 0) { /* paragraph break */
            in_para = 0;
            p++;
            continue;
        }
        if (!in_para && strncmp(p, "Usage: ", 7) == 0) {
            p = put_usage(pg, p);
            continue;
        }
        if (ind == 2) { /* an item: its tag, then its description */
            size_t tag_end = n;

            if (n > DESC_COL && p[DESC_COL - 1] == ' ')
                tag_end = DESC_COL;
            while (tag_end > 2 && p[tag_end - 1] == ' ')
                tag_end--;
            put_tag(out, p + 2, tag_end - 2);
            pg->fresh = 0;
            if (tag_end < n)
                put_line(out, p + tag_end, n - tag_end);
            in_para = 0;
        } else if (ind > 2) { /* the description, continued */
            put_line(out, p, n);
        } else {
            if (!in_para) {
                para(pg);
                in_para = 1;
            }
            put_line(out, p, n);
        }
        p += n + (p[n] == '\n');
    }
}

void dl_cli_man(FILE *out)
{
    struct page pg = {.out = out, .fresh = 0};

    fputs(".\\\" driftless(1), generated by `driftless help --man` from the "
          "help texts\n"
          ".\\\" (src/cli/cli.c, src/cli/cmd_*.c). Do not edit: regenerate "
          "with\n"
          ".\\\" build/driftless help --man > docs/driftless.1\n",
          out);
    fprintf(out, ".TH DRIFTLESS 1 %s \"driftless %s\" \"User Commands\"\n",
            MAN_DATE, DL_VERSION);
    heading(&pg, "SH", "NAME");
    fputs("driftless \\- ", out);
    esc(out, dl_cli_help.tagline, strlen(dl_cli_help.tagline), 0);
    fputc('\n', out);
    pg.fresh = 0;
    heading(&pg, "SH", "SYNOPSIS");
    convert(&pg, dl_cli_help.synopsis, 0);
    heading(&pg, "SH", "DESCRIPTION");
    convert(&pg, dl_cli_help.description, 0);
    fputs(".PP\nEach command below is followed by its options, as\n"
          ".B driftless\n.I COMMAND\n.B \\-\\-help\nprints them.\n",
          out);
    heading(&pg, "SH", "COMMANDS");
    for (size_t i = 0; dl_cmds[i]; i++) {
        fprintf(out, ".SS \"driftless %s\"\n", dl_cmds[i]->name);
        put_line(out, dl_cmds[i]->summary, strlen(dl_cmds[i]->summary));
        pg.fresh = 0;
        convert(&pg, dl_cmds[i]->usage, 0);
    }
    heading(&pg, "SH", "GLOBAL OPTIONS");
    fputs("Given before the command.\n", out);
    pg.fresh = 0;
    convert(&pg, dl_cli_help.globals, 1);
    heading(&pg, "SH", "EXIT STATUS");
    convert(&pg, dl_cli_help.exit_codes, 1);
    heading(&pg, "SH", "ENVIRONMENT");
    convert(&pg, dl_cli_help.environment, 1);
    heading(&pg, "SH", "FILES");
    convert(&pg, files_text, 1);
    heading(&pg, "SH", "SEE ALSO");
    fputs(".BR git (1),\n"
          ".BR gcloud (1).\n"
          ".PP\n"
          "The documentation in the source tree's docs/ directory:\n"
          "getting\\-started.md, cli.md, desired\\-state.md, plan.md, "
          "apply.md,\n"
          "controller.md, operations.md, ci.md, auth.md, sources.md.\n",
          out);
}
