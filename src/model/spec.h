/*
 * spec.h - one YAML document to one typed resource (internal to model/).
 *
 * dl_spec_parse checks a document against its kind's schema: apiVersion,
 * kind, metadata.name, and every spec field's presence, type and value.
 * Checks that need other resources or the tree (Projects, duplicates,
 * Dockerfiles, revisions) are model.c's.
 */
#ifndef DL_MODEL_SPEC_H
#define DL_MODEL_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "model/diag.h"
#include "model/model.h"
#include "model/yaml.h"

/*
 * The fields of the desired-state documents. Each kind's spec is one
 * table of struct dl_field (in spec.c, designated initialisers), read by
 * the validator (which keys are allowed, which are required, their types,
 * ranges and value checks) and by the JSON Schema generator (schema.c), so
 * the two cannot disagree.
 */
enum dl_field_type {
    DL_FIELD_STRING = 1, /* a non-empty string */
    DL_FIELD_SCALAR,     /* a non-empty string, which may also be written
                            as a plain number (cpu: 1, version: 3) */
    DL_FIELD_INT,        /* an integer in [min, max] */
    DL_FIELD_BOOL,       /* true or false */
    DL_FIELD_DURATION,   /* "30s", "1h30m", "7d" */
    DL_FIELD_PATTERN,    /* a POSIX ERE matched against whole names */
    DL_FIELD_ENUM,       /* one of values */
    DL_FIELD_LIST,       /* a list of distinct non-empty strings */
    DL_FIELD_OBJECT,     /* a mapping with the keys of fields */
    DL_FIELD_ENV,        /* a mapping of variable names to a scalar (or
                            null) or to a mapping with the keys of fields */
    DL_FIELD_LABELS,     /* a mapping of label keys to scalars */
    DL_FIELD_TRAFFIC,    /* 'latest', or a non-empty list of mappings with
                            the keys of fields */
};

struct dl_field {
    const char *name; /* NULL ends a table */
    enum dl_field_type type;
    int required;
    const char *description;       /* one or two sentences, for editors */
    const struct dl_field *fields; /* OBJECT, ENV, TRAFFIC: nested keys */
    const char *const *values;     /* ENUM: NULL-terminated, in message order */
    int64_t min, max;              /* INT (max INT64_MAX: no upper bound) */
    const char *(*check)(const char *value); /* STRING, SCALAR, LIST items:
                                                NULL or why not valid */
    const char *what; /* what check validates: "region", "IAM member" */
    int scalar_items; /* LIST: items may be plain numbers (revisions) */
    int stored;       /* the generic walker stores the value at off (and
                         a LIST's count at off_n) in the spec struct;
                         else spec.c's code for the kind reads it */
    size_t off, off_n;
};

/* The fields of kind's spec (NULL-terminated table). */
const struct dl_field *dl_spec_fields(enum dl_kind kind);
/* The document's own keys: apiVersion and kind (ENUMs), metadata (an
 * OBJECT whose fields are metadata's), spec (an OBJECT with no fields:
 * they are the kind's). */
const struct dl_field *dl_spec_doc_fields(void);
/* Must a document of kind have a spec? (All but Project.) */
int dl_spec_needs_spec(enum dl_kind kind);
/* One sentence on what kind declares; what its metadata.name must be. */
const char *dl_spec_kind_description(enum dl_kind kind);
const char *dl_spec_name_description(enum dl_kind kind);

/*
 * Parse doc of file into a new resource (free with dl_resource_free),
 * adding a diagnostic for every problem. The resource is returned even when
 * some fields were bad (so that it still scopes and counts); NULL when the
 * document is not a resource at all (not a mapping, no or unknown kind).
 * *errors is increased by the number of diagnostics added.
 */
struct dl_resource *dl_spec_parse(struct dl_diags *diags, const char *file,
                                  const struct dl_ydoc *doc, size_t *errors);

void dl_resource_free(struct dl_resource *r);

/* Record field path at pos in r (path copied). */
void dl_resource_add_field(struct dl_resource *r, const char *path,
                           struct dl_pos pos);

#endif
