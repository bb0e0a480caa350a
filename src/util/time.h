/*
 * time.h - clocks, RFC 3339 timestamps and durations.
 *
 * Times are int64 nanoseconds since the Unix epoch (UTC); durations are
 * int64 nanoseconds too, so Firestore's microsecond updateTimes and
 * Google's "3.5s" durations keep their precision.
 */
#ifndef DL_UTIL_TIME_H
#define DL_UTIL_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define DL_NS_PER_SEC INT64_C(1000000000)
#define DL_NS_PER_MS INT64_C(1000000)

/* Wall clock, ns since the epoch. */
int64_t dl_time_now_ns(void);
/* Monotonic clock, ns from an arbitrary origin: for timeouts and figures. */
int64_t dl_time_mono_ns(void);

/*
 * Format t as RFC 3339 UTC with the shortest exact fraction
 * ("2026-02-01T18:30:12Z", "...12.5Z", "...12.123456789Z"). out needs 36
 * bytes. Returns out.
 */
char *dl_time_format_rfc3339(char *out, size_t size, int64_t t);

/*
 * Parse an RFC 3339 timestamp with any fraction (up to 9 digits) and a "Z" or
 * "+hh:mm" offset. 0, or DL_EINVALID with the value quoted in err (also
 * for a time outside int64 nanoseconds: before 1678 or after 2261).
 */
int dl_time_parse_rfc3339(int64_t *out, const char *s,
                          struct dl_err *err) DL_WUR;

/*
 * Parse a duration: one or more <number><unit> with units ms, s, m, h, d
 * ("30s", "5m", "24h", "7d", "1h30m"); "0" alone is zero. Negative values
 * and overflow are rejected. 0, or DL_EINVALID with a message.
 */
int dl_duration_parse(int64_t *out, const char *s, struct dl_err *err) DL_WUR;

/*
 * Parse Google's protobuf Duration JSON form ("3.5s", "60s"). 0, or
 * DL_EINVALID.
 */
int dl_duration_parse_proto(int64_t *out, const char *s,
                            struct dl_err *err) DL_WUR;

/* Format d compactly ("1h30m", "45s", "250ms", "0s"). Returns out. */
char *dl_duration_format(char *out, size_t size, int64_t d);

#endif
