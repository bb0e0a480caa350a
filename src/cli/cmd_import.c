/*
 * cmd_import.c - `driftless import`: write desired-state YAML for what is
 * live in a project (import/import.h does the work).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "gcp/gcp.h"
#include "import/import.h"
#include "model/check.h"
#include "util/alloc.h"

static int run(int argc, char **argv);

const struct dl_cmd dl_cmd_import = {
    .name = "import",
    .summary = "write desired state for what is live in a project",
    .usage =
        "Usage: driftless import --project ID --region R [--region R]...\n"
        "                        [--out DIR] [--force]\n"
        "\n"
        "Observe a live project (its Cloud Run services in each region and "
        "its IAM\npolicy) and write desired-state YAML that plans as in "
        "sync: project.yaml\n(a Project in report mode), services/NAME.yaml "
        "(one CloudRunService each,\nimage pinned as it runs) and iam.yaml "
        "(an IAMPolicyBinding per role). What\ncannot be declared is left "
        "out with a warning on stderr. Secret values are\nnever read (env "
        "secrets stay {secret, version} references); plain env\nvalues are "
        "live configuration and are written as they are.\n"
        "\n"
        "Options:\n"
        "  --project ID        the project to import (required)\n"
        "  --region R          a Cloud Run region to import services from; "
        "repeatable;\n"
        "                      the first is the Project's region "
        "(required: Cloud\n"
        "                      Run lists services one region at a time)\n"
        "  --out DIR           where to write (default: "
        "desired-state/ID)\n"
        "  --force             overwrite files that exist (default: refuse "
        "and write\n"
        "                      nothing)\n"
        "  -h, --help          show this help\n"
        "\n"
        "Exit codes: 0 written, 1 error (nothing written).\n",
    .run = run,
};

enum {
    OPT_PROJECT = DL_OPT_CMD_BASE,
    OPT_REGION,
    OPT_OUT,
    OPT_FORCE,
};

/* A Cloud Run region as the Project's region field takes it. */
static int region_ok(const char *r)
{
    if (!*r || strlen(r) > 63)
        return 0;
    for (const char *p = r; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-'))
            return 0;
    return 1;
}

/* mkdir -p dir/sub for the directory part of path (dir/sub/file). */
static int make_parents(const char *path, struct dl_err *err)
{
    char *p = dl_strdup(path);
    int rc = 0;

    for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        if (mkdir(p, 0777) < 0 && errno != EEXIST) {
            rc = dl_err_set(err, DL_ERROR, "cannot create directory '%s': %s",
                            p, strerror(errno));
            break;
        }
        *s = '/';
    }
    free(p);
    return rc;
}

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"project", required_argument, NULL, OPT_PROJECT},
        {"region", required_argument, NULL, OPT_REGION},
        {"out", required_argument, NULL, OPT_OUT},
        {"force", no_argument, NULL, OPT_FORCE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct dl_import_live live = {0};
    struct dl_import_result *res = NULL;
    struct dl_gcp_client *gcp = NULL;
    struct dl_gcp_client_opts gopts = {0};
    struct dl_err err;
    const char **regions = NULL, *out_dir = NULL, *why;
    char *dflt_out = NULL, **paths = NULL;
    size_t n_regions = 0;
    int force = 0, c, exit_code = DL_EXIT_ERROR;

    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            dl_cli_usage(&dl_cmd_import, stdout);
            free(regions);
            return DL_EXIT_OK;
        case OPT_PROJECT:
            live.project = optarg;
            break;
        case OPT_REGION:
            if (!region_ok(optarg)) {
                free(regions);
                return dl_cli_usage_error(&dl_cmd_import,
                                          "invalid --region '%s' (want a "
                                          "Cloud Run region, such as "
                                          "us-west2)",
                                          optarg);
            }
            regions = dl_reallocarray(regions, n_regions + 1, sizeof(*regions));
            regions[n_regions++] = optarg;
            break;
        case OPT_OUT:
            out_dir = optarg;
            break;
        case OPT_FORCE:
            force = 1;
            break;
        default:
            free(regions);
            return dl_cli_bad_option(&dl_cmd_import, c, argv);
        }
    }
    if (optind < argc) {
        free(regions);
        return dl_cli_usage_error(&dl_cmd_import, "unexpected argument '%s'",
                                  argv[optind]);
    }
    if (!live.project) {
        free(regions);
        return dl_cli_usage_error(&dl_cmd_import, "--project is required");
    }
    if ((why = dl_check_project_id(live.project)) != NULL) {
        free(regions);
        return dl_cli_usage_error(&dl_cmd_import, "invalid --project '%s': %s",
                                  live.project, why);
    }
    if (n_regions == 0) {
        free(regions);
        return dl_cli_usage_error(&dl_cmd_import,
                                  "--region is required (Cloud Run lists "
                                  "services one region at a time)");
    }
    live.regions = regions;
    live.n_regions = n_regions;
    if (!out_dir)
        out_dir = dflt_out = dl_asprintf("desired-state/%s", live.project);

    gopts.ca_bundle = dl_cli_globals.ca_bundle;
    if (dl_gcp_client_new(&gcp, &gopts, &err) < 0 ||
        dl_import_observe(&live, gcp, &err) < 0 ||
        dl_import_render(&res, &live, &err) < 0) {
        fprintf(stderr, "driftless import: %s\n", err.msg);
        goto done;
    }
    for (size_t i = 0; i < res->n_warnings; i++)
        fprintf(stderr, "driftless import: warning: %s\n", res->warnings[i]);

    /* Refuse before writing anything, so a refusal leaves no half
     * import. */
    paths = dl_calloc(res->n_files + 1, sizeof(*paths));
    for (size_t i = 0; i < res->n_files; i++) {
        struct stat sb;

        paths[i] = dl_asprintf("%s/%s", out_dir, res->files[i].path);
        if (!force && stat(paths[i], &sb) == 0) {
            fprintf(stderr,
                    "driftless import: '%s' exists; nothing was written "
                    "(use --force to overwrite)\n",
                    paths[i]);
            goto done;
        }
    }
    for (size_t i = 0; i < res->n_files; i++) {
        const char *text = res->files[i].text;

        if (make_parents(paths[i], &err) < 0 ||
            dl_cli_write_file(paths[i], text, strlen(text), &err) < 0) {
            fprintf(stderr, "driftless import: %s\n", err.msg);
            goto done;
        }
        printf("wrote %s\n", paths[i]);
    }
    printf("Imported project '%s': %zu %s, %zu IAM %s, %zu IAM %s (mode: "
           "report).\n",
           live.project, res->n_services,
           res->n_services == 1 ? "service" : "services", res->n_bindings,
           res->n_bindings == 1 ? "binding" : "bindings", res->n_members,
           res->n_members == 1 ? "member" : "members");
    exit_code = DL_EXIT_OK;
done:
    for (size_t i = 0; paths && i < res->n_files; i++)
        free(paths[i]);
    free(paths);
    dl_import_result_free(res);
    dl_import_live_dispose(&live);
    dl_gcp_client_free(gcp);
    free(dflt_out);
    free(regions);
    return exit_code;
}
