/*
 * render_int.h - helpers the renderers share (not for other modules).
 */
#ifndef DL_RENDER_RENDER_INT_H
#define DL_RENDER_RENDER_INT_H

#include <jansson.h>

#include "render/render.h"

/* The first 7 characters of a commit id ("" stays ""). out needs 8 bytes. */
const char *dl_render_short_commit(char out[8], const char *commit);

/*
 * Append s with control characters (and DEL) written as \n, \t or \xNN,
 * and C1 controls and bidirectional overrides/isolates as \uNNNN, so
 * nothing from a plan can send escape sequences or reorder what is shown.
 */
void dl_render_put_safe(struct dl_buf *b, const char *s);
/* Bytes of the sequence at s that dl_render_put_safe escapes, or 0. */
size_t dl_render_unsafe_len(const char *s);

/*
 * Append a value as compact JSON ("\"x\"", 3, {"a":1}), control characters
 * escaped by JSON; NULL prints "(absent)".
 */
void dl_render_put_value(struct dl_buf *b, const json_t *v);

/* Like dl_render_put_value, but a sensitive value prints as (sensitive),
 * unquoted. */
void dl_render_put_change_value(struct dl_buf *b, const json_t *v,
                                int sensitive);

/* The plural suffix for n: "" when n is 1, else "s". */
const char *dl_render_plural(long long n);

/* Append the closing line "Plan: 1 to create, 2 to change, ..." (no
 * newline). */
void dl_render_put_plan_line(struct dl_buf *b, const struct dl_plan_summary *s);

/* Which group a resource is shown in. */
enum dl_render_group {
    DL_RENDER_NONE = -1,  /* in sync: counted, not shown */
    DL_RENDER_CHANGE = 0, /* create, update, delete */
    DL_RENDER_REPORT = 1, /* report only */
    DL_RENDER_ERROR = 2   /* status error */
};
enum dl_render_group dl_render_group_of(const struct dl_plan_resource *r);

/* The group headings ("Reported only (nothing will change)"). */
extern const char *const dl_render_group_titles[3];

/* Appends plan text to a buffer with a format's escaping. */
typedef void (*dl_render_put_fn)(struct dl_buf *b, const char *s);

/*
 * The hygiene lines, without prefix or newline, strings passed through put:
 *   counts:  "106349 documents, 105623 violating (id_format 105623)"
 *   deletes: "deletes 1000 this run (cap 1000 per run, the default;
 *             104623 left for later runs; maxDeletesPerRun raises the
 *             cap)"  ("" unless the action is delete)
 *   over:    "still 104349 documents over the limit after this run"
 *            ("" when still_over_limit_after is 0)
 */
void dl_render_hygiene_counts(struct dl_buf *b, const struct dl_plan_hygiene *h,
                              dl_render_put_fn put);
void dl_render_hygiene_deletes(struct dl_buf *b,
                               const struct dl_plan_resource *r,
                               dl_render_put_fn put);
void dl_render_hygiene_over(struct dl_buf *b, const struct dl_plan_hygiene *h,
                            dl_render_put_fn put);

/*
 * Append the finished rendering (built in an uncapped scratch buffer) to
 * out: 0, or DL_ELIMIT with a message when out's cap is reached.
 */
int dl_render_emit(struct dl_buf *out, const struct dl_buf *text,
                   struct dl_err *err);

#endif
