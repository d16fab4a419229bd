/** A `v1.Status` failure object, as kube-apiserver answers errors (HTTP body or watch ERROR event). */
export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  code: number;
}

export function kubeStatus(code: number, reason: string, message: string): KubeStatus {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

export const tooOldResourceVersion = (requested: number, oldest: number) =>
  kubeStatus(410, 'Expired', `too old resource version: ${requested} (${oldest})`);
