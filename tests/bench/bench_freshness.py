#!/usr/bin/env python3
"""Freshness benchmark: how long a batch takes from the POST's answer to its
effect on the dashboard (the API), over a store that already holds many events.

  bench_freshness.py --mizan build/mizan --root . --plugins build/plugins
                     [--sizes 100000,1000000] [--batches 30] [--batch 1000]
                     [--every 0.2] [--cache DIR] [--out FILE.json] [--baseline FILE.json]

For each size N: a database with N demo events (`mizan demo --events N --load`,
kept in --cache and copied for each run, so that the original is never
written), a `mizan serve` over a copy of it (the shipped strategy, its
plugins and scripts, evaluation.after_ingest_s = 0 so that the evaluation
starts as soon as a batch lands), its first evaluation waited out; then
--batches batches of --batch service events dated now, one every --every
seconds, POSTed while another thread polls GET /api/v1/kpis/4.1 every 10 ms.
A batch's latency is from the POST's answer to the first poll whose
figure of the current quarter (n: service events in the quarter) includes it.

Prints median and p95 per size, the ratio of the larger sizes to the
smallest, and with --baseline (the --out of another run, e.g. on the parent
commit) this run's figures over the baseline's.  Asserts nothing; exit 1
only when a run could not be made (the server did not start, a POST failed,
an effect never showed).
Last lines: freshness events=N median_s=... p95_s=... max_s=... batches=...
"""
import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(mizan, args, cwd, timeout=7200):
    r = subprocess.run([mizan] + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    if r.returncode != 0:
        log(r.stderr.decode('utf-8', 'replace')[-3000:])
        raise SystemExit('mizan %s exited %d' % (' '.join(args[:2]), r.returncode))
    return r.stdout.decode().strip()


def write_config(path, a, root):
    with open(path, 'w') as f:
        f.write('plugins.dirs = { "%s" }\n' % os.path.abspath(a.plugins))
        f.write('scripts.dirs = { "%s" }\n' % os.path.join(root, 'scripts'))
        f.write('evaluation.timezone = "Asia/Amman"\n')
        f.write('evaluation.after_ingest_s = 0\n')
        f.write('include "%s"\n' % os.path.join(root, 'config', 'strategy.lua'))


def pct(v, p):
    v = sorted(v)
    k = (len(v) - 1) * p
    i = int(k)
    j = min(i + 1, len(v) - 1)
    return v[i] + (v[j] - v[i]) * (k - i)


class Client:
    def __init__(self, port, token):
        self.port, self.token, self.c = port, token, None

    def req(self, method, path, body=None, ctype=None):
        for attempt in range(3):
            try:
                if self.c is None:
                    self.c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=60)
                h = {'Authorization': 'Bearer ' + self.token}
                if ctype:
                    h['Content-Type'] = ctype
                self.c.request(method, path, body=body, headers=h)
                r = self.c.getresponse()
                return r.status, r.read()
            except (OSError, http.client.HTTPException):
                if self.c:
                    self.c.close()
                self.c = None
                if attempt == 2:
                    raise
        return None


def quarter_n(cl):
    st, body = cl.req('GET', '/api/v1/kpis/4.1')
    if st != 200:
        return None
    latest = json.loads(body).get('latest')
    return latest.get('n') if latest else None


def one_size(a, root, mizan, n):
    cache = os.path.abspath(a.cache)
    os.makedirs(cache, exist_ok=True)
    src = os.path.join(cache, 'freshness-%d.db' % n)
    work = tempfile.mkdtemp(prefix='bench-freshness-', dir=cache)
    proc = None
    try:
        cfg = os.path.join(work, 'mizan.lua')
        write_config(cfg, a, root)
        if not os.path.exists(src):
            log('loading %d demo events into %s ...' % (n, src))
            tmp = src + '.part'
            run(mizan, ['demo', '--events', str(n), '--load', '--config', cfg, '--db', tmp], work)
            for ext in ('-wal', '-shm'):
                if os.path.exists(tmp + ext):
                    os.unlink(tmp + ext)
            os.rename(tmp, src)
        db = os.path.join(work, 'mizan.db')
        shutil.copyfile(src, db)
        ingest = run(mizan, ['token', 'add', '--role', 'ingest', '--name', 'ingest', '--config',
                             cfg, '--db', db], work)
        viewer = run(mizan, ['token', 'add', '--role', 'viewer', '--name', 'viewer', '--config',
                             cfg, '--db', db], work)
        logf = open(os.path.join(work, 'server.log'), 'wb')
        proc = subprocess.Popen([mizan, 'serve', '--config', cfg, '--db', db, '--listen',
                                 '127.0.0.1:0'], cwd=work, stdin=subprocess.DEVNULL, stdout=logf,
                                stderr=logf)
        logf.close()
        port = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and port is None:
            with open(os.path.join(work, 'server.log'), 'rb') as f:
                m = re.search(rb'listening on http://127\.0\.0\.1:(\d+)', f.read())
            if m:
                port = int(m.group(1))
            elif proc.poll() is not None:
                break
            time.sleep(0.05)
        if port is None:
            raise SystemExit('the server did not start')
        view = Client(port, viewer)
        post = Client(port, ingest)
        # The first evaluation (everything) has to be done: the figure is
        # there and the worker is idle.
        t0 = time.monotonic()
        while quarter_n(view) is None:
            if time.monotonic() - t0 > 3600:
                raise SystemExit('no first figure')
            time.sleep(0.2)
        time.sleep(1.0)
        while True:
            st, body = view.req('GET', '/metrics')
            text = body.decode()
            busy = re.search(r'^mizan_eval_running\S*\s+(\S+)', text, re.M)
            if not busy or float(busy.group(1)) == 0:
                break
            time.sleep(0.2)
        base = quarter_n(view)
        log('%d events: first evaluation done in %.1f s, 4.1 n = %s' %
            (n, time.monotonic() - t0, base))

        seen = []  # (time, n)
        stop = threading.Event()

        def watch():
            w = Client(port, viewer)
            while not stop.is_set():
                v = quarter_n(w)
                seen.append((time.monotonic(), v))
                time.sleep(0.01)

        th = threading.Thread(target=watch, daemon=True)
        th.start()
        answers = []
        start = time.monotonic()
        now_ms = int(time.time() * 1000)
        for i in range(a.batches):
            due = start + i * a.every
            d = due - time.monotonic()
            if d > 0:
                time.sleep(d)
            ts = now_ms - 60000 + i
            lines = []
            for j in range(a.batch):
                t = time.gmtime((ts + j) / 1000)
                iso = time.strftime('%Y-%m-%dT%H:%M:%S', t) + '.%03dZ' % ((ts + j) % 1000)
                lines.append(json.dumps({
                    'kind': 'service', 'id': 'fresh-%d-%d-%d' % (now_ms, i, j), 'ts': iso,
                    'mission': 'AE-AUH', 'country': 'AE', 'service': 'passport-renewal',
                    'channel': 'online', 'automated': bool(j % 2), 'outcome': 'completed'}))
            st, body = post.req('POST', '/api/v1/events', '\n'.join(lines).encode(),
                                'application/x-ndjson')
            if st != 200:
                raise SystemExit('POST answered %d: %s' % (st, body[:300]))
            answers.append(time.monotonic())
        want = base + a.batch * a.batches
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if seen and seen[-1][1] is not None and seen[-1][1] >= want:
                break
            time.sleep(0.05)
        stop.set()
        th.join()
        lat = []
        for i, t in enumerate(answers):
            need = base + a.batch * (i + 1)
            hit = next((ts for ts, v in seen if v is not None and v >= need and ts >= t - 1),
                       None)
            if hit is None:
                raise SystemExit('the effect of batch %d never showed' % i)
            lat.append(max(0.0, hit - t))
        return {'events': n, 'batches': len(lat), 'median_s': statistics.median(lat),
                'p95_s': pct(lat, 0.95), 'max_s': max(lat), 'latencies': lat}
    finally:
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--mizan', required=True)
    ap.add_argument('--root', required=True)
    ap.add_argument('--plugins', required=True)
    ap.add_argument('--sizes', default='100000,1000000')
    ap.add_argument('--batches', type=int, default=30)
    ap.add_argument('--batch', type=int, default=1000)
    ap.add_argument('--every', type=float, default=0.2)
    ap.add_argument('--cache', default=tempfile.gettempdir())
    ap.add_argument('--out')
    ap.add_argument('--baseline')
    a = ap.parse_args()
    mizan = os.path.abspath(a.mizan)
    root = os.path.abspath(a.root)
    res = [one_size(a, root, mizan, int(s)) for s in a.sizes.split(',')]
    base = None
    if a.baseline and os.path.exists(a.baseline):
        with open(a.baseline) as f:
            base = {r['events']: r for r in json.load(f)}
    print('%10s %8s %10s %10s %10s %12s %12s' % ('events', 'batches', 'median_s', 'p95_s',
                                                  'max_s', 'median/1st', 'p95/1st'))
    for r in res:
        print('%10d %8d %10.3f %10.3f %10.3f %12.2f %12.2f' % (
            r['events'], r['batches'], r['median_s'], r['p95_s'], r['max_s'],
            r['median_s'] / res[0]['median_s'] if res[0]['median_s'] else float('nan'),
            r['p95_s'] / res[0]['p95_s'] if res[0]['p95_s'] else float('nan')))
    if base:
        print('against the baseline (%s):' % a.baseline)
        print('%10s %12s %12s %12s %12s %10s %10s' % ('events', 'median_was', 'median_now',
                                                      'p95_was', 'p95_now', 'median_x',
                                                      'p95_x'))
        for r in res:
            b = base.get(r['events'])
            if not b:
                continue
            print('%10d %12.3f %12.3f %12.3f %12.3f %10.2f %10.2f' % (
                r['events'], b['median_s'], r['median_s'], b['p95_s'], r['p95_s'],
                b['median_s'] / r['median_s'] if r['median_s'] else float('inf'),
                b['p95_s'] / r['p95_s'] if r['p95_s'] else float('inf')))
    for r in res:
        print('freshness events=%d median_s=%.4f p95_s=%.4f max_s=%.4f batches=%d' % (
            r['events'], r['median_s'], r['p95_s'], r['max_s'], r['batches']))
    if a.out:
        with open(a.out, 'w') as f:
            json.dump(res, f)


if __name__ == '__main__':
    main()
