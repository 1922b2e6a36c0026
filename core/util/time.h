/* time.h - the one clock.
 *
 * Wall-clock time for what is stored, compared with event timestamps or
 * shown (milliseconds since the epoch, UTC); monotonic time for what is
 * measured or waited for (seconds, as a double: only differences mean
 * anything).  Every function here may be called from any thread; none
 * allocates, so there is nothing to free.
 */
#ifndef MIZAN_UTIL_TIME_H
#define MIZAN_UTIL_TIME_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* CLOCK_REALTIME, in milliseconds since 1970-01-01 UTC. */
int64_t time_now_ms(void);

/* CLOCK_MONOTONIC, in seconds. */
double time_mono(void);

/* Initialises *cv as a condition variable whose timed waits measure
 * CLOCK_MONOTONIC (so a change of the wall clock neither cuts a wait short
 * nor stretches it).  0, or a negative errno.  The caller destroys it with
 * pthread_cond_destroy. */
int time_cond_init(pthread_cond_t *cv);

/* The CLOCK_MONOTONIC instant `seconds` (>= 0) from now, as the absolute
 * deadline pthread_cond_timedwait wants for a condition variable made by
 * time_cond_init. */
struct timespec time_mono_after(double seconds);

#endif
