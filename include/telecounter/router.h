/*
 * router: the contact-center core. Desks and their queues, agents and their
 * states, matching customers to agents, ring timeouts, after-call work, the
 * session lifecycle (queued -> ringing -> answered -> ended) and invite codes.
 *
 * Thread: the control thread only; no locks. Time is passed in: every call takes
 * `now`, wall-clock milliseconds, and tc_router_tick(now) fires the timers (ring
 * timeouts, after-call work, resume windows). Tests drive time by hand.
 *
 * The router writes every record to the store before it returns, so a caller may
 * acknowledge at once. It never talks to a connection: what users must hear about
 * is reported through tc_router_events, by session and account ids, during the
 * call that caused it. Callbacks must not call back into the router.
 *
 * Errors (negative errno):
 *   -ENOENT   no such session/desk/code for this caller   -EINVAL  bad argument
 *   -EBADFD   not possible in the current state           -EBUSY   throttled
 *   -ESTALE   the session has ended                        -EIO     the store failed
 *   -EALREADY / -EAGAIN / -EPERM as the store reports them (rating, outcome)
 */
#pragma once

#include "telecounter/config.h"
#include "telecounter/media.h"
#include "telecounter/store.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct tc_router tc_router;

typedef enum tc_agent_state {
    TC_AGENT_OFFLINE = 0,
    TC_AGENT_NOT_READY,
    TC_AGENT_AVAILABLE,
    TC_AGENT_RINGING,
    TC_AGENT_ON_CALL,
    TC_AGENT_AFTER_CALL_WORK,
    TC_AGENT_STATE_COUNT
} tc_agent_state;

typedef enum tc_session_state {
    TC_SESSION_QUEUED = 0,
    TC_SESSION_RINGING,
    TC_SESSION_ANSWERED,
    TC_SESSION_ENDED
} tc_session_state;

typedef enum tc_end_reason {
    TC_END_NONE = 0,
    TC_END_COMPLETED,
    TC_END_ABANDONED,
    TC_END_MISSED,
    TC_END_CUSTOMER_GONE,
    TC_END_AGENT_GONE,
    TC_END_FAILED,
    TC_END_SERVER_SHUTDOWN,
    TC_END_REASON_COUNT
} tc_end_reason;

const char *tc_agent_state_name(tc_agent_state s);
const char *tc_session_state_name(tc_session_state s);
const char *tc_end_reason_name(tc_end_reason r);

#define TC_TOKEN_HEX_LEN 32

/* What a customer or the agent on a call may know about a session. */
typedef struct tc_session_info {
    int64_t id;
    char desk[TC_DESK_NAME_MAX];
    tc_session_state state;
    tc_end_reason end_reason;
    int priority; /* 1 = came with an invite code */
    char case_ref[128];
    char note[512];
    int position; /* 1-based while queued or ringing, else 0 */
    int wait_s;   /* estimate while queued, else 0; -1: no agent can take it (agents 0) */
    int agents;   /* agents of the desk who can take a call soon (not ready/offline don't) */
    int64_t queued_at, answered_at;
    int64_t agent_id; /* answering (or ringing) agent; 0 = none */
    char agent_name[128];
    /* answered: that side's connection is gone and its resume window runs */
    bool customer_away, agent_away;
    int64_t away_until; /* when the window of the side that is away ends, else 0 */
} tc_session_info;

typedef struct tc_ring_info {
    int64_t session_id;
    char desk[TC_DESK_NAME_MAX];
    int waited_s;
    int priority;
    char case_ref[128];
    int timeout_s;
} tc_ring_info;

typedef struct tc_router_events {
    void *user;
    /* agents: of the desk, who can take a call soon; 0 = nobody (wait_s is -1) */
    void (*queue_update)(void *user, int64_t session_id, int position, int wait_s, int agents);
    void (*ring)(void *user, int64_t agent_id, const tc_ring_info *ring);
    /* reason: "timeout", "customer_left" */
    void (*ring_cancelled)(void *user, int64_t agent_id, int64_t session_id, const char *reason);
    /* until: end of after-call work, else 0 */
    void (*agent_state)(void *user, int64_t agent_id, tc_agent_state state, const char *reason,
                        int64_t until);
    void (*answered)(void *user, int64_t session_id, int64_t agent_id);
    /* agent_id: who was on the call (or ringing), 0 = nobody */
    void (*ended)(void *user, int64_t session_id, int64_t agent_id, tc_end_reason reason);
    /* queues or agent states changed: watchers may want a fresh summary */
    void (*queues_changed)(void *user);
    /* One side of an answered call lost its connection (connected false; until:
     * the end of its resume window) or came back: news for the other side. */
    void (*peer_state)(void *user, int64_t session_id, int64_t agent_id, tc_media_side who,
                       bool connected, int64_t until);
} tc_router_events;

/* cfg and store must outlive the router. invite_key: TC_INVITE_KEY_LEN bytes. */
tc_router *tc_router_create(const tc_config *cfg, tc_store *store, const tc_router_events *events,
                            const uint8_t *invite_key);
void tc_router_destroy(tc_router *r); /* NULL does nothing */

/* ---- customers ------------------------------------------------------------ */

typedef struct tc_join_result {
    tc_session_info session;
    char token[TC_TOKEN_HEX_LEN + 1]; /* the customer's secret for resume and rating */
} tc_join_result;

/* client_addr keys the per-address limits (limits.sessions_per_address,
 * limits.joins_per_minute): -EBUSY with *retry_after_s past them. */
int tc_router_customer_join(tc_router *r, const char *desk, const char *client_addr, int64_t now,
                            tc_join_result *out, int *retry_after_s);
/* client_addr keys the per-address throttle and limits. -ENOENT for any bad code;
 * -EBUSY when throttled, with *retry_after_s set. */
int tc_router_customer_redeem(tc_router *r, const char *code, size_t code_len,
                              const char *client_addr, int64_t now, tc_join_result *out,
                              int *retry_after_s);
/* -ENOENT unknown token; an ended session resumes too (state ENDED) so it can be rated. */
int tc_router_customer_resume(tc_router *r, const char *token, int64_t now, tc_session_info *out);
/* The connection dropped; the session waits resume_window_s for it. */
void tc_router_customer_disconnected(tc_router *r, int64_t session_id, int64_t now);
int tc_router_customer_leave(tc_router *r, int64_t session_id, int64_t now,
                             tc_end_reason *reason_out);
int tc_router_customer_rate(tc_router *r, int64_t session_id, int rating, const char *comment,
                            int64_t now);
/* Finds the session of a token (for rating from a fresh connection). */
int tc_router_session_by_token(tc_router *r, const char *token, int64_t *session_id_out);

/* ---- agents ----------------------------------------------------------------- */

typedef struct tc_agent_info {
    tc_agent_state state;
    char reason[64];
    int64_t call_session_id; /* the call it is on (after a reconnect), else 0 */
    int64_t acw_session_id;  /* after-call work: the session to code, else 0 */
    int64_t acw_until;       /* after-call work: when it ends */
} tc_agent_info;

/* Creates the agent, or re-attaches a known one whose connection dropped. */
int tc_router_agent_login(tc_router *r, const tc_account *account, int64_t now, tc_agent_info *out);
/* -EBADFD while ringing or on a call. */
int tc_router_agent_logout(tc_router *r, int64_t agent_id, int64_t now);
void tc_router_agent_disconnected(tc_router *r, int64_t agent_id, int64_t now);
/* want: AVAILABLE or NOT_READY. */
int tc_router_agent_set_state(tc_router *r, int64_t agent_id, tc_agent_state want,
                              const char *reason, int64_t now);
int tc_router_agent_accept(tc_router *r, int64_t agent_id, int64_t session_id, int64_t now,
                           tc_session_info *out);
int tc_router_agent_decline(tc_router *r, int64_t agent_id, int64_t session_id, int64_t now);
int tc_router_agent_outcome(tc_router *r, int64_t agent_id, int64_t session_id, const char *code,
                            const char *notes, int64_t now, tc_agent_state *state_out);
int tc_router_agent_state(tc_router *r, int64_t agent_id, tc_agent_info *out);
/* The ring the agent is answering now (timeout_s: what is left of it); -ENOENT if
 * it is not being rung. For a console that logs in again while it rings. */
int tc_router_ring_of(tc_router *r, int64_t agent_id, int64_t now, tc_ring_info *out);
/* Once per after-call work: adds routing.after_call_work_s to it (*until_out: its new
 * end). -EBADFD if the agent is not wrapping up that session or extended it already. */
int tc_router_agent_extend_wrap_up(tc_router *r, int64_t agent_id, int64_t session_id, int64_t now,
                                   int64_t *until_out);

/* ---- both sides ---------------------------------------------------------------- */

/* Ends an answered session as completed (either side hung up). */
int tc_router_hangup(tc_router *r, int64_t session_id, int64_t now);
/* Ends a session for the media layer's reasons (FAILED, ...). */
int tc_router_end(tc_router *r, int64_t session_id, tc_end_reason reason, int64_t now);
/* The relay's news of one side's media. FAILED ends the call as failed, unless
 * that side's connection is gone: then its resume window decides (a browser
 * that comes back offers again), and a side that came back has media.grace_s
 * to bring its media up. Returns 1 if the call ended, else 0. */
int tc_router_media_state(tc_router *r, int64_t session_id, tc_media_side side,
                          tc_media_state state, int64_t now);
int tc_router_session_info(tc_router *r, int64_t session_id, tc_session_info *out);

/* ---- invites ------------------------------------------------------------------- */

/* valid_s 0 = the configured default. code_out: display form. */
int tc_router_invite_create(tc_router *r, int64_t issuer_id, const char *desk, const char *case_ref,
                            const char *note, int valid_s, int64_t now, char code_out[16],
                            int64_t *expires_at_out);

/* ---- timers, shutdown, views ------------------------------------------------------ */

void tc_router_tick(tc_router *r, int64_t now);
/* Ends every open session with SERVER_SHUTDOWN (recorded), for a clean stop. */
void tc_router_shutdown(tc_router *r, int64_t now);

typedef struct tc_desk_summary {
    char desk[TC_DESK_NAME_MAX];
    int waiting;
    int longest_wait_s;
    int invites_waiting;
    int agents[TC_AGENT_STATE_COUNT]; /* agents with this skill, by state */
} tc_desk_summary;

/* Fills up to max summaries (one per configured desk); returns how many. */
int tc_router_desk_summaries(tc_router *r, int64_t now, tc_desk_summary *out, int max);
/* Every known agent once, by state. */
void tc_router_agent_counts(tc_router *r, int counts[TC_AGENT_STATE_COUNT]);

typedef struct tc_call_view {
    int64_t session_id;
    char desk[TC_DESK_NAME_MAX];
    char agent_username[TC_USERNAME_MAX];
    int64_t answered_at;
} tc_call_view;
/* Calls fn for each answered, open session. */
void tc_router_foreach_call(tc_router *r, void (*fn)(void *user, const tc_call_view *c),
                            void *user);
