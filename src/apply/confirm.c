#include "apply/confirm.h"

#include <string.h>

int dl_apply_confirm(FILE *in, int in_is_tty, FILE *out, struct dl_err *err)
{
    char line[64];
    size_t len;

    if (!in_is_tty)
        return dl_err_set(err, DL_EINVALID,
                          "stdin is not a terminal; pass --auto-approve to "
                          "apply without confirmation");
    fputs("\n" DL_APPLY_CONFIRM_PROMPT, out);
    fflush(out);
    if (!fgets(line, sizeof(line), in))
        return dl_err_set(err, DL_ECANCELLED,
                          "apply cancelled: no answer was given");
    len = strlen(line);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
    if (strcmp(line, "yes") != 0)
        return dl_err_set(err, DL_ECANCELLED,
                          "apply cancelled: the answer was not 'yes'");
    return 0;
}
