#!/usr/bin/env python3
"""The dashboard against a real `mizan serve` with 20000 demo events:

  signin       sign-in by token and by user/password (a hash from `mizan
               passwd`), cookie flags, a wrong password, redirects without a
               session, sign-out
  pages        every page 200 in Arabic and English (lang, dir), the DOM
               contract, the Content-Security-Policy, the language cookie
  csrf         posts without, with a wrong, and with the right csrf; a
               viewer's post; notes appear (escaped) in the report
  escaping     a KPI title with <script> shows as text
  csv_static   the CSV export matches the page's table; static files;
               the report's download headers; reported values and silences

One alert is made certain: KPI 2.1's target for the quarter that closed
last is raised out of reach, so that quarter is missed whatever day the
demo data ends on, and its alert can be acknowledged.

Python standard library only.
"""
import csv
import html
import io
import json
import os
import re
import shutil
import time
import urllib.parse

from mizan_test import (BIN, Server, check, iso, main, note, now_ms, previous_quarter, run_cli,
                        wait_until)

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, '..', '..'))
BUILD = os.path.dirname(BIN)
PASSWORD = 'correct horse battery staple'
EVIL = '<script>alert(1)</script>'
GNUPLOT = shutil.which('gnuplot')

STATE = {}


def setup():
    """One server for every test: the shipped strategy plus a reported KPI
    whose English title holds a script tag."""
    if 'srv' in STATE:
        return STATE['srv']
    r = run_cli('passwd', input=(PASSWORD + '\n').encode())
    check(r.returncode == 0 and r.stdout.startswith(b'$argon2id$'),
          '`mizan passwd` prints an argon2id hash (%r)' % r.stdout[:40])
    pw_hash = r.stdout.decode().strip()
    srv = Server(tokens=('ingest', 'viewer', 'editor', 'admin'), start=False)
    with open(os.path.join(SRC, 'config', 'strategy.lua'), encoding='utf-8') as f:
        strategy = f.read()
    strategy += '''
kpi {
	id = "9.1", goal = "G4",
	title_ar = "مؤشر مُبلّغ عنه %s",
	title_en = "Reported by hand %s",
	unit = "%%", direction = "higher", period = "quarter",
	target = { quarter = 50, year = 50 },
}
''' % (EVIL, EVIL)
    with open(os.path.join(srv.dir, 'strategy.lua'), 'w', encoding='utf-8') as f:
        f.write(strategy)
    with open(srv.config, 'w', encoding='utf-8') as f:
        f.write('include "strategy.lua"\n')
        f.write('scripts.dirs = { "%s" }\n' % os.path.join(SRC, 'scripts'))
        f.write('plugins.dirs = { "%s" }\n' % os.path.join(BUILD, 'plugins'))
        f.write('server.dashboards = "%s"\n' % os.path.join(SRC, 'dashboards'))
        f.write('evaluation.slices = { "mission", "channel" }\n')
        f.write('evaluation.after_ingest_s = 0\n')
        f.write('auth.users = {\n')
        f.write('  { name = "ed", role = "editor", password = "%s" },\n' % pw_hash)
        f.write('  { name = "vi", role = "viewer", password = "%s" },\n' % pw_hash)
        f.write('}\n')
    r = run_cli('demo', '--events', 20000, '--load', '--config', srv.config, '--db', srv.db,
                cwd=srv.dir, timeout=300)
    check(r.returncode == 0, 'demo --load: %s' % r.stderr.decode()[-300:])
    srv.start()

    def evaluated():
        st, body = srv.json('GET', '/api/v1/kpis/1.1', token='viewer')
        return st == 200 and body and body.get('latest')
    check(wait_until(evaluated, 120), 'the demo data is evaluated')
    # A missed quarter for certain: 2.1's target for the last closed quarter
    # out of reach; an event starts the evaluation that judges it.
    prev = previous_quarter(now_ms())[0]
    st, body = srv.json('PUT', '/api/v1/kpis/2.1/targets/' + prev,
                        json.dumps({'value': 1000000, 'reason': 'a missed quarter for the test'}),
                        {'Content-Type': 'application/json'}, token='editor')
    check(st == 200, 'the target of 2.1 for %s is raised out of reach (%s %s)' % (prev, st, body))
    st, body = srv.post({'kind': 'training', 'id': 'web-1', 'ts': iso(now_ms() - 60000),
                         'mission': 'JO-AMM', 'title': 'Web test', 'hours': 1, 'participants': 1,
                         'cost': 1})
    check(st == 200 and body == {'accepted': 1, 'duplicates': 0}, 'an event to evaluate on')
    STATE['missed'] = prev
    STATE['srv'] = srv
    return srv




def set_cookie(hdrs, name):
    """The Set-Cookie header for `name` (http.client joins repeats with ', ')."""
    v = hdrs.get('set-cookie', '')
    for part in re.split(r',\s*(?=[A-Za-z_]+=)', v):
        if part.startswith(name + '='):
            return part
    return None


def sign_in(srv, form):
    st, h, _ = srv.page('POST', '/login', form)
    c = set_cookie(h, 'mizan_session')
    if st != 303 or not c:
        return None, st, h
    return {'mizan_session': c.split(';')[0].split('=', 1)[1]}, st, h


def csrf_of(text):
    m = re.search(r'name="csrf" value="([^"]+)"', text)
    return m.group(1) if m else None


def html_attrs(text):
    m = re.search(r'<html lang="([a-z]+)" dir="([a-z]+)"', text)
    return m.groups() if m else (None, None)


# ---- tests ---------------------------------------------------------------------------------

def test_signin():
    srv = setup()
    st, h, _ = srv.page('GET', '/')
    check(st == 303 and h.get('location') == '/login', 'GET / without a session: 303 to /login (%s)' % st)
    st, h, _ = srv.page('GET', '/kpis/1.1')
    check(st == 303 and h.get('location') == '/login', 'a KPI page without a session: 303 to /login')
    st, h, _ = srv.page('POST', '/edit/notes', {'goal': 'G1', 'period': '2026-Q1'})
    check(st == 303 and h.get('location') == '/login', 'a POST without a session: 303 to /login')
    st, h, t = srv.page('GET', '/login')
    check(st == 200 and 'id="login"' in t and 'name="token"' in t and 'name="user"' in t
          and 'name="password"' in t, 'the login page has form#login with token, user, password')

    cookies, st, h = sign_in(srv, {'user': 'ed', 'password': 'wrong'})
    _, _, t = srv.page('POST', '/login', {'user': 'ed', 'password': 'wrong'})
    check(cookies is None and st == 401, 'a wrong password: 401 and no session (%s)' % st)
    check('class="error"' in t, 'a wrong password shows .error')
    cookies, st, _ = sign_in(srv, {'token': 'not-a-token'})
    check(cookies is None and st == 401, 'an unknown token: 401')
    cookies, st, _ = sign_in(srv, {'token': srv.tokens['ingest']})
    check(cookies is None and st == 401, 'an ingest token cannot sign in to the dashboard')

    cookies, st, h = sign_in(srv, {'token': srv.tokens['viewer']})
    c = set_cookie(h, 'mizan_session') or ''
    check(cookies is not None and h.get('location') == '/', 'sign-in by token: 303 to / (%s)' % st)
    check('HttpOnly' in c and 'SameSite=Strict' in c and 'Path=/' in c,
          'the session cookie is HttpOnly, SameSite=Strict, Path=/: %s' % c)
    st, _, t = srv.page('GET', '/', cookies=cookies)
    check(st == 200 and 'data-goal="G1"' in t, 'the token session reads the scorecard')

    ed, st, h = sign_in(srv, {'user': 'ed', 'password': PASSWORD})
    c = set_cookie(h, 'mizan_session') or ''
    check(ed is not None and 'HttpOnly' in c and 'SameSite=Strict' in c,
          'sign-in by user and password: %s %s' % (st, c))
    st, _, t = srv.page('GET', '/edit', cookies=ed)
    check(st == 200 and 'id="notes-form"' in t, 'the editor "ed" opens /edit')
    vi, _, _ = sign_in(srv, {'user': 'vi', 'password': PASSWORD})
    st, _, _ = srv.page('GET', '/edit', cookies=vi)
    check(st == 403, 'a viewer gets 403 at /edit (%s)' % st)
    STATE.update(editor=ed, viewer=vi)

    # sign-out ends the session
    tmp, _, _ = sign_in(srv, {'user': 'ed', 'password': PASSWORD})
    _, _, t = srv.page('GET', '/', cookies=tmp)
    st, _, _ = srv.page('POST', '/logout', {'csrf': 'wrong'}, cookies=tmp)
    check(st == 403, 'sign-out with a wrong csrf: 403')
    st, h, _ = srv.page('POST', '/logout', {'csrf': csrf_of(t)}, cookies=tmp)
    check(st == 303 and h.get('location') == '/login', 'sign-out: 303 to /login')
    st, h, _ = srv.page('GET', '/', cookies=tmp)
    check(st == 303, 'the old session cookie no longer works after sign-out (%s)' % st)


PAGES = ['/', '/?period=2026', '/kpis/1.1', '/kpis/4.2?by=channel', '/alerts', '/report',
         '/report?goal=G1&period=2026-Q3', '/edit']


def test_pages():
    srv = setup()
    ed = STATE.get('editor') or sign_in(srv, {'user': 'ed', 'password': PASSWORD})[0]
    csp = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'"
    for lang, d in (('ar', 'rtl'), ('en', 'ltr')):
        for p in PAGES:
            url = p + ('&' if '?' in p else '?') + 'lang=' + lang
            st, h, t = srv.page('GET', url, cookies=ed)
            got = html_attrs(t)
            check(st == 200 and got == (lang, d), '%s: %s, html lang/dir %r' % (url, st, got))
            check(h.get('content-security-policy') == csp, '%s has the CSP header' % url)
            check('id="lang-switch"' in t and all('href="%s"' % n in t for n in
                  ('/', '/alerts', '/report', '/edit')), '%s: a#lang-switch and the nav' % url)
            check(not re.search(r'\son[a-z]+=', t), '%s: no inline event handlers' % url)
            check(not re.search(r'<script(?![^>]*\ssrc=)', t), '%s: no inline script' % url)
    # the DOM contract of the scorecard
    _, _, t = srv.page('GET', '/?lang=en', cookies=ed)
    check(len(re.findall(r'<section class="goal[^"]*" data-goal="G[1-4]"', t)) == 4, 'four goals')
    m = re.search(r'<a class="kpi" data-kpi="1\.1".*?</a>', t, re.S)
    block = m.group(0) if m else ''
    for cls in ('status status-', 'value', 'target', 'n'):
        check('class="%s' % cls in block, 'KPI 1.1 has .%s' % cls.split()[0])
    check(re.search(r'class="status status-(green|amber|red|grey)"', block), 'KPI 1.1 has a status colour')
    # tests/deps.sh installs gnuplot: without it the charts are missing, a failure
    check(GNUPLOT, 'gnuplot is installed')
    check('<svg' in block, 'KPI 1.1 has a sparkline svg')
    check(re.search(r'<form id="period"[^>]*>.*?<select name="period"', t, re.S), 'form#period select[name=period]')
    # the KPI page
    _, _, t = srv.page('GET', '/kpis/1.1?lang=en&by=mission', cookies=ed)
    for what in ('id="series-chart"', 'id="breakdown"', 'select name="by"', 'id="breakdown-chart"',
                 'id="values"', 'id="provenance"', 'id="csv"'):
        check(what in t, 'the KPI page has %s' % what)
    check(re.search(r'id="series-chart"[^>]*>\s*<svg', t), '#series-chart holds an svg')
    check(re.search(r'id="breakdown-chart"[^>]*><svg', t), '#breakdown-chart holds an svg')
    m = re.search(r'id="provenance">(.*?)</section>', t, re.S)
    check(m and re.search(r'<code class="indicator">automated_services</code>', m.group(1))
          and re.search(r'<span class="source">plugin \S*/strategy\.so strategy \d', m.group(1)),
          'provenance names the indicator and the plugin\'s file, name and version: %r'
          % (m.group(1).strip()[:200] if m else None))
    # alerts and report
    _, _, t = srv.page('GET', '/alerts', cookies=ed)
    for what in ('id="active-alerts"', 'id="alert-history"', 'id="silence"'):
        check(what in t, '/alerts has %s' % what)
    _, _, t = srv.page('GET', '/report?goal=G1&period=2026-Q3', cookies=ed)
    check('<article class="report"' in t and 'class="difficulties"' in t and 'class="solutions"' in t
          and 'id="download"' in t, 'the report has article.report, .notes and a#download')
    # every POST form carries the session's csrf token (every page has one:
    # sign-out); a GET form sends none (a token in a URL would leak)
    for p in PAGES:
        _, _, t = srv.page('GET', p, cookies=ed)
        token = csrf_of(t)
        forms = re.findall(r'<form\b([^>]*)>(.*?)</form>', t, re.S)
        posts = [(a, f) for a, f in forms if re.search(r'method="post"', a, re.I)]
        check(token and posts, '%s: a csrf token and at least one POST form (%d forms, %d POST)'
              % (p, len(forms), len(posts)))
        for attrs, form in forms:
            what = '%s: form %s' % (p, ' '.join(attrs.split())[:60])
            sent = [m for m in re.finditer(r'<input\b[^>]*name="csrf"[^>]*>', form)
                    if not re.search(r'\sdisabled\b', m.group(0))]
            if (attrs, form) in posts:
                check(len(sent) == 1 and 'value="%s"' % token in sent[0].group(0),
                      '%s sends the session\'s csrf token' % what)
            else:
                check(not sent, '%s (GET) sends no csrf field' % what)

    # the language: a cookie that sticks, and Accept-Language as the default
    st, h, t = srv.page('GET', '/?lang=ar', cookies=ed)
    c = set_cookie(h, 'mizan_lang') or ''
    check(c.startswith('mizan_lang=ar') and 'SameSite=Lax' in c and 'Max-Age=31536000' in c,
          '?lang=ar sets the language cookie: %s' % c)
    st, h, t = srv.page('GET', '/alerts', cookies=dict(ed, mizan_lang='ar'),
                   headers={'Accept-Language': 'en-GB,en'})
    check(html_attrs(t) == ('ar', 'rtl'), 'the language cookie wins over Accept-Language')
    _, _, t = srv.page('GET', '/', cookies=ed, headers={'Accept-Language': 'ar-JO,ar;q=0.9'})
    check(html_attrs(t) == ('ar', 'rtl'), 'Accept-Language ar: Arabic by default')
    _, _, t = srv.page('GET', '/', cookies=ed, headers={'Accept-Language': 'fr,en;q=0.5'})
    check(html_attrs(t) == ('en', 'ltr'), 'other Accept-Language: English by default')
    m = re.search(r'id="lang-switch" href="([^"]+)"', t)
    check(m and 'lang=ar' in html.unescape(m.group(1)), 'a#lang-switch links to lang=ar')
    # Arabic titles from the configuration
    _, _, t = srv.page('GET', '/?lang=ar', cookies=ed)
    check('تحسين جودة الخدمات المقدّمة للمغتربين' in t, 'the scorecard shows the Arabic goal title')
    st, _, _ = srv.page('GET', '/?period=nonsense', cookies=ed)
    check(st == 400, 'a bad period: 400')
    st, _, _ = srv.page('GET', '/kpis/nope', cookies=ed)
    check(st == 404, 'an unknown KPI: 404')


def test_csrf():
    srv = setup()
    ed = STATE.get('editor') or sign_in(srv, {'user': 'ed', 'password': PASSWORD})[0]
    vi = STATE.get('viewer') or sign_in(srv, {'user': 'vi', 'password': PASSWORD})[0]
    _, _, t = srv.page('GET', '/edit', cookies=ed)
    good = csrf_of(t)
    check(good, 'the edit page carries a csrf token')
    note_form = {'goal': 'G2', 'period': '2026-Q3', 'difficulties': 'FORGED-NOTE',
                 'solutions': 'FORGED-NOTE'}
    for what, form in (('no csrf', note_form), ('a wrong csrf', dict(note_form, csrf='x' * len(good))),
                       ('an empty csrf', dict(note_form, csrf=''))):
        st, _, t = srv.page('POST', '/edit/notes', form, cookies=ed)
        check(st == 403 and 'forged or expired' in t.lower(), 'a note with %s: 403 (%s)' % (what, st))
    _, _, t = srv.page('GET', '/report?goal=G2&period=2026-Q3&lang=en', cookies=ed)
    check('FORGED-NOTE' not in t, 'no forged note was stored')
    # a viewer with its own valid csrf
    _, _, t = srv.page('GET', '/alerts', cookies=vi)
    st, _, _ = srv.page('POST', '/edit/notes', dict(note_form, csrf=csrf_of(t)), cookies=vi)
    check(st == 403, "a viewer's note with its csrf: 403 (%s)" % st)
    # the right one
    text = 'Late data from two missions %s' % EVIL
    st, h, _ = srv.page('POST', '/edit/notes', {'goal': 'G2', 'period': '2026-Q3', 'csrf': good,
                                                'difficulties': text, 'solutions': 'Weekly calls\nمتابعة أسبوعية'},
                   cookies=ed)
    check(st == 303 and h.get('location', '').startswith('/report'), 'a note with the right csrf: 303 (%s)' % st)
    _, _, t = srv.page('GET', '/report?goal=G2&period=2026-Q3&lang=en', cookies=ed)
    m = re.search(r'class="difficulties">(.*?)</div>', t, re.S)
    check(m and html.escape(text, quote=True) in m.group(1), 'the note appears, escaped, in .notes .difficulties')
    check(EVIL not in t, 'the note\'s script tag is not markup')
    m = re.search(r'class="solutions">(.*?)</div>', t, re.S)
    check(m and 'متابعة أسبوعية' in m.group(1), 'the solutions appear in .notes .solutions')
    check('ed,' in t, 'who recorded the note is shown')
    # a silence: forged, then right
    st, _, _ = srv.page('POST', '/silences', {'kpi': '1.1', 'until': '2099-01-01', 'comment': 'FORGED'},
                   cookies=ed)
    check(st == 403, 'a silence without csrf: 403')
    st, _, _ = srv.page('POST', '/silences', {'kpi': '1.1', 'until': '2099-01-01',
                                              'comment': 'quiet please', 'csrf': good}, cookies=ed)
    check(st == 303, 'a silence with csrf: 303 (%s)' % st)
    _, body = srv.json('GET', '/api/v1/silences', token='viewer')
    comments = [s.get('comment') for s in (body or {}).get('silences', [])]
    check('quiet please' in comments and 'FORGED' not in comments, 'the silence is stored, the forged one not')
    # acknowledge the alert of the quarter made to miss (see setup)
    prev = STATE.get('missed')

    def missed():
        _, body = srv.json('GET', '/api/v1/alerts?state=missed&kpi=2.1', token='viewer')
        return [a for a in (body or {}).get('alerts', []) if a['period'] == prev and not a['dim']]
    a = wait_until(missed, 30)
    check(a, 'kpi 2.1 is missed in %s: an alert to acknowledge' % prev)
    aid = a[0]['id'] if a else -1
    _, _, t = srv.page('GET', '/alerts', cookies=ed)
    check(re.search(r'<form class="ack"(?:(?!</form>).)*name="id" value="%d"' % aid, t, re.S),
          '/alerts has an ack form for alert %d' % aid)
    st, _, _ = srv.page('POST', '/alerts/ack', {'id': aid, 'comment': 'FORGED-ACK',
                                                'csrf': 'nope'}, cookies=ed)
    check(st == 403, 'an ack with a wrong csrf: 403')
    st, _, _ = srv.page('POST', '/alerts/ack', {'id': aid, 'comment': 'looked at it',
                                                'csrf': good}, cookies=ed)
    check(st == 303, 'an ack with csrf: 303')
    _, body = srv.json('GET', '/api/v1/alerts?state=all&limit=1000', token='viewer')
    acks = {x['id']: (x.get('ack_comment'), x.get('acked_by')) for x in (body or {}).get('alerts', [])}
    check(acks.get(aid) == ('looked at it', 'ed'), 'the acknowledgement is stored, by ed (%r)'
          % (acks.get(aid),))
    # a reported value
    st, h, _ = srv.page('POST', '/edit/value', {'kpi': '9.1', 'period': '2026-Q1', 'value': '61.5',
                                                'csrf': good}, cookies=ed)
    check(st == 303, 'a reported value with csrf: 303 (%s)' % st)
    _, body = srv.json('GET', '/api/v1/kpis/9.1/series', token='viewer')
    pts = [(p['period'], p['value']) for p in (body or {}).get('points', [])]
    check(('2026-Q1', 61.5) in pts, 'the reported value is stored: %r' % pts)
    st, _, _ = srv.page('POST', '/edit/value', {'kpi': '1.1', 'period': '2026-Q1', 'value': '3',
                                                'csrf': good}, cookies=ed)
    check(st == 409, 'a value for a computed KPI: 409 (%s)' % st)
    _, _, t = srv.page('GET', '/?period=2026-Q1&lang=en', cookies=ed)
    m = re.search(r'data-kpi="9\.1".*?</a>', t, re.S)
    check(m and 'data-value="61.5"' in m.group(0), 'the scorecard shows the new value at once (cache refreshed)')


def test_escaping():
    srv = setup()
    ed = STATE.get('editor') or sign_in(srv, {'user': 'ed', 'password': PASSWORD})[0]
    for p in ('/?lang=en', '/?lang=ar', '/kpis/9.1?lang=en', '/report?goal=G4&lang=en', '/edit?lang=en',
              '/alerts?lang=en'):
        _, _, t = srv.page('GET', p, cookies=ed)
        check(EVIL not in t, '%s: the KPI title\'s script tag is not markup' % p)
        if p != '/alerts?lang=en':
            check(html.escape(EVIL, quote=True) in t, '%s: the KPI title shows as text' % p)


def test_csv_static():
    srv = setup()
    ed = STATE.get('editor') or sign_in(srv, {'user': 'ed', 'password': PASSWORD})[0]
    _, _, t = srv.page('GET', '/kpis/1.2?period=2026-Q3&lang=ar', cookies=ed)
    rows = re.findall(r'<tr data-period="([^"]+)"><td class="period">[^<]*</td>'
                      r'<td class="value" data-value="([^"]*)">[^<]*</td>'
                      r'<td class="target" data-low="([^"]*)" data-high="([^"]*)">[^<]*</td>'
                      r'<td class="status status-[a-z]+" data-status="([a-z]+)">[^<]*</td>'
                      r'<td class="n" data-value="([^"]*)">', t)
    m = re.search(r'id="csv" href="([^"]+)"', t)
    check(m, 'a#csv has a link')
    st, h, c = srv.page('GET', html.unescape(m.group(1)) if m else '/', cookies=ed)
    check(st == 200 and h.get('content-type') == 'text/csv; charset=utf-8', 'CSV: %s %s' % (st, h.get('content-type')))
    check('attachment' in h.get('content-disposition', ''), 'CSV is an attachment')
    check(c.endswith('\r\n') and '\n' not in c.replace('\r\n', ''), 'CSV lines end in CRLF')
    lines = list(csv.reader(io.StringIO(c, newline='')))
    check(lines and lines[0] == ['period', 'value', 'target_low', 'target_high', 'status', 'n'],
          'CSV header: %r' % lines[:1])
    csv_rows = [tuple(l) for l in lines[1:]]
    check(len(rows) > 2 and csv_rows == rows, 'the CSV matches table#values (%d rows, %d in CSV)'
          % (len(rows), len(csv_rows)))
    # Arabic separators on the page, plain numbers in the CSV
    check('\u066b' in t or '\u066c' in t, 'Arabic numbers use Arabic separators')
    # static files
    for path, ctype in (('/static/mizan.css', 'text/css; charset=utf-8'),
                        ('/static/mizan.js', 'text/javascript; charset=utf-8')):
        st, h, body = srv.page('GET', path)
        check(st == 200 and h.get('content-type') == ctype and len(body) > 100,
              '%s: %s %s' % (path, st, h.get('content-type')))
        check(h.get('cache-control') == 'public, max-age=3600', '%s cache: %s' % (path, h.get('cache-control')))
    st, _, _ = srv.page('GET', '/static/nothing.css')
    check(st == 404, 'a missing static file: 404')
    # static files are the folder's, read at start and found by name
    st, _, body = srv.page('GET', '/static/../mizan.lua')
    check(st == 404 and 'include' not in body, 'no way out of the static folder: 404 (%s)' % st)
    # the report's download
    st, h, body = srv.page('GET', '/report?goal=G1&period=2026-Q3&download=1', cookies=ed)
    check(st == 200 and h.get('content-disposition') ==
          'attachment; filename="mizan-report-G1-2026-Q3.html"', 'report download: %s %s'
          % (st, h.get('content-disposition')))
    check('<style>' in body and 'name="csrf"' not in body, 'the download is self-contained, without csrf')
    # the scorecard is served from memory the second time
    srv.page('GET', '/?period=2026-Q2&lang=en', cookies=ed)
    t0 = time.monotonic()
    for _ in range(5):
        srv.page('GET', '/?period=2026-Q2&lang=en', cookies=ed)
    note('cached scorecard: %.1f ms a request' % ((time.monotonic() - t0) * 200))


def test_web():
    """One server for every part (the harness stops servers between tests)."""
    try:
        for part in (test_signin, test_pages, test_csrf, test_escaping, test_csv_static):
            print('-- %s' % part.__name__, flush=True)
            part()
    finally:
        srv = STATE.pop('srv', None)
        if srv:
            srv.cleanup()


if __name__ == '__main__':
    main([test_web])
