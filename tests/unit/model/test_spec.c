/*
 * Tests of spec.c: the typed values of every kind, read from the
 * all-kinds fixture, and the kind table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "mem_tree.h"
#include "model/model.h"
#include "util/time.h"

#define ALL_KINDS DL_SOURCE_DIR "/tests/fixtures/model/valid/all-kinds"

static struct dl_model *model;
static struct dl_tree *tree;
static struct dl_diags diags;

static int setup(void **state)
{
    struct dl_err err;

    (void)state;
    dl_diags_init(&diags);
    if (dl_tree_open_dir(&tree, ALL_KINDS, &err) < 0)
        return -1;
    if (dl_model_load(&model, tree, "", &diags, &err) < 0) {
        dl_diags_print_text(&diags, stderr);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dl_model_free(model);
    dl_tree_free(tree);
    dl_diags_dispose(&diags);
    return 0;
}

static const struct dl_resource *find(enum dl_kind kind, const char *name)
{
    const struct dl_resource *r =
        dl_model_find(model, kind, "all-kinds-project", name);

    assert_non_null(r);
    return r;
}

static void test_kind_table(void **state)
{
    enum dl_kind k;

    (void)state;
    for (int i = 0; i < DL_KIND_COUNT; i++) {
        assert_int_equal(dl_kind_parse(&k, dl_kind_name((enum dl_kind)i)), 0);
        assert_int_equal(k, i);
    }
    assert_string_equal(dl_kind_name(DL_KIND_IAM_POLICY_BINDING),
                        "IAMPolicyBinding");
    assert_string_equal(dl_kind_name(DL_KIND_COUNT), "?");
    assert_int_equal(dl_kind_parse(&k, "cloudrunservice"), DL_ENOTFOUND);
    assert_string_equal(dl_mode_name(DL_MODE_ENFORCE), "enforce");
    assert_string_equal(dl_mode_name(DL_MODE_REPORT), "report");
}

static void test_project(void **state)
{
    const struct dl_resource *r = find(DL_KIND_PROJECT, "all-kinds-project");
    const struct dl_project_spec *p = &r->spec.project;

    (void)state;
    assert_ptr_equal(r->project, r);
    assert_int_equal(r->mode, DL_MODE_ENFORCE);
    assert_string_equal(p->region, "europe-west1");
    assert_int_equal(p->n_protected_members, 5);
    assert_string_equal(p->protected_members[2], "domain:example.com");
    assert_string_equal(p->build_source_url,
                        "https://github.com/example/app.git");
    assert_string_equal(p->build_image_repository,
                        "europe-west1-docker.pkg.dev/all-kinds-project/"
                        "services");
    assert_true(p->prune);
    assert_false(p->suspend);
    assert_true(p->require_signed_commits);
    assert_int_equal(p->n_allowed_signers, 1);
    assert_memory_equal(p->allowed_signers[0], "ssh-ed25519 AAAA", 16);
    assert_string_equal(p->dir, "");
    assert_int_equal(model->n_projects, 1);
    assert_int_equal(model->n_files, 4);
    assert_string_equal(model->files[0], "hygiene.yml");
}

static void test_cloud_run(void **state)
{
    const struct dl_resource *r = find(DL_KIND_CLOUD_RUN_SERVICE, "api");
    const struct dl_cloud_run_spec *s = &r->spec.run;
    struct dl_pos p;

    (void)state;
    assert_int_equal(r->mode, DL_MODE_REPORT);
    assert_true(r->mode_set);
    assert_string_equal(s->region, "europe-west4");
    assert_null(s->image);
    assert_true(s->has_build);
    assert_string_equal(s->build.dockerfile, "app/Dockerfile");
    assert_string_equal(s->build.context, "app");
    assert_null(s->build.commit);
    assert_int_equal(s->build.dockerfile_pos.line, 8);
    assert_int_equal(s->build.dockerfile_pos.col, 17);
    assert_int_equal(s->n_require_commits, 2);
    assert_string_equal(s->require_commits[1], "1a2b3c4");
    assert_int_equal(s->require_commit_pos[1].line, 10);
    assert_int_equal(s->require_commit_pos[1].col, 35);
    assert_string_equal(s->service_account,
                        "api@all-kinds-project.iam.gserviceaccount.com");
    assert_true(s->has_env);
    assert_int_equal(s->n_env, 5);
    assert_string_equal(s->env[0].name, "PLAIN");
    assert_string_equal(s->env[0].value, "value");
    assert_string_equal(s->env[1].value, "");
    assert_string_equal(s->env[2].value, "42");
    assert_null(s->env[3].value);
    assert_string_equal(s->env[3].secret, "api-token");
    assert_string_equal(s->env[3].version, "3");
    assert_string_equal(s->env[4].version, "latest");
    assert_int_equal(s->env[4].pos.line, 17);
    assert_string_equal(s->cpu, "500m");
    assert_int_equal(s->cpu_millis, 500);
    assert_int_equal(s->memory_bytes, 512 * 1024 * 1024);
    assert_int_equal(s->min_instances, 0);
    assert_int_equal(s->max_instances, 3);
    assert_int_equal(s->concurrency, 80);
    assert_int_equal(s->timeout_ns, 90 * DL_NS_PER_SEC);
    assert_true(s->has_labels);
    assert_int_equal(s->n_labels, 2);
    assert_string_equal(s->labels[1].key, "tier");
    assert_string_equal(s->labels[1].value, "");
    assert_true(s->has_traffic);
    assert_false(s->traffic_latest);
    assert_int_equal(s->n_traffic, 2);
    assert_string_equal(s->traffic[0].revision, "api-00041-abc");
    assert_int_equal(s->traffic[0].percent, 90);
    assert_true(s->traffic[1].latest);
    assert_string_equal(s->traffic[1].tag, "canary");
    assert_int_equal(s->n_ignore_fields, 1);
    assert_string_equal(s->ignore_fields[0], "spec.labels.run-id");
    p = dl_resource_field_pos(r, "spec.resources.memory");
    assert_int_equal(p.line, 20);
    assert_int_equal(p.col, 5);
    p = dl_resource_field_pos(r, "spec.traffic[1].tag");
    assert_int_equal(p.line, 34);
    p = dl_resource_field_pos(r, "spec.env.TOKEN");
    assert_int_equal(p.line, 16);

    r = find(DL_KIND_CLOUD_RUN_SERVICE, "pinned");
    s = &r->spec.run;
    assert_int_equal(r->mode, DL_MODE_ENFORCE); /* the Project's */
    assert_false(r->mode_set);
    assert_false(s->has_build);
    assert_non_null(strstr(s->image, "@sha256:"));
    assert_string_equal(s->region, "europe-west1"); /* the Project's */
    assert_int_equal(s->cpu_millis, 500);
    assert_int_equal(s->memory_bytes, 1 << 30);
    assert_int_equal(s->min_instances, DL_UNSET);
    assert_int_equal(s->concurrency, DL_UNSET);
    assert_int_equal(s->timeout_ns, DL_UNSET);
    assert_false(s->has_env);
    assert_false(s->has_labels);
    assert_false(s->has_traffic);
    assert_null(s->service_account);
    assert_int_equal(s->n_require_commits, 0);
}

static void test_iam(void **state)
{
    const struct dl_resource *r =
        find(DL_KIND_IAM_POLICY_MEMBER, "metric-writer");
    const struct dl_iam_binding_spec *b;

    (void)state;
    assert_string_equal(r->spec.iam_member.role,
                        "roles/monitoring.metricWriter");
    assert_true(r->spec.iam_member.has_condition);
    assert_string_equal(r->spec.iam_member.condition.title, "until-2027");
    assert_string_equal(r->spec.iam_member.condition.description, "temporary");
    assert_non_null(
        strstr(r->spec.iam_member.condition.expression, "request.time"));
    assert_string_equal(r->spec.iam_member.resource,
                        "projects/all-kinds-project");
    b = &find(DL_KIND_IAM_POLICY_BINDING, "custom-role")->spec.iam_binding;
    assert_string_equal(b->role,
                        "projects/all-kinds-project/roles/custom.viewer");
    assert_int_equal(b->n_members, 1);
    assert_string_equal(b->members[0], "group:viewers@example.com");
    assert_false(b->has_condition);
    b = &find(DL_KIND_IAM_POLICY_BINDING, "org-role")->spec.iam_binding;
    assert_int_equal(b->n_members, 0);
}

static void test_hygiene(void **state)
{
    const struct dl_firestore_spec *f =
        &find(DL_KIND_FIRESTORE_COLLECTION_POLICY, "heartbeats")
             ->spec.firestore;
    const struct dl_bigquery_spec *q =
        &find(DL_KIND_BIGQUERY_TABLE_POLICY, "staging")->spec.bigquery;
    const struct dl_resource *r =
        find(DL_KIND_STORAGE_BUCKET_POLICY, "empty-buckets");

    (void)state;
    assert_string_equal(f->database, "analytics-db");
    assert_string_equal(f->collection, "processor_heartbeats");
    assert_int_equal(f->max_documents, 100);
    assert_true(dl_pattern_match(&f->id_pattern, "nba_phase3_analytics"));
    assert_false(dl_pattern_match(&f->id_pattern,
                                  "nba_phase3_analytics_20260201_183012"));
    /* Anchored: a match inside the ID is not enough. */
    assert_false(dl_pattern_match(&f->id_pattern, "x-nba"));
    assert_string_equal(f->stale_field, "last_heartbeat");
    assert_int_equal(f->stale_age_ns, 5400 * DL_NS_PER_SEC);
    assert_int_equal(f->max_deletes_per_run, 1000);
    assert_string_equal(q->dataset, "nba_predictions");
    assert_true(dl_pattern_match(&q->table_pattern, "staging_20260101"));
    assert_false(dl_pattern_match(&q->table_pattern, "prod_staging_x"));
    assert_int_equal(q->older_than_ns, 7 * 86400 * DL_NS_PER_SEC);
    assert_int_equal(q->max_deletes_per_run, 50);
    assert_int_equal(r->spec.bucket.when_empty, DL_WHEN_EMPTY_DELETE);
    assert_int_equal(r->mode, DL_MODE_ENFORCE);
    assert_true(dl_pattern_match(&r->spec.bucket.bucket_pattern, "nba-x.tmp"));
    assert_false(dl_pattern_match(&r->spec.bucket.bucket_pattern, "nba-xtmp"));
    assert_int_equal(r->spec.bucket.max_deletes_per_run, 5);
}

static void test_defaults(void **state)
{
    struct dl_tree *t = mem_tree_new("t", 0);
    struct dl_model *m = NULL;
    struct dl_diags d;
    struct dl_err err;
    const struct dl_resource *r;

    (void)state;
    mem_tree_add_str(t, "p.yaml",
                     "apiVersion: driftless.dev/v1alpha1\nkind: Project\n"
                     "metadata: {name: defaults-project}\n");
    mem_tree_add_str(t, "f.yaml",
                     "apiVersion: driftless.dev/v1alpha1\n"
                     "kind: FirestoreCollectionPolicy\n"
                     "metadata: {name: f}\n"
                     "spec: {collection: c, maxDocuments: 0}\n"
                     "---\n"
                     "apiVersion: driftless.dev/v1alpha1\n"
                     "kind: StorageBucketPolicy\n"
                     "metadata: {name: b}\n"
                     "spec: {bucketPattern: x}\n");
    dl_diags_init(&d);
    assert_int_equal(dl_model_load(&m, t, ".", &d, &err), 0);
    r = m->projects[0];
    assert_int_equal(r->mode, DL_MODE_REPORT);
    assert_null(r->spec.project.region);
    assert_false(r->spec.project.prune);
    assert_false(r->spec.project.suspend);
    r = dl_model_find(m, DL_KIND_FIRESTORE_COLLECTION_POLICY, NULL, "f");
    assert_int_equal(r->mode, DL_MODE_REPORT);
    assert_string_equal(r->spec.firestore.database, "(default)");
    assert_int_equal(r->spec.firestore.max_documents, 0);
    assert_false(r->spec.firestore.id_pattern.compiled);
    assert_null(r->spec.firestore.stale_field);
    assert_int_equal(r->spec.firestore.stale_age_ns, DL_UNSET);
    assert_int_equal(r->spec.firestore.max_deletes_per_run, DL_UNSET);
    r = dl_model_find(m, DL_KIND_STORAGE_BUCKET_POLICY, NULL, "b");
    assert_int_equal(r->spec.bucket.when_empty, DL_WHEN_EMPTY_REPORT);
    assert_int_equal(r->spec.bucket.max_deletes_per_run, DL_UNSET);
    dl_model_free(m);
    dl_diags_dispose(&d);
    dl_tree_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_table), cmocka_unit_test(test_project),
        cmocka_unit_test(test_cloud_run),  cmocka_unit_test(test_iam),
        cmocka_unit_test(test_hygiene),    cmocka_unit_test(test_defaults),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
