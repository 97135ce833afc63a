// Package deploy holds Reelguard's deployment files: the Dockerfile
// (deploy/docker), the Kubernetes kustomize base (deploy/k8s), the Grafana
// dashboard (deploy/grafana) and the Prometheus rules (deploy/prometheus);
// compose.yaml sits at the repository root. No Docker engine or cluster runs
// in the tests, so this package's tests parse those files and check that
// images, ports, variable names, secrets and metric names agree with
// DESIGN.md, with the code and with each other.
package deploy
