package gateway

import (
	"net"

	"bytes"
	"encoding/json"
	"errors"
	"github.com/reelguard/reelguard/anomaly"
	"github.com/reelguard/reelguard/gateway/ratelimit"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/reelguard/reelguard/policy"
)

// maxPolicyBody bounds one PUT /admin/policy.
const maxPolicyBody = 1 << 20

// maxChangesShown bounds the changed decisions a policy answer lists.
const maxChangesShown = 100

// jsonHandler answers GET with the JSON of what get returns at that moment.
func jsonHandler(get func() any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, get())
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// policyAnswer is PUT /admin/policy's report: the gate's, with the changed
// decisions counted and the first of them listed.
type policyAnswer struct {
	policy.Report
	ChangedCount int `json:"changed_count"`
}

// putPolicy takes an edit through the edit gate: a JSON object
// {"files": {"name.rego": "module", "old.rego": null}}, or one module as
// text with ?file=NAME (default admin.rego). Nothing goes live unless the
// gate passes; the answer says how many recorded decisions changed.
func (g *Gateway) putPolicy(pol PolicyAdmin) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		files, err := policyFiles(w, r)
		if err != nil {
			status, reason := http.StatusBadRequest, "bad_request"
			if errors.As(err, new(*http.MaxBytesError)) {
				status, reason = http.StatusRequestEntityTooLarge, "too_large"
			}
			writeError(w, status, reason, err.Error())
			return
		}
		rep, err := pol.Propose(r.Context(), files)
		if err != nil {
			g.metrics.policyEdits.WithLabelValues("rejected").Inc()
			g.log.Warn("policy edit rejected; the last good policy stays", "err", err)
			g.PolicyAlert(policy.Report{}, err, "admin api")
			status := http.StatusUnprocessableEntity
			if errors.Is(err, policy.ErrBadFileName) {
				status = http.StatusBadRequest
			}
			writeError(w, status, "policy_rejected", err.Error())
			return
		}
		g.metrics.policyEdits.WithLabelValues("applied").Inc()
		g.log.Info("policy edit applied", "revision", rep.Revision, "previous", rep.Previous, "changed", len(rep.Changed))
		g.PolicyAlert(rep, nil, "admin api")
		answer := policyAnswer{Report: rep, ChangedCount: len(rep.Changed)}
		answer.Changed = answer.Changed[:min(len(answer.Changed), maxChangesShown)]
		writeJSON(w, http.StatusOK, answer)
	})
}

func policyFiles(w http.ResponseWriter, r *http.Request) (map[string][]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPolicyBody))
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		name := r.URL.Query().Get("file")
		if name == "" {
			name = "admin.rego"
		}
		return map[string][]byte{name: body}, nil
	}
	var doc struct {
		Files map[string]*string `json:"files"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, errors.New("body: want {\"files\": {\"name.rego\": \"module\" or null}}")
	}
	if len(doc.Files) == 0 {
		return nil, errors.New("body: no files")
	}
	files := make(map[string][]byte, len(doc.Files))
	for name, text := range doc.Files {
		if text == nil {
			files[name] = nil // remove the file
			continue
		}
		files[name] = []byte(*text)
	}
	return files, nil
}

// Revocations and blocks last 24 hours unless ?ttl= says otherwise (up to
// 30 days; ttl=0 blocks until unblocked). A token lives at most as long as
// the verifier's maximum lifetime, 24 hours by default.
const (
	defaultListTTL = 24 * time.Hour
	maxListTTL     = 30 * 24 * time.Hour
)

// listTTL reads ?ttl=; zeroOK allows 0 (forever).
func listTTL(r *http.Request, zeroOK bool) (time.Duration, error) {
	v := r.URL.Query().Get("ttl")
	if v == "" {
		return defaultListTTL, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > maxListTTL || (d == 0 && !zeroOK) {
		return 0, errors.New("ttl: want a duration up to 720h")
	}
	return d, nil
}

// putRevocation denies one token: PUT /admin/revocations/{sub}/{jti}.
func (g *Gateway) putRevocation(w http.ResponseWriter, r *http.Request) {
	sub, jti := r.PathValue("sub"), r.PathValue("jti")
	ttl, err := listTTL(r, false)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if len(jti) > 256 || len(sub) > 256 {
		writeError(w, http.StatusBadRequest, "bad_request", "sub and jti: at most 256 characters")
		return
	}
	if err := g.checker.Revoke(r.Context(), sub, jti, time.Now().Add(ttl)); err != nil {
		g.log.Error("revocation failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, "revocation_failed", "the revocation could not be stored")
		return
	}
	g.log.Info("token revoked", "sub", sub, "jti", jti, "ttl", ttl)
	w.WriteHeader(http.StatusNoContent)
}

// putBlock blocks an IP or a subject: PUT /admin/blocks/{ip|subject}/{value}.
func (g *Gateway) putBlock(w http.ResponseWriter, r *http.Request) {
	kind, value, ok := blockTarget(w, r)
	if !ok {
		return
	}
	ttl, err := listTTL(r, true)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if err := g.checker.Block(r.Context(), kind, value, ttl); err != nil {
		g.log.Error("block failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, "block_failed", "the block could not be stored")
		return
	}
	g.log.Info("blocked", "kind", kind, "value", value, "ttl", ttl)
	w.WriteHeader(http.StatusNoContent)
}

// deleteBlock lifts a block: DELETE /admin/blocks/{ip|subject}/{value}.
func (g *Gateway) deleteBlock(w http.ResponseWriter, r *http.Request) {
	kind, value, ok := blockTarget(w, r)
	if !ok {
		return
	}
	if err := g.checker.Unblock(r.Context(), kind, value); err != nil {
		g.log.Error("unblock failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, "block_failed", "the block could not be lifted")
		return
	}
	g.log.Info("unblocked", "kind", kind, "value", value)
	w.WriteHeader(http.StatusNoContent)
}

// blockTarget validates the {kind}/{value} of a block route.
func blockTarget(w http.ResponseWriter, r *http.Request) (kind, value string, ok bool) {
	kind, value = r.PathValue("kind"), r.PathValue("value")
	switch {
	case kind == ratelimit.KindIP && net.ParseIP(value) == nil:
		writeError(w, http.StatusBadRequest, "bad_request", "not an IP address")
	case kind == ratelimit.KindSubject && (value == "" || len(value) > 256):
		writeError(w, http.StatusBadRequest, "bad_request", "subject: 1 to 256 characters")
	case kind != ratelimit.KindIP && kind != ratelimit.KindSubject:
		writeError(w, http.StatusNotFound, "not_found", "no such route")
	default:
		return kind, value, true
	}
	return "", "", false
}

// PolicyAlert raises the policy alert for an edit, applied or rejected, from
// the admin API or the folder watcher (source).
func (g *Gateway) PolicyAlert(rep policy.Report, err error, source string) {
	a := anomaly.Alert{Kind: anomaly.KindPolicy, Severity: anomaly.SeverityInfo, Action: anomaly.ActionNone,
		Evidence: map[string]any{"source": source, "revision": rep.Revision, "previous": rep.Previous,
			"replayed": rep.Replayed, "changed": len(rep.Changed)}}
	if err != nil {
		a.Severity = anomaly.SeverityWarning
		a.Evidence = map[string]any{"source": source, "error": err.Error(), "outcome": "rejected; the last good policy stays"}
	}
	g.raise(a)
}
