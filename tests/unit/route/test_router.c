/*
 * Unit tests of the router's session lifecycle: rings that time out or are
 * declined, answering, hangup and after-call work, outcomes, customers and
 * agents dropping and coming back, leaving, rating and shutdown. Matching order
 * and estimates are test_matching.c; invites are test_invite.c.
 */
#include "router_fixture.h"

/* Two agents for broadband; alice available first, so she is rung first. */
static void two_agents(fx *f, int64_t *a, int64_t *b)
{
    *a = fx_login(f, "alice", "broadband", T0);
    *b = fx_login(f, "bob", "broadband", T0);
    fx_available(f, *a, T0);
    fx_available(f, *b, T0 + SEC);
}

static const char *fx_token(fx *f, int64_t session_id)
{
    tc_session *s = tc_router_find_session(f->r, session_id);
    assert_non_null(s);
    return s->token;
}

/* alice answers c1 at T0 + 2 s; returns c1. */
static int64_t answered_call(fx *f, int64_t *a)
{
    *a = fx_login(f, "alice", "broadband", T0);
    fx_available(f, *a, T0);
    int64_t c1 = fx_join(f, "broadband", T0 + SEC);
    tc_session_info info;
    assert_int_equal(tc_router_agent_accept(f->r, *a, c1, T0 + 2 * SEC, &info), 0);
    return c1;
}

static void ring_timeout_rings_next_agent(void **state)
{
    fx *f = fx_of(state);
    int64_t a, b;
    two_agents(f, &a, &b);
    int64_t c1 = fx_join(f, "broadband", T0 + 2 * SEC);
    int r = ev_find(f, 0, EV_RING, c1, a);
    assert_true(r >= 0);
    assert_int_equal(f->log[r].timeout_s, 20);
    assert_int_equal(f->log[r].priority, 0);

    fx_clear(f);
    tc_router_tick(f->r, T0 + 22 * SEC - 1);
    assert_int_equal(f->n, 0);
    tc_router_tick(f->r, T0 + 22 * SEC);
    int i = ev_find(f, 0, EV_RING_CANCELLED, c1, a);
    assert_true(i >= 0);
    assert_string_equal(f->log[i].reason, "timeout");
    int j = ev_find(f, i, EV_AGENT_STATE, 0, a);
    assert_true(j > i);
    assert_int_equal(f->log[j].state, TC_AGENT_NOT_READY);
    assert_string_equal(f->log[j].reason, "missed");
    assert_true(ev_find(f, j, EV_RING, c1, b) > j);
    assert_int_equal(ev_only_ring(f, b), c1);
    assert_int_equal(ev_count(f, EV_ENDED), 0);

    assert_int_equal(fx_agent_state(f, a), TC_AGENT_NOT_READY);
    assert_int_equal(fx_agent_state(f, b), TC_AGENT_RINGING);
    tc_session_info s = fx_info(f, c1);
    assert_int_equal(s.state, TC_SESSION_RINGING);
    assert_int_equal(s.agent_id, b);
    assert_int_equal(s.position, 1);
    tc_session_row row;
    assert_int_equal(tc_store_session_get(f->store, c1, &row), 0);
    assert_int_equal(row.offers, 2);
}

static void ring_timeout_puts_customer_back_at_head(void **state)
{
    fx *f = fx_of(state);
    int64_t a = fx_login(f, "alice", "broadband", T0);
    int64_t b = fx_login(f, "bob", "broadband", T0); /* logged in, not ready */
    fx_available(f, a, T0);
    int64_t c1 = fx_join(f, "broadband", T0 + SEC);
    tc_join_result j2;
    assert_int_equal(
        tc_router_customer_join(f->r, "broadband", "192.0.2.1", T0 + 2 * SEC, &j2, NULL), 0);
    int64_t c2 = j2.session.id;
    /* alice takes c1 (being rung); bob is not ready and does not count: one
     * default handle time, 180 s */
    assert_int_equal(j2.session.position, 2);
    assert_int_equal(j2.session.wait_s, 180);
    assert_int_equal(j2.session.agents, 1);

    fx_clear(f);
    tc_router_tick(f->r, T0 + 21 * SEC);
    assert_int_equal(fx_agent_state(f, a), TC_AGENT_NOT_READY);
    tc_session_info s1 = fx_info(f, c1), s2 = fx_info(f, c2);
    assert_int_equal(s1.state, TC_SESSION_QUEUED);
    assert_int_equal(s1.position, 1);
    assert_int_equal(s1.wait_s, -1); /* alice and bob not ready: nobody can take it */
    assert_int_equal(s1.agents, 0);
    assert_int_equal(s2.position, 2);
    const ev *q = ev_last_queue(f, c1);
    assert_int_equal(q->position, 1);
    assert_int_equal(q->wait_s, -1);
    q = ev_last_queue(f, c2); /* told too: nobody can take it now */
    assert_int_equal(q->position, 2);
    assert_int_equal(q->wait_s, -1);
    assert_int_equal(ev_count(f, EV_ENDED), 0);

    fx_clear(f);
    fx_available(f, b, T0 + 22 * SEC);
    assert_int_equal(ev_only_ring(f, b), c1);
}

static void decline_requeues_with_reason_declined(void **state)
{
    fx *f = fx_of(state);
    int64_t a, b;
    two_agents(f, &a, &b);
    int64_t c1 = fx_join(f, "broadband", T0 + 2 * SEC);
    assert_int_equal(ev_find(f, 0, EV_RING, c1, a) >= 0, 1);

    assert_int_equal(tc_router_agent_decline(f->r, b, c1, T0 + 3 * SEC), -EBADFD);
    assert_int_equal(tc_router_agent_decline(f->r, a, 9999, T0 + 3 * SEC), -ENOENT);
    fx_clear(f);
    assert_int_equal(tc_router_agent_decline(f->r, a, c1, T0 + 3 * SEC), 0);
    assert_int_equal(ev_count(f, EV_RING_CANCELLED), 0); /* the agent knows */
    int i = ev_find(f, 0, EV_AGENT_STATE, 0, a);
    assert_true(i >= 0);
    assert_int_equal(f->log[i].state, TC_AGENT_NOT_READY);
    assert_string_equal(f->log[i].reason, "declined");
    assert_true(ev_find(f, i, EV_RING, c1, b) > i);
    assert_int_equal(ev_only_ring(f, b), c1);
    assert_int_equal(tc_router_agent_decline(f->r, a, c1, T0 + 4 * SEC), -EBADFD);
}

/* Issue 12: one miss and one decline ended the session "missed". Now the customer
 * goes back to the head and waits while agents for the desk are signed in. */
static void missed_and_declined_keep_the_customer_waiting(void **state)
{
    fx *f = fx_of(state);
    int64_t a, b;
    two_agents(f, &a, &b);
    int64_t c1 = fx_join(f, "broadband", T0 + 2 * SEC);
    tc_router_tick(f->r, T0 + 22 * SEC); /* alice misses */
    assert_int_equal(fx_info(f, c1).agent_id, b);
    fx_clear(f);
    assert_int_equal(tc_router_agent_decline(f->r, b, c1, T0 + 23 * SEC), 0);
    assert_int_equal(ev_count(f, EV_ENDED), 0);
    assert_int_equal(fx_info(f, c1).state, TC_SESSION_QUEUED);
    assert_int_equal(fx_info(f, c1).position, 1);
    assert_int_equal(fx_agent_state(f, a), TC_AGENT_NOT_READY);
    assert_int_equal(fx_agent_state(f, b), TC_AGENT_NOT_READY);
    /* whoever is available next is rung again, even one who missed it */
    fx_clear(f);
    fx_available(f, a, T0 + 30 * SEC);
    assert_int_equal(ev_only_ring(f, a), c1);
}

/* Agents who have not missed a customer are rung for it before one who has. */
static void an_agent_who_missed_is_rung_last(void **state)
{
    fx *f = fx_of(state);
    int64_t a, b;
    two_agents(f, &a, &b); /* alice idle longest */
    int64_t c1 = fx_join(f, "broadband", T0 + 2 * SEC);
    assert_int_equal(fx_info(f, c1).agent_id, a);
    assert_int_equal(tc_router_agent_decline(f->r, a, c1, T0 + 3 * SEC), 0);
    assert_int_equal(fx_info(f, c1).agent_id, b);
    /* both available again: alice has been idle longer, but she declined */
    assert_int_equal(tc_router_agent_decline(f->r, b, c1, T0 + 4 * SEC), 0);
    fx_available(f, b, T0 + 5 * SEC);
    assert_int_equal(fx_info(f, c1).agent_id, b);
    assert_int_equal(tc_router_agent_decline(f->r, b, c1, T0 + 6 * SEC), 0);
    int64_t carol = fx_login(f, "carol", "broadband", T0 + 7 * SEC);
    fx_available(f, a, T0 + 7 * SEC);
    assert_int_equal(fx_info(f, c1).agent_id, a); /* only alice is available */
    assert_int_equal(tc_router_agent_decline(f->r, a, c1, T0 + 8 * SEC), 0);
    fx_available(f, a, T0 + 9 * SEC);
    fx_clear(f);
    assert_int_equal(tc_router_agent_decline(f->r, a, c1, T0 + 9 * SEC), 0);
    fx_available(f, a, T0 + 10 * SEC);
    fx_available(f, carol, T0 + 10 * SEC);        /* carol never missed it */
    assert_int_equal(fx_info(f, c1).agent_id, a); /* alice was available first */
    assert_int_equal(tc_router_agent_decline(f->r, a, c1, T0 + 11 * SEC), 0);
    assert_int_equal(fx_info(f, c1).agent_id, carol);
}

static void max_offers_ends_missed(void **state)
{
    fx *f = *state;
    f->cfg.max_offers = 3;
    fx_of(state);
    int64_t a = fx_login(f, "alice", "broadband", T0);
    int64_t c1 = fx_join(f, "broadband", T0 + SEC);
    for (int i = 0; i < 3; i++) {
        fx_clear(f);
        fx_available(f, a, T0 + (2 + 2 * i) * SEC);
        assert_int_equal(ev_only_ring(f, a), c1);
        assert_int_equal(tc_router_agent_decline(f->r, a, c1, T0 + (3 + 2 * i) * SEC), 0);
        assert_int_equal(ev_count(f, EV_ENDED), i == 2 ? 1 : 0);
    }
    int e = ev_find(f, 0, EV_ENDED, c1, 0);
    assert_true(e >= 0);
    assert_int_equal(f->log[e].state, TC_END_MISSED);
    assert_int_equal(f->log[e].agent_id, 0);
    fx_store_end_reason(f, c1, "missed");
}

static void max_wait_ends_missed(void **state)
{
    fx *f = *state;
    f->cfg.max_wait_s = 100;
    fx_of(state);
    fx_login(f, "alice", "broadband", T0); /* not ready all along */
    int64_t c1 = fx_join(f, "broadband", T0 + SEC);
    tc_router_tick(f->r, T0 + 101 * SEC - 1);
    assert_int_equal(fx_info(f, c1).state, TC_SESSION_QUEUED);
    tc_router_tick(f->r, T0 + 101 * SEC);
    assert_int_equal(fx_info(f, c1).state, TC_SESSION_ENDED);
    assert_int_equal(fx_info(f, c1).end_reason, TC_END_MISSED);
    fx_store_end_reason(f, c1, "missed");
}

static void accept_moves_the_others_up(void **state)
{
    fx *f = fx_of(state);
    int64_t a = fx_login(f, "alice", "broadband", T0);
    int64_t c[3];
    for (int i = 0; i < 3; i++)
        c[i] = fx_join(f, "broadband", T0 + (i + 1) * SEC);
    fx_available(f, a, T0 + 4 * SEC);
    int r = ev_find(f, 0, EV_RING, c[0], a);
    assert_true(r >= 0);
    assert_int_equal(f->log[r].waited_s, 3);

    fx_clear(f);
    tc_session_info out;
    assert_int_equal(tc_router_agent_accept(f->r, a, c[0], T0 + 5 * SEC, &out), 0);
    assert_int_equal(out.id, c[0]);
    assert_int_equal(out.state, TC_SESSION_ANSWERED);
    assert_int_equal(out.agent_id, a);
    assert_int_equal(out.answered_at, T0 + 5 * SEC);
    assert_int_equal(out.position, 0);
    assert_string_equal(out.agent_name, "alice");
    assert_string_equal(out.desk, "broadband");

    /* exactly: answered, and the two behind move up (one staffed, none free) */
    assert_int_equal(f->n, 3);
    int ans = ev_find(f, 0, EV_ANSWERED, c[0], a);
    assert_true(ans >= 0);
    const ev *q1 = ev_last_queue(f, c[1]), *q2 = ev_last_queue(f, c[2]);
    assert_int_equal(q1->position, 1);
    assert_int_equal(q1->wait_s, 180);
    assert_int_equal(q2->position, 2);
    assert_int_equal(q2->wait_s, 360);
    assert_int_equal(fx_agent_state(f, a), TC_AGENT_ON_CALL);
    assert_int_equal(tc_router_agent_accept(f->r, a, c[0], T0 + 6 * SEC, &out), -EBADFD);
    tc_session_row row;
    assert_int_equal(tc_store_session_get(f->store, c[0], &row), 0);
    assert_int_equal(row.agent_id, a);
    assert_int_equal(row.answered_at, T0 + 5 * SEC);
}

static void hangup_then_after_call_work_timer(void **state)
{
    fx *f = fx_of(state);
    int64_t a;
    int64_t c1 = answered_call(f, &a);
    int64_t c2 = fx_join(f, "broadband", T0 + 3 * SEC);
    int64_t c3 = fx_join(f, "broadband", T0 + 4 * SEC);

    fx_clear(f);
    int64_t end = T0 + 32 * SEC; /* a 30 s call */
    assert_int_equal(tc_router_hangup(f->r, c1, end), 0);
    int e = ev_find(f, 0, EV_ENDED, c1, 0);
    assert_true(e >= 0);
    assert_int_equal(f->log[e].agent_id, a);
    assert_int_equal(f->log[e].state, TC_END_COMPLETED);
    int s = ev_find(f, 0, EV_AGENT_STATE, 0, a);
    assert_true(s >= 0);
    assert_int_equal(f->log[s].state, TC_AGENT_AFTER_CALL_WORK);
    assert_string_equal(f->log[s].reason, "");
    assert_int_equal(f->log[s].until, end + 60 * SEC);
    /* the desk's handle time is now 30 s; alice is free after 60 s of after-call work */
    assert_int_equal(ev_last_queue(f, c2)->wait_s, 60);
    assert_int_equal(ev_last_queue(f, c3)->wait_s, 90);
    assert_int_equal(ev_count(f, EV_RING), 0);
    fx_store_end_reason(f, c1, "completed");
    assert_int_equal(tc_router_hangup(f->r, c1, end + 1), -ESTALE);

    fx_clear(f);
    tc_router_tick(f->r, end + 60 * SEC - 1);
    assert_int_equal(f->n, 0);
    assert_int_equal(fx_agent_state(f, a), TC_AGENT_AFTER_CALL_WORK);
    tc_router_tick(f->r, end + 60 * SEC);
    int av = ev_find(f, 0, EV_AGENT_STATE, 0, a);
    assert_true(av >= 0);
    assert_int_equal(f->log[av].state, TC_AGENT_AVAILABLE);
    assert_int_equal(f->log[av].until, 0);
    assert_int_equal(ev_only_ring(f, a), c2);
}

static void outcome_ends_after_call_work_at_once(void **state)
{
    fx *f = fx_of(state);
    int64_t a;
    int64_t c1 = answered_call(f, &a);
    int64_t b = fx_login(f, "bob", "broadband", T0);
    assert_int_equal(tc_router_hangup(f->r, c1, T0 + 10 * SEC), 0);
    assert_int_equal(fx_agent_state(f, a), TC_AGENT_AFTER_CALL_WORK);

    tc_agent_state st = TC_AGENT_OFFLINE;
    assert_int_equal(tc_router_agent_outcome(f->r, b, c1, "resolved", "", T0 + 11 * SEC, &st),
                     -EPERM);
    assert_int_equal(tc_router_agent_outcome(f->r, 4242, c1, "resolved", "", T0 + 11 * SEC, &st),
                     -ENOENT);
    fx_clear(f);
    assert_int_equal(
        tc_router_agent_outcome(f->r, a, c1, "resolved", "modem reset", T0 + 12 * SEC, &st), 0);
    assert_int_equal(st, TC_AGENT_AVAILABLE);
    assert_int_equal(fx_agent_state(f, a), TC_AGENT_AVAILABLE);
    assert_int_equal(ev_find(f, 0, EV_AGENT_STATE, 0, a), -1); /* the reply tells it */
    tc_session_row row;
    assert_int_equal(tc_store_session_get(f->store, c1, &row), 0);
    assert_string_equal(row.outcome, "resolved");
    assert_string_equal(row.notes, "modem reset");

    /* the timer has nothing left to do; a correction keeps the agent's state */
    fx_clear(f);
    tc_router_tick(f->r, T0 + 100 * SEC);
    assert_int_equal(ev_find(f, 0, EV_AGENT_STATE, 0, a), -1);
    assert_int_equal(tc_router_agent_set_state(f->r, a, TC_AGENT_NOT_READY, "lunch", T0), 0);
    assert_int_equal(tc_router_agent_outcome(f->r, a, c1, "escalated", NULL, T0 + 101 * SEC, &st),
                     0);
    assert_int_equal(st, TC_AGENT_NOT_READY);
}

static void customer_resume_inside_window_keeps_place(void **state)
{
    fx *f = fx_of(state);
    int64_t a = fx_login(f, "alice", "broadband", T0);
    int64_t c1 = fx_join(f, "broadband", T0 + SEC);
    int64_t c2 = fx_join(f, "broadband", T0 + 2 * SEC);
    tc_router_customer_disconnected(f->r, c1, T0 + 10 * SEC);
    fx_available(f, a, T0 + 11 * SEC);
    assert_int_equal(ev_only_ring(f, a), c2); /* a dropped customer is not rung */

    tc_router_tick(f->r, T0 + 70 * SEC - 1);
    tc_session_info s;
    int64_t id = 0;
    /* the token is only in the join result; find it through the router's table */
    tc_session *ses = tc_router_find_session(f->r, c1);
    assert_non_null(ses);
    assert_int_equal(tc_router_session_by_token(f->r, ses->token, &id), 0);
    assert_int_equal(id, c1);
    assert_int_equal(tc_router_customer_resume(f->r, ses->token, T0 + 70 * SEC - 1, &s), 0);
    assert_int_equal(s.state, TC_SESSION_QUEUED);
    assert_int_equal(s.position, 2); /* c2, whose ring alice missed, went back to the head */
    tc_router_tick(f->r, T0 + 71 * SEC);
    assert_int_equal(fx_info(f, c1).state, TC_SESSION_QUEUED);

    /* away again, this time past the window */
    fx_clear(f);
    tc_router_customer_disconnected(f->r, c1, T0 + 80 * SEC);
    tc_router_tick(f->r, T0 + 140 * SEC - 1);
    assert_int_equal(ev_count(f, EV_ENDED), 0);
    tc_router_tick(f->r, T0 + 140 * SEC);
    int e = ev_find(f, 0, EV_ENDED, c1, 0);
    assert_true(e >= 0);
    assert_int_equal(f->log[e].state, TC_END_ABANDONED);
    fx_store_end_reason(f, c1, "abandoned");
    /* resume after the end still finds the session, ended, so it can be rated */
    assert_int_equal(tc_router_customer_resume(f->r, ses->token, T0 + 141 * SEC, &s), 0);
    assert_int_equal(s.state, TC_SESSION_ENDED);
    assert_int_equal(s.end_reason, TC_END_ABANDONED);
    assert_int_equal(
        tc_router_customer_resume(f->r, "00000000000000000000000000000000", T0 + 141 * SEC, &s),
        -ENOENT);
}

static void customer_gone_during_call(void **state)
{
    fx *f = fx_of(state);
    int64_t a;
    int64_t c1 = answered_call(f, &a);
    tc_router_customer_disconnected(f->r, c1, T0 + 3 * SEC);
    fx_clear(f);
    tc_router_tick(f->r, T0 + 63 * SEC - 1);
    assert_int_equal(f->n, 0);
    tc_router_tick(f->r, T0 + 63 * SEC);
    int e = ev_find(f, 0, EV_ENDED, c1, a);
    assert_true(e >= 0);
    assert_int_equal(f->log[e].state, TC_END_CUSTOMER_GONE);
    fx_store_end_reason(f, c1, "customer_gone");
    assert_int_equal(fx_agent_state(f, a), TC_AGENT_AFTER_CALL_WORK);
}

static void agent_drop_while_ringing_rings_another(void **state)
{
    fx *f = fx_of(state);
    int64_t a, b;
    two_agents(f, &a, &b);
    int64_t c1 = fx_join(f, "broadband", T0 + 2 * SEC);
    assert_true(ev_find(f, 0, EV_RING, c1, a) >= 0);
    fx_clear(f);
    tc_router_agent_disconnected(f->r, a, T0 + 3 * SEC);
    int w = ev_find(f, 0, EV_RING_CANCELLED, c1, a); /* withdrawn, then offered to bob */
    assert_true(w >= 0);
    assert_true(ev_find(f, w, EV_RING, c1, b) > w);
    assert_int_equal(ev_only_ring(f, b), c1);
    assert_int_equal(ev_count(f, EV_ENDED), 0);
    assert_int_equal(fx_agent_state(f, a), TC_AGENT_OFFLINE);
    tc_session_info s = fx_info(f, c1);
    assert_int_equal(s.state, TC_SESSION_RINGING);
    assert_int_equal(s.agent_id, b);
    assert_int_equal(s.position, 1);
    /* alice never answered, so she is gone after the window */
    tc_router_tick(f->r, T0 + 63 * SEC);
    tc_agent_info info;
    assert_int_equal(tc_router_agent_state(f->r, a, &info), -ENOENT);
}

static void agent_gone_past_window_ends_call(void **state)
{
    fx *f = fx_of(state);
    int64_t a;
    int64_t c1 = answered_call(f, &a);
    tc_router_agent_disconnected(f->r, a, T0 + 5 * SEC);
    assert_int_equal(fx_agent_state(f, a), TC_AGENT_ON_CALL);
    fx_clear(f);
    tc_router_tick(f->r, T0 + 65 * SEC - 1);
    assert_int_equal(f->n, 0);
    assert_int_equal(fx_info(f, c1).state, TC_SESSION_ANSWERED);
    tc_router_tick(f->r, T0 + 65 * SEC);
    int e = ev_find(f, 0, EV_ENDED, c1, a);
    assert_true(e >= 0);
    assert_int_equal(f->log[e].state, TC_END_AGENT_GONE);
    fx_store_end_reason(f, c1, "agent_gone");
    /* Kept offline, owed the call's outcome: its next login starts in after-call
     * work for that call, and saving the outcome makes it available. */
    tc_agent_info info;
    assert_int_equal(tc_router_agent_state(f->r, a, &info), 0);
    assert_int_equal(info.state, TC_AGENT_OFFLINE);
    tc_account acc;
    assert_int_equal(tc_store_account_get(f->store, "alice", &acc), 0);
    assert_int_equal(tc_router_agent_login(f->r, &acc, T0 + 100 * SEC, &info), 0);
    assert_int_equal(info.state, TC_AGENT_AFTER_CALL_WORK);
    assert_int_equal(info.call_session_id, 0);
    assert_int_equal(info.acw_session_id, c1);
    assert_true(info.acw_until > T0 + 100 * SEC);
    tc_agent_state st;
    assert_int_equal(tc_router_agent_outcome(f->r, a, c1, "resolved", "", T0 + 101 * SEC, &st), 0);
    assert_int_equal(st, TC_AGENT_AVAILABLE);
}

/* Issue 12 item 19: after-call work can be extended once, by its own length. */
static void wrap_up_extends_once(void **state)
{
    fx *f = fx_of(state);
    int64_t a;
    int64_t c1 = answered_call(f, &a);
    assert_int_equal(tc_router_hangup(f->r, c1, T0 + 10 * SEC), 0);
    int64_t until = 0;
    assert_int_equal(tc_router_agent_extend_wrap_up(f->r, a, c1 + 1, T0 + 20 * SEC, &until),
                     -EBADFD);
    assert_int_equal(tc_router_agent_extend_wrap_up(f->r, a, c1, T0 + 20 * SEC, &until), 0);
    assert_int_equal(until, T0 + 10 * SEC + 120 * SEC);
    assert_int_equal(tc_router_agent_extend_wrap_up(f->r, a, c1, T0 + 21 * SEC, &until), -EBADFD);
    tc_router_tick(f->r, T0 + 70 * SEC);
    assert_int_equal(fx_agent_state(f, a), TC_AGENT_AFTER_CALL_WORK);
    tc_router_tick(f->r, T0 + 130 * SEC);
    assert_int_equal(fx_agent_state(f, a), TC_AGENT_AVAILABLE);
    /* the next call's wrap-up may be extended again */
    int64_t c2 = fx_join(f, "broadband", T0 + 131 * SEC);
    tc_session_info info;
    assert_int_equal(tc_router_agent_accept(f->r, a, c2, T0 + 132 * SEC, &info), 0);
    assert_int_equal(tc_router_hangup(f->r, c2, T0 + 140 * SEC), 0);
    assert_int_equal(tc_router_agent_extend_wrap_up(f->r, a, c2, T0 + 141 * SEC, &until), 0);
}

static void agent_owed_an_outcome_is_forgotten_after_an_hour(void **state)
{
    fx *f = fx_of(state);
    int64_t a;
    answered_call(f, &a);
    tc_router_agent_disconnected(f->r, a, T0 + 5 * SEC);
    tc_router_tick(f->r, T0 + 65 * SEC);
    tc_agent_info info;
    assert_int_equal(tc_router_agent_state(f->r, a, &info), 0);
    tc_router_tick(f->r, T0 + 65 * SEC + 3600 * SEC);
    assert_int_equal(tc_router_agent_state(f->r, a, &info), -ENOENT);
}

static int peer_event(fx *f, int who, int connected)
{
    for (int i = 0; i < f->n; i++)
        if (f->log[i].kind == EV_PEER && f->log[i].who == who && f->log[i].connected == connected)
            return i;
    return -1;
}

/* Each side's drop and return during a call is news for the other side, with
 * the end of the resume window; a drop before the answer is not. */
static void drops_and_returns_are_told_to_the_other_side(void **state)
{
    fx *f = fx_of(state);
    int64_t a;
    int64_t c1 = answered_call(f, &a);
    fx_clear(f);
    tc_router_customer_disconnected(f->r, c1, T0 + 5 * SEC);
    int e = peer_event(f, TC_SIDE_CUSTOMER, 0);
    assert_true(e >= 0);
    assert_int_equal(f->log[e].session_id, c1);
    assert_int_equal(f->log[e].agent_id, a);
    assert_int_equal(f->log[e].until, T0 + 5 * SEC + 60 * SEC);
    tc_session_info si;
    assert_int_equal(tc_router_session_info(f->r, c1, &si), 0);
    assert_true(si.customer_away);
    assert_false(si.agent_away);
    assert_int_equal(si.away_until, T0 + 65 * SEC);
    tc_router_customer_disconnected(f->r, c1, T0 + 6 * SEC); /* a second socket of it */
    assert_int_equal(ev_count(f, EV_PEER), 1);
    assert_int_equal(tc_router_customer_resume(f->r, fx_token(f, c1), T0 + 9 * SEC, &si), 0);
    assert_true(peer_event(f, TC_SIDE_CUSTOMER, 1) >= 0);
    assert_false(si.customer_away);

    fx_clear(f);
    tc_router_agent_disconnected(f->r, a, T0 + 10 * SEC);
    e = peer_event(f, TC_SIDE_AGENT, 0);
    assert_true(e >= 0);
    assert_int_equal(f->log[e].session_id, c1);
    assert_int_equal(tc_router_session_info(f->r, c1, &si), 0);
    assert_true(si.agent_away);
    tc_account acc;
    assert_int_equal(tc_store_account_get(f->store, "alice", &acc), 0);
    tc_agent_info info;
    assert_int_equal(tc_router_agent_login(f->r, &acc, T0 + 20 * SEC, &info), 0);
    assert_true(peer_event(f, TC_SIDE_AGENT, 1) >= 0);
    assert_int_equal(info.call_session_id, c1);
}

/* Media that fails while its side is away does not end the call: the window
 * does (issue 11: the call ended failed ~21 s after an agent's tab closed). */
static void media_failure_of_an_away_side_waits_for_the_window(void **state)
{
    fx *f = fx_of(state);
    int64_t a;
    int64_t c1 = answered_call(f, &a);
    tc_router_agent_disconnected(f->r, a, T0 + 5 * SEC);
    assert_int_equal(tc_router_media_state(f->r, c1, TC_SIDE_AGENT, TC_MEDIA_FAILED, T0 + 21 * SEC),
                     0);
    assert_int_equal(fx_info(f, c1).state, TC_SESSION_ANSWERED);
    tc_router_tick(f->r, T0 + 30 * SEC);
    assert_int_equal(fx_info(f, c1).state, TC_SESSION_ANSWERED);
    /* back inside the window: its media has media.grace_s to come up again */
    tc_account acc;
    assert_int_equal(tc_store_account_get(f->store, "alice", &acc), 0);
    tc_agent_info info;
    assert_int_equal(tc_router_agent_login(f->r, &acc, T0 + 40 * SEC, &info), 0);
    int64_t grace = (int64_t)f->cfg.media_grace_s * SEC;
    tc_router_tick(f->r, T0 + 40 * SEC + grace - 1);
    assert_int_equal(fx_info(f, c1).state, TC_SESSION_ANSWERED);
    tc_router_tick(f->r, T0 + 40 * SEC + grace);
    assert_int_equal(fx_info(f, c1).state, TC_SESSION_ENDED);
    fx_store_end_reason(f, c1, "failed");
}

/* The pages helper saw "agent is back", then the old leg's "no ICE for 15 s,
 * failed" 6 s later ended the call before the new page had offered. */
static void old_leg_failing_just_after_a_return_keeps_the_call(void **state)
{
    fx *f = fx_of(state);
    int64_t a;
    int64_t c1 = answered_call(f, &a);
    tc_router_agent_disconnected(f->r, a, T0 + 5 * SEC);
    tc_account acc;
    assert_int_equal(tc_store_account_get(f->store, "alice", &acc), 0);
    tc_agent_info info;
    assert_int_equal(tc_router_agent_login(f->r, &acc, T0 + 14 * SEC, &info), 0);
    assert_int_equal(tc_router_media_state(f->r, c1, TC_SIDE_AGENT, TC_MEDIA_FAILED, T0 + 20 * SEC),
                     0);
    assert_int_equal(fx_info(f, c1).state, TC_SESSION_ANSWERED);
    /* the new page's leg connects: the call goes on */
    tc_router_media_state(f->r, c1, TC_SIDE_AGENT, TC_MEDIA_CONNECTED, T0 + 22 * SEC);
    tc_router_tick(f->r, T0 + 100 * SEC);
    assert_int_equal(fx_info(f, c1).state, TC_SESSION_ANSWERED);
}

static void media_that_comes_back_keeps_the_call(void **state)
{
    fx *f = fx_of(state);
    int64_t a;
    int64_t c1 = answered_call(f, &a);
    tc_router_customer_disconnected(f->r, c1, T0 + 5 * SEC);
    tc_router_media_state(f->r, c1, TC_SIDE_CUSTOMER, TC_MEDIA_FAILED, T0 + 20 * SEC);
    tc_session_info si;
    assert_int_equal(tc_router_customer_resume(f->r, fx_token(f, c1), T0 + 30 * SEC, &si), 0);
    tc_router_media_state(f->r, c1, TC_SIDE_CUSTOMER, TC_MEDIA_CONNECTED, T0 + 32 * SEC);
    tc_router_tick(f->r, T0 + 200 * SEC);
    assert_int_equal(fx_info(f, c1).state, TC_SESSION_ANSWERED);
    /* a side that is connected and fails ends the call at once */
    assert_int_equal(
        tc_router_media_state(f->r, c1, TC_SIDE_AGENT, TC_MEDIA_FAILED, T0 + 201 * SEC), 1);
    assert_int_equal(fx_info(f, c1).state, TC_SESSION_ENDED);
    fx_store_end_reason(f, c1, "failed");
}

static void agent_relogin_inside_window_finds_call(void **state)
{
    fx *f = fx_of(state);
    int64_t a;
    int64_t c1 = answered_call(f, &a);
    tc_router_agent_disconnected(f->r, a, T0 + 5 * SEC);
    tc_account acc;
    assert_int_equal(tc_store_account_get(f->store, "alice", &acc), 0);
    tc_agent_info info;
    assert_int_equal(tc_router_agent_login(f->r, &acc, T0 + 30 * SEC, &info), 0);
    assert_int_equal(info.state, TC_AGENT_ON_CALL);
    assert_int_equal(info.call_session_id, c1);
    fx_clear(f);
    tc_router_tick(f->r, T0 + 70 * SEC);
    assert_int_equal(ev_count(f, EV_ENDED), 0);
    assert_int_equal(fx_info(f, c1).state, TC_SESSION_ANSWERED);
    assert_int_equal(tc_router_hangup(f->r, c1, T0 + 80 * SEC), 0);
    assert_int_equal(fx_agent_state(f, a), TC_AGENT_AFTER_CALL_WORK);
}

static void leave_before_and_after_answer(void **state)
{
    fx *f = fx_of(state);
    int64_t c0 = fx_join(f, "id_check", T0);
    tc_end_reason why = TC_END_NONE;
    fx_clear(f);
    assert_int_equal(tc_router_customer_leave(f->r, c0, T0 + SEC, &why), 0);
    assert_int_equal(why, TC_END_ABANDONED);
    int e = ev_find(f, 0, EV_ENDED, c0, 0);
    assert_true(e >= 0);
    assert_int_equal(f->log[e].state, TC_END_ABANDONED);
    fx_store_end_reason(f, c0, "abandoned");
    assert_int_equal(tc_router_customer_leave(f->r, c0, T0 + 2 * SEC, &why), -ESTALE);
    assert_int_equal(tc_router_customer_leave(f->r, 777, T0 + 2 * SEC, &why), -ENOENT);

    /* leaving while rung takes the ring back */
    int64_t a = fx_login(f, "alice", "broadband", T0);
    fx_available(f, a, T0);
    int64_t c1 = fx_join(f, "broadband", T0 + 3 * SEC);
    fx_clear(f);
    assert_int_equal(tc_router_customer_leave(f->r, c1, T0 + 4 * SEC, &why), 0);
    assert_int_equal(why, TC_END_ABANDONED);
    int rc = ev_find(f, 0, EV_RING_CANCELLED, c1, a);
    assert_true(rc >= 0);
    assert_string_equal(f->log[rc].reason, "customer_left");
    assert_int_equal(fx_agent_state(f, a), TC_AGENT_AVAILABLE);

    /* after the answer it is completed */
    int64_t c2 = fx_join(f, "broadband", T0 + 5 * SEC);
    tc_session_info info;
    assert_int_equal(tc_router_agent_accept(f->r, a, c2, T0 + 6 * SEC, &info), 0);
    assert_int_equal(tc_router_customer_leave(f->r, c2, T0 + 7 * SEC, &why), 0);
    assert_int_equal(why, TC_END_COMPLETED);
    fx_store_end_reason(f, c2, "completed");
}

static void rating_rules(void **state)
{
    fx *f = fx_of(state);
    int64_t c1 = fx_join(f, "id_check", T0);
    assert_int_equal(tc_router_customer_rate(f->r, c1, 5, "", T0 + SEC), -EAGAIN);
    assert_int_equal(tc_router_customer_leave(f->r, c1, T0 + 2 * SEC, NULL), 0);
    assert_int_equal(tc_router_customer_rate(f->r, c1, 0, "", T0 + 3 * SEC), -EINVAL);
    assert_int_equal(tc_router_customer_rate(f->r, c1, 6, "", T0 + 3 * SEC), -EINVAL);
    assert_int_equal(tc_router_customer_rate(f->r, c1, 4, "quick", T0 + 3 * SEC), 0);
    assert_int_equal(tc_router_customer_rate(f->r, c1, 5, "", T0 + 4 * SEC), -EALREADY);
    assert_int_equal(tc_router_customer_rate(f->r, 999, 5, "", T0 + 4 * SEC), -ENOENT);
    tc_session_row row;
    assert_int_equal(tc_store_session_get(f->store, c1, &row), 0);
    assert_int_equal(row.rating, 4);
    assert_string_equal(row.rating_comment, "quick");
}

static void shutdown_ends_every_open_session(void **state)
{
    fx *f = fx_of(state);
    int64_t a, b;
    two_agents(f, &a, &b);
    int64_t on_call = fx_join(f, "broadband", T0 + 2 * SEC);
    tc_session_info info;
    assert_int_equal(tc_router_agent_accept(f->r, a, on_call, T0 + 3 * SEC, &info), 0);
    int64_t ringing = fx_join(f, "broadband", T0 + 4 * SEC);
    assert_int_equal(fx_info(f, ringing).agent_id, b);
    int64_t queued[3];
    for (int i = 0; i < 3; i++)
        queued[i] = fx_join(f, i == 2 ? "id_check" : "broadband", T0 + (5 + i) * SEC);
    int64_t left = fx_join(f, "broadband", T0 + 8 * SEC);
    assert_int_equal(tc_router_customer_leave(f->r, left, T0 + 9 * SEC, NULL), 0);

    fx_clear(f);
    tc_router_shutdown(f->r, T0 + 10 * SEC);
    int64_t open[] = {on_call, ringing, queued[0], queued[1], queued[2]};
    for (int i = 0; i < 5; i++) {
        fx_store_end_reason(f, open[i], "server_shutdown");
        int e = ev_find(f, 0, EV_ENDED, open[i], 0);
        assert_true(e >= 0);
        assert_int_equal(f->log[e].state, TC_END_SERVER_SHUTDOWN);
        assert_int_equal(fx_info(f, open[i]).state, TC_SESSION_ENDED);
    }
    fx_store_end_reason(f, left, "abandoned");
    assert_int_equal(ev_count(f, EV_ENDED), 5);
    /* nobody is offered a session that is about to end */
    assert_int_equal(ev_count(f, EV_RING), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ring_timeout_rings_next_agent, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(ring_timeout_puts_customer_back_at_head, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(decline_requeues_with_reason_declined, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(missed_and_declined_keep_the_customer_waiting, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(an_agent_who_missed_is_rung_last, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(max_offers_ends_missed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(max_wait_ends_missed, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(accept_moves_the_others_up, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(hangup_then_after_call_work_timer, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(outcome_ends_after_call_work_at_once, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(customer_resume_inside_window_keeps_place, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(customer_gone_during_call, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(agent_drop_while_ringing_rings_another, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(agent_gone_past_window_ends_call, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(wrap_up_extends_once, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(agent_owed_an_outcome_is_forgotten_after_an_hour, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(drops_and_returns_are_told_to_the_other_side, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(media_failure_of_an_away_side_waits_for_the_window,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(old_leg_failing_just_after_a_return_keeps_the_call,
                                        fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(media_that_comes_back_keeps_the_call, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(agent_relogin_inside_window_finds_call, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(leave_before_and_after_answer, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(rating_rules, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(shutdown_ends_every_open_session, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
