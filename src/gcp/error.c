#include "gcp/error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/log.h"
#include "util/time.h"

static const struct {
    int code;
    const char *name;
    int http;
} rpc_codes[] = {
    {0, "OK", 200},
    {1, "CANCELLED", 499},
    {2, "UNKNOWN", 500},
    {3, "INVALID_ARGUMENT", 400},
    {4, "DEADLINE_EXCEEDED", 504},
    {5, "NOT_FOUND", 404},
    {6, "ALREADY_EXISTS", 409},
    {7, "PERMISSION_DENIED", 403},
    {8, "RESOURCE_EXHAUSTED", 429},
    {9, "FAILED_PRECONDITION", 400},
    {10, "ABORTED", 409},
    {11, "OUT_OF_RANGE", 400},
    {12, "UNIMPLEMENTED", 501},
    {13, "INTERNAL", 500},
    {14, "UNAVAILABLE", 503},
    {15, "DATA_LOSS", 500},
    {16, "UNAUTHENTICATED", 401},
};

#define NCODES (sizeof(rpc_codes) / sizeof(rpc_codes[0]))

const char *dl_gcp_rpc_code_name(int rpc_code)
{
    for (size_t i = 0; i < NCODES; i++)
        if (rpc_codes[i].code == rpc_code)
            return rpc_codes[i].name;
    return NULL;
}

int dl_gcp_rpc_code_http(int rpc_code)
{
    for (size_t i = 0; i < NCODES; i++)
        if (rpc_codes[i].code == rpc_code)
            return rpc_codes[i].http;
    return 500;
}

int dl_gcp_status_to_code(const char *status, int http)
{
    if (status && *status) {
        static const struct {
            const char *name;
            int code;
        } map[] = {
            {"NOT_FOUND", DL_ENOTFOUND},
            {"ABORTED", DL_ECONFLICT},
            {"ALREADY_EXISTS", DL_ECONFLICT},
            {"FAILED_PRECONDITION", DL_ECONFLICT},
            {"UNAUTHENTICATED", DL_EAUTH},
            {"PERMISSION_DENIED", DL_EAUTH},
            {"INVALID_ARGUMENT", DL_EINVALID},
            {"OUT_OF_RANGE", DL_EINVALID},
            {"RESOURCE_EXHAUSTED", DL_ETRANSIENT},
            {"UNAVAILABLE", DL_ETRANSIENT},
            {"INTERNAL", DL_ETRANSIENT},
            {"DEADLINE_EXCEEDED", DL_ETRANSIENT},
            {"CANCELLED", DL_ECANCELLED},
        };
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
            if (strcmp(status, map[i].name) == 0)
                return map[i].code;
    }
    switch (http) {
    case 404:
        return DL_ENOTFOUND;
    case 409:
    case 412:
        return DL_ECONFLICT;
    case 401:
    case 403:
        return DL_EAUTH;
    case 400:
        return DL_EINVALID;
    case 408:
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
        return DL_ETRANSIENT;
    default:
        return DL_ERROR;
    }
}

/* Copy s into a one-line, length-limited excerpt. */
static void excerpt(char *out, size_t size, const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len && n + 1 < size; i++) {
        unsigned char ch = (unsigned char)s[i];

        out[n++] = (ch == '\n' || ch == '\r' || ch == '\t') ? ' ' : (char)ch;
    }
    out[n] = '\0';
}

int dl_gcp_error_parse(struct dl_err *err, int http_status, const char *body,
                       size_t len, const char *what)
{
    json_t *root = NULL, *e;
    const char *status = NULL, *msg = NULL;
    char text[320] = "";
    int code;

    if (body && len)
        root = json_loadb(body, len, 0, NULL);
    e = root ? json_object_get(root, "error") : NULL;
    if (json_is_object(e)) {
        json_t *errors = json_object_get(e, "errors");

        status = json_string_value(json_object_get(e, "status"));
        msg = json_string_value(json_object_get(e, "message"));
        if ((!msg || !*msg) && json_is_array(errors))
            msg = json_string_value(
                json_object_get(json_array_get(errors, 0), "reason"));
        if (msg)
            excerpt(text, sizeof(text), msg, strlen(msg));
    } else if (json_is_string(e)) {
        /* OAuth: {"error": "invalid_grant", "error_description": "..."} */
        const char *d =
            json_string_value(json_object_get(root, "error_description"));

        snprintf(text, sizeof(text), "%s%s%s", json_string_value(e),
                 d ? ": " : "", d ? d : "");
        excerpt(text, sizeof(text), text, strlen(text));
    } else if (body && len) {
        excerpt(text, sizeof(text), body, len < 200 ? len : 200);
    }
    code = dl_gcp_status_to_code(status, http_status);
    if (err) {
        dl_err_set(err, code, "%s: HTTP %d%s%s%s%s", what ? what : "request",
                   http_status, status ? " " : "", status ? status : "",
                   text[0] ? ": " : "", text);
        err->http_status = http_status;
        if (status)
            snprintf(err->google_status, sizeof(err->google_status), "%s",
                     status);
        dl_log_redact(err->msg);
    }
    json_decref(root);
    return code;
}

int dl_gcp_error_from_status(struct dl_err *err, json_t *st, const char *what)
{
    json_t *jc = json_object_get(st, "code");
    int rpc = json_is_integer(jc) ? (int)json_integer_value(jc) : 0;
    const char *name = dl_gcp_rpc_code_name(rpc);
    const char *msg = json_string_value(json_object_get(st, "message"));
    int http = dl_gcp_rpc_code_http(rpc);
    int code;

    if (rpc == 0)
        return 0;
    code = dl_gcp_status_to_code(name, http);
    if (err) {
        char text[320] = "";

        if (msg)
            excerpt(text, sizeof(text), msg, strlen(msg));
        dl_err_set(err, code, "%s: %s%s%s", what ? what : "operation",
                   name ? name : "UNKNOWN", text[0] ? ": " : "", text);
        err->http_status = http;
        snprintf(err->google_status, sizeof(err->google_status), "%s",
                 name ? name : "UNKNOWN");
        dl_log_redact(err->msg);
    }
    return code;
}

int64_t dl_gcp_error_retry_delay(const char *body, size_t len)
{
    json_t *root, *details;
    int64_t best = 0;
    size_t i;
    json_t *d;

    if (!body || !len)
        return 0;
    root = json_loadb(body, len, 0, NULL);
    details = json_object_get(json_object_get(root, "error"), "details");
    json_array_foreach(details, i, d)
    {
        const char *type = json_string_value(json_object_get(d, "@type"));
        const char *delay = json_string_value(json_object_get(d, "retryDelay"));
        int64_t ns;

        if (type && delay && strstr(type, "google.rpc.RetryInfo") &&
            dl_duration_parse_proto(&ns, delay, NULL) == 0 && ns > best)
            best = ns;
    }
    json_decref(root);
    return best;
}

int64_t dl_gcp_parse_retry_after(const char *v, int64_t now_wall_ns)
{
    char *end;
    long long secs;
    struct tm tm;

    if (!v || !*v)
        return 0;
    if (isdigit((unsigned char)*v)) {
        secs = strtoll(v, &end, 10);
        if (*end != '\0' || secs < 0 || secs > 24 * 3600)
            return 0;
        return (int64_t)secs * DL_NS_PER_SEC;
    }
    {
        /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
        static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
        char mon[4] = "";
        int d, y, hh, mm, ss, n = 0;
        const char *m;

        if (sscanf(v, "%*3s, %2d %3s %4d %2d:%2d:%2d GMT%n", &d, mon, &y, &hh,
                   &mm, &ss, &n) == 6 &&
            n > 0 && v[n] == '\0' && (m = strstr(months, mon)) != NULL &&
            (m - months) % 3 == 0) {
            int64_t at, now_s = now_wall_ns / DL_NS_PER_SEC;

            memset(&tm, 0, sizeof(tm));
            tm.tm_mday = d;
            tm.tm_mon = (int)((m - months) / 3);
            tm.tm_year = y - 1900;
            tm.tm_hour = hh;
            tm.tm_min = mm;
            tm.tm_sec = ss;
            at = (int64_t)timegm(&tm);
            /* As for delta-seconds, more than a day ahead is ignored (and
             * a far date would overflow in ns). */
            if (at < now_s || at - now_s > 24 * 3600)
                return 0;
            at *= DL_NS_PER_SEC;
            return at > now_wall_ns ? at - now_wall_ns : 0;
        }
    }
    return 0;
}
