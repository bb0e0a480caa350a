/*
 * json_stream.h - cut a top-level JSON array into its elements as its
 * bytes arrive.
 *
 * Firestore's runQuery answers with one JSON array that can hold 100,000+
 * documents (30 MB). The splitter keeps only the element being read (up to
 * a cap), hands each complete element to json_loadb and then to a
 * callback, so memory stays bounded whatever the size of the array. It
 * accepts any split of the input into pieces, down to single bytes.
 */
#ifndef DL_GCP_JSON_STREAM_H
#define DL_GCP_JSON_STREAM_H

#include <jansson.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

/* Called per element (borrowed; json_incref to keep). Return 0 to go on,
 * or a negative DL_E* code to stop: feed returns it. */
typedef int (*dl_json_element_fn)(void *ud, json_t *element);

/* The raw form: the element's bytes (len bytes at p, valid during the
 * call), not parsed. Return as dl_json_element_fn. */
typedef int (*dl_json_raw_fn)(void *ud, const char *p, size_t len);

struct dl_json_splitter {
    int state, depth, in_string, escape, scalar;
    struct dl_buf elem; /* the element being read */
    size_t count;       /* elements delivered */
    size_t offset;      /* bytes consumed */
    size_t max_seen;    /* largest element, bytes */
    dl_json_element_fn cb;
    dl_json_raw_fn raw_cb; /* instead of cb: no parsing here */
    void *ud;
};

/* Prepare s; elements longer than max_element bytes fail with DL_ELIMIT. */
void dl_json_splitter_init(struct dl_json_splitter *s, size_t max_element,
                           dl_json_element_fn cb, void *ud);
/* Same, handing each element's bytes to cb unparsed (the caller parses
 * them; DL_EINVALID for malformed elements is then its job). */
void dl_json_splitter_init_raw(struct dl_json_splitter *s, size_t max_element,
                               dl_json_raw_fn cb, void *ud);
void dl_json_splitter_dispose(struct dl_json_splitter *s);

/*
 * Consume len bytes. 0; DL_EINVALID when the input is not a JSON array
 * (message with the byte offset); DL_ELIMIT for an oversized element; or
 * the callback's code.
 */
int dl_json_splitter_feed(struct dl_json_splitter *s, const char *data,
                          size_t len, struct dl_err *err) DL_WUR;

/* End of input: 0 when the array was closed, else DL_ETRANSIENT
 * ("truncated after N elements"). */
int dl_json_splitter_finish(struct dl_json_splitter *s,
                            struct dl_err *err) DL_WUR;

#endif
