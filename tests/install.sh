#!/bin/sh
# Installs a build into its own prefix and checks that the installed mizan
# finds, by its default folders alone, the installed plugins and scripts and
# a plugin built out of tree with the installed `pkg-config mizan-plugin`
# and copied into its plugindir.  The build must have been configured with
# --prefix PREFIX (an empty folder, or one this script may overwrite).
#   tests/install.sh BUILD_DIR PREFIX
# Prints "install: ok" or what failed; exits 0 or 1.
set -u
build=$1
prefix=$2
fail() { echo "install: FAIL: $*"; exit 1; }
meson install -C "$build" --no-rebuild --quiet >/dev/null || fail "meson install"
pc=$(find "$prefix" -name mizan-plugin.pc | head -n 1)
[ -n "$pc" ] || fail "no mizan-plugin.pc under $prefix"
export PKG_CONFIG_PATH="${pc%/*}"
plugindir=$(pkg-config --variable=plugindir mizan-plugin) || fail "pkg-config mizan-plugin"
[ -f "$plugindir/strategy.so" ] || fail "the shipped plugins are not in the plugindir $plugindir"
work=$(mktemp -d) || fail "mktemp"
trap 'rm -rf "$work"' EXIT
cat >"$work/installed.c" <<'C'
#include <mizan/plugin.h>
struct count { double n; };
static void step(void *state, const struct mizan_event *e)
{
	(void)e;
	((struct count *)state)->n++;
}
static void final(const void *state, struct mizan_result *out)
{
	out->value = out->n = ((const struct count *)state)->n;
}
static const struct mizan_indicator indicators[] = {{
	.name = "installed_count", .unit = "count", .description = "every service event",
	.kinds = MIZAN_KIND_BIT(MIZAN_SERVICE), .state_size = sizeof(struct count),
	.step = step, .final = final,
}};
static const struct mizan_plugin plugin = {
	.abi = MIZAN_PLUGIN_ABI, .size = sizeof(struct mizan_plugin),
	.name = "installed", .version = "1.0", MIZAN_INDICATORS(indicators),
};
MIZAN_PLUGIN(plugin)
C
# shellcheck disable=SC2046
${CC:-cc} -std=c17 -Wall -Wextra -Werror -O2 -shared -fPIC -fvisibility=hidden \
	$(pkg-config --cflags mizan-plugin) -o "$plugindir/installed.so" "$work/installed.c" ||
	fail "the out-of-tree plugin does not build"
# From another directory, with no configuration and no search path in the
# environment: only the defaults compiled in from the prefix.
out=$(cd "$work" && env -u MIZAN_PLUGIN_PATH -u MIZAN_SCRIPT_PATH -u MIZAN_CONFIG \
	"$prefix/bin/mizan" plugins 2>&1) || fail "mizan plugins exits $?: $out"
echo "$out" | grep -q "^installed 1.0 $plugindir/installed.so: installed_count" ||
	fail "the out-of-tree plugin is not found in $plugindir: $out"
echo "$out" | grep -q "^strategy .*$plugindir/strategy.so" || fail "the shipped plugins are not found: $out"
echo "$out" | grep -q "training_roi .*/mizan/scripts/training_roi.lua" ||
	fail "the shipped scripts are not found: $out"
rm -f "$plugindir/installed.so"
echo "install: ok"
