#include "telecounter/random.h"

#include <errno.h>
#include <sodium.h>

int tc_random_init(void)
{
    return sodium_init() < 0 ? -EIO : 0;
}

void tc_random_bytes(void *buf, size_t len)
{
    randombytes_buf(buf, len);
}

uint32_t tc_random_below(uint32_t upper)
{
    return randombytes_uniform(upper);
}

void tc_random_hex(char *out, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        uint8_t b;
        randombytes_buf(&b, 1);
        out[2 * i] = digits[b >> 4];
        out[2 * i + 1] = digits[b & 15];
    }
    out[2 * len] = '\0';
}
