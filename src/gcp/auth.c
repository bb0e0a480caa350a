/*
 * auth.c - Application Default Credentials and token fetching.
 *
 * Secrets (tokens, refresh tokens, client secrets, private keys, JWT
 * assertions, subject tokens) are registered with dl_log_add_secret as soon
 * as they are read and are never passed to a formatting function.
 */
#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gcp/error.h"
#include "gcp/gcp_int.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/time.h"

#define SCOPE "https://www.googleapis.com/auth/cloud-platform"
#define CRED_FILE_MAX (64 * 1024)
#define TOKEN_DEADLINE (60 * DL_NS_PER_SEC)

const char *dl_gcp_auth_kind_name(enum dl_gcp_auth_kind kind)
{
    switch (kind) {
    case DL_GCP_AUTH_TOKEN:
        return "access-token";
    case DL_GCP_AUTH_SERVICE_ACCOUNT:
        return "service-account";
    case DL_GCP_AUTH_AUTHORIZED_USER:
        return "authorized-user";
    case DL_GCP_AUTH_EXTERNAL:
        return "external-account";
    case DL_GCP_AUTH_METADATA:
        return "metadata";
    default:
        return "none";
    }
}

void dl_gcp_creds_dispose(struct dl_gcp_creds *cr)
{
    char **fields[] = {
        &cr->source,
        &cr->token,
        &cr->client_email,
        &cr->private_key,
        &cr->private_key_id,
        &cr->token_uri,
        &cr->client_id,
        &cr->client_secret,
        &cr->refresh_token,
        &cr->audience,
        &cr->subject_token_type,
        &cr->token_url,
        &cr->impersonation_url,
        &cr->cs_file,
        &cr->cs_url,
        &cr->cs_format,
        &cr->cs_field,
        &cr->quota_project,
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        free(*fields[i]);
        *fields[i] = NULL;
    }
    json_decref(cr->cs_headers);
    cr->cs_headers = NULL;
    cr->kind = DL_GCP_AUTH_NONE;
}

static char *jstr(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));

    return v && *v ? dl_strdup(v) : NULL;
}

static char *secret(json_t *o, const char *key)
{
    char *v = jstr(o, key);

    dl_log_add_secret(v);
    return v;
}

int dl_gcp_creds_parse(struct dl_gcp_creds *cr, const char *json, size_t len,
                       const char *source, struct dl_err *err)
{
    json_t *root = json_loadb(json, len, 0, NULL), *cs;
    const char *type;
    int rc = DL_EAUTH;

    memset(cr, 0, sizeof(*cr));
    cr->source = dl_strdup(source);
    if (!json_is_object(root)) {
        dl_err_set(err, DL_EAUTH, "credentials '%s' are not a JSON object",
                   source);
        goto done;
    }
    cr->quota_project = jstr(root, "quota_project_id");
    type = json_string_value(json_object_get(root, "type"));
    if (!type) {
        dl_err_set(err, DL_EAUTH, "credentials '%s' have no \"type\"", source);
        goto done;
    }
    if (strcmp(type, "service_account") == 0) {
        cr->kind = DL_GCP_AUTH_SERVICE_ACCOUNT;
        cr->client_email = jstr(root, "client_email");
        cr->private_key = secret(root, "private_key");
        cr->private_key_id = jstr(root, "private_key_id");
        cr->token_uri = jstr(root, "token_uri");
        if (!cr->token_uri)
            cr->token_uri = dl_strdup("https://oauth2.googleapis.com/token");
        if (!cr->client_email || !cr->private_key) {
            dl_err_set(err, DL_EAUTH,
                       "service account key '%s' lacks client_email or "
                       "private_key",
                       source);
            goto done;
        }
    } else if (strcmp(type, "authorized_user") == 0) {
        cr->kind = DL_GCP_AUTH_AUTHORIZED_USER;
        cr->client_id = jstr(root, "client_id");
        cr->client_secret = secret(root, "client_secret");
        cr->refresh_token = secret(root, "refresh_token");
        cr->token_uri = jstr(root, "token_uri");
        if (!cr->client_id || !cr->client_secret || !cr->refresh_token) {
            dl_err_set(err, DL_EAUTH,
                       "authorized_user credentials '%s' lack client_id, "
                       "client_secret or refresh_token",
                       source);
            goto done;
        }
    } else if (strcmp(type, "external_account") == 0) {
        json_t *fmt;

        cr->kind = DL_GCP_AUTH_EXTERNAL;
        cr->audience = jstr(root, "audience");
        cr->subject_token_type = jstr(root, "subject_token_type");
        cr->token_url = jstr(root, "token_url");
        cr->impersonation_url = jstr(root, "service_account_impersonation_url");
        cs = json_object_get(root, "credential_source");
        cr->cs_file = jstr(cs, "file");
        cr->cs_url = jstr(cs, "url");
        fmt = json_object_get(cs, "format");
        cr->cs_format = jstr(fmt, "type");
        cr->cs_field = jstr(fmt, "subject_token_field_name");
        if (json_is_object(json_object_get(cs, "headers")))
            cr->cs_headers = json_incref(json_object_get(cs, "headers"));
        if (!cr->token_url)
            cr->token_url = dl_strdup("https://sts.googleapis.com/v1/token");
        if (!cr->audience || !cr->subject_token_type ||
            (!cr->cs_file && !cr->cs_url)) {
            dl_err_set(err, DL_EAUTH,
                       "external_account credentials '%s' need audience, "
                       "subject_token_type and credential_source.file or "
                       ".url",
                       source);
            goto done;
        }
        if (cr->cs_format && strcmp(cr->cs_format, "json") == 0 &&
            !cr->cs_field) {
            dl_err_set(err, DL_EAUTH,
                       "external_account credentials '%s': format json "
                       "needs subject_token_field_name",
                       source);
            goto done;
        }
    } else {
        dl_err_set(err, DL_EAUTH, "credentials '%s' have unsupported type '%s'",
                   source, type);
        goto done;
    }
    rc = 0;
done:
    json_decref(root);
    if (rc < 0)
        dl_gcp_creds_dispose(cr);
    return rc;
}

static int read_file(struct dl_buf *out, const char *path, struct dl_err *err)
{
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    size_t n;

    if (!f)
        return dl_err_set(err, DL_EAUTH, "cannot read '%s': %s", path,
                          strerror(errno));
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (dl_buf_put(out, chunk, n) < 0) {
            fclose(f);
            return dl_err_set(err, DL_EAUTH, "'%s' is larger than %zu bytes",
                              path, out->max);
        }
    }
    fclose(f);
    return 0;
}

static int load_file(struct dl_gcp_creds *cr, const char *path,
                     struct dl_err *err)
{
    struct dl_buf b = DL_BUF_INIT(CRED_FILE_MAX);
    struct stat st;
    int rc;

    rc = read_file(&b, path, err);
    if (rc < 0)
        goto done;
    rc = dl_gcp_creds_parse(cr, dl_buf_cstr(&b), b.len, path, err);
    if (rc < 0)
        goto done;
    if ((cr->kind == DL_GCP_AUTH_SERVICE_ACCOUNT ||
         cr->kind == DL_GCP_AUTH_AUTHORIZED_USER) &&
        stat(path, &st) == 0 && (st.st_mode & 077))
        dl_warn("credentials file '%s' is readable by group or others "
                "(mode %04o); chmod 600 it",
                path, (unsigned)(st.st_mode & 07777));
done:
    /* The bytes held the private key: wipe before freeing. */
    if (b.ptr)
        memset(b.ptr, 0, b.len);
    dl_buf_dispose(&b);
    return rc;
}

static int find(struct dl_gcp_creds *cr, const char *file, struct dl_err *err);

int dl_gcp_creds_find(struct dl_gcp_creds *cr, const char *file,
                      struct dl_err *err)
{
    const char *qp = getenv("GOOGLE_CLOUD_QUOTA_PROJECT");
    int rc = find(cr, file, err);

    if (rc == 0 && qp && *qp) {
        free(cr->quota_project);
        cr->quota_project = dl_strdup(qp);
    }
    return rc;
}

static int find(struct dl_gcp_creds *cr, const char *file, struct dl_err *err)
{
    const char *v;
    char *path = NULL;
    int rc;

    memset(cr, 0, sizeof(*cr));
    if (file && *file)
        return load_file(cr, file, err);
    v = getenv("DRIFTLESS_ACCESS_TOKEN");
    if (v && *v) {
        cr->kind = DL_GCP_AUTH_TOKEN;
        cr->source = dl_strdup("DRIFTLESS_ACCESS_TOKEN");
        cr->token = dl_strdup(v);
        dl_log_add_secret(v);
        return 0;
    }
    v = getenv("GOOGLE_APPLICATION_CREDENTIALS");
    if (v && *v) {
        rc = load_file(cr, v, err);
        if (rc < 0)
            dl_err_prefix(err, "GOOGLE_APPLICATION_CREDENTIALS");
        return rc;
    }
    v = getenv("CLOUDSDK_CONFIG");
    if (v && *v)
        path = dl_asprintf("%s/application_default_credentials.json", v);
    else if ((v = getenv("HOME")) && *v)
        path = dl_asprintf(
            "%s/.config/gcloud/application_default_credentials.json", v);
    if (path && access(path, F_OK) == 0) {
        rc = load_file(cr, path, err);
        free(path);
        return rc;
    }
    free(path);
    cr->kind = DL_GCP_AUTH_METADATA;
    cr->source = dl_strdup("metadata server");
    return 0;
}

/* ---- JWT ---- */

char *dl_gcp_base64url(const unsigned char *data, size_t len)
{
    static const char tbl[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = dl_malloc(len / 3 * 4 + 5), *p = out;
    size_t i;

    for (i = 0; i + 2 < len; i += 3) {
        unsigned v =
            (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8 | data[i + 2];
        *p++ = tbl[v >> 18 & 63];
        *p++ = tbl[v >> 12 & 63];
        *p++ = tbl[v >> 6 & 63];
        *p++ = tbl[v & 63];
    }
    if (len - i == 1) {
        unsigned v = (unsigned)data[i] << 16;

        *p++ = tbl[v >> 18 & 63];
        *p++ = tbl[v >> 12 & 63];
    } else if (len - i == 2) {
        unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8;

        *p++ = tbl[v >> 18 & 63];
        *p++ = tbl[v >> 12 & 63];
        *p++ = tbl[v >> 6 & 63];
    }
    *p = '\0';
    return out;
}

static char *b64_json(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT), *r;

    r = dl_gcp_base64url((const unsigned char *)s, strlen(s));
    free(s);
    return r;
}

int dl_gcp_jwt_assertion(char **out, const struct dl_gcp_creds *cr,
                         const char *aud, int64_t now_s, struct dl_err *err)
{
    json_t *hdr = NULL, *claims = NULL;
    char *h = NULL, *cl = NULL, *signing = NULL, *sig64 = NULL;
    unsigned char *sig = NULL;
    size_t siglen = 0;
    BIO *bio = NULL;
    EVP_PKEY *key = NULL;
    EVP_MD_CTX *md = NULL;
    int rc = DL_EAUTH;

    *out = NULL;
    bio = BIO_new_mem_buf(cr->private_key, -1);
    key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    if (!key) {
        dl_err_set(err, DL_EAUTH,
                   "service account key '%s': private_key is not a PEM "
                   "private key",
                   cr->source);
        goto done;
    }
    hdr = json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT");
    if (cr->private_key_id)
        json_object_set_new(hdr, "kid", json_string(cr->private_key_id));
    claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", cr->client_email,
                       "scope", SCOPE, "aud", aud, "iat", (json_int_t)now_s,
                       "exp", (json_int_t)(now_s + 3600));
    h = b64_json(hdr);
    cl = b64_json(claims);
    signing = dl_asprintf("%s.%s", h, cl);
    md = EVP_MD_CTX_new();
    if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)signing,
                       strlen(signing)) != 1) {
        dl_err_set(err, DL_EAUTH, "service account key '%s': cannot sign",
                   cr->source);
        goto done;
    }
    sig = dl_malloc(siglen);
    if (EVP_DigestSign(md, sig, &siglen, (const unsigned char *)signing,
                       strlen(signing)) != 1) {
        dl_err_set(err, DL_EAUTH, "service account key '%s': cannot sign",
                   cr->source);
        goto done;
    }
    sig64 = dl_gcp_base64url(sig, siglen);
    *out = dl_asprintf("%s.%s", signing, sig64);
    dl_log_add_secret(*out);
    dl_log_add_secret(sig64);
    rc = 0;
done:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    BIO_free(bio);
    json_decref(hdr);
    json_decref(claims);
    free(h);
    free(cl);
    free(signing);
    free(sig);
    free(sig64);
    return rc;
}

/* ---- token fetch flows ---- */

enum step { S_TOKEN, S_SUBJECT, S_STS, S_IMPERSONATE };

struct flow {
    enum step step;
    char *what; /* "service account 'x@y' token request" */
};

static void flow_free(struct flow *f)
{
    free(f->what);
    free(f);
}

static void flow_fail(struct dl_gcp_client *c, struct flow *f, int rc,
                      const struct dl_err *cause)
{
    struct dl_err err;

    dl_err_copy(&err, cause);
    /* Only connection trouble is transient; any answer is an auth error. */
    err.code = rc == DL_ETRANSIENT ? DL_ETRANSIENT : DL_EAUTH;
    dl_err_prefix(&err, "%s", f->what);
    dl_log_redact(err.msg);
    flow_free(f);
    dl_gcp__token_fail(c, &err);
}

static void on_token(struct dl_gcp_client *c, int rc,
                     const struct dl_gcp_response *r, const struct dl_err *err,
                     void *ud);

static int post_form(struct dl_gcp_client *c, struct flow *f,
                     enum dl_gcp_api api, const char *url, const char *form,
                     struct dl_err *err)
{
    struct dl_gcp_request q;

    memset(&q, 0, sizeof(q));
    q.api = api;
    q.method = "POST";
    q.path = url;
    q.raw_body = form;
    q.content_type = "application/x-www-form-urlencoded";
    q.retry = DL_GCP_RETRY_SAFE;
    q.flags = DL_GCP_NO_AUTH | DL_GCP_RAW;
    q.deadline_ns = TOKEN_DEADLINE;
    q.done = on_token;
    q.ud = f;
    return dl_gcp__submit_internal(c, &q, err);
}

static int start_sts(struct dl_gcp_client *c, struct flow *f,
                     const char *subject, struct dl_err *err)
{
    const struct dl_gcp_creds *cr = dl_gcp__creds(c);
    char *aud = dl_gcp_urlencode(cr->audience);
    char *sub = dl_gcp_urlencode(subject);
    char *stt = dl_gcp_urlencode(cr->subject_token_type);
    char *url = dl_gcp_url_rewrite(dl_gcp_client_endpoints(c), cr->token_url);
    char *form = dl_asprintf(
        "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Atoken-"
        "exchange&audience=%s&scope=https%%3A%%2F%%2Fwww.googleapis.com%%2F"
        "auth%%2Fcloud-platform&requested_token_type=urn%%3Aietf%%3Aparams%%"
        "3Aoauth%%3Atoken-type%%3Aaccess_token&subject_token=%s&subject_"
        "token_type=%s",
        aud, sub, stt);
    int rc;

    dl_log_add_secret(subject);
    dl_log_add_secret(sub);
    free(f->what);
    f->what = dl_asprintf("STS token exchange at '%s'", url);
    f->step = S_STS;
    rc = post_form(c, f, DL_GCP_STS, url, form, err);
    memset(form, 0, strlen(form));
    free(form);
    free(aud);
    free(sub);
    free(stt);
    free(url);
    return rc;
}

/* Subject token from a response body or file per credential_source.format. */
static int subject_of(char **out, const struct dl_gcp_creds *cr,
                      const char *data, size_t len, struct dl_err *err)
{
    *out = NULL;
    if (cr->cs_format && strcmp(cr->cs_format, "json") == 0) {
        json_t *o = json_loadb(data, len, 0, NULL);
        const char *v = json_string_value(json_object_get(o, cr->cs_field));

        if (v && *v)
            *out = dl_strdup(v);
        json_decref(o);
        if (!*out)
            return dl_err_set(err, DL_EAUTH,
                              "subject token source has no string field "
                              "'%s'",
                              cr->cs_field);
    } else {
        while (len > 0 && isspace((unsigned char)data[len - 1]))
            len--;
        while (len > 0 && isspace((unsigned char)*data)) {
            data++;
            len--;
        }
        if (len == 0)
            return dl_err_set(err, DL_EAUTH, "subject token source is empty");
        *out = dl_strndup(data, len);
    }
    dl_log_add_secret(*out);
    return 0;
}

static void on_token(struct dl_gcp_client *c, int rc,
                     const struct dl_gcp_response *r, const struct dl_err *err,
                     void *ud)
{
    struct flow *f = ud;
    const struct dl_gcp_creds *cr = dl_gcp__creds(c);
    struct dl_err e2;
    json_t *o = NULL, *jexp;
    const char *tok;
    int64_t life = 0;

    if (rc < 0) {
        flow_fail(c, f, rc, err);
        return;
    }
    if (f->step == S_SUBJECT) {
        char *subject = NULL;

        if (subject_of(&subject, cr, r->body, r->body_len, &e2) < 0 ||
            start_sts(c, f, subject, &e2) < 0) {
            free(subject);
            flow_fail(c, f, DL_EAUTH, &e2);
            return;
        }
        free(subject);
        return;
    }
    o = json_loadb(r->body, r->body_len, 0, NULL);
    tok = json_string_value(json_object_get(
        o, f->step == S_IMPERSONATE ? "accessToken" : "access_token"));
    if (!tok || !*tok) {
        json_decref(o);
        dl_err_set(&e2, DL_EAUTH, "answer has no access token (HTTP %d)",
                   r->http_status);
        flow_fail(c, f, DL_EAUTH, &e2);
        return;
    }
    dl_log_add_secret(tok);
    if (f->step == S_IMPERSONATE) {
        int64_t at;
        const char *exp = json_string_value(json_object_get(o, "expireTime"));

        if (exp && dl_time_parse_rfc3339(&at, exp, NULL) == 0)
            life = at - dl_time_now_ns();
    } else {
        jexp = json_object_get(o, "expires_in");
        if (json_is_integer(jexp))
            life = json_integer_value(jexp) * DL_NS_PER_SEC;
        else if (json_is_string(jexp))
            life = strtoll(json_string_value(jexp), NULL, 10) * DL_NS_PER_SEC;
    }
    if (life <= 0)
        life = 3600 * DL_NS_PER_SEC;
    if (f->step == S_STS && cr->impersonation_url) {
        struct dl_gcp_request q;
        char *url = dl_gcp_url_rewrite(dl_gcp_client_endpoints(c),
                                       cr->impersonation_url);
        char *auth = dl_asprintf("Authorization: Bearer %s", tok);
        json_t *body =
            json_pack("{s:[s], s:s}", "scope", SCOPE, "lifetime", "3600s");

        memset(&q, 0, sizeof(q));
        q.api = DL_GCP_IAMCREDENTIALS;
        q.method = "POST";
        q.path = url;
        q.body = body;
        q.headers[0] = auth;
        q.retry = DL_GCP_RETRY_SAFE;
        q.flags = DL_GCP_NO_AUTH | DL_GCP_RAW;
        q.deadline_ns = TOKEN_DEADLINE;
        q.done = on_token;
        q.ud = f;
        free(f->what);
        f->what = dl_asprintf("service account impersonation at '%s'", url);
        f->step = S_IMPERSONATE;
        rc = dl_gcp__submit_internal(c, &q, &e2);
        json_decref(body);
        json_decref(o);
        free(url);
        free(auth);
        if (rc < 0)
            flow_fail(c, f, DL_EAUTH, &e2);
        return;
    }
    dl_debug("gcp: new access token from %s (valid %llds)",
             dl_gcp_auth_kind_name(cr->kind),
             (long long)(life / DL_NS_PER_SEC));
    dl_gcp__token_set(c, tok, life);
    json_decref(o);
    flow_free(f);
}

int dl_gcp__auth_refresh(struct dl_gcp_client *c, struct dl_err *err)
{
    const struct dl_gcp_creds *cr = dl_gcp__creds(c);
    const struct dl_gcp_endpoints *ep = dl_gcp_client_endpoints(c);
    struct flow *f = dl_calloc(1, sizeof(*f));
    char *url = NULL, *form = NULL, *jwt = NULL;
    int rc = 0;

    switch (cr->kind) {
    case DL_GCP_AUTH_TOKEN:
        flow_free(f);
        dl_gcp__token_set(c, cr->token, 0);
        return 0;
    case DL_GCP_AUTH_SERVICE_ACCOUNT:
        url = dl_gcp_url_rewrite(ep, cr->token_uri);
        f->what = dl_asprintf("service account '%s' token request to '%s'",
                              cr->client_email, url);
        rc = dl_gcp_jwt_assertion(&jwt, cr, cr->token_uri,
                                  dl_time_now_ns() / DL_NS_PER_SEC, err);
        if (rc < 0)
            break;
        form = dl_asprintf("grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3A"
                           "grant-type%%3Ajwt-bearer&assertion=%s",
                           jwt);
        rc = post_form(c, f, DL_GCP_OAUTH2, url, form, err);
        break;
    case DL_GCP_AUTH_AUTHORIZED_USER: {
        char *id = dl_gcp_urlencode(cr->client_id);
        char *sec = dl_gcp_urlencode(cr->client_secret);
        char *ref = dl_gcp_urlencode(cr->refresh_token);

        dl_log_add_secret(sec);
        dl_log_add_secret(ref);
        url = cr->token_uri ? dl_gcp_url_rewrite(ep, cr->token_uri)
                            : dl_asprintf("%s/token", ep->base[DL_GCP_OAUTH2]);
        f->what = dl_asprintf("authorized_user '%s' token refresh at '%s'",
                              cr->source, url);
        form = dl_asprintf("grant_type=refresh_token&client_id=%s&client_"
                           "secret=%s&refresh_token=%s",
                           id, sec, ref);
        rc = post_form(c, f, DL_GCP_OAUTH2, url, form, err);
        free(id);
        free(sec);
        free(ref);
        break;
    }
    case DL_GCP_AUTH_EXTERNAL:
        if (cr->cs_file) {
            struct dl_buf b = DL_BUF_INIT(CRED_FILE_MAX);
            char *subject = NULL;

            f->what = dl_asprintf("external_account '%s'", cr->source);
            rc = read_file(&b, cr->cs_file, err);
            if (rc == 0)
                rc = subject_of(&subject, cr, dl_buf_cstr(&b), b.len, err);
            if (rc == 0)
                rc = start_sts(c, f, subject, err);
            free(subject);
            dl_buf_dispose(&b);
        } else {
            struct dl_gcp_request q;
            const char *k;
            json_t *v;
            char *hdrs[4] = {NULL, NULL, NULL, NULL};
            int n = 0;

            memset(&q, 0, sizeof(q));
            json_object_foreach(cr->cs_headers, k, v)
            {
                if (n < 4 && json_is_string(v)) {
                    hdrs[n] = dl_asprintf("%s: %s", k, json_string_value(v));
                    q.headers[n] = hdrs[n];
                    n++;
                }
            }
            f->what = dl_asprintf("external_account subject token from '%s'",
                                  cr->cs_url);
            f->step = S_SUBJECT;
            q.api = DL_GCP_METADATA;
            q.method = "GET";
            q.path = cr->cs_url;
            q.retry = DL_GCP_RETRY_SAFE;
            q.flags = DL_GCP_NO_AUTH | DL_GCP_RAW;
            q.deadline_ns = TOKEN_DEADLINE;
            q.done = on_token;
            q.ud = f;
            rc = dl_gcp__submit_internal(c, &q, err);
            for (int i = 0; i < n; i++)
                free(hdrs[i]);
        }
        break;
    case DL_GCP_AUTH_METADATA: {
        struct dl_gcp_request q;

        url = dl_asprintf("%s/computeMetadata/v1/instance/service-accounts/"
                          "default/token",
                          ep->base[DL_GCP_METADATA]);
        f->what = dl_asprintf(
            "no credentials configured (DRIFTLESS_ACCESS_TOKEN, "
            "GOOGLE_APPLICATION_CREDENTIALS, gcloud application default "
            "credentials) and the metadata server at '%s' failed",
            ep->base[DL_GCP_METADATA]);
        memset(&q, 0, sizeof(q));
        q.api = DL_GCP_METADATA;
        q.method = "GET";
        q.path = url;
        q.headers[0] = "Metadata-Flavor: Google";
        q.retry = DL_GCP_RETRY_SAFE;
        q.flags = DL_GCP_NO_AUTH | DL_GCP_RAW;
        q.deadline_ns = 15 * DL_NS_PER_SEC;
        q.done = on_token;
        q.ud = f;
        rc = dl_gcp__submit_internal(c, &q, err);
        break;
    }
    default:
        rc = dl_err_set(err, DL_EAUTH, "no credentials");
        break;
    }
    if (form) {
        memset(form, 0, strlen(form));
        free(form);
    }
    free(jwt);
    free(url);
    if (rc < 0) {
        if (err && err->code != DL_EAUTH)
            err->code = DL_EAUTH;
        if (f->what)
            dl_err_prefix(err, "%s", f->what);
        flow_free(f);
        return DL_EAUTH;
    }
    return 0;
}
