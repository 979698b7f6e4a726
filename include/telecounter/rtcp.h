/*
 * rtcp: walk a compound RTCP packet (RFC 3550), parse the packets the relay
 * acts on (SR, RR, BYE, and the feedback of RFC 4585/5104 plus REMB), write
 * the feedback and reports the relay originates, and rewrite the SSRCs of
 * feedback in place when it is forwarded to the other leg. Any thread: pure.
 * The caller owns every buffer; a tc_rtcp_packet points into the buffer that
 * was walked and is valid as long as that buffer is.
 *
 * Common header of every packet in a compound:
 *
 *   offset | size | field
 *   -------+------+-----------------------------------------------------
 *   0      | 1    | V(2 bits)=2 | P(1) | count or FMT(5)
 *   1      | 1    | packet type: 200 SR, 201 RR, 202 SDES, 203 BYE,
 *          |      | 204 APP, 205 RTPFB, 206 PSFB, 207 XR
 *   2      | 2    | length in 32-bit words, minus one
 *   4      | ...  | body; if P, its last byte counts the padding bytes
 *
 * SR body: sender SSRC(4) | NTP timestamp(8) | RTP timestamp(4) |
 *          packet count(4) | octet count(4) | count x report block
 * RR body: sender SSRC(4) | count x report block
 * Report block (24 bytes): SSRC(4) | fraction lost(1) | cumulative lost
 *          (3, signed) | extended highest seq(4) | jitter(4) | LSR(4) | DLSR(4)
 * BYE body: count x SSRC(4) | optional reason: length(1) | text
 *
 * Feedback (205 RTPFB, 206 PSFB): sender SSRC(4) | media SSRC(4) | FCI
 *
 *   type  | FMT | name          | FCI
 *   ------+-----+---------------+--------------------------------------------
 *   RTPFB | 1   | generic NACK  | n x (PID(2) | BLP(2)): PID lost, and
 *         |     |               | PID+i+1 lost for each bit i set in BLP
 *   RTPFB | 15  | transport-cc  | opaque here (the relay does not use it)
 *   PSFB  | 1   | PLI           | none
 *   PSFB  | 4   | FIR           | n x (SSRC(4) | seq nr(1) | reserved(3));
 *         |     |               | the media SSRC field is 0
 *   PSFB  | 15  | REMB          | "REMB" | N(1) | exp(6 bits) mantissa(18) |
 *         |     |               | N x SSRC(4); bitrate = mantissa << exp;
 *         |     |               | the media SSRC field is 0
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    TC_RTCP_SR = 200,
    TC_RTCP_RR = 201,
    TC_RTCP_SDES = 202,
    TC_RTCP_BYE = 203,
    TC_RTCP_APP = 204,
    TC_RTCP_RTPFB = 205,
    TC_RTCP_PSFB = 206,
    TC_RTCP_XR = 207,
};

#define TC_RTCP_MAX_REPORTS 31 /* the 5-bit count field */
#define TC_RTCP_MAX_NACK_SEQS 256
#define TC_RTCP_MAX_FIR 16
#define TC_RTCP_MAX_REMB_SSRCS 16

/* One packet of a compound, as the walker found it. */
typedef struct {
    uint8_t pt;
    uint8_t count; /* report count, source count or FMT */
    bool padding;
    const uint8_t *data; /* the packet, header included */
    size_t len;          /* header + body + padding, as the length field says */
    size_t body_len;     /* after the 4-byte header, without padding */
} tc_rtcp_packet;

typedef struct {
    const uint8_t *p;
    size_t len;
    size_t off;
} tc_rtcp_iter;

typedef struct {
    uint32_t ssrc;
    uint8_t fraction_lost;
    int32_t cumulative_lost; /* 24-bit signed on the wire */
    uint32_t ext_highest_seq;
    uint32_t jitter;
    uint32_t lsr;
    uint32_t dlsr;
} tc_rtcp_report_block;

typedef struct {
    uint32_t ssrc;
    uint64_t ntp;
    uint32_t rtp_ts;
    uint32_t packet_count;
    uint32_t octet_count;
    uint8_t report_count;
    tc_rtcp_report_block reports[TC_RTCP_MAX_REPORTS];
} tc_rtcp_sr;

typedef struct {
    uint32_t ssrc;
    uint8_t report_count;
    tc_rtcp_report_block reports[TC_RTCP_MAX_REPORTS];
} tc_rtcp_rr;

typedef struct {
    uint8_t count;
    uint32_t ssrcs[TC_RTCP_MAX_REPORTS];
    uint8_t reason_len;
    char reason[256]; /* NUL-terminated copy, may contain anything else */
} tc_rtcp_bye;

typedef enum {
    TC_RTCP_FB_NACK = 1,
    TC_RTCP_FB_TWCC,
    TC_RTCP_FB_PLI,
    TC_RTCP_FB_FIR,
    TC_RTCP_FB_REMB,
} tc_rtcp_fb_kind;

typedef struct {
    uint32_t ssrc;
    uint8_t seq_nr;
} tc_rtcp_fir_entry;

typedef struct {
    tc_rtcp_fb_kind kind;
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
    /* NACK: lost sequence numbers in wire order, duplicates kept */
    uint16_t nack_count;
    uint16_t nack_seqs[TC_RTCP_MAX_NACK_SEQS];
    /* FIR */
    uint8_t fir_count;
    tc_rtcp_fir_entry fir[TC_RTCP_MAX_FIR];
    /* REMB: bitrate saturates at UINT64_MAX */
    uint64_t remb_bitrate_bps;
    uint8_t remb_ssrc_count;
    uint32_t remb_ssrcs[TC_RTCP_MAX_REMB_SSRCS];
} tc_rtcp_fb;

/* Walks a compound packet. next returns 1 and fills *out for each packet, 0
 * at the clean end, or -EINVAL when a header is malformed (version not 2,
 * fewer than 4 bytes left, length past the buffer, padding count 0 or past
 * the body); the walk stops there. An empty buffer is -EINVAL at the first
 * call: a compound holds at least one packet. */
void tc_rtcp_iter_init(tc_rtcp_iter *it, const uint8_t *p, size_t len);
int tc_rtcp_iter_next(tc_rtcp_iter *it, tc_rtcp_packet *out);

/* Walks the whole compound once to check every header. 0 or -EINVAL. */
int tc_rtcp_validate(const uint8_t *p, size_t len);

/* Body parsers. Each returns 0, -EINVAL if pkt is of another type or its body
 * is shorter than its count says, or as noted. */
int tc_rtcp_parse_sr(const tc_rtcp_packet *pkt, tc_rtcp_sr *out);
int tc_rtcp_parse_rr(const tc_rtcp_packet *pkt, tc_rtcp_rr *out);
int tc_rtcp_parse_bye(const tc_rtcp_packet *pkt, tc_rtcp_bye *out);
/* RTPFB or PSFB. -ENOTSUP for a FMT (or PSFB 15 application) not listed
 * above; -E2BIG past TC_RTCP_MAX_NACK_SEQS, _MAX_FIR or _MAX_REMB_SSRCS. */
int tc_rtcp_parse_fb(const tc_rtcp_packet *pkt, tc_rtcp_fb *out);

/* Writers: build one packet at buf. Each returns its length in bytes, or
 * -ENOSPC if cap is too small, or -E2BIG / -EINVAL for counts out of range
 * (nothing useful is left in buf on error). */
int tc_rtcp_write_pli(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc);
int tc_rtcp_write_fir(uint8_t *buf, size_t cap, uint32_t sender_ssrc,
                      const tc_rtcp_fir_entry *entries, size_t n);
/* seqs are packed into as few PID/BLP pairs as their order allows: a seq
 * within 16 after the current PID joins it, any other starts a new pair.
 * Sorted input gives the smallest packet. n is 1..TC_RTCP_MAX_NACK_SEQS. */
int tc_rtcp_write_nack(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint32_t media_ssrc,
                       const uint16_t *seqs, size_t n);
int tc_rtcp_write_remb(uint8_t *buf, size_t cap, uint32_t sender_ssrc, uint64_t bitrate_bps,
                       const uint32_t *ssrcs, size_t n);
int tc_rtcp_write_rr(uint8_t *buf, size_t cap, const tc_rtcp_rr *rr);
int tc_rtcp_write_sr(uint8_t *buf, size_t cap, const tc_rtcp_sr *sr);

typedef struct {
    uint32_t from;
    uint32_t to;
} tc_rtcp_ssrc_pair;

/* For every RTPFB and PSFB packet of the compound at p: sets the sender SSRC
 * to sender_ssrc, and maps the media SSRC (and the SSRCs inside FIR entries
 * and a REMB list) through map, leaving SSRCs not in map as they are. Other
 * packets are untouched. Checks the whole compound before changing anything:
 * returns -EINVAL (nothing changed) if it is malformed, else the number of
 * feedback packets rewritten. */
int tc_rtcp_rewrite_feedback(uint8_t *p, size_t len, uint32_t sender_ssrc,
                             const tc_rtcp_ssrc_pair *map, size_t n_map);
