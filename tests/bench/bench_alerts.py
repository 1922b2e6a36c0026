#!/usr/bin/env python3
"""Alerts benchmark: one full alert evaluation over 10,000,000 demo events, then
outbox throughput to an aiosmtpd server on 127.0.0.1 (Debian's python3-aiosmtpd).

  bench_alerts.py --mizan build/mizan --root . --plugins build/plugins
                  [--db build/tests/bench/bench-eval.db] [--events 10000000]
                  [--messages 2000] [--workdir DIR]

The source database (bench-eval's, or made with `mizan demo --events N --load`
when absent) is copied into a temporary directory next to it and only the copy
is written.  Steps, each timed:
  1. `mizan eval --full` (KPI figures, evaluation.slices = {"mission"});
  2. `mizan eval --alerts` (alerts.slices = {"mission"}): its stderr line
     "alerts: N figures judged, M changed state, K messages queued, S sent, in T s";
     the messages it queues are delivered by that same run;
  3. --messages copies of a queued message are INSERTed into the outbox (sqlite3),
     due now, and `mizan eval --alerts` delivers them: messages/s from the SMTP
     server's first to its last DATA.
Last line: alerts eval_s=... figures=... changed=... outbox_msgs=... outbox_msgs_per_s=...
"""
import argparse
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

try:
    from aiosmtpd.controller import Controller
except ImportError:
    Controller = None


class Handler:
    def __init__(self):
        self.times = []

    async def handle_DATA(self, server, session, envelope):
        self.times.append(time.monotonic())
        return '250 OK'


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(mizan, args, cwd, timeout):
    t0 = time.monotonic()
    r = subprocess.run([mizan] + args, cwd=cwd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=timeout)
    dt = time.monotonic() - t0
    err = r.stderr.decode('utf-8', 'replace')
    if r.returncode != 0:
        log(err[-3000:])
        raise SystemExit('mizan %s exited %d' % (' '.join(args[:2]), r.returncode))
    return dt, err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--mizan', required=True)
    ap.add_argument('--root', required=True, help='the repository (scripts/, config/strategy.lua)')
    ap.add_argument('--plugins', required=True)
    ap.add_argument('--db', help='source database (default: build/tests/bench/bench-eval.db)')
    ap.add_argument('--events', type=int, default=10000000)
    ap.add_argument('--messages', type=int, default=2000)
    ap.add_argument('--workdir', help='where the copy goes (default: next to the source)')
    a = ap.parse_args()
    if Controller is None:
        raise SystemExit('python3-aiosmtpd is not installed (tests/deps.sh installs it)')
    mizan = os.path.abspath(a.mizan)
    root = os.path.abspath(a.root)
    src = os.path.abspath(a.db or os.path.join(os.path.dirname(mizan), 'tests', 'bench',
                                               'bench-eval.db'))
    work = tempfile.mkdtemp(prefix='bench-alerts-', dir=a.workdir or os.path.dirname(src))
    smtp = None
    try:
        db = os.path.join(work, 'mizan.db')
        cfg = os.path.join(work, 'mizan.lua')
        port = free_port()
        with open(cfg, 'w') as f:
            f.write('plugins.dirs = { "%s" }\n' % os.path.abspath(a.plugins))
            f.write('scripts.dirs = { "%s" }\n' % os.path.join(root, 'scripts'))
            f.write('evaluation.timezone = "Asia/Amman"\n')
            f.write('evaluation.slices = { "mission" }\n')
            f.write('alerts.slices = { "mission" }\n')
            f.write('mail.smtp_url = "smtp://127.0.0.1:%d"\n' % port)
            f.write('mail.tls = "none"\nmail.from = "mizan@mizan.localhost"\n')
            f.write('mail.attempts = 3\nmail.backoff_s = 1\nmail.timeout_s = 30\n')
            f.write('include "%s"\n' % os.path.join(root, 'config', 'strategy.lua'))
        if os.path.exists(src):
            log('copying %s (%.1f GB) ...' % (src, os.path.getsize(src) / 1e9))
            con = sqlite3.connect('file:%s?mode=ro' % src, uri=True)
            out = sqlite3.connect(db)
            con.backup(out)
            out.close()
            con.close()
        else:
            log('no %s: loading %d demo events ...' % (src, a.events))
            run(mizan, ['demo', '--events', str(a.events), '--load', '--config', cfg, '--db', db],
                work, 7200)
        con = sqlite3.connect(db)
        events = con.execute('SELECT count(*) FROM events').fetchone()[0]
        cols = [r[1] for r in con.execute('PRAGMA table_info(sources)')]
        if cols and 'first' not in cols:
            # A database made by a build whose schema-3 `sources` had no first/count
            # (the 2 -> 3 migration was edited in place): rebuild it, in the copy.
            log('rebuilding the old sources table %s of the copy' % cols)
            con.executescript(
                'DROP TABLE sources;'
                'CREATE TABLE sources (kind INTEGER NOT NULL, mission TEXT NOT NULL,'
                ' first INTEGER NOT NULL, last INTEGER NOT NULL, count INTEGER NOT NULL,'
                ' PRIMARY KEY (kind, mission)) WITHOUT ROWID;'
                'INSERT INTO sources SELECT kind, mission, min(ts), max(ts), count(*) FROM events'
                ' WHERE mission IS NOT NULL GROUP BY kind, mission;')
        # a fresh start for the alerts: the copy may carry bench-eval's state
        for t in ('alerts', 'alert_history', 'outbox', 'silences'):
            try:
                con.execute('DELETE FROM %s' % t)
            except sqlite3.OperationalError:
                pass
        con.commit()
        con.close()
        log('%d events' % events)

        smtp = Controller(Handler(), hostname='127.0.0.1', port=port)
        smtp.start()
        handler = smtp.handler

        dt, err = run(mizan, ['eval', '--full', '--config', cfg, '--db', db], work, 7200)
        log('eval --full: %.1f s: %s' % (dt, err.strip().splitlines()[-1] if err.strip() else ''))
        eval_full_s = dt

        dt, err = run(mizan, ['eval', '--alerts', '--config', cfg, '--db', db], work, 7200)
        m = re.search(r'alerts: (\d+) figures judged, (\d+) changed state, (\d+) messages queued, '
                      r'(\d+) sent, in ([\d.]+) s', err)
        if not m:
            log(err[-2000:])
            raise SystemExit('no "alerts:" line from eval --alerts')
        figures, changed, queued, sent = (int(x) for x in m.groups()[:4])
        alert_s = float(m.group(5))
        log('eval --alerts: %.2f s wall (incremental eval + alerts + delivery); alerts %.2f s: '
            '%d figures judged, %d changed state, %d queued, %d sent'
            % (dt, alert_s, figures, changed, queued, sent))

        # outbox throughput: copies of a formatted message, due now
        con = sqlite3.connect(db)
        row = con.execute('SELECT id FROM outbox ORDER BY id LIMIT 1').fetchone()
        if not row:
            raise SystemExit('the alert run queued no message to copy')
        now = int(time.time() * 1000)
        con.execute('WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)'
                    ' INSERT INTO outbox(created, alert, to_addr, subject, message, next_attempt)'
                    ' SELECT ?, alert, to_addr, subject, message, ? FROM outbox, n WHERE id = ?',
                    (a.messages, now, now - 1000, row[0]))
        con.commit()
        pending = con.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0]
        con.close()
        before = len(handler.times)
        dt, err = run(mizan, ['eval', '--alerts', '--config', cfg, '--db', db], work, 7200)
        got = handler.times[before:]
        m = re.search(r'(\d+) sent', err)
        sent2 = int(m.group(1)) if m else -1
        span = got[-1] - got[0] if len(got) > 1 else float('nan')
        rate = (len(got) - 1) / span if len(got) > 1 and span > 0 else float('nan')
        log('outbox: %d pending, %d sent by eval --alerts (%.2f s wall), %d received in %.2f s '
            '(first to last DATA)' % (pending, sent2, dt, len(got), span))
        con = sqlite3.connect(db)
        st = dict(con.execute('SELECT status, count(*) FROM outbox GROUP BY status').fetchall())
        con.close()
        log('outbox rows by status: %s' % st)
        print('eval_full_s=%.1f events=%d' % (eval_full_s, events))
        print('alerts eval_s=%.2f figures=%d changed=%d outbox_msgs=%d outbox_msgs_per_s=%.0f'
              % (alert_s, figures, changed, len(got), rate))
        return 0 if len(got) == pending and sent2 == pending else 1
    finally:
        if smtp:
            smtp.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
