"""`mizan import` and `mizan demo` against the HTTP path; CLI error reporting.
What an import stored is read through GET /api/v1/events of a `mizan serve`
on the same database, never from the file."""
import json
import os
import re
import shutil
import tempfile

from mizan_test import (Server, all_events, api_time_ms, check, main, note, run_cli,
                        write_config)

# A reader: `mizan serve` on a database that the CLI writes, for its API.
READER = {'limits.query_rows': 200000}


def reader(db):
    """A server on db (its own directory and configuration) with a viewer token."""
    return Server(READER, tokens=('viewer',), db=db)


def stored_ids(s, query=''):
    """The sorted ids of the events stored (matching query); None when unreadable."""
    evs = all_events(s, query)
    return None if evs is None else sorted(e['id'] for e in evs)


def every_event(s):
    """The body of GET /api/v1/events for every stored event, as bytes (100000
    events are 25 MB of JSON: two databases are compared byte for byte before
    anything is decoded), and its count; (None, None) when it failed."""
    limit = READER['limits.query_rows']
    st, _, data = s.request('GET', '/api/v1/events?limit=%d' % limit, token='viewer', timeout=120)
    m = re.match(rb'\{"count":(\d+),', data)
    n = int(m.group(1)) if m else None
    if not check(st == 200 and n is not None and n < limit,
                 'GET /api/v1/events?limit=%d: 200 with fewer than %d events (got %d, %r)'
                 % (limit, limit, st, data[:60])):
        return None, None
    return data, n


class TempDir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix='mizan-it-')
        return self.path

    def __exit__(self, *exc):
        if not os.environ.get('MIZAN_TEST_KEEP'):
            shutil.rmtree(self.path, ignore_errors=True)


def test_import_matches_http():
    with TempDir() as d:
        f = os.path.join(d, 'f.ndjson')
        r = run_cli('demo', '--events', 100000, '--seed', 7, '--from', '2025-01-01', '--to',
                    '2026-06-01', '-o', f, cwd=d, timeout=300)
        check(r.returncode == 0, 'demo exits 0 (%r)' % r.stderr[-300:])
        with open(f, 'rb') as fh:
            lines = fh.read().splitlines()
        check(len(lines) == 100000, 'demo wrote 100000 lines (got %d)' % len(lines))
        r3 = run_cli('demo', '--events', 100000, '--seed', 7, '--from', '2025-01-01', '--to',
                     '2026-06-01', cwd=d, timeout=300)
        check(r3.stdout.splitlines() == lines, 'demo is deterministic: same seed, same output')

        cfg = os.path.join(d, 'empty.lua')
        write_config(cfg, {})
        dba = os.path.join(d, 'a.db')
        r = run_cli('import', '--config', cfg, '--db', dba, f, cwd=d, timeout=600)
        check(r.returncode == 0, 'import exits 0 (rc %d, %r)' % (r.returncode, r.stderr[-300:]))
        check(b'100000 events, 100000 accepted, 0 duplicates' in r.stdout,
              'import reports 100000 accepted (%r)' % r.stdout[-200:])
        r = run_cli('import', '--config', cfg, '--db', dba, f, cwd=d, timeout=600)
        check(r.returncode == 0 and b'0 accepted, 100000 duplicates' in r.stdout,
              're-import: 100000 duplicates (%r)' % r.stdout[-200:])
        with reader(dba) as a:
            raw_a, n_a = every_event(a)
        check(n_a == 100000, 'DB A holds 100000 events (got %r)' % n_a)

        with Server(dict(READER, **{'limits.timeout_s': 120})) as s:
            acc = dup = 0
            bad = []
            for i in range(0, len(lines), 5000):
                body = b'\n'.join(lines[i:i + 5000]) + b'\n'
                st, b = s.post(body, 'application/x-ndjson', timeout=120)
                if st != 200:
                    bad.append((i, st, str(b)[:200]))
                    continue
                acc += b['accepted']
                dup += b['duplicates']
            check(not bad, 'all 20 NDJSON batches of 5000 answered 200 (%r)' % bad[:2])
            check(acc == 100000 and dup == 0, 'HTTP accepted 100000, 0 duplicates (%d, %d)' % (acc, dup))
            raw_b, n_b = every_event(s)
        check(n_a == n_b == 100000, 'both hold 100000 events (%r, %r)' % (n_a, n_b))
        ra = json.loads(raw_a)['events'] if raw_a else []
        if raw_a == raw_b:
            diff, same = [], bool(raw_a)
        else:
            # Not the same bytes: find out which events differ (by id, in case
            # only the order of events with the same time differs).
            note('the two answers differ byte for byte (%d and %d bytes)'
                 % (len(raw_a or b''), len(raw_b or b'')))
            rb = json.loads(raw_b)['events'] if raw_b else []
            ra_, rb_ = sorted(ra, key=lambda e: e['id']), sorted(rb, key=lambda e: e['id'])
            diff = [(x, y) for x, y in zip(ra_, rb_) if x != y]
            same = len(ra_) == len(rb_) and not diff
        check(same, 'import and HTTP stored identical events, field for field (%d differ%s)'
              % (len(diff), (', first: %r' % (diff[0],)) if diff else ''))
        fields = set().union(*ra) if ra else set()
        check(len(fields) == 27, 'the demo fills every one of the 27 fields (%d: %r)'
              % (len(fields), sorted(fields)))
        kinds = {e['kind'] for e in ra}
        check(kinds == {'service', 'training', 'project', 'satisfaction'},
              'the demo covers all four kinds (%r)' % kinds)


def bad_line_file(path, n, bad_line, field_patch):
    with open(path, 'w') as f:
        for i in range(1, n + 1):
            e = {'kind': 'satisfaction', 'id': 'imp-%d' % i, 'ts': '2026-01-01T00:00:00Z',
                 'subject': 'service', 'score': 3, 'scale': 5}
            if i == bad_line:
                e.update(field_patch)
            f.write(json.dumps(e) + '\n')


def test_import_errors():
    with TempDir() as d:
        cfg = os.path.join(d, 'small.lua')
        write_config(cfg, {'limits.batch_events': 100})
        db = os.path.join(d, 'x.db')
        with reader(db) as s:
            f = os.path.join(d, 'bad.ndjson')
            bad_line_file(f, 10, 6, {'subject': 'weather'})
            r = run_cli('import', '--config', cfg, '--db', db, f, cwd=d)
            err = r.stderr.decode()
            check(r.returncode == 4, 'import of a file with one bad line exits 4 (got %d)' % r.returncode)
            check(re.search(r'^%s:6: subject: ' % re.escape(f), err, re.M) is not None,
                  'stderr names FILE:6: subject: (%r)' % err)
            got = stored_ids(s)
            check(got == [], 'nothing stored (got %r)' % got)
            # The bad line deep in a later chunk (batch_events 100, line 750).
            f2 = os.path.join(d, 'bad2.ndjson')
            bad_line_file(f2, 1000, 750, {'score': 9})
            r = run_cli('import', '--config', cfg, '--db', db, f2, cwd=d)
            err = r.stderr.decode()
            check(r.returncode == 4 and re.search(r'^%s:750: score: ' % re.escape(f2), err, re.M),
                  'bad line 750 of 1000 (chunks of 100): exit 4, FILE:750: score: (rc %d, %r)'
                  % (r.returncode, err[:300]))
            got = stored_ids(s)
            check(got == [], 'nothing stored from the first 7 good chunks (got %r)'
                  % (got and len(got)))
            # Malformed JSON line.
            f3 = os.path.join(d, 'bad3.ndjson')
            bad_line_file(f3, 5, 99, {})
            with open(f3, 'a') as fh:
                fh.write('{"kind": "satisfaction", "id": \n')
            r = run_cli('import', '--config', cfg, '--db', db, f3, cwd=d)
            got = stored_ids(s)
            check(r.returncode == 4 and ('%s:6: ' % f3) in r.stderr.decode() and got == [],
                  'malformed line 6: exit 4, FILE:6:, nothing stored (%r, %r)' % (r.stderr[:200], got))
            # Two files: the good one is stored, the bad one is not; exit 4.
            good = os.path.join(d, 'good.ndjson')
            bad_line_file(good, 7, 99, {})
            r = run_cli('import', '--config', cfg, '--db', db, good, f, cwd=d)
            got = stored_ids(s)
            check(r.returncode == 4 and got == sorted('imp-%d' % i for i in range(1, 8)),
                  'good + bad file: exit 4, the good file stored (rc %d, %r)' % (r.returncode, got))
        r = run_cli('import', '--config', cfg, '--db', db, os.path.join(d, 'missing.ndjson'), cwd=d)
        check(r.returncode == 1 and b'missing.ndjson' in r.stderr,
              'a missing file: exit 1 naming it (rc %d)' % r.returncode)
        r = run_cli('import', '--config', cfg, '--db', db, cwd=d)
        check(r.returncode == 2, 'import without a file: exit 2 (got %d)' % r.returncode)


def test_import_csv_and_json():
    with TempDir() as d:
        cfg = os.path.join(d, 'small.lua')
        write_config(cfg, {'limits.batch_events': 2})
        db = os.path.join(d, 'c.db')
        f = os.path.join(d, 'events.csv')
        title = 'تدريب على البروتوكول, المستوى الأول'
        with open(f, 'w', encoding='utf-8') as fh:
            fh.write('kind,id,ts,mission,title,hours,participants,cost,currency\n')
            fh.write('training,csv-1,2026-01-05T08:00:00+03:00,JO-AMM,"%s",3.5,20,100,JOD\n' % title)
            fh.write('training,csv-2,2026-01-06T08:00:00Z,JO-AMM,"Line ""two""",1,2,0,\n')
            fh.write('training,csv-3,2026-01-07T08:00:00Z,,Three,2,3,4,USD\n')
            fh.write('training,csv-4,2026-01-08T08:00:00Z,JO-AMM,Four,2,3,4,\n')
            fh.write('training,csv-5,2026-01-09T08:00:00Z,JO-AMM,Five,2,3,4,\n')
        r = run_cli('import', '--config', cfg, '--db', db, f, cwd=d)
        check(r.returncode == 0 and b'5 events, 5 accepted' in r.stdout,
              'CSV import (chunks of 2 rows under one header): 5 accepted (rc %d %r %r)'
              % (r.returncode, r.stdout, r.stderr[-300:]))
        with reader(db) as s:
            got = {e['id']: e for e in all_events(s) or []}
            e1, e2, e3 = got.get('csv-1', {}), got.get('csv-2', {}), got.get('csv-3', {})
            check(e1.get('title') == title, 'CSV quoted Arabic title with a comma kept (%r)'
                  % e1.get('title'))
            check(e2.get('title') == 'Line "two"', 'CSV doubled quotes kept (%r)' % e2.get('title'))
            check(e1.get('ts') and api_time_ms(e1['ts']) == 1767589200000,
                  'CSV +03:00 time stored as UTC, 2026-01-05T05:00:00Z (got %r)' % e1.get('ts'))
            check(e3 and 'mission' not in e3, 'empty CSV cell stored as an absent field (%r)' % e3)
            check(e2 and 'currency' not in e2, 'an empty last cell too (%r)' % e2)
            check(sorted(got) == ['csv-%d' % i for i in range(1, 6)], 'all five CSV rows stored (%r)'
                  % sorted(got))
            fb = os.path.join(d, 'bad.csv')
            with open(fb, 'w') as fh:
                fh.write('kind,id,ts,mission,title,hours,participants,cost\n')
                fh.write('training,cb-1,2026-01-05T08:00:00Z,X,T,1,1,1\n')
                fh.write('training,cb-2,2026-01-05T08:00:00Z,X,T,1,1,1\n')
                fh.write('training,cb-3,2026-01-05T08:00:00Z,X,T,1,1.5,1\n')
            r = run_cli('import', '--config', cfg, '--db', db, fb, cwd=d)
            check(r.returncode == 4 and ('%s:4: participants: ' % fb) in r.stderr.decode(),
                  'CSV bad row 4 in the second chunk: exit 4, FILE:4: participants: (%r)'
                  % r.stderr[:300])
            fj = os.path.join(d, 'arr.json')
            with open(fj, 'w') as fh:
                json.dump([{'kind': 'project', 'id': 'j-%d' % i, 'ts': '2026-02-01T00:00:00Z',
                            'sector': 'health', 'contribution': 'investment', 'amount': i * 10}
                           for i in range(5)], fh, indent=1)
            r = run_cli('import', '--config', cfg, '--db', db, fj, cwd=d)
            check(r.returncode == 0 and b'5 events, 5 accepted' in r.stdout,
                  'JSON array file (stored in slices of 2): 5 accepted (%r)' % r.stdout)
            got = stored_ids(s)
            check(got == sorted(['csv-%d' % i for i in range(1, 6)] + ['j-%d' % i for i in range(5)]),
                  'CSV and JSON imports stored 10 events, the bad CSV none (%r)' % got)


def test_cli():
    with TempDir() as d:
        cfg = os.path.join(d, 'cfg.lua')
        with open(cfg, 'w') as fh:
            fh.write('limits.body_bytes = 65536\nlimits.timeout_s = 2\nlimits.bogus_key = 1\n')
        r = run_cli('check', '--config', cfg, cwd=d)
        err = r.stderr.decode()
        check(r.returncode == 3, 'check with an unknown key exits 3 (got %d)' % r.returncode)
        check(re.search(r'cfg\.lua:3:.*limits\.bogus_key', err) is not None,
              'check prints file:3: naming limits.bogus_key (%r)' % err)
        with open(cfg, 'w') as fh:
            fh.write('-- comment\nserver.threads = 4\ncolour = "blue"\n')
        r = run_cli('check', '--config', cfg, cwd=d)
        check(r.returncode == 3 and re.search(r'cfg\.lua:3:.*colour', r.stderr.decode()),
              'unknown top-level key: exit 3, file:3: colour (%r)' % r.stderr)
        with open(cfg, 'w') as fh:
            fh.write('limits.timeout_s = 0\n')
        r = run_cli('check', '--config', cfg, cwd=d)
        check(r.returncode == 3 and re.search(r'cfg\.lua:1:.*timeout_s', r.stderr.decode()),
              'out-of-range value: exit 3, file:1: timeout_s (%r)' % r.stderr)
        with open(cfg, 'w') as fh:
            fh.write('limits.body_bytes = 64 * KiB\nlimits.timeout_s = 2\nlimits.batch_events = 500\n'
                     'store.path = "x.db"\n')
        r = run_cli('check', '--config', cfg, cwd=d)
        check(r.returncode == 0 and b'ok' in r.stdout, 'a valid config: check exits 0 and says ok (%r)'
              % (r.stdout + r.stderr))
        r = run_cli('serve', '--config', os.path.join(d, 'nope.lua'), '--listen', '127.0.0.1:0', cwd=d)
        check(r.returncode == 3, 'serve with a missing config file exits 3 (got %d)' % r.returncode)
        for args in (['--help'], ['import', '--help'], ['--version'], ['serve', '--help'],
                     ['demo', '--help'], ['token', '--help'], ['check', '--help']):
            r = run_cli(*args, cwd=d)
            check(r.returncode == 0 and r.stdout.strip(), '`mizan %s` exits 0 with output (rc %d)'
                  % (' '.join(args), r.returncode))
        r = run_cli('--version', cwd=d)
        check(re.match(rb'mizan \d+\.\d+\.\d+', r.stdout) is not None, '--version prints "mizan X.Y.Z" (%r)'
              % r.stdout)
        r = run_cli('import', '--help', cwd=d)
        check(b'usage: mizan import' in r.stdout, 'import --help prints its usage')
        r = run_cli('frobnicate', cwd=d)
        check(r.returncode == 2, 'unknown command exits 2 (got %d)' % r.returncode)
        r = run_cli('demo', '--events', 'many', cwd=d)
        check(r.returncode == 2, 'demo --events many exits 2 (got %d)' % r.returncode)
        r = run_cli('token', 'add', '--role', 'root', '--name', 'x', '--db', os.path.join(d, 't.db'), cwd=d)
        check(r.returncode == 2, 'token add with a bad role exits 2 (got %d)' % r.returncode)


if __name__ == '__main__':
    main([test_cli, test_import_errors, test_import_csv_and_json, test_import_matches_http])
