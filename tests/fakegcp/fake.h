/*
 * fake.h - fakegcp internals shared by its files.
 *
 * fakegcp is a local fake of the Google APIs driftless uses (Cloud Run
 * Admin v2, Resource Manager IAM, Cloud Build v1, BigQuery v2, Storage JSON,
 * OAuth/metadata/STS/IAM Credentials tokens). One libmicrohttpd daemon with
 * a thread pool serves every API at its real path; all state is one jansson
 * object behind one mutex (fk_lock/fk_unlock). Handlers run with the lock
 * held (the server takes it around every handler), so they may read and
 * modify fk.state freely but must not sleep; :wait handlers that need to
 * block say so in their route entry and take the lock themselves.
 */
#ifndef FAKEGCP_FAKE_H
#define FAKEGCP_FAKE_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

#define FK_MAX_CAPS 6

/* One parsed request, as handlers see it. All fields borrowed. */
struct fk_req {
    const char *method;
    const char *path;  /* without query string */
    const char *route; /* the matching route pattern */
    void *conn;        /* struct MHD_Connection * */
    const char *body;  /* raw body, NUL-terminated ("" when none) */
    size_t body_len;
    json_t *json;                /* body parsed as JSON, NULL when not JSON */
    char caps[FK_MAX_CAPS][200]; /* the path segments matched by '*' */
    int ncaps;
};

/* The response a handler fills. The server frees json/text. */
struct fk_resp {
    int status;
    json_t *json;      /* body, or NULL */
    char *text;        /* raw body (malloc'd) when json is NULL */
    size_t text_len;   /* its length; 0: strlen(text) */
    const char *ctype; /* content type for text; JSON when NULL */
    char hdr_name[2][64];
    char hdr_value[2][256];
    int nhdr;
};

typedef void (*fk_handler)(struct fk_req *req, struct fk_resp *resp);

/* One route: method, path pattern ('*' = one segment), handler. */
struct fk_route {
    const char *method;
    const char *pattern;
    fk_handler fn;
    int flags; /* FK_ROUTE_* */
};

#define FK_ROUTE_NOAUTH 1 /* no bearer token needed */
#define FK_ROUTE_NOLOCK 2 /* handler takes the lock itself */
#define FK_ROUTE_ADMIN                                                         \
    4 /* marks /_fake/ routes (faults and counting                             \
         skip /_fake/ paths by prefix) */

/* The one global fake. */
struct fk_global {
    pthread_mutex_t mu;
    json_t *state;       /* the resources, in their real JSON */
    json_t *ops;         /* pending/finished operations, internal */
    int fail_revisions;  /* next N revisions fail */
    int fail_builds;     /* next N builds fail */
    int64_t op_delay_ms; /* how long operations take */
    void *pubkey;        /* EVP_PKEY * for JWT checks, or NULL */
    char listen_host[64];
    int port;
};

extern struct fk_global fk;

void fk_lock(void);
void fk_unlock(void);

/* --- responses (errors.c) --- */
/* Google envelope {"error":{code,message,status}}; details may be NULL
 * (stolen otherwise). */
void fk_error(struct fk_resp *resp, int code, const char *status,
              json_t *details, const char *fmt, ...) DL_PRINTF(5, 6);
/* The same plus the legacy errors[] array (BigQuery, Storage). with_status
 * 0 leaves "status" out, as Storage often does. */
void fk_error_legacy(struct fk_resp *resp, int code, const char *status,
                     const char *reason, int with_status, const char *fmt, ...)
    DL_PRINTF(6, 7);
/* The canonical status name for an HTTP code ("NOT_FOUND"). */
const char *fk_status_name(int code);
/* resp = 200 + j (stolen). */
void fk_ok(struct fk_resp *resp, json_t *j);
/* Add a response header. */
void fk_header(struct fk_resp *resp, const char *name, const char *value);
/*
 * Reject unknown keys of obj (at JSON path where, "" for the top): returns
 * 0, or fills a 400 INVALID_ARGUMENT as ESF words it and returns -1.
 * allowed is NULL-terminated.
 */
int fk_check_fields(struct fk_resp *resp, json_t *obj, const char *where,
                    const char *const *allowed);
/* The body as a JSON object, or 400 and NULL. "" body -> empty object
 * (caller owns the reference). */
json_t *fk_body_object(struct fk_req *req, struct fk_resp *resp);

/* --- helpers (util.c) --- */
/* A query-string argument, or NULL. */
const char *fk_query(struct fk_req *req, const char *key);
/* A request header, or NULL. */
const char *fk_req_header(struct fk_req *req, const char *name);
/* Fill out with n random lowercase letters/digits. */
void fk_rand_alnum(char *out, size_t n);
void fk_uuid4(char out[37]);
/* Base64 (std, padded) of n bytes into out (>= 4*((n+2)/3)+1). */
void fk_b64(char *out, const unsigned char *in, size_t n);
/* RFC 3339 with microseconds, Z. */
void fk_time_str(char *out, size_t size, int64_t ns);
int64_t fk_now_ns(void);
/* The project's number for an id or number (as a string), or NULL. */
const char *fk_project_number(const char *id_or_number);
/* The project's id for an id or number, or NULL when unknown. */
const char *fk_project_id(const char *id_or_number);
/* The array at state.a.b (created when missing). b may be NULL. */
json_t *fk_state_array(const char *a, const char *b);
/* A page of arr (borrowed) into out[key], with nextPageToken. */
int fk_paginate(struct fk_resp *resp, json_t *out, const char *key, json_t *arr,
                const char *size_s, const char *token, int default_size,
                int max_size);

/* --- handlers, by file --- */
extern const struct fk_route fk_routes_admin[];
extern const struct fk_route fk_routes_token[];
extern const struct fk_route fk_routes_iam[];
extern const struct fk_route fk_routes_run[];
extern const struct fk_route fk_routes_build[];
extern const struct fk_route fk_routes_data[];

/* Complete the operations that are due (lock held). */
void fk_run_tick(void);
void fk_build_tick(void);
/* Fill derived fields of seeded resources (lock held). */
void fk_run_normalize(void);
void fk_iam_normalize(void);
void fk_data_normalize(void);

/* Counting (server.c). */
json_t *fk_requests_json(void);
void fk_requests_reset(void);
/* Faults (server.c): set from a flat object; 0 or -1 with msg. */
int fk_faults_set(json_t *f, char *msg, size_t msgsize);
json_t *fk_faults_json(void);
/* Should this write lose a race with a concurrent writer (etagRaceRate)?
 * The handler then changes the resource as "someone else" first. */
int fk_fault_etag_race(const char *path);

#endif
