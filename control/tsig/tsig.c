/* TSIG (RFC 8945) on wire-format messages: the record, the digest layout,
 * the MAC chain of a transfer and the checks of §5.2 and §5.4. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ditto/wire.h"
#include "tsig-crypto.h"
#include "tsig.h"

enum {
	TSIG_MIN_MAC = 10,		/* RFC 8945 §5.2.2.1 */
	TSIG_MAX_UNSIGNED = 99,		/* RFC 8945 §5.3.1 */
	TSIG_FIXED_LEN = 16,		/* rdata besides the name, MAC, other */
	DNS_MSG_MAX = 65535,
};

static const struct {
	const char *name;	/* the configuration's name */
	const char *alias;	/* also accepted there, or NULL */
	const uint8_t *wire;	/* on the wire and in the digest */
	size_t wire_len;
} algs[] = {
#define W(s) (const uint8_t *)(s), sizeof(s)
	[TSIG_HMAC_MD5] = { "hmac-md5", "hmac-md5.sig-alg.reg.int",
			    W("\x08hmac-md5\x07sig-alg\x03reg\x03int") },
	[TSIG_HMAC_SHA1] = { "hmac-sha1", NULL, W("\x09hmac-sha1") },
	[TSIG_HMAC_SHA224] = { "hmac-sha224", NULL, W("\x0bhmac-sha224") },
	[TSIG_HMAC_SHA256] = { "hmac-sha256", NULL, W("\x0bhmac-sha256") },
	[TSIG_HMAC_SHA384] = { "hmac-sha384", NULL, W("\x0bhmac-sha384") },
	[TSIG_HMAC_SHA512] = { "hmac-sha512", NULL, W("\x0bhmac-sha512") },
#undef W
};

#define N_ALGS (sizeof(algs) / sizeof(algs[0]))

/* The fields of a TSIG record, names uncompressed and lowercase: what is
 * written when signing, and what is read from a message. */
struct tsig_rr {
	const uint8_t *owner;
	size_t owner_len;
	const uint8_t *alg;
	size_t alg_len;
	uint64_t time;		/* 48 bits on the wire */
	uint16_t fudge;
	uint16_t mac_len;
	const uint8_t *mac;
	uint16_t orig_id;
	uint16_t error;
	uint16_t other_len;
	const uint8_t *other;
};

/* A TSIG record read from a message, with room for its decompressed
 * names. */
struct tsig_found {
	struct tsig_rr rr;
	size_t start;		/* offset of the record in the message */
	uint8_t owner[255];
	uint8_t alg[255];
};

/* ---- names and keys ------------------------------------------------------ */

int tsig_alg_from_name(const char *name, enum tsig_alg *out)
{
	size_t n = strlen(name);

	if (n && name[n - 1] == '.')
		n--;
	for (size_t i = 0; i < N_ALGS; i++) {
		const char *alias = algs[i].alias;

		if ((strlen(algs[i].name) == n &&
		     strncasecmp(algs[i].name, name, n) == 0) ||
		    (alias && strlen(alias) == n &&
		     strncasecmp(alias, name, n) == 0)) {
			*out = (enum tsig_alg)i;
			return 0;
		}
	}
	return -1;
}

const char *tsig_alg_name(enum tsig_alg alg)
{
	return (size_t)alg < N_ALGS ? algs[alg].name : "unknown";
}

/* The algorithm a wire name (lowercase) stands for; -1 for none we do. */
static int alg_from_wire(const uint8_t *name, size_t len, enum tsig_alg *out)
{
	for (size_t i = 0; i < N_ALGS; i++) {
		if (algs[i].wire_len == len &&
		    memcmp(algs[i].wire, name, len) == 0) {
			*out = (enum tsig_alg)i;
			return 0;
		}
	}
	return -1;
}

/* One character of a name in presentation form, escapes (\X, \DDD)
 * resolved; advances *pp. -1 when it is not one a key name may hold. */
static int text_char(const char **pp)
{
	const unsigned char *p = (const unsigned char *)*pp;
	int c = *p++;

	if (c == '\\') {
		if (isdigit(p[0]) && isdigit(p[1]) && isdigit(p[2])) {
			c = (p[0] - '0') * 100 + (p[1] - '0') * 10 +
			    (p[2] - '0');
			p += 3;
			if (c > 255)
				return -1;
		} else if (*p > ' ' && *p < 0x7f) {
			c = *p++;
		} else {
			return -1;
		}
	} else if (c <= ' ' || c >= 0x7f) {
		return -1;	/* unescaped space or control: a typo */
	}
	*pp = (const char *)p;
	return c;
}

/* A key name from presentation form (the final dot optional) to
 * lowercase wire form. The root is refused: a key needs a name. */
static int name_from_text(const char *text, uint8_t *out, uint8_t *out_len)
{
	const char *p = text;
	size_t n = 0;

	if (!*p)
		return -1;
	while (*p) {
		size_t lab = n++;	/* the label's length byte */

		while (*p && *p != '.') {
			int c = text_char(&p);

			/* 63 bytes a label; 255 the name, its root included */
			if (c < 0 || n - lab > 63 || n >= 254)
				return -1;
			out[n++] = dns_lower((uint8_t)c);
		}
		if (n - lab == 1)
			return -1;	/* empty label: "a..b", ".", ".a" */
		out[lab] = (uint8_t)(n - lab - 1);
		if (*p == '.')
			p++;
	}
	out[n++] = 0;
	*out_len = (uint8_t)n;
	return 0;
}

static int b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict base64 (RFC 4648 §4): padded to a multiple of 4, no
 * whitespace, '=' only at the end, unused bits zero. A secret that does
 * not decode exactly is a configuration error, never half a key. */
static int base64_decode(const char *text, uint8_t *out, size_t cap,
			 size_t *len)
{
	size_t n = strlen(text), o = 0;

	if (n == 0 || n % 4)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t w = 0;
		unsigned pad = 0;

		for (unsigned j = 0; j < 4; j++) {
			int v;

			if (text[i + j] == '=' && i + 4 == n && j >= 2) {
				pad++;
				v = 0;
			} else if (pad || (v = b64_value(text[i + j])) < 0) {
				return -1;
			}
			w = w << 6 | (uint32_t)v;
		}
		if ((pad == 2 && (w & 0xffff)) || (pad == 1 && (w & 0xff)))
			return -1;
		if (3 - pad > cap - o)
			return -1;
		out[o++] = (uint8_t)(w >> 16);
		if (pad < 2)
			out[o++] = (uint8_t)(w >> 8);
		if (pad < 1)
			out[o++] = (uint8_t)w;
	}
	*len = o;
	return 0;
}

int tsig_key_init(struct tsig_key *k, const char *name, const char *alg,
		  const char *secret_b64, char *err, size_t errlen)
{
	const char *why;

	memset(k, 0, sizeof(*k));
	if (name_from_text(name, k->name, &k->name_len) < 0) {
		why = "invalid key name";
		goto fail;
	}
	dns_name_to_text(k->name, k->text, sizeof(k->text));
	if (tsig_alg_from_name(alg, &k->alg) < 0) {
		why = "unknown TSIG algorithm";
		goto fail;
	}
	if (base64_decode(secret_b64, k->secret, sizeof(k->secret),
			  &k->secret_len) < 0) {
		why = "secret is not base64 of 1 to 256 bytes";
		goto fail;
	}
	return 0;
fail:
	explicit_bzero(k, sizeof(*k));
	if (errlen)
		snprintf(err, errlen, "%s: key %s", why, name);
	return -1;
}

/* ---- reading messages ---------------------------------------------------- */

/* Offset just past the name at off, pointers not followed; 0 when it
 * does not fit in the message or is not a name. */
static size_t skip_name(const uint8_t *m, size_t len, size_t off)
{
	size_t n = 1;	/* the name's length so far, its root counted */

	for (;;) {
		if (off >= len)
			return 0;
		uint8_t l = m[off];
		if (l == 0)
			return off + 1;
		if ((l & 0xc0) == 0xc0)
			return off + 2 <= len ? off + 2 : 0;
		if (l > 63)
			return 0;	/* extended label types */
		n += 1u + l;
		if (n > 255)
			return 0;
		off += 1u + l;
	}
}

/*
 * Read the name at off, following compression pointers, into out
 * (uncompressed, lowercase). Returns the offset just past it in the
 * message, 0 when malformed. Each pointer must point before the stretch
 * of labels it ends, so the positions read strictly decrease from jump to
 * jump and no pointer can loop; real compressors only point back at
 * names already written.
 */
static size_t read_name(const uint8_t *m, size_t len, size_t off,
			uint8_t *out, size_t *out_len)
{
	size_t pos = off, seg = off, end = 0, n = 0;

	for (;;) {
		if (pos >= len)
			return 0;
		uint8_t l = m[pos];
		if ((l & 0xc0) == 0xc0) {
			if (pos + 2 > len)
				return 0;
			size_t to = (size_t)(l & 0x3f) << 8 | m[pos + 1];
			if (to >= seg)
				return 0;
			if (!end)
				end = pos + 2;
			pos = seg = to;
			continue;
		}
		if (l > 63 || n + 1u + l + (l ? 1u : 0u) > 255 ||
		    l >= len - pos)
			return 0;
		out[n++] = l;
		if (l == 0)
			break;
		for (unsigned i = 1; i <= l; i++)
			out[n++] = dns_lower(m[pos + i]);
		pos += 1u + l;
	}
	*out_len = n;
	return end ? end : pos + 1;
}

/*
 * Check the whole message is well formed to the last byte and find its
 * TSIG record, which must be the last record of the additional section
 * (RFC 8945 §5.2: not last, or two of them, is FORMERR). TSIG_OK with
 * *at its offset, TSIG_UNSIGNED or TSIG_FORMERR.
 */
static enum tsig_result find_tsig(const uint8_t *m, size_t len, size_t *at)
{
	size_t off = DNS_HDR_LEN;

	*at = 0;
	if (len < DNS_HDR_LEN)
		return TSIG_FORMERR;
	unsigned qd = dns_get16(m + 4), ar = dns_get16(m + 10);
	unsigned rrs = dns_get16(m + 6) + dns_get16(m + 8) + ar;

	for (unsigned i = 0; i < qd; i++) {
		off = skip_name(m, len, off);
		if (!off || len - off < 4)
			return TSIG_FORMERR;
		off += 4;
	}
	for (unsigned i = 0; i < rrs; i++) {
		size_t start = off;

		off = skip_name(m, len, off);
		if (!off || len - off < 10)
			return TSIG_FORMERR;
		uint16_t type = dns_get16(m + off);
		size_t rdlen = dns_get16(m + off + 8);
		off += 10;
		if (rdlen > len - off)
			return TSIG_FORMERR;
		off += rdlen;
		if (type == DNS_T_TSIG) {
			if (i != rrs - 1 || ar == 0)
				return TSIG_FORMERR;
			*at = start;
		}
	}
	if (off != len)
		return TSIG_FORMERR;	/* bytes past the records */
	return *at ? TSIG_OK : TSIG_UNSIGNED;
}

static uint64_t get48(const uint8_t *p)
{
	return (uint64_t)dns_get16(p) << 32 | dns_get32(p + 2);
}

static void put48(uint8_t *p, uint64_t v)
{
	dns_put16(p, (unsigned)(v >> 32) & 0xffff);
	dns_put32(p + 2, (uint32_t)v);
}

/* Read the TSIG record find_tsig() found at f->start: it is the last
 * thing in the message, so its rdata ends at len. */
static enum tsig_result parse_tsig(const uint8_t *m, size_t len,
				   struct tsig_found *f)
{
	struct tsig_rr *t = &f->rr;
	size_t off;

	off = read_name(m, len, f->start, f->owner, &t->owner_len);
	if (!off || len - off < 10)
		return TSIG_FORMERR;
	t->owner = f->owner;
	/* CLASS ANY and TTL 0 (RFC 8945 §4.2): the digest assumes them. */
	if (dns_get16(m + off + 2) != DNS_CLASS_ANY ||
	    dns_get32(m + off + 4) != 0)
		return TSIG_FORMERR;
	off += 10;
	off = read_name(m, len, off, f->alg, &t->alg_len);
	if (!off || len - off < TSIG_FIXED_LEN)
		return TSIG_FORMERR;
	t->alg = f->alg;
	t->time = get48(m + off);
	t->fudge = dns_get16(m + off + 6);
	t->mac_len = dns_get16(m + off + 8);
	off += 10;
	if (t->mac_len > len - off - 6)
		return TSIG_FORMERR;
	t->mac = m + off;
	off += t->mac_len;
	t->orig_id = dns_get16(m + off);
	t->error = dns_get16(m + off + 2);
	t->other_len = dns_get16(m + off + 4);
	off += 6;
	if (t->other_len != len - off)
		return TSIG_FORMERR;
	t->other = m + off;
	return TSIG_OK;
}

/* ---- writing and digesting ----------------------------------------------- */

static size_t rr_len(const struct tsig_rr *t)
{
	return t->owner_len + 10 + t->alg_len + TSIG_FIXED_LEN + t->mac_len +
	       t->other_len;
}

static void write_tsig(uint8_t *p, const struct tsig_rr *t)
{
	memcpy(p, t->owner, t->owner_len);
	p += t->owner_len;
	dns_put16(p, DNS_T_TSIG);
	dns_put16(p + 2, DNS_CLASS_ANY);
	dns_put32(p + 4, 0);
	dns_put16(p + 8, (unsigned)(rr_len(t) - t->owner_len - 10));
	p += 10;
	memcpy(p, t->alg, t->alg_len);
	p += t->alg_len;
	put48(p, t->time);
	dns_put16(p + 6, t->fudge);
	dns_put16(p + 8, t->mac_len);
	p += 10;
	if (t->mac_len)
		memcpy(p, t->mac, t->mac_len);
	p += t->mac_len;
	dns_put16(p, t->orig_id);
	dns_put16(p + 2, t->error);
	dns_put16(p + 4, t->other_len);
	if (t->other_len)
		memcpy(p + 6, t->other, t->other_len);
}

/* Append t to the message: ARCOUNT + 1. 0, or -1 when it does not fit. */
static int append_tsig(uint8_t *msg, size_t *len, size_t cap,
		       const struct tsig_rr *t)
{
	size_t need = rr_len(t);

	if (*len < DNS_HDR_LEN || *len > cap || need > cap - *len ||
	    *len + need > DNS_MSG_MAX || dns_get16(msg + 10) == 0xffff)
		return -1;
	write_tsig(msg + *len, t);
	*len += need;
	dns_put16(msg + 10, dns_get16(msg + 10) + 1u);
	return 0;
}

/* A new HMAC fed with the MAC this message answers or follows, if any
 * (RFC 8945 §4.3.1, §5.3.1): its length, then the MAC. */
static struct tsig_hmac *digest_start(const struct tsig_ctx *c)
{
	struct tsig_hmac *h = tsig_hmac_new(c->key);
	uint8_t n[2];

	if (h && c->mac_len) {
		dns_put16(n, (unsigned)c->mac_len);
		tsig_hmac_update(h, n, 2);
		tsig_hmac_update(h, c->mac, c->mac_len);
	}
	return h;
}

/* The message as it was before its TSIG (RFC 8945 §4.3.2): the original
 * id, ARCOUNT without the TSIG, then everything up to the record. */
static void digest_msg(struct tsig_hmac *h, const uint8_t *m, size_t len,
		       uint16_t id, uint16_t arcount)
{
	uint8_t hdr[DNS_HDR_LEN];

	memcpy(hdr, m, DNS_HDR_LEN);
	dns_put16(hdr, id);
	dns_put16(hdr + 10, arcount);
	tsig_hmac_update(h, hdr, DNS_HDR_LEN);
	tsig_hmac_update(h, m + DNS_HDR_LEN, len - DNS_HDR_LEN);
}

/* The TSIG variables (RFC 8945 §4.3.3); past the first answer of a
 * transfer only the timers (§5.3.1). */
static void digest_vars(struct tsig_hmac *h, const struct tsig_rr *t,
			bool timers_only)
{
	uint8_t b[10];

	if (!timers_only) {
		tsig_hmac_update(h, t->owner, t->owner_len);
		dns_put16(b, DNS_CLASS_ANY);
		dns_put32(b + 2, 0);
		tsig_hmac_update(h, b, 6);
		tsig_hmac_update(h, t->alg, t->alg_len);
	}
	put48(b, t->time);
	dns_put16(b + 6, t->fudge);
	if (timers_only) {
		tsig_hmac_update(h, b, 8);
		return;
	}
	dns_put16(b + 8, t->error);
	tsig_hmac_update(h, b, 10);
	dns_put16(b, t->other_len);
	tsig_hmac_update(h, b, 2);
	tsig_hmac_update(h, t->other, t->other_len);
}

/* Whether a message with a TSIG takes the timers alone: every one after
 * the request and its first answer. */
static bool timers_only(const struct tsig_ctx *c)
{
	return c->signed_count >= 2;
}

/* ---- conversations ------------------------------------------------------- */

void tsig_ctx_init(struct tsig_ctx *c, const struct tsig_key *key)
{
	memset(c, 0, sizeof(*c));
	c->key = key;
}

void tsig_ctx_free(struct tsig_ctx *c)
{
	tsig_hmac_free(c->running);
	c->running = NULL;
}

int tsig_sign(struct tsig_ctx *c, uint8_t *msg, size_t *len, size_t cap,
	      uint64_t now, uint16_t error)
{
	uint8_t mac[TSIG_MAX_MAC], other[6];
	struct tsig_rr t = { 0 };
	struct tsig_hmac *h;

	/* Key and MAC errors are answered unsigned: tsig_append_error(). */
	if (!c->key || error == TSIG_ERR_BADSIG || error == TSIG_ERR_BADKEY ||
	    *len < DNS_HDR_LEN || *len > cap)
		return -1;
	t.owner = c->key->name;
	t.owner_len = c->key->name_len;
	t.alg = algs[c->key->alg].wire;
	t.alg_len = algs[c->key->alg].wire_len;
	t.time = now;
	t.fudge = TSIG_FUDGE;
	t.mac = mac;
	t.mac_len = (uint16_t)tsig_hmac_size(c->key->alg);
	t.orig_id = dns_get16(msg);
	t.error = error;
	if (error == TSIG_ERR_BADTIME) {
		/* Signed at the client's time so the client can check it,
		 * with ours beside it (RFC 8945 §5.2.3, §5.4.3). */
		t.time = c->peer_time;
		put48(other, now);
		t.other = other;
		t.other_len = sizeof(other);
	}
	h = digest_start(c);
	if (!h)
		return -1;
	digest_msg(h, msg, *len, t.orig_id, dns_get16(msg + 10));
	digest_vars(h, &t, timers_only(c));
	if (tsig_hmac_final(h, mac) < 0)
		return -1;
	if (append_tsig(msg, len, cap, &t) < 0)
		return -1;
	memcpy(c->mac, mac, t.mac_len);
	c->mac_len = t.mac_len;
	c->signed_count++;
	return 0;
}

int tsig_append_error(uint8_t *msg, size_t *len, size_t cap,
		      const uint8_t *req, size_t req_len, uint64_t now,
		      uint16_t error)
{
	struct tsig_found f;

	if (*len < DNS_HDR_LEN || find_tsig(req, req_len, &f.start) != TSIG_OK ||
	    parse_tsig(req, req_len, &f) != TSIG_OK)
		return -1;
	/* The request's key name and algorithm, known to us or not; an
	 * empty MAC (RFC 8945 §5.3.2). */
	struct tsig_rr t = {
		.owner = f.rr.owner,
		.owner_len = f.rr.owner_len,
		.alg = f.rr.alg,
		.alg_len = f.rr.alg_len,
		.time = now,
		.fudge = TSIG_FUDGE,
		.orig_id = dns_get16(msg),
		.error = error,
	};
	return append_tsig(msg, len, cap, &t);
}

void tsig_answer_failure(struct tsig_ctx *c, enum tsig_result r,
			 uint8_t *resp, size_t *len, size_t cap,
			 const uint8_t *req, size_t req_len, uint64_t now)
{
	if (r == TSIG_BADTIME && c->key)
		(void)tsig_sign(c, resp, len, cap, now, TSIG_ERR_BADTIME);
	else if (r == TSIG_BADKEY || r == TSIG_BADSIG || r == TSIG_BADTIME)
		(void)tsig_append_error(resp, len, cap, req, req_len, now,
					r == TSIG_BADKEY ? TSIG_ERR_BADKEY :
					r == TSIG_BADSIG ? TSIG_ERR_BADSIG :
							   TSIG_ERR_BADTIME);
}

/* Whether the record names the key: its name and its algorithm. */
static bool key_matches(const struct tsig_key *k, const struct tsig_rr *t)
{
	enum tsig_alg alg;

	return t->owner_len == k->name_len &&
	       memcmp(t->owner, k->name, k->name_len) == 0 &&
	       alg_from_wire(t->alg, t->alg_len, &alg) == 0 && alg == k->alg;
}

/* An unsigned message of a transfer goes whole into the digest the next
 * signed one closes (RFC 8945 §5.3.1). If the HMAC cannot be had the
 * message is left out, and that next MAC fails to verify. */
static void add_unsigned(struct tsig_ctx *c, const uint8_t *msg, size_t len)
{
	if (!c->running)
		c->running = digest_start(c);
	if (c->running)
		tsig_hmac_update(c->running, msg, len);
	c->unsigned_run++;
}

static bool time_ok(uint64_t now, uint64_t signed_at, uint16_t fudge)
{
	return now >= signed_at ? now - signed_at <= fudge :
				  signed_at - now <= fudge;
}

enum tsig_result tsig_verify(struct tsig_ctx *c, const struct tsig_key *keys,
			     size_t nkeys, uint8_t *msg, size_t *len,
			     uint64_t now)
{
	const bool client = c->key != NULL;
	struct tsig_rr *t;
	struct tsig_found f;
	struct tsig_hmac *h;
	uint8_t mac[TSIG_MAX_MAC];
	enum tsig_result r;

	r = find_tsig(msg, *len, &f.start);
	if (r == TSIG_UNSIGNED && client)
		add_unsigned(c, msg, *len);
	if (r != TSIG_OK)
		return r;
	r = parse_tsig(msg, *len, &f);
	if (r != TSIG_OK)
		return r;
	t = &f.rr;
	c->peer_error = t->error;
	c->peer_time = t->time;
	c->orig_id = t->orig_id;

	/* Key check (RFC 8945 §5.2.1): name and algorithm both. */
	if (!client) {
		for (size_t i = 0; i < nkeys && !c->key; i++)
			if (key_matches(&keys[i], t))
				c->key = &keys[i];
	}
	if (!c->key || !key_matches(c->key, t))
		return TSIG_BADKEY;

	/* An empty MAC is the unsigned answer to a key or MAC error
	 * (§5.3.2): there is nothing to verify. */
	size_t full = tsig_hmac_size(c->key->alg);
	if (t->mac_len == 0)
		return client && t->error ? TSIG_PEER_ERROR : TSIG_BADSIG;
	/* Longer than the hash, or truncated below the larger of 10 bytes
	 * and half the hash: FORMERR (§5.2.2.1). Truncations above that
	 * are our policy's, so BADTRUNC (§5.2.4) never applies. */
	if (t->mac_len > full ||
	    t->mac_len < (full / 2 > TSIG_MIN_MAC ? full / 2 : TSIG_MIN_MAC))
		return TSIG_FORMERR;

	/* MAC check (§5.2.2): unsigned messages before it included. */
	h = c->running ? c->running : digest_start(c);
	c->running = NULL;
	if (!h)
		return TSIG_BADSIG;
	digest_msg(h, msg, f.start, t->orig_id, dns_get16(msg + 10) - 1u);
	digest_vars(h, t, timers_only(c));
	if (tsig_hmac_final(h, mac) < 0 ||
	    !tsig_mac_equal(mac, t->mac, t->mac_len))
		return TSIG_BADSIG;

	/* The MAC as received, truncated or not, is what the answer or the
	 * next message is signed over; kept even for BADTIME, whose answer
	 * is signed too. */
	memcpy(c->mac, t->mac, t->mac_len);
	c->mac_len = t->mac_len;
	c->signed_count++;
	c->unsigned_run = 0;
	*len = f.start;
	dns_put16(msg + 10, dns_get16(msg + 10) - 1u);

	/* A signed error from the server (§5.4): BADTIME carries its
	 * clock in other data. */
	if (client && t->error) {
		if (t->error == TSIG_ERR_BADTIME && t->other_len == 6)
			c->peer_time = get48(t->other);
		return TSIG_PEER_ERROR;
	}
	/* Time check (§5.2.3), after the MAC so a forged time cannot
	 * make us answer BADTIME signed. */
	if (!time_ok(now, t->time, t->fudge))
		return TSIG_BADTIME;
	return TSIG_OK;
}

bool tsig_unsigned_ok(const struct tsig_ctx *c)
{
	/* Not before the first answer has been verified signed. */
	return c->signed_count >= 2 && c->unsigned_run <= TSIG_MAX_UNSIGNED;
}

const char *tsig_result_str(enum tsig_result r)
{
	switch (r) {
	case TSIG_OK:
		return "signed and valid";
	case TSIG_UNSIGNED:
		return "unsigned";
	case TSIG_BADKEY:
		return "unknown key or algorithm (BADKEY)";
	case TSIG_BADSIG:
		return "MAC does not verify (BADSIG)";
	case TSIG_BADTIME:
		return "time signed outside the fudge (BADTIME)";
	case TSIG_BADTRUNC:
		return "MAC truncated below policy (BADTRUNC)";
	case TSIG_FORMERR:
		return "malformed TSIG record";
	case TSIG_PEER_ERROR:
		return "peer answered with a TSIG error";
	}
	return "unknown TSIG result";
}
