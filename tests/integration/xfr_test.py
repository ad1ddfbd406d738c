#!/usr/bin/python3
"""ditto-control on the lab: zones from real primaries (Knot DNS, BIND)
and from a scripted hostile one (fakeprimary.py), published to a real
ditto-dataplane on DPDK, asked by kdig from the client namespace.

    xfr_test.py BUILD_DIR [TEST...]

Needs root. Brings the lab up in a private directory, starts the primaries
in the primary namespace and ditto-control in the node namespace, runs the
tests in order (they build on each other), takes everything down, and ends
with "xfr: N passed, M failed".
"""
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time

import labkit
from labkit import (Env, LAB_SH, NS_CLIENT, NS_NODE, NS_PRIMARY, ask, expect,
                    in_ns, popen_ns, run, run_tests, wait_for)

BUILD, ONLY, LAB = labkit.test_dirs("ditto-xfr-test.")
CONTROL = os.path.join(BUILD, "control", "ditto-control")
DITTOCTL = os.path.join(BUILD, "control", "dittoctl")
DP_SOCK = os.path.join(LAB, "dataplane.sock")
CTL_SOCK = os.path.join(LAB, "control.sock")
SERVICE = "192.0.2.53"
KNOT, BIND, FAKE, DEAD = "10.53.0.1", "10.53.0.3", "10.53.0.4", "10.53.0.9"
DOWNSTREAM = "10.53.0.5"
NODE_MGMT = "10.53.0.2"
KEY = "xfr-key"
SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LWtleQ=="
WRONG = "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA=="
FAKE_DIR = os.path.join(LAB, "fake")
procs = {}


# --- the primaries ----------------------------------------------------------

def zone_text(origin, serial, extra=()):
    lines = ["$ORIGIN %s." % origin, "$TTL 300",
             "@ IN SOA ns1 hostmaster %d 2 1 3600 300" % serial,
             "@ IN NS ns1", "ns1 IN A 192.0.2.1",
             'serial IN TXT "%d"' % serial, "www IN A 192.0.2.80"]
    return "\n".join(lines + list(extra)) + "\n"


def knot_head(d, listen):
    """What both Knot DNS instances' configurations start with."""
    return labkit.knot_head(d, listen + "@53", KEY, SECRET)


def knot_conf():
    d = os.path.join(LAB, "knot")
    return knot_head(d, KNOT) + """remote:
  - id: ditto
    address: %(node)s@53
    key: %(key)s
acl:
  - id: xfr
    key: %(key)s
    action: transfer
template:
  - id: default
    storage: %(d)s
    zonefile-sync: -1
    zonefile-load: difference
    journal-content: changes
zone:
  - domain: a.test
    file: a.test.zone
    acl: xfr
    notify: ditto
  - domain: d.test
    file: d.test.zone
    acl: xfr
""" % {"d": d, "key": KEY, "node": NODE_MGMT}


def knotc(*args, **kw):
    return in_ns(NS_PRIMARY, "knotc", "-c", os.path.join(LAB, "knot", "knot.conf"),
                 *args, **kw)


def start_knot():
    d = os.path.join(LAB, "knot")
    os.makedirs(os.path.join(d, "db"), exist_ok=True)
    with open(os.path.join(d, "knot.conf"), "w") as f:
        f.write(knot_conf())
    for z in ("a.test", "d.test"):
        with open(os.path.join(d, z + ".zone"), "w") as f:
            f.write(zone_text(z, 1))
    procs["knot"] = popen_ns(NS_PRIMARY, ["knotd", "-c", os.path.join(d, "knot.conf")],
                             os.path.join(d, "knotd.out"))
    wait_for("knotd", lambda: knotc("zone-status", "a.test", check=False).returncode == 0)


def start_bind():
    d = os.path.join(LAB, "bind")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "b.test.zone"), "w") as f:
        f.write(zone_text("b.test", 7, ["mail IN MX 10 www"]))
    with open(os.path.join(d, "named.conf"), "w") as f:
        f.write("""options {
  directory "%(d)s";
  pid-file "%(d)s/named.pid";
  listen-on port 53 { %(bind)s; };
  listen-on-v6 { none; };
  recursion no;
  notify no;
  dnssec-validation no;
  allow-transfer { key %(key)s; };
};
key "%(key)s" { algorithm hmac-sha256; secret "%(secret)s"; };
zone "b.test" { type primary; file "%(d)s/b.test.zone"; };
""" % {"d": d, "bind": BIND, "key": KEY, "secret": SECRET})
    procs["bind"] = popen_ns(NS_PRIMARY, ["named", "-g", "-c", os.path.join(d, "named.conf")],
                             os.path.join(d, "named.out"))
    wait_for("named", lambda: "NOERROR" in in_ns(
        NS_PRIMARY, "kdig", "+time=1", "+retry=0", "@" + BIND, "b.test", "SOA",
        check=False).stdout)


def fake_zone(name, serials, current, mode="ok", expire=8):
    """Set what the fake primary serves for name: serial -> extra lines."""
    data = {"serials": {}, "current": current, "mode": mode, "expire": expire}
    for s, extra in serials.items():
        data["serials"][str(s)] = ["@ 300 IN NS ns1", "ns1 300 IN A 192.0.2.1",
                                   'serial 300 IN TXT "%d"' % s,
                                   "www 300 IN A 192.0.2.80"] + list(extra)
    path = os.path.join(FAKE_DIR, name + ".json")
    with open(path + ".tmp", "w") as f:
        json.dump(data, f)
    os.rename(path + ".tmp", path)


def fake_mode(name, mode):
    path = os.path.join(FAKE_DIR, name + ".json")
    data = json.load(open(path))
    data["mode"] = mode
    with open(path + ".tmp", "w") as f:
        json.dump(data, f)
    os.rename(path + ".tmp", path)


def start_fake():
    os.makedirs(FAKE_DIR, exist_ok=True)
    fake_zone("c.test", {1: []}, 1, "ixfr-refused")
    fake_zone("e.test", {1: []}, 1)
    fake_zone("h.test", {1: []}, 1)
    fake_zone("k.test", {1: []}, 1)
    script = os.path.join(labkit.ROOT, "tests", "integration", "fakeprimary.py")
    procs["fake"] = popen_ns(NS_PRIMARY, ["/usr/bin/python3", script, FAKE, "53",
                                          FAKE_DIR, KEY, SECRET],
                             os.path.join(LAB, "fake.out"))
    wait_for("the fake primary", lambda: "ready" in open(os.path.join(LAB, "fake.out")).read())


# --- ditto-control ------------------------------------------------------------

def control_conf():
    return """node:
  identity: lab-node
  state-dir: %(lab)s/state
  management-addresses: [%(node)s]
  control-socket: %(ctl)s
  log-level: debug
  metrics: %(node)s@9153
dataplane:
  socket: %(dp)s
control:
  timers: { refresh-min: 1, retry-min: 1, retry-max: 2, expire-min: 5 }
  transfer-timeout: 30
  tcp-timeout: 3
  max-zone-records: 1000
  max-zones: 8
  tcp-connections-per-client: 4
  control-request-max: 8192
keys:
  - id: %(key)s
    algorithm: hmac-sha256
    secret: %(secret)s
remotes:
  - { id: knot, address: %(knot)s, key: %(key)s }
  - { id: bind, address: %(bind)s, key: %(key)s }
  - { id: fake, address: %(fake)s, key: %(key)s }
  - { id: dead, address: %(dead)s, key: %(key)s }
  - { id: knot2, address: %(down)s, key: %(key)s }
acls:
  - { id: downstream, address: %(down)s, key: %(key)s, action: transfer }
zones:
  - { domain: a.test, primaries: [knot], allow-transfer: [downstream],
      notify: [knot2] }
  - { domain: b.test, primaries: [bind] }
  - { domain: c.test, primaries: [fake] }
  - { domain: d.test, primaries: [dead, knot] }
  - { domain: e.test, primaries: [fake] }
  - { domain: h.test, primaries: [fake] }
  - { domain: k.test, primaries: [fake] }
""" % {"lab": LAB, "node": NODE_MGMT, "ctl": CTL_SOCK, "dp": DP_SOCK,
       "key": KEY, "secret": SECRET, "knot": KNOT, "bind": BIND, "fake": FAKE,
       "dead": DEAD, "down": DOWNSTREAM}


def start_control():
    path = os.path.join(LAB, "control.yaml")
    with open(path, "w") as f:
        f.write(control_conf())
    if os.path.exists(CTL_SOCK):
        os.unlink(CTL_SOCK)  # left by a process killed with -9
    procs["control"] = popen_ns(NS_NODE, [CONTROL, "--config", path],
                                os.path.join(LAB, "control.log"))
    wait_for("control.sock", lambda: ask(CTL_SOCK, {"cmd": "status"})["ok"])


def stop_control(sig=signal.SIGTERM):
    p = procs.pop("control", None)
    if p:
        p.send_signal(sig)
        p.wait(timeout=20)
        return p.returncode
    return None


def zone(name):
    r = ask(CTL_SOCK, {"cmd": "zone-status", "zone": name})
    expect(r["ok"], r)
    return r["zones"][0]


def served(name, rtype="TXT", qname=None):
    """The dataplane's answer from the client namespace, as kdig prints it."""
    return in_ns(NS_CLIENT, "kdig", "+time=1", "+retry=1", "@" + SERVICE,
                 qname or "serial." + name, rtype, check=False).stdout


def serial_served(name):
    out = served(name)
    for line in out.splitlines():
        if "\tTXT\t" in line:
            return int(line.split('"')[1])
    return None


def refresh(name, axfr=False):
    r = ask(CTL_SOCK, {"cmd": "zone-retransfer" if axfr else "zone-refresh", "zone": name})
    expect(r["ok"], r)


def attempts(name):
    z = zone(name)
    return z["refreshes"], z["last-result"]


def refreshed_after(name, before):
    """Wait until the zone has finished a refresh begun after before."""
    def done():
        z = zone(name)
        return z if z["refreshes"] > before and not z["refreshing"] else None
    return wait_for("a refresh of " + name, done, timeout=30)


# --- the tests ----------------------------------------------------------------

def test_bootstrap_by_axfr_from_knot_with_tsig_hmac_sha256():
    wait_for("a.test answering through the dataplane", lambda: serial_served("a.test") == 1)
    z = zone("a.test")
    expect(z["state"] == "ok" and z["serial"] == 1 and z["axfr"] == 1, z)
    wait_for("published", lambda: zone("a.test")["published"])


def test_bootstrap_by_axfr_from_bind_with_tsig_hmac_sha256():
    wait_for("b.test answering", lambda: serial_served("b.test") == 7)
    out = served("b.test", "MX", "mail.b.test")
    expect("10 www.b.test." in out, out)


def test_first_primary_down_then_failover_to_the_second():
    wait_for("d.test answering", lambda: serial_served("d.test") == 1, timeout=40)
    z = zone("d.test")
    expect(z["primary"] == "knot", z)


def test_notify_then_ixfr_and_the_new_data_answers():
    before = zone("a.test")["ixfr"]
    with open(os.path.join(LAB, "knot", "a.test.zone"), "w") as f:
        f.write(zone_text("a.test", 2, ["new IN A 192.0.2.2"]))
    t = time.monotonic()
    knotc("zone-reload", "a.test")
    wait_for("serial 2 through the dataplane", lambda: serial_served("a.test") == 2)
    took = time.monotonic() - t
    z = zone("a.test")
    expect(z["ixfr"] == before + 1 and z["notifies"] >= 1, z)
    out = served("a.test", "A", "new.a.test")
    expect("192.0.2.2" in out, out)
    sys.stdout.write("    (reload to answer in %.2f s)\n" % took)


def test_ixfr_refused_by_the_primary_then_axfr_fallback():
    wait_for("c.test at serial 1", lambda: serial_served("c.test") == 1)
    fake_zone("c.test", {1: [], 2: ["two 300 IN A 192.0.2.22"]}, 2, "ixfr-refused")
    n, _ = attempts("c.test")
    refresh("c.test")
    z = refreshed_after("c.test", n)
    expect(z["serial"] == 2 and z["axfr"] == 2 and z["ixfr"] == 0, z)
    log = open(os.path.join(LAB, "control.log")).read()
    expect("trying AXFR" in log, log[-2000:])
    wait_for("serial 2 served", lambda: serial_served("c.test") == 2)


def notify(name, keyring=None, src=KNOT):
    """A NOTIFY from the primary namespace; the answer's rcode and whether
    it carried a TSIG error."""
    code = """
import dns.message, dns.query, dns.opcode, dns.tsigkeyring, dns.tsig, sys, dns.rdatatype
q = dns.message.make_query(%r, dns.rdatatype.SOA)
q.set_opcode(dns.opcode.NOTIFY)
ring = %r
if ring:
    q.use_tsig(dns.tsigkeyring.from_text(ring), list(ring)[0], algorithm=dns.tsig.HMAC_SHA256)
try:
    r = dns.query.udp(q, %r, timeout=3, source=%r, ignore_trailing=True)
    print(dns.rcode.to_text(r.rcode()))
except dns.tsig.PeerError as e:
    print("TSIG-" + type(e).__name__)
""" % (name, keyring, NODE_MGMT, src)
    return in_ns(NS_PRIMARY, "/usr/bin/python3", "-c", code).stdout.strip()


def test_notify_with_a_bad_or_missing_key_is_ignored():
    z0 = zone("a.test")
    unsigned = notify("a.test")
    wrong = notify("a.test", {KEY: WRONG})
    unknown = notify("a.test", {"other-key": SECRET})
    z1 = zone("a.test")
    expect(unsigned == "REFUSED", "unsigned NOTIFY answered %s" % unsigned)
    expect(wrong in ("NOTAUTH", "TSIG-PeerBadSignature"), "wrong secret: %s" % wrong)
    expect(unknown in ("NOTAUTH", "TSIG-PeerBadKey"), "unknown key: %s" % unknown)
    expect(z1["notifies"] == z0["notifies"] and
           z1["notifies-refused"] == z0["notifies-refused"] + 3, (z0, z1))
    good = notify("a.test", {KEY: SECRET})
    expect(good == "NOERROR", good)
    wait_for("the good NOTIFY counted", lambda: zone("a.test")["notifies"] == z0["notifies"] + 1)


def test_transfer_with_a_wrong_tsig_is_rejected_and_the_old_data_kept():
    wait_for("h.test at serial 1", lambda: serial_served("h.test") == 1)
    fake_zone("h.test", {1: [], 2: []}, 2, "tsig-bad")
    n, _ = attempts("h.test")
    refresh("h.test")
    z = refreshed_after("h.test", n)
    expect(z["serial"] == 1 and "TSIG" in z["last-error"], z)
    expect(serial_served("h.test") == 1, served("h.test"))


HOSTILE = ["unsigned", "tsig-bad", "wrong-zone", "truncated", "no-closing-soa",
           "serial-mismatch", "out-of-zone", "oversized", "garbage",
           "compression-loop", "meta-type"]


def test_hostile_primary_never_replaces_good_data():
    # Good data at serial 1 first: every hostile transfer offers serial 2,
    # asked for by AXFR (zone-retransfer).
    # An expire long enough for every mode on a slow machine: failed
    # transfers do not confirm serial 1, and expiry is another test.
    fake_zone("h.test", {1: []}, 1, "ok", expire=600)
    n, _ = attempts("h.test")
    refresh("h.test", axfr=True)
    refreshed_after("h.test", n)
    wait_for("h.test at serial 1", lambda: serial_served("h.test") == 1)
    seen = {}
    for mode in HOSTILE:
        fake_zone("h.test", {1: [], 2: ['evil 300 IN TXT "replaced"'] + [
            "h%d 300 IN A 192.0.2.%d" % (i, i + 1) for i in range(60)]}, 2, mode,
            expire=600)
        n, _ = attempts("h.test")
        refresh("h.test", axfr=True)
        z = refreshed_after("h.test", n)
        seen[mode] = z["last-error"]
        expect(z["serial"] == 1, "%s replaced the data: %s" % (mode, z))
        expect(z["last-result"].startswith("failed") and z["last-error"],
               "%s: no error recorded: %s" % (mode, z))
        expect(serial_served("h.test") == 1, "%s: %s" % (mode, served("h.test")))
    for mode, err in seen.items():
        sys.stdout.write("    %-18s %s\n" % (mode, err[:150]))
    log = open(os.path.join(LAB, "control.log")).read()
    expect("zone h.test.: refresh failed (fake %s" % FAKE in log,
           "errors not logged with zone and primary")


def test_broken_ixfr_falls_back_to_a_whole_axfr():
    # An IXFR that does not apply to our serial is refused whole; the
    # AXFR that follows is the primary's complete zone.
    for mode, why in (("ixfr-out-of-order", "IXFR sequence starts at serial"),
                      ("ixfr-bad-delete", "out of sync")):
        fake_zone("h.test", {1: []}, 1, "ok")
        n, _ = attempts("h.test")
        refresh("h.test", axfr=True)
        refreshed_after("h.test", n)
        wait_for("h.test back at 1", lambda: serial_served("h.test") == 1)
        fake_zone("h.test", {1: [], 2: ['evil 300 IN TXT "new"']}, 2, mode)
        n, _ = attempts("h.test")
        refresh("h.test")
        z = refreshed_after("h.test", n)
        expect(z["serial"] == 2 and z["ixfr"] == 0, (mode, z))
        log = open(os.path.join(LAB, "control.log")).read()
        expect(why in log and "trying AXFR" in log, mode)
        out = served("h.test", "TXT", "evil.h.test")
        expect('"new"' in out and "ghost" not in out, out)


def test_every_primary_down_until_expiry_servfail_then_recovery():
    wait_for("e.test at serial 1", lambda: serial_served("e.test") == 1)
    fake_mode("e.test", "down")
    # SOA expire 8 s (clamped to at least 5): SERVFAIL within about 12 s.
    t = time.monotonic()
    wait_for("SERVFAIL for e.test", lambda: "status: SERVFAIL" in served("e.test"),
             timeout=30)
    z = zone("e.test")
    expect(z["state"] == "expired", z)
    sys.stdout.write("    (expired after %.1f s without a primary)\n" % (time.monotonic() - t))
    fake_mode("e.test", "ok")
    wait_for("e.test back", lambda: serial_served("e.test") == 1, timeout=30)
    expect(zone("e.test")["state"] == "ok", zone("e.test"))


def test_kill_9_during_a_transfer_then_restart():
    wait_for("k.test at serial 1", lambda: serial_served("k.test") == 1)
    fake_zone("k.test", {1: [], 2: ["x%d 300 IN A 192.0.2.%d" % (i, i % 250 + 1)
                                    for i in range(200)]}, 2, "slow")
    refresh("k.test", axfr=True)
    wait_for("the transfer under way", lambda: zone("k.test")["refreshing"], timeout=10)
    time.sleep(2)
    stop_control(signal.SIGKILL)
    expect(serial_served("k.test") == 1, served("k.test"))
    state = json.load(open(os.path.join(LAB, "state", "control", "k.test.state")))
    expect(state["serial"] == 1, state)
    fake_mode("k.test", "ok")
    start_control()
    log = open(os.path.join(LAB, "control.log")).read()
    expect("zone k.test.: serial 1 from the state directory (ok" in log, log[-3000:])
    wait_for("k.test serial 2 after the restart", lambda: serial_served("k.test") == 2,
             timeout=30)
    # The other zones came back from the state directory as they were.
    expect(zone("a.test")["serial"] == 2, zone("a.test"))


def test_restart_of_the_dataplane_alone():
    run([LAB_SH, "stop"])
    run([LAB_SH, "start", "--keep-state", "--build", BUILD], timeout=120)
    for name, serial in (("a.test", 2), ("b.test", 7), ("c.test", 2), ("k.test", 2)):
        wait_for("%s serial %d after the dataplane restart" % (name, serial),
                 lambda: serial_served(name) == serial, timeout=20)


def test_images_of_another_format_version_are_compiled_again_and_served():
    # As after an upgrade that changes the image format: every image the
    # dataplane and ditto-control keep says version 1 (the format before
    # the NH index). The dataplane refuses them and serves nothing; the
    # control process compiles each zone's saved contents again and
    # publishes the new images.
    stop_control()
    run([LAB_SH, "stop"])
    olds = []
    for root, _, files in os.walk(os.path.join(LAB, "state")):
        for f in files:
            path = os.path.join(root, f)
            if not f.endswith(".img"):
                continue
            with open(path, "r+b") as img:
                head = img.read(14)
                if head[:8] != b"DITTOIMG":
                    continue
                img.seek(12)
                img.write(struct.pack("=H", 1))
            olds.append(path)
    expect(any("/dataplane/" in p for p in olds) and
           any("/control/" in p for p in olds), olds)
    run([LAB_SH, "start", "--keep-state", "--build", BUILD], timeout=120)
    dplog = open(os.path.join(LAB, "dataplane.log")).read()
    expect("image format version 1, this build reads 2" in dplog, dplog[-3000:])
    expect("status: REFUSED" in served("a.test"), served("a.test"))
    start_control()
    for name, serial in (("a.test", 2), ("b.test", 7), ("c.test", 2), ("k.test", 2)):
        wait_for("%s serial %d compiled again" % (name, serial),
                 lambda: serial_served(name) == serial, timeout=20)
    log = open(os.path.join(LAB, "control.log")).read()
    expect("zone a.test.: image of serial 2 compiled again" in log, log[-3000:])


def test_knot_as_a_downstream_secondary_takes_axfr_then_ixfr_from_ditto():
    d = os.path.join(LAB, "knot2")
    os.makedirs(os.path.join(d, "db"), exist_ok=True)
    conf = os.path.join(d, "knot.conf")
    with open(conf, "w") as f:
        f.write(knot_head(d, DOWNSTREAM) + """remote:
  - id: ditto
    address: %(node)s@53
    via: %(down)s
    key: %(key)s
acl:
  - id: from-ditto
    address: %(node)s
    key: %(key)s
    action: notify
template:
  - id: default
    storage: %(d)s
    zonefile-sync: -1
zone:
  - domain: a.test
    master: ditto
    acl: from-ditto
""" % {"d": d, "down": DOWNSTREAM, "key": KEY, "node": NODE_MGMT})
    procs["knot2"] = popen_ns(NS_PRIMARY, ["knotd", "-c", conf], os.path.join(d, "out"))

    def downstream_serial():
        out = in_ns(NS_PRIMARY, "kdig", "+time=1", "+retry=0", "+short",
                    "@" + DOWNSTREAM, "a.test", "SOA", check=False).stdout.split()
        return int(out[2]) if len(out) > 2 else None
    wait_for("Knot's AXFR from ditto", lambda: downstream_serial() == 2, timeout=30)
    with open(os.path.join(LAB, "knot", "a.test.zone"), "w") as f:
        f.write(zone_text("a.test", 3, ["new IN A 192.0.2.3"]))
    knotc("zone-reload", "a.test")
    wait_for("serial 3 at ditto", lambda: serial_served("a.test") == 3)
    wait_for("serial 3 at Knot, from ditto", lambda: downstream_serial() == 3, timeout=30)
    out = in_ns(NS_PRIMARY, "kdig", "+short", "@" + DOWNSTREAM, "new.a.test", "A").stdout
    expect("192.0.2.3" in out, out)
    # ditto told Knot (NOTIFY, signed) and Knot took the difference
    # from ditto's journal (IXFR, not the whole zone).
    clog = os.path.join(LAB, "control.log")
    wait_for("Knot's answer to ditto's NOTIFY", lambda: "a.test.: NOTIFY of serial 3 "
             "answered by knot2" in open(clog).read(), timeout=10)
    klog = os.path.join(d, "knot.log")
    wait_for("Knot's IXFR from ditto", lambda: "IXFR of a.test. 2 -> 3 to a downstream "
             "with key xfr-key.: sent" in open(clog).read(), timeout=10)
    expect("notify, incoming, remote %s" % NODE_MGMT in open(klog).read(),
           open(klog).read()[-2000:])
    z = zone("a.test")
    expect(z["journal-diffs"] >= 1 and z["notifies-out"] >= 1, z)
    # The journal survives a restart of ditto-control: IXFR from serial 2
    # is the difference alone (the SOAs and new.a.test), not the zone.
    stop_control()
    start_control()
    wait_for("a.test ok after the restart", lambda: zone("a.test")["state"] == "ok")
    # IXFRs write the journal alone; the restart replayed it onto the
    # contents saved last.
    expect(re.search(r"a\.test\.: saved serial \d+ brought to 3 by its journal",
                     open(clog).read()), "no replay of the journal in the log")
    expect(zone("a.test")["serial"] == 3, zone("a.test"))
    ixfr = in_ns(NS_PRIMARY, "kdig", "+time=2", "-b", DOWNSTREAM, "-y",
                 "hmac-sha256:%s:%s" % (KEY, SECRET), "@" + NODE_MGMT, "a.test",
                 "IXFR=2").stdout
    expect("new.a.test." in ixfr and "www.a.test." not in ixfr, ixfr)
    soas = [l for l in ixfr.splitlines() if "\tSOA\t" in l]
    expect(len(soas) == 4, ixfr)     # new, old, new (sequence), new
    # EDNS EXPIRE (RFC 7314): the seconds ditto's copy has left.
    out = in_ns(NS_PRIMARY, "kdig", "+time=2", "+expire", "-b", DOWNSTREAM, "-y",
                "hmac-sha256:%s:%s" % (KEY, SECRET), "@" + NODE_MGMT, "a.test",
                "SOA").stdout
    m = re.search(r"EXPIRE: (\d+)", out)
    expect(m and 0 < int(m.group(1)) <= 3600, out)
    # Without the key, or for a zone without allow-transfer: refused.
    p = in_ns(NS_PRIMARY, "kdig", "+time=2", "@" + NODE_MGMT, "a.test", "AXFR",
              check=False)
    expect("REFUSED" in p.stdout + p.stderr, p.stdout + p.stderr)
    p = in_ns(NS_PRIMARY, "kdig", "+time=2", "-y", "hmac-sha256:%s:%s" % (KEY, SECRET),
              "@" + NODE_MGMT, "b.test", "AXFR", check=False)
    expect("REFUSED" in p.stdout + p.stderr, p.stdout + p.stderr)
    log = open(os.path.join(d, "knot.log")).read()
    expect("IXFR" in log or "AXFR" in log, log[-2000:])


# --- dittoctl, metrics and health ---------------------------------------------

def dittoctl(*args):
    return run([DITTOCTL, "--control-socket", CTL_SOCK, "--dataplane-socket", DP_SOCK]
               + list(args), check=False)


def http_get(path):
    """GET on the metrics endpoint from the primary's namespace: status, body."""
    code = ("import urllib.request, urllib.error, sys\n"
            "try:\n"
            "    r = urllib.request.urlopen('http://%s:9153%s', timeout=10)\n"
            "    print(r.status); sys.stdout.write(r.read().decode())\n"
            "except urllib.error.HTTPError as e:\n"
            "    print(e.code); sys.stdout.write(e.read().decode())\n" % (NODE_MGMT, path))
    out = in_ns(NS_PRIMARY, "/usr/bin/python3", "-c", code).stdout
    status, _, body = out.partition("\n")
    return int(status), body


def metric(text, name):
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else None


def test_dittoctl_commands_and_their_errors():
    p = dittoctl("status")
    expect(p.returncode == 0 and "ditto-dataplane" in p.stdout and "ditto-control" in p.stdout
           and "link up" in p.stdout, p.stdout + p.stderr)
    st = json.loads(dittoctl("--json", "status").stdout)
    expect(st["dataplane"]["ok"] and st["control"]["zones"] == 7, st)
    p = dittoctl("zone-list")
    expect(p.returncode == 0 and re.search(r"^a\.test\.\s+ok\s+\d+", p.stdout, re.M), p.stdout)
    p = dittoctl("zone-status", "a.test")
    expect(p.returncode == 0 and re.search(r"^serial\s+\d+", p.stdout, re.M), p.stdout)
    z = json.loads(dittoctl("--json", "zone-status", "a.test").stdout)["zones"][0]
    expect(z["zone"] == "a.test.", z)
    # Unknown zone, unknown command, missing socket, bad option: said and
    # told by the exit status.
    p = dittoctl("zone-status", "nosuch.test")
    expect(p.returncode == 1 and "not configured" in p.stderr, (p.returncode, p.stderr))
    p = dittoctl("zone-refresh", "nosuch.test")
    expect(p.returncode == 1 and "not configured" in p.stderr, (p.returncode, p.stderr))
    p = dittoctl("bogus")
    expect(p.returncode == 2, p.returncode)
    p = dittoctl("health", "--max-expired", "many")
    expect(p.returncode == 2, p.returncode)
    p = run([DITTOCTL, "--control-socket", "/nonexistent/control.sock", "--dataplane-socket",
             DP_SOCK, "status"], check=False)
    expect(p.returncode == 1 and "not answering" in p.stdout and "No such file" in p.stderr,
           p.stdout + p.stderr)
    # The socket paths from the node's configuration file.
    p = run([DITTOCTL, "--config", os.path.join(LAB, "control.yaml"), "zone-list"], check=False)
    expect(p.returncode == 0 and "a.test." in p.stdout, p.stdout + p.stderr)
    # Refresh, retransfer, notify.
    before = zone("a.test")
    expect(dittoctl("zone-refresh", "a.test").returncode == 0, "zone-refresh")
    wait_for("a.test refreshed", lambda: zone("a.test")["refreshes"] > before["refreshes"])
    p = dittoctl("zone-retransfer", "a.test")
    expect(p.returncode == 0 and "AXFR" in p.stdout, p.stdout)
    wait_for("a.test transferred by AXFR", lambda: zone("a.test")["axfr"] > before["axfr"])
    p = dittoctl("zone-notify", "a.test")
    expect(p.returncode == 0 and "NOTIFY sent to 1" in p.stdout, p.stdout + p.stderr)
    p = dittoctl("zone-notify", "b.test")     # no downstream configured
    expect(p.returncode == 0 and "NOTIFY sent to 0" in p.stdout, p.stdout + p.stderr)


def test_stats_and_metrics_move_with_queries_and_transfers():
    p = dittoctl("stats")
    expect(p.returncode == 0 and re.search(r"^total\s+\d+", p.stdout, re.M)
           and "transfers:" in p.stdout, p.stdout)
    prom = dittoctl("stats", "--prometheus").stdout
    q0 = metric(prom, 'ditto_queries_total{protocol="udp"}')
    expect(q0 is not None, prom[:2000])
    for _ in range(20):
        served("a.test")
    status, body = http_get("/metrics")
    expect(status == 200, (status, body[:500]))
    for name in ('ditto_up{process="dataplane"} 1', 'ditto_up{process="control"} 1',
                 'ditto_zone_serial{zone="a.test."}', 'ditto_zone_expire_seconds{zone="a.test."}',
                 'ditto_zone_transfers_total{zone="a.test.",result="success"}',
                 'ditto_zone_transfers_total{zone="a.test.",result="failure"}',
                 'ditto_zone_last_refresh_timestamp_seconds{zone="a.test."}',
                 'ditto_responses_total{rcode="NOERROR"}', 'ditto_queries_by_qtype_total{qtype="TXT"}',
                 'ditto_worker_rx_packets_total{worker="0"}', 'ditto_worker_drops_total{worker="0",',
                 'ditto_queries_total{protocol="tcp"}', "# TYPE ditto_zone_transfers_total counter"):
        expect(name in body, "%s missing from /metrics" % name)
    q1 = metric(body, 'ditto_queries_total{protocol="udp"}')
    expect(q1 >= q0 + 20, (q0, q1))
    t0 = metric(body, 'ditto_zone_transfers_total{zone="a.test.",result="success"}')
    refresh("a.test", axfr=True)
    wait_for("the transfer counted in /metrics", lambda: metric(
        http_get("/metrics")[1], 'ditto_zone_transfers_total{zone="a.test.",result="success"}')
        > t0)
    status, body = http_get("/health")
    expect(status == 200 and body.startswith("healthy"), (status, body))
    status, _ = http_get("/nope")
    expect(status == 404, status)


def test_health_withdraws_when_the_dataplane_stops_and_returns_with_it():
    p = dittoctl("health", "--max-expired", "7")
    expect(p.returncode == 0 and p.stdout.startswith("healthy"), p.stdout)
    run([LAB_SH, "stop"])
    try:
        p = dittoctl("health")
        expect(p.returncode == 1 and "dataplane does not answer" in p.stdout, p.stdout)
        status, body = http_get("/health")
        expect(status == 503 and "dataplane" in body, (status, body))
        h = json.loads(dittoctl("--json", "health").stdout)
        expect(h["healthy"] is False and h["reason"], h)
    finally:
        run([LAB_SH, "start", "--keep-state", "--build", BUILD], timeout=120)
    wait_for("healthy again", lambda: dittoctl("health").returncode == 0, timeout=20)


def refused(name):
    return "status: REFUSED" in served(name)


def test_zone_add_and_remove_at_run_time_kept_across_restarts():
    fake_zone("n.test", {1: []}, 1, "ok", expire=600)
    p = dittoctl("zone-add", "x.test", "--primaries", "nope")
    expect(p.returncode == 1 and "zones-added.json" in p.stderr and "unknown remote 'nope'"
           in p.stderr, p.stderr)
    p = dittoctl("zone-add", "n.test", "--primaries", "fake")
    expect(p.returncode == 0 and "added" in p.stdout, p.stdout + p.stderr)
    wait_for("n.test served", lambda: serial_served("n.test") == 1)
    expect(zone("n.test")["added-at-run-time"] is True, zone("n.test"))
    p = dittoctl("zone-add", "n.test", "--primaries", "fake")
    expect(p.returncode == 1 and "configured already" in p.stderr, p.stderr)
    # Past control: max-zones (8 with n.test): refused, counted.
    p = dittoctl("zone-add", "x2.test", "--primaries", "fake")
    expect(p.returncode == 1 and "max-zones" in p.stderr, p.stderr)
    expect(ask(CTL_SOCK, {"cmd": "status"})["zones-refused"] >= 1, "zones-refused")
    p = dittoctl("zone-add", "x.test")
    expect(p.returncode == 2 and "--primaries" in p.stderr, p.stderr)
    p = dittoctl("zone-remove", "a.test")
    expect(p.returncode == 1 and "configuration file" in p.stderr, p.stderr)
    # Across a restart of ditto-control.
    stop_control()
    start_control()
    wait_for("n.test after the restart", lambda: zone("n.test")["state"] == "ok")
    p = dittoctl("zone-remove", "n.test")
    expect(p.returncode == 0, p.stdout + p.stderr)
    wait_for("n.test withdrawn", lambda: refused("n.test"))
    p = dittoctl("zone-status", "n.test")
    expect(p.returncode == 1 and "not configured" in p.stderr, p.stderr)
    expect(serial_served("a.test") is not None, served("a.test"))


def test_reload_applies_a_good_file_without_dropping_a_query_and_refuses_a_bad_one():
    path = os.path.join(LAB, "control.yaml")
    good = control_conf()
    fake_zone("m.test", {1: []}, 1, "ok", expire=600)
    answers, stop = [], []

    def ask_loop():
        while not stop:
            answers.append(serial_served("a.test"))
    t = threading.Thread(target=ask_loop)
    t.start()
    try:
        # A broken file: refused, the running configuration kept.
        with open(path, "w") as f:
            f.write(good + "  - { domain: m.test, primaries: [fake], bogus: 1 }\n")
        p = dittoctl("reload")
        expect(p.returncode == 1 and "bogus" in p.stderr, p.stderr)
        expect(zone("a.test")["state"] == "ok", zone("a.test"))
        # A good one: m.test added and served.
        with open(path, "w") as f:
            f.write(good + "  - { domain: m.test, primaries: [fake] }\n")
        p = dittoctl("reload")
        expect(p.returncode == 0 and "reloaded" in p.stdout, p.stdout + p.stderr)
        wait_for("m.test served after the reload", lambda: serial_served("m.test") == 1)
        # A setting read only at start: refused with the reason.
        with open(path, "w") as f:
            f.write(good.replace("  log-level: debug\n", "  log-level: debug\n"
                                 "  socket-group: root\n"))
        p = dittoctl("reload")
        expect(p.returncode == 1 and "restart" in p.stderr, p.stderr)
        # Back to the first file: m.test withdrawn.
        with open(path, "w") as f:
            f.write(good)
        expect(dittoctl("reload").returncode == 0, "reload")
        wait_for("m.test withdrawn", lambda: refused("m.test"))
    finally:
        stop.append(1)
        t.join()
        with open(path, "w") as f:
            f.write(good)
    expect(len(answers) >= 5 and all(a == answers[0] and a is not None for a in answers),
           answers)
    sys.stdout.write("    (%d queries during the reloads, all answered)\n" % len(answers))


def test_limits_on_management_tcp_and_the_control_socket_refuse_and_count():
    # control: tcp-connections-per-client 4: a fifth connection from one
    # address is closed at once and counted; the first four still work.
    code = ("import socket, sys\n"
            "ss = []\n"
            "for i in range(5):\n"
            "    s = socket.create_connection(('%s', 53), timeout=3)\n"
            "    ss.append(s)\n"
            "s = ss[4]\n"
            "s.settimeout(3)\n"
            "try:\n"
            "    d = s.recv(10)\n"
            "except (ConnectionResetError, socket.timeout):\n"
            "    d = b'x'\n"
            "print('closed' if d == b'' else 'open')\n" % NODE_MGMT)
    before = ask(CTL_SOCK, {"cmd": "status"})["tcp-refused"]
    out = in_ns(NS_PRIMARY, "/usr/bin/python3", "-c", code).stdout.strip()
    expect(out == "closed", out)
    wait_for("the refusal counted",
             lambda: ask(CTL_SOCK, {"cmd": "status"})["tcp-refused"] > before)
    # control: control-request-max 8192: a longer request is refused with
    # a reason, counted, and the socket keeps answering.
    r = ask(CTL_SOCK, {"cmd": "status", "pad": "x" * 9000})
    expect(not r["ok"] and "control-request-max" in r["error"], r)
    st = ask(CTL_SOCK, {"cmd": "status"})
    expect(st["ok"] and st["control-requests-refused"] >= 1, st)
    expect(serial_served("a.test") is not None, "a.test still served")

def test_control_stops_cleanly_and_keeps_its_state():
    rc = stop_control()
    expect(rc == 0, "ditto-control exited %s" % rc)
    log = open(os.path.join(LAB, "control.log")).read()
    expect("AddressSanitizer" not in log and "runtime error" not in log, log[-3000:])
    state = json.load(open(os.path.join(LAB, "state", "control", "a.test.state")))
    expect(state["serial"] == 3 and state["last-refresh"] > 0, state)


TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]


def main():
    for tool in ("kdig", "knotd", "named", "ip"):
        if not shutil.which(tool) and not os.path.exists("/usr/sbin/" + tool):
            print("xfr: %s is missing (scripts/setup.sh installs it)" % tool)
            print("xfr: 0 passed, 1 failed")
            return 1
    Env.env["PATH"] = Env.env.get("PATH", "") + ":/usr/sbin:/sbin"
    passed = failed = 0
    try:
        up = run([LAB_SH, "up", "--build", BUILD, "--keep-state"], check=False, timeout=180)
        if up.returncode != 0:
            print(up.stdout + up.stderr)
            print("xfr: could not bring the lab up")
            print("xfr: 0 passed, %d failed" % len(TESTS))
            return 1
        for a in (BIND, FAKE, DOWNSTREAM):
            in_ns(NS_PRIMARY, "ip", "addr", "add", a + "/24", "dev", "mp0")
        start_knot()
        start_bind()
        start_fake()
        start_control()
        passed, failed = run_tests("xfr", TESTS, ONLY)
    except Exception as e:
        import traceback
        traceback.print_exc(file=sys.stdout)
        failed += 1
    finally:
        stop_control()
        for name, p in procs.items():
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        run([LAB_SH, "down"], check=False)
        if failed:
            for log in ("control.log", "fake.out", "knot/knot.log", "dataplane.log"):
                path = os.path.join(LAB, log)
                if os.path.exists(path):
                    print("---- the end of %s ----" % log)
                    print("".join(open(path).readlines()[-40:]))
        if not os.environ.get("KEEP"):
            shutil.rmtree(LAB, ignore_errors=True)
    print("xfr: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
