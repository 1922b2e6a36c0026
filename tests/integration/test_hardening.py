"""The hardening issue's findings over HTTP on loopback: sessions that die
with their token or user, sign-in limits, a deadline per request, response
headers, /metrics behind a token.  Each server is small: no demo data."""
import json
import os
import re
import socket
import sys
import time
import urllib.parse

from mizan_test import SLOW, Server, check, main, note, run_cli, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, '..', '..'))
PASSWORD = 'correct horse battery staple'


def pw_hash():
    r = run_cli('passwd', input=(PASSWORD + '\n').encode())
    return r.stdout.decode().strip()


def dash_server(extra=None, users=None, tokens=('ingest', 'viewer', 'admin'), start=True):
    settings = {'server.dashboards': os.path.join(SRC, 'dashboards'), 'charts.gnuplot': ''}
    settings.update(extra or {})
    srv = Server(settings, tokens=tokens, start=False)
    if users:
        with open(srv.config, 'a') as f:
            f.write('auth.users = {\n')
            for name, role, h in users:
                f.write('  { name = "%s", role = "%s", password = "%s" },\n' % (name, role, h))
            f.write('}\n')
    if start:
        srv.start()
    return srv




def sign_in(srv, form, headers=None):
    st, h, _ = srv.page('POST', '/login', form, headers=headers)
    c = h.get('set-cookie', '')
    m = re.search(r'mizan_session=([^;]+)', c)
    if st != 303 or not m:
        return None, st, h
    return {'mizan_session': m.group(1)}, st, h


def signed_in(srv, cookies):
    st, h, _ = srv.page('GET', '/alerts', cookies=cookies)
    return st == 200


# ---- (3) a session lives no longer than its token or user ------------------------------

def test_session_revoked():
    srv = dash_server(users=[('ed', 'editor', pw_hash())], start=False)
    try:
        srv.add_token('viewer', 'visitor')
        srv.start()
        cookies, st, _ = sign_in(srv, {'token': srv.tokens['visitor']})
        check(cookies is not None and signed_in(srv, cookies),
              'a session opened with the token "visitor" reads /alerts (%s)' % st)
        r = run_cli('token', 'revoke', 'visitor', '--config', srv.config, '--db', srv.db,
                    cwd=srv.dir)
        check(r.returncode == 0, '`mizan token revoke visitor`: %r' % r.stderr[-200:])
        t0 = time.monotonic()
        dead = wait_until(lambda: not signed_in(srv, cookies), 3)
        took = time.monotonic() - t0
        check(dead and took <= 2.0 * SLOW,
              'the session is dead within 2 s of the revocation (%.2f s)' % took)
        check(not signed_in(srv, cookies), 'and stays dead')

        # A user taken out of auth.users: the session dies at the next start.
        ed, st, _ = sign_in(srv, {'user': 'ed', 'password': PASSWORD})
        check(ed is not None and signed_in(srv, ed), 'the user "ed" signs in (%s)' % st)
        srv.stop()
        with open(srv.config) as f:
            text = f.read()
        with open(srv.config, 'w') as f:
            f.write(text[:text.index('auth.users')])
        srv.start()
        check(not signed_in(srv, ed), 'the session of "ed" is dead once "ed" is not a user')
    finally:
        srv.cleanup()



# ---- (5) sign-in limits ------------------------------------------------------------------

def test_signin_limits():
    srv = dash_server(users=[('ed', 'editor', pw_hash()), ('vi', 'viewer', pw_hash())])
    try:
        # Wrong passwords for "ed" from one address: a few are verified (401),
        # then 429 with Retry-After, at once and without hashing.
        codes, retry = [], None
        t0 = time.monotonic()
        for _ in range(12):
            st, h, _ = srv.page('POST', '/login', {'user': 'ed', 'password': 'wrong'})
            codes.append(st)
            if st == 429:
                retry = h.get('retry-after')
        took = time.monotonic() - t0
        check(codes[:5] == [401] * 5, 'the first five wrong passwords: 401 (%r)' % codes)
        check(429 in codes and retry and retry.isdigit() and int(retry) >= 1,
              'then 429 with Retry-After (%r, Retry-After %r)' % (codes, retry))
        # The account is held too, even with the right password, until the wait is over.
        st, h, _ = srv.page('POST', '/login', {'user': 'ed', 'password': PASSWORD})
        check(st == 429 and h.get('retry-after'), 'the right password during the wait: 429 (%s)' % st)
        note_t = 'twelve refused sign-ins took %.2f s' % took
        check(took < 10 * SLOW, note_t)
        # /metrics counts them.
        st, _, text = srv.request('GET', '/metrics', token=None)
        check(st == 200 and 'code="429"' in text.decode(), '/metrics counts the 429s')
        # After the wait, the right password works again.
        wait = int(retry or 1)
        time.sleep(min(wait, 4) + 0.2)
        deadline = time.monotonic() + 10 * SLOW
        st = None
        while time.monotonic() < deadline:
            cookies, st, h = sign_in(srv, {'user': 'ed', 'password': PASSWORD})
            if st != 429:
                break
            time.sleep(min(int(h.get('retry-after', '1')), 4))
        check(st == 303, 'after the wait, the right password signs in (%s)' % st)
    finally:
        srv.cleanup()



# ---- (8) a deadline for each request ------------------------------------------------------

def test_request_deadline():
    """Clients from several addresses trickle a request one byte a second:
    each connection is closed once limits.request_s (3 s) has passed, though
    the idle timeout (30 s) never runs out."""
    srv = Server({'limits.request_s': 3, 'limits.timeout_s': 30})
    try:
        socks = []
        for i in range(4):
            sk = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sk.bind(('127.0.0.%d' % (i + 2), 0))
            sk.connect(('127.0.0.1', srv.port))
            sk.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n')
            sk.setblocking(False)
            socks.append(sk)
        t0 = time.monotonic()
        closed = {}
        trickle = b'X-Slow: ' + b'a' * 100
        k = 0
        while len(closed) < len(socks) and time.monotonic() - t0 < 12 * SLOW:
            for i, sk in enumerate(socks):
                if i in closed:
                    continue
                try:
                    sk.send(trickle[k % len(trickle):k % len(trickle) + 1])
                    data = sk.recv(4096)
                    if data == b'':
                        closed[i] = time.monotonic() - t0
                except BlockingIOError:
                    pass
                except OSError:
                    closed[i] = time.monotonic() - t0
            k += 1
            time.sleep(1)
        for sk in socks:
            sk.close()
        check(len(closed) == len(socks) and max(closed.values()) < 6 * SLOW,
              'every trickling connection is closed within limits.request_s (3 s) and a beat '
              '(%s)' % ', '.join('%.1f s' % v for v in sorted(closed.values())))
        # A request that arrives whole in time is served, also the next one on a
        # kept connection after a pause (its clock starts when the first ends).
        st, _, _ = srv.request('GET', '/healthz', token=None, keep=True)
        time.sleep(1.0)
        st2, _, _ = srv.request('GET', '/healthz', token=None, keep=True)
        check(st == 200 and st2 == 200, 'whole requests are served (%s, %s)' % (st, st2))
        srv.close_conn()
    finally:
        srv.cleanup()



# ---- headers, Secure cookies, /metrics behind a token -------------------------------------

def test_headers_and_metrics():
    srv = dash_server({'server.metrics_role': 'viewer'})
    try:
        for path, tok in (('/api/v1/goals', 'viewer'), ('/api/v1/nothing', 'viewer'),
                          ('/healthz', None), ('/api/v1/goals', None)):
            st, h, _ = srv.request('GET', path, token=tok)
            check(h.get('x-content-type-options') == 'nosniff',
                  '%s (%s): X-Content-Type-Options: nosniff (%r)' % (path, st, h.get('x-content-type-options')))
        st, _, _ = srv.request('GET', '/metrics', token=None)
        check(st == 401, 'server.metrics_role = "viewer": /metrics without a token is 401 (%s)' % st)
        st, _, text = srv.request('GET', '/metrics', token='viewer')
        check(st == 200 and b'mizan_http_requests_total' in text, 'and 200 with a viewer token (%s)' % st)
        st, _, _ = srv.request('GET', '/metrics', token='ingest')
        check(st == 403, 'and 403 with an ingest token (%s)' % st)
        # Plain HTTP, no trusted proxy: no Secure; X-Forwarded-Proto from anyone is not believed.
        _, _, h = sign_in(srv, {'token': srv.tokens['viewer']}, {'X-Forwarded-Proto': 'https'})
        c = h.get('set-cookie', '')
        check('mizan_session=' in c and 'Secure' not in c,
              'an untrusted X-Forwarded-Proto: https gives no Secure cookie: %s' % c)
    finally:
        srv.cleanup()
    # The default: /metrics open, as before.
    srv = dash_server()
    srv.stop()
    with open(srv.config, 'a') as f:
        f.write('server.trusted_proxies = { "127.0.0.1" }\n')
    srv.start()
    try:
        st, _, _ = srv.request('GET', '/metrics', token=None)
        check(st == 200, 'by default /metrics needs no token (%s)' % st)
        _, _, h = sign_in(srv, {'token': srv.tokens['viewer']}, {'X-Forwarded-Proto': 'https'})
        c = h.get('set-cookie', '')
        check('Secure' in c, 'X-Forwarded-Proto: https from a trusted proxy: the cookie is Secure: %s' % c)
        _, _, h = sign_in(srv, {'token': srv.tokens['viewer']})
        c = h.get('set-cookie', '')
        check('mizan_session=' in c and 'Secure' not in c, 'without it, over plain HTTP, not: %s' % c)
    finally:
        srv.cleanup()
    srv = dash_server({'server.base_url': 'https://mizan.example.org'})
    try:
        _, _, h = sign_in(srv, {'token': srv.tokens['viewer']})
        c = h.get('set-cookie', '')
        check('Secure' in c, 'server.base_url https: the cookie is Secure: %s' % c)
    finally:
        srv.cleanup()


if __name__ == '__main__':
    main([test_session_revoked, test_signin_limits, test_request_deadline, test_headers_and_metrics])
