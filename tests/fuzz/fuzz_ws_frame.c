/* fuzz_ws_frame: the lean benchmark client's frame parser (tools/peer/ws_lean.h)
 * over arbitrary bytes: a frame it accepts lies within the input and, written
 * back by the client's writer and unmasked, parses to the same frame. */
/* The checks below are the oracle: keep them in release builds too. */
#undef NDEBUG
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peer/ws_lean.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    while (size > 0) {
        tc_wsl_frame f;
        ssize_t n = tc_wsl_frame_parse(data, size, &f);
        assert(n == 0 || n == -EPROTO || n == -EMSGSIZE || (n > 0 && (size_t)n <= size));
        if (n <= 0)
            return 0;
        assert(f.payload >= data && f.payload + f.len == data + n);
        if (f.fin && f.len < 1024) {
            static uint8_t out[1024 + 14];
            const uint8_t mask[4] = {0, 0, 0, 0}; /* a zero mask leaves the payload as is */
            size_t w = tc_wsl_frame_write(out, sizeof out, f.opcode, f.payload, f.len, mask);
            size_t head = f.len < 126 ? 2 : 4;
            assert(w == head + 4 + f.len);
            /* as a server would send it: no mask bit, no key */
            out[1] &= 0x7F;
            memmove(out + head, out + head + 4, f.len);
            tc_wsl_frame back;
            assert(tc_wsl_frame_parse(out, head + f.len, &back) == (ssize_t)(head + f.len));
            assert(back.opcode == f.opcode && back.fin && back.len == f.len);
            assert(f.len == 0 || memcmp(back.payload, f.payload, f.len) == 0);
        }
        data += n;
        size -= (size_t)n;
    }
    return 0;
}
