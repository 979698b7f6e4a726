/* rtcp: compound walker, body parsers and feedback rewrite; see rtcp.h.
 * The writers are in rtcp_write.c. */
#include "telecounter/rtcp.h"

#include <errno.h>
#include <string.h>

#include "media/bytes.h"

#define REPORT_BLOCK_LEN 24
#define FB_HEADER_LEN 8 /* sender SSRC + media SSRC */

void tc_rtcp_iter_init(tc_rtcp_iter *it, const uint8_t *p, size_t len)
{
    it->p = p;
    it->len = len;
    it->off = 0;
}

int tc_rtcp_iter_next(tc_rtcp_iter *it, tc_rtcp_packet *out)
{
    size_t left = it->len - it->off;
    if (left == 0)
        return it->off == 0 ? -EINVAL : 0;
    if (left < 4)
        return -EINVAL;
    const uint8_t *h = it->p + it->off;
    if (h[0] >> 6 != 2)
        return -EINVAL;
    size_t plen = ((size_t)tc_rd16(h + 2) + 1) * 4;
    if (plen > left)
        return -EINVAL;
    size_t pad = 0;
    if (h[0] & 0x20) {
        /* the count includes its own byte, so 0 is malformed */
        pad = h[plen - 1];
        if (pad == 0 || pad > plen - 4)
            return -EINVAL;
    }
    out->pt = h[1];
    out->count = h[0] & 0x1F;
    out->padding = pad != 0;
    out->data = h;
    out->len = plen;
    out->body_len = plen - 4 - pad;
    it->off += plen;
    return 1;
}

int tc_rtcp_validate(const uint8_t *p, size_t len)
{
    tc_rtcp_iter it;
    tc_rtcp_packet pkt;
    int rc;
    tc_rtcp_iter_init(&it, p, len);
    while ((rc = tc_rtcp_iter_next(&it, &pkt)) > 0)
        ;
    return rc;
}

static void parse_report(const uint8_t *b, tc_rtcp_report_block *r)
{
    r->ssrc = tc_rd32(b);
    r->fraction_lost = b[4];
    uint32_t lost = tc_rd24(b + 5);
    /* sign-extend the 24-bit two's complement field */
    r->cumulative_lost = (lost & 0x800000) ? (int32_t)lost - 0x1000000 : (int32_t)lost;
    r->ext_highest_seq = tc_rd32(b + 8);
    r->jitter = tc_rd32(b + 12);
    r->lsr = tc_rd32(b + 16);
    r->dlsr = tc_rd32(b + 20);
}

int tc_rtcp_parse_sr(const tc_rtcp_packet *pkt, tc_rtcp_sr *out)
{
    if (pkt->pt != TC_RTCP_SR)
        return -EINVAL;
    if (pkt->body_len < 24 + (size_t)pkt->count * REPORT_BLOCK_LEN)
        return -EINVAL;
    const uint8_t *b = pkt->data + 4;
    memset(out, 0, sizeof *out);
    out->ssrc = tc_rd32(b);
    out->ntp = (uint64_t)tc_rd32(b + 4) << 32 | tc_rd32(b + 8);
    out->rtp_ts = tc_rd32(b + 12);
    out->packet_count = tc_rd32(b + 16);
    out->octet_count = tc_rd32(b + 20);
    out->report_count = pkt->count;
    for (unsigned i = 0; i < pkt->count; i++)
        parse_report(b + 24 + i * REPORT_BLOCK_LEN, &out->reports[i]);
    return 0;
}

int tc_rtcp_parse_rr(const tc_rtcp_packet *pkt, tc_rtcp_rr *out)
{
    if (pkt->pt != TC_RTCP_RR)
        return -EINVAL;
    if (pkt->body_len < 4 + (size_t)pkt->count * REPORT_BLOCK_LEN)
        return -EINVAL;
    const uint8_t *b = pkt->data + 4;
    memset(out, 0, sizeof *out);
    out->ssrc = tc_rd32(b);
    out->report_count = pkt->count;
    for (unsigned i = 0; i < pkt->count; i++)
        parse_report(b + 4 + i * REPORT_BLOCK_LEN, &out->reports[i]);
    return 0;
}

int tc_rtcp_parse_bye(const tc_rtcp_packet *pkt, tc_rtcp_bye *out)
{
    if (pkt->pt != TC_RTCP_BYE)
        return -EINVAL;
    size_t ids = (size_t)pkt->count * 4;
    if (pkt->body_len < ids)
        return -EINVAL;
    const uint8_t *b = pkt->data + 4;
    memset(out, 0, sizeof *out);
    out->count = pkt->count;
    for (unsigned i = 0; i < pkt->count; i++)
        out->ssrcs[i] = tc_rd32(b + i * 4);
    size_t left = pkt->body_len - ids;
    if (left == 0)
        return 0;
    size_t rlen = b[ids];
    if (rlen > left - 1)
        return -EINVAL;
    out->reason_len = (uint8_t)rlen;
    memcpy(out->reason, b + ids + 1, rlen);
    out->reason[rlen] = '\0';
    return 0;
}

static int parse_nack(const uint8_t *fci, size_t n, tc_rtcp_fb *out)
{
    if (n % 4 != 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i += 4) {
        uint16_t pid = tc_rd16(fci + i);
        uint16_t blp = tc_rd16(fci + i + 2);
        if (out->nack_count == TC_RTCP_MAX_NACK_SEQS)
            return -E2BIG;
        out->nack_seqs[out->nack_count++] = pid;
        for (unsigned bit = 0; bit < 16; bit++) {
            if (!(blp & (1u << bit)))
                continue;
            if (out->nack_count == TC_RTCP_MAX_NACK_SEQS)
                return -E2BIG;
            out->nack_seqs[out->nack_count++] = (uint16_t)(pid + bit + 1);
        }
    }
    return 0;
}

static int parse_fir(const uint8_t *fci, size_t n, tc_rtcp_fb *out)
{
    if (n % 8 != 0)
        return -EINVAL;
    if (n / 8 > TC_RTCP_MAX_FIR)
        return -E2BIG;
    for (size_t i = 0; i < n / 8; i++) {
        out->fir[i].ssrc = tc_rd32(fci + i * 8);
        out->fir[i].seq_nr = fci[i * 8 + 4];
    }
    out->fir_count = (uint8_t)(n / 8);
    return 0;
}

static bool is_remb(const uint8_t *fci, size_t n)
{
    return n >= 8 && memcmp(fci, "REMB", 4) == 0;
}

static int parse_remb(const uint8_t *fci, size_t n, tc_rtcp_fb *out)
{
    if (!is_remb(fci, n))
        return -ENOTSUP; /* another application-layer feedback */
    size_t count = fci[4];
    if (n < 8 + count * 4)
        return -EINVAL;
    if (count > TC_RTCP_MAX_REMB_SSRCS)
        return -E2BIG;
    unsigned exp = fci[5] >> 2;
    uint64_t mantissa = (uint64_t)(fci[5] & 0x03) << 16 | tc_rd16(fci + 6);
    /* 18-bit mantissa shifted by up to 63 overflows 64 bits: saturate */
    if (exp > 0 && mantissa > (UINT64_MAX >> exp))
        out->remb_bitrate_bps = UINT64_MAX;
    else
        out->remb_bitrate_bps = mantissa << exp;
    for (size_t i = 0; i < count; i++)
        out->remb_ssrcs[i] = tc_rd32(fci + 8 + i * 4);
    out->remb_ssrc_count = (uint8_t)count;
    return 0;
}

int tc_rtcp_parse_fb(const tc_rtcp_packet *pkt, tc_rtcp_fb *out)
{
    if (pkt->pt != TC_RTCP_RTPFB && pkt->pt != TC_RTCP_PSFB)
        return -EINVAL;
    if (pkt->body_len < FB_HEADER_LEN)
        return -EINVAL;
    const uint8_t *b = pkt->data + 4;
    const uint8_t *fci = b + FB_HEADER_LEN;
    size_t n = pkt->body_len - FB_HEADER_LEN;
    memset(out, 0, sizeof *out);
    out->sender_ssrc = tc_rd32(b);
    out->media_ssrc = tc_rd32(b + 4);
    unsigned key = (unsigned)pkt->pt << 8 | pkt->count;
    switch (key) {
    case TC_RTCP_RTPFB << 8 | 1:
        out->kind = TC_RTCP_FB_NACK;
        return parse_nack(fci, n, out);
    case TC_RTCP_RTPFB << 8 | 15:
        out->kind = TC_RTCP_FB_TWCC;
        return 0;
    case TC_RTCP_PSFB << 8 | 1:
        out->kind = TC_RTCP_FB_PLI;
        return 0;
    case TC_RTCP_PSFB << 8 | 4:
        out->kind = TC_RTCP_FB_FIR;
        return parse_fir(fci, n, out);
    case TC_RTCP_PSFB << 8 | 15:
        out->kind = TC_RTCP_FB_REMB;
        return parse_remb(fci, n, out);
    default:
        return -ENOTSUP;
    }
}

static void map_ssrc(uint8_t *at, const tc_rtcp_ssrc_pair *map, size_t n_map)
{
    uint32_t v = tc_rd32(at);
    for (size_t i = 0; i < n_map; i++) {
        if (map[i].from == v) {
            tc_wr32(at, map[i].to);
            return;
        }
    }
}

/* The SSRCs inside the FCI that name a media source: FIR entries and the
 * REMB list; NACK, PLI and TWCC name it only in the media SSRC field. */
static void map_fci(uint8_t *pkt, const tc_rtcp_packet *info, const tc_rtcp_ssrc_pair *map,
                    size_t n_map)
{
    uint8_t *fci = pkt + 4 + FB_HEADER_LEN;
    size_t n = info->body_len - FB_HEADER_LEN;
    if (info->pt == TC_RTCP_PSFB && info->count == 4) {
        for (size_t i = 0; i + 8 <= n; i += 8)
            map_ssrc(fci + i, map, n_map);
    } else if (info->pt == TC_RTCP_PSFB && info->count == 15 && is_remb(fci, n)) {
        size_t count = fci[4];
        for (size_t i = 0; i < count && 8 + i * 4 + 4 <= n; i++)
            map_ssrc(fci + 8 + i * 4, map, n_map);
    }
}

int tc_rtcp_rewrite_feedback(uint8_t *p, size_t len, uint32_t sender_ssrc,
                             const tc_rtcp_ssrc_pair *map, size_t n_map)
{
    int rc = tc_rtcp_validate(p, len);
    if (rc < 0)
        return rc;
    tc_rtcp_iter it;
    tc_rtcp_packet pkt;
    int rewritten = 0;
    tc_rtcp_iter_init(&it, p, len);
    while (tc_rtcp_iter_next(&it, &pkt) > 0) {
        if (pkt.pt != TC_RTCP_RTPFB && pkt.pt != TC_RTCP_PSFB)
            continue;
        if (pkt.body_len < FB_HEADER_LEN)
            continue;
        uint8_t *w = p + (pkt.data - p);
        tc_wr32(w + 4, sender_ssrc);
        map_ssrc(w + 8, map, n_map);
        map_fci(w, &pkt, map, n_map);
        rewritten++;
    }
    return rewritten;
}
