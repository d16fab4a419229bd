import { createElement, Fragment } from 'react';
import { renderToString } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { TidelineClient } from './client.ts';
import { TidelineProvider, useConnection, useNodes, useWebsites } from './react.ts';
import { fakeIo } from './testing/fake-socket.ts';

function Page() {
  const websites = useWebsites();
  const nodes = useNodes('prod');
  const connection = useConnection();
  return createElement(
    'p',
    null,
    `${connection.status}; websites ${websites.status} loading=${websites.isLoading} n=${websites.items.length}; nodes ${nodes.status} n=${nodes.items.length}`,
  );
}

describe('React hooks on the server', () => {
  it('server rendering - renderToString renders the server snapshot without throwing, connecting or subscribing', () => {
    const fake = fakeIo();
    const client = new TidelineClient({ url: 'http://gateway.test', token: 't', io: fake.io });
    const html = renderToString(
      createElement(TidelineProvider, { client }, createElement(Fragment, null, createElement(Page))),
    );
    expect(html).toBe('<p>connecting; websites subscribing loading=true n=0; nodes subscribing n=0</p>');
    expect(fake.opened).toHaveLength(0);
    expect(client.findWebsites()).toBeUndefined();
    expect(client.findNodes('prod')).toBeUndefined();
  });
});
