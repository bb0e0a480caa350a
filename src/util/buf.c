#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

void dl_buf_init(struct dl_buf *b, size_t max)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void dl_buf_dispose(struct dl_buf *b)
{
    free(b->ptr);
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
}

void dl_buf_reset(struct dl_buf *b)
{
    b->len = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
}

static int grow(struct dl_buf *b, size_t extra)
{
    size_t need, cap;

    if (extra > b->max || b->len > b->max - extra)
        return DL_ELIMIT;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    b->ptr = dl_realloc(b->ptr, cap);
    b->cap = cap;
    return 0;
}

int dl_buf_put(struct dl_buf *b, const void *data, size_t len)
{
    if (grow(b, len) < 0)
        return DL_ELIMIT;
    if (len)
        memcpy(b->ptr + b->len, data, len);
    b->len += len;
    b->ptr[b->len] = '\0';
    return 0;
}

int dl_buf_puts(struct dl_buf *b, const char *s)
{
    return dl_buf_put(b, s, strlen(s));
}

int dl_buf_putc(struct dl_buf *b, char c)
{
    return dl_buf_put(b, &c, 1);
}

int dl_buf_vprintf(struct dl_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return DL_EINVALID;
    if (grow(b, (size_t)n) < 0)
        return DL_ELIMIT;
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int dl_buf_printf(struct dl_buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = dl_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *dl_buf_cstr(const struct dl_buf *b)
{
    return b->ptr ? b->ptr : "";
}

char *dl_buf_take(struct dl_buf *b)
{
    char *p = b->ptr ? b->ptr : dl_strdup("");

    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

void dl_buf_truncate(struct dl_buf *b, size_t len)
{
    if (len < b->len) {
        b->len = len;
        b->ptr[len] = '\0';
    }
}
