/* Unit tests of the pure helpers of CloudRunService apply
 * (cloud_run_apply.c): the serving revision, the Cloud Build body and
 * filter, the image digest of a finished build, a failed build's message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "provider/cloud_run.h"
#include "provider/cloud_run_apply.h"

#define M(s) ((char[]){s})
#define COMMIT "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
#define REPO "us-central1-docker.pkg.dev/p/services"

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);

    if (!j)
        fail_msg("bad test JSON: %s", e.text);
    return j;
}

static void test_serving_revision(void **state)
{
    json_t *s;

    (void)state;
    /* LATEST resolves to latestReadyRevision. */
    s = load("{\"latestReadyRevision\": \"projects/p/locations/r/services/"
             "a/revisions/a-00002-x\", \"trafficStatuses\": [{\"type\": "
             "\"TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST\", \"percent\": 100}]}");
    assert_string_equal(dl_cloud_run_serving_revision(s),
                        "projects/p/locations/r/services/a/revisions/"
                        "a-00002-x");
    json_decref(s);
    /* The named revision with the most traffic. */
    s = load("{\"latestReadyRevision\": \"x/a-00003-z\", \"trafficStatuses\": "
             "[{\"type\": \"TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION\", "
             "\"revision\": \"a-00001-q\", \"percent\": 10}, {\"type\": "
             "\"TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION\", \"revision\": "
             "\"a-00002-y\", \"percent\": 90}]}");
    assert_string_equal(dl_cloud_run_serving_revision(s), "a-00002-y");
    json_decref(s);
    /* No statuses: traffic; none at all: the latest ready one. */
    s = load("{\"latestReadyRevision\": \"a-00004-k\", \"traffic\": [{"
             "\"revision\": \"a-00001-q\", \"percent\": 100}]}");
    assert_string_equal(dl_cloud_run_serving_revision(s), "a-00001-q");
    json_decref(s);
    s = load("{\"latestReadyRevision\": \"a-00004-k\"}");
    assert_string_equal(dl_cloud_run_serving_revision(s), "a-00004-k");
    json_decref(s);
    s = load("{}");
    assert_null(dl_cloud_run_serving_revision(s));
    json_decref(s);
}

static void test_build_body(void **state)
{
    struct dl_cloud_run_spec s = {0};
    json_t *b, *args;
    char *filter;

    (void)state;
    s.has_build = 1;
    s.build.dockerfile = M("app/Dockerfile");
    s.build.context = M("app");
    b = dl_cloud_run_build_body("raw", &s, "https://git.example.com/x.git",
                                REPO, COMMIT);
    assert_non_null(b);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(b, "source"), "gitSource"),
            "revision")),
        COMMIT);
    args =
        json_object_get(json_array_get(json_object_get(b, "steps"), 0), "args");
    assert_int_equal(json_array_size(args), 6);
    assert_string_equal(json_string_value(json_array_get(args, 0)), "build");
    assert_string_equal(json_string_value(json_array_get(args, 1)), "-f");
    assert_string_equal(json_string_value(json_array_get(args, 2)),
                        "app/Dockerfile");
    assert_string_equal(json_string_value(json_array_get(args, 4)),
                        REPO "/raw:" COMMIT);
    assert_string_equal(json_string_value(json_array_get(args, 5)), "app");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(b, "images"), 0)),
        REPO "/raw:" COMMIT);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(b, "tags"), 1)),
        "commit-" COMMIT);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(b, "substitutions"),
                                          "_DL_DOCKERFILE")),
        "app/Dockerfile");
    json_decref(b);

    filter = dl_cloud_run_build_filter("raw", COMMIT, "app/Dockerfile");
    assert_non_null(strstr(filter, "tags=\"commit-" COMMIT "\""));
    assert_non_null(strstr(filter, "tags=\"service-raw\""));
    assert_non_null(
        strstr(filter, "substitutions._DL_DOCKERFILE=\"app/Dockerfile\""));
    free(filter);
}

static void test_build_image_and_failure(void **state)
{
    json_t *b;
    char *img;

    (void)state;
    b = load("{\"status\": \"SUCCESS\", \"results\": {\"images\": ["
             "{\"name\": \"other/raw:" COMMIT "\", \"digest\": \"sha256:00\"},"
             "{\"name\": \"" REPO "/raw:" COMMIT "\", \"digest\": "
             "\"sha256:ab\"}]}}");
    img = dl_cloud_run_build_image(b, "raw", REPO, COMMIT);
    assert_string_equal(img, REPO "/raw@sha256:ab");
    free(img);
    /* Another commit's tag is not taken. */
    assert_null(dl_cloud_run_build_image(b, "raw", REPO, "0000000"));
    assert_null(dl_cloud_run_build_image(b, "api", REPO, COMMIT));
    json_decref(b);

    b = load("{\"status\": \"FAILURE\", \"statusDetail\": \"step 0 failed\","
             "\"failureInfo\": {\"detail\": \"other\"}}");
    assert_string_equal(dl_cloud_run_build_failure(b), "step 0 failed");
    json_decref(b);
    b = load("{\"status\": \"FAILURE\", \"failureInfo\": {\"detail\": "
             "\"push failed\"}}");
    assert_string_equal(dl_cloud_run_build_failure(b), "push failed");
    json_decref(b);
    b = load("{\"status\": \"TIMEOUT\"}");
    assert_string_equal(dl_cloud_run_build_failure(b), "no detail given");
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serving_revision),
        cmocka_unit_test(test_build_body),
        cmocka_unit_test(test_build_image_and_failure),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
