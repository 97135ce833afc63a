package dashboard

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func serve(tb testing.TB, method, target string, header http.Header) *http.Response {
	tb.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	return rec.Result()
}

func body(tb testing.TB, resp *http.Response) string {
	tb.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestHandlerServesAssets(t *testing.T) {
	tests := []struct {
		path, contentType, contains string
	}{
		{"/dashboard/", "text/html; charset=utf-8", `<script type="module" src="app.js"></script>`},
		{"/dashboard/index.html", "text/html; charset=utf-8", "Admin token"},
		{"/dashboard/app.js", "text/javascript; charset=utf-8", "/admin/alerts/stream"},
		{"/dashboard/parse.js", "text/javascript; charset=utf-8", "export class SSEParser"},
		{"/dashboard/style.css", "text/css; charset=utf-8", "--bad:"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp := serve(t, http.MethodGet, tt.path, nil)
			text := body(t, resp)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if !strings.Contains(text, tt.contains) {
				t.Errorf("body lacks %q", tt.contains)
			}
			checkSecurityHeaders(t, resp.Header)
			if resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("ETag") == "" {
				t.Errorf("Cache-Control %q, ETag %q: want revalidation by ETag",
					resp.Header.Get("Cache-Control"), resp.Header.Get("ETag"))
			}
		})
	}
}

func checkSecurityHeaders(t *testing.T, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "object-src 'none'",
		"frame-ancestors 'none'", "require-trusted-types-for 'script'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP %q allows inline code or eval", csp)
	}
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options %q, want nosniff", got)
	}
}

func TestHandlerRefuses(t *testing.T) {
	tests := []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/dashboard/nope.js", http.StatusNotFound},
		{http.MethodGet, "/dashboard/static/", http.StatusNotFound},
		{http.MethodGet, "/dashboard/static/app.js", http.StatusNotFound},
		{http.MethodGet, "/dashboard/./app.js", http.StatusNotFound},
		{http.MethodGet, "/dashboard/../dashboard/app.js", http.StatusNotFound},
		{http.MethodGet, "/dashboard/.", http.StatusNotFound},
		{http.MethodGet, "/dashboard/dashboard.go", http.StatusNotFound},
		{http.MethodGet, "/other/app.js", http.StatusNotFound},
		{http.MethodPost, "/dashboard/", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/dashboard/app.js", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			resp := serve(t, tt.method, tt.path, nil)
			text := body(t, resp)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if strings.Contains(text, "<a href") || strings.Contains(text, "app.js") {
				t.Errorf("refusal lists files: %q", text)
			}
			checkSecurityHeaders(t, resp.Header)
		})
	}
}

func TestHandlerRevalidates(t *testing.T) {
	first := serve(t, http.MethodGet, "/dashboard/app.js", nil)
	etag := first.Header.Get("ETag")
	resp := serve(t, http.MethodGet, "/dashboard/app.js", http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match %s: status %d, want 304", etag, resp.StatusCode)
	}
	head := serve(t, http.MethodHead, "/dashboard/", nil)
	if head.StatusCode != http.StatusOK || body(t, head) != "" {
		t.Errorf("HEAD: status %d, want 200 with no body", head.StatusCode)
	}
}

// TestPageHasNoInlineCode keeps the page within its own CSP: no inline
// scripts, handlers or styles, and nothing loaded from another origin.
func TestPageHasNoInlineCode(t *testing.T) {
	page := body(t, serve(t, http.MethodGet, "/dashboard/", nil))
	forbidden := map[string]*regexp.Regexp{
		"inline script": regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]`),
		"event handler": regexp.MustCompile(`\son[a-z]+\s*=`),
		"inline style":  regexp.MustCompile(`<style|\sstyle\s*=`),
		"outside asset": regexp.MustCompile(`(?:src|href|action)="(?:[a-z]+:)?//`),
	}
	for what, re := range forbidden {
		if m := re.FindString(page); m != "" {
			t.Errorf("index.html has an %s: %s", what, m)
		}
	}
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(page, -1) {
		if !strings.Contains(tag, ` src="`) {
			t.Errorf("index.html has a script without src: %s", tag)
		}
	}
}

// TestScriptsWriteNoMarkup guards the escaping rule: API data reaches the
// page only through textContent, never through markup-parsing sinks.
func TestScriptsWriteNoMarkup(t *testing.T) {
	for _, name := range []string{"app.js", "parse.js"} {
		src := body(t, serve(t, http.MethodGet, "/dashboard/"+name, nil))
		for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
			if strings.Contains(src, sink) {
				t.Errorf("%s uses %s", name, sink)
			}
		}
	}
}

func TestAssetName(t *testing.T) {
	tests := map[string]string{
		"/dashboard/":            "index.html",
		"/dashboard/app.js":      "app.js",
		"/dashboard":             "",
		"/dashboard/a/b.js":      "",
		"/dashboard/..":          "",
		"/dashboardx/app.js":     "",
		"/dashboard//app.js":     "",
		"/x/dashboard/style.css": "",
	}
	for in, want := range tests {
		if got := assetName(in); got != want {
			t.Errorf("assetName(%q) = %q, want %q", in, got, want)
		}
	}
}
