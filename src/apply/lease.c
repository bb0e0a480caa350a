#include "apply/lease.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gcp/firestore.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"

#define TIME_MAX_LEN 40
/* Transient failures (5xx, 429, resets) of a lease call: tries, and the
   pause before try k+1 (k times this). */
#define TRANSIENT_TRIES 5
#define TRANSIENT_PAUSE_NS (250 * DL_NS_PER_MS)

struct dl_lease {
    struct dl_gcp_client *gcp;
    char *project;
    char *name; /* full document name */
    char *holder;
    int64_t ttl_ns;
    int64_t acquired_at;
    int64_t expires_at;
    char update_time[TIME_MAX_LEN]; /* of our last write */
    int held;
    int own_process; /* holder names this process: write the scope */
};

static char default_holder[256];
static pid_t default_holder_pid;

const char *dl_lease_default_holder(void)
{
    /* Made again in a forked child: a child is another holder. */
    if (!default_holder[0] || default_holder_pid != getpid()) {
        char host[128] = "localhost";
        unsigned char rnd[6] = {0};
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

        if (gethostname(host, sizeof(host) - 1) != 0)
            snprintf(host, sizeof(host), "localhost");
        host[sizeof(host) - 1] = '\0';
        if (fd < 0 || read(fd, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd)) {
            uint64_t t = (uint64_t)dl_time_mono_ns() ^ (uint64_t)getpid();

            memcpy(rnd, &t, sizeof(rnd));
        }
        if (fd >= 0)
            close(fd);
        snprintf(default_holder, sizeof(default_holder),
                 "%s:%ld:%02x%02x%02x%02x%02x%02x", host, (long)getpid(),
                 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
        default_holder_pid = getpid();
    }
    return default_holder;
}

const char *dl_lease_process_scope(void)
{
    static char scope[128];
    static int done;

    if (!done) {
        char boot[64] = "", ns[64] = "";
        FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
        ssize_t n;

        if (f) {
            if (!fgets(boot, sizeof(boot), f))
                boot[0] = '\0';
            boot[strcspn(boot, "\n")] = '\0';
            fclose(f);
        }
        n = readlink("/proc/self/ns/pid", ns, sizeof(ns) - 1);
        ns[n > 0 ? n : 0] = '\0';
        if (boot[0] && ns[0])
            snprintf(scope, sizeof(scope), "%s/%s", boot, ns);
        done = 1;
    }
    return scope[0] ? scope : NULL;
}

const char *dl_lease_holder(const struct dl_lease *l)
{
    return l->holder;
}

const char *dl_lease_project(const struct dl_lease *l)
{
    return l->project;
}

int dl_lease_held(const struct dl_lease *l)
{
    return l->held;
}

int64_t dl_lease_ttl(const struct dl_lease *l)
{
    return l->ttl_ns;
}

int64_t dl_lease_expires_at(const struct dl_lease *l)
{
    return l->expires_at;
}

void dl_lease_free(struct dl_lease *l)
{
    if (!l)
        return;
    free(l->project);
    free(l->name);
    free(l->holder);
    free(l);
}

static json_t *timestamp(int64_t t)
{
    char buf[TIME_MAX_LEN];

    dl_time_format_rfc3339(buf, sizeof(buf), t);
    return json_pack("{s:s}", "timestampValue", buf);
}

static json_t *lease_fields(const struct dl_lease *l)
{
    json_t *f = json_pack("{s:{s:s}, s:o, s:o}", "holder", "stringValue",
                          l->holder, "expiresAt", timestamp(l->expires_at),
                          "acquiredAt", timestamp(l->acquired_at));
    const char *scope = dl_lease_process_scope();

    if (l->own_process && scope)
        json_object_set_new(f, "processScope",
                            json_pack("{s:s}", "stringValue", scope));
    return f;
}

/* Write the lease document under pre; on success remember its
 * updateTime. */
static int write_lease(struct dl_lease *l,
                       const struct dl_firestore_precondition *pre,
                       struct dl_err *err)
{
    json_t *fields = lease_fields(l);
    char ut[TIME_MAX_LEN] = "";
    int rc = dl_firestore_put(l->gcp, l->name, fields, pre, ut, err);

    json_decref(fields);
    if (rc == 0)
        snprintf(l->update_time, sizeof(l->update_time), "%s", ut);
    return rc;
}

/* The current document's holder, expiry and updateTime. */
struct current {
    char holder[256];
    char scope[128]; /* processScope, "" when absent */
    char expires[TIME_MAX_LEN];
    char update_time[TIME_MAX_LEN];
    int64_t expires_at;
};

static void read_current(struct current *cur, json_t *doc)
{
    json_t *f = json_object_get(doc, "fields");
    const char *h = json_string_value(
        json_object_get(json_object_get(f, "holder"), "stringValue"));
    const char *e = json_string_value(
        json_object_get(json_object_get(f, "expiresAt"), "timestampValue"));
    const char *u = json_string_value(json_object_get(doc, "updateTime"));
    const char *sc = json_string_value(
        json_object_get(json_object_get(f, "processScope"), "stringValue"));
    struct dl_err ignored;

    snprintf(cur->holder, sizeof(cur->holder), "%s", h ? h : "");
    snprintf(cur->scope, sizeof(cur->scope), "%s", sc ? sc : "");
    snprintf(cur->expires, sizeof(cur->expires), "%s", e ? e : "");
    snprintf(cur->update_time, sizeof(cur->update_time), "%s", u ? u : "");
    /* A lease without a readable expiry counts as expired: it cannot
       have been written by driftless. */
    if (!e || dl_time_parse_rfc3339(&cur->expires_at, e, &ignored) < 0)
        cur->expires_at = 0;
}

/* 1 when cur's holder is a process of this machine and PID namespace
 * (its processScope is ours) that no longer exists: a killed applier
 * (SIGKILL, OOM) whose lease would otherwise block its rerun until expiry.
 * A reused PID only delays the takeover to the expiry. */
static int holder_gone(const struct current *cur)
{
    const char *scope = dl_lease_process_scope();
    const char *p = strchr(cur->holder, ':');
    char *end = NULL;
    long pid;

    if (!scope || !cur->scope[0] || strcmp(scope, cur->scope) != 0 || !p)
        return 0;
    pid = strtol(p + 1, &end, 10);
    if (end == p + 1 || *end != ':' || pid <= 0 || pid == (long)getpid())
        return 0;
    return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static void pause_ns(int64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / DL_NS_PER_SEC),
                          .tv_nsec = (long)(ns % DL_NS_PER_SEC)};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* One attempt: 0 (held), DL_ECONFLICT with cur filled (someone else holds
 * it), 1 (lost a race: try again at once), or another error. */
static int try_acquire(struct dl_lease *l, struct current *cur,
                       struct dl_err *err)
{
    json_t *doc = NULL;
    int rc = dl_firestore_get(l->gcp, l->name, &doc, err);
    int64_t now = dl_time_now_ns();

    l->acquired_at = now;
    l->expires_at = now + l->ttl_ns;
    if (rc == DL_ENOTFOUND) {
        struct dl_firestore_precondition absent = {.exists = -1};

        rc = write_lease(l, &absent, err);
        if (rc == DL_ECONFLICT)
            rc = 1; /* created by someone else meanwhile */
        goto done;
    }
    if (rc < 0)
        goto done;
    read_current(cur, doc);
    if (cur->expires_at > now && strcmp(cur->holder, l->holder) != 0) {
        if (!holder_gone(cur)) {
            rc = DL_ECONFLICT;
            goto done;
        }
        dl_info("lease: taking over driftless_leases/%s from '%s': that "
                "process is gone (its lease ran until %s)",
                l->project, cur->holder, cur->expires);
    }
    {
        struct dl_firestore_precondition same = {.update_time =
                                                     cur->update_time};

        rc = write_lease(l, &same, err);
        if (rc == DL_ECONFLICT || rc == DL_ENOTFOUND)
            rc = 1; /* taken over or released meanwhile */
    }
done:
    json_decref(doc);
    return rc;
}

int dl_lease_acquire(struct dl_lease **out, struct dl_gcp_client *c,
                     const char *project, const struct dl_lease_opts *opts,
                     struct dl_err *err)
{
    struct dl_lease *l = dl_calloc(1, sizeof(*l));
    int64_t timeout = opts ? opts->timeout_ns : 0;
    int64_t retry = opts && opts->retry_ns > 0 ? opts->retry_ns : DL_NS_PER_SEC;
    int64_t deadline = dl_time_mono_ns() + timeout;
    struct current cur;
    int transient = 0;
    int rc;

    *out = NULL;
    l->gcp = c;
    l->project = dl_strdup(project);
    l->name = dl_asprintf("projects/%s/databases/(default)/documents/%s/%s",
                          project, DL_LEASE_COLLECTION, project);
    l->holder = dl_strdup(opts && opts->holder ? opts->holder
                                               : dl_lease_default_holder());
    l->own_process = strcmp(l->holder, dl_lease_default_holder()) == 0;
    l->ttl_ns =
        opts && opts->ttl_ns > 0 ? opts->ttl_ns : DL_LEASE_DEFAULT_TTL_NS;
    for (;;) {
        int64_t left;

        memset(&cur, 0, sizeof(cur));
        rc = try_acquire(l, &cur, err);
        if (rc == 0)
            break;
        if (rc == DL_ETRANSIENT && transient < TRANSIENT_TRIES) {
            /* Look again: a create whose answer was lost shows our own
               holder, which try_acquire takes as ours. */
            pause_ns(++transient * TRANSIENT_PAUSE_NS);
            continue;
        }
        if (rc < 0 && rc != DL_ECONFLICT)
            goto done;
        left = deadline - dl_time_mono_ns();
        if (rc == 1)
            continue; /* lost a race: look again at once */
        if (left <= 0) {
            rc = dl_err_set(err, DL_ECONFLICT,
                            "project '%s' is locked by '%s' until %s (lease "
                            "%s/%s)",
                            project, cur.holder, cur.expires,
                            DL_LEASE_COLLECTION, project);
            goto done;
        }
        pause_ns(left < retry ? left : retry);
    }
    l->held = 1;
    *out = l;
    l = NULL;
done:
    dl_lease_free(l);
    return rc;
}

/* 1 when the lease document (read again) still names l's holder: then
 * l adopts its updateTime. Lease writes are retried on DL_ETRANSIENT; a
 * write that landed but whose answer was lost makes the retry's
 * precondition fail, which this tells from a takeover (a takeover writes
 * another holder; holders are unique per process). */
static int still_ours(struct dl_lease *l, struct dl_err *err)
{
    json_t *doc = NULL;
    struct current cur;
    int ours = 0;

    memset(&cur, 0, sizeof(cur));
    if (dl_firestore_get(l->gcp, l->name, &doc, err) == 0) {
        read_current(&cur, doc);
        if (strcmp(cur.holder, l->holder) == 0 && cur.update_time[0]) {
            snprintf(l->update_time, sizeof(l->update_time), "%s",
                     cur.update_time);
            ours = 1;
        }
    }
    json_decref(doc);
    return ours;
}

int dl_lease_renew(struct dl_lease *l, struct dl_err *err)
{
    return dl_lease_renew_with(l, NULL, err);
}

int dl_lease_renew_with(struct dl_lease *l, struct dl_gcp_client *c,
                        struct dl_err *err)
{
    struct dl_firestore_precondition same = {.update_time = l->update_time};
    struct dl_gcp_client *own = l->gcp;
    int64_t old = l->expires_at;
    int rc;

    if (!l->held)
        return dl_err_set(err, DL_ECONFLICT,
                          "lease of project '%s' is not held", l->project);
    l->expires_at = dl_time_now_ns() + l->ttl_ns;
    if (c)
        l->gcp = c;
    for (int attempt = 1;; attempt++) {
        rc = write_lease(l, &same, err);
        if (rc == DL_ETRANSIENT && attempt < TRANSIENT_TRIES) {
            pause_ns(attempt * TRANSIENT_PAUSE_NS);
            continue;
        }
        /* A refused precondition after a lost answer may be our own
           earlier attempt: still ours when the document names us. */
        if (rc == DL_ECONFLICT && attempt < TRANSIENT_TRIES &&
            still_ours(l, err)) {
            same.update_time = l->update_time;
            continue;
        }
        break;
    }
    l->gcp = own;
    if (rc < 0)
        l->expires_at = old;
    if (rc == DL_ECONFLICT || rc == DL_ENOTFOUND) {
        l->held = 0;
        rc = dl_err_set(err, DL_ECONFLICT,
                        "lease of project '%s' was lost (taken over or "
                        "removed since %s)",
                        l->project, l->update_time);
    }
    return rc;
}

int dl_lease_release(struct dl_lease *l, struct dl_err *err)
{
    struct dl_firestore_precondition same;
    int rc;

    if (!l || !l->held)
        return 0;
    same = (struct dl_firestore_precondition){.update_time = l->update_time};
    for (int attempt = 1;; attempt++) {
        /* A delete whose answer was lost is retried: the retry finds
           the document gone (NOT_FOUND) or ours. */
        rc = dl_firestore_delete(l->gcp, l->name, &same, err);
        if (rc != DL_ETRANSIENT || attempt >= TRANSIENT_TRIES)
            break;
        pause_ns(attempt * TRANSIENT_PAUSE_NS);
    }
    l->held = 0;
    if (rc == DL_ECONFLICT || rc == DL_ENOTFOUND)
        rc = 0; /* no longer ours: nothing to give up */
    return rc;
}
