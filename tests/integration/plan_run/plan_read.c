/*
 * plan_read FILE - read a saved plan the way `driftless apply --plan` will
 * (dl_plan_from_json: schema and consistency checks). Exit 0 when it reads,
 * 1 with the reader's message otherwise.
 */
#include <stdio.h>
#include <stdlib.h>

#include "plan/plan.h"
#include "plan/plan_json.h"
#include "util/buf.h"

int main(int argc, char **argv)
{
    struct dl_buf text = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_plan *plan = NULL;
    struct dl_err err;
    char chunk[65536];
    size_t n;
    FILE *f;
    int rc = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: plan_read FILE\n");
        return 2;
    }
    f = fopen(argv[1], "r");
    if (!f) {
        fprintf(stderr, "plan_read: cannot open '%s'\n", argv[1]);
        return 1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (dl_buf_put(&text, chunk, n) < 0)
            goto done;
    if (dl_plan_from_json(&plan, text.ptr ? text.ptr : "", text.len, &err) <
        0) {
        fprintf(stderr, "plan_read: %s\n", err.msg);
        goto done;
    }
    rc = 0;
done:
    fclose(f);
    dl_plan_free(plan);
    dl_buf_dispose(&text);
    return rc;
}
