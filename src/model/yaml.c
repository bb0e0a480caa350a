#include "model/yaml.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util/alloc.h"

struct yctx {
    yaml_parser_t parser;
    const char *file;
    struct dl_diags *diags;
    size_t errors;
    size_t nodes;
};

static void diag(struct yctx *c, int line, int col, const char *fmt, ...)
    DL_PRINTF(4, 5);

static void diag(struct yctx *c, int line, int col, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    dl_diags_vadd(c->diags, c->file, line, col, fmt, ap);
    va_end(ap);
    c->errors++;
}

static void node_free(struct dl_ynode *n)
{
    if (!n)
        return;
    free(n->str);
    for (size_t i = 0; i < n->n_items; i++)
        node_free(n->items[i]);
    free(n->items);
    for (size_t i = 0; i < n->n_pairs; i++) {
        node_free(n->pairs[i].key);
        node_free(n->pairs[i].val);
    }
    free(n->pairs);
    free(n);
}

void dl_yaml_file_free(struct dl_yfile *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n_docs; i++)
        node_free(f->docs[i].root);
    free(f->docs);
    free(f->file);
    free(f);
}

static struct dl_ynode *node_new(enum dl_ynode_type type,
                                 const yaml_mark_t *mark)
{
    struct dl_ynode *n = dl_calloc(1, sizeof(*n));

    n->type = type;
    n->line = (int)mark->line + 1;
    n->col = (int)mark->column + 1;
    return n;
}

static struct dl_ynode *null_scalar(const yaml_mark_t *mark)
{
    struct dl_ynode *n = node_new(DL_YNODE_SCALAR, mark);

    n->str = dl_strdup("");
    n->plain = 1;
    return n;
}

/* Report libyaml's error; the parse cannot go on. */
static void syntax_error(struct yctx *c)
{
    const yaml_parser_t *p = &c->parser;
    const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->mark;

    if (p->error == YAML_MEMORY_ERROR)
        dl_fatal("out of memory parsing YAML");
    if (p->context)
        diag(c, (int)m->line + 1, (int)m->column + 1,
             "invalid YAML: %s (%s at line %zu)",
             p->problem ? p->problem : "syntax error", p->context,
             p->context_mark.line + 1);
    else
        diag(c, (int)m->line + 1, (int)m->column + 1, "invalid YAML: %s",
             p->problem ? p->problem : "syntax error");
}

static int next(struct yctx *c, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&c->parser, ev)) {
        syntax_error(c);
        return -1;
    }
    return 0;
}

/* Check the tag of a node; returns 1 when the node must not be plain. */
static int check_tag(struct yctx *c, const yaml_char_t *tag,
                     const yaml_mark_t *m)
{
    if (!tag)
        return 0;
    if (strcmp((const char *)tag, YAML_STR_TAG) == 0)
        return 1;
    diag(c, (int)m->line + 1, (int)m->column + 1,
         "unsupported YAML tag '%s' (only !!str is understood)",
         (const char *)tag);
    return 0;
}

static int parse_node(struct yctx *c, yaml_event_t *ev, int depth,
                      struct dl_ynode **out);

static int parse_seq(struct yctx *c, struct dl_ynode *n, int depth)
{
    size_t cap = 0;

    for (;;) {
        yaml_event_t ev;
        struct dl_ynode *item = NULL;
        int rc;

        if (next(c, &ev) < 0)
            return -1;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        rc = parse_node(c, &ev, depth + 1, &item);
        yaml_event_delete(&ev);
        if (item) {
            if (n->n_items == cap) {
                cap = cap ? cap * 2 : 4;
                n->items = dl_reallocarray(n->items, cap, sizeof(*n->items));
            }
            n->items[n->n_items++] = item;
        }
        if (rc < 0)
            return -1;
    }
}

static int parse_map(struct yctx *c, struct dl_ynode *n, int depth)
{
    size_t cap = 0;

    for (;;) {
        yaml_event_t ev;
        struct dl_ynode *key = NULL, *val = NULL;
        int rc;

        if (next(c, &ev) < 0)
            return -1;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        rc = parse_node(c, &ev, depth + 1, &key);
        yaml_event_delete(&ev);
        if (rc == 0) {
            if (next(c, &ev) < 0) {
                node_free(key);
                return -1;
            }
            rc = parse_node(c, &ev, depth + 1, &val);
            yaml_event_delete(&ev);
        }
        if (rc < 0) {
            node_free(key);
            node_free(val);
            return -1;
        }
        if (key->type != DL_YNODE_SCALAR) {
            diag(c, key->line, key->col, "mapping keys must be scalars, not %s",
                 dl_ynode_type_name(key));
            node_free(key);
            node_free(val);
            continue;
        }
        for (size_t i = 0; i < n->n_pairs; i++) {
            const struct dl_ynode *k = n->pairs[i].key;

            if (k->len == key->len && memcmp(k->str, key->str, k->len) == 0) {
                diag(c, key->line, key->col,
                     "duplicate key '%s' (first at %s:%d:%d)", key->str,
                     c->file, k->line, k->col);
                node_free(key);
                node_free(val);
                key = NULL;
                break;
            }
        }
        if (!key)
            continue;
        if (n->n_pairs == cap) {
            cap = cap ? cap * 2 : 8;
            n->pairs = dl_reallocarray(n->pairs, cap, sizeof(*n->pairs));
        }
        n->pairs[n->n_pairs].key = key;
        n->pairs[n->n_pairs].val = val;
        n->n_pairs++;
    }
}

/*
 * Build the node that starts with event ev (already read; the caller
 * deletes it). On a fatal problem returns -1 with *out possibly set to a
 * partial node the caller frees.
 */
static int parse_node(struct yctx *c, yaml_event_t *ev, int depth,
                      struct dl_ynode **out)
{
    const yaml_mark_t *m = &ev->start_mark;
    struct dl_ynode *n;

    *out = NULL;
    if (++c->nodes > DL_YAML_MAX_NODES) {
        diag(c, (int)m->line + 1, (int)m->column + 1,
             "more than %d YAML nodes in one file", DL_YAML_MAX_NODES);
        return -1;
    }
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        /* Never expanded: rejecting aliases rules out billion laughs. */
        diag(c, (int)m->line + 1, (int)m->column + 1,
             "YAML aliases are not supported ('*%s')",
             (const char *)ev->data.alias.anchor);
        *out = null_scalar(m);
        return 0;
    case YAML_SCALAR_EVENT: {
        int quoted = check_tag(c, ev->data.scalar.tag, m);

        n = node_new(DL_YNODE_SCALAR, m);
        n->len = ev->data.scalar.length;
        n->str = dl_malloc(n->len + 1);
        memcpy(n->str, ev->data.scalar.value, n->len);
        n->str[n->len] = '\0';
        n->plain = !quoted && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        *out = n;
        return 0;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        int is_seq = ev->type == YAML_SEQUENCE_START_EVENT;

        if (depth >= DL_YAML_MAX_DEPTH) {
            diag(c, (int)m->line + 1, (int)m->column + 1,
                 "YAML nested deeper than %d levels", DL_YAML_MAX_DEPTH);
            return -1;
        }
        (void)check_tag(c,
                        is_seq ? ev->data.sequence_start.tag
                               : ev->data.mapping_start.tag,
                        m);
        n = node_new(is_seq ? DL_YNODE_SEQ : DL_YNODE_MAP, m);
        *out = n;
        return is_seq ? parse_seq(c, n, depth) : parse_map(c, n, depth);
    }
    default:
        diag(c, (int)m->line + 1, (int)m->column + 1,
             "invalid YAML: unexpected event");
        return -1;
    }
}

/* Offset of the first byte that is not valid UTF-8, or len. */
static size_t utf8_bad_offset(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char b = s[i];
        size_t n;
        unsigned long cp;

        if (b < 0x80) {
            i++;
            continue;
        }
        if (b >= 0xC2 && b <= 0xDF) {
            n = 1;
            cp = b & 0x1F;
        } else if (b >= 0xE0 && b <= 0xEF) {
            n = 2;
            cp = b & 0x0F;
        } else if (b >= 0xF0 && b <= 0xF4) {
            n = 3;
            cp = b & 0x07;
        } else {
            return i;
        }
        for (size_t k = 1; k <= n; k++) {
            if (i + k >= len || (s[i + k] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += n + 1;
    }
    return len;
}

static int check_utf8(struct yctx *c, const char *text, size_t len)
{
    size_t bad = utf8_bad_offset((const unsigned char *)text, len);
    int line = 1, col = 1;

    if (bad == len)
        return 0;
    for (size_t i = 0; i < bad; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            col++;
        }
    }
    diag(c, line, col, "invalid UTF-8 (byte 0x%02x at offset %zu)",
         (unsigned char)text[bad], bad);
    return -1;
}

size_t dl_yaml_parse(struct dl_yfile **out, const char *file, const char *text,
                     size_t len, struct dl_diags *diags)
{
    struct dl_yfile *f = dl_calloc(1, sizeof(*f));
    struct yctx c = {.file = file, .diags = diags};
    size_t cap = 0;
    yaml_event_t ev;

    f->file = dl_strdup(file);
    *out = f;
    if (check_utf8(&c, text, len) < 0) {
        f->broken = 1;
        return c.errors;
    }
    if (!yaml_parser_initialize(&c.parser))
        dl_fatal("out of memory initialising the YAML parser");
    yaml_parser_set_input_string(&c.parser, (const unsigned char *)text, len);
    yaml_parser_set_encoding(&c.parser, YAML_UTF8_ENCODING);
    for (;;) {
        struct dl_ydoc doc;
        int rc;

        if (next(&c, &ev) < 0)
            goto broken;
        if (ev.type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (ev.type != YAML_DOCUMENT_START_EVENT) {
            yaml_event_delete(&ev);
            continue; /* STREAM_START */
        }
        doc.line = (int)ev.start_mark.line + 1;
        doc.col = (int)ev.start_mark.column + 1;
        yaml_event_delete(&ev);
        if (next(&c, &ev) < 0)
            goto broken;
        rc = parse_node(&c, &ev, 0, &doc.root);
        yaml_event_delete(&ev);
        if (rc < 0) {
            node_free(doc.root);
            goto broken;
        }
        if (next(&c, &ev) < 0) { /* DOCUMENT_END */
            node_free(doc.root);
            goto broken;
        }
        yaml_event_delete(&ev);
        if (f->n_docs == cap) {
            cap = cap ? cap * 2 : 4;
            f->docs = dl_reallocarray(f->docs, cap, sizeof(*f->docs));
        }
        f->docs[f->n_docs++] = doc;
    }
    yaml_parser_delete(&c.parser);
    return c.errors;
broken:
    f->broken = 1;
    yaml_parser_delete(&c.parser);
    return c.errors;
}

int dl_ynode_is_null(const struct dl_ynode *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};

    if (!n || n->type != DL_YNODE_SCALAR || !n->plain)
        return 0;
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
        if (strcmp(n->str, nulls[i]) == 0)
            return 1;
    return 0;
}

const struct dl_ynode *dl_ynode_get(const struct dl_ynode *n, const char *key)
{
    if (!n || n->type != DL_YNODE_MAP)
        return NULL;
    for (size_t i = 0; i < n->n_pairs; i++)
        if (strcmp(n->pairs[i].key->str, key) == 0)
            return n->pairs[i].val;
    return NULL;
}

const char *dl_ynode_type_name(const struct dl_ynode *n)
{
    if (!n)
        return "nothing";
    switch (n->type) {
    case DL_YNODE_MAP:
        return "a mapping";
    case DL_YNODE_SEQ:
        return "a sequence";
    case DL_YNODE_SCALAR:
        break;
    }
    if (dl_ynode_is_null(n))
        return "null";
    return "a scalar";
}
