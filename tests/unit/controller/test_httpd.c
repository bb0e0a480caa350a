/* The HTTP server on 127.0.0.1 with an ephemeral port, driven by libcurl. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "controller/httpd.h"
#include "util/buf.h"
#include "util/time.h"

#define SECRET "test-webhook-secret"

struct fixture {
    struct dl_controller_metrics cm;
    struct dl_status *status;
    struct dl_httpd *h;
    int ready;
    int triggers;
    char last_ref[256];
    pthread_mutex_t lock;
};

static int ready_cb(void *ctx, char *reason, size_t size)
{
    struct fixture *f = ctx;

    if (!f->ready)
        snprintf(reason, size, "no pass has succeeded yet");
    return f->ready;
}

static void trigger_cb(void *ctx, const struct dl_webhook_push *push)
{
    struct fixture *f = ctx;

    pthread_mutex_lock(&f->lock);
    f->triggers++;
    snprintf(f->last_ref, sizeof(f->last_ref), "%s", push->ref);
    pthread_mutex_unlock(&f->lock);
}

static int triggers(struct fixture *f)
{
    int n;

    pthread_mutex_lock(&f->lock);
    n = f->triggers;
    pthread_mutex_unlock(&f->lock);
    return n;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct dl_httpd_config cfg = {0};
    struct dl_plan *p = dl_plan_new();
    struct dl_err err;

    pthread_mutex_init(&f->lock, NULL);
    dl_metrics_controller_init(&f->cm);
    f->status = dl_status_new(0, 0);
    dl_plan_add_resource(p, "acme-data", "CloudRunService", "phase-ingest");
    dl_metrics_controller_set_plan(&f->cm, p);
    dl_status_update_plan(f->status, p, dl_time_now_ns());
    dl_plan_free(p);
    cfg.listen = "127.0.0.1:0";
    cfg.metrics = f->cm.registry;
    cfg.status = f->status;
    cfg.ready = ready_cb;
    cfg.ready_ctx = f;
    cfg.webhook_secret = SECRET;
    cfg.webhook_secret_len = strlen(SECRET);
    cfg.trigger = trigger_cb;
    cfg.trigger_ctx = f;
    cfg.max_body = 4096;
    if (dl_httpd_start(&f->h, &cfg, &err) != 0) {
        fprintf(stderr, "httpd: %s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    dl_httpd_free(f->h);
    dl_status_free(f->status);
    dl_metrics_controller_dispose(&f->cm);
    pthread_mutex_destroy(&f->lock);
    free(f);
    return 0;
}

struct resp {
    long status;
    struct dl_buf body;
    char ctype[128];
    char allow[64];
    char csp[128];
};

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct resp *r = ud;

    return dl_buf_put(&r->body, p, sz * n) == 0 ? sz * n : 0;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    struct resp *r = ud;
    size_t len = sz * n;
    static const struct {
        const char *name;
        size_t off;
        size_t size;
    } want[] = {
        {"Allow:", offsetof(struct resp, allow), 64},
        {"Content-Security-Policy:", offsetof(struct resp, csp), 128},
    };

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        size_t nl = strlen(want[i].name);

        if (len > nl && strncasecmp(p, want[i].name, nl) == 0) {
            char *dst = (char *)r + want[i].off;
            size_t vl = len - nl;

            while (vl && (p[nl] == ' ')) {
                nl++;
                vl--;
            }
            while (vl && (p[nl + vl - 1] == '\n' || p[nl + vl - 1] == '\r'))
                vl--;
            snprintf(dst, want[i].size, "%.*s", (int)vl, p + nl);
        }
    }
    return len;
}

/* Do a request; sig NULL sends no signature header. */
static void request(struct fixture *f, struct resp *r, const char *method,
                    const char *path, const char *body, size_t body_len,
                    const char *sig, const char *event)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hdr = NULL;
    char url[256], line[256];
    char *ct = NULL;

    memset(r, 0, sizeof(*r));
    dl_buf_init(&r->body, 1 << 20);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", dl_httpd_port(f->h),
             path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    if (sig) {
        snprintf(line, sizeof(line), "X-Hub-Signature-256: %s", sig);
        hdr = curl_slist_append(hdr, line);
    }
    if (event) {
        snprintf(line, sizeof(line), "X-GitHub-Event: %s", event);
        hdr = curl_slist_append(hdr, line);
    }
    hdr = curl_slist_append(hdr, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    snprintf(r->ctype, sizeof(r->ctype), "%s", ct ? ct : "");
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
}

static void test_get_routes(void **state)
{
    struct fixture *f = *state;
    struct resp r;
    json_t *j;

    assert_true(dl_httpd_port(f->h) > 0);
    request(f, &r, "GET", "/healthz", NULL, 0, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(dl_buf_cstr(&r.body), "ok\n");
    dl_buf_dispose(&r.body);

    request(f, &r, "GET", "/readyz", NULL, 0, NULL, NULL);
    assert_int_equal(r.status, 503);
    assert_string_equal(dl_buf_cstr(&r.body),
                        "not ready: no pass has succeeded yet\n");
    dl_buf_dispose(&r.body);
    f->ready = 1;
    request(f, &r, "GET", "/readyz", NULL, 0, NULL, NULL);
    assert_int_equal(r.status, 200);
    dl_buf_dispose(&r.body);

    request(f, &r, "GET", "/metrics", NULL, 0, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, DL_METRICS_CONTENT_TYPE);
    assert_non_null(strstr(dl_buf_cstr(&r.body),
                           "driftless_resources{project=\"acme-data\","
                           "kind=\"CloudRunService\",status=\"in_sync\"} 1\n"));
    dl_buf_dispose(&r.body);

    request(f, &r, "GET", "/api/v1/status", NULL, 0, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "application/json");
    j = json_loads(dl_buf_cstr(&r.body), 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "resources")), 1);
    json_decref(j);
    dl_buf_dispose(&r.body);

    request(f, &r, "GET", "/", NULL, 0, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "text/html; charset=utf-8");
    assert_non_null(strstr(r.csp, "default-src 'none'"));
    assert_non_null(
        strstr(dl_buf_cstr(&r.body), "acme-data/CloudRunService/phase-ingest"));
    dl_buf_dispose(&r.body);

    request(f, &r, "HEAD", "/", NULL, 0, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 0);
    dl_buf_dispose(&r.body);
}

static void test_errors(void **state)
{
    struct fixture *f = *state;
    struct resp r;

    request(f, &r, "GET", "/nope", NULL, 0, NULL, NULL);
    assert_int_equal(r.status, 404);
    dl_buf_dispose(&r.body);
    request(f, &r, "GET", "/metrics/", NULL, 0, NULL, NULL);
    assert_int_equal(r.status, 404);
    dl_buf_dispose(&r.body);
    request(f, &r, "POST", "/metrics", "x", 1, NULL, NULL);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.allow, "GET, HEAD");
    dl_buf_dispose(&r.body);
    request(f, &r, "DELETE", "/", NULL, 0, NULL, NULL);
    assert_int_equal(r.status, 405);
    dl_buf_dispose(&r.body);
    request(f, &r, "GET", "/hooks/git", NULL, 0, NULL, NULL);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.allow, "POST");
    dl_buf_dispose(&r.body);
}

static void test_webhook(void **state)
{
    struct fixture *f = *state;
    static const char body[] =
        "{\"ref\":\"refs/heads/main\","
        "\"after\":\"e1c10e88a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4\"}";
    char sig[80], bad[80];
    char *big;
    struct resp r;

    assert_int_equal(dl_webhook_sign(sig, sizeof(sig), SECRET, strlen(SECRET),
                                     body, strlen(body)),
                     0);
    request(f, &r, "POST", "/hooks/git", body, strlen(body), NULL, "push");
    assert_int_equal(r.status, 401);
    assert_string_equal(dl_buf_cstr(&r.body),
                        "missing X-Hub-Signature-256 header\n");
    dl_buf_dispose(&r.body);
    assert_int_equal(triggers(f), 0);

    snprintf(bad, sizeof(bad), "%s", sig);
    bad[10] = bad[10] == 'a' ? 'b' : 'a';
    request(f, &r, "POST", "/hooks/git", body, strlen(body), bad, "push");
    assert_int_equal(r.status, 401);
    assert_string_equal(dl_buf_cstr(&r.body), "signature mismatch\n");
    dl_buf_dispose(&r.body);
    request(f, &r, "POST", "/hooks/git", body, strlen(body), "sha256=zz",
            "push");
    assert_int_equal(r.status, 401);
    dl_buf_dispose(&r.body);
    assert_int_equal(triggers(f), 0);

    request(f, &r, "POST", "/hooks/git", body, strlen(body), sig, "push");
    assert_int_equal(r.status, 202);
    dl_buf_dispose(&r.body);
    assert_int_equal(triggers(f), 1);
    assert_string_equal(f->last_ref, "refs/heads/main");

    /* ping: verified, answered, nothing triggered. */
    request(f, &r, "POST", "/hooks/git", body, strlen(body), sig, "ping");
    assert_int_equal(r.status, 200);
    assert_string_equal(dl_buf_cstr(&r.body), "pong\n");
    dl_buf_dispose(&r.body);
    assert_int_equal(triggers(f), 1);

    /* A signed body that is not a push event. */
    assert_int_equal(
        dl_webhook_sign(sig, sizeof(sig), SECRET, strlen(SECRET), "[1]", 3), 0);
    request(f, &r, "POST", "/hooks/git", "[1]", 3, sig, "push");
    assert_int_equal(r.status, 400);
    dl_buf_dispose(&r.body);
    assert_int_equal(triggers(f), 1);

    /* Over the 4096-byte cap: 413, nothing triggered, even if signed. */
    big = malloc(5000);
    memset(big, ' ', 5000);
    big[0] = '{';
    big[4999] = '}';
    assert_int_equal(
        dl_webhook_sign(sig, sizeof(sig), SECRET, strlen(SECRET), big, 5000),
        0);
    request(f, &r, "POST", "/hooks/git", big, 5000, sig, "push");
    assert_int_equal(r.status, 413);
    dl_buf_dispose(&r.body);
    free(big);
    assert_int_equal(triggers(f), 1);
    /* The server counts a request done once it has finished sending, which
       may be just after the client has read the answer. */
    for (int i = 0; i < 200 && dl_httpd_inflight(f->h) != 0; i++)
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    assert_int_equal(dl_httpd_inflight(f->h), 0);
}

static void test_no_secret_and_bind_errors(void **state)
{
    struct fixture *f = *state;
    struct dl_httpd_config cfg = {0};
    struct dl_httpd *h2 = NULL;
    struct dl_err err;
    char listen[64];
    struct resp r;
    struct dl_httpd *saved = f->h;

    /* The port is taken by the fixture's server. */
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", dl_httpd_port(f->h));
    cfg.listen = listen;
    assert_int_equal(dl_httpd_start(&h2, &cfg, &err), DL_ERROR);
    assert_null(h2);
    assert_non_null(strstr(err.msg, listen));

    cfg.listen = "127.0.0.1:99999";
    assert_int_equal(dl_httpd_start(&h2, &cfg, &err), DL_EINVALID);
    assert_string_equal(err.msg, "invalid listen address \"127.0.0.1:99999\" "
                                 "(want host:port, [ipv6]:port or :port)");

    /* Without a secret, webhooks are refused and /metrics is absent. */
    cfg.listen = "127.0.0.1:0";
    cfg.trigger = trigger_cb;
    cfg.trigger_ctx = f;
    assert_int_equal(dl_httpd_start(&h2, &cfg, &err), 0);
    f->h = h2;
    request(f, &r, "POST", "/hooks/git", "{}", 2, "sha256=00", "push");
    assert_int_equal(r.status, 403);
    dl_buf_dispose(&r.body);
    request(f, &r, "GET", "/metrics", NULL, 0, NULL, NULL);
    assert_int_equal(r.status, 404);
    dl_buf_dispose(&r.body);
    request(f, &r, "GET", "/readyz", NULL, 0, NULL, NULL);
    assert_int_equal(r.status, 200); /* no readiness callback: ready */
    dl_buf_dispose(&r.body);
    dl_httpd_free(h2);
    h2 = NULL;

    /* ":0" listens on every IPv4 address, "localhost:0" on its IPv4
       address first: both answer on 127.0.0.1. */
    cfg.listen = ":0";
    assert_int_equal(dl_httpd_start(&h2, &cfg, &err), 0);
    f->h = h2;
    request(f, &r, "GET", "/healthz", NULL, 0, NULL, NULL);
    assert_int_equal(r.status, 200);
    dl_buf_dispose(&r.body);
    dl_httpd_free(h2);
    h2 = NULL;
    cfg.listen = "localhost:0";
    assert_int_equal(dl_httpd_start(&h2, &cfg, &err), 0);
    f->h = h2;
    request(f, &r, "GET", "/healthz", NULL, 0, NULL, NULL);
    assert_int_equal(r.status, 200);
    dl_buf_dispose(&r.body);
    f->h = saved;
    dl_httpd_stop(h2, DL_NS_PER_SEC);
    dl_httpd_stop(h2, DL_NS_PER_SEC); /* idempotent */
    dl_httpd_free(h2);
    assert_int_equal(triggers(f), 0);
}

struct stopper {
    struct dl_httpd *h;
    int64_t ended; /* monotonic */
};

static void *stop_thread(void *arg)
{
    struct stopper *st = arg;

    dl_httpd_stop(st->h, 10 * DL_NS_PER_SEC);
    st->ended = dl_time_mono_ns();
    return NULL;
}

static int connect_to(unsigned port)
{
    struct sockaddr_in sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* A stop while a webhook body is still arriving: no new connections, but
   the request in flight completes and gets its answer. */
static void test_graceful_stop(void **state)
{
    struct fixture *f = *state;
    static const char body[] = "{\"ref\":\"refs/heads/main\"}";
    char sig[80], head[512], resp[512];
    struct stopper st = {.h = f->h, .ended = 0};
    int64_t t0;
    pthread_t th;
    size_t half = sizeof(body) / 2;
    ssize_t n, got = 0;
    int fd;
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 200 * 1000 * 1000};

    assert_int_equal(dl_webhook_sign(sig, sizeof(sig), SECRET, strlen(SECRET),
                                     body, strlen(body)),
                     0);
    fd = connect_to(dl_httpd_port(f->h));
    snprintf(head, sizeof(head),
             "POST /hooks/git HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             "Content-Length: %zu\r\nX-GitHub-Event: push\r\n"
             "X-Hub-Signature-256: %s\r\nConnection: close\r\n\r\n",
             strlen(body), sig);
    assert_int_equal(write(fd, head, strlen(head)), (ssize_t)strlen(head));
    assert_int_equal(write(fd, body, half), (ssize_t)half);
    for (int i = 0; i < 500 && dl_httpd_inflight(f->h) == 0; i++)
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    assert_int_equal(dl_httpd_inflight(f->h), 1);

    t0 = dl_time_mono_ns();
    assert_int_equal(pthread_create(&th, NULL, stop_thread, &st), 0);
    nanosleep(&pause, NULL);
    assert_int_equal(triggers(f), 0); /* still waiting for the body */
    assert_int_equal(write(fd, body + half, strlen(body) - half),
                     (ssize_t)(strlen(body) - half));
    while ((n = read(fd, resp + got, sizeof(resp) - 1 - (size_t)got)) > 0)
        got += n;
    resp[got] = '\0';
    close(fd);
    pthread_join(th, NULL);
    assert_non_null(strstr(resp, "HTTP/1.1 202"));
    assert_int_equal(triggers(f), 1);
    /* It waited for the request (the rest of the body was sent 200 ms
       after the stop began), not for the whole 10 s grace period. */
    assert_true(st.ended - t0 >= 190 * DL_NS_PER_MS);
    assert_true(st.ended - t0 < 9 * DL_NS_PER_SEC);
}

static void test_parse_listen(void **state)
{
    static const struct {
        const char *in, *host;
        unsigned port;
    } ok[] = {
        {"127.0.0.1:9090", "127.0.0.1", 9090},
        {":8080", "", 8080},
        {"[::1]:0", "::1", 0},
        {"localhost:1", "localhost", 1},
    };
    static const char *const bad[] = {
        "",        "9090",  "127.0.0.1:", "127.0.0.1:x", "::1:80",
        "[::1]80", "[]:80", "h:65536",    "h:-1",        "h:+1",
    };
    char host[256];
    unsigned port;
    struct dl_err err;

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(
            dl_httpd_parse_listen(host, sizeof(host), &port, ok[i].in, &err),
            0);
        assert_string_equal(host, ok[i].host);
        assert_int_equal(port, ok[i].port);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(
            dl_httpd_parse_listen(host, sizeof(host), &port, bad[i], &err),
            DL_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_listen),
        cmocka_unit_test_setup_teardown(test_get_routes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_secret_and_bind_errors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_graceful_stop, setup, teardown),
    };
    int rc;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
