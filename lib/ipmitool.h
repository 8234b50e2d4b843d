/* SPDX-License-Identifier: MIT */
/*
 * The ipmitool command line of the IPMI power driver (power/ipmi.c) and
 * the IPMI serial-over-LAN console (serial-capture/ipmisol.c):
 *
 *   ipmitool -I lanplus -C 3 -H HOST -p PORT [-U USER] -E WORDS...
 *
 * -C 3 (cipher suite 3) always: without it ipmitool tries others first
 * and every call takes about 10 s.  -E: the password comes from
 * IPMI_PASSWORD in ipmitool's environment, never its command line.
 */
#ifndef LAB_IPMITOOL_H
#define LAB_IPMITOOL_H

#define IPMITOOL_DEFAULT_PORT "623"
/* Entries an argv for ipmitool_argv needs, the NULL included. */
#define IPMITOOL_MAX_ARGS 16

/*
 * Fill argv (IPMITOOL_MAX_ARGS entries) for host, port (NULL: 623), user
 * (NULL: ipmitool's default) and the command words (NULL-terminated, at
 * most 3, e.g. "chassis", "power", "on").  The strings are not copied.
 */
void ipmitool_argv(const char **argv, const char *host, const char *port,
		   const char *user, const char *const *words);

#endif
