/* Error codes shared by every part of ditto: 0 is success, negative values
 * are errors that ditto_strerror() names. */
#ifndef DITTO_ERROR_H
#define DITTO_ERROR_H

enum ditto_error {
	DITTO_OK = 0,
	DITTO_ENOMEM = -1000,	/* out of memory */
	DITTO_EIO,		/* read or write failed (see errno) */
	DITTO_EMAGIC,		/* not a ditto image */
	DITTO_EVERSION,		/* unsupported image version or byte order */
	DITTO_ETRUNC,		/* truncated */
	DITTO_ECHECKSUM,	/* checksum mismatch */
	DITTO_ERANGE,		/* offset or length outside its section */
	DITTO_ECORRUPT,		/* structure inconsistent */
	DITTO_ESYNTAX,		/* zone text does not parse */
	DITTO_ESEMANTIC,	/* zone fails a semantic check */
	DITTO_ELIMIT,		/* a configured limit was exceeded */
	DITTO_EEXIST,		/* already present */
	DITTO_ENOENT,		/* not found */
	DITTO_EINVAL,		/* invalid argument */
};

const char *ditto_strerror(int err);

#endif
