/*
 * peer: a native WebRTC test peer for telecounter. It speaks the signaling
 * protocol (docs/protocol.md) over WSS as a customer or an agent, offers like
 * a browser (BUNDLE of Opus audio and VP8 video, rtcp-mux, trickle ICE),
 * runs ICE (libnice, controlling), DTLS (client) and SRTP, sends an Opus sine
 * tone and synthetic VP8-shaped video, and measures what it receives: the
 * tone's dominant frequency, video loss from the sender's own sequence
 * numbers, one-way latency from the sender's timestamps (same host, same
 * clock), and PLI/FIR counts.
 *
 * Thread: everything runs on the GMainLoop given to tc_peer_env_create; many
 * peers share one env (one lws context, one DTLS certificate). Nothing here
 * is global, so a load generator may run hundreds of peers in one process.
 * Network: peers gather ICE candidates on loopback only and ignore remote
 * candidates that are not loopback (TESTING.md).
 */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tc_peer_env tc_peer_env;
typedef struct tc_peer tc_peer;

typedef enum { TC_PEER_CUSTOMER, TC_PEER_AGENT } tc_peer_role;

/* Fault scenarios (tools/peer/faults.h); all 0/false: none. */
typedef struct {
    bool bad_fingerprint;           /* offer a fingerprint that is not our certificate's */
    unsigned plain_rtp_before_dtls; /* once ICE is up, before DTLS: this many plain RTP */
    unsigned bad_rtcp_count;        /* malformed SRTCP compounds per kind (faults.h) */
    unsigned bad_rtcp_at_ms;        /* the first kind's burst, from the call's start */
    unsigned bad_rtcp_gap_ms;       /* between the kinds' bursts; 0: 4000 */
    bool tone_timeline;             /* every received 0.2 s audio window's frequency */
    unsigned linger_ms;             /* after session.ended or a media failure: keep the
                                       media session this long, count what still comes */
    bool watch;                     /* only count what comes in (the faults JSON object) */
    unsigned video_loss_every;      /* drop every Nth video packet on arrival and NACK it */
} tc_peer_faults;

typedef struct {
    const char *url;         /* wss://127.0.0.1:PORT/ws */
    tc_peer_role role;       /* customer: desk or invite_code; agent: username, password */
    const char *desk;        /* customer.join */
    const char *invite_code; /* customer.redeem instead of join, when set */
    const char *username;
    const char *password;
    const char *name;          /* for log lines; NULL: the role */
    unsigned tone_hz;          /* 0: 440 for a customer, 660 for an agent */
    unsigned video_kbps;       /* 0: 1500 */
    unsigned duration_s;       /* of the call, from answer (customer) or accept (agent) */
    unsigned answer_timeout_s; /* customer: how long to wait in the queue; 0: 60 */
    bool queue_only;           /* customer: stay queued duration_s, then leave */
    bool wait_available;       /* agent: after login, stay offline until tc_peer_go_available */
    unsigned pli_interval_ms;  /* send a PLI to the other side this often (0: never) */
    const char *local_address; /* ICE gathers here; NULL: 127.0.0.1 (loopback only) */
    /* ---- reconnect scenarios (all 0/NULL: none; times from the call's start,
     * i.e. session.answered for a customer, agent.accept.ok for an agent).
     * Each also reads TC_PEER_<NAME> from the environment when left 0/NULL, so
     * that tc-testpeer reaches them without new flags. */
    const char *resume_token;   /* customer: customer.resume with it, then a fresh offer */
    unsigned cut_at_ms;         /* a network cut starts then: every datagram both ways, */
    unsigned cut_ms;            /* STUN included, is dropped for this long (see cutbox.h) */
    unsigned ice_restart_at_ms; /* re-offer on the same session with new ICE credentials */
    unsigned vanish_at_ms;      /* close signaling and media then, no hangup (a page reload) */
    unsigned mark_at_ms;        /* snapshot the received counters (results.mark) */
    unsigned offer_delay_ms;    /* customer: offer this long after join.ok, not at once (a
                                   slow camera prompt: the agent may accept first) */
    unsigned reoffer_at_ms;     /* re-offer with the same ICE credentials (a renegotiation,
                                   not a restart); the answer's are compared with the first */
    const char *video_codec;    /* the offer's one video codec: "VP8" (NULL) or "H264" */
    /* ---- fault scenarios (tools/peer/faults.h) ---- */
    tc_peer_faults faults;
} tc_peer_config;

/* What one media session measured. Counters are packets unless named. */
#define TC_PEER_TONE_TIMELINE_MAX 300 /* 0.2 s windows: 60 s */
#define TC_PEER_BAD_RTCP_KINDS 4

typedef struct {
    char kind[12];
    uint32_t sent;
    int64_t at_unix_ms, at_call_ms;
} tc_peer_bad_rtcp;

/* What a session with faults counted (faults.h); all zero without faults. */
typedef struct {
    bool call_started;             /* the session saw the call start */
    uint64_t plain_rtp_sent;       /* before DTLS */
    uint64_t fault_video_received; /* video packets flagged FAULT that reached us */
    uint64_t media_datagrams;      /* RTP/RTCP datagrams in, decryptable or not */
    uint64_t media_before_srtp;    /* of them, before we had SRTP keys */
    int64_t last_media_us;         /* monotonic; 0: none */
    unsigned n_bad_rtcp;
    tc_peer_bad_rtcp bad_rtcp[TC_PEER_BAD_RTCP_KINDS];
    unsigned n_tone;
    int32_t tone_ms[TC_PEER_TONE_TIMELINE_MAX]; /* window end, ms from the call's start */
    float tone_hz[TC_PEER_TONE_TIMELINE_MAX];   /* 0: silence */
    uint64_t video_dropped;                     /* video_loss_every: packets dropped on arrival */
    uint64_t nacks_sent;                        /* NACK packets sent for them */
    uint64_t stale_nacks_sent;                  /* of them, also asking for a packet 2,000 back */
    uint64_t video_recovered;                   /* dropped packets that came again */
    uint64_t nack_seqs_received;                /* sequence numbers NACKed to us, as a sender */
} tc_peer_fault_stats;

typedef struct {
    uint64_t audio_sent, audio_received, audio_lost, audio_decoded_frames;
    uint64_t video_sent, video_received, video_lost, video_frames_sent;
    uint64_t video_bytes_sent;
    double video_loss; /* lost / expected, from the sender's own sequence numbers */
    uint64_t rtx_received, rtcp_received, srtp_errors;
    /* RTX (RFC 4588) whose original sequence number was checked against the
     * stream's packets (ours: the marker inside says which packet it repeats),
     * and how many named another packet, or carried another timestamp */
    uint64_t rtx_osn_checked, rtx_osn_wrong, rtx_ts_wrong;
    uint64_t keyframes_sent, keyframes_received;
    uint64_t plis_received, firs_received, plis_sent;
    int64_t latency_p50_us, latency_p99_us, latency_max_us; /* -1: no samples */
    double dominant_hz;          /* median over analyzed windows; 0: none */
    uint64_t tone_windows;       /* analyzed windows with sound */
    uint64_t hold_audio_packets; /* audio received before analysis began (queued) */
    uint64_t hold_audio_voiced;  /* windows with sound among them */
    bool ice_connected, dtls_connected;
    char ice_pair[160];
    char srtp_profile[48];
    int64_t offer_to_dtls_ms; /* -1: never connected */
    int64_t first_video_us;   /* monotonic time of the first video packet; 0: none */
    /* The call's start (agent.accept.ok for an agent, session.answered for a
     * customer) to the first video packet from the other side: accept to
     * bridged, as the user sees it. -1: none (yet). */
    int64_t answer_to_video_ms;
    /* ---- fault scenarios (faults.h) ---- */
    tc_peer_fault_stats faults;
} tc_peer_media_stats;

typedef struct {
    bool enabled;      /* some fault was asked for */
    bool media_failed; /* the media session failed while linger_ms was set */
    char media_error[96];
    bool lingered; /* session.ended came and we kept listening */
    uint64_t audio_after_end, video_after_end, rtcp_after_end, datagrams_after_end;
    int64_t last_datagram_after_end_ms; /* the last RTP/RTCP datagram after session.ended; -1 */
} tc_peer_fault_result;

typedef struct {
    bool ok;         /* the run went as planned (expectations are the caller's) */
    char error[160]; /* why not, when !ok */
    char role[16];
    int64_t session_id;
    bool answered;
    bool offered_after_answer; /* customer: the first offer went out after session.answered */
    char media_state[24];      /* the last media.state event, "" if none */
    tc_peer_media_stats media;
    /* ---- reconnect scenarios ---- */
    char token[40];         /* customer: the session token ("" if none) */
    char end_reason[24];    /* session.ended's reason ("" if it never came) */
    int64_t ended_at_ms;    /* session.ended, ms from the call's start; -1: never */
    char media_states[160]; /* every media.state event in order, comma-separated */
    struct {
        bool set;      /* a mark was taken (mark_at_ms, or the end of a cut, or the
                          answer to an ICE restart, whichever came last) */
        int64_t at_ms; /* from the call's start */
        uint64_t audio_received, video_received; /* received since the mark */
    } mark;
    /* ---- negotiation ---- */
    bool offer_video;      /* the first offer.ok's "video" */
    bool reoffer_answered; /* reoffer_at_ms: the answer came and was usable */
    bool reoffer_same_ice; /* ... and repeated the first answer's ufrag and pwd */
    char call_media[160];  /* every call.media event: "video=false:reason,..." */
    /* ---- fault scenarios (faults.h, peer.c's linger) ---- */
    tc_peer_fault_result fault;
} tc_peer_results;

/* Called once per peer when it has finished (well or not), from the loop. The
 * peer may be destroyed inside it. */
typedef void (*tc_peer_done_fn)(tc_peer *peer, const tc_peer_results *r, void *user);

/* NULL on failure (logged). Initialises libsrtp2 once for the process. */
tc_peer_env *tc_peer_env_create(GMainLoop *loop);
void tc_peer_env_destroy(tc_peer_env *env);

/* cfg's strings must outlive the peer. NULL on failure. */
tc_peer *tc_peer_create(tc_peer_env *env, const tc_peer_config *cfg, tc_peer_done_fn done,
                        void *user);
/* Connects and runs the role's script. 0 or a negative errno; on an error
 * return done is never called. */
int tc_peer_start(tc_peer *p);
void tc_peer_destroy(tc_peer *p);

/* Agent with wait_available: goes available now, or as soon as logged in. */
void tc_peer_go_available(tc_peer *p);
/* Agent: the login was accepted. */
bool tc_peer_logged_in(const tc_peer *p);

/* Live figures for a load generator: the media session's counters now (all
 * zero before it exists). Returns false when there is no media session. */
bool tc_peer_media_now(const tc_peer *p, tc_peer_media_stats *out);
/* Empties the latency histogram, so that percentiles cover from now on. */
void tc_peer_reset_latency(tc_peer *p);

/* The results as a JSON object (new reference). */
json_t *tc_peer_results_json(const tc_peer_results *r);

/* ---- loopback self-test: two media sessions wired in-process ------------ */

typedef struct {
    unsigned duration_s;
    unsigned video_kbps;
    unsigned pli_interval_ms; /* the offerer asks the answerer for keyframes */
} tc_peer_selftest_config;

/* Runs an offerer (440 Hz) and an answerer (660 Hz) on loop for duration_s,
 * both on 127.0.0.1; fills out[0] (offerer) and out[1]. 0 when both
 * connected, else a negative errno (results still filled). */
int tc_peer_selftest(GMainLoop *loop, const tc_peer_selftest_config *cfg, tc_peer_results out[2]);
