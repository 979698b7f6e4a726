/*
 * cutbox: a two-socket UDP middlebox on 127.0.0.1 between one test peer's
 * ICE socket and the relay, so that a test can cut the network for real:
 * while cut, every datagram both ways is dropped, STUN included (libnice
 * answers consent checks itself, so a peer that merely stopped sending media
 * would still look alive to the relay).
 *
 *   peer (127.0.0.1:P) <-> [A] cutbox [B] <-> relay (127.0.0.1:S)
 *
 * The peer is told the relay is at A (its remote candidate is rewritten) and
 * the relay is told the peer is at B (our host candidate is rewritten): a
 * symmetric NAT that can be switched off. Used only when a cut is configured.
 *
 * Thread: the GMainContext given at create. Loopback only (TESTING.md).
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct tc_cutbox tc_cutbox;

tc_cutbox *tc_cutbox_create(GMainContext *ctx);
void tc_cutbox_destroy(tc_cutbox *b);
uint16_t tc_cutbox_port_a(const tc_cutbox *b); /* the peer sends here (the "relay") */
uint16_t tc_cutbox_port_b(const tc_cutbox *b); /* the relay sends here (the "peer") */
/* Where the peer's socket is, and where the relay's is (127.0.0.1). */
void tc_cutbox_set_peer(tc_cutbox *b, uint16_t port);
void tc_cutbox_set_relay(tc_cutbox *b, uint16_t port);
bool tc_cutbox_has_relay(const tc_cutbox *b);
void tc_cutbox_set_cut(tc_cutbox *b, bool cut);
/* Datagrams dropped while cut, both ways. */
uint64_t tc_cutbox_dropped(const tc_cutbox *b);
