/*
 * demux: which protocol a datagram on the shared ICE socket carries, by its
 * first byte (RFC 7983), and RTP versus RTCP on an rtcp-mux stream (RFC 5761).
 * The leg calls this once per received packet before handing the packet to
 * libnice, OpenSSL or libsrtp2. Any thread: pure, reads only the bytes given.
 *
 *   first byte   | protocol
 *   -------------+---------------------------------------------
 *   0 .. 3       | STUN
 *   20 .. 63     | DTLS
 *   128 .. 191   | RTP or RTCP: second byte 192 .. 223 (payload
 *                | type 64 .. 95 with the marker bit set or not)
 *                | is RTCP, anything else RTP
 *   otherwise    | drop (ZRTP, TURN channel data, garbage)
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef enum {
    TC_DEMUX_DROP = 0,
    TC_DEMUX_STUN,
    TC_DEMUX_DTLS,
    TC_DEMUX_RTP,
    TC_DEMUX_RTCP,
} tc_demux_kind;

/* Classifies a datagram. An empty buffer, or an RTP-range first byte with no
 * second byte, is TC_DEMUX_DROP. Only the class is decided here; the parser
 * of that protocol still checks the whole packet. */
tc_demux_kind tc_demux_classify(const uint8_t *p, size_t len);

/* A constant name for logs and tests ("stun", "dtls", "rtp", "rtcp", "drop"). */
const char *tc_demux_name(tc_demux_kind kind);
