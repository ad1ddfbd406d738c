#!/usr/bin/python3
"""Helper of bench/notify_bench.sh: the parts that want sockets and clocks.

    notify_bench.py sniff --out FILE --secondary IP...
        (in the primary's namespace) time the DNS packets between the
        primary and the secondaries, from a packet socket: NOTIFY, SOA
        queries, the transfers' TCP segments. One line per packet:
        "realtime kind secondary".
    notify_bench.py wait --target NAME=IP... --qname Q --value V --timeout S
        (in the client namespace) until every target answers Q TXT with V;
        prints "NAME seconds" as each does.
    notify_bench.py rounds --target NAME=IP... [options]
        (in the client namespace) the rounds: change one record on the
        primary with knotc, time until each target answers the new data,
        gather what the logs say, print the table, write the results.

Debian's python3 with python3-dnspython; nothing else.
"""
import argparse
import calendar
import json
import os
import random
import re
import select
import socket
import statistics
import struct
import subprocess
import sys
import time

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rdatatype


def log(msg):
    sys.stderr.write("notify_bench: %s\n" % msg)
    sys.stderr.flush()


# --- the wire, seen from the primary ------------------------------------------

ETH_P_ALL = 0x0003
SO_TIMESTAMPNS = 35


def question_type(msg):
    """The QTYPE of the first question of a DNS message, or None."""
    if struct.unpack("!H", msg[4:6])[0] < 1:
        return None
    i = 12
    while i < len(msg) and msg[i]:
        if msg[i] & 0xC0:
            return None
        i += msg[i] + 1
    if i + 3 > len(msg):
        return None
    return struct.unpack("!H", msg[i + 1:i + 3])[0]


def sniff(args):
    """Record the primary's DNS traffic with each secondary until killed."""
    secs = set(args.secondary)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    out = open(args.out, "a", buffering=1)
    out.write("# ready\n")
    while True:
        data, anc, _, addr = s.recvmsg(256, socket.CMSG_LEN(16))
        t = None
        for level, kind, val in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", val[:16])
                t = sec + nsec / 1e9
        if t is None:
            t = time.time()
        if addr[0] == "lo" or len(data) < 34 or data[12:14] != b"\x08\x00":
            continue
        ihl = (data[14] & 15) * 4
        proto = data[23]
        src = socket.inet_ntoa(data[26:30])
        dst = socket.inet_ntoa(data[30:34])
        tot = struct.unpack("!H", data[16:18])[0]
        l4 = 14 + ihl
        # Each frame crosses one interface of this namespace once: the
        # primary's own as outgoing, the secondaries' as incoming.
        sec = dst if dst in secs else src if src in secs else None
        if sec is None or len(data) < l4 + 4:
            continue
        sport, dport = struct.unpack("!HH", data[l4:l4 + 4])
        prim = src if dst == sec else dst
        msg = None
        if proto == 17:
            msg = data[l4 + 8:]
        elif proto == 6 and len(data) >= l4 + 14:
            doff = (data[l4 + 12] >> 4) * 4
            if data[l4 + 13] & 0x02 and src == sec and dport == 53:
                out.write("%.6f xfr-connect %s\n" % (t, sec))
            payload = data[l4 + doff:14 + tot]
            if sport == 53 and src == prim and payload:
                out.write("%.6f xfr-data %s\n" % (t, sec))
            # A segment that starts a message: two bytes of length first.
            if len(payload) >= 14 and struct.unpack("!H", payload[:2])[0] >= 12:
                msg = payload[2:]
        if not msg or len(msg) < 12:
            continue
        qr, opcode = msg[2] >> 7, (msg[2] >> 3) & 15
        kind = None
        if opcode == 4 and not qr and src == prim:
            kind = "notify"
        elif opcode == 4 and qr and src == sec:
            kind = "notify-answer"
        elif opcode == 0 and not qr and src == sec and dport == 53:
            qtype = question_type(msg)
            kind = {6: "soa-query", 251: "ixfr-query", 252: "axfr-query"}.get(qtype)
        if kind:
            out.write("%.6f %s %s\n" % (t, kind, sec))


# --- DNS from the client ------------------------------------------------------

def txt_of(msg, qname):
    for rrset in msg.answer:
        if rrset.rdtype == dns.rdatatype.TXT and rrset.name == qname:
            for rd in rrset:
                return b"".join(rd.strings).decode("ascii", "replace")
    return None


class Poller:
    """Ask every target Q TXT every interval seconds (a fresh query each
    time, however the earlier ones fared) until each answers want."""

    def __init__(self, targets, qname, interval):
        self.targets = targets
        self.qname = dns.name.from_text(qname)
        self.interval = interval
        q = dns.message.make_query(self.qname, dns.rdatatype.TXT)
        q.flags &= ~dns.flags.RD
        self.wire = bytearray(q.to_wire())

    def run(self, want, timeout):
        socks = {}
        for name, ip in self.targets.items():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setblocking(False)
            s.connect((ip, 53))
            socks[s] = name
        done, sent, answered = {}, dict.fromkeys(self.targets, 0), dict.fromkeys(self.targets, 0)
        last = {}
        end = time.monotonic() + timeout
        tick = time.monotonic()
        try:
            while len(done) < len(self.targets):
                now = time.monotonic()
                if now >= end:
                    break
                if now >= tick:
                    for s, name in socks.items():
                        if name in done:
                            continue
                        struct.pack_into("!H", self.wire, 0, random.getrandbits(16))
                        try:
                            s.send(self.wire)
                            sent[name] += 1
                        except OSError:
                            pass
                    tick += self.interval
                    if tick < now:
                        tick = now + self.interval
                wait = [s for s, n in socks.items() if n not in done]
                r, _, _ = select.select(wait, [], [], max(0.0, min(tick, end) - time.monotonic()))
                for s in r:
                    try:
                        data = s.recv(65535)
                    except OSError:
                        continue
                    t, tw = time.monotonic(), time.time()
                    name = socks[s]
                    try:
                        m = dns.message.from_wire(data)
                    except Exception:
                        continue
                    answered[name] += 1
                    v = txt_of(m, self.qname)
                    last[name] = v
                    if v == want and name not in done:
                        done[name] = (t, tw)
        finally:
            for s in socks:
                s.close()
        return done, sent, answered, last


def soa_serial(ip, zone):
    q = dns.message.make_query(zone, dns.rdatatype.SOA)
    q.flags &= ~dns.flags.RD
    try:
        r = dns.query.udp(q, ip, timeout=1)
    except Exception:
        return None
    for rrset in r.answer:
        if rrset.rdtype == dns.rdatatype.SOA:
            return rrset[0].serial
    return None


def parse_targets(items):
    t = {}
    for it in items:
        name, ip = it.split("=", 1)
        t[name] = ip
    return t


def wait(args):
    targets = parse_targets(args.target)
    t0 = time.monotonic()
    pending = dict(targets)
    end = t0 + args.timeout
    while pending and time.monotonic() < end:
        done, _, _, _ = Poller(pending, args.qname, 0.1).run(args.value, min(5, end - time.monotonic()))
        for name, (t, _) in done.items():
            print("%s %.2f" % (name, t - t0))
            sys.stdout.flush()
            del pending[name]
    if pending:
        log("waited %d s; still not answering %s %s: %s" % (
            args.timeout, args.qname, args.value, " ".join(sorted(pending))))
        return 1
    return 0


# --- logs -------------------------------------------------------------------

class Tail:
    """What a log file got since the last look."""

    def __init__(self, path):
        self.path = path
        self.off = os.path.getsize(path) if os.path.exists(path) else 0

    def mark(self):
        self.off = os.path.getsize(self.path) if os.path.exists(self.path) else 0
        return self.off

    def since(self, off):
        if not os.path.exists(self.path):
            return []
        with open(self.path, "rb") as f:
            f.seek(off)
            return f.read().decode("utf-8", "replace").splitlines()


TS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z ")


def ditto_time(line):
    m = TS.match(line)
    if not m:
        return None
    return calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) + int(m.group(2)) / 1000


def first(lines, pattern):
    rx = re.compile(pattern)
    for line in lines:
        m = rx.search(line)
        if m:
            return line, m
    return None, None


def ask(sock, req, timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock)
    s.sendall(json.dumps(req).encode() + b"\n")
    line = s.makefile().readline()
    s.close()
    return json.loads(line)


def mtime(path):
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


# --- the rounds ---------------------------------------------------------------

def knotc(args, *cmd):
    p = subprocess.run(["knotc", "-s", args.knot_socket] + list(cmd),
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError("knotc %s: %s%s" % (" ".join(cmd), p.stdout, p.stderr))
    return p.stdout


def primary_serial(args):
    out = knotc(args, "zone-read", args.zone, "@", "SOA")
    m = re.search(r"SOA\s+\S+\s+\S+\s+(\d+)\s", out)
    if not m:
        raise RuntimeError("no SOA in knotc zone-read: %r" % out)
    return int(m.group(1))


def events(path, lo, hi):
    out = []
    if not os.path.exists(path):
        return out
    for line in open(path):
        if line.startswith("#"):
            continue
        t, kind, sec = line.split()
        t = float(t)
        if lo <= t < hi:
            out.append((t, kind, sec))
    return out


def wire_times(evs, sec):
    """When the NOTIFY left for sec, its SOA query came, its transfer
    began and the primary sent the transfer's last segment."""
    r = {}
    for t, kind, s in evs:
        if s != sec:
            continue
        key = {"notify": "notify", "soa-query": "soa", "ixfr-query": "xfr",
               "axfr-query": "xfr", "xfr-connect": "connect"}.get(kind)
        if key and key not in r:
            r[key] = t
        if kind == "xfr-data":
            r["xfr-end"] = t
    return r


def control_idle(args, serial, timeout=180):
    end = time.monotonic() + timeout
    z = None
    while time.monotonic() < end:
        try:
            z = ask(args.control_socket, {"cmd": "zone-status", "zone": args.zone})["zones"][0]
            if z.get("serial") == serial and not z.get("refreshing"):
                return z
        except Exception as e:
            z = repr(e)
        time.sleep(0.1)
    log("ditto-control not idle at serial %d after %d s: %s" % (serial, timeout, z))
    return z if isinstance(z, dict) else None


def rounds(args):
    targets = parse_targets(args.target)
    qname = args.probe + "." + args.zone
    poller = Poller(targets, qname, args.interval)
    ctl = Tail(args.control_log)
    dpl = Tail(args.dataplane_log)
    kl = Tail(args.knot_log)
    base = os.path.join(args.state_dir, "control", args.zone.rstrip("."))
    results = []
    cur = args.start_value
    for r in range(1, args.rounds + 1):
        want = "round-%d" % r
        # Everyone on the old data first, so the change is the only thing
        # in flight.
        done, _, _, last = poller.run(cur, 30)
        if len(done) < len(targets):
            log("round %d: not every target answers %s before the change: %s" % (r, cur, last))
            return 1
        # The previous round's files on disk, so its writeback does not
        # land in this one (for both secondaries alike).
        os.sync()
        time.sleep(0.5)
        offs = (ctl.mark(), dpl.mark(), kl.mark())
        old_serial = primary_serial(args)
        knotc(args, "zone-begin", args.zone)
        try:
            knotc(args, "zone-unset", args.zone, args.probe, "TXT")
            knotc(args, "zone-set", args.zone, args.probe, "300", "TXT", '"%s"' % want)
        except Exception:
            knotc(args, "zone-abort", args.zone)
            raise
        tpre_w, tpre = time.time(), time.monotonic()
        knotc(args, "zone-commit", args.zone)
        t0, t0_w = time.monotonic(), time.time()
        done, sent, answered, last = poller.run(want, args.timeout)
        new_serial = primary_serial(args)
        row = {"round": r, "value": want, "serial": [old_serial, new_serial],
               "commit_s": t0 - tpre, "t_commit": t0_w, "t_pre": tpre_w,
               "queries": sent, "answers": answered}
        for name in targets:
            if name in done:
                row[name] = done[name][0] - t0
                row[name + "_t"] = done[name][1]
            else:
                row[name] = None
                log("round %d: %s did not answer %s within %d s (last answer %r)" % (
                    r, name, want, args.timeout, last.get(name)))
        # ditto-control: done with this serial, its lines logged.
        z = control_idle(args, new_serial) if "ditto" in targets else None
        time.sleep(0.5)
        row["serials_answered"] = {n: soa_serial(ip, args.zone) for n, ip in targets.items()}
        cl = ctl.since(offs[0])
        dl = dpl.since(offs[1])
        klines = kl.since(offs[2])
        row["control_lines"] = [l for l in cl if args.zone in l]
        line, m = first(cl, r"NOTIFY for %s from (\S+?)[: ].*refreshing" % re.escape(args.zone))
        row["ditto_notify_logged"] = ditto_time(line) if line else None
        line, m = first(cl, r"zone %s: ((IXFR|AXFR)\S* .*)" % re.escape(args.zone))
        row["ditto_result"] = m.group(1) if m else None
        row["ditto_kind"] = m.group(2) if m else None
        row["ditto_result_logged"] = ditto_time(line) if line else None
        row["ditto_fallback"] = first(cl, r"IXFR from .* failed .*trying AXFR")[0]
        line, m = first(dl, r"zone %s serial (\d+) adopted .*\((\d+) bytes\)" % re.escape(args.zone))
        row["ditto_adopted"] = ditto_time(line) if line else None
        row["image_bytes"] = int(m.group(2)) if m else None
        row["ditto_adoptions"] = sum(1 for l in dl if re.search(r"zone %s serial \d+ adopted" % re.escape(args.zone), l))
        row["ditto_republished"] = [l for l in cl if "published to the dataplane" in l]
        row["ditto_contents_written"] = mtime(base + ".contents")
        row["ditto_image_written"] = mtime(base + ".img")
        if z:
            row["ditto_status"] = {k: z.get(k) for k in ("serial", "ixfr", "axfr", "notifies",
                                                        "last-result", "published")}
        line, m = first(klines, r"(IXFR|AXFR), incoming.*finished(.*)")
        row["knot_kind"] = m.group(1) if m else None
        row["knot_lines"] = [l for l in klines if "bench" in l or args.zone in l]
        results.append(row)
        cur = want
        print_round(row, targets)
        time.sleep(args.pause)
    # The packets, now that every round is over.
    for i, row in enumerate(results):
        hi = results[i + 1]["t_pre"] if i + 1 < len(results) else time.time()
        evs = events(args.sniff_log, row["t_pre"] - 0.05, hi)
        row["wire"] = {name: wire_times(evs, args.secondary[name]) for name in targets
                       if name in args.secondary}
    with open(args.results, "w") as f:
        json.dump(results, f, indent=1)
    report(results, targets, args)
    return 0 if all(row.get(n) is not None for row in results for n in targets) else 1


def ms(v):
    return "%8.1f" % (v * 1000) if v is not None else "       -"


def print_round(row, targets):
    parts = ["round %d: serial %d -> %d" % (row["round"], row["serial"][0], row["serial"][1])]
    for name in targets:
        parts.append("%s %s ms" % (name, ms(row[name]).strip()))
    parts.append("(ditto: %s; knot: %s)" % (row.get("ditto_kind") or "?", row.get("knot_kind") or "?"))
    log(", ".join(parts))


def rel(t, t0):
    return None if t is None or t0 is None else t - t0


def report(results, targets, args):
    names = list(targets)
    print()
    print("NOTIFY-to-answer: one record changed per round on the primary (knotc zone-commit);"
          " time from knotc's return until %s TXT answers the new value" % (args.probe + "." + args.zone))
    print("%-6s %-23s %10s %10s %8s   %-6s %-6s %s" % ("round", "serial", "ditto ms", "knot ms",
                                                      "ratio", "ditto", "knot", "commit ms"))
    for row in results:
        d, k = row.get("ditto"), row.get("knot")
        ratio = "%7.1fx" % (d / k) if d is not None and k else "       -"
        print("%-6d %-23s %10s %10s %8s   %-6s %-6s %s" % (
            row["round"], "%d -> %d" % tuple(row["serial"]), ms(d), ms(k), ratio,
            row.get("ditto_kind") or "?", row.get("knot_kind") or "?", ms(row["commit_s"]).strip()))
    med = {}
    for n in names:
        vals = [row[n] for row in results if row.get(n) is not None]
        med[n] = statistics.median(vals) if vals else None
    line = "median %-23s" % ""
    line += " %10s %10s" % (ms(med.get("ditto")), ms(med.get("knot")))
    if med.get("ditto") and med.get("knot"):
        line += " %7.1fx" % (med["ditto"] / med["knot"])
    print(line)
    print("(ratio: ditto / knot; commit: how long knotc zone-commit itself took; polling every"
          " %.0f ms from the client namespace)" % (args.interval * 1000))
    if med.get("ditto") and med.get("knot"):
        faster = "Knot DNS" if med["knot"] < med["ditto"] else "ditto"
        print("median: ditto %.1f ms, Knot DNS %.1f ms: %s is faster (ditto/knot %.2fx)" % (
            med["ditto"] * 1000, med["knot"] * 1000, faster, med["ditto"] / med["knot"]))
    print()
    print("where ditto's time went (ms after knotc returned; wire times seen at the primary,"
          " the rest from ditto's logs and its state files' mtimes):")
    print("%-6s %8s %8s %8s %8s %8s %9s %9s %9s %9s %9s" % (
        "round", "NOTIFY", "logged", "SOA q", "IXFR q", "IXFR end", "contents", "image",
        "adopted", "answered", "compile*"))
    for row in results:
        t0 = row["t_commit"]
        w = row.get("wire", {}).get("ditto", {})
        xend = w.get("xfr-end")
        contents = row.get("ditto_contents_written")
        comp = contents - xend if contents and xend else None
        print("%-6d %8s %8s %8s %8s %8s %9s %9s %9s %9s %9s" % (
            row["round"], ms(rel(w.get("notify"), t0)), ms(rel(row.get("ditto_notify_logged"), t0)),
            ms(rel(w.get("soa"), t0)), ms(rel(w.get("xfr"), t0)), ms(rel(xend, t0)),
            ms(rel(contents, t0)), ms(rel(row.get("ditto_image_written"), t0)),
            ms(rel(row.get("ditto_adopted"), t0)), ms(rel(row.get("ditto_t"), t0)), ms(comp)))
    print("(negative: before knotc returned. NOTIFY, SOA q, IXFR q: sent; IXFR end: the primary's"
          " last segment of the transfer; logged: ditto-control's \"NOTIFY ... refreshing\";"
          " contents/image: the last write of state-dir/control/%s.contents and .img; adopted:"
          " the dataplane's log line; compile*: IXFR end to the contents file written, that is"
          " applying the diff, compiling the whole zone and serializing its contents: the log"
          " does not time the compile itself)" % args.zone.rstrip("."))
    print()
    print("where Knot's time went (ms after knotc returned):")
    print("%-6s %8s %8s %8s %8s %9s" % ("round", "NOTIFY", "SOA q", "IXFR q", "IXFR end", "answered"))
    for row in results:
        t0 = row["t_commit"]
        w = row.get("wire", {}).get("knot", {})
        print("%-6d %8s %8s %8s %8s %9s" % (row["round"], ms(rel(w.get("notify"), t0)),
                                            ms(rel(w.get("soa"), t0)), ms(rel(w.get("xfr"), t0)),
                                            ms(rel(w.get("xfr-end"), t0)),
                                            ms(rel(row.get("knot_t"), t0))))
    print()
    print("what ditto-control logged for each round:")
    for row in results:
        print("  round %d: %s" % (row["round"], row.get("ditto_result") or "(no transfer line)"))
        if row.get("ditto_fallback"):
            print("    %s" % row["ditto_fallback"])
        for l in row.get("ditto_republished", []):
            print("    %s" % l.split(": ", 1)[-1])
        if row.get("ditto_adoptions", 1) != 1:
            print("    (the dataplane adopted an image of the zone %d times in this round)"
                  % row["ditto_adoptions"])
    kinds = {row.get("ditto_kind") for row in results}
    if kinds != {"IXFR"}:
        print("WARNING: ditto's transfers were %s, not IXFR every round" % sorted(map(str, kinds)))
    kk = {row.get("knot_kind") for row in results}
    if kk != {"IXFR"}:
        print("WARNING: Knot's transfers were %s, not IXFR every round" % sorted(map(str, kk)))
    bad = [(row["round"], row["serials_answered"]) for row in results
           if any(v != row["serial"][1] for v in row["serials_answered"].values())]
    if bad:
        print("WARNING: SOA serial answered after the round differs from the primary's: %s" % bad)
    sizes = {row.get("image_bytes") for row in results if row.get("image_bytes")}
    if sizes:
        print("ditto's image: %s bytes" % "/".join(str(s) for s in sorted(sizes)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("sniff")
    p.add_argument("--out", required=True)
    p.add_argument("--secondary", nargs="+", required=True)
    p = sub.add_parser("wait")
    p.add_argument("--target", nargs="+", required=True)
    p.add_argument("--qname", required=True)
    p.add_argument("--value", required=True)
    p.add_argument("--timeout", type=float, default=600)
    p = sub.add_parser("rounds")
    p.add_argument("--target", nargs="+", required=True, help="NAME=IP (ditto, knot)")
    p.add_argument("--secondary", nargs="+", default=[],
                   help="NAME=IP: the target's management address, as the primary sees it")
    p.add_argument("--zone", required=True)
    p.add_argument("--probe", default="nb-probe", help="owner of the TXT record changed")
    p.add_argument("--start-value", default="round-0")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--interval", type=float, default=0.01)
    p.add_argument("--timeout", type=float, default=120, help="s per round, at most")
    p.add_argument("--pause", type=float, default=3, help="s between rounds")
    p.add_argument("--knot-socket", required=True, help="the primary's control socket")
    p.add_argument("--control-socket", required=True)
    p.add_argument("--control-log", required=True)
    p.add_argument("--dataplane-log", required=True)
    p.add_argument("--knot-log", required=True, help="the Knot secondary's log")
    p.add_argument("--sniff-log", required=True)
    p.add_argument("--state-dir", required=True)
    p.add_argument("--results", required=True)
    args = ap.parse_args()
    if args.cmd == "sniff":
        return sniff(args)
    if args.cmd == "wait":
        return wait(args)
    if not args.zone.endswith("."):
        args.zone += "."
    args.secondary = parse_targets(args.secondary)
    return rounds(args)


if __name__ == "__main__":
    sys.exit(main() or 0)
