/* Tests for src/source/sshsig.c: git SSH commit signatures, with keys and
 * signed commits made by ssh-keygen and the git CLI. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "source/source.h"
#include "source/source_int.h"
#include "util/alloc.h"

static char *root, *dir;
static char k1[512], k2[512], k3[512], k4[512]; /* public keys */
static char unsigned_c[41], signed_c[41], rsa_c[41], ecdsa_c[41],
    tampered_c[41];
static struct dl_source *src;
static int have_keygen; /* ssh-keygen (openssh-client) is installed */

static void read_pub(char *out, size_t n, const char *name)
{
    if (fx_capture(out, n, "cat '%s/%s.pub'", root, name) != 0)
        dl_fatal("cannot read key %s", name);
}

static void head(char out[41])
{
    if (fx_capture(out, 41, "git -C '%s' rev-parse HEAD", dir) != 0)
        dl_fatal("rev-parse");
}

static int setup(void **state)
{
    struct dl_source_opts o = {0};
    struct dl_err err = {0};

    (void)state;
    root = fx_tmpdir();
    fx_env(root);
    dir = dl_asprintf("%s/repo", root);
    have_keygen = fx_sh("command -v ssh-keygen >/dev/null") == 0;
    if (!have_keygen) {
        fprintf(stderr, "ssh-keygen not found (openssh-client): the "
                        "signature tests are skipped\n");
        return 0;
    }
    if (fx_sh("set -e; cd '%s';"
              "ssh-keygen -q -t ed25519 -N '' -C one -f k1;"
              "ssh-keygen -q -t ed25519 -N '' -C two -f k2;"
              "ssh-keygen -q -t rsa -b 2048 -N '' -C three -f k3;"
              "ssh-keygen -q -t ecdsa -b 256 -N '' -C four -f k4;"
              "ssh-keygen -q -t ecdsa -b 384 -N '' -C five -f k5;"
              "ssh-keygen -q -t ecdsa -b 521 -N '' -C six -f k6",
              root) != 0)
        dl_fatal("ssh-keygen");
    read_pub(k1, sizeof(k1), "k1");
    read_pub(k2, sizeof(k2), "k2");
    read_pub(k3, sizeof(k3), "k3");
    read_pub(k4, sizeof(k4), "k4");
    if (fx_sh("set -e; git init -q '%s'; cd '%s'; mkdir desired-state;"
              "echo a > desired-state/a.yaml; git add -A;"
              "git commit -q -m unsigned",
              dir, dir) != 0)
        dl_fatal("repo");
    head(unsigned_c);
    if (fx_sh("set -e; cd '%s'; echo b >> desired-state/a.yaml;"
              "git -c gpg.format=ssh -c user.signingkey='%s/k1' "
              "commit -q -S -am signed",
              dir, root) != 0)
        dl_fatal("signed commit");
    head(signed_c);
    if (fx_sh("set -e; cd '%s'; echo c >> desired-state/a.yaml;"
              "git -c gpg.format=ssh -c user.signingkey='%s/k3' "
              "commit -q -S -am rsa-signed",
              dir, root) != 0)
        dl_fatal("rsa commit");
    head(rsa_c);
    if (fx_sh("set -e; cd '%s'; echo d >> desired-state/a.yaml;"
              "git -c gpg.format=ssh -c user.signingkey='%s/k4' "
              "commit -q -S -am ecdsa-signed",
              dir, root) != 0)
        dl_fatal("ecdsa commit");
    head(ecdsa_c);
    /* The signed commit with its message changed, signature kept. */
    if (fx_capture(tampered_c, sizeof(tampered_c),
                   "cd '%s' && git cat-file commit %s | sed 's/^signed$/evil/'"
                   " | git hash-object -t commit -w --stdin",
                   dir, signed_c) != 0 ||
        strlen(tampered_c) != 40)
        dl_fatal("tampered commit");
    o.source = dir;
    if (dl_source_open(&src, &o, &err) != 0)
        dl_fatal("open: %s", err.msg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dl_source_free(src);
    fx_rm_rf(root);
    free(dir);
    free(root);
    return 0;
}

static void good_signatures(void **state)
{
    const char *one[] = {k1};
    const char *two[] = {k2, k1};
    char signer[600];
    const char *as_signers[1] = {signer};
    const char *rsa[] = {k3};
    struct dl_err err = {0};

    (void)state;
    if (!have_keygen)
        skip();
    assert_int_equal(dl_source_verify_signature(src, signed_c, one, 1, &err),
                     0);
    assert_int_equal(dl_source_verify_signature(src, signed_c, two, 2, &err),
                     0);
    /* allowed_signers lines ("principal key") work too. */
    snprintf(signer, sizeof(signer), "dev@example.com %s", k1);
    assert_int_equal(
        dl_source_verify_signature(src, "HEAD~2", as_signers, 1, &err), 0);
    assert_int_equal(dl_source_verify_signature(src, rsa_c, rsa, 1, &err), 0);
    {
        const char *ec[] = {k4};

        assert_int_equal(dl_source_verify_signature(src, ecdsa_c, ec, 1, &err),
                         0);
        /* An ECDSA key does not verify an Ed25519 signature. */
        assert_int_equal(dl_source_verify_signature(src, signed_c, ec, 1, &err),
                         DL_EAUTH);
    }
}

/* ECDSA P-384 and P-521 (detached signatures from ssh-keygen -Y sign). */
static void ecdsa_curves(void **state)
{
    const char *names[] = {"k5", "k6"};

    (void)state;
    if (!have_keygen)
        skip();
    for (size_t i = 0; i < 2; i++) {
        char pub[512], sig[4096];
        const char *keys[1] = {pub};
        struct dl_err err = {0};

        read_pub(pub, sizeof(pub), names[i]);
        assert_int_equal(fx_sh("cd '%s' && printf 'data\\n' > ec.msg && "
                               "rm -f ec.msg.sig && ssh-keygen -q -Y sign -n "
                               "git -f %s ec.msg 2>/dev/null",
                               root, names[i]),
                         0);
        assert_int_equal(
            fx_capture(sig, sizeof(sig), "cat '%s/ec.msg.sig'", root), 0);
        assert_int_equal(dl_sshsig_verify(sig, strlen(sig), "data\n", 5, keys,
                                          1, "blob y", &err),
                         0);
        assert_int_equal(dl_sshsig_verify(sig, strlen(sig), "DATA\n", 5, keys,
                                          1, "blob y", &err),
                         DL_EAUTH);
        assert_non_null(strstr(err.msg, "does not verify"));
    }
}

static void unsigned_commit(void **state)
{
    const char *one[] = {k1};
    struct dl_err err = {0};
    char want[64];

    (void)state;
    if (!have_keygen)
        skip();
    assert_int_equal(dl_source_verify_signature(src, unsigned_c, one, 1, &err),
                     DL_EAUTH);
    snprintf(want, sizeof(want), "commit %.7s is not signed", unsigned_c);
    assert_string_equal(err.msg, want);
}

static void wrong_key(void **state)
{
    const char *other[] = {k2, k3};
    struct dl_err err = {0};
    char fpr[128], want[256];

    (void)state;
    if (!have_keygen)
        skip();
    assert_int_equal(fx_capture(fpr, sizeof(fpr),
                                "ssh-keygen -lf '%s/k1.pub' | cut -d' ' -f2",
                                root),
                     0);
    assert_int_equal(dl_source_verify_signature(src, signed_c, other, 2, &err),
                     DL_EAUTH);
    snprintf(want, sizeof(want),
             "commit %.7s is signed by key %s, which is not an allowed key",
             signed_c, fpr);
    assert_string_equal(err.msg, want);
}

static void tampered_commit(void **state)
{
    const char *one[] = {k1};
    struct dl_err err = {0};
    char want[256], fpr[128];

    (void)state;
    if (!have_keygen)
        skip();
    assert_int_equal(fx_capture(fpr, sizeof(fpr),
                                "ssh-keygen -lf '%s/k1.pub' | cut -d' ' -f2",
                                root),
                     0);
    assert_int_equal(dl_source_verify_signature(src, tampered_c, one, 1, &err),
                     DL_EAUTH);
    snprintf(want, sizeof(want),
             "signature of commit %.7s does not verify with key %s", tampered_c,
             fpr);
    assert_string_equal(err.msg, want);
}

static void bad_allowed_keys(void **state)
{
    const char *bad[] = {k1, "ssh-ed25519 not-base64!"};
    const char *mismatch[] = {"ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIAN4YwN00c9ZH"
                              "oVW/efkF7o0h7Q8lKZ5DGNTEoYt1YqF"};
    struct dl_err err = {0};

    (void)state;
    if (!have_keygen)
        skip();
    assert_int_equal(dl_source_verify_signature(src, signed_c, bad, 2, &err),
                     DL_EINVALID);
    assert_string_equal(err.msg, "allowed signing key 2 is not an SSH public "
                                 "key (want 'ssh-ed25519 AAAA...')");
    /* The text says rsa, the blob says ed25519. */
    assert_int_equal(
        dl_source_verify_signature(src, signed_c, mismatch, 1, &err),
        DL_EINVALID);
    assert_int_equal(dl_source_verify_signature(src, signed_c, bad, 0, &err),
                     DL_EINVALID);
    assert_int_equal(dl_source_verify_signature(src, "nope", bad, 1, &err),
                     DL_ENOTFOUND);
}

static void detached(void **state)
{
    const char *one[] = {k1};
    char sig[4096], other_ns[4096];
    struct dl_err err = {0};
    const char *msg = "hello\n";

    (void)state;
    if (!have_keygen)
        skip();
    assert_int_equal(fx_sh("cd '%s' && printf 'hello\\n' > msg && "
                           "ssh-keygen -q -Y sign -n git -f k1 msg 2>/dev/null"
                           " && cp msg.sig git.sig && rm msg.sig && "
                           "ssh-keygen -q -Y sign -n file -f k1 msg "
                           "2>/dev/null",
                           root),
                     0);
    assert_int_equal(fx_capture(sig, sizeof(sig), "cat '%s/git.sig'", root), 0);
    assert_int_equal(
        fx_capture(other_ns, sizeof(other_ns), "cat '%s/msg.sig'", root), 0);
    assert_int_equal(dl_sshsig_verify(sig, strlen(sig), msg, strlen(msg), one,
                                      1, "blob x", &err),
                     0);
    assert_int_equal(dl_sshsig_verify(sig, strlen(sig), "hellO\n", 6, one, 1,
                                      "blob x", &err),
                     DL_EAUTH);
    assert_non_null(strstr(err.msg, "signature of blob x does not verify"));
    assert_int_equal(dl_sshsig_verify(other_ns, strlen(other_ns), msg,
                                      strlen(msg), one, 1, "blob x", &err),
                     DL_EAUTH);
    assert_string_equal(err.msg, "blob x has an SSH signature for namespace "
                                 "'file', not 'git'");
    {
        const char *pgp = "-----BEGIN PGP SIGNATURE-----\nabc\n"
                          "-----END PGP SIGNATURE-----\n";
        assert_int_equal(dl_sshsig_verify(pgp, strlen(pgp), msg, strlen(msg),
                                          one, 1, "blob x", &err),
                         DL_EAUTH);
        assert_non_null(strstr(err.msg, "OpenPGP"));
    }
    {
        const char *junk = "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n"
                           "-----END SSH SIGNATURE-----\n";
        assert_int_equal(dl_sshsig_verify(junk, strlen(junk), msg, strlen(msg),
                                          one, 1, "blob x", &err),
                         DL_EAUTH);
        assert_string_equal(err.msg, "blob x has a malformed SSH signature");
    }
    {
        /* A signature cut short must not read past its end. */
        char cut[4096];
        size_t n = strlen(sig);
        char *end = strstr(sig, "-----END");

        assert_non_null(end);
        snprintf(cut, sizeof(cut), "%.*s\n%s", (int)(end - sig - 41), sig, end);
        (void)n;
        assert_int_equal(dl_sshsig_verify(cut, strlen(cut), msg, strlen(msg),
                                          one, 1, "blob x", &err),
                         DL_EAUTH);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_signatures),  cmocka_unit_test(unsigned_commit),
        cmocka_unit_test(wrong_key),        cmocka_unit_test(tampered_commit),
        cmocka_unit_test(bad_allowed_keys), cmocka_unit_test(detached),
        cmocka_unit_test(ecdsa_curves),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
