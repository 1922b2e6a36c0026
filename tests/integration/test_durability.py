"""Durability: acknowledged batches survive SIGKILL; resending is idempotent;
a store that cannot write answers 503 and stores exactly what it acknowledged.
What is stored is read back through GET /api/v1/events, never from the file."""
import collections
import json
import os
import resource
import signal
import threading
import time

from mizan_test import SLOW, Server, all_events, check, main, note

BATCH = 200
# Every stored event in one GET: a few hundred batches of 200 at most.
SETTINGS = {'store.synchronous': 'full', 'limits.query_rows': 100000}


def batch(b):
    return [{'kind': 'service', 'id': 'd-%05d-%03d' % (b, i),
             'ts': '2026-01-%02dT%02d:%02d:00Z' % (1 + b % 28, i % 24, i % 60),
             'mission': 'AE-AUH', 'country': 'AE', 'service': 'passport-renewal',
             'channel': 'online', 'automated': i % 2 == 0, 'outcome': 'completed',
             'duration_min': i / 4, 'attrs': {'batch': b, 'i': i, 'pad': 'p' * 100}}
            for i in range(BATCH)]


def ndjson(evs):
    return ''.join(json.dumps(e) + '\n' for e in evs)


def stored_by_batch(s):
    """{batch number: number of its events stored}, from the API; None when the
    events could not be read.  Checks that no id comes back twice and that
    every stored event reads back exactly as it was sent."""
    evs = all_events(s, 'kind=service')
    if evs is None:
        return None
    ids = [e['id'] for e in evs]
    check(len(ids) == len(set(ids)), 'no id is stored twice (%d events, %d ids)'
          % (len(ids), len(set(ids))))
    sent = {}
    changed = []
    for e in evs:
        b = int(e['id'].split('-')[1])
        if b not in sent:
            sent[b] = {x['id']: x for x in batch(b)}
        if e != sent[b].get(e['id']):
            changed.append(e['id'])
    check(not changed, 'every stored event reads back as it was sent (%d differ: %r)'
          % (len(changed), changed[:3]))
    return collections.Counter(int(i.split('-')[1]) for i in set(ids))


def test_sigkill_midstream():
    with Server(SETTINGS) as s:
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
        per = stored_by_batch(s)
        if per is None:
            return
        missing = [b for b in acked if per[b] != BATCH]
        check(not missing, 'after restart every acknowledged batch is fully present (missing %r)'
              % missing[:10])
        partial = [(b, per[b]) for b in failed if per[b] not in (0, BATCH)]
        check(not partial, 'unacknowledged batches are all-or-nothing (partial: %r)' % partial)
        unsent = sorted(set(per) - set(results))
        check(not unsent, 'nothing is stored from a batch that was never sent (%r)' % unsent)
        total = sum(per.values())
        check(len(acked) * BATCH <= total <= len(results) * BATCH,
              'stored %d events: between acknowledged (%d) and sent (%d)'
              % (total, len(acked) * BATCH, len(results) * BATCH))

        # Resend everything, acknowledged or not: a batch that is stored comes
        # back as all duplicates, one that is not is stored whole now.
        bad = []
        for b in sorted(results):
            want = ({'accepted': 0, 'duplicates': BATCH} if per[b] == BATCH
                    else {'accepted': BATCH, 'duplicates': 0})
            st, body = s.post(batch(b), 'application/x-ndjson')
            if st != 200 or body != want:
                bad.append((b, st, body, want))
        check(not bad, 'every resent batch answered 200: all duplicates when it was stored, all '
              'accepted when not (wrong: %r)' % bad[:3])
        per = stored_by_batch(s)
        check(per is not None and set(per) == set(results) and
              all(n == BATCH for n in per.values()),
              'after the resend every sent batch is stored whole, each id once: %d events from '
              '%d batches' % (sum((per or {}).values()), len(results)))


def test_write_failure_fsize():
    # The file size limit makes the store's writes fail with EFBIG, which
    # SQLite reports as a disk I/O error: the README's 503 ("the store could
    # not write the batch"), not 507, which is for a disk that is full (ENOSPC).
    limit = 3 * 1024 * 1024

    def limited():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    with Server(SETTINGS, preexec_fn=limited) as s:
        accepted_ids = set()
        statuses = []
        wrong = []
        first_fail = None
        for b in range(400):
            st, body = s.post(batch(b), 'application/x-ndjson')
            statuses.append(st)
            if st == 200:
                if body != {'accepted': BATCH, 'duplicates': 0}:
                    wrong.append((b, body))
                accepted_ids.update(e['id'] for e in batch(b))
            elif first_fail is None:
                first_fail = (b, st, body)
                check(st == 503,
                      'the batch that hits the file size limit answers 503 (got %d %r)' % (st, body))
                check(isinstance(body, dict) and 'nothing was stored' in body.get('error', ''),
                      'the 503 body says nothing was stored (%r)' % body)
            if first_fail and b >= first_fail[0] + 5:
                break
        if not check(first_fail is not None, 'a write failed under RLIMIT_FSIZE=%d (statuses %r)'
                     % (limit, sorted(set(statuses)))):
            return
        note('first failure at batch %d: %d %r; then %r'
             % (first_fail[0], first_fail[1], first_fail[2], statuses[first_fail[0] + 1:]))
        check(all(st in (200, 503) for st in statuses), 'only 200 or 503 answers (%r)'
              % sorted(set(statuses)))
        check(not wrong, 'every 200 said accepted %d, duplicates 0 (%r)' % (BATCH, wrong[:3]))
        st, _, _ = s.request('GET', '/healthz', token=None)
        check(st == 200, 'healthz still answers while the disk is "full" (got %d)' % st)
        st, m = s.metrics()
        check(st == 200 and any(k.startswith('mizan_batches_failed_total') and v >= 1
                                for k, v in m.items()), 'mizan_batches_failed_total counts the failure')
        s.stop()
        s.preexec_fn = None
        s.start()
        evs = all_events(s, 'kind=service')
        got = [e['id'] for e in evs or []]
        check(evs is not None and len(got) == len(set(got)) and set(got) == accepted_ids,
              'after a restart without the limit: exactly the %d acknowledged events are stored '
              '(%d stored, %d not acknowledged, %d acknowledged missing)'
              % (len(accepted_ids), len(got), len(set(got) - accepted_ids),
                 len(accepted_ids - set(got))))
        st, body = s.post(batch(10000), 'application/x-ndjson')
        check(st == 200 and body.get('accepted') == BATCH, 'writes work again without the limit')


def test_read_only_database():
    # A populated database that the server may not write (the test changes
    # the file modes on purpose, and puts them back to read what is stored).
    with Server(SETTINGS) as s:
        st, body = s.post(batch(2), 'application/x-ndjson')
        check(st == 200 and body == {'accepted': BATCH, 'duplicates': 0}, 'seed batch stored')
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
            answer = None
            if started:
                answer = s.post(batch(3), 'application/x-ndjson')
                s.stop()
            check(not started, 'read-only database: the server refuses to start (%s)'
                  % ('it started; POST answered %r' % (answer,) if started else 'it did'))
            log = s.log_text().split('--- start')[-1]
            check(s.last_rc == 1, 'read-only database: serve exits 1 (got %r)' % s.last_rc)
            check('mizan.db' in log and 'readonly' in log.replace('read-only', 'readonly'),
                  'read-only database: the log names the file and says it is read-only (log: %r)'
                  % log[-300:])
        finally:
            os.chmod(s.dir, 0o700)
            for f in os.listdir(s.dir):
                if f.startswith('mizan.db'):
                    os.chmod(os.path.join(s.dir, f), 0o644)
        s.start()
        evs = all_events(s)
        check(evs is not None and sorted(e['id'] for e in evs) == sorted(e['id'] for e in batch(2)),
              'the read-only database is unchanged: exactly the seed batch (%d events)'
              % len(evs or []))


if __name__ == '__main__':
    main([test_sigkill_midstream, test_write_failure_fsize, test_read_only_database])
