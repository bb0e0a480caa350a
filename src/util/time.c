#include "util/time.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t dl_time_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * DL_NS_PER_SEC + ts.tv_nsec;
}

int64_t dl_time_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * DL_NS_PER_SEC + ts.tv_nsec;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

char *dl_time_format_rfc3339(char *out, size_t size, int64_t t)
{
    int64_t secs = t / DL_NS_PER_SEC, ns = t % DL_NS_PER_SEC, days, y;
    int m, d, rem;
    char frac[12] = "";

    if (ns < 0) {
        ns += DL_NS_PER_SEC;
        secs--;
    }
    days = secs / 86400;
    rem = (int)(secs % 86400);
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    civil_from_days(days, &y, &m, &d);
    if (ns) {
        int digits = 9;

        snprintf(frac, sizeof(frac), ".%09" PRId64, ns);
        while (digits > 1 && frac[digits] == '0')
            frac[digits--] = '\0';
    }
    snprintf(out, size, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d%sZ", y, m, d,
             rem / 3600, rem / 60 % 60, rem % 60, frac);
    return out;
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int dl_time_parse_rfc3339(int64_t *out, const char *s, struct dl_err *err)
{
    const char *p = s;
    int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
    int64_t ns = 0, secs;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d) || (*p != 'T' && *p != 't'))
        goto bad;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
        digits(&p, 2, &sec))
        goto bad;
    if (*p == '.') {
        int n = 0;

        p++;
        if (!isdigit((unsigned char)*p))
            goto bad;
        for (; isdigit((unsigned char)*p); p++, n++) {
            if (n < 9)
                ns = ns * 10 + (*p - '0');
        }
        for (; n < 9; n++)
            ns *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) ||
            oh > 23 || om > 59)
            goto bad;
    } else {
        goto bad;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
        mi > 59 || sec > 60)
        goto bad;
    secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
           sign * (oh * 3600 + om * 60);
    /* int64 nanoseconds reach from 1677 to 2262. */
    if (secs <= INT64_MIN / DL_NS_PER_SEC || secs >= INT64_MAX / DL_NS_PER_SEC)
        return dl_err_set(err, DL_EINVALID,
                          "timestamp '%s' is out of range (want years 1678 "
                          "to 2261)",
                          s);
    *out = secs * DL_NS_PER_SEC + ns;
    return 0;
bad:
    return dl_err_set(err, DL_EINVALID,
                      "invalid timestamp '%s' (want RFC 3339, such as "
                      "'2026-02-01T18:30:12Z')",
                      s);
}

static int64_t unit_ns(const char *u, size_t n)
{
    static const struct {
        const char *name;
        int64_t ns;
    } units[] = {
        {"ms", DL_NS_PER_MS},         {"s", DL_NS_PER_SEC},
        {"m", 60 * DL_NS_PER_SEC},    {"h", 3600 * DL_NS_PER_SEC},
        {"d", 86400 * DL_NS_PER_SEC},
    };

    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strlen(units[i].name) == n && strncmp(u, units[i].name, n) == 0)
            return units[i].ns;
    return 0;
}

int dl_duration_parse(int64_t *out, const char *s, struct dl_err *err)
{
    const char *p = s;
    int64_t total = 0;

    if (strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    if (!*p)
        goto bad;
    while (*p) {
        int64_t v = 0, u;
        const char *unit;

        if (!isdigit((unsigned char)*p))
            goto bad;
        for (; isdigit((unsigned char)*p); p++) {
            if (v > (INT64_MAX - 9) / 10)
                goto overflow;
            v = v * 10 + (*p - '0');
        }
        unit = p;
        while (isalpha((unsigned char)*p))
            p++;
        u = unit_ns(unit, (size_t)(p - unit));
        if (!u)
            goto bad;
        if (v > (INT64_MAX - total) / u)
            goto overflow;
        total += v * u;
    }
    *out = total;
    return 0;
overflow:
    return dl_err_set(err, DL_EINVALID, "duration '%s' is too large", s);
bad:
    return dl_err_set(err, DL_EINVALID,
                      "invalid duration '%s' (want a number and a unit: "
                      "ms, s, m, h or d, such as '30s', '5m', '24h', '7d')",
                      s);
}

int dl_duration_parse_proto(int64_t *out, const char *s, struct dl_err *err)
{
    const char *p = s;
    int64_t secs = 0, ns = 0;
    int n = 0;

    if (!isdigit((unsigned char)*p))
        goto bad;
    for (; isdigit((unsigned char)*p); p++) {
        if (secs > INT64_MAX / DL_NS_PER_SEC / 10)
            goto bad;
        secs = secs * 10 + (*p - '0');
    }
    if (*p == '.') {
        p++;
        for (; isdigit((unsigned char)*p); p++, n++)
            if (n < 9)
                ns = ns * 10 + (*p - '0');
        for (; n < 9; n++)
            ns *= 10;
    }
    if (strcmp(p, "s") != 0)
        goto bad;
    *out = secs * DL_NS_PER_SEC + ns;
    return 0;
bad:
    return dl_err_set(err, DL_EINVALID, "invalid duration '%s'", s);
}

char *dl_duration_format(char *out, size_t size, int64_t d)
{
    static const struct {
        const char *name;
        int64_t ns;
    } units[] = {
        {"d", 86400 * DL_NS_PER_SEC}, {"h", 3600 * DL_NS_PER_SEC},
        {"m", 60 * DL_NS_PER_SEC},    {"s", DL_NS_PER_SEC},
        {"ms", DL_NS_PER_MS},
    };
    size_t len = 0;

    out[0] = '\0';
    if (d <= 0) {
        snprintf(out, size, "0s");
        return out;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && len < size;
         i++) {
        if (d >= units[i].ns) {
            int w = snprintf(out + len, size - len, "%" PRId64 "%s",
                             d / units[i].ns, units[i].name);
            if (w < 0)
                break;
            len += (size_t)w;
            d %= units[i].ns;
        }
    }
    if (!out[0])
        snprintf(out, size, "%" PRId64 "ns", d);
    return out;
}
