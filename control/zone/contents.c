/* Zone contents: records in an arena, a keyed hash over their canonical
 * forms, persistence to a private file (see contents.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "contents.h"
#include "ditto/error.h"
#include "ditto/hash.h"
#include "ditto/wire.h"

#define EMPTY 0u
#define TOMB UINT32_MAX
#define DEAD SIZE_MAX
#define FILE_MAGIC "DITTOZC1"

/* Arena record: u8 owner_len, owner, u16 type, u16 class, u32 ttl,
 * u16 rdlen, rdata. */
struct contents {
	atomic_uint refs;
	uint8_t apex[255];
	size_t apex_len;
	uint8_t *data;
	size_t len, cap;
	size_t *offs;		/* record i at data + offs[i]; DEAD: deleted */
	size_t nrec, caprec, live;
	uint32_t *slots;	/* EMPTY, TOMB, or record index + 1 */
	uint64_t *hashes;	/* per slot */
	size_t mask, used;	/* used: slots not EMPTY */
	uint64_t key[2];
	size_t soa;		/* record index of the apex SOA, or DEAD */
	uint8_t *scratch;	/* two canonical forms for comparing */
};

/* ---- canonical form ---------------------------------------------------- */

/* Where the names in a type's rdata are: a list of steps. */
enum step { S_END, S_NAME, S_FIX2, S_FIX4, S_FIX6, S_FIX18, S_FIX20, S_STR,
	    S_REST };

static const uint8_t *rdata_layout(uint16_t type)
{
	static const uint8_t one_name[] = { S_NAME, S_END };
	static const uint8_t soa[] = { S_NAME, S_NAME, S_FIX20, S_END };
	static const uint8_t pref_name[] = { S_FIX2, S_NAME, S_END };
	static const uint8_t two_names[] = { S_NAME, S_NAME, S_END };
	static const uint8_t srv[] = { S_FIX6, S_NAME, S_END };
	static const uint8_t px[] = { S_FIX2, S_NAME, S_NAME, S_END };
	static const uint8_t naptr[] = { S_FIX4, S_STR, S_STR, S_STR, S_NAME,
					 S_END };
	static const uint8_t rrsig[] = { S_FIX18, S_NAME, S_REST };
	static const uint8_t nsec[] = { S_NAME, S_REST };

	/* RFC 4034 §6.2 as amended by RFC 6840 §5.1 (NSEC's next name and
	 * HINFO are left alone there; we lowercase NSEC's for matching
	 * only, which cannot make two different records equal beyond case). */
	switch (type) {
	case DNS_T_NS: case 3 /* MD */: case 4 /* MF */: case DNS_T_CNAME:
	case 7 /* MB */: case 8 /* MG */: case 9 /* MR */: case DNS_T_PTR:
	case DNS_T_DNAME:
		return one_name;
	case DNS_T_SOA:
		return soa;
	case DNS_T_MX: case 18 /* AFSDB */: case 21 /* RT */: case 36 /* KX */:
		return pref_name;
	case 14 /* MINFO */: case 17 /* RP */:
		return two_names;
	case DNS_T_SRV:
		return srv;
	case 26 /* PX */:
		return px;
	case DNS_T_NAPTR:
		return naptr;
	case DNS_T_RRSIG: case 24 /* SIG */:
		return rrsig;
	case DNS_T_NSEC: case 30 /* NXT */:
		return nsec;
	default:
		return NULL;
	}
}

/*
 * Check rdata's names and write its canonical form to out (rdlen bytes);
 * false when the names do not fit the type's layout. Types without names
 * are copied as they are.
 */
static bool rdata_canonical(uint16_t type, const uint8_t *rd, size_t rdlen,
			    uint8_t *out)
{
	const uint8_t *step = rdata_layout(type);
	size_t p = 0, n;

	memcpy(out, rd, rdlen);
	if (!step)
		return true;
	for (; *step != S_END; step++) {
		switch (*step) {
		case S_NAME:
			n = dns_name_len(rd + p, rdlen - p);
			if (!n)
				return false;
			dns_name_lower(out + p, rd + p, n);
			p += n;
			break;
		case S_FIX2: n = 2; goto fixed;
		case S_FIX4: n = 4; goto fixed;
		case S_FIX6: n = 6; goto fixed;
		case S_FIX18: n = 18; goto fixed;
		case S_FIX20: n = 20;
fixed:
			if (rdlen - p < n)
				return false;
			p += n;
			break;
		case S_STR:
			if (p >= rdlen || rdlen - p < 1u + rd[p])
				return false;
			p += 1u + rd[p];
			break;
		case S_REST:
			return true;
		}
	}
	return p == rdlen;
}

/* ---- the arena and the index ------------------------------------------ */

static void rec_at(const struct contents *c, size_t i,
		   struct ditto_wire_rr *r)
{
	rr_get(c->data + c->offs[i], r);
}

/* The canonical form of a record (owner, type, class, rdata; not the TTL,
 * which IXFR does not match on) into buf; its length, or 0. */
static size_t canonical(const struct ditto_wire_rr *rr, uint8_t *buf)
{
	size_t n = rr->owner_len;

	dns_name_lower(buf, rr->owner, n);
	dns_put16(buf + n, rr->type);
	dns_put16(buf + n + 2, rr->rrclass);
	if (!rdata_canonical(rr->type, rr->rdata, rr->rdlen, buf + n + 4))
		return 0;
	return n + 4 + rr->rdlen;
}


#define CANON_MAX (255 + 4 + 65535)

static int table_init(struct contents *c, size_t slots)
{
	c->slots = calloc(slots, sizeof(*c->slots));
	c->hashes = calloc(slots, sizeof(*c->hashes));
	if (!c->slots || !c->hashes)
		return DITTO_ENOMEM;
	c->mask = slots - 1;
	c->used = 0;
	return 0;
}

/* The slot holding the record equal to key (canonical form), or the slot
 * where it would go (*found false). */
static size_t table_find(struct contents *c, uint64_t h, const uint8_t *key,
			 size_t klen, bool *found)
{
	size_t i = h & c->mask, tomb = SIZE_MAX;

	*found = false;
	for (;; i = (i + 1) & c->mask) {
		uint32_t s = c->slots[i];

		if (s == EMPTY)
			return tomb != SIZE_MAX ? tomb : i;
		if (s == TOMB) {
			if (tomb == SIZE_MAX)
				tomb = i;
			continue;
		}
		if (c->hashes[i] != h)
			continue;
		struct ditto_wire_rr w;
		uint8_t *other = c->scratch + CANON_MAX;

		rec_at(c, s - 1, &w);
		if (canonical(&w, other) == klen &&
		    memcmp(other, key, klen) == 0) {
			*found = true;
			return i;
		}
	}
}

static int table_grow(struct contents *c)
{
	uint32_t *os = c->slots;
	uint64_t *oh = c->hashes;
	size_t on = c->mask + 1;
	int rc = table_init(c, on * 2);

	if (rc < 0) {
		free(c->slots);
		free(c->hashes);
		c->slots = os;
		c->hashes = oh;
		c->mask = on - 1;
		return rc;
	}
	for (size_t i = 0; i < on; i++) {
		if (os[i] == EMPTY || os[i] == TOMB)
			continue;
		size_t j = oh[i] & c->mask;

		while (c->slots[j] != EMPTY)
			j = (j + 1) & c->mask;
		c->slots[j] = os[i];
		c->hashes[j] = oh[i];
		c->used++;
	}
	free(os);
	free(oh);
	return 0;
}

struct contents *contents_new(const uint8_t *apex, size_t apex_len)
{
	struct contents *c = calloc(1, sizeof(*c));

	if (!c || apex_len == 0 || apex_len > 255 ||
	    dns_name_len(apex, apex_len) != apex_len)
		goto fail;
	atomic_init(&c->refs, 1);
	dns_name_lower(c->apex, apex, apex_len);
	c->apex_len = apex_len;
	c->soa = DEAD;
	if (getrandom(c->key, sizeof(c->key), 0) != sizeof(c->key))
		goto fail;
	c->scratch = malloc(2 * CANON_MAX);
	if (!c->scratch || table_init(c, 1024) < 0)
		goto fail;
	return c;
fail:
	contents_free(c);
	return NULL;
}

struct contents *contents_ref(struct contents *c)
{
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

void contents_free(struct contents *c)
{
	if (!c || atomic_fetch_sub_explicit(&c->refs, 1,
					    memory_order_acq_rel) != 1)
		return;
	free(c->data);
	free(c->offs);
	free(c->slots);
	free(c->hashes);
	free(c->scratch);
	free(c);
}

/* o: lowercase. */
static bool owner_in_zone(const struct contents *c, const uint8_t *o,
			  size_t len)
{
	return dns_name_is_sub(o, len, c->apex, c->apex_len);
}

int contents_add(struct contents *c, const struct ditto_wire_rr *rr,
		 size_t max_records)
{
	size_t need, klen, slot;
	uint64_t h;
	bool found;
	uint8_t *p;

	if (rr->owner_len == 0 || rr->owner_len > 255 ||
	    dns_name_len(rr->owner, rr->owner_len) != rr->owner_len ||
	    rr->rdlen > 65535)
		return DITTO_EINVAL;
	klen = canonical(rr, c->scratch);
	if (!klen || !owner_in_zone(c, c->scratch, rr->owner_len))
		return DITTO_EINVAL;
	h = ditto_siphash(c->key, c->scratch, klen, 1, 3);
	slot = table_find(c, h, c->scratch, klen, &found);
	if (found)
		return 1;
	if (max_records && c->live >= max_records)
		return DITTO_ELIMIT;

	need = 1 + rr->owner_len + 10 + rr->rdlen;
	if (c->len + need > c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1 << 16;

		while (cap < c->len + need)
			cap *= 2;
		p = realloc(c->data, cap);
		if (!p)
			return DITTO_ENOMEM;
		c->data = p;
		c->cap = cap;
	}
	if (c->nrec == c->caprec) {
		size_t cap = c->caprec ? c->caprec * 2 : 1024;
		size_t *o;

		if (cap >= UINT32_MAX - 1)
			return DITTO_ELIMIT;
		o = realloc(c->offs, cap * sizeof(*o));
		if (!o)
			return DITTO_ENOMEM;
		c->offs = o;
		c->caprec = cap;
	}
	rr_put(c->data + c->len, rr);
	c->offs[c->nrec] = c->len;
	c->len += need;

	if (c->slots[slot] == EMPTY)
		c->used++;
	c->slots[slot] = (uint32_t)(c->nrec + 1);
	c->hashes[slot] = h;
	if (rr->type == DNS_T_SOA && rr->owner_len == c->apex_len &&
	    dns_name_cmp(c->scratch, c->apex) == 0)
		c->soa = c->nrec;
	c->nrec++;
	c->live++;
	if (c->used * 4 > (c->mask + 1) * 3)
		return table_grow(c) < 0 ? DITTO_ENOMEM : 0;
	return 0;
}

/* The slot of the record equal to rr (matched as IXFR matches), or
 * SIZE_MAX. Uses the scratch space. */
static size_t lookup(struct contents *c, const struct ditto_wire_rr *rr)
{
	size_t klen, slot;
	uint64_t h;
	bool found;

	if (rr->owner_len == 0 || rr->owner_len > 255 ||
	    dns_name_len(rr->owner, rr->owner_len) != rr->owner_len ||
	    rr->rdlen > 65535)
		return SIZE_MAX;
	klen = canonical(rr, c->scratch);
	if (!klen)
		return SIZE_MAX;
	h = ditto_siphash(c->key, c->scratch, klen, 1, 3);
	slot = table_find(c, h, c->scratch, klen, &found);
	return found ? slot : SIZE_MAX;
}

int contents_delete(struct contents *c, const struct ditto_wire_rr *rr)
{
	size_t slot = lookup(c, rr);

	if (slot == SIZE_MAX)
		return DITTO_ENOENT;
	size_t i = c->slots[slot] - 1;

	c->slots[slot] = TOMB;
	c->offs[i] = DEAD;
	if (c->soa == i)
		c->soa = DEAD;
	c->live--;
	return 0;
}

bool contents_has(struct contents *c, const struct ditto_wire_rr *rr,
		  uint32_t *ttl)
{
	size_t slot = lookup(c, rr);

	if (slot != SIZE_MAX && ttl) {
		struct ditto_wire_rr r;

		rec_at(c, c->slots[slot] - 1, &r);
		*ttl = r.ttl;
	}
	return slot != SIZE_MAX;
}

/* A copy record by record: compact (no deleted records), a new key. */
static struct contents *clone_compact(const struct contents *c)
{
	struct contents *n = contents_new(c->apex, c->apex_len);
	struct ditto_wire_rr w;
	size_t pos = 0;

	while (n && contents_next(c, &pos, &w) > 0) {
		if (contents_add(n, &w, 0) < 0) {
			contents_free(n);
			return NULL;
		}
	}
	return n;
}

static void *dup_bytes(const void *p, size_t n, size_t cap)
{
	void *d = malloc(cap ? cap : 1);

	if (d && n)
		memcpy(d, p, n);
	return d;
}

/* A copy of the arrays as they are, deleted records and all: a few
 * memcpy instead of hashing every record again, which is what makes an
 * IXFR of a large zone cheap. The deleted records are dropped by a
 * compact copy once they are a quarter of the live ones. */
struct contents *contents_clone(const struct contents *c)
{
	struct contents *n;
	size_t slots = c->mask + 1;

	if (c->nrec - c->live > c->live / 4 + 1024)
		return clone_compact(c);
	n = malloc(sizeof(*n));
	if (!n)
		return NULL;
	*n = *c;
	atomic_init(&n->refs, 1);
	n->data = dup_bytes(c->data, c->len, c->cap);
	n->offs = dup_bytes(c->offs, c->nrec * sizeof(*c->offs),
			    c->caprec * sizeof(*c->offs));
	n->slots = dup_bytes(c->slots, slots * sizeof(*c->slots),
			     slots * sizeof(*c->slots));
	n->hashes = dup_bytes(c->hashes, slots * sizeof(*c->hashes),
			      slots * sizeof(*c->hashes));
	n->scratch = malloc(2 * CANON_MAX);
	if (!n->data || !n->offs || !n->slots || !n->hashes || !n->scratch) {
		free(n->data);
		free(n->offs);
		free(n->slots);
		free(n->hashes);
		free(n->scratch);
		free(n);
		return NULL;
	}
	return n;
}

size_t contents_count(const struct contents *c)
{
	return c->live;
}

const uint8_t *contents_apex(const struct contents *c, size_t *len)
{
	*len = c->apex_len;
	return c->apex;
}

bool soa_parse(const uint8_t *rd, size_t rdlen, struct soa_fields *soa)
{
	size_t a = dns_name_len(rd, rdlen), b;

	if (!a)
		return false;
	b = dns_name_len(rd + a, rdlen - a);
	if (!b || rdlen - a - b != 20)
		return false;
	rd += a + b;
	soa->serial = dns_get32(rd);
	soa->refresh = dns_get32(rd + 4);
	soa->retry = dns_get32(rd + 8);
	soa->expire = dns_get32(rd + 12);
	soa->minimum = dns_get32(rd + 16);
	return true;
}

bool contents_soa_rr(const struct contents *c, struct ditto_wire_rr *rr)
{
	if (c->soa == DEAD)
		return false;
	rec_at(c, c->soa, rr);
	return true;
}

bool contents_soa(const struct contents *c, struct soa_fields *soa)
{
	struct ditto_wire_rr w;

	if (!contents_soa_rr(c, &w) || !soa_parse(w.rdata, w.rdlen, soa))
		return false;
	soa->ttl = w.ttl;
	return true;
}

int contents_next(const struct contents *c, size_t *pos,
		  struct ditto_wire_rr *rr)
{
	while (*pos < c->nrec && c->offs[*pos] == DEAD)
		(*pos)++;
	if (*pos >= c->nrec)
		return 0;
	rec_at(c, (*pos)++, rr);
	return 1;
}

static int source_next(void *arg, struct ditto_wire_rr *rr)
{
	void **a = arg;

	return contents_next(a[0], a[1], rr);
}

int contents_compile(const struct contents *c,
		     const struct ditto_compile_opts *opts,
		     struct ditto_compiled *out)
{
	char origin[1100];
	struct ditto_compile_opts o = *opts;
	size_t pos = 0;
	void *arg[2] = { (void *)(uintptr_t)c, &pos };

	dns_name_to_text(c->apex, origin, sizeof(origin));
	o.origin = origin;
	return ditto_compile_records(source_next, arg, origin, &o, out);
}

/* ---- persistence ------------------------------------------------------ */

/*
 * File: "DITTOZC1", u32 apex_len, apex, u64 records, then the records as
 * in the arena, then u64 SipHash of everything before it (key 0, 0: a
 * check against damage, not an authenticator; the state directory is the
 * process's own).
 */
static const uint64_t file_key[2] = { 0, 0 };

int contents_save(const struct contents *c, const char *path)
{
	size_t total = 8 + 4 + c->apex_len + 8, off = 0;
	struct ditto_wire_rr w;
	size_t pos = 0;
	uint8_t *buf, *p;
	int rc;

	for (size_t i = 0; i < c->nrec; i++) {
		if (c->offs[i] == DEAD)
			continue;
		struct ditto_wire_rr r;

		rec_at(c, i, &r);
		total += 1 + r.owner_len + 10 + r.rdlen;
	}
	buf = malloc(total + 8);
	if (!buf)
		return DITTO_ENOMEM;
	p = buf;
	memcpy(p, FILE_MAGIC, 8);
	dns_put32(p + 8, (uint32_t)c->apex_len);
	memcpy(p + 12, c->apex, c->apex_len);
	off = 12 + c->apex_len;
	dns_put32(p + off, (uint32_t)(c->live >> 32));
	dns_put32(p + off + 4, (uint32_t)c->live);
	off += 8;
	/* The SOA first, so a reader knows the serial at once. */
	if (contents_soa_rr(c, &w)) {
		size_t n = 1 + w.owner_len + 10 + w.rdlen;

		memcpy(p + off, c->data + c->offs[c->soa], n);
		off += n;
	}
	while (contents_next(c, &pos, &w) > 0) {
		if (pos - 1 == c->soa)
			continue;
		struct ditto_wire_rr r;

		rec_at(c, pos - 1, &r);
		size_t n = 1 + r.owner_len + 10 + r.rdlen;

		memcpy(p + off, c->data + c->offs[pos - 1], n);
		off += n;
	}
	uint64_t h = ditto_siphash(file_key, buf, off, 2, 4);

	for (int i = 0; i < 8; i++)
		buf[off + (size_t)i] = (uint8_t)(h >> (8 * i));
	off += 8;

	rc = ditto_file_write(path, buf, off, 0640);
	free(buf);
	return rc < 0 ? DITTO_EIO : 0;
}

int contents_load(const char *path, const uint8_t *apex, size_t apex_len,
		  struct contents **out, char *err, size_t errlen)
{
	struct contents *c = NULL;
	uint8_t *buf = NULL;
	size_t size, off, alen;
	uint64_t nrec, h = 0;
	int rc;

	*out = NULL;
	rc = ditto_file_read(path, 8 + 4 + 1 + 8 + 8, SIZE_MAX, &buf, &size, err,
			     errlen);
	if (rc < 0)
		return rc;
	rc = DITTO_ECORRUPT;
	for (int i = 0; i < 8; i++)
		h |= (uint64_t)buf[size - 8 + (size_t)i] << (8 * i);
	if (memcmp(buf, FILE_MAGIC, 8) != 0) {
		snprintf(err, errlen, "%s: not a contents file", path);
		rc = DITTO_EMAGIC;
		goto out;
	}
	if (ditto_siphash(file_key, buf, size - 8, 2, 4) != h) {
		snprintf(err, errlen, "%s: checksum mismatch", path);
		rc = DITTO_ECHECKSUM;
		goto out;
	}
	size -= 8;
	alen = dns_get32(buf + 8);
	if (alen == 0 || alen > 255 || 12 + alen + 8 > size ||
	    dns_name_len(buf + 12, alen) != alen) {
		snprintf(err, errlen, "%s: bad apex", path);
		goto out;
	}
	if (alen != apex_len || dns_name_cmp(buf + 12, apex) != 0) {
		char a[1100];

		dns_name_to_text(buf + 12, a, sizeof(a));
		snprintf(err, errlen, "%s: holds zone %s", path, a);
		rc = DITTO_EINVAL;
		goto out;
	}
	off = 12 + alen;
	nrec = (uint64_t)dns_get32(buf + off) << 32 | dns_get32(buf + off + 4);
	off += 8;
	c = contents_new(apex, apex_len);
	if (!c) {
		rc = DITTO_ENOMEM;
		goto out;
	}
	for (uint64_t i = 0; i < nrec; i++) {
		struct ditto_wire_rr w;
		size_t ol;

		if (off + 1 > size || (ol = buf[off]) == 0 ||
		    off + 1 + ol + 10 > size)
			goto bad;
		w.owner = buf + off + 1;
		w.owner_len = ol;
		off += 1 + ol;
		w.type = dns_get16(buf + off);
		w.rrclass = dns_get16(buf + off + 2);
		w.ttl = dns_get32(buf + off + 4);
		w.rdlen = dns_get16(buf + off + 8);
		w.rdata = buf + off + 10;
		off += 10;
		if (w.rdlen > size - off)
			goto bad;
		off += w.rdlen;
		int r = contents_add(c, &w, 0);

		if (r < 0)
			goto bad;
	}
	if (off != size)
		goto bad;
	*out = c;
	c = NULL;
	rc = 0;
	goto out;
bad:
	snprintf(err, errlen, "%s: record data damaged at byte %zu", path, off);
	rc = DITTO_ECORRUPT;
out:
	contents_free(c);
	free(buf);
	return rc;
}
