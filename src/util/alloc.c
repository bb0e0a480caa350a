#include "util/alloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dl_fatal(const char *fmt, ...)
{
    va_list ap;

    fputs("driftless: fatal: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

void *dl_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (!p)
        dl_fatal("out of memory allocating %zu bytes", size);
    return p;
}

void *dl_calloc(size_t nmemb, size_t size)
{
    void *p;

    if (size && nmemb > SIZE_MAX / size)
        dl_fatal("allocation size overflow (%zu x %zu)", nmemb, size);
    p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p)
        dl_fatal("out of memory allocating %zu x %zu bytes", nmemb, size);
    return p;
}

void *dl_realloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);

    if (!p)
        dl_fatal("out of memory reallocating %zu bytes", size);
    return p;
}

void *dl_reallocarray(void *ptr, size_t nmemb, size_t size)
{
    if (size && nmemb > SIZE_MAX / size)
        dl_fatal("allocation size overflow (%zu x %zu)", nmemb, size);
    return dl_realloc(ptr, nmemb * size);
}

char *dl_strdup(const char *s)
{
    return s ? dl_strndup(s, strlen(s)) : NULL;
}

char *dl_strndup(const char *s, size_t n)
{
    char *p;
    size_t len = 0;

    if (!s)
        return NULL;
    while (len < n && s[len])
        len++;
    p = dl_malloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *dl_asprintf(const char *fmt, ...)
{
    va_list ap, ap2;
    int n;
    char *p;

    va_start(ap, fmt);
    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        dl_fatal("bad format string '%s'", fmt);
    p = dl_malloc((size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}
