/*
 * Unit tests of matching and estimates: who is rung first (invites, then the
 * longest wait, across desks), which agent (skill, longest idle, random), and
 * the position and wait estimates of queue.c.
 */
#include "router_fixture.h"

#include <math.h>

/* Issues a code for desk and redeems it at now; returns the session. */
static int64_t redeem_invite(fx *f, const char *desk, int64_t now)
{
    char code[16];
    int64_t expires_at;
    assert_int_equal(
        tc_router_invite_create(f->r, 1, desk, "CASE-1", "", 0, now, code, &expires_at), 0);
    tc_join_result j;
    int retry = 0;
    assert_int_equal(
        tc_router_customer_redeem(f->r, code, strlen(code), "192.0.2.1", now, &j, &retry), 0);
    assert_int_equal(j.session.priority, 1);
    return j.session.id;
}

/* Ends a call through the router: answered at t, ended after handle_s seconds. */
static void one_call(fx *f, int64_t agent, const char *desk, int64_t t, int handle_s)
{
    int64_t c = fx_join(f, desk, t);
    tc_session_info info;
    assert_int_equal(tc_router_agent_accept(f->r, agent, c, t, &info), 0);
    assert_int_equal(tc_router_hangup(f->r, c, t + handle_s * SEC), 0);
    tc_agent_state st;
    assert_int_equal(tc_router_agent_outcome(f->r, agent, c, "ok", "", t + handle_s * SEC, &st), 0);
    assert_int_equal(st, TC_AGENT_AVAILABLE);
}

static void invite_customer_is_rung_before_earlier_ones(void **state)
{
    fx *f = fx_of(state);
    int64_t c1 = fx_join(f, "broadband", T0 + SEC);
    int64_t c2 = fx_join(f, "broadband", T0 + 2 * SEC);
    fx_clear(f);
    int64_t inv = redeem_invite(f, "broadband", T0 + 3 * SEC);
    tc_session_info s = fx_info(f, inv);
    assert_int_equal(s.position, 1);
    assert_int_equal(s.priority, 1);
    assert_string_equal(s.case_ref, "CASE-1");
    /* the others are told they moved back */
    assert_int_equal(ev_last_queue(f, c1)->position, 2);
    assert_int_equal(ev_last_queue(f, c2)->position, 3);
    assert_int_equal(fx_info(f, c2).position, 3);

    int64_t a = fx_login(f, "alice", "broadband", T0 + 4 * SEC);
    fx_clear(f);
    fx_available(f, a, T0 + 5 * SEC);
    assert_int_equal(ev_only_ring(f, a), inv);
    int r = ev_find(f, 0, EV_RING, inv, a);
    assert_int_equal(f->log[r].priority, 1);
    assert_int_equal(f->log[r].waited_s, 2);

    /* an invite missed goes back ahead of everyone, and the next invite after it */
    int64_t inv2 = redeem_invite(f, "broadband", T0 + 6 * SEC);
    assert_int_equal(fx_info(f, inv2).position, 2);
    int64_t b = fx_login(f, "bob", "broadband", T0 + 7 * SEC);
    tc_router_tick(f->r, T0 + 25 * SEC); /* alice misses inv; bob is not ready */
    assert_int_equal(fx_info(f, inv).position, 1);
    assert_int_equal(fx_info(f, inv2).position, 2);
    assert_int_equal(fx_info(f, c1).position, 3);
    assert_int_equal(fx_info(f, c2).position, 4);
    fx_clear(f);
    fx_available(f, b, T0 + 26 * SEC);
    assert_int_equal(ev_only_ring(f, b), inv);
}

static void longest_waiting_first_across_desks(void **state)
{
    fx *f = fx_of(state);
    int64_t late = fx_join(f, "id_check", T0 + 5 * SEC);
    int64_t early = fx_join(f, "broadband", T0 + 2 * SEC);
    int64_t a = fx_login(f, "alice", "id_check,broadband", T0);
    fx_available(f, a, T0 + 6 * SEC);
    assert_int_equal(ev_only_ring(f, a), early);
    assert_int_equal(fx_info(f, late).state, TC_SESSION_QUEUED);
}

static void agent_without_skill_is_never_rung(void **state)
{
    fx *f = fx_of(state);
    int64_t a = fx_login(f, "alice", "id_check, urgent_sim", T0);
    fx_available(f, a, T0);
    int64_t c1 = fx_join(f, "broadband", T0 + SEC);
    tc_router_tick(f->r, T0 + 100 * SEC);
    assert_int_equal(ev_count(f, EV_RING), 0);
    assert_int_equal(fx_agent_state(f, a), TC_AGENT_AVAILABLE);
    assert_int_equal(fx_info(f, c1).state, TC_SESSION_QUEUED);

    int64_t b = fx_login(f, "bob", "broadband", T0 + 101 * SEC);
    fx_available(f, b, T0 + 101 * SEC);
    assert_int_equal(ev_only_ring(f, b), c1);
    assert_int_equal(fx_agent_state(f, a), TC_AGENT_AVAILABLE);
}

static void longest_idle_agent_first_and_back_of_line_after_call(void **state)
{
    fx *f = fx_of(state);
    int64_t a = fx_login(f, "alice", "broadband", T0);
    int64_t b = fx_login(f, "bob", "broadband", T0);
    fx_available(f, b, T0 + SEC); /* bob has been available longer */
    fx_available(f, a, T0 + 2 * SEC);

    int64_t c1 = fx_join(f, "broadband", T0 + 3 * SEC);
    assert_int_equal(ev_only_ring(f, b), c1);
    tc_session_info info;
    assert_int_equal(tc_router_agent_accept(f->r, b, c1, T0 + 4 * SEC, &info), 0);
    assert_int_equal(tc_router_hangup(f->r, c1, T0 + 10 * SEC), 0);
    tc_agent_state st;
    assert_int_equal(tc_router_agent_outcome(f->r, b, c1, "ok", "", T0 + 11 * SEC, &st), 0);

    /* bob is back, but alice has now been available longer */
    fx_clear(f);
    int64_t c2 = fx_join(f, "broadband", T0 + 12 * SEC);
    assert_int_equal(ev_only_ring(f, a), c2);
    fx_clear(f);
    int64_t c3 = fx_join(f, "broadband", T0 + 13 * SEC);
    assert_int_equal(ev_only_ring(f, b), c3);
}

static void equal_idle_agents_tie_by_id(void **state)
{
    fx *f = fx_of(state);
    int64_t a = fx_login(f, "alice", "broadband", T0);
    int64_t b = fx_login(f, "bob", "broadband", T0);
    assert_true(a < b);
    fx_available(f, b, T0);
    fx_available(f, a, T0);
    int64_t c1 = fx_join(f, "broadband", T0 + SEC);
    assert_int_equal(ev_only_ring(f, a), c1);
}

static void random_assignment_spreads_rings(void **state)
{
    fx *f = *state;
    f->cfg.assignment = TC_ASSIGN_RANDOM;
    fx_start(f);
    int64_t a = fx_login(f, "alice", "broadband", T0);
    int64_t b = fx_login(f, "bob", "broadband", T0);
    fx_available(f, a, T0);
    fx_available(f, b, T0 + SEC); /* longest idle would always pick alice */
    int rung_a = 0, rung_b = 0;
    for (int i = 0; i < 200; i++) {
        int64_t t = T0 + (10 + i) * SEC;
        fx_clear(f);
        int64_t c = fx_join(f, "broadband", t);
        int64_t who = f->log[ev_find(f, 0, EV_RING, c, 0)].agent_id;
        assert_int_equal(ev_count(f, EV_RING), 1);
        rung_a += who == a;
        rung_b += who == b;
        assert_int_equal(tc_router_customer_leave(f->r, c, t, NULL), 0);
        assert_int_equal(fx_agent_state(f, who), TC_AGENT_AVAILABLE);
    }
    assert_int_equal(rung_a + rung_b, 200);
    /* Binomial(200, 1/2): below 30 has probability ~1e-25 */
    assert_true(rung_a >= 30);
    assert_true(rung_b >= 30);
}

/* Handle times seeded in the store before the router starts: 100 s and 101 s. */
static void seed_handle_times(fx *f, const char *desk)
{
    const int handle_s[] = {100, 101};
    for (int i = 0; i < 2; i++) {
        int64_t id, t = T0 - (10 - i) * 1000 * SEC;
        assert_int_equal(tc_store_session_add(f->store, desk, 0, 0, "", "hash", t, &id), 0);
        assert_int_equal(tc_store_session_answered(f->store, id, 1, t + SEC), 0);
        assert_int_equal(
            tc_store_session_ended(f->store, id, "completed", t + SEC + handle_s[i] * SEC), 0);
    }
}

/* Issue 12: not-ready agents counted as staff, and with nobody signed in the
 * estimate was a number anyway. Only agents who can take a call soon count; each
 * frees up after the rest of its call or after-call work. */
static void wait_estimate_formula(void **state)
{
    fx *f = *state;
    seed_handle_times(f, "broadband"); /* average 100.5 s */
    fx_start(f);
    int bb = tc_config_desk_index(&f->cfg, "broadband");
    int idc = tc_config_desk_index(&f->cfg, "id_check");
    /* nobody signed in: no estimate */
    assert_int_equal(tc_queue_wait_s(f->r, bb, 1, T0), -1);
    assert_int_equal(tc_queue_agents(f->r, bb), 0);

    int64_t a = fx_login(f, "alice", "broadband", T0);
    int64_t b = fx_login(f, "bob", "broadband", T0);
    int64_t c = fx_login(f, "carol", "broadband,id_check", T0);
    /* everybody not ready: still nobody who can take the call */
    assert_int_equal(tc_queue_wait_s(f->r, bb, 1, T0), -1);
    assert_int_equal(tc_queue_agents(f->r, bb), 0);
    fx_available(f, a, T0);
    fx_available(f, b, T0);
    assert_int_equal(tc_queue_agents(f->r, bb), 2);
    /* two free: positions 1 and 2 now, then one average call per agent */
    assert_int_equal(tc_queue_wait_s(f->r, bb, 1, T0), 0);
    assert_int_equal(tc_queue_wait_s(f->r, bb, 2, T0), 0);
    assert_int_equal(tc_queue_wait_s(f->r, bb, 3, T0), 101); /* ceil(100.5) */
    assert_int_equal(tc_queue_wait_s(f->r, bb, 4, T0), 101);
    assert_int_equal(tc_queue_wait_s(f->r, bb, 5, T0), 201);
    assert_int_equal(tc_queue_wait_s(f->r, idc, 1, T0), -1); /* carol is not ready */
    fx_available(f, c, T0);
    assert_int_equal(tc_queue_wait_s(f->r, idc, 1, T0), 0);
    assert_int_equal(tc_queue_wait_s(f->r, idc, 2, T0), 180); /* default until handle times */
    /* an agent who logged out no longer counts */
    assert_int_equal(tc_router_agent_logout(f->r, b, T0), 0);
    assert_int_equal(tc_queue_agents(f->r, bb), 2);
}

/* A busy agent frees up after the rest of an average call: 50 s into one, the
 * next customer waits ~50 s; far past the average, a quarter of one. */
static void busy_agents_free_up_after_the_rest_of_a_call(void **state)
{
    fx *f = *state;
    seed_handle_times(f, "broadband");
    fx_start(f);
    int bb = tc_config_desk_index(&f->cfg, "broadband");
    int64_t a = fx_login(f, "alice", "broadband", T0);
    fx_available(f, a, T0);
    int64_t c1 = fx_join(f, "broadband", T0);
    tc_session_info info;
    assert_int_equal(tc_router_agent_accept(f->r, a, c1, T0, &info), 0);
    assert_int_equal(tc_queue_agents(f->r, bb), 1);
    assert_int_equal(tc_queue_wait_s(f->r, bb, 1, T0 + 50 * SEC), 51);  /* 100.5 - 50 */
    assert_int_equal(tc_queue_wait_s(f->r, bb, 2, T0 + 50 * SEC), 151); /* + 100.5 */
    assert_int_equal(tc_queue_wait_s(f->r, bb, 1, T0 + 500 * SEC), 26); /* 100.5 / 4 */
}

/* A customer told an estimate hears again when the truth drifts 15 s from it,
 * even with no change of position (issue 12: 20 s told, 133 s waited in silence). */
static void drifting_estimates_are_pushed_again(void **state)
{
    fx *f = *state;
    seed_handle_times(f, "broadband");
    fx_start(f);
    int64_t a = fx_login(f, "alice", "broadband", T0);
    fx_available(f, a, T0);
    int64_t c1 = fx_join(f, "broadband", T0);
    tc_session_info info;
    assert_int_equal(tc_router_agent_accept(f->r, a, c1, T0, &info), 0);
    tc_join_result j;
    assert_int_equal(tc_router_customer_join(f->r, "broadband", "192.0.2.1", T0 + SEC, &j, NULL),
                     0);
    assert_int_equal(j.session.wait_s, 100); /* ceil(100.5 - 1) */
    assert_int_equal(j.session.agents, 1);
    fx_clear(f);
    for (int64_t t = 2; t <= 90; t++)
        tc_router_tick(f->r, T0 + t * SEC);
    /* 100.5 s into alice's call the estimate holds (~0 s left, then 25 s floor):
     * its answer time moved later, so the customer was told again */
    for (int64_t t = 91; t <= 140; t++)
        tc_router_tick(f->r, T0 + t * SEC);
    const ev *q = ev_last_queue(f, j.session.id);
    assert_non_null(q);
    assert_int_equal(q->position, 1);
    assert_true(q->wait_s >= 20 && q->wait_s <= 30);
}

static void join_reports_position_and_wait(void **state)
{
    fx *f = *state;
    seed_handle_times(f, "broadband");
    fx_start(f);
    int64_t a = fx_login(f, "alice", "broadband", T0);
    int64_t b = fx_login(f, "bob", "broadband", T0);
    fx_login(f, "carol", "broadband", T0); /* not ready: does not count */
    fx_available(f, b, T0);
    tc_session_info busy;
    int64_t cb = fx_join(f, "broadband", T0);
    assert_int_equal(tc_router_agent_accept(f->r, b, cb, T0, &busy), 0); /* bob on a call */
    tc_join_result j[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tc_router_customer_join(f->r, "broadband", "192.0.2.1", T0 + (i + 1) * SEC,
                                                 &j[i], NULL),
                         0);
        assert_int_equal(j[i].session.position, i + 1);
        assert_int_equal(j[i].session.state, TC_SESSION_QUEUED);
        assert_int_equal(j[i].session.agents, 1);
        assert_int_equal(strlen(j[i].token), TC_TOKEN_HEX_LEN);
    }
    assert_int_equal(j[0].session.wait_s, 100); /* bob's call: 100.5 - 1 s */
    assert_int_equal(j[1].session.wait_s, 199); /* 100.5 - 2 + 100.5 */
    assert_int_equal(j[2].session.wait_s, 299); /* 100.5 - 3 + 2 x 100.5 */
    assert_string_not_equal(j[0].token, j[1].token);

    /* alice takes the first: it rings (position 1, no wait); two agents now count */
    fx_clear(f);
    fx_available(f, a, T0 + 4 * SEC);
    assert_int_equal(ev_only_ring(f, a), j[0].session.id);
    const ev *q = ev_last_queue(f, j[0].session.id);
    assert_int_equal(q->position, 1);
    assert_int_equal(q->wait_s, 0);
    q = ev_last_queue(f, j[1].session.id);
    assert_int_equal(q->position, 2);
    assert_int_equal(q->wait_s, 97); /* bob's call ends first: 100.5 - 4 */
}

static void handle_time_from_calls_through_the_router(void **state)
{
    fx *f = fx_of(state);
    int64_t a = fx_login(f, "alice", "id_check", T0);
    fx_available(f, a, T0);
    one_call(f, a, "id_check", T0 + SEC, 40);
    one_call(f, a, "id_check", T0 + 100 * SEC, 80);
    /* average 60 s; alice is the one staffed agent and she is free */
    int idc = tc_config_desk_index(&f->cfg, "id_check");
    int64_t now = T0 + 300 * SEC;
    assert_int_equal(tc_queue_wait_s(f->r, idc, 1, now), 0);
    assert_int_equal(tc_queue_wait_s(f->r, idc, 2, now), 60);
    assert_int_equal(tc_queue_wait_s(f->r, idc, 4, now), 180);
    /* other desks keep the default (alice serves only id_check: nobody there) */
    assert_int_equal(tc_queue_wait_s(f->r, tc_config_desk_index(&f->cfg, "broadband"), 1, now), -1);
}

static void desk_summaries_count_waiting_and_agents(void **state)
{
    fx *f = fx_of(state);
    int64_t a = fx_login(f, "alice", "broadband", T0);
    fx_join(f, "broadband", T0);
    fx_join(f, "broadband", T0 + 5 * SEC);
    redeem_invite(f, "urgent_sim", T0 + 6 * SEC);
    fx_available(f, a, T0 + 7 * SEC); /* rings the first broadband customer */
    tc_desk_summary sum[TC_MAX_DESKS];
    int n = tc_router_desk_summaries(f->r, T0 + 10 * SEC, sum, TC_MAX_DESKS);
    assert_int_equal(n, 3);
    assert_string_equal(sum[1].desk, "broadband");
    assert_int_equal(sum[1].waiting, 2); /* ringing counts as waiting */
    assert_int_equal(sum[1].longest_wait_s, 10);
    assert_int_equal(sum[1].invites_waiting, 0);
    assert_int_equal(sum[1].agents[TC_AGENT_RINGING], 1);
    assert_int_equal(sum[2].waiting, 1);
    assert_int_equal(sum[2].invites_waiting, 1);
    assert_int_equal(sum[2].longest_wait_s, 4);
    assert_int_equal(sum[0].waiting, 0);
    int counts[TC_AGENT_STATE_COUNT];
    tc_router_agent_counts(f->r, counts);
    assert_int_equal(counts[TC_AGENT_RINGING], 1);
    assert_int_equal(counts[TC_AGENT_AVAILABLE], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(invite_customer_is_rung_before_earlier_ones, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(longest_waiting_first_across_desks, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(agent_without_skill_is_never_rung, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(longest_idle_agent_first_and_back_of_line_after_call,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(equal_idle_agents_tie_by_id, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(random_assignment_spreads_rings, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(wait_estimate_formula, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(busy_agents_free_up_after_the_rest_of_a_call, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(drifting_estimates_are_pushed_again, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(join_reports_position_and_wait, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(handle_time_from_calls_through_the_router, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(desk_summaries_count_waiting_and_agents, fx_setup,
                                        fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
