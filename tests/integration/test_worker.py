#!/usr/bin/env python3
"""The evaluation worker as a process, against a real `mizan serve` and real
worker processes: an indicator that prints on standard output cannot forge
the worker's answer; one that closes its descriptors and hangs cannot wedge
the daemon; what a plugin forks dies with the worker, and the worker dies
with the daemon; a worker that grows past evaluation.memory_mib is killed and
the KPI it was in blamed; a KPI that spends its budget of one evaluation
(evaluation.run_instructions, evaluation.run_seconds) fails naming it.  The plugins are in tests/plugins/unruly.c.
"""
import os
import signal
import time

from mizan_test import SLOW, check, main, metric, wait_until
from test_isolation import children
from test_kpis import PLUGINS, SCRIPTS, SRC, TEST_PLUGINS, kpi_server, svc

EVIL = os.path.join(SRC, 'tests', 'scripts_evil')

# One good KPI beside the bad one, so that evaluations complete.
GOOD = ('1.1', 'G1', 'services', 'automated_services', {})


def server(kpis, extra=None):
    settings = {
        'evaluation.stall_s': 60,
        'evaluation.retry_s': 3600,
        'evaluation.after_ingest_s': 0,
        'evaluation.interval_s': 1,
        'evaluation.timeout_s': 300,
    }
    settings.update(extra or {})
    s = kpi_server(kpis, tokens=('ingest', 'viewer'), plugin_dirs=(PLUGINS, TEST_PLUGINS),
                   script_dirs=(SCRIPTS, EVIL), extra=settings)
    return s


def events(n=3):
    return [svc(900 + i, '2025-05-%02dT10:00:00Z' % (1 + i), 'AE-AUH', 'visa', 'online', True,
                'completed') for i in range(n)]


def kpi(s, kid):
    st, body = s.json('GET', '/api/v1/kpis/' + kid, token='viewer')
    return body if st == 200 else {}


def alive(pid):
    """Whether pid runs (a zombie does not)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rfind(')') + 2:].split()[0] != 'Z'


def test_stdout_cannot_forge_the_reply():
    with server([('X.forge', 'G1', 'count', 'forge_reply', {}), GOOD]) as s:
        s.start()
        st, _ = s.post(events())
        check(st == 200, 'the events are accepted')
        ok = wait_until(lambda: (kpi(s, 'X.forge').get('latest') or {}).get('value') is not None, 20)
        check(ok, 'kpi X.forge (prints a forged reply) is evaluated')
        _, m = s.metrics()
        periods = metric(m, 'mizan_eval_periods_recomputed_total')
        check(periods < 12345, 'the forged reply is not taken for the worker\'s: '
              'mizan_eval_periods_recomputed_total %r' % periods)
        log = s.log_text()
        check('evaluation 999:' not in log, 'the log reports no forged evaluation 999')
        check('ok run=999 periods=12345' in log, 'what the plugin printed went to the log')


def test_closed_descriptors_and_a_hang_do_not_wedge():
    with server([('X.close', 'G1', 'count', 'close_and_hang', {}), GOOD]) as s:
        s.start()
        st, _ = s.post(events())
        check(st == 200, 'the events are accepted')
        want = 'indicator close_and_hang closed the worker\'s reply pipe and did not end (killed)'
        ok = wait_until(lambda: want in (kpi(s, 'X.close').get('error') or ''), 30)
        check(ok, 'kpi X.close is blamed within 30 s (stall_s is 60): %r'
              % kpi(s, 'X.close').get('error'))
        ok = wait_until(lambda: (kpi(s, '1.1').get('latest') or {}).get('value') is not None, 20)
        check(ok, 'the next worker evaluates kpi 1.1 without X.close')
        t0 = time.monotonic()
        rc = s.stop(timeout=10)
        check(rc == 0, 'the daemon stops on SIGTERM with 0 (got %r) in %.1f s'
              % (rc, time.monotonic() - t0))


def test_what_a_plugin_forks_dies_with_the_worker():
    with server([('X.fork', 'G1', 'count', 'fork_and_crash', {}), GOOD]) as s:
        s.start()
        st, _ = s.post(events())
        check(st == 200, 'the events are accepted')
        ok = wait_until(lambda: 'crashed the worker (signal 9' in (kpi(s, 'X.fork').get('error') or ''),
                        30)
        check(ok, 'kpi X.fork is blamed for the crash: %r' % kpi(s, 'X.fork').get('error'))
        pidfile = os.path.join(s.dir, 'forked.pid')
        if check(os.path.exists(pidfile), 'the plugin forked a child and wrote its pid'):
            with open(pidfile) as f:
                child = int(f.read())
            ok = wait_until(lambda: not alive(child), 5)
            check(ok, 'the child the plugin forked (pid %d) is gone with the worker' % child)
            if not ok:
                os.kill(child, signal.SIGKILL)
        # The worker that replaced it dies with the daemon, however the
        # daemon ends.
        ok = wait_until(lambda: children(s.pid, 'mizan'), 20)
        workers = [p for p, _ in children(s.pid, 'mizan')]
        if check(ok and workers, 'a new worker runs: %r' % workers):
            s.kill()
            ok = wait_until(lambda: not any(alive(p) for p in workers), 5)
            check(ok, 'the worker dies with a SIGKILLed daemon')
            for p in workers:
                if alive(p):
                    os.kill(p, signal.SIGKILL)


def test_memory_is_bounded():
    # grow_memory keeps 32 MiB more (touched) per event, up to 1 GiB: the
    # worker passes 256 MiB within a few events.
    with server([('X.grow', 'G1', 'count', 'grow_memory', {}), GOOD],
                {'evaluation.memory_mib': 256}) as s:
        s.start()
        st, _ = s.post(events(10))
        check(st == 200, 'the events are accepted')
        want = 'indicator grow_memory used more than 256 MiB of memory (evaluation.memory_mib)'
        ok = wait_until(lambda: want in (kpi(s, 'X.grow').get('error') or ''), 30)
        check(ok, 'kpi X.grow is blamed for the worker\'s memory: %r' % kpi(s, 'X.grow').get('error'))
        check(kpi(s, 'X.grow').get('latest') is None, 'kpi X.grow has no figure')
        ok = wait_until(lambda: (kpi(s, '1.1').get('latest') or {}).get('value') is not None, 20)
        check(ok, 'the next worker evaluates kpi 1.1 without X.grow')
        check('kpi X.grow: indicator grow_memory used more than 256 MiB' in s.log_text(),
              'the log names the KPI')


def test_per_run_budget():
    # Each event is stepped 8 times (the whole and 3 slices, for the quarter
    # and the year).  X.heavy: some 500000 instructions a step, well within
    # scripts.instructions (10000000) per call; 20 events are some 80
    # million.  X.slow: 20 ms a step, 3.2 s for 20 events.
    with server([('X.heavy', 'G1', 'count', 'evil', {'attack': 'heavy'}),
                 ('X.slow', 'G1', 'count', 'slow_step', {}), GOOD],
                {'evaluation.run_instructions': 20000000, 'evaluation.run_seconds': 1,
                 'scripts.seconds': 30}) as s:
        s.start()
        st, _ = s.post(events(20))
        check(st == 200, 'the events are accepted')
        want = {
            'X.heavy': 'indicator evil used more than 20000000 instructions in one evaluation '
                       '(evaluation.run_instructions)',
            'X.slow': 'indicator slow_step took more than 1 s in one evaluation '
                      '(evaluation.run_seconds)',
        }
        for k, w in want.items():
            ok = wait_until(lambda: w in (kpi(s, k).get('error') or ''), 30)
            check(ok, 'kpi %s fails naming its budget: %r' % (k, kpi(s, k).get('error')))
            check(kpi(s, k).get('latest') is None, 'kpi %s has no figure' % k)
        ok = wait_until(lambda: (kpi(s, '1.1').get('latest') or {}).get('value') is not None, 20)
        check(ok, 'kpi 1.1 is evaluated beside them')


if __name__ == '__main__':
    main([test_stdout_cannot_forge_the_reply, test_closed_descriptors_and_a_hang_do_not_wedge,
          test_what_a_plugin_forks_dies_with_the_worker, test_memory_is_bounded,
          test_per_run_budget])
