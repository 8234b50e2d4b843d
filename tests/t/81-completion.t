#!/bin/bash
# bash completion (issue 12): `make install` puts it in
# PREFIX/share/bash-completion/completions/labctl; sourced in bash, it
# completes verbs, global and per-verb options, labs (--lab too), the
# variants of the lab named on the line (or of the default lab), power
# actions and result ids, all read off labctl itself.
. "$(dirname "$0")/lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"

kind=$(basename "$(dirname "$(dirname "$LABCTL")")")
install_it() {
	make -s -C "$TOP" install PREFIX="$T/pfx" BUILD_KIND="$kind" \
		DEVELOPER=1 SANITIZE=address,undefined >"$T/install.log" 2>&1
}
ok "make install PREFIX=\$T/pfx" install_it || diag "$(tail -20 "$T/install.log")"
C=$T/pfx/share/bash-completion/completions/labctl
ok "installed share/bash-completion/completions/labctl" test -s "$C"

mkdir -p "$T/labs" "$T/work"
cat >"$T/labs/mylab.conf" <<'CONF'
[board]
type = qemu

[variant alpha64]
arch = amd64
options = 0x400

[variant beta32]
arch = i386
CONF
export LABCTL_LABS=$T/labs:$TOP/labs LABCTL_STATE_DIR=$T/state LABCTL_IMAGES=$T/images
export LABCTL_HYPERVISOR_DIR=$TOP/hypervisor
unset LABCTL_LAB
cd "$T/work" || exit 1
at_exit "pkill -KILL -f -- '[q]emu-system-x86_64 .*$T/state' || true"
LABCTL_TIMEOUT=120 run_labctl run mylab alpha64
is "$rc" 0 "a run to have a result id"
[ "$rc" = 0 ] || diag "$out" "$err"
id=$(ls results | grep -E '^[0-9]{14}(-[0-9]+)?$' | head -1)

# complete WORD...: the completions for the command line WORD... (the last
# word is the one under the cursor), one per line, sorted.
complete_line() {
	bash -c '. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_labctl; printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$C" "$LABCTL" "$@"
}
has() { grep -qx -- "$2" <<<"$1"; }

r=$(complete_line "")
ok "verbs: run" has "$r" run
ok "verbs: opt-bisect" has "$r" opt-bisect
ok "verbs: results" has "$r" results
is "$(complete_line re | tr '\n' ' ')" "reboot report results " "verbs by prefix"
is "$(complete_line --l)" "--lab" "global option --lab"
r=$(complete_line --lab "")
ok "--lab: labs (mylab)" has "$r" mylab
ok "--lab: labs (qemu)" has "$r" qemu
r=$(complete_line run "")
ok "run: labs" has "$r" mylab
ok "run: variants of the default lab" has "$r" build32lhv
is "$(complete_line run mylab "" | tr '\n' ' ')" "alpha64 beta32 " "run LAB: that lab's variants"
is "$(complete_line run mylab alpha64 b)" "beta32" "run LAB V: more variants, by prefix"
is "$(complete_line --lab mylab build "" | grep -c alpha64)" 1 "--lab LAB build: its variants"
is "$(complete_line power mylab "" | tr '\n' ' ')" "cycle off on press reset status " \
	"power LAB: actions"
is "$(complete_line chain mylab set "" | tr '\n' ' ')" "alpha64 beta32 " \
	"chain LAB set: variants"
r=$(complete_line run --t)
ok "run options: --timeout" has "$r" --timeout
ok "run options: --tap" has "$r" --tap
is "$(complete_line log --s)" "--stage
--strip-ansi" "log options"
r=$(complete_line log "")
ok "log: result ids" has "$r" "$id"
ok "log: latest" has "$r" latest
r=$(complete_line diff "$id" "")
ok "diff A: result ids for B" has "$r" "$id"
is "$(complete_line results "")" reindex "results: reindex"
is "$(complete_line help bui)" build "help: verbs"

done_testing
