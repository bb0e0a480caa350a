/*
 * err.h - the error object every fallible function fills.
 *
 * Fallible functions return 0 or a negative DL_E* code and, when the caller
 * passes a non-NULL struct dl_err, describe the failure there: a one-line
 * message (no trailing period, bad values quoted), and where known the HTTP
 * status, the Google API status, the resource address and the source
 * position. The struct is caller-owned and holds no heap memory.
 */
#ifndef DL_UTIL_ERR_H
#define DL_UTIL_ERR_H

#include <stddef.h>

/* The closed set of error codes. Callers switch on these, never on text. */
enum dl_code {
    DL_OK = 0,
    DL_ERROR = -1,      /* anything not listed below */
    DL_ENOTFOUND = -2,  /* the thing does not exist (HTTP 404) */
    DL_ECONFLICT = -3,  /* precondition/etag mismatch, aborted (409, 412) */
    DL_EAUTH = -4,      /* no or bad credentials, permission denied */
    DL_EINVALID = -5,   /* bad input: YAML, flags, a request Google rejects */
    DL_ETRANSIENT = -6, /* worth retrying: timeouts, 429, 5xx, resets */
    DL_ELIMIT = -7,     /* a size, depth or count cap was reached */
    DL_ECANCELLED = -8  /* stopped on request (signal, shutdown) */
};

#define DL_ERR_MSG_MAX 512

struct dl_err {
    int code;                 /* one of enum dl_code */
    char msg[DL_ERR_MSG_MAX]; /* one line, no trailing period */
    int http_status;          /* 0 when not an HTTP error */
    char google_status[40];   /* e.g. "ABORTED", "" when none */
    char address[256];        /* resource address, "" when none */
    char file[256];           /* source position, "" when none */
    int line, col;            /* 1-based; 0 when unknown */
};

#if defined(__GNUC__)
#define DL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define DL_WUR __attribute__((warn_unused_result))
#define DL_NORETURN __attribute__((noreturn))
#else
#define DL_PRINTF(f, a)
#define DL_WUR
#define DL_NORETURN
#endif

/* Reset *err to "no error". NULL-safe. */
void dl_err_clear(struct dl_err *err);

/*
 * Fill err (if non-NULL) with code and a formatted message, clearing the
 * other fields. Returns code, so callers can `return dl_err_set(...)`.
 */
int dl_err_set(struct dl_err *err, int code, const char *fmt, ...)
    DL_PRINTF(3, 4);

/* Prefix the existing message with "prefix: ". NULL-safe. */
void dl_err_prefix(struct dl_err *err, const char *fmt, ...) DL_PRINTF(2, 3);

/* Record a source position on err. NULL-safe. */
void dl_err_at(struct dl_err *err, const char *file, int line, int col);

/* Copy src into dst (both may be NULL). */
void dl_err_copy(struct dl_err *dst, const struct dl_err *src);

/* The code's symbolic name, e.g. "DL_ENOTFOUND" -> "not found". */
const char *dl_err_code_name(int code);

#endif
