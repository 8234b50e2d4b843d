#!/bin/bash
# labctl console: the interactive console driven through tmux (send-keys,
# capture-pane) against a socat pty pair (the board's serial port on the
# other end): board output appears, typed bytes reach the board, ~? prints
# the help, ~b sends a break, ~p power-cycles through the lab's (dummy)
# power driver, ~. quits with exit 0 and the terminal is restored; the
# session is captured to results/ and published, so `labctl console LAB
# --follow` shows it live without taking any byte; --no-log; bad input.
# A bare LF from the board is shown as CR LF (no staircase in the raw
# terminal), ~m switches that off and on, --map none starts without it;
# the capture keeps the bytes as sent.  Every message of labctl's is one
# "[labctl: ...]" line; ~? is a block, one line per escape.
. "$(dirname "$0")/lib.sh"

command -v socat >/dev/null || skip_all "no socat"
command -v tmux >/dev/null || skip_all "no tmux"

A=$T/conA.$$
B=$T/conB.$$
socat pty,raw,echo=0,link="$A" pty,raw,echo=0,link="$B" &
SOCAT=$!
at_exit "kill $SOCAT"
for _ in $(seq 100); do [ -e "$A" ] && [ -e "$B" ] && break; sleep 0.02; done

mkdir -p "$T/labs" "$T/work"
cat >"$T/labs/b.conf" <<EOF
[board]
type = pc
host = board.invalid
[power]
driver = dummy
off_time = 0s
state_file = $T/power.state
log = $T/power.log
[console]
driver = tty
device = $A
EOF
export LABCTL_LABS=$T/labs
cd "$T/work" || exit 1

TM="tmux -S $T/tmux.sock"
at_exit "$TM kill-server"
# pane_has REGEX: until the pane shows it (bounded, 10 s: a loaded machine)
pane_has() {
	for _ in $(seq 200); do
		$TM capture-pane -p -t con 2>/dev/null | grep -Eq -- "$1" && return 0
		sleep 0.05
	done
	return 1
}
wait_for() {
	for _ in $(seq 100); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

timeout 20 cat "$B" >"$T/board.in" &
CAT=$!
at_exit "kill $CAT"
$TM new-session -d -s con -x 150 -y 40 \
	"cd $T/work; LABCTL_LABS=$T/labs $LABCTL console b; echo EXIT=\$?; stty -a | grep -o -- '-*icanon' | sed 's/^/TTY=/'; sleep 60"
pane_has '~\? for help'
ok "console: the session starts (says how to get help)" test $? = 0
log=$(ls "$T/work/results" 2>/dev/null | grep -v '\.lines$' | head -1)
ok "console: the session is captured to results/ ($log)" test -n "$log"

# a second viewer follows the live capture
timeout -k 2 20 "$LABCTL" console b --follow >"$T/follow.out" 2>"$T/follow.err" &
FOL=$!
at_exit "kill $FOL"

# a follower started under nohup keeps following through a hangup; a
# SIGTERM ends it as a stop (the stop signals go through lib/stopsig)
(trap '' HUP; exec "$LABCTL" console b --follow) >/dev/null 2>"$T/nohup.err" &
NOH=$!
at_exit "kill $NOH 2>/dev/null"
sleep 0.5
kill -HUP "$NOH"
sleep 0.5
ok "follow under nohup: a SIGHUP does not stop it" kill -0 "$NOH"
kill -TERM "$NOH"
for i in $(seq 50); do kill -0 "$NOH" 2>/dev/null || break; sleep 0.1; done
ok "follow: ... a SIGTERM does" test "$(kill -0 "$NOH" 2>/dev/null; echo $?)" = 1

printf 'board: hello from the serial port\r\n' >"$B"
pane_has 'board: hello from the serial port'
ok "console: the board's output appears" test $? = 0
$TM send-keys -t con 'typed text' Enter
wait_for "$T/board.in" 'typed text'
ok "console: typed bytes reach the board" test $? = 0
$TM send-keys -t con '~?'
pane_has '^  ~~  send one ~'
ok "console: ~? prints the help" test $? = 0
help=$($TM capture-pane -p -t con | sed -n '/escapes, typed after a newline/,/send one ~/p')
is "$(printf '%s\n' "$help" | sed 's/ *$//')" "$(printf '%s\n' \
	'[labctl: escapes, typed after a newline or at the start:]' \
	'  ~.  quit' \
	'  ~b  send a break' \
	'  ~p  power-cycle the board (dummy)' \
	'  ~m  map LF to CR LF on output: on or off (now on)' \
	'  ~?  this help' \
	'  ~~  send one ~')" "console: ~? is a block, one line per escape, each at the line start"
$TM send-keys -t con '~b'
pane_has 'break sent'
ok "console: ~b sends a break on a tty" test $? = 0
$TM send-keys -t con '~p'
pane_has '^\[labctl: b: power cycle: ok, the board is on\]'
ok "console: ~p power-cycles the board, one [labctl: ...] line at the line start" test $? = 0
unlike "$($TM capture-pane -p -t con | sed '1,/~? for help/d')" '(^|[^[])labctl: |^ +\[labctl' \
	"console: ... in the session, no other message style, no staircase"
is "$(tr '\n' ' ' <"$T/power.log" 2>/dev/null)" "off on " "console: ... through its dummy power driver (off, on)"
$TM send-keys -t con '~~x' Enter
wait_for "$T/board.in" '~x'
ok "console: ~~ sends one ~" test $? = 0
# LF alone: each line starts at the left edge (CR LF shown), by default
printf 'lf-one\nlf-two\n' >"$B"
pane_has '^lf-two'
ok "console: a bare LF is shown as CR LF (no staircase)" test $? = 0
$TM send-keys -t con Enter '~m'
pane_has 'LF to CR LF mapping off'
ok "console: ~m switches the mapping off" test $? = 0
printf 'st-one\nst-two\n' >"$B"
pane_has '^ +st-two'
ok "console: ... then a bare LF staircases as the bytes say" test $? = 0
$TM send-keys -t con Enter '~m'
pane_has 'LF to CR LF mapping on'
ok "console: ~m switches it back on" test $? = 0
printf 'board: last words\r\n' >"$B"
pane_has 'board: last words'
$TM send-keys -t con '~.'
pane_has 'EXIT=0'
ok "console: ~. quits with exit 0" test $? = 0
pane_has 'TTY=icanon'
ok "console: the terminal is restored (icanon again)" test $? = 0
wait "$FOL"
is "$?" 0 "follow: ends with exit 0 when the session ends"
same_file "$T/follow.out" "$T/work/results/$log" "follow: printed exactly the captured bytes"
is "$(cat "results/$log")" "$(printf 'board: hello from the serial port\r\nlf-one\nlf-two\nst-one\nst-two\nboard: last words\r')" \
	"console: the capture holds the board's bytes only, as sent (LF not mapped)"
like "$(cat "$T/board.in")" "^typed text" "console: the escapes did not reach the board"
unlike "$(cat "$T/board.in")" '~\?|~b|~p|~\.' "console: ... none of them"
ok "console: the live link is gone after the session" test ! -e "results/.live/b"

# --follow with nothing live; --no-log
run_labctl console b --follow
is "$rc" 2 "follow: nothing live: exit 2"
like "$err" "nothing is capturing the console of b now" "follow: ... says so"
$TM kill-session -t con
n_before=$(ls results | wc -l)
$TM new-session -d -s con -x 150 -y 40 \
	"cd $T/work; LABCTL_LABS=$T/labs $LABCTL console --map=none b --no-log; echo EXIT=\$?; sleep 60"
pane_has '~\? for help, ~\. to quit\]'
ok "--map=none: the session starts (and says LF is not mapped)" pane_has 'LF not mapped'
printf 'nl-one\nnl-two\n' >"$B"
pane_has '^ +nl-two'
ok "--map=none: a bare LF is passed as it is" test $? = 0
$TM send-keys -t con Enter '~.'
pane_has 'EXIT=0'
ok "no-log: quits with exit 0" test $? = 0
is "$(ls results | wc -l)" "$n_before" "no-log: nothing written to results/"

# bad input
sed -i "s|^device = .*|device = $T/no-such-tty|" "$T/labs/b.conf"
run_labctl console b
is "$rc" 3 "a device that does not exist: exit 3"
like "$err" "no serial device $T/no-such-tty" "... names it"
run_labctl console b --bogus
is "$rc" 2 "an unknown option: exit 2"
like "$err" "unknown option '--bogus'" "... named"
run_labctl console b --map=crlf
is "$rc" 2 "--map with a bad value: exit 2"
like "$err" "--map: 'crlf' is not lf-crlf or none" "... says what it takes"
run_labctl console b --results
is "$rc" 2 "--results without a value: exit 2"
like "$err" "option '--results' needs a value" "... says so"
run_labctl console -f --results="$T/nowhere" -- b
is "$rc" 2 "-f --results=DIR -- LAB: parsed (nothing live there: exit 2)"
like "$err" "no live $T/nowhere/\.live/b" "... in the --results=DIR given"
# A QEMU board that is not running: the message names the board
cp "$TOP/labs/qemu.conf" "$T/labs/qemu.conf"
LABCTL_STATE_DIR=$T/state run_labctl console qemu
is "$rc" 3 "the QEMU board off: exit 3"
like "$err" "^labctl: the QEMU board of qemu is not running \(nothing answers on its console $T/state/qemu-[0-9a-f]+/console\.sock\): start it with \`labctl power qemu on\`" \
	"... names the board, its console and what to do"
cat >"$T/labs/n.conf" <<EOF
[board]
type = pc
host = board.invalid
EOF
run_labctl console n
is "$rc" 2 "a lab without [console]: exit 2"
like "$err" "no \[console\] driver" "... says what to set"
port=$((20000 + RANDOM % 30000))
cat >"$T/labs/t.conf" <<EOF
[board]
type = pc
host = board.invalid
[console]
driver = tcp
host = 127.0.0.1
port = $port
EOF
run_labctl console t
is "$rc" 3 "a port nobody listens on: exit 3"
like "$err" "console tcp 127.0.0.1:$port: cannot connect" "... says who refused"

done_testing
