/* chart.c - KPI charts rendered by a pool of long-lived gnuplot processes.
 *
 * Protocol.  Each pool slot runs `gnuplot -d` (no init files) spawned with
 * posix_spawn (no shell), its stdin, stdout and stderr on pipes.  A render
 * writes one script (chart_script(): `reset`, the terminal, `set output` with
 * no file, i.e. stdout, numeric datablocks, one `plot`, `unset output`) and
 * then
 *
 *     set print '-'
 *     print 'MIZAN-END-<64-bit random hex>-<counter>'
 *     unset print
 *
 * and reads stdout until it ends with that marker line.
 *
 * Framing: why an end marker, and not only the image's own end.  SVG ends with
 * "</svg>" and PNG is self-delimiting (signature, chunks, IEND), but if a plot
 * fails gnuplot writes no image at all, only a message on stderr, and a reader
 * waiting for "</svg>" or IEND would wait for the timeout and then have to
 * kill a healthy gnuplot.  The marker comes after every script, whether the
 * plot worked or not, so the stream stays in step; `print` goes to the same
 * stdio stream as the image (`set print '-'` is stdout), so it cannot overtake
 * it, and gnuplot flushes it.  It is checked only at the end of what was read
 * (gnuplot writes nothing after it), so the cost is O(1) per read.  A PNG
 * could in theory contain the marker's bytes, but it holds 64 random bits and
 * a counter, and a false match would anyway fail the validation that follows:
 * the bytes before the marker must be one whole image, a PNG walked chunk by
 * chunk to its IEND ending exactly there, or an SVG ending in "</svg>".
 * Measured (bench-chart, 720x320, 100 points): a render through the pool
 * takes the same time as a bare persistent gnuplot fed the same script
 * (~7 ms SVG, ~14 ms PNG; ratio 0.97-1.01).
 *
 * Deadlines: the pipes are non-blocking on our side and one poll() loop writes
 * the script and reads stdout and stderr (a big script and a big image cannot
 * deadlock), until the marker, EOF (gnuplot died), a write error (EPIPE) or
 * the deadline.  On any of those the process is killed (SIGKILL), reaped and
 * started again before the slot is released, so the next render works.  A
 * slot whose gnuplot is found dead when a render takes it (EOF on stdout, or
 * waitpid says it exited) is restarted first.
 *
 * Escaping and the text of the scripts: see chart_script.c.
 *
 * Cache: a fixed table of CACHE_SLOTS entries, keyed by a serialisation of the
 * whole spec (kind, format, size, every string and number; NaNs made equal)
 * with a 64-bit FNV-1a hash for the quick test and a full comparison after,
 * least recently used evicted; one mutex.
 */
#include "render/chart.h"
#include "render/chart_internal.h"
#include "util/buf.h"
#include "util/time.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define CACHE_SLOTS 256
#define STDERR_TAIL 512

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen,
							    const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- image validation ---- */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Length of the whole PNG at the start of d (signature, chunks, IEND), or 0. */
static size_t png_length(const unsigned char *d, size_t n)
{
	static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	if (n < 8 || memcmp(d, sig, 8) != 0)
		return 0;
	size_t off = 8;
	while (n - off >= 12) {
		uint32_t clen = be32(d + off);
		if (clen > n - off - 12)
			return 0;
		bool iend = memcmp(d + off + 4, "IEND", 4) == 0;
		off += 12 + (size_t)clen;
		if (iend)
			return off;
	}
	return 0;
}

/* Length of the SVG in d (through "</svg>" and its newline), or 0. */
static size_t svg_length(const unsigned char *d, size_t n)
{
	static const char end[] = "</svg>";
	size_t el = sizeof end - 1;
	if (n < 5 || (memcmp(d, "<?xml", 5) != 0 && memcmp(d, "<svg", 4) != 0))
		return 0;
	size_t i = n;
	while (i >= el) {
		if (memcmp(d + i - el, end, el) == 0) {
			if (i < n && d[i] == '\n')
				i++;
			return i;
		}
		i--;
		if (n - i > 64)
			return 0; /* only whitespace may follow */
	}
	return 0;
}

/* ---- the pool ---- */

struct worker {
	pid_t pid; /* -1: not running */
	int in, out, errfd;
	bool busy;
	uint64_t seq;
	char nonce[17];
};

struct cache_entry {
	uint64_t hash, tick;
	unsigned char *key, *data;
	size_t keylen, len;
};

struct chart_pool {
	char *path;
	double timeout_s;
	int size;
	struct worker *w;
	pthread_mutex_t mu; /* workers' busy flags, pids, stats */
	pthread_cond_t cv;
	struct chart_stats st;
	pthread_mutex_t cache_mu;
	struct cache_entry cache[CACHE_SLOTS];
	uint64_t tick;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void worker_close(struct worker *w)
{
	close_fd(&w->in);
	close_fd(&w->out);
	close_fd(&w->errfd);
}

/* SIGKILL and reap. */
static void worker_kill(struct worker *w)
{
	if (w->pid > 0) {
		kill(w->pid, SIGKILL);
		while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	w->pid = -1;
	worker_close(w);
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static int worker_spawn(struct worker *w, const char *path, char *err, size_t errlen)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int rc;

	w->pid = -1;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0) {
		rc = -errno;
		set_err(err, errlen, "chart: pipe: %s", strerror(-rc));
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, er[1], 2);
	posix_spawnattr_init(&at);
	sigset_t none, def;
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGHUP);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	char *argv[] = {(char *)path, (char *)"-d", NULL};
	pid_t pid;
	rc = posix_spawn(&pid, path, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc != 0) {
		set_err(err, errlen, "chart: cannot run %s: %s", path, strerror(rc));
		rc = -rc;
		goto fail;
	}
	close(in[0]);
	close(out[1]);
	close(er[1]);
	w->pid = pid;
	w->in = in[1];
	w->out = out[0];
	w->errfd = er[0];
	set_nonblock(w->in);
	set_nonblock(w->out);
	set_nonblock(w->errfd);
	unsigned char r[8];
	chart_random(r, sizeof r);
	for (int i = 0; i < 8; i++)
		snprintf(w->nonce + 2 * i, 3, "%02x", r[i]);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		close_fd(&in[i]);
		close_fd(&out[i]);
		close_fd(&er[i]);
	}
	return rc;
}

/* True when the worker's process is still there: not exited, stdout not at
 * EOF.  Discards anything left unread. */
static bool worker_alive(struct chart_pool *p, struct worker *w)
{
	if (w->pid <= 0)
		return false;
	if (waitpid(w->pid, NULL, WNOHANG) == w->pid) {
		pthread_mutex_lock(&p->mu);
		w->pid = -1; /* reaped: never signal that pid again */
		pthread_mutex_unlock(&p->mu);
		return false;
	}
	char tmp[4096];
	for (int fd = 0; fd < 2; fd++) {
		int f = fd ? w->errfd : w->out;
		for (;;) {
			ssize_t r = read(f, tmp, sizeof tmp);
			if (r > 0)
				continue;
			if (r == 0)
				return false;
			if (errno == EINTR)
				continue;
			break; /* EAGAIN */
		}
	}
	return true;
}

static void tail_add(char *tail, size_t *tl, const char *d, size_t n)
{
	if (n >= STDERR_TAIL - 1) {
		d += n - (STDERR_TAIL - 1);
		n = STDERR_TAIL - 1;
	}
	if (*tl + n > STDERR_TAIL - 1) {
		size_t drop = *tl + n - (STDERR_TAIL - 1);
		memmove(tail, tail + drop, *tl - drop);
		*tl -= drop;
	}
	memcpy(tail + *tl, d, n);
	*tl += n;
	tail[*tl] = '\0';
}

/* The last line of gnuplot's stderr worth showing, cleaned for a log line. */
static void tail_summary(const char *tail, char *out, size_t outlen)
{
	char clean[STDERR_TAIL];
	size_t k = 0;
	for (size_t i = 0; tail[i] && k + 1 < sizeof clean; i++) {
		unsigned char c = (unsigned char)tail[i];
		if (c == '\n' || c == '\r' || c == '\t')
			c = ' ';
		if (c < 0x20)
			continue;
		if (c == ' ' && k > 0 && clean[k - 1] == ' ')
			continue;
		clean[k++] = (char)c;
	}
	while (k > 0 && clean[k - 1] == ' ')
		k--;
	clean[k] = '\0';
	const char *s = clean;
	if (k > 200)
		s = clean + k - 200;
	if (!*s)
		s = "(nothing on stderr)";
	size_t l = strlen(s);
	if (outlen == 0)
		return;
	if (l >= outlen)
		l = outlen - 1;
	memcpy(out, s, l);
	out[l] = '\0';
}

enum run_result { RUN_OK, RUN_DIED, RUN_TIMEOUT };

/* Writes the script and the marker epilogue; reads stdout into out up to the
 * marker (removed).  Stderr goes to tail. */
static enum run_result worker_run(struct worker *w, const char *script, size_t slen,
				  double timeout_s, struct buf *out, char *tail, char *err,
				  size_t errlen)
{
	char marker[64];
	int ml = snprintf(marker, sizeof marker, "MIZAN-END-%s-%llu\n", w->nonce,
			  (unsigned long long)++w->seq);
	char epi[128];
	int el = snprintf(epi, sizeof epi, "set print '-'\nprint '%.*s'\nunset print\n", ml - 1,
			  marker);
	struct buf in = {0};
	buf_add(&in, script, slen);
	buf_add(&in, epi, (size_t)el);
	if (in.oom) {
		buf_free(&in);
		set_err(err, errlen, "chart: out of memory");
		return RUN_DIED;
	}
	size_t woff = 0, tl = 0;
	tail[0] = '\0';
	double deadline = time_mono() + timeout_s;
	enum run_result res = RUN_DIED;
	char tmp[65536];

	for (;;) {
		if (out->len >= (size_t)ml &&
		    memcmp(out->p + out->len - (size_t)ml, marker, (size_t)ml) == 0) {
			buf_truncate(out, out->len - (size_t)ml);
			res = RUN_OK;
			break;
		}
		double left = deadline - time_mono();
		if (left <= 0) {
			set_err(err, errlen, "chart: gnuplot timed out after %.3g s (killed)",
				timeout_s);
			res = RUN_TIMEOUT;
			break;
		}
		struct pollfd pf[3];
		int np = 0, iout, ierr, iin = -1;
		pf[np] = (struct pollfd){.fd = w->out, .events = POLLIN};
		iout = np++;
		pf[np] = (struct pollfd){.fd = w->errfd, .events = POLLIN};
		ierr = w->errfd >= 0 ? np++ : -1;
		if (woff < in.len) {
			pf[np] = (struct pollfd){.fd = w->in, .events = POLLOUT};
			iin = np++;
		}
		int ms = (int)ceil(left * 1000);
		int pr = poll(pf, (nfds_t)np, ms > 0 ? ms : 1);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			set_err(err, errlen, "chart: poll: %s", strerror(errno));
			break;
		}
		if (iin >= 0 && pf[iin].revents) {
			ssize_t wr = write(w->in, in.p + woff, in.len - woff);
			if (wr > 0) {
				woff += (size_t)wr;
			} else if (wr < 0 && errno != EAGAIN && errno != EINTR) {
				set_err(err, errlen, "chart: gnuplot died (write: %s)",
					strerror(errno));
				break;
			}
		}
		if (ierr >= 0 && pf[ierr].revents) {
			ssize_t r = read(w->errfd, tmp, sizeof tmp);
			if (r > 0)
				tail_add(tail, &tl, tmp, (size_t)r);
			else if (r == 0)
				close_fd(&w->errfd); /* stdout's EOF tells */
		}
		if (pf[iout].revents) {
			ssize_t r = read(w->out, tmp, sizeof tmp);
			if (r > 0) {
				buf_add(out, tmp, (size_t)r);
				if (out->oom) {
					set_err(err, errlen, "chart: out of memory");
					break;
				}
			} else if (r == 0) {
				char sum[256];
				tail_summary(tail, sum, sizeof sum);
				set_err(err, errlen, "chart: gnuplot died (EOF): %s", sum);
				break;
			} else if (errno != EAGAIN && errno != EINTR) {
				set_err(err, errlen, "chart: read: %s", strerror(errno));
				break;
			}
		}
	}
	buf_free(&in);
	return res;
}

int chart_pool_start(struct chart_pool **out, const char *gnuplot_path, int size, double timeout_s,
		     char *err, size_t errlen)
{
	*out = NULL;
	if (!gnuplot_path || !*gnuplot_path || size < 1 || size > 256 || !(timeout_s > 0)) {
		set_err(err, errlen, "chart: bad pool parameters");
		return -EINVAL;
	}
	struct chart_pool *p = calloc(1, sizeof *p);
	if (!p || !(p->path = strdup(gnuplot_path)) || !(p->w = calloc((size_t)size, sizeof *p->w))) {
		if (p)
			free(p->path);
		free(p);
		set_err(err, errlen, "chart: out of memory");
		return -ENOMEM;
	}
	p->size = size;
	p->timeout_s = timeout_s;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	pthread_mutex_init(&p->cache_mu, NULL);
	for (int i = 0; i < size; i++) {
		p->w[i].pid = -1;
		p->w[i].in = p->w[i].out = p->w[i].errfd = -1;
	}
	for (int i = 0; i < size; i++) {
		int rc = worker_spawn(&p->w[i], p->path, err, errlen);
		if (rc < 0) {
			chart_pool_stop(p);
			return rc;
		}
	}
	*out = p;
	return 0;
}

void chart_pool_stop(struct chart_pool *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->size; i++) {
		struct worker *w = &p->w[i];
		if (w->pid > 0) {
			/* EOF on stdin makes gnuplot exit; give it a moment. */
			close_fd(&w->in);
			for (int k = 0; k < 20; k++) {
				pid_t r = waitpid(w->pid, NULL, WNOHANG);
				if (r == w->pid || (r < 0 && errno == ECHILD)) {
					w->pid = -1;
					break;
				}
				struct timespec ts = {0, 5 * 1000 * 1000};
				nanosleep(&ts, NULL);
			}
		}
		worker_kill(w);
	}
	for (int i = 0; i < CACHE_SLOTS; i++) {
		free(p->cache[i].key);
		free(p->cache[i].data);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->cache_mu);
	free(p->w);
	free(p->path);
	free(p);
}

/* ---- the cache ---- */

static void key_str(struct buf *k, const char *s)
{
	uint64_t n = s ? strlen(s) : UINT64_MAX;
	buf_add(k, &n, sizeof n);
	if (s)
		buf_add(k, s, strlen(s));
}

static void key_num(struct buf *k, double v)
{
	if (isnan(v))
		v = NAN; /* one NaN */
	buf_add(k, &v, sizeof v);
}

static void spec_key(struct buf *k, const struct chart_spec *s)
{
	int w, h;
	chart_size(s, &w, &h);
	int32_t hdr[4] = {(int32_t)s->kind, (int32_t)s->format, w, h};
	buf_add(k, hdr, sizeof hdr);
	key_str(k, s->title);
	key_str(k, s->unit);
	key_str(k, s->lang);
	key_num(k, s->target_low);
	key_num(k, s->target_high);
	key_num(k, s->warn);
	key_num(k, s->forecast);
	uint64_t n = s->points ? s->n : 0;
	buf_add(k, &n, sizeof n);
	for (size_t i = 0; i < n; i++) {
		key_str(k, s->points[i].label);
		key_num(k, s->points[i].value);
	}
	uint8_t per_point = s->targets != NULL;
	buf_add(k, &per_point, 1);
	for (size_t i = 0; per_point && i < n; i++) {
		key_num(k, s->targets[i].low);
		key_num(k, s->targets[i].high);
		key_num(k, s->targets[i].warn);
	}
}

static uint64_t fnv1a(const void *d, size_t n)
{
	const unsigned char *p = d;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static unsigned char *cache_get(struct chart_pool *p, uint64_t h, const struct buf *k,
				size_t *len)
{
	unsigned char *res = NULL;
	pthread_mutex_lock(&p->cache_mu);
	for (int i = 0; i < CACHE_SLOTS; i++) {
		struct cache_entry *e = &p->cache[i];
		if (e->data && e->hash == h && e->keylen == k->len &&
		    memcmp(e->key, k->p, k->len) == 0) {
			res = malloc(e->len ? e->len : 1);
			if (res) {
				memcpy(res, e->data, e->len);
				*len = e->len;
				e->tick = ++p->tick;
			}
			break;
		}
	}
	pthread_mutex_unlock(&p->cache_mu);
	return res;
}

static void cache_put(struct chart_pool *p, uint64_t h, struct buf *k, const unsigned char *d,
		      size_t len)
{
	unsigned char *copy = malloc(len ? len : 1);
	if (!copy)
		return;
	memcpy(copy, d, len);
	pthread_mutex_lock(&p->cache_mu);
	/* The same key (two threads rendered it at once), else an empty slot,
	 * else the least recently used one. */
	struct cache_entry *victim = NULL;
	for (int i = 0; i < CACHE_SLOTS; i++) {
		struct cache_entry *e = &p->cache[i];
		if (e->data && e->hash == h && e->keylen == k->len &&
		    memcmp(e->key, k->p, k->len) == 0) {
			victim = e;
			break;
		}
		if (!victim || (victim->data && (!e->data || e->tick < victim->tick)))
			victim = e;
	}
	free(victim->key);
	free(victim->data);
	victim->keylen = k->len;
	victim->key = (unsigned char *)buf_take(k, NULL); /* takes the key */
	victim->hash = h;
	victim->data = copy;
	victim->len = len;
	victim->tick = ++p->tick;
	pthread_mutex_unlock(&p->cache_mu);
}

/* ---- rendering ---- */

static struct worker *acquire(struct chart_pool *p)
{
	pthread_mutex_lock(&p->mu);
	for (;;) {
		for (int i = 0; i < p->size; i++) {
			if (!p->w[i].busy) {
				p->w[i].busy = true;
				pthread_mutex_unlock(&p->mu);
				return &p->w[i];
			}
		}
		pthread_cond_wait(&p->cv, &p->mu);
	}
}

static void release(struct chart_pool *p, struct worker *w)
{
	pthread_mutex_lock(&p->mu);
	w->busy = false;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* Kills (if running) and starts the worker's gnuplot again; counts a restart.
 * The pid is changed under the pool mutex for chart_pool_pid(). */
static int restart(struct chart_pool *p, struct worker *w, char *err, size_t errlen)
{
	struct worker nw = *w;
	worker_kill(&nw);
	int rc = worker_spawn(&nw, p->path, err, errlen);
	pthread_mutex_lock(&p->mu);
	*w = nw;
	w->busy = true;
	p->st.restarts++;
	pthread_mutex_unlock(&p->mu);
	return rc;
}

unsigned char *chart_render(struct chart_pool *p, const struct chart_spec *s, size_t *len,
			    char *err, size_t errlen)
{
	if (!p || !s || !len) {
		set_err(err, errlen, "chart: bad arguments");
		return NULL;
	}
	*len = 0;
	struct buf key = {0};
	uint64_t h = 0;
	if (!s->no_cache) {
		spec_key(&key, s);
		if (key.oom) {
			buf_free(&key);
			set_err(err, errlen, "chart: out of memory");
			return NULL;
		}
		h = fnv1a(key.p, key.len);
		unsigned char *hit = cache_get(p, h, &key, len);
		if (hit) {
			buf_free(&key);
			pthread_mutex_lock(&p->mu);
			p->st.cache_hits++;
			pthread_mutex_unlock(&p->mu);
			return hit;
		}
	}
	char *script = chart_script(s);
	if (!script) {
		buf_free(&key);
		set_err(err, errlen, "chart: out of memory");
		return NULL;
	}

	struct worker *w = acquire(p);
	unsigned char *res = NULL;
	struct buf out = {0};
	char tail[STDERR_TAIL];
	if (!worker_alive(p, w) && restart(p, w, err, errlen) < 0)
		goto done;
	enum run_result rr =
		worker_run(w, script, strlen(script), p->timeout_s, &out, tail, err, errlen);
	if (rr != RUN_OK) {
		if (rr == RUN_TIMEOUT) {
			pthread_mutex_lock(&p->mu);
			p->st.timeouts++;
			pthread_mutex_unlock(&p->mu);
		}
		char e2[128];
		restart(p, w, e2, sizeof e2); /* a failed spawn is retried by the next render */
		goto done;
	}
	const unsigned char *d = (const unsigned char *)(out.p ? out.p : "");
	size_t il = s->format == CHART_PNG ? png_length(d, out.len) : svg_length(d, out.len);
	if (il == 0 || (s->format == CHART_PNG && il != out.len)) {
		char sum[256];
		tail_summary(tail, sum, sizeof sum);
		set_err(err, errlen, "chart: gnuplot made no image: %s", sum);
		goto done;
	}
	res = malloc(il);
	if (!res) {
		set_err(err, errlen, "chart: out of memory");
		goto done;
	}
	memcpy(res, d, il);
	*len = il;
	pthread_mutex_lock(&p->mu);
	p->st.renders++;
	pthread_mutex_unlock(&p->mu);
done:
	release(p, w);
	if (res && !s->no_cache)
		cache_put(p, h, &key, res, *len);
	buf_free(&key);
	buf_free(&out);
	free(script);
	return res;
}

void chart_pool_stats(struct chart_pool *p, struct chart_stats *out)
{
	pthread_mutex_lock(&p->mu);
	*out = p->st;
	pthread_mutex_unlock(&p->mu);
}

int chart_pool_pid(struct chart_pool *p, int i)
{
	if (!p || i < 0 || i >= p->size)
		return -1;
	pthread_mutex_lock(&p->mu);
	int pid = p->w[i].pid;
	pthread_mutex_unlock(&p->mu);
	return pid;
}
