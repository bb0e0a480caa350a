/*
 * getall.c - the per-resource baseline of bench/run: one request per
 * resource, N in flight, the way Terraform's refresh reads state.
 *
 *   getall [--parallel N] [--delay-ms MS] <REQUESTS
 *
 * REQUESTS has one request a line: `GET URL` or `POST URL` (a POST sends
 * the body `{}`, as getIamPolicy needs). $BENCH_TOKEN, when set, is sent as
 * a bearer token. --delay-ms adds a round trip to every request: a slot
 * stays taken MS after its answer came, as if the answer had travelled
 * that much longer (for servers that cannot add latency themselves, such
 * as the Firestore emulator). libcurl multi keeps at most N requests in flight
 * on at most N keep-alive connections (reused between requests, never reopened
 * per request), so the client adds as little as it can to the servers'
 * time. Prints one JSON line: {"requests", "ok", "failed", "seconds",
 * "statuses": {"200": n, ...}}; exit 0 when every request got a 2xx, 1
 * otherwise, 2 on bad usage.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/alloc.h"

struct req {
    char *method;
    char *url;
};

static size_t discard(char *p, size_t size, size_t n, void *u)
{
    (void)p;
    (void)u;
    return size * n;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static CURL *make(const struct req *r, struct curl_slist *hdrs)
{
    CURL *e = curl_easy_init();

    if (!e)
        return NULL;
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 120L);
    if (!strcmp(r->method, "POST"))
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "{}");
    return e;
}

int main(int argc, char **argv)
{
    long parallel = 10, delay_ms = 0;
    double *cooling = NULL; /* FIFO of times slots become free again */
    size_t cool_head = 0, cool_tail = 0;
    struct req *reqs = NULL;
    size_t n = 0, cap = 0, next = 0, done_n = 0, ok = 0;
    long statuses[600] = {0};
    char line[8192];
    char *auth = NULL;
    struct curl_slist *hdrs = NULL;
    CURLM *m = NULL;
    int rc = 2, running = 0;
    double t0, t1;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--parallel") && i + 1 < argc)
            parallel = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--delay-ms") && i + 1 < argc)
            delay_ms = strtol(argv[++i], NULL, 10);
        else {
            fprintf(stderr,
                    "usage: getall [--parallel N] [--delay-ms MS] <REQUESTS\n");
            return 2;
        }
    }
    if (parallel < 1 || parallel > 1000 || delay_ms < 0 || delay_ms > 60000) {
        fprintf(stderr, "getall: --parallel must be 1..1000 and --delay-ms "
                        "0..60000\n");
        return 2;
    }
    while (fgets(line, sizeof line, stdin)) {
        char *sp = strchr(line, ' '), *nl = strchr(line, '\n');

        if (nl)
            *nl = '\0';
        if (!sp)
            continue;
        *sp = '\0';
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            reqs = dl_reallocarray(reqs, cap, sizeof *reqs);
        }
        reqs[n].method = dl_strdup(line);
        reqs[n].url = dl_strdup(sp + 1);
        n++;
    }

    curl_global_init(CURL_GLOBAL_DEFAULT);
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    if (getenv("BENCH_TOKEN")) {
        auth = dl_asprintf("Authorization: Bearer %s", getenv("BENCH_TOKEN"));
        hdrs = curl_slist_append(hdrs, auth);
    }
    cooling = dl_calloc(n + 1, sizeof *cooling);
    m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, parallel);
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, parallel);
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, parallel);

    t0 = now();
    while (done_n < n) {
        CURLMsg *msg;
        int left;

        double t = now();
        long wait_ms = 100;

        while (cool_head < cool_tail && cooling[cool_head] <= t)
            cool_head++;
        if (cool_head < cool_tail)
            wait_ms = (long)((cooling[cool_head] - t) * 1000) + 1;
        while (next < n &&
               (long)(next - done_n + cool_tail - cool_head) < parallel) {
            CURL *e = make(&reqs[next], hdrs);

            if (!e || curl_multi_add_handle(m, e) != CURLM_OK) {
                fprintf(stderr, "getall: cannot start a request\n");
                goto done;
            }
            next++;
        }
        curl_multi_perform(m, &running);
        while ((msg = curl_multi_info_read(m, &left))) {
            long status = 0;

            if (msg->msg != CURLMSG_DONE)
                continue;
            if (msg->data.result == CURLE_OK)
                curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE,
                                  &status);
            if (status < 0 || status >= 600)
                status = 0;
            statuses[status]++;
            if (status >= 200 && status < 300)
                ok++;
            curl_multi_remove_handle(m, msg->easy_handle);
            curl_easy_cleanup(msg->easy_handle);
            done_n++;
            if (delay_ms)
                cooling[cool_tail++] = now() + (double)delay_ms / 1000.0;
        }
        if (done_n < n)
            curl_multi_poll(m, NULL, 0, wait_ms < 100 ? (int)wait_ms : 100,
                            NULL);
    }
    while (cool_head < cool_tail && cooling[cool_tail - 1] > now())
        curl_multi_poll(m, NULL, 0, 1, NULL); /* the last answers' trips */
    t1 = now();

    printf("{\"requests\": %zu, \"ok\": %zu, \"failed\": %zu, "
           "\"seconds\": %.3f, \"statuses\": {",
           n, ok, n - ok, t1 - t0);
    for (int s = 0, first = 1; s < 600; s++) {
        if (!statuses[s])
            continue;
        printf("%s\"%d\": %ld", first ? "" : ", ", s, statuses[s]);
        first = 0;
    }
    printf("}}\n");
    rc = ok == n ? 0 : 1;

done:
    if (m)
        curl_multi_cleanup(m);
    curl_slist_free_all(hdrs);
    free(auth);
    for (size_t i = 0; i < n; i++) {
        free(reqs[i].method);
        free(reqs[i].url);
    }
    free(reqs);
    free(cooling);
    curl_global_cleanup();
    return rc;
}
