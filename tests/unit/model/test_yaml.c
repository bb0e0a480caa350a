/* Tests of yaml.c: nodes, positions, documents and the safety limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "model/yaml.h"
#include "util/alloc.h"
#include "util/buf.h"

static struct dl_yfile *parse(const char *text, struct dl_diags *d,
                              size_t *errors)
{
    struct dl_yfile *f = NULL;

    dl_diags_init(d);
    *errors = dl_yaml_parse(&f, "t.yaml", text, strlen(text), d);
    assert_non_null(f);
    return f;
}

static void test_positions_and_types(void **state)
{
    struct dl_diags d;
    size_t e;
    struct dl_yfile *f = parse("# c\n"
                               "a: 1\n"
                               "b:\n"
                               "  - x\n"
                               "  - \"q\"\n"
                               "c: {k: ~, l: ''}\n",
                               &d, &e);
    const struct dl_ynode *root, *b, *c;

    (void)state;
    assert_int_equal(e, 0);
    assert_int_equal(f->n_docs, 1);
    assert_false(f->broken);
    root = f->docs[0].root;
    assert_int_equal(root->type, DL_YNODE_MAP);
    assert_int_equal(root->n_pairs, 3);
    assert_int_equal(root->pairs[0].key->line, 2);
    assert_int_equal(root->pairs[0].key->col, 1);
    assert_int_equal(root->pairs[0].val->line, 2);
    assert_int_equal(root->pairs[0].val->col, 4);
    assert_string_equal(dl_ynode_get(root, "a")->str, "1");
    b = dl_ynode_get(root, "b");
    assert_int_equal(b->type, DL_YNODE_SEQ);
    assert_int_equal(b->n_items, 2);
    assert_int_equal(b->items[1]->line, 5);
    assert_int_equal(b->items[1]->col, 5);
    assert_true(b->items[0]->plain);
    assert_false(b->items[1]->plain);
    c = dl_ynode_get(root, "c");
    assert_true(dl_ynode_is_null(dl_ynode_get(c, "k")));
    assert_false(dl_ynode_is_null(dl_ynode_get(c, "l")));
    assert_null(dl_ynode_get(c, "missing"));
    assert_null(dl_ynode_get(b, "k"));
    assert_string_equal(dl_ynode_type_name(c), "a mapping");
    assert_string_equal(dl_ynode_type_name(b), "a sequence");
    assert_string_equal(dl_ynode_type_name(dl_ynode_get(c, "k")), "null");
    dl_yaml_file_free(f);
    dl_diags_dispose(&d);
}

static void test_multi_document(void **state)
{
    struct dl_diags d;
    size_t e;
    struct dl_yfile *f =
        parse("a: 1\n---\nb: 2\n---\n# empty\n---\n- x\n", &d, &e);

    (void)state;
    assert_int_equal(e, 0);
    assert_int_equal(f->n_docs, 4);
    assert_int_equal(f->docs[1].line, 2);
    assert_true(dl_ynode_is_null(f->docs[2].root));
    assert_int_equal(f->docs[3].root->type, DL_YNODE_SEQ);
    dl_yaml_file_free(f);
    dl_diags_dispose(&d);
}

static void test_duplicate_keys(void **state)
{
    struct dl_diags d;
    size_t e;
    struct dl_yfile *f = parse("a: 1\nb:\n  x: 1\n  x: 2\na: 3\n", &d, &e);

    (void)state;
    assert_int_equal(e, 2);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.v[0].message, "duplicate key 'x' (first at "
                                        "t.yaml:3:3)");
    assert_int_equal(d.v[0].line, 4);
    assert_int_equal(d.v[0].col, 3);
    assert_string_equal(d.v[1].message, "duplicate key 'a' (first at "
                                        "t.yaml:1:1)");
    /* The first value wins; the document is still there. */
    assert_string_equal(dl_ynode_get(f->docs[0].root, "a")->str, "1");
    dl_yaml_file_free(f);
    dl_diags_dispose(&d);
}

static void test_aliases_rejected(void **state)
{
    struct dl_diags d;
    size_t e;
    /* Billion laughs: never expanded, each alias is one error. */
    struct dl_yfile *f = parse("a: &a [x, x, x]\n"
                               "b: &b [*a, *a]\n"
                               "c: [*b, *b]\n",
                               &d, &e);

    (void)state;
    assert_int_equal(e, 4);
    assert_string_equal(d.v[0].message,
                        "YAML aliases are not supported ('*a')");
    assert_int_equal(d.v[0].line, 2);
    assert_int_equal(d.v[0].col, 8);
    assert_true(dl_ynode_is_null(dl_ynode_get(f->docs[0].root, "c")->items[0]));
    dl_yaml_file_free(f);
    dl_diags_dispose(&d);
}

static void test_depth_limit(void **state)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_diags d;
    struct dl_yfile *f;
    size_t e;

    (void)state;
    /* 64 levels are fine... */
    for (int i = 0; i < DL_YAML_MAX_DEPTH; i++)
        assert_int_equal(dl_buf_putc(&b, '['), 0);
    for (int i = 0; i < DL_YAML_MAX_DEPTH; i++)
        assert_int_equal(dl_buf_putc(&b, ']'), 0);
    f = parse(dl_buf_cstr(&b), &d, &e);
    assert_int_equal(e, 0);
    dl_yaml_file_free(f);
    dl_diags_dispose(&d);
    /* ...65 are not. */
    dl_buf_reset(&b);
    for (int i = 0; i <= DL_YAML_MAX_DEPTH; i++)
        assert_int_equal(dl_buf_putc(&b, '['), 0);
    f = parse(dl_buf_cstr(&b), &d, &e);
    assert_int_equal(e, 1);
    assert_true(f->broken);
    assert_string_equal(d.v[0].message, "YAML nested deeper than 64 levels");
    assert_int_equal(d.v[0].col, DL_YAML_MAX_DEPTH + 1);
    dl_yaml_file_free(f);
    dl_diags_dispose(&d);
    dl_buf_dispose(&b);
}

static void test_utf8(void **state)
{
    struct dl_diags d;
    size_t e;
    struct dl_yfile *f;

    (void)state;
    f = parse("a: caf\xc3\xa9\n", &d, &e);
    assert_int_equal(e, 0);
    assert_string_equal(dl_ynode_get(f->docs[0].root, "a")->str, "caf\xc3\xa9");
    dl_yaml_file_free(f);
    dl_diags_dispose(&d);
    /* Overlong encoding of '/', then a lone continuation byte. */
    f = parse("a: 1\nb: x\xc0\xaf\n", &d, &e);
    assert_int_equal(e, 1);
    assert_int_equal(d.v[0].line, 2);
    assert_int_equal(d.v[0].col, 5);
    assert_string_equal(d.v[0].message,
                        "invalid UTF-8 (byte 0xc0 at offset 9)");
    assert_int_equal(f->n_docs, 0);
    dl_yaml_file_free(f);
    dl_diags_dispose(&d);
    f = parse("\xed\xa0\x80: surrogate\n", &d, &e);
    assert_int_equal(e, 1);
    assert_int_equal(d.v[0].col, 1);
    dl_yaml_file_free(f);
    dl_diags_dispose(&d);
}

static void test_syntax_error_keeps_earlier_documents(void **state)
{
    struct dl_diags d;
    size_t e;
    struct dl_yfile *f = parse("a: 1\n---\nb: [1,\n", &d, &e);

    (void)state;
    assert_int_equal(e, 1);
    assert_true(f->broken);
    assert_int_equal(f->n_docs, 1);
    assert_int_equal(d.v[0].line, 4);
    assert_non_null(strstr(d.v[0].message, "invalid YAML: "));
    dl_yaml_file_free(f);
    dl_diags_dispose(&d);
}

static void test_tags_and_keys(void **state)
{
    struct dl_diags d;
    size_t e;
    struct dl_yfile *f =
        parse("a: !!str 12\nb: !custom x\n? [k]\n: v\n", &d, &e);

    (void)state;
    assert_int_equal(e, 2);
    assert_false(dl_ynode_get(f->docs[0].root, "a")->plain);
    assert_string_equal(d.v[0].message,
                        "unsupported YAML tag '!custom' (only !!str is "
                        "understood)");
    assert_string_equal(d.v[1].message,
                        "mapping keys must be scalars, not a sequence");
    assert_int_equal(d.v[1].line, 3);
    assert_int_equal(f->docs[0].root->n_pairs, 2);
    dl_yaml_file_free(f);
    dl_diags_dispose(&d);
}

static void test_node_limit(void **state)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_diags d;
    struct dl_yfile *f;
    size_t e;

    (void)state;
    assert_int_equal(dl_buf_putc(&b, '['), 0);
    for (int i = 0; i < DL_YAML_MAX_NODES; i++)
        assert_int_equal(dl_buf_puts(&b, "1,"), 0);
    assert_int_equal(dl_buf_putc(&b, ']'), 0);
    f = parse(dl_buf_cstr(&b), &d, &e);
    assert_int_equal(e, 1);
    assert_string_equal(d.v[0].message, "more than 100000 YAML nodes in one "
                                        "file");
    dl_yaml_file_free(f);
    dl_diags_dispose(&d);
    dl_buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positions_and_types),
        cmocka_unit_test(test_multi_document),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_aliases_rejected),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_syntax_error_keeps_earlier_documents),
        cmocka_unit_test(test_tags_and_keys),
        cmocka_unit_test(test_node_limit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
