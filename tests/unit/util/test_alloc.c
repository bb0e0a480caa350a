#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/alloc.h"

static void test_strings(void **state)
{
    char *s;

    (void)state;
    s = dl_strdup("abc");
    assert_string_equal(s, "abc");
    free(s);
    assert_null(dl_strdup(NULL));
    s = dl_strndup("abcdef", 3);
    assert_string_equal(s, "abc");
    free(s);
    s = dl_strndup("ab", 10);
    assert_string_equal(s, "ab");
    free(s);
    s = dl_asprintf("%s-%05d", "svc", 126);
    assert_string_equal(s, "svc-00126");
    free(s);
}

static void test_overflow_aborts(void **state)
{
    pid_t pid;
    int status;

    (void)state;
    /* The overflow check must abort, never allocate a wrapped size. */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* keep the child's abort message out of the test output */
        if (!freopen("/dev/null", "w", stderr))
            _exit(3);
        (void)dl_reallocarray(NULL, SIZE_MAX / 2, 4);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void test_calloc_zeroes(void **state)
{
    int *p = dl_calloc(100, sizeof(int));

    (void)state;
    for (int i = 0; i < 100; i++)
        assert_int_equal(p[i], 0);
    p = dl_reallocarray(p, 1000, sizeof(int));
    p[999] = 7;
    assert_int_equal(p[999], 7);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_overflow_aborts),
        cmocka_unit_test(test_calloc_zeroes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
