/*
 * router_fixture.h: what the router's unit tests share. A real in-memory store,
 * a router over it, time driven by hand, and every event the router reports
 * recorded into a fixed log that tests assert on.
 *
 * Included by exactly one test file per executable; the helpers are static.
 */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "route/router_internal.h"
#include "telecounter/random.h"
#include "telecounter/router.h"
#include "telecounter/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1700000000000LL /* wall-clock ms */
#define SEC 1000LL
#define LOG_MAX 1024

typedef enum ev_kind {
    EV_QUEUE = 1,
    EV_RING,
    EV_RING_CANCELLED,
    EV_AGENT_STATE,
    EV_ANSWERED,
    EV_ENDED,
    EV_PEER,
} ev_kind;

typedef struct ev {
    ev_kind kind;
    int64_t session_id, agent_id;
    int position, wait_s;              /* queue_update */
    int state;                         /* agent_state: tc_agent_state; ended: tc_end_reason */
    char reason[32];                   /* agent_state, ring_cancelled */
    int64_t until;                     /* agent_state, peer */
    int who, connected;                /* peer: tc_media_side, bool */
    int priority, waited_s, timeout_s; /* ring */
} ev;

typedef struct fx {
    tc_config cfg;
    tc_store *store;
    tc_router *r;
    ev log[LOG_MAX];
    int n;
    int dropped;
    int queues_changed;
} fx;

static inline ev *ev_push(fx *f, ev_kind kind)
{
    if (f->n == LOG_MAX) {
        f->dropped++;
        return NULL;
    }
    ev *e = &f->log[f->n++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    return e;
}

static inline void on_queue_update(void *user, int64_t session_id, int position, int wait_s,
                                   int agents)
{
    (void)agents;
    ev *e = ev_push(user, EV_QUEUE);
    if (e) {
        e->session_id = session_id;
        e->position = position;
        e->wait_s = wait_s;
    }
}

static inline void on_ring(void *user, int64_t agent_id, const tc_ring_info *ring)
{
    ev *e = ev_push(user, EV_RING);
    if (e) {
        e->agent_id = agent_id;
        e->session_id = ring->session_id;
        e->priority = ring->priority;
        e->waited_s = ring->waited_s;
        e->timeout_s = ring->timeout_s;
    }
}

static inline void on_ring_cancelled(void *user, int64_t agent_id, int64_t session_id,
                                     const char *reason)
{
    ev *e = ev_push(user, EV_RING_CANCELLED);
    if (e) {
        e->agent_id = agent_id;
        e->session_id = session_id;
        snprintf(e->reason, sizeof e->reason, "%s", reason);
    }
}

static inline void on_agent_state(void *user, int64_t agent_id, tc_agent_state state,
                                  const char *reason, int64_t until)
{
    ev *e = ev_push(user, EV_AGENT_STATE);
    if (e) {
        e->agent_id = agent_id;
        e->state = state;
        snprintf(e->reason, sizeof e->reason, "%s", reason);
        e->until = until;
    }
}

static inline void on_answered(void *user, int64_t session_id, int64_t agent_id)
{
    ev *e = ev_push(user, EV_ANSWERED);
    if (e) {
        e->session_id = session_id;
        e->agent_id = agent_id;
    }
}

static inline void on_ended(void *user, int64_t session_id, int64_t agent_id, tc_end_reason reason)
{
    ev *e = ev_push(user, EV_ENDED);
    if (e) {
        e->session_id = session_id;
        e->agent_id = agent_id;
        e->state = reason;
    }
}

static inline void on_peer_state(void *user, int64_t session_id, int64_t agent_id,
                                 tc_media_side who, bool connected, int64_t until)
{
    ev *e = ev_push(user, EV_PEER);
    if (e) {
        e->session_id = session_id;
        e->agent_id = agent_id;
        e->who = who;
        e->connected = connected;
        e->until = until;
    }
}

static inline void on_queues_changed(void *user)
{
    ((fx *)user)->queues_changed++;
}

static const uint8_t test_invite_key[TC_INVITE_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

/* Opens the store and fills the default configuration; the router comes later
 * (fx_start), so that a test may change the configuration or seed the store. */
static inline int fx_setup(void **state)
{
    if (tc_random_init() != 0)
        return -1;
    fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    tc_config_defaults(&f->cfg);
    /* every test customer comes from one address: admission has tests of its own */
    f->cfg.sessions_per_address = 1000000;
    f->cfg.joins_per_minute = 1000000;
    f->store = tc_store_open(":memory:");
    *state = f;
    return f->store ? 0 : -1;
}

static inline int fx_teardown(void **state)
{
    fx *f = *state;
    tc_router_destroy(f->r);
    tc_store_close(f->store);
    free(f);
    return 0;
}

static inline void fx_start(fx *f)
{
    tc_router_events evs = {
        .user = f,
        .queue_update = on_queue_update,
        .ring = on_ring,
        .ring_cancelled = on_ring_cancelled,
        .agent_state = on_agent_state,
        .answered = on_answered,
        .ended = on_ended,
        .queues_changed = on_queues_changed,
        .peer_state = on_peer_state,
    };
    f->r = tc_router_create(&f->cfg, f->store, &evs, test_invite_key);
    assert_non_null(f->r);
}

/* The fixture, with the router started on the default configuration. */
static inline fx *fx_of(void **state)
{
    fx *f = *state;
    if (!f->r)
        fx_start(f);
    return f;
}

static inline void fx_clear(fx *f)
{
    f->n = 0;
}

/* Creates the account (or finds it) and logs it in; returns its id. */
static inline int64_t fx_login(fx *f, const char *username, const char *skills, int64_t now)
{
    tc_account acc;
    if (tc_store_account_get(f->store, username, &acc) != 0) {
        int64_t id;
        assert_int_equal(tc_store_account_add(f->store, username, username, "agent", skills,
                                              "not-a-real-hash", now, &id),
                         0);
        assert_int_equal(tc_store_account_get(f->store, username, &acc), 0);
        assert_int_equal(acc.id, id);
    }
    tc_agent_info info;
    assert_int_equal(tc_router_agent_login(f->r, &acc, now, &info), 0);
    return acc.id;
}

static inline void fx_available(fx *f, int64_t agent, int64_t now)
{
    assert_int_equal(tc_router_agent_set_state(f->r, agent, TC_AGENT_AVAILABLE, "", now), 0);
}

static inline int64_t fx_join(fx *f, const char *desk, int64_t now)
{
    tc_join_result j;
    assert_int_equal(tc_router_customer_join(f->r, desk, "192.0.2.1", now, &j, NULL), 0);
    assert_true(j.session.id > 0);
    return j.session.id;
}

static inline tc_agent_state fx_agent_state(fx *f, int64_t agent)
{
    tc_agent_info info;
    assert_int_equal(tc_router_agent_state(f->r, agent, &info), 0);
    return info.state;
}

static inline tc_session_info fx_info(fx *f, int64_t session)
{
    tc_session_info s;
    assert_int_equal(tc_router_session_info(f->r, session, &s), 0);
    return s;
}

/* Index of the first event of kind at or after from matching the ids (0 = any), or -1. */
static inline int ev_find(const fx *f, int from, ev_kind kind, int64_t session_id, int64_t agent_id)
{
    for (int i = from; i < f->n; i++) {
        const ev *e = &f->log[i];
        if (e->kind == kind && (!session_id || e->session_id == session_id) &&
            (!agent_id || e->agent_id == agent_id))
            return i;
    }
    return -1;
}

static inline int ev_count(const fx *f, ev_kind kind)
{
    int n = 0;
    for (int i = 0; i < f->n; i++)
        n += f->log[i].kind == kind;
    return n;
}

/* The session's last queue_update, which must exist. */
static inline const ev *ev_last_queue(const fx *f, int64_t session_id)
{
    for (int i = f->n - 1; i >= 0; i--)
        if (f->log[i].kind == EV_QUEUE && f->log[i].session_id == session_id)
            return &f->log[i];
    fail_msg("no queue_update for session %lld", (long long)session_id);
    return NULL;
}

/* The only ring in the log; returns its session. */
static inline int64_t ev_only_ring(const fx *f, int64_t agent_id)
{
    assert_int_equal(ev_count(f, EV_RING), 1);
    int i = ev_find(f, 0, EV_RING, 0, 0);
    assert_int_equal(f->log[i].agent_id, agent_id);
    return f->log[i].session_id;
}

static inline void fx_store_end_reason(fx *f, int64_t session, const char *want)
{
    tc_session_row row;
    assert_int_equal(tc_store_session_get(f->store, session, &row), 0);
    assert_string_equal(row.end_reason, want);
}
