/*
 * fuzz_gcp_grpc.c - libFuzzer target for the Firestore gRPC listing's
 * answer (src/gcp/firestore_grpc.c, src/gcp/protobuf.c). The input is a
 * gRPC response body: length-prefixed RunQueryResponse messages. It is fed
 * to the framer in pieces (sizes taken from the first byte) and every
 * message is decoded; a document must come out as a JSON object with a
 * string name when it has one, and every error must be a negative DL_E*
 * code with a one-line message.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcp/firestore_grpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_err(int rc, const struct dl_err *err)
{
    if (rc < 0 && (err->code != rc || !err->msg[0] || strchr(err->msg, '\n'))) {
        fprintf(stderr, "fuzz_gcp_grpc: rc %d, message '%s'\n", rc, err->msg);
        abort();
    }
}

static int on_msg(void *ud, const uint8_t *p, size_t len)
{
    struct dl_firestore_element el;
    struct dl_err err;
    int rc = dl_firestore_grpc_decode_response(&el, p, len, &err);

    (void)ud;
    check_err(rc, &err);
    if (rc == 0 && el.document) {
        json_t *name = json_object_get(el.document, "name");
        char *s;

        if (!json_is_object(el.document) || (name && !json_is_string(name)))
            abort();
        /* the document serialises (valid UTF-8 throughout) */
        s = json_dumps(el.document, JSON_COMPACT);
        if (!s)
            abort();
        free(s);
    }
    dl_firestore_element_dispose(&el);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct dl_grpc_framer f;
    struct dl_err err;
    size_t piece, off;
    int rc = 0;

    if (size == 0)
        return 0;
    piece = (size_t)data[0] % 17 + 1;
    data++;
    size--;
    dl_grpc_framer_init(&f, 1u << 20, on_msg, NULL);
    for (off = 0; off < size && rc == 0; off += piece) {
        size_t n = size - off < piece ? size - off : piece;

        rc = dl_grpc_framer_feed(&f, data + off, n, &err);
        check_err(rc, &err);
    }
    if (rc == 0)
        check_err(dl_grpc_framer_finish(&f, &err), &err);
    dl_grpc_framer_dispose(&f);
    return 0;
}
