#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "driftless/version.h"
#include "util/alloc.h"
#include "util/log.h"

extern const struct dl_cmd dl_cmd_apply;
extern const struct dl_cmd dl_cmd_import;
extern const struct dl_cmd dl_cmd_plan;
extern const struct dl_cmd dl_cmd_run;
extern const struct dl_cmd dl_cmd_schema;
extern const struct dl_cmd dl_cmd_validate;
extern const struct dl_cmd dl_cmd_version;

const struct dl_cmd *const dl_cmds[] = {
    &dl_cmd_apply,  &dl_cmd_import,   &dl_cmd_plan,    &dl_cmd_run,
    &dl_cmd_schema, &dl_cmd_validate, &dl_cmd_version, NULL,
};

struct dl_cli_globals dl_cli_globals;

const struct dl_cli_help dl_cli_help = {
    .tagline = "GitOps reconciler for Google Cloud",
    .synopsis = "Usage: driftless [--log-level LEVEL] [--log-format FORMAT] "
                "[--ca-bundle FILE]\n"
                "                 COMMAND [OPTIONS]\n",
    .description =
        "Reads the desired state of Google Cloud projects (YAML in a git "
        "repository),\nobserves the live projects through the Google APIs, "
        "and shows (plan) or\ncorrects (apply, run) the drift between "
        "them.\n",
    .globals = "Global options:\n"
               "  --log-level LEVEL   debug, info, notice, warning or error "
               "(default: warning)\n"
               "  --ca-bundle FILE    CA certificates for the Google APIs "
               "(default:\n"
               "                      $SSL_CERT_FILE, else the system's)\n"
               "  --log-format FMT    auto, text or json (default: auto: text "
               "on a terminal)\n"
               "  --version           print the version and exit\n"
               "  -h, --help          show this help\n",
    .environment =
        "Environment:\n"
        "  DRIFTLESS_ACCESS_TOKEN\n"
        "                      a bearer token used as is (first in the "
        "credential\n"
        "                      chain)\n"
        "  GOOGLE_APPLICATION_CREDENTIALS\n"
        "                      a service account key, authorized user or "
        "external\n"
        "                      account (Workload Identity Federation) file\n"
        "  DRIFTLESS_GIT_TOKEN token for https git sources (never printed)\n"
        "  DRIFTLESS_SUSPEND   1: apply and run change nothing (report "
        "only)\n"
        "  FIRESTORE_EMULATOR_HOST\n"
        "                      send Firestore requests to an emulator at "
        "host:port\n"
        "  DRIFTLESS_API_ENDPOINT, DRIFTLESS_<API>_ENDPOINT\n"
        "                      send every API's (or one API's) requests "
        "elsewhere;\n"
        "                      plain http only to loopback\n"
        "  CLOUD_RUN_TASK_INDEX, CLOUD_RUN_TASK_COUNT\n"
        "                      run's default --shard-index and "
        "--shard-count\n"
        "  NO_COLOR            no colour in text plans, even on a "
        "terminal\n",
    .exit_codes = "Exit codes:\n"
                  "  0                   success, or no changes\n"
                  "  1                   error (or a resource failed)\n"
                  "  2                   changes (plan "
                  "--detailed-exitcode)\n"
                  "  130                 interrupted (apply)\n",
};

static void main_usage(FILE *out)
{
    fprintf(out, "driftless %s - %s\n\n%s\n%s\nCommands:\n", DL_VERSION,
            dl_cli_help.tagline, dl_cli_help.synopsis, dl_cli_help.description);
    for (size_t i = 0; dl_cmds[i]; i++)
        fprintf(out, "  %-10s %s\n", dl_cmds[i]->name, dl_cmds[i]->summary);
    fprintf(out,
            "\n%s\n%s\n%s\nRun 'driftless COMMAND --help' for a "
            "command's options, 'driftless help --man'\nfor the manual "
            "page (roff, as in docs/driftless.1).\n",
            dl_cli_help.globals, dl_cli_help.environment,
            dl_cli_help.exit_codes);
}

void dl_cli_usage(const struct dl_cmd *cmd, FILE *out)
{
    fputs(cmd->usage, out);
}

int dl_cli_usage_error(const struct dl_cmd *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "driftless %s: ", cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nRun 'driftless %s --help' for usage.\n", cmd->name);
    return DL_EXIT_ERROR;
}

int dl_cli_bad_option(const struct dl_cmd *cmd, int c, char **argv)
{
    const char *arg = argv[optind - 1];

    if (c == ':')
        return dl_cli_usage_error(cmd, "option '%s' needs a value", arg);
    return dl_cli_usage_error(cmd, "unknown option '%s'", arg);
}

int dl_cli_write_file(const char *path, const char *text, size_t len,
                      struct dl_err *err)
{
    char *tmp = dl_asprintf("%s.tmp-%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    int rc = 0;

    if (!f || fwrite(text, 1, len, f) != len || fflush(f) != 0) {
        rc = dl_err_set(err, DL_ERROR, "cannot write '%s': %s", path,
                        strerror(errno));
        if (f)
            fclose(f);
        unlink(tmp);
    } else if (fclose(f) != 0 || rename(tmp, path) != 0) {
        rc = dl_err_set(err, DL_ERROR, "cannot write '%s': %s", path,
                        strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

int dl_cli_parse_int64(int64_t *out, const char *s, int64_t min, int64_t max)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int dl_cli_source_opt(struct dl_source_opts *opts, int opt, const char *arg)
{
    switch (opt) {
    case DL_OPT_SOURCE:
        opts->source = arg;
        return 1;
    case DL_OPT_REF:
        opts->ref = arg;
        return 1;
    case DL_OPT_PATH:
        opts->path = arg;
        return 1;
    case DL_OPT_CACHE_DIR:
        opts->cache_dir = arg;
        return 1;
    case DL_OPT_SSH_KEY:
        opts->ssh_key = arg;
        return 1;
    case DL_OPT_INSECURE_HOST_KEY:
        opts->insecure_skip_host_key_check = 1;
        /* Said on every run, not only when a key is actually unknown. */
        dl_warn("--insecure-skip-host-key-check: ssh host keys of git "
                "servers are not verified; anyone on the network path can "
                "pose as the server");
        return 1;
    default:
        return 0;
    }
}

int dl_cli_main(int argc, char **argv)
{
    enum dl_log_level level = DL_LOG_WARNING;
    enum dl_log_format format = DL_LOG_AUTO;
    int i = 1;

    /* Global options come before the command. */
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i], *v = NULL;

        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            main_usage(stdout);
            return DL_EXIT_OK;
        }
        if (strcmp(a, "--version") == 0) {
            printf("driftless %s\n", DL_VERSION);
            return DL_EXIT_OK;
        }
        if (strncmp(a, "--ca-bundle", 11) == 0 &&
            (a[11] == '\0' || a[11] == '=')) {
            if (a[11] == '=')
                dl_cli_globals.ca_bundle = a + 12;
            else if (i + 1 < argc)
                dl_cli_globals.ca_bundle = argv[++i];
            else {
                fprintf(stderr, "driftless: option '%s' needs a value\n", a);
                return DL_EXIT_ERROR;
            }
            continue;
        }
        if (strncmp(a, "--log-level", 11) == 0 ||
            strncmp(a, "--log-format", 12) == 0) {
            const char *eq = strchr(a, '=');

            if (eq)
                v = eq + 1;
            else if (i + 1 < argc)
                v = argv[++i];
            if (!v) {
                fprintf(stderr, "driftless: option '%s' needs a value\n", a);
                return DL_EXIT_ERROR;
            }
            if (a[6] == 'l' && a[7] == 'e') {
                if (dl_log_level_parse(&level, v) < 0) {
                    fprintf(stderr,
                            "driftless: invalid log level '%s' (want debug, "
                            "info, notice, warning or error)\n",
                            v);
                    return DL_EXIT_ERROR;
                }
            } else if (strcmp(v, "json") == 0) {
                format = DL_LOG_JSON;
            } else if (strcmp(v, "text") == 0) {
                format = DL_LOG_TEXT;
            } else if (strcmp(v, "auto") == 0) {
                format = DL_LOG_AUTO;
            } else {
                fprintf(stderr,
                        "driftless: invalid log format '%s' (want auto, text "
                        "or json)\n",
                        v);
                return DL_EXIT_ERROR;
            }
            continue;
        }
        fprintf(stderr,
                "driftless: unknown option '%s'\nRun 'driftless --help' for "
                "usage.\n",
                a);
        return DL_EXIT_ERROR;
    }
    dl_log_init(level, format, NULL);
    if (i >= argc) {
        main_usage(stderr);
        return DL_EXIT_ERROR;
    }
    if (strcmp(argv[i], "help") == 0) {
        /* The manual page, generated from the help texts. */
        if (i + 1 < argc && strcmp(argv[i + 1], "--man") == 0) {
            dl_cli_man(stdout);
            return DL_EXIT_OK;
        }
        if (i + 1 < argc) {
            for (size_t k = 0; dl_cmds[k]; k++) {
                if (strcmp(dl_cmds[k]->name, argv[i + 1]) == 0) {
                    dl_cli_usage(dl_cmds[k], stdout);
                    return DL_EXIT_OK;
                }
            }
        }
        main_usage(stdout);
        return DL_EXIT_OK;
    }
    for (size_t k = 0; dl_cmds[k]; k++) {
        if (strcmp(dl_cmds[k]->name, argv[i]) == 0) {
            optind = 0; /* glibc: full reinitialisation of getopt */
            return dl_cmds[k]->run(argc - i, argv + i);
        }
    }
    fprintf(stderr,
            "driftless: unknown command '%s'\nRun 'driftless --help' for the "
            "list of commands.\n",
            argv[i]);
    return DL_EXIT_ERROR;
}
