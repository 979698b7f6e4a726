/* rtp: RTP header parse and in-place rewrite; see rtp.h for the layout. */
#include "telecounter/rtp.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "media/bytes.h"

static bool is_two_byte(uint16_t profile)
{
    return (profile & 0xFFF0) == TC_RTP_EXT_TWO_BYTE;
}

static int add_ext(tc_rtp_header *h, uint8_t id, size_t offset, size_t len)
{
    if (h->ext_count == TC_RTP_MAX_EXT)
        return -E2BIG;
    /* offsets fit in 16 bits: tc_rtp_parse refuses longer packets */
    h->ext[h->ext_count].id = id;
    h->ext[h->ext_count].offset = (uint16_t)offset;
    h->ext[h->ext_count].len = (uint16_t)len;
    h->ext_count++;
    return 0;
}

/* RFC 8285 section 4.2: one-byte elements. */
static int parse_one_byte(const uint8_t *p, size_t start, size_t end, tc_rtp_header *h)
{
    size_t i = start;
    while (i < end) {
        uint8_t b = p[i];
        uint8_t id = b >> 4;
        if (id == 0) {
            /* padding; id 0 is never an element, so like libwebrtc we skip
             * one byte whatever its length nibble says */
            i++;
            continue;
        }
        size_t n = (size_t)(b & 0x0F) + 1;
        if (id == 15)
            return 0; /* reserved: stop, ignore the rest */
        if (n > end - i - 1)
            return -EINVAL;
        int rc = add_ext(h, id, i + 1, n);
        if (rc < 0)
            return rc;
        i += 1 + n;
    }
    return 0;
}

/* RFC 8285 section 4.3: two-byte elements. */
static int parse_two_byte(const uint8_t *p, size_t start, size_t end, tc_rtp_header *h)
{
    size_t i = start;
    while (i < end) {
        uint8_t id = p[i];
        if (id == 0) {
            i++;
            continue;
        }
        if (end - i < 2)
            return -EINVAL;
        size_t n = p[i + 1];
        if (n > end - i - 2)
            return -EINVAL;
        int rc = add_ext(h, id, i + 2, n);
        if (rc < 0)
            return rc;
        i += 2 + n;
    }
    return 0;
}

static int parse_extension(const uint8_t *p, size_t len, size_t off, tc_rtp_header *h)
{
    if (len - off < 4)
        return -EINVAL;
    h->ext_profile = tc_rd16(p + off);
    size_t words = tc_rd16(p + off + 2);
    h->ext_data_offset = off + 4;
    h->ext_data_len = words * 4;
    if (h->ext_data_len > len - h->ext_data_offset)
        return -EINVAL;
    size_t end = h->ext_data_offset + h->ext_data_len;
    if (h->ext_profile == TC_RTP_EXT_ONE_BYTE)
        return parse_one_byte(p, h->ext_data_offset, end, h);
    if (is_two_byte(h->ext_profile))
        return parse_two_byte(p, h->ext_data_offset, end, h);
    return 0;
}

static void parse_fixed(const uint8_t *p, tc_rtp_header *h)
{
    h->version = p[0] >> 6;
    h->padding = (p[0] & 0x20) != 0;
    h->extension = (p[0] & 0x10) != 0;
    h->csrc_count = p[0] & 0x0F;
    h->marker = (p[1] & 0x80) != 0;
    h->pt = p[1] & 0x7F;
    h->seq = tc_rd16(p + 2);
    h->ts = tc_rd32(p + 4);
    h->ssrc = tc_rd32(p + 8);
}

int tc_rtp_parse(const uint8_t *p, size_t len, tc_rtp_header *out)
{
    /* offsets are stored as uint16_t; no datagram is longer */
    if (len < TC_RTP_HEADER_LEN || len > UINT16_MAX)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    parse_fixed(p, out);
    if (out->version != 2)
        return -EINVAL;
    size_t off = TC_RTP_HEADER_LEN;
    if ((size_t)out->csrc_count * 4 > len - off)
        return -EINVAL;
    for (unsigned i = 0; i < out->csrc_count; i++, off += 4)
        out->csrc[i] = tc_rd32(p + off);
    if (out->extension) {
        int rc = parse_extension(p, len, off, out);
        if (rc < 0)
            return rc;
        off = out->ext_data_offset + out->ext_data_len;
    }
    out->header_len = off;
    size_t body = len - off;
    if (out->padding) {
        /* the count includes itself, so 0 is malformed (RFC 3550 5.1) */
        uint8_t pad = p[len - 1];
        if (pad == 0 || pad > body)
            return -EINVAL;
        out->padding_len = pad;
        body -= pad;
    }
    out->payload_len = body;
    return 0;
}

const tc_rtp_ext *tc_rtp_ext_find(const tc_rtp_header *h, uint8_t id)
{
    for (unsigned i = 0; i < h->ext_count && i < TC_RTP_MAX_EXT; i++)
        if (h->ext[i].id == id)
            return &h->ext[i];
    return NULL;
}

int tc_rtp_set_ssrc(uint8_t *p, size_t len, uint32_t ssrc)
{
    if (len < TC_RTP_HEADER_LEN)
        return -EINVAL;
    tc_wr32(p + 8, ssrc);
    return 0;
}

int tc_rtp_set_pt(uint8_t *p, size_t len, uint8_t pt)
{
    assert(pt < 128);
    if (len < TC_RTP_HEADER_LEN)
        return -EINVAL;
    p[1] = (uint8_t)((p[1] & 0x80) | (pt & 0x7F));
    return 0;
}

int tc_rtp_set_seq(uint8_t *p, size_t len, uint16_t seq)
{
    if (len < TC_RTP_HEADER_LEN)
        return -EINVAL;
    tc_wr16(p + 2, seq);
    return 0;
}

int tc_rtp_set_ts(uint8_t *p, size_t len, uint32_t ts)
{
    if (len < TC_RTP_HEADER_LEN)
        return -EINVAL;
    tc_wr32(p + 4, ts);
    return 0;
}

/* Where the OSN of an RTX packet sits, or a negative errno (rtp.h). */
static long osn_offset(size_t len, const tc_rtp_header *h)
{
    if (h->header_len > len || h->payload_len > len - h->header_len)
        return -EINVAL;
    if (h->payload_len == 0)
        return -ENODATA;
    if (h->payload_len < 2)
        return -EINVAL;
    return (long)h->header_len;
}

int tc_rtp_rtx_osn(const uint8_t *p, size_t len, const tc_rtp_header *h, uint16_t *osn)
{
    long at = osn_offset(len, h);
    if (at < 0)
        return (int)at;
    *osn = tc_rd16(p + at);
    return 0;
}

int tc_rtp_set_rtx_osn(uint8_t *p, size_t len, const tc_rtp_header *h, uint16_t osn)
{
    long at = osn_offset(len, h);
    if (at < 0)
        return (int)at;
    tc_wr16(p + at, osn);
    return 0;
}

/* Where the id byte of element e sits: just before its data in the one-byte
 * form, two bytes before (id, length) in the two-byte form. */
static size_t id_offset(const tc_rtp_header *h, const tc_rtp_ext *e)
{
    return e->offset - (is_two_byte(h->ext_profile) ? 2u : 1u);
}

static int check_rewrite(size_t len, const tc_rtp_header *h, const uint8_t map[256])
{
    bool two = is_two_byte(h->ext_profile);
    if (h->ext_count > TC_RTP_MAX_EXT)
        return -EINVAL;
    for (unsigned i = 0; i < h->ext_count; i++) {
        const tc_rtp_ext *e = &h->ext[i];
        /* the id byte (and two-byte length) sit inside the extension data */
        if (e->offset < h->ext_data_offset + (two ? 2u : 1u) || (size_t)e->offset + e->len > len)
            return -EINVAL;
        uint8_t to = map[e->id];
        if (to != 0 && !two && to > 14)
            return -ERANGE;
    }
    return 0;
}

int tc_rtp_rewrite_ext_ids(uint8_t *p, size_t len, const tc_rtp_header *h, const uint8_t map[256])
{
    int rc = check_rewrite(len, h, map);
    if (rc < 0)
        return rc;
    int n = 0;
    bool two = is_two_byte(h->ext_profile);
    for (unsigned i = 0; i < h->ext_count; i++) {
        const tc_rtp_ext *e = &h->ext[i];
        uint8_t to = map[e->id];
        size_t at = id_offset(h, e);
        if (to == 0) {
            /* not negotiated on the receiving leg: it must not read it as
             * whatever its own id means there, so the element becomes padding
             * (zero bytes, which receivers skip: RFC 8285 4.2 and 4.3) */
            memset(p + at, 0, (size_t)(e->offset - at) + e->len);
            continue;
        }
        if (two)
            p[at] = to;
        else
            p[at] = (uint8_t)(to << 4 | (p[at] & 0x0F));
        n++;
    }
    return n;
}
