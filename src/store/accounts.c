/*
 * accounts: agents and ops staff. The store keeps only what it is given: the
 * password arrives already hashed (core/password), and the username's
 * character set is checked by whoever creates accounts (admin command, ops
 * API). Here we refuse what cannot be stored faithfully (names that would be
 * cut, an unknown role); a display name is only cut to fit.
 */
#include "store/store_internal.h"

#include <errno.h>
#include <string.h>

#define ACCOUNT_COLS "id, username, display_name, role, skills, password_hash, disabled, created_at"

static const char sql_add[] = "INSERT INTO accounts (username, display_name, role, skills,"
                              " password_hash, disabled, created_at)"
                              " VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)";
static const char sql_get[] = "SELECT " ACCOUNT_COLS " FROM accounts WHERE username = ?1";
static const char sql_get_by_id[] = "SELECT " ACCOUNT_COLS " FROM accounts WHERE id = ?1";
static const char sql_set_password[] = "UPDATE accounts SET password_hash = ?2 WHERE username = ?1";
static const char sql_set_disabled[] = "UPDATE accounts SET disabled = ?2 WHERE username = ?1";
static const char sql_set_skills[] = "UPDATE accounts SET skills = ?2 WHERE username = ?1";
static const char sql_foreach[] = "SELECT " ACCOUNT_COLS " FROM accounts ORDER BY username";

static bool role_valid(const char *role)
{
    return role && (strcmp(role, "agent") == 0 || strcmp(role, "ops") == 0);
}

static bool skills_valid(const char *skills)
{
    return skills && strnlen(skills, FIELD_CAP(tc_account, skills)) < FIELD_CAP(tc_account, skills);
}

int tc_store_account_add(tc_store *s, const char *username, const char *display_name,
                         const char *role, const char *skills, const char *password_hash,
                         int64_t now, int64_t *id_out)
{
    if (!store_fits(username, TC_USERNAME_MAX) || !role_valid(role) || !skills_valid(skills) ||
        !store_fits(password_hash, FIELD_CAP(tc_account, password_hash)))
        return -EINVAL;
    sqlite3_stmt *st = store_stmt(s, ST_ACCOUNT_ADD, sql_add);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
    b |= store_bind_text(st, 2, display_name, FIELD_CAP(tc_account, display_name));
    b |= sqlite3_bind_text(st, 3, role, -1, SQLITE_STATIC);
    b |= sqlite3_bind_text(st, 4, skills, -1, SQLITE_STATIC);
    b |= sqlite3_bind_text(st, 5, password_hash, -1, SQLITE_STATIC);
    b |= sqlite3_bind_int64(st, 6, now);
    if (b != SQLITE_OK)
        return store_bind_failed(st, b);
    int rc = store_exec(s, st);
    if (rc == 0 && id_out)
        *id_out = sqlite3_last_insert_rowid(s->db);
    return rc;
}

static void read_account(sqlite3_stmt *st, void *row)
{
    tc_account *out = row;
    memset(out, 0, sizeof *out);
    out->id = sqlite3_column_int64(st, 0);
    store_column_text(st, 1, out->username, sizeof out->username);
    store_column_text(st, 2, out->display_name, sizeof out->display_name);
    store_column_text(st, 3, out->role, sizeof out->role);
    store_column_text(st, 4, out->skills, sizeof out->skills);
    store_column_text(st, 5, out->password_hash, sizeof out->password_hash);
    out->disabled = sqlite3_column_int(st, 6) != 0;
    out->created_at = sqlite3_column_int64(st, 7);
}

int tc_store_account_get(tc_store *s, const char *username, tc_account *out)
{
    if (!store_fits(username, TC_USERNAME_MAX))
        return -ENOENT;
    sqlite3_stmt *st = store_stmt(s, ST_ACCOUNT_GET, sql_get);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
    if (b != SQLITE_OK)
        return store_bind_failed(st, b);
    return store_get_row(s, st, read_account, out);
}

int tc_store_account_get_by_id(tc_store *s, int64_t id, tc_account *out)
{
    sqlite3_stmt *st = store_stmt(s, ST_ACCOUNT_GET_BY_ID, sql_get_by_id);
    if (!st)
        return -EIO;
    int b = sqlite3_bind_int64(st, 1, id);
    if (b != SQLITE_OK)
        return store_bind_failed(st, b);
    return store_get_row(s, st, read_account, out);
}

/* Runs one of the UPDATE ... WHERE username = ?1 statements with ?2 bound by
 * the caller's value: 0, -ENOENT when no such account, or -EIO. */
static int update_account(tc_store *s, sqlite3_stmt *st, const char *username, int b)
{
    b |= sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
    if (b != SQLITE_OK)
        return store_bind_failed(st, b);
    int rc = store_exec(s, st);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = -ENOENT;
    return rc;
}

int tc_store_account_set_password(tc_store *s, const char *username, const char *password_hash)
{
    if (!store_fits(password_hash, FIELD_CAP(tc_account, password_hash)))
        return -EINVAL;
    if (!store_fits(username, TC_USERNAME_MAX))
        return -ENOENT;
    sqlite3_stmt *st = store_stmt(s, ST_ACCOUNT_SET_PASSWORD, sql_set_password);
    if (!st)
        return -EIO;
    return update_account(s, st, username,
                          sqlite3_bind_text(st, 2, password_hash, -1, SQLITE_STATIC));
}

int tc_store_account_set_disabled(tc_store *s, const char *username, bool disabled)
{
    if (!store_fits(username, TC_USERNAME_MAX))
        return -ENOENT;
    sqlite3_stmt *st = store_stmt(s, ST_ACCOUNT_SET_DISABLED, sql_set_disabled);
    if (!st)
        return -EIO;
    return update_account(s, st, username, sqlite3_bind_int(st, 2, disabled ? 1 : 0));
}

int tc_store_account_set_skills(tc_store *s, const char *username, const char *skills)
{
    if (!skills_valid(skills))
        return -EINVAL;
    if (!store_fits(username, TC_USERNAME_MAX))
        return -ENOENT;
    sqlite3_stmt *st = store_stmt(s, ST_ACCOUNT_SET_SKILLS, sql_set_skills);
    if (!st)
        return -EIO;
    return update_account(s, st, username, sqlite3_bind_text(st, 2, skills, -1, SQLITE_STATIC));
}

int tc_store_account_foreach(tc_store *s, int (*fn)(void *user, const tc_account *a), void *user)
{
    /* Prepared per call, not cached: fn may call back into the store. */
    sqlite3_stmt *st = NULL;
    tc_account a;
    int rc;
    if (sqlite3_prepare_v2(s->db, sql_foreach, -1, &st, NULL) != SQLITE_OK) {
        store_log_error(s, NULL, "preparing account list");
        return -EIO;
    }
    while ((rc = store_step(s, st)) == SQLITE_ROW) {
        read_account(st, &a);
        if (fn(user, &a) != 0)
            break;
    }
    sqlite3_finalize(st);
    return rc < 0 ? rc : 0;
}
