/** Where the console finds its gateways, token and clusters. */
export interface ConsoleSettings {
  gateways: string[];
  token: string;
  clusters: string[];
}

/**
 * Settings come from the URL fragment (`#gateways=…&token=…&clusters=a,b`, nothing reaches a
 * server log) or, in development, from `/dev-config.json` served by the Vite dev server.
 */
export async function loadSettings(location: Location): Promise<ConsoleSettings> {
  const hash = new URLSearchParams(location.hash.slice(1));
  const fromHash = hash.get('token');
  if (fromHash) {
    return {
      token: fromHash,
      gateways: (hash.get('gateways') ?? location.origin).split(',').filter(Boolean),
      clusters: (hash.get('clusters') ?? '').split(',').filter(Boolean),
    };
  }
  const response = await fetch('/dev-config.json');
  if (!response.ok) throw new Error('no token: open the console with #token=… or run it with `npm start`');
  return (await response.json()) as ConsoleSettings;
}
