#include "cli/load.h"

#include <stdio.h>

#include "model/diag.h"

int dl_cli_verify_signatures(struct dl_source *s, const struct dl_model *m,
                             struct dl_err *err)
{
    for (size_t i = 0; i < m->n_projects; i++) {
        const struct dl_resource *p = m->projects[i];
        const struct dl_project_spec *ps = &p->spec.project;
        int rc;

        if (!ps->require_signed_commits)
            continue;
        if (!s->id.commit[0])
            return dl_err_set(err, DL_EAUTH,
                              "project '%s' requires signed commits, but "
                              "'%s' is not a git repository",
                              p->name, s->id.url);
        if (s->id.dirty)
            return dl_err_set(err, DL_EAUTH,
                              "project '%s' requires signed commits, but the "
                              "work tree has uncommitted changes under '%s' "
                              "(commit them, or read a commit with --ref)",
                              p->name, s->id.path);
        rc = dl_source_verify_signature(
            s, s->id.commit, (const char *const *)ps->allowed_signers,
            ps->n_allowed_signers, err);
        if (rc < 0) {
            dl_err_prefix(err, "project '%s'", p->name);
            return rc;
        }
    }
    return 0;
}

int dl_cli_load(struct dl_source **src, struct dl_model **model,
                const struct dl_source_opts *opts, const char *cmd)
{
    struct dl_diags diags;
    struct dl_err err;
    int rc;

    *src = NULL;
    *model = NULL;
    dl_diags_init(&diags);
    rc = dl_source_open(src, opts, &err);
    if (rc < 0)
        goto fail;
    rc = dl_model_load(model, (*src)->tree, (*src)->id.path, &diags, &err);
    if (rc < 0 && dl_diags_count(&diags) > 0) {
        dl_diags_print_text(&diags, stderr);
        fprintf(stderr,
                "driftless %s: the desired state has %zu %s; nothing was "
                "planned\n",
                cmd, dl_diags_count(&diags),
                dl_diags_count(&diags) == 1 ? "error" : "errors");
        goto out;
    }
    if (rc < 0)
        goto fail;
    rc = dl_cli_verify_signatures(*src, *model, &err);
    if (rc < 0)
        goto fail;
    dl_diags_dispose(&diags);
    return 0;
fail:
    fprintf(stderr, "driftless %s: %s\n", cmd, err.msg);
out:
    dl_diags_dispose(&diags);
    dl_model_free(*model);
    dl_source_free(*src);
    *model = NULL;
    *src = NULL;
    return rc;
}
