package deploy

import (
	"fmt"
	"maps"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// k8sObjects are the manifests kustomization.yaml lists, by kind and name.
type k8sObjects map[string]map[string]map[string]any

func (o k8sObjects) get(t testing.TB, kind, name string) map[string]any {
	t.Helper()
	obj := o[kind][name]
	if obj == nil {
		t.Fatalf("no %s %s in deploy/k8s", kind, name)
	}
	return obj
}

func loadK8s(t testing.TB) (map[string]any, k8sObjects) {
	t.Helper()
	kust := readYAML(t, "deploy/k8s/kustomization.yaml")[0]
	objs := k8sObjects{}
	var listed []string
	for _, r := range l(kust, "resources") {
		listed = append(listed, r.(string))
		for _, doc := range readYAML(t, path.Join("deploy/k8s", r.(string))) {
			kind, name := s(doc, "kind"), s(m(doc, "metadata"), "name")
			if kind == "" || name == "" || s(doc, "apiVersion") == "" {
				t.Errorf("%s: a document without apiVersion, kind or name", r)
			}
			if objs[kind] == nil {
				objs[kind] = map[string]map[string]any{}
			}
			objs[kind][name] = doc
		}
	}
	files, _ := filepath.Glob(filepath.Join(root, "deploy/k8s/*.yaml"))
	for _, f := range files {
		if base := filepath.Base(f); base != "kustomization.yaml" && !slices.Contains(listed, base) {
			t.Errorf("deploy/k8s/%s is not in kustomization.yaml's resources", base)
		}
	}
	return kust, objs
}

// podLabels and containers read a Deployment's pod template.
func podLabels(dep map[string]any) map[string]any {
	return m(dep, "spec", "template", "metadata", "labels")
}

func containers(dep map[string]any) []any {
	spec := m(dep, "spec", "template", "spec")
	return append(slices.Clone(l(spec, "initContainers")), l(spec, "containers")...)
}

// selects reports whether a label selector picks pods with labels.
func selects(selector, labels map[string]any) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestK8sDeployments(t *testing.T) {
	_, objs := loadK8s(t)
	ports := map[string][]string{"gateway": {gatewayPort, adminPort}, "recommender": {recommenderPort}}
	for name, want := range ports {
		t.Run(name, func(t *testing.T) {
			dep := objs.get(t, "Deployment", name)
			if !selects(m(dep, "spec", "selector", "matchLabels"), podLabels(dep)) {
				t.Error("the selector does not match the pod labels")
			}
			checkService(t, objs, objs.get(t, "Service", name), name)
			var got []string
			for _, c := range l(m(dep, "spec", "template", "spec"), "containers") {
				for _, p := range l(c, "ports") {
					got = append(got, s(p, "containerPort"))
				}
			}
			if slices.Sort(got); !slices.Equal(got, want) {
				t.Errorf("container ports %v, want %v (DESIGN.md)", got, want)
			}
			checkPodSecurity(t, dep)
			checkVolumes(t, dep)
		})
	}
}

// checkService: the Service selects this Deployment's pods and no other's,
// and every target port is a named container port.
func checkService(t *testing.T, objs k8sObjects, svc map[string]any, name string) {
	t.Helper()
	for other, dep := range objs["Deployment"] {
		if got := selects(m(svc, "spec", "selector"), podLabels(dep)); got != (other == name) {
			t.Errorf("Service %s selects Deployment %s: %v", name, other, got)
		}
	}
	named := map[string]string{}
	for _, c := range l(m(objs["Deployment"][name], "spec", "template", "spec"), "containers") {
		for _, p := range l(c, "ports") {
			named[s(p, "name")] = s(p, "containerPort")
		}
	}
	for _, p := range l(m(svc, "spec"), "ports") {
		if named[s(p, "targetPort")] != s(p, "port") {
			t.Errorf("Service %s port %s targets %q, no container port of that name and number", name, s(p, "port"), s(p, "targetPort"))
		}
	}
}

// checkVolumes: every mount names a volume of the pod, and every volume is
// mounted.
func checkVolumes(t *testing.T, dep map[string]any) {
	t.Helper()
	volumes, used := map[string]bool{}, map[string]bool{}
	for _, v := range l(m(dep, "spec", "template", "spec"), "volumes") {
		volumes[s(v, "name")] = true
	}
	for _, c := range containers(dep) {
		for _, vm := range l(c, "volumeMounts") {
			used[s(vm, "name")] = true
			if !volumes[s(vm, "name")] {
				t.Errorf("container %s mounts %q, no volume of the pod", s(c, "name"), s(vm, "name"))
			}
		}
	}
	for v := range volumes {
		if !used[v] {
			t.Errorf("volume %s is mounted nowhere", v)
		}
	}
}

// checkPodSecurity: non-root, read-only root, no privilege escalation, no
// capabilities, for every container and init container.
func checkPodSecurity(t *testing.T, dep map[string]any) {
	t.Helper()
	pod := m(dep, "spec", "template", "spec", "securityContext")
	if s(pod, "runAsNonRoot") != "true" || s(pod, "runAsUser") == "0" || s(pod, "runAsUser") == "" {
		t.Errorf("pod securityContext %v: want runAsNonRoot and a non-zero runAsUser", pod)
	}
	for _, c := range containers(dep) {
		sc := m(c, "securityContext")
		if s(sc, "readOnlyRootFilesystem") != "true" || s(sc, "allowPrivilegeEscalation") != "false" ||
			s(sc, "runAsNonRoot") != "true" || !slices.Contains(l(m(sc, "capabilities"), "drop"), any("ALL")) {
			t.Errorf("container %s securityContext %v: want runAsNonRoot, readOnlyRootFilesystem, no escalation, drop ALL", s(c, "name"), sc)
		}
	}
}

// TestK8sVariables: every container sets only variables its binary reads
// (from its image name), taken from the ConfigMap where they name Redis and
// Kafka; the gateway's upstream is the recommender Service.
func TestK8sVariables(t *testing.T) {
	_, objs := loadK8s(t)
	config := m(objs.get(t, "ConfigMap", "reelguard-config"), "data")
	for _, k := range []string{"REELGUARD_REDIS_URL", "REELGUARD_KAFKA_BROKERS"} {
		if s(config, k) == "" {
			t.Errorf("ConfigMap reelguard-config has no %s", k)
		}
	}
	for depName, dep := range objs["Deployment"] {
		for _, c := range containers(dep) {
			bin := strings.TrimPrefix(s(c, "image"), "reelguard/")
			read := envRead(t, bin)
			names := map[string]string{}
			for _, e := range l(c, "env") {
				names[s(e, "name")] = s(e, "value")
				if ref := m(e, "valueFrom", "configMapKeyRef"); ref != nil && (s(ref, "name") != "reelguard-config" || s(config, s(ref, "key")) == "") {
					t.Errorf("%s/%s: %s from a missing ConfigMap key %v", depName, s(c, "name"), s(e, "name"), ref)
				}
			}
			for _, from := range l(c, "envFrom") {
				if s(m(from, "configMapRef"), "name") != "reelguard-config" {
					t.Errorf("%s/%s: envFrom %v is not reelguard-config", depName, s(c, "name"), from)
				}
				for k := range config {
					names[k] = s(config, k)
				}
			}
			for name := range names {
				if !read[name] {
					t.Errorf("%s/%s: sets %s, which cmd/%s does not read", depName, s(c, "name"), name, bin)
				}
			}
			if depName == "gateway" && s(c, "name") == "gateway" {
				checkGatewayEnv(t, objs, names)
			}
		}
	}
}

func checkGatewayEnv(t *testing.T, objs k8sObjects, env map[string]string) {
	t.Helper()
	checkPort(t, "gateway REELGUARD_LISTEN", env["REELGUARD_LISTEN"], gatewayPort)
	checkPort(t, "gateway REELGUARD_ADMIN_LISTEN", env["REELGUARD_ADMIN_LISTEN"], adminPort)
	svc := objs.get(t, "Service", "recommender")
	want := s(m(svc, "metadata"), "name") + ":" + s(l(m(svc, "spec"), "ports")[0], "port")
	if env["REELGUARD_RECOMMENDER_LISTEN"] != want {
		t.Errorf("gateway upstream %q, want the recommender Service %q", env["REELGUARD_RECOMMENDER_LISTEN"], want)
	}
}

// TestK8sSecrets: the secretGenerator takes the files `gateway keys` makes,
// only an installkeys init container mounts them and copies them into the
// data folder the binary reads, and the recommender gets only what it needs.
func TestK8sSecrets(t *testing.T) {
	kust, objs := loadK8s(t)
	generated := map[string][]string{}
	for _, g := range l(kust, "secretGenerator") {
		for _, f := range l(g, "files") {
			file := f.(string)
			if keyFiles[path.Base(file)] == "" || path.Dir(file) != "secrets" {
				t.Errorf("secret %s from %s: want secrets/<a file `gateway keys` makes>", s(g, "name"), file)
			}
			generated[s(g, "name")] = append(generated[s(g, "name")], path.Base(file))
		}
	}
	for depName, dep := range objs["Deployment"] {
		spec := m(dep, "spec", "template", "spec")
		var secret string
		for _, v := range l(spec, "volumes") {
			if sec := m(v, "secret"); sec != nil {
				if secret != "" || generated[s(sec, "secretName")] == nil {
					t.Errorf("%s: secret volume %v: want one, generated by kustomization.yaml", depName, v)
				}
				secret = s(sec, "secretName")
				checkSecretMounts(t, depName, spec, s(v, "name"))
			}
		}
		checkKeySet(t, depName, slices.Clone(generated[secret]))
	}
}

// checkSecretMounts: only an init container running installkeys mounts the
// secret volume, and it installs into the main container's data folder,
// on the same volume.
func checkSecretMounts(t *testing.T, depName string, spec map[string]any, volume string) {
	t.Helper()
	main := l(spec, "containers")[0]
	data := envValue(main, "REELGUARD_DATA")
	dataVolume := ""
	for _, vm := range l(main, "volumeMounts") {
		if s(vm, "mountPath") == data {
			dataVolume = s(vm, "name")
		}
	}
	installers := 0
	for _, c := range containers(map[string]any{"spec": map[string]any{"template": map[string]any{"spec": spec}}}) {
		mounts := map[string]string{} // volume -> path
		for _, vm := range l(c, "volumeMounts") {
			mounts[s(vm, "name")] = s(vm, "mountPath")
		}
		at, ok := mounts[volume]
		if !ok {
			continue
		}
		cmd := fmt.Sprint(l(c, "command"))
		want := fmt.Sprint([]string{"/usr/local/bin/installkeys", at, data})
		isInit := slices.ContainsFunc(l(spec, "initContainers"), func(i any) bool { return s(i, "name") == s(c, "name") })
		if !isInit || cmd != want || mounts[dataVolume] != data {
			t.Errorf("%s: container %s mounts the keys with command %s; only an init container may, running %s on the main container's data volume", depName, s(c, "name"), cmd, want)
		}
		installers++
	}
	if installers != 1 || data == "" {
		t.Errorf("%s: %d containers install the keys into REELGUARD_DATA %q, want one", depName, installers, data)
	}
}

func envValue(c any, name string) string {
	for _, e := range l(c, "env") {
		if s(e, "name") == name {
			return s(e, "value")
		}
	}
	return ""
}

// TestK8sNetworkPolicy: a policy selects the recommender's pods and admits
// only the gateway's pods, only on the recommender's port.
func TestK8sNetworkPolicy(t *testing.T) {
	_, objs := loadK8s(t)
	gw, rec := objs.get(t, "Deployment", "gateway"), objs.get(t, "Deployment", "recommender")
	var found bool
	for name, np := range objs["NetworkPolicy"] {
		spec := m(np, "spec")
		if !selects(m(spec, "podSelector", "matchLabels"), podLabels(rec)) {
			continue
		}
		found = true
		if !slices.Contains(l(spec, "policyTypes"), any("Ingress")) || len(l(spec, "ingress")) == 0 {
			t.Errorf("%s: not an ingress policy with rules", name)
		}
		for _, rule := range l(spec, "ingress") {
			for _, from := range l(rule, "from") {
				peer := m(from)
				sel := m(peer, "podSelector", "matchLabels")
				if len(peer) != 1 || !selects(sel, podLabels(gw)) || selects(sel, podLabels(rec)) {
					t.Errorf("%s admits %v: want the gateway's pods alone", name, peer)
				}
			}
			ports := l(rule, "ports")
			if len(l(rule, "from")) == 0 || len(ports) != 1 || s(ports[0], "port") != recommenderPort {
				t.Errorf("%s: rule %v must name its peers and port %s alone", name, rule, recommenderPort)
			}
		}
	}
	if !found {
		t.Fatal("no NetworkPolicy selects the recommender's pods")
	}
}

// TestK8sScaling: the HPA scales the gateway, and every PDB covers exactly
// one Deployment, the gateway's among them.
func TestK8sScaling(t *testing.T) {
	_, objs := loadK8s(t)
	hpa := objs.get(t, "HorizontalPodAutoscaler", "gateway")
	ref := m(hpa, "spec", "scaleTargetRef")
	if s(ref, "kind") != "Deployment" || objs["Deployment"][s(ref, "name")] == nil || s(ref, "name") != "gateway" {
		t.Errorf("HPA targets %v, want Deployment gateway", ref)
	}
	if min := s(m(hpa, "spec"), "minReplicas"); min == "" || min == "0" || min == "1" {
		t.Errorf("HPA minReplicas %q: want at least 2 for the PDB to allow an eviction", min)
	}
	covered := map[string]bool{}
	for name, pdb := range objs["PodDisruptionBudget"] {
		var hits []string
		for dn, dep := range objs["Deployment"] {
			if selects(m(pdb, "spec", "selector", "matchLabels"), podLabels(dep)) {
				hits = append(hits, dn)
			}
		}
		if len(hits) != 1 {
			t.Errorf("PDB %s covers %v, want one Deployment", name, hits)
		}
		for _, h := range hits {
			covered[h] = true
		}
	}
	if !covered["gateway"] {
		t.Errorf("no PDB covers the gateway (covered: %v)", slices.Sorted(maps.Keys(covered)))
	}
}

// TestK8sMTLS: both Deployments take REELGUARD_RECOMMENDER_TLS from the
// same ConfigMap key, and with it on the recommender's probes present a
// client certificate (an httpGet probe would be refused).
func TestK8sMTLS(t *testing.T) {
	_, objs := loadK8s(t)
	if s(m(objs.get(t, "ConfigMap", "reelguard-config"), "data"), "REELGUARD_RECOMMENDER_TLS") != "true" {
		t.Fatal("ConfigMap reelguard-config does not turn REELGUARD_RECOMMENDER_TLS on")
	}
	gw := l(m(objs.get(t, "Deployment", "gateway"), "spec", "template", "spec"), "containers")[0]
	if s(m(l(gw, "envFrom")[0], "configMapRef"), "name") != "reelguard-config" {
		t.Error("the gateway does not take its environment from reelguard-config")
	}
	rec := l(m(objs.get(t, "Deployment", "recommender"), "spec", "template", "spec"), "containers")[0]
	var fromConfig bool
	for _, e := range l(rec, "env") {
		ref := m(e, "valueFrom", "configMapKeyRef")
		fromConfig = fromConfig || s(e, "name") == "REELGUARD_RECOMMENDER_TLS" && s(ref, "key") == "REELGUARD_RECOMMENDER_TLS"
	}
	if !fromConfig {
		t.Error("the recommender does not take REELGUARD_RECOMMENDER_TLS from reelguard-config")
	}
	for _, probe := range []string{"readinessProbe", "livenessProbe"} {
		cmd := fmt.Sprint(l(m(rec, probe, "exec"), "command"))
		if !strings.Contains(cmd, "-mtls /data/"+internalCADir+" https://127.0.0.1:"+recommenderPort+"/") {
			t.Errorf("recommender %s %s: want probe -mtls /data/%s https://127.0.0.1:%s/...", probe, cmd, internalCADir, recommenderPort)
		}
	}
}
