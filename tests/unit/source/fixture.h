/*
 * fixture.h - helpers the source tests share: shell commands, temporary
 * directories, a repository built with the git CLI, and a git daemon on
 * 127.0.0.1.
 */
#ifndef DL_TEST_SOURCE_FIXTURE_H
#define DL_TEST_SOURCE_FIXTURE_H

#include <stddef.h>
#include <sys/types.h>

#include "util/err.h"

/* The commits of the repository fx_make_repo builds, as 40-hex ids. */
struct fx_repo {
    char *dir;   /* the repository (with a work tree) */
    char c1[41]; /* desired-state/project.yaml, README */
    char c2[41]; /* adds docker/api/Dockerfile, edits line 2; tag v1 */
    char c3[41]; /* moves the Dockerfile to services/api/Dockerfile */
    char c4[41]; /* branch "feature": adds desired-state/feature.yaml */
    char c5[41]; /* main: edits README; tag v2; main's head */
};

/*
 * Isolate the git CLI and libgit2 from the user's configuration (HOME and
 * GIT_CONFIG_* pointed at root) and set author/committer identities.
 */
void fx_env(const char *root);

/* A new empty directory under $TMPDIR (or /tmp); free with free(). */
char *fx_tmpdir(void);

/* Run a shell command (printf-style); returns its exit status (0 = ok). */
int fx_sh(const char *fmt, ...) DL_PRINTF(1, 2);

/*
 * Run a shell command and put its stdout, without the trailing newline,
 * in out. Returns the exit status.
 */
int fx_capture(char *out, size_t n, const char *fmt, ...) DL_PRINTF(3, 4);

/* Remove a directory tree. */
void fx_rm_rf(const char *path);

/* Build the test repository in parent/name (see struct fx_repo). */
void fx_make_repo(struct fx_repo *r, const char *parent, const char *name);
void fx_repo_dispose(struct fx_repo *r);

/* A free TCP port on 127.0.0.1. */
int fx_free_port(void);

/*
 * Start `git daemon` serving base (every repository below it) on
 * 127.0.0.1:port; returns its pid once it accepts connections.
 */
pid_t fx_daemon_start(const char *base, int port);
/*
 * Start git_http_server.py serving root on 127.0.0.1:port (HTTPS with
 * cert/key, plain HTTP when cert is NULL), requiring basic auth
 * user:password and logging requests to log. Stop with fx_daemon_stop.
 */
pid_t fx_http_start(const char *root, int port, const char *user,
                    const char *password, const char *log, const char *cert,
                    const char *key);

/* Where sshd is (the ssh tests are skipped when it is not there). */
#define FX_SSHD "/usr/sbin/sshd"

/*
 * Start sshd on 127.0.0.1:port with a new host key dir/host_key(.pub) and
 * dir/authorized_keys (created empty) for the current user; logs to
 * dir/sshd.log. Stop with fx_daemon_stop.
 */
pid_t fx_sshd_start(const char *dir, int port);

/* Stop a server (fx_daemon_start, fx_http_start) by pid and reap it. */
void fx_daemon_stop(pid_t pid);
/* Stop every daemon still running (a failed test's; call in teardown). */
void fx_daemon_stop_all(void);

#endif
