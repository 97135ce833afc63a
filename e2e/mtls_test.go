package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reelguard/reelguard/certs"
)

// TestRecommenderMTLS runs the recommender with REELGUARD_RECOMMENDER_TLS
// and checks that only clients holding a certificate of the data folder's
// internal CA get in, and that a gateway given the same variable reaches it
// over https with its own client certificate.
func TestRecommenderMTLS(t *testing.T) {
	data := t.TempDir()
	env := []string{"REELGUARD_DATA=" + data, "REELGUARD_KAFKA_BROKERS=" + brokers, "REELGUARD_RECOMMENDER_TLS=true"}
	run(t, env, "gateway", "keys")
	log := filepath.Join(data, "movielog.log")
	run(t, env, "recommender", "gen", "--out", log)
	run(t, env, "recommender", "train", "--data", log, "--format", "movielog", "--out", filepath.Join(data, "model"))
	recAddr := addr(t)
	rec := start(t, env, "recommender", "serve", "--model", filepath.Join(data, "model"), "--listen", recAddr)

	internal := mtlsClient(t, certs.MTLSConfig{CADir: filepath.Join(data, "keys", "internal-ca"), ClientName: "e2e"})
	waitOK(t, internal, "https://"+recAddr+"/readyz", rec)

	noCert := internal.Transport.(*http.Transport).TLSClientConfig.Clone()
	noCert.GetClientCertificate = nil
	foreignCA := filepath.Join(t.TempDir(), "other-ca")
	if _, err := certs.EnsureInternalCA(foreignCA); err != nil {
		t.Fatal(err)
	}
	foreign := mtlsClient(t, certs.MTLSConfig{CADir: foreignCA})
	foreign.Transport.(*http.Transport).TLSClientConfig.RootCAs = noCert.RootCAs // trusts the server; its own cert is foreign
	for _, tc := range []struct {
		name   string
		client *http.Client
		url    string
		want   string // in the error, or the status for plain HTTP
	}{
		{"no client certificate", &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: noCert}},
			"https://", "certificate required"},
		{"certificate from another CA", foreign, "https://", "unknown certificate authority"},
		{"plain HTTP", &http.Client{Timeout: 10 * time.Second}, "http://", "400 Bad Request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.client.Get(tc.url + recAddr + "/recommend/1")
			got := fmt.Sprint(err)
			if err == nil {
				resp.Body.Close()
				got = resp.Status
			}
			if !strings.Contains(got, tc.want) {
				t.Fatalf("got %q, want the client refused with %q", got, tc.want)
			}
		})
	}

	t.Run("the gateway's client certificate", func(t *testing.T) {
		listen := addr(t)
		gw := start(t, append(env, "REELGUARD_LISTEN="+listen, "REELGUARD_ADMIN_LISTEN="+addr(t),
			"REELGUARD_RECOMMENDER_LISTEN="+recAddr, "REELGUARD_INSTANCE=e2e-mtls-gw"), "gateway", "serve")
		client := tlsClient(t, data, 10*time.Second)
		waitOK(t, client, "https://"+listen+"/healthz", gw)
		req, _ := http.NewRequest(http.MethodGet, "https://"+listen+"/recommend/42", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(run(t, env, "gateway", "token", "--sub", "42", "--role", "user")))
		req.Header.Set("Accept", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc struct {
			Items    []struct{ ID string }
			Fallback bool
		}
		if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK ||
			len(doc.Items) != 20 || doc.Fallback {
			t.Fatalf("through the gateway: %d, %d items, fallback=%v (%v); want 200, 20 items from the recommender",
				resp.StatusCode, len(doc.Items), doc.Fallback, err)
		}
		if !strings.Contains(gw.out.String(), `"upstream":"https://`+recAddr+`"`) {
			t.Errorf("the gateway did not use the https upstream:\n%s", gw.out.String())
		}
	})
}

func mtlsClient(t testing.TB, c certs.MTLSConfig) *http.Client {
	t.Helper()
	cfg, err := certs.MTLSClientConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
}
