// Command gateway runs Reelguard's HTTPS gateway and its operator tools:
// serve, keys, token and policy.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	tuneGC(os.Getenv)
	os.Exit(Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

const usage = `usage: gateway <command> [flags]

commands:
  serve   [--config FILE] [flags]      run the gateway
  keys    [--data DIR]                 make the JWT and event-signing keys, the dev CA and the internal mTLS CA
  token   --sub ID --role ROLE [--ttl 1h] [--data DIR]
                                       mint a dev JWT and print it
  policy  check DIR [--data DIR]       run the policy edit gate on DIR, replaying recorded decisions
  policy  diff DIR [--data DIR]        the same, listing the recorded decisions DIR would change
`

// errUsage marks a command line that makes no sense; Main exits 2 for it.
var errUsage = errors.New("usage")

// Main runs one command and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		err = serve(ctx, rest, stderr, getenv)
	case "keys":
		err = keys(rest, stderr, getenv)
	case "token":
		err = token(rest, stdout, stderr, getenv)
	case "policy":
		err = policyCmd(ctx, rest, stdout, stderr, getenv)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "gateway: unknown command %q\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "gateway: %v\n", err)
		}
		return 2
	default:
		fmt.Fprintf(stderr, "gateway: %v\n", err)
		return 1
	}
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("gateway "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses args and refuses stray positional arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}
