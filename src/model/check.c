#include "model/check.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static int is_lower(int c)
{
    return c >= 'a' && c <= 'z';
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_alnum(int c)
{
    return is_lower(c) || is_digit(c) || (c >= 'A' && c <= 'Z');
}

const char *dl_check_domain(const char *d)
{
    size_t label = 0, labels = 0;

    if (!*d)
        return "the domain is empty";
    if (strlen(d) > 253)
        return "the domain is longer than 253 characters";
    for (const char *p = d;; p++) {
        if (*p == '.' || *p == '\0') {
            if (label == 0)
                return "the domain has an empty label";
            if (p[-1] == '-')
                return "a domain label ends with '-'";
            labels++;
            label = 0;
            if (!*p)
                break;
            continue;
        }
        if (!is_alnum((unsigned char)*p) && *p != '-')
            return "the domain has a character other than letters, digits, "
                   "'-' and '.'";
        if (label == 0 && *p == '-')
            return "a domain label starts with '-'";
        if (++label > 63)
            return "a domain label is longer than 63 characters";
    }
    if (labels < 2)
        return "the domain has no '.'";
    return NULL;
}

const char *dl_check_email(const char *e)
{
    const char *at = strchr(e, '@');

    if (!at || at == e)
        return "not an e-mail address (want name@domain)";
    if (strchr(at + 1, '@'))
        return "not an e-mail address (more than one '@')";
    for (const char *p = e; p < at; p++)
        if (!is_alnum((unsigned char)*p) && !strchr("._%+-'", *p))
            return "not an e-mail address (bad character before '@')";
    if (dl_check_domain(at + 1))
        return "not an e-mail address (bad domain after '@')";
    return NULL;
}

const char *dl_check_member(const char *m)
{
    static const struct {
        const char *prefix;
        int what; /* 0 e-mail, 1 domain, 2 principal */
    } kinds[] = {
        {"user:", 0},   {"group:", 0},     {"serviceAccount:", 0},
        {"domain:", 1}, {"principal:", 2}, {"principalSet:", 2},
    };

    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        size_t n = strlen(kinds[i].prefix);
        const char *v = m + n;

        if (strncmp(m, kinds[i].prefix, n) != 0)
            continue;
        switch (kinds[i].what) {
        case 0:
            return dl_check_email(v) ? "the part after the prefix is not an "
                                       "e-mail address"
                                     : NULL;
        case 1:
            return dl_check_domain(v) ? "the part after 'domain:' is not a "
                                        "domain name"
                                      : NULL;
        default:
            return strncmp(v, "//", 2) == 0 && v[2]
                       ? NULL
                       : "a principal identifier starts with '//'";
        }
    }
    return "want user:, group:, serviceAccount:, domain:, principal: or "
           "principalSet: followed by the identity";
}

/* A role's last segment: letters, digits, '_' and '.'. */
static int role_name_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!is_alnum((unsigned char)*s) && *s != '_' && *s != '.')
            return 0;
    return 1;
}

const char *dl_check_role(const char *r)
{
    static const char want[] = "want roles/NAME, projects/PROJECT/roles/NAME "
                               "or organizations/NUMBER/roles/NAME";

    if (strncmp(r, "roles/", 6) == 0)
        return role_name_ok(r + 6) ? NULL : want;
    if (strncmp(r, "projects/", 9) == 0) {
        const char *p = r + 9, *slash = strchr(p, '/');

        if (!slash || slash == p || strncmp(slash, "/roles/", 7) != 0)
            return want;
        for (const char *q = p; q < slash; q++)
            if (!is_lower((unsigned char)*q) && !is_digit((unsigned char)*q) &&
                *q != '-')
                return want;
        return role_name_ok(slash + 7) ? NULL : want;
    }
    if (strncmp(r, "organizations/", 14) == 0) {
        const char *p = r + 14, *q = p;

        while (is_digit((unsigned char)*q))
            q++;
        if (q == p || strncmp(q, "/roles/", 7) != 0)
            return want;
        return role_name_ok(q + 7) ? NULL : want;
    }
    return want;
}

const char *dl_check_image(const char *img)
{
    const char *at = strstr(img, "@sha256:"), *slash, *colon;

    if (at) {
        size_t n = strspn(at + 8, "0123456789abcdef");

        return n == 64 && at[8 + n] == '\0'
                   ? NULL
                   : "a digest is '@sha256:' and 64 hex digits";
    }
    slash = strrchr(img, '/');
    colon = strrchr(slash ? slash : img, ':');
    if (!colon || !colon[1])
        return "it is not pinned: add a digest ('@sha256:...') or a version "
               "tag";
    if (strcmp(colon + 1, "latest") == 0)
        return "it is not pinned: 'latest' moves; use a digest or a version "
               "tag";
    return NULL;
}

const char *dl_check_run_service_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0)
        return "the name is empty";
    if (n > 49)
        return "a Cloud Run service name has at most 49 characters";
    if (!is_lower((unsigned char)s[0]))
        return "a Cloud Run service name starts with a lowercase letter";
    for (const char *p = s; *p; p++)
        if (!is_lower((unsigned char)*p) && !is_digit((unsigned char)*p) &&
            *p != '-')
            return "a Cloud Run service name has only lowercase letters, "
                   "digits and '-'";
    if (s[n - 1] == '-')
        return "a Cloud Run service name does not end with '-'";
    return NULL;
}

const char *dl_check_project_id(const char *s)
{
    size_t n = strlen(s);

    if (n < 6 || n > 30)
        return "a project ID has 6 to 30 characters";
    if (!is_lower((unsigned char)s[0]))
        return "a project ID starts with a lowercase letter";
    for (const char *p = s; *p; p++)
        if (!is_lower((unsigned char)*p) && !is_digit((unsigned char)*p) &&
            *p != '-')
            return "a project ID has only lowercase letters, digits and '-'";
    if (s[n - 1] == '-')
        return "a project ID does not end with '-'";
    return NULL;
}

const char *dl_check_resource_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 253)
        return "a name has 1 to 253 characters";
    for (const char *p = s; *p; p++)
        if (!is_lower((unsigned char)*p) && !is_digit((unsigned char)*p) &&
            !strchr("-._", *p))
            return "a name has only lowercase letters, digits, '-', '.' and "
                   "'_'";
    if (!is_lower((unsigned char)s[0]) && !is_digit((unsigned char)s[0]))
        return "a name starts with a lowercase letter or a digit";
    if (!is_lower((unsigned char)s[n - 1]) &&
        !is_digit((unsigned char)s[n - 1]))
        return "a name ends with a lowercase letter or a digit";
    return NULL;
}

static int label_chars_ok(const char *s)
{
    for (; *s; s++)
        if (!is_lower((unsigned char)*s) && !is_digit((unsigned char)*s) &&
            *s != '_' && *s != '-')
            return 0;
    return 1;
}

const char *dl_check_label_key(const char *k)
{
    if (!*k || strlen(k) > 63)
        return "a label key has 1 to 63 characters";
    if (!is_lower((unsigned char)k[0]))
        return "a label key starts with a lowercase letter";
    return label_chars_ok(k) ? NULL
                             : "a label key has only lowercase letters, "
                               "digits, '_' and '-'";
}

const char *dl_check_label_value(const char *v)
{
    if (strlen(v) > 63)
        return "a label value has at most 63 characters";
    return label_chars_ok(v) ? NULL
                             : "a label value has only lowercase letters, "
                               "digits, '_' and '-'";
}

const char *dl_check_env_name(const char *s)
{
    if (!*s || strlen(s) > 255)
        return "an environment variable name has 1 to 255 characters";
    if (is_digit((unsigned char)s[0]))
        return "an environment variable name does not start with a digit";
    for (; *s; s++)
        if (!is_alnum((unsigned char)*s) && *s != '_')
            return "an environment variable name has only letters, digits "
                   "and '_'";
    return NULL;
}

const char *dl_check_dataset(const char *s)
{
    if (!*s || strlen(s) > 1024)
        return "a dataset ID has 1 to 1024 characters";
    for (; *s; s++)
        if (!is_alnum((unsigned char)*s) && *s != '_')
            return "a dataset ID has only letters, digits and '_'";
    return NULL;
}

const char *dl_check_collection(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 1500)
        return "a collection ID has 1 to 1500 bytes";
    if (strchr(s, '/'))
        return "a collection ID has no '/' (name one collection, not a "
               "path)";
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return "a collection ID is not '.' or '..'";
    if (n >= 4 && strncmp(s, "__", 2) == 0 && strcmp(s + n - 2, "__") == 0)
        return "collection IDs of the form __name__ are reserved";
    return NULL;
}

const char *dl_check_database(const char *s)
{
    size_t n = strlen(s);

    if (strcmp(s, "(default)") == 0)
        return NULL;
    if (n < 4 || n > 63 || !is_lower((unsigned char)s[0]) || s[n - 1] == '-')
        return "want '(default)' or 4 to 63 lowercase letters, digits and "
               "'-', starting with a letter";
    for (; *s; s++)
        if (!is_lower((unsigned char)*s) && !is_digit((unsigned char)*s) &&
            *s != '-')
            return "want '(default)' or 4 to 63 lowercase letters, digits "
                   "and '-', starting with a letter";
    return NULL;
}

const char *dl_check_bucket_pattern(const char *p, size_t *at)
{
    int in_bracket = 0;

    for (size_t i = 0; p[i]; i++) {
        unsigned char c = (unsigned char)p[i];

        if (in_bracket) {
            /* "[]...]" and "[^]...]": a leading ']' is literal. */
            if (c == ']' && !(i > 0 && p[i - 1] == '[') &&
                !(i > 1 && p[i - 1] == '^' && p[i - 2] == '['))
                in_bracket = 0;
            continue;
        }
        if (c == '\\' && p[i + 1]) {
            i++;
            continue;
        }
        if (c == '[') {
            in_bracket = 1;
            continue;
        }
        if (is_lower(c) || is_digit(c) || strchr("-_.^$*+?{}()|,", c))
            continue;
        *at = i;
        return "bucket names have only lowercase letters, digits, '-', '_' "
               "and '.', so this character can never match";
    }
    return NULL;
}

int dl_quantity_cpu_parse(int64_t *millis, const char *s, struct dl_err *err)
{
    const char *p = s;
    int64_t v = 0;
    int frac = 0;

    if (!is_digit((unsigned char)*p))
        goto bad;
    for (; is_digit((unsigned char)*p); p++) {
        if (v > 1000000)
            goto bad;
        v = v * 10 + (*p - '0');
    }
    if (*p == 'm' && p[1] == '\0') {
        *millis = v;
    } else {
        v *= 1000;
        if (*p == '.') {
            int64_t scale = 100;

            p++;
            if (!is_digit((unsigned char)*p))
                goto bad;
            for (; is_digit((unsigned char)*p); p++, frac++) {
                if (frac >= 3)
                    goto bad; /* finer than a millicore */
                v += (*p - '0') * scale;
                scale /= 10;
            }
        }
        if (*p)
            goto bad;
        *millis = v;
    }
    if (*millis <= 0)
        return dl_err_set(err, DL_EINVALID, "CPU quantity '%s' is not positive",
                          s);
    return 0;
bad:
    return dl_err_set(err, DL_EINVALID,
                      "invalid CPU quantity '%s' (want cores such as '1', "
                      "'0.5' or millicores such as '500m')",
                      s);
}

int dl_quantity_memory_parse(int64_t *bytes, const char *s, struct dl_err *err)
{
    static const struct {
        const char *suffix;
        int64_t mult;
    } units[] = {
        {"", 1},
        {"k", 1000},
        {"M", 1000000},
        {"G", INT64_C(1000000000)},
        {"T", INT64_C(1000000000000)},
        {"Ki", 1024},
        {"Mi", INT64_C(1) << 20},
        {"Gi", INT64_C(1) << 30},
        {"Ti", INT64_C(1) << 40},
    };
    const char *p = s;
    int64_t v = 0;

    if (!is_digit((unsigned char)*p))
        goto bad;
    for (; is_digit((unsigned char)*p); p++) {
        if (v > (INT64_MAX - 9) / 10)
            goto bad;
        v = v * 10 + (*p - '0');
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(p, units[i].suffix) != 0)
            continue;
        if (v > INT64_MAX / units[i].mult)
            return dl_err_set(err, DL_EINVALID,
                              "memory quantity '%s' is too large", s);
        if (v == 0)
            return dl_err_set(err, DL_EINVALID,
                              "memory quantity '%s' is not positive", s);
        *bytes = v * units[i].mult;
        return 0;
    }
bad:
    return dl_err_set(err, DL_EINVALID,
                      "invalid memory quantity '%s' (want a number with Ki, "
                      "Mi, Gi, Ti, k, M, G or T, such as '512Mi' or '2Gi')",
                      s);
}

size_t dl_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[256];

    if (la > 255)
        la = 255;
    if (lb > 255)
        lb = 255;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb] > 255 ? 255 : row[lb];
}

const char *dl_did_you_mean(const char *s, const char *const *cands)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1, n = strlen(s);

    for (size_t i = 0; cands[i]; i++) {
        size_t d =
            strcasecmp(s, cands[i]) == 0 ? 0 : dl_edit_distance(s, cands[i]);

        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    if (best && (best_d <= (n >= 4 ? 2u : 1u) || best_d <= n / 3))
        return best;
    return NULL;
}
