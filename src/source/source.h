/*
 * source.h - where the desired state is read from: a git repository at one
 * commit (libgit2), a local working tree, or a plain directory.
 *
 * dl_source_open turns the user's --source/--ref/--path into a struct
 * dl_tree that the model reads, plus the source's identity, which every
 * output carries (validate's summary, the plan's "source").
 */
#ifndef DL_SOURCE_SOURCE_H
#define DL_SOURCE_SOURCE_H

#include "util/err.h"
#include "util/tree.h"

struct dl_source_opts {
    const char *source;    /* path or URL; NULL means "." */
    const char *ref;       /* branch, tag or commit; NULL: see below */
    const char *path;      /* desired-state dir in the tree; NULL: default */
    const char *cache_dir; /* NULL: $XDG_CACHE_HOME/driftless or ~/.cache */
    const char *ssh_key;   /* private key file for ssh URLs, or NULL */
    int insecure_skip_host_key_check;
    long timeout_ms; /* network timeout; 0 means the default */
};

#define DL_SOURCE_DEFAULT_PATH "desired-state"

/* The identity of what was read. Owned by struct dl_source. */
struct dl_source_id {
    char *url;       /* as given: path or URL */
    char *ref;       /* as given, or the resolved default branch; may be NULL */
    char commit[41]; /* 40-hex commit read (HEAD for a work tree); "" if none */
    char *path;      /* desired-state path inside the tree, normalised */
    int dirty;       /* work tree differs from commit under path */
};

struct dl_source {
    struct dl_tree *tree; /* what to read the desired state from */
    struct dl_source_id id;
    void *impl; /* implementation state (libgit2 handles) */
};

/*
 * Open the source described by opts. On success *out is a new source (free
 * with dl_source_free). Errors: DL_ENOTFOUND (no such directory, ref or
 * path), DL_EAUTH (credentials refused), DL_ETRANSIENT (network),
 * DL_EINVALID (bad URL or options), each with a one-line message.
 */
int dl_source_open(struct dl_source **out, const struct dl_source_opts *opts,
                   struct dl_err *err) DL_WUR;

/* Free s and its tree (NULL-safe). */
void dl_source_free(struct dl_source *s);

#endif
