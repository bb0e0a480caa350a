/*
 * The YAML writer: which strings stay plain, and that every string reads
 * back exactly (through the model's own libyaml loader) however it was
 * written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "import/yaml_emit.h"
#include "model/diag.h"
#include "model/yaml.h"

/* Read back what YAML loaders must see as strings equal to the input. */
static const char *const tricky[] = {
    "plain",
    "roles/run.invoker",
    "serviceAccount:a@b.iam.gserviceaccount.com",
    "2Gi",
    "500m",
    "30m",
    "",
    "042",
    "1",
    "-1",
    "+1",
    "1.5",
    "1e3",
    "1_000",
    "0xff",
    "0o17",
    "0b101",
    "1:20",
    ".inf",
    ".NaN",
    "2026-01-01",
    "2026-01-01T00:00:00Z",
    "true",
    "False",
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "n",
    "null",
    "Null",
    "~",
    "a: b",
    "a:",
    "a #b",
    "#x",
    "-x",
    "- x",
    ":x",
    "?x",
    "@x",
    "`x`",
    "!tag",
    "&anchor",
    "*alias",
    "%x",
    "|",
    ">",
    "[x]",
    "{x: y}",
    "a, b",
    " lead",
    "trail ",
    "'single'",
    "\"double\"",
    "back\\slash",
    "line\nbreak",
    "tab\there",
    "cr\rhere",
    "bell\a\x1b\x7f",
    "caf\xc3\xa9",
    "nel\xc2\x85here",
    "ls\xe2\x80\xa8here",
    "ps\xe2\x80\xa9here",
    "<<",
    "=",
    "---",
    "...",
    NULL,
};

static void test_plain(void **state)
{
    static const char *const plain[] = {"abc",
                                        "roles/run.invoker",
                                        "user:a@b.c",
                                        "2Gi",
                                        "30m",
                                        "1000m",
                                        "/abs/path",
                                        "a-b_c.d",
                                        "gcr.io/p/i@sha256:00",
                                        "https://x.y/z",
                                        "Capital",
                                        "_x",
                                        NULL};
    static const char *const quoted[] = {
        "",     "042",  "1",   "0xff",        "0b1", "0o7",  "1e3",
        "1.5",  "true", "Yes", "NO",          "off", "y",    "N",
        "null", "~",    "a:",  "a b",         "-x",  ".inf", "2026-01-01",
        "1:20", "#x",   "@x",  "caf\xc3\xa9", "a#b", "a,b",  "x!",
        "a\"b", NULL};

    (void)state;
    for (size_t i = 0; plain[i]; i++)
        if (!dl_yaml_plain_ok(plain[i]))
            fail_msg("'%s' should be plain", plain[i]);
    for (size_t i = 0; quoted[i]; i++)
        if (dl_yaml_plain_ok(quoted[i]))
            fail_msg("'%s' should be quoted", quoted[i]);
}

static const struct dl_ynode *parse_one(struct dl_yfile **f, struct dl_diags *d,
                                        const char *text)
{
    size_t n = dl_yaml_parse(f, "t.yaml", text, strlen(text), d);

    if (n != 0 || (*f)->n_docs != 1) {
        print_message("%s", text);
        fail_msg("%zu diagnostics, %zu documents", n, (*f)->n_docs);
    }
    return (*f)->docs[0].root;
}

static void test_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; tricky[i]; i++) {
        struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
        struct dl_yfile *f = NULL;
        struct dl_diags d;
        const struct dl_ynode *root, *v, *seq, *nested;
        json_t *doc =
            json_pack("{s:s,s:[s],s:{s:s}}", "value", tricky[i], "list",
                      tricky[i], "nested", tricky[i], tricky[i]);

        dl_diags_init(&d);
        assert_int_equal(dl_yaml_emit_doc(&b, doc, NULL), 0);
        root = parse_one(&f, &d, dl_buf_cstr(&b));
        v = dl_ynode_get(root, "value");
        seq = dl_ynode_get(root, "list");
        nested = dl_ynode_get(root, "nested");
        assert_non_null(v);
        assert_non_null(seq);
        assert_non_null(nested);
        assert_int_equal(v->type, DL_YNODE_SCALAR);
        if (strcmp(v->str, tricky[i]) != 0)
            fail_msg("'%s' read back as '%s' from:\n%s", tricky[i], v->str,
                     dl_buf_cstr(&b));
        /* Quoted unless plain is safe: no null/bool/number resolution. */
        assert_int_equal(v->plain, dl_yaml_plain_ok(tricky[i]));
        assert_int_equal(seq->n_items, 1);
        assert_string_equal(seq->items[0]->str, tricky[i]);
        assert_int_equal(nested->n_pairs, 1);
        assert_string_equal(nested->pairs[0].key->str, tricky[i]);
        assert_string_equal(nested->pairs[0].val->str, tricky[i]);
        dl_yaml_file_free(f);
        dl_diags_dispose(&d);
        json_decref(doc);
        dl_buf_dispose(&b);
    }
}

static void test_document(void **state)
{
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    json_t *doc = json_loads(
        "{\"apiVersion\": \"driftless.dev/v1alpha1\", \"kind\": \"K\","
        " \"spec\": {\"n\": 3, \"on\": true, \"off\": false, \"none\": null,"
        " \"r\": 2.0, \"empty\": {}, \"nothing\": [],"
        " \"list\": [\"a\", \"1\"],"
        " \"maps\": [{\"revision\": \"r1\", \"percent\": 90},"
        "            {\"latest\": true, \"percent\": 10}],"
        " \"nested\": [[\"x\", \"y\"], []]}}",
        0, NULL);
    const char *want = "# first line\n"
                       "#\n"
                       "# injected?- not: yaml\n"
                       "apiVersion: driftless.dev/v1alpha1\n"
                       "kind: K\n"
                       "spec:\n"
                       "  \"n\": 3\n"
                       "  \"on\": true\n"
                       "  \"off\": false\n"
                       "  none: null\n"
                       "  r: 2.0\n"
                       "  empty: {}\n"
                       "  nothing: []\n"
                       "  list:\n"
                       "    - a\n"
                       "    - \"1\"\n"
                       "  maps:\n"
                       "    - revision: r1\n"
                       "      percent: 90\n"
                       "    - latest: true\n"
                       "      percent: 10\n"
                       "  nested:\n"
                       "    - - x\n"
                       "      - \"y\"\n"
                       "    - []\n";

    (void)state;
    assert_non_null(doc);
    /* A '\r' in a comment would start a line of YAML: it is neutralised. */
    assert_int_equal(
        dl_yaml_emit_doc(&b, doc, "first line\n\ninjected\r- not: yaml"), 0);
    assert_string_equal(dl_buf_cstr(&b), want);
    json_decref(doc);
    dl_buf_dispose(&b);
}

static void test_cap(void **state)
{
    struct dl_buf b = DL_BUF_INIT(16);
    json_t *doc = json_pack("{s:s}", "key", "a value longer than the cap");

    (void)state;
    assert_int_equal(dl_yaml_emit_doc(&b, doc, NULL), DL_ELIMIT);
    assert_int_equal(dl_yaml_emit_doc(&b, NULL, NULL), DL_EINVALID);
    json_decref(doc);
    dl_buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_document),
        cmocka_unit_test(test_cap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
