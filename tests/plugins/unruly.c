/* unruly.c - indicators that misbehave as a process, not as a fold, for
 * the worker's isolation tests (tests/integration/test_worker.py):
 *
 *  - forge_reply prints, on standard output, a line that looks like the
 *    worker's answer to the daemon, with figures no evaluation made;
 *  - close_and_hang closes every descriptor (standard output, and whatever
 *    the worker talks to the daemon on) and never returns;
 *  - fork_and_crash forks a child that sleeps for two minutes, writes the
 *    child's pid into forked.pid (in the working directory) and crashes;
 *  - grow_memory keeps 8 MiB more (touched) four times at every step, up
 *    to 1 GiB;
 *  - slow_step sleeps 20 ms at every step: each call is short, the
 *    evaluation is not (evaluation.run_seconds).
 *
 * The first three misbehave on their first event. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mizan/plugin.h>

struct count {
	double n;
};

static void count_final(const void *state, struct mizan_result *out)
{
	out->value = ((const struct count *)state)->n;
	out->n = out->value;
}

static void forge_step(void *state, const struct mizan_event *ev)
{
	static int done;
	((struct count *)state)->n++;
	if (done++)
		return;
	printf("ok run=999 periods=12345 results=1 events=1 failed=0 seconds=0.5\n");
	fflush(stdout);
}

static void close_hang_step(void *state, const struct mizan_event *ev)
{
	for (int fd = 0; fd < 1024; fd++)
		close(fd);
	for (;;)
		pause();
}

static void fork_crash_step(void *state, const struct mizan_event *ev)
{
	pid_t child = fork();
	if (child == 0) {
		sleep(120);
		_exit(0);
	}
	char text[32];
	int n = snprintf(text, sizeof(text), "%d\n", (int)child);
	int fd = open("forked.pid.tmp", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		if (write(fd, text, (size_t)n) == n)
			fsync(fd);
		close(fd);
		rename("forked.pid.tmp", "forked.pid");
	}
	raise(SIGKILL);
}

static void grow_step(void *state, const struct mizan_event *ev)
{
	static size_t kept;
	((struct count *)state)->n++;
	for (int i = 0; i < 4 && kept < (1u << 30); i++) {
		char *p = malloc(8u << 20);
		if (!p)
			return;
		memset(p, 1, 8u << 20);
		kept += 8u << 20; /* never freed: it is the point */
	}
}

static void slow_step(void *state, const struct mizan_event *ev)
{
	((struct count *)state)->n++;
	usleep(20 * 1000);
}

#define ALL                                                                                        \
	(MIZAN_KIND_BIT(MIZAN_SERVICE) | MIZAN_KIND_BIT(MIZAN_TRAINING) |                          \
	 MIZAN_KIND_BIT(MIZAN_PROJECT) | MIZAN_KIND_BIT(MIZAN_SATISFACTION))

static const struct mizan_indicator indicators[] = {
	{.name = "forge_reply", .unit = "count", .description = "Prints a forged worker reply.",
	 .kinds = ALL, .state_size = sizeof(struct count), .step = forge_step, .final = count_final},
	{.name = "close_and_hang", .unit = "count", .description = "Closes every descriptor, hangs.",
	 .kinds = ALL, .state_size = sizeof(struct count), .step = close_hang_step,
	 .final = count_final},
	{.name = "fork_and_crash", .unit = "count", .description = "Forks a sleeper, crashes.",
	 .kinds = ALL, .state_size = sizeof(struct count), .step = fork_crash_step,
	 .final = count_final},
	{.name = "grow_memory", .unit = "count", .description = "Keeps 8 MiB more per event.",
	 .kinds = ALL, .state_size = sizeof(struct count), .step = grow_step, .final = count_final},
	{.name = "slow_step", .unit = "count", .description = "Sleeps 20 ms per step.",
	 .kinds = ALL, .state_size = sizeof(struct count), .step = slow_step, .final = count_final},
};

static const struct mizan_plugin plugin = {
	.abi = MIZAN_PLUGIN_ABI,
	.size = sizeof(struct mizan_plugin),
	.name = "unruly",
	.version = "1",
	MIZAN_INDICATORS(indicators),
};

MIZAN_PLUGIN(plugin)
