/* The master file reader's fast path (see rrtext.h). Each rule below is
 * the one ldns 1.8 applies (ldns_rr_new_frm_str, ldns_bget_token and the
 * ldns_str2rdf_* readers), so a record read here is byte for byte the one
 * ldns reads; wherever ldns has a quirk or an error to report, the entry
 * is declined and ldns parses it. */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "ditto/wire.h"
#include "rrtext.h"

/* ldns's limits: its tokenizer refuses an owner of 255 characters or
 * more and a TTL of 21 or more, and it cuts the rdata text at 65535
 * characters without a word. */
#define OWNER_TEXT_MAX 254
#define TTL_TEXT_MAX 20
#define ENTRY_TEXT_MAX 65535
/* ldns's TTL for an entry without one when $TTL is 0. */
#define LDNS_TTL_DEFAULT 3600

#define DNS_T_CAA 257	/* RFC 8659 */

/* Rdata fields, after ldns's rdata field types. */
enum field {
	F_END = 0,
	F_A,		/* IPv4 address */
	F_AAAA,		/* IPv6 address */
	F_NAME,		/* domain name, relative to the origin if not absolute */
	F_U8,		/* decimal integers */
	F_U16,
	F_U32,
	F_PERIOD,	/* seconds, units allowed (SOA timers) */
	F_STRINGS,	/* character-strings to the end (TXT) */
	F_TAG,		/* letters and digits (CAA tag) */
	F_LONG_STR,	/* one quoted string, no length byte (CAA value) */
	F_HEX,		/* hex digits to the end, blanks between (DS digest) */
};

struct kind {
	const char *name;
	uint16_t type;
	uint8_t fields[8];
};

/* The types read here, most frequent first (the type is found by a
 * linear scan). DS's algorithm is taken as a number only; its mnemonics
 * go to ldns. */
static const struct kind kinds[] = {
	{ "A", DNS_T_A, { F_A } },
	{ "AAAA", DNS_T_AAAA, { F_AAAA } },
	{ "TXT", DNS_T_TXT, { F_STRINGS } },
	{ "CNAME", DNS_T_CNAME, { F_NAME } },
	{ "NS", DNS_T_NS, { F_NAME } },
	{ "MX", DNS_T_MX, { F_U16, F_NAME } },
	{ "PTR", DNS_T_PTR, { F_NAME } },
	{ "SRV", DNS_T_SRV, { F_U16, F_U16, F_U16, F_NAME } },
	{ "DS", DNS_T_DS, { F_U16, F_U8, F_U8, F_HEX } },
	{ "CAA", DNS_T_CAA, { F_U8, F_TAG, F_LONG_STR } },
	{ "DNAME", DNS_T_DNAME, { F_NAME } },
	{ "SOA", DNS_T_SOA, { F_NAME, F_NAME, F_U32, F_PERIOD, F_PERIOD,
			      F_PERIOD, F_PERIOD } },
};

/* A piece of the entry text. */
struct tok {
	const char *s;
	size_t n;
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* ASCII only, as ldns's ctype calls in the C locale. */
static bool is_alpha(char c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static const char *skip_blanks(const char *p)
{
	while (is_blank(*p))
		p++;
	return p;
}

/* The next token after blanks, up to an unescaped blank. ldns's tokenizer
 * gives quotes, parentheses and ';' a meaning even inside a token, turns
 * '\r' into a blank and splits at '\n'; parse.c leaves those only in odd
 * entries, and they are ldns's to read. False when there is no token. */
static bool next_token(const char **pp, struct tok *t)
{
	const char *p = skip_blanks(*pp);

	t->s = p;
	for (;;) {
		switch (*p) {
		case '\0':
		case ' ':
		case '\t':
			t->n = (size_t)(p - t->s);
			*pp = p;
			return t->n > 0;
		case '"':
		case '(':
		case ')':
		case ';':
		case '\n':
		case '\r':
			return false;
		case '\\':
			if (p[1] == '\0' || p[1] == '\n' || p[1] == '\r')
				return false;
			p += 2;
			break;
		default:
			p++;
		}
	}
}

/* A token of the rdata. "\#" there starts RFC 3597 generic rdata, which
 * ldns reads for any type. */
static bool rdata_token(const char **pp, struct tok *t)
{
	return next_token(pp, t) &&
	       !(t->n == 2 && t->s[0] == '\\' && t->s[1] == '#');
}

/* A quoted string, p just past its opening quote, up to the closing
 * quote as ldns's tokenizer finds it. An unterminated string, which ldns
 * takes all the same, is declined. */
static bool quoted_token(const char **pp, struct tok *t)
{
	const char *p = *pp;

	t->s = p;
	for (; *p != '"'; p++) {
		if (*p == '\\')
			p++;
		if (*p == '\0' || *p == '\n' || *p == '\r')
			return false;
	}
	t->n = (size_t)(p - t->s);
	*pp = p + 1;
	return true;
}

static bool token_is(const struct tok *t, const char *word)
{
	return t->n == strlen(word) && strncasecmp(t->s, word, t->n) == 0;
}

/* One character of a name or string (ldns's parse_char): \DDD is a byte
 * by its decimal value, \X is X. False on a bad escape. */
static bool text_char(const char **pp, const char *end, uint8_t *c)
{
	const char *p = *pp;

	if (*p != '\\') {
		*c = (uint8_t)*p;
		*pp = p + 1;
		return true;
	}
	p++;
	if (end - p >= 3 && is_digit(p[0]) && is_digit(p[1]) &&
	    is_digit(p[2])) {
		unsigned v = (unsigned)(p[0] - '0') * 100 +
			     (unsigned)(p[1] - '0') * 10 +
			     (unsigned)(p[2] - '0');
		if (v > 255)
			return false;
		*c = (uint8_t)v;
		*pp = p + 3;
		return true;
	}
	if (p < end && !is_digit(*p)) {
		*c = (uint8_t)*p;
		*pp = p + 1;
		return true;
	}
	return false;
}

/* A domain name (ldns_str2rdf_dname), with the origin appended when it is
 * relative, as ldns_dname_cat() does. The limits are ldns's: labels of 1
 * to 63 bytes, no more than 255 bytes in all. */
static bool name_from_text(const struct tok *t, const struct rrtext_ctx *ctx,
			   uint8_t out[255], size_t *len)
{
	const char *p = t->s, *end = t->s + t->n;
	size_t q = 1, lp = 0, ll = 0;	/* next byte, length byte, length */
	bool absolute = false;

	if (t->n == 1 && *p == '.') {
		out[0] = 0;
		*len = 1;
		return true;
	}
	while (p < end) {
		if (q >= 255)
			return false;
		if (*p == '.') {
			if (ll == 0 || ll > 63)
				return false;
			out[lp] = (uint8_t)ll;
			lp = q++;
			ll = 0;
			p++;
			absolute = true;
			continue;
		}
		absolute = false;
		if (!text_char(&p, end, &out[q]))
			return false;
		q++;
		ll++;
	}
	if (absolute) {
		out[lp] = 0;
		*len = q;
		return true;
	}
	if (ll == 0 || ll > 63 || !ctx->origin ||
	    q + ctx->origin_len > 255)
		return false;
	out[lp] = (uint8_t)ll;
	memcpy(out + q, ctx->origin, ctx->origin_len);
	*len = q + ctx->origin_len;
	return true;
}

/* A TTL or SOA timer: seconds, or units as in 1w2d3h4m5s (a trailing
 * number counts as seconds), summed in 32 bits with wrap-around as
 * ldns_str2period() does. Signs and other letters are left to ldns. */
static bool period_from_text(const struct tok *t, uint32_t *out)
{
	uint32_t sum = 0, n = 0;

	if (!is_digit(t->s[0]))
		return false;
	for (size_t i = 0; i < t->n; i++) {
		char c = t->s[i];
		uint32_t unit;

		if (is_digit(c)) {
			n = n * 10 + (uint32_t)(c - '0');
			continue;
		}
		switch (c | 0x20) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		case 'w': unit = 604800; break;
		default: return false;
		}
		sum += n * unit;
		n = 0;
	}
	*out = sum + n;
	return true;
}

/* A decimal integer up to max. ldns reads these with strtol() and keeps
 * the low bits; signs and larger values are left to it. */
static bool uint_from_text(const struct tok *t, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (t->n > 10)
		return false;
	for (size_t i = 0; i < t->n; i++) {
		if (!is_digit(t->s[i]))
			return false;
		v = v * 10 + (uint64_t)(t->s[i] - '0');
	}
	if (v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool put(struct rrtext_rr *rr, const void *data, size_t n)
{
	if (n > RRTEXT_RDATA_MAX - rr->rdlen)
		return false;
	memcpy(rr->rdata + rr->rdlen, data, n);
	rr->rdlen += n;
	return true;
}

static bool put_uint(struct rrtext_rr *rr, uint32_t v, size_t bytes)
{
	uint8_t b[4];

	for (size_t i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	return put(rr, b, bytes);
}

/* The bytes of a string token (escapes decoded), at most max of them,
 * after a length byte when counted. */
static bool put_text(struct rrtext_rr *rr, const struct tok *t, size_t max,
		     bool counted)
{
	const char *p = t->s, *end = t->s + t->n;
	size_t at = rr->rdlen, n = 0;

	if (counted && !put_uint(rr, 0, 1))
		return false;
	while (p < end) {
		uint8_t c;
		if (n == max || !text_char(&p, end, &c) || !put(rr, &c, 1))
			return false;
		n++;
	}
	if (counted)
		rr->rdata[at] = (uint8_t)n;
	return true;
}

/* A domain name in rdata. ldns makes any name whose first label is "@"
 * the origin; only "@" itself is read here. */
static bool put_name(struct rrtext_rr *rr, const struct tok *t,
		     const struct rrtext_ctx *ctx)
{
	uint8_t name[255];
	size_t len;

	if (t->n == 1 && t->s[0] == '@')
		return ctx->origin && put(rr, ctx->origin, ctx->origin_len);
	if (!name_from_text(t, ctx, name, &len) ||
	    (name[0] == 1 && name[1] == '@'))
		return false;
	return put(rr, name, len);
}

static bool put_address(struct rrtext_rr *rr, const struct tok *t, int af)
{
	char text[64];
	uint8_t addr[16];

	if (t->n >= sizeof(text))
		return false;
	memcpy(text, t->s, t->n);
	text[t->n] = 0;
	if (inet_pton(af, text, addr) != 1)
		return false;
	return put(rr, addr, af == AF_INET ? 4 : 16);
}

/* Character-strings to the end of the rdata, quoted or not. ldns starts
 * a new string right after a closing quote; that is declined. */
static bool put_strings(struct rrtext_rr *rr, const char **pp)
{
	const char *p = *pp;
	size_t count = 0;
	struct tok t;

	for (;;) {
		p = skip_blanks(p);
		if (!*p)
			break;
		if (*p == '"') {
			p++;
			if (!quoted_token(&p, &t) || (*p && !is_blank(*p)))
				return false;
		} else if (!rdata_token(&p, &t)) {
			return false;
		}
		if (!put_text(rr, &t, 255, true))
			return false;
		count++;
	}
	*pp = p;
	return count > 0;
}

/* CAA's value: one quoted string, the last thing in the entry (ldns
 * calls even blanks after it superfluous). */
static bool put_long_str(struct rrtext_rr *rr, const char **pp)
{
	const char *p = skip_blanks(*pp);
	struct tok t;

	if (*p != '"')
		return false;
	p++;
	if (!quoted_token(&p, &t) || *p)
		return false;
	*pp = p;
	return put_text(rr, &t, RRTEXT_RDATA_MAX, false);
}

/* Hex digits to the end of the rdata, blanks anywhere between them, an
 * even number of them (ldns pads an odd one; that is declined). */
static bool put_hex(struct rrtext_rr *rr, const char **pp)
{
	const char *p = *pp;
	unsigned nibbles = 0, byte = 0;

	for (; *p; p++) {
		unsigned v;
		if (is_blank(*p))
			continue;
		if (is_digit(*p))
			v = (unsigned)(*p - '0');
		else if (is_alpha(*p) && (*p | 0x20) <= 'f')
			v = (unsigned)((*p | 0x20) - 'a' + 10);
		else
			return false;
		byte = byte << 4 | v;
		if (++nibbles % 2 == 0 && !put_uint(rr, byte & 0xff, 1))
			return false;
	}
	*pp = p;
	return nibbles > 0 && nibbles % 2 == 0;
}

/* A field read from one token. */
static bool put_field(struct rrtext_rr *rr, enum field f, const struct tok *t,
		      const struct rrtext_ctx *ctx)
{
	uint32_t v;

	switch (f) {
	case F_A:
		return put_address(rr, t, AF_INET);
	case F_AAAA:
		return put_address(rr, t, AF_INET6);
	case F_NAME:
		return put_name(rr, t, ctx);
	case F_U8:
		return uint_from_text(t, 0xff, &v) && put_uint(rr, v, 1);
	case F_U16:
		return uint_from_text(t, 0xffff, &v) && put_uint(rr, v, 2);
	case F_U32:
		return uint_from_text(t, 0xffffffff, &v) && put_uint(rr, v, 4);
	case F_PERIOD:
		return period_from_text(t, &v) && put_uint(rr, v, 4);
	case F_TAG:
		for (size_t i = 0; i < t->n; i++)
			if (!is_digit(t->s[i]) && !is_alpha(t->s[i]))
				return false;
		return put_text(rr, t, 255, true);
	default:
		return false;
	}
}

/* The rdata of a kind, p at its first token. */
static bool put_rdata(struct rrtext_rr *rr, const struct kind *k,
		      const char *p, const struct rrtext_ctx *ctx)
{
	struct tok t;
	bool ok;

	rr->rdlen = 0;
	for (const uint8_t *f = k->fields; *f != F_END; f++) {
		switch (*f) {
		case F_STRINGS:
			ok = put_strings(rr, &p);
			break;
		case F_LONG_STR:
			ok = put_long_str(rr, &p);
			break;
		case F_HEX:
			ok = put_hex(rr, &p);
			break;
		default:
			ok = rdata_token(&p, &t) &&
			     put_field(rr, (enum field)*f, &t, ctx);
		}
		if (!ok)
			return false;
	}
	/* More tokens than fields: ldns's "superfluous text". */
	return *skip_blanks(p) == '\0';
}

static const struct kind *kind_of(const struct tok *t)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (token_is(t, kinds[i].name))
			return &kinds[i];
	return NULL;
}

static void set_owner(struct rrtext_rr *rr, const uint8_t *name, size_t len)
{
	memcpy(rr->owner, name, len);
	rr->owner_len = len;
}

bool rrtext_parse(const char *entry, const struct rrtext_ctx *ctx,
		  struct rrtext_rr *rr)
{
	const char *p = entry;
	const struct kind *k;
	struct tok t;

	if (strnlen(entry, ENTRY_TEXT_MAX) == ENTRY_TEXT_MAX)
		return false;

	/* The owner: none when the entry starts with a blank (the previous
	 * owner, else the origin; ldns's last resort, the root, is left to
	 * it), else a name or '@'. ldns takes any owner starting with '@' for
	 * the origin; only "@" itself is read here. */
	if (is_blank(*p)) {
		if (ctx->prev)
			set_owner(rr, ctx->prev, ctx->prev_len);
		else if (ctx->origin)
			set_owner(rr, ctx->origin, ctx->origin_len);
		else
			return false;
		rr->owner_given = false;
	} else {
		if (!next_token(&p, &t) || t.n > OWNER_TEXT_MAX)
			return false;
		if (t.s[0] == '@') {
			if (t.n != 1 || !ctx->origin)
				return false;
			set_owner(rr, ctx->origin, ctx->origin_len);
		} else if (!name_from_text(&t, ctx, rr->owner,
					   &rr->owner_len)) {
			return false;
		}
		rr->owner_given = true;
	}

	/* TTL then class, both optional: ldns takes a token starting with a
	 * digit for the TTL, and only before the class (it reads "IN 300 A"
	 * as type 300, an error). Classes other than IN are ldns's. */
	if (!next_token(&p, &t))
		return false;
	if (is_digit(t.s[0])) {
		if (t.n > TTL_TEXT_MAX || !period_from_text(&t, &rr->ttl) ||
		    !next_token(&p, &t))
			return false;
	} else {
		rr->ttl = ctx->default_ttl ? ctx->default_ttl
					   : LDNS_TTL_DEFAULT;
	}
	if (token_is(&t, "IN") && !next_token(&p, &t))
		return false;
	k = kind_of(&t);
	if (!k)
		return false;
	rr->type = k->type;
	return put_rdata(rr, k, p, ctx);
}
