package e2e

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMakeRunReady runs what `make run` runs (scripts/run.sh; the test
// script has built bin/) on free ports in a fresh data folder, waits for its
// ready line, runs the curl line it prints, and stops the stack with SIGTERM.
func TestMakeRunReady(t *testing.T) {
	data := t.TempDir()
	cmd := exec.Command("bash", "scripts/run.sh")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "REELGUARD_DATA="+data, "REELGUARD_LISTEN="+addr(t),
		"REELGUARD_ADMIN_LISTEN="+addr(t), "REELGUARD_RECOMMENDER_LISTEN="+addr(t),
		"REELGUARD_KAFKA_EMBEDDED_LISTEN="+addr(t))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	go func() { done <- cmd.Wait() }()

	ready := waitReady(t, lines, stderr)
	m := regexp.MustCompile(`curl: (curl .*)$`).FindStringSubmatch(ready)
	if m == nil || !strings.Contains(ready, "token=") || !strings.HasPrefix(ready, "ready: https://") {
		t.Fatalf("ready line %q lacks the URL, token or curl line", ready)
	}
	out, err := exec.Command("bash", "-c", m[1]+" --silent --show-error --fail").Output()
	if err != nil {
		t.Fatalf("the printed curl line failed: %v\n%s", err, m[1])
	}
	if ids := strings.Split(strings.TrimSpace(string(out)), ","); len(ids) != 20 {
		t.Errorf("curl line answered %q, want 20 ids", out)
	}

	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		stopped = true
	case <-time.After(30 * time.Second):
		t.Fatalf("make run's processes did not stop on SIGTERM:\n%s", stderr.String())
	}
}

func waitReady(t *testing.T, lines <-chan string, stderr *syncBuffer) string {
	t.Helper()
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("run.sh ended without a ready line:\n%s", stderr.String())
			}
			if strings.HasPrefix(line, "ready:") {
				return line
			}
		case <-timeout:
			t.Fatalf("no ready line within 2 minutes:\n%s", stderr.String())
		}
	}
}
