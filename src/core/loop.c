/*
 * loop.c: see include/telecounter/loop.h for why this exists.
 */
#include "telecounter/loop.h"

#include <glib.h>

void tc_loop_let_current_source_recurse(void)
{
    GSource *src = g_main_current_source();
    if (src && !g_source_get_can_recurse(src))
        g_source_set_can_recurse(src, TRUE);
}
