package events

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseLineRoundTrip(t *testing.T) {
	ts := time.Date(2024, 3, 9, 14, 5, 7, 0, time.UTC)
	tests := []struct {
		name string
		line string
		want Event
	}{
		{"watch", "2024-03-09T14:05:07,42,GET /data/m/the+shawshank+redemption+1994/17.mpg",
			Event{Time: ts, User: "42", Kind: KindWatch, Movie: "the+shawshank+redemption+1994", Minute: 17}},
		{"watch minute zero", "2024-03-09T14:05:07,0,GET /data/m/heat+1995/0.mpg",
			Event{Time: ts, User: "0", Kind: KindWatch, Movie: "heat+1995"}},
		{"rate micros", "2024-03-09T14:05:07.123456,7,GET /rate/heat+1995=4",
			Event{Time: ts.Add(123456 * time.Microsecond), User: "7", Kind: KindRate, Movie: "heat+1995", Rating: 4}},
		{"create nanos", "2024-03-09T14:05:07.123456789,99999,GET /create_account",
			Event{Time: ts.Add(123456789), User: "99999", Kind: KindCreateAccount}},
		{"recommendation", "2024-03-09T14:05:07,42,recommendation request 17645-team03.isri.cmu.edu:8082, status 200, result: heat+1995, up+2009, 242, 113 ms",
			Event{Time: ts, User: "42", Kind: KindRecommendation, Server: "17645-team03.isri.cmu.edu:8082", Status: 200,
				Result: []string{"heat+1995", "up+2009", "242"}, Latency: 113 * time.Millisecond}},
		{"recommendation empty result", "2024-03-09T14:05:07,42,recommendation request 127.0.0.1:8082, status 503, result: , 0 ms",
			Event{Time: ts, User: "42", Kind: KindRecommendation, Server: "127.0.0.1:8082", Status: 503}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLine(tt.line)
			if err != nil {
				t.Fatalf("ParseLine: %v", err)
			}
			if !eventsEqual(got, tt.want) {
				t.Fatalf("ParseLine = %+v, want %+v", got, tt.want)
			}
			if line := got.Line(); line != tt.line {
				t.Fatalf("Line = %q, want %q", line, tt.line)
			}
			if err := tt.want.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestParseLineLenient(t *testing.T) {
	tests := []struct {
		name, line string
		want       []string
	}{
		{"no spaces", "2024-03-09T14:05:07,42,recommendation request s:1, status 200, result: a,b,c, 5 ms", []string{"a", "b", "c"}},
		{"mixed", "2024-03-09T14:05:07,42,recommendation request s:1, status 200, result: a, b,c,5 ms", []string{"a", "b", "c"}},
		{"crlf", "2024-03-09T14:05:07,42,recommendation request s:1, status 200, result: a, 5 ms\r\n", []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseLine(tt.line)
			if err != nil {
				t.Fatalf("ParseLine: %v", err)
			}
			if !slices.Equal(e.Result, tt.want) || e.Latency != 5*time.Millisecond {
				t.Fatalf("got result %q latency %v", e.Result, e.Latency)
			}
		})
	}
}

func TestParseLineErrors(t *testing.T) {
	const ok = "2024-03-09T14:05:07"
	tests := []struct{ name, line, field string }{
		{"3 fraction digits", "2024-03-09T14:05:07.123,1,GET /create_account", "time"},
		{"one-digit hour", "2024-03-09T4:05:07,1,GET /create_account", "time"},
		{"month 13", "2024-13-09T14:05:07,1,GET /create_account", "time"},
		{"zone suffix", "2024-03-09T14:05:07Z,1,GET /create_account", "time"},
		{"negative user", ok + ",-1,GET /create_account", "user"},
		{"hex user", ok + ",0x1f,GET /create_account", "user"},
		{"leading zero user", ok + ",007,GET /create_account", "user"},
		{"absurd user", ok + "," + strings.Repeat("9", 20) + ",GET /create_account", "user"},
		{"empty user", ok + ",,GET /create_account", "user"},
		{"upper movie", ok + ",1,GET /data/m/Heat/1.mpg", "movie"},
		{"slash movie", ok + ",1,GET /rate/a/b=3", "movie"},
		{"long movie", ok + ",1,GET /rate/" + strings.Repeat("a", 300) + "=3", "movie"},
		{"negative minute", ok + ",1,GET /data/m/heat/-1.mpg", "minute"},
		{"no mpg", ok + ",1,GET /data/m/heat/1.mp4", "minute"},
		{"rating 0", ok + ",1,GET /rate/heat=0", "rating"},
		{"rating 6", ok + ",1,GET /rate/heat=6", "rating"},
		{"rating 10", ok + ",1,GET /rate/heat=10", "rating"},
		{"unknown request", ok + ",1,POST /data", "request"},
		{"status text", ok + ",1,recommendation request s:1, status ok, result: a, 5 ms", "status"},
		{"status 999", ok + ",1,recommendation request s:1, status 999, result: a, 5 ms", "status"},
		{"server space", ok + ",1,recommendation request s 1, status 200, result: a, 5 ms", "server"},
		{"no ms", ok + ",1,recommendation request s:1, status 200, result: a, 5", "latency"},
		{"negative ms", ok + ",1,recommendation request s:1, status 200, result: a, -5 ms", "latency"},
		{"bad result id", ok + ",1,recommendation request s:1, status 200, result: a, B, 5 ms", "result"},
		{"empty result id", ok + ",1,recommendation request s:1, status 200, result: a, , 5 ms", "result"},
		{"no comma", "garbage", "time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseLine(tt.line)
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalidLine) {
				t.Fatalf("ParseLine(%q) = %v, want a FieldError", tt.line, err)
			}
			if fe.Field != tt.field {
				t.Fatalf("field = %q, want %q (%v)", fe.Field, tt.field, err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ts := time.Date(2024, 3, 9, 14, 5, 7, 0, time.UTC)
	tests := []struct {
		name  string
		e     Event
		field string
	}{
		{"negative minute", Event{Time: ts, User: "1", Kind: KindWatch, Movie: "a", Minute: -1}, "minute"},
		{"sub-ms latency", Event{Time: ts, User: "1", Kind: KindRecommendation, Server: "s", Status: 200, Latency: 1500 * time.Microsecond}, "latency"},
		{"unknown kind", Event{Time: ts, User: "1", Kind: "delete"}, "request"},
		{"year 10000", Event{Time: ts.AddDate(8000, 0, 0), User: "1", Kind: KindCreateAccount}, "time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fe *FieldError
			if err := tt.e.Validate(); !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("Validate = %v, want field %q", err, tt.field)
			}
		})
	}
}

func TestFormatTime(t *testing.T) {
	base := time.Date(2024, 3, 9, 14, 5, 7, 0, time.FixedZone("x", 3600))
	tests := []struct {
		t    time.Time
		want string
	}{
		{base, "2024-03-09T13:05:07"},
		{base.Add(5 * time.Microsecond), "2024-03-09T13:05:07.000005"},
		{base.Add(5 * time.Millisecond), "2024-03-09T13:05:07.005000"},
		{base.Add(5), "2024-03-09T13:05:07.000000005"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := FormatTime(tt.t); got != tt.want {
				t.Fatalf("FormatTime = %q, want %q", got, tt.want)
			}
		})
	}
}

func eventsEqual(a, b Event) bool {
	return a.Time.Equal(b.Time) && a.User == b.User && a.Kind == b.Kind && a.Movie == b.Movie &&
		a.Minute == b.Minute && a.Rating == b.Rating && a.Server == b.Server && a.Status == b.Status &&
		slices.Equal(a.Result, b.Result) && a.Latency == b.Latency
}

func FuzzParseLine(f *testing.F) {
	f.Add("2024-03-09T14:05:07,42,GET /data/m/the+shawshank+redemption+1994/17.mpg")
	f.Add("2024-03-09T14:05:07.123456,7,GET /rate/heat+1995=4")
	f.Add("2024-03-09T14:05:07.123456789,99999,GET /create_account")
	f.Add("2024-03-09T14:05:07,42,recommendation request a.b:8082, status 200, result: heat+1995, up+2009, 113 ms")
	f.Add("2024-03-09T14:05:07,42,recommendation request s:1, status 200, result: a,b,c,5 ms")
	f.Add("2024-03-09T14:05:07,42,recommendation request s:1, status 503, result: , 0 ms")
	f.Fuzz(func(t *testing.T, line string) {
		e, err := ParseLine(line)
		if err != nil {
			return
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("accepted %q but Validate: %v", line, err)
		}
		again, err := ParseLine(e.Line())
		if err != nil {
			t.Fatalf("Line() of accepted %q = %q does not parse: %v", line, e.Line(), err)
		}
		if !eventsEqual(again, e) {
			t.Fatalf("round trip of %q: %+v != %+v", line, again, e)
		}
	})
}
