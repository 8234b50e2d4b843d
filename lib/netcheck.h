/* SPDX-License-Identifier: MIT */
/* Small network checks used while waiting for a board to go down or up. */
#ifndef LAB_NETCHECK_H
#define LAB_NETCHECK_H

#include <stdbool.h>
#include <stdint.h>

/* Whether something accepts a TCP connection on host:port within ms. */
bool lab_tcp_port_open(const char *host, int port, int64_t ms);

/*
 * Whether an ssh server greets ("SSH-") on host:port within ms: unlike
 * a bare connect, this tells a board that is down behind a port forward
 * (QEMU's hostfwd, ssh -L, a NAT box), which still accepts, from one
 * that is up.
 */
bool lab_ssh_port_answers(const char *host, int port, int64_t ms);

/*
 * argv that runs cmd detached on a remote shell: in its own session, a
 * second after the command that started it returned, with no stdio, so
 * an ssh session that starts a reboot ends cleanly before the reboot.
 * out has room for max entries; returns the count (NULL-terminated) or -1.
 */
int lab_detached_argv(const char **out, int max, const char *const *cmd);

#endif
