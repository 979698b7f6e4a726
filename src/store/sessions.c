/*
 * sessions: one row per customer visit, from queueing to rating.
 *
 * The one-time transitions (answered, ended, rated) are conditional UPDATEs
 * whose WHERE clause holds the precondition, so a late or duplicate event
 * cannot overwrite what a user was already told. When an UPDATE changes no
 * row, a read of the row's state says why (-ENOENT, -EALREADY, -EAGAIN,
 * -EPERM); that read only chooses the error, it never decides a write.
 */
#include "store/store_internal.h"

#include <errno.h>
#include <string.h>

#define TOKEN_HASH_CAP FIELD_CAP(tc_session_row, token_hash)
#define SESSION_COLS                                                                               \
    "id, desk, priority, invite_id, case_ref, token_hash, queued_at, offered_at, answered_at,"     \
    " ended_at, offers, agent_id, end_reason, outcome, notes, rating, rating_comment,"             \
    " media_summary"

static const char sql_add[] =
    "INSERT INTO sessions (desk, priority, invite_id, case_ref, token_hash, queued_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char sql_offered[] = "UPDATE sessions SET offers = offers + 1,"
                                  " offered_at = coalesce(offered_at, ?2) WHERE id = ?1";
static const char sql_answered[] = "UPDATE sessions SET answered_at = ?3, agent_id = ?2"
                                   " WHERE id = ?1 AND answered_at IS NULL AND ended_at IS NULL";
static const char sql_ended[] = "UPDATE sessions SET ended_at = ?3, end_reason = ?2"
                                " WHERE id = ?1 AND ended_at IS NULL";
static const char sql_outcome[] = "UPDATE sessions SET outcome = ?3, notes = ?4"
                                  " WHERE id = ?1 AND agent_id = ?2";
static const char sql_rate[] = "UPDATE sessions SET rating = ?2, rating_comment = ?3"
                               " WHERE id = ?1 AND ended_at IS NOT NULL AND rating IS NULL";
static const char sql_media[] = "UPDATE sessions SET media_summary = ?2 WHERE id = ?1";
static const char sql_get[] = "SELECT " SESSION_COLS " FROM sessions WHERE id = ?1";
static const char sql_by_token[] = "SELECT " SESSION_COLS " FROM sessions WHERE token_hash = ?1";
static const char sql_state[] = "SELECT answered_at IS NOT NULL, ended_at IS NOT NULL,"
                                " rating IS NOT NULL FROM sessions WHERE id = ?1";
static const char sql_end_all[] = "UPDATE sessions SET ended_at = ?2, end_reason = ?1"
                                  " WHERE ended_at IS NULL";
static const char sql_foreach[] = "SELECT " SESSION_COLS " FROM sessions"
                                  " WHERE queued_at >= ?1 AND queued_at < ?2"
                                  " ORDER BY queued_at, id";

typedef struct session_state {
    bool answered, ended, rated;
} session_state;

/* Reads the state flags of session id: 0, -ENOENT or -EIO. */
static int read_state(tc_store *s, int64_t id, session_state *out)
{
    sqlite3_stmt *st = store_stmt(s, ST_SESSION_STATE, sql_state);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_int64(st, 1, id);
    if (b != SQLITE_OK)
        return store_bind_failed(st, b);
    int rc = store_step(s, st);
    if (rc == SQLITE_ROW) {
        out->answered = sqlite3_column_int(st, 0) != 0;
        out->ended = sqlite3_column_int(st, 1) != 0;
        out->rated = sqlite3_column_int(st, 2) != 0;
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = -ENOENT;
    }
    store_done(st);
    return rc;
}

/* Runs a bound UPDATE of one session: 0 if it changed the row, 1 if it did not,
 * or a negative errno. */
static int update_one(tc_store *s, sqlite3_stmt *st, int b)
{
    if (b != SQLITE_OK)
        return store_bind_failed(st, b);
    int rc = store_exec(s, st);
    if (rc < 0)
        return rc;
    return sqlite3_changes(s->db) == 1 ? 0 : 1;
}

int tc_store_session_add(tc_store *s, const char *desk, int priority, int64_t invite_id,
                         const char *case_ref, const char *token_hash, int64_t queued_at,
                         int64_t *id_out)
{
    if (!store_fits(desk, FIELD_CAP(tc_session_row, desk)) || !token_hash ||
        strnlen(token_hash, TOKEN_HASH_CAP) >= TOKEN_HASH_CAP)
        return -EINVAL;
    sqlite3_stmt *st = store_stmt(s, ST_SESSION_ADD, sql_add);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_text(st, 1, desk, -1, SQLITE_STATIC);
    b |= sqlite3_bind_int(st, 2, priority);
    b |= store_bind_opt(st, 3, invite_id);
    b |= store_bind_text(st, 4, case_ref, FIELD_CAP(tc_session_row, case_ref));
    b |= sqlite3_bind_text(st, 5, token_hash, -1, SQLITE_STATIC);
    b |= sqlite3_bind_int64(st, 6, queued_at);
    if (b != SQLITE_OK)
        return store_bind_failed(st, b);
    int rc = store_exec(s, st);
    if (rc == 0 && id_out)
        *id_out = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int tc_store_session_offered(tc_store *s, int64_t id, int64_t agent_id, int64_t at)
{
    /* The row keeps only who answered; whom it was offered to belongs in the audit trail. */
    (void)agent_id;
    sqlite3_stmt *st = store_stmt(s, ST_SESSION_OFFERED, sql_offered);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_int64(st, 1, id);
    b |= sqlite3_bind_int64(st, 2, at);
    int rc = update_one(s, st, b);
    return rc == 1 ? -ENOENT : rc;
}

int tc_store_session_answered(tc_store *s, int64_t id, int64_t agent_id, int64_t at)
{
    if (agent_id <= 0)
        return -EINVAL;
    sqlite3_stmt *st = store_stmt(s, ST_SESSION_ANSWERED, sql_answered);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_int64(st, 1, id);
    b |= sqlite3_bind_int64(st, 2, agent_id);
    b |= sqlite3_bind_int64(st, 3, at);
    int rc = update_one(s, st, b);
    if (rc != 1)
        return rc;
    session_state state;
    rc = read_state(s, id, &state);
    return rc < 0 ? rc : -EALREADY;
}

int tc_store_session_ended(tc_store *s, int64_t id, const char *reason, int64_t at)
{
    if (!store_end_reason_valid(reason))
        return -EINVAL;
    sqlite3_stmt *st = store_stmt(s, ST_SESSION_ENDED, sql_ended);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_int64(st, 1, id);
    b |= sqlite3_bind_text(st, 2, reason, -1, SQLITE_STATIC);
    b |= sqlite3_bind_int64(st, 3, at);
    int rc = update_one(s, st, b);
    if (rc != 1)
        return rc;
    session_state state;
    rc = read_state(s, id, &state);
    return rc < 0 ? rc : -EALREADY;
}

int tc_store_session_outcome(tc_store *s, int64_t id, int64_t agent_id, const char *outcome,
                             const char *notes)
{
    sqlite3_stmt *st = store_stmt(s, ST_SESSION_OUTCOME, sql_outcome);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_int64(st, 1, id);
    b |= sqlite3_bind_int64(st, 2, agent_id);
    b |= store_bind_text(st, 3, outcome, FIELD_CAP(tc_session_row, outcome));
    b |= store_bind_text(st, 4, notes, FIELD_CAP(tc_session_row, notes));
    int rc = update_one(s, st, b);
    if (rc != 1)
        return rc;
    session_state state;
    rc = read_state(s, id, &state);
    return rc < 0 ? rc : -EPERM;
}

int tc_store_session_rate(tc_store *s, int64_t id, int rating, const char *comment)
{
    if (rating < 1 || rating > 5)
        return -EINVAL;
    sqlite3_stmt *st = store_stmt(s, ST_SESSION_RATE, sql_rate);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_int64(st, 1, id);
    b |= sqlite3_bind_int(st, 2, rating);
    b |= store_bind_text(st, 3, comment, FIELD_CAP(tc_session_row, rating_comment));
    int rc = update_one(s, st, b);
    if (rc != 1)
        return rc;
    session_state state;
    rc = read_state(s, id, &state);
    if (rc < 0)
        return rc;
    return state.rated ? -EALREADY : -EAGAIN;
}

int tc_store_session_media_summary(tc_store *s, int64_t id, const char *json)
{
    /* JSON cut short is not JSON: refuse what does not fit instead. */
    if (!store_fits(json, FIELD_CAP(tc_session_row, media_summary)))
        return -EINVAL;
    sqlite3_stmt *st = store_stmt(s, ST_SESSION_MEDIA, sql_media);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_int64(st, 1, id);
    b |= sqlite3_bind_text(st, 2, json, -1, SQLITE_STATIC);
    int rc = update_one(s, st, b);
    return rc == 1 ? -ENOENT : rc;
}

static void read_session(sqlite3_stmt *st, void *row)
{
    tc_session_row *out = row;
    memset(out, 0, sizeof *out);
    out->id = sqlite3_column_int64(st, 0);
    store_column_text(st, 1, out->desk, sizeof out->desk);
    out->priority = sqlite3_column_int(st, 2);
    out->invite_id = sqlite3_column_int64(st, 3);
    store_column_text(st, 4, out->case_ref, sizeof out->case_ref);
    store_column_text(st, 5, out->token_hash, sizeof out->token_hash);
    out->queued_at = sqlite3_column_int64(st, 6);
    out->offered_at = sqlite3_column_int64(st, 7);
    out->answered_at = sqlite3_column_int64(st, 8);
    out->ended_at = sqlite3_column_int64(st, 9);
    out->offers = sqlite3_column_int(st, 10);
    out->agent_id = sqlite3_column_int64(st, 11);
    store_column_text(st, 12, out->end_reason, sizeof out->end_reason);
    store_column_text(st, 13, out->outcome, sizeof out->outcome);
    store_column_text(st, 14, out->notes, sizeof out->notes);
    out->rating = sqlite3_column_int(st, 15);
    store_column_text(st, 16, out->rating_comment, sizeof out->rating_comment);
    store_column_text(st, 17, out->media_summary, sizeof out->media_summary);
}

int tc_store_session_get(tc_store *s, int64_t id, tc_session_row *out)
{
    sqlite3_stmt *st = store_stmt(s, ST_SESSION_GET, sql_get);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_int64(st, 1, id);
    if (b != SQLITE_OK)
        return store_bind_failed(st, b);
    return store_get_row(s, st, read_session, out);
}

int tc_store_session_by_token(tc_store *s, const char *token_hash, tc_session_row *out)
{
    sqlite3_stmt *st = store_stmt(s, ST_SESSION_BY_TOKEN, sql_by_token);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_text(st, 1, token_hash, -1, SQLITE_STATIC);
    if (b != SQLITE_OK)
        return store_bind_failed(st, b);
    return store_get_row(s, st, read_session, out);
}

int tc_store_session_foreach(tc_store *s, int64_t since, int64_t until,
                             int (*fn)(void *user, const tc_session_row *r), void *user)
{
    /* Prepared per call, not cached: fn may call back into the store. */
    sqlite3_stmt *st = NULL;
    tc_session_row row;
    int rc;
    if (sqlite3_prepare_v2(s->db, sql_foreach, -1, &st, NULL) != SQLITE_OK) {
        store_log_error(s, NULL, "preparing session list");
        return -EIO;
    }
    int b = sqlite3_bind_int64(st, 1, since);
    b |= sqlite3_bind_int64(st, 2, until);
    if (b != SQLITE_OK) {
        sqlite3_finalize(st);
        return -EIO;
    }
    while ((rc = store_step(s, st)) == SQLITE_ROW) {
        read_session(st, &row);
        if (fn(user, &row) != 0)
            break;
    }
    sqlite3_finalize(st);
    return rc < 0 ? rc : 0;
}

int tc_store_session_end_all_open(tc_store *s, const char *reason, int64_t at, int *count_out)
{
    if (!store_end_reason_valid(reason))
        return -EINVAL;
    sqlite3_stmt *st = store_stmt(s, ST_SESSION_END_ALL, sql_end_all);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_text(st, 1, reason, -1, SQLITE_STATIC);
    b |= sqlite3_bind_int64(st, 2, at);
    if (b != SQLITE_OK)
        return store_bind_failed(st, b);
    int rc = store_exec(s, st);
    if (rc == 0 && count_out)
        *count_out = sqlite3_changes(s->db);
    return rc;
}
