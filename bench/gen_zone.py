#!/usr/bin/python3
"""Generate a deterministic benchmark zone and a matching query list.

    gen_zone.py --names N --zone OUT.zone --queries OUT.queries
                [--query-count Q] [--seed S] [--origin bench.example.]

The zone has about N owner names (glue and empty non-terminals included):
hosts with A/AAAA/TXT/MX, CNAMEs to in-zone and out-of-zone targets, TXT-only
names, a wildcard, delegations with and without glue, SOA/NS/MX at the apex.

The query list has one query a line: "name type expect", where expect is
one of hit, nxdomain, wildcard, cname, referral (engine_bench checks the
response against it).  Mix: 60% hits of A/AAAA/MX/TXT, 15% NXDOMAIN,
10% wildcard, 10% CNAME, 5% referral; a quarter of the names in mixed case.

A summary line "names=... records=..." is written to OUT.zone.meta.
Standard library only.
"""

import argparse
import random
import sys

WORDS = ["www", "mail", "api", "cdn", "host", "srv", "db", "vpn", "shop",
         "app", "static", "img", "git", "ci", "edge", "node", "web", "ftp",
         "auth", "login", "smtp", "imap", "portal", "wiki", "docs", "m"]
REGIONS = 200           # region-K subdomains (empty non-terminals)
MAIL_HOSTS = 64         # mx targets


def txt_value(rng):
    kind = rng.random()
    if kind < 0.4:
        return '"v=spf1 ip4:%d.%d.%d.0/24 include:_spf.example.net ~all"' % (
            rng.randrange(1, 224), rng.randrange(256), rng.randrange(256))
    if kind < 0.7:
        return '"google-site-verification=%016x%016x"' % (
            rng.getrandbits(64), rng.getrandbits(64))
    return '"%s" "id=%08x"' % (rng.choice(WORDS) * rng.randrange(1, 6),
                               rng.getrandbits(32))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--names", type=int, required=True)
    ap.add_argument("--zone", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--query-count", type=int, default=100000)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--origin", default="bench.example.")
    ap.add_argument("--popularity", choices=("uniform", "zipf"),
                    default="uniform",
                    help="how names are drawn for hits, CNAMEs and referrals: "
                         "uniformly (every name equally, the worst case for "
                         "caches) or by a Zipf law of exponent 1 over a "
                         "shuffled ranking, as real traffic is skewed")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    origin = args.origin if args.origin.endswith(".") else args.origin + "."
    target = max(args.names, 100)

    out = open(args.zone, "w", buffering=1 << 20)
    w = out.write
    records = 0
    names = 0

    # Apex.
    w("$ORIGIN %s\n$TTL 3600\n" % origin)
    w("@ IN SOA ns1 hostmaster 2024060101 7200 900 1209600 300\n")
    w("@ IN NS ns1\n@ IN NS ns2\n@ IN MX 10 mx0\n@ IN MX 20 mx1\n")
    w("@ IN TXT \"v=spf1 mx -all\"\n@ IN A 192.0.2.1\n@ IN AAAA 2001:db8::1\n")
    w("ns1 IN A 192.0.2.53\nns1 IN AAAA 2001:db8::53\nns2 IN A 198.51.100.53\n")
    records += 11
    names += 3
    # Mail hosts (MX targets, with addresses for the additional section).
    for k in range(MAIL_HOSTS):
        w("mx%d IN A 10.%d.%d.25\nmx%d IN AAAA 2001:db8:25::%x\n"
          % (k, k >> 8, k & 255, k, k))
    records += 2 * MAIL_HOSTS
    names += MAIL_HOSTS
    # The wildcard and the name it sits under.
    w("*.wild IN A 192.0.2.80\n*.wild IN AAAA 2001:db8::80\n"
      "*.wild IN TXT \"wildcard\"\n*.wild IN MX 10 mx2\n")
    records += 4
    names += 2          # *.wild and the empty non-terminal wild
    names += REGIONS    # region-K empty non-terminals

    by_type = {"A": [], "AAAA": [], "MX": [], "TXT": []}
    addr_hosts = []     # names with an A record (CNAME targets)
    aliases = []
    delegs = []
    i = 0
    while names < target:
        i += 1
        word = rng.choice(WORDS)
        if rng.random() < 0.2:
            owner = "%s%d.region-%d" % (word, i, rng.randrange(REGIONS))
        else:
            owner = "%s%d" % (word, i)
        r = rng.random()
        if r < 0.72:                                    # host
            has_a = rng.random() < 0.85
            has_aaaa = rng.random() < 0.45 or not has_a
            if has_a:
                w("%s IN A 10.%d.%d.%d\n" % (owner, (i >> 16) & 255,
                                             (i >> 8) & 255, i & 255))
                by_type["A"].append(owner)
                addr_hosts.append(owner)
                records += 1
                if rng.random() < 0.05:                 # round robin
                    w("%s IN A 172.16.%d.%d\n" % (owner, (i >> 8) & 255,
                                                  i & 255))
                    records += 1
            if has_aaaa:
                w("%s IN AAAA 2001:db8:%x:%x::%x\n" % (owner, i >> 16,
                                                       i & 0xffff, i & 0xff))
                by_type["AAAA"].append(owner)
                records += 1
            if rng.random() < 0.15:
                w("%s IN TXT %s\n" % (owner, txt_value(rng)))
                by_type["TXT"].append(owner)
                records += 1
            if rng.random() < 0.08:
                w("%s IN MX 10 mx%d\n%s IN MX 20 mx%d\n"
                  % (owner, rng.randrange(MAIL_HOSTS), owner,
                     rng.randrange(MAIL_HOSTS)))
                by_type["MX"].append(owner)
                records += 2
            names += 1
        elif r < 0.77:                                  # TXT only
            w("%s IN TXT %s\n" % (owner, txt_value(rng)))
            by_type["TXT"].append(owner)
            records += 1
            names += 1
        elif r < 0.92:                                  # CNAME
            if addr_hosts and rng.random() < 0.9:
                tgt = rng.choice(addr_hosts)
            else:
                tgt = "edge%d.cdn.example.net." % rng.randrange(1000)
            w("%s IN CNAME %s\n" % (owner, tgt))
            aliases.append(owner)
            records += 1
            names += 1
        else:                                           # delegation
            cut = "sub%d" % i
            if rng.random() < 0.5:                      # in-zone servers
                w("%s IN NS ns1.%s\n%s IN NS ns2.%s\n" % (cut, cut, cut, cut))
                w("ns1.%s IN A 10.200.%d.1\n" % (cut, i & 255))
                w("ns1.%s IN AAAA 2001:db8:53:%x::1\n" % (cut, i & 0xffff))
                w("ns2.%s IN A 10.201.%d.2\n" % (cut, i & 255))
                records += 5
                names += 3
            else:                                       # out-of-zone servers
                w("%s IN NS ns%d.dns-provider.example.net.\n"
                  "%s IN NS ns%d.dns-provider.example.org.\n"
                  % (cut, i % 7, cut, i % 5))
                records += 2
                names += 1
            delegs.append(cut)
    out.close()

    with open(args.zone + ".meta", "w") as m:
        m.write("names=%d records=%d origin=%s seed=%d\n"
                % (names, records, origin, args.seed))

    # Queries.
    def mixcase(name):
        if rng.random() >= 0.25:
            return name
        return "".join(c.upper() if c.isalpha() and rng.random() < 0.5
                       else c for c in name)

    def fq(rel):
        return rel + "." + origin

    # Zipf(1): rank k drawn with P(k) ~ 1/k, by k = floor(N ** u).
    ranks = {}

    def pick(pool):
        if args.popularity == "uniform":
            return rng.choice(pool)
        order = ranks.get(id(pool))
        if order is None:
            order = list(range(len(pool)))
            random.Random(args.seed + len(pool)).shuffle(order)
            ranks[id(pool)] = order
        k = min(int(len(pool) ** rng.random()), len(pool)) - 1
        return pool[order[k]]

    with open(args.queries, "w", buffering=1 << 20) as q:
        for _ in range(args.query_count):
            r = rng.random()
            if r < 0.60:
                t = rng.random()
                qt = ("A" if t < 0.45 else "AAAA" if t < 0.70 else
                      "TXT" if t < 0.90 else "MX")
                pool = by_type[qt]
                name, expect = pick(pool), "hit"
            elif r < 0.75:
                qt = rng.choice(["A", "A", "AAAA", "MX", "TXT"])
                if rng.random() < 0.3:
                    name = "nx%x.region-%d" % (rng.getrandbits(32),
                                               rng.randrange(REGIONS))
                else:
                    name = "nx%x-%s" % (rng.getrandbits(32),
                                        rng.choice(WORDS))
                expect = "nxdomain"
            elif r < 0.85:
                qt = rng.choice(["A", "A", "AAAA", "TXT", "MX"])
                name = "%s%x.wild" % (rng.choice(WORDS), rng.getrandbits(24))
                expect = "wildcard"
            elif r < 0.95:
                qt = rng.choice(["A", "A", "A", "AAAA"])
                name, expect = pick(aliases), "cname"
            else:
                qt = rng.choice(["A", "AAAA", "NS"])
                cut = pick(delegs)
                name = cut if qt == "NS" else "%s.%s" % (rng.choice(WORDS),
                                                         cut)
                expect = "referral"
            q.write("%s %s %s\n" % (mixcase(fq(name)), qt, expect))

    sys.stderr.write("gen_zone: %s: %d names, %d records; %s: %d queries\n"
                     % (args.zone, names, records, args.queries,
                        args.query_count))


if __name__ == "__main__":
    main()
