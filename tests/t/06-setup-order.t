#!/bin/bash
# `make run`, `make check` and `make bench` install the packages before any
# compiler flag is computed (issue 12.1): on a fresh machine pkg-config
# fails for every package until scripts/install-deps has run, so a flag
# computed earlier is an empty one and the build breaks.  Here a fake
# pkg-config fails until a fake install step (INSTALL_DEPS) has run, and a
# fake compiler records its command line and stops the build at the first
# file: the order and the flags are checked without a fresh machine.
. "$(dirname "$0")/lib.sh"

command -v make >/dev/null || skip_all "no make"

F=$T/fake
mkdir -p "$F"
cat >"$F/pkg-config" <<'SH'
#!/bin/sh
# Fails like a missing package until the fake install step ran.
if [ ! -e "$FAKE_DIR/installed" ]; then
	echo "pkg-config $* before install" >>"$FAKE_DIR/log"
	echo "Package $2 was not found in the pkg-config search path." >&2
	exit 1
fi
echo "pkg-config $*" >>"$FAKE_DIR/log"
case "$*" in
*--cflags*) echo "-DFAKE_PKG_CFLAGS_AFTER_INSTALL" ;;
*--libs*) echo "-lfake_after_install" ;;
esac
SH
cat >"$F/cc" <<'SH'
#!/bin/sh
# Records the first compile and stops the build there.
echo "cc $*" >>"$FAKE_DIR/log"
exit 1
SH
cat >"$F/install" <<'SH'
#!/bin/sh
echo "install-deps" >>"$FAKE_DIR/log"
: >"$FAKE_DIR/installed"
SH
chmod +x "$F/pkg-config" "$F/cc" "$F/install"
export FAKE_DIR=$F
# Run from `make check`: the outer make's variables must not leak in.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS DEPS_READY

for target in run check bench; do
	rm -f "$F/log" "$F/installed"
	timeout 60 make -C "$TOP" --no-print-directory "$target" \
		INSTALL_DEPS="$F/install" PKG_CONFIG="$F/pkg-config" \
		CC="$F/cc" FUZZ_CC="$F/cc" BUILDDIR="$T/build-$target" \
		FUZZDIR="$T/fuzz-$target" \
		>"$T/out" 2>&1
	log=$(cat "$F/log" 2>/dev/null)
	is "$(head -1 <<<"$log")" install-deps "make $target: the install step runs first"
	unlike "$log" 'before install' "make $target: no pkg-config call before it"
	like "$(grep '^cc ' <<<"$log" | head -1)" ' -DFAKE_PKG_CFLAGS_AFTER_INSTALL( |$)' \
		"make $target: the first compile has the flags pkg-config gives after the install"
done

done_testing
