/*
 * Unit tests of id_table: the keys are the table's own, so an entry survives the
 * object its id came from, a replaced value is freed once, and remove_if leaves
 * a successor alone (the re-login use-after-free of issue 11 in miniature).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "telecounter/id_table.h"

typedef struct holder {
    int64_t id; /* what the old tables used as their key, by address */
    int freed;
} holder;

static int frees;

static void count_free(gpointer p)
{
    ((holder *)p)->freed++;
    frees++;
}

static void key_outlives_the_object_it_came_from(void **state)
{
    (void)state;
    GHashTable *t = tc_id_table_create(NULL);
    holder *first = g_new0(holder, 1), second = {.id = 42};
    first->id = 42;
    tc_id_table_put(t, first->id, first);
    tc_id_table_put(t, second.id, &second); /* a second login of the same account */
    g_free(first);                          /* the first connection goes */
    /* With a key pointing into `first` this lookup read freed memory. */
    assert_ptr_equal(tc_id_table_get(t, 42), &second);
    assert_int_equal(g_hash_table_size(t), 1);
    assert_true(tc_id_table_remove(t, 42));
    assert_null(tc_id_table_get(t, 42));
    assert_false(tc_id_table_remove(t, 42));
    g_hash_table_destroy(t);
}

static void remove_if_spares_a_successor(void **state)
{
    (void)state;
    GHashTable *t = tc_id_table_create(NULL);
    holder a = {.id = 7}, b = {.id = 7};
    tc_id_table_put(t, 7, &a);
    tc_id_table_put(t, 7, &b);
    assert_false(tc_id_table_remove_if(t, 7, &a)); /* the replaced one closes later */
    assert_ptr_equal(tc_id_table_get(t, 7), &b);
    assert_true(tc_id_table_remove_if(t, 7, &b));
    assert_int_equal(g_hash_table_size(t), 0);
    g_hash_table_destroy(t);
}

static void owned_values_freed_once_on_replace_and_destroy(void **state)
{
    (void)state;
    frees = 0;
    GHashTable *t = tc_id_table_create(count_free);
    holder a = {.id = 1}, b = {.id = 1}, c = {.id = -5};
    tc_id_table_put(t, 1, &a);
    tc_id_table_put(t, 1, &b);
    assert_int_equal(a.freed, 1);
    assert_int_equal(b.freed, 0);
    tc_id_table_put(t, INT64_MIN, &c);
    assert_ptr_equal(tc_id_table_get(t, INT64_MIN), &c);
    g_hash_table_destroy(t);
    assert_int_equal(frees, 3);
    assert_int_equal(b.freed, 1);
    assert_int_equal(c.freed, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(key_outlives_the_object_it_came_from),
        cmocka_unit_test(remove_if_spares_a_successor),
        cmocka_unit_test(owned_values_freed_once_on_replace_and_destroy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
