/*
 * The media area's insides. Control-thread structures (tc_media, tc_media_session)
 * and worker-thread ones (tc_worker, tc_leg) never touch each other's fields:
 * they meet only in the messages below, which are handed over whole (the
 * receiver frees them).
 */
#pragma once

#include "telecounter/dtls.h"
#include "telecounter/media.h"
#include "telecounter/rtcp.h"
#include "telecounter/rtx_buffer.h"
#include "telecounter/sdp.h"
#include "telecounter/srtp.h"
#include "telecounter/udp_batch.h"

#include <agent.h>
#include <glib.h>

#define TC_ICE_UFRAG_LEN 8
#define TC_ICE_PWD_LEN 24
#define TC_MAX_PACKET 1500
/* Every packet buffer: the largest packet plus room for the SRTP trailer. */
#define TC_PACKET_CAP (TC_MAX_PACKET + TC_SRTP_MAX_TRAILER)
#define TC_LEG_KEY(session_id, side) ((session_id)*2 + (int64_t)(side))

/* What a worker needs to build or restart a leg, decided on the control thread. */
typedef struct tc_leg_params {
    int64_t session_id;
    tc_media_side side;
    tc_sdp *offer; /* owned by the message */
    tc_sdp_choice choices[TC_SDP_MAX_MEDIA];
    char ufrag[TC_ICE_UFRAG_LEN + 1], pwd[TC_ICE_PWD_LEN + 1];
    uint32_t ssrc[TC_SDP_MAX_MEDIA], rtx_ssrc[TC_SDP_MAX_MEDIA];
} tc_leg_params;

typedef struct tc_worker tc_worker;
typedef struct tc_leg tc_leg;

/* Read-only after tc_media_create; shared by every worker. */
typedef struct tc_media_shared {
    const tc_config *cfg;
    tc_dtls_ctx *dtls;
    struct tc_media *media;     /* only for posting back to the control thread */
    const uint8_t *hold_frames; /* Opus frames of hold audio, back to back */
    const uint32_t *hold_frame_offset;
    const uint16_t *hold_frame_len;
    int hold_frame_count;
} tc_media_shared;

/* worker.c: a thread with its own GMainContext and the legs placed on it. */
tc_worker *tc_worker_start(int index, const tc_media_shared *shared);
void tc_worker_stop(tc_worker *w);
GMainContext *tc_worker_context(tc_worker *w);
const tc_media_shared *tc_worker_shared(tc_worker *w);
/* Where legs on a plain UDP pair put what they send (udp_batch.h). */
tc_udp_batch *tc_worker_batch(tc_worker *w);
/* Runs fn(msg) on the worker's thread; free_msg(msg) afterwards. */
void tc_worker_post(tc_worker *w, GSourceFunc fn, gpointer msg, GDestroyNotify free_msg);
tc_leg *tc_worker_leg(tc_worker *w, int64_t session_id, tc_media_side side);
void tc_worker_add_leg(tc_worker *w, tc_leg *leg);
void tc_worker_remove_leg(tc_worker *w, tc_leg *leg);

/* leg.c: worker thread only. */
tc_leg *tc_leg_create(tc_worker *w, const tc_leg_params *p);
void tc_leg_destroy(tc_leg *leg);
void tc_leg_restart(tc_leg *leg, const tc_leg_params *p);
/* A new offer with the same remote ICE credentials: the ICE agent, its
 * credentials and candidates, DTLS and SRTP stay; codecs, SSRCs and header
 * extensions are taken from the new offer. */
void tc_leg_renegotiate(tc_leg *leg, const tc_leg_params *p);
int tc_leg_add_candidate(tc_leg *leg, const char *candidate);
void tc_leg_candidates_done(tc_leg *leg);
bool tc_leg_connected(const tc_leg *leg);
int64_t tc_leg_session(const tc_leg *leg);
tc_media_side tc_leg_side(const tc_leg *leg);
/* Sends an RTP or RTCP packet (plain) to the peer, protecting it on the way. */
void tc_leg_send_rtp(tc_leg *leg, uint8_t *buf, size_t len, size_t cap);
void tc_leg_send_rtcp(tc_leg *leg, uint8_t *buf, size_t len, size_t cap);

/* relay.c: worker thread only. */
typedef struct tc_relay_stream {
    tc_sdp_kind kind;
    bool accepted;
    uint8_t pt, rtx_pt; /* the leg's payload types for its codec */
    uint32_t clock_rate;
    uint32_t in_ssrc, in_rtx_ssrc;   /* what the peer sends (learned) */
    uint32_t out_ssrc, out_rtx_ssrc; /* what we send the peer */
    /* rewriting of what we send, across a change of source (hold -> call) */
    bool out_started;
    uint32_t out_source;
    uint16_t seq_offset, last_seq;
    uint16_t source_first_seq; /* ours for the current source's first packet */
    bool source_changed;       /* the stream has had another source before */
    uint32_t ts_offset, last_ts;
    int64_t last_us;
    /* the RTX stream we send keeps its own sequence continuous the same way */
    bool rtx_started;
    uint32_t rtx_source;
    uint16_t rtx_seq_offset, rtx_last_seq;
    uint32_t rx_media_ssrc; /* of the last media packet the peer sent: what its RTX repairs */
    tc_rtx_buffer *sent;    /* video: what we sent, for NACKs; NULL otherwise */
    /* what we receive on it, for our receiver reports (RFC 3550 A.1, A.8) */
    bool rx_started;
    uint16_t rx_max_seq;
    uint32_t rx_cycles, rx_base_seq, rx_received, rx_expected_prior, rx_received_prior;
    uint32_t rx_jitter; /* in timestamp units, scaled by 16 */
    int64_t rx_last_transit;
    uint32_t rx_lsr; /* middle of the peer's last SR NTP time */
    int64_t rx_lsr_at_us;
    /* what we send on it, for our sender reports */
    uint32_t tx_packets, tx_octets, tx_last_ts;
    int64_t tx_last_us;
    /* what the peer reports about what we send */
    uint32_t peer_rtt_ms;
    uint8_t peer_fraction_lost;
} tc_relay_stream;

/* Per outgoing video stream, media.nack_buffer_kib of sent packets are kept
 * for retransmission, indexed by one slot per TC_RTX_BYTES_PER_SLOT bytes
 * (rounded up to a power of two): video packets are seldom smaller, so the
 * bytes, not the slots, are what runs out (64 KiB: 128 slots). */
#define TC_RTX_BYTES_PER_SLOT 512

/* A packet from leg `from`, already unprotected, in a TC_PACKET_CAP buffer; to is
 * the connected partner or NULL. Returns -EINVAL when the packet is malformed
 * or of no negotiated stream (the caller counts it as dropped). */
int tc_relay_on_rtp(tc_leg *from, tc_leg *to, uint8_t *buf, size_t len);
int tc_relay_on_rtcp(tc_leg *from, tc_leg *to, const uint8_t *buf, size_t len);
void tc_relay_request_keyframe(tc_leg *leg);
/* Sends a packet of ours or forwarded one on stream i of leg, rewriting SSRC,
 * sequence and timestamp so that a change of source (hold audio, then the
 * agent) stays one continuous stream. source: the sender's SSRC, 0 = hold audio. */
void tc_relay_send_stream(tc_leg *leg, int i, uint32_t source, uint8_t *buf, size_t len,
                          size_t cap);

/* Accessors the relay uses on a leg. */
tc_relay_stream *tc_leg_streams(tc_leg *leg, int *count);
uint8_t *tc_leg_ext_map_to(tc_leg *from, tc_leg *to); /* 256 entries: from's id -> to's */
tc_leg *tc_leg_partner(tc_leg *leg);
tc_leg_stats *tc_leg_stats_of(tc_leg *leg);
uint32_t tc_leg_max_bitrate_bps(const tc_leg *leg);
void tc_leg_set_partner(tc_leg *leg, tc_leg *partner);

/* media.c: called on the control thread by what workers post. */
void tc_media_post_candidate(const tc_media_shared *sh, int64_t session_id, tc_media_side side,
                             const char *candidate, const char *mid, int mline);
void tc_media_post_state(const tc_media_shared *sh, int64_t session_id, tc_media_side side,
                         tc_media_state state);
void tc_media_post_stats(const tc_media_shared *sh, int64_t session_id, tc_media_side side,
                         const tc_leg_stats *stats);

/* report.c: our RTCP sender and receiver reports, and the peer's. Worker thread. */
void tc_report_rx(tc_relay_stream *s, uint16_t seq, uint32_t ts, int64_t now_us);
void tc_report_tx(tc_relay_stream *s, size_t payload_len, uint32_t ts, int64_t now_us);
/* Our report block about what s receives; resets the interval counters. */
void tc_report_block(tc_relay_stream *s, int64_t now_us, tc_rtcp_report_block *b);
/* An SR or RR the peer sent (pkt from the walker). */
void tc_report_from_peer(tc_leg *leg, const void *pkt, int64_t now_us);
/* Sends one compound of reports to the peer and folds figures into its stats. */
void tc_report_send(tc_leg *leg, int64_t now_us);

/* hold.c: a gentle chime, Opus-encoded once at start-up (20 ms frames, 48 kHz
 * mono), so that playing it costs no encoding. Returns the frame count, or a
 * negative errno; the caller frees the three arrays with g_free. */
int tc_hold_audio_make(uint8_t **frames, uint32_t **offsets, uint16_t **lens);
