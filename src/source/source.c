/*
 * Placeholder implementation: plain directories only. The git source issue
 * replaces this with libgit2 (commits, work trees, URLs and the cache).
 */
#include "source/source.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

int dl_source_open(struct dl_source **out, const struct dl_source_opts *opts,
                   struct dl_err *err)
{
    struct dl_source *s;
    const char *root = opts->source ? opts->source : ".";
    char *path = dl_strdup(opts->path ? opts->path : DL_SOURCE_DEFAULT_PATH);
    int rc;

    *out = NULL;
    if ((rc = dl_path_normalize(path, err)) < 0) {
        free(path);
        return rc;
    }
    s = dl_calloc(1, sizeof(*s));
    s->id.path = path;
    s->id.url = dl_strdup(root);
    s->id.ref = dl_strdup(opts->ref);
    if ((rc = dl_tree_open_dir(&s->tree, root, err)) < 0) {
        dl_source_free(s);
        return rc;
    }
    if (dl_tree_type(s->tree, path) != DL_TREE_DIR) {
        rc = dl_err_set(err, DL_ENOTFOUND, "path '%s' not found in %s", path,
                        s->tree->label);
        dl_source_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void dl_source_free(struct dl_source *s)
{
    if (!s)
        return;
    dl_tree_free(s->tree);
    free(s->id.url);
    free(s->id.ref);
    free(s->id.path);
    free(s);
}
