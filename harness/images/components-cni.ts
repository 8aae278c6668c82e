/**
 * `cif-net`: the pod network of our kind clusters — a documented stand-in for kindnetd.
 *
 * Why not kindnetd: kind ≥ v0.24 no longer carries its source (it moved to github.com/aojea/kindnet), and
 * neither github.com/aojea/kindnet nor sigs.k8s.io/kind/images/kindnetd is served by the Go module proxy
 * (checked with `go list -m -versions`), and no container registry is reachable. What kindnetd does for a
 * single-stack kind cluster is small, and this daemon does the same with the same plugins:
 *   1. write /etc/cni/net.d/10-cif-net.conflist for this node's spec.podCIDR: `ptp` + `host-local` IPAM +
 *      `portmap` (from Debian's containernetworking-plugins on the node) — the node turns Ready once it exists;
 *   2. route every other node's podCIDR via that node's InternalIP (all nodes share the docker network, so
 *      plain routes give cross-node pod networking, as kindnetd does);
 *   3. masquerade traffic from the pod subnet to anything outside it (the docker network, the registry).
 * It talks to the API server at CONTROL_PLANE_ENDPOINT, which kind patches into the manifest (the "would you
 * kindly patch this file" marker) so it doesn't wait for kube-proxy, exactly as kind does for kindnetd.
 */

export const CNI_IMAGE_REPO = 'localhost/cif/cif-net';

export const CNI_DAEMON_SCRIPT = `#!/bin/bash
# cif-net: per-node CNI config, routes to the other nodes' pod CIDRs, masquerade out of the pod subnet.
set -o errexit -o nounset -o pipefail
: "\${NODE_NAME:?}" "\${POD_SUBNET:?}"
SA=/var/run/secrets/kubernetes.io/serviceaccount
SERVER="https://\${CONTROL_PLANE_ENDPOINT:-\${KUBERNETES_SERVICE_HOST}:\${KUBERNETES_SERVICE_PORT}}"
CONF=/etc/cni/net.d/10-cif-net.conflist
INTERVAL="\${CIF_NET_INTERVAL:-5}"

k() { kubectl --server="$SERVER" --token="$(cat "$SA/token")" --certificate-authority="$SA/ca.crt" --request-timeout=10s "$@"; }
log() { echo "cif-net: $*" >&2; }

# The node's iptables flavour (legacy or nft) is whichever already holds rules, as the node entrypoint decides.
legacy=$(iptables-legacy-save 2>/dev/null | grep -c '^-' || true)
nft=$(iptables-nft-save 2>/dev/null | grep -c '^-' || true)
if [ "\${legacy:-0}" -gt "\${nft:-0}" ]; then mode=legacy; else mode=nft; fi
update-alternatives --set iptables "/usr/sbin/iptables-$mode" >/dev/null
log "iptables mode $mode"

rule=(-s "$POD_SUBNET" ! -d "$POD_SUBNET" -m comment --comment cif-net -j MASQUERADE)
iptables -t nat -C POSTROUTING "\${rule[@]}" 2>/dev/null || iptables -t nat -A POSTROUTING "\${rule[@]}"

write_conf() {
  local tmp
  tmp=$(mktemp /etc/cni/net.d/.cif-net.XXXXXX)
  cat >"$tmp" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "cif-net",
  "plugins": [
    {
      "type": "ptp",
      "ipMasq": false,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$1" }]], "routes": [{ "dst": "0.0.0.0/0" }] }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
  chmod 644 "$tmp"
  mv "$tmp" "$CONF"
  log "wrote $CONF for $1"
}

current=""
while true; do
  if nodes=$(k get nodes -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.spec.podCIDR}{" "}{.status.addresses[?(@.type=="InternalIP")].address}{"\\n"}{end}'); then
    while read -r name cidr ip; do
      [ -n "$name" ] && [ -n "\${cidr:-}" ] || continue
      if [ "$name" = "$NODE_NAME" ]; then
        if [ "$cidr" != "$current" ] || [ ! -f "$CONF" ]; then write_conf "$cidr"; current=$cidr; fi
      elif [ -n "\${ip:-}" ]; then
        ip route replace "$cidr" via "$ip" || log "route $cidr via $ip failed"
      fi
    done <<<"$nodes"
  else
    log "API server not reachable yet at $SERVER"
  fi
  sleep "$INTERVAL"
done
`;

/** The manifest kind applies from /kind/manifests/default-cni.yaml (kind templates PodSubnet, patches env). */
export function cniManifest(image: string): string {
  return `# cif-net networking manifest (see harness/images/components-cni.ts)
# would you kindly template this file
# would you kindly patch this file
---
kind: ClusterRole
apiVersion: rbac.authorization.k8s.io/v1
metadata:
  name: cif-net
rules:
  - apiGroups: [""]
    resources: [nodes]
    verbs: [get, list, watch]
---
kind: ClusterRoleBinding
apiVersion: rbac.authorization.k8s.io/v1
metadata:
  name: cif-net
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cif-net
subjects:
- kind: ServiceAccount
  name: cif-net
  namespace: kube-system
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: cif-net
  namespace: kube-system
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: cif-net
  namespace: kube-system
  labels:
    app: cif-net
    k8s-app: cif-net
spec:
  selector:
    matchLabels:
      app: cif-net
  template:
    metadata:
      labels:
        app: cif-net
        k8s-app: cif-net
    spec:
      hostNetwork: true
      nodeSelector:
        kubernetes.io/os: linux
      tolerations:
      - operator: Exists
      priorityClassName: system-node-critical
      serviceAccountName: cif-net
      containers:
      - name: cif-net
        image: ${image}
        imagePullPolicy: IfNotPresent
        env:
        - name: NODE_NAME
          valueFrom:
            fieldRef:
              fieldPath: spec.nodeName
        - name: POD_SUBNET
          value: {{ .PodSubnet }}
        securityContext:
          privileged: true
        volumeMounts:
        - name: cni-cfg
          mountPath: /etc/cni/net.d
        - name: xtables-lock
          mountPath: /run/xtables.lock
        - name: lib-modules
          mountPath: /lib/modules
          readOnly: true
        resources:
          requests:
            cpu: "10m"
            memory: "20Mi"
      volumes:
      - name: cni-cfg
        hostPath:
          path: /etc/cni/net.d
          type: DirectoryOrCreate
      - name: xtables-lock
        hostPath:
          path: /run/xtables.lock
          type: FileOrCreate
      - name: lib-modules
        hostPath:
          path: /lib/modules
`;
}
