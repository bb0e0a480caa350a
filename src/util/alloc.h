/*
 * alloc.h - allocation that never returns NULL.
 *
 * Every allocation in driftless goes through these (tmux's xmalloc.c is the
 * model): on out-of-memory or a size computation that would overflow they
 * print one line to stderr and abort. Free with free().
 */
#ifndef DL_UTIL_ALLOC_H
#define DL_UTIL_ALLOC_H

#include <stddef.h>

#include "util/err.h"

void *dl_malloc(size_t size);
void *dl_calloc(size_t nmemb, size_t size);
void *dl_realloc(void *ptr, size_t size);
/* realloc of nmemb * size, aborting if the product overflows. */
void *dl_reallocarray(void *ptr, size_t nmemb, size_t size);
/* Duplicate s; dl_strdup(NULL) returns NULL. */
char *dl_strdup(const char *s);
char *dl_strndup(const char *s, size_t n);
/* Allocate a formatted string; free with free(). */
char *dl_asprintf(const char *fmt, ...) DL_PRINTF(1, 2);

/* Print "driftless: fatal: ..." to stderr and abort. */
DL_NORETURN void dl_fatal(const char *fmt, ...) DL_PRINTF(1, 2);

#endif
