/*
 * tree.h - a read-only view of a file tree: a git commit, a working tree or
 * a plain directory.
 *
 * The desired-state loader and validator read files only through this
 * interface, so they neither know nor care whether the bytes come from
 * libgit2's object database (src/source/) or the file system (here). Paths
 * are relative to the tree's root, '/'-separated, with no leading "./", no
 * "..", no trailing '/'; "" is the root.
 */
#ifndef DL_UTIL_TREE_H
#define DL_UTIL_TREE_H

#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

enum dl_tree_type {
    DL_TREE_NONE = 0, /* nothing at that path */
    DL_TREE_FILE = 1,
    DL_TREE_DIR = 2
};

struct dl_tree;

/* Called once per file by list(); return non-zero to stop (it is returned). */
typedef int (*dl_tree_file_cb)(const char *path, void *payload);

struct dl_tree_ops {
    /*
     * Call cb for every regular file below dir (recursively), in byte-wise
     * sorted path order. DL_ENOTFOUND when dir is not a directory.
     */
    int (*list)(struct dl_tree *t, const char *dir, dl_tree_file_cb cb,
                void *payload, struct dl_err *err);
    /*
     * Append the file's contents to out. DL_ENOTFOUND when absent,
     * DL_ELIMIT when larger than max bytes.
     */
    int (*read)(struct dl_tree *t, const char *path, size_t max,
                struct dl_buf *out, struct dl_err *err);
    /* What is at path (enum dl_tree_type); never fails. */
    int (*type)(struct dl_tree *t, const char *path);
    /*
     * Resolve a git revision (full or abbreviated SHA, tag, branch) to a
     * 40-hex commit id in out. NULL for trees that are not in git;
     * DL_ENOTFOUND when the revision names no commit.
     */
    int (*resolve)(struct dl_tree *t, const char *rev, char out[41],
                   struct dl_err *err);
    /* Free the tree's own state (called by dl_tree_free). */
    void (*dispose)(struct dl_tree *t);
};

/*
 * Implementations embed struct dl_tree as their first member, allocate the
 * whole with dl_calloc and set label with dl_strdup/dl_asprintf;
 * dl_tree_free calls ops->dispose, then frees label and the struct.
 */
struct dl_tree {
    const struct dl_tree_ops *ops;
    /* How messages name this tree: "commit 1a2b3c4", "directory /x". */
    char *label;
};

/*
 * Open directory root as a tree. Symbolic links are followed only when they
 * stay inside root. DL_ENOTFOUND when root is not a directory. Free with
 * dl_tree_free.
 */
int dl_tree_open_dir(struct dl_tree **out, const char *root,
                     struct dl_err *err) DL_WUR;

/* Free t (NULL-safe). */
void dl_tree_free(struct dl_tree *t);

/* Wrappers over the ops; resolve gives DL_ENOTFOUND on trees without git. */
int dl_tree_list(struct dl_tree *t, const char *dir, dl_tree_file_cb cb,
                 void *payload, struct dl_err *err);
int dl_tree_read(struct dl_tree *t, const char *path, size_t max,
                 struct dl_buf *out, struct dl_err *err);
int dl_tree_type(struct dl_tree *t, const char *path);
int dl_tree_resolve(struct dl_tree *t, const char *rev, char out[41],
                    struct dl_err *err);

/*
 * Normalise a relative path in place ("./a//b/" -> "a/b"). DL_EINVALID when
 * it is absolute or escapes the root through "..".
 */
int dl_path_normalize(char *path, struct dl_err *err) DL_WUR;

#endif
