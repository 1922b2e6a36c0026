#!/usr/bin/env python3
"""Indicators that crash, hang or attack the sandbox, against a real
`mizan serve`: evaluation runs in a worker process the server watches, so
ingest and the API keep answering while the worker is killed and restarted;
each bad KPI ends with an error naming its reason, and the good KPIs are
computed beside them.
"""
import os
import time

from mizan_test import SLOW, Server, check, main, metric, note, wait_until
from test_kpis import (EVENTS, EXPECT, KPIS, PLUGINS, SCRIPTS, SRC, TEST_PLUGINS, all_points,
                       check_point, config_text, eval_runs, svc, trn)

EVIL = os.path.join(SRC, 'tests', 'scripts_evil')

# The sanitizer build: let a SIGSEGV in the worker be a real signal rather
# than an ASan report (the test checks the signal; the report would be
# counted as a sanitizer error of the server's log).
if 'handle_segv=0' not in os.environ.get('ASAN_OPTIONS', ''):
    os.environ['ASAN_OPTIONS'] = (os.environ.get('ASAN_OPTIONS', '') + ':handle_segv=0').lstrip(':')


def evil_kpis(marker_dir):
    m = lambda name: os.path.join(marker_dir, name)
    return [
        # These three end the worker: the first crashes it, the next two stall
        # it (a C sleep loop; a backtracking pattern inside one C call that
        # the Lua count hook cannot interrupt).  One per evaluation: each is
        # blamed, left out, and the worker restarted.
        ('X.segv', 'G1', 'count', 'crash_in_step', {}),
        ('X.hang', 'G1', 'count', 'hang_in_step', {}),
        ('X.regex', 'G1', 'count', 'evil', {'attack': 'regex'}),
        # These the sandbox stops inside the worker.
        ('X.loop', 'G1', 'count', 'evil', {'attack': 'loop'}),
        ('X.pcall', 'G1', 'count', 'evil', {'attack': 'pcall_loop'}),
        ('X.os', 'G1', 'count', 'evil', {'attack': 'os_execute', 'marker': m('os_execute')}),
        ('X.io', 'G1', 'count', 'evil', {'attack': 'io_open', 'marker': m('io_open')}),
        ('X.init_io', 'G1', 'count', 'evil', {'attack': 'io_open', 'at': 'init',
                                              'marker': m('init_io_open')}),
        ('X.req', 'G1', 'count', 'evil', {'attack': 'require', 'marker': m('require')}),
        ('X.rep', 'G1', 'count', 'evil', {'attack': 'rep'}),
        ('X.rep1g', 'G1', 'count', 'evil', {'attack': 'rep1g'}),
        ('X.grow', 'G1', 'count', 'evil', {'attack': 'grow'}),
        ('X.none', 'G1', 'count', 'evil', {'attack': 'none'}),
    ]


# KPI -> the words its error must hold.
WANT_ERROR = {
    'X.segv': 'indicator crash_in_step crashed the worker (signal 11',
    'X.hang': 'indicator hang_in_step made no progress for 2 s (evaluation.stall_s)',
    'X.regex': 'indicator evil made no progress for 2 s (evaluation.stall_s)',
    'X.loop': 'instruction budget of 1000000 exceeded in step',
    'X.pcall': 'instruction budget of 1000000 exceeded in step',
    'X.os': "global 'os'",
    'X.io': "global 'io'",
    'X.init_io': "global 'io'",
    'X.req': "global 'require'",
    # Lua's string.rep refuses a result over INT_MAX bytes itself, before
    # allocating; 1 GB is under that and reaches the memory limit.
    'X.rep': 'resulting string too large',
    'X.rep1g': 'memory limit of 16 MiB reached in step',
    # Each round of the loop allocates over 1000 bytes in about ten
    # instructions: 16 MiB is reached long before 1000000 instructions.
    'X.grow': 'memory limit of 16 MiB reached in step',
}


def children(pid, comm=None):
    """(pid, state) of the processes whose parent is pid (and whose command
    is `comm`, when given: the server also runs gnuplot for its charts)."""
    out = []
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % d) as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rfind(')') + 2:].split()
        name = st[st.find('(') + 1:st.rfind(')')]
        if int(rest[1]) == pid and (comm is None or name == comm or rest[0] == 'Z'):
            out.append((int(d), rest[0]))
    return out


def test_crash_hang_and_sandbox():
    with Server(start=False, tokens=('ingest', 'viewer')) as s:
        kpis = evil_kpis(s.dir) + KPIS
        with open(s.config, 'w') as f:
            f.write(config_text(s.dir, kpis, plugin_dirs=(PLUGINS, TEST_PLUGINS),
                                script_dirs=(SCRIPTS, EVIL), extra={
                                    'evaluation.stall_s': 2,
                                    'evaluation.retry_s': 3600,
                                    'evaluation.after_ingest_s': 0,
                                    'evaluation.interval_s': 1,
                                    'evaluation.timeout_s': 120,
                                    'scripts.memory_mib': 16,
                                    'scripts.instructions': 1000000,
                                    # The memory and instruction limits must
                                    # stop these scripts, not the clock: a
                                    # sanitizer build on a busy machine can
                                    # take a second to fill 16 MiB.
                                    'scripts.seconds': 30,
                                }))
        s.start()
        if not check(wait_until(lambda: eval_runs(s) >= 1, 20), 'the evaluation at start completes'):
            return
        st, body = s.post(EVENTS)
        check(st == 200 and body['accepted'] == len(EVENTS), 'the fixture is accepted: %r %r' % (st, body))

        # While the worker crashes and stalls: time /healthz and a POST,
        # over and over.  The extra events are dated 2023 so that the
        # fixture's 2025 figures stay as worked out in test_kpis.py.
        t_end = time.monotonic() + 60 * SLOW
        worst_h = worst_p = 0.0
        i = 0
        bad_status = []
        done = False
        while time.monotonic() < t_end:
            t0 = time.monotonic()
            st, _ = s.json('GET', '/healthz', token=None, timeout=10)
            t1 = time.monotonic()
            if st != 200:
                bad_status.append(('healthz', st))
            i += 1
            st, body = s.post([trn(1000 + i, '2023-05-%02dT10:00:00Z' % (1 + i % 28), 'JO-AMM', 1, 1, 10, 12)],
                              timeout=10)
            t2 = time.monotonic()
            if st != 200:
                bad_status.append(('post', st, body))
            worst_h = max(worst_h, t1 - t0)
            worst_p = max(worst_p, t2 - t1)
            st, body = s.json('GET', '/api/v1/kpis', token='viewer', timeout=10)
            if st == 200:
                by = {k['id']: k for k in body['kpis']}
                errs_ok = all(by[k]['error'] for k in WANT_ERROR)
                good_ok = all(by[k[0]]['latest'] for k in KPIS) and by['X.none']['latest']
                if errs_ok and good_ok:
                    done = True
                    break
            time.sleep(0.2)
        note('%d rounds; slowest /healthz %.3f s, slowest POST %.3f s' % (i, worst_h, worst_p))
        check(done, 'every bad KPI got an error and every good one a figure within %d s' % (60 * SLOW))
        check(not bad_status, 'healthz and POST answered 200 throughout: %r' % bad_status[:5])
        check(worst_h < 1.0 * SLOW, '/healthz answered within 1 s throughout (slowest %.3f s)' % worst_h)
        check(worst_p < 1.0 * SLOW, 'POST /api/v1/events answered within 1 s throughout (slowest %.3f s)'
              % worst_p)

        st, body = s.json('GET', '/api/v1/kpis', token='viewer')
        by = {k['id']: k for k in body['kpis']}
        for kpi, want in WANT_ERROR.items():
            e = by[kpi]['error'] or ''
            check(want in e, 'kpi %s: error names the reason %r: %r' % (kpi, want, e))
            check(by[kpi]['latest'] is None, 'kpi %s: no figure' % kpi)
        for k in [x[0] for x in KPIS] + ['X.none']:
            check(by[k]['error'] is None and by[k]['latest'] is not None,
                  'kpi %s: computed (latest %r), no error (%r)'
                  % (k, (by[k]['latest'] or {}).get('period'), by[k]['error']))
        check(by['X.none']['latest'] and by['X.none']['latest']['value'] == 6,
              'kpi X.none (the evil script, harmless) counts the 6 Q2 service events: %r'
              % (by['X.none']['latest'] or {}).get('value'))
        # The good KPIs' figures are the ones worked out by hand in test_kpis.py.
        for kpi, table in EXPECT.items():
            pts = all_points(s, kpi)
            for key, want in table.items():
                if key[0].startswith('2025'):
                    check_point(kpi, key, pts.get(key), want)

        _, m = s.metrics()
        fails = metric(m, 'mizan_eval_failures_total')
        restarts = metric(m, 'mizan_eval_worker_restarts_total')
        check(fails >= 3, 'mizan_eval_failures_total >= 3 (a crash, two stalls): %r' % fails)
        check(restarts >= 3, 'mizan_eval_worker_restarts_total >= 3: %r' % restarts)
        for name in ('os_execute', 'io_open', 'init_io_open', 'require'):
            check(not os.path.exists(os.path.join(s.dir, name)),
                  'no file %s was created from inside the sandbox' % name)
        log = s.log_text()
        check('kpi X.segv: indicator crash_in_step crashed the worker' in log,
              'the log names the crashed KPI')

        # The server holds at most one worker, and no zombie.
        kids = children(s.pid, 'mizan')
        check(len(kids) <= 1 and all(state != 'Z' for _, state in kids),
              'the server has at most one worker child, none a zombie: %r' % kids)

        # The left-out KPIs stay out: a new event is evaluated without them.
        runs = eval_runs(s)
        fails0 = fails
        st, _ = s.post([svc(500, '2025-05-01T10:00:00Z', 'AE-AUH', 'visa', 'online', True, 'completed')])
        check(st == 200, 'a new service event is accepted')
        ok = wait_until(lambda: eval_runs(s) > runs, 20)
        check(ok, 'the next evaluation completes, without the left-out KPIs')
        _, m = s.metrics()
        check(metric(m, 'mizan_eval_failures_total') == fails0,
              'no new worker failure (the crashing and hanging KPIs are left out for retry_s)')
        ok = wait_until(lambda: (all_points(s, '1.1').get(('2025-Q2', None)) or {}).get('n') == 4, 10)
        check(ok, 'kpi 1.1 2025-Q2 counts the new automated event (n 3 -> 4)')
        st, body = s.json('GET', '/healthz', token=None)
        check(st == 200, 'healthz 200 at the end')


if __name__ == '__main__':
    main([test_crash_hang_and_sandbox])
