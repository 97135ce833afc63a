package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/reelguard/reelguard/events"
	"github.com/reelguard/reelguard/gateway"
	"github.com/reelguard/reelguard/gateway/ratelimit"
)

// memEvents is a durable sink standing in for the spooling producer (which
// events/ tests against a broker); full refuses every batch.
type memEvents struct {
	mu    sync.Mutex
	lines []string
	full  bool
}

func (m *memEvents) AppendBatch(_ context.Context, records []events.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.full {
		return errors.New("spool full")
	}
	for _, r := range records {
		if r.Topic != "movielog" {
			return errors.New("wrong topic " + r.Topic)
		}
		m.lines = append(m.lines, string(r.Value))
	}
	return nil
}

func newIngestStack(t *testing.T, sink gateway.EventSink) (*stack, string) {
	t.Helper()
	unlimited := ratelimit.Rate{PerSecond: 1e6, Burst: 1e6}
	s := newStackWithEvents(t, gateway.Config{Tiers: map[string]ratelimit.Rate{"ingest": unlimited}}, sink)
	return s, s.token(t, "feeder", "ingest")
}

type ingestAnswer struct {
	Reason   string
	Accepted []int
	Rejected []struct {
		Index  int
		Reason string
	}
}

func (s *stack) post(t *testing.T, token, contentType, body string) (int, ingestAnswer) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.url+"/events", strings.NewReader(body))
	must(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", contentType)
	resp, err := s.client.Do(req)
	must(t, err)
	defer resp.Body.Close()
	var a ingestAnswer
	must(t, json.NewDecoder(resp.Body).Decode(&a))
	return resp.StatusCode, a
}

func TestIngestLines(t *testing.T) {
	sink := &memEvents{}
	s, tok := newIngestStack(t, sink)
	body := "2026-11-25T10:00:00,42,GET /data/m/the+matrix+1999/3.mpg\n" +
		"2026-11-25T10:00:01,42,GET /rate/the+matrix+1999=9\n" +
		"2026-11-25T10:00:02,43,GET /create_account\n" +
		"2026-11-25T10:00:03,43,GET /rate/up+2009=5\n"
	code, a := s.post(t, tok, "text/plain", body)
	if code != http.StatusBadRequest || a.Reason != "invalid_events" {
		t.Fatalf("status %d reason %q, want 400 invalid_events", code, a.Reason)
	}
	if len(a.Rejected) != 1 || a.Rejected[0].Index != 2 || !strings.Contains(a.Rejected[0].Reason, "rating") {
		t.Errorf("rejected %+v, want line 2 for its rating", a.Rejected)
	}
	if len(a.Accepted) != 3 || a.Accepted[0] != 1 || a.Accepted[2] != 4 || len(sink.lines) != 3 {
		t.Errorf("accepted %v, stored %d; want lines 1, 3, 4 kept", a.Accepted, len(sink.lines))
	}
	for _, l := range sink.lines {
		if _, err := events.ParseLine(l); err != nil {
			t.Errorf("stored %q is not a course line: %v", l, err)
		}
	}
	if code, a := s.post(t, tok, "text/plain", body[:strings.Index(body, "\n")+1]); code != http.StatusAccepted || len(a.Accepted) != 1 {
		t.Errorf("one good line: %d %+v, want 202", code, a)
	}
}

func TestIngestJSON(t *testing.T) {
	sink := &memEvents{}
	s, tok := newIngestStack(t, sink)
	body := `[{"time":"2026-11-25T10:00:00","user":"42","type":"watch","movie":"up+2009","minute":7},
	          {"time":"2026-11-25T10:00:00","user":42,"type":"rate","movie":"up+2009","rating":4},
	          {"time":"yesterday","user":"42","type":"rate","movie":"up+2009","rating":4},
	          {"time":"2026-11-25T10:00:00","user":"42","type":"like","movie":"up+2009"},
	          {"time":"2026-11-25T10:00:00","user":"42","type":"watch","movie":"up+2009","minute":7,"admin":true}]`
	code, a := s.post(t, tok, "application/json", body)
	if code != http.StatusBadRequest || len(a.Accepted) != 2 || len(a.Rejected) != 3 {
		t.Fatalf("%d %+v: want elements 1, 2 kept and 3, 4, 5 refused", code, a)
	}
	for i, want := range []string{"time", "like", "admin"} {
		if r := a.Rejected[i]; r.Index != i+3 || !strings.Contains(r.Reason, want) {
			t.Errorf("rejected[%d] = %+v, want element %d naming %q", i, r, i+3, want)
		}
	}
	if sink.lines[1] != "2026-11-25T10:00:00,42,GET /rate/up+2009=4" {
		t.Errorf("stored %q", sink.lines[1])
	}
	code, a = s.post(t, tok, "application/json", `{"time":"2026-11-25T10:00:00","user":"7","type":"create_account"}`)
	if code != http.StatusAccepted || len(a.Accepted) != 1 {
		t.Errorf("one object: %d %+v", code, a)
	}
}

func TestIngestRefusals(t *testing.T) {
	s, tok := newIngestStack(t, &memEvents{full: true})
	line := "2026-11-25T10:00:00,42,GET /create_account\n"
	if code, a := s.post(t, tok, "text/plain", line+line); code != http.StatusServiceUnavailable || len(a.Accepted) != 0 {
		t.Errorf("sink full: %d %+v, want 503 with none accepted", code, a)
	}
	if code, _ := s.post(t, s.token(t, "42", "user"), "text/plain", line); code != http.StatusForbidden {
		t.Errorf("a user posting events: %d, want 403", code)
	}
	if code, _ := s.post(t, tok, "text/plain", strings.Repeat("x", 5<<20)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("5 MiB body: %d, want 413", code)
	}
	if code, a := s.post(t, tok, "application/xml", "<a/>"); code != http.StatusBadRequest || a.Reason != "bad_request" {
		t.Errorf("xml: %d %+v, want 400", code, a)
	}
}
