/*
 * sshsig.c - verify git's SSH commit signatures with OpenSSL.
 *
 * `git commit -S` with gpg.format=ssh stores, in the commit's gpgsig
 * header, an armored SSHSIG blob (OpenSSH's PROTOCOL.sshsig):
 *
 *   "SSHSIG" u32 version(1) string publickey string namespace
 *   string reserved string hash_algorithm string signature
 *
 * The signature covers "SSHSIG" string namespace string reserved
 * string hash_algorithm string H(message), where message is the commit
 * without its gpgsig header. Strings are u32 big-endian length + bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "source/source_int.h"
#include "util/alloc.h"
#include "util/buf.h"

#define ARMOR_BEGIN "-----BEGIN SSH SIGNATURE-----"
#define ARMOR_END "-----END SSH SIGNATURE-----"
#define PGP_BEGIN "-----BEGIN PGP SIGNATURE-----"
#define MAX_SIG_BYTES 65536

struct rd {
    const unsigned char *p;
    size_t len;
};

static int rd_u32(struct rd *r, uint32_t *out)
{
    if (r->len < 4)
        return -1;
    *out = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
           (uint32_t)r->p[2] << 8 | (uint32_t)r->p[3];
    r->p += 4;
    r->len -= 4;
    return 0;
}

static int rd_string(struct rd *r, struct rd *out)
{
    uint32_t n;

    if (rd_u32(r, &n) < 0 || n > r->len)
        return -1;
    out->p = r->p;
    out->len = n;
    r->p += n;
    r->len -= n;
    return 0;
}

static int rd_is(const struct rd *s, const char *want)
{
    return s->len == strlen(want) && memcmp(s->p, want, s->len) == 0;
}

static void put_string(struct dl_buf *b, const void *p, size_t n)
{
    unsigned char len[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                            (unsigned char)(n >> 8), (unsigned char)n};

    /* The buffer has no cap: these cannot fail. */
    (void)dl_buf_put(b, len, 4);
    (void)dl_buf_put(b, p, n);
}

/*
 * Decode base64 text (whitespace ignored) into a new buffer. Returns NULL
 * when it is not valid base64 or decodes to nothing.
 */
static unsigned char *b64_decode(const char *s, size_t n, size_t *out_len)
{
    char *clean = dl_malloc(n + 1);
    unsigned char *out;
    size_t m = 0, pad = 0;
    int got;

    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\n' && s[i] != '\r' && s[i] != '\t')
            clean[m++] = s[i];
    clean[m] = '\0';
    if (m == 0 || m % 4 != 0 || m > 4 * (size_t)MAX_SIG_BYTES) {
        free(clean);
        return NULL;
    }
    if (clean[m - 1] == '=')
        pad++;
    if (clean[m - 2] == '=')
        pad++;
    out = dl_malloc(m / 4 * 3 + 1);
    got = EVP_DecodeBlock(out, (const unsigned char *)clean, (int)m);
    free(clean);
    if (got < 0 || (size_t)got < pad) {
        free(out);
        return NULL;
    }
    *out_len = (size_t)got - pad;
    return out;
}

/* "SHA256:..." as ssh-keygen -l prints it, in out. */
static void fingerprint(char out[64], const unsigned char *blob, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE], b64[64];
    unsigned int mdlen = 0;
    int n;

    if (!EVP_Digest(blob, len, md, &mdlen, EVP_sha256(), NULL))
        dl_fatal("SHA-256 failed");
    n = EVP_EncodeBlock(b64, md, (int)mdlen);
    while (n > 0 && b64[n - 1] == '=')
        n--;
    snprintf(out, 64, "SHA256:%.*s", n, (const char *)b64);
}

static int known_key_type(const char *tok, size_t n)
{
    static const char *const types[] = {
        "ssh-ed25519",         "ssh-rsa",
        "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com",
    };

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (n == strlen(types[i]) && memcmp(tok, types[i], n) == 0)
            return 1;
    return 0;
}

/*
 * Parse one allowed key: the first word that is a key type, then its
 * base64 blob (so "ssh-ed25519 AAAA.. comment" and allowed_signers lines
 * "who@x ssh-ed25519 AAAA.." both work). Returns the decoded blob.
 */
static unsigned char *parse_key(const char *line, size_t *out_len)
{
    const char *p = line;

    while (*p) {
        size_t n;

        while (*p == ' ' || *p == '\t')
            p++;
        n = strcspn(p, " \t\r\n");
        if (n == 0)
            break;
        if (known_key_type(p, n)) {
            const char *b = p + n;
            unsigned char *blob;
            struct rd r, type;
            size_t bn, len = 0;

            while (*b == ' ' || *b == '\t')
                b++;
            bn = strcspn(b, " \t\r\n");
            blob = b64_decode(b, bn, &len);
            if (!blob)
                return NULL;
            r.p = blob;
            r.len = len;
            /* The blob must say the same type as the text. */
            if (rd_string(&r, &type) < 0 || type.len != n ||
                memcmp(type.p, p, n) != 0) {
                free(blob);
                return NULL;
            }
            *out_len = len;
            return blob;
        }
        p += n;
    }
    return NULL;
}

static EVP_PKEY *rsa_key(struct rd *key)
{
    struct rd e, n;
    BIGNUM *bn_e = NULL, *bn_n = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;

    if (rd_string(key, &e) < 0 || rd_string(key, &n) < 0)
        return NULL;
    bn_e = BN_bin2bn(e.p, (int)e.len, NULL);
    bn_n = BN_bin2bn(n.p, (int)n.len, NULL);
    bld = OSSL_PARAM_BLD_new();
    if (!bn_e || !bn_n || !bld ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
        goto done;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
done:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_e);
    BN_free(bn_n);
    return pkey;
}

/* The ECDSA curves SSH names, with OpenSSL's group and the hash each uses. */
struct ec_curve {
    const char *type, *curve, *group;
    const EVP_MD *(*md)(void);
};

static const struct ec_curve ec_curves[] = {
    {.type = "ecdsa-sha2-nistp256",
     .curve = "nistp256",
     .group = "prime256v1",
     .md = EVP_sha256},
    {.type = "ecdsa-sha2-nistp384",
     .curve = "nistp384",
     .group = "secp384r1",
     .md = EVP_sha384},
    {.type = "ecdsa-sha2-nistp521",
     .curve = "nistp521",
     .group = "secp521r1",
     .md = EVP_sha512},
};

/* An EC public key from "string curve string Q" (Q: an encoded point). */
static EVP_PKEY *ec_key(struct rd *key, const struct ec_curve *c)
{
    struct rd curve, q;
    char group[32];
    unsigned char *point;
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;

    if (rd_string(key, &curve) < 0 || !rd_is(&curve, c->curve) ||
        rd_string(key, &q) < 0 || q.len == 0)
        return NULL;
    snprintf(group, sizeof(group), "%s", c->group);
    point = dl_malloc(q.len);
    memcpy(point, q.p, q.len);
    params[0] =
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
                                                  point, q.len);
    params[2] = OSSL_PARAM_construct_end();
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    free(point);
    return pkey;
}

/*
 * An SSH ECDSA signature ("mpint r, mpint s") as the DER that OpenSSL
 * verifies. Returns its length and *out (OPENSSL_free), or -1.
 */
static int ec_sig_der(unsigned char **out, struct rd sig)
{
    struct rd r, s;
    BIGNUM *br = NULL, *bs = NULL;
    ECDSA_SIG *es = NULL;
    int n = -1;

    *out = NULL;
    if (rd_string(&sig, &r) < 0 || rd_string(&sig, &s) < 0 || r.len > 80 ||
        s.len > 80)
        return -1;
    br = BN_bin2bn(r.p, (int)r.len, NULL);
    bs = BN_bin2bn(s.p, (int)s.len, NULL);
    es = ECDSA_SIG_new();
    if (br && bs && es && ECDSA_SIG_set0(es, br, bs) == 1) {
        br = bs = NULL; /* owned by es now */
        n = i2d_ECDSA_SIG(es, out);
    }
    ECDSA_SIG_free(es);
    BN_free(br);
    BN_free(bs);
    return n;
}

/*
 * Check sig (an SSH signature blob) over tbs with the public key blob.
 * Returns 1 when valid, 0 when not, -1 for an unsupported algorithm (*alg
 * names it).
 */
static int check_sig(const struct rd *keyblob, const struct rd *sigblob,
                     const struct dl_buf *tbs, struct rd *alg)
{
    struct rd key = *keyblob, sig = *sigblob, ktype, stype, sbytes;
    EVP_PKEY *pkey = NULL;
    EVP_MD_CTX *md = NULL;
    const EVP_MD *hash = NULL;
    unsigned char *der = NULL;
    const unsigned char *sp;
    size_t slen;
    int ok = 0;

    if (rd_string(&key, &ktype) < 0 || rd_string(&sig, &stype) < 0 ||
        rd_string(&sig, &sbytes) < 0)
        return 0;
    *alg = stype;
    sp = sbytes.p;
    slen = sbytes.len;
    if (rd_is(&ktype, "ssh-ed25519") && rd_is(&stype, "ssh-ed25519")) {
        struct rd pk;

        if (rd_string(&key, &pk) < 0 || pk.len != 32 || sbytes.len != 64)
            return 0;
        pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk.p, 32);
    } else if (rd_is(&ktype, "ssh-rsa") && (rd_is(&stype, "rsa-sha2-512") ||
                                            rd_is(&stype, "rsa-sha2-256"))) {
        hash = rd_is(&stype, "rsa-sha2-512") ? EVP_sha512() : EVP_sha256();
        pkey = rsa_key(&key);
    } else {
        const struct ec_curve *c = NULL;
        int n;

        for (size_t i = 0; i < sizeof(ec_curves) / sizeof(ec_curves[0]); i++)
            if (rd_is(&ktype, ec_curves[i].type) &&
                rd_is(&stype, ec_curves[i].type))
                c = &ec_curves[i];
        if (!c)
            return -1;
        hash = c->md();
        pkey = ec_key(&key, c);
        if ((n = ec_sig_der(&der, sbytes)) < 0) {
            EVP_PKEY_free(pkey);
            return 0;
        }
        sp = der;
        slen = (size_t)n;
    }
    md = EVP_MD_CTX_new();
    if (pkey && md && EVP_DigestVerifyInit(md, NULL, hash, NULL, pkey) == 1 &&
        EVP_DigestVerify(md, sp, slen, (const unsigned char *)tbs->ptr,
                         tbs->len) == 1)
        ok = 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pkey);
    OPENSSL_free(der);
    return ok;
}

int dl_sshsig_verify(const char *armored, size_t armored_len, const void *data,
                     size_t len, const char *const *allowed_keys, size_t nkeys,
                     const char *what, struct dl_err *err)
{
    char *text = dl_strndup(armored ? armored : "", armored_len);
    const char *b, *e;
    unsigned char *blob = NULL, **keys = NULL, md[EVP_MAX_MD_SIZE];
    size_t blob_len = 0, *key_lens = NULL;
    unsigned int mdlen = 0;
    struct rd r, pub, ns, reserved, halg, sig, alg;
    struct dl_buf tbs = DL_BUF_INIT(DL_BUF_NOCAP);
    uint32_t version;
    char fpr[64];
    int rc = 0, found = 0, v;

    /* Check the allowed keys first: a bad configuration is not a bad
     * commit. */
    keys = dl_calloc(nkeys ? nkeys : 1, sizeof(*keys));
    key_lens = dl_calloc(nkeys ? nkeys : 1, sizeof(*key_lens));
    if (nkeys == 0) {
        rc = dl_err_set(err, DL_EINVALID, "no allowed signing keys");
        goto done;
    }
    for (size_t i = 0; i < nkeys; i++) {
        keys[i] =
            allowed_keys[i] ? parse_key(allowed_keys[i], &key_lens[i]) : NULL;
        if (!keys[i]) {
            rc = dl_err_set(err, DL_EINVALID,
                            "allowed signing key %zu is not an SSH public key "
                            "(want 'ssh-ed25519 AAAA...')",
                            i + 1);
            goto done;
        }
    }
    if (strstr(text, PGP_BEGIN)) {
        rc = dl_err_set(err, DL_EAUTH,
                        "%s has an OpenPGP signature; only SSH signatures "
                        "are accepted",
                        what);
        goto done;
    }
    b = strstr(text, ARMOR_BEGIN);
    e = b ? strstr(b, ARMOR_END) : NULL;
    if (!b || !e) {
        rc =
            dl_err_set(err, DL_EAUTH,
                       "%s has a signature that is not an SSH signature", what);
        goto done;
    }
    b += strlen(ARMOR_BEGIN);
    blob = b64_decode(b, (size_t)(e - b), &blob_len);
    r.p = blob;
    r.len = blob_len;
    if (!blob || r.len < 6 || memcmp(r.p, "SSHSIG", 6) != 0 ||
        (r.p += 6, r.len -= 6, rd_u32(&r, &version) < 0) || version != 1 ||
        rd_string(&r, &pub) < 0 || rd_string(&r, &ns) < 0 ||
        rd_string(&r, &reserved) < 0 || rd_string(&r, &halg) < 0 ||
        rd_string(&r, &sig) < 0) {
        rc =
            dl_err_set(err, DL_EAUTH, "%s has a malformed SSH signature", what);
        goto done;
    }
    fingerprint(fpr, pub.p, pub.len);
    if (!rd_is(&ns, "git")) {
        rc = dl_err_set(err, DL_EAUTH,
                        "%s has an SSH signature for namespace '%.*s', not "
                        "'git'",
                        what, (int)(ns.len > 64 ? 64 : ns.len),
                        (const char *)ns.p);
        goto done;
    }
    for (size_t i = 0; i < nkeys && !found; i++)
        found = key_lens[i] == pub.len && memcmp(keys[i], pub.p, pub.len) == 0;
    if (!found) {
        rc = dl_err_set(err, DL_EAUTH,
                        "%s is signed by key %s, which is not an allowed key",
                        what, fpr);
        goto done;
    }
    if (!rd_is(&halg, "sha512") && !rd_is(&halg, "sha256")) {
        rc = dl_err_set(err, DL_EAUTH,
                        "%s has an SSH signature with unsupported hash '%.*s'",
                        what, (int)(halg.len > 32 ? 32 : halg.len),
                        (const char *)halg.p);
        goto done;
    }
    if (!EVP_Digest(data, len, md, &mdlen,
                    rd_is(&halg, "sha512") ? EVP_sha512() : EVP_sha256(), NULL))
        dl_fatal("SHA-2 digest failed");
    (void)dl_buf_put(&tbs, "SSHSIG", 6);
    put_string(&tbs, ns.p, ns.len);
    put_string(&tbs, reserved.p, reserved.len);
    put_string(&tbs, halg.p, halg.len);
    put_string(&tbs, md, mdlen);
    alg.p = NULL;
    alg.len = 0;
    v = check_sig(&pub, &sig, &tbs, &alg);
    if (v < 0)
        rc = dl_err_set(err, DL_EAUTH,
                        "%s is signed with unsupported algorithm '%.*s' "
                        "(want ssh-ed25519, rsa-sha2-512, rsa-sha2-256 or "
                        "ecdsa-sha2-nistp256/384/521)",
                        what, (int)(alg.len > 40 ? 40 : alg.len),
                        alg.p ? (const char *)alg.p : "");
    else if (v == 0)
        rc = dl_err_set(err, DL_EAUTH,
                        "signature of %s does not verify with key %s", what,
                        fpr);
done:
    for (size_t i = 0; i < nkeys; i++)
        free(keys[i]);
    free(keys);
    free(key_lens);
    dl_buf_dispose(&tbs);
    free(blob);
    free(text);
    return rc;
}
