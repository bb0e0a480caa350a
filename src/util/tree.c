#include "util/tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"

struct dir_tree {
    struct dl_tree base;
    char *root; /* realpath of the root, no trailing '/' */
};

int dl_path_normalize(char *path, struct dl_err *err)
{
    char *out = path, *p = path;
    size_t depth = 0;

    if (path[0] == '/')
        return dl_err_set(err, DL_EINVALID,
                          "path '%s' is absolute (want a path relative to "
                          "the repository root)",
                          path);
    while (*p) {
        char *seg = p;
        size_t n;

        while (*p && *p != '/')
            p++;
        n = (size_t)(p - seg);
        if (*p)
            p++;
        if (n == 0 || (n == 1 && seg[0] == '.'))
            continue;
        if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            if (depth == 0)
                return dl_err_set(err, DL_EINVALID,
                                  "path escapes the repository through '..'");
            depth--;
            /* Drop the previous segment from out. */
            while (out > path && out[-1] != '/')
                out--;
            if (out > path)
                out--;
            continue;
        }
        if (out > path)
            *out++ = '/';
        memmove(out, seg, n);
        out += n;
        depth++;
    }
    *out = '\0';
    return 0;
}

static char *join(const struct dir_tree *t, const char *path)
{
    return *path ? dl_asprintf("%s/%s", t->root, path) : dl_strdup(t->root);
}

/* Is full inside the root after resolving links? */
static int inside(const struct dir_tree *t, const char *full)
{
    char real[PATH_MAX];
    size_t n = strlen(t->root);

    if (!realpath(full, real))
        return 0;
    return strncmp(real, t->root, n) == 0 &&
           (real[n] == '\0' || real[n] == '/');
}

static int dir_type(struct dl_tree *base, const char *path)
{
    struct dir_tree *t = (struct dir_tree *)base;
    char *full = join(t, path);
    struct stat st;
    int type = DL_TREE_NONE;

    if (stat(full, &st) == 0 && inside(t, full))
        type = S_ISDIR(st.st_mode)   ? DL_TREE_DIR
               : S_ISREG(st.st_mode) ? DL_TREE_FILE
                                     : DL_TREE_NONE;
    free(full);
    return type;
}

struct entry {
    char *path;
    int type;
};

/* Byte-wise order of the full paths that listing yields: a directory sorts
 * as its name followed by '/', so "a.txt" comes before "a/b". */
static int cmp_entry(const void *pa, const void *pb)
{
    const struct entry *a = pa, *b = pb;
    const unsigned char *x = (const unsigned char *)a->path;
    const unsigned char *y = (const unsigned char *)b->path;

    while (*x && *x == *y) {
        x++;
        y++;
    }
    {
        int cx = *x ? *x : (a->type == DL_TREE_DIR ? '/' : 0);
        int cy = *y ? *y : (b->type == DL_TREE_DIR ? '/' : 0);

        return cx - cy;
    }
}

static int list_rec(struct dir_tree *t, const char *rel, dl_tree_file_cb cb,
                    void *payload, int depth, struct dl_err *err)
{
    char *full = join(t, rel);
    struct entry *ents = NULL;
    size_t n = 0, cap = 0;
    DIR *d;
    struct dirent *de;
    int rc = 0;

    if (depth > 64) {
        free(full);
        return dl_err_set(err, DL_ELIMIT,
                          "directory '%s' is nested more than 64 deep", rel);
    }
    d = opendir(full);
    if (!d) {
        rc = dl_err_set(err, errno == ENOENT ? DL_ENOTFOUND : DL_ERROR,
                        "cannot read directory '%s': %s", *rel ? rel : ".",
                        strerror(errno));
        free(full);
        return rc;
    }
    while ((de = readdir(d)) != NULL) {
        char *child;
        int type;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            (depth == 0 && !*rel && strcmp(de->d_name, ".git") == 0))
            continue;
        child = *rel ? dl_asprintf("%s/%s", rel, de->d_name)
                     : dl_strdup(de->d_name);
        type = dir_type(&t->base, child);
        if (type == DL_TREE_NONE) {
            free(child);
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            ents = dl_reallocarray(ents, cap, sizeof(*ents));
        }
        ents[n].path = child;
        ents[n].type = type;
        n++;
    }
    closedir(d);
    qsort(ents, n, sizeof(*ents), cmp_entry);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (ents[i].type == DL_TREE_DIR)
            rc = list_rec(t, ents[i].path, cb, payload, depth + 1, err);
        else
            rc = cb(ents[i].path, payload);
    }
    for (size_t i = 0; i < n; i++)
        free(ents[i].path);
    free(ents);
    free(full);
    return rc;
}

static int dir_list(struct dl_tree *base, const char *dir, dl_tree_file_cb cb,
                    void *payload, struct dl_err *err)
{
    struct dir_tree *t = (struct dir_tree *)base;

    if (dir_type(base, dir) != DL_TREE_DIR)
        return dl_err_set(err, DL_ENOTFOUND, "directory '%s' not found in %s",
                          *dir ? dir : ".", base->label);
    return list_rec(t, dir, cb, payload, 0, err);
}

static int dir_read(struct dl_tree *base, const char *path, size_t max,
                    struct dl_buf *out, struct dl_err *err)
{
    struct dir_tree *t = (struct dir_tree *)base;
    char *full = NULL, chunk[65536];
    int fd = -1, rc = 0;
    size_t total = 0;

    if (dir_type(base, path) != DL_TREE_FILE)
        return dl_err_set(err, DL_ENOTFOUND, "file '%s' not found in %s", path,
                          base->label);
    full = join(t, path);
    fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = dl_err_set(err, DL_ERROR, "cannot open '%s': %s", path,
                        strerror(errno));
        goto done;
    }
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof(chunk));

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = dl_err_set(err, DL_ERROR, "cannot read '%s': %s", path,
                            strerror(errno));
            goto done;
        }
        if (r == 0)
            break;
        total += (size_t)r;
        if (total > max || dl_buf_put(out, chunk, (size_t)r) < 0) {
            rc = dl_err_set(err, DL_ELIMIT,
                            "file '%s' is larger than the limit of %zu bytes",
                            path, max);
            goto done;
        }
    }
done:
    if (fd >= 0)
        close(fd);
    free(full);
    return rc;
}

static void dir_dispose(struct dl_tree *base)
{
    free(((struct dir_tree *)base)->root);
}

static const struct dl_tree_ops dir_ops = {
    .list = dir_list,
    .read = dir_read,
    .type = dir_type,
    .resolve = NULL,
    .dispose = dir_dispose,
};

int dl_tree_open_dir(struct dl_tree **out, const char *root, struct dl_err *err)
{
    char real[PATH_MAX];
    struct stat st;
    struct dir_tree *t;

    *out = NULL;
    if (!realpath(root, real) || stat(real, &st) != 0 || !S_ISDIR(st.st_mode))
        return dl_err_set(err, DL_ENOTFOUND, "directory '%s' not found", root);
    t = dl_calloc(1, sizeof(*t));
    t->base.ops = &dir_ops;
    t->root = dl_strdup(real);
    t->base.label = dl_asprintf("directory %s", root);
    *out = &t->base;
    return 0;
}

void dl_tree_free(struct dl_tree *t)
{
    if (!t)
        return;
    if (t->ops->dispose)
        t->ops->dispose(t);
    free(t->label);
    free(t);
}

int dl_tree_list(struct dl_tree *t, const char *dir, dl_tree_file_cb cb,
                 void *payload, struct dl_err *err)
{
    return t->ops->list(t, dir, cb, payload, err);
}

int dl_tree_read(struct dl_tree *t, const char *path, size_t max,
                 struct dl_buf *out, struct dl_err *err)
{
    return t->ops->read(t, path, max, out, err);
}

int dl_tree_type(struct dl_tree *t, const char *path)
{
    return t->ops->type(t, path);
}

int dl_tree_resolve(struct dl_tree *t, const char *rev, char out[41],
                    struct dl_err *err)
{
    if (!t->ops->resolve)
        return dl_err_set(err, DL_ENOTFOUND,
                          "cannot resolve revision '%s': %s is not a git "
                          "repository",
                          rev, t->label);
    return t->ops->resolve(t, rev, out, err);
}
