/* The answer engine: validated zone images, the table of zones a node
 * serves, and answer(), which turns one query into one response. Pure C,
 * no DPDK, no allocation and no locks on the answer path. */
#ifndef DITTO_ENGINE_H
#define DITTO_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ditto/hash.h"
#include "ditto/image.h"
#include "ditto/wire.h"

/* A loaded image: the bytes (validated once) and its sections resolved. */
struct ditto_image {
	const uint8_t *base;
	size_t size;
	const struct ditto_image_hdr *hdr;
	const struct ditto_node *nodes;
	const struct ditto_slot *index;
	const uint8_t *names;
	const struct ditto_rrset *rrsets;
	const uint8_t *blocks;
	const struct ditto_denial *denial;	/* signed zones, else NULL */
	const struct ditto_nsec3_hdr *nsec3;	/* NSEC3 zones, else NULL */
	const struct ditto_nsec3_entry *nsec3_entries;
	const uint32_t *nsec3_buckets;
	struct ditto_index_key ikey;	/* the index's key, from hdr->seed */
	void (*release)(void *mem, size_t size);	/* frees base, or NULL */
	/* The zone expired (no primary confirmed it in time): its names
	 * get SERVFAIL. Set by the dataplane's control thread while
	 * workers answer, so read and written with relaxed atomics. */
	bool expired;
};

/* Validate an image held in mem (8-byte aligned; 64 for best speed) and
 * return a handle on it. Every offset, length and count is checked here
 * so the answer path can trust it. On failure returns a negative
 * ditto_error, writes a sentence to err, and mem stays the caller's. On
 * success the image owns mem and frees it with release (may be NULL). */
int ditto_image_open(const uint8_t *mem, size_t size,
		     void (*release)(void *mem, size_t size),
		     struct ditto_image **out, char *err, size_t errlen);

/* Read a file into memory and ditto_image_open() it. */
int ditto_image_load_file(const char *path, struct ditto_image **out,
			  char *err, size_t errlen);

void ditto_image_free(struct ditto_image *img);

/* Find the node of an exact lowercase wire name, or DITTO_NONE. */
uint32_t ditto_image_find(const struct ditto_image *img, const uint8_t *name,
			  size_t len);

/* Whether node id is name (lowercase wire, at or below the apex): both
 * end in the apex, so only what is above it is compared, from the bytes
 * kept in the node while they last (no load from the names section). */
static inline bool ditto_node_is(const struct ditto_image *img, uint32_t id,
				 const uint8_t *name, size_t len)
{
	const struct ditto_node *n = &img->nodes[id];
	size_t rel = len - img->hdr->apex_len;

	if (n->name_len != len)
		return false;
	if (rel <= DITTO_NODE_REL)
		return dns_bytes_eq(n->rel, name, rel);
	return dns_bytes_eq(n->rel, name, DITTO_NODE_REL) &&
	       dns_bytes_eq(img->names + n->name + DITTO_NODE_REL,
			    name + DITTO_NODE_REL, rel - DITTO_NODE_REL);
}

/* The same for a name known to be at or below the apex, with its hash
 * (ditto_index_hash with the image's ikey): the answer path's probe.
 * Inline, as the RRset lookup below: both are on every answer's path. */
static inline uint32_t ditto_image_find_hashed(const struct ditto_image *img,
					       const uint8_t *name, size_t len,
					       uint64_t h)
{
	uint32_t mask = img->hdr->index_mask, tag = (uint32_t)(h >> 32);

	for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
		const struct ditto_slot *s = &img->index[i];
		if (s->node == DITTO_NONE)
			return DITTO_NONE;
		if (s->hash == tag && ditto_node_is(img, s->node, name, len))
			return s->node;
	}
}

/* The RRset of type at node, or NULL. */
static inline const struct ditto_rrset *
ditto_node_rrset(const struct ditto_image *img, const struct ditto_node *node,
		 uint16_t type)
{
	const struct ditto_rrset *rs = img->rrsets + node->rrsets;

	for (unsigned i = 0; i < node->rrset_count; i++)
		if (rs[i].type == type)
			return &rs[i];
	return NULL;
}

/* The immutable set of zones a node serves, keyed by apex. A change makes
 * a new table (RCU publication swaps one pointer). Tables do not own their
 * images: the caller frees an image once no table holding it is read. */
struct ditto_zone_table;

struct ditto_zone_table *ditto_zone_table_new(void);
/* A copy of t with img added, replacing any zone of the same apex (the
 * replaced image is returned in *old when old is not NULL). */
struct ditto_zone_table *ditto_zone_table_with(const struct ditto_zone_table *t,
					       struct ditto_image *img,
					       struct ditto_image **old);
/* A copy of t without the zone at apex (wire, lowercase); *old is the
 * image removed, NULL when there was none (the copy is then unchanged).
 * NULL only when out of memory. */
struct ditto_zone_table *
ditto_zone_table_without(const struct ditto_zone_table *t, const uint8_t *apex,
			 size_t apex_len, struct ditto_image **old);
void ditto_zone_table_free(struct ditto_zone_table *t);
size_t ditto_zone_table_count(const struct ditto_zone_table *t);
struct ditto_image *ditto_zone_table_at(const struct ditto_zone_table *t,
					size_t i);
/* The zone with the longest apex that is name or a suffix of it. */
const struct ditto_image *ditto_zone_table_match(const struct ditto_zone_table *t,
						 const uint8_t *name,
						 size_t len);

/* DNS cookies (RFC 7873) with interoperable server cookies (RFC 9018):
 * SipHash-2-4 keyed with the node's secret (the 16 bytes read as two
 * little-endian words), the previous secret still accepted after a
 * rotation, so every node of an anycast service shares them. */
struct ditto_cookie_cfg {
	uint64_t secret[2];
	uint64_t previous[2];
	bool have_previous;
};

/* Who asked and when, for cookies: the client's address (4 or 16 bytes)
 * and the time in seconds since the epoch. */
struct ditto_client {
	const uint8_t *addr;
	uint8_t addr_len;
	uint32_t now;
};

#define DITTO_R_BADCOOKIE 23

/* Per-node answering options. */
struct ditto_answer_cfg {
	uint16_t edns_max;	/* largest UDP payload we answer, 512..65535
				 * (DITTO_EDNS_DEFAULT) */
	uint8_t identity_len;	/* CHAOS id.server / hostname.bind, 0 = off */
	uint8_t nsid_len;	/* NSID (RFC 5001), 0 = off */
	const uint8_t *identity;
	const uint8_t *nsid;
	const struct ditto_cookie_cfg *cookies;	/* NULL: no cookies */
};

enum ditto_answer_flags {
	DITTO_ANSWER_TCP = 1u << 0,	/* stream transport: 64 KiB limit */
};

/* What answer() did, for statistics. */
struct ditto_answer_info {
	uint16_t qtype;
	uint8_t rcode;		/* full rcode, extended bits included */
	uint8_t flags;		/* DITTO_INFO_* */
};
enum {
	DITTO_INFO_DROPPED = 1u << 0,	/* nothing to send */
	DITTO_INFO_TC = 1u << 1,
	DITTO_INFO_EDNS = 1u << 2,
	DITTO_INFO_DO = 1u << 3,
	DITTO_INFO_REFERRAL = 1u << 4,
	DITTO_INFO_WILDCARD = 1u << 5,
	DITTO_INFO_COOKIE = 1u << 6,	/* the query had a client cookie */
	DITTO_INFO_COOKIE_OK = 1u << 7,	/* ... and a valid server cookie */
};

/* Answer the query in q[0..qlen) into resp (capacity cap). resp may be q
 * itself: the query is fully parsed before the response is written.
 * Returns the response length, or 0 when the query must be dropped. */
size_t ditto_answer(const struct ditto_zone_table *zones,
		    const struct ditto_answer_cfg *cfg, const uint8_t *q,
		    size_t qlen, uint8_t *resp, size_t cap, unsigned flags,
		    struct ditto_answer_info *info);
/* The same for a known client: with cfg->cookies, a query's client
 * cookie gets a server cookie back and its server cookie is checked
 * (DITTO_INFO_COOKIE_OK when valid); a malformed COOKIE is FORMERR. */
size_t ditto_answer_client(const struct ditto_zone_table *zones,
			   const struct ditto_answer_cfg *cfg,
			   const struct ditto_client *client, const uint8_t *q,
			   size_t qlen, uint8_t *resp, size_t cap,
			   unsigned flags, struct ditto_answer_info *info);
/* An answer made BADCOOKIE (RFC 7873 5.2.3) in place: its header (rcode
 * BADCOOKIE), question and OPT with the fresh server cookie it carries,
 * nothing else; what a rate-limited client that sent a cookie is told,
 * so that it asks again with it. The new length, or 0 when the answer has
 * no OPT with a COOKIE last (it is then unchanged). */
size_t ditto_answer_to_badcookie(uint8_t *resp, size_t len);
/* A server cookie (RFC 9018: version 1, reserved, timestamp, hash) for
 * the 8-byte client cookie cc, into out[16]. */
void ditto_server_cookie(const uint64_t secret[2], const uint8_t cc[8],
			 const struct ditto_client *client, uint32_t ts,
			 uint8_t out[16]);

/* One query of a burst: in, the query and a response buffer (which may
 * be the query's own); out, the response length (0: drop) and info. */
struct ditto_query {
	const uint8_t *q;
	uint8_t *resp;
	uint16_t qlen;
	uint16_t cap;
	uint16_t resp_len;
	const struct ditto_client *client;	/* NULL: no cookies */
	struct ditto_answer_info info;
};

#define DITTO_BURST_MAX 32

/* Answer n queries as ditto_answer() would, interleaved so that the
 * memory loads of one overlap the work on the others. */
void ditto_answer_burst(const struct ditto_zone_table *zones,
			const struct ditto_answer_cfg *cfg,
			struct ditto_query *qs, unsigned n, unsigned flags);

/* A message whose question is the node's name and whose answer is one
 * RRset as the image holds it (for dumps and tests); 0 if it won't fit. */
size_t ditto_image_render_rrset(const struct ditto_image *img,
				const struct ditto_node *node,
				const struct ditto_rrset *rrset, bool dnssec_ok,
				uint8_t *buf, size_t cap);

/* The same for a denial block (an NSEC or NSEC3 with its RRSIGs), under
 * a question for the apex. */
size_t ditto_image_render_denial(const struct ditto_image *img, uint32_t block,
				 uint8_t *buf, size_t cap);

#define DITTO_EDNS_DEFAULT 1232

#endif
