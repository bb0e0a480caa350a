/* Every provider, in apply order: IAM first, then services (and their
 * builds), then the hygiene kinds. */
#include "provider/provider.h"

extern const struct dl_provider dl_provider_project;
extern const struct dl_provider dl_provider_iam_policy_member;
extern const struct dl_provider dl_provider_iam_policy_binding;
extern const struct dl_provider dl_provider_cloud_run_service;
extern const struct dl_provider dl_provider_firestore_collection_policy;
extern const struct dl_provider dl_provider_bigquery_table_policy;
extern const struct dl_provider dl_provider_storage_bucket_policy;

const struct dl_provider *const dl_providers[] = {
    &dl_provider_project,
    &dl_provider_iam_policy_member,
    &dl_provider_iam_policy_binding,
    &dl_provider_cloud_run_service,
    &dl_provider_firestore_collection_policy,
    &dl_provider_bigquery_table_policy,
    &dl_provider_storage_bucket_policy,
    NULL,
};
