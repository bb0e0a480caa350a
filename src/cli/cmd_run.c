/*
 * cmd_run.c - `driftless run`: the controller. Plans and corrects drift
 * every interval (or at once on a webhook), serves health, metrics and
 * status over HTTP. The loop is controller/loop.c; this file parses the
 * flags, starts the HTTP server and the signal thread, and shuts down.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "controller/httpd.h"
#include "controller/loop.h"
#include "controller/webhook.h"
#include "driftless/version.h"
#include "util/log.h"
#include "util/time.h"

static int run(int argc, char **argv);

const struct dl_cmd dl_cmd_run = {
    .name = "run",
    .summary = "the controller: plan and correct drift continuously",
    .usage =
        "Usage: driftless run [--interval DUR] [--jitter PCT] [--listen "
        "ADDR]\n"
        "                     [--webhook-secret-file FILE] [--shard-index I "
        "--shard-count N]\n"
        "                     [--once] [--poll-interval DUR] "
        "[--lease-duration DUR]\n"
        "                     [--parallelism N] [source options]\n"
        "\n"
        "Every interval: read the desired state (fetching a URL; on failure "
        "the last\ngood commit is kept), plan this shard's projects, and "
        "apply their enforce\ndrift in the projects whose lease "
        "(driftless_leases/PROJECT) this replica\nholds; the others are "
        "planned and reported only. A Project's suspend: true\nor "
        "DRIFTLESS_SUSPEND=1 changes nothing. Serves /healthz, /readyz, "
        "/metrics,\n/api/v1/status, / and POST /hooks/git.\n"
        "\n" DL_CLI_SOURCE_HELP "\n"
        "Options:\n"
        "  --interval DUR      time between passes (default: 3m)\n"
        "  --jitter PCT        spread each interval by up to this much "
        "(default: 10%)\n"
        "  --listen ADDR       HTTP address, host:port or :port; port 0 picks "
        "one\n"
        "                      (default: 127.0.0.1:9090; with --once: no "
        "server\n"
        "                      unless given)\n"
        "  --webhook-secret-file FILE\n"
        "                      GitHub webhook secret; without it POST "
        "/hooks/git is 403\n"
        "  --shard-index I     this replica's shard (default: "
        "$CLOUD_RUN_TASK_INDEX, else 0)\n"
        "  --shard-count N     number of shards (default: "
        "$CLOUD_RUN_TASK_COUNT, else 1)\n"
        "  --poll-interval DUR between passes, look for a new commit this "
        "often and\n"
        "                      start a pass at once when there is one "
        "(default: 1m;\n"
        "                      0: only at each pass)\n"
        "  --once              one pass, then exit\n"
        "  --lease-duration DUR\n"
        "                      time to live of a project's lease, renewed "
        "every pass\n"
        "                      (default: 5m; keep it above the interval)\n"
        "  --parallelism N     requests in flight per API (default: 16)\n"
        "  -h, --help          show this help\n"
        "\n"
        "Exit codes: 0 stopped by SIGTERM/SIGINT (the pass in flight "
        "finishes its\nrequests, leases are released), or --once succeeded; "
        "1 error, or --once\nfailed.\n",
    .run = run,
};

enum {
    OPT_INTERVAL = DL_OPT_CMD_BASE,
    OPT_JITTER,
    OPT_LISTEN,
    OPT_SECRET,
    OPT_SHARD_INDEX,
    OPT_SHARD_COUNT,
    OPT_ONCE,
    OPT_LEASE,
    OPT_POLL,
    OPT_PARALLELISM,
};

struct sigctx {
    sigset_t set;
    struct dl_loop *loop;
    volatile sig_atomic_t exiting;
};

static void *signal_thread(void *arg)
{
    struct sigctx *sc = arg;
    int sig = 0;

    /* Every later signal is taken here too (nothing stays pending). */
    while (sigwait(&sc->set, &sig) == 0 && !sc->exiting) {
        dl_log(DL_LOG_NOTICE, "%s: stopping (the pass in flight finishes)",
               sig == SIGINT ? "SIGINT" : "SIGTERM");
        dl_loop_stop(sc->loop);
    }
    return NULL;
}

static void on_push(void *ctx, const struct dl_webhook_push *push)
{
    dl_info("webhook: push to %s (%s): starting a pass",
            push->ref ? push->ref : "?", push->after ? push->after : "?");
    dl_loop_trigger(ctx);
}

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        DL_CLI_SOURCE_LONGOPTS,
        {"interval", required_argument, NULL, OPT_INTERVAL},
        {"jitter", required_argument, NULL, OPT_JITTER},
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"webhook-secret-file", required_argument, NULL, OPT_SECRET},
        {"shard-index", required_argument, NULL, OPT_SHARD_INDEX},
        {"shard-count", required_argument, NULL, OPT_SHARD_COUNT},
        {"once", no_argument, NULL, OPT_ONCE},
        {"lease-duration", required_argument, NULL, OPT_LEASE},
        {"poll-interval", required_argument, NULL, OPT_POLL},
        {"parallelism", required_argument, NULL, OPT_PARALLELISM},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct dl_loop_config cfg = {0};
    struct dl_loop loop;
    struct dl_httpd_config hc = {0};
    struct dl_httpd *httpd = NULL;
    struct dl_status_readiness readiness = {0};
    struct sigctx sc;
    struct dl_err err;
    pthread_t sigthr;
    const char *listen = NULL, *secret_file = NULL;
    const char *shard_index = NULL, *shard_count = NULL;
    const char *suspend_env = getenv("DRIFTLESS_SUSPEND");
    char *secret = NULL;
    size_t secret_len = 0;
    int64_t parallelism = 16;
    int once = 0, c, exit_code = DL_EXIT_ERROR, have_thread = 0;
    enum dl_pass_result result;

    cfg.interval_ns = 3 * 60 * DL_NS_PER_SEC;
    cfg.jitter = 0.1;
    cfg.lease_ttl_ns = DL_LEASE_DEFAULT_TTL_NS;
    cfg.poll_ns = 60 * DL_NS_PER_SEC;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (dl_cli_source_opt(&cfg.source, c, optarg))
            continue;
        switch (c) {
        case 'h':
            dl_cli_usage(&dl_cmd_run, stdout);
            return DL_EXIT_OK;
        case OPT_INTERVAL:
        case OPT_LEASE: {
            int64_t *dst =
                c == OPT_INTERVAL ? &cfg.interval_ns : &cfg.lease_ttl_ns;

            if (dl_duration_parse(dst, optarg, &err) < 0 || *dst <= 0)
                return dl_cli_usage_error(
                    &dl_cmd_run, "invalid %s '%s'%s%s",
                    c == OPT_INTERVAL ? "--interval" : "--lease-duration",
                    optarg, *dst <= 0 ? " (want a positive duration)" : ": ",
                    *dst <= 0 ? "" : err.msg);
            break;
        }
        case OPT_POLL:
            if (dl_duration_parse(&cfg.poll_ns, optarg, &err) < 0)
                return dl_cli_usage_error(&dl_cmd_run,
                                          "invalid --poll-interval '%s': %s",
                                          optarg, err.msg);
            break;
        case OPT_JITTER:
            if (dl_schedule_jitter_parse(&cfg.jitter, optarg, &err) < 0)
                return dl_cli_usage_error(&dl_cmd_run, "%s", err.msg);
            break;
        case OPT_LISTEN:
            listen = optarg;
            break;
        case OPT_SECRET:
            secret_file = optarg;
            break;
        case OPT_SHARD_INDEX:
            shard_index = optarg;
            break;
        case OPT_SHARD_COUNT:
            shard_count = optarg;
            break;
        case OPT_ONCE:
            once = 1;
            break;
        case OPT_PARALLELISM:
            if (dl_cli_parse_int64(&parallelism, optarg, 1, 256) < 0)
                return dl_cli_usage_error(&dl_cmd_run,
                                          "invalid --parallelism '%s' (want "
                                          "1 to 256)",
                                          optarg);
            break;
        default:
            return dl_cli_bad_option(&dl_cmd_run, c, argv);
        }
    }
    if (optind < argc)
        return dl_cli_usage_error(&dl_cmd_run, "unexpected argument '%s'",
                                  argv[optind]);
    if (dl_schedule_shard_resolve(&cfg.shard, shard_index, shard_count, &err) <
        0)
        return dl_cli_usage_error(&dl_cmd_run, "%s", err.msg);
    if (!once && cfg.lease_ttl_ns <= cfg.interval_ns)
        dl_warn("--lease-duration is not above --interval: leases will "
                "expire between passes");
    cfg.parallelism = (int)parallelism;
    cfg.ca_bundle = dl_cli_globals.ca_bundle;
    cfg.suspend = suspend_env && strcmp(suspend_env, "1") == 0;
    if (secret_file &&
        dl_webhook_secret_load(&secret, &secret_len, secret_file, &err) < 0) {
        fprintf(stderr, "driftless run: %s\n", err.msg);
        return DL_EXIT_ERROR;
    }

    /* Block the signals before any thread starts: the signal thread
       takes them with sigwait. */
    memset(&sc, 0, sizeof(sc));
    sigemptyset(&sc.set);
    sigaddset(&sc.set, SIGTERM);
    sigaddset(&sc.set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sc.set, NULL);

    if (dl_loop_init(&loop, &cfg, &err) < 0) {
        fprintf(stderr, "driftless run: %s\n", err.msg);
        goto unblock;
    }
    dl_status_set_info(loop.status, cfg.source.source ? cfg.source.source : ".",
                       cfg.source.ref, cfg.shard.index, cfg.shard.count,
                       cfg.suspend ? "report (DRIFTLESS_SUSPEND=1)" : "enforce",
                       DL_VERSION);
    sc.loop = &loop;
    if (pthread_create(&sigthr, NULL, signal_thread, &sc) != 0) {
        fprintf(stderr, "driftless run: cannot start the signal thread\n");
        goto out;
    }
    have_thread = 1;

    if (!once || listen) {
        readiness.status = loop.status;
        readiness.max_age_ns = 3 * cfg.interval_ns + cfg.lease_ttl_ns;
        hc.listen = listen ? listen : "127.0.0.1:9090";
        hc.metrics = loop.metrics.registry;
        hc.status = loop.status;
        hc.ready = dl_status_readyz;
        hc.ready_ctx = &readiness;
        hc.webhook_secret = secret;
        hc.webhook_secret_len = secret_len;
        hc.trigger = on_push;
        hc.trigger_ctx = &loop;
        if (dl_httpd_start(&httpd, &hc, &err) < 0) {
            fprintf(stderr, "driftless run: --listen '%s': %s\n", hc.listen,
                    err.msg);
            goto out;
        }
        fprintf(stderr, "driftless run: listening on port %u\n",
                dl_httpd_port(httpd));
        dl_info("listening on %s (port %u), shard %u of %u, every %.1f s",
                hc.listen, dl_httpd_port(httpd), cfg.shard.index,
                cfg.shard.count, (double)cfg.interval_ns / 1e9);
    }

    if (once) {
        result = dl_loop_pass(&loop);
        exit_code = result == DL_PASS_SUCCESS ? DL_EXIT_OK : DL_EXIT_ERROR;
        if (loop.cancel)
            exit_code = DL_EXIT_OK;
    } else {
        dl_loop_run(&loop);
        exit_code = DL_EXIT_OK;
    }
    dl_loop_release_leases(&loop);

out:
    if (httpd) {
        dl_httpd_stop(httpd, 5 * DL_NS_PER_SEC);
        dl_httpd_free(httpd);
    }
    if (have_thread) {
        sc.exiting = 1;
        pthread_kill(sigthr, SIGTERM);
        pthread_join(sigthr, NULL);
    }
    dl_loop_dispose(&loop);
    if (exit_code == DL_EXIT_OK)
        dl_info("stopped");
unblock:
    dl_webhook_secret_free(secret, secret_len);
    return exit_code;
}
