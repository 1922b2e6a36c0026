/* indicator.c - the registry of indicators and the services plugins get. */
#include "eval/indicator.h"

#include <stddef.h>

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

const char *params_get(const struct mizan_params *p, const char *key)
{
	for (size_t i = 0; p && i < p->n; i++)
		if (strcmp(p->keys[i], key) == 0)
			return p->values[i];
	return NULL;
}

double params_number(const struct mizan_params *p, const char *key, double otherwise)
{
	const char *v = params_get(p, key);
	char *end;
	if (!v || !*v)
		return otherwise;
	double d = strtod(v, &end);
	return *end ? otherwise : d;
}

__attribute__((format(printf, 2, 3))) static void host_log(int level, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_msg(level <= 0 ? "error" : level == 1 ? "warn" : "info", "plugin: %s", line);
}

const struct mizan_host indicator_host = {
	.abi = MIZAN_PLUGIN_ABI,
	.size = sizeof(struct mizan_host),
	.log = host_log,
	.alloc = malloc,
	.free = free,
	.param = params_get,
	.param_number = params_number,
};

/* A new entry at the end of *v (grown by doubling), or NULL when memory
 * runs out. */
static struct load_error *push_entry(struct load_error **v, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 8;
		struct load_error *p = realloc(*v, c * sizeof(*p));
		if (!p)
			return NULL;
		*v = p;
		*cap = c;
	}
	return &(*v)[(*n)++];
}

/* The reason, cut to its field when the paths in it are long. */
__attribute__((format(printf, 2, 3))) static void set_reason(struct load_error *e,
							      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
	va_end(ap);
}

void registry_error(struct registry *r, const char *file, const char *fmt, ...)
{
	struct load_error *e = push_entry(&r->errors, &r->nerrors, &r->errcap);
	if (!e)
		return;
	va_list ap;
	snprintf(e->file, sizeof(e->file), "%s", file);
	va_start(ap, fmt);
	vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
	va_end(ap);
	log_warn("%s: refused: %s", e->file, e->reason);
}

int registry_clash(struct registry *r, const char *file, const struct indicator *other)
{
	registry_error(r, file,
		       "indicator '%s' is already provided by %s, found earlier in the search path "
		       "(list '%s' in plugins.replace to use that one and skip this one)",
		       other->name, other->origin, other->name);
	return -EEXIST;
}

bool registry_may_replace(const struct registry *r, const char *name)
{
	return r->replace && strlist_has(r->replace, name);
}

void registry_skip(struct registry *r, const char *file, const struct indicator *kept)
{
	struct load_error *e = push_entry(&r->notes, &r->nnotes, &r->notecap);
	if (!e)
		return;
	snprintf(e->file, sizeof(e->file), "%s", file);
	set_reason(e, "indicator '%s' skipped: %s provides it (plugins.replace)", kept->name,
		   kept->origin);
	log_info("%s: %s", e->file, e->reason);
}

struct indicator *registry_find(const struct registry *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i]->name, name) == 0)
			return r->v[i];
	return NULL;
}

int registry_add(struct registry *r, struct indicator *ind, const char *file)
{
	int rc = -EEXIST;
	struct indicator *other = registry_find(r, ind->name);
	if (other) {
		if (registry_may_replace(r, ind->name))
			registry_skip(r, file, other);
		else
			registry_clash(r, file, other);
		goto refuse;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct indicator **p = realloc(r->v, cap * sizeof(*p));
		if (!p) {
			registry_error(r, file, "out of memory");
			rc = -ENOMEM;
			goto refuse;
		}
		r->v = p;
		r->cap = cap;
	}
	ind->index = (int)r->n;
	r->v[r->n++] = ind;
	return 0;
refuse:
	if (ind->ops && ind->ops->unload)
		ind->ops->unload(ind);
	free(ind);
	return rc;
}

void registry_free(struct registry *r)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i]->ops && r->v[i]->ops->unload)
			r->v[i]->ops->unload(r->v[i]);
		free(r->v[i]);
	}
	free(r->v);
	free(r->errors);
	free(r->notes);
	memset(r, 0, sizeof(*r));
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int indicator_files(struct registry *r, const char *dir, const char *suffix, bool skip_hidden,
		    const char *what, struct strlist *out)
{
	*out = (struct strlist){0};
	DIR *d = opendir(dir);
	if (!d) {
		int rc = -errno;
		registry_error(r, dir, "cannot read the %s directory: %s", what, strerror(-rc));
		return rc;
	}
	size_t sl = strlen(suffix);
	int rc = 0;
	for (struct dirent *de; rc == 0 && (de = readdir(d));) {
		size_t len = strlen(de->d_name);
		if ((skip_hidden && de->d_name[0] == '.') || len <= sl ||
		    strcmp(de->d_name + len - sl, suffix) != 0)
			continue;
		rc = strlist_push(out, de->d_name);
	}
	closedir(d);
	if (rc < 0) {
		strlist_free(out);
		registry_error(r, dir, "out of memory listing the %s directory", what);
		return rc;
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), by_name);
	return 0;
}

#define MEMBER(m) {offsetof(struct mizan_event, m), sizeof(((struct mizan_event *)0)->m)}

const struct event_member event_members[F_NFIELDS] = {
	[F_ID] = MEMBER(id),
	[F_TS] = MEMBER(ts_ms),
	[F_MISSION] = MEMBER(mission),
	[F_COUNTRY] = MEMBER(country),
	[F_SEX] = MEMBER(sex),
	[F_AGE_GROUP] = MEMBER(age_group),
	[F_SERVICE] = MEMBER(service),
	[F_CHANNEL] = MEMBER(channel),
	[F_AUTOMATED] = MEMBER(automated),
	[F_OUTCOME] = MEMBER(outcome),
	[F_DURATION] = MEMBER(duration_min),
	[F_TITLE] = MEMBER(title),
	[F_PROGRAMME] = MEMBER(programme),
	[F_HOURS] = MEMBER(hours),
	[F_PARTICIPANTS] = MEMBER(participants),
	[F_COST] = MEMBER(cost),
	[F_BENEFIT] = MEMBER(benefit),
	[F_SECTOR] = MEMBER(sector),
	[F_CONTRIBUTION] = MEMBER(contribution),
	[F_AMOUNT] = MEMBER(amount),
	[F_CURRENCY] = MEMBER(currency),
	[F_CONTRIBUTORS] = MEMBER(contributors),
	[F_SUBJECT] = MEMBER(subject),
	[F_SCORE] = MEMBER(score),
	[F_SCALE] = MEMBER(scale),
	[F_ATTRS] = {0, 0},
};
