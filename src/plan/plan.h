/*
 * plan.h - the plan object: what driftless found and what it would do.
 *
 * A plan names its source (git url, ref, commit, path), the time it was
 * made, and one entry per resource with its status, action, field-level
 * changes, preconditions (what apply must find unchanged), and for the
 * hygiene kinds a block of counts. The planner builds it with the functions
 * below; plan_json.h writes and reads it; render/ turns it into text,
 * markdown or JSON. Everything here is pure: no I/O.
 *
 * Status and action (docs/plan.md has the full table):
 *   in_sync  -> none
 *   missing  -> create, or report (report mode)
 *   drifted  -> update or delete, or report (report mode, or an orphan
 *               without prune)
 *   error    -> none, with an error message
 * An orphan (a service labelled managed-by=driftless that is no longer
 * declared) is status drifted with orphan set, action delete (Project
 * prune: true) or report, and an empty defined_at.
 *
 * Values in changes are jansson values; NULL means "absent" (the field is
 * not set on that side), which differs from a JSON null. A change marked
 * sensitive never holds its values: they are replaced by the string
 * "(sensitive)" the moment it is added.
 */
#ifndef DL_PLAN_PLAN_H
#define DL_PLAN_PLAN_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define DL_PLAN_FORMAT_VERSION "1"
/* Hygiene blocks keep at most this many sample IDs. */
#define DL_PLAN_MAX_SAMPLES 10
/* The delete cap of a hygiene kind without maxDeletesPerRun. */
#define DL_PLAN_DEFAULT_MAX_DELETES 1000
/* What masked values are replaced with, in the object and every output. */
#define DL_PLAN_SENSITIVE "(sensitive)"

enum dl_plan_mode { DL_PLAN_MODE_REPORT = 0, DL_PLAN_MODE_ENFORCE = 1 };

enum dl_plan_status {
    DL_PLAN_STATUS_IN_SYNC = 0,
    DL_PLAN_STATUS_DRIFTED = 1,
    DL_PLAN_STATUS_MISSING = 2,
    DL_PLAN_STATUS_ERROR = 3
};

enum dl_plan_action {
    DL_PLAN_ACTION_NONE = 0,
    DL_PLAN_ACTION_CREATE = 1,
    DL_PLAN_ACTION_UPDATE = 2,
    DL_PLAN_ACTION_DELETE = 3,
    DL_PLAN_ACTION_REPORT = 4
};

/* The names used in JSON and text ("report", "in_sync", "create", ...). */
const char *dl_plan_mode_name(enum dl_plan_mode m);
const char *dl_plan_status_name(enum dl_plan_status s);
const char *dl_plan_action_name(enum dl_plan_action a);
/* Parse a name. 0, or DL_EINVALID (out unchanged) for any other string. */
int dl_plan_mode_parse(enum dl_plan_mode *out, const char *s) DL_WUR;
int dl_plan_status_parse(enum dl_plan_status *out, const char *s) DL_WUR;
int dl_plan_action_parse(enum dl_plan_action *out, const char *s) DL_WUR;

/* One field-level difference. */
struct dl_plan_change {
    char *path;     /* e.g. "env.API_KEY", "annotations.driftless.dev/commit" */
    json_t *before; /* live value; NULL: absent */
    json_t *after;  /* desired value; NULL: absent */
    int sensitive;  /* values are DL_PLAN_SENSITIVE strings, never the value */
};

/*
 * Counts for the hygiene kinds (FirestoreCollectionPolicy,
 * BigQueryTablePolicy, StorageBucketPolicy). Reasons may overlap: one
 * document can have a bad ID and be stale; violating counts each object
 * once. planned_deletes is what the resource's action deletes this run: 0
 * unless the action is delete.
 */
struct dl_plan_hygiene {
    char *unit;         /* what is counted: "documents", "tables", "buckets" */
    int64_t total;      /* objects observed */
    int64_t violating;  /* distinct objects violating the policy */
    int64_t id_format;  /* violating: ID does not match idPattern */
    int64_t stale;      /* violating: older than staleAfter / olderThan */
    int64_t over_limit; /* violating: beyond maxDocuments */
    int64_t empty;      /* violating: empty bucket */
    int64_t planned_deletes;
    int64_t cap;        /* maxDeletesPerRun, or DL_PLAN_DEFAULT_MAX_DELETES */
    int cap_is_default; /* 1 when cap is the default (no maxDeletesPerRun) */
    /* Objects still beyond maxDocuments after the planned deletes. */
    int64_t still_over_limit_after;
    char *samples[DL_PLAN_MAX_SAMPLES]; /* offending IDs, owned */
    size_t nsamples;
};

struct dl_plan_resource {
    char *address; /* "project/Kind/name", built by dl_plan_add_resource */
    char *project;
    char *kind;
    char *name;
    char *defined_file;      /* "" for orphans */
    int defined_line;        /* 1-based; 0 for orphans */
    char *defined_in_commit; /* commit that last changed that line, or "" */
    enum dl_plan_mode mode;
    enum dl_plan_status status;
    enum dl_plan_action action;
    int orphan; /* labelled managed-by=driftless but no longer declared */
    struct dl_plan_change *changes;
    size_t nchanges, changes_cap;
    /* A JSON object (never NULL): etags, generations, counts observed. */
    json_t *preconditions;
    char *error;                     /* status error: the message; else NULL */
    struct dl_plan_hygiene *hygiene; /* NULL for the other kinds */
    char **notes;                    /* one-line messages */
    size_t nnotes, notes_cap;
};

struct dl_plan_source {
    char *url;
    char *ref;
    char *commit; /* 40 hex, or "" when not from git */
    char *path;   /* the desired-state path inside the repository */
    int dirty;    /* a working tree with uncommitted changes */
};

struct dl_plan {
    struct dl_plan_source source;
    int64_t created_at; /* ns since the epoch (util/time.h) */
    struct dl_plan_resource **resources;
    size_t nresources, resources_cap;
};

/* Counts computed from the resources (dl_plan_summarize). */
struct dl_plan_summary {
    int64_t resources; /* entries */
    int64_t in_sync;   /* status in_sync */
    int64_t create;    /* action create */
    int64_t update;    /* action update */
    /* Objects to delete: 1 per resource with action delete, or its
       hygiene planned_deletes (the closing line's "N to delete"). */
    int64_t delete;
    int64_t report; /* action report */
    int64_t error;  /* status error */
};

/*
 * A new empty plan: source fields "", not dirty, created_at 0, no
 * resources. Free with dl_plan_free. Never NULL.
 */
struct dl_plan *dl_plan_new(void);
/* Free p and everything it owns. NULL-safe. */
void dl_plan_free(struct dl_plan *p);

/* Set the source (strings copied; NULL is stored as ""). */
void dl_plan_set_source(struct dl_plan *p, const char *url, const char *ref,
                        const char *commit, const char *path, int dirty);

/*
 * Append a resource "project/kind/name" (strings copied) with status
 * in_sync, action none, mode report, no position, an empty preconditions
 * object. The plan owns it; the pointer stays valid until dl_plan_free.
 */
struct dl_plan_resource *dl_plan_add_resource(struct dl_plan *p,
                                              const char *project,
                                              const char *kind,
                                              const char *name);

/* Where the resource is declared; file NULL/"" for none; commit may be
 * NULL or "" when unknown. Strings copied. */
void dl_plan_resource_set_defined_at(struct dl_plan_resource *r,
                                     const char *file, int line,
                                     const char *commit);

/*
 * Append a change at path. Takes ownership of before and after (steals the
 * references, as json_object_set_new does); either may be NULL (absent).
 * With sensitive set, the values are released at once and every present
 * side is stored as the string DL_PLAN_SENSITIVE.
 */
void dl_plan_resource_add_change(struct dl_plan_resource *r, const char *path,
                                 json_t *before, json_t *after, int sensitive);

/* Append a one-line note (formatted). */
void dl_plan_resource_add_note(struct dl_plan_resource *r, const char *fmt, ...)
    DL_PRINTF(2, 3);

/* Set the error message (formatted) and status error, action none. */
void dl_plan_resource_set_error(struct dl_plan_resource *r, const char *fmt,
                                ...) DL_PRINTF(2, 3);

/*
 * The resource's hygiene block, created zeroed (cap
 * DL_PLAN_DEFAULT_MAX_DELETES, cap_is_default 1, unit "objects") on first
 * call. Owned by the resource.
 */
struct dl_plan_hygiene *dl_plan_resource_hygiene(struct dl_plan_resource *r);
/* Set the counted unit ("documents"). String copied. */
void dl_plan_hygiene_set_unit(struct dl_plan_hygiene *h, const char *unit);
/* Add a sample ID (copied). Beyond DL_PLAN_MAX_SAMPLES it is ignored and
 * 0 is returned; 1 when it was kept. */
int dl_plan_hygiene_add_sample(struct dl_plan_hygiene *h, const char *id);

/* Fill out with the counts of p's resources. */
void dl_plan_summarize(const struct dl_plan *p, struct dl_plan_summary *out);

/* 1 iff some resource's action is create, update or delete. */
int dl_plan_has_changes(const struct dl_plan *p);
/* 1 iff some resource has status error. */
int dl_plan_has_errors(const struct dl_plan *p);

/* Sort the resources by address (byte-wise), in place. */
void dl_plan_sort(struct dl_plan *p);

/*
 * The resources sorted by address, as a new array of p->nresources
 * pointers into p (free the array with free(); NULL when there are none).
 * For writers, which take a const plan.
 */
const struct dl_plan_resource **dl_plan_sorted(const struct dl_plan *p);

/* The resource with this address, or NULL (linear search). */
const struct dl_plan_resource *dl_plan_find(const struct dl_plan *p,
                                            const char *address);

/*
 * Check that p is consistent: address is project/kind/name with no part
 * empty or holding '/' in project and kind, addresses unique, status and
 * action agree (table above), mode report only with action none or report,
 * an error message exactly when status is error, orphan only when drifted,
 * in_sync without changes, hygiene numbers coherent (counts >= 0, reasons
 * <= violating <= total, planned_deletes <= violating and <= cap, cap >= 1,
 * planned_deletes > 0 exactly when the action is delete). 0, or DL_EINVALID
 * with a message naming the resource ("resources[2] (a/B/c): ...").
 * Resources are numbered in p's current order.
 */
int dl_plan_check(const struct dl_plan *p, struct dl_err *err) DL_WUR;

#endif
