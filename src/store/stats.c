/*
 * stats: service-level figures over sessions, computed by SQLite aggregates
 * in one pass so that ops views and /metrics agree with the stored records.
 * Windows are by queued_at, [since, until); a session that spans the edge
 * counts in the window where it was queued. Durations are stored in ms and
 * reported in seconds.
 */
#include "store/store_internal.h"

#include <errno.h>
#include <string.h>

/* ?1 since, ?2 until, ?3 desk or NULL, ?4 answer threshold in ms. */
static const char sql_stats[] =
    "SELECT count(*), count(ended_at),"
    " total(end_reason = 'completed'), total(end_reason = 'abandoned'),"
    " total(end_reason = 'missed'), total(end_reason = 'customer_gone'),"
    " total(end_reason = 'agent_gone'), total(end_reason = 'failed'),"
    " total(end_reason = 'server_shutdown'),"
    " count(answered_at), total(answered_at - queued_at <= ?4),"
    " avg(answered_at - queued_at) / 1000.0,"
    " avg(CASE WHEN ended_at IS NOT NULL THEN ended_at - answered_at END) / 1000.0,"
    " count(rating), avg(rating),"
    " count(CASE WHEN answered_at IS NOT NULL AND ended_at IS NOT NULL THEN 1 END)"
    " FROM sessions WHERE queued_at >= ?1 AND queued_at < ?2 AND (?3 IS NULL OR desk = ?3)";

static const char sql_recent_handle[] =
    "SELECT count(*), avg(handle_ms) / 1000.0 FROM"
    " (SELECT ended_at - answered_at AS handle_ms FROM sessions"
    "  WHERE desk = ?1 AND answered_at IS NOT NULL AND ended_at IS NOT NULL"
    "  ORDER BY ended_at DESC, id DESC LIMIT ?2)";

static void read_stats(sqlite3_stmt *st, tc_store_stats *out)
{
    int64_t *counts[] = {&out->completed,      &out->abandoned,  &out->missed,
                         &out->customer_gone,  &out->agent_gone, &out->failed,
                         &out->server_shutdown};
    memset(out, 0, sizeof *out);
    out->sessions = sqlite3_column_int64(st, 0);
    out->ended = sqlite3_column_int64(st, 1);
    for (int i = 0; i < (int)(sizeof counts / sizeof counts[0]); i++)
        *counts[i] = sqlite3_column_int64(st, 2 + i);
    out->answered = sqlite3_column_int64(st, 9);
    out->answered_within = sqlite3_column_int64(st, 10);
    out->avg_answer_s = sqlite3_column_double(st, 11);
    out->avg_handle_s = sqlite3_column_double(st, 12);
    out->rated = sqlite3_column_int64(st, 13);
    out->avg_rating = sqlite3_column_double(st, 14);
    out->handled = sqlite3_column_int64(st, 15);
    out->abandon_rate = out->ended ? (double)out->abandoned / (double)out->ended : 0.0;
}

int tc_store_stats_get(tc_store *s, int64_t since, int64_t until, const char *desk,
                       int answer_threshold_s, tc_store_stats *out)
{
    if (answer_threshold_s < 0)
        return -EINVAL;
    sqlite3_stmt *st = store_stmt(s, ST_STATS, sql_stats);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_int64(st, 1, since);
    b |= sqlite3_bind_int64(st, 2, until);
    b |= desk ? sqlite3_bind_text(st, 3, desk, -1, SQLITE_STATIC) : sqlite3_bind_null(st, 3);
    b |= sqlite3_bind_int64(st, 4, (int64_t)answer_threshold_s * 1000);
    if (b != SQLITE_OK)
        return store_bind_failed(st, b);
    int rc = store_step(s, st);
    if (rc == SQLITE_ROW) {
        read_stats(st, out);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = -EIO; /* an aggregate always yields a row */
    }
    store_done(st);
    return rc;
}

int tc_store_recent_handle_s(tc_store *s, const char *desk, int n, double *avg_out)
{
    if (!desk || n <= 0)
        return -EINVAL;
    sqlite3_stmt *st = store_stmt(s, ST_RECENT_HANDLE, sql_recent_handle);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_text(st, 1, desk, -1, SQLITE_STATIC);
    b |= sqlite3_bind_int(st, 2, n);
    if (b != SQLITE_OK)
        return store_bind_failed(st, b);
    int rc = store_step(s, st);
    if (rc == SQLITE_ROW) {
        rc = sqlite3_column_int64(st, 0) > 0 ? 0 : -ENOENT;
        if (rc == 0)
            *avg_out = sqlite3_column_double(st, 1);
    } else if (rc == SQLITE_DONE) {
        rc = -ENOENT;
    }
    store_done(st);
    return rc;
}
