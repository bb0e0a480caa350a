/*
 * dl-source-probe: open a source the way every driftless command does and
 * print what was read, for the integration tests (tests/integration/source).
 *
 *   dl-source-probe [--source S] [--ref R] [--path P] [--cache-dir D]
 *                   [--timeout-ms N] [--list] [--contains A B]
 *                   [--blame FILE LINE]
 *
 * Prints url=, ref=, commit=, path=, dirty= lines, then with --list every
 * file under the path, with --contains "contains=0|1", with --blame
 * "blame=<commit>". On error prints "error: <message>" to stderr and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/source.h"

static int print_path(const char *path, void *payload)
{
    (void)payload;
    printf("file=%s\n", path);
    return 0;
}

int main(int argc, char **argv)
{
    struct dl_source_opts o = {0};
    struct dl_source *s = NULL;
    struct dl_err err = {0};
    const char *ca = NULL, *cb = NULL, *bfile = NULL;
    int list = 0, bline = 0, rc = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--list") == 0) {
            list = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "error: option '%s' needs a value\n", a);
            return 1;
        }
        i++;
        if (strcmp(a, "--source") == 0)
            o.source = v;
        else if (strcmp(a, "--ref") == 0)
            o.ref = v;
        else if (strcmp(a, "--path") == 0)
            o.path = v;
        else if (strcmp(a, "--cache-dir") == 0)
            o.cache_dir = v;
        else if (strcmp(a, "--timeout-ms") == 0)
            o.timeout_ms = atol(v);
        else if (strcmp(a, "--contains") == 0 && i + 1 < argc) {
            ca = v;
            cb = argv[++i];
        } else if (strcmp(a, "--blame") == 0 && i + 1 < argc) {
            bfile = v;
            bline = atoi(argv[++i]);
        } else {
            fprintf(stderr, "error: unknown option '%s'\n", a);
            return 1;
        }
    }
    if (dl_source_open(&s, &o, &err) < 0) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 1;
    }
    printf("url=%s\nref=%s\ncommit=%s\npath=%s\ndirty=%d\n", s->id.url,
           s->id.ref ? s->id.ref : "", s->id.commit, s->id.path, s->id.dirty);
    if (list && dl_tree_list(s->tree, s->id.path, print_path, NULL, &err) < 0)
        rc = 1;
    if (rc == 0 && ca) {
        int in = 0;

        if (dl_source_contains(s, ca, cb, &in, &err) < 0)
            rc = 1;
        else
            printf("contains=%d\n", in);
    }
    if (rc == 0 && bfile) {
        char out[41];

        if (dl_source_blame_line(s, bfile, bline, out, &err) < 0)
            rc = 1;
        else
            printf("blame=%s\n", out);
    }
    if (rc)
        fprintf(stderr, "error: %s\n", err.msg);
    dl_source_free(s);
    return rc;
}
