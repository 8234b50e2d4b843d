// SPDX-License-Identifier: MIT
/*
 * Unit tests for the pure parts of ssh/: upload temporary names, host key
 * messages, "user@host:port", jump host parsing and the ProxyCommand line
 * (run through a real sh to check the quoting), exit-signal statuses and
 * fingerprints.  The network parts are tests/t/85-ssh-transport.t.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/spawn.h"
#include "lib/strbuf.h"
#include "ssh/internal.h"

static const unsigned char RND[6] = { 0x01, 0x02, 0x0a, 0xb0, 0xff, 0x00 };

static void test_temp_name(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char longname[400];

	(void)state;
	assert_int_equal(lab_ssh_temp_name(&sb, "/boot/xmhf-x86.bin", RND), 0);
	assert_string_equal(sb.buf, "/boot/.xmhf-x86.bin.labctl-01020ab0ff00");
	strbuf_reset(&sb);
	assert_int_equal(lab_ssh_temp_name(&sb, "grubenv", RND), 0);
	assert_string_equal(sb.buf, ".grubenv.labctl-01020ab0ff00");
	strbuf_reset(&sb);
	assert_int_equal(lab_ssh_temp_name(&sb, "/x", RND), 0);
	assert_string_equal(sb.buf, "/.x.labctl-01020ab0ff00");
	strbuf_reset(&sb);
	/* The base is cut so the name fits NAME_MAX. */
	memset(longname, 'a', sizeof(longname));
	memcpy(longname, "/d/", 3);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(lab_ssh_temp_name(&sb, longname, RND), 0);
	assert_int_equal(strlen(strrchr(sb.buf, '/') + 1), 255);
	assert_contains(sb.buf, "aaa.labctl-01020ab0ff00");
	strbuf_reset(&sb);

	assert_int_equal(lab_ssh_temp_name(&sb, "/boot/", RND), -LAB_EINVAL);
	assert_contains(lab_errmsg(-LAB_EINVAL), "'/boot/' does not name a file");
	assert_int_equal(lab_ssh_temp_name(&sb, "", RND), -LAB_EINVAL);
	assert_int_equal(lab_ssh_temp_name(&sb, "/a/.", RND), -LAB_EINVAL);
	assert_int_equal(lab_ssh_temp_name(&sb, "/a/..", RND), -LAB_EINVAL);
	assert_int_equal(sb.len, 0);
	strbuf_release(&sb);
}

static void test_hostkey_message(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	lab_ssh_hostkey_message(&sb, "board hp2540p (root@10.1.2.3:22)",
				"unknown", "ssh-ed25519", "SHA256:abc",
				"hp2540p", "/home/u/.ssh/known_hosts");
	assert_string_equal(sb.buf,
		"board hp2540p (root@10.1.2.3:22): host key unknown: "
		"ssh-ed25519 SHA256:abc; check it, then accept it with: "
		"labctl trust hp2540p");
	strbuf_reset(&sb);
	lab_ssh_hostkey_message(&sb, "board b (u@h:22)", "changed",
				"ecdsa-sha2-nistp256", "SHA256:xyz", "b",
				"/k/known_hosts");
	assert_contains(sb.buf, "board b (u@h:22): host key CHANGED");
	assert_contains(sb.buf, "ecdsa-sha2-nistp256 SHA256:xyz");
	assert_contains(sb.buf, "not the key in /k/known_hosts");
	assert_contains(sb.buf, "this may be an attack, or the board was "
			"reinstalled");
	assert_contains(sb.buf, "labctl trust b");
	strbuf_reset(&sb);
	lab_ssh_hostkey_message(&sb, "p", "other", "ssh-rsa", "SHA256:q", "b",
				"/k");
	assert_contains(sb.buf, "p: host key of another type");
	assert_contains(sb.buf, "ssh-rsa SHA256:q");
	assert_contains(sb.buf, "labctl trust b");
	strbuf_release(&sb);
}

static void test_where(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	lab_ssh_format_where(&sb, "root", "10.1.2.3", 22);
	assert_string_equal(sb.buf, "root@10.1.2.3:22");
	strbuf_reset(&sb);
	lab_ssh_format_where(&sb, "u", "fe80::1", 2222);
	assert_string_equal(sb.buf, "u@[fe80::1]:2222");
	strbuf_reset(&sb);
	lab_ssh_format_where(&sb, NULL, "board", 22);
	assert_string_equal(sb.buf, "board:22");
	strbuf_release(&sb);
}

static void jump_ok(const char *in, const char *user, const char *host,
		    int port)
{
	char *u, *h;
	int p;

	assert_int_equal(lab_ssh_parse_jump(in, &u, &h, &p), 0);
	if (user)
		assert_string_equal(u, user);
	else
		assert_null(u);
	assert_string_equal(h, host);
	assert_int_equal(p, port);
	free(u);
	free(h);
}

static void test_parse_jump(void **state)
{
	static const char *const bad[] = {
		"", "@host", "user@", "host:", "host:0", "host:65536",
		"host:22x", "[::1", "[::1]x", "[]:22", ":22", NULL,
	};
	char *u, *h;
	int p, i;

	(void)state;
	jump_ok("gw", NULL, "gw", 0);
	jump_ok("admin@gw.lab:2222", "admin", "gw.lab", 2222);
	jump_ok("[fe80::1]:22", NULL, "fe80::1", 22);
	jump_ok("u@[::1]", "u", "::1", 0);
	jump_ok("a@b@gw", "a@b", "gw", 0);
	for (i = 0; bad[i]; i++) {
		if (lab_ssh_parse_jump(bad[i], &u, &h, &p) != -LAB_EINVAL)
			fail_msg("jump '%s' was accepted", bad[i]);
		assert_null(u);
		assert_null(h);
	}
	assert_contains(lab_errmsg(-LAB_EINVAL), "want [user@]host[:port]");
}

static void test_proxy_command(void **state)
{
	struct lab_ssh_proxy p = {
		.jump = "admin@gw:2222",
		.target_host = "10.1.2.3",
		.target_port = 22,
		.known_hosts = "/home/u/.ssh/known_hosts",
		.connect_timeout_ms = 2500,
	};
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	assert_int_equal(lab_ssh_proxy_command(&sb, &p), 0);
	assert_string_equal(sb.buf,
		"exec ssh -o BatchMode=yes -o StrictHostKeyChecking=yes "
		"-o ConnectTimeout=3 "
		"-o UserKnownHostsFile=/home/u/.ssh/known_hosts "
		"-l admin -p 2222 -W 10.1.2.3:22 -- gw");
	strbuf_reset(&sb);

	p.jump = "gw";
	p.target_host = "fe80::2";
	p.known_hosts = NULL;
	p.stderr_path = "/tmp/j 1";
	assert_int_equal(lab_ssh_proxy_command(&sb, &p), 0);
	assert_string_equal(sb.buf,
		"exec ssh -o BatchMode=yes -o StrictHostKeyChecking=yes "
		"-o ConnectTimeout=3 -W '[fe80::2]:22' -- gw 2>'/tmp/j 1'");
	strbuf_reset(&sb);

	p.jump = "bad:port";
	assert_int_equal(lab_ssh_proxy_command(&sb, &p), -LAB_EINVAL);
	strbuf_release(&sb);
}

/*
 * What a hostile jump string turns into: undo libssh's %% and let sh
 * parse the line with "ssh" replaced by printf: every word must come
 * back as it went in, and nothing may run.
 */
static void test_proxy_command_quoting(void **state)
{
	char dir[] = "/tmp/labctl-test-ssh-XXXXXX";
	struct lab_ssh_proxy p = {
		.jump = "a'b$(touch pwned)%h@g;w`id`:22",
		.target_host = "t%p",
		.target_port = 22,
		.known_hosts = "/k h/%d known",
		.identity = "/id 'x'",
		.connect_timeout_ms = 1000,
	};
	struct strbuf sb = STRBUF_INIT, line = STRBUF_INIT, out = STRBUF_INIT;
	const char *c;
	char *pwned;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(lab_ssh_proxy_command(&sb, &p), 0);
	/* libssh's expansion of %%; a lone % would be an escape. */
	for (c = sb.buf; *c; c++) {
		if (*c == '%') {
			assert_int_equal(c[1], '%');
			c++;
		}
		strbuf_addch(&line, *c);
	}
	assert_int_equal(strncmp(line.buf, "exec ssh ", 9), 0);
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "ssh() { printf '[%s]' \"$@\"; }; ");
	strbuf_addstr(&sb, line.buf + 5);
	{
		const char *argv[] = { "sh", "-c", sb.buf, NULL };
		struct spawn_opts o = { .cwd = dir, .out = &out,
					.timeout_ms = 10000 };

		assert_int_equal(lab_run(argv, &o), 0);
	}
	assert_string_equal(out.buf,
		"[-o][BatchMode=yes][-o][StrictHostKeyChecking=yes]"
		"[-o][ConnectTimeout=1][-o][UserKnownHostsFile=/k h/%d known]"
		"[-i][/id 'x'][-l][a'b$(touch pwned)%h][-p][22][-W][t%p:22]"
		"[--][g;w`id`]");
	pwned = malloc(strlen(dir) + 8);
	sprintf(pwned, "%s/pwned", dir);
	assert_int_not_equal(access(pwned, F_OK), 0);
	rmdir(dir);
	free(pwned);
	strbuf_release(&sb);
	strbuf_release(&line);
	strbuf_release(&out);
}

static void test_signal_status(void **state)
{
	(void)state;
	assert_int_equal(lab_ssh_signal_status("KILL"), 137);
	assert_int_equal(lab_ssh_signal_status("TERM"), 143);
	assert_int_equal(lab_ssh_signal_status("SIGSEGV"), 139);
	assert_int_equal(lab_ssh_signal_status("HUP"), 129);
	assert_int_equal(lab_ssh_signal_status("NOPE"), 255);
	assert_int_equal(lab_ssh_signal_status(NULL), 255);
}

static void test_fingerprint(void **state)
{
	/* ssh-keygen -lf says SHA256:DlQfz9Rl7W+yv9eOXo0ubVVoh0jQs2Bpz45nBbUUB3U */
	static const char b64[] =
		"AAAAC3NzaC1lZDI1NTE5AAAAIOfsnSjuw0SMdj0ZWK12XbWH1/FwkrdiW+YxfLy4f0QW";
	struct strbuf fp = STRBUF_INIT, type = STRBUF_INIT;
	ssh_key key = NULL;

	(void)state;
	assert_int_equal(ssh_pki_import_pubkey_base64(b64, SSH_KEYTYPE_ED25519,
						      &key), SSH_OK);
	assert_int_equal(lab_ssh_key_fingerprint(key, &fp, &type), 0);
	assert_string_equal(fp.buf,
			    "SHA256:DlQfz9Rl7W+yv9eOXo0ubVVoh0jQs2Bpz45nBbUUB3U");
	assert_string_equal(type.buf, "ssh-ed25519");
	ssh_key_free(key);
	strbuf_release(&fp);
	strbuf_release(&type);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_temp_name),
		cmocka_unit_test(test_hostkey_message),
		cmocka_unit_test(test_where),
		cmocka_unit_test(test_parse_jump),
		cmocka_unit_test(test_proxy_command),
		cmocka_unit_test(test_proxy_command_quoting),
		cmocka_unit_test(test_signal_status),
		cmocka_unit_test(test_fingerprint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
