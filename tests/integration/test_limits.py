"""Resource limits: a chunked upload past limits.body_bytes is refused and cut
off without the server buffering it; stalled clients are dropped after
limits.timeout_s while others are served."""
import json
import socket
import threading
import time

from mizan_test import SLOW, Server, check, main, metric, note, vmrss_kib

MiB = 1024 * 1024


def vm(pid, key):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    return 0


def chunked_head(tok, path='/api/v1/events', ctype='application/x-ndjson'):
    return ('POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\n'
            'Transfer-Encoding: chunked\r\n\r\n' % (path, tok, ctype)).encode()


def chunk(data):
    return b'%x\r\n' % len(data) + data + b'\r\n'


def read_all(sk, timeout):
    """Reads until the peer closes, a complete response arrived, or timeout."""
    out = b''
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sk.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            c = sk.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            return out, 'reset'
        if not c:
            return out, 'closed'
        out += c
        head, sep, rest = out.partition(b'\r\n\r\n')
        if sep:
            for line in head.split(b'\r\n'):
                if line.lower().startswith(b'content-length:') and \
                        len(rest) >= int(line.split(b':')[1]):
                    return out, 'complete'
    return out, 'open'


def test_chunked_over_limit():
    with Server({'limits.body_bytes': 1 * MiB, 'limits.timeout_s': 10}) as s:
        tok = s.tokens['ingest']
        # A small chunked upload within the limit works.
        lines = b''.join(json.dumps({'kind': 'satisfaction', 'id': 'ch-%d' % i,
                                     'ts': '2026-01-01T00:00:00Z', 'subject': 'service',
                                     'score': 3, 'scale': 5}).encode() + b'\n' for i in range(50))
        sk = socket.create_connection(('127.0.0.1', s.port), timeout=10)
        sk.sendall(chunked_head(tok) + chunk(lines[:1000]) + chunk(lines[1000:]) + b'0\r\n\r\n')
        out, _ = read_all(sk, 10 * SLOW)
        sk.close()
        check(out.startswith(b'HTTP/1.1 200') and b'"accepted":50' in out,
              'chunked upload within the limit: 200 accepted 50 (got %r)' % out[:200])

        # 1 MiB + 1 byte, chunked: 413.
        sk = socket.create_connection(('127.0.0.1', s.port), timeout=10)
        try:
            sk.sendall(chunked_head(tok) + chunk(b' ' * (MiB // 2)) + chunk(b' ' * (MiB // 2 + 1))
                       + b'0\r\n\r\n')
        except OSError:
            pass
        out, _ = read_all(sk, 10 * SLOW)
        sk.close()
        check(out.startswith(b'HTTP/1.1 413'), 'chunked body of 1 MiB + 1 byte: 413 (got %r)' % out[:40])

        # 64 MiB in 64 KiB chunks: refused, cut off, not buffered.
        rss0, hwm0 = vm(s.pid, 'VmRSS'), vm(s.pid, 'VmHWM')
        sk = socket.create_connection(('127.0.0.1', s.port), timeout=10)
        sent = [0]
        err = [None]
        piece = chunk(b'{"kind":"x"}\n' * (65536 // 13) + b'\n' * (65536 % 13))
        total = 64 * MiB

        def sender():
            try:
                sk.sendall(chunked_head(tok))
                while sent[0] < total:
                    sk.sendall(piece)
                    sent[0] += 65536
                sk.sendall(b'0\r\n\r\n')
            except OSError as e:
                err[0] = e
        t0 = time.monotonic()
        th = threading.Thread(target=sender, daemon=True)
        th.start()
        out, how = read_all(sk, 30 * SLOW)
        if how == 'complete':  # the answer came; the server must still hang up
            how = read_all(sk, 10 * SLOW)[1]
        t_resp = time.monotonic() - t0
        th.join(30 * SLOW)
        sk.close()
        rss1, hwm1 = vm(s.pid, 'VmRSS'), vm(s.pid, 'VmHWM')
        note('sent %.1f MiB before the sender stopped (%r), connection %s after %.2f s'
             % (sent[0] / MiB, err[0], how, t_resp))
        note('VmRSS %d -> %d KiB, VmHWM %d -> %d KiB' % (rss0, rss1, hwm0, hwm1))
        check(out.startswith(b'HTTP/1.1 413'), '64 MiB chunked upload: 413 (got %r)' % out[:40])
        check(how in ('closed', 'reset'), 'the server closed the connection (got %s)' % how)
        check(sent[0] < 32 * MiB and err[0] is not None,
              'the upload was cut off well before 64 MiB (sent %.1f MiB)' % (sent[0] / MiB))
        check(rss1 - rss0 < 16 * 1024, 'VmRSS grew by less than 16 MiB (%+d KiB)' % (rss1 - rss0))
        check(hwm1 - hwm0 < 16 * 1024, 'peak RSS grew by less than 16 MiB (%+d KiB)' % (hwm1 - hwm0))
        st, _, _ = s.request('GET', '/healthz', token=None)
        check(st == 200, 'server healthy afterwards')
        st, b = s.json('GET', '/api/v1/events?limit=1000', token='viewer')
        check(st == 200 and b['count'] == 50, 'only the 50 valid chunked events are stored (got %r)'
              % (b or {}).get('count'))


def test_bodies_held_at_once():
    """limits.bodies_bytes bounds the bytes of all the bodies being read at
    once: a body that would pass it is refused with 503 and Retry-After
    before it is read, and accepted again once the others are done."""
    with Server({'limits.body_bytes': 1 * MiB, 'limits.bodies_bytes': 3 * MiB,
                 'limits.timeout_s': 20}) as s:
        tok = s.tokens['ingest']

        def start(length):
            sk = socket.create_connection(('127.0.0.1', s.port), timeout=10)
            sk.sendall(('POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n'
                        'Content-Type: application/x-ndjson\r\nContent-Length: %d\r\n\r\n'
                        % (tok, length)).encode())
            return sk

        holders = [start(1 * MiB), start(1 * MiB)]  # 2 MiB held, not yet sent
        time.sleep(0.3 * SLOW)
        third = start(1 * MiB)
        out, how = read_all(third, 5 * SLOW)
        check(out.startswith(b'HTTP/1.1 503') and b'Retry-After: 1' in out and
              b'limits.bodies_bytes' in out,
              'a third 1 MiB body past 3 MiB held is refused with 503, Retry-After and the '
              'setting named: %r' % out[:300])
        third.close()
        # A small one still fits beside the two.
        st, body = s.post([{'kind': 'satisfaction', 'id': 'held-1', 'ts': '2026-01-01T00:00:00Z',
                            'subject': 'service', 'score': 4, 'scale': 5}])
        check(st == 200 and body['accepted'] == 1, 'a small body fits beside them: %r %r'
              % (st, body))
        for sk in holders:
            sk.close()
        # Once they are gone, a 1 MiB body is read again (then refused as
        # invalid JSON: what matters is that it was read).
        deadline = time.monotonic() + 5 * SLOW
        got = b''
        while time.monotonic() < deadline:
            sk = start(1 * MiB)
            try:
                sk.sendall(b'x' * (1 * MiB))
            except (BrokenPipeError, ConnectionResetError):
                pass  # refused before the body was read: its answer is waiting
            got, how = read_all(sk, 5 * SLOW)
            sk.close()
            if not got.startswith(b'HTTP/1.1 503'):
                break
            time.sleep(0.2)
        check(got.startswith(b'HTTP/1.1 400'),
              'after the others closed, a 1 MiB body is read (400 for its content): %r'
              % got[:200])


def test_slow_clients():
    with Server({'limits.timeout_s': 2, 'server.threads': 2}) as s:
        tok = s.tokens['ingest']
        st, m0 = s.metrics()
        # Half the request headers, then nothing.
        slow = socket.create_connection(('127.0.0.1', s.port), timeout=15)
        slow.sendall(b'POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bea')
        # Headers complete, body trickles then stalls.
        slowbody = socket.create_connection(('127.0.0.1', s.port), timeout=15)
        ev = json.dumps({'kind': 'satisfaction', 'id': 'slow-1', 'ts': '2026-01-01T00:00:00Z',
                         'subject': 'service', 'score': 3, 'scale': 5}).encode()
        slowbody.sendall(('POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n'
                          'Content-Type: application/json\r\nContent-Length: %d\r\n\r\n'
                          % (tok, len(ev) + 10)).encode() + ev)
        # Many more idle connections that never send a byte.
        idle = [socket.create_connection(('127.0.0.1', s.port), timeout=15) for _ in range(20)]
        t0 = time.monotonic()
        results = {}

        def wait_close(name, sk):
            out, how = read_all(sk, 15 * SLOW)
            results[name] = (time.monotonic() - t0, how, out)
        ths = [threading.Thread(target=wait_close, args=('headers', slow), daemon=True),
               threading.Thread(target=wait_close, args=('body', slowbody), daemon=True),
               threading.Thread(target=wait_close, args=('idle0', idle[0]), daemon=True)]
        for t in ths:
            t.start()
        # Meanwhile others are served promptly.
        lat = []
        while time.monotonic() - t0 < 1.8:
            t1 = time.monotonic()
            st, _, _ = s.request('GET', '/healthz', token=None, timeout=5)
            lat.append((st, time.monotonic() - t1))
            time.sleep(0.2)
        check(lat and all(st == 200 for st, _ in lat), 'healthz answered 200 during the stall (%d tries)'
              % len(lat))
        check(max(d for _, d in lat) < 1.0 * SLOW, 'healthz answered promptly during the stall (max %.3f s)'
              % max(d for _, d in lat))
        st, b = s.post({'kind': 'satisfaction', 'id': 'fast-1', 'ts': '2026-01-01T00:00:00Z',
                        'subject': 'service', 'score': 3, 'scale': 5})
        check(st == 200, 'a normal POST is served during the stall (got %d)' % st)
        for t in ths:
            t.join(20 * SLOW)
        for name in ('headers', 'body', 'idle0'):
            dt, how, out = results.get(name, (None, 'missing', b''))
            check(how in ('closed', 'reset') and dt is not None and 1.5 <= dt <= 6.0 * SLOW,
                  'stalled client (%s) disconnected by the server after the 2 s timeout '
                  '(%s after %s s)' % (name, how, None if dt is None else round(dt, 2)))
            check(b'200 OK' not in out, 'stalled client (%s) got no 200' % name)
        for sk in [slow, slowbody] + idle:
            sk.close()
        st, b = s.json('GET', '/api/v1/events?limit=100', token='viewer')
        ids = [e['id'] for e in (b or {}).get('events', [])]
        check(ids == ['fast-1'], 'the stalled body stored nothing (stored %r)' % ids)
        st, m1 = s.metrics()
        d408 = metric(m1, 'mizan_http_requests_total', code='408') - \
            metric(m0, 'mizan_http_requests_total', code='408')
        check(d408 >= 1, 'the timed-out request is counted as 408 in /metrics (+%g)' % d408)


if __name__ == '__main__':
    main([test_chunked_over_limit, test_bodies_held_at_once, test_slow_clients])
