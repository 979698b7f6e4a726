/* rtcp_write: the RTCP packets the relay originates; see rtcp.h. Each writer
 * checks the whole length against cap before it writes a byte. */
#include "telecounter/rtcp.h"

#include <errno.h>
#include <string.h>

#include "media/bytes.h"

#define REPORT_BLOCK_LEN 24

static void write_header(uint8_t *buf, uint8_t count, uint8_t pt, size_t len)
{
    buf[0] = (uint8_t)(0x80 | (count & 0x1F));
    buf[1] = pt;
    tc_wr16(buf + 2, (uint16_t)(len / 4 - 1));
}

static void write_fb_header(uint8_t *buf, uint8_t fmt, uint8_t pt, size_t len, uint32_t sender,
                            uint32_t media)
{
    write_header(buf, fmt, pt, len);
    tc_wr32(buf + 4, sender);
    tc_wr32(buf + 8, media);
}

int tc_rtcp_write_pli(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc)
{
    if (cap < 12)
        return -ENOSPC;
    write_fb_header(buf, 1, TC_RTCP_PSFB, 12, sender_ssrc, media_ssrc);
    return 12;
}

int tc_rtcp_write_fir(uint8_t *buf, size_t cap, uint32_t sender_ssrc,
                      const tc_rtcp_fir_entry *entries, size_t n)
{
    if (n == 0)
        return -EINVAL;
    if (n > TC_RTCP_MAX_FIR)
        return -E2BIG;
    size_t len = 12 + 8 * n;
    if (cap < len)
        return -ENOSPC;
    /* RFC 5104 4.3.1: the media SSRC field is unused and set to 0 */
    write_fb_header(buf, 4, TC_RTCP_PSFB, len, sender_ssrc, 0);
    for (size_t i = 0; i < n; i++) {
        uint8_t *e = buf + 12 + 8 * i;
        tc_wr32(e, entries[i].ssrc);
        e[4] = entries[i].seq_nr;
        e[5] = e[6] = e[7] = 0;
    }
    return (int)len;
}

/* Counts the PID/BLP pairs write_nack will emit for this order of seqs. */
static size_t nack_pairs(const uint16_t *seqs, size_t n)
{
    size_t pairs = 0;
    uint16_t pid = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t d = (uint16_t)(seqs[i] - pid);
        if (pairs > 0 && d <= 16)
            continue;
        pid = seqs[i];
        pairs++;
    }
    return pairs;
}

int tc_rtcp_write_nack(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                       const uint16_t *seqs, size_t n)
{
    if (n == 0)
        return -EINVAL;
    if (n > TC_RTCP_MAX_NACK_SEQS)
        return -E2BIG;
    size_t len = 12 + 4 * nack_pairs(seqs, n);
    if (cap < len)
        return -ENOSPC;
    write_fb_header(buf, 1, TC_RTCP_RTPFB, len, sender_ssrc, media_ssrc);
    uint8_t *fci = buf + 12 - 4; /* advanced to the first pair below */
    uint16_t pid = 0, blp = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t d = (uint16_t)(seqs[i] - pid);
        if (fci != buf + 8 && d <= 16) {
            if (d > 0)
                blp |= (uint16_t)(1u << (d - 1));
            tc_wr16(fci + 2, blp);
            continue;
        }
        fci += 4;
        pid = seqs[i];
        blp = 0;
        tc_wr16(fci, pid);
        tc_wr16(fci + 2, 0);
    }
    return (int)len;
}

int tc_rtcp_write_remb(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint64_t bitrate_bps,
                       const uint32_t *ssrcs, size_t n)
{
    if (n > TC_RTCP_MAX_REMB_SSRCS)
        return -E2BIG;
    size_t len = 20 + 4 * n;
    if (cap < len)
        return -ENOSPC;
    unsigned exp = 0;
    while (bitrate_bps > 0x3FFFF) {
        bitrate_bps >>= 1;
        exp++;
    }
    write_fb_header(buf, 15, TC_RTCP_PSFB, len, sender_ssrc, 0);
    memcpy(buf + 12, "REMB", 4);
    buf[16] = (uint8_t)n;
    buf[17] = (uint8_t)(exp << 2 | (bitrate_bps >> 16));
    tc_wr16(buf + 18, (uint16_t)bitrate_bps);
    for (size_t i = 0; i < n; i++)
        tc_wr32(buf + 20 + 4 * i, ssrcs[i]);
    return (int)len;
}

static void write_report(uint8_t *b, const tc_rtcp_report_block *r)
{
    int32_t lost = r->cumulative_lost;
    if (lost > 0x7FFFFF)
        lost = 0x7FFFFF;
    if (lost < -0x800000)
        lost = -0x800000;
    tc_wr32(b, r->ssrc);
    b[4] = r->fraction_lost;
    tc_wr24(b + 5, (uint32_t)lost & 0xFFFFFF);
    tc_wr32(b + 8, r->ext_highest_seq);
    tc_wr32(b + 12, r->jitter);
    tc_wr32(b + 16, r->lsr);
    tc_wr32(b + 20, r->dlsr);
}

int tc_rtcp_write_rr(uint8_t *buf, size_t cap, const tc_rtcp_rr *rr)
{
    if (rr->report_count > TC_RTCP_MAX_REPORTS)
        return -E2BIG;
    size_t len = 8 + REPORT_BLOCK_LEN * (size_t)rr->report_count;
    if (cap < len)
        return -ENOSPC;
    write_header(buf, rr->report_count, TC_RTCP_RR, len);
    tc_wr32(buf + 4, rr->ssrc);
    for (unsigned i = 0; i < rr->report_count; i++)
        write_report(buf + 8 + i * REPORT_BLOCK_LEN, &rr->reports[i]);
    return (int)len;
}

int tc_rtcp_write_sr(uint8_t *buf, size_t cap, const tc_rtcp_sr *sr)
{
    if (sr->report_count > TC_RTCP_MAX_REPORTS)
        return -E2BIG;
    size_t len = 28 + REPORT_BLOCK_LEN * (size_t)sr->report_count;
    if (cap < len)
        return -ENOSPC;
    write_header(buf, sr->report_count, TC_RTCP_SR, len);
    tc_wr32(buf + 4, sr->ssrc);
    tc_wr32(buf + 8, (uint32_t)(sr->ntp >> 32));
    tc_wr32(buf + 12, (uint32_t)sr->ntp);
    tc_wr32(buf + 16, sr->rtp_ts);
    tc_wr32(buf + 20, sr->packet_count);
    tc_wr32(buf + 24, sr->octet_count);
    for (unsigned i = 0; i < sr->report_count; i++)
        write_report(buf + 28 + i * REPORT_BLOCK_LEN, &sr->reports[i]);
    return (int)len;
}
