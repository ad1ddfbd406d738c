/* Wire-format name helpers shared by the compiler, loader and engine. */
#include <stdio.h>
#include <string.h>

#include "ditto/wire.h"

size_t dns_name_len(const uint8_t *p, size_t max)
{
	size_t n = 0;

	for (;;) {
		if (n >= max)
			return 0;
		uint8_t l = p[n];
		if (l == 0)
			return n + 1 <= 255 ? n + 1 : 0;
		if (l > 63)
			return 0;
		n += 1u + l;
		if (n > 255)
			return 0;
	}
}

unsigned dns_name_labels(const uint8_t *name)
{
	unsigned n = 0;

	while (*name) {
		name += 1u + *name;
		n++;
	}
	return n;
}

bool dns_name_is_sub(const uint8_t *name, size_t len, const uint8_t *parent,
		     size_t parent_len)
{
	if (parent_len > len)
		return false;
	/* Walk label starts so the suffix is compared on a label boundary. */
	size_t off = 0;
	while (len - off > parent_len)
		off += 1u + name[off];
	return len - off == parent_len &&
	       memcmp(name + off, parent, parent_len) == 0;
}

size_t dns_name_lower(uint8_t *dst, const uint8_t *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = dns_lower(src[i]);
	return len;
}

int dns_name_cmp(const uint8_t *a, const uint8_t *b)
{
	const uint8_t *la[128], *lb[128];
	int na = 0, nb = 0;

	for (; *a; a += 1u + *a)
		la[na++] = a;
	for (; *b; b += 1u + *b)
		lb[nb++] = b;
	while (na > 0 && nb > 0) {
		const uint8_t *x = la[--na], *y = lb[--nb];
		size_t n = x[0] < y[0] ? x[0] : y[0];
		int c = memcmp(x + 1, y + 1, n);
		if (c)
			return c;
		if (x[0] != y[0])
			return x[0] < y[0] ? -1 : 1;
	}
	return na == nb ? 0 : (na < nb ? -1 : 1);
}

char *dns_name_to_text(const uint8_t *name, char *buf, size_t cap)
{
	size_t o = 0;

	if (cap == 0)
		return buf;
	if (*name == 0) {
		snprintf(buf, cap, ".");
		return buf;
	}
	for (; *name && o + 5 < cap; name += 1u + *name) {
		for (unsigned i = 1; i <= *name && o + 5 < cap; i++) {
			uint8_t c = name[i];
			if (c == '.' || c == '\\' || c == '"' || c == '(' ||
			    c == ')' || c == ';' || c == '$' || c == '@')
				o += (size_t)snprintf(buf + o, cap - o, "\\%c", c);
			else if (c <= 0x20 || c >= 0x7f)
				o += (size_t)snprintf(buf + o, cap - o, "\\%03u", c);
			else
				buf[o++] = (char)c;
		}
		buf[o++] = '.';
	}
	buf[o] = 0;
	return buf;
}
