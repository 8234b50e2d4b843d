#!/bin/bash
# `labctl run` on a real board (issue 4): build, deploy over SFTP, check and
# set the GRUB chain on the board, open the board's console, soft-reboot it
# over ssh, capture, judge; a board stuck in a hypervisor is power-cycled
# back to its OS first; a lease stolen mid-run is recorded in the results.
#
# The board is a real sshd in a network namespace (board.sh).  Its
# "firmware" is emulated here, the one part no test machine can run for
# real: fw_loop plays GRUB, reading the grubenv labctl wrote on the board.
# While a chain is set the next boot runs the hypervisors (the board stays
# off the network, board.sh's hang flag) and the chain is consumed; the
# console (a TCP port, socat) prints one stand-in banner per stage and the
# last stage's iteration lines, or a Fatal line for a variant named vfatal.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/board.sh"
why=$(board_check) || skip_all "$why"
command -v socat >/dev/null || skip_all "no socat"

board_start lh
LH_IP=$BOARD_IP
board_start b1
export HOME=$BOARD_HOME
export LABCTL_LABS=$T/labs LABCTL_IMAGES=$T/images
mkdir -p "$T/labs"
STATE=$BOARD_ROOT/var/lib/labctl-test
echo 1 >"$STATE/down-seconds"

# The console: whatever fw_loop appends to console.out, from now on.
: >"$T/console.out"
cport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
	echo $((20000 + $$ % 20000)))
socat TCP-LISTEN:"$cport",bind=127.0.0.1,reuseaddr,fork \
	SYSTEM:"exec tail -n 0 -F $T/console.out" 2>/dev/null &
at_exit "kill $!"

fw_transcript() { # ENTRY... : what the board prints booting this chain
	local e v i last=${!#}
	for e in "$@"; do
		v=${e#XMHF-}
		printf 'GRUB: booting %s\n' "$e"
		printf 'Stand-in Hypervisor (labctl) variant=%s arch=amd64 HV_OPT=0x0\n' "$v"
		if [ "$v" = vfatal ]; then
			printf 'Fatal: Halting! (emulated)\n'
			return
		fi
		[ "$v" = vslow ] && sleep 6
	done
	for i in $(seq 1 25); do printf 'CPU(0x00): test iter %d\n' "$i"; done
	printf 'Stand-in: all CPUs passed\n'
	: "$last"
}
fw_loop() {
	local env=$BOARD_ROOT/boot/grub/grubenv prev= s chain
	while :; do
		if grub-editenv "$env" list 2>/dev/null | grep -q '^next_entry=.'; then
			touch "$STATE/hang"
		else
			rm -f "$STATE/hang"
		fi
		s=$(board_state b1)
		if [ "$s" = hung ] && [ "$prev" != hung ]; then
			chain=$(grub-editenv "$env" list | sed -n 's/^next_entry\(_[0-9]*\)\{0,1\}=//p' | tr '\n' ' ')
			echo "$chain" >>"$T/fw.chains"
			grub-editenv "$env" unset next_entry next_entry_2 next_entry_3 \
				next_entry_4 next_entry_5 next_entry_6 next_entry_7 \
				next_entry_8 next_entry_9
			# shellcheck disable=SC2086
			fw_transcript $chain | tee -a "$T/lh/root/tmp/console.out" >>"$T/console.out"
		fi
		prev=$s
		sleep 0.1
	done
}
fw_loop &
at_exit "kill $!"

cat >"$T/cycle.sh" <<EOF
#!/bin/sh
echo cycle >"$BOARD_CONTROL"
EOF
chmod +x "$T/cycle.sh"

write_lab() { # EXTRA
	cat >"$T/labs/b1.conf" <<EOF
[board]
type = pc
host = $BOARD_IP
user = $BOARD_USER
reboot = $BOARD_REBOOT_CMD
connect_timeout = 2s
down_timeout = 10s
up_timeout = 20s

[console]
${CONSOLE:-driver = tcp
host = 127.0.0.1
port = $cport}

[deploy]
sudo = yes

[lock]
where = host
host = $LH_IP
ttl = 3s

[watch]
timeout = 40s
stage_timeout = 30s
silence_timeout = 20s

[variant v64]
arch = amd64

[variant v32]
arch = i386

[variant v32lhv]
arch = i386
options = 0x400

[variant vfatal]
arch = amd64
options = 0x404

[variant vslow]
arch = amd64
options = 0x410
${1:-}
EOF
}
write_lab
run_labctl grub install b1
is "$rc" 0 "grub install on the board"

# A chain that ends in the board's OS needs a rule set that says when it
# is up (linux): without one the run is refused before anything is touched.
env0=$(grub-editenv "$BOARD_ROOT/boot/grub/grubenv" list)
run_labctl run b1 v64 default
is "$rc" 2 "ends in the OS, no rule set for it: exit 2"
like "$err" "b1.conf: the chain ends in the board's OS \\(default\\), but no rule set says when it is up: add linux to \\[watch\\] rules" \
	"... and it says what to add"
is "$(grub-editenv "$BOARD_ROOT/boot/grub/grubenv" list)" "$env0" "... the board's grubenv is untouched"
ok "... nothing was deployed" test ! -e "$BOARD_ROOT/boot/xmhf/v64"

# ---------------------------------------------------------------- a pass
boots0=$(cat "$STATE/boots")
run_labctl run b1 v64 v32 v32lhv
is "$rc" 0 "run on a real board: pass" || diag "$err"
like "$out" "PASS" "run: the verdict"
is "$(tail -n 1 "$T/fw.chains")" "XMHF-v64 XMHF-v32 XMHF-v32lhv " \
	"the board's firmware read the chain labctl set over ssh"
same_file "$T/images/v32lhv/init.bin" "$BOARD_ROOT/boot/xmhf/v32lhv/init.bin" \
	"run: the images were deployed"
res=$(ls -t results/2* | grep -v '\.' | head -n 1)
like "$(cat "$res")" "variant=v64 .*" "run: the console was captured from the first stage"
like "$(cat "$res.json")" '"SOFT_REBOOT"' "run: the soft reboot is in the results"
is "$(cat "$STATE/boots")" "$boots0" "the board went straight into the hypervisors (no OS boot)"

# ---------------------------------------------------------------- stuck board
# The board still runs the last hypervisor: no ssh.  Without a power driver
# labctl says so; with one it power-cycles the board back to its OS first.
is "$(board_state b1)" hung "the board is still in the hypervisor"
start=$(date +%s)
run_labctl run b1 v32lhv
is "$rc" 3 "a board that does not answer ssh, no power driver: exit 3"
like "$err" "does not answer ssh.*no \\[power\\] driver" "says what is missing"
ok "gave up within connect timeout + a few s ($(($(date +%s) - start)) s)" \
	test $(($(date +%s) - start)) -le 10

write_lab "
[power]
driver = cmd
cycle = $T/cycle.sh"
run_labctl run b1 vfatal
is "$rc" 1 "power-cycled back to its OS, then the chain: a Fatal fails the run" || diag "$err"
like "$out" "Fatal: Halting" "the failing line is the reason"
like "$err" "power-cycl" "says it power-cycled the stuck board"
is "$(tail -n 1 "$T/fw.chains")" "XMHF-vfatal " "the firmware booted the new chain"

# The same through the ssh console: a command on the lab host (where the
# board's serial cable would plug in), over a second ssh session.
: >"$T/lh/root/tmp/console.out"
chmod 666 "$T/lh/root/tmp/console.out"
CONSOLE="driver = ssh
host = $LH_IP
user = $BOARD_USER
command = tail -n 0 -F /tmp/console.out" write_lab "
[power]
driver = cmd
cycle = $T/cycle.sh"
before=$(ls results | wc -l)
run_labctl run b1 v64 v32lhv
is "$rc" 0 "run with the ssh console (tail on the lab host): pass" || diag "$err"
res=$(ls -t results/2* | grep -v '\.' | head -n 1)
ok "a new result" test "$(ls results | wc -l)" -gt "$before"
like "$(cat "$res")" "variant=v32lhv .*" "the ssh console captured the stages"
write_lab

# ---------------------------------------------------------------- stolen lease
board_power b1 cycle
board_wait b1 up 20
USER=alice "$LABCTL" run b1 vslow --results "$T/alice" >"$T/alice.out" 2>&1 &
apid=$!
for _ in $(seq 1 150); do
	grep -q "owner=alice@" "$T/lh/root/var/tmp/labctl-leases/b1.lease" 2>/dev/null && break
	sleep 0.1
done
sleep 1
USER=bob run_labctl lock b1 --steal
is "$rc" 0 "bob steals the board during alice's run"
wait "$apid"
ajson=$(ls "$T"/alice/2*.json 2>/dev/null | head -n 1)
like "$(cat "$ajson" 2>/dev/null)" 'LEASE_STOLEN_BY[^}]*bob@' \
	"alice's results record who took the board"
like "$(cat "$T/alice.out")" "taken by bob@" "alice is told"

done_testing
