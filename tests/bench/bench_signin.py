#!/usr/bin/env python3
"""Sign-in flood benchmark: the API's p99 latency while one address floods
POST /login with wrong passwords, against the same figure idle, in one run.

  bench_signin.py --mizan build/mizan [--seconds 5] [--flooders 32]
                  [--dashboards dashboards] [--workdir DIR]

Starts `mizan serve` on 127.0.0.1:0 in a temporary directory with one
dashboard user (a real Argon2id hash from `mizan passwd`) and a viewer
token, then:
  1. idle: GETs of /api/v1/goals for --seconds, one at a time, one every
     2 ms at most, each timed;
  2. flood: --flooders threads post /login (user "ed", a wrong password)
     from 127.0.0.1, each sending again as soon as it is answered, while
     the same GETs are timed again.  The flood stops with them.
Prints, never asserts; the last line:
  signin-flood idle_p99_ms=... flood_p99_ms=... ratio=... logins=... \
  refused_429=... verified_401=...
Target: ratio within 2.  Exit status 1 only when the server fails to start
or an API request fails.  The only process it stops is the server it started.
"""
import argparse
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse


def p99(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * 0.99))] if xs else float('nan')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--mizan', required=True)
    ap.add_argument('--dashboards', default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', '..', 'dashboards'))
    ap.add_argument('--seconds', type=float, default=5)
    ap.add_argument('--flooders', type=int, default=32)
    ap.add_argument('--workdir')
    a = ap.parse_args()
    mizan = os.path.abspath(a.mizan)
    d = tempfile.mkdtemp(prefix='mizan-bench-signin-', dir=a.workdir)
    proc = None
    try:
        r = subprocess.run([mizan, 'passwd'], input=b'correct horse battery staple\n',
                           stdout=subprocess.PIPE, timeout=60, check=True)
        cfg = os.path.join(d, 'mizan.lua')
        with open(cfg, 'w') as f:
            f.write('server.dashboards = "%s"\n' % os.path.abspath(a.dashboards))
            f.write('charts.gnuplot = ""\n')
            f.write('auth.users = { { name = "ed", role = "editor", password = "%s" } }\n'
                    % r.stdout.decode().strip())
        db = os.path.join(d, 'mizan.db')
        r = subprocess.run([mizan, 'token', 'add', '--role', 'viewer', '--name', 'v', '--config',
                            cfg, '--db', db], stdout=subprocess.PIPE, timeout=60, check=True)
        token = r.stdout.decode().strip()
        log = open(os.path.join(d, 'server.log'), 'wb')
        proc = subprocess.Popen([mizan, 'serve', '--config', cfg, '--db', db, '--listen',
                                 '127.0.0.1:0'], cwd=d, stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL)
        port = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and port is None:
            with open(os.path.join(d, 'server.log'), 'rb') as f:
                m = re.search(rb'listening on http://127\.0\.0\.1:(\d+)', f.read())
            port = int(m.group(1)) if m else None
            time.sleep(0.05)
        if port is None:
            print('the server did not start', file=sys.stderr)
            return 1

        def api_times(seconds):
            c = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
            out = []
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                time.sleep(0.002)
                t0 = time.perf_counter()
                c.request('GET', '/api/v1/goals', headers={'Authorization': 'Bearer ' + token})
                resp = c.getresponse()
                resp.read()
                out.append((time.perf_counter() - t0) * 1000)
                if resp.status != 200:
                    raise RuntimeError('GET /api/v1/goals: %d' % resp.status)
            c.close()
            return out

        api_times(0.2)  # warm
        idle = api_times(a.seconds)

        stop = threading.Event()
        counts = {}
        lock = threading.Lock()
        body = urllib.parse.urlencode({'user': 'ed', 'password': 'wrong'}).encode()

        def flood():
            while not stop.is_set():
                try:
                    c = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
                    c.request('POST', '/login', body=body, headers={
                        'Content-Type': 'application/x-www-form-urlencoded'})
                    resp = c.getresponse()
                    resp.read()
                    c.close()
                    st = resp.status
                except OSError:
                    st = 'error'
                with lock:
                    counts[st] = counts.get(st, 0) + 1

        threads = [threading.Thread(target=flood) for _ in range(a.flooders)]
        for t in threads:
            t.start()
        time.sleep(0.5)  # the flood under way
        try:
            flooded = api_times(a.seconds)
        finally:
            stop.set()
            for t in threads:
                t.join(60)
        i99, f99 = p99(idle), p99(flooded)
        print('idle: p50 %.2f ms p99 %.2f ms; flood: p50 %.2f ms p99 %.2f ms; answers to the '
              'flood: %r' % (sorted(idle)[len(idle) // 2], i99, sorted(flooded)[len(flooded) // 2],
                             f99, counts), file=sys.stderr)
        print('signin-flood idle_p99_ms=%.2f flood_p99_ms=%.2f ratio=%.2f logins=%d '
              'refused_429=%d verified_401=%d api_requests=%d+%d'
              % (i99, f99, f99 / i99 if i99 > 0 else float('nan'), sum(counts.values()),
                 counts.get(429, 0), counts.get(401, 0), len(idle), len(flooded)))
        return 0
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
