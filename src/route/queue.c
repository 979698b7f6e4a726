/*
 * queue.c: desk queues, positions and wait estimates, and matching.
 *
 * Order within a desk: customers with a redeemed invite first, then everybody
 * else, each group by arrival. A customer whose ring failed goes back to the
 * head of its group. Matching takes, across desks, the most urgent waiting
 * customer that some available agent may serve, rings the longest-idle such
 * agent (or a random one, for rules that demand it), and repeats until no pair
 * is left. A customer whose connection dropped keeps its place but is not rung.
 */
#include "router_internal.h"

#include "estimate.h"

#include "telecounter/log.h"
#include "telecounter/random.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void tc_queue_add(tc_router *r, tc_session *s, bool at_head)
{
    GQueue *q = &r->desks[s->desk].queue;
    GList *l = q->head;
    if (s->priority > 0 && at_head) {
        l = q->head;
    } else if (s->priority == 0 && !at_head) {
        l = NULL;
    } else {
        /* the first normal-priority customer: the end of the invite group */
        while (l && ((tc_session *)l->data)->priority > 0)
            l = l->next;
    }
    if (l) {
        g_queue_insert_before(q, l, s);
        s->queue_link = l->prev;
    } else {
        g_queue_push_tail(q, s);
        s->queue_link = q->tail;
    }
}

void tc_queue_remove(tc_router *r, tc_session *s)
{
    if (!s->queue_link)
        return;
    g_queue_delete_link(&r->desks[s->desk].queue, s->queue_link);
    s->queue_link = NULL;
}

int tc_queue_position(tc_router *r, const tc_session *s)
{
    if (!s->queue_link)
        return 0;
    return g_queue_link_index(&r->desks[s->desk].queue, s->queue_link) + 1;
}

static bool agent_serves(const tc_agent *a, int desk)
{
    return (a->skills >> desk) & 1u;
}

static double desk_handle_s(const tc_router *r, int desk)
{
    return r->desks[desk].handle_s > 0 ? r->desks[desk].handle_s
                                       : (double)r->cfg->wait_estimate_default_s;
}

/* When each agent who can take one of the desk's calls soon frees up, in seconds
 * from now: available (or being rung) now; on a call, the rest of an average
 * call (a quarter of one at least: a long call goes on a while); in after-call
 * work, its rest. Not ready and offline agents take no calls and do not count.
 * Returns the count; *out is g_free'd by the caller. */
static int desk_free_times(tc_router *r, int desk, int64_t now, double **out)
{
    double handle_s = desk_handle_s(r, desk);
    double *t = g_new(double, g_hash_table_size(r->agents) + 1);
    int n = 0;
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, r->agents);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        tc_agent *a = value;
        if (!agent_serves(a, desk))
            continue;
        if (a->state == TC_AGENT_AVAILABLE || a->state == TC_AGENT_RINGING) {
            t[n++] = 0;
        } else if (a->state == TC_AGENT_AFTER_CALL_WORK) {
            t[n++] = (double)(a->acw_until - now) / 1000.0;
        } else if (a->state == TC_AGENT_ON_CALL) {
            tc_session *s = tc_router_find_session(r, a->session_id);
            double in_call_s = s ? (double)(now - s->answered_at) / 1000.0 : 0;
            double rest_s = handle_s - in_call_s;
            t[n++] = rest_s > handle_s / 4 ? rest_s : handle_s / 4;
        }
    }
    *out = t;
    return n;
}

int tc_queue_agents(tc_router *r, int desk)
{
    double *t;
    int n = desk_free_times(r, desk, 0, &t);
    g_free(t);
    return n;
}

int tc_queue_wait_s(tc_router *r, int desk, int position, int64_t now)
{
    if (position <= 0)
        return 0;
    double *t;
    int n = desk_free_times(r, desk, now, &t);
    int *w = g_new(int, position);
    tc_estimate_waits(t, n, desk_handle_s(r, desk), position, w);
    int wait_s = w[position - 1];
    g_free(w);
    g_free(t);
    return wait_s;
}

void tc_queue_shown(tc_session *s, const tc_session_info *told, int64_t now)
{
    s->shown_position = told->position;
    s->shown_wait_s = told->wait_s;
    s->shown_agents = told->agents;
    s->shown_eta = now + (int64_t)(told->wait_s > 0 ? told->wait_s : 0) * 1000;
}

/* An estimate is pushed again when its answer time moved by this much, even if
 * the position did not change: a customer told 20 s is not left waiting minutes
 * without a word. */
#define TC_ETA_DRIFT_MS 15000

void tc_queue_refresh(tc_router *r, int desk, int64_t now)
{
    GQueue *q = &r->desks[desk].queue;
    if (q->length == 0)
        return;
    double *t;
    int agents = desk_free_times(r, desk, now, &t);
    int *w = g_new(int, q->length);
    tc_estimate_waits(t, agents, desk_handle_s(r, desk), (int)q->length, w);
    int position = 0;
    for (GList *l = q->head; l; l = l->next, position++) {
        tc_session *s = l->data;
        int wait_s = s->state == TC_SESSION_QUEUED ? w[position] : 0;
        int64_t eta = now + (int64_t)(wait_s > 0 ? wait_s : 0) * 1000;
        int64_t drift = eta > s->shown_eta ? eta - s->shown_eta : s->shown_eta - eta;
        if (position + 1 == s->shown_position && agents == s->shown_agents &&
            (wait_s == s->shown_wait_s || drift < TC_ETA_DRIFT_MS))
            continue;
        s->shown_position = position + 1;
        s->shown_wait_s = wait_s;
        s->shown_agents = agents;
        s->shown_eta = eta;
        if (s->connected && r->ev.queue_update)
            r->ev.queue_update(r->ev.user, s->id, position + 1, wait_s, agents);
    }
    g_free(w);
    g_free(t);
}

void tc_queue_update_handle_time(tc_router *r, int desk)
{
    double avg;
    if (tc_store_recent_handle_s(r->store, r->cfg->desks[desk], 20, &avg) == 0)
        r->desks[desk].handle_s = avg;
}

static bool missed_by(const tc_session *s, int64_t agent_id)
{
    for (int i = 0; i < s->missed_count; i++)
        if (s->missed_by[i] == agent_id)
            return true;
    return false;
}

/* The agent to ring for s among those who have (or have not) missed it, or NULL:
 * longest idle, or uniformly random. */
static tc_agent *pick_among(tc_router *r, const tc_session *s, bool missed)
{
    tc_agent *pick = NULL;
    uint32_t seen = 0;
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, r->agents);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        tc_agent *a = value;
        if (a->state != TC_AGENT_AVAILABLE || !a->connected || !agent_serves(a, s->desk) ||
            missed_by(s, a->id) != missed)
            continue;
        seen++;
        if (r->cfg->assignment == TC_ASSIGN_RANDOM) {
            if (tc_random_below(seen) == 0) /* reservoir sampling */
                pick = a;
        } else if (!pick || a->idle_since < pick->idle_since ||
                   (a->idle_since == pick->idle_since && a->id < pick->id)) {
            pick = a;
        }
    }
    return pick;
}

/* An agent who missed or declined this customer is rung for it again only when
 * no other agent can take it: one miss never ends a customer's wait. */
static tc_agent *pick_agent(tc_router *r, const tc_session *s)
{
    tc_agent *a = pick_among(r, s, false);
    return a ? a : pick_among(r, s, true);
}

static bool more_urgent(const tc_session *a, const tc_session *b)
{
    if (a->priority != b->priority)
        return a->priority > b->priority;
    return a->queued_at < b->queued_at;
}

static void fill_ring(tc_router *r, const tc_session *s, int64_t now, tc_ring_info *info)
{
    int64_t left_ms = s->ring_deadline - now;
    *info = (tc_ring_info){
        .session_id = s->id,
        .waited_s = (int)((now - s->queued_at) / 1000),
        .priority = s->priority,
        .timeout_s = left_ms > 0 ? (int)((left_ms + 999) / 1000) : 0,
    };
    snprintf(info->desk, sizeof info->desk, "%s", r->cfg->desks[s->desk]);
    snprintf(info->case_ref, sizeof info->case_ref, "%s", s->case_ref);
}

int tc_router_ring_of(tc_router *r, int64_t agent_id, int64_t now, tc_ring_info *out)
{
    tc_agent *a = tc_router_find_agent(r, agent_id);
    tc_session *s =
        a && a->state == TC_AGENT_RINGING ? tc_router_find_session(r, a->session_id) : NULL;
    if (!s || s->state != TC_SESSION_RINGING || s->agent_id != agent_id)
        return -ENOENT;
    fill_ring(r, s, now, out);
    return 0;
}

static void ring(tc_router *r, tc_session *s, tc_agent *a, int64_t now)
{
    if (tc_store_session_offered(r->store, s->id, a->id, now) != 0)
        tc_warn("session %" PRId64 ": offer not recorded", s->id);
    s->state = TC_SESSION_RINGING;
    s->agent_id = a->id;
    s->ring_deadline = now + (int64_t)r->cfg->ring_timeout_s * 1000;
    a->session_id = s->id;
    tc_info("session %" PRId64 ": ringing agent %s", s->id, a->username);
    tc_agent_set(r, a, TC_AGENT_RINGING, "", 0, now, true);
    tc_ring_info info;
    fill_ring(r, s, now, &info);
    if (r->ev.ring)
        r->ev.ring(r->ev.user, a->id, &info);
}

static bool desk_has_free_agent(tc_router *r, int desk)
{
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, r->agents);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        tc_agent *a = value;
        if (a->state == TC_AGENT_AVAILABLE && a->connected && agent_serves(a, desk))
            return true;
    }
    return false;
}

/* The most urgent customer of one desk that an agent can take now, and that agent. */
static tc_session *desk_candidate(tc_router *r, int desk, tc_agent **agent_out)
{
    if (!desk_has_free_agent(r, desk)) /* cheap, before a walk of a long queue */
        return NULL;
    for (GList *l = r->desks[desk].queue.head; l; l = l->next) {
        tc_session *s = l->data;
        if (s->state != TC_SESSION_QUEUED || !s->connected)
            continue;
        tc_agent *a = pick_agent(r, s);
        if (a) {
            *agent_out = a;
            return s;
        }
    }
    return NULL;
}

void tc_queue_match(tc_router *r, int64_t now)
{
    for (;;) {
        tc_session *best = NULL;
        tc_agent *best_agent = NULL;
        for (int d = 0; d < r->cfg->desk_count; d++) {
            tc_agent *a = NULL;
            tc_session *s = desk_candidate(r, d, &a);
            if (s && (!best || more_urgent(s, best))) {
                best = s;
                best_agent = a;
            }
        }
        if (!best)
            return;
        ring(r, best, best_agent, now);
        tc_queue_refresh(r, best->desk, now);
    }
}

void tc_queue_ring_failed(tc_router *r, tc_session *s, const char *agent_reason, int64_t now)
{
    tc_agent *a = tc_router_find_agent(r, s->agent_id);
    if (s->missed_count < TC_MISSED_MAX && !missed_by(s, s->agent_id))
        s->missed_by[s->missed_count++] = s->agent_id;
    s->failed_rings++;
    s->state = TC_SESSION_QUEUED;
    s->agent_id = 0;
    tc_queue_remove(r, s);
    tc_queue_add(r, s, true);
    tc_info("session %" PRId64 ": ring %s, back to the head of the queue", s->id, agent_reason);
    if (a) {
        tc_store_audit(r->store, now, s->id, a->id, agent_reason, NULL);
        a->session_id = 0;
        if (strcmp(agent_reason, "missed") == 0 && r->ev.ring_cancelled)
            r->ev.ring_cancelled(r->ev.user, a->id, s->id, "timeout");
        tc_agent_set(r, a, TC_AGENT_NOT_READY, agent_reason, 0, now, true);
    }
    if (r->cfg->max_offers > 0 && s->failed_rings >= r->cfg->max_offers) {
        tc_info("session %" PRId64 ": %d rings unanswered (routing.max_offers)", s->id,
                s->failed_rings);
        tc_router_session_finish(r, s, TC_END_MISSED, now);
        return;
    }
    tc_queue_refresh(r, s->desk, now);
    tc_queue_match(r, now);
}

void tc_queue_ring_withdraw(tc_router *r, tc_session *s, const char *reason, int64_t now)
{
    tc_agent *a = tc_router_find_agent(r, s->agent_id);
    s->state = TC_SESSION_QUEUED;
    s->agent_id = 0;
    if (!a || a->state != TC_AGENT_RINGING || a->session_id != s->id)
        return;
    a->session_id = 0;
    if (r->ev.ring_cancelled)
        r->ev.ring_cancelled(r->ev.user, a->id, s->id, reason);
    tc_agent_set(r, a, a->connected ? TC_AGENT_AVAILABLE : TC_AGENT_OFFLINE, "", 0, now, true);
}
