/* harness.h - the smallest test harness that does the job.
 *
 * CHECK(cond, fmt, ...) records a failure with file:line and goes on, so one
 * run shows every broken case.  TEST_MAIN() runs the listed functions and
 * exits 1 when any check failed.
 */
#ifndef MIZAN_HARNESS_H
#define MIZAN_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int harness_checks, harness_failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		harness_checks++;                                                                  \
		if (!(cond)) {                                                                     \
			harness_failures++;                                                        \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);   \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

#define CHECK_INT(got, want)                                                                       \
	CHECK((long long)(got) == (long long)(want), "got %lld, want %lld", (long long)(got),      \
	      (long long)(want))

static inline const char *harness_str(const char *s)
{
	return s ? s : "(null)";
}
#define CHECK_STR(got, want)                                                                       \
	CHECK(strcmp(harness_str(got), (want)) == 0, "got '%s', want '%s'", harness_str(got), (want))

/* Equal, or both NaN. */
#define CHECK_DOUBLE(got, want)                                                                    \
	CHECK(((isnan(got) && isnan(want)) || fabs((got) - (want)) <= 1e-9 * fmax(1, fabs(want))), \
	      "got %.17g, want %.17g", (double)(got), (double)(want))

#define TEST_MAIN(...)                                                                             \
	int main(void)                                                                             \
	{                                                                                          \
		void (*tests[])(void) = {__VA_ARGS__};                                              \
		for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)                      \
			tests[i]();                                                                \
		printf("%d checks, %d failed\n", harness_checks, harness_failures);                \
		return harness_failures ? 1 : 0;                                                   \
	}

#endif
