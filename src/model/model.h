/*
 * model.h - the desired state: typed resources read from YAML, validated.
 *
 * dl_model_load reads every .yaml/.yml file under a directory of a struct
 * dl_tree (a git commit or a directory), checks every document against the
 * schema of its kind, scopes resources to Projects (a directory's Project
 * applies to that directory and everything below it; the nearest wins),
 * resolves each resource's effective mode, and checks what refers to the
 * tree (Dockerfiles, build contexts, git revisions). Every problem is a
 * diagnostic `file:line:col: message`; all are collected.
 *
 * The model owns all its memory (strings, compiled regexes); it is
 * read-only once loaded and may be shared between threads.
 * Field presence: "Only what a declaration states is managed", so every
 * optional field records whether it was given: strings are NULL, numbers
 * are -1 (DL_UNSET) and collections have a has_* flag when absent.
 */
#ifndef DL_MODEL_MODEL_H
#define DL_MODEL_MODEL_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#include "model/diag.h"
#include "util/err.h"
#include "util/tree.h"

#define DL_API_VERSION "driftless.dev/v1alpha1"
/* Largest desired-state file read (bigger ones are a diagnostic). */
#define DL_MODEL_MAX_FILE_SIZE (1024 * 1024)
/* Most .yaml/.yml files read under one path. */
#define DL_MODEL_MAX_FILES 10000
/* Value of an integer or duration field that was not given. */
#define DL_UNSET (-1)

enum dl_kind {
    DL_KIND_PROJECT = 0,
    DL_KIND_CLOUD_RUN_SERVICE,
    DL_KIND_IAM_POLICY_MEMBER,
    DL_KIND_IAM_POLICY_BINDING,
    DL_KIND_FIRESTORE_COLLECTION_POLICY,
    DL_KIND_BIGQUERY_TABLE_POLICY,
    DL_KIND_STORAGE_BUCKET_POLICY,
    DL_KIND_COUNT
};

/* "Project", "CloudRunService", ...; "?" for a value out of range. */
const char *dl_kind_name(enum dl_kind kind);
/* The kind named name (exact spelling). 0, or DL_ENOTFOUND. */
int dl_kind_parse(enum dl_kind *out, const char *name) DL_WUR;

enum dl_mode { DL_MODE_REPORT = 0, DL_MODE_ENFORCE = 1 };
/* "report" or "enforce". */
const char *dl_mode_name(enum dl_mode mode);

/* A place in the desired state. file points into the model (or the
 * resource); line and col are 1-based. */
struct dl_pos {
    const char *file;
    int line, col;
};

/* Where one field was set: path like "spec.resources.cpu", "spec.env.FOO",
 * "spec.traffic[1].percent"; pos is its key's position. */
struct dl_field_pos {
    char *path;
    struct dl_pos pos;
};

/* A compiled POSIX ERE that must match the whole string. */
struct dl_pattern {
    char *source; /* as written; NULL when not given */
    regex_t re;   /* compiled "^(source)$", REG_EXTENDED | REG_NOSUB */
    int compiled; /* re is valid */
};

/* Does s match p (whole string)? p must be compiled. */
int dl_pattern_match(const struct dl_pattern *p, const char *s);

struct dl_iam_condition {
    char *title; /* required when a condition is given */
    char *description;
    char *expression; /* CEL, required */
};

struct dl_project_spec {
    char *region;             /* NULL when not set */
    enum dl_mode mode;        /* default DL_MODE_REPORT */
    char **protected_members; /* valid members */
    size_t n_protected_members;
    char *build_source_url;       /* spec.build.sourceUrl, or NULL */
    char *build_image_repository; /* spec.build.imageRepository, or NULL */
    int prune;                    /* default 0 */
    int suspend;                  /* default 0 */
    int require_signed_commits;   /* spec.source.requireSignedCommits */
    char **allowed_signers;       /* spec.source.allowedSigners: ssh keys */
    size_t n_allowed_signers;
    char *dir; /* the directory this Project scopes ("" for the root) */
};

struct dl_env {
    char *name;
    char *value;   /* plain value, or NULL for a secret */
    char *secret;  /* Secret Manager secret name (or full resource name) */
    char *version; /* secret version ("latest" by default) */
    struct dl_pos pos;
};

struct dl_label {
    char *key, *value;
};

struct dl_traffic {
    char *revision; /* NULL means the latest ready revision */
    int latest;     /* {latest: true} instead of a revision */
    int percent;    /* 0-100 */
    char *tag;      /* NULL when none */
};

struct dl_build {
    char *dockerfile;   /* normalised, repository-relative; default
                           "<context>/Dockerfile" */
    char *context;      /* normalised, repository-relative; "." for the root */
    char *commit;       /* revision as written, NULL: the source's commit */
    char commit_id[41]; /* resolved 40-hex id; "" when not resolved (no git
                           resolver, or commit not set) */
    struct dl_pos dockerfile_pos, context_pos, commit_pos; /* of the values */
};

struct dl_cloud_run_spec {
    char *region; /* effective: spec.region, else the Project's */
    char *image;  /* pinned image, or NULL when built */
    int has_build;
    struct dl_build build;
    char **require_commits;            /* revisions as written */
    char (*require_commit_ids)[41];    /* resolved ids, "" when not resolved */
    struct dl_pos *require_commit_pos; /* of each value */
    size_t n_require_commits;
    char *service_account; /* e-mail, or NULL */
    int has_env;
    struct dl_env *env; /* in document order */
    size_t n_env;
    char *cpu;          /* as written, or NULL */
    int64_t cpu_millis; /* DL_UNSET when cpu is NULL */
    char *memory;       /* as written, or NULL */
    int64_t memory_bytes;
    int64_t min_instances, max_instances; /* DL_UNSET when not given */
    int64_t concurrency;                  /* DL_UNSET when not given */
    int64_t timeout_ns;                   /* DL_UNSET when not given */
    int has_labels;
    struct dl_label *labels;
    size_t n_labels;
    int has_traffic;
    int traffic_latest; /* traffic: latest (all to the latest revision) */
    struct dl_traffic *traffic;
    size_t n_traffic;
    char **ignore_fields; /* field paths never diffed, e.g. "spec.labels" */
    size_t n_ignore_fields;
};

struct dl_iam_member_spec {
    char *role, *member;
    int has_condition;
    struct dl_iam_condition condition;
    char *resource; /* NULL: the project */
};

struct dl_iam_binding_spec {
    char *role;
    char **members;
    size_t n_members;
    int has_condition;
    struct dl_iam_condition condition;
};

struct dl_firestore_spec {
    char *database;        /* default "(default)" */
    char *collection;      /* required */
    int64_t max_documents; /* DL_UNSET when not given */
    struct dl_pattern id_pattern;
    char *stale_field;           /* staleAfter.field, NULL when no staleAfter */
    int64_t stale_age_ns;        /* staleAfter.age, DL_UNSET when none */
    int64_t max_deletes_per_run; /* DL_UNSET when not given */
};

struct dl_bigquery_spec {
    char *dataset;                   /* required */
    struct dl_pattern table_pattern; /* required */
    int64_t older_than_ns;           /* DL_UNSET when not given */
    int64_t max_deletes_per_run;     /* DL_UNSET when not given */
};

enum dl_when_empty { DL_WHEN_EMPTY_REPORT = 0, DL_WHEN_EMPTY_DELETE = 1 };

struct dl_bucket_spec {
    struct dl_pattern bucket_pattern; /* required */
    enum dl_when_empty when_empty;    /* default report */
    int64_t max_deletes_per_run;      /* DL_UNSET when not given */
};

struct dl_resource {
    enum dl_kind kind;
    char *name;                  /* metadata.name */
    struct dl_resource *project; /* its Project (itself for a Project) */
    enum dl_mode mode;           /* effective: spec.mode, else Project's */
    int mode_set;                /* spec.mode was given on this resource */
    char *file;                  /* tree-relative path of its file */
    struct dl_pos pos;           /* start of its document */
    struct dl_pos name_pos;      /* metadata.name's value */
    struct dl_field_pos *fields; /* every key given, in document order */
    size_t n_fields;
    union {
        struct dl_project_spec project;
        struct dl_cloud_run_spec run;
        struct dl_iam_member_spec iam_member;
        struct dl_iam_binding_spec iam_binding;
        struct dl_firestore_spec firestore;
        struct dl_bigquery_spec bigquery;
        struct dl_bucket_spec bucket;
    } spec; /* the member for kind */
};

struct dl_model {
    char *path; /* the desired-state directory read, normalised */
    struct dl_resource **resources; /* all, sorted by file, then position */
    size_t n_resources;
    struct dl_resource **projects; /* the Projects among them, same order */
    size_t n_projects;
    char **files; /* every .yaml/.yml file read, sorted */
    size_t n_files;
};

/*
 * Load and validate the desired state under directory path of tree ("" or
 * "." for the root). On success (0) *out is a new model (free with
 * dl_model_free). When the desired state has problems, returns DL_EINVALID
 * with every one of them in diags (sorted; the source texts are added so
 * dl_diags_print_text can show them) and *out NULL. Other errors, with
 * *out NULL and nothing in diags: DL_ENOTFOUND (path is not a directory of
 * the tree), DL_EINVALID (path is absolute or escapes the tree),
 * DL_ELIMIT (more than DL_MODEL_MAX_FILES files), and the tree's own read
 * and resolve errors other than "not found".
 * When tree->ops->resolve is set, requireCommits and build.commit are
 * resolved to commit ids; otherwise they are kept unresolved.
 */
int dl_model_load(struct dl_model **out, struct dl_tree *tree, const char *path,
                  struct dl_diags *diags, struct dl_err *err) DL_WUR;

/* Free m (NULL-safe). */
void dl_model_free(struct dl_model *m);

/* The resource of kind named name in project (NULL when none). */
const struct dl_resource *dl_model_find(const struct dl_model *m,
                                        enum dl_kind kind, const char *project,
                                        const char *name);

/* Position of field path ("spec.image") in r, else r's document start. */
struct dl_pos dl_resource_field_pos(const struct dl_resource *r,
                                    const char *path);

/* The project ID a resource belongs to (its Project's metadata.name). */
const char *dl_resource_project_id(const struct dl_resource *r);

#endif
