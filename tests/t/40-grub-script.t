#!/bin/bash
# The GRUB scripts labctl generates are valid GRUB script for GRUB's own
# parser (grub-script-check), as raw text and as /etc/grub.d shell scripts,
# for every lab in the repo and for awkward names.
. "$(dirname "$0")/lib.sh"
cd "$TOP"
command -v grub-script-check >/dev/null || skip_all "grub-script-check missing (scripts/install-deps)"

# The checker must be able to fail, or the rest proves nothing.
printf 'if [ x ] ; then\n  echo unterminated\n' >"$T/bad.grub"
grub-script-check "$T/bad.grub" >/dev/null 2>&1
isnt_zero=$?
[ "$isnt_zero" != 0 ] && pass "grub-script-check rejects a broken script" ||
	fail "grub-script-check rejects a broken script"

for lab in labs/*.conf; do
	name=$(basename "$lab" .conf)
	for part in chain entries cfg; do
		run_labctl grub script "$name" "$part" --raw
		is "$rc" 0 "$name $part --raw exits 0"
		printf '%s\n' "$out" >"$T/$name.$part.grub"
		grub-script-check "$T/$name.$part.grub" >"$T/check.out" 2>&1
		is "$?" 0 "$name $part passes grub-script-check"
	done
	run_labctl grub script "$name" entries
	printf '%s\n' "$out" | sh | grub-script-check >/dev/null 2>&1
	is "$?" 0 "$name: the /etc/grub.d entries script's output passes grub-script-check"
done

# The chain drop-in shifts exactly next_entry_2..N for max_stages = N.
mkdir -p "$T/labs"
cat >"$T/labs/odd.conf" <<'CONF'
[board]
type = laptop
host = board1

[grub]
max_stages = 4
root = (hd0,gpt2)
sinit = /boot/SINIT with space.BIN
cmdline = x2apic=off

[variant a]
recipe = standin
entry = XMHF it's "quoted" $x

[variant b]
recipe = standin
cmdline = foo=$bar
CONF
export LABCTL_LABS=$T/labs
run_labctl grub script odd chain --raw
like "$out" 'set next_entry_3="\$\{next_entry_4\}"' "shift moves next_entry_4 up"
like "$out" 'set next_entry_4=$' "the last slot is emptied"
unlike "$out" 'next_entry_5' "no slot beyond max_stages"
like "$out" 'save_env next_entry next_entry_2 next_entry_3 next_entry_4$' "save_env lists all slots"
printf '%s\n' "$out" >"$T/odd.chain.grub"
ok "odd chain passes grub-script-check" grub-script-check "$T/odd.chain.grub"

run_labctl grub script odd entries --raw
printf '%s\n' "$out" >"$T/odd.entries.grub"
ok "entries with quotes, spaces and \$ pass grub-script-check" grub-script-check "$T/odd.entries.grub"
like "$out" "menuentry 'XMHF it'\\\\''s \"quoted\" \\\$x' \\{" "title is single-quoted with ' escaped"
like "$out" "module '/boot/SINIT with space.BIN'" "SINIT path with a space is quoted"
like "$out" "multiboot /boot/xmhf/b/init.bin serial=115200,8n1,0x3f8 boot_drive=0x80 x2apic=off 'foo=\\\$bar'" "multiboot words quoted one by one"
like "$out" 'set root=\(hd0,gpt2\)' "set root from the lab"
like "$out" 'module --nounzip \(hd0\)\+1' "the boot sector goes in as XMHF's guest"

# --output-dir writes executable scripts atomically, named as the lab says.
mkdir "$T/grub.d"
run_labctl grub script odd --output-dir "$T/grub.d"
is "$rc" 0 "--output-dir exits 0"
ok "chain drop-in is executable" test -x "$T/grub.d/05_labctl_chain"
ok "entries script is executable" test -x "$T/grub.d/42_labctl"
is "$(ls -A "$T/grub.d" | wc -l)" 2 "no temporary files left"
out=$("$T/grub.d/05_labctl_chain" | grub-script-check 2>&1)
is "$?" 0 "running the drop-in prints valid GRUB script"

run_labctl grub script odd --output-dir "$T/nonexistent"
is "$rc" 2 "--output-dir into a missing directory: exit 2 (a bad argument)"
like "$err" "nonexistent" "the message names the directory"

run_labctl grub script odd cfg --output-dir "$T/grub.d"
is "$rc" 2 "cfg with --output-dir: usage error"
run_labctl grub script odd bogus
is "$rc" 2 "unexpected argument: exit 2"
like "$err" "unexpected argument 'bogus'" "unexpected argument is named"
run_labctl grub frob
is "$rc" 2 "unknown grub subcommand: exit 2"
run_labctl grub script nosuchlab
is "$rc" 2 "unknown lab: exit 2"
like "$err" "unknown lab 'nosuchlab'" "unknown lab is named"

done_testing
