/*
 * invite: invite codes for urgent cases, the pure part (format, parsing, hashing).
 *
 * A code is 12 symbols of TC_INVITE_ALPHABET (31 symbols, no 0/O/1/I/L, so it can
 * be read aloud and typed): 59 bits. It is shown as "XXXX-XXXX-XXXX". The first
 * TC_INVITE_LOCATOR_LEN symbols are its locator, which finds the record, so that
 * wrong guesses at a real code can be counted against it; the other 8 (39.6 bits)
 * are secret. Both are stored only as HMAC-SHA-256 under a per-installation key;
 * the whole code's hash is compared in constant time.
 *
 * Pure functions; any thread. Storage and attempt limits are route/invites.c.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TC_INVITE_ALPHABET "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
#define TC_INVITE_SYMBOLS 12
#define TC_INVITE_LOCATOR_LEN 4
#define TC_INVITE_DISPLAY_LEN 15 /* with two dashes, without the NUL */
#define TC_INVITE_KEY_LEN 32
#define TC_INVITE_HASH_LEN 32

/* A fresh random code in display form ("XXXX-XXXX-XXXX"). */
void tc_invite_generate(char out[TC_INVITE_DISPLAY_LEN + 1]);

/* Canonical form of what a customer typed: dashes, spaces and case ignored.
 * -EINVAL unless it is exactly 12 symbols of the alphabet. len bounds the input. */
int tc_invite_normalize(const char *in, size_t len, char out[TC_INVITE_SYMBOLS + 1]);

/* Formats a canonical code for display. */
void tc_invite_display(const char canon[TC_INVITE_SYMBOLS + 1],
                       char out[TC_INVITE_DISPLAY_LEN + 1]);

/* Keyed hashes of a canonical code: of its locator, and of the whole code. */
void tc_invite_hash(const uint8_t key[TC_INVITE_KEY_LEN], const char canon[TC_INVITE_SYMBOLS + 1],
                    uint8_t locator_hash[TC_INVITE_HASH_LEN],
                    uint8_t code_hash[TC_INVITE_HASH_LEN]);

/* Constant-time equality of two hashes. */
bool tc_invite_hash_equal(const uint8_t a[TC_INVITE_HASH_LEN], const uint8_t b[TC_INVITE_HASH_LEN]);
