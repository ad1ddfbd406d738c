#!/usr/bin/python3
"""ditto-control at scale, in its own network namespaces: two thousand zones
from one Knot DNS primary under transfers-per-primary, a primary that stalls
every transfer beside one that answers, management over IPv6, and zones
that fail over to a primary sharing its limit.

    scale_test.py BUILD_DIR [TEST...]

Needs root, knotd/knotc/kdig and python3-dnspython. Builds its own topology
(namespaces sc-primary, sc-node, sc-client; nothing of scripts/lab.sh),
starts Knot DNS with generated zones, a ditto-dataplane on DPDK's af_packet
without hugepages, and one ditto-control per test; takes everything down
on exit, failure or signal; ends with "scale: N passed, M failed".

    sc-primary                        sc-node                    sc-client
    scp0 10.98.0.1  counting relay ==== scn0 10.98.0.2/25
         10.98.0.10 knotd                    fd98::2/64
         10.98.0.3  stalling primary       ditto-control
         10.98.0.4  refusing primary       ditto-dataplane:
         fd98::1    knotd (IPv6)           scs1 (af_packet) ==== scc0 10.98.0.130/25
                                           scx0 (TAP) 10.98.0.153

How concurrency is seen: ditto-control reaches the Knot zones of the first
test through a relay on 10.98.0.1 (this file, run with --helper relay) that
forwards UDP and TCP to knotd on 10.98.0.10, counts the TCP connections
open at once (from accept to ditto's close: no sampling) and holds each one
HOLD_MS before forwarding, so that transfers running together overlap on
the wire whatever the speed of the machine: more than transfers-per-primary
jobs at once would show as more connections at once. The stalling primary
(--helper stall) counts its own connections the same way.

The tests, in order, each with its own ditto-control:
- 2000 zones bootstrapped by AXFR with transfers-per-primary 4: every zone
  ok at the primary's serial within BOOTSTRAP_BOUND, never more than 4
  transfers at once at the relay, each zone's AXFR in Knot's log, every
  zone held by the dataplane at its serial and answered (SOA over UDP
  through DPDK from sc-client), no file descriptors kept;
- 40 zones on a primary that answers SOA and stalls every AXFR, listed
  before 300 Knot zones in a pool of 8: the Knot zones all ok within
  STALL_BOUND while the 4 stalled transfers (exactly 4) still hang; no
  dataplane for this one, so the images wait in the state directory;
- IPv6 only (management fd98::2, primary fd98::1): AXFR, then a change by
  knotc zone-begin/zone-set/zone-commit whose NOTIFY over IPv6 brings the
  new serial by IXFR, answered by the dataplane;
- half of 400 zones list a refusing primary before Knot: Knot must still
  see at most transfers-per-primary transfers at once.

The helpers are this file run with --helper NAME inside a namespace.
"""
import asyncio
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# --- helpers run inside the namespaces (no labkit, no test state) ------------


class Events:
    """Connections open at once, appended to a file as "time what open"."""

    def __init__(self, path):
        self.f = open(path, "a", buffering=1)
        self.open = 0

    def note(self, what, delta=0):
        self.open += delta
        self.f.write("%.6f %s %d\n" % (time.monotonic(), what, self.open))


def helper_relay(listen, target, hold_ms, events):
    """UDP and TCP on listen:53 forwarded to target:53; each TCP connection
    held hold_ms before anything is forwarded; connections counted."""
    ev = Events(events)
    hold = hold_ms / 1000.0

    async def pump(src, dst):
        while True:
            data = await src.read(65536)
            if not data:
                return
            dst.write(data)
            await dst.drain()

    async def on_tcp(reader, writer):
        ev.note("accept", +1)
        up_w = None
        try:
            await asyncio.sleep(hold)
            up_r, up_w = await asyncio.open_connection(target, 53)
            back = asyncio.ensure_future(pump(up_r, writer))
            try:
                await pump(reader, up_w)  # until ditto closes
            except (ConnectionError, OSError):
                pass
            back.cancel()
        except (ConnectionError, OSError):
            pass
        finally:
            ev.note("close", -1)
            for w in (writer, up_w):
                if w:
                    w.close()

    class Back(asyncio.DatagramProtocol):
        def __init__(self, front, client):
            self.front, self.client = front, client

        def datagram_received(self, data, addr):
            self.front.sendto(data, self.client)
            self.transport.close()

        def connection_made(self, transport):
            self.transport = transport

    class Front(asyncio.DatagramProtocol):
        def connection_made(self, transport):
            self.transport = transport

        def datagram_received(self, data, addr):
            loop = asyncio.get_running_loop()

            async def forward():
                t, _ = await loop.create_datagram_endpoint(
                    lambda: Back(self.transport, addr), remote_addr=(target, 53))
                t.sendto(data)
                loop.call_later(5, t.close)
            asyncio.ensure_future(forward())

    async def main():
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(Front, local_addr=(listen, 53))
        server = await asyncio.start_server(on_tcp, listen, 53, backlog=256)
        ev.note("ready")
        async with server:
            await server.serve_forever()
    asyncio.run(main())


def helper_stall(addr, mode, serial, events):
    """A primary that answers the SOA query over UDP (mode soa: serial, mode
    refuse: REFUSED) and never answers over TCP: every connection is
    accepted, read and kept open until the other side closes it."""
    import dns.flags
    import dns.message
    import dns.rcode
    import dns.rrset
    ev = Events(events)

    class Udp(asyncio.DatagramProtocol):
        def connection_made(self, transport):
            self.transport = transport

        def datagram_received(self, data, addr):
            try:
                q = dns.message.from_wire(data)
            except Exception:
                return
            r = dns.message.make_response(q)
            if mode == "refuse":
                r.set_rcode(dns.rcode.REFUSED)
            else:
                r.flags |= dns.flags.AA
                name = q.question[0].name
                r.answer.append(dns.rrset.from_text(
                    name, 300, "IN", "SOA",
                    "ns1.%s hostmaster.%s %d 3600 600 86400 300" % (
                        name, name, serial)))
            self.transport.sendto(r.to_wire(), addr)

    async def on_tcp(reader, writer):
        ev.note("accept", +1)
        try:
            if mode == "refuse":
                return
            while await reader.read(65536):
                pass
        except (ConnectionError, OSError):
            pass
        finally:
            ev.note("close", -1)
            writer.close()

    async def main():
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(Udp, local_addr=(addr, 53))
        server = await asyncio.start_server(on_tcp, addr, 53, backlog=256)
        ev.note("ready")
        async with server:
            await server.serve_forever()
    asyncio.run(main())


def helper_query(server, names_file, out):
    """The SOA serial the server answers over UDP for every name in the
    file, as JSON {name: serial or error}."""
    import dns.message
    import dns.query
    import dns.rdatatype
    got = {}
    for name in open(names_file).read().split():
        for attempt in range(3):
            try:
                r = dns.query.udp(dns.message.make_query(name, "SOA"), server,
                                  timeout=1)
            except Exception as e:  # lost: ask again
                got[name] = "no answer: %s" % type(e).__name__
                continue
            soa = [rr for rrset in r.answer for rr in rrset
                   if rrset.rdtype == dns.rdatatype.SOA]
            got[name] = soa[0].serial if soa else "rcode %d, no SOA" % r.rcode()
            break
    with open(out, "w") as f:
        json.dump(got, f)


if __name__ == "__main__" and len(sys.argv) > 2 and sys.argv[1] == "--helper":
    kind, args = sys.argv[2], sys.argv[3:]
    if kind == "relay":
        helper_relay(args[0], args[1], int(args[2]), args[3])
    elif kind == "stall":
        helper_stall(args[0], args[1], int(args[2]), args[3])
    elif kind == "query":
        helper_query(args[0], args[1], args[2])
    sys.exit(0)

# --- the test program ----------------------------------------------------------

import labkit  # noqa: E402
from labkit import Env, ask, expect, run, run_tests, wait_for  # noqa: E402

BUILD = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(labkit.ROOT, "build")
ONLY = sys.argv[2:]
NS_P, NS_N, NS_C = "sc-primary", "sc-node", "sc-client"
NAMESPACES = (NS_P, NS_N, NS_C)
LINKS = ("scn0", "scp0", "scs1", "scc0")
CONTROL = os.path.join(BUILD, "control", "ditto-control")
DATAPLANE = os.path.join(BUILD, "dataplane", "ditto-dataplane")
SELF = os.path.abspath(__file__)
PY = "/usr/bin/python3"

RELAY, KNOT4, STALL, REFUSER, NODE4 = "10.98.0.1", "10.98.0.10", "10.98.0.3", "10.98.0.4", "10.98.0.2"
KNOT6, NODE6 = "fd98::1", "fd98::2"
CLIENT, SERVICE = "10.98.0.130", "10.98.0.153"
KEY, SECRET = "scale-key", "c2NhbGUtdGVzdC1zZWNyZXQtMDEyMzQ1Njc4OWFiY2Q="
N_ZONES = 2000
PER_PRIMARY = 4
HOLD_MS = 15                # the relay's hold on each TCP connection
BOOTSTRAP_BOUND = 100       # s for every one of the 2000 zones
STALL_ZONES = 40
KNOT_ZONES_BESIDE_STALL = 300
STALL_TCP_TIMEOUT = 45      # s: the stalled transfers outlast the test
STALL_BOUND = 25            # s for the Knot zones beside the stalled ones
FAILOVER_ZONES = 400
DP_PREFIX = "sc-scale"

TMP = tempfile.mkdtemp(prefix="ditto-scale-test.")
SUPP = os.path.join(TMP, "lsan.supp")
with open(SUPP, "w") as f:
    f.write("leak:libxdp.so\nleak:libbpf.so\n")
Env.env["LSAN_OPTIONS"] = "suppressions=%s:print_suppressions=0" % SUPP
Env.env["PATH"] = Env.env.get("PATH", "") + ":/usr/sbin:/sbin"
procs = {}                  # name -> Popen, all ours


def zname(i):
    return "z%04d.scale.test." % i


def zserial(i):
    return 1000 + i


def in_ns(ns, *cmd, **kw):
    return run(["ip", "netns", "exec", ns] + list(cmd), **kw)


def spawn(name, ns, cmd, log):
    procs[name] = subprocess.Popen(["ip", "netns", "exec", ns] + list(cmd),
                                   env=Env.env, stdout=open(log, "ab"),
                                   stderr=subprocess.STDOUT)
    return procs[name]


def stop(name, sig=signal.SIGTERM, timeout=20):
    """Stop one of our processes; its exit status."""
    p = procs.pop(name, None)
    return None if not p else labkit.stop_process(p, sig, timeout)


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


# --- topology ------------------------------------------------------------------

def ns_pids(ns):
    p = run(["ip", "netns", "pids", ns], check=False)
    return [int(x) for x in p.stdout.split()]


def topo_down():
    for ns in NAMESPACES:
        if not os.path.exists("/run/netns/" + ns):
            continue
        # Ours are stopped by now; anything else is not ours to stop (a run
        # killed with -9 leaves its processes; they keep the namespace, not
        # its name, which is free again for the next run).
        pids = ns_pids(ns)
        if pids:
            print("scale: warning: processes still in %s (not stopped here): %s"
                  % (ns, " ".join(map(str, pids))))
        run(["ip", "netns", "del", ns], check=False)
    for link in LINKS:
        run(["ip", "link", "del", link], check=False)


def topo_up():
    topo_down()
    for ns in NAMESPACES:
        run(["ip", "netns", "add", ns])
        run(["ip", "-n", ns, "link", "set", "lo", "up"])
    run(["ip", "link", "add", "scn0", "netns", NS_N, "type", "veth",
         "peer", "name", "scp0", "netns", NS_P])
    run(["ip", "-n", NS_N, "addr", "add", NODE4 + "/25", "dev", "scn0"])
    run(["ip", "-n", NS_N, "addr", "add", NODE6 + "/64", "dev", "scn0", "nodad"])
    for a in (RELAY, KNOT4, STALL, REFUSER):
        run(["ip", "-n", NS_P, "addr", "add", a + "/25", "dev", "scp0"])
    run(["ip", "-n", NS_P, "addr", "add", KNOT6 + "/64", "dev", "scp0", "nodad"])
    run(["ip", "-n", NS_N, "link", "set", "scn0", "up"])
    run(["ip", "-n", NS_P, "link", "set", "scp0", "up"])
    # The service wire: the node's end belongs to the dataplane (af_packet),
    # one queue each way, no offloads the userspace port cannot take.
    run(["ip", "link", "add", "scc0", "netns", NS_C, "numtxqueues", "1",
         "numrxqueues", "1", "type", "veth", "peer", "name", "scs1", "netns",
         NS_N, "numtxqueues", "1", "numrxqueues", "1"])
    for ns, dev in ((NS_C, "scc0"), (NS_N, "scs1")):
        in_ns(ns, "ethtool", "-K", dev, "rx", "off", "tx", "off", "tso", "off",
              "gso", "off", "gro", "off", "txvlan", "off", "rxvlan", "off",
              check=False)
    run(["ip", "-n", NS_C, "addr", "add", CLIENT + "/25", "dev", "scc0"])
    run(["ip", "-n", NS_C, "link", "set", "scc0", "up"])
    # af_packet taps, it does not steal: keep the node's kernel off scs1.
    in_ns(NS_N, "sysctl", "-q", "-w", "net.ipv6.conf.scs1.disable_ipv6=1",
          "net.ipv4.conf.scs1.arp_ignore=8", "net.ipv4.conf.scs1.rp_filter=1")
    run(["ip", "-n", NS_N, "link", "set", "scs1", "up"])


# --- Knot DNS --------------------------------------------------------------------

KNOT_DIR = os.path.join(TMP, "knot")
KNOT_CONF = os.path.join(KNOT_DIR, "knot.conf")


def zone_text(origin, serial):
    return ("$ORIGIN %s\n$TTL 300\n"
            "@ IN SOA ns1 hostmaster %d 3600 600 86400 300\n"
            "@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A 192.0.2.80\n"
            "mail IN MX 10 www\n"
            'serial IN TXT "%d"\n' % (origin, serial, serial))


def knotc(*args, **kw):
    return in_ns(NS_P, "knotc", "-c", KNOT_CONF, *args, **kw)


def start_knot():
    zdir = os.path.join(KNOT_DIR, "zones")
    os.makedirs(zdir)
    os.makedirs(os.path.join(KNOT_DIR, "db"))
    for i in range(N_ZONES):
        with open(os.path.join(zdir, zname(i)[:-1] + ".zone"), "w") as f:
            f.write(zone_text(zname(i), zserial(i)))
    for z in ("six.test.", "six-b.test."):
        with open(os.path.join(zdir, z[:-1] + ".zone"), "w") as f:
            f.write(zone_text(z, 1))
    conf = labkit.knot_head(KNOT_DIR, '[%s@53, "%s@53"]' % (KNOT4, KNOT6), KEY,
                            SECRET) + """remote:
  - id: ditto6
    address: "%(n6)s@53"
    key: %(key)s
acl:
  - id: xfr
    key: %(key)s
    action: transfer
template:
  - id: default
    storage: %(z)s
    file: "%%s.zone"
    zonefile-sync: -1
    journal-content: changes
    acl: xfr
  - id: six
    storage: %(z)s
    file: "%%s.zone"
    zonefile-sync: -1
    journal-content: changes
    acl: xfr
    notify: ditto6
zone:
""" % {"d": KNOT_DIR, "z": zdir, "k4": KNOT4, "k6": KNOT6, "n6": NODE6,
       "key": KEY, "secret": SECRET}
    conf += "".join("  - domain: %s\n" % zname(i) for i in range(N_ZONES))
    conf += "  - domain: six.test.\n    template: six\n"
    conf += "  - domain: six-b.test.\n    template: six\n"
    with open(KNOT_CONF, "w") as f:
        f.write(conf)
    spawn("knot", NS_P, ["knotd", "-c", KNOT_CONF], os.path.join(KNOT_DIR, "knotd.out"))

    def loaded():
        out = knotc("zone-status", check=False, timeout=30).stdout
        return out.count("serial: ") >= N_ZONES + 2 and "serial: none" not in out \
            and "serial: -" not in out
    wait_for("knotd with its %d zones loaded" % (N_ZONES + 2), loaded, timeout=60, every=0.5)


def knot_soa_serial(name, server=KNOT4):
    out = in_ns(NS_P, "kdig", "+time=1", "+retry=1", "+short", "@" + server,
                name, "SOA", check=False).stdout.split()
    return int(out[2]) if len(out) > 2 else None


# --- helpers in the primary namespace ----------------------------------------------

def start_helper(name, args):
    events = os.path.join(TMP, name + ".events")
    spawn(name, NS_P, [PY, SELF, "--helper"] + args + [events],
          os.path.join(TMP, name + ".out"))
    wait_for(name + " ready", lambda: " ready " in read(events), timeout=15)
    return events


def events_of(path, since=0.0):
    """(the most connections open at once, connections accepted) after since."""
    most = accepted = 0
    for line in read(path).splitlines():
        t, what, n = line.split()
        if float(t) < since:
            continue
        if what == "accept":
            accepted += 1
            most = max(most, int(n))
    return most, accepted


def open_now(path):
    lines = [l for l in read(path).splitlines() if l.split()[1] != "ready"]
    return int(lines[-1].split()[2]) if lines else 0


# --- ditto-dataplane (af_packet on scs1, no hugepages) -------------------------------

DP_DIR = os.path.join(TMP, "dataplane")
DP_SOCK = os.path.join(DP_DIR, "dataplane.sock")


def start_dataplane():
    os.makedirs(os.path.join(DP_DIR, "state"))
    conf = os.path.join(DP_DIR, "dataplane.yaml")
    with open(conf, "w") as f:
        f.write("""node:
  identity: sc-node
  state-dir: %(d)s/state
dataplane:
  socket: %(sock)s
  port: 0
  workers: 1
  service-addresses: [%(svc)s]
  exception-interface: scx0
  idle-sleep-us: 200
""" % {"d": DP_DIR, "sock": DP_SOCK, "svc": SERVICE})
    # --no-huge (malloc'd memory) is not allowed with --in-memory; with
    # --no-shconf and its own --file-prefix it shares nothing either.
    spawn("dataplane", NS_N, [DATAPLANE, "-l", "0,1", "--no-huge", "-m", "256",
                              "--no-shconf", "--file-prefix", DP_PREFIX,
                              "--no-telemetry", "--no-pci", "--vdev",
                              "net_af_packet0,iface=scs1", "--", "--config", conf],
          os.path.join(DP_DIR, "dataplane.log"))

    def up():
        expect(procs["dataplane"].poll() is None, "ditto-dataplane exited:\n" +
               read(os.path.join(DP_DIR, "dataplane.log"))[-3000:])
        return os.path.exists(DP_SOCK) and in_ns(
            NS_N, "ip", "link", "show", "scx0", check=False).returncode == 0
    wait_for("ditto-dataplane", up, timeout=30)
    in_ns(NS_N, "ip", "addr", "add", SERVICE + "/25", "dev", "scx0")
    in_ns(NS_N, "ip", "link", "set", "scx0", "up")


def served_serials(names):
    """What the dataplane answers from the client namespace: name -> serial."""
    nf, out = os.path.join(TMP, "names.txt"), os.path.join(TMP, "served.json")
    with open(nf, "w") as f:
        f.write("\n".join(names))
    in_ns(NS_C, PY, SELF, "--helper", "query", SERVICE, nf, out,
          timeout=30 + 3 * len(names) // 100)
    return json.load(open(out))


# --- ditto-control ---------------------------------------------------------------------

class Control:
    """One ditto-control with its own configuration, state and sockets."""

    def __init__(self, name, zones, remotes, mgmt, extra="", dp_sock=None):
        self.name, self.dir = name, os.path.join(TMP, name)
        os.makedirs(self.dir)
        self.sock = os.path.join(self.dir, "control.sock")
        self.log = os.path.join(self.dir, "control.log")
        self.conf = os.path.join(self.dir, "control.yaml")
        self.state = os.path.join(self.dir, "state")
        with open(self.conf, "w") as f:
            f.write("""node:
  identity: sc-node
  state-dir: %(state)s
  management-addresses: [%(mgmt)s]
  control-socket: %(sock)s
  log-level: info
dataplane:
  socket: %(dp)s
control:
%(extra)skeys:
  - { id: %(key)s, algorithm: hmac-sha256, secret: "%(secret)s" }
remotes:
%(remotes)s
zones:
%(zones)s
""" % {"state": self.state, "mgmt": mgmt, "sock": self.sock,
                "dp": dp_sock or os.path.join(self.dir, "no-dataplane.sock"),
                "extra": extra, "key": KEY, "secret": SECRET,
                "remotes": "\n".join("  - %s" % r for r in remotes),
                "zones": "\n".join("  - { domain: %s, primaries: [%s] }" % (z, ", ".join(p))
                                   for z, p in zones)})
        check = run([CONTROL, "--config", self.conf, "--check"], check=False)
        expect(check.returncode == 0, check.stdout + check.stderr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        stop(self.name)  # a test that failed half way: stop it all the same

    def start(self):
        spawn(self.name, NS_N, [CONTROL, "--config", self.conf], self.log)
        self.t0 = time.monotonic()
        wait_for(self.name + " control.sock", lambda: self.ask({"cmd": "status"})["ok"],
                 timeout=20)
        self.pid = procs[self.name].pid  # ip netns exec execs: the daemon's pid

    def alive(self):
        p = procs.get(self.name)
        return p is not None and p.poll() is None

    def ask(self, req, timeout=30):
        return ask(self.sock, req, timeout)

    def status(self):
        expect(self.alive(), "%s exited:\n%s" % (self.name, read(self.log)[-3000:]))
        r = self.ask({"cmd": "status"})
        expect(r["ok"], r)
        return r

    def zones(self):
        r = self.ask({"cmd": "zone-list"}, timeout=60)
        expect(r["ok"], r)
        return {z["zone"]: z for z in r["zones"]}

    def zone(self, name):
        r = self.ask({"cmd": "zone-status", "zone": name})
        expect(r["ok"], r)
        return r["zones"][0]

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def sanitizer_clean(self):
        log = read(self.log)
        for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            expect(bad not in log, "%s in %s:\n%s" % (bad, self.log, log[-4000:]))

    def stop(self):
        """SIGTERM: a clean exit, no sanitizer report."""
        rc = stop(self.name)
        expect(rc == 0, "%s exited %s:\n%s" % (self.name, rc, read(self.log)[-3000:]))
        self.sanitizer_clean()


def remote(rid, addr, key=True):
    return "{ id: %s, address: \"%s\"%s }" % (rid, addr, ", key: %s" % KEY if key else "")


# --- the tests ---------------------------------------------------------------------------

def stopping(*names):
    """Decorator: the helper processes named are stopped after the test,
    passed or failed (ditto-control instances stop with their `with`)."""
    def wrap(fn):
        @functools.wraps(fn)
        def test():
            try:
                fn()
            finally:
                for name in names:
                    stop(name, timeout=10)
        return test
    return wrap


@stopping("relay")
def test_bootstrap_of_2000_zones_from_one_primary_within_transfers_per_primary():
    relay_events = start_helper("relay", ["relay", RELAY, KNOT4, str(HOLD_MS)])
    with Control("control-bootstrap", [(zname(i), ["knot"]) for i in range(N_ZONES)],
                 [remote("knot", RELAY)], NODE4,
                 extra="  transfers-per-primary: %d\n  tcp-timeout: 10\n"
                       "  transfer-timeout: 30\n" % PER_PRIMARY,
                 dp_sock=DP_SOCK) as c:
        c.start()
        fds_start = c.fds()
        most_fds = [fds_start]

        def all_ok():
            most_fds[0] = max(most_fds[0], c.fds())
            return c.status()["zones-ok"] == N_ZONES
        try:
            wait_for("%d zones ok" % N_ZONES, all_ok, timeout=BOOTSTRAP_BOUND, every=1)
        finally:
            most, accepted = events_of(relay_events)
            sys.stdout.write("    (%d TCP connections through the relay, at most %d at "
                             "once)\n" % (accepted, most))
        took = time.monotonic() - c.t0
        zones = c.zones()
        expect(len(zones) == N_ZONES, "zone-list has %d zones" % len(zones))
        wrong = [(n, z["state"], z.get("serial"), z.get("primary-serial"), z["last-result"])
                 for n, z in zones.items()
                 if z["state"] != "ok" or z.get("serial") != zserial(int(n[1:5]))
                 or z.get("primary-serial") != zserial(int(n[1:5])) or z["axfr"] != 1]
        expect(not wrong, "%d zones not at the primary's serial, e.g. %s"
               % (len(wrong), wrong[:5]))
        # The limit, as the primary's end of the wire saw it.
        expect(accepted >= N_ZONES, "only %d transfers went through the relay" % accepted)
        expect(most <= PER_PRIMARY, "%d transfers to the primary at once "
               "(transfers-per-primary is %d)" % (most, PER_PRIMARY))
        expect(most >= 2, "never two transfers at once: the relay could not have seen "
               "a broken limit")
        # Knot DNS served each zone by AXFR (its log, as a cross-check).
        served = set(re.findall(r"\[(z\d{4}\.scale\.test\.)\] AXFR, outgoing, remote "
                                r"[\d.]+@\d+, started",
                                read(os.path.join(KNOT_DIR, "knot.log"))))
        expect(len(served) == N_ZONES, "Knot logged AXFR of %d zones" % len(served))
        # Published: the dataplane holds every zone at its serial and answers it.
        unpublished = [n for n, z in zones.items() if not z["published"]]
        expect(not unpublished, "%d zones not published, e.g. %s"
               % (len(unpublished), unpublished[:5]))
        dp = ask(DP_SOCK, {"cmd": "zone-list"}, timeout=30)
        dpz = {z["zone"]: z["serial"] for z in dp["zones"]}
        missing = [zname(i) for i in range(N_ZONES) if dpz.get(zname(i)) != zserial(i)]
        expect(not missing, "the dataplane lacks %d zones at their serial, e.g. %s"
               % (len(missing), missing[:5]))
        answers = served_serials([zname(i) for i in range(N_ZONES)])
        bad = [(n, v) for n, v in answers.items() if v != zserial(int(n[1:5]))]
        expect(not bad, "%d zones not answered with their serial, e.g. %s"
               % (len(bad), bad[:5]))
        fds_end = c.fds()
        sys.stdout.write("    (all %d zones ok in %.1f s; ditto-control fds %d at start, "
                         "%d at most, %d at the end)\n"
                         % (N_ZONES, took, fds_start, most_fds[0], fds_end))
        expect(fds_end <= fds_start + 16, "file descriptors: %d at start, %d after the "
               "bootstrap" % (fds_start, fds_end))
        c.stop()


@stopping("stall")
def test_a_stalling_primary_holds_back_only_its_own_zones():
    events = start_helper("stall", ["stall", STALL, "soa", "7"])
    knot_zones = [zname(i) for i in range(KNOT_ZONES_BESIDE_STALL)]
    stalled = ["s%02d.stall.test." % i for i in range(STALL_ZONES)]
    # The stalled zones first: they take the first slots of a pool of 8.
    with Control("control-stall",
                 [(z, ["stall"]) for z in stalled] + [(z, ["knot"]) for z in knot_zones],
                 [remote("knot", KNOT4), remote("stall", STALL, key=False)],
                 NODE4 + "@5302",
                 extra="  transfers-per-primary: %d\n  transfers-total: 8\n"
                       "  tcp-timeout: %d\n  transfer-timeout: %d\n"
                       % (PER_PRIMARY, STALL_TCP_TIMEOUT, 2 * STALL_TCP_TIMEOUT)) as c:
        c.start()
        wait_for("the stalling primary holding %d transfers" % PER_PRIMARY,
                 lambda: open_now(events) == PER_PRIMARY, timeout=10)

        def knot_ok():
            zones = c.zones()
            return all(zones[z]["state"] == "ok" for z in knot_zones) and zones
        zones = wait_for("the %d Knot zones ok beside the stalled ones" % len(knot_zones),
                         knot_ok, timeout=STALL_BOUND, every=0.5)
        took = time.monotonic() - c.t0
        wrong = [z for z in knot_zones if zones[z].get("serial") != zserial(int(z[1:5]))]
        expect(not wrong, "Knot zones at the wrong serial: %s" % wrong[:5])
        # The stall was real all along: the same 4 transfers held, no more.
        most, accepted = events_of(events)
        expect(open_now(events) == PER_PRIMARY and most == PER_PRIMARY and
               accepted == PER_PRIMARY, "the stalling primary has %d open, %d at most, "
               "%d in all" % (open_now(events), most, accepted))
        refreshing = [z for z in stalled if zones[z]["refreshing"]]
        expect(len(refreshing) == PER_PRIMARY and
               all(zones[z]["state"] == "bootstrap" for z in stalled),
               "stalled zones: %s" % [(z, zones[z]["state"], zones[z]["refreshing"])
                                      for z in stalled][:8])
        t = time.monotonic()
        c.status()
        expect(time.monotonic() - t < 1, "control.sock took %.1f s to answer"
               % (time.monotonic() - t))
        # No dataplane for this one: the images wait in the state directory.
        imgs = [z for z in knot_zones
                if not os.path.exists(os.path.join(c.state, "control", z[:-1] + ".img"))]
        expect(not imgs, "no image in %s/control for %s" % (c.state, imgs[:5]))
        expect(not any(zones[z]["published"] for z in knot_zones),
               "published without a dataplane")
        sys.stdout.write("    (%d Knot zones ok in %.1f s while %d transfers stalled)\n"
                         % (len(knot_zones), took, open_now(events)))
        c.stop()


def test_ipv6_management_bootstrap_then_notify_and_ixfr():
    with Control("control-ipv6", [("six.test.", ["knot6"]), ("six-b.test.", ["knot6"])],
                 [remote("knot6", KNOT6)], '"%s"' % NODE6,
                 extra="  tcp-timeout: 5\n", dp_sock=DP_SOCK) as c:
        c.start()
        wait_for("six.test and six-b.test ok over IPv6", lambda: all(
            c.zone(z)["state"] == "ok" and c.zone(z)["serial"] == 1
            for z in ("six.test.", "six-b.test.")), timeout=20)
        before = c.zone("six.test.")
        expect("from knot6 %s:" % KNOT6 in before["last-result"] and before["axfr"] == 1,
               before)
        knotc("zone-begin", "six.test")
        knotc("zone-set", "six.test", "new", "300", "A", "192.0.2.77")
        t = time.monotonic()
        knotc("zone-commit", "six.test")
        # The SOA refresh is an hour: only the NOTIFY brings serial 2 this soon.

        def serial_2():
            z = c.zone("six.test.")
            return z if z.get("serial") == 2 and not z["refreshing"] else None
        z = wait_for("serial 2 of six.test at ditto", serial_2, timeout=15)
        took = time.monotonic() - t
        expect(z["ixfr"] == 1 and z["axfr"] == 1 and z["notifies"] >= 1, z)
        expect(z["records"] == before["records"] + 1, (before["records"], z["records"]))
        expect("IXFR 1 -> 2 from knot6 %s:" % KNOT6 in z["last-result"], z["last-result"])
        knot_log = read(os.path.join(KNOT_DIR, "knot.log"))
        expect(re.search(r"\[six\.test\.\] notify, outgoing, remote %s@53, serial 2"
                         % re.escape(NODE6), knot_log), knot_log[-2000:])
        expect(re.search(r"\[six\.test\.\] IXFR, outgoing, remote %s@\d+, started"
                         % re.escape(NODE6), knot_log), knot_log[-2000:])
        expect(c.zone("six-b.test.")["serial"] == 1, c.zone("six-b.test."))
        # And the new data answers through the dataplane.
        wait_for("serial 2 served", lambda: served_serials(["six.test."])["six.test."] == 2,
                 timeout=10)
        out = in_ns(NS_C, "kdig", "+time=1", "+retry=1", "+short", "@" + SERVICE,
                    "new.six.test", "A", check=False).stdout
        expect("192.0.2.77" in out, out)
        sys.stdout.write("    (commit to IXFR at ditto in %.2f s)\n" % took)
        c.stop()


@stopping("relay-failover", "refuser")
def test_zones_failing_over_to_a_primary_count_against_its_transfers_per_primary():
    # Half the zones list first a primary that refuses, then Knot (through
    # the relay); the other half Knot alone. Every transfer is Knot's: Knot
    # should never see more than transfers-per-primary at once.
    events = start_helper("relay-failover", ["relay", RELAY, KNOT4, str(HOLD_MS)])
    start_helper("refuser", ["stall", REFUSER, "refuse", "1"])
    zones = [(zname(i), ["refuser", "knot"] if i % 2 else ["knot"])
             for i in range(FAILOVER_ZONES)]
    with Control("control-failover", zones,
                 [remote("knot", RELAY), remote("refuser", REFUSER, key=False)],
                 NODE4 + "@5304",
                 extra="  transfers-per-primary: %d\n  tcp-timeout: 5\n" % PER_PRIMARY) as c:
        c.start()
        wait_for("%d zones ok" % FAILOVER_ZONES,
                 lambda: c.status()["zones-ok"] == FAILOVER_ZONES, timeout=60, every=0.5)
        elsewhere = [n for n, z in c.zones().items() if z["primary"] != "knot"]
        expect(not elsewhere, "zones not from knot: %s" % elsewhere[:5])
        most, accepted = events_of(events)
        sys.stdout.write("    (%d transfers from Knot, at most %d at once)\n"
                         % (accepted, most))
        c.stop()
    expect(most <= PER_PRIMARY, "%d transfers to Knot at once with transfers-per-primary "
           "%d: a zone that fails over is counted against its first primary only "
           "(control/events/sched.c, dispatch())" % (most, PER_PRIMARY))


TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]


def cleanup():
    for name in list(procs):
        if name == "dataplane":
            rc = stop(name)
            if rc not in (0, None):
                print("scale: warning: ditto-dataplane exited %s" % rc)
        else:
            stop(name, timeout=10)
    topo_down()
    shutil.rmtree("/var/run/dpdk/" + DP_PREFIX, ignore_errors=True)


def main():
    for tool in ("knotd", "knotc", "kdig", "ip", "ethtool"):
        if not shutil.which(tool, path=Env.env["PATH"]):
            print("scale: %s is missing (scripts/setup.sh installs it)" % tool)
            print("scale: 0 passed, %d failed" % len(TESTS))
            return 1
    for binary in (CONTROL, DATAPLANE):
        if not os.access(binary, os.X_OK):
            print("scale: no %s: build it first" % binary)
            print("scale: 0 passed, %d failed" % len(TESTS))
            return 1

    def on_signal(sig, frame):
        raise SystemExit("scale: signal %d" % sig)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    passed = failed = 0
    t = time.monotonic()
    try:
        topo_up()
        start_knot()
        start_dataplane()
        print("    (set-up: %.1f s)" % (time.monotonic() - t))
        sys.stdout.flush()
        passed, failed = run_tests("scale", TESTS, ONLY)
    except BaseException:
        import traceback
        traceback.print_exc(file=sys.stdout)
        failed += 1
    finally:
        cleanup()
        if failed:
            logs = [os.path.join(TMP, d, "control.log") for d in sorted(os.listdir(TMP))
                    if d.startswith("control-")]
            for log in logs + [os.path.join(KNOT_DIR, "knot.log"),
                               os.path.join(DP_DIR, "dataplane.log")]:
                if os.path.exists(log):
                    print("---- the end of %s ----" % log)
                    print("".join(open(log, errors="replace").readlines()[-30:]))
        if not os.environ.get("KEEP"):
            shutil.rmtree(TMP, ignore_errors=True)
        else:
            print("scale: kept %s" % TMP)
    print("    (%.0f s in all)" % (time.monotonic() - t))
    print("scale: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
