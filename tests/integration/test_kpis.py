#!/usr/bin/env python3
"""The nine KPIs of the strategy against a real `mizan serve`, figures worked
out by hand; the result cache (dirty periods, run numbers); reported values;
the Lua and C satisfaction indicators on demo data; `mizan test-kpi`;
`mizan plugins` with refused plugins.

Every expected figure below is worked out by hand in the comments; the
server must agree to 1e-9.
"""
import json
import math
import os
import re
import shutil
import tempfile

from mizan_test import (BIN, Server, check, main, metric, note, run_cli, wait_until)

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, '..', '..'))
BUILD = os.path.dirname(BIN)
SCRIPTS = os.path.join(SRC, 'scripts')
PLUGINS = os.path.join(BUILD, 'plugins')
TEST_PLUGINS = os.path.join(BUILD, 'tests', 'plugins')
FIXTURES = os.path.join(SRC, 'tests', 'fixtures')
TOL = 1e-9

# ---- the strategy ------------------------------------------------------------------

GOALS = [('G1', 'Services'), ('G2', 'Capacity'), ('G3', 'Development'), ('G4', 'Channels')]

# (id, goal, unit, indicator, params): the shipped nine, with small thresholds
# so that a hand-made fixture of 40 events gives figures (min_answers 3,
# min_requests 2, min_events 2).
KPIS = [
    ('1.1', 'G1', 'services', 'automated_services', {}),
    ('1.2', 'G1', '%', 'satisfaction_share', {'subject': 'service', 'min_answers': 3}),
    ('2.1', 'G2', 'programmes', 'workshops_held', {}),
    ('2.2', 'G2', '%', 'training_roi', {}),
    ('3.1', 'G3', 'projects', 'projects_count', {}),
    ('3.2', 'G3', 'JOD', 'participation_volume', {'rate_USD': 0.709, 'rate_EUR': 0.77}),
    ('4.1', 'G4', 'channels', 'channel_diversity', {'min_events': 2}),
    ('4.2', 'G4', '%', 'channel_effectiveness', {'min_requests': 2}),
    ('4.3', 'G4', '%', 'satisfaction_share', {'subject': 'communication', 'min_answers': 3}),
]


def lua(v):
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return '{ ' + ', '.join(lua(x) for x in v) + ' }'
    if isinstance(v, dict):
        return '{ ' + ', '.join('%s = %s' % (k, lua(x)) for k, x in v.items()) + ' }'
    return '"' + str(v).replace('\\', '\\\\').replace('"', '\\"') + '"'


def strategy_text(kpis):
    out = []
    for gid, title in GOALS:
        out.append('goal { id = %s, title_ar = %s, title_en = %s }'
                   % (lua(gid), lua('هدف ' + gid), lua(title)))
    for kid, goal, unit, ind, params in kpis:
        fields = {'id': kid, 'goal': goal, 'title_ar': 'مؤشر ' + kid, 'title_en': 'KPI ' + kid,
                  'unit': unit, 'period': 'quarter'}
        if ind:
            fields['indicator'] = ind
        if params:
            fields['params'] = params
        out.append('kpi ' + lua(fields))
    return '\n'.join(out) + '\n'


def config_text(dirname, kpis=KPIS, plugin_dirs=(PLUGINS,), script_dirs=(SCRIPTS,),
                slices=('mission', 'service', 'channel'), extra=None):
    """A full configuration in dirname (mizan.lua + strategy.lua); returns its text."""
    strat = os.path.join(dirname, 'strategy.lua')
    with open(strat, 'w') as f:
        f.write(strategy_text(kpis))
    settings = {
        'plugins.dirs': list(plugin_dirs),
        'scripts.dirs': list(script_dirs),
        'evaluation.timezone': 'Asia/Amman',
        'evaluation.slices': list(slices),
        'evaluation.interval_s': 3600,
        'evaluation.after_ingest_s': 0,
    }
    settings.update(extra or {})
    text = ''.join('%s = %s\n' % (k, lua(v)) for k, v in settings.items())
    return text + 'include %s\n' % lua(strat)


def kpi_server(kpis=KPIS, tokens=('ingest', 'viewer', 'admin'), **kw):
    """A server whose configuration holds the given strategy (not yet started)."""
    s = Server(tokens=tokens, start=False)
    with open(s.config, 'w') as f:
        f.write(config_text(s.dir, kpis, **kw))
    return s


# ---- the fixture -----------------------------------------------------------------------
#
# Asia/Amman is UTC+3 all year (since 2022): 2025-Q1 is
# [2024-12-31T21:00Z, 2025-03-31T21:00Z), 2025-Q2 is [2025-03-31T21:00Z,
# 2025-06-30T21:00Z).  s0 (2024-12-31T20:00Z, local 23:00) is in 2024-Q4;
# s1 (2024-12-31T21:30Z, local 2025-01-01 00:30) in 2025-Q1; s7
# (2025-03-31T20:59Z, local 23:59) still in Q1; s9 (2025-03-31T21:30Z,
# local 2025-04-01 00:30) in Q2.  Two missions: AE-AUH and QA-DOH.

def svc(i, ts, mission, service, channel, automated, outcome):
    return {'kind': 'service', 'id': 's%d' % i, 'ts': ts, 'mission': mission, 'country': mission[:2],
            'service': service, 'channel': channel, 'automated': automated, 'outcome': outcome}


def trn(i, ts, mission, hours, participants, cost, benefit=None):
    e = {'kind': 'training', 'id': 't%d' % i, 'ts': ts, 'mission': mission, 'title': 'Workshop %d' % i,
         'hours': hours, 'participants': participants, 'cost': cost}
    if benefit is not None:
        e['benefit'] = benefit
    return e


def prj(i, ts, mission, amount, currency=None, contributors=None):
    e = {'kind': 'project', 'id': 'p%d' % i, 'ts': ts, 'mission': mission, 'sector': 'education',
         'contribution': 'donation', 'amount': amount, 'title': 'Project %d' % i}
    if currency:
        e['currency'] = currency
    if contributors is not None:
        e['contributors'] = contributors
    return e


def sat(i, ts, mission, subject, score, scale):
    return {'kind': 'satisfaction', 'id': 'a%d' % i, 'ts': ts, 'mission': mission,
            'subject': subject, 'score': score, 'scale': scale}


A, Q = 'AE-AUH', 'QA-DOH'
EVENTS = [
    # service: (service, channel, automated, outcome)
    svc(0, '2024-12-31T20:00:00Z', A, 'visa', 'phone', True, 'completed'),              # 2024-Q4
    svc(1, '2024-12-31T21:30:00Z', A, 'passport-renewal', 'online', True, 'completed'),  # Q1
    svc(2, '2025-01-15T08:00:00Z', A, 'passport-renewal', 'in_person', False, 'completed'),
    svc(3, '2025-02-01T09:00:00Z', A, 'visa', 'mobile_app', True, 'rejected'),
    svc(4, '2025-02-10T10:00:00Z', Q, 'visa', 'online', True, 'pending'),
    svc(5, '2025-02-20T10:00:00Z', Q, 'birth-cert', 'phone', False, 'rejected'),
    svc(6, '2025-03-05T10:00:00Z', Q, 'visa', 'online', True, 'cancelled'),
    svc(7, '2025-03-31T20:59:00Z', Q, 'id-card', 'in_person', False, 'completed'),      # Q1 (23:59)
    svc(8, '2025-03-20T10:00:00Z', A, 'birth-cert', 'email', False, 'pending'),
    svc(9, '2025-03-31T21:30:00Z', A, 'id-card', 'online', True, 'completed'),          # Q2
    svc(10, '2025-04-10T10:00:00Z', A, 'id-card', 'online', True, 'completed'),
    svc(11, '2025-05-05T10:00:00Z', A, 'passport-renewal', 'in_person', False, 'rejected'),
    svc(12, '2025-05-20T10:00:00Z', Q, 'visa', 'messaging', False, 'completed'),
    svc(13, '2025-06-01T10:00:00Z', Q, 'birth-cert', 'online', True, 'completed'),
    svc(14, '2025-06-15T10:00:00Z', Q, 'visa', 'messaging', False, 'pending'),
    # training: (hours, participants, cost, benefit)
    trn(1, '2025-01-20T08:00:00Z', A, 6, 10, 1000, 1500),
    trn(2, '2025-02-15T08:00:00Z', A, 3, 8, 500, 400),
    trn(3, '2025-03-10T08:00:00Z', Q, 12, 20, 800),             # no benefit
    trn(4, '2025-04-15T08:00:00Z', Q, 8, 15, 2000, 3000),
    trn(5, '2025-05-15T08:00:00Z', Q, 2, 5, 300),               # no benefit
    trn(6, '2025-06-10T08:00:00Z', A, 4, 12, 0, 200),           # benefit, cost 0
    # project: (amount, currency, contributors)
    prj(1, '2025-01-05T10:00:00Z', A, 1000, 'JOD', 3),
    prj(2, '2025-02-05T10:00:00Z', A, 2000, 'USD'),             # contributors absent: 1
    prj(3, '2025-03-01T10:00:00Z', Q, 500, 'GBP', 2),           # no rate: unconverted
    prj(4, '2025-04-20T10:00:00Z', Q, 10000, 'EUR', 5),
    prj(5, '2025-05-25T10:00:00Z', Q, 300),                     # no currency: JOD
    prj(6, '2025-06-25T10:00:00Z', A, 1500, 'USD', 4),
    # satisfaction: (subject, score, scale)
    sat(1, '2025-01-10T10:00:00Z', A, 'service', 5, 5),
    sat(2, '2025-01-20T10:00:00Z', A, 'service', 4, 5),
    sat(3, '2025-02-11T10:00:00Z', Q, 'service', 3, 5),
    sat(4, '2025-03-12T10:00:00Z', Q, 'service', 10, 10),
    sat(5, '2025-03-15T10:00:00Z', Q, 'service', 1, 5),
    sat(6, '2025-04-05T10:00:00Z', A, 'service', 9, 10),
    sat(7, '2025-05-05T10:00:00Z', A, 'service', 2, 5),
    sat(8, '2025-06-05T10:00:00Z', A, 'service', 5, 5),
    sat(9, '2025-01-25T10:00:00Z', A, 'communication', 5, 5),
    sat(10, '2025-02-25T10:00:00Z', Q, 'communication', 4, 5),
    sat(11, '2025-03-25T10:00:00Z', Q, 'communication', 2, 5),
    sat(12, '2025-03-28T10:00:00Z', Q, 'communication', 7, 7),
    sat(13, '2025-04-25T10:00:00Z', Q, 'communication', 3, 5),
]

# Expected figures: EXPECT[kpi][(period, mission or None)] =
#   (value or None, n, {extra: value}, note or None)   (extras listed are checked;
#   note None means "not checked")
NULL = None
H_6_4 = -(0.6 * math.log(0.6) + 0.4 * math.log(0.4))    # entropy of shares 3/5, 2/5
EXPECT = {
    # 1.1 automated_services: value = distinct services with automated = true;
    #     n = automated events; service_events = all service events.
    '1.1': {
        # Q1 automated: s1 passport-renewal, s3 visa, s4 visa, s6 visa
        #   -> {passport-renewal, visa} = 2; n = 4; service events s1..s8 = 8
        ('2025-Q1', None): (2, 4, {'automated_events': 4, 'service_events': 8}, None),
        # AE-AUH Q1: s1 passport-renewal, s3 visa (s2, s8 manual) -> 2; n 2; 4 events
        ('2025-Q1', A): (2, 2, {'automated_events': 2, 'service_events': 4}, None),
        # QA-DOH Q1: s4 visa, s6 visa (s5, s7 manual) -> {visa} = 1; n 2; 4 events
        ('2025-Q1', Q): (1, 2, {'automated_events': 2, 'service_events': 4}, None),
        # Q2: s9 id-card, s10 id-card, s13 birth-cert -> 2; n 3; s9..s14 = 6 events
        ('2025-Q2', None): (2, 3, {'automated_events': 3, 'service_events': 6}, None),
        ('2025-Q2', A): (1, 2, {'service_events': 3}, None),     # id-card twice -> 1
        ('2025-Q2', Q): (1, 1, {'service_events': 3}, None),     # birth-cert -> 1
        # 2024-Q4: s0 visa -> 1
        ('2024-Q4', None): (1, 1, {'service_events': 1}, None),
        # 2025: {passport-renewal, visa, id-card, birth-cert} = 4; n 4 + 3 = 7; 14 events
        ('2025', None): (4, 7, {'service_events': 14}, None),
        ('2024', None): (1, 1, {}, None),
    },
    # 1.2 satisfaction_share (service), min_answers 3: value = 100 * top-two / answers;
    #     mean = mean of (score - 1) / (scale - 1) * 100.
    '1.2': {
        # Q1: a1 5/5 (top, 100), a2 4/5 (top, 75), a3 3/5 (50), a4 10/10 (top, 100),
        #     a5 1/5 (0) -> 3 / 5 = 60 %; mean 325 / 5 = 65
        ('2025-Q1', None): (60, 5, {'answers': 5, 'mean': 65}, None),
        # AE-AUH Q1: a1, a2 -> 2 answers < 3: no figure; mean (100 + 75) / 2 = 87.5
        ('2025-Q1', A): (NULL, 2, {'answers': 2, 'mean': 87.5}, 'insufficient data'),
        # QA-DOH Q1: a3, a4, a5 -> 1 / 3 = 33.33 %; mean 150 / 3 = 50
        ('2025-Q1', Q): (100 / 3, 3, {'answers': 3, 'mean': 50}, None),
        # Q2: a6 9/10 (top: 9 >= 10 - 1; 8/9 * 100 = 88.89), a7 2/5 (25), a8 5/5 (top, 100)
        #     -> 2 / 3 = 66.67 %; mean (800/9 + 125) / 3
        ('2025-Q2', None): (200 / 3, 3, {'answers': 3, 'mean': (800 / 9 + 125) / 3}, None),
        ('2025-Q2', A): (200 / 3, 3, {'answers': 3}, None),
        # QA-DOH Q2 has only a communication answer (a13): 0 service answers
        ('2025-Q2', Q): (NULL, 0, {'answers': 0}, 'insufficient data'),
        # 2025: 8 answers, 5 in the top two -> 62.5 %; mean (325 + 800/9 + 125) / 8
        ('2025', None): (62.5, 8, {'answers': 8, 'mean': (325 + 800 / 9 + 125) / 8}, None),
    },
    # 2.1 workshops_held: value = n = training events; participants, hours summed.
    '2.1': {
        # Q1: t1, t2, t3 -> 3; participants 10 + 8 + 20 = 38; hours 6 + 3 + 12 = 21
        ('2025-Q1', None): (3, 3, {'participants': 38, 'hours': 21}, None),
        ('2025-Q1', A): (2, 2, {'participants': 18, 'hours': 9}, None),
        ('2025-Q1', Q): (1, 1, {'participants': 20, 'hours': 12}, None),
        # Q2: t4, t5, t6 -> 3; participants 15 + 5 + 12 = 32; hours 8 + 2 + 4 = 14
        ('2025-Q2', None): (3, 3, {'participants': 32, 'hours': 14}, None),
        ('2025-Q2', A): (1, 1, {'participants': 12, 'hours': 4}, None),
        ('2025-Q2', Q): (2, 2, {'participants': 20, 'hours': 10}, None),
        ('2025', None): (6, 6, {'participants': 70, 'hours': 35}, None),
    },
    # 2.2 training_roi over programmes with a benefit:
    #     (sum benefit - sum cost) / sum cost * 100.
    '2.2': {
        # Q1: t1 (1000, 1500), t2 (500, 400); t3 has no benefit -> left out
        #     -> (1900 - 1500) / 1500 * 100 = 26.67; n 2; without 1
        ('2025-Q1', None): (400 / 1500 * 100, 2,
                            {'cost': 1500, 'benefit': 1900, 'programmes_without_benefit': 1}, None),
        ('2025-Q1', A): (400 / 1500 * 100, 2, {'programmes_without_benefit': 0}, None),
        # QA-DOH Q1: only t3, no benefit -> no figure
        ('2025-Q1', Q): (NULL, 0, {'programmes_without_benefit': 1},
                         'no programme with a measured benefit'),
        # Q2: t4 (2000, 3000), t6 (0, 200); t5 no benefit -> (3200 - 2000) / 2000 = 60 %
        ('2025-Q2', None): (60, 2, {'cost': 2000, 'benefit': 3200,
                                    'programmes_without_benefit': 1}, None),
        # AE-AUH Q2: t6 only, cost 0 -> no figure
        ('2025-Q2', A): (NULL, 1, {'cost': 0, 'benefit': 200}, 'no cost recorded'),
        # QA-DOH Q2: t4 -> 1000 / 2000 = 50 %; t5 without
        ('2025-Q2', Q): (50, 1, {'programmes_without_benefit': 1}, None),
        # 2025: cost 3500, benefit 5100 -> 1600 / 3500 * 100 = 45.71 %; n 4; without 2
        ('2025', None): (1600 / 3500 * 100, 4, {'cost': 3500, 'benefit': 5100,
                                                'programmes_without_benefit': 2}, None),
    },
    # 3.1 projects_count: value = n = project events; contributors (absent = 1).
    '3.1': {
        # Q1: p1 (3), p2 (absent: 1), p3 (2) -> 3 projects, 6 contributors
        ('2025-Q1', None): (3, 3, {'contributors': 6}, None),
        ('2025-Q1', A): (2, 2, {'contributors': 4}, None),
        ('2025-Q1', Q): (1, 1, {'contributors': 2}, None),
        # Q2: p4 (5), p5 (1), p6 (4) -> 3, 10
        ('2025-Q2', None): (3, 3, {'contributors': 10}, None),
        ('2025-Q2', A): (1, 1, {'contributors': 4}, None),
        ('2025-Q2', Q): (2, 2, {'contributors': 6}, None),
        ('2025', None): (6, 6, {'contributors': 16}, None),
    },
    # 3.2 participation_volume: sum of amount * rate, JOD; USD 0.709, EUR 0.77;
    #     a currency without a rate (GBP) is left out and counted as unconverted.
    '3.2': {
        # Q1: 1000 JOD + 2000 USD * 0.709 = 1000 + 1418 = 2418; 500 GBP unconverted
        ('2025-Q1', None): (2418, 3, {'projects': 3, 'contributors': 6, 'unconverted': 1}, None),
        ('2025-Q1', A): (2418, 2, {'unconverted': 0}, None),
        ('2025-Q1', Q): (0, 1, {'unconverted': 1}, None),
        # Q2: 10000 EUR * 0.77 = 7700; 300 (no currency: JOD); 1500 USD * 0.709 = 1063.5
        #     -> 9063.5
        ('2025-Q2', None): (9063.5, 3, {'projects': 3, 'contributors': 10, 'unconverted': 0}, None),
        ('2025-Q2', A): (1063.5, 1, {}, None),
        ('2025-Q2', Q): (8000, 2, {}, None),
        ('2025', None): (11481.5, 6, {'unconverted': 1}, None),
    },
    # 4.1 channel_diversity, min_events 2: value = channels with >= 2 service events;
    #     n = service events with a known channel; entropy over the channels in use.
    '4.1': {
        # Q1: online 3 (s1, s4, s6), in_person 2 (s2, s7), mobile_app 1, phone 1, email 1
        #     -> in use: online, in_person = 2; n 8; p = 3/5, 2/5;
        #     H = -(0.6 ln 0.6 + 0.4 ln 0.4) = 0.6730; evenness = H / ln 2 = 0.9710
        ('2025-Q1', None): (2, 8, {'entropy': H_6_4, 'evenness': H_6_4 / math.log(2)}, None),
        # AE-AUH Q1: online, in_person, mobile_app, email once each -> 0 in use
        ('2025-Q1', A): (0, 4, {'entropy': 0, 'evenness': 0}, None),
        # QA-DOH Q1: online 2, phone 1, in_person 1 -> 1 (H 0, evenness 0 as k < 2)
        ('2025-Q1', Q): (1, 4, {'entropy': 0, 'evenness': 0}, None),
        # Q2: online 3 (s9, s10, s13), messaging 2 (s12, s14), in_person 1 -> 2; n 6
        ('2025-Q2', None): (2, 6, {'entropy': H_6_4}, None),
        ('2025-Q2', A): (1, 3, {}, None),     # online 2, in_person 1
        ('2025-Q2', Q): (1, 3, {}, None),     # messaging 2, online 1
        ('2024-Q4', None): (0, 1, {}, None),  # phone 1
        # 2025: online 6, in_person 3, messaging 2, mobile_app 1, phone 1, email 1 -> 3; n 14
        ('2025', None): (3, 14, {}, None),
    },
    # 4.2 channel_effectiveness, min_requests 2: completed / decided * 100, where
    #     pending requests are left out of both counts.
    '4.2': {
        # Q1 decided: s1 c, s2 c, s3 rejected, s5 rejected, s6 cancelled, s7 c
        #     (s4, s8 pending: out) -> 3 / 6 = 50 %; n 6.
        #     Per channel: online 1/2 = 50, in_person 2/2 = 100, mobile_app 0/1 = 0,
        #     phone 0/1 = 0 -> channels 4, unweighted mean 150 / 4 = 37.5,
        #     worst (channels with >= 2 decided: online, in_person) = 50
        ('2025-Q1', None): (50, 6, {'channels': 4, 'unweighted_mean': 37.5,
                                    'worst_channel_rate': 50}, None),
        # AE-AUH Q1: s1 c, s2 c, s3 rejected (s8 pending) -> 2 / 3
        ('2025-Q1', A): (200 / 3, 3, {'channels': 3}, None),
        # QA-DOH Q1: s5 rejected, s6 cancelled, s7 c (s4 pending) -> 1 / 3
        ('2025-Q1', Q): (100 / 3, 3, {'channels': 3}, None),
        # Q2: s9 c, s10 c, s11 rejected, s12 c, s13 c (s14 pending) -> 4 / 5 = 80 %
        ('2025-Q2', None): (80, 5, {}, None),
        ('2025-Q2', A): (200 / 3, 3, {}, None),   # s9 c, s10 c, s11 rejected
        ('2025-Q2', Q): (100, 2, {}, None),       # s12 c, s13 c (s14 pending)
        ('2024-Q4', None): (100, 1, {}, None),    # s0 completed
        # 2025: 7 completed of 11 decided -> 63.64 %
        ('2025', None): (700 / 11, 11, {}, None),
    },
    # 4.3 satisfaction_share (communication), min_answers 3.
    '4.3': {
        # Q1: a9 5/5 (top, 100), a10 4/5 (top, 75), a11 2/5 (25), a12 7/7 (top: 7 >= 6, 100)
        #     -> 3 / 4 = 75 %; mean 300 / 4 = 75
        ('2025-Q1', None): (75, 4, {'answers': 4, 'mean': 75}, None),
        # AE-AUH Q1: a9 only -> 1 answer < 3
        ('2025-Q1', A): (NULL, 1, {'answers': 1, 'mean': 100}, 'insufficient data'),
        # QA-DOH Q1: a10, a11, a12 -> 2 / 3; mean 200 / 3
        ('2025-Q1', Q): (200 / 3, 3, {'answers': 3, 'mean': 200 / 3}, None),
        # Q2: a13 3/5 only -> 1 answer < min_answers 3: value null, "insufficient data"
        ('2025-Q2', None): (NULL, 1, {'answers': 1, 'mean': 50}, 'insufficient data'),
        # 2025: a9..a13 -> 3 / 5 = 60 %; mean (300 + 50) / 5 = 70
        ('2025', None): (60, 5, {'answers': 5, 'mean': 70}, None),
    },
}


def near(got, want):
    if want is None or got is None:
        return got is None and want is None
    return abs(got - want) <= TOL * max(1, abs(want))


def series(s, kpi, period='quarter', by=None, token='viewer'):
    q = '/api/v1/kpis/%s/series?period=%s' % (kpi, period)
    if by:
        q += '&by=' + by
    st, body = s.json('GET', q, token=token)
    if st != 200 or not body:
        return {}
    return {(p['period'], p.get('slice')): p for p in body['points']}


def all_points(s, kpi):
    pts = {}
    for period in ('quarter', 'year'):
        pts.update(series(s, kpi, period))
        pts.update(series(s, kpi, period, by='mission'))
    return pts


def check_point(kpi, key, p, want):
    value, n, extra, note_ = want
    where = 'kpi %s %s%s' % (kpi, key[0], (' mission=' + key[1]) if key[1] else '')
    if not check(p is not None, '%s: a point is there' % where):
        return
    check(near(p['value'], value), '%s: value %r (expected %r)' % (where, p['value'], value))
    check(near(p['n'], n), '%s: n %r (expected %r)' % (where, p['n'], n))
    for k, v in extra.items():
        got = p['extra'].get(k)
        check(near(got, v), '%s: extra %s %r (expected %r)' % (where, k, got, v))
    if note_ is not None:
        check(p['note'] == note_, '%s: note %r (expected %r)' % (where, p['note'], note_))
    elif value is not None:
        check(p['note'] is None, '%s: no note (got %r)' % (where, p['note']))


def eval_runs(s):
    return metric(s.metrics()[1], 'mizan_eval_runs_total')


def wait_eval_after(s, runs_before, what):
    """Waits for an evaluation that completes after runs_before."""
    ok = wait_until(lambda: eval_runs(s) > runs_before, 30, step=0.05)
    check(ok, 'an evaluation completes (%s)' % what)
    return ok


def start_and_load(s):
    s.start()
    # The evaluation at start (empty store) first, so that the batch is
    # evaluated by the next one.
    wait_eval_after(s, 0, 'at start')
    runs = eval_runs(s)
    st, body = s.post(EVENTS)
    check(st == 200 and body == {'accepted': len(EVENTS), 'duplicates': 0},
          'the fixture of %d events is accepted: %r %r' % (len(EVENTS), st, body))
    return wait_eval_after(s, runs, 'after ingest')


def test_nine_kpis_and_cache():
    with kpi_server() as s:
        if not start_and_load(s):
            return  # no evaluation: every figure below would fail the same way
        got = {k[0]: all_points(s, k[0]) for k in KPIS}
        for kpi, table in EXPECT.items():
            for key, want in table.items():
                check_point(kpi, key, got[kpi].get(key), want)
        # Slices: exactly the two missions; nothing in a quarter without events.
        check(set(k for k in got['2.1'] if k[0] == '2025-Q1') ==
              {('2025-Q1', None), ('2025-Q1', A), ('2025-Q1', Q)},
              'kpi 2.1 2025-Q1: the whole and the two missions, nothing else')
        check(('2024-Q4', None) not in got['2.1'], 'kpi 2.1: no point for 2024-Q4 (no training then)')
        # Provenance and run.
        p = got['1.1'][('2025-Q1', None)]
        check(p['provenance'].startswith('plugin ') and 'strategy.so' in p['provenance'],
              'kpi 1.1 provenance names the C plugin: %r' % p['provenance'])
        p = got['2.2'][('2025-Q1', None)]
        check(p['provenance'].startswith('script ') and 'training_roi.lua' in p['provenance'],
              'kpi 2.2 provenance names the script: %r' % p['provenance'])
        check(p['start'] == '2024-12-31T21:00:00Z',
              '2025-Q1 starts at local midnight, 2024-12-31T21:00:00Z: %r' % p['start'])
        # from/to on the series.
        st, body = s.json('GET', '/api/v1/kpis/2.1/series?period=quarter&from=2025-Q2&to=2025-Q2',
                          token='viewer')
        check(st == 200 and [x['period'] for x in body['points']] == ['2025-Q2'],
              'series from=2025-Q2&to=2025-Q2 gives only 2025-Q2: %r' % (body,))
        # Days are the office's (Amman, UTC+3), both inclusive; a period that
        # overlaps the range is in it.
        for rng, want in (('from=2025-04-01&to=2025-06-30', ['2025-Q2']),
                          ('from=2025-05-10&to=2025-05-20', ['2025-Q2']),
                          ('from=2025-03-31&to=2025-04-01', ['2025-Q1', '2025-Q2']),
                          ('from=2025-01-01&to=2025-03-31', ['2025-Q1'])):
            st, body = s.json('GET', '/api/v1/kpis/2.1/series?period=quarter&' + rng,
                              token='viewer')
            check(st == 200 and [x['period'] for x in body['points']] == want,
                  'series %s gives %r: %r %r' % (rng, want, st, body))
        for bad in ('from=2025-02-30', 'from=2025-06-30&to=2025-04-01', 'to=yesterday'):
            st, body = s.json('GET', '/api/v1/kpis/2.1/series?period=quarter&' + bad,
                              token='viewer')
            check(st == 400 and body.get('error'),
                  'series %s: 400 with an error: %r %r' % (bad, st, body))
        st, body = s.json('GET', '/api/v1/kpis/2.1/series?by=planet', token='viewer')
        check(st == 400 and 'by must be' in (body or {}).get('error', ''),
              'series by=planet: 400 naming by: %r %r' % (st, body))
        st, body = s.json('GET', '/api/v1/kpis/2.1/series?period=week', token='viewer')
        check(st == 400, 'series period=week: 400 (%r)' % st)
        st, body = s.json('GET', '/api/v1/kpis/9.9/series', token='viewer')
        check(st == 404, 'series of an unknown KPI: 404 (%r)' % st)
        st, body = s.json('GET', '/api/v1/kpis/2.1/series', token='ingest')
        check(st == 403, 'series with an ingest token: 403 (%r)' % st)

        # Goals and KPIs.
        st, body = s.json('GET', '/api/v1/goals', token='viewer')
        check(st == 200 and [(g['id'], g['kpis']) for g in body['goals']] ==
              [('G1', ['1.1', '1.2']), ('G2', ['2.1', '2.2']), ('G3', ['3.1', '3.2']),
               ('G4', ['4.1', '4.2', '4.3'])], 'GET /api/v1/goals: four goals, nine KPIs')
        st, body = s.json('GET', '/api/v1/kpis', token='viewer')
        ok = st == 200 and len(body['kpis']) == 9
        check(ok, 'GET /api/v1/kpis lists nine KPIs')
        for k in (body or {}).get('kpis', []):
            check(k['error'] is None and k['latest'] and k['latest']['period'] == '2025-Q2',
                  'kpi %s: no error, latest is 2025-Q2 (%r, %r)'
                  % (k['id'], k['error'], (k['latest'] or {}).get('period')))
        st, body = s.json('GET', '/api/v1/kpis/3.2', token='viewer')
        check(st == 200 and body['source'] == 'computed' and body['indicator'] == 'participation_volume'
              and body['params'].get('rate_USD') == '0.709'
              and near(body['latest']['value'], 9063.5),
              'GET /api/v1/kpis/3.2: computed, params, latest 9063.5')

        # ---- the cache: new events in 2025-Q1 only -------------------------------
        before = {k[0]: all_points(s, k[0]) for k in KPIS}
        check(all(before.values()), 'every KPI has points before the Q1 event (%r)'
              % {k: len(v) for k, v in before.items()})
        _, m = s.metrics()
        periods0 = metric(m, 'mizan_eval_periods_recomputed_total')
        runs0 = metric(m, 'mizan_eval_runs_total')
        # One service event mid-quarter (a UTC day inside one local quarter):
        # it dirties 2025-Q1 and 2025 of the three service KPIs (1.1, 4.1,
        # 4.2): 3 x 2 = 6 (KPI, period) pairs, and nothing else.
        new = svc(100, '2025-02-14T10:00:00Z', A, 'consular-letter', 'video_call', True, 'completed')
        st, body = s.post([new])
        check(st == 200 and body['accepted'] == 1, 'the Q1 event is accepted')
        wait_eval_after(s, runs0, 'after the Q1 event')
        after = {k[0]: all_points(s, k[0]) for k in KPIS}
        _, m = s.metrics()
        periods1 = metric(m, 'mizan_eval_periods_recomputed_total')
        check(periods1 - periods0 == 6,
              'mizan_eval_periods_recomputed_total grows by 6 (3 service KPIs x {2025-Q1, 2025}): '
              '%r -> %r' % (periods0, periods1))
        service_kpis = {'1.1', '4.1', '4.2'}
        for kpi in before:
            for key, p in before[kpi].items():
                q = after[kpi].get(key)
                if not q:
                    check(False, 'kpi %s %s still there after the Q1 event' % (kpi, key))
                    continue
                if kpi in service_kpis and key[0] in ('2025-Q1', '2025'):
                    check(q['run'] > p['run'],
                          'kpi %s %s %s recomputed: run %r -> %r' % (kpi, key[0], key[1] or '', p['run'], q['run']))
                else:
                    check(q['run'] == p['run'],
                          'kpi %s %s %s kept: run %r -> %r' % (kpi, key[0], key[1] or '', p['run'], q['run']))
        # 1.1 Q1 now has three automated services: passport-renewal, visa, consular-letter.
        p = after['1.1'][('2025-Q1', None)]
        check(p['value'] == 3 and p['n'] == 5, 'kpi 1.1 2025-Q1 after the new event: 3 services, n 5 (%r, %r)'
              % (p['value'], p['n']))
        # 4.1 Q1: video_call 1 is below min_events 2: still 2 channels, n 9.
        p = after['4.1'][('2025-Q1', None)]
        check(p['value'] == 2 and p['n'] == 9, 'kpi 4.1 2025-Q1: 2 channels, n 9 (%r, %r)' % (p['value'], p['n']))
        # 4.2 Q1: 4 of 7 decided.
        p = after['4.2'][('2025-Q1', None)]
        check(near(p['value'], 400 / 7), 'kpi 4.2 2025-Q1: 4 / 7 (%r)' % p['value'])
        # A new slice (the new service) appears in the service dimension.
        pts = series(s, '1.1', by='service')
        check(('2025-Q1', 'consular-letter') in pts, 'kpi 1.1 by=service shows consular-letter in 2025-Q1')

        # A duplicate changes nothing and dirties nothing.  A batch of only
        # duplicates starts no evaluation, so one training event of 2023 then
        # does: it dirties 2023-Q2 and 2023 of the two training KPIs (2.1,
        # 2.2), 4 (KPI, period) pairs; had the duplicate dirtied its day, the
        # three service KPIs' 2025-Q1 and 2025 would make it 10.
        st, body = s.post([new])
        check(st == 200 and body == {'accepted': 0, 'duplicates': 1},
              'the resent event is a duplicate: %r' % (body,))
        runs1 = eval_runs(s)
        st, body = s.post([trn(100, '2023-05-10T08:00:00Z', A, 1, 1, 10)])
        check(st == 200 and body == {'accepted': 1, 'duplicates': 0}, 'a 2023 training event is accepted')
        wait_eval_after(s, runs1, 'after the 2023 event')
        _, m = s.metrics()
        periods2 = metric(m, 'mizan_eval_periods_recomputed_total')
        check(periods2 - periods1 == 4,
              'a duplicate recomputes nothing: the next evaluation recomputes only the 2023 '
              'event\'s 4 (KPI, period) pairs (%r -> %r)' % (periods1, periods2))
        p = all_points(s, '1.1').get(('2025-Q1', None))
        check(p is not None and p['run'] == after['1.1'][('2025-Q1', None)]['run'],
              'kpi 1.1 2025-Q1 kept its run after the duplicate')


def test_many_kpis():
    """300 copies of the shipped KPIs beside them (309 in all, more than
    fits in 8 bits): every copy's figures, whole and by mission, quarters
    and years, equal its original's to the digit, and the scorecard shows
    every KPI with the same figure as its original."""
    copies = []
    for i in range(300):
        kid, goal, unit, ind, params = KPIS[i % len(KPIS)]
        copies.append(('c%d' % i, goal, unit, ind, params))
    dash = {'server.dashboards': os.path.join(SRC, 'dashboards')}
    with kpi_server(KPIS + copies, extra=dash) as s:
        if not start_and_load(s):
            return
        st, body = s.json('GET', '/api/v1/kpis', token='viewer')
        ok = st == 200 and len(body['kpis']) == len(KPIS) + len(copies)
        check(ok, 'GET /api/v1/kpis lists %d KPIs (%r)' % (len(KPIS) + len(copies), st))
        errors = [k['id'] for k in (body or {}).get('kpis', []) if k['error'] is not None]
        check(not errors, 'no KPI failed (%r)' % errors[:5])
        orig = {k[0]: all_points(s, k[0]) for k in KPIS}
        bad = []
        for i, (cid, _, _, _, _) in enumerate(copies):
            want = orig[KPIS[i % len(KPIS)][0]]
            got = all_points(s, cid)
            strip = lambda pts: {k: (p['value'], p['n'], p['extra'], p['note']) for k, p in pts.items()}
            if strip(got) != strip(want) or not got:
                bad.append(cid)
        check(not bad, 'every copy\'s figures equal its original\'s to the digit (%d differ: %r)'
              % (len(bad), bad[:5]))
        st, h, _ = s.request('POST', '/login', ('token=' + s.tokens['viewer']).encode(),
                             {'Content-Type': 'application/x-www-form-urlencoded'}, token=None)
        m = re.search(r'mizan_session=[^;,]+', h.get('set-cookie') or '')
        cookie = m.group(0) if m else ''
        st, _, t = s.request('GET', '/?period=2025-Q1', b'', {'Cookie': cookie}, token=None)
        t = t.decode('utf-8', 'replace')
        shown = dict(re.findall(r'data-kpi="([^"]+)".*?data-value="([^"]*)"', t, re.S))
        check(st == 200 and len(shown) == len(KPIS) + len(copies),
              'the scorecard shows all %d KPIs (%r, %d shown)' % (len(KPIS) + len(copies), st, len(shown)))
        differ = [cid for i, (cid, *_r) in enumerate(copies)
                  if shown.get(cid) != shown.get(KPIS[i % len(KPIS)][0])]
        figures = sum(1 for v in shown.values() if v)
        check(not differ and figures >= len(copies),
              'each copy shows its original\'s figure on the scorecard (%d with a figure; %r differ)'
              % (figures, differ[:5]))


def test_reported_values():
    kpis = KPIS + [('5.1', 'G4', 'stories', None, {})]
    with kpi_server(kpis, tokens=('ingest', 'viewer', 'admin')) as s:
        s.add_token('editor', 'alice')
        s.start()

        def post(kpi, body, token='alice'):
            if not isinstance(body, (str, bytes)):
                body = json.dumps(body)
            return s.json('POST', '/api/v1/kpis/%s/values' % kpi, body,
                          {'Content-Type': 'application/json'}, token=token)

        st, body = post('5.1', {'period': '2025-Q1', 'value': 42.5, 'note': 'from the quarterly report'})
        check(st == 201 and body.get('who') == 'alice' and body.get('period') == '2025-Q1'
              and body.get('value') == 42.5,
              'an editor posts a value: 201, who = alice: %r %r' % (st, body))
        st, body = post('5.1', {'period': '2025-Q1', 'value': 7, 'dim': 'mission', 'slice': A})
        check(st == 201 and body.get('dim') == 'mission' and body.get('slice') == A,
              'a value for a slice: 201 %r' % (body,))
        st, body = post('5.1', {'period': '2025-Q2', 'value': 10})
        check(st == 201, 'a value for 2025-Q2: 201')
        st, body = post('5.1', {'period': '2025-Q2', 'value': 12, 'note': 'corrected'})
        check(st == 201, 'a second value for 2025-Q2: 201')
        st, body = post('5.1', {'period': '2025', 'value': 99}, token='admin')
        check(st == 201 and body.get('who') == 'admin', 'an admin posts a value too: %r %r' % (st, body))

        pts = series(s, '5.1')
        p = pts.get(('2025-Q1', None))
        check(p is not None and p['value'] == 42.5 and p['provenance'] == 'reported by alice'
              and p['note'] == 'from the quarterly report',
              'series shows 2025-Q1 = 42.5, "reported by alice", the note: %r' % (p,))
        p = pts.get(('2025-Q2', None))
        check(p is not None and p['value'] == 12 and p['note'] == 'corrected',
              'the newest value of 2025-Q2 wins (12): %r' % (p,))
        check(set(pts) == {('2025-Q1', None), ('2025-Q2', None)},
              'the quarter series has two points, no slices: %r' % sorted(pts))
        pts = series(s, '5.1', by='mission')
        p = pts.get(('2025-Q1', A))
        check(p is not None and p['value'] == 7 and p['provenance'] == 'reported by alice',
              'series by=mission shows AE-AUH 2025-Q1 = 7: %r' % (p,))
        pts = series(s, '5.1', period='year')
        p = pts.get(('2025', None))
        check(p is not None and p['value'] == 99 and p['provenance'] == 'reported by admin',
              'the year series shows 2025 = 99 by admin: %r' % (p,))
        st, body = s.json('GET', '/api/v1/kpis/5.1', token='viewer')
        check(st == 200 and body['source'] == 'reported' and body['indicator'] is None
              and body['latest'] and body['latest']['value'] == 12 and body['error'] is None,
              'GET /api/v1/kpis/5.1: reported, latest 12: %r' % (body,))

        # The edges of the contract: keys twice, keys of no reported value (a
        # negative n), a \u0000 and a direction override left open in a note.
        for raw, what, word in (
                ('{"period":"2025-Q3","value":1,"value":2}', 'value twice', 'value'),
                ('{"period":"2025-Q3","value":1,"n":-5}', 'a negative n', 'n '),
                ('{"period":"2025-Q3","value":1,"note":"a\\u0000b"}', 'a \\u0000 in the note', 'note'),
                ('{"period":"2025-Q3","value":1,"note":"a\u202eb"}', 'a U+202E left open', 'note'),
                ('{"period":"2025-Q3","value":1,"note":"a\u2028b"}', 'a U+2028', 'note')):
            st, body = post('5.1', raw)
            check(st == 400 and word in (body or {}).get('error', ''),
                  'a reported value with %s: 400 naming %r (got %r %r)' % (what, word, st, body))
        st, body = post('5.1', {'period': '2024-Q4', 'value': 1,
                                'note': '\u0645\u0644\u0627\u062d\u0638\u0629\u200f \u061c2025\u200e'})
        check(st == 201, 'a note with the marks of pasted Arabic text (U+200E, U+200F, U+061C): 201 (%r %r)'
              % (st, body))
        check(('2025-Q3', None) not in series(s, '5.1'), 'the refused values stored nothing')

        # Roles.
        for tok, want in (('viewer', 403), ('ingest', 403), ('nonsense-token', 401)):
            st, body = post('5.1', {'period': '2025-Q3', 'value': 1}, token=tok)
            check(st == want, 'a %s token posting a value: %d (got %r %r)' % (tok, want, st, body))
        st, _ = s.json('POST', '/api/v1/kpis/5.1/values', json.dumps({'period': '2025-Q3', 'value': 1}),
                       {'Content-Type': 'application/json'}, token=None)
        check(st == 401, 'no token: 401 (%r)' % st)
        check(('2025-Q3', None) not in series(s, '5.1'), 'refused posts stored nothing')

        # A computed KPI, an unknown one.
        st, body = post('1.1', {'period': '2025-Q1', 'value': 3})
        check(st == 409 and 'computed' in (body or {}).get('error', ''),
              'a value for computed KPI 1.1: 409 %r' % (body,))
        st, body = post('9.9', {'period': '2025-Q1', 'value': 3})
        check(st == 404, 'a value for an unknown KPI: 404 (%r)' % st)

        # Bad bodies: 400 naming the problem.
        bad = [
            ('not json', 'body must be a JSON object'),
            ('[1, 2]', 'body must be a JSON object'),
            ({'value': 3}, 'period must be'),
            ({'period': '2025-Q5', 'value': 3}, 'period must be'),
            ({'period': 'last quarter', 'value': 3}, 'period must be'),
            ({'period': '2025-Q1'}, 'value must be'),
            ({'period': '2025-Q1', 'value': '3'}, 'value must be'),
            ({'period': '2025-Q1', 'value': None}, 'value must be'),
            ('{"period": "2025-Q1", "value": 1e999}', 'value must be'),
            ({'period': '2025-Q1', 'value': 3, 'dim': 'mission'}, 'dim and slice'),
            ({'period': '2025-Q1', 'value': 3, 'slice': A}, 'dim and slice'),
            ({'period': '2025-Q1', 'value': 3, 'dim': 'planet', 'slice': 'mars'}, 'dim must be'),
            ({'period': '2025-Q1', 'value': 3, 'dim': 'mission', 'slice': ''}, 'slice must be'),
            ({'period': '2025-Q1', 'value': 3, 'dim': 'mission', 'slice': 'x' * 65}, 'slice must be'),
            ({'period': '2025-Q1', 'value': 3, 'note': 5}, 'note must be'),
            ({'period': '2025-Q1', 'value': 3, 'note': 'n' * 2001}, 'note must be'),
            (b'{"period": "2025-Q1", "value": 3, "note": "\xff"}', 'UTF-8'),
        ]
        for b, want in bad:
            st, body = post('5.1', b)
            check(st == 400 and want in (body or {}).get('error', ''),
                  'bad value body %.60r: 400 naming "%s" (got %r %r)' % (b, want, st, body))
        pts = series(s, '5.1')
        check(pts.get(('2025-Q1', None), {}).get('value') == 42.5, 'bad bodies changed nothing')


def eval_json(cfg, db, label, by=None, full=False):
    args = ['eval', '--json', '--config', cfg, '--db', db, '--period', label]
    if by:
        args += ['--by', by]
    if full:
        args.append('--full')
    r = run_cli(*args, timeout=300)
    if r.returncode != 0:
        check(False, 'mizan eval %s %s exits 0 (got %d): %s'
              % (label, by or '', r.returncode, r.stderr.decode()[-500:]))
        return []
    return json.loads(r.stdout.decode())


def test_c_vs_lua():
    d = tempfile.mkdtemp(prefix='mizan-it-')
    try:
        db = os.path.join(d, 'demo.db')
        params = {'subject': 'service', 'min_answers': 5}
        kpis = [('L', 'G1', '%', 'satisfaction_share', params),
                ('C', 'G1', '%', 'satisfaction_share_c', params),
                ('LC', 'G4', '%', 'satisfaction_share', {'subject': 'communication', 'min_answers': 5}),
                ('CC', 'G4', '%', 'satisfaction_share_c', {'subject': 'communication', 'min_answers': 5})]
        cfg = os.path.join(d, 'mizan.lua')
        with open(cfg, 'w') as f:
            f.write(config_text(d, kpis))
        r = run_cli('demo', '--events', 50000, '--seed', 3, '--from', '2024-01-01', '--to', '2025-12-31',
                    '--load', '--config', cfg, '--db', db, timeout=300)
        if not check(r.returncode == 0, 'mizan demo --load of 50000 events: %r' % r.stderr[-300:]):
            return
        # Evaluate everything once; without --period each KPI's latest period.
        r = run_cli('eval', '--full', '--json', '--config', cfg, '--db', db, timeout=300)
        rows = json.loads(r.stdout.decode()) if r.returncode == 0 else []
        check(r.returncode == 0 and sorted((x['kpi'], x['period']) for x in rows) ==
              [('C', '2025-Q4'), ('CC', '2025-Q4'), ('L', '2025-Q4'), ('LC', '2025-Q4')],
              'mizan eval --full --json: the four KPIs, latest period 2025-Q4: %r'
              % [(x['kpi'], x['period']) for x in rows])
        # BUG (cli_kpi.c cmd_eval): --period is parsed before load_config()
        # sets the time zone (period_set_zone), so the label is read in the
        # process's zone: with TZ=UTC, 2025-Q1 is taken to start at
        # 2025-01-01T00:00Z instead of 2024-12-31T21:00Z and nothing matches.
        saved = os.environ.get('TZ')
        try:
            os.environ['TZ'] = 'UTC'
            rows = eval_json(cfg, db, '2025-Q1')
            check(len(rows) == 4, 'mizan eval --period 2025-Q1 (process TZ=UTC, evaluation.timezone '
                  'Asia/Amman) prints the four KPIs (got %d rows)' % len(rows))
            # Work around it for the comparison: the process's zone = the configured one.
            os.environ['TZ'] = 'Asia/Amman'
            labels = ['%d-Q%d' % (y, q) for y in (2024, 2025) for q in (1, 2, 3, 4)] + ['2024', '2025']
            compared = 0
            nulls = 0
            for by in (None, 'mission'):
                for label in labels:
                    rows = eval_json(cfg, db, label, by)
                    compared, nulls = compare_rows(rows, label, by, compared, nulls)
        finally:
            if saved is None:
                os.environ.pop('TZ', None)
            else:
                os.environ['TZ'] = saved
        note('%d figures compared, %d of them null (insufficient data)' % (compared, nulls))
        check(compared > 40 * 10, 'many figures were compared (%d)' % compared)
    finally:
        if not os.environ.get('MIZAN_TEST_KEEP'):
            shutil.rmtree(d, ignore_errors=True)


def compare_rows(rows, label, by, compared, nulls):
    got = {}
    for row in rows:
        got[(row['kpi'], row.get('slice'))] = row
    for lua_id, c_id in (('L', 'C'), ('LC', 'CC')):
        keys = sorted(k[1] or '' for k in got if k[0] == lua_id)
        ckeys = sorted(k[1] or '' for k in got if k[0] == c_id)
        if not check(keys == ckeys and keys,
                     '%s %s %s: the same rows from Lua and C (%d, %d)'
                     % (label, by or 'whole', lua_id, len(keys), len(ckeys))):
            continue
        bad = []
        for sl in keys:
            a = got[(lua_id, sl or None)]
            b = got[(c_id, sl or None)]
            compared += 1
            nulls += a['value'] is None
            if not near(a['value'], b['value']):
                bad.append('%s value %r vs %r' % (sl, a['value'], b['value']))
            if not near(a['n'], b['n']):
                bad.append('%s n %r vs %r' % (sl, a['n'], b['n']))
            for x in ('mean', 'answers'):
                if not near(a['extra'].get(x), b['extra'].get(x)):
                    bad.append('%s %s %r vs %r' % (sl, x, a['extra'].get(x), b['extra'].get(x)))
            if a.get('note') != b.get('note'):
                bad.append('%s note %r vs %r' % (sl, a.get('note'), b.get('note')))
        check(not bad, '%s %s %s: Lua and C agree on %d rows within 1e-9%s'
              % (label, by or 'whole', lua_id, len(keys), ('; ' + '; '.join(bad[:5])) if bad else ''))
    return compared, nulls


def test_test_kpi():
    d = tempfile.mkdtemp(prefix='mizan-it-')
    try:
        cfg = os.path.join(d, 'mizan.lua')
        with open(cfg, 'w') as f:
            f.write(config_text(d))
        good = os.path.join(FIXTURES, 'training_roi.json')
        r = run_cli('test-kpi', '--config', cfg, good, cwd=d)
        out = r.stdout.decode()
        check(r.returncode == 0 and 'ok ' in out and '8 expectations, 0 failed' in out,
              'test-kpi training_roi.json passes: rc %d, %r' % (r.returncode, out))
        with open(good) as f:
            fx = json.load(f)
        # One wrong expectation: 2025-Q1 is 26.67 %, not 30.
        fx['expect'][0]['value'] = 30
        bad = os.path.join(d, 'training_roi_wrong.json')
        with open(bad, 'w') as f:
            json.dump(fx, f)
        r = run_cli('test-kpi', '--config', cfg, bad, cwd=d)
        out = r.stdout.decode()
        check(r.returncode == 4, 'test-kpi with a wrong expectation exits 4 (got %d)' % r.returncode)
        check('2025-Q1' in out and 'value 26.66666667, expected 30' in out and '1 failed' in out,
              'the failure names the period and both values: %r' % out)
        # Both files at once: 4.
        r = run_cli('test-kpi', '--config', cfg, good, bad, cwd=d)
        check(r.returncode == 4, 'a passing and a failing fixture together: exit 4 (got %d)' % r.returncode)
        # A slice expectation with no figure.
        fx['expect'] = [{'period': '2025-Q3', 'value': 1}]
        with open(bad, 'w') as f:
            json.dump(fx, f)
        r = run_cli('test-kpi', '--config', cfg, bad, cwd=d)
        out = r.stdout.decode()
        check(r.returncode == 4 and '2025-Q3' in out and 'no figure' in out,
              'an expectation for a period without events fails naming it: %d %r' % (r.returncode, out))
        # An indicator that fails on the fixture's events must be reported, not crash.
        failing = {'indicator': 'training_roi_failing',
                   'events': [{'kind': 'training', 'id': 'x1', 'ts': '2025-02-01T10:00:00Z', 'title': 'x',
                               'hours': 1, 'participants': 1, 'cost': 1, 'benefit': 2}],
                   'expect': [{'period': '2025-Q1', 'value': 100}]}
        script = os.path.join(d, 'failing.lua')
        with open(script, 'w') as f:
            f.write('return { name = "training_roi_failing", unit = "%", kinds = { "training" },\n'
                    '  description = "fails on every event", fields = { "cost" },\n'
                    '  init = function() return {} end,\n'
                    '  step = function(s, cost) error("cannot read cost", 0) end,\n'
                    '  final = function(s) return 1, 1 end }\n')
        failing['load'] = [script]
        fpath = os.path.join(d, 'failing.json')
        with open(fpath, 'w') as f:
            json.dump(failing, f)
        r = run_cli('test-kpi', '--config', cfg, fpath, cwd=d)
        out = r.stdout.decode() + r.stderr.decode()
        # The README: test-kpi "prints ok or one FAIL line per wrong figure,
        # and exits 0 or 4"; 1 is for a fixture it could not run at all.
        check(r.returncode == 4 and 'FAIL' in out and 'cannot read cost' in out,
              'test-kpi with an indicator that fails: FAIL with the reason, exit 4, '
              'no crash (got rc %d): %r' % (r.returncode, out[-400:]))
    finally:
        if not os.environ.get('MIZAN_TEST_KEEP'):
            shutil.rmtree(d, ignore_errors=True)


def test_plugins_refused():
    d = tempfile.mkdtemp(prefix='mizan-it-')
    try:
        # Plugin folders add to the defaults: the shipped plugins load too,
        # so the missing indicator is one that nothing provides.
        kpis = [('1.1', 'G1', 'services', 'no_such_indicator', {}),
                ('9.1', 'G1', 'count', 'good_count', {})]
        cfg = os.path.join(d, 'mizan.lua')
        with open(cfg, 'w') as f:
            f.write(config_text(d, kpis[1:], plugin_dirs=(TEST_PLUGINS,)))
        r = run_cli('plugins', '--config', cfg, cwd=d)
        check(r.returncode == 1, 'mizan plugins with refused files (every KPI served) exits 1 (got %d)'
              % r.returncode)
        with open(cfg, 'w') as f:
            f.write(config_text(d, kpis, plugin_dirs=(TEST_PLUGINS,)))
        r = run_cli('plugins', '--config', cfg, cwd=d)
        out = r.stdout.decode()
        check(r.returncode == 3, 'mizan plugins with a KPI whose indicator is missing exits 3 (got %d)'
              % r.returncode)
        check('automated_services' in out.split('refused:')[0],
              'plugins.dirs adds to the default folders: the shipped plugin loads too')
        refused = out.split('refused:', 1)[1] if 'refused:' in out else ''
        lines = {}
        for line in refused.splitlines():
            line = line.strip()
            if ': ' in line and line.split(': ', 1)[0].endswith('.so'):
                lines[os.path.basename(line.split(': ', 1)[0])] = line.split(': ', 1)[1]
        for f, why in (('bad_abi.so', 'plugin ABI 3; this host speaks 1 to 2'),
                       ('no_entry.so', 'no mizan_plugin_entry symbol'),
                       ('init_fails.so', 'plugin init failed: cannot reach the registry')):
            check(why in lines.get(f, ''), 'plugins: %s refused with "%s" (got %r)' % (f, why, lines.get(f)))
        for f in ('good.so', 'segv.so', 'hang.so'):
            check(f not in lines and f in out.split('refused:')[0], 'plugins: %s loads' % f)
        check("strategy.lua:%d: kpi 1.1: no indicator named 'no_such_indicator' is loaded"
              % (len(GOALS) + 1) in out,
              'plugins names the KPI whose indicator is not loaded, with its file and line: %r' % out)

        with Server(start=False, tokens=('ingest', 'viewer')) as s:
            with open(s.config, 'w') as f:
                f.write(config_text(s.dir, kpis, plugin_dirs=(TEST_PLUGINS,)))
            s.start()
            st, body = s.json('GET', '/healthz', token=None)
            check(st == 200 and body.get('status') == 'ok', 'healthz with refused plugins: 200')
            runs = eval_runs(s)
            st, body = s.post([svc(1, '2025-02-01T10:00:00Z', A, 'visa', 'online', True, 'completed')])
            check(st == 200 and body['accepted'] == 1, 'events are accepted: %r %r' % (st, body))
            if not wait_eval_after(s, runs, 'with refused plugins'):
                return
            ok = wait_until(lambda: (series(s, '9.1').get(('2025-Q1', None)) or {}).get('value') is not None, 10)
            check(ok, 'the good plugin computes kpi 9.1 beside the refused ones')
            st, body = s.json('GET', '/api/v1/kpis/1.1', token='viewer')
            check(st == 200 and "no indicator named 'no_such_indicator'" in (body.get('error') or ''),
                  'kpi 1.1 shows the error of its missing indicator: %r' % (body or {}).get('error'))
            st, body = s.json('GET', '/healthz', token=None)
            check(st == 200, 'healthz still 200')
    finally:
        if not os.environ.get('MIZAN_TEST_KEEP'):
            shutil.rmtree(d, ignore_errors=True)


if __name__ == '__main__':
    main([test_nine_kpis_and_cache, test_many_kpis, test_reported_values, test_c_vs_lua, test_test_kpi,
          test_plugins_refused])
