/* Tests for src/source/source.c: local repositories (work tree, dirty,
 * refs), plain directories, resolve, ancestry, blame. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <git2.h>

#include "fixture.h"
#include "source/source.h"
#include "util/alloc.h"
#include "util/buf.h"

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
    fx_rm_rf(root);
    fx_repo_dispose(&repo);
    free(root);
    return 0;
}

static struct dl_source *open_ok(const char *src, const char *ref,
                                 const char *path)
{
    struct dl_source_opts o = {.source = src, .ref = ref, .path = path};
    struct dl_source *s = NULL;
    struct dl_err err = {0};
    int rc = dl_source_open(&s, &o, &err);

    if (rc != 0)
        fail_msg("open '%s' ref '%s': %s", src, ref ? ref : "", err.msg);
    return s;
}

static char *read_file(struct dl_tree *t, const char *path)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_err err = {0};

    assert_int_equal(dl_tree_read(t, path, 1 << 20, &b, &err), 0);
    return dl_buf_take(&b);
}

static void work_tree_clean(void **state)
{
    struct dl_source *s = open_ok(repo.dir, NULL, NULL);
    char out[41], *text;
    struct dl_err err = {0};

    (void)state;
    assert_string_equal(s->id.commit, repo.c5);
    assert_string_equal(s->id.url, repo.dir);
    assert_string_equal(s->id.ref, "main");
    assert_string_equal(s->id.path, "desired-state");
    assert_int_equal(s->id.dirty, 0);
    assert_non_null(strstr(s->tree->label, "work tree"));
    text = read_file(s->tree, "desired-state/project.yaml");
    assert_string_equal(text, "kind: Project\nname: two\nregion: eu\n");
    free(text);
    assert_int_equal(dl_tree_type(s->tree, "services/api/Dockerfile"),
                     DL_TREE_FILE);
    assert_int_equal(dl_tree_type(s->tree, "docker/api/Dockerfile"),
                     DL_TREE_NONE);
    /* The tree's resolver goes to the repository. */
    assert_int_equal(dl_tree_resolve(s->tree, "v1", out, &err), 0);
    assert_string_equal(out, repo.c2);
    dl_source_free(s);
}

static void work_tree_dirty(void **state)
{
    char *copy = dl_asprintf("%s/dirty", root), *text;
    struct dl_source *s;

    (void)state;
    assert_int_equal(fx_sh("git clone -q '%s' '%s'", repo.dir, copy), 0);
    s = open_ok(copy, NULL, NULL);
    assert_int_equal(s->id.dirty, 0);
    dl_source_free(s);

    /* A change outside the path does not make the source dirty. */
    assert_int_equal(fx_sh("echo x >> '%s/README'", copy), 0);
    s = open_ok(copy, NULL, NULL);
    assert_int_equal(s->id.dirty, 0);
    dl_source_free(s);

    /* An edit under the path does, and the edit is what is read. */
    assert_int_equal(
        fx_sh("echo 'extra: 1' >> '%s/desired-state/project.yaml'", copy), 0);
    s = open_ok(copy, NULL, NULL);
    assert_int_equal(s->id.dirty, 1);
    assert_string_equal(s->id.commit, repo.c5);
    text = read_file(s->tree, "desired-state/project.yaml");
    assert_non_null(strstr(text, "extra: 1"));
    free(text);
    dl_source_free(s);

    /* So does an untracked file under the path. */
    assert_int_equal(fx_sh("cd '%s' && git checkout -q -- desired-state && "
                           "echo new > desired-state/new.yaml",
                           copy),
                     0);
    s = open_ok(copy, NULL, NULL);
    assert_int_equal(s->id.dirty, 1);
    dl_source_free(s);

    /* With a ref the work tree is not looked at. */
    s = open_ok(copy, "main", NULL);
    assert_int_equal(s->id.dirty, 0);
    assert_int_equal(dl_tree_type(s->tree, "desired-state/new.yaml"),
                     DL_TREE_NONE);
    dl_source_free(s);
    free(copy);
}

static void ref_on_local_path(void **state)
{
    struct dl_source *s;
    char abbrev[9];
    char *text;

    (void)state;
    s = open_ok(repo.dir, "v1", NULL);
    assert_string_equal(s->id.commit, repo.c2);
    assert_string_equal(s->id.ref, "v1");
    assert_int_equal(s->id.dirty, 0);
    assert_int_equal(strncmp(s->tree->label, "commit ", 7), 0);
    assert_int_equal(strncmp(s->tree->label + 7, repo.c2, 7), 0);
    assert_int_equal(dl_tree_type(s->tree, "docker/api/Dockerfile"),
                     DL_TREE_FILE);
    assert_int_equal(dl_tree_type(s->tree, "services/api/Dockerfile"),
                     DL_TREE_NONE);
    text = read_file(s->tree, "docker/api/Dockerfile");
    assert_string_equal(text, "FROM scratch\n");
    free(text);
    dl_source_free(s);

    /* An abbreviated SHA, a branch. */
    memcpy(abbrev, repo.c3, 8);
    abbrev[8] = '\0';
    s = open_ok(repo.dir, abbrev, NULL);
    assert_string_equal(s->id.commit, repo.c3);
    dl_source_free(s);
    s = open_ok(repo.dir, "feature", NULL);
    assert_string_equal(s->id.commit, repo.c4);
    assert_int_equal(dl_tree_type(s->tree, "desired-state/feature.yaml"),
                     DL_TREE_FILE);
    dl_source_free(s);
}

static void ref_not_found(void **state)
{
    struct dl_source_opts o = {.source = repo.dir, .ref = "no-such-ref"};
    struct dl_source *s = (struct dl_source *)&o;
    struct dl_err err = {0};
    char want[512];

    (void)state;
    assert_int_equal(dl_source_open(&s, &o, &err), DL_ENOTFOUND);
    assert_null(s);
    snprintf(want, sizeof(want), "ref 'no-such-ref' not found in %s", repo.dir);
    assert_string_equal(err.msg, want);
}

static void path_not_found(void **state)
{
    struct dl_source_opts o = {.source = repo.dir, .ref = "v1", .path = "nope"};
    struct dl_source *s = NULL;
    struct dl_err err = {0};
    char want[128];

    (void)state;
    assert_int_equal(dl_source_open(&s, &o, &err), DL_ENOTFOUND);
    snprintf(want, sizeof(want), "path 'nope' not found in commit %.7s",
             repo.c2);
    assert_string_equal(err.msg, want);

    /* A file is not a desired-state directory either. */
    o.path = "./README/";
    assert_int_equal(dl_source_open(&s, &o, &err), DL_ENOTFOUND);
    assert_non_null(strstr(err.msg, "path 'README' not found"));

    o.path = "../x";
    assert_int_equal(dl_source_open(&s, &o, &err), DL_EINVALID);

    /* Work tree too. */
    o.ref = NULL;
    o.path = "nope";
    assert_int_equal(dl_source_open(&s, &o, &err), DL_ENOTFOUND);
    assert_non_null(strstr(err.msg, "path 'nope' not found in work tree"));

    o.source = "/nonexistent/dir";
    assert_int_equal(dl_source_open(&s, &o, &err), DL_ENOTFOUND);
    assert_string_equal(err.msg, "directory '/nonexistent/dir' not found");
}

static void path_normalised(void **state)
{
    struct dl_source *s = open_ok(repo.dir, "main", "./services//api/");

    (void)state;
    assert_string_equal(s->id.path, "services/api");
    dl_source_free(s);
    s = open_ok(repo.dir, "main", "");
    assert_string_equal(s->id.path, "");
    dl_source_free(s);
}

static void plain_directory(void **state)
{
    char *dir = dl_asprintf("%s/plain", root), out[41];
    struct dl_source_opts o = {.source = dir, .ref = "main"};
    struct dl_source *s;
    struct dl_err err = {0};
    int in;

    (void)state;
    assert_int_equal(
        fx_sh("mkdir -p '%s/desired-state' && echo a > '%s/desired-state/a'",
              dir, dir),
        0);
    s = open_ok(dir, NULL, NULL);
    assert_string_equal(s->id.commit, "");
    assert_int_equal(s->id.dirty, 0);
    assert_null(s->id.ref);
    assert_int_equal(dl_tree_type(s->tree, "desired-state/a"), DL_TREE_FILE);
    assert_int_equal(dl_tree_resolve(s->tree, "main", out, &err), DL_ENOTFOUND);
    assert_int_equal(dl_source_resolve(s, "main", out, &err), DL_ENOTFOUND);
    assert_int_equal(dl_source_contains(s, "a", "b", &in, &err), DL_ENOTFOUND);
    dl_source_free(s);

    s = NULL;
    assert_int_equal(dl_source_open(&s, &o, &err), DL_EINVALID);
    assert_non_null(strstr(err.msg, "is not a git repository"));
    free(dir);
}

static void bare_repository(void **state)
{
    char *bare = dl_asprintf("%s/bare.git", root);
    struct dl_source *s;

    (void)state;
    assert_int_equal(fx_sh("git clone -q --bare '%s' '%s'", repo.dir, bare), 0);
    s = open_ok(bare, NULL, NULL);
    assert_string_equal(s->id.commit, repo.c5);
    assert_string_equal(s->id.ref, "main");
    dl_source_free(s);
    free(bare);
}

static void resolve(void **state)
{
    struct dl_source *s = open_ok(repo.dir, "main", NULL);
    struct dl_err err = {0};
    char out[41], abbrev[8];

    (void)state;
    assert_int_equal(dl_source_resolve(s, "v1", out, &err), 0);
    assert_string_equal(out, repo.c2); /* annotated tag peeled */
    assert_int_equal(dl_source_resolve(s, "v2", out, &err), 0);
    assert_string_equal(out, repo.c5);
    memcpy(abbrev, repo.c1, 7);
    abbrev[7] = '\0';
    assert_int_equal(dl_source_resolve(s, abbrev, out, &err), 0);
    assert_string_equal(out, repo.c1);
    assert_int_equal(dl_source_resolve(s, repo.c4, out, &err), 0);
    assert_string_equal(out, repo.c4);
    assert_int_equal(dl_source_resolve(s, "main~1", out, &err), 0);
    assert_string_equal(out, repo.c3);
    assert_int_equal(dl_source_resolve(s, "nope", out, &err), DL_ENOTFOUND);
    assert_string_equal(err.msg, "revision 'nope' not found");
    assert_int_equal(dl_tree_resolve(s->tree, "deadbeef", out, &err),
                     DL_ENOTFOUND);
    assert_string_equal(err.msg, "revision 'deadbeef' not found");
    /* A tree is not a commit. */
    assert_int_equal(dl_source_resolve(s, "main^{tree}", out, &err),
                     DL_EINVALID);
    assert_non_null(strstr(err.msg, "does not name a commit"));
    assert_int_equal(dl_source_resolve(s, "", out, &err), DL_EINVALID);
    dl_source_free(s);
}

static void contains(void **state)
{
    struct dl_source *s = open_ok(repo.dir, NULL, NULL);
    struct dl_err err = {0};
    int in = -1;

    (void)state;
    assert_int_equal(dl_source_contains(s, repo.c1, repo.c5, &in, &err), 0);
    assert_int_equal(in, 1);
    assert_int_equal(dl_source_contains(s, repo.c5, repo.c1, &in, &err), 0);
    assert_int_equal(in, 0);
    assert_int_equal(dl_source_contains(s, repo.c3, repo.c3, &in, &err), 0);
    assert_int_equal(in, 1); /* equal counts as contained */
    assert_int_equal(dl_source_contains(s, "v1", "feature", &in, &err), 0);
    assert_int_equal(in, 1);
    assert_int_equal(dl_source_contains(s, "feature", "main", &in, &err), 0);
    assert_int_equal(in, 0); /* a side branch */
    assert_int_equal(dl_source_contains(s, "main", "feature", &in, &err), 0);
    assert_int_equal(in, 0);
    assert_int_equal(dl_source_contains(s, "nope", "main", &in, &err),
                     DL_ENOTFOUND);
    assert_string_equal(err.msg, "revision 'nope' not found");
    dl_source_free(s);
}

static void blame(void **state)
{
    struct dl_source *s = open_ok(repo.dir, NULL, NULL);
    struct dl_err err = {0};
    char out[41], want[128];

    (void)state;
    assert_int_equal(
        dl_source_blame_line(s, "desired-state/project.yaml", 1, out, &err), 0);
    assert_string_equal(out, repo.c1);
    assert_int_equal(
        dl_source_blame_line(s, "desired-state/project.yaml", 2, out, &err), 0);
    assert_string_equal(out, repo.c2);
    assert_int_equal(dl_source_blame_line(s, "README", 2, out, &err), 0);
    assert_string_equal(out, repo.c5);
    assert_int_equal(
        dl_source_blame_line(s, "desired-state/project.yaml", 4, out, &err),
        DL_ENOTFOUND);
    snprintf(want, sizeof(want),
             "file 'desired-state/project.yaml' has no line 4 in commit %.7s",
             repo.c5);
    assert_string_equal(err.msg, want);
    assert_int_equal(dl_source_blame_line(s, "nope.txt", 1, out, &err),
                     DL_ENOTFOUND);
    snprintf(want, sizeof(want), "file 'nope.txt' not found in commit %.7s",
             repo.c5);
    assert_string_equal(err.msg, want);
    assert_int_equal(dl_source_blame_line(s, "README", 0, out, &err),
                     DL_EINVALID);
    dl_source_free(s);

    /* At an older commit, README's first line is c1's. */
    s = open_ok(repo.dir, "v1", NULL);
    assert_int_equal(dl_source_blame_line(s, "README", 1, out, &err), 0);
    assert_string_equal(out, repo.c1);
    assert_int_equal(dl_source_blame_line(s, "README", 2, out, &err),
                     DL_ENOTFOUND);
    dl_source_free(s);
}

/* What libgit2's blame says of line `line` (rc as dl_source_blame_line's
 * for a missing line). */
static int git_says(const char *dir, const char *file, int line, char out[41])
{
    git_repository *r = NULL;
    git_blame *b = NULL;
    git_blame_options bo = GIT_BLAME_OPTIONS_INIT;
    const git_blame_hunk *h;
    int rc = DL_ENOTFOUND;

    assert_int_equal(git_repository_open(&r, dir), 0);
    assert_int_equal(git_blame_file(&b, r, file, &bo), 0);
    h = git_blame_get_hunk_byline(b, (size_t)line);
    if (h) {
        git_oid_tostr(out, 41, &h->final_commit_id);
        rc = 0;
    }
    git_blame_free(b);
    git_repository_free(r);
    return rc;
}

/* The one-walk provenance gives what a blame per file gives, on a history
 * with a file never changed, a changed one, an exact rename, a rename with
 * an edit, a file deleted and added again, files added on a merged branch,
 * an empty file and one without a final newline. */
static void blame_matches_libgit2(void **state)
{
    static const char *files[] = {
        "keep.yaml",  "changed.yaml", "moved.yaml", "edited-move.yaml",
        "again.yaml", "branch.yaml",  "main.yaml",  "empty.yaml",
        "nonl.yaml",  "dir/deep.yaml"};
    char *dir = dl_asprintf("%s/hist", root);
    struct dl_source *s;
    struct dl_err err = {0};
    char got[41], want[41];

    (void)state;
    assert_int_equal(
        fx_sh("set -e; git init -q -b main '%s'; cd '%s';"
              "mkdir dir desired-state; : > desired-state/p.yaml;"
              "printf 'a\\nb\\n' > keep.yaml;"
              "printf 'a\\nb\\nc\\n' > changed.yaml;"
              "printf 'm\\nn\\n' > old.yaml;"
              "printf '1\\n2\\n3\\n4\\n5\\n6\\n7\\n8\\n' > e.yaml;"
              "printf 'x\\n' > again.yaml; : > empty.yaml;"
              "printf 'p\\nq' > nonl.yaml; printf 'd\\n' > dir/deep.yaml;"
              "git add -A; git commit -q -m h1;"
              "printf 'a\\nB\\nc\\n' > changed.yaml; git mv old.yaml "
              "moved.yaml; git rm -q again.yaml; git commit -q -am h2;"
              "git mv e.yaml edited-move.yaml; printf '9\\n' >> "
              "edited-move.yaml; printf 'x\\n' > again.yaml; git add -A;"
              "git commit -q -m h3; git checkout -q -b side;"
              "printf 'b\\n' > branch.yaml; git add -A; git commit -q -m h4;"
              "git checkout -q main; printf 'k\\n' > main.yaml; git add -A;"
              "git commit -q -m h5; git merge -q --no-ff -m h6 side",
              dir, dir),
        0);
    s = open_ok(dir, NULL, NULL);
    for (size_t i = 0; i < sizeof(files) / sizeof(*files); i++) {
        for (int line = 1; line <= 10; line++) {
            int w = git_says(dir, files[i], line, want);
            int g = dl_source_blame_line(s, files[i], line, got, &err);

            assert_int_equal(g, w);
            if (w == 0)
                assert_string_equal(got, want);
        }
    }
    dl_source_free(s);
    free(dir);
}

static void open_tree(void **state)
{
    struct dl_source *s = open_ok(repo.dir, NULL, NULL);
    struct dl_tree *t = NULL;
    struct dl_err err = {0};

    (void)state;
    assert_int_equal(dl_source_open_tree(&t, s, "v1", &err), 0);
    assert_int_equal(dl_tree_type(t, "docker/api/Dockerfile"), DL_TREE_FILE);
    assert_int_equal(dl_tree_type(t, "services/api/Dockerfile"), DL_TREE_NONE);
    dl_tree_free(t);
    assert_int_equal(dl_source_open_tree(&t, s, "nope", &err), DL_ENOTFOUND);
    assert_null(t);
    dl_source_free(s);
}

static void is_url(void **state)
{
    (void)state;
    assert_true(dl_source_is_url("https://github.com/a/b.git"));
    assert_true(dl_source_is_url("http://h/x"));
    assert_true(dl_source_is_url("ssh://git@h:22/x"));
    assert_true(dl_source_is_url("git://127.0.0.1:9418/x"));
    assert_true(dl_source_is_url("file:///tmp/x"));
    assert_true(dl_source_is_url("git@github.com:a/b.git"));
    assert_false(dl_source_is_url("."));
    assert_false(dl_source_is_url("/tmp/repo"));
    assert_false(dl_source_is_url("dir/with@sign:colon"));
    assert_false(dl_source_is_url("c:x"));
    assert_false(dl_source_is_url("@host:x"));
    assert_false(dl_source_is_url(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(work_tree_clean),
        cmocka_unit_test(work_tree_dirty),
        cmocka_unit_test(ref_on_local_path),
        cmocka_unit_test(ref_not_found),
        cmocka_unit_test(path_not_found),
        cmocka_unit_test(path_normalised),
        cmocka_unit_test(plain_directory),
        cmocka_unit_test(bare_repository),
        cmocka_unit_test(resolve),
        cmocka_unit_test(contains),
        cmocka_unit_test(blame),
        cmocka_unit_test(blame_matches_libgit2),
        cmocka_unit_test(open_tree),
        cmocka_unit_test(is_url),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
