#include "golden.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <cmocka.h>

#include "plan/plan_json.h"
#include "util/alloc.h"
#include "util/buf.h"

#define FIXTURES DL_SOURCE_DIR "/tests/fixtures/plan/"

const char *const golden_cases[] = {
    "heartbeat-fix-missing",
    "other-dockerfile",
    "missing-iam-member",
    "heartbeat-docs",
    "heartbeat-docs-capped",
    "staging-tables",
    "empty-buckets",
    "error-resource",
    "in-sync",
    "report-only",
    "secret-env",
    "orphan-prune",
    "mixed",
    NULL,
};

char *golden_read(const char *name, size_t *len)
{
    char *path = dl_asprintf("%s%s", FIXTURES, name);
    struct dl_buf b = DL_BUF_INIT(DL_BUF_NOCAP);
    char chunk[4096];
    size_t n;
    FILE *f = fopen(path, "rb");

    if (!f)
        fail_msg("cannot open fixture %s", path);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        assert_int_equal(dl_buf_put(&b, chunk, n), 0);
    fclose(f);
    free(path);
    *len = b.len;
    return dl_buf_take(&b);
}

struct dl_plan *golden_plan(const char *case_name)
{
    char *name = dl_asprintf("%s.plan.json", case_name);
    struct dl_plan *p = NULL;
    struct dl_err err;
    size_t len;
    char *text = golden_read(name, &len);

    if (dl_plan_from_json(&p, text, len, &err) < 0)
        fail_msg("%s: %s", name, err.msg);
    free(text);
    free(name);
    return p;
}

static void show_diff(const char *name, const char *want, const char *got)
{
    int line = 1;
    const char *w = want, *g = got;

    while (*w && *w == *g) {
        if (*w == '\n') {
            line++;
            want = w + 1;
            got = g + 1;
        }
        w++;
        g++;
    }
    print_error("%s differs at line %d\n  want: %.*s\n  got:  %.*s\n", name,
                line, (int)strcspn(want, "\n"), want, (int)strcspn(got, "\n"),
                got);
}

void golden_check(const char *name, const char *got, size_t len)
{
    const char *update = getenv("DL_UPDATE_GOLDEN");
    size_t wlen;
    char *want;

    if (update && strcmp(update, "1") == 0) {
        char *path = dl_asprintf("%s%s", FIXTURES, name);
        FILE *f = fopen(path, "wb");

        if (!f || fwrite(got, 1, len, f) != len || fclose(f) != 0)
            fail_msg("cannot write %s", path);
        free(path);
        return;
    }
    want = golden_read(name, &wlen);
    if (wlen != len || memcmp(want, got, len) != 0) {
        show_diff(name, want, got);
        free(want);
        fail_msg("%s: output differs from the golden file (%zu bytes, want "
                 "%zu); DL_UPDATE_GOLDEN=1 rewrites it",
                 name, len, wlen);
    }
    free(want);
}

void golden_render(const char *case_name, const struct dl_renderer *r,
                   const struct dl_render_opts *opts, const char *suffix)
{
    struct dl_plan *p = golden_plan(case_name);
    struct dl_buf out = DL_BUF_INIT(DL_BUF_NOCAP);
    char *name = dl_asprintf("%s%s", case_name, suffix);
    struct dl_err err;

    if (r->render(p, opts, &out, &err) < 0)
        fail_msg("%s: %s", name, err.msg);
    golden_check(name, dl_buf_cstr(&out), out.len);
    dl_buf_dispose(&out);
    free(name);
    dl_plan_free(p);
}
