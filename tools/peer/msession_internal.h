/*
 * msession_internal: the inside of a tc_msession, shared by media_session.c
 * (ICE, DTLS, SDP), media_send.c (the senders) and media_recv.c (the
 * receivers and their measurements). Not part of the peer's public face.
 */
#pragma once

#include "media_session.h"
#include "cutbox.h"
#include "faults.h"
#include "tone.h"

#include "telecounter/dtls.h"
#include "telecounter/ice_socket.h"
#include "telecounter/sdp.h"
#include "telecounter/srtp.h"
#include "telecounter/udp_batch.h"

#include <agent.h>
#include <opus.h>
#include <stdbool.h>
#include <stdint.h>

#define TC_PEER_PKT_CAP (1500 + TC_SRTP_MAX_TRAILER)
#define TC_PEER_VIDEO_MAX_PAYLOAD 1100
#define TC_PEER_AUDIO_FRAME 960 /* 20 ms at 48 kHz */
#define TC_PEER_VIDEO_FPS 30
#define TC_PEER_MID_EXT_URI "urn:ietf:params:rtp-hdrext:sdes:mid"

/* Our marker inside every video payload, after the VP8 descriptor/header:
 * magic(4) | send time CLOCK_REALTIME us(8) | seq(4) | frame(4) | flags(1) */
#define TC_PEER_VIDEO_MAGIC 0x54435056u /* "TCPV" */
#define TC_PEER_VIDEO_MARK_LEN 21
#define TC_PEER_FLAG_KEYFRAME 0x01

/* Latency histogram: 1 us buckets below 2 ms, then 100 us buckets to 202 ms. */
#define TC_LAT_FINE 2000
#define TC_LAT_COARSE 2000
#define TC_LAT_COARSE_US 100
#define TC_LAT_BUCKETS (TC_LAT_FINE + TC_LAT_COARSE + 1)

typedef struct {
    uint8_t pt;
    uint32_t ssrc;
    uint16_t seq;
    uint32_t ts;
    char mid[16];
} tc_tx_stream;

typedef struct {
    tc_tx_stream audio, video;
    uint32_t rtx_ssrc;
    uint16_t rtx_seq;
    unsigned rtx_probe_every;        /* TC_PEER_RTX_PROBE_EVERY: frames; 0 = no RTX probes */
    const struct tc_tone_loop *tone; /* shared, encoded once per frequency */
    int tone_next;                   /* the loop's next frame */
    int64_t audio_next_us, video_next_us, rtcp_next_us, pli_next_us;
    uint32_t video_seq; /* ours, inside the payload */
    uint32_t frame_no;
    bool keyframe_pending;
    size_t frame_bytes;
    uint8_t mid_ext_id; /* 0: no mid header extension */
    uint64_t audio_sent, video_sent, video_frames, video_bytes, keyframes;
    uint64_t audio_bytes, plis_sent;
    uint8_t fir_seq;
} tc_tx;

typedef struct {
    OpusDecoder *dec;
    tc_tone_meter meter;
    uint8_t audio_pt, video_pt, rtx_pt;
    uint32_t remote_video_ssrc; /* PLI target */
    uint64_t audio_received, audio_lost, audio_frames;
    bool audio_seq_valid;
    uint16_t audio_last_seq;
    uint32_t audio_last_ssrc;
    uint64_t video_received, rtx_received, rtcp_received, srtp_errors;
    bool video_delta_valid;
    uint16_t video_delta;    /* RTP seq minus our marker's seq, of the last video packet */
    uint32_t video_ts_delta; /* its RTP timestamp minus our frame number's */
    uint64_t rtx_osn_checked, rtx_osn_wrong, rtx_ts_wrong;
    int64_t first_video_us; /* tc_peer_mono_us of the first video packet; 0: none yet */
    bool video_seq_valid;
    uint32_t video_first_seq, video_max_seq;
    uint64_t keyframes, plis, firs;
    uint64_t hold_audio_packets, hold_voiced;
    bool analyzing;
    uint64_t lat_n;
    int64_t lat_max;
    uint32_t lat[TC_LAT_BUCKETS];
} tc_rx;

struct tc_msession {
    GMainContext *ctx;
    tc_msession_config cfg;
    tc_msession_events ev;
    void *user;
    char name[48];

    NiceAgent *agent;
    guint stream;
    bool offerer;
    bool ice_connected, failed;
    GPtrArray *held_candidates; /* local, until released */
    GPtrArray *early_remote;    /* remote, until the answer is applied */
    bool released, gathering_done, end_sent;
    char ice_pair[160];

    tc_dtls_ctx *dtls_ctx;
    tc_dtls *dtls;
    bool dtls_server, dtls_started;
    unsigned dtls_heard; /* DTLS records received, for one log line */
    uint8_t remote_fp[32];
    bool have_remote;
    GSource *dtls_timer;
    tc_srtp *srtp;
    tc_srtp_profile profile;
    bool connected;
    int64_t offer_us, connected_us;

    GSource *tick;
    /* Media sent during a tick leaves in one sendmmsg on the selected pair's
     * socket, as the relay does (leg.c); elsewhere through libnice. */
    tc_ice_socket direct; /* fd -1: none */
    tc_udp_batch *batch;
    bool in_tick;
    tc_cutbox *cutbox;    /* cuttable sessions only */
    bool restarting;      /* an ICE restart offer awaits its answer */
    bool reoffering;      /* a re-offer (same ICE credentials) awaits its answer */
    int reoffer_same_ice; /* -1: no answer to a re-offer yet */
    char remote_ufrag[TC_SDP_ICE_LEN + 1], remote_pwd[TC_SDP_ICE_LEN + 1];
    tc_tx tx;
    tc_rx rx;
    uint8_t pkt[TC_PEER_PKT_CAP];
    tc_faults *faults; /* fault scenarios only (faults.h) */
};

/* sdp_offer.c */
int tc_peer_write_offer(const tc_msession *s, const char *ufrag, const char *pwd, char *buf,
                        size_t cap);

/* media_send.c */
int tc_msession_send_init(tc_msession *s);
void tc_msession_send_start(tc_msession *s);
void tc_msession_send_cleanup(tc_msession *s);
void tc_msession_request_keyframe(tc_msession *s);
/* Protects pkt[0..len) (cap TC_PEER_PKT_CAP) and sends it on the ICE component. */
void tc_msession_send_rtp(tc_msession *s, uint8_t *pkt, size_t len);
void tc_msession_send_rtcp(tc_msession *s, uint8_t *pkt, size_t len);
/* A pair was selected (selected true), or is about to be given up (an ICE
 * restart): take or forget its socket for the direct path. */
void tc_msession_use_pair(tc_msession *s, bool selected);

/* media_recv.c */
int tc_msession_recv_init(tc_msession *s);
void tc_msession_recv_cleanup(tc_msession *s);
void tc_msession_on_srtp(tc_msession *s, uint8_t *pkt, size_t len, bool rtcp);
void tc_msession_recv_stats(const tc_msession *s, tc_peer_media_stats *out);

int64_t tc_peer_mono_us(void);
int64_t tc_peer_real_us(void);
