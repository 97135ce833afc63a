package gateway

import (
	"testing"

	"github.com/reelguard/reelguard/events"
)

func FuzzIngestJSON(f *testing.F) {
	f.Add(`{"time":"2026-11-25T10:00:00","user":"7","type":"create_account"}`)
	f.Add(`[{"time":"2026-11-25T10:00:00","user":42,"type":"rate","movie":"up+2009","rating":4}]`)
	f.Add(`[{"time":"x","user":"42","type":"watch","movie":"a,b","minute":-1}]`)
	f.Add(`[{"user":"42\n2026-11-25T10:00:00,1,GET /create_account","type":"create_account","time":"t"}]`)
	f.Fuzz(func(t *testing.T, body string) {
		cands, err := jsonEventLines([]byte(body))
		if err != nil {
			return
		}
		for _, c := range cands {
			if c.err != nil {
				continue
			}
			ev, err := events.ParseLine(c.text)
			if err != nil {
				continue
			}
			// Whatever a client sends, one element becomes at most one event:
			// a JSON field must never smuggle in a second line.
			if line := ev.Line(); len(line) > 0 && containsNewline(line) {
				t.Fatalf("element became a multi-line event %q", line)
			}
		}
	})
}

func containsNewline(s string) bool {
	for _, r := range s {
		if r == '\n' || r == '\r' {
			return true
		}
	}
	return false
}
