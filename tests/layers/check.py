#!/usr/bin/env python3
"""The layer rule of core/: a layer includes only its own headers and those
of the layers it may use (core/README.md).  Usage:

    check.py CORE_DIR          exit 1 and name every include that goes back
    check.py --self-test CORE  copy CORE, add a backward include, and check
                               that the copy is refused with that include named

The link is checked too: each layer is linked alone with --no-undefined
(core/meson.build), so a prototype declared by hand does not get through.
"""
import os
import re
import shutil
import sys
import tempfile

# What each layer may use besides itself.  Keep in step with core/README.md.
BELOW = ['util', 'model', 'store']
MAY_USE = {
    'util': [],
    'model': ['util'],
    'store': ['util', 'model'],
    'ingest': BELOW,
    'eval': BELOW + ['mizan'],  # mizan/: the public plugin header
    'judge': BELOW + ['eval', 'mizan'],
    'render': BELOW + ['eval', 'mizan', 'judge'],
    'notify': BELOW + ['eval', 'mizan', 'judge', 'render'],
    'http': BELOW,
    'api': BELOW + ['ingest', 'eval', 'mizan', 'judge', 'render', 'notify', 'http'],
    'web': BELOW + ['ingest', 'eval', 'mizan', 'judge', 'render', 'notify', 'http'],
    'daemon': BELOW + ['ingest', 'eval', 'mizan', 'judge', 'render', 'notify', 'http',
                       'api', 'web'],
    'cli': BELOW + ['ingest', 'eval', 'mizan', 'judge', 'render', 'notify', 'http', 'api',
                    'web', 'daemon'],
    'include': ['mizan'],
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def check(core):
    bad = []
    layers = sorted(d for d in os.listdir(core) if os.path.isdir(os.path.join(core, d)))
    for layer in layers:
        if layer not in MAY_USE:
            bad.append('%s/: a folder that is no layer (add it to tests/layers/check.py)' % layer)
            continue
        allowed = set(MAY_USE[layer]) | {layer}
        for root, _, files in os.walk(os.path.join(core, layer)):
            for name in sorted(files):
                if not name.endswith(('.c', '.h')):
                    continue
                path = os.path.join(root, name)
                text = open(path, encoding='utf-8').read()
                for m in INCLUDE.finditer(text):
                    target = m.group(1)
                    line = text.count('\n', 0, m.start()) + 1
                    rel = os.path.relpath(path, core)
                    if '/' not in target:
                        bad.append('%s:%d: #include "%s" names no layer' % (rel, line, target))
                    elif target.split('/')[0] not in allowed:
                        bad.append('%s:%d: #include "%s": %s may not use %s' %
                                   (rel, line, target, layer, target.split('/')[0]))
    return bad


def main():
    if len(sys.argv) == 3 and sys.argv[1] == '--self-test':
        with tempfile.TemporaryDirectory() as tmp:
            copy = os.path.join(tmp, 'core')
            shutil.copytree(sys.argv[2], copy)
            victim = os.path.join(copy, 'model', 'period.c')
            with open(victim, 'a', encoding='utf-8') as f:
                f.write('\n#include "web/web.h"\n')
            bad = check(copy)
            want = [b for b in bad if b.startswith('model/period.c:') and
                    'model may not use web' in b]
            if len(bad) != 1 or len(want) != 1:
                print('the check did not refuse exactly the added include; it said: %r' % bad)
                return 1
            print('refused as it should: ' + bad[0])
            return 0
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    bad = check(sys.argv[1])
    for b in bad:
        print(b)
    print('%d includes go against the layers' % len(bad) if bad else 'ok')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
