// Package policy embeds OPA to authorize gateway requests. It loads the Rego
// modules and data.json documents of a policy folder, puts every edit
// through one gate (strict compile, the folder's own Rego tests, a replay of
// the recently logged decisions) and evaluates data.reelguard.authz.decision
// per request, keeping the last good policy when an edit is rejected.
// Decisions go to a JSON-lines decision log off the request path. The
// default policy lives in rego/ and is embedded.
package policy

import (
	"embed"
	"errors"
	"time"
)

//go:embed rego
var embedded embed.FS

// embeddedDir is the folder of embedded that holds the default policy.
const embeddedDir = "rego"

// decisionQuery is the document the gateway asks for.
const decisionQuery = "data.reelguard.authz.decision"

var (
	// ErrNoModules: the policy folder holds no .rego files.
	ErrNoModules = errors.New("no rego modules")
	// ErrCompile: a module does not parse or the modules do not compile.
	ErrCompile = errors.New("policy does not compile")
	// ErrNoDecision: package reelguard.authz defines no decision rule.
	ErrNoDecision = errors.New("package reelguard.authz defines no decision")
	// ErrNoTests: the folder has no Rego tests, so an edit cannot be vetted.
	ErrNoTests = errors.New("no rego tests")
	// ErrTestsFailed: at least one Rego test failed or raised an error.
	ErrTestsFailed = errors.New("rego tests failed")
	// ErrBadDecision: decision is undefined, ill-typed or ambiguous.
	ErrBadDecision = errors.New("bad decision")
)

// Principal is who asks, as the gateway learnt it from the token.
type Principal struct {
	Sub      string `json:"sub"`
	Role     string `json:"role"`
	ClientIP string `json:"client_ip"`
}

// Input is the document the policy sees as `input`.
type Input struct {
	Principal  Principal      `json:"principal"`
	Method     string         `json:"method"`
	Path       []string       `json:"path"`
	TargetUser string         `json:"target_user,omitempty"`
	Suspicion  map[string]any `json:"suspicion"`
}

// Obligations tell the gateway how to serve an allowed request.
type Obligations struct {
	Tier    string `json:"tier"`
	Degrade bool   `json:"degrade"`
}

// Decision is data.reelguard.authz.decision, decoded.
type Decision struct {
	Allow       bool        `json:"allow"`
	Reason      string      `json:"reason"`
	Obligations Obligations `json:"obligations"`
}

// Status describes the policy in force, as GET /admin/policy reports it.
type Status struct {
	Revision string    `json:"revision"`
	LoadedAt time.Time `json:"loaded_at"`
	// LastError is nil after a good load, the reason after a rejected one.
	LastError *string `json:"last_error"`
}
