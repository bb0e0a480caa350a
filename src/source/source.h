/*
 * source.h - where the desired state is read from: a git repository at one
 * commit (libgit2), a local working tree, or a plain directory.
 *
 * dl_source_open turns the user's --source/--ref/--path into a struct
 * dl_tree that the model reads, plus the source's identity, which every
 * output carries (validate's summary, the plan's "source").
 *
 * Four kinds of source:
 *  - a URL (https://, http://, ssh://, git://, file://, user@host:path):
 *    cloned bare into the cache (one directory per URL, see
 *    dl_source_cache_entry) and fetched on later opens; the tree is the
 *    commit that ref (default: the remote's default branch) names, read
 *    from the object database;
 *  - a local repository with a ref: that commit, read from the object
 *    database (no checkout, the work tree is not looked at);
 *  - a local repository without a ref: its work tree (what the user is
 *    editing); id.commit is HEAD and id.dirty says whether files under
 *    the path differ from HEAD;
 *  - a plain directory (no git): its files; no commit, no resolver.
 *
 * libgit2 is initialised once per process (thread-safe) on the first open
 * and shut down at exit. A struct dl_source is not thread-safe: use one per
 * thread, or serialise calls.
 */
#ifndef DL_SOURCE_SOURCE_H
#define DL_SOURCE_SOURCE_H

#include <stddef.h>

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

/*
 * Default for opts.timeout_ms: a clone or fetch still running after this
 * long is cancelled (DL_ETRANSIENT), and so is a wait for another run's
 * lock on the same cache entry.
 */
#define DL_SOURCE_DEFAULT_TIMEOUT_MS 600000L

/* Environment variable holding an HTTPS token (sent only over https://). */
#define DL_SOURCE_TOKEN_ENV "DRIFTLESS_GIT_TOKEN"

/* The identity of what was read. Owned by struct dl_source. */
struct dl_source_id {
    char *url;       /* as given (a password in a URL is removed) */
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
 * path), DL_EAUTH (credentials or host key refused), DL_ETRANSIENT (clone or
 * fetch failed or timed out), DL_EINVALID (bad URL, path or options; a ref
 * that is ambiguous or names no commit), each with a one-line message that
 * never contains a password or token.
 */
int dl_source_open(struct dl_source **out, const struct dl_source_opts *opts,
                   struct dl_err *err) DL_WUR;

/* Free s and its tree (NULL-safe). */
void dl_source_free(struct dl_source *s);

/*
 * Is this string a URL (cloned into the cache) rather than a local path?
 * True for scheme://... with a scheme git knows and for scp-like
 * "user@host:path".
 */
int dl_source_is_url(const char *source);

/*
 * The cache directory a URL is cloned into: cache_dir (NULL: the default)
 * joined with a stable, filesystem-safe name made of the URL's host and
 * path (credentials removed) and a short hash of the whole URL. Returns a
 * new string (free with free()), or NULL when cache_dir is NULL and neither
 * $XDG_CACHE_HOME nor $HOME is set.
 */
char *dl_source_cache_entry(const char *cache_dir, const char *url);

/*
 * Resolve any revision (full or abbreviated SHA, tag, branch, "HEAD~2") to
 * the 40-hex commit it names, in out (41 bytes, NUL-terminated).
 * Errors: DL_ENOTFOUND (no such revision, or the source is not git),
 * DL_EINVALID (ambiguous, or names something that is not a commit).
 */
int dl_source_resolve(struct dl_source *s, const char *rev, char out[41],
                      struct dl_err *err) DL_WUR;

/*
 * Ancestry: set *out to 1 when commit is contained in in_commit (in_commit
 * is commit or one of its descendants), else 0. Both are any revision.
 * Errors: as dl_source_resolve; DL_ERROR when the graph cannot be walked.
 */
int dl_source_contains(struct dl_source *s, const char *commit,
                       const char *in_commit, int *out,
                       struct dl_err *err) DL_WUR;

/*
 * Blame: which commit last changed line `line` (1-based) of file (a path
 * from the repository root) as of the source's commit (id.commit; for a
 * work tree, HEAD: uncommitted edits are not blamed). out_commit gets the
 * 40-hex id. Errors: DL_ENOTFOUND (no such file in the commit, or the file
 * has fewer lines), DL_EINVALID (line < 1, bad path, source not git).
 */
int dl_source_blame_line(struct dl_source *s, const char *file, int line,
                         char out_commit[41], struct dl_err *err) DL_WUR;

/*
 * Open the tree of another commit of the same repository (rev: any
 * revision), read from the object database. *out is valid only while s
 * lives; free it with dl_tree_free before dl_source_free. Errors: as
 * dl_source_resolve.
 */
int dl_source_open_tree(struct dl_tree **out, struct dl_source *s,
                        const char *rev, struct dl_err *err) DL_WUR;

/*
 * Verify that commit (any revision) carries a valid git SSH signature
 * (gpgsig header holding an armored SSHSIG blob, namespace "git") made by
 * one of allowed_keys: public keys in authorized_keys/.pub form
 * ("ssh-ed25519 AAAA... comment", "ssh-rsa AAAA..."). Supported signature
 * algorithms: ssh-ed25519, rsa-sha2-512, rsa-sha2-256 and
 * ecdsa-sha2-nistp256/384/521.
 * Errors: DL_EAUTH (not signed, signed with an OpenPGP or unsupported
 * signature, by a key not in allowed_keys, or the signature does not
 * verify), DL_EINVALID (an allowed key that is not a valid public key; no
 * allowed keys), and those of dl_source_resolve.
 */
int dl_source_verify_signature(struct dl_source *s, const char *commit,
                               const char *const *allowed_keys, size_t nkeys,
                               struct dl_err *err) DL_WUR;

#endif
