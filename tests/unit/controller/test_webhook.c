/* GitHub webhook signatures, the secret file and push event parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/webhook.h"
#include "util/log.h"

/* The example from GitHub's "Validating webhook deliveries" page. */
#define GH_SECRET "It's a Secret to Everybody"
#define GH_BODY "Hello, World!"
#define GH_SIG                                                                 \
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

static void test_sign_known_vector(void **state)
{
    char sig[80];

    (void)state;
    assert_int_equal(dl_webhook_sign(sig, sizeof(sig), GH_SECRET,
                                     strlen(GH_SECRET), GH_BODY,
                                     strlen(GH_BODY)),
                     0);
    assert_string_equal(sig, GH_SIG);
    assert_int_equal(dl_webhook_sign(sig, 71, GH_SECRET, strlen(GH_SECRET),
                                     GH_BODY, strlen(GH_BODY)),
                     DL_ERROR);
}

static void test_verify(void **state)
{
    char sig[80], upper[80];
    struct dl_err err;
    const char *s = GH_SECRET;
    size_t sl = strlen(GH_SECRET);

    (void)state;
    assert_int_equal(
        dl_webhook_verify(s, sl, GH_BODY, strlen(GH_BODY), GH_SIG, &err), 0);
    /* Hex digits in upper case are the same digest. */
    snprintf(upper, sizeof(upper), "sha256=%s", &GH_SIG[7]);
    for (char *c = upper + 7; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    assert_int_equal(
        dl_webhook_verify(s, sl, GH_BODY, strlen(GH_BODY), upper, &err), 0);

    /* One flipped digit, another body, another secret: mismatch. */
    snprintf(sig, sizeof(sig), "%s", GH_SIG);
    sig[20] = sig[20] == '0' ? '1' : '0';
    assert_int_equal(
        dl_webhook_verify(s, sl, GH_BODY, strlen(GH_BODY), sig, &err),
        DL_EAUTH);
    assert_string_equal(err.msg, "signature mismatch");
    assert_int_equal(
        dl_webhook_verify(s, sl, "Hello, World?", 13, GH_SIG, &err), DL_EAUTH);
    assert_int_equal(
        dl_webhook_verify("other", 5, GH_BODY, strlen(GH_BODY), GH_SIG, &err),
        DL_EAUTH);
    /* The secret's length counts, not a NUL inside it. */
    assert_int_equal(
        dl_webhook_verify(s, sl - 1, GH_BODY, strlen(GH_BODY), GH_SIG, &err),
        DL_EAUTH);

    assert_int_equal(
        dl_webhook_verify(s, sl, GH_BODY, strlen(GH_BODY), NULL, &err),
        DL_EAUTH);
    assert_string_equal(err.msg, "missing X-Hub-Signature-256 header");

    static const char *const malformed[] = {
        "",
        "sha256=",
        "sha1=757107ea0eb2509fc211221cce984b8a37570b6d",
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "sha256="
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",
        "sha256="
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        "0",
        "sha256="
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043eZ7",
        "SHA256="
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        " sha256="
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",
    };
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        assert_int_equal(dl_webhook_verify(s, sl, GH_BODY, strlen(GH_BODY),
                                           malformed[i], &err),
                         DL_EAUTH);
        assert_string_equal(err.msg, "malformed X-Hub-Signature-256 header "
                                     "(want sha256=<64 hex digits>)");
    }
    assert_int_equal(
        dl_webhook_verify("", 0, GH_BODY, strlen(GH_BODY), GH_SIG, &err),
        DL_EINVALID);

    /* An empty body has a signature too. */
    assert_int_equal(dl_webhook_sign(sig, sizeof(sig), "k3y!", 4, NULL, 0), 0);
    assert_int_equal(dl_webhook_verify("k3y!", 4, "", 0, sig, &err), 0);
}

static char *write_tmp(const void *data, size_t len)
{
    char *path = strdup("/tmp/dl-webhook-secret-XXXXXX");
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    return path;
}

static void test_secret_load(void **state)
{
    char *secret = NULL, *path;
    size_t len = 0;
    struct dl_err err;
    char line[128];
    char big[DL_WEBHOOK_SECRET_MAX + 10];

    (void)state;
    dl_log_clear_secrets();
    path = write_tmp("hook-s3cret-value\r\n\n", 20);
    assert_int_equal(dl_webhook_secret_load(&secret, &len, path, &err), 0);
    assert_string_equal(secret, "hook-s3cret-value");
    assert_int_equal(len, 17);
    /* It is registered for redaction. */
    snprintf(line, sizeof(line), "token=hook-s3cret-value end");
    dl_log_redact(line);
    assert_null(strstr(line, "hook-s3cret-value"));
    assert_non_null(strstr(line, "[REDACTED]"));
    dl_webhook_secret_free(secret, len);
    unlink(path);
    free(path);

    /* Inner spaces and a missing final newline are kept as they are. */
    path = write_tmp(" a b ", 5);
    assert_int_equal(dl_webhook_secret_load(&secret, &len, path, &err), 0);
    assert_string_equal(secret, " a b ");
    dl_webhook_secret_free(secret, len);
    unlink(path);
    free(path);

    path = write_tmp("\n\n", 2);
    assert_int_equal(dl_webhook_secret_load(&secret, &len, path, &err),
                     DL_EINVALID);
    assert_null(secret);
    assert_non_null(strstr(err.msg, "is empty"));
    unlink(path);
    free(path);

    path = write_tmp("ab\0cd\n", 6);
    assert_int_equal(dl_webhook_secret_load(&secret, &len, path, &err),
                     DL_EINVALID);
    assert_non_null(strstr(err.msg, "NUL byte"));
    unlink(path);
    free(path);

    memset(big, 'x', sizeof(big));
    path = write_tmp(big, sizeof(big));
    assert_int_equal(dl_webhook_secret_load(&secret, &len, path, &err),
                     DL_ELIMIT);
    assert_null(strstr(err.msg, "xxxx")); /* never the secret itself */
    unlink(path);
    free(path);

    assert_int_equal(
        dl_webhook_secret_load(&secret, &len, "/nonexistent/dl-secret", &err),
        DL_ENOTFOUND);
    assert_non_null(strstr(err.msg, "\"/nonexistent/dl-secret\""));
    dl_webhook_secret_free(NULL, 0);
    dl_log_clear_secrets();
}

static int parse(struct dl_webhook_push *p, const char *s, struct dl_err *err)
{
    return dl_webhook_parse_push(p, s, strlen(s), err);
}

static void test_parse_push(void **state)
{
    static const char good[] =
        "{\"ref\":\"refs/heads/main\","
        "\"before\":\"0000000000000000000000000000000000000000\","
        "\"after\":\"e1c10e88a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4\","
        "\"repository\":{\"full_name\":\"acme/platform\"},\"deleted\":false,"
        "\"commits\":[{\"id\":\"x\"}],\"extra\":{\"deep\":[1,2,{}]}}";
    struct dl_webhook_push p;
    struct dl_err err;

    (void)state;
    assert_int_equal(dl_webhook_parse_push(&p, good, strlen(good), &err), 0);
    assert_string_equal(p.ref, "refs/heads/main");
    assert_string_equal(p.after, "e1c10e88a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4");
    assert_string_equal(p.before, "0000000000000000000000000000000000000000");
    assert_string_equal(p.repo, "acme/platform");
    assert_int_equal(p.deleted, 0);

    /* Only the first len bytes count: no NUL needed. */
    assert_int_equal(dl_webhook_parse_push(&p, "{}garbage", 2, &err), 0);
    assert_string_equal(p.ref, "");
    assert_string_equal(p.after, "");

    assert_int_equal(parse(&p, "{\"ref\":\"r\",\"after\":\"xyz\"}", &err),
                     DL_EINVALID);
    assert_string_equal(err.msg, "push event has a malformed after commit");
    assert_string_equal(p.ref, ""); /* cleared on error */
    assert_int_equal(dl_webhook_parse_push(&p, "{\"ref\":\"a\\nb\"}", 14, &err),
                     DL_EINVALID);
    assert_string_equal(err.msg, "push event has a malformed ref");

    static const char *const bad[] = {
        "",        "[]",       "null",
        "\"str\"", "{",        "{\"ref\":",
        "{}{}",    "\xff\xfe", "{\"ref\":\"\xc3\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(
            dl_webhook_parse_push(&p, bad[i], strlen(bad[i]), &err),
            DL_EINVALID);
        assert_string_equal(err.msg, "push event is not a JSON object");
    }
    assert_int_equal(dl_webhook_parse_push(&p, NULL, 0, &err), DL_EINVALID);

    /* Wrong types are ignored, not trusted. */
    assert_int_equal(
        parse(&p, "{\"ref\":1,\"after\":[],\"repository\":\"x\",\"deleted\":1}",
              &err),
        0);
    assert_string_equal(p.ref, "");
    assert_string_equal(p.repo, "");
    assert_int_equal(p.deleted, 0);

    /* Deep nesting does not crash the parser. */
    {
        char deep[20001];

        memset(deep, '[', 10000);
        memset(deep + 10000, ']', 10000);
        deep[20000] = '\0';
        assert_int_equal(dl_webhook_parse_push(&p, deep, 20000, &err),
                         DL_EINVALID);
    }
}

/* Deterministic mutations of a push body: the parser and the verifier
   never crash, leak or read out of bounds (valgrind and ASan runs). */
static void test_mutations(void **state)
{
    static const char seed[] =
        "{\"ref\":\"refs/heads/main\",\"after\":"
        "\"e1c10e88a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4\",\"repository\":"
        "{\"full_name\":\"acme/platform\"},\"deleted\":false}";
    static const char alphabet[] = "{}[]\":,\\ 0aZ\xc3\xff\n-eE.tn";
    char buf[sizeof(seed) + 16];
    uint64_t rng = 0x1234567;
    struct dl_webhook_push p;
    struct dl_err err;
    int parsed = 0;

    (void)state;
    for (int i = 0; i < 3000; i++) {
        size_t len = sizeof(seed) - 1;

        memcpy(buf, seed, len);
        for (int k = 0; k < 1 + i % 4; k++) {
            if (len < 2)
                break;
            rng = rng * 6364136223846793005u + 1442695040888963407u;
            size_t at = (size_t)(rng >> 33) % len;
            char c = alphabet[(rng >> 20) % (sizeof(alphabet) - 1)];

            switch ((rng >> 8) % 3) {
            case 0: /* replace */
                buf[at] = c;
                break;
            case 1: /* delete */
                memmove(buf + at, buf + at + 1, len - at - 1);
                len--;
                break;
            default: /* truncate */
                len = at + 1;
                break;
            }
        }
        buf[len] = '\0'; /* for verify, which takes the header as a string */
        if (dl_webhook_parse_push(&p, buf, len, &err) == 0) {
            parsed++;
            assert_true(strlen(p.ref) < sizeof(p.ref));
            assert_true(strlen(p.after) == 0 || strlen(p.after) == 40);
        }
        assert_int_not_equal(dl_webhook_verify("k3y!", 4, buf, len, buf, &err),
                             0);
    }
    assert_true(parsed > 0); /* some mutations keep it valid */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_known_vector),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_secret_load),
        cmocka_unit_test(test_parse_push),
        cmocka_unit_test(test_mutations),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
