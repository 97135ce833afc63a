package policy

import (
	"strconv"
	"strings"
)

// redacted replaces the value of a field whose name looks secret.
const redacted = "[REDACTED]"

// secretWords mark field names whose values never reach a log.
var secretWords = []string{"token", "authorization", "secret", "password", "passwd", "cookie", "api_key", "apikey", "credential"}

// isSecretName reports whether a field name looks like it holds a secret.
func isSecretName(name string) bool {
	lower := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

// redact returns m with every secret-looking field, at any depth, replaced
// by "[REDACTED]", and the JSON pointers of those fields (under at)
// appended to erased. m itself is never modified, since the request may
// still use it: a copy is made only when something is redacted.
func redact(m map[string]any, at string, erased []string) (map[string]any, []string) {
	if !hasSecret(m) {
		return m, erased
	}
	v, erased := redactCopy(m, at, erased)
	return v.(map[string]any), erased
}

func hasSecret(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if isSecretName(k) || hasSecret(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasSecret(e) {
				return true
			}
		}
	}
	return false
}

func redactCopy(v any, at string, erased []string) (any, []string) {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			ptr := at + "/" + escapePointer(k)
			if isSecretName(k) {
				out[k] = redacted
				erased = append(erased, ptr)
				continue
			}
			out[k], erased = redactCopy(e, ptr, erased)
		}
		return out, erased
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i], erased = redactCopy(e, at+"/"+strconv.Itoa(i), erased)
		}
		return out, erased
	default:
		return v, erased
	}
}

// escapePointer escapes a key for a JSON pointer (RFC 6901).
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
