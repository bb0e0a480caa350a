/*
 * replay_main.c - run a fuzz target's LLVMFuzzerTestOneInput on every file
 * of the directories (or the files) given, so that the corpus replays as
 * an ordinary test without libFuzzer. A crash or sanitizer report fails
 * the test; otherwise it prints how many inputs ran.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/alloc.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    struct dl_buf b = DL_BUF_INIT((size_t)16 << 20);
    char chunk[65536];
    FILE *f = fopen(path, "rb");
    size_t r;
    int rc = 0;

    if (!f) {
        fprintf(stderr, "replay: cannot open '%s'\n", path);
        return -1;
    }
    while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (dl_buf_put(&b, chunk, r) < 0) {
            fprintf(stderr, "replay: '%s' is larger than 16 MiB\n", path);
            rc = -1;
            break;
        }
    }
    fclose(f);
    if (rc == 0)
        (void)LLVMFuzzerTestOneInput((const uint8_t *)(b.ptr ? b.ptr : ""),
                                     b.len);
    dl_buf_dispose(&b);
    return rc;
}

int main(int argc, char **argv)
{
    size_t runs = 0;
    int failed = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR|FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        DIR *d;
        struct dirent *de;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: '%s' not found\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            failed |= run_file(argv[i]) < 0;
            runs++;
            continue;
        }
        if (!(d = opendir(argv[i]))) {
            fprintf(stderr, "replay: cannot read '%s'\n", argv[i]);
            return 1;
        }
        while ((de = readdir(d)) != NULL) {
            char *path;

            if (de->d_name[0] == '.')
                continue;
            path = dl_asprintf("%s/%s", argv[i], de->d_name);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                failed |= run_file(path) < 0;
                runs++;
            }
            free(path);
        }
        closedir(d);
    }
    printf("replay: %zu inputs\n", runs);
    return failed || runs == 0;
}
