#!/usr/bin/env python3
"""The store's integrity and demo data, against a real `mizan serve`: a
damaged database is noticed (PRAGMA quick_check at start and on schedule),
reported by /healthz and /metrics, and refused unless --allow-damaged; an
existing empty file is never taken for a new store; demo data is loaded
only with `serve --demo`, and a store that holds it says so.
"""
import os
import subprocess
import time

from mizan_test import BIN, SLOW, Server, check, main, metric, run_cli
from test_kpis import svc


def serve_refused(args, cwd, timeout=20):
    """Runs `mizan serve ARGS`: (exit code or None if it kept running, its log)."""
    p = subprocess.Popen([BIN, 'serve', '--listen', '127.0.0.1:0'] + args, cwd=cwd,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = p.communicate(timeout=timeout * SLOW)
        return p.returncode, out.decode('utf-8', 'replace')
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        return None, out.decode('utf-8', 'replace')


def damage(path):
    """Writes garbage over a few pages of the second half of an SQLite file
    (events and their indexes), leaving the schema, written first, as it was:
    the store opens, and only reading it all finds the damage."""
    size = os.path.getsize(path)
    page = 4096
    start = size // 2 // page * page
    with open(path, 'r+b') as f:
        f.seek(start)
        f.write(b'\xa5' * min(4 * page, size - start))


def test_damaged_store():
    events = [svc(i, '2025-05-01T10:%02d:%02dZ' % (i // 60 % 60, i % 60), 'AE-AUH', 'visa', 'online',
                  True, 'completed') for i in range(3000)]
    with Server(tokens=('ingest', 'viewer')) as s:
        st, body = s.json('GET', '/healthz', token=None)
        check(st == 200 and body.get('status') == 'ok' and body['check']['state'] == 'ok'
              and body['check']['at'] and body.get('demo') is False,
              '/healthz: ok, the start\'s check ok, not demo data: %r' % body)
        _, m = s.metrics()
        check(metric(m, 'mizan_store_check_ok') == 1, 'mizan_store_check_ok 1')
        st, _ = s.post(events)
        check(st == 200, '3000 events stored')
        check(s.stop() == 0, 'the server stops')
        damage(s.db)

        rc, log = serve_refused(['--config', s.config, '--db', s.db], s.dir)
        check(rc == 1, 'serve refuses the damaged store with exit 1 (got %r)' % rc)
        check('is damaged' in log and '--allow-damaged' in log,
              'the log says the store is damaged and how to start anyway: %r' % log[-600:])

        s.args = ['--allow-damaged']
        s.start()
        st, body = s.json('GET', '/healthz', token=None)
        check(st == 503 and body and body.get('status') == 'damaged'
              and body['check']['state'] == 'damaged' and body['check'].get('detail'),
              '/healthz: 503, damaged, with what the check found: %r %r' % (st, body))
        _, m = s.metrics()
        check(metric(m, 'mizan_store_check_ok') == 0, 'mizan_store_check_ok 0')


def test_scheduled_check():
    with Server(settings={'store.check_interval_s': 1}, tokens=()) as s:
        st, b0 = s.json('GET', '/healthz', token=None)
        time.sleep(2.5)
        st, b1 = s.json('GET', '/healthz', token=None)
        check(b0['check']['at'] != b1['check']['at'] and b1['check']['state'] == 'ok',
              'the store is checked again on schedule: %r then %r' % (b0['check'], b1['check']))
        _, m = s.metrics()
        check(metric(m, 'mizan_store_check_time_seconds') > 0, 'mizan_store_check_time_seconds set')


def test_empty_file_is_not_a_new_store():
    with Server(start=False, tokens=()) as s:
        open(s.db, 'wb').close()
        rc, log = serve_refused(['--config', s.config, '--db', s.db], s.dir)
        check(rc == 1, 'serve refuses an existing empty file with exit 1 (got %r)' % rc)
        check('is an empty file, not a store' in log, 'the log says why: %r' % log[-400:])
        check(os.path.getsize(s.db) == 0, 'the file is left as it was (empty)')
        r = run_cli('token', 'add', '--role', 'admin', '--name', 'x', '--config', s.config,
                    '--db', s.db, cwd=s.dir)
        check(r.returncode == 1 and os.path.getsize(s.db) == 0,
              '`mizan token add` refuses it too and writes nothing')


def test_demo_data_only_when_asked():
    from test_kpis import SRC
    dash = os.path.join(SRC, 'dashboards')
    settings = {'demo.when_empty': 500, 'server.dashboards': dash}
    with Server(settings=settings, tokens=('viewer',)) as s:
        st, body = s.get_events('limit=10')
        check(st == 200 and body['count'] == 0,
              'without --demo, demo.when_empty loads nothing: %r' % (body or {}).get('count'))
        st, body = s.json('GET', '/healthz', token=None)
        check(body.get('demo') is False, '/healthz: not demo data')
    with Server(settings=settings, tokens=('viewer',), args=['--demo']) as s:
        st, body = s.get_events('limit=10')
        check(st == 200 and body['count'] == 10, 'with --demo, demo events are loaded')
        st, body = s.json('GET', '/healthz', token=None)
        check(st == 200 and body.get('demo') is True, '/healthz: "demo": true (%r)' % body)
        _, m = s.metrics()
        check(metric(m, 'mizan_store_demo') == 1, 'mizan_store_demo 1')
        st, _, page = s.request('GET', '/login', token=None)
        page = page.decode('utf-8', 'replace')
        check(st == 200 and 'class="demo-banner"' in page and 'Demo data' in page,
              'the sign-in page carries the demo banner')
        # The mark stays across restarts, and --demo loads nothing more.
        s.restart()
        st, body = s.json('GET', '/healthz', token=None)
        check(body.get('demo') is True, 'still demo data after a restart')


if __name__ == '__main__':
    main([test_damaged_store, test_scheduled_check, test_empty_file_is_not_a_new_store,
          test_demo_data_only_when_asked])
