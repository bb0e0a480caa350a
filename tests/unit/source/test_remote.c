/* Tests for src/source/remote.c: the clone cache over file:// and a real
 * git daemon on 127.0.0.1 (clone, fetch, failures, concurrency). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "source/source.h"
#include "source/source_int.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/log.h"

static char *root;
static struct fx_repo repo;

#define TOKEN "tok-s3cret-4711"

static int setup(void **state)
{
    char *ca;

    (void)state;
    root = fx_tmpdir();
    fx_env(root);
    fx_make_repo(&repo, root, "repo");
    /* Two self-signed certificates for 127.0.0.1: "good" is trusted (it is
     * the whole trust store, read when libgit2 starts), "bad" is not. */
    if (fx_sh("set -e; cd '%s'; for n in good bad; do "
              "openssl req -x509 -newkey ec -pkeyopt "
              "ec_paramgen_curve:prime256v1 -nodes -keyout $n-key.pem "
              "-out $n-cert.pem -days 2 -subj /CN=127.0.0.1 -addext "
              "subjectAltName=DNS:127.0.0.1,IP:127.0.0.1 2>/dev/null; done;"
              "mkdir -p http-served; git clone -q --bare '%s' "
              "http-served/origin.git",
              root, repo.dir) != 0)
        dl_fatal("certificates");
    ca = dl_asprintf("%s/good-cert.pem", root);
    setenv("SSL_CERT_FILE", ca, 1);
    unsetenv("SSL_CERT_DIR");
    free(ca);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_daemon_stop_all();
    fx_rm_rf(root);
    fx_repo_dispose(&repo);
    free(root);
    return 0;
}

/* A new empty cache directory for one test. */
static char *new_cache(const char *name)
{
    char *dir = dl_asprintf("%s/cache-%s", root, name);

    fx_rm_rf(dir);
    return dir;
}

/* Count the entries of dir whose name contains needle. */
static int count_entries(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL)
        if (strstr(de->d_name, needle))
            n++;
    closedir(d);
    return n;
}

static void cache_entry_names(void **state)
{
    char *a, *b, *c, *d, *e;
    const char *name;

    (void)state;
    a = dl_source_cache_entry("/c", "https://github.com/org/repo.git");
    b = dl_source_cache_entry("/c", "https://github.com/org/repo.git");
    c = dl_source_cache_entry("/c", "https://x-access-token:s3cr3t@github.com/"
                                    "org/repo.git");
    d = dl_source_cache_entry("/c", "https://github.com/org/other.git");
    e = dl_source_cache_entry("/c", "git@github.com:../../etc/passwd");
    assert_string_equal(a, b); /* stable */
    assert_string_equal(a, c); /* credentials do not matter */
    assert_string_not_equal(a, d);
    assert_int_equal(strncmp(a, "/c/github.com_org_repo.git-", 27), 0);
    assert_int_equal(strlen(a), 27 + 12);
    assert_null(strstr(c, "s3cr3t"));
    /* Only safe characters, no path escape. */
    name = e + 3;
    assert_null(strchr(name, '/'));
    assert_true(name[0] != '.');
    for (const char *p = name; *p; p++)
        assert_non_null(strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
                               "TUVWXYZ0123456789._-",
                               *p));
    free(a);
    free(b);
    free(c);
    free(d);
    free(e);

    /* Default: $XDG_CACHE_HOME/driftless, else ~/.cache/driftless. */
    setenv("XDG_CACHE_HOME", "/xdg", 1);
    a = dl_source_cache_entry(NULL, "file:///r");
    assert_int_equal(strncmp(a, "/xdg/driftless/r-", 17), 0);
    free(a);
    unsetenv("XDG_CACHE_HOME");
    a = dl_source_cache_entry(NULL, "file:///r");
    b = dl_asprintf("%s/.cache/driftless/r-", root);
    assert_int_equal(strncmp(a, b, strlen(b)), 0);
    free(a);
    free(b);
}

static void url_display(void **state)
{
    char *s;

    (void)state;
    s = dl_source_url_display("https://x-access-token:tok@github.com/a/b");
    assert_string_equal(s, "https://github.com/a/b");
    free(s);
    s = dl_source_url_display("https://TOKEN@github.com/a/b");
    assert_string_equal(s, "https://github.com/a/b");
    free(s);
    s = dl_source_url_display("ssh://git:pw@host/a/b");
    assert_string_equal(s, "ssh://git@host/a/b");
    free(s);
    s = dl_source_url_display("git@github.com:a/b.git");
    assert_string_equal(s, "git@github.com:a/b.git");
    free(s);
    s = dl_source_url_display("https://h/a@b");
    assert_string_equal(s, "https://h/a@b");
    free(s);
}

static struct dl_source *open_url(const char *url, const char *cache,
                                  const char *ref)
{
    struct dl_source_opts o = {.source = url, .ref = ref, .cache_dir = cache};
    struct dl_source *s = NULL;
    struct dl_err err = {0};

    if (dl_source_open(&s, &o, &err) != 0)
        fail_msg("open '%s': %s", url, err.msg);
    return s;
}

static void file_url(void **state)
{
    char *url = dl_asprintf("file://%s", repo.dir);
    char *cache = new_cache("file");
    char *entry = dl_source_cache_entry(cache, url);
    struct dl_source *s;
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_err err = {0};
    struct stat st;

    (void)state;
    s = open_url(url, cache, NULL);
    assert_string_equal(s->id.url, url);
    assert_string_equal(s->id.ref, "main"); /* the remote's default branch */
    assert_string_equal(s->id.commit, repo.c5);
    assert_int_equal(s->id.dirty, 0);
    assert_int_equal(
        dl_tree_read(s->tree, "desired-state/project.yaml", 1024, &b, &err), 0);
    assert_string_equal(dl_buf_cstr(&b),
                        "kind: Project\nname: two\nregion: eu\n");
    dl_buf_dispose(&b);
    dl_source_free(s);
    /* A bare clone, no work tree, no leftovers. */
    assert_int_equal(stat(entry, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    {
        char *head = dl_asprintf("%s/HEAD", entry);
        char *readme = dl_asprintf("%s/README", entry);
        assert_int_equal(access(head, F_OK), 0);
        assert_int_not_equal(access(readme, F_OK), 0);
        free(head);
        free(readme);
    }
    assert_int_equal(count_entries(cache, ".tmp-"), 0);

    /* Branches and tags were fetched: any of them can be read. */
    s = open_url(url, cache, "v1");
    assert_string_equal(s->id.commit, repo.c2);
    assert_int_equal(dl_tree_type(s->tree, "docker/api/Dockerfile"),
                     DL_TREE_FILE);
    dl_source_free(s);
    s = open_url(url, cache, "feature");
    assert_string_equal(s->id.commit, repo.c4);
    dl_source_free(s);
    free(entry);
    free(cache);
    free(url);
}

static void ref_not_found_url(void **state)
{
    char *url = dl_asprintf("file://%s", repo.dir);
    char *cache = new_cache("refnf");
    struct dl_source_opts o = {
        .source = url, .ref = "nope", .cache_dir = cache};
    struct dl_source *s = NULL;
    struct dl_err err = {0};
    char want[512];

    (void)state;
    assert_int_equal(dl_source_open(&s, &o, &err), DL_ENOTFOUND);
    snprintf(want, sizeof(want), "ref 'nope' not found in %s", url);
    assert_string_equal(err.msg, want);
    free(cache);
    free(url);
}

static void daemon_clone_fetch_and_failure(void **state)
{
    char *base = dl_asprintf("%s/served", root);
    char *cache = new_cache("daemon");
    char *url, *entry, *marker, *work = dl_asprintf("%s/work", root);
    char head[64];
    struct dl_source_opts o = {.cache_dir = NULL};
    struct dl_source *s = NULL;
    struct dl_err err = {0};
    struct stat st1, st2;
    int port = fx_free_port();
    pid_t pid;

    (void)state;
    assert_int_equal(fx_sh("mkdir -p '%s' && git clone -q --bare '%s' "
                           "'%s/origin.git'",
                           base, repo.dir, base),
                     0);
    pid = fx_daemon_start(base, port);
    url = dl_asprintf("git://127.0.0.1:%d/origin.git", port);
    entry = dl_source_cache_entry(cache, url);

    s = open_url(url, cache, NULL);
    assert_string_equal(s->id.commit, repo.c5);
    assert_string_equal(s->id.ref, "main");
    assert_string_equal(s->id.url, url);
    dl_source_free(s);
    assert_int_equal(stat(entry, &st1), 0);
    marker = dl_asprintf("%s/driftless-test-marker", entry);
    assert_int_equal(fx_sh("touch '%s'", marker), 0);

    /* A new commit upstream: the second open fetches it into the same
     * cache entry (same inode, marker kept) instead of cloning again. */
    assert_int_equal(fx_sh("set -e; git clone -q '%s/origin.git' '%s';"
                           "cd '%s'; echo more >> README;"
                           "git commit -q -am c6; git push -q origin main",
                           base, work, work),
                     0);
    assert_int_equal(
        fx_capture(head, sizeof(head), "git -C '%s' rev-parse HEAD", work), 0);
    s = open_url(url, cache, NULL);
    assert_string_equal(s->id.commit, head);
    dl_source_free(s);
    assert_int_equal(stat(entry, &st2), 0);
    assert_true(st1.st_ino == st2.st_ino);
    assert_int_equal(access(marker, F_OK), 0);

    /* A killed run's leftovers (a ref lock file, a temporary clone) do
     * not break the next fetch. */
    assert_int_equal(fx_sh("set -e; touch '%s/refs/heads/main.lock' "
                           "'%s/packed-refs.lock'; mkdir '%s.tmp-dead01';"
                           "cd '%s'; echo again >> README;"
                           "git commit -q -am c7; git push -q origin main",
                           entry, entry, entry, work),
                     0);
    assert_int_equal(
        fx_capture(head, sizeof(head), "git -C '%s' rev-parse HEAD", work), 0);
    s = open_url(url, cache, NULL);
    assert_string_equal(s->id.commit, head);
    dl_source_free(s);
    assert_int_equal(count_entries(cache, ".tmp-"), 0);
    {
        char *lock = dl_asprintf("%s/refs/heads/main.lock", entry);
        assert_int_not_equal(access(lock, F_OK), 0);
        free(lock);
    }

    /* A branch deleted upstream is pruned from the cache. */
    assert_int_equal(fx_sh("git -C '%s' push -q origin :feature", work), 0);
    s = open_url(url, cache, NULL);
    {
        char out[41];
        assert_int_equal(dl_source_resolve(s, "feature", out, &err),
                         DL_ENOTFOUND);
    }
    dl_source_free(s);

    /* A repository the daemon does not have. */
    {
        char *bad = dl_asprintf("git://127.0.0.1:%d/missing.git", port);
        o.source = bad;
        o.cache_dir = cache;
        assert_int_equal(dl_source_open(&s, &o, &err), DL_ETRANSIENT);
        assert_non_null(strstr(err.msg, "cannot fetch 'git://127.0.0.1:"));
        assert_int_equal(count_entries(cache, ".tmp-"), 0);
        assert_int_equal(count_entries(cache, "missing.git-"), 1); /* lock */
        free(bad);
    }

    /* The daemon stops: a clear, retryable error naming the URL. */
    fx_daemon_stop(pid);
    o.source = url;
    assert_int_equal(dl_source_open(&s, &o, &err), DL_ETRANSIENT);
    assert_null(s);
    {
        char want[256];
        snprintf(want, sizeof(want), "cannot fetch '%s'", url);
        assert_int_equal(strncmp(err.msg, want, strlen(want)), 0);
    }
    /* The cache entry survived the failed fetch. */
    assert_int_equal(stat(entry, &st2), 0);
    assert_true(st1.st_ino == st2.st_ino);

    free(marker);
    free(entry);
    free(url);
    free(work);
    free(cache);
    free(base);
}

static void timeout_leaves_no_entry(void **state)
{
    char *base = dl_asprintf("%s/served-timeout", root);
    char *cache = new_cache("timeout");
    char *url;
    struct dl_source_opts o = {.cache_dir = NULL};
    struct dl_source *s = NULL;
    struct dl_err err = {0};
    int port = fx_free_port();
    pid_t pid;

    (void)state;
    assert_int_equal(fx_sh("mkdir -p '%s' && git clone -q --bare '%s' "
                           "'%s/origin.git'",
                           base, repo.dir, base),
                     0);
    pid = fx_daemon_start(base, port);
    url = dl_asprintf("git://127.0.0.1:%d/origin.git", port);
    o.source = url;
    o.cache_dir = cache;
    o.timeout_ms = 1;
    assert_int_equal(dl_source_open(&s, &o, &err), DL_ETRANSIENT);
    assert_non_null(strstr(err.msg, "timed out after 1 ms"));
    /* Neither a half clone nor a temporary directory is left. */
    assert_int_equal(count_entries(cache, "origin.git-"), 1); /* the lock */
    assert_int_equal(count_entries(cache, ".tmp-"), 0);
    fx_daemon_stop(pid);
    free(url);
    free(cache);
    free(base);
}

static void concurrent_opens(void **state)
{
    char *base = dl_asprintf("%s/served-conc", root);
    char *cache = new_cache("conc");
    char *url, *entry, out[1024];
    int port = fx_free_port();
    pid_t pid, kids[3];
    struct dl_source *s;

    (void)state;
    assert_int_equal(fx_sh("mkdir -p '%s' && git clone -q --bare '%s' "
                           "'%s/origin.git'",
                           base, repo.dir, base),
                     0);
    pid = fx_daemon_start(base, port);
    url = dl_asprintf("git://127.0.0.1:%d/origin.git", port);
    fflush(NULL);
    for (int i = 0; i < 3; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            struct dl_source_opts o = {.source = url, .cache_dir = cache};
            struct dl_source *cs = NULL;
            struct dl_err err = {0};
            int ok = dl_source_open(&cs, &o, &err) == 0 &&
                     strcmp(cs->id.commit, repo.c5) == 0;

            if (!ok)
                fprintf(stderr, "child %d: %s\n", i, err.msg);
            dl_source_free(cs);
            _exit(ok ? 0 : 1);
        }
    }
    for (int i = 0; i < 3; i++) {
        int st = 0;
        assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    /* One valid entry, no leftovers, and it still opens. */
    assert_int_equal(count_entries(cache, ".tmp-"), 0);
    assert_int_equal(count_entries(cache, "origin.git-"), 2); /* + lock */
    entry = dl_source_cache_entry(cache, url);
    assert_int_equal(fx_capture(out, sizeof(out),
                                "git --git-dir='%s' fsck --no-dangling 2>&1",
                                entry),
                     0);
    if (*out)
        fail_msg("git fsck: %s", out);
    s = open_url(url, cache, NULL);
    assert_string_equal(s->id.commit, repo.c5);
    dl_source_free(s);
    fx_daemon_stop(pid);
    free(entry);
    free(url);
    free(cache);
    free(base);
}

struct http_server {
    pid_t pid;
    int port;
    char *log;
};

static void http_start(struct http_server *h, const char *cert_name)
{
    char *served = dl_asprintf("%s/http-served", root);
    char *cert = NULL, *key = NULL;

    h->port = fx_free_port();
    h->log = dl_asprintf("%s/http-%d.log", root, h->port);
    if (cert_name) {
        cert = dl_asprintf("%s/%s-cert.pem", root, cert_name);
        key = dl_asprintf("%s/%s-key.pem", root, cert_name);
    }
    h->pid = fx_http_start(served, h->port, "x-access-token", TOKEN, h->log,
                           cert, key);
    free(cert);
    free(key);
    free(served);
}

static void http_stop(struct http_server *h)
{
    fx_daemon_stop(h->pid);
    free(h->log);
}

static int log_has(const struct http_server *h, const char *what)
{
    char out[32];

    (void)fx_capture(out, sizeof(out), "grep -c -- '%s' '%s' 2>/dev/null", what,
                     h->log);
    return atoi(out) > 0;
}

static void https_token(void **state)
{
    struct http_server h;
    char *url, *cache = new_cache("https"), *entry, *with_creds;
    struct dl_source_opts o = {.cache_dir = NULL};
    struct dl_source *s = NULL;
    struct dl_err err = {0};
    char want[256];

    (void)state;
    http_start(&h, "good");
    url = dl_asprintf("https://127.0.0.1:%d/origin.git", h.port);
    o.source = url;
    o.cache_dir = cache;

    /* No token: refused, with a message saying what to do. */
    assert_int_equal(dl_source_open(&s, &o, &err), DL_EAUTH);
    snprintf(want, sizeof(want), "authentication to '%s' failed", url);
    assert_int_equal(strncmp(err.msg, want, strlen(want)), 0);
    assert_non_null(strstr(err.msg, "DRIFTLESS_GIT_TOKEN"));

    /* A wrong token: refused, and never shown. */
    setenv("DRIFTLESS_GIT_TOKEN", "wrong-token-0000", 1);
    assert_int_equal(dl_source_open(&s, &o, &err), DL_EAUTH);
    assert_null(strstr(err.msg, "wrong-token-0000"));
    assert_true(log_has(&h, "auth=wrong"));

    /* The right token: basic auth as x-access-token. */
    setenv("DRIFTLESS_GIT_TOKEN", TOKEN, 1);
    assert_int_equal(dl_source_open(&s, &o, &err), 0);
    assert_string_equal(s->id.commit, repo.c5);
    assert_string_equal(s->id.ref, "main");
    assert_true(log_has(&h, "auth=ok"));
    dl_source_free(s);
    s = NULL;
    unsetenv("DRIFTLESS_GIT_TOKEN");
    /* The token is registered with the logger: no log line can show it. */
    {
        char line[] = "header: Basic x-access-token:" TOKEN " end";

        dl_log_redact(line);
        assert_null(strstr(line, TOKEN));
        assert_non_null(strstr(line, "[REDACTED]"));
    }

    /* Credentials in the URL work, and are kept out of the identity, the
     * cache entry's name and everything written into the cache. */
    with_creds = dl_asprintf("https://x-access-token:%s@127.0.0.1:%d/"
                             "origin.git",
                             TOKEN, h.port);
    o.source = with_creds;
    assert_int_equal(dl_source_open(&s, &o, &err), 0);
    assert_string_equal(s->id.url, url);
    dl_source_free(s);
    s = NULL;
    entry = dl_source_cache_entry(cache, with_creds);
    assert_null(strstr(entry, TOKEN));
    {
        char found[512];

        assert_int_equal(fx_capture(found, sizeof(found),
                                    "grep -rl '%s' '%s'; true", TOKEN, cache),
                         0);
        assert_string_equal(found, "");
    }
    free(entry);
    free(with_creds);
    free(url);
    free(cache);
    http_stop(&h);
}

static void token_not_sent_over_http(void **state)
{
    struct http_server h;
    char *url, *cache = new_cache("http");
    struct dl_source_opts o = {.cache_dir = NULL};
    struct dl_source *s = NULL;
    struct dl_err err = {0};

    (void)state;
    http_start(&h, NULL);
    url = dl_asprintf("http://127.0.0.1:%d/origin.git", h.port);
    o.source = url;
    o.cache_dir = cache;
    setenv("DRIFTLESS_GIT_TOKEN", TOKEN, 1);
    assert_int_equal(dl_source_open(&s, &o, &err), DL_EAUTH);
    unsetenv("DRIFTLESS_GIT_TOKEN");
    assert_true(log_has(&h, "auth=none"));
    assert_false(log_has(&h, "auth=ok"));
    assert_false(log_has(&h, "auth=wrong"));
    free(url);
    free(cache);
    http_stop(&h);
}

static void untrusted_certificate(void **state)
{
    struct http_server h;
    char *url, *cache = new_cache("untrusted");
    struct dl_source_opts o = {.cache_dir = NULL};
    struct dl_source *s = NULL;
    struct dl_err err = {0};

    (void)state;
    http_start(&h, "bad");
    url = dl_asprintf("https://127.0.0.1:%d/origin.git", h.port);
    o.source = url;
    o.cache_dir = cache;
    setenv("DRIFTLESS_GIT_TOKEN", TOKEN, 1);
    assert_int_equal(dl_source_open(&s, &o, &err), DL_EAUTH);
    unsetenv("DRIFTLESS_GIT_TOKEN");
    assert_string_equal(err.msg,
                        "TLS certificate of '127.0.0.1' is not trusted");
    /* The token never reached the server. */
    assert_false(log_has(&h, "auth="));
    free(url);
    free(cache);
    http_stop(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cache_entry_names),
        cmocka_unit_test(url_display),
        cmocka_unit_test(file_url),
        cmocka_unit_test(ref_not_found_url),
        cmocka_unit_test(daemon_clone_fetch_and_failure),
        cmocka_unit_test(timeout_leaves_no_entry),
        cmocka_unit_test(concurrent_opens),
        cmocka_unit_test(https_token),
        cmocka_unit_test(token_not_sent_over_http),
        cmocka_unit_test(untrusted_certificate),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
