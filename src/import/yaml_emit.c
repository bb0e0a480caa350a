#include "import/yaml_emit.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Words that YAML 1.1 (yes/no/on/off/y/n) or 1.2 resolve to a bool or
 * null when plain. */
static const char *const reserved[] = {"y",   "n",    "yes",   "no",   "on",
                                       "off", "true", "false", "null", NULL};

static int plain_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || strchr("_./@:+-", c) != NULL;
}

/*
 * Quantities and durations ("2Gi", "500m", "30m"): digits then letters
 * only. No YAML number looks like that, except hexadecimal and octal or
 * binary ("0xff", "0o17", "0b1"), which start with "0".
 */
static int digits_then_letters(const char *s)
{
    size_t d = strspn(s, "0123456789"), l;

    if (d == 0 || s[0] == '0')
        return 0;
    l = strspn(s + d, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
    return l > 0 && s[d + l] == '\0';
}

int dl_yaml_plain_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if (!s || !*s)
        return 0;
    if (digits_then_letters(s))
        return 1;
    /* Anything else starting with a digit, sign or dot may be a number,
     * timestamp or .inf; '-', ':' and '@' also start indicators. */
    if (!((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z') ||
          p[0] == '_' || p[0] == '/'))
        return 0;
    for (; *p; p++) {
        if (!plain_char(*p))
            return 0;
        /* "a:" ends a key; ':' followed by a space is never possible here
         * (no spaces), but one at the end is. */
        if (*p == ':' && p[1] == '\0')
            return 0;
    }
    for (size_t i = 0; reserved[i]; i++)
        if (strcasecmp(s, reserved[i]) == 0)
            return 0;
    return 1;
}

/* The length of the UTF-8 line break YAML knows besides \n and \r at p
 * (U+0085, U+2028, U+2029), or 0. */
static size_t yaml_break_len(const unsigned char *p)
{
    if (p[0] == 0xc2 && p[1] == 0x85)
        return 2;
    if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
        return 3;
    return 0;
}

int dl_yaml_emit_scalar(struct dl_buf *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    int rc = 0;

    if (dl_yaml_plain_ok(s))
        return dl_buf_puts(out, s);
    rc = dl_buf_putc(out, '"');
    for (; rc == 0 && *p; p++) {
        switch (*p) {
        case '"':
            rc = dl_buf_puts(out, "\\\"");
            break;
        case '\\':
            rc = dl_buf_puts(out, "\\\\");
            break;
        case '\n':
            rc = dl_buf_puts(out, "\\n");
            break;
        case '\t':
            rc = dl_buf_puts(out, "\\t");
            break;
        case '\r':
            rc = dl_buf_puts(out, "\\r");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                rc = dl_buf_printf(out, "\\x%02x", *p);
            } else if (yaml_break_len(p)) {
                /* Line breaks to YAML: a loader would fold them. */
                rc = dl_buf_puts(out, p[0] == 0xc2   ? "\\N"
                                      : p[2] == 0xa8 ? "\\L"
                                                     : "\\P");
                p += yaml_break_len(p) - 1;
            } else {
                rc = dl_buf_putc(out, (char)*p);
            }
        }
    }
    return rc ? rc : dl_buf_putc(out, '"');
}

static int indent(struct dl_buf *out, int n)
{
    int rc = 0;

    for (int i = 0; rc == 0 && i < n; i++)
        rc = dl_buf_putc(out, ' ');
    return rc;
}

static int is_block(const json_t *v)
{
    return (json_is_object(v) && json_object_size(v) > 0) ||
           (json_is_array(v) && json_array_size(v) > 0);
}

/* A value that fits on the current line (after "key: " or "- "). */
static int emit_inline(struct dl_buf *out, const json_t *v)
{
    char num[64];

    switch (json_typeof(v)) {
    case JSON_STRING:
        return dl_yaml_emit_scalar(out, json_string_value(v));
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        return dl_buf_puts(out, num);
    case JSON_REAL:
        snprintf(num, sizeof(num), "%.17g", json_real_value(v));
        /* Keep it a float when read back ("1" would be an int). */
        if (!strpbrk(num, ".eEni"))
            strcat(num, ".0");
        return dl_buf_puts(out, num);
    case JSON_TRUE:
        return dl_buf_puts(out, "true");
    case JSON_FALSE:
        return dl_buf_puts(out, "false");
    case JSON_NULL:
        return dl_buf_puts(out, "null");
    case JSON_OBJECT:
        return dl_buf_puts(out, "{}");
    case JSON_ARRAY:
        return dl_buf_puts(out, "[]");
    }
    return DL_EINVALID;
}

static int emit_block(struct dl_buf *out, json_t *v, int level,
                      int first_inline);

/*
 * A key's or an item's value: on the same line when it is a scalar or an
 * empty collection, else on the following lines at level.
 */
static int emit_value(struct dl_buf *out, json_t *v, int level)
{
    int rc;

    if (!is_block(v)) {
        rc = dl_buf_putc(out, ' ');
        if (rc == 0)
            rc = emit_inline(out, v);
        return rc ? rc : dl_buf_putc(out, '\n');
    }
    rc = dl_buf_putc(out, '\n');
    return rc ? rc : emit_block(out, v, level, 0);
}

/* A non-empty mapping or sequence at level (spaces); first_inline: the
 * first line continues one already started ("- "). */
static int emit_block(struct dl_buf *out, json_t *v, int level,
                      int first_inline)
{
    int rc = 0, first = 1;

    if (json_is_object(v)) {
        const char *k;
        json_t *val;

        json_object_foreach(v, k, val)
        {
            if (!(first && first_inline))
                rc = indent(out, level);
            first = 0;
            if (rc == 0)
                rc = dl_yaml_emit_scalar(out, k);
            if (rc == 0)
                rc = dl_buf_putc(out, ':');
            if (rc == 0)
                rc = emit_value(out, val, level + 2);
            if (rc)
                return rc;
        }
        return 0;
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *it = json_array_get(v, i);

        if (!(first && first_inline))
            rc = indent(out, level);
        first = 0;
        if (rc == 0)
            rc = dl_buf_putc(out, '-');
        if (rc == 0 && is_block(it)) {
            rc = dl_buf_putc(out, ' ');
            if (rc == 0)
                rc = emit_block(out, it, level + 2, 1);
        } else if (rc == 0) {
            rc = emit_value(out, it, level + 2);
        }
        if (rc)
            return rc;
    }
    return 0;
}

int dl_yaml_emit_doc(struct dl_buf *out, json_t *doc, const char *comment)
{
    int rc = 0;

    if (!doc)
        return DL_EINVALID;
    while (rc == 0 && comment && *comment) {
        const unsigned char *p = (const unsigned char *)comment;

        rc = dl_buf_putc(out, '#');
        if (rc == 0 && *p != '\n')
            rc = dl_buf_putc(out, ' ');
        /* Only '\n' ends a comment line; any other control character (a
         * '\r' would start a line of YAML) is written as '?'. */
        for (; rc == 0 && *p && *p != '\n'; p++) {
            size_t brk = yaml_break_len(p);

            if (brk)
                p += brk - 1;
            rc = dl_buf_putc(out,
                             brk || *p < 0x20 || *p == 0x7f ? '?' : (char)*p);
        }
        if (rc == 0)
            rc = dl_buf_putc(out, '\n');
        comment = (const char *)(*p ? p + 1 : p);
    }
    if (rc)
        return rc;
    if (!is_block(doc)) {
        rc = emit_inline(out, doc);
        return rc ? rc : dl_buf_putc(out, '\n');
    }
    return emit_block(out, doc, 0, 0);
}
