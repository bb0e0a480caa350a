/* Placeholder providers (see stub.c). */
#ifndef DL_PROVIDER_STUB_H
#define DL_PROVIDER_STUB_H

#include "provider/provider.h"

int dl_provider_stub_observe(struct dl_pass *pass, struct dl_err *err);
int dl_provider_stub_diff(struct dl_pass *pass, enum dl_kind kind,
                          struct dl_err *err);

#endif
