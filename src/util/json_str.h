/*
 * json_str.h - append a C string to a buffer as a JSON string literal.
 *
 * For writers that stream JSON without building a jansson tree (logs, large
 * plans). Invalid UTF-8 bytes become U+FFFD so the output is always valid.
 */
#ifndef DL_UTIL_JSON_STR_H
#define DL_UTIL_JSON_STR_H

#include "util/buf.h"

/* Append "s" with JSON escapes. 0, or DL_ELIMIT past b's cap. */
int dl_json_str_append(struct dl_buf *b, const char *s);

/* Is s (len bytes) valid UTF-8 (no overlongs, no surrogates)? 1 or 0. */
int dl_utf8_valid(const char *s, size_t len);

#endif
