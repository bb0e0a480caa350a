#include <curl/curl.h>
#include <git2.h>
#include <jansson.h>
#include <string.h>
#include <yaml.h>

#include "cli/cli.h"
#include "driftless/version.h"

static int run(int argc, char **argv);

const struct dl_cmd dl_cmd_version = {
    .name = "version",
    .summary = "print the version and the libraries' versions",
    .usage = "Usage: driftless version\n\n"
             "Print driftless's version and the versions of the libraries "
             "it runs with.\n",
    .run = run,
};

static int run(int argc, char **argv)
{
    int major, minor, rev;

    if (argc > 1) {
        if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
            dl_cli_usage(&dl_cmd_version, stdout);
            return DL_EXIT_OK;
        }
        return dl_cli_usage_error(&dl_cmd_version, "unexpected argument '%s'",
                                  argv[1]);
    }
    git_libgit2_version(&major, &minor, &rev);
    printf("driftless %s\n", DL_VERSION);
    printf("libcurl %s, libgit2 %d.%d.%d, jansson %s, libyaml %s\n",
           curl_version_info(CURLVERSION_NOW)->version, major, minor, rev,
           jansson_version_str(), yaml_get_version_string());
    return DL_EXIT_OK;
}
