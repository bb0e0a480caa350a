/* Placeholder: replaced by the real provider. */
#include "provider/stub.h"

static int diff(struct dl_pass *pass, struct dl_err *err)
{
    return dl_provider_stub_diff(pass, DL_KIND_STORAGE_BUCKET_POLICY, err);
}

const struct dl_provider dl_provider_storage_bucket_policy = {
    .kind = DL_KIND_STORAGE_BUCKET_POLICY,
    .observe = dl_provider_stub_observe,
    .diff = diff,
    .dispose = NULL,
};
