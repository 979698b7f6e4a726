/*
 * migrate: the schema, as numbered migrations. PRAGMA user_version holds the
 * number of the last one applied. Each migration runs in its own IMMEDIATE
 * transaction that re-reads the version first, so two processes opening a
 * fresh file at once (server and admin command) apply it exactly once.
 *
 * Never edit a migration that has shipped: append a new one. Times are
 * milliseconds since the epoch; NULL means "not yet" / "none".
 */
#include "store/store_internal.h"

#include "telecounter/log.h"

#include <errno.h>
#include <stdio.h>

static const char migration_1[] =
    "CREATE TABLE accounts ("
    " id INTEGER PRIMARY KEY,"
    " username TEXT NOT NULL UNIQUE,"
    " display_name TEXT NOT NULL DEFAULT '',"
    " role TEXT NOT NULL CHECK (role IN ('agent', 'ops')),"
    " skills TEXT NOT NULL DEFAULT '',"
    " password_hash TEXT NOT NULL,"
    " disabled INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE invites ("
    " id INTEGER PRIMARY KEY,"
    " locator_hash BLOB NOT NULL,"
    " code_hash BLOB NOT NULL,"
    " desk TEXT NOT NULL,"
    " case_ref TEXT NOT NULL DEFAULT '',"
    " note TEXT NOT NULL DEFAULT '',"
    " issued_by INTEGER,"
    " issued_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " redeemed_at INTEGER,"
    " attempts INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX invites_locator_hash ON invites(locator_hash);"
    "CREATE TABLE sessions ("
    " id INTEGER PRIMARY KEY,"
    " desk TEXT NOT NULL,"
    " priority INTEGER NOT NULL DEFAULT 0,"
    " invite_id INTEGER,"
    " case_ref TEXT NOT NULL DEFAULT '',"
    " token_hash TEXT NOT NULL DEFAULT '',"
    " queued_at INTEGER NOT NULL,"
    " offered_at INTEGER,"
    " answered_at INTEGER,"
    " ended_at INTEGER,"
    " offers INTEGER NOT NULL DEFAULT 0,"
    " agent_id INTEGER,"
    " end_reason TEXT,"
    " outcome TEXT NOT NULL DEFAULT '',"
    " notes TEXT NOT NULL DEFAULT '',"
    " rating INTEGER CHECK (rating BETWEEN 1 AND 5),"
    " rating_comment TEXT NOT NULL DEFAULT '',"
    " media_summary TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX sessions_queued_at ON sessions(queued_at);"
    "CREATE INDEX sessions_token_hash ON sessions(token_hash);"
    "CREATE INDEX sessions_desk_ended_at ON sessions(desk, ended_at);"
    "CREATE INDEX sessions_open ON sessions(id) WHERE ended_at IS NULL;"
    "CREATE TABLE audit ("
    " id INTEGER PRIMARY KEY,"
    " at INTEGER NOT NULL,"
    " session_id INTEGER,"
    " account_id INTEGER,"
    " event TEXT NOT NULL,"
    " detail TEXT);"
    "CREATE INDEX audit_session_id ON audit(session_id);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
    "CREATE TABLE evidence ("
    " id INTEGER PRIMARY KEY,"
    " session_id INTEGER NOT NULL REFERENCES sessions(id),"
    " account_id INTEGER,"
    " at INTEGER NOT NULL,"
    " mime TEXT NOT NULL,"
    " data BLOB NOT NULL,"
    " sha256 TEXT NOT NULL);"
    "CREATE INDEX evidence_session_id ON evidence(session_id);"
    "CREATE TABLE secrets ("
    " name TEXT PRIMARY KEY,"
    " value BLOB NOT NULL,"
    " created_at INTEGER NOT NULL);";

/* migrations[i] takes the schema from version i to i + 1. */
static const char *const migrations[] = {migration_1};
#define MIGRATION_COUNT ((int)(sizeof migrations / sizeof migrations[0]))

static int read_version(tc_store *s, int *out)
{
    sqlite3_stmt *st = NULL;
    int rc = -EIO;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        store_log_error(s, st, "reading user_version");
        goto out;
    }
    *out = sqlite3_column_int(st, 0);
    rc = 0;
out:
    sqlite3_finalize(st);
    return rc;
}

static int exec(tc_store *s, const char *sql, const char *what)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK)
        return 0;
    store_log_error(s, NULL, what);
    return -EIO;
}

/* Applies migration number `to` (1-based) unless another process already did. */
static int apply(tc_store *s, int to)
{
    char set_version[48];
    int version = 0;
    int rc = exec(s, "BEGIN IMMEDIATE", "starting a migration");
    if (rc < 0)
        return rc;
    rc = read_version(s, &version);
    if (rc < 0 || version >= to)
        goto out;
    snprintf(set_version, sizeof set_version, "PRAGMA user_version = %d", to);
    rc = exec(s, migrations[to - 1], "applying a migration");
    if (rc == 0)
        rc = exec(s, set_version, "setting user_version");
out:
    if (rc == 0)
        rc = exec(s, "COMMIT", "committing a migration");
    if (rc < 0)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    else if (version < to)
        tc_info("store: applied migration %d", to);
    return rc;
}

int store_migrate(tc_store *s)
{
    int version = 0;
    int rc = read_version(s, &version);
    if (rc < 0)
        return rc;
    if (version > MIGRATION_COUNT) {
        tc_error("store: schema version %d is newer than this build knows (%d)", version,
                 MIGRATION_COUNT);
        return -EPROTO;
    }
    for (int to = version + 1; to <= MIGRATION_COUNT; to++) {
        rc = apply(s, to);
        if (rc < 0)
            return rc;
    }
    s->schema_version = MIGRATION_COUNT;
    return 0;
}

int store_check_version(tc_store *s)
{
    int version = 0;
    int rc = read_version(s, &version);
    if (rc < 0)
        return rc;
    if (version > MIGRATION_COUNT) {
        tc_error("store: schema version %d is newer than this build knows (%d)", version,
                 MIGRATION_COUNT);
        return -EPROTO;
    }
    if (version < MIGRATION_COUNT)
        return -EAGAIN;
    s->schema_version = version;
    return 0;
}
