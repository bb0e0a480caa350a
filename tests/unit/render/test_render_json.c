/* The JSON renderer against golden files: it is the plan's own format. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "plan/plan_json.h"
#include "util/buf.h"

static void test_golden(void **state)
{
    (void)state;
    for (size_t i = 0; golden_cases[i]; i++)
        golden_render(golden_cases[i], &dl_renderer_json, NULL, ".json");
}

/* The renderer writes exactly what dl_plan_to_json writes. */
static void test_same_as_writer(void **state)
{
    struct dl_plan *p = golden_plan("mixed");
    struct dl_buf a = DL_BUF_INIT(DL_BUF_NOCAP), b = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_err err;

    (void)state;
    assert_int_equal(dl_renderer_json.render(p, NULL, &a, &err), 0);
    assert_int_equal(dl_plan_to_json(p, &b, &err), 0);
    assert_string_equal(dl_buf_cstr(&a), dl_buf_cstr(&b));
    dl_buf_dispose(&a);
    dl_buf_dispose(&b);
    dl_plan_free(p);
}

/* An inconsistent plan is refused, not written. */
static void test_refuses_inconsistent(void **state)
{
    struct dl_plan *p = dl_plan_new();
    struct dl_plan_resource *r = dl_plan_add_resource(p, "p", "K", "n");
    struct dl_buf out = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_err err;

    (void)state;
    r->action = DL_PLAN_ACTION_UPDATE; /* in_sync cannot update */
    assert_int_equal(dl_renderer_json.render(p, NULL, &out, &err), DL_EINVALID);
    assert_string_equal(err.msg, "resources[0] (p/K/n): status 'in_sync' "
                                 "does not allow action 'update'");
    assert_int_equal(out.len, 0);
    dl_buf_dispose(&out);
    dl_plan_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_same_as_writer),
        cmocka_unit_test(test_refuses_inconsistent),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
