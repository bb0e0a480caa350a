#include "gcp/http.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

void dl_http_xfer_reset_response(struct dl_http_xfer *x)
{
    x->status = 0;
    dl_buf_reset(&x->body_in);
    dl_buf_reset(&x->head_in);
    x->result = 0;
    x->maybe_sent = 0;
    x->errmsg[0] = '\0';
}

int dl_http_xfer_header(const struct dl_http_xfer *x, const char *name,
                        char *out, size_t size)
{
    const char *p = dl_buf_cstr(&x->head_in);
    size_t n = strlen(name);

    while (*p) {
        const char *eol = p + strcspn(p, "\r\n");

        if ((size_t)(eol - p) > n && strncasecmp(p, name, n) == 0 &&
            p[n] == ':') {
            const char *v = p + n + 1;
            const char *e = eol;
            size_t len;

            while (v < e && isspace((unsigned char)*v))
                v++;
            while (e > v && isspace((unsigned char)e[-1]))
                e--;
            len = (size_t)(e - v);
            if (size) {
                if (len >= size)
                    len = size - 1;
                memcpy(out, v, len);
                out[len] = '\0';
            }
            return 1;
        }
        p = eol;
        while (*p == '\r' || *p == '\n')
            p++;
    }
    if (size)
        out[0] = '\0';
    return 0;
}

void dl_http_transport_free(struct dl_http_transport *t)
{
    if (t)
        t->ops->free(t);
}
