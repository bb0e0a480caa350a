/*
 * fuzz_gcp_error.c - libFuzzer target for Google error answers
 * (src/gcp/error.c). The input is "<HTTP status>\n<body>" (a missing or
 * bad first line means 400 and the whole input is the body). The body is
 * parsed as an error envelope, for its RetryInfo delay, as a
 * google.rpc.Status (an operation's or a batchWrite's error) and, as a
 * string, as a Retry-After header. Every error must be a negative DL_E*
 * code with a non-empty one-line message; delays are never negative.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcp/error.h"
#include "util/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int rc, const struct dl_err *err, int zero_ok)
{
    if (rc > 0 || (rc == 0 && !zero_ok) ||
        (rc < 0 &&
         (err->code != rc || !err->msg[0] || strchr(err->msg, '\n')))) {
        fprintf(stderr, "fuzz_gcp_error: rc %d, message '%s'\n", rc, err->msg);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nl = memchr(text, '\n', size);
    int status = 400;
    const char *body = text;
    size_t len = size;
    struct dl_err err;
    char *str;
    json_t *j;

    if (nl && nl - text <= 4) {
        char num[5] = {0};

        memcpy(num, text, (size_t)(nl - text));
        status = atoi(num);
        body = nl + 1;
        len = size - (size_t)(body - text);
    }
    check(dl_gcp_error_parse(&err, status, body, len, "GET /v1/fuzz"), &err, 0);
    if (dl_gcp_error_retry_delay(body, len) < 0)
        abort();
    j = json_loadb(body, len, 0, NULL);
    if (j) {
        check(dl_gcp_error_from_status(&err, j, "operation"), &err, 1);
        check(dl_gcp_error_from_status(&err, json_object_get(j, "error"),
                                       "operation"),
              &err, 1);
        json_decref(j);
    }
    str = dl_malloc(len + 1);
    memcpy(str, body, len);
    str[len] = '\0';
    if (dl_gcp_parse_retry_after(str, (int64_t)1800000000 * 1000000000) < 0)
        abort();
    (void)dl_gcp_status_to_code(str, status);
    free(str);
    return 0;
}
