/*
 * invites: invite codes for the urgent desk, stored only as keyed hashes.
 *
 * Redemption is one conditional UPDATE whose WHERE clause restates "live"
 * (not redeemed, not expired, not burned by failed attempts): SQLite applies
 * it atomically, so of two callers racing for one code exactly one sees a
 * changed row. A redeemed_at or attempts count is committed before return.
 */
#include "store/store_internal.h"

#include <errno.h>
#include <string.h>

#define HASH_LEN 32
#define INVITE_COLS                                                                                \
    "id, code_hash, desk, case_ref, note, issued_by, issued_at, expires_at, redeemed_at, attempts"

static const char sql_add[] =
    "INSERT INTO invites (locator_hash, code_hash, desk, case_ref, note, issued_by, issued_at,"
    " expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
static const char sql_find_live[] = "SELECT " INVITE_COLS " FROM invites"
                                    " WHERE locator_hash = ?1 AND redeemed_at IS NULL"
                                    " AND expires_at > ?2 AND attempts < ?3"
                                    " ORDER BY id DESC LIMIT 1";
static const char sql_fail[] =
    "UPDATE invites SET attempts = attempts + 1 WHERE id = ?1 RETURNING attempts";
static const char sql_redeem[] = "UPDATE invites SET redeemed_at = ?2"
                                 " WHERE id = ?1 AND redeemed_at IS NULL AND expires_at > ?2"
                                 " AND attempts < ?3";
static const char sql_get[] = "SELECT " INVITE_COLS " FROM invites WHERE id = ?1";

int tc_store_invite_add(tc_store *s, const uint8_t locator_hash[32], const uint8_t code_hash[32],
                        const char *desk, const char *case_ref, const char *note, int64_t issued_by,
                        int64_t issued_at, int64_t expires_at, int64_t *id_out)
{
    if (!locator_hash || !code_hash || !store_fits(desk, FIELD_CAP(tc_invite_row, desk)))
        return -EINVAL;
    sqlite3_stmt *st = store_stmt(s, ST_INVITE_ADD, sql_add);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_blob(st, 1, locator_hash, HASH_LEN, SQLITE_STATIC);
    b |= sqlite3_bind_blob(st, 2, code_hash, HASH_LEN, SQLITE_STATIC);
    b |= sqlite3_bind_text(st, 3, desk, -1, SQLITE_STATIC);
    b |= store_bind_text(st, 4, case_ref, FIELD_CAP(tc_invite_row, case_ref));
    b |= store_bind_text(st, 5, note, FIELD_CAP(tc_invite_row, note));
    b |= store_bind_opt(st, 6, issued_by);
    b |= sqlite3_bind_int64(st, 7, issued_at);
    b |= sqlite3_bind_int64(st, 8, expires_at);
    if (b != SQLITE_OK)
        return store_bind_failed(st, b);
    int rc = store_exec(s, st);
    if (rc == 0 && id_out)
        *id_out = sqlite3_last_insert_rowid(s->db);
    return rc;
}

static void read_invite(sqlite3_stmt *st, void *row)
{
    tc_invite_row *out = row;
    memset(out, 0, sizeof *out);
    out->id = sqlite3_column_int64(st, 0);
    if (sqlite3_column_bytes(st, 1) == HASH_LEN)
        memcpy(out->code_hash, sqlite3_column_blob(st, 1), HASH_LEN);
    store_column_text(st, 2, out->desk, sizeof out->desk);
    store_column_text(st, 3, out->case_ref, sizeof out->case_ref);
    store_column_text(st, 4, out->note, sizeof out->note);
    out->issued_by = sqlite3_column_int64(st, 5);
    out->issued_at = sqlite3_column_int64(st, 6);
    out->expires_at = sqlite3_column_int64(st, 7);
    out->redeemed_at = sqlite3_column_int64(st, 8);
    out->attempts = sqlite3_column_int(st, 9);
}

int tc_store_invite_find_live(tc_store *s, const uint8_t locator_hash[32], int64_t now,
                              int max_attempts, tc_invite_row *out)
{
    if (!locator_hash)
        return -EINVAL;
    sqlite3_stmt *st = store_stmt(s, ST_INVITE_FIND_LIVE, sql_find_live);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_blob(st, 1, locator_hash, HASH_LEN, SQLITE_STATIC);
    b |= sqlite3_bind_int64(st, 2, now);
    b |= sqlite3_bind_int(st, 3, max_attempts);
    if (b != SQLITE_OK)
        return store_bind_failed(st, b);
    return store_get_row(s, st, read_invite, out);
}

int tc_store_invite_get(tc_store *s, int64_t id, tc_invite_row *out)
{
    sqlite3_stmt *st = store_stmt(s, ST_INVITE_GET, sql_get);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_int64(st, 1, id);
    if (b != SQLITE_OK)
        return store_bind_failed(st, b);
    return store_get_row(s, st, read_invite, out);
}

int tc_store_invite_fail(tc_store *s, int64_t id, int *attempts_out)
{
    sqlite3_stmt *st = store_stmt(s, ST_INVITE_FAIL, sql_fail);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_int64(st, 1, id);
    if (b != SQLITE_OK)
        return store_bind_failed(st, b);
    int rc = store_step(s, st);
    int attempts = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    /* Stepping RETURNING to its end is what commits the UPDATE. */
    if (rc == SQLITE_ROW)
        rc = store_exec(s, st);
    else
        store_done(st);
    if (rc == SQLITE_DONE)
        rc = -ENOENT;
    if (rc == 0 && attempts_out)
        *attempts_out = attempts;
    return rc;
}

int tc_store_invite_redeem(tc_store *s, int64_t id, int64_t now, int max_attempts)
{
    sqlite3_stmt *st = store_stmt(s, ST_INVITE_REDEEM, sql_redeem);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_int64(st, 1, id);
    b |= sqlite3_bind_int64(st, 2, now);
    b |= sqlite3_bind_int(st, 3, max_attempts);
    if (b != SQLITE_OK)
        return store_bind_failed(st, b);
    int rc = store_exec(s, st);
    if (rc == 0 && sqlite3_changes(s->db) != 1)
        rc = -EALREADY;
    return rc;
}
