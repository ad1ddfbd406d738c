/* Names for ditto's error codes. */
#include <errno.h>
#include <string.h>

#include "ditto/error.h"

const char *ditto_strerror(int err)
{
	switch (err) {
	case DITTO_OK: return "success";
	case DITTO_ENOMEM: return "out of memory";
	case DITTO_EIO: return "input/output error";
	case DITTO_EMAGIC: return "not a ditto image (bad magic)";
	case DITTO_EVERSION: return "unsupported image version or byte order";
	case DITTO_ETRUNC: return "truncated";
	case DITTO_ECHECKSUM: return "checksum mismatch";
	case DITTO_ERANGE: return "offset or length out of range";
	case DITTO_ECORRUPT: return "inconsistent structure";
	case DITTO_ESYNTAX: return "syntax error";
	case DITTO_ESEMANTIC: return "semantic error";
	case DITTO_ELIMIT: return "limit exceeded";
	case DITTO_EEXIST: return "already exists";
	case DITTO_ENOENT: return "not found";
	case DITTO_EINVAL: return "invalid argument";
	}
	if (err < 0 && err > -4096)
		return strerror(-err);
	return "unknown error";
}
