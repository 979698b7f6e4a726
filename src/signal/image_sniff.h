/*
 * image_sniff: what kind of image a body is, by its first bytes, for evidence
 * uploads (issue 12: any bytes were stored as "image/png"). Pure; any thread.
 * Private to src/signal/.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* "image/jpeg", "image/png", or NULL when the bytes are neither. */
const char *tc_image_sniff(const uint8_t *p, size_t len);
