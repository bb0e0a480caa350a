/*
 * fuzz_webhook.c - libFuzzer target for GitHub push webhooks
 * (src/controller/webhook.c). The input is "<X-Hub-Signature-256 value>\n
 * <body>" when it starts with "sha", else just the body. The header given
 * must verify exactly when it is the body's real signature (compared
 * case-insensitively in its hex digits); the real signature must always
 * verify; and the push parser must either refuse the body with a one-line
 * DL_EINVALID or return fields of the promised form.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "controller/webhook.h"
#include "util/alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char secret[] = "fuzz-webhook-secret";

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_webhook: %s: %s\n", what, detail);
    abort();
}

static int hex_commit(const char *s)
{
    size_t n = strlen(s);

    if (n == 0)
        return 1;
    if (n != 40 && n != 64)
        return 0;
    return strspn(s, "0123456789abcdefABCDEF") == n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *body = text;
    size_t len = size;
    char *header = NULL;
    char good[80];
    struct dl_webhook_push push;
    struct dl_err err;
    int rc;

    if (size >= 3 && memcmp(text, "sha", 3) == 0) {
        const char *nl = memchr(text, '\n', size);
        size_t hl = nl ? (size_t)(nl - text) : size;

        header = dl_malloc(hl + 1);
        memcpy(header, text, hl);
        header[hl] = '\0';
        body = nl ? nl + 1 : text + size;
        len = size - (size_t)(body - text);
    }
    if (dl_webhook_sign(good, sizeof(good), secret, strlen(secret), body,
                        len) != 0)
        fail("sign", "OpenSSL failed");
    if (dl_webhook_verify(secret, strlen(secret), body, len, good, &err) != 0)
        fail("the real signature does not verify", err.msg);
    if (header) {
        rc = dl_webhook_verify(secret, strlen(secret), body, len, header, &err);
        if ((rc == 0) !=
            (strlen(header) == strlen(good) && strncmp(header, good, 7) == 0 &&
             strcasecmp(header + 7, good + 7) == 0))
            fail("a header verified wrongly", header);
        if (rc != 0 && (rc != DL_EAUTH || strchr(err.msg, '\n')))
            fail("a bad header is not one-line DL_EAUTH", err.msg);
    }
    rc = dl_webhook_parse_push(&push, body, len, &err);
    if (rc != 0) {
        if (rc != DL_EINVALID || !err.msg[0] || strchr(err.msg, '\n'))
            fail("push refusal", err.msg);
    } else {
        if (!hex_commit(push.after) || !hex_commit(push.before))
            fail("commit of the wrong form", push.after);
        for (const char *p = push.ref; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                fail("control character in ref", push.ref);
    }
    free(header);
    return 0;
}
