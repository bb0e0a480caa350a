/* Tests for src/source/git_tree.c: struct dl_tree over a git commit (and
 * the work-tree wrapper): list order, read, caps, types, resolve. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "source/source.h"
#include "util/alloc.h"
#include "util/buf.h"

static char *root, *dir;
static char commit[41];

static int setup(void **state)
{
    (void)state;
    root = fx_tmpdir();
    fx_env(root);
    dir = dl_asprintf("%s/repo", root);
    /* Names that sort differently per directory and as full paths:
     * "a.txt" < "a/b" < "a0" byte-wise ('.' < '/' < '0'). */
    if (fx_sh("set -e; git init -q '%s'; cd '%s'; mkdir -p a/c d/e/f;"
              "echo 1 > a.txt; echo 2 > a/b; echo 3 > a0; echo 4 > a/c/z;"
              "echo 5 > d/e/f/g; printf '#!/bin/sh\\n' > run.sh;"
              "chmod +x run.sh; ln -s a.txt link;"
              "head -c 5000 /dev/zero | tr '\\\\0' x > big;"
              "git add -A; git commit -q -m one",
              dir, dir) != 0 ||
        fx_capture(commit, sizeof(commit), "git -C '%s' rev-parse HEAD", dir) !=
            0)
        dl_fatal("fixture");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx_rm_rf(root);
    free(dir);
    free(root);
    return 0;
}

static struct dl_source *open_ref(const char *ref)
{
    struct dl_source_opts o = {.source = dir, .ref = ref, .path = ""};
    struct dl_source *s = NULL;
    struct dl_err err = {0};

    if (dl_source_open(&s, &o, &err) != 0)
        fail_msg("open: %s", err.msg);
    return s;
}

struct collect {
    struct dl_buf out;
    int stop_after; /* 0: never */
    int n;
};

static int collect_cb(const char *path, void *payload)
{
    struct collect *c = payload;

    (void)dl_buf_printf(&c->out, "%s;", path);
    c->n++;
    return c->stop_after && c->n == c->stop_after ? 42 : 0;
}

static void list_sorted(void **state, const char *ref)
{
    struct dl_source *s = open_ref(ref);
    struct collect c = {.out = DL_BUF_INIT(DL_BUF_NOCAP)};
    struct dl_err err = {0};

    (void)state;
    assert_int_equal(dl_tree_list(s->tree, "", collect_cb, &c, &err), 0);
    /* Files only, byte-wise sorted full paths; the symbolic link is not a
     * file in a commit tree, but the work tree follows it. */
    if (ref)
        assert_string_equal(dl_buf_cstr(&c.out),
                            "a.txt;a/b;a/c/z;a0;big;d/e/f/g;run.sh;");
    else
        assert_string_equal(dl_buf_cstr(&c.out),
                            "a.txt;a/b;a/c/z;a0;big;d/e/f/g;link;run.sh;");
    dl_buf_reset(&c.out);
    assert_int_equal(dl_tree_list(s->tree, "a", collect_cb, &c, &err), 0);
    assert_string_equal(dl_buf_cstr(&c.out), "a/b;a/c/z;");
    dl_buf_reset(&c.out);
    assert_int_equal(dl_tree_list(s->tree, "d/e", collect_cb, &c, &err), 0);
    assert_string_equal(dl_buf_cstr(&c.out), "d/e/f/g;");
    /* The callback's non-zero return stops the walk and is returned. */
    dl_buf_reset(&c.out);
    c.n = 0;
    c.stop_after = 2;
    assert_int_equal(dl_tree_list(s->tree, "", collect_cb, &c, &err), 42);
    assert_string_equal(dl_buf_cstr(&c.out), "a.txt;a/b;");
    assert_int_equal(dl_tree_list(s->tree, "nope", collect_cb, &c, &err),
                     DL_ENOTFOUND);
    assert_int_equal(dl_tree_list(s->tree, "a.txt", collect_cb, &c, &err),
                     DL_ENOTFOUND);
    dl_buf_dispose(&c.out);
    dl_source_free(s);
}

static void list_commit(void **state)
{
    list_sorted(state, "HEAD");
}

static void list_work_tree(void **state)
{
    list_sorted(state, NULL);
}

static void read_and_type(void **state)
{
    struct dl_source *s = open_ref("HEAD");
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_buf small = DL_BUF_INIT(100);
    struct dl_err err = {0};
    char want[128], out[41];

    (void)state;
    assert_int_equal(dl_tree_type(s->tree, ""), DL_TREE_DIR);
    assert_int_equal(dl_tree_type(s->tree, "a"), DL_TREE_DIR);
    assert_int_equal(dl_tree_type(s->tree, "a/c"), DL_TREE_DIR);
    assert_int_equal(dl_tree_type(s->tree, "a/b"), DL_TREE_FILE);
    assert_int_equal(dl_tree_type(s->tree, "run.sh"), DL_TREE_FILE);
    assert_int_equal(dl_tree_type(s->tree, "link"), DL_TREE_NONE);
    assert_int_equal(dl_tree_type(s->tree, "a/nope"), DL_TREE_NONE);
    assert_int_equal(dl_tree_type(s->tree, "a.txt/x"), DL_TREE_NONE);

    assert_int_equal(dl_tree_read(s->tree, "a/c/z", 100, &b, &err), 0);
    assert_string_equal(dl_buf_cstr(&b), "4\n");
    /* Appends. */
    assert_int_equal(dl_tree_read(s->tree, "a0", 100, &b, &err), 0);
    assert_string_equal(dl_buf_cstr(&b), "4\n3\n");
    dl_buf_reset(&b);
    assert_int_equal(dl_tree_read(s->tree, "big", 5000, &b, &err), 0);
    assert_int_equal(b.len, 5000);
    assert_int_equal(dl_tree_read(s->tree, "big", 4999, &b, &err), DL_ELIMIT);
    assert_string_equal(err.msg,
                        "file 'big' is larger than the limit of 4999 bytes");
    /* The buffer's own cap counts too. */
    assert_int_equal(dl_tree_read(s->tree, "big", 1 << 20, &small, &err),
                     DL_ELIMIT);
    assert_int_equal(small.len, 0);
    snprintf(want, sizeof(want), "file 'a' not found in commit %.7s", commit);
    assert_int_equal(dl_tree_read(s->tree, "a", 100, &b, &err), DL_ENOTFOUND);
    assert_string_equal(err.msg, want);
    assert_int_equal(dl_tree_read(s->tree, "link", 100, &b, &err),
                     DL_ENOTFOUND);
    assert_int_equal(dl_tree_resolve(s->tree, "HEAD", out, &err), 0);
    assert_string_equal(out, commit);
    dl_buf_dispose(&b);
    dl_buf_dispose(&small);
    dl_source_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(list_commit),
        cmocka_unit_test(list_work_tree),
        cmocka_unit_test(read_and_type),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
