/*
 * id_table.c: GHashTables with owned int64 keys (see the header for why).
 */
#include "telecounter/id_table.h"

GHashTable *tc_id_table_create(GDestroyNotify value_free)
{
    return g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, value_free);
}

void tc_id_table_put(GHashTable *t, int64_t id, gpointer value)
{
    /* replace, not insert: the table's key is the new copy either way */
    g_hash_table_replace(t, g_memdup2(&id, sizeof id), value);
}

gpointer tc_id_table_get(GHashTable *t, int64_t id)
{
    return g_hash_table_lookup(t, &id);
}

gboolean tc_id_table_remove(GHashTable *t, int64_t id)
{
    return g_hash_table_remove(t, &id);
}

gboolean tc_id_table_remove_if(GHashTable *t, int64_t id, gconstpointer value)
{
    if (g_hash_table_lookup(t, &id) != value)
        return FALSE;
    return g_hash_table_remove(t, &id);
}
