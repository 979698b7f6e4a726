/*
 * store_internal: what the files of src/store/ share and nobody else sees.
 *
 * The connection and a cache of prepared statements, one slot per statement
 * id: a statement is prepared on first use (SQLITE_PREPARE_PERSISTENT) and
 * kept until tc_store_close. Helpers here bind, step and map SQLite's result
 * codes to the negative errno values promised by store.h, logging a SQLite
 * failure once, where it happened. Control thread only, like the rest.
 */
#pragma once

#include "telecounter/store.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum store_stmt_id {
    ST_SECRET_INSERT,
    ST_SECRET_GET,
    ST_ACCOUNT_ADD,
    ST_ACCOUNT_GET,
    ST_ACCOUNT_GET_BY_ID,
    ST_ACCOUNT_SET_PASSWORD,
    ST_ACCOUNT_SET_DISABLED,
    ST_ACCOUNT_SET_SKILLS,
    ST_INVITE_ADD,
    ST_INVITE_FIND_LIVE,
    ST_INVITE_FAIL,
    ST_INVITE_REDEEM,
    ST_INVITE_GET,
    ST_SESSION_ADD,
    ST_SESSION_OFFERED,
    ST_SESSION_ANSWERED,
    ST_SESSION_ENDED,
    ST_SESSION_OUTCOME,
    ST_SESSION_RATE,
    ST_SESSION_MEDIA,
    ST_SESSION_GET,
    ST_SESSION_BY_TOKEN,
    ST_SESSION_STATE,
    ST_SESSION_END_ALL,
    ST_STATS,
    ST_RECENT_HANDLE,
    ST_AUDIT_ADD,
    ST_AUDIT_COUNT,
    ST_AUDIT_COUNT_ALL,
    ST_EVIDENCE_ADD,
    ST_COUNT_
};

struct tc_store {
    sqlite3 *db;
    int schema_version;
    sqlite3_stmt *stmts[ST_COUNT_];
    /* Health (db.c): the file as opened, to notice it deleted or replaced; the
     * last write's failure; the last write probe. */
    char *path; /* NULL for :memory: */
    dev_t dev;  /* of the file as opened */
    ino_t ino;
    bool read_only; /* tc_store_open_existing(..., true) */
    bool gone;      /* sticky: the path no longer names the file we write */
    int write_err;  /* negative errno of the last failed write, 0 after a good one */
    int probe_err;  /* negative errno of the last probe */
    int64_t probe_at_ms;
};

/* Size of a fixed char field of a struct, for truncation and fit checks. */
#define FIELD_CAP(type, field) sizeof(((type *)0)->field)

/* migrate.c: brings the schema up to the newest migration. */
int store_migrate(tc_store *s);
/* migrate.c: 0 when the schema is the newest this build knows (for a read-only
 * connection, which cannot migrate), -EAGAIN when it is older, -EPROTO (logged)
 * when it is newer. */
int store_check_version(tc_store *s);

/* db.c: true (logged once) when the database file was deleted or replaced under
 * the open connection: a write now would be acknowledged but lost. */
bool store_file_gone(tc_store *s);
/* db.c: records the outcome of a write statement for tc_store_health. */
void store_note_write(tc_store *s, int rc);

/* The cached statement id, prepared from sql on first use, with no bindings;
 * NULL (logged) if it does not prepare. Pair with store_done. */
sqlite3_stmt *store_stmt(tc_store *s, enum store_stmt_id id, const char *sql);
/* Resets the statement and drops its bindings (they may point at caller memory). */
void store_done(sqlite3_stmt *st);

/* Steps once: SQLITE_ROW or SQLITE_DONE, else -EEXIST (unique key), -ENOENT
 * (a referenced row is missing) or -EIO (logged). */
int store_step(tc_store *s, sqlite3_stmt *st);
/* Steps a bound single-row SELECT; read fills out from the row. 0, -ENOENT
 * when there is no row, -EIO on failure. Finishes st (store_done). */
int store_get_row(tc_store *s, sqlite3_stmt *st, void (*read)(sqlite3_stmt *st, void *out),
                  void *out);
/* Steps a write to the end and resets it: 0 or store_step's errors. */
int store_exec(tc_store *s, sqlite3_stmt *st);
/* Logs a failed bind (rc != SQLITE_OK) and returns -EIO. */
int store_bind_failed(sqlite3_stmt *st, int rc);
/* Logs a failure of the statement (or of the connection when st is NULL). */
void store_log_error(tc_store *s, sqlite3_stmt *st, const char *what);

/* Binds str (NULL = "") cut to at most cap - 1 bytes on a UTF-8 boundary. */
int store_bind_text(sqlite3_stmt *st, int idx, const char *str, size_t cap);
/* Binds v, or NULL when v is 0 ("none" / "not yet" in store.h). */
int store_bind_opt(sqlite3_stmt *st, int idx, int64_t v);
/* Copies a text column into dst (cap bytes), cut on a UTF-8 boundary; NULL -> "". */
void store_column_text(sqlite3_stmt *st, int col, char *dst, size_t cap);
/* How many bytes of s (len bytes) to keep so that at most max remain and no
 * UTF-8 sequence is split. */
size_t store_utf8_fit(const char *s, size_t len, size_t max);
/* true when str is non-empty and shorter than cap (fits a field with its NUL). */
bool store_fits(const char *str, size_t cap);
/* true when str is one of the end reasons of docs/protocol.md. */
bool store_end_reason_valid(const char *str);
