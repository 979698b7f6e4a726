/*
 * rtp: parse an RTP header (RFC 3550) with its RFC 8285 header extensions, and
 * rewrite a few header fields in place as the relay forwards a packet from one
 * leg to the other (SSRC, payload type, sequence number, timestamp, extension
 * ids). Any thread: pure functions. The caller owns every buffer; a parsed
 * tc_rtp_header holds offsets into the packet it was parsed from, never
 * pointers, and no allocation happens here.
 *
 * Fixed header (network byte order):
 *
 *   offset | size | field
 *   -------+------+---------------------------------------------------
 *   0      | 1    | V(2 bits)=2 | P(1) | X(1) | CC(4)
 *   1      | 1    | M(1) | PT(7)
 *   2      | 2    | sequence number
 *   4      | 4    | timestamp
 *   8      | 4    | SSRC
 *   12     | 4*CC | CSRC list
 *   ...    | 4    | if X: profile(2) | length in 32-bit words(2)
 *   ...    | 4*n  | if X: extension data
 *   ...    |      | payload
 *   len-1  | 1    | if P: number of padding bytes, this one included
 *
 * RFC 8285 extension elements inside the extension data:
 *
 *   form     | profile        | element
 *   ---------+----------------+----------------------------------------
 *   one-byte | 0xBEDE         | ID(4) | L(4) | L+1 data bytes; ID 1..14;
 *            |                | a zero byte is padding; ID 15 ends parsing
 *   two-byte | 0x1000..0x100F | ID(8) | length(8) | length data bytes;
 *            |                | ID 0 is a single padding byte
 *
 * Other extension profiles are skipped as opaque (no elements listed).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TC_RTP_HEADER_LEN 12
#define TC_RTP_MAX_CSRC 15
#define TC_RTP_MAX_EXT 16

#define TC_RTP_EXT_ONE_BYTE 0xBEDE
#define TC_RTP_EXT_TWO_BYTE 0x1000

/* One extension element: its id and where its data sits in the packet. */
typedef struct {
    uint8_t id;
    uint16_t offset; /* of the first data byte, from the start of the packet */
    uint16_t len;    /* data bytes, 0 allowed in the two-byte form */
} tc_rtp_ext;

typedef struct {
    uint8_t version;
    bool padding;
    bool extension;
    uint8_t csrc_count;
    bool marker;
    uint8_t pt;
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    uint32_t csrc[TC_RTP_MAX_CSRC];

    uint16_t ext_profile;   /* 0 unless extension */
    size_t ext_data_offset; /* of the extension data, after its 4-byte header */
    size_t ext_data_len;    /* bytes of extension data */
    uint8_t ext_count;      /* RFC 8285 elements found */
    tc_rtp_ext ext[TC_RTP_MAX_EXT];

    size_t header_len;   /* fixed + CSRCs + extension = payload offset */
    size_t payload_len;  /* without padding */
    uint8_t padding_len; /* 0 unless padding */
} tc_rtp_header;

/* Parses an RTP packet. Returns 0 and fills *out, or -EINVAL (not version 2,
 * shorter than its header, extension or padding claims more than there is, an
 * extension element runs past the extension data, padding count 0, longer
 * than 65535 bytes), or
 * -E2BIG (more than TC_RTP_MAX_EXT extension elements). On error *out is
 * unspecified. */
int tc_rtp_parse(const uint8_t *p, size_t len, tc_rtp_header *out);

/* The element with this id, or NULL. */
const tc_rtp_ext *tc_rtp_ext_find(const tc_rtp_header *h, uint8_t id);

/* In-place rewrites of the fixed header. Each returns 0, or -EINVAL if len is
 * shorter than the fixed header. set_pt keeps the marker bit; pt must be < 128
 * (asserted: payload types come from our own negotiation). */
int tc_rtp_set_ssrc(uint8_t *p, size_t len, uint32_t ssrc);
int tc_rtp_set_pt(uint8_t *p, size_t len, uint8_t pt);
int tc_rtp_set_seq(uint8_t *p, size_t len, uint16_t seq);
int tc_rtp_set_ts(uint8_t *p, size_t len, uint32_t ts);

/* RFC 4588 retransmission: the payload of an RTX packet starts with the
 * original sequence number (OSN, 2 bytes, network order) of the packet it
 * repeats, followed by that packet's payload. A padding-only RTX packet (a
 * sender probing bandwidth) has no payload and so no OSN. h must come from
 * tc_rtp_parse of this same packet (p, len). Both return 0, -ENODATA when the
 * payload is empty (padding only), -EINVAL when it is 1 byte or h does not fit
 * the packet. */
int tc_rtp_rtx_osn(const uint8_t *p, size_t len, const tc_rtp_header *h, uint16_t *osn);
int tc_rtp_set_rtx_osn(uint8_t *p, size_t len, const tc_rtp_header *h, uint16_t osn);

/* Rewrites extension ids in place through map: an element with id i gets id
 * map[i]; map[i] == 0 blanks it into padding (an extension the receiving leg
 * did not negotiate; issue 11: Chrome's abs-send-time reached an aiortc leg
 * under the id that leg uses for audio-level). h must come from tc_rtp_parse of
 * this same packet (p, len). All-or-nothing: returns -ERANGE and changes
 * nothing if a mapped id does not fit the packet's form (one-byte: 1..14,
 * two-byte: 1..255), -EINVAL if h does not fit the packet, else the number
 * of elements rewritten. */
int tc_rtp_rewrite_ext_ids(uint8_t *p, size_t len, const tc_rtp_header *h, const uint8_t map[256]);
