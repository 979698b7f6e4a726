/*
 * ice_socket: the selected candidate pair of a libnice component, as a plain
 * UDP socket and a destination address, for sending media around libnice's
 * per-packet path (see udp_batch.h). Only a pair that is UDP on our side and
 * not through a TURN relay qualifies: libnice frames TCP and wraps relayed
 * packets, so those must go through nice_agent_send.
 *
 * The descriptor is borrowed: libnice owns and closes the socket. Use it only
 * while that pair stays selected (ask again on "new-selected-pair-full" and on
 * a component state change, forget it before an ICE restart or before the
 * stream or agent goes), and flush anything held for it before forgetting it.
 */
#pragma once

#include <agent.h>
#include <stdbool.h>
#include <sys/socket.h>

typedef struct tc_ice_socket {
    int fd;
    struct sockaddr_storage to;
    socklen_t to_len;
} tc_ice_socket;

/* Fills *out and returns true when the component's selected pair qualifies;
 * otherwise returns false with out->fd -1. */
bool tc_ice_socket_of(NiceAgent *agent, guint stream_id, guint component_id, tc_ice_socket *out);
