/*
 * seed_first_user.c - the live state our first user had, seeded into the
 * sandbox (fakegcp and the Firestore emulator). Run by ./seed, which
 * computes the commits with git:
 *
 *   seed-first-user --head SHA --old SHA [--project ID] [--number N]
 *                   [--skip-fakegcp] [--skip-firestore] [--inflight N]
 *
 * --head is the monorepo commit the in-sync services were built from,
 * --old a commit before the heartbeat fix (what phase 2 still serves).
 * Needs FAKEGCP_URL and FIRESTORE_EMULATOR_HOST (the sandbox's env file).
 *
 * fakegcp gets one PUT /_fake/v1/state: the project, the four Cloud Run
 * services of desired-state/services/ (plus one unmanaged service), the
 * project's IAM policy without the prediction worker's metricWriter
 * member, BigQuery tables (50 old staging tables, 3 temp tables) and
 * Storage buckets (5 empty ones). The emulator's database is cleared, then
 * 106,349 heartbeat documents are written with batchWrite (500 writes a
 * request, several requests in flight).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gcp/firestore.h"
#include "gcp/gcp.h"
#include "util/alloc.h"
#include "util/time.h"

#define REGION "us-west2"
#define LATEST "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
#define DAY (86400 * DL_NS_PER_SEC)

/* The documents of the incident (issue 9). */
#define N_TOTAL 106349
#define N_RUN_SUFFIXED 105623
#define N_FRESH 30
#define N_STALE (N_TOTAL - N_RUN_SUFFIXED - N_FRESH)

struct opts {
    const char *project, *number, *head, *old;
    int skip_fakegcp, skip_firestore, inflight;
};

/* ---- fakegcp state ---- */

struct svc_def {
    const char *name, *dockerfile, *sa, *phase_env, *cpu, *memory, *timeout;
    const char *phase_label;
    int min, max, concurrency, secret, generation;
    const char *suffix; /* revision name suffix */
};

#define PROCESSORS_SA "nba-processors@%s.iam.gserviceaccount.com"
#define WORKER_SA "prediction-worker@%s.iam.gserviceaccount.com"

/* Exactly what desired-state/services/ declares. */
static const struct svc_def services[] = {
    {.name = "nba-phase2-raw-processors",
     .dockerfile = "data_processors/raw/Dockerfile",
     .sa = "nba-processors",
     .phase_env = "phase2",
     .cpu = "2",
     .memory = "2Gi",
     .timeout = "1800s",
     .phase_label = "phase2",
     .min = 0,
     .max = 10,
     .concurrency = 1,
     .secret = 1,
     .generation = 126,
     .suffix = "xiv"},
    {.name = "nba-phase3-analytics-processors",
     .dockerfile = "data_processors/analytics/Dockerfile",
     .sa = "nba-processors",
     .phase_env = "phase3",
     .cpu = "2",
     .memory = "4Gi",
     .timeout = "3600s",
     .phase_label = "phase3",
     .min = 0,
     .max = 10,
     .concurrency = 1,
     .secret = 1,
     .generation = 88,
     .suffix = "qed"},
    {.name = "nba-phase4-precompute-processors",
     .dockerfile = "data_processors/precompute/Dockerfile",
     .sa = "nba-processors",
     .phase_env = "phase4",
     .cpu = "2",
     .memory = "4Gi",
     .timeout = "3600s",
     .phase_label = "phase4",
     .min = 0,
     .max = 5,
     .concurrency = 1,
     .secret = 1,
     .generation = 61,
     .suffix = "baz"},
    {.name = "prediction-worker",
     .dockerfile = "predictions/worker/Dockerfile",
     .sa = "prediction-worker",
     .phase_env = NULL,
     .cpu = "1",
     .memory = "2Gi",
     .timeout = "300s",
     .phase_label = "phase5",
     .min = 1,
     .max = 20,
     .concurrency = 10,
     .secret = 0,
     .generation = 203,
     .suffix = "kol"},
};

/* A stable fake image digest for (service, commit). */
static void digest(char out[72], const char *svc, const char *commit)
{
    unsigned long long h = 1469598103934665603ULL;
    char *p = out;

    p += sprintf(p, "sha256:");
    for (const char *s = svc; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    for (const char *s = commit; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    for (int i = 0; i < 4; i++) {
        h = (h ^ (unsigned long long)i) * 1099511628211ULL;
        p += sprintf(p, "%016llx", h);
    }
}

static json_t *container(const struct opts *o, const struct svc_def *d,
                         const char *commit)
{
    char dig[72];
    json_t *env = json_array(), *limits, *c;

    digest(dig, d->name, commit);
    json_array_append_new(env, json_pack("{s:s,s:s}", "name", "GCP_PROJECT",
                                         "value", o->project));
    if (d->phase_env)
        json_array_append_new(env,
                              json_pack("{s:s,s:s}", "name", "PROCESSOR_PHASE",
                                        "value", d->phase_env));
    else
        json_array_append_new(env, json_pack("{s:s,s:s}", "name",
                                             "PREDICTION_DATASET", "value",
                                             "nba_predictions"));
    if (d->secret)
        json_array_append_new(
            env, json_pack("{s:s,s:{s:{s:s,s:s}}}", "name", "SLACK_WEBHOOK_URL",
                           "valueSource", "secretKeyRef", "secret",
                           "slack-webhook-url", "version", "latest"));
    limits = json_pack("{s:s,s:s}", "cpu", d->cpu, "memory", d->memory);
    c = json_pack("{s:s,s:o,s:{s:o,s:b}}", "image", "", "env", env, "resources",
                  "limits", limits, "cpuIdle", 1);
    json_object_set_new(c, "image",
                        json_sprintf("%s-docker.pkg.dev/%s/services/%s@%s",
                                     REGION, o->project, d->name, dig));
    return c;
}

/* The revision template: what driftless would have deployed. Cloud Run
 * omits zero values (proto3 JSON), so minInstanceCount 0 is absent. */
static json_t *template(const struct opts *o, const struct svc_def *d,
                        const char *commit)
{
    json_t *scaling = json_pack("{s:i}", "maxInstanceCount", d->max);
    json_t *t;

    if (d->min > 0)
        json_object_set_new(scaling, "minInstanceCount", json_integer(d->min));
    t = json_pack("{s:{s:s,s:s},s:o,s:i,s:s,s:[o]}", "annotations",
                  "driftless.dev/commit", commit, "driftless.dev/dockerfile",
                  d->dockerfile, "scaling", scaling,
                  "maxInstanceRequestConcurrency", d->concurrency, "timeout",
                  d->timeout, "containers", container(o, d, commit));
    json_object_set_new(
        t, "serviceAccount",
        json_sprintf("%s@%s.iam.gserviceaccount.com", d->sa, o->project));
    return t;
}

static json_t *ready(const char *type, const char *when)
{
    return json_pack("{s:s,s:s,s:s}", "type", type, "state",
                     "CONDITION_SUCCEEDED", "lastTransitionTime", when);
}

static void add_service(json_t *svcs, json_t *revs, const struct opts *o,
                        const struct svc_def *d, const char *commit,
                        int64_t deployed)
{
    char when[40], created[40];
    char *sname = dl_asprintf("projects/%s/locations/%s/services/%s",
                              o->project, REGION, d->name);
    char *rname = dl_asprintf("%s/revisions/%s-%05d-%s", sname, d->name,
                              d->generation, d->suffix);
    json_t *t = template(o, d, commit), *rev, *svc;
    const char *k;
    json_t *v;

    dl_time_format_rfc3339(when, sizeof(when), deployed);
    dl_time_format_rfc3339(created, sizeof(created), deployed - 300 * DAY);
    svc = json_pack(
        "{s:s,s:{s:s,s:s,s:s},s:s,s:s,s:s,s:s,s:s,s:O,s:[{s:s,s:i}],s:s,s:s}",
        "name", sname, "labels", "managed-by", "driftless", "team",
        "data-platform", "phase", d->phase_label, "generation", "",
        "createTime", created, "updateTime", when, "creator",
        "deployer@nba-props.example", "lastModifier",
        "driftless@nba-props-platform.iam.gserviceaccount.com", "template", t,
        "traffic", "type", LATEST, "percent", 100, "latestCreatedRevision",
        rname, "latestReadyRevision", rname);
    json_object_set_new(svc, "generation", json_sprintf("%d", d->generation));
    json_array_append_new(svcs, svc);

    /* The serving revision: the template as it was deployed. */
    rev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:[o,o],s:s}", "name", rname,
                    "service", d->name, "generation", "1", "createTime", when,
                    "launchStage", "GA", "executionEnvironment",
                    "EXECUTION_ENVIRONMENT_GEN2", "conditions",
                    ready("Ready", when), ready("ContainerHealthy", when),
                    "observedGeneration", "1");
    json_object_foreach(t, k, v) json_object_set(rev, k, v);
    json_array_append_new(revs, rev);
    json_decref(t);
    free(rname);
    free(sname);
}

static void add_binding(json_t *bindings, const char *role, const char *m1,
                        const char *m2, const char *m3)
{
    json_t *members = json_array();
    const char *ms[] = {m1, m2, m3};

    for (int i = 0; i < 3; i++)
        if (ms[i])
            json_array_append_new(members, json_string(ms[i]));
    json_array_append_new(
        bindings, json_pack("{s:s,s:o}", "role", role, "members", members));
}

static json_t *iam_policy(const struct opts *o)
{
    json_t *b = json_array();
    char *proc = dl_asprintf("serviceAccount:" PROCESSORS_SA, o->project);
    char *worker = dl_asprintf("serviceAccount:" WORKER_SA, o->project);
    char *compute = dl_asprintf(
        "serviceAccount:%s-compute@developer.gserviceaccount.com", o->number);
    char *cloudbuild = dl_asprintf(
        "serviceAccount:%s@cloudbuild.gserviceaccount.com", o->number);
    char *robot = dl_asprintf(
        "serviceAccount:service-%s@serverless-robot-prod.iam.gserviceaccount."
        "com",
        o->number);
    char *driftless = dl_asprintf(
        "serviceAccount:driftless@%s.iam.gserviceaccount.com", o->project);

    add_binding(b, "roles/owner", "group:nba-platform-admins@googlegroups.com",
                "user:founder@nba-props.example", NULL);
    add_binding(b, "roles/editor", compute, NULL, NULL);
    add_binding(b, "roles/cloudbuild.builds.builder", cloudbuild, NULL, NULL);
    add_binding(b, "roles/run.serviceAgent", robot, NULL, NULL);
    add_binding(b, "roles/run.developer", driftless, cloudbuild, NULL);
    add_binding(b, "roles/run.invoker", proc, NULL, NULL);
    add_binding(b, "roles/datastore.user", proc, worker, driftless);
    add_binding(b, "roles/bigquery.dataEditor", proc, worker, NULL);
    add_binding(b, "roles/bigquery.jobUser", proc, worker, NULL);
    add_binding(b, "roles/logging.logWriter", proc, worker, NULL);
    /* The incident: the prediction worker is not here. */
    add_binding(b, "roles/monitoring.metricWriter", proc, NULL, NULL);
    add_binding(b, "roles/secretmanager.secretAccessor", proc, NULL, NULL);
    add_binding(b, "roles/resourcemanager.projectIamAdmin", driftless, NULL,
                NULL);
    free(proc);
    free(worker);
    free(compute);
    free(cloudbuild);
    free(robot);
    free(driftless);
    return json_pack("{s:o}", "bindings", b);
}

static void add_table(json_t *tables, const struct opts *o, const char *dataset,
                      const char *id, int64_t created)
{
    json_t *t = json_pack("{s:{s:s,s:s,s:s},s:s}", "tableReference",
                          "projectId", o->project, "datasetId", dataset,
                          "tableId", id, "type", "TABLE");

    json_object_set_new(
        t, "creationTime",
        json_sprintf("%lld", (long long)(created / DL_NS_PER_MS)));
    json_array_append_new(tables, t);
}

static json_t *bigquery(const struct opts *o, int64_t now)
{
    json_t *tables = json_array(), *datasets = json_array();
    const char *ds[] = {"nba_predictions", "nba_raw", "nba_analytics"};
    char id[128], day[40];

    for (size_t i = 0; i < 3; i++)
        json_array_append_new(
            datasets, json_pack("{s:{s:s,s:s}}", "datasetReference",
                                "projectId", o->project, "datasetId", ds[i]));
    /* 50 staging tables older than 7 days, left behind by prediction runs
     * (both spellings the pattern "_?staging_.*" allows). */
    for (int i = 0; i < 50; i++) {
        int64_t t =
            now - (int64_t)(10 + i) * DAY - (int64_t)i * 3600 * DL_NS_PER_SEC;

        dl_time_format_rfc3339(day, sizeof(day), t);
        snprintf(id, sizeof(id), "%sstaging_predictions_%.4s%.2s%.2s_%02d",
                 i % 5 == 0 ? "" : "_", day, day + 5, day + 8, i % 24);
        add_table(tables, o, "nba_predictions", id, t);
    }
    /* Recent staging tables (a run in progress): match, but too young. */
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof(id), "_staging_predictions_current_%d", i);
        add_table(tables, o, "nba_predictions", id,
                  now - (int64_t)(i + 1) * 3600 * DL_NS_PER_SEC);
    }
    /* Old tables that do not match the pattern. */
    add_table(tables, o, "nba_predictions", "player_prop_predictions",
              now - 400 * DAY);
    add_table(tables, o, "nba_predictions", "prediction_accuracy",
              now - 380 * DAY);
    add_table(tables, o, "nba_predictions", "predictions_staging_archive",
              now - 200 * DAY);
    add_table(tables, o, "nba_predictions", "ml_feature_store_v2",
              now - 120 * DAY);
    /* nba_raw: 3 temp tables older than 2 days, and the raw tables. */
    add_table(tables, o, "nba_raw", "tmp_gamebook_load_20261101",
              now - 28 * DAY);
    add_table(tables, o, "nba_raw", "temp_odds_merge_20261115", now - 14 * DAY);
    add_table(tables, o, "nba_raw", "tmp_bdl_boxscores_20261120",
              now - 9 * DAY);
    add_table(tables, o, "nba_raw", "nbac_gamebook_player_stats",
              now - 420 * DAY);
    add_table(tables, o, "nba_raw", "odds_api_player_points_props",
              now - 410 * DAY);
    add_table(tables, o, "nba_raw", "bdl_player_boxscores", now - 405 * DAY);
    add_table(tables, o, "nba_analytics", "player_game_summary",
              now - 390 * DAY);
    return json_pack("{s:o,s:o}", "tables", tables, "datasets", datasets);
}

static json_t *storage(const struct opts *o)
{
    static const char *const empty[] = {
        "nba-props-platform-tmp-exports", "nba-scraper-backfill-2025",
        "nba-props-ml-experiments", "nba-analytics-scratch",
        "nba-props-platform-test"};
    static const char *const full[] = {"nba-scraped-data",
                                       "nba-props-platform-api-exports",
                                       "nba-props-model-archive"};
    json_t *buckets = json_array(), *objects = json_array();
    char *other = dl_asprintf("run-sources-%s-%s", o->project, REGION);

    for (size_t i = 0; i < 5; i++)
        json_array_append_new(
            buckets, json_pack("{s:s,s:s,s:s,s:s}", "name", empty[i],
                               "projectNumber", o->number, "location",
                               "US-WEST2", "storageClass", "STANDARD"));
    for (size_t i = 0; i < 3; i++)
        json_array_append_new(
            buckets, json_pack("{s:s,s:s,s:s,s:s}", "name", full[i],
                               "projectNumber", o->number, "location",
                               "US-WEST2", "storageClass", "STANDARD"));
    /* Empty, but not matched by "nba-.*". */
    json_array_append_new(buckets,
                          json_pack("{s:s,s:s,s:s,s:s}", "name", other,
                                    "projectNumber", o->number, "location",
                                    "US-WEST2", "storageClass", "STANDARD"));
    json_array_append_new(objects,
                          json_pack("{s:s,s:s}", "bucket", "nba-scraped-data",
                                    "name", "nbac/gamebook/2026-11-28.json"));
    json_array_append_new(objects,
                          json_pack("{s:s,s:s}", "bucket", "nba-scraped-data",
                                    "name", "odds_api/props/2026-11-28.json"));
    json_array_append_new(objects,
                          json_pack("{s:s,s:s}", "bucket",
                                    "nba-props-platform-api-exports", "name",
                                    "exports/tonight/all-players.json"));
    /* Only a noncurrent version left: not empty. */
    json_array_append_new(objects, json_pack("{s:s,s:s,s:s}", "bucket",
                                             "nba-props-model-archive", "name",
                                             "models/xgb-v3.bin", "timeDeleted",
                                             "2026-10-02T08:00:00Z"));
    free(other);
    return json_pack("{s:o,s:o}", "buckets", buckets, "objects", objects);
}

static json_t *fakegcp_state(const struct opts *o, int64_t now)
{
    json_t *svcs = json_array(), *revs = json_array(), *iam;
    char *rs = dl_asprintf("projects/%s", o->project);
    size_t n = sizeof(services) / sizeof(services[0]);

    for (size_t i = 0; i < n; i++) {
        /* Phase 2 still serves what was deployed before the fix. */
        int stale = strcmp(services[i].name, "nba-phase2-raw-processors") == 0;

        add_service(svcs, revs, o, &services[i], stale ? o->old : o->head,
                    now - (stale ? 75 : 2) * DAY);
    }
    /* Not managed by driftless (no label): never planned. */
    json_array_append_new(
        svcs, json_pack("{s:s,s:{s:s},s:{s:[{s:s}]}}", "name", "", "labels",
                        "team", "scrapers", "template", "containers", "image",
                        "us-west2-docker.pkg.dev/nba-props-platform/services/"
                        "nba-scrapers:latest"));
    json_object_set_new(json_array_get(svcs, json_array_size(svcs) - 1), "name",
                        json_sprintf("projects/%s/locations/%s/services/"
                                     "nba-scrapers",
                                     o->project, REGION));
    iam = json_object();
    json_object_set_new(iam, rs, iam_policy(o));
    free(rs);
    return json_pack("{s:[{s:s,s:s}],s:{s:o,s:o},s:o,s:[],s:o,s:o}", "projects",
                     "projectId", o->project, "projectNumber", o->number, "run",
                     "services", svcs, "revisions", revs, "iam", iam, "builds",
                     "bigquery", bigquery(o, now), "storage", storage(o));
}

struct call {
    int rc;
    char msg[512];
};

static void call_done(struct dl_gcp_client *c, int rc,
                      const struct dl_gcp_response *r, const struct dl_err *err,
                      void *ud)
{
    struct call *k = ud;

    (void)c;
    (void)r;
    k->rc = rc;
    if (rc < 0)
        snprintf(k->msg, sizeof(k->msg), "%s", err->msg);
}

/* One request to an absolute URL (fakegcp's admin API, the emulator's). */
static int raw_call(struct dl_gcp_client *c, const char *method,
                    const char *url, json_t *body)
{
    struct dl_gcp_request q;
    struct call k = {0, ""};
    struct dl_err err;

    memset(&q, 0, sizeof(q));
    q.api = DL_GCP_FIRESTORE;
    q.method = method;
    q.path = url;
    q.body = body;
    q.retry = DL_GCP_RETRY_SAFE;
    q.flags = DL_GCP_NO_AUTH | DL_GCP_RAW;
    q.done = call_done;
    q.ud = &k;
    if (dl_gcp_submit(c, &q, &err) < 0) {
        fprintf(stderr, "seed: %s %s: %s\n", method, url, err.msg);
        return -1;
    }
    if (dl_gcp_client_run(c, &err) < 0 || k.rc < 0) {
        fprintf(stderr, "seed: %s %s: %s\n", method, url,
                k.rc < 0 ? k.msg : err.msg);
        return -1;
    }
    return 0;
}

/* ---- Firestore ---- */

static const char *const phases[] = {"phase1_scrapers",    "phase2_raw",
                                     "phase3_analytics",   "phase4_precompute",
                                     "phase5_predictions", "phase6_publishing"};
static const char *const topics[] = {
    "gamebook", "boxscores", "odds",     "schedule",  "injuries",   "rosters",
    "props",    "lineups",   "referees", "standings", "playbyplay", "shots"};
static const char *const variants[] = {"backfill", "legacy", "vone",   "vtwo",
                                       "manual",   "retry",  "replay", "canary",
                                       "debug",    "shadow"};

struct seeder {
    struct dl_gcp_client *c;
    const struct opts *o;
    char db[160];
    int64_t now;
    size_t next;    /* next document index to write */
    size_t written; /* writes acknowledged */
    size_t failed;  /* writes or requests failed */
    int inflight;   /* batchWrites in flight */
    int requests;   /* batchWrites sent */
    char first_error[512];
};

/* The document ID of index i and its fields' values. */
static void doc_of(const struct seeder *s, size_t i, char *id, size_t idsize,
                   char *proc, size_t psize, int64_t *beat)
{
    size_t p;

    if (i < N_RUN_SUFFIXED) {
        /* A run-suffixed ID: "<processor>_YYYYMMDD_HHMMSS", one a minute
         * back from now, round the 30 processors. */
        char t[40];

        p = i % N_FRESH;
        *beat = s->now - (int64_t)(N_RUN_SUFFIXED - i) * 61 * DL_NS_PER_SEC;
        dl_time_format_rfc3339(t, sizeof(t), *beat);
        snprintf(proc, psize, "nba_%s_%s", phases[p / 5], topics[p % 5]);
        snprintf(id, idsize, "%s_%.4s%.2s%.2s_%.2s%.2s%.2s", proc, t, t + 5,
                 t + 8, t + 11, t + 14, t + 17);
    } else if (i < N_RUN_SUFFIXED + N_FRESH) {
        /* One fresh document per processor. */
        p = i - N_RUN_SUFFIXED;
        *beat = s->now;
        snprintf(proc, psize, "nba_%s_%s", phases[p / 5], topics[p % 5]);
        snprintf(id, idsize, "%s", proc);
    } else {
        /* Processors retired long ago: valid IDs, stale heartbeats. */
        p = i - N_RUN_SUFFIXED - N_FRESH;
        *beat = s->now - (int64_t)(8 + p % 180) * DAY -
                (int64_t)p * 97 * DL_NS_PER_SEC;
        snprintf(proc, psize, "nba_%s_%s_%s", phases[p % 6],
                 topics[(p / 6) % 12], variants[p / 72]);
        snprintf(id, idsize, "%s", proc);
    }
}

static int submit_next(struct seeder *s);

static void batch_done(struct dl_gcp_client *c, int rc,
                       const struct dl_err *err,
                       const struct dl_firestore_write_result *res, size_t n,
                       void *ud)
{
    struct seeder *s = ud;

    (void)c;
    s->inflight--;
    if (rc < 0) {
        s->failed++;
        if (!s->first_error[0])
            snprintf(s->first_error, sizeof(s->first_error), "%s", err->msg);
    } else {
        for (size_t i = 0; i < n; i++) {
            if (res[i].code != 0) {
                s->failed++;
                if (!s->first_error[0])
                    snprintf(s->first_error, sizeof(s->first_error),
                             "write: %s",
                             res[i].message ? res[i].message : "failed");
            } else {
                s->written++;
            }
        }
    }
    if (!s->failed)
        (void)submit_next(s);
}

/* Queue the next batch of up to 500 writes (0 when there is none left). */
static int submit_next(struct seeder *s)
{
    json_t *writes;
    struct dl_err err;
    size_t end;
    int rc;

    if (s->next >= N_TOTAL)
        return 0;
    end = s->next + DL_FIRESTORE_MAX_WRITES;
    if (end > N_TOTAL)
        end = N_TOTAL;
    writes = json_array();
    for (; s->next < end; s->next++) {
        char id[160], proc[128], name[400], beat_s[40], run[40];
        int64_t beat;

        doc_of(s, s->next, id, sizeof(id), proc, sizeof(proc), &beat);
        dl_time_format_rfc3339(beat_s, sizeof(beat_s), beat);
        snprintf(run, sizeof(run), "%.4s%.2s%.2s_%.2s%.2s%.2s", beat_s,
                 beat_s + 5, beat_s + 8, beat_s + 11, beat_s + 14, beat_s + 17);
        snprintf(name, sizeof(name), "%s/documents/processor_heartbeats/%s",
                 s->db, id);
        /* As shared/heartbeat.py wrote them: the buggy version only a
         * timestamp, the fixed one also the run ID. */
        if (s->next < N_RUN_SUFFIXED)
            json_array_append_new(writes, json_pack("{s:{s:s,s:{s:{s:s}}}}",
                                                    "update", "name", name,
                                                    "fields", "last_heartbeat",
                                                    "timestampValue", beat_s));
        else
            json_array_append_new(
                writes,
                json_pack("{s:{s:s,s:{s:{s:s},s:{s:s}}}}", "update", "name",
                          name, "fields", "last_heartbeat", "timestampValue",
                          beat_s, "run_id", "stringValue", run));
    }
    rc = dl_firestore_batch_write_submit(s->c, s->db, writes, DL_GCP_RETRY_SAFE,
                                         batch_done, s, &err);
    json_decref(writes);
    if (rc < 0) {
        s->failed++;
        snprintf(s->first_error, sizeof(s->first_error), "%s", err.msg);
        return rc;
    }
    s->inflight++;
    s->requests++;
    return 1;
}

static int seed_firestore(struct dl_gcp_client *c, const struct opts *o,
                          int64_t now)
{
    struct seeder s;
    struct dl_err err;
    const char *host = getenv("FIRESTORE_EMULATOR_HOST");
    char *url;
    int64_t t0, tc, t1;
    int rc;

    memset(&s, 0, sizeof(s));
    s.c = c;
    s.o = o;
    s.now = now;
    snprintf(s.db, sizeof(s.db), "projects/%s/databases/(default)", o->project);
    if (!host || !*host) {
        fprintf(stderr, "seed: FIRESTORE_EMULATOR_HOST is not set\n");
        return -1;
    }
    t0 = dl_time_mono_ns();
    url = dl_asprintf("http://%s/emulator/v1/projects/%s/databases/(default)/"
                      "documents",
                      host, o->project);
    rc = raw_call(c, "DELETE", url, NULL);
    free(url);
    if (rc < 0)
        return -1;
    tc = dl_time_mono_ns();
    for (int i = 0; i < o->inflight; i++)
        if (submit_next(&s) <= 0)
            break;
    if (dl_gcp_client_run(c, &err) < 0) {
        fprintf(stderr, "seed: %s\n", err.msg);
        return -1;
    }
    t1 = dl_time_mono_ns();
    if (s.failed || s.written != N_TOTAL) {
        fprintf(stderr,
                "seed: Firestore: %zu of %d documents written, %zu failed: "
                "%s\n",
                s.written, N_TOTAL, s.failed,
                s.first_error[0] ? s.first_error : "stopped early");
        return -1;
    }
    printf("seed: Firestore: %zu documents in processor_heartbeats (%d "
           "run-suffixed, %d fresh, %d stale) written in %.2f s (%d "
           "batchWrites, %d in flight; clearing the database took %.2f s)\n",
           s.written, N_RUN_SUFFIXED, N_FRESH, N_STALE, (double)(t1 - tc) / 1e9,
           s.requests, o->inflight, (double)(tc - t0) / 1e9);
    return 0;
}

static int seed_fakegcp(struct dl_gcp_client *c, const struct opts *o,
                        int64_t now)
{
    const char *base = getenv("FAKEGCP_URL");
    json_t *st;
    char *url;
    int rc;

    if (!base || !*base) {
        fprintf(stderr, "seed: FAKEGCP_URL is not set\n");
        return -1;
    }
    st = fakegcp_state(o, now);
    url = dl_asprintf("%s/_fake/v1/state", base);
    rc = raw_call(c, "PUT", url, st);
    free(url);
    json_decref(st);
    if (rc == 0)
        printf("seed: fakegcp: project %s (%s): 4 managed Cloud Run services "
               "in %s (phase 2 serving %.7s, the others %.7s), IAM policy "
               "without the prediction worker's metricWriter, 57 BigQuery "
               "tables in nba_predictions (50 stale staging), 3 temp tables "
               "in nba_raw, 5 empty buckets\n",
               o->project, o->number, REGION, o->old, o->head);
    return rc;
}

static int is_sha(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n != 40)
        return 0;
    return strspn(s, "0123456789abcdef") == n;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"head", required_argument, NULL, 'H'},
        {"old", required_argument, NULL, 'O'},
        {"project", required_argument, NULL, 'p'},
        {"number", required_argument, NULL, 'n'},
        {"inflight", required_argument, NULL, 'i'},
        {"skip-fakegcp", no_argument, NULL, 'F'},
        {"skip-firestore", no_argument, NULL, 'S'},
        {NULL, 0, NULL, 0},
    };
    struct opts o = {.project = "nba-props-platform",
                     .number = "830145672014",
                     .inflight = 4};
    struct dl_gcp_client_opts copts;
    struct dl_gcp_client *c = NULL;
    struct dl_err err;
    int ch, rc = 1;
    int64_t now = dl_time_now_ns();

    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'H':
            o.head = optarg;
            break;
        case 'O':
            o.old = optarg;
            break;
        case 'p':
            o.project = optarg;
            break;
        case 'n':
            o.number = optarg;
            break;
        case 'i':
            o.inflight = atoi(optarg);
            break;
        case 'F':
            o.skip_fakegcp = 1;
            break;
        case 'S':
            o.skip_firestore = 1;
            break;
        default:
            goto usage;
        }
    }
    if (optind != argc || !is_sha(o.head) || !is_sha(o.old) || o.inflight < 1 ||
        o.inflight > 64)
        goto usage;
    memset(&copts, 0, sizeof(copts));
    copts.no_auth = 1;
    copts.max_inflight = o.inflight;
    for (int i = 0; i < DL_GCP_API_COUNT; i++)
        copts.rate[i] = -1;
    if (dl_gcp_client_new(&c, &copts, &err) < 0) {
        fprintf(stderr, "seed: %s\n", err.msg);
        return 1;
    }
    if (!o.skip_fakegcp && seed_fakegcp(c, &o, now) < 0)
        goto done;
    if (!o.skip_firestore && seed_firestore(c, &o, now) < 0)
        goto done;
    rc = 0;
done:
    dl_gcp_client_free(c);
    return rc;
usage:
    fprintf(stderr,
            "usage: seed-first-user --head SHA --old SHA [--project ID] "
            "[--number N] [--inflight N] [--skip-fakegcp] "
            "[--skip-firestore]\n(SHA: a full 40-hex commit id)\n");
    return 1;
}
