package recommender

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// groupsJSON is a popularity model.json with candidates a and b and the groups given.
func groupsJSON(groups string) []byte {
	return []byte(`{"format":2,"items":[{"id":"a","score":0.5},{"id":"b","score":0.4}],"min_support":2,"groups":[` + groups + `]}`)
}

// longGroup lists n distinct items, all candidates of longGroupModel.
func longGroup(n int) string {
	var items []string
	for i := range n {
		items = append(items, fmt.Sprintf(`{"id":"i%03d","score":0.1}`, i))
	}
	return `{"key":"g","items":[` + strings.Join(items, ",") + `],"users":["9"]}`
}

func longGroupModel(n int) []byte {
	var items []string
	for i := range maxGroupItems + 1 {
		items = append(items, fmt.Sprintf(`{"id":"i%03d","score":0.1}`, i))
	}
	return []byte(`{"format":2,"items":[` + strings.Join(items, ",") + `],"groups":[` + longGroup(n) + `]}`)
}

// TestLoadRejectsBadGroups: demographic lists in a validly signed folder are
// checked like everything else in it; an oversized list is refused.
func TestLoadRejectsBadGroups(t *testing.T) {
	seen := seenBytes(t, seenFromSets(map[string]map[string]struct{}{"1": {"a": {}}}))
	files := func(body []byte) map[string][]byte { return map[string][]byte{ArtifactFile: body, SeenFile: seen} }
	pub := internalKey.Public().(ed25519.PublicKey)
	g := func(key, items, users string) string {
		return `{"key":"` + key + `","items":[` + items + `],"users":[` + users + `]}`
	}
	a := `{"id":"a","score":0.3}`
	tests := []struct {
		name   string
		body   []byte
		reason string
	}{
		{"oversized list", longGroupModel(maxGroupItems + 1), "lists 101 items"},
		{"empty list", groupsJSON(g("g", "", `"9"`)), "lists 0 items"},
		{"not a candidate", groupsJSON(g("g", `{"id":"zzz","score":1}`, `"9"`)), "not a candidate"},
		{"repeated item", groupsJSON(g("g", a+","+a, `"9"`)), "listed twice"},
		{"empty name", groupsJSON(g("", a, `"9"`)), "name is empty"},
		{"long name", groupsJSON(g(strings.Repeat("x", maxGroupKey+1), a, `"9"`)), "name is empty or over"},
		{"no users", groupsJSON(g("g", a, "")), "no users"},
		{"known user", groupsJSON(g("g", a, `"1"`)), "has interactions"},
		{"empty user", groupsJSON(g("g", a, `""`)), "user id is empty"},
		{"user in two groups", groupsJSON(g("g", a, `"9"`) + "," + g("h", a, `"9"`)), "two demographic groups"},
		{"groups out of order", groupsJSON(g("h", a, `"9"`) + "," + g("g", a, `"8"`)), "ascending order"},
		{"same group twice", groupsJSON(g("g", a, `"9"`) + "," + g("g", a, `"8"`)), "ascending order"},
		{"unknown field", groupsJSON(`{"key":"g","items":[` + a + `],"users":["9"],"evil":1}`), "unknown field"},
		{"negative min support", []byte(`{"format":2,"items":[` + a + `],"min_support":-1}`), "negative min_support"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadVerified(writeSigned(t, files(tc.body), nil), pub)
			if !errors.Is(err, ErrBadArtifact) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("Load = %v, want ErrBadArtifact: ...%s...", err, tc.reason)
			}
		})
	}
	t.Run("largest list loads", func(t *testing.T) {
		m, err := LoadVerified(writeSigned(t, files(longGroupModel(maxGroupItems)), nil), pub)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := m.ColdStartGroup("9"); !ok || got != "g" || len(m.Recommend("9", 200, false)) != maxGroupItems+1 {
			t.Fatalf("group %q %v, %d items", got, ok, len(m.Recommend("9", 200, false)))
		}
	})
	t.Run("good groups serve their list", func(t *testing.T) {
		body := groupsJSON(g("g", `{"id":"b","score":0.9}`, `"7","9"`) + "," + g("h", a, `"8"`))
		m, err := LoadVerified(writeSigned(t, files(body), nil), pub)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Recommend("9", 2, true); len(got) != 2 || got[0].Item != "b" || got[1].Item != "a" || got[1].Score > got[0].Score {
			t.Fatalf("cold user 9 got %v, want b then a", got)
		}
		if got := m.Recommend("5", 2, true); got[0].Item != "a" {
			t.Fatalf("user 5 without a group got %v, want the global list", got)
		}
	})
}

// FuzzLoadColdStart: whatever model.json holds, decoding its groups never
// panics, and what loads keeps the limits.
func FuzzLoadColdStart(f *testing.F) {
	f.Add(groupsJSON(`{"key":"g","items":[{"id":"b","score":0.9}],"users":["7","9"]}`))
	f.Add(groupsJSON(`{"key":"g","items":[],"users":[]}`))
	f.Add(longGroupModel(maxGroupItems + 1))
	idx := seenFromSets(map[string]map[string]struct{}{"1": {"a": {}}})
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := parseArtifact(data)
		if err != nil {
			return
		}
		popular, err := checkItems(a.Items)
		if err != nil {
			return
		}
		c, err := loadColdStart(a.Groups, popular, idx)
		if err != nil || c == nil {
			return
		}
		for _, g := range c.groups {
			if len(g.items) == 0 || len(g.items) > maxGroupItems {
				t.Fatalf("group %q loaded with %d items", g.key, len(g.items))
			}
		}
	})
}
