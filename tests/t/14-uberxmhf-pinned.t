#!/bin/bash
# scripts/uberxmhf-pinned makes ~/uberxmhf from the pinned tarballs as a
# user's clone has it (branches xmhf64 and lhv), so labs/bochs.conf builds
# the real XMHF64 and LHV on a fresh clone; bad usage, an existing DEST and
# missing tarballs change nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xmhf-src.sh"
xmhf_src_need
S=$TOP/scripts/uberxmhf-pinned
plan 14

export LABCTL_XMHF_DIR=$XMHF_TARBALL_DIR

out=$("$S" 2>&1); rc=$?
is "$rc" 2 "no DEST: exit 2"
like "$out" '^usage: scripts/uberxmhf-pinned DEST' "no DEST: the usage line"

mkdir "$T/mine"; echo keep >"$T/mine/file"
out=$("$S" "$T/mine" 2>&1); rc=$?
is "$rc" 2 "an existing DEST: exit 2"
like "$out" 'exists; give a new directory \(nothing was changed\)' "an existing DEST: says so"
is "$(ls -A "$T/mine")" "file" "an existing DEST: left as it was"

mkdir "$T/empty"
out=$(LABCTL_XMHF_DIR=$T/empty "$S" "$T/none" 2>&1); rc=$?
is "$rc" 3 "no tarballs: exit 3"
like "$out" 'no uberxmhf-\{xmhf64,lhv\}-\*\.tar\.xz' "no tarballs: names what it looked for"
ok "no tarballs: no DEST and no temporary left" test -z "$(ls -A "$T" | grep -v '^mine$\|^empty$')"

out=$(timeout 120 "$S" "$T/uberxmhf" 2>&1); rc=$?
is "$rc" 0 "pinned tarballs: exit 0"
is "$(git -C "$T/uberxmhf" branch --show-current)" xmhf64 "the xmhf64 branch is checked out"
is "$(git -C "$T/uberxmhf" for-each-ref --format='%(refname:short)' refs/heads | sort | tr '\n' ' ')" \
	"lhv xmhf64 " "branches lhv and xmhf64"
ok "the xmhf64 tree is XMHF64's (build.sh, no --lhv-opt)" \
	sh -c "test -f '$T/uberxmhf/tools/ci/build.sh' && ! grep -q -- '--lhv-opt' '$T/uberxmhf/tools/ci/build.sh'"
ok "the lhv branch has LHV's --lhv-opt" \
	sh -c "git -C '$T/uberxmhf' show lhv:tools/ci/build.sh | grep -q -- '--lhv-opt'"
ok "the work tree is clean" test -z "$(git -C "$T/uberxmhf" status --porcelain)"
