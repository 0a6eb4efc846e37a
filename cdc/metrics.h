/* metrics: tvsync-cdc's Prometheus metrics (common/prom.h), declared once. */
#ifndef TVSYNC_CDC_METRICS_H
#define TVSYNC_CDC_METRICS_H

#include "common/prom.h"

typedef struct cdc_metrics {
    prom_registry *registry;
    prom_metric *lag_bytes;
    prom_metric *retained_wal_bytes;
    prom_metric *wal_status;
    prom_metric *safe_wal_size_bytes;
    prom_metric *lag_seconds;
    prom_metric *heartbeat_round_trip_seconds;
    prom_metric *batches_total;
    prom_metric *intents_total;
    prom_metric *rows_upserted_total;
    prom_metric *rows_deleted_total;
    prom_metric *failures_total;
    prom_metric *dead_letters_total;
    prom_metric *visibility_waits_total;
    prom_metric *apply_duration_seconds;
    prom_metric *reconnects_total;
    prom_metric *last_applied_lsn;
    prom_metric *streaming;
    prom_metric *rebuild_chunks_total;
    prom_metric *heartbeats_ignored_total;
    prom_metric *failover_held_bytes;
} cdc_metrics;

/* Declares every metric in a new registry. Out of memory aborts. */
void cdc_metrics_init(cdc_metrics *metrics);
void cdc_metrics_free(cdc_metrics *metrics);

#endif
