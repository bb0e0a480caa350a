#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/alloc.h"

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void test_write_file(void **state)
{
    char dir[] = "/tmp/dl-cli-XXXXXX";
    char *path, *bad, buf[64] = "";
    struct dl_err err;
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    path = dl_asprintf("%s/plan.json", dir);
    assert_int_equal(dl_cli_write_file(path, "{\"a\":1}\n", 8, &err), 0);
    /* replacing an existing file works too, and leaves no temp file */
    assert_int_equal(dl_cli_write_file(path, "{}\n", 3, &err), 0);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fread(buf, 1, sizeof(buf) - 1, f), 3);
    fclose(f);
    assert_string_equal(buf, "{}\n");
    assert_int_equal(count_entries(dir), 1);

    bad = dl_asprintf("%s/missing/plan.json", dir);
    assert_int_equal(dl_cli_write_file(bad, "x", 1, &err), DL_ERROR);
    assert_non_null(strstr(err.msg, "cannot write '"));
    assert_non_null(strstr(err.msg, "No such file or directory"));
    assert_int_equal(count_entries(dir), 1);

    unlink(path);
    rmdir(dir);
    free(path);
    free(bad);
}

static void test_parse_int64(void **state)
{
    int64_t v = -1;

    (void)state;
    assert_int_equal(dl_cli_parse_int64(&v, "16", 1, 256), 0);
    assert_true(v == 16);
    assert_int_equal(dl_cli_parse_int64(&v, "0", 0, 10), 0);
    assert_true(v == 0);
    assert_int_equal(dl_cli_parse_int64(&v, "0", 1, 256), -1);
    assert_int_equal(dl_cli_parse_int64(&v, "257", 1, 256), -1);
    assert_int_equal(dl_cli_parse_int64(&v, "12x", 1, 256), -1);
    assert_int_equal(dl_cli_parse_int64(&v, "", 1, 256), -1);
    assert_int_equal(
        dl_cli_parse_int64(&v, "99999999999999999999", 0, INT64_MAX), -1);
    assert_true(v == 0); /* failures leave *out alone */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_file),
        cmocka_unit_test(test_parse_int64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
