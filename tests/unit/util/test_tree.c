#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/tree.h"

static char root[] = "/tmp/dl-tree-XXXXXX";

static void put(const char *rel, const char *text)
{
    char *p = dl_asprintf("%s/%s", root, rel);
    FILE *f = fopen(p, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(p);
}

static void mk(const char *rel)
{
    char *p = dl_asprintf("%s/%s", root, rel);

    assert_int_equal(mkdir(p, 0755), 0);
    free(p);
}

static int setup(void **state)
{
    char *p;

    (void)state;
    assert_non_null(mkdtemp(root));
    mk("b");
    mk("b/c");
    mk("a-dir");
    mk(".git");
    put("z.yaml", "z");
    put("b.txt", "b"); /* sorts between "a-dir/x" and "b/...": '.' < '/' */
    put("b/one.yaml", "one");
    put("b/c/two.yml", "two");
    put("a-dir/x", "x");
    put(".git/config", "git");
    /* a link that escapes the root is not part of the tree */
    p = dl_asprintf("%s/escape", root);
    assert_int_equal(symlink("/etc/passwd", p), 0);
    free(p);
    return 0;
}

static int teardown(void **state)
{
    char *cmd = dl_asprintf("rm -rf '%s'", root);

    (void)state;
    assert_int_equal(system(cmd), 0);
    free(cmd);
    return 0;
}

static int collect(const char *path, void *payload)
{
    struct dl_buf *b = payload;

    assert_int_equal(dl_buf_printf(b, "%s;", path), 0);
    return 0;
}

static void test_list_sorted_recursive(void **state)
{
    struct dl_tree *t = NULL;
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_err e;

    (void)state;
    assert_int_equal(dl_tree_open_dir(&t, root, &e), 0);
    assert_int_equal(dl_tree_list(t, "", collect, &b, &e), 0);
    assert_string_equal(dl_buf_cstr(&b),
                        "a-dir/x;b.txt;b/c/two.yml;b/one.yaml;z.yaml;");
    dl_buf_reset(&b);
    assert_int_equal(dl_tree_list(t, "b", collect, &b, &e), 0);
    assert_string_equal(dl_buf_cstr(&b), "b/c/two.yml;b/one.yaml;");
    assert_int_equal(dl_tree_list(t, "nope", collect, &b, &e), DL_ENOTFOUND);
    assert_non_null(strstr(e.msg, "'nope' not found"));
    dl_buf_dispose(&b);
    dl_tree_free(t);
}

static void test_read_type_resolve(void **state)
{
    struct dl_tree *t = NULL;
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_err e;
    char oid[41];

    (void)state;
    assert_int_equal(dl_tree_open_dir(&t, root, &e), 0);
    assert_int_equal(dl_tree_read(t, "b/one.yaml", 100, &b, &e), 0);
    assert_string_equal(dl_buf_cstr(&b), "one");
    dl_buf_reset(&b);
    assert_int_equal(dl_tree_read(t, "b/one.yaml", 2, &b, &e), DL_ELIMIT);
    assert_int_equal(dl_tree_read(t, "b", 100, &b, &e), DL_ENOTFOUND);
    assert_int_equal(dl_tree_read(t, "escape", 100, &b, &e), DL_ENOTFOUND);
    assert_int_equal(dl_tree_type(t, "b"), DL_TREE_DIR);
    assert_int_equal(dl_tree_type(t, "b/c/two.yml"), DL_TREE_FILE);
    assert_int_equal(dl_tree_type(t, "missing"), DL_TREE_NONE);
    assert_int_equal(dl_tree_type(t, "escape"), DL_TREE_NONE);
    assert_int_equal(dl_tree_resolve(t, "HEAD", oid, &e), DL_ENOTFOUND);
    assert_non_null(strstr(e.msg, "not a git repository"));
    dl_buf_dispose(&b);
    dl_tree_free(t);
    assert_int_equal(dl_tree_open_dir(&t, "/nonexistent-dl", &e), DL_ENOTFOUND);
    assert_null(t);
}

static void test_normalize(void **state)
{
    static const struct {
        const char *in, *out;
    } ok[] = {
        {"a/b", "a/b"},
        {"./a//b/", "a/b"},
        {"a/../b", "b"},
        {".", ""},
        {"", ""},
        {"a/./b/../c", "a/c"},
        {"docker/Dockerfile", "docker/Dockerfile"},
    };
    static const char *const bad[] = {"/etc/passwd", "..", "a/../../b", "../x"};
    struct dl_err e;

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char *p = dl_strdup(ok[i].in);

        assert_int_equal(dl_path_normalize(p, &e), 0);
        assert_string_equal(p, ok[i].out);
        free(p);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *p = dl_strdup(bad[i]);

        assert_int_equal(dl_path_normalize(p, &e), DL_EINVALID);
        free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_sorted_recursive),
        cmocka_unit_test(test_read_type_resolve),
        cmocka_unit_test(test_normalize),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
