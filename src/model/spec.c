#include "model/spec.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "model/check.h"
#include "util/alloc.h"
#include "util/time.h"

#define PATH_MAX_LEN 512

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
 * Check that o->map has only the keys in allowed (unknown ones get a
 * did-you-mean) and record each key's position under o->path.
 */
static void check_keys(struct pctx *c, const struct obj *o,
                       const char *const *allowed)
{
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
                    const char *key, int required, const char *const *allowed)
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
    check_keys(c, o, allowed);
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

static void get_mode(struct pctx *c, const struct obj *o, enum dl_mode *mode,
                     int *set)
{
    const struct dl_ynode *v;
    char *s = NULL;

    if (get_str(c, o, "mode", 0, &s, &v) <= 0)
        return;
    if (strcmp(s, "enforce") == 0)
        *mode = DL_MODE_ENFORCE;
    else if (strcmp(s, "report") == 0)
        *mode = DL_MODE_REPORT;
    else
        err_at(c, v, "%s.mode: want 'enforce' or 'report', got '%s'", o->path,
               s);
    if (set)
        *set = 1;
    free(s);
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

static const char *check_image(const char *img)
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

/* ---- kinds ------------------------------------------------------------ */

static void parse_condition(struct pctx *c, const struct obj *spec, int *has,
                            struct dl_iam_condition *cond)
{
    static const char *const keys[] = {"title", "description", "expression",
                                       NULL};
    struct obj o;

    if (open_obj(c, &o, spec, "condition", 0, keys) <= 0)
        return;
    *has = 1;
    (void)get_str(c, &o, "title", 1, &cond->title, NULL);
    (void)get_str(c, &o, "description", 0, &cond->description, NULL);
    (void)get_str(c, &o, "expression", 1, &cond->expression, NULL);
}

static void parse_project(struct pctx *c, const struct obj *spec)
{
    static const char *const keys[] = {"region", "mode",  "protectedMembers",
                                       "build",  "prune", "suspend",
                                       "source", NULL};
    static const char *const build_keys[] = {"sourceUrl", "imageRepository",
                                             NULL};
    static const char *const source_keys[] = {"requireSignedCommits",
                                              "allowedSigners", NULL};
    struct dl_project_spec *p = &c->r->spec.project;
    struct obj o;

    if (!spec->map)
        return;
    check_keys(c, spec, keys);
    (void)get_checked(c, spec, "region", 0, &p->region, check_region, "region");
    get_mode(c, spec, &p->mode, NULL);
    (void)get_str_list(c, spec, "protectedMembers", 0, &p->protected_members,
                       &p->n_protected_members, NULL, dl_check_member,
                       "IAM member");
    (void)get_bool(c, spec, "prune", &p->prune);
    (void)get_bool(c, spec, "suspend", &p->suspend);
    if (open_obj(c, &o, spec, "build", 0, build_keys) > 0) {
        (void)get_checked(c, &o, "sourceUrl", 0, &p->build_source_url,
                          check_url, "repository URL");
        (void)get_checked(c, &o, "imageRepository", 0,
                          &p->build_image_repository, check_image_repo,
                          "image repository");
    }
    if (open_obj(c, &o, spec, "source", 0, source_keys) > 0) {
        int rc =
            get_bool(c, &o, "requireSignedCommits", &p->require_signed_commits);

        (void)get_str_list(c, &o, "allowedSigners", 0, &p->allowed_signers,
                           &p->n_allowed_signers, NULL, check_ssh_key,
                           "signer key");
        if (rc > 0 && p->require_signed_commits && !p->n_allowed_signers)
            err_at(c, key_of(o.map, "requireSignedCommits"),
                   "spec.source.requireSignedCommits: true needs at least "
                   "one key in spec.source.allowedSigners");
    }
}

static void parse_env(struct pctx *c, const struct obj *spec)
{
    static const char *const secret_keys[] = {"secret", "version", NULL};
    struct dl_cloud_run_spec *s = &c->r->spec.run;
    const struct dl_ynode *v = field(c, spec, "env", 0);

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
            struct obj o = {.map = val, .at = k};

            snprintf(o.path, sizeof(o.path), "%s", path);
            check_keys(c, &o, secret_keys);
            (void)get_str(c, &o, "secret", 1, &e->secret, NULL);
            if (get_str(c, &o, "version", 0, &e->version, NULL) <= 0 &&
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

static void parse_labels(struct pctx *c, const struct obj *spec)
{
    struct dl_cloud_run_spec *s = &c->r->spec.run;
    const struct dl_ynode *v = field(c, spec, "labels", 0);

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

static void parse_traffic(struct pctx *c, const struct obj *spec)
{
    static const char *const keys[] = {"revision", "latest", "percent", "tag",
                                       NULL};
    struct dl_cloud_run_spec *s = &c->r->spec.run;
    const struct dl_ynode *v = field(c, spec, "traffic", 0);
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
        check_keys(c, &o, keys);
        (void)get_str(c, &o, "revision", 0, &t->revision, NULL);
        (void)get_bool(c, &o, "latest", &t->latest);
        if (!t->revision && !t->latest) {
            err_at(c, it, "%s: set 'revision' or 'latest: true'", o.path);
            ok = 0;
        } else if (t->revision && t->latest) {
            err_at(c, key_of(it, "latest"),
                   "%s: set 'revision' or 'latest: true', not both", o.path);
            ok = 0;
        }
        if (get_int(c, &o, "percent", 1, 0, 100, &pct) > 0)
            sum += pct;
        else
            ok = 0;
        t->percent = pct < 0 ? 0 : (int)pct;
        (void)get_checked(c, &o, "tag", 0, &t->tag, dl_check_label_key, "tag");
    }
    if (ok && sum != 100)
        err_at(c, key_of(spec->map, "traffic"),
               "spec.traffic: percents sum to %lld, not 100", (long long)sum);
}

static void parse_run(struct pctx *c, const struct obj *spec)
{
    static const char *const keys[] = {
        "region",         "image",   "build",     "requireCommits",
        "serviceAccount", "env",     "resources", "scaling",
        "concurrency",    "timeout", "labels",    "traffic",
        "ignoreFields",   "mode",    NULL};
    static const char *const build_keys[] = {"dockerfile", "context", "commit",
                                             NULL};
    static const char *const res_keys[] = {"cpu", "memory", NULL};
    static const char *const scaling_keys[] = {"minInstances", "maxInstances",
                                               NULL};
    struct dl_cloud_run_spec *s = &c->r->spec.run;
    const struct dl_ynode *v;
    struct dl_err e;
    struct obj o;
    int has_image;

    s->cpu_millis = s->memory_bytes = DL_UNSET;
    s->min_instances = s->max_instances = DL_UNSET;
    s->concurrency = s->timeout_ns = DL_UNSET;
    if (!spec->map)
        return;
    check_keys(c, spec, keys);
    get_mode(c, spec, &c->r->mode, &c->r->mode_set);
    (void)get_checked(c, spec, "region", 0, &s->region, check_region, "region");
    has_image =
        get_checked(c, spec, "image", 0, &s->image, check_image, "image") != 0;
    switch (open_obj(c, &o, spec, "build", 0, build_keys)) {
    case 1:
        s->has_build = 1;
        if (get_str(c, &o, "context", 0, &s->build.context, &v) > 0) {
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
        if (get_str(c, &o, "dockerfile", 0, &s->build.dockerfile, &v) > 0) {
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
        if (get_checked(c, &o, "commit", 0, &s->build.commit, check_revision,
                        "git revision") > 0)
            s->build.commit_pos = pos_of(c, dl_ynode_get(o.map, "commit"));
        break;
    case 0:
        break;
    default:
        s->has_build = -1; /* given but wrong: do not also say "neither" */
        break;
    }
    if (has_image && s->has_build)
        err_at(c, key_of(spec->map, "build"),
               "spec: set either 'image' or 'build', not both");
    else if (!has_image && !s->has_build)
        err_at(c, spec->at,
               "spec: set 'image' (a pinned image) or 'build' "
               "(a Dockerfile to build)");
    if (s->has_build < 0)
        s->has_build = 0;
    (void)get_str_list(c, spec, "requireCommits", 0, &s->require_commits,
                       &s->n_require_commits, &s->require_commit_pos,
                       check_revision, "git revision");
    s->require_commit_ids =
        dl_calloc(s->n_require_commits + 1, sizeof(*s->require_commit_ids));
    (void)get_checked(c, spec, "serviceAccount", 0, &s->service_account,
                      dl_check_email, "service account e-mail");
    parse_env(c, spec);
    if (open_obj(c, &o, spec, "resources", 0, res_keys) > 0) {
        if (get_str(c, &o, "cpu", 0, &s->cpu, &v) > 0 &&
            dl_quantity_cpu_parse(&s->cpu_millis, s->cpu, &e) < 0)
            err_at(c, v, "spec.resources.cpu: %s", e.msg);
        if (get_str(c, &o, "memory", 0, &s->memory, &v) > 0 &&
            dl_quantity_memory_parse(&s->memory_bytes, s->memory, &e) < 0)
            err_at(c, v, "spec.resources.memory: %s", e.msg);
    }
    if (open_obj(c, &o, spec, "scaling", 0, scaling_keys) > 0) {
        (void)get_int(c, &o, "minInstances", 0, 0, 1000, &s->min_instances);
        (void)get_int(c, &o, "maxInstances", 0, 0, 1000, &s->max_instances);
        if (s->min_instances != DL_UNSET && s->max_instances != DL_UNSET &&
            s->min_instances > s->max_instances)
            err_at(c, dl_ynode_get(o.map, "minInstances"),
                   "spec.scaling: minInstances %lld is more than "
                   "maxInstances %lld",
                   (long long)s->min_instances, (long long)s->max_instances);
    }
    (void)get_int(c, spec, "concurrency", 0, 1, 1000, &s->concurrency);
    if (get_duration(c, spec, "timeout", 0, &s->timeout_ns) > 0 &&
        (s->timeout_ns < DL_NS_PER_SEC ||
         s->timeout_ns > 3600 * DL_NS_PER_SEC)) {
        err_at(c, dl_ynode_get(spec->map, "timeout"),
               "spec.timeout: '%s' is out of range (want 1s to 60m)",
               dl_ynode_get(spec->map, "timeout")->str);
        s->timeout_ns = DL_UNSET;
    }
    parse_labels(c, spec);
    parse_traffic(c, spec);
    (void)get_str_list(c, spec, "ignoreFields", 0, &s->ignore_fields,
                       &s->n_ignore_fields, NULL, check_field_path,
                       "field path");
}

static void parse_iam_member(struct pctx *c, const struct obj *spec)
{
    static const char *const keys[] = {"role",     "member", "condition",
                                       "resource", "mode",   NULL};
    struct dl_iam_member_spec *s = &c->r->spec.iam_member;

    if (!spec->map)
        return;
    check_keys(c, spec, keys);
    get_mode(c, spec, &c->r->mode, &c->r->mode_set);
    (void)get_checked(c, spec, "role", 1, &s->role, dl_check_role, "role");
    (void)get_checked(c, spec, "member", 1, &s->member, dl_check_member,
                      "IAM member");
    parse_condition(c, spec, &s->has_condition, &s->condition);
    (void)get_str(c, spec, "resource", 0, &s->resource, NULL);
}

static void parse_iam_binding(struct pctx *c, const struct obj *spec)
{
    static const char *const keys[] = {"role", "members", "condition", "mode",
                                       NULL};
    struct dl_iam_binding_spec *s = &c->r->spec.iam_binding;

    if (!spec->map)
        return;
    check_keys(c, spec, keys);
    get_mode(c, spec, &c->r->mode, &c->r->mode_set);
    (void)get_checked(c, spec, "role", 1, &s->role, dl_check_role, "role");
    (void)get_str_list(c, spec, "members", 1, &s->members, &s->n_members, NULL,
                       dl_check_member, "IAM member");
    parse_condition(c, spec, &s->has_condition, &s->condition);
}

static void parse_firestore(struct pctx *c, const struct obj *spec)
{
    static const char *const keys[] = {
        "database",   "collection", "maxDocuments",     "idPattern",
        "staleAfter", "mode",       "maxDeletesPerRun", NULL};
    static const char *const stale_keys[] = {"field", "age", NULL};
    struct dl_firestore_spec *s = &c->r->spec.firestore;
    struct obj o;

    s->max_documents = s->stale_age_ns = s->max_deletes_per_run = DL_UNSET;
    if (!spec->map)
        return;
    check_keys(c, spec, keys);
    get_mode(c, spec, &c->r->mode, &c->r->mode_set);
    if (get_checked(c, spec, "database", 0, &s->database, dl_check_database,
                    "database ID") == 0)
        s->database = dl_strdup("(default)");
    (void)get_checked(c, spec, "collection", 1, &s->collection,
                      dl_check_collection, "collection ID");
    (void)get_int(c, spec, "maxDocuments", 0, 0, INT64_MAX, &s->max_documents);
    (void)get_pattern(c, spec, "idPattern", 0, &s->id_pattern);
    if (open_obj(c, &o, spec, "staleAfter", 0, stale_keys) > 0) {
        (void)get_str(c, &o, "field", 1, &s->stale_field, NULL);
        (void)get_duration(c, &o, "age", 1, &s->stale_age_ns);
    }
    (void)get_int(c, spec, "maxDeletesPerRun", 0, 0, INT64_MAX,
                  &s->max_deletes_per_run);
    if (!dl_ynode_get(spec->map, "maxDocuments") &&
        !dl_ynode_get(spec->map, "idPattern") &&
        !dl_ynode_get(spec->map, "staleAfter"))
        err_at(c, spec->at,
               "spec: set at least one of maxDocuments, idPattern and "
               "staleAfter");
}

static void parse_bigquery(struct pctx *c, const struct obj *spec)
{
    static const char *const keys[] = {"dataset",          "tablePattern",
                                       "olderThan",        "mode",
                                       "maxDeletesPerRun", NULL};
    struct dl_bigquery_spec *s = &c->r->spec.bigquery;

    s->older_than_ns = s->max_deletes_per_run = DL_UNSET;
    if (!spec->map)
        return;
    check_keys(c, spec, keys);
    get_mode(c, spec, &c->r->mode, &c->r->mode_set);
    (void)get_checked(c, spec, "dataset", 1, &s->dataset, dl_check_dataset,
                      "dataset ID");
    (void)get_pattern(c, spec, "tablePattern", 1, &s->table_pattern);
    (void)get_duration(c, spec, "olderThan", 0, &s->older_than_ns);
    (void)get_int(c, spec, "maxDeletesPerRun", 0, 0, INT64_MAX,
                  &s->max_deletes_per_run);
}

static void parse_bucket(struct pctx *c, const struct obj *spec)
{
    static const char *const keys[] = {"bucketPattern", "whenEmpty", "mode",
                                       "maxDeletesPerRun", NULL};
    struct dl_bucket_spec *s = &c->r->spec.bucket;
    const struct dl_ynode *v;
    char *w = NULL;
    size_t at;
    const char *why;

    s->max_deletes_per_run = DL_UNSET;
    if (!spec->map)
        return;
    check_keys(c, spec, keys);
    get_mode(c, spec, &c->r->mode, &c->r->mode_set);
    if (get_pattern(c, spec, "bucketPattern", 1, &s->bucket_pattern) > 0 &&
        (why = dl_check_bucket_pattern(s->bucket_pattern.source, &at)) !=
            NULL) {
        v = dl_ynode_get(spec->map, "bucketPattern");
        err_at(c, v, "spec.bucketPattern: '%s': '%c' at offset %zu: %s",
               s->bucket_pattern.source, s->bucket_pattern.source[at], at, why);
    }
    if (get_str(c, spec, "whenEmpty", 0, &w, &v) > 0) {
        if (strcmp(w, "delete") == 0)
            s->when_empty = DL_WHEN_EMPTY_DELETE;
        else if (strcmp(w, "report") != 0)
            err_at(c, v, "spec.whenEmpty: want 'report' or 'delete', got '%s'",
                   w);
    }
    free(w);
    (void)get_int(c, spec, "maxDeletesPerRun", 0, 0, INT64_MAX,
                  &s->max_deletes_per_run);
}

/* ---- documents -------------------------------------------------------- */

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
    static const char *const top_keys[] = {"apiVersion", "kind", "metadata",
                                           "spec", NULL};
    static const char *const meta_keys[] = {"name", NULL};
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
    check_keys(&c, &top, top_keys);
    if (get_str(&c, &top, "apiVersion", 1, &s, &v) > 0 &&
        strcmp(s, DL_API_VERSION) != 0)
        err_at(&c, v, "unsupported apiVersion '%s' (want '%s')", s,
               DL_API_VERSION);
    free(s);
    if (open_obj(&c, &meta, &top, "metadata", 1, meta_keys) > 0 &&
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
    } else if (kind != DL_KIND_PROJECT) {
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
