#!/usr/bin/python3
"""Signed test zones, generated and signed at test time with Debian's tools.

    /usr/bin/python3 signzones.py OUTDIR [-v]

Writes into OUTDIR, with keys generated fresh on every run (algorithm 13,
ECDSAP256SHA256; a KSK and a ZSK per zone):

    <apex>zone      the signed zone file (e.g. signed-nsec.test.zone)
    <apex>ds        the DS records of the zone's KSK (its trust anchor)
    <apex>dnskey    the zone's DNSKEY RRset
    manifest.json   [{apex, file, ds, dnskey, denial, salt, iterations,
                      optout, signer, contents ('template' or 'child')}]
    keys/           the key pairs (and the unsigned zone sources)

The zones (each is the TEMPLATE below plus its own extras):

    signed-nsec.test.        NSEC                               (ldns-signzone)
    signed-nsec3.test.       NSEC3, salt aabbccdd, 10 iterations (ldns-signzone)
    child.signed-nsec3.test. NSEC, a signed child served too, delegated with a
                             DS from its parent               (ldns-signzone)
    signed-nsec3-0.test.     NSEC3, no salt, 0 iterations (RFC 9276) (dnssec-signzone)
    signed-optout.test.      NSEC3 with opt-out, salt aabbccdd, 10 iterations;
                             several unsigned delegations and ENTs above only
                             unsigned delegations get no NSEC3 (dnssec-signzone -A;
                             ldns-signzone -p sets the flag but opts nothing out)

When ldnsutils is missing, dnssec-signzone (bind9-utils) signs every zone,
and the other way round (except opt-out, which needs dnssec-signzone).
Takes well under a second. As a module: make_zones(outdir) -> manifest.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys

SALT = 'aabbccdd'

# The common contents, relative to the apex. Every answering rule of a
# signed zone has a name here; the comment says which.
TEMPLATE = r"""
$TTL 3600
; SOA TTL 7200, MINIMUM 300: NSEC/NSEC3 TTL 300 (RFC 4034 4, RFC 9077)
@            7200 IN SOA ns1 hostmaster 2024060101 3600 900 604800 300
@                 IN NS    ns1
@                 IN NS    ns2
@                 IN NS    ns.example.net.          ; out-of-zone name server
@                 IN MX    10 mail                  ; in-zone target: A/AAAA+RRSIG
@                 IN MX    20 mx.example.net.
@                 IN TXT   "v=spf1 mx -all"
@                 IN CAA   0 issue "letsencrypt.org"
@                 IN A     192.0.2.1
@                 IN AAAA  2001:db8::1
ns1               IN A     192.0.2.53
ns1               IN AAAA  2001:db8::53
ns2               IN A     192.0.2.54
mail              IN A     192.0.2.25
mail              IN AAAA  2001:db8::25
www           300 IN A     192.0.2.80
www           300 IN A     192.0.2.81
www           600 IN AAAA  2001:db8::80
www               IN TXT   "www"
MixedCase         IN A     192.0.2.99               ; owner case kept
host              IN HINFO "PC-Intel-700mhz" "Linux"
host              IN SSHFP 1 1 dd465c09cfa51fb45020cc83316fff21b9ec74ac
host              IN TXT   "host"
_sip._tcp         IN SRV   10 60 5060 sipserver     ; in-zone target
_sip._tcp         IN SRV   20 0 5060 sip.example.net.
sipserver         IN A     192.0.2.60
unknown           IN TYPE65280 \# 4 0a000001        ; RFC 3597 type, signed
; empty non-terminals: c and b.c exist only because a.b.c does
a.b.c             IN A     192.0.2.10
; wildcards (RFC 4592, RFC 4035 3.1.3.3)
*.wild            IN A     192.0.2.100
*.wild            IN TXT   "wildcard"
*.wild            IN MX    10 mail
explicit.wild     IN AAAA  2001:db8::100            ; exists: no synthesis
deep.ent.wild     IN A     192.0.2.102              ; ent.wild is an ENT
sub.*.wild        IN TXT   "below the wildcard"
*.cnwild          IN CNAME www                      ; wildcard CNAME
*.nxwild          IN CNAME nothing-here             ; wildcard CNAME to NXDOMAIN
*.ent-wild        IN A     192.0.2.103              ; ent-wild is an ENT
; CNAME chains in the zone
cname1            IN CNAME cname2
cname2            IN CNAME Cname3
cname3         60 IN CNAME www                      ; 3 steps ending in A
cname-nx          IN CNAME nothing-here             ; ends in NXDOMAIN
cname-nodata      IN CNAME mail                     ; ask TXT: NODATA at the end
cname-wild        IN CNAME foo.wild                 ; into a wildcard
cname-cnwild      IN CNAME bar.cnwild               ; into a wildcard CNAME
cname-dname       IN CNAME x.dn                     ; into a DNAME
cname-out         IN CNAME www.example.org.         ; out of the node
cname-deleg       IN CNAME host.insecure            ; into an unsigned delegation
cname-sdeleg      IN CNAME host.secure              ; into a signed delegation
cname-ent         IN CNAME b.c                      ; to an ENT: NODATA
; DNAME (RFC 6672): the synthesized CNAME is unsigned
dn                IN DNAME target
dn                IN TXT   "at the DNAME owner"
x.target          IN A     192.0.2.77
; a signed delegation: NS + DS (+RRSIG DS) in referrals, glue unsigned
secure            IN NS    ns.secure
secure            IN NS    ns.example.net.
ns.secure         IN A     192.0.2.200
; an unsigned delegation with glue: NSEC/NSEC3 proves no DS
insecure          IN NS    ns.insecure
insecure          IN NS    ns.example.net.
ns.insecure       IN A     192.0.2.201
ns.insecure       IN AAAA  2001:db8::201
; an unsigned delegation to out-of-zone servers
ext               IN NS    ns1.example.org.
"""

# Per-zone additions (relative names).
CHILD_DELEGATION = r"""
; the served signed child zone: its DS here, answered from this zone
child             IN NS    ns1.child
ns1.child         IN A     192.0.2.220
"""

OPTOUT_EXTRA = r"""
; unsigned delegations: no NSEC3 of their own (opt-out), covered by
; opt-out NSEC3 spans
d1                IN NS    ns.d1
ns.d1             IN A     192.0.2.11
d2                IN NS    ns1.example.org.
d3                IN NS    ns.d3
d3                IN NS    ns.example.net.
ns.d3             IN AAAA  2001:db8::13
d4                IN NS    ns1.example.org.
d5                IN NS    ns1.example.org.
; an ENT above only unsigned delegations: no NSEC3 either (RFC 5155 7.1)
x.ent-insec       IN NS    ns1.example.org.
y.ent-insec       IN NS    ns.y.ent-insec
ns.y.ent-insec    IN A     192.0.2.12
; an ENT above a signed and an unsigned delegation: it has an NSEC3
s.ent-mixed       IN NS    ns1.example.org.
u.ent-mixed       IN NS    ns1.example.org.
"""

CHILD_ZONE = r"""
$TTL 900
@            IN SOA ns1 hostmaster 7 3600 900 604800 120
@            IN NS  ns1
@            IN A   192.0.2.231
ns1          IN A   192.0.2.220
www          IN A   192.0.2.232
www          IN TXT "child www"
*.wc         IN A   192.0.2.233
"""

# apex, denial, salt, iterations, opt-out, preferred signer, contents,
# signed delegations (name relative to the apex -> child apex or None for a
# child whose DS comes from a fresh key and that is not served)
ZONES = [
    ('signed-nsec.test.', 'nsec', None, 0, False, 'ldns', TEMPLATE,
     {'secure': None}),
    ('signed-nsec3.test.', 'nsec3', SALT, 10, False, 'ldns',
     TEMPLATE + CHILD_DELEGATION,
     {'secure': None, 'child': 'child.signed-nsec3.test.'}),
    ('child.signed-nsec3.test.', 'nsec', None, 0, False, 'ldns', CHILD_ZONE, {}),
    ('signed-nsec3-0.test.', 'nsec3', '', 0, False, 'bind', TEMPLATE,
     {'secure': None}),
    ('signed-optout.test.', 'nsec3', SALT, 10, True, 'bind',
     TEMPLATE + OPTOUT_EXTRA,
     {'secure': None, 's.ent-mixed': None}),
]


class SignError(Exception):
    pass


def run(cmd, cwd, verbose=False):
    if verbose:
        print('+ ' + ' '.join(cmd))
    try:
        r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SignError('%s: %s' % (cmd[0], e))
    if r.returncode != 0:
        raise SignError('%s failed (status %d): %s' % (
            ' '.join(cmd), r.returncode, (r.stderr + r.stdout).strip()[-1500:]))
    return r.stdout


def tools():
    have = {}
    have['ldns'] = all(shutil.which(t) for t in ('ldns-keygen', 'ldns-signzone'))
    have['bind'] = all(shutil.which(t) for t in ('dnssec-keygen', 'dnssec-signzone',
                                                 'dnssec-dsfromkey'))
    return have


def keygen(signer, apex, kdir, ksk, verbose=False):
    """A fresh key pair; returns its base path (without .key/.private)."""
    if signer == 'ldns':
        cmd = ['ldns-keygen', '-a', 'ECDSAP256SHA256', '-r', '/dev/urandom']
        if ksk:
            cmd.append('-k')
        base = run(cmd + [apex.rstrip('.') or '.'], kdir, verbose).strip()
    else:
        cmd = ['dnssec-keygen', '-q', '-a', '13', '-K', kdir]
        if ksk:
            cmd += ['-f', 'KSK']
        base = run(cmd + [apex], kdir, verbose).strip()
    return os.path.join(kdir, base)


def key_ds(signer, keybase, kdir, verbose=False):
    """The DS (SHA-256) of a key, as zone-file text lines."""
    if signer == 'bind' or not os.path.exists(keybase + '.ds'):
        if not shutil.which('dnssec-dsfromkey'):
            if os.path.exists(keybase + '.ds'):
                return open(keybase + '.ds').read()
            raise SignError('no DS for %s' % keybase)
        return run(['dnssec-dsfromkey', '-2', keybase + '.key'], kdir, verbose)
    return open(keybase + '.ds').read()


def key_rr(keybase):
    """The DNSKEY record of a key file (comments and blank lines dropped)."""
    out = []
    for line in open(keybase + '.key'):
        line = line.split(';', 1)[0].strip()
        if line:
            out.append(line)
    return '\n'.join(out) + '\n'


def make_zones(outdir, verbose=False):
    """Generate, sign and write every zone; returns the manifest."""
    have = tools()
    if not (have['ldns'] or have['bind']):
        raise SignError('neither ldnsutils (ldns-signzone) nor bind9-utils '
                        '(dnssec-signzone) is installed')
    outdir = os.path.abspath(outdir)
    os.makedirs(outdir, exist_ok=True)
    kroot = os.path.join(outdir, 'keys')
    if os.path.isdir(kroot):
        shutil.rmtree(kroot)
    os.makedirs(kroot)

    # Children first: their DS go into their parents.
    child_ds = {}
    manifest = {}
    for apex, denial, salt, iters, optout, pref, body, sdeleg in reversed(ZONES):
        signer = pref if have[pref] else ('bind' if pref == 'ldns' else 'ldns')
        if optout and signer != 'bind':
            if not have['bind']:
                raise SignError('NSEC3 opt-out needs dnssec-signzone (bind9-utils)')
            signer = 'bind'
        kdir = os.path.join(kroot, apex.rstrip('.'))
        os.makedirs(kdir)
        ksk = keygen(signer, apex, kdir, True, verbose)
        zsk = keygen(signer, apex, kdir, False, verbose)
        ds_text = key_ds(signer, ksk, kdir, verbose)
        child_ds[apex] = ds_text

        # DS records of the signed delegations
        extra = ''
        for rel, child in sorted(sdeleg.items()):
            owner = rel + '.' + apex
            if child is not None:
                text = child_ds[child]
            else:       # a fresh key for a child that is not served
                ck = keygen(signer, owner, kdir, True, verbose)
                text = key_ds(signer, ck, kdir, verbose)
            for line in text.splitlines():
                line = line.split(';', 1)[0].strip()
                if not line:
                    continue
                f = line.split()
                # owner [ttl] [class] DS ... -> our owner, TTL 3600
                i = f.index('DS')
                extra += '%s 3600 IN DS %s\n' % (owner, ' '.join(f[i + 1:]))
        src = os.path.join(kdir, 'unsigned.zone')
        with open(src, 'w') as fp:
            fp.write('; %s -- generated by signzones.py\n$ORIGIN %s\n' % (apex, apex))
            fp.write(body)
            fp.write('\n' + extra)
            if signer == 'bind':
                fp.write(key_rr(ksk) + key_rr(zsk))
        out = os.path.join(outdir, apex + 'zone')
        if signer == 'ldns':
            cmd = ['ldns-signzone', '-o', apex, '-f', out]
            if denial == 'nsec3':
                cmd += ['-n', '-a', '1', '-t', str(iters)]
                if salt:
                    cmd += ['-s', salt]
                if optout:
                    cmd.append('-p')
            run(cmd + [src, ksk, zsk], kdir, verbose)
        else:
            cmd = ['dnssec-signzone', '-q', '-P', '-O', 'full', '-o', apex,
                   '-f', out, '-d', kdir, '-K', kdir]
            if denial == 'nsec3':
                cmd += ['-3', salt or '-', '-H', str(iters)]
                if optout:
                    cmd.append('-A')
            run(cmd + [src, ksk, zsk], kdir, verbose)
        with open(os.path.join(outdir, apex + 'ds'), 'w') as fp:
            fp.write(ds_text)
        with open(os.path.join(outdir, apex + 'dnskey'), 'w') as fp:
            fp.write(key_rr(ksk) + key_rr(zsk))
        manifest[apex] = {
            'apex': apex, 'file': apex + 'zone', 'ds': apex + 'ds',
            'dnskey': apex + 'dnskey', 'denial': denial,
            'salt': salt if denial == 'nsec3' else None,
            'iterations': iters if denial == 'nsec3' else None,
            'optout': optout, 'signer': signer,
            'contents': 'child' if body is CHILD_ZONE else 'template',
        }
    ordered = [manifest[z[0]] for z in ZONES]
    with open(os.path.join(outdir, 'manifest.json'), 'w') as fp:
        json.dump(ordered, fp, indent=1)
    # dnssec-signzone leaves dsset- files where -d says; ldns none elsewhere
    for f in glob.glob(os.path.join(outdir, 'dsset-*')):
        os.unlink(f)
    return ordered


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('outdir')
    ap.add_argument('-v', '--verbose', action='store_true')
    args = ap.parse_args()
    try:
        zones = make_zones(args.outdir, args.verbose)
    except SignError as e:
        print('signzones: %s' % e, file=sys.stderr)
        return 1
    for z in zones:
        print('%-26s %-5s %-5s %s' % (z['apex'], z['denial'] + (
            '-optout' if z['optout'] else ''), z['signer'],
            os.path.join(args.outdir, z['file'])))
    return 0


if __name__ == '__main__':
    sys.exit(main())
