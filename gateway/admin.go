package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
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
			status := http.StatusUnprocessableEntity
			if errors.Is(err, policy.ErrBadFileName) {
				status = http.StatusBadRequest
			}
			writeError(w, status, "policy_rejected", err.Error())
			return
		}
		g.metrics.policyEdits.WithLabelValues("applied").Inc()
		g.log.Info("policy edit applied", "revision", rep.Revision, "previous", rep.Previous, "changed", len(rep.Changed))
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

// Revocations last 24 hours unless ?ttl= says otherwise (up to 30 days): a
// token lives at most as long as the verifier's maximum lifetime.
const (
	defaultRevocationTTL = 24 * time.Hour
	maxRevocationTTL     = 30 * 24 * time.Hour
)

// putRevocation puts a token id on the deny list: PUT /admin/revocations/{jti}.
func (g *Gateway) putRevocation(w http.ResponseWriter, r *http.Request) {
	jti, ttl := r.PathValue("jti"), defaultRevocationTTL
	if v := r.URL.Query().Get("ttl"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > maxRevocationTTL {
			writeError(w, http.StatusBadRequest, "bad_request", "ttl: want a duration up to 720h")
			return
		}
		ttl = d
	}
	if jti == "" || len(jti) > 256 {
		writeError(w, http.StatusBadRequest, "bad_request", "jti: want 1 to 256 characters")
		return
	}
	if err := g.revoked.Revoke(r.Context(), jti, time.Now().Add(ttl)); err != nil {
		g.log.Error("revocation failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, "revocation_failed", "the revocation could not be stored")
		return
	}
	g.log.Info("token revoked", "jti", jti, "ttl", ttl)
	w.WriteHeader(http.StatusNoContent)
}
