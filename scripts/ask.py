#!/usr/bin/python3
"""Ask `ditto-zone answer` questions through a pipe and print the answers
as dig would. Usage: ask.py DITTO_ZONE IMAGE[,IMAGE...] 'NAME TYPE [+dnssec] [+noedns]'..."""
import struct
import subprocess
import sys

import dns.message
import dns.rdataclass


def main():
    tool, images, questions = sys.argv[1], sys.argv[2].split(','), sys.argv[3:]
    proc = subprocess.Popen([tool, 'answer', '--identity', 'ditto-example'] + images,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    for q in questions:
        words = q.split()
        name, qtype = words[0], words[1] if len(words) > 1 else 'A'
        opts = set(words[2:])
        rdclass = dns.rdataclass.CH if '+chaos' in opts else dns.rdataclass.IN
        msg = dns.message.make_query(name, qtype, rdclass=rdclass,
                                     use_edns=None if '+noedns' in opts else 0,
                                     want_dnssec='+dnssec' in opts,
                                     payload=1232)
        wire = msg.to_wire()
        proc.stdin.write(struct.pack('!H', len(wire)) + wire)
        proc.stdin.flush()
        size = struct.unpack('!H', proc.stdout.read(2))[0]
        print(f';; {q}')
        if size == 0:
            print(';; (dropped)\n')
            continue
        print(dns.message.from_wire(proc.stdout.read(size)).to_text(), '\n')
    proc.stdin.close()
    return proc.wait()


if __name__ == '__main__':
    sys.exit(main())
