/*
 * stats: the live statistics object of docs/stats.md, built from the router's
 * views and the store's aggregates over today (UTC). Control thread. The caller
 * owns the returned JSON (json_decref).
 */
#pragma once

#include "telecounter/config.h"
#include "telecounter/router.h"
#include "telecounter/store.h"

#include <jansson.h>

/* Start of the UTC day containing now (ms since the epoch). */
int64_t tc_stats_day_start(int64_t now);

json_t *tc_stats_live(const tc_config *cfg, tc_router *router, tc_store *store, int64_t now);

/* The desks array of the queue.summary event. */
json_t *tc_stats_queue_summary(tc_router *router, int64_t now);
