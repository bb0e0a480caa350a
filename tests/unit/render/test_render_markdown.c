/* The markdown renderer: golden files, the size limit, escaping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "util/buf.h"

#define TRUNC_MAX 2500

static void test_golden(void **state)
{
    (void)state;
    for (size_t i = 0; golden_cases[i]; i++)
        golden_render(golden_cases[i], &dl_renderer_markdown, NULL, ".md");
}

static void test_golden_truncated(void **state)
{
    struct dl_render_opts opts = {.markdown_max = TRUNC_MAX};

    (void)state;
    golden_render("mixed", &dl_renderer_markdown, &opts, ".trunc.md");
}

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;

    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/*
 * For every limit from the smallest that holds the header to the full
 * size: the output fits, is a prefix of the full rendering cut after a
 * whole section, and names exactly how many sections were left out.
 */
static void test_limits(void **state)
{
    struct dl_plan *p = golden_plan("mixed");
    struct dl_buf full = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_err err;
    size_t sections, ok = 0;

    (void)state;
    assert_int_equal(dl_renderer_markdown.render(p, NULL, &full, &err), 0);
    sections = count(dl_buf_cstr(&full), "<details>");
    assert_int_equal(sections, 6);
    for (size_t max = 200; max <= full.len + 10; max += 37) {
        struct dl_render_opts opts = {.markdown_max = max};
        struct dl_buf out = DL_BUF_INIT(DL_BUF_NOCAP);
        const char *note;
        int rc = dl_renderer_markdown.render(p, &opts, &out, &err);

        if (rc == DL_ELIMIT) {
            assert_non_null(strstr(err.msg, "too small for the plan header"));
            assert_int_equal(ok, 0); /* only small limits fail */
            dl_buf_dispose(&out);
            continue;
        }
        assert_int_equal(rc, 0);
        ok++;
        assert_true(out.len <= max);
        note = strstr(dl_buf_cstr(&out), " left out** ");
        if (out.len == full.len) {
            assert_null(note);
            assert_string_equal(dl_buf_cstr(&out), dl_buf_cstr(&full));
        } else {
            size_t shown = count(dl_buf_cstr(&out), "<details>");
            const char *start;
            char want[64];

            assert_non_null(note);
            /* The note is the last line; everything before it is a prefix
               of the full rendering. */
            start = note;
            while (start > out.ptr && start[-1] != '\n')
                start--;
            assert_memory_equal(out.ptr, full.ptr, (size_t)(start - out.ptr));
            snprintf(want, sizeof(want), "**%zu resource%s left out** ",
                     sections - shown, sections - shown == 1 ? "" : "s");
            assert_ptr_equal(strstr(out.ptr, want), start);
            assert_int_equal(count(out.ptr, "<details>"),
                             count(out.ptr, "</details>"));
        }
        dl_buf_dispose(&out);
    }
    assert_true(ok > 10);
    dl_buf_dispose(&full);
    dl_plan_free(p);
}

static void test_too_small(void **state)
{
    struct dl_plan *p = golden_plan("mixed");
    struct dl_render_opts opts = {.markdown_max = 100};
    struct dl_buf out = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_err err;

    (void)state;
    assert_int_equal(dl_renderer_markdown.render(p, &opts, &out, &err),
                     DL_ELIMIT);
    assert_string_equal(err.msg, "markdown limit of 100 bytes is too small "
                                 "for the plan header");
    assert_int_equal(out.len, 0);
    dl_buf_dispose(&out);
    dl_plan_free(p);
}

/* A large plan is cut under the default limit of 65,000 bytes. */
static void test_default_limit(void **state)
{
    struct dl_plan *p = dl_plan_new();
    struct dl_buf out = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_err err;
    char want[80];
    size_t shown;

    (void)state;
    for (int i = 0; i < 2000; i++) {
        char name[32];
        struct dl_plan_resource *r;

        snprintf(name, sizeof(name), "svc-%04d", i);
        r = dl_plan_add_resource(p, "proj", "CloudRunService", name);
        r->mode = DL_PLAN_MODE_ENFORCE;
        r->status = DL_PLAN_STATUS_DRIFTED;
        r->action = DL_PLAN_ACTION_UPDATE;
        dl_plan_resource_add_change(r, "template.scaling.maxInstanceCount",
                                    json_integer(10), json_integer(4), 0);
    }
    assert_int_equal(dl_renderer_markdown.render(p, NULL, &out, &err), 0);
    assert_true(out.len <= DL_RENDER_MARKDOWN_MAX);
    assert_true(out.len > DL_RENDER_MARKDOWN_MAX - 1000);
    shown = count(out.ptr, "<details>");
    assert_true(shown > 100 && shown < 2000);
    snprintf(want, sizeof(want),
             "\n**%zu resources left out** to keep this comment under 65000 "
             "characters",
             2000 - shown);
    assert_non_null(strstr(out.ptr, want));
    dl_buf_dispose(&out);
    dl_plan_free(p);
}

/* Plan text cannot inject HTML or break out of the diff fence. */
static void test_escaping(void **state)
{
    struct dl_plan *p = dl_plan_new();
    struct dl_plan_resource *r =
        dl_plan_add_resource(p, "p", "K", "<script>x*y_z</script>");
    struct dl_buf out = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_err err;

    (void)state;
    r->mode = DL_PLAN_MODE_ENFORCE;
    r->status = DL_PLAN_STATUS_DRIFTED;
    r->action = DL_PLAN_ACTION_UPDATE;
    dl_plan_resource_add_change(r, "a", json_string("x\n```\n<b>"),
                                json_string("y"), 0);
    dl_plan_resource_add_note(r, "see [link](http://x) & <i>");
    dl_plan_resource_add_note(r, "\xe2\x80\xae\x1b|");
    assert_int_equal(dl_renderer_markdown.render(p, NULL, &out, &err), 0);
    assert_null(strstr(out.ptr, "<script>"));
    assert_non_null(strstr(out.ptr, "<code>p/K/&lt;script&gt;x\\*y\\_z&lt;/"
                                    "script&gt;</code>"));
    assert_non_null(strstr(out.ptr, "- a: \"x\\n```\\n<b>\"\n+ a: \"y\"\n"));
    assert_non_null(
        strstr(out.ptr, "- note: see \\[link\\](http://x) &amp; &lt;i&gt;\n"));
    assert_non_null(strstr(out.ptr, "- note: \\u202e\\x1b\\|\n"));
    assert_int_equal(count(out.ptr, "```"), 3); /* open, in value, close */
    dl_buf_dispose(&out);
    dl_plan_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_golden_truncated),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_too_small),
        cmocka_unit_test(test_default_limit),
        cmocka_unit_test(test_escaping),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
