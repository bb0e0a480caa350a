#include "mem_tree.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

struct mem_file {
    char *path, *data;
    size_t len;
};

struct mem_tree {
    struct dl_tree base;
    struct mem_file *files;
    size_t n_files;
    char **revs; /* pairs: rev, id */
    size_t n_revs;
};

static int under(const char *path, const char *dir)
{
    size_t n = strlen(dir);

    return n == 0 || (strncmp(path, dir, n) == 0 && path[n] == '/');
}

static int cmp_files(const void *a, const void *b)
{
    return strcmp(((const struct mem_file *)a)->path,
                  ((const struct mem_file *)b)->path);
}

static int mem_type(struct dl_tree *base, const char *path)
{
    struct mem_tree *t = (struct mem_tree *)base;

    if (!*path)
        return DL_TREE_DIR;
    for (size_t i = 0; i < t->n_files; i++) {
        if (strcmp(t->files[i].path, path) == 0)
            return DL_TREE_FILE;
        if (under(t->files[i].path, path))
            return DL_TREE_DIR;
    }
    return DL_TREE_NONE;
}

static int mem_list(struct dl_tree *base, const char *dir, dl_tree_file_cb cb,
                    void *payload, struct dl_err *err)
{
    struct mem_tree *t = (struct mem_tree *)base;
    int rc = 0;

    if (mem_type(base, dir) != DL_TREE_DIR)
        return dl_err_set(err, DL_ENOTFOUND, "directory '%s' not found in %s",
                          dir, base->label);
    qsort(t->files, t->n_files, sizeof(*t->files), cmp_files);
    for (size_t i = 0; i < t->n_files && rc == 0; i++)
        if (under(t->files[i].path, dir))
            rc = cb(t->files[i].path, payload);
    return rc;
}

static int mem_read(struct dl_tree *base, const char *path, size_t max,
                    struct dl_buf *out, struct dl_err *err)
{
    struct mem_tree *t = (struct mem_tree *)base;

    for (size_t i = 0; i < t->n_files; i++) {
        if (strcmp(t->files[i].path, path) != 0)
            continue;
        if (t->files[i].len > max)
            return dl_err_set(err, DL_ELIMIT,
                              "file '%s' is larger than the limit of %zu "
                              "bytes",
                              path, max);
        if (dl_buf_put(out, t->files[i].data, t->files[i].len) < 0)
            return dl_err_set(err, DL_ELIMIT, "file '%s' is too large", path);
        return 0;
    }
    return dl_err_set(err, DL_ENOTFOUND, "file '%s' not found in %s", path,
                      base->label);
}

static int mem_resolve(struct dl_tree *base, const char *rev, char out[41],
                       struct dl_err *err)
{
    struct mem_tree *t = (struct mem_tree *)base;

    for (size_t i = 0; i < t->n_revs; i++) {
        if (strcmp(t->revs[2 * i], rev) == 0) {
            memcpy(out, t->revs[2 * i + 1], 41);
            return 0;
        }
    }
    return dl_err_set(err, DL_ENOTFOUND, "revision '%s' not found", rev);
}

static void mem_dispose(struct dl_tree *base)
{
    struct mem_tree *t = (struct mem_tree *)base;

    for (size_t i = 0; i < t->n_files; i++) {
        free(t->files[i].path);
        free(t->files[i].data);
    }
    free(t->files);
    for (size_t i = 0; i < 2 * t->n_revs; i++)
        free(t->revs[i]);
    free(t->revs);
}

static const struct dl_tree_ops mem_ops = {
    .list = mem_list,
    .read = mem_read,
    .type = mem_type,
    .resolve = NULL,
    .dispose = mem_dispose,
};

static const struct dl_tree_ops mem_ops_git = {
    .list = mem_list,
    .read = mem_read,
    .type = mem_type,
    .resolve = mem_resolve,
    .dispose = mem_dispose,
};

struct dl_tree *mem_tree_new(const char *label, int with_resolver)
{
    struct mem_tree *t = dl_calloc(1, sizeof(*t));

    t->base.ops = with_resolver ? &mem_ops_git : &mem_ops;
    t->base.label = dl_strdup(label);
    return &t->base;
}

void mem_tree_add(struct dl_tree *base, const char *path, const char *data,
                  size_t len)
{
    struct mem_tree *t = (struct mem_tree *)base;
    struct mem_file *f = NULL;

    for (size_t i = 0; i < t->n_files; i++)
        if (strcmp(t->files[i].path, path) == 0)
            f = &t->files[i];
    if (!f) {
        t->files = dl_reallocarray(t->files, t->n_files + 1, sizeof(*t->files));
        f = &t->files[t->n_files++];
        f->path = dl_strdup(path);
    } else {
        free(f->data);
    }
    f->data = dl_malloc(len + 1);
    memcpy(f->data, data, len);
    f->data[len] = '\0';
    f->len = len;
}

void mem_tree_add_str(struct dl_tree *t, const char *path, const char *text)
{
    mem_tree_add(t, path, text, strlen(text));
}

void mem_tree_add_rev(struct dl_tree *base, const char *rev, const char *id)
{
    struct mem_tree *t = (struct mem_tree *)base;

    t->revs = dl_reallocarray(t->revs, 2 * (t->n_revs + 1), sizeof(*t->revs));
    t->revs[2 * t->n_revs] = dl_strdup(rev);
    t->revs[2 * t->n_revs + 1] = dl_strdup(id);
    t->n_revs++;
}

struct copy_ctx {
    struct dl_tree *dst, *src;
    const char *dir, *prefix;
    int rc;
    struct dl_err *err;
};

static int copy_one(const char *path, void *payload)
{
    struct copy_ctx *c = payload;
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    const char *rel = path + strlen(c->dir) + (*c->dir ? 1 : 0);
    char *dst;
    int rc;

    rc = dl_tree_read(c->src, path, (size_t)64 << 20, &b, c->err);
    if (rc < 0) {
        dl_buf_dispose(&b);
        return rc;
    }
    dst = *c->prefix ? dl_asprintf("%s/%s", c->prefix, rel) : dl_strdup(rel);
    mem_tree_add(c->dst, dst, dl_buf_cstr(&b), b.len);
    free(dst);
    dl_buf_dispose(&b);
    return 0;
}

int mem_tree_copy(struct dl_tree *t, struct dl_tree *src, const char *dir,
                  const char *prefix)
{
    struct dl_err err;
    struct copy_ctx c = {t, src, dir, prefix, 0, &err};

    return dl_tree_list(src, dir, copy_one, &c, &err);
}
