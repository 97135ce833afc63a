// Package e2e runs Reelguard as its users do: the built binaries as separate
// processes, a real redis-server and a Kafka-protocol broker over TCP, and
// kcat as an outside client. `make test` provides Redis and the broker
// (REELGUARD_TEST_REDIS_URL, REELGUARD_TEST_KAFKA_BROKERS) and the binaries
// (REELGUARD_TEST_BIN); run alone, the tests build and start their own.
package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"testing"
)

var (
	binDir   string
	redisURL string
	brokers  string
)

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e setup:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	var stops []func()
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	binDir = os.Getenv("REELGUARD_TEST_BIN")
	if binDir == "" {
		abs, _ := filepath.Abs("../bin")
		binDir = abs
		build := exec.Command("go", "build", "-o", binDir+"/", "../cmd/gateway", "../cmd/recommender", "../cmd/devbroker")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			return 0, fmt.Errorf("build binaries: %w", err)
		}
	}
	tmp, err := os.MkdirTemp("", "reelguard-e2e-")
	if err != nil {
		return 0, err
	}
	stops = append(stops, func() { os.RemoveAll(tmp) })
	if redisURL = os.Getenv("REELGUARD_TEST_REDIS_URL"); redisURL == "" {
		port, err := freePort()
		if err != nil {
			return 0, err
		}
		stop, err := startDaemon(tmp, "redis.log", "Ready to accept connections", "redis-server",
			"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tmp)
		if err != nil {
			return 0, fmt.Errorf("redis-server (run `make test` to install it): %w", err)
		}
		stops = append(stops, stop)
		redisURL = "redis://127.0.0.1:" + port + "/0"
	}
	if brokers = os.Getenv("REELGUARD_TEST_KAFKA_BROKERS"); brokers == "" {
		stop, err := startDaemon(tmp, "devbroker.log", "devbroker listening on ", filepath.Join(binDir, "devbroker"),
			"--listen", "127.0.0.1:0", "--data", filepath.Join(tmp, "broker"))
		if err != nil {
			return 0, err
		}
		stops = append(stops, stop)
		b, _ := os.ReadFile(filepath.Join(tmp, "devbroker.log"))
		brokers = strings.TrimSpace(strings.TrimPrefix(firstLineWith(string(b), "devbroker listening on "), "devbroker listening on "))
	}
	return m.Run(), nil
}

// startDaemon starts a server for the whole test binary and waits for its
// ready line in the log.
func startDaemon(dir, logName, ready, name string, args ...string) (stop func(), err error) {
	logPath := filepath.Join(dir, logName)
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop = func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait(); f.Close() }
	for range 300 {
		b, _ := os.ReadFile(logPath)
		if firstLineWith(string(b), ready) != "" {
			return stop, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	return nil, fmt.Errorf("%s printed no %q", name, ready)
}

func firstLineWith(text, prefix string) string {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if strings.Contains(sc.Text(), prefix) {
			return sc.Text()
		}
	}
	return ""
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port, nil
}
