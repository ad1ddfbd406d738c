/* yconf: YAML configuration into a line-annotated tree (see yconf.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "yconf.h"

#define YCONF_MAX_DEPTH 32

const char *const yconf_node_keys[] = {
	"identity", "state-dir", "management-addresses", "control-socket",
	"socket-group", "log-level", "metrics", NULL
};
#define YCONF_MAX_FILE (16u << 20)

struct yparse {
	yaml_parser_t p;
	const char *name;
	char *err;
	size_t errlen;
};

static void yfail(struct yparse *y, unsigned line, const char *what)
{
	snprintf(y->err, y->errlen, "%s:%u: %s", y->name, line, what);
}

static void yfree_node(struct ynode *n)
{
	if (!n)
		return;
	free(n->str);
	for (size_t i = 0; i < n->n; i++) {
		yfree_node(n->items[i]);
		if (n->keys)
			free(n->keys[i]);
	}
	free(n->items);
	free(n->keys);
	free(n->key_lines);
	free(n);
}

void yconf_free(struct ynode *n)
{
	yfree_node(n);
}

static int next_event(struct yparse *y, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&y->p, ev)) {
		char buf[256];

		snprintf(buf, sizeof(buf), "%s%s%s",
			 y->p.problem ? y->p.problem : "syntax error",
			 y->p.context ? " " : "",
			 y->p.context ? y->p.context : "");
		yfail(y, (unsigned)y->p.problem_mark.line + 1, buf);
		return -1;
	}
	return 0;
}

static int push(struct ynode *n, struct ynode *item, char *key,
		unsigned key_line)
{
	struct ynode **items = realloc(n->items, (n->n + 1) * sizeof(*items));

	if (!items)
		return -1;
	n->items = items;
	if (n->kind == Y_MAP) {
		char **keys = realloc(n->keys, (n->n + 1) * sizeof(*keys));

		if (!keys)
			return -1;
		n->keys = keys;
		unsigned *kl = realloc(n->key_lines, (n->n + 1) * sizeof(*kl));

		if (!kl)
			return -1;
		n->key_lines = kl;
		n->keys[n->n] = key;
		n->key_lines[n->n] = key_line;
	}
	n->items[n->n++] = item;
	return 0;
}

static struct ynode *parse_node(struct yparse *y, yaml_event_t *ev, int depth);

/* Parse the items of a sequence or mapping whose start event was seen. */
static int parse_items(struct yparse *y, struct ynode *n, int depth)
{
	for (;;) {
		yaml_event_t ev;
		char *key = NULL;
		unsigned key_line = 0;

		if (next_event(y, &ev) < 0)
			return -1;
		if (ev.type == YAML_SEQUENCE_END_EVENT ||
		    ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (n->kind == Y_MAP) {
			key_line = (unsigned)ev.start_mark.line + 1;
			if (ev.type != YAML_SCALAR_EVENT ||
			    ev.data.scalar.anchor || ev.data.scalar.tag) {
				yfail(y, key_line, "a key must be plain text");
				yaml_event_delete(&ev);
				return -1;
			}
			key = strdup((const char *)ev.data.scalar.value);
			yaml_event_delete(&ev);
			if (!key) {
				yfail(y, key_line, "out of memory");
				return -1;
			}
			for (size_t i = 0; i < n->n; i++) {
				if (strcmp(n->keys[i], key) == 0) {
					char buf[300];

					snprintf(buf, sizeof(buf),
						 "duplicate key '%s' (first on line %u)",
						 key, n->key_lines[i]);
					yfail(y, key_line, buf);
					free(key);
					return -1;
				}
			}
			if (next_event(y, &ev) < 0) {
				free(key);
				return -1;
			}
		}
		struct ynode *item = parse_node(y, &ev, depth + 1);

		yaml_event_delete(&ev);
		if (!item || push(n, item, key, key_line) < 0) {
			if (item)
				yfail(y, item->line, "out of memory");
			yfree_node(item);
			free(key);
			return -1;
		}
	}
}

static struct ynode *parse_node(struct yparse *y, yaml_event_t *ev, int depth)
{
	unsigned line = (unsigned)ev->start_mark.line + 1;
	struct ynode *n;

	if (depth > YCONF_MAX_DEPTH) {
		yfail(y, line, "nested too deeply");
		return NULL;
	}
	if (ev->type == YAML_ALIAS_EVENT) {
		yfail(y, line, "aliases are not allowed in the configuration");
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		yfail(y, line, "out of memory");
		return NULL;
	}
	n->line = line;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.anchor) {
			yfail(y, line, "anchors are not allowed in the configuration");
			break;
		}
		if (ev->data.scalar.tag) {
			yfail(y, line, "tags are not allowed in the configuration");
			break;
		}
		n->kind = Y_SCALAR;
		n->str = strdup((const char *)ev->data.scalar.value);
		if (!n->str) {
			yfail(y, line, "out of memory");
			break;
		}
		return n;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if ((ev->type == YAML_SEQUENCE_START_EVENT &&
		     ev->data.sequence_start.anchor) ||
		    (ev->type == YAML_MAPPING_START_EVENT &&
		     ev->data.mapping_start.anchor)) {
			yfail(y, line, "anchors are not allowed in the configuration");
			break;
		}
		if ((ev->type == YAML_SEQUENCE_START_EVENT &&
		     ev->data.sequence_start.tag) ||
		    (ev->type == YAML_MAPPING_START_EVENT &&
		     ev->data.mapping_start.tag)) {
			yfail(y, line, "tags are not allowed in the configuration");
			break;
		}
		n->kind = ev->type == YAML_SEQUENCE_START_EVENT ? Y_SEQ : Y_MAP;
		if (parse_items(y, n, depth) == 0)
			return n;
		break;
	default:
		yfail(y, line, "unexpected YAML structure");
		break;
	}
	yfree_node(n);
	return NULL;
}

struct ynode *yconf_parse(const char *text, size_t len, const char *name,
			  char *err, size_t errlen)
{
	struct yparse y = { .name = name, .err = err, .errlen = errlen };
	struct ynode *root = NULL;
	yaml_event_t ev;
	bool done = false;

	if (!yaml_parser_initialize(&y.p)) {
		snprintf(err, errlen, "%s: cannot start the YAML parser", name);
		return NULL;
	}
	yaml_parser_set_input_string(&y.p, (const unsigned char *)text, len);
	while (!done) {
		if (next_event(&y, &ev) < 0)
			goto fail;
		switch (ev.type) {
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (root) {
				yfail(&y, (unsigned)ev.start_mark.line + 1,
				      "only one YAML document is allowed");
				yaml_event_delete(&ev);
				goto fail;
			}
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			if (root) {
				yfail(&y, (unsigned)ev.start_mark.line + 1,
				      "only one YAML document is allowed");
				yaml_event_delete(&ev);
				goto fail;
			}
			root = parse_node(&y, &ev, 0);
			if (!root) {
				yaml_event_delete(&ev);
				goto fail;
			}
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&y.p);
	if (!root) {
		root = calloc(1, sizeof(*root));
		if (!root) {
			snprintf(err, errlen, "%s: out of memory", name);
			return NULL;
		}
		root->kind = Y_MAP;
		root->line = 1;
	}
	if (root->kind != Y_MAP) {
		snprintf(err, errlen, "%s:%u: the file must be a mapping of "
			 "sections", name, root->line);
		yfree_node(root);
		return NULL;
	}
	return root;
fail:
	yaml_parser_delete(&y.p);
	yfree_node(root);
	return NULL;
}

struct ynode *yconf_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (len == cap) {
			if (cap >= YCONF_MAX_FILE) {
				snprintf(err, errlen, "%s: larger than %u bytes",
					 path, YCONF_MAX_FILE);
				goto fail;
			}
			cap = cap ? cap * 2 : 4096;
			char *nb = realloc(buf, cap);

			if (!nb) {
				snprintf(err, errlen, "%s: out of memory", path);
				goto fail;
			}
			buf = nb;
		}
		size_t r = fread(buf + len, 1, cap - len, f);

		len += r;
		if (r == 0) {
			if (ferror(f)) {
				snprintf(err, errlen, "%s: read error", path);
				goto fail;
			}
			break;
		}
	}
	fclose(f);
	struct ynode *root = yconf_parse(buf ? buf : "", len, path, err, errlen);

	free(buf);
	return root;
fail:
	fclose(f);
	free(buf);
	return NULL;
}

const struct ynode *yconf_get(const struct ynode *map, const char *key)
{
	if (!map || map->kind != Y_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->keys[i], key) == 0)
			return map->items[i];
	return NULL;
}

int yconf_uint(const struct ynode *n, const char *file, const char *key,
	       uint64_t min, uint64_t max, uint64_t *out, char *err,
	       size_t errlen)
{
	if (!n)
		return 0;
	if (n->kind == Y_SCALAR && n->str[0] >= '0' && n->str[0] <= '9') {
		char *end;
		unsigned long long v;

		errno = 0;
		v = strtoull(n->str, &end, 10);
		if (errno == 0 && *end == '\0' && v >= min && v <= max) {
			*out = v;
			return 0;
		}
	}
	snprintf(err, errlen, "%s:%u: %s: expected a whole number from %llu "
		 "to %llu", file, n->line, key, (unsigned long long)min,
		 (unsigned long long)max);
	return -1;
}

int yconf_bool(const struct ynode *n, const char *file, const char *key,
	       bool *out, char *err, size_t errlen)
{
	if (!n)
		return 0;
	if (n->kind == Y_SCALAR) {
		if (!strcmp(n->str, "true") || !strcmp(n->str, "on") ||
		    !strcmp(n->str, "yes")) {
			*out = true;
			return 0;
		}
		if (!strcmp(n->str, "false") || !strcmp(n->str, "off") ||
		    !strcmp(n->str, "no")) {
			*out = false;
			return 0;
		}
	}
	snprintf(err, errlen, "%s:%u: %s: expected true or false", file,
		 n->line, key);
	return -1;
}

int yconf_str(const struct ynode *n, const char *file, const char *key,
	      const char **out, char *err, size_t errlen)
{
	if (!n)
		return 0;
	if (n->kind == Y_SCALAR) {
		*out = n->str;
		return 0;
	}
	snprintf(err, errlen, "%s:%u: %s: expected a single value", file,
		 n->line, key);
	return -1;
}

int yconf_only(const struct ynode *map, const char *file, const char *section,
	       const char *const *known, char *err, size_t errlen)
{
	if (!map)
		return 0;
	if (map->kind != Y_MAP) {
		snprintf(err, errlen, "%s:%u: %s: expected a mapping of settings",
			 file, map->line, section);
		return -1;
	}
	for (size_t i = 0; i < map->n; i++) {
		const char *const *k;

		for (k = known; *k; k++)
			if (strcmp(*k, map->keys[i]) == 0)
				break;
		if (!*k) {
			snprintf(err, errlen, "%s:%u: unknown key '%s' in %s",
				 file, map->key_lines[i], map->keys[i], section);
			return -1;
		}
	}
	return 0;
}
