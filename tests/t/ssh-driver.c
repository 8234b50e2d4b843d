// SPDX-License-Identifier: MIT
/*
 * Test driver for tests/t/85-ssh-transport.t and bench/sftp-put.sh: one
 * ssh/ API call per run, against a real sshd.
 *
 *   ssh-driver [options] HOST PORT USER COMMAND [ARGS...]
 *
 * options (the lab_ssh_config fields):
 *   -n NAME  lab name      -d DIR  ssh_dir       -k FILE  known_hosts
 *   -i FILE  identity      -j JUMP jump host     -c MS    connect timeout
 *   -t MS    command timeout                     -K S     keepalive
 *   -I FILE  stdin for run -S FILE  write "status N" there (run)
 *   -p       print "progress DONE TOTAL" lines (put)
 *
 * commands:
 *   connect                       connect, print "connected WHERE"
 *   run ARGV...                   remote stdout/stderr to ours
 *   put LOCAL REMOTE [MODE]       lab_ssh_put_file (MODE octal, 0644)
 *   write REMOTE TEXT [MODE]      lab_ssh_write_file
 *   read REMOTE [MAX]             remote file to stdout
 *   mkdir PATH | unlink PATH | rename FROM TO
 *   trust [write]                 print "state S" and "fingerprint F"
 *
 * Success exits 0 and, but for run, prints "round_trips N" and "bytes N"
 * on stderr.  A failure prints "ssh-driver: MESSAGE" and "error NAME"
 * on stderr and exits 10 + lab_exit_code(ret) (13: infrastructure).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/strbuf.h"
#include "ssh/ssh.h"

static const char *err_name(int ret)
{
	switch (-ret) {
	case LAB_EINVAL: return "EINVAL";
	case LAB_ENOENT: return "ENOENT";
	case LAB_EFORMAT: return "EFORMAT";
	case LAB_EIO: return "EIO";
	case LAB_EPERM: return "EPERM";
	case LAB_ETIMEDOUT: return "ETIMEDOUT";
	case LAB_EINFRA: return "EINFRA";
	default: return "other";
	}
}

static int fail(int ret)
{
	fprintf(stderr, "ssh-driver: %s\nerror %s\n", lab_errmsg(ret),
		err_name(ret));
	return 10 + lab_exit_code(ret);
}

static void on_progress(void *arg, const char *name, uint64_t done,
			uint64_t total)
{
	(void)arg;
	(void)name;
	printf("progress %llu %llu\n", (unsigned long long)done,
	       (unsigned long long)total);
	fflush(stdout);
}

static int usage(void)
{
	fprintf(stderr, "usage: ssh-driver [-n NAME] [-d DIR] [-k FILE] "
		"[-i FILE] [-j JUMP] [-c MS] [-t MS] [-K S] [-I FILE] "
		"[-S FILE] [-p] HOST PORT USER COMMAND [ARGS...]\n");
	return 2;
}

static void write_out(const struct strbuf *sb, FILE *f)
{
	if (sb->len)
		fwrite(sb->buf, 1, sb->len, f);
	fflush(f);
}

int main(int argc, char **argv)
{
	struct lab_ssh_config cfg = { 0 };
	const char *stdin_file = NULL, *status_file = NULL, *cmd;
	struct strbuf in = STRBUF_INIT, out = STRBUF_INIT, err = STRBUF_INIT;
	struct lab_ssh *s = NULL;
	bool show_progress = false;
	int opt, ret, status = 0, n;

	while ((opt = getopt(argc, argv, "+n:d:k:i:j:c:t:K:I:S:p")) != -1) {
		switch (opt) {
		case 'n': cfg.name = optarg; break;
		case 'd': cfg.ssh_dir = optarg; break;
		case 'k': cfg.known_hosts = optarg; break;
		case 'i': cfg.identity = optarg; break;
		case 'j': cfg.jump = optarg; break;
		case 'c': cfg.connect_timeout_ms = atoll(optarg); break;
		case 't': cfg.command_timeout_ms = atoll(optarg); break;
		case 'K': cfg.keepalive_s = atoi(optarg); break;
		case 'I': stdin_file = optarg; break;
		case 'S': status_file = optarg; break;
		case 'p': show_progress = true; break;
		default: return usage();
		}
	}
	if (argc - optind < 4)
		return usage();
	cfg.host = argv[optind];
	cfg.port = atoi(argv[optind + 1]);
	cfg.user = *argv[optind + 2] ? argv[optind + 2] : NULL;
	cmd = argv[optind + 3];
	argv += optind + 4;
	argc -= optind + 4;

	if (!strcmp(cmd, "trust")) {
		const char *state = NULL;

		ret = lab_ssh_trust(&cfg, argc > 0 && !strcmp(argv[0], "write"),
				    &out, &state);
		if (state)
			printf("state %s\n", state);
		if (out.len)
			printf("fingerprint %s\n", out.buf);
		strbuf_release(&out);
		return ret ? fail(ret) : 0;
	}
	if (stdin_file) {
		ret = strbuf_read_file(&in, stdin_file, 1 << 30);
		if (ret)
			return fail(ret);
	}
	ret = lab_ssh_connect(&s, &cfg);
	if (ret)
		return fail(ret);

	if (!strcmp(cmd, "connect")) {
		printf("connected %s\n", lab_ssh_where(s));
	} else if (!strcmp(cmd, "run") && argc >= 1) {
		if (!strcmp(argv[0], "--")) {
			argv++;
			argc--;
		}
		ret = lab_ssh_run(s, (const char *const *)argv, in.buf, in.len,
				  &out, &err, &status, 0);
		write_out(&out, stdout);
		write_out(&err, stderr);
		if (!ret && status_file) {
			FILE *f = fopen(status_file, "w");

			if (f) {
				fprintf(f, "status %d\n", status);
				fclose(f);
			}
		}
	} else if (!strcmp(cmd, "put") && (argc == 2 || argc == 3)) {
		ret = lab_ssh_put_file(s, argv[0], argv[1],
				       argc == 3 ? strtol(argv[2], NULL, 8) :
				       0644, show_progress ? on_progress :
				       NULL, NULL);
	} else if (!strcmp(cmd, "write") && (argc == 2 || argc == 3)) {
		ret = lab_ssh_write_file(s, argv[0], argv[1], strlen(argv[1]),
					 argc == 3 ? strtol(argv[2], NULL, 8) :
					 0644);
	} else if (!strcmp(cmd, "read") && (argc == 1 || argc == 2)) {
		ret = lab_ssh_read_file(s, argv[0], &out,
					argc == 2 ? strtoul(argv[1], NULL, 10) :
					1 << 30);
		if (!ret)
			write_out(&out, stdout);
	} else if (!strcmp(cmd, "mkdir") && argc == 1) {
		ret = lab_ssh_mkdir_p(s, argv[0], 0755);
	} else if (!strcmp(cmd, "unlink") && argc == 1) {
		ret = lab_ssh_unlink(s, argv[0]);
	} else if (!strcmp(cmd, "rename") && argc == 2) {
		ret = lab_ssh_rename(s, argv[0], argv[1]);
	} else {
		lab_ssh_close(s);
		return usage();
	}
	n = ret ? fail(ret) : 0;
	if (!ret && strcmp(cmd, "run"))
		fprintf(stderr, "round_trips %llu\nbytes %llu\n",
			(unsigned long long)lab_ssh_round_trips(s),
			(unsigned long long)lab_ssh_bytes_sent(s));
	lab_ssh_close(s);
	strbuf_release(&in);
	strbuf_release(&out);
	strbuf_release(&err);
	return n;
}
