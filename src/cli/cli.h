/*
 * cli.h - the subcommand table and what subcommands share.
 *
 * Each subcommand is one file (cmd_<name>.c) exporting a const struct
 * dl_cmd, listed in cli.c's table (tmux's cmd-*.c and cmd.c are the model).
 * A command's run() parses its own flags with getopt_long and returns the
 * process exit code: 0 success (or "no changes"), 1 error, 2 "changes"
 * where --detailed-exitcode applies.
 */
#ifndef DL_CLI_CLI_H
#define DL_CLI_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "source/source.h"

enum { DL_EXIT_OK = 0, DL_EXIT_ERROR = 1, DL_EXIT_CHANGES = 2 };

struct dl_cmd {
    const char *name;
    const char *summary; /* one line for `driftless --help` */
    const char *usage;   /* the full help text: usage line, every flag with
                            its default, exit codes */
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

/* Options given before the command, for every command. */
struct dl_cli_globals {
    const char *ca_bundle; /* --ca-bundle FILE, or NULL */
};
extern struct dl_cli_globals dl_cli_globals;

/* Run driftless with the process's arguments; returns the exit code. */
int dl_cli_main(int argc, char **argv);

/* The table, NULL-terminated. */
extern const struct dl_cmd *const dl_cmds[];

/*
 * The parts of `driftless --help` that belong to no command, shared by the
 * help and the manual page. Each is text as --help prints it; globals,
 * environment and exit_codes are a "Title:" line and then items, each
 * "  TAG  description" with continuation lines indented further.
 */
struct dl_cli_help {
    const char *tagline;     /* one line, after "driftless - " */
    const char *synopsis;    /* the "Usage: ..." lines */
    const char *description; /* one paragraph */
    const char *globals;     /* "Global options:" and the options */
    const char *environment; /* "Environment:" and the variables */
    const char *exit_codes;  /* "Exit codes:" and the codes */
};
extern const struct dl_cli_help dl_cli_help;

/*
 * Write driftless(1), the manual page (roff, man macros), to out: the main
 * help and the usage text of every command in dl_cmds, converted (man.c).
 * `driftless help --man` prints it; docs/driftless.1 is its output.
 */
void dl_cli_man(FILE *out);

/* Print cmd's usage to out. */
void dl_cli_usage(const struct dl_cmd *cmd, FILE *out);

/*
 * Report a usage error: "driftless CMD: message" and a pointer to --help on
 * stderr. Returns DL_EXIT_ERROR.
 */
int dl_cli_usage_error(const struct dl_cmd *cmd, const char *fmt, ...)
    DL_PRINTF(2, 3);

/*
 * The source flags every command that reads desired state takes. Splice
 * DL_CLI_SOURCE_LONGOPTS into a getopt_long option table and pass each
 * option to dl_cli_source_opt: it returns 1 when it handled the option.
 */
enum {
    DL_OPT_SOURCE = 1000,
    DL_OPT_REF,
    DL_OPT_PATH,
    DL_OPT_CACHE_DIR,
    DL_OPT_SSH_KEY,
    DL_OPT_INSECURE_HOST_KEY,
    DL_OPT_CMD_BASE = 1100 /* commands number their own options from here */
};

#define DL_CLI_SOURCE_LONGOPTS                                                 \
    {"source", required_argument, NULL, DL_OPT_SOURCE},                        \
        {"ref", required_argument, NULL, DL_OPT_REF},                          \
        {"path", required_argument, NULL, DL_OPT_PATH},                        \
        {"cache-dir", required_argument, NULL, DL_OPT_CACHE_DIR},              \
        {"ssh-key", required_argument, NULL, DL_OPT_SSH_KEY},                  \
    {                                                                          \
        "insecure-skip-host-key-check", no_argument, NULL,                     \
            DL_OPT_INSECURE_HOST_KEY                                           \
    }

#define DL_CLI_SOURCE_HELP                                                     \
    "Source options:\n"                                                        \
    "  --source PATH|URL   repository or directory to read (default: .)\n"     \
    "  --ref REV           branch, tag or commit to read (default: the work\n" \
    "                      tree of a local repository; the default branch\n"   \
    "                      of a URL)\n"                                        \
    "  --path DIR          desired-state directory inside the source\n"        \
    "                      (default: desired-state)\n"                         \
    "  --cache-dir DIR     where URLs are cloned (default:\n"                  \
    "                      $XDG_CACHE_HOME/driftless or ~/.cache/driftless)\n" \
    "  --ssh-key FILE      private key for ssh URLs (default: ssh-agent)\n"    \
    "  --insecure-skip-host-key-check\n"                                       \
    "                      do not check ssh host keys against known_hosts\n"

int dl_cli_source_opt(struct dl_source_opts *opts, int opt, const char *arg);

/*
 * Write len bytes of text to path atomically: a temporary file beside it,
 * then a rename, so a reader never sees half a plan or report. 0, or
 * DL_ERROR with "cannot write 'path': reason" in err (no file left behind).
 */
int dl_cli_write_file(const char *path, const char *text, size_t len,
                      struct dl_err *err) DL_WUR;

/* Parse a decimal integer in [min, max]. 0, or -1 (not a number, out of
 * range, trailing characters). */
int dl_cli_parse_int64(int64_t *out, const char *s, int64_t min,
                       int64_t max) DL_WUR;

/*
 * getopt_long's short-option string must start with ':' so that a missing
 * argument is reported as ':'; this turns getopt's '?'/':' into a usage
 * error message and returns DL_EXIT_ERROR.
 */
int dl_cli_bad_option(const struct dl_cmd *cmd, int c, char **argv);

#endif
