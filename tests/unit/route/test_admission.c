/*
 * Unit tests of admission: open sessions and joins per client address (issue 12:
 * 20 connections from one address made 14,675 sessions in 30 s, and a real
 * customer stood behind them all).
 */
#include "router_fixture.h"

static int join_from(fx *f, const char *addr, int64_t now, int64_t *id, int *retry)
{
    tc_join_result j;
    int rc = tc_router_customer_join(f->r, "broadband", addr, now, &j, retry);
    if (rc == 0 && id)
        *id = j.session.id;
    return rc;
}

static void open_sessions_per_address_are_bounded(void **state)
{
    fx *f = *state;
    f->cfg.sessions_per_address = 3;
    f->cfg.joins_per_minute = 100;
    fx_of(state);
    int retry = 0;
    int64_t ids[3] = {0};
    for (int i = 0; i < 3; i++)
        assert_int_equal(join_from(f, "198.51.100.7", T0 + i, &ids[i], &retry), 0);
    assert_int_equal(join_from(f, "198.51.100.7", T0 + 5, NULL, &retry), -EBUSY);
    assert_true(retry >= 1);
    /* another address is not affected; a session that ends frees a place */
    assert_int_equal(join_from(f, "198.51.100.8", T0 + 6, NULL, &retry), 0);
    assert_int_equal(tc_router_customer_leave(f->r, ids[0], T0 + 7, NULL), 0);
    assert_int_equal(join_from(f, "198.51.100.7", T0 + 8, NULL, &retry), 0);
}

/* At the limit, a dropped session that was never offered gives its place to the
 * new one at once, instead of holding it for the whole resume window. */
static void a_dropped_never_offered_session_gives_its_place(void **state)
{
    fx *f = *state;
    f->cfg.sessions_per_address = 2;
    fx_of(state);
    int retry = 0;
    int64_t a = 0, b = 0, c = 0;
    assert_int_equal(join_from(f, "198.51.100.7", T0, &a, &retry), 0);
    assert_int_equal(join_from(f, "198.51.100.7", T0 + SEC, &b, &retry), 0);
    tc_router_customer_disconnected(f->r, a, T0 + 2 * SEC);
    assert_int_equal(join_from(f, "198.51.100.7", T0 + 3 * SEC, &c, &retry), 0);
    assert_int_equal(fx_info(f, a).state, TC_SESSION_ENDED);
    assert_int_equal(fx_info(f, a).end_reason, TC_END_ABANDONED);
    assert_int_equal(fx_info(f, b).state, TC_SESSION_QUEUED);
    assert_int_equal(fx_info(f, c).position, 2); /* behind b, not behind a ghost */
    /* connected sessions are never pushed out */
    assert_int_equal(join_from(f, "198.51.100.7", T0 + 4 * SEC, NULL, &retry), -EBUSY);
}

static void joins_per_minute_are_bounded(void **state)
{
    fx *f = *state;
    f->cfg.sessions_per_address = 1000;
    f->cfg.joins_per_minute = 5;
    fx_of(state);
    int retry = 0;
    int64_t id = 0;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(join_from(f, "198.51.100.7", T0 + i * SEC, &id, &retry), 0);
        assert_int_equal(tc_router_customer_leave(f->r, id, T0 + i * SEC, NULL), 0);
    }
    assert_int_equal(join_from(f, "198.51.100.7", T0 + 10 * SEC, NULL, &retry), -EBUSY);
    assert_int_equal(retry, 50);
    assert_int_equal(join_from(f, "198.51.100.7", T0 + 60 * SEC, NULL, &retry), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(open_sessions_per_address_are_bounded, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(a_dropped_never_offered_session_gives_its_place, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(joins_per_minute_are_bounded, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
