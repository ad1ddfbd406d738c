/* The sample zones shared by the unit tests and the fuzzers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compile.h"
#include "sample_zone.h"

static const char example_head[] =
	"$ORIGIN example.\n"
	"$TTL 3600\n"
	"@         IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300\n"
	"@         NS    ns1\n"
	"@         NS    ns2.example.net.\n"
	"@         MX    10 mail\n"
	"ns1       A     192.0.2.1\n"
	"ns1       AAAA  2001:db8::1\n"
	"mail      A     192.0.2.25\n"
	"www       A     192.0.2.80\n"
	"www       AAAA  2001:db8::80\n"
	"www       TXT   \"hello\"\n"
	"alias     CNAME www\n"
	"chain1    CNAME chain2\n"
	"chain2    CNAME www\n"
	"dangling  CNAME nothere\n"
	"outside   CNAME www.example.net.\n"
	"loop1     CNAME loop2\n"
	"loop2     CNAME loop1\n"
	"a.b.ent   A     192.0.2.5\n"
	"*.wild    A     192.0.2.99\n"
	"*.wild    TXT   \"wild\"\n"
	"exists.wild A   192.0.2.100\n"
	"deep.x.wild A   192.0.2.101\n"
	"*.wc      CNAME www\n"
	"dn    600 DNAME target\n"
	"host.target A   192.0.2.33\n"
	"yx        DNAME " SAMPLE_YX_TARGET "\n"
	"deleg     NS    ns.deleg\n"
	"deleg     NS    ns.example.net.\n"
	"ns.deleg  A     192.0.2.53\n"
	"ns.deleg  AAAA  2001:db8::53\n"
	"child     NS    ns.child\n"
	"ns.child  A     192.0.2.54\n"
	"_sip._udp SRV   0 5 5060 sip\n"
	"sip       A     192.0.2.60\n"
	"Mixed     A     192.0.2.61\n";

/* n TXT records of one string of len characters each at owner. */
static size_t txt_rrset(char *p, size_t cap, const char *owner, int n,
			size_t len)
{
	size_t o = 0;
	char s[256];

	for (int i = 0; i < n; i++) {
		memset(s, 'a' + i % 26, len);
		snprintf(s, len + 1, "%s-%02d-", owner, i);
		s[strlen(s)] = 'x';
		s[len] = 0;
		o += (size_t)snprintf(p + o, cap - o, "%s TXT \"%s\"\n", owner, s);
	}
	return o;
}

const char *sample_zone_example(void)
{
	static char text[16384];

	if (!text[0]) {
		size_t o = (size_t)snprintf(text, sizeof(text), "%s",
					    example_head);
		o += txt_rrset(text + o, sizeof(text) - o, "mid", 3, 80);
		o += txt_rrset(text + o, sizeof(text) - o, "big", 8, 90);
		txt_rrset(text + o, sizeof(text) - o, "huge", 20, 100);
	}
	return text;
}

const char *sample_zone_child(void)
{
	return "$ORIGIN child.example.\n"
	       "$TTL 3600\n"
	       "@   SOA ns hostmaster 7 7200 3600 1209600 300\n"
	       "@   NS  ns\n"
	       "ns  A   192.0.2.54\n"
	       "www A   192.0.2.180\n";
}

const char *sample_zone_negttl(void)
{
	return "$ORIGIN negttl.test.\n"
	       "$TTL 60\n"
	       "@   SOA ns hostmaster 1 7200 3600 1209600 300\n"
	       "@   NS  ns\n"
	       "ns  A   192.0.2.70\n";
}

const char *sample_zone_signable(void)
{
	return "$TTL 300\n"
	       "@ SOA ns1 host 1 3600 600 86400 300\n"
	       "@ NS ns1\n"
	       "ns1 A 192.0.2.1\n"
	       "www A 192.0.2.2\n"
	       "www AAAA 2001:db8::2\n"
	       "a.b.c A 192.0.2.3\n"	/* b.c and c: empty non-terminals */
	       "*.w A 192.0.2.4\n"
	       "*.wc CNAME www\n"
	       "mx MX 10 www\n"
	       "alias CNAME www\n"
	       "dangling CNAME nothere\n"
	       "dn DNAME www\n"
	       "sub NS ns.sub\n"		/* insecure delegation, glue */
	       "ns.sub A 192.0.2.5\n"
	       "sec NS ns.sec\n"		/* secure delegation */
	       "sec DS 12345 13 2 "
	       "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
	       "ns.sec A 192.0.2.6\n"
	       "x.ent NS ns.elsewhere.example.\n";	/* only insecure below */
}

ldns_zone *sample_sign_zone(const char *text, const char *origin, bool nsec3,
		       uint16_t iterations, const uint8_t *salt,
		       uint8_t salt_len)
{
	ldns_zone *z = NULL, *s = NULL;
	ldns_rdf *o = ldns_dname_new_frm_str(origin);
	FILE *f = fmemopen((void *)(uintptr_t)text, strlen(text), "r");

	if (!o || !f || ldns_zone_new_frm_fp(&z, f, o, 300, LDNS_RR_CLASS_IN) !=
				LDNS_STATUS_OK) {
		if (f)
			fclose(f);
		ldns_rdf_deep_free(o);
		return NULL;
	}
	fclose(f);
	ldns_key *k = ldns_key_new_frm_algorithm(LDNS_SIGN_ECDSAP256SHA256, 256);
	ldns_key_list *kl = ldns_key_list_new();
	if (k && kl) {
		ldns_key_set_pubkey_owner(k, ldns_rdf_clone(o));
		ldns_key_set_flags(k, 257);
		ldns_key_set_inception(k, (uint32_t)time(NULL) - 3600);
		ldns_key_set_expiration(k, (uint32_t)time(NULL) + 30 * 86400);
		ldns_key_list_push_key(kl, k);
		ldns_zone_push_rr(z, ldns_key2rr(k));
		s = nsec3 ? ldns_zone_sign_nsec3(z, kl, 1, 0, iterations,
						 salt_len, (uint8_t *)(uintptr_t)salt)
			  : ldns_zone_sign(z, kl);
	}
	ldns_zone_deep_free(z);
	if (kl)
		ldns_key_list_free(kl);	/* frees the key */
	else if (k)
		ldns_key_free(k);
	ldns_rdf_deep_free(o);
	return s;
}

char *sample_sign(const char *text, const char *origin, bool nsec3,
	     uint16_t iterations, const uint8_t *salt, uint8_t salt_len)
{
	ldns_zone *s = sample_sign_zone(text, origin, nsec3, iterations, salt,
				   salt_len);
	char *out = NULL;
	size_t len = 0;

	if (!s)
		return NULL;
	FILE *f = open_memstream(&out, &len);
	if (f) {
		ldns_zone_print(f, s);
		fclose(f);
	}
	ldns_zone_deep_free(s);
	return out;
}

static const uint8_t signed_salt[] = { 0xaa, 0xbb, 0xcc, 0xdd };

char *sample_zone_signed(bool nsec3)
{
	return sample_sign(sample_zone_signable(),
			   nsec3 ? "s3.test." : "s.test.", nsec3, 3,
			   signed_salt, sizeof(signed_salt));
}

struct sample_rr {
	struct ditto_wire_rr w;
	uint8_t owner[255];
	uint8_t rdata[4096];
};

const struct ditto_wire_rr *sample_wire_rr(const char *text)
{
	static struct sample_rr pool[64];
	static unsigned next;
	struct sample_rr *t = &pool[next++ % 64];
	ldns_rr *r = NULL;
	ldns_buffer *b = ldns_buffer_new(sizeof(t->rdata));
	const struct ditto_wire_rr *out = NULL;

	if (b && ldns_rr_new_frm_str(&r, text, 3600, NULL, NULL) ==
			 LDNS_STATUS_OK &&
	    ldns_rr_rdata2buffer_wire(b, r) == LDNS_STATUS_OK &&
	    ldns_buffer_position(b) <= sizeof(t->rdata)) {
		const ldns_rdf *o = ldns_rr_owner(r);
		t->w.owner_len = ldns_rdf_size(o);
		memcpy(t->owner, ldns_rdf_data(o), t->w.owner_len);
		t->w.owner = t->owner;
		t->w.type = (uint16_t)ldns_rr_get_type(r);
		t->w.rrclass = (uint16_t)ldns_rr_get_class(r);
		t->w.ttl = ldns_rr_ttl(r);
		t->w.rdlen = ldns_buffer_position(b);
		memcpy(t->rdata, ldns_buffer_begin(b), t->w.rdlen);
		t->w.rdata = t->rdata;
		out = &t->w;
	}
	if (b)
		ldns_buffer_free(b);
	ldns_rr_free(r);
	return out;
}
