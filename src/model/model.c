#include "model/model.h"

#include <stdlib.h>
#include <string.h>

#include "model/spec.h"
#include "model/yaml.h"
#include "util/alloc.h"

struct load {
    struct dl_tree *tree;
    const char *path;
    struct dl_diags *diags;
    size_t errors;
    char **files;
    size_t n_files, cap_files;
    struct dl_resource **res;
    size_t n_res, cap_res;
    char **broken; /* directories whose files did not fully parse */
    size_t n_broken, cap_broken;
};

static void diag(struct load *l, const char *file, int line, int col,
                 const char *fmt, ...) DL_PRINTF(5, 6);

static void diag(struct load *l, const char *file, int line, int col,
                 const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    dl_diags_vadd(l->diags, file, line, col, fmt, ap);
    va_end(ap);
    l->errors++;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n > k && strcmp(s + n - k, suffix) == 0;
}

static int collect(const char *path, void *payload)
{
    struct load *l = payload;

    if (!has_suffix(path, ".yaml") && !has_suffix(path, ".yml"))
        return 0;
    if (l->n_files >= DL_MODEL_MAX_FILES)
        return DL_ELIMIT;
    if (l->n_files == l->cap_files) {
        l->cap_files = l->cap_files ? l->cap_files * 2 : 16;
        l->files = dl_reallocarray(l->files, l->cap_files, sizeof(*l->files));
    }
    l->files[l->n_files++] = dl_strdup(path);
    return 0;
}

/* The directory part of a tree path ("" for a file at the root). */
static char *dir_of(const char *file)
{
    const char *slash = strrchr(file, '/');

    return slash ? dl_strndup(file, (size_t)(slash - file)) : dl_strdup("");
}

/* Is dir equal to or below ancestor? */
static int is_under(const char *dir, const char *ancestor)
{
    size_t n = strlen(ancestor);

    if (n == 0)
        return 1;
    return strncmp(dir, ancestor, n) == 0 && (dir[n] == '\0' || dir[n] == '/');
}

static void mark_broken(struct load *l, const char *file)
{
    if (l->n_broken == l->cap_broken) {
        l->cap_broken = l->cap_broken ? l->cap_broken * 2 : 4;
        l->broken =
            dl_reallocarray(l->broken, l->cap_broken, sizeof(*l->broken));
    }
    l->broken[l->n_broken++] = dir_of(file);
}

static void add_resource(struct load *l, struct dl_resource *r)
{
    if (l->n_res == l->cap_res) {
        l->cap_res = l->cap_res ? l->cap_res * 2 : 16;
        l->res = dl_reallocarray(l->res, l->cap_res, sizeof(*l->res));
    }
    l->res[l->n_res++] = r;
}

/* Read and parse one file; its resources are appended to l->res. */
static int load_file(struct load *l, const char *file, struct dl_err *err)
{
    struct dl_buf text = DL_BUF_INIT(DL_MODEL_MAX_FILE_SIZE + 1);
    struct dl_yfile *yf = NULL;
    struct dl_err e;
    int rc;

    rc = dl_tree_read(l->tree, file, DL_MODEL_MAX_FILE_SIZE, &text, &e);
    if (rc == DL_ELIMIT) {
        diag(l, file, 1, 1, "file is larger than the limit of %d bytes",
             DL_MODEL_MAX_FILE_SIZE);
        mark_broken(l, file);
        rc = 0;
        goto done;
    }
    if (rc < 0) {
        dl_err_copy(err, &e);
        goto done;
    }
    dl_diags_add_source(l->diags, file, dl_buf_cstr(&text), text.len);
    l->errors +=
        dl_yaml_parse(&yf, file, dl_buf_cstr(&text), text.len, l->diags);
    if (yf->broken)
        mark_broken(l, file);
    for (size_t i = 0; i < yf->n_docs; i++) {
        struct dl_resource *r;

        /* An empty document ("---" alone, or only comments) is no
         * resource. */
        if (dl_ynode_is_null(yf->docs[i].root))
            continue;
        r = dl_spec_parse(l->diags, file, &yf->docs[i], &l->errors);
        if (r)
            add_resource(l, r);
        else
            mark_broken(l, file);
    }
done:
    dl_yaml_file_free(yf);
    dl_buf_dispose(&text);
    return rc;
}

static struct dl_resource *project_for(struct load *l, const char *dir)
{
    struct dl_resource *best = NULL;
    size_t best_len = 0;

    for (size_t i = 0; i < l->n_res; i++) {
        struct dl_resource *p = l->res[i];

        if (p->kind != DL_KIND_PROJECT || !p->spec.project.dir)
            continue;
        if (is_under(dir, p->spec.project.dir) &&
            (!best || strlen(p->spec.project.dir) > best_len)) {
            best = p;
            best_len = strlen(p->spec.project.dir);
        }
    }
    return best;
}

static void scope_projects(struct load *l)
{
    for (size_t i = 0; i < l->n_res; i++) {
        struct dl_resource *p = l->res[i];
        char *dir;
        int clash = 0;

        if (p->kind != DL_KIND_PROJECT)
            continue;
        p->project = p;
        dir = dir_of(p->file);
        for (size_t j = 0; j < i && !clash; j++) {
            const struct dl_resource *q = l->res[j];

            if (q->kind != DL_KIND_PROJECT)
                continue;
            if (q->spec.project.dir && strcmp(q->spec.project.dir, dir) == 0) {
                diag(l, p->file, p->name_pos.line, p->name_pos.col,
                     "directory '%s' already has Project '%s' (at %s:%d:%d); "
                     "one Project applies to a directory and everything "
                     "below it",
                     *dir ? dir : ".", q->name, q->file, q->name_pos.line,
                     q->name_pos.col);
                clash = 1;
            } else if (strcmp(q->name, p->name) == 0 && *p->name) {
                diag(l, p->file, p->name_pos.line, p->name_pos.col,
                     "duplicate Project '%s' (first defined at %s:%d:%d)",
                     p->name, q->file, q->name_pos.line, q->name_pos.col);
                clash = 1;
            }
        }
        if (clash)
            free(dir);
        else
            p->spec.project.dir = dir;
    }
}

static int broken_above(const struct load *l, const char *dir)
{
    for (size_t i = 0; i < l->n_broken; i++)
        if (is_under(dir, l->broken[i]))
            return 1;
    return 0;
}

static void link_resources(struct load *l)
{
    for (size_t i = 0; i < l->n_res; i++) {
        struct dl_resource *r = l->res[i];
        char *dir;

        if (r->kind == DL_KIND_PROJECT)
            continue;
        dir = dir_of(r->file);
        r->project = project_for(l, dir);
        if (!r->project && !broken_above(l, dir))
            diag(l, r->file, r->pos.line, r->pos.col,
                 "no Project applies to %s '%s': add a Project document in "
                 "'%s' or a directory above it",
                 dl_kind_name(r->kind), r->name, *dir ? dir : ".");
        free(dir);
        if (!r->project)
            continue;
        if (!r->mode_set)
            r->mode = r->project->spec.project.mode;
        if (r->kind == DL_KIND_CLOUD_RUN_SERVICE) {
            struct dl_cloud_run_spec *s = &r->spec.run;
            const struct dl_project_spec *p = &r->project->spec.project;

            if (!s->region && p->region)
                s->region = dl_strdup(p->region);
            else if (!s->region)
                diag(l, r->file, r->name_pos.line, r->name_pos.col,
                     "CloudRunService '%s' has no region: set spec.region "
                     "here or in Project '%s'",
                     r->name, r->project->name);
            if (s->has_build && !p->build_image_repository) {
                struct dl_pos at = dl_resource_field_pos(r, "spec.build");

                diag(l, r->file, at.line, at.col,
                     "spec.build: Project '%s' sets no "
                     "spec.build.imageRepository to push the image to",
                     r->project->name);
            }
        }
    }
}

static int same_resource(const struct dl_resource *a,
                         const struct dl_resource *b)
{
    return a->kind == b->kind && a->project == b->project &&
           strcmp(a->name, b->name) == 0;
}

static int same_iam_condition(const struct dl_iam_condition *a, int has_a,
                              const struct dl_iam_condition *b, int has_b)
{
    if (has_a != has_b)
        return 0;
    return !has_a || (a->expression && b->expression &&
                      strcmp(a->expression, b->expression) == 0);
}

static int str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/*
 * IAM conflicts: one member declared twice, and a member whose role an
 * authoritative binding owns without listing it (they would undo each
 * other on every pass).
 */
static void check_iam(struct load *l)
{
    for (size_t i = 0; i < l->n_res; i++) {
        const struct dl_resource *r = l->res[i];
        const struct dl_iam_member_spec *m = &r->spec.iam_member;
        struct dl_pos at;

        if (r->kind != DL_KIND_IAM_POLICY_MEMBER || !r->project || !m->role ||
            !m->member)
            continue;
        at = dl_resource_field_pos(r, "spec.member");
        for (size_t j = 0; j < l->n_res; j++) {
            const struct dl_resource *q = l->res[j];

            if (q == r || q->project != r->project)
                continue;
            if (q->kind == DL_KIND_IAM_POLICY_MEMBER && j < i &&
                str_eq(q->spec.iam_member.role, m->role) &&
                str_eq(q->spec.iam_member.member, m->member) &&
                !m->resource == !q->spec.iam_member.resource &&
                (!m->resource ||
                 str_eq(m->resource, q->spec.iam_member.resource)) &&
                same_iam_condition(&m->condition, m->has_condition,
                                   &q->spec.iam_member.condition,
                                   q->spec.iam_member.has_condition)) {
                diag(l, r->file, at.line, at.col,
                     "member '%s' in role '%s' is already declared by "
                     "IAMPolicyMember '%s' (at %s:%d:%d)",
                     m->member, m->role, q->name, q->file, q->name_pos.line,
                     q->name_pos.col);
                break;
            }
            if (q->kind == DL_KIND_IAM_POLICY_BINDING && !m->resource &&
                str_eq(q->spec.iam_binding.role, m->role) &&
                same_iam_condition(&m->condition, m->has_condition,
                                   &q->spec.iam_binding.condition,
                                   q->spec.iam_binding.has_condition)) {
                size_t k;

                for (k = 0; k < q->spec.iam_binding.n_members; k++)
                    if (str_eq(q->spec.iam_binding.members[k], m->member))
                        break;
                if (k < q->spec.iam_binding.n_members)
                    continue;
                diag(l, r->file, at.line, at.col,
                     "member '%s' would be removed from role '%s' by "
                     "IAMPolicyBinding '%s' (at %s:%d:%d), which does not "
                     "list it",
                     m->member, m->role, q->name, q->file, q->name_pos.line,
                     q->name_pos.col);
                break;
            }
        }
    }
}

static void check_duplicates(struct load *l)
{
    for (size_t i = 0; i < l->n_res; i++) {
        const struct dl_resource *r = l->res[i];

        if (r->kind == DL_KIND_PROJECT || !r->project || !*r->name)
            continue;
        for (size_t j = 0; j < i; j++) {
            const struct dl_resource *q = l->res[j];

            if (same_resource(q, r)) {
                diag(l, r->file, r->name_pos.line, r->name_pos.col,
                     "duplicate %s '%s' in project '%s' (first defined at "
                     "%s:%d:%d)",
                     dl_kind_name(r->kind), r->name, r->project->name, q->file,
                     q->name_pos.line, q->name_pos.col);
                break;
            }
            /* Two authoritative bindings of one role would fight. */
            if (r->kind == DL_KIND_IAM_POLICY_BINDING && q->kind == r->kind &&
                q->project == r->project && r->spec.iam_binding.role &&
                q->spec.iam_binding.role &&
                strcmp(r->spec.iam_binding.role, q->spec.iam_binding.role) ==
                    0 &&
                same_iam_condition(&r->spec.iam_binding.condition,
                                   r->spec.iam_binding.has_condition,
                                   &q->spec.iam_binding.condition,
                                   q->spec.iam_binding.has_condition)) {
                struct dl_pos at = dl_resource_field_pos(r, "spec.role");

                diag(l, r->file, at.line, at.col,
                     "role '%s' is already bound by IAMPolicyBinding '%s' "
                     "(at %s:%d:%d); one binding owns a role",
                     r->spec.iam_binding.role, q->name, q->file,
                     q->name_pos.line, q->name_pos.col);
                break;
            }
        }
    }
}

static int resolve(struct load *l, const char *rev, const struct dl_pos *at,
                   char out[41], struct dl_err *err)
{
    struct dl_err e;
    int rc = dl_tree_resolve(l->tree, rev, out, &e);

    if (rc == DL_ENOTFOUND || rc == DL_EINVALID) {
        out[0] = '\0';
        diag(l, at->file, at->line, at->col, "revision '%s' not found in %s",
             rev, l->tree->label);
        return 0;
    }
    if (rc < 0) {
        out[0] = '\0';
        dl_err_copy(err, &e);
        return rc;
    }
    return 0;
}

/* Checks against the tree: Dockerfiles, contexts and revisions. */
static int check_tree(struct load *l, struct dl_err *err)
{
    int can_resolve = l->tree->ops->resolve != NULL;

    for (size_t i = 0; i < l->n_res; i++) {
        struct dl_resource *r = l->res[i];
        struct dl_cloud_run_spec *s = &r->spec.run;
        int rc, context_ok = 1;

        if (r->kind != DL_KIND_CLOUD_RUN_SERVICE)
            continue;

        if (s->has_build && s->build.context &&
            strcmp(s->build.context, ".") != 0 &&
            dl_tree_type(l->tree, s->build.context) != DL_TREE_DIR) {
            const struct dl_pos *at = &s->build.context_pos;

            diag(l, r->file, at->line, at->col,
                 "build context '%s' not found in %s", s->build.context,
                 l->tree->label);
            context_ok = 0;
        }
        if (s->has_build && s->build.dockerfile && context_ok &&
            dl_tree_type(l->tree, s->build.dockerfile) != DL_TREE_FILE) {
            const struct dl_pos *at = &s->build.dockerfile_pos;

            diag(l, r->file, at->line, at->col,
                 "dockerfile '%s' not found in %s", s->build.dockerfile,
                 l->tree->label);
        }
        if (!can_resolve)
            continue;
        if (s->has_build && s->build.commit &&
            (rc = resolve(l, s->build.commit, &s->build.commit_pos,
                          s->build.commit_id, err)) < 0)
            return rc;
        for (size_t k = 0; k < s->n_require_commits; k++)
            if ((rc = resolve(l, s->require_commits[k],
                              &s->require_commit_pos[k],
                              s->require_commit_ids[k], err)) < 0)
                return rc;
    }
    return 0;
}

static void load_dispose(struct load *l)
{
    for (size_t i = 0; i < l->n_files; i++)
        free(l->files[i]);
    free(l->files);
    for (size_t i = 0; i < l->n_res; i++)
        dl_resource_free(l->res[i]);
    free(l->res);
    for (size_t i = 0; i < l->n_broken; i++)
        free(l->broken[i]);
    free(l->broken);
}

int dl_model_load(struct dl_model **out, struct dl_tree *tree, const char *path,
                  struct dl_diags *diags, struct dl_err *err)
{
    struct load l = {.tree = tree, .diags = diags};
    struct dl_model *m = NULL;
    char *norm = dl_strdup(path ? path : "");
    int rc;

    *out = NULL;
    if ((rc = dl_path_normalize(norm, err)) < 0)
        goto done;
    l.path = norm;
    if (dl_tree_type(tree, norm) != DL_TREE_DIR) {
        rc = dl_err_set(err, DL_ENOTFOUND, "path '%s' not found in %s",
                        *norm ? norm : ".", tree->label);
        goto done;
    }
    rc = dl_tree_list(tree, norm, collect, &l, err);
    if (rc == DL_ELIMIT) {
        rc = dl_err_set(err, DL_ELIMIT,
                        "more than %d .yaml/.yml files under '%s'",
                        DL_MODEL_MAX_FILES, *norm ? norm : ".");
        goto done;
    }
    if (rc < 0)
        goto done;
    for (size_t i = 0; i < l.n_files; i++)
        if ((rc = load_file(&l, l.files[i], err)) < 0)
            goto done;
    scope_projects(&l);
    link_resources(&l);
    check_duplicates(&l);
    check_iam(&l);
    if ((rc = check_tree(&l, err)) < 0)
        goto done;
    if (l.errors) {
        dl_diags_sort(diags);
        rc = DL_EINVALID;
        dl_err_set(err, DL_EINVALID, "%zu %s in the desired state", l.errors,
                   l.errors == 1 ? "problem" : "problems");
        goto done;
    }
    m = dl_calloc(1, sizeof(*m));
    m->path = norm;
    norm = NULL;
    m->files = l.files;
    m->n_files = l.n_files;
    l.files = NULL;
    l.n_files = 0;
    m->resources = l.res;
    m->n_resources = l.n_res;
    l.res = NULL;
    l.n_res = 0;
    m->projects = dl_calloc(m->n_resources + 1, sizeof(*m->projects));
    for (size_t i = 0; i < m->n_resources; i++)
        if (m->resources[i]->kind == DL_KIND_PROJECT)
            m->projects[m->n_projects++] = m->resources[i];
    *out = m;
done:
    load_dispose(&l);
    free(norm);
    return rc;
}

void dl_model_free(struct dl_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_resources; i++)
        dl_resource_free(m->resources[i]);
    free(m->resources);
    free(m->projects);
    for (size_t i = 0; i < m->n_files; i++)
        free(m->files[i]);
    free(m->files);
    free(m->path);
    free(m);
}

const struct dl_resource *dl_model_find(const struct dl_model *m,
                                        enum dl_kind kind, const char *project,
                                        const char *name)
{
    for (size_t i = 0; i < m->n_resources; i++) {
        const struct dl_resource *r = m->resources[i];

        if (r->kind == kind && strcmp(r->name, name) == 0 &&
            (!project || strcmp(dl_resource_project_id(r), project) == 0))
            return r;
    }
    return NULL;
}

struct dl_pos dl_resource_field_pos(const struct dl_resource *r,
                                    const char *path)
{
    for (size_t i = 0; i < r->n_fields; i++)
        if (strcmp(r->fields[i].path, path) == 0)
            return r->fields[i].pos;
    return r->pos;
}

const char *dl_resource_project_id(const struct dl_resource *r)
{
    return r->project ? r->project->name : "";
}
