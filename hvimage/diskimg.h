/* SPDX-License-Identifier: MIT */
/*
 * The QEMU virtual board's disk: an MBR disk image with GRUB (i386-pc) in
 * the boot sector and post-MBR gap, and one FAT partition holding
 * /boot/grub/{grub.cfg,grubenv} and /boot/xmhf/<variant>/.  Built without
 * root:
 *
 *   sector 0        boot.img's first 440 bytes, a fixed disk id, one
 *                   partition (type 0x0e FAT16 LBA, bootable, from sector
 *                   2048 to the end), 55 aa -- written here, as sfdisk
 *                   would (sfdisk itself calls sync(2): 250 ms on a busy
 *                   machine, and the table is 16 bytes)
 *   sectors 1..     core.img from grub-mkimage -O i386-pc with
 *                   DISKIMG_GRUB_MODULES and prefix (hd0,msdos1)/boot/grub
 *   1 MiB..         the FAT file system: mformat, mmd, mcopy (mtools with
 *                   -i disk.img@@1M)
 *
 * Speed: grub-mkimage takes ~170 ms (lzma) and each mtools run a few ms
 * (more on a loaded machine), so $XDG_CACHE_HOME/labctl (default
 * ~/.cache/labctl) keeps GRUB's core.img and, per size, the finished empty
 * image as a template: a later create is a sparse copy of ~1 MiB of data
 * (a few ms).  Both are keyed by the module list, the prefix and the
 * identity (size, mtime, inode) of grub-mkimage, mformat, boot.img,
 * kernel.img, moddep.lst and the GRUB module directory, so an upgrade of
 * GRUB or mtools makes new ones; a missing or unwritable cache only costs
 * time.  The module directory is $LABCTL_GRUB_PC_DIR, default
 * /usr/lib/grub/i386-pc.
 *
 * /boot/grub/grubenv is created with the exact 1024 bytes of
 * `grub-editenv FILE create`; a FAT file's clusters are always allocated,
 * so GRUB's save_env can write it in place.
 *
 * Paths inside the image ("/boot/grub/grub.cfg") are absolute, '/'
 * separated, components of [A-Za-z0-9._+=,@-] and not "." or "..": no
 * mtools wildcards.  The image must not be in use by a running QEMU while
 * it is written.  All functions return 0 or a negative LAB_E* with a
 * message (lib/err.h).
 */
#ifndef HVIMAGE_DISKIMG_H
#define HVIMAGE_DISKIMG_H

#include <stddef.h>

#define DISKIMG_PART_OFFSET (1024 * 1024)	/* partition 1 at sector 2048 */
#define DISKIMG_DEFAULT_MIB 32
#define DISKIMG_MIN_MIB 4
#define DISKIMG_MAX_MIB 2048			/* FAT16 */
#define DISKIMG_GRUB_PREFIX "(hd0,msdos1)/boot/grub"
#define DISKIMG_GRUB_MODULES \
	"biosdisk part_msdos fat normal multiboot serial terminal loadenv " \
	"echo test configfile search search_fs_file gzio halt chain"
#define DISKIMG_GRUB_PC_DIR "/usr/lib/grub/i386-pc"
#define DISKIMG_VOLUME_LABEL "LABCTL"

/*
 * Create path (replacing it atomically: temp file + rename) with GRUB,
 * the directories /boot/grub and /boot/xmhf, and an empty grubenv.
 * size_mib 0 means DISKIMG_DEFAULT_MIB; otherwise DISKIMG_MIN_MIB ..
 * DISKIMG_MAX_MIB, else -LAB_EINVAL.  The file is sparse on the host.
 */
int diskimg_create(const char *path, int size_mib);
/* Copy a local file into the FAT partition at dest ("/boot/grub/grub.cfg"),
 * creating directories; replaces an existing file. */
int diskimg_put(const char *img, const char *local, const char *dest);
/* Same with bytes from memory. */
int diskimg_put_data(const char *img, const void *data, size_t len,
		     const char *dest);
/* Read a file from the FAT partition into out (appended); -LAB_ENOENT
 * when there is no such file (a directory is not a file).  Two mtools
 * runs (mdir, mtype): a few ms. */
struct strbuf;
int diskimg_get(const char *img, const char *src, struct strbuf *out);
/* Remove a file or a directory tree; -LAB_ENOENT when there is none. */
int diskimg_remove(const char *img, const char *path);

#endif
