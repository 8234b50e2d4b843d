// SPDX-License-Identifier: MIT
/* The ssh session to the board or a lab host; see hostconn.h. */
#include <string.h>

#include "labctl/hostconn.h"
#include "lib/err.h"
#include "ssh/ssh.h"

void hostconn_config(const struct lab *lab, const char *host,
		     struct lab_ssh_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->name = lab->name;
	cfg->host = host ? host : lab->board.host;
	cfg->port = lab->board.ssh_port;
	cfg->user = lab->board.user;
	cfg->jump = lab->board.jump;
	cfg->identity = lab->board.identity;
	cfg->connect_timeout_ms = lab->board.connect_timeout_ms;
	cfg->command_timeout_ms = lab->board.command_timeout_ms;
	/* The lab host (lock.host) may sit elsewhere than the board's port
	 * and user: a board behind a forwarded port, a lab host's own user. */
	if (host && lab->lock.host && !strcmp(host, lab->lock.host)) {
		if (lab->lock.ssh_port)
			cfg->port = lab->lock.ssh_port;
		if (lab->lock.user)
			cfg->user = lab->lock.user;
	}
}

int hostconn_open(const struct lab *lab, const char *host,
		  struct lab_ssh **out)
{
	struct lab_ssh_config cfg;

	hostconn_config(lab, host, &cfg);
	if (!cfg.host)
		return lab_err(LAB_ECONFIG, "%s: [board] host is not set",
			       lab->path);
	return lab_ssh_connect(out, &cfg);
}
