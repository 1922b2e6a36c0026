/* chart_script.c - the gnuplot script a chart spec turns into (see chart.h).
 *
 * The script resets gnuplot, sets the terminal (svg or pngcairo, noenhanced),
 * writes the image to stdout (`set output` with no file), defines the data
 * as numeric datablocks, draws one `plot` and ends with `unset output`; the
 * pool (chart.c) sends it and adds its end marker.
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
 */
#include "render/chart.h"
#include "render/chart_internal.h"
#include "util/buf.h"
#include "util/utf8.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define LABEL_MAX_BYTES 128
#define TEXT_MAX_BYTES 240

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

void chart_size(const struct chart_spec *s, int *w, int *h)
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

void chart_random(void *p, size_t n)
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
/* One row of a step line over point i: from i - 0.5 to i + 0.5. */
static void put_step(struct buf *data, size_t i, double a, double c, bool two)
{
	for (int k = 0; k < 2; k++) {
		put_num(data, (double)i + (k ? 0.5 : -0.5));
		buf_add(data, " ", 1);
		put_num(data, a);
		if (two) {
			buf_add(data, " ", 1);
			put_num(data, c);
		}
		buf_add(data, "\n", 1);
	}
}

/* Per-point targets (s->targets): the bands (lines false) or the step lines
 * (lines true); a point without a bound breaks the line. */
static void put_step_targets(struct buf *data, struct buf *plot, const struct chart_spec *s,
			     const char *eod, bool *first, bool lines)
{
	static const char *const bands[2] = {"mz_bandlo", "mz_bandhi"}, *const steps[2] = {"mz_tlo", "mz_thi"};
	for (int side = 0; side < 2; side++) {
		bool any = false;
		begin_block(data, lines ? steps[side] : bands[side], eod);
		for (size_t i = 0; i < s->n; i++) {
			const struct chart_target *t = &s->targets[i];
			double bound = side ? t->high : t->low;
			bool band = isfinite(t->warn) && t->warn > 0;
			if (!set_bound(bound) || (!lines && !band)) {
				buf_add(data, "\n", 1); /* a gap */
				continue;
			}
			double a = bound, c = side ? bound * (1 + t->warn) : bound * (1 - t->warn);
			put_step(data, i, lines ? a : fmin(a, c), fmax(a, c), !lines);
			any = true;
		}
		end_block(data, eod);
		if (!any)
			continue;
		if (lines)
			buf_printf(plot,
				   "%s$%s using 1:2 with lines dt 2 lw %s lc rgb '#2e7d32' notitle",
				   *first ? "" : ", ", steps[side], s->kind == CHART_SPARK ? "0.8" : "1.5");
		else
			buf_printf(plot,
				   "%s$%s using 1:2:3 with filledcurves fc rgb '#f9a825' "
				   "fs transparent solid 0.25 noborder notitle",
				   *first ? "" : ", ", bands[side]);
		*first = false;
	}
}

static void put_targets(struct buf *data, struct buf *plot, const struct chart_spec *s, double x0,
			double x1, const char *eod, bool *first, bool lines)
{
	if (s->targets) {
		put_step_targets(data, plot, s, eod, first, lines);
		return;
	}
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
	chart_size(s, &w, &h);
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
	chart_random(r, sizeof r);
	char eod[32];
	snprintf(eod, sizeof eod, "MZEOD%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3],
		 r[4], r[5], r[6], r[7]);
	return script_with_eod(s, eod);
}
