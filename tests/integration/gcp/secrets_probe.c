/*
 * secrets_probe - exercise every credential path at debug verbosity and
 * print what a CLI would print (answers, error messages), so that
 * check-secrets.sh can look for secrets in the output.
 *   secrets_probe text|json
 * Credentials come from the environment check-secrets.sh prepares:
 * PROBE_TOKEN, PROBE_SA_KEY, PROBE_USER_FILE, PROBE_BAD_KEY.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcp/gcp.h"
#include "util/log.h"

static void run(const char *label, const char *project)
{
    struct dl_gcp_client *c = NULL;
    struct dl_err err;
    json_t *out = NULL, *body;
    char path[160];
    char *text;

    if (dl_gcp_client_new(&c, NULL, &err) != 0) {
        printf("%s: client: %s\n", label, err.msg);
        return;
    }
    printf("%s: credentials %s\n", label, dl_gcp_client_auth_kind(c));
    snprintf(path, sizeof(path), "/v1/projects/%s:getIamPolicy", project);
    body = json_pack("{s:{s:i}}", "options", "requestedPolicyVersion", 3);
    for (int i = 0; i < 2; i++) {
        if (dl_gcp_call(c, DL_GCP_RESOURCEMANAGER, "POST", path, body, &out,
                        &err) != 0) {
            printf("%s: error: %s (%s)\n", label, err.msg,
                   dl_err_code_name(err.code));
            dl_error("%s: %s", label, err.msg);
        } else {
            text = json_dumps(out, JSON_COMPACT);
            printf("%s: ok: %s\n", label, text);
            free(text);
            json_decref(out);
        }
    }
    if (dl_gcp_call(c, DL_GCP_RUN, "GET",
                    "/v2/projects/nope/locations/x/"
                    "services/none",
                    NULL, NULL, &err) != 0)
        printf("%s: expected error: %s\n", label, err.msg);
    json_decref(body);
    dl_gcp_client_free(c);
}

int main(int argc, char **argv)
{
    const char *project = getenv("DL_SANDBOX_PROJECT");

    if (!project)
        project = "demo-proj";
    dl_log_init(DL_LOG_DEBUG,
                argc > 1 && strcmp(argv[1], "json") == 0 ? DL_LOG_JSON
                                                         : DL_LOG_TEXT,
                stderr);
    setenv("HOME", "/nonexistent-driftless-home", 1);
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");

    setenv("DRIFTLESS_ACCESS_TOKEN", getenv("PROBE_TOKEN"), 1);
    run("static-token", project);
    unsetenv("DRIFTLESS_ACCESS_TOKEN");

    setenv("GOOGLE_APPLICATION_CREDENTIALS", getenv("PROBE_SA_KEY"), 1);
    run("service-account", project);
    setenv("GOOGLE_APPLICATION_CREDENTIALS", getenv("PROBE_BAD_KEY"), 1);
    run("wrong-key", project);
    setenv("GOOGLE_APPLICATION_CREDENTIALS", getenv("PROBE_USER_FILE"), 1);
    run("authorized-user", project);
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    run("metadata", project);
    return 0;
}
