/*
 * audit: the append-only trail of events, and evidence stills for ID checks.
 *
 * The audit table refuses UPDATE and DELETE by trigger (migration 1), so the
 * trail cannot be edited through this connection by mistake. Evidence rows
 * must name an existing session (foreign key), which keeps a still from
 * being filed under a session that never was.
 */
#include "store/store_internal.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#define EVENT_CAP 64
#define MIME_CAP 64
#define SHA256_HEX_LEN 64

static const char sql_audit_add[] =
    "INSERT INTO audit (at, session_id, account_id, event, detail) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char sql_audit_count[] = "SELECT count(*) FROM audit WHERE session_id = ?1";
static const char sql_audit_count_all[] = "SELECT count(*) FROM audit";
static const char sql_evidence_add[] =
    "INSERT INTO evidence (session_id, account_id, at, mime, data, sha256)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

int tc_store_audit(tc_store *s, int64_t at, int64_t session_id, int64_t account_id,
                   const char *event, const char *detail_json)
{
    if (!store_fits(event, EVENT_CAP))
        return -EINVAL;
    sqlite3_stmt *st = store_stmt(s, ST_AUDIT_ADD, sql_audit_add);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_int64(st, 1, at);
    b |= store_bind_opt(st, 2, session_id);
    b |= store_bind_opt(st, 3, account_id);
    b |= sqlite3_bind_text(st, 4, event, -1, SQLITE_STATIC);
    b |= detail_json ? sqlite3_bind_text(st, 5, detail_json, -1, SQLITE_STATIC)
                     : sqlite3_bind_null(st, 5);
    if (b != SQLITE_OK)
        return store_bind_failed(st, b);
    return store_exec(s, st);
}

int tc_store_audit_count(tc_store *s, int64_t session_id, int64_t *count_out)
{
    sqlite3_stmt *st = session_id ? store_stmt(s, ST_AUDIT_COUNT, sql_audit_count)
                                  : store_stmt(s, ST_AUDIT_COUNT_ALL, sql_audit_count_all);
    if (!st)
        return -EIO;
    if (session_id) {
        int b = sqlite3_bind_int64(st, 1, session_id);
        if (b != SQLITE_OK)
            return store_bind_failed(st, b);
    }
    int rc = store_step(s, st);
    if (rc == SQLITE_ROW) {
        *count_out = sqlite3_column_int64(st, 0);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = -EIO;
    }
    store_done(st);
    return rc;
}

static bool sha256_hex_valid(const char *hex)
{
    if (!hex || strlen(hex) != SHA256_HEX_LEN)
        return false;
    for (size_t i = 0; i < SHA256_HEX_LEN; i++) {
        char c = hex[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

int tc_store_evidence_add(tc_store *s, int64_t session_id, int64_t account_id, int64_t at,
                          const char *mime, const uint8_t *data, size_t len, const char *sha256_hex,
                          int64_t *id_out)
{
    if (session_id <= 0 || !store_fits(mime, MIME_CAP) || !data || len == 0 || len > INT_MAX ||
        !sha256_hex_valid(sha256_hex))
        return -EINVAL;
    sqlite3_stmt *st = store_stmt(s, ST_EVIDENCE_ADD, sql_evidence_add);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_int64(st, 1, session_id);
    b |= store_bind_opt(st, 2, account_id);
    b |= sqlite3_bind_int64(st, 3, at);
    b |= sqlite3_bind_text(st, 4, mime, -1, SQLITE_STATIC);
    b |= sqlite3_bind_blob64(st, 5, data, (sqlite3_uint64)len, SQLITE_STATIC);
    b |= sqlite3_bind_text(st, 6, sha256_hex, -1, SQLITE_STATIC);
    if (b != SQLITE_OK)
        return store_bind_failed(st, b);
    int rc = store_exec(s, st);
    if (rc == 0 && id_out)
        *id_out = sqlite3_last_insert_rowid(s->db);
    return rc;
}
