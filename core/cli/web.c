/* web.c - `mizan passwd`: a password hash for auth.users. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"

static const char usage_passwd[] =
	"usage: mizan passwd\n"
	"Reads a password from standard input (without echo on a terminal) and prints its\n"
	"argon2id hash (crypto_pwhash_str, interactive limits), for auth.users in the\n"
	"configuration: { name = \"...\", role = \"editor\", password = \"<the hash>\" }.\n";

int cmd_passwd(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return print_usage(usage_passwd, EXIT_OK);
		if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
			printf("mizan %s\n", MIZAN_VERSION);
			return EXIT_OK;
		}
		return print_usage(usage_passwd, EXIT_USAGE);
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "mizan passwd: libsodium failed to start\n");
		return EXIT_RUNTIME;
	}
	char pw[1024];
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	if (tty) {
		fputs("password: ", stderr);
		fflush(stderr);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	char *got = fgets(pw, sizeof(pw), stdin);
	if (tty)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	size_t n = got ? strlen(pw) : 0;
	while (n && (pw[n - 1] == '\n' || pw[n - 1] == '\r'))
		pw[--n] = '\0';
	if (n == 0) {
		sodium_memzero(pw, sizeof(pw));
		fprintf(stderr, "mizan passwd: the password is empty\n");
		return EXIT_USAGE;
	}
	char hash[crypto_pwhash_STRBYTES];
	int rc = crypto_pwhash_str(hash, pw, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
				   crypto_pwhash_MEMLIMIT_INTERACTIVE);
	sodium_memzero(pw, sizeof(pw));
	if (rc != 0) {
		fprintf(stderr, "mizan passwd: out of memory\n");
		return EXIT_RUNTIME;
	}
	printf("%s\n", hash);
	return EXIT_OK;
}
