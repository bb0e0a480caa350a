#include "cli/load.h"

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
