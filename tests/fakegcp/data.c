/* data.c - BigQuery v2 and Storage JSON (placeholder). */
#include "fake.h"

const struct fk_route fk_routes_data[] = {
    {NULL, NULL, NULL, 0},
};
