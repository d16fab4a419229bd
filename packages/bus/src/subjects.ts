import { UnknownTopicError } from './errors.ts';
import type { TopicSpec } from './types.ts';

/** True when `subject` matches the NATS-style `pattern` (`*` one token, `>` one or more). */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const token = p[i];
    if (token === '>') return s.length > i;
    if (i >= s.length) return false;
    if (token !== '*' && token !== s[i]) return false;
  }
  return p.length === s.length;
}

export function topicForSubject(topics: readonly TopicSpec[], subject: string): TopicSpec {
  const topic = topics.find((t) => subjectMatches(t.subjects, subject));
  if (!topic)
    throw new UnknownTopicError(`subject ${JSON.stringify(subject)} belongs to no configured topic`);
  return topic;
}

const SUBJECT = /^[A-Za-z0-9_:@-]+(\.[A-Za-z0-9_:@-]+)*$/;

export function assertPublishableSubject(subject: string): void {
  if (!SUBJECT.test(subject))
    throw new UnknownTopicError(`subject ${JSON.stringify(subject)} is not a valid subject`);
}
