/* The zone image: one zone at one serial, compiled into a flat, immutable,
 * position-independent snapshot (offsets, never pointers). */
#ifndef DITTO_IMAGE_H
#define DITTO_IMAGE_H

#include <stdint.h>
#include <stddef.h>

/*
 * Layout (format version 2). All integers are in host byte order; the
 * header carries an endianness marker and a loader refuses a foreign one.
 * Every offset is from the first byte of the image; every structure is
 * 4-byte aligned.
 *
 *   +---------------------------+ 0
 *   | struct ditto_image_hdr    |  magic, version, size, checksum, serial,
 *   |                           |  apex, hash seed, section table
 *   +---------------------------+ sections[] (any order, no overlap)
 *   | NODES  ditto_node[n]      |  node 0 is the apex; one node per owner
 *   |                           |  name, empty non-terminals included;
 *   |                           |  64 bytes, 64-byte aligned
 *   | INDEX  ditto_slot[m]      |  open-addressed hash index over node
 *   |                           |  names, m a power of two, hashed with
 *   |                           |  ditto_index_hash (ditto/hash.h) keyed
 *   |                           |  by the per-image seed
 *   | NAMES  bytes              |  lowercase wire-format owner names
 *   | RRSETS ditto_rrset[k]     |  each node's RRsets, sorted by type
 *   | BLOCKS bytes              |  pre-rendered wire RRs (ditto_block)
 *   | DENIAL ditto_denial[n]    |  signed zones only: per node, the
 *   |                           |  NSEC/NSEC3 blocks of its proofs
 *   | NSEC3  ditto_nsec3_hdr,   |  NSEC3 zones only: the chain's
 *   |        ditto_nsec3_entry[]|  parameters, then its hashes in order
 *   +---------------------------+ size
 *
 * Unknown section ids are ignored by a loader of the same major version,
 * so later additions extend the format without breaking it.
 *
 * DNSSEC (RFC 4035, 5155). An RRset's block_do carries the RRs and the
 * RRSIGs that cover them; its extra_do the additional records with theirs.
 * Denial of existence uses the zone's own NSEC or NSEC3 records (the
 * primary signed them; nothing is signed here). Each is rendered once more
 * as a denial block: its owner written out (labels above the apex, then a
 * DEPTH pointer to the apex, so any name of the zone can carry it), the
 * NSEC or NSEC3 RRs, then the RRSIGs that cover them. The nodes of an
 * NSEC zone are in canonical order (RFC 4034 6.1), so the NSEC covering a
 * name that does not exist is the one at or before its place, found by a
 * binary search over the closest encloser's subtree. NSEC3 records are no
 * nodes (their owners are no names of the zone's tree): the NSEC3 section
 * lists their hashes in order, searched for the hash of a next closer name
 * (RFC 5155 7.2.1). What can be known when compiling is kept per node in
 * DENIAL.
 *
 * A block is a run of wire-format RRs rendered at compile time for the
 * packet they will be copied into. Names are compressed against names the
 * packet is known to hold when the block is used: the owner (the query
 * name or one of its suffixes), the suffixes of the owner, earlier names
 * in the same block, or names in a reference block (the RRset an
 * additional-section block belongs to). Each such pointer is listed in the
 * block's fix-ups and completed when the block is copied, so an answer is
 * a copy plus a few fixed-up pointers.
 */

#define DITTO_IMAGE_MAGIC	"DITTOIMG"
/* 2: the index hashed with NH (ditto_index_hash) instead of SipHash-1-3.
 * A loader refuses any other version; ditto-control compiles a zone's
 * saved contents again when its image does not load. */
#define DITTO_IMAGE_VERSION	2
#define DITTO_IMAGE_ENDIAN	0x01020304u
#define DITTO_NONE		0xffffffffu

/* Limits the compiler enforces and the loader re-checks. */
#define DITTO_MAX_NAME		255
#define DITTO_MAX_LABELS	127
#define DITTO_MAX_BLOCK		16000	/* bytes of one block's wire data */
#define DITTO_MAX_PTR		0x3fff	/* largest compression pointer */

enum ditto_section_id {
	DITTO_SECT_NODES = 1,
	DITTO_SECT_INDEX = 2,
	DITTO_SECT_NAMES = 3,
	DITTO_SECT_RRSETS = 4,
	DITTO_SECT_BLOCKS = 5,
	DITTO_SECT_DENIAL = 6,
	DITTO_SECT_NSEC3 = 7,
	DITTO_SECT_COUNT = 8	/* slots in the header's table */
};

struct ditto_image_section {
	uint32_t id;		/* enum ditto_section_id, 0 = unused slot */
	uint32_t offset;
	uint32_t size;		/* bytes */
	uint32_t count;		/* elements, where the section is an array */
};

enum ditto_image_flags {
	DITTO_IMAGE_SIGNED = 1u << 0,	/* zone carries DNSKEY/RRSIG */
	DITTO_IMAGE_NSEC3 = 1u << 1,	/* denial by NSEC3 (NSEC3 section) */
	DITTO_IMAGE_NSEC = 1u << 2,	/* denial by NSEC */
};

struct ditto_image_hdr {
	char magic[8];		/* DITTO_IMAGE_MAGIC, not terminated */
	uint32_t endian;	/* DITTO_IMAGE_ENDIAN as written */
	uint16_t version;	/* DITTO_IMAGE_VERSION */
	uint16_t hdr_size;	/* sizeof(struct ditto_image_hdr) */
	uint64_t size;		/* total bytes of the image */
	uint64_t checksum;	/* ditto_image_checksum() with this field 0 */
	uint64_t seed[2];	/* the INDEX's key (ditto_index_key_init) */
	uint32_t serial;	/* SOA serial */
	uint32_t flags;		/* enum ditto_image_flags */
	uint32_t node_count;
	uint32_t index_mask;	/* INDEX slots - 1 */
	uint32_t soa_negative;	/* block: apex SOA with TTL min(TTL, MINIMUM) */
	uint32_t soa_negative_do; /* the same with its RRSIGs */
	uint32_t neg_ttl;	/* min(SOA TTL, SOA MINIMUM) (RFC 2308) */
	uint32_t reserved;
	uint8_t apex_len;	/* wire length of apex, root label included */
	uint8_t apex_labels;	/* labels of apex, root excluded */
	uint8_t pad[6];
	uint8_t apex[256];	/* lowercase wire-format apex name */
	struct ditto_image_section sections[DITTO_SECT_COUNT];
};

enum ditto_node_flags {
	DITTO_NODE_DELEG = 1u << 0,	/* NS below the apex: a zone cut */
	DITTO_NODE_DNAME = 1u << 1,	/* owns a DNAME */
	DITTO_NODE_CNAME = 1u << 2,	/* owns a CNAME */
	DITTO_NODE_WILDCARD = 1u << 3,	/* first label is '*' */
	DITTO_NODE_GLUE = 1u << 4,	/* below a zone cut: not authoritative */
	DITTO_NODE_ENT = 1u << 5,	/* empty non-terminal */
};

/* The cut a node (not the apex) inherits from its parent: the parent's
 * cut, else the parent itself when it owns a DNAME, else none (the node
 * is then its own cut when delegated). So also the cut that governs any
 * name below the parent. One definition for the compiler that sets a
 * node's cut, the loader that checks it, and the answer path that finds
 * a closest encloser's. */
static inline uint32_t ditto_cut_inherited(uint32_t parent_cut,
					   unsigned parent_flags,
					   uint32_t parent)
{
	if (parent_cut != DITTO_NONE)
		return parent_cut;
	return (parent_flags & DITTO_NODE_DNAME) ? parent : DITTO_NONE;
}

#define DITTO_NODE_REL 32	/* bytes of a node's name kept in the node */

/* One cache line: the hash probe's name comparison needs nothing else for
 * names up to DITTO_NODE_REL bytes above the apex. */
struct ditto_node {
	uint32_t name;		/* NAMES offset of the lowercase wire name */
	uint8_t name_len;	/* wire length, root label included */
	uint8_t labels;		/* labels, root excluded */
	uint16_t flags;		/* enum ditto_node_flags */
	uint32_t parent;	/* node index, DITTO_NONE for the apex */
	uint32_t cut;		/* node whose delegation (itself or above) or
				 * DNAME (strictly above) governs this name */
	uint32_t wildcard;	/* node of "*.<this name>", or DITTO_NONE */
	uint32_t rrsets;	/* index of the first RRset in RRSETS */
	uint16_t rrset_count;
	uint16_t reserved;
	uint32_t denial;	/* index in DENIAL, DITTO_NONE when unsigned */
	uint8_t rel[DITTO_NODE_REL];	/* the name's first bytes, up to the
					 * apex, zero-padded */
};

_Static_assert(sizeof(struct ditto_node) == 64, "a node is one cache line");

enum ditto_rrset_flags {
	DITTO_RRSET_SIGNED = 1u << 0,	/* block_do carries RRSIGs */
	/* The pointer slots of block and block_do already hold what their
	 * fix-ups give in an answer for the node's own name, the block
	 * copied right after the question (owner at offset 12): the answer
	 * path copies them as they are then. Never on a wildcard's RRsets.
	 * The loader checks every slot. */
	DITTO_RRSET_PLACED = 1u << 1,
};

struct ditto_rrset {
	uint16_t type;
	uint16_t flags;		/* enum ditto_rrset_flags */
	uint32_t ttl;
	uint32_t block;		/* BLOCKS offset: the RRs */
	uint32_t block_do;	/* the RRs and their RRSIGs (== block if none) */
	uint32_t extra;		/* additional-section block (addresses of
				 * in-zone names in the rdata), DITTO_NONE */
	uint32_t extra_do;
	uint32_t target;	/* CNAME: the node of the target when it is in
				 * this zone, else DITTO_NONE. A hint for
				 * prefetching; the answer path checks it. */
	uint32_t reserved;
};

/* Fix-up kinds, in the top two bits of ditto_fixup.code. */
enum ditto_fixup_kind {
	DITTO_FIX_OWNER = 0,	/* -> where the owner name is written */
	DITTO_FIX_DEPTH = 1,	/* -> the owner's suffix with value labels */
	DITTO_FIX_SELF = 2,	/* -> block start + value */
	DITTO_FIX_REF = 3,	/* -> reference block start + value */
};
#define DITTO_FIX_KIND(code)	((unsigned)(code) >> 14)
#define DITTO_FIX_VALUE(code)	((unsigned)(code) & 0x3fffu)
#define DITTO_FIX_CODE(kind, v)	((uint16_t)(((unsigned)(kind) << 14) | (v)))

struct ditto_fixup {
	uint16_t pos;		/* offset in the block's data of a 2-byte slot */
	uint16_t code;		/* DITTO_FIX_CODE(kind, value) */
};

/* What a fix-up of a main block gives when the block is placed (see
 * DITTO_RRSET_PLACED): the answer for the block's own owner, a name of
 * len bytes and labels labels whose label i starts at loff[i], right
 * after its question. DITTO_MAX_PTR + 1 when no placed value exists. The
 * compiler writes these values and the loader checks them. */
static inline unsigned ditto_fix_placed(uint16_t code, const uint8_t *loff,
					unsigned labels, size_t len)
{
	unsigned v = DITTO_FIX_VALUE(code);

	switch (DITTO_FIX_KIND(code)) {
	case DITTO_FIX_OWNER:
		return 12;
	case DITTO_FIX_DEPTH:
		return v >= 1 && v <= labels ? 12u + loff[labels - v]
					     : DITTO_MAX_PTR + 1u;
	case DITTO_FIX_SELF:
		v += 12u + (unsigned)len + 4u;
		return v <= DITTO_MAX_PTR ? v : DITTO_MAX_PTR + 1u;
	default:
		return DITTO_MAX_PTR + 1u;
	}
}

struct ditto_block {
	uint16_t len;		/* bytes of wire data */
	uint16_t rr_count;	/* RRs in the data */
	uint16_t fixup_count;
	uint16_t target;	/* data offset of the first rdata name (CNAME
				 * and DNAME targets), 0 when none */
	/* struct ditto_fixup fixups[fixup_count]; uint8_t data[len]; */
};

static inline const struct ditto_fixup *
ditto_block_fixups(const struct ditto_block *b)
{
	return (const struct ditto_fixup *)(const void *)(b + 1);
}

static inline const uint8_t *ditto_block_data(const struct ditto_block *b)
{
	return (const uint8_t *)(ditto_block_fixups(b) + b->fixup_count);
}

static inline size_t ditto_block_size(const struct ditto_block *b)
{
	size_t n = sizeof(*b) + b->fixup_count * sizeof(struct ditto_fixup) +
		   b->len;
	return (n + 3) & ~(size_t)3;
}

/* What the proofs about one name need that is known when compiling (every
 * field a BLOCKS offset of a denial block, or DITTO_NONE).
 *
 * NSEC zones: nodata is the NSEC at or before the name in canonical order
 * (its own, which lists its types; for an empty non-terminal the one that
 * covers it); wild the NSEC that covers "*.<name>", for NXDOMAIN below it;
 * last the last node of its subtree (the binary search's end).
 *
 * NSEC3 zones: nodata is the NSEC3 matching the name; when none does (an
 * opt-out span), the one matching its closest provable encloser, with
 * nodata2 the opt-out NSEC3 covering the next closer name and encloser that
 * encloser's node. wild is the NSEC3 covering the hash of "*.<name>". */
struct ditto_denial {
	uint32_t nodata;
	uint32_t nodata2;
	uint32_t wild;
	uint32_t last;		/* NSEC: node index */
	uint32_t encloser;	/* NSEC3: node index, DITTO_NONE when nodata
				 * matches the name itself */
	uint8_t key[8];		/* NSEC: ditto_canon_prefix() of the name, so
				 * the search compares 8 bytes, not names */
};

#define DITTO_NSEC3_HASH 20	/* SHA-1, the only NSEC3 hash (RFC 5155) */

/* The chain the proofs use: the NSEC3PARAM's parameters, then count
 * entries in hash order, then (1 << bucket_bits) + 1 uint32 bucket starts:
 * bucket[k] is the first entry whose hash's top bucket_bits bits are k or
 * more, so a search reads one bucket and a run of about one entry instead
 * of a binary search's cache misses. */
struct ditto_nsec3_hdr {
	uint16_t iterations;
	uint8_t algorithm;	/* 1, SHA-1 */
	uint8_t salt_len;
	uint32_t count;
	uint32_t bucket_bits;	/* at most DITTO_NSEC3_BUCKET_BITS */
	uint32_t reserved;
	uint8_t salt[256];
};

#define DITTO_NSEC3_BUCKET_BITS 22

static inline uint32_t ditto_nsec3_bucket(const uint8_t *hash, unsigned bits)
{
	uint32_t top = (uint32_t)hash[0] << 24 | (uint32_t)hash[1] << 16 |
		       (uint32_t)hash[2] << 8 | hash[3];

	return bits ? top >> (32 - bits) : 0;
}

struct ditto_nsec3_entry {
	uint8_t hash[DITTO_NSEC3_HASH];	/* the owner's first label, decoded */
	uint32_t block;		/* its denial block */
};

struct ditto_slot {
	uint32_t hash;		/* high 32 bits of the name's hash */
	uint32_t node;		/* node index, DITTO_NONE when empty */
};

/* Checksum of a whole image (the checksum field read as zero). */
uint64_t ditto_image_checksum(const uint8_t *image, size_t size);

#endif
