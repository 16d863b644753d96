package daemon

import _ "embed"

// openAPIDocument is served at GET /openapi.json.
//
//go:embed openapi.json
var openAPIDocument []byte
