/* SPDX-License-Identifier: MIT */
/*
 * A real board over ssh (the notes' copyxmhf, hpgrub and hpinit6, done
 * safely): deploy images over SFTP, check and write the GRUB chain on the
 * board, install the GRUB scripts, reboot it and wait.
 *
 * Privileged steps (writing /boot, /etc/grub.d, grub-probe) run directly
 * when the board user is root, else through `sudo -n` when deploy.sudo is
 * set; a sudo that wants a password is an error, never a prompt.
 */
#ifndef LABCTL_BOARD_H
#define LABCTL_BOARD_H

#include <stdbool.h>
#include <stdint.h>

#include "labctl/labconf.h"

struct lab_ssh;
struct strbuf;

/* Connect to the board (labctl/hostconn.h with board.host). */
int board_connect(const struct lab *lab, struct lab_ssh **out);

/* True for a board reached over ssh (its board_ops are not virtual). */
bool board_is_remote(const struct lab *lab);

/*
 * Run argv on the board, privileged (root: as is; else sudo -n) or not;
 * output into out (may be NULL), stderr into err (may be NULL).  A
 * non-zero exit is -LAB_EPROGRAM with "what" and the stderr tail in the
 * message; a sudo that needs a password gets its own clear message.
 */
int board_run(const struct lab *lab, struct lab_ssh *s, bool privileged,
	      const char *what, const char *const *argv, struct strbuf *out);

struct board_deploy_stats {
	int variants;
	int files_sent, files_skipped;
	uint64_t bytes_sent;
	uint64_t round_trips;
	int64_t elapsed_ms;
	const char *disk;	/* a virtual board's disk image, or NULL */
};

/*
 * Copy images/<v>/ for each variant to <deploy.dir>/<v>/ on the board:
 * skip files whose sha256 matches the board's MANIFEST, upload the rest
 * under temporary names renamed into place, verify, MANIFEST last.
 * progress: print per-file progress on stderr (a terminal).
 */
int board_deploy(const struct lab *lab, struct lab_ssh *s,
		 const char *images_dir, const char *const *variants, int n,
		 bool progress, struct board_deploy_stats *st);

/*
 * Set the chain (n == 0 clears it) in two round trips.  First grub-probe
 * says GRUB's save_env can write the filesystem holding grubenv (not LVM,
 * RAID, btrfs or zfs), every entry is a menu entry of the board's
 * grub.cfg, and the current grubenv comes back; then the new block is
 * written (grub.editenv: native, synced and renamed into place; or the
 * board's tool), read back and compared.
 */
int board_chain_set(const struct lab *lab, struct lab_ssh *s,
		    const char *const *entries, int n);
/* True if a grub.cfg text has a menuentry with this title or --id. */
bool board_cfg_has_entry(const char *cfg, const char *entry);
/* Read the chain; *entries owned by the caller (chain_free). */
int board_chain_read(const struct lab *lab, struct lab_ssh *s,
		     char ***entries, size_t *n);

/*
 * `labctl grub install`: the chain drop-in and the menu-entry script into
 * /etc/grub.d, the board's grub.cfg regenerated (update-grub,
 * grub2-mkconfig or grub-mkconfig) and checked with grub-script-check.
 * diff gets a unified diff of what changes (empty: nothing).  dry_run:
 * only the diff and the plan (into plan), nothing changed.
 */
int board_grub_install(const struct lab *lab, struct lab_ssh *s,
		       bool dry_run, struct strbuf *diff, struct strbuf *plan);

/*
 * Soft reboot over ssh (board.reboot, detached so the session ends
 * cleanly), wait for the board to go down (board.down_timeout) and, when
 * wait_up, to answer ssh again (board.up_timeout).  *s is closed (and,
 * after wait_up, replaced by a new session).  -LAB_ETIMEDOUT/-LAB_EINFRA
 * when it does not go down or come back.
 */
int board_reboot(const struct lab *lab, struct lab_ssh **s, bool wait_up);
/* Wait until the board answers ssh (after a power cycle, say). */
int board_wait_up(const struct lab *lab, struct lab_ssh **s, int64_t timeout_ms);

/*
 * What a verb that works on a real board holds: the lease (taken unless
 * the lab says otherwise) and one ssh session for the whole verb.
 */
#include "labctl/lease.h"

struct board_session {
	const struct lab *lab;
	struct lease lease;
	bool leased;
	struct lab_ssh *ssh;
};

/*
 * Take the lease (lo != NULL), then connect (a real board; a virtual one
 * has no ssh and bs->ssh stays NULL).  Call board_session_close whatever
 * it returns: when only the connection failed, the lease is still held.
 */
int board_session_open(struct board_session *bs, const struct lab *lab,
		       const struct lease_take_opts *lo);
/* Only the lease (power, console: they do not need the board's ssh). */
int board_session_lease(struct board_session *bs, const struct lab *lab,
			const struct lease_take_opts *lo);
void board_session_close(struct board_session *bs);

#endif
