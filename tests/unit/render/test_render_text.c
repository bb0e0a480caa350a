/* The text renderer: golden files, colour, escaping, secrets, limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "util/buf.h"

static char *render(const struct dl_plan *p, int color)
{
    struct dl_render_opts opts = {.color = color};
    struct dl_buf out = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_err err;

    if (dl_renderer_text.render(p, &opts, &out, &err) < 0)
        fail_msg("render: %s", err.msg);
    return dl_buf_take(&out);
}

static void test_golden(void **state)
{
    struct dl_render_opts opts = {.color = 0};

    (void)state;
    for (size_t i = 0; golden_cases[i]; i++)
        golden_render(golden_cases[i], &dl_renderer_text, &opts, ".txt");
}

static void test_golden_color(void **state)
{
    struct dl_render_opts opts = {.color = 1};

    (void)state;
    golden_render("mixed", &dl_renderer_text, &opts, ".color.txt");
}

/* No escape sequence at all without colour; the symbols coloured with it. */
static void test_color_on_off(void **state)
{
    (void)state;
    for (size_t i = 0; golden_cases[i]; i++) {
        struct dl_plan *p = golden_plan(golden_cases[i]);
        char *plain = render(p, 0), *col = render(p, 1);
        struct dl_plan_summary s;

        dl_plan_summarize(p, &s);
        assert_null(strchr(plain, '\033'));
        if (s.in_sync < s.resources)
            assert_non_null(strchr(col, '\033'));
        else
            assert_null(strchr(col, '\033'));
        free(plain);
        free(col);
        dl_plan_free(p);
    }
    {
        struct dl_plan *p = golden_plan("mixed");
        char *col = render(p, 1);

        assert_non_null(strstr(col, "\033[32m+\033[0m \033[1macme-data/"
                                    "IAMPolicyMember/"));
        assert_non_null(strstr(col, "\033[31m-\033[0m"));
        assert_non_null(strstr(col, "\033[33m~\033[0m"));
        assert_non_null(strstr(col, "\033[36m!\033[0m"));
        free(col);
        dl_plan_free(p);
    }
}

static void test_closing_line(void **state)
{
    struct dl_plan *p = golden_plan("mixed");
    char *t = render(p, 0);
    const char *want = "\nPlan: 1 to create, 2 to change, 105623 to delete, "
                       "2 to report.\n";
    size_t n = strlen(t), wn = strlen(want);

    (void)state;
    assert_true(n > wn);
    assert_string_equal(t + n - wn, want);
    assert_null(strstr(t, "No changes."));
    free(t);
    dl_plan_free(p);
}

static void test_no_changes(void **state)
{
    struct dl_plan *p = golden_plan("in-sync");
    char *t = render(p, 0);

    (void)state;
    assert_non_null(strstr(t, "\nNo changes.\n"));
    assert_non_null(strstr(t, "5 resources in sync.\n"));
    assert_null(strstr(t, "Plan:"));
    free(t);
    dl_plan_free(p);

    /* Report-only drift: "No changes." first, then what is reported. */
    p = golden_plan("report-only");
    t = render(p, 0);
    assert_false(dl_plan_has_changes(p));
    assert_non_null(strstr(t, "No changes."));
    assert_non_null(strstr(t, "  ! acme-data/CloudRunService/"
                              "prediction-worker has drifted (report only)"));
    assert_true(strstr(t, "No changes.") <
                strstr(t, "! acme-data/CloudRunService/prediction-worker"));
    assert_non_null(strstr(t, "Plan: 0 to create, 0 to change, 0 to delete, "
                              "2 to report.\n"));
    free(t);
    dl_plan_free(p);
}

/* Secrets never reach the output, even when the planner passes them in. */
static void test_secret_masked(void **state)
{
    struct dl_plan *p = dl_plan_new();
    struct dl_plan_resource *r = dl_plan_add_resource(p, "p", "K", "n");
    const struct dl_renderer *rs[] = {&dl_renderer_text, &dl_renderer_markdown,
                                      &dl_renderer_json};

    (void)state;
    r->mode = DL_PLAN_MODE_ENFORCE;
    r->status = DL_PLAN_STATUS_DRIFTED;
    r->action = DL_PLAN_ACTION_UPDATE;
    dl_plan_resource_add_change(r, "env.API_KEY",
                                json_string("old-hunter2-secret"),
                                json_string("new-hunter2-secret"), 1);
    for (size_t i = 0; i < 3; i++) {
        struct dl_buf out = DL_BUF_INIT(DL_BUF_NOCAP);
        struct dl_err err;

        assert_int_equal(rs[i]->render(p, NULL, &out, &err), 0);
        assert_null(strstr(dl_buf_cstr(&out), "hunter2"));
        assert_non_null(strstr(dl_buf_cstr(&out), "(sensitive)"));
        dl_buf_dispose(&out);
    }
    dl_plan_free(p);
}

/* Control characters from the plan cannot reach the terminal. */
static void test_escapes_control(void **state)
{
    struct dl_plan *p = dl_plan_new();
    struct dl_plan_resource *r =
        dl_plan_add_resource(p, "p", "K", "evil\033[2Jname");
    char *t;

    (void)state;
    dl_plan_resource_set_error(r, "line one\nline two\a");
    dl_plan_resource_add_note(r, "rtl \xe2\x80\xae"
                                 "evil\xe2\x81\xa9 csi "
                                 "\xc2\x9b"
                                 "2J caf\xc3\xa9");
    t = render(p, 0);
    assert_null(strchr(t, '\033'));
    assert_null(strchr(t, '\a'));
    assert_non_null(strstr(t, "p/K/evil\\x1b[2Jname could not be planned"));
    assert_non_null(strstr(t, "error: line one\\nline two\\x07\n"));
    assert_non_null(
        strstr(t, "note: rtl \\u202eevil\\u2069 csi \\u009b2J caf\xc3\xa9\n"));
    free(t);
    dl_plan_free(p);
}

static void test_out_cap(void **state)
{
    struct dl_plan *p = golden_plan("mixed");
    struct dl_buf out = DL_BUF_INIT(100);
    struct dl_err err;

    (void)state;
    assert_int_equal(dl_renderer_text.render(p, NULL, &out, &err), DL_ELIMIT);
    assert_int_equal(out.len, 0);
    assert_non_null(strstr(err.msg, "over the output limit of 100"));
    dl_buf_dispose(&out);
    dl_plan_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_golden_color),
        cmocka_unit_test(test_color_on_off),
        cmocka_unit_test(test_closing_line),
        cmocka_unit_test(test_no_changes),
        cmocka_unit_test(test_secret_masked),
        cmocka_unit_test(test_escapes_control),
        cmocka_unit_test(test_out_cap),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
