#!/bin/bash
# labctl run, boot and bisect read their options as getopt_long does:
# --opt=value and --opt value, -jN, options among the names, -- ending
# them; bad ones are exit 2 with the option named and nothing started.
. "$(dirname "$0")/lib.sh"
qemu_board_scratch
cat >"$T/labs/opt.conf" <<'CONF'
[board]
type = qemu
[watch]
timeout = 40s
[variant hv]
arch = amd64
[variant lhv]
arch = i386
options = 0x400
CONF
results() { ls -1 "$1" 2>/dev/null | grep -cE '^[0-9]{14}(-[0-9]+)?$'; }

# --opt=value, -jN and options after the names
run_labctl run opt hv -j2 --results=r1 --timeout=30s lhv
is "$rc" 0 "run opt hv -j2 --results=r1 --timeout=30s lhv: exit 0" || diag "$out" "$err"
is "$(results r1)" 1 "--results=DIR is where the result goes"
like "$out" 'stage 1 hv .*' "the names around the options are the chain, in order"
like "$(tr '\n' ' ' <<<"$out")" 'stage 1 hv .* stage 2 lhv ' "the chain order is kept"
r=$(ls r1 | grep -E '^[0-9]{14}$' | head -1)
like "$(perl -MJSON::PP -e 'local $/; print decode_json(<>)->{command}' "r1/$r.json")" \
	'^labctl run opt hv -j2 --results=r1 --timeout=30s lhv$' "the record keeps the command line as typed"
# --opt value; -- ends the options
run_labctl boot --results r2 -- opt hv lhv
is "$rc" 0 "boot --results r2 -- opt hv lhv: exit 0" || diag "$out" "$err"
is "$(results r2)" 1 "--results DIR (two words) works too"

# bad options: exit 2, named, nothing run
run_labctl run opt hv lhv --timeout
is "$rc" 2 "--timeout without a value: exit 2"
like "$err" "option '--timeout' needs a value" "--timeout without a value: says so"
run_labctl run opt hv lhv --timeout=soon
is "$rc" 2 "--timeout=soon: exit 2"
like "$err" '--timeout takes a duration' "--timeout=soon: says what it takes"
run_labctl run opt hv lhv --nosuch
is "$rc" 2 "unknown long option: exit 2"
like "$err" "unknown option '--nosuch'" "unknown long option: named"
run_labctl run opt hv -x
is "$rc" 2 "unknown short option: exit 2"
like "$err" "unknown option '-x'" "unknown short option: named"
run_labctl boot opt hv lhv -j 2
is "$rc" 2 "boot builds nothing: -j is unknown there"
like "$err" "unknown option '-j'" "boot -j: named"
run_labctl run opt hv -j0
is "$rc" 2 "-j0: exit 2"
like "$err" '-j takes a number from 1 to 1024' "-j0: the range"
run_labctl run opt -- hv --results=r3
is "$rc" 2 "after --, --results=r3 is a name, not an option"
like "$err" "no variant '--results=r3'" "after --: the word is taken as a variant"
is "$(results r3)" 0 "after --: nothing written to r3"
run_labctl bisect opt hv --good=HEAD --bad
is "$rc" 2 "bisect --bad without a value: exit 2"
like "$err" "option '--bad' needs a value" "bisect: --bad without a value is named"
run_labctl bisect opt --good=nosuchrev --bad=alsonone --src="$T" -- hv
is "$rc" 2 "bisect --good=REV --bad=REV --src=DIR are read"
like "$err" "is not in a git checkout" "bisect --src=DIR: the directory was used"
run_labctl bisect opt --good X --bad Y --frobnicate -- hv
is "$rc" 2 "bisect unknown option: exit 2"
like "$err" "unknown option '--frobnicate'" "bisect unknown option: named"

done_testing
