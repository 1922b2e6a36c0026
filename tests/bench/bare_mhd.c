/* bare_mhd.c - the least a libmicrohttpd server can do per request, as the
 * yardstick of the dashboard benchmark (bench_dashboard.py).
 *
 *   bare-mhd --body FILE [--type CONTENT-TYPE] [--threads N]
 *
 * Answers every request, on the access handler's second call, with the bytes
 * of FILE (read once; one shared response object), keep-alive, on 127.0.0.1
 * at a free port, with MHD's epoll and a pool of N (default 2) threads: the
 * same shape as `mizan serve`.  Prints "listening on http://127.0.0.1:PORT" on
 * stderr and runs until SIGTERM or SIGINT. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#if MHD_VERSION < 0x00097002
typedef int MHD_Result_t;
#else
typedef enum MHD_Result MHD_Result_t;
#endif

static struct MHD_Response *answer;

static MHD_Result_t handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			    const char *version, const char *upload, size_t *upload_size, void **state)
{
	static int first_call;
	if (*state == NULL) { /* first call: headers only */
		*state = &first_call;
		return MHD_YES;
	}
	if (*upload_size) { /* a body: drop it */
		*upload_size = 0;
		return MHD_YES;
	}
	return MHD_queue_response(c, MHD_HTTP_OK, answer);
}

static void *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		char *nb = realloc(buf, cap *= 2);
		if (!nb)
			free(buf);
		buf = nb;
	}
	int err = ferror(f);
	fclose(f);
	if (err) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

int main(int argc, char **argv)
{
	const char *body_path = NULL, *type = "text/html; charset=utf-8";
	unsigned threads = 2;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--body") == 0 && i + 1 < argc)
			body_path = argv[++i];
		else if (strcmp(argv[i], "--type") == 0 && i + 1 < argc)
			type = argv[++i];
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = (unsigned)atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: bare-mhd --body FILE [--type CONTENT-TYPE] [--threads N]\n");
			return 2;
		}
	}
	if (!body_path || threads < 1) {
		fprintf(stderr, "usage: bare-mhd --body FILE [--type CONTENT-TYPE] [--threads N]\n");
		return 2;
	}
	size_t len = 0;
	void *body = read_file(body_path, &len);
	if (!body) {
		perror(body_path);
		return 1;
	}
	answer = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!answer || MHD_add_response_header(answer, MHD_HTTP_HEADER_CONTENT_TYPE, type) != MHD_YES) {
		fprintf(stderr, "bare-mhd: cannot make the response\n");
		return 1;
	}

	/* Block the signals before MHD's threads start, so they inherit the mask
	 * and only sigwait() below sees them. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct MHD_Daemon *d = MHD_start_daemon(
	    MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, handler, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, threads,
	    MHD_OPTION_CONNECTION_LIMIT, 512u, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "bare-mhd: MHD_start_daemon failed\n");
		return 1;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	fprintf(stderr, "bare-mhd: %zu bytes, %u threads, listening on http://127.0.0.1:%u\n", len, threads,
		info ? (unsigned)info->port : 0u);
	fflush(stderr);

	int sig = 0;
	sigwait(&sigs, &sig);
	MHD_stop_daemon(d);
	MHD_destroy_response(answer);
	return 0;
}
