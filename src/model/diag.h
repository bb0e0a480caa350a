/*
 * diag.h - desired-state diagnostics: every problem found while loading and
 * validating, each at a 1-based file:line:col.
 *
 * A struct dl_diags collects all of them (validation never stops at the
 * first), keeps a copy of each source file it was given so that a
 * diagnostic can be shown with its source line and a caret under the
 * column (jq's locfile.c is the model), and renders the lot as text or as
 * a JSON array of {"file","line","column","message"}.
 * The struct is caller-owned: dl_diags_init it, dl_diags_dispose it.
 */
#ifndef DL_MODEL_DIAG_H
#define DL_MODEL_DIAG_H

#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

/* At most this many diagnostics are kept; later ones are only counted. */
#define DL_DIAGS_MAX 10000
/* Longer messages are cut to this many bytes (ending in "..."). */
#define DL_DIAG_MSG_MAX 1024

struct dl_diag {
    char *file;    /* tree-relative path; owned */
    int line, col; /* 1-based; 0 when the problem is the whole file */
    char *message; /* one line, no trailing period; owned */
};

struct dl_diag_source {
    char *file; /* owned */
    char *text; /* the file's bytes, NUL-terminated; owned */
    size_t len;
};

struct dl_diags {
    struct dl_diag *v; /* n entries, in the order added until sorted */
    size_t n, cap;
    size_t dropped; /* added after DL_DIAGS_MAX was reached */
    struct dl_diag_source *src;
    size_t n_src, cap_src;
};

/* Make d empty. Allocates nothing. */
void dl_diags_init(struct dl_diags *d);
/* Free everything d holds; d is left empty and may be reused. */
void dl_diags_dispose(struct dl_diags *d);

/*
 * Add a diagnostic at file:line:col (file is copied). Past DL_DIAGS_MAX it
 * is only counted in d->dropped.
 */
void dl_diags_add(struct dl_diags *d, const char *file, int line, int col,
                  const char *fmt, ...) DL_PRINTF(5, 6);
void dl_diags_vadd(struct dl_diags *d, const char *file, int line, int col,
                   const char *fmt, va_list ap) DL_PRINTF(5, 0);

/*
 * Remember file's text (len bytes, copied) so that diagnostics in it can
 * show the source line. A second call for the same file replaces the text.
 */
void dl_diags_add_source(struct dl_diags *d, const char *file, const char *text,
                         size_t len);

/* Total number of diagnostics, counting dropped ones. */
size_t dl_diags_count(const struct dl_diags *d);
/* Number of distinct files the kept diagnostics are in. */
size_t dl_diags_file_count(const struct dl_diags *d);

/* Sort by file (byte-wise), line, column, then message. Stable for ties. */
void dl_diags_sort(struct dl_diags *d);

/*
 * Append every diagnostic as text: "file:line:col: message", then, when the
 * source is known, the line ("  12 | text") and a caret under the column.
 * 0, or DL_ELIMIT past out's cap.
 */
int dl_diags_format_text(const struct dl_diags *d, struct dl_buf *out) DL_WUR;

/*
 * Append a JSON array of {"file","line","column","message"} objects and a
 * newline. 0, or DL_ELIMIT past out's cap.
 */
int dl_diags_format_json(const struct dl_diags *d, struct dl_buf *out) DL_WUR;

/* Write dl_diags_format_text's output to f. */
void dl_diags_print_text(const struct dl_diags *d, FILE *f);

#endif
