# The pinned real XMHF64 and LHV sources for tests (source it after lib.sh):
#   . "$(dirname "$0")/xmhf-src.sh"
#   xmhf_src_need            # skip_all unless the tarballs, git, tar, xz
#   xmhf_build_need          # skip_all unless build.sh's tools are here
#   xmhf_src_repo            # sets XMHF_REPO, XMHF_PLAIN_XMHF64, XMHF_PLAIN_LHV,
#                            # XMHF_CACHE, XMHF_KEY
# The tarballs (shared/xmhf/uberxmhf-{xmhf64,lhv}-*.tar.xz next to the
# checkout or the main checkout of a worktree, or $LABCTL_XMHF_DIR, its old
# name $LABCTL_XMHF_SRC; XMHF_TARBALL_DIR says which) are unpacked once per pair of sha256s into
# build/xmhf-src/<key>/:
#   repo/         one git repo with both branches, as a user's ~/uberxmhf:
#                 xmhf64 (checked out) and lhv, one commit each
#   uberxmhf-xmhf64/ uberxmhf-lhv/
#                 the unpacked trees as they come (plain directories)
# and XMHF_CACHE=build/xmhf-cache/<key> is a build cache (LABCTL_CACHE_DIR)
# the whole suite shares: a variant built by one test, or by the previous
# `make check`, is a cache hit for the next.  Tests that build from the
# repo use the variant names and args of xmhf_src_lab, so their inputs
# (commit, args, name, compiler) are the same everywhere.

xmhf_src_need() {
	local d p common=
	XMHF_TARBALL_XMHF64= XMHF_TARBALL_LHV=
	# From a git worktree: next to the main checkout.
	common=$(git -C "$TOP" rev-parse --path-format=absolute --git-common-dir 2>/dev/null) &&
		common=$(dirname "$common")/../shared/xmhf
	for d in "${LABCTL_XMHF_DIR:-}" "${LABCTL_XMHF_SRC:-}" "$TOP/../shared/xmhf" \
		"$common" "$TOP/../../shared/xmhf"; do
		[ -n "$d" ] || continue
		XMHF_TARBALL_XMHF64=$(ls "$d"/uberxmhf-xmhf64-*.tar.xz 2>/dev/null | head -1)
		XMHF_TARBALL_LHV=$(ls "$d"/uberxmhf-lhv-*.tar.xz 2>/dev/null | head -1)
		[ -n "$XMHF_TARBALL_XMHF64" ] && [ -n "$XMHF_TARBALL_LHV" ] &&
			XMHF_TARBALL_DIR=$d && break
	done
	[ -n "$XMHF_TARBALL_XMHF64" ] && [ -n "$XMHF_TARBALL_LHV" ] ||
		skip_all "no uberxmhf-{xmhf64,lhv}-*.tar.xz (set LABCTL_XMHF_DIR)"
	for p in git tar xz sha256sum; do
		command -v "$p" >/dev/null || skip_all "no $p (scripts/install-deps)"
	done
}

xmhf_build_need() {
	local p
	for p in make gcc autoreconf automake; do
		command -v "$p" >/dev/null || skip_all "no $p (scripts/install-deps)"
	done
	echo 'int x;' | gcc -m32 -x c -c -o /dev/null - 2>/dev/null ||
		skip_all "no gcc -m32 (gcc-multilib)"
}

# Commit the tree in dir on a new branch (an orphan: the branches share no
# history, as the snapshots do not say it).
_xmhf_commit() {
	local repo=$1 branch=$2 tree=$3 msg=$4
	git -C "$repo" checkout -q --orphan "$branch" &&
		git -C "$repo" rm -rqf --ignore-unmatch . &&
		git -C "$repo" clean -qfdx &&
		cp -a "$tree/." "$repo/" &&
		git -C "$repo" add -A -f &&
		git -C "$repo" -c user.name=labctl -c user.email=t@labctl \
			-c commit.gpgsign=false commit -qm "$msg"
}

xmhf_src_repo() {
	local sx sl tmp
	sx=$(sha256sum "$XMHF_TARBALL_XMHF64" | cut -d' ' -f1)
	sl=$(sha256sum "$XMHF_TARBALL_LHV" | cut -d' ' -f1)
	XMHF_KEY=$(printf 'layout 1 %s %s\n' "$sx" "$sl" | sha256sum | cut -c1-32)
	local dir=$TOP/build/xmhf-src/$XMHF_KEY
	if [ ! -f "$dir/.done" ]; then
		mkdir -p "$TOP/build/xmhf-src"
		tmp=$(mktemp -d "$TOP/build/xmhf-src/tmp.XXXXXX")
		at_exit "rm -rf '$tmp'"
		{ tar -C "$tmp" -xJf "$XMHF_TARBALL_XMHF64" &&
			tar -C "$tmp" -xJf "$XMHF_TARBALL_LHV" &&
			git init -q "$tmp/repo" &&
			_xmhf_commit "$tmp/repo" lhv "$tmp/uberxmhf-lhv" "${XMHF_TARBALL_LHV##*/}" &&
			_xmhf_commit "$tmp/repo" xmhf64 "$tmp/uberxmhf-xmhf64" "${XMHF_TARBALL_XMHF64##*/}"; } &&
			[ "$(git -C "$tmp/repo" branch --show-current)" = xmhf64 ] &&
			touch "$tmp/.done" &&
			{ mv -T "$tmp" "$dir" 2>/dev/null || [ -f "$dir/.done" ]; } ||
			skip_all "cannot unpack the XMHF tarballs into $dir"
	fi
	XMHF_REPO=$dir/repo
	XMHF_PLAIN_XMHF64=$dir/uberxmhf-xmhf64
	XMHF_PLAIN_LHV=$dir/uberxmhf-lhv
	XMHF_CACHE=$TOP/build/xmhf-cache/$XMHF_KEY
	mkdir -p "$XMHF_CACHE"
}

# xmhf_src_lab FILE SRC: a QEMU lab with the suite's two real variants from
# the repo SRC (a clone of XMHF_REPO, or XMHF_REPO itself): x64 is XMHF64
# amd64 fast (branch xmhf64, checked out), lhv is LHV 0x1fc (rev = lhv).
xmhf_src_lab() {
	cat >"$1" <<CONF
[board]
type = qemu

[variant x64]
recipe = xmhf64
src = $2
args = amd64 fast

[variant lhv]
recipe = xmhf64
src = $2
rev = lhv
args = amd64 --lhv-opt 0x1fc
CONF
}
