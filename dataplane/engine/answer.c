/* answer(): one query in, one response out, from the zone table alone.
 * RFC 1034 4.3.2 with RFC 2181, 2308, 4592, 6672, 6891, 8482 and 5001.
 * No allocation, no locks, no system calls. */
#include <stddef.h>
#include <endian.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ditto/dnssec.h"
#include "ditto/hash.h"
#include "ditto/image.h"
#include "ditto/wire.h"
#include "engine.h"
#include "zonetable.h"

#define CHAIN_MAX 8		/* CNAME/DNAME steps followed in one answer */
#define EXTRA_MAX 8		/* additional-section blocks pending */
#define PROOF_MAX 8		/* denial blocks pending (DNSSEC) */
#define RESP_MAX DITTO_MAX_PTR	/* compression pointers reach 16 KiB */

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* The name being answered (the query name, or a chain's next name) and
 * where each of its suffixes stands in the packet. */
struct ctx {
	uint8_t name[DITTO_MAX_NAME + 1];	/* lowercase wire */
	uint8_t len;
	uint8_t labels;
	uint8_t loff[DITTO_MAX_LABELS + 1];	/* label i starts at loff[i] */
	uint16_t pos[DITTO_MAX_LABELS + 1];	/* and at pos[i] in the packet */
	uint32_t hint;		/* node the image says this name is, or NONE */
	const struct ditto_rrset *hint_rs; /* the hint's RRset of the query
				 * type when the burst found it, or NULL */
	bool probed;		/* hint is what the burst's index probe found:
				 * the first slot with the name's tag, or none
				 * before an empty slot (NONE: no such node) */
};

/* A name's index probe made by the burst: its hash, and the node of the
 * first slot with its tag, NONE when an empty slot came first. */
struct probe {
	uint64_t hash;
	uint32_t node;
};

/* Where the suffix of d labels of c's name is in the packet. */
static inline uint16_t suffix_at(const struct ctx *c, unsigned d)
{
	return c->pos[c->labels - d];
}

struct query {
	uint16_t flags;
	uint16_t qtype, qclass;
	uint16_t qend;		/* end of the question */
	uint16_t udp_size;
	uint8_t edns_version;
	bool question;		/* one question, parsed */
	bool edns, dnssec_ok, nsid;
	const uint8_t *cookie;	/* the COOKIE option's data, or NULL */
	uint8_t cookie_len;	/* 8 (client only) or 16..40 */
};

struct pending {
	const struct ditto_block *b;
	const struct ctx *ctx;
	uint16_t owner, ref;
	bool required;		/* glue of a referral: TC when cut short */
};

struct resp {
	uint8_t *buf;
	size_t len, limit;
	uint16_t an, ns, ar;
	uint16_t rcode;		/* 12 bits: extended rcode included */
	bool aa, tc;
	bool tc_kept;		/* TC set, the partial message kept */
	struct pending extra[EXTRA_MAX];
	unsigned nextra;
	uint32_t proof[PROOF_MAX];	/* denial blocks for the authority */
	unsigned nproof;
	/* The NSEC3 covering the query name's (nc_ctx's) next closer name
	 * of nc_labels labels, found by the burst (nc_labels 0: none). */
	const struct ctx *nc_ctx;
	uint32_t nc_block;
	uint8_t nc_labels;
};

/* ---- parsing ---------------------------------------------------------- */

/* Lowercase 8 or 16 bytes: length octets (at most 63) are below 'A', so a
 * whole wire name can go through. */
static inline uint64_t lower8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ULL;
	uint64_t low = x & (0x7f * ones);
	uint64_t above_a = low + (0x80 - 'A') * ones;	/* top bit: >= 'A' */
	uint64_t above_z = low + (0x80 - 'Z' - 1) * ones;	/* top bit: > 'Z' */

	return x | (above_a & ~above_z & ~x & (0x80 * ones)) >> 2;
}

static inline void lower16(uint8_t *dst, const uint8_t *src)
{
	uint64_t x[2];

	memcpy(x, src, 16);
	x[0] = lower8(x[0]);
	x[1] = lower8(x[1]);
	memcpy(dst, x, 16);
}

/* Lowercase n bytes from src to dst (apart), in whole words: the last
 * word overlaps the one before it rather than a byte loop ending it. */
static inline void lower_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
	uint64_t x;

	if (likely(n >= 16)) {
		for (size_t i = 0; i + 16 < n; i += 16)
			lower16(dst + i, src + i);
		lower16(dst + n - 16, src + n - 16);
	} else if (n >= 8) {
		memcpy(&x, src, 8);
		x = lower8(x);
		memcpy(dst, &x, 8);
		memcpy(&x, src + n - 8, 8);
		x = lower8(x);
		memcpy(dst + n - 8, &x, 8);
	} else if (n >= 4) {
		uint32_t h, t;
		memcpy(&h, src, 4);
		memcpy(&t, src + n - 4, 4);
		h = (uint32_t)lower8(h);
		t = (uint32_t)lower8(t);
		memcpy(dst, &h, 4);
		memcpy(dst + n - 4, &t, 4);
	} else {
		for (size_t i = 0; i < n; i++)
			dst[i] = dns_lower(src[i]);
	}
}

/* The query name at 12: labels, lowercase copy and positions. */
static bool parse_qname(const uint8_t *q, size_t qlen, struct ctx *c)
{
	const uint8_t *s = q + DNS_HDR_LEN;
	size_t max = qlen - DNS_HDR_LEN, p = 0;	/* qlen >= 12 */
	unsigned labels = 0;

	if (max > DITTO_MAX_NAME)
		max = DITTO_MAX_NAME;	/* the root label must start below */
	for (;;) {
		if (unlikely(p >= max))
			return false;
		unsigned l = s[p];
		c->loff[labels] = (uint8_t)p;
		c->pos[labels] = (uint16_t)(DNS_HDR_LEN + p);
		if (unlikely(l - 1u >= 63u)) {
			if (l == 0)
				break;
			return false;	/* over 63, a pointer, a label type */
		}
		labels++;
		p += 1u + l;
	}
	/* p is the root label's offset: the name is p + 1 <= 255 bytes. */
	lower_copy(c->name, s, p + 1);
	c->len = (uint8_t)(p + 1);
	c->labels = (uint8_t)labels;
	return true;
}

static bool parse_opt(const uint8_t *o, size_t rdlen, struct query *qr)
{
	for (size_t p = 0; p < rdlen;) {
		if (rdlen - p < 4)
			return false;
		uint16_t code = dns_get16(o + p), len = dns_get16(o + p + 2);
		p += 4;
		if (len > rdlen - p)
			return false;
		if (code == DNS_EDNS_NSID)
			qr->nsid = true;
		if (code == DNS_EDNS_COOKIE && !qr->cookie) {
			/* RFC 7873 5.2.2: anything else is FORMERR. */
			if (len != 8 && (len < 16 || len > 40))
				return false;
			qr->cookie = o + p;
			qr->cookie_len = (uint8_t)len;
		}
		p += len;
	}
	return true;
}

/* Sections after the question: only the OPT record matters to us. */
static __attribute__((noinline)) bool
parse_records_any(const uint8_t *q, size_t qlen, struct query *qr)
{
	size_t p = qr->qend;
	unsigned an = dns_get16(q + 6), ns = dns_get16(q + 8),
		 ar = dns_get16(q + 10);

	for (unsigned i = 0; i < an + ns + ar; i++) {
		if (!dns_skip_name(q, qlen, &p) || qlen - p < 10)
			return false;
		uint16_t type = dns_get16(q + p);
		size_t rdlen = dns_get16(q + p + 8);
		if (rdlen > qlen - p - 10)
			return false;
		if (type == DNS_T_OPT) {
			/* One OPT, in the additional section. */
			if (i < an + ns || qr->edns)
				return false;
			qr->edns = true;
			qr->udp_size = dns_get16(q + p + 2);
			qr->edns_version = q[p + 5];
			qr->dnssec_ok = dns_get16(q + p + 6) & DNS_EDNS_DO;
			if (!parse_opt(q + p + 10, rdlen, qr))
				return false;
		}
		p += 10 + rdlen;
	}
	return p == qlen;	/* nothing after the records */
}

/* The same, most queries' shape first and inline: no answer or authority
 * records and one additional, an OPT owned by the root that ends the
 * message (the checks of parse_records_any, in fewer steps). */
static inline bool parse_records(const uint8_t *q, size_t qlen,
				 struct query *qr)
{
	size_t p = qr->qend;

	if (likely(dns_get32(q + 6) == 0 && dns_get16(q + 10) == 1 &&
		   qlen - p >= 11 && q[p] == 0 &&
		   dns_get16(q + p + 1) == DNS_T_OPT)) {
		size_t rdlen = dns_get16(q + p + 9);
		if (rdlen != qlen - p - 11)
			return false;	/* overruns, or bytes after it */
		qr->edns = true;
		qr->udp_size = dns_get16(q + p + 3);
		qr->edns_version = q[p + 6];
		qr->dnssec_ok = dns_get16(q + p + 7) & DNS_EDNS_DO;
		return rdlen == 0 || parse_opt(q + p + 11, rdlen, qr);
	}
	return parse_records_any(q, qlen, qr);
}

/* ---- rendering -------------------------------------------------------- */

static inline void put_ptr(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(0xc0 | v >> 8);
	p[1] = (uint8_t)v;
}

/* Copy the first len bytes of a block to the end of the response and
 * complete the pointers among them. */
static void copy_block(struct resp *r, const struct ditto_block *b, size_t len,
		       uint16_t owner, const struct ctx *c, uint16_t ref)
{
	uint8_t *o = r->buf + r->len;
	const struct ditto_fixup *f = ditto_block_fixups(b);
	unsigned self = (unsigned)r->len;

	memcpy(o, ditto_block_data(b), len);
	for (unsigned i = 0; i < b->fixup_count && f[i].pos < len; i++) {
		unsigned v = DITTO_FIX_VALUE(f[i].code);
		switch (DITTO_FIX_KIND(f[i].code)) {
		case DITTO_FIX_OWNER: v = owner; break;
		case DITTO_FIX_DEPTH: v = suffix_at(c, v); break;
		case DITTO_FIX_SELF: v += self; break;
		default: v += ref; break;
		}
		put_ptr(o + f[i].pos, v);
	}
	r->len += len;
}

/* Copy a whole block into the response; false when it does not fit.
 * placed: its pointer slots hold their values already. */
static bool put_block(struct resp *r, const struct ditto_block *b,
		      uint16_t owner, const struct ctx *c, uint16_t ref,
		      uint16_t *at, bool placed)
{
	if (unlikely(r->len + b->len > r->limit))
		return false;
	if (at)
		*at = (uint16_t)r->len;
	if (placed) {
		memcpy(r->buf + r->len, ditto_block_data(b), b->len);
		r->len += b->len;
	} else {
		copy_block(r, b, b->len, owner, c, ref);
	}
	return true;
}

static const struct ditto_block *block_at(const struct ditto_image *z,
					  uint32_t off)
{
	return (const struct ditto_block *)(const void *)(z->blocks + off);
}

/* As many whole RRs of a block as fit (the additional section may be cut
 * short); returns how many. */
static unsigned put_block_rrs(struct resp *r, const struct ditto_block *b,
			      uint16_t owner, const struct ctx *c, uint16_t ref)
{
	if (likely(put_block(r, b, owner, c, ref, NULL, false)))
		return b->rr_count;
	const uint8_t *d = ditto_block_data(b);
	size_t room = r->limit - r->len, end = 0;
	unsigned n = 0;
	/* RRs are framed: a 2-byte owner slot, 10 bytes, rdata. */
	while (n < b->rr_count) {
		size_t next = end + 12 + dns_get16(d + end + 10);
		if (next > room)
			break;
		end = next;
		n++;
	}
	copy_block(r, b, end, owner, c, ref);
	return n;
}

/* Add an RRset to the answer or authority section; queue its additional
 * block. False when it does not fit. Always inline in put_rrset() and in
 * the answer of a hit the burst found (a call there, with its saved
 * registers, was about a fifth of that answer's instructions). */
static inline __attribute__((always_inline)) bool
put_rrset_inline(struct resp *r, const struct ditto_image *z,
		 const struct ditto_rrset *rs, const struct ctx *c,
		 uint16_t owner, bool dnssec_ok, uint16_t *count, uint16_t *at)
{
	const struct ditto_block *b = block_at(z, dnssec_ok ? rs->block_do
							    : rs->block);
	uint16_t pos;
	/* The owner is the query name (so the node's own, as the wildcard's
	 * RRsets are never placed) and the block follows the question. */
	bool placed = (rs->flags & DITTO_RRSET_PLACED) &&
		      owner == DNS_HDR_LEN &&
		      r->len == DNS_HDR_LEN + 4u + c->len;

	if (!put_block(r, b, owner, c, 0, &pos, placed))
		return false;
	*count = (uint16_t)(*count + b->rr_count);
	uint32_t x = dnssec_ok ? rs->extra_do : rs->extra;
	if (x != DITTO_NONE && r->nextra < EXTRA_MAX)
		r->extra[r->nextra++] = (struct pending){ block_at(z, x), c,
							  owner, pos, false };
	if (at)
		*at = pos;
	return true;
}

static bool put_rrset(struct resp *r, const struct ditto_image *z,
		      const struct ditto_rrset *rs, const struct ctx *c,
		      uint16_t owner, bool dnssec_ok, uint16_t *count,
		      uint16_t *at)
{
	return put_rrset_inline(r, z, rs, c, owner, dnssec_ok, count, at);
}

static bool put_negative(struct resp *r, const struct ditto_image *z,
			 const struct ctx *c, bool dnssec_ok)
{
	const struct ditto_block *b = block_at(z, dnssec_ok
					       ? z->hdr->soa_negative_do
					       : z->hdr->soa_negative);
	unsigned apex = z->hdr->apex_labels;

	if (!put_block(r, b, suffix_at(c, apex), c, 0, NULL, false))
		return false;
	r->ns = (uint16_t)(r->ns + b->rr_count);
	return true;
}

/* Read the name at pos in the response (it may be compressed) into a new
 * context. Pointers must lead backwards, so the walk ends. The labels
 * between two pointers lie together: each such run is copied at once. */
static bool ctx_from_packet(struct ctx *c, const uint8_t *pkt, size_t len,
			    size_t pos)
{
	size_t n = 0, run = 0, from = pos;	/* the run: from, to name + run */
	unsigned labels = 0;

	for (;;) {
		if (pos >= len)
			return false;
		uint8_t l = pkt[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= len)
				return false;
			size_t np = (size_t)(l & 0x3f) << 8 | pkt[pos + 1];
			if (np >= pos)
				return false;
			lower_copy(c->name + run, pkt + from, n - run);
			pos = from = np;
			run = n;
			continue;
		}
		if (l > 63)
			return false;
		if (l == 0)
			break;
		if (n + l + 2 > DITTO_MAX_NAME || pos + 1 + l > len)
			return false;
		c->loff[labels] = (uint8_t)n;
		c->pos[labels++] = (uint16_t)pos;
		n += 1u + l;
		pos += 1u + l;
	}
	c->loff[labels] = (uint8_t)n;	/* the root label */
	c->pos[labels] = (uint16_t)pos;
	lower_copy(c->name + run, pkt + from, ++n - run);
	c->len = (uint8_t)n;
	c->labels = (uint8_t)labels;
	c->hint = DITTO_NONE;
	c->hint_rs = NULL;
	c->probed = false;
	return true;
}

/* ---- denial of existence (RFC 4035 3.1.3, RFC 5155 7.2) --------------- */

/* Proofs are collected while the chain is followed and written at its
 * end, after every answer RR: the authority section comes after them. */
static inline void proof(struct resp *r, uint32_t off)
{
	if (off == DITTO_NONE)
		return;
	for (unsigned i = 0; i < r->nproof; i++)
		if (r->proof[i] == off)
			return;
	if (r->nproof < PROOF_MAX)
		r->proof[r->nproof++] = off;
}

static inline bool proofs_wanted(const struct ditto_image *z,
				 const struct query *qr)
{
	return unlikely(qr->dnssec_ok) && z->denial;
}

/* NSEC: the one at or before the name of c, which is no node, in the
 * subtree of its closest encloser ce. */
static uint32_t nsec_cover(const struct ditto_image *z, const struct ctx *c,
			   uint32_t ce)
{
	uint32_t lo = ce, hi = z->denial[ce].last;
	uint8_t key[8];

	/* Sort-key prefixes decide most steps from DENIAL alone, which the
	 * search's first steps keep in the cache; equal ones compare names. */
	ditto_canon_prefix(c->name, z->hdr->apex_labels, key);
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo + 1) / 2;
		int k = memcmp(z->denial[mid].key, key, 8);
		if (k == 0)
			k = dns_name_cmp(z->names + z->nodes[mid].name, c->name);
		if (k < 0)
			lo = mid;
		else
			hi = mid - 1;
	}
	return z->denial[lo].nodata;
}

/* NSEC3: the one covering (or matching) the hash of c's suffix of
 * labels labels. */
static void nsec3_hash_of(const struct ditto_image *z, const struct ctx *c,
			  unsigned labels, uint8_t hash[DITTO_SHA1_LEN])
{
	const struct ditto_nsec3_hdr *h = z->nsec3;
	size_t off = c->loff[c->labels - labels];

	ditto_nsec3_hash(c->name + off, c->len - off, h->salt, h->salt_len,
			 h->iterations, hash);
}

/* The block of the NSEC3 covering (or matching) hash. */
static uint32_t nsec3_find(const struct ditto_image *z, const uint8_t *hash)
{
	const struct ditto_nsec3_hdr *h = z->nsec3;
	const struct ditto_nsec3_entry *e = z->nsec3_entries;
	uint32_t k = ditto_nsec3_bucket(hash, h->bucket_bits);
	uint32_t lo = z->nsec3_buckets[k], hi = z->nsec3_buckets[k + 1];

	while (lo < hi) {	/* the first entry above the hash */
		uint32_t mid = lo + (hi - lo) / 2;
		if (memcmp(e[mid].hash, hash, DITTO_NSEC3_HASH) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return e[lo ? lo - 1 : h->count - 1].block;	/* the chain wraps */
}

static uint32_t nsec3_cover(const struct ditto_image *z, const struct ctx *c,
			    unsigned labels)
{
	uint8_t hash[DITTO_SHA1_LEN];

	nsec3_hash_of(z, c, labels, hash);
	return nsec3_find(z, hash);
}

/* That the name of c, below its closest encloser ce, does not exist: the
 * NSEC covering it, or the NSEC3 covering its next closer name. */
static void proof_no_name(struct resp *r, const struct ditto_image *z,
			  const struct ctx *c, uint32_t ce)
{
	unsigned labels = z->nodes[ce].labels + 1u;

	if (!z->nsec3)
		proof(r, nsec_cover(z, c, ce));
	else if (r->nc_ctx == c && r->nc_labels == labels)
		proof(r, r->nc_block);	/* the burst found it */
	else
		proof(r, nsec3_cover(z, c, labels));
}

/* NXDOMAIN below ce: the name and the wildcard at ce do not exist (with
 * NSEC3, from ce's NSEC3, or past an opt-out span from the closest
 * provable encloser's). */
static void proof_nxdomain(struct resp *r, const struct ditto_image *z,
			   const struct ctx *c, uint32_t ce)
{
	const struct ditto_denial *d = &z->denial[ce];

	if (z->nsec3 && d->encloser != DITTO_NONE) {
		proof(r, d->nodata);
		proof(r, d->nodata2);
		proof(r, z->denial[d->encloser].wild);
		return;
	}
	if (z->nsec3)
		proof(r, d->nodata);
	proof_no_name(r, z, c, ce);
	proof(r, d->wild);
}

/* NODATA at node n (reached through the wildcard of ce, or ce NONE). */
static void proof_nodata(struct resp *r, const struct ditto_image *z,
			 const struct ditto_node *n, const struct ctx *c,
			 uint32_t ce)
{
	const struct ditto_denial *d = &z->denial[n->denial];

	proof(r, d->nodata);
	proof(r, d->nodata2);
	if (ce == DITTO_NONE)
		return;
	if (z->nsec3)
		proof(r, z->denial[ce].nodata);	/* the closest encloser */
	proof_no_name(r, z, c, ce);
}

static bool put_proofs(struct resp *r, const struct ditto_image *z,
		       const struct ctx *c)
{
	/* The blocks are scattered over the image: start every miss first
	 * (a block's lines after its header, once that has arrived). */
	for (unsigned i = 0; i < r->nproof; i++)
		__builtin_prefetch(z->blocks + r->proof[i]);
	for (unsigned i = 0; i < r->nproof; i++) {
		const struct ditto_block *b = block_at(z, r->proof[i]);
		size_t size = ditto_block_size(b);
		for (size_t o = 64; o < size; o += 64)
			__builtin_prefetch((const uint8_t *)b + o);
	}
	for (unsigned i = 0; i < r->nproof; i++) {
		const struct ditto_block *b = block_at(z, r->proof[i]);
		if (!put_block(r, b, 0, c, 0, NULL, false))
			return false;
		r->ns = (uint16_t)(r->ns + b->rr_count);
	}
	return true;
}

/* ---- the lookup ------------------------------------------------------- */

enum step { STEP_DONE, STEP_NEXT, STEP_TRUNC };

/* The delegation or DNAME node that governs the name of node id itself,
 * or NONE: the node's cut, except that a DS at a delegation is the
 * parent's data (RFC 4035 3.1.4.1). Below a node that is not the name,
 * ditto_cut_inherited() gives it (its own DNAME counts there too). The
 * burst and lookup() both decide by these two. */
static inline uint32_t name_cut(const struct ditto_node *n, uint32_t id,
				uint16_t qtype)
{
	return n->cut == id && qtype == DNS_T_DS ? DITTO_NONE : n->cut;
}

/* The delegation at cut (RFC 1034 4.3.2 3b). After a CNAME the answer
 * stays authoritative; alone it is not. */
static enum step referral(struct resp *r, const struct ditto_image *z,
			  const struct ditto_node *cut, const struct ctx *c,
			  bool dnssec_ok, unsigned step)
{
	const struct ditto_rrset *ns = ditto_node_rrset(z, cut, DNS_T_NS);
	uint16_t owner = suffix_at(c, cut->labels);

	if (step == 0)
		r->aa = false;
	if (!put_rrset(r, z, ns, c, owner, false, &r->ns, NULL))
		return STEP_TRUNC;
	/* RFC 9471: glue that does not fit sets TC. */
	if (r->nextra)
		r->extra[r->nextra - 1].required = true;
	if (dnssec_ok && (z->hdr->flags & DITTO_IMAGE_SIGNED)) {
		const struct ditto_rrset *ds = ditto_node_rrset(z, cut, DNS_T_DS);
		if (ds && !put_rrset(r, z, ds, c, owner, true, &r->ns, NULL))
			return STEP_TRUNC;
		if (!ds && z->denial) {
			/* No DS: the delegation is insecure (RFC 4035
			 * 3.1.4, RFC 5155 7.2.7 with opt-out). */
			proof(r, z->denial[cut->denial].nodata);
			proof(r, z->denial[cut->denial].nodata2);
		}
	}
	return STEP_DONE;
}

/* RFC 6672: the DNAME, a CNAME synthesized from it, and the next name. */
static enum step dname(struct resp *r, const struct ditto_image *z,
		       const struct ditto_node *d, const struct ctx *c,
		       struct ctx *next, const struct query *qr)
{
	bool dnssec_ok = qr->dnssec_ok;
	const struct ditto_rrset *rs = ditto_node_rrset(z, d, DNS_T_DNAME);
	const struct ditto_block *b = block_at(z, rs->block);
	uint16_t at;

	if (!put_rrset(r, z, rs, c, suffix_at(c, d->labels), dnssec_ok, &r->an, &at))
		return STEP_TRUNC;
	size_t tpos = (size_t)at + b->target, tlen = 0;
	for (size_t p = tpos; r->buf[p]; p += 1u + r->buf[p])
		tlen += 1u + r->buf[p];
	tlen++;
	size_t prefix = c->loff[c->labels - d->labels];
	if (prefix + tlen > DITTO_MAX_NAME) {
		r->rcode = DNS_R_YXDOMAIN;
		return put_negative(r, z, c, dnssec_ok) ? STEP_DONE : STEP_TRUNC;
	}
	/* CNAME <query name> -> <prefix labels><pointer to the DNAME target> */
	size_t rdlen = prefix + 2;
	if (r->len + 12 + rdlen > r->limit)
		return STEP_TRUNC;
	uint8_t *o = r->buf + r->len;
	put_ptr(o, c->pos[0]);
	dns_put16(o + 2, DNS_T_CNAME);
	dns_put16(o + 4, DNS_CLASS_IN);
	dns_put32(o + 6, rs->ttl);
	dns_put16(o + 10, (unsigned)rdlen);
	size_t w = 12;
	for (unsigned i = 0; i + d->labels < c->labels; i++) {
		const uint8_t *lab = r->buf + c->pos[i];
		memcpy(o + w, lab, 1u + lab[0]);
		w += 1u + lab[0];
	}
	put_ptr(o + w, (unsigned)tpos);
	size_t cname_rdata = r->len + 12;
	r->len += 12 + rdlen;
	r->an++;
	/* A CNAME query is answered by the CNAME itself. */
	if (qr->qtype == DNS_T_CNAME ||
	    !ctx_from_packet(next, r->buf, r->len, cname_rdata))
		return STEP_DONE;
	return STEP_NEXT;
}

/* Answer for name node n (owner written at owner): the RRset, or a CNAME
 * to follow, or NODATA. known: the RRset of the query type at n when the
 * burst found it (not used for ANY, answered with any one RRset). */
static enum step answer_node(struct resp *r, const struct ditto_image *z,
			     const struct ditto_node *n, const struct ctx *c,
			     struct ctx *next, const struct query *qr,
			     uint32_t ce, const struct ditto_rrset *known)
{
	uint16_t owner = c->pos[0], at;
	const struct ditto_rrset *rs = NULL;

	if (qr->qtype == DNS_T_ANY) {
		/* RFC 8482: one RRset stands for all of them. */
		const struct ditto_rrset *all = z->rrsets + n->rrsets;
		for (unsigned i = 0; i < n->rrset_count && !rs; i++)
			if (all[i].type != DNS_T_RRSIG)
				rs = &all[i];
	} else {
		rs = known ? known : ditto_node_rrset(z, n, qr->qtype);
	}
	if (rs) {
		if (!put_rrset(r, z, rs, c, owner, qr->dnssec_ok, &r->an, NULL))
			return STEP_TRUNC;
		/* A wildcard's answer: the name itself does not exist. */
		if (ce != DITTO_NONE && proofs_wanted(z, qr))
			proof_no_name(r, z, c, ce);
		return STEP_DONE;
	}
	if ((n->flags & DITTO_NODE_CNAME) && qr->qtype != DNS_T_CNAME) {
		rs = ditto_node_rrset(z, n, DNS_T_CNAME);
		if (!put_rrset(r, z, rs, c, owner, qr->dnssec_ok, &r->an, &at))
			return STEP_TRUNC;
		if (ce != DITTO_NONE && proofs_wanted(z, qr))
			proof_no_name(r, z, c, ce);
		const struct ditto_block *b = block_at(z, rs->block);
		if (!ctx_from_packet(next, r->buf, r->len, (size_t)at + b->target))
			return STEP_DONE;
		next->hint = rs->target;
		return STEP_NEXT;
	}
	if (proofs_wanted(z, qr))
		proof_nodata(r, z, n, c, ce);
	return put_negative(r, z, c, qr->dnssec_ok) ? STEP_DONE : STEP_TRUNC;
}

/* One name of the chain in zone z. */
static enum step lookup(struct resp *r, const struct ditto_image *z,
			const struct ctx *c, struct ctx *next,
			const struct query *qr, unsigned step, uint64_t hash,
			const struct probe *parent, struct ditto_answer_info *info)
{
	uint32_t id;
	const struct ditto_rrset *known = NULL;

	/* The hint: a CNAME's target known to the compiler, or the node the
	 * burst's probe found for the query name (its hash tag only), with
	 * the RRset of the query type the burst found there. */
	if (c->hint != DITTO_NONE && ditto_node_is(z, c->hint, c->name, c->len)) {
		id = c->hint;
		known = c->hint_rs;
	} else if (c->probed && c->hint == DITTO_NONE)
		id = DITTO_NONE;	/* the probe met an empty slot first */
	else
		id = ditto_image_find_hashed(z, c->name, c->len, step == 0
				? hash : ditto_index_hash(&z->ikey, c->name,
							  c->len));
	const struct ditto_node *n, *cut = NULL;

	if (likely(id != DITTO_NONE)) {
		n = &z->nodes[id];
		uint32_t governs = name_cut(n, id, qr->qtype);
		if (unlikely(governs != DITTO_NONE))
			cut = &z->nodes[governs];
	} else {
		/* Closest encloser: the longest suffix that is a node. The
		 * apex always is one. */
		unsigned apex = z->hdr->apex_labels;
		uint32_t ce = 0;
		n = &z->nodes[0];
		for (unsigned d = c->labels - 1u; d > apex; d--) {
			size_t off = c->loff[c->labels - d];
			uint32_t e;
			if (parent && d == c->labels - 1u) {
				/* The burst probed for the parent already: its
				 * finding stands unless it is another name
				 * with the same tag. */
				e = parent->node;
				if (e != DITTO_NONE &&
				    !ditto_node_is(z, e, c->name + off, c->len - off))
					e = ditto_image_find_hashed(
						z, c->name + off, c->len - off,
						parent->hash);
			} else {
				e = ditto_image_find_hashed(
					z, c->name + off, c->len - off,
					ditto_index_hash(&z->ikey, c->name + off,
							 c->len - off));
			}
			if (e != DITTO_NONE) {
				n = &z->nodes[e];
				ce = e;
				break;
			}
		}
		uint32_t governs = ditto_cut_inherited(n->cut, n->flags, ce);
		if (governs != DITTO_NONE)
			cut = &z->nodes[governs];
		else if (n->wildcard != DITTO_NONE) {
			info->flags |= DITTO_INFO_WILDCARD;
			return answer_node(r, z, &z->nodes[n->wildcard], c,
					   next, qr, ce, NULL);
		} else {
			r->rcode = DNS_R_NXDOMAIN;	/* of the last name (RFC 6604) */
			if (proofs_wanted(z, qr))
				proof_nxdomain(r, z, c, ce);
			return put_negative(r, z, c, qr->dnssec_ok)
				       ? STEP_DONE : STEP_TRUNC;
		}
	}
	if (unlikely(cut != NULL)) {
		if (cut->flags & DITTO_NODE_DNAME)
			return dname(r, z, cut, c, next, qr);
		info->flags |= DITTO_INFO_REFERRAL;
		return referral(r, z, cut, c, qr->dnssec_ok, step);
	}
	return answer_node(r, z, n, c, next, qr, DITTO_NONE, known);
}

/* ---- special classes -------------------------------------------------- */

static const uint8_t id_server[] = "\2id\6server";
static const uint8_t hostname_bind[] = "\10hostname\4bind";

static void chaos(struct resp *r, const struct ctx *c, const struct query *qr,
		  const struct ditto_answer_cfg *cfg)
{
	bool named = (c->len == sizeof(id_server) &&
		      memcmp(c->name, id_server, sizeof(id_server)) == 0) ||
		     (c->len == sizeof(hostname_bind) &&
		      memcmp(c->name, hostname_bind, sizeof(hostname_bind)) == 0);

	if (!named || !cfg->identity_len || qr->qtype != DNS_T_TXT) {
		r->rcode = DNS_R_REFUSED;
		return;
	}
	size_t rdlen = 1u + cfg->identity_len;
	if (r->len + 12 + rdlen > r->limit) {
		r->tc = true;
		return;
	}
	uint8_t *o = r->buf + r->len;
	put_ptr(o, DNS_HDR_LEN);
	dns_put16(o + 2, DNS_T_TXT);
	dns_put16(o + 4, DNS_CLASS_CH);
	dns_put32(o + 6, 0);
	dns_put16(o + 10, (unsigned)rdlen);
	o[12] = cfg->identity_len;
	memcpy(o + 13, cfg->identity, cfg->identity_len);
	r->len += 12 + rdlen;
	r->an = 1;
}

/* ---- the entry point -------------------------------------------------- */

#define COOKIE_OPT 28		/* code, length, client 8, server 16 */

static size_t opt_size(const struct query *qr, const struct ditto_answer_cfg *cfg,
		       const uint8_t *cookie)
{
	if (!qr->edns)
		return 0;
	return 11 + (qr->nsid && cfg->nsid_len ? 4u + cfg->nsid_len : 0) +
	       (cookie ? COOKIE_OPT : 0);
}

void ditto_server_cookie(const uint64_t secret[2], const uint8_t cc[8],
			 const struct ditto_client *client, uint32_t ts,
			 uint8_t out[16])
{
	uint8_t m[8 + 8 + 16];
	uint64_t h;

	memcpy(m, cc, 8);
	m[8] = 1;		/* version */
	m[9] = m[10] = m[11] = 0;
	dns_put32(m + 12, ts);
	memcpy(m + 16, client->addr, client->addr_len);
	h = ditto_siphash(secret, m, 16u + client->addr_len, 2, 4);
	memcpy(out, m + 8, 8);
	for (int i = 0; i < 8; i++)
		out[8 + i] = (uint8_t)(h >> (8 * i));
}

/* Whether the query's server cookie is one of ours: RFC 9018 form, at
 * most an hour old and at most 5 minutes ahead, under either secret. */
static bool cookie_valid(const struct query *qr,
			 const struct ditto_cookie_cfg *ck,
			 const struct ditto_client *client)
{
	uint8_t want[16];
	uint32_t ts;
	int64_t age;

	if (qr->cookie_len != 24 || qr->cookie[8] != 1)
		return false;
	ts = dns_get32(qr->cookie + 12);
	age = (int64_t)client->now - ts;
	if (age > 3600 || age < -300)
		return false;
	ditto_server_cookie(ck->secret, qr->cookie, client, ts, want);
	if (memcmp(want + 8, qr->cookie + 16, 8) == 0)
		return true;
	if (!ck->have_previous)
		return false;
	ditto_server_cookie(ck->previous, qr->cookie, client, ts, want);
	return memcmp(want + 8, qr->cookie + 16, 8) == 0;
}

/* The OPT record's options: NSID, then the cookie. */
static void put_opt_options(uint8_t *o, bool nsid,
			    const struct ditto_answer_cfg *cfg,
			    const uint8_t *cookie)
{
	if (nsid) {
		dns_put16(o, DNS_EDNS_NSID);
		dns_put16(o + 2, cfg->nsid_len);
		memcpy(o + 4, cfg->nsid, cfg->nsid_len);
		o += 4 + cfg->nsid_len;
	}
	if (cookie) {
		dns_put16(o, DNS_EDNS_COOKIE);
		dns_put16(o + 2, 24);
		memcpy(o + 4, cookie, 24);
	}
}

/* Inline in respond(), every EDNS answer's; the options, rare, are not. */
static inline __attribute__((always_inline)) void
put_opt(struct resp *r, const struct query *qr,
	const struct ditto_answer_cfg *cfg, const uint8_t *cookie)
{
	uint8_t *o = r->buf + r->len;
	bool nsid = qr->nsid && cfg->nsid_len;
	size_t rdlen = (nsid ? 4u + cfg->nsid_len : 0) +
		       (cookie ? COOKIE_OPT : 0);
	unsigned do_bit = qr->dnssec_ok ? DNS_EDNS_DO >> 8 : 0;
	/* Root owner, type, payload size, extended rcode, version 0 and the
	 * flags' first byte; then the flags' second byte and RDLENGTH:
	 * two stores for the eleven bytes. */
	uint64_t head = htobe64((uint64_t)DNS_T_OPT << 40 |
				(uint64_t)(cfg->edns_max & 0xffffu) << 24 |
				(uint64_t)((r->rcode >> 4) & 0xffu) << 16 |
				do_bit);
	uint32_t tail = htobe32((uint32_t)do_bit << 24 | (uint32_t)rdlen);

	memcpy(o, &head, 8);
	memcpy(o + 7, &tail, 4);
	if (unlikely(rdlen != 0))
		put_opt_options(o + 11, nsid, cfg, cookie);
	r->len += 11 + rdlen;
	r->ar++;
}

static void put_header(struct resp *r, const uint8_t *q, const struct query *qr)
{
	unsigned f = DNS_F_QR | (qr->flags & (0x7800u | DNS_F_RD | DNS_F_CD)) |
		     (r->rcode & 0xfu) | (r->aa ? DNS_F_AA : 0) |
		     (r->tc || r->tc_kept ? DNS_F_TC : 0);
	/* The flags and three counts in one store, ARCOUNT in another. */
	uint64_t w = htobe64((uint64_t)f << 48 | (uint64_t)qr->question << 32 |
			     (uint64_t)r->an << 16 | r->ns);
	uint16_t id;

	memcpy(&id, q, 2);
	memcpy(r->buf, &id, 2);
	memcpy(r->buf + 2, &w, 8);
	dns_put16(r->buf + 10, r->ar);
}

/* The path an answer takes, as far as the burst's stages can tell. */
enum kind { KIND_OTHER, KIND_RRSET, KIND_NODE, KIND_CNAME, KIND_NO_NODE,
	    KIND_WILDCARD, KIND_CUT, KIND_COUNT };

/* A query parsed, its zone found and its name hashed: the work done for a
 * whole burst before any answer, so memory loads overlap (see prefetch). */
struct prep {
	struct ctx c0;		/* the query name */
	struct query qr;
	const struct ditto_image *zone;
	uint64_t hash;		/* of c0.name in zone's index */
	uint32_t chase;		/* CNAME target node to prefetch, or NONE */
	uint32_t cut;		/* the delegation or DNAME node governing the
				 * name, whose RRset to prefetch, or NONE */
	uint8_t kind;		/* enum kind: the path its answer will take */
	struct probe ce_probe;	/* of the parent name, when ce */
	bool ce;		/* the name is no node: its parent is wanted */
	/* NSEC3 with DO, the name no node and its closest encloser known:
	 * the next closer name's hash, bucket and covering NSEC3's block */
	uint8_t nc_labels;	/* 0: none looked up */
	uint8_t nc_hash[DITTO_SHA1_LEN];
	uint32_t nc_block;
	uint16_t rcode;		/* an error found while parsing */
	bool drop;
};

/* A DS at a child's apex is the parent's data (RFC 4035 3.1.4.1): when
 * this node hosts the parent and it delegates the name, answer from it. */
static const struct ditto_image *ds_zone(const struct ditto_zone_table *zones,
					 const struct ditto_image *z,
					 const struct ctx *c)
{
	if (c->labels != z->hdr->apex_labels || c->labels == 0)
		return z;
	uint8_t loff[DITTO_MAX_LABELS + 1];
	size_t cut = c->loff[1];
	for (unsigned i = 1; i < c->labels; i++)
		loff[i - 1] = (uint8_t)(c->loff[i] - cut);
	const struct ditto_image *parent = zone_table_match_labels(
		zones, c->name + cut, c->len - cut, loff, c->labels - 1u);
	if (!parent)
		return z;
	uint32_t id = ditto_image_find(parent, c->name, c->len);
	return id != DITTO_NONE && parent->nodes[id].cut == id ? parent : z;
}

/* The index slots probe_prefetch() looks at first for hash: the line of
 * the first, and of the fourth when that is the next line. */
static inline __attribute__((always_inline)) void
prefetch_slots(const struct ditto_image *z, uint64_t hash)
{
	uint32_t mask = z->hdr->index_mask, k = (uint32_t)hash & mask;

	__builtin_prefetch(&z->index[k]);
	__builtin_prefetch(&z->index[(k + 3) & mask]);
}

/* prepare() and respond() are on every query's path: inline in both
 * callers, the burst and the single answer (a call with its saved
 * registers was about 20 instructions a query). */
static inline __attribute__((always_inline)) void
prepare(struct prep *p, const struct ditto_zone_table *zones,
	const uint8_t *q, size_t qlen)
{
	struct query *qr = &p->qr;

	memset(qr, 0, sizeof(*qr));
	p->zone = NULL;
	p->c0.hint = DITTO_NONE;
	p->c0.hint_rs = NULL;
	p->c0.probed = false;
	p->chase = DITTO_NONE;
	p->cut = DITTO_NONE;
	p->kind = KIND_OTHER;
	p->ce = false;
	p->nc_labels = 0;
	p->rcode = DNS_R_NOERROR;
	p->drop = qlen < DNS_HDR_LEN || (q[2] & 0x80);	/* runt, response */
	if (unlikely(p->drop))
		return;
	qr->flags = dns_get16(q + 2);
	if (unlikely(dns_get16(q + 4) != 1 || !parse_qname(q, qlen, &p->c0) ||
		     qlen < DNS_HDR_LEN + p->c0.len + 4u)) {
		p->rcode = DNS_OPCODE(qr->flags) != DNS_OP_QUERY
				   ? DNS_R_NOTIMP : DNS_R_FORMERR;
		/* Without a question, an OPT still gets one back (RFC 6891 7). */
		qr->qend = DNS_HDR_LEN;
		if (dns_get16(q + 4) == 0 && !parse_records(q, qlen, qr))
			qr->edns = false;
		if (dns_get16(q + 4) != 0)
			qr->edns = false;
		return;
	}
	size_t at = DNS_HDR_LEN + p->c0.len;
	qr->qtype = dns_get16(q + at);
	qr->qclass = dns_get16(q + at + 2);
	qr->qend = (uint16_t)(at + 4);
	qr->question = true;
	if (unlikely(!parse_records(q, qlen, qr))) {
		qr->edns = false;
		p->rcode = DNS_R_FORMERR;
	} else if (unlikely(DNS_OPCODE(qr->flags) != DNS_OP_QUERY)) {
		/* NOTIFY and UPDATE belong to the control process. */
		unsigned op = DNS_OPCODE(qr->flags);
		p->rcode = op == 4 || op == 5 ? DNS_R_NOTAUTH : DNS_R_NOTIMP;
	} else if (unlikely(qr->edns && qr->edns_version > 0)) {
		p->rcode = DNS_R_BADVERS;
	}
	if (p->rcode != DNS_R_NOERROR ||
	    (qr->qclass != DNS_CLASS_IN && qr->qclass != DNS_CLASS_ANY))
		return;
	p->zone = zone_table_match_labels(zones, p->c0.name, p->c0.len,
					  p->c0.loff, p->c0.labels);
	if (unlikely(qr->qtype == DNS_T_DS) && p->zone)
		p->zone = ds_zone(zones, p->zone, &p->c0);
	if (likely(p->zone != NULL)) {
		p->hash = ditto_index_hash(&p->zone->ikey, p->c0.name,
					   p->c0.len);
		prefetch_slots(p->zone, p->hash);
	}
}

/* Whether a chain's next name was answered for already. */
static bool chain_seen(const struct prep *p, const struct ctx *chain,
		       unsigned step, const struct ctx *next)
{
	for (unsigned i = 0; i <= step; i++) {
		const struct ctx *c = i == 0 ? &p->c0 : &chain[i - 1];
		if (c->len == next->len && memcmp(c->name, next->name, c->len) == 0)
			return true;
	}
	return false;
}

/* The additional section: the blocks the answer and authority queued. */
static void put_additional(struct resp *r)
{
	for (unsigned i = 0; i < r->nextra; i++) {
		const struct pending *e = &r->extra[i];
		unsigned n = put_block_rrs(r, e->b, e->owner, e->ctx, e->ref);
		r->ar = (uint16_t)(r->ar + n);
		if (n < e->b->rr_count && e->required)
			r->tc_kept = true;
	}
}

/* The answer for the query name's zone, following the chain. */
static void answer_query(struct resp *r, const struct prep *p,
			 struct ditto_answer_info *info)
{
	struct ctx chain[CHAIN_MAX];
	const struct ditto_image *z = p->zone;

	if (unlikely(!z)) {
		r->rcode = DNS_R_REFUSED;
		return;
	}
	if (unlikely(__atomic_load_n(&z->expired, __ATOMIC_RELAXED))) {
		r->rcode = DNS_R_SERVFAIL;
		return;
	}
	r->aa = true;
	for (unsigned step = 0;; step++) {
		const struct ctx *c = step == 0 ? &p->c0 : &chain[step - 1];
		struct ctx *next = &chain[step];
		enum step s = lookup(r, z, c, next, &p->qr, step,
				     step == 0 ? p->hash : 0,
				     step == 0 && p->ce ? &p->ce_probe : NULL, info);
		if (likely(s == STEP_DONE))
			break;
		if (s == STEP_TRUNC) {
			r->tc = true;
			return;
		}
		/* Follow the chain while it stays in this zone, and not
		 * round a loop: each RRset once (RFC 1034 3.6.2). */
		if (step + 1 == CHAIN_MAX ||
		    !dns_name_is_sub(next->name, next->len, z->hdr->apex,
				     z->hdr->apex_len) ||
		    chain_seen(p, chain, step, next))
			break;
	}
	if (unlikely(r->nproof) && !put_proofs(r, z, &p->c0)) {
		r->tc = true;
		return;
	}
	put_additional(r);
}

/* Most queries: the burst found the name's node (by its tag) and its
 * RRset of the query type, and no cut or DNAME governs the node
 * (KIND_CUT otherwise). Once the node is confirmed to be the name, the
 * answer is that RRset: answer_query() would come to it, step 0. False
 * when it is not the name (or the zone expired): answer_query() then. */
static inline __attribute__((always_inline)) bool
answer_found(struct resp *r, const struct prep *p)
{
	const struct ditto_image *z = p->zone;

	if (unlikely(__atomic_load_n(&z->expired, __ATOMIC_RELAXED)) ||
	    unlikely(!ditto_node_is(z, p->c0.hint, p->c0.name, p->c0.len)))
		return false;
	r->aa = true;
	if (!put_rrset_inline(r, z, p->c0.hint_rs, &p->c0, DNS_HDR_LEN,
			      p->qr.dnssec_ok, &r->an, NULL))
		r->tc = true;
	else if (r->nextra)
		put_additional(r);
	return true;
}

static inline __attribute__((always_inline)) size_t
respond(const struct prep *p, const struct ditto_answer_cfg *cfg,
	const struct ditto_client *client, const uint8_t *q, uint8_t *resp,
	size_t cap, unsigned flags, struct ditto_answer_info *info)
{
	const struct query *qr = &p->qr;
	struct resp r;
	uint8_t ck[24], *cookie = NULL;

	memset(info, 0, sizeof(*info));
	if (unlikely(p->drop)) {
		info->flags = DITTO_INFO_DROPPED;
		return 0;
	}
	info->qtype = qr->qtype;
	r.buf = resp;
	r.an = r.ns = r.ar = 0;
	r.rcode = p->rcode;
	r.aa = r.tc = r.tc_kept = false;
	r.nextra = 0;
	r.nproof = 0;
	r.nc_ctx = p->nc_labels ? &p->c0 : NULL;
	r.nc_block = p->nc_block;
	r.nc_labels = p->nc_labels;

	size_t limit = 512;
	if (qr->edns) {
		/* The client's size, capped by ours, never below 512. */
		limit = qr->udp_size < cfg->edns_max ? qr->udp_size
						      : cfg->edns_max;
		if (limit < 512)
			limit = 512;
		info->flags |= DITTO_INFO_EDNS;
		if (qr->dnssec_ok)
			info->flags |= DITTO_INFO_DO;
	}
	if (flags & DITTO_ANSWER_TCP)
		limit = 65535;
	if (limit > RESP_MAX)
		limit = RESP_MAX;
	if (limit > cap)
		limit = cap;
	if (qr->edns && qr->cookie) {
		info->flags |= DITTO_INFO_COOKIE;
		if (cfg->cookies && client) {
			if (cookie_valid(qr, cfg->cookies, client))
				info->flags |= DITTO_INFO_COOKIE_OK;
			/* The server cookie is made before the answer is
			 * written over the query. */
			ditto_server_cookie(cfg->cookies->secret, qr->cookie,
					    client, client->now, ck + 8);
			memcpy(ck, qr->cookie, 8);
			cookie = ck;
		}
	}
	size_t opt = opt_size(qr, cfg, cookie);
	size_t head = qr->question ? qr->qend : DNS_HDR_LEN;
	if (unlikely(limit < head + opt)) {
		info->flags |= DITTO_INFO_DROPPED;
		return 0;
	}
	r.limit = limit - opt;
	if (resp != q)
		memcpy(resp + DNS_HDR_LEN, q + DNS_HDR_LEN, head - DNS_HDR_LEN);
	r.len = head;

	if (likely(r.rcode == DNS_R_NOERROR)) {
		switch (qr->qtype) {
		case 0: case DNS_T_AXFR:
			r.rcode = DNS_R_NOTIMP;	/* transfers: the control process */
			break;
		case DNS_T_IXFR:
			r.rcode = DNS_R_NOTAUTH;
			break;
		default:
			if (likely(qr->qclass == DNS_CLASS_IN ||
				   qr->qclass == DNS_CLASS_ANY)) {
				if (!(likely(p->kind == KIND_RRSET) &&
				      likely(answer_found(&r, p))))
					answer_query(&r, p, info);
			}
			else if (qr->qclass == DNS_CLASS_CH)
				chaos(&r, &p->c0, qr, cfg);
			else
				r.rcode = DNS_R_REFUSED;
		}
	}
	if (r.tc) {
		/* Nothing partial: the client retries over TCP. */
		r.len = head;
		r.an = r.ns = r.ar = 0;
		info->flags |= DITTO_INFO_TC;
	}
	if (qr->edns)
		put_opt(&r, qr, cfg, cookie);
	put_header(&r, q, qr);
	info->rcode = (uint8_t)r.rcode;
	return r.len;
}

size_t ditto_answer_client(const struct ditto_zone_table *zones,
			   const struct ditto_answer_cfg *cfg,
			   const struct ditto_client *client, const uint8_t *q,
			   size_t qlen, uint8_t *resp, size_t cap,
			   unsigned flags, struct ditto_answer_info *info)
{
	struct prep p;
	struct ditto_answer_info dummy;

	prepare(&p, zones, q, qlen);
	return respond(&p, cfg, client, q, resp, cap, flags,
		       info ? info : &dummy);
}

size_t ditto_answer(const struct ditto_zone_table *zones,
		    const struct ditto_answer_cfg *cfg, const uint8_t *q,
		    size_t qlen, uint8_t *resp, size_t cap, unsigned flags,
		    struct ditto_answer_info *info)
{
	return ditto_answer_client(zones, cfg, NULL, q, qlen, resp, cap, flags,
				   info);
}

size_t ditto_answer_to_badcookie(uint8_t *r, size_t len)
{
	size_t qn = len > DNS_HDR_LEN ? dns_name_len(r + DNS_HDR_LEN,
						     len - DNS_HDR_LEN) : 0;
	size_t qend = DNS_HDR_LEN + qn + 4, p = qend, at = 0;
	unsigned n = len >= DNS_HDR_LEN ? (unsigned)dns_get16(r + 6) +
					  dns_get16(r + 8) + dns_get16(r + 10)
					: 0;

	if (!qn || qend > len || dns_get16(r + 4) != 1)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		at = p;
		if (!dns_skip_name(r, len, &p) || len - p < 10)
			return 0;
		p += 10;
		if (dns_get16(r + p - 2) > len - p)
			return 0;
		p += dns_get16(r + p - 2);
	}
	/* The OPT is the last record, and it carries a COOKIE. */
	if (!n || p != len || r[at] != 0 || len - at < 11 ||
	    dns_get16(r + at + 1) != DNS_T_OPT)
		return 0;
	bool cookie = false;

	for (size_t o = at + 11; o + 4 <= len; o += 4u + dns_get16(r + o + 2))
		cookie |= dns_get16(r + o) == DNS_EDNS_COOKIE;
	if (!cookie)
		return 0;
	memmove(r + qend, r + at, len - at);
	dns_put16(r + 2, (dns_get16(r + 2) & ~0x020fu) |
			 (DITTO_R_BADCOOKIE & 0xf));
	dns_put16(r + 6, 0);
	dns_put16(r + 8, 0);
	dns_put16(r + 10, 1);
	r[qend + 5] = DITTO_R_BADCOOKIE >> 4;	/* extended rcode */
	return qend + len - at;
}

/* Bit 2j set: slot j of the four from s ends a probe for tag (it holds
 * the tag, or is empty); odd bits clear. */
static inline unsigned probe_window(const struct ditto_slot *s, uint32_t tag)
{
#ifdef __SSE2__
	/* Two loads and compares against (tag, NONE) pairs; a slot's two
	 * lanes folded into one bit. */
	_Static_assert(sizeof(struct ditto_slot) == 8 &&
		       offsetof(struct ditto_slot, hash) == 0 &&
		       offsetof(struct ditto_slot, node) == 4,
		       "a slot is (hash, node)");
	const __m128i want = _mm_set_epi32((int)DITTO_NONE, (int)tag,
					   (int)DITTO_NONE, (int)tag);
	__m128i a = _mm_loadu_si128((const __m128i *)(const void *)s);
	__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + 2));
	unsigned m = (unsigned)_mm_movemask_ps(_mm_castsi128_ps(
			     _mm_cmpeq_epi32(a, want))) |
		     (unsigned)_mm_movemask_ps(_mm_castsi128_ps(
			     _mm_cmpeq_epi32(b, want))) << 4;

	return (m | m >> 1) & 0x55u;	/* a slot's tag or emptiness */
#else
	unsigned stop = 0;

	for (unsigned j = 0; j < 4; j++)
		stop |= (unsigned)((s[j].hash == tag) |
				   (s[j].node == DITTO_NONE)) << (2 * j);
	return stop;
#endif
}

/* The node an index probe finds for hash, prefetched (nodes[0] when
 * none): the first slot with the tag, or NONE at an empty slot. The
 * first four slots are looked at without a branch each: a burst mixes
 * names that are nodes with names that are not, and at the index's load
 * (a quarter to a half) a name's first slot is often another's. */
static uint32_t probe_prefetch(const struct ditto_image *z, uint64_t hash)
{
	uint32_t mask = z->hdr->index_mask, tag = (uint32_t)(hash >> 32);
	uint32_t k = (uint32_t)hash & mask;
	const struct ditto_slot *s = &z->index[k];
	uint32_t node;

	if (likely(k + 4 <= mask + 1u)) {	/* the window does not wrap */
		unsigned stop = probe_window(s, tag);
		if (likely(stop != 0)) {
			node = s[__builtin_ctz(stop) / 2].node;
			goto found;
		}
	}
	for (;; k = (k + 1) & mask) {
		s = &z->index[k];
		node = s->node;
		if (node == DITTO_NONE || s->hash == tag)
			break;
	}
found:
	/* NONE + 1 wraps to 0: no branch (the compiler makes one of ?:). */
	__builtin_prefetch(&z->nodes[node + (node == DITTO_NONE)]);
	return node;
}

/* A block's first two lines: its header, fix-ups and the start of the
 * RRs, and most answers' remaining bytes (the size is in the header, not
 * yet here). Always inline: GCC 12 left out two of three calls to a
 * variant of it, at -O2 and -O3, as if it had no effect. */
static inline __attribute__((always_inline)) void
prefetch_block(const struct ditto_image *z, uint32_t off)
{
	const uint8_t *b = z->blocks + off;

	__builtin_prefetch(b);
	__builtin_prefetch(b + 64);
}

/* A node's RRsets: the line of the first and the line of the last (two
 * RRsets a line, so a node's two or three often straddle a line's end;
 * the same line twice costs nothing). */
static inline __attribute__((always_inline)) void
prefetch_rrsets(const struct ditto_image *z, const struct ditto_node *n)
{
	const struct ditto_rrset *rs = z->rrsets + n->rrsets;

	__builtin_prefetch(rs);
	__builtin_prefetch(rs + (n->rrset_count ? n->rrset_count - 1u : 0));
}

/* A burst in stages, so each query's dependent loads (index slot, node,
 * name and RRsets, block) are prefetched while the others are worked on.
 * Each stage walks a list of the queries it concerns, made without a
 * branch by the stage before: a burst mixes kinds, and a test per query
 * of which kind it is would be mispredicted often. */
void ditto_answer_burst(const struct ditto_zone_table *zones,
			const struct ditto_answer_cfg *cfg,
			struct ditto_query *qs, unsigned n, unsigned flags)
{
	struct prep p[DITTO_BURST_MAX];

	while (n > DITTO_BURST_MAX) {
		ditto_answer_burst(zones, cfg, qs, DITTO_BURST_MAX, flags);
		qs += DITTO_BURST_MAX;
		n -= DITTO_BURST_MAX;
	}
	uint8_t chase[DITTO_BURST_MAX], cuts[DITTO_BURST_MAX],
		zoned[DITTO_BURST_MAX],
		found[DITTO_BURST_MAX], missed[DITTO_BURST_MAX],
		deep[DITTO_BURST_MAX];
	unsigned nchase = 0, ncuts = 0, nzoned = 0, nfound = 0, nmissed = 0, ndeep = 0;
	bool any_do = false;

	for (unsigned i = 0; i < n; i++) {
		prepare(&p[i], zones, qs[i].q, qs[i].qlen);
		any_do |= p[i].qr.dnssec_ok;
		zoned[nzoned] = (uint8_t)i;
		nzoned += p[i].zone != NULL;
	}
	for (unsigned j = 0; j < nzoned; j++) {
		unsigned i = zoned[j];
		uint32_t node = probe_prefetch(p[i].zone, p[i].hash);
		bool none = node == DITTO_NONE;
		p[i].c0.hint = node;	/* the candidate node, by its tag */
		p[i].c0.probed = true;
		p[i].kind = none ? KIND_NO_NODE : KIND_OTHER;
		found[nfound] = missed[nmissed] = (uint8_t)i;
		nfound += !none;
		nmissed += none;
	}
	/* Not a node: the answer will look for the closest encloser
	 * (NXDOMAIN, wildcard, referral), starting with the parent. */
	for (unsigned j = 0; j < nmissed; j++) {
		unsigned i = missed[j];
		deep[ndeep] = (uint8_t)i;
		ndeep += p[i].c0.labels > p[i].zone->hdr->apex_labels + 1u;
	}
	for (unsigned j = 0; j < ndeep; j++) {
		unsigned i = deep[j];
		const struct ditto_image *z = p[i].zone;
		const struct ctx *c = &p[i].c0;
		size_t off = c->loff[1];
		p[i].ce_probe.hash = ditto_index_hash(&z->ikey, c->name + off,
						c->len - off);
		prefetch_slots(z, p[i].ce_probe.hash);
		p[i].ce = true;
	}
	for (unsigned j = 0; j < ndeep; j++) {
		unsigned i = deep[j];
		p[i].ce_probe.node = probe_prefetch(p[i].zone, p[i].ce_probe.hash);
	}
	for (unsigned j = 0; j < nfound; j++) {
		unsigned i = found[j];
		const struct ditto_image *z = p[i].zone;
		prefetch_rrsets(z, &z->nodes[p[i].c0.hint]);
	}
	for (unsigned j = 0; j < ndeep; j++) {
		unsigned i = deep[j];
		const struct ditto_image *z = p[i].zone;
		if (p[i].ce_probe.node == DITTO_NONE)
			continue;
		/* The parent decides: wildcard, cut or NXDOMAIN. */
		const struct ditto_node *ce = &z->nodes[p[i].ce_probe.node];
		uint32_t governs = ditto_cut_inherited(ce->cut, ce->flags,
						       p[i].ce_probe.node);
		if (governs != DITTO_NONE) {
			p[i].kind = KIND_CUT;
			p[i].cut = governs;
			__builtin_prefetch(&z->nodes[governs]);
			cuts[ncuts++] = (uint8_t)i;
		} else if (ce->wildcard != DITTO_NONE) {
			p[i].kind = KIND_WILDCARD;
			__builtin_prefetch(&z->nodes[ce->wildcard]);
		}
	}
	for (unsigned j = 0; j < nfound; j++) {
		unsigned i = found[j];
		const struct ditto_image *z = p[i].zone;
		const struct ditto_node *nd = &z->nodes[p[i].c0.hint];
		const struct ditto_rrset *rs = ditto_node_rrset(z, nd, p[i].qr.qtype);
		p[i].c0.hint_rs = rs;
		p[i].kind = rs ? KIND_RRSET : KIND_NODE;
		uint32_t governs = name_cut(nd, p[i].c0.hint, p[i].qr.qtype);
		if (unlikely(governs != DITTO_NONE)) {
			/* A referral (or a DNAME's answer): the delegation's NS
			 * or the DNAME, fetched in the stages below. */
			p[i].kind = KIND_CUT;
			p[i].cut = governs;
			__builtin_prefetch(&z->nodes[governs]);
			cuts[ncuts++] = (uint8_t)i;
			continue;
		}
		if (!rs && (nd->flags & DITTO_NODE_CNAME)) {
			/* A CNAME to follow: its block, and the target. */
			rs = ditto_node_rrset(z, nd, DNS_T_CNAME);
			p[i].kind = KIND_CNAME;
			p[i].chase = rs->target;
			if (rs->target != DITTO_NONE) {
				__builtin_prefetch(&z->nodes[rs->target]);
				chase[nchase++] = (uint8_t)i;
			}
		}
		if (rs) {
			bool dnssec_ok = p[i].qr.dnssec_ok;
			uint32_t x = dnssec_ok ? rs->extra_do : rs->extra;
			prefetch_block(z, dnssec_ok ? rs->block_do : rs->block);
			if (x != DITTO_NONE)
				prefetch_block(z, x);	/* the additional */
		}
	}
	for (unsigned j = 0; j < ncuts; j++) {
		unsigned i = cuts[j];
		const struct ditto_image *z = p[i].zone;
		prefetch_rrsets(z, &z->nodes[p[i].cut]);
	}
	for (unsigned j = 0; j < nchase; j++) {
		unsigned i = chase[j];
		const struct ditto_image *z = p[i].zone;
		const struct ditto_node *t = &z->nodes[p[i].chase];
		__builtin_prefetch(z->names + t->name);
		prefetch_rrsets(z, t);
	}
	for (unsigned j = 0; j < nchase; j++) {
		unsigned i = chase[j];
		const struct ditto_image *z = p[i].zone;
		const struct ditto_rrset *rs = ditto_node_rrset(
			z, &z->nodes[p[i].chase], p[i].qr.qtype);
		if (rs)
			prefetch_block(z, p[i].qr.dnssec_ok ? rs->block_do
							    : rs->block);
	}
	for (unsigned j = 0; j < ncuts; j++) {
		/* The referral's NS block and its glue, or the DNAME's. */
		unsigned i = cuts[j];
		const struct ditto_image *z = p[i].zone;
		const struct ditto_node *cut = &z->nodes[p[i].cut];
		const struct ditto_rrset *rs = ditto_node_rrset(
			z, cut, cut->flags & DITTO_NODE_DNAME ? DNS_T_DNAME
							      : DNS_T_NS);
		if (!rs)
			continue;
		prefetch_block(z, rs->block);
		if (rs->extra != DITTO_NONE)
			prefetch_block(z, rs->extra);
	}
	/* NSEC3 denials with DO (NXDOMAIN, wildcard answers): the next
	 * closer name is hashed and its bucket, entry and block fetched for
	 * the whole burst, so their misses overlap. Only DO queries have
	 * them. */
	if (unlikely(any_do)) {
		for (unsigned i = 0; i < n; i++) {
			const struct ditto_image *z = p[i].zone;
			if (likely(!p[i].qr.dnssec_ok) || !z || !z->nsec3 ||
			    p[i].c0.hint != DITTO_NONE || p[i].kind == KIND_CUT)
				continue;
			unsigned ce_labels;
			const struct ctx *c = &p[i].c0;
			/* The parent's probe went by its tag alone: another
			 * name with that tag may have more labels than the
			 * query name (nsec3_hash_of would read before loff).
			 * With ce the name has a parent, at loff[1]. */
			if (p[i].ce && p[i].ce_probe.node != DITTO_NONE &&
			    ditto_node_is(z, p[i].ce_probe.node,
					  c->name + c->loff[1],
					  c->len - c->loff[1]))
				ce_labels = z->nodes[p[i].ce_probe.node].labels;
			else if (!p[i].ce && p[i].c0.labels == z->hdr->apex_labels + 1u)
				ce_labels = z->hdr->apex_labels;	/* the apex */
			else
				continue;
			p[i].nc_labels = (uint8_t)(ce_labels + 1u);
			nsec3_hash_of(z, &p[i].c0, p[i].nc_labels, p[i].nc_hash);
			__builtin_prefetch(z->nsec3_buckets + ditto_nsec3_bucket(
				p[i].nc_hash, z->nsec3->bucket_bits));
		}
		for (unsigned i = 0; i < n; i++) {
			if (!p[i].nc_labels)
				continue;
			const struct ditto_image *z = p[i].zone;
			uint32_t k = ditto_nsec3_bucket(p[i].nc_hash,
							z->nsec3->bucket_bits);
			__builtin_prefetch(z->nsec3_entries + z->nsec3_buckets[k]);
		}
		for (unsigned i = 0; i < n; i++) {
			if (!p[i].nc_labels)
				continue;
			p[i].nc_block = nsec3_find(p[i].zone, p[i].nc_hash);
			prefetch_block(p[i].zone, p[i].nc_block);
		}
	}
	/* Answer like with like: each query has its own buffer, so the order
	 * is free, and runs of one kind keep the branch predictor right
	 * (a mixed burst cost 40 ns a query more than a sorted one). */
	uint8_t order[DITTO_BURST_MAX], count[KIND_COUNT + 1] = { 0 };
	for (unsigned i = 0; i < n; i++)
		count[p[i].kind + 1]++;
	for (unsigned k = 1; k <= KIND_COUNT; k++)
		count[k] += count[k - 1];
	for (unsigned i = 0; i < n; i++)
		order[count[p[i].kind]++] = (uint8_t)i;
	for (unsigned j = 0; j < n; j++) {
		unsigned i = order[j];
		qs[i].resp_len = (uint16_t)respond(&p[i], cfg, qs[i].client,
						   qs[i].q, qs[i].resp,
						   qs[i].cap, flags, &qs[i].info);
	}
}

/* A response whose question is name/type, ready for answer records in
 * r (its context in c); false when even that does not fit. */
static bool render_start(struct resp *r, struct ctx *c, uint8_t *buf,
			 size_t cap, const uint8_t *name, size_t len,
			 uint16_t type)
{
	size_t qend = DNS_HDR_LEN + len + 4u;

	memset(r, 0, sizeof(*r));
	r->buf = buf;
	r->limit = cap < RESP_MAX ? cap : RESP_MAX;
	if (r->limit < qend)
		return false;
	memset(buf, 0, DNS_HDR_LEN);
	buf[2] = 0x84;	/* QR, AA */
	buf[5] = 1;
	memcpy(buf + DNS_HDR_LEN, name, len);
	dns_put16(buf + DNS_HDR_LEN + len, type);
	dns_put16(buf + DNS_HDR_LEN + len + 2, DNS_CLASS_IN);
	r->len = qend;
	return parse_qname(buf, qend, c);
}

size_t ditto_image_render_rrset(const struct ditto_image *z,
				const struct ditto_node *n,
				const struct ditto_rrset *rs, bool dnssec_ok,
				uint8_t *buf, size_t cap)
{
	struct resp r;
	struct ctx c;

	if (!render_start(&r, &c, buf, cap, z->names + n->name, n->name_len,
			  rs->type) ||
	    !put_rrset(&r, z, rs, &c, DNS_HDR_LEN, dnssec_ok, &r.an, NULL))
		return 0;
	dns_put16(buf + 6, r.an);
	return r.len;
}

size_t ditto_image_render_denial(const struct ditto_image *z, uint32_t block,
				 uint8_t *buf, size_t cap)
{
	struct resp r;
	struct ctx c;
	const struct ditto_block *b = block_at(z, block);

	if (!render_start(&r, &c, buf, cap, z->hdr->apex, z->hdr->apex_len,
			  DNS_T_NSEC3) ||
	    !put_block(&r, b, 0, &c, 0, NULL, false))
		return 0;
	dns_put16(buf + 6, b->rr_count);
	return r.len;
}
