/* Packet classification and in-place reply rewriting (see pkt.h). */
#include <arpa/inet.h>
#include <string.h>

#include "pkt.h"

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_VLAN 0x8100
#define ETH_P_QINQ 0x88a8
#define IPPROTO_UDP_ 17
#define REPLY_TTL 64
#define MAX_TAGS 2

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * Sum native words, fold, and turn the result into the
 * big-endian 16-bit sum: the one's complement sum commutes with byte
 * swapping (RFC 1071 §2(B)), so this is the same as adding network-order
 * 16-bit words, several times faster. Every call starts at an even offset
 * of the datagram, so partial sums combine.
 */
static inline __attribute__((always_inline)) uint32_t
csum_partial(const uint8_t *p, size_t len, uint32_t sum)
{
	/* 64-bit words into a 128-bit accumulator: one add with carry per
	 * 8 bytes, the carries kept in the high half. */
	unsigned __int128 acc = 0;
	uint64_t q, lo;
	uint16_t h;

	while (len >= 32) {
		uint64_t a, b, c, d;

		memcpy(&a, p, 8);
		memcpy(&b, p + 8, 8);
		memcpy(&c, p + 16, 8);
		memcpy(&d, p + 24, 8);
		acc += a;
		acc += b;
		acc += c;
		acc += d;
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		memcpy(&q, p, 8);
		acc += q;
		p += 8;
		len -= 8;
	}
	/* The tail by loads of its own sizes: gathering it byte by byte into
	 * a stack word and reading that back stalls on store forwarding,
	 * which cost more than all the rest of the sum. */
	if (len >= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		acc += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		acc += h;
		p += 2;
		len -= 2;
	}
	if (len) {
		/* An odd last byte is the high-order byte of a 16-bit word
		 * padded with zero (RFC 1071), in memory order. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		acc += p[0];
#else
		acc += (uint32_t)p[0] << 8;
#endif
	}
	/* Fold 128 -> 64 -> 32 -> 16 bits, end-around carry each time. */
	lo = (uint64_t)acc + (uint64_t)(acc >> 64);
	lo += lo < (uint64_t)(acc >> 64);
	lo = (lo & 0xffffffffu) + (lo >> 32);
	lo = (lo & 0xffffffffu) + (lo >> 32);
	lo = (lo & 0xffff) + (lo >> 16);
	lo = (lo & 0xffff) + (lo >> 16);
	h = (uint16_t)lo;
	h = ntohs(h);
	return sum + h;
}

static inline uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The exported forms. Inside this file the sums are inlined: most have a
 * constant length (the IPv4 header, the pseudo-header's addresses), so
 * the compiler drops the loops and the call. With checksum offload, when
 * only those short sums are left, the calls were 5% of the worker's perf
 * samples and the packet functions 9 to 11%; inlined, 6.6 to 8.3%. */
uint32_t pkt_csum_partial(const uint8_t *p, size_t len, uint32_t sum)
{
	return csum_partial(p, len, sum);
}

uint16_t pkt_csum_fold(uint32_t sum)
{
	return csum_fold(sum);
}

/* Whether an IPv4 header of l3 bytes sums right; the common 20 bytes
 * with a constant length. */
static inline bool ip4_header_ok(const uint8_t *ip, size_t l3)
{
	uint32_t sum = l3 == 20 ? csum_partial(ip, 20, 0)
				: csum_partial(ip, l3, 0);

	return csum_fold(sum) == 0xffff;
}

static bool is_v4_service(const struct pkt_service *svc, const uint8_t *a)
{
	for (unsigned i = 0; i < svc->n4; i++)
		if (memcmp(svc->v4[i], a, 4) == 0)
			return true;
	return false;
}

static bool is_v6_service(const struct pkt_service *svc, const uint8_t *a)
{
	for (unsigned i = 0; i < svc->n6; i++)
		if (memcmp(svc->v6[i], a, 16) == 0)
			return true;
	return false;
}

/* Sources an answer must never go to: unspecified, loopback, broadcast,
 * multicast (a reply would be reflected to many hosts or to ourselves). */
static bool bad_v4_source(const uint8_t *a)
{
	return a[0] == 0 || a[0] == 127 || a[0] >= 224;
}

static bool bad_v6_source(const uint8_t *a)
{
	static const uint8_t zero[15];

	if (a[0] == 0xff)
		return true;	/* multicast */
	return memcmp(a, zero, 15) == 0 && a[15] <= 1;	/* :: and ::1 */
}

enum pkt_verdict pkt_classify(const uint8_t *f, size_t len,
			      const struct pkt_service *svc,
			      struct pkt_info *pi)
{
	size_t off = 14;
	uint16_t type;
	unsigned tags = 0;

	if (len < 14)
		return PKT_DROP_MALFORMED;
	if (f[6] & 1)
		return PKT_DROP_BAD_SOURCE;
	type = get16(f + 12);
	while (type == ETH_P_VLAN || type == ETH_P_QINQ) {
		if (++tags > MAX_TAGS)
			return PKT_KERNEL;
		if (len < off + 4)
			return PKT_DROP_MALFORMED;
		type = get16(f + off + 2);
		off += 4;
	}
	/* Group destinations (ARP, ND) are the kernel's business. */
	if (f[0] & 1)
		return PKT_KERNEL;
	if (memcmp(f, svc->mac, 6) != 0)
		return PKT_DROP_NOT_OURS;

	const uint8_t *ip = f + off;
	size_t avail = len - off;
	const uint8_t *udp;
	size_t l3, ip_payload;

	pi->l2_len = (uint16_t)off;
	if (type == ETH_P_IPV4) {
		if (avail < 20 || (ip[0] >> 4) != 4)
			return PKT_DROP_MALFORMED;
		l3 = (size_t)(ip[0] & 15) * 4;
		size_t total = get16(ip + 2);

		if (l3 < 20 || l3 > avail || total < l3 || total > avail)
			return PKT_DROP_MALFORMED;
		if (!ip4_header_ok(ip, l3))
			return PKT_DROP_MALFORMED;
		if ((get16(ip + 6) & 0x3fff) != 0 || ip[9] != IPPROTO_UDP_)
			return PKT_KERNEL;	/* fragment, or not UDP */
		if (!is_v4_service(svc, ip + 16))
			return PKT_KERNEL;
		ip_payload = total - l3;
		pi->ipv6 = false;
	} else if (type == ETH_P_IPV6) {
		if (avail < 40 || (ip[0] >> 4) != 6)
			return PKT_DROP_MALFORMED;
		l3 = 40;
		ip_payload = get16(ip + 4);
		if (ip_payload > avail - 40)
			return PKT_DROP_MALFORMED;
		if (ip[6] != IPPROTO_UDP_)
			return PKT_KERNEL;	/* extension headers, not UDP */
		if (!is_v6_service(svc, ip + 24))
			return PKT_KERNEL;
		pi->ipv6 = true;
	} else {
		return PKT_KERNEL;
	}
	if (ip_payload < 8)
		return PKT_DROP_MALFORMED;
	udp = ip + l3;
	if (get16(udp + 2) != svc->port)
		return PKT_KERNEL;
	size_t ulen = get16(udp + 4);

	if (ulen < 8 + 12 || ulen > ip_payload)
		return PKT_DROP_MALFORMED;
	if (get16(udp) == 0 ||
	    (pi->ipv6 ? bad_v6_source(ip + 8) : bad_v4_source(ip + 12)))
		return PKT_DROP_BAD_SOURCE;
	pi->l3_len = (uint16_t)l3;
	pi->dns_off = (uint16_t)(off + l3 + 8);
	pi->dns_len = (uint16_t)(ulen - 8);
	return PKT_DNS;
}

static void swap_bytes(uint8_t *a, uint8_t *b, size_t n)
{
	uint8_t t[16];

	memcpy(t, a, n);
	memcpy(a, b, n);
	memcpy(b, t, n);
}

size_t pkt_reply(uint8_t *f, const struct pkt_info *pi, size_t dns_len,
		 bool csum_offload)
{
	size_t shift = 0;
	uint8_t *ip, *udp = f + pi->l2_len + pi->l3_len;
	size_t ulen = 8 + dns_len;
	uint32_t sum;

	swap_bytes(f, f + 6, 6);
	swap_bytes(udp, udp + 2, 2);
	put16(udp + 4, (uint16_t)ulen);
	udp[6] = udp[7] = 0;
	if (pi->ipv6) {
		ip = f + pi->l2_len;
		ip[0] = 0x60;		/* traffic class and flow label 0 */
		ip[1] = ip[2] = ip[3] = 0;
		put16(ip + 4, (uint16_t)ulen);
		ip[7] = REPLY_TTL;
		swap_bytes(ip + 8, ip + 24, 16);
		sum = csum_partial(ip + 8, 32, 0);
	} else {
		uint8_t addrs[8];

		/* The reply carries no options: its 20-byte header takes the
		 * last 20 bytes of the query's, and what is in front moves. */
		shift = pi->l3_len - 20u;
		memcpy(addrs, f + pi->l2_len + 16, 4);
		memcpy(addrs + 4, f + pi->l2_len + 12, 4);
		if (shift)
			memmove(f + shift, f, pi->l2_len);
		ip = f + shift + pi->l2_len;
		ip[0] = 0x45;
		ip[1] = 0;
		put16(ip + 2, (uint16_t)(20 + ulen));
		put16(ip + 4, 0);	/* id */
		put16(ip + 6, 0);	/* no DF, not a fragment */
		ip[8] = REPLY_TTL;
		ip[9] = IPPROTO_UDP_;
		ip[10] = ip[11] = 0;
		memcpy(ip + 12, addrs, 8);
		if (!csum_offload)
			put16(ip + 10, (uint16_t)~csum_fold(
					       csum_partial(ip, 20, 0)));
		sum = csum_partial(addrs, 8, 0);
	}
	sum += IPPROTO_UDP_ + (uint32_t)ulen;
	if (csum_offload) {
		put16(udp + 6, csum_fold(sum));
	} else {
		uint16_t c = (uint16_t)~csum_fold(
			csum_partial(udp, ulen, sum));

		put16(udp + 6, c ? c : 0xffff);
	}
	return shift;
}

bool pkt_verify(const uint8_t *f, size_t len)
{
	size_t off = 14;
	uint16_t type;

	if (len < 14)
		return false;
	type = get16(f + 12);
	while (type == ETH_P_VLAN || type == ETH_P_QINQ) {
		if (len < off + 4)
			return false;
		type = get16(f + off + 2);
		off += 4;
	}
	const uint8_t *ip = f + off;
	uint32_t sum;
	size_t ulen;

	if (type == ETH_P_IPV4) {
		size_t l3 = (size_t)(ip[0] & 15) * 4;

		if (len < off + l3 + 8 ||
		    pkt_csum_fold(pkt_csum_partial(ip, l3, 0)) != 0xffff)
			return false;
		ulen = get16(ip + l3 + 4);
		if (len < off + l3 + ulen)
			return false;
		sum = pkt_csum_partial(ip + 12, 8, 0) + IPPROTO_UDP_ +
		      (uint32_t)ulen;
		if (get16(ip + l3 + 6) == 0)
			return true;	/* no UDP checksum (IPv4 only) */
		return pkt_csum_fold(pkt_csum_partial(ip + l3, ulen, sum)) ==
		       0xffff;
	}
	if (type != ETH_P_IPV6 || len < off + 48)
		return false;
	ulen = get16(ip + 44);
	if (len < off + 40 + ulen || get16(ip + 46) == 0)
		return false;
	sum = pkt_csum_partial(ip + 8, 32, 0) + IPPROTO_UDP_ + (uint32_t)ulen;
	return pkt_csum_fold(pkt_csum_partial(ip + 40, ulen, sum)) == 0xffff;
}

int pkt_service_add(struct pkt_service *svc, const char *addr)
{
	if (strchr(addr, ':')) {
		if (svc->n6 >= PKT_MAX_SERVICE ||
		    inet_pton(AF_INET6, addr, svc->v6[svc->n6]) != 1)
			return -1;
		svc->n6++;
		return 0;
	}
	if (svc->n4 >= PKT_MAX_SERVICE ||
	    inet_pton(AF_INET, addr, svc->v4[svc->n4]) != 1)
		return -1;
	svc->n4++;
	return 0;
}
