/*
 * cmd_validate.c - `driftless validate`: load the desired state, report
 * every problem, exit 0 when valid and 1 when not.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/load.h"
#include "model/diag.h"
#include "model/model.h"
#include "source/source.h"
#include "util/buf.h"

static int run(int argc, char **argv);

const struct dl_cmd dl_cmd_validate = {
    .name = "validate",
    .summary = "check the desired state offline",
    .usage = "Usage: driftless validate [--source DIR] [--path SUBDIR] "
             "[--format text|json]\n"
             "\n"
             "Read every .yaml/.yml file under the desired-state path and "
             "check it:\nschema, types, references, and the Dockerfiles and "
             "git revisions it names.\nEvery problem is reported as "
             "file:line:col: message.\n"
             "\n" DL_CLI_SOURCE_HELP "\n"
             "Options:\n"
             "  --format FMT        text: diagnostics with the source line "
             "on stderr;\n"
             "                      json: a JSON array of {file, line, "
             "column, message}\n"
             "                      on stdout (default: text)\n"
             "  -h, --help          show this help\n"
             "\n"
             "A one-line summary always ends on stderr.\n"
             "Exit codes: 0 valid, 1 invalid or error (also when --path does "
             "not exist).\n",
    .run = run,
};

enum { OPT_FORMAT = DL_OPT_CMD_BASE };

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* " (commit 1a2b3c4, dirty)" or " (directory x)". */
static void source_note(const struct dl_source *src, char *out, size_t size)
{
    if (src->id.commit[0])
        snprintf(out, size, " (commit %.7s%s)", src->id.commit,
                 src->id.dirty ? ", dirty" : "");
    else
        snprintf(out, size, " (%s)", src->tree->label);
}

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        DL_CLI_SOURCE_LONGOPTS,
        {"format", required_argument, NULL, OPT_FORMAT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct dl_source_opts opts = {0};
    struct dl_source *src = NULL;
    struct dl_model *m = NULL;
    struct dl_diags diags;
    struct dl_err err;
    int json = 0, c, rc, exit_code = DL_EXIT_ERROR;
    char note[320];

    dl_diags_init(&diags);
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (dl_cli_source_opt(&opts, c, optarg))
            continue;
        switch (c) {
        case 'h':
            dl_cli_usage(&dl_cmd_validate, stdout);
            return DL_EXIT_OK;
        case OPT_FORMAT:
            if (strcmp(optarg, "json") == 0)
                json = 1;
            else if (strcmp(optarg, "text") == 0)
                json = 0;
            else
                return dl_cli_usage_error(&dl_cmd_validate,
                                          "invalid format '%s' (want text "
                                          "or json)",
                                          optarg);
            break;
        default:
            return dl_cli_bad_option(&dl_cmd_validate, c, argv);
        }
    }
    if (optind < argc)
        return dl_cli_usage_error(&dl_cmd_validate, "unexpected argument '%s'",
                                  argv[optind]);
    if (dl_source_open(&src, &opts, &err) < 0) {
        fprintf(stderr, "driftless validate: %s\n", err.msg);
        goto done;
    }
    rc = dl_model_load(&m, src->tree, src->id.path, &diags, &err);
    source_note(src, note, sizeof(note));
    if (rc == 0 && (rc = dl_cli_verify_signatures(src, m, &err)) < 0) {
        fprintf(stderr, "driftless validate: %s\n", err.msg);
        goto done;
    }
    if (rc == 0) {
        size_t n = m->n_resources - m->n_projects;

        if (json)
            fputs("[]\n", stdout);
        fprintf(stderr, "valid: %zu %s in %zu %s, %zu %s%s\n", n,
                plural(n, "resource", "resources"), m->n_files,
                plural(m->n_files, "file", "files"), m->n_projects,
                plural(m->n_projects, "project", "projects"), note);
        exit_code = DL_EXIT_OK;
    } else if (rc == DL_EINVALID && dl_diags_count(&diags) > 0) {
        size_t n = dl_diags_count(&diags), files = dl_diags_file_count(&diags);

        if (json) {
            struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);

            if (dl_diags_format_json(&diags, &b) == 0)
                fputs(dl_buf_cstr(&b), stdout);
            dl_buf_dispose(&b);
        } else {
            dl_diags_print_text(&diags, stderr);
        }
        fprintf(stderr, "invalid: %zu %s in %zu %s%s\n", n,
                plural(n, "error", "errors"), files,
                plural(files, "file", "files"), note);
    } else {
        fprintf(stderr, "driftless validate: %s\n", err.msg);
    }
done:
    dl_model_free(m);
    dl_source_free(src);
    dl_diags_dispose(&diags);
    return exit_code;
}
