/*
 * store: telecounter's records in SQLite (WAL, synchronous=FULL), behind
 * prepared statements. All SQL of the project lives in src/store/.
 *
 * Thread: the control thread only (one connection, no locking of our own).
 * Durability: every function that writes commits before it returns 0, so a
 * caller may tell a user "done" right after. Schema changes are numbered
 * migrations applied by tc_store_open (see src/store/migrate.c).
 *
 * Errors: functions return 0 or a negative errno:
 *   -ENOENT  no such record       -EEXIST   unique key taken
 *   -EALREADY the one-time change was already made (used code, rated, ended)
 *   -EAGAIN  not yet allowed (rating before the session ended)
 *   -EPERM   not this caller's record      -EINVAL  bad argument
 *   -EIO     SQLite failed (logged once, with the statement)
 * Strings written into fixed fields are truncated to fit and NUL-terminated.
 * Times are wall-clock milliseconds since the epoch; 0 means "not yet".
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tc_store tc_store;

/* Opens (creating if needed: the file 0600, missing parent directories 0750)
 * and migrates the database. ":memory:" opens a private in-memory database
 * (no WAL; for tests). NULL on failure (logged), or when the file's schema is
 * newer than this build. */
tc_store *tc_store_open(const char *path);
/* Opens a database that must exist already; creates nothing (NULL, logged, when
 * there is no file at path). read_only: SQLITE_OPEN_READONLY (every write
 * fails), unless the file's schema is older than this build's: then it is
 * migrated first, read-write, as tc_store_open would (NULL when newer). */
tc_store *tc_store_open_existing(const char *path, bool read_only);
void tc_store_close(tc_store *s); /* NULL does nothing */

/* Whether the store can take writes now (the server's /readyz): 0, or a
 * negative errno with a one-line reason in reason:
 *   -ENOENT "database file is gone": the path no longer names the file the
 *           connection writes (deleted or replaced under it). Logged once; from
 *           then on every write is refused with -EIO, so that nothing that would
 *           be lost is acknowledged. Sticky: restore the file and restart.
 *   -ENOSPC, -EROFS, -EIO, ...: a write probe (4 KiB written, synced and
 *           removed next to the database file, at most every TC_STORE_PROBE_MS)
 *           failed, or else the last write failed (cleared by the next good
 *           write; while not ready, a test commit at each probe).
 * The file check is a stat(), every call. ":memory:" is always ready. */
#define TC_STORE_PROBE_MS 2000
int tc_store_health(tc_store *s, int64_t now_ms, char *reason, size_t cap);
int tc_store_schema_version(tc_store *s);

/* A per-installation secret (e.g. the invite-code hash key): returned if present,
 * else len fresh random bytes are stored and returned. len <= 64. */
int tc_store_secret(tc_store *s, const char *name, uint8_t *out, size_t len);

/* ---- accounts ------------------------------------------------------------ */

#define TC_USERNAME_MAX 64
typedef struct tc_account {
    int64_t id;
    char username[TC_USERNAME_MAX];
    char display_name[128];
    char role[16];           /* "agent" or "ops" */
    char skills[256];        /* comma-separated desk names */
    char password_hash[160]; /* libsodium crypto_pwhash_str (Argon2id) */
    bool disabled;
    int64_t created_at;
} tc_account;

/* password_hash comes from tc_password_hash (core/password). -EEXIST if taken. */
int tc_store_account_add(tc_store *s, const char *username, const char *display_name,
                         const char *role, const char *skills, const char *password_hash,
                         int64_t now, int64_t *id_out);
int tc_store_account_get(tc_store *s, const char *username, tc_account *out);
int tc_store_account_get_by_id(tc_store *s, int64_t id, tc_account *out);
int tc_store_account_set_password(tc_store *s, const char *username, const char *password_hash);
int tc_store_account_set_disabled(tc_store *s, const char *username, bool disabled);
int tc_store_account_set_skills(tc_store *s, const char *username, const char *skills);
/* Calls fn for each account, by username; stops early if fn returns non-zero. */
int tc_store_account_foreach(tc_store *s, int (*fn)(void *user, const tc_account *a), void *user);

/* ---- invite codes ---------------------------------------------------------- */
/* A code is stored only as keyed hashes: locator_hash finds the row (the locator
 * is the code's first part), code_hash is compared in constant time by the
 * caller (route/invite). */

typedef struct tc_invite_row {
    int64_t id;
    uint8_t code_hash[32];
    char desk[32];
    char case_ref[128];
    char note[512];
    int64_t issued_by; /* account id */
    int64_t issued_at;
    int64_t expires_at;
    int64_t redeemed_at; /* 0 = not yet */
    int attempts;        /* failed attempts against this code */
} tc_invite_row;

int tc_store_invite_add(tc_store *s, const uint8_t locator_hash[32], const uint8_t code_hash[32],
                        const char *desk, const char *case_ref, const char *note, int64_t issued_by,
                        int64_t issued_at, int64_t expires_at, int64_t *id_out);
/* The live invite (not redeemed, expires_at > now, attempts < max_attempts) with
 * this locator; -ENOENT if none. */
int tc_store_invite_find_live(tc_store *s, const uint8_t locator_hash[32], int64_t now,
                              int max_attempts, tc_invite_row *out);
/* Counts one failed attempt; *attempts_out gets the new count. */
int tc_store_invite_fail(tc_store *s, int64_t id, int *attempts_out);
/* Marks it redeemed, atomically: succeeds for exactly one caller, and only while
 * it is live; -EALREADY otherwise. */
int tc_store_invite_redeem(tc_store *s, int64_t id, int64_t now, int max_attempts);
int tc_store_invite_get(tc_store *s, int64_t id, tc_invite_row *out);

/* ---- sessions ---------------------------------------------------------------- */

typedef struct tc_session_row {
    int64_t id;
    char desk[32];
    int priority;      /* 0 normal, 1 redeemed invite */
    int64_t invite_id; /* 0 = none */
    char case_ref[128];
    char token_hash[65]; /* hex SHA-256 of the customer's session token */
    int64_t queued_at, offered_at, answered_at, ended_at; /* offered_at: first offer */
    int offers;          /* how many times it was offered to an agent */
    int64_t agent_id;    /* who answered; 0 = nobody */
    char end_reason[24]; /* "" while open; see docs/protocol.md for the list */
    char outcome[64];
    char notes[2048];
    int rating; /* 0 = not rated, else 1..5 */
    char rating_comment[1024];
    char media_summary[1024]; /* JSON, filled by the media relay */
} tc_session_row;

int tc_store_session_add(tc_store *s, const char *desk, int priority, int64_t invite_id,
                         const char *case_ref, const char *token_hash, int64_t queued_at,
                         int64_t *id_out);
/* Counts an offer; sets offered_at the first time. */
int tc_store_session_offered(tc_store *s, int64_t id, int64_t agent_id, int64_t at);
int tc_store_session_answered(tc_store *s, int64_t id, int64_t agent_id, int64_t at);
/* Ends it once; -EALREADY if it had ended. */
int tc_store_session_ended(tc_store *s, int64_t id, const char *reason, int64_t at);
/* Only the answering agent (-EPERM otherwise); may be set again to correct it. */
int tc_store_session_outcome(tc_store *s, int64_t id, int64_t agent_id, const char *outcome,
                             const char *notes);
/* Once (-EALREADY), only after the end (-EAGAIN), rating 1..5 (-EINVAL). */
int tc_store_session_rate(tc_store *s, int64_t id, int rating, const char *comment);
/* json is stored whole: -EINVAL if it does not fit media_summary (cut JSON is not JSON). */
int tc_store_session_media_summary(tc_store *s, int64_t id, const char *json);
int tc_store_session_get(tc_store *s, int64_t id, tc_session_row *out);
/* The session whose customer token hashes to token_hash (hex SHA-256). */
int tc_store_session_by_token(tc_store *s, const char *token_hash, tc_session_row *out);
/* Sessions with queued_at in [since, until), oldest first. */
int tc_store_session_foreach(tc_store *s, int64_t since, int64_t until,
                             int (*fn)(void *user, const tc_session_row *r), void *user);
/* Ends every session still open (after a crash, or at shutdown); *count_out may be NULL. */
int tc_store_session_end_all_open(tc_store *s, const char *reason, int64_t at, int *count_out);

/* ---- statistics over ended sessions --------------------------------------- */

typedef struct tc_store_stats {
    int64_t sessions; /* queued in the window */
    int64_t ended;
    int64_t completed, abandoned, missed, customer_gone, agent_gone, failed, server_shutdown;
    int64_t answered;
    int64_t answered_within; /* answered_at - queued_at <= the threshold given */
    double avg_answer_s;     /* average speed of answer, over answered sessions */
    double abandon_rate;     /* abandoned / ended, 0 if none ended */
    double avg_handle_s;     /* ended_at - answered_at over answered and ended */
    int64_t handled;         /* answered and ended: avg_handle_s's denominator */
    int64_t rated;
    double avg_rating;
} tc_store_stats;

/* Over sessions queued in [since, until); desk NULL = all desks. (Named _get
 * because a function may not share the name of the type tc_store_stats.) */
int tc_store_stats_get(tc_store *s, int64_t since, int64_t until, const char *desk,
                       int answer_threshold_s, tc_store_stats *out);
/* Average handle time (s) of the last n answered-and-ended sessions of a desk;
 * -ENOENT if there are none. Used for wait estimates. */
int tc_store_recent_handle_s(tc_store *s, const char *desk, int n, double *avg_out);

/* ---- audit trail and evidence ------------------------------------------------- */

/* Appends an event; session_id/account_id 0 = none; detail_json may be NULL. */
int tc_store_audit(tc_store *s, int64_t at, int64_t session_id, int64_t account_id,
                   const char *event, const char *detail_json);
/* Events of one session; session_id 0 counts every event. */
int tc_store_audit_count(tc_store *s, int64_t session_id, int64_t *count_out);
/* A still taken as evidence; sha256_hex (64 lowercase hex digits) is computed by
 * the caller. -ENOENT if the session does not exist. */
int tc_store_evidence_add(tc_store *s, int64_t session_id, int64_t account_id, int64_t at,
                          const char *mime, const uint8_t *data, size_t len, const char *sha256_hex,
                          int64_t *id_out);
