/* Tests for src/source/remote.c over SSH: a real sshd on 127.0.0.1
 * (skipped when openssh-server is not installed), key files, ssh-agent and
 * known_hosts checking. A separate executable because libgit2 1.5's SSH
 * transport leaks a little per connection (see valgrind-libgit2-ssh.supp),
 * which only this executable suppresses. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "source/source.h"
#include "util/alloc.h"

static char *root;
static struct fx_repo repo;

static int setup(void **state)
{
    (void)state;
    root = fx_tmpdir();
    fx_env(root);
    fx_make_repo(&repo, root, "repo");
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

static char *new_cache(const char *name)
{
    char *dir = dl_asprintf("%s/cache-%s", root, name);

    fx_rm_rf(dir);
    return dir;
}

/* ~/.ssh/known_hosts: one line for [127.0.0.1]:port with key_file.pub. */
static void write_known_hosts(int port, const char *key_file)
{
    char key[512], *path;
    FILE *f;

    assert_int_equal(
        fx_capture(key, sizeof(key), "cut -d' ' -f1,2 '%s.pub'", key_file), 0);
    assert_int_equal(fx_sh("mkdir -p '%s/.ssh'", root), 0);
    path = dl_asprintf("%s/.ssh/known_hosts", root);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "[127.0.0.1]:%d %s\n", port, key);
    fclose(f);
    free(path);
}

static void ssh_auth_and_host_keys(void **state)
{
    char *dir = dl_asprintf("%s/ssh", root), *url, *cache;
    char *key = NULL, *other = NULL, user[64];
    struct dl_source_opts o = {.cache_dir = NULL};
    struct dl_source *s = NULL;
    struct dl_err err = {0};
    int port = fx_free_port();
    pid_t pid, agent_pid;

    (void)state;
    if (access(FX_SSHD, X_OK) != 0 ||
        fx_sh("command -v ssh-keygen >/dev/null && command -v ssh-agent "
              ">/dev/null && "
              "command -v ssh-add >/dev/null") != 0) {
        fprintf(stderr, "sshd or the ssh tools are missing (openssh-server, "
                        "openssh-client): skipped\n");
        skip();
    }
    assert_int_equal(fx_sh("mkdir -p '%s'", dir), 0);
    pid = fx_sshd_start(dir, port);
    assert_int_equal(
        fx_sh("set -e; cd '%s'; ssh-keygen -q -t ed25519 -N '' -f user_key;"
              "ssh-keygen -q -t ed25519 -N '' -f other_key;"
              "cat user_key.pub > authorized_keys;"
              "git clone -q --bare '%s' origin.git",
              dir, repo.dir),
        0);
    assert_int_equal(fx_capture(user, sizeof(user), "id -un"), 0);
    key = dl_asprintf("%s/user_key", dir);
    other = dl_asprintf("%s/other_key", dir);
    url = dl_asprintf("ssh://%s@127.0.0.1:%d%s/origin.git", user, port, dir);
    cache = new_cache("ssh");
    o.source = url;
    o.cache_dir = cache;
    o.ssh_key = key;

    /* The host is not in ~/.ssh/known_hosts: refused. */
    assert_int_equal(fx_sh("rm -f '%s/.ssh/known_hosts'", root), 0);
    assert_int_equal(dl_source_open(&s, &o, &err), DL_EAUTH);
    assert_string_equal(err.msg, "ssh host key of '127.0.0.1' is not in "
                                 "~/.ssh/known_hosts or does not match it");

    /* ...unless the check is explicitly skipped. */
    o.insecure_skip_host_key_check = 1;
    assert_int_equal(dl_source_open(&s, &o, &err), 0);
    assert_string_equal(s->id.commit, repo.c5);
    dl_source_free(s);
    s = NULL;
    o.insecure_skip_host_key_check = 0;

    /* A different key recorded for the host: refused. */
    write_known_hosts(port, other);
    assert_int_equal(dl_source_open(&s, &o, &err), DL_EAUTH);
    assert_non_null(strstr(err.msg, "ssh host key of '127.0.0.1'"));

    /* The right host key: the key file authenticates. */
    {
        char *host = dl_asprintf("%s/host_key", dir);
        write_known_hosts(port, host);
        free(host);
    }
    assert_int_equal(dl_source_open(&s, &o, &err), 0);
    assert_string_equal(s->id.commit, repo.c5);
    assert_string_equal(s->id.url, url);
    dl_source_free(s);
    s = NULL;

    /* A key file without its .pub: libssh2 derives the public key. */
    {
        char *bare = dl_asprintf("%s/nopub_key", dir);

        assert_int_equal(fx_sh("cp '%s' '%s'", key, bare), 0);
        o.ssh_key = bare;
        assert_int_equal(dl_source_open(&s, &o, &err), 0);
        assert_string_equal(s->id.commit, repo.c5);
        dl_source_free(s);
        s = NULL;
        free(bare);
    }

    /* A key the server does not accept. */
    o.ssh_key = other;
    assert_int_equal(dl_source_open(&s, &o, &err), DL_EAUTH);
    assert_non_null(strstr(err.msg, "authentication to 'ssh://"));

    /* No key file: the agent's keys. */
    o.ssh_key = NULL;
    {
        /* In the foreground (-D), as our child: stopped and reaped by pid. */
        char *sock = dl_asprintf("%s/agent.sock", dir);

        fflush(NULL);
        agent_pid = fork();
        assert_true(agent_pid >= 0);
        if (agent_pid == 0) {
            execlp("ssh-agent", "ssh-agent", "-D", "-a", sock, (char *)NULL);
            _exit(127);
        }
        for (int i = 0; i < 500 && access(sock, F_OK) != 0; i++) {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
        assert_int_equal(access(sock, F_OK), 0);
        setenv("SSH_AUTH_SOCK", sock, 1);
        free(sock);
    }
    assert_int_equal(fx_sh("ssh-add -q '%s' 2>/dev/null", key), 0);
    assert_int_equal(dl_source_open(&s, &o, &err), 0);
    assert_string_equal(s->id.commit, repo.c5);
    dl_source_free(s);
    unsetenv("SSH_AUTH_SOCK");
    kill(agent_pid, SIGTERM);
    waitpid(agent_pid, NULL, 0);

    fx_daemon_stop(pid);
    free(cache);
    free(url);
    free(key);
    free(other);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ssh_auth_and_host_keys),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
