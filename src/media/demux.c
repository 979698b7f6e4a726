/* demux: RFC 7983 first-byte classification; see demux.h. */
#include "telecounter/demux.h"

tc_demux_kind tc_demux_classify(const uint8_t *p, size_t len)
{
    if (len == 0)
        return TC_DEMUX_DROP;
    uint8_t b = p[0];
    if (b <= 3)
        return TC_DEMUX_STUN;
    if (b >= 20 && b <= 63)
        return TC_DEMUX_DTLS;
    if (b < 128 || b > 191 || len < 2)
        return TC_DEMUX_DROP;
    /* RFC 5761 section 4: RTCP packet types 192..223 (SR 200, RR 201, SDES,
     * BYE, APP, RTPFB 205, PSFB 206, XR 207) collide with RTP payload types
     * 64..95 when the marker bit is set, which is why those RTP payload
     * types must not be used on a muxed stream. */
    if (p[1] >= 192 && p[1] <= 223)
        return TC_DEMUX_RTCP;
    return TC_DEMUX_RTP;
}

const char *tc_demux_name(tc_demux_kind kind)
{
    switch (kind) {
    case TC_DEMUX_STUN:
        return "stun";
    case TC_DEMUX_DTLS:
        return "dtls";
    case TC_DEMUX_RTP:
        return "rtp";
    case TC_DEMUX_RTCP:
        return "rtcp";
    case TC_DEMUX_DROP:
        break;
    }
    return "drop";
}
