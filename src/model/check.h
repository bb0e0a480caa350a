/*
 * check.h - checks of single values of the desired state: IAM members and
 * roles, e-mail addresses, Google resource names, CPU and memory
 * quantities, and the "did you mean" suggestion for misspelt field names.
 *
 * The dl_check_* functions return NULL when the value is valid, else a
 * static one-line reason (no trailing period) to append to a message.
 * They are pure and usable by providers too.
 */
#ifndef DL_MODEL_CHECK_H
#define DL_MODEL_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* user:, group:, serviceAccount: (an e-mail), domain: (a DNS name),
 * principal: or principalSet: (an IAM principal identifier "//..."). */
const char *dl_check_member(const char *member);
/* roles/NAME, projects/PROJECT/roles/NAME, organizations/NUMBER/roles/NAME */
const char *dl_check_role(const char *role);
/* local@domain.tld */
const char *dl_check_email(const char *email);
/* A DNS name: dot-separated labels of letters, digits and hyphens. */
const char *dl_check_domain(const char *domain);
/* A pinned container image: "...@sha256:<64 hex>" or a tag other than
 * "latest". */
const char *dl_check_image(const char *image);
/* Cloud Run service name: RFC 1035 label, at most 49 characters. */
const char *dl_check_run_service_name(const char *name);
/* GCP project ID: 6-30 of [a-z0-9-], starts with a letter, no trailing
 * hyphen. */
const char *dl_check_project_id(const char *id);
/* metadata.name of the other kinds: 1-253 of [a-z0-9._-], starting and
 * ending with a letter or digit. */
const char *dl_check_resource_name(const char *name);
/* Cloud Run label key (1-63 of [a-z0-9_-], starting with a lowercase
 * letter) and value (0-63 of [a-z0-9_-]). */
const char *dl_check_label_key(const char *key);
const char *dl_check_label_value(const char *value);
/* Environment variable name: [A-Za-z_][A-Za-z0-9_]*, at most 255. */
const char *dl_check_env_name(const char *name);
/* BigQuery dataset ID: 1-1024 of [A-Za-z0-9_]. */
const char *dl_check_dataset(const char *dataset);
/* Firestore collection ID: 1-1500 bytes, no '/', not "." or "..", not
 * __name__-style. */
const char *dl_check_collection(const char *collection);
/* Firestore database ID: "(default)" or 4-63 of [a-z0-9-] starting with a
 * letter. */
const char *dl_check_database(const char *database);
/*
 * A bucketPattern (already known to compile) can match bucket names: its
 * literal characters outside bracket expressions are lowercase letters,
 * digits, '-', '_' and '.' (or escaped). Points *at to the bad byte's
 * offset when it returns a reason.
 */
const char *dl_check_bucket_pattern(const char *pattern, size_t *at);

/*
 * Parse a CPU quantity: "1", "2", "0.5", "500m" -> millicores (> 0).
 * 0, or DL_EINVALID with a message quoting s.
 */
int dl_quantity_cpu_parse(int64_t *millis, const char *s,
                          struct dl_err *err) DL_WUR;
/*
 * Parse a memory quantity: bytes, or a number with k, M, G, T (powers of
 * 1000) or Ki, Mi, Gi, Ti (powers of 1024): "512Mi", "2Gi" (> 0).
 * 0, or DL_EINVALID with a message quoting s.
 */
int dl_quantity_memory_parse(int64_t *bytes, const char *s,
                             struct dl_err *err) DL_WUR;

/* Levenshtein distance between a and b (capped at 255). */
size_t dl_edit_distance(const char *a, const char *b);
/*
 * The candidate (NULL-terminated list) closest to s, when close enough to
 * be a likely misspelling (distance <= 2, or <= a third of its length, or
 * equal ignoring case); NULL otherwise.
 */
const char *dl_did_you_mean(const char *s, const char *const *candidates);

#endif
