/* Placeholder until the desired-state model lands (issue: foundation). */
#include "cli/cli.h"

static int run(int argc, char **argv);

const struct dl_cmd dl_cmd_validate = {
    .name = "validate",
    .summary = "check the desired state offline",
    .usage = "Usage: driftless validate [--source DIR] [--path SUBDIR]\n",
    .run = run,
};

static int run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "driftless validate: not implemented\n");
    return DL_EXIT_ERROR;
}
