/*
 * Until a kind's provider is written, its resources plan as `error` with a
 * message saying so: never as in sync. Delete this file when every kind
 * has a provider.
 */
#include "provider/stub.h"

int dl_provider_stub_observe(struct dl_pass *pass, struct dl_err *err)
{
    (void)pass;
    (void)err;
    return 0;
}

int dl_provider_stub_diff(struct dl_pass *pass, enum dl_kind kind,
                          struct dl_err *err)
{
    (void)err;
    for (size_t i = 0; i < pass->model->n_resources; i++) {
        const struct dl_resource *r = pass->model->resources[i];

        if (r->kind != kind || !dl_pass_selected(pass, r))
            continue;
        dl_plan_resource_set_error(dl_pass_add(pass, r),
                                   "observing %s is not implemented yet",
                                   dl_kind_name(kind));
    }
    return 0;
}
