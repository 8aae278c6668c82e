/**
 * The files of our kind node base image, written from kind's documented node contract (a systemd "machine"
 * in a privileged container, /kind/version, /kind/manifests/*, containerd's CRI socket at
 * /run/containerd/containerd.sock, kubelet run by systemd with kubeadm's drop-in, the cgroup root /kubelet)
 * and from reading kind's sources in the module cache — none of kind's files are copied.
 *
 * Kept as data (path → content) so the recipe stays declarative and tests can check what matters (the
 * containerd settings this project depends on).
 */
import { pins } from '../pins.ts';

export const ENTRYPOINT = `#!/bin/bash
# cif node entrypoint: make a privileged container a machine systemd and kubelet can run in, then exec init.
# Runs once per container start, before systemd (PID 1 after the exec).
set -o errexit -o nounset -o pipefail
info() { echo "cif-node: $*" >&2; }
warn() { echo "cif-node: WARNING: $*" >&2; }

# --- containerd: restrict_oom_score_adj when CAP_SYS_RESOURCE is missing --------------------------------------
# Without CAP_SYS_RESOURCE (these hosts drop it from the bounding set) a container can't lower its
# oom_score_adj; containerd then fails every pod unless it clamps the requested value to the current one.
capbnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
if (( (16#\${capbnd} >> 24) & 1 )); then
  info "CAP_SYS_RESOURCE present: restrict_oom_score_adj = false"
else
  info "CAP_SYS_RESOURCE missing: restrict_oom_score_adj = true"
  sed -i 's/^\\(\\s*\\)restrict_oom_score_adj = false/\\1restrict_oom_score_adj = true/' /etc/containerd/config.toml
fi

# --- mounts -------------------------------------------------------------------------------------------------
# /sys read-only like a real container runtime would give nested containers; rshared / for kubelet's
# mount propagation (Bidirectional/HostToContainer volumes, CSI) .
mount -o remount,ro /sys || warn "could not remount /sys read-only"
mount --make-rshared /

# --- /dev/kmsg: kubelet's OOM watcher reads it; some runtimes don't expose it ----------------------------------
if [[ ! -e /dev/kmsg ]]; then
  info "no /dev/kmsg: linking it to /dev/console"
  ln -s /dev/console /dev/kmsg
fi

# --- cgroups ----------------------------------------------------------------------------------------------------
if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
  # v2: /kubelet needs controllers enabled in subtree_control, which only works once systemd has moved us
  # out of the root cgroup — kubelet's ExecStartPre does it (/kind/bin/cif-kubelet-cgroups).
  info "cgroup v2"
else
  info "cgroup v1"
  own=$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ {print $3}' /proc/self/cgroup)
  if [[ "$own" != "/" ]]; then
    warn "no private cgroup namespace (cpu cgroup is $own); kind runs nodes with --cgroupns=private"
  fi
  # The v1 misc controller isn't understood by every runc nesting level; hide it from systemd here and
  # give /proc/cgroups back before containerd/kubelet start (cif-undo-mounts.service).
  if [[ -d /sys/fs/cgroup/misc ]]; then
    info "hiding the v1 misc controller"
    umount /sys/fs/cgroup/misc || warn "umount misc failed"
    rmdir /sys/fs/cgroup/misc || true
    grep -v misc /proc/cgroups >/kind/cgroups-without-misc
    mount --bind /kind/cgroups-without-misc /proc/cgroups
  fi
  mount --make-rprivate /sys/fs/cgroup
  # kubelet runs pods under the cgroup root /kubelet (kubelet.slice with the systemd driver). Create it in
  # every hierarchy and bind-mount it onto itself so systemd can't remove it before kubelet starts.
  for hier in $(findmnt -lun -t cgroup -o target); do
    for root in kubelet kubelet.slice; do
      mkdir -p "$hier/$root"
      if [[ "$hier" == */cpuset ]]; then
        cat "$hier/cpuset.cpus" >"$hier/$root/cpuset.cpus"
        cat "$hier/cpuset.mems" >"$hier/$root/cpuset.mems"
      fi
      findmnt "$hier/$root" >/dev/null || mount --bind "$hier/$root" "$hier/$root"
    done
  done
fi

# --- identity: each node its own machine-id and product_uuid ------------------------------------------------------
rm -f /etc/machine-id
systemd-machine-id-setup >/dev/null
[[ -f /kind/product_uuid ]] || cat /proc/sys/kernel/random/uuid >/kind/product_uuid
for f in /sys/class/dmi/id/product_uuid /sys/devices/virtual/dmi/id/product_uuid; do
  [[ -f "$f" ]] && mount -o ro,bind /kind/product_uuid "$f" || true
done

# --- iptables: use the flavour (legacy/nft) that already holds docker's rules --------------------------------------
legacy=$( (iptables-legacy-save; ip6tables-legacy-save) 2>/dev/null | grep -c '^-' || true)
nft=$( (timeout 5 sh -c 'iptables-nft-save; ip6tables-nft-save') 2>/dev/null | grep -c '^-' || true)
mode=nft; (( \${legacy:-0} > \${nft:-0} )) && mode=legacy
info "iptables mode: $mode"
update-alternatives --set iptables "/usr/sbin/iptables-$mode" >/dev/null
update-alternatives --set ip6tables "/usr/sbin/ip6tables-$mode" >/dev/null

# --- DNS: docker's embedded DNS (127.0.0.11) is unreachable from pods; point at the network gateway instead ---------
dns=127.0.0.11
if grep -q "nameserver $dns" /etc/resolv.conf; then
  gw=$(ip -4 route show default | awk '{print $3; exit}')
  if [[ -n "$gw" ]]; then
    info "docker DNS via $gw"
    # docker NATs 127.0.0.11:53 to its resolver's real port; apply the same rules for $gw, also to pod traffic
    # (PREROUTING), and SNAT replies from $gw.
    iptables-save |
      sed -e "s/-d $dns/-d $gw/g" \\
          -e 's/^-A OUTPUT \\(.*\\) -j DOCKER_OUTPUT$/&\\n-A PREROUTING \\1 -j DOCKER_OUTPUT/' \\
          -e "s/--to-source :53/--to-source $gw:53/g" |
      iptables-restore
    cp /etc/resolv.conf /etc/resolv.conf.docker
    sed -e "s/$dns/$gw/g" /etc/resolv.conf.docker >/etc/resolv.conf
  fi
fi

info "starting $*"
exec "$@"
`;

/** v2 only: controllers for /kubelet and /kubelet.slice, once systemd has emptied the root cgroup. */
export const KUBELET_CGROUPS = `#!/bin/sh
# cif: prepare kubelet's cgroup root (ExecStartPre of kubelet.service).
set -eu
if [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then
  # v1: the entrypoint created /kubelet in every hierarchy; name=systemd may appear after it (late mount).
  mkdir -p /sys/fs/cgroup/systemd/kubelet /sys/fs/cgroup/systemd/kubelet.slice 2>/dev/null || true
  exit 0
fi
enable() {
  ctrls=$(sed -e 's/\\([^ ][^ ]*\\)/+\\1/g' "/sys/fs/cgroup/$1/cgroup.controllers")
  [ -z "$ctrls" ] || echo "$ctrls" >"/sys/fs/cgroup/$1/cgroup.subtree_control"
}
enable .
for g in kubelet kubelet.slice; do
  mkdir -p "/sys/fs/cgroup/$g"
  enable "$g"
done
`;

export const UNDO_MOUNTS = `#!/bin/sh
# cif: give /proc/cgroups back (the entrypoint hid the v1 misc controller from systemd only).
if [ ! -f /sys/fs/cgroup/cgroup.controllers ] && findmnt /proc/cgroups >/dev/null 2>&1; then
  umount /proc/cgroups
fi
exit 0
`;

/**
 * containerd 1.6 CRI config. `config_path` makes containerd read /etc/containerd/certs.d/<host>/hosts.toml
 * (the registry helper writes those); restrict_oom_score_adj is flipped by the entrypoint when needed.
 */
export const CONTAINERD_CONFIG = `# cif node: containerd ${'1.6'} (Debian ${pins.debianSuite}) for the CRI
version = 2

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:${pins.pause}"
  # kind nodes may lack the hugetlb controller
  tolerate_missing_hugepages_controller = true
  # set to true by the entrypoint when CAP_SYS_RESOURCE is missing
  restrict_oom_score_adj = false

[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  # kubelet uses the systemd cgroup driver (kind's kubeadm config)
  SystemdCgroup = true

[plugins."io.containerd.grpc.v1.cri".cni]
  # Debian's containernetworking-plugins install here
  bin_dir = "/usr/lib/cni"
  conf_dir = "/etc/cni/net.d"

[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "/etc/containerd/certs.d"
`;

const KUBELET_SERVICE = `[Unit]
Description=kubelet (cif kind node)
# kubeadm writes the config and then (re)starts kubelet; before that there is nothing to run
ConditionPathExists=/var/lib/kubelet/config.yaml
After=containerd.service

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=1s
CPUAccounting=true
MemoryAccounting=true
Slice=kubelet.slice
KillMode=process

[Install]
WantedBy=multi-user.target
`;

/** kubeadm's contract with the kubelet unit: the env files and flag variables `kubeadm init/join` fill in. */
const KUBEADM_DROPIN = `[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`;

const CIF_DROPIN = `[Service]
ExecStartPre=/kind/bin/cif-kubelet-cgroups
`;

const KUBELET_SLICE = `[Unit]
Description=kubelet and the pods it runs
Before=slices.target

[Slice]
CPUAccounting=true
MemoryAccounting=true
`;

const UNDO_MOUNTS_SERVICE = `[Unit]
Description=cif: undo entrypoint mount tricks
After=slices.target
Before=containerd.service kubelet.service

[Service]
Type=oneshot
ExecStart=/kind/bin/cif-undo-mounts

[Install]
WantedBy=multi-user.target
`;

const SYSCTL = `# cif node
# pods reach docker's DNS through a DNAT to 127.0.0.11 (see the entrypoint): allow routing to loopback
net.ipv4.conf.all.route_localnet=1
# the ptp CNI plugin gives pods /32 addresses; strict arp_ignore breaks them
net.ipv4.conf.all.arp_ignore=0
net.ipv4.ip_forward=1
`;

/** Everything COPYed into the node base image: path in the image → content and mode. */
export const NODE_FILES: Record<string, { content: string; mode: number }> = {
  'usr/local/bin/entrypoint': { content: ENTRYPOINT, mode: 0o755 },
  'kind/bin/cif-kubelet-cgroups': { content: KUBELET_CGROUPS, mode: 0o755 },
  'kind/bin/cif-undo-mounts': { content: UNDO_MOUNTS, mode: 0o755 },
  'etc/containerd/config.toml': { content: CONTAINERD_CONFIG, mode: 0o644 },
  'etc/crictl.yaml': { content: 'runtime-endpoint: unix:///run/containerd/containerd.sock\nimage-endpoint: unix:///run/containerd/containerd.sock\n', mode: 0o644 },
  'etc/default/kubelet': { content: 'KUBELET_EXTRA_ARGS=--runtime-cgroups=/system.slice/containerd.service\n', mode: 0o644 },
  'etc/sysctl.d/10-cif-node.conf': { content: SYSCTL, mode: 0o644 },
  'etc/systemd/system/kubelet.service': { content: KUBELET_SERVICE, mode: 0o644 },
  'etc/systemd/system/kubelet.service.d/10-kubeadm.conf': { content: KUBEADM_DROPIN, mode: 0o644 },
  'etc/systemd/system/kubelet.service.d/11-cif.conf': { content: CIF_DROPIN, mode: 0o644 },
  'etc/systemd/system/kubelet.slice': { content: KUBELET_SLICE, mode: 0o644 },
  'etc/systemd/system/cif-undo-mounts.service': { content: UNDO_MOUNTS_SERVICE, mode: 0o644 },
};

/**
 * The Dockerfile of the node base image: the Debian node rootfs, our files, a systemd trimmed to what a
 * container machine needs (no udev/getty/tmpfiles wiping /tmp, no kmsg reading), containerd + kubelet on.
 */
export function nodeBaseDockerfile(rootfsRef: string, labels: string): string {
  return `FROM ${rootfsRef}
${labels}
COPY files/ /
COPY crictl /usr/local/bin/crictl
RUN chmod 755 /usr/local/bin/entrypoint /kind/bin/* /usr/local/bin/crictl \\
 && find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete \\
 && rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \\
          /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \\
          /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/* \\
 && echo ReadKMsg=no >> /etc/systemd/journald.conf \\
 && systemctl enable containerd.service kubelet.service cif-undo-mounts.service \\
 && systemctl mask systemd-binfmt.service getty@tty1.service console-getty.service systemd-udevd.service 2>/dev/null; \\
    mkdir -p /etc/kubernetes/manifests /etc/containerd/certs.d /etc/cni/net.d /opt/cni/bin /kind/manifests \\
 && for p in /usr/lib/cni/*; do ln -sf "$p" /opt/cni/bin/; done
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT ["/usr/local/bin/entrypoint", "/lib/systemd/systemd"]
`;
}
