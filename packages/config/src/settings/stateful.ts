import { str } from '../setting.ts';

/** Settings of packages/stateful (the stateful executor). */
export const statefulSettings = {
  statefulNamespace: str({
    env: 'TIDELINE_STATEFUL_NAMESPACE',
    default: 'tideline',
    pattern: /^[A-Za-z0-9_-]{1,64}$/,
    patternRule: '1-64 of A-Z a-z 0-9 _ -',
    doc: 'Namespace of the stateful executor keys used by Tideline services.',
  }),
};
