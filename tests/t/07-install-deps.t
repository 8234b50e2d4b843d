#!/bin/bash
# scripts/install-deps never removes a package (issue 12.3): when a
# package it would install Conflicts with one the user has (Debian 12's
# gcc-multilib and the i686 cross compilers), it names the conflict and the
# choices and exits 1 before installing anything; otherwise apt-get runs
# with --no-remove.  And its list has what the real XMHF64/LHV builds need
# (issue 12.4).  apt-get, apt-cache, dpkg-query and sudo are stand-ins on
# PATH that log their calls: nothing is installed or removed for real.
. "$(dirname "$0")/lib.sh"

F=$T/fake
mkdir -p "$F"
cat >"$F/dpkg-query" <<'SH'
#!/bin/sh
# Installed unless named in FAKE_MISSING.
for p in $FAKE_MISSING; do
	[ "$p" = "$3" ] && exit 1
done
printf 'install ok installed'
SH
cat >"$F/apt-get" <<'SH'
#!/bin/sh
echo "apt-get $*" >>"$FAKE_DIR/log"
case " $* " in
*" -s "*)
	for r in $FAKE_REMOVE; do echo "Remv $r [12.2.0-14cross1]"; done
	for p in $FAKE_MISSING; do echo "Inst $p (1.0 Debian:12 [amd64])"; done
	;;
esac
exit 0
SH
cat >"$F/apt-cache" <<'SH'
#!/bin/sh
echo "apt-cache $*" >>"$FAKE_DIR/log"
echo "Package: $3"
[ "$3" = gcc-multilib ] &&
	echo "Conflicts: gcc-10-i686-linux-gnu, gcc-12-hppa-linux-gnu, gcc-12-i686-linux-gnu, gcc-9-x86-64-linux-gnu"
echo "Description-en: fake"
SH
cat >"$F/sudo" <<'SH'
#!/bin/sh
[ "$1" = -n ] && shift
exec "$@"
SH
chmod +x "$F"/*
export PATH=$F:$PATH FAKE_DIR=$F
D=$TOP/scripts/install-deps

# install_deps ARGS...: sets out, err, rc, log
install_deps() {
	rm -f "$F/log"
	"$D" "$@" >"$T/o" 2>"$T/e"
	rc=$?
	out=$(cat "$T/o"); err=$(cat "$T/e"); log=$(cat "$F/log" 2>/dev/null)
}

list=" $("$D" --list) "
for p in autoconf automake gcc-multilib make xz-utils git bash perl openssl; do
	case "$p" in
	make) like "$list" " build-essential " "the list has make (build-essential)" ;;
	*) like "$list" " $p " "the list has $p (XMHF64/LHV builds)" ;;
	esac
done

FAKE_MISSING= FAKE_REMOVE=
export FAKE_MISSING FAKE_REMOVE
install_deps --if-missing
is "$rc:$out$err:$log" "0::" "all present: silent, exit 0, apt-get not called"

FAKE_MISSING="gcc-multilib autoconf"
FAKE_REMOVE="gcc-12-i686-linux-gnu gcc-i686-linux-gnu"
install_deps --if-missing
is "$rc" 1 "a conflict: exit 1"
like "$err" 'gcc-multilib conflicts with your gcc-12-i686-linux-gnu$' \
	"names the package and what it conflicts with"
like "$err" 'apt-get would remove: gcc-12-i686-linux-gnu gcc-i686-linux-gnu$' \
	"names everything apt-get would remove"
like "$err" 'Nothing was installed or removed' "says nothing changed"
like "$err" 'sudo apt-get remove gcc-12-i686-linux-gnu gcc-i686-linux-gnu$' \
	"choice 1: remove them yourself (the command)"
like "$err" 'scripts/install-deps --skip gcc-multilib$' \
	"choice 2: keep them and skip gcc-multilib (the command)"
like "$err" "i386 XMHF" "says what each choice costs"
like "$log" 'apt-get install -s --no-install-recommends gcc-multilib autoconf' \
	"only a simulation asked apt-get"
unlike "$(grep -v ' -s ' <<<"$log")" 'apt-get install' "no real apt-get install ran"

FAKE_REMOVE=
install_deps --if-missing
is "$rc" 0 "no conflict: exit 0"
like "$log" 'apt-get install -y -qq --no-remove --no-install-recommends gcc-multilib autoconf' \
	"no conflict: apt-get install with --no-remove"
like "$out" 'installing: gcc-multilib autoconf' "says what it installs"

install_deps --if-missing --skip gcc-multilib
like "$log" 'apt-get install -y -qq --no-remove --no-install-recommends autoconf$' \
	"--skip gcc-multilib leaves it out"
FAKE_MISSING=gcc-multilib
install_deps --skip=gcc-multilib,chromium
is "$rc:$log" "0:" "--skip of the only missing package: nothing to do"
unlike "$("$D" --list --skip gcc-multilib,chromium)" 'gcc-multilib|chromium' \
	"--list honours --skip"

install_deps --check
is "$rc" 1 "--check with a missing package: exit 1"
like "$err" 'missing packages: gcc-multilib' "--check names it"
install_deps --bogus
is "$rc" 2 "unknown option: exit 2"
like "$err" '^usage: scripts/install-deps' "unknown option: usage"
install_deps --skip
is "$rc" 2 "--skip without a package: exit 2"

done_testing
