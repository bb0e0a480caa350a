/*
 * remote.c - the clone cache: one bare repository per URL, cloned once and
 * fetched on later runs.
 *
 * Concurrency: every clone or fetch of an entry holds an exclusive flock on
 * "<entry>.lock". A first clone goes into a temporary directory that is
 * renamed into place only once it is complete, so nobody ever opens a
 * half-cloned entry. A fetch writes its pack before it moves any ref, and
 * refs are resolved only after the fetch returns, so nobody reads a
 * half-fetched tree. Objects are only ever added to an entry, so a run
 * reading an older commit is not disturbed by another run's fetch.
 */
#define _GNU_SOURCE /* nftw's FTW_DEPTH and FTW_PHYS */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "source/source_int.h"
#include "util/alloc.h"
#include "util/log.h"
#include "util/time.h"

#define NAME_MAX_PART 80

/* Split url into [0, *auth) scheme, [*auth, *host) userinfo+'@' (may be
 * empty), rest. Returns 0 when url has no "scheme://". */
static int split_url(const char *url, size_t *auth, size_t *host)
{
    const char *sep = strstr(url, "://"), *start, *end, *at = NULL;

    if (!sep)
        return 0;
    start = sep + 3;
    end = start + strcspn(start, "/?#");
    for (const char *p = start; p < end; p++)
        if (*p == '@')
            at = p;
    *auth = (size_t)(start - url);
    *host = at ? (size_t)(at + 1 - url) : *auth;
    return 1;
}

/* Are a and b both https:// URLs of the same host and port? */
static int same_https_server(const char *a, const char *b)
{
    size_t aa, ah, ba, bh, an, bn;

    if (strncmp(a, "https://", 8) != 0 || strncmp(b, "https://", 8) != 0 ||
        !split_url(a, &aa, &ah) || !split_url(b, &ba, &bh))
        return 0;
    an = strcspn(a + ah, "/?#");
    bn = strcspn(b + bh, "/?#");
    return an == bn && strncasecmp(a + ah, b + bh, an) == 0;
}

static int is_http(const char *url)
{
    return strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0;
}

char *dl_source_url_display(const char *url)
{
    size_t auth, host;
    const char *colon;

    if (!split_url(url, &auth, &host) || host == auth)
        return dl_strdup(url);
    /* http(s): a bare user part is often a token (https://TOKEN@host):
     * drop the whole userinfo. Others: keep the user, drop a password. */
    if (is_http(url))
        return dl_asprintf("%.*s%s", (int)auth, url, url + host);
    colon = memchr(url + auth, ':', host - auth);
    if (!colon)
        return dl_strdup(url);
    return dl_asprintf("%.*s@%s", (int)(colon - url), url, url + host);
}

/* Remember the credentials in a URL as secrets, so no log line shows them. */
static void register_url_secrets(const char *url)
{
    size_t auth, host;
    char *info, *colon;

    if (!split_url(url, &auth, &host) || host == auth)
        return;
    info = dl_strndup(url + auth, host - auth - 1);
    colon = strchr(info, ':');
    if (colon) {
        dl_log_add_secret(colon + 1); /* the password */
    } else if (is_http(url)) {
        dl_log_add_secret(info); /* https://TOKEN@host */
    }
    free(info);
}

static char *default_cache_dir(void)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

    if (xdg && *xdg == '/')
        return dl_asprintf("%s/driftless", xdg);
    if (home && *home)
        return dl_asprintf("%s/.cache/driftless", home);
    return NULL;
}

char *dl_source_cache_entry(const char *cache_dir, const char *url)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char *dir =
        cache_dir && *cache_dir ? dl_strdup(cache_dir) : default_cache_dir();
    char *plain, *out, name[NAME_MAX_PART + 1], hex[13];
    const char *p;
    size_t auth, host, n = 0;

    if (!dir)
        return NULL;
    /* The entry depends on where the repository is, not on credentials. */
    if (split_url(url, &auth, &host))
        plain = dl_asprintf("%.*s%s", (int)auth, url, url + host);
    else
        plain = dl_strdup(url);
    if (!EVP_Digest(plain, strlen(plain), md, &mdlen, EVP_sha256(), NULL))
        dl_fatal("SHA-256 failed");
    for (int i = 0; i < 6; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    p = strstr(plain, "://");
    p = p ? p + 3 : plain;
    for (; *p && n < NAME_MAX_PART; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '.' || c == '-';

        if (!ok)
            c = '_';
        /* No leading dot or underscore, no runs of underscores. */
        if ((n == 0 && (c == '.' || c == '_')) ||
            (c == '_' && n > 0 && name[n - 1] == '_'))
            continue;
        name[n++] = c;
    }
    while (n > 0 && name[n - 1] == '_')
        n--;
    name[n] = '\0';
    out = dl_asprintf("%s/%s-%s", dir, n ? name : "repo", hex);
    free(plain);
    free(dir);
    return out;
}

static int mkdir_p(const char *path, struct dl_err *err)
{
    char *tmp = dl_strdup(path);
    int rc = 0;

    for (char *p = tmp + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
            rc = dl_err_set(err, DL_ERROR, "cannot create directory '%s': %s",
                            tmp, strerror(errno));
            break;
        }
        *p = saved;
        if (!saved)
            break;
    }
    free(tmp);
    return rc;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(path) == 0 ? 0 : -1;
    return unlink(path) == 0 ? 0 : -1;
}

/* Remove a directory tree (a broken or temporary clone). */
static void rm_rf(const char *path)
{
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        dl_warn("cannot remove '%s': %s", path, strerror(errno));
}

static int64_t now_ms(void)
{
    return dl_time_mono_ns() / 1000000;
}

static int rm_lock_file(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    size_t n = strlen(path);

    (void)st;
    (void)ftw;
    if (flag == FTW_F && n > 5 && strcmp(path + n - 5, ".lock") == 0) {
        dl_warn("removing '%s' left by an interrupted run", path);
        unlink(path);
    }
    return 0;
}

/*
 * Called with the entry's flock held, so nobody else is writing it: remove
 * what a killed run may have left, which would otherwise fail every later
 * fetch (git's "*.lock" files for refs, packed-refs, HEAD, config) or
 * waste space (temporary clone directories).
 */
static void remove_leftovers(const char *dir, const char *entry)
{
    const char *base = strrchr(entry, '/') + 1;
    size_t blen = strlen(base);
    char *refs = dl_asprintf("%s/refs", entry);
    static const char *const top[] = {"packed-refs.lock", "HEAD.lock",
                                      "config.lock", "shallow.lock"};
    struct dirent *de;
    DIR *d;

    (void)nftw(refs, rm_lock_file, 16, FTW_PHYS);
    free(refs);
    for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
        char *p = dl_asprintf("%s/%s", entry, top[i]);

        if (unlink(p) == 0)
            dl_warn("removed '%s' left by an interrupted run", p);
        free(p);
    }
    d = opendir(dir);
    if (!d)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, base, blen) == 0 &&
            strncmp(de->d_name + blen, ".tmp-", 5) == 0) {
            char *p = dl_asprintf("%s/%s", dir, de->d_name);

            dl_warn("removing '%s' left by an interrupted clone", p);
            rm_rf(p);
            free(p);
        }
    }
    closedir(d);
}

/* Take the exclusive lock on an entry, waiting up to timeout_ms. */
static int lock_entry(int *out_fd, const char *lock_path, long timeout_ms,
                      struct dl_err *err)
{
    int64_t deadline = now_ms() + timeout_ms;
    int fd, waited = 0;

    *out_fd = -1;
    fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return dl_err_set(err, DL_ERROR, "cannot open lock file '%s': %s",
                          lock_path, strerror(errno));
    for (;;) {
        struct timespec ts = {0, 20 * 1000000L};

        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK) {
            int rc = dl_err_set(err, DL_ERROR, "cannot lock '%s': %s",
                                lock_path, strerror(errno));
            close(fd);
            return rc;
        }
        if (now_ms() >= deadline) {
            close(fd);
            return dl_err_set(err, DL_ETRANSIENT,
                              "cache entry '%s' is still locked by another "
                              "run after %ld ms",
                              lock_path, timeout_ms);
        }
        if (!waited++)
            dl_info("waiting for another run to finish with '%s'", lock_path);
        nanosleep(&ts, NULL);
    }
    *out_fd = fd;
    return 0;
}

static void unlock_entry(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

/* State shared with libgit2's callbacks during one fetch. */
struct fetch_ctx {
    const struct dl_source_opts *opts;
    const char *url;
    int64_t deadline_ms;
    int timed_out;
    int tried_token, tried_key, tried_agent;
    int no_creds;      /* the callback ran out of credentials to offer */
    int cert_rejected; /* the host key or certificate was refused */
    int cert_ssh;      /* ... and it was an ssh host key */
    char cert_host[256];
};

static int check_deadline(struct fetch_ctx *ctx)
{
    if (now_ms() < ctx->deadline_ms)
        return 0;
    ctx->timed_out = 1;
    git_error_set_str(GIT_ERROR_NET, "timed out");
    return -1;
}

static int on_progress(const git_indexer_progress *stats, void *payload)
{
    (void)stats;
    return check_deadline(payload);
}

static int on_sideband(const char *str, int len, void *payload)
{
    (void)str;
    (void)len;
    return check_deadline(payload);
}

static int on_credentials(git_credential **out, const char *url,
                          const char *user_from_url, unsigned int allowed,
                          void *payload)
{
    struct fetch_ctx *ctx = payload;
    const char *user = user_from_url && *user_from_url ? user_from_url : "git";
    const char *token = getenv(DL_SOURCE_TOKEN_ENV);

    /* The token goes only to https servers, never in clear text, and
     * only to the configured server (url is where libgit2 is now: a
     * redirect elsewhere gets no token). */
    if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && token && *token &&
        same_https_server(url ? url : ctx->url, ctx->url) &&
        !ctx->tried_token) {
        ctx->tried_token = 1;
        return git_credential_userpass_plaintext_new(out, "x-access-token",
                                                     token);
    }
    if (allowed & GIT_CREDENTIAL_SSH_KEY) {
        if (ctx->opts->ssh_key && !ctx->tried_key) {
            char *pub = dl_asprintf("%s.pub", ctx->opts->ssh_key);
            int rc;

            ctx->tried_key = 1;
            rc = git_credential_ssh_key_new(out, user,
                                            access(pub, R_OK) == 0 ? pub : NULL,
                                            ctx->opts->ssh_key, NULL);
            free(pub);
            return rc;
        }
        if (!ctx->opts->ssh_key && !ctx->tried_agent &&
            getenv("SSH_AUTH_SOCK")) {
            ctx->tried_agent = 1;
            return git_credential_ssh_key_from_agent(out, user);
        }
    }
    if (allowed & GIT_CREDENTIAL_USERNAME)
        return git_credential_username_new(out, user);
    ctx->no_creds = 1;
    git_error_set_str(GIT_ERROR_NET, "no accepted credentials");
    return GIT_EAUTH;
}

static int on_certificate(git_cert *cert, int valid, const char *host,
                          void *payload)
{
    struct fetch_ctx *ctx = payload;
    int ssh = cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2;

    if (valid)
        return 0;
    if (ssh && ctx->opts->insecure_skip_host_key_check) {
        dl_warn("not checking the ssh host key of '%s' "
                "(--insecure-skip-host-key-check)",
                host);
        return 0;
    }
    ctx->cert_rejected = 1;
    ctx->cert_ssh = ssh;
    snprintf(ctx->cert_host, sizeof(ctx->cert_host), "%s", host ? host : "");
    return GIT_ECERTIFICATE;
}

static int fetch_error_raw(struct fetch_ctx *ctx, int e, const char *display,
                           struct dl_err *err);

/*
 * Turn a failed libgit2 network call into our error. libgit2's part of the
 * message is scrubbed of the registered secrets (URL credentials, token),
 * in case a server or transport echoed them.
 */
static int fetch_error(struct fetch_ctx *ctx, int e, const char *display,
                       struct dl_err *err)
{
    int rc = fetch_error_raw(ctx, e, display, err);

    if (err)
        dl_log_redact(err->msg);
    return rc;
}

static int fetch_error_raw(struct fetch_ctx *ctx, int e, const char *display,
                           struct dl_err *err)
{
    char what[512];

    if (ctx->timed_out) {
        git_error_clear();
        return dl_err_set(
            err, DL_ETRANSIENT, "fetching '%s' timed out after %ld ms", display,
            ctx->opts->timeout_ms > 0 ? ctx->opts->timeout_ms
                                      : DL_SOURCE_DEFAULT_TIMEOUT_MS);
    }
    if (ctx->cert_rejected) {
        git_error_clear();
        if (ctx->cert_ssh)
            return dl_err_set(err, DL_EAUTH,
                              "ssh host key of '%s' is not in "
                              "~/.ssh/known_hosts or does not match it",
                              ctx->cert_host);
        return dl_err_set(err, DL_EAUTH,
                          "TLS certificate of '%s' is not trusted",
                          ctx->cert_host);
    }
    if (e == GIT_EAUTH || ctx->no_creds) {
        snprintf(what, sizeof(what),
                 "authentication to '%.300s' failed (https: set %s; ssh: "
                 "--ssh-key or ssh-agent)",
                 display, DL_SOURCE_TOKEN_ENV);
        return dl_source_git_err(err, DL_EAUTH, what);
    }
    if (e == GIT_ECERTIFICATE) {
        snprintf(what, sizeof(what), "certificate of '%.300s' refused",
                 display);
        return dl_source_git_err(err, DL_EAUTH, what);
    }
    snprintf(what, sizeof(what), "cannot fetch '%.300s'", display);
    return dl_source_git_err(err, DL_ETRANSIENT, what);
}

/*
 * Fetch every branch and tag of url into repo (mirroring them, pruning
 * deleted ones) and point HEAD at the remote's default branch.
 */
static int fetch(git_repository *repo, char **out_head, const char *url,
                 const char *display, const struct dl_source_opts *opts,
                 struct dl_err *err)
{
    git_fetch_options fo = GIT_FETCH_OPTIONS_INIT;
    git_remote_create_options co = GIT_REMOTE_CREATE_OPTIONS_INIT;
    char heads[] = "+refs/heads/*:refs/heads/*";
    char tags[] = "+refs/tags/*:refs/tags/*";
    char *specs[] = {heads, tags};
    git_strarray refspecs = {specs, 2};
    git_remote *remote = NULL;
    git_buf head = {0};
    struct fetch_ctx ctx = {0};
    long timeout =
        opts->timeout_ms > 0 ? opts->timeout_ms : DL_SOURCE_DEFAULT_TIMEOUT_MS;
    int e, rc = 0;

    *out_head = NULL;
    ctx.opts = opts;
    ctx.url = url;
    ctx.deadline_ms = now_ms() + timeout;
    /* An in-memory remote with explicit refspecs: nothing with the URL's
     * credentials is written to the entry's config. (It also skips
     * url.insteadOf, whose config walk leaks in libgit2 1.5 with PCRE2.) */
    co.repository = repo;
    co.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF |
               GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
    if (git_remote_create_with_opts(&remote, url, &co) < 0) {
        char what[400];

        snprintf(what, sizeof(what), "bad URL '%.300s'", display);
        rc = dl_source_git_err(err, DL_EINVALID, what);
        if (err)
            dl_log_redact(err->msg);
        goto done;
    }
    fo.callbacks.credentials = on_credentials;
    fo.callbacks.certificate_check = on_certificate;
    fo.callbacks.transfer_progress = on_progress;
    fo.callbacks.sideband_progress = on_sideband;
    fo.callbacks.payload = &ctx;
    fo.prune = GIT_FETCH_PRUNE;
    fo.update_fetchhead = 0;
    fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE; /* the refspec has them */
    fo.proxy_opts.type = GIT_PROXY_AUTO;
    e = git_remote_fetch(remote, &refspecs, &fo, "driftless: fetch");
    if (e < 0) {
        rc = fetch_error(&ctx, e, display, err);
        goto done;
    }
    /* The advertised refs stay readable after the fetch disconnected. */
    if (git_remote_default_branch(&head, remote) == 0 &&
        strncmp(head.ptr, "refs/heads/", 11) == 0) {
        if (git_repository_set_head(repo, head.ptr) < 0) {
            rc = dl_source_git_err(err, DL_ERROR, "cannot update HEAD");
            goto done;
        }
        *out_head = dl_strdup(head.ptr + 11);
    } else {
        git_error_clear();
    }
done:
    git_buf_dispose(&head);
    git_remote_free(remote);
    return rc;
}

/* Create a bare repository at dir, noting (for humans) where it is from. */
static int init_entry(git_repository **out, const char *dir,
                      const char *display, struct dl_err *err)
{
    git_repository *repo = NULL;
    git_config *cfg = NULL;
    int rc = 0;

    *out = NULL;
    if (git_repository_init(&repo, dir, 1) < 0 ||
        git_repository_config(&cfg, repo) < 0 ||
        git_config_set_string(cfg, "driftless.url", display) < 0) {
        rc = dl_source_git_err(err, DL_ERROR, "cannot create cache entry");
        git_repository_free(repo);
        repo = NULL;
    }
    git_config_free(cfg);
    *out = repo;
    return rc;
}

/* Clone url into a temporary directory next to entry, then rename it into
 * place: the entry either does not exist or is a complete clone. */
static int clone_entry(char **out_head, const char *entry, const char *url,
                       const char *display, const struct dl_source_opts *opts,
                       struct dl_err *err)
{
    git_repository *repo = NULL;
    char *tmp = dl_asprintf("%s.tmp-XXXXXX", entry);
    int rc;

    *out_head = NULL;
    if (!mkdtemp(tmp)) {
        rc = dl_err_set(err, DL_ERROR, "cannot create '%s': %s", tmp,
                        strerror(errno));
        free(tmp);
        return rc;
    }
    dl_info("cloning '%s' into '%s'", display, entry);
    if ((rc = init_entry(&repo, tmp, display, err)) < 0 ||
        (rc = fetch(repo, out_head, url, display, opts, err)) < 0)
        goto done;
    git_repository_free(repo);
    repo = NULL;
    if (rename(tmp, entry) != 0)
        rc = dl_err_set(err, DL_ERROR, "cannot move the clone to '%s': %s",
                        entry, strerror(errno));
done:
    git_repository_free(repo);
    if (rc < 0) {
        rm_rf(tmp);
        free(*out_head);
        *out_head = NULL;
    }
    free(tmp);
    return rc;
}

int dl_source_remote_sync(git_repository **out_repo, char **out_head,
                          const char *url, const struct dl_source_opts *opts,
                          struct dl_err *err)
{
    char *entry = NULL, *lock_path = NULL, *display = NULL, *dir = NULL;
    git_repository *repo = NULL;
    struct stat st;
    long timeout =
        opts->timeout_ms > 0 ? opts->timeout_ms : DL_SOURCE_DEFAULT_TIMEOUT_MS;
    int fd = -1, rc = 0;

    *out_repo = NULL;
    *out_head = NULL;
    register_url_secrets(url);
    if (is_http(url) && getenv(DL_SOURCE_TOKEN_ENV))
        dl_log_add_secret(getenv(DL_SOURCE_TOKEN_ENV));
    display = dl_source_url_display(url);
    entry = dl_source_cache_entry(opts->cache_dir, url);
    if (!entry) {
        rc = dl_err_set(err, DL_EINVALID,
                        "no cache directory: set --cache-dir, "
                        "XDG_CACHE_HOME or HOME");
        goto done;
    }
    dir = dl_strndup(entry, (size_t)(strrchr(entry, '/') - entry));
    if ((rc = mkdir_p(dir, err)) < 0)
        goto done;
    lock_path = dl_asprintf("%s.lock", entry);
    if ((rc = lock_entry(&fd, lock_path, timeout, err)) < 0)
        goto done;
    remove_leftovers(dir, entry);
    if (stat(entry, &st) == 0) {
        if (git_repository_open_bare(&repo, entry) < 0) {
            /* Only a crash in the middle of a fetch's ref update or a
             * disk problem gets here: start over. */
            git_error_clear();
            dl_warn("cache entry '%s' is not a repository: cloning again",
                    entry);
            rm_rf(entry);
        } else {
            dl_info("fetching '%s' into '%s'", display, entry);
            if ((rc = fetch(repo, out_head, url, display, opts, err)) < 0)
                goto done;
        }
    }
    if (!repo) {
        if ((rc = clone_entry(out_head, entry, url, display, opts, err)) < 0)
            goto done;
        if (git_repository_open_bare(&repo, entry) < 0) {
            rc = dl_source_git_err(err, DL_ERROR, "cannot open the clone");
            goto done;
        }
    }
    if (!*out_head) {
        /* The server did not say: keep what HEAD said last time. */
        git_reference *head = NULL;

        if (git_reference_lookup(&head, repo, "HEAD") == 0 &&
            git_reference_type(head) == GIT_REFERENCE_SYMBOLIC) {
            const char *t = git_reference_symbolic_target(head);
            git_reference *target = NULL;

            if (strncmp(t, "refs/heads/", 11) == 0 &&
                git_reference_lookup(&target, repo, t) == 0)
                *out_head = dl_strdup(t + 11);
            git_reference_free(target);
        }
        git_reference_free(head);
        git_error_clear();
    }
    *out_repo = repo;
    repo = NULL;
done:
    unlock_entry(fd);
    git_repository_free(repo);
    if (rc < 0) {
        free(*out_head);
        *out_head = NULL;
    }
    free(dir);
    free(lock_path);
    free(entry);
    free(display);
    return rc;
}
