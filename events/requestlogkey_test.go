package events

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestRequestLogKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if _, err := EnsureKeys(dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, RequestLogKeyFile)
	assertMode(t, path, 0o600)
	before, _ := os.ReadFile(path)
	if _, err := EnsureKeys(dir); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatal("a second EnsureKeys replaced the request-log key")
	}
	s, err := LoadRequestLogSigner(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.VerifyKey().Alg != AlgHS256 {
		t.Fatalf("request-log key alg %q, want %s", s.VerifyKey().Alg, AlgHS256)
	}
	public, _ := os.ReadFile(filepath.Join(dir, KeysetFile))
	if secret := s.VerifyKey().Key; len(secret) < 20 || strings.Contains(string(public), secret) {
		t.Fatal("the public keyset file holds the request-log secret")
	}
	ks, err := LoadVerifyKeyset(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := &kgo.Record{Topic: RequestLogTopic, Key: []byte("42"), Value: []byte("a line")}
	if err := s.Sign(r, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := NewVerifier(ks, 0).Verify(r); err != nil {
		t.Fatalf("LoadVerifyKeyset does not verify the request log: %v", err)
	}
	if onlyPublic, err := LoadKeyset(filepath.Join(dir, KeysetFile)); err != nil {
		t.Fatal(err)
	} else if err := NewVerifier(onlyPublic, 0).Verify(r); err == nil {
		t.Fatal("the public keyset verified an HMAC record it holds no secret for")
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRequestLogSigner(dir); err == nil {
		t.Fatal("a group-readable request-log key was accepted")
	}
	if _, err := LoadVerifyKeyset(dir); err == nil {
		t.Fatal("LoadVerifyKeyset accepted a group-readable request-log key")
	}
}

func TestLoadVerifyKeysetWithoutRequestLogKey(t *testing.T) {
	dir := t.TempDir()
	if _, err := EnsureKeys(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, RequestLogKeyFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadVerifyKeyset(dir); err != nil {
		t.Fatalf("a data folder from before the request-log key: %v", err)
	}
}

func TestProducerTopicSigners(t *testing.T) {
	for _, bc := range testBrokerCases(t) {
		t.Run(bc.name, func(t *testing.T) {
			const n = 40
			plain, fast := uniqueTopic(t), uniqueTopic(t)
			createTopics(t, bc.brokers, nil, plain, fast)
			ed, hm := newTestSigner(t, AlgEdDSA), newTestSigner(t, AlgHS256)
			p := newTestProducer(t, ProducerConfig{Brokers: bc.brokers, Signer: ed, SpoolDir: t.TempDir(),
				TopicSigners: map[string]*Signer{fast: hm}})
			for i := range n {
				key, value := []byte(strconv.Itoa(i)), []byte("value "+strconv.Itoa(i))
				for _, topic := range []string{plain, fast} {
					if err := p.Append(context.Background(), topic, key, value); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			checkSigned(t, bc.brokers, plain, ed, n)
			checkSigned(t, bc.brokers, fast, hm, n)
		})
	}
	if _, err := NewProducer(ProducerConfig{Brokers: []string{"127.0.0.1:1"}, Signer: newTestSigner(t, AlgEdDSA),
		TopicSigners: map[string]*Signer{"x": nil}}); err == nil {
		t.Fatal("a nil topic signer was accepted")
	}
}

// TestProducerCarriesHeaders: headers given to Send and AppendBatch reach
// the broker beside a verifying envelope, and one claiming an envelope
// name is dropped rather than sent.
func TestProducerCarriesHeaders(t *testing.T) {
	brokers := testBrokerCases(t)[0].brokers
	topic := uniqueTopic(t)
	createTopics(t, brokers, nil, topic)
	s := newTestSigner(t, AlgHS256)
	p := newTestProducer(t, ProducerConfig{Brokers: brokers, Signer: s, SpoolDir: t.TempDir()})
	if !p.Send(topic, []byte("0"), []byte("value 0"), Header{"model", "als-1"}, Header{HeaderSig, "forged"}) {
		t.Fatal("Send dropped")
	}
	if err := p.AppendBatch(context.Background(), []Record{{Topic: topic, Key: []byte("1"), Value: []byte("value 1"),
		Headers: []Header{{"model", "als-2"}}}}); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	records := consume(t, brokers, topic, 2)
	v := newTestVerifier(t, s.VerifyKey())
	for _, r := range records {
		if err := v.Verify(r); err != nil {
			t.Fatalf("record %s: %v", r.Key, err)
		}
		if want := "als-" + string([]byte{r.Key[0] + 1}); header(r, "model") != want {
			t.Errorf("record %s: model header %q, want %q", r.Key, header(r, "model"), want)
		}
		sigs := 0
		for _, h := range r.Headers {
			if h.Key == HeaderSig {
				sigs++
			}
		}
		if sigs != 1 {
			t.Errorf("record %s carries %d sig headers, want only the envelope's", r.Key, sigs)
		}
	}
}
