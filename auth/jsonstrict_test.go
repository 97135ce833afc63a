package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The reference: the strict check as it was before the hand-written scanner,
// on json.Decoder.Token, kept to compare verdicts with. Only the member
// limit changed: it used to let a 65th member through.

func refStrictJSON(data []byte, numbers []string) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errNotObject
	}
	names, err := refScanObject(dec, 1, numbers)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("json: data after the object")
	}
	return names, nil
}

func refScanObject(dec *json.Decoder, depth int, numbers []string) ([]string, error) {
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("json: %w", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, errors.New("json: member name is not a string")
		}
		if err := refCheckName(names, name); err != nil {
			return nil, err
		}
		names = append(names, name)
		if slices.Contains(numbers, name) {
			if tok, err := dec.Token(); err != nil {
				return nil, err
			} else if _, ok := tok.(json.Number); !ok {
				return nil, fmt.Errorf("json: %s is not a number", name)
			}
			continue
		}
		if err := refScanValue(dec, depth); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	return names, nil
}

func refCheckName(seen []string, name string) error {
	lower := strings.ToLower(name)
	if lower != name && boundNames[lower] {
		return fmt.Errorf("json: member %q differs from %q only in case", name, lower)
	}
	if len(seen) >= maxJSONMembers { // was > 64
		return errors.New("json: too many members in one object")
	}
	for _, s := range seen {
		if strings.EqualFold(s, name) {
			return fmt.Errorf("json: duplicate member %q", name)
		}
	}
	return nil
}

func refScanValue(dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("json: %w", err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= maxJSONDepth {
		return errors.New("json: nested too deeply")
	}
	if d == '{' {
		_, err := refScanObject(dec, depth+1, nil)
		return err
	}
	for dec.More() {
		if err := refScanValue(dec, depth+1); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}

// boundStruct has one field per bound name, so that json.Unmarshal itself
// says which member names bind to them.
var boundStruct = func() reflect.Type {
	var fields []reflect.StructField
	for name := range boundNames {
		fields = append(fields, reflect.StructField{
			Name: "F" + fmt.Sprint(len(fields)), Type: reflect.TypeFor[json.RawMessage](),
			Tag: reflect.StructTag(`json:"` + name + `"`),
		})
	}
	return reflect.StructOf(fields)
}()

// bindsToOtherName reports whether encoding/json fills a bound field from
// a member called name that is not exactly the field's name.
func bindsToOtherName(name string) bool {
	if boundNames[name] {
		return false
	}
	doc, _ := json.Marshal(map[string]int{name: 1})
	v := reflect.New(boundStruct)
	if json.Unmarshal(doc, v.Interface()) != nil {
		return false
	}
	return !v.Elem().IsZero()
}

// anyNameBindsElsewhere reports whether some member name of the JSON text
// data, at any depth, is one that bindsToOtherName.
func anyNameBindsElsewhere(data []byte) bool {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return false
	}
	var walk func(any) bool
	walk = func(v any) bool {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if bindsToOtherName(k) || walk(e) {
					return true
				}
			}
		case []any:
			return slices.ContainsFunc(v, walk)
		}
		return false
	}
	return walk(v)
}

func TestStrictObject(t *testing.T) {
	deep := strings.Repeat(`{"a":`, maxJSONDepth) + "1" + strings.Repeat("}", maxJSONDepth)
	deeper := strings.Repeat(`{"a":`, maxJSONDepth+1) + "1" + strings.Repeat("}", maxJSONDepth+1)
	deepArr := "{" + `"a":` + strings.Repeat("[", maxJSONDepth-1) + strings.Repeat("]", maxJSONDepth-1) + "}"
	deeperArr := "{" + `"a":` + strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth) + "}"
	members := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, `,"m%d":%d`, i, i)
		}
		return "{" + b.String()[1:] + "}"
	}
	for _, tc := range []struct {
		in   string
		ok   bool
		want []string // the top-level names, when ok
	}{
		{`{}`, true, nil},
		{" \t\r\n{ } \n", true, nil},
		{`{"a":1,"b":[true,false,null,-0.5e+3,"x\u00e9\n"],"c":{"a":{}}}`, true, []string{"a", "b", "c"}},
		{`{"\u0073ub":"x","\/k":1}`, true, []string{"sub", "/k"}},
		{`{"é":1,"e\u0301":2}`, true, []string{"é", "e\u0301"}},
		{deep, true, []string{"a"}},
		{deepArr, true, []string{"a"}},
		{members(maxJSONMembers), true, nil},
		{"{\"a\":\"\xff\"}", true, []string{"a"}}, // encoding/json takes invalid UTF-8
		{deeper, false, nil},
		{deeperArr, false, nil},
		{members(maxJSONMembers + 1), false, nil},
		{``, false, nil},
		{`[]`, false, nil},
		{`null`, false, nil},
		{`"x"`, false, nil},
		{`{} {}`, false, nil},
		{`{}x`, false, nil},
		{`{"a":1,}`, false, nil},
		{`{"a":1 "b":2}`, false, nil},
		{`{"a" 1}`, false, nil},
		{`{"a":}`, false, nil},
		{`{"a":[1,]}`, false, nil},
		{`{"a":[1 2]}`, false, nil},
		{`{"a":[1}`, false, nil},
		{`{"a":1]`, false, nil},
		{`{"a":01}`, false, nil},
		{`{"a":-}`, false, nil},
		{`{"a":1.}`, false, nil},
		{`{"a":1e}`, false, nil},
		{`{"a":.5}`, false, nil},
		{`{"a":+1}`, false, nil},
		{`{"a":tru}`, false, nil},
		{`{"a":nulls}`, false, nil},
		{"{\"a\":\"\x01\"}", false, nil},
		{`{"a":"\x"}`, false, nil},
		{`{"a":"\u12"}`, false, nil},
		{`{"a":"unterminated}`, false, nil},
		{`{1:2}`, false, nil},
		{`{"a":1`, false, nil},
		{`{"sub":"a","sub":"b"}`, false, nil},
		{`{"sub":"a","SUB":"b"}`, false, nil},
		{`{"x":"a","X":"b"}`, false, nil},
		{`{"sub":"a","\u0073ub":"b"}`, false, nil},
		{`{"a":{"b":1,"B":2}}`, false, nil},
		{`{"Sub":"a"}`, false, nil},
		{"{\"\u212aid\":\"k\"}", false, nil},     // the Kelvin sign lower-cases to k
		{"{\"\u017fub\":\"admin\"}", false, nil}, // ſ folds with s: encoding/json fills Subject
	} {
		var buf [4]member
		got, err := strictObject([]byte(tc.in), nil, buf[:0])
		if (err == nil) != tc.ok {
			t.Errorf("strictObject(%.60q) error %v, want ok %v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && tc.want != nil && !slices.Equal(names(got), tc.want) {
			t.Errorf("strictObject(%.60q) names %q, want %q", tc.in, names(got), tc.want)
		}
	}
}

func names(ms []member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, string(m.name))
	}
	return out
}

func TestStrictObjectNumbers(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"exp":1700000000,"x":"1"}`, true},
		{`{"exp":-1.5e3}`, true},
		{`{"a":{"exp":"nested is not checked"}}`, true},
		{`{"exp":"1700000000"}`, false},
		{`{"exp":null}`, false},
		{`{"exp":[1]}`, false},
		{`{"exp":{}}`, false},
		{`{"exp":true}`, false},
	} {
		_, err := strictObject([]byte(tc.in), numericClaims, nil)
		if (err == nil) != tc.ok {
			t.Errorf("strictObject(%q, numbers) error %v, want ok %v", tc.in, err, tc.ok)
		}
	}
}

// TestStrictObjectAllocations: a token's header and claims, all plain
// names, are checked without allocating.
func TestStrictObjectAllocations(t *testing.T) {
	payload := []byte(`{"iss":"reelguard","sub":"42","aud":["reelguard"],"exp":1700003600,` +
		`"nbf":1700000000,"iat":1700000000,"jti":"0123456789abcdef","role":"user","x":{"y":[1,{"z":2}]}}`)
	allocs := testing.AllocsPerRun(100, func() {
		var buf [16]member
		if _, err := strictObject(payload, numericClaims, buf[:0]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("strictObject allocates %v times, want 0", allocs)
	}
}

func strictSeeds() []string {
	return []string{
		`{}`, `{"alg":"EdDSA","kid":"k","typ":"JWT"}`, `{"a":1,"b":[true,false,null,-0.5e+3,"x\u00e9\n"],"c":{"a":{}}}`,
		`{"sub":"a","sub":"b"}`, `{"sub":"a","SUB":"b"}`, `{"a":{"b":1,"B":2}}`, `{"\u0073ub":"x","sub":"y"}`,
		"{\"\u212aid\":\"k\"}", "{\"\u017fub\":\"admin\"}", "{\"k\u0130d\":1}", `{"exp":"1"}`, `{"exp":1e400}`,
		`{"a":01}`, `{"a":1.}`, `{"a":[1,]}`, `{} {}`, `[]`, `{"a":"\ud800"}`, "{\"\xff\":1,\"\xfe\":2}",
		`{"aud":["a","b"],"iat":1.5,"nbf":-0,"role":null}`, `{"aud":[1]}`, `{"iss":5}`,
	}
}

// FuzzStrictObject compares the scanner with the reference on any input:
// the same verdict, except that the scanner also refuses names that
// encoding/json would bind to a bound name (the reference only lower-cased),
// and on acceptance the same names, with the values encoding/json reads.
func FuzzStrictObject(f *testing.F) {
	for _, s := range strictSeeds() {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, numbers bool) {
		var nums []string
		if numbers {
			nums = numericClaims
		}
		got, err := strictObject(data, nums, nil)
		want, refErr := refStrictJSON(data, nums)
		switch {
		case err != nil && refErr == nil && !anyNameBindsElsewhere(data):
			t.Fatalf("refused %q (%v), the reference accepts it", data, err)
		case err == nil && refErr != nil:
			t.Fatalf("accepted %q, the reference refuses it: %v", data, refErr)
		case err != nil:
			return
		}
		if !slices.Equal(names(got), want) {
			t.Fatalf("names %q, the reference found %q", names(got), want)
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(data, &raw); err != nil {
			t.Fatalf("accepted %q, encoding/json refuses it: %v", data, err)
		}
		for _, m := range got {
			if !bytes.Equal(m.value, raw[string(m.name)]) {
				t.Fatalf("member %q value %q, encoding/json reads %q", m.name, m.value, raw[string(m.name)])
			}
		}
	})
}

// FuzzParseClaims: parseClaims reads what json.Unmarshal into claims reads,
// and refuses only what the strict check or json.Unmarshal refuses.
func FuzzParseClaims(f *testing.F) {
	for _, s := range strictSeeds() {
		f.Add([]byte(s))
	}
	for _, tc := range newAttackFixture(f).attackCases(f) {
		if parts := strings.Split(tc.token, "."); len(parts) == 3 {
			if p, err := b64(parts[1]); err == nil {
				f.Add(p)
			}
		}
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		got, err := parseClaims(payload)
		_, refErr := refStrictJSON(payload, numericClaims)
		var want claims
		if refErr == nil {
			refErr = json.Unmarshal(payload, &want)
		}
		switch {
		case err != nil && refErr == nil && !anyNameBindsElsewhere(payload):
			t.Fatalf("refused %q (%v), the reference reads %+v", payload, err, want)
		case err == nil && refErr != nil:
			t.Fatalf("read %q as %+v, the reference refuses it: %v", payload, got, refErr)
		case err == nil && !reflect.DeepEqual(got, want):
			t.Fatalf("read %q as %+v, json.Unmarshal reads %+v", payload, got, want)
		case err != nil && !errors.Is(err, ErrMalformed):
			t.Fatalf("error %v is not ErrMalformed", err)
		}
	})
}
