import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './load.ts';
import { commonSettings } from './settings/common.ts';

describe('tracing settings', () => {
  it('defaults - tracing is off, no endpoint, every new trace sampled once on', () => {
    const config = loadConfig(commonSettings, { env: {} });
    expect(config.otelEnabled).toBe(false);
    expect(config.otelExporterOtlpEndpoint).toBeUndefined();
    expect(config.otelSamplerRatio).toBe(1);
  });

  it('environment - enabled, endpoint and a ratio between 0 and 1 are read', () => {
    const config = loadConfig(commonSettings, {
      env: {
        TIDELINE_OTEL_ENABLED: 'true',
        TIDELINE_OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
        TIDELINE_OTEL_SAMPLER_RATIO: '0.25',
      },
    });
    expect(config).toMatchObject({
      otelEnabled: true,
      otelExporterOtlpEndpoint: 'http://127.0.0.1:4318',
      otelSamplerRatio: 0.25,
    });
  });

  it('bad values - a ratio outside 0..1 or not a number, and an endpoint that is no http URL, name the variable', () => {
    for (const [name, value] of [
      ['TIDELINE_OTEL_SAMPLER_RATIO', '1.5'],
      ['TIDELINE_OTEL_SAMPLER_RATIO', '-0.1'],
      ['TIDELINE_OTEL_SAMPLER_RATIO', 'half'],
      ['TIDELINE_OTEL_EXPORTER_OTLP_ENDPOINT', 'grpc://collector:4317'],
    ] as const) {
      expect(() => loadConfig(commonSettings, { env: { [name]: value } }), `${name}=${value}`).toThrow(
        ConfigError,
      );
      expect(() => loadConfig(commonSettings, { env: { [name]: value } })).toThrow(name);
    }
  });
});
