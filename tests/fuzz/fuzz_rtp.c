/* fuzz_rtp: parse an RTP packet; when it parses, rewrite every field the
 * relay rewrites (the RTX original sequence number too) and check that the
 * packet still parses to the same layout; store and fetch it through an rtx
 * buffer. */
/* The checks below are the oracle: keep them in release builds too. */
#undef NDEBUG
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "telecounter/rtp.h"
#include "telecounter/rtx_buffer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same_layout(const tc_rtp_header *a, const tc_rtp_header *b)
{
    assert(a->header_len == b->header_len);
    assert(a->payload_len == b->payload_len);
    assert(a->ext_count == b->ext_count);
    for (unsigned i = 0; i < a->ext_count; i++) {
        assert(a->ext[i].offset == b->ext[i].offset);
        assert(a->ext[i].len == b->ext[i].len);
    }
}

static void rewrite(uint8_t *p, size_t size, const tc_rtp_header *h)
{
    uint8_t map[256] = {0};
    for (unsigned i = 1; i < 256; i++)
        map[i] = (uint8_t)(1 + (i % 14)); /* 1..14, valid in both forms */
    int n = tc_rtp_rewrite_ext_ids(p, size, h, map);
    assert(n == h->ext_count);
    assert(tc_rtp_set_ssrc(p, size, 0x11223344) == 0);
    assert(tc_rtp_set_pt(p, size, (uint8_t)(h->pt ^ 1)) == 0);
    assert(tc_rtp_set_seq(p, size, (uint16_t)(h->seq + 1)) == 0);
    assert(tc_rtp_set_ts(p, size, h->ts + 3000) == 0);
    uint16_t osn;
    int rc = tc_rtp_rtx_osn(p, size, h, &osn);
    assert(rc == 0          ? h->payload_len >= 2
           : rc == -ENODATA ? h->payload_len == 0
                            : h->payload_len == 1);
    if (rc == 0) {
        uint16_t want = (uint16_t)~osn;
        assert(tc_rtp_set_rtx_osn(p, size, h, want) == 0);
        assert(tc_rtp_rtx_osn(p, size, h, &osn) == 0 && osn == want);
    }
    tc_rtp_header again;
    assert(tc_rtp_parse(p, size, &again) == 0);
    check_same_layout(h, &again);
    assert(again.ssrc == 0x11223344 && again.marker == h->marker);
    for (unsigned i = 0; i < again.ext_count; i++)
        assert(again.ext[i].id == map[h->ext[i].id]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc_rtp_header h;
    if (tc_rtp_parse(data, size, &h) != 0)
        return 0;
    assert(h.header_len + h.payload_len + h.padding_len == size);
    for (unsigned i = 0; i < h.ext_count; i++) {
        assert((size_t)h.ext[i].offset + h.ext[i].len <= size);
        assert(tc_rtp_ext_find(&h, h.ext[i].id) != NULL);
    }
    uint8_t *copy = malloc(size);
    assert(copy);
    memcpy(copy, data, size);
    rewrite(copy, size, &h);
    tc_rtx_buffer *b = tc_rtx_buffer_create(8, 1500, 4000);
    assert(b);
    const uint8_t *got;
    size_t got_len;
    if (tc_rtx_buffer_put(b, h.seq, copy, size) == 0) {
        assert(tc_rtx_buffer_get(b, h.seq, &got, &got_len) == 0);
        assert(got_len == size && memcmp(got, copy, size) == 0);
    }
    tc_rtx_buffer_destroy(b);
    free(copy);
    return 0;
}
