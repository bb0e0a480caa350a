#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void dl_err_clear(struct dl_err *err)
{
    if (err)
        memset(err, 0, sizeof(*err));
}

static void one_line(char *s)
{
    /* Messages are one line: fold newlines from foreign text. */
    for (; *s; s++)
        if (*s == '\n' || *s == '\r')
            *s = ' ';
}

int dl_err_set(struct dl_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    dl_err_clear(err);
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    one_line(err->msg);
    return code;
}

void dl_err_prefix(struct dl_err *err, const char *fmt, ...)
{
    char old[DL_ERR_MSG_MAX];
    size_t n;
    va_list ap;

    if (!err)
        return;
    memcpy(old, err->msg, sizeof(old));
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    n = strlen(err->msg);
    if (n + 2 < sizeof(err->msg)) {
        memcpy(err->msg + n, ": ", 3);
        n += 2;
        /* Truncation of a long message is fine: it is one line of text. */
        memcpy(err->msg + n, old, strnlen(old, sizeof(err->msg) - n - 1));
        err->msg[n + strnlen(old, sizeof(err->msg) - n - 1)] = '\0';
    }
    one_line(err->msg);
}

void dl_err_at(struct dl_err *err, const char *file, int line, int col)
{
    if (!err)
        return;
    snprintf(err->file, sizeof(err->file), "%s", file ? file : "");
    err->line = line;
    err->col = col;
}

void dl_err_copy(struct dl_err *dst, const struct dl_err *src)
{
    if (!dst)
        return;
    if (!src)
        dl_err_clear(dst);
    else if (dst != src)
        memcpy(dst, src, sizeof(*dst));
}

const char *dl_err_code_name(int code)
{
    switch (code) {
    case DL_OK:
        return "ok";
    case DL_ENOTFOUND:
        return "not found";
    case DL_ECONFLICT:
        return "conflict";
    case DL_EAUTH:
        return "unauthorized";
    case DL_EINVALID:
        return "invalid";
    case DL_ETRANSIENT:
        return "transient";
    case DL_ELIMIT:
        return "limit exceeded";
    case DL_ECANCELLED:
        return "cancelled";
    default:
        return "error";
    }
}
