// SPDX-License-Identifier: MIT
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/netcheck.h"

bool lab_tcp_port_open(const char *host, int port, int64_t ms)
{
	struct addrinfo hints = { 0 }, *ai = NULL, *a;
	char ports[16];
	bool open = false;

	hints.ai_socktype = SOCK_STREAM;
	snprintf(ports, sizeof(ports), "%d", port);
	if (!host || getaddrinfo(host, ports, &hints, &ai) != 0)
		return false;
	for (a = ai; a && !open; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK |
				SOCK_CLOEXEC, 0);
		struct pollfd p;
		int err = 0;
		socklen_t len = sizeof(err);

		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			open = true;
		} else if (errno == EINPROGRESS) {
			p.fd = fd;
			p.events = POLLOUT;
			if (poll(&p, 1, (int)ms) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
			    err == 0)
				open = true;
		}
		close(fd);
	}
	freeaddrinfo(ai);
	return open;
}

int lab_detached_argv(const char **out, int max, const char *const *cmd)
{
	static const char *const head[] = {
		"setsid", "-f", "sh", "-c",
		"sleep 1; exec \"$@\" </dev/null >/dev/null 2>&1",
		"labctl-detached",
	};
	int n = 0, i;

	for (i = 0; i < (int)(sizeof(head) / sizeof(head[0])); i++) {
		if (n >= max - 1)
			return -1;
		out[n++] = head[i];
	}
	for (i = 0; cmd[i]; i++) {
		if (n >= max - 1)
			return -1;
		out[n++] = cmd[i];
	}
	out[n] = NULL;
	return n;
}
