"""Mail delivery through the C code (mail_format, the outbox, libcurl) to a real
SMTP server: aiosmtpd (Debian's python3-aiosmtpd) on 127.0.0.1, in a thread of
this test.  The C side is driven by build/tests/unit/mail-send (see
tests/unit/mail_send.c): it formats a message into a store's outbox and runs
one outbox_deliver_due pass (--deliver, at --now) or the outbox thread
(--loop SECONDS).  The outbox is read through GET /api/v1/outbox of a
`mizan serve` on the same database, whose own mail settings deliver nothing
(mail.smtp_url is empty there), never from the file.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time
from email import policy
from email.parser import BytesParser

from mizan_test import BIN, SLOW, Server, api_time_ms, check, main, note, write_config

try:
    from aiosmtpd.controller import Controller
except ImportError:  # pragma: no cover
    Controller = None

DRIVER = os.environ.get('MAIL_SEND') or os.path.join(os.path.dirname(BIN), 'tests', 'unit',
                                                      'mail-send')

SUBJECT_AR = 'تنبيه: مستوى رضا المغتربين'
TEXT_AR = 'انخفض مستوى رضا المغتربين إلى ٦٢٪.\nالهدف: ٨٠٪.'
TEXT_EN = 'Expatriate satisfaction fell to 62%.\nTarget: 80%.'
FROM = 'mizan@mizan.localhost'
FROM_NAME = 'ميزان'


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Handler:
    """Accepts everything except the recipients in `reject` (550)."""

    def __init__(self, reject=()):
        self.reject = set(reject)
        self.messages = []  # (mail_from, rcpt_tos, content bytes)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return '550 no such user'
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return '250 Message accepted for delivery'


class Smtp:
    """An aiosmtpd server on 127.0.0.1:port, in a thread."""

    def __init__(self, port=None, reject=()):
        self.port = port or free_port()
        self.handler = Handler(reject)
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


class Env:
    """A temporary directory with a config and a database, and (once the
    outbox is looked at) a server on that database, with its own directory
    and configuration where mail.smtp_url is empty, so that it never
    delivers: its API shows the outbox."""

    def __init__(self, port, **settings):
        self.dir = tempfile.mkdtemp(prefix='mizan-mail-')
        self.db = os.path.join(self.dir, 'mizan.db')
        self.config = os.path.join(self.dir, 'mizan.lua')
        cfg = {
            'mail.smtp_url': 'smtp://127.0.0.1:%d' % port,
            'mail.tls': 'none',
            'mail.from': FROM,
            'mail.from_name': FROM_NAME,
            'mail.timeout_s': 10,
            'mail.attempts': 4,
            'mail.backoff_s': 1,
            'mail.backoff_max_s': 60,
            'mail.poll_s': 1,
        }
        cfg.update(settings)
        write_config(self.config, cfg)
        self.reader = None  # started at the first look at the outbox

    def run(self, *args, timeout=60):
        r = subprocess.run([DRIVER, '--db', self.db, '--config', self.config] +
                           [str(a) for a in args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout * SLOW)
        out = r.stdout.decode('utf-8', 'replace')
        err = r.stderr.decode('utf-8', 'replace')
        if 'Sanitizer' in err or 'runtime error:' in err:
            check(False, 'no sanitizer report from mail-send %s: %s' % (args, err[-3000:]))
        if r.returncode != 0:
            note('mail-send %s exited %d: %s' % (args, r.returncode, err[-2000:]))
        self.last_err = err
        return r.returncode, out

    def add(self, to='owner@example.org', subject=SUBJECT_AR, lang='ar', *extra):
        rc, out = self.run('--to', to, '--subject', subject, '--lang', lang, *extra)
        check(rc == 0 and 'added' in out, 'message to %s added to the outbox' % to)

    def deliver(self, now=None):
        args = ['--deliver'] + (['--now', now] if now is not None else [])
        rc, out = self.run(*args)
        for line in out.splitlines():
            if line.startswith('sent '):
                return int(line.split()[1])
        check(False, 'mail-send --deliver printed "sent N" (rc %d, %r)' % (rc, out))
        return None

    def rows(self):
        """The outbox, oldest first, from GET /api/v1/outbox; times in ms."""
        if self.reader is None:
            self.reader = Server({'mail.smtp_url': ''}, tokens=('admin',), db=self.db)
        st, body = self.reader.json('GET', '/api/v1/outbox?limit=10000', token='admin')
        if not check(st == 200 and isinstance(body, dict) and isinstance(body.get('messages'), list),
                     'GET /api/v1/outbox: 200 with messages (got %r %r)' % (st, body)):
            return []
        return [{'id': m['id'], 'to_addr': m['to'], 'subject': m['subject'], 'status': m['status'],
                 'attempts': m['attempts'], 'next_attempt': api_time_ms(m['next_attempt']),
                 'last_error': m['last_error'], 'sent_at': api_time_ms(m['sent_at'])}
                for m in sorted(body['messages'], key=lambda m: m['id'])]

    def cleanup(self):
        if self.reader:
            self.reader.cleanup()
        if not os.environ.get('MIZAN_TEST_KEEP'):
            shutil.rmtree(self.dir, ignore_errors=True)


def parse(content):
    return BytesParser(policy=policy.default).parsebytes(content)


def now_ms():
    return int(time.time() * 1000)


# ---- tests ------------------------------------------------------------------------------


def test_arabic_delivered_once():
    smtp = Smtp().start()
    env = Env(smtp.port)
    try:
        env.add('owner@example.org', SUBJECT_AR, 'ar')
        check(env.deliver() == 1, 'one message sent')
        check(len(smtp.messages) == 1, 'the SMTP server got one message (%d)' % len(smtp.messages))
        if not smtp.messages:
            return
        mail_from, rcpts, content = smtp.messages[0]
        check(mail_from == FROM, 'MAIL FROM is %s (%s)' % (FROM, mail_from))
        check(rcpts == ['owner@example.org'], 'RCPT TO the owner (%s)' % rcpts)
        m = parse(content)
        check(m['Subject'] == SUBJECT_AR, 'the Subject decodes to the Arabic text (%r)' % m['Subject'])
        check('=?UTF-8?B?' in content.decode('ascii'), 'the message is ASCII, with encoded-words')
        check(m['From'].addresses[0].display_name == FROM_NAME and
              m['From'].addresses[0].addr_spec == FROM, 'From: %s' % m['From'])
        check(m['To'].addresses[0].display_name == 'مالك المؤشر', 'To: %s' % m['To'])
        check(m['Message-ID'].endswith('@mizan.localhost>'), 'Message-ID %s' % m['Message-ID'])
        check(m['Date'].datetime is not None and m['Date'].datetime.utcoffset().total_seconds() == 0,
              'Date in UTC: %s' % m['Date'])
        check(m.get_content_type() == 'multipart/alternative', 'multipart/alternative')
        text = m.get_body(('plain',))
        html = m.get_body(('html',))
        check(text is not None and text.get_content().replace('\r\n', '\n') == TEXT_AR,
              'the text part decodes to the Arabic text')
        check(html is not None and 'dir="rtl"' in html.get_content() and
              'انخفض مستوى رضا المغتربين' in html.get_content(), 'the html part is rtl Arabic')
        check(not m.get_all('Bcc'), 'no Bcc')
        rows = env.rows()
        check(len(rows) == 1 and rows[0]['status'] == 'sent' and rows[0]['attempts'] == 1 and
              rows[0]['sent_at'], 'the outbox row is sent after one attempt: %s' % rows)
        # again: nothing is due, nothing is sent twice
        check(env.deliver(now_ms() + 86400000) == 0, 'a second pass sends nothing')
        check(len(smtp.messages) == 1, 'still exactly one message at the server')
    finally:
        smtp.stop()
        env.cleanup()


def test_image_and_injection():
    smtp = Smtp().start()
    env = Env(smtp.port)
    try:
        env.add('owner@example.org', 'Alert\r\nBcc: evil@example.com', 'en', '--image')
        check(env.deliver() == 1, 'sent')
        check(len(smtp.messages) == 1 and smtp.messages[0][1] == ['owner@example.org'],
              'one message, to the owner only')
        if not smtp.messages:
            return
        m = parse(smtp.messages[0][2])
        check(not m.get_all('Bcc'), 'no Bcc header')
        check(m['Subject'] == 'Alert Bcc: evil@example.com', 'the Subject is one line: %r' % m['Subject'])
        check(m.get_body(('plain',)).get_content().replace('\r\n', '\n') == TEXT_EN, 'text part')
        related = [p for p in m.walk() if p.get_content_type() == 'multipart/related']
        check(len(related) == 1, 'a multipart/related part')
        imgs = [p for p in m.walk() if p.get_content_type() == 'image/png']
        check(len(imgs) == 1 and imgs[0]['Content-ID'] == '<chart@mizan>' and
              imgs[0].get_content() == b'\x89PNG\r\n\x1a\n-not-really-a-png-',
              'the inline PNG with its Content-ID')
        html = m.get_body(('html',))
        check(html is not None and 'cid:chart@mizan' in html.get_content(), 'the html refers to it')
    finally:
        smtp.stop()
        env.cleanup()


def test_down_then_up():
    port = free_port()
    env = Env(port)
    smtp = Smtp(port)
    try:
        env.add()
        t0 = now_ms()
        check(env.deliver() == 0, 'nothing sent while the server is down')
        rows = env.rows()
        r = rows[0]
        check(r['status'] == 'pending' and r['attempts'] == 1, 'pending, one attempt: %s' % r)
        check(r['last_error'] and 'connect' in r['last_error'].lower(),
              'last_error says why: %r' % r['last_error'])
        check(t0 + 1000 <= r['next_attempt'] <= now_ms() + 1100,
              'next attempt after backoff_s (+ jitter): %d ms' % (r['next_attempt'] - t0))
        smtp.start()
        check(env.deliver(r['next_attempt'] - 200) == 0, 'not retried before next_attempt')
        check(len(smtp.messages) == 0, 'the server got nothing yet')
        check(env.deliver(r['next_attempt'] + 1) == 1, 'delivered on the next pass once due')
        check(env.deliver(r['next_attempt'] + 3600000) == 0, 'and not again')
        check(len(smtp.messages) == 1, 'exactly one message at the server (%d)' % len(smtp.messages))
        r = env.rows()[0]
        check(r['status'] == 'sent' and r['attempts'] == 2, 'sent after two attempts: %s' % r)
        check(smtp.messages and parse(smtp.messages[0][2])['Subject'] == SUBJECT_AR,
              'the right message')
    finally:
        smtp.stop()
        env.cleanup()


def test_permanent_rejection():
    smtp = Smtp(reject=['nobody@example.org']).start()
    env = Env(smtp.port)
    try:
        env.add('nobody@example.org')
        env.add('owner@example.org')
        check(env.deliver() == 1, 'the good one is sent, the rejected one not')
        rows = {r['to_addr']: r for r in env.rows()}
        bad = rows['nobody@example.org']
        check(bad['status'] == 'failed' and bad['attempts'] == 1,
              'a 550 fails the message at once: %s' % bad)
        check(bad['last_error'] and '550' in bad['last_error'], 'last_error: %r' % bad['last_error'])
        check(rows['owner@example.org']['status'] == 'sent', 'the other message is sent')
        check(env.deliver(now_ms() + 86400000) == 0, 'a failed message is not retried')
        bad = [r for r in env.rows() if r['to_addr'] == 'nobody@example.org'][0]
        check(bad['attempts'] == 1 and bad['status'] == 'failed', 'still failed, kept: %s' % bad)
        check([m[1] for m in smtp.messages] == [['owner@example.org']], 'only the good one arrived')
    finally:
        smtp.stop()
        env.cleanup()


def test_attempts_exhausted():
    port = free_port()
    env = Env(port, **{'mail.attempts': 3})
    try:
        env.add()
        now = now_ms()
        for i in range(3):
            check(env.deliver(now + i * 3600000) == 0, 'pass %d: not sent' % (i + 1))
        r = env.rows()[0]
        check(r['status'] == 'failed' and r['attempts'] == 3, 'failed after 3 attempts: %s' % r)
        check(r['last_error'] and 'gave up after 3 attempts' in r['last_error'],
              'last_error: %r' % r['last_error'])
        check(env.deliver(now + 10 * 3600000) == 0, 'a failed message is not retried')
        rows = env.rows()
        check(len(rows) == 1 and rows[0]['attempts'] == 3, 'kept, not deleted, not retried')
    finally:
        env.cleanup()


def test_thread_and_no_server():
    smtp = Smtp().start()
    env = Env(smtp.port)
    try:
        env.add()
        rc, out = env.run('--loop', '2')
        check(rc == 0 and 'looped' in out, 'the outbox thread ran and stopped')
        check(len(smtp.messages) == 1, 'the thread delivered the message (%d)' % len(smtp.messages))
        check(env.rows()[0]['status'] == 'sent', 'marked sent')
    finally:
        smtp.stop()
        env.cleanup()

    env = Env(1, **{'mail.smtp_url': ''})
    try:
        env.add()
        check(env.deliver() == 0, 'no SMTP server configured: nothing sent')
        check('mail.smtp_url is empty' in env.last_err, 'and it says so')
        r = env.rows()[0]
        check(r['status'] == 'pending' and r['attempts'] == 0, 'the message stays pending: %s' % r)
    finally:
        env.cleanup()


if __name__ == '__main__':
    if Controller is None:
        print('python3-aiosmtpd is not installed (tests/deps.sh installs it)')
        raise SystemExit(1)
    if not os.access(DRIVER, os.X_OK):
        print('mail-send not found at %s (set MAIL_SEND)' % DRIVER)
        raise SystemExit(1)
    main([test_arabic_delivered_once, test_image_and_injection, test_down_then_up,
          test_permanent_rejection, test_attempts_exhausted, test_thread_and_no_server])
