#include "model/spec.h"

#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "model/check.h"
#include "util/alloc.h"
#include "util/time.h"

#define PATH_MAX_LEN 512
/* Most keys in one table (check_keys' candidate list). */
#define MAX_FIELDS 32

struct pctx {
    struct dl_diags *diags;
    const char *file;
    struct dl_resource *r;
    size_t errors;
    size_t fields_cap;
};

/* A mapping being read: the node, the key that named it (for "missing"
 * messages) and its dotted path ("spec.build"). */
struct obj {
    const struct dl_ynode *map;
    const struct dl_ynode *at;
    char path[PATH_MAX_LEN];
};

static void err_at(struct pctx *c, const struct dl_ynode *n, const char *fmt,
                   ...) DL_PRINTF(3, 4);

static void err_at(struct pctx *c, const struct dl_ynode *n, const char *fmt,
                   ...)
{
    va_list ap;

    va_start(ap, fmt);
    dl_diags_vadd(c->diags, c->file, n ? n->line : 1, n ? n->col : 1, fmt, ap);
    va_end(ap);
    c->errors++;
}

static struct dl_pos pos_of(struct pctx *c, const struct dl_ynode *n)
{
    struct dl_pos p = {c->r->file, n->line, n->col};

    return p;
}

void dl_resource_add_field(struct dl_resource *r, const char *path,
                           struct dl_pos pos)
{
    /* Capacity doubles at powers of two. */
    if ((r->n_fields & (r->n_fields - 1)) == 0)
        r->fields = dl_reallocarray(
            r->fields, r->n_fields ? r->n_fields * 2 : 1, sizeof(*r->fields));
    r->fields[r->n_fields].path = dl_strdup(path);
    r->fields[r->n_fields].pos = pos;
    r->n_fields++;
}

/* out = prefix "." key, cut short at PATH_MAX_LEN - 1 bytes. */
static void join(char *out, const char *prefix, const char *key)
{
    size_t n = 0, k;

    for (k = 0; prefix[k] && n < PATH_MAX_LEN - 1; k++)
        out[n++] = prefix[k];
    if (*prefix && n < PATH_MAX_LEN - 1)
        out[n++] = '.';
    for (k = 0; key[k] && n < PATH_MAX_LEN - 1; k++)
        out[n++] = key[k];
    out[n] = '\0';
}

/* Is n something that states a value (not absent, not null)? */
static int given(const struct dl_ynode *n)
{
    return n && !dl_ynode_is_null(n);
}

static const char *got(const struct dl_ynode *n, char *buf, size_t size)
{
    if (n->type == DL_YNODE_SCALAR && !dl_ynode_is_null(n)) {
        snprintf(buf, size, "'%.60s%s'%s", n->str, n->len > 60 ? "..." : "",
                 n->plain ? "" : " (quoted, so a string)");
        return buf;
    }
    return dl_ynode_type_name(n);
}

static void type_err(struct pctx *c, const char *path, const struct dl_ynode *n,
                     const char *want)
{
    char buf[120];

    err_at(c, n, "%s: want %s, got %s", path, want, got(n, buf, sizeof(buf)));
}

/*
 * Check that o->map has only the keys of fields (unknown ones get a
 * did-you-mean, the candidates in table order) and record each key's
 * position under o->path.
 */
static void check_keys(struct pctx *c, const struct obj *o,
                       const struct dl_field *fields)
{
    const char *allowed[MAX_FIELDS + 1];
    size_t n;

    for (n = 0; fields[n].name; n++) {
        assert(n < MAX_FIELDS);
        allowed[n] = fields[n].name;
    }
    allowed[n] = NULL;
    for (size_t i = 0; i < o->map->n_pairs; i++) {
        const struct dl_ynode *k = o->map->pairs[i].key;
        char path[PATH_MAX_LEN];
        size_t j;

        join(path, o->path, k->str);
        for (j = 0; allowed[j]; j++)
            if (strcmp(allowed[j], k->str) == 0)
                break;
        if (allowed[j]) {
            dl_resource_add_field(c->r, path, pos_of(c, k));
            continue;
        }
        {
            const char *hint = dl_did_you_mean(k->str, allowed);

            if (hint)
                err_at(c, k, "unknown field '%s' (did you mean '%s'?)", path,
                       hint);
            else
                err_at(c, k, "unknown field '%s'", path);
        }
    }
}

static const struct dl_ynode *key_of(const struct dl_ynode *map,
                                     const char *key)
{
    if (!map || map->type != DL_YNODE_MAP)
        return NULL;
    for (size_t i = 0; i < map->n_pairs; i++)
        if (strcmp(map->pairs[i].key->str, key) == 0)
            return map->pairs[i].key;
    return NULL;
}

/*
 * The value of key in o, NULL when absent or null; reports a missing
 * required field at o's key.
 */
static const struct dl_ynode *field(struct pctx *c, const struct obj *o,
                                    const char *key, int required)
{
    const struct dl_ynode *v = dl_ynode_get(o->map, key);

    if (given(v))
        return v;
    if (required) {
        char path[PATH_MAX_LEN];

        join(path, o->path, key);
        err_at(c, v ? key_of(o->map, key) : o->at,
               "missing required field '%s'", path);
    }
    return NULL;
}

/*
 * Open mapping key of parent as *o. 1 when it is there and a mapping, 0
 * when absent (reported if required), -1 when of the wrong type (reported).
 */
static int open_obj(struct pctx *c, struct obj *o, const struct obj *parent,
                    const char *key, int required,
                    const struct dl_field *fields)
{
    const struct dl_ynode *v = field(c, parent, key, required);

    memset(o, 0, sizeof(*o));
    join(o->path, parent->path, key);
    if (!v)
        return 0;
    if (v->type != DL_YNODE_MAP) {
        type_err(c, o->path, v, "a mapping");
        return -1;
    }
    o->map = v;
    o->at = key_of(parent->map, key);
    check_keys(c, o, fields);
    return 1;
}

/* A string scalar: any non-null scalar. */
static int scalar_str(struct pctx *c, const char *path,
                      const struct dl_ynode *v, char **out)
{
    if (v->type != DL_YNODE_SCALAR) {
        type_err(c, path, v, "a string");
        return -1;
    }
    if (v->len != strlen(v->str)) {
        err_at(c, v, "%s: the value contains a NUL character", path);
        return -1;
    }
    if (v->len == 0) {
        err_at(c, v, "%s: must not be empty", path);
        return -1;
    }
    *out = dl_strdup(v->str);
    return 0;
}

/* String field; 1 when set, 0 absent, -1 bad (reported). */
static int get_str(struct pctx *c, const struct obj *o, const char *key,
                   int required, char **out, const struct dl_ynode **node)
{
    const struct dl_ynode *v = field(c, o, key, required);
    char path[PATH_MAX_LEN];

    if (node)
        *node = v;
    if (!v)
        return 0;
    join(path, o->path, key);
    return scalar_str(c, path, v, out) < 0 ? -1 : 1;
}

static int parse_int(const struct dl_ynode *v, int64_t *out)
{
    const char *p = v->str;
    int neg = 0;
    int64_t n = 0;

    if (v->type != DL_YNODE_SCALAR || !v->plain)
        return -1;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (!*p)
        return -1;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || n > (INT64_MAX - 9) / 10)
            return -1;
        n = n * 10 + (*p - '0');
    }
    *out = neg ? -n : n;
    return 0;
}

/* Integer field in [min, max]; DL_UNSET stays when absent or bad. */
static int get_int(struct pctx *c, const struct obj *o, const char *key,
                   int required, int64_t min, int64_t max, int64_t *out)
{
    const struct dl_ynode *v = field(c, o, key, required);
    char path[PATH_MAX_LEN];
    int64_t n;

    if (!v)
        return 0;
    join(path, o->path, key);
    if (parse_int(v, &n) < 0) {
        type_err(c, path, v, "an integer");
        return -1;
    }
    if (n < 0 && min >= 0) {
        err_at(c, v, "%s: must not be negative, got %lld", path, (long long)n);
        return -1;
    }
    if (n < min || n > max) {
        err_at(c, v, "%s: %lld is out of range (want %lld to %lld)", path,
               (long long)n, (long long)min, (long long)max);
        return -1;
    }
    *out = n;
    return 1;
}

static int get_bool(struct pctx *c, const struct obj *o, const char *key,
                    int *out)
{
    const struct dl_ynode *v = field(c, o, key, 0);
    char path[PATH_MAX_LEN];

    if (!v)
        return 0;
    join(path, o->path, key);
    if (v->type == DL_YNODE_SCALAR && v->plain && strcmp(v->str, "true") == 0)
        *out = 1;
    else if (v->type == DL_YNODE_SCALAR && v->plain &&
             strcmp(v->str, "false") == 0)
        *out = 0;
    else {
        type_err(c, path, v, "true or false");
        return -1;
    }
    return 1;
}

static int get_duration(struct pctx *c, const struct obj *o, const char *key,
                        int required, int64_t *out)
{
    const struct dl_ynode *v = field(c, o, key, required);
    char path[PATH_MAX_LEN];
    struct dl_err e;

    if (!v)
        return 0;
    join(path, o->path, key);
    if (v->type != DL_YNODE_SCALAR) {
        type_err(c, path, v, "a duration such as '30s' or '7d'");
        return -1;
    }
    if (dl_duration_parse(out, v->str, &e) < 0) {
        *out = DL_UNSET;
        err_at(c, v, "%s: %s", path, e.msg);
        return -1;
    }
    return 1;
}

/* A list of strings; each item checked by check (may be NULL). */
static int get_str_list(struct pctx *c, const struct obj *o, const char *key,
                        int required, char ***out, size_t *n,
                        struct dl_pos **pos, const char *(*check)(const char *),
                        const char *what)
{
    const struct dl_ynode *v = field(c, o, key, required);
    char path[PATH_MAX_LEN];
    int rc = 1;

    if (!v)
        return 0;
    join(path, o->path, key);
    if (v->type != DL_YNODE_SEQ) {
        type_err(c, path, v, "a list");
        return -1;
    }
    *out = dl_calloc(v->n_items + 1, sizeof(**out));
    if (pos)
        *pos = dl_calloc(v->n_items + 1, sizeof(**pos));
    for (size_t i = 0; i < v->n_items; i++) {
        const struct dl_ynode *it = v->items[i];
        char ipath[PATH_MAX_LEN + 24];
        char *s = NULL;
        const char *why;

        snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
        if (scalar_str(c, ipath, it, &s) < 0) {
            rc = -1;
            continue;
        }
        if (check && (why = check(s)) != NULL) {
            err_at(c, it, "%s: '%s' is not a valid %s: %s", ipath, s, what,
                   why);
            rc = -1;
        }
        for (size_t j = 0; j < *n; j++) {
            if (strcmp((*out)[j], s) == 0) {
                err_at(c, it, "%s: '%s' is listed twice", ipath, s);
                rc = -1;
                break;
            }
        }
        if (pos)
            (*pos)[*n] = pos_of(c, it);
        (*out)[(*n)++] = s;
    }
    return rc;
}

/* A value checked by check; the message names what it should be. */
static int get_checked(struct pctx *c, const struct obj *o, const char *key,
                       int required, char **out,
                       const char *(*check)(const char *), const char *what)
{
    const struct dl_ynode *v;
    const char *why;
    int rc = get_str(c, o, key, required, out, &v);
    char path[PATH_MAX_LEN];

    if (rc <= 0 || !check || (why = check(*out)) == NULL)
        return rc;
    join(path, o->path, key);
    err_at(c, v, "%s: '%s' is not a valid %s: %s", path, *out, what, why);
    return -1;
}

static int get_pattern(struct pctx *c, const struct obj *o, const char *key,
                       int required, struct dl_pattern *p)
{
    const struct dl_ynode *v;
    char path[PATH_MAX_LEN], *anchored;
    int rc = get_str(c, o, key, required, &p->source, &v), r;

    if (rc <= 0)
        return rc;
    join(path, o->path, key);
    /* Compile as written first, so that errors speak of the user's text
     * and "a)|(b" cannot turn valid once wrapped. */
    r = regcomp(&p->re, p->source, REG_EXTENDED | REG_NOSUB);
    if (r != 0) {
        char msg[128];

        regerror(r, &p->re, msg, sizeof(msg));
        regfree(&p->re);
        err_at(c, v, "%s: invalid regular expression '%s': %s", path, p->source,
               msg);
        return -1;
    }
    regfree(&p->re);
    anchored = dl_asprintf("^(%s)$", p->source);
    r = regcomp(&p->re, anchored, REG_EXTENDED | REG_NOSUB);
    free(anchored);
    if (r != 0) {
        regfree(&p->re);
        err_at(c, v, "%s: invalid regular expression '%s'", path, p->source);
        return -1;
    }
    p->compiled = 1;
    return 1;
}

int dl_pattern_match(const struct dl_pattern *p, const char *s)
{
    return p->compiled && regexec(&p->re, s, 0, NULL, 0) == 0;
}

static const char *check_region(const char *r)
{
    const char *p = r;
    int dash = 0;

    if (*p < 'a' || *p > 'z')
        return "want a region such as 'us-west2'";
    for (; *p; p++) {
        if (*p == '-')
            dash = 1;
        else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
            return "want a region such as 'us-west2'";
    }
    if (!dash || p[-1] < '0' || p[-1] > '9')
        return "want a region such as 'us-west2'";
    return NULL;
}

static const char *check_ssh_key(const char *k)
{
    static const char *const types[] = {
        "ssh-ed25519 ",
        "ssh-rsa ",
        "ecdsa-sha2-nistp256 ",
        "ecdsa-sha2-nistp384 ",
        "ecdsa-sha2-nistp521 ",
        "sk-ssh-ed25519@openssh.com ",
        "sk-ecdsa-sha2-nistp256@openssh.com ",
        NULL,
    };
    const char *p = NULL;
    size_t n = 0;

    for (size_t i = 0; types[i] && !p; i++)
        if (strncmp(k, types[i], strlen(types[i])) == 0)
            p = k + strlen(types[i]);
    if (!p)
        return "want an ssh public key such as 'ssh-ed25519 AAAA... name'";
    for (; *p && *p != ' '; p++, n++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                    "0123456789+/=",
                    *p))
            return "the key is not base64";
    if (n < 16)
        return "the key is too short";
    return NULL;
}

static const char *check_url(const char *u)
{
    if (strncmp(u, "https://", 8) == 0 || strncmp(u, "ssh://", 6) == 0 ||
        strncmp(u, "http://", 7) == 0 || strncmp(u, "git@", 4) == 0)
        return strchr(u, ' ') ? "a URL has no spaces" : NULL;
    return "want an https://, ssh:// or git@host: URL";
}

static const char *check_image_repo(const char *r)
{
    if (strstr(r, "://"))
        return "want a repository without a scheme, such as "
               "'us-west2-docker.pkg.dev/PROJECT/REPO'";
    if (!strchr(r, '/') || r[strlen(r) - 1] == '/')
        return "want HOST/PATH, such as 'us-west2-docker.pkg.dev/PROJECT/REPO'";
    for (; *r; r++)
        if (*r >= 'A' && *r <= 'Z')
            return "a repository name is lowercase";
    return NULL;
}

static const char *check_field_path(const char *p)
{
    for (; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || strchr("._-[]/", *p)))
            return "a field path has only letters, digits and '._-[]/'";
    return NULL;
}

static const char *check_revision(const char *r)
{
    for (; *r; r++)
        if ((unsigned char)*r <= ' ' || strchr("~^:?*[\\", *r))
            return "a git revision has no spaces or any of '~^:?*[\\'";
    return NULL;
}

/* ---- field tables ----------------------------------------------------- */

/* A field the generic walker (parse_fields) stores in the spec struct. */
#define AT(st, member) .stored = 1, .off = offsetof(st, member)
#define LIST_AT(st, member, count)                                             \
    .stored = 1, .off = offsetof(st, member), .off_n = offsetof(st, count)

static const char *const mode_values[] = {"enforce", "report", NULL};
static const char *const when_empty_values[] = {"report", "delete", NULL};

#define MODE_FIELD(what_default)                                               \
    {                                                                          \
        .name = "mode", .type = DL_FIELD_ENUM, .values = mode_values,          \
        .description = "enforce: driftless corrects drift; report: it only "   \
                       "shows it (default: " what_default ")",                 \
    }

#define MAX_DELETES_FIELD(st)                                                  \
    {                                                                          \
        .name = "maxDeletesPerRun", .type = DL_FIELD_INT, .min = 0,            \
        .max = INT64_MAX,                                                      \
        .description = "Most deletions per pass (default: --max-deletes)",     \
        AT(st, max_deletes_per_run),                                           \
    }

static const struct dl_field project_build_fields[] = {
    {.name = "sourceUrl",
     .type = DL_FIELD_STRING,
     .check = check_url,
     .what = "repository URL",
     .description = "The repository Cloud Build clones (https://, ssh:// or "
                    "git@host:)",
     AT(struct dl_project_spec, build_source_url)},
    {.name = "imageRepository",
     .type = DL_FIELD_STRING,
     .check = check_image_repo,
     .what = "image repository",
     .description = "Where built images are pushed, such as "
                    "'us-west2-docker.pkg.dev/PROJECT/REPO'; required when a "
                    "service uses build",
     AT(struct dl_project_spec, build_image_repository)},
    {0},
};

static const struct dl_field project_source_fields[] = {
    {.name = "requireSignedCommits",
     .type = DL_FIELD_BOOL,
     .description = "Only read commits signed by one of allowedSigners "
                    "(default: false)",
     AT(struct dl_project_spec, require_signed_commits)},
    {.name = "allowedSigners",
     .type = DL_FIELD_LIST,
     .check = check_ssh_key,
     .what = "signer key",
     .description = "SSH public keys ('ssh-ed25519 AAAA... name') whose "
                    "signatures are trusted",
     LIST_AT(struct dl_project_spec, allowed_signers, n_allowed_signers)},
    {0},
};

static const struct dl_field project_fields[] = {
    {.name = "region",
     .type = DL_FIELD_STRING,
     .check = check_region,
     .what = "region",
     .description = "Default region of the project's resources, such as "
                    "'us-west2'",
     AT(struct dl_project_spec, region)},
    MODE_FIELD("report"),
    {.name = "protectedMembers",
     .type = DL_FIELD_LIST,
     .check = dl_check_member,
     .what = "IAM member",
     .description = "IAM members that no authoritative IAM kind ever removes "
                    "(user:, group:, serviceAccount:, domain:, principal:...)",
     LIST_AT(struct dl_project_spec, protected_members, n_protected_members)},
    {.name = "build",
     .type = DL_FIELD_OBJECT,
     .fields = project_build_fields,
     .description = "How services with a build section are built",
     .stored = 1},
    {.name = "prune",
     .type = DL_FIELD_BOOL,
     .description = "Delete Cloud Run services labelled "
                    "managed-by=driftless that are no longer declared "
                    "(default: false: report them)",
     AT(struct dl_project_spec, prune)},
    {.name = "suspend",
     .type = DL_FIELD_BOOL,
     .description = "Change nothing in this project: the kill switch "
                    "(default: false)",
     AT(struct dl_project_spec, suspend)},
    {.name = "source",
     .type = DL_FIELD_OBJECT,
     .fields = project_source_fields,
     .description = "Which commits of the repository may be read",
     .stored = 1},
    {0},
};

static const struct dl_field run_build_fields[] = {
    {.name = "dockerfile",
     .type = DL_FIELD_STRING,
     .description = "The Dockerfile, relative to the repository root; must "
                    "exist (default: CONTEXT/Dockerfile)"},
    {.name = "context",
     .type = DL_FIELD_STRING,
     .description = "The build context directory, relative to the "
                    "repository root (default: '.')"},
    {.name = "commit",
     .type = DL_FIELD_SCALAR,
     .check = check_revision,
     .what = "git revision",
     .description = "The git revision to build and serve (default: the "
                    "commit read)"},
    {0},
};

static const struct dl_field env_secret_fields[] = {
    {.name = "secret",
     .type = DL_FIELD_STRING,
     .required = 1,
     .description = "Secret Manager secret name (or full resource name)"},
    {.name = "version",
     .type = DL_FIELD_SCALAR,
     .description = "Secret version (default: latest)"},
    {0},
};

static const struct dl_field run_resources_fields[] = {
    {.name = "cpu",
     .type = DL_FIELD_SCALAR,
     .description = "CPU: cores ('1', '0.5') or millicores ('500m')"},
    {.name = "memory",
     .type = DL_FIELD_SCALAR,
     .description = "Memory with a unit: '512Mi', '2Gi' (also k, M, G, T, "
                    "Ki, Ti)"},
    {0},
};

static const struct dl_field run_scaling_fields[] = {
    {.name = "minInstances",
     .type = DL_FIELD_INT,
     .min = 0,
     .max = 1000,
     .description = "Minimum number of instances",
     AT(struct dl_cloud_run_spec, min_instances)},
    {.name = "maxInstances",
     .type = DL_FIELD_INT,
     .min = 0,
     .max = 1000,
     .description = "Maximum number of instances (not below minInstances)",
     AT(struct dl_cloud_run_spec, max_instances)},
    {0},
};

static const struct dl_field traffic_fields[] = {
    {.name = "revision",
     .type = DL_FIELD_STRING,
     .description = "A revision name (or set latest: true)"},
    {.name = "latest",
     .type = DL_FIELD_BOOL,
     .description = "true: the latest ready revision (instead of revision)"},
    {.name = "percent",
     .type = DL_FIELD_INT,
     .required = 1,
     .min = 0,
     .max = 100,
     .description = "Share of the traffic; the list's percents sum to 100"},
    {.name = "tag",
     .type = DL_FIELD_STRING,
     .check = dl_check_label_key,
     .what = "tag",
     .description = "A tag giving this revision its own URL"},
    {0},
};

static const struct dl_field run_fields[] = {
    {.name = "region",
     .type = DL_FIELD_STRING,
     .check = check_region,
     .what = "region",
     .description = "Region of the service (default: the Project's)",
     AT(struct dl_cloud_run_spec, region)},
    {.name = "image",
     .type = DL_FIELD_STRING,
     .check = dl_check_image,
     .what = "image",
     .description = "A pinned image: '...@sha256:<64 hex>' or a tag other "
                    "than latest; set image or build",
     AT(struct dl_cloud_run_spec, image)},
    {.name = "build",
     .type = DL_FIELD_OBJECT,
     .fields = run_build_fields,
     .description = "Build the image with Cloud Build from a Dockerfile of "
                    "the repository; set image or build"},
    {.name = "requireCommits",
     .type = DL_FIELD_LIST,
     .check = check_revision,
     .what = "git revision",
     .scalar_items = 1,
     .description = "Git revisions the serving revision's commit must "
                    "descend from"},
    {.name = "serviceAccount",
     .type = DL_FIELD_STRING,
     .check = dl_check_email,
     .what = "service account e-mail",
     .description = "E-mail of the service account the service runs as",
     AT(struct dl_cloud_run_spec, service_account)},
    {.name = "env",
     .type = DL_FIELD_ENV,
     .fields = env_secret_fields,
     .description = "Environment variables: NAME: value, or NAME: {secret, "
                    "version} from Secret Manager"},
    {.name = "resources",
     .type = DL_FIELD_OBJECT,
     .fields = run_resources_fields,
     .description = "CPU and memory of each instance"},
    {.name = "scaling",
     .type = DL_FIELD_OBJECT,
     .fields = run_scaling_fields,
     .description = "Instance counts",
     .stored = 1},
    {.name = "concurrency",
     .type = DL_FIELD_INT,
     .min = 1,
     .max = 1000,
     .description = "Most concurrent requests per instance",
     AT(struct dl_cloud_run_spec, concurrency)},
    {.name = "timeout",
     .type = DL_FIELD_DURATION,
     .description = "Request timeout, 1s to 60m, such as '30s' or '5m'",
     AT(struct dl_cloud_run_spec, timeout_ns)},
    {.name = "labels",
     .type = DL_FIELD_LABELS,
     .description = "Labels: keys are a lowercase letter then up to 62 of "
                    "[a-z0-9_-]; values up to 63 of [a-z0-9_-]"},
    {.name = "traffic",
     .type = DL_FIELD_TRAFFIC,
     .fields = traffic_fields,
     .description = "'latest' (everything to the latest revision) or a list "
                    "of {revision or latest: true, percent, tag} summing to "
                    "100"},
    {.name = "ignoreFields",
     .type = DL_FIELD_LIST,
     .check = check_field_path,
     .what = "field path",
     .description = "Field paths never reported as drift, such as "
                    "'spec.labels.run-id'",
     LIST_AT(struct dl_cloud_run_spec, ignore_fields, n_ignore_fields)},
    MODE_FIELD("the Project's"),
    {0},
};

static const struct dl_field condition_fields[] = {
    {.name = "title",
     .type = DL_FIELD_STRING,
     .required = 1,
     .description = "Title of the IAM condition",
     AT(struct dl_iam_condition, title)},
    {.name = "description",
     .type = DL_FIELD_STRING,
     .description = "Description of the IAM condition",
     AT(struct dl_iam_condition, description)},
    {.name = "expression",
     .type = DL_FIELD_STRING,
     .required = 1,
     .description = "The condition in CEL, such as 'request.time < "
                    "timestamp(\"2027-01-01T00:00:00Z\")'",
     AT(struct dl_iam_condition, expression)},
    {0},
};

#define ROLE_FIELD(st)                                                         \
    {                                                                          \
        .name = "role", .type = DL_FIELD_STRING, .required = 1,                \
        .check = dl_check_role, .what = "role",                                \
        .description = "roles/NAME, projects/PROJECT/roles/NAME or "           \
                       "organizations/NUMBER/roles/NAME",                      \
        AT(st, role),                                                          \
    }

#define CONDITION_FIELD                                                        \
    {                                                                          \
        .name = "condition", .type = DL_FIELD_OBJECT,                          \
        .fields = condition_fields,                                            \
        .description = "An IAM condition: title and expression (CEL)",         \
    }

static const struct dl_field iam_member_fields[] = {
    ROLE_FIELD(struct dl_iam_member_spec),
    {.name = "member",
     .type = DL_FIELD_STRING,
     .required = 1,
     .check = dl_check_member,
     .what = "IAM member",
     .description = "user:EMAIL, group:EMAIL, serviceAccount:EMAIL, "
                    "domain:DOMAIN, principal://... or principalSet://...",
     AT(struct dl_iam_member_spec, member)},
    CONDITION_FIELD,
    {.name = "resource",
     .type = DL_FIELD_STRING,
     .description = "The resource whose policy holds the binding (default: "
                    "the project)",
     AT(struct dl_iam_member_spec, resource)},
    MODE_FIELD("the Project's"),
    {0},
};

static const struct dl_field iam_binding_fields[] = {
    ROLE_FIELD(struct dl_iam_binding_spec),
    {.name = "members",
     .type = DL_FIELD_LIST,
     .required = 1,
     .check = dl_check_member,
     .what = "IAM member",
     .description = "Every member of the role (may be empty); others are "
                    "removed, except the Project's protectedMembers",
     LIST_AT(struct dl_iam_binding_spec, members, n_members)},
    CONDITION_FIELD,
    MODE_FIELD("the Project's"),
    {0},
};

static const struct dl_field stale_fields[] = {
    {.name = "field",
     .type = DL_FIELD_STRING,
     .required = 1,
     .description = "A timestamp field of the documents",
     AT(struct dl_firestore_spec, stale_field)},
    {.name = "age",
     .type = DL_FIELD_DURATION,
     .required = 1,
     .description = "Documents whose field is older than this violate the "
                    "policy, such as '7d'",
     AT(struct dl_firestore_spec, stale_age_ns)},
    {0},
};

static const struct dl_field firestore_fields[] = {
    {.name = "database",
     .type = DL_FIELD_STRING,
     .check = dl_check_database,
     .what = "database ID",
     .description = "The database ID (default: '(default)')",
     AT(struct dl_firestore_spec, database)},
    {.name = "collection",
     .type = DL_FIELD_STRING,
     .required = 1,
     .check = dl_check_collection,
     .what = "collection ID",
     .description = "A collection ID (no '/')",
     AT(struct dl_firestore_spec, collection)},
    {.name = "maxDocuments",
     .type = DL_FIELD_INT,
     .min = 0,
     .max = INT64_MAX,
     .description = "More documents than this is drift",
     AT(struct dl_firestore_spec, max_documents)},
    {.name = "idPattern",
     .type = DL_FIELD_PATTERN,
     .description = "POSIX extended regular expression: document IDs that "
                    "do not match it whole violate the policy",
     AT(struct dl_firestore_spec, id_pattern)},
    {.name = "staleAfter",
     .type = DL_FIELD_OBJECT,
     .fields = stale_fields,
     .description = "Documents whose timestamp field is older than age "
                    "violate the policy",
     .stored = 1},
    MODE_FIELD("the Project's"),
    MAX_DELETES_FIELD(struct dl_firestore_spec),
    {0},
};

static const struct dl_field bigquery_fields[] = {
    {.name = "dataset",
     .type = DL_FIELD_STRING,
     .required = 1,
     .check = dl_check_dataset,
     .what = "dataset ID",
     .description = "The dataset ID (letters, digits, '_')",
     AT(struct dl_bigquery_spec, dataset)},
    {.name = "tablePattern",
     .type = DL_FIELD_PATTERN,
     .required = 1,
     .description = "POSIX extended regular expression: tables whose whole "
                    "name matches violate the policy",
     AT(struct dl_bigquery_spec, table_pattern)},
    {.name = "olderThan",
     .type = DL_FIELD_DURATION,
     .description = "Only tables not modified for this long, such as '7d'",
     AT(struct dl_bigquery_spec, older_than_ns)},
    MODE_FIELD("the Project's"),
    MAX_DELETES_FIELD(struct dl_bigquery_spec),
    {0},
};

static const struct dl_field bucket_fields[] = {
    {.name = "bucketPattern",
     .type = DL_FIELD_PATTERN,
     .required = 1,
     .description = "POSIX extended regular expression: buckets whose whole "
                    "name matches are checked",
     AT(struct dl_bucket_spec, bucket_pattern)},
    {.name = "whenEmpty",
     .type = DL_FIELD_ENUM,
     .values = when_empty_values,
     .description = "What to do with an empty bucket (default: report)"},
    MODE_FIELD("the Project's"),
    MAX_DELETES_FIELD(struct dl_bucket_spec),
    {0},
};

static const struct dl_field metadata_fields[] = {
    {.name = "name",
     .type = DL_FIELD_STRING,
     .required = 1,
     .description = "The resource's name"},
    {0},
};

static const char *const api_versions[] = {DL_API_VERSION, NULL};
static const char *const kind_names[DL_KIND_COUNT + 1] = {
    [DL_KIND_PROJECT] = "Project",
    [DL_KIND_CLOUD_RUN_SERVICE] = "CloudRunService",
    [DL_KIND_IAM_POLICY_MEMBER] = "IAMPolicyMember",
    [DL_KIND_IAM_POLICY_BINDING] = "IAMPolicyBinding",
    [DL_KIND_FIRESTORE_COLLECTION_POLICY] = "FirestoreCollectionPolicy",
    [DL_KIND_BIGQUERY_TABLE_POLICY] = "BigQueryTablePolicy",
    [DL_KIND_STORAGE_BUCKET_POLICY] = "StorageBucketPolicy",
    [DL_KIND_COUNT] = NULL,
};

static const struct dl_field doc_fields[] = {
    {.name = "apiVersion",
     .type = DL_FIELD_ENUM,
     .required = 1,
     .values = api_versions,
     .description = "The desired-state format: " DL_API_VERSION},
    {.name = "kind",
     .type = DL_FIELD_ENUM,
     .required = 1,
     .values = kind_names,
     .description = "What the document declares"},
    {.name = "metadata",
     .type = DL_FIELD_OBJECT,
     .required = 1,
     .fields = metadata_fields,
     .description = "The resource's name"},
    {.name = "spec",
     .type = DL_FIELD_OBJECT,
     .required = 1,
     .description = "The declared state"},
    {0},
};

struct kind_def {
    const struct dl_field *spec;
    const char *description;
    const char *name_description;
};

static const struct kind_def kinds[DL_KIND_COUNT] = {
    [DL_KIND_PROJECT] = {.spec = project_fields,
                         .description =
                             "A Google Cloud project and the defaults of "
                             "everything declared in its directory tree",
                         .name_description =
                             "The project ID: 6 to 30 lowercase letters, "
                             "digits and hyphens, starting with a letter"},
    [DL_KIND_CLOUD_RUN_SERVICE] =
        {.spec = run_fields,
         .description = "One Cloud Run (v2) service",
         .name_description = "The service name: a lowercase letter, then "
                             "lowercase letters, digits and hyphens, at most "
                             "49 characters"},
    [DL_KIND_IAM_POLICY_MEMBER] =
        {.spec = iam_member_fields,
         .description = "One member in one role of the project (additive)",
         .name_description = "1 to 253 of [a-z0-9._-]"},
    [DL_KIND_IAM_POLICY_BINDING] =
        {.spec = iam_binding_fields,
         .description = "All members of one role (authoritative for that "
                        "role)",
         .name_description = "1 to 253 of [a-z0-9._-]"},
    [DL_KIND_FIRESTORE_COLLECTION_POLICY] =
        {.spec = firestore_fields,
         .description = "Hygiene of one Firestore collection; set at least "
                        "one of maxDocuments, idPattern and staleAfter",
         .name_description = "1 to 253 of [a-z0-9._-]"},
    [DL_KIND_BIGQUERY_TABLE_POLICY] =
        {.spec = bigquery_fields,
         .description = "Hygiene of the tables of one BigQuery dataset",
         .name_description = "1 to 253 of [a-z0-9._-]"},
    [DL_KIND_STORAGE_BUCKET_POLICY] =
        {.spec = bucket_fields,
         .description = "Hygiene of the project's empty Cloud Storage "
                        "buckets",
         .name_description = "1 to 253 of [a-z0-9._-]"},
};

const struct dl_field *dl_spec_fields(enum dl_kind kind)
{
    assert((int)kind >= 0 && kind < DL_KIND_COUNT);
    return kinds[kind].spec;
}

const struct dl_field *dl_spec_doc_fields(void)
{
    return doc_fields;
}

int dl_spec_needs_spec(enum dl_kind kind)
{
    return kind != DL_KIND_PROJECT;
}

const char *dl_spec_kind_description(enum dl_kind kind)
{
    assert((int)kind >= 0 && kind < DL_KIND_COUNT);
    return kinds[kind].description;
}

const char *dl_spec_name_description(enum dl_kind kind)
{
    assert((int)kind >= 0 && kind < DL_KIND_COUNT);
    return kinds[kind].name_description;
}

/* ---- reading by table ------------------------------------------------- */

/* The entry called name of table t (a programmer error when missing). */
static const struct dl_field *fld(const struct dl_field *t, const char *name)
{
    for (; t->name; t++)
        if (strcmp(t->name, name) == 0)
            return t;
    assert(!"field not in its table");
    abort();
}

/*
 * ENUM field f of o: 1 when given (*idx: its index in f->values, or -1
 * when it is none of them, reported), 0 absent, -1 not a string (reported).
 */
static int get_enum(struct pctx *c, const struct obj *o,
                    const struct dl_field *f, int *idx)
{
    const struct dl_ynode *v;
    char *s = NULL, path[PATH_MAX_LEN], want[256];
    int rc = get_str(c, o, f->name, f->required, &s, &v);
    size_t n = 0, k;

    *idx = -1;
    if (rc <= 0)
        return rc;
    for (k = 0; f->values[k]; k++)
        if (strcmp(f->values[k], s) == 0)
            *idx = (int)k;
    if (*idx < 0) {
        /* "'a' or 'b'", "'a', 'b' or 'c'" */
        want[0] = '\0';
        for (size_t i = 0; i < k && n < sizeof(want); i++)
            n += (size_t)snprintf(want + n, sizeof(want) - n, "%s'%s'",
                                  i == 0       ? ""
                                  : i + 1 == k ? " or "
                                               : ", ",
                                  f->values[i]);
        join(path, o->path, f->name);
        err_at(c, v, "%s: want %s, got '%s'", path, want, s);
    }
    free(s);
    return rc;
}

/* spec.mode into *mode; *set (when not NULL) once it is given. */
static void get_mode(struct pctx *c, const struct obj *o,
                     const struct dl_field *t, enum dl_mode *mode, int *set)
{
    int idx;

    if (get_enum(c, o, fld(t, "mode"), &idx) <= 0)
        return;
    if (idx >= 0)
        *mode = idx == 0 ? DL_MODE_ENFORCE : DL_MODE_REPORT;
    if (set)
        *set = 1;
}

/*
 * Read every stored field of table t from o into the struct at base (an
 * OBJECT's fields go to the same struct). Fields not stored are the
 * kind's code's to read.
 */
static void parse_fields(struct pctx *c, const struct obj *o,
                         const struct dl_field *t, void *base)
{
    for (; t->name; t++) {
        void *at = (char *)base + t->off;
        struct obj sub;

        if (!t->stored)
            continue;
        switch (t->type) {
        case DL_FIELD_STRING:
        case DL_FIELD_SCALAR:
            (void)get_checked(c, o, t->name, t->required, at, t->check,
                              t->what);
            break;
        case DL_FIELD_INT:
            (void)get_int(c, o, t->name, t->required, t->min, t->max, at);
            break;
        case DL_FIELD_BOOL:
            (void)get_bool(c, o, t->name, at);
            break;
        case DL_FIELD_DURATION:
            (void)get_duration(c, o, t->name, t->required, at);
            break;
        case DL_FIELD_PATTERN:
            (void)get_pattern(c, o, t->name, t->required, at);
            break;
        case DL_FIELD_LIST:
            (void)get_str_list(c, o, t->name, t->required, at,
                               (void *)((char *)base + t->off_n), NULL,
                               t->check, t->what);
            break;
        case DL_FIELD_OBJECT:
            if (open_obj(c, &sub, o, t->name, t->required, t->fields) > 0)
                parse_fields(c, &sub, t->fields, base);
            break;
        case DL_FIELD_ENUM:
        case DL_FIELD_ENV:
        case DL_FIELD_LABELS:
        case DL_FIELD_TRAFFIC:
            assert(!"no generic reader for this type");
            break;
        }
    }
}

/* ---- kinds ------------------------------------------------------------ */

static void parse_condition(struct pctx *c, const struct obj *spec,
                            const struct dl_field *t, int *has,
                            struct dl_iam_condition *cond)
{
    const struct dl_field *f = fld(t, "condition");
    struct obj o;

    if (open_obj(c, &o, spec, f->name, f->required, f->fields) <= 0)
        return;
    *has = 1;
    parse_fields(c, &o, f->fields, cond);
}

static void parse_project(struct pctx *c, const struct obj *spec)
{
    const struct dl_field *t = project_fields;
    struct dl_project_spec *p = &c->r->spec.project;
    const struct dl_ynode *src;

    if (!spec->map)
        return;
    check_keys(c, spec, t);
    get_mode(c, spec, t, &p->mode, NULL);
    parse_fields(c, spec, t, p);
    src = dl_ynode_get(spec->map, "source");
    if (p->require_signed_commits && !p->n_allowed_signers)
        err_at(c, key_of(src, "requireSignedCommits"),
               "spec.source.requireSignedCommits: true needs at least "
               "one key in spec.source.allowedSigners");
}

static void parse_env(struct pctx *c, const struct obj *spec,
                      const struct dl_field *f)
{
    struct dl_cloud_run_spec *s = &c->r->spec.run;
    const struct dl_ynode *v = field(c, spec, f->name, f->required);

    if (!v)
        return;
    if (v->type != DL_YNODE_MAP) {
        type_err(c, "spec.env", v, "a mapping of names to values");
        return;
    }
    s->has_env = 1;
    s->env = dl_calloc(v->n_pairs + 1, sizeof(*s->env));
    for (size_t i = 0; i < v->n_pairs; i++) {
        const struct dl_ynode *k = v->pairs[i].key, *val = v->pairs[i].val;
        struct dl_env *e = &s->env[s->n_env];
        char path[PATH_MAX_LEN];
        const char *why;

        join(path, "spec.env", k->str);
        if ((why = dl_check_env_name(k->str)) != NULL) {
            err_at(c, k, "spec.env: '%s' is not a valid variable name: %s",
                   k->str, why);
            continue;
        }
        dl_resource_add_field(c->r, path, pos_of(c, k));
        e->pos = pos_of(c, k);
        if (val->type == DL_YNODE_MAP) {
            const struct dl_field *secret = fld(f->fields, "secret"),
                                  *version = fld(f->fields, "version");
            struct obj o = {.map = val, .at = k};

            snprintf(o.path, sizeof(o.path), "%s", path);
            check_keys(c, &o, f->fields);
            (void)get_str(c, &o, secret->name, secret->required, &e->secret,
                          NULL);
            if (get_str(c, &o, version->name, version->required, &e->version,
                        NULL) <= 0 &&
                !e->version)
                e->version = dl_strdup("latest");
        } else if (val->type == DL_YNODE_SCALAR && !dl_ynode_is_null(val)) {
            if (val->len != strlen(val->str)) {
                err_at(c, val, "%s: the value contains a NUL character", path);
                continue;
            }
            e->value = dl_strdup(val->str);
        } else if (dl_ynode_is_null(val)) {
            e->value = dl_strdup("");
        } else {
            type_err(c, path, val, "a string or {secret, version}");
            continue;
        }
        e->name = dl_strdup(k->str);
        s->n_env++;
    }
}

static void parse_labels(struct pctx *c, const struct obj *spec,
                         const struct dl_field *f)
{
    struct dl_cloud_run_spec *s = &c->r->spec.run;
    const struct dl_ynode *v = field(c, spec, f->name, f->required);

    if (!v)
        return;
    if (v->type != DL_YNODE_MAP) {
        type_err(c, "spec.labels", v, "a mapping of keys to values");
        return;
    }
    s->has_labels = 1;
    s->labels = dl_calloc(v->n_pairs + 1, sizeof(*s->labels));
    for (size_t i = 0; i < v->n_pairs; i++) {
        const struct dl_ynode *k = v->pairs[i].key, *val = v->pairs[i].val;
        char path[PATH_MAX_LEN];
        const char *why;

        join(path, "spec.labels", k->str);
        if ((why = dl_check_label_key(k->str)) != NULL) {
            err_at(c, k, "spec.labels: '%s' is not a valid label key: %s",
                   k->str, why);
            continue;
        }
        dl_resource_add_field(c->r, path, pos_of(c, k));
        if (val->type != DL_YNODE_SCALAR) {
            type_err(c, path, val, "a string");
            continue;
        }
        if ((why = dl_check_label_value(val->str)) != NULL) {
            err_at(c, val, "%s: '%s' is not a valid label value: %s", path,
                   val->str, why);
            continue;
        }
        s->labels[s->n_labels].key = dl_strdup(k->str);
        s->labels[s->n_labels].value = dl_strdup(val->str);
        s->n_labels++;
    }
}

static void parse_traffic(struct pctx *c, const struct obj *spec,
                          const struct dl_field *f)
{
    const struct dl_field *revision = fld(f->fields, "revision"),
                          *percent = fld(f->fields, "percent"),
                          *tag = fld(f->fields, "tag");
    struct dl_cloud_run_spec *s = &c->r->spec.run;
    const struct dl_ynode *v = field(c, spec, f->name, f->required);
    int64_t sum = 0;
    int ok = 1;

    if (!v)
        return;
    if (v->type == DL_YNODE_SCALAR && strcmp(v->str, "latest") == 0) {
        s->has_traffic = 1;
        s->traffic_latest = 1;
        return;
    }
    if (v->type != DL_YNODE_SEQ) {
        type_err(c, "spec.traffic", v,
                 "'latest' or a list of {revision, percent, tag}");
        return;
    }
    if (v->n_items == 0) {
        err_at(c, v, "spec.traffic: the list is empty");
        return;
    }
    s->has_traffic = 1;
    s->traffic = dl_calloc(v->n_items, sizeof(*s->traffic));
    for (size_t i = 0; i < v->n_items; i++) {
        const struct dl_ynode *it = v->items[i];
        struct dl_traffic *t = &s->traffic[s->n_traffic++];
        struct obj o = {.map = it, .at = it};
        int64_t pct = DL_UNSET;

        snprintf(o.path, sizeof(o.path), "spec.traffic[%zu]", i);
        if (it->type != DL_YNODE_MAP) {
            type_err(c, o.path, it, "a mapping {revision, percent, tag}");
            ok = 0;
            continue;
        }
        check_keys(c, &o, f->fields);
        (void)get_str(c, &o, revision->name, revision->required, &t->revision,
                      NULL);
        (void)get_bool(c, &o, "latest", &t->latest);
        if (!t->revision && !t->latest) {
            err_at(c, it, "%s: set 'revision' or 'latest: true'", o.path);
            ok = 0;
        } else if (t->revision && t->latest) {
            err_at(c, key_of(it, "latest"),
                   "%s: set 'revision' or 'latest: true', not both", o.path);
            ok = 0;
        }
        if (get_int(c, &o, percent->name, percent->required, percent->min,
                    percent->max, &pct) > 0)
            sum += pct;
        else
            ok = 0;
        t->percent = pct < 0 ? 0 : (int)pct;
        (void)get_checked(c, &o, tag->name, tag->required, &t->tag, tag->check,
                          tag->what);
    }
    if (ok && sum != 100)
        err_at(c, key_of(spec->map, "traffic"),
               "spec.traffic: percents sum to %lld, not 100", (long long)sum);
}

/* spec.build of a CloudRunService: 1 read, 0 absent, -1 not a mapping. */
static int parse_run_build(struct pctx *c, const struct obj *spec,
                           const struct dl_field *f)
{
    const struct dl_field *context = fld(f->fields, "context"),
                          *dockerfile = fld(f->fields, "dockerfile"),
                          *commit = fld(f->fields, "commit");
    struct dl_cloud_run_spec *s = &c->r->spec.run;
    const struct dl_ynode *v;
    struct dl_err e;
    struct obj o;
    int rc = open_obj(c, &o, spec, f->name, f->required, f->fields);

    if (rc <= 0)
        return rc;
    if (get_str(c, &o, context->name, context->required, &s->build.context,
                &v) > 0) {
        s->build.context_pos = pos_of(c, v);
        if (dl_path_normalize(s->build.context, &e) < 0) {
            err_at(c, v, "spec.build.context: '%s': %s", v->str, e.msg);
            free(s->build.context);
            s->build.context = NULL;
        } else if (!*s->build.context) {
            free(s->build.context);
            s->build.context = dl_strdup(".");
        }
    } else {
        s->build.context = dl_strdup(".");
    }
    if (get_str(c, &o, dockerfile->name, dockerfile->required,
                &s->build.dockerfile, &v) > 0) {
        s->build.dockerfile_pos = pos_of(c, v);
        if (dl_path_normalize(s->build.dockerfile, &e) < 0) {
            err_at(c, v, "spec.build.dockerfile: '%s': %s", v->str, e.msg);
            free(s->build.dockerfile);
            s->build.dockerfile = NULL;
        } else if (!*s->build.dockerfile) {
            err_at(c, v,
                   "spec.build.dockerfile: '%s' names the "
                   "repository root, not a file",
                   v->str);
            free(s->build.dockerfile);
            s->build.dockerfile = NULL;
        }
    } else if (s->build.context) {
        s->build.dockerfile =
            strcmp(s->build.context, ".") == 0
                ? dl_strdup("Dockerfile")
                : dl_asprintf("%s/Dockerfile", s->build.context);
        s->build.dockerfile_pos = pos_of(c, o.at);
    }
    if (get_checked(c, &o, commit->name, commit->required, &s->build.commit,
                    commit->check, commit->what) > 0)
        s->build.commit_pos = pos_of(c, dl_ynode_get(o.map, "commit"));
    return 1;
}

static void parse_run(struct pctx *c, const struct obj *spec)
{
    const struct dl_field *t = run_fields, *f;
    struct dl_cloud_run_spec *s = &c->r->spec.run;
    const struct dl_ynode *v;
    struct dl_err e;
    struct obj o;
    int has_image, build;

    s->cpu_millis = s->memory_bytes = DL_UNSET;
    s->min_instances = s->max_instances = DL_UNSET;
    s->concurrency = s->timeout_ns = DL_UNSET;
    if (!spec->map)
        return;
    check_keys(c, spec, t);
    get_mode(c, spec, t, &c->r->mode, &c->r->mode_set);
    parse_fields(c, spec, t, s);
    has_image = given(dl_ynode_get(spec->map, "image"));
    build = parse_run_build(c, spec, fld(t, "build"));
    s->has_build = build > 0;
    /* A build given but wrong (build < 0) does not also say "neither". */
    if (has_image && build)
        err_at(c, key_of(spec->map, "build"),
               "spec: set either 'image' or 'build', not both");
    else if (!has_image && !build)
        err_at(c, spec->at,
               "spec: set 'image' (a pinned image) or 'build' "
               "(a Dockerfile to build)");
    f = fld(t, "requireCommits");
    (void)get_str_list(c, spec, f->name, f->required, &s->require_commits,
                       &s->n_require_commits, &s->require_commit_pos, f->check,
                       f->what);
    s->require_commit_ids =
        dl_calloc(s->n_require_commits + 1, sizeof(*s->require_commit_ids));
    parse_env(c, spec, fld(t, "env"));
    f = fld(t, "resources");
    if (open_obj(c, &o, spec, f->name, f->required, f->fields) > 0) {
        const struct dl_field *cpu = fld(f->fields, "cpu"),
                              *mem = fld(f->fields, "memory");

        if (get_str(c, &o, cpu->name, cpu->required, &s->cpu, &v) > 0 &&
            dl_quantity_cpu_parse(&s->cpu_millis, s->cpu, &e) < 0)
            err_at(c, v, "spec.resources.cpu: %s", e.msg);
        if (get_str(c, &o, mem->name, mem->required, &s->memory, &v) > 0 &&
            dl_quantity_memory_parse(&s->memory_bytes, s->memory, &e) < 0)
            err_at(c, v, "spec.resources.memory: %s", e.msg);
    }
    v = dl_ynode_get(spec->map, "scaling");
    if (s->min_instances != DL_UNSET && s->max_instances != DL_UNSET &&
        s->min_instances > s->max_instances)
        err_at(c, dl_ynode_get(v, "minInstances"),
               "spec.scaling: minInstances %lld is more than "
               "maxInstances %lld",
               (long long)s->min_instances, (long long)s->max_instances);
    if (s->timeout_ns != DL_UNSET && (s->timeout_ns < DL_NS_PER_SEC ||
                                      s->timeout_ns > 3600 * DL_NS_PER_SEC)) {
        err_at(c, dl_ynode_get(spec->map, "timeout"),
               "spec.timeout: '%s' is out of range (want 1s to 60m)",
               dl_ynode_get(spec->map, "timeout")->str);
        s->timeout_ns = DL_UNSET;
    }
    parse_labels(c, spec, fld(t, "labels"));
    parse_traffic(c, spec, fld(t, "traffic"));
}

static void parse_iam_member(struct pctx *c, const struct obj *spec)
{
    const struct dl_field *t = iam_member_fields;
    struct dl_iam_member_spec *s = &c->r->spec.iam_member;

    if (!spec->map)
        return;
    check_keys(c, spec, t);
    get_mode(c, spec, t, &c->r->mode, &c->r->mode_set);
    parse_fields(c, spec, t, s);
    parse_condition(c, spec, t, &s->has_condition, &s->condition);
}

static void parse_iam_binding(struct pctx *c, const struct obj *spec)
{
    const struct dl_field *t = iam_binding_fields;
    struct dl_iam_binding_spec *s = &c->r->spec.iam_binding;

    if (!spec->map)
        return;
    check_keys(c, spec, t);
    get_mode(c, spec, t, &c->r->mode, &c->r->mode_set);
    parse_fields(c, spec, t, s);
    parse_condition(c, spec, t, &s->has_condition, &s->condition);
}

static void parse_firestore(struct pctx *c, const struct obj *spec)
{
    const struct dl_field *t = firestore_fields;
    struct dl_firestore_spec *s = &c->r->spec.firestore;

    s->max_documents = s->stale_age_ns = s->max_deletes_per_run = DL_UNSET;
    if (!spec->map)
        return;
    check_keys(c, spec, t);
    get_mode(c, spec, t, &c->r->mode, &c->r->mode_set);
    parse_fields(c, spec, t, s);
    if (!given(dl_ynode_get(spec->map, "database")))
        s->database = dl_strdup("(default)");
    if (!dl_ynode_get(spec->map, "maxDocuments") &&
        !dl_ynode_get(spec->map, "idPattern") &&
        !dl_ynode_get(spec->map, "staleAfter"))
        err_at(c, spec->at,
               "spec: set at least one of maxDocuments, idPattern and "
               "staleAfter");
}

static void parse_bigquery(struct pctx *c, const struct obj *spec)
{
    const struct dl_field *t = bigquery_fields;
    struct dl_bigquery_spec *s = &c->r->spec.bigquery;

    s->older_than_ns = s->max_deletes_per_run = DL_UNSET;
    if (!spec->map)
        return;
    check_keys(c, spec, t);
    get_mode(c, spec, t, &c->r->mode, &c->r->mode_set);
    parse_fields(c, spec, t, s);
}

static void parse_bucket(struct pctx *c, const struct obj *spec)
{
    const struct dl_field *t = bucket_fields;
    struct dl_bucket_spec *s = &c->r->spec.bucket;
    size_t at;
    const char *why;
    int idx;

    s->max_deletes_per_run = DL_UNSET;
    if (!spec->map)
        return;
    check_keys(c, spec, t);
    get_mode(c, spec, t, &c->r->mode, &c->r->mode_set);
    parse_fields(c, spec, t, s);
    if (s->bucket_pattern.compiled &&
        (why = dl_check_bucket_pattern(s->bucket_pattern.source, &at)) != NULL)
        err_at(c, dl_ynode_get(spec->map, "bucketPattern"),
               "spec.bucketPattern: '%s': '%c' at offset %zu: %s",
               s->bucket_pattern.source, s->bucket_pattern.source[at], at, why);
    if (get_enum(c, spec, fld(t, "whenEmpty"), &idx) > 0 && idx == 1)
        s->when_empty = DL_WHEN_EMPTY_DELETE;
}

/* ---- documents -------------------------------------------------------- */

const char *dl_kind_name(enum dl_kind kind)
{
    if ((int)kind < 0 || kind >= DL_KIND_COUNT)
        return "?";
    return kind_names[kind];
}

int dl_kind_parse(enum dl_kind *out, const char *name)
{
    for (int k = 0; k < DL_KIND_COUNT; k++) {
        if (strcmp(kind_names[k], name) == 0) {
            *out = (enum dl_kind)k;
            return 0;
        }
    }
    return DL_ENOTFOUND;
}

const char *dl_mode_name(enum dl_mode mode)
{
    return mode == DL_MODE_ENFORCE ? "enforce" : "report";
}

struct dl_resource *dl_spec_parse(struct dl_diags *diags, const char *file,
                                  const struct dl_ydoc *doc, size_t *errors)
{
    struct pctx c = {.diags = diags, .file = file};
    struct dl_resource *r = NULL;
    const struct dl_ynode *root = doc->root, *v;
    struct obj top = {.map = root, .at = root}, meta, spec;
    enum dl_kind kind;
    char *s = NULL;
    const char *why;

    if (root->type != DL_YNODE_MAP) {
        err_at(&c, root,
               "a document must be a mapping with apiVersion, kind, "
               "metadata and spec, not %s",
               dl_ynode_type_name(root));
        goto done;
    }
    v = dl_ynode_get(root, "kind");
    if (!given(v)) {
        err_at(&c, v ? key_of(root, "kind") : root,
               "missing required field 'kind'");
        goto done;
    }
    if (v->type != DL_YNODE_SCALAR) {
        type_err(&c, "kind", v, "a kind name");
        goto done;
    }
    if (dl_kind_parse(&kind, v->str) < 0) {
        const char *hint = dl_did_you_mean(v->str, kind_names);

        if (hint)
            err_at(&c, v, "unknown kind '%s' (did you mean '%s'?)", v->str,
                   hint);
        else
            err_at(&c, v,
                   "unknown kind '%s' (want Project, CloudRunService, "
                   "IAMPolicyMember, IAMPolicyBinding, "
                   "FirestoreCollectionPolicy, BigQueryTablePolicy or "
                   "StorageBucketPolicy)",
                   v->str);
        goto done;
    }
    r = dl_calloc(1, sizeof(*r));
    c.r = r;
    r->kind = kind;
    r->file = dl_strdup(file);
    r->pos.file = r->file;
    r->pos.line = doc->line;
    r->pos.col = doc->col;
    r->name_pos = r->pos;
    check_keys(&c, &top, doc_fields);
    if (get_str(&c, &top, "apiVersion", 1, &s, &v) > 0 &&
        strcmp(s, DL_API_VERSION) != 0)
        err_at(&c, v, "unsupported apiVersion '%s' (want '%s')", s,
               DL_API_VERSION);
    free(s);
    if (open_obj(&c, &meta, &top, "metadata", 1, metadata_fields) > 0 &&
        get_str(&c, &meta, "name", 1, &r->name, &v) > 0) {
        r->name_pos = pos_of(&c, v);
        why = kind == DL_KIND_PROJECT ? dl_check_project_id(r->name)
              : kind == DL_KIND_CLOUD_RUN_SERVICE
                  ? dl_check_run_service_name(r->name)
                  : dl_check_resource_name(r->name);
        if (why)
            err_at(&c, v, "metadata.name: '%s' is not a valid %s name: %s",
                   r->name, kind_names[kind], why);
    }
    if (!r->name)
        r->name = dl_strdup("");
    /* A Project may leave spec out (all defaults); the others need one. */
    memset(&spec, 0, sizeof(spec));
    snprintf(spec.path, sizeof(spec.path), "spec");
    v = dl_ynode_get(root, "spec");
    if (given(v) && v->type != DL_YNODE_MAP) {
        type_err(&c, "spec", v, "a mapping");
    } else if (given(v)) {
        spec.map = v;
        spec.at = key_of(root, "spec");
    } else if (dl_spec_needs_spec(kind)) {
        err_at(&c, v ? key_of(root, "spec") : root,
               "missing required field 'spec'");
    }
    switch (kind) {
    case DL_KIND_PROJECT:
        parse_project(&c, &spec);
        r->mode = r->spec.project.mode;
        r->mode_set = 1;
        break;
    case DL_KIND_CLOUD_RUN_SERVICE:
        parse_run(&c, &spec);
        break;
    case DL_KIND_IAM_POLICY_MEMBER:
        parse_iam_member(&c, &spec);
        break;
    case DL_KIND_IAM_POLICY_BINDING:
        parse_iam_binding(&c, &spec);
        break;
    case DL_KIND_FIRESTORE_COLLECTION_POLICY:
        parse_firestore(&c, &spec);
        break;
    case DL_KIND_BIGQUERY_TABLE_POLICY:
        parse_bigquery(&c, &spec);
        break;
    case DL_KIND_STORAGE_BUCKET_POLICY:
        parse_bucket(&c, &spec);
        break;
    case DL_KIND_COUNT:
        break;
    }
done:
    *errors += c.errors;
    return r;
}

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void free_condition(struct dl_iam_condition *c)
{
    free(c->title);
    free(c->description);
    free(c->expression);
}

static void free_pattern(struct dl_pattern *p)
{
    if (p->compiled)
        regfree(&p->re);
    free(p->source);
}

void dl_resource_free(struct dl_resource *r)
{
    if (!r)
        return;
    switch (r->kind) {
    case DL_KIND_PROJECT: {
        struct dl_project_spec *p = &r->spec.project;

        free(p->region);
        free_strs(p->protected_members, p->n_protected_members);
        free(p->build_source_url);
        free(p->build_image_repository);
        free_strs(p->allowed_signers, p->n_allowed_signers);
        free(p->dir);
        break;
    }
    case DL_KIND_CLOUD_RUN_SERVICE: {
        struct dl_cloud_run_spec *s = &r->spec.run;

        free(s->region);
        free(s->image);
        free(s->build.dockerfile);
        free(s->build.context);
        free(s->build.commit);
        free_strs(s->require_commits, s->n_require_commits);
        free(s->require_commit_ids);
        free(s->require_commit_pos);
        free(s->service_account);
        for (size_t i = 0; i < s->n_env; i++) {
            free(s->env[i].name);
            free(s->env[i].value);
            free(s->env[i].secret);
            free(s->env[i].version);
        }
        free(s->env);
        free(s->cpu);
        free(s->memory);
        for (size_t i = 0; i < s->n_labels; i++) {
            free(s->labels[i].key);
            free(s->labels[i].value);
        }
        free(s->labels);
        for (size_t i = 0; i < s->n_traffic; i++) {
            free(s->traffic[i].revision);
            free(s->traffic[i].tag);
        }
        free(s->traffic);
        free_strs(s->ignore_fields, s->n_ignore_fields);
        break;
    }
    case DL_KIND_IAM_POLICY_MEMBER:
        free(r->spec.iam_member.role);
        free(r->spec.iam_member.member);
        free(r->spec.iam_member.resource);
        free_condition(&r->spec.iam_member.condition);
        break;
    case DL_KIND_IAM_POLICY_BINDING:
        free(r->spec.iam_binding.role);
        free_strs(r->spec.iam_binding.members, r->spec.iam_binding.n_members);
        free_condition(&r->spec.iam_binding.condition);
        break;
    case DL_KIND_FIRESTORE_COLLECTION_POLICY:
        free(r->spec.firestore.database);
        free(r->spec.firestore.collection);
        free_pattern(&r->spec.firestore.id_pattern);
        free(r->spec.firestore.stale_field);
        break;
    case DL_KIND_BIGQUERY_TABLE_POLICY:
        free(r->spec.bigquery.dataset);
        free_pattern(&r->spec.bigquery.table_pattern);
        break;
    case DL_KIND_STORAGE_BUCKET_POLICY:
        free_pattern(&r->spec.bucket.bucket_pattern);
        break;
    case DL_KIND_COUNT:
        break;
    }
    for (size_t i = 0; i < r->n_fields; i++)
        free(r->fields[i].path);
    free(r->fields);
    free(r->name);
    free(r->file);
    free(r);
}
