/*
 * password: account password hashing with Argon2id (libsodium crypto_pwhash_str)
 * at 32 MiB and 3 passes: above OWASP's recommended minimums (19 MiB, 2 passes),
 * and light enough that two logins checked at once (the control thread's two
 * password threads) keep the server's memory in bounds. The parameters are in
 * each stored hash, so hashes made with other limits still verify. Pure; any
 * thread. The control thread runs tc_password_verify off its loop, so a login
 * never stalls it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define TC_PASSWORD_HASH_MAX 128
#define TC_PASSWORD_OPSLIMIT 3
#define TC_PASSWORD_MEMLIMIT (32u << 20)

/* Writes the encoded hash (with salt and parameters) into out; -EINVAL for an
 * empty or over-long (> 1024 bytes) password, -ENOMEM if the KDF failed. */
int tc_password_hash(const char *password, char out[TC_PASSWORD_HASH_MAX]);
/* true when password matches hash; false for anything else, including a bad hash. */
bool tc_password_verify(const char *hash, const char *password);
