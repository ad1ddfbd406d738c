#!/usr/bin/python3
"""A scripted primary for the transfer tests: answers SOA, AXFR and IXFR
for its zones over UDP and TCP, well or in one of the broken ways a
hostile or failing primary does, as the mode file says at each request.

    fakeprimary.py ADDRESS PORT STATE_DIR KEYNAME SECRET_B64

STATE_DIR holds, per zone, ZONE.json: {"serials": {"1": [records...],
"2": [...]}, "current": 2, "mode": "ok"} where records are presentation
lines ("www 300 IN A 192.0.2.1", relative to the zone) and the SOA is made
from the serial (expire 8 s, or the file's "expire"). Modes:

  ok              SOA, AXFR and IXFR (from any serial it has) as a primary
  ixfr-refused    IXFR answered REFUSED, AXFR fine
  down            no answer at all (queries and connections dropped)
  tsig-bad        every answer signed with a wrong secret
  unsigned        answers not signed at all
  wrong-zone      the AXFR is another zone's (first SOA owner differs)
  truncated       the AXFR stops half way: the connection closes
  no-closing-soa  the AXFR ends without its closing SOA
  serial-mismatch the closing SOA has another serial than the first
  out-of-zone     the AXFR carries a record of another zone
  meta-type       the AXFR carries a record of type ANY (a question type)
  ixfr-out-of-order IXFR whose sequence starts at a serial we do not hold
  ixfr-bad-delete IXFR deleting a record that is not in the zone
  oversized       an AXFR of 5000 records (past the test's limit)
  slow            the AXFR trickles: one message a second for 20 s
  garbage         the AXFR's second message is random bytes
  compression-loop the AXFR's message has a name pointing at itself
"""
import json
import os
import random
import socket
import struct
import sys
import threading
import time

import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdata
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring

ADDR, PORT, STATE = sys.argv[1], int(sys.argv[2]), sys.argv[3]
KEYNAME = dns.name.from_text(sys.argv[4])
KEYRING = dns.tsigkeyring.from_text({sys.argv[4]: sys.argv[5]})
BADRING = dns.tsigkeyring.from_text({sys.argv[4]: "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA=="})
ALG = dns.tsig.HMAC_SHA256


def load(zone):
    path = os.path.join(STATE, zone.to_text(omit_final_dot=True) + ".json")
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    EXPIRE[zone] = int(data.get("expire", 8))
    return data


EXPIRE = {}   # zone -> the SOA's expire, from its file ("expire", default 8)


def soa(zone, serial):
    return dns.rrset.from_text(zone, 300, "IN", "SOA",
                               "ns1.%s hostmaster.%s %d 2 1 %d 300" % (
                                   zone, zone, serial, EXPIRE.get(zone, 8)))


def records(zone, lines):
    out = []
    for line in lines:
        owner, ttl, cls, rtype, rdata = line.split(None, 4)
        name = dns.name.from_text(owner, zone)
        rd = dns.rdata.from_text(cls, rtype, rdata, origin=zone,
                                 relativize=False)
        out.append(dns.rrset.from_rdata(name, int(ttl), rd))
    return out


def response(q, rcode=dns.rcode.NOERROR):
    r = dns.message.make_response(q)
    r.flags |= 0x0400  # AA
    r.set_rcode(rcode)
    return r


def sign(r, q, mode):
    # make_response() signs the answer to a signed query by itself.
    r.tsig = None
    if mode == "unsigned" or not q.had_tsig:
        return r
    ring = BADRING if mode == "tsig-bad" else KEYRING
    r.use_tsig(ring, KEYNAME, algorithm=ALG)
    return r


def axfr_messages(q, zone, z, mode):
    """The messages of an AXFR of the current serial (dnspython messages
    or raw bytes for the broken ones)."""
    serial = z["current"]
    recs = records(zone, z["serials"][str(serial)])
    if mode == "wrong-zone":
        zone = dns.name.from_text("other.example.")
    if mode == "out-of-zone":
        recs.append(dns.rrset.from_text("stray.example.net.", 300, "IN", "A",
                                        "192.0.2.66"))
    if mode == "meta-type":
        # An RR of type ANY: a type that exists only in questions.
        rs = dns.rrset.RRset(dns.name.from_text("meta", zone),
                             dns.rdataclass.IN, dns.rdatatype.ANY)
        rs.add(dns.rdata.GenericRdata(dns.rdataclass.IN, dns.rdatatype.ANY,
                                      b""), 300)
        recs.append(rs)
    if mode == "oversized":
        recs += [dns.rrset.from_text(dns.name.from_text("n%d" % i, zone), 300,
                                     "IN", "A", "192.0.2.%d" % (i % 250 + 1))
                 for i in range(5000)]
    closing = soa(zone, serial + 1 if mode == "serial-mismatch" else serial)
    body = [soa(zone, serial)] + recs
    if mode != "no-closing-soa":
        body.append(closing)
    # Several messages, 20 records each, as real primaries split them.
    chunks = [body[i:i + 20] for i in range(0, len(body), 20)]
    return chunks


def render(q, rrsets, mode, tsig_ctx, first):
    r = response(q)
    r.tsig = None
    if not first:
        r.question = []
    for rs in rrsets:
        r.answer.append(rs)
    if q.had_tsig and mode != "unsigned":
        ring = BADRING if mode == "tsig-bad" else KEYRING
        r.use_tsig(ring, KEYNAME, algorithm=ALG)
        r.request_mac = q.mac if first else b""
        wire = r.to_wire(multi=True, tsig_ctx=tsig_ctx[0])
        tsig_ctx[0] = r.tsig_ctx
        return wire
    return r.to_wire()


def ixfr_messages(q, zone, z, mode):
    """Records of an IXFR from the client's serial, or None for AXFR-style."""
    have = q.authority[0][0].serial if q.authority else None
    cur = z["current"]
    if have is None or str(have) not in z["serials"] or have >= cur:
        return None if have is None or have < cur else [[soa(zone, cur)]]
    old = {l for l in z["serials"][str(have)]}
    new = {l for l in z["serials"][str(cur)]}
    start = have
    if mode == "ixfr-out-of-order":
        start = have + 1000
    dels = records(zone, sorted(old - new))
    adds = records(zone, sorted(new - old))
    if mode == "ixfr-bad-delete":
        dels.append(dns.rrset.from_text(dns.name.from_text("ghost", zone), 300,
                                        "IN", "A", "192.0.2.254"))
    body = [soa(zone, cur), soa(zone, start)] + dels + [soa(zone, cur)] + adds \
        + [soa(zone, cur)]
    return [body[i:i + 20] for i in range(0, len(body), 20)]


def answer_stream(q, mode):
    """The wire messages answering q."""
    qn = q.question[0]
    zone = qn.name
    z = load(zone)
    if z is None:
        r = response(q, dns.rcode.REFUSED)
        return [sign(r, q, mode).to_wire()]
    if qn.rdtype == dns.rdatatype.SOA:
        r = response(q)
        r.answer.append(soa(zone, z["current"]))
        return [sign(r, q, mode).to_wire()]
    if qn.rdtype == dns.rdatatype.IXFR:
        if mode == "ixfr-refused":
            return [sign(response(q, dns.rcode.REFUSED), q, mode).to_wire()]
        chunks = ixfr_messages(q, zone, z, mode)
        if chunks is None:
            chunks = axfr_messages(q, zone, z, mode)
    elif qn.rdtype == dns.rdatatype.AXFR:
        chunks = axfr_messages(q, zone, z, mode)
    else:
        return [sign(response(q, dns.rcode.NOTIMP), q, mode).to_wire()]
    ctx = [None]
    out = [render(q, c, mode, ctx, i == 0) for i, c in enumerate(chunks)]
    if mode == "compression-loop" and out:
        # A name in the first record that points at itself.
        m = bytearray(out[0])
        qend = 12
        while m[qend]:
            qend += m[qend] + 1
        qend += 5
        m[qend:qend + 2] = struct.pack("!H", 0xc000 | qend)
        out[0] = bytes(m)
    if mode == "garbage":
        junk = bytes(random.Random(1).getrandbits(8) for _ in range(300))
        if len(out) > 1:
            out[1] = junk
        else:
            out[0] = out[0][:30] + junk
    return out


def mode_of(q):
    try:
        z = load(q.question[0].name)
        return z.get("mode", "ok") if z else "ok"
    except Exception:
        return "ok"


def parse(wire):
    try:
        return dns.message.from_wire(wire, keyring=KEYRING)
    except dns.message.UnknownTSIGKey:
        return None
    except Exception:
        try:
            return dns.message.from_wire(wire, keyring=KEYRING,
                                         ignore_trailing=True)
        except Exception:
            return None


def serve_udp(sock):
    while True:
        wire, peer = sock.recvfrom(65535)
        q = parse(wire)
        if q is None or not q.question:
            continue
        mode = mode_of(q)
        if mode == "down":
            continue
        try:
            msgs = answer_stream(q, mode)
            sock.sendto(msgs[0][:512] if len(msgs[0]) > 512 else msgs[0], peer)
        except Exception as e:
            sys.stderr.write("fakeprimary: udp: %r\n" % e)


def recv_exact(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            return None
        b += d
    return b


def serve_conn(c):
    try:
        c.settimeout(30)
        while True:
            h = recv_exact(c, 2)
            if not h:
                return
            wire = recv_exact(c, struct.unpack("!H", h)[0])
            if wire is None:
                return
            q = parse(wire)
            if q is None or not q.question:
                return
            mode = mode_of(q)
            if mode == "down":
                return
            msgs = answer_stream(q, mode)
            for i, m in enumerate(msgs):
                if mode == "truncated" and i == len(msgs) // 2:
                    # Half a message, then the connection closes.
                    c.sendall(struct.pack("!H", len(m)) + m[:len(m) // 2])
                    return
                if mode == "slow" and i > 0:
                    time.sleep(1)
                c.sendall(struct.pack("!H", len(m)) + m)
    except Exception as e:
        sys.stderr.write("fakeprimary: tcp: %r\n" % e)
    finally:
        c.close()


def serve_tcp(sock):
    while True:
        c, _ = sock.accept()
        threading.Thread(target=serve_conn, args=(c,), daemon=True).start()


def main():
    fam = socket.AF_INET6 if ":" in ADDR else socket.AF_INET
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.bind((ADDR, PORT))
    t = socket.socket(fam, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((ADDR, PORT))
    t.listen(16)
    threading.Thread(target=serve_udp, args=(u,), daemon=True).start()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    serve_tcp(t)


if __name__ == "__main__":
    main()
