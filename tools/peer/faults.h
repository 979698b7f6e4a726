/*
 * faults: the test peer misbehaving on purpose, so that integration tests can
 * check what the relay drops and counts (tests/integration/test_media_faults.py).
 * Everything here is off unless a tc_peer_config fault field asks for it; a
 * session without faults never allocates a tc_faults and every hook is one
 * NULL test.
 *
 *   bad_fingerprint       the offer's a=fingerprint lines name a certificate
 *                         that is not ours (one byte flipped)
 *   plain_rtp_before_dtls once ICE is connected and before the DTLS client
 *                         starts: that many plain (unencrypted) RTP packets,
 *                         VP8-shaped video carrying our marker with the FAULT
 *                         flag, so a receiver can tell if any got through
 *   bad_rtcp_count        from bad_rtcp_at_ms after the call's start, one burst
 *                         per kind, bad_rtcp_gap_ms apart, of SRTCP-protected
 *                         (valid SRTCP, bad RTCP inside) compounds:
 *                           version  an RR, then a packet whose version is 1
 *                           length   an RR whose length field runs past the end
 *                           padding  an RR with the padding bit and a count of 0
 *                           fb_short an RR, then a PLI whose length says 1 word
 *                                    (the sender SSRC only: no media SSRC)
 *   tone_timeline         the dominant frequency of every received 0.2 s
 *                         window of audio (0 for silence), hold audio included
 *   linger_ms             (peer.c) after session.ended, or a media failure,
 *                         keep the media session that long and count what
 *                         still arrives
 *   video_loss_every      every Nth video packet that arrives is dropped before
 *                         SRTP (as if lost on the way) and NACKed at once; a
 *                         packet that comes again is counted as recovered.
 *                         Every 10th NACK also asks for a packet 2,000 back,
 *                         which no retransmission buffer holds: the relay must
 *                         pass that one on to the sender
 *   (any fault, as sender) NACKed sequence numbers that reach us
 *   watch, or any of them counts of RTP/RTCP datagrams received, decryptable
 *                         or not, and when the last one came; of video
 *                         packets flagged FAULT (another peer's plain RTP)
 *
 * "The call's start" here is the first send tick with analysis on: the answer
 * for a customer, DTLS up for an agent (it analyses from its accept).
 *
 * Thread: the session's GMainContext. Loopback only, like the session.
 */
#pragma once

#include "peer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tc_msession tc_msession;
typedef struct tc_faults tc_faults;

#define TC_PEER_FLAG_FAULT 0x80 /* in our video marker's flags: a fault packet */

/* Any fault asked for (a session then makes its tc_faults). */
bool tc_faults_wanted(const tc_peer_faults *cfg);

tc_faults *tc_faults_create(tc_msession *s);
void tc_faults_destroy(tc_faults *f);

/* Hooks, each called only when s->faults is set. */
void tc_faults_on_offer(tc_msession *s, char *sdp);    /* our offer, before it is sent */
void tc_faults_before_dtls(tc_msession *s);            /* ICE up, DTLS about to start */
void tc_faults_on_datagram(tc_msession *s, bool rtcp); /* any RTP/RTCP datagram in */
void tc_faults_on_pcm(tc_msession *s, const int16_t *pcm, size_t n); /* decoded audio */
void tc_faults_on_video_mark(tc_msession *s, const uint8_t *mark);   /* our marker, in */
/* An SRTP datagram before it is unprotected: true when it is to be dropped. */
bool tc_faults_drop_video(tc_msession *s, const uint8_t *p, size_t len);
void tc_faults_on_video_seq(tc_msession *s, uint16_t seq); /* a video packet, unprotected */
void tc_faults_on_nack(tc_msession *s, uint16_t n_seqs);   /* a NACK to us */
void tc_faults_tick(tc_msession *s, int64_t now_us);       /* the 5 ms send tick */
void tc_faults_stats(const tc_msession *s, tc_peer_media_stats *out);

/* The "faults" object of a result line (new reference), or NULL when the
 * peer was asked for no fault. */
json_t *tc_faults_json(const tc_peer_results *r);
