/* header_only.c - the public header must compile on its own, warning-free,
 * in strict C17 (and as C++). */
#include <mizan/plugin.h>
