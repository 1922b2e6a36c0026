/* worker.c - the evaluation worker process (see worker.h). */
#include "eval/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <unistd.h>

#include "eval/kpi.h"

/* The request and reply descriptors, kept from whatever a plugin execs. */
static FILE *open_channel(int fd, const char *mode)
{
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return NULL;
	return fdopen(fd, mode);
}

int eval_worker_main(const struct config *c, int progress_fd)
{
#ifdef __linux__
	/* Gone with the daemon, however it ends (its process group is killed
	 * by the daemon while it lives). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
	FILE *in = open_channel(WORKER_FD_REQUEST, "r"), *out = open_channel(WORKER_FD_REPLY, "w");
	if (!in || !out) {
		fprintf(stderr, "mizan worker: no request or reply descriptor (started by mizan serve)\n");
		return 1;
	}
	struct kpi_progress *prog = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, progress_fd, 0);
	if (prog == MAP_FAILED) {
		fprintf(stderr, "mizan worker: no progress page: %s\n", strerror(errno));
		return 1;
	}
	struct store *s = NULL;
	struct registry reg = {0};
	struct kpi_engine *e = NULL;
	char err[512];
	struct store_opts so = store_opts_from_config(c, true); /* evaluation reads everything */
	if (store_open(&s, c->store_url, &so, err) < 0) {
		fprintf(out, "error %s\n", err);
		fclose(out);
		fclose(in);
		return 1;
	}
	kpi_registry_load(&reg, c);
	char line[1024];
	int code = 0;
	while (fgets(line, sizeof(line), in)) {
		if (strncmp(line, "eval", 4) != 0) {
			fprintf(out, "error unknown request\n");
			fflush(out);
			continue;
		}
		kpi_engine_free(e);
		e = NULL;
		if (kpi_engine_new(&e, c, s, &reg) < 0) {
			code = 1;
			break;
		}
		char *skip = strstr(line, "skip=");
		if (skip) {
			skip += 5;
			skip[strcspn(skip, " \n")] = '\0';
			for (char *save, *id = strtok_r(skip, ",", &save); id; id = strtok_r(NULL, ",", &save))
				if (kpi_engine_skip(e, id) < 0)
					fprintf(stderr, "mizan worker: out of memory: kpi %s is not left out\n",
						id);
		}
		struct eval_stats st;
		if (kpi_eval(e, strstr(line, " full") != NULL, prog, &st, err, sizeof(err)) < 0)
			fprintf(out, "error %s\n", err);
		else
			fprintf(out, "ok run=%lld periods=%zu results=%zu events=%zu failed=%zu seconds=%.3f\n",
			       (long long)st.run, st.periods, st.results, st.events, st.failed, st.seconds);
		fflush(out);
	}
	kpi_engine_free(e);
	registry_free(&reg);
	store_close(s);
	munmap(prog, 4096);
	fclose(out);
	fclose(in);
	return code;
}
