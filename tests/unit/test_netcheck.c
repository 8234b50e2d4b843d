// SPDX-License-Identifier: MIT
/*
 * lab_ssh_port_answers against real sockets: a port forward to a board
 * that is down (QEMU's hostfwd, ssh -L) accepts and says nothing, which
 * a bare connect (lab_tcp_port_open) takes for a board that is up.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/netcheck.h"

struct server {
	int fd, port;
	const char *greeting;	/* NULL: accept and stay silent */
	pthread_t thread;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	int c = accept(s->fd, NULL, NULL);

	if (c >= 0) {
		if (s->greeting)
			(void)!write(c, s->greeting, strlen(s->greeting));
		usleep(800 * 1000);
		close(c);
	}
	return NULL;
}

static void server_start(struct server *s, const char *greeting)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 4), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
	s->port = ntohs(a.sin_port);
	s->greeting = greeting;
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
	pthread_join(s->thread, NULL);
	close(s->fd);
}

static void test_silent_forward_is_down(void **state)
{
	struct server s;

	(void)state;
	server_start(&s, NULL);
	assert_false(lab_ssh_port_answers("127.0.0.1", s.port, 300));
	server_stop(&s);
}

static void test_sshd_greeting_is_up(void **state)
{
	struct server s;

	(void)state;
	server_start(&s, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
	assert_true(lab_ssh_port_answers("127.0.0.1", s.port, 2000));
	server_stop(&s);
}

static void test_other_server_is_down(void **state)
{
	struct server s;

	(void)state;
	server_start(&s, "HTTP/1.1 400 Bad Request\r\n");
	assert_false(lab_ssh_port_answers("127.0.0.1", s.port, 2000));
	server_stop(&s);
}

static void test_closed_port_is_down(void **state)
{
	struct server s;
	int port;

	(void)state;
	server_start(&s, NULL);
	port = s.port;
	/* Connect once so the thread ends, then the port is closed. */
	assert_true(lab_tcp_port_open("127.0.0.1", port, 1000));
	server_stop(&s);
	assert_false(lab_ssh_port_answers("127.0.0.1", port, 300));
	assert_false(lab_ssh_port_answers(NULL, port, 300));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_silent_forward_is_down),
		cmocka_unit_test(test_sshd_greeting_is_up),
		cmocka_unit_test(test_other_server_is_down),
		cmocka_unit_test(test_closed_port_is_down),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
