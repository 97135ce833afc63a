package recommender_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/reelguard/reelguard/recommender"
)

func publish(tb testing.TB, root string, m *recommender.Model) string {
	tb.Helper()
	priv, _ := testKey(tb)
	parent, err := recommender.Publish(root, m, recommender.SaveOptions{Key: priv})
	if err != nil {
		tb.Fatalf("Publish %s: %v", m.Version(), err)
	}
	return parent
}

func current(tb testing.TB, root string) string {
	tb.Helper()
	v, err := recommender.CurrentVersion(root)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func TestPublishAndRollback(t *testing.T) {
	_, pub := testKey(t)
	root := filepath.Join(t.TempDir(), "model")
	if p := publish(t, root, trainSmall(t)); p != "" {
		t.Errorf("first version's parent = %q", p)
	}
	if p := publish(t, root, trainALS(t, "als-2")); p != "pop-1" {
		t.Errorf("second version's parent = %q, want pop-1", p)
	}
	m, err := recommender.LoadVerified(root, pub)
	if err != nil || m.Version() != "als-2" || m.Meta().Parent != "pop-1" || m.Meta().Kind != recommender.KindALS {
		t.Fatalf("Load(root) = %+v, %v; want als-2 with parent pop-1", m, err)
	}
	from, to, err := recommender.Rollback(root, pub)
	if err != nil || from != "als-2" || to != "pop-1" || current(t, root) != "pop-1" {
		t.Fatalf("Rollback = %q, %q, %v; current %q", from, to, err, current(t, root))
	}
	if m, err := recommender.LoadVerified(root, pub); err != nil || m.Version() != "pop-1" {
		t.Fatalf("Load after rollback = %v, %v", m, err)
	}
	if _, _, err := recommender.Rollback(root, pub); !errors.Is(err, recommender.ErrNoParent) {
		t.Fatalf("second Rollback = %v, want ErrNoParent", err)
	}
	versions, err := recommender.Versions(root, pub)
	byName := map[string]recommender.VersionInfo{}
	for _, v := range versions {
		byName[v.Version] = v
	}
	if err != nil || len(versions) != 2 || !byName["pop-1"].Current || byName["als-2"].Current || byName["als-2"].Parent != "pop-1" {
		t.Fatalf("Versions = %+v, %v", versions, err)
	}
	if _, err := recommender.Publish(root, trainSmall(t), recommender.SaveOptions{Key: ed25519Key(t)}); !errors.Is(err, recommender.ErrVersionExists) {
		t.Fatalf("Publish of an existing version = %v, want ErrVersionExists", err)
	}
}

func ed25519Key(tb testing.TB) []byte {
	tb.Helper()
	priv, _ := testKey(tb)
	return priv
}

func TestRollbackVerifiesParent(t *testing.T) {
	_, pub := testKey(t)
	tests := []struct {
		name   string
		tamper func(tb testing.TB, root string)
		want   error
	}{
		{"parent data flipped", func(tb testing.TB, root string) {
			flipByte(tb, filepath.Join(root, "versions", "pop-1", recommender.SeenFile), func(n int) int { return n - 1 })
		}, recommender.ErrBadArtifact},
		{"parent unsigned", func(tb testing.TB, root string) {
			os.Remove(filepath.Join(root, "versions", "pop-1", recommender.SignatureFile))
		}, recommender.ErrBadSignature},
		{"parent replaced by another version", func(tb testing.TB, root string) {
			os.RemoveAll(filepath.Join(root, "versions", "pop-1"))
			if err := os.Rename(filepath.Join(root, "versions", "pop-0"), filepath.Join(root, "versions", "pop-1")); err != nil {
				tb.Fatal(err)
			}
		}, recommender.ErrBadArtifact},
		{"current's parent field forged", func(tb testing.TB, root string) {
			flipByte(tb, filepath.Join(root, "versions", "pop-2", recommender.MetadataFile), func(n int) int { return n / 2 })
		}, recommender.ErrBadSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			publish(t, root, recommender.TrainPopularity(nil, "pop-0"))
			publish(t, root, trainSmall(t)) // pop-1
			publish(t, root, recommender.TrainPopularity(nil, "pop-2"))
			tc.tamper(t, root)
			if _, _, err := recommender.Rollback(root, pub); !errors.Is(err, tc.want) {
				t.Fatalf("Rollback = %v, want %v", err, tc.want)
			}
			if v := current(t, root); v != "pop-2" {
				t.Fatalf("current = %s after a refused rollback, want pop-2", v)
			}
		})
	}
}

func TestCurrentLinkChecked(t *testing.T) {
	_, pub := testKey(t)
	tests := []struct{ name, target string }{
		{"outside the root", "../elsewhere"},
		{"absolute", "/tmp"},
		{"not under versions", "pop-1"},
		{"hidden temp folder", "versions/.publish-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			publish(t, root, trainSmall(t))
			link := filepath.Join(root, recommender.CurrentLink)
			os.Remove(link)
			if err := os.Symlink(tc.target, link); err != nil {
				t.Fatal(err)
			}
			if _, err := recommender.LoadVerified(root, pub); !errors.Is(err, recommender.ErrBadArtifact) {
				t.Fatalf("Load = %v, want ErrBadArtifact", err)
			}
		})
	}
	t.Run("version folder renamed", func(t *testing.T) {
		root := t.TempDir()
		publish(t, root, trainSmall(t))
		vs := filepath.Join(root, recommender.VersionsDir)
		if err := os.Rename(filepath.Join(vs, "pop-1"), filepath.Join(vs, "pop-9")); err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(root, recommender.CurrentLink))
		if err := os.Symlink("versions/pop-9", filepath.Join(root, recommender.CurrentLink)); err != nil {
			t.Fatal(err)
		}
		if _, err := recommender.LoadVerified(root, pub); !errors.Is(err, recommender.ErrBadArtifact) {
			t.Fatalf("Load = %v, want ErrBadArtifact", err)
		}
	})
	t.Run("bad version name", func(t *testing.T) {
		if _, err := recommender.Publish(t.TempDir(), recommender.TrainPopularity(nil, "../x"), recommender.SaveOptions{Key: ed25519Key(t)}); err == nil {
			t.Fatal("published a version named ../x")
		}
	})
}
