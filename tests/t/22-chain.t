#!/bin/bash
# labctl chain set/show/clear, checked with the real grub-editenv: the
# slots it writes, stale slots it removes, and the boot-time shift of the
# GRUB drop-in (next_entry <- next_entry_2 <- ... <- next_entry_9), done
# here with grub-editenv the way GRUB's save_env does it.
. "$(dirname "$0")/lib.sh"

[ -x "$LABCTL" ] || skip_all "$LABCTL is not built"
command -v grub-editenv >/dev/null 2>&1 || skip_all "grub-editenv is not installed"

F=$T/grubenv
G=$T/reference

# What GRUB does on one boot with Debian's 00_header plus the drop-in:
# boot next_entry if set (printed), then shift every slot down by one and
# save them all (empty ones too), as `save_env next_entry ... next_entry_9`.
grub_boot() {
	local file=$1 max=${2:-9} k args=() vals=() cur
	cur=$(grub-editenv "$file" list | sed -n 's/^next_entry=//p')
	for ((k = 1; k <= max; k++)); do
		vals[k]=$(grub-editenv "$file" list |
			sed -n "s/^next_entry$([ "$k" = 1 ] || echo "_$k")=//p")
	done
	args+=("next_entry=${vals[2]}")
	for ((k = 2; k < max; k++)); do
		args+=("next_entry_$k=${vals[k + 1]}")
	done
	args+=("next_entry_$max=")
	grub-editenv "$file" set "${args[@]}"
	printf '%s\n' "${cur:-<default>}"
}

# ------------------------------------------------------------ set, show
run_labctl chain set "$F" XMHF-build64 XMHF-build32 XMHF-build32lhv
is "$rc" 0 "chain set on a missing file creates it"
is "$(grub-editenv "$F" list)" "next_entry=XMHF-build64
next_entry_2=XMHF-build32
next_entry_3=XMHF-build32lhv" "grub-editenv reads the three slots"
grub-editenv "$G" create
grub-editenv "$G" set next_entry=XMHF-build64 next_entry_2=XMHF-build32 \
	next_entry_3=XMHF-build32lhv
same_file "$G" "$F" "same bytes as grub-editenv set next_entry=... next_entry_2=..."

run_labctl chain show "$F"
is "$out" "XMHF-build64
XMHF-build32
XMHF-build32lhv" "chain show"
run_labctl --json chain show "$F"
is "$out" "{\"file\":\"$F\",\"chain\":[\"XMHF-build64\",\"XMHF-build32\",\"XMHF-build32lhv\"]}" \
	"chain show --json"

# ---------------------------------------------------------- the boots
is "$(grub_boot "$F")" "XMHF-build64" "boot 1 runs stage 1"
run_labctl chain show "$F"
is "$out" "XMHF-build32
XMHF-build32lhv" "after boot 1 the chain has two stages left"
is "$(grub_boot "$F")" "XMHF-build32" "boot 2 runs stage 2"
is "$(grub_boot "$F")" "XMHF-build32lhv" "boot 3 runs stage 3"
is "$(grub_boot "$F")" "<default>" "boot 4 runs the default entry"
run_labctl chain show "$F"
is "$rc:$out" "0:" "the chain is used up (nine empty slots are left)"
is "$(grub-editenv "$F" list | grep -c '^next_entry')" 9 "GRUB saved all nine slots"

# ------------------------------------------- shorter chain, stale slots
run_labctl chain set "$F" XMHF-build64 default
is "$rc" 0 "chain set over the nine saved slots"
is "$(grub-editenv "$F" list)" "next_entry=XMHF-build64
next_entry_2=0" "stale next_entry_3..9 removed, default stored as 0"
run_labctl chain set "$F" A
is "$(grub-editenv "$F" list)" "next_entry=A" "chain of one"

grub-editenv "$F" set other=keep next_entry_12=far next_entry_5=old saved_entry=x
run_labctl chain set "$F" B C
is "$(grub-editenv "$F" list)" "next_entry=B
other=keep
saved_entry=x
next_entry_2=C" "stale slots beyond the chain removed, other variables kept in place"

# --------------------------------------------------------- max stages
run_labctl chain set "$F" 1 2 3 4 5 6 7 8 9
is "$rc" 0 "chain of nine (the default --max-stages)"
run_labctl chain show "$F"
is "$(echo "$out" | tr '\n' ' ')" "1 2 3 4 5 6 7 8 9 " "nine stages shown"
cp "$F" "$T/before"
run_labctl chain set "$F" 1 2 3 4 5 6 7 8 9 10
is "$rc" 2 "ten entries: exit 2"
like "$err" "10 entries, but the chain has at most 9 stages" "ten entries: message"
same_file "$T/before" "$F" "ten entries: file unchanged"
run_labctl chain set --max-stages 12 "$F" 1 2 3 4 5 6 7 8 9 10 11 12
is "$rc" 0 "--max-stages 12 allows twelve"
is "$(grub-editenv "$F" list | sed -n 's/^next_entry_12=//p')" 12 "next_entry_12 written"
run_labctl chain set --max-stages=2 "$F" x y
is "$rc:$(grub-editenv "$F" list | grep -c next_entry)" "0:2" "--max-stages=2 form; slots 3..12 removed"

# ------------------------------------------------------- entry names
run_labctl chain set "$F" "Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-18-amd64" \
	'we\ird "name" $x'
is "$rc" 0 "entries with spaces, '>', quotes, '\$' and backslashes"
run_labctl chain show "$F"
is "$out" 'Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 6.1.0-18-amd64
we\ird "name" $x' "read back unescaped"
is "$(grub-editenv "$F" list | sed -n 's/^next_entry_2=//p')" 'we\ird "name" $x' \
	"grub-editenv reads the same value"

cp "$F" "$T/before"
for bad in "" "two
lines" "cr"$'\r'; do
	run_labctl chain set "$F" ok "$bad"
	is "$rc" 2 "entry $(printf %q "$bad") rejected with exit 2"
	same_file "$T/before" "$F" "entry $(printf %q "$bad"): file unchanged"
done
like "$err" "contains a carriage return" "carriage return: message"

# ------------------------------------------------------- all or nothing
"$LABCTL" grubenv "$T/small" create --size 140
grub-editenv "$T/small" set next_entry_4=old
cp "$T/small" "$T/before"
run_labctl chain set "$T/small" aaaaaaaaaaaaaaa bbbbbbbbbbbbbbb ccccccccccccccc
is "$rc" 2 "a chain that does not fit: exit 2"
like "$err" "environment block too small" "a chain that does not fit: message"
same_file "$T/before" "$T/small" "a chain that does not fit: nothing written (stale slot kept)"

# ----------------------------------------------------------------- clear
grub-editenv "$F" set saved_entry=x
run_labctl chain set "$F" A B C
run_labctl chain clear "$F"
is "$rc" 0 "chain clear"
is "$(grub-editenv "$F" list)" "other=keep
saved_entry=x" "chain clear removes every slot, keeps the rest"
run_labctl chain show "$F"
is "$rc:$out" "0:" "show after clear: empty"
run_labctl chain clear "$T/none"
is "$rc" 0 "chain clear of a missing file succeeds"
ok "chain clear of a missing file creates nothing" test ! -e "$T/none"

# ---------------------------------------- gaps and duplicates (hand edits)
grub-editenv "$F" create
grub-editenv "$F" set next_entry=first next_entry_3=third
run_labctl chain show "$F"
is "$out" "first

third" "a gap is shown as an empty line (GRUB boots its default there)"
printf '%s\n' "# GRUB Environment Block" "next_entry=old" "next_entry=new" >"$F"
head -c 200 /dev/zero | tr '\0' '#' >>"$F"
run_labctl chain show "$F"
is "$out" "new" "duplicates: show what GRUB's load_env ends up with (the last)"
run_labctl chain set "$F" X
is "$(grub-editenv "$F" list)" "next_entry=X" "duplicates removed by chain set"

done_testing
