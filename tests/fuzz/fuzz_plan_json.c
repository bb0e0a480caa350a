/*
 * fuzz_plan_json.c - libFuzzer target for the plan-JSON reader: the input
 * is a plan as `apply --plan` would read it. A plan the reader accepts must
 * also be accepted by the writer, must survive write -> read -> write
 * byte-identically (plan_json.h's promise), and must render in every
 * format; any of these failing aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan/plan.h"
#include "plan/plan_json.h"
#include "render/render.h"
#include "util/buf.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const struct dl_err *err)
{
    fprintf(stderr, "fuzz_plan_json: %s: %s\n", what, err ? err->msg : "");
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dl_buf first = DL_BUF_INIT((size_t)64 << 20);
    struct dl_buf second = DL_BUF_INIT((size_t)64 << 20);
    struct dl_buf out = DL_BUF_INIT((size_t)64 << 20);
    struct dl_render_opts color = {.color = 1};
    struct dl_render_opts small = {.markdown_max = 2048};
    struct dl_plan *p = NULL, *again = NULL;
    struct dl_err err;

    if (dl_plan_from_json(&p, (const char *)data, size, &err) != 0) {
        if (p)
            fail("the reader failed but returned a plan", NULL);
        if (!err.msg[0] || strchr(err.msg, '\n'))
            fail("error message is empty or not one line", &err);
        goto done;
    }
    if (dl_plan_to_json(p, &first, &err) != 0)
        fail("the writer refused a plan the reader accepted", &err);
    if (dl_plan_from_json(&again, first.ptr, first.len, &err) != 0)
        fail("the reader refused the writer's output", &err);
    if (dl_plan_to_json(again, &second, &err) != 0)
        fail("the writer refused a re-read plan", &err);
    if (first.len != second.len || memcmp(first.ptr, second.ptr, first.len))
        fail("write -> read -> write is not byte-identical", NULL);
    for (size_t i = 0; dl_renderers[i]; i++) {
        dl_buf_reset(&out);
        if (dl_renderers[i]->render(p, NULL, &out, &err) != 0)
            fail(dl_renderers[i]->name, &err);
    }
    dl_buf_reset(&out);
    if (dl_renderer_text.render(p, &color, &out, &err) != 0)
        fail("text with colour", &err);
    dl_buf_reset(&out);
    /* A small limit exercises the cut at a resource boundary; a limit
     * below the header is the one documented DL_ELIMIT. */
    if (dl_renderer_markdown.render(p, &small, &out, &err) != 0 &&
        err.code != DL_ELIMIT)
        fail("markdown with a small limit", &err);
    (void)dl_plan_has_changes(p);
    (void)dl_plan_has_errors(p);
done:
    dl_plan_free(again);
    dl_plan_free(p);
    dl_buf_dispose(&out);
    dl_buf_dispose(&second);
    dl_buf_dispose(&first);
    return 0;
}
