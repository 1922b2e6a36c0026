"""Shared helpers for Mizan's integration tests (Python 3 standard library only).

Every test starts its own server(s) on an ephemeral loopback port, in its own
temporary directory, and kills only the processes it started.
"""
import atexit
import calendar
import datetime
import http.client
import json as jsonlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import traceback

BIN = os.environ.get('MIZAN_BIN') or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), '..', '..', 'build', 'mizan')
BIN = os.path.abspath(BIN)

# Sanitizer builds are much slower; everything that waits scales with this.
SLOW = float(os.environ.get('MIZAN_TEST_SLOW', '1'))

_failures = []
_checks = 0
_servers = []


def check(cond, msg):
    """Records one assertion; returns cond so callers can branch on it."""
    global _checks
    _checks += 1
    if cond:
        print('  ok   ' + msg, flush=True)
    else:
        print('  FAIL ' + msg, flush=True)
        _failures.append(msg)
    return bool(cond)


def note(msg):
    print('  note ' + msg, flush=True)


def run_cli(*args, cwd=None, timeout=120, input=None):
    """Runs `mizan ARGS`; returns CompletedProcess with text stdout/stderr."""
    r = subprocess.run([BIN] + [str(a) for a in args], cwd=cwd, input=input,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout * SLOW)
    err = r.stderr.decode('utf-8', 'replace')
    if 'Sanitizer' in err or 'runtime error:' in err:
        check(False, 'no sanitizer report from `mizan %s`: %s'
              % (' '.join(str(a) for a in args[:2]), err[-2000:]))
    return r


def lua_value(v):
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, (int, float)):
        return repr(v)
    return '"' + str(v).replace('\\', '\\\\').replace('"', '\\"') + '"'


def write_config(path, settings):
    with open(path, 'w') as f:
        for k, v in (settings or {}).items():
            f.write('%s = %s\n' % (k, lua_value(v)))


class Server:
    """One `mizan serve` in its own temporary directory.

    settings: {'limits.body_bytes': 65536, ...} written as a Lua config.
    Tokens named ingest, viewer and admin are created before the start and
    kept in self.tokens.
    """

    def __init__(self, settings=None, tokens=('ingest', 'viewer', 'admin'), start=True,
                 preexec_fn=None, dir=None, db=None, args=()):
        self.dir = dir or tempfile.mkdtemp(prefix='mizan-it-')
        self.own_dir = dir is None
        self.config = os.path.join(self.dir, 'mizan.lua')
        self.db = db or os.path.join(self.dir, 'mizan.db')
        self.log = os.path.join(self.dir, 'server.log')
        self.settings = dict(settings or {})
        write_config(self.config, self.settings)
        self.proc = None
        self.port = None
        self.conn = None
        self.preexec_fn = preexec_fn
        self.args = list(args)  # more options of `mizan serve`
        self.tokens = {}
        self.starts = 0
        self.last_rc = None
        _servers.append(self)
        try:
            for role in tokens:
                self.add_token(role, role)
            if start:
                self.start()
        except BaseException:
            self.kill()
            _servers.remove(self)
            if self.own_dir and not os.environ.get('MIZAN_TEST_KEEP'):
                shutil.rmtree(self.dir, ignore_errors=True)
            raise

    def add_token(self, role, name):
        r = run_cli('token', 'add', '--role', role, '--name', name, '--config', self.config,
                    '--db', self.db, cwd=self.dir)
        if r.returncode != 0:
            raise RuntimeError('token add failed: %r' % r.stderr)
        self.tokens[name] = r.stdout.decode().strip()
        return self.tokens[name]

    def start(self, preexec_fn=None, timeout=20):
        assert self.proc is None
        pre = preexec_fn if preexec_fn is not None else self.preexec_fn
        self.starts += 1
        logf = open(self.log, 'ab')
        logf.write(b'--- start %d\n' % self.starts)
        logf.flush()
        start_off = logf.tell()
        self.proc = subprocess.Popen(
            [BIN, 'serve', '--config', self.config, '--db', self.db, '--listen', '127.0.0.1:0']
            + self.args,
            cwd=self.dir, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, preexec_fn=pre)
        logf.close()
        deadline = time.monotonic() + timeout * SLOW
        pat = re.compile(rb'listening on http://127\.0\.0\.1:(\d+)')
        while time.monotonic() < deadline:
            with open(self.log, 'rb') as f:
                f.seek(start_off)
                m = pat.search(f.read())
            if m:
                self.port = int(m.group(1))
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        rc = self.proc.poll()
        self.last_rc = rc
        self.kill()
        raise RuntimeError('server did not start (rc %r); log:\n%s' % (rc, self.log_text()[-3000:]))

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def log_text(self):
        try:
            with open(self.log, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    def close_conn(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def connection(self, timeout=30):
        return http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout * SLOW)

    def request(self, method, path, body=b'', headers=None, token='ingest', keep=False,
                timeout=30):
        """Returns (status, headers dict with lower-case names, body bytes)."""
        h = dict(headers or {})
        if token is not None:
            h['Authorization'] = 'Bearer ' + self.tokens.get(token, token)
        if isinstance(body, str):
            body = body.encode()
        if keep:
            if self.conn is None:
                self.conn = self.connection(timeout)
            conn = self.conn
        else:
            conn = self.connection(timeout)
        try:
            conn.request(method, path, body=body if (body or method == 'POST') else None,
                         headers=h)
            resp = conn.getresponse()
            data = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
            return resp.status, hdrs, data
        except Exception:
            if keep:
                self.close_conn()
            raise
        finally:
            if not keep:
                conn.close()

    def json(self, method, path, body=b'', headers=None, token='ingest', **kw):
        """Like request, but the body is JSON-decoded (None when it is not JSON)."""
        st, h, data = self.request(method, path, body, headers, token, **kw)
        try:
            return st, jsonlib.loads(data.decode('utf-8'))
        except ValueError:
            return st, None

    def page(self, method, path, form=None, cookies=None, headers=None):
        """(status, headers, text) of a page request, with cookies and no token."""
        h = dict(headers or {})
        if cookies:
            h['Cookie'] = '; '.join('%s=%s' % kv for kv in cookies.items())
        body = b''
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            h['Content-Type'] = 'application/x-www-form-urlencoded'
        st, hdrs, data = self.request(method, path, body, h, token=None)
        return st, hdrs, data.decode('utf-8', 'replace')

    def post(self, events, ctype='application/json', token='ingest', **kw):
        """Posts a list of dicts (JSON array / NDJSON) or a str/bytes body."""
        if isinstance(events, (list, dict)):
            if ctype.startswith('application/x-ndjson'):
                body = ''.join(jsonlib.dumps(e, ensure_ascii=False) + '\n' for e in events)
            else:
                body = jsonlib.dumps(events, ensure_ascii=False)
        else:
            body = events
        return self.json('POST', '/api/v1/events', body, {'Content-Type': ctype}, token, **kw)

    def get_events(self, query='', token='viewer'):
        return self.json('GET', '/api/v1/events' + ('?' + query if query else ''), token=token)

    def metrics(self):
        st, _, data = self.request('GET', '/metrics', token=None)
        return st, parse_metrics(data.decode())

    def stop(self, timeout=20):
        """SIGTERM, then wait; returns the exit code."""
        self.close_conn()
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        return rc

    def kill(self):
        self.close_conn()
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
        rc = self.proc.wait()
        self.proc = None
        return rc

    def restart(self, **kw):
        self.stop()
        return self.start(**kw)

    def sanitizer_reports(self):
        t = self.log_text()
        return [l for l in t.splitlines()
                if 'ERROR: AddressSanitizer' in l or 'ERROR: LeakSanitizer' in l
                or 'runtime error:' in l]

    def cleanup(self):
        # A clean SIGTERM stop, so a sanitizer build also gets to report leaks.
        if self.proc is not None and self.proc.poll() is None:
            rc = self.stop()
            check(rc == 0, 'server %s exits 0 on SIGTERM (got %r)' % (self.dir, rc))
        self.kill()
        bad = self.sanitizer_reports()
        check(not bad, 'no sanitizer report in the server log of %s%s'
              % (self.dir, (': ' + bad[0]) if bad else ''))
        if bad:
            print(self.log_text()[-6000:])
        if self.own_dir and not os.environ.get('MIZAN_TEST_KEEP'):
            shutil.rmtree(self.dir, ignore_errors=True)
        if self in _servers:
            _servers.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False


def _kill_all():
    for s in list(_servers):
        try:
            s.kill()
        except Exception:
            pass


atexit.register(_kill_all)


def parse_metrics(text):
    """Prometheus text into {'name{labels}': value}.  A sample line that is
    not `name{labels} value` is a failed check, not a line left out."""
    out = {}
    bad = []
    for line in text.splitlines():
        if not line or line.startswith('#'):
            continue
        parts = line.rsplit(' ', 1)
        try:
            out[parts[0]] = float(parts[1])
        except (IndexError, ValueError):
            bad.append(line)
    if bad:
        check(False, '/metrics: every sample line is "name value" (%d are not: %r)'
              % (len(bad), bad[:3]))
    return out


def metric(m, name, **labels):
    """Finds a sample by name and a subset of its labels; 0 when absent."""
    total = None
    for k, v in m.items():
        base, _, rest = k.partition('{')
        if base != name:
            continue
        ok = all(('%s="%s"' % (lk, lv)) in rest for lk, lv in labels.items())
        if ok:
            total = (total or 0) + v
    return total or 0


def api_time_ms(text):
    """A time as the API writes it ('2026-01-05T05:00:00Z', with '.123' when the
    milliseconds are not 0) in milliseconds since the epoch; None stays None."""
    if text is None:
        return None
    m = re.fullmatch(r'(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{3}))?Z', text)
    if not m:
        raise ValueError('not an API time: %r' % (text,))
    y, mo, d, h, mi, sec = (int(x) for x in m.groups()[:6])
    return calendar.timegm((y, mo, d, h, mi, sec)) * 1000 + int(m.group(7) or 0)


def all_events(s, query='', token='viewer'):
    """Every stored event that matches query, in one GET /api/v1/events whose
    limit is the server's limits.query_rows (a test that needs more than the
    default 10000 raises it in its settings).  The answer must be shorter than
    the limit, so that nothing was cut off: otherwise a failed check and None."""
    limit = int(s.settings.get('limits.query_rows', 10000))
    st, body = s.get_events((query + '&' if query else '') + 'limit=%d' % limit, token=token)
    if not check(st == 200 and isinstance(body, dict) and body.get('count') == len(body.get('events', ()))
                 and body['count'] < limit,
                 'GET /api/v1/events?%s: 200 with fewer than limit=%d events (got %r, %r)'
                 % (query, limit, st, (body or {}).get('count') if isinstance(body, dict) else body)):
        return None
    return body['events']


# Asia/Amman is UTC+3 all year (no daylight saving since 2022): a quarter
# starts at 21:00Z on the day before.
AMMAN = 3 * 3600 * 1000


def now_ms():
    return int(time.time() * 1000)


def iso(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime(
        '%Y-%m-%dT%H:%M:%S.%f')[:-3] + 'Z'


def quarter_of(ms):
    """(label, start_ms, end_ms) of the Asia/Amman quarter holding ms."""
    local = datetime.datetime.fromtimestamp((ms + AMMAN) / 1000, datetime.timezone.utc)
    q = (local.month - 1) // 3
    y = local.year

    def start(y, q):
        if q == 4:
            y, q = y + 1, 0
        return calendar.timegm((y, q * 3 + 1, 1, 0, 0, 0)) * 1000 - AMMAN
    return '%d-Q%d' % (y, q + 1), start(y, q), start(y, q + 1)


def previous_quarter(ms):
    return quarter_of(quarter_of(ms)[1] - 1)


def wait_until(pred, timeout, step=0.02):
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def vmrss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return None


def main(tests):
    """Runs each test function, prints every check, exits 1 on any failure."""
    if not os.access(BIN, os.X_OK):
        print('mizan binary not found at %s (set MIZAN_BIN)' % BIN)
        sys.exit(1)
    only = sys.argv[1:]
    t00 = time.monotonic()
    for t in tests:
        if only and t.__name__ not in only:
            continue
        print('== %s' % t.__name__, flush=True)
        t0 = time.monotonic()
        try:
            t()
        except Exception:
            traceback.print_exc()
            check(False, '%s raised an exception' % t.__name__)
        finally:
            _kill_all()
        print('   (%.1f s)' % (time.monotonic() - t0), flush=True)
    print('%d checks, %d failed, %.1f s' % (_checks, len(_failures), time.monotonic() - t00))
    for f in _failures:
        print('FAILED: ' + f)
    sys.exit(1 if _failures else 0)
