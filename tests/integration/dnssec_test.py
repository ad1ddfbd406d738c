#!/usr/bin/python3
"""DNSSEC through a validating resolver: zones that Knot DNS signs itself
(NSEC; NSEC3 with salt and iterations; NSEC3 with opt-out and insecure
delegations), transferred by ditto-control (AXFR, then IXFR after NOTIFY),
served by ditto-dataplane on the lab, and asked through unbound validating
with the zones' DS as trust anchors.

    dnssec_test.py BUILD_DIR [TEST...]

Needs root, knot, knot-dnsutils, unbound, python3-dnspython. The lab runs
with LAB_NS_PREFIX=dv (namespaces dv-client, dv-node, dv-primary) in a
private LAB_DIR, so it stands beside the other labs.

    dv-primary: knotd "primary" (10.53.0.1, signs nsec.test, nsec3.test,
                optout.test; NOTIFY to ditto) and knotd "child" (10.99.0.11,
                the delegated children: sec.* signed, insec* unsigned)
    dv-node:    ditto-control, ditto-dataplane (lab.sh, DPDK af_xdp or
                af_packet)
    dv-client:  unbound "ditto" (127.0.0.1@5300, stub-zones at 192.0.2.53:
                ditto), "ditto-tcp" (5302, the same over TCP only) and
                "ref" (5301, the same stub-zones at Knot itself, 10.99.0.1,
                over a veth dvr0 <-> dvr1 that also reaches the children)

The same corpus of queries (answers of each type, NXDOMAIN, NODATA at
names and empty non-terminals, wildcard answers and wildcard NODATA,
CNAMEs, DS at signed and unsigned delegations, names below them) is asked
through "ref" first, which checks the test's own expectations against Knot,
then through "ditto", category by category, each after a cache flush.
Then the zones change on Knot (knotc zone-begin ... zone-commit: names
that split NSEC/NSEC3 spans, a removed name, a removed and an added empty
non-terminal, a new wildcard, a new insecure delegation), Knot re-signs,
ditto takes the IXFR, and the corpus is asked again, over UDP and TCP.
Referrals are also asked of ditto and Knot directly: ditto's must carry
Knot's DS or no-DS proof and glue (unbound would fetch a missing DS
itself and not notice). A failed query names
what was expected and got, what unbound says with +cd, and unbound's
"validation failure" lines for that name (val-log-level 2; its log in the
lab directory). Ends with "dnssec: N passed, M failed". KEEP=1 keeps the
lab directory.
"""
import json
import os
import re
import shutil
import signal
import sys
import time

os.environ.setdefault("LAB_NS_PREFIX", "dv")

import labkit  # noqa: E402 (reads LAB_NS_PREFIX)
from labkit import (Env, NS_CLIENT, NS_NODE, NS_PRIMARY, ask,  # noqa: E402
                    expect, in_ns, popen_ns, run, wait_for)

BUILD, ONLY, LAB = labkit.test_dirs("ditto-dnssec-test.")
CONTROL = os.path.join(BUILD, "control", "ditto-control")
DP_SOCK = os.path.join(LAB, "dataplane.sock")
CTL_SOCK = os.path.join(LAB, "control.sock")
SERVICE = "192.0.2.53"
KNOT, NODE_MGMT = "10.53.0.1", "10.53.0.2"
REF_CLIENT, REF_KNOT, CHILD = "10.99.0.10", "10.99.0.1", "10.99.0.11"
KEY = "xfr-key"
SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LWtleQ=="
PYTHON = "/usr/bin/python3"
UNBOUND = shutil.which("unbound") or "/usr/sbin/unbound"
UNBOUND_CONTROL = shutil.which("unbound-control") or "/usr/sbin/unbound-control"
# The unbounds: "ditto-tcp" asks ditto over TCP only (tcp-upstream).
PORTS = {"ditto": 5300, "ref": 5301, "ditto-tcp": 5302}
STUB = {"ditto": SERVICE, "ref": REF_KNOT, "ditto-tcp": SERVICE}

# The parent zones and Knot's policy for each.
ZONES = ("nsec.test", "nsec3.test", "optout.test")
POLICY = {"nsec.test": "nsec", "nsec3.test": "nsec3", "optout.test": "optout"}
OPTOUT = "optout.test"


def children(z):
    """The delegations of parent z, whether signed; late.* is delegated only
    by the change."""
    out = [("sec." + z, True), ("insec." + z, False)]
    if z == OPTOUT:
        out += [("insec2." + z, False), ("d.optent." + z, False), ("late." + z, False)]
    return out


CHILD_ZONES = [c for z in ZONES for c in children(z)]
procs = {}
ds_of = {}         # child zone -> its DS lines (from the child Knot)
anchors = {}       # parent zone -> its DS lines (from the primary Knot)


# --- Knot DNS: the child servers and the signing primary ---------------------

def knotc(which, *args, **kw):
    return in_ns(NS_PRIMARY, "knotc", "-c", os.path.join(LAB, which, "knot.conf"),
                 *args, **kw)


def keymgr_ds(which, zone):
    """The zone's DS records (SHA-256) as keymgr prints them."""
    out = in_ns(NS_PRIMARY, "keymgr", "-c", os.path.join(LAB, which, "knot.conf"),
                zone, "ds").stdout
    lines = [l.strip() for l in out.splitlines() if re.search(r"\sDS\s+\d+\s+\d+\s+2\s", l)]
    expect(lines, "no SHA-256 DS from keymgr for %s: %r" % (zone, out))
    return lines


def signed(which, addr, zone):
    """Whether the Knot instance serves the zone's DNSKEY, signed."""
    out = in_ns(NS_PRIMARY, "kdig", "+time=1", "+retry=0", "+dnssec", "@" + addr,
                zone, "DNSKEY", check=False).stdout
    return "\tRRSIG\tDNSKEY " in out


def child_zone_text(zone):
    return """$ORIGIN %s.
$TTL 300
@ SOA ns hostmaster 1 3600 60 86400 300
@ NS ns
ns A %s
www A 192.0.2.180
@ TXT "child"
""" % (zone, CHILD)


def parent_zone_text(z):
    lines = ["$ORIGIN %s." % z, "$TTL 300",
             "@ SOA ns1 hostmaster 1 3600 60 86400 300",
             "@ NS ns1", "@ NS ns2", "@ MX 10 mail",
             "ns1 A 192.0.2.1", "ns2 A 192.0.2.2",
             "mail A 192.0.2.25", "mail AAAA 2001:db8::25",
             "www A 192.0.2.80", "www AAAA 2001:db8::80", 'www TXT "hello"',
             "gone A 192.0.2.66",
             "svc SRV 0 0 53 www",
             "alias CNAME www", "alias2 CNAME alias", "dangling CNAME nothere",
             "*.wild A 192.0.2.99", '*.wild TXT "wild"', "sub.wild A 192.0.2.98",
             "*.cw CNAME www",
             "a.b.ent A 192.0.2.7",
             'deep.x.y.z TXT "deep"']
    for c, sec in children(z):
        label = c[:-len(z) - 1]
        if label == "late":
            continue                      # delegated by the change
        lines += ["%s NS ns.%s" % (label, label), "ns.%s A %s" % (label, CHILD)]
        if sec:
            lines += ds_of[c]
    return "\n".join(lines) + "\n"


def knot_conf(which, d, listen, zones):
    text = labkit.knot_head(d, listen, KEY, SECRET)
    text += """remote:
  - id: ditto
    address: %(node)s@53
    key: %(key)s
acl:
  - id: xfr
    key: %(key)s
    action: transfer
policy:
  - id: nsec
    algorithm: ecdsap256sha256
    single-type-signing: on
    nsec3: off
  - id: nsec3
    algorithm: rsasha256
    ksk-size: 2048
    zsk-size: 1024
    nsec3: on
    nsec3-iterations: 5
    nsec3-salt-length: 8
  - id: optout
    algorithm: ed25519
    single-type-signing: on
    nsec3: on
    nsec3-opt-out: on
    nsec3-iterations: 2
    nsec3-salt-length: 4
template:
  - id: default
    storage: %(d)s
    zonefile-sync: -1
    journal-content: changes
    serial-policy: increment
zone:
""" % {"d": d, "key": KEY, "node": NODE_MGMT}
    for name, policy, notify in zones:
        text += "  - domain: %s\n    file: %s.zone\n" % (name, name)
        if policy:
            text += "    dnssec-signing: on\n    dnssec-policy: %s\n" % policy
        if notify:
            text += "    acl: xfr\n    notify: ditto\n"
    return text


def start_knot(which, listen, zones, texts):
    d = os.path.join(LAB, which)
    os.makedirs(os.path.join(d, "db"), exist_ok=True)
    for name, text in texts.items():
        with open(os.path.join(d, name + ".zone"), "w") as f:
            f.write(text)
    conf = os.path.join(d, "knot.conf")
    with open(conf, "w") as f:
        f.write(knot_conf(which, d, listen, zones))
    procs["knot-" + which] = popen_ns(NS_PRIMARY, ["knotd", "-c", conf],
                                      os.path.join(d, "knotd.out"))
    wait_for("knotd " + which, lambda: knotc(which, "status", check=False).returncode == 0)


def start_knots():
    # The children first: the signed ones' DS go into the parents' files.
    start_knot("child", "%s@53" % CHILD,
               [(c, "nsec" if sec else None, False) for c, sec in CHILD_ZONES],
               {c: child_zone_text(c) for c, _ in CHILD_ZONES})
    for c, sec in CHILD_ZONES:
        if sec:
            wait_for("%s signed by the child Knot" % c, lambda: signed("child", CHILD, c))
            ds_of[c] = keymgr_ds("child", c)
    start_knot("primary", "[%s@53, %s@53]" % (KNOT, REF_KNOT),
               [(z, POLICY[z], True) for z in ZONES],
               {z: parent_zone_text(z) for z in ZONES})
    for z in ZONES:
        wait_for("%s signed by the primary Knot" % z, lambda: signed("primary", KNOT, z))
        anchors[z] = keymgr_ds("primary", z)


def ref_link():
    """A wire from the client to the primary's namespace: for unbound
    "ref" to ask Knot, and for both unbounds to reach the children."""
    run(["ip", "link", "add", "dvr0", "netns", NS_CLIENT, "type", "veth",
         "peer", "name", "dvr1", "netns", NS_PRIMARY])
    in_ns(NS_CLIENT, "ip", "addr", "add", REF_CLIENT + "/24", "dev", "dvr0")
    in_ns(NS_CLIENT, "ip", "link", "set", "dvr0", "up")
    for a in (REF_KNOT, CHILD):
        in_ns(NS_PRIMARY, "ip", "addr", "add", a + "/24", "dev", "dvr1")
    in_ns(NS_PRIMARY, "ip", "link", "set", "dvr1", "up")


# --- ditto-control -------------------------------------------------------------

def start_control():
    path = os.path.join(LAB, "control.yaml")
    with open(path, "w") as f:
        f.write("""node:
  identity: dv-node
  state-dir: %(lab)s/state
  management-addresses: [%(node)s]
  control-socket: %(ctl)s
  log-level: debug
dataplane:
  socket: %(dp)s
control:
  timers: { refresh-min: 1, retry-min: 1, retry-max: 2, expire-min: 60 }
  transfer-timeout: 20
  tcp-timeout: 3
keys:
  - { id: %(key)s, algorithm: hmac-sha256, secret: "%(secret)s" }
remotes:
  - { id: knot, address: %(knot)s, key: %(key)s }
zones:
""" % {"lab": LAB, "node": NODE_MGMT, "ctl": CTL_SOCK, "dp": DP_SOCK, "key": KEY,
       "secret": SECRET, "knot": KNOT})
        for z in ZONES:
            f.write("  - { domain: %s, primaries: [knot] }\n" % z)
    if os.path.exists(CTL_SOCK):
        os.unlink(CTL_SOCK)
    procs["control"] = popen_ns(NS_NODE, [CONTROL, "--config", path],
                                os.path.join(LAB, "control.log"))
    wait_for("control.sock", lambda: ask(CTL_SOCK, {"cmd": "status"})["ok"])


def zone_status(name):
    r = ask(CTL_SOCK, {"cmd": "zone-status", "zone": name})
    expect(r["ok"], r)
    return r["zones"][0]


def soa_serial(ns, addr, zone):
    out = in_ns(ns, "kdig", "+time=1", "+retry=0", "+norec", "@" + addr, zone, "SOA",
                check=False).stdout
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 7 and f[0] == zone + "." and f[3] == "SOA":
            return int(f[6])
    return None


def knot_serial(z):
    return soa_serial(NS_PRIMARY, KNOT, z)


def ditto_serial(z):
    return soa_serial(NS_CLIENT, SERVICE, z)


# --- unbound ---------------------------------------------------------------------

def unbound_conf(which):
    d = os.path.join(LAB, "unbound-" + which)
    text = """server:
  interface: 127.0.0.1
  port: %(port)d
  do-ip6: no
  username: ""
  chroot: ""
  directory: "%(d)s"
  pidfile: "%(d)s/unbound.pid"
  logfile: "%(d)s/unbound.log"
  use-syslog: no
  log-time-ascii: yes
  verbosity: 1
  val-log-level: 2
  module-config: "validator iterator"
  do-not-query-localhost: no
  access-control: 127.0.0.0/8 allow
  qname-minimisation: no
  aggressive-nsec: no
  prefetch: no
  prefetch-key: no
  serve-expired: no
  target-fetch-policy: "0 0 0 0 0"
  edns-buffer-size: 1232
  num-threads: 1
  harden-dnssec-stripped: yes
  val-permissive-mode: no
  infra-keep-probing: yes
  local-zone: "test." nodefault
""" % {"d": d, "port": PORTS[which]}
    if which == "ditto-tcp":
        text += "  tcp-upstream: yes\n"
    for z in ZONES:
        for ds in anchors[z]:
            text += '  trust-anchor: "%s"\n' % ds
    text += """remote-control:
  control-enable: yes
  control-interface: "%s/unbound.ctl"
  control-use-cert: no
""" % d
    for z in ZONES:
        text += "stub-zone:\n  name: %s\n  stub-addr: %s\n  stub-prime: no\n" % (z, STUB[which])
    return text


def start_unbound(which):
    d = os.path.join(LAB, "unbound-" + which)
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "unbound.conf")
    with open(conf, "w") as f:
        f.write(unbound_conf(which))
    chk = run(["unbound-checkconf", conf], check=False)
    expect(chk.returncode == 0, "unbound-checkconf: " + chk.stdout + chk.stderr)
    procs["unbound-" + which] = popen_ns(NS_CLIENT, [UNBOUND, "-d", "-c", conf],
                                         os.path.join(d, "unbound.out"))
    wait_for("unbound " + which, lambda: unbound_control(which, "status").returncode == 0,
             timeout=15)


def unbound_control(which, *args):
    conf = os.path.join(LAB, "unbound-" + which, "unbound.conf")
    return run([UNBOUND_CONTROL, "-c", conf] + list(args), check=False, timeout=15)


def flush(which):
    """Everything unbound learnt of the test zones (answers, keys, bogus
    marks, server state) gone, so each batch asks the servers anew."""
    for cmd in (["flush_zone", "test."], ["flush_bogus"], ["flush_negative"],
                ["flush_infra", "all"], ["flush_requestlist"]):
        p = unbound_control(which, *cmd)
        expect(p.returncode == 0, "unbound-control %s: %s%s" % (" ".join(cmd), p.stdout,
                                                                p.stderr))


def unbound_log(which):
    path = os.path.join(LAB, "unbound-" + which, "unbound.log")
    return open(path, errors="replace").read() if os.path.exists(path) else ""


# Queries with DO (+dnssec) from a namespace, eight at a time: argv server,
# port, rd (1: recursion desired) and tcp (1: TCP only; else UDP, TCP when
# truncated); one JSON object per query: rcode, AA, AD, the sections' lines.
ASK = r"""
import concurrent.futures, json, sys
import dns.flags, dns.message, dns.query, dns.rcode
server, port, rd, tcp = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4] == "1"
def one(job):
    name, rtype, cd = job
    q = dns.message.make_query(name, rtype, want_dnssec=True, payload=1232)
    if not rd:
        q.flags &= ~dns.flags.RD
    if cd:
        q.flags |= dns.flags.CD
    try:
        r = None if tcp else dns.query.udp(q, server, port=port, timeout=10)
        if r is None or r.flags & dns.flags.TC:
            r = dns.query.tcp(q, server, port=port, timeout=10)
    except Exception as e:
        return {"error": "%s: %s" % (type(e).__name__, e)}
    lines = lambda sec: [l for rrs in sec for l in rrs.to_text().splitlines()]
    return {"rcode": dns.rcode.to_text(r.rcode()), "ad": bool(r.flags & dns.flags.AD),
            "aa": bool(r.flags & dns.flags.AA), "answer": lines(r.answer),
            "authority": lines(r.authority), "additional": lines(r.additional)}
with concurrent.futures.ThreadPoolExecutor(8) as ex:
    print(json.dumps(list(ex.map(one, json.load(sys.stdin)))))
"""


def ask_batch(ns, server, port, jobs, rd=True, tcp=False):
    p = in_ns(ns, PYTHON, "-c", ASK, server, str(port), "1" if rd else "0",
              "1" if tcp else "0", input=json.dumps(jobs), timeout=90)
    return json.loads(p.stdout)


def ask_unbound(which, jobs):
    return ask_batch(NS_CLIENT, "127.0.0.1", PORTS[which], jobs)


# --- the corpus -----------------------------------------------------------------

class Q:
    """One query and what a validating resolver must answer: rcode; AD
    (secure) or not (insecure: never bogus, never SERVFAIL); has: strings
    the answer section must hold; nodata: no record of the type asked in
    the answer section (a CNAME may lead there)."""

    def __init__(self, cat, name, rtype, rcode="NOERROR", secure=True, has=(),
                 nodata=False):
        self.cat, self.name, self.rtype, self.rcode = cat, name, rtype, rcode
        self.secure, self.has, self.nodata = secure, tuple(has), nodata

    def want(self):
        w = "%s%s" % (self.rcode, " AD" if self.secure else " insecure (no AD)")
        if self.nodata:
            w += " NODATA"
        if self.has:
            w += " with " + ", ".join(self.has)
        return w


def corpus(z, after):
    """Every query for parent zone z, with the answers expected before the
    change on Knot (after=False) or after it."""
    opt = z == OPTOUT
    # Under NSEC3 opt-out a covering NSEC3 may hide unsigned delegations,
    # so unbound calls a denial that rests on one (NXDOMAIN, a wildcard's
    # next closer) insecure: RFC 5155 9.2.
    den = not opt
    n = lambda rel: z + "." if rel == "@" else "%s.%s." % (rel, z)
    P, X, D, W, C, G = "positive", "nxdomain", "nodata", "wildcard", "cname", "delegation"
    qs = [
        Q(P, n("@"), "SOA", has=["hostmaster." + z]),
        Q(P, n("@"), "NS", has=["ns1.%s." % z, "ns2.%s." % z]),
        Q(P, n("@"), "MX", has=["10 mail.%s." % z]),
        Q(P, n("@"), "DNSKEY", has=["DNSKEY 257 3"]),
        Q(P, n("www"), "A", has=["192.0.2.80"]),
        Q(P, n("www"), "AAAA", has=["2001:db8::80"]),
        Q(P, n("www"), "TXT", has=['"hello"']),
        Q(P, n("mail"), "A", has=["192.0.2.25"]),
        Q(P, n("mail"), "AAAA", has=["2001:db8::25"]),
        Q(P, n("ns1"), "A", has=["192.0.2.1"]),
        Q(P, n("svc"), "SRV", has=["0 0 53 www.%s." % z]),
        Q(P, n("a.b.ent"), "A", has=["192.0.2.7"]),
        Q(P, n("sub.wild"), "A", has=["192.0.2.98"]),

        Q(X, n("nope"), "A", "NXDOMAIN", den),
        Q(X, n("0"), "A", "NXDOMAIN", den),
        Q(X, n("zzzz"), "TXT", "NXDOMAIN", den),
        Q(X, n("mail0"), "AAAA", "NXDOMAIN", den),
        Q(X, n("www.www"), "A", "NXDOMAIN", den),
        Q(X, n("c.b.ent"), "A", "NXDOMAIN", den),
        Q(X, n("q.y.z"), "A", "NXDOMAIN", den),

        Q(D, n("www"), "MX", nodata=True),
        Q(D, n("mail"), "TXT", nodata=True),
        Q(D, n("@"), "AAAA", nodata=True),
        Q(D, n("ns1"), "AAAA", nodata=True),
        Q(D, n("b.ent"), "A", nodata=True),
        Q(D, n("ent"), "TXT", nodata=True),
        Q(D, n("sub.wild"), "TXT", nodata=True),
        Q(D, n("wild"), "A", nodata=True),

        Q(W, n("foo.wild"), "A", secure=den, has=["192.0.2.99"]),
        Q(W, n("bar.baz.wild"), "A", secure=den, has=["192.0.2.99"]),
        Q(W, n("foo.wild"), "TXT", secure=den, has=['"wild"']),
        Q(W, n("*.wild"), "A", has=["192.0.2.99"]),
        Q(W, n("foo.wild"), "MX", secure=den, nodata=True),
        Q(W, n("x.sub.wild"), "A", "NXDOMAIN", den),
        Q(W, n("foo.cw"), "A", secure=den, has=["CNAME www.%s." % z, "192.0.2.80"]),

        Q(C, n("alias"), "A", has=["CNAME www.%s." % z, "192.0.2.80"]),
        Q(C, n("alias2"), "AAAA", has=["CNAME alias.%s." % z, "2001:db8::80"]),
        Q(C, n("alias"), "CNAME", has=["CNAME www.%s." % z]),
        Q(C, n("alias"), "MX", has=["CNAME www.%s." % z], nodata=True),
        Q(C, n("dangling"), "A", "NXDOMAIN", den, has=["CNAME nothere.%s." % z]),

        Q(G, n("sec"), "DS", has=["DS "]),
        Q(G, n("www.sec"), "A", has=["192.0.2.180"]),
        Q(G, n("sec"), "TXT", has=['"child"']),
        Q(G, n("insec"), "DS", secure=den, nodata=True),
        Q(G, n("www.insec"), "A", secure=False, has=["192.0.2.180"]),
    ]
    if opt:
        qs += [Q(G, n("insec2"), "DS", secure=False, nodata=True),
               Q(G, n("www.insec2"), "A", secure=False, has=["192.0.2.180"]),
               Q(G, n("d.optent"), "DS", secure=False, nodata=True),
               Q(G, n("www.d.optent"), "A", secure=False, has=["192.0.2.180"]),
               Q(G, n("optent"), "A", secure=False, nodata=True)]
    # What the change adds and removes (see change()).
    if not after:
        qs += [
            Q(P, n("gone"), "A", has=["192.0.2.66"]),
            Q(P, n("deep.x.y.z"), "TXT", has=['"deep"']),
            Q(D, n("x.y.z"), "AAAA", nodata=True),
            Q(D, n("z"), "A", nodata=True),
            Q(X, n("www2"), "A", "NXDOMAIN", den),
            Q(X, n("newent"), "A", "NXDOMAIN", den),
            Q(X, n("p.q.newent"), "TXT", "NXDOMAIN", den),
            Q(X, n("foo.newwild"), "A", "NXDOMAIN", den),
        ]
        if opt:
            qs += [Q(G, n("www.late"), "A", "NXDOMAIN", False)]
    else:
        qs += [
            Q(X, n("gone"), "A", "NXDOMAIN", den),
            Q(X, n("deep.x.y.z"), "TXT", "NXDOMAIN", den),
            Q(X, n("x.y.z"), "AAAA", "NXDOMAIN", den),
            Q(X, n("z"), "A", "NXDOMAIN", den),
            Q(P, n("www2"), "A", has=["192.0.2.81"]),
            Q(P, n("mail2"), "MX", has=["10 mail.%s." % z]),
            Q(P, n("p.q.newent"), "TXT", has=['"new"']),
            Q(D, n("q.newent"), "A", nodata=True),
            Q(D, n("newent"), "TXT", nodata=True),
            Q(D, n("newwild"), "A", nodata=True),
            Q(W, n("foo.newwild"), "A", secure=den, has=["192.0.2.77"]),
            Q(W, n("foo.newwild"), "MX", secure=den, nodata=True),
        ]
        if opt:
            qs += [Q(G, n("late"), "DS", secure=False, nodata=True),
                   Q(G, n("www.late"), "A", secure=False, has=["192.0.2.180"])]
    return qs


def change(z):
    """The change on Knot, one transaction: two new names (each splits an
    NSEC or NSEC3 span), a removed one, a removed name whose empty
    non-terminals go with it, a new name that makes two, a new wildcard,
    and in the opt-out zone a new insecure delegation."""
    n = lambda rel: "%s.%s." % (rel, z)
    knotc("primary", "zone-begin", z)
    try:
        for args in ((n("www2"), "300", "A", "192.0.2.81"),
                     (n("mail2"), "300", "MX", "10", n("mail")),
                     (n("p.q.newent"), "300", "TXT", '"new"'),
                     (n("*.newwild"), "300", "A", "192.0.2.77")):
            knotc("primary", "zone-set", z, *args)
        knotc("primary", "zone-unset", z, n("gone"), "A")
        knotc("primary", "zone-unset", z, n("deep.x.y.z"), "TXT")
        if z == OPTOUT:
            knotc("primary", "zone-set", z, n("late"), "300", "NS", n("ns.late"))
            knotc("primary", "zone-set", z, n("ns.late"), "300", "A", CHILD)
        knotc("primary", "zone-commit", z)
    except Exception:
        knotc("primary", "zone-abort", z, check=False)
        raise


# --- checking answers ---------------------------------------------------------------

def verdict(q, r):
    """What is wrong with answer r to q, or None."""
    if "error" in r:
        return "no answer: " + r["error"]
    got = "%s%s" % (r["rcode"], " AD" if r["ad"] else " no-AD")
    if r["rcode"] != q.rcode:
        return "got " + got
    if r["ad"] != q.secure:
        return "got " + got
    text = "\n".join(r["answer"])
    missing = [h for h in q.has if h not in text]
    if missing:
        return "answer lacks %s: %s" % (", ".join(missing), text or "(empty)")
    if q.nodata:
        own = [l for l in r["answer"] if l.split()[3:4] == [q.rtype]]
        if own:
            return "NODATA expected, answer has " + "; ".join(own)
    elif q.rcode == "NOERROR" and not r["answer"]:
        return "empty answer"
    return None


def reasons(log, q):
    """unbound's validation failure lines for q's name (val-log-level 2)."""
    key = "<%s %s IN>" % (q.name.lower(), q.rtype)
    out = []
    for line in log.splitlines():
        reason = line.partition("validation failure ")[2]
        if reason.startswith(key):
            out.append(reason[:300])
    return out[-2:]


def check(which, qs, label):
    """Ask qs through unbound `which` after a flush; fail with every wrong
    answer, each with its +cd answer and unbound's reasons."""
    flush(which)
    start = len(unbound_log(which))
    results = ask_unbound(which, [(q.name, q.rtype, False) for q in qs])
    bad = [(q, r, verdict(q, r)) for q, r in zip(qs, results)]
    bad = [b for b in bad if b[2]]
    if not bad:
        sys.stdout.write("    (%s: %d queries through unbound %s, all as expected)\n"
                         % (label, len(qs), which))
        return
    time.sleep(0.2)
    log = unbound_log(which)[start:]
    cd = ask_unbound(which, [(q.name, q.rtype, True) for q, _, _ in bad])
    lines = []
    for (q, r, why), c in zip(bad, cd):
        cdtext = c.get("error") or "%s %s" % (c["rcode"], "; ".join(
            l for l in c["answer"] + c["authority"] if "\tRRSIG\t" not in l
            and " RRSIG " not in l)[:200])
        lines.append("  %s %s: want %s; %s\n      +cd: %s" % (q.name, q.rtype, q.want(), why,
                                                            cdtext))
        for reason in reasons(log, q):
            lines.append("      unbound: validation failure " + reason)
    vf = len([l for l in log.splitlines() if "validation failure" in l])
    raise AssertionError("%s: %d of %d queries wrong through unbound %s (%d validation "
                         "failure lines in its log; by hand: ip netns exec %s kdig +dnssec "
                         "@127.0.0.1 -p %d NAME TYPE):\n%s" % (
                             label, len(bad), len(qs), which, vf, NS_CLIENT, PORTS[which],
                             "\n".join(lines)))


def the_corpus(after, cat=None):
    return [q for z in ZONES for q in corpus(z, after) if cat is None or q.cat == cat]


def rrkeys(lines):
    """(owner, type) of each record line, RRSIGs with the type they cover."""
    out = set()
    for l in lines:
        f = l.split()
        if len(f) >= 5:
            out.add((f[0].lower(), f[3] + ("/" + f[4] if f[3] == "RRSIG" else "")))
    return out


def check_referrals(after):
    """A name below each delegation, asked of ditto and of Knot directly
    (no RD): ditto's referral must carry what Knot's does: the NS, the DS
    and its RRSIG, or the NSEC/NSEC3 proof that there is no DS (RFC 4035
    3.1.4, RFC 5155 7.2.7) with their RRSIGs, and the glue. A resolver
    that finds the proof missing asks for the DS itself, so unbound alone
    would not see this."""
    jobs = [("www.%s." % c, "A", False) for z in ZONES for c, _ in children(z)
            if after or not c.startswith("late.")]
    got = ask_batch(NS_CLIENT, SERVICE, 53, jobs, rd=False)
    ref = ask_batch(NS_PRIMARY, KNOT, 53, jobs, rd=False)
    bad = []
    for (name, _, _), g, r in zip(jobs, got, ref):
        if "error" in g or "error" in r:
            bad.append("  %s A: ditto %s, Knot %s" % (name, g.get("error") or g["rcode"],
                                                     r.get("error") or r["rcode"]))
            continue
        expect(r["rcode"] == "NOERROR" and not r["answer"] and not r["aa"],
               "Knot's answer to %s A is no referral: %r" % (name, r))
        why = []
        if g["rcode"] != "NOERROR" or g["answer"] or g["aa"]:
            why.append("not a referral: %s%s, answer %s" % (g["rcode"], " AA" if g["aa"] else "",
                                                            g["answer"]))
        for sec in ("authority", "additional"):
            lack = rrkeys(r[sec]) - rrkeys(g[sec])
            if lack:
                why.append("%s lacks %s" % (sec, ", ".join(
                    "%s %s" % k for k in sorted(lack))))
        if why:
            bad.append("  %s A: %s\n      ditto's authority: %s" % (
                name, "; ".join(why), "; ".join(sorted(
                    "%s %s" % k for k in rrkeys(g["authority"])))))
    expect(not bad, "%d of %d referrals from ditto differ from Knot's:\n%s" % (
        len(bad), len(jobs), "\n".join(bad)))
    sys.stdout.write("    (%d referrals from ditto carry Knot's DS or no-DS proof and glue)\n"
                     % len(jobs))


# --- the tests ------------------------------------------------------------------------

def test_knot_signs_the_zones_and_ditto_takes_them_by_axfr():
    for z in ZONES:
        wait_for("%s at Knot's serial through the dataplane" % z,
                 lambda: ditto_serial(z) is not None and ditto_serial(z) == knot_serial(z),
                 timeout=30)
        st = zone_status(z)
        expect(st["state"] == "ok" and st["axfr"] >= 1, st)
    # The records Knot made are there as served (DO): RRSIGs, NSEC/NSEC3,
    # NSEC3PARAM with its salt and iterations.
    out = in_ns(NS_CLIENT, "kdig", "+time=2", "+retry=1", "+dnssec", "@" + SERVICE,
                "nsec3.test", "NSEC3PARAM").stdout
    expect(re.search(r"NSEC3PARAM\s+1 0 5 [0-9A-Fa-f]{16}", out), out)
    expect("\tRRSIG\tNSEC3PARAM " in out, "no RRSIG with DO: " + out)
    out = in_ns(NS_CLIENT, "kdig", "+time=2", "+retry=1", "+dnssec", "@" + SERVICE,
                "optout.test", "NSEC3PARAM").stdout
    expect(re.search(r"NSEC3PARAM\s+1 0 2 [0-9A-Fa-f]{8}", out), out)
    # The dataplane names each zone's proofs (dittoctl zone-list: DNSSEC).
    modes = {z["zone"]: z.get("dnssec") for z in ask(DP_SOCK, {"cmd": "zone-list"})["zones"]}
    expect(modes.get("nsec.test.") == "nsec" and modes.get("nsec3.test.") == "nsec3"
           and modes.get("optout.test.") == "nsec3", modes)


def test_reference_knot_validates_the_corpus():
    """The corpus and its expectations through unbound at Knot itself: if
    this fails, the test (or Knot, or unbound) is wrong, not ditto."""
    check("ref", the_corpus(False), "Knot, before the change")


def test_ditto_positive_answers_are_secure():
    check("ditto", the_corpus(False, "positive"), "answers")


def test_ditto_nxdomain_is_proven():
    check("ditto", the_corpus(False, "nxdomain"), "NXDOMAIN")


def test_ditto_nodata_is_proven_also_at_empty_non_terminals():
    check("ditto", the_corpus(False, "nodata"), "NODATA")


def test_ditto_wildcard_answers_and_wildcard_nodata():
    check("ditto", the_corpus(False, "wildcard"), "wildcards")


def test_ditto_cnames_into_the_zone():
    check("ditto", the_corpus(False, "cname"), "CNAMEs")


def test_ditto_delegations_signed_unsigned_and_opt_out():
    check("ditto", the_corpus(False, "delegation"), "delegations")


def test_ditto_referrals_carry_the_ds_or_the_proof_of_none():
    check_referrals(False)


def test_change_on_knot_is_resigned_and_reaches_ditto_by_ixfr():
    before = {z: (knot_serial(z), zone_status(z)) for z in ZONES}
    t = time.monotonic()
    for z in ZONES:
        change(z)
    for z in ZONES:
        wait_for("Knot's new serial of " + z, lambda: knot_serial(z) > before[z][0],
                 timeout=15)
        wait_for("%s at Knot's new serial through the dataplane" % z,
                 lambda: ditto_serial(z) == knot_serial(z), timeout=30)
        st = zone_status(z)
        expect(st["ixfr"] > before[z][1]["ixfr"] and st["axfr"] == before[z][1]["axfr"],
               "%s: not by IXFR: before %s, after %s" % (z, before[z][1], st))
    sys.stdout.write("    (change to served in %.2f s)\n" % (time.monotonic() - t))


def test_reference_knot_validates_the_changed_corpus():
    check("ref", the_corpus(True), "Knot, after the change")


def test_ditto_after_the_ixfr_all_secure_again():
    check("ditto", the_corpus(True), "after the IXFR")


def test_ditto_referrals_after_the_ixfr():
    check_referrals(True)


def test_ditto_over_tcp_the_same():
    """The corpus again through an unbound that asks ditto over TCP only:
    the dataplane's TCP service answers from the same images."""
    tcp = lambda: ask(DP_SOCK, {"cmd": "stats"}).get("tcp", {}).get("answers", 0)
    before = tcp()
    check("ditto-tcp", the_corpus(True), "over TCP, after the IXFR")
    expect(tcp() > before, "the dataplane's TCP service answered nothing: %r" %
           ask(DP_SOCK, {"cmd": "stats"}).get("tcp"))


def test_ditto_processes_survived():
    expect(procs["control"].poll() is None, "ditto-control exited")
    log = open(os.path.join(LAB, "control.log"), errors="replace").read()
    expect("AddressSanitizer" not in log and "runtime error" not in log, log[-3000:])
    dp = open(os.path.join(LAB, "dataplane.log"), errors="replace").read()
    expect("AddressSanitizer" not in dp and "runtime error" not in dp, dp[-3000:])
    expect(ditto_serial(ZONES[0]) is not None, "the dataplane stopped answering")


TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]

def stop(name, timeout=10):
    p = procs.pop(name, None)
    return None if p is None else labkit.stop_process(p, signal.SIGTERM, timeout)


def main():
    session = labkit.LabSession('dnssec', TESTS, ONLY, BUILD, LAB)
    Env.env["PATH"] = Env.env.get("PATH", "") + ":/usr/sbin:/sbin"
    missing = [t for t in ("knotd", "knotc", "keymgr", "kdig", "ip", "unbound",
                           "unbound-control", "unbound-checkconf")
               if not shutil.which(t, path=Env.env["PATH"])]
    missing += [p for p in (CONTROL, PYTHON) if not os.access(p, os.X_OK)]
    if run([PYTHON, "-c", "import dns.message"], check=False).returncode != 0:
        missing.append("python3-dnspython")
    if missing:
        print("dnssec: missing %s (scripts/setup.sh installs knot, knot-dnsutils, unbound, "
              "python3-dnspython; ninja builds ditto-control)" % ", ".join(missing))
        print("dnssec: 0 passed, %d failed" % len(TESTS))
        shutil.rmtree(LAB, ignore_errors=True)
        return 1

    def setup():
        ref_link()
        start_knots()
        start_control()
        start_unbound("ref")
        start_unbound("ditto")
        start_unbound("ditto-tcp")

    def teardown():
        for name in ('unbound-ditto-tcp', 'unbound-ditto', 'unbound-ref', 'control', 'knot-primary', 'knot-child'):
            try:
                stop(name)
            except Exception as e:  # keep cleaning up
                print("dnssec: stopping %s: %s" % (name, e))

    passed, failed = session.run(setup, teardown, ('control.log', 'primary/knot.log', 'child/knot.log', 'unbound-ditto/unbound.out', 'dataplane.log'), tail=25)
    print("dnssec: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
