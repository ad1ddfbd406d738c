#!/usr/bin/python3
"""Differential test: ditto's answers against Knot DNS's, query by query.

    /usr/bin/python3 diff_knot.py DITTO_ZONE [ZONES_DIR] [-v] [--show TEXT]...
    /usr/bin/python3 diff_knot.py DITTO_ZONE --signed [-v] [--keep] [--show TEXT]...

Knot DNS (knotd from Debian) serves the zones of ZONES_DIR (default:
../zones next to this script) on 127.0.0.1 at a free port; the same zones
are compiled with `ditto-zone compile` and answered by one `ditto-zone
answer` process through a pipe. Every query of the corpus goes to both and
the responses are compared:

  - dropped or not, rcode (extended rcode included), header flags
    (QR opcode AA TC RD RA Z AD CD), ID;
  - the question section byte for byte (and ditto's against the query's:
    the question is echoed as asked, case included);
  - the answer section as RRsets (order-insensitive, names
    case-insensitive, TTLs compared); for ANY (RFC 8482) ditto must give
    as many RRsets per name as Knot, each one Knot has at that name and
    type (both servers pick one RRset, maybe not the same);
  - the authority and additional sections as RRsets, and the OPT record.
    RRSIGs form one RRset per owner and covered type (RFC 4035 3.1.1),
    shown as RRSIG(TYPE); a record repeated in a section (RFC 2181 5:
    duplicates are suppressed) and, without DO, an RRSIG, NSEC or NSEC3
    record not asked for (RFC 4035 3.1, RFC 3225) fail the query.

--signed: instead of ZONES_DIR, zones generated and signed at start by
signzones.py (fresh keys; NSEC, NSEC3 with salt and iterations, NSEC3
without either, NSEC3 opt-out, a signed child), served presigned by Knot,
and the DO corpus of build_signed_corpus(): RRSIGs, NSEC/NSEC3 denial of
existence for NXDOMAIN, NODATA, empty non-terminals, wildcards and
wildcard NODATA, referrals with DS or the proof of no DS (opt-out
included), DS at cuts, DNSKEY/NSEC3PARAM, NSEC3 owner names, names chosen
by their NSEC3 hash; at EDNS 1232, 4096 and 512 with DO, and without DO.
QTYPE=RRSIG has its own rule in compare(), like ANY. The summary line is
then "diff_knot_signed: N passed, M failed".

A difference in ID, opcode, rcode, question or answer fails the query. A
difference in drop, flags, authority, additional or OPT fails it too
unless it matches an entry of EXPLAINED below: the deliberate
differences, each with its reason (a flag difference only for the CD bit,
which Knot clears against RFC 4035, and TC for QTYPE=RRSIG; an answer
difference only when both truncated a DO response). Output: one line per
difference of a failed query ("FAIL [query] what differs"), the explained
differences counted, then "diff_knot: N passed, M failed" (one per query);
exit status 1 if any failed. -v prints every query and every explained
difference; --show TEXT prints both responses of the matching queries.
Only loopback addresses are used; knotd is always stopped at the end.
"""
import argparse
import atexit
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import dns.exception
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype

HERE = os.path.dirname(os.path.abspath(__file__))
IDENTITY = 'ditto-test'
ZONES = [  # (apex, file) -- the zones both servers load
    ('example.com.', 'example.com.zone'),
    ('child.example.com.', 'child.example.com.zone'),
    ('example.net.', 'example.net.zone'),
]
DEADLINE = 50.0         # seconds for the whole corpus (the test must end < 60 s)
KNOT_TIMEOUT = 0.5      # seconds to wait for a UDP answer from knotd (loopback)
DITTO_TIMEOUT = 5.0

# Header flag bits
QR, AA, TC, RD, RA, Z, AD, CD = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080, 0x0040, 0x0020, 0x0010
FLAG_NAMES = [(QR, 'qr'), (AA, 'aa'), (TC, 'tc'), (RD, 'rd'), (RA, 'ra'),
              (Z, 'z'), (AD, 'ad'), (CD, 'cd')]
OPT, NS, SOA, ANY = 41, 2, 6, 255
DS, RRSIG, NSEC, DNSKEY, NSEC3, NSEC3PARAM = 43, 46, 47, 48, 50, 51
DNSSEC_TYPES = (RRSIG, NSEC, NSEC3)
NSID_CODE = 3
EDE_CODE = 15


# ---------------------------------------------------------------------------
# Deliberate differences between ditto and Knot, each with its reason.
#
# A difference is a dict: section ('drop', 'flags', 'answer', 'authority',
# 'additional', 'opt'), kind ('missing' = Knot has it, ditto not; 'extra' =
# ditto has it, Knot not; 'ttl'; 'rdata'; 'dup' = same records, another
# count; a flag name; an OPT field name), rtype, covered (the type an RRSIG covers, else 0), name, detail.
# An entry explains a difference when section, kind and rtype match (None
# matches any) and its predicate holds. Differences in ID, opcode, rcode
# and question are never explained here, nor in the answer (ANY and
# QTYPE=RRSIG have their own rules in compare()) except records missing
# from a truncated DO answer ('truncated'); nor are flags, except CD,
# which Knot gets wrong by the RFC, and TC for QTYPE=RRSIG ('rrsig-query').
# ---------------------------------------------------------------------------
def _positive(case, knot, ditto):
    return knot['rcode'] == 0 and bool(knot['answer'])


def _only_knot_ede(knot, ditto):
    """Knot's OPT options are ditto's plus Extended DNS Error options."""
    k = [o for o in knot['opt']['options'] if o[0] != EDE_CODE]
    return k == ditto['opt']['options'] and len(k) < len(knot['opt']['options'])


def _formerr_for_malformed(case, knot, ditto):
    """ditto answered FORMERR, echoing the ID, with no records at all."""
    try:
        d = parse_response(ditto)
    except ParseError:
        return False
    return (d['rcode'] == 1 and d['flags'] & QR and d['id'] == case.wire_id()
            and d['counts'][1:3] == (0, 0) and not d['additional'])


EXPLAINED = [
    {
        'id': 'minimal-responses',
        'section': 'authority', 'kind': 'missing', 'rtype': NS,
        'when': lambda case, knot, ditto, d: _positive(case, knot, ditto)
        and d['name'] == knot_zone_of(case),
        'reason': 'ditto gives minimal responses: no NS RRset of the zone in '
                  'the authority section of a positive answer (README, '
                  'Answering). (Knot 3.2 is minimal too, so this is unused '
                  'unless Knot changes.)',
    },
    {
        'id': 'minimal-responses-additional',
        'section': 'additional', 'kind': 'missing', 'rtype': None,
        'when': lambda case, knot, ditto, d: _positive(case, knot, ditto)
        and d['name'] in knot_ns_targets_in_authority(knot, case),
        'reason': 'ditto gives minimal responses: with no NS in the authority '
                  'section there is no additional data for those NS names.',
    },
    {
        'id': 'any-other-rrset',
        'section': 'additional', 'kind': None, 'rtype': None,
        'when': lambda case, knot, ditto, d: case.qtype == ANY
        and ditto.get('any_other_rrset', False),
        'reason': 'ANY (RFC 8482): ditto and Knot picked different RRsets of '
                  'the name; additional data follows the RRset picked.',
    },
    {
        'id': 'cd-copied',
        'section': 'flags', 'kind': 'cd', 'rtype': None,
        'when': lambda case, knot, ditto, d: case.wire_flags() & CD
        and ditto['flags'] & CD and not knot['flags'] & CD,
        'reason': 'RFC 4035 3.1.6 and 3.2.2: the name server MUST copy the CD '
                  'bit from the query into the response; ditto does, Knot '
                  'clears it on purpose (knot/src/knot/nameserver/'
                  'process_query.c, prepare_answer: knot_wire_clear_cd).',
    },
    {
        'id': 'no-ede',
        'section': 'opt', 'kind': 'options', 'rtype': None,
        'when': lambda case, knot, ditto, d: _only_knot_ede(knot, ditto),
        'reason': 'Extended DNS Errors (RFC 8914) are optional and not among '
                  'the RFCs ditto implements (DESIGN.md, Answering); Knot '
                  'adds EDE 20 (Not Authoritative) to REFUSED.',
    },
    {
        'id': 'rrsig-query',
        'section': None, 'kind': None, 'rtype': None,
        'when': lambda case, knot, ditto, d: case.qtype == RRSIG
        and ditto['flags'] & TC and not ditto['answer'] and not knot['flags'] & TC
        and d['section'] in ('flags', 'authority', 'additional')
        and (d['section'] != 'flags' or d['kind'] == 'tc'),
        'reason': 'QTYPE=RRSIG: Knot answers the RRSIGs of one covered type '
                  '(knot/nameserver/internet.c, put_answer: "Put some RRSIGs, '
                  'not all", as for ANY); ditto answers every RRSIG at the '
                  'name, as RFC 4035 allows (none limits them), and sets TC '
                  '(with no records) when they do not fit. Each RRSIG ditto gives is checked '
                  'against Knot\'s for its covered type, with that RRset\'s TTL.',
    },
    {
        'id': 'additional-space',
        'section': 'additional', 'kind': None, 'rtype': None,
        'when': lambda case, knot, ditto, d: case.edns_do() and _no_room(case, knot, ditto, d),
        'reason': 'DO, and the additional section did not fit in the payload '
                  'size: Knot writes every address RRset before any of their '
                  'RRSIGs, ditto each RRset with its RRSIGs, so they keep '
                  'different records. Additional data is optional and without '
                  'TC (RFC 4035 3.1.1: "MUST NOT set the TC bit solely because '
                  'these RRSIG RRs didn\'t fit"); every record counted here '
                  'would not have fitted in the other\'s response.',
    },
    {
        'id': 'truncated',
        'section': None, 'kind': None, 'rtype': None,
        'when': lambda case, knot, ditto, d: case.edns_do()
        and knot['flags'] & TC and ditto['flags'] & TC
        and (d['section'] in ('authority', 'additional')
             or (d['section'] == 'answer' and d['kind'] == 'missing')),
        'reason': 'DO, and both set TC: the client must ignore the records and '
                  'retry over TCP (RFC 2181 9, RFC 4035 3.1.1). Knot keeps what '
                  'fitted, ditto may send no records at all; in the answer '
                  'section ditto may only lack records of Knot\'s.',
    },
    {
        'id': 'formerr-not-drop',
        'section': 'drop', 'kind': 'knot-dropped', 'rtype': None,
        'when': lambda case, knot, ditto, d: _formerr_for_malformed(case, knot, ditto),
        'reason': 'DESIGN.md: "Malformed input gets FORMERR or is dropped". '
                  'Knot drops a query whose question it cannot parse (or '
                  'with QDCOUNT other than 1); ditto answers FORMERR with '
                  'the ID and no records, which the design allows.',
    },
]


def _rrset_size(rs):
    """Wire size of an RRset, its owner compressed to a pointer."""
    return sum(2 + 10 + len(rd.to_wire()) for rd in rs['rdata'])


def _no_room(case, knot, ditto, d):
    """An additional RRset one server has and the other has not, that
    would not have fitted into the other's response."""
    key = (d['name'], d['rtype'], 1, d.get('covered', 0))
    if d['kind'] == 'missing':       # Knot has it: was ditto's response full?
        return ditto['size'] + _rrset_size(knot['additional'][key]) > case.limit
    if d['kind'] == 'extra':         # ditto has it: was Knot's response full?
        return knot['size'] + _rrset_size(ditto['additional'][key]) > case.limit
    return False


def knot_zone_of(case):
    """The apex (lowercase text) of the zone of the node closest to qname."""
    if case.qname is None:
        return None
    best = None
    q = case.qname.lower()
    for apex, _ in ZONES:
        a = dns.name.from_text(apex)
        if q.is_subdomain(a) and (best is None or len(a) > len(best)):
            best = a
    return best.to_text() if best else None


def knot_ns_targets_in_authority(knot, case):
    """Targets of the zone's own (apex) NS RRset in Knot's authority section."""
    apex = knot_zone_of(case)
    out = set()
    for key, rs in knot['authority'].items():
        if key[1] == NS and key[0] == apex:
            for rd in rs['rdata']:
                out.add(rd.target.to_text().lower())
    return out


# ---------------------------------------------------------------------------
# Wire helpers
# ---------------------------------------------------------------------------
class ParseError(Exception):
    pass


def build_query(qid, flags, questions, edns=None, extra=b'', counts=None):
    """questions: list of (name_wire, qtype, qclass). edns: dict with
    payload, version, do, z, options [(code, bytes)], ext_rcode, owner."""
    body = b''
    for nw, qt, qc in questions:
        body += nw + struct.pack('!HH', qt, qc)
    ar = 0
    if edns is not None:
        opts = b''.join(struct.pack('!HH', c, len(v)) + v
                        for c, v in edns.get('options', []))
        ttl = (edns.get('ext_rcode', 0) << 24) | (edns.get('version', 0) << 16) \
            | (0x8000 if edns.get('do') else 0) | edns.get('z', 0)
        body += edns.get('owner', b'\x00') + struct.pack(
            '!HHIH', OPT, edns.get('payload', 1232), ttl, len(opts)) + opts
        ar = 1
    body += extra
    qd, an, ns = len(questions), 0, 0
    if counts:
        qd, an, ns, ar = counts
    return struct.pack('!6H', qid, flags, qd, an, ns, ar) + body


def name_wire(text):
    return dns.name.from_text(text).to_wire()


def parse_response(wire):
    """Parse a response into a dict. Sections are {key: rrset} with key
    (lowercase owner text, type, class); OPT is parsed apart."""
    if len(wire) < 12:
        raise ParseError('shorter than a header (%d bytes)' % len(wire))
    qid, flags, qd, an, ns, ar = struct.unpack('!6H', wire[:12])
    off = 12
    qs = []
    try:
        for _ in range(qd):
            n, used = dns.name.from_wire(wire, off)
            off += used
            if off + 4 > len(wire):
                raise ParseError('question truncated')
            qt, qc = struct.unpack('!HH', wire[off:off + 4])
            off += 4
            qs.append((n, qt, qc))
    except dns.exception.DNSException as e:
        raise ParseError('question: %s' % e)
    res = {'id': qid, 'flags': flags & ~0x000f & ~0x7800, 'opcode': (flags >> 11) & 0xf,
           'rcode': flags & 0xf, 'qdcount': qd, 'questions': qs,
           'question_bytes': wire[12:off], 'opt': None, 'size': len(wire),
           'counts': (qd, an, ns, ar)}
    for sec, count in (('answer', an), ('authority', ns), ('additional', ar)):
        rrsets = {}
        order = []
        for _ in range(count):
            try:
                n, used = dns.name.from_wire(wire, off)
            except dns.exception.DNSException as e:
                raise ParseError('%s owner: %s' % (sec, e))
            off += used
            if off + 10 > len(wire):
                raise ParseError('%s record truncated' % sec)
            rt, rc, ttl, rdlen = struct.unpack('!HHIH', wire[off:off + 10])
            off += 10
            if off + rdlen > len(wire):
                raise ParseError('%s rdata truncated' % sec)
            if rt == OPT:
                if sec != 'additional' or res['opt'] is not None or n != dns.name.root:
                    raise ParseError('misplaced or second OPT')
                opts, p = [], off
                while p < off + rdlen:
                    if p + 4 > off + rdlen:
                        raise ParseError('OPT option truncated')
                    c, l = struct.unpack('!HH', wire[p:p + 4])
                    if p + 4 + l > off + rdlen:
                        raise ParseError('OPT option truncated')
                    opts.append((c, wire[p + 4:p + 4 + l]))
                    p += 4 + l
                res['opt'] = {'payload': rc, 'ext_rcode': ttl >> 24,
                              'version': (ttl >> 16) & 0xff,
                              'do': bool(ttl & 0x8000), 'z': ttl & 0x7fff,
                              'options': sorted(opts)}
                off += rdlen
                continue
            try:
                rd = dns.rdata.from_wire(rc, rt, wire, off, rdlen)
            except Exception as e:  # noqa: BLE001 - any rdata parse problem
                raise ParseError('%s rdata of type %d: %s' % (sec, rt, e))
            off += rdlen
            # RRSIGs are grouped by the type they cover (RFC 4035 3.1.1)
            key = (n.to_text().lower(), rt, rc, rd.type_covered if rt == RRSIG else 0)
            rs = rrsets.setdefault(key, {'ttls': set(), 'rdata': set(), 'n': 0})
            rs['ttls'].add(ttl)
            rs['rdata'].add(rd)
            rs['n'] += 1
            if key not in order:
                order.append(key)
        res[sec] = rrsets
        res[sec + '_order'] = order
    if off != len(wire):
        raise ParseError('%d bytes of trailing data' % (len(wire) - off))
    if res['opt'] is not None:
        res['rcode'] |= res['opt']['ext_rcode'] << 4
    return res


def one_line(wire):
    """A short summary of a response for a failure line."""
    try:
        r = parse_response(wire)
    except ParseError as e:
        return '(unparseable: %s) %s' % (e, wire[:64].hex())
    return '%s [%s] counts %s' % (rcode_text(r['rcode']), flags_text(r['flags']),
                                  '/'.join(map(str, r['counts'])))


def flags_text(f):
    return ' '.join(n for b, n in FLAG_NAMES if f & b) or '-'


def rcode_text(r):
    try:
        return dns.rcode.to_text(r)
    except Exception:  # noqa: BLE001 - unknown code
        return 'RCODE%d' % r


def type_text(rt, covered=0):
    t = dns.rdatatype.to_text(rt)
    return '%s(%s)' % (t, dns.rdatatype.to_text(covered)) if rt == RRSIG else t


def rrset_text(key, rs):
    name, rt, rc, cov = key
    ttl = '/'.join(str(t) for t in sorted(rs['ttls']))
    if rt == RRSIG:     # the signatures themselves say little; keep lines short
        rds = ' | '.join(sorted('%s %d %d %d %s %s %d %s ...' % (
            dns.rdatatype.to_text(r.type_covered), r.algorithm, r.labels,
            r.original_ttl, r.expiration, r.inception, r.key_tag, r.signer)
            for r in rs['rdata']))
    else:
        rds = ' | '.join(sorted(r.to_text() for r in rs['rdata']))
    return '%s %s %s %s [%s]' % (name, ttl, dns.rdataclass.to_text(rc),
                                 type_text(rt, cov), rds)


# ---------------------------------------------------------------------------
# The corpus
# ---------------------------------------------------------------------------
class Case:
    def __init__(self, desc, wire, qname=None, qtype=None, limit=512, do=False):
        self.desc = desc
        self.do = do            # the query's OPT has the DO bit
        self.wire = wire
        self.qname = qname      # dns.name.Name as asked, or None
        self.qtype = qtype
        self.limit = limit      # largest UDP response allowed (RFC 1035, 6891)

    def wire_id(self):
        return struct.unpack('!H', self.wire[:2])[0] if len(self.wire) >= 2 else None

    def wire_flags(self):
        return struct.unpack('!H', self.wire[2:4])[0] if len(self.wire) >= 4 else 0

    def edns_do(self):
        """True when the query has an OPT record with the DO bit."""
        return self.do


def mixcase(text, seed=0):
    """Deterministic mixed case: flip every other letter."""
    out, i = [], seed
    for ch in text:
        if ch.isalpha():
            out.append(ch.upper() if i % 2 == 0 else ch.lower())
            i += 1
        else:
            out.append(ch)
    return ''.join(out)


# name -> the query types asked for it
NAMES = [
    # apex and plain data
    ('example.com.', 'SOA NS MX TXT CAA A AAAA ANY DS DNSKEY HINFO TYPE65280'),
    ('ns1.example.com.', 'A AAAA TXT ANY'),
    ('ns2.example.com.', 'A AAAA'),
    ('mail.example.com.', 'A AAAA MX'),
    ('www.example.com.', 'A AAAA MX CNAME ANY'),
    ('mixedcase.names.example.com.', 'A TXT'),
    ('names.example.com.', 'A'),
    ('host.example.com.', 'HINFO SSHFP A RP TXT ANY'),
    ('txt.host.example.com.', 'TXT SPF A'),
    ('_sip._tcp.example.com.', 'SRV A'),
    ('_tcp.example.com.', 'SRV'),
    ('_http._tcp.example.com.', 'SRV'),
    ('sip.example.com.', 'NAPTR A'),
    ('1.2.0.192.rev.example.com.', 'PTR'),
    ('loc.example.com.', 'LOC'),
    ('unknown.example.com.', 'TYPE65280 A ANY TYPE65281'),
    ('afsdb.example.com.', 'AFSDB'),
    ('kx.example.com.', 'MX'),
    # empty non-terminals
    ('a.b.c.example.com.', 'A AAAA'),
    ('b.c.example.com.', 'A TXT ANY'),
    ('c.example.com.', 'A'),
    ('x.b.c.example.com.', 'A'),
    ('d.c.example.com.', 'A'),
    # wildcards
    ('foo.wild.example.com.', 'A TXT MX AAAA ANY CNAME'),
    ('a.b.foo.wild.example.com.', 'A TXT'),
    ('*.wild.example.com.', 'A TXT AAAA'),
    ('explicit.wild.example.com.', 'AAAA A TXT'),
    ('x.explicit.wild.example.com.', 'A'),
    ('ent.wild.example.com.', 'A'),
    ('x.ent.wild.example.com.', 'A'),
    ('deep.ent.wild.example.com.', 'A'),
    ('sub.*.wild.example.com.', 'TXT A'),
    ('x.sub.*.wild.example.com.', 'TXT'),
    ('wild.example.com.', 'A'),
    ('foo.cnwild.example.com.', 'A TXT CNAME AAAA'),
    ('foo.cnwild-ext.example.com.', 'A'),
    ('foo.nx-wild.example.com.', 'A'),
    # CNAME chains
    ('cname1.example.com.', 'A AAAA CNAME TXT ANY'),
    ('cname2.example.com.', 'A'),
    ('cname3.example.com.', 'A'),
    ('cname-nx.example.com.', 'A'),
    ('cname-nodata.example.com.', 'TXT A'),
    ('cname-out.example.com.', 'A'),
    ('cname-net.example.com.', 'A'),
    ('cname-child.example.com.', 'A'),
    ('cname-deleg.example.com.', 'A'),
    ('cname-wild.example.com.', 'A TXT'),
    ('cname-dname.example.com.', 'A'),
    ('loop1.example.com.', 'A'),
    # DNAME
    ('dn.example.com.', 'DNAME A TXT ANY'),
    ('x.dn.example.com.', 'A AAAA DNAME CNAME ANY'),
    ('y.z.dn.example.com.', 'A'),
    ('nope.dn.example.com.', 'A'),
    ('x.target.example.com.', 'A'),
    ('x.dn-ext.example.com.', 'A'),
    ('x.dn-net.example.com.', 'A'),
    ('www.dn-net.example.com.', 'A'),
    # delegations
    ('sub.example.com.', 'NS A DS ANY SOA'),
    ('host.sub.example.com.', 'A DS'),
    ('ns1.sub.example.com.', 'A'),
    ('ns2.sub.example.com.', 'AAAA'),
    ('ext.example.com.', 'A NS DS'),
    ('host.ext.example.com.', 'A'),
    ('mixed.example.com.', 'A'),
    ('host.mixed.example.com.', 'A'),
    ('deleg.example.com.', 'A DS'),
    ('host.deleg.example.com.', 'A'),
    ('ns.deleg.example.com.', 'A'),
    ('deeper.x.deleg.example.com.', 'TXT'),
    # the child zone (longest match) and the parent's delegation to it
    ('child.example.com.', 'SOA NS A DS ANY TXT'),
    ('www.child.example.com.', 'A TXT AAAA'),
    ('ns1.child.example.com.', 'A'),
    ('foo.wc.child.example.com.', 'A'),
    ('nothing.child.example.com.', 'A'),
    ('grand.child.example.com.', 'NS DS'),
    ('host.grand.child.example.com.', 'A'),
    # $INCLUDE / $ORIGIN / $TTL
    ('inc.example.com.', 'TXT A'),
    ('one.inc.example.com.', 'A'),
    ('two.inc.example.com.', 'A'),
    ('after-origin.example.com.', 'A'),
    # nonexistent names
    ('nosuch.example.com.', 'A MX ANY'),
    ('deep.below.nosuch.example.com.', 'A'),
    ('*.nosuch.example.com.', 'A'),
    # the second zone
    ('example.net.', 'SOA NS MX A ANY'),
    ('www.example.net.', 'A AAAA'),
    ('alias.example.net.', 'A'),
    ('medium.example.net.', 'TXT'),
    ('many.example.net.', 'A'),
    ('aaaa.example.net.', 'AAAA'),
    ('nosuch.example.net.', 'A'),
    # outside every zone
    ('www.example.org.', 'A'),
    ('example.org.', 'SOA'),
    ('org.', 'NS'),
    ('.', 'SOA NS'),
    ('com.', 'NS'),
    ('net.', 'DS'),
    ('xexample.com.', 'A'),
    ('example.co.', 'A'),
]

# Queries sent in every EDNS variant, and with DO/CD/AD/NSID.
RICH = {'www.example.com.', 'example.com.', 'foo.wild.example.com.',
        'nosuch.example.com.', 'host.sub.example.com.', 'cname1.example.com.',
        'x.dn.example.com.', 'child.example.com.', 'medium.example.net.',
        'www.example.org.', 'explicit.wild.example.com.', 'b.c.example.com.'}


def std_case(qid, qname, qtype, qclass='IN', edns=True, payload=1232, do=False,
             flags=0, options=None, mixed=False, label=''):
    text = mixcase(qname, qid) if mixed else qname
    rt = dns.rdatatype.from_text(qtype)
    rc = dns.rdataclass.from_text(qclass)
    e = None
    if edns:
        e = {'payload': payload, 'do': do, 'options': options or []}
    wire = build_query(qid, flags, [(name_wire(text), rt, rc)], e)
    parts = [text, qclass if qclass != 'IN' else '', qtype]
    parts.append('edns=%d' % payload if edns else 'noedns')
    if do:
        parts.append('do')
    if flags:
        parts.append('flags=' + flags_text(flags))
    if options:
        parts.append('opts=' + ','.join(str(c) for c, _ in options))
    if label:
        parts.append(label)
    limit = min(max(payload, 512), 1232) if edns else 512
    return Case(' '.join(p for p in parts if p), wire, dns.name.from_text(text), rt, limit,
                do=bool(edns and do))


def build_corpus():
    cases = []
    qid = [0x1000]

    def nid():
        qid[0] += 1
        return qid[0]

    def add(*a, **kw):
        cases.append(std_case(nid(), *a, **kw))

    for name, types in NAMES:
        for t in types.split():
            add(name, t)                                   # EDNS 1232
            add(name, t, edns=False, flags=RD)              # plain, RD set
            add(name, t, mixed=True, do=True)               # 0x20 case, DO
            if name in RICH:
                add(name, t, payload=512)
                add(name, t, payload=4096, flags=CD)
                add(name, t, edns=False, mixed=True, flags=AD)
                add(name, t, options=[(NSID_CODE, b'')])

    # Truncation: large RRsets with and without EDNS, and payload sizes.
    for name in ('medium.example.net.', 'big.example.net.', 'huge.example.net.'):
        for kw in ({'edns': False}, {'payload': 512}, {'payload': 1232},
                   {'payload': 4096}, {'payload': 65535, 'do': True},
                   {'payload': 100}, {'payload': 0}):
            add(name, 'TXT', **kw)
    for name, t in (('many.example.net.', 'A'), ('aaaa.example.net.', 'AAAA'),
                    ('example.net.', 'ANY'), ('big.example.net.', 'ANY')):
        add(name, t, edns=False)
    # Glue that does not fit (RFC 9471) and additional data that does not fit.
    for name, t in (('host.bigdeleg.example.net.', 'A'), ('bigdeleg.example.net.', 'NS'),
                    ('mxmany.example.net.', 'MX')):
        for kw in ({'edns': False}, {'payload': 512}, {'payload': 1232}):
            add(name, t, **kw)

    # CHAOS
    for name in ('id.server.', 'hostname.bind.', 'version.bind.',
                 'version.server.', 'authors.bind.', 'ID.Server.', 'HOSTNAME.BIND.',
                 'foo.id.server.', 'server.', 'bind.'):
        add(name, 'TXT', qclass='CH')
        add(name, 'TXT', qclass='CH', edns=False, flags=RD)
    for t in ('A', 'ANY', 'SOA'):
        add('id.server.', t, qclass='CH')
    add('www.example.com.', 'A', qclass='CH')
    add('id.server.', 'TXT', qclass='IN')
    # Other classes and meta types
    add('www.example.com.', 'A', qclass='ANY')
    add('www.example.com.', 'A', qclass='HS')
    add('www.example.com.', 'A', qclass='CLASS42')
    for t in ('AXFR', 'IXFR', 'MAILB', 'MAILA', 'TYPE0', 'OPT', 'TSIG', 'TKEY',
              'RRSIG', 'NSEC', 'NSEC3', 'NSEC3PARAM'):
        add('example.com.', t)
    for t in ('RRSIG', 'NSEC'):
        add('www.example.com.', t, do=True)

    # Odd names: byte labels, no Latin-1 case folding, maximal lengths.
    add('\\201.wild.example.com.', 'A')
    add('\\233.wild.example.com.', 'TXT')
    add('a\\.b.example.com.', 'A')
    add('\\000.example.com.', 'A')
    long_label = 'a' * 63
    long_q = '.'.join([long_label] * 3) + '.' + 'b' * 44 + '.example.com.'
    add(long_q, 'A')                                        # 250 octets: NXDOMAIN
    # DNAME synthesis overflowing 255 octets: YXDOMAIN (RFC 6672 2.2)
    # 255 octets; the synthesized name would be 259
    add('.'.join([long_label] * 3) + '.' + 'c' * 46 + '.dn.example.com.', 'A')
    # 251 octets; the synthesized name is 255, the longest allowed
    add('.'.join([long_label] * 3) + '.' + 'c' * 42 + '.dn.example.com.', 'A')

    # EDNS specifics
    add('www.example.com.', 'A', options=[(65001, b'\x01\x02\x03')], label='unknown-option')
    add('www.example.com.', 'A', options=[(NSID_CODE, b''), (65001, b'')], label='nsid+unknown')
    add('www.example.com.', 'A', options=[(NSID_CODE, b'abc')], label='nsid-with-data')
    add('www.example.com.', 'A', options=[(10, b'\x01\x02\x03\x04\x05\x06\x07\x08')],
        label='client-cookie')
    add('nosuch.example.com.', 'A', options=[(NSID_CODE, b'')])
    add('www.example.org.', 'A', options=[(NSID_CODE, b'')])
    add('id.server.', 'TXT', qclass='CH', options=[(NSID_CODE, b'')])

    def raw(desc, wire, qname=None, qtype=None):
        edns = b'\x00\x00\x29' in wire[12:]    # every EDNS case here asks 1232
        cases.append(Case(desc, wire, dns.name.from_text(qname) if qname else None,
                          dns.rdatatype.from_text(qtype) if qtype else None,
                          1232 if edns else 512))

    www = name_wire('www.example.com.')
    wq = [(www, 1, 1)]
    raw('EDNS version 1 (BADVERS)', build_query(nid(), 0, wq, {'version': 1}),
        'www.example.com.', 'A')
    raw('EDNS version 1 with NSID', build_query(nid(), 0, wq, {
        'version': 1, 'options': [(NSID_CODE, b'')]}), 'www.example.com.', 'A')
    raw('EDNS version 255 outside every zone', build_query(
        nid(), 0, [(name_wire('www.example.org.'), 1, 1)], {'version': 255}),
        'www.example.org.', 'A')
    raw('EDNS Z flags set', build_query(nid(), 0, wq, {'z': 0x1234}),
        'www.example.com.', 'A')
    raw('EDNS ext rcode set in query', build_query(nid(), 0, wq, {'ext_rcode': 5}),
        'www.example.com.', 'A')
    raw('two OPT records', build_query(nid(), 0, wq, {}, extra=b'\x00' + struct.pack(
        '!HHIH', OPT, 1232, 0, 0), counts=(1, 0, 0, 2)), 'www.example.com.', 'A')
    raw('OPT with non-root owner', build_query(nid(), 0, wq, {'owner': www}),
        'www.example.com.', 'A')
    raw('OPT option truncated', build_query(nid(), 0, wq, {}, extra=b'')[:-2]
        + b'\x00\x04\x00\x03\x00\x08\x00', 'www.example.com.', 'A')
    raw('OPT in the answer section', build_query(nid(), 0, wq, None, extra=b'\x00'
        + struct.pack('!HHIH', OPT, 1232, 0, 0), counts=(1, 1, 0, 0)),
        'www.example.com.', 'A')
    # Header oddities
    raw('QDCOUNT 0', build_query(nid(), 0, []))
    raw('QDCOUNT 0 with EDNS', build_query(nid(), 0, [], {}))
    raw('QDCOUNT 2', build_query(nid(), 0, [(www, 1, 1), (name_wire('mail.example.com.'), 1, 1)]))
    raw('QDCOUNT 2 but one question', build_query(nid(), 0, wq, counts=(2, 0, 0, 0)))
    raw('opcode STATUS', build_query(nid(), 2 << 11, wq), 'www.example.com.', 'A')
    raw('opcode IQUERY', build_query(nid(), 1 << 11, wq), 'www.example.com.', 'A')
    raw('opcode NOTIFY', build_query(nid(), (4 << 11) | AA,
                                      [(name_wire('example.com.'), SOA, 1)]),
        'example.com.', 'SOA')
    raw('opcode UPDATE', build_query(nid(), 5 << 11, [(name_wire('example.com.'), SOA, 1)]),
        'example.com.', 'SOA')
    raw('opcode 15', build_query(nid(), 15 << 11, wq), 'www.example.com.', 'A')
    raw('opcode STATUS with EDNS', build_query(nid(), 2 << 11, wq, {}),
        'www.example.com.', 'A')
    raw('QR set (a response)', build_query(nid(), QR, wq), 'www.example.com.', 'A')
    raw('TC set in query', build_query(nid(), TC, wq), 'www.example.com.', 'A')
    raw('AA set in query', build_query(nid(), AA, wq), 'www.example.com.', 'A')
    raw('RA and Z set in query', build_query(nid(), RA | Z, wq), 'www.example.com.', 'A')
    raw('rcode 3 set in query', build_query(nid(), 3, wq), 'www.example.com.', 'A')
    raw('header only', build_query(nid(), 0, [])[:12])
    raw('short packet (11 bytes)', build_query(nid(), 0, wq)[:11])
    raw('empty packet', b'')
    raw('question truncated in name', build_query(nid(), 0, wq)[:12 + 6])
    raw('question without type/class', build_query(nid(), 0, wq)[:12 + len(www)])
    raw('question without class', build_query(nid(), 0, wq)[:12 + len(www) + 2])
    raw('trailing garbage after question', build_query(nid(), 0, wq) + b'\xde\xad',
        'www.example.com.', 'A')
    raw('ARCOUNT 1 but no record', build_query(nid(), 0, wq, counts=(1, 0, 0, 1)),
        'www.example.com.', 'A')
    raw('ANCOUNT 1 with a record', build_query(nid(), 0, wq, None, extra=www + struct.pack(
        '!HHIH', 1, 1, 60, 4) + b'\x01\x02\x03\x04', counts=(1, 1, 0, 0)),
        'www.example.com.', 'A')
    raw('NSCOUNT 1 (IXFR-style SOA)', build_query(
        nid(), 0, [(name_wire('example.com.'), 251, 1)], None,
        extra=b'\xc0\x0c' + struct.pack('!HHIH', SOA, 1, 0, 22) + b'\x00\x00'
        + struct.pack('!5I', 2024010100, 0, 0, 0, 0), counts=(1, 0, 1, 0)),
        'example.com.', 'IXFR')
    raw('compression pointer to itself in question', build_query(
        nid(), 0, [(b'\xc0\x0c', 1, 1)]))
    raw('pointer loop in question', build_query(nid(), 0, [(b'\x03www\xc0\x0c', 1, 1)]))
    raw('label type 0x40 (extended label)', build_query(nid(), 0, [(b'\x41\x00\x00', 1, 1)]))
    raw('label longer than the packet', build_query(nid(), 0, [(b'\x3fabc', 1, 1)]))
    raw('name over 255 octets', build_query(nid(), 0, [(
        (b'\x3f' + b'a' * 63) * 4 + b'\x00', 1, 1)]))
    raw('forward pointer in question', build_query(nid(), 0, [(b'\x03www\xc0\x20', 1, 1)]))
    return cases


# ---------------------------------------------------------------------------
# The signed corpus (--signed): zones from signzones.py, queries with DO
# ---------------------------------------------------------------------------
# Names relative to each signed zone's apex ('@' is the apex) -> query types.
SIGNED_NAMES = [
    # apex and plain data; DNSKEY, NSEC3PARAM, NSEC, RRSIG, DS at the apex
    ('@', 'SOA NS MX TXT CAA A AAAA DNSKEY NSEC3PARAM NSEC ANY DS RRSIG HINFO CDS'),
    ('ns1', 'A AAAA TXT'),
    ('mail', 'A AAAA MX'),
    ('www', 'A AAAA TXT MX CNAME ANY NSEC RRSIG DS'),
    ('MixedCase', 'A AAAA'),
    ('host', 'HINFO SSHFP TXT A ANY'),
    ('_sip._tcp', 'SRV A'),
    ('_tcp', 'SRV A'),                          # ENT
    ('sipserver', 'A'),
    ('unknown', 'TYPE65280 A'),
    # empty non-terminals, names below them
    ('a.b.c', 'A AAAA'),
    ('b.c', 'A TXT ANY DS NSEC'),
    ('c', 'A'),
    ('x.b.c', 'A'),
    ('x.y.b.c', 'A'),
    ('d.c', 'A'),
    # wildcards: answers, NODATA, below the wildcard, explicit names
    ('foo.wild', 'A TXT MX AAAA ANY RRSIG NSEC'),
    ('a.b.foo.wild', 'A TXT'),
    ('*.wild', 'A TXT AAAA'),
    ('explicit.wild', 'AAAA A'),
    ('x.explicit.wild', 'A'),
    ('ent.wild', 'A'),
    ('x.ent.wild', 'A'),
    ('deep.ent.wild', 'A'),
    ('sub.*.wild', 'TXT A'),
    ('x.sub.*.wild', 'TXT'),
    ('wild', 'A'),
    ('foo.cnwild', 'A CNAME AAAA TXT'),         # wildcard CNAME
    ('a.b.cnwild', 'A'),
    ('foo.nxwild', 'A'),                        # wildcard CNAME to NXDOMAIN
    ('foo.ent-wild', 'A TXT'),
    ('ent-wild', 'A'),
    # CNAME chains in the zone
    ('cname1', 'A AAAA CNAME ANY'),
    ('cname2', 'A'),
    ('cname3', 'A'),
    ('cname-nx', 'A TXT'),
    ('cname-nodata', 'TXT A'),
    ('cname-wild', 'A TXT'),
    ('cname-cnwild', 'A'),
    ('cname-dname', 'A'),
    ('cname-out', 'A'),
    ('cname-deleg', 'A'),
    ('cname-sdeleg', 'A'),
    ('cname-ent', 'A'),
    # DNAME
    ('dn', 'DNAME TXT A ANY'),
    ('x.dn', 'A AAAA DNAME CNAME'),
    ('nope.dn', 'A'),
    ('a.b.dn', 'A'),
    ('x.target', 'A'),
    ('target', 'A'),
    # a signed delegation; DS at the cut from the parent
    ('secure', 'NS DS A ANY SOA DNSKEY'),
    ('host.secure', 'A DS'),
    ('ns.secure', 'A'),
    # unsigned delegations
    ('insecure', 'NS DS A'),
    ('host.insecure', 'A AAAA DS'),
    ('ns.insecure', 'A AAAA'),
    ('ext', 'NS DS A'),
    ('host.ext', 'A'),
    # NXDOMAIN: under the apex, deep below existing and nonexistent names
    ('nosuch', 'A MX ANY DS NSEC'),
    ('deep.below.nosuch', 'A'),
    ('deep.below.www', 'A'),
    ('x.mail', 'A TXT'),
    ('*.nosuch', 'A'),
    ('www0', 'A'),
    # canonical order edges: before the first name, after the last one
    ('\\000', 'A'),
    ('+', 'A'),
    ('zzzz', 'A'),
    ('\\255', 'A'),
    ('x.\\255', 'A'),
]

SIGNED_EXTRA = {
    'signed-nsec3.test.': [
        # a served signed child: DS from the parent, the rest from the child
        ('child', 'DS NS SOA A DNSKEY ANY'),
        ('www.child', 'A TXT DS'),
        ('nosuch.child', 'A'),
        ('ns1.child', 'A'),
        ('foo.wc.child', 'A'),
    ],
    'signed-optout.test.': [
        ('d1', 'NS DS A'),
        ('host.d1', 'A DS'),
        ('ns.d1', 'A'),
        ('d2', 'NS DS'),
        ('x.d2', 'A'),
        ('d3', 'A DS'),
        ('ns.d3', 'AAAA'),
        ('d4', 'DS A'),
        ('d5', 'NS'),
        ('d6', 'A DS'),                        # NXDOMAIN in an opt-out span
        ('x.d6', 'A'),
        ('ent-insec', 'A DS NS TXT'),          # ENT above unsigned delegations only
        ('x.ent-insec', 'A DS NS'),
        ('y.ent-insec', 'A DS'),
        ('host.y.ent-insec', 'A'),
        ('z.ent-insec', 'A DS'),
        ('ent-mixed', 'A DS'),                 # ENT above a signed delegation
        ('s.ent-mixed', 'DS A NS'),
        ('u.ent-mixed', 'DS A'),
        ('v.ent-mixed', 'A DS'),
    ],
}

SIGNED_RICH = {'@', 'www', 'nosuch', 'foo.wild', 'b.c', 'secure', 'insecure',
               'host.insecure', 'cname-nx', 'x.dn', 'foo.cnwild', 'foo.wild',
               'deep.below.www', 'd1', 'ent-insec', 'x.d6'}


def signed_abs(rel, apex):
    return apex if rel == '@' else rel + '.' + apex


def nsec3_hashes(zone_path, apex):
    """The sorted NSEC3 owner hashes (base32hex, lowercase) of a zone file."""
    import dns.zone
    z = dns.zone.from_file(zone_path, apex, relativize=False, check_origin=False)
    out = []
    for n, node in z.items():
        if node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NSEC3):
            out.append(n.labels[0].decode().lower())
    return sorted(out)


def nsec3_special_names(zinfo, zone_path):
    """Nonexistent names chosen by their NSEC3 hash (deterministic for the
    apex, salt and iterations): hashes before the first and after the last
    NSEC3 owner (the proof wraps around the chain), a next closer name
    covered by the NSEC3 that covers the wildcard at the apex (one NSEC3
    proves both), and one covered by the apex's own NSEC3 (the closest
    encloser's NSEC3 covers the next closer name too). Also NSEC3 owner
    names themselves (RFC 5155 7.2.9: NXDOMAIN), and a name below one."""
    import dns.dnssec
    apex = zinfo['apex']
    salt = zinfo['salt'] or None
    iters = zinfo['iterations']
    hashes = nsec3_hashes(zone_path, apex)
    if not hashes:
        return []

    def h(name):
        return dns.dnssec.nsec3_hash(name, salt, iters, 1).lower()

    def covering(x):
        best = hashes[-1]           # wraps: below the first, the last covers
        for o in hashes:
            if o < x:
                best = o
        return best
    want = {'low': None, 'high': None, 'wild': None, 'apex': None}
    cw = covering(h('*.' + apex))
    ca = h(apex)
    for i in range(3000):
        rel = 'nx%d' % i
        x = h(rel + '.' + apex)
        if x in hashes:
            continue
        if want['low'] is None and x < hashes[0]:
            want['low'] = rel
        elif want['high'] is None and x > hashes[-1]:
            want['high'] = rel
        elif want['wild'] is None and covering(x) == cw:
            want['wild'] = rel
        elif want['apex'] is None and covering(x) == ca and ca != cw:
            want['apex'] = rel
        if all(want.values()):
            break
    out = []
    for k, rel in sorted(want.items()):
        if rel:
            out.append((rel, 'A', 'nsec3-' + k))
            if k == 'wild':
                out.append(('deep.' + rel, 'A', 'nsec3-wild-deep'))
    picks = [hashes[0], hashes[len(hashes) // 2], hashes[-1]]
    for i, o in enumerate(picks):
        out.append((o, 'A', 'nsec3-owner'))
        out.append((o, 'NSEC3', 'nsec3-owner'))
        if i == 0:
            out.append((o, 'ANY', 'nsec3-owner'))
            out.append((o.upper(), 'NSEC3', 'nsec3-owner'))
            out.append(('x.' + o, 'A', 'below-nsec3-owner'))
    return out


def build_signed_corpus(manifest, zones_dir):
    cases = []
    qid = [0x5000]

    def nid():
        qid[0] += 1
        return qid[0]

    def add(*a, **kw):
        cases.append(std_case(nid(), *a, **kw))

    for z in manifest:
        apex = z['apex']
        names = list(SIGNED_NAMES) if z['contents'] == 'template' else [
            ('@', 'SOA NS A DNSKEY DS ANY NSEC'), ('www', 'A TXT AAAA'),
            ('ns1', 'A'), ('foo.wc', 'A TXT'), ('wc', 'A'), ('nosuch', 'A')]
        names += SIGNED_EXTRA.get(apex, [])
        for rel, types in names:
            name = signed_abs(rel, apex)
            for i, t in enumerate(types.split()):
                add(name, t, do=True)                          # DO, 1232
                add(name, t, do=True, payload=4096, mixed=True)  # DO, 4096, 0x20
                if i == 0 or rel in SIGNED_RICH:
                    add(name, t)                               # no DO: no leaks
                if rel in SIGNED_RICH:
                    add(name, t, edns=False)
                    add(name, t, do=True, payload=512)         # DO, may truncate
                    add(name, t, do=True, flags=RD | CD)
        if z['denial'] == 'nsec3':
            for rel, t, label in nsec3_special_names(z, os.path.join(zones_dir, z['file'])):
                name = signed_abs(rel, apex)
                add(name, t, do=True, label=label)
                add(name, t, do=True, payload=4096, mixed=True, label=label)
                add(name, t, label=label)
    return cases


# ---------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------
class Knot:
    def __init__(self, tmp, zones_dir):
        self.tmp = tmp
        self.proc = None
        self.port = None
        self.zones_dir = os.path.join(tmp, 'zones')
        shutil.copytree(zones_dir, self.zones_dir)
        self.conf = os.path.join(tmp, 'knot.conf')
        self.log = os.path.join(tmp, 'knotd.log')

    def write_conf(self):
        zones = ''.join('  - domain: %s\n    file: "%s"\n' % (
            apex, os.path.join(self.zones_dir, f)) for apex, f in ZONES)
        with open(self.conf, 'w') as fp:
            fp.write(f'''# written by diff_knot.py
server:
    rundir: "{self.tmp}"
    user: root:root
    listen: 127.0.0.1@{self.port}
    identity: "{IDENTITY}"
    nsid: "{IDENTITY}"
    version: ""
    udp-max-payload: 1232
    tcp-reuseport: on
database:
    storage: "{self.tmp}/db"
log:
  - target: stderr
    any: info
template:
  - id: default
    storage: "{self.zones_dir}"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
{zones}''')

    def start(self):
        for _attempt in range(5):
            self.port = free_port()
            self.write_conf()
            with open(self.log, 'ab') as lf:
                self.proc = subprocess.Popen(['knotd', '-c', self.conf],
                                             stdout=lf, stderr=lf,
                                             preexec_fn=die_with_parent)
            if self.wait_ready(10.0):
                return
            self.stop()
        raise RuntimeError('knotd did not start; log:\n' + tail(self.log))

    def wait_ready(self, timeout):
        end = time.monotonic() + timeout
        pending = [a for a, _ in ZONES]
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            for apex in list(pending):
                q = build_query(0x4242, 0, [(name_wire(apex), SOA, 1)])
                r = self.query_udp(q, 0.2)
                if r:
                    try:
                        p = parse_response(r)
                    except ParseError:
                        continue
                    if p['rcode'] == 0 and p['flags'] & AA and p['answer']:
                        pending.remove(apex)
            if not pending:
                return True
            time.sleep(0.1)
        return False

    def query_udp(self, wire, timeout=KNOT_TIMEOUT):
        """The response, or None when Knot sends nothing in time."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(('127.0.0.1', self.port))
            s.send(wire)
            end = time.monotonic() + timeout
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    return None
                s.settimeout(left)
                try:
                    r = s.recv(65535)
                except (socket.timeout, ConnectionRefusedError):
                    return None
                if len(wire) < 2 or len(r) < 2 or r[:2] == wire[:2]:
                    return r

    def query_tcp(self, wire, timeout=2.0):
        with socket.create_connection(('127.0.0.1', self.port), timeout) as s:
            s.sendall(struct.pack('!H', len(wire)) + wire)
            ln = struct.unpack('!H', recv_exact(s, 2))[0]
            return recv_exact(s, ln)

    def status(self):
        r = subprocess.run(['knotc', '-c', self.conf, 'status'], capture_output=True,
                           text=True, timeout=5)
        return r.returncode == 0

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Ditto:
    def __init__(self, tool, images):
        self.cmd = [tool, 'answer', '--identity', IDENTITY] + images
        self.proc = None
        self.stderr = None
        self.start()

    def start(self):
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr,
                                     bufsize=0, preexec_fn=die_with_parent)

    def query(self, wire):
        """(response bytes or None if dropped, error text or None)."""
        try:
            self.proc.stdin.write(struct.pack('!H', len(wire)) + wire)
            self.proc.stdin.flush()
            hdr = self._read(2)
            n = struct.unpack('!H', hdr)[0]
            r = self._read(n) if n else b''
        except (BrokenPipeError, EOFError, TimeoutError) as e:
            self.stop()
            err = self.stderr_tail()
            msg = 'ditto-zone answer died or hung (%s; status %s)%s' % (
                type(e).__name__, self.proc.returncode,
                (': ' + err[-500:]) if err else '')
            self.start()
            return None, msg
        return (r if n else None), None

    def _read(self, n):
        buf = b''
        fd = self.proc.stdout.fileno()
        end = time.monotonic() + DITTO_TIMEOUT
        while len(buf) < n:
            left = end - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError()
            chunk = os.read(fd, n - len(buf))
            if not chunk:
                raise EOFError()
            buf += chunk
        return buf

    def stop(self):
        """End the answer process (EOF on its input); its exit status."""
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else 0

    def stderr_tail(self):
        self.stderr.seek(0)
        return self.stderr.read().decode(errors='replace').strip()[-2000:]


def die_with_parent():
    """In a child before exec: be killed if this script dies (even by
    SIGKILL), so no knotd outlives the test."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort
        pass


def free_port():
    """A port free for UDP and TCP on 127.0.0.1 (above 20000)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(('127.0.0.1', 0))
            port = u.getsockname()[1]
            if port < 20000:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(('127.0.0.1', port))
                except OSError:
                    continue
            return port
    raise RuntimeError('no free port')


def recv_exact(s, n):
    buf = b''
    while len(buf) < n:
        c = s.recv(n - len(buf))
        if not c:
            raise EOFError('connection closed')
        buf += c
    return buf


def tail(path, n=30):
    try:
        with open(path, errors='replace') as fp:
            return ''.join(fp.readlines()[-n:])
    except OSError:
        return '(no log)'


# ---------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------
def section_diffs(sec, k, d):
    """Differences of one section between Knot (k) and ditto (d)."""
    out = []
    for key in sorted(set(k) | set(d), key=str):
        name, rt, rc, cov = key
        base = {'section': sec, 'name': name, 'rtype': rt, 'covered': cov}
        if key not in d:
            out.append(dict(base, kind='missing', detail='knot has ' + rrset_text(key, k[key])))
        elif key not in k:
            out.append(dict(base, kind='extra', detail='ditto has ' + rrset_text(key, d[key])))
        elif k[key]['rdata'] != d[key]['rdata']:
            out.append(dict(base, kind='rdata', detail='knot %s, ditto %s' % (
                rrset_text(key, k[key]), rrset_text(key, d[key]))))
        elif k[key]['ttls'] != d[key]['ttls']:
            out.append(dict(base, kind='ttl', detail='knot %s, ditto %s' % (
                rrset_text(key, k[key]), rrset_text(key, d[key]))))
        elif k[key]['n'] != d[key]['n']:
            out.append(dict(base, kind='dup', detail='%s: %d records from knot, '
                            '%d from ditto' % (rrset_text(key, d[key]),
                                               k[key]['n'], d[key]['n'])))
    return out


def opt_diffs(k, d):
    if k is None and d is None:
        return []
    base = {'section': 'opt', 'name': '.', 'rtype': OPT}
    if k is None or d is None:
        return [dict(base, kind='presence', detail='OPT: knot %s, ditto %s' % (
            'has one' if k else 'none', 'has one' if d else 'none'))]
    out = []
    for f in ('payload', 'version', 'do', 'z', 'options'):
        if k[f] != d[f]:
            out.append(dict(base, kind=f, detail='OPT %s: knot %r, ditto %r' % (f, k[f], d[f])))
    return out


def explained(case, knot, ditto, diff):
    for e in EXPLAINED:
        if e['section'] is not None and e['section'] != diff['section']:
            continue
        if e['kind'] is not None and e['kind'] != diff['kind']:
            continue
        if e['rtype'] is not None and e['rtype'] != diff['rtype']:
            continue
        try:
            if e['when'](case, knot, ditto, diff):
                return e
        except Exception:  # noqa: BLE001 - a predicate that does not apply
            continue
    return None


def compare(case, kw, dw, knot_srv):
    """(failures, explained) as lists of text."""
    fails, notes = [], []
    if kw is None and dw is None:
        return fails, notes
    if kw is None:
        df = {'section': 'drop', 'kind': 'knot-dropped', 'rtype': None, 'name': None,
              'detail': 'knot dropped it, ditto answered'}
        e = explained(case, None, dw, df)
        if e:
            return fails, ['%s (explained: %s)' % (df['detail'], e['id'])]
        return ['knot dropped it, ditto answered: ' + one_line(dw)], notes
    if dw is None:
        return ['knot answered, ditto dropped it; knot: ' + one_line(kw)], notes
    try:
        k = parse_response(kw)
    except ParseError as e:
        return ['knot response unparseable (%s); ditto answered' % e], notes
    try:
        d = parse_response(dw)
    except ParseError as e:
        return ['ditto response unparseable: %s' % e], notes

    if k['id'] != d['id']:
        fails.append('id: knot %d, ditto %d' % (k['id'], d['id']))
    if k['rcode'] != d['rcode']:
        fails.append('rcode: knot %s, ditto %s' % (rcode_text(k['rcode']), rcode_text(d['rcode'])))
    if k['opcode'] != d['opcode']:
        fails.append('opcode: knot %d, ditto %d' % (k['opcode'], d['opcode']))
    for bit, fname in FLAG_NAMES:
        if (k['flags'] ^ d['flags']) & bit:
            df = {'section': 'flags', 'kind': fname, 'rtype': None, 'name': None,
                  'detail': 'flags: knot [%s], ditto [%s]' % (
                      flags_text(k['flags']), flags_text(d['flags']))}
            e = explained(case, k, d, df)
            if e:
                notes.append('%s (explained: %s)' % (df['detail'], e['id']))
            else:
                fails.append(df['detail'])
    if k['question_bytes'] != d['question_bytes']:
        fails.append('question: knot %r, ditto %r' % (k['question_bytes'], d['question_bytes']))
    # ditto must echo the question exactly as asked (RFC 1035 4.1.1; 0x20)
    if d['qdcount'] == 1:
        qend = 12 + len(d['question_bytes'])
        if case.wire[12:qend] != d['question_bytes']:
            fails.append('ditto did not echo the question byte for byte: asked %r, got %r'
                         % (case.wire[12:qend], d['question_bytes']))
    if len(dw) > case.limit:
        fails.append('ditto response of %d bytes exceeds the limit %d' % (len(dw), case.limit))

    # Answer
    any_rule = (case.qtype == ANY and k['rcode'] == 0 and d['rcode'] == 0
                and not (k['flags'] & TC) and k['answer'] != d['answer'])
    rrsig_rule = (case.qtype == RRSIG and k['rcode'] == 0 and d['rcode'] == 0
                  and not (k['flags'] & TC) and k['answer'] != d['answer']
                  and all(x[1] == RRSIG for x in k['answer']))
    if any_rule:
        # Knot 3.2 answers ANY with one RRset over TCP too, so each RRset of
        # ditto's answer is checked by asking Knot for that name and type.
        per_name_k, per_name_d = {}, {}
        for key in k['answer']:
            per_name_k[key[0]] = per_name_k.get(key[0], 0) + 1
        do = bool(case.edns_do())
        for key, rs in d['answer'].items():
            per_name_d[key[0]] = per_name_d.get(key[0], 0) + 1
            # an RRSIG is checked against the signatures of the type it covers
            qt = key[3] if key[1] == RRSIG else key[1]
            q = build_query(case.wire_id(), 0, [(name_wire(key[0]), qt, key[2])],
                            {'payload': 1232, 'do': do})
            full = parse_response(knot_srv.query_tcp(q))['answer']
            if key not in full or full[key]['rdata'] != rs['rdata'] \
                    or full[key]['ttls'] != rs['ttls']:
                fails.append('ANY: ditto RRset %s is not the one Knot has at that '
                             'name and type' % rrset_text(key, rs))
        if per_name_k != per_name_d:
            fails.append('ANY: RRsets per name: knot %s, ditto %s' % (per_name_k, per_name_d))
        d['any_other_rrset'] = True
        notes.append('ANY: ditto picked %s, Knot %s' % (
            ', '.join(rrset_text(x, d['answer'][x]) for x in d['answer']),
            ', '.join(rrset_text(x, k['answer'][x]) for x in k['answer'])))
    elif rrsig_rule:
        # QTYPE=RRSIG: Knot answers the RRSIGs of one covered type (like ANY,
        # knot_synth_rrsig(KNOT_RRTYPE_ANY, ...)), ditto may give those of
        # every type. Each RRSIG ditto gives must be the one Knot has at
        # that name for the type it covers, with the TTL of the covered
        # RRset (RFC 4034 3: "The TTL value of an RRSIG RR MUST match the
        # TTL value of the RRset it covers").
        for key, rs in d['answer'].items():
            if key[1] != RRSIG:
                fails.append('RRSIG query: ditto answered %s' % rrset_text(key, rs))
                continue
            q = build_query(case.wire_id(), 0, [(name_wire(key[0]), key[3], key[2])],
                            {'payload': 1232, 'do': True})
            full = parse_response(knot_srv.query_tcp(q))['answer']
            if key not in full or full[key]['rdata'] != rs['rdata']:
                fails.append('RRSIG query: ditto has %s, not what Knot has for %s' % (
                    rrset_text(key, rs), type_text(key[3])))
            elif full[key]['ttls'] != rs['ttls']:
                fails.append('RRSIG query: ditto has %s, TTL not that of the %s RRset '
                             '(RFC 4034 3); Knot %s' % (rrset_text(key, rs), type_text(key[3]),
                                                        rrset_text(key, full[key])))
        if not d['answer'] and not d['flags'] & TC:
            fails.append('RRSIG query: ditto answered no RRSIG, Knot %s' % ', '.join(
                rrset_text(x, k['answer'][x]) for x in k['answer']))
        d['rrsig_all'] = True
        notes.append('RRSIG query: ditto gave %s; Knot %s (explained: rrsig-query)' % (
            ', '.join(type_text(x[1], x[3]) for x in d['answer']) or 'none (TC)',
            ', '.join(type_text(x[1], x[3]) for x in k['answer'])))
    else:
        both_tc = k['flags'] & d['flags'] & TC
        for df in section_diffs('answer', k['answer'], d['answer']):
            e = explained(case, k, d, df) if both_tc else None
            if e:
                notes.append('answer %s: %s (explained: %s)' % (df['kind'], df['detail'], e['id']))
            else:
                fails.append('answer %s: %s' % (df['kind'], df['detail']))

    # Without DO, no RRSIG, NSEC or NSEC3 unless asked for (RFC 4035 3.1,
    # RFC 3225 3): Knot is compared below too, this names the rule.
    if not case.edns_do():
        for sec in ('answer', 'authority', 'additional'):
            for key, rs in d[sec].items():
                if key[1] in DNSSEC_TYPES and not (
                        sec == 'answer' and case.qtype in (key[1], ANY)):
                    fails.append('%s: DNSSEC record without DO: %s' % (sec, rrset_text(key, rs)))

    # Authority, additional, OPT: deliberate differences are explained.
    rest = section_diffs('authority', k['authority'], d['authority']) \
        + section_diffs('additional', k['additional'], d['additional']) \
        + opt_diffs(k['opt'], d['opt'])
    for df in rest:
        e = explained(case, k, d, df)
        text = '%s %s: %s' % (df['section'], df['kind'], df['detail'])
        if e:
            notes.append('%s (explained: %s)' % (text, e['id']))
        else:
            fails.append(text)
    return fails, notes


def show(wire):
    if wire is None:
        return '(dropped)'
    try:
        import dns.message
        return dns.message.from_wire(wire).to_text()
    except Exception as e:  # noqa: BLE001 - print what can be printed
        return '(%s) %s' % (e, wire.hex())


# ---------------------------------------------------------------------------
def main():
    global ZONES
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('ditto_zone', help='path to the ditto-zone binary')
    ap.add_argument('zones', nargs='?', default=os.path.join(HERE, '..', 'zones'),
                    help='directory of the test zones')
    ap.add_argument('-v', '--verbose', action='store_true',
                    help='print every query, and the explained differences')
    ap.add_argument('--show', metavar='TEXT', action='append', default=[],
                    help='print both responses in full for the queries whose '
                         'description contains TEXT (may be repeated)')
    ap.add_argument('--signed', action='store_true',
                    help='instead of ZONES_DIR, zones signed at start by '
                         'signzones.py, and the DO corpus; the summary line '
                         'is then "diff_knot_signed: ..."')
    ap.add_argument('--keep', action='store_true',
                    help='keep the temporary directory (zones, images, '
                         'knot.conf, knotd.log) and print its path')
    args = ap.parse_args()
    started = time.monotonic()
    test = 'diff_knot_signed' if args.signed else 'diff_knot'

    tmp = tempfile.mkdtemp(prefix=test + '.')
    knot = ditto = None

    def cleanup():
        if ditto:
            ditto.stop()
        if knot:
            knot.stop()
        if args.keep:
            print('%s: kept %s' % (test, tmp))
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(3))

    if shutil.which('knotd') is None:
        print('%s: knotd not found (apt-get install knot)' % test)
        print('%s: 0 passed, 1 failed' % test)
        return 1

    manifest = None
    if args.signed:
        sys.path.insert(0, HERE)
        import signzones
        args.zones = os.path.join(tmp, 'signed')
        try:
            manifest = signzones.make_zones(args.zones)
        except signzones.SignError as e:
            print('FAIL signing the test zones: %s' % e)
            print('%s: 0 passed, 1 failed' % test)
            return 1
        ZONES = [(z['apex'], z['file']) for z in manifest]
        if args.verbose:
            print('signed in %.2f s: %s' % (time.monotonic() - started, ', '.join(
                '%s (%s%s, %s)' % (z['apex'], z['denial'], '-optout' if z['optout']
                                   else '', z['signer']) for z in manifest)))

    # Compile the zones for ditto.
    images = []
    for apex, f in ZONES:
        img = os.path.join(tmp, f + '.img')
        try:
            r = subprocess.run([args.ditto_zone, 'compile', os.path.join(args.zones, f),
                                '-o', img, '--origin', apex],
                               capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as e:
            print('FAIL compile %s: %s' % (f, e))
            print('%s: 0 passed, 1 failed' % test)
            return 1
        if r.returncode != 0:
            print('FAIL compile %s: %s' % (f, (r.stderr + r.stdout).strip()))
            print('%s: 0 passed, 1 failed' % test)
            return 1
        if args.verbose:
            print((r.stdout + r.stderr).strip())
        images.append(img)

    knot = Knot(tmp, args.zones)
    try:
        knot.start()
    except RuntimeError as e:
        print('FAIL %s' % e)
        print('%s: 0 passed, 1 failed' % test)
        return 1
    if args.verbose:
        print('knotd on 127.0.0.1@%d (knotc status: %s)' % (
            knot.port, 'ok' if knot.status() else 'failed'))
    ditto = Ditto(args.ditto_zone, images)

    cases = build_signed_corpus(manifest, args.zones) if args.signed else build_corpus()
    passed = failed = 0
    used = {}           # EXPLAINED id -> how many differences it explained
    for case in cases:
        if time.monotonic() - started > DEADLINE:
            left = len(cases) - passed - failed
            print('FAIL deadline of %.0f s reached, %d queries not sent' % (DEADLINE, left))
            failed += left
            break
        kw = knot.query_udp(case.wire)
        dw, err = ditto.query(case.wire)
        if err:
            fails, notes = [err], []
        else:
            try:
                fails, notes = compare(case, kw, dw, knot)
            except Exception as e:  # noqa: BLE001 - report, keep going
                fails, notes = ['comparison error: %r' % e], []
        if any(t in case.desc for t in args.show):
            print('==== %s\n---- query: %s\n---- knot:\n%s\n---- ditto:\n%s' % (
                case.desc, case.wire.hex(), show(kw), show(dw)))
        if fails:
            failed += 1
            for f in fails:
                print('FAIL [%s] %s' % (case.desc, f))
        else:
            passed += 1
            if args.verbose:
                print('ok   [%s]' % case.desc)
        for n in notes:
            if '(explained: ' in n:
                eid = n.rsplit('(explained: ', 1)[1].rstrip(')')
                used[eid] = used.get(eid, 0) + 1
            if args.verbose:
                print('     [%s] %s' % (case.desc, n))
    if knot.proc.poll() is not None:
        print('FAIL knotd exited during the test; log:\n' + tail(knot.log))
        failed += 1
    rc = ditto.stop()
    if rc != 0:
        print('FAIL ditto-zone answer exited with status %s at the end of its '
              'input: %s' % (rc, ditto.stderr_tail()))
        failed += 1
    if used:
        print('deliberate differences (explained, not failures):')
        for e in EXPLAINED:
            if e['id'] in used:
                print('  %-28s %4d  %s' % (e['id'], used[e['id']], e['reason']))
    if args.verbose:
        print('%d queries in %.1f s' % (len(cases), time.monotonic() - started))
    print('%s: %d passed, %d failed' % (test, passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
