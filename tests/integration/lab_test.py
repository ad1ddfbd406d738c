#!/usr/bin/python3
"""ditto-dataplane on the lab (scripts/lab.sh): real DPDK on a veth, real
clients (kdig, dig, dnsperf, ping) in another network namespace.

    lab_test.py BUILD_DIR [TEST...]

Needs root, hugepages and network namespaces. Brings the lab up in a
private directory, runs every test (or the named ones) in order, brings it
down, and ends with "lab: N passed, M failed". A test that cannot run here
(a tool missing) fails: the suite installs every tool it uses.
"""
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

import dns.flags
import dns.message
import dns.query
import dns.rdatatype

import labkit
from labkit import Env, ROOT, LAB_SH, expect, run, run_tests

BUILD = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, "build")
ONLY = sys.argv[2:]
LAB = tempfile.mkdtemp(prefix="ditto-lab-test.")
ENV = Env.env
ENV["LAB_DIR"] = LAB
# Leaks inside libxdp/libbpf (the af_xdp driver's, on close) are not ours.
SUPP = os.path.join(LAB, "lsan.supp")
with open(SUPP, "w") as f:
    f.write("leak:libxdp.so\nleak:libbpf.so\nleak:xsk_umem__create\n")
ENV["LSAN_OPTIONS"] = "suppressions=%s:print_suppressions=0" % SUPP
ZONEC = os.path.join(BUILD, "control", "ditto-zone")
V4, V6 = "192.0.2.53", "2001:db8::53"
V4_VLAN, V6_VLAN = "198.51.100.53", "2001:db8:100::53"
SOCK = os.path.join(LAB, "dataplane.sock")


def client(*cmd, **kw):
    return run(["ip", "netns", "exec", "ditto-client"] + list(cmd), **kw)


def node(*cmd, **kw):
    return run(["ip", "netns", "exec", "ditto-node"] + list(cmd), **kw)


def ask(req, timeout=30):
    """One request on dataplane.sock, the decoded answer."""
    return labkit.ask(SOCK, req, timeout)


def stats():
    r = ask({"cmd": "stats"})
    assert r["ok"], r
    return r


def kdig(*args):
    return client("kdig", "+time=2", "+retry=1", *args).stdout


def udp_query(server, name, rdtype, **kw):
    """A dnspython query over UDP, run inside the client namespace."""
    return ns_python("""
import dns.message, dns.query, sys
q = dns.message.make_query(%r, %r, **%r)
r = dns.query.udp(q, %r, timeout=3)
sys.stdout.write(r.to_wire().hex())
""" % (name, rdtype, kw, server))


def ns_python(code, ns="ditto-client"):
    p = run(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", code])
    return dns.message.from_wire(bytes.fromhex(p.stdout.strip())) if p.stdout.strip() else None


def compile_zone(text, name):
    path = os.path.join(LAB, name + ".zone")
    with open(path, "w") as f:
        f.write(text)
    img = os.path.join(LAB, name + ".img")
    run([ZONEC, "compile", path, "-o", img])
    return img


def example_zone(serial, extra=""):
    return """$ORIGIN example.com.
$TTL 300
@ IN SOA ns1 hostmaster %d 3600 600 86400 300
@ IN NS ns1
ns1 IN A 192.0.2.1
www IN A 192.0.2.80
www IN A 192.0.2.81
www IN AAAA 2001:db8::80
serial IN TXT "%d"
%s""" % (serial, serial, extra)


BIG_ZONE = """$ORIGIN big.test.
$TTL 300
@ IN SOA ns hostmaster 1 3600 600 86400 300
@ IN NS ns
ns IN A 192.0.2.1
""" + "".join('txt IN TXT "%s"\n' % (("record %02d " % i) + "x" * 90) for i in range(30))


# --- the tests --------------------------------------------------------------

def test_answers_over_ipv4():
    out = kdig("@" + V4, "www.example.com", "A")
    expect("status: NOERROR" in out and "192.0.2.80" in out and
           "192.0.2.81" in out, out)
    expect(re.search(r"Flags: qr aa", out), "AA not set:\n" + out)


def test_answers_over_ipv6():
    out = kdig("@" + V6, "www.example.com", "AAAA")
    expect("status: NOERROR" in out and "2001:db8::80" in out, out)
    out = kdig("@" + V6, "nosuch.example.com", "A")
    expect("status: NXDOMAIN" in out and "SOA" in out, out)


def test_answers_through_vlan_100():
    for server in (V4_VLAN, V6_VLAN):
        out = kdig("@" + server, "www.example.com", "A")
        expect("status: NOERROR" in out and "192.0.2.80" in out,
               server + ":\n" + out)
    s = stats()["total"]
    expect(s["answers"] > 0, s)


def test_mixed_case_question_echoed_byte_for_byte():
    name = "wWw.ExAmPlE.cOm."
    r = udp_query(V4, name, "A")
    expect(r is not None and r.rcode() == 0, r)
    expect(str(r.question[0].name) == name,
           "question came back as %s" % r.question[0].name)


def test_identity_in_nsid_and_chaos():
    out = kdig("@" + V4, "+nsid", "example.com", "SOA")
    expect('"lab-node"' in out, out)
    out = kdig("@" + V4, "id.server", "TXT", "CH")
    expect('"lab-node"' in out, out)


def test_truncated_udp_answer_then_tcp_retry():
    r = ask({"cmd": "zone-load", "image": compile_zone(BIG_ZONE, "big")})
    expect(r["ok"], r)
    r = udp_query(V4, "txt.big.test.", "TXT")
    expect(r.flags & dns.flags.TC, "no TC over UDP without EDNS: %s" % r)
    # dig retries over TCP by itself on TC.
    out = client("dig", "+time=3", "+tries=1", "+noedns", "@" + V4,
                 "txt.big.test", "TXT").stdout
    expect("Truncated, retrying in TCP mode" in out, out)
    expect(out.count("IN\tTXT\t") == 30 and "(TCP)" in out, out)
    t = stats()["tcp"]
    expect(t["answers"] >= 1 and t["accepted"] >= 1, t)


def test_tcp_pipelined_queries_on_one_connection():
    out = client("kdig", "+tcp", "+keepopen", "@" + V4, "www.example.com",
                 "A", "example.com", "SOA", "nosuch.example.com", "A").stdout
    expect(out.count("status: NOERROR") == 2 and
           out.count("status: NXDOMAIN") == 1, out)


def test_ping_through_the_exception_path():
    for addr in (V4, V6, V4_VLAN):
        out = client("ping", "-c", "3", "-i", "0.2", "-W", "2", addr).stdout
        expect(" 0% packet loss" in out and "DUP" not in out, out)


def test_arp_and_nd_resolve_to_the_port_mac():
    mac = ask({"cmd": "status"})["port"]["mac"].lower()
    client("ping", "-c", "1", "-W", "2", V4)
    client("ping", "-c", "1", "-W", "2", V6)
    neigh = client("ip", "neigh", "show", "dev", "dc0").stdout.lower()
    for addr in (V4, V6):
        line = [l for l in neigh.splitlines() if l.startswith(addr + " ")]
        expect(line and mac in line[0], "%s not resolved to %s:\n%s" %
               (addr, mac, neigh))
    e = stats()["exception"]
    expect(e["to-kernel"] > 0 and e["from-kernel"] > 0, e)


def test_tcp_session_to_another_port_through_the_kernel():
    # A BGP-like session: a TCP listener on port 179 of the node's kernel.
    srv = subprocess.Popen(
        ["ip", "netns", "exec", "ditto-node", "/usr/bin/python3", "-c",
         "import socket\n"
         "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
         "s.bind(('%s', 179)); s.listen(1); s.settimeout(10)\n"
         "c, _ = s.accept(); c.settimeout(10); d = c.recv(100)\n"
         "c.sendall(b'OPEN ' + d); c.close()\n" % V4],
        env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)
        out = client("/usr/bin/python3", "-c",
                     "import socket\n"
                     "s = socket.create_connection(('%s', 179), timeout=5)\n"
                     "s.sendall(b'hello'); print(s.recv(100).decode())\n" % V4
                     ).stdout
        expect("OPEN hello" in out, out)
    finally:
        srv.kill()
        srv.wait()


def test_zone_swapped_100_times_under_dnsperf_load_loses_nothing():
    imgs = [compile_zone(example_zone(s), "swap%d" % s) for s in (11, 12)]
    qfile = os.path.join(LAB, "dnsperf.txt")
    with open(qfile, "w") as f:
        f.write("www.example.com A\nserial.example.com TXT\n"
                "nosuch.example.com A\nexample.com SOA\n")
    loops0 = stats()["total"]["loops"]
    perf = subprocess.Popen(
        ["ip", "netns", "exec", "ditto-client", "dnsperf", "-s", V4,
         "-d", qfile, "-l", "12", "-Q", "4000", "-t", "2", "-q", "100"],
        env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(1)
    slowest = 0.0
    for i in range(100):
        t = time.monotonic()
        r = ask({"cmd": "zone-load", "zone": "example.com",
                 "image": imgs[i % 2]}, timeout=10)
        slowest = max(slowest, time.monotonic() - t)
        expect(r["ok"] and r["serial"] == (11, 12)[i % 2], r)
        time.sleep(0.05)
    out, _ = perf.communicate(timeout=60)
    m = re.search(r"Queries sent:\s+(\d+).*?Queries completed:\s+(\d+).*?"
                  r"Queries lost:\s+(\d+)", out, re.S)
    expect(m, out)
    sent, done, lost = map(int, m.groups())
    expect(sent > 20000 and lost == 0 and done == sent,
           "sent %d, completed %d, lost %d:\n%s" % (sent, done, lost, out))
    # Every swap waited for a grace period; none waited on a stuck worker.
    expect(slowest < 2.0, "slowest swap took %.2f s" % slowest)
    expect(stats()["total"]["loops"] > loops0, "worker loop stopped")
    out = kdig("@" + V4, "serial.example.com", "TXT")
    expect('"12"' in out, out)


def test_reload_changes_identity_and_edns_live_under_dnsperf_and_refuses_the_rest():
    conf = os.path.join(LAB, "ditto.yaml")
    orig = open(conf).read()
    expect("identity: lab-node" in orig and "edns-size: 1232" in orig, orig)
    qfile = os.path.join(LAB, "dnsperf-reload.txt")
    with open(qfile, "w") as f:
        f.write("www.example.com A\nexample.com SOA\n")
    perf = subprocess.Popen(
        ["ip", "netns", "exec", "ditto-client", "dnsperf", "-s", V4,
         "-d", qfile, "-l", "6", "-Q", "4000", "-t", "2", "-q", "100"],
        env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(1)
        for i in range(10):
            with open(conf, "w") as f:
                f.write(orig.replace("identity: lab-node", "identity: lab-node-%d" % i)
                        .replace("edns-size: 1232", "edns-size: %d" % (1232 - i)))
            r = ask({"cmd": "reload"})
            expect(r["ok"] and "lab-node-%d" % i in r["applied"], r)
            time.sleep(0.2)
        out = kdig("@" + V4, "+nsid", "+bufsize=4096", "example.com", "SOA")
        expect("lab-node-9" in out and "UDP size: 1223 B" in out, out)
        # A setting bound at start: refused, naming it; the rest stays.
        with open(conf, "w") as f:
            f.write(orig.replace("identity: lab-node", "identity: other")
                    .replace("  workers: 1", "  workers: 2"))
        r = ask({"cmd": "reload"})
        expect(not r["ok"] and "workers" in r["error"] and "restart" in r["error"], r)
        out = kdig("@" + V4, "+nsid", "example.com", "SOA")
        expect("lab-node-9" in out, out)
        # A broken file: refused with its line.
        with open(conf, "w") as f:
            f.write(orig.replace("  workers: 1", "  workers: 1\n  bogus-key: 1"))
        r = ask({"cmd": "reload"})
        expect(not r["ok"] and "ditto.yaml" in r["error"] and "bogus-key" in r["error"], r)
    finally:
        with open(conf, "w") as f:
            f.write(orig)
        out, _ = perf.communicate(timeout=60)
    r = ask({"cmd": "reload"})
    expect(r["ok"] and "lab-node'" in r["applied"], r)
    m = re.search(r"Queries sent:\s+(\d+).*?Queries completed:\s+(\d+).*?"
                  r"Queries lost:\s+(\d+)", out, re.S)
    expect(m, out)
    sent, done, lost = map(int, m.groups())
    expect(sent > 10000 and lost == 0 and done == sent,
           "sent %d, completed %d, lost %d:\n%s" % (sent, done, lost, out))


FLOOD = r"""
import dns.message, dns.flags, socket, struct, sys, time
server, src, n, pause = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
s.settimeout(0.5)
q = dns.message.make_query("www.example.com", "A")
full = tc = 0
for i in range(n):
    q.id = i
    s.sendto(q.to_wire(), (server, 53))
    if pause:
        time.sleep(pause)
end = time.monotonic() + 2
while time.monotonic() < end:
    try:
        r = dns.message.from_wire(s.recv(4096))
    except (socket.timeout, Exception):
        break
    if r.flags & dns.flags.TC:
        tc += 1
    elif r.answer:
        full += 1
print(full, tc, n - full - tc)
"""


def flood(server, src, n, pause=0.0):
    """n queries from src: (full answers, TC answers, no answer)."""
    out = client("/usr/bin/python3", "-c", FLOOD, server, src, str(n), str(pause)).stdout
    return tuple(map(int, out.split()))


def test_rate_limiting_slips_and_drops_a_flood_while_another_client_gets_every_answer():
    conf = os.path.join(LAB, "ditto.yaml")
    orig = open(conf).read()
    on = orig.replace("  idle-sleep-us: 20\n", "  idle-sleep-us: 20\n  rrl:\n"
                      "    enabled: true\n    responses-per-second: 20\n"
                      "    slip: 2\n    window: 5\n")
    expect(on != orig, orig)
    s0 = stats()["total"]
    with open(conf, "w") as f:
        f.write(on)
    try:
        r = ask({"cmd": "reload"})
        expect(r["ok"] and "rrl on (20/s" in r["applied"], r)
        expect(ask({"cmd": "status"})["rrl"] is True, "status")
        # 400 queries at once from 192.0.2.10: about 20 answered, the
        # limited rest half TC, half dropped.
        full, tc, none = flood(V4, "192.0.2.10", 400)
        expect(full <= 45 and tc >= 120 and none >= 120, (full, tc, none))
        # Meanwhile another prefix (198.51.100.0/24, through VLAN 100),
        # below the rate: every answer.
        ok = flood(V4_VLAN, "198.51.100.10", 15, pause=0.05)
        expect(ok == (15, 0, 0), ok)
        # The limited client still gets its answer over TCP.
        out = kdig("@" + V4, "+tcp", "www.example.com", "A")
        expect("192.0.2.80" in out and "NOERROR" in out, out)
        s1 = stats()["total"]
        expect(s1["rrl-dropped"] - s0["rrl-dropped"] >= 120 and
               s1["rrl-slipped"] - s0["rrl-slipped"] >= 120, (s0, s1))
        sys.stdout.write("    flood of 400: %d answered, %d TC, %d dropped; the other "
                         "client 15 of 15\n" % (full, tc, none))
    finally:
        with open(conf, "w") as f:
            f.write(orig)
        r = ask({"cmd": "reload"})
        expect(r["ok"] and "rrl off" in r["applied"], r)
    full, tc, none = flood(V4, "192.0.2.10", 100, pause=0.001)
    expect(full == 100, (full, tc, none))


COOKIES = r"""
import dns.edns, dns.flags, dns.message, dns.rcode, socket, sys
server, src, n, ck = sys.argv[1], sys.argv[2], int(sys.argv[3]), bytes.fromhex(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
s.settimeout(0.5)
counts = {"full": 0, "tc": 0, "badcookie": 0, "none": 0, "formerr": 0}
last = b""
for i in range(n):
    q = dns.message.make_query("www.example.com", "A", use_edns=0,
                               options=[dns.edns.GenericOption(10, ck)])
    q.id = i
    s.sendto(q.to_wire(), (server, 53))
    try:
        r = dns.message.from_wire(s.recv(4096))
    except socket.timeout:
        counts["none"] += 1
        continue
    for o in r.options:
        if o.otype == 10:
            last = o.data
    if r.rcode() == dns.rcode.BADCOOKIE:
        counts["badcookie"] += 1
    elif r.rcode() == dns.rcode.FORMERR:
        counts["formerr"] += 1
    elif r.flags & dns.flags.TC:
        counts["tc"] += 1
    elif r.answer:
        counts["full"] += 1
print(counts["full"], counts["tc"], counts["badcookie"], counts["none"], counts["formerr"],
      last.hex() or "-")
"""


def cookie_queries(src, n, cookie_hex):
    out = client("/usr/bin/python3", "-c", COOKIES, V4 if src.startswith("192.") else V4_VLAN,
                 src, str(n), cookie_hex).stdout.split()
    return tuple(map(int, out[:5])), out[5] if len(out) > 5 else ""


def test_cookies_with_kdig_and_dig_then_badcookie_and_exemption_under_rate_limiting():
    # kdig and dig: a client cookie gets a server cookie (RFC 9018: 16
    # bytes, version 1) back beside the answer.
    out = kdig("@" + V4, "+cookie", "www.example.com", "A")
    m = re.search(r"COOKIE: ([0-9A-F]{16})([0-9A-F]{32})", out)
    expect(m and m.group(2).startswith("01000000") and "192.0.2.80" in out, out)
    out = client("dig", "+cookie", "+time=2", "+tries=1", "@" + V4, "www.example.com",
                 "A").stdout
    expect(re.search(r"COOKIE: [0-9a-f]{16}[0-9a-f]{32} \(good\)", out) and
           "192.0.2.80" in out, out)
    # The server cookie sent back is accepted again by the same node.
    (full, tc, bad, none, _), cookie = cookie_queries("192.0.2.10", 1, "0102030405060708")
    expect(full == 1 and len(cookie) == 48, (full, cookie))
    # Under rate limiting (5/s, slip 1): a client with only a client
    # cookie is slipped BADCOOKIE, not TC; one with the valid server
    # cookie is not limited at all.
    conf = os.path.join(LAB, "ditto.yaml")
    orig = open(conf).read()
    with open(conf, "w") as f:
        f.write(orig.replace("  idle-sleep-us: 20\n", "  idle-sleep-us: 20\n  rrl:\n"
                             "    enabled: true\n    responses-per-second: 5\n"
                             "    slip: 1\n    window: 2\n"))
    try:
        r = ask({"cmd": "reload"})
        expect(r["ok"] and "cookies on" in r["applied"], r)
        (full, tc, bad, none, _), _ = cookie_queries("192.0.2.10", 60, "1112131415161718")
        expect(full <= 8 and bad >= 50 and tc == 0, (full, tc, bad, none))
        (full2, tc2, bad2, none2, _), _ = cookie_queries("192.0.2.10", 60, cookie)
        expect(full2 == 60, (full2, tc2, bad2, none2))
        sys.stdout.write("    under 5/s: client cookie only %d answered, %d BADCOOKIE; "
                         "with the server cookie %d of 60\n" % (full, bad, full2))
    finally:
        with open(conf, "w") as f:
            f.write(orig)
        expect(ask({"cmd": "reload"})["ok"], "reload")
    # A malformed cookie (9 bytes) is FORMERR.
    counts, _ = cookie_queries("192.0.2.10", 1, "010203040506070809")
    expect(counts[4] == 1, counts)


def test_corrupt_image_refused_old_data_keeps_answering():
    good = compile_zone(example_zone(21), "good")
    expect(ask({"cmd": "zone-load", "image": good})["ok"], "good image")
    with open(good, "rb") as f:
        data = bytearray(f.read())
    cases = {
        "flipped": data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 0x40]) + data[len(data) // 2 + 1:],
        "truncated": data[:len(data) // 3],
        "empty": b"",
        "garbage": bytes(random.Random(7).getrandbits(8) for _ in range(4096)),
    }
    for what, blob in cases.items():
        path = os.path.join(LAB, "bad-%s.img" % what)
        with open(path, "wb") as f:
            f.write(blob)
        r = ask({"cmd": "zone-load", "zone": "example.com", "image": path})
        expect(not r["ok"] and r["error"], "%s image accepted: %s" % (what, r))
        out = kdig("@" + V4, "serial.example.com", "TXT")
        expect('"21"' in out, "after the %s image:\n%s" % (what, out))
    r = ask({"cmd": "zone-load", "zone": "example.net", "image": good})
    expect(not r["ok"] and "example.com" in r["error"], r)
    r = ask({"cmd": "zone-load", "image": "/nonexistent.img"})
    expect(not r["ok"], r)
    expect(stats()["zones"]["load-failures"] >= 6, stats()["zones"])


def test_zone_remove_then_refused():
    expect(ask({"cmd": "zone-remove", "zone": "big.test"})["ok"], "remove")
    out = kdig("@" + V4, "txt.big.test", "TXT")
    expect("status: REFUSED" in out, out)
    r = ask({"cmd": "zone-remove", "zone": "big.test"})
    expect(not r["ok"] and "not loaded" in r["error"], r)


def test_restart_serves_from_the_state_directory():
    # The last adopted example.com (serial 21) comes back from the state
    # directory, not from the zone file the lab started with.
    run([LAB_SH, "stop"])
    log = open(os.path.join(LAB, "dataplane.log")).read()
    expect("mbufs: all back in the pool" in log, log[-2000:])
    run([LAB_SH, "start", "--keep-state", "--build", BUILD], timeout=120)
    out = kdig("@" + V4, "serial.example.com", "TXT")
    expect('"21"' in out, out)
    zones = [z["zone"] for z in ask({"cmd": "zone-list"})["zones"]]
    expect(zones == ["example.com."], zones)


def frames(rng, mac_dst, mac_src, count):
    """Malformed, random and hostile frames for the port."""
    def csum(b):
        if len(b) % 2:
            b += b"\0"
        s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
        while s >> 16:
            s = (s & 0xffff) + (s >> 16)
        return ~s & 0xffff

    def ipv4(payload, proto=17, dst=V4, ihl=5, flags=0, bad=False):
        opts = bytes(rng.getrandbits(8) for _ in range((ihl - 5) * 4))
        h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + len(opts) + len(payload),
                        rng.getrandbits(16), flags, 64, proto, 0,
                        socket.inet_aton("192.0.2.10"), socket.inet_aton(dst)) + opts
        c = csum(h) ^ (1 if bad else 0)
        return h[:10] + struct.pack("!H", c) + h[12:] + payload

    def udp(payload, dport=53, ulen=None):
        return struct.pack("!HHHH", rng.randrange(1, 65536), dport,
                           ulen if ulen is not None else 8 + len(payload), 0) + payload

    def dns_junk():
        n = rng.choice([0, 1, 11, 12, 13, 30, 100, 512, 1400])
        b = bytearray(rng.getrandbits(8) for _ in range(n))
        if n >= 12 and rng.random() < 0.7:
            b[2] &= 0x7f          # looks like a query
            b[4:6] = b"\0\1"
        return bytes(b)

    eth = mac_dst + mac_src
    for i in range(count):
        k = i % 10
        if k == 0:
            yield bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 200)))
        elif k == 1:
            yield eth + b"\x08\x00" + ipv4(udp(dns_junk()))
        elif k == 2:
            f = eth + b"\x08\x00" + ipv4(udp(dns_junk()))
            yield f[:rng.randrange(14, len(f))]
        elif k == 3:
            yield eth + b"\x08\x00" + ipv4(udp(dns_junk()), bad=True)
        elif k == 4:
            yield eth + b"\x08\x00" + ipv4(udp(dns_junk(), ulen=rng.randrange(0, 2000)))
        elif k == 5:
            yield eth + b"\x08\x00" + ipv4(udp(dns_junk()), ihl=rng.randrange(6, 16))
        elif k == 6:
            yield eth + b"\x08\x00" + ipv4(udp(dns_junk()), flags=rng.choice([0x2000, 0x0010]))
        elif k == 7:
            pl = udp(dns_junk())
            h = struct.pack("!IHBB16s16s", 0x60000000, len(pl) + rng.choice([0, 0, 7, -3, 900]) & 0xffff,
                            rng.choice([17, 17, 0, 44, 6]), 64,
                            socket.inet_pton(socket.AF_INET6, "2001:db8::10"),
                            socket.inet_pton(socket.AF_INET6, V6))
            yield eth + b"\x86\xdd" + h + pl
        elif k == 8:
            tags = b"".join(b"\x81\x00" + struct.pack("!H", rng.randrange(0, 4096))
                            for _ in range(rng.randrange(1, 4)))
            yield eth + tags + b"\x08\x00" + ipv4(udp(dns_junk()), dst=V4_VLAN)
        else:
            yield eth + bytes(rng.getrandbits(8) for _ in range(2)) + dns_junk()


def test_100k_malformed_and_random_frames_leave_it_answering():
    mac = bytes.fromhex(ask({"cmd": "status"})["port"]["mac"].replace(":", ""))
    before = stats()["total"]
    gen = os.path.join(LAB, "junk.py")
    with open(gen, "w") as f:
        f.write("import random, socket, struct, sys\n")
        f.write("V4, V6, V4_VLAN = %r, %r, %r\n" % (V4, V6, V4_VLAN))
        import inspect
        f.write(inspect.getsource(frames))
        f.write("s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\n"
                "s.bind(('dc0', 0))\n"
                "src = open('/sys/class/net/dc0/address').read().strip()\n"
                "src = bytes.fromhex(src.replace(':', ''))\n"
                "n = 0\n"
                "for fr in frames(random.Random(53), %r, src, 100000):\n"
                "    if len(fr) < 14: fr = fr + bytes(14 - len(fr))\n"
                "    s.send(fr[:1514]); n += 1\n"
                "print(n)\n" % mac)
    t = time.monotonic()
    out = client("/usr/bin/python3", gen, timeout=300).stdout
    expect(out.strip() == "100000", out)
    time.sleep(1)
    after = stats()["total"]
    expect(after["rx"] - before["rx"] >= 90000,
           "the port saw only %d of 100000 frames" % (after["rx"] - before["rx"]))
    expect(sum(after["drops"].values()) > sum(before["drops"].values()),
           after["drops"])
    sys.stdout.write("    (sent in %.1f s; drops now %s)\n" % (
        time.monotonic() - t, after["drops"]))
    for server in (V4, V6, V4_VLAN):
        out = kdig("@" + server, "www.example.com", "A")
        expect("status: NOERROR" in out and "192.0.2.80" in out, out)
    out = client("ping", "-c", "2", "-W", "2", V4).stdout
    expect(" 0% packet loss" in out, out)


def test_stats_count_by_rcode_qtype_and_worker():
    # Counters are the dataplane's since its last start: compare before and
    # after queries of known outcome.
    before = stats()["total"]
    kdig("@" + V4, "www.example.com", "A")
    kdig("@" + V4, "example.com", "TXT")      # an answer or NODATA
    kdig("@" + V4, "nosuch.example.com", "A")
    kdig("@" + V6, "www.example.org", "A")     # in no zone
    s = stats()
    t = s["total"]

    def moved(group, key):
        return t[group][key] - before[group][key]
    expect(moved("rcode", "NOERROR") >= 2 and moved("rcode", "NXDOMAIN") >= 1
           and moved("rcode", "REFUSED") >= 1, (before["rcode"], t["rcode"]))
    expect(moved("qtype", "A") >= 3 and moved("qtype", "TXT") >= 1,
           (before["qtype"], t["qtype"]))
    expect(t["answers"] - before["answers"] >= 4, (before, t))
    expect(len(s["workers"]) == 1 and s["workers"][0]["answers"] == t["answers"], s)
    expect(t["answers"] <= t["queries"] <= t["rx"], t)


def test_dataplane_socket_limits_refuse_count_and_keep_serving():
    # socket-clients (default 32) and socket-request-max (64 KiB): the one
    # over each gets a reason, is counted, and the dataplane answers on.
    def connect():
        # The listen backlog is short: wait for the thread to accept.
        for _ in range(100):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.settimeout(5)
            try:
                c.connect(SOCK)
                return c
            except BlockingIOError:
                c.close()
                time.sleep(0.05)
        raise AssertionError("dataplane.sock accepts no connection")
    held = []
    try:
        for _ in range(32):
            held.append(connect())
        time.sleep(0.3)
        extra = connect()
        got = extra.recv(4096).decode()
        extra.close()
        expect("too many clients" in got, got)
    finally:
        for c in held:
            c.close()
    time.sleep(0.3)
    c = connect()
    c.sendall(b"x" * (70 << 10))
    got = b""
    while b"\n" not in got:
        chunk = c.recv(4096)
        if not chunk:
            break
        got += chunk
    c.close()
    expect(b"socket-request-max" in got, got[:300])
    s = ask({"cmd": "stats"})["socket"]
    expect(s["refused-clients"] >= 1 and s["refused-long-requests"] >= 1, s)
    expect("192.0.2.80" in kdig("@" + V4, "+short", "www.example.com", "A"),
           "no answer after the refusals")
    log = open(os.path.join(LAB, "dataplane.log")).read()
    expect("socket-clients" in log and "longer than" in log, log[-1500:])


def test_shutdown_returns_every_mbuf():
    run([LAB_SH, "stop"])
    log = open(os.path.join(LAB, "dataplane.log")).read()
    expect("mbufs: all back in the pool" in log and "leaked" not in log,
           log[-2000:])
    expect("AddressSanitizer" not in log and "runtime error" not in log,
           log[-4000:])


TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]


def main():
    for tool in ("kdig", "dig", "dnsperf", "ping", "ip"):
        if not shutil.which(tool):
            print("lab: %s is missing (scripts/setup.sh installs it)" % tool)
            print("lab: 0 passed, 1 failed")
            return 1
    passed = failed = 0
    try:
        t = time.monotonic()
        up = run([LAB_SH, "up", "--build", BUILD], check=False, timeout=180)
        print(up.stdout + up.stderr)
        if up.returncode != 0:
            print("lab: could not bring the lab up")
            print("lab: 0 passed, %d failed" % len(TESTS))
            return 1
        print("lab: up in %.1f s" % (time.monotonic() - t))
        passed, failed = run_tests("lab", TESTS, ONLY)
    finally:
        log = os.path.join(LAB, "dataplane.log")
        run([LAB_SH, "down"], check=False)
        if failed and os.path.exists(log):
            print("---- the end of the dataplane log ----")
            print("".join(open(log).readlines()[-40:]))
        shutil.rmtree(LAB, ignore_errors=True)
    print("lab: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
