// Package daemon is rmbgd's HTTP server, built on fasthttp: routes,
// request parsing, the mapping of errors to statuses, limits and the access
// log. It hands decoded requests to a Remover (the engine) as engine.Job
// values and never handles pixels or tensors.
//
// # Routes
//
//   - POST /v1/remove takes the image as JSON {"image": "<base64>", ...},
//     as multipart/form-data with a file field "image", or as the raw body
//     (Content-Type image/* or application/octet-stream). Options are
//     "output" ("rgba" or "mask"), "format" ("png" or "jpeg") and
//     "bg_color" ("#rrggbb", the background of a JPEG cut-out, white when
//     absent; a PNG cut-out keeps its alpha and ignores it). The query
//     arguments of the same names override the body. The response is the
//     encoded image with X-Width, X-Height, X-Backend and Server-Timing
//     headers, or JSON with the image in base64 when Accept lists
//     application/json.
//   - GET /healthz responds 200 while the process serves.
//   - GET /readyz responds 200 with the backend once SetReady(true) has been
//     called, and 503 before that and from Drain on.
//   - GET /metrics serves Prometheus text from a registry of the server's
//     own (see metrics).
//   - GET /openapi.json serves the OpenAPI 3.1 document of these routes.
//
// # Errors
//
// Every error is JSON {"error": {"code": "...", "message": "..."}}, with an
// "offset" (byte offset in the body) for malformed JSON. errorStatus holds
// the whole mapping of errors to statuses and codes. Requests fasthttp
// itself rejects (body over Config.MaxBody, bad header) get the same JSON
// through the server's ErrorHandler, and the connection then closes with a
// lingering close so that the client can read the response.
//
// # Privacy
//
// Image bytes stay in memory: multipart bodies are parsed in place instead
// of by fasthttp, which would spill large files to temporary files, and so
// are their part headers, filenames included. The decoded image of a JSON
// request lives in a pooled buffer. That buffer, fasthttp's request body and
// its copies of the header values and of the raw header are zeroed before
// the handler returns, on every route and on read errors. A JSON response's
// buffer is zeroed once fasthttp has written it. The buffer through which
// fasthttp reads a connection, holding the request line, the header and the
// start of the body, is zeroed while the connection waits for its next
// request and once it closes. The buffer through which fasthttp writes
// responses is zeroed as it sends them (see serverConn). Neither logs nor
// error bodies contain image bytes, base64 text, filenames or credential
// headers: the access log line has the time, client IP, method, route,
// status, body sizes, duration and batch size, and nothing else about the
// request. Metric labels come from fixed sets (routes, status codes,
// stages), never from the request.
//
// # Limits
//
// Config.MaxBody bounds the body (413 payload_too_large), Config.MaxPixels
// the image (413 too_many_pixels, decided from its header), Config.Timeout
// each request's time (504 timeout; the X-Request-Timeout-Ms header can
// shorten it) and Config.Concurrency the requests served at once: one more
// is rejected with 503 overloaded at once, as is a job the engine's queue
// rejects, with Retry-After set to the job's expected wait in whole
// seconds (at least 1). A removal sent with Expect: 100-continue while the
// queue has no room gets that 503 instead of 100 Continue, when the
// remover can tell (an engine.Pipeline can), so its body is never
// uploaded. Errors that its header alone decides come first, and so does
// shutting_down once the server stops.
// HeaderTimeout, BodyTimeout, WriteTimeout and IdleTimeout bound the time
// a slow client can hold a connection, and MaxConns the connections.
//
// With Config.Rate set, each client IP has a token bucket for /v1/remove;
// every answer on that route carries X-RateLimit-Limit,
// X-RateLimit-Remaining and X-RateLimit-Reset, and a request over the limit
// gets 429 rate_limited with Retry-After. The client is the TCP peer, or
// what X-Forwarded-For or X-Real-IP name when the peer is in
// Config.TrustedProxies.
//
// # Stopping
//
// A graceful stop has two phases. Drain turns /readyz to 503 while the
// server keeps serving, so that load balancers stop routing to it.
// Shutdown then closes the listener, without resetting the connections in
// the kernel's accept queue, and waits for the requests in progress.
package daemon
