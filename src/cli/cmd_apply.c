/*
 * cmd_apply.c - `driftless apply`: correct drift, safely.
 *
 * Without --plan: plan (as `driftless plan`), print it, ask for "yes" on a
 * terminal (or take --auto-approve), apply. With --plan FILE: refuse a plan
 * that is too old or was made from a dirty tree, read the desired state at
 * the plan's own commit, plan again and refuse the whole plan if any
 * resource it changes moved (etag/generation), else apply exactly it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply/apply.h"
#include "apply/confirm.h"
#include "apply/lease.h"
#include "apply/saved.h"
#include "cli/cli.h"
#include "cli/load.h"
#include "gcp/gcp.h"
#include "plan/plan.h"
#include "plan/plan_json.h"
#include "provider/provider.h"
#include "render/render.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/time.h"

#define DEFAULT_PARALLELISM 16
#define MAX_PARALLELISM 256

static int run(int argc, char **argv);

const struct dl_cmd dl_cmd_apply = {
    .name = "apply",
    .summary = "correct drift: apply a plan (or plan and apply)",
    .usage =
        "Usage: driftless apply [--plan FILE] [--auto-approve] "
        "[--parallelism N]\n"
        "                       [--max-deletes N] [--only KIND/NAME]... "
        "[--report FILE]\n"
        "                       [--lock-timeout DUR] [--plan-max-age DUR]\n"
        "                       [source options]\n"
        "\n"
        "Change the live project to match the desired state: IAM first, "
        "then builds,\nthen services, then hygiene deletions; independent "
        "work runs concurrently.\nOnly resources in enforce mode change; "
        "report-mode drift is listed.\nWithout --plan the plan is made now, "
        "printed, and applied after you answer\n'yes' on a terminal. With "
        "--plan FILE (from `driftless plan --out FILE`) that\nplan is "
        "applied at its own commit, and refused as a whole if anything it\n"
        "changes moved since (etag or generation). A Project's "
        "suspend: true, or\nDRIFTLESS_SUSPEND=1, changes nothing. Each "
        "project's Firestore lease\n(driftless_leases/PROJECT) is taken "
        "first, so only one applier runs at a time.\n"
        "\n" DL_CLI_SOURCE_HELP "\n"
        "Options:\n"
        "  --plan FILE         apply this saved plan (JSON); --ref and --path "
        "default\n"
        "                      to the plan's commit and path (default: "
        "plan now)\n"
        "  --auto-approve      apply without asking (needed without a "
        "terminal)\n"
        "  --parallelism N     requests in flight per API (default: 16)\n"
        "  --max-deletes N     delete at most N objects in this run, over "
        "all\n"
        "                      resources (default: no limit beyond each "
        "resource's cap)\n"
        "  --only KIND/NAME    apply only this resource; repeatable (also\n"
        "                      PROJECT/KIND/NAME)\n"
        "  --report FILE       also write the report as JSON (default: "
        "none)\n"
        "  --lock-timeout DUR  wait this long for another applier's lease "
        "(default:\n"
        "                      0, fail at once)\n"
        "  --plan-max-age DUR  refuse a saved plan older than this "
        "(default: 24h)\n"
        "  -h, --help          show this help\n"
        "\n"
        "Exit codes: 0 everything applied (or nothing to do), 1 error or "
        "any\nresource failed (or the plan was refused), 130 interrupted "
        "(SIGINT/SIGTERM:\nwork in flight is finished, nothing new is "
        "started).\n",
    .run = run,
};

enum {
    OPT_PLAN = DL_OPT_CMD_BASE,
    OPT_AUTO_APPROVE,
    OPT_PARALLELISM,
    OPT_MAX_DELETES,
    OPT_ONLY,
    OPT_REPORT,
    OPT_LOCK_TIMEOUT,
    OPT_PLAN_MAX_AGE,
};

static volatile sig_atomic_t cancel_flag;

static void on_signal(int sig)
{
    (void)sig;
    cancel_flag = 1;
}

static void install_handlers(struct sigaction *old_int,
                             struct sigaction *old_term)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, old_int);
    sigaction(SIGTERM, &sa, old_term);
}

static int read_file(char **out, size_t *len, const char *path,
                     struct dl_err *err)
{
    struct dl_buf b = DL_BUF_INIT(DL_PLAN_JSON_MAX);
    FILE *f = fopen(path, "rb");
    char chunk[65536];
    size_t n;
    int rc = 0;

    if (!f)
        return dl_err_set(err, errno == ENOENT ? DL_ENOTFOUND : DL_ERROR,
                          "cannot read '%s': %s", path, strerror(errno));
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (dl_buf_put(&b, chunk, n) < 0) {
            rc = dl_err_set(err, DL_ELIMIT, "'%s' is larger than %zu bytes",
                            path, (size_t)DL_PLAN_JSON_MAX);
            break;
        }
    }
    if (rc == 0 && ferror(f))
        rc = dl_err_set(err, DL_ERROR, "cannot read '%s'", path);
    fclose(f);
    *len = b.len;
    *out = rc == 0 ? dl_buf_take(&b) : NULL;
    if (rc == 0 && !*out)
        *out = dl_strdup("");
    dl_buf_dispose(&b);
    return rc;
}

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        DL_CLI_SOURCE_LONGOPTS,
        {"plan", required_argument, NULL, OPT_PLAN},
        {"auto-approve", no_argument, NULL, OPT_AUTO_APPROVE},
        {"parallelism", required_argument, NULL, OPT_PARALLELISM},
        {"max-deletes", required_argument, NULL, OPT_MAX_DELETES},
        {"only", required_argument, NULL, OPT_ONLY},
        {"report", required_argument, NULL, OPT_REPORT},
        {"lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT},
        {"plan-max-age", required_argument, NULL, OPT_PLAN_MAX_AGE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct dl_source_opts sopts = {0};
    struct dl_pass pass = {0};
    struct dl_source *src = NULL;
    struct dl_model *model = NULL;
    struct dl_gcp_client *gcp = NULL;
    struct dl_gcp_client_opts gopts = {0};
    struct dl_plan *saved = NULL;
    struct dl_apply_opts aopts = {0};
    struct dl_apply_report report = {0};
    struct dl_lease_opts lopts = {0};
    struct dl_render_opts ropts = {0};
    struct dl_buf out = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_buf why = DL_BUF_INIT(DL_BUF_NOCAP);
    struct sigaction old_int, old_term;
    struct dl_err err;
    const char *plan_path = NULL, *report_path = NULL;
    const char **only = NULL;
    char *text = NULL;
    size_t n_only = 0, text_len = 0;
    int64_t parallelism = DEFAULT_PARALLELISM, max_deletes = -1;
    int64_t lock_timeout = 0, max_age = DL_APPLY_DEFAULT_PLAN_MAX_AGE_NS;
    int auto_approve = 0, c, exit_code = DL_EXIT_ERROR, have_report = 0;
    int suspend = getenv("DRIFTLESS_SUSPEND") &&
                  strcmp(getenv("DRIFTLESS_SUSPEND"), "1") == 0;

    dl_err_clear(&err);
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (dl_cli_source_opt(&sopts, c, optarg))
            continue;
        switch (c) {
        case 'h':
            dl_cli_usage(&dl_cmd_apply, stdout);
            free(only);
            return DL_EXIT_OK;
        case OPT_PLAN:
            plan_path = optarg;
            break;
        case OPT_AUTO_APPROVE:
            auto_approve = 1;
            break;
        case OPT_PARALLELISM:
            if (dl_cli_parse_int64(&parallelism, optarg, 1, MAX_PARALLELISM) <
                0) {
                free(only);
                return dl_cli_usage_error(&dl_cmd_apply,
                                          "invalid --parallelism '%s' (want "
                                          "1 to %d)",
                                          optarg, MAX_PARALLELISM);
            }
            break;
        case OPT_MAX_DELETES:
            if (dl_cli_parse_int64(&max_deletes, optarg, 0, INT64_MAX / 2) <
                0) {
                free(only);
                return dl_cli_usage_error(&dl_cmd_apply,
                                          "invalid --max-deletes '%s' (want "
                                          "a count >= 0)",
                                          optarg);
            }
            break;
        case OPT_ONLY:
            if (!strchr(optarg, '/')) {
                free(only);
                return dl_cli_usage_error(&dl_cmd_apply,
                                          "invalid --only '%s' (want "
                                          "KIND/NAME, such as "
                                          "CloudRunService/api)",
                                          optarg);
            }
            only = dl_reallocarray(only, n_only + 1, sizeof(*only));
            only[n_only++] = optarg;
            break;
        case OPT_REPORT:
            report_path = optarg;
            break;
        case OPT_LOCK_TIMEOUT:
        case OPT_PLAN_MAX_AGE:
            if (dl_duration_parse(c == OPT_LOCK_TIMEOUT ? &lock_timeout
                                                        : &max_age,
                                  optarg, &err) < 0) {
                free(only);
                return dl_cli_usage_error(
                    &dl_cmd_apply, "invalid %s '%s': %s",
                    c == OPT_LOCK_TIMEOUT ? "--lock-timeout" : "--plan-max-age",
                    optarg, err.msg);
            }
            break;
        default:
            free(only);
            return dl_cli_bad_option(&dl_cmd_apply, c, argv);
        }
    }
    if (optind < argc) {
        free(only);
        return dl_cli_usage_error(&dl_cmd_apply, "unexpected argument '%s'",
                                  argv[optind]);
    }
    cancel_flag = 0;
    install_handlers(&old_int, &old_term);

    if (plan_path) {
        /* Refuse early what can be refused offline. */
        if (read_file(&text, &text_len, plan_path, &err) < 0 ||
            dl_plan_from_json(&saved, text, text_len, &err) < 0) {
            fprintf(stderr, "driftless apply: %s\n", err.msg);
            goto done;
        }
        if (dl_apply_check_saved(saved, dl_time_now_ns(), max_age, &err) < 0) {
            fprintf(stderr,
                    "driftless apply: refusing plan '%s': %s\nNothing was "
                    "applied.\n",
                    plan_path, err.msg);
            goto done;
        }
        if (sopts.ref && strcmp(sopts.ref, saved->source.commit) != 0)
            fprintf(stderr,
                    "driftless apply: --ref '%s' ignored: a saved plan is "
                    "applied at its own commit %s\n",
                    sopts.ref, saved->source.commit);
        sopts.ref = saved->source.commit;
        if (!sopts.path && saved->source.path[0])
            sopts.path = saved->source.path;
    }
    if (dl_cli_load(&src, &model, &sopts, "apply") < 0)
        goto done;
    gopts.ca_bundle = dl_cli_globals.ca_bundle;
    gopts.max_inflight = (int)parallelism;
    if (dl_gcp_client_new(&gcp, &gopts, &err) < 0) {
        fprintf(stderr, "driftless apply: %s\n", err.msg);
        goto done;
    }
    pass.model = model;
    pass.source = src->id.commit[0] ? src : NULL;
    pass.gcp = gcp;
    pass.opts.only = only;
    pass.opts.n_only = n_only;
    /* Hygiene apply deletes from this pass's listings while fresh. */
    pass.opts.keep_observations = 1;
    pass.plan = dl_plan_new();
    dl_plan_set_source(pass.plan, src->id.url, src->id.ref, src->id.commit,
                       src->id.path, src->id.dirty);
    if (dl_pass_run(&pass, &err) < 0) {
        fprintf(stderr, "driftless apply: %s\n", err.msg);
        goto done;
    }
    if (cancel_flag) {
        fprintf(stderr, "driftless apply: interrupted before anything was "
                        "applied\n");
        exit_code = 130;
        goto done;
    }

    if (saved) {
        char at[40];

        if (dl_apply_compare_plans(saved, pass.plan, &why, &err) < 0) {
            fprintf(stderr, "driftless apply: refusing plan '%s': %s\n%s",
                    plan_path, err.msg, dl_buf_cstr(&why));
            goto done;
        }
        dl_time_format_rfc3339(at, sizeof(at), saved->created_at);
        printf("Applying the saved plan '%s' (made %s at commit %s).\n",
               plan_path, at, saved->source.commit);
    } else {
        ropts.color = isatty(STDOUT_FILENO) &&
                      !(getenv("NO_COLOR") && *getenv("NO_COLOR"));
        if (dl_render("text", pass.plan, &ropts, &out, &err) < 0) {
            fprintf(stderr, "driftless apply: %s\n", err.msg);
            goto done;
        }
        fwrite(out.ptr ? out.ptr : "", 1, out.len, stdout);
        fflush(stdout);
        if (dl_plan_has_errors(pass.plan)) {
            fprintf(stderr, "driftless apply: the plan has resources in "
                            "error; nothing was applied\n");
            goto done;
        }
        if (!dl_plan_has_changes(pass.plan)) {
            printf("No changes. Nothing to apply.\n");
            exit_code = DL_EXIT_OK;
            goto done;
        }
        if (suspend) {
            printf("DRIFTLESS_SUSPEND=1: nothing will be changed.\n");
        } else if (!auto_approve) {
            int rc =
                dl_apply_confirm(stdin, isatty(STDIN_FILENO), stdout, &err);

            if (rc < 0) {
                fprintf(stderr, "driftless apply: %s\n", err.msg);
                exit_code = cancel_flag ? 130 : DL_EXIT_ERROR;
                goto done;
            }
        }
    }

    aopts.only = only;
    aopts.n_only = n_only;
    aopts.max_deletes = max_deletes;
    aopts.suspend = suspend;
    aopts.cancel = &cancel_flag;
    aopts.saved_plan = saved != NULL;
    lopts.timeout_ns = lock_timeout;
    lopts.renew_client = &gopts; /* renewed during long phases too */
    aopts.lease = &lopts;
    aopts.progress_tty = isatty(STDERR_FILENO);
    aopts.progress_out = stderr;
    aopts.observed = &pass;
    if (dl_apply_run(&report, saved ? saved : pass.plan, model, src, gcp,
                     &aopts, &err) < 0)
        fprintf(stderr, "driftless apply: %s\n", err.msg);
    have_report = 1;
    dl_buf_reset(&out);
    if (dl_apply_report_text(&report, &out) == 0)
        fwrite(out.ptr ? out.ptr : "", 1, out.len, stdout);
    fflush(stdout);
    exit_code = dl_apply_exit_code(&report);
    if (report_path) {
        struct dl_buf j = DL_BUF_INIT(DL_BUF_NOCAP);

        if (dl_apply_report_json(&report, &j, &err) < 0 ||
            dl_cli_write_file(report_path, dl_buf_cstr(&j), j.len, &err) < 0) {
            fprintf(stderr, "driftless apply: %s\n", err.msg);
            if (exit_code == DL_EXIT_OK)
                exit_code = DL_EXIT_ERROR;
        }
        dl_buf_dispose(&j);
    }
done:
    if (have_report)
        dl_apply_report_dispose(&report);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    dl_buf_dispose(&why);
    dl_buf_dispose(&out);
    dl_pass_release_kept(&pass);
    dl_plan_free(pass.plan);
    dl_plan_free(saved);
    dl_gcp_client_free(gcp);
    dl_model_free(model);
    dl_source_free(src);
    free(text);
    free(only);
    return exit_code;
}
