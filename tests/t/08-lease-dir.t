#!/bin/bash
# Local leases (a virtual board's) live beside the board's state: in
# $LABCTL_STATE_DIR/leases when it is set (issue 12), so two state
# directories are two boards.  lock.dir in the lab file, then
# $LABCTL_LOCK_DIR, still come first; without any of them,
# /tmp/labctl-<uid>/leases.
. "$(dirname "$0")/lib.sh"
command -v flock >/dev/null || skip_all "no flock(1)"

unset LABCTL_LOCK_DIR LABCTL_LAB
export LABCTL_LABS=$T/labs LABCTL_IMAGES=$T/images LABCTL_STATE_DIR=$T/state
mkdir -p "$T/labs"
printf '[board]\ntype = qemu\n\n[variant v64]\narch = amd64\n' >"$T/labs/vq.conf"

USER=alice run_labctl lock vq --ttl 5m
is "$rc" 0 "alice locks vq"
ok "the lease is in \$LABCTL_STATE_DIR/leases" test -s "$T/state/leases/vq.lease"
like "$(cat "$T/state/leases/vq.lease" 2>/dev/null)" alice "it is alice's"
USER=bob run_labctl lock vq
is "$rc" 3 "bob, same state dir: refused (exit 3)"
like "$err" "vq is reserved by alice@" "bob, same state dir: names alice"
USER=bob LABCTL_STATE_DIR=$T/state2 run_labctl lock vq --ttl 5m
is "$rc" 0 "bob, another state dir: another board, locked"
ok "bob's lease is in his state dir" test -s "$T/state2/leases/vq.lease"
USER=bob LABCTL_STATE_DIR=$T/state2 run_labctl unlock vq
is "$rc" 0 "bob unlocks his"

# LABCTL_LOCK_DIR still wins over the state dir.
USER=carol LABCTL_LOCK_DIR=$T/locks run_labctl lock vq --ttl 5m
is "$rc" 0 "carol, LABCTL_LOCK_DIR set: locked there"
ok "carol's lease is in \$LABCTL_LOCK_DIR" test -s "$T/locks/vq.lease"
USER=carol LABCTL_LOCK_DIR=$T/locks run_labctl unlock vq
# And lock.dir in the lab file over both.
printf '[lock]\ndir = %s\n' "$T/labdir" >>"$T/labs/vq.conf"
USER=dave LABCTL_LOCK_DIR=$T/locks run_labctl lock vq --ttl 5m
is "$rc" 0 "dave, lock.dir in the lab: locked there"
ok "dave's lease is in lock.dir" test -s "$T/labdir/vq.lease"
USER=dave run_labctl unlock vq
sed -i '/^\[lock\]/,$d' "$T/labs/vq.conf"
USER=alice run_labctl unlock vq
is "$rc" 0 "alice unlocks"

done_testing
