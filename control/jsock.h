/* The client side of the processes' Unix sockets: one JSON object per
 * line each way (dataplane.sock, control.sock), for ditto-control's
 * publication, dittoctl and the metrics endpoint alike.
 */
#ifndef DITTO_JSOCK_H
#define DITTO_JSOCK_H

#include <stddef.h>

#include <json-c/json.h>

/* Send req on the socket at path and read one answer line (any size up
 * to 256 MiB), waiting at most timeout_ms for each read. The answer
 * parsed, with its "ok" (true or false), or NULL with the reason in err
 * (socket missing, no answer, not JSON with "ok"). */
json_object *jsock_request(const char *path, json_object *req,
			   int timeout_ms, char *err, size_t errlen);

/* The same, and an answer with "ok": false is NULL with its "error"
 * sentence in err as "refused: ...". */
json_object *jsock_call(const char *path, json_object *req, int timeout_ms,
			char *err, size_t errlen);

/* A request of one "cmd", with "zone" when zone is not NULL. */
json_object *jsock_cmd(const char *cmd, const char *zone);

/* The objects of array by their member key, lowercased (zone names), as
 * an object for lookups in O(1); NULL when out of memory. */
json_object *jsock_index(json_object *array, const char *key);

#endif
