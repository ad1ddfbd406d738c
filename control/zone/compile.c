/* The zone compiler: records read from a master file -> semantic checks ->
 * nodes and RRsets -> pre-rendered blocks -> one image (see image.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ditto/dnssec.h"
#include "ditto/error.h"
#include "ditto/hash.h"
#include "ditto/image.h"
#include "ditto/wire.h"
#include "zone.h"

/* A node while compiling. */
struct cnode {
	uint32_t id;		/* name in the name set */
	uint32_t parent;
	uint32_t cut;
	uint32_t wildcard;
	uint32_t first;		/* first record (records sorted by node) */
	uint32_t count;		/* records */
	uint16_t flags;
	uint8_t labels;
	uint8_t needed;		/* an NS target: glue worth keeping */
};

/* A compression target known to be in the packet when a block is used. */
struct dent {
	const uint8_t *name;	/* lowercase wire suffix */
	uint8_t len;
	uint16_t code;		/* fix-up code of a pointer to it */
};

/* A name in an RRset's rdata whose addresses go in the additional section. */
struct target {
	uint8_t name[256];	/* lowercase */
	uint8_t len;
	uint16_t code;		/* where it is, as seen from an extra block */
};

#define BLOCK_DICT_MAX 512
#define BLOCK_TARGETS_MAX 64

struct bbuf {
	uint8_t data[65536 + 1024];
	size_t len;
	struct ditto_fixup fix[8192];
	size_t nfix;
	unsigned rr_count;
	uint16_t target;
	struct dent dict[BLOCK_DICT_MAX];
	size_t ndict;
	uint8_t lcbuf[BLOCK_DICT_MAX][256];	/* storage for SELF entries */
	size_t nlc;
	struct target targets[BLOCK_TARGETS_MAX];
	size_t ntargets;
	bool overflow;
};

struct compiler {
	struct zone z;
	struct cnode *nodes;
	size_t nnodes;
	/* output heaps */
	uint8_t *blocks;
	size_t blen, bcap;
	struct ditto_rrset *rrsets;
	size_t nrrsets, caprrsets;
	struct bbuf *bb, *xb;	/* main and extra block builders */
	const struct zrec *soa;
	/* NSEC3 records and the RRSIGs over them: no nodes (see image.h) */
	struct zrec *n3recs;
	size_t nn3, capn3;
	bool signed_zone;
	/* denial data (layout) */
	struct ditto_denial *denial;
	struct ditto_nsec3_hdr n3hdr;
	struct ditto_nsec3_entry *n3e;
	size_t nn3e;
	uint32_t *n3b;		/* bucket starts */
	size_t nn3b;
	uint32_t image_flags;
	unsigned dnssec_warnings;
};

#define N3ONLY 0xfffffffeu	/* a name's mark: it owns NSEC3 data only */

static const uint8_t *rec_rdata(const struct zone *z, const struct zrec *r)
{
	return z->rdata + r->rdata;
}

static const uint8_t *node_name(const struct compiler *c, uint32_t n,
				size_t *len)
{
	return nameset_name(&c->z.names, c->nodes[n].id, len);
}

static void limits_default(struct ditto_compile_limits *l,
			   const struct ditto_compile_limits *in)
{
	l->max_names = in && in->max_names ? in->max_names : 20000000;
	l->max_records = in && in->max_records ? in->max_records : 50000000;
	l->max_rrset_bytes = in && in->max_rrset_bytes ? in->max_rrset_bytes
						       : DITTO_MAX_BLOCK;
	if (l->max_rrset_bytes > DITTO_MAX_BLOCK)
		l->max_rrset_bytes = DITTO_MAX_BLOCK;
}

/* ---- nodes ---------------------------------------------------------- */

/* Names in canonical order (RFC 4034 6.1) by plain memcmp of their sort
 * keys (ditto_canon_key()): the canonical comparison at memcmp's speed;
 * the names are lowercase. */
struct sort_key {
	const uint8_t *key;
	uint32_t len;
	uint32_t id;
};

static int cmp_keys(const void *a, const void *b)
{
	const struct sort_key *x = a, *y = b;
	int d = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);

	return d ? d : (x->len > y->len) - (x->len < y->len);
}

/* Sort the node ids by their names in canonical order. */
static int sort_names(const struct nameset *names, uint32_t *ids, size_t k)
{
	struct sort_key *keys = malloc((k ? k : 1) * sizeof(*keys));
	uint8_t *arena;
	size_t used = 0, total = 1;

	for (size_t i = 0; i < k; i++) {
		size_t len;

		(void)nameset_name(names, ids[i], &len);
		total += 2 * len;	/* every byte escaped, at worst */
	}
	arena = malloc(total);

	if (!keys || !arena) {
		free(keys);
		free(arena);
		return DITTO_ENOMEM;
	}
	for (size_t i = 0; i < k; i++) {
		size_t len;
		const uint8_t *name = nameset_name(names, ids[i], &len);

		keys[i].key = arena + used;
		keys[i].len = (uint32_t)ditto_canon_key(name, 0, arena + used,
							 2 * len);
		keys[i].id = ids[i];
		used += keys[i].len;
	}
	qsort(keys, k, sizeof(*keys), cmp_keys);
	for (size_t i = 0; i < k; i++)
		ids[i] = keys[i].id;
	free(keys);
	free(arena);
	return 0;
}

static int cmp_recs(const void *a, const void *b, void *ctx)
{
	const struct zrec *x = a, *y = b;
	const struct zone *z = ctx;

	if (x->owner != y->owner)
		return x->owner < y->owner ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	size_t n = x->rdlen < y->rdlen ? x->rdlen : y->rdlen;
	int d = memcmp(rec_rdata(z, x), rec_rdata(z, y), n);
	if (d)
		return d;
	if (x->rdlen != y->rdlen)
		return x->rdlen < y->rdlen ? -1 : 1;
	return x->line < y->line ? -1 : (x->line > y->line);
}

/* Every in-zone owner and its ancestors up to the apex become nodes,
 * sorted in canonical order (the apex first). */
static int build_nodes(struct compiler *c)
{
	struct zone *z = &c->z;
	size_t nowners = z->names.count;
	uint32_t *ids = NULL;
	int rc = 0;

	/* Collect the owners first: adding ancestors grows the set. */
	uint32_t *owners = malloc((nowners ? nowners : 1) * sizeof(*owners));
	if (!owners)
		return DITTO_ENOMEM;
	size_t k = 0;
	for (size_t off = 0; off < z->names.len;) {
		owners[k++] = (uint32_t)off;
		off += 5u + z->names.data[off + 4];
	}
	for (size_t i = 0; i < k; i++) {
		size_t len;
		const uint8_t *n = nameset_name(&z->names, owners[i], &len);
		uint8_t name[256];
		if (nameset_get_node(&z->names, owners[i]) == N3ONLY)
			continue;
		memcpy(name, n, len);
		if (!dns_name_is_sub(name, len, z->apex, z->apex_len))
			continue;
		/* Walk up: name pointer into the set's copy may move on
		 * growth, so work on the local copy. */
		size_t off = 0;
		while (len - off > z->apex_len) {
			off += 1u + name[off];
			int64_t have = nameset_find(&z->names, name + off,
						    len - off);
			if (have >= 0) {
				/* An NSEC3 owner with names below it is a
				 * name of the tree after all. */
				if (nameset_get_node(&z->names, (uint32_t)have) ==
				    N3ONLY)
					nameset_set_node(&z->names,
							 (uint32_t)have,
							 DITTO_NONE);
				break;
			}
			int64_t id = nameset_add(&z->names, name + off,
						 len - off);
			if (id < 0) {
				rc = (int)id;
				goto out;
			}
		}
	}
	free(owners);
	owners = NULL;

	if (z->names.count > z->limits.max_names) {
		zone_error(z, NULL, "%zu names exceed the limit of %zu",
			   z->names.count, z->limits.max_names);
		return DITTO_ELIMIT;
	}
	if (nameset_find(&z->names, z->apex, z->apex_len) < 0 &&
	    nameset_add(&z->names, z->apex, z->apex_len) < 0)
		return DITTO_ENOMEM;

	ids = malloc(z->names.count * sizeof(*ids));
	if (!ids)
		return DITTO_ENOMEM;
	k = 0;
	for (size_t off = 0; off < z->names.len;) {
		size_t len = z->names.data[off + 4];
		if (dns_name_is_sub(z->names.data + off + 5, len, z->apex,
				    z->apex_len) &&
		    nameset_get_node(&z->names, (uint32_t)off) != N3ONLY)
			ids[k++] = (uint32_t)off;
		off += 5u + len;
	}
	rc = sort_names(&z->names, ids, k);
	if (rc < 0)
		goto out;

	c->nodes = calloc(k, sizeof(*c->nodes));
	if (!c->nodes) {
		rc = DITTO_ENOMEM;
		goto out;
	}
	c->nnodes = k;
	for (size_t i = 0; i < k; i++) {
		struct cnode *n = &c->nodes[i];
		size_t len;
		const uint8_t *name = nameset_name(&z->names, ids[i], &len);
		n->id = ids[i];
		n->labels = (uint8_t)dns_name_labels(name);
		n->parent = n->cut = n->wildcard = DITTO_NONE;
		n->first = 0;
		n->count = 0;
		if (name[0] == 1 && name[1] == '*')
			n->flags |= DITTO_NODE_WILDCARD;
		nameset_set_node(&z->names, ids[i], (uint32_t)i);
	}
	for (size_t i = 1; i < k; i++) {
		struct cnode *n = &c->nodes[i];
		size_t len;
		const uint8_t *name = nameset_name(&z->names, n->id, &len);
		int64_t pid = nameset_find(&z->names, name + 1 + name[0],
					   len - 1 - name[0]);
		n->parent = nameset_get_node(&z->names, (uint32_t)pid);
		if (n->flags & DITTO_NODE_WILDCARD)
			c->nodes[n->parent].wildcard = (uint32_t)i;
	}
out:
	free(owners);
	free(ids);
	return rc;
}

/* NSEC3 records and the RRSIGs that cover them belong to the hashed chain,
 * not to the tree of names: set them aside before the nodes are built, and
 * mark the owners that hold nothing else. An NSEC3 whose owner is no child
 * of the apex stays an ordinary record. */
static int set_aside_nsec3(struct compiler *c)
{
	struct zone *z = &c->z;
	size_t k = 0;

	for (size_t i = 0; i < z->nrec; i++) {
		struct zrec *r = &z->recs[i];
		size_t len;
		const uint8_t *name = nameset_name(&z->names, r->owner, &len);
		bool n3 = r->type == DNS_T_NSEC3 ||
			  (r->type == DNS_T_RRSIG && r->rdlen >= 2 &&
			   dns_get16(rec_rdata(z, r)) == DNS_T_NSEC3);
		if (r->type == DNS_T_RRSIG)
			c->signed_zone = true;
		if (n3 && len > z->apex_len && len - 1 - name[0] == z->apex_len &&
		    dns_name_is_sub(name, len, z->apex, z->apex_len)) {
			if (c->nn3 == c->capn3) {
				size_t cap = c->capn3 ? c->capn3 * 2 : 1024;
				struct zrec *p = realloc(c->n3recs,
							 cap * sizeof(*p));
				if (!p)
					return DITTO_ENOMEM;
				c->n3recs = p;
				c->capn3 = cap;
			}
			c->n3recs[c->nn3++] = *r;
			nameset_set_node(&z->names, r->owner, N3ONLY);
		} else {
			z->recs[k++] = *r;
		}
	}
	z->nrec = k;
	for (size_t i = 0; i < z->nrec; i++)
		nameset_set_node(&z->names, z->recs[i].owner, DITTO_NONE);
	return 0;
}

/* Sort records by node and type, drop duplicates, unify RRset TTLs. */
static void group_records(struct compiler *c)
{
	struct zone *z = &c->z;

	for (size_t i = 0; i < z->nrec; i++)
		z->recs[i].owner = nameset_get_node(&z->names, z->recs[i].owner);
	if (z->nrec)	/* a zone of no records has no array to sort */
		qsort_r(z->recs, z->nrec, sizeof(*z->recs), cmp_recs, z);
	for (size_t i = 0; i < z->nrec; i++) {
		struct zrec *r = &z->recs[i];
		struct cnode *n = &c->nodes[r->owner];
		if (n->count == 0)
			n->first = (uint32_t)i;
		n->count++;
		if (i == 0)
			continue;
		struct zrec *p = &z->recs[i - 1];
		if (p->owner != r->owner || p->type != r->type)
			continue;
		if (p->rdlen == r->rdlen &&
		    memcmp(rec_rdata(z, p), rec_rdata(z, r), r->rdlen) == 0) {
			r->dropped = 1;	/* RFC 2181 5: duplicates are one */
			r->ttl = p->ttl;
			continue;
		}
		/* RRSIGs of one RRset may differ in TTL (original TTL). */
		if (r->ttl != p->ttl && r->type != DNS_T_RRSIG) {
			zone_warn(z, r, "TTL %u differs within its RRset, using %u",
				  r->ttl, p->ttl);
			r->ttl = p->ttl;
		}
	}
}

static bool node_has(const struct compiler *c, const struct cnode *n,
		     uint16_t type, size_t *count)
{
	size_t k = 0;

	for (uint32_t i = n->first; i < n->first + n->count; i++) {
		const struct zrec *r = &c->z.recs[i];
		if (r->type == type && !r->dropped)
			k++;
	}
	if (count)
		*count = k;
	return k > 0;
}

/* The second record of a type at a node, in file order. */
static const struct zrec *second_of_type(const struct compiler *c,
					 const struct cnode *n, uint16_t type)
{
	const struct zrec *first = NULL, *second = NULL;

	for (uint32_t i = n->first; i < n->first + n->count; i++) {
		const struct zrec *r = &c->z.recs[i];
		if (r->type != type || r->dropped)
			continue;
		if (!first || r->line < first->line) {
			second = first;
			first = r;
		} else if (!second || r->line < second->line) {
			second = r;
		}
	}
	return second ? second : first;
}

/* The record of a node that comes last in the file. */
static const struct zrec *last_line(const struct compiler *c,
				    const struct cnode *n)
{
	const struct zrec *last = NULL;

	for (uint32_t i = n->first; i < n->first + n->count; i++)
		if (!last || c->z.recs[i].line > last->line)
			last = &c->z.recs[i];
	return last;
}

static void drop_node_records(struct compiler *c, struct cnode *n,
			      bool keep_addresses, const char *why)
{
	for (uint32_t i = n->first; i < n->first + n->count; i++) {
		struct zrec *r = &c->z.recs[i];
		if (r->dropped)
			continue;
		if (keep_addresses &&
		    (r->type == DNS_T_A || r->type == DNS_T_AAAA))
			continue;
		r->dropped = 1;
		zone_warn(&c->z, r, "record %s, left out", why);
	}
	/* Their flags go with them: the answer path follows a CNAME or
	 * DNAME flag to its RRset. */
	n->flags &= (uint16_t)~(DITTO_NODE_CNAME | DITTO_NODE_DNAME);
}

/* The name at rdata offset off of a record whose rdata starts with names. */
static const uint8_t *rdata_name(const struct zone *z, const struct zrec *r,
				 size_t off, size_t *len)
{
	if (off >= r->rdlen)
		return NULL;
	*len = dns_name_len(rec_rdata(z, r) + off, r->rdlen - off);
	return *len ? rec_rdata(z, r) + off : NULL;
}

/* Offset in rdata of the name whose addresses the additional section
 * carries, or -1. */
static int target_offset(uint16_t type)
{
	switch (type) {
	case DNS_T_NS: return 0;
	case DNS_T_MX: return 2;
	case DNS_T_SRV: return 6;
	default: return -1;
	}
}

static uint32_t find_node(const struct compiler *c, const uint8_t *name,
			  size_t len)
{
	uint8_t lc[256];

	dns_name_lower(lc, name, len);
	int64_t id = nameset_find(&c->z.names, lc, len);
	if (id < 0 || !dns_name_is_sub(lc, len, c->z.apex, c->z.apex_len))
		return DITTO_NONE;
	/* A name that owns only NSEC3 data is no node (N3ONLY). */
	uint32_t n = nameset_get_node(&c->z.names, (uint32_t)id);
	return n < c->nnodes ? n : DITTO_NONE;
}

static bool rdata_well_formed(const struct zone *z, const struct zrec *r)
{
	const uint8_t *d = rec_rdata(z, r);
	size_t n = r->rdlen, a, b;

	switch (r->type) {
	case DNS_T_NS: case DNS_T_CNAME: case DNS_T_PTR: case DNS_T_DNAME:
		return dns_name_len(d, n) == n;
	case DNS_T_MX:
		return n > 2 && dns_name_len(d + 2, n - 2) == n - 2;
	case DNS_T_SRV:
		return n > 6 && dns_name_len(d + 6, n - 6) == n - 6;
	case DNS_T_SOA:
		a = dns_name_len(d, n);
		b = a ? dns_name_len(d + a, n - a) : 0;
		return a && b && n - a - b == 20;
	default:
		return true;
	}
}

/* Semantic checks (RFC 1034, 2181, 6672) and zone cuts. */
static void check_nodes(struct compiler *c)
{
	struct zone *z = &c->z;
	size_t count;

	/* Out-of-zone records have no node. */
	for (size_t i = 0; i < z->nrec; i++) {
		struct zrec *r = &z->recs[i];
		size_t len;
		const uint8_t *name = nameset_name(&z->names, r->owner, &len);
		if (!dns_name_is_sub(name, len, z->apex, z->apex_len)) {
			char t[1024], a[1024];
			zone_error(z, r, "record %s is outside the zone %s",
				   dns_name_to_text(name, t, sizeof(t)),
				   dns_name_to_text(z->apex, a, sizeof(a)));
			r->dropped = 1;
		}
	}
	if (z->out->errors)
		return;
	/* Rdata given in RFC 3597 form is not checked by the parser; the
	 * names the image renders must be well formed. */
	for (size_t i = 0; i < z->nrec; i++) {
		const struct zrec *r = &z->recs[i];
		if (!rdata_well_formed(z, r))
			zone_error(z, r, "malformed rdata for type %u", r->type);
	}
	if (z->out->errors)
		return;
	group_records(c);

	struct cnode *apex = &c->nodes[0];
	if (!node_has(c, apex, DNS_T_SOA, &count) || count != 1) {
		if (count > 1)
			zone_error(z, second_of_type(c, apex, DNS_T_SOA),
				   "%zu SOA records at the apex", count);
		else
			zone_error(z, NULL, "no SOA record at the apex");
	}
	if (!node_has(c, apex, DNS_T_NS, NULL))
		zone_error(z, apex->count ? &z->recs[apex->first] : NULL,
			   "no NS records at the apex");

	for (size_t i = 0; i < c->nnodes; i++) {
		struct cnode *n = &c->nodes[i];
		char t[1024];
		size_t len;
		const uint8_t *name = node_name(c, (uint32_t)i, &len);
		const struct zrec *first = n->count ? &z->recs[n->first] : NULL;

		if (n->count == 0)
			n->flags |= DITTO_NODE_ENT;
		if (i > 0 && node_has(c, n, DNS_T_SOA, NULL))
			zone_error(z, first, "SOA record at %s, not at the apex",
				   dns_name_to_text(name, t, sizeof(t)));
		size_t ncname = 0, ndname = 0, other = 0;
		node_has(c, n, DNS_T_CNAME, &ncname);
		node_has(c, n, DNS_T_DNAME, &ndname);
		for (uint32_t j = n->first; j < n->first + n->count; j++) {
			uint16_t ty = z->recs[j].type;
			if (ty != DNS_T_CNAME && ty != DNS_T_RRSIG &&
			    ty != DNS_T_NSEC && !z->recs[j].dropped)
				other++;
		}
		/* Name the record that came last in the file: the one that
		 * broke the rule. */
		if (ncname && other)
			zone_error(z, last_line(c, n), "CNAME beside other data at %s",
				   dns_name_to_text(name, t, sizeof(t)));
		if (ncname > 1)
			zone_error(z, second_of_type(c, n, DNS_T_CNAME),
				   "%zu CNAME records at %s", ncname,
				   dns_name_to_text(name, t, sizeof(t)));
		if (ndname > 1)
			zone_error(z, second_of_type(c, n, DNS_T_DNAME),
				   "%zu DNAME records at %s", ndname,
				   dns_name_to_text(name, t, sizeof(t)));
		if (ncname)
			n->flags |= DITTO_NODE_CNAME;
		if (ndname)
			n->flags |= DITTO_NODE_DNAME;
		bool ns = node_has(c, n, DNS_T_NS, NULL);
		if (ns && (n->flags & DITTO_NODE_WILDCARD))
			zone_error(z, first, "NS records at wildcard %s",
				   dns_name_to_text(name, t, sizeof(t)));

		if (i == 0)
			continue;
		const struct cnode *p = &c->nodes[n->parent];
		uint32_t inherited = ditto_cut_inherited(p->cut, p->flags,
							 n->parent);
		if (inherited != DITTO_NONE) {
			n->cut = inherited;
			n->flags |= DITTO_NODE_GLUE;
			if (c->nodes[inherited].flags & DITTO_NODE_DNAME)
				drop_node_records(c, n, false,
						  "below a DNAME is occluded");
			else
				drop_node_records(c, n, true,
						  "below a zone cut is occluded");
		} else if (ns) {
			n->cut = (uint32_t)i;
			n->flags |= DITTO_NODE_DELEG;
			for (uint32_t j = n->first; j < n->first + n->count;
			     j++) {
				struct zrec *r = &z->recs[j];
				uint16_t ty = r->type;
				if (ty == DNS_T_NS || ty == DNS_T_DS ||
				    ty == DNS_T_RRSIG || ty == DNS_T_NSEC ||
				    ty == DNS_T_A || ty == DNS_T_AAAA ||
				    r->dropped)
					continue;
				r->dropped = 1;
				zone_warn(z, r, "record at a zone cut is "
					  "occluded, left out");
			}
			/* A DNAME left out there redirects nothing. */
			n->flags &= (uint16_t)~DITTO_NODE_DNAME;
		}
	}

	/* Glue only where needed: addresses below a cut stay when some NS
	 * record names them. */
	for (size_t i = 0; i < z->nrec; i++) {
		const struct zrec *r = &z->recs[i];
		size_t len;
		if (r->type != DNS_T_NS || r->dropped)
			continue;
		const uint8_t *t = rdata_name(z, r, 0, &len);
		uint32_t tn = t ? find_node(c, t, len) : DITTO_NONE;
		if (tn != DITTO_NONE)
			c->nodes[tn].needed = 1;
		if (tn == DITTO_NONE && t &&
		    c->nodes[r->owner].flags & DITTO_NODE_DELEG) {
			uint8_t lc[256];
			dns_name_lower(lc, t, len);
			size_t ol;
			const uint8_t *own = node_name(c, r->owner, &ol);
			if (dns_name_is_sub(lc, len, own, ol)) {
				char tt[1024];
				zone_warn(z, r, "no glue for %s",
					  dns_name_to_text(lc, tt, sizeof(tt)));
			}
		}
	}
	for (size_t i = 0; i < c->nnodes; i++) {
		struct cnode *n = &c->nodes[i];
		if ((n->flags & DITTO_NODE_GLUE) && !n->needed &&
		    !(c->nodes[n->cut].flags & DITTO_NODE_DNAME))
			drop_node_records(c, n, false,
					  "is glue no NS record needs");
	}
}

/* ---- blocks --------------------------------------------------------- */

static void bb_reset(struct bbuf *b, const uint8_t *owner, size_t owner_len,
		     unsigned labels, bool wildcard)
{
	b->len = b->nfix = b->rr_count = b->ndict = b->nlc = b->ntargets = 0;
	b->target = 0;
	b->overflow = false;
	/* The owner's suffixes are in the packet when the block is used,
	 * except a wildcard's own name (the query name stands there). */
	size_t off = 0;
	for (unsigned d = labels; d >= 1; d--) {
		if (!(wildcard && d == labels)) {
			struct dent *e = &b->dict[b->ndict++];
			e->name = owner + off;
			e->len = (uint8_t)(owner_len - off);
			e->code = DITTO_FIX_CODE(DITTO_FIX_DEPTH, d);
		}
		off += 1u + owner[off];
	}
}

static void bb_put(struct bbuf *b, const void *p, size_t n)
{
	if (b->len + n > sizeof(b->data) - 16) {
		b->overflow = true;
		return;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void bb_ptr(struct bbuf *b, uint16_t code)
{
	if (b->nfix == sizeof(b->fix) / sizeof(b->fix[0]) ||
	    b->len > DITTO_MAX_PTR) {
		b->overflow = true;
		return;
	}
	b->fix[b->nfix].pos = (uint16_t)b->len;
	b->fix[b->nfix].code = code;
	b->nfix++;
	uint8_t z[2] = { 0, 0 };
	bb_put(b, z, 2);
}

/* Write a name, compressed against the dictionary when allowed; returns
 * the code by which a later pointer reaches it. */
static uint16_t bb_name(struct bbuf *b, const uint8_t *name, size_t len,
			bool compress)
{
	uint8_t lc[256];
	size_t start = b->len, lit = len;
	uint16_t code = 0;

	dns_name_lower(lc, name, len);
	for (size_t off = 0; compress && off < len - 1 && lit == len;
	     off += 1u + lc[off]) {
		for (size_t i = 0; i < b->ndict; i++) {
			const struct dent *e = &b->dict[i];
			if (e->len == len - off &&
			    memcmp(e->name, lc + off, e->len) == 0) {
				lit = off;
				code = e->code;
				break;
			}
		}
	}
	bb_put(b, name, lit);
	if (lit < len)
		bb_ptr(b, code);
	if (!compress)
		return DITTO_FIX_CODE(DITTO_FIX_SELF, start);
	if (lit == 0)
		return code;	/* only a pointer: reached through it */
	/* The literal labels just written become targets themselves. */
	for (size_t off = 0; off < lit && off < len - 1; off += 1u + lc[off]) {
		if (b->ndict == BLOCK_DICT_MAX || b->nlc == BLOCK_DICT_MAX ||
		    start + off > DITTO_MAX_PTR)
			break;
		memcpy(b->lcbuf[b->nlc], lc + off, len - off);
		struct dent *e = &b->dict[b->ndict++];
		e->name = b->lcbuf[b->nlc++];
		e->len = (uint8_t)(len - off);
		e->code = DITTO_FIX_CODE(DITTO_FIX_SELF, start + off);
	}
	return DITTO_FIX_CODE(DITTO_FIX_SELF, start);
}

static bool compressible(uint16_t type)
{
	/* RFC 3597 4: only the RFC 1035 types may be compressed. */
	return type == DNS_T_NS || type == DNS_T_CNAME || type == DNS_T_SOA ||
	       type == DNS_T_MX || type == DNS_T_PTR;
}

static void bb_add_target(struct bbuf *b, const uint8_t *name, size_t len,
			  uint16_t code)
{
	uint8_t lc[256];

	dns_name_lower(lc, name, len);
	for (size_t i = 0; i < b->ntargets; i++)
		if (b->targets[i].len == len &&
		    memcmp(b->targets[i].name, lc, len) == 0)
			return;
	if (b->ntargets == BLOCK_TARGETS_MAX)
		return;
	struct target *t = &b->targets[b->ntargets++];
	memcpy(t->name, lc, len);
	t->len = (uint8_t)len;
	/* From an extra block, the main block is the reference block. */
	if (DITTO_FIX_KIND(code) == DITTO_FIX_SELF)
		code = DITTO_FIX_CODE(DITTO_FIX_REF, DITTO_FIX_VALUE(code));
	t->code = code;
}

/* Append one RR after its owner: type, class, TTL, rdata. */
static void bb_rr_body(struct bbuf *b, uint16_t type, uint32_t ttl,
		       const uint8_t *rd, size_t rdlen)
{
	uint8_t hdr[10];

	dns_put16(hdr, type);
	dns_put16(hdr + 2, DNS_CLASS_IN);
	dns_put32(hdr + 4, ttl);
	dns_put16(hdr + 8, 0);
	bb_put(b, hdr, 10);
	size_t rdstart = b->len;
	bool comp = compressible(type);
	size_t nlen, pre = 0;

	switch (type) {
	case DNS_T_NS: case DNS_T_CNAME: case DNS_T_PTR: case DNS_T_DNAME:
		pre = 0;
		break;
	case DNS_T_MX:
		pre = 2;
		break;
	case DNS_T_SRV:
		pre = 6;
		break;
	case DNS_T_SOA:
		pre = 0;
		break;
	default:
		bb_put(b, rd, rdlen);
		goto done;
	}
	if (rdlen < pre || !(nlen = dns_name_len(rd + pre, rdlen - pre))) {
		bb_put(b, rd, rdlen);	/* malformed stays opaque */
		goto done;
	}
	bb_put(b, rd, pre);
	if ((type == DNS_T_CNAME || type == DNS_T_DNAME) && b->target == 0)
		b->target = (uint16_t)b->len;
	uint16_t code = bb_name(b, rd + pre, nlen, comp);
	if (target_offset(type) >= 0)
		bb_add_target(b, rd + pre, nlen, code);
	size_t off = pre + nlen;
	if (type == DNS_T_SOA) {
		size_t n2 = dns_name_len(rd + off, rdlen - off);
		if (n2 && rdlen - off - n2 == 20) {
			bb_name(b, rd + off, n2, comp);
			off += n2;
		}
	}
	bb_put(b, rd + off, rdlen - off);
done:
	if (b->len - rdstart > 65535)
		b->overflow = true;
	else
		dns_put16(b->data + rdstart - 2, (unsigned)(b->len - rdstart));
	b->rr_count++;
}

/* Append one RR whose owner is reached by owner_code. */
static void bb_rr(struct bbuf *b, uint16_t owner_code, uint16_t type,
		  uint32_t ttl, const uint8_t *rd, size_t rdlen)
{
	bb_ptr(b, owner_code);
	bb_rr_body(b, type, ttl, rd, rdlen);
}

/* Append one RR with its owner written out (a denial block's). */
static void bb_rr_named(struct bbuf *b, const uint8_t *owner, size_t len,
			uint16_t type, uint32_t ttl, const uint8_t *rd,
			size_t rdlen)
{
	bb_name(b, owner, len, true);
	bb_rr_body(b, type, ttl, rd, rdlen);
}

static int heap_reserve(struct compiler *c, size_t n)
{
	if (c->blen + n <= c->bcap)
		return 0;
	size_t cap = c->bcap ? c->bcap * 2 : 1 << 20;
	while (cap < c->blen + n)
		cap *= 2;
	if (cap > UINT32_MAX)
		return DITTO_ELIMIT;
	uint8_t *p = realloc(c->blocks, cap);
	if (!p)
		return DITTO_ENOMEM;
	c->blocks = p;
	c->bcap = cap;
	return 0;
}

/* Append a finished block to the BLOCKS heap; *off receives its offset. */
static int bb_emit(struct compiler *c, const struct bbuf *b,
		   const struct zrec *at, uint32_t *off)
{
	struct ditto_block h = {
		.len = (uint16_t)b->len,
		.rr_count = (uint16_t)b->rr_count,
		.fixup_count = (uint16_t)b->nfix,
		.target = b->target,
	};

	if (b->overflow || b->len > c->z.limits.max_rrset_bytes) {
		zone_error(&c->z, at, "RRset renders to more than %zu bytes",
			   c->z.limits.max_rrset_bytes);
		return DITTO_ELIMIT;
	}
	size_t size = ditto_block_size(&h);
	int rc = heap_reserve(c, size);
	if (rc < 0)
		return rc;
	uint8_t *p = c->blocks + c->blen;
	memset(p, 0, size);
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), b->fix, b->nfix * sizeof(b->fix[0]));
	memcpy(p + sizeof(h) + b->nfix * sizeof(b->fix[0]), b->data, b->len);
	*off = (uint32_t)c->blen;
	c->blen += size;
	return 0;
}

/* Fill the pointer slots of a main block with what its fix-ups give in
 * an answer for the node's own name, the block right after the question
 * (see DITTO_RRSET_PLACED). False when that cannot be: a wildcard (the
 * query name stands for it), a reference fix-up, a pointer past 14 bits. */
static bool bb_place(const struct compiler *c, struct bbuf *b, uint32_t node)
{
	size_t len;
	const uint8_t *name = node_name(c, node, &len);
	unsigned labels = c->nodes[node].labels;
	uint8_t loff[DITTO_MAX_LABELS + 1];

	if (c->nodes[node].flags & DITTO_NODE_WILDCARD)
		return false;
	for (unsigned i = 0, off = 0; i <= labels; off += 1u + name[off])
		loff[i++] = (uint8_t)off;
	for (size_t i = 0; i < b->nfix; i++) {
		unsigned v = ditto_fix_placed(b->fix[i].code, loff, labels, len);
		if (v > DITTO_MAX_PTR)
			return false;
		b->data[b->fix[i].pos] = (uint8_t)(0xc0 | v >> 8);
		b->data[b->fix[i].pos + 1] = (uint8_t)v;
	}
	return true;
}

static void bb_owner_context(const struct compiler *c, struct bbuf *b,
			     uint32_t node)
{
	size_t len;
	const uint8_t *name = node_name(c, node, &len);

	bb_reset(b, name, len, c->nodes[node].labels,
		 c->nodes[node].flags & DITTO_NODE_WILDCARD);
}

/* Records [from, to) are one RRset; append them (and, with sigs, the
 * RRSIGs at the node that cover its type). */
static void bb_rrset(struct compiler *c, struct bbuf *b, const struct cnode *n,
		     uint32_t from, uint32_t to, uint32_t ttl, bool sigs)
{
	const struct zone *z = &c->z;
	uint16_t type = z->recs[from].type;

	/* RRSIGs asked for as a type keep each its own TTL: they cover
	 * RRsets of different TTLs (RFC 4034 3). */
	for (uint32_t i = from; i < to; i++) {
		const struct zrec *r = &z->recs[i];
		if (!r->dropped)
			bb_rr(b, DITTO_FIX_CODE(DITTO_FIX_OWNER, 0), r->type,
			      type == DNS_T_RRSIG ? r->ttl : ttl,
			      rec_rdata(z, r), r->rdlen);
	}
	if (!sigs)
		return;
	/* An RRSIG has the TTL of the RRset it covers, as sent: the negative
	 * SOA's is capped at MINIMUM with it (RFC 4034 3, RFC 2308 3). */
	for (uint32_t i = n->first; i < n->first + n->count; i++) {
		const struct zrec *r = &z->recs[i];
		if (r->type != DNS_T_RRSIG || r->dropped || r->rdlen < 2 ||
		    dns_get16(rec_rdata(z, r)) != type)
			continue;
		bb_rr(b, DITTO_FIX_CODE(DITTO_FIX_OWNER, 0), r->type, ttl,
		      rec_rdata(z, r), r->rdlen);
	}
}

static bool covers(const struct zone *z, const struct zrec *r, uint16_t type);

/* The additional-section block for the targets collected in main. */
static int emit_extra(struct compiler *c, uint32_t node, const struct bbuf *main,
		      bool sigs, uint32_t *off)
{
	struct bbuf *x = c->xb;
	const struct zone *z = &c->z;

	*off = DITTO_NONE;
	if (main->ntargets == 0)
		return 0;
	bb_owner_context(c, x, node);
	/* Every address first, then their RRSIGs: an additional section cut
	 * short keeps whole addresses rather than signatures. */
	for (int pass = 0; pass < (sigs ? 2 : 1); pass++) {
		for (size_t t = 0; t < main->ntargets; t++) {
			const struct target *tg = &main->targets[t];
			uint32_t tn = find_node(c, tg->name, tg->len);
			if (tn == DITTO_NONE)
				continue;
			const struct cnode *n = &c->nodes[tn];
			if ((n->cut != DITTO_NONE &&
			     (c->nodes[n->cut].flags & DITTO_NODE_DNAME)) ||
			    (pass == 1 && (n->flags & DITTO_NODE_GLUE)))
				continue;
			static const uint16_t types[] = { DNS_T_A, DNS_T_AAAA };
			for (int k = 0; k < 2; k++) {
				uint32_t ttl = 0;
				for (uint32_t i = n->first; i < n->first + n->count;
				     i++) {
					const struct zrec *r = &z->recs[i];
					if (r->type != types[k] || r->dropped)
						continue;
					ttl = r->ttl;
					if (pass == 0)
						bb_rr(x, tg->code, r->type, r->ttl,
						      rec_rdata(z, r), r->rdlen);
				}
				for (uint32_t i = n->first;
				     pass == 1 && i < n->first + n->count; i++) {
					const struct zrec *r = &z->recs[i];
					if (covers(z, r, types[k]))
						bb_rr(x, tg->code, r->type, ttl,
						      rec_rdata(z, r), r->rdlen);
				}
			}
		}
	}
	if (x->rr_count == 0)
		return 0;
	return bb_emit(c, x, &z->recs[c->nodes[node].first], off);
}

static int push_rrset(struct compiler *c, const struct ditto_rrset *rs)
{
	if (c->nrrsets == c->caprrsets) {
		size_t cap = c->caprrsets ? c->caprrsets * 2 : 4096;
		struct ditto_rrset *p = realloc(c->rrsets, cap * sizeof(*p));
		if (!p)
			return DITTO_ENOMEM;
		c->rrsets = p;
		c->caprrsets = cap;
	}
	c->rrsets[c->nrrsets++] = *rs;
	return 0;
}

/* The node a CNAME RRset [from, to) points to in this zone, if any. */
static uint32_t cname_target(const struct compiler *c, uint32_t from,
			     uint32_t to)
{
	const struct zone *z = &c->z;

	for (uint32_t i = from; i < to; i++) {
		const struct zrec *r = &z->recs[i];
		size_t len;
		if (r->type != DNS_T_CNAME || r->dropped)
			continue;
		const uint8_t *t = rdata_name(z, r, 0, &len);
		return t ? find_node(c, t, len) : DITTO_NONE;
	}
	return DITTO_NONE;
}

/* Render every RRset of node i; returns 0 or an error. */
static int render_node(struct compiler *c, uint32_t idx, struct ditto_node *out)
{
	struct cnode *n = &c->nodes[idx];
	const struct zone *z = &c->z;
	bool signed_node = false;
	int rc;

	out->rrsets = (uint32_t)c->nrrsets;
	for (uint32_t i = n->first; i < n->first + n->count; i++)
		if (z->recs[i].type == DNS_T_RRSIG && !z->recs[i].dropped)
			signed_node = true;

	for (uint32_t i = n->first; i < n->first + n->count;) {
		uint32_t j = i;
		uint16_t type = z->recs[i].type;
		bool any = false;
		while (j < n->first + n->count && z->recs[j].type == type) {
			any |= !z->recs[j].dropped;
			j++;
		}
		if (!any) {
			i = j;
			continue;
		}
		uint32_t ttl = z->recs[i].ttl;
		for (uint32_t k = i; k < j; k++)
			if (!z->recs[k].dropped) {
				ttl = z->recs[k].ttl;
				break;
			}
		struct ditto_rrset rs = { .type = type, .ttl = ttl,
					  .extra = DITTO_NONE,
					  .extra_do = DITTO_NONE,
					  .target = cname_target(c, i, j) };
		bb_owner_context(c, c->bb, idx);
		bb_rrset(c, c->bb, n, i, j, ttl, false);
		bool placed = bb_place(c, c->bb, idx);
		rc = bb_emit(c, c->bb, &z->recs[i], &rs.block);
		if (rc < 0)
			return rc;
		rc = emit_extra(c, idx, c->bb, false, &rs.extra);
		if (rc < 0)
			return rc;
		rs.block_do = rs.block;
		rs.extra_do = rs.extra;
		if (signed_node && type != DNS_T_RRSIG) {
			bb_owner_context(c, c->bb, idx);
			bb_rrset(c, c->bb, n, i, j, ttl, true);
			if (c->bb->rr_count > 0) {
				rs.flags |= DITTO_RRSET_SIGNED;
				placed &= bb_place(c, c->bb, idx);
				rc = bb_emit(c, c->bb, &z->recs[i], &rs.block_do);
				if (rc == 0)
					rc = emit_extra(c, idx, c->bb, true,
							&rs.extra_do);
				if (rc < 0)
					return rc;
			}
		}
		if (placed)
			rs.flags |= DITTO_RRSET_PLACED;
		if ((rc = push_rrset(c, &rs)) < 0)
			return rc;
		out->rrset_count++;
		i = j;
	}
	return 0;
}

/* The negative-answer SOA: TTL min(SOA TTL, MINIMUM) (RFC 2308 3, 5). */
static int render_soa_negative(struct compiler *c, struct ditto_image_hdr *h)
{
	const struct zone *z = &c->z;
	const struct cnode *apex = &c->nodes[0];
	int rc;

	for (uint32_t i = apex->first; i < apex->first + apex->count; i++) {
		const struct zrec *r = &z->recs[i];
		if (r->type != DNS_T_SOA || r->dropped)
			continue;
		uint32_t minimum = dns_get32(rec_rdata(z, r) + r->rdlen - 4);
		uint32_t ttl = r->ttl < minimum ? r->ttl : minimum;
		h->serial = dns_get32(rec_rdata(z, r) + r->rdlen - 20);
		h->neg_ttl = ttl;
		bb_owner_context(c, c->bb, 0);
		bb_rrset(c, c->bb, apex, i, i + 1, ttl, false);
		if ((rc = bb_emit(c, c->bb, r, &h->soa_negative)) < 0)
			return rc;
		bb_owner_context(c, c->bb, 0);
		bb_rrset(c, c->bb, apex, i, i + 1, ttl, true);
		return bb_emit(c, c->bb, r, &h->soa_negative_do);
	}
	return DITTO_ESEMANTIC;
}

/* ---- denial of existence (DNSSEC) ------------------------------------ */

#define DNSSEC_WARN_SHOWN 20	/* warnings written out per compile */

static void dnssec_warn(struct compiler *c, const struct zrec *r,
			const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A problem of the signed data: reported, never a refusal (the primary
 * signed the zone; resolvers judge it). Past the first few, counted. */
static void dnssec_warn(struct compiler *c, const struct zrec *r,
			const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	if (c->dnssec_warnings++ >= DNSSEC_WARN_SHOWN) {
		c->z.out->warnings++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	zone_warn(&c->z, r, "DNSSEC: %s", msg);
}

static bool covers(const struct zone *z, const struct zrec *r, uint16_t type)
{
	return r->type == DNS_T_RRSIG && !r->dropped && r->rdlen >= 2 &&
	       dns_get16(rec_rdata(z, r)) == type;
}

/* A denial block: the records of type among recs[from, to) and the RRSIGs
 * there that cover them, each with its owner written out down to the apex,
 * so the block serves in the answer to any name of the zone. */
static int emit_denial(struct compiler *c, const uint8_t *owner, size_t len,
		       const struct zrec *recs, size_t from, size_t to,
		       uint16_t type, bool (*keep)(const struct compiler *,
						   const struct zrec *),
		       uint32_t *off)
{
	const struct zone *z = &c->z;
	struct bbuf *b = c->bb;
	bool sig = false;

	*off = DITTO_NONE;
	bb_owner_context(c, b, 0);
	for (size_t i = from; i < to; i++) {
		const struct zrec *r = &recs[i];
		if (r->type == type && !r->dropped && (!keep || keep(c, r)))
			bb_rr_named(b, owner, len, r->type, r->ttl,
				    rec_rdata(z, r), r->rdlen);
	}
	if (b->rr_count == 0)
		return 0;
	for (size_t i = from; i < to; i++)
		if (covers(z, &recs[i], type)) {
			bb_rr_named(b, owner, len, DNS_T_RRSIG, recs[i].ttl,
				    rec_rdata(z, &recs[i]), recs[i].rdlen);
			sig = true;
		}
	if (!sig) {
		char t[1024];
		dnssec_warn(c, &recs[from], "%s type %u has no RRSIG",
			    dns_name_to_text(owner, t, sizeof(t)), type);
	}
	return bb_emit(c, b, &recs[from], off);
}

/* Every authoritative RRset signed (RFC 4035 2.2): what a validator
 * needs. Delegations sign only their DS and NSEC; glue nothing. */
static void check_signatures(struct compiler *c)
{
	const struct zone *z = &c->z;

	for (size_t i = 0; i < c->nnodes; i++) {
		const struct cnode *n = &c->nodes[i];
		if (n->flags & DITTO_NODE_GLUE)
			continue;
		for (uint32_t k = n->first; k < n->first + n->count; k++) {
			const struct zrec *r = &z->recs[k];
			if (r->dropped || r->type == DNS_T_RRSIG ||
			    (k > n->first && r->type == z->recs[k - 1].type &&
			     !z->recs[k - 1].dropped))
				continue;
			if ((n->flags & DITTO_NODE_DELEG) &&
			    r->type != DNS_T_DS && r->type != DNS_T_NSEC)
				continue;
			bool sig = false;
			for (uint32_t j = n->first; j < n->first + n->count; j++)
				sig |= covers(z, &z->recs[j], r->type);
			if (!sig) {
				char t[1024];
				size_t len;
				dnssec_warn(c, r, "%s type %u is not signed",
					    dns_name_to_text(node_name(
						    c, (uint32_t)i, &len), t,
						    sizeof(t)), r->type);
			}
		}
	}
}

/* "*.<name>" in out; false when it would be too long. */
static bool wildcard_of(const uint8_t *name, size_t len, uint8_t *out,
			size_t *olen)
{
	if (len + 2 > DITTO_MAX_NAME)
		return false;
	out[0] = 1;
	out[1] = '*';
	memcpy(out + 2, name, len);
	*olen = len + 2;
	return true;
}

/* The NSEC at or before name in canonical order, searched in the subtree
 * [from, last] of a node known to come before it. */
static uint32_t nsec_before(const struct compiler *c,
			    const struct ditto_denial *d, uint32_t from,
			    uint32_t last, const uint8_t *name)
{
	uint32_t lo = from, hi = last;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo + 1) / 2;
		size_t len;
		if (dns_name_cmp(node_name(c, mid, &len), name) < 0)
			lo = mid;
		else
			hi = mid - 1;
	}
	return d[lo].nodata;
}

static bool nsec_next_is(const struct compiler *c, const struct cnode *n,
			 const uint8_t *next, size_t nlen)
{
	const struct zone *z = &c->z;

	for (uint32_t k = n->first; k < n->first + n->count; k++) {
		const struct zrec *r = &z->recs[k];
		uint8_t lc[256];
		if (r->type != DNS_T_NSEC || r->dropped)
			continue;
		size_t l = dns_name_len(rec_rdata(z, r), r->rdlen);
		if (!l || l != nlen)
			return false;
		dns_name_lower(lc, rec_rdata(z, r), l);
		return memcmp(lc, next, nlen) == 0;
	}
	return false;
}

static int build_nsec(struct compiler *c)
{
	const struct zone *z = &c->z;
	size_t n = c->nnodes;
	struct ditto_denial *d = c->denial;
	uint32_t prev = DITTO_NONE, first_own = DITTO_NONE, last_own = DITTO_NONE;
	int rc;

	for (size_t i = 0; i < n; i++) {
		const struct cnode *nd = &c->nodes[i];
		uint32_t own = DITTO_NONE;
		size_t len;
		const uint8_t *name = node_name(c, (uint32_t)i, &len);
		char t[1024];

		if (!(nd->flags & DITTO_NODE_GLUE) &&
		    (rc = emit_denial(c, name, len, z->recs, nd->first,
				      nd->first + nd->count, DNS_T_NSEC, NULL,
				      &own)) < 0)
			return rc;
		if (own != DITTO_NONE) {
			/* The chain: each NSEC names the next owner. */
			if (last_own != DITTO_NONE) {
				const struct cnode *pn = &c->nodes[last_own];
				if (!nsec_next_is(c, pn, name, len))
					dnssec_warn(c, &z->recs[pn->first],
						    "the NSEC chain skips %s",
						    dns_name_to_text(
							    name, t, sizeof(t)));
			}
			if (first_own == DITTO_NONE)
				first_own = (uint32_t)i;
			last_own = (uint32_t)i;
			prev = own;
		} else if (!(nd->flags & (DITTO_NODE_GLUE | DITTO_NODE_ENT)) &&
			   nd->count) {
			dnssec_warn(c, &z->recs[nd->first], "no NSEC at %s",
				    dns_name_to_text(name, t, sizeof(t)));
		}
		d[i] = (struct ditto_denial){ .nodata = prev,
					      .nodata2 = DITTO_NONE,
					      .wild = DITTO_NONE,
					      .last = (uint32_t)i,
					      .encloser = DITTO_NONE };
		ditto_canon_prefix(name, c->nodes[0].labels, d[i].key);
	}
	if (last_own != DITTO_NONE && first_own == 0 &&
	    !nsec_next_is(c, &c->nodes[last_own], z->apex, z->apex_len))
		dnssec_warn(c, &z->recs[c->nodes[last_own].first],
			    "the last NSEC does not lead back to the apex");
	for (size_t i = n; i-- > 1;) {
		uint32_t p = c->nodes[i].parent;
		if (d[i].last > d[p].last)
			d[p].last = d[i].last;
	}
	for (size_t i = 0; i < n; i++) {
		const struct cnode *nd = &c->nodes[i];
		uint8_t w[256];
		size_t len, wl;
		const uint8_t *name = node_name(c, (uint32_t)i, &len);
		if (nd->wildcard != DITTO_NONE ||
		    (nd->flags & (DITTO_NODE_GLUE | DITTO_NODE_DELEG)) ||
		    !wildcard_of(name, len, w, &wl))
			continue;
		d[i].wild = nsec_before(c, d, (uint32_t)i, d[i].last, w);
	}
	c->image_flags |= DITTO_IMAGE_NSEC;
	return 0;
}

/* NSEC3 (RFC 5155) ---------------------------------------------------- */

struct n3build {
	struct ditto_nsec3_entry e;
	uint8_t flags;
	uint8_t next[DITTO_NSEC3_HASH];
};

static int cmp_n3(const void *a, const void *b)
{
	return memcmp(((const struct n3build *)a)->e.hash,
		      ((const struct n3build *)b)->e.hash, DITTO_NSEC3_HASH);
}

/* An NSEC3 of the chain the NSEC3PARAM names (RFC 5155 7.3). */
static bool n3_of_chain(const struct compiler *c, const struct zrec *r)
{
	const uint8_t *rd = rec_rdata(&c->z, r);
	const struct ditto_nsec3_hdr *h = &c->n3hdr;

	return r->rdlen >= 6 && rd[0] == h->algorithm &&
	       dns_get16(rd + 2) == h->iterations && rd[4] == h->salt_len &&
	       r->rdlen >= 6u + rd[4] && memcmp(rd + 5, h->salt, rd[4]) == 0 &&
	       rd[5 + rd[4]] == DITTO_NSEC3_HASH &&
	       r->rdlen >= 6u + rd[4] + DITTO_NSEC3_HASH;
}

/* The entry matching hash, or the one covering it (the greatest below it,
 * or the last: the chain wraps), as an index. */
static size_t n3_find(const struct n3build *e, size_t n, const uint8_t *hash,
		      bool *match)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {	/* first entry > hash */
		size_t mid = lo + (hi - lo) / 2;
		if (memcmp(e[mid].e.hash, hash, DITTO_NSEC3_HASH) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t at = lo ? lo - 1 : n - 1;
	*match = lo && memcmp(e[at].e.hash, hash, DITTO_NSEC3_HASH) == 0;
	return at;
}

static void n3_hash(const struct compiler *c, const uint8_t *name, size_t len,
		    uint8_t *out)
{
	ditto_nsec3_hash(name, len, c->n3hdr.salt, c->n3hdr.salt_len,
			 c->n3hdr.iterations, out);
}

static int build_nsec3(struct compiler *c, const struct zrec *param)
{
	const struct zone *z = &c->z;
	const uint8_t *rd = rec_rdata(z, param);
	struct ditto_nsec3_hdr *h = &c->n3hdr;
	struct ditto_denial *d = c->denial;
	size_t n = c->nnodes, ne = 0;
	struct n3build *e = NULL;
	uint32_t *cpe = NULL;
	bool other = false;
	int rc = 0;

	if (param->rdlen < 5 || param->rdlen != 5u + rd[4] || rd[0] != 1) {
		dnssec_warn(c, param, "NSEC3PARAM with an unknown hash or "
			    "malformed: no NSEC3 proofs");
		return 0;
	}
	memset(h, 0, sizeof(*h));
	h->algorithm = rd[0];
	h->iterations = dns_get16(rd + 2);
	/* RFC 9276 3.1: 0 iterations; every one is a SHA-1 per denial here,
	 * and resolvers may treat many as insecure (RFC 9276 3.2). */
	if (h->iterations > 100)
		dnssec_warn(c, param, "NSEC3 with %u iterations: each costs "
			    "a hash per denial answered, and resolvers may "
			    "treat the zone as insecure (RFC 9276 uses 0)",
			    h->iterations);
	h->salt_len = rd[4];
	memcpy(h->salt, rd + 5, rd[4]);

	if (c->nn3)	/* an NSEC3PARAM without NSEC3s has nothing to sort */
		qsort_r(c->n3recs, c->nn3, sizeof(*c->n3recs), cmp_recs,
			&c->z);
	e = calloc(c->nn3 ? c->nn3 : 1, sizeof(*e));
	cpe = malloc(n * sizeof(*cpe));
	if (!e || !cpe) {
		rc = DITTO_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < c->nn3;) {
		size_t j = i, len;
		while (j < c->nn3 && c->n3recs[j].owner == c->n3recs[i].owner)
			j++;
		const uint8_t *name = nameset_name(&z->names, c->n3recs[i].owner,
						   &len);
		struct n3build *b = &e[ne];
		bool any = false;
		for (size_t k = i; k < j; k++) {
			const struct zrec *r = &c->n3recs[k];
			if (r->type != DNS_T_NSEC3)
				continue;
			if (!n3_of_chain(c, r)) {
				other = true;
				continue;
			}
			const uint8_t *x = rec_rdata(z, r);
			b->flags = x[1];
			memcpy(b->next, x + 6 + x[4], DITTO_NSEC3_HASH);
			any = true;
		}
		if (any && ditto_base32hex_decode(name + 1, name[0], b->e.hash,
						  DITTO_NSEC3_HASH) !=
				   DITTO_NSEC3_HASH) {
			char t[1024];
			dnssec_warn(c, &c->n3recs[i], "NSEC3 owner %s is no "
				    "base32hex SHA-1 hash, left out",
				    dns_name_to_text(name, t, sizeof(t)));
			any = false;
		}
		if (any) {
			if ((rc = emit_denial(c, name, len, c->n3recs, i, j,
					      DNS_T_NSEC3, n3_of_chain,
					      &b->e.block)) < 0)
				goto out;
			ne++;
		}
		i = j;
	}
	if (other)
		dnssec_warn(c, NULL, "NSEC3 records of parameters other than "
			    "the NSEC3PARAM's are not used");
	if (ne == 0) {
		dnssec_warn(c, param, "no NSEC3 records of the NSEC3PARAM's "
			    "chain: no NSEC3 proofs");
		goto out;
	}
	qsort(e, ne, sizeof(*e), cmp_n3);
	for (size_t k = 0; k < ne; k++) {
		const struct n3build *nx = &e[(k + 1) % ne];
		if (memcmp(e[k].next, nx->e.hash, DITTO_NSEC3_HASH) != 0) {
			dnssec_warn(c, NULL, "the NSEC3 chain is broken after "
				    "hash %u of %zu", (unsigned)k, ne);
			break;
		}
	}

	for (size_t i = 0; i < n; i++) {
		const struct cnode *nd = &c->nodes[i];
		uint8_t hash[DITTO_NSEC3_HASH], w[256];
		size_t len, wl;
		const uint8_t *name = node_name(c, (uint32_t)i, &len);
		bool m;
		char t[1024];

		d[i] = (struct ditto_denial){ DITTO_NONE, DITTO_NONE,
					      DITTO_NONE, DITTO_NONE,
					      DITTO_NONE, { 0 } };
		cpe[i] = DITTO_NONE;
		if (nd->flags & DITTO_NODE_GLUE)
			continue;
		n3_hash(c, name, len, hash);
		size_t at = n3_find(e, ne, hash, &m);
		if (m) {
			d[i].nodata = e[at].e.block;
			cpe[i] = (uint32_t)i;
		} else if (i > 0 && cpe[nd->parent] != DITTO_NONE) {
			/* Opt-out (RFC 5155 7.2.3, 7.2.4): the closest
			 * provable encloser and the next closer name. */
			uint32_t p = cpe[nd->parent], nc = (uint32_t)i;
			while (c->nodes[nc].parent != p)
				nc = c->nodes[nc].parent;
			size_t nl;
			const uint8_t *ncn = node_name(c, nc, &nl);
			uint8_t nh[DITTO_NSEC3_HASH];
			n3_hash(c, ncn, nl, nh);
			size_t cov = n3_find(e, ne, nh, &m);
			cpe[i] = p;
			d[i].nodata = d[p].nodata;
			d[i].nodata2 = e[cov].e.block;
			d[i].encloser = p;
			bool insecure = (nd->flags & DITTO_NODE_ENT) ||
					((nd->flags & DITTO_NODE_DELEG) &&
					 !node_has(c, nd, DNS_T_DS, NULL));
			if (!insecure)
				dnssec_warn(c, nd->count ? &z->recs[nd->first]
							 : NULL,
					    "no NSEC3 matches %s",
					    dns_name_to_text(name, t, sizeof(t)));
			else if (!(e[cov].flags & 1) && !m)
				dnssec_warn(c, nd->count ? &z->recs[nd->first]
							 : NULL,
					    "no NSEC3 matches %s and the one "
					    "covering it is not opt-out",
					    dns_name_to_text(name, t, sizeof(t)));
		} else if (i == 0) {
			dnssec_warn(c, NULL, "no NSEC3 matches the apex");
		}
		if (nd->wildcard == DITTO_NONE &&
		    !(nd->flags & DITTO_NODE_DELEG) &&
		    wildcard_of(name, len, w, &wl)) {
			n3_hash(c, w, wl, hash);
			at = n3_find(e, ne, hash, &m);
			d[i].wild = e[at].e.block;
		}
	}
	c->n3e = malloc(ne * sizeof(*c->n3e));
	if (!c->n3e) {
		rc = DITTO_ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < ne; k++)
		c->n3e[k] = e[k].e;
	c->nn3e = ne;
	h->count = (uint32_t)ne;
	/* About one entry a bucket. */
	while (h->bucket_bits < DITTO_NSEC3_BUCKET_BITS &&
	       ((size_t)1 << h->bucket_bits) < ne)
		h->bucket_bits++;
	c->nn3b = ((size_t)1 << h->bucket_bits) + 1;
	c->n3b = malloc(c->nn3b * sizeof(*c->n3b));
	if (!c->n3b) {
		rc = DITTO_ENOMEM;
		goto out;
	}
	for (size_t k = 0, at = 0; k < c->nn3b; k++) {
		while (at < ne && ditto_nsec3_bucket(c->n3e[at].hash,
						     h->bucket_bits) < k)
			at++;
		c->n3b[k] = (uint32_t)at;
	}
	c->image_flags |= DITTO_IMAGE_NSEC3;
out:
	free(e);
	free(cpe);
	return rc;
}

/* The proofs of a signed zone, from its NSEC3 chain when the apex has an
 * NSEC3PARAM, else from its NSEC records. */
static int build_denial(struct compiler *c)
{
	const struct zone *z = &c->z;
	const struct cnode *apex = &c->nodes[0];
	const struct zrec *param = NULL;
	bool nsec = false;
	int rc;

	if (!c->signed_zone)
		return 0;
	check_signatures(c);
	for (uint32_t i = apex->first; i < apex->first + apex->count; i++) {
		const struct zrec *r = &z->recs[i];
		if (r->type == DNS_T_NSEC3PARAM && !r->dropped && !param &&
		    r->rdlen >= 2 && rec_rdata(z, r)[1] == 0)
			param = r;
		nsec |= r->type == DNS_T_NSEC && !r->dropped;
	}
	c->denial = malloc(c->nnodes * sizeof(*c->denial));
	if (!c->denial)
		return DITTO_ENOMEM;
	if (param && (rc = build_nsec3(c, param)) < 0)
		return rc;
	if (!(c->image_flags & DITTO_IMAGE_NSEC3)) {
		if (nsec) {
			if ((rc = build_nsec(c)) < 0)
				return rc;
		} else {
			dnssec_warn(c, NULL, "a signed zone without a usable "
				    "NSEC or NSEC3 chain: denials carry no "
				    "proof");
			free(c->denial);
			c->denial = NULL;
		}
	}
	if (c->dnssec_warnings > DNSSEC_WARN_SHOWN)
		zone_warn(&c->z, NULL, "DNSSEC: %u more warnings like these",
			  c->dnssec_warnings - DNSSEC_WARN_SHOWN);
	return 0;
}

/* ---- image layout --------------------------------------------------- */

static size_t align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static int layout(struct compiler *c, struct ditto_compiled *out)
{
	struct zone *z = &c->z;
	struct ditto_image_hdr h;
	struct ditto_node *nodes = NULL;
	uint8_t *names = NULL;
	size_t names_len = 0;
	int rc;

	memset(&h, 0, sizeof(h));
	nodes = calloc(c->nnodes, sizeof(*nodes));
	names = malloc(z->names.len + 4);
	if (!nodes || !names) {
		rc = DITTO_ENOMEM;
		goto out;
	}
	if ((rc = render_soa_negative(c, &h)) < 0)
		goto out;
	for (size_t i = 0; i < c->nnodes; i++) {
		const struct cnode *n = &c->nodes[i];
		struct ditto_node *o = &nodes[i];
		size_t len;
		const uint8_t *name = node_name(c, (uint32_t)i, &len);
		o->name = (uint32_t)names_len;
		memcpy(names + names_len, name, len);
		names_len += len;
		o->name_len = (uint8_t)len;
		o->labels = n->labels;
		o->flags = n->flags;
		o->parent = n->parent;
		o->cut = n->cut;
		o->wildcard = n->wildcard;
		o->denial = DITTO_NONE;
		size_t rel = len - z->apex_len;
		memcpy(o->rel, name, rel < DITTO_NODE_REL ? rel : DITTO_NODE_REL);
		if ((rc = render_node(c, (uint32_t)i, o)) < 0)
			goto out;
		if (o->rrset_count == 0)
			o->flags |= DITTO_NODE_ENT;
		c->nodes[i].flags = o->flags;
	}
	if ((rc = build_denial(c)) < 0)
		goto out;
	if (c->denial)
		for (size_t i = 0; i < c->nnodes; i++)
			nodes[i].denial = (uint32_t)i;
	h.flags |= c->image_flags;
	/* The records are rendered: let go of them before the image is
	 * assembled, so the peak is the image and its parts, not more. */
	for (size_t i = 0; i < z->nrec; i++)
		out->records += !z->recs[i].dropped;
	out->records += c->nn3;
	if (c->signed_zone)
		h.flags |= DITTO_IMAGE_SIGNED;
	free(z->recs);
	free(z->rdata);
	z->recs = NULL;
	z->rdata = NULL;
	z->nrec = 0;
	nameset_free(&z->names);

	size_t slots = 16;
	while (slots < c->nnodes * 2)
		slots *= 2;
	size_t off_nodes = (sizeof(h) + 63) & ~(size_t)63;
	size_t off_index = off_nodes + c->nnodes * sizeof(struct ditto_node);
	size_t off_names = off_index + slots * sizeof(struct ditto_slot);
	size_t off_rrsets = align4(off_names + names_len);
	size_t off_blocks = off_rrsets + c->nrrsets * sizeof(struct ditto_rrset);
	size_t off_denial = align4(off_blocks + c->blen);
	size_t denial_size = c->denial ? c->nnodes * sizeof(*c->denial) : 0;
	size_t off_nsec3 = off_denial + denial_size;
	size_t nsec3_size = c->nn3e ? sizeof(c->n3hdr) +
				      c->nn3e * sizeof(*c->n3e) +
				      c->nn3b * sizeof(*c->n3b) : 0;
	size_t size = off_nsec3 + nsec3_size;
	if (size > UINT32_MAX) {
		zone_error(z, NULL, "image would exceed 4 GiB");
		rc = DITTO_ELIMIT;
		goto out;
	}
	uint8_t *img = calloc(1, size);
	if (!img) {
		rc = DITTO_ENOMEM;
		goto out;
	}

	memcpy(h.magic, DITTO_IMAGE_MAGIC, 8);
	h.endian = DITTO_IMAGE_ENDIAN;
	h.version = DITTO_IMAGE_VERSION;
	h.hdr_size = sizeof(h);
	h.size = size;
	if (getrandom(h.seed, sizeof(h.seed), 0) != sizeof(h.seed)) {
		free(img);
		rc = DITTO_EIO;
		goto out;
	}
	h.node_count = (uint32_t)c->nnodes;
	h.index_mask = (uint32_t)(slots - 1);
	h.apex_len = (uint8_t)z->apex_len;
	h.apex_labels = (uint8_t)dns_name_labels(z->apex);
	memcpy(h.apex, z->apex, z->apex_len);
	struct ditto_image_section s[] = {
		{ DITTO_SECT_NODES, (uint32_t)off_nodes,
		  (uint32_t)(c->nnodes * sizeof(struct ditto_node)),
		  (uint32_t)c->nnodes },
		{ DITTO_SECT_INDEX, (uint32_t)off_index,
		  (uint32_t)(slots * sizeof(struct ditto_slot)), (uint32_t)slots },
		{ DITTO_SECT_NAMES, (uint32_t)off_names, (uint32_t)names_len, 0 },
		{ DITTO_SECT_RRSETS, (uint32_t)off_rrsets,
		  (uint32_t)(c->nrrsets * sizeof(struct ditto_rrset)),
		  (uint32_t)c->nrrsets },
		{ DITTO_SECT_BLOCKS, (uint32_t)off_blocks, (uint32_t)c->blen, 0 },
		{ c->denial ? DITTO_SECT_DENIAL : 0, (uint32_t)off_denial,
		  (uint32_t)denial_size, c->denial ? (uint32_t)c->nnodes : 0 },
		{ c->nn3e ? DITTO_SECT_NSEC3 : 0, (uint32_t)off_nsec3,
		  (uint32_t)nsec3_size, (uint32_t)c->nn3e },
	};
	memcpy(h.sections, s, sizeof(s));
	if (denial_size)
		memcpy(img + off_denial, c->denial, denial_size);
	if (nsec3_size) {
		memcpy(img + off_nsec3, &c->n3hdr, sizeof(c->n3hdr));
		memcpy(img + off_nsec3 + sizeof(c->n3hdr), c->n3e,
		       c->nn3e * sizeof(*c->n3e));
		memcpy(img + off_nsec3 + sizeof(c->n3hdr) +
			       c->nn3e * sizeof(*c->n3e),
		       c->n3b, c->nn3b * sizeof(*c->n3b));
	}

	memcpy(img + off_nodes, nodes, c->nnodes * sizeof(*nodes));
	struct ditto_slot *index = (struct ditto_slot *)(void *)(img + off_index);
	for (size_t i = 0; i < slots; i++)
		index[i].node = DITTO_NONE;
	struct ditto_index_key ikey;
	ditto_index_key_init(&ikey, h.seed);
	for (size_t i = 0; i < c->nnodes; i++) {
		uint64_t hv = ditto_index_hash(&ikey, names + nodes[i].name,
					       nodes[i].name_len);
		size_t k = hv & (slots - 1);
		while (index[k].node != DITTO_NONE)
			k = (k + 1) & (slots - 1);
		index[k].hash = (uint32_t)(hv >> 32);
		index[k].node = (uint32_t)i;
	}
	memcpy(img + off_names, names, names_len);
	memcpy(img + off_rrsets, c->rrsets, c->nrrsets * sizeof(*c->rrsets));
	if (c->blen)
		memcpy(img + off_blocks, c->blocks, c->blen);
	memcpy(img, &h, sizeof(h));
	h.checksum = ditto_image_checksum(img, size);
	memcpy(img, &h, sizeof(h));

	out->image = img;
	out->size = size;
	out->serial = h.serial;
	out->names = c->nnodes;
	rc = 0;
out:
	free(nodes);
	free(names);
	return rc;
}

/* ---- entry points --------------------------------------------------- */

/* Where the records come from: a file, text, or a record source. */
struct compile_input {
	const char *path;
	const char *text;
	size_t len;
	const char *name;
	ditto_rr_source next;
	void *arg;
};

static int compile_run(struct compiler *c, const struct ditto_compile_opts *opts,
		       struct ditto_compiled *out, const struct compile_input *in)
{
	struct zone *z = &c->z;
	int rc;

	memset(out, 0, sizeof(*out));
	z->opts = opts;
	z->out = out;
	limits_default(&z->limits, &opts->limits);
	if ((rc = nameset_init(&z->names)) < 0)
		return rc;
	if (in->next)
		rc = zone_parse_records(z, in->next, in->arg,
					in->name ? in->name : "<records>");
	else if (in->path)
		rc = zone_parse_file(z, in->path);
	else
		rc = zone_parse_text(z, in->text, in->len,
				     in->name ? in->name : "<text>");
	if (rc < 0 && !out->errors)
		zone_error(z, NULL, "%s", ditto_strerror(rc));
	if (out->errors)
		return rc < 0 ? rc : DITTO_ESYNTAX;
	if (!z->have_apex) {
		zone_error(z, NULL, "no origin given and no SOA record");
		return DITTO_ESEMANTIC;
	}
	if ((rc = set_aside_nsec3(c)) < 0 || (rc = build_nodes(c)) < 0)
		return rc;
	check_nodes(c);
	if (out->errors)
		return DITTO_ESEMANTIC;

	c->bb = malloc(sizeof(*c->bb));
	c->xb = malloc(sizeof(*c->xb));
	if (!c->bb || !c->xb)
		return DITTO_ENOMEM;
	if ((rc = layout(c, out)) < 0) {
		if (!out->errors)
			zone_error(z, NULL, "%s", ditto_strerror(rc));
		return rc;
	}
	return 0;
}

static int compile_common(const struct ditto_compile_opts *opts,
			  struct ditto_compiled *out,
			  const struct compile_input *in)
{
	struct compiler c;
	struct ditto_compile_opts none = { 0 };

	memset(&c, 0, sizeof(c));
	int rc = compile_run(&c, opts ? opts : &none, out, in);
	if (rc < 0) {
		free(out->image);
		out->image = NULL;
		out->size = 0;
	}
	for (unsigned i = 0; i < c.z.nfiles; i++)
		free(c.z.files[i]);
	nameset_free(&c.z.names);
	free(c.z.recs);
	free(c.z.rdata);
	free(c.nodes);
	free(c.n3recs);
	free(c.denial);
	free(c.n3e);
	free(c.n3b);
	free(c.blocks);
	free(c.rrsets);
	free(c.bb);
	free(c.xb);
	return rc;
}

int ditto_compile_file(const char *path, const struct ditto_compile_opts *opts,
		       struct ditto_compiled *out)
{
	struct compile_input in = { .path = path };

	return compile_common(opts, out, &in);
}

int ditto_compile_text(const char *text, size_t len, const char *name,
		       const struct ditto_compile_opts *opts,
		       struct ditto_compiled *out)
{
	struct compile_input in = { .text = text, .len = len, .name = name };

	return compile_common(opts, out, &in);
}

int ditto_compile_records(ditto_rr_source next, void *arg, const char *name,
			  const struct ditto_compile_opts *opts,
			  struct ditto_compiled *out)
{
	struct compile_input in = { .next = next, .arg = arg, .name = name };

	if (!opts || !opts->origin) {
		memset(out, 0, sizeof(*out));
		snprintf(out->first_error, sizeof(out->first_error),
			 "%s: records need an origin", name ? name : "");
		out->errors = 1;
		return DITTO_EINVAL;
	}
	return compile_common(opts, out, &in);
}

void ditto_compiled_free(struct ditto_compiled *c)
{
	free(c->image);
	c->image = NULL;
	c->size = 0;
}

int ditto_image_write(const char *path, const uint8_t *image, size_t size)
{
	return ditto_file_write(path, image, size, 0644);
}

int ditto_file_read(const char *path, size_t min, size_t max, uint8_t **buf,
		    size_t *size, char *err, size_t errlen)
{
	struct stat st;
	size_t off;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*buf = NULL;
	*size = 0;
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? DITTO_ENOENT : DITTO_EIO;
	}
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_size < min ||
	    (uint64_t)st.st_size > max) {
		snprintf(err, errlen, "%s: %s", path, (uint64_t)st.st_size < min ?
			 "too short" : "too large");
		close(fd);
		return (uint64_t)st.st_size < min ? DITTO_ETRUNC : DITTO_ELIMIT;
	}
	*buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!*buf) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return DITTO_ENOMEM;
	}
	for (off = 0; off < (size_t)st.st_size;) {
		ssize_t r = read(fd, *buf + off, (size_t)st.st_size - off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	close(fd);
	if (off != (size_t)st.st_size) {
		snprintf(err, errlen, "%s: cannot be read in full", path);
		free(*buf);
		*buf = NULL;
		return DITTO_EIO;
	}
	*size = off;
	return 0;
}

int ditto_file_write(const char *path, const void *data, size_t size,
		     unsigned mode)
{
	const uint8_t *bytes = data;
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
	    (int)sizeof(tmp))
		return DITTO_EINVAL;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < size;) {
		ssize_t w = write(fd, bytes + off, size - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		off += (size_t)w;
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}
