#!/usr/bin/env python3
"""Dashboard benchmark: the cached scorecard page of `mizan serve` under wrk,
against a bare libmicrohttpd server (bare-mhd) answering a fixed body of the
same size, in the same run; and a KPI page with a cold chart.

  bench_dashboard.py --mizan build/mizan --bare build/tests/bench/bare-mhd
                     --root . --plugins build/plugins
                     [--db build/tests/bench/bench-eval.db]
                     [--cache build/tests/bench/bench-dashboard.db] [--events 10000000]
                     [--duration 10] [--threads 2] [--connections 16] [--rounds 1]
                     [--kpis 1.1,2.1,4.3] [--workdir DIR]

The source database is bench-eval's (--db) when it exists, else --cache, which
is made once with `mizan demo --events N --load` (about 90 s for 10,000,000)
and kept.  Either is copied into a temporary directory next to it (about 2 GB
for 10,000,000 events) and only the copy is written.  Steps:
  1. `mizan eval` on the copy (only what changed, so quick on an evaluated
     database), then `mizan serve` on it, and a viewer token signed in with
     POST /login: the mizan_session cookie;
  2. cold charts: the first GET of each of --kpis' KPI pages after the start,
     timed, then the same page again (warm);
  3. the scorecard (GET /) fetched once to warm it and to take its body;
     bare-mhd is started with that body;
  4. `wrk --latency -t2 -c16 -d10s` on each (mizan with the session cookie),
     --rounds times, alternating; best requests/s and its p99 are kept.
Both servers and wrk share the machine's cores; they run one at a time.
Last line: dashboard scorecard_rps=... bare_rps=... ratio=... scorecard_p99_ms=...
bare_p99_ms=... cold_kpi_ms=... warm_kpi_ms=... body_bytes=... events=...
Exit status 1 when a step failed or wrk saw non-2xx answers.
"""
import argparse
import http.client
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

GOAL_RATIO = 0.5
GOAL_P99_MS = 20.0


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, cwd, timeout, what):
    t0 = time.monotonic()
    r = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    dt = time.monotonic() - t0
    if r.returncode != 0:
        log(r.stderr.decode('utf-8', 'replace')[-3000:])
        raise SystemExit('%s exited %d' % (what, r.returncode))
    return dt, r.stdout.decode('utf-8', 'replace'), r.stderr.decode('utf-8', 'replace')


class Server:
    """A child process that prints 'listening on http://127.0.0.1:PORT' on stderr."""

    def __init__(self, cmd, cwd, name, timeout=120):
        self.name = name
        self.err = []
        self.proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.port = None
        got = threading.Event()

        def reader():
            for line in iter(self.proc.stderr.readline, b''):
                s = line.decode('utf-8', 'replace')
                self.err.append(s)
                del self.err[:-200]
                m = re.search(r'listening on http://127\.0\.0\.1:(\d+)', s)
                if m and self.port is None:
                    self.port = int(m.group(1))
                    got.set()
            got.set()

        threading.Thread(target=reader, daemon=True).start()
        if not got.wait(timeout) or self.port is None:
            self.stop()
            raise SystemExit('%s did not start:\n%s' % (name, ''.join(self.err[-30:])))

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def request(port, method, path, headers=None, body=None):
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=300)
    t0 = time.monotonic()
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    dt = time.monotonic() - t0
    c.close()
    return r, data, dt


UNITS = {'us': 1e-3, 'ms': 1.0, 's': 1e3, 'm': 60e3}


def wrk(url, cookie, a):
    cmd = ['wrk', '--latency', '-t%d' % a.threads, '-c%d' % a.connections,
           '-d%ds' % a.duration, '--timeout', '10s']
    if cookie:
        cmd += ['-H', 'Cookie: mizan_session=%s' % cookie]
    cmd.append(url)
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=a.duration + 60)
    out = r.stdout.decode('utf-8', 'replace')
    if r.returncode != 0:
        raise SystemExit('wrk failed: %s' % (out + r.stderr.decode('utf-8', 'replace')))
    rps = float(re.search(r'Requests/sec:\s*([\d.]+)', out).group(1))
    m = re.search(r'^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$', out, re.M)
    p99 = float(m.group(1)) * UNITS[m.group(2)]
    m = re.search(r'^\s*50%\s+([\d.]+)(us|ms|s|m)\s*$', out, re.M)
    p50 = float(m.group(1)) * UNITS[m.group(2)]
    bad = re.search(r'Non-2xx or 3xx responses:\s*(\d+)', out)
    errs = re.search(r'Socket errors:.*', out)
    return {'rps': rps, 'p99': p99, 'p50': p50, 'non2xx': int(bad.group(1)) if bad else 0,
            'socket_errors': errs.group(0) if errs else '', 'out': out}


def copy_db(src, dst):
    con = sqlite3.connect('file:%s?mode=ro' % src, uri=True)
    out = sqlite3.connect(dst)
    con.backup(out, pages=65536)
    out.close()
    con.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--mizan', required=True)
    ap.add_argument('--bare', required=True, help='the bare-mhd binary')
    ap.add_argument('--root', required=True, help='the repository')
    ap.add_argument('--plugins', required=True)
    ap.add_argument('--db', help="bench-eval's database, used (copied) when it exists")
    ap.add_argument('--cache', help='else this one, made with --events demo events and kept')
    ap.add_argument('--events', type=int, default=10000000)
    ap.add_argument('--duration', type=int, default=10)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--connections', type=int, default=16)
    ap.add_argument('--rounds', type=int, default=1)
    ap.add_argument('--kpis', default='1.1,2.1,4.3')
    ap.add_argument('--workdir', help='where the copy goes (default: next to the source)')
    a = ap.parse_args()
    if not shutil.which('wrk'):
        raise SystemExit('wrk is not installed (apt-get install wrk; tests/deps.sh installs it)')
    mizan = os.path.abspath(a.mizan)
    root = os.path.abspath(a.root)
    bench_dir = os.path.join(os.path.dirname(mizan), 'tests', 'bench')
    src_eval = os.path.abspath(a.db or os.path.join(bench_dir, 'bench-eval.db'))
    cache = os.path.abspath(a.cache or os.path.join(bench_dir, 'bench-dashboard.db'))

    if os.path.exists(src_eval):
        src = src_eval
    else:
        src = cache
        log('no %s (run `ninja -C build bench-eval` to make it): using %s' % (src_eval, cache))
        if not os.path.exists(cache):
            log('loading %d demo events into %s (kept for the next run) ...' % (a.events, cache))
            dt, _, err = run([mizan, 'demo', '--events', str(a.events), '--seed', '1',
                              '--from', '2025-01-01', '--to', time.strftime('%Y-%m-%d', time.gmtime()),
                              '--load', '--db', cache + '.part'],
                             os.path.dirname(cache), 7200, 'mizan demo --load')
            log(err.strip().splitlines()[-1] if err.strip() else 'loaded in %.0f s' % dt)
            os.replace(cache + '.part', cache)
            for ext in ('-wal', '-shm'):
                if os.path.exists(cache + '.part' + ext):
                    os.remove(cache + '.part' + ext)

    work = tempfile.mkdtemp(prefix='bench-dashboard-', dir=a.workdir or os.path.dirname(src))
    servers = []

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        db = os.path.join(work, 'mizan.db')
        cfg = os.path.join(work, 'mizan.lua')
        log('copying %s (%.1f GB) ...' % (src, os.path.getsize(src) / 1e9))
        t0 = time.monotonic()
        copy_db(src, db)
        log('copied in %.0f s' % (time.monotonic() - t0))
        events = sqlite3.connect(db).execute('SELECT count(*) FROM events').fetchone()[0]
        if events < a.events:
            log('NOTE: the database holds %d events, fewer than %d' % (events, a.events))
        q = lambda s: '"%s"' % s.replace('\\', '\\\\').replace('"', '\\"')
        with open(cfg, 'w') as f:
            f.write('include %s\n' % q(os.path.join(root, 'config', 'mizan.lua')))
            f.write('store.path = %s\n' % q(db))
            f.write('server.listen = "127.0.0.1:0"\n')
            f.write('demo.when_empty = 0\n')
            f.write('plugins.dirs = { %s }\n' % q(os.path.abspath(a.plugins)))
            f.write('scripts.dirs = { %s }\n' % q(os.path.join(root, 'scripts')))
            f.write('server.dashboards = %s\n' % q(os.path.join(root, 'dashboards')))
            f.write('mail.smtp_url = ""\n')
            # no periodic evaluation during the measurement
            f.write('evaluation.interval_s = 86400\n')
        dt, _, err = run([mizan, 'eval', '--config', cfg, '--db', db], work, 3600, 'mizan eval')
        log('mizan eval (what changed) in %.1f s: %s' % (
            dt, ' '.join(l for l in err.splitlines() if 'evaluated' in l)))
        _, tok, _ = run([mizan, 'token', 'add', '--config', cfg, '--db', db, '--role', 'viewer',
                         '--name', 'bench'], work, 60, 'mizan token add')
        token = tok.strip()

        t0 = time.monotonic()
        m = Server([mizan, 'serve', '--config', cfg], work, 'mizan serve')
        servers.append(m)
        log('mizan serve on port %d, up in %.1f s' % (m.port, time.monotonic() - t0))

        r, _, _ = request(m.port, 'POST', '/login',
                          {'Content-Type': 'application/x-www-form-urlencoded'},
                          urllib.parse.urlencode({'token': token}))
        cookie = None
        for k, v in r.getheaders():
            mm = re.match(r'mizan_session=([^;]+)', v) if k.lower() == 'set-cookie' else None
            if mm:
                cookie = mm.group(1)
        if r.status != 303 or not cookie:
            raise SystemExit('POST /login answered %d without a mizan_session cookie '
                             '(are the dashboards wired?)' % r.status)
        hdr = {'Cookie': 'mizan_session=%s' % cookie}

        # cold charts: the first request for each KPI page since the start
        cold, warm = {}, {}
        for k in [x for x in a.kpis.split(',') if x]:
            r, body, dt = request(m.port, 'GET', '/kpis/%s' % k, hdr)
            if r.status != 200:
                raise SystemExit('GET /kpis/%s: %d' % (k, r.status))
            cold[k] = dt * 1e3
            r, body2, dt = request(m.port, 'GET', '/kpis/%s' % k, hdr)
            warm[k] = dt * 1e3
            log('KPI page /kpis/%s: cold %.1f ms, warm %.1f ms (%d bytes)' % (k, cold[k], warm[k], len(body)))

        r, body, dt = request(m.port, 'GET', '/', hdr)
        if r.status != 200:
            raise SystemExit('GET / with the session: %d' % r.status)
        log('scorecard: first GET %.1f ms, %d bytes' % (dt * 1e3, len(body)))
        ctype = r.getheader('Content-Type') or 'text/html; charset=utf-8'
        r, body2, dt = request(m.port, 'GET', '/', hdr)
        log('scorecard: second GET %.1f ms, %d bytes' % (dt * 1e3, len(body2)))
        body_file = os.path.join(work, 'scorecard.html')
        with open(body_file, 'wb') as f:
            f.write(body2)

        bare = Server([os.path.abspath(a.bare), '--body', body_file, '--type', ctype], work, 'bare-mhd', 30)
        servers.append(bare)
        r, b, _ = request(bare.port, 'GET', '/')
        if r.status != 200 or len(b) != len(body2):
            raise SystemExit('bare-mhd answered %d with %d bytes' % (r.status, len(b)))

        best = {}
        for rnd in range(a.rounds):
            for name, port, ck in (('scorecard', m.port, cookie), ('bare', bare.port, None)):
                res = wrk('http://127.0.0.1:%d/' % port, ck, a)
                log('round %d %-9s %9.0f req/s  p50 %.2f ms  p99 %.2f ms  non-2xx %d %s' % (
                    rnd + 1, name, res['rps'], res['p50'], res['p99'], res['non2xx'], res['socket_errors']))
                if res['non2xx']:
                    log(res['out'])
                    raise SystemExit('%s: %d non-2xx answers under wrk' % (name, res['non2xx']))
                if name not in best or res['rps'] > best[name]['rps']:
                    best[name] = res
        if not m.alive():
            raise SystemExit('mizan serve died:\n%s' % ''.join(m.err[-30:]))
        # the page still answers the same after the load
        r, body3, _ = request(m.port, 'GET', '/', hdr)
        if r.status != 200:
            raise SystemExit('GET / after wrk: %d' % r.status)

        s, bb = best['scorecard'], best['bare']
        ratio = s['rps'] / bb['rps']
        cold_ms = max(cold.values()) if cold else float('nan')
        warm_ms = max(warm.values()) if warm else float('nan')
        print('Dashboard benchmark: %d events, scorecard %d bytes, wrk -t%d -c%d -d%ds, %d round(s)'
              % (events, len(body2), a.threads, a.connections, a.duration, a.rounds))
        print('%-22s %12s %10s %10s' % ('', 'requests/s', 'p50 ms', 'p99 ms'))
        print('%-22s %12.0f %10.2f %10.2f' % ('mizan scorecard (/)', s['rps'], s['p50'], s['p99']))
        print('%-22s %12.0f %10.2f %10.2f' % ('bare libmicrohttpd', bb['rps'], bb['p50'], bb['p99']))
        print('ratio %.2f (goal >= %.1f: %s), scorecard p99 %.2f ms (goal < %.0f ms: %s)' % (
            ratio, GOAL_RATIO, 'met' if ratio >= GOAL_RATIO else 'NOT met',
            s['p99'], GOAL_P99_MS, 'met' if s['p99'] < GOAL_P99_MS else 'NOT met'))
        for k in cold:
            print('KPI page /kpis/%s: cold chart %.1f ms, warm %.1f ms' % (k, cold[k], warm[k]))
        print('dashboard scorecard_rps=%.0f bare_rps=%.0f ratio=%.3f scorecard_p99_ms=%.2f '
              'bare_p99_ms=%.2f cold_kpi_ms=%.1f warm_kpi_ms=%.1f body_bytes=%d events=%d' % (
                  s['rps'], bb['rps'], ratio, s['p99'], bb['p99'], cold_ms, warm_ms, len(body2), events))
        return 0
    except KeyboardInterrupt:
        log('interrupted')
        return 130
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
