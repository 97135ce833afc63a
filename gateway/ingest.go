package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/reelguard/reelguard/events"
)

// EventSink takes ingested events durably and all or none: when
// AppendBatch returns nil every record is on disk or on the broker, and the
// client may be told so.
type EventSink interface {
	AppendBatch(ctx context.Context, records []events.Record) error
}

// Ingest limits.
const (
	maxIngestBody   = 4 << 20 // bytes in one POST /events
	maxIngestEvents = 10_000  // events in one POST /events
	ingestTopic     = "movielog"
)

// ingestReply is POST /events' answer: which events (lines or elements,
// counted from 1) were kept and which were refused, and why.
type ingestReply struct {
	Error    string        `json:"error,omitempty"`
	Reason   string        `json:"reason,omitempty"`
	Accepted []int         `json:"accepted"`
	Rejected []ingestError `json:"rejected"`
}

type ingestError struct {
	Index  int    `json:"index"`
	Reason string `json:"reason"`
}

// ingest takes watch, rate and create-account events, as course log lines
// (text/plain) or JSON, validates each and appends the valid ones to
// movielog, signed when they are sent. Valid events of a request with bad
// ones are kept: the 400 lists both.
func (g *Gateway) ingest(w http.ResponseWriter, r *http.Request) {
	lines, bad, err := ingestLines(w, r)
	if err != nil {
		status, reason := http.StatusBadRequest, "bad_request"
		if errors.As(err, new(*http.MaxBytesError)) {
			status, reason = http.StatusRequestEntityTooLarge, "too_large"
		}
		writeError(w, status, reason, err.Error())
		return
	}
	reply := ingestReply{Accepted: []int{}, Rejected: bad}
	records := make([]events.Record, len(lines))
	for i, l := range lines {
		records[i] = events.Record{Topic: ingestTopic, Key: []byte(l.user), Value: []byte(l.text)}
	}
	if err := g.events.AppendBatch(r.Context(), records); err != nil {
		g.log.Error("ingest: events not stored", "err", err)
		reply.Error, reply.Reason = "events could not be stored; none was accepted: retry", "events_unavailable"
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, reply)
		return
	}
	for _, l := range lines {
		reply.Accepted = append(reply.Accepted, l.index)
	}
	g.metrics.ingested.WithLabelValues("accepted").Add(float64(len(reply.Accepted)))
	g.metrics.ingested.WithLabelValues("rejected").Add(float64(len(bad)))
	if len(bad) > 0 {
		reply.Error, reply.Reason = fmt.Sprintf("%d of %d events are invalid", len(bad), len(bad)+len(lines)), "invalid_events"
		writeJSON(w, http.StatusBadRequest, reply)
		return
	}
	writeJSON(w, http.StatusAccepted, reply)
}

// ingestLine is one valid event in course format, with its place in the request.
type ingestLine struct {
	index      int
	user, text string
}

// ingestLines reads the body as lines or JSON and validates every event.
func ingestLines(w http.ResponseWriter, r *http.Request) ([]ingestLine, []ingestError, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxIngestBody))
	if err != nil {
		return nil, nil, err
	}
	var texts []candidate
	switch ct := r.Header.Get("Content-Type"); {
	case strings.HasPrefix(ct, "application/json"):
		if texts, err = jsonEventLines(body); err != nil {
			return nil, nil, err
		}
	case ct == "" || strings.HasPrefix(ct, "text/plain"):
		texts = textLines(body)
	default:
		return nil, nil, fmt.Errorf("content type %q: want text/plain or application/json", ct)
	}
	if len(texts) > maxIngestEvents {
		return nil, nil, fmt.Errorf("%d events in one request; at most %d", len(texts), maxIngestEvents)
	}
	var good []ingestLine
	var bad []ingestError
	for i, c := range texts {
		if c.err != nil {
			bad = append(bad, ingestError{i + 1, c.err.Error()})
			continue
		}
		ev, err := events.ParseLine(c.text)
		switch {
		case err != nil:
			bad = append(bad, ingestError{i + 1, err.Error()})
		case ev.Kind == events.KindRecommendation:
			bad = append(bad, ingestError{i + 1, "recommendation lines are the gateway's own log, not input"})
		default:
			good = append(good, ingestLine{i + 1, ev.User, ev.Line()})
		}
	}
	return good, bad, nil
}

// candidate is one event of a request as a course line, or why it cannot be one.
type candidate struct {
	text string
	err  error
}

// textLines splits a body into lines, a trailing newline ending the last.
func textLines(body []byte) []candidate {
	var out []candidate
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), maxIngestBody)
	for sc.Scan() {
		out = append(out, candidate{text: sc.Text()})
	}
	return out
}

// jsonEvent is DESIGN.md's JSON form of one event.
type jsonEvent struct {
	Time   string          `json:"time"`
	User   json.RawMessage `json:"user"`
	Type   string          `json:"type"`
	Movie  string          `json:"movie"`
	Minute *int            `json:"minute"`
	Rating *int            `json:"rating"`
}

// jsonEventLines turns a JSON object or array of events into course lines,
// so one parser validates both forms.
func jsonEventLines(body []byte) ([]candidate, error) {
	body = bytes.TrimSpace(body)
	var list []json.RawMessage
	if len(body) > 0 && body[0] == '{' {
		list = []json.RawMessage{body}
	} else if err := json.Unmarshal(body, &list); err != nil {
		return nil, errors.New("body: want a JSON object or array of events")
	}
	out := make([]candidate, len(list))
	for i, raw := range list {
		var e jsonEvent
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			out[i].err = fmt.Errorf("invalid JSON event: %s", strings.TrimPrefix(err.Error(), "json: "))
			continue
		}
		out[i].text, out[i].err = e.line()
	}
	return out, nil
}

func (e jsonEvent) line() (string, error) {
	user := strings.Trim(string(e.User), `"`) // "42" and 42 both name user 42
	head := e.Time + "," + user + ","
	switch {
	case e.Type == "watch" && e.Minute != nil:
		return head + "GET /data/m/" + e.Movie + "/" + strconv.Itoa(*e.Minute) + ".mpg", nil
	case e.Type == "rate" && e.Rating != nil:
		return head + "GET /rate/" + e.Movie + "=" + strconv.Itoa(*e.Rating), nil
	case e.Type == "create_account":
		return head + "GET /create_account", nil
	case e.Type == "watch" || e.Type == "rate":
		return "", fmt.Errorf("invalid JSON event: a %s needs its %s", e.Type, map[string]string{"watch": "minute", "rate": "rating"}[e.Type])
	}
	return "", fmt.Errorf("invalid JSON event: type %q: want watch, rate or create_account", e.Type)
}
