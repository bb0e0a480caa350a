/*
 * mem_tree.h - an in-memory struct dl_tree for tests and fuzzers: files
 * added by hand, and optionally a table of git revisions to resolve.
 */
#ifndef DL_TEST_MEM_TREE_H
#define DL_TEST_MEM_TREE_H

#include <stddef.h>

#include "util/tree.h"

/* A new empty tree labelled label; with_resolver gives it ops->resolve. */
struct dl_tree *mem_tree_new(const char *label, int with_resolver);
/* Add (or replace) file path with len bytes of data (copied). */
void mem_tree_add(struct dl_tree *t, const char *path, const char *data,
                  size_t len);
void mem_tree_add_str(struct dl_tree *t, const char *path, const char *text);
/* Make rev resolve to the 40-hex id. */
void mem_tree_add_rev(struct dl_tree *t, const char *rev, const char *id);
/*
 * Copy every file below dir of src into t under prefix (""), keeping
 * their paths relative to dir. 0 or the tree's error.
 */
int mem_tree_copy(struct dl_tree *t, struct dl_tree *src, const char *dir,
                  const char *prefix);

#endif
