package policy

import (
	"strconv"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// memoSize bounds the decisions one policy remembers: two generations of
// at most memoSize/2 entries each.
const memoSize = 1 << 16

// memo remembers the decisions of a deterministic policy by input. A
// policy's data never changes after it is prepared and a new policy gets a
// new memo, so a remembered decision is exactly what evaluation would give.
// Entries live in two generations: lookups promote from old to new, and a
// full new generation replaces the old one, so the working set stays and
// the size stays bounded without per-entry bookkeeping.
type memo struct {
	mu       sync.RWMutex
	cur, old map[string]Decision
	half     int
}

func newMemo(size int) *memo {
	half := max(size/2, 1)
	return &memo{cur: make(map[string]Decision, half), old: map[string]Decision{}, half: half}
}

func (m *memo) get(key string) (Decision, bool) {
	m.mu.RLock()
	d, ok := m.cur[key]
	if !ok {
		d, ok = m.old[key]
	}
	m.mu.RUnlock()
	return d, ok
}

func (m *memo) put(key string, d Decision) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.cur) >= m.half {
		m.old, m.cur = m.cur, make(map[string]Decision, m.half)
	}
	m.cur[key] = d
}

// memoKey encodes every field of in that the policy can see, so that two
// inputs share a key only when their OPA values are equal. ok is false for
// suspicion values of a type the encoding does not cover: those inputs are
// evaluated every time.
func memoKey(in Input) (key string, ok bool) {
	var b strings.Builder
	b.Grow(64 + len(in.Principal.Sub) + len(in.TargetUser))
	field := func(s string) { // length-prefixed: no separator can be forged
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	field(in.Principal.Sub)
	field(in.Principal.Role)
	field(in.Principal.ClientIP)
	field(in.Method)
	b.WriteString(strconv.Itoa(len(in.Path)))
	for _, seg := range in.Path {
		field(seg)
	}
	field(in.TargetUser)
	b.WriteString(strconv.Itoa(len(in.Suspicion)))
	for _, k := range sortedKeys(in.Suspicion) {
		field(k)
		switch v := in.Suspicion[k].(type) {
		case bool:
			field(strconv.FormatBool(v))
		case float64:
			field(strconv.FormatFloat(v, 'g', -1, 64))
		case int:
			field(strconv.Itoa(v))
		case string:
			field("s" + v)
		default:
			return "", false
		}
	}
	return b.String(), true
}

func sortedKeys[V any](m map[string]V) []string {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Insertion sort: suspicion has a handful of keys.
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// deterministic reports whether every builtin the compiled modules call
// gives the same answer for the same input and data (no time.now_ns,
// http.send, rand.intn, ...): only then may decisions be remembered, and
// only then is evaluation pure computation that a small pool of workers
// can carry without waiting on anything.
func deterministic(c *ast.Compiler) bool {
	ok := true
	visit := func(op string) {
		if b, builtin := ast.BuiltinMap[op]; builtin && b.Nondeterministic {
			ok = false
		}
	}
	for _, mod := range c.Modules {
		ast.WalkTerms(mod, func(t *ast.Term) bool {
			if call, isCall := t.Value.(ast.Call); isCall {
				visit(call[0].String())
			}
			return !ok
		})
		ast.WalkExprs(mod, func(e *ast.Expr) bool {
			if e.IsCall() {
				visit(e.Operator().String())
			}
			return !ok
		})
	}
	return ok
}
