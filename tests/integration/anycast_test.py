#!/usr/bin/python3
"""Anycast health on the lab: BIRD on the node announces the service
prefixes to a second BIRD, the upstream router, only while `dittoctl
health` succeeds (scripts/ditto-health-bgp.sh switching the static
protocols of scripts/bird/bird.conf), and the route goes within seconds of
the node turning sick and comes back after recovery.

    anycast_test.py BUILD_DIR [TEST...]

Needs root, bird2, knotd. The lab runs with LAB_NS_PREFIX=bgp (namespaces
bgp-client, bgp-node, bgp-primary) in a private LAB_DIR, so it stands beside
the default lab. The BGP sessions (IPv4 and IPv6, with BFD) run on the
service wire: the upstream is the client namespace (dc0 192.0.2.10,
2001:db8::10) and the node's BIRD speaks from link addresses on the
exception TAP (ditto0 192.0.2.2, 2001:db8::2), so BGP and BFD cross the
dataplane's exception path as they would at a point of presence. Knot DNS in
the primary namespace is the primary of two zones; ditto-control keeps them.
Ends with "anycast: N passed, M failed"; prints the seconds each
withdrawal and re-announcement took.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

os.environ.setdefault("LAB_NS_PREFIX", "bgp")

import labkit  # noqa: E402 (reads LAB_NS_PREFIX)
from labkit import (Env, LAB_SH, NS_CLIENT, NS_NODE, NS_PRIMARY, ask,  # noqa: E402
                    expect, in_ns, popen_ns, run, wait_for)

BUILD, ONLY, LAB = labkit.test_dirs("ditto-anycast-test.")
CONTROL = os.path.join(BUILD, "control", "ditto-control")
DITTOCTL = os.path.join(BUILD, "control", "dittoctl")
LOOP = os.path.join(labkit.ROOT, "scripts", "ditto-health-bgp.sh")
TAP_ADDRESSES = os.path.join(labkit.ROOT, "scripts", "ditto-tap-addresses.sh")
NODE_BIRD_CONF = os.path.join(labkit.ROOT, "scripts", "bird", "bird.conf")
BIRD, BIRDC = shutil.which("bird") or "/usr/sbin/bird", shutil.which("birdc") or "/usr/sbin/birdc"
DP_SOCK = os.path.join(LAB, "dataplane.sock")
CTL_SOCK = os.path.join(LAB, "control.sock")
CONF = os.path.join(LAB, "ditto.yaml.control")
NODE_SOCK = os.path.join(LAB, "bird-node.ctl")
UP_SOCK = os.path.join(LAB, "bird-upstream.ctl")
SERVICE4, SERVICE6 = "192.0.2.53/32", "2001:db8::53/128"
NODE4, NODE6 = "192.0.2.2", "2001:db8::2"          # the node's link addresses on ditto0
UP4, UP6 = "192.0.2.10", "2001:db8::10"            # the upstream router: the client's dc0
PRIMARY, NODE_MGMT = "10.53.0.1", "10.53.0.2"
INTERVAL = 1                                       # the health loop's, seconds
procs = {}
timings = []


# --- the primary and ditto-control --------------------------------------------

def zone_text(origin, expire):
    return ("$ORIGIN %s.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 2 1 %d 300\n"
            "@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A 192.0.2.80\n" % (origin, expire))


def start_knot():
    d = os.path.join(LAB, "knot")
    os.makedirs(os.path.join(d, "db"), exist_ok=True)
    # short.test expires 8 s after the primary is last heard from;
    # long.test not within the test.
    for name, expire in (("short.test", 8), ("long.test", 3600)):
        with open(os.path.join(d, name + ".zone"), "w") as f:
            f.write(zone_text(name, expire))
    conf = os.path.join(d, "knot.conf")
    with open(conf, "w") as f:
        f.write("""server:
  rundir: %(d)s
  listen: %(primary)s@53
log:
  - target: %(d)s/knot.log
    any: info
database:
  storage: %(d)s/db
acl:
  - id: node
    address: %(node)s
    action: transfer
template:
  - id: default
    storage: %(d)s
    zonefile-sync: -1
    acl: node
zone:
  - domain: short.test
  - domain: long.test
""" % {"d": d, "primary": PRIMARY, "node": NODE_MGMT})
    procs["knot"] = popen_ns(NS_PRIMARY, ["knotd", "-c", conf], os.path.join(d, "knotd.out"))
    wait_for("knotd", lambda: in_ns(NS_PRIMARY, "knotc", "-c", conf, "zone-status",
                                    "short.test", check=False).returncode == 0)


def start_control():
    with open(CONF, "w") as f:
        f.write("""node:
  identity: bgp-node
  state-dir: %(lab)s/state
  management-addresses: [%(node)s]
  control-socket: %(ctl)s
  log-level: info
dataplane:
  socket: %(dp)s
control:
  timers: { refresh-min: 1, retry-min: 1, retry-max: 2, expire-min: 5 }
  tcp-timeout: 2
  transfer-timeout: 10
remotes:
  - { id: knot, address: %(primary)s }
zones:
  - { domain: short.test, primaries: [knot] }
  - { domain: long.test, primaries: [knot] }
""" % {"lab": LAB, "node": NODE_MGMT, "ctl": CTL_SOCK, "dp": DP_SOCK,
       "primary": PRIMARY})
    if os.path.exists(CTL_SOCK):
        os.unlink(CTL_SOCK)
    procs["control"] = popen_ns(NS_NODE, [CONTROL, "--config", CONF],
                                os.path.join(LAB, "control.log"))
    wait_for("control.sock", lambda: ask(CTL_SOCK, {"cmd": "status"})["ok"])


def stop(name, sig=signal.SIGTERM, timeout=15):
    p = procs.pop(name, None)
    return None if p is None else labkit.stop_process(p, sig, timeout)


def zone_state(name):
    r = ask(CTL_SOCK, {"cmd": "zone-status", "zone": name})
    expect(r["ok"], r)
    return r["zones"][0]["state"]


# --- the lab's exception TAP and the two BIRDs ----------------------------------

def link_addresses():
    """The node's link addresses for the BGP sessions, on the TAP the
    dataplane made (lab.sh puts only the service addresses there), by the
    helper the ditto-dataplane unit runs after every start."""
    in_ns(NS_NODE, TAP_ADDRESSES, "--timeout", "10", NODE4 + "/24", NODE6 + "/64")


def node_bird_conf():
    """scripts/bird/bird.conf as shipped, its defines set for the lab."""
    text = open(NODE_BIRD_CONF).read()
    for name, value in (("ROUTER_ID", NODE4), ("LOCAL4", NODE4), ("NEIGHBOR4", UP4),
                        ("LOCAL6", NODE6), ("NEIGHBOR6", UP6),
                        ("SERVICE4", SERVICE4), ("SERVICE6", SERVICE6)):
        text, n = re.subn(r"(?m)^define %s\s*=\s*[^;]*;" % name,
                          "define %s = %s;" % (name, value), text)
        expect(n == 1, "no 'define %s' in %s" % (name, NODE_BIRD_CONF))
    text, n = re.subn(r"(?m)^log syslog all;", 'log "%s/bird-node.log" all;\n'
                      'debug protocols { states, events };' % LAB, text)
    expect(n == 1, "no 'log syslog all;' in " + NODE_BIRD_CONF)
    return text


def upstream_bird_conf():
    """The router: takes what the node announces, sends nothing; BFD and
    timers as an operator would set them for a server link."""
    sessions = ""
    for name, local, peer, af in (("node4", UP4, NODE4, "ipv4"),
                                  ("node6", UP6, NODE6, "ipv6")):
        sessions += """
protocol bgp %s {
	local %s as 64496;
	neighbor %s as 65053;
	bfd on;
	hold time 9;
	keepalive time 3;
	connect retry time 5;
	error wait time 1, 10;
	%s { import all; export none; };
}
""" % (name, local, peer, af)
    return """log "%s/bird-upstream.log" all;
debug protocols { states, events };
router id %s;
protocol device { }
protocol bfd {
	interface "dc0" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };
}
""" % (LAB, UP4) + sessions


def start_bird(name, ns, text, sock):
    conf = os.path.join(LAB, "bird-%s.conf" % name)
    with open(conf, "w") as f:
        f.write(text)
    run([BIRD, "-p", "-c", conf])
    procs["bird-" + name] = popen_ns(ns, [BIRD, "-f", "-c", conf, "-s", sock,
                                          "-P", os.path.join(LAB, "bird-%s.pid" % name)],
                                     os.path.join(LAB, "bird-%s.out" % name))
    wait_for("BIRD " + name, lambda: birdc(sock, "show", "status").returncode == 0,
             timeout=10)


def birdc(sock, *cmd):
    return run([BIRDC, "-s", sock] + list(cmd), check=False, timeout=10)


def established():
    out = birdc(UP_SOCK, "show", "protocols").stdout
    return all(re.search(r"(?m)^%s\s.*Established" % p, out) for p in ("node4", "node6"))


def upstream_routes():
    """Which service prefixes the upstream router has from the node."""
    out = birdc(UP_SOCK, "show", "route").stdout
    return {p for p in (SERVICE4, SERVICE6)
            if re.search(r"(?m)^%s\s.*\[node[46] " % re.escape(p), out)}


def wait_routes(present, what, timeout):
    """Poll the upstream's table every 50 ms until both prefixes are there
    (present) or both gone; the seconds it took."""
    want = {SERVICE4, SERVICE6} if present else set()
    t = time.monotonic()
    seen = None
    while time.monotonic() - t < timeout:
        seen = upstream_routes()
        if seen == want:
            return time.monotonic() - t
        time.sleep(0.05)
    raise AssertionError("waited %.0f s for %s; the upstream has %s" % (timeout, what,
                                                                        sorted(seen)))


def note(what, seconds):
    timings.append((what, seconds))
    sys.stdout.write("    %-58s %5.2f s\n" % (what, seconds))


def start_loop():
    procs["loop"] = popen_ns(NS_NODE, [
        LOOP, "--interval", str(INTERVAL), "--rise", "2", "--fall", "1",
        "--config", CONF, "--bird-socket", NODE_SOCK, "--dittoctl", DITTOCTL,
        "--birdc", BIRDC], os.path.join(LAB, "loop.log"))


def health(*args):
    return run([DITTOCTL, "--config", CONF, "health"] + list(args), check=False, timeout=10)


def loop_log():
    return open(os.path.join(LAB, "loop.log")).read()


def answers():
    out = in_ns(NS_CLIENT, "kdig", "+time=1", "+retry=1", "@192.0.2.53", "www.short.test",
                "A", check=False).stdout
    return "192.0.2.80" in out


# --- the tests ----------------------------------------------------------------

def test_sessions_cross_the_exception_path_and_nothing_is_announced_before_a_check():
    before = ask(DP_SOCK, {"cmd": "stats"})["exception"]
    wait_for("both BGP sessions Established", established, timeout=30)
    after = ask(DP_SOCK, {"cmd": "stats"})["exception"]
    expect(after["to-kernel"] > before["to-kernel"] and
           after["from-kernel"] > before["from-kernel"], (before, after))
    out = birdc(UP_SOCK, "show", "bfd", "sessions").stdout
    expect(out.count(" Up ") >= 2, out)
    # bird.conf's service protocols start disabled: no health loop yet,
    # nothing announced.
    time.sleep(1)
    expect(upstream_routes() == set(), upstream_routes())


def test_healthy_node_is_announced():
    wait_for("the zones answering", answers, timeout=30)
    wait_for("dittoctl health saying healthy", lambda: health().returncode == 0, timeout=20)
    t = time.monotonic()
    start_loop()
    wait_routes(True, "the service prefixes at the upstream", 20)
    note("announced after the health loop started", time.monotonic() - t)
    expect("healthy: announcing" in loop_log(), loop_log())
    # What the node exports, as the README's Deployment section tells the operator to look.
    for session, prefix in (("upstream4", SERVICE4), ("upstream6", SERVICE6)):
        out = birdc(NODE_SOCK, "show", "route", "export", session).stdout
        expect(prefix in out and out.count("/") == 1, out)
    # DNS over TCP to the service address from the node itself.
    out = in_ns(NS_NODE, "kdig", "+tcp", "+time=2", "@192.0.2.53", "www.short.test", "A",
                check=False).stdout
    expect("192.0.2.80" in out, out)


def test_dataplane_stopped_withdraws_and_its_return_reannounces():
    t = time.monotonic()
    stopping = subprocess.Popen([LAB_SH, "stop"], env=Env.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    try:
        wait_routes(False, "the withdrawal after the dataplane stopped", 20)
        note("withdrawn after the dataplane was told to stop", time.monotonic() - t)
    finally:
        stopping.wait(timeout=60)
    wait_for("the loop to see it", lambda: "not healthy" in loop_log().split(
        "healthy: announcing")[-1], timeout=10)
    run([LAB_SH, "start", "--keep-state", "--build", BUILD], timeout=120)
    link_addresses()
    t = time.monotonic()
    wait_routes(True, "the re-announcement after the dataplane came back", 40)
    note("re-announced after the dataplane was back", time.monotonic() - t)
    expect(answers(), "no answer from the restarted dataplane")


def test_expired_zone_withdraws_and_the_primary_back_reannounces():
    expect(zone_state("short.test") == "ok", zone_state("short.test"))
    # The management wire goes dark: the primary is unreachable.
    t_cut = time.monotonic()
    in_ns(NS_PRIMARY, "ip", "link", "set", "mp0", "down")
    wait_for("short.test expired", lambda: zone_state("short.test") == "expired",
             timeout=30, every=0.05)
    t_exp = time.monotonic()
    wait_routes(False, "the withdrawal after short.test expired", 15)
    note("short.test expired after the primary was cut off", t_exp - t_cut)
    note("withdrawn after short.test expired", time.monotonic() - t_exp)
    expect(zone_state("long.test") == "ok", zone_state("long.test"))
    h = health()
    expect(h.returncode == 1 and h.stdout.strip(), (h.returncode, h.stdout, h.stderr))
    sys.stdout.write("    dittoctl health: %s\n" % h.stdout.strip()[:150])
    tolerant = health("--max-expired", "1")
    expect(tolerant.returncode == 0, (tolerant.returncode, tolerant.stdout))
    t = time.monotonic()
    in_ns(NS_PRIMARY, "ip", "link", "set", "mp0", "up")
    wait_routes(True, "the re-announcement after the primary came back", 30)
    note("re-announced after the primary was reachable again", time.monotonic() - t)
    expect(zone_state("short.test") == "ok", zone_state("short.test"))


def test_control_stopped_withdraws_and_its_restart_reannounces():
    t = time.monotonic()
    rc = stop("control")
    expect(rc == 0, "ditto-control exited %s" % rc)
    wait_routes(False, "the withdrawal after ditto-control stopped", 15)
    note("withdrawn after ditto-control was stopped", time.monotonic() - t)
    expect(answers(), "the dataplane stopped answering without the control process")
    t = time.monotonic()
    start_control()
    wait_routes(True, "the re-announcement after ditto-control came back", 30)
    note("re-announced after ditto-control was back", time.monotonic() - t)


def test_stopping_the_health_loop_withdraws():
    t = time.monotonic()
    rc = stop("loop")
    expect(rc == 0, "the health loop exited %s" % rc)
    wait_routes(False, "the withdrawal after the health loop stopped", 10)
    note("withdrawn after the health loop was stopped", time.monotonic() - t)
    expect("stopped: withdrawn" in loop_log(), loop_log()[-1000:])


TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]


def main():
    session = labkit.LabSession('anycast', TESTS, ONLY, BUILD, LAB)
    Env.env["PATH"] = Env.env.get("PATH", "") + ":/usr/sbin:/sbin"
    missing = [t for t in ("knotd", "kdig", "ip") if not shutil.which(t, path=Env.env["PATH"])]
    missing += [p for p in (BIRD, BIRDC, DITTOCTL, CONTROL) if not os.access(p, os.X_OK)]
    if missing:
        print("anycast: missing %s (scripts/setup.sh installs bird2 and knot; "
              "ninja builds dittoctl)" % ", ".join(missing))
        print("anycast: 0 passed, %d failed" % len(TESTS))
        shutil.rmtree(LAB, ignore_errors=True)
        return 1

    def setup():
        link_addresses()
        start_knot()
        start_control()
        start_bird("node", NS_NODE, node_bird_conf(), NODE_SOCK)
        start_bird("upstream", NS_CLIENT, upstream_bird_conf(), UP_SOCK)

    def teardown():
        for name in ('loop', 'control', 'bird-node', 'bird-upstream', 'knot'):
            try:
                stop(name)
            except Exception as e:  # keep cleaning up
                print("anycast: stopping %s: %s" % (name, e))

    passed, failed = session.run(setup, teardown, ("loop.log", "bird-node.log", "bird-upstream.log", "control.log", "dataplane.log"))
    if timings:
        print("anycast: seconds: " + "; ".join("%s %.2f" % t for t in timings))
    print("anycast: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
