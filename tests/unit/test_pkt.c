/* Unit tests for the packet path on plain bytes: which frames are queries,
 * which go to the kernel, which are dropped, and the reply rewritten in
 * place with its checksums checked by a naive RFC 1071 sum of our own. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "ditto/wire.h"
#include "helpers.h"
#include "pkt.h"
#include "rng.h"
#include "sample_zone.h"

#define FRAME_CAP 2048
#define CLIENT_PORT 40000

static const uint8_t our_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t client_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };
static const uint8_t svc4[4] = { 192, 0, 2, 53 };
static const uint8_t client4[4] = { 198, 51, 100, 7 };
static const uint8_t svc6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x53 };
static const uint8_t client6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 7 };

/* ---- frames built by hand ------------------------------------------------ */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* RFC 1071 the slow way: big-endian 16-bit words, an odd byte padded with
 * zero, carries folded back in; returns the folded sum, not inverted. */
static uint16_t naive_sum(const uint8_t *p, size_t len, uint64_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint64_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint64_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* One's complement sums are equal when they are equal modulo 0xffff (0 and
 * 0xffff are both zero). */
static bool same_sum(uint32_t a, uint32_t b)
{
	return a % 0xffff == b % 0xffff;
}

struct shape {
	bool v6;
	unsigned tags;		/* 802.1Q tags: 0x8100, or 0x88a8 outside */
	unsigned opts;		/* IPv4 option bytes, a multiple of 4 */
	size_t pad;		/* Ethernet padding after the datagram */
};

struct frame {
	uint8_t b[FRAME_CAP];
	size_t len;
	struct shape s;
	size_t l2, l3, dns_off, dns_len;
};

static uint8_t *ip_of(struct frame *fr)
{
	return fr->b + fr->l2;
}

static uint8_t *udp_of(struct frame *fr)
{
	return fr->b + fr->l2 + fr->l3;
}

/* Recompute the IPv4 header checksum and the UDP checksum after a change. */
static void seal(struct frame *fr)
{
	uint8_t *ip = ip_of(fr), *udp = udp_of(fr);
	size_t ulen = 8 + fr->dns_len;
	uint64_t pseudo;

	if (!fr->s.v6) {
		ip[10] = ip[11] = 0;
		put16(ip + 10, (uint16_t)~naive_sum(ip, fr->l3, 0));
		pseudo = naive_sum(ip + 12, 8, 0);
	} else {
		pseudo = naive_sum(ip + 8, 32, 0);
	}
	udp[6] = udp[7] = 0;
	if (ip[fr->s.v6 ? 6 : 9] == 17 && fr->l2 + fr->l3 + ulen <= fr->len) {
		uint16_t c = (uint16_t)~naive_sum(udp, ulen,
						 pseudo + 17 + ulen);
		put16(udp + 6, c ? c : 0xffff);
	}
}

/* Ethernet (our MAC from the client's), tags, IPv4 (with options) or IPv6
 * from the client to the first service address, UDP from CLIENT_PORT to 53,
 * then dns, then padding. */
static void build(struct frame *fr, const struct shape *s, const uint8_t *dns,
		  size_t dns_len)
{
	static const uint16_t tag_types[3] = { 0x88a8, 0x8100, 0x8100 };
	uint8_t *p = fr->b;
	size_t o = 12;

	memset(fr, 0, sizeof(*fr));
	fr->s = *s;
	memcpy(p, our_mac, 6);
	memcpy(p + 6, client_mac, 6);
	for (unsigned i = 0; i < s->tags; i++) {
		unsigned type = s->tags == 1 ? 0x8100 : tag_types[i];

		put16(p + o, type);
		put16(p + o + 2, 100 + i);	/* PCP 0, VLAN 100 + i */
		o += 4;
	}
	put16(p + o, s->v6 ? 0x86dd : 0x0800);
	o += 2;
	fr->l2 = o;
	fr->l3 = s->v6 ? 40 : 20 + s->opts;
	fr->dns_off = fr->l2 + fr->l3 + 8;
	fr->dns_len = dns_len;
	fr->len = fr->dns_off + dns_len + s->pad;

	uint8_t *ip = p + o;
	if (s->v6) {
		/* traffic class 0xab, flow label 0xcdef0: the reply clears them */
		ip[0] = 0x6a;
		ip[1] = 0xbc;
		ip[2] = 0xde;
		ip[3] = 0xf0;
		put16(ip + 4, 8 + dns_len);
		ip[6] = 17;
		ip[7] = 57;
		memcpy(ip + 8, client6, 16);
		memcpy(ip + 24, svc6, 16);
	} else {
		ip[0] = (uint8_t)(0x40 | fr->l3 / 4);
		ip[1] = 0x10;
		put16(ip + 2, fr->l3 + 8 + dns_len);
		put16(ip + 4, 0x1234);
		put16(ip + 6, 0x4000);	/* DF: not a fragment */
		ip[8] = 57;
		ip[9] = 17;
		memcpy(ip + 12, client4, 4);
		memcpy(ip + 16, svc4, 4);
		/* Router Alert, then NOPs */
		for (unsigned i = 0; i < s->opts; i++)
			ip[20 + i] = 1;
		if (s->opts >= 4) {
			ip[20] = 0x94;
			ip[21] = 4;
			ip[22] = ip[23] = 0;
		}
	}
	uint8_t *udp = ip + fr->l3;
	put16(udp, CLIENT_PORT);
	put16(udp + 2, 53);
	put16(udp + 4, 8 + dns_len);
	memcpy(udp + 8, dns, dns_len);
	seal(fr);
}

static size_t query(uint8_t *buf, uint16_t id, const char *qname)
{
	struct h_query q = { .id = id, .qname = qname, .qtype = DNS_T_A };

	return h_query_wire(&q, buf, 512);
}

/* A query for www.example. A in the given shape. */
static void build_query(struct frame *fr, const struct shape *s)
{
	uint8_t q[512];
	size_t n = query(q, 0x1234, "www.example.");

	build(fr, s, q, n);
}

static struct pkt_service service(void)
{
	struct pkt_service svc;

	memset(&svc, 0, sizeof(svc));
	memcpy(svc.mac, our_mac, 6);
	svc.port = 53;
	CU_ASSERT_EQUAL(pkt_service_add(&svc, "192.0.2.53"), 0);
	CU_ASSERT_EQUAL(pkt_service_add(&svc, "2001:db8::53"), 0);
	return svc;
}

/* Classify a copy of exactly len bytes, so ASan catches any read past it. */
static enum pkt_verdict classify_n(const uint8_t *f, size_t len,
				   const struct pkt_service *svc,
				   struct pkt_info *pi)
{
	uint8_t *copy = malloc(len);
	enum pkt_verdict v;

	if (len) {
		CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
		memcpy(copy, f, len);
	}
	v = pkt_classify(copy, len, svc, pi);
	free(copy);
	return v;
}

static enum pkt_verdict classify(const struct frame *fr, struct pkt_info *pi)
{
	struct pkt_service svc = service();
	struct pkt_info scratch;

	return classify_n(fr->b, fr->len, &svc, pi ? pi : &scratch);
}

static const char *verdict_name(enum pkt_verdict v)
{
	switch (v) {
	case PKT_DNS: return "DNS";
	case PKT_KERNEL: return "KERNEL";
	case PKT_DROP_MALFORMED: return "DROP_MALFORMED";
	case PKT_DROP_NOT_OURS: return "DROP_NOT_OURS";
	case PKT_DROP_BAD_SOURCE: return "DROP_BAD_SOURCE";
	}
	return "?";
}

/* Assert a verdict, naming the case when it is wrong. */
#define EXPECT(fr, want, what)                                                \
	do {                                                                  \
		enum pkt_verdict got_ = classify((fr), NULL);                 \
		if (got_ != (want))                                           \
			printf("\n  %s: got %s, want %s\n", (what),           \
			       verdict_name(got_), verdict_name(want));       \
		CU_ASSERT_EQUAL(got_, (want));                                \
	} while (0)

/* ---- reply checks, by hand ------------------------------------------------ */

/* The reply at r[0..len) to query frame q, whose DNS payload became the
 * dns_len bytes at dns: MACs, tags, addresses and ports swapped, lengths,
 * TTL, no options, and both checksums (or, with offload, what the NIC
 * expects in their place). */
static void check_reply(const uint8_t *r, size_t len, const struct frame *q,
			const uint8_t *dns, size_t dns_len, bool offload)
{
	const uint8_t *qip = q->b + q->l2, *qudp = qip + q->l3;
	bool v6 = q->s.v6;
	size_t l3 = v6 ? 40 : 20, ulen = 8 + dns_len;
	uint64_t pseudo;

	CU_ASSERT_EQUAL_FATAL(len, q->l2 + l3 + 8 + dns_len);
	CU_ASSERT_EQUAL(memcmp(r, q->b + 6, 6), 0);
	CU_ASSERT_EQUAL(memcmp(r + 6, q->b, 6), 0);
	/* tags and EtherType as they came */
	CU_ASSERT_EQUAL(memcmp(r + 12, q->b + 12, q->l2 - 12), 0);

	const uint8_t *ip = r + q->l2, *udp = ip + l3;
	if (v6) {
		CU_ASSERT_EQUAL(ip[0], 0x60);
		CU_ASSERT_EQUAL(ip[1] | ip[2] | ip[3], 0);
		CU_ASSERT_EQUAL(get16(ip + 4), ulen);
		CU_ASSERT_EQUAL(ip[6], 17);
		CU_ASSERT_EQUAL(ip[7], 64);
		CU_ASSERT_EQUAL(memcmp(ip + 8, qip + 24, 16), 0);
		CU_ASSERT_EQUAL(memcmp(ip + 24, qip + 8, 16), 0);
		pseudo = naive_sum(ip + 8, 32, 0);
	} else {
		CU_ASSERT_EQUAL(ip[0], 0x45);
		CU_ASSERT_EQUAL(get16(ip + 2), 20 + ulen);
		CU_ASSERT_EQUAL(get16(ip + 6) & 0x3fff, 0);
		CU_ASSERT_EQUAL(ip[8], 64);
		CU_ASSERT_EQUAL(ip[9], 17);
		CU_ASSERT_EQUAL(memcmp(ip + 12, qip + 16, 4), 0);
		CU_ASSERT_EQUAL(memcmp(ip + 16, qip + 12, 4), 0);
		if (offload) {
			CU_ASSERT_EQUAL(get16(ip + 10), 0);
		} else {
			CU_ASSERT_EQUAL(naive_sum(ip, 20, 0), 0xffff);
		}
		pseudo = naive_sum(ip + 12, 8, 0);
	}
	CU_ASSERT_EQUAL(get16(udp), get16(qudp + 2));
	CU_ASSERT_EQUAL(get16(udp + 2), get16(qudp));
	CU_ASSERT_EQUAL(get16(udp + 4), ulen);
	pseudo += 17 + ulen;
	if (offload) {
		CU_ASSERT_EQUAL(get16(udp + 6), naive_sum(NULL, 0, pseudo));
	} else {
		CU_ASSERT_NOT_EQUAL(get16(udp + 6), 0);
		CU_ASSERT_EQUAL(naive_sum(udp, ulen, pseudo), 0xffff);
		CU_ASSERT_TRUE(pkt_verify(r, len));
	}
	CU_ASSERT_EQUAL(memcmp(udp + 8, dns, dns_len), 0);
}

/* Classify q, write dns_len bytes of a pretend response over its DNS
 * payload, rewrite it and check the reply. */
static void reply_and_check(const struct frame *q, size_t dns_len,
			    uint64_t seed, bool offload)
{
	struct frame w = *q;
	struct pkt_info pi;
	uint8_t dns[FRAME_CAP];

	CU_ASSERT_EQUAL_FATAL(classify(q, &pi), PKT_DNS);
	CU_ASSERT_FATAL(pi.dns_off + dns_len <= FRAME_CAP);
	for (size_t i = 0; i < dns_len; i++)
		dns[i] = (uint8_t)rng_next(&seed);
	memcpy(w.b + pi.dns_off, dns, dns_len);

	size_t shift = pkt_reply(w.b, &pi, dns_len, offload);
	size_t len = pkt_reply_len(&pi, dns_len);

	CU_ASSERT_EQUAL(shift, q->l3 - (q->s.v6 ? 40 : 20));
	check_reply(w.b + shift, len, q, dns, dns_len, offload);
}

/* ---- classification: queries -------------------------------------------- */

static void test_ipv4_query_to_service_is_dns_with_offsets(void)
{
	struct frame fr;
	struct pkt_info pi;

	build_query(&fr, &(struct shape){ 0 });
	CU_ASSERT_EQUAL_FATAL(classify(&fr, &pi), PKT_DNS);
	CU_ASSERT_FALSE(pi.ipv6);
	CU_ASSERT_EQUAL(pi.l2_len, 14);
	CU_ASSERT_EQUAL(pi.l3_len, 20);
	CU_ASSERT_EQUAL(pi.dns_off, 42);
	CU_ASSERT_EQUAL(pi.dns_len, fr.dns_len);
	CU_ASSERT_EQUAL(get16(fr.b + pi.dns_off), 0x1234);
}

static void test_ipv6_query_to_service_is_dns_with_offsets(void)
{
	struct frame fr;
	struct pkt_info pi;

	build_query(&fr, &(struct shape){ .v6 = true });
	CU_ASSERT_EQUAL_FATAL(classify(&fr, &pi), PKT_DNS);
	CU_ASSERT_TRUE(pi.ipv6);
	CU_ASSERT_EQUAL(pi.l2_len, 14);
	CU_ASSERT_EQUAL(pi.l3_len, 40);
	CU_ASSERT_EQUAL(pi.dns_off, 62);
	CU_ASSERT_EQUAL(pi.dns_len, fr.dns_len);
}

static void test_ipv4_options_are_counted_in_l3_len(void)
{
	for (unsigned opts = 4; opts <= 40; opts += 4) {
		struct frame fr;
		struct pkt_info pi;

		build_query(&fr, &(struct shape){ .opts = opts });
		CU_ASSERT_EQUAL_FATAL(classify(&fr, &pi), PKT_DNS);
		CU_ASSERT_EQUAL(pi.l2_len, 14);
		CU_ASSERT_EQUAL(pi.l3_len, 20 + opts);
		CU_ASSERT_EQUAL(pi.dns_off, 14 + 20 + opts + 8);
		CU_ASSERT_EQUAL(pi.dns_len, fr.dns_len);
	}
}

static void test_vlan_tags_are_counted_in_l2_len(void)
{
	for (unsigned tags = 1; tags <= 2; tags++)
		for (int v6 = 0; v6 <= 1; v6++) {
			struct frame fr;
			struct pkt_info pi;

			build_query(&fr, &(struct shape){ .v6 = v6,
							  .tags = tags });
			CU_ASSERT_EQUAL_FATAL(classify(&fr, &pi), PKT_DNS);
			CU_ASSERT_EQUAL(pi.l2_len, 14 + 4 * tags);
			CU_ASSERT_EQUAL(pi.l3_len, v6 ? 40 : 20);
			CU_ASSERT_EQUAL(pi.dns_off, pi.l2_len + pi.l3_len + 8);
			CU_ASSERT_EQUAL(pi.dns_len, fr.dns_len);
		}
	/* 802.1Q inside 802.1Q, not only QinQ's 0x88a8 outside */
	struct frame fr;
	struct pkt_info pi;

	build_query(&fr, &(struct shape){ .tags = 2 });
	put16(fr.b + 12, 0x8100);
	CU_ASSERT_EQUAL(classify(&fr, &pi), PKT_DNS);
	CU_ASSERT_EQUAL(pi.l2_len, 22);
}

static void test_dns_len_comes_from_udp_length_not_frame_padding(void)
{
	/* a header-only DNS message in a frame padded to 60 bytes and more */
	static const uint8_t hdr[12] = { 0xab, 0xcd, 0, 0, 0, 0 };

	for (int v6 = 0; v6 <= 1; v6++)
		for (size_t pad = 1; pad <= 64; pad += 21) {
			struct frame fr;
			struct pkt_info pi;

			build(&fr, &(struct shape){ .v6 = v6, .pad = pad }, hdr,
			      sizeof(hdr));
			CU_ASSERT_EQUAL_FATAL(classify(&fr, &pi), PKT_DNS);
			CU_ASSERT_EQUAL(pi.dns_len, 12);
		}

	/* IP payload longer than the UDP datagram: UDP length still rules */
	struct frame fr;
	struct pkt_info pi;

	build_query(&fr, &(struct shape){ .pad = 10 });
	put16(ip_of(&fr) + 2, get16(ip_of(&fr) + 2) + 10);
	seal(&fr);
	CU_ASSERT_EQUAL_FATAL(classify(&fr, &pi), PKT_DNS);
	CU_ASSERT_EQUAL(pi.dns_len, fr.dns_len);

	build_query(&fr, &(struct shape){ .v6 = true, .pad = 10 });
	put16(ip_of(&fr) + 4, get16(ip_of(&fr) + 4) + 10);
	CU_ASSERT_EQUAL_FATAL(classify(&fr, &pi), PKT_DNS);
	CU_ASSERT_EQUAL(pi.dns_len, fr.dns_len);
}

static void test_query_to_any_listed_service_address_is_dns(void)
{
	struct pkt_service svc;
	struct frame fr;
	struct pkt_info pi;
	char a[64];

	memset(&svc, 0, sizeof(svc));
	memcpy(svc.mac, our_mac, 6);
	svc.port = 5353;
	for (unsigned i = 0; i < PKT_MAX_SERVICE; i++) {
		snprintf(a, sizeof(a), "192.0.2.%u", 40 + i);
		CU_ASSERT_EQUAL(pkt_service_add(&svc, a), 0);
		snprintf(a, sizeof(a), "2001:db8::%x", 0x40 + i);
		CU_ASSERT_EQUAL(pkt_service_add(&svc, a), 0);
	}
	for (unsigned i = 0; i < PKT_MAX_SERVICE; i++) {
		build_query(&fr, &(struct shape){ 0 });
		ip_of(&fr)[19] = (uint8_t)(40 + i);
		put16(udp_of(&fr) + 2, 5353);
		seal(&fr);
		CU_ASSERT_EQUAL(classify_n(fr.b, fr.len, &svc, &pi), PKT_DNS);

		build_query(&fr, &(struct shape){ .v6 = true });
		ip_of(&fr)[39] = (uint8_t)(0x40 + i);
		put16(udp_of(&fr) + 2, 5353);
		seal(&fr);
		CU_ASSERT_EQUAL(classify_n(fr.b, fr.len, &svc, &pi), PKT_DNS);
	}
	/* the default port is no longer ours */
	build_query(&fr, &(struct shape){ 0 });
	ip_of(&fr)[19] = 40;
	seal(&fr);
	CU_ASSERT_EQUAL(classify_n(fr.b, fr.len, &svc, &pi), PKT_KERNEL);
}

static void test_dont_fragment_flag_alone_is_not_a_fragment(void)
{
	struct frame fr;

	build_query(&fr, &(struct shape){ 0 });
	CU_ASSERT_EQUAL(get16(ip_of(&fr) + 6), 0x4000);
	EXPECT(&fr, PKT_DNS, "DF set");
	put16(ip_of(&fr) + 6, 0);
	seal(&fr);
	EXPECT(&fr, PKT_DNS, "no flags");
}

/* ---- classification: to the kernel --------------------------------------- */

static void test_arp_goes_to_kernel(void)
{
	uint8_t f[42] = { 0 };
	struct pkt_service svc = service();
	struct pkt_info pi;

	memset(f, 0xff, 6);			/* who-has, broadcast */
	memcpy(f + 6, client_mac, 6);
	put16(f + 12, 0x0806);
	put16(f + 14, 1);
	put16(f + 16, 0x0800);
	f[18] = 6;
	f[19] = 4;
	put16(f + 20, 1);
	memcpy(f + 22, client_mac, 6);
	memcpy(f + 28, client4, 4);
	memcpy(f + 38, svc4, 4);
	CU_ASSERT_EQUAL(classify_n(f, sizeof(f), &svc, &pi), PKT_KERNEL);

	memcpy(f, our_mac, 6);			/* unicast reply to us */
	put16(f + 20, 2);
	CU_ASSERT_EQUAL(classify_n(f, sizeof(f), &svc, &pi), PKT_KERNEL);

	/* and in a VLAN */
	uint8_t t[46];
	memcpy(t, f, 12);
	put16(t + 12, 0x8100);
	put16(t + 14, 100);
	memcpy(t + 16, f + 12, 30);
	CU_ASSERT_EQUAL(classify_n(t, sizeof(t), &svc, &pi), PKT_KERNEL);
}

static void test_icmp_and_tcp_to_service_go_to_kernel(void)
{
	static const uint8_t protos[] = { 1, 6, 58 };

	for (int v6 = 0; v6 <= 1; v6++)
		for (size_t i = 0; i < sizeof(protos); i++) {
			struct frame fr;
			char what[64];

			build_query(&fr, &(struct shape){ .v6 = v6 });
			ip_of(&fr)[v6 ? 6 : 9] = protos[i];
			seal(&fr);
			snprintf(what, sizeof(what), "IPv%d protocol %u",
				 v6 ? 6 : 4, protos[i]);
			/* TCP keeps port 53: the port alone does not make DNS */
			EXPECT(&fr, PKT_KERNEL, what);
		}
}

static void test_udp_to_other_port_goes_to_kernel(void)
{
	static const uint16_t ports[] = { 0, 52, 54, 123, 179, 5353, 65535 };

	for (int v6 = 0; v6 <= 1; v6++)
		for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
			struct frame fr;

			build_query(&fr, &(struct shape){ .v6 = v6 });
			put16(udp_of(&fr) + 2, ports[i]);
			seal(&fr);
			EXPECT(&fr, PKT_KERNEL, "other port");
		}
}

static void test_udp_to_non_service_address_goes_to_kernel(void)
{
	struct frame fr;

	build_query(&fr, &(struct shape){ 0 });
	ip_of(&fr)[19] = 54;			/* 192.0.2.54 */
	seal(&fr);
	EXPECT(&fr, PKT_KERNEL, "IPv4 to another address");

	build_query(&fr, &(struct shape){ .v6 = true });
	ip_of(&fr)[39] = 0x54;			/* 2001:db8::54 */
	seal(&fr);
	EXPECT(&fr, PKT_KERNEL, "IPv6 to another address");

	/* the IPv4 service address embedded in IPv6 is not the service */
	build_query(&fr, &(struct shape){ .v6 = true });
	memset(ip_of(&fr) + 24, 0, 16);
	ip_of(&fr)[34] = ip_of(&fr)[35] = 0xff;
	memcpy(ip_of(&fr) + 36, svc4, 4);
	seal(&fr);
	EXPECT(&fr, PKT_KERNEL, "IPv6 to ::ffff:192.0.2.53");
}

static void test_ipv4_fragments_go_to_kernel(void)
{
	static const uint16_t frag[] = {
		0x2000,		/* first: more fragments, offset 0 */
		0x00b9,		/* last: offset 185 */
		0x20b9,		/* middle */
		0x0001,		/* smallest offset */
		0x6000,		/* DF and MF together */
	};

	for (size_t i = 0; i < sizeof(frag) / sizeof(frag[0]); i++) {
		struct frame fr;
		char what[64];

		build_query(&fr, &(struct shape){ 0 });
		put16(ip_of(&fr) + 6, frag[i]);
		seal(&fr);
		snprintf(what, sizeof(what), "flags/offset %#06x", frag[i]);
		EXPECT(&fr, PKT_KERNEL, what);
	}
}

static void test_ipv6_extension_headers_go_to_kernel(void)
{
	static const uint8_t next[] = { 0, 43, 44, 60 };

	for (size_t i = 0; i < sizeof(next); i++) {
		struct frame fr;
		char what[64];

		build_query(&fr, &(struct shape){ .v6 = true });
		ip_of(&fr)[6] = next[i];
		snprintf(what, sizeof(what), "next header %u", next[i]);
		EXPECT(&fr, PKT_KERNEL, what);
	}
}

static void test_broadcast_and_multicast_destinations_go_to_kernel(void)
{
	static const uint8_t dst[][6] = {
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		{ 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb },
		{ 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 },
		{ 0x33, 0x33, 0xff, 0x00, 0x00, 0x53 },
	};

	for (size_t i = 0; i < sizeof(dst) / sizeof(dst[0]); i++)
		for (int v6 = 0; v6 <= 1; v6++) {
			struct frame fr;

			build_query(&fr, &(struct shape){ .v6 = v6,
							  .tags = 1 });
			memcpy(fr.b, dst[i], 6);
			EXPECT(&fr, PKT_KERNEL, "group destination");
		}
}

static void test_three_vlan_tags_go_to_kernel(void)
{
	struct frame fr;

	build_query(&fr, &(struct shape){ .tags = 3 });
	EXPECT(&fr, PKT_KERNEL, "three tags");
	build_query(&fr, &(struct shape){ .v6 = true, .tags = 3 });
	EXPECT(&fr, PKT_KERNEL, "three tags, IPv6");
}

static void test_other_ethertypes_go_to_kernel(void)
{
	static const uint16_t types[] = { 0x0806, 0x8035, 0x88cc, 0x8847,
					  0x0000, 0xffff };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct frame fr;

		build_query(&fr, &(struct shape){ .tags = 1 });
		put16(fr.b + 16, types[i]);
		EXPECT(&fr, PKT_KERNEL, "other EtherType");
	}
}

/* ---- classification: dropped --------------------------------------------- */

static void test_every_truncation_of_a_query_is_malformed(void)
{
	static const struct shape shapes[] = {
		{ 0 },
		{ .v6 = true },
		{ .opts = 8 },
		{ .tags = 2 },
		{ .v6 = true, .tags = 1 },
		{ .tags = 1, .opts = 40 },
	};
	struct pkt_service svc = service();

	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		struct frame fr;
		struct pkt_info pi;

		build_query(&fr, &shapes[s]);
		CU_ASSERT_EQUAL(classify_n(fr.b, fr.len, &svc, &pi), PKT_DNS);
		for (size_t len = 0; len < fr.len; len++) {
			enum pkt_verdict v = classify_n(fr.b, len, &svc, &pi);

			if (v != PKT_DROP_MALFORMED)
				printf("\n  shape %zu cut to %zu of %zu: %s\n", s,
				       len, fr.len, verdict_name(v));
			CU_ASSERT_EQUAL(v, PKT_DROP_MALFORMED);
		}
	}
}

static void test_bad_ipv4_header_checksum_is_dropped(void)
{
	struct frame fr;

	build_query(&fr, &(struct shape){ 0 });
	ip_of(&fr)[11] ^= 1;
	EXPECT(&fr, PKT_DROP_MALFORMED, "checksum off by one");

	/* a changed option is covered by the checksum too */
	build_query(&fr, &(struct shape){ .opts = 4 });
	ip_of(&fr)[23] ^= 0x80;
	EXPECT(&fr, PKT_DROP_MALFORMED, "option changed");

	/* and so is a changed address */
	build_query(&fr, &(struct shape){ 0 });
	ip_of(&fr)[15] ^= 1;
	EXPECT(&fr, PKT_DROP_MALFORMED, "source changed");
}

static void test_inconsistent_ipv4_header_is_dropped(void)
{
	struct frame fr;
	size_t total;

	build_query(&fr, &(struct shape){ .pad = 3 });
	total = get16(ip_of(&fr) + 2);
	put16(ip_of(&fr) + 2, total + 4);	/* beyond the frame */
	seal(&fr);
	EXPECT(&fr, PKT_DROP_MALFORMED, "total length beyond frame");
	put16(ip_of(&fr) + 2, total + 3);	/* up to the last pad byte */
	seal(&fr);
	EXPECT(&fr, PKT_DNS, "total length into padding");

	build_query(&fr, &(struct shape){ 0 });
	put16(ip_of(&fr) + 2, 19);		/* shorter than its header */
	seal(&fr);
	EXPECT(&fr, PKT_DROP_MALFORMED, "total length 19");

	build_query(&fr, &(struct shape){ 0 });
	put16(ip_of(&fr) + 2, 27);		/* no room for UDP */
	seal(&fr);
	EXPECT(&fr, PKT_DROP_MALFORMED, "total length 27");
	/* and the frame ends there: the UDP length must not be read */
	for (size_t tl = 20; tl < 28; tl++) {
		build_query(&fr, &(struct shape){ 0 });
		put16(ip_of(&fr) + 2, tl);
		seal(&fr);
		fr.len = fr.l2 + tl;
		EXPECT(&fr, PKT_DROP_MALFORMED, "datagram shorter than UDP");
	}

	for (unsigned ihl = 0; ihl < 5; ihl++) {
		build_query(&fr, &(struct shape){ 0 });
		ip_of(&fr)[0] = (uint8_t)(0x40 | ihl);
		seal(&fr);
		EXPECT(&fr, PKT_DROP_MALFORMED, "IHL below 5");
	}

	build_query(&fr, &(struct shape){ 0 });
	ip_of(&fr)[0] = 0x65;			/* version 6 in an IPv4 frame */
	seal(&fr);
	EXPECT(&fr, PKT_DROP_MALFORMED, "version 6 behind 0x0800");

	build_query(&fr, &(struct shape){ .v6 = true });
	ip_of(&fr)[0] = 0x45;
	EXPECT(&fr, PKT_DROP_MALFORMED, "version 4 behind 0x86dd");
}

static void test_ipv6_payload_length_beyond_frame_is_dropped(void)
{
	struct frame fr;

	build_query(&fr, &(struct shape){ .v6 = true });
	put16(ip_of(&fr) + 4, get16(ip_of(&fr) + 4) + 1);
	EXPECT(&fr, PKT_DROP_MALFORMED, "payload length + 1");

	build_query(&fr, &(struct shape){ .v6 = true });
	put16(ip_of(&fr) + 4, 7);
	EXPECT(&fr, PKT_DROP_MALFORMED, "payload length 7");

	build_query(&fr, &(struct shape){ .v6 = true });
	put16(ip_of(&fr) + 4, 0);		/* jumbogram */
	EXPECT(&fr, PKT_DROP_MALFORMED, "payload length 0");

	for (size_t plen = 0; plen < 8; plen++) {
		build_query(&fr, &(struct shape){ .v6 = true });
		put16(ip_of(&fr) + 4, plen);
		fr.len = fr.l2 + 40 + plen;
		EXPECT(&fr, PKT_DROP_MALFORMED, "payload shorter than UDP");
	}
}

static void test_udp_length_beyond_ip_payload_or_below_header_is_dropped(void)
{
	for (int v6 = 0; v6 <= 1; v6++) {
		struct frame fr;
		struct pkt_info pi;

		/* padding in the frame, so only the IP length can refuse it */
		build_query(&fr, &(struct shape){ .v6 = v6, .pad = 16 });
		put16(udp_of(&fr) + 4, 8 + fr.dns_len + 1);
		seal(&fr);
		EXPECT(&fr, PKT_DROP_MALFORMED, "UDP length beyond IP");

		for (unsigned ulen = 0; ulen < 20; ulen++) {
			build_query(&fr, &(struct shape){ .v6 = v6 });
			put16(udp_of(&fr) + 4, ulen);
			seal(&fr);
			EXPECT(&fr, PKT_DROP_MALFORMED, "UDP length below 20");
		}

		/* exactly a DNS header is enough to classify */
		build_query(&fr, &(struct shape){ .v6 = v6 });
		put16(udp_of(&fr) + 4, 20);
		seal(&fr);
		CU_ASSERT_EQUAL(classify(&fr, &pi), PKT_DNS);
		CU_ASSERT_EQUAL(pi.dns_len, 12);
	}
}

static void test_source_port_0_is_bad_source(void)
{
	for (int v6 = 0; v6 <= 1; v6++) {
		struct frame fr;

		build_query(&fr, &(struct shape){ .v6 = v6 });
		put16(udp_of(&fr), 0);
		seal(&fr);
		EXPECT(&fr, PKT_DROP_BAD_SOURCE, "source port 0");
	}
}

static void test_reflecting_source_addresses_are_bad_source(void)
{
	static const char *const bad[] = {
		"127.0.0.1", "127.255.255.254", "0.0.0.0", "0.1.2.3",
		"224.0.0.1", "239.255.255.250", "240.0.0.1",
		"255.255.255.255", "::", "::1", "ff02::1", "ff05::1:3",
	};
	static const char *const good[] = {
		"1.0.0.1", "126.255.255.255", "128.0.0.1", "223.255.255.255",
		"::2", "fe80::1", "2001:db8::1",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]) +
			       sizeof(good) / sizeof(good[0]); i++) {
		bool is_bad = i < sizeof(bad) / sizeof(bad[0]);
		const char *a = is_bad ? bad[i] :
				good[i - sizeof(bad) / sizeof(bad[0])];
		bool v6 = strchr(a, ':') != NULL;
		struct frame fr;

		build_query(&fr, &(struct shape){ .v6 = v6 });
		CU_ASSERT_EQUAL(inet_pton(v6 ? AF_INET6 : AF_INET, a,
					  ip_of(&fr) + (v6 ? 8 : 12)), 1);
		seal(&fr);
		EXPECT(&fr, is_bad ? PKT_DROP_BAD_SOURCE : PKT_DNS, a);
	}
}

static void test_multicast_source_mac_is_bad_source(void)
{
	static const uint8_t src[][6] = {
		{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
		{ 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 },
		{ 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 },
	};

	for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++)
		for (int v6 = 0; v6 <= 1; v6++) {
			struct frame fr;

			build_query(&fr, &(struct shape){ .v6 = v6 });
			memcpy(fr.b + 6, src[i], 6);
			EXPECT(&fr, PKT_DROP_BAD_SOURCE, "group source MAC");
		}
}

static void test_unicast_to_other_mac_is_not_ours(void)
{
	for (int v6 = 0; v6 <= 1; v6++) {
		struct frame fr;

		build_query(&fr, &(struct shape){ .v6 = v6, .tags = 1 });
		fr.b[5] = 0x99;
		EXPECT(&fr, PKT_DROP_NOT_OURS, "other MAC");
		/* a locally administered bit flip is another MAC too */
		build_query(&fr, &(struct shape){ .v6 = v6 });
		fr.b[0] ^= 0x02;
		EXPECT(&fr, PKT_DROP_NOT_OURS, "other MAC (U/L bit)");
	}
}

/* ---- the reply ------------------------------------------------------------ */

static void test_reply_swaps_macs_addresses_and_ports(void)
{
	struct frame fr;

	build_query(&fr, &(struct shape){ 0 });
	reply_and_check(&fr, fr.dns_len, 1, false);
	build_query(&fr, &(struct shape){ .v6 = true });
	reply_and_check(&fr, fr.dns_len, 2, false);
}

static void test_reply_keeps_vlan_tags(void)
{
	for (unsigned tags = 1; tags <= 2; tags++)
		for (int v6 = 0; v6 <= 1; v6++) {
			struct frame fr;

			build_query(&fr, &(struct shape){ .v6 = v6,
							  .tags = tags });
			reply_and_check(&fr, 100, tags, false);
		}
}

static void test_reply_strips_ipv4_options(void)
{
	for (unsigned opts = 4; opts <= 40; opts += 4)
		for (unsigned tags = 0; tags <= 2; tags++) {
			struct frame fr;
			struct pkt_info pi;
			uint8_t w[FRAME_CAP];

			build_query(&fr, &(struct shape){ .opts = opts,
							  .tags = tags });
			/* reply_and_check checks the whole reply; here also
			 * that only the headers moved, not the message */
			reply_and_check(&fr, 77, opts, false);

			memcpy(w, fr.b, fr.len);
			CU_ASSERT_EQUAL_FATAL(classify(&fr, &pi), PKT_DNS);
			size_t shift = pkt_reply(w, &pi, fr.dns_len, false);
			CU_ASSERT_EQUAL(shift, opts);
			CU_ASSERT_EQUAL(w[shift + pi.l2_len], 0x45);
			CU_ASSERT_EQUAL(get16(w + shift + pi.l2_len + 2),
					20 + 8 + fr.dns_len);
			/* the DNS message did not move */
			CU_ASSERT_EQUAL(shift + pkt_reply_len(&pi, fr.dns_len),
					fr.len);
			CU_ASSERT_EQUAL(memcmp(w + pi.dns_off,
					       fr.b + fr.dns_off, fr.dns_len),
					0);
		}
}

static void test_reply_checksums_match_naive_rfc1071(void)
{
	static const size_t lens[] = { 12, 13, 28, 29, 100, 255, 512, 513,
				       1231, 1232 };
	static const struct shape shapes[] = {
		{ 0 }, { .v6 = true }, { .tags = 1 }, { .v6 = true, .tags = 2 },
		{ .opts = 12 }, { .opts = 40, .tags = 2 },
	};
	uint64_t seed = 42;

	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			struct frame fr;

			build_query(&fr, &shapes[s]);
			reply_and_check(&fr, lens[i], rng_next(&seed), false);
		}

	/* responses whose sum lands on 0 and 0xffff: all zero and all 0xff */
	for (int v6 = 0; v6 <= 1; v6++)
		for (int fill = 0; fill <= 0xff; fill += 0xff) {
			struct frame fr;
			struct pkt_info pi;
			uint8_t dns[64];

			build_query(&fr, &(struct shape){ .v6 = v6 });
			CU_ASSERT_EQUAL_FATAL(classify(&fr, &pi), PKT_DNS);
			memset(dns, fill, sizeof(dns));
			memcpy(fr.b + pi.dns_off, dns, sizeof(dns));
			struct frame q = fr;
			size_t shift = pkt_reply(fr.b, &pi, sizeof(dns), false);
			check_reply(fr.b + shift, pkt_reply_len(&pi, sizeof(dns)),
				    &q, dns, sizeof(dns), false);
		}
}

static void test_reply_udp_checksum_of_zero_is_sent_as_ffff(void)
{
	/* 0 in the UDP checksum field means "none" (and is invalid over
	 * IPv6): a sum that comes out 0 is sent as 0xffff (RFC 768). */
	for (int v6 = 0; v6 <= 1; v6++) {
		struct frame fr, w;
		struct pkt_info pi;
		uint8_t dns[40] = { 0x12, 0x34, 0x84, 0x00 };
		size_t n = sizeof(dns), shift;

		build_query(&fr, &(struct shape){ .v6 = v6 });
		CU_ASSERT_EQUAL_FATAL(classify(&fr, &pi), PKT_DNS);
		/* first with the last word 0, to learn the sum of the rest */
		w = fr;
		memcpy(w.b + pi.dns_off, dns, n);
		shift = pkt_reply(w.b, &pi, n, false);
		uint16_t rest = (uint16_t)~get16(w.b + shift + pi.l2_len +
						 (v6 ? 40 : 20) + 6);
		/* then with the word that brings the sum to 0xffff */
		put16(dns + n - 2, 0xffff - rest);
		w = fr;
		memcpy(w.b + pi.dns_off, dns, n);
		shift = pkt_reply(w.b, &pi, n, false);
		CU_ASSERT_EQUAL(get16(w.b + shift + pi.l2_len +
				      (v6 ? 40 : 20) + 6), 0xffff);
		check_reply(w.b + shift, pkt_reply_len(&pi, n), &fr, dns, n,
			    false);
	}
}

static void test_reply_with_csum_offload_leaves_pseudo_header_sum(void)
{
	static const struct shape shapes[] = {
		{ 0 }, { .v6 = true }, { .opts = 8, .tags = 1 },
		{ .v6 = true, .tags = 2 },
	};

	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
		for (size_t len = 28; len <= 29; len++) {
			struct frame fr;

			build_query(&fr, &shapes[s]);
			reply_and_check(&fr, len, s * 2 + len, true);
		}
}

/* ---- checksum arithmetic --------------------------------------------------- */

static void test_csum_partial_matches_naive_sum_for_every_length(void)
{
	uint64_t seed = 0x5eed;
	uint8_t buf[301];

	for (size_t len = 0; len <= 300; len++) {
		for (int round = 0; round < 8; round++) {
			uint8_t *p = malloc(len ? len : 1);
			uint32_t start = (uint32_t)(rng_next(&seed) & 0xffffff);

			CU_ASSERT_PTR_NOT_NULL_FATAL(p);
			for (size_t i = 0; i < len; i++)
				p[i] = (uint8_t)rng_next(&seed);
			if (round == 1)
				memset(p, 0, len);
			if (round == 2)
				memset(p, 0xff, len);
			if (round < 3)
				start = 0;
			uint32_t got = pkt_csum_fold(pkt_csum_partial(p, len,
								      start));
			uint16_t want = naive_sum(p, len, start);

			if (!same_sum(got, want))
				printf("\n  len %zu round %d: %#x, want %#x\n",
				       len, round, got, want);
			CU_ASSERT_TRUE(same_sum(got, want));

			/* partial sums chain at any even offset */
			if (len) {
				size_t cut = (size_t)(rng_next(&seed) %
						      (len + 1)) & ~(size_t)1;
				uint32_t s1 = pkt_csum_partial(p, cut, start);
				uint32_t s2 = pkt_csum_partial(p + cut,
							       len - cut, s1);
				CU_ASSERT_TRUE(same_sum(pkt_csum_fold(s2),
							want));
			}
			free(p);
		}
		/* unaligned start in memory gives the same sum */
		for (size_t i = 0; i < len; i++)
			buf[1 + i] = (uint8_t)(i * 7 + len);
		CU_ASSERT_TRUE(same_sum(
			pkt_csum_fold(pkt_csum_partial(buf + 1, len, 0)),
			naive_sum(buf + 1, len, 0)));
	}
}

static void test_csum_partial_does_not_lose_carries_on_long_buffers(void)
{
	size_t len = 65536;
	uint8_t *p = malloc(len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	memset(p, 0xff, len);
	p[len - 1] = 0xfe;
	CU_ASSERT_TRUE(same_sum(pkt_csum_fold(pkt_csum_partial(p, len, 0)),
				naive_sum(p, len, 0)));
	CU_ASSERT_TRUE(same_sum(pkt_csum_fold(pkt_csum_partial(p, len - 1,
							       0xfffff)),
				naive_sum(p, len - 1, 0xfffff)));
	free(p);
}

/* ---- service addresses ----------------------------------------------------- */

static void test_service_add_accepts_ipv4_and_ipv6(void)
{
	struct pkt_service svc;
	static const uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff,
					    192, 0, 2, 1 };

	memset(&svc, 0, sizeof(svc));
	CU_ASSERT_EQUAL(pkt_service_add(&svc, "192.0.2.53"), 0);
	CU_ASSERT_EQUAL(pkt_service_add(&svc, "2001:db8::53"), 0);
	CU_ASSERT_EQUAL(pkt_service_add(&svc, "::ffff:192.0.2.1"), 0);
	CU_ASSERT_EQUAL(svc.n4, 1);
	CU_ASSERT_EQUAL(svc.n6, 2);
	CU_ASSERT_EQUAL(memcmp(svc.v4[0], svc4, 4), 0);
	CU_ASSERT_EQUAL(memcmp(svc.v6[0], svc6, 16), 0);
	CU_ASSERT_EQUAL(memcmp(svc.v6[1], mapped, 16), 0);
}

static void test_service_add_refuses_junk(void)
{
	static const char *const junk[] = {
		"", "192.0.2", "192.0.2.256", "192.0.2.1.1", "192.0.2.1/24",
		" 192.0.2.1", "192.0.2.1 ", "example.com", "localhost",
		"2001:db8::g", "2001:db8::1/64", "::1::2", ":", "fe80::1%eth0",
		"12345::", "0x7f.1",
	};
	struct pkt_service svc;

	memset(&svc, 0, sizeof(svc));
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		int rc = pkt_service_add(&svc, junk[i]);

		if (rc != -1)
			printf("\n  accepted '%s'\n", junk[i]);
		CU_ASSERT_EQUAL(rc, -1);
	}
	CU_ASSERT_EQUAL(svc.n4, 0);
	CU_ASSERT_EQUAL(svc.n6, 0);
}

static void test_service_add_refuses_17th_address_of_a_family(void)
{
	struct pkt_service svc;
	char a[64];

	memset(&svc, 0, sizeof(svc));
	for (unsigned i = 0; i < PKT_MAX_SERVICE; i++) {
		snprintf(a, sizeof(a), "192.0.2.%u", i + 1);
		CU_ASSERT_EQUAL(pkt_service_add(&svc, a), 0);
	}
	CU_ASSERT_EQUAL(pkt_service_add(&svc, "192.0.2.200"), -1);
	CU_ASSERT_EQUAL(svc.n4, PKT_MAX_SERVICE);
	/* the other family still has room */
	for (unsigned i = 0; i < PKT_MAX_SERVICE; i++) {
		snprintf(a, sizeof(a), "2001:db8::%u", i + 1);
		CU_ASSERT_EQUAL(pkt_service_add(&svc, a), 0);
	}
	CU_ASSERT_EQUAL(pkt_service_add(&svc, "2001:db8::200"), -1);
	CU_ASSERT_EQUAL(svc.n6, PKT_MAX_SERVICE);
	CU_ASSERT_EQUAL(svc.n4, PKT_MAX_SERVICE);
	CU_ASSERT_EQUAL(svc.v4[PKT_MAX_SERVICE - 1][3], PKT_MAX_SERVICE);
}

/* ---- end to end ------------------------------------------------------------- */

/* A query frame answered in place by the engine, rewritten, and the reply's
 * DNS message parsed back. */
static void answer_in_place(const struct shape *s, uint16_t id)
{
	struct ditto_image *img = h_image(sample_zone_example(), NULL);
	struct ditto_zone_table *zt = img ? h_table(img, NULL) : NULL;
	struct h_query hq = { .id = id, .qname = "www.example.",
			      .qtype = DNS_T_A,
			      .edns = { .on = true, .payload = 1232 } };
	uint8_t q[512], *buf = NULL;
	struct frame fr, orig;
	struct pkt_info pi;
	struct ditto_answer_info info;
	ldns_pkt *p = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(zt);
	size_t qlen = h_query_wire(&hq, q, sizeof(q));
	build(&fr, s, q, qlen);
	orig = fr;
	/* an MTU-sized buffer of exactly its size, as in an mbuf */
	buf = malloc(1514 + 8);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	memcpy(buf, fr.b, fr.len);
	CU_ASSERT_EQUAL_FATAL(classify(&fr, &pi), PKT_DNS);

	size_t n = ditto_answer(zt, h_cfg_default(), buf + pi.dns_off,
				pi.dns_len, buf + pi.dns_off,
				1514 + 8 - pi.dns_off, 0, &info);
	CU_ASSERT_FATAL(n >= 12);
	uint8_t *resp = malloc(n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
	memcpy(resp, buf + pi.dns_off, n);

	size_t shift = pkt_reply(buf, &pi, n, false);
	size_t len = pkt_reply_len(&pi, n);
	check_reply(buf + shift, len, &orig, resp, n, false);

	const uint8_t *dns = buf + shift + len - n;
	CU_ASSERT_EQUAL(ldns_wire2pkt(&p, dns, n), LDNS_STATUS_OK);
	if (p) {
		ldns_rr_list *an = ldns_pkt_answer(p);
		char *text = NULL;

		CU_ASSERT_EQUAL(ldns_pkt_id(p), id);
		CU_ASSERT_TRUE(ldns_pkt_qr(p));
		CU_ASSERT_TRUE(ldns_pkt_aa(p));
		CU_ASSERT_EQUAL(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
		CU_ASSERT_EQUAL(ldns_rr_list_rr_count(an), 1);
		if (ldns_rr_list_rr_count(an) == 1) {
			ldns_rr *rr = ldns_rr_list_rr(an, 0);

			CU_ASSERT_EQUAL(ldns_rr_get_type(rr), LDNS_RR_TYPE_A);
			text = ldns_rdf2str(ldns_rr_rdf(rr, 0));
			CU_ASSERT_STRING_EQUAL(text ? text : "", "192.0.2.80");
		}
		free(text);
		ldns_pkt_free(p);
	}
	free(resp);
	free(buf);
	ditto_zone_table_free(zt);
	ditto_image_free(img);
}

static void test_query_answered_in_place_replies_with_its_id_and_answer(void)
{
	answer_in_place(&(struct shape){ 0 }, 0xbeef);
	answer_in_place(&(struct shape){ .v6 = true }, 0x0001);
	answer_in_place(&(struct shape){ .opts = 12, .tags = 2 }, 0xcafe);
	answer_in_place(&(struct shape){ .v6 = true, .tags = 1, .pad = 6 },
			0x7777);
}

int main(void)
{
	static const struct h_test tests[] = {
#define T(fn) { #fn, fn }
		T(test_ipv4_query_to_service_is_dns_with_offsets),
		T(test_ipv6_query_to_service_is_dns_with_offsets),
		T(test_ipv4_options_are_counted_in_l3_len),
		T(test_vlan_tags_are_counted_in_l2_len),
		T(test_dns_len_comes_from_udp_length_not_frame_padding),
		T(test_query_to_any_listed_service_address_is_dns),
		T(test_dont_fragment_flag_alone_is_not_a_fragment),
		T(test_arp_goes_to_kernel),
		T(test_icmp_and_tcp_to_service_go_to_kernel),
		T(test_udp_to_other_port_goes_to_kernel),
		T(test_udp_to_non_service_address_goes_to_kernel),
		T(test_ipv4_fragments_go_to_kernel),
		T(test_ipv6_extension_headers_go_to_kernel),
		T(test_broadcast_and_multicast_destinations_go_to_kernel),
		T(test_three_vlan_tags_go_to_kernel),
		T(test_other_ethertypes_go_to_kernel),
		T(test_every_truncation_of_a_query_is_malformed),
		T(test_bad_ipv4_header_checksum_is_dropped),
		T(test_inconsistent_ipv4_header_is_dropped),
		T(test_ipv6_payload_length_beyond_frame_is_dropped),
		T(test_udp_length_beyond_ip_payload_or_below_header_is_dropped),
		T(test_source_port_0_is_bad_source),
		T(test_reflecting_source_addresses_are_bad_source),
		T(test_multicast_source_mac_is_bad_source),
		T(test_unicast_to_other_mac_is_not_ours),
		T(test_reply_swaps_macs_addresses_and_ports),
		T(test_reply_keeps_vlan_tags),
		T(test_reply_strips_ipv4_options),
		T(test_reply_checksums_match_naive_rfc1071),
		T(test_reply_udp_checksum_of_zero_is_sent_as_ffff),
		T(test_reply_with_csum_offload_leaves_pseudo_header_sum),
		T(test_csum_partial_matches_naive_sum_for_every_length),
		T(test_csum_partial_does_not_lose_carries_on_long_buffers),
		T(test_service_add_accepts_ipv4_and_ipv6),
		T(test_service_add_refuses_junk),
		T(test_service_add_refuses_17th_address_of_a_family),
		T(test_query_answered_in_place_replies_with_its_id_and_answer),
#undef T
	};
	return h_run("pkt", tests, sizeof(tests) / sizeof(tests[0]));
}
