/*
 * The live statistics object (docs/stats.md) from a real in-memory store and a
 * real router: the UTC day boundary, the waiting-history ring (oldest first,
 * the last 60 samples), and the figures after one answered, rated session.
 */
#include "telecounter/random.h"
#include "telecounter/stats.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define DAY_MS INT64_C(86400000)
#define NOW (INT64_C(20000) * DAY_MS + 12 * 3600 * 1000) /* noon UTC */

static const tc_router_events no_events = {0};

typedef struct fixture {
    tc_config cfg;
    tc_store *store;
    tc_router *router;
} fixture;

static int setup(void **state)
{
    static fixture f;
    tc_config_defaults(&f.cfg);
    f.cfg.sessions_per_address = 1000000;
    f.cfg.joins_per_minute = 1000000;
    f.store = tc_store_open(":memory:");
    uint8_t key[32] = {1};
    f.router = f.store ? tc_router_create(&f.cfg, f.store, &no_events, key) : NULL;
    *state = &f;
    return f.router ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tc_router_destroy(f->router);
    tc_store_close(f->store);
    return 0;
}

/* "Today" is the operator's day (issue 12: an operator in UTC+8 got a day that
 * started at 08:00). */
static void day_start_is_the_operators_midnight(void **state)
{
    (void)state;
    tc_config cfg;
    tc_config_defaults(&cfg);
    snprintf(cfg.ops_timezone, sizeof cfg.ops_timezone, "UTC");
    assert_int_equal(tc_stats_day_start(&cfg, NOW), NOW - 12 * 3600 * 1000);
    assert_int_equal(tc_stats_day_start(&cfg, 20000 * DAY_MS), 20000 * DAY_MS);
    assert_int_equal(tc_stats_day_start(&cfg, 20000 * DAY_MS - 1), 19999 * DAY_MS);
    snprintf(cfg.ops_timezone, sizeof cfg.ops_timezone, "Asia/Shanghai");
    assert_int_equal(tc_stats_day_start(&cfg, NOW), NOW - 20 * 3600 * 1000); /* noon UTC: 20:00 */
    snprintf(cfg.ops_timezone, sizeof cfg.ops_timezone, "America/New_York");
    /* day 20000 is 2024-10-04, summer time (UTC-4): noon UTC is 08:00 there */
    assert_int_equal(tc_stats_day_start(&cfg, NOW), NOW - 8 * 3600 * 1000);
}

static void history_keeps_the_last_hour_oldest_first(void **state)
{
    fixture *f = *state;
    tc_stats_history h;
    memset(&h, 0, sizeof h);
    tc_join_result j;
    for (int minute = 0; minute < 70; minute++) {
        if (minute == 65)
            tc_router_customer_join(f->router, "broadband", "192.0.2.1", NOW + minute * 60000, &j,
                                    NULL);
        tc_stats_history_sample(&h, f->router, NOW + minute * 60000);
    }
    json_t *live = tc_stats_live(&f->cfg, f->router, f->store, &h, NULL, NOW + 70 * 60000);
    json_t *hist = json_object_get(live, "waiting_history");
    assert_int_equal(json_array_size(hist), TC_HISTORY_SAMPLES);
    json_t *first = json_array_get(hist, 0), *last = json_array_get(hist, 59);
    assert_int_equal(json_integer_value(json_object_get(first, "at")), NOW + 10 * 60000);
    assert_int_equal(json_integer_value(json_object_get(last, "at")), NOW + 69 * 60000);
    json_t *at_64 = json_object_get(json_array_get(hist, 54), "waiting");
    json_t *at_65 = json_object_get(json_array_get(hist, 55), "waiting");
    assert_int_equal(json_integer_value(json_object_get(at_64, "broadband")), 0);
    assert_int_equal(json_integer_value(json_object_get(at_65, "broadband")), 1);
    json_decref(live);
}

static json_t *desk(json_t *live, const char *name)
{
    json_t *desks = json_object_get(live, "desks");
    for (size_t i = 0; i < json_array_size(desks); i++) {
        json_t *d = json_array_get(desks, i);
        if (strcmp(json_string_value(json_object_get(d, "desk")), name) == 0)
            return d;
    }
    return NULL;
}

static void figures_after_one_rated_call(void **state)
{
    fixture *f = *state;
    int64_t agent_id;
    assert_int_equal(
        tc_store_account_add(f->store, "ana", "Ana", "agent", "broadband", "x", NOW, &agent_id), 0);
    tc_account acct;
    assert_int_equal(tc_store_account_get(f->store, "ana", &acct), 0);
    tc_agent_info info;
    tc_router_agent_login(f->router, &acct, NOW, &info);
    tc_join_result j;
    assert_int_equal(tc_router_customer_join(f->router, "broadband", "192.0.2.1", NOW, &j, NULL),
                     0);
    tc_router_agent_set_state(f->router, agent_id, TC_AGENT_AVAILABLE, "", NOW + 1000);
    tc_session_info s;
    assert_int_equal(tc_router_agent_accept(f->router, agent_id, j.session.id, NOW + 5000, &s), 0);

    json_t *live = tc_stats_live(&f->cfg, f->router, f->store, NULL, NULL, NOW + 7000);
    assert_int_equal(json_array_size(json_object_get(live, "active_calls")), 1);
    json_t *agents = json_object_get(live, "agents");
    assert_int_equal(json_integer_value(json_object_get(agents, "on_call")), 1);
    json_decref(live);

    assert_int_equal(tc_router_hangup(f->router, j.session.id, NOW + 65000), 0);
    assert_int_equal(tc_router_customer_rate(f->router, j.session.id, 4, "", NOW + 66000), 0);
    live = tc_stats_live(&f->cfg, f->router, f->store, NULL, NULL, NOW + 70000);
    json_t *today = json_object_get(live, "today");
    assert_int_equal(json_integer_value(json_object_get(today, "answered")), 1);
    assert_true(json_real_value(json_object_get(today, "avg_speed_of_answer_s")) == 5.0);
    assert_true(json_real_value(json_object_get(today, "avg_handle_s")) == 60.0);
    assert_true(json_real_value(json_object_get(today, "service_level")) == 1.0);
    assert_true(json_real_value(json_object_get(today, "avg_rating")) == 4.0);
    json_t *by_reason = json_object_get(today, "by_reason");
    assert_int_equal(json_integer_value(json_object_get(by_reason, "completed")), 1);
    json_t *bb = json_object_get(desk(live, "broadband"), "today");
    assert_int_equal(json_integer_value(json_object_get(bb, "answered")), 1);
    json_t *idc = json_object_get(desk(live, "id_check"), "today");
    assert_int_equal(json_integer_value(json_object_get(idc, "sessions")), 0);
    assert_int_equal(json_array_size(json_object_get(live, "active_calls")), 0);
    json_decref(live);
}

int main(void)
{
    tc_random_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(day_start_is_the_operators_midnight),
        cmocka_unit_test_setup_teardown(history_keeps_the_last_hour_oldest_first, setup, teardown),
        cmocka_unit_test_setup_teardown(figures_after_one_rated_call, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
