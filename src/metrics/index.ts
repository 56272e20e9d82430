// The metrics package: shared-memory histograms and latency sampling (bumped
// by the data path), and the Prometheus exporter (read at scrape time).
export { registerCollectors, type Collectors, type CollectorOptions, type MetricJson } from './collectors.js';
export { startMetricsServer, parseListenAddress, type MetricsServer, type MetricsServerOptions, type MetricsSource, type Health } from './server.js';
export { DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT } from './defaults.js';
export { enableLatencySampling, LatencySampler, DEFAULT_SAMPLE_EVERY } from './latency.js';
export { allocHistogram, observeNs, HIST_BOUNDS_SECONDS } from './histogram.js';
export { CELL_METRICS, SCRAPE_METRICS, FLOW_METRICS, TAP_COUNTERS, RING_COUNTERS, WORKER_COUNTERS, FASTPATH_COUNTERS, IPTABLES_CACHE_COUNTERS, PATH_CACHE_COUNTERS, DATAPATH_WORKER_METRICS } from './catalog.js';
