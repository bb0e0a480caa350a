#include "gcp_test.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gcp/gcp_int.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"

#define SVC "/v2/projects/demo/locations/europe-west1/services/api"
#define SA_EMAIL "deployer@demo.iam.gserviceaccount.com"

static char dir[64];
static char keyfile[128];
static EVP_PKEY *pkey;
static char *pem;

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static char *read_all(FILE *f)
{
    static char buf[1 << 20];
    size_t n;

    fflush(f);
    rewind(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    return buf;
}

static int group_setup(void **state)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    long n;
    json_t *key;
    char *text;

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/dl-auth-XXXXXX");
    assert_non_null(mkdtemp(dir));
    pkey = EVP_RSA_gen(2048);
    assert_non_null(pkey);
    PEM_write_bio_PrivateKey(b, pkey, NULL, NULL, 0, NULL, NULL);
    n = BIO_get_mem_data(b, &data);
    pem = strndup(data, (size_t)n);
    BIO_free(b);
    key = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "service_account",
                    "project_id", "demo", "private_key_id", "k-123",
                    "private_key", pem, "client_email", SA_EMAIL, "token_uri",
                    "https://oauth2.googleapis.com/token");
    text = json_dumps(key, JSON_INDENT(2));
    snprintf(keyfile, sizeof(keyfile), "%s/sa.json", dir);
    write_file(keyfile, text, 0600);
    free(text);
    json_decref(key);
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[128];

    (void)state;
    EVP_PKEY_free(pkey);
    free(pem);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    dl_log_clear_secrets();
    dl_log_init(DL_LOG_WARNING, DL_LOG_AUTO, NULL);
    return 0;
}

static unsigned char *b64url_decode(const char *s, size_t n, size_t *outlen)
{
    char *t = calloc(n + 4, 1);
    unsigned char *out = calloc(n + 4, 1);
    size_t m = n;
    int len;

    for (size_t i = 0; i < n; i++)
        t[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    while (m % 4)
        t[m++] = '=';
    len = EVP_DecodeBlock(out, (unsigned char *)t, (int)m);
    assert_true(len >= 0);
    *outlen = (size_t)len - (n % 4 == 2 ? 2 : n % 4 == 3 ? 1 : 0);
    free(t);
    return out;
}

static void test_jwt_assertion(void **state)
{
    struct dl_gcp_creds cr;
    struct dl_err err;
    char *jwt = NULL, *dot1, *dot2;
    unsigned char *hdr, *claims, *sig;
    size_t hl, cl, sl;
    json_t *h, *c;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    FILE *f = fopen(keyfile, "r");
    char text[8192];
    size_t n = fread(text, 1, sizeof(text), f);

    (void)state;
    fclose(f);
    assert_int_equal(dl_gcp_creds_parse(&cr, text, n, keyfile, &err), 0);
    assert_int_equal(cr.kind, DL_GCP_AUTH_SERVICE_ACCOUNT);
    assert_int_equal(dl_gcp_jwt_assertion(&jwt, &cr,
                                          "https://oauth2.googleapis.com/token",
                                          1735689600, &err),
                     0);
    dot1 = strchr(jwt, '.');
    dot2 = strchr(dot1 + 1, '.');
    assert_null(strchr(dot2 + 1, '.'));
    assert_null(strchr(jwt, '='));
    hdr = b64url_decode(jwt, (size_t)(dot1 - jwt), &hl);
    claims = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &cl);
    sig = b64url_decode(dot2 + 1, strlen(dot2 + 1), &sl);
    h = json_loadb((char *)hdr, hl, 0, NULL);
    c = json_loadb((char *)claims, cl, 0, NULL);
    assert_non_null(h);
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(h, "alg")), "RS256");
    assert_string_equal(json_string_value(json_object_get(h, "kid")), "k-123");
    assert_string_equal(json_string_value(json_object_get(c, "iss")), SA_EMAIL);
    assert_string_equal(json_string_value(json_object_get(c, "aud")),
                        "https://oauth2.googleapis.com/token");
    assert_string_equal(json_string_value(json_object_get(c, "scope")),
                        "https://www.googleapis.com/auth/cloud-platform");
    assert_int_equal(json_integer_value(json_object_get(c, "iat")), 1735689600);
    assert_int_equal(json_integer_value(json_object_get(c, "exp")),
                     1735689600 + 3600);
    /* The signature verifies with the key's public half. */
    assert_int_equal(sl, 256);
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey),
                     1);
    assert_int_equal(EVP_DigestVerify(md, sig, sl, (unsigned char *)jwt,
                                      (size_t)(dot2 - jwt)),
                     1);
    /* ...and not for other bytes. */
    jwt[5] ^= 1;
    assert_int_not_equal(EVP_DigestVerify(md, sig, sl, (unsigned char *)jwt,
                                          (size_t)(dot2 - jwt)),
                         1);
    EVP_MD_CTX_free(md);
    json_decref(h);
    json_decref(c);
    free(hdr);
    free(claims);
    free(sig);
    free(jwt);
    dl_gcp_creds_dispose(&cr);
}

struct tally {
    int ok, failed;
    int last_rc;
    char msg[DL_ERR_MSG_MAX];
};

static void tally_done(struct dl_gcp_client *c, int rc,
                       const struct dl_gcp_response *r,
                       const struct dl_err *err, void *ud)
{
    struct tally *t = ud;

    (void)c;
    (void)r;
    t->last_rc = rc;
    if (rc == 0)
        t->ok++;
    else {
        t->failed++;
        snprintf(t->msg, sizeof(t->msg), "%s", err->msg);
    }
}

static void submit(struct dl_gcp_client *c, enum dl_gcp_api api,
                   const char *path, struct tally *t)
{
    struct dl_gcp_request q;
    struct dl_err err;

    memset(&q, 0, sizeof(q));
    q.api = api;
    q.path = path;
    q.done = tally_done;
    q.ud = t;
    assert_int_equal(dl_gcp_submit(c, &q, &err), 0);
}

static void test_service_account_flow(void **state)
{
    struct dl_http_transport *t;
    struct dl_gcp_client *c;
    struct tally k = {0};
    struct dl_err err;
    const struct dl_http_replay_req *q;

    (void)state;
    gcp_test_env(NULL);
    setenv("GOOGLE_APPLICATION_CREDENTIALS", keyfile, 1);
    c = gcp_test_client(&t, NULL);
    assert_string_equal(dl_gcp_client_auth_kind(c), "service-account");
    gcp_test_add(t, "POST", "/token", FIX("token-ok.http"));
    for (int i = 0; i < 20; i++) {
        gcp_test_add(t, "GET", SVC, FIX("run-service.http"));
        submit(c, DL_GCP_RUN, SVC, &k);
    }
    assert_int_equal(dl_gcp_client_run(c, &err), 0);
    assert_int_equal(k.ok, 20);
    /* One token request for all twenty waiting requests, first. */
    assert_int_equal(dl_http_replay_count(t), 21);
    q = gcp_test_req(t, 0);
    assert_string_equal(q->url, "https://oauth2.googleapis.com/token");
    assert_non_null(strstr(q->headers, "Content-Type: application/"
                                       "x-www-form-urlencoded"));
    assert_null(strstr(q->headers, "Authorization"));
    assert_int_equal(strncmp(q->body,
                             "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-"
                             "type%3Ajwt-bearer&assertion=ey",
                             76),
                     0);
    for (size_t i = 1; i < 21; i++)
        assert_non_null(strstr(gcp_test_req(t, i)->headers,
                               "Authorization: Bearer ya29.replay-token-0001"));
    /* Cached: the next call needs no token request. */
    gcp_test_add(t, "GET", SVC, FIX("run-service.http"));
    assert_int_equal(dl_gcp_call(c, DL_GCP_RUN, "GET", SVC, NULL, NULL, &err),
                     0);
    assert_int_equal(dl_http_replay_count(t), 22);
    assert_int_equal(dl_gcp_client_metrics(c)->token_refreshes, 1);
    dl_gcp_client_free(c);
}

static void test_refresh_before_expiry(void **state)
{
    static const char slow[] =
        "HTTP/1.1 200 OK\nX-Replay-Delay-Ms: 100000\n\n{}";
    struct dl_http_transport *t;
    struct dl_gcp_client *c;
    struct dl_err err;
    struct dl_gcp_client_opts o;

    (void)state;
    memset(&o, 0, sizeof(o));
    o.attempt_timeout_ns = 200 * DL_NS_PER_SEC;
    gcp_test_env(NULL);
    setenv("GOOGLE_APPLICATION_CREDENTIALS", keyfile, 1);
    c = gcp_test_client(&t, &o);
    gcp_test_add(t, "POST", "/token", FIX("token-short.http"));
    assert_int_equal(
        dl_http_replay_add_text(t, "GET", SVC, slow, strlen(slow), &err), 0);
    gcp_test_add(t, "POST", "/token", FIX("token-ok.http"));
    gcp_test_add(t, "GET", SVC, FIX("run-service.http"));
    gcp_test_add(t, "GET", SVC, FIX("run-service.http"));
    /* The first token lives 120 s; the call takes 100 s. */
    assert_int_equal(dl_gcp_call(c, DL_GCP_RUN, "GET", SVC, NULL, NULL, &err),
                     0);
    if (dl_gcp_call(c, DL_GCP_RUN, "GET", SVC, NULL, NULL, &err) != 0)
        fail_msg("%s", err.msg);
    if (dl_gcp_call(c, DL_GCP_RUN, "GET", SVC, NULL, NULL, &err) != 0) {
        for (size_t i = 0; i < dl_http_replay_count(t); i++)
            fprintf(stderr, "%s %s\n", gcp_test_req(t, i)->method,
                    gcp_test_req(t, i)->url);
        fail_msg("%s", err.msg);
    }
    assert_int_equal(dl_http_replay_unused(t), 0);
    /* At 100 s the old token is still good: the call goes out with it
     * while the refresh runs beside it; the next one has the new token. */
    assert_non_null(
        strstr(gcp_test_req(t, 2)->headers, "Bearer ya29.replay-token-short"));
    assert_string_equal(gcp_test_req(t, 3)->url,
                        "https://oauth2.googleapis.com/token");
    assert_non_null(
        strstr(gcp_test_req(t, 4)->headers, "Bearer ya29.replay-token-0001"));
    assert_int_equal(dl_gcp_client_metrics(c)->token_refreshes, 2);
    dl_gcp_client_free(c);
}

static void test_invalid_grant(void **state)
{
    struct dl_http_transport *t;
    struct dl_gcp_client *c;
    struct tally k = {0};
    struct dl_err err;

    (void)state;
    gcp_test_env(NULL);
    setenv("GOOGLE_APPLICATION_CREDENTIALS", keyfile, 1);
    c = gcp_test_client(&t, NULL);
    gcp_test_add(t, "POST", "/token", FIX("token-invalid-grant.http"));
    submit(c, DL_GCP_RUN, SVC, &k);
    submit(c, DL_GCP_STORAGE, "/storage/v1/b?project=demo", &k);
    assert_int_equal(dl_gcp_client_run(c, &err), 0);
    assert_int_equal(k.failed, 2);
    assert_int_equal(k.last_rc, DL_EAUTH);
    assert_string_equal(k.msg,
                        "service account '" SA_EMAIL "' token request to "
                        "'https://oauth2.googleapis.com/token': POST /token: "
                        "HTTP 400: invalid_grant: Invalid JWT Signature.");
    assert_int_equal(dl_http_replay_count(t), 1);
    dl_gcp_client_free(c);
}

static void test_authorized_user(void **state)
{
    struct dl_http_transport *t;
    struct dl_gcp_client *c;
    struct dl_err err;
    char path[128];

    (void)state;
    snprintf(path, sizeof(path), "%s/adc", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/adc/application_default_credentials.json",
             dir);
    write_file(path,
               "{\"type\":\"authorized_user\",\"client_id\":\"cid.apps\","
               "\"client_secret\":\"d-FL95Q19q7MQmFpd7hHD0Ty\","
               "\"refresh_token\":\"1//0refresh-token-zzz\","
               "\"quota_project_id\":\"billing-proj\"}",
               0600);
    gcp_test_env(NULL);
    snprintf(path, sizeof(path), "%s/adc", dir);
    setenv("CLOUDSDK_CONFIG", path, 1); /* gcloud's ADC file */
    c = gcp_test_client(&t, NULL);
    assert_string_equal(dl_gcp_client_auth_kind(c), "authorized-user");
    gcp_test_add(t, "POST", "/token", FIX("token-ok-2.http"));
    gcp_test_add(t, "GET", SVC, FIX("run-service.http"));
    assert_int_equal(dl_gcp_call(c, DL_GCP_RUN, "GET", SVC, NULL, NULL, &err),
                     0);
    assert_string_equal(gcp_test_req(t, 0)->body,
                        "grant_type=refresh_token&client_id=cid.apps&client_"
                        "secret=d-FL95Q19q7MQmFpd7hHD0Ty&refresh_token=1%2F%"
                        "2F0refresh-token-zzz");
    assert_non_null(
        strstr(gcp_test_req(t, 1)->headers, "Bearer ya29.replay-token-0002"));
    /* User credentials name the project that pays for quota. */
    assert_non_null(strstr(gcp_test_req(t, 1)->headers,
                           "x-goog-user-project: billing-proj\n"));
    assert_null(strstr(gcp_test_req(t, 0)->headers, "x-goog-user-project"));
    dl_gcp_client_free(c);
}

static void test_external_account_file(void **state)
{
    struct dl_http_transport *t;
    struct dl_gcp_client *c;
    struct dl_err err;
    char path[128], subj[128], *cfg;
    const struct dl_http_replay_req *q;

    (void)state;
    snprintf(subj, sizeof(subj), "%s/oidc-token", dir);
    write_file(subj, "  header.payload+/=.signature\n", 0600);
    cfg = dl_asprintf(
        "{\"type\":\"external_account\",\"audience\":\"//iam.googleapis.com/"
        "projects/123/locations/global/workloadIdentityPools/gh/providers/"
        "gh\",\"subject_token_type\":\"urn:ietf:params:oauth:token-type:jwt\","
        "\"token_url\":\"https://sts.googleapis.com/v1/token\","
        "\"service_account_impersonation_url\":\"https://"
        "iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
        "ci@demo.iam.gserviceaccount.com:generateAccessToken\","
        "\"credential_source\":{\"file\":\"%s\"}}",
        subj);
    snprintf(path, sizeof(path), "%s/wif.json", dir);
    write_file(path, cfg, 0644);
    free(cfg);
    gcp_test_env(NULL);
    setenv("GOOGLE_APPLICATION_CREDENTIALS", path, 1);
    c = gcp_test_client(&t, NULL);
    assert_string_equal(dl_gcp_client_auth_kind(c), "external-account");
    gcp_test_add(t, "POST", "/v1/token", FIX("sts-token.http"));
    gcp_test_add(t, "POST",
                 "/v1/projects/-/serviceAccounts/"
                 "ci@demo.iam.gserviceaccount.com:generateAccessToken",
                 FIX("impersonated-token.http"));
    gcp_test_add(t, "GET", SVC, FIX("run-service.http"));
    assert_int_equal(dl_gcp_call(c, DL_GCP_RUN, "GET", SVC, NULL, NULL, &err),
                     0);
    q = gcp_test_req(t, 0);
    assert_string_equal(q->url, "https://sts.googleapis.com/v1/token");
    assert_non_null(strstr(q->body, "grant_type=urn%3Aietf%3Aparams%3Aoauth%"
                                    "3Agrant-type%3Atoken-exchange&"));
    assert_non_null(strstr(q->body, "&subject_token=header.payload%2B%2F%3D."
                                    "signature&"));
    assert_non_null(strstr(q->body, "&audience=%2F%2Fiam.googleapis.com%2F"));
    q = gcp_test_req(t, 1);
    assert_non_null(
        strstr(q->headers, "Authorization: Bearer sts-federated-token-0001"));
    assert_string_equal(q->body, "{\"scope\":[\"https://www.googleapis.com/"
                                 "auth/cloud-platform\"],\"lifetime\":"
                                 "\"3600s\"}");
    assert_non_null(strstr(gcp_test_req(t, 2)->headers,
                           "Authorization: Bearer ya29.impersonated-0001"));
    dl_gcp_client_free(c);
}

static void test_external_account_url_json(void **state)
{
    struct dl_http_transport *t;
    struct dl_gcp_client *c;
    struct dl_err err;
    char path[128];

    (void)state;
    snprintf(path, sizeof(path), "%s/wif-url.json", dir);
    write_file(path,
               "{\"type\":\"external_account\",\"audience\":\"aud-1\","
               "\"subject_token_type\":\"urn:ietf:params:oauth:token-type:"
               "jwt\",\"token_url\":\"https://sts.googleapis.com/v1/token\","
               "\"credential_source\":{\"url\":\"http://127.0.0.1:5555/"
               "oidc?audience=x\",\"headers\":{\"Authorization\":\"bearer "
               "gh-request-token-1234\"},\"format\":{\"type\":\"json\","
               "\"subject_token_field_name\":\"value\"}}}",
               0600);
    gcp_test_env(NULL);
    setenv("GOOGLE_APPLICATION_CREDENTIALS", path, 1);
    setenv("DRIFTLESS_STS_ENDPOINT", "http://127.0.0.1:7777", 1);
    c = gcp_test_client(&t, NULL);
    gcp_test_add(t, "GET", "/oidc*", FIX("oidc-subject.http"));
    gcp_test_add(t, "POST", "/v1/token", FIX("sts-token.http"));
    gcp_test_add(t, "GET", SVC, FIX("run-service.http"));
    assert_int_equal(dl_gcp_call(c, DL_GCP_RUN, "GET", SVC, NULL, NULL, &err),
                     0);
    assert_string_equal(gcp_test_req(t, 0)->url,
                        "http://127.0.0.1:5555/oidc?audience=x");
    assert_non_null(strstr(gcp_test_req(t, 0)->headers,
                           "Authorization: bearer gh-request-token-1234"));
    /* The STS override applies to the file's token_url. */
    assert_string_equal(gcp_test_req(t, 1)->url,
                        "http://127.0.0.1:7777/v1/token");
    assert_non_null(strstr(gcp_test_req(t, 1)->body,
                           "subject_token=eyJhbGciOiJSUzI1NiJ9.oidc-subject-"
                           "token.sig&"));
    assert_non_null(strstr(gcp_test_req(t, 2)->headers,
                           "Authorization: Bearer sts-federated-token-0001"));
    dl_gcp_client_free(c);
}

static void test_metadata_server(void **state)
{
    struct dl_http_transport *t;
    struct dl_gcp_client *c;
    struct dl_err err;

    (void)state;
    gcp_test_env(NULL);
    setenv("GCE_METADATA_HOST", "127.0.0.1:9999", 1);
    c = gcp_test_client(&t, NULL);
    assert_string_equal(dl_gcp_client_auth_kind(c), "metadata");
    gcp_test_add(t, "GET",
                 "/computeMetadata/v1/instance/service-accounts/default/token",
                 FIX("metadata-token.http"));
    gcp_test_add(t, "GET", SVC, FIX("run-service.http"));
    assert_int_equal(dl_gcp_call(c, DL_GCP_RUN, "GET", SVC, NULL, NULL, &err),
                     0);
    assert_string_equal(gcp_test_req(t, 0)->url,
                        "http://127.0.0.1:9999/computeMetadata/v1/instance/"
                        "service-accounts/default/token");
    assert_non_null(
        strstr(gcp_test_req(t, 0)->headers, "Metadata-Flavor: Google\n"));
    assert_non_null(
        strstr(gcp_test_req(t, 1)->headers, "Bearer ya29.metadata-token-0001"));
    dl_gcp_client_free(c);

    /* Not on Google Cloud: the metadata server does not answer. */
    c = gcp_test_client(&t, NULL);
    for (int i = 0; i < 10; i++)
        gcp_test_add(t, "GET", "/computeMetadata/*", FIX("fail-connect.http"));
    assert_int_equal(dl_gcp_call(c, DL_GCP_RUN, "GET", SVC, NULL, NULL, &err),
                     DL_ETRANSIENT);
    assert_non_null(strstr(err.msg, "no credentials configured"));
    assert_non_null(strstr(err.msg, "Couldn't connect"));
    dl_gcp_client_free(c);
}

static void test_bad_credentials(void **state)
{
    struct dl_gcp_client_opts o;
    struct dl_gcp_client *c = NULL;
    struct dl_http_transport *t;
    struct dl_err err;
    char path[128];

    (void)state;
    gcp_test_env(NULL);
    setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/key.json", 1);
    memset(&o, 0, sizeof(o));
    assert_int_equal(dl_http_replay_new(&t), 0);
    o.transport = t;
    assert_int_equal(dl_gcp_client_new(&c, &o, &err), DL_EAUTH);
    assert_null(c);
    assert_string_equal(err.msg,
                        "GOOGLE_APPLICATION_CREDENTIALS: cannot read "
                        "'/nonexistent/key.json': No such file or directory");

    snprintf(path, sizeof(path), "%s/odd.json", dir);
    write_file(path, "{\"type\":\"impersonated_service_account\"}", 0600);
    assert_int_equal(dl_http_replay_new(&t), 0);
    o.transport = t;
    o.credentials_file = path;
    assert_int_equal(dl_gcp_client_new(&c, &o, &err), DL_EAUTH);
    assert_non_null(strstr(err.msg, "unsupported type "
                                    "'impersonated_service_account'"));

    /* A key that is not a key fails at the first request. */
    snprintf(path, sizeof(path), "%s/badkey.json", dir);
    write_file(path,
               "{\"type\":\"service_account\",\"client_email\":\"a@b\","
               "\"private_key\":\"-----BEGIN PRIVATE KEY-----\\nnope\\n\"}",
               0600);
    c = gcp_test_client(&t, &o);
    assert_int_equal(dl_gcp_call(c, DL_GCP_RUN, "GET", SVC, NULL, NULL, &err),
                     DL_EAUTH);
    assert_non_null(strstr(err.msg, "private_key is not a PEM private key"));
    assert_int_equal(dl_http_replay_count(t), 0);
    dl_gcp_client_free(c);
}

static void test_key_file_mode_warning(void **state)
{
    struct dl_http_transport *t;
    struct dl_gcp_client *c;
    FILE *log = tmpfile();

    (void)state;
    dl_log_init(DL_LOG_WARNING, DL_LOG_TEXT, log);
    chmod(keyfile, 0644);
    gcp_test_env(NULL);
    setenv("GOOGLE_APPLICATION_CREDENTIALS", keyfile, 1);
    c = gcp_test_client(&t, NULL);
    assert_non_null(strstr(read_all(log), "is readable by group or others "
                                          "(mode 0644); chmod 600 it"));
    dl_gcp_client_free(c);
    chmod(keyfile, 0600);
    dl_log_init(DL_LOG_WARNING, DL_LOG_AUTO, NULL);
    fclose(log);
}

static void test_emulator_gets_owner(void **state)
{
    struct dl_http_transport *t;
    struct dl_gcp_client *c;
    struct dl_err err;

    (void)state;
    gcp_test_env(NULL);
    setenv("GOOGLE_APPLICATION_CREDENTIALS", keyfile, 1);
    setenv("FIRESTORE_EMULATOR_HOST", "127.0.0.1:8089", 1);
    c = gcp_test_client(&t, NULL);
    gcp_test_add(t, "GET",
                 "/v1/projects/demo/databases/(default)/documents/"
                 "leases/p1",
                 FIX("firestore-doc.http"));
    assert_int_equal(dl_gcp_call(c, DL_GCP_FIRESTORE, "GET",
                                 "/v1/projects/demo/databases/(default)/"
                                 "documents/leases/p1",
                                 NULL, NULL, &err),
                     0);
    /* No token fetched; the emulator's admin bearer sent instead. */
    assert_int_equal(dl_http_replay_count(t), 1);
    assert_string_equal(gcp_test_req(t, 0)->url,
                        "http://127.0.0.1:8089/v1/projects/demo/databases/"
                        "(default)/documents/leases/p1");
    assert_non_null(
        strstr(gcp_test_req(t, 0)->headers, "Authorization: Bearer owner\n"));
    dl_gcp_client_free(c);
}

static void test_no_secret_in_debug_log(void **state)
{
    struct dl_http_transport *t;
    struct dl_gcp_client *c;
    struct dl_err err;
    FILE *log = tmpfile();
    const char *text;
    char line[80];
    const char *p;

    (void)state;
    dl_log_init(DL_LOG_DEBUG, DL_LOG_JSON, log);
    gcp_test_env(NULL);
    setenv("GOOGLE_APPLICATION_CREDENTIALS", keyfile, 1);
    c = gcp_test_client(&t, NULL);
    gcp_test_add(t, "POST", "/token", FIX("token-ok.http"));
    gcp_test_add(t, "GET", SVC, FIX("error-401.http"));
    gcp_test_add(t, "POST", "/token", FIX("token-ok-2.http"));
    gcp_test_add(t, "GET", SVC, FIX("error-503.http"));
    gcp_test_add(t, "GET", SVC, FIX("run-service.http"));
    assert_int_equal(dl_gcp_call(c, DL_GCP_RUN, "GET", SVC, NULL, NULL, &err),
                     0);
    dl_gcp_client_free(c);
    text = read_all(log);
    assert_non_null(strstr(text, "gcp: GET " SVC " -> 401"));
    assert_null(strstr(text, "ya29.replay-token"));
    assert_null(strstr(text, "Bearer"));
    /* No line of the private key's base64 either. */
    for (p = strchr(pem, '\n') + 1; *p && strncmp(p, "-----", 5);) {
        size_t n = strcspn(p, "\n");

        snprintf(line, sizeof(line), "%.*s", (int)(n < 40 ? n : 40), p);
        assert_null(strstr(text, line));
        p += n + 1;
    }
    dl_log_init(DL_LOG_WARNING, DL_LOG_AUTO, NULL);
    fclose(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jwt_assertion),
        cmocka_unit_test(test_service_account_flow),
        cmocka_unit_test(test_refresh_before_expiry),
        cmocka_unit_test(test_invalid_grant),
        cmocka_unit_test(test_authorized_user),
        cmocka_unit_test(test_external_account_file),
        cmocka_unit_test(test_external_account_url_json),
        cmocka_unit_test(test_metadata_server),
        cmocka_unit_test(test_bad_credentials),
        cmocka_unit_test(test_key_file_mode_warning),
        cmocka_unit_test(test_emulator_gets_owner),
        cmocka_unit_test(test_no_secret_in_debug_log),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
