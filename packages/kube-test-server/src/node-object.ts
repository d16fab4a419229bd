import { randomUUID } from 'node:crypto';

/** The subset of a Kubernetes `v1.Node` this server stores and serves (JSON as kube-apiserver sends it). */
export interface KubeNode {
  apiVersion: 'v1';
  kind: 'Node';
  metadata: {
    name: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    managedFields: ManagedFieldsEntry[];
  };
  spec: {
    podCIDR?: string;
    providerID?: string;
    unschedulable?: boolean;
    taints?: KubeTaint[];
  };
  status: {
    capacity: Record<string, string>;
    allocatable: Record<string, string>;
    conditions: KubeNodeCondition[];
    addresses: { type: string; address: string }[];
    daemonEndpoints: { kubeletEndpoint: { Port: number } };
    nodeInfo: {
      machineID: string;
      systemUUID: string;
      bootID: string;
      kernelVersion: string;
      osImage: string;
      containerRuntimeVersion: string;
      kubeletVersion: string;
      kubeProxyVersion: string;
      operatingSystem: string;
      architecture: string;
    };
    images: { names: string[]; sizeBytes: number }[];
  };
}

export interface KubeTaint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  timeAdded?: string;
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface KubeNodeCondition {
  type: string;
  status: ConditionStatus;
  lastHeartbeatTime: string;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Update' | 'Apply';
  apiVersion: 'v1';
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

/** What a test says about a node it adds; everything else gets realistic defaults. */
export interface NodeSpec {
  name: string;
  labels?: Record<string, string>;
  taints?: KubeTaint[];
  unschedulable?: boolean;
  ready?: boolean;
  cpu?: string;
  memory?: string;
  pods?: string;
  architecture?: string;
  kubeletVersion?: string;
  kernelVersion?: string;
  osImage?: string;
  internalIP?: string;
}

/** Kubernetes timestamps have second resolution. */
export function kubeTime(at: Date = new Date()): string {
  return `${at.toISOString().slice(0, 19)}Z`;
}

const PRESSURE_CONDITIONS = [
  ['MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'],
  ['DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'],
  ['PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
] as const;

const IMAGES = [
  'registry.k8s.io/kube-proxy:v1.30.4',
  'docker.io/calico/node:v3.28.1',
  'docker.io/calico/cni:v3.28.1',
  'registry.k8s.io/pause:3.9',
  'quay.io/prometheus/node-exporter:v1.8.2',
  'registry.k8s.io/coredns/coredns:v1.11.1',
];

function ipOf(index: number): string {
  return `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`;
}

let created = 0;

/** A realistic node object (≈ 3 KB of JSON: conditions, nodeInfo, managedFields, images). */
export function makeNode(spec: NodeSpec, now: Date = new Date()): KubeNode {
  const t = kubeTime(now);
  const index = ++created;
  const architecture = spec.architecture ?? 'amd64';
  const ready = spec.ready ?? true;
  const cpu = spec.cpu ?? '8';
  const memory = spec.memory ?? '32863764Ki';
  const pods = spec.pods ?? '110';
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: spec.name,
      uid: randomUUID(),
      resourceVersion: '0',
      creationTimestamp: t,
      labels: {
        'beta.kubernetes.io/arch': architecture,
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': architecture,
        'kubernetes.io/hostname': spec.name,
        'kubernetes.io/os': 'linux',
        'node.kubernetes.io/instance-type': 'm5.2xlarge',
        'topology.kubernetes.io/zone': `zone-${index % 3}`,
        ...spec.labels,
      },
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
      managedFields: [
        {
          manager: 'kubeadm',
          operation: 'Update',
          apiVersion: 'v1',
          time: t,
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:metadata': { 'f:annotations': { 'f:kubeadm.alpha.kubernetes.io/cri-socket': {} } } },
        },
        {
          manager: 'kubelet',
          operation: 'Update',
          apiVersion: 'v1',
          time: t,
          fieldsType: 'FieldsV1',
          fieldsV1: {
            'f:status': { 'f:conditions': { 'k:{"type":"Ready"}': { 'f:lastHeartbeatTime': {} } } },
          },
          subresource: 'status',
        },
      ],
    },
    spec: {
      podCIDR: `10.244.${index & 255}.0/24`,
      providerID: `test://${spec.name}`,
      ...(spec.unschedulable ? { unschedulable: true } : {}),
      ...(spec.taints && spec.taints.length > 0 ? { taints: spec.taints } : {}),
    },
    status: {
      capacity: { cpu, memory, pods, 'ephemeral-storage': '101430960Ki', 'hugepages-2Mi': '0' },
      allocatable: { cpu, memory, pods, 'ephemeral-storage': '93478772582', 'hugepages-2Mi': '0' },
      conditions: [
        ...PRESSURE_CONDITIONS.map(([type, reason, message]) => ({
          type,
          status: 'False' as const,
          lastHeartbeatTime: t,
          lastTransitionTime: t,
          reason,
          message,
        })),
        {
          type: 'Ready',
          status: ready ? ('True' as const) : ('False' as const),
          lastHeartbeatTime: t,
          lastTransitionTime: t,
          reason: ready ? 'KubeletReady' : 'KubeletNotReady',
          message: ready ? 'kubelet is posting ready status' : 'container runtime network not ready',
        },
      ],
      addresses: [
        { type: 'InternalIP', address: spec.internalIP ?? ipOf(index) },
        { type: 'Hostname', address: spec.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: randomUUID().replaceAll('-', ''),
        systemUUID: randomUUID(),
        bootID: randomUUID(),
        kernelVersion: spec.kernelVersion ?? '6.1.0-25-cloud-amd64',
        osImage: spec.osImage ?? 'Debian GNU/Linux 12 (bookworm)',
        containerRuntimeVersion: 'containerd://1.7.20',
        kubeletVersion: spec.kubeletVersion ?? 'v1.30.4',
        kubeProxyVersion: spec.kubeletVersion ?? 'v1.30.4',
        operatingSystem: 'linux',
        architecture,
      },
      images: IMAGES.map((name, i) => ({ names: [name], sizeBytes: 10_000_000 + i * 7_919_123 })),
    },
  };
}

/** Refreshes what a kubelet status heartbeat touches, and nothing else. */
export function applyHeartbeat(node: KubeNode, now: Date = new Date()): void {
  const t = kubeTime(now);
  for (const condition of node.status.conditions) condition.lastHeartbeatTime = t;
  for (const entry of node.metadata.managedFields) if (entry.manager === 'kubelet') entry.time = t;
}

/** Sets a condition's status as the kubelet would (transition time and reason follow the status). */
export function applyCondition(
  node: KubeNode,
  type: string,
  status: ConditionStatus,
  reason?: string,
  now = new Date(),
): void {
  const t = kubeTime(now);
  const existing = node.status.conditions.find((c) => c.type === type);
  const defaultReason =
    type === 'Ready' ? (status === 'True' ? 'KubeletReady' : 'KubeletNotReady') : `${type}${status}`;
  if (existing) {
    if (existing.status !== status) existing.lastTransitionTime = t;
    existing.status = status;
    existing.reason = reason ?? defaultReason;
    existing.lastHeartbeatTime = t;
  } else {
    node.status.conditions.push({
      type,
      status,
      lastHeartbeatTime: t,
      lastTransitionTime: t,
      reason: reason ?? defaultReason,
      message: '',
    });
  }
}
