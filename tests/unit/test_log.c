/* test_log.c - a logged value cannot forge a line of its own. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "harness.h"

/* What log_info writes for msg, read back from standard error. */
static size_t logged(const char *msg, char *out, size_t outlen)
{
	FILE *f = tmpfile();
	if (!f)
		return 0;
	fflush(stderr);
	int saved = dup(2);
	dup2(fileno(f), 2);
	log_info("user %s signed in", msg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	size_t n = fread(out, 1, outlen - 1, f);
	out[n] = '\0';
	fclose(f);
	return n;
}

static size_t lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_forged_line(void)
{
	char out[2048];
	logged("eve\n2026-01-01T00:00:00.000Z info admin signed in", out, sizeof(out));
	CHECK_INT(lines(out), 1);
	CHECK(strstr(out, "eve\\n2026-01-01") != NULL, "got '%s'", out);
	logged("a\rb\tc\x1b[31md\x7f", out, sizeof(out));
	CHECK_INT(lines(out), 1);
	CHECK(strstr(out, "a\\rb\\tc\\x1b[31md\\x7f") != NULL, "got '%s'", out);
	/* Text in any language is left as it is. */
	logged("مريم", out, sizeof(out));
	CHECK(strstr(out, "user مريم signed in\n") != NULL, "got '%s'", out);
}

static void test_escape_cut(void)
{
	char out[6];
	CHECK_INT(log_escape(out, 5, "abc\ndef"), 3); /* "\\n" does not fit whole */
	CHECK_STR(out, "abc");
}

TEST_MAIN(test_forged_line, test_escape_cut)
