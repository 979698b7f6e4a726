/*
 * ice_socket.c: the selected pair's own UDP socket, when it has one.
 */
#include "telecounter/ice_socket.h"

#include <gio/gio.h>
#include <netinet/in.h>
#include <string.h>

bool tc_ice_socket_of(NiceAgent *agent, guint stream_id, guint component_id, tc_ice_socket *out)
{
    memset(out, 0, sizeof *out);
    out->fd = -1;
    NiceCandidate *local, *remote;
    if (!nice_agent_get_selected_pair(agent, stream_id, component_id, &local, &remote) ||
        local->transport != NICE_CANDIDATE_TRANSPORT_UDP ||
        local->type == NICE_CANDIDATE_TYPE_RELAYED)
        return false;
    bool v6 = nice_address_ip_version(&remote->addr) == 6;
    GSocket *sock = nice_agent_get_selected_socket(agent, stream_id, component_id);
    if (!sock)
        return false;
    if (g_socket_get_socket_type(sock) == G_SOCKET_TYPE_DATAGRAM &&
        g_socket_get_family(sock) == (v6 ? G_SOCKET_FAMILY_IPV6 : G_SOCKET_FAMILY_IPV4)) {
        nice_address_copy_to_sockaddr(&remote->addr, (struct sockaddr *)&out->to);
        out->to_len = v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
        out->fd = g_socket_get_fd(sock);
    }
    g_object_unref(sock);
    return out->fd >= 0;
}
