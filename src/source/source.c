/*
 * source.c - open a source (URL, local repository at a ref, work tree or
 * plain directory), its identity, and the git queries providers need:
 * resolve, ancestry, blame, signatures.
 */
#include "source/source.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "source/source_int.h"
#include "util/alloc.h"
#include "util/log.h"

struct source_impl {
    git_repository *repo; /* NULL for a plain directory */
    git_oid commit;       /* valid when id.commit is not "" */
    /* The last file blamed: a plan blames one line per resource, and
     * resources come file by file, so one blame serves a whole file. */
    char *blame_path;
    git_blame *blame;
    /* The files whose every line one commit wrote (see prov_build): built
     * on the first blame, NULL before or when it could not be built. */
    struct prov *prov;
};

/*
 * Provenance without a blame per file. One walk of the history diffs every
 * commit against its parents and finds, for each file of the commit, the
 * commit that introduced its current content, when that is the only
 * content the path ever had: then every line's blame is that commit, which
 * is what git_blame_file would say. A file changed since, added by several
 * commits, added by a merge, or added where the diff also deletes files (a
 * rename libgit2's blame would follow) is "mixed" and is blamed as before.
 */
struct prov_file {
    char *path;
    git_oid blob;  /* its content in the source's commit */
    git_oid intro; /* valid when nintro == 1 */
    int nintro;
    int mixed;
    int lines; /* -1 until counted */
};

struct prov {
    struct prov_file *f;
    size_t n, cap;
    /* Per commit of the walk: how many parents' diffs add each file with
     * its current content, and which files that count is not 0 for. */
    unsigned *added;
    size_t *touched, ntouched;
};

static int prov_cmp(const void *a, const void *b)
{
    return strcmp(((const struct prov_file *)a)->path,
                  ((const struct prov_file *)b)->path);
}

static int prov_key_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct prov_file *)elem)->path);
}

static struct prov_file *prov_find(struct prov *p, const char *path)
{
    return bsearch(path, p->f, p->n, sizeof(*p->f), prov_key_cmp);
}

static void prov_free(struct prov *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        free(p->f[i].path);
    free(p->f);
    free(p);
}

static int prov_collect(const char *root, const git_tree_entry *e, void *arg)
{
    struct prov *p = arg;
    struct prov_file *f;

    if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
        return 0;
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 256;
        p->f = dl_reallocarray(p->f, p->cap, sizeof(*p->f));
    }
    f = &p->f[p->n++];
    memset(f, 0, sizeof(*f));
    f->path = dl_asprintf("%s%s", root, git_tree_entry_name(e));
    git_oid_cpy(&f->blob, git_tree_entry_id(e));
    f->lines = -1;
    return 0;
}

/* Diff one parent's tree (NULL for a root commit) against c's: count the
 * files c adds with their current content, mark the others mixed. */
static int prov_diff(struct prov *p, git_repository *repo, git_tree *ptree,
                     git_tree *tree)
{
    git_diff *diff = NULL;
    size_t n;
    int deletes = 0;

    if (git_diff_tree_to_tree(&diff, repo, ptree, tree, NULL) < 0)
        return -1;
    n = git_diff_num_deltas(diff);
    for (size_t i = 0; i < n && !deletes; i++)
        deletes = git_diff_get_delta(diff, i)->status == GIT_DELTA_DELETED;
    for (size_t i = 0; i < n; i++) {
        const git_diff_delta *d = git_diff_get_delta(diff, i);
        struct prov_file *f;

        if (d->status == GIT_DELTA_DELETED ||
            !(f = prov_find(p, d->new_file.path)))
            continue;
        if (d->status == GIT_DELTA_ADDED && !deletes &&
            git_oid_equal(&d->new_file.id, &f->blob)) {
            size_t k = (size_t)(f - p->f);

            if (p->added[k]++ == 0)
                p->touched[p->ntouched++] = k;
        } else {
            f->mixed = 1;
        }
    }
    git_diff_free(diff);
    return 0;
}

/* Build impl->prov for the source's commit; on failure leave it NULL
 * (every file is then blamed). */
static void prov_build(struct source_impl *impl)
{
    struct prov *p = dl_calloc(1, sizeof(*p));
    git_commit *head = NULL, *c = NULL, *parent = NULL;
    git_tree *tree = NULL, *ptree = NULL;
    git_revwalk *walk = NULL;
    git_oid id;
    int ok = 0, e;

    if (git_commit_lookup(&head, impl->repo, &impl->commit) < 0 ||
        git_commit_tree(&tree, head) < 0 ||
        git_tree_walk(tree, GIT_TREEWALK_PRE, prov_collect, p) < 0)
        goto done;
    qsort(p->f, p->n, sizeof(*p->f), prov_cmp);
    git_tree_free(tree);
    tree = NULL;
    p->added = dl_calloc(p->n ? p->n : 1, sizeof(*p->added));
    p->touched = dl_calloc(p->n ? p->n : 1, sizeof(*p->touched));
    if (git_revwalk_new(&walk, impl->repo) < 0 ||
        git_revwalk_push(walk, &impl->commit) < 0)
        goto done;
    while ((e = git_revwalk_next(&id, walk)) == 0) {
        unsigned np;

        if (git_commit_lookup(&c, impl->repo, &id) < 0 ||
            git_commit_tree(&tree, c) < 0)
            goto done;
        np = git_commit_parentcount(c);
        if (np == 0 && prov_diff(p, impl->repo, NULL, tree) < 0)
            goto done;
        for (unsigned i = 0; i < np; i++) {
            e = git_commit_parent(&parent, c, i) < 0 ||
                git_commit_tree(&ptree, parent) < 0 ||
                prov_diff(p, impl->repo, ptree, tree) < 0;

            git_tree_free(ptree);
            git_commit_free(parent);
            ptree = NULL;
            parent = NULL;
            if (e)
                goto done;
        }
        /* Introduced here: added against every parent (a merge that
         * introduces content is left to blame). */
        for (size_t t = 0; t < p->ntouched; t++) {
            size_t i = p->touched[t];
            struct prov_file *f = &p->f[i];
            unsigned k = p->added[i];

            p->added[i] = 0;
            if (k < (np ? np : 1))
                continue;
            if (np > 1 || (f->nintro && !git_oid_equal(&f->intro, &id)))
                f->mixed = 1;
            git_oid_cpy(&f->intro, &id);
            f->nintro++;
        }
        p->ntouched = 0;
        git_tree_free(tree);
        git_commit_free(c);
        tree = NULL;
        c = NULL;
    }
    /* A walk cut short (a missing object) would miss changes: blame all. */
    ok = e == GIT_ITEROVER;
done:
    if (!ok) {
        git_error_clear();
        free(p->added);
        free(p->touched);
        prov_free(p);
        p = NULL;
    }
    if (p) {
        free(p->added);
        free(p->touched);
        p->added = NULL;
        p->touched = NULL;
    }
    git_revwalk_free(walk);
    git_tree_free(tree);
    git_commit_free(c);
    git_commit_free(head);
    impl->prov = p;
}

/* Lines of a blob as blame counts them: a last line without \n counts. */
static int prov_lines(git_repository *repo, struct prov_file *f)
{
    git_blob *b = NULL;
    const char *s;
    size_t len;
    int n = 0;

    if (f->lines >= 0)
        return f->lines;
    if (git_blob_lookup(&b, repo, &f->blob) < 0) {
        git_error_clear();
        return -1;
    }
    s = git_blob_rawcontent(b);
    len = (size_t)git_blob_rawsize(b);
    for (size_t i = 0; i < len; i++)
        n += s[i] == '\n';
    if (len && s[len - 1] != '\n')
        n++;
    git_blob_free(b);
    f->lines = n;
    return n;
}

static pthread_once_t git_once = PTHREAD_ONCE_INIT;

static void git_global_shutdown(void)
{
    git_libgit2_shutdown();
}

static void git_global_init(void)
{
    const char *file = getenv("SSL_CERT_FILE"), *dir = getenv("SSL_CERT_DIR");

    if (git_libgit2_init() < 0)
        dl_fatal("cannot initialise libgit2");
    atexit(git_global_shutdown);
    /* Debian's libgit2 uses mbedTLS with a built-in CA bundle path; honour
     * the variables OpenSSL (and so libcurl) honours, for one trust store
     * across the binary. */
    if ((file && *file) || (dir && *dir)) {
        if (git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS,
                             file && *file ? file : NULL,
                             dir && *dir ? dir : NULL) < 0) {
            dl_warn("cannot use SSL_CERT_FILE/SSL_CERT_DIR for git: %s",
                    git_error_last() ? git_error_last()->message : "");
            git_error_clear();
        }
    }
}

void dl_source_git_init(void)
{
    pthread_once(&git_once, git_global_init);
}

int dl_source_git_err(struct dl_err *err, int code, const char *what)
{
    const git_error *e = git_error_last();
    char msg[DL_ERR_MSG_MAX];
    int rc;

    /* libgit2 messages may span lines; ours are one line. */
    snprintf(msg, sizeof(msg), "%s", e && e->message ? e->message : "");
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    for (size_t n = strlen(msg); n > 0 && msg[n - 1] == ' '; n--)
        msg[n - 1] = '\0';
    if (*msg)
        rc = dl_err_set(err, code, "%s: %s", what, msg);
    else
        rc = dl_err_set(err, code, "%s", what);
    git_error_clear();
    return rc;
}

void dl_source_short_id(char out[8], const git_oid *oid)
{
    git_oid_tostr(out, 8, oid);
}

int dl_source_git_resolve(git_oid *out, git_repository *repo, const char *rev,
                          struct dl_err *err)
{
    git_object *obj = NULL, *commit = NULL;
    int e, rc = 0;

    if (!rev || !*rev)
        return dl_err_set(err, DL_EINVALID, "empty revision");
    e = git_revparse_single(&obj, repo, rev);
    if (e == GIT_ENOTFOUND || e == GIT_EINVALIDSPEC) {
        git_error_clear();
        rc = dl_err_set(err, DL_ENOTFOUND, "revision '%s' not found", rev);
        goto done;
    }
    if (e == GIT_EAMBIGUOUS) {
        git_error_clear();
        rc = dl_err_set(err, DL_EINVALID,
                        "revision '%s' is ambiguous (give more hex digits)",
                        rev);
        goto done;
    }
    if (e < 0) {
        char what[128];

        snprintf(what, sizeof(what), "cannot resolve revision '%.80s'", rev);
        rc = dl_source_git_err(err, DL_ERROR, what);
        goto done;
    }
    if (git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) < 0) {
        git_error_clear();
        rc = dl_err_set(err, DL_EINVALID,
                        "revision '%s' does not name a commit", rev);
        goto done;
    }
    git_oid_cpy(out, git_object_id(commit));
done:
    git_object_free(commit);
    git_object_free(obj);
    return rc;
}

/* The branch HEAD points to ("main"), or NULL (detached, unborn, error). */
static char *head_branch(git_repository *repo)
{
    git_reference *head = NULL;
    const char *name;
    char *out = NULL;

    if (git_reference_lookup(&head, repo, "HEAD") < 0) {
        git_error_clear();
        return NULL;
    }
    if (git_reference_type(head) == GIT_REFERENCE_SYMBOLIC) {
        name = git_reference_symbolic_target(head);
        if (name && strncmp(name, "refs/heads/", 11) == 0)
            out = dl_strdup(name + 11);
    }
    git_reference_free(head);
    return out;
}

/* Resolve the source's ref and make the commit tree. */
static int open_commit(struct dl_source *s, const char *ref, const char *where,
                       struct dl_err *err)
{
    struct source_impl *impl = s->impl;
    int rc;

    if ((rc = dl_source_git_resolve(&impl->commit, impl->repo, ref, err)) < 0) {
        if (rc == DL_ENOTFOUND)
            dl_err_set(err, DL_ENOTFOUND, "ref '%s' not found in %s", ref,
                       where);
        return rc;
    }
    git_oid_tostr(s->id.commit, sizeof(s->id.commit), &impl->commit);
    return dl_source_commit_tree(&s->tree, impl->repo, &impl->commit, err);
}

/* Does the work tree differ from HEAD (index or files) under path? */
static int work_tree_dirty(int *out, git_repository *repo, const char *path,
                           struct dl_err *err)
{
    git_status_options so = GIT_STATUS_OPTIONS_INIT;
    git_status_list *list = NULL;
    char *spec[1] = {NULL};
    int rc = 0;

    so.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
    so.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED |
               GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
               GIT_STATUS_OPT_EXCLUDE_SUBMODULES |
               GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH;
    if (*path) {
        spec[0] = dl_strdup(path); /* git_strarray wants char ** */
        so.pathspec.strings = spec;
        so.pathspec.count = 1;
    }
    if (git_status_list_new(&list, repo, &so) < 0)
        rc = dl_source_git_err(err, DL_ERROR,
                               "cannot compare the work tree with HEAD");
    else
        *out = git_status_list_entrycount(list) > 0;
    git_status_list_free(list);
    free(spec[0]);
    return rc;
}

static int open_local_repo(struct dl_source *s, const char *src,
                           const struct dl_source_opts *opts,
                           struct dl_err *err)
{
    struct source_impl *impl = s->impl;
    git_reference *head = NULL;
    char *label = NULL;
    int e, rc = 0;

    if (opts->ref) {
        s->id.ref = dl_strdup(opts->ref);
        return open_commit(s, opts->ref, src, err);
    }
    if (git_repository_is_bare(impl->repo)) {
        /* No work tree to read: read what HEAD names. */
        s->id.ref = head_branch(impl->repo);
        if ((rc = open_commit(s, "HEAD", src, err)) == DL_ENOTFOUND)
            dl_err_set(err, DL_ENOTFOUND,
                       "repository '%s' has no commits (HEAD is unborn)", src);
        return rc;
    }
    s->id.ref = head_branch(impl->repo);
    e = git_repository_head(&head, impl->repo);
    if (e == 0) {
        git_oid_cpy(&impl->commit, git_reference_target(head));
        git_oid_tostr(s->id.commit, sizeof(s->id.commit), &impl->commit);
    } else if (e == GIT_EUNBORNBRANCH || e == GIT_ENOTFOUND) {
        git_error_clear(); /* no commit yet: commit stays "" */
    } else {
        rc = dl_source_git_err(err, DL_ERROR, "cannot read HEAD");
        goto done;
    }
    label = dl_asprintf("work tree %s", src);
    if ((rc = dl_source_work_tree(&s->tree, git_repository_workdir(impl->repo),
                                  impl->repo, label, err)) < 0)
        goto done;
    rc = work_tree_dirty(&s->id.dirty, impl->repo, s->id.path, err);
done:
    free(label);
    git_reference_free(head);
    return rc;
}

static int open_local(struct dl_source *s, const char *src,
                      const struct dl_source_opts *opts, struct dl_err *err)
{
    struct source_impl *impl = s->impl;
    struct stat st;
    char *label;
    int e, rc;

    s->id.url = dl_strdup(src);
    if (stat(src, &st) != 0 || !S_ISDIR(st.st_mode))
        return dl_err_set(err, DL_ENOTFOUND, "directory '%s' not found", src);
    /* The source is the repository's top directory (or its .git); a
     * directory inside some other repository is read as a plain one. */
    e = git_repository_open_ext(&impl->repo, src, GIT_REPOSITORY_OPEN_NO_SEARCH,
                                NULL);
    if (e == 0)
        return open_local_repo(s, src, opts, err);
    if (e != GIT_ENOTFOUND) {
        char what[256];

        snprintf(what, sizeof(what), "cannot open repository '%.200s'", src);
        return dl_source_git_err(err, DL_ERROR, what);
    }
    git_error_clear();
    if (opts->ref)
        return dl_err_set(err, DL_EINVALID,
                          "cannot read ref '%s': '%s' is not a git repository",
                          opts->ref, src);
    label = dl_asprintf("directory %s", src);
    rc = dl_source_work_tree(&s->tree, src, NULL, label, err);
    free(label);
    return rc;
}

static int open_url(struct dl_source *s, const char *src,
                    const struct dl_source_opts *opts, struct dl_err *err)
{
    struct source_impl *impl = s->impl;
    char *head = NULL;
    const char *ref;
    int rc;

    s->id.url = dl_source_url_display(src);
    if ((rc = dl_source_remote_sync(&impl->repo, &head, src, opts, err)) < 0)
        goto done;
    ref = opts->ref ? opts->ref : head;
    if (!ref) {
        rc = dl_err_set(err, DL_ENOTFOUND,
                        "remote '%s' has no default branch (give a ref)",
                        s->id.url);
        goto done;
    }
    s->id.ref = dl_strdup(ref);
    rc = open_commit(s, ref, s->id.url, err);
done:
    free(head);
    return rc;
}

int dl_source_open(struct dl_source **out, const struct dl_source_opts *opts,
                   struct dl_err *err)
{
    const char *src = opts->source && *opts->source ? opts->source : ".";
    struct dl_source *s;
    int rc;

    *out = NULL;
    dl_source_git_init();
    s = dl_calloc(1, sizeof(*s));
    s->impl = dl_calloc(1, sizeof(struct source_impl));
    s->id.path = dl_strdup(opts->path ? opts->path : DL_SOURCE_DEFAULT_PATH);
    if ((rc = dl_path_normalize(s->id.path, err)) < 0)
        goto fail;
    if (dl_source_is_url(src))
        rc = open_url(s, src, opts, err);
    else
        rc = open_local(s, src, opts, err);
    if (rc < 0)
        goto fail;
    if (dl_tree_type(s->tree, s->id.path) != DL_TREE_DIR) {
        rc = dl_err_set(err, DL_ENOTFOUND, "path '%s' not found in %s",
                        *s->id.path ? s->id.path : ".", s->tree->label);
        goto fail;
    }
    *out = s;
    return 0;
fail:
    dl_source_free(s);
    return rc;
}

void dl_source_free(struct dl_source *s)
{
    struct source_impl *impl;

    if (!s)
        return;
    impl = s->impl;
    /* The tree borrows the repository: free it first. */
    dl_tree_free(s->tree);
    if (impl) {
        git_blame_free(impl->blame);
        free(impl->blame_path);
        prov_free(impl->prov);
        git_repository_free(impl->repo);
    }
    free(impl);
    free(s->id.url);
    free(s->id.ref);
    free(s->id.path);
    free(s);
}

int dl_source_is_url(const char *source)
{
    static const char *const schemes[] = {
        "https://", "http://",    "ssh://",     "git://",
        "file://",  "git+ssh://", "ssh+git://",
    };
    const char *colon, *at, *slash;

    if (!source)
        return 0;
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
        if (strncmp(source, schemes[i], strlen(schemes[i])) == 0)
            return 1;
    /* scp-like "user@host:path": an '@' and then a ':' before any '/'. */
    colon = strchr(source, ':');
    at = strchr(source, '@');
    slash = strchr(source, '/');
    return colon && at && at > source && at < colon && colon > at + 1 &&
           (!slash || slash > colon);
}

static int need_repo(struct dl_source *s, struct dl_err *err)
{
    struct source_impl *impl = s->impl;

    if (!impl || !impl->repo)
        return dl_err_set(err, DL_ENOTFOUND,
                          "source '%s' is not a git repository", s->id.url);
    return 0;
}

int dl_source_resolve(struct dl_source *s, const char *rev, char out[41],
                      struct dl_err *err)
{
    struct source_impl *impl = s->impl;
    git_oid oid;
    int rc;

    if ((rc = need_repo(s, err)) < 0 ||
        (rc = dl_source_git_resolve(&oid, impl->repo, rev, err)) < 0)
        return rc;
    git_oid_tostr(out, 41, &oid);
    return 0;
}

int dl_source_contains(struct dl_source *s, const char *commit,
                       const char *in_commit, int *out, struct dl_err *err)
{
    struct source_impl *impl = s->impl;
    git_oid a, b;
    int rc, e;

    *out = 0;
    if ((rc = need_repo(s, err)) < 0 ||
        (rc = dl_source_git_resolve(&a, impl->repo, commit, err)) < 0 ||
        (rc = dl_source_git_resolve(&b, impl->repo, in_commit, err)) < 0)
        return rc;
    if (git_oid_equal(&a, &b)) {
        *out = 1;
        return 0;
    }
    e = git_graph_descendant_of(impl->repo, &b, &a);
    if (e < 0)
        return dl_source_git_err(err, DL_ERROR, "cannot walk the commit graph");
    *out = e == 1;
    return 0;
}

int dl_source_blame_line(struct dl_source *s, const char *file, int line,
                         char out_commit[41], struct dl_err *err)
{
    struct source_impl *impl = s->impl;
    git_blame_options bo = GIT_BLAME_OPTIONS_INIT;
    git_blame *blame = NULL;
    git_commit *commit = NULL;
    git_tree *tree = NULL;
    git_tree_entry *e = NULL;
    const git_blame_hunk *hunk;
    struct prov_file *f;
    char *path = NULL, sid[8];
    int rc;

    if ((rc = need_repo(s, err)) < 0)
        return rc;
    if (!s->id.commit[0])
        return dl_err_set(err, DL_EINVALID,
                          "cannot blame '%s': the source has no commit", file);
    if (line < 1)
        return dl_err_set(err, DL_EINVALID, "line %d is not a line number",
                          line);
    dl_source_short_id(sid, &impl->commit);
    path = dl_strdup(file);
    if ((rc = dl_path_normalize(path, err)) < 0)
        goto done;
    if (!impl->prov)
        prov_build(impl);
    f = impl->prov ? prov_find(impl->prov, path) : NULL;
    if (f && !f->mixed && f->nintro == 1) {
        int lines = prov_lines(impl->repo, f);

        if (lines >= 0 && line > lines) {
            rc = dl_err_set(err, DL_ENOTFOUND,
                            "file '%s' has no line %d in commit %s", file, line,
                            sid);
            goto done;
        }
        if (lines >= 0) {
            git_oid_tostr(out_commit, 41, &f->intro);
            goto done;
        }
    }
    /* Check the file first: libgit2's own error would be less clear. */
    if (git_commit_lookup(&commit, impl->repo, &impl->commit) < 0 ||
        git_commit_tree(&tree, commit) < 0) {
        rc = dl_source_git_err(err, DL_ERROR, "cannot read the commit");
        goto done;
    }
    if (!*path || git_tree_entry_bypath(&e, tree, path) < 0 ||
        git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
        git_error_clear();
        rc = dl_err_set(err, DL_ENOTFOUND, "file '%s' not found in commit %s",
                        file, sid);
        goto done;
    }
    if (!impl->blame || strcmp(impl->blame_path, path) != 0) {
        git_oid_cpy(&bo.newest_commit, &impl->commit);
        if (git_blame_file(&blame, impl->repo, path, &bo) < 0) {
            rc = dl_source_git_err(err, DL_ERROR, "cannot blame the file");
            goto done;
        }
        git_blame_free(impl->blame);
        free(impl->blame_path);
        impl->blame = blame;
        impl->blame_path = path;
        blame = NULL;
        path = NULL;
    }
    hunk = git_blame_get_hunk_byline(impl->blame, (size_t)line);
    if (!hunk) {
        rc = dl_err_set(err, DL_ENOTFOUND,
                        "file '%s' has no line %d in commit %s", file, line,
                        sid);
        goto done;
    }
    git_oid_tostr(out_commit, 41, &hunk->final_commit_id);
done:
    git_blame_free(blame);
    git_tree_entry_free(e);
    git_tree_free(tree);
    git_commit_free(commit);
    free(path);
    return rc;
}

int dl_source_open_tree(struct dl_tree **out, struct dl_source *s,
                        const char *rev, struct dl_err *err)
{
    struct source_impl *impl = s->impl;
    git_oid oid;
    int rc;

    *out = NULL;
    if ((rc = need_repo(s, err)) < 0 ||
        (rc = dl_source_git_resolve(&oid, impl->repo, rev, err)) < 0)
        return rc;
    return dl_source_commit_tree(out, impl->repo, &oid, err);
}

int dl_source_verify_signature(struct dl_source *s, const char *commit,
                               const char *const *allowed_keys, size_t nkeys,
                               struct dl_err *err)
{
    struct source_impl *impl = s->impl;
    git_buf sig = {0}, data = {0};
    git_oid oid;
    char sid[8], what[32];
    int rc, e;

    if ((rc = need_repo(s, err)) < 0 ||
        (rc = dl_source_git_resolve(&oid, impl->repo, commit, err)) < 0)
        return rc;
    dl_source_short_id(sid, &oid);
    if (nkeys == 0)
        return dl_err_set(err, DL_EINVALID,
                          "cannot verify commit %s: no allowed signing keys",
                          sid);
    e = git_commit_extract_signature(&sig, &data, impl->repo, &oid, NULL);
    if (e == GIT_ENOTFOUND) {
        git_error_clear();
        rc = dl_err_set(err, DL_EAUTH, "commit %s is not signed", sid);
        goto done;
    }
    if (e < 0) {
        rc = dl_source_git_err(err, DL_ERROR, "cannot read the signature");
        goto done;
    }
    snprintf(what, sizeof(what), "commit %s", sid);
    rc = dl_sshsig_verify(sig.ptr, sig.size, data.ptr, data.size, allowed_keys,
                          nkeys, what, err);
done:
    git_buf_dispose(&sig);
    git_buf_dispose(&data);
    return rc;
}
