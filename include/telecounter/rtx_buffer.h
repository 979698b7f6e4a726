/*
 * rtx_buffer: the newest RTP packets a leg has sent, by sequence number, so
 * that a NACK from the receiver can be answered by resending them. Packets
 * are stored back to back in one byte store (not in fixed-size slots), so a
 * budget in bytes buys as many packets as the stream's real packet sizes
 * allow; an index of slots finds them. Both are allocated once at create; put
 * and get never allocate.
 *
 * A packet stays findable while it is among the newest `capacity` sequence
 * numbers AND among the newest `bytes` bytes put (a packet that would run
 * past the store's end starts again at its beginning, so the skipped tail
 * counts as written). Whichever limit is reached first evicts the oldest.
 *
 * Thread: one media worker owns a buffer (it is not locked). Ownership: the
 * buffer copies what put is given; get returns a pointer into the buffer
 * that stays valid until the next put or destroy.
 *
 * Keying: slot = seq mod capacity, capacity a power of two dividing 65536,
 * so the mapping survives the 16-bit wraparound. A slot remembers its seq,
 * and get refuses any seq more than capacity behind the newest one put, so
 * an entry 65536 packets old is never mistaken for a new one.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct tc_rtx_buffer tc_rtx_buffer;

/* capacity: a power of two from 1 to 32768; max_packet_len: 1 to 65535;
 * bytes: from max_packet_len to 64 MiB. Returns NULL on bad arguments or out
 * of memory. */
tc_rtx_buffer *tc_rtx_buffer_create(size_t capacity, size_t max_packet_len, size_t bytes);
void tc_rtx_buffer_destroy(tc_rtx_buffer *b);

/* Copies a packet in under seq, evicting what it displaces. Returns 0,
 * -E2BIG if len exceeds max_packet_len, -ESTALE if seq is at least capacity
 * older than the newest seq already stored (it could not be found again),
 * or -EINVAL if len is 0. */
int tc_rtx_buffer_put(tc_rtx_buffer *b, uint16_t seq, const uint8_t *data, size_t len);

/* Finds seq. Returns 0 and sets *data and *len, or -ENOENT if it was never
 * stored, has been evicted, or is outside the window. */
int tc_rtx_buffer_get(const tc_rtx_buffer *b, uint16_t seq, const uint8_t **data, size_t *len);

/* Forgets every packet (a new sender, an SSRC change). */
void tc_rtx_buffer_clear(tc_rtx_buffer *b);
