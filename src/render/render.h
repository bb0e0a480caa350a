/*
 * render.h - turn a plan into text, markdown or JSON.
 *
 * Each renderer is a const vtable in its own file (render_text.c,
 * render_markdown.c, render_json.c), listed in one registry (render.c).
 * Renderers are pure: they append to a struct dl_buf and do no I/O; the CLI
 * decides where the bytes go and whether colour is wanted (a terminal and
 * no NO_COLOR). Resources are shown sorted by address; the plan is not
 * modified. docs/plan.md describes each format.
 */
#ifndef DL_RENDER_RENDER_H
#define DL_RENDER_RENDER_H

#include <stddef.h>

#include "plan/plan.h"
#include "util/buf.h"
#include "util/err.h"

/* GitHub refuses comments over 65,536 characters; keep a margin. */
#define DL_RENDER_MARKDOWN_MAX 65000

struct dl_render_opts {
    int color; /* text: ANSI colours (the caller checks TTY and NO_COLOR) */
    /* markdown: most bytes of output; 0 means DL_RENDER_MARKDOWN_MAX.
       Longer plans are cut at a resource boundary, with a note. */
    size_t markdown_max;
};

/*
 * A renderer. render() appends p's rendering to out and returns 0, or:
 *   DL_ELIMIT    out's cap was reached (out holds a prefix), or for
 *                markdown a markdown_max too small for the header
 *   DL_EINVALID  (json) p is inconsistent (dl_plan_check)
 * opts may be NULL (no colour, default limits).
 */
struct dl_renderer {
    const char *name; /* "text", "markdown", "json" */
    int (*render)(const struct dl_plan *p, const struct dl_render_opts *opts,
                  struct dl_buf *out, struct dl_err *err);
};

extern const struct dl_renderer dl_renderer_text;
extern const struct dl_renderer dl_renderer_markdown;
extern const struct dl_renderer dl_renderer_json;

/* All renderers, NULL-terminated, in the order text, markdown, json. */
extern const struct dl_renderer *const dl_renderers[];

/* The renderer called name, or NULL. */
const struct dl_renderer *dl_renderer_find(const char *name);

/* Render with the renderer called name: DL_EINVALID ("unknown format 'x'
 * (want text, markdown, json)") when there is none, else its result. */
int dl_render(const char *name, const struct dl_plan *p,
              const struct dl_render_opts *opts, struct dl_buf *out,
              struct dl_err *err) DL_WUR;

#endif
