/*
 * git_tree.c - struct dl_tree over a git commit (blobs straight from the
 * object database, no checkout) and over a work tree with a git resolver.
 */
#include <stdlib.h>
#include <string.h>

#include "source/source_int.h"
#include "util/alloc.h"

struct commit_tree {
    struct dl_tree base;
    git_repository *repo; /* borrowed */
    git_tree *tree;       /* the commit's root tree */
};

struct work_tree {
    struct dl_tree base;
    struct dl_tree *dir;  /* the directory tree doing the reading */
    git_repository *repo; /* borrowed; NULL: no resolver */
};

/*
 * Look path up in the commit's tree. "" is the root (no entry: *out NULL,
 * returns DL_TREE_DIR). Returns the enum dl_tree_type; *out (when
 * non-NULL) is the entry to free with git_tree_entry_free.
 */
static int lookup(struct commit_tree *t, const char *path, git_tree_entry **out)
{
    git_tree_entry *e = NULL;
    int type = DL_TREE_NONE;

    if (out)
        *out = NULL;
    if (!*path)
        return DL_TREE_DIR;
    if (git_tree_entry_bypath(&e, t->tree, path) < 0) {
        git_error_clear();
        return DL_TREE_NONE;
    }
    switch (git_tree_entry_filemode(e)) {
    case GIT_FILEMODE_TREE:
        type = DL_TREE_DIR;
        break;
    case GIT_FILEMODE_BLOB:
    case GIT_FILEMODE_BLOB_EXECUTABLE:
        type = DL_TREE_FILE;
        break;
    default: /* symbolic links and submodules are not followed */
        type = DL_TREE_NONE;
        break;
    }
    if (out && type != DL_TREE_NONE)
        *out = e;
    else
        git_tree_entry_free(e);
    return type;
}

static int commit_type(struct dl_tree *base, const char *path)
{
    return lookup((struct commit_tree *)base, path, NULL);
}

struct walk {
    const char *prefix; /* dir + "/", or "" */
    char **paths;
    size_t n, cap;
};

static int walk_cb(const char *root, const git_tree_entry *e, void *payload)
{
    struct walk *w = payload;
    git_filemode_t mode = git_tree_entry_filemode(e);

    if (mode != GIT_FILEMODE_BLOB && mode != GIT_FILEMODE_BLOB_EXECUTABLE)
        return 0;
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 64;
        w->paths = dl_reallocarray(w->paths, w->cap, sizeof(*w->paths));
    }
    w->paths[w->n++] =
        dl_asprintf("%s%s%s", w->prefix, root, git_tree_entry_name(e));
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int commit_list(struct dl_tree *base, const char *dir,
                       dl_tree_file_cb cb, void *payload, struct dl_err *err)
{
    struct commit_tree *t = (struct commit_tree *)base;
    git_tree_entry *e = NULL;
    git_tree *sub = NULL;
    struct walk w = {0};
    char *prefix = NULL;
    int rc = 0;

    if (lookup(t, dir, &e) != DL_TREE_DIR) {
        git_tree_entry_free(e);
        return dl_err_set(err, DL_ENOTFOUND, "directory '%s' not found in %s",
                          *dir ? dir : ".", base->label);
    }
    if (e && git_tree_lookup(&sub, t->repo, git_tree_entry_id(e)) < 0) {
        rc = dl_source_git_err(err, DL_ERROR, "cannot read tree");
        goto done;
    }
    prefix = *dir ? dl_asprintf("%s/", dir) : dl_strdup("");
    w.prefix = prefix;
    if (git_tree_walk(sub ? sub : t->tree, GIT_TREEWALK_PRE, walk_cb, &w) < 0) {
        rc = dl_source_git_err(err, DL_ERROR, "cannot walk tree");
        goto done;
    }
    /* Git orders tree entries as if directory names ended in '/', which
     * already gives sorted full paths; sorting keeps the promise even for
     * trees written by other tools. */
    qsort(w.paths, w.n, sizeof(*w.paths), cmp_str);
    for (size_t i = 0; i < w.n && rc == 0; i++)
        rc = cb(w.paths[i], payload);
done:
    for (size_t i = 0; i < w.n; i++)
        free(w.paths[i]);
    free(w.paths);
    free(prefix);
    git_tree_free(sub);
    git_tree_entry_free(e);
    return rc;
}

static int commit_read(struct dl_tree *base, const char *path, size_t max,
                       struct dl_buf *out, struct dl_err *err)
{
    struct commit_tree *t = (struct commit_tree *)base;
    git_tree_entry *e = NULL;
    git_blob *blob = NULL;
    git_object_size_t size;
    int rc = 0;

    if (lookup(t, path, &e) != DL_TREE_FILE) {
        git_tree_entry_free(e);
        return dl_err_set(err, DL_ENOTFOUND, "file '%s' not found in %s", path,
                          base->label);
    }
    if (git_blob_lookup(&blob, t->repo, git_tree_entry_id(e)) < 0) {
        rc = dl_source_git_err(err, DL_ERROR, "cannot read blob");
        goto done;
    }
    size = git_blob_rawsize(blob);
    if (size > (git_object_size_t)max ||
        dl_buf_put(out, git_blob_rawcontent(blob), (size_t)size) < 0) {
        rc = dl_err_set(err, DL_ELIMIT,
                        "file '%s' is larger than the limit of %zu bytes", path,
                        max);
        goto done;
    }
done:
    git_blob_free(blob);
    git_tree_entry_free(e);
    return rc;
}

static int commit_resolve(struct dl_tree *base, const char *rev, char out[41],
                          struct dl_err *err)
{
    struct commit_tree *t = (struct commit_tree *)base;
    git_oid oid;
    int rc;

    if ((rc = dl_source_git_resolve(&oid, t->repo, rev, err)) < 0)
        return rc;
    git_oid_tostr(out, 41, &oid);
    return 0;
}

static void commit_dispose(struct dl_tree *base)
{
    git_tree_free(((struct commit_tree *)base)->tree);
}

static const struct dl_tree_ops commit_ops = {
    .list = commit_list,
    .read = commit_read,
    .type = commit_type,
    .resolve = commit_resolve,
    .dispose = commit_dispose,
};

int dl_source_commit_tree(struct dl_tree **out, git_repository *repo,
                          const git_oid *commit, struct dl_err *err)
{
    git_commit *c = NULL;
    git_tree *tree = NULL;
    struct commit_tree *t;
    char sid[8];
    int rc = 0;

    *out = NULL;
    dl_source_short_id(sid, commit);
    if (git_commit_lookup(&c, repo, commit) < 0) {
        rc = dl_err_set(err, DL_ENOTFOUND, "commit %s not found", sid);
        git_error_clear();
        goto done;
    }
    if (git_commit_tree(&tree, c) < 0) {
        rc = dl_source_git_err(err, DL_ERROR, "cannot read the tree of commit");
        goto done;
    }
    t = dl_calloc(1, sizeof(*t));
    t->base.ops = &commit_ops;
    t->base.label = dl_asprintf("commit %s", sid);
    t->repo = repo;
    t->tree = tree;
    tree = NULL;
    *out = &t->base;
done:
    git_tree_free(tree);
    git_commit_free(c);
    return rc;
}

static int collect_cb(const char *path, void *payload)
{
    struct walk *w = payload;

    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 64;
        w->paths = dl_reallocarray(w->paths, w->cap, sizeof(*w->paths));
    }
    w->paths[w->n++] = dl_strdup(path);
    return 0;
}

static int work_list(struct dl_tree *base, const char *dir, dl_tree_file_cb cb,
                     void *payload, struct dl_err *err)
{
    struct walk w = {0};
    int rc;

    /* The directory tree sorts each directory's names, which puts "a/b"
     * before "a.txt"; collect and sort the full paths to keep list()'s
     * promise of byte-wise sorted paths. */
    rc =
        dl_tree_list(((struct work_tree *)base)->dir, dir, collect_cb, &w, err);
    if (rc == 0) {
        qsort(w.paths, w.n, sizeof(*w.paths), cmp_str);
        for (size_t i = 0; i < w.n && rc == 0; i++)
            rc = cb(w.paths[i], payload);
    }
    for (size_t i = 0; i < w.n; i++)
        free(w.paths[i]);
    free(w.paths);
    return rc;
}

static int work_read(struct dl_tree *base, const char *path, size_t max,
                     struct dl_buf *out, struct dl_err *err)
{
    return dl_tree_read(((struct work_tree *)base)->dir, path, max, out, err);
}

static int work_type(struct dl_tree *base, const char *path)
{
    return dl_tree_type(((struct work_tree *)base)->dir, path);
}

static int work_resolve(struct dl_tree *base, const char *rev, char out[41],
                        struct dl_err *err)
{
    struct work_tree *t = (struct work_tree *)base;
    git_oid oid;
    int rc;

    if (!t->repo)
        return dl_err_set(err, DL_ENOTFOUND,
                          "cannot resolve revision '%s': %s is not a git "
                          "repository",
                          rev, base->label);
    if ((rc = dl_source_git_resolve(&oid, t->repo, rev, err)) < 0)
        return rc;
    git_oid_tostr(out, 41, &oid);
    return 0;
}

static void work_dispose(struct dl_tree *base)
{
    dl_tree_free(((struct work_tree *)base)->dir);
}

static const struct dl_tree_ops work_ops = {
    .list = work_list,
    .read = work_read,
    .type = work_type,
    .resolve = work_resolve,
    .dispose = work_dispose,
};

int dl_source_work_tree(struct dl_tree **out, const char *root,
                        git_repository *repo, const char *label,
                        struct dl_err *err)
{
    struct dl_tree *dir = NULL;
    struct work_tree *t;
    int rc;

    *out = NULL;
    if ((rc = dl_tree_open_dir(&dir, root, err)) < 0)
        return rc;
    /* Messages from the directory tree name the source the same way. */
    free(dir->label);
    dir->label = dl_strdup(label);
    t = dl_calloc(1, sizeof(*t));
    t->base.ops = &work_ops;
    t->base.label = dl_strdup(label);
    t->dir = dir;
    t->repo = repo;
    *out = &t->base;
    return 0;
}
