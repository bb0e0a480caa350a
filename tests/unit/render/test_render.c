/* The renderer registry. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "render/render.h"

static void test_find(void **state)
{
    (void)state;
    assert_ptr_equal(dl_renderer_find("text"), &dl_renderer_text);
    assert_ptr_equal(dl_renderer_find("markdown"), &dl_renderer_markdown);
    assert_ptr_equal(dl_renderer_find("json"), &dl_renderer_json);
    assert_null(dl_renderer_find("yaml"));
    assert_null(dl_renderer_find("Text"));
    assert_null(dl_renderer_find(""));
    assert_null(dl_renderer_find(NULL));
}

static void test_list(void **state)
{
    size_t n = 0;

    (void)state;
    for (; dl_renderers[n]; n++) {
        assert_non_null(dl_renderers[n]->render);
        assert_ptr_equal(dl_renderer_find(dl_renderers[n]->name),
                         dl_renderers[n]);
    }
    assert_int_equal(n, 3);
    assert_string_equal(dl_renderers[0]->name, "text");
    assert_string_equal(dl_renderers[1]->name, "markdown");
    assert_string_equal(dl_renderers[2]->name, "json");
}

static void test_render_by_name(void **state)
{
    struct dl_plan *p = dl_plan_new();
    struct dl_buf out = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_err err;

    (void)state;
    assert_int_equal(dl_render("yaml", p, NULL, &out, &err), DL_EINVALID);
    assert_string_equal(err.msg,
                        "unknown format 'yaml' (want text, markdown, json)");
    assert_int_equal(out.len, 0);
    assert_int_equal(dl_render("text", p, NULL, &out, &err), 0);
    assert_non_null(strstr(dl_buf_cstr(&out), "No changes."));
    dl_buf_dispose(&out);
    dl_plan_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_render_by_name),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
