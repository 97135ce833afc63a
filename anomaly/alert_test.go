package anomaly

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func goldenAlert() Alert {
	return Alert{
		ID:       "01JN8Z6C2B0000000000000000",
		Time:     time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600)),
		Kind:     KindExtraction,
		Severity: SeverityWarning,
		Subject:  "frontend",
		IP:       "203.0.113.7",
		Evidence: map[string]any{"distinct_targets": 4200, "threshold": 3000, "reason": "distinct_targets"},
		Action:   ActionDegraded,
	}
}

func TestAlertJSONGolden(t *testing.T) {
	got, err := json.MarshalIndent(goldenAlert(), "", "  ")
	mustNoErr(t, err)
	got = append(got, '\n')
	path := filepath.Join("testdata", "alert.golden.json")
	if *update {
		mustNoErr(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	mustNoErr(t, err)
	if string(got) != string(want) {
		t.Errorf("alert JSON changed (run with -update if intended):\n got %s\nwant %s", got, want)
	}
}

func TestAlertJSONKeysExact(t *testing.T) {
	for _, a := range []Alert{goldenAlert(), {Kind: KindLimiter, Severity: SeverityInfo, Action: ActionNone}} {
		raw, err := json.Marshal(a)
		mustNoErr(t, err)
		var m map[string]json.RawMessage
		mustNoErr(t, json.Unmarshal(raw, &m))
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		want := []string{"action", "evidence", "id", "ip", "kind", "severity", "subject", "time"}
		if !slices.Equal(keys, want) {
			t.Errorf("keys %v, want %v", keys, want)
		}
		if ev := string(m["evidence"]); !strings.HasPrefix(ev, "{") {
			t.Errorf("evidence %s, want an object", ev)
		}
	}
}

func TestAlertTimeIsUTC(t *testing.T) {
	raw, err := json.Marshal(goldenAlert())
	mustNoErr(t, err)
	if !strings.Contains(string(raw), `"time":"2025-03-01T11:00:00.123456789Z"`) {
		t.Errorf("time not in UTC: %s", raw)
	}
}

var parseCases = []struct {
	name, in string
	ok       bool
}{
	{"valid", `{"id":"a","time":"2025-03-01T11:00:00Z","kind":"dos","severity":"critical","subject":"","ip":"1.2.3.4","evidence":{"rate":3},"action":"blocked"}`, true},
	{"null evidence", `{"id":"a","time":"2025-03-01T11:00:00Z","kind":"upstream","severity":"info","subject":"","ip":"","evidence":null,"action":"degraded"}`, true},
	{"every kind: signature", `{"id":"a","time":"2025-03-01T11:00:00Z","kind":"signature","severity":"warning","subject":"p","ip":"","evidence":{},"action":"none"}`, true},
	{"unknown key", `{"id":"a","time":"2025-03-01T11:00:00Z","kind":"dos","severity":"info","subject":"","ip":"","evidence":{},"action":"none","x":1}`, false},
	{"bad kind", `{"id":"a","time":"2025-03-01T11:00:00Z","kind":"DOS","severity":"info","subject":"","ip":"","evidence":{},"action":"none"}`, false},
	{"bad severity", `{"id":"a","time":"2025-03-01T11:00:00Z","kind":"dos","severity":"high","subject":"","ip":"","evidence":{},"action":"none"}`, false},
	{"bad action", `{"id":"a","time":"2025-03-01T11:00:00Z","kind":"dos","severity":"info","subject":"","ip":"","evidence":{},"action":"killed"}`, false},
	{"missing action", `{"id":"a","time":"2025-03-01T11:00:00Z","kind":"dos","severity":"info","subject":"","ip":"","evidence":{}}`, false},
	{"missing id", `{"time":"2025-03-01T11:00:00Z","kind":"dos","severity":"info","subject":"","ip":"","evidence":{},"action":"none"}`, false},
	{"missing time", `{"id":"a","kind":"dos","severity":"info","subject":"","ip":"","evidence":{},"action":"none"}`, false},
	{"evidence not object", `{"id":"a","time":"2025-03-01T11:00:00Z","kind":"dos","severity":"info","subject":"","ip":"","evidence":[1],"action":"none"}`, false},
	{"trailing data", `{"id":"a","time":"2025-03-01T11:00:00Z","kind":"dos","severity":"info","subject":"","ip":"","evidence":{},"action":"none"} {}`, false},
	{"subject too long", `{"id":"a","time":"2025-03-01T11:00:00Z","kind":"dos","severity":"info","subject":"` + strings.Repeat("s", 300) + `","ip":"","evidence":{},"action":"none"}`, false},
	{"null", `null`, false},
	{"empty", ``, false},
}

func TestParseAlert(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseAlert([]byte(tc.in))
			if tc.ok != (err == nil) {
				t.Fatalf("ParseAlert err = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidAlert) {
				t.Errorf("err %v is not ErrInvalidAlert", err)
			}
			if err == nil && a.Evidence == nil {
				t.Error("evidence nil after parse")
			}
		})
	}
}

func TestAlertRoundTrip(t *testing.T) {
	in := goldenAlert()
	raw, err := json.Marshal(in)
	mustNoErr(t, err)
	out, err := ParseAlert(raw)
	mustNoErr(t, err)
	if out.ID != in.ID || !out.Time.Equal(in.Time) || out.Kind != in.Kind ||
		out.Action != in.Action || out.Evidence["distinct_targets"] != float64(4200) {
		t.Errorf("round trip changed the alert: %+v", out)
	}
}

func FuzzParseAlert(f *testing.F) {
	for _, tc := range parseCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAlert(data)
		if err != nil {
			return
		}
		if err := a.Validate(); err != nil || a.ID == "" || a.Time.IsZero() {
			t.Fatalf("parsed an invalid alert: %+v (%v)", a, err)
		}
		raw, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		b, err := ParseAlert(raw)
		if err != nil || b.ID != a.ID || b.Kind != a.Kind || b.Action != a.Action {
			t.Fatalf("round trip: %v, %+v vs %+v", err, a, b)
		}
	})
}

func TestEnumsValid(t *testing.T) {
	for _, k := range Kinds {
		if !k.Valid() {
			t.Errorf("kind %q invalid", k)
		}
	}
	if len(Kinds) != 9 || Kind("").Valid() || Severity("").Valid() || Action("").Valid() {
		t.Error("enum validation accepts empty values or kinds are missing")
	}
	for _, a := range []Action{ActionNone, ActionThrottled, ActionDegraded, ActionBlocked} {
		if !a.Valid() {
			t.Errorf("action %q invalid", a)
		}
	}
}

func TestIDsUniqueAndSorted(t *testing.T) {
	var src idSource
	prev := ""
	seen := map[string]bool{}
	for i := range 5000 {
		at := t0.Add(time.Duration(i/100) * time.Millisecond) // 100 ids per millisecond
		id := src.next(at)
		if len(id) != 26 || strings.Trim(id, crockford) != "" {
			t.Fatalf("id %q is not a ULID", id)
		}
		if seen[id] || id <= prev {
			t.Fatalf("id %d %q not unique and increasing after %q", i, id, prev)
		}
		seen[id], prev = true, id
	}
	if a, b := src.next(t0.Add(time.Hour)), src.next(t0.Add(2*time.Hour)); a[:10] >= b[:10] {
		t.Errorf("time prefix not sortable: %s %s", a, b)
	}
}
