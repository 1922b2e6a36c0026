/* static.c - the files of dashboards/static (CSS, JavaScript, icons),
 * read once at start and served from memory under /static/ with their type
 * and an hour's cache (see internal.h).  Only names found in the folder are
 * served, so no path leads out of it. */
#include "web/internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/buf.h"
#include "util/log.h"

struct static_file {
	char *name;
	const char *type; /* static */
	char *data;
	size_t len;
};

/* Written by web_static_load before the server starts, read-only after. */
static struct {
	struct static_file *v;
	size_t n;
	const char *css; /* mizan.css's bytes (in v), inlined into a downloaded report */
} files;

static const char *content_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".css", "text/css; charset=utf-8"},  {".js", "text/javascript; charset=utf-8"},
		{".svg", "image/svg+xml"},            {".png", "image/png"},
		{".ico", "image/x-icon"},             {".woff2", "font/woff2"},
		{".txt", "text/plain; charset=utf-8"}, {".json", "application/json"},
	};
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

enum MHD_Result web_static_file(struct page *pg, const char *name)
{
	for (size_t i = 0; i < files.n; i++)
		if (strcmp(files.v[i].name, name) == 0) {
			struct MHD_Response *resp = MHD_create_response_from_buffer(
				files.v[i].len, files.v[i].data, MHD_RESPMEM_PERSISTENT);
			if (!resp)
				return MHD_NO;
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, files.v[i].type);
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
						"public, max-age=3600");
			MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
			return http_queue(pg->c, pg->r, MHD_HTTP_OK, resp);
		}
	char *msg = strdup("no such file\n");
	return web_respond(pg, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", msg,
			   msg ? strlen(msg) : 0, NULL);
}

int web_static_load(const char *dir)
{
	DIR *dp = opendir(dir);
	if (!dp) {
		log_warn("dashboard: no static files in %s: %s", dir, strerror(errno));
		return 0;
	}
	struct dirent *e;
	while ((e = readdir(dp))) {
		const char *type = content_type(e->d_name);
		if (e->d_name[0] == '.' || !type)
			continue;
		char path[4096];
		int pn = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (pn < 0 || (size_t)pn >= sizeof(path))
			continue;
		struct stat st;
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		size_t len = 0;
		char *data = buf_read_file(path, &len);
		char *name = strdup(e->d_name);
		struct static_file *f = data && name ? realloc(files.v, (files.n + 1) * sizeof(*f)) : NULL;
		if (!f) {
			free(data);
			free(name);
			closedir(dp);
			return -1;
		}
		files.v = f;
		files.v[files.n++] = (struct static_file){name, type, data, len};
		if (strcmp(name, "mizan.css") == 0)
			files.css = data;
	}
	closedir(dp);
	return 0;
}

void web_static_free(void)
{
	for (size_t i = 0; i < files.n; i++) {
		free(files.v[i].name);
		free(files.v[i].data);
	}
	free(files.v);
	files.v = NULL;
	files.n = 0;
	files.css = NULL;
}

const char *web_static_css(void)
{
	return files.css;
}
