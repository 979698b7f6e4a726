/*
 * random: cryptographically strong randomness (libsodium's randombytes, which
 * reads the kernel's getrandom). Any thread. tc_random_init must have run once
 * (it calls sodium_init) before the first use.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

int tc_random_init(void);
void tc_random_bytes(void *buf, size_t len);
/* A uniform integer in [0, upper); upper > 0. */
uint32_t tc_random_below(uint32_t upper);
/* Writes 2*len lowercase hex characters of fresh randomness plus a NUL into out. */
void tc_random_hex(char *out, size_t len);
