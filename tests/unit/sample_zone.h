/* The sample zones the answer tests, the image tests and the fuzzers share:
 * one of each thing the answer engine handles. */
#ifndef DITTO_TEST_SAMPLE_ZONE_H
#define DITTO_TEST_SAMPLE_ZONE_H

/* example.: CNAME chains, DNAME, wildcards, empty non-terminals, a
 * delegation with glue, MX/SRV/NS additional data, TXT RRsets of three
 * sizes (mid: about 320 bytes of response, big: about 850, huge: about
 * 2300). */
const char *sample_zone_example(void);

/* child.example., also delegated from example. */
const char *sample_zone_child(void);

/* negttl.test.: SOA TTL (60) below its MINIMUM (300). */
const char *sample_zone_negttl(void);

/* A zone to be signed (h_sign), without $ORIGIN: ENTs, wildcards (one a
 * CNAME), CNAMEs (one dangling), a DNAME, an insecure delegation with glue,
 * a secure one with DS, and an ENT above an insecure delegation only. */
const char *sample_zone_signable(void);

/* The long DNAME target of yx.example. (137 wire bytes). */
#define SAMPLE_YX_TARGET                                                     \
	"l1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."    \
	"l2bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."    \
	"example."

#endif
