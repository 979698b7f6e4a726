/*
 * media: the control thread's face of the media relay. It owns the media
 * worker threads and the DTLS certificate, turns a browser's offer into the
 * relay's answer (synchronously: the answer needs nothing from the worker),
 * places both legs of a session on one worker, and relays the workers' news
 * (local ICE candidates, leg states, statistics) back through tc_media_events,
 * on the control thread.
 *
 * Thread: every function here is called on the control thread; events are
 * delivered on it too. Legs live on their worker and are reached only by
 * messages (DESIGN.md: "Between them only messages").
 */
#pragma once

#include "telecounter/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tc_media tc_media;

typedef enum tc_media_side { TC_SIDE_CUSTOMER = 0, TC_SIDE_AGENT = 1 } tc_media_side;

typedef enum tc_media_state {
    TC_MEDIA_CONNECTING = 0,
    TC_MEDIA_CONNECTED,    /* ICE and DTLS done: packets flow */
    TC_MEDIA_RECONNECTING, /* ICE lost; within media.grace_s it may come back */
    TC_MEDIA_FAILED,       /* DTLS failed, a wrong fingerprint, or the grace ran out */
} tc_media_state;

const char *tc_media_state_name(tc_media_state s);

/* Per leg, both directions, sampled by the worker about every 2 s. */
typedef struct tc_leg_stats {
    uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
    uint64_t rx_dropped; /* SRTP failures, replays, oversize, before DTLS, malformed */
    uint64_t plis_rx, firs_rx, nacks_rx, plis_tx;
    uint32_t rx_bitrate_bps, tx_bitrate_bps;
    uint32_t rtt_ms;        /* from the peer's receiver reports; 0 = not known yet */
    uint32_t loss_permille; /* the peer's loss of what we send, from its reports */
    uint32_t jitter_ms;     /* of what we receive (audio, else video) */
    char pair_type[24];     /* "host/udp", "prflx/udp", "relay/tcp"... */
    char srtp_profile[32];
    int64_t connected_at_us; /* 0 until DTLS finished */
} tc_leg_stats;

typedef struct tc_media_events {
    void *user;
    /* candidate: "candidate:..." without "a="; "" once gathering is done. */
    void (*candidate)(void *user, int64_t session_id, tc_media_side side, const char *candidate,
                      const char *mid, int mline_index);
    void (*state)(void *user, int64_t session_id, tc_media_side side, tc_media_state state);
    void (*stats)(void *user, int64_t session_id, tc_media_side side, const tc_leg_stats *stats);
    /* Once both legs are answered, whenever the call turns audio-only (video
     * false; reason "no_common_video_codec" or "no_video") or back (true,
     * "video_available"). Delivered from the loop, after the offer's reply. */
    void (*call_media)(void *user, int64_t session_id, bool video, const char *reason);
} tc_media_events;

/* Starts the workers. NULL on failure (logged). cfg must outlive the media. */
tc_media *tc_media_create(const tc_config *cfg, const tc_media_events *events);
/* Stops the workers (their legs are closed). NULL does nothing. */
void tc_media_destroy(tc_media *m);

/* Parses and checks an offer, creates the leg and writes the answer into
 * answer (NUL-terminated). On an existing leg of the same peer (same
 * certificate), new remote ICE credentials restart ICE (new local ones too);
 * the same credentials are a renegotiation: ICE, DTLS and SRTP stay and the
 * answer repeats the local credentials. An m-line without a common codec is
 * answered with port 0 and the rest stands; *video (if not NULL) says whether
 * this leg's video was accepted. -EINVAL with a one-line reason in why for an
 * unusable offer: no state is created then. */
int tc_media_offer(tc_media *m, int64_t session_id, tc_media_side side, const char *sdp, size_t len,
                   char *answer, size_t cap, bool *video, char *why, size_t why_len);
/* A trickled candidate ("" = end of candidates). -ENOENT without a leg,
 * -EINVAL for a malformed one; mDNS names are ignored (0). */
int tc_media_remote_candidate(tc_media *m, int64_t session_id, tc_media_side side,
                              const char *candidate, size_t len);
/* The call was answered: forward between the legs once both are connected. */
void tc_media_bridge(tc_media *m, int64_t session_id);
/* The session ended: both legs go. */
void tc_media_end(tc_media *m, int64_t session_id);
/* Sessions with media state, for tests and metrics. */
unsigned tc_media_session_count(const tc_media *m);
