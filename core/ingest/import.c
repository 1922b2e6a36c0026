/* import.c - see import.h. */
#include "ingest/import.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ingest/batch.h"
#include "util/buf.h"
#include "util/time.h"

static struct event_limits limits_of(const struct config *c)
{
	return (struct event_limits){
		.attrs_bytes = c->attrs_bytes,
		.attrs_depth = c->attrs_depth,
		.csv_columns = (size_t)c->csv_columns,
		.future_ms = (int64_t)c->future_s * 1000,
		.now_ms = time_now_ms(),
	};
}

/* ---- progress --------------------------------------------------------------- */

struct progress {
	bool on;
	const char *what;
	double t0, last;
};

static void progress_draw(struct progress *p, double frac, size_t events, bool final)
{
	double t = time_mono();
	if (!p->on || (!final && t - p->last < 0.1))
		return;
	p->last = t;
	int width = 30, full = (int)(frac * width + 0.5);
	char bar[64];
	for (int i = 0; i < width; i++)
		bar[i] = i < full ? '#' : '.';
	bar[width] = '\0';
	double rate = t > p->t0 ? (double)events / (t - p->t0) : 0;
	fprintf(stderr, "\r%-24.24s [%s] %3.0f%% %zu events %.0f/s%s", p->what, bar, frac * 100, events,
		rate, final ? "\n" : "");
}

/* ---- chunks ------------------------------------------------------------------ */

/* Splits a file into bodies of at most `max` records, at line ends (CSV: at
 * line ends outside quotes). */
struct chunker {
	const char *p, *end;
	enum batch_format fmt;
	size_t line, max;
};

static bool next_chunk(struct chunker *k, const char **start, size_t *len, size_t *first_line)
{
	if (k->p >= k->end)
		return false;
	*start = k->p;
	*first_line = k->line;
	size_t records = 0;
	bool quoted = false;
	const char *q = k->p;
	for (; q < k->end; q++) {
		if (k->fmt == BATCH_CSV && *q == '"')
			quoted = !quoted;
		if (*q != '\n')
			continue;
		k->line++;
		if (!quoted && ++records == k->max) {
			q++;
			break;
		}
	}
	*len = (size_t)(q - k->p);
	k->p = q;
	return true;
}

static enum batch_format format_of(const char *path, const char *data, size_t len)
{
	const char *dot = strrchr(path, '.');
	if (dot && (strcmp(dot, ".csv") == 0 || strcmp(dot, ".CSV") == 0))
		return BATCH_CSV;
	if (dot && (strcmp(dot, ".ndjson") == 0 || strcmp(dot, ".jsonl") == 0))
		return BATCH_NDJSON;
	size_t i = 0;
	while (i < len && strchr(" \t\r\n", data[i]))
		i++;
	if (i < len && data[i] == '[')
		return BATCH_JSON;
	if (dot && strcmp(dot, ".json") == 0) {
		/* One object per line, or one object over several lines? */
		const char *nl = memchr(data + i, '\n', len - i);
		cJSON *first = nl ? cJSON_ParseWithLength(data + i, (size_t)(nl - data - i)) : NULL;
		bool ndjson = first != NULL;
		cJSON_Delete(first);
		return ndjson ? BATCH_NDJSON : BATCH_JSON;
	}
	return BATCH_NDJSON;
}

static void print_errors(FILE *errs, const char *path, const struct batch *b)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, b->errors)
	{
		const cJSON *line = cJSON_GetObjectItem(e, "line"), *idx = cJSON_GetObjectItem(e, "index");
		const char *field = cJSON_GetStringValue(cJSON_GetObjectItem(e, "field"));
		const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(e, "error"));
		if (line)
			fprintf(errs, "%s:%d: ", path, (int)line->valuedouble);
		else
			fprintf(errs, "%s: event %d: ", path, idx ? (int)idx->valuedouble : 0);
		fprintf(errs, "%s%s%s\n", field && *field ? field : "", field && *field ? ": " : "", msg);
	}
}

static int put(struct store *s, const struct event *ev, size_t n, struct import_stats *st,
	       const char *path, FILE *errs)
{
	struct store_put_result res;
	char err[STORE_ERRLEN];
	int rc = store_put_events(s, ev, n, &res, err);
	if (rc < 0) {
		fprintf(errs, "%s: not stored: %s\n", path, err);
		return rc;
	}
	st->accepted += res.accepted;
	st->duplicates += res.duplicates;
	return 0;
}

static bool is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\r\n", s[i]) || s[i] == '\0')
			return false;
	return true;
}

/* One pass over the file: validate only, or validate and store. */
static int pass(struct store *s, const struct config *c, const char *path, const char *data,
		size_t len, enum batch_format fmt, bool store, struct progress *pg,
		struct import_stats *st, FILE *errs)
{
	struct event_limits lim = limits_of(c);
	size_t max = (size_t)c->batch_events;
	int result = 0;

	if (fmt == BATCH_JSON) {
		/* A JSON document is parsed whole, then stored in slices. */
		struct batch b;
		int rc = batch_parse(&b, fmt, data, len, NULL, 1, &lim, SIZE_MAX);
		if (rc == -EINVAL)
			print_errors(errs, path, &b);
		for (size_t i = 0; rc == 0 && store && i < b.n; i += max) {
			size_t n = b.n - i < max ? b.n - i : max;
			rc = put(s, b.ev + i, n, st, path, errs);
			progress_draw(pg, (double)(i + n) / (double)b.n, i + n, false);
		}
		st->events = b.total;
		batch_free(&b);
		return rc;
	}

	struct chunker k = {data, data + len, fmt, 1, max};
	char *header = NULL;
	const char *start;
	size_t n, first;
	if (fmt == BATCH_CSV) {
		/* Every chunk after the first is parsed under the file's header. */
		const char *nl = memchr(data, '\n', len);
		size_t hl = nl ? (size_t)(nl - data) + 1 : len;
		header = strndup(data, hl);
		if (!header)
			return -ENOMEM;
	}
	st->events = 0;
	bool first_chunk = true;
	while (next_chunk(&k, &start, &n, &first)) {
		if (is_blank(start, n))
			continue; /* blank lines at the end */
		struct batch b;
		int rc = batch_parse(&b, fmt, start, n, first_chunk ? NULL : header, first, &lim, max);
		first_chunk = false;
		st->events += b.total;
		if (rc == -EINVAL) {
			print_errors(errs, path, &b);
			result = -EINVAL;
		} else if (rc < 0) {
			fprintf(errs, "%s:%zu: %s\n", path, first, strerror(-rc));
			batch_free(&b);
			result = rc;
			break;
		} else if (store && (rc = put(s, b.ev, b.n, st, path, errs)) < 0) {
			batch_free(&b);
			result = rc;
			break;
		}
		batch_free(&b);
		progress_draw(pg, (double)(k.p - data) / (double)len, st->events, false);
	}
	free(header);
	return result;
}

int import_file(struct store *s, const struct config *c, const char *path, bool progress,
		struct import_stats *st, FILE *errs)
{
	memset(st, 0, sizeof(*st));
	double t0 = time_mono();
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int rc = -errno;
		fprintf(errs, "%s: %s\n", path, strerror(-rc));
		return rc;
	}
	struct stat sb;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		fprintf(errs, "%s: not a regular file\n", path);
		close(fd);
		return -EINVAL;
	}
	size_t len = (size_t)sb.st_size;
	if (len == 0) {
		fprintf(errs, "%s: the file is empty\n", path);
		close(fd);
		return -EINVAL;
	}
	char *data = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (data == MAP_FAILED) {
		int rc = -errno;
		fprintf(errs, "%s: %s\n", path, strerror(-rc));
		return rc;
	}
	madvise(data, len, MADV_SEQUENTIAL);
	enum batch_format fmt = format_of(path, data, len);

	struct progress pg = {progress, "validating", t0, 0};
	int rc = pass(s, c, path, data, len, fmt, false, &pg, st, errs);
	if (rc == 0) {
		progress_draw(&pg, 1, st->events, true);
		pg = (struct progress){progress, "storing", time_mono(), 0};
		rc = pass(s, c, path, data, len, fmt, true, &pg, st, errs);
		progress_draw(&pg, 1, st->events, true);
	} else if (progress) {
		fputc('\n', stderr);
	}
	munmap(data, len);
	st->seconds = time_mono() - t0;
	return rc;
}

/* ---- demo --------------------------------------------------------------------- */

struct demo_sink {
	struct store *s;
	const struct config *c;
	struct event_limits lim;
	struct buf lines_text; /* the NDJSON lines since the last flush */
	size_t lines;
	struct import_stats *st;
	struct progress *pg;
	uint64_t total;
	FILE *errs;
	int rc;
};

static int flush_demo(struct demo_sink *d)
{
	struct batch b;
	int rc = batch_parse(&b, BATCH_NDJSON, d->lines_text.p, d->lines_text.len, NULL,
			     d->st->events + 1, &d->lim, d->lines);
	if (rc == -EINVAL)
		print_errors(d->errs, "demo", &b);
	if (rc == 0)
		rc = put(d->s, b.ev, b.n, d->st, "demo", d->errs);
	d->st->events += d->lines;
	batch_free(&b);
	buf_truncate(&d->lines_text, 0);
	d->lines = 0;
	progress_draw(d->pg, (double)d->st->events / (double)d->total, d->st->events, false);
	return rc;
}

static int demo_line(const char *line, size_t n, void *ud)
{
	struct demo_sink *d = ud;
	buf_add(&d->lines_text, line, n);
	buf_putc(&d->lines_text, '\n');
	if (d->lines_text.oom)
		return -ENOMEM;
	if (++d->lines == (size_t)d->c->batch_events)
		return flush_demo(d);
	return 0;
}

int import_demo(struct store *s, const struct config *c, const struct demo_opts *o,
		bool progress, struct import_stats *st, FILE *errs)
{
	memset(st, 0, sizeof(*st));
	struct progress pg = {progress, "loading demo events", time_mono(), 0};
	struct demo_sink d = {.s = s, .c = c, .lim = limits_of(c), .st = st, .pg = &pg,
			      .total = o->events ? o->events : 1, .errs = errs};
	int rc = demo_generate(o, demo_line, &d);
	if (rc == 0 && d.lines)
		rc = flush_demo(&d);
	buf_free(&d.lines_text);
	progress_draw(&pg, 1, st->events, true);
	st->seconds = time_mono() - pg.t0;
	return rc;
}
