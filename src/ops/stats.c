/*
 * stats.c: assembles docs/stats.md. Live numbers come from the router (what is
 * happening now), today's from SQL aggregates over the sessions table (what
 * happened), so that the figures survive a restart.
 */
#include "telecounter/stats.h"

#include "telecounter/log.h"
#include "telecounter/timezone.h"

/* The operator's day (ops.timezone) containing now: [*start, *end). The zone was
 * checked when the configuration was read; UTC stands in should it fail here. */
static void operator_day(const tc_config *cfg, int64_t now, int64_t *start, int64_t *end)
{
    GTimeZone *tz = tc_timezone_open(cfg->ops_timezone);
    if (!tz)
        tz = g_time_zone_new_utc();
    *start = tc_timezone_day_start(tz, now);
    *end = tc_timezone_next_day(tz, now);
    g_time_zone_unref(tz);
}

int64_t tc_stats_day_start(const tc_config *cfg, int64_t now)
{
    int64_t start, end;
    operator_day(cfg, now, &start, &end);
    return start;
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
        json_array_append_new(desks,
                              json_pack("{s:s, s:i, s:i, s:i}", "desk", sums[i].desk, "waiting",
                                        sums[i].waiting, "longest_wait_s", sums[i].longest_wait_s,
                                        "invites", sums[i].invites_waiting));
    return desks;
}

static json_t *by_reason_json(const tc_store_stats *st)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "completed", (json_int_t)st->completed,
                     "abandoned", (json_int_t)st->abandoned, "missed", (json_int_t)st->missed,
                     "customer_gone", (json_int_t)st->customer_gone, "agent_gone",
                     (json_int_t)st->agent_gone, "failed", (json_int_t)st->failed,
                     "server_shutdown", (json_int_t)st->server_shutdown);
}

/* Every figure with the count it is over (issue 12: an average of three calls,
 * one failed, was shown as "2 completed"). */
static json_t *figures_json(const tc_store_stats *st)
{
    double service_level = st->answered ? (double)st->answered_within / (double)st->answered : 0;
    json_t *o = json_pack("{s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:I, s:I, s:f}", "sessions",
                          (json_int_t)st->sessions, "ended", (json_int_t)st->ended, "answered",
                          (json_int_t)st->answered, "avg_speed_of_answer_s", st->avg_answer_s,
                          "service_level", service_level, "abandonment_rate", st->abandon_rate,
                          "avg_handle_s", st->avg_handle_s, "handled", (json_int_t)st->handled,
                          "rated", (json_int_t)st->rated, "avg_rating", st->avg_rating);
    json_object_set_new(o, "by_reason", by_reason_json(st));
    return o;
}

static json_t *desk_today(const tc_config *cfg, tc_store *store, const char *desk, int64_t now)
{
    tc_store_stats st;
    int64_t day, day_end;
    operator_day(cfg, now, &day, &day_end);
    if (tc_store_stats_get(store, day, day_end, desk, cfg->service_level_s, &st) != 0)
        return json_null();
    return figures_json(&st);
}

static json_t *desks_json(const tc_config *cfg, tc_router *router, tc_store *store, int64_t now)
{
    tc_desk_summary sums[TC_MAX_DESKS];
    int n = tc_router_desk_summaries(router, now, sums, TC_MAX_DESKS);
    json_t *desks = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(desks, json_pack("{s:s, s:i, s:i, s:i, s:o, s:o}", "desk",
                                               sums[i].desk, "waiting", sums[i].waiting,
                                               "longest_wait_s", sums[i].longest_wait_s,
                                               "invites_waiting", sums[i].invites_waiting, "agents",
                                               agents_by_state(sums[i].agents), "today",
                                               desk_today(cfg, store, sums[i].desk, now)));
    return desks;
}

static json_t *leg_json(const tc_leg_stats *st)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s}", "rx_bitrate_bps",
                     (json_int_t)st->rx_bitrate_bps, "tx_bitrate_bps",
                     (json_int_t)st->tx_bitrate_bps, "rtt_ms", (json_int_t)st->rtt_ms,
                     "loss_permille", (json_int_t)st->loss_permille, "jitter_ms",
                     (json_int_t)st->jitter_ms, "rx_dropped", (json_int_t)st->rx_dropped, "plis_rx",
                     (json_int_t)st->plis_rx, "nacks_rx", (json_int_t)st->nacks_rx, "pair",
                     st->pair_type, "srtp", st->srtp_profile);
}

typedef struct calls_ctx {
    json_t *calls;
    GHashTable *media_stats;
    int64_t now;
} calls_ctx;

static void add_call(void *user, const tc_call_view *c)
{
    calls_ctx *ctx = user;
    json_t *call =
        json_pack("{s:I, s:s, s:s, s:I, s:I}", "session_id", (json_int_t)c->session_id, "desk",
                  c->desk, "agent", c->agent_username, "answered_at", (json_int_t)c->answered_at,
                  "duration_s", (json_int_t)((ctx->now - c->answered_at) / 1000));
    const tc_leg_stats *legs =
        ctx->media_stats ? g_hash_table_lookup(ctx->media_stats, &c->session_id) : NULL;
    if (legs)
        json_object_set_new(
            call, "media",
            json_pack("{s:o, s:o}", "customer", leg_json(&legs[0]), "agent", leg_json(&legs[1])));
    json_array_append_new(ctx->calls, call);
}

void tc_stats_history_sample(tc_stats_history *h, tc_router *router, int64_t now)
{
    tc_desk_summary sums[TC_MAX_DESKS];
    int n = tc_router_desk_summaries(router, now, sums, TC_MAX_DESKS);
    h->at[h->next] = now;
    for (int i = 0; i < n; i++)
        h->waiting[h->next][i] = sums[i].waiting;
    h->next = (h->next + 1) % TC_HISTORY_SAMPLES;
    if (h->count < TC_HISTORY_SAMPLES)
        h->count++;
}

static json_t *history_json(const tc_config *cfg, const tc_stats_history *h)
{
    json_t *out = json_array();
    for (int k = 0; h && k < h->count; k++) {
        int i = (h->next - h->count + k + TC_HISTORY_SAMPLES) % TC_HISTORY_SAMPLES;
        json_t *waiting = json_object();
        for (int d = 0; d < cfg->desk_count; d++)
            json_object_set_new(waiting, cfg->desks[d], json_integer(h->waiting[i][d]));
        json_array_append_new(
            out, json_pack("{s:I, s:o}", "at", (json_int_t)h->at[i], "waiting", waiting));
    }
    return out;
}

static json_t *today_json(const tc_config *cfg, tc_store *store, int64_t now)
{
    tc_store_stats st;
    int64_t day, day_end;
    operator_day(cfg, now, &day, &day_end);
    if (tc_store_stats_get(store, day, day_end, NULL, cfg->service_level_s, &st) != 0) {
        tc_warn("stats: today's figures could not be read");
        return json_null();
    }
    return figures_json(&st);
}

json_t *tc_stats_live(const tc_config *cfg, tc_router *router, tc_store *store,
                      const tc_stats_history *history, GHashTable *media_stats, int64_t now)
{
    int counts[TC_AGENT_STATE_COUNT];
    tc_router_agent_counts(router, counts);
    calls_ctx calls = {json_array(), media_stats, now};
    tc_router_foreach_call(router, add_call, &calls);
    return json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "generated_at", (json_int_t)now,
                     "day_start", (json_int_t)tc_stats_day_start(cfg, now), "desks",
                     desks_json(cfg, router, store, now), "agents", agents_by_state(counts),
                     "active_calls", calls.calls, "waiting_history", history_json(cfg, history),
                     "today", today_json(cfg, store, now));
}
