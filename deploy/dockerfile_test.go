package deploy

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const dockerfile = "deploy/docker/Dockerfile"

// stage is one FROM ... AS name section of a Dockerfile.
type stage struct {
	from       string // image or earlier stage
	user       string
	env        map[string]string
	expose     []string
	entrypoint string
	run        string // every RUN, joined
}

// parseDockerfile reads the stages of a Dockerfile, joining continued lines.
func parseDockerfile(t testing.TB, path string) map[string]*stage {
	t.Helper()
	f, err := os.Open(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stages := map[string]*stage{}
	var cur *stage
	var line string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		text := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(text, "#") || (text == "" && line == "") {
			continue
		}
		if cont, ok := strings.CutSuffix(text, `\`); ok {
			line += cont + " "
			continue
		}
		line += text
		instr, rest, _ := strings.Cut(line, " ")
		line = ""
		args := strings.Fields(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			cur = &stage{from: args[0], env: map[string]string{}}
			name := args[0]
			if len(args) == 3 && strings.EqualFold(args[1], "AS") {
				name = args[2]
			}
			stages[name] = cur
		case "USER":
			cur.user = args[0]
		case "ENV":
			for _, kv := range args {
				k, v, _ := strings.Cut(kv, "=")
				cur.env[k] = v
			}
		case "EXPOSE":
			cur.expose = append(cur.expose, args...)
		case "ENTRYPOINT":
			cur.entrypoint = strings.Trim(strings.TrimSpace(rest), `[]"`)
		case "RUN":
			cur.run += rest + "\n"
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return stages
}

// chain returns a target stage and the stages it is built on, target first.
func chain(stages map[string]*stage, target string) []*stage {
	var out []*stage
	for st := stages[target]; st != nil && len(out) < 10; st = stages[st.from] {
		out = append(out, st)
	}
	return out
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, dockerfile)
	build := stages["build"]
	if build == nil || !strings.HasPrefix(build.from, "golang:1.26") {
		t.Fatalf("no build stage FROM golang:1.26: %+v", build)
	}
	if !strings.Contains(build.run, "CGO_ENABLED=0") {
		t.Error("the build stage does not build static binaries (CGO_ENABLED=0)")
	}
	for _, helper := range []string{"./deploy/probe", "./deploy/installkeys"} {
		if !strings.Contains(build.run, helper) {
			t.Errorf("the build stage does not build %s, which compose and deploy/k8s run", helper)
		}
	}
	for _, target := range []struct {
		bin    string
		expose []string
	}{
		{"gateway", []string{gatewayPort, adminPort}},
		{"recommender", []string{recommenderPort}},
		{"devbroker", []string{kafkaPort}},
	} {
		t.Run(target.bin, func(t *testing.T) {
			if !strings.Contains(build.run, "./cmd/"+target.bin) {
				t.Errorf("the build stage does not build ./cmd/%s", target.bin)
			}
			c := chain(stages, target.bin)
			if len(c) == 0 {
				t.Fatalf("no stage %q", target.bin)
			}
			checkRuntimeStage(t, target.bin, c, target.expose)
		})
	}
}

// checkRuntimeStage checks a target's image: minimal base, non-root user,
// its binary as entrypoint, DESIGN.md's ports and only variables the binary
// reads.
func checkRuntimeStage(t *testing.T, bin string, c []*stage, expose []string) {
	t.Helper()
	base := c[len(c)-1].from
	if !strings.HasPrefix(base, "gcr.io/distroless/static") && base != "scratch" {
		t.Errorf("runs on %s, want distroless/static or scratch", base)
	}
	user, env, ports := "", map[string]string{}, []string{}
	for i := len(c) - 1; i >= 0; i-- { // base first, so later stages override
		if c[i].user != "" {
			user = c[i].user
		}
		for k, v := range c[i].env {
			env[k] = v
		}
		ports = append(ports, c[i].expose...)
	}
	if uid, _, _ := strings.Cut(user, ":"); uid != "65532" {
		t.Errorf("USER %q, want 65532 (nonroot)", user)
	}
	if c[0].entrypoint != "/usr/local/bin/"+bin {
		t.Errorf("ENTRYPOINT %q, want /usr/local/bin/%s", c[0].entrypoint, bin)
	}
	slices.Sort(ports)
	slices.Sort(expose)
	if !slices.Equal(ports, expose) {
		t.Errorf("EXPOSE %v, want %v", ports, expose)
	}
	read := envRead(t, bin)
	for name, value := range env {
		if !strings.HasPrefix(name, "REELGUARD_") {
			continue
		}
		if !read[name] {
			t.Errorf("ENV %s: cmd/%s reads no such variable", name, bin)
		}
		if strings.HasPrefix(value, ":") && !slices.Contains(expose, value[1:]) {
			t.Errorf("ENV %s=%s listens on a port the image does not EXPOSE", name, value)
		}
	}
}

// TestDockerignore keeps keys and data out of the build context.
func TestDockerignore(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for _, want := range []string{".git", ".reelguard", "bin", "deploy/secrets", "deploy/k8s/secrets"} {
		if !slices.Contains(lines, want) {
			t.Errorf(".dockerignore does not exclude %s", want)
		}
	}
}
