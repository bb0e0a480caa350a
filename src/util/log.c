#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/json_str.h"
#include "util/time.h"

#define MAX_SECRETS 64
#define REDACTED "[REDACTED]"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static enum dl_log_level log_level = DL_LOG_WARNING;
static enum dl_log_format log_format = DL_LOG_AUTO;
static FILE *log_out;
static char *secrets[MAX_SECRETS];
static size_t nsecrets;

static const char *const level_names[] = {
    [DL_LOG_DEBUG] = "debug",   [DL_LOG_INFO] = "info",
    [DL_LOG_NOTICE] = "notice", [DL_LOG_WARNING] = "warning",
    [DL_LOG_ERROR] = "error",
};

static const char *const severities[] = {
    [DL_LOG_DEBUG] = "DEBUG",   [DL_LOG_INFO] = "INFO",
    [DL_LOG_NOTICE] = "NOTICE", [DL_LOG_WARNING] = "WARNING",
    [DL_LOG_ERROR] = "ERROR",
};

void dl_log_init(enum dl_log_level level, enum dl_log_format format, FILE *out)
{
    pthread_mutex_lock(&log_lock);
    log_level = level;
    log_format = format;
    log_out = out;
    pthread_mutex_unlock(&log_lock);
}

int dl_log_level_parse(enum dl_log_level *out, const char *s)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum dl_log_level)i;
            return 0;
        }
    }
    return DL_EINVALID;
}

int dl_log_enabled(enum dl_log_level level)
{
    return level >= log_level;
}

void dl_log_add_secret(const char *secret)
{
    if (!secret || strlen(secret) < 4)
        return;
    pthread_mutex_lock(&log_lock);
    for (size_t i = 0; i < nsecrets; i++) {
        if (strcmp(secrets[i], secret) == 0) {
            pthread_mutex_unlock(&log_lock);
            return;
        }
    }
    if (nsecrets == MAX_SECRETS) {
        /* Keep the newest: tokens rotate, the oldest has expired. */
        free(secrets[0]);
        memmove(secrets, secrets + 1, sizeof(secrets[0]) * (MAX_SECRETS - 1));
        nsecrets--;
    }
    secrets[nsecrets++] = dl_strdup(secret);
    pthread_mutex_unlock(&log_lock);
}

void dl_log_clear_secrets(void)
{
    pthread_mutex_lock(&log_lock);
    for (size_t i = 0; i < nsecrets; i++)
        free(secrets[i]);
    nsecrets = 0;
    pthread_mutex_unlock(&log_lock);
}

/* Caller holds log_lock. */
static void redact_locked(char *s)
{
    for (size_t i = 0; i < nsecrets; i++) {
        size_t n = strlen(secrets[i]);
        char *p;

        while ((p = strstr(s, secrets[i])) != NULL) {
            /* In place: the marker must not be longer than what it replaces. */
            size_t r = strlen(REDACTED) <= n ? strlen(REDACTED) : 3;
            memcpy(p, r == 3 ? "***" : REDACTED, r);
            memmove(p + r, p + n, strlen(p + n) + 1);
        }
    }
}

void dl_log_redact(char *s)
{
    pthread_mutex_lock(&log_lock);
    redact_locked(s);
    pthread_mutex_unlock(&log_lock);
}

static void vlog(enum dl_log_level level, const char *fields, const char *fmt,
                 va_list ap) DL_PRINTF(3, 0);

static void vlog(enum dl_log_level level, const char *fields, const char *fmt,
                 va_list ap)
{
    struct dl_buf msg = DL_BUF_INIT(64 * 1024),
                  line = DL_BUF_INIT(DL_BUF_NOCAP);
    FILE *out;
    enum dl_log_format fmt_kind;
    char ts[40];
    int json;

    if (level < log_level)
        return;
    if (dl_buf_vprintf(&msg, fmt, ap) < 0)
        (void)dl_buf_puts(&msg, "(log message too long)");

    pthread_mutex_lock(&log_lock);
    out = log_out ? log_out : stderr;
    fmt_kind = log_format;
    if (fmt_kind == DL_LOG_AUTO)
        fmt_kind = isatty(fileno(out)) ? DL_LOG_TEXT : DL_LOG_JSON;
    json = fmt_kind == DL_LOG_JSON;
    if (json) {
        dl_time_format_rfc3339(ts, sizeof(ts), dl_time_now_ns());
        (void)dl_buf_printf(&line,
                            "{\"severity\":\"%s\",\"time\":\"%s\","
                            "\"message\":",
                            severities[level], ts);
        (void)dl_json_str_append(&line, dl_buf_cstr(&msg));
        if (fields && *fields)
            (void)dl_buf_printf(&line, ",%s", fields);
        (void)dl_buf_puts(&line, "}\n");
    } else {
        (void)dl_buf_printf(&line, "driftless: %s: %s", level_names[level],
                            dl_buf_cstr(&msg));
        if (fields && *fields)
            (void)dl_buf_printf(&line, " {%s}", fields);
        (void)dl_buf_putc(&line, '\n');
    }
    if (line.ptr) {
        redact_locked(line.ptr);
        fputs(line.ptr, out);
        fflush(out);
    }
    pthread_mutex_unlock(&log_lock);
    dl_buf_dispose(&msg);
    dl_buf_dispose(&line);
}

void dl_log(enum dl_log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(level, NULL, fmt, ap);
    va_end(ap);
}

void dl_log_fields(enum dl_log_level level, const char *fields_json,
                   const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(level, fields_json, fmt, ap);
    va_end(ap);
}
