/*
 * secrets: per-installation random keys (e.g. the invite-code hash key) that
 * must stay the same across restarts. INSERT OR IGNORE followed by a SELECT
 * means the first writer wins even when the server and the admin command ask
 * at once, and both then read the same value.
 */
#include "store/store_internal.h"

#include "telecounter/clock.h"
#include "telecounter/log.h"
#include "telecounter/random.h"

#include <errno.h>
#include <string.h>

#define SECRET_MAX 64
#define SECRET_NAME_MAX 64

static const char sql_insert[] =
    "INSERT OR IGNORE INTO secrets (name, value, created_at) VALUES (?1, ?2, ?3)";
static const char sql_get[] = "SELECT value FROM secrets WHERE name = ?1";

static int secret_insert(tc_store *s, const char *name, size_t len)
{
    uint8_t fresh[SECRET_MAX];
    sqlite3_stmt *st = store_stmt(s, ST_SECRET_INSERT, sql_insert);
    if (!st)
        return -EIO;
    tc_random_bytes(fresh, len);
    int b = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    b |= sqlite3_bind_blob(st, 2, fresh, (int)len, SQLITE_TRANSIENT);
    b |= sqlite3_bind_int64(st, 3, tc_clock_wall_ms());
    memset(fresh, 0, sizeof fresh);
    if (b != SQLITE_OK)
        return store_bind_failed(st, b);
    return store_exec(s, st);
}

static int secret_read(tc_store *s, const char *name, uint8_t *out, size_t len)
{
    sqlite3_stmt *st = store_stmt(s, ST_SECRET_GET, sql_get);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (b != SQLITE_OK)
        return store_bind_failed(st, b);
    int rc = store_step(s, st);
    if (rc == SQLITE_ROW) {
        if ((size_t)sqlite3_column_bytes(st, 0) == len) {
            memcpy(out, sqlite3_column_blob(st, 0), len);
            rc = 0;
        } else {
            tc_error("store: secret %s has %d bytes, not %zu", name, sqlite3_column_bytes(st, 0),
                     len);
            rc = -EINVAL;
        }
    } else if (rc == SQLITE_DONE) {
        rc = -ENOENT;
    }
    store_done(st);
    return rc;
}

int tc_store_secret(tc_store *s, const char *name, uint8_t *out, size_t len)
{
    if (!store_fits(name, SECRET_NAME_MAX) || len == 0 || len > SECRET_MAX)
        return -EINVAL;
    int rc = secret_insert(s, name, len);
    if (rc < 0)
        return rc;
    return secret_read(s, name, out, len);
}
