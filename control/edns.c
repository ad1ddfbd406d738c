/* EDNS in what ditto-control answers on its management addresses: the OPT
 * record of a request (RFC 6891), and the EXPIRE option (RFC 7314) that a
 * downstream secondary asks for in its SOA queries and transfers and gets
 * back with the seconds this node's copy has left before it expires.
 */
#include <string.h>
#include <time.h>

#include "ditto/wire.h"
#include "server.h"

#define EDNS_EXPIRE 9
#define EDNS_PAYLOAD 1232

void edns_of_request(const uint8_t *req, size_t len, size_t qend,
		     struct req_edns *e)
{
	unsigned n = (unsigned)dns_get16(req + 6) + dns_get16(req + 8) +
		     dns_get16(req + 10);
	size_t p = qend;

	memset(e, 0, sizeof(*e));
	for (unsigned i = 0; i < n && p < len; i++) {
		size_t at = p;

		if (!dns_skip_name(req, len, &p) || p + 10 > len)
			return;
		size_t rdlen = dns_get16(req + p + 8);

		if (p + 10 + rdlen > len)
			return;
		if (dns_get16(req + p) == DNS_T_OPT && req[at] == 0 &&
		    i >= (unsigned)dns_get16(req + 6) + dns_get16(req + 8)) {
			const uint8_t *o = req + p + 10;

			e->present = true;
			for (size_t k = 0; k + 4 <= rdlen;) {
				uint16_t code = dns_get16(o + k);
				size_t olen = dns_get16(o + k + 2);

				if (k + 4 + olen > rdlen)
					break;
				if (code == EDNS_EXPIRE)
					e->expire = true;
				k += 4 + olen;
			}
			return;
		}
		p += 10 + rdlen;
	}
}

int edns_append(uint8_t *msg, size_t *len, size_t cap, int64_t expire)
{
	size_t n = *len, need = 11 + (expire >= 0 ? 8 : 0);

	if (n + need > cap)
		return -1;
	msg[n] = 0;				/* root */
	dns_put16(msg + n + 1, DNS_T_OPT);
	dns_put16(msg + n + 3, EDNS_PAYLOAD);
	dns_put32(msg + n + 5, 0);		/* rcode, version, flags */
	dns_put16(msg + n + 9, expire >= 0 ? 8 : 0);
	if (expire >= 0) {
		dns_put16(msg + n + 11, EDNS_EXPIRE);
		dns_put16(msg + n + 13, 4);
		dns_put32(msg + n + 15, (uint32_t)expire);
	}
	*len = n + need;
	dns_put16(msg + 10, dns_get16(msg + 10) + 1);
	return 0;
}

int64_t zone_expire_left(const struct czone *z)
{
	time_t now = time(NULL);

	if (z->state != ZS_OK || !z->expire_at)
		return 0;
	return z->expire_at > now ? (int64_t)(z->expire_at - now) : 0;
}
