#!/usr/bin/env python3
"""Where indicators are found, as a new plugin author meets it: the build
installed with `meson install --destdir`, a plugin built out of tree with the
installed `pkg-config mizan-plugin`, found through $MIZAN_PLUGIN_PATH from
another directory; the installed default folder derived from the prefix;
name clashes refused naming both files (and plugins.replace); a KPI whose
indicator is missing failing `check` and `plugins` with its file and line;
a script init's message; `test-kpi` from another directory, with a
tolerance.

(A build configured with its own prefix and installed there, found through
the default folder alone, is checked by tests/install.sh, which
tests/all.sh runs on its release build.)
"""
import json
import os
import shlex
import shutil
import subprocess
import tempfile

from mizan_test import BIN, check, main, run_cli

BUILD = os.path.dirname(BIN)
PREFIX = os.environ.get('MIZAN_PREFIX', '/usr/local')
LIBDIR = os.environ.get('MIZAN_LIBDIR', 'lib')
DATADIR = os.environ.get('MIZAN_DATADIR', 'share')
BINDIR = os.environ.get('MIZAN_BINDIR', 'bin')
CC = shlex.split(os.environ.get('MIZAN_CC', 'cc'))

PLUGIN_C = r'''
#include <string.h>
#include <mizan/plugin.h>

struct count { double n; };

static int init(void *state, const struct mizan_params *p, const struct mizan_host *host)
{
	(void)state;
	return host->param(p, "refuse") ? 22 : 0;
}

static void step(void *state, const struct mizan_event *e)
{
	if (e->outcome && !strcmp(e->outcome, "completed"))
		((struct count *)state)->n++;
}

static void final(const void *state, struct mizan_result *out)
{
	const struct count *c = state;
	out->value = c->n / 3; /* a third: not a whole number */
	out->n = c->n;
}

static const struct mizan_indicator indicators[] = {{
	.name = "oot_count", .unit = "count", .description = "completed services / 3",
	.kinds = MIZAN_KIND_BIT(MIZAN_SERVICE), .state_size = sizeof(struct count),
	.init = init, .step = step, .final = final,
}};

static const struct mizan_plugin plugin = {
	.abi = MIZAN_PLUGIN_ABI, .size = sizeof(struct mizan_plugin),
	.name = PLUGIN_NAME, .version = "1.0", MIZAN_INDICATORS(indicators),
};
MIZAN_PLUGIN(plugin)
'''


def joined(root, *parts):
    """root/parts..., where parts may be absolute (as meson's libdir may be)."""
    path = root
    for p in parts:
        path = os.path.join(path, p.lstrip('/'))
    return path


def out_of(r):
    return r.stdout.decode('utf-8', 'replace') + r.stderr.decode('utf-8', 'replace')


def run(bin_, *args, cwd=None, env=None):
    e = dict(os.environ)
    for k in ('MIZAN_PLUGIN_PATH', 'MIZAN_SCRIPT_PATH', 'MIZAN_CONFIG'):
        e.pop(k, None)
    e.update(env or {})
    return subprocess.run([bin_] + list(args), cwd=cwd, env=e, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=120)


def events(n_completed, n_other):
    evs = []
    for i in range(n_completed + n_other):
        evs.append({'kind': 'service', 'id': 'e%d' % i, 'ts': '2025-02-01T10:00:00Z',
                    'mission': 'AE-AUH', 'service': 'visa', 'channel': 'online',
                    'automated': True, 'outcome': 'completed' if i < n_completed else 'pending'})
    return evs


def strategy(path, kpis):
    with open(path, 'w') as f:
        f.write('goal { id = "G1", title_ar = "هدف", title_en = "Goal" }\n')
        for kid, ind, params in kpis:
            f.write('kpi { id = "%s", goal = "G1", title_ar = "م", title_en = "K %s", unit = "n",\n'
                    '      period = "quarter", indicator = "%s"%s }\n'
                    % (kid, kid, ind, (', params = { %s }' % params) if params else ''))


def config(d, kpis, extra=''):
    strategy(os.path.join(d, 'strategy.lua'), kpis)
    path = os.path.join(d, 'mizan.lua')
    with open(path, 'w') as f:
        f.write(extra + 'include "strategy.lua"\n')
    return path


def test_installed_out_of_tree():
    d = tempfile.mkdtemp(prefix='mizan-it-path-')
    try:
        dest = os.path.join(d, 'dest')
        r = subprocess.run(['meson', 'install', '-C', BUILD, '--no-rebuild', '--quiet',
                            '--destdir', dest], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if not check(r.returncode == 0, 'meson install --destdir: %s' % r.stdout.decode()[-600:]):
            return
        root = joined(dest, PREFIX)
        mizan = joined(root, BINDIR, 'mizan')
        plugindir = joined(root, LIBDIR, 'mizan', 'plugins')
        scriptdir = joined(root, DATADIR, 'mizan', 'scripts')
        check(os.path.isfile(os.path.join(plugindir, 'strategy.so')),
              'the shipped plugins are installed in <libdir>/mizan/plugins')
        check(os.path.isfile(os.path.join(scriptdir, 'training_roi.lua')),
              'the shipped scripts are installed in <datadir>/mizan/scripts')

        # The default the installed binary searches is the folder meson
        # installed into (without the destdir).
        elsewhere = os.path.join(d, 'elsewhere')
        os.mkdir(elsewhere)
        r = run(mizan, 'plugins', cwd=elsewhere)
        out = out_of(r)
        want = joined(PREFIX, LIBDIR, 'mizan', 'plugins')
        check(want in out, 'the default plugin folder is %s, from the prefix: %r' % (want, out[:600]))
        want = joined(PREFIX, DATADIR, 'mizan', 'scripts')
        check(want in out, 'the default script folder is %s, from the prefix' % want)

        # Out of tree, with only the installed header and .pc.
        pc = joined(root, LIBDIR, 'pkgconfig')
        env = dict(os.environ, PKG_CONFIG_PATH=pc)
        pkg = ['pkg-config', '--define-variable=prefix=' + root]
        r = subprocess.run(pkg + ['--cflags', 'mizan-plugin'], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        cflags = shlex.split(r.stdout.decode())
        check(r.returncode == 0 and any(root in f for f in cflags),
              'pkg-config mizan-plugin gives the installed header: %r' % r.stdout.decode())
        r = subprocess.run(pkg + ['--variable=plugindir', 'mizan-plugin'], env=env,
                           stdout=subprocess.PIPE)
        check(r.stdout.decode().strip() == plugindir,
              'pkg-config --variable=plugindir is where the plugins were installed: %r'
              % r.stdout.decode())
        src = os.path.join(d, 'oot.c')
        with open(src, 'w') as f:
            f.write(PLUGIN_C)
        mine, theirs = os.path.join(d, 'mine'), os.path.join(d, 'theirs')
        os.mkdir(mine)
        os.mkdir(theirs)
        for folder, name in ((mine, 'oot'), (theirs, 'oot_again')):
            r = subprocess.run(CC + ['-std=c17', '-Wall', '-Wextra', '-Werror', '-O2', '-shared',
                                     '-fPIC', '-fvisibility=hidden', '-DPLUGIN_NAME="%s"' % name]
                               + cflags + ['-o', os.path.join(folder, name + '.so'), src],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            check(r.returncode == 0, 'the out-of-tree plugin %s builds: %s' % (name, r.stdout.decode()))

        # Found through MIZAN_PLUGIN_PATH (with the installed folder), from
        # another directory, without a configuration.
        path = {'MIZAN_PLUGIN_PATH': mine + ':' + plugindir, 'MIZAN_SCRIPT_PATH': scriptdir}
        r = run(mizan, 'plugins', cwd=elsewhere, env=path)
        out = out_of(r)
        check(r.returncode == 0, 'mizan plugins exits 0 (got %d): %r' % (r.returncode, out[-800:]))
        listed = out.split('refused:')[0]
        check('oot 1.0 %s/oot.so: oot_count' % mine in listed, 'the out-of-tree plugin is found: %r'
              % listed[:1200])
        check('automated_services' in listed and 'training_roi' in listed,
              'the installed plugins and scripts are found too')
        folders = out.split('plugins:')[0]
        check(folders.find(mine) < folders.find(plugindir),
              'MIZAN_PLUGIN_PATH is searched in its order, first')
        r = run(mizan, 'plugins', cwd=elsewhere, env={'MIZAN_SCRIPT_PATH': scriptdir})
        check('oot_count' not in out_of(r), 'without MIZAN_PLUGIN_PATH the plugin is not found')

        # test-kpi from another directory: the fixture's "load" is relative
        # to the fixture; the value is 2/3.
        fx = {'indicator': 'oot_count', 'load': ['../mine/oot.so'], 'events': events(2, 1),
              'expect': [{'period': '2025-Q1', 'value': 2 / 3 * (1 + 1e-10), 'n': 2}]}
        fdir = os.path.join(d, 'fixtures')
        os.mkdir(fdir)
        fpath = os.path.join(fdir, 'oot.json')
        with open(fpath, 'w') as f:
            json.dump(fx, f)
        r = run(mizan, 'test-kpi', fpath, cwd=elsewhere)
        out = out_of(r)
        check(r.returncode == 4 and 'value 0.6666666667, expected 0.6666666667' in out,
              'off by 1e-10 relative: fails at the default tolerance (1e-12): %d %r'
              % (r.returncode, out[-400:]))
        r = run(mizan, 'test-kpi', '--tolerance', '1e-9', fpath, cwd=elsewhere)
        check(r.returncode == 0 and 'ok ' in out_of(r),
              'passes with --tolerance 1e-9: %d %r' % (r.returncode, out_of(r)[-400:]))
        fx['expect'][0]['n'] = 2 * (1 + 1e-10)
        with open(fpath, 'w') as f:
            json.dump(fx, f)
        r = run(mizan, 'test-kpi', '--tolerance', '1e-9', fpath, cwd=elsewhere)
        check(r.returncode == 4 and ' n 2, expected' in out_of(r),
              'n is a count: compared exactly whatever the tolerance: %d %r'
              % (r.returncode, out_of(r)[-400:]))
        r = run(mizan, 'test-kpi', '--tolerance', 'x', fpath, cwd=elsewhere)
        check(r.returncode == 2, '--tolerance x is a usage error (got %d)' % r.returncode)
        # Without "load": found on the search path, as the server finds it.
        del fx['load']
        fx['expect'][0]['n'] = 2
        with open(fpath, 'w') as f:
            json.dump(fx, f)
        r = run(mizan, 'test-kpi', '--tolerance', '1e-9', os.path.relpath(fpath, d), cwd=d,
                env=path)
        check(r.returncode == 0, 'test-kpi finds the indicator on MIZAN_PLUGIN_PATH: %d %r'
              % (r.returncode, out_of(r)[-400:]))

        # A clash: the same name from two files is refused, naming both.
        clash = dict(path, MIZAN_PLUGIN_PATH=mine + ':' + theirs + ':' + plugindir)
        r = run(mizan, 'plugins', cwd=elsewhere, env=clash)
        out = out_of(r)
        refused = out.split('refused:', 1)[1] if 'refused:' in out else ''
        check(r.returncode == 1 and '%s/oot_again.so: indicator \'oot_count\' is already provided by '
              '%s/oot.so' % (theirs, mine) in refused,
              'a clash between two plugins is refused naming both files (rc %d): %r'
              % (r.returncode, refused))
        # ... with a shipped script: a Lua indicator named training_roi.
        lua = os.path.join(d, 'lua')
        os.mkdir(lua)
        with open(os.path.join(lua, 'roi.lua'), 'w') as f:
            f.write('return { name = "training_roi", unit = "%", kinds = { "training" }, description = "x",\n'
                    '  fields = { "cost" }, init = function() return {} end,\n'
                    '  step = function(s, cost) end, final = function(s) return 1, 1 end }\n')
        r = run(mizan, 'plugins', cwd=elsewhere,
                env={'MIZAN_SCRIPT_PATH': scriptdir + ':' + lua})
        out = out_of(r)
        check(r.returncode == 1 and "%s/roi.lua: indicator 'training_roi' is already provided by %s"
              "/training_roi.lua" % (lua, scriptdir) in out,
              'a script clashing with a shipped one is refused naming both files: %r' % out[-600:])
        # plugins.replace: the one found first is used, the other skipped.
        cfg = config(d, [('9.1', 'oot_count', None)], 'plugins.replace = { "oot_count" }\n')
        r = run(mizan, 'plugins', '--config', cfg, cwd=elsewhere, env=clash)
        out = out_of(r)
        check(r.returncode == 0 and 'replaced:' in out and "%s/oot_again.so: indicator 'oot_count' "
              "skipped: %s/oot.so provides it" % (theirs, mine) in out,
              'with plugins.replace the first found is used and the clash noted (rc %d): %r'
              % (r.returncode, out[-600:]))
        r = run(mizan, 'check', '--config', cfg, cwd=elsewhere, env=clash)
        check(r.returncode == 0, 'check passes with plugins.replace (got %d): %r'
              % (r.returncode, out_of(r)[-400:]))
        cfg = config(d, [('9.1', 'oot_count', None)])
        r = run(mizan, 'check', '--config', cfg, cwd=elsewhere, env=clash)
        check(r.returncode == 1 and 'already provided by' in out_of(r),
              'check fails on a clash without plugins.replace (got %d)' % r.returncode)
    finally:
        if not os.environ.get('MIZAN_TEST_KEEP'):
            shutil.rmtree(d, ignore_errors=True)


def test_missing_indicator_and_init():
    d = tempfile.mkdtemp(prefix='mizan-it-path-')
    try:
        # strategy.lua line 1 is the goal, line 2 KPI 1.1, line 4 KPI 9.9.
        cfg = config(d, [('1.1', 'automated_services', None), ('9.9', 'no_such_indicator', None)])
        for cmd in ('check', 'plugins'):
            r = run_cli(cmd, '--config', cfg, cwd=d)
            out = out_of(r)
            check(r.returncode == 3, 'mizan %s with a missing indicator exits 3 (got %d)'
                  % (cmd, r.returncode))
            check("%s/strategy.lua:4: kpi 9.9: no indicator named 'no_such_indicator' is loaded" % d
                  in out, 'mizan %s names the KPI, its file and line: %r' % (cmd, out[-600:]))
        cfg = config(d, [('1.1', 'automated_services', None)])
        r = run_cli('check', '--config', cfg, cwd=d)
        check(r.returncode == 0 and ': ok' in out_of(r), 'and passes without it (got %d)' % r.returncode)

        # A script whose init refuses the KPI's params, with a message.
        sdir = os.path.join(d, 'scripts')
        os.mkdir(sdir)
        with open(os.path.join(sdir, 'picky.lua'), 'w') as f:
            f.write('return { name = "picky", unit = "n", kinds = { "service" }, fields = { "outcome" },\n'
                    '  description = "needs params.level",\n'
                    '  init = function(p)\n'
                    '    if not p.level then return nil, "params.level is required" end\n'
                    '    return { n = 0 } end,\n'
                    '  step = function(s, o) s.n = s.n + 1 end,\n'
                    '  final = function(s) return s.n, s.n end }\n')
        cfg = config(d, [('5.1', 'picky', 'level = 2'), ('5.2', 'picky', None)],
                     'scripts.dirs = { "%s" }\n' % sdir)
        r = run_cli('plugins', '--config', cfg, cwd=d)
        out = out_of(r)
        check(r.returncode == 3 and 'strategy.lua:4: kpi 5.2: %s/picky.lua: init failed: params.level '
              'is required' % sdir in out and 'kpi 5.1' not in out,
              'plugins shows the init message of the KPI it refuses (rc %d): %r'
              % (r.returncode, out[-600:]))
        # The KPI's error, as the engine records it (test-kpi replays it).
        fx = {'indicator': 'picky', 'load': ['scripts/picky.lua'], 'events': events(1, 0),
              'expect': [{'period': '2025-Q1', 'value': 1}]}
        fpath = os.path.join(d, 'picky.json')
        with open(fpath, 'w') as f:
            json.dump(fx, f)
        r = run_cli('test-kpi', fpath, cwd='/')
        out = out_of(r)
        check(r.returncode == 4 and 'the indicator failed: %s/picky.lua: init failed: params.level is '
              'required' % sdir in out, 'the KPI fails with the init message: %r' % out[-600:])
        fx['params'] = {'level': 1}
        with open(fpath, 'w') as f:
            json.dump(fx, f)
        r = run_cli('test-kpi', fpath, cwd='/')
        check(r.returncode == 0, 'and computes with the param (got %d): %r' % (r.returncode, out_of(r)[-300:]))
    finally:
        if not os.environ.get('MIZAN_TEST_KEEP'):
            shutil.rmtree(d, ignore_errors=True)


if __name__ == '__main__':
    main([test_installed_out_of_tree, test_missing_indicator_and_init])
