/*
 * golden.h - golden-file helpers for the renderer tests.
 *
 * Fixtures live in tests/fixtures/plan/, one case per file: <case>.plan.json
 * is the input, <case>.<ext> the expected output. With DL_UPDATE_GOLDEN=1 in
 * the environment the expected files are (re)written instead of compared;
 * review every rewritten file before committing it.
 */
#ifndef DL_TEST_GOLDEN_H
#define DL_TEST_GOLDEN_H

#include <stddef.h>

#include "plan/plan.h"
#include "render/render.h"

/* The cases every renderer is checked against, NULL-terminated. */
extern const char *const golden_cases[];

/* Read tests/fixtures/plan/<name> into a malloc'd string; fails the test
 * when it cannot. *len gets its length. */
char *golden_read(const char *name, size_t *len);

/* Load and parse <case_name>.plan.json; fails the test on error. */
struct dl_plan *golden_plan(const char *case_name);

/*
 * Compare got with tests/fixtures/plan/<name> byte for byte (or rewrite it
 * under DL_UPDATE_GOLDEN=1). On a mismatch, print the first differing line
 * and fail.
 */
void golden_check(const char *name, const char *got, size_t len);

/* Render case_name with renderer r and opts, and check against
 * <case_name><suffix>. */
void golden_render(const char *case_name, const struct dl_renderer *r,
                   const struct dl_render_opts *opts, const char *suffix);

#endif
