#!/bin/bash
# The build cache (issue 15.2) with the stand-in (fast): every build stays
# in images/.cache/<inputs>, so a revert after an edit is a cache hit
# (before, only the last build of a variant was kept and a revert rebuilt);
# images/<variant>/ is the chosen entry linked into place; the size bound
# ($LABCTL_CACHE_SIZE, [build] cache_size) evicts the least recently used
# entries after a build, and `labctl build --prune` brings the cache within
# it without building; bad sizes and --prune with variants are refused.
. "$(dirname "$0")/lib.sh"

command -v make >/dev/null || skip_all "no make"
command -v gcc >/dev/null || skip_all "no gcc"
echo 'int x;' | gcc -m32 -x c -c -o /dev/null - 2>/dev/null ||
	skip_all "no gcc -m32 (gcc-multilib)"

sha() { sha256sum "$1" | cut -d' ' -f1; }
inputs() { sed -n 's/^inputs: //p' "$IMG/$1/MANIFEST"; }
entries() { ls "$CACHE" | grep -Ec '^[0-9a-f]{64}$'; }

mkdir -p "$T/hv" "$T/work" "$T/labs"
for f in "$TOP"/hypervisor/*; do
	[ -f "$f" ] && cp "$f" "$T/hv/"
done
cat >"$T/labs/one.conf" <<'CONF'
[variant b64]
arch = amd64
CONF
export LABCTL_HYPERVISOR_DIR=$T/hv LABCTL_LABS=$T/labs
unset LABCTL_LAB LABCTL_IMAGES LABCTL_CACHE_DIR LABCTL_CACHE_SIZE
cd "$T/work" || exit 1
IMG=$T/work/images
CACHE=$IMG/.cache

# ---------------------------------------------------------------- revert
run_labctl build one
is "$rc" 0 "first build: exit 0"
in0=$(inputs b64)
sha0=$(sha "$IMG/b64/init.bin")
ok "the build is in the cache under its inputs" test -s "$CACHE/$in0/init.bin"
is "$(stat -c %i "$IMG/b64/init.bin")" "$(stat -c %i "$CACHE/$in0/init.bin")" \
	"images/b64/init.bin is the cache entry's (a hard link)"
cp "$T/hv/main.c" "$T/main.c.orig"
echo '/* an edit */' >>"$T/hv/main.c"
run_labctl build one
like "$err" '^b64: done ' "edit: rebuilt"
in1=$(inputs b64)
ok "edit: other inputs" test "$in1" != "$in0"
is "$(entries)" 2 "two builds of one variant in the cache"
cp "$T/main.c.orig" "$T/hv/main.c"
run_labctl build one
is "$rc" 0 "revert: exit 0"
like "$err" '^b64: cached$' "revert: a cache hit, not a rebuild"
is "$(inputs b64) $(sha "$IMG/b64/init.bin")" "$in0 $sha0" "revert: images/b64 is the first build again"
is "$(ls -A "$IMG" | grep -c 'tmp-')" 0 "no temporary directories left"

# A damaged entry is not used: rebuilt, and replaced.
echo '/* an edit */' >>"$T/hv/main.c"
printf 'x' >>"$CACHE/$in1/init.bin"
run_labctl build one
like "$err" '^b64: done ' "a damaged entry: rebuilt"
is "$(sha "$CACHE/$in1/init.bin")" "$(sed -n 's/^sha256.init.bin: //p' "$CACHE/$in1/MANIFEST")" \
	"a damaged entry: replaced by the new build"
cp "$T/main.c.orig" "$T/hv/main.c"
# An entry that lost a file: built again, not a failure.
run_labctl build one
rm -f "$CACHE/$in1/build.log"
echo '/* an edit */' >>"$T/hv/main.c"
run_labctl build one
is "$rc" 0 "an entry without its build.log: exit 0"
like "$err" '^b64: done ' "an entry without its build.log: rebuilt"
ok "an entry without its build.log: replaced whole" test -s "$CACHE/$in1/build.log"
cp "$T/main.c.orig" "$T/hv/main.c"

# ---------------------------------------------------------------- bound
# Three more entries; each is a few KiB.  Used order: in0 (reverted to
# above), in1, then e2, e3.
run_labctl build one
for e in 2 3; do
	echo "/* edit $e */" >>"$T/hv/main.c"
	run_labctl build one
	eval "in$e=\$(inputs b64)"
done
is "$(entries)" 4 "four builds kept (within the default bound, 512M)"
size=$(du -sb "$CACHE/$in3" | cut -f1)
# A bound for about two entries: after the next build (a fifth entry, the
# current one) only the most recently used stay.
echo '/* edit 4 */' >>"$T/hv/main.c"
LABCTL_CACHE_SIZE=$((size * 2 + size / 2)) run_labctl build one
is "$rc" 0 "build with a small bound: exit 0"
in4=$(inputs b64)
is "$(entries)" 2 "small bound: the least recently used went"
ok "small bound: the current build and the one used before it stay" \
	test -d "$CACHE/$in4" -a -d "$CACHE/$in3"
ok "the images stay whole after eviction" \
	sh -c "test \"\$(sha256sum <'$IMG/b64/init.bin' | cut -d' ' -f1)\" = \"\$(sed -n 's/^sha256.init.bin: //p' '$IMG/b64/MANIFEST')\""
ok "the build's log says what was removed" \
	grep -q 'removed 3 least recently used build' "$IMG/.logs/b64.log"

# ---------------------------------------------------------------- --prune
LABCTL_CACHE_SIZE=$size run_labctl build one --prune
is "$rc" 0 "--prune: exit 0"
like "$out" "^images/.cache: removed 1 build\\(s\\) \\([0-9]+ (KiB|bytes)\\), kept 1 \\([0-9]+ (KiB|bytes)\\) within [0-9]+ (KiB|bytes)$" \
	"--prune: says what it removed and kept"
is "$(entries)" 1 "--prune: one entry left"
ok "--prune: the most recently used stays" test -d "$CACHE/$in4"
is "$(ls -A "$IMG" | grep -vc '^\.')" 1 "--prune: built nothing"
printf '[build]\ncache_size = 1M\n[variant b64]\n' >"$T/labs/small.conf"
run_labctl --json build small --prune
like "$out" '"bound":1048576,"removed":0,"removed_bytes":0,"kept":1' "--prune: the lab's [build] cache_size"
LABCTL_CACHE_SIZE=0 run_labctl build small --prune
is "$rc $(entries)" "0 0" "LABCTL_CACHE_SIZE=0 wins over the lab: --prune empties the cache"
ok "the image survives an empty cache" test -s "$IMG/b64/init.bin"
run_labctl build one
like "$err" '^b64: cached$' "images/b64 is still current: cached without an entry"

# ---------------------------------------------------------------- refused
run_labctl build one b64 --prune
is "$rc" 2 "--prune with a variant: exit 2"
like "$err" "labctl build: --prune takes no variant \\(it builds nothing\\), not 'b64'" "--prune with a variant: says so"
LABCTL_CACHE_SIZE=lots run_labctl build one
is "$rc" 2 "LABCTL_CACHE_SIZE=lots: exit 2"
like "$err" "LABCTL_CACHE_SIZE: 'lots' is not a size" "LABCTL_CACHE_SIZE=lots: says so"
printf '[build]\ncache_size = huge\n[variant b64]\n' >"$T/labs/badsize.conf"
run_labctl build badsize
is "$rc" 2 "[build] cache_size = huge: exit 2"
like "$err" "cache_size.*'huge' is not a size" "[build] cache_size = huge: says so"

# ---------------------------------------------------------------- elsewhere
export LABCTL_CACHE_DIR=$T/shared-cache
rm -rf "$IMG"
run_labctl build one
is "$rc" 0 "LABCTL_CACHE_DIR: exit 0"
ok "LABCTL_CACHE_DIR: the entry is there" test -s "$T/shared-cache/$(inputs b64)/init.bin"
rm -rf "$IMG"
run_labctl build one
like "$err" '^b64: cached$' "a fresh images directory takes the build from LABCTL_CACHE_DIR"

done_testing
