/* Master file reading (RFC 1035 section 5): entries joined across
 * parentheses, directives ($ORIGIN, $TTL, $INCLUDE) handled here, each
 * record parsed by the fast path (rrtext.c) or else by ldns, and kept in
 * compact wire form. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <ldns/ldns.h>

#include "ditto/error.h"
#include "ditto/hash.h"
#include "ditto/wire.h"
#include "rrtext.h"
#include "zone.h"

#define INCLUDE_DEPTH_MAX 10

struct parse_state {
	struct zone *z;
	ldns_rdf *origin;	/* current $ORIGIN, may be NULL */
	uint32_t ttl;		/* current $TTL */
	unsigned depth;		/* $INCLUDE nesting */
	/* The previous owner, for entries without one; both parsers read
	 * and set it. ldns can make it longer than a wire name (a relative
	 * owner under a long origin, an error at each record that uses it):
	 * then only ldns's rdf holds it, and the fast path stands aside. */
	uint8_t prev[255];
	size_t prev_len;	/* 0: none yet */
	ldns_rdf *prev_long;
	struct rrtext_rr *rr;	/* the record being read (64 KiB) */
};

static int parse_buffer(struct parse_state *ps, const char *text, size_t len,
			unsigned file);

int nameset_init(struct nameset *s)
{
	memset(s, 0, sizeof(*s));
	s->mask = 1023;
	s->table = calloc(s->mask + 1, sizeof(*s->table));
	/* A transferred zone is input too: no names chosen to collide. */
	if (getrandom(s->key, sizeof(s->key), 0) != sizeof(s->key)) {
		s->key[0] = 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)s;
		s->key[1] = 0xc2b2ae3d27d4eb4fULL;
	}
	return s->table ? 0 : DITTO_ENOMEM;
}

void nameset_free(struct nameset *s)
{
	free(s->data);
	free(s->table);
	memset(s, 0, sizeof(*s));
}

static int nameset_grow(struct nameset *s)
{
	size_t mask = s->mask * 2 + 1;
	struct nameset_slot *t;

	if (mask > UINT32_MAX)
		return DITTO_ELIMIT;
	t = calloc(mask + 1, sizeof(*t));
	if (!t)
		return DITTO_ENOMEM;
	for (size_t i = 0; i <= s->mask; i++) {
		if (!s->table[i].off)
			continue;
		size_t j = s->table[i].hash & mask;

		while (t[j].off)
			j = (j + 1) & mask;
		t[j] = s->table[i];
	}
	free(s->table);
	s->table = t;
	s->mask = mask;
	return 0;
}

/* The slot of name, or the empty one where it would go. */
static size_t nameset_slot(const struct nameset *s, const uint8_t *name,
			   size_t len, uint32_t h)
{
	size_t i = h & s->mask;

	for (; s->table[i].off; i = (i + 1) & s->mask) {
		if (s->table[i].hash != h)
			continue;
		const uint8_t *n = s->data + s->table[i].off - 1 + 4;
		if (n[0] == len && memcmp(n + 1, name, len) == 0)
			return i;
	}
	return i;
}

int64_t nameset_find(const struct nameset *s, const uint8_t *name, size_t len)
{
	uint32_t h = (uint32_t)ditto_name_hash(s->key, name, len);
	size_t i = nameset_slot(s, name, len, h);

	return s->table[i].off ? (int64_t)s->table[i].off - 1 : -1;
}

int64_t nameset_add(struct nameset *s, const uint8_t *name, size_t len)
{
	uint32_t h = (uint32_t)ditto_name_hash(s->key, name, len);
	size_t i = nameset_slot(s, name, len, h);

	if (s->table[i].off)
		return (int64_t)s->table[i].off - 1;
	if (s->len + len + 5 > UINT32_MAX - 1)
		return DITTO_ELIMIT;
	if (s->len + len + 5 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 65536;
		uint8_t *d = realloc(s->data, cap);
		if (!d)
			return DITTO_ENOMEM;
		s->data = d;
		s->cap = cap;
	}
	uint32_t id = (uint32_t)s->len;
	memset(s->data + s->len, 0xff, 4);
	s->data[s->len + 4] = (uint8_t)len;
	memcpy(s->data + s->len + 5, name, len);
	s->len += len + 5;
	s->table[i].off = id + 1;
	s->table[i].hash = h;
	if (++s->count * 2 > s->mask) {
		int rc = nameset_grow(s);
		if (rc < 0)
			return rc;
	}
	return id;
}

static void zone_report(struct zone *z, const struct zrec *r, bool error,
			const char *fmt, va_list ap)
{
	char msg[300], where[200] = "";

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (r && r->line)
		snprintf(where, sizeof(where), "%s:%u: ", z->files[r->file],
			 r->line);
	else if (z->nfiles)
		snprintf(where, sizeof(where), "%s: ",
			 z->files[r ? r->file : 0]);
	if (error) {
		if (z->out->errors++ == 0)
			snprintf(z->out->first_error,
				 sizeof(z->out->first_error), "%s%s", where,
				 msg);
	} else {
		z->out->warnings++;
	}
	if (z->opts->log)
		fprintf(z->opts->log, "%s%s: %s\n", where,
			error ? "error" : "warning", msg);
}

void zone_error(struct zone *z, const struct zrec *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	zone_report(z, r, true, fmt, ap);
	va_end(ap);
}

void zone_warn(struct zone *z, const struct zrec *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	zone_report(z, r, false, fmt, ap);
	va_end(ap);
}

static int add_file(struct zone *z, const char *name, unsigned *idx)
{
	if (z->nfiles == sizeof(z->files) / sizeof(z->files[0]))
		return DITTO_ELIMIT;
	z->files[z->nfiles] = strdup(name);
	if (!z->files[z->nfiles])
		return DITTO_ENOMEM;
	*idx = z->nfiles++;
	return 0;
}

static int read_file(const char *path, char **text, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	size_t n = 0, cap = 1 << 20;
	char *buf;
	int rc = 0;

	if (!f)
		return -errno;
	/* Room for the whole file at once: growing the buffer by doubling
	 * costs as much as parsing the records. */
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size < SIZE_MAX / 4)
		cap = (size_t)st.st_size + 65536;
	buf = malloc(cap + 1);
	if (!buf) {
		rc = DITTO_ENOMEM;
		goto out;
	}
	for (;;) {
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
		if (cap - n < 65536) {
			char *b = realloc(buf, cap * 2 + 1);
			if (!b) {
				rc = DITTO_ENOMEM;
				goto out;
			}
			buf = b;
			cap *= 2;
		}
	}
	if (ferror(f))
		rc = DITTO_EIO;
out:
	fclose(f);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[n] = 0;
	*text = buf;
	*len = n;
	return 0;
}

/* Keep one record, read by either parser: the owner lowercased and
 * interned, the rdata appended to the arena. */
static int zone_add_rr(struct parse_state *ps, const struct rrtext_rr *rr,
		       unsigned file, unsigned line)
{
	struct zone *z = ps->z;
	struct zrec tmp = { .file = (uint16_t)file, .line = line };
	uint8_t name[256];
	size_t len = rr->owner_len;

	dns_name_lower(name, rr->owner, len);
	if (dns_type_is_meta(rr->type)) {
		/* BIND's loader refuses them too. */
		zone_error(z, &tmp, "TYPE%u is a meta or query type, not zone "
			   "data (RFC 6895)", rr->type);
		return 0;
	}
	if (z->nrec >= z->limits.max_records) {
		zone_error(z, &tmp, "more than %zu records",
			   z->limits.max_records);
		return DITTO_ELIMIT;
	}
	/* The arena exists once there is a record, even one of empty
	 * rdata: offsets into it are taken of every record. */
	if (!z->rdata || z->rdlen + rr->rdlen > z->rdcap) {
		size_t cap = z->rdcap ? z->rdcap * 2 : 1 << 20;
		while (cap < z->rdlen + rr->rdlen)
			cap *= 2;
		/* Records keep 32-bit offsets into the arena. */
		if (cap > UINT32_MAX)
			return DITTO_ELIMIT;
		uint8_t *d = realloc(z->rdata, cap);
		if (!d)
			return DITTO_ENOMEM;
		z->rdata = d;
		z->rdcap = cap;
	}
	if (z->nrec == z->caprec) {
		size_t cap = z->caprec ? z->caprec * 2 : 4096;
		struct zrec *r = realloc(z->recs, cap * sizeof(*r));
		if (!r)
			return DITTO_ENOMEM;
		z->recs = r;
		z->caprec = cap;
	}
	int64_t id = nameset_add(&z->names, name, len);
	if (id < 0)
		return (int)id;
	memcpy(z->rdata + z->rdlen, rr->rdata, rr->rdlen);

	tmp.owner = (uint32_t)id;
	tmp.rdata = (uint32_t)z->rdlen;
	tmp.rdlen = (uint16_t)rr->rdlen;
	tmp.ttl = rr->ttl;
	tmp.type = rr->type;
	z->rdlen += rr->rdlen;
	z->recs[z->nrec++] = tmp;

	/* Without --origin, the zone's apex is the owner of its first SOA. */
	if (!z->have_apex && tmp.type == DNS_T_SOA) {
		memcpy(z->apex, name, len);
		z->apex_len = len;
		z->have_apex = true;
	}
	return 0;
}

/* Whether ldns reads back, as a resolver would, the rdata its text
 * parser wrote: that parser can write what no reader takes (an NSEC3
 * next hashed owner with a '=' inside has a length byte counting the
 * text, not the bytes decoded). */
static bool reads_back(ldns_rr_type type, const uint8_t *rdata, size_t len)
{
	uint8_t *wire = malloc(len + 2);
	ldns_rr *rr = ldns_rr_new_frm_type(type);
	size_t pos = 0;
	bool ok = wire && rr;

	if (ok) {
		wire[0] = (uint8_t)(len >> 8);
		wire[1] = (uint8_t)len;
		memcpy(wire + 2, rdata, len);
		ok = ldns_wire2rdf(rr, wire, len + 2, &pos) == LDNS_STATUS_OK &&
		     pos == len + 2;
	}
	ldns_rr_free(rr);
	free(wire);
	return ok;
}

/* Keep a record ldns read, once it is one of class IN with an absolute
 * owner and rdata that fits. */
static int zone_add_ldns_rr(struct parse_state *ps, const ldns_rr *lrr,
			    unsigned file, unsigned line)
{
	struct zone *z = ps->z;
	struct zrec at = { .file = (uint16_t)file, .line = line };
	struct rrtext_rr *rr = ps->rr;
	const ldns_rdf *owner = ldns_rr_owner(lrr);
	size_t len = ldns_rdf_size(owner);

	if (ldns_rr_get_class(lrr) != LDNS_RR_CLASS_IN) {
		zone_error(z, &at, "class %u is not IN",
			   (unsigned)ldns_rr_get_class(lrr));
		return 0;
	}
	if (len == 0 || len > 255 || ldns_rdf_data(owner)[len - 1] != 0 ||
	    dns_name_len(ldns_rdf_data(owner), len) != len) {
		zone_error(z, &at, "owner name is not absolute (no $ORIGIN?)");
		return 0;
	}
	memcpy(rr->owner, ldns_rdf_data(owner), len);
	rr->owner_len = len;

	ldns_buffer *buf = ldns_buffer_new(512);
	if (!buf)
		return DITTO_ENOMEM;
	if (ldns_rr_rdata2buffer_wire(buf, lrr) != LDNS_STATUS_OK ||
	    ldns_buffer_position(buf) > RRTEXT_RDATA_MAX) {
		ldns_buffer_free(buf);
		zone_error(z, &at, "rdata does not fit in wire format");
		return 0;
	}
	if (!reads_back(ldns_rr_get_type(lrr), ldns_buffer_begin(buf),
			ldns_buffer_position(buf))) {
		ldns_buffer_free(buf);
		zone_error(z, &at, "rdata that no resolver could read (for an "
			   "NSEC3, a next hashed owner that is not base32hex "
			   "without padding)");
		return 0;
	}
	rr->rdlen = ldns_buffer_position(buf);
	memcpy(rr->rdata, ldns_buffer_begin(buf), rr->rdlen);
	ldns_buffer_free(buf);
	rr->ttl = ldns_rr_ttl(lrr);
	rr->type = (uint16_t)ldns_rr_get_type(lrr);
	return zone_add_rr(ps, rr, file, line);
}

/* Split the first whitespace-separated word off s. */
static char *next_word(char **s)
{
	char *p = *s;

	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return NULL;
	char *w = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	if (*p)
		*p++ = 0;
	*s = p;
	return w;
}

static int set_origin(struct parse_state *ps, const char *text,
		      ldns_rdf **out)
{
	ldns_rdf *o = NULL;

	if (ldns_str2rdf_dname(&o, text) != LDNS_STATUS_OK)
		return DITTO_ESYNTAX;
	if (!ldns_dname_str_absolute(text)) {
		if (!ps->origin) {
			ldns_rdf_deep_free(o);
			return DITTO_ESYNTAX;
		}
		ldns_rdf *abs = ldns_dname_cat_clone(o, ps->origin);
		ldns_rdf_deep_free(o);
		if (!abs)
			return DITTO_ENOMEM;
		o = abs;
	}
	*out = o;
	return 0;
}

static int parse_include(struct parse_state *ps, char *args, unsigned file,
			 unsigned line)
{
	struct zone *z = ps->z;
	struct zrec at = { .file = (uint16_t)file, .line = line };
	char *fname = next_word(&args), *org = next_word(&args);
	char path[PATH_MAX];
	int rc;

	if (!fname) {
		zone_error(z, &at, "$INCLUDE without a file name");
		return 0;
	}
	if (ps->depth >= INCLUDE_DEPTH_MAX) {
		zone_error(z, &at, "$INCLUDE nested deeper than %d",
			   INCLUDE_DEPTH_MAX);
		return 0;
	}
	if (fname[0] == '/') {
		snprintf(path, sizeof(path), "%s", fname);
	} else {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", z->files[file]);
		snprintf(path, sizeof(path), "%s/%s", dirname(dir), fname);
	}

	char *text;
	size_t len;
	rc = read_file(path, &text, &len);
	if (rc < 0) {
		zone_error(z, &at, "$INCLUDE %s: %s", path,
			   ditto_strerror(rc));
		return 0;
	}
	unsigned idx;
	rc = add_file(z, path, &idx);
	if (rc < 0) {
		free(text);
		zone_error(z, &at, "$INCLUDE %s: too many files", path);
		return 0;
	}

	/* The included file has its own $ORIGIN and owner context. */
	struct parse_state sub = *ps;
	sub.depth++;
	sub.prev_len = 0;
	sub.prev_long = NULL;
	sub.origin = ps->origin ? ldns_rdf_clone(ps->origin) : NULL;
	if (org) {
		ldns_rdf *o;
		if (set_origin(ps, org, &o) < 0) {
			zone_error(z, &at, "$INCLUDE: bad origin '%s'", org);
			ldns_rdf_deep_free(sub.origin);
			free(text);
			return 0;
		}
		ldns_rdf_deep_free(sub.origin);
		sub.origin = o;
	}
	rc = parse_buffer(&sub, text, len, idx);
	ldns_rdf_deep_free(sub.origin);
	ldns_rdf_deep_free(sub.prev_long);
	free(text);
	return rc;
}

/* What the fast path reads an entry against: what ldns would be given.
 * False while the origin or the previous owner is longer than a wire
 * name, which only ldns's error paths make of them. */
static bool rrtext_ctx_of(const struct parse_state *ps, struct rrtext_ctx *ctx)
{
	if (ps->prev_long ||
	    (ps->origin && ldns_rdf_size(ps->origin) > sizeof(ps->prev)))
		return false;
	ctx->origin = ps->origin ? ldns_rdf_data(ps->origin) : NULL;
	ctx->origin_len = ps->origin ? ldns_rdf_size(ps->origin) : 0;
	ctx->prev = ps->prev_len ? ps->prev : NULL;
	ctx->prev_len = ps->prev_len;
	ctx->default_ttl = ps->ttl;
	return true;
}

/* Read a record entry with ldns: whatever the fast path declines, errors
 * included. ldns keeps the previous owner as an rdf: it gets ours and
 * hands back what it leaves, so the two parsers can take turns. */
static int parse_with_ldns(struct parse_state *ps, const char *entry,
			   unsigned file, unsigned line)
{
	struct zrec at = { .file = (uint16_t)file, .line = line };
	ldns_rdf *prev = ps->prev_long;
	ldns_rr *rr = NULL;

	if (!prev && ps->prev_len) {
		prev = ldns_dname_new_frm_data((uint16_t)ps->prev_len,
					       ps->prev);
		if (!prev)
			return DITTO_ENOMEM;
	}
	ldns_status st = ldns_rr_new_frm_str(&rr, entry, ps->ttl, ps->origin,
					     &prev);
	ps->prev_long = NULL;
	ps->prev_len = 0;
	if (prev && ldns_rdf_size(prev) <= sizeof(ps->prev)) {
		ps->prev_len = ldns_rdf_size(prev);
		memcpy(ps->prev, ldns_rdf_data(prev), ps->prev_len);
		ldns_rdf_deep_free(prev);
	} else {
		ps->prev_long = prev;
	}

	if (st != LDNS_STATUS_OK) {
		char excerpt[80];
		snprintf(excerpt, sizeof(excerpt), "%s", entry);
		zone_error(ps->z, &at, "%s: '%s'", ldns_get_errorstr_by_id(st),
			   excerpt);
		return 0;
	}
	int rc = zone_add_ldns_rr(ps, rr, file, line);
	ldns_rr_free(rr);
	return rc;
}

static int parse_entry(struct parse_state *ps, char *entry, unsigned file,
		       unsigned line)
{
	struct zone *z = ps->z;
	struct zrec at = { .file = (uint16_t)file, .line = line };

	if (entry[0] == '$') {
		char *args = entry;
		char *dir = next_word(&args);
		if (strcasecmp(dir, "$ORIGIN") == 0) {
			char *o = next_word(&args);
			ldns_rdf *rdf;
			if (!o || set_origin(ps, o, &rdf) < 0) {
				zone_error(z, &at, "bad $ORIGIN");
				return 0;
			}
			ldns_rdf_deep_free(ps->origin);
			ps->origin = rdf;
			if (!z->have_apex && z->nrec == 0 && ps->depth == 0) {
				z->apex_len = ldns_rdf_size(rdf);
				dns_name_lower(z->apex, ldns_rdf_data(rdf),
					       z->apex_len);
				z->have_apex = true;
			}
		} else if (strcasecmp(dir, "$TTL") == 0) {
			char *t = next_word(&args);
			const char *end = NULL;
			uint32_t v = t ? ldns_str2period(t, &end) : 0;
			if (!t || (end && *end)) {
				zone_error(z, &at, "bad $TTL");
				return 0;
			}
			ps->ttl = v;
		} else if (strcasecmp(dir, "$INCLUDE") == 0) {
			return parse_include(ps, args, file, line);
		} else {
			zone_error(z, &at, "unknown directive %s", dir);
		}
		return 0;
	}

	struct rrtext_ctx ctx;
	if (rrtext_ctx_of(ps, &ctx) && rrtext_parse(entry, &ctx, ps->rr)) {
		if (ps->rr->owner_given) {
			memcpy(ps->prev, ps->rr->owner, ps->rr->owner_len);
			ps->prev_len = ps->rr->owner_len;
		}
		return zone_add_rr(ps, ps->rr, file, line);
	}
	return parse_with_ldns(ps, entry, file, line);
}

/* Join the text into entries (parentheses continue an entry over lines,
 * comments dropped outside quotes) and parse each. */
#define ENTRY_MAX (1 << 20)

static inline bool unlikely_long(size_t n, size_t cap)
{
	return __builtin_expect(n + 4 > cap, 0);
}

static int parse_buffer(struct parse_state *ps, const char *text, size_t len,
			unsigned file)
{
	/* One entry at a time: no entry is longer than ENTRY_MAX (ldns reads
	 * at most 64 KiB of rdata text), so the buffer need not be the file. */
	size_t cap = len + 8 < ENTRY_MAX ? len + 8 : ENTRY_MAX;
	char *entry = malloc(cap);
	size_t n = 0;
	unsigned line = 1, start = 1;
	int depth = 0, rc = 0;
	bool quote = false, too_long = false;

	if (!entry)
		return DITTO_ENOMEM;
	for (size_t i = 0; i <= len && rc == 0; i++) {
		char c = i < len ? text[i] : '\n';
		if (unlikely_long(n, cap)) {
			/* Drop the rest of the entry; report it once. */
			if (!too_long) {
				struct zrec at = { .file = (uint16_t)file,
						   .line = start };
				zone_error(ps->z, &at, "entry longer than %d bytes",
					   ENTRY_MAX - 4);
			}
			too_long = true;
			n = 0;
		}
		if (c == '\\' && i + 1 < len) {
			entry[n++] = c;
			entry[n++] = text[++i];
			if (text[i] == '\n')
				line++;
			continue;
		}
		if (quote) {
			if (c == '"')
				quote = false;
			if (c == '\n') {
				/* A string must close on its line: ldns 1.8's
				 * tokenizer overruns its buffer on one that
				 * spans lines. */
				struct zrec at = { .file = (uint16_t)file,
						   .line = line };
				zone_error(ps->z, &at, "unterminated quoted string");
				quote = false;
				n = 0;
				depth = 0;
				start = ++line;
				continue;
			}
			entry[n++] = c;
			continue;
		}
		switch (c) {
		case '"':
			quote = true;
			entry[n++] = c;
			break;
		case ';':
			while (i + 1 < len && text[i + 1] != '\n')
				i++;
			break;
		case '(':
			depth++;
			entry[n++] = ' ';
			break;
		case ')':
			if (--depth < 0) {
				struct zrec at = { .file = (uint16_t)file,
						   .line = line };
				zone_error(ps->z, &at, "unbalanced ')'");
				depth = 0;
			}
			entry[n++] = ' ';
			break;
		case '\r':
			entry[n++] = ' ';
			break;
		case '\n':
			if (depth > 0 && i < len) {
				entry[n++] = ' ';
				line++;
				break;
			}
			if (depth > 0) {
				struct zrec at = { .file = (uint16_t)file,
						   .line = start };
				zone_error(ps->z, &at, "unbalanced '(': the "
					   "entry never ends");
				break;
			}
			entry[n] = 0;
			/* An entry of only blanks is no entry. */
			if (!too_long && strspn(entry, " \t") != n)
				rc = parse_entry(ps, entry, file, start);
			too_long = false;
			n = 0;
			depth = 0;
			start = ++line;
			break;
		default:
			entry[n++] = c;
		}
	}
	free(entry);
	return rc;
}

static int zone_parse_start(struct zone *z, const char *name,
			    struct parse_state *ps, unsigned *file)
{
	memset(ps, 0, sizeof(*ps));
	ps->z = z;
	ps->rr = malloc(sizeof(*ps->rr));
	if (!ps->rr)
		return DITTO_ENOMEM;
	ps->ttl = z->opts->default_ttl ? z->opts->default_ttl : 3600;
	if (z->opts->origin) {
		if (set_origin(ps, z->opts->origin, &ps->origin) < 0) {
			zone_error(z, NULL, "bad origin '%s'", z->opts->origin);
			return DITTO_ESYNTAX;
		}
		z->apex_len = ldns_rdf_size(ps->origin);
		dns_name_lower(z->apex, ldns_rdf_data(ps->origin), z->apex_len);
		z->have_apex = true;
	}
	return add_file(z, name, file);
}

int zone_parse_text(struct zone *z, const char *text, size_t len,
		    const char *name)
{
	struct parse_state ps;
	unsigned file;
	int rc = zone_parse_start(z, name, &ps, &file);

	if (rc == 0)
		rc = parse_buffer(&ps, text, len, file);
	ldns_rdf_deep_free(ps.origin);
	ldns_rdf_deep_free(ps.prev_long);
	free(ps.rr);
	return rc;
}

int zone_parse_file(struct zone *z, const char *path)
{
	char *text;
	size_t len;
	int rc = read_file(path, &text, &len);

	if (rc < 0) {
		z->out->errors++;
		snprintf(z->out->first_error, sizeof(z->out->first_error),
			 "%s: %s", path, ditto_strerror(rc));
		if (z->opts->log)
			fprintf(z->opts->log, "%s: error: %s\n", path,
				ditto_strerror(rc));
		return rc;
	}
	rc = zone_parse_text(z, text, len, path);
	free(text);
	return rc;
}

int zone_parse_records(struct zone *z, ditto_rr_source next, void *arg,
		       const char *name)
{
	struct parse_state ps;
	struct ditto_wire_rr w;
	unsigned file, n = 0;
	int rc = zone_parse_start(z, name, &ps, &file);

	while (rc == 0 && (rc = next(arg, &w)) > 0) {
		struct zrec at = { .file = (uint16_t)file, .line = ++n };
		struct rrtext_rr *rr = ps.rr;

		rc = 0;
		if (w.rrclass != DNS_CLASS_IN) {
			zone_error(z, &at, "class %u is not IN", w.rrclass);
			continue;
		}
		if (w.owner_len == 0 || w.owner_len > 255 ||
		    dns_name_len(w.owner, w.owner_len) != w.owner_len) {
			zone_error(z, &at, "owner name is not a wire name");
			continue;
		}
		if (w.rdlen > RRTEXT_RDATA_MAX) {
			zone_error(z, &at, "rdata of %zu bytes", w.rdlen);
			continue;
		}
		memcpy(rr->owner, w.owner, w.owner_len);
		rr->owner_len = w.owner_len;
		rr->type = w.type;
		rr->ttl = w.ttl;
		rr->rdlen = w.rdlen;
		memcpy(rr->rdata, w.rdata, w.rdlen);
		rc = zone_add_rr(&ps, rr, file, n);
	}
	ldns_rdf_deep_free(ps.origin);
	ldns_rdf_deep_free(ps.prev_long);
	free(ps.rr);
	return rc < 0 ? rc : 0;
}
