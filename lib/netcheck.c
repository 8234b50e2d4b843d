// SPDX-License-Identifier: MIT
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/clock.h"
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

bool lab_ssh_port_answers(const char *host, int port, int64_t ms)
{
	struct addrinfo hints = { 0 }, *ai = NULL, *a;
	int64_t deadline = lab_mono_ms() + ms;
	char ports[16];
	bool seen = false;

	hints.ai_socktype = SOCK_STREAM;
	snprintf(ports, sizeof(ports), "%d", port);
	if (!host || getaddrinfo(host, ports, &hints, &ai) != 0)
		return false;
	for (a = ai; a && !seen; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK |
				SOCK_CLOEXEC, 0);
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		char banner[4];
		size_t got = 0;
		int err = 0;
		socklen_t len = sizeof(err);

		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 &&
		    (errno != EINPROGRESS ||
		     poll(&p, 1, (int)(deadline - lab_mono_ms())) != 1 ||
		     getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
		     err != 0)) {
			close(fd);
			continue;
		}
		/* A forwarded port accepts while the board is down: only the
		 * server's "SSH-" greeting says sshd is there. */
		p.events = POLLIN;
		while (got < sizeof(banner) && lab_mono_ms() < deadline &&
		       poll(&p, 1, (int)(deadline - lab_mono_ms())) == 1) {
			ssize_t r = read(fd, banner + got, sizeof(banner) - got);

			if (r <= 0)
				break;
			got += (size_t)r;
		}
		seen = got == sizeof(banner) && !memcmp(banner, "SSH-", 4);
		close(fd);
	}
	freeaddrinfo(ai);
	return seen;
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
