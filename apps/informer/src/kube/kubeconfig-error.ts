import { TidelineError } from '@tideline/contracts';

/**
 * The kubeconfig cannot be used or is not accepted: unreadable, not a kubeconfig, unknown context,
 * no server, or a field the policy refuses. VALIDATION_FAILED, naming the field (`kubeconfig`,
 * `kubeconfig.users[0].user.exec`, `kubeconfigPath`, `context`, …). Its message never quotes the
 * kubeconfig's values or a file's content.
 */
export class KubeconfigError extends TidelineError {
  override readonly name = 'KubeconfigError';
  constructor(message: string, field = 'kubeconfig') {
    super('VALIDATION_FAILED', message, { fields: [{ path: field, message }] });
  }
}
