// SPDX-License-Identifier: MIT
/* Tests inside the board after the chain; see guesttest.h. */
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "labctl/board.h"
#include "labctl/guesttest.h"
#include "labctl/results.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/shquote.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "ssh/ssh.h"

#define OUTPUT_MAX (64 * 1024)
#define DEFAULT_DIR "/tmp/labctl-test"

bool guesttest_wanted(const struct lab *lab)
{
	char key[16];
	int i;

	for (i = 1; i <= GUESTTEST_MAX; i++) {
		snprintf(key, sizeof(key), "run%d", i);
		if (lab_get(lab, "test", key))
			return true;
	}
	return false;
}

static struct result_test *add_test(struct run_record *rec)
{
	struct result *res = &rec->res;
	struct result_test *t;

	res->tests = xrealloc(res->tests,
			      (size_t)(res->ntests + 1) * sizeof(*res->tests));
	t = &res->tests[res->ntests++];
	memset(t, 0, sizeof(*t));
	t->exit_status = -1;
	return t;
}

/* The record's verdict after a test: fail wins over pass, infra over both. */
static void worsen(struct run_record *rec, const char *verdict,
		   const char *reason)
{
	struct result *res = &rec->res;
	bool set = !strcmp(verdict, "infra") ||
		   (res->verdict && !strcmp(res->verdict, "pass"));

	if (!set)
		return;
	free(res->verdict);
	res->verdict = xstrdup(verdict);
	free(res->reason);
	res->reason = xstrdup(reason);
	free(res->reason_line);
	res->reason_line = NULL;
	res->reason_line_no = 0;
}

/* A local file of [test] copy: relative to the lab file's directory. */
static char *local_path(const struct lab *lab, const char *file)
{
	const char *slash = strrchr(lab->path, '/');

	if (file[0] == '/' || !slash)
		return xstrdup(file);
	return xasprintf("%.*s/%s", (int)(slash - lab->path), lab->path, file);
}

static int copy_files(const struct lab *lab, struct lab_ssh *ssh,
		      const char *dir)
{
	const char *copy = lab_get(lab, "test", "copy");
	char *words, *w, *save = NULL;
	int ret;

	ret = lab_ssh_mkdir_p(ssh, dir, 0755);
	if (ret || !copy)
		return ret;
	words = xstrdup(copy);
	for (w = strtok_r(words, " \t", &save); w && !ret;
	     w = strtok_r(NULL, " \t", &save)) {
		char *path = local_path(lab, w);
		const char *base = strrchr(path, '/');
		char *remote = xasprintf("%s/%s", dir, base ? base + 1 : path);
		struct stat st;

		if (stat(path, &st) || !S_ISREG(st.st_mode))
			ret = lab_err(LAB_ECONFIG, "%s: [test] copy: %s is not a readable file",
				      lab->path, path);
		else
			ret = lab_ssh_put_file(ssh, path, remote,
					       st.st_mode & 0777, NULL, NULL);
		free(remote);
		free(path);
	}
	free(words);
	return ret;
}

/* Whether out matches the extended regex rx; *why on a bad regex. */
static bool output_matches(const char *rx, const char *out, char *why,
			   size_t size)
{
	regex_t re;
	int rc = regcomp(&re, rx, REG_EXTENDED | REG_NOSUB | REG_NEWLINE);
	bool m;

	if (rc) {
		regerror(rc, &re, why, size);
		return false;
	}
	m = regexec(&re, out, 0, NULL, 0) == 0;
	regfree(&re);
	return m;
}

/* One command: run, judge, record.  Returns its verdict's LAB_E (0 pass). */
static int run_one(const struct lab *lab, struct lab_ssh **ssh,
		   struct run_record *rec, int64_t t0_ns, int k,
		   const char *dir)
{
	char key[32], why[256] = "";
	const char *cmd, *expect;
	int64_t timeout_ms, start;
	struct strbuf script = STRBUF_INIT, out = STRBUF_INIT;
	struct result_test *t;
	const char *argv[4];
	int st = -1, ret;
	char *reason = NULL;

	snprintf(key, sizeof(key), "run%d", k);
	cmd = lab_get(lab, "test", key);
	if (!cmd)
		return 0;
	snprintf(key, sizeof(key), "expect%d", k);
	expect = lab_get(lab, "test", key);
	snprintf(key, sizeof(key), "timeout%d", k);
	/* [test] is key/value (runN, expectN, timeoutN): no typed struct. */
	timeout_ms = lab_get_duration_ms(lab, "test", key);
	if (timeout_ms == LAB_UNSET)
		timeout_ms = lab_get_duration_ms(lab, "test", "timeout");
	/* One stream, as a person at the board's terminal would see it. */
	strbuf_addstr(&script, "cd ");
	sh_quote(&script, dir);
	strbuf_addstr(&script, " || exit 125; exec 2>&1; ");
	strbuf_addstr(&script, cmd);
	argv[0] = "sh";
	argv[1] = "-c";
	argv[2] = strbuf_str(&script);
	argv[3] = NULL;

	t = add_test(rec);
	t->name = xasprintf("test%d", k);
	t->command = xstrdup(cmd);
	start = lab_mono_ns();
	t->start = (start - t0_ns) / 1e9;
	ret = *ssh ? lab_ssh_run(*ssh, argv, NULL, 0, &out, NULL, &st,
				 timeout_ms) : -LAB_EINFRA;
	t->duration = (lab_mono_ns() - start) / 1e9;
	if (out.len > OUTPUT_MAX)
		strbuf_setlen(&out, OUTPUT_MAX);
	t->output = xstrdup(strbuf_str(&out));
	if (ret == -LAB_ETIMEDOUT) {
		reason = xasprintf("no end within %lld s", (long long)(timeout_ms / 1000));
		lab_err_clear();
		/* The session may be gone with the command: a new one. */
		if (*ssh) {
			lab_ssh_close(*ssh);
			*ssh = NULL;
		}
		if (board_connect(lab, ssh))
			lab_err_clear();
	} else if (ret) {
		reason = xasprintf("the ssh session was lost: %s", lab_errmsg(ret));
		lab_err_clear();
	} else {
		t->exit_status = st;
		if (st)
			reason = xasprintf("exit status %d", st);
		else if (expect && !output_matches(expect, t->output, why, sizeof(why)))
			reason = why[0] ?
				xasprintf("bad expect%d: %s", k, why) :
				xasprintf("output does not match '%s'", expect);
	}
	t->verdict = xstrdup(reason ? "fail" : "pass");
	t->reason = xstrdup(reason ? reason : "");
	{
		char *ev = xasprintf("test%d (%s): %s in %.1f s%s%s", k, cmd,
				     t->verdict, t->duration, reason ? ": " : "",
				     reason ? reason : "");

		run_record_event(rec, lab_mono_ns() - t0_ns, "TEST", ev);
		lab_info("%s", ev);
		if (reason)
			worsen(rec, "fail", ev);
		free(ev);
	}
	ret = reason ? -LAB_EFAIL : 0;
	free(reason);
	strbuf_release(&script);
	strbuf_release(&out);
	return ret;
}

int guesttest_run(const struct lab *lab, struct lab_ssh **ssh,
		  struct run_record *rec, int64_t t0_ns)
{
	const char *dir = lab_get(lab, "test", "dir");
	int64_t up_ms = lab->board.up_timeout_ms;
	int k, ret, worst = 0;
	char *why;

	if (!dir)
		dir = DEFAULT_DIR;
	/* The session from before the reboot is dead: a new one. */
	if (*ssh) {
		lab_ssh_close(*ssh);
		*ssh = NULL;
	}
	ret = board_wait_up(lab, ssh, up_ms);
	if (!ret)
		ret = copy_files(lab, *ssh, dir);
	if (ret) {
		why = xasprintf("the tests in the board could not start: %s",
				lab_errmsg(ret));
		run_record_event(rec, lab_mono_ns() - t0_ns, "TEST", why);
		worsen(rec, "infra", why);
		ret = lab_err(-ret == LAB_ECONFIG ? LAB_ECONFIG :
			      LAB_EINFRA, "%s", why);
		free(why);
		return ret;
	}
	run_record_event(rec, lab_mono_ns() - t0_ns, "TEST",
			 "the board answers ssh: tests start");
	for (k = 1; k <= GUESTTEST_MAX; k++) {
		ret = run_one(lab, ssh, rec, t0_ns, k, dir);
		if (ret && !worst)
			worst = ret;
	}
	if (worst)
		return lab_err(LAB_EFAIL, "%s", rec->res.reason);
	return 0;
}

void guesttest_summary(FILE *f, const struct result *res)
{
	int i;

	for (i = 0; i < res->ntests; i++) {
		const struct result_test *t = &res->tests[i];
		bool pass = t->verdict && !strcmp(t->verdict, "pass");

		fprintf(f, "  %s %-24s %s in %.1f s%s%s\n", t->name, t->command,
			pass ? "pass" : "FAIL", t->duration, pass ? "" : ": ",
			pass ? "" : t->reason);
	}
}
