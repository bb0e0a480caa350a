/*
 * source_int.h - what the files of src/source/ share; not for other
 * modules (they use source.h).
 *
 * source.c   opening a source, identity, resolve/contains/blame
 * git_tree.c struct dl_tree over a git commit, and over a work tree
 * remote.c   the clone cache: naming, locking, clone, fetch, auth
 * sshsig.c   git's SSH commit signatures (SSHSIG) verified with OpenSSL
 *            (Ed25519, RSA, ECDSA)
 */
#ifndef DL_SOURCE_SOURCE_INT_H
#define DL_SOURCE_SOURCE_INT_H

#include <git2.h>

#include "source/source.h"

/* Initialise libgit2 once per process (pthread_once); shut down at exit. */
void dl_source_git_init(void);

/*
 * Fill err from libgit2's last error as "what: libgit2's message" with
 * code. Returns code.
 */
int dl_source_git_err(struct dl_err *err, int code, const char *what);

/* The first 7 hex digits of oid, NUL-terminated, in out. */
void dl_source_short_id(char out[8], const git_oid *oid);

/*
 * Resolve rev in repo to a commit id. Errors: DL_ENOTFOUND naming rev,
 * DL_EINVALID (ambiguous, not a commit).
 */
int dl_source_git_resolve(git_oid *out, git_repository *repo, const char *rev,
                          struct dl_err *err) DL_WUR;

/*
 * A tree reading commit `commit` of repo from the object database. repo is
 * borrowed: it must outlive the tree. Label "commit 1a2b3c4".
 */
int dl_source_commit_tree(struct dl_tree **out, git_repository *repo,
                          const git_oid *commit, struct dl_err *err) DL_WUR;

/*
 * A tree reading the work tree at root (a dl_tree_open_dir tree) whose
 * resolve goes to repo (borrowed, may be NULL for no resolver). label is
 * copied.
 */
int dl_source_work_tree(struct dl_tree **out, const char *root,
                        git_repository *repo, const char *label,
                        struct dl_err *err) DL_WUR;

/*
 * The URL with any password removed ("https://u:p@h/x" -> "https://u@h/x").
 * New string, free with free().
 */
char *dl_source_url_display(const char *url);

/*
 * Bring the cache entry for url up to date (clone it the first time, fetch
 * after) under an exclusive lock, and open it. *out_repo is the bare cache
 * repository (git_repository_free); *out_head is the remote's default
 * branch ("main", free with free()) or NULL when it cannot be told.
 * Errors: DL_ETRANSIENT (network, timeout, lock wait), DL_EAUTH
 * (credentials, host key), DL_EINVALID (no cache dir), DL_ERROR (disk).
 */
int dl_source_remote_sync(git_repository **out_repo, char **out_head,
                          const char *url, const struct dl_source_opts *opts,
                          struct dl_err *err) DL_WUR;

/*
 * Verify an armored SSH signature ("-----BEGIN SSH SIGNATURE-----") over
 * data with namespace "git" against allowed_keys (see
 * dl_source_verify_signature). what names the signed thing in messages
 * ("commit 1a2b3c4"). Errors: DL_EAUTH, DL_EINVALID.
 */
int dl_sshsig_verify(const char *armored, size_t armored_len, const void *data,
                     size_t len, const char *const *allowed_keys, size_t nkeys,
                     const char *what, struct dl_err *err) DL_WUR;

#endif
