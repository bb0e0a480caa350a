/* run.c - Cloud Run Admin v2 (placeholder until implemented). */
#include "fake.h"

void fk_run_tick(void)
{
}

void fk_run_normalize(void)
{
}

const struct fk_route fk_routes_run[] = {
    {NULL, NULL, NULL, 0},
};
