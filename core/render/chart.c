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
 * Escaping: every string from configuration or events reaches gnuplot as
 * literal text.  Verified with gnuplot 5.4.4:
 *   - backquotes run a shell command in unquoted and double-quoted text, but
 *     not inside single-quoted strings ('`touch x`' stays literal);
 *   - @name macros expand in command lines (always on in 5.4), but not inside
 *     single-quoted strings;
 *   - backslash escapes are interpreted only in double-quoted strings;
 *   - in a single-quoted string, '' stands for one quote, but two in a row
 *     ('a''''b') are a syntax error in 5.4.4;
 *   - the macro expander's quote tracking is fooled by a ' inside double
 *     quotes: in  print 'a'."'".'b @foo'  the @foo IS expanded;
 *   - enhanced-text markup (^ _ @ & ~ { } \) is interpreted by the terminal
 *     for any string unless the terminal is `noenhanced`.
 * So every such string is written single-quoted, and a ' in it as the
 * variable mz_q, defined as "'" on a line of its own (no @, no backquote
 * there): it's -> 'it'.mz_q.'s'.  Every command line then holds only balanced
 * single-quoted strings, and a lone " ` @ \ # ; inside them stays literal
 * (verified: print 'a " b', ' @foo' prints @foo; ' `touch f`' creates
 * nothing).  Control characters (newlines, tabs, ESC...) become spaces,
 * invalid UTF-8 '?', and the terminals are `noenhanced` (no chart needs
 * markup).  Labels never go into datablocks: the datablocks hold only numbers
 * (x index and values, "NaN" for gaps), so no label can end a block or add a
 * column, and the tick labels are given as `set xtics ('label' 0, ...)`.  The
 * datablock terminator is still random per script.  Datablock lines are raw
 * text to gnuplot (no backquote or macro expansion there either).
 *
 * Arabic: the text stays UTF-8 (`set encoding utf8`).  In SVG the browser
 * shapes it and orders it right to left; pngcairo draws text with pango,
 * which shapes Arabic and applies the bidi algorithm.  The font is DejaVu
 * Sans, which has Arabic glyphs (fontconfig falls back for the rest).
 *
 * Cache: a fixed table of CACHE_SLOTS entries, keyed by a serialisation of the
 * whole spec (kind, format, size, every string and number; NaNs made equal)
 * with a 64-bit FNV-1a hash for the quick test and a full comparison after,
 * least recently used evicted; one mutex.
 */
#include "render/chart.h"
#include "util/buf.h"
#include "util/time.h"
#include "util/utf8.h"

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
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define CACHE_SLOTS 256
#define STDERR_TAIL 512
#define LABEL_MAX_BYTES 128
#define TEXT_MAX_BYTES 240

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

/* ---- script generation ---- */

/* Appends a gnuplot string expression whose value is s, literally (see the
 * escaping notes at the top), cut to at most max bytes of s (on a character
 * boundary, "…" marking the cut).  Runs without quotes are single-quoted;
 * each ' becomes the variable mz_q (set to "'" on a line of its own by the
 * script) joined with `.`: see the escaping notes at the top. */
static void put_quoted(struct buf *b, const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)u), used = 0;
	bool open = false, any = false;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_decode((const char *)u + i, n - i, NULL);
		if (used + (l ? l : 1) > max) {
			if (!open)
				buf_puts(b, any ? ".'" : "'");
			open = any = true;
			buf_puts(b, "\xe2\x80\xa6");
			break;
		}
		if (l == 1 && u[i] == '\'') {
			if (open)
				buf_add(b, "'", 1);
			buf_puts(b, any ? ".mz_q" : "mz_q");
			open = false;
			any = true;
			i++;
			used++;
			continue;
		}
		if (!open) {
			buf_puts(b, any ? ".'" : "'");
			open = any = true;
		}
		if (l == 0) {
			buf_add(b, "?", 1);
			i++;
			used++;
		} else if (l == 1) {
			unsigned char c = u[i];
			buf_add(b, c < 0x20 || c == 0x7f ? (const unsigned char *)" " : &u[i], 1);
			i++;
			used++;
		} else {
			/* C1 controls (U+0080..U+009F) become spaces too. */
			if (l == 2 && u[i] == 0xc2 && u[i + 1] < 0xa0)
				buf_add(b, " ", 1);
			else
				buf_add(b, &u[i], l);
			i += l;
			used += l;
		}
	}
	if (open)
		buf_add(b, "'", 1);
	else if (!any)
		buf_puts(b, "''");
}

/* A number for a datablock or a command: finite values in full precision,
 * anything else "NaN" (a gap for gnuplot). */
static void put_num(struct buf *b, double v)
{
	if (isfinite(v))
		buf_printf(b, "%.17g", v);
	else
		buf_puts(b, "NaN");
}

static void default_size(const struct chart_spec *s, int *w, int *h)
{
	int dw = 720, dh = 320;
	if (s->kind == CHART_BARS)
		dh = 360;
	else if (s->kind == CHART_SPARK)
		dw = 120, dh = 32;
	*w = s->width > 0 ? s->width : dw;
	*h = s->height > 0 ? s->height : dh;
	if (*w > 8000)
		*w = 8000;
	if (*h > 8000)
		*h = 8000;
}

static bool set_bound(double v)
{
	return isfinite(v);
}

static void random_bytes(void *p, size_t n)
{
	static uint64_t fallback;
	if (getrandom(p, n, GRND_NONBLOCK) == (ssize_t)n)
		return;
	uint64_t x = __atomic_add_fetch(&fallback, 0x9e3779b97f4a7c15ull, __ATOMIC_RELAXED) ^
		     (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	for (size_t i = 0; i < n; i++) {
		x ^= x >> 33;
		x *= 0xff51afd7ed558ccdull;
		((unsigned char *)p)[i] = (unsigned char)x;
	}
}

/* Opens datablock `name`; returns the terminator to pass to end_block(). */
static void begin_block(struct buf *b, const char *name, const char *eod)
{
	buf_printf(b, "$%s << %s\n", name, eod);
}

static void end_block(struct buf *b, const char *eod)
{
	buf_printf(b, "%s\n", eod);
}

/* The shaded warning bands (lines false) or the target lines (lines true), as
 * plot elements (each starting with ", " unless first) over x in [x0, x1]. */
static void put_targets(struct buf *data, struct buf *plot, const struct chart_spec *s, double x0,
			double x1, const char *eod, bool *first, bool lines)
{
	double lo = s->target_low, hi = s->target_high;
	bool band = isfinite(s->warn) && s->warn > 0;
	struct {
		bool on;
		double a, b;
		const char *name;
	} bands[2] = {
		{set_bound(lo) && band, lo * (1 - s->warn), lo, "mz_bandlo"},
		{set_bound(hi) && band, hi, hi * (1 + s->warn), "mz_bandhi"},
	};
	for (int i = 0; i < 2 && !lines; i++) {
		if (!bands[i].on || !isfinite(bands[i].a) || !isfinite(bands[i].b))
			continue;
		double a = fmin(bands[i].a, bands[i].b), c = fmax(bands[i].a, bands[i].b);
		begin_block(data, bands[i].name, eod);
		for (int k = 0; k < 2; k++) {
			put_num(data, k ? x1 : x0);
			buf_add(data, " ", 1);
			put_num(data, a);
			buf_add(data, " ", 1);
			put_num(data, c);
			buf_add(data, "\n", 1);
		}
		end_block(data, eod);
		buf_printf(plot,
			   "%s$%s using 1:2:3 with filledcurves fc rgb '#f9a825' "
			   "fs transparent solid 0.25 noborder notitle",
			   *first ? "" : ", ", bands[i].name);
		*first = false;
	}
	double t[2] = {lo, hi};
	const char *names[2] = {"mz_tlo", "mz_thi"};
	for (int i = 0; i < 2 && lines; i++) {
		if (!set_bound(t[i]))
			continue;
		begin_block(data, names[i], eod);
		for (int k = 0; k < 2; k++) {
			put_num(data, k ? x1 : x0);
			buf_add(data, " ", 1);
			put_num(data, t[i]);
			buf_add(data, "\n", 1);
		}
		end_block(data, eod);
		buf_printf(plot,
			   "%s$%s using 1:2 with lines dt 2 lw %s lc rgb '#2e7d32' notitle",
			   *first ? "" : ", ", names[i], s->kind == CHART_SPARK ? "0.8" : "1.5");
		*first = false;
	}
}

static void put_xtics(struct buf *b, const struct chart_spec *s, int w)
{
	size_t n = s->n;
	if (n == 0) {
		buf_puts(b, "unset xtics\n");
		return;
	}
	size_t step = 1;
	if (s->kind == CHART_SERIES) {
		size_t maxticks = (size_t)(w / 70 > 2 ? w / 70 : 2);
		step = (n + maxticks - 1) / maxticks;
		if (step < 1)
			step = 1;
	}
	bool rotate = s->kind == CHART_BARS && n > (size_t)(w / 90 > 1 ? w / 90 : 1);
	buf_printf(b, "set xtics nomirror scale 0.5%s (", rotate ? " rotate by -35" : "");
	bool first = true;
	/* Count from the last point back so the open period always has its label. */
	size_t start = (n - 1) % step;
	for (size_t i = start; i < n; i += step) {
		if (!first)
			buf_add(b, ", ", 2);
		put_quoted(b, s->points[i].label, LABEL_MAX_BYTES);
		buf_printf(b, " %zu", i);
		first = false;
	}
	buf_puts(b, ")\n");
}

static char *script_with_eod(const struct chart_spec *s, const char *eod)
{
	struct buf b = {0}, data = {0}, plot = {0};
	int w, h;
	default_size(s, &w, &h);
	size_t n = s->points ? s->n : 0;

	buf_puts(&b, "reset\nset encoding utf8\nmz_q = \"'\"\n");
	if (s->format == CHART_PNG)
		buf_printf(&b,
			   "set terminal pngcairo size %d,%d noenhanced font 'DejaVu Sans,%d' "
			   "background '#ffffff'\n",
			   w, h, s->kind == CHART_SPARK ? 7 : 10);
	else
		buf_printf(&b,
			   "set terminal svg size %d,%d dynamic noenhanced font 'DejaVu Sans,%d' "
			   "background '#ffffff'\n",
			   w, h, s->kind == CHART_SPARK ? 7 : 10);
	buf_puts(&b, "set output\nunset key\n");

	double x0 = -0.5, x1 = n ? (double)n - 0.5 : 0.5;
	buf_printf(&b, "set xrange [%g:%g]\n", x0, x1);

	if (s->kind == CHART_SPARK) {
		buf_puts(&b, "unset border\nunset xtics\nunset ytics\nunset title\n"
			     "set lmargin at screen 0.03\nset rmargin at screen 0.97\n"
			     "set tmargin at screen 0.9\nset bmargin at screen 0.1\n");
	} else {
		if (s->title && *s->title) {
			buf_puts(&b, "set title ");
			put_quoted(&b, s->title, TEXT_MAX_BYTES);
			buf_puts(&b, " font ',12'\n");
		}
		if (s->unit && *s->unit) {
			buf_puts(&b, "set ylabel ");
			put_quoted(&b, s->unit, TEXT_MAX_BYTES);
			buf_puts(&b, "\n");
		}
		buf_puts(&b, "set border 3 lc rgb '#666666'\nset ytics nomirror\n"
			     "set grid ytics lc rgb '#dddddd' dt 1\n");
		put_xtics(&b, s, w);
	}
	if (s->kind == CHART_BARS)
		buf_puts(&b, "set yrange [*<0:0<*]\nset boxwidth 0.7\n"
			     "set style fill solid 0.85 noborder\n");

	bool first = true;
	put_targets(&data, &plot, s, x0, x1, eod, &first, false); /* bands behind */

	bool any = false;
	begin_block(&data, "mz_d", eod);
	for (size_t i = 0; i < n; i++) {
		buf_printf(&data, "%zu ", i);
		put_num(&data, s->points[i].value);
		buf_add(&data, "\n", 1);
		any = any || isfinite(s->points[i].value);
	}
	end_block(&data, eod);
	if (any) {
		const char *style = s->kind == CHART_BARS ? "with boxes lc rgb '#1565c0'"
				    : s->kind == CHART_SPARK
					? "with lines lw 1.2 lc rgb '#1565c0'"
					: "with linespoints pt 7 ps 0.6 lw 2 lc rgb '#1565c0'";
		buf_printf(&plot, "%s$mz_d using 1:2 %s notitle", first ? "" : ", ", style);
		first = false;
	}
	put_targets(&data, &plot, s, x0, x1, eod, &first, true); /* targets over bars */
	if (s->kind == CHART_SPARK && any) {
		/* The last defined value, as a dot. */
		size_t last = n;
		while (last > 0 && !isfinite(s->points[last - 1].value))
			last--;
		begin_block(&data, "mz_last", eod);
		buf_printf(&data, "%zu ", last - 1);
		put_num(&data, s->points[last - 1].value);
		buf_add(&data, "\n", 1);
		end_block(&data, eod);
		buf_puts(&plot, ", $mz_last using 1:2 with points pt 7 ps 0.35 lc rgb '#1565c0' "
				"notitle");
	}
	if (s->kind == CHART_SERIES && n > 0 && isfinite(s->forecast) &&
	    isfinite(s->points[n - 1].value)) {
		begin_block(&data, "mz_fc", eod);
		buf_printf(&data, "%zu ", n - 1);
		put_num(&data, s->points[n - 1].value);
		buf_printf(&data, "\n%zu ", n - 1);
		put_num(&data, s->forecast);
		buf_add(&data, "\n", 1);
		end_block(&data, eod);
		buf_printf(&plot,
			   "%s$mz_fc using 1:2 with lines dt 3 lw 2 lc rgb '#1565c0' notitle, "
			   "$mz_fc every ::1::1 using 1:2 with points pt 6 ps 1 lw 1.5 "
			   "lc rgb '#1565c0' notitle",
			   first ? "" : ", ");
		first = false;
	}
	if (first) {
		/* Nothing to draw: an empty frame rather than a gnuplot error. */
		buf_puts(&b, "set yrange [0:1]\n");
		buf_puts(&plot, "NaN notitle");
	}

	buf_add(&b, data.p ? data.p : "", data.len);
	buf_puts(&b, "plot ");
	buf_add(&b, plot.p ? plot.p : "", plot.len);
	buf_puts(&b, "\nunset output\n");
	bool oom = data.oom || plot.oom;
	buf_free(&data);
	buf_free(&plot);
	if (oom) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b, NULL); /* NULL when b ran out of memory */
}

char *chart_script(const struct chart_spec *s)
{
	if (!s)
		return NULL;
	unsigned char r[8];
	random_bytes(r, sizeof r);
	char eod[32];
	snprintf(eod, sizeof eod, "MZEOD%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3],
		 r[4], r[5], r[6], r[7]);
	return script_with_eod(s, eod);
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
	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int worker_spawn(struct worker *w, const char *path, char *err, size_t errlen)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int rc;

	w->pid = -1;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(er, O_CLOEXEC) < 0) {
		set_err(err, errlen, "chart: pipe: %s", strerror(errno));
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
	random_bytes(r, sizeof r);
	for (int i = 0; i < 8; i++)
		snprintf(w->nonce + 2 * i, 3, "%02x", r[i]);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		close_fd(&in[i]);
		close_fd(&out[i]);
		close_fd(&er[i]);
	}
	return -1;
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
		return -1;
	}
	struct chart_pool *p = calloc(1, sizeof *p);
	if (!p || !(p->path = strdup(gnuplot_path)) || !(p->w = calloc((size_t)size, sizeof *p->w))) {
		if (p)
			free(p->path);
		free(p);
		set_err(err, errlen, "chart: out of memory");
		return -1;
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
		if (worker_spawn(&p->w[i], p->path, err, errlen) < 0) {
			chart_pool_stop(p);
			return -1;
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
	default_size(s, &w, &h);
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
