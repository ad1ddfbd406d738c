/* Image loading: every offset, length and count is validated once here,
 * so the answer path can trust the image without checks. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ditto/dnssec.h"
#include "ditto/error.h"
#include "ditto/hash.h"
#include "ditto/wire.h"
#include "engine.h"

static const uint64_t checksum_key[2] = { 0x646974746f696d67ULL,
					  0x636865636b73756dULL };

uint64_t ditto_image_checksum(const uint8_t *image, size_t size)
{
	size_t at = offsetof(struct ditto_image_hdr, checksum);

	if (size < at + 8)
		return ditto_siphash(checksum_key, image, size, 1, 3);
	uint64_t a = ditto_siphash(checksum_key, image, at, 1, 3);
	uint64_t b = ditto_siphash(checksum_key, image + at + 8,
				   size - at - 8, 1, 3);
	return a ^ ((b << 1) | (b >> 63));
}

struct check {
	const struct ditto_image *img;
	const struct ditto_image_section *blocks;
	char *err;
	size_t errlen;
};

static int fail(struct check *c, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct check *c, int rc, const char *fmt, ...)
{
	va_list ap;

	if (c->err && c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Put "what n: " before the message already in c->err. */
static int prefix(struct check *c, int rc, const char *what, uint32_t n)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%s", c->err);
	return fail(c, rc, "%s %u: %s", what, n, msg);
}

static bool name_is_lower(const uint8_t *n)
{
	for (; *n; n += 1u + *n)
		for (unsigned i = 1; i <= *n; i++)
			if (n[i] >= 'A' && n[i] <= 'Z')
				return false;
	return true;
}

static bool is_fixup(const struct ditto_block *b, size_t pos)
{
	const struct ditto_fixup *f = ditto_block_fixups(b);

	for (unsigned i = 0; i < b->fixup_count; i++)
		if (f[i].pos == pos)
			return true;
	return false;
}

/* A name at *pos in a block's data: labels, then a root label or a
 * pointer slot (a fix-up), before end. */
static bool block_name(const struct ditto_block *b, size_t *pos, size_t end)
{
	const uint8_t *d = ditto_block_data(b);
	size_t p = *pos, n = 0;

	for (;;) {
		if (p >= end)
			return false;
		if (is_fixup(b, p)) {
			*pos = p + 2;
			return *pos <= end;
		}
		if (d[p] > 63 || (n += 1u + d[p]) > DITTO_MAX_NAME)
			return false;
		if (d[p] == 0) {
			*pos = p + 1;
			return true;
		}
		p += 1u + d[p];
	}
}

/* The names the compiler writes in rdata are well formed. */
static bool rdata_names_ok(const struct ditto_block *b, uint16_t type,
			   size_t rd, size_t end)
{
	size_t p = rd;

	switch (type) {
	case DNS_T_NS: case DNS_T_CNAME: case DNS_T_PTR: case DNS_T_DNAME:
		return block_name(b, &p, end) && p == end;
	case DNS_T_MX:
		p += 2;
		return p < end && block_name(b, &p, end) && p == end;
	case DNS_T_SRV:
		p += 6;
		return p < end && block_name(b, &p, end) && p == end;
	case DNS_T_SOA:
		return block_name(b, &p, end) && block_name(b, &p, end) &&
		       end - p == 20;
	default:
		return true;
	}
}

/* A block at off in BLOCKS: structure, fix-ups and RR framing.
 * max_depth bounds DEPTH fix-ups; ref_len > 0 allows REF fix-ups below it. */
static int check_block_as(struct check *c, uint32_t off, unsigned max_depth,
			  size_t ref_len, bool literal_owner,
			  const struct ditto_block **out)
{
	const struct ditto_image_section *s = c->blocks;
	const struct ditto_block *b;

	if (off % 4 || off >= s->size || s->size - off < sizeof(*b))
		return fail(c, DITTO_ERANGE, "block at %u outside BLOCKS", off);
	b = (const struct ditto_block *)(const void *)(c->img->blocks + off);
	if (ditto_block_size(b) > s->size - off)
		return fail(c, DITTO_ERANGE, "block at %u overruns BLOCKS", off);
	if (b->len > DITTO_MAX_BLOCK || (b->target && b->target >= b->len))
		return fail(c, DITTO_ECORRUPT, "block at %u: bad length", off);

	const struct ditto_fixup *f = ditto_block_fixups(b);
	const uint8_t *d = ditto_block_data(b);
	size_t prev_end = 0;
	for (unsigned i = 0; i < b->fixup_count; i++) {
		unsigned kind = DITTO_FIX_KIND(f[i].code);
		unsigned v = DITTO_FIX_VALUE(f[i].code);
		if (f[i].pos < prev_end || (size_t)f[i].pos + 2 > b->len)
			return fail(c, DITTO_ECORRUPT,
				    "block at %u: fix-up %u misplaced", off, i);
		prev_end = (size_t)f[i].pos + 2;
		bool ok = (kind == DITTO_FIX_OWNER && v == 0) ||
			  (kind == DITTO_FIX_DEPTH && v >= 1 && v <= max_depth) ||
			  (kind == DITTO_FIX_SELF && v < f[i].pos) ||
			  (kind == DITTO_FIX_REF && v < ref_len);
		if (!ok)
			return fail(c, DITTO_ECORRUPT,
				    "block at %u: fix-up %u points nowhere",
				    off, i);
	}
	/* RR framing: an owner slot (a fix-up), 10 bytes, rdata. */
	size_t p = 0;
	unsigned k = 0;
	for (unsigned rr = 0; rr < b->rr_count; rr++) {
		while (k < b->fixup_count && f[k].pos < p)
			k++;
		if (literal_owner) {
			/* A denial block's owner: a name of its own. */
			if (!block_name(b, &p, b->len))
				return fail(c, DITTO_ECORRUPT, "block at %u: "
					    "RR %u has a malformed owner",
					    off, rr);
		} else if (k == b->fixup_count || f[k].pos != p ||
			   DITTO_FIX_KIND(f[k].code) == DITTO_FIX_SELF) {
			return fail(c, DITTO_ECORRUPT,
				    "block at %u: RR %u has no owner", off, rr);
		} else {
			p += 2;
		}
		if (b->len - p < 10)
			return fail(c, DITTO_ECORRUPT,
				    "block at %u: RR %u truncated", off, rr);
		size_t rd = p + 10, end = rd + dns_get16(d + p + 8);
		if (end > b->len)
			return fail(c, DITTO_ECORRUPT,
				    "block at %u: RR %u overruns", off, rr);
		if (!rdata_names_ok(b, dns_get16(d + p), rd, end))
			return fail(c, DITTO_ECORRUPT,
				    "block at %u: RR %u has a malformed name",
				    off, rr);
		p = end;
	}
	if (p != b->len)
		return fail(c, DITTO_ECORRUPT, "block at %u: %zu stray bytes",
			    off, b->len - p);
	*out = b;
	return 0;
}

static int check_block(struct check *c, uint32_t off, unsigned max_depth,
		       size_t ref_len, const struct ditto_block **out)
{
	return check_block_as(c, off, max_depth, ref_len, false, out);
}

/* A denial block: owners written out down to the apex, NSEC or NSEC3
 * records and their RRSIGs only. */
static int check_denial_block(struct check *c, uint32_t off)
{
	const struct ditto_block *b;
	int rc;

	if (off == DITTO_NONE)
		return 0;
	if ((rc = check_block_as(c, off, c->img->hdr->apex_labels, 0, true,
				 &b)) < 0)
		return rc;
	const uint8_t *d = ditto_block_data(b);
	size_t p = 0;
	for (unsigned rr = 0; rr < b->rr_count; rr++) {
		(void)block_name(b, &p, b->len);
		uint16_t type = dns_get16(d + p);
		if (type != DNS_T_NSEC && type != DNS_T_NSEC3 &&
		    type != DNS_T_RRSIG)
			return fail(c, DITTO_ECORRUPT, "denial block at %u "
				    "holds type %u", off, type);
		p += 10u + dns_get16(d + p + 8);
	}
	if (b->rr_count == 0)
		return fail(c, DITTO_ECORRUPT, "denial block at %u is empty",
			    off);
	return 0;
}

/* A placed RRset (DITTO_RRSET_PLACED): every pointer slot of its blocks
 * holds what its fix-up gives in an answer for name, the node's own, the
 * block right after the question. Blocks are checked already. */
static int check_placed(struct check *c, const struct ditto_rrset *rs,
			const uint8_t *name, size_t len, unsigned labels)
{
	uint8_t loff[DITTO_MAX_LABELS + 1];
	uint32_t blocks[2] = { rs->block, rs->block_do };

	if (name[0] == 1 && name[1] == '*')
		return fail(c, DITTO_ECORRUPT, "RRset type %u: a wildcard's, "
			    "placed", rs->type);
	for (unsigned i = 0, off = 0; i <= labels; off += 1u + name[off])
		loff[i++] = (uint8_t)off;
	for (unsigned k = 0; k < 2; k++) {
		const struct ditto_block *b =
			(const void *)(c->img->blocks + blocks[k]);
		const struct ditto_fixup *f = ditto_block_fixups(b);
		const uint8_t *d = ditto_block_data(b);
		for (unsigned i = 0; i < b->fixup_count; i++) {
			unsigned v = ditto_fix_placed(f[i].code, loff, labels,
						      len);
			if (v > DITTO_MAX_PTR ||
			    dns_get16(d + f[i].pos) != (0xc000u | v))
				return fail(c, DITTO_ECORRUPT, "RRset type %u: "
					    "placed, but slot %u holds another "
					    "pointer", rs->type, i);
		}
	}
	return 0;
}

static int check_rrset(struct check *c, const struct ditto_rrset *rs,
		       unsigned depth)
{
	const struct ditto_block *b, *bd, *x;
	int rc;

	if (dns_type_is_meta(rs->type))
		return fail(c, DITTO_ECORRUPT, "RRset of meta type %u",
			    rs->type);
	if (rs->target != DITTO_NONE && rs->target >= c->img->hdr->node_count)
		return fail(c, DITTO_ECORRUPT, "RRset type %u: bad target node",
			    rs->type);

	if ((rc = check_block(c, rs->block, depth, 0, &b)) < 0 ||
	    (rc = check_block(c, rs->block_do, depth, 0, &bd)) < 0)
		return rc;
	if (rs->extra != DITTO_NONE &&
	    (rc = check_block(c, rs->extra, depth, b->len, &x)) < 0)
		return rc;
	if (rs->extra_do != DITTO_NONE &&
	    (rc = check_block(c, rs->extra_do, depth, bd->len, &x)) < 0)
		return rc;
	return 0;
}

/* A chain target (CNAME, DNAME) is the name in the first RR's rdata, which
 * check_block found well formed. A DNAME's is written out in full, clear
 * of pointer slots, because the synthesis copies those bytes. */
static bool target_in(const struct ditto_block *b, uint16_t type, bool literal)
{
	const uint8_t *d = ditto_block_data(b);
	const struct ditto_fixup *f = ditto_block_fixups(b);
	const size_t rd = 12;	/* owner slot, type, class, TTL, rdlength */

	if (b->rr_count == 0 || b->target != rd || dns_get16(d + 2) != type)
		return false;
	if (!literal)
		return true;
	size_t end = rd + dns_get16(d + 10);
	if (dns_name_len(d + rd, end - rd) != end - rd)
		return false;
	for (unsigned i = 0; i < b->fixup_count; i++)
		if (f[i].pos + 2u > rd && f[i].pos < end)
			return false;
	return true;
}

/* What the flags promise the answer path, the RRsets keep. */
static int check_flags(struct check *c, const struct ditto_image *img,
		       const struct ditto_node *nd)
{
	static const struct {
		uint16_t flag, type;
		bool literal;
	} need[] = {
		{ DITTO_NODE_DELEG, DNS_T_NS, false },
		{ DITTO_NODE_CNAME, DNS_T_CNAME, false },
		{ DITTO_NODE_DNAME, DNS_T_DNAME, true },
	};

	for (size_t k = 0; k < sizeof(need) / sizeof(need[0]); k++) {
		if (!(nd->flags & need[k].flag))
			continue;
		const struct ditto_rrset *rs = ditto_node_rrset(img, nd,
								need[k].type);
		if (!rs)
			return fail(c, DITTO_ECORRUPT, "flags promise type %u",
				    need[k].type);
		if (need[k].type == DNS_T_NS)
			continue;
		const struct ditto_block *b = (const void *)(img->blocks + rs->block),
			*bd = (const void *)(img->blocks + rs->block_do);
		if (!target_in(b, need[k].type, need[k].literal) ||
		    !target_in(bd, need[k].type, need[k].literal))
			return fail(c, DITTO_ECORRUPT, "type %u: bad target",
				    need[k].type);
	}
	return 0;
}

static const struct ditto_image_section *
find_section(const struct ditto_image_hdr *h, uint32_t id)
{
	for (int i = 0; i < DITTO_SECT_COUNT; i++)
		if (h->sections[i].id == id)
			return &h->sections[i];
	return NULL;
}

static int check_header(struct check *c, struct ditto_image *img)
{
	const struct ditto_image_hdr *h = img->hdr;
	static const uint32_t required[] = { DITTO_SECT_NODES, DITTO_SECT_INDEX,
					     DITTO_SECT_NAMES, DITTO_SECT_RRSETS,
					     DITTO_SECT_BLOCKS };

	if (img->size < sizeof(*h))
		return fail(c, DITTO_ETRUNC, "image of %zu bytes is shorter "
			    "than its header", img->size);
	if (memcmp(h->magic, DITTO_IMAGE_MAGIC, 8) != 0)
		return fail(c, DITTO_EMAGIC, "not a ditto image (bad magic)");
	if (h->endian != DITTO_IMAGE_ENDIAN)
		return fail(c, DITTO_EVERSION, "image written with another "
			    "byte order");
	if (h->version != DITTO_IMAGE_VERSION || h->hdr_size != sizeof(*h))
		return fail(c, DITTO_EVERSION, "image format version %u, this "
			    "build reads %u", h->version, DITTO_IMAGE_VERSION);
	if (h->size != img->size)
		return fail(c, DITTO_ETRUNC, "image says %llu bytes, have %zu",
			    (unsigned long long)h->size, img->size);
	if (ditto_image_checksum(img->base, img->size) != h->checksum)
		return fail(c, DITTO_ECHECKSUM, "image checksum mismatch");
	if (h->apex_len == 0 ||
	    dns_name_len(h->apex, h->apex_len) != h->apex_len ||
	    dns_name_labels(h->apex) != h->apex_labels || !name_is_lower(h->apex))
		return fail(c, DITTO_ECORRUPT, "bad apex name");

	for (int i = 0; i < DITTO_SECT_COUNT; i++) {
		const struct ditto_image_section *s = &h->sections[i];
		if (s->id == 0)
			continue;
		if (s->offset % 4 || s->offset < sizeof(*h) ||
		    s->offset > img->size || s->size > img->size - s->offset)
			return fail(c, DITTO_ERANGE, "section %u outside the "
				    "image", s->id);
		for (int j = 0; j < i; j++) {
			const struct ditto_image_section *t = &h->sections[j];
			if (t->id == s->id)
				return fail(c, DITTO_ECORRUPT, "section %u "
					    "twice", s->id);
			if (t->id && s->size && t->size &&
			    s->offset < t->offset + t->size &&
			    t->offset < s->offset + s->size)
				return fail(c, DITTO_ECORRUPT, "sections %u "
					    "and %u overlap", t->id, s->id);
		}
	}
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!find_section(h, required[i]))
			return fail(c, DITTO_ECORRUPT, "section %u missing",
				    required[i]);

	const struct ditto_image_section *sn = find_section(h, DITTO_SECT_NODES),
		*si = find_section(h, DITTO_SECT_INDEX),
		*sr = find_section(h, DITTO_SECT_RRSETS);
	if (h->node_count == 0 || sn->count != h->node_count || sn->offset % 64 ||
	    (uint64_t)sn->count * sizeof(struct ditto_node) != sn->size)
		return fail(c, DITTO_ECORRUPT, "node count inconsistent");
	if (si->count != (uint64_t)h->index_mask + 1 ||
	    (si->count & (si->count - 1)) || si->count <= h->node_count ||
	    (uint64_t)si->count * sizeof(struct ditto_slot) != si->size)
		return fail(c, DITTO_ECORRUPT, "hash index size inconsistent");
	if ((uint64_t)sr->count * sizeof(struct ditto_rrset) != sr->size)
		return fail(c, DITTO_ECORRUPT, "RRset count inconsistent");

	img->nodes = (const void *)(img->base + sn->offset);
	img->index = (const void *)(img->base + si->offset);
	ditto_index_key_init(&img->ikey, h->seed);
	img->names = img->base + find_section(h, DITTO_SECT_NAMES)->offset;
	img->rrsets = (const void *)(img->base + sr->offset);
	c->blocks = find_section(h, DITTO_SECT_BLOCKS);
	img->blocks = img->base + c->blocks->offset;

	const struct ditto_image_section *sd = find_section(h, DITTO_SECT_DENIAL),
		*s3 = find_section(h, DITTO_SECT_NSEC3);
	bool nsec = h->flags & DITTO_IMAGE_NSEC, nsec3 = h->flags & DITTO_IMAGE_NSEC3;
	if ((nsec || nsec3) != !!sd || nsec3 != !!s3 || (nsec && nsec3))
		return fail(c, DITTO_ECORRUPT, "denial sections and flags "
			    "disagree");
	if (sd) {
		if (sd->count != h->node_count ||
		    (uint64_t)sd->count * sizeof(struct ditto_denial) != sd->size)
			return fail(c, DITTO_ECORRUPT, "denial count "
				    "inconsistent");
		img->denial = (const void *)(img->base + sd->offset);
	}
	if (s3) {
		const struct ditto_nsec3_hdr *n3 =
			(const void *)(img->base + s3->offset);
		if (s3->size < sizeof(*n3) ||
		    n3->bucket_bits > DITTO_NSEC3_BUCKET_BITS ||
		    (uint64_t)n3->count * sizeof(struct ditto_nsec3_entry) +
				    (((uint64_t)1 << n3->bucket_bits) + 1) * 4 !=
			    s3->size - sizeof(*n3) || n3->count == 0 ||
		    s3->count != n3->count)
			return fail(c, DITTO_ECORRUPT, "NSEC3 count "
				    "inconsistent");
		if (n3->algorithm != 1)
			return fail(c, DITTO_ECORRUPT, "NSEC3 hash algorithm "
				    "%u", n3->algorithm);
		img->nsec3 = n3;
		img->nsec3_entries = (const void *)(n3 + 1);
		img->nsec3_buckets = (const void *)(img->nsec3_entries +
						    n3->count);
	}
	return 0;
}

/* The DENIAL and NSEC3 sections: every block a denial block, every node
 * index in range, the NSEC3 hashes in strict order, and the nodes in
 * canonical order (the NSEC search relies on it). */
static int check_denial(struct check *c, const struct ditto_image *img)
{
	uint32_t n = img->hdr->node_count;
	int rc;

	if (!img->denial)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct ditto_denial *d = &img->denial[i];
		if (img->nodes[i].denial != i)
			return fail(c, DITTO_ECORRUPT, "node %u: bad denial "
				    "index", i);
		if ((rc = check_denial_block(c, d->nodata)) < 0 ||
		    (rc = check_denial_block(c, d->nodata2)) < 0 ||
		    (rc = check_denial_block(c, d->wild)) < 0)
			return prefix(c, rc, "denial of node", i);
		if ((img->nsec3 ? d->last != DITTO_NONE
				: d->last < i || d->last >= n) ||
		    (d->encloser != DITTO_NONE &&
		     (!img->nsec3 || d->encloser >= i)))
			return fail(c, DITTO_ECORRUPT, "denial of node %u: "
				    "bad node index", i);
		if (i > 0 && dns_name_cmp(
				     img->names + img->nodes[i - 1].name,
				     img->names + img->nodes[i].name) >= 0)
			return fail(c, DITTO_ECORRUPT, "node %u out of "
				    "canonical order", i);
		uint8_t key[8] = { 0 };
		if (!img->nsec3)
			ditto_canon_prefix(img->names + img->nodes[i].name,
					   img->hdr->apex_labels, key);
		if (memcmp(key, d->key, 8) != 0)
			return fail(c, DITTO_ECORRUPT, "denial of node %u: "
				    "bad sort key", i);
	}
	if (!img->nsec3)
		return 0;
	const struct ditto_nsec3_hdr *n3 = img->nsec3;
	const uint32_t *bk = img->nsec3_buckets;
	uint32_t nb = (1u << n3->bucket_bits) + 1;
	if (bk[0] != 0 || bk[nb - 1] != n3->count)
		return fail(c, DITTO_ECORRUPT, "NSEC3 buckets do not span the "
			    "entries");
	for (uint32_t k = 1; k < nb; k++)
		if (bk[k] < bk[k - 1])
			return fail(c, DITTO_ECORRUPT, "NSEC3 bucket %u out of "
				    "order", k);
	for (uint32_t i = 0; i < img->nsec3->count; i++) {
		const struct ditto_nsec3_entry *e = &img->nsec3_entries[i];
		uint32_t k = ditto_nsec3_bucket(e->hash, n3->bucket_bits);
		if (i < bk[k] || i >= bk[k + 1])
			return fail(c, DITTO_ECORRUPT, "NSEC3 entry %u outside "
				    "its bucket", i);
		if (i > 0 && memcmp(e[-1].hash, e->hash, DITTO_NSEC3_HASH) >= 0)
			return fail(c, DITTO_ECORRUPT, "NSEC3 hash %u out of "
				    "order", i);
		if (e->block == DITTO_NONE)
			return fail(c, DITTO_ECORRUPT, "NSEC3 entry %u has no "
				    "block", i);
		if ((rc = check_denial_block(c, e->block)) < 0)
			return prefix(c, rc, "NSEC3 entry", i);
	}
	return 0;
}

/* The cut of node i (not the apex) as the compiler sets it. Its parent
 * comes first in canonical order, so the parent's cut is already checked. */
static uint32_t expected_cut(const struct ditto_image *img, uint32_t i)
{
	const struct ditto_node *nd = &img->nodes[i];
	const struct ditto_node *p = &img->nodes[nd->parent];
	uint32_t cut = ditto_cut_inherited(p->cut, p->flags, nd->parent);

	if (cut != DITTO_NONE)
		return cut;
	return (nd->flags & DITTO_NODE_DELEG) ? i : DITTO_NONE;
}

static int check_nodes(struct check *c, const struct ditto_image *img)
{
	const struct ditto_image_hdr *h = img->hdr;
	uint32_t n = h->node_count;
	uint32_t names_size = find_section(h, DITTO_SECT_NAMES)->size;
	uint32_t nrrsets = find_section(h, DITTO_SECT_RRSETS)->count;
	const uint16_t known = DITTO_NODE_DELEG | DITTO_NODE_DNAME |
			       DITTO_NODE_CNAME | DITTO_NODE_WILDCARD |
			       DITTO_NODE_GLUE | DITTO_NODE_ENT;
	int rc;

	for (uint32_t i = 0; i < n; i++) {
		const struct ditto_node *nd = &img->nodes[i];
		const uint8_t *name = img->names + nd->name;
		if (nd->name > names_size || nd->name_len > names_size - nd->name ||
		    nd->name_len == 0 ||
		    dns_name_len(name, nd->name_len) != nd->name_len ||
		    dns_name_labels(name) != nd->labels || !name_is_lower(name) ||
		    !dns_name_is_sub(name, nd->name_len, h->apex, h->apex_len))
			return fail(c, DITTO_ECORRUPT, "node %u: bad name", i);
		size_t rel = nd->name_len - h->apex_len;
		if (rel > DITTO_NODE_REL)
			rel = DITTO_NODE_REL;
		for (size_t b = 0; b < DITTO_NODE_REL; b++)
			if (nd->rel[b] != (b < rel ? name[b] : 0))
				return fail(c, DITTO_ECORRUPT,
					    "node %u: name copy differs", i);
		if ((nd->flags & ~known) ||
		    (nd->rrset_count && (nd->rrsets > nrrsets ||
					 nd->rrset_count > nrrsets - nd->rrsets)))
			return fail(c, DITTO_ECORRUPT, "node %u: bad fields", i);
		if (i == 0) {
			if (nd->parent != DITTO_NONE || nd->cut != DITTO_NONE ||
			    nd->name_len != h->apex_len)
				return fail(c, DITTO_ECORRUPT,
					    "node 0 is not the apex");
		} else {
			const struct ditto_node *p;
			/* Canonical order puts a parent first, so its name
			 * is already checked. */
			if (nd->parent >= i)
				return fail(c, DITTO_ECORRUPT,
					    "node %u: bad parent", i);
			p = &img->nodes[nd->parent];
			if (p->labels + 1 != nd->labels ||
			    p->name_len != nd->name_len - 1 - name[0] ||
			    memcmp(img->names + p->name, name + 1 + name[0],
				   p->name_len) != 0)
				return fail(c, DITTO_ECORRUPT,
					    "node %u: parent is not its parent",
					    i);
		}
		bool wild = name[0] == 1 && name[1] == '*';
		if (wild != !!(nd->flags & DITTO_NODE_WILDCARD))
			return fail(c, DITTO_ECORRUPT, "node %u: wildcard flag",
				    i);
		if (nd->wildcard != DITTO_NONE &&
		    (nd->wildcard >= n || img->nodes[nd->wildcard].parent != i ||
		     !(img->nodes[nd->wildcard].flags & DITTO_NODE_WILDCARD)))
			return fail(c, DITTO_ECORRUPT, "node %u: bad wildcard", i);
		/* The cut is the one the compiler writes: the parent's cut,
		 * else the parent when the parent owns a DNAME, else this node
		 * when it is delegated (the apex has none, checked above). By
		 * induction over the parents it is then this node or an
		 * ancestor flagged DELEG or DNAME: in range, and its labels
		 * fit the query name's context map. A cut at an unrelated
		 * node of the same depth would send that node's NS or DNAME
		 * block, placed for its own name, in answer to this one. */
		if (i != 0 && nd->cut != expected_cut(img, i))
			return fail(c, DITTO_ECORRUPT,
				    "node %u: bad cut (not its own, its "
				    "parent's or its DNAME parent)", i);
		unsigned depth = wild ? nd->labels - 1u : nd->labels;
		for (uint32_t r = 0; r < nd->rrset_count; r++) {
			const struct ditto_rrset *rs = &img->rrsets[nd->rrsets + r];
			if ((rc = check_rrset(c, rs, depth)) < 0 ||
			    ((rs->flags & DITTO_RRSET_PLACED) &&
			     (rc = check_placed(c, rs, name, nd->name_len,
						nd->labels)) < 0))
				return prefix(c, rc, "node", i);
		}
		if ((rc = check_flags(c, img, nd)) < 0)
			return prefix(c, rc, "node", i);
		for (uint32_t r = 1; r < nd->rrset_count; r++)
			if (img->rrsets[nd->rrsets + r - 1].type >=
			    img->rrsets[nd->rrsets + r].type)
				return fail(c, DITTO_ECORRUPT, "node %u: RRsets "
					    "not in type order", i);
	}

	/* Every node is found through the index, and nothing else is. */
	uint32_t used = 0;
	for (uint32_t s = 0; s <= h->index_mask; s++) {
		if (img->index[s].node == DITTO_NONE)
			continue;
		if (img->index[s].node >= n)
			return fail(c, DITTO_ECORRUPT, "index slot %u: bad node",
				    s);
		used++;
	}
	if (used != n)
		return fail(c, DITTO_ECORRUPT, "index holds %u of %u nodes",
			    used, n);
	for (uint32_t i = 0; i < n; i++) {
		const struct ditto_node *nd = &img->nodes[i];
		if (ditto_image_find(img, img->names + nd->name, nd->name_len) != i)
			return fail(c, DITTO_ECORRUPT, "node %u not indexed", i);
	}
	const struct ditto_block *b;
	if ((rc = check_block(c, h->soa_negative, h->apex_labels, 0, &b)) < 0 ||
	    (rc = check_block(c, h->soa_negative_do, h->apex_labels, 0, &b)) < 0)
		return prefix(c, rc, "negative SOA", 0);
	return 0;
}

int ditto_image_open(const uint8_t *mem, size_t size,
		     void (*release)(void *mem, size_t size),
		     struct ditto_image **out, char *err, size_t errlen)
{
	struct ditto_image *img = calloc(1, sizeof(*img));
	char buf[256];
	struct check c = { .img = img, .err = buf, .errlen = sizeof(buf) };
	int rc;

	buf[0] = 0;
	if (!img)
		return DITTO_ENOMEM;
	img->base = mem;
	img->size = size;
	img->hdr = (const struct ditto_image_hdr *)(const void *)mem;
	if (((uintptr_t)mem & 7) != 0)
		rc = fail(&c, DITTO_EINVAL, "image memory is not 8-byte aligned");
	else if ((rc = check_header(&c, img)) == 0 &&
		 (rc = check_nodes(&c, img)) == 0)
		rc = check_denial(&c, img);
	if (rc < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s", buf);
		free(img);
		return rc;
	}
	img->release = release;
	*out = img;
	return 0;
}

/*
 * Images of 2 MiB and more are aligned to 2 MiB and asked to be backed by
 * transparent huge pages: the answer path touches a few random cache lines
 * per query across the whole image, and with 4 KiB pages nearly every one of
 * them is also a TLB miss.
 */
#define IMAGE_HUGE ((size_t)2 << 20)

static void *image_alloc(size_t size)
{
	size_t align = size >= IMAGE_HUGE ? IMAGE_HUGE : 64;
	size_t rounded = (size + align - 1) & ~(align - 1);
	void *mem = aligned_alloc(align, rounded);

#ifdef MADV_HUGEPAGE
	if (mem && align == IMAGE_HUGE)
		(void)madvise(mem, rounded, MADV_HUGEPAGE);
#endif
	return mem;
}

static void release_malloc(void *mem, size_t size)
{
	(void)size;
	free(mem);
}

int ditto_image_load_file(const char *path, struct ditto_image **out,
			  char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *mem = NULL;
	int rc;

	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0 ||
	    (uint64_t)st.st_size > UINT32_MAX) {
		snprintf(err, errlen, "%s: not a plausible image size", path);
		close(fd);
		return DITTO_ETRUNC;
	}
	mem = image_alloc((size_t)st.st_size);
	if (!mem) {
		close(fd);
		return DITTO_ENOMEM;
	}
	for (size_t off = 0; off < (size_t)st.st_size;) {
		ssize_t r = read(fd, mem + off, (size_t)st.st_size - off);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: read failed", path);
			free(mem);
			close(fd);
			return DITTO_EIO;
		}
		off += (size_t)r;
	}
	close(fd);
	char why[256];
	rc = ditto_image_open(mem, (size_t)st.st_size, release_malloc, out, why,
			      sizeof(why));
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		free(mem);
	}
	return rc;
}

void ditto_image_free(struct ditto_image *img)
{
	if (!img)
		return;
	if (img->release)
		img->release((void *)(uintptr_t)img->base, img->size);
	free(img);
}

uint32_t ditto_image_find(const struct ditto_image *img, const uint8_t *name,
			  size_t len)
{
	const struct ditto_image_hdr *h = img->hdr;

	if (!dns_name_is_sub(name, len, h->apex, h->apex_len))
		return DITTO_NONE;
	return ditto_image_find_hashed(img, name, len,
				       ditto_index_hash(&img->ikey, name, len));
}

