/*
 * Tests of model.c: the fixture corpus (every invalid case with its exact
 * diagnostics, every valid case), the example desired-state/, the YAML
 * examples of the docs, Project scoping, revisions and limits.
 *
 * Set DL_UPDATE_FIXTURES=1 to (re)write each invalid case's "expected"
 * file from the current output; review the diff before committing it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem_tree.h"
#include "model/model.h"
#include "util/alloc.h"
#include "util/buf.h"

#define FIXTURES DL_SOURCE_DIR "/tests/fixtures/model"
#define FIX_ID "0123456789abcdef0123456789abcdef01234567"

static char **list_dir(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **v = NULL;

    *n = 0;
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        v = dl_reallocarray(v, *n + 1, sizeof(*v));
        v[(*n)++] = dl_strdup(de->d_name);
    }
    closedir(d);
    for (size_t i = 1; i < *n; i++)
        for (size_t j = i; j > 0 && strcmp(v[j - 1], v[j]) > 0; j--) {
            char *t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    char chunk[4096];
    size_t r;

    if (!f)
        return NULL;
    while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(dl_buf_put(&b, chunk, r), 0);
    fclose(f);
    return dl_buf_take(&b);
}

/* The diagnostics as "file:line:col: message" lines. */
static char *diag_lines(const struct dl_diags *d)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);

    for (size_t i = 0; i < d->n; i++)
        assert_int_equal(dl_buf_printf(&b, "%s:%d:%d: %s\n", d->v[i].file,
                                       d->v[i].line, d->v[i].col,
                                       d->v[i].message),
                         0);
    return dl_buf_take(&b);
}

static struct dl_tree *open_fixture(const char *dir)
{
    struct dl_tree *t = NULL;
    struct dl_err err;

    assert_int_equal(dl_tree_open_dir(&t, dir, &err), 0);
    /* A stable label, whatever the checkout's path. */
    free(t->label);
    t->label = dl_strdup("fixture tree");
    return t;
}

static void test_invalid_fixtures(void **state)
{
    size_t n, failures = 0;
    char **cases = list_dir(FIXTURES "/invalid", &n);
    const char *env = getenv("DL_UPDATE_FIXTURES");
    int update = env && strcmp(env, "1") == 0;

    (void)state;
    assert_true(n >= 30);
    for (size_t i = 0; i < n; i++) {
        char *dir = dl_asprintf("%s/invalid/%s", FIXTURES, cases[i]);
        char *exp_path = dl_asprintf("%s/expected", dir);
        struct dl_tree *t = open_fixture(dir);
        struct dl_model *m = NULL;
        struct dl_diags d;
        struct dl_err err;
        char *got, *want;
        int rc;

        dl_diags_init(&d);
        rc = dl_model_load(&m, t, "", &d, &err);
        got = diag_lines(&d);
        if (update) {
            FILE *f = fopen(exp_path, "w");

            assert_non_null(f);
            fputs(got, f);
            fclose(f);
        }
        want = read_text(exp_path);
        if (rc != DL_EINVALID || m != NULL || d.n == 0) {
            print_error("%s: want DL_EINVALID with diagnostics, got %d\n",
                        cases[i], rc);
            failures++;
        } else if (!want || strcmp(got, want) != 0) {
            print_error("%s: diagnostics differ\n--- want\n%s--- got\n%s",
                        cases[i], want ? want : "(no expected file)\n", got);
            failures++;
        }
        free(got);
        free(want);
        dl_model_free(m);
        dl_diags_dispose(&d);
        dl_tree_free(t);
        free(exp_path);
        free(dir);
    }
    free_list(cases, n);
    assert_int_equal(failures, 0);
}

static void test_valid_fixtures(void **state)
{
    size_t n, failures = 0;
    char **cases = list_dir(FIXTURES "/valid", &n);

    (void)state;
    assert_true(n >= 3);
    for (size_t i = 0; i < n; i++) {
        char *dir = dl_asprintf("%s/valid/%s", FIXTURES, cases[i]);
        struct dl_tree *t = open_fixture(dir);
        struct dl_model *m = NULL;
        struct dl_diags d;
        struct dl_err err;
        int rc;

        dl_diags_init(&d);
        rc = dl_model_load(&m, t, "", &d, &err);
        if (rc != 0 || !m || m->n_resources == 0) {
            char *got = diag_lines(&d);

            print_error("%s: want valid, got %d: %s\n%s", cases[i], rc, err.msg,
                        got);
            free(got);
            failures++;
        }
        dl_model_free(m);
        dl_diags_dispose(&d);
        dl_tree_free(t);
        free(dir);
    }
    free_list(cases, n);
    assert_int_equal(failures, 0);
}

/* The Dockerfiles of the sample monorepo (tests/sample/make-monorepo.sh). */
static void add_sample_app(struct dl_tree *t)
{
    static const char *const files[] = {
        "data_processors/raw/Dockerfile",
        "data_processors/analytics/Dockerfile",
        "data_processors/precompute/Dockerfile",
        "predictions/worker/Dockerfile",
    };

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        mem_tree_add_str(t, files[i], "FROM python:3.11-slim\n");
    mem_tree_add_rev(t, "heartbeat-fix", FIX_ID);
}

static void test_desired_state_example(void **state)
{
    struct dl_tree *src = NULL, *t = mem_tree_new("sample monorepo", 1);
    struct dl_model *m = NULL;
    struct dl_diags d;
    struct dl_err err;
    const struct dl_resource *r;
    size_t services = 0;
    int rc;

    (void)state;
    dl_diags_init(&d);
    assert_int_equal(dl_tree_open_dir(&src, DL_SOURCE_DIR, &err), 0);
    assert_int_equal(mem_tree_copy(t, src, "desired-state", "desired-state"),
                     0);
    add_sample_app(t);
    rc = dl_model_load(&m, t, "desired-state", &d, &err);
    if (rc != 0)
        dl_diags_print_text(&d, stderr);
    assert_int_equal(rc, 0);
    assert_int_equal(m->n_projects, 1);
    assert_string_equal(m->projects[0]->name, "nba-props-platform");
    assert_string_equal(m->projects[0]->spec.project.region, "us-west2");
    for (size_t i = 0; i < m->n_resources; i++) {
        r = m->resources[i];
        assert_ptr_equal(r->project, m->projects[0]);
        if (r->kind != DL_KIND_CLOUD_RUN_SERVICE)
            continue;
        services++;
        assert_int_equal(r->spec.run.n_require_commits, 1);
        assert_string_equal(r->spec.run.require_commits[0], "heartbeat-fix");
        assert_string_equal(r->spec.run.require_commit_ids[0], FIX_ID);
        assert_non_null(r->spec.run.service_account);
        assert_string_equal(r->spec.run.region, "us-west2");
        assert_int_equal(r->mode, DL_MODE_ENFORCE);
    }
    assert_int_equal(services, 4);
    r = dl_model_find(m, DL_KIND_CLOUD_RUN_SERVICE, "nba-props-platform",
                      "nba-phase2-raw-processors");
    assert_non_null(r);
    assert_string_equal(r->spec.run.build.dockerfile,
                        "data_processors/raw/Dockerfile");
    r = dl_model_find(m, DL_KIND_IAM_POLICY_MEMBER, NULL,
                      "prediction-worker-metric-writer");
    assert_non_null(r);
    assert_string_equal(r->spec.iam_member.role,
                        "roles/monitoring.metricWriter");
    assert_string_equal(r->spec.iam_member.member,
                        "serviceAccount:prediction-worker@nba-props-platform."
                        "iam.gserviceaccount.com");
    r = dl_model_find(m, DL_KIND_FIRESTORE_COLLECTION_POLICY, NULL,
                      "processor-heartbeats");
    assert_non_null(r);
    assert_string_equal(r->spec.firestore.collection, "processor_heartbeats");
    assert_int_equal(r->spec.firestore.max_documents, 100);
    assert_true(dl_pattern_match(&r->spec.firestore.id_pattern,
                                 "nba_phase3_analytics"));
    assert_true(
        dl_pattern_match(&r->spec.firestore.id_pattern, "prediction_worker"));
    assert_false(dl_pattern_match(&r->spec.firestore.id_pattern,
                                  "nba_phase3_analytics_20260201_183012"));
    r = dl_model_find(m, DL_KIND_BIGQUERY_TABLE_POLICY, NULL,
                      "nba-predictions-staging");
    assert_non_null(r);
    assert_string_equal(r->spec.bigquery.dataset, "nba_predictions");
    r = dl_model_find(m, DL_KIND_BIGQUERY_TABLE_POLICY, NULL, "nba-raw-temp");
    assert_non_null(r);
    assert_string_equal(r->spec.bigquery.dataset, "nba_raw");
    assert_int_equal(r->mode, DL_MODE_REPORT);
    r = dl_model_find(m, DL_KIND_STORAGE_BUCKET_POLICY, NULL, "empty-buckets");
    assert_non_null(r);
    assert_int_equal(r->spec.bucket.when_empty, DL_WHEN_EMPTY_REPORT);
    dl_model_free(m);
    dl_diags_dispose(&d);
    dl_tree_free(t);
    dl_tree_free(src);
}

static const char default_project[] =
    "apiVersion: driftless.dev/v1alpha1\n"
    "kind: Project\n"
    "metadata:\n"
    "  name: docs-example-project\n"
    "spec:\n"
    "  region: us-west2\n"
    "  build:\n"
    "    imageRepository: us-west2-docker.pkg.dev/docs-example-project/s\n";

/* Validate one ```yaml block of a doc; returns the number of failures. */
static size_t check_block(const char *doc, int line, const char *text)
{
    struct dl_tree *t = mem_tree_new("docs example tree", 1);
    struct dl_model *m = NULL;
    struct dl_diags d;
    struct dl_err err;
    size_t failed = 0;

    dl_diags_init(&d);
    add_sample_app(t);
    mem_tree_add_str(t, "example/example.yaml", text);
    if (!strstr(text, "kind: Project"))
        mem_tree_add_str(t, "example/zz-project.yaml", default_project);
    if (dl_model_load(&m, t, "example", &d, &err) != 0) {
        char *got = diag_lines(&d);

        print_error("%s:%d: the yaml block does not validate: %s\n%s", doc,
                    line, err.msg, got);
        free(got);
        failed = 1;
    }
    dl_model_free(m);
    dl_diags_dispose(&d);
    dl_tree_free(t);
    return failed;
}

static void test_docs_examples(void **state)
{
    size_t n, blocks = 0, failures = 0;
    char **docs = list_dir(DL_SOURCE_DIR "/docs", &n);

    (void)state;
    for (size_t i = 0; i < n; i++) {
        char *path = dl_asprintf("%s/docs/%s", DL_SOURCE_DIR, docs[i]);
        char *text = NULL, *p;
        int line = 1;

        if (strlen(docs[i]) < 3 ||
            strcmp(docs[i] + strlen(docs[i]) - 3, ".md") != 0 ||
            !(text = read_text(path))) {
            free(path);
            continue;
        }
        for (p = text; *p;) {
            char *eol = strchr(p, '\n');
            size_t len = eol ? (size_t)(eol - p) : strlen(p);

            if (len == 7 && strncmp(p, "```yaml", 7) == 0) {
                struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
                int start = line;

                p += len + (eol ? 1 : 0);
                line++;
                while (*p && strncmp(p, "```", 3) != 0) {
                    eol = strchr(p, '\n');
                    len = eol ? (size_t)(eol - p + 1) : strlen(p);
                    assert_int_equal(dl_buf_put(&b, p, len), 0);
                    p += len;
                    line++;
                }
                failures += check_block(docs[i], start, dl_buf_cstr(&b));
                blocks++;
                dl_buf_dispose(&b);
                continue;
            }
            p += len + (eol ? 1 : 0);
            line++;
        }
        free(text);
        free(path);
    }
    free_list(docs, n);
    assert_true(blocks >= 7); /* at least one example per kind */
    assert_int_equal(failures, 0);
}

/* Load YAML files given as path, text pairs (NULL-terminated). */
static int load(struct dl_model **m, struct dl_diags *d, struct dl_tree *t, ...)
{
    struct dl_err err;
    va_list ap;
    const char *path;

    va_start(ap, t);
    while ((path = va_arg(ap, const char *)) != NULL)
        mem_tree_add_str(t, path, va_arg(ap, const char *));
    va_end(ap);
    dl_diags_init(d);
    return dl_model_load(m, t, "", d, &err);
}

#define PROJECT(name, extra)                                                   \
    "apiVersion: driftless.dev/v1alpha1\nkind: Project\nmetadata:\n  "         \
    "name: " name "\nspec:\n  region: us-west2\n" extra

#define BUCKETS(name, extra)                                                   \
    "apiVersion: driftless.dev/v1alpha1\nkind: StorageBucketPolicy\n"          \
    "metadata:\n  name: " name "\nspec:\n  bucketPattern: \"b-.*\"\n" extra

static void test_scoping_nearest_project_and_mode(void **state)
{
    struct dl_tree *t = mem_tree_new("t", 0);
    struct dl_model *m = NULL;
    struct dl_diags d;
    const struct dl_resource *a, *b, *c;

    (void)state;
    assert_int_equal(
        load(&m, &d, t, "p.yaml", PROJECT("outer-project", "  mode: enforce\n"),
             "a.yaml", BUCKETS("a", ""), "team/p.yml",
             PROJECT("inner-project", ""), "team/sub/b.yaml", BUCKETS("b", ""),
             "team/sub/c.yaml", BUCKETS("c", "  mode: enforce\n"), NULL),
        0);
    assert_int_equal(m->n_projects, 2);
    assert_int_equal(m->n_files, 5);
    a = dl_model_find(m, DL_KIND_STORAGE_BUCKET_POLICY, NULL, "a");
    b = dl_model_find(m, DL_KIND_STORAGE_BUCKET_POLICY, NULL, "b");
    c = dl_model_find(m, DL_KIND_STORAGE_BUCKET_POLICY, NULL, "c");
    assert_string_equal(dl_resource_project_id(a), "outer-project");
    assert_int_equal(a->mode, DL_MODE_ENFORCE);
    assert_int_equal(a->mode_set, 0);
    assert_string_equal(dl_resource_project_id(b), "inner-project");
    assert_int_equal(b->mode, DL_MODE_REPORT);
    assert_int_equal(c->mode, DL_MODE_ENFORCE);
    assert_int_equal(c->mode_set, 1);
    assert_string_equal(m->projects[1]->spec.project.dir, "team");
    /* Same name in two projects is no duplicate. */
    assert_null(
        dl_model_find(m, DL_KIND_STORAGE_BUCKET_POLICY, "outer-project", "b"));
    dl_model_free(m);
    dl_diags_dispose(&d);
    dl_tree_free(t);
}

#define RUN_BUILD(commit)                                                      \
    "apiVersion: driftless.dev/v1alpha1\nkind: CloudRunService\n"              \
    "metadata:\n  name: api\nspec:\n  build:\n    dockerfile: "                \
    "app/Dockerfile\n"                                                         \
    "    commit: " commit "\n  requireCommits:\n    - heartbeat-fix\n"         \
    "    - nope\n"

static void test_revisions_resolved(void **state)
{
    struct dl_tree *t = mem_tree_new("commit 1234567", 1);
    struct dl_model *m = NULL;
    struct dl_diags d;
    const char *proj =
        PROJECT("rev-project", "  build:\n    imageRepository: h.io/p/r\n");

    (void)state;
    mem_tree_add_str(t, "app/Dockerfile", "FROM scratch\n");
    mem_tree_add_rev(t, "heartbeat-fix", FIX_ID);
    mem_tree_add_rev(t, "v1", "1111111111111111111111111111111111111111");
    assert_int_equal(
        load(&m, &d, t, "p.yaml", proj, "s.yaml", RUN_BUILD("v1"), NULL),
        DL_EINVALID);
    assert_null(m);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.v[0].file, "s.yaml");
    assert_int_equal(d.v[0].line, 11);
    assert_int_equal(d.v[0].col, 7);
    assert_string_equal(d.v[0].message,
                        "revision 'nope' not found in commit 1234567");
    dl_diags_dispose(&d);

    /* Without "nope", all resolve and the ids are kept. */
    mem_tree_add_str(t, "s.yaml",
                     "apiVersion: driftless.dev/v1alpha1\nkind: "
                     "CloudRunService\nmetadata:\n  name: api\nspec:\n  "
                     "build:\n    dockerfile: app/Dockerfile\n    commit: v1\n"
                     "  requireCommits: [heartbeat-fix]\n");
    assert_int_equal(load(&m, &d, t, NULL), 0);
    assert_string_equal(m->resources[1]->spec.run.build.commit_id,
                        "1111111111111111111111111111111111111111");
    assert_string_equal(m->resources[1]->spec.run.require_commit_ids[0],
                        FIX_ID);
    dl_model_free(m);
    dl_diags_dispose(&d);
    dl_tree_free(t);

    /* A tree without a resolver skips the check and keeps ids empty. */
    t = mem_tree_new("directory x", 0);
    mem_tree_add_str(t, "app/Dockerfile", "FROM scratch\n");
    assert_int_equal(
        load(&m, &d, t, "p.yaml", proj, "s.yaml", RUN_BUILD("v1"), NULL), 0);
    assert_string_equal(m->resources[1]->spec.run.build.commit_id, "");
    assert_string_equal(m->resources[1]->spec.run.require_commit_ids[1], "");
    dl_model_free(m);
    dl_diags_dispose(&d);
    dl_tree_free(t);
}

static void test_limits_and_errors(void **state)
{
    struct dl_tree *t = mem_tree_new("t", 0);
    struct dl_model *m = NULL;
    struct dl_diags d;
    struct dl_err err;
    char *big = dl_malloc(DL_MODEL_MAX_FILE_SIZE + 2);

    (void)state;
    memset(big, '#', DL_MODEL_MAX_FILE_SIZE + 1);
    big[DL_MODEL_MAX_FILE_SIZE + 1] = '\0';
    mem_tree_add_str(t, "ds/big.yaml", big);
    mem_tree_add_str(t, "ds/notes.txt", "not yaml: [");
    free(big);
    dl_diags_init(&d);
    assert_int_equal(dl_model_load(&m, t, "ds", &d, &err), DL_EINVALID);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.v[0].message,
                        "file is larger than the limit of 1048576 bytes");
    dl_diags_dispose(&d);

    dl_diags_init(&d);
    assert_int_equal(dl_model_load(&m, t, "nowhere", &d, &err), DL_ENOTFOUND);
    assert_string_equal(err.msg, "path 'nowhere' not found in t");
    assert_int_equal(dl_model_load(&m, t, "../x", &d, &err), DL_EINVALID);
    assert_int_equal(d.n, 0);
    dl_diags_dispose(&d);

    /* An empty directory tree is a valid, empty desired state. */
    mem_tree_add_str(t, "empty/README", "nothing here\n");
    dl_diags_init(&d);
    assert_int_equal(dl_model_load(&m, t, "empty", &d, &err), 0);
    assert_int_equal(m->n_resources, 0);
    assert_int_equal(m->n_files, 0);
    dl_model_free(m);
    dl_diags_dispose(&d);
    dl_tree_free(t);
}

static void test_no_project_silenced_by_broken_file(void **state)
{
    struct dl_tree *t = mem_tree_new("t", 0);
    struct dl_model *m = NULL;
    struct dl_diags d;

    (void)state;
    /* The Project's file does not parse: do not also blame every resource
     * for lacking a Project. */
    assert_int_equal(load(&m, &d, t, "p.yaml", "kind: Project\n  x: [\n",
                          "a.yaml", BUCKETS("a", ""), NULL),
                     DL_EINVALID);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.v[0].file, "p.yaml");
    dl_diags_dispose(&d);
    dl_tree_free(t);
}

static void test_field_positions(void **state)
{
    struct dl_tree *t = mem_tree_new("t", 0);
    struct dl_model *m = NULL;
    struct dl_diags d;
    const struct dl_resource *r;
    struct dl_pos p;

    (void)state;
    assert_int_equal(
        load(&m, &d, t, "p.yaml", PROJECT("pos-project", ""), "b.yaml",
             "---\n# c\n" BUCKETS("a", "  whenEmpty: delete\n"), NULL),
        0);
    r = dl_model_find(m, DL_KIND_STORAGE_BUCKET_POLICY, "pos-project", "a");
    assert_non_null(r);
    assert_string_equal(r->file, "b.yaml");
    assert_int_equal(r->pos.line, 1);
    assert_int_equal(r->name_pos.line, 6);
    assert_int_equal(r->name_pos.col, 9);
    p = dl_resource_field_pos(r, "spec.whenEmpty");
    assert_int_equal(p.line, 9);
    assert_int_equal(p.col, 3);
    assert_string_equal(p.file, "b.yaml");
    p = dl_resource_field_pos(r, "spec.nothing");
    assert_int_equal(p.line, r->pos.line);
    assert_int_equal(r->spec.bucket.when_empty, DL_WHEN_EMPTY_DELETE);
    dl_model_free(m);
    dl_diags_dispose(&d);
    dl_tree_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_fixtures),
        cmocka_unit_test(test_valid_fixtures),
        cmocka_unit_test(test_desired_state_example),
        cmocka_unit_test(test_docs_examples),
        cmocka_unit_test(test_scoping_nearest_project_and_mode),
        cmocka_unit_test(test_revisions_resolved),
        cmocka_unit_test(test_limits_and_errors),
        cmocka_unit_test(test_no_project_silenced_by_broken_file),
        cmocka_unit_test(test_field_positions),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
