/*
 * load.h - what every command that reads desired state does first: open
 * the source, load and validate the model, enforce the Projects' source
 * policies (signed commits).
 */
#ifndef DL_CLI_LOAD_H
#define DL_CLI_LOAD_H

#include "model/model.h"
#include "source/source.h"

/*
 * Enforce every Project's spec.source.requireSignedCommits on what s read:
 * the commit must carry a valid SSH signature by one of the Project's
 * allowedSigners. A dirty work tree or a source without a commit cannot
 * satisfy the policy (what would be read is not what was signed).
 * 0, or DL_EAUTH with a message naming the project and the commit.
 */
int dl_cli_verify_signatures(struct dl_source *s, const struct dl_model *m,
                             struct dl_err *err) DL_WUR;

/*
 * Open the source, load the model and enforce signature policies, for a
 * command that goes on to talk to Google. On failure prints what went wrong
 * to stderr as "driftless CMD: message" (and every diagnostic with its
 * source line), frees what it opened, and returns a negative DL_E* code.
 * On success the caller owns *src and *model.
 */
int dl_cli_load(struct dl_source **src, struct dl_model **model,
                const struct dl_source_opts *opts, const char *cmd) DL_WUR;

#endif
