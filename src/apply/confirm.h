/*
 * confirm.h - the "Do you want to apply these changes?" question of
 * `driftless apply` without --plan and without --auto-approve.
 */
#ifndef DL_APPLY_CONFIRM_H
#define DL_APPLY_CONFIRM_H

#include <stdio.h>

#include "util/err.h"

#define DL_APPLY_CONFIRM_PROMPT                                                \
    "Do you want to apply these changes? Only 'yes' is accepted: "

/*
 * Ask on out and read one line from in. in_is_tty says whether in is a
 * terminal: without one nothing is read. 0 when the answer is exactly
 * "yes"; DL_EINVALID when in is not a terminal ("stdin is not a terminal;
 * pass --auto-approve to apply without confirmation"); DL_ECANCELLED for
 * any other answer or end of input ("apply cancelled: the answer was not
 * 'yes'").
 */
int dl_apply_confirm(FILE *in, int in_is_tty, FILE *out,
                     struct dl_err *err) DL_WUR;

#endif
