/*
 * dl_import_render: the files written for a live state (golden file), the
 * warnings for what cannot be declared, determinism, and that the output
 * loads and validates as desired state.
 *
 * tests/fixtures/import/live.json is the input; live.expected holds every
 * file ("==> path <==" then its text) and the warnings. With
 * DL_UPDATE_GOLDEN=1 the expected file is rewritten instead (review it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import/import.h"
#include "model/model.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/tree.h"

#define FIXTURES DL_SOURCE_DIR "/tests/fixtures/import/"

struct fixture {
    json_t *json;
    const char *regions[4];
    struct dl_import_live live;
};

static void load(struct fixture *f)
{
    json_error_t je;
    json_t *r;
    size_t i;

    f->json = json_load_file(FIXTURES "live.json", 0, &je);
    if (!f->json)
        fail_msg("live.json:%d: %s", je.line, je.text);
    f->live.project = json_string_value(json_object_get(f->json, "project"));
    json_array_foreach(json_object_get(f->json, "regions"), i, r)
        f->regions[f->live.n_regions++] = json_string_value(r);
    f->live.regions = f->regions;
    /* The live struct owns its JSON: give it references. */
    f->live.services = json_incref(json_object_get(f->json, "services"));
    f->live.policy = json_incref(json_object_get(f->json, "policy"));
}

static void unload(struct fixture *f)
{
    dl_import_live_dispose(&f->live);
    json_decref(f->json);
}

static char *flatten(const struct dl_import_result *res)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);

    for (size_t i = 0; i < res->n_files; i++)
        assert_int_equal(dl_buf_printf(&b, "==> %s <==\n%s", res->files[i].path,
                                       res->files[i].text),
                         0);
    assert_int_equal(dl_buf_puts(&b, "==> warnings <==\n"), 0);
    for (size_t i = 0; i < res->n_warnings; i++)
        assert_int_equal(dl_buf_printf(&b, "%s\n", res->warnings[i]), 0);
    return dl_buf_take(&b);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    char chunk[4096];
    size_t n;

    if (!f)
        fail_msg("cannot open %s", path);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(dl_buf_put(&b, chunk, n), 0);
    fclose(f);
    return dl_buf_take(&b);
}

static void test_golden(void **state)
{
    struct fixture f = {0};
    struct dl_import_result *res = NULL;
    struct dl_err err;
    char *got, *want;

    (void)state;
    load(&f);
    assert_int_equal(dl_import_render(&res, &f.live, &err), 0);
    got = flatten(res);
    if (getenv("DL_UPDATE_GOLDEN") &&
        strcmp(getenv("DL_UPDATE_GOLDEN"), "1") == 0) {
        FILE *o = fopen(FIXTURES "live.expected", "wb");

        assert_non_null(o);
        fputs(got, o);
        fclose(o);
    }
    want = slurp(FIXTURES "live.expected");
    assert_string_equal(got, want);
    /* 4 services (legacy in us-west2 is not pinned, so the one in
     * europe-west1 is imported; api in europe-west1 repeats a name; one has
     * no location); run.invoker, deployer and both objectViewer bindings whole;
     * viewer member by member (two members cannot be declared). */
    assert_int_equal(res->n_services, 4);
    assert_int_equal(res->n_bindings, 4);
    assert_int_equal(res->n_members, 1);
    free(want);
    free(got);
    dl_import_result_free(res);
    unload(&f);
}

/* The order Google lists things in does not matter. */
static void test_deterministic(void **state)
{
    struct fixture f = {0};
    struct dl_import_result *a = NULL, *b = NULL;
    struct dl_err err;
    json_t *rev_s = json_array(), *rev_b = json_array(), *bindings;
    char *ta, *tb;

    (void)state;
    load(&f);
    assert_int_equal(dl_import_render(&a, &f.live, &err), 0);
    for (size_t i = json_array_size(f.live.services); i-- > 0;)
        json_array_append(rev_s, json_array_get(f.live.services, i));
    bindings = json_object_get(f.live.policy, "bindings");
    for (size_t i = json_array_size(bindings); i-- > 0;)
        json_array_append(rev_b, json_array_get(bindings, i));
    json_decref(f.live.services);
    f.live.services = rev_s;
    json_object_set_new(f.live.policy, "bindings", rev_b);
    assert_int_equal(dl_import_render(&b, &f.live, &err), 0);
    ta = flatten(a);
    tb = flatten(b);
    /* The warnings may come in another order; the files may not. */
    *strstr(ta, "==> warnings <==") = '\0';
    *strstr(tb, "==> warnings <==") = '\0';
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
    dl_import_result_free(a);
    dl_import_result_free(b);
    unload(&f);
}

static void write_tree(const char *dir, const struct dl_import_result *res)
{
    for (size_t i = 0; i < res->n_files; i++) {
        char *path = dl_asprintf("%s/%s", dir, res->files[i].path);
        char *slash = strrchr(path, '/');
        FILE *o;

        *slash = '\0';
        (void)mkdir(path, 0777);
        *slash = '/';
        o = fopen(path, "wb");
        assert_non_null(o);
        fputs(res->files[i].text, o);
        fclose(o);
        free(path);
    }
}

/* Write res under a new temporary directory and load it as desired state
 * (fails the test when it does not load). Free with unload_model. */
static struct dl_model *load_model(const struct dl_import_result *res,
                                   char dir[22])
{
    struct dl_model *m = NULL;
    struct dl_tree *t = NULL;
    struct dl_diags d;
    struct dl_err err;

    strcpy(dir, "/tmp/dl-import-XXXXXX");
    assert_non_null(mkdtemp(dir));
    write_tree(dir, res);
    dl_diags_init(&d);
    assert_int_equal(dl_tree_open_dir(&t, dir, &err), 0);
    if (dl_model_load(&m, t, ".", &d, &err) < 0) {
        dl_diags_print_text(&d, stderr);
        fail_msg("the imported desired state does not load: %s", err.msg);
    }
    dl_tree_free(t);
    dl_diags_dispose(&d);
    return m;
}

static void unload_model(struct dl_model *m, const char *dir)
{
    char *cmd = dl_asprintf("rm -rf '%s'", dir);

    dl_model_free(m);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static void test_validates(void **state)
{
    struct fixture f = {0};
    struct dl_import_result *res = NULL;
    struct dl_model *m;
    struct dl_err err;
    char dir[22];
    const struct dl_resource *api;

    (void)state;
    load(&f);
    assert_int_equal(dl_import_render(&res, &f.live, &err), 0);
    m = load_model(res, dir);
    assert_int_equal(m->n_projects, 1);
    assert_string_equal(m->projects[0]->spec.project.region, "us-west2");
    assert_int_equal(m->projects[0]->spec.project.mode, DL_MODE_REPORT);
    assert_int_equal(m->n_resources, 1 + 4 + 4 + 1);
    api = dl_model_find(m, DL_KIND_CLOUD_RUN_SERVICE, "acme-data-platform",
                        "api");
    assert_non_null(api);
    assert_int_equal(api->spec.run.n_env, 6);
    assert_string_equal(api->spec.run.env[1].name, "BATCH");
    assert_string_equal(api->spec.run.env[1].value, "042");
    assert_string_equal(api->spec.run.env[2].value, "a: b # \"c\"");
    assert_string_equal(api->spec.run.env[4].secret, "slack-webhook-url");
    assert_string_equal(api->spec.run.env[4].version, "3");
    assert_int_equal(api->spec.run.timeout_ns, 1800LL * 1000000000LL);
    assert_int_equal(api->spec.run.min_instances, 0);
    assert_int_equal(api->spec.run.max_instances, 10);
    unload_model(m, dir);
    dl_import_result_free(res);
    unload(&f);
}

/* Malformed answers (wrong types everywhere) are left out, never a crash. */
static void test_malformed(void **state)
{
    static const char *const regions[] = {"us-west2"};
    struct dl_import_live live = {
        .project = "acme-data-platform", .regions = regions, .n_regions = 1};
    struct dl_import_result *res = NULL;
    struct dl_model *m;
    struct dl_err err;
    char dir[22];

    (void)state;
    live.services = json_loads(
        "[1, \"x\", {\"name\": 3},"
        " {\"name\": \"projects/p/locations/us-west2/services/a\","
        "  \"labels\": [], \"traffic\": {}, \"template\": {"
        "   \"scaling\": \"x\", \"timeout\": 5, \"containers\": {}}},"
        " {\"name\": \"projects/p/locations/us-west2/services/b\","
        "  \"labels\": {\"k\": 1}, \"traffic\": [1, {\"percent\": \"x\"}],"
        "  \"template\": {\"maxInstanceRequestConcurrency\": \"12x\","
        "   \"containers\": [{\"image\": \"i:v1\", \"env\": [1, {},"
        "    {\"name\": \"A\", \"valueSource\": 7},"
        "    {\"name\": \"B\", \"value\": 2}], \"resources\": []}]}}]",
        0, NULL);
    live.policy = json_loads(
        "{\"bindings\": [1, {\"role\": 2}, {\"role\": \"roles/x\","
        " \"members\": [1, \"user:a@example.com\"], \"condition\": 5},"
        " {\"role\": \"roles/y\", \"members\": \"nope\"}]}",
        0, NULL);
    assert_non_null(live.services);
    assert_non_null(live.policy);
    assert_int_equal(dl_import_render(&res, &live, &err), 0);
    /* a: no container, so no image; b: written, and it validates. */
    assert_int_equal(res->n_services, 1);
    assert_true(res->n_warnings >= 2);
    m = load_model(res, dir);
    assert_non_null(
        dl_model_find(m, DL_KIND_CLOUD_RUN_SERVICE, "acme-data-platform", "b"));
    unload_model(m, dir);
    dl_import_result_free(res);
    dl_import_live_dispose(&live);
}

static void test_needs_region(void **state)
{
    struct dl_import_live live = {.project = "acme-data-platform"};
    struct dl_import_result *res = NULL;
    struct dl_err err;

    (void)state;
    assert_int_equal(dl_import_render(&res, &live, &err), DL_EINVALID);
    assert_null(res);
    assert_string_equal(err.msg,
                        "import needs a project and at least one region");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_validates),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_needs_region),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
