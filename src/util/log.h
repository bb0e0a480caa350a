/*
 * log.h - logging for humans and for Cloud Logging.
 *
 * Text ("driftless: warning: ...") on a terminal, JSON lines otherwise, in
 * Cloud Logging's structured format: {"severity","message","time", fields}.
 * Secrets registered with dl_log_add_secret are replaced by "[REDACTED]" in
 * every line written, whatever its level or format: a second line of defence
 * behind never formatting them in the first place.
 * Thread-safe: lines from different threads never interleave.
 */
#ifndef DL_UTIL_LOG_H
#define DL_UTIL_LOG_H

#include <stdio.h>

#include "util/err.h"

enum dl_log_level {
    DL_LOG_DEBUG = 0,
    DL_LOG_INFO = 1,
    DL_LOG_NOTICE = 2,
    DL_LOG_WARNING = 3,
    DL_LOG_ERROR = 4
};

enum dl_log_format {
    DL_LOG_AUTO = 0, /* text on a TTY, JSON otherwise */
    DL_LOG_TEXT,
    DL_LOG_JSON
};

/*
 * Configure logging: lines at level and above go to out (stderr when NULL)
 * in format. May be called again; the default is WARNING, AUTO, stderr.
 */
void dl_log_init(enum dl_log_level level, enum dl_log_format format, FILE *out);

/* Parse "debug|info|notice|warning|error". 0, or DL_EINVALID. */
int dl_log_level_parse(enum dl_log_level *out, const char *s);

/*
 * Remember secret (copied) so that it never appears in a log line. Values
 * shorter than 4 bytes are ignored (they would redact ordinary words).
 */
void dl_log_add_secret(const char *secret);
/* Forget every registered secret (tests). */
void dl_log_clear_secrets(void);
/* Replace every registered secret in s (in place, same or shorter). */
void dl_log_redact(char *s);

/* Log a line. */
void dl_log(enum dl_log_level level, const char *fmt, ...) DL_PRINTF(2, 3);

/*
 * Log a line with extra JSON fields: fields_json is the inside of a JSON
 * object ("\"project\":\"p\",\"n\":3") or NULL. Text output appends them.
 */
void dl_log_fields(enum dl_log_level level, const char *fields_json,
                   const char *fmt, ...) DL_PRINTF(3, 4);

#define dl_debug(...) dl_log(DL_LOG_DEBUG, __VA_ARGS__)
#define dl_info(...) dl_log(DL_LOG_INFO, __VA_ARGS__)
#define dl_warn(...) dl_log(DL_LOG_WARNING, __VA_ARGS__)
#define dl_error(...) dl_log(DL_LOG_ERROR, __VA_ARGS__)

/* Is the level enabled? Use to skip building expensive messages. */
int dl_log_enabled(enum dl_log_level level);

#endif
