/* The journal of a zone's differences (see journal.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ditto/error.h"
#include "ditto/hash.h"
#include "ditto/wire.h"
#include "journal.h"

#define FILE_MAGIC "DITTOJ01"
#define DIFF_HEAD 20		/* from, to, deleted, added, bytes */

static const uint64_t file_key[2] = { 0, 0 };

struct jdiff {
	atomic_uint refs;
	uint32_t from, to;
	uint32_t n_del, n_add;
	uint8_t *data;		/* the records, deleted then added */
	size_t len, cap;
};

struct journal {
	atomic_uint refs;
	struct jdiff **d;
	size_t n;
	size_t bytes;
};

/* ---- differences ------------------------------------------------------- */

struct jdiff *jdiff_new(uint32_t from, uint32_t to)
{
	struct jdiff *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	atomic_init(&d->refs, 1);
	d->from = from;
	d->to = to;
	return d;
}

int jdiff_push(struct jdiff *d, bool deleted, const struct ditto_wire_rr *rr)
{
	size_t need = rr_size(rr);
	uint8_t *p;

	if (rr->owner_len == 0 || rr->owner_len > 255 || rr->rdlen > 65535 ||
	    (deleted && d->n_add))
		return DITTO_EINVAL;
	if (d->len + need > d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 1024;

		while (cap < d->len + need)
			cap *= 2;
		p = realloc(d->data, cap);
		if (!p)
			return DITTO_ENOMEM;
		d->data = p;
		d->cap = cap;
	}
	rr_put(d->data + d->len, rr);
	d->len += need;
	if (deleted)
		d->n_del++;
	else
		d->n_add++;
	return 0;
}

static void jdiff_get(struct jdiff *d)
{
	atomic_fetch_add_explicit(&d->refs, 1, memory_order_relaxed);
}

void jdiff_put(struct jdiff *d)
{
	if (!d || atomic_fetch_sub_explicit(&d->refs, 1,
					    memory_order_acq_rel) != 1)
		return;
	free(d->data);
	free(d);
}

void jdiff_set_to(struct jdiff *d, uint32_t to)
{
	d->to = to;
}

uint32_t jdiff_from(const struct jdiff *d)
{
	return d->from;
}

uint32_t jdiff_to(const struct jdiff *d)
{
	return d->to;
}

size_t jdiff_bytes(const struct jdiff *d)
{
	return d->len + DIFF_HEAD;
}

size_t jdiff_records(const struct jdiff *d)
{
	return (size_t)d->n_del + d->n_add;
}

/* The record at data + *off (bounds already known good), *off past it. */
static void rec_read(const uint8_t *data, size_t *off, struct ditto_wire_rr *rr)
{
	rr_get(data + *off, rr);
	*off += rr_size(rr);
}

/* *pos packs the index of the next record (high 32 bits) and its byte
 * offset (low 32: a difference is less than 4 GiB, see journal_with()). */
int jdiff_next(const struct jdiff *d, size_t *pos, struct ditto_wire_rr *rr,
	       bool *deleted)
{
	size_t idx = *pos >> 32, off = *pos & 0xffffffffu;

	if (idx >= (size_t)d->n_del + d->n_add || off >= d->len)
		return 0;
	*deleted = idx < d->n_del;
	rec_read(d->data, &off, rr);
	*pos = ((idx + 1) << 32) | off;
	return 1;
}

static bool is_soa_of(const struct ditto_wire_rr *a,
		      const struct ditto_wire_rr *soa)
{
	return a->type == DNS_T_SOA && a->rdata == soa->rdata;
}

struct jdiff *jdiff_between(struct contents *old, struct contents *new,
			    size_t max_bytes, bool *too_big)
{
	struct ditto_wire_rr os, ns, w;
	struct soa_fields of, nf;
	struct jdiff *d;
	size_t pos = 0;
	uint32_t ttl;
	int rc = 0;

	*too_big = false;
	if (!contents_soa_rr(old, &os) || !contents_soa_rr(new, &ns) ||
	    !contents_soa(old, &of) || !contents_soa(new, &nf))
		return NULL;
	d = jdiff_new(of.serial, nf.serial);
	if (!d)
		return NULL;
	rc = jdiff_push(d, true, &os);
	while (rc == 0 && contents_next(old, &pos, &w) > 0) {
		if (is_soa_of(&w, &os))
			continue;
		if (!contents_has(new, &w, &ttl) || ttl != w.ttl)
			rc = jdiff_push(d, true, &w);
		if (max_bytes && jdiff_bytes(d) > max_bytes)
			rc = DITTO_ELIMIT;
	}
	if (rc == 0)
		rc = jdiff_push(d, false, &ns);
	pos = 0;
	while (rc == 0 && contents_next(new, &pos, &w) > 0) {
		if (is_soa_of(&w, &ns))
			continue;
		if (!contents_has(old, &w, &ttl) || ttl != w.ttl)
			rc = jdiff_push(d, false, &w);
		if (max_bytes && jdiff_bytes(d) > max_bytes)
			rc = DITTO_ELIMIT;
	}
	if (rc < 0) {
		*too_big = rc == DITTO_ELIMIT;
		jdiff_put(d);
		return NULL;
	}
	return d;
}

/* ---- the journal ------------------------------------------------------- */

struct journal *journal_new(void)
{
	struct journal *j = calloc(1, sizeof(struct journal));

	if (j)
		atomic_init(&j->refs, 1);
	return j;
}

struct journal *journal_ref(struct journal *j)
{
	if (j)
		atomic_fetch_add_explicit(&j->refs, 1, memory_order_relaxed);
	return j;
}

void journal_free(struct journal *j)
{
	if (!j || atomic_fetch_sub_explicit(&j->refs, 1,
					    memory_order_acq_rel) != 1)
		return;
	for (size_t i = 0; i < j->n; i++)
		jdiff_put(j->d[i]);
	free(j->d);
	free(j);
}

struct journal *journal_with(const struct journal *j, struct jdiff *d,
			     size_t max_bytes)
{
	struct journal *n = journal_new();
	size_t first = 0, total = jdiff_bytes(d);

	if (n)
		n->d = calloc((j ? j->n : 0) + 1, sizeof(*n->d));
	if (!n || !n->d) {
		journal_free(n);
		jdiff_put(d);
		return NULL;
	}
	if (total > max_bytes || d->len > UINT32_MAX ||
	    !serial_gt(d->to, d->from)) {
		jdiff_put(d);
		return n;
	}
	if (j && j->n && j->d[j->n - 1]->to == d->from) {
		size_t bytes = j->bytes;

		while (first < j->n && bytes + total > max_bytes)
			bytes -= jdiff_bytes(j->d[first++]);
		for (size_t i = first; i < j->n; i++) {
			jdiff_get(j->d[i]);
			n->d[n->n++] = j->d[i];
		}
		n->bytes = bytes;
	}
	n->d[n->n++] = d;
	n->bytes += total;
	return n;
}

size_t journal_count(const struct journal *j)
{
	return j ? j->n : 0;
}

size_t journal_bytes(const struct journal *j)
{
	return j ? j->bytes : 0;
}

bool journal_first(const struct journal *j, uint32_t *serial)
{
	if (!j || !j->n)
		return false;
	*serial = j->d[0]->from;
	return true;
}

long journal_find(const struct journal *j, uint32_t serial)
{
	for (size_t i = 0; j && i < j->n; i++)
		if (j->d[i]->from == serial)
			return (long)i;
	return -1;
}

const struct jdiff *journal_at(const struct journal *j, size_t i)
{
	return i < j->n ? j->d[i] : NULL;
}

int journal_replay(const struct journal *j, uint32_t from,
		   struct contents *c, uint32_t *serial, char *err,
		   size_t errlen)
{
	long at = journal_find(j, from);

	*serial = from;
	for (size_t i = at < 0 ? j->n : (size_t)at; i < j->n; i++) {
		const struct jdiff *d = j->d[i];
		struct ditto_wire_rr rr;
		size_t pos = 0;
		bool del;

		while (jdiff_next(d, &pos, &rr, &del) > 0) {
			int rc = del ? contents_delete(c, &rr)
				     : contents_add(c, &rr, 0);

			if (rc < 0) {
				snprintf(err, errlen, "the difference %u -> %u "
					 "does not apply: %s a record of type "
					 "%u fails (%s)", d->from, d->to,
					 del ? "deleting" : "adding", rr.type,
					 ditto_strerror(rc));
				return DITTO_ECORRUPT;
			}
		}
		*serial = d->to;
	}
	return 0;
}

/* ---- the file ---------------------------------------------------------- */

int journal_save(const struct journal *j, const uint8_t *apex,
		 size_t apex_len, const char *path)
{
	size_t total = 8 + 4 + apex_len + 4 + 8, off;
	uint8_t *buf;
	uint64_t h;
	int rc;

	for (size_t i = 0; i < j->n; i++)
		total += jdiff_bytes(j->d[i]);
	buf = malloc(total);
	if (!buf)
		return DITTO_ENOMEM;
	memcpy(buf, FILE_MAGIC, 8);
	dns_put32(buf + 8, (uint32_t)apex_len);
	memcpy(buf + 12, apex, apex_len);
	off = 12 + apex_len;
	dns_put32(buf + off, (uint32_t)j->n);
	off += 4;
	for (size_t i = 0; i < j->n; i++) {
		const struct jdiff *d = j->d[i];

		dns_put32(buf + off, d->from);
		dns_put32(buf + off + 4, d->to);
		dns_put32(buf + off + 8, d->n_del);
		dns_put32(buf + off + 12, d->n_add);
		dns_put32(buf + off + 16, (uint32_t)d->len);
		memcpy(buf + off + DIFF_HEAD, d->data, d->len);
		off += DIFF_HEAD + d->len;
	}
	h = ditto_siphash(file_key, buf, off, 2, 4);
	for (int i = 0; i < 8; i++)
		buf[off + (size_t)i] = (uint8_t)(h >> (8 * i));
	off += 8;
	rc = ditto_file_write(path, buf, off, 0640);
	free(buf);
	return rc < 0 ? DITTO_EIO : 0;
}

static int bad(char *err, size_t errlen, const char *path, const char *what)
{
	snprintf(err, errlen, "journal %s: %s", path, what);
	return DITTO_ECORRUPT;
}

/* One difference's records from the file: every length inside bytes,
 * owners well formed, the SOAs where they must be. */
static int diff_parse(struct jdiff *d, uint32_t n_del, uint32_t n_add,
		      const uint8_t *p, size_t bytes, const uint8_t *apex,
		      size_t apex_len)
{
	size_t off = 0, n = (size_t)n_del + n_add;

	if (n_del == 0 || n_add == 0 || n > bytes / 11)
		return DITTO_ECORRUPT;
	for (size_t i = 0; i < n; i++) {
		struct ditto_wire_rr rr;
		struct soa_fields f;
		size_t ol;

		if (off + 1 > bytes)
			return DITTO_ECORRUPT;
		ol = p[off];
		if (ol == 0 || off + 1 + ol + 10 > bytes ||
		    dns_name_len(p + off + 1, ol) != ol)
			return DITTO_ECORRUPT;
		if (off + 1 + ol + 10 + dns_get16(p + off + 1 + ol + 8) > bytes)
			return DITTO_ECORRUPT;
		rec_read(p, &off, &rr);
		if (i == 0 || i == n_del) {
			uint8_t low[255];

			dns_name_lower(low, rr.owner, rr.owner_len);
			if (rr.type != DNS_T_SOA || rr.owner_len != apex_len ||
			    memcmp(low, apex, apex_len) != 0 ||
			    !soa_parse(rr.rdata, rr.rdlen, &f) ||
			    f.serial != (i == 0 ? d->from : d->to))
				return DITTO_ECORRUPT;
		}
		if (jdiff_push(d, i < n_del, &rr) < 0)
			return DITTO_ENOMEM;
	}
	return off == bytes ? 0 : DITTO_ECORRUPT;
}

int journal_load(const char *path, const uint8_t *apex, size_t apex_len,
		 uint32_t serial, struct journal **out, char *err,
		 size_t errlen)
{
	struct journal *j = NULL;
	uint8_t *buf = NULL;
	size_t size, off, count;
	uint64_t h = 0;
	int rc;

	*out = NULL;
	rc = ditto_file_read(path, 8 + 4 + 4 + 8, (size_t)1 << 34, &buf, &size,
			     err, errlen);
	if (rc == DITTO_ENOENT) {
		*out = journal_new();
		return *out ? 0 : DITTO_ENOMEM;
	}
	if (rc < 0) {
		size_t n = strlen(err);

		snprintf(err + n, errlen - n, " (journal)");
		return rc == DITTO_ENOMEM || rc == DITTO_EIO ? rc
							      : DITTO_ECORRUPT;
	}
	rc = DITTO_ECORRUPT;
	for (int i = 0; i < 8; i++)
		h |= (uint64_t)buf[size - 8 + (size_t)i] << (8 * i);
	if (memcmp(buf, FILE_MAGIC, 8) != 0) {
		rc = bad(err, errlen, path, "not a journal of this version");
		goto out;
	}
	if (ditto_siphash(file_key, buf, size - 8, 2, 4) != h) {
		rc = bad(err, errlen, path, "checksum mismatch");
		goto out;
	}
	size -= 8;
	if (dns_get32(buf + 8) != apex_len || 12 + apex_len + 4 > size ||
	    memcmp(buf + 12, apex, apex_len) != 0) {
		rc = bad(err, errlen, path, "of another zone");
		goto out;
	}
	off = 12 + apex_len;
	count = dns_get32(buf + off);
	off += 4;
	j = journal_new();
	if (!j || !(j->d = calloc(count ? count : 1, sizeof(*j->d))))
		goto nomem;
	if (count > size / DIFF_HEAD) {
		rc = bad(err, errlen, path, "count past the end");
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		struct jdiff *d;
		size_t bytes;

		if (off + DIFF_HEAD > size) {
			rc = bad(err, errlen, path, "cut short");
			goto out;
		}
		d = jdiff_new(dns_get32(buf + off), dns_get32(buf + off + 4));
		if (!d)
			goto nomem;
		bytes = dns_get32(buf + off + 16);
		j->d[j->n++] = d;
		if (bytes > size - off - DIFF_HEAD ||
		    diff_parse(d, dns_get32(buf + off + 8),
			       dns_get32(buf + off + 12), buf + off + DIFF_HEAD,
			       bytes, apex, apex_len) != 0 ||
		    (i > 0 && j->d[i - 1]->to != d->from) ||
		    !serial_gt(d->to, d->from)) {
			rc = bad(err, errlen, path, "malformed difference");
			goto out;
		}
		off += DIFF_HEAD + bytes;
		j->bytes += jdiff_bytes(d);
	}
	if (off != size) {
		rc = bad(err, errlen, path, "bytes after the last difference");
		goto out;
	}
	if (j->n && j->d[j->n - 1]->to != serial &&
	    journal_find(j, serial) < 0) {
		char why[160];

		snprintf(why, sizeof(why), "spans serials %u to %u, which "
			 "neither ends at nor passes the saved contents' %u",
			 j->d[0]->from, j->d[j->n - 1]->to, serial);
		rc = bad(err, errlen, path, why);
		goto out;
	}
	free(buf);
	*out = j;
	return 0;
nomem:
	rc = DITTO_ENOMEM;
	snprintf(err, errlen, "journal %s: out of memory", path);
out:
	journal_free(j);
	free(buf);
	return rc;
}
