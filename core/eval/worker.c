/* worker.c - the evaluation worker process (see worker.h). */
#include "eval/worker.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "eval/kpi.h"

int eval_worker_main(const struct config *c, int progress_fd)
{
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
		printf("error %s\n", err);
		fflush(stdout);
		return 1;
	}
	kpi_registry_load(&reg, c);
	char line[1024];
	int code = 0;
	while (fgets(line, sizeof(line), stdin)) {
		if (strncmp(line, "eval", 4) != 0) {
			printf("error unknown request\n");
			fflush(stdout);
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
			printf("error %s\n", err);
		else
			printf("ok run=%lld periods=%zu results=%zu events=%zu failed=%zu seconds=%.3f\n",
			       (long long)st.run, st.periods, st.results, st.events, st.failed, st.seconds);
		fflush(stdout);
	}
	kpi_engine_free(e);
	registry_free(&reg);
	store_close(s);
	munmap(prog, 4096);
	return code;
}
