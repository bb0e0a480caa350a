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

#include "model/diag.h"
#include "model/model.h"
#include "model/yaml.h"

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
