/* yconf: the node's YAML configuration file read into a small tree that
 * keeps the line of every value, so both processes can say exactly where a
 * setting is wrong. Anchors, aliases and tags are refused: the file is
 * configuration, not a data format.
 */
#ifndef DITTO_YCONF_H
#define DITTO_YCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ynode_kind { Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode {
	enum ynode_kind kind;
	unsigned line;		/* 1-based line where the value starts */
	char *str;		/* Y_SCALAR: the text */
	size_t n;		/* Y_SEQ, Y_MAP: number of items */
	struct ynode **items;	/* Y_SEQ: values; Y_MAP: values */
	char **keys;		/* Y_MAP: keys, unique */
	unsigned *key_lines;	/* Y_MAP: line of each key */
};

/* Read path; on failure NULL with "path:line: what" in err. An empty file
 * is an empty map. */
struct ynode *yconf_load(const char *path, char *err, size_t errlen);
/* The same from a string (name is used in messages). */
struct ynode *yconf_parse(const char *text, size_t len, const char *name,
			  char *err, size_t errlen);
void yconf_free(struct ynode *n);

/* The value of key in map, or NULL (also when map is not a map). */
const struct ynode *yconf_get(const struct ynode *map, const char *key);

/* Typed readers: 0 on success, -1 with "file:line: key: what" in err.
 * A missing node leaves *out alone and succeeds. */
int yconf_uint(const struct ynode *n, const char *file, const char *key,
	       uint64_t min, uint64_t max, uint64_t *out, char *err,
	       size_t errlen);
int yconf_bool(const struct ynode *n, const char *file, const char *key,
	       bool *out, char *err, size_t errlen);
int yconf_str(const struct ynode *n, const char *file, const char *key,
	      const char **out, char *err, size_t errlen);

/* The keys of node:, which both processes read (each takes its own). */
extern const char *const yconf_node_keys[];

/* Fail with "file:line: unknown key 'k' in section" for any key of map not
 * in the NULL-terminated list known. */
int yconf_only(const struct ynode *map, const char *file, const char *section,
	       const char *const *known, char *err, size_t errlen);

#endif
