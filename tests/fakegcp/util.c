/*
 * util.c - fakegcp helpers: Google error envelopes, field checks, query
 * arguments, ids, times, projects, pagination.
 */
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake.h"
#include "util/alloc.h"
#include "util/time.h"

const char *fk_status_name(int code)
{
    switch (code) {
    case 400:
        return "INVALID_ARGUMENT";
    case 401:
        return "UNAUTHENTICATED";
    case 403:
        return "PERMISSION_DENIED";
    case 404:
        return "NOT_FOUND";
    case 409:
        return "ABORTED";
    case 429:
        return "RESOURCE_EXHAUSTED";
    case 499:
        return "CANCELLED";
    case 501:
        return "UNIMPLEMENTED";
    case 503:
        return "UNAVAILABLE";
    case 504:
        return "DEADLINE_EXCEEDED";
    default:
        return code >= 500 ? "INTERNAL" : "UNKNOWN";
    }
}

static json_t *envelope(int code, const char *status, const char *msg)
{
    json_t *e = json_object();
    json_object_set_new(e, "code", json_integer(code));
    json_object_set_new(e, "message", json_string(msg));
    if (status)
        json_object_set_new(e, "status", json_string(status));
    return e;
}

static void set_error(struct fk_resp *resp, int code, json_t *e)
{
    json_decref(resp->json);
    free(resp->text);
    resp->text = NULL;
    resp->status = code;
    resp->json = json_pack("{s:o}", "error", e);
}

void fk_error(struct fk_resp *resp, int code, const char *status,
              json_t *details, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *e = envelope(code, status, msg);
    if (details)
        json_object_set_new(e, "details", details);
    set_error(resp, code, e);
}

void fk_error_legacy(struct fk_resp *resp, int code, const char *status,
                     const char *reason, int with_status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *e = json_object();
    json_object_set_new(e, "code", json_integer(code));
    json_object_set_new(e, "message", json_string(msg));
    json_object_set_new(e, "errors",
                        json_pack("[{s:s,s:s,s:s}]", "message", msg, "domain",
                                  "global", "reason", reason));
    if (with_status)
        json_object_set_new(e, "status", json_string(status));
    set_error(resp, code, e);
}

void fk_ok(struct fk_resp *resp, json_t *j)
{
    json_decref(resp->json);
    resp->status = 200;
    resp->json = j;
}

void fk_header(struct fk_resp *resp, const char *name, const char *value)
{
    if (resp->nhdr >= 2)
        return;
    snprintf(resp->hdr_name[resp->nhdr], sizeof resp->hdr_name[0], "%s", name);
    snprintf(resp->hdr_value[resp->nhdr], sizeof resp->hdr_value[0], "%s",
             value);
    resp->nhdr++;
}

int fk_check_fields(struct fk_resp *resp, json_t *obj, const char *where,
                    const char *const *allowed)
{
    const char *key;
    json_t *v;
    if (!json_is_object(obj))
        return 0;
    json_object_foreach(obj, key, v)
    {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            if (!strcmp(*a, key))
                ok = 1;
        if (ok)
            continue;
        char msg[600];
        if (*where)
            snprintf(msg, sizeof msg,
                     "Invalid JSON payload received. Unknown name \"%s\" at "
                     "'%s': Cannot find field.",
                     key, where);
        else
            snprintf(msg, sizeof msg,
                     "Invalid JSON payload received. Unknown name \"%s\": "
                     "Cannot find field.",
                     key);
        json_t *details =
            json_pack("[{s:s,s:[{s:s,s:s}]}]", "@type",
                      "type.googleapis.com/google.rpc.BadRequest",
                      "fieldViolations", "field", where, "description", msg);
        fk_error(resp, 400, "INVALID_ARGUMENT", details, "%s", msg);
        return -1;
    }
    return 0;
}

json_t *fk_body_object(struct fk_req *req, struct fk_resp *resp)
{
    if (req->body_len == 0)
        return json_object();
    if (!json_is_object(req->json)) {
        fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                 "Invalid JSON payload received. Unexpected token.");
        return NULL;
    }
    return json_incref(req->json);
}

const char *fk_query(struct fk_req *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *fk_req_header(struct fk_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

void fk_rand_alnum(char *out, size_t n)
{
    static const char abc[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char r[64];
    if (n > sizeof r)
        n = sizeof r;
    if (RAND_bytes(r, (int)n) != 1)
        dl_fatal("fakegcp: no randomness");
    for (size_t i = 0; i < n; i++)
        out[i] = abc[r[i] % 36];
    out[n] = '\0';
}

void fk_uuid4(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, 16) != 1)
        dl_fatal("fakegcp: no randomness");
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x"
             "%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
             b[11], b[12], b[13], b[14], b[15]);
}

void fk_b64(char *out, const unsigned char *in, size_t n)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

int64_t fk_now_ns(void)
{
    return dl_time_now_ns();
}

void fk_time_str(char *out, size_t size, int64_t ns)
{
    time_t s = (time_t)(ns / DL_NS_PER_SEC);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (long)((ns % DL_NS_PER_SEC) / 1000));
}

static json_t *find_project(const char *id_or_number)
{
    json_t *arr = json_object_get(fk.state, "projects");
    size_t i;
    json_t *p;
    json_array_foreach(arr, i, p)
    {
        const char *id = json_string_value(json_object_get(p, "projectId"));
        const char *num =
            json_string_value(json_object_get(p, "projectNumber"));
        if ((id && !strcmp(id, id_or_number)) ||
            (num && !strcmp(num, id_or_number)))
            return p;
    }
    return NULL;
}

const char *fk_project_number(const char *id_or_number)
{
    json_t *p = find_project(id_or_number);
    return p ? json_string_value(json_object_get(p, "projectNumber")) : NULL;
}

const char *fk_project_id(const char *id_or_number)
{
    json_t *p = find_project(id_or_number);
    return p ? json_string_value(json_object_get(p, "projectId")) : NULL;
}

json_t *fk_state_array(const char *a, const char *b)
{
    json_t *o = json_object_get(fk.state, a);
    if (!b) {
        if (!json_is_array(o)) {
            o = json_array();
            json_object_set_new(fk.state, a, o);
        }
        return o;
    }
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(fk.state, a, o);
    }
    json_t *arr = json_object_get(o, b);
    if (!json_is_array(arr)) {
        arr = json_array();
        json_object_set_new(o, b, arr);
    }
    return arr;
}

int fk_paginate(struct fk_resp *resp, json_t *out, const char *key, json_t *arr,
                const char *size_s, const char *token, int default_size,
                int max_size)
{
    long size = default_size, start = 0;
    if (size_s && *size_s) {
        char *end;
        size = strtol(size_s, &end, 10);
        if (*end || size < 0) {
            fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                     "Invalid page size \"%s\"", size_s);
            return -1;
        }
        if (size == 0)
            size = default_size;
    }
    if (size > max_size)
        size = max_size;
    if (token && *token) {
        /* tokens are base64("o:<offset>") without padding */
        unsigned char dec[64];
        char padded[84];
        size_t tl = strlen(token);
        int n = -1;
        if (tl < 80 && strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
                                     "nopqrstuvwxyz0123456789") == tl) {
            snprintf(padded, sizeof padded, "%s%s", token,
                     tl % 4 == 2   ? "=="
                     : tl % 4 == 3 ? "="
                                   : "");
            n = EVP_DecodeBlock(dec, (const unsigned char *)padded,
                                (int)strlen(padded));
        }
        if (n < 3 || dec[0] != 'o' || dec[1] != ':') {
            fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                     "Invalid page token \"%s\"", token);
            return -1;
        }
        dec[n < 63 ? n : 63] = '\0';
        start = atol((char *)dec + 2);
    }
    size_t total = json_array_size(arr);
    json_t *page = json_array();
    for (size_t i = (size_t)start;
         i < total && (long)(i - (size_t)start) < size; i++)
        json_array_append(page, json_array_get(arr, i));
    if (json_array_size(page) > 0)
        json_object_set_new(out, key, page);
    else
        json_decref(page);
    if ((size_t)(start + size) < total) {
        char raw[32], tok[64];
        int n = snprintf(raw, sizeof raw, "o:%ld", start + size);
        fk_b64(tok, (unsigned char *)raw, (size_t)n);
        tok[strcspn(tok, "=")] = '\0';
        json_object_set_new(out, "nextPageToken", json_string(tok));
    }
    return 0;
}
