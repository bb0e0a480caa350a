/*
 * server.c - fakegcp's HTTP side: the daemon, routing, auth, faults,
 * request counting, the command line and a clean exit on SIGTERM/SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fake.h"
#include "util/alloc.h"

#define BODY_MAX (64u * 1024u * 1024u) /* big seeds for benchmarks */
#define RECENT_MAX 200
#define MAX_FAULT_CODES 16

struct fk_global fk;

void fk_lock(void)
{
    pthread_mutex_lock(&fk.mu);
}

void fk_unlock(void)
{
    pthread_mutex_unlock(&fk.mu);
}

/* ---- request counting (own mutex: counted even when handlers block) ---- */

static pthread_mutex_t count_mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *counts; /* "METHOD route status" -> count */
static json_t *recent; /* ring of the last RECENT_MAX requests */
static json_t *paths;  /* "METHOD path" -> count (bench/: request chains) */
static long long total;

static void count_request(struct MHD_Connection *conn, const char *method,
                          const char *route, const char *path, int status)
{
    /* A listing's pages share its path; the `project` parameter (Storage's
     * buckets list) tells the listings of different projects apart. */
    const char *project =
        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "project");
    char key[600];
    snprintf(key, sizeof key, "%s %s %d", method, route, status);
    pthread_mutex_lock(&count_mu);
    total++;
    json_int_t n = json_integer_value(json_object_get(counts, key));
    json_object_set_new(counts, key, json_integer(n + 1));
    snprintf(key, sizeof key, "%s %s%s%s", method, path,
             project ? "?project=" : "", project ? project : "");
    n = json_integer_value(json_object_get(paths, key));
    json_object_set_new(paths, key, json_integer(n + 1));
    json_array_append_new(recent, json_pack("{s:s,s:s,s:i}", "method", method,
                                            "path", path, "status", status));
    if (json_array_size(recent) > RECENT_MAX)
        json_array_remove(recent, 0);
    pthread_mutex_unlock(&count_mu);
}

json_t *fk_requests_json(void)
{
    json_t *out = json_object();
    json_t *arr = json_array();
    const char *key;
    json_t *v;
    pthread_mutex_lock(&count_mu);
    json_object_foreach(counts, key, v)
    {
        char method[16] = "", route[512] = "";
        int status = 0;
        const char *sp1 = strchr(key, ' ');
        const char *sp2 = strrchr(key, ' ');
        if (sp1 && sp2 && sp2 > sp1) {
            snprintf(method, sizeof method, "%.*s", (int)(sp1 - key), key);
            snprintf(route, sizeof route, "%.*s", (int)(sp2 - sp1 - 1),
                     sp1 + 1);
            status = atoi(sp2 + 1);
        }
        json_array_append_new(arr,
                              json_pack("{s:s,s:s,s:i,s:I}", "method", method,
                                        "route", route, "status", status,
                                        "count", json_integer_value(v)));
    }
    json_object_set_new(out, "total", json_integer(total));
    json_object_set_new(out, "counts", arr);
    json_object_set_new(out, "recent", json_deep_copy(recent));
    arr = json_array();
    json_object_foreach(paths, key, v)
    {
        const char *sp = strchr(key, ' ');
        if (!sp)
            continue;
        json_array_append_new(arr, json_pack("{s:s%,s:s,s:I}", "method", key,
                                             (size_t)(sp - key), "path", sp + 1,
                                             "count", json_integer_value(v)));
    }
    json_object_set_new(out, "paths", arr);
    pthread_mutex_unlock(&count_mu);
    return out;
}

void fk_requests_reset(void)
{
    pthread_mutex_lock(&count_mu);
    json_object_clear(counts);
    json_array_clear(recent);
    json_object_clear(paths);
    total = 0;
    pthread_mutex_unlock(&count_mu);
}

/* ---- faults ---- */

static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    json_t *spec; /* as set, for GET */
    long latency_ms, jitter_ms, spike_ms;
    double spike_rate;      /* share of requests delayed spike_ms more */
    double retry_info_rate; /* share of 429s carrying RetryInfo */
    int ncodes;
    int code[MAX_FAULT_CODES];
    double rate[MAX_FAULT_CODES];
    double reset_rate, truncate_rate, etag_race_rate;
    long retry_info_s;
    char *body; /* "body"/"bodyHex": answer matching requests with it */
    size_t body_len;
    char method[16]; /* only requests of this method; "" all */
    long limit;      /* faults left to inject; -1 no limit */
    int has_regex;
    regex_t regex;
    uint64_t rng;
} faults;

static double rng_next(void) /* lock held; uniform [0,1) */
{
    /* splitmix64: good enough, and reproducible from a seed */
    uint64_t z = (faults.rng += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    z ^= z >> 31;
    return (double)(z >> 11) / (double)(UINT64_C(1) << 53);
}

static int rate_of(json_t *v, double *out, const char *key, char *msg,
                   size_t msgsize)
{
    if (!json_is_number(v) || json_number_value(v) < 0 ||
        json_number_value(v) > 1) {
        snprintf(msg, msgsize, "fault \"%s\" must be a rate in [0, 1]", key);
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

/* "body" (a string) or "bodyHex" (hex digits of any bytes, e.g. invalid
 * UTF-8) into faults.body; lock held. */
static int body_of(json_t *v, int hex, char *msg, size_t msgsize)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);

    if (!s || (hex && n % 2) || faults.body) {
        snprintf(msg, msgsize,
                 "fault \"body\" must be one string (bodyHex: "
                 "an even number of hex digits)");
        return -1;
    }
    faults.body = dl_malloc(n + 1);
    faults.body_len = hex ? n / 2 : n;
    if (!hex)
        memcpy(faults.body, s, n);
    for (size_t i = 0; hex && i < n / 2; i++) {
        unsigned x;

        if (sscanf(s + 2 * i, "%2x", &x) != 1 ||
            !strchr("0123456789abcdefABCDEF", s[2 * i]) ||
            !strchr("0123456789abcdefABCDEF", s[2 * i + 1])) {
            snprintf(msg, msgsize, "fault \"bodyHex\" is not hex");
            return -1;
        }
        faults.body[i] = (char)x;
    }
    faults.body[faults.body_len] = '\0';
    return 0;
}

int fk_faults_set(json_t *f, char *msg, size_t msgsize)
{
    const char *key;
    json_t *v;
    int rc = 0;
    double sum = 0;

    if (!json_is_object(f)) {
        snprintf(msg, msgsize, "faults must be a JSON object");
        return -1;
    }
    pthread_mutex_lock(&fault_mu);
    json_decref(faults.spec);
    if (faults.has_regex)
        regfree(&faults.regex);
    free(faults.body);
    memset(&faults, 0, sizeof faults);
    faults.retry_info_rate = 1.0;
    faults.limit = -1;
    faults.rng = (uint64_t)time(NULL) ^ (uint64_t)getpid();
    json_object_foreach(f, key, v)
    {
        char *end = NULL;
        long code = strtol(key, &end, 10);
        if (end && *end == '\0' && end != key) {
            if (code < 100 || code > 599 || faults.ncodes >= MAX_FAULT_CODES) {
                snprintf(msg, msgsize, "bad fault status \"%s\"", key);
                rc = -1;
                break;
            }
            faults.code[faults.ncodes] = (int)code;
            rc = rate_of(v, &faults.rate[faults.ncodes], key, msg, msgsize);
            sum += faults.rate[faults.ncodes++];
        } else if (!strcmp(key, "latencyMs") || !strcmp(key, "jitterMs") ||
                   !strcmp(key, "retryInfoSeconds") || !strcmp(key, "seed") ||
                   !strcmp(key, "spikeMs") || !strcmp(key, "limit")) {
            if (!json_is_integer(v) || json_integer_value(v) < 0) {
                snprintf(msg, msgsize, "fault \"%s\" must be an integer >= 0",
                         key);
                rc = -1;
            } else if (!strcmp(key, "latencyMs"))
                faults.latency_ms = (long)json_integer_value(v);
            else if (!strcmp(key, "jitterMs"))
                faults.jitter_ms = (long)json_integer_value(v);
            else if (!strcmp(key, "retryInfoSeconds"))
                faults.retry_info_s = (long)json_integer_value(v);
            else if (!strcmp(key, "spikeMs"))
                faults.spike_ms = (long)json_integer_value(v);
            else if (!strcmp(key, "limit"))
                faults.limit = (long)json_integer_value(v);
            else
                faults.rng = (uint64_t)json_integer_value(v);
        } else if (!strcmp(key, "resetRate")) {
            rc = rate_of(v, &faults.reset_rate, key, msg, msgsize);
            sum += faults.reset_rate;
        } else if (!strcmp(key, "truncateRate")) {
            rc = rate_of(v, &faults.truncate_rate, key, msg, msgsize);
        } else if (!strcmp(key, "spikeRate")) {
            rc = rate_of(v, &faults.spike_rate, key, msg, msgsize);
        } else if (!strcmp(key, "retryInfoRate")) {
            rc = rate_of(v, &faults.retry_info_rate, key, msg, msgsize);
        } else if (!strcmp(key, "etagRaceRate")) {
            rc = rate_of(v, &faults.etag_race_rate, key, msg, msgsize);
        } else if (!strcmp(key, "body") || !strcmp(key, "bodyHex")) {
            rc = body_of(v, !strcmp(key, "bodyHex"), msg, msgsize);
        } else if (!strcmp(key, "method")) {
            if (!json_is_string(v) ||
                json_string_length(v) >= sizeof(faults.method)) {
                snprintf(msg, msgsize, "fault \"method\" must be a method");
                rc = -1;
            } else
                snprintf(faults.method, sizeof(faults.method), "%s",
                         json_string_value(v));
        } else if (!strcmp(key, "pathRegex")) {
            if (!json_is_string(v) ||
                regcomp(&faults.regex, json_string_value(v),
                        REG_EXTENDED | REG_NOSUB) != 0) {
                snprintf(msg, msgsize, "bad fault pathRegex");
                rc = -1;
            } else
                faults.has_regex = 1;
        } else {
            snprintf(msg, msgsize, "unknown fault \"%s\"", key);
            rc = -1;
        }
        if (rc)
            break;
    }
    if (!rc && sum > 1.0) {
        snprintf(msg, msgsize, "fault rates add up to more than 1");
        rc = -1;
    }
    if (rc) {
        if (faults.has_regex)
            regfree(&faults.regex);
        free(faults.body);
        memset(&faults, 0, sizeof faults);
        faults.spec = json_object();
    } else
        faults.spec = json_deep_copy(f);
    pthread_mutex_unlock(&fault_mu);
    return rc;
}

int fk_fault_etag_race(const char *path)
{
    int race = 0;
    pthread_mutex_lock(&fault_mu);
    if (faults.etag_race_rate > 0 && faults.limit != 0 &&
        (!faults.has_regex || regexec(&faults.regex, path, 0, NULL, 0) == 0))
        race = rng_next() < faults.etag_race_rate;
    if (race && faults.limit > 0)
        faults.limit--;
    pthread_mutex_unlock(&fault_mu);
    return race;
}

json_t *fk_faults_json(void)
{
    pthread_mutex_lock(&fault_mu);
    json_t *j = json_deep_copy(faults.spec);
    pthread_mutex_unlock(&fault_mu);
    return j;
}

enum fault_kind { FAULT_NONE, FAULT_RESET, FAULT_STATUS, FAULT_BODY };

/* Decide the fault for one request. *delay_ms gets the latency. */
static enum fault_kind fault_pick(const char *method, const char *path,
                                  int *status, long *delay_ms, int *truncate,
                                  long *retry_s, struct fk_resp *body)
{
    enum fault_kind k = FAULT_NONE;
    double r;
    pthread_mutex_lock(&fault_mu);
    *delay_ms = 0;
    *truncate = 0;
    *retry_s = faults.retry_info_s;
    if (faults.has_regex && regexec(&faults.regex, path, 0, NULL, 0) != 0)
        goto done;
    if (faults.method[0] && strcmp(faults.method, method) != 0)
        goto done;
    *delay_ms = faults.latency_ms;
    if (faults.limit == 0)
        goto done; /* latency only: the faults were all injected */
    if (faults.jitter_ms > 0)
        *delay_ms += (long)(rng_next() * (double)(faults.jitter_ms + 1));
    if (faults.spike_rate > 0 && rng_next() < faults.spike_rate)
        *delay_ms += faults.spike_ms;
    if (faults.body) {
        body->status = 200;
        body->text = dl_malloc(faults.body_len + 1);
        memcpy(body->text, faults.body, faults.body_len + 1);
        body->text_len = faults.body_len;
        k = FAULT_BODY;
        goto done;
    }
    r = rng_next();
    if (r < faults.reset_rate) {
        k = FAULT_RESET;
        goto done;
    }
    r -= faults.reset_rate;
    for (int i = 0; i < faults.ncodes; i++) {
        if (r < faults.rate[i]) {
            *status = faults.code[i];
            k = FAULT_STATUS;
            /* Only some 429s say when to come back (retryInfoRate) */
            if (*status == 429 && faults.retry_info_rate < 1.0 &&
                rng_next() >= faults.retry_info_rate)
                *retry_s = 0;
            goto done;
        }
        r -= faults.rate[i];
    }
    if (faults.truncate_rate > 0 && rng_next() < faults.truncate_rate)
        *truncate = 1;
done:
    if ((k != FAULT_NONE || *truncate) && faults.limit > 0)
        faults.limit--;
    pthread_mutex_unlock(&fault_mu);
    return k;
}

/* ---- routing ---- */

static const struct fk_route *const route_tables[] = {
    fk_routes_admin, fk_routes_token, fk_routes_iam,
    fk_routes_run,   fk_routes_build, fk_routes_data,
};

/*
 * Match path against pattern: '*' matches one non-empty segment up to the
 * next '/' or (when the pattern continues with ':') the last ':'.
 */
static int match(const char *pat, const char *path, struct fk_req *req)
{
    req->ncaps = 0;
    while (*pat) {
        if (*pat == '*') {
            const char *end = path + strcspn(path, "/");
            if (pat[1] == ':') {
                const char *colon = NULL;
                for (const char *q = path; q < end; q++)
                    if (*q == ':')
                        colon = q;
                if (!colon)
                    return 0;
                end = colon;
            }
            if (end == path || req->ncaps >= FK_MAX_CAPS ||
                (size_t)(end - path) >= sizeof req->caps[0])
                return 0;
            memcpy(req->caps[req->ncaps], path, (size_t)(end - path));
            req->caps[req->ncaps++][end - path] = '\0';
            path = end;
            pat++;
        } else if (*pat == *path) {
            pat++;
            path++;
        } else
            return 0;
    }
    return *path == '\0';
}

static const struct fk_route *find_route(struct fk_req *req, int *path_known)
{
    *path_known = 0;
    for (size_t t = 0; t < sizeof route_tables / sizeof route_tables[0]; t++)
        for (const struct fk_route *r = route_tables[t]; r->pattern; r++) {
            if (!match(r->pattern, req->path, req))
                continue;
            *path_known = 1;
            if (!strcmp(r->method, req->method)) {
                req->route = r->pattern;
                return r;
            }
        }
    return NULL;
}

/* ---- the MHD side ---- */

struct conn_ctx {
    struct dl_buf body;
    int too_big;
};

struct trunc_ctx {
    char *data;
    size_t len, cut;
};

static ssize_t trunc_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct trunc_ctx *t = cls;
    if (pos >= t->cut)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = t->cut - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(buf, t->data + pos, n);
    return (ssize_t)n;
}

static void trunc_free(void *cls)
{
    struct trunc_ctx *t = cls;
    free(t->data);
    free(t);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static enum MHD_Result send_resp(struct MHD_Connection *conn,
                                 struct fk_resp *resp, int truncate)
{
    char *data;
    size_t len;
    const char *ctype = "application/json; charset=UTF-8";
    if (resp->json) {
        data = json_dumps(resp->json, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!data)
            dl_fatal("fakegcp: cannot serialise a response");
        len = strlen(data);
    } else {
        data = resp->text ? resp->text : dl_strdup("");
        resp->text = NULL;
        len = resp->text_len ? resp->text_len : strlen(data);
        if (resp->ctype)
            ctype = resp->ctype;
    }
    struct MHD_Response *r;
    if (truncate && len > 1) {
        struct trunc_ctx *t = dl_malloc(sizeof *t);
        t->data = data;
        t->len = len;
        t->cut = len / 2;
        r = MHD_create_response_from_callback(len, 4096, trunc_reader, t,
                                              trunc_free);
    } else
        r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (!r)
        dl_fatal("fakegcp: cannot create a response");
    if (resp->status != 204)
        MHD_add_response_header(r, "Content-Type", ctype);
    for (int i = 0; i < resp->nhdr; i++)
        MHD_add_response_header(r, resp->hdr_name[i], resp->hdr_value[i]);
    MHD_add_response_header(r, "Server", "fakegcp");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

/* BigQuery and Storage answer every error with the legacy errors[] too:
 * add it to the server's own errors (auth, faults) on their paths. */
static void add_legacy_errors(const char *path, struct fk_resp *resp)
{
    json_t *e = json_object_get(resp->json, "error");
    const char *reason;
    if (!e || json_object_get(e, "errors") ||
        (strncmp(path, "/storage/", 9) && strncmp(path, "/bigquery/", 10)))
        return;
    switch (resp->status) {
    case 401:
        reason = "required";
        break;
    case 403:
        reason = "forbidden";
        break;
    case 404:
        reason = "notFound";
        break;
    case 409:
        reason = "conflict";
        break;
    case 429:
        reason = "rateLimitExceeded";
        break;
    default:
        reason = resp->status >= 500 ? "backendError" : "invalid";
    }
    json_object_set_new(e, "errors",
                        json_pack("[{s:O,s:s,s:s}]", "message",
                                  json_object_get(e, "message"), "domain",
                                  "global", "reason", reason));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct conn_ctx *cc = *con_cls;
    struct fk_req req;
    struct fk_resp resp;
    enum MHD_Result ret;
    int known = 0, truncate = 0;
    const struct fk_route *route;

    if (!cc) {
        cc = dl_calloc(1, sizeof *cc);
        dl_buf_init(&cc->body, BODY_MAX);
        *con_cls = cc;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (dl_buf_put(&cc->body, upload_data, *upload_data_size) != 0)
            cc->too_big = 1;
        *upload_data_size = 0;
        return MHD_YES;
    }

    memset(&req, 0, sizeof req);
    memset(&resp, 0, sizeof resp);
    req.method = method;
    req.path = url;
    req.conn = conn;
    req.body = dl_buf_cstr(&cc->body);
    req.body_len = cc->body.len;
    req.route = url;
    route = find_route(&req, &known);

    int admin = !strncmp(url, "/_fake/", 7);
    if (!admin) {
        long delay, retry_s;
        int fstatus = 0;
        enum fault_kind fkind = fault_pick(method, url, &fstatus, &delay,
                                           &truncate, &retry_s, &resp);
        if (delay > 0)
            sleep_ms(delay);
        if (fkind == FAULT_RESET) {
            count_request(conn, method, route ? route->pattern : url, url, 0);
            return MHD_NO; /* closes the connection without an answer */
        }
        if (fkind == FAULT_STATUS) {
            json_t *details = NULL;
            if (fstatus == 429) {
                details = json_pack(
                    "[{s:s,s:s,s:s,s:{s:s,s:s}}]", "@type",
                    "type.googleapis.com/google.rpc.ErrorInfo", "reason",
                    "RATE_LIMIT_EXCEEDED", "domain", "googleapis.com",
                    "metadata", "quota_metric", "fake/requests", "quota_limit",
                    "RequestsPerMinutePerProject");
                if (retry_s > 0) {
                    char d[32], h[32];
                    snprintf(d, sizeof d, "%lds", retry_s);
                    snprintf(h, sizeof h, "%ld", retry_s);
                    json_array_append_new(
                        details,
                        json_pack("{s:s,s:s}", "@type",
                                  "type.googleapis.com/google.rpc.RetryInfo",
                                  "retryDelay", d));
                    fk_header(&resp, "Retry-After", h);
                }
                fk_error(&resp, 429, "RESOURCE_EXHAUSTED", details,
                         "Quota exceeded for quota metric 'Requests' and "
                         "limit 'Requests per minute' (injected by fakegcp)");
            } else
                fk_error(&resp, fstatus, fk_status_name(fstatus), NULL,
                         "injected fault %d", fstatus);
            goto send;
        }
        if (fkind == FAULT_BODY)
            goto send;
    }

    if (!route) {
        if (known)
            fk_error(&resp, 405, "UNIMPLEMENTED", NULL,
                     "method %s not allowed on \"%s\"", method, url);
        else
            fk_error(&resp, 404, "NOT_FOUND", NULL,
                     "The requested URL %s was not found on this server.", url);
        goto send;
    }
    if (cc->too_big) {
        fk_error(&resp, 413, "INVALID_ARGUMENT", NULL,
                 "request body larger than %u bytes", BODY_MAX);
        goto send;
    }
    if (!(route->flags & FK_ROUTE_NOAUTH)) {
        const char *auth =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 ||
            auth[7 + strspn(auth + 7, " ")] == '\0') {
            fk_error(&resp, 401, "UNAUTHENTICATED", NULL,
                     "Request is missing required authentication "
                     "credential. Expected OAuth 2 access token, login "
                     "cookie or other valid authentication credential. See "
                     "https://developers.google.com/identity/sign-in/web/"
                     "devconsole-project.");
            goto send;
        }
    }
    /* Any body that parses as JSON is JSON, whatever its Content-Type
     * (clients are sloppy with it; ESF is not, but nothing depends on it) */
    if (req.body_len > 0)
        req.json = json_loadb(req.body, req.body_len, JSON_DECODE_ANY, NULL);
    if (route->flags & FK_ROUTE_NOLOCK)
        route->fn(&req, &resp);
    else {
        fk_lock();
        fk_run_tick();
        fk_build_tick();
        route->fn(&req, &resp);
        fk_unlock();
    }
    json_decref(req.json);

send:
    if (resp.status == 0)
        fk_error(&resp, 500, "INTERNAL", NULL, "handler gave no response");
    if (resp.status >= 400)
        add_legacy_errors(url, &resp);
    if (!admin) /* the admin API is the observer, not the observed */
        count_request(conn, method, route ? route->pattern : url, url,
                      resp.status);
    ret = send_resp(conn, &resp, truncate);
    json_decref(resp.json);
    free(resp.text);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct conn_ctx *cc = *con_cls;
    if (cc) {
        dl_buf_dispose(&cc->body);
        free(cc);
        *con_cls = NULL;
    }
}

/* ---- state file ---- */

static int load_state_file(const char *file)
{
    json_error_t jerr;
    if (access(file, F_OK) != 0)
        return 0;
    json_t *j = json_load_file(file, 0, &jerr);
    if (!j || !json_is_object(j)) {
        fprintf(stderr, "fakegcp: cannot read state file \"%s\": %s\n", file,
                jerr.text);
        json_decref(j);
        return -1;
    }
    json_t *st = json_object_get(j, "state");
    json_t *ops = json_object_get(j, "operations");
    if (st) {
        json_decref(fk.state);
        fk.state = json_incref(st);
    }
    if (json_is_array(ops)) {
        json_decref(fk.ops);
        fk.ops = json_incref(ops);
    }
    json_decref(j);
    fk_run_normalize();
    fk_iam_normalize();
    fk_data_normalize();
    return 0;
}

static int save_state_file(const char *file)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", file);
    json_t *j = json_pack("{s:O,s:O}", "state", fk.state, "operations", fk.ops);
    int rc = json_dump_file(j, tmp, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (rc == 0 && rename(tmp, file) != 0)
        rc = -1;
    if (rc)
        fprintf(stderr, "fakegcp: cannot write state file \"%s\"\n", file);
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: fakegcp --listen 127.0.0.1:PORT [--state FILE] "
                    "[--public-key PEM] [--op-delay-ms N] [--threads N]\n");
}

int main(int argc, char **argv)
{
    const char *listen = NULL, *state_file = NULL, *pubkey_file = NULL;
    long threads = 16;
    struct sockaddr_in sa;
    struct MHD_Daemon *d = NULL;
    sigset_t sigs;
    int sig = 0, rc = 1;
    const char *colon;
    const union MHD_DaemonInfo *info;

    memset(&fk, 0, sizeof fk);
    pthread_mutex_init(&fk.mu, NULL);
    fk.op_delay_ms = 300;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--listen") && v)
            listen = argv[++i];
        else if (!strcmp(a, "--state") && v)
            state_file = argv[++i];
        else if (!strcmp(a, "--public-key") && v)
            pubkey_file = argv[++i];
        else if (!strcmp(a, "--op-delay-ms") && v)
            fk.op_delay_ms = atol(argv[++i]);
        else if (!strcmp(a, "--threads") && v)
            threads = atol(argv[++i]);
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: fakegcp --listen 127.0.0.1:PORT [--state FILE] "
                   "[--public-key PEM] [--op-delay-ms N] [--threads N]\n");
            return 0;
        } else {
            usage();
            return 2;
        }
    }
    if (!listen || fk.op_delay_ms < 0 || threads < 1 || threads > 256) {
        usage();
        return 2;
    }
    colon = strrchr(listen, ':');
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    if (!colon || (size_t)(colon - listen) >= sizeof fk.listen_host) {
        fprintf(stderr, "fakegcp: bad --listen \"%s\"\n", listen);
        return 2;
    }
    snprintf(fk.listen_host, sizeof fk.listen_host, "%.*s",
             (int)(colon - listen), listen);
    if (inet_pton(AF_INET, fk.listen_host, &sa.sin_addr) != 1 ||
        atoi(colon + 1) < 0 || atoi(colon + 1) > 65535) {
        fprintf(stderr, "fakegcp: bad --listen \"%s\"\n", listen);
        return 2;
    }
    sa.sin_port = htons((uint16_t)atoi(colon + 1));

    fk.state = json_object();
    fk.ops = json_array();
    counts = json_object();
    recent = json_array();
    paths = json_object();
    faults.spec = json_object();
    if (pubkey_file) {
        FILE *f = fopen(pubkey_file, "r");
        if (f) {
            fk.pubkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
            fclose(f);
        }
        if (!fk.pubkey) {
            fprintf(stderr, "fakegcp: cannot read public key \"%s\"\n",
                    pubkey_file);
            goto done;
        }
    }
    if (state_file && load_state_file(state_file) != 0)
        goto done;

    /* Workers inherit this mask; the main thread waits for the signals. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
        MHD_OPTION_CONNECTION_LIMIT, 2048u, MHD_OPTION_CONNECTION_TIMEOUT, 120u,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "fakegcp: cannot listen on \"%s\"\n", listen);
        goto done;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    fk.port = info ? info->port : ntohs(sa.sin_port);
    printf("fakegcp listening on %s:%d\n", fk.listen_host, fk.port);
    fflush(stdout);

    while (sigwait(&sigs, &sig) != 0)
        ;
    MHD_stop_daemon(d);
    d = NULL;
    rc = 0;
    if (state_file && save_state_file(state_file) != 0)
        rc = 1;
    fprintf(stderr, "fakegcp: stopped by signal %d\n", sig);

done:
    if (d)
        MHD_stop_daemon(d);
    json_decref(fk.state);
    json_decref(fk.ops);
    json_decref(counts);
    json_decref(recent);
    json_decref(paths);
    json_decref(faults.spec);
    if (faults.has_regex)
        regfree(&faults.regex);
    EVP_PKEY_free(fk.pubkey);
    pthread_mutex_destroy(&fk.mu);
    return rc;
}
