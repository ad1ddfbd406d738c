/* The processes' JSON-lines sockets, client side (see jsock.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "jsock.h"

#define ANSWER_MAX (256u << 20)		/* a zone-list of a million zones */

/* One request, its answer line into a growing *resp (NUL-terminated).
 * 0, or -1 with err. */
static int roundtrip(const char *sock, const char *req, int timeout_ms,
		     char **resp, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t got = 0, cap = 1 << 16, len = strlen(req);
	char *buf = NULL;
	int fd;

	*resp = NULL;
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", sock);
		return -1;
	}
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		snprintf(err, errlen, "socket %s: %s", sock,
			 strerror(errno));
		goto fail;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, errlen, "socket %s: %s", sock,
				 strerror(errno));
			goto fail;
		}
		off += (size_t)w;
	}
	buf = malloc(cap);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, timeout_ms);
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "%s did not answer within %d ms", sock,
				 timeout_ms);
			goto fail;
		}
		if (got + 1 == cap) {
			char *nb = cap < ANSWER_MAX ? realloc(buf, cap * 2)
						       : NULL;

			if (!nb) {
				snprintf(err, errlen, "the answer on %s is larger "
					 "than %zu bytes", sock, cap);
				goto fail;
			}
			buf = nb;
			cap *= 2;
		}
		n = recv(fd, buf + got, cap - 1 - got, 0);
		if (n <= 0) {
			snprintf(err, errlen, "%s closed before the end of "
				 "its answer", sock);
			goto fail;
		}
		size_t was = got;

		got += (size_t)n;
		buf[got] = 0;
		if (memchr(buf + was, '\n', (size_t)n))
			break;
	}
	close(fd);
	*resp = buf;
	return 0;
fail:
	free(buf);
	if (fd >= 0)
		close(fd);
	return -1;
}

json_object *jsock_request(const char *path, json_object *req,
			   int timeout_ms, char *err, size_t errlen)
{
	const char *text = json_object_to_json_string_ext(
		req, JSON_C_TO_STRING_PLAIN);
	size_t n = strlen(text);
	char *line = malloc(n + 2), *resp;
	json_object *o, *ok;

	if (!line) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(line, text, n);
	line[n] = '\n';
	line[n + 1] = 0;
	if (roundtrip(path, line, timeout_ms, &resp, err, errlen) < 0) {
		free(line);
		return NULL;
	}
	free(line);
	o = json_tokener_parse(resp);
	free(resp);
	if (!o || !json_object_object_get_ex(o, "ok", &ok)) {
		snprintf(err, errlen, "%s answered something else than JSON "
			 "with \"ok\"", path);
		json_object_put(o);
		return NULL;
	}
	return o;
}

json_object *jsock_call(const char *path, json_object *req, int timeout_ms,
			char *err, size_t errlen)
{
	json_object *o = jsock_request(path, req, timeout_ms, err, errlen), *v;

	if (o && json_object_object_get_ex(o, "ok", &v) &&
	    !json_object_get_boolean(v)) {
		snprintf(err, errlen, "refused: %s",
			 json_object_object_get_ex(o, "error", &v) ?
				 json_object_get_string(v) : "no reason");
		json_object_put(o);
		return NULL;
	}
	return o;
}

json_object *jsock_cmd(const char *cmd, const char *zone)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "cmd", json_object_new_string(cmd));
	if (zone)
		json_object_object_add(o, "zone", json_object_new_string(zone));
	return o;
}

json_object *jsock_index(json_object *array, const char *key)
{
	json_object *map = json_object_new_object();
	size_t n = array && json_object_is_type(array, json_type_array) ?
			   json_object_array_length(array) : 0;

	for (size_t i = 0; map && i < n; i++) {
		json_object *e = json_object_array_get_idx(array, i), *v;
		char low[1100];
		size_t k;

		if (!json_object_object_get_ex(e, key, &v))
			continue;
		const char *name = json_object_get_string(v);

		for (k = 0; name[k] && k + 1 < sizeof(low); k++)
			low[k] = (char)(name[k] >= 'A' && name[k] <= 'Z' ?
					name[k] + 32 : name[k]);
		low[k] = 0;
		json_object_object_add(map, low, json_object_get(e));
	}
	return map;
}
