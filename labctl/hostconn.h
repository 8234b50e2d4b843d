/* SPDX-License-Identifier: MIT */
/*
 * The ssh session to a machine of the lab, with the lab's [board] ssh
 * settings (ssh_port, user, jump, identity, connect_timeout,
 * command_timeout): the board itself, or a lab host that keeps its
 * reservation (lock.host).  Used by the board (labctl/board.c) and the
 * lease (labctl/lease.c), neither of which reaches into the other for it.
 */
#ifndef LABCTL_HOSTCONN_H
#define LABCTL_HOSTCONN_H

#include "labctl/labconf.h"

struct lab_ssh;
struct lab_ssh_config;

/* The lab's ssh settings as a config for host (NULL: board.host). */
void hostconn_config(const struct lab *lab, const char *host,
		     struct lab_ssh_config *cfg);
/*
 * Connect to host (NULL: board.host) with those settings; 0, or
 * -LAB_ECONFIG when no host is set, or what lab_ssh_connect says.
 */
int hostconn_open(const struct lab *lab, const char *host,
		  struct lab_ssh **out);

#endif
