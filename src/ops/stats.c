/*
 * stats.c: assembles docs/stats.md. Live numbers come from the router (what is
 * happening now), today's from SQL aggregates over the sessions table (what
 * happened), so that the figures survive a restart.
 */
#include "telecounter/stats.h"

#include "telecounter/log.h"

int64_t tc_stats_day_start(int64_t now)
{
    const int64_t day_ms = 86400000;
    return now - now % day_ms;
}

static json_t *agents_by_state(const int counts[TC_AGENT_STATE_COUNT])
{
    json_t *o = json_object();
    for (int s = 0; s < TC_AGENT_STATE_COUNT; s++)
        json_object_set_new(o, tc_agent_state_name((tc_agent_state)s), json_integer(counts[s]));
    return o;
}

json_t *tc_stats_queue_summary(tc_router *router, int64_t now)
{
    tc_desk_summary sums[TC_MAX_DESKS];
    int n = tc_router_desk_summaries(router, now, sums, TC_MAX_DESKS);
    json_t *desks = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(desks, json_pack("{s:s, s:i, s:i, s:i}", "desk", sums[i].desk,
                                               "waiting", sums[i].waiting, "longest_wait_s",
                                               sums[i].longest_wait_s, "invites",
                                               sums[i].invites_waiting));
    return desks;
}

static json_t *desks_json(tc_router *router, int64_t now)
{
    tc_desk_summary sums[TC_MAX_DESKS];
    int n = tc_router_desk_summaries(router, now, sums, TC_MAX_DESKS);
    json_t *desks = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(desks,
                              json_pack("{s:s, s:i, s:i, s:i, s:o}", "desk", sums[i].desk,
                                        "waiting", sums[i].waiting, "longest_wait_s",
                                        sums[i].longest_wait_s, "invites_waiting",
                                        sums[i].invites_waiting, "agents",
                                        agents_by_state(sums[i].agents)));
    return desks;
}

typedef struct calls_ctx {
    json_t *calls;
    int64_t now;
} calls_ctx;

static void add_call(void *user, const tc_call_view *c)
{
    calls_ctx *ctx = user;
    json_array_append_new(ctx->calls,
                          json_pack("{s:I, s:s, s:s, s:I, s:I}", "session_id",
                                    (json_int_t)c->session_id, "desk", c->desk, "agent",
                                    c->agent_username, "answered_at", (json_int_t)c->answered_at,
                                    "duration_s", (json_int_t)((ctx->now - c->answered_at) / 1000)));
}

static json_t *today_json(const tc_config *cfg, tc_store *store, int64_t now)
{
    tc_store_stats st;
    int64_t day = tc_stats_day_start(now);
    if (tc_store_stats_get(store, day, day + 86400000, NULL, cfg->service_level_s, &st) != 0) {
        tc_warn("stats: today's figures could not be read");
        return json_null();
    }
    json_t *by_reason =
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "completed", (json_int_t)st.completed,
                  "abandoned", (json_int_t)st.abandoned, "missed", (json_int_t)st.missed,
                  "customer_gone", (json_int_t)st.customer_gone, "agent_gone",
                  (json_int_t)st.agent_gone, "failed", (json_int_t)st.failed, "server_shutdown",
                  (json_int_t)st.server_shutdown);
    double service_level = st.answered ? (double)st.answered_within / (double)st.answered : 0;
    return json_pack("{s:I, s:I, s:I, s:o, s:f, s:f, s:f, s:f, s:I, s:f}", "sessions",
                     (json_int_t)st.sessions, "ended", (json_int_t)st.ended, "answered",
                     (json_int_t)st.answered, "by_reason", by_reason, "avg_speed_of_answer_s",
                     st.avg_answer_s, "service_level", service_level, "abandonment_rate",
                     st.abandon_rate, "avg_handle_s", st.avg_handle_s, "rated",
                     (json_int_t)st.rated, "avg_rating", st.avg_rating);
}

json_t *tc_stats_live(const tc_config *cfg, tc_router *router, tc_store *store, int64_t now)
{
    int counts[TC_AGENT_STATE_COUNT];
    tc_router_agent_counts(router, counts);
    calls_ctx calls = {json_array(), now};
    tc_router_foreach_call(router, add_call, &calls);
    return json_pack("{s:I, s:I, s:o, s:o, s:o, s:o}", "generated_at", (json_int_t)now,
                     "day_start", (json_int_t)tc_stats_day_start(now), "desks",
                     desks_json(router, now), "agents", agents_by_state(counts), "active_calls",
                     calls.calls, "today", today_json(cfg, store, now));
}
