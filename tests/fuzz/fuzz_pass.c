/*
 * fuzz_pass.c - see fuzz_pass.h.
 */
#include "fuzz_pass.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcp/gcp.h"
#include "gcp/http.h"
#include "mem_tree.h"
#include "model/model.h"
#include "plan/plan_json.h"
#include "provider/provider.h"
#include "render/render.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

static const char project_yaml[] =
    "apiVersion: driftless.dev/v1alpha1\n"
    "kind: Project\n"
    "metadata:\n"
    "  name: fuzz-project\n"
    "spec:\n"
    "  region: us-west2\n"
    "  protectedMembers: [group:admins@example.com]\n"
    "  build:\n"
    "    sourceUrl: https://git.example.com/fuzz/mono.git\n"
    "    imageRepository: us-west2-docker.pkg.dev/fuzz-project/services\n";

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_pass: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

/* The model is the same for every input of a target: load it once. */
struct dl_model *fuzz_pass_model(const char *resources)
{
    static struct dl_model *m;
    static const char *loaded;
    struct dl_tree *t;
    struct dl_diags d;
    struct dl_err err;

    if (m && loaded == resources)
        return m;
    /* Log everything (so formatting runs on hostile strings) to nowhere. */
    dl_log_init(DL_LOG_DEBUG, DL_LOG_JSON, fopen("/dev/null", "w"));
    dl_model_free(m);
    m = NULL;
    t = mem_tree_new("fuzz", 1);
    mem_tree_add_str(t, "ds/project.yaml", project_yaml);
    mem_tree_add_str(t, "ds/resources.yaml", resources);
    mem_tree_add_str(t, "svc/Dockerfile", "FROM scratch\n");
    dl_diags_init(&d);
    if (dl_model_load(&m, t, "ds", &d, &err) != 0 || d.n > 0) {
        struct dl_buf out = DL_BUF_INIT(DL_BUF_NOCAP);

        if (dl_diags_format_text(&d, &out) != 0)
            fail("the harness model does not load", err.msg);
        fail("the harness model does not load", out.ptr ? out.ptr : err.msg);
    }
    dl_diags_dispose(&d);
    dl_tree_free(t);
    loaded = resources;
    return m;
}

static void check_plan(const struct dl_plan *p)
{
    struct dl_buf first = DL_BUF_INIT((size_t)64 << 20);
    struct dl_buf second = DL_BUF_INIT((size_t)64 << 20);
    struct dl_plan *again = NULL;
    struct dl_err err;

    for (size_t i = 0; i < p->nresources; i++) {
        const struct dl_plan_resource *r = p->resources[i];

        if (r->status == DL_PLAN_STATUS_ERROR) {
            if (!r->error || !r->error[0] || strchr(r->error, '\n'))
                fail("error without a one-line message", r->address);
            if (r->action != DL_PLAN_ACTION_NONE)
                fail("a resource in error has an action", r->address);
        }
        if (r->hygiene) {
            const struct dl_plan_hygiene *h = r->hygiene;

            if (h->total < 0 || h->violating < 0 || h->violating > h->total ||
                h->planned_deletes < 0 || h->planned_deletes > h->violating ||
                h->planned_deletes > h->cap ||
                (h->planned_deletes > 0 && r->action != DL_PLAN_ACTION_DELETE))
                fail("hygiene counts do not add up", r->address);
        }
        if (strcmp(r->kind, "Project") == 0 &&
            r->status != DL_PLAN_STATUS_IN_SYNC)
            fail("the Project, answered validly, is not in sync", r->error);
    }
    if (dl_plan_to_json(p, &first, &err) != 0)
        fail("plan to JSON", err.msg);
    if (dl_plan_from_json(&again, first.ptr, first.len, &err) != 0)
        fail("the reader refused the writer's plan", err.msg);
    if (dl_plan_to_json(again, &second, &err) != 0)
        fail("plan to JSON again", err.msg);
    if (first.len != second.len || memcmp(first.ptr, second.ptr, first.len))
        fail("write -> read -> write is not byte-identical", NULL);
    for (size_t i = 0; dl_renderers[i]; i++) {
        dl_buf_reset(&second);
        if (dl_renderers[i]->render(p, NULL, &second, &err) != 0)
            fail(dl_renderers[i]->name, err.msg);
    }
    dl_plan_free(again);
    dl_buf_dispose(&second);
    dl_buf_dispose(&first);
}

struct dl_gcp_client *fuzz_client(const struct fuzz_answer *fixed,
                                  const char *method,
                                  const char *const *patterns,
                                  const uint8_t *data, size_t size,
                                  size_t chunk)
{
    static const char head[] = "HTTP/1.1 200 OK\r\n"
                               "Content-Type: application/json\r\n\r\n";
    struct dl_buf resp = DL_BUF_INIT(DL_BUF_NOCAP);
    struct dl_http_transport *t = NULL;
    struct dl_gcp_client_opts o = {0};
    struct dl_gcp_client *c = NULL;
    struct dl_err err;

    if (dl_http_replay_new(&t) != 0)
        fail("replay transport", NULL);
    for (const struct fuzz_answer *a = fixed; a && a->method; a++)
        if (dl_http_replay_add_text(t, a->method, a->pattern, a->response,
                                    strlen(a->response), &err) != 0)
            fail("fixed answer", err.msg);
    (void)dl_buf_puts(&resp, head);
    (void)dl_buf_put(&resp, (const char *)data, size);
    for (size_t i = 0; patterns[i]; i++)
        if (dl_http_replay_add_text(t, method, patterns[i], resp.ptr, resp.len,
                                    &err) != 0)
            fail("fuzzed answer", err.msg);
    dl_http_replay_set_chunk(t, chunk);
    o.transport = t;
    o.no_auth = 1;
    o.seed = 1;
    o.max_attempts = 2;
    if (dl_gcp_client_new(&c, &o, &err) != 0)
        fail("client", err.msg);
    dl_buf_dispose(&resp);
    return c;
}

void fuzz_pass_run(const struct fuzz_pass_case *fc, const uint8_t *data,
                   size_t size, void (*check)(const struct dl_plan *p))
{
    const char *patterns[5] = {0};
    struct dl_pass pass = {0};
    struct dl_err err;

    for (size_t i = 0; i < 4 && fc->patterns[i]; i++)
        patterns[i] = fc->patterns[i];
    pass.model = fuzz_pass_model(fc->resources);
    pass.gcp =
        fuzz_client(fc->fixed, fc->method, patterns, data, size, fc->chunk);
    pass.plan = dl_plan_new();
    pass.opts.now_ns = (int64_t)1800000000 * 1000000000;
    if (dl_pass_run(&pass, &err) != 0)
        fail("the pass failed as a whole", err.msg);
    check_plan(pass.plan);
    if (check)
        check(pass.plan);
    dl_plan_free(pass.plan);
    dl_gcp_client_free(pass.gcp);
}
