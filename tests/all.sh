#!/bin/sh
# Builds Mizan twice (optimised, and with AddressSanitizer and
# UndefinedBehaviorSanitizer), runs every test in both, then builds what
# ships as a release with link-time optimisation (warnings are errors there
# too), installs it into a prefix of its own and checks that the installed
# mizan finds its plugins (tests/install.sh; counted as one test).  Ends
# with one line: "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
passed=0
failed=0
for variant in build:plain build-sanitize:address,undefined; do
	dir=${variant%%:*}
	san=${variant#*:}
	if [ "$san" = plain ]; then san=none; fi
	if [ ! -d "$dir" ]; then
		meson setup "$dir" -Db_sanitize="$san" >/dev/null || { failed=$((failed + 1)); continue; }
	fi
	if ! meson compile -C "$dir"; then
		echo "build failed: $dir"
		failed=$((failed + 1))
		continue
	fi
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C "$dir" --print-errorlogs --no-rebuild
	log="$dir/meson-logs/testlog.json"
	p=$(grep -c '"result": "OK"' "$log")
	f=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log")
	echo "$dir: $p passed, $f failed"
	passed=$((passed + p))
	failed=$((failed + f))
done
# The release: only the binary and the plugins (the tests ran above; linking
# every test program with LTO would double the time for nothing shipped).
dir=build-release
if [ ! -d "$dir" ]; then
	meson setup "$dir" -Dbuildtype=release -Db_lto=true --prefix="$PWD/$dir/prefix" >/dev/null
fi
if meson compile -C "$dir" mizan strategy example && tests/install.sh "$dir" "$PWD/$dir/prefix"; then
	passed=$((passed + 1))
else
	echo "release build or install failed: $dir"
	failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
