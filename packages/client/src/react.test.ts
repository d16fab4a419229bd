// @vitest-environment jsdom

import { act, cleanup, render, screen } from '@testing-library/react';
import type { NodeView, WebsiteItem } from '@tideline/contracts';
import { createElement, Fragment, StrictMode } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type TidelineClient } from './client.ts';
import { TidelineProvider, useConnection, useNodes, useWebsites } from './react.ts';
import { type FakeSocket, fakeIo } from './testing/fake-socket.ts';

const clients: TidelineClient[] = [];

afterEach(() => {
  cleanup();
  for (const client of clients.splice(0)) client.close();
});

/** Lets the client's acknowledged requests and deferred releases run. */
const settle = () => act(() => new Promise<void>((resolve) => setTimeout(resolve, 0)));

function connected(): { client: TidelineClient; socket: FakeSocket } {
  const fake = fakeIo();
  const client = connect({ url: 'http://gateway.test', token: 't', io: fake.io });
  clients.push(client);
  const socket = fake.opened[0]!;
  socket.accept();
  return { client, socket };
}

const site = (id: number) => ({ website_id: id, domains: [`s${id}.example.com`] }) as WebsiteItem;
const node = (name: string) => ({ name }) as NodeView;

function Websites() {
  const { items, status, isLoading, lastEventId } = useWebsites();
  return createElement(
    'p',
    { 'data-testid': 'websites' },
    `${status} loading=${isLoading} ids=${items.map((w) => w.website_id).join(',')} event=${lastEventId ?? '-'}`,
  );
}

function Nodes({ cluster, id }: { cluster: string | undefined; id: string }) {
  const { items, status, error } = useNodes(cluster);
  return createElement(
    'p',
    { 'data-testid': id },
    `${status} ${items.map((n) => n.name).join(',')}${error ? ` ${error.code}` : ''}`,
  );
}

function Connection() {
  const { status, code, reason } = useConnection();
  return createElement(
    'p',
    { 'data-testid': 'connection' },
    `${status} ${code ?? ''} ${reason ?? ''}`.trim(),
  );
}

const inProvider = (client: TidelineClient, ...children: ReturnType<typeof createElement>[]) =>
  createElement(TidelineProvider, { client }, createElement(Fragment, null, ...children));

describe('React hooks', () => {
  it('useWebsites - mounts loading, shows the snapshot, then re-renders on a live update', async () => {
    const { client, socket } = connected();
    render(inProvider(client, createElement(Websites)));
    expect(screen.getByTestId('websites').textContent).toBe('subscribing loading=true ids= event=-');
    await settle();
    expect(socket.payloadsOf('request:websites')).toEqual([{}]);
    act(() => socket.fire('websites:initial', { items: [site(1)], total: 1, version: 'v', lastEventId: 4 }));
    expect(screen.getByTestId('websites').textContent).toBe('live loading=false ids=1 event=4');
    act(() => socket.fire('websites:update', { eventId: 5, type: 'add', data: site(2) }));
    expect(screen.getByTestId('websites').textContent).toBe('live loading=false ids=1,2 event=5');
  });

  it('useNodes - two components share one subscription, and the last unmount unsubscribes on the wire', async () => {
    const { client, socket } = connected();
    const view = render(
      inProvider(
        client,
        createElement(Nodes, { cluster: 'prod', id: 'a', key: 'a' }),
        createElement(Nodes, { cluster: 'prod', id: 'b', key: 'b' }),
      ),
    );
    await settle();
    expect(socket.payloadsOf('subscribe:nodes')).toEqual([{ cluster: 'prod' }]);
    act(() =>
      socket.fire('nodes:initial', { cluster: 'prod', items: [node('n1')], total: 1, lastEventId: 1 }),
    );
    expect(screen.getByTestId('a').textContent).toBe('live n1');
    expect(screen.getByTestId('b').textContent).toBe('live n1');

    // One of the two goes away: the other still follows the cluster, nothing is unsubscribed.
    view.rerender(inProvider(client, createElement(Nodes, { cluster: 'prod', id: 'b', key: 'b' })));
    await settle();
    expect(socket.payloadsOf('unsubscribe:nodes')).toEqual([]);
    act(() =>
      socket.fire('nodes:update', {
        cluster: 'prod',
        eventId: 2,
        type: 'added',
        data: node('n2'),
        changed: [],
      }),
    );
    expect(screen.getByTestId('b').textContent).toBe('live n1,n2');

    view.unmount();
    await settle();
    expect(socket.payloadsOf('unsubscribe:nodes')).toEqual([{ cluster: 'prod' }]);
    expect(client.findNodes('prod')).toBeUndefined();
  });

  it('useNodes - in StrictMode (mount, unmount, mount) it subscribes once and keeps the subscription', async () => {
    const { client, socket } = connected();
    render(
      createElement(StrictMode, null, inProvider(client, createElement(Nodes, { cluster: 'prod', id: 'a' }))),
    );
    await settle();
    expect(socket.payloadsOf('subscribe:nodes')).toEqual([{ cluster: 'prod' }]);
    expect(socket.payloadsOf('unsubscribe:nodes')).toEqual([]);
  });

  it('useNodes - a FORBIDDEN cluster shows the failure instead of loading forever; no cluster subscribes to nothing', async () => {
    const { client, socket } = connected();
    socket.answer = (event) => ({ ok: false, event, code: 'FORBIDDEN', message: 'no' });
    render(
      inProvider(
        client,
        createElement(Nodes, { cluster: 'secret', id: 'a', key: 'a' }),
        createElement(Nodes, { cluster: undefined, id: 'none', key: 'none' }),
      ),
    );
    await settle();
    expect(screen.getByTestId('a').textContent).toBe('failed  FORBIDDEN');
    expect(screen.getByTestId('none').textContent).toBe('idle ');
    expect(socket.payloadsOf('subscribe:nodes')).toEqual([{ cluster: 'secret' }]);
  });

  it('useNodes - an unregistered cluster (nodes:removed) empties the list and shows idle, not a frozen list', async () => {
    const { client, socket } = connected();
    render(inProvider(client, createElement(Nodes, { cluster: 'prod', id: 'a' })));
    await settle();
    act(() =>
      socket.fire('nodes:initial', { cluster: 'prod', items: [node('n1')], total: 1, lastEventId: 1 }),
    );
    expect(screen.getByTestId('a').textContent).toBe('live n1');
    act(() => socket.fire('nodes:removed', { cluster: 'prod', eventId: 2 }));
    expect(screen.getByTestId('a').textContent).toBe('idle ');
  });

  it('useConnection - follows the client: connected, then disconnected with its code and reason', async () => {
    const { client } = connected();
    render(inProvider(client, createElement(Connection)));
    expect(screen.getByTestId('connection').textContent).toBe('connected');
    act(() => client.disconnect());
    expect(screen.getByTestId('connection').textContent).toBe(
      'disconnected CLIENT_DISCONNECT disconnect() was called',
    );
  });
});
