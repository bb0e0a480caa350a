/* Placeholder: replaced by the real provider. */
#include "provider/stub.h"

static int diff(struct dl_pass *pass, struct dl_err *err)
{
    return dl_provider_stub_diff(pass, DL_KIND_IAM_POLICY_MEMBER, err);
}

const struct dl_provider dl_provider_iam_policy_member = {
    .kind = DL_KIND_IAM_POLICY_MEMBER,
    .observe = dl_provider_stub_observe,
    .diff = diff,
    .dispose = NULL,
};
