/*
 * stats: the live statistics object of docs/stats.md, built from the router's
 * views and the store's aggregates over today (UTC). Control thread. The caller
 * owns the returned JSON (json_decref).
 */
#pragma once

#include "telecounter/config.h"
#include "telecounter/media.h"
#include "telecounter/router.h"
#include "telecounter/store.h"

#include <glib.h>
#include <jansson.h>

/* Waiting customers per desk, one sample a minute, the last hour. */
#define TC_HISTORY_SAMPLES 60
typedef struct tc_stats_history {
    int64_t at[TC_HISTORY_SAMPLES];
    int waiting[TC_HISTORY_SAMPLES][TC_MAX_DESKS];
    int count, next;
} tc_stats_history;

void tc_stats_history_sample(tc_stats_history *h, tc_router *router, int64_t now);

/* Start of the operator's day (ops.timezone) containing now (ms since the epoch). */
int64_t tc_stats_day_start(const tc_config *cfg, int64_t now);

/* media_stats: int64 session id -> tc_leg_stats[2] (customer, agent), the
 * relay's latest figures; may be NULL. */
json_t *tc_stats_live(const tc_config *cfg, tc_router *router, tc_store *store,
                      const tc_stats_history *history, GHashTable *media_stats, int64_t now);

/* The desks array of the queue.summary event. */
json_t *tc_stats_queue_summary(tc_router *router, int64_t now);
