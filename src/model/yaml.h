/*
 * yaml.h - YAML text to a tree of positioned nodes (libyaml's event API).
 *
 * The loader keeps, for every node, the 1-based line and column where it
 * starts, so that validation can point at the offending key or value. It
 * enforces the limits that make untrusted YAML safe to read:
 *   - aliases are rejected (no expansion at all: no billion laughs);
 *   - collections nest at most DL_YAML_MAX_DEPTH deep;
 *   - at most DL_YAML_MAX_NODES nodes per file;
 *   - the text must be UTF-8 (libyaml would accept UTF-16 too);
 *   - a mapping may not repeat a key (the message names the first place);
 *   - mapping keys must be scalars; only the !!str tag is understood.
 * (The file size cap, DL_MODEL_MAX_FILE_SIZE, is applied when reading.)
 * Every problem becomes a diagnostic; nothing stops at the first.
 */
#ifndef DL_MODEL_YAML_H
#define DL_MODEL_YAML_H

#include <stddef.h>

#include "model/diag.h"

#define DL_YAML_MAX_DEPTH 64
#define DL_YAML_MAX_NODES 100000

enum dl_ynode_type { DL_YNODE_SCALAR = 1, DL_YNODE_SEQ = 2, DL_YNODE_MAP = 3 };

struct dl_ypair {
    struct dl_ynode *key; /* always a scalar */
    struct dl_ynode *val;
};

struct dl_ynode {
    enum dl_ynode_type type;
    int line, col; /* 1-based, where the node starts */
    /* Scalars: the value (NUL-terminated; len bytes, may contain NUL). */
    char *str;
    size_t len;
    int plain; /* unquoted and untagged: null/bool/int resolution applies */
    /* Sequences. */
    struct dl_ynode **items;
    size_t n_items;
    /* Mappings, in document order, without duplicate keys. */
    struct dl_ypair *pairs;
    size_t n_pairs;
};

struct dl_ydoc {
    struct dl_ynode *root; /* never NULL */
    int line, col;         /* where the document starts */
};

/* One file's documents. Free with dl_yaml_file_free. */
struct dl_yfile {
    char *file; /* as given */
    struct dl_ydoc *docs;
    size_t n_docs;
    int broken; /* a syntax error or limit stopped the parse early */
};

/*
 * Parse text (len bytes) named file into *out (never NULL afterwards; free
 * with dl_yaml_file_free). Problems are added to diags; documents complete
 * before a syntax error are kept and out->broken is set. Returns the number
 * of diagnostics added (0: the file is clean).
 */
size_t dl_yaml_parse(struct dl_yfile **out, const char *file, const char *text,
                     size_t len, struct dl_diags *diags);

void dl_yaml_file_free(struct dl_yfile *f);

/* Is n a null: a plain "", "~", "null", "Null" or "NULL"? */
int dl_ynode_is_null(const struct dl_ynode *n);

/* The value for key in mapping n (NULL when absent or n is no mapping). */
const struct dl_ynode *dl_ynode_get(const struct dl_ynode *n, const char *key);

/* "a mapping", "a sequence", "a string", "null"...: for type errors. */
const char *dl_ynode_type_name(const struct dl_ynode *n);

#endif
