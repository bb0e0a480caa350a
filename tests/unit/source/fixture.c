#include "fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/alloc.h"

void fx_env(const char *root)
{
    char *cfg = dl_asprintf("%s/gitconfig", root);
    FILE *f = fopen(cfg, "w");

    if (!f)
        dl_fatal("cannot write '%s'", cfg);
    fprintf(f, "[init]\n\tdefaultBranch = main\n"
               "[protocol \"file\"]\n\tallow = always\n");
    fclose(f);
    setenv("HOME", root, 1);
    setenv("GIT_CONFIG_GLOBAL", cfg, 1);
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    setenv("GIT_AUTHOR_NAME", "Test Author", 1);
    setenv("GIT_AUTHOR_EMAIL", "author@example.com", 1);
    setenv("GIT_COMMITTER_NAME", "Test Committer", 1);
    setenv("GIT_COMMITTER_EMAIL", "committer@example.com", 1);
    unsetenv("XDG_CACHE_HOME");
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("DRIFTLESS_GIT_TOKEN");
    unsetenv("SSH_AUTH_SOCK");
    free(cfg);
}

char *fx_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *dir =
        dl_asprintf("%s/dl-source-XXXXXX", base && *base ? base : "/tmp");

    if (!mkdtemp(dir))
        dl_fatal("mkdtemp failed");
    return dir;
}

static char *vformat(const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    char *s;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    s = dl_malloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

int fx_sh(const char *fmt, ...)
{
    va_list ap;
    char *cmd;
    int st;

    va_start(ap, fmt);
    cmd = vformat(fmt, ap);
    va_end(ap);
    fflush(NULL);
    st = system(cmd);
    if (st != 0)
        fprintf(stderr, "fixture: command failed (%d): %s\n", st, cmd);
    free(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

int fx_capture(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    char *cmd;
    FILE *p;
    size_t got = 0;
    int st;

    va_start(ap, fmt);
    cmd = vformat(fmt, ap);
    va_end(ap);
    fflush(NULL);
    out[0] = '\0';
    p = popen(cmd, "r");
    if (!p)
        dl_fatal("popen failed: %s", cmd);
    while (got + 1 < n) {
        size_t r = fread(out + got, 1, n - 1 - got, p);
        if (r == 0)
            break;
        got += r;
    }
    out[got] = '\0';
    while (got > 0 && (out[got - 1] == '\n' || out[got - 1] == '\r'))
        out[--got] = '\0';
    st = pclose(p);
    free(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

void fx_rm_rf(const char *path)
{
    if (path && *path)
        (void)fx_sh("rm -rf '%s'", path);
}

static void rev(char out[41], const char *dir, const char *name)
{
    char buf[128];

    if (fx_capture(buf, sizeof(buf), "git -C '%s' rev-parse '%s^{commit}'", dir,
                   name) != 0 ||
        strlen(buf) != 40)
        dl_fatal("cannot resolve '%s' in '%s'", name, dir);
    memcpy(out, buf, 41);
}

void fx_make_repo(struct fx_repo *r, const char *parent, const char *name)
{
    const char *d;

    memset(r, 0, sizeof(*r));
    r->dir = dl_asprintf("%s/%s", parent, name);
    d = r->dir;
    if (fx_sh("set -e; git init -q -b main '%s'; cd '%s';"
              "mkdir -p desired-state;"
              "printf 'kind: Project\\nname: one\\nregion: eu\\n' "
              "> desired-state/project.yaml;"
              "printf 'readme\\n' > README;"
              "git add -A; git commit -q -m c1",
              d, d) != 0)
        dl_fatal("fixture c1");
    rev(r->c1, d, "HEAD");
    if (fx_sh("set -e; cd '%s'; mkdir -p docker/api;"
              "printf 'FROM scratch\\n' > docker/api/Dockerfile;"
              "printf 'kind: Project\\nname: two\\nregion: eu\\n' "
              "> desired-state/project.yaml;"
              "git add -A; git commit -q -m c2; git tag -a v1 -m v1",
              d) != 0)
        dl_fatal("fixture c2");
    rev(r->c2, d, "HEAD");
    if (fx_sh("set -e; cd '%s'; mkdir -p services/api;"
              "git mv docker/api/Dockerfile services/api/Dockerfile;"
              "git commit -q -m c3",
              d) != 0)
        dl_fatal("fixture c3");
    rev(r->c3, d, "HEAD");
    if (fx_sh("set -e; cd '%s'; git checkout -q -b feature;"
              "printf 'kind: X\\n' > desired-state/feature.yaml;"
              "git add -A; git commit -q -m c4; git checkout -q main",
              d) != 0)
        dl_fatal("fixture c4");
    rev(r->c4, d, "feature");
    if (fx_sh("set -e; cd '%s'; printf 'readme 2\\n' >> README;"
              "git commit -q -am c5; git tag v2",
              d) != 0)
        dl_fatal("fixture c5");
    rev(r->c5, d, "HEAD");
}

void fx_repo_dispose(struct fx_repo *r)
{
    free(r->dir);
    r->dir = NULL;
}

int fx_free_port(void)
{
    struct sockaddr_in a = {0};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        dl_fatal("cannot find a free port");
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int can_connect(int port)
{
    struct sockaddr_in a = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static pid_t daemons[8];

pid_t fx_daemon_start(const char *base, int port)
{
    char *bp = dl_asprintf("--base-path=%s", base);
    char *pt = dl_asprintf("--port=%d", port);
    char *log = dl_asprintf("%s.daemon.log", base);
    char exec_path[512], *prog;
    pid_t pid;

    /* Run git-daemon itself, not the "git" wrapper (which would fork it and
     * leave it running when the wrapper is killed). */
    if (fx_capture(exec_path, sizeof(exec_path), "git --exec-path") != 0)
        dl_fatal("git --exec-path failed");
    prog = dl_asprintf("%s/git-daemon", exec_path);
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        dl_fatal("fork failed");
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execl(prog, prog, "--reuseaddr", bp, "--export-all",
              "--listen=127.0.0.1", pt, "--informative-errors", (char *)NULL);
        _exit(127);
    }
    for (size_t i = 0; i < sizeof(daemons) / sizeof(daemons[0]); i++)
        if (!daemons[i]) {
            daemons[i] = pid;
            break;
        }
    free(prog);
    free(log);
    free(bp);
    free(pt);
    for (int i = 0; i < 500; i++) {
        struct timespec ts = {0, 10 * 1000000L};

        if (can_connect(port))
            return pid;
        nanosleep(&ts, NULL);
    }
    fx_daemon_stop(pid);
    dl_fatal("git daemon did not start on port %d", port);
}

pid_t fx_http_start(const char *root, int port, const char *user,
                    const char *password, const char *log, const char *cert,
                    const char *key)
{
    char *script =
        dl_asprintf("%s/tests/unit/source/git_http_server.py", DL_SOURCE_DIR);
    char *pt = dl_asprintf("%d", port);
    pid_t pid;

    fflush(NULL);
    pid = fork();
    if (pid < 0)
        dl_fatal("fork failed");
    if (pid == 0) {
        if (cert)
            execlp("python3", "python3", script, pt, root, user, password, log,
                   cert, key, (char *)NULL);
        else
            execlp("python3", "python3", script, pt, root, user, password, log,
                   (char *)NULL);
        _exit(127);
    }
    for (size_t i = 0; i < sizeof(daemons) / sizeof(daemons[0]); i++)
        if (!daemons[i]) {
            daemons[i] = pid;
            break;
        }
    free(script);
    free(pt);
    for (int i = 0; i < 1000; i++) {
        struct timespec ts = {0, 10 * 1000000L};

        if (can_connect(port))
            return pid;
        nanosleep(&ts, NULL);
    }
    fx_daemon_stop(pid);
    dl_fatal("git_http_server.py did not start on port %d", port);
}

pid_t fx_sshd_start(const char *dir, int port)
{
    char *cfg = dl_asprintf("%s/sshd_config", dir);
    char *log = dl_asprintf("%s/sshd.log", dir);
    FILE *f;
    pid_t pid;

    if (fx_sh("set -e; mkdir -p /run/sshd; cd '%s'; rm -f host_key*;"
              "ssh-keygen -q -t ed25519 -N '' -f host_key; touch "
              "authorized_keys",
              dir) != 0)
        dl_fatal("sshd host key");
    f = fopen(cfg, "w");
    if (!f)
        dl_fatal("cannot write '%s'", cfg);
    fprintf(f,
            "Port %d\nListenAddress 127.0.0.1\nHostKey %s/host_key\n"
            "PidFile none\nAuthorizedKeysFile %s/authorized_keys\n"
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PubkeyAuthentication yes\nPermitRootLogin prohibit-password\n"
            "StrictModes no\nUsePAM no\nLogLevel VERBOSE\n",
            port, dir, dir);
    fclose(f);
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        dl_fatal("fork failed");
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execl(FX_SSHD, FX_SSHD, "-D", "-e", "-f", cfg, (char *)NULL);
        _exit(127);
    }
    for (size_t i = 0; i < sizeof(daemons) / sizeof(daemons[0]); i++)
        if (!daemons[i]) {
            daemons[i] = pid;
            break;
        }
    free(cfg);
    free(log);
    for (int i = 0; i < 500; i++) {
        struct timespec ts = {0, 10 * 1000000L};

        if (can_connect(port))
            return pid;
        nanosleep(&ts, NULL);
    }
    fx_daemon_stop(pid);
    dl_fatal("sshd did not start on port %d", port);
}

void fx_daemon_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    for (size_t i = 0; i < sizeof(daemons) / sizeof(daemons[0]); i++)
        if (daemons[i] == pid)
            daemons[i] = 0;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

void fx_daemon_stop_all(void)
{
    for (size_t i = 0; i < sizeof(daemons) / sizeof(daemons[0]); i++)
        if (daemons[i])
            fx_daemon_stop(daemons[i]);
}
