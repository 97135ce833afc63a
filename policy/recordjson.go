package policy

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// appendRecord appends r's JSON, byte for byte what encoding/json makes of
// it, without reflection: the decision log encodes one record per request,
// and reflection was about 3% of the gateway's CPU under load. Suspicion
// (a small map of any) still goes through encoding/json.
func appendRecord(b []byte, r DecisionRecord) ([]byte, error) {
	b = append(b, `{"decision_id":`...)
	b = appendString(b, r.DecisionID)
	b = append(b, `,"timestamp":`...)
	ts, err := r.Timestamp.MarshalJSON()
	if err != nil {
		return nil, err
	}
	b = append(b, ts...)
	b = append(b, `,"path":`...)
	b = appendString(b, r.Path)
	b = append(b, `,"revision":`...)
	b = appendString(b, r.Revision)
	if len(r.Labels) > 0 {
		b = append(b, `,"labels":{`...)
		for i, k := range sortedKeys(r.Labels) { // encoding/json sorts map keys
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, r.Labels[k])
		}
		b = append(b, '}')
	}
	b = append(b, `,"input":`...)
	if b, err = appendInput(b, r.Input); err != nil {
		return nil, err
	}
	b = append(b, `,"result":{"allow":`...)
	b = strconv.AppendBool(b, r.Result.Allow)
	b = append(b, `,"reason":`...)
	b = appendString(b, r.Result.Reason)
	b = append(b, `,"obligations":{"tier":`...)
	b = appendString(b, r.Result.Obligations.Tier)
	b = append(b, `,"degrade":`...)
	b = strconv.AppendBool(b, r.Result.Obligations.Degrade)
	b = append(b, "}}"...)
	if r.Error != "" {
		b = append(b, `,"error":`...)
		b = appendString(b, r.Error)
	}
	if len(r.Erased) > 0 {
		b = append(b, `,"erased":[`...)
		for i, e := range r.Erased {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, e)
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

func appendInput(b []byte, in Input) ([]byte, error) {
	b = append(b, `{"principal":{"sub":`...)
	b = appendString(b, in.Principal.Sub)
	b = append(b, `,"role":`...)
	b = appendString(b, in.Principal.Role)
	b = append(b, `,"client_ip":`...)
	b = appendString(b, in.Principal.ClientIP)
	b = append(b, `},"method":`...)
	b = appendString(b, in.Method)
	b = append(b, `,"path":`...)
	if in.Path == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, seg := range in.Path {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, seg)
		}
		b = append(b, ']')
	}
	if in.TargetUser != "" {
		b = append(b, `,"target_user":`...)
		b = appendString(b, in.TargetUser)
	}
	b = append(b, `,"suspicion":`...)
	if in.Suspicion == nil {
		b = append(b, "null"...)
	} else {
		var err error
		if b, err = appendAnyMap(b, in.Suspicion); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendAnyMap encodes the value types suspicion holds (booleans, finite
// numbers, strings) itself, and hands any other map to encoding/json.
func appendAnyMap(b []byte, m map[string]any) ([]byte, error) {
	start := len(b)
	b = append(b, '{')
	for i, k := range sortedKeys(m) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		var ok bool
		if b, ok = appendScalar(b, m[k]); !ok {
			whole, err := json.Marshal(m)
			if err != nil {
				return nil, err
			}
			return append(b[:start], whole...), nil
		}
	}
	return append(b, '}'), nil
}

func appendScalar(b []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case bool:
		return strconv.AppendBool(b, v), true
	case string:
		return appendString(b, v), true
	case int:
		return strconv.AppendInt(b, int64(v), 10), true
	case float64:
		return appendFloat(b, v)
	}
	return b, false
}

// appendFloat formats f as encoding/json does (ES6 number formatting);
// NaN and infinities are not JSON.
func appendFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 → e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

const hexDigits = "0123456789abcdef"

// appendString is encoding/json's string encoding with its defaults: HTML
// characters and U+2028/U+2029 escaped, invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
