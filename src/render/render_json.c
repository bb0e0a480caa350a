/* render_json.c - the JSON rendering: the plan's own format (plan_json.h). */
#include "plan/plan_json.h"
#include "render/render.h"

static int render_json(const struct dl_plan *p,
                       const struct dl_render_opts *opts, struct dl_buf *out,
                       struct dl_err *err)
{
    (void)opts;
    return dl_plan_to_json(p, out, err);
}

const struct dl_renderer dl_renderer_json = {
    .name = "json",
    .render = render_json,
};
