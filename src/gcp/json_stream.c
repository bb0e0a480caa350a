#include "gcp/json_stream.h"

#include <string.h>

enum {
    ST_BEFORE = 0, /* before '[' */
    ST_FIRST,      /* after '[': an element or ']' */
    ST_ELEM,       /* inside an element */
    ST_AFTER,      /* after an element: ',' or ']' */
    ST_NEXT,       /* after ',': an element */
    ST_DONE        /* after ']': only whitespace */
};

void dl_json_splitter_init(struct dl_json_splitter *s, size_t max_element,
                           dl_json_element_fn cb, void *ud)
{
    memset(s, 0, sizeof(*s));
    dl_buf_init(&s->elem, max_element);
    s->cb = cb;
    s->ud = ud;
}

void dl_json_splitter_init_raw(struct dl_json_splitter *s, size_t max_element,
                               dl_json_raw_fn cb, void *ud)
{
    dl_json_splitter_init(s, max_element, NULL, ud);
    s->raw_cb = cb;
}

void dl_json_splitter_dispose(struct dl_json_splitter *s)
{
    dl_buf_dispose(&s->elem);
}

static int is_ws(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

static int emit(struct dl_json_splitter *s, struct dl_err *err)
{
    json_error_t je;
    json_t *v;
    int rc;

    if (s->elem.len > s->max_seen)
        s->max_seen = s->elem.len;
    if (s->raw_cb) {
        s->count++;
        rc = s->raw_cb(s->ud, s->elem.ptr, s->elem.len);
        dl_buf_reset(&s->elem);
        s->state = ST_AFTER;
        if (rc < 0 && err && err->code == 0)
            dl_err_set(err, rc, "stopped by the element callback");
        return rc < 0 ? rc : 0;
    }
    v = json_loadb(s->elem.ptr, s->elem.len, JSON_DECODE_ANY, &je);
    if (!v)
        return dl_err_set(err, DL_EINVALID,
                          "array element %zu (ending at byte %zu) is not "
                          "valid JSON: %s",
                          s->count + 1, s->offset, je.text);
    s->count++;
    rc = s->cb(s->ud, v);
    json_decref(v);
    dl_buf_reset(&s->elem);
    s->state = ST_AFTER;
    if (rc < 0 && err && err->code == 0)
        dl_err_set(err, rc, "stopped by the element callback");
    return rc < 0 ? rc : 0;
}

static int put(struct dl_json_splitter *s, const char *p, size_t n,
               struct dl_err *err)
{
    if (dl_buf_put(&s->elem, p, n) < 0)
        return dl_err_set(err, DL_ELIMIT,
                          "array element %zu is larger than %zu bytes",
                          s->count + 1, s->elem.max);
    return 0;
}

int dl_json_splitter_feed(struct dl_json_splitter *s, const char *data,
                          size_t len, struct dl_err *err)
{
    size_t i = 0, span = 0;
    int rc;

    while (i < len) {
        char ch = data[i];

        switch (s->state) {
        case ST_BEFORE:
        case ST_DONE:
            if (is_ws(ch)) {
                i++;
                s->offset++;
                continue;
            }
            if (s->state == ST_BEFORE && ch == '[') {
                s->state = ST_FIRST;
                i++;
                s->offset++;
                continue;
            }
            return dl_err_set(err, DL_EINVALID,
                              "unexpected '%c' at byte %zu %s", ch, s->offset,
                              s->state == ST_BEFORE
                                  ? "(expected a JSON array)"
                                  : "after the end of the array");
        case ST_AFTER:
            if (is_ws(ch) || ch == ',' || ch == ']') {
                if (ch == ',')
                    s->state = ST_NEXT;
                else if (ch == ']')
                    s->state = ST_DONE;
                i++;
                s->offset++;
                continue;
            }
            return dl_err_set(err, DL_EINVALID,
                              "expected ',' or ']' at byte %zu, got '%c'",
                              s->offset, ch);
        case ST_FIRST:
        case ST_NEXT:
            if (is_ws(ch)) {
                i++;
                s->offset++;
                continue;
            }
            if (ch == ']' && s->state == ST_FIRST) {
                s->state = ST_DONE;
                i++;
                s->offset++;
                continue;
            }
            if (ch == ']' || ch == ',')
                return dl_err_set(err, DL_EINVALID,
                                  "unexpected '%c' at byte %zu", ch, s->offset);
            s->state = ST_ELEM;
            s->depth = 0;
            s->in_string = 0;
            s->escape = 0;
            s->scalar = !(ch == '{' || ch == '[' || ch == '"');
            span = i;
            /* the first byte is handled by ST_ELEM below */
            break;
        case ST_ELEM:
            break;
        }
        /* ST_ELEM: scan as far as this element goes within data. */
        for (; i < len; i++, s->offset++) {
            ch = data[i];
            if (s->in_string) {
                if (s->escape)
                    s->escape = 0;
                else if (ch == '\\')
                    s->escape = 1;
                else if (ch == '"') {
                    s->in_string = 0;
                    if (s->depth == 0) { /* a string element ends */
                        i++;
                        s->offset++;
                        break;
                    }
                }
                continue;
            }
            if (s->scalar) {
                if (is_ws(ch) || ch == ',' || ch == ']')
                    break; /* not consumed: ST_AFTER handles it */
                continue;
            }
            if (ch == '"') {
                s->in_string = 1;
            } else if (ch == '{' || ch == '[') {
                s->depth++;
            } else if (ch == '}' || ch == ']') {
                if (--s->depth == 0) {
                    i++;
                    s->offset++;
                    break;
                }
            }
        }
        rc = put(s, data + span, i - span, err);
        if (rc < 0)
            return rc;
        span = i;
        if (i < len || (!s->scalar && !s->in_string && s->depth == 0 &&
                        s->elem.len > 0 && s->state == ST_ELEM)) {
            /* The element ended inside this piece (or exactly at its end). */
            if (s->scalar && i >= len)
                return 0; /* a scalar may go on in the next piece */
            rc = emit(s, err);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

int dl_json_splitter_finish(struct dl_json_splitter *s, struct dl_err *err)
{
    if (s->state == ST_DONE)
        return 0;
    return dl_err_set(err, DL_ETRANSIENT,
                      "JSON array truncated after %zu elements (%zu bytes)",
                      s->count, s->offset);
}
