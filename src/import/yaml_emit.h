/*
 * yaml_emit.h - a small YAML writer for desired-state documents (pure,
 * no I/O).
 *
 * A document is given as a JSON value (jansson keeps object keys in
 * insertion order, so the caller chooses the key order) and written in
 * block style: mappings as "key: value", sequences as "- item", two spaces
 * per level; empty collections as {} and []. Strings are written plain
 * when they read back as the same string under both YAML 1.1 and 1.2
 * rules (not a number, bool, null or timestamp look-alike, no indicator or
 * special character), otherwise double-quoted with escapes, so a YAML
 * loader (libyaml, the model's) always gets back the exact string.
 */
#ifndef DL_IMPORT_YAML_EMIT_H
#define DL_IMPORT_YAML_EMIT_H

#include <jansson.h>

#include "util/buf.h"
#include "util/err.h"

/* May s be written as a plain (unquoted) scalar? 1 or 0. */
int dl_yaml_plain_ok(const char *s);

/* Append s as a scalar: plain when dl_yaml_plain_ok, else double-quoted
 * (", \ and control characters escaped; other UTF-8 kept as is).
 * 0, or DL_ELIMIT past out's cap. */
int dl_yaml_emit_scalar(struct dl_buf *out, const char *s) DL_WUR;

/*
 * Append doc (normally an object) as one YAML document: first comment, if
 * not NULL, one "# line" per line, then the value; ends with a newline. No
 * "---": put it between documents yourself. Integers, reals, true, false
 * and null are written as YAML scalars of the same type.
 * 0, DL_EINVALID for a value of no JSON type, DL_ELIMIT past out's cap.
 */
int dl_yaml_emit_doc(struct dl_buf *out, json_t *doc,
                     const char *comment) DL_WUR;

#endif
