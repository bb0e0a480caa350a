/* Placeholder: replaced by the real provider. */
#include "provider/stub.h"

static int diff(struct dl_pass *pass, struct dl_err *err)
{
    return dl_provider_stub_diff(pass, DL_KIND_CLOUD_RUN_SERVICE, err);
}

const struct dl_provider dl_provider_cloud_run_service = {
    .kind = DL_KIND_CLOUD_RUN_SERVICE,
    .observe = dl_provider_stub_observe,
    .diff = diff,
    .dispose = NULL,
};
