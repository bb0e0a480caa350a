#include "util/json_str.h"

#include <stdint.h>

/* Length of the valid UTF-8 sequence at s (max n bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    uint32_t cp;
    size_t len;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        len = 2, cp = s[0] & 0x1F;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        len = 3, cp = s[0] & 0x0F;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        len = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

int dl_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        size_t n = utf8_seq(p + i, len - i);

        if (!n)
            return 0;
        i += n;
    }
    return 1;
}

int dl_json_str_append(struct dl_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = 0;
    int rc = dl_buf_putc(b, '"');

    while (p[n] && rc == 0)
        n++;
    for (size_t i = 0; i < n && rc == 0;) {
        unsigned char c = p[i];
        size_t len;

        switch (c) {
        case '"':
            rc = dl_buf_puts(b, "\\\"");
            i++;
            continue;
        case '\\':
            rc = dl_buf_puts(b, "\\\\");
            i++;
            continue;
        case '\n':
            rc = dl_buf_puts(b, "\\n");
            i++;
            continue;
        case '\r':
            rc = dl_buf_puts(b, "\\r");
            i++;
            continue;
        case '\t':
            rc = dl_buf_puts(b, "\\t");
            i++;
            continue;
        default:
            break;
        }
        if (c < 0x20) {
            rc = dl_buf_printf(b, "\\u%04x", c);
            i++;
            continue;
        }
        len = utf8_seq(p + i, n - i);
        if (!len) {
            rc = dl_buf_puts(b, "\\ufffd");
            i++;
            continue;
        }
        rc = dl_buf_put(b, p + i, len);
        i += len;
    }
    if (rc == 0)
        rc = dl_buf_putc(b, '"');
    return rc;
}
