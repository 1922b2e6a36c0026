#!/usr/bin/env python3
"""Alerts and their mail, end to end: the real daemon (or `mizan eval --alerts
--now`) judging small strategies, with aiosmtpd (Debian's python3-aiosmtpd) on
127.0.0.1 in a thread of this test receiving what the outbox sends.

  missed_once      a closed quarter below target: one message to the Arabic
                   owner, figures in the text and html parts, never repeated
  smtp_down        the alert fires while SMTP is down, the daemon restarts,
                   SMTP comes up: delivered exactly once, after >= 2 attempts
  flap_ack_silence alerts.min_state_s holds back a flapping figure; reminders
                   every alerts.repeat_s until acknowledged; a silence keeps a
                   KPI quiet; one recovery notice; ack and silence audited
  forecast         run-rate forecast mid-quarter: 80 % of target is at risk,
                   a lower target is on track
  header_injection a KPI title with CR/LF and "Bcc:" stays in the Subject
  stale            a mission that stops sending: one stale alert and one
                   message to the owner of the KPI reading that kind; recovers
  target_change    PUT /api/v1/kpis/{id}/targets/{period}: roles, bodies, audit

Asia/Amman is UTC+3 all year: a quarter starts at 21:00Z the day before.
"""
import json
import os
import re
import socket
import time
from email import policy
from email.parser import BytesParser

from mizan_test import (BIN, SLOW, Server, api_time_ms, check, iso, main, metric, note,
                        now_ms, previous_quarter, quarter_of, run_cli, wait_until)

try:
    from aiosmtpd.controller import Controller
except ImportError:  # pragma: no cover
    Controller = None

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, '..', '..'))
BUILD = os.path.dirname(BIN)
SCRIPTS = os.path.join(SRC, 'scripts')
PLUGINS = os.path.join(BUILD, 'plugins')
FROM = 'mizan@mizan.localhost'
TOKENS = ('ingest', 'viewer', 'editor', 'admin')

# ---- SMTP -------------------------------------------------------------------------------


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Handler:
    def __init__(self):
        self.messages = []  # (mail_from, rcpt_tos, content bytes)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return '250 Message accepted for delivery'


class Smtp:
    """An aiosmtpd server on 127.0.0.1:port, in a thread."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.handler = Handler()
        self.ctl = None

    def start(self):
        self.ctl = Controller(self.handler, hostname='127.0.0.1', port=self.port)
        self.ctl.start()
        return self

    def stop(self):
        if self.ctl:
            self.ctl.stop()
            self.ctl = None

    @property
    def messages(self):
        return self.handler.messages

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def parse(content):
    return BytesParser(policy=policy.default).parsebytes(content)


def parts(m):
    """(subject, text, html) of a received message."""
    text = m.get_body(('plain',))
    html = m.get_body(('html',))
    return (str(m['Subject']), text.get_content() if text else '', html.get_content() if html else '')


# ---- time and periods: now_ms, iso, quarter_of, previous_quarter (mizan_test) ----------


# ---- configuration ------------------------------------------------------------------------


def lua(v):
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return '{ ' + ', '.join(lua(x) for x in v) + ' }'
    if isinstance(v, dict):
        return '{ ' + ', '.join('%s = %s' % (k, lua(x)) for k, x in v.items()) + ' }'
    return '"' + (str(v).replace('\\', '\\\\').replace('"', '\\"').replace('\r', '\\r')
                  .replace('\n', '\\n')) + '"'


def person(name, email, lang):
    return {'name': name, 'email': email, 'lang': lang}


def kpi(id, indicator, title_en, title_ar=None, owner=None, target=None, cumulative=False,
        managers=None, goal='G1', unit='programmes', params=None):
    k = {'id': id, 'goal': goal, 'title_ar': title_ar or ('مؤشر ' + id), 'title_en': title_en,
         'unit': unit, 'period': 'quarter', 'indicator': indicator}
    if params:
        k['params'] = params
    if cumulative:
        k['cumulative'] = True
    if owner:
        k['owner'] = owner
    if managers:
        k['managers'] = managers
    if target:
        k['target'] = target
    return k


def write_strategy(dirname, kpis, goals=(('G1', 'Capacity'),)):
    path = os.path.join(dirname, 'strategy.lua')
    with open(path, 'w') as f:
        for gid, title in goals:
            f.write('goal { id = %s, title_ar = %s, title_en = %s }\n'
                    % (lua(gid), lua('هدف ' + gid), lua(title)))
        for k in kpis:
            f.write('kpi %s\n' % lua(k))
    return path


def write_config(path, strategy, smtp_port=None, **settings):
    cfg = {
        'plugins.dirs': [PLUGINS],
        'scripts.dirs': [SCRIPTS],
        'evaluation.timezone': 'Asia/Amman',
        'evaluation.interval_s': 1,
        'evaluation.after_ingest_s': 0,
        'alerts.stale_s': 0,
        'mail.smtp_url': 'smtp://127.0.0.1:%d' % smtp_port if smtp_port else '',
        'mail.tls': 'none',
        'mail.from': FROM,
        'mail.timeout_s': 10,
        'mail.poll_s': 1,
        'mail.backoff_s': 1,
        'mail.backoff_max_s': 2,
        'mail.attempts': 50,
    }
    cfg.update({k.replace('__', '.'): v for k, v in settings.items()})
    with open(path, 'w') as f:
        for k, v in cfg.items():
            f.write('%s = %s\n' % (k, lua(v)))
        f.write('include %s\n' % lua(strategy))


def alert_server(kpis, smtp_port=None, start=True, **settings):
    """A server (tokens ingest, viewer, editor, admin) with the given strategy."""
    s = Server(tokens=TOKENS, start=False)
    write_config(s.config, write_strategy(s.dir, kpis), smtp_port, **settings)
    if start:
        s.start()
    return s


def trn(i, ms, mission='AE-AUH', cost=100, benefit=None, hours=2, participants=5):
    e = {'kind': 'training', 'id': 't%d' % i, 'ts': iso(ms), 'mission': mission,
         'title': 'Workshop %d' % i, 'hours': hours, 'participants': participants, 'cost': cost}
    if benefit is not None:
        e['benefit'] = benefit
    return e


def svc(i, ms, mission='AE-AUH'):
    return {'kind': 'service', 'id': 's%d' % i, 'ts': iso(ms), 'mission': mission,
            'country': mission[:2], 'service': 'visa', 'channel': 'online', 'automated': True,
            'outcome': 'completed'}


# ---- the API ----------------------------------------------------------------------------


def eval_runs(s):
    return metric(s.metrics()[1], 'mizan_eval_runs_total')


def wait_cycles(s, n):
    """Waits for n more evaluations (each followed by an alert pass, which
    may still be running when the count moves: the pass of the n-1th is
    over).  Returns whether they happened."""
    runs = eval_runs(s)
    return wait_until(lambda: eval_runs(s) >= runs + n, 10 + 3 * n, step=0.05)


def settled_outbox(s, n, timeout=15):
    """Waits until the outbox holds at least n messages and none is pending
    (each was delivered, or failed for good); returns its rows."""
    def done():
        rows = outbox(s)
        return rows if len(rows) >= n and all(r['status'] != 'pending' for r in rows) else None
    return wait_until(done, timeout, step=0.1) or outbox(s)


def alerts(s, state='all', kpi=None):
    q = '/api/v1/alerts?state=' + state + ('&kpi=' + kpi if kpi else '')
    st, body = s.json('GET', q, token='viewer')
    return body['alerts'] if st == 200 and body else []


def outbox(s):
    st, body = s.json('GET', '/api/v1/outbox?limit=1000', token='admin')
    return body['messages'] if st == 200 and body else []


def audit(s):
    st, body = s.json('GET', '/api/v1/audit?limit=1000', token='viewer')
    return body['entries'] if st == 200 and body else []


def post_ok(s, events, what):
    st, body = s.post(events)
    check(st == 200 and body and body.get('accepted') == len(events),
          '%s: %d events accepted (%s %s)' % (what, len(events), st, body))


# ---- 1. a missed quarter, one message ------------------------------------------------------

TITLE_AR = 'عدد الورشات التدريبية المنعقدة'


def test_missed_once():
    prev, pstart, pend = previous_quarter(now_ms())
    with Smtp().start() as smtp, alert_server(
            [kpi('2.1', 'workshops_held', 'Workshops held', TITLE_AR, cumulative=True,
                 owner=person('مالك المؤشر', 'owner@example.org', 'ar'),
                 target={'quarter': 10})], smtp.port) as s:
        # 4 workshops in the previous (closed) quarter, the first a minute after it began
        post_ok(s, [trn(i, pstart + 60000 + i * 86400000) for i in range(4)], prev)
        check(wait_until(lambda: smtp.messages, 15), 'a message arrives')
        check(wait_cycles(s, 3), '3 more evaluations and their alert passes')
        # A repeated notice would be a second row in the outbox, queued in the
        # same transaction as the alert's change: none, and the one is sent.
        rows = settled_outbox(s, 1)
        check(len(rows) == 1 and rows[0]['status'] == 'sent' and rows[0]['attempts'] == 1,
              'one outbox row, sent after one attempt: %s' % rows)
        check(metric(s.metrics()[1], 'mizan_alert_messages_total') == 1,
              'mizan_alert_messages_total is 1')
        check(len(smtp.messages) == 1, 'exactly one message after 3 more evaluations (%d)'
              % len(smtp.messages))
        a = alerts(s, 'missed', '2.1')
        check(len(a) == 1 and a[0]['period'] == prev and a[0]['value'] == 4 and
              a[0]['target'] == 10, 'one missed alert for %s: value 4, target 10 (%s)' % (prev, a))
        if not smtp.messages:
            return
        mail_from, rcpts, content = smtp.messages[0]
        check(mail_from == FROM and rcpts == ['owner@example.org'],
              'from %s to the owner only (%s -> %s)' % (FROM, mail_from, rcpts))
        m = parse(content)
        subject, text, html = parts(m)
        check(TITLE_AR in subject and prev in subject and '2.1' in subject,
              'the Subject decodes to the Arabic title, the KPI and the period: %r' % subject)
        check('لم يبلغ الهدف' in subject, 'the Subject says "missed" in Arabic')
        for what, body in (('text', text), ('html', html)):
            check(TITLE_AR in body, 'the %s part has the Arabic title' % what)
            check(prev in body, 'the %s part has the period %s' % (what, prev))
        # The figures as the KPI page writes them (render/format.h): 4, not 4.00.
        ok = check('\nالقيمة: 4 programmes\n' in text, 'the text part has the value: 4 programmes')
        ok &= check('\nالمستهدف: لا يقل عن 10 programmes\n' in text,
                    'the text part has the target: at least 10 programmes')
        ok &= check('\nالحالة: دون المستهدف\n' in text, 'the text part has the status: off target')
        ok &= check(re.search(r'<td class="value" data-value="4">4 programmes</td>', html),
                    'the html part has the value 4 programmes')
        ok &= check('<td class="target">لا يقل عن 10 programmes</td>' in html,
                    'the html part has the target: at least 10 programmes')
        if not ok:
            note('text part:\n' + text)
            note('html part:\n' + html)
        check('dir="rtl"' in html, 'the html part is right to left')
        check(m.get_content_type() == 'multipart/alternative', 'multipart/alternative')


# ---- 2. SMTP down, daemon restarted, SMTP up ------------------------------------------------


def test_smtp_down_restart():
    port = free_port()
    prev, pstart, pend = previous_quarter(now_ms())
    smtp = Smtp(port)
    s = alert_server([kpi('2.1', 'workshops_held', 'Workshops held', cumulative=True,
                          owner=person('Owner', 'owner@example.org', 'en'),
                          target={'quarter': 10})], port)
    try:
        post_ok(s, [trn(i, pstart + 3600000 + i * 86400000) for i in range(3)], prev)
        ok = wait_until(lambda: [r for r in outbox(s) if r['attempts'] >= 1], 15, step=0.1)
        check(ok, 'the message is queued and tried while SMTP is down')
        rows = outbox(s)
        check(len(rows) == 1 and rows[0]['status'] == 'pending' and rows[0]['last_error'],
              'one pending row with its error: %s' % rows)
        check(s.stop() == 0, 'the daemon stops on SIGTERM')
        s.start()
        check(wait_cycles(s, 2), 'the restarted daemon evaluates and judges again')
        check(len(outbox(s)) == 1, 'the restart queued nothing new')
        smtp.start()
        check(wait_until(lambda: smtp.messages, 15), 'delivered once SMTP is up')
        # Once the row is sent nothing can deliver it again.
        rows = settled_outbox(s, 1)
        check(len(rows) == 1 and rows[0]['status'] == 'sent' and rows[0]['attempts'] >= 2,
              'the row is sent, after >= 2 attempts: %s' % rows)
        check(len(smtp.messages) == 1, 'exactly one message at the server (%d)' % len(smtp.messages))
        check(smtp.messages and smtp.messages[0][1] == ['owner@example.org'], 'to the owner')
        check(smtp.messages and 'Workshops held' in parts(parse(smtp.messages[0][2]))[0],
              'the right message')
    finally:
        smtp.stop()
        s.cleanup()


# ---- 3. flapping, reminders, ack, silence, recovery (eval --alerts --now) ------------------
#
# `mizan eval --alerts --now T0+s` at controlled times s, T0 ten minutes ahead of the
# clock (the outbox stamps new messages with the wall clock, and the CLI delivers what is
# due at --now; see test_past_now_delivers).  The figures are in the quarter before T0's,
# the closed one each run judges.  The server, used for ingest, ack and silences only,
# evaluates once when it starts (an empty database) and has no SMTP server: only the CLI
# judges and sends.
# R: training_roi = (sum benefit - sum cost) / sum cost * 100, target at least 50 %.
# W: workshops_held, target 100: always missed, silenced from the start.


def test_flap_ack_silence():
    T0 = (now_ms() // 1000 + 600) * 1000
    prev, pstart, pend = previous_quarter(T0)
    smtp = Smtp().start()
    s = alert_server([kpi('R', 'training_roi', 'Training return', unit='%',
                          owner=person('R Owner', 'r@example.org', 'en'), target={'quarter': 50}),
                      kpi('W', 'workshops_held', 'Workshops', cumulative=True,
                          owner=person('W Owner', 'w@example.org', 'en'),
                          target={'quarter': 100})],
                     None, start=False, evaluation__interval_s=86400,
                     evaluation__after_ingest_s=86400)
    cli_cfg = os.path.join(s.dir, 'cli.lua')
    write_config(cli_cfg, os.path.join(s.dir, 'strategy.lua'), smtp.port,
                 alerts__min_state_s=3, alerts__repeat_s=2)
    n = [0]

    def event(cost, benefit):
        n[0] += 1
        post_ok(s, [trn(n[0], pstart + n[0] * 86400000, cost=cost, benefit=benefit)],
                'cost %d benefit %d' % (cost, benefit))

    def at(sec, what):
        r = run_cli('eval', '--alerts', '--now', iso(T0 + sec * 1000), '--config', cli_cfg,
                    '--db', s.db, cwd=s.dir)
        err = r.stderr.decode('utf-8', 'replace')
        m = re.search(r'alerts: (\d+) figures judged, (\d+) changed state, (\d+) messages queued, '
                      r'(\d+) sent', err)
        if not check(r.returncode == 0 and m, 't=%d s (%s): eval --alerts ran: %s'
                     % (sec, what, m.group(0) if m else err[-500:])):
            return None
        v = [int(x) for x in m.groups()]
        check(v[3] == v[2], 't=%d s: it sent what it queued' % sec)
        return v

    def to(addr):
        return [parts(parse(c))[0] for _, rc, c in smtp.messages if addr in rc]

    try:
        s.start()
        # its one evaluation, on the empty database, must be over before events arrive
        check(wait_until(lambda: eval_runs(s) >= 1, 20), 'the server evaluated once at start')
        st, body = s.json('POST', '/api/v1/silences',
                          json.dumps({'kpi': 'W', 'until': iso(now_ms() + 86400000),
                                      'comment': 'known: the programme is paused'}),
                          {'Content-Type': 'application/json'}, token='editor')
        check(st == 201 and body and body.get('who') == 'editor', 'silence on W: 201 (%s %s)'
              % (st, body))
        st, _ = s.json('POST', '/api/v1/silences',
                       json.dumps({'kpi': 'R', 'until': iso(now_ms() + 86400000), 'comment': 'x'}),
                       {'Content-Type': 'application/json'}, token='viewer')
        check(st == 403, 'a viewer cannot silence (%s)' % st)

        event(1000, 1200)   # 20 %: below
        at(0, '20 %: below, pending')
        event(1000, 2000)   # 3200 / 2000: 60 %
        at(1, '60 %: above')
        event(1000, 1000)   # 4200 / 3000: 40 %
        at(2, '40 %: below, pending')
        at(4, 'below for 2 s')
        event(1000, 2600)   # 6800 / 4000: 70 %
        at(5, '70 %: above')
        event(2000, 2000)   # 8800 / 6000: 46.7 %
        at(6, '46.7 %: below, pending')
        at(8, 'below for 2 s')
        check(to('r@example.org') == [], 'four crossings, none held for 3 s: no message (%s)'
              % to('r@example.org'))
        a = alerts(s, 'all', 'R')
        check(len(a) == 1 and a[0]['state'] == 'ok' and a[0]['pending'] == 'missed',
              'R is ok, missed pending: %s' % [(x['state'], x['pending']) for x in a])
        at(9, 'below for 3 s')
        got = to('r@example.org')
        check(len(got) == 1 and 'missed' in got[0] and 'Training return' in got[0],
              'held for min_state_s: one "missed" message (%s)' % got)
        at(10, '1 s after the notice')
        check(len(to('r@example.org')) == 1, 'no reminder before repeat_s')
        at(11, '2 s after the notice')
        got = to('r@example.org')
        check(len(got) == 2 and 'reminder' in got[1], 'a reminder after repeat_s (%s)' % got)
        check(to('w@example.org') == [], 'W (silenced) sends nothing (%s)' % to('w@example.org'))
        w = alerts(s, 'missed', 'W')
        check(len(w) == 1 and w[0]['period'] == prev,
              'yet W is missed in %s: %s' % (prev, [(x['state'], x['period']) for x in w]))

        a = alerts(s, 'missed', 'R')
        if not check(len(a) == 1, 'R is missed'):
            return
        st, body = s.json('POST', '/api/v1/alerts/%d/ack' % a[0]['id'],
                          json.dumps({'comment': 'we are on it'}),
                          {'Content-Type': 'application/json'}, token='viewer')
        check(st == 403, 'a viewer cannot acknowledge (%s)' % st)
        st, body = s.json('POST', '/api/v1/alerts/%d/ack' % a[0]['id'], json.dumps({}),
                          {'Content-Type': 'application/json'}, token='editor')
        check(st == 400, 'an ack without a comment: 400 (%s)' % st)
        st, body = s.json('POST', '/api/v1/alerts/%d/ack' % a[0]['id'],
                          json.dumps({'comment': 'we are on it'}),
                          {'Content-Type': 'application/json'}, token='editor')
        check(st == 200 and body and body.get('acked_by') == 'editor' and
              body.get('ack_comment') == 'we are on it', 'ack as editor: 200 (%s %s)' % (st, body))
        st, body = s.json('POST', '/api/v1/alerts/999999/ack', json.dumps({'comment': 'x'}),
                          {'Content-Type': 'application/json'}, token='editor')
        check(st == 404, 'ack of no such alert: 404 (%s)' % st)
        at(14, 'acknowledged, 3 s later')
        at(17, 'acknowledged, 6 s later')
        check(len(to('r@example.org')) == 2, 'no reminder once acknowledged (%s)'
              % to('r@example.org'))

        event(1000, 5000)   # 13800 / 7000: 97 %
        at(18, '97 %: above, pending')
        check(len(to('r@example.org')) == 2, 'recovery held back by min_state_s')
        at(21, 'above for 3 s')
        at(22, 'still above')
        at(25, 'still above')
        got = to('r@example.org')
        check(len(got) == 3 and 'recovered' in got[2], 'exactly one recovery notice (%s)' % got)
        check(to('w@example.org') == [], 'W still silent')
        a = alerts(s, 'all', 'R')
        check(len(a) == 1 and a[0]['state'] == 'ok', 'R is ok again')
        hist = [(c['from'], c['to']) for c in
                s.json('GET', '/api/v1/alerts/history?kpi=R', token='viewer')[1]['changes']]
        check(sorted(hist) == sorted([('ok', 'missed'), ('missed', 'ok')]),
              'R history: ok -> missed -> ok, nothing else (%s)' % hist)

        entries = audit(s)
        acks = [e for e in entries if e['action'] == 'alert.ack']
        sil = [e for e in entries if e['action'] == 'silence.add']
        check(len(acks) == 1 and acks[0]['who'] == 'editor' and acks[0]['at'],
              'the ack is in the audit log: %s' % acks)
        check(acks and 'we are on it' in json.dumps(acks[0], ensure_ascii=False),
              'with its comment')
        check(len(sil) == 1 and sil[0]['who'] == 'editor' and 'W' in json.dumps(sil[0]),
              'the silence is in the audit log: %s' % sil)
    finally:
        smtp.stop()
        s.cleanup()


def test_past_now_delivers():
    """`mizan eval --alerts --now` an hour ago: the mail it queues is due at --now."""
    now = now_ms()
    at = now - 3600 * 1000
    if quarter_of(at)[0] != quarter_of(now)[0]:
        note('an hour from a quarter boundary; skipped')
        return
    prev, pstart, pend = previous_quarter(at)
    smtp = Smtp().start()
    s = alert_server([kpi('2.1', 'workshops_held', 'Workshops held', cumulative=True,
                          owner=person('Owner', 'owner@example.org', 'en'),
                          target={'quarter': 10})], None, start=False,
                     evaluation__interval_s=86400, evaluation__after_ingest_s=86400)
    cli_cfg = os.path.join(s.dir, 'cli.lua')
    write_config(cli_cfg, os.path.join(s.dir, 'strategy.lua'), smtp.port)
    try:
        s.start()
        check(wait_until(lambda: eval_runs(s) >= 1, 20), 'the server evaluated once at start')
        post_ok(s, [trn(i, pstart + 60000 + i * 86400000) for i in range(3)], prev)
        s.stop()
        r = run_cli('eval', '--alerts', '--now', iso(at), '--config', cli_cfg, '--db', s.db,
                    cwd=s.dir)
        err = r.stderr.decode('utf-8', 'replace')
        m = re.search(r'(\d+) messages queued, (\d+) sent', err)
        check(r.returncode == 0 and m and m.group(1) == '1', 'eval --alerts --now %s queued one '
              'message (%s)' % (iso(at), m.group(0) if m else err[-300:]))
        check(m and m.group(2) == '1' and len(smtp.messages) == 1,
              'and sent it: the mail queued as of --now is due at --now (%s; %d at the server)'
              % (m.group(0) if m else '', len(smtp.messages)))
    finally:
        smtp.stop()
        s.cleanup()


# ---- 4. forecast -----------------------------------------------------------------------------


def test_forecast():
    now = now_ms()
    label, qstart, qend = quarter_of(now)
    elapsed = (now - qstart) / (qend - qstart)
    if elapsed < 0.03:
        note('%.3f of %s gone: too early for a run rate; skipped' % (elapsed, label))
        return
    target = round(500 / elapsed)          # about 400 events
    count = round(0.8 * target * elapsed)
    first, last = qstart + 60000, now - 120000
    events = [trn(i, first + (last - first) * i // (count - 1), mission=('AE-AUH', 'QA-DOH')[i % 2])
              for i in range(count)]
    with Smtp().start() as smtp, alert_server(
            [kpi('4.1', 'workshops_held', 'At risk', cumulative=True,
                 owner=person('Owner', 'risk@example.org', 'en'), target={'quarter': target}),
             kpi('4.2', 'workshops_held', 'On track', cumulative=True,
                 owner=person('Owner', 'track@example.org', 'en'),
                 target={'quarter': round(0.7 * target)})], smtp.port) as s:
        # One batch: an evaluation between batches would judge part of the
        # quarter's events, and 4.2 would rightly be at risk for a moment.
        post_ok(s, events, '%s, %d events' % (label, count))
        ok = wait_until(lambda: alerts(s, 'at_risk', '4.1'), 20, step=0.1)
        check(ok, '4.1 gets an at_risk alert')
        check(wait_cycles(s, 2), 'two more evaluations and an alert pass')
        st, body = s.json('GET', '/api/v1/kpis', token='viewer')
        kp = {k['id']: k for k in (body or {}).get('kpis', [])}
        expect = 0.8 * target
        for kid, at_risk in (('4.1', True), ('4.2', False)):
            latest = (kp.get(kid) or {}).get('latest') or {}
            fc = latest.get('forecast') or {}
            check(latest.get('period') == label and latest.get('value') == count,
                  '%s: latest is %s with %d (%s %s)' % (kid, label, count, latest.get('period'),
                                                        latest.get('value')))
            check(fc.get('method') == 'run_rate', '%s: forecast by run rate (%s)' % (kid, fc))
            v = fc.get('value')
            check(v is not None and abs(v - expect) <= 0.02 * expect,
                  '%s: forecast %s within 2 %% of 0.8 x %d = %.1f' % (kid, v, target, expect))
            check(fc.get('elapsed') is not None and abs(fc['elapsed'] - elapsed) < 0.01,
                  '%s: elapsed %s ~ %.4f' % (kid, fc.get('elapsed'), elapsed))
            check(fc.get('at_risk') is at_risk, '%s: at_risk %s' % (kid, at_risk))
        a = alerts(s, 'at_risk')
        check([(x['kpi'], x['period']) for x in a] == [('4.1', label)],
              'only 4.1 %s is at_risk: %s' % (label, [(x['kpi'], x['period']) for x in a]))
        check(not alerts(s, 'active', '4.2'), '4.2 has no active alert')
        rows = settled_outbox(s, 1, 10)
        check([(r['to'], r['status']) for r in rows] == [('risk@example.org', 'sent')],
              'one message in the outbox, to the owner of 4.1, sent (%s)'
              % [(r['to'], r['status']) for r in rows])
        check([m[1] for m in smtp.messages] == [['risk@example.org']],
              'one message, to the owner of 4.1 (%s)' % [m[1] for m in smtp.messages])
        subj, text, _ = parts(parse(smtp.messages[0][2])) if smtp.messages else ('', '', '')
        check('at risk' in subj and 'At risk' in subj, 'Subject: %r' % subj)
        check('at the run rate so far' in text, 'the text gives the run-rate forecast')


# ---- 5. header injection through a KPI title ---------------------------------------------------

EVIL = 'Workshops\r\nBcc: evil@example.com'


def test_header_injection():
    prev, pstart, pend = previous_quarter(now_ms())
    with Smtp().start() as smtp, alert_server(
            [kpi('5.1', 'workshops_held', EVIL, cumulative=True,
                 owner=person('Owner', 'owner@example.org', 'en'),
                 target={'quarter': 10})], smtp.port) as s:
        post_ok(s, [trn(i, pstart + 7200000 + i * 86400000) for i in range(2)], prev)
        check(wait_until(lambda: smtp.messages, 15), 'a message arrives')
        check(wait_cycles(s, 2), 'two more evaluations and an alert pass')
        rows = settled_outbox(s, 1)
        check(len(rows) == 1 and rows[0]['status'] == 'sent', 'one outbox row, sent: %s' % rows)
        check(len(smtp.messages) == 1, 'exactly one message (%d)' % len(smtp.messages))
        if not smtp.messages:
            return
        _, rcpts, content = smtp.messages[0]
        check(rcpts == ['owner@example.org'], 'RCPT TO the owner only (%s)' % rcpts)
        head = content.split(b'\r\n\r\n', 1)[0] if b'\r\n\r\n' in content else \
            content.split(b'\n\n', 1)[0]
        names = [l.split(b':', 1)[0].lower() for l in re.split(rb'\r?\n', head)
                 if l and not l[:1].isspace()]
        check(b'bcc' not in names, 'no Bcc header line (%s)' % names)
        check(all(re.fullmatch(rb'[A-Za-z-]+', n) for n in names), 'every header line is a header')
        m = parse(content)
        check(not m.get_all('Bcc') and not m.defects, 'no Bcc, no parse defects (%s)' % m.defects)
        subj = str(m['Subject'])
        check('\r' not in subj and '\n' not in subj, 'the Subject is one line: %r' % subj)
        check(re.search(r'Workshops\s+Bcc: evil@example\.com', subj) is not None,
              'the Subject holds the title with its CR/LF replaced: %r' % subj)
        check([a.addr_spec for a in m['To'].addresses] == ['owner@example.org'], 'To: the owner')


# ---- 6. stale data -------------------------------------------------------------------------------


def test_stale():
    with Smtp().start() as smtp, alert_server(
            [kpi('6.1', 'workshops_held', 'Workshops', cumulative=True,
                 owner=person('Training owner', 'train@example.org', 'en'),
                 managers=[person('Manager', 'mgr@example.org', 'en')]),
             kpi('6.2', 'automated_services', 'Automated services', unit='services',
                 owner=person('Service owner', 'svc@example.org', 'en'))],
            smtp.port, alerts__stale_s=3) as s:
        # X: a training event every 200 ms (10 x gap = 2 s < stale_s 3 s);
        # Y: keeps sending every 300 ms; services from X, kept fresh too.
        t = now_ms()
        post_ok(s, [trn(i, t - 1800 + 200 * i, 'XX-STOP') for i in range(10)], 'X training')
        j = [0]

        def keep_y():
            j[0] += 1
            ts = now_ms()
            s.post([trn(1000 + j[0], ts, 'YY-LIVE'), svc(j[0], ts, 'XX-STOP')])

        keep_y()
        deadline = time.monotonic() + 15 * SLOW
        while time.monotonic() < deadline and not alerts(s, 'stale'):
            keep_y()
            time.sleep(0.3)
        st = alerts(s, 'stale')
        check([(a['kpi'], a['slice']) for a in st] == [('training', 'XX-STOP')],
              'one stale alert: training from XX-STOP (%s)' % [(a['kpi'], a['slice']) for a in st])
        # X's last event is dated t; the alert's state began at `since`.
        since = api_time_ms(st[0]['since']) if st else None
        check(since is not None and since - t >= 3000,
              'not before stale_s: stale since %s, %.1f s after the last event'
              % (st[0]['since'] if st else None, ((since or t) - t) / 1000))
        runs = eval_runs(s)
        deadline = time.monotonic() + 15 * SLOW
        while time.monotonic() < deadline and eval_runs(s) < runs + 3:  # Y still live
            keep_y()
            time.sleep(0.3)
        check(eval_runs(s) >= runs + 3, 'three more evaluations while X is quiet')
        check(len(alerts(s, 'stale')) == 1, 'still exactly one stale alert')
        rows = settled_outbox(s, 1, 5)
        check([(r['to'], r['status']) for r in rows] == [('train@example.org', 'sent')],
              'one message in the outbox, to the owner of the KPI reading training, sent (%s)'
              % [(r['to'], r['status']) for r in rows])
        got = [(m[1], parts(parse(m[2]))[0]) for m in smtp.messages]
        check(len(got) == 1 and got[0][0] == ['train@example.org'],
              'one message, to the owner of the KPI reading training (%s)' % got)
        subj = got[0][1] if got else ''
        check('XX-STOP' in subj and 'training' in subj and 'no data' in subj, 'Subject: %r' % subj)
        # X resumes
        post_ok(s, [trn(2000, now_ms(), 'XX-STOP')], 'X resumes')
        ok = wait_until(lambda: not alerts(s, 'stale'), 10, step=0.1)
        check(ok, 'the stale alert clears')
        a = alerts(s, 'all', 'training')
        check([(x['slice'], x['state']) for x in a] == [('XX-STOP', 'ok')],
              'training XX-STOP is ok again (%s)' % [(x['slice'], x['state']) for x in a])
        rows = settled_outbox(s, 2, 5)
        check(len(rows) == 2 and all(r['status'] == 'sent' for r in rows),
              'two messages in the outbox, both sent (%s)' % [(r['to'], r['status']) for r in rows])
        got = [(m[1], parts(parse(m[2]))[0]) for m in smtp.messages]
        check(len(got) == 2 and got[1][0] == ['train@example.org'] and 'recovered' in got[1][1],
              'one "recovered" message to the same owner (%s)' % got[1:])
        hist = [(c['from'], c['to']) for c in
                s.json('GET', '/api/v1/alerts/history', token='viewer')[1]['changes']
                if c['kind'] == 'stale']
        check(sorted(hist) == sorted([('ok', 'stale'), ('stale', 'ok')]),
              'history: ok -> stale -> ok (%s)' % hist)


# ---- 7. target changes ------------------------------------------------------------------------------


def test_target_change():
    with alert_server([kpi('7.1', 'workshops_held', 'Workshops', cumulative=True,
                           target={'quarter': 10, 'warn': 0.1})]) as s:
        hdr = {'Content-Type': 'application/json'}
        path = '/api/v1/kpis/7.1/targets/2026-Q1'

        def put(body, token='editor', p=path, h=hdr):
            return s.json('PUT', p, body if isinstance(body, str) else json.dumps(body), h,
                          token=token)

        t0 = now_ms()
        st, body = put({'value': 12, 'reason': 'the board raised it'})
        check(st == 200 and body and body.get('who') == 'editor' and body.get('period') == '2026-Q1'
              and (body.get('target') or {}).get('low') == 12,
              'PUT as editor: 200 (%s %s)' % (st, body))
        st, body = put({'rule': 'range', 'low': 11, 'high': 14, 'warn': 0.2,
                        'reason': 'a range now'}, token='admin')
        check(st == 200, 'PUT a range as admin: 200 (%s %s)' % (st, body))
        entries = [e for e in audit(s) if e['action'] == 'target.set']
        check(len(entries) == 2, 'two target changes audited (%d)' % len(entries))
        if len(entries) == 2:
            first = min(entries, key=lambda e: e['id'])
            second = max(entries, key=lambda e: e['id'])
            check(first['who'] == 'editor' and second['who'] == 'admin', 'who: editor, then admin')
            at = first['at']
            # (an API time has no fraction when its milliseconds are 0)
            check(at and abs(api_time_ms(at) - t0) < 60000, 'when: %s' % at)
            check('7.1' in first['object'] and '2026-Q1' in first['object'],
                  'the object names the KPI and the period (%s)' % first['object'])
            def rule(t):
                t = t if isinstance(t, dict) else {}
                return (t.get('rule'), t.get('low'), t.get('high') if t.get('rule') == 'range' else None,
                        t.get('warn'))
            check(rule(first['old']) == ('min', 10, None, 0.1) and
                  rule(first['new']) == ('min', 12, None, 0.1),
                  'old: at least 10 (configuration), new: at least 12: %s -> %s'
                  % (first['old'], first['new']))
            check(rule(second['old']) == ('min', 12, None, 0.1) and
                  rule(second['new']) == ('range', 11, 14, 0.2),
                  'then old: at least 12, new: 11..14, warn 0.2: %s -> %s'
                  % (second['old'], second['new']))
            check(first['reason'] == 'the board raised it' and second['reason'] == 'a range now',
                  'the reasons')
        # GET /api/v1/kpis/{id} shows the KPI as configured: an override is
        # for its one period and leaves the configured default as it was.
        st, body = s.json('GET', '/api/v1/kpis/7.1', token='viewer')
        q = ((body or {}).get('targets') or {}).get('quarter') or {}
        check(st == 200 and (q.get('rule'), q.get('low'), q.get('warn')) == ('min', 10, 0.1),
              'GET /api/v1/kpis/7.1: the configured quarter target, at least 10 (%s)'
              % (body or {}).get('targets'))
        before = len(audit(s))
        for token, want in (('viewer', 403), ('ingest', 403)):
            st, _ = put({'value': 1, 'reason': 'x'}, token=token)
            check(st == want, 'PUT as %s: %d (%s)' % (token, want, st))
        st, _ = put({'value': 1, 'reason': 'x'}, token=None)
        check(st == 401, 'PUT without a token: 401 (%s)' % st)
        for bad, why in (({'reason': 'x'}, 'no value'),
                         ({'value': 'twelve', 'reason': 'x'}, 'a string value'),
                         ({'value': 12}, 'no reason'),
                         ({'value': 12, 'reason': ''}, 'an empty reason'),
                         ({'value': 12, 'reason': 'x' * 2001}, 'a reason too long'),
                         ({'rule': 'most', 'value': 12, 'reason': 'x'}, 'an unknown rule'),
                         ({'rule': 'range', 'low': 14, 'high': 11, 'reason': 'x'}, 'low > high'),
                         ({'rule': 'range', 'low': 1, 'reason': 'x'}, 'a range without high'),
                         ({'value': 12, 'warn': 2, 'reason': 'x'}, 'warn 2'),
                         ({'value': 12, 'warn': 'a', 'reason': 'x'}, 'warn not a number'),
                         ('[1, 2]', 'an array'), ('{"value": 12,', 'broken JSON'),
                         ('{"value": 1e999, "reason": "x"}', 'an infinite value')):
            st, body = put(bad)
            check(st == 400 and body and body.get('error'), '%s: 400 (%s %s)' % (why, st, body))
        st, _ = put({'value': 12, 'reason': 'x'}, p='/api/v1/kpis/7.1/targets/2026-01')
        check(st == 400, 'a month: 400 (%s)' % st)
        st, _ = put({'value': 12, 'reason': 'x'}, p='/api/v1/kpis/7.1/targets/2026-Q7')
        check(st == 400, 'no such quarter: 400 (%s)' % st)
        st, _ = put({'value': 12, 'reason': 'x'}, p='/api/v1/kpis/9.9/targets/2026-Q1')
        check(st == 404, 'no such KPI: 404 (%s)' % st)
        st, _ = put({'value': 12, 'reason': 'x'}, h={'Content-Type': 'text/plain'})
        check(st == 415, 'not JSON: 415 (%s)' % st)
        check(len(audit(s)) == before, 'nothing refused was audited')
        st, body = put({'value': 20, 'reason': 'the year target'}, p='/api/v1/kpis/7.1/targets/2026')
        check(st == 200, 'a year target: 200 (%s %s)' % (st, body))


if __name__ == '__main__':
    if Controller is None:
        print('python3-aiosmtpd is not installed (tests/deps.sh installs it)')
        raise SystemExit(1)
    main([test_missed_once, test_smtp_down_restart, test_flap_ack_silence,
          test_past_now_delivers, test_forecast,
          test_header_injection, test_stale, test_target_change])
