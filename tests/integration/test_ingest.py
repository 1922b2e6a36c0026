"""POST /api/v1/events and GET /api/v1/events over HTTP: formats, idempotency,
atomic rejection, auth, limits, hostile bodies, filters, /metrics, /healthz."""
import datetime
import json
import socket
import time

from mizan_test import Server, check, main, metric, wait_until

SETTINGS = {'limits.body_bytes': 262144, 'limits.batch_events': 500, 'limits.timeout_s': 10}
ARABIC = 'دورة تدريبية في القيادة الدبلوماسية'


def svc(i, ts='2026-01-10T09:30:00Z', mission='AE-AUH', **kw):
    e = {'kind': 'service', 'id': i, 'ts': ts, 'mission': mission, 'country': 'AE',
         'service': 'passport-renewal', 'channel': 'online', 'automated': True,
         'outcome': 'completed', 'duration_min': 12.5}
    e.update(kw)
    return e


def trn(i, ts='2026-01-11T08:00:00Z', mission='US-NYC', **kw):
    e = {'kind': 'training', 'id': i, 'ts': ts, 'mission': mission, 'title': 'Consular basics',
         'hours': 6, 'participants': 12, 'cost': 1500, 'currency': 'JOD'}
    e.update(kw)
    return e


def prj(i, ts='2026-01-12T08:00:00Z', **kw):
    e = {'kind': 'project', 'id': i, 'ts': ts, 'mission': 'DE-BER', 'sector': 'education',
         'contribution': 'donation', 'amount': 25000.5, 'currency': 'EUR'}
    e.update(kw)
    return e


def sat(i, ts='2026-01-13T08:00:00Z', **kw):
    e = {'kind': 'satisfaction', 'id': i, 'ts': ts, 'mission': 'AE-AUH', 'subject': 'service',
         'score': 4, 'scale': 5}
    e.update(kw)
    return e


def stored(s, query='limit=10000'):
    st, body = s.get_events(query)
    assert st == 200, (st, body)
    return {e['id']: e for e in body['events']}


def first_error(body):
    try:
        return body['errors'][0]
    except (TypeError, KeyError, IndexError):
        return {}


def expect_reject(s, body, ctype, field, where=None, key='index', what='', status=400):
    """Posts body, expects `status` naming `field` (and index/line `where`)."""
    st, b = s.post(body, ctype)
    e = first_error(b)
    ok = check(st == status, '%s: answers %d (got %d %s)' % (what, status, st, str(b)[:200]))
    if status == 400:
        check(e.get('field') == field, '%s: the error names field %r (got %r: %r)'
              % (what, field, e.get('field'), e.get('error')))
        if where is not None:
            check(e.get(key) == where, '%s: the error names %s %r (got %r)'
                  % (what, key, where, e.get(key)))
        check(isinstance(b, dict) and b.get('rejected', 0) >= 1 and isinstance(b.get('error'), str),
              '%s: the 400 body has error and rejected' % what)
    return ok, b


def test_content_types():
    with Server(SETTINGS) as s:
        st, b = s.post([svc('ct-a1'), trn('ct-a2'), prj('ct-a3'), sat('ct-a4')])
        check(st == 200 and b == {'accepted': 4, 'duplicates': 0},
              'JSON array of 4: 200 accepted 4 (got %d %r)' % (st, b))
        st, b = s.post(svc('ct-o1', ts='2026-01-10T12:30:00+03:00'))
        check(st == 200 and b == {'accepted': 1, 'duplicates': 0},
              'single JSON object: 200 accepted 1 (got %d %r)' % (st, b))
        st, b = s.post([sat('ct-n1'), sat('ct-n2', score=2), svc('ct-n3')],
                       'application/x-ndjson')
        check(st == 200 and b == {'accepted': 3, 'duplicates': 0},
              'NDJSON of 3: 200 accepted 3 (got %d %r)' % (st, b))
        st, b = s.post('\n' + json.dumps(sat('ct-n4')) + '\r\n\n', 'application/x-ndjson; charset=utf-8')
        check(st == 200 and b == {'accepted': 1, 'duplicates': 0},
              'NDJSON with blank lines, CRLF and a charset parameter: accepted 1 (got %d %r)' % (st, b))
        csv = ('kind,id,ts,mission,title,hours,participants,cost,attrs\r\n'
               'training,ct-c1,2026-01-11T10:00:00Z,US-NYC,"Protocol, etiquette and ""tact""",'
               '2.5,30,99.5,"{""room"": ""A, 1""}"\r\n'
               'training,ct-c2,2026-01-11T11:00:00Z,US-NYC,%s,8,5,0,\r\n' % ARABIC)
        st, b = s.post(csv.encode('utf-8'), 'text/csv')
        check(st == 200 and b == {'accepted': 2, 'duplicates': 0},
              'CSV with header, quoted comma, Arabic: 200 accepted 2 (got %d %r)' % (st, b))

        got = stored(s)
        want = ['ct-a1', 'ct-a2', 'ct-a3', 'ct-a4', 'ct-o1', 'ct-n1', 'ct-n2', 'ct-n3', 'ct-n4',
                'ct-c1', 'ct-c2']
        check(sorted(got) == sorted(want), 'GET returns exactly the 11 posted ids (got %r)'
              % sorted(got))
        e = got.get('ct-a1', {})
        check(e == svc('ct-a1'), 'service event round-trips field for field (got %r)' % e)
        e = got.get('ct-a2', {})
        check(e == trn('ct-a2'), 'training event round-trips (got %r)' % e)
        e = got.get('ct-a3', {})
        check(e == prj('ct-a3'), 'project event round-trips (got %r)' % e)
        check(got.get('ct-o1', {}).get('ts') == '2026-01-10T09:30:00Z',
              '+03:00 timestamp is stored in UTC (got %r)' % got.get('ct-o1', {}).get('ts'))
        c1 = got.get('ct-c1', {})
        check(c1.get('title') == 'Protocol, etiquette and "tact"',
              'CSV quoted field with comma and quotes kept (got %r)' % c1.get('title'))
        check(c1.get('hours') == 2.5 and c1.get('participants') == 30 and c1.get('cost') == 99.5,
              'CSV numbers typed as numbers (got %r)' % c1)
        check(c1.get('attrs') == {'room': 'A, 1'}, 'CSV attrs JSON cell parsed (got %r)'
              % c1.get('attrs'))
        c2 = got.get('ct-c2', {})
        check(c2.get('title') == ARABIC, 'Arabic title stored intact (got %r)' % c2.get('title'))
        check('attrs' not in c2, 'empty CSV cell means absent (got %r)' % c2)
        check(got.get('ct-n2', {}).get('score') == 2, 'NDJSON values kept')


def test_idempotent():
    with Server(SETTINGS) as s:
        batch = [svc('id-%d' % i, ts='2026-02-01T00:00:%02dZ' % i) for i in range(5)]
        st, b = s.post(batch)
        check(st == 200 and b == {'accepted': 5, 'duplicates': 0}, 'first post: accepted 5 (%r)' % b)
        st, b = s.post(batch)
        check(st == 200 and b == {'accepted': 0, 'duplicates': 5},
              'resend: accepted 0, duplicates 5 (got %d %r)' % (st, b))
        st, b = s.post(batch, 'application/x-ndjson')
        check(st == 200 and b == {'accepted': 0, 'duplicates': 5},
              'resend as NDJSON: duplicates 5 (got %r)' % b)
        changed = dict(batch[0], outcome='rejected')
        st, b = s.post([changed, svc('id-new'), svc('id-new'), svc('id-new2'), svc('id-new')])
        check(st == 200 and b == {'accepted': 2, 'duplicates': 3},
              'duplicates within one batch counted: accepted 2, duplicates 3 (got %r)' % b)
        got = stored(s)
        check(len(got) == 7, '7 distinct events stored (got %d)' % len(got))
        check(got.get('id-0', {}).get('outcome') == 'completed',
              'a resent id does not overwrite the first version (got %r)'
              % got.get('id-0', {}).get('outcome'))
        st, body = s.get_events('limit=10000')
        check(body['count'] == 7 and len(body['events']) == 7, 'count field matches (%r)' % body['count'])


def test_atomic_rejection():
    with Server(SETTINGS) as s:
        good = [svc('at-%d' % i) for i in range(5)]
        bad = list(good)
        bad[2] = svc('at-bad', outcome='maybe')
        ok, b = expect_reject(s, bad, 'application/json', 'outcome', 2, 'index',
                              'JSON array with index 2 bad')
        check(b and b.get('rejected') == 1, 'rejected counts 1 (got %r)' % (b or {}).get('rejected'))
        check(b and len(b.get('errors', [])) == 1, 'exactly one error listed')
        bad = list(good)
        bad[3] = trn('at-bad2', hours=0.1)
        expect_reject(s, bad, 'application/x-ndjson', 'hours', 4, 'line',
                      'NDJSON with line 4 bad (hours out of range)')
        csv = ('kind,id,ts,mission,service,channel,automated,outcome\n'
               'service,at-c1,2026-01-10T09:30:00Z,AE-AUH,visa,online,true,completed\n'
               'service,at-c2,2026-01-10T09:30:00Z,AE-AUH,visa,online,yes,completed\n'
               'service,at-c3,2026-01-10T09:30:00Z,AE-AUH,visa,online,false,completed\n')
        expect_reject(s, csv, 'text/csv', 'automated', 3, 'line', 'CSV with line 3 bad (automated=yes)')
        # Two bad ones: both listed.
        bad = list(good)
        bad[1] = svc('at-b1', channel='pigeon')
        bad[4] = svc('at-b4', mission='AE AUH')
        st, b = s.post(bad)
        errs = (b or {}).get('errors', [])
        check(st == 400 and b.get('rejected') == 2 and
              [(e.get('index'), e.get('field')) for e in errs] == [(1, 'channel'), (4, 'mission')],
              'two bad events: both listed with index and field (got %r)' % errs)
        got = stored(s)
        check(got == {}, 'none of the good events of any rejected batch was stored (got %r)'
              % sorted(got))
        st, b = s.post(good)
        check(st == 200 and b.get('accepted') == 5, 'the good events alone are accepted afterwards')


def test_auth():
    with Server(SETTINGS) as s:
        body = json.dumps([svc('au-1')])
        ct = {'Content-Type': 'application/json'}
        st, h, data = s.request('POST', '/api/v1/events', body, ct, token=None)
        check(st == 401, 'no Authorization header: 401 (got %d)' % st)
        check('bearer' in h.get('www-authenticate', '').lower(), '401 carries WWW-Authenticate: Bearer')
        st, _, _ = s.request('POST', '/api/v1/events', body, ct, token='mzn_' + 'A' * 43)
        check(st == 401, 'unknown token: 401 (got %d)' % st)
        st, _, _ = s.request('POST', '/api/v1/events', body,
                             dict(ct, Authorization='Basic dXNlcjpwYXNz'), token=None)
        check(st == 401, 'Basic auth instead of Bearer: 401 (got %d)' % st)
        st, _, _ = s.request('POST', '/api/v1/events', body, ct, token='viewer')
        check(st == 403, 'viewer token posting: 403 (got %d)' % st)
        st, _, _ = s.request('GET', '/api/v1/events', token='ingest')
        check(st == 403, 'ingest token reading events: 403 (got %d)' % st)
        st, _, _ = s.request('GET', '/api/v1/events', token=None)
        check(st == 401, 'GET events without a token: 401 (got %d)' % st)
        check(stored(s) == {}, 'nothing stored by refused requests')
        st, b = s.post([svc('au-2')], token='admin')
        check(st == 200 and b.get('accepted') == 1, 'admin token may post (got %d %r)' % (st, b))
        st, _ = s.get_events(token='admin')
        check(st == 200, 'admin token may read (got %d)' % st)


def raw_exchange(port, data, timeout=10, shutdown=False):
    """Sends raw bytes, returns whatever comes back until close or timeout."""
    sk = socket.create_connection(('127.0.0.1', port), timeout=timeout)
    out = b''
    try:
        sk.sendall(data)
        if shutdown:
            sk.shutdown(socket.SHUT_WR)
        while True:
            try:
                chunk = sk.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            out += chunk
            if b'\r\n\r\n' in out and not shutdown:
                head, _, rest = out.partition(b'\r\n\r\n')
                for line in head.split(b'\r\n'):
                    if line.lower().startswith(b'content-length:'):
                        if len(rest) >= int(line.split(b':')[1]):
                            return out
    finally:
        sk.close()
    return out


def test_limits_and_types():
    with Server(SETTINGS) as s:
        tok = s.tokens['ingest']
        # Content-Length over the limit: refused from the headers, body never sent.
        t0 = time.monotonic()
        resp = raw_exchange(s.port, (
            'POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n'
            'Content-Type: application/json\r\nContent-Length: 300000\r\n\r\n' % tok).encode())
        check(resp.startswith(b'HTTP/1.1 413'), 'Content-Length 300000 > body_bytes: 413 without '
              'the body being sent (got %r)' % resp[:40])
        check(time.monotonic() - t0 < 5, '413 comes at once, not after a timeout')
        # A body that really is over the limit.
        big = json.dumps([svc('lim-%d' % i, attrs={'pad': 'x' * 2000}) for i in range(140)])
        check(len(big) > 262144, 'test body is over the limit (%d bytes)' % len(big))
        st, b = s.post(big)
        check(st == 413, 'body over body_bytes: 413 (got %d %r)' % (st, str(b)[:100]))
        # More events than batch_events, small body.
        many = [sat('many-%d' % i) for i in range(501)]
        st, b = s.post(many)
        check(st == 413, '501 events > batch_events 500 (JSON): 413 (got %d %r)' % (st, str(b)[:100]))
        st, b = s.post(many, 'application/x-ndjson')
        check(st == 413, '501 events > batch_events 500 (NDJSON): 413 (got %d)' % st)
        csv = 'kind,id,ts,subject,score,scale\n' + ''.join(
            'satisfaction,csv-%d,2026-01-01T00:00:00Z,service,3,5\n' % i for i in range(501))
        st, b = s.post(csv, 'text/csv')
        check(st == 413, '501 events > batch_events 500 (CSV): 413 (got %d)' % st)
        st, b = s.post(many[:500])
        check(st == 200 and b.get('accepted') == 500, 'exactly batch_events 500: accepted (got %d)' % st)
        for ct in ('text/plain', 'application/xml', 'application/jsonx', None):
            h = {'Content-Type': ct} if ct else {}
            st, _, _ = s.request('POST', '/api/v1/events', json.dumps([svc('t415')]), h)
            check(st == 415, 'Content-Type %r: 415 (got %d)' % (ct, st))
        got = stored(s)
        check(len(got) == 500 and not any(k.startswith(('lim-', 't415', 'csv-')) for k in got),
              'only the accepted batch of 500 is stored (got %d)' % len(got))
        st, b = s.json('GET', '/api/v1/nope', token=None)
        check(st == 404, 'unknown API path: 404 (got %d)' % st)
        st, h, _ = s.request('DELETE', '/api/v1/events', token='admin')
        check(st == 405 and 'POST' in h.get('allow', ''), 'DELETE events: 405 with Allow (got %d)' % st)


def test_hostile_bodies():
    with Server(SETTINGS) as s:
        tok = s.tokens['ingest']
        J, N = 'application/json', 'application/x-ndjson'
        for body, what in (('[{"kind":"service","id":"m1"', 'truncated array'),
                           ('{"kind": "service", "id": }', 'missing value'),
                           ('[' + json.dumps(svc('m2')) + '] trailing', 'trailing garbage'),
                           ("{'kind': 'service'}", 'single quotes')):
            ok, b = expect_reject(s, body, J, '', 0, 'index', 'malformed JSON (%s)' % what)
            check('malformed JSON' in str((first_error(b) or {}).get('error')),
                  'malformed JSON (%s): says malformed JSON' % what)
        expect_reject(s, json.dumps(svc('m3')) + '\n{"kind":\n', N, '', 2, 'line',
                      'malformed NDJSON line 2')
        expect_reject(s, '"just a string"', J, '', 0, 'index', 'a JSON string as the body')
        expect_reject(s, '[1, 2]', J, '', 0, 'index', 'array of numbers')
        # Invalid UTF-8 in several forms.
        base = json.dumps(trn('u1', title='TITLE')).encode()
        for bad, what in ((b'\xff', 'byte 0xff'), (b'\xc0\xaf', 'overlong slash'),
                          (b'\xed\xa0\x80', 'UTF-16 surrogate'), (b'\xe2\x82', 'truncated sequence'),
                          (b'\xf4\x90\x80\x80', 'past U+10FFFF')):
            ok, b = expect_reject(s, base.replace(b'TITLE', b'ab' + bad + b'cd'), J, '', 1, 'line',
                                  'invalid UTF-8 (%s)' % what)
            check('UTF-8' in str(first_error(b).get('error')), 'invalid UTF-8 (%s): says UTF-8' % what)
        csv = b'kind,id,ts,mission,title,hours,participants,cost\ntraining,u2,2026-01-11T10:00:00Z,X,ab\xffcd,1,1,1\n'
        expect_reject(s, csv, 'text/csv', '', 2, 'line', 'invalid UTF-8 in CSV line 2')
        # Non-finite numbers: not JSON at all.
        for lit in ('NaN', 'Infinity', '-Infinity', 'nan', 'inf'):
            body = json.dumps(trn('nf-' + lit, hours=123456)).replace('123456', lit)
            expect_reject(s, body, J, '', 0, 'index', 'hours: %s literal' % lit)
        csv = ('kind,id,ts,mission,title,hours,participants,cost\n'
               'training,nf-csv,2026-01-11T10:00:00Z,X,T,%s,1,1\n')
        for lit in ('NaN', 'inf', '-Infinity', '0x10', '1e400'):
            expect_reject(s, csv % lit, 'text/csv', 'hours', 2, 'line', 'CSV hours %s' % lit)
        body = json.dumps(trn('big1', hours=123456)).replace('123456', '1e400')
        expect_reject(s, body, J, 'hours', 0, 'index', 'hours 1e400 (overflows to infinity)')
        body = json.dumps(trn('big2', hours=123456)).replace('123456', '-1e400')
        expect_reject(s, body, J, 'hours', 0, 'index', 'hours -1e400')
        body = json.dumps(trn('big3', participants=123456)).replace('123456', '1e30')
        expect_reject(s, body, J, 'participants', 0, 'index', 'participants 1e30')
        expect_reject(s, json.dumps(trn('big4', participants=2.5)), J, 'participants', 0, 'index',
                      'participants 2.5 (not whole)')
        expect_reject(s, json.dumps(prj('big5', amount=1e16)), J, 'amount', 0, 'index',
                      'amount 1e16 over 1e15')
        body = json.dumps(prj('big6', amount=123456)).replace('123456', '1' + '0' * 400)
        expect_reject(s, body, J, 'amount', 0, 'index', 'amount with 401 digits')
        # Deeply nested attrs.
        def nest(d):
            return '{"a":' * d + '1' + '}' * d
        body = json.dumps(svc('deep20', attrs={'x': 1})).replace('{"x": 1}', nest(20))
        ok, b = expect_reject(s, body, J, 'attrs', 0, 'index', 'attrs nested 20 deep')
        # 5000 deep is past cJSON's nesting limit (1000): the body does not
        # parse, so it is malformed JSON as a whole, before attrs is looked at.
        body = json.dumps(svc('deep5000', attrs={'x': 1})).replace('{"x": 1}', nest(5000))
        ok, b = expect_reject(s, body, J, '', 0, 'index', 'attrs nested 5000 deep')
        check('malformed JSON' in str(first_error(b).get('error')),
              'attrs nested 5000 deep: says malformed JSON (%r)' % first_error(b).get('error'))
        body = json.dumps(svc('deep8', attrs={'x': 1})).replace('{"x": 1}', nest(8))
        st, b = s.post(body, J)
        check(st == 200, 'attrs nested 8 deep (the limit) accepted (got %d %r)' % (st, b))
        expect_reject(s, json.dumps(svc('attrs-big', attrs={'p': 'x' * 5000})), J, 'attrs', 0,
                      'index', 'attrs over attrs_bytes')
        expect_reject(s, json.dumps(svc('attrs-arr', attrs=[1, 2])), J, 'attrs', 0, 'index',
                      'attrs that is an array')
        # Empty bodies.
        st, b = s.post('', J)
        check(st == 400 and first_error(b).get('field') == '' and
              'empty' in str(first_error(b).get('error')), 'empty body: 400 "empty" (got %d %r)' % (st, b))
        st, b = s.post('  \n ', N)
        check(st == 400, 'blank NDJSON body: 400 (got %d)' % st)
        # The README: "[] or a CSV with only a header is a valid empty batch".
        st, b = s.post('[]', J)
        check(st == 200 and b == {'accepted': 0, 'duplicates': 0},
              '[]: 200 accepted 0, duplicates 0 (got %d %r)' % (st, b))
        st, b = s.post('kind,id,ts\r\n', 'text/csv')
        check(st == 200 and b == {'accepted': 0, 'duplicates': 0},
              'a CSV with only a header: 200 accepted 0, duplicates 0 (got %d %r)' % (st, b))
        # Unknown and misplaced fields.
        expect_reject(s, json.dumps(svc('unk', colour='red')), J, 'colour', 0, 'index', 'unknown field')
        expect_reject(s, json.dumps(svc('misplaced', hours=3)), J, 'hours', 0, 'index',
                      'training field on a service event')
        expect_reject(s, json.dumps(dict(svc('x'), kind='visit')), J, 'kind', 0, 'index', 'unknown kind')
        e = svc('nokind')
        del e['kind']
        expect_reject(s, json.dumps(e), J, 'kind', 0, 'index', 'missing kind')
        e = svc('noid')
        del e['id']
        expect_reject(s, json.dumps(e), J, 'id', 0, 'index', 'missing id')
        expect_reject(s, '{"kind":"service","id":"dup","id":"dup2","ts":"2026-01-01T00:00:00Z",'
                      '"service":"v","channel":"online","automated":true,"outcome":"completed"}',
                      J, 'id', 0, 'index', 'a field appearing twice')
        expect_reject(s, json.dumps(svc('bad id/slash')), J, 'id', 0, 'index', 'id with a slash')
        expect_reject(s, json.dumps(svc('x' * 129)), J, 'id', 0, 'index', 'id of 129 bytes')
        expect_reject(s, json.dumps(trn('ctl', title='a\u0001b')), J, 'title', 0, 'index',
                      'control character in title')
        expect_reject(s, json.dumps(svc('cc', country='ae')), J, 'country', 0, 'index',
                      'lower-case country')
        expect_reject(s, json.dumps(sat('over', score=6, scale=5)), J, 'score', 0, 'index',
                      'score above scale')
        expect_reject(s, json.dumps(svc('s', automated='true')), J, 'automated', 0, 'index',
                      'automated as a string')
        # Timestamps.
        for ts, what in (('2026-01-10T09:30:00', 'no zone'), ('2026-01-10', 'date only'),
                         ('2026-02-30T00:00:00Z', 'February 30'), ('1999-12-31T23:59:59Z', 'before 2000'),
                         ('2026-01-10 09:30:00Z', 'space instead of T'), ('', 'empty')):
            expect_reject(s, json.dumps(svc('ts-' + what.replace(' ', '_'), ts=ts)), J, 'ts', 0,
                          'index', 'timestamp %s (%r)' % (what, ts))
        fut = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=3))
        expect_reject(s, json.dumps(svc('ts-future', ts=fut.strftime('%Y-%m-%dT%H:%M:%SZ'))), J, 'ts',
                      0, 'index', 'timestamp 3 days in the future')
        soon = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))
        st, b = s.post(svc('ts-soon', ts=soon.strftime('%Y-%m-%dT%H:%M:%S.123+00:00')))
        check(st == 200, 'timestamp 1 hour ahead (within future_s) accepted (got %d %r)' % (st, b))
        got = stored(s)
        check(sorted(got) == ['deep8', 'ts-soon'], 'only the two valid events were stored (got %r)'
              % sorted(got))

        # Truncated body: Content-Length larger than what is sent, then close.
        # What is sent is a complete, valid event: storing it would be a bug.
        part = json.dumps(svc('trunc-1')).encode()
        head = ('POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n'
                'Content-Type: application/json\r\nContent-Length: %d\r\n\r\n'
                % (tok, len(part) + 4000)).encode()
        sk = socket.create_connection(('127.0.0.1', s.port), timeout=10)
        sk.sendall(head + part)
        time.sleep(0.2)
        sk.close()
        resp = raw_exchange(s.port, head + part, timeout=4, shutdown=True)
        check(b' 200 ' not in resp[:20], 'truncated body with half-close: no 200 (got %r)' % resp[:60])
        st, b = s.json('GET', '/healthz', token=None)
        check(st == 200, 'server keeps serving after truncated bodies (healthz %d)' % st)
        st, b = s.post(svc('after-trunc'))
        check(st == 200 and b.get('accepted') == 1, 'a normal post still works after (got %d)' % st)
        # Read after a later request was served (there is no answer to wait for).
        got = stored(s)
        check('after-trunc' in got and 'trunc-1' not in got,
              'the truncated requests stored nothing, the next one was stored (%r)'
              % sorted(k for k in got if 'trunc' in k))


def test_get_filters():
    with Server(dict(SETTINGS, **{'limits.query_rows': 50})) as s:
        evs = [svc('f-s1', ts='2026-03-01T00:00:00Z', mission='AE-AUH'),
               svc('f-s2', ts='2026-03-02T00:00:00Z', mission='US-NYC'),
               svc('f-s3', ts='2026-03-03T23:59:59.999Z', mission='AE-AUH'),
               trn('f-t1', ts='2026-03-02T12:00:00Z', mission='AE-AUH'),
               trn('f-t2', ts='2026-03-04T00:00:00Z', mission='US-NYC'),
               sat('f-q1', ts='2026-02-28T23:59:59Z')]
        st, b = s.post(evs)
        check(st == 200 and b.get('accepted') == 6, 'six filter events posted')

        def ids(q):
            st, body = s.get_events(q)
            if st != 200:
                return st
            return [e['id'] for e in body['events']]
        check(ids('') == ['f-q1', 'f-s1', 'f-s2', 'f-t1', 'f-s3', 'f-t2'],
              'no filter: all, ordered by ts (got %r)' % ids(''))
        check(ids('kind=training') == ['f-t1', 'f-t2'], 'kind=training (got %r)' % ids('kind=training'))
        check(ids('kind=satisfaction') == ['f-q1'], 'kind=satisfaction')
        check(ids('kind=project') == [], 'kind=project: none')
        check(ids('mission=AE-AUH') == ['f-q1', 'f-s1', 'f-t1', 'f-s3'],
              'mission=AE-AUH (got %r)' % ids('mission=AE-AUH'))
        check(ids('mission=AE-AUH&kind=service') == ['f-s1', 'f-s3'], 'mission and kind combined')
        check(ids('from=2026-03-01&to=2026-03-03') == ['f-s1', 'f-s2', 'f-t1'],
              'from/to dates, to exclusive (got %r)' % ids('from=2026-03-01&to=2026-03-03'))
        check(ids('from=2026-03-03T23:59:59.999Z') == ['f-s3', 'f-t2'],
              'from with milliseconds is inclusive (got %r)' % ids('from=2026-03-03T23:59:59.999Z'))
        check(ids('from=2026-03-02T03:00:00%2B03:00&to=2026-03-02T12:00:00Z') == ['f-s2'],
              'from with +03:00 zone (got %r)' % ids('from=2026-03-02T03:00:00%2B03:00&to=2026-03-02T12:00:00Z'))
        check(ids('limit=2') == ['f-q1', 'f-s1'], 'limit=2: first two by ts (got %r)' % ids('limit=2'))
        check(ids('limit=50') == ['f-q1', 'f-s1', 'f-s2', 'f-t1', 'f-s3', 'f-t2'],
              'limit=query_rows (50) accepted: all six (got %r)' % ids('limit=50'))
        for q in ('limit=0', 'limit=-1', 'limit=abc', 'limit=51', 'limit=2x', 'limit=99999999999999999999',
                  'kind=bogus', 'from=yesterday', 'to=2026-13-01', 'from=2026-03-01T00:00:00'):
            st, b = s.get_events(q)
            check(st == 400 and isinstance(b, dict) and 'error' in b, '%s: 400 with error (got %d)' % (q, st))


def test_metrics_and_health():
    with Server(SETTINGS) as s:
        st, b = s.json('GET', '/healthz', token=None)
        check(st == 200 and b.get('status') == 'ok' and isinstance(b.get('schema'), int)
              and b['schema'] >= 1,
              '/healthz: 200 {"status":"ok","schema":N} (got %d %r)' % (st, b))
        st, h, _ = s.request('GET', '/metrics', token=None)
        check(st == 200 and h.get('content-type', '').startswith('text/plain'),
              '/metrics: 200 text/plain (got %d %r)' % (st, h.get('content-type')))
        st, m0 = s.metrics()
        s.post([svc('m-1'), svc('m-2'), trn('m-3')], keep=True)
        s.post([svc('m-1')], keep=True)
        s.post([trn('m-4', hours=-1), trn('m-5'), sat('m-6', scale=1)], keep=True)
        s.post([{'kind': 'alien', 'id': 'm-7'}], keep=True)
        st, m1 = s.metrics()

        def d(name, **lab):
            return metric(m1, name, **lab) - metric(m0, name, **lab)
        check(d('mizan_events_accepted_total', kind='service') == 2, 'accepted{service} +2 (got %r)'
              % d('mizan_events_accepted_total', kind='service'))
        check(d('mizan_events_accepted_total', kind='training') == 1, 'accepted{training} +1')
        check(d('mizan_events_duplicate_total', kind='service') == 1, 'duplicate{service} +1 (got %r)'
              % d('mizan_events_duplicate_total', kind='service'))
        check(d('mizan_events_rejected_total', kind='training') == 1, 'rejected{training} +1 (got %r)'
              % d('mizan_events_rejected_total', kind='training'))
        check(d('mizan_events_rejected_total', kind='satisfaction') == 1, 'rejected{satisfaction} +1')
        check(d('mizan_events_rejected_total', kind='unknown') == 1, 'rejected{unknown} +1 (got %r)'
              % d('mizan_events_rejected_total', kind='unknown'))
        check(d('mizan_events_accepted_total', kind='satisfaction') == 0,
              'accepted{satisfaction} unchanged: the rejected batch stored nothing')
        check(d('mizan_http_requests_total', code='200') >= 2, 'requests_total{code=200} moved (got %r)'
              % d('mizan_http_requests_total', code='200'))
        check(d('mizan_http_requests_total', code='400') == 2, 'requests_total{code=400} +2 (got %r)'
              % d('mizan_http_requests_total', code='400'))
        check(metric(m1, 'mizan_db_size_bytes') > 0, 'mizan_db_size_bytes > 0')


def test_nul_in_strings():
    """A NUL inside a JSON string (\\u0000 or a raw 0x00 byte) must not be cut
    off silently: "a\\u0000b" stored as "a" merges distinct ids into one and
    hides the control character from the title check.  The JSON parser would
    cut such a string before any field sees it, so the body is refused as a
    whole, with the byte where the NUL is."""
    with Server(SETTINGS) as s:
        J = 'application/json'
        body = json.dumps([svc('nul-a\u0000x'), svc('nul-a\u0000y')]).encode()
        at = body.index(b'\\u0000') + 1
        st, b = s.post(body, J)
        e = first_error(b)
        check(st == 400 and 'NUL' in e.get('error', '') and ('byte %d' % at) in e.get('error', ''),
              'id containing \\u0000: 400 naming the NUL and its byte %d (got %d %r)' % (at, st, b))
        st, b = s.post(trn('nul-t1', title='ab\u0000\u0001cd'))
        check(st == 400 and 'NUL' in first_error(b).get('error', ''),
              'title containing \\u0000 then a control character: 400 (got %d %r)' % (st, b))
        # A raw 0x00 byte: cut off by the parser as \u0000 would be, so the
        # body is refused as a whole (field ""), naming the NUL.
        raw = json.dumps(trn('nul-t2', title='xNULy')).encode().replace(b'NUL', b'\x00')
        st, b = s.post(raw, J)
        e = first_error(b)
        check(st == 400 and e.get('field') == '' and 'NUL' in e.get('error', ''),
              'raw 0x00 byte inside a title: 400 naming the NUL, field "" (got %d %r)' % (st, b))
        got = stored(s)
        check(got == {}, 'nothing stored from NUL-bearing events (got %r)'
              % {k: v.get('title') for k, v in got.items()})


def test_early_answer_closes():
    """An answer given before the body was read (401, 415, 413 by
    Content-Length) must close the connection: the unread body must never be
    taken for the next request on a kept-alive connection."""
    with Server(dict(SETTINGS, **{'limits.body_bytes': 65536})) as s:
        tok = s.tokens['ingest'].encode()
        smuggled = b'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n'
        cases = ((b'Authorization: Bearer nope\r\nContent-Type: application/json\r\n', smuggled, 401),
                 (b'Authorization: Bearer ' + tok + b'\r\nContent-Type: text/plain\r\n', smuggled, 415),
                 (b'Content-Type: application/json\r\n', smuggled, 401),
                 (b'Authorization: Bearer ' + s.tokens['viewer'].encode() +
                  b'\r\nContent-Type: application/json\r\n', smuggled, 403),
                 (b'Authorization: Bearer ' + tok + b'\r\nContent-Type: application/json\r\n',
                  b' ' * 70000 + smuggled, 413))
        for hdrs, body, code in cases:
            req = (b'POST /api/v1/events HTTP/1.1\r\nHost: x\r\n' + hdrs +
                   b'Content-Length: %d\r\n\r\n' % len(body) + body)
            sk = socket.create_connection(('127.0.0.1', s.port), timeout=5)
            out = b''
            try:
                try:
                    sk.sendall(req)
                except OSError:
                    pass
                while True:
                    c = sk.recv(65536)
                    if not c:
                        break
                    out += c
            except (socket.timeout, ConnectionResetError):
                pass
            finally:
                sk.close()
            check(out.startswith(b'HTTP/1.1 %d' % code), 'early %d answered (got %r)' % (code, out[:30]))
            check(out.count(b'HTTP/1.1 ') == 1 and b'404' not in out,
                  'early %d: the unread body is not served as a second request' % code)
        st, _, _ = s.request('GET', '/healthz', token=None)
        check(st == 200, 'server still serves')


def test_tokens_at_runtime():
    with Server(SETTINGS) as s:
        s.add_token('ingest', 'late')  # added after the start: visible within ~1 s
        ok = wait_until(lambda: s.post(svc('rt-1'), token='late')[0] == 200, 5)
        check(ok, 'a token added while the server runs works within 5 s')
        r = __import__('mizan_test').run_cli('token', 'revoke', 'late', '--config', s.config,
                                             '--db', s.db)
        check(r.returncode == 0, 'token revoke exits 0')
        ok = wait_until(lambda: s.post(svc('rt-2'), token='late')[0] == 401, 5)
        check(ok, 'a revoked token is refused (401) within 5 s')
        check(s.post(svc('rt-3'))[0] == 200, 'other tokens still work')


if __name__ == '__main__':
    main([test_content_types, test_idempotent, test_atomic_rejection, test_auth,
          test_limits_and_types, test_hostile_bodies, test_get_filters, test_metrics_and_health,
          test_nul_in_strings, test_early_answer_closes, test_tokens_at_runtime])
