/*
 * buf.h - the one growable, capped, NUL-terminated byte buffer.
 *
 * Used for building text and for reading bodies from the network (curl's
 * dynbuf is the model). Every buffer has a cap: an append that would grow
 * it past the cap fails with DL_ELIMIT and leaves the contents as they were.
 * The struct is caller-owned: dl_buf_init it, dl_buf_dispose it.
 * ptr is always NUL-terminated once anything has been appended (and is
 * NULL before), so text can be read as a C string with dl_buf_cstr.
 */
#ifndef DL_UTIL_BUF_H
#define DL_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "util/err.h"

#define DL_BUF_NOCAP ((size_t)-1)

struct dl_buf {
    char *ptr;  /* contents, NUL-terminated; NULL while empty and unused */
    size_t len; /* bytes used, not counting the NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* most bytes it may hold (DL_BUF_NOCAP: no cap) */
};

#define DL_BUF_INIT(max_)                                                      \
    {                                                                          \
        NULL, 0, 0, (max_)                                                     \
    }

/* Make b empty with cap max (DL_BUF_NOCAP for none). Allocates nothing. */
void dl_buf_init(struct dl_buf *b, size_t max);
/* Free the contents; b is left empty and may be reused. */
void dl_buf_dispose(struct dl_buf *b);
/* Make b empty, keeping its memory. */
void dl_buf_reset(struct dl_buf *b);

/* Append. 0, or DL_ELIMIT past the cap (b unchanged). */
int dl_buf_put(struct dl_buf *b, const void *data, size_t len);
int dl_buf_puts(struct dl_buf *b, const char *s);
int dl_buf_putc(struct dl_buf *b, char c);
int dl_buf_printf(struct dl_buf *b, const char *fmt, ...) DL_PRINTF(2, 3);
int dl_buf_vprintf(struct dl_buf *b, const char *fmt, va_list ap)
    DL_PRINTF(2, 0);

/* The contents as a C string; "" when empty. Never NULL. */
const char *dl_buf_cstr(const struct dl_buf *b);

/*
 * Hand the contents over: returns a malloc'd NUL-terminated string (free
 * with free()) and leaves b empty. Never NULL.
 */
char *dl_buf_take(struct dl_buf *b);

/* Shorten b to its first len bytes (no-op when already shorter). */
void dl_buf_truncate(struct dl_buf *b, size_t len);

#endif
