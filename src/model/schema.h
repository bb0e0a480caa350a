/*
 * schema.h - a JSON Schema of the desired-state documents, for editors.
 *
 * The schema (draft-07, which yaml-language-server and VS Code understand)
 * is generated from the same field tables the validator reads (spec.h), so
 * it names exactly the kinds and fields `driftless validate` accepts, with
 * their types, enums, integer ranges, required keys and descriptions.
 * It is a guide for editors, not a second validator: what needs code (value
 * formats, references, Dockerfiles, revisions) is `validate`'s alone, and
 * the schema, like editors, reads YAML 1.2 (so `cpu: 1` is a number, which
 * the fields that take quantities and revisions allow).
 */
#ifndef DL_MODEL_SCHEMA_H
#define DL_MODEL_SCHEMA_H

#include "util/buf.h"
#include "util/err.h"

/* The $id of the schema (also in docs/desired-state.md). */
#define DL_SCHEMA_ID "https://driftless.dev/schemas/v1alpha1/desired-state.json"

/*
 * Append the schema to out as JSON (two-space indentation, a final
 * newline). 0, or DL_ELIMIT when out's cap is reached (out is then left as
 * it was).
 */
int dl_model_schema_json(struct dl_buf *out, struct dl_err *err) DL_WUR;

#endif
