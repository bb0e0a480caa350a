/*
 * cmd_schema.c - `driftless schema`: print the JSON Schema of the
 * desired-state documents (for yaml-language-server and other editors).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "model/schema.h"
#include "util/alloc.h"
#include "util/buf.h"

static int run(int argc, char **argv);

const struct dl_cmd dl_cmd_schema = {
    .name = "schema",
    .summary = "print the JSON Schema of the desired state, for editors",
    .usage = "Usage: driftless schema [--out FILE]\n"
             "\n"
             "Print a JSON Schema (draft-07) of the desired-state documents: "
             "every kind,\nfield, type, enum and required key that "
             "'driftless validate' knows, with\ndescriptions. Point "
             "yaml-language-server (VS Code's YAML extension and\nothers) "
             "at it to get completion and checks while editing; see\n"
             "docs/desired-state.md, \"Editor support\".\n"
             "\n"
             "Options:\n"
             "  --out FILE          write the schema to FILE (replaced "
             "atomically)\n"
             "                      instead of stdout (default: stdout)\n"
             "  -h, --help          show this help\n"
             "\n"
             "Exit codes: 0 written, 1 error.\n",
    .run = run,
};

enum { OPT_OUT = DL_OPT_CMD_BASE };

static int run(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, OPT_OUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    const char *out = NULL;
    struct dl_err err;
    int c, exit_code = DL_EXIT_ERROR;

    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            dl_cli_usage(&dl_cmd_schema, stdout);
            return DL_EXIT_OK;
        case OPT_OUT:
            out = optarg;
            break;
        default:
            return dl_cli_bad_option(&dl_cmd_schema, c, argv);
        }
    }
    if (optind < argc)
        return dl_cli_usage_error(&dl_cmd_schema, "unexpected argument '%s'",
                                  argv[optind]);
    if (out && !*out)
        return dl_cli_usage_error(&dl_cmd_schema, "--out needs a file name");
    if (dl_model_schema_json(&b, &err) < 0) {
        fprintf(stderr, "driftless schema: %s\n", err.msg);
        goto done;
    }
    if (out && dl_cli_write_file(out, dl_buf_cstr(&b), b.len, &err) < 0) {
        fprintf(stderr, "driftless schema: %s\n", err.msg);
        goto done;
    }
    if (!out &&
        (fwrite(b.ptr, 1, b.len, stdout) != b.len || fflush(stdout) != 0)) {
        fprintf(stderr, "driftless schema: cannot write to stdout: %s\n",
                strerror(errno));
        goto done;
    }
    exit_code = DL_EXIT_OK;
done:
    dl_buf_dispose(&b);
    return exit_code;
}
