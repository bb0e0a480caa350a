/*
 * webhook.c - GitHub webhook signature check and push event parsing.
 */
#include "controller/webhook.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/log.h"

#define PREFIX "sha256="
#define PREFIX_LEN 7
#define DIGEST_LEN 32

int dl_webhook_secret_load(char **out, size_t *out_len, const char *path,
                           struct dl_err *err)
{
    FILE *f = NULL;
    char *data = NULL;
    size_t len = 0;
    int rc = 0;

    *out = NULL;
    *out_len = 0;
    f = fopen(path, "rb");
    if (!f) {
        rc = dl_err_set(err, errno == ENOENT ? DL_ENOTFOUND : DL_ERROR,
                        "cannot open webhook secret file \"%s\": %s", path,
                        strerror(errno));
        goto done;
    }
    data = dl_malloc(DL_WEBHOOK_SECRET_MAX + 2);
    len = fread(data, 1, DL_WEBHOOK_SECRET_MAX + 1, f);
    if (ferror(f)) {
        rc = dl_err_set(err, DL_ERROR, "cannot read webhook secret file \"%s\"",
                        path);
        goto done;
    }
    if (len > DL_WEBHOOK_SECRET_MAX) {
        rc = dl_err_set(err, DL_ELIMIT,
                        "webhook secret file \"%s\" is longer than %d bytes",
                        path, DL_WEBHOOK_SECRET_MAX);
        goto done;
    }
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        len--;
    data[len] = '\0';
    if (len == 0) {
        rc = dl_err_set(err, DL_EINVALID, "webhook secret file \"%s\" is empty",
                        path);
        goto done;
    }
    if (memchr(data, '\0', len)) {
        rc = dl_err_set(err, DL_EINVALID,
                        "webhook secret file \"%s\" holds a NUL byte", path);
        goto done;
    }
    dl_log_add_secret(data);
    *out = data;
    *out_len = len;
    data = NULL;
done:
    if (data) {
        OPENSSL_cleanse(data, DL_WEBHOOK_SECRET_MAX + 2);
        free(data);
    }
    if (f)
        fclose(f);
    return rc;
}

void dl_webhook_secret_free(char *secret, size_t len)
{
    if (!secret)
        return;
    OPENSSL_cleanse(secret, len);
    free(secret);
}

static int hmac(unsigned char out[DIGEST_LEN], const char *secret,
                size_t secret_len, const void *body, size_t body_len)
{
    unsigned int n = 0;
    static const unsigned char empty = 0;

    if (secret_len > (size_t)0x7fffffff)
        return DL_ERROR;
    if (!HMAC(EVP_sha256(), secret, (int)secret_len,
              body_len ? (const unsigned char *)body : &empty, body_len, out,
              &n) ||
        n != DIGEST_LEN)
        return DL_ERROR;
    return 0;
}

int dl_webhook_sign(char *out, size_t size, const char *secret,
                    size_t secret_len, const void *body, size_t body_len)
{
    unsigned char d[DIGEST_LEN];
    size_t o;

    if (size < PREFIX_LEN + 2 * DIGEST_LEN + 1 ||
        hmac(d, secret, secret_len, body, body_len) != 0)
        return DL_ERROR;
    memcpy(out, PREFIX, PREFIX_LEN);
    o = PREFIX_LEN;
    for (size_t i = 0; i < DIGEST_LEN; i++) {
        out[o++] = "0123456789abcdef"[d[i] >> 4];
        out[o++] = "0123456789abcdef"[d[i] & 15];
    }
    out[o] = '\0';
    OPENSSL_cleanse(d, sizeof(d));
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int dl_webhook_verify(const char *secret, size_t secret_len, const void *body,
                      size_t body_len, const char *header, struct dl_err *err)
{
    unsigned char want[DIGEST_LEN], got[DIGEST_LEN];
    int rc = 0;

    if (!secret || secret_len == 0)
        return dl_err_set(err, DL_EINVALID, "no webhook secret configured");
    if (!header)
        return dl_err_set(err, DL_EAUTH, "missing %s header",
                          DL_WEBHOOK_SIGNATURE_HEADER);
    if (strncmp(header, PREFIX, PREFIX_LEN) != 0 ||
        strlen(header) != PREFIX_LEN + 2 * DIGEST_LEN)
        goto malformed;
    for (size_t i = 0; i < DIGEST_LEN; i++) {
        int hi = hexval(header[PREFIX_LEN + 2 * i]);
        int lo = hexval(header[PREFIX_LEN + 2 * i + 1]);

        if (hi < 0 || lo < 0)
            goto malformed;
        got[i] = (unsigned char)(hi << 4 | lo);
    }
    if (hmac(want, secret, secret_len, body, body_len) != 0) {
        rc = dl_err_set(err, DL_ERROR, "cannot compute HMAC-SHA256");
        goto done;
    }
    if (CRYPTO_memcmp(want, got, DIGEST_LEN) != 0)
        rc = dl_err_set(err, DL_EAUTH, "signature mismatch");
    goto done;
malformed:
    rc = dl_err_set(err, DL_EAUTH,
                    "malformed %s header (want sha256=<64 hex digits>)",
                    DL_WEBHOOK_SIGNATURE_HEADER);
done:
    OPENSSL_cleanse(want, sizeof(want));
    return rc;
}

static int is_hex_commit(const char *s)
{
    size_t n = strlen(s);

    if (n != 40 && n != 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (hexval(s[i]) < 0)
            return 0;
    return 1;
}

static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

int dl_webhook_parse_push(struct dl_webhook_push *out, const char *body,
                          size_t len, struct dl_err *err)
{
    json_t *root = NULL;
    json_error_t jerr;
    const char *s;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    root = json_loadb(body ? body : "", body ? len : 0, 0, &jerr);
    if (!root || !json_is_object(root)) {
        rc = dl_err_set(err, DL_EINVALID, "push event is not a JSON object");
        goto done;
    }
    s = json_string_value(json_object_get(root, "ref"));
    if (s) {
        if (strlen(s) >= sizeof(out->ref) || !printable(s)) {
            rc = dl_err_set(err, DL_EINVALID, "push event has a malformed ref");
            goto done;
        }
        snprintf(out->ref, sizeof(out->ref), "%s", s);
    }
    s = json_string_value(json_object_get(root, "after"));
    if (s) {
        if (!is_hex_commit(s)) {
            rc = dl_err_set(err, DL_EINVALID,
                            "push event has a malformed after commit");
            goto done;
        }
        snprintf(out->after, sizeof(out->after), "%s", s);
    }
    s = json_string_value(json_object_get(root, "before"));
    if (s && is_hex_commit(s))
        snprintf(out->before, sizeof(out->before), "%s", s);
    s = json_string_value(
        json_object_get(json_object_get(root, "repository"), "full_name"));
    if (s && strlen(s) < sizeof(out->repo) && printable(s))
        snprintf(out->repo, sizeof(out->repo), "%s", s);
    out->deleted = json_is_true(json_object_get(root, "deleted"));
done:
    if (rc)
        memset(out, 0, sizeof(*out));
    json_decref(root);
    return rc;
}
