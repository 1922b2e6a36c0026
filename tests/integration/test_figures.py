#!/usr/bin/env python3
"""One figure, one way of writing it: a KPI's figure read from the API (raw)
is found written identically on the KPI's page, on the scorecard and in the
alert mail, in Arabic and in English.

The real `mizan serve` with the shipped dashboards, and aiosmtpd (Debian's
python3-aiosmtpd) on 127.0.0.1 receiving the mail.  Two KPIs miss their
targets in the quarter that closed last, so each sends one message to its
Arabic owner and one to its English manager:

  R  training return, 37.33... %   English 37.3     Arabic 37٫3     (U+066B)
  V  participation, 12,345.6 JOD   English 12,346   Arabic 12٬346   (U+066C)

The rule (render/format.h), restated here in Python: Western digits; no
decimals for whole numbers and numbers of 100 or more, two under 10, one
otherwise; thousands grouped; Arabic uses U+066C and U+066B for "," and ".".
"""
import html
import json
import math
import os
import re
import time

from mizan_test import check, main, note, wait_until
from test_alerts import (SRC, Controller, Smtp, alert_server, kpi, parse, parts, person, post_ok,
                         previous_quarter, now_ms, trn)

WORDS = {  # render/i18n.c
    'en': {'value': 'Value', 'target': 'Target', 'at_least': 'at least'},
    'ar': {'value': 'القيمة', 'target': 'المستهدف', 'at_least': 'لا يقل عن'},
}
OWNER = person('مالكة المؤشر', 'owner@example.org', 'ar')
MANAGER = person('Manager', 'manager@example.org', 'en')


def fmt(v, lang):
    """render/format.h's fmt_number."""
    if v is None or not math.isfinite(v):
        return '—'
    decimals = 0 if v == math.floor(v) or abs(v) >= 100 else 2 if abs(v) < 10 else 1
    raw = '%.*f' % (decimals, abs(v))
    whole, _, frac = raw.partition('.')
    group, point = (',', '.') if lang == 'en' else ('\u066c', '\u066b')
    parts_ = []
    while len(whole) > 3:
        parts_.insert(0, whole[-3:])
        whole = whole[:-3]
    s = group.join([whole] + parts_) + (point + frac if frac else '')
    return ('-' + s) if v < 0 and raw.strip('0.') else s


def project(i, ms, amount):
    return {'kind': 'project', 'id': 'p%d' % i, 'ts': ms_iso(ms), 'mission': 'AE-AUH',
            'sector': 'education', 'contribution': 'donation', 'amount': amount,
            'currency': 'JOD', 'title': 'Project %d' % i}


def ms_iso(ms):
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(ms / 1000)) + 'Z'


def sign_in(s):
    """A dashboard session for the viewer token: the cookie header."""
    st, h, _ = s.request('POST', '/login', 'token=' + s.tokens['viewer'],
                         {'Content-Type': 'application/x-www-form-urlencoded'}, token=None)
    m = re.search(r'mizan_session=([^;]+)', h.get('set-cookie', ''))
    check(st == 303 and m, 'signed in to the dashboard with the viewer token (%s)' % st)
    return {'Cookie': 'mizan_session=' + (m.group(1) if m else '')}


def page(s, path, cookie):
    st, _, body = s.request('GET', path, headers=cookie, token=None)
    check(st == 200, 'GET %s: 200 (%s)' % (path, st))
    return body.decode('utf-8', 'replace')


def test_one_figure_everywhere():
    if Controller is None:
        check(False, 'python3-aiosmtpd is installed')
        return
    prev, pstart, _ = previous_quarter(now_ms())
    kpis = [kpi('R', 'training_roi', 'Training return', 'عائد التدريب', unit='%',
                owner=OWNER, managers=[MANAGER], target={'quarter': 50}),
            kpi('V', 'participation_volume', 'Participation volume', 'حجم المشاركة', unit='JOD',
                cumulative=True, owner=OWNER, managers=[MANAGER], target={'quarter': 50000})]
    t0 = pstart + 3600 * 1000
    events = [trn(1, t0, cost=100, benefit=150), trn(2, t0 + 60000, cost=200, benefit=262),
              project(1, t0, 10000), project(2, t0 + 60000, 2345.6)]
    with Smtp().start() as smtp, alert_server(kpis, smtp.port,
                                              server__dashboards=os.path.join(SRC, 'dashboards'),
                                              alerts__repeat_s=0) as s:
        post_ok(s, events, prev)
        check(wait_until(lambda: len(smtp.messages) >= 4, 30), 'four messages arrive (%d)'
              % len(smtp.messages))
        time.sleep(1)
        cookie = sign_in(s)
        mails = {}
        for _, rcpts, content in smtp.messages:
            m = parse(content)
            subject, text, body = parts(m)
            kid = 'R' if ' R ' in subject else 'V' if ' V ' in subject else None
            lang = 'ar' if rcpts == [OWNER['email']] else 'en'
            mails[(kid, lang)] = (subject, text, body)
        check(sorted(mails) == [('R', 'ar'), ('R', 'en'), ('V', 'ar'), ('V', 'en')],
              'one message per KPI and language: %s' % sorted(mails))

        for kid, unit, want in (('R', '%', {'en': '37.3', 'ar': '37\u066b3'}),
                                ('V', 'JOD', {'en': '12,346', 'ar': '12\u066c346'})):
            st, _, text = s.request('GET', '/api/v1/kpis/' + kid, token='viewer')
            body = json.loads(text.decode()) if st == 200 else {}
            latest = (body or {}).get('latest') or {}
            raw = latest.get('value')
            m = re.search(r'"latest":\{[^{}]*?"value":([-+0-9.eE]+)', text.decode())
            raw_text = m.group(1) if m else None  # the API's number, as it wrote it
            low = ((latest.get('target') or {}).get('low'))
            check(st == 200 and latest.get('period') == prev and isinstance(raw, (int, float)),
                  'API: %s has a figure for %s: %s' % (kid, prev, raw))
            if not isinstance(raw, (int, float)) or low is None:
                continue
            for lang in ('en', 'ar'):
                w = WORDS[lang]
                value, target = fmt(raw, lang), '%s %s' % (w['at_least'], fmt(low, lang))
                check(value == want[lang], '%s %s: the rule writes %s as %s (%s expected)'
                      % (kid, lang, raw, value, want[lang]))

                # the KPI's page
                t = page(s, '/kpis/%s?period=%s&lang=%s' % (kid, prev, lang), cookie)
                m = re.search(r'<section class="summary kpi"[^>]*>.*?<span class="value" '
                              r'data-value="([^"]*)">([^<]*)</span>.*?<span class="target">'
                              r'<span class="label">[^<]*</span> ([^<]*)</span>', t, re.S)
                check(m and m.group(1) == raw_text, '%s %s page: data-value %s is the API\'s %s'
                      % (kid, lang, m and m.group(1), raw_text))
                check(m and html.unescape(m.group(2)) == value, '%s %s page: the figure reads %r (%r)'
                      % (kid, lang, value, m and m.group(2)))
                check(m and html.unescape(m.group(3)) == target, '%s %s page: the target reads %r (%r)'
                      % (kid, lang, target, m and m.group(3)))
                row = re.search(r'<tr data-period="%s">.*?<td class="value" data-value="[^"]*">'
                                r'([^<]*)</td>' % re.escape(prev), t, re.S)
                check(row and html.unescape(row.group(1)) == value, '%s %s page: the table row of %s '
                      'reads %r (%r)' % (kid, lang, prev, value, row and row.group(1)))

                # the scorecard
                t = page(s, '/?period=%s&lang=%s' % (prev, lang), cookie)
                m = re.search(r'<a class="kpi" data-kpi="%s".*?<span class="value" data-value="[^"]*">'
                              r'([^<]*)</span>' % kid, t, re.S)
                check(m and html.unescape(m.group(1)) == value, '%s %s scorecard: the figure reads %r '
                      '(%r)' % (kid, lang, value, m and m.group(1)))

                # the mail
                subject, text, body = mails.get((kid, lang), ('', '', ''))
                line = '%s: %s %s' % (w['value'], value, unit)
                ok = check('\n%s\n' % line in text, '%s %s mail, text: %r' % (kid, lang, line))
                line = '%s: %s %s' % (w['target'], target, unit)
                ok &= check('\n%s\n' % line in text, '%s %s mail, text: %r' % (kid, lang, line))
                m = re.search(r'<td class="value" data-value="([^"]*)">([^<]*)</td>', body)
                ok &= check(m and m.group(1) == raw_text and
                            html.unescape(m.group(2)) == '%s %s' % (value, unit),
                            '%s %s mail, html: %r, data-value %s' % (kid, lang, value,
                                                                     m and m.group(1)))
                m = re.search(r'<td class="target">([^<]*)</td>', body)
                ok &= check(m and html.unescape(m.group(1)) == '%s %s' % (target, unit),
                            '%s %s mail, html: the target %r' % (kid, lang, target))
                ok &= check(('dir="rtl"' in body) == (lang == 'ar'), '%s %s mail: %s' % (
                    kid, lang, 'right to left' if lang == 'ar' else 'left to right'))
                if not ok:
                    note('subject: %s\ntext:\n%s\nhtml:\n%s' % (subject, text, body))


if __name__ == '__main__':
    main([test_one_figure_everywhere])
