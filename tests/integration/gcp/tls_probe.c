/*
 * tls_probe URL [CA [MAX_BODY]] - one GET through the libcurl transport with
 * the client's CA handling; prints "rc=<code> status=<http>" and the error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcp/gcp.h"

int main(int argc, char **argv)
{
    struct dl_gcp_client_opts o;
    struct dl_gcp_client *c = NULL;
    struct dl_gcp_request q;
    struct dl_err err;
    json_t *out = NULL;
    int rc;

    if (argc < 2)
        return 2;
    memset(&o, 0, sizeof(o));
    o.no_auth = 1;
    o.max_attempts = 1;
    o.ca_bundle = argc > 2 && *argv[2] ? argv[2] : NULL;
    if (dl_gcp_client_new(&c, &o, &err) != 0) {
        printf("client: %s\n", err.msg);
        return 1;
    }
    memset(&q, 0, sizeof(q));
    q.api = DL_GCP_RUN;
    q.path = argv[1];
    q.flags = DL_GCP_RAW;
    q.max_body = argc > 3 ? (size_t)strtoul(argv[3], NULL, 10) : 0;
    rc = dl_gcp_call_req(c, &q, &out, &err);
    printf("rc=%d status=%d %s\n", rc, rc ? err.http_status : 200,
           rc ? err.msg : "");
    json_decref(out);
    dl_gcp_client_free(c);
    return 0;
}
