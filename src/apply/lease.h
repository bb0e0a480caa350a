/*
 * lease.h - one applier per project: a lease document in Firestore,
 * shared by `driftless apply` and the controller.
 *
 * The lease of project P is the document driftless_leases/P in P's
 * (default) database, with fields holder (string "hostname:pid:random"),
 * expiresAt and acquiredAt (timestamps). Every write carries a
 * precondition, so two appliers can never both believe they hold it:
 *   acquire  create with exists:false; or, when the document exists and
 *            is expired (or already ours, or its holder process is gone:
 *            see dl_lease_process_scope), replace it with updateTime ==
 *            the updateTime just read;
 *   renew    replace with updateTime == the one we last wrote;
 *   release  delete with updateTime == the one we last wrote.
 * Expiry is judged by this machine's clock against expiresAt.
 * Synchronous calls (dl_firestore_*): do not call from a client callback.
 */
#ifndef DL_APPLY_LEASE_H
#define DL_APPLY_LEASE_H

#include <stdint.h>

#include "gcp/gcp.h"
#include "util/err.h"

/* The collection the lease documents live in. */
#define DL_LEASE_COLLECTION "driftless_leases"
/* Default time to live of a lease (renewed well before). */
#define DL_LEASE_DEFAULT_TTL_NS (INT64_C(300) * 1000000000)

struct dl_lease_opts {
    int64_t ttl_ns;     /* lease duration; 0: DL_LEASE_DEFAULT_TTL_NS */
    int64_t timeout_ns; /* --lock-timeout: keep trying this long; 0: once */
    int64_t retry_ns;   /* pause between tries; 0: 1 s */
    const char *holder; /* this holder's identity; NULL: hostname:pid:random
                           (made once per process) */
    /* The executor (apply.h): options of a second Google client with which
       a background thread renews the leases every ttl/3 while phases run
       (a Cloud Build wait can outlast a lease). NULL: renew only between
       phases. Its transport must be NULL (libcurl). */
    const struct dl_gcp_client_opts *renew_client;
};

struct dl_lease;

/*
 * Take project's lease. On success *out is a held lease (release it with
 * dl_lease_release, then free with dl_lease_free). Errors (*out NULL):
 *   DL_ECONFLICT  held by someone else after opts->timeout_ns: "project
 *                 'p' is locked by 'host:pid:x' until <RFC 3339> (lease
 *                 driftless_leases/p)"
 *   other codes   Firestore failures, as dl_firestore_get/put.
 */
int dl_lease_acquire(struct dl_lease **out, struct dl_gcp_client *c,
                     const char *project, const struct dl_lease_opts *opts,
                     struct dl_err *err) DL_WUR;

/* Extend the lease by its ttl. DL_ECONFLICT when it was lost (taken over
   after expiry, or deleted): the lease is then no longer held. */
int dl_lease_renew(struct dl_lease *l, struct dl_err *err) DL_WUR;

/* Renew with client c instead of the lease's own (a client of another
   thread; NULL: the lease's own). Errors as dl_lease_renew. */
int dl_lease_renew_with(struct dl_lease *l, struct dl_gcp_client *c,
                        struct dl_err *err) DL_WUR;

/* Give the lease up (delete the document under our updateTime). 0 also
   when it was already lost (nothing of ours to delete); other errors as
   dl_firestore_delete. NULL-safe. */
int dl_lease_release(struct dl_lease *l, struct dl_err *err) DL_WUR;

/* Free l (NULL-safe). Does not release. */
void dl_lease_free(struct dl_lease *l);

/* The holder string of l, its project, and its expiry (ns since epoch).
   Not while a renewing thread runs (see renew_client). */
const char *dl_lease_holder(const struct dl_lease *l);
const char *dl_lease_project(const struct dl_lease *l);
int64_t dl_lease_expires_at(const struct dl_lease *l);
/* 1 while l is held (acquired, not lost, not released). */
int dl_lease_held(const struct dl_lease *l);
/* Its time to live (ns). */
int64_t dl_lease_ttl(const struct dl_lease *l);

/* Where this process's PIDs mean something: "<boot_id>/pid:[inode]" (the
 * kernel's boot id and this PID namespace), or NULL when /proc does not
 * say. A lease taken with the default holder also stores it as
 * processScope; an unexpired lease whose processScope is ours and whose
 * holder's PID no longer exists is taken over at once (its applier was
 * killed). Static storage; not thread-safe on its first call. */
const char *dl_lease_process_scope(void);

/* This process's default holder identity ("hostname:pid:random"), made
   once per process (again after a fork). */
const char *dl_lease_default_holder(void);

#endif
