"""Durability: acknowledged batches survive SIGKILL; resending is idempotent;
a store that cannot write answers 5xx and stores exactly what it acknowledged."""
import json
import os
import resource
import signal
import sqlite3
import stat
import threading
import time

from mizan_test import SLOW, Server, check, main, note

BATCH = 200


def batch(b):
    return [{'kind': 'service', 'id': 'd-%05d-%03d' % (b, i),
             'ts': '2026-01-%02dT%02d:%02d:00Z' % (1 + b % 28, i % 24, i % 60),
             'mission': 'AE-AUH', 'country': 'AE', 'service': 'passport-renewal',
             'channel': 'online', 'automated': i % 2 == 0, 'outcome': 'completed',
             'duration_min': i / 4, 'attrs': {'batch': b, 'i': i, 'pad': 'p' * 100}}
            for i in range(BATCH)]


def ndjson(evs):
    return ''.join(json.dumps(e) + '\n' for e in evs)


def db_counts(path, ids=None):
    con = sqlite3.connect('file:%s?mode=ro' % path, uri=True, timeout=30)
    try:
        if ids is None:
            return con.execute('SELECT count(*), count(DISTINCT id) FROM events').fetchone()
        con.execute('CREATE TEMP TABLE want(id TEXT PRIMARY KEY)')
        con.executemany('INSERT INTO want VALUES (?)', [(i,) for i in ids])
        return con.execute('SELECT count(*) FROM events WHERE id IN (SELECT id FROM want)').fetchone()[0]
    finally:
        con.close()


def test_sigkill_midstream():
    with Server({'store.synchronous': 'full'}) as s:
        results = {}   # batch number -> (status, body) or exception text
        lock = threading.Lock()
        next_b = [0]
        stop = threading.Event()

        def poster():
            while not stop.is_set():
                with lock:
                    b = next_b[0]
                    next_b[0] += 1
                try:
                    st, body = s.post(batch(b), 'application/x-ndjson', timeout=20)
                    results[b] = (st, body)
                except Exception as e:  # the server died under us
                    results[b] = ('error', repr(e))
                    return

        pid = s.pid
        killed = threading.Event()

        def killer():
            # Wait for some acknowledged batches, then SIGKILL while posts fly.
            deadline = time.monotonic() + 30 * SLOW
            while time.monotonic() < deadline and \
                    sum(1 for r in list(results.values()) if r[0] == 200) < 25:
                time.sleep(0.005)
            os.kill(pid, signal.SIGKILL)
            killed.set()
        ths = [threading.Thread(target=poster, daemon=True) for _ in range(3)]
        kt = threading.Thread(target=killer, daemon=True)
        kt.start()
        for t in ths:
            t.start()
        kt.join(40 * SLOW)
        for t in ths:
            t.join(30 * SLOW)
        stop.set()
        rc = s.proc.wait(10)
        s.proc = None
        check(killed.is_set() and rc == -signal.SIGKILL, 'server was SIGKILLed mid-stream (rc %r)' % rc)
        acked = sorted(b for b, r in results.items() if r[0] == 200)
        failed = sorted(b for b, r in results.items() if r[0] != 200)
        note('%d batches acknowledged, %d cut off by the kill' % (len(acked), len(failed)))
        check(len(acked) >= 25 and failed, 'the kill hit while posts were in flight')
        check(all(results[b][1] == {'accepted': BATCH, 'duplicates': 0} for b in acked),
              'every acknowledged batch said accepted %d' % BATCH)

        s.start()
        missing = [b for b in acked
                   if db_counts(s.db, ['d-%05d-%03d' % (b, i) for i in range(BATCH)]) != BATCH]
        check(not missing, 'after restart every acknowledged batch is fully present (missing %r)'
              % missing[:10])
        partial = []
        for b in failed:
            n = db_counts(s.db, ['d-%05d-%03d' % (b, i) for i in range(BATCH)])
            if n not in (0, BATCH):
                partial.append((b, n))
        check(not partial, 'unacknowledged batches are all-or-nothing (partial: %r)' % partial)
        total, distinct = db_counts(s.db)
        check(total == distinct and len(acked) * BATCH <= total <= len(results) * BATCH,
              'stored %d rows: between acknowledged and sent' % total)
        st, b = s.get_events('limit=10000')
        check(st == 200 and b['count'] == min(total, 10000), 'GET agrees with the file after restart')

        # Resend everything, acknowledged or not.
        bad = []
        dup_ok = True
        for b in sorted(results):
            st, body = s.post(batch(b), 'application/x-ndjson')
            if st != 200 or body.get('accepted', 0) + body.get('duplicates', 0) != BATCH:
                bad.append((b, st, body))
            elif b in acked and body != {'accepted': 0, 'duplicates': BATCH}:
                dup_ok = False
        check(not bad, 'every resent batch answered 200 with accepted+duplicates = %d (%r)'
              % (BATCH, bad[:3]))
        check(dup_ok, 'acknowledged batches come back as all duplicates')
        total, distinct = db_counts(s.db)
        check(total == distinct == len(results) * BATCH,
              'after the resend each id is stored exactly once: %d rows, %d distinct, %d sent'
              % (total, distinct, len(results) * BATCH))
        s.stop()
        con = sqlite3.connect(s.db)
        ok = con.execute('PRAGMA integrity_check').fetchone()[0]
        con.close()
        check(ok == 'ok', 'PRAGMA integrity_check after the crash: ok (got %r)' % ok)


def test_write_failure_fsize():
    limit = 3 * 1024 * 1024

    def limited():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    with Server({'store.synchronous': 'full'}, preexec_fn=limited) as s:
        accepted = 0
        statuses = []
        first_fail = None
        for b in range(400):
            st, body = s.post(batch(b), 'application/x-ndjson')
            statuses.append(st)
            if st == 200:
                accepted += body['accepted']
            elif first_fail is None:
                first_fail = (b, st, body)
                check(500 <= st <= 599 and st in (503, 507),
                      'the batch that hits the file size limit answers 503/507 (got %d %r)' % (st, body))
                check(isinstance(body, dict) and 'nothing was stored' in body.get('error', ''),
                      'the 5xx body says nothing was stored (%r)' % body)
            if first_fail and b >= first_fail[0] + 5:
                break
        check(first_fail is not None, 'a write failed under RLIMIT_FSIZE=%d (statuses %r)'
              % (limit, sorted(set(statuses))))
        if first_fail:
            note('first failure at batch %d: %d %r; then %r'
                 % (first_fail[0], first_fail[1], first_fail[2], statuses[first_fail[0] + 1:]))
        check(all(st in (200, 503, 507) for st in statuses), 'only 200, 503 or 507 answers (%r)'
              % sorted(set(statuses)))
        st, _, _ = s.request('GET', '/healthz', token=None)
        check(st == 200, 'healthz still answers while the disk is "full" (got %d)' % st)
        st, m = s.metrics()
        check(st == 200 and any(k.startswith('mizan_batches_failed_total') and v >= 1
                                for k, v in m.items()), 'mizan_batches_failed_total counts the failure')
        s.stop()
        s.preexec_fn = None
        s.start()
        total, distinct = db_counts(s.db)
        check(total == accepted == distinct,
              'after a restart without the limit: stored %d = sum of accepted %d' % (total, accepted))
        st, body = s.post(batch(10000), 'application/x-ndjson')
        check(st == 200 and body.get('accepted') == BATCH, 'writes work again without the limit')


def test_read_only_database():
    # A populated database that the server may not write.
    with Server() as s:
        st, body = s.post(batch(2), 'application/x-ndjson')
        check(st == 200, 'seed batch stored')
        s.stop()
        pre = None
        if os.geteuid() == 0:
            # root ignores file modes: run the server as nobody instead.
            def pre():
                os.setgid(65534)
                os.setuid(65534)
            os.chmod(s.dir, 0o755)
            for f in os.listdir(s.dir):
                os.chmod(os.path.join(s.dir, f), 0o644)
            os.chmod(s.log, 0o666)
        else:
            for f in os.listdir(s.dir):
                if f.startswith('mizan.db'):
                    os.chmod(os.path.join(s.dir, f), 0o444)
            os.chmod(s.dir, 0o555)
        try:
            try:
                s.start(preexec_fn=pre, timeout=10)
                started = True
            except RuntimeError:
                started = False
            if started:
                st, body = s.post(batch(3), 'application/x-ndjson')
                check(st in (503, 507), 'read-only database: POST answers 503/507 (got %d %r)' % (st, body))
                st, b = s.get_events('limit=10')
                note('read-only database: the server started; GET answers %d' % st)
                s.stop()
            else:
                log = s.log_text().split('--- start')[-1]
                check(s.last_rc == 1, 'read-only database: serve exits 1 (got %r)' % s.last_rc)
                check('mizan.db' in log and 'readonly' in log.replace('read-only', 'readonly'), 'read-only database: the server refuses to start and names '
                      'the file (log: %r)' % log[-300:])
                note('read-only database: the server refused to start')
        finally:
            os.chmod(s.dir, 0o700)
        total, _ = db_counts(s.db)
        check(total == BATCH, 'the read-only database is unchanged (%d rows)' % total)


if __name__ == '__main__':
    main([test_sigkill_midstream, test_write_failure_fsize, test_read_only_database])
