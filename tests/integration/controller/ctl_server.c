/*
 * ctl_server - the controller's HTTP side without the loop, for the
 * integration tests: serves a plan file's status and metrics on
 * --listen, and handles SIGTERM/SIGINT the way `driftless run` will (a
 * signal thread, then a graceful dl_httpd_stop).
 *
 * Usage: ctl_server --plan FILE --secret-file FILE [--listen ADDR]
 * Prints "listening on 127.0.0.1:PORT" on stdout once serving. It is not
 * ready (/readyz 503) until a verified push webhook arrives: each one runs
 * a fake pass (records the plan again, a successful pass, and
 * test_webhook_triggers_total += 1), so tests can see triggers in /metrics.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/httpd.h"
#include "controller/metrics.h"
#include "controller/status.h"
#include "controller/webhook.h"
#include "plan/plan_json.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/time.h"

struct server {
    struct dl_controller_metrics cm;
    struct dl_metric_family *triggers;
    struct dl_status *status;
    struct dl_plan *plan;
    pthread_mutex_t lock; /* plan and the fake pass */
};

static void trigger(void *ctx, const struct dl_webhook_push *push)
{
    struct server *s = ctx;
    struct dl_status_pass pass = {0};
    int64_t t0 = dl_time_now_ns();

    pthread_mutex_lock(&s->lock);
    (void)dl_metrics_counter_add(s->triggers, NULL, 1);
    dl_status_update_plan(s->status, s->plan, t0);
    dl_metrics_controller_set_plan(&s->cm, s->plan);
    pass.started_at = t0;
    pass.duration_ns = 1234 * DL_NS_PER_MS;
    pass.result = DL_PASS_SUCCESS;
    snprintf(pass.commit, sizeof(pass.commit), "%s",
             *push->after ? push->after : s->plan->source.commit);
    snprintf(pass.message, sizeof(pass.message), "webhook push to %.200s",
             push->ref);
    dl_status_record_pass(s->status, &pass);
    dl_metrics_controller_record_pass(&s->cm, "success", pass.duration_ns,
                                      t0 + pass.duration_ns);
    dl_metrics_controller_set_commit(&s->cm, pass.commit);
    pthread_mutex_unlock(&s->lock);
}

static int load_plan(struct dl_plan **out, const char *path)
{
    struct dl_buf b = DL_BUF_INIT(64u << 20);
    struct dl_err err;
    char chunk[8192];
    size_t n;
    FILE *f = fopen(path, "rb");
    int rc;

    if (!f) {
        fprintf(stderr, "ctl_server: cannot open \"%s\"\n", path);
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (dl_buf_put(&b, chunk, n) != 0)
            break;
    fclose(f);
    rc = dl_plan_from_json(out, dl_buf_cstr(&b), b.len, &err);
    if (rc)
        fprintf(stderr, "ctl_server: %s: %s\n", path, err.msg);
    dl_buf_dispose(&b);
    return rc;
}

int main(int argc, char **argv)
{
    const char *plan_path = NULL, *secret_path = NULL, *listen = "127.0.0.1:0";
    struct server s = {0};
    struct dl_httpd_config cfg = {0};
    struct dl_httpd *h = NULL;
    struct dl_err err;
    char *secret = NULL;
    size_t secret_len = 0;
    sigset_t set;
    int sig = 0, rc = 1;
    struct dl_status_readiness readiness;
    struct dl_status_pass pass = {0};

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--plan") == 0)
            plan_path = argv[i + 1];
        else if (strcmp(argv[i], "--secret-file") == 0)
            secret_path = argv[i + 1];
        else if (strcmp(argv[i], "--listen") == 0)
            listen = argv[i + 1];
    }
    if (!plan_path || !secret_path) {
        fprintf(stderr, "usage: ctl_server --plan FILE --secret-file FILE "
                        "[--listen ADDR]\n");
        return 2;
    }
    dl_log_init(DL_LOG_INFO, DL_LOG_JSON, stderr);

    /* Block the signals before any thread starts, so that every thread
       inherits the mask and only sigwait below sees them. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    pthread_mutex_init(&s.lock, NULL);
    dl_metrics_controller_init(&s.cm);
    if (dl_metrics_register(&s.triggers, s.cm.registry, DL_METRIC_COUNTER,
                            "test_webhook_triggers_total",
                            "Verified push webhooks seen by the test server",
                            NULL, 0, NULL, 0, &err) != 0)
        goto done;
    (void)dl_metrics_counter_add(s.triggers, NULL, 0);
    s.status = dl_status_new(0, 0);
    if (load_plan(&s.plan, plan_path) != 0)
        goto done;
    if (dl_webhook_secret_load(&secret, &secret_len, secret_path, &err) != 0) {
        fprintf(stderr, "ctl_server: %s\n", err.msg);
        goto done;
    }
    dl_status_set_info(s.status, s.plan->source.url, s.plan->source.ref, 0, 1,
                       "report", "test");
    /* One failed pass before any success: the page shows both kinds. */
    pass.started_at = dl_time_now_ns() - 60 * DL_NS_PER_SEC;
    pass.duration_ns = 250 * DL_NS_PER_MS;
    pass.result = DL_PASS_ERROR;
    snprintf(pass.message, sizeof(pass.message),
             "git fetch failed: connection refused; kept the last good "
             "commit");
    dl_status_record_pass(s.status, &pass);
    dl_metrics_controller_record_pass(&s.cm, "error", pass.duration_ns,
                                      pass.started_at + pass.duration_ns);
    dl_metrics_controller_count_request(&s.cm, "run.googleapis.com", 200);
    dl_metrics_controller_count_request(&s.cm, "run.googleapis.com", 429);
    dl_metrics_controller_count_request(&s.cm, "firestore.googleapis.com", 0);
    dl_metrics_controller_count_changes(&s.cm, "CloudRunService", "update", 2);
    dl_metrics_controller_set_documents(&s.cm, "acme-data", "heartbeats",
                                        106349);
    dl_status_update_plan(s.status, s.plan, dl_time_now_ns());
    dl_metrics_controller_set_plan(&s.cm, s.plan);

    cfg.listen = listen;
    cfg.metrics = s.cm.registry;
    cfg.status = s.status;
    readiness.status = s.status;
    readiness.max_age_ns = 0;
    cfg.ready = dl_status_readyz;
    cfg.ready_ctx = &readiness;
    cfg.webhook_secret = secret;
    cfg.webhook_secret_len = secret_len;
    cfg.trigger = trigger;
    cfg.trigger_ctx = &s;
    if (dl_httpd_start(&h, &cfg, &err) != 0) {
        fprintf(stderr, "ctl_server: %s\n", err.msg);
        goto done;
    }
    printf("listening on 127.0.0.1:%u\n", dl_httpd_port(h));
    fflush(stdout);

    if (sigwait(&set, &sig) != 0)
        goto done;
    dl_log(DL_LOG_INFO, "signal %d: stopping", sig);
    dl_httpd_stop(h, 5 * DL_NS_PER_SEC);
    rc = 0;
done:
    dl_httpd_free(h);
    dl_webhook_secret_free(secret, secret_len);
    dl_plan_free(s.plan);
    dl_status_free(s.status);
    dl_metrics_controller_dispose(&s.cm);
    pthread_mutex_destroy(&s.lock);
    return rc;
}
