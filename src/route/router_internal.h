/*
 * The router's insides, shared by the files of src/route/ and nothing else.
 * Ownership: the router owns every tc_session and tc_agent (hash tables with
 * destroy functions); a desk queue holds borrowed pointers to queued sessions.
 */
#pragma once

#include "telecounter/invite.h"
#include "telecounter/id_table.h"
#include "telecounter/router.h"

#include <glib.h>

#define TC_MISSED_MAX 32
/* How long an ended session stays in memory so that its customer can rate it. */
#define TC_ENDED_KEEP_MS (60 * 60 * 1000)

typedef struct tc_session {
    int64_t id;
    int desk; /* index into cfg->desks */
    tc_session_state state;
    tc_end_reason end_reason;
    int priority;
    int64_t invite_id;
    char case_ref[128];
    char note[512];
    char token[TC_TOKEN_HEX_LEN + 1];
    int64_t queued_at, answered_at, ended_at;
    int64_t agent_id; /* ringing or answering agent */
    int64_t ring_deadline;
    int64_t missed_by[TC_MISSED_MAX]; /* agents who missed or declined it: rung last */
    int missed_count;
    int failed_rings; /* rings missed or declined, for routing.max_offers */
    char addr[64];    /* the client address that started it (admission.c) */
    bool connected;
    int64_t disconnected_at;
    /* per tc_media_side: media failed while that side was away; when it came
     * back, the deadline for its media to come up again (0 = none yet) */
    bool media_failed[2];
    int64_t media_deadline[2];
    int64_t returned_at[2];           /* when that side's connection last came back, else 0 */
    int shown_position, shown_wait_s; /* last pushed to the customer */
    int shown_agents;
    int64_t shown_eta; /* now + shown_wait_s when it was pushed */
    GList *queue_link; /* in desks[desk].queue while queued or ringing */
} tc_session;

typedef struct tc_agent {
    int64_t id;
    char username[TC_USERNAME_MAX];
    char name[128];
    uint32_t skills; /* bit i = cfg->desks[i] */
    tc_agent_state state;
    char reason[64];
    int64_t idle_since; /* when it last became available */
    int64_t session_id; /* ringing for, on, or wrapping up */
    int64_t acw_until;
    bool acw_extended; /* the after-call work was extended once */
    /* a call that ended while the agent was away past the window: its outcome
     * is still owed, so the next login starts in after-call work for it */
    int64_t owed_session_id;
    bool connected;
    int64_t disconnected_at;
} tc_agent;

typedef struct tc_desk {
    GQueue queue;    /* invites first, then by queued_at */
    double handle_s; /* recent average handle time; 0 = unknown */
} tc_desk;

struct tc_router {
    const tc_config *cfg;
    tc_store *store;
    tc_router_events ev;
    uint8_t invite_key[TC_INVITE_KEY_LEN];
    GHashTable *sessions; /* int64 id -> tc_session* (owned) */
    GHashTable *tokens;   /* token (owned copy) -> tc_session* */
    GHashTable *agents;   /* int64 id -> tc_agent* (owned) */
    int64_t estimated_at; /* last re-estimate of every queue (tc_router_tick) */
    GHashTable *guesses;  /* invite id -> wrong guesses (owned), see invites.c */
    GHashTable *by_addr;  /* client address -> its sessions (owned), see admission.c */
    GHashTable *failures; /* client address -> tc_addr_failures* (owned) */
    tc_desk desks[TC_MAX_DESKS];
};

/* router.c */
tc_session *tc_router_find_session(tc_router *r, int64_t id);
tc_agent *tc_router_find_agent(tc_router *r, int64_t id);
/* Creates, records and queues a session; fills out. */
int tc_router_session_start(tc_router *r, const char *addr, int desk, int priority,
                            int64_t invite_id, const char *case_ref, const char *note, int64_t now,
                            tc_join_result *out);
/* Records the end, frees the queue place and the agent, tells everyone. */
int tc_router_session_finish(tc_router *r, tc_session *s, tc_end_reason reason, int64_t now);
void tc_router_fill_info(tc_router *r, const tc_session *s, int64_t now, tc_session_info *out);

/* queue.c */
void tc_queue_add(tc_router *r, tc_session *s, bool at_head);
void tc_queue_remove(tc_router *r, tc_session *s);
/* Pushes queue_update to every customer of the desk whose position or estimate changed. */
void tc_queue_refresh(tc_router *r, int desk, int64_t now);
int tc_queue_position(tc_router *r, const tc_session *s);
int tc_queue_wait_s(tc_router *r, int desk, int position, int64_t now);
/* Agents who can take one of the desk's calls soon (available, ringing, on a
 * call, in after-call work). */
int tc_queue_agents(tc_router *r, int desk);
/* What a reply told the customer: later updates are sent only when it changes. */
void tc_queue_shown(tc_session *s, const tc_session_info *told, int64_t now);
/* Rings available agents for waiting customers until no pair is left. */
void tc_queue_match(tc_router *r, int64_t now);
/* The ring of s went unanswered (timeout) or was declined. */
void tc_queue_ring_failed(tc_router *r, tc_session *s, const char *agent_reason, int64_t now);
/* Takes back a ring from its agent (customer left, agent dropped). */
void tc_queue_ring_withdraw(tc_router *r, tc_session *s, const char *reason, int64_t now);
void tc_queue_update_handle_time(tc_router *r, int desk);

/* agents.c */
/* tell_agent false: the agent asked, and the reply to its request says so. */
void tc_agent_set(tc_router *r, tc_agent *a, tc_agent_state state, const char *reason,
                  int64_t until, int64_t now, bool tell_agent);
void tc_agent_tick(tc_router *r, int64_t now);

/* admission.c: open sessions and joins per client address */
/* 0 if addr may start a session now (perhaps after ending a stale one of its own);
 * -EBUSY with *retry_after_s if not. */
int tc_admission_check(tc_router *r, const char *addr, int64_t now, int *retry_after_s);
void tc_admission_opened(tc_router *r, const char *addr, int64_t now);
void tc_admission_closed(tc_router *r, const char *addr);
void tc_admission_tick(tc_router *r, int64_t now);

/* invites.c */
void tc_invites_tick(tc_router *r, int64_t now);
void tc_addr_failures_free(gpointer p);

/* presence.c: which side of an answered call is connected */
/* The side's connection went (connected false) or came back: tells the other side,
 * and after a return starts the wait for the side's media if it had failed. */
void tc_presence_changed(tc_router *r, tc_session *s, tc_media_side who, bool connected,
                         int64_t now);
/* Ends calls whose returned side did not bring its media back in time. */
void tc_presence_tick(tc_router *r, int64_t now);
