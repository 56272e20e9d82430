// Where the exporter listens by default, apart from the server (server.ts),
// so that `dpemu run --help` loads no HTTP or Prometheus code.

/**
 * 9477: a number in the range the Prometheus project hands out to exporters
 * (9100-9999), away from the well-known low ones (9090 Prometheus, 9091
 * Pushgateway, 9093 Alertmanager, 9100 node exporter). That range is fully
 * allocated by now, so no free number exists there; change it with --metrics.
 */
export const DEFAULT_METRICS_PORT = 9477;
export const DEFAULT_METRICS_HOST = '127.0.0.1';
