/*
 * cmd_plan.c - `driftless plan`: read the desired state at a commit,
 * observe the live project, print the drift.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/load.h"
#include "gcp/gcp.h"
#include "plan/plan.h"
#include "plan/plan_json.h"
#include "provider/provider.h"
#include "render/render.h"
#include "util/alloc.h"
#include "util/buf.h"

static int run(int argc, char **argv);

const struct dl_cmd dl_cmd_plan = {
    .name = "plan",
    .summary = "show how the live project differs from the desired state",
    .usage =
        "Usage: driftless plan [--source PATH|URL] [--ref REV] [--path DIR]\n"
        "                      [--project ID] [--only KIND/NAME]...\n"
        "                      [--format text|markdown|json] [--out FILE]\n"
        "                      [--detailed-exitcode]\n"
        "\n"
        "Read the desired state, observe every declared resource through "
        "the Google\nAPIs (batched, concurrently), and print the plan: what "
        "apply would create,\nchange, delete, or only report.\n"
        "\n" DL_CLI_SOURCE_HELP "\n"
        "Options:\n"
        "  --project ID        plan only this project (default: all)\n"
        "  --only KIND/NAME    plan only this resource; repeatable (also\n"
        "                      PROJECT/KIND/NAME)\n"
        "  --format FMT        text, markdown (a pull-request comment) or "
        "json\n"
        "                      (default: text; colour only on a terminal "
        "without\n"
        "                      NO_COLOR)\n"
        "  --out FILE          also save the plan as JSON, for `driftless "
        "apply --plan`\n"
        "                      (default: none)\n"
        "  --detailed-exitcode exit 2 when the plan has changes\n"
        "  -h, --help          show this help\n"
        "\n"
        "Exit codes: 0 no changes (or changes without --detailed-exitcode), "
        "1 error\n(the plan is still printed when only some resources "
        "failed), 2 changes.\n",
    .run = run,
};

enum {
    OPT_PROJECT = DL_OPT_CMD_BASE,
    OPT_ONLY,
    OPT_FORMAT,
    OPT_OUT,
    OPT_DETAILED,
};

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        DL_CLI_SOURCE_LONGOPTS,
        {"project", required_argument, NULL, OPT_PROJECT},
        {"only", required_argument, NULL, OPT_ONLY},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"out", required_argument, NULL, OPT_OUT},
        {"detailed-exitcode", no_argument, NULL, OPT_DETAILED},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct dl_source_opts sopts = {0};
    struct dl_pass pass = {0};
    struct dl_source *src = NULL;
    struct dl_model *model = NULL;
    struct dl_gcp_client *gcp = NULL;
    struct dl_gcp_client_opts gopts = {0};
    struct dl_render_opts ropts = {0};
    struct dl_buf out = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_err err;
    const char *format = "text", *out_path = NULL;
    const char **only = NULL;
    size_t n_only = 0;
    int detailed = 0, c, exit_code = DL_EXIT_ERROR;

    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (dl_cli_source_opt(&sopts, c, optarg))
            continue;
        switch (c) {
        case 'h':
            dl_cli_usage(&dl_cmd_plan, stdout);
            free(only);
            return DL_EXIT_OK;
        case OPT_PROJECT:
            pass.opts.project = optarg;
            break;
        case OPT_ONLY:
            if (!strchr(optarg, '/')) {
                free(only);
                return dl_cli_usage_error(&dl_cmd_plan,
                                          "invalid --only '%s' (want "
                                          "KIND/NAME, such as "
                                          "CloudRunService/api)",
                                          optarg);
            }
            only = dl_reallocarray(only, n_only + 1, sizeof(*only));
            only[n_only++] = optarg;
            break;
        case OPT_FORMAT:
            if (!dl_renderer_find(optarg)) {
                free(only);
                return dl_cli_usage_error(&dl_cmd_plan,
                                          "invalid format '%s' (want text, "
                                          "markdown or json)",
                                          optarg);
            }
            format = optarg;
            break;
        case OPT_OUT:
            out_path = optarg;
            break;
        case OPT_DETAILED:
            detailed = 1;
            break;
        default:
            free(only);
            return dl_cli_bad_option(&dl_cmd_plan, c, argv);
        }
    }
    if (optind < argc) {
        free(only);
        return dl_cli_usage_error(&dl_cmd_plan, "unexpected argument '%s'",
                                  argv[optind]);
    }
    pass.opts.only = only;
    pass.opts.n_only = n_only;

    if (dl_cli_load(&src, &model, &sopts, "plan") < 0)
        goto done;
    gopts.ca_bundle = dl_cli_globals.ca_bundle;
    if (dl_gcp_client_new(&gcp, &gopts, &err) < 0) {
        fprintf(stderr, "driftless plan: %s\n", err.msg);
        goto done;
    }
    pass.model = model;
    pass.source = src->id.commit[0] ? src : NULL;
    pass.gcp = gcp;
    pass.plan = dl_plan_new();
    dl_plan_set_source(pass.plan, src->id.url, src->id.ref, src->id.commit,
                       src->id.path, src->id.dirty);
    if (dl_pass_run(&pass, &err) < 0) {
        fprintf(stderr, "driftless plan: %s\n", err.msg);
        goto done;
    }
    if (out_path) {
        struct dl_buf j = DL_BUF_INIT(DL_BUF_NOCAP);
        int rc = dl_plan_to_json(pass.plan, &j, &err);

        if (rc == 0)
            rc = dl_cli_write_file(out_path, dl_buf_cstr(&j), j.len, &err);
        dl_buf_dispose(&j);
        if (rc < 0) {
            fprintf(stderr, "driftless plan: %s\n", err.msg);
            goto done;
        }
    }
    ropts.color = strcmp(format, "text") == 0 && isatty(STDOUT_FILENO) &&
                  !(getenv("NO_COLOR") && *getenv("NO_COLOR"));
    if (dl_render(format, pass.plan, &ropts, &out, &err) < 0) {
        fprintf(stderr, "driftless plan: %s\n", err.msg);
        goto done;
    }
    fwrite(out.ptr ? out.ptr : "", 1, out.len, stdout);
    fflush(stdout);
    if (dl_plan_has_errors(pass.plan))
        exit_code = DL_EXIT_ERROR;
    else if (detailed && dl_plan_has_changes(pass.plan))
        exit_code = DL_EXIT_CHANGES;
    else
        exit_code = DL_EXIT_OK;
done:
    dl_buf_dispose(&out);
    dl_plan_free(pass.plan);
    dl_gcp_client_free(gcp);
    dl_model_free(model);
    dl_source_free(src);
    free(only);
    return exit_code;
}
