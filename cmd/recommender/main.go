// Command recommender trains, queries and serves Reelguard's movie
// recommendation models. Subcommands: gen, train, eval, recommend, serve.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() { os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// errUsage marks a command line mistake: exit 2 rather than 1.
var errUsage = errors.New("usage")

const usage = `usage: recommender <command> [flags]

commands:
  gen        write synthetic course log lines
  train      train a model from MovieLens ratings or course log lines
  recommend  print recommendations for user ids read from stdin
  eval       compare algorithms on a per-user held-out split (MAP, nDCG, P, R, coverage)
  serve      serve GET /recommend/{userid}
  rollback   point a model root's current version back at its parent
  promote    point a model root's current version at a verified candidate, if the monitor agrees
  report     write a fairness, diversity and lineage report (HTML, or JSON with --json)
  monitor    export online quality from recommendations and movielog as Prometheus metrics

Run "recommender <command> -h" for a command's flags.
`

// Main runs the command line args (without the program name) and returns the
// process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "gen":
		err = runGen(args[1:], stdout, stderr)
	case "train":
		err = runTrain(args[1:], stdout, stderr)
	case "eval":
		err = runEval(args[1:], stdout, stderr)
	case "recommend":
		err = runRecommend(args[1:], stdin, stdout, stderr)
	case "serve":
		err = runServe(args[1:], stderr)
	case "rollback":
		err = runRollback(args[1:], stdout, stderr)
	case "promote":
		err = runPromote(args[1:], stdout, stderr)
	case "report":
		err = runReport(args[1:], stdout, stderr)
	case "monitor":
		err = runMonitor(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "recommender: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
	return exitCode(err, stderr)
}

func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "recommender: %v\n", err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "recommender: %v\n", err)
		return exitFail
	}
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("recommender "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args and refuses positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %s: %w", errUsage, fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: %s: unexpected argument %q", errUsage, fs.Name(), fs.Arg(0))
	}
	return nil
}

// required returns a usage error when a mandatory flag is empty.
func required(fs *flag.FlagSet, name, value string) error {
	if value == "" {
		return fmt.Errorf("%w: %s: --%s is required", errUsage, fs.Name(), name)
	}
	return nil
}
