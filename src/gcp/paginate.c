/*
 * paginate.c - follow pageToken/nextPageToken through a list.
 *
 * Every API here pages the same way (Run, Firestore documents.list, Cloud
 * Build, BigQuery tables.list, Storage objects/buckets.list): the request
 * takes pageToken=, the answer carries nextPageToken while more may follow
 * (Firestore also on a full last page, then an empty page ends it). Page
 * sizes (pageSize, maxResults) are the caller's query parameters.
 */
#include <stdlib.h>
#include <string.h>

#include "gcp/gcp.h"
#include "gcp/gcp_int.h"
#include "util/alloc.h"

struct lister {
    enum dl_gcp_api api;
    char *path, *key;
    dl_gcp_item_fn item;
    dl_gcp_op_fn done;
    void *ud;
    size_t pages;
};

static void lister_free(struct lister *l)
{
    free(l->path);
    free(l->key);
    free(l);
}

static int submit_page(struct dl_gcp_client *c, struct lister *l,
                       const char *token, struct dl_err *err);

/*
 * A page Google could not have sent: not an object, items that are not an
 * array of objects, a nextPageToken that is not a string. Treating it as
 * an empty (or shorter) list would make existing resources look missing,
 * so it fails the list: 1 with e set, else 0.
 */
static int malformed_page(const json_t *page, const json_t *items,
                          const struct lister *l, struct dl_err *e)
{
    const json_t *next = json_object_get(page, "nextPageToken");
    const json_t *it;
    size_t i;

    if (!json_is_object(page))
        return dl_err_set(e, DL_EINVALID,
                          "GET %s: malformed answer: not a JSON object",
                          l->path) != 0;
    if (items && !json_is_array(items))
        return dl_err_set(e, DL_EINVALID,
                          "GET %s: malformed answer: \"%s\" is not an array",
                          l->path, l->key) != 0;
    for (i = 0; i < json_array_size(items); i++) {
        it = json_array_get(items, i);
        if (!json_is_object(it))
            return dl_err_set(e, DL_EINVALID,
                              "GET %s: malformed answer: \"%s\"[%zu] is not "
                              "an object",
                              l->path, l->key, i) != 0;
    }
    if (next && !json_is_string(next))
        return dl_err_set(e, DL_EINVALID,
                          "GET %s: malformed answer: \"nextPageToken\" is "
                          "not a string",
                          l->path) != 0;
    return 0;
}

static void on_page(struct dl_gcp_client *c, int rc,
                    const struct dl_gcp_response *r, const struct dl_err *err,
                    void *ud)
{
    struct lister *l = ud;
    struct dl_err e2;
    json_t *items, *it;
    const char *next;
    size_t i;

    if (rc < 0) {
        l->done(c, rc, NULL, err, l->ud);
        lister_free(l);
        return;
    }
    l->pages++;
    items = json_object_get(r->json, l->key);
    if (malformed_page(r->json, items, l, &e2)) {
        l->done(c, DL_EINVALID, NULL, &e2, l->ud);
        lister_free(l);
        return;
    }
    json_array_foreach(items, i, it)
    {
        if (l->item(l->ud, it) != 0) {
            l->done(c, 0, NULL, NULL, l->ud);
            lister_free(l);
            return;
        }
    }
    next = json_string_value(json_object_get(r->json, "nextPageToken"));
    if (next && *next) {
        if (l->pages >= 100000) {
            dl_err_set(&e2, DL_ELIMIT, "GET %s: more than %zu pages", l->path,
                       l->pages);
            l->done(c, DL_ELIMIT, NULL, &e2, l->ud);
            lister_free(l);
            return;
        }
        if (submit_page(c, l, next, &e2) < 0) {
            l->done(c, e2.code, NULL, &e2, l->ud);
            lister_free(l);
        }
        return;
    }
    l->done(c, 0, NULL, NULL, l->ud);
    lister_free(l);
}

static int submit_page(struct dl_gcp_client *c, struct lister *l,
                       const char *token, struct dl_err *err)
{
    struct dl_gcp_request q;
    char *path = NULL, *enc;
    int rc;

    if (token) {
        enc = dl_gcp_urlencode(token);
        path = dl_asprintf("%s%cpageToken=%s", l->path,
                           strchr(l->path, '?') ? '&' : '?', enc);
        free(enc);
    }
    memset(&q, 0, sizeof(q));
    q.api = l->api;
    q.method = "GET";
    q.path = path ? path : l->path;
    q.retry = DL_GCP_RETRY_READ;
    q.done = on_page;
    q.ud = l;
    rc = dl_gcp_submit(c, &q, err);
    free(path);
    return rc;
}

int dl_gcp_list_submit(struct dl_gcp_client *c, enum dl_gcp_api api,
                       const char *path, const char *items_key,
                       dl_gcp_item_fn item, dl_gcp_op_fn done, void *ud,
                       struct dl_err *err)
{
    struct lister *l = dl_calloc(1, sizeof(*l));
    int rc;

    l->api = api;
    l->path = dl_strdup(path);
    l->key = dl_strdup(items_key);
    l->item = item;
    l->done = done;
    l->ud = ud;
    rc = submit_page(c, l, NULL, err);
    if (rc < 0)
        lister_free(l);
    return rc;
}

struct sync_list {
    int done, rc;
    struct dl_err err;
    dl_gcp_item_fn item;
    void *ud;
};

static int sync_item(void *ud, json_t *item)
{
    struct sync_list *s = ud;

    return s->item(s->ud, item);
}

static void sync_done(struct dl_gcp_client *c, int rc, json_t *result,
                      const struct dl_err *err, void *ud)
{
    struct sync_list *s = ud;

    (void)c;
    (void)result;
    s->done = 1;
    s->rc = rc;
    if (rc < 0)
        dl_err_copy(&s->err, err);
}

int dl_gcp_list(struct dl_gcp_client *c, enum dl_gcp_api api, const char *path,
                const char *items_key, dl_gcp_item_fn item, void *ud,
                struct dl_err *err)
{
    struct sync_list s;
    int rc;

    memset(&s, 0, sizeof(s));
    s.item = item;
    s.ud = ud;
    rc = dl_gcp_list_submit(c, api, path, items_key, sync_item, sync_done, &s,
                            err);
    if (rc < 0)
        return rc;
    if (dl_gcp__run_until(c, &s.done) < 0 && !s.done)
        return dl_err_set(err, DL_ERROR, "listing '%s': gcp loop stalled",
                          path);
    if (s.rc < 0)
        dl_err_copy(err, &s.err);
    return s.rc;
}
