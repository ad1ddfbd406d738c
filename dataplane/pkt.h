/* The packet path's parsing and rewriting, on plain bytes (no DPDK), so the
 * unit tests and the fuzzer run it directly.
 *
 * pkt_classify() decides what a received frame is: a DNS query for the fast
 * path (UDP to a service address and port, over Ethernet, up to two 802.1Q
 * tags, IPv4 with or without options, IPv6 without extension headers), a
 * frame for the kernel (everything else the node may need: ARP, ND, ICMP,
 * fragments, TCP, other UDP, IPv6 extension headers), or garbage to drop.
 * pkt_reply() turns the query frame, whose DNS payload has been overwritten
 * by the answer, into the reply frame in place.
 */
#ifndef DITTO_DP_PKT_H
#define DITTO_DP_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKT_MAX_SERVICE 16

enum pkt_verdict {
	PKT_DNS,		/* a query for the fast path */
	PKT_KERNEL,		/* to the exception path */
	PKT_DROP_MALFORMED,	/* truncated or inconsistent headers */
	PKT_DROP_NOT_OURS,	/* unicast to another MAC address */
	PKT_DROP_BAD_SOURCE,	/* source port 0, broadcast or multicast source */
};

struct pkt_service {
	uint8_t mac[6];
	uint16_t port;		/* host order */
	unsigned n4, n6;
	uint8_t v4[PKT_MAX_SERVICE][4];
	uint8_t v6[PKT_MAX_SERVICE][16];
};

struct pkt_info {
	uint16_t l2_len;	/* Ethernet header and VLAN tags */
	uint16_t l3_len;	/* IPv4 header with options, or 40 */
	uint16_t dns_off;	/* l2_len + l3_len + 8 */
	uint16_t dns_len;	/* from the UDP length */
	bool ipv6;
};

enum pkt_verdict pkt_classify(const uint8_t *frame, size_t len,
			      const struct pkt_service *svc,
			      struct pkt_info *pi);

/* Rewrite a classified query frame whose DNS message (at pi->dns_off) has
 * been replaced by a response of dns_len bytes: swap MAC addresses, IP
 * addresses and ports, set lengths, TTL/hop limit 64, drop IPv4 options
 * (the headers in front move forward; the reply starts at frame + the
 * returned offset), and fill the checksums. With csum_offload the IPv4
 * header checksum is left 0 and the UDP checksum holds the pseudo-header sum,
 * as NICs with TX checksum offload expect. Returns the offset of the reply's
 * first byte; its length is pi->l2_len + (20 or 40) + 8 + dns_len. */
size_t pkt_reply(uint8_t *frame, const struct pkt_info *pi, size_t dns_len,
		 bool csum_offload);

/* The length of the reply pkt_reply() makes. */
static inline size_t pkt_reply_len(const struct pkt_info *pi, size_t dns_len)
{
	return (size_t)pi->l2_len + (pi->ipv6 ? 40u : 20u) + 8u + dns_len;
}

/* One's complement sum of len bytes (RFC 1071), not folded, not inverted. */
uint32_t pkt_csum_partial(const uint8_t *p, size_t len, uint32_t sum);
uint16_t pkt_csum_fold(uint32_t sum);

/* Verify the checksums of an IPv4 or IPv6 UDP frame as pkt_reply() made it
 * (for tests): true when the IPv4 header and UDP checksums are right. */
bool pkt_verify(const uint8_t *frame, size_t len);

/* Parse "192.0.2.1" or "2001:db8::1" into svc; -1 if neither. */
int pkt_service_add(struct pkt_service *svc, const char *addr);

#endif
