// Command devbroker runs a development Kafka-protocol broker: franz-go's
// pkg/kfake as its own process, one broker, its log kept in the data folder
// so records survive a restart. Production uses Apache Kafka.
//
//	devbroker [--listen HOST:PORT] [--data DIR] [--partitions N]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

// seedTopics are created on first start, each with a ".rejected" twin.
var seedTopics = []string{"movielog", "recommendations", "security-alerts", "decisions"}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "devbroker:", err)
		os.Exit(1)
	}
}

type config struct {
	listen     string
	dataDir    string
	partitions int
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	listen := os.Getenv("REELGUARD_KAFKA_EMBEDDED_LISTEN")
	if listen == "" {
		listen = "127.0.0.1:9092"
	}
	data := os.Getenv("REELGUARD_DATA")
	if data == "" {
		data = ".reelguard"
	}
	var cfg config
	fs := flag.NewFlagSet("devbroker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.listen, "listen", listen, "host:port to listen on (env REELGUARD_KAFKA_EMBEDDED_LISTEN)")
	fs.StringVar(&cfg.dataDir, "data", filepath.Join(data, "broker"), "broker data folder (default $REELGUARD_DATA/broker)")
	fs.IntVar(&cfg.partitions, "partitions", 3, "partitions of seeded and auto-created topics")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.partitions < 1 || cfg.partitions > 1000 {
		return config{}, fmt.Errorf("--partitions %d: want 1..1000", cfg.partitions)
	}
	return cfg, nil
}

// run starts the broker, prints "devbroker listening on HOST:PORT" once it
// accepts connections, and serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	unlock, err := lockDataDir(cfg.dataDir)
	if err != nil {
		return err
	}
	defer unlock()
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	topics := make([]string, 0, 2*len(seedTopics))
	for _, t := range seedTopics {
		topics = append(topics, t, t+".rejected")
	}
	cluster, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.ListenFn(onceListener(ln)),
		kfake.DataDir(cfg.dataDir),
		kfake.SeedTopics(int32(cfg.partitions), topics...),
		kfake.DefaultNumPartitions(cfg.partitions),
		kfake.AllowAutoTopicCreation(),
		kfake.WithLogger(kfake.BasicLogger(stderr, kfake.LogLevelWarn)),
	)
	if err != nil {
		ln.Close()
		return fmt.Errorf("start broker: %w", err)
	}
	fmt.Fprintf(stdout, "devbroker listening on %s\n", ln.Addr())
	<-ctx.Done()
	cluster.Close() // writes the log and offsets to the data folder
	return nil
}

// onceListener hands kfake the listener we opened on the requested
// address (kfake itself only listens on 127.0.0.1). Its broker count is 1,
// so a second call is a bug.
func onceListener(ln net.Listener) func(network, address string) (net.Listener, error) {
	var used atomic.Bool
	return func(string, string) (net.Listener, error) {
		if used.Swap(true) {
			return nil, errors.New("devbroker serves a single broker")
		}
		return ln, nil
	}
}

// lockDataDir creates dir and takes an exclusive lock on dir/devbroker.pid
// (which then holds our pid), so two brokers never share a data folder;
// kfake itself does not guard its folder. The lock, not the file's
// presence, is what counts, so the file stays behind after exit.
func lockDataDir(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	path := filepath.Join(dir, "devbroker.pid")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data folder: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("data folder %s is in use by another devbroker: %w", dir, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { f.Close() }, nil
}
