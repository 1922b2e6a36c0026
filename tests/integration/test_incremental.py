#!/usr/bin/env python3
"""Incremental evaluation against the reference, as a property: random
batches of events in random order (evenings, 21:00 to 24:00 UTC, of days
around quarter boundaries and Amman's 2022 clock changes: daylight time from
2022-02-24, UTC+3 for good from 2022-10-28; late events for a quarter whose
successor already has figures) are posted in several batches to a real
`mizan serve` that evaluates between them; then every shipped KPI, for its
quarters and years, whole and by every slice, as the API gives it equals
`mizan eval --reference` (counts exactly, other figures within 1e-12
relative).
MIZAN_TEST_SEED picks the seed (default: three fixed ones).
"""
import json
import math
import os
import random

from mizan_test import (BIN, SLOW, Server, check, main, metric, note, run_cli, wait_until)

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, '..', '..'))
PLUGINS = os.path.join(os.path.dirname(BIN), 'plugins')
DIMS = ['mission', 'country', 'service', 'channel', 'sex', 'age_group']
COUNTS = {'1.1', '2.1', '3.1', '4.1'}
REL = 1e-12

# Evenings (UTC) where the local day, the quarter or the offset changes.
HOT_DAYS = ['2021-12-31', '2022-01-01', '2022-02-22', '2022-02-23', '2022-02-24',
            '2022-03-31', '2022-04-01', '2022-06-30', '2022-09-30', '2022-10-01',
            '2022-10-27', '2022-10-28', '2022-12-31']
MISSIONS = ['AE-AUH', 'DE-BER', 'SA-RUH', 'QA-DOH']
SERVICES = ['passport-renewal', 'visa', 'civil-registry']
CHANNELS = ['in_person', 'online', 'mobile_app', 'phone']


def ts_of(rng, day):
    if day is None:
        d = rng.randrange(0, 730)
        y, rest = (2021, d) if d < 365 else (2022, d - 365)
        import datetime
        day = (datetime.date(y, 1, 1) + datetime.timedelta(days=rest)).isoformat()
        h = rng.randrange(0, 24)
    else:
        h = rng.randrange(21, 24)
    return '%sT%02d:%02d:%02d.%03dZ' % (day, h, rng.randrange(60), rng.randrange(60),
                                       rng.randrange(1000))


def event(rng, i, seed, ts):
    m = rng.choice(MISSIONS)
    e = {'id': 'p%d-%d' % (seed, i), 'ts': ts, 'mission': m}
    if rng.random() < 0.7:
        e['country'] = m[:2]
    if rng.random() < 0.5:
        e['sex'] = rng.choice(['female', 'male'])
    if rng.random() < 0.5:
        e['age_group'] = rng.choice(['18-24', '25-34', '60+'])
    k = rng.random()
    if k < 0.45:
        e.update(kind='service', service=rng.choice(SERVICES), channel=rng.choice(CHANNELS),
                 automated=rng.random() < 0.4,
                 outcome=rng.choice(['completed', 'completed', 'pending', 'rejected']))
        if rng.random() < 0.5:
            e['duration_min'] = round(rng.uniform(1, 90), 3)
    elif k < 0.6:
        e.update(kind='training', title='T%d' % i, programme=rng.choice(['a', 'b']),
                 hours=rng.randrange(1, 30), participants=rng.randrange(1, 40),
                 cost=round(rng.uniform(10, 5000), 2))
        if rng.random() < 0.6:
            e['benefit'] = round(rng.uniform(0, 9000), 2)
    elif k < 0.75:
        e.update(kind='project', title='P%d' % i, sector='education',
                 contribution=rng.choice(['donation', 'investment']),
                 amount=round(rng.uniform(100, 1e6), 2),
                 currency=rng.choice(['JOD', 'USD', 'EUR', 'GBP']),
                 contributors=rng.randrange(1, 20))
    else:
        scale = rng.choice([5, 10])
        e.update(kind='satisfaction', subject=rng.choice(['service', 'communication']),
                 score=rng.randrange(1, scale + 1), scale=scale, channel=rng.choice(CHANNELS))
        if rng.random() < 0.5:
            e['service'] = rng.choice(SERVICES)
    return e


def close(a, b, exact):
    if a is None or b is None:
        return a is None and b is None
    if exact:
        return a == b
    return a == b or abs(a - b) <= REL * max(abs(a), abs(b))


def same(api, ref, kpi):
    if not close(api.get('value'), ref.get('value'), kpi in COUNTS):
        return 'value %r != %r' % (api.get('value'), ref.get('value'))
    if api.get('n') != ref.get('n'):
        return 'n %r != %r' % (api.get('n'), ref.get('n'))
    ea, er = api.get('extra') or {}, ref.get('extra') or {}
    if set(ea) != set(er):
        return 'extra names %r != %r' % (sorted(ea), sorted(er))
    for k in ea:
        if not close(ea[k], er[k], False):
            return 'extra %s %r != %r' % (k, ea[k], er[k])
    if (api.get('note') or None) != (ref.get('note') or None):
        return 'note %r != %r' % (api.get('note'), ref.get('note'))
    return None


def reference(s, period, by, years):
    rows = {}
    labels = years if period == 'year' else [None]
    for label in labels:
        args = ['eval', '--reference', '--json', '--config', s.config, '--db', s.db]
        if label:
            args += ['--period', label]
        if by:
            args += ['--by', by]
        r = run_cli(*args, cwd=s.dir)
        if not check(r.returncode == 0, 'eval --reference %s %s runs' % (label or '', by or '')):
            note(r.stderr.decode()[-1000:])
            continue
        for x in json.loads(r.stdout):
            rows[(x['kpi'], x['period'], x.get('slice', ''))] = x
    return rows


def api_rows(s, kpis, period, by):
    rows = {}
    for k in kpis:
        q = '/api/v1/kpis/%s/series?period=%s&from=2021-01-01&to=2023-12-31' % (k, period)
        if by:
            q += '&by=' + by
        st, body = s.json('GET', q, token='viewer')
        for p in body.get('points', []):
            rows[(k, p['period'], p.get('slice', ''))] = p
    return rows


def compare(what, got, ref):
    bad = []
    for key in sorted(set(got) | set(ref)):
        if key not in got or key not in ref:
            bad.append('%s %s only in %s' % (what, key, 'the API' if key in got else 'the reference'))
            continue
        d = same(got[key], ref[key], key[0])
        if d:
            bad.append('%s %s: %s' % (what, key, d))
    check(not bad, '%s: %d figures equal the reference%s' % (what, len(ref),
                                                             ': ' + '; '.join(bad[:5]) if bad else ''))


def eval_runs(s):
    return metric(s.metrics()[1], 'mizan_eval_runs_total') or 0


def settle(s):
    """Waits for two evaluations to complete after now: the second one
    started after the first ended, so after every batch posted before."""
    r0 = eval_runs(s)
    ok = wait_until(lambda: eval_runs(s) >= r0 + 2, 60 * SLOW, step=0.05)
    check(ok, 'the server evaluated after the batch')


def one_seed(seed):
    rng = random.Random(seed)
    note('seed %d' % seed)
    settings = {
        'plugins.dirs': None, 'evaluation.timezone': 'Asia/Amman',
        'evaluation.after_ingest_s': 0, 'evaluation.interval_s': 1,
        'evaluation.min_answers': 3, 'limits.future_s': 86400,
    }
    s = Server(start=False)
    try:
        with open(s.config, 'w') as f:
            f.write('plugins.dirs = { "%s" }\n' % PLUGINS)
            f.write('scripts.dirs = { "%s" }\n' % os.path.join(SRC, 'scripts'))
            for k, v in settings.items():
                if v is not None:
                    f.write('%s = %s\n' % (k, json.dumps(v) if isinstance(v, str) else v))
            f.write('include "%s"\n' % os.path.join(SRC, 'config', 'strategy.lua'))
        s.start()
        n = 0
        # Batch 0 lands in the later quarters; later batches reach back.
        plans = [('2022-07-01', 250), (None, 200), ('2022-01-01', 150), (None, 150), (None, 100)]
        for b, (since, size) in enumerate(plans):
            evs = []
            for _ in range(size):
                day = rng.choice(HOT_DAYS) if rng.random() < 0.6 else None
                t = ts_of(rng, day)
                if since and t[:10] < since:
                    t = ts_of(rng, rng.choice([d for d in HOT_DAYS if d >= since]))
                evs.append(event(rng, n, seed, t))
                n += 1
            rng.shuffle(evs)
            if b == 3:
                evs += evs[:5]  # duplicates: stored once
            st, body = s.post(evs)
            check(st == 200, 'batch %d of %d events stored' % (b, len(evs)))
            settle(s)
        body = s.json('GET', '/api/v1/kpis', token='viewer')[1]
        kpis = [x['id'] for x in (body.get('kpis', []) if isinstance(body, dict) else body)
                if x.get('indicator')]
        check(len(kpis) == 9, 'the nine shipped KPIs are computed')
        for by in [None] + DIMS:
            compare('quarters by %s' % (by or 'the whole'), api_rows(s, kpis, 'quarter', by),
                    reference(s, 'quarter', by, None))
            compare('years by %s' % (by or 'the whole'), api_rows(s, kpis, 'year', by),
                    reference(s, 'year', by, ['2021', '2022', '2023']))
    finally:
        s.cleanup()


def test_property():
    seeds = os.environ.get('MIZAN_TEST_SEED')
    for seed in ([int(seeds)] if seeds else [1, 2, 3]):
        one_seed(seed)


if __name__ == '__main__':
    main([test_property])
