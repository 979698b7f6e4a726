/*
 * id_table: a GHashTable from a 64-bit id to a pointer, whose keys the table
 * owns. Tables keyed by a pointer into the value (`&conn->account_id`) break
 * when an entry's value is replaced: GLib keeps the old key, which dangles once
 * the replaced object is freed (the crash of issue 11). With owned keys an entry
 * never points into any object, so replacing or freeing values is always safe.
 *
 * Any thread, but a table is used by one thread at a time (GHashTable's rule).
 * Values are owned by the table only if value_free is given.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

/* value_free: called on a value when its entry is replaced or removed; NULL = borrowed. */
GHashTable *tc_id_table_create(GDestroyNotify value_free);
/* Sets id -> value, replacing (and freeing, if the table owns values) an older value. */
void tc_id_table_put(GHashTable *t, int64_t id, gpointer value);
gpointer tc_id_table_get(GHashTable *t, int64_t id);
/* Removes the entry (freeing its value if owned); true if there was one. */
gboolean tc_id_table_remove(GHashTable *t, int64_t id);
/* Removes the entry only if it maps to value: a connection that was replaced
 * must not unbind its successor. True if it was removed. */
gboolean tc_id_table_remove_if(GHashTable *t, int64_t id, gconstpointer value);
