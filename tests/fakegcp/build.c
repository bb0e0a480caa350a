/* build.c - Cloud Build v1 (placeholder until implemented). */
#include "fake.h"

void fk_build_tick(void)
{
}

const struct fk_route fk_routes_build[] = {
    {NULL, NULL, NULL, 0},
};
