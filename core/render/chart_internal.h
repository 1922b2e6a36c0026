/* chart_internal.h - what chart_script.c lends chart.c; not for other files. */
#ifndef MIZAN_RENDER_CHART_INTERNAL_H
#define MIZAN_RENDER_CHART_INTERNAL_H

#include <stddef.h>

#include "render/chart.h"

/* The spec's size in pixels: its own, else its kind's default, at most
 * 8000 each way.  Pure; any thread. */
void chart_size(const struct chart_spec *s, int *w, int *h);

/* n random bytes into p: getrandom, else (no entropy yet) a mix of a
 * counter, the time and the pid; for markers that must not be guessed by
 * chance, not for secrets.  Any thread. */
void chart_random(void *p, size_t n);

#endif
