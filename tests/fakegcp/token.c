/*
 * token.c - where credentials turn into access tokens: the OAuth token
 * endpoint (/token: jwt-bearer with an RS256 assertion checked against
 * --public-key, refresh_token), the metadata server, STS token exchange
 * and IAM Credentials generateAccessToken. Tokens are never logged.
 */
#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"
#include "util/alloc.h"
#include "util/time.h"

#define TOKEN_LIFETIME 3599

static void new_token(char *out, size_t size)
{
    char r[65];
    fk_rand_alnum(r, 64);
    snprintf(out, size, "ya29.c.%s", r);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The value of key in an x-www-form-urlencoded body, malloc'd, or NULL. */
static char *form_value(const char *body, const char *key)
{
    size_t kl = strlen(key);
    const char *p = body;
    while (p && *p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > kl && !strncmp(p, key, kl) && p[kl] == '=') {
            char *out = dl_malloc(len - kl);
            size_t o = 0;
            for (size_t i = kl + 1; i < len; i++) {
                if (p[i] == '+')
                    out[o++] = ' ';
                else if (p[i] == '%' && i + 2 < len && hexval(p[i + 1]) >= 0 &&
                         hexval(p[i + 2]) >= 0) {
                    out[o++] = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
                    i += 2;
                } else
                    out[o++] = p[i];
            }
            out[o] = '\0';
            return out;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

/* A request parameter from a form body or a JSON body. malloc'd or NULL. */
static char *param(struct fk_req *req, const char *key)
{
    if (json_is_object(req->json)) {
        const char *v = json_string_value(json_object_get(req->json, key));
        return v ? dl_strdup(v) : NULL;
    }
    return form_value(req->body, key);
}

static void oauth_error(struct fk_resp *resp, int status, const char *error,
                        const char *desc)
{
    resp->status = status;
    resp->json =
        json_pack("{s:s,s:s}", "error", error, "error_description", desc);
}

/* base64url (no padding) -> bytes; returns length or -1. out malloc'd. */
static long b64url_decode(unsigned char **out, const char *s, size_t n)
{
    size_t padded = (n + 3) / 4 * 4;
    char *tmp = dl_malloc(padded + 1);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        else if (!isalnum((unsigned char)c)) {
            free(tmp);
            return -1;
        }
        tmp[i] = c;
    }
    for (size_t i = n; i < padded; i++)
        tmp[i] = '=';
    tmp[padded] = '\0';
    *out = dl_malloc(padded / 4 * 3 + 1);
    int len = EVP_DecodeBlock(*out, (unsigned char *)tmp, (int)padded);
    free(tmp);
    if (len < 0) {
        free(*out);
        *out = NULL;
        return -1;
    }
    len -= (int)(padded - n); /* the '=' we added decode to zero bytes */
    (*out)[len] = 0;
    return len;
}

/* 0 when the claims are current and name an issuer and a token URL. */
static int check_claims(json_t *c, const char **why)
{
    const char *iss = json_string_value(json_object_get(c, "iss"));
    const char *aud = json_string_value(json_object_get(c, "aud"));
    json_t *iat = json_object_get(c, "iat"), *exp = json_object_get(c, "exp");
    int64_t now = fk_now_ns() / DL_NS_PER_SEC;
    if (!iss || !*iss) {
        *why = "Invalid JWT: No valid issuer (iss) in JWT claim.";
        return -1;
    }
    if (!aud || strlen(aud) < 6 || strcmp(aud + strlen(aud) - 6, "/token")) {
        *why = "Invalid JWT: Failed audience check.";
        return -1;
    }
    if (!json_is_integer(iat) || !json_is_integer(exp) ||
        json_integer_value(exp) - json_integer_value(iat) > 3600 ||
        json_integer_value(exp) < json_integer_value(iat) ||
        json_integer_value(iat) > now + 300 ||
        json_integer_value(exp) < now - 300) {
        *why = "Invalid JWT: Token must be a short-lived token (60 minutes) "
               "and in a reasonable timeframe. Check your iat and exp values "
               "in the JWT claim.";
        return -1;
    }
    return 0;
}

static int check_sig(const char *jwt, size_t signed_len,
                     const unsigned char *sig, size_t sl)
{
    EVP_MD_CTX *md;
    int ok;
    if (!fk.pubkey)
        return 0; /* nothing to check against: documented */
    md = EVP_MD_CTX_new();
    ok = md &&
         EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, fk.pubkey) == 1 &&
         EVP_DigestVerify(md, sig, sl, (const unsigned char *)jwt,
                          signed_len) == 1;
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

/* 0 when the assertion is a valid, correctly signed, current JWT. */
static int check_jwt(const char *jwt, const char **why)
{
    const char *d1 = strchr(jwt, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    unsigned char *hdr = NULL, *claims = NULL, *sig = NULL;
    long hl = -1, cl = -1, sl = -1;
    json_t *h = NULL, *c = NULL;
    const char *alg;
    int rc = -1;

    *why = "Invalid JWT: not a JWT";
    if (!d1 || !d2 || strchr(d2 + 1, '.'))
        goto done;
    hl = b64url_decode(&hdr, jwt, (size_t)(d1 - jwt));
    cl = b64url_decode(&claims, d1 + 1, (size_t)(d2 - d1 - 1));
    sl = b64url_decode(&sig, d2 + 1, strlen(d2 + 1));
    if (hl < 0 || cl < 0 || sl <= 0)
        goto done;
    h = json_loadb((char *)hdr, (size_t)hl, 0, NULL);
    c = json_loadb((char *)claims, (size_t)cl, 0, NULL);
    if (!json_is_object(h) || !json_is_object(c))
        goto done;
    alg = json_string_value(json_object_get(h, "alg"));
    if (!alg || strcmp(alg, "RS256") != 0) {
        *why = "Invalid JWT: unsupported algorithm";
        goto done;
    }
    if (check_sig(jwt, (size_t)(d2 - jwt), sig, (size_t)sl) != 0) {
        *why = "Invalid JWT Signature.";
        goto done;
    }
    rc = check_claims(c, why);
done:
    json_decref(h);
    json_decref(c);
    free(hdr);
    free(claims);
    free(sig);
    return rc;
}

static void token_ok(struct fk_resp *resp)
{
    char tok[96];
    new_token(tok, sizeof tok);
    fk_ok(resp, json_pack("{s:s,s:i,s:s}", "access_token", tok, "expires_in",
                          TOKEN_LIFETIME, "token_type", "Bearer"));
}

static void oauth_token(struct fk_req *req, struct fk_resp *resp)
{
    char *grant = param(req, "grant_type");
    char *a = NULL, *b = NULL, *c = NULL;
    if (!grant) {
        oauth_error(resp, 400, "unsupported_grant_type",
                    "Invalid grant_type: ");
    } else if (!strcmp(grant, "urn:ietf:params:oauth:grant-type:jwt-bearer")) {
        const char *why;
        a = param(req, "assertion");
        if (!a)
            oauth_error(resp, 400, "invalid_request",
                        "Missing required parameter: assertion");
        else if (check_jwt(a, &why) != 0)
            oauth_error(resp, 400, "invalid_grant", why);
        else
            token_ok(resp);
    } else if (!strcmp(grant, "refresh_token")) {
        a = param(req, "refresh_token");
        b = param(req, "client_id");
        c = param(req, "client_secret");
        if (!b || !*b)
            oauth_error(resp, 400, "invalid_request",
                        "Could not determine client ID from request.");
        else if (!c || !*c)
            oauth_error(resp, 401, "invalid_client", "Unauthorized");
        else if (!a || !*a)
            oauth_error(resp, 400, "invalid_request",
                        "Missing required parameter: refresh_token");
        else if (!strncmp(a, "revoked", 7))
            oauth_error(resp, 400, "invalid_grant", "Bad Request");
        else
            token_ok(resp);
    } else {
        char msg[300];
        snprintf(msg, sizeof msg, "Invalid grant_type: %.200s", grant);
        oauth_error(resp, 400, "unsupported_grant_type", msg);
    }
    free(grant);
    free(a);
    free(b);
    free(c);
}

static int metadata_flavor(struct fk_req *req, struct fk_resp *resp)
{
    const char *f = fk_req_header(req, "Metadata-Flavor");
    fk_header(resp, "Metadata-Flavor", "Google");
    if (f && !strcmp(f, "Google"))
        return 0;
    resp->status = 403;
    resp->ctype = "text/html; charset=UTF-8";
    resp->text =
        dl_strdup("Missing required header \"Metadata-Flavor\": \"Google\"\n");
    return -1;
}

static void metadata_token(struct fk_req *req, struct fk_resp *resp)
{
    if (metadata_flavor(req, resp) == 0)
        token_ok(resp);
}

static const char *first_project(const char *field, const char *dflt)
{
    json_t *p = json_array_get(json_object_get(fk.state, "projects"), 0);
    const char *v = json_string_value(json_object_get(p, field));
    return v ? v : dflt;
}

static void metadata_text(struct fk_resp *resp, const char *text)
{
    resp->status = 200;
    resp->ctype = "application/text";
    resp->text = dl_strdup(text);
}

static void metadata_project_id(struct fk_req *req, struct fk_resp *resp)
{
    if (metadata_flavor(req, resp) == 0)
        metadata_text(resp, first_project("projectId", "demo-proj"));
}

static void metadata_project_number(struct fk_req *req, struct fk_resp *resp)
{
    if (metadata_flavor(req, resp) == 0)
        metadata_text(resp, first_project("projectNumber", "123456789012"));
}

static void metadata_email(struct fk_req *req, struct fk_resp *resp)
{
    char email[300];
    if (metadata_flavor(req, resp) != 0)
        return;
    snprintf(email, sizeof email, "%s-compute@developer.gserviceaccount.com",
             first_project("projectNumber", "123456789012"));
    metadata_text(resp, email);
}

static void metadata_region(struct fk_req *req, struct fk_resp *resp)
{
    char region[300];
    if (metadata_flavor(req, resp) != 0)
        return;
    snprintf(region, sizeof region, "projects/%s/regions/us-central1",
             first_project("projectNumber", "123456789012"));
    metadata_text(resp, region);
}

static void metadata_root(struct fk_req *req, struct fk_resp *resp)
{
    fk_header(resp, "Metadata-Flavor", "Google");
    metadata_text(resp, "computeMetadata/\n");
}

static void sts_token(struct fk_req *req, struct fk_resp *resp)
{
    char *grant = param(req, "grant_type");
    char *subject = param(req, "subject_token");
    char *stype = param(req, "subject_token_type");
    if (!grant ||
        strcmp(grant, "urn:ietf:params:oauth:grant-type:token-exchange")) {
        oauth_error(resp, 400, "invalid_request",
                    "Invalid value for \"grant_type\".");
    } else if (!subject || !*subject) {
        oauth_error(resp, 400, "invalid_request",
                    "Missing required parameter: subject_token");
    } else if (!stype ||
               strncmp(stype, "urn:ietf:params:oauth:token-type:", 33) != 0) {
        oauth_error(resp, 400, "invalid_request",
                    "Invalid value for \"subject_token_type\".");
    } else if (!strncmp(subject, "invalid", 7)) {
        oauth_error(resp, 400, "invalid_grant",
                    "The token exchange request was rejected.");
    } else {
        char tok[96];
        new_token(tok, sizeof tok);
        fk_ok(resp,
              json_pack("{s:s,s:s,s:s,s:i}", "access_token", tok,
                        "issued_token_type",
                        "urn:ietf:params:oauth:token-type:access_token",
                        "token_type", "Bearer", "expires_in", TOKEN_LIFETIME));
    }
    free(grant);
    free(subject);
    free(stype);
}

static void generate_access_token(struct fk_req *req, struct fk_resp *resp)
{
    static const char *const keys[] = {"scope", "lifetime", "delegates", NULL};
    json_t *body = fk_body_object(req, resp);
    char tok[96], exp[64];
    int64_t life = 3600 * DL_NS_PER_SEC;
    json_t *scope;
    const char *lt;
    if (!body)
        return;
    if (fk_check_fields(resp, body, "", keys))
        goto done;
    scope = json_object_get(body, "scope");
    if (!json_is_array(scope) || json_array_size(scope) == 0) {
        fk_error(resp, 400, "INVALID_ARGUMENT", NULL, "Scope required.");
        goto done;
    }
    lt = json_string_value(json_object_get(body, "lifetime"));
    if (lt) {
        struct dl_err err;
        if (dl_duration_parse_proto(&life, lt, &err) != 0 ||
            life > 43200 * DL_NS_PER_SEC) {
            fk_error(resp, 400, "INVALID_ARGUMENT", NULL,
                     "Invalid lifetime \"%s\"", lt);
            goto done;
        }
    }
    if (!strchr(req->caps[0], '@')) {
        fk_error(resp, 404, "NOT_FOUND", NULL,
                 "Not found; Gaia id not found for email %s", req->caps[0]);
        goto done;
    }
    new_token(tok, sizeof tok);
    fk_time_str(exp, sizeof exp, fk_now_ns() + life);
    fk_ok(resp, json_pack("{s:s,s:s}", "accessToken", tok, "expireTime", exp));
done:
    json_decref(body);
}

#define N FK_ROUTE_NOAUTH
const struct fk_route fk_routes_token[] = {
    {"POST", "/token", oauth_token, N},
    {"POST", "/oauth2/v4/token", oauth_token, N},
    {"POST", "/v1/token", sts_token, N},
    {"GET", "/computeMetadata/v1/instance/service-accounts/default/token",
     metadata_token, N},
    {"GET", "/computeMetadata/v1/instance/service-accounts/*/token",
     metadata_token, N},
    {"GET", "/computeMetadata/v1/instance/service-accounts/default/email",
     metadata_email, N},
    {"GET", "/computeMetadata/v1/project/project-id", metadata_project_id, N},
    {"GET", "/computeMetadata/v1/project/numeric-project-id",
     metadata_project_number, N},
    {"GET", "/computeMetadata/v1/instance/region", metadata_region, N},
    {"GET", "/", metadata_root, N},
    {"POST", "/v1/projects/-/serviceAccounts/*:generateAccessToken",
     generate_access_token, 0},
    {NULL, NULL, NULL, 0},
};
